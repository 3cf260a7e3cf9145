"""A bot reply as the Graph API body that carries it, within WhatsApp's limits: buttons
for up to three short choices, a list for up to ten, numbered text beyond (WHATSAPP.md §7)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from clinicbot.conversation.model import Choice, Reply

TEXT_MAX = 4096
BUTTON_BODY_MAX = 1024
LIST_BODY_MAX = 4096
BUTTON_TITLE_MAX = 20
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
LIST_BUTTON_MAX = 20
HEADER_MAX = 60
MAX_BUTTONS = 3
MAX_ROWS = 10
DEFAULT_LIST_BUTTON = "Options"


class Rendered(Struct, frozen=True):
    kind: str  # "text" | "interactive"
    payload: dict[str, Any]  # the Graph body without messaging_product and the recipient
    preview: str  # what the inbox thread shows


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` code points, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _numbered(reply: Reply) -> str:
    lines = [reply.text, ""]
    for n, choice in enumerate(reply.choices, start=1):
        extra = f" ({choice.description})" if choice.description else ""
        lines.append(f"{n}. {choice.title}{extra}")
    return "\n".join(lines)


def _buttons(reply: Reply) -> dict[str, Any]:
    return {
        "type": "button",
        "body": {"text": clip(reply.text, BUTTON_BODY_MAX)},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": c.id[:256], "title": c.title}}
                for c in reply.choices
            ]
        },
    }


def _row(choice: Choice) -> dict[str, str]:
    row = {"id": choice.id[:200], "title": clip(choice.title, ROW_TITLE_MAX)}
    if choice.description:
        row["description"] = clip(choice.description, ROW_DESCRIPTION_MAX)
    return row


def _list(reply: Reply) -> dict[str, Any]:
    label = clip(reply.button or DEFAULT_LIST_BUTTON, LIST_BUTTON_MAX)
    return {
        "type": "list",
        "body": {"text": clip(reply.text, LIST_BODY_MAX)},
        "action": {"button": label, "sections": [{"rows": [_row(c) for c in reply.choices]}]},
    }


def _fits_buttons(choices: tuple[Choice, ...]) -> bool:
    titles = [c.title for c in choices]
    return (
        len(choices) <= MAX_BUTTONS
        and all(0 < len(t) <= BUTTON_TITLE_MAX for t in titles)
        and len(set(titles)) == len(titles)
        and not any(c.description for c in choices)
    )


def render(reply: Reply, *, interactive: bool = True) -> Rendered:
    """The message for ``reply``; ``interactive=False`` forces the numbered-text fallback."""
    if not reply.choices:
        body = clip(reply.text, TEXT_MAX)
        return Rendered(
            "text", {"type": "text", "text": {"preview_url": False, "body": body}}, body
        )
    if interactive and len(reply.choices) <= MAX_ROWS:
        inner = _buttons(reply) if _fits_buttons(reply.choices) else _list(reply)
        if reply.header:
            inner["header"] = {"type": "text", "text": clip(reply.header, HEADER_MAX)}
        return Rendered(
            "interactive", {"type": "interactive", "interactive": inner}, _numbered(reply)
        )
    body = clip(_numbered(reply), TEXT_MAX)
    return Rendered("text", {"type": "text", "text": {"preview_url": False, "body": body}}, body)
