"""Reminders before each visit (by default 24 h and 2 h before; a clinic setting).

``queue_due_reminders`` runs every half minute in one transaction: for every confirmed
appointment whose reminder time has come it writes a ``reminders`` row — its primary key
(appointment, visit time, minutes before) makes a second reminder impossible, across restarts
too, while a visit moved to another time is reminded of again —
and, in the same transaction, the message into the outbox. Inside WhatsApp's 24-hour
window the message is free-form with Confirm / Cancel / Reschedule buttons; outside it,
the clinic's approved template with the same three quick replies. The sender drops a queued
reminder whose appointment was cancelled or moved meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from clinicbot.conversation.model import Language
from clinicbot.conversation.texts import reminder as reminder_reply
from clinicbot.conversation.texts import when as when_text
from clinicbot.db import Database
from clinicbot.domain import Clinic
from clinicbot.services.backoff import pause
from clinicbot.store.clinics import list_clinics
from clinicbot.store.outbox import enqueue
from clinicbot.store.rows import stamp
from clinicbot.whatsapp.render import render

log = logging.getLogger(__name__)

WINDOW_SECONDS = 23 * 3600  # WhatsApp's 24 hours, less a margin for a queue that waits
MAX_OFFSET_MINUTES = 14 * 24 * 60


def offsets(clinic: Clinic) -> list[int]:
    """The clinic's reminder times in minutes before the visit, largest first."""
    return sorted({m for m in clinic.reminder_minutes if 0 < m <= MAX_OFFSET_MINUTES}, reverse=True)


_DUE = """
SELECT a.id, a.start_ts, a.starts_at, a.simulated, d.name AS doctor,
       coalesce((SELECT max(e.at) FROM appointment_events e WHERE e.appointment_id = a.id
                 AND e.kind IN ('created', 'reschedule')), a.created_at) AS set_at,
       p.id AS patient_id, p.name AS patient_name, c.wa_id, c.language, c.reminders_off,
       c.last_inbound_ts, c.simulated AS sim_conversation
FROM appointments a
JOIN doctors d ON d.id = a.doctor_id
JOIN patients p ON p.id = a.patient_id
JOIN conversations c ON c.patient_id = a.patient_id
WHERE a.clinic_id = ? AND a.status = 'confirmed' AND a.start_ts > ? AND a.start_ts <= ?
"""


def _record(
    conn: sqlite3.Connection,
    visit: sqlite3.Row,
    minutes: int,
    outcome: str,
    outbox_id: int | None,
    now: datetime,
) -> bool:
    return bool(
        conn.execute(
            "INSERT OR IGNORE INTO reminders (appointment_id, start_ts, minutes_before,"
            " outbox_id, outcome, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [visit["id"], visit["start_ts"], minutes, outbox_id, outcome, stamp(now)],
        ).rowcount
    )


def _done(conn: sqlite3.Connection, visit: sqlite3.Row) -> set[int]:
    """The reminders already settled for this visit at its present time."""
    rows = conn.execute(
        "SELECT minutes_before FROM reminders WHERE appointment_id = ? AND start_ts = ?",
        [visit["id"], visit["start_ts"]],
    )
    return {r[0] for r in rows}


def _template(clinic: Clinic, row: sqlite3.Row, when: str, language: Language) -> dict[str, object]:
    params = [row["patient_name"], when, row["doctor"]]
    buttons = [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(n),
            "parameters": [{"type": "payload", "payload": f"{action}:{row['id']}"}],
        }
        for n, action in enumerate(("CONFIRM", "CANCEL", "RESCHEDULE"))
    ]
    return {
        "type": "template",
        "template": {
            "name": clinic.reminder_template,
            "language": {"code": language.value},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]},
                *buttons,
            ],
        },
    }


def _queue(
    conn: sqlite3.Connection, clinic: Clinic, row: sqlite3.Row, minutes: int, now: datetime
) -> str:
    language = Language(row["language"])
    tz = ZoneInfo(clinic.timezone)
    start = datetime.fromisoformat(row["starts_at"]).astimezone(tz)
    reply = reminder_reply(language, clinic.name, row["doctor"], start, row["id"])
    in_window = (
        row["last_inbound_ts"] is not None
        and now.timestamp() - row["last_inbound_ts"] < WINDOW_SECONDS
    )
    if in_window or row["sim_conversation"]:
        message = render(reply)
        kind, payload, outcome = message.kind, message.payload, "queued"
    else:
        when = when_text(language, start)
        kind, payload, outcome = "template", _template(clinic, row, when, language), "template"
    outbox_id = enqueue(
        conn,
        key=f"reminder:{row['id']}:{row['start_ts']}:{minutes}",
        clinic_id=clinic.id,
        patient_id=row["patient_id"],
        recipient=row["wa_id"],
        kind=kind,
        payload=payload,
        preview=render(reply).preview,
        author="reminder",
        now=now,
        appointment_id=row["id"],
        simulated=bool(row["sim_conversation"]),
    )
    _record(conn, row, minutes, outcome, outbox_id, now)
    return outcome


def queue_due_reminders(conn: sqlite3.Connection, now: datetime) -> int:
    """Queue every reminder whose time has come; return how many messages were queued."""
    now_ts = int(now.timestamp())
    queued = 0
    for clinic in list_clinics(conn):
        times = offsets(clinic)
        if not times:
            continue
        rows = conn.execute(_DUE, [clinic.id, now_ts, now_ts + times[0] * 60]).fetchall()
        for row in rows:
            queued += _remind(conn, clinic, row, times, now)
    return queued


def _remind(
    conn: sqlite3.Connection, clinic: Clinic, row: sqlite3.Row, times: list[int], now: datetime
) -> int:
    now_ts = int(now.timestamp())
    due = [m for m in times if row["start_ts"] - m * 60 <= now_ts]
    done = _done(conn, row)
    pending = [m for m in due if m not in done]
    if not pending:
        return 0
    nearest = min(due)
    for minutes in pending:
        if minutes != nearest:  # a later reminder is due already: send only that one
            _record(conn, row, minutes, "skipped: a later reminder was due", None, now)
    if nearest not in pending:
        return 0
    due_at = stamp(datetime.fromtimestamp(row["start_ts"] - nearest * 60, now.tzinfo))
    if row["set_at"] > due_at:  # booked (or moved here) after: the confirmation said it
        _record(conn, row, nearest, "skipped: booked after the reminder time", None, now)
        return 0
    if row["reminders_off"]:
        _record(conn, row, nearest, "skipped: the patient asked for no reminders", None, now)
        return 0
    _queue(conn, clinic, row, nearest, now)
    return 1


class ReminderScheduler:
    """Runs ``queue_due_reminders`` every ``interval`` seconds until stopped."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        on_queued: Callable[[], None] = lambda: None,
        interval: float = 30.0,
    ) -> None:
        self._db, self._clock, self._on_queued, self._interval = db, clock, on_queued, interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if await self._db.write(queue_due_reminders, self._clock()):
                    self._on_queued()
            except sqlite3.Error:
                log.exception("reminders could not be queued this round")
            await pause(stop, self._interval)
