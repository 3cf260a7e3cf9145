"""What the fake Graph API accepts in ``POST /{phone_number_id}/messages``: the body shapes of
WHATSAPP.md §5.2 and every limit of §7. A violation is ``Problem(code, details)``: 131008
for a missing parameter, 131009 for a value out of its limits, 100 for a wrong shape or an
unknown parameter value. Lengths are counted in Unicode code points."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

JSON = dict[str, Any]

MESSAGE_TYPES = frozenset(
    {
        "text",
        "interactive",
        "template",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
    }
)
MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
BSUID = re.compile(r"[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]+")
PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{5,20}")


class Problem(NamedTuple):
    code: int
    details: str


class Invalid(Exception):
    def __init__(self, code: int, details: str) -> None:
        super().__init__(details)
        self.problem = Problem(code, details)


def _need(parent: object, key: str, where: str) -> Any:
    if not isinstance(parent, dict) or parent.get(key) in (None, ""):
        raise Invalid(131008, f"The parameter {where}{key} is required.")
    return parent[key]


def _text(value: object, where: str, low: int, high: int) -> str:
    if not isinstance(value, str):
        raise Invalid(100, f"Param {where} must be a string.")
    if not low <= len(value) <= high:
        raise Invalid(131009, f"{where} length invalid. Min length: {low}, Max length: {high}")
    return value


def _dict(value: object, where: str) -> JSON:
    if not isinstance(value, dict):
        raise Invalid(100, f"Param {where} must be an object.")
    return value


def _list(value: object, where: str, low: int, high: int) -> list[Any]:
    if not isinstance(value, list):
        raise Invalid(100, f"Param {where} must be an array.")
    if not low <= len(value) <= high:
        raise Invalid(131009, f"{where} count invalid. Min: {low}, Max: {high}")
    return value


def _footer(inner: JSON) -> None:
    if "footer" in inner:
        _text(_need(inner["footer"], "text", "footer."), "footer.text", 1, 60)


def _header(inner: JSON, *, text_only: bool) -> None:
    if "header" not in inner:
        return
    header = _dict(inner["header"], "header")
    kind = _need(header, "type", "header.")
    if kind == "text":
        _text(_need(header, "text", "header."), "header.text", 1, 60)
    elif kind in ("image", "video", "document") and not text_only:
        _media(_need(header, kind, "header."), f"header.{kind}")
    else:
        raise Invalid(131009, f"header.type {kind!r} is not allowed here.")


def _unique(values: list[str], where: str) -> None:
    if len(set(values)) != len(values):
        raise Invalid(131009, f"{where} must be unique.")


def _buttons(inner: JSON) -> None:
    _text(_need(_need(inner, "body", ""), "text", "body."), "body.text", 1, 1024)
    _footer(inner)
    _header(inner, text_only=False)
    buttons = _list(_need(_need(inner, "action", ""), "buttons", "action."), "buttons", 1, 3)
    ids, titles = [], []
    for button in buttons:
        if _dict(button, "button").get("type") != "reply":
            raise Invalid(131009, "Button type must be 'reply'.")
        reply = _dict(_need(button, "reply", "button."), "button.reply")
        ids.append(_text(_need(reply, "id", "reply."), "Button id", 1, 256))
        titles.append(_text(_need(reply, "title", "reply."), "Button title", 1, 20))
    _unique(ids, "Button ids")
    _unique(titles, "Button titles")


def _list_message(inner: JSON) -> None:
    _text(_need(_need(inner, "body", ""), "text", "body."), "body.text", 1, 4096)
    _footer(inner)
    _header(inner, text_only=True)
    action = _dict(_need(inner, "action", ""), "action")
    _text(_need(action, "button", "action."), "action.button", 1, 20)
    sections = _list(_need(action, "sections", "action."), "sections", 1, 10)
    ids: list[str] = []
    for section in sections:
        section = _dict(section, "section")
        if len(sections) > 1 or "title" in section:
            _text(_need(section, "title", "section."), "Section title", 1, 24)
        for row in _list(_need(section, "rows", "section."), "rows", 1, 10):
            row = _dict(row, "row")
            ids.append(_text(_need(row, "id", "row."), "Row id", 1, 200))
            _text(_need(row, "title", "row."), "Row title", 1, 24)
            if "description" in row:
                _text(row["description"], "Row description", 0, 72)
    if len(ids) > 10:
        raise Invalid(131009, "Total row count exceed max allowed count: 10")
    _unique(ids, "Row ids")


def _interactive(inner: JSON) -> None:
    kind = _need(inner, "type", "interactive.")
    if kind == "button":
        _buttons(inner)
    elif kind == "list":
        _list_message(inner)
    else:
        raise Invalid(100, f"Param interactive.type must be one of {{BUTTON, LIST}} - got {kind!r}")


def _media(content: object, where: str) -> None:
    media = _dict(content, where)
    if not media.get("id") and not media.get("link"):
        raise Invalid(131008, f"The parameter {where}.id or {where}.link is required.")
    if "caption" in media:
        _text(media["caption"], f"{where}.caption", 0, 1024)


def _template(template: JSON) -> None:
    _text(_need(template, "name", "template."), "template.name", 1, 512)
    language = _dict(_need(template, "language", "template."), "template.language")
    _text(_need(language, "code", "template.language."), "template.language.code", 2, 15)
    if "components" in template:
        _list(template["components"], "template.components", 0, 20)


def body_parameter_count(template: JSON) -> int:
    """How many body parameters a template send carries."""
    count = 0
    for component in template.get("components") or []:
        if isinstance(component, dict) and component.get("type") == "body":
            count += len(component.get("parameters") or [])
    return count


def _content(kind: str, content: object) -> None:
    if kind == "text":
        _text(_need(content, "body", "text."), "text.body", 1, 4096)
    elif kind == "interactive":
        _interactive(_dict(content, "interactive"))
    elif kind == "template":
        _template(_dict(content, "template"))
    elif kind in MEDIA_TYPES:
        _media(content, kind)
    elif kind == "location":
        _need(content, "latitude", "location.")
        _need(content, "longitude", "location.")
    elif kind == "reaction":
        _need(content, "message_id", "reaction.")
        _need(content, "emoji", "reaction.")
    elif kind == "contacts":
        _list(content, "contacts", 1, 257)


def _addressee(body: JSON) -> None:
    to, recipient = body.get("to"), body.get("recipient")
    if to is None and recipient is None:
        raise Invalid(131008, "The parameter to is required.")
    if to is not None and (not isinstance(to, str) or not PHONE.fullmatch(to)):
        raise Invalid(131009, f"Invalid parameter 'to': {to!r} is not a phone number.")
    if recipient is not None and (not isinstance(recipient, str) or not BSUID.fullmatch(recipient)):
        raise Invalid(131009, "Invalid parameter 'recipient': not a business-scoped user id.")


def _envelope(body: JSON) -> None:
    product = body.get("messaging_product")
    if product is None:
        raise Invalid(100, "The parameter messaging_product is required.")
    if product != "whatsapp":
        raise Invalid(
            100, f"Param messaging_product must be one of {{WHATSAPP}} - got {product!r}."
        )
    if body.get("recipient_type", "individual") not in ("individual", "group"):
        raise Invalid(100, "Param recipient_type must be one of {INDIVIDUAL, GROUP}.")
    callback = body.get("biz_opaque_callback_data")
    if callback is not None:
        _text(callback, "biz_opaque_callback_data", 0, 512)
    if "context" in body:
        _text(_need(body["context"], "message_id", "context."), "context.message_id", 1, 512)


def check_send(body: object) -> Problem | None:
    """Why Meta would refuse this message body, or None."""
    try:
        if not isinstance(body, dict):
            raise Invalid(100, "The request body must be a JSON object.")
        _envelope(body)
        _addressee(body)
        kind = body.get("type", "text")
        if kind not in MESSAGE_TYPES:
            raise Invalid(100, f"Param type must be one of {sorted(MESSAGE_TYPES)} - got {kind!r}.")
        _content(kind, _need(body, kind, ""))
    except Invalid as exc:
        return exc.problem
    return None


def check_read(body: JSON) -> Problem | None:
    """A mark-as-read call (§5.2): ``{"messaging_product", "status": "read", "message_id"}``."""
    try:
        _envelope(body)
        _text(_need(body, "message_id", ""), "message_id", 1, 512)
    except Invalid as exc:
        return exc.problem
    return None
