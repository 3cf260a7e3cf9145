"""What the fake keeps and hands to tests: accepted messages, webhook deliveries, Graph
calls, the forced-error rules, and the outcome of one Graph request."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass
class Sent:
    """One message the fake accepted (HTTP 200 with a wamid)."""

    wamid: str
    to: str | None  # the raw ``to`` as the client sent it ("+9198…")
    recipient: str | None  # the raw ``recipient`` (a business-scoped id), if used instead
    patient: str  # the patient's key: wa_id digits, or the BSUID when no wa_id is known
    type: str
    body: JSON
    callback: str | None
    at: float
    failure: int | None = None  # a delivery-stage error code it will fail with

    @property
    def text(self) -> str:
        """The readable text: a text body, an interactive body, or a template's name."""
        content = self.body.get(self.type) or {}
        if self.type == "text":
            return str(content.get("body", ""))
        if self.type == "interactive":
            return str((content.get("body") or {}).get("text", ""))
        return str(content.get("name", ""))


@dataclass
class Delivery:
    """One webhook POST that Meta keeps trying until the clinic answers 200."""

    kind: str  # "message", "status" or "raw"
    body: JSON
    raw: bytes
    attempts: list[int | str] = field(default_factory=list)  # HTTP status or error name
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def status_code(self) -> int | None:
        return 200 if self.done.is_set() and self.attempts[-1:] == [200] else None

    def wait(self, timeout: float = 10.0) -> int:
        """Wait for the 200; raise TimeoutError with the attempts so far."""
        if not self.done.wait(timeout):
            raise TimeoutError(f"webhook not acknowledged after {timeout}s: {self.attempts}")
        return 200


@dataclass
class Rule:
    code: int
    to: str | None  # a patient key, or None for everyone
    times: int | None  # None: until cleared
    sync: bool


@dataclass
class Call:
    """One Graph request and the answer it got (``requests``)."""

    path: str
    status: int
    code: int | None  # the error code, when refused
    patient: str | None


@dataclass
class Outcome:
    """How the fake answers one Graph request."""

    status: int
    answer: JSON | bytes
    sent: Sent | None = None  # accepted: its statuses follow
    plan: list[tuple[str, int | None]] = field(default_factory=list)
    hang: bool = False  # held until ``release()``: a lost answer, or a swallowed request
