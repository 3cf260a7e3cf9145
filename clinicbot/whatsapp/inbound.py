"""A stored WhatsApp message as the conversation engine reads it (WHATSAPP.md §2.1)."""

from __future__ import annotations

from typing import Any

import msgspec

from clinicbot.conversation.model import Inbound

MAX_TEXT = 4096
MEDIA_TYPES = frozenset(
    {"image", "audio", "video", "document", "sticker", "location", "contacts", "order"}
)
# What the bot cannot read but answers as it answers a file (DESIGN.md: a polite answer and
# the menu, never silence): the media above, and what WhatsApp itself could not pass on
# (``unsupported``: a poll, a message type newer than the API).
UNREADABLE = MEDIA_TYPES | {"unsupported"}


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str:
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _interactive(message: dict[str, Any]) -> Inbound:
    interactive = _dict(message.get("interactive"))
    reply = _dict(interactive.get(_str(interactive.get("type"))))
    choice = _str(reply.get("id"))
    if not choice:
        return Inbound("other")
    return Inbound("choice", text=_str(reply.get("title")), choice_id=choice)


def _button(message: dict[str, Any]) -> Inbound:
    button = _dict(message.get("button"))
    payload, text = _str(button.get("payload")), _str(button.get("text"))
    if payload:
        return Inbound("choice", text=text, choice_id=payload)
    return Inbound("text", text=text) if text else Inbound("other")


def to_inbound(message_type: str, body: str, *, stale: bool = False) -> Inbound:
    """What the patient said: typed text, a tap on one of our choices, a file, or nothing
    the bot acts on. Never raises: a body it cannot read is "other"."""
    try:
        message = _dict(msgspec.json.decode(body))
    except msgspec.DecodeError:
        message = {}
    if message_type == "text":
        text = _str(_dict(message.get("text")).get("body")).strip()
        inbound = Inbound("text", text=text) if text else Inbound("other")
    elif message_type == "interactive":
        inbound = _interactive(message)
    elif message_type == "button":
        inbound = _button(message)
    elif message_type in UNREADABLE:
        caption = _str(_dict(message.get(message_type)).get("caption")).strip()
        inbound = Inbound("media", text=caption)
    else:
        inbound = Inbound("other")
    return msgspec.structs.replace(inbound, stale=stale) if stale else inbound
