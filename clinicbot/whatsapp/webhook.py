"""Meta's webhook payloads: the signature check and the parser, as pure functions.

The parser walks every entry, change, message and status of a batch. It is strict only
about the envelope (``object``, ``entry[]``, ``changes[]``): a body without it is not a
webhook. Inside, it keeps everything, whatever its shape: an odd message is stored under a
key derived from its content rather than dropped, and a change that is neither messages
nor statuses is kept as an event. Unknown fields are ignored, as Meta adds them often.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import msgspec

SIGNATURE_PREFIX = "sha256="


class NotAWebhook(ValueError):
    """A correctly signed body that is not Meta's webhook envelope."""


class InboundMessage(msgspec.Struct, frozen=True):
    wa_message_id: str
    phone_number_id: str
    sender: str  # wa_id when WhatsApp gives it, else the business-scoped user id
    wa_id: str | None
    user_id: str | None
    profile_name: str | None
    type: str
    wa_timestamp: int | None  # None when the message carried no usable time
    body: str  # the message object, as JSON


class StatusUpdate(msgspec.Struct, frozen=True):
    wa_message_id: str
    status: str
    wa_timestamp: int | None
    recipient: str | None
    body: str


class OtherEvent(msgspec.Struct, frozen=True):
    field: str
    body: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.field}\n{self.body}".encode()).hexdigest()


class WebhookBatch(msgspec.Struct, frozen=True):
    messages: list[InboundMessage]
    statuses: list[StatusUpdate]
    events: list[OtherEvent]


def signature(secret: str, raw: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``raw``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def valid_signature(secret: str, raw: bytes, header: str) -> bool:
    """Constant-time check of the header against the HMAC of the raw bytes."""
    return hmac.compare_digest(signature(secret, raw).encode(), header.strip().encode())


def _json(obj: object) -> str:
    return msgspec.json.encode(obj).decode()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _timestamp(value: object) -> int | None:
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    # isascii: "²" is a digit to isdigit() but not to int().
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


def _changes(doc: object) -> Iterator[dict[str, Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("object"), str):
        raise NotAWebhook("The body has no 'object'.")
    entries = doc.get("entry")
    if not isinstance(entries, list):
        raise NotAWebhook("The body has no 'entry' list.")
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            raise NotAWebhook("An entry has no 'changes' list.")
        for change in entry["changes"]:
            yield change if isinstance(change, dict) else {"field": "?", "value": change}


def _profiles(value: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    """contacts[] as {wa_id or user_id: (user_id, profile name)}."""
    found: dict[str, tuple[str | None, str | None]] = {}
    contacts = value.get("contacts")
    for contact in contacts if isinstance(contacts, list) else []:
        if not isinstance(contact, dict):
            continue
        profile = contact.get("profile")
        name = _text(profile.get("name")) if isinstance(profile, dict) else None
        user_id = _text(contact.get("user_id"))
        for key in (_text(contact.get("wa_id")), user_id):
            if key:
                found[key] = (user_id, name)
    return found


def _message(raw: object, number_id: str, profiles: dict[str, Any]) -> InboundMessage:
    message = raw if isinstance(raw, dict) else {"value": raw}
    body = _json(raw)
    wa_id = _text(message.get("from"))
    user_id = _text(message.get("from_user_id"))
    if user_id is None and len(profiles) == 1:
        user_id = next(iter(profiles.values()))[0]
    sender = wa_id or user_id or "unknown"
    known_user, name = profiles.get(sender, (None, None))
    return InboundMessage(
        wa_message_id=_text(message.get("id"))
        or "nohash:" + hashlib.sha256(body.encode()).hexdigest(),
        phone_number_id=number_id,
        sender=sender,
        wa_id=wa_id,
        user_id=user_id or known_user,
        profile_name=name,
        type=_text(message.get("type")) or "unknown",
        wa_timestamp=_timestamp(message.get("timestamp")),
        body=body,
    )


def _status(raw: object) -> StatusUpdate | None:
    if not isinstance(raw, dict):
        return None
    message_id, status = _text(raw.get("id")), _text(raw.get("status"))
    if message_id is None or status is None:
        return None
    return StatusUpdate(
        wa_message_id=message_id,
        status=status,
        wa_timestamp=_timestamp(raw.get("timestamp")),
        recipient=_text(raw.get("recipient_id")) or _text(raw.get("recipient_user_id")),
        body=_json(raw),
    )


def parse_webhook(raw: bytes) -> WebhookBatch:
    """Every message, status and other update of one webhook body."""
    try:
        doc = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise NotAWebhook("The body is not JSON (in UTF-8).") from None
    batch = WebhookBatch([], [], [])
    for change in _changes(doc):
        value = change.get("value")
        field = _text(change.get("field")) or "?"
        # Calls have statuses of their own (RINGING, …): only the messages field carries ours.
        is_messages = field in ("messages", "?")
        if (
            not is_messages
            or not isinstance(value, dict)
            or not ({"messages", "statuses"} & value.keys())
        ):
            batch.events.append(OtherEvent(field, _json(change)))
            continue
        metadata = value.get("metadata")
        number_id = _text(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
        profiles = _profiles(value)
        messages, statuses = value.get("messages"), value.get("statuses")
        for message in messages if isinstance(messages, list) else []:
            batch.messages.append(_message(message, number_id or "", profiles))
        for raw_status in statuses if isinstance(statuses, list) else []:
            status = _status(raw_status)
            if status is None:
                batch.events.append(OtherEvent("statuses", _json(raw_status)))
            else:
                batch.statuses.append(status)
    return batch
