"""The Graph API client: one request function for every call, and WhatsApp's error codes as
one tree of exceptions, each carrying a reason staff can read (WHATSAPP.md §5).

GraphError                  the message was not accepted; ``.code``, ``.reason``
├── TransientError          the same request may succeed later: retry with backoff.
│   │                       Network errors and timeouts, HTTP 5xx or 429 without a code,
│   │                       codes 1, 2, 4, 80007, 130429, 131000, 131016, 131057
│   └── PairRateLimited     131056: too many messages to this one patient; retry them
│                           after 4^X seconds, other patients are unaffected
└── PermanentError          the same request will fail again
    ├── OutsideWindow       131047: more than 24 hours since the patient last wrote
    ├── Undeliverable       131026: not on WhatsApp, an old app, terms not accepted
    ├── AuthError           0, 3, 10, 190, 200–299: the token or its permissions
    │   └── TokenExpired    190
    ├── BadRequest          100, 131008, 131009, 131051, 132xxx: our body or template
    └── PolicyError         131031, 131048, 131049, 131050, 130472, 368: Meta's rules

Meta asks clients to branch on ``error.code``, not on the HTTP status; the status is used
only when the body carries no code (a proxy's 502, say). A network failure after the
request may have reached Meta (a read timeout, a dropped connection) is transient with
``maybe_sent`` set: Meta may have accepted the message, so resending it could send it twice.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

JSON = dict[str, Any]


class GraphError(Exception):
    """A Graph API call that did not do what was asked."""

    def __init__(
        self,
        reason: str,
        *,
        code: int | None = None,
        details: str = "",
        http_status: int | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason  # for staff: what happened and what to do
        self.code = code
        self.details = details  # Meta's own words, for the log
        self.http_status = http_status
        self.maybe_sent = maybe_sent


class TransientError(GraphError):
    """Retry later: the failure says nothing about the message itself."""


class PairRateLimited(TransientError):
    """131056: this patient received too many messages in a short time."""


class PermanentError(GraphError):
    """Sending the same request again will fail the same way."""


class OutsideWindow(PermanentError):
    """131047: only a template can reach a patient who has not written for 24 hours."""


class Undeliverable(PermanentError):
    """131026: WhatsApp cannot deliver to this number."""


class AuthError(PermanentError):
    """The access token or its permissions: nothing can be sent until it is fixed."""


class TokenExpired(AuthError):
    """190: the access token has expired."""


class BadRequest(PermanentError):
    """Our request was malformed, or named a template Meta does not have."""


class PolicyError(PermanentError):
    """Meta's rules stop this message (spam limits, a blocked account, opt-outs)."""


_TRANSIENT = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131057})
_AUTH = frozenset({0, 3, 10, *range(200, 300)})
_BAD = frozenset({100, 131008, 131009, 131051})
_POLICY = frozenset({368, 130472, 131031, 131048, 131049, 131050})
_RETRYING = "retrying shortly."

REASONS: dict[int, str] = {
    131047: "More than 24 hours since the patient last wrote: only a template can reach them.",
    131026: "WhatsApp could not deliver this message: the number may not be on WhatsApp, or"
    " the patient's app is too old. Call the patient instead.",
    190: "The WhatsApp access token has expired: update it in Settings.",
    130429: "WhatsApp's sending limit for this number was reached: " + _RETRYING,
    131056: "Too many messages to this patient in a short time: " + _RETRYING,
    4: "The WhatsApp app's API call limit was reached: " + _RETRYING,
    80007: "The WhatsApp account's rate limit was reached: " + _RETRYING,
    131057: "The WhatsApp account is in maintenance: retrying later.",
    132000: "The template's parameters do not match the approved template.",
    132001: "The message template does not exist in this language, or is not approved yet:"
    " check the templates in WhatsApp Manager.",
    132012: "The template's parameters are in the wrong format.",
    132015: "The message template is paused by WhatsApp for low quality: use another one.",
    132016: "The message template is disabled by WhatsApp for low quality: use another one.",
    131048: "WhatsApp is limiting this number because too many of its messages were blocked"
    " or reported as spam.",
    131049: "WhatsApp held this message back to keep engagement healthy: try again after a day.",
    131050: "The patient has stopped marketing messages from the clinic.",
    130472: "The patient is part of a WhatsApp marketing experiment: not delivered.",
    368: "The WhatsApp account is temporarily blocked for policy violations.",
    131031: "The WhatsApp business account is locked or disabled: check WhatsApp Manager.",
}


def _kind(code: int) -> type[GraphError]:
    kinds: dict[int, type[GraphError]] = {
        131056: PairRateLimited,
        131047: OutsideWindow,
        131026: Undeliverable,
        190: TokenExpired,
    }
    if code in kinds:
        return kinds[code]
    if code in _TRANSIENT:
        return TransientError
    if code in _AUTH:
        return AuthError
    if code in _BAD or 132000 <= code <= 132999:
        return BadRequest
    if code in _POLICY:
        return PolicyError
    return PermanentError


def _reason(kind: type[GraphError], code: int, title: str) -> str:
    if code in REASONS:
        return REASONS[code]
    said = f"code {code}: {title}" if title else f"code {code}"
    if kind is TransientError:
        return f"WhatsApp had a temporary problem ({said}): {_RETRYING}"
    if kind is AuthError:
        return f"WhatsApp refused the access token or its permissions ({said}): check Settings."
    if kind is BadRequest:
        return f"WhatsApp rejected the message as malformed ({said}). Please report this."
    return f"WhatsApp refused the message ({said})."


def error_for(
    code: int, *, title: str = "", details: str = "", http_status: int | None = None
) -> GraphError:
    """The exception for WhatsApp error ``code`` (from an answer or a ``failed`` status)."""
    kind = _kind(code)
    return kind(
        _reason(kind, code, title), code=code, details=details or title, http_status=http_status
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _title(error: JSON) -> str:
    """Meta's ``message`` is ``"(#<code>) <title>"``; keep the title."""
    message = _text(error.get("message"))
    return message.split(") ", 1)[1] if message.startswith("(#") and ") " in message else message


def error_from_body(error: JSON, http_status: int | None = None) -> GraphError:
    """The exception for a Graph ``error`` object (§5.4) or a status's ``errors[0]`` (§2.2f)."""
    code = error.get("code")
    data = error.get("error_data")
    details = _text(data.get("details")) if isinstance(data, dict) else ""
    title = _text(error.get("title")) or _title(error)
    if isinstance(code, int) and not isinstance(code, bool):
        return error_for(code, title=title, details=details, http_status=http_status)
    if error.get("is_transient") is True:
        return TransientError(f"WhatsApp had a temporary problem: {_RETRYING}", details=title)
    return PermanentError(f"WhatsApp refused the message ({title or 'no reason given'}).")


def network_error(exc: httpx.TransportError) -> TransientError:
    """A failure before any answer. Only a failure to connect is sure not to have sent."""
    unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    what = type(exc).__name__
    return TransientError(
        f"No connection to WhatsApp ({what}): {_RETRYING}", details=str(exc), maybe_sent=not unsent
    )


def _decode(content: bytes) -> object:
    try:
        return msgspec.json.decode(content)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None


def parse_answer(response: httpx.Response) -> JSON:
    """A 2xx answer's JSON object; otherwise the exception its error (or status) means."""
    doc = _decode(response.content)
    status = response.status_code
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        raise error_from_body(doc["error"], status)
    if 200 <= status < 300 and isinstance(doc, dict):
        return doc
    if 200 <= status < 300:
        raise TransientError(
            "WhatsApp accepted the request but its answer could not be read: " + _RETRYING,
            http_status=status,
            maybe_sent=True,
        )
    if status >= 500 or status == 429:
        raise TransientError(
            f"WhatsApp's servers answered HTTP {status}: {_RETRYING}", http_status=status
        )
    raise PermanentError(f"WhatsApp answered HTTP {status} without a reason.", http_status=status)


def addressee(recipient: str) -> JSON:
    """``to: "+<digits>"`` for a phone, ``recipient`` for a business-scoped id (``US.…``)."""
    digits = recipient.removeprefix("+")
    if digits.isascii() and digits.isdigit():
        return {"to": "+" + digits}
    if "." in recipient:
        return {"recipient": recipient}
    raise BadRequest(f"{recipient[:3]}… is neither a phone number nor a WhatsApp user id.")


def message_body(recipient: str, payload: JSON, callback: str | None = None) -> JSON:
    """The body of a send (§5.2): the stored payload addressed to ``recipient``."""
    body: JSON = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    body.update(addressee(recipient))
    body.update(payload)
    if callback is not None:
        body["biz_opaque_callback_data"] = callback
    return body


class GraphClient:
    """The clinic's number on the Graph API, over a shared ``httpx.AsyncClient``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        access_token: str,
        phone_number_id: str,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json",
        }
        self.phone_number_id = phone_number_id

    async def request(self, method: str, path: str, body: JSON | None = None) -> JSON:
        """Every Graph call goes through here: the answer's JSON, or a ``GraphError``."""
        content = None if body is None else msgspec.json.encode(body)
        try:
            response = await self._client.request(
                method, self._base + path, content=content, headers=self._headers
            )
        except httpx.TransportError as exc:
            raise network_error(exc) from exc
        return parse_answer(response)

    async def send(self, body: JSON) -> str:
        """POST a message (see ``message_body``); return its ``wamid`` (§5.3)."""
        answer = await self.request("POST", f"/{self.phone_number_id}/messages", body)
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        wamid = first.get("id") if isinstance(first, dict) else None
        if not isinstance(wamid, str) or not wamid:
            raise TransientError(
                "WhatsApp answered without a message id: " + _RETRYING, maybe_sent=True
            )
        return wamid

    async def mark_read(self, wamid: str) -> None:
        """Show the patient's message as read (blue ticks) (§5.2, mark as read)."""
        body = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
        await self.request("POST", f"/{self.phone_number_id}/messages", body)
