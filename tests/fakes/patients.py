"""What patients do, as Meta would tell the clinic: each method builds the webhook body of
WHATSAPP.md §2.2, signs it and POSTs it (retrying until the clinic answers 200), and opens
that patient's 24-hour window in the fake.

Options every method takes: ``name`` (the profile name), ``user_id`` (the 2026
business-scoped id), ``omit_wa_id`` (a username user: only ``user_id``/``from_user_id``,
no ``wa_id``/``from``), ``age`` (seconds in the past: a stale message, as after days of
Meta's retries) or ``timestamp``, ``context_id`` (the wamid of our message it answers),
``duplicate`` (Meta delivers the same body twice), ``wamid`` and ``wait`` (wait for the
200; default True). Inside ``with fake.batch():`` messages are collected and POSTed as one
webhook when the block ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from tests.fakes import payloads

if TYPE_CHECKING:
    from tests.fakes.records import Delivery

JSON = dict[str, Any]

MEDIA_DEFAULTS: dict[str, JSON] = {
    "image": {"mime_type": "image/jpeg", "caption": "my referral letter"},
    "audio": {"mime_type": "audio/ogg; codecs=opus", "voice": True},
    "video": {"mime_type": "video/mp4"},
    "document": {"mime_type": "application/pdf", "filename": "report.pdf"},
    "sticker": {"mime_type": "image/webp", "animated": False},
}
OTHER_DEFAULTS: dict[str, JSON] = {
    "location": {"latitude": 28.6139, "longitude": 77.209, "name": "Clinic", "address": "Delhi"},
    "reaction": {"message_id": "wamid.unknown", "emoji": "\U0001f44d"},
    "unsupported": {"type": "poll"},
}


@dataclass
class Injected:
    """What a patient did: the wamid of their message and its webhook delivery."""

    wamid: str
    delivery: Delivery | None  # None while batched


class PatientInjector:
    """Mixed into ``FakeWhatsApp``, which provides the attributes below."""

    display_phone_number: str
    phone_number_id: str
    waba_id: str
    clock: Callable[[], float]
    _batch: list[tuple[JSON, JSON]] | None = None

    def post_webhook(self, body: JSON, kind: str = "raw") -> Delivery:
        raise NotImplementedError

    def _note_inbound(self, wa_id: str | None, user_id: str | None, at: float) -> None:
        raise NotImplementedError

    # --- the patient's actions -------------------------------------------------------------

    def patient_says(self, wa_id: str, text: str, **options: Any) -> Injected:
        """A text message (§2.2 a)."""
        return self._inbound(wa_id, "text", {"body": text}, **options)

    def patient_taps(
        self, wa_id: str, choice_id: str, title: str, list: bool = False, **options: Any
    ) -> Injected:
        """A tap on one of our reply buttons (§2.2 b) or a row of our list (§2.2 c)."""
        kind = "list_reply" if list else "button_reply"
        reply: JSON = {"id": choice_id, "title": title}
        if list and options.get("description"):
            reply["description"] = options.pop("description")
        return self._inbound(wa_id, "interactive", {"type": kind, kind: reply}, **options)

    def patient_taps_template(
        self, wa_id: str, payload: str, text: str, **options: Any
    ) -> Injected:
        """A tap on a template's quick-reply button (§2.2 d): ``type: "button"``."""
        return self._inbound(wa_id, "button", {"payload": payload, "text": text}, **options)

    def patient_sends(
        self, wa_id: str, type: str, content: JSON | None = None, **options: Any
    ) -> Injected:
        """Anything else: image, audio (voice note), video, document, sticker, location,
        reaction, unsupported (§2.2 g/h and the other shapes)."""
        if content is None and type in MEDIA_DEFAULTS:
            content = {
                **MEDIA_DEFAULTS[type],
                "sha256": os.urandom(8).hex(),
                "id": str(int.from_bytes(os.urandom(6), "big")),
            }
        elif content is None:
            content = dict(OTHER_DEFAULTS.get(type, {}))
        return self._inbound(wa_id, type, content, **options)

    @contextlib.contextmanager
    def batch(self) -> Iterator[list[Injected]]:
        """Collect the messages of the block and POST them as one webhook at its end."""
        injected: list[Injected] = []
        self._batch = []
        try:
            yield injected
        except BaseException:
            self._batch = None
            raise
        collected, self._batch = self._batch, None
        people = {(c.get("wa_id"), c.get("user_id")): c for c, _ in collected}
        body = self._envelope(
            {"contacts": list(people.values()), "messages": [m for _, m in collected]}
        )
        delivery = self.post_webhook(body, "message")
        injected.extend(Injected(m["id"], delivery) for _, m in collected)
        delivery.wait()

    def verify(self, url: str, verify_token: str, challenge: str = "1158201444") -> httpx.Response:
        """Meta's subscription handshake (§1) against the clinic's webhook URL."""
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": verify_token,
            "hub.challenge": challenge,
        }
        return httpx.get(url, params=params, timeout=10)

    # --- building and posting --------------------------------------------------------------

    def _envelope(self, value: JSON) -> JSON:
        metadata = {
            "display_phone_number": self.display_phone_number,
            "phone_number_id": self.phone_number_id,
        }
        return payloads.envelope(self.waba_id, metadata, value)

    def _inbound(
        self,
        wa_id: str,
        type: str,
        content: JSON,
        *,
        name: str = "Test Patient",
        user_id: str | None = None,
        omit_wa_id: bool = False,
        age: float = 0.0,
        timestamp: int | None = None,
        context_id: str | None = None,
        duplicate: bool = False,
        wamid: str | None = None,
        wait: bool = True,
    ) -> Injected:
        if omit_wa_id and not user_id:
            raise ValueError("omit_wa_id needs a user_id")
        at = int(self.clock() - age) if timestamp is None else timestamp
        sender = None if omit_wa_id else wa_id
        context = {"from": self.display_phone_number, "id": context_id} if context_id else None
        item = payloads.message(
            wa_id=sender,
            user_id=user_id,
            wamid=wamid or payloads.new_wamid(),
            timestamp=at,
            type=type,
            content=content,
            context=context,
        )
        if type == "unsupported":
            item["errors"] = [
                payloads.error_object(131051, "Message type is currently not supported.")
            ]
        person = payloads.contact(sender, user_id, name)
        self._note_inbound(sender, user_id, float(at))
        if self._batch is not None:
            self._batch.append((person, item))
            return Injected(item["id"], None)
        body = self._envelope({"contacts": [person], "messages": [item]})
        delivery = self.post_webhook(body, "message")
        if duplicate:
            self.post_webhook(body, "message")
        if wait:
            delivery.wait()
        return Injected(item["id"], delivery)
