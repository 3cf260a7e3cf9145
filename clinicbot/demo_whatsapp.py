"""One demo patient's WhatsApp conversation, written through the live pipeline's own
pieces: each patient message is a Meta-shaped webhook stored by ``store_webhook`` and
handled as the bot worker handles it; each answer goes into the outbox by ``queue_replies``
and moves on by the sender's steps (``begin_attempt``, ``record_sent``) and by status
webhooks. Nothing is left for the worker or the sender: every message ends processed, and
every answer delivered, read or failed.
"""

from __future__ import annotations

import base64
import random
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from clinicbot.conversation.model import Choice, Effect, Language, Reply
from clinicbot.domain import Clinic
from clinicbot.services.bot_turns import apply_effect, mark_processed, queue_replies
from clinicbot.services.inbox import store_webhook
from clinicbot.services.patients import whatsapp_patient
from clinicbot.store import conversations, outbox
from clinicbot.whatsapp.webhook import parse_webhook

JSON = dict[str, object]


def _wamid(rng: random.Random) -> str:
    return "wamid.HBgM" + base64.b64encode(rng.randbytes(27)).decode()


def _later(at: datetime, rng: random.Random, low: int, high: int) -> datetime:
    return at + timedelta(seconds=rng.randint(low, high))


@dataclass
class Chat:
    """One patient's conversation, written message by message at the moments given."""

    conn: sqlite3.Connection
    clinic: Clinic
    rng: random.Random
    patient: sqlite3.Row  # id, name, phone, whatsapp_name
    lang: Language = Language.EN
    paused: bool = False
    last: str = ""  # the wamid of the patient's latest message

    @property
    def wa_id(self) -> str:
        return str(self.patient["phone"]).removeprefix("+")

    @property
    def first_name(self) -> str:
        return str(self.patient["name"]).split(" ")[0]

    def _webhook(self, value: JSON, at: datetime) -> None:
        metadata = {
            "display_phone_number": (self.clinic.phone or "").removeprefix("+"),
            "phone_number_id": self.clinic.whatsapp_phone_number_id or "",
        }
        value = {"messaging_product": "whatsapp", "metadata": metadata, **value}
        change = {"field": "messages", "value": value}
        doc = {"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [change]}]}
        store_webhook(self.conn, parse_webhook(msgspec.json.encode(doc)), at)

    def _message(self, at: datetime, kind: str, content: JSON) -> None:
        """What ``store_webhook`` and then the bot worker do with one patient message."""
        self.last = _wamid(self.rng)
        ts = int(at.timestamp())
        profile = self.patient["whatsapp_name"] or self.patient["name"]
        contact = {"profile": {"name": profile}, "wa_id": self.wa_id}
        message = {"from": self.wa_id, "id": self.last, "timestamp": str(ts), "type": kind}
        self._webhook({"contacts": [contact], "messages": [{**message, kind: content}]}, at)
        whatsapp_patient(
            self.conn, self.clinic.id, wa_id=self.wa_id, user_id=None, profile_name=profile, now=at
        )
        conversations.open_for(
            self.conn,
            patient_id=self.patient["id"],
            clinic_id=self.clinic.id,
            wa_id=self.wa_id,
            user_id=None,
            now=at,
        )
        conversations.note_inbound(self.conn, self.patient["id"], ts, at)
        if self.paused:
            mark_processed(self.conn, self.last, "paused", at, self.patient["id"])

    def says(self, at: datetime, text: str) -> None:
        self._message(at, "text", {"body": text})

    def taps(self, at: datetime, choice: Choice, *, in_list: bool = False) -> None:
        kind = "list_reply" if in_list else "button_reply"
        picked = {"id": choice.id, "title": choice.title}
        if in_list and choice.description:
            picked["description"] = choice.description
        self._message(at, "interactive", {"type": kind, kind: picked})

    def sends(self, at: datetime, kind: str, content: JSON) -> None:
        self._message(at, kind, content)

    def bot(
        self, at: datetime, answer: Reply, *, read: bool = True, effect: Effect | None = None
    ) -> None:
        """The bot's answer to the latest message, sent, delivered and (if ``read``) read."""
        answered = _later(at, self.rng, 1, 3)
        if effect is not None:
            patient = whatsapp_patient(
                self.conn, self.clinic.id, wa_id=self.wa_id, user_id=None, profile_name=None,
                now=answered,
            )  # fmt: skip
            apply_effect(self.conn, effect, patient, answered)
        key = f"reply:{self.last}"
        queue_replies(
            self.conn,
            (answer,),
            key=key,
            clinic_id=self.clinic.id,
            patient_id=self.patient["id"],
            recipient=self.wa_id,
            now=answered,
            in_reply_to=self.last,
        )
        mark_processed(self.conn, self.last, "answered", answered, self.patient["id"])
        row = self.conn.execute("SELECT id FROM outbox WHERE key = ?", [key + ":0"]).fetchone()
        self.deliver(row[0], answered, "read" if read else "delivered")

    def deliver(self, row_id: int, at: datetime, final: str, *, error: JSON | None = None) -> None:
        """The sender's attempt and Meta's answer, then status webhooks up to ``final``."""
        outbox.begin_attempt(self.conn, row_id, at, 0.0)
        wamid = _wamid(self.rng)
        outbox.record_sent(self.conn, row_id, wamid, at)
        steps = {"failed": ["failed"], "delivered": ["delivered"]}.get(final, ["delivered", "read"])
        moment = at
        for status in steps:
            moment = _later(moment, self.rng, 2, 50 if status == "read" else 6)
            item: JSON = {
                "id": wamid,
                "status": status,
                "timestamp": str(int(moment.timestamp())),
                "recipient_id": self.wa_id,
                "biz_opaque_callback_data": outbox.callback_data(row_id, 1),
            }
            if error is not None:
                item["errors"] = [error]
            self._webhook({"statuses": [item]}, moment)


def turn(
    chat: Chat,
    at: datetime,
    said: str | Choice,
    answer: Reply,
    *,
    in_list: bool = False,
    read: bool = True,
    effect: Effect | None = None,
) -> None:
    """The patient types ``said`` (or taps it), and the bot answers."""
    if isinstance(said, str):
        chat.says(at, said)
    else:
        chat.taps(at, said, in_list=in_list)
    chat.bot(at, answer, read=read, effect=effect)
