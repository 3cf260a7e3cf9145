"""Meta's wire format, as the fake writes it: webhook envelopes (WHATSAPP.md §2.2), status
items (§2.3), Graph error bodies (§5.4), wamids, and the signature over the exact bytes
(§3). Everything is serialised as Meta does: compact JSON with non-ASCII escaped."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
from typing import Any

JSON = dict[str, Any]

ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

# code -> (title, details), Meta's words where WHATSAPP.md quotes them.
ERRORS: dict[int, tuple[str, str]] = {
    0: ("AuthException", "We were unable to authenticate the app user."),
    1: ("API Unknown", "Invalid request or possible server error."),
    2: ("API Service", "Temporary due to downtime or due to being overloaded."),
    4: ("API Too Many Calls", "The app has reached its API call rate limit."),
    10: ("Permission Denied", "Permission is either not granted or has been removed."),
    100: ("Invalid parameter", "Invalid parameter."),
    190: ("Access token has expired", "Error validating access token."),
    368: ("Temporarily blocked for policies violations", "The account is restricted."),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    130429: ("Rate limit hit", "Cloud API message throughput has been reached."),
    130472: ("User's number is part of an experiment", "Part of a marketing experiment."),
    131000: ("Something went wrong", "Message failed to send due to an unknown error."),
    131008: ("Required parameter is missing", "The request is missing a required parameter."),
    131009: ("Parameter value is not valid", "One or more parameter values are invalid."),
    131016: ("Service unavailable", "A service is temporarily unavailable."),
    131026: (
        "Message undeliverable",
        "Unable to deliver message. Reasons can include: the recipient phone number is not a"
        " WhatsApp phone number; the recipient has not accepted our new Terms of Service;"
        " the recipient is using an old WhatsApp version.",
    ),
    131031: ("Account has been locked", "The business account was restricted or disabled."),
    131047: (
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer"
        " last replied to this number.",
    ),
    131048: ("Spam rate limit hit", "Too many previous messages were blocked or flagged."),
    131049: (
        "Meta chose not to deliver.",
        "This message was not delivered to maintain healthy ecosystem engagement.",
    ),
    131050: ("Unable to deliver the message", "The user has stopped marketing messages."),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone"
        " number in a short period of time.",
    ),
    131057: ("Account in maintenance mode", "Business Account is in maintenance mode."),
    132000: (
        "Number of parameters does not match the expected number of params",
        "The number of parameters does not match the template.",
    ),
    132001: ("Template name does not exist in the translation", "Template not found."),
    132012: ("Parameter format does not match format in the created template", "Bad format."),
    132015: ("Template is Paused", "The template is paused due to low quality."),
    132016: ("Template is Disabled", "The template was paused too many times."),
}
EXPIRED_TOKEN_MESSAGE = (
    "Error validating access token: Session has expired on Friday, 26-Apr-24 06:00:00 PDT."
    " The current time is Sunday, 28-Apr-24 03:40:10 PDT."
)

_counter = itertools.count(1)


def wire(body: object) -> bytes:
    """The bytes Meta sends: compact JSON with every non-ASCII character escaped."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()


def sign(secret: str, raw: bytes) -> str:
    """The ``X-Hub-Signature-256`` header for exactly ``raw``."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def new_wamid() -> str:
    """A fresh, unique ``wamid.…`` shaped like Meta's."""
    tail = next(_counter).to_bytes(4, "big") + os.urandom(20)
    return "wamid.HBgL" + base64.b64encode(tail).decode()


def fbtrace_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(15)).decode()


def error_object(code: int, details: str | None = None) -> JSON:
    """The error as it appears in a ``failed`` status (§2.2 f)."""
    title, default = ERRORS.get(code, ("Error", "Unknown error."))
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or default},
        "href": ERROR_HREF,
    }


def graph_error(code: int, details: str | None = None) -> JSON:
    """A Graph API error answer (§5.4)."""
    title, default = ERRORS.get(code, ("Error", "Unknown error."))
    error: JSON = {
        "message": f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or default},
        "fbtrace_id": fbtrace_id(),
    }
    if code == 190:  # OAuth errors carry no error_data; 463 is the "expired" subcode
        error = {"message": details or EXPIRED_TOKEN_MESSAGE, "type": "OAuthException", "code": 190}
        if details is None:
            error["error_subcode"] = 463
        error["fbtrace_id"] = fbtrace_id()
    return {"error": error}


def no_such_object(object_id: str, method: str = "get") -> JSON:
    """Graph's answer to a node that does not exist, or that the token may not see."""
    return {
        "error": {
            "message": f"Unsupported {method} request. Object with ID '{object_id}' does not"
            " exist, cannot be loaded due to missing permissions, or does not support this"
            " operation. Please read the Graph API documentation at"
            " https://developers.facebook.com/docs/graph-api",
            "type": "GraphMethodException",
            "code": 100,
            "error_subcode": 33,
            "fbtrace_id": fbtrace_id(),
        }
    }


def no_such_field(field: str, node_type: str) -> JSON:
    """Graph's answer to a ``fields=`` entry the node does not have."""
    return {
        "error": {
            "message": f"(#100) Tried accessing nonexisting field ({field}) on node type"
            f" ({node_type})",
            "type": "OAuthException",
            "code": 100,
            "fbtrace_id": fbtrace_id(),
        }
    }


def number_fields(asked: list[str], number_id: str, verified_name: str) -> tuple[int, JSON]:
    """A read of the business number (``GET /{phone_number_id}?fields=…``): the fields
    asked for (else Graph's default ones) and the id; code 100 for a field it does not have."""
    fields: JSON = {
        "verified_name": verified_name,
        "code_verification_status": "VERIFIED",
        "display_phone_number": "+1 555-078-3881",  # formatted here, digits in webhooks
        "quality_rating": "GREEN",
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD"},
    }
    for name in asked:
        if name not in fields and name != "id":
            return 400, no_such_field(name, "WhatsAppBusinessPhoneNumber")
    answer = {name: fields[name] for name in asked if name in fields} if asked else fields
    return 200, {**answer, "id": number_id}


def envelope(waba_id: str, metadata: JSON, value: JSON) -> JSON:
    """One webhook body: one entry, one ``messages`` change carrying ``value``."""
    full = {"messaging_product": "whatsapp", "metadata": metadata, **value}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": full, "field": "messages"}]}],
    }


def contact(wa_id: str | None, user_id: str | None, name: str) -> JSON:
    """``contacts[]`` of an inbound message; ``wa_id`` may be absent (a username, §2.1)."""
    found: JSON = {"profile": {"name": name}}
    if wa_id:
        found["wa_id"] = wa_id
    if user_id:
        found["user_id"] = user_id
    return found


def message(
    *,
    wa_id: str | None,
    user_id: str | None,
    wamid: str,
    timestamp: int,
    type: str,
    content: JSON,
    context: JSON | None = None,
) -> JSON:
    """One inbound ``messages[]`` item (§2.2 a–h): ``{from, id, timestamp, type, <type>}``."""
    item: JSON = {}
    if context:
        item["context"] = context
    if wa_id:
        item["from"] = wa_id
    if user_id and not wa_id:
        item["from_user_id"] = user_id
    item.update({"id": wamid, "timestamp": str(timestamp), "type": type, type: content})
    return item


def status_item(
    *,
    wamid: str,
    status: str,
    timestamp: int,
    recipient_id: str | None,
    user_id: str | None,
    callback: str | None,
    pricing: JSON | None = None,
    error_code: int | None = None,
) -> JSON:
    """One ``statuses[]`` item (§2.2 e/f)."""
    item: JSON = {"id": wamid, "status": status, "timestamp": str(timestamp)}
    if recipient_id:
        item["recipient_id"] = recipient_id
    if user_id:
        item["recipient_user_id"] = user_id
    if callback is not None:
        item["biz_opaque_callback_data"] = callback
    if pricing is not None:
        item["pricing"] = pricing
    if error_code is not None:
        item["errors"] = [error_object(error_code)]
    return item


def pricing(category: str, free: bool) -> JSON:
    return {
        "billable": not free,
        "pricing_model": "PMP",
        "type": "free_customer_service" if free else "regular",
        "category": category,
    }
