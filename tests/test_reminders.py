"""Reminders in one process, on a fixed clock: a reminder belongs to a visit *time*, so a
visit moved to another day is reminded of again, and a reminder queued for the old time is
not sent. (tests/test_reminders_e2e.py drives the whole thing through real processes.)"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from clinicbot.db.database import transaction
from clinicbot.domain import AppointmentCreate, Source, Status
from clinicbot.services import booking
from clinicbot.services.reminders import queue_due_reminders
from clinicbot.store import outbox
from tests.factories import TestClinic, make_clinic_db
from tests.test_bot_turns import NOW, apply, inbound, slot

SECOND = timedelta(seconds=1)


@pytest.fixture
def clinic(conn: sqlite3.Connection) -> TestClinic:
    return make_clinic_db(conn, NOW, doctors=1)


def book(conn: sqlite3.Connection, clinic: TestClinic, start: datetime) -> str:
    """A WhatsApp patient (they have written: a conversation) with a visit at ``start``."""
    patient_id = apply(conn, inbound(conn, "wamid.hello")).patient_id
    with transaction(conn):
        made = booking.book(
            conn,
            AppointmentCreate(
                clinic_id=clinic.id,
                doctor_id=clinic.doctor,
                service_id=clinic.service,
                starts_at=start.isoformat(),
                patient_id=patient_id,
                source=Source.WHATSAPP,
            ),
            NOW,
        )
    return made.id


def queue(conn: sqlite3.Connection, at: datetime) -> int:
    with transaction(conn):
        return queue_due_reminders(conn, at)


def reminders(conn: sqlite3.Connection, appointment_id: str) -> list[tuple[str, int, str]]:
    rows = conn.execute(
        "SELECT o.key, r.minutes_before, r.outcome FROM reminders r"
        " LEFT JOIN outbox o ON o.id = r.outbox_id WHERE r.appointment_id = ?"
        " ORDER BY r.created_at, r.minutes_before DESC",
        [appointment_id],
    )
    return [tuple(row) for row in rows]


def test_each_reminder_once_at_its_time(conn: sqlite3.Connection, clinic: TestClinic) -> None:
    start = slot(clinic)
    visit = book(conn, clinic, start)
    day_before, two_hours = start - timedelta(minutes=1440), start - timedelta(minutes=120)
    assert queue(conn, day_before - SECOND) == 0
    assert queue(conn, day_before) == 1
    assert queue(conn, day_before + SECOND) == 0
    assert queue(conn, two_hours - SECOND) == 0
    assert queue(conn, two_hours) == 1
    assert queue(conn, two_hours + timedelta(minutes=5)) == 0
    ts = int(start.timestamp())
    assert [(key, minutes) for key, minutes, _ in reminders(conn, visit)] == [
        (f"reminder:{visit}:{ts}:1440", 1440),
        (f"reminder:{visit}:{ts}:120", 120),
    ]


def test_a_moved_visit_is_reminded_of_again_and_the_old_reminder_is_not_sent(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    start = slot(clinic)
    visit = book(conn, clinic, start)
    day_before = start - timedelta(minutes=1440)
    assert queue(conn, day_before) == 1
    (old_key, _, _) = reminders(conn, visit)[0]
    old_row = conn.execute("SELECT id FROM outbox WHERE key = ?", [old_key]).fetchone()[0]

    # Before WhatsApp could take it, the patient moves the visit two days on.
    later = start + timedelta(days=2)
    moved_at = day_before + timedelta(minutes=1)
    with transaction(conn):
        booking.reschedule(conn, visit, later.isoformat(), moved_at, actor="patient")
    with transaction(conn):
        assert outbox.begin_attempt(conn, old_row, moved_at, hold_until=0) is None
    status, reason = conn.execute(
        "SELECT status, error_reason FROM outbox WHERE id = ?", [old_row]
    ).fetchone()
    assert status == "cancelled" and "moved" in reason

    # The new time gets its own reminders, once each.
    new_day_before = later - timedelta(minutes=1440)
    assert queue(conn, new_day_before - SECOND) == 0
    assert queue(conn, new_day_before) == 1
    assert queue(conn, new_day_before + SECOND) == 0
    keys = [key for key, _, _ in reminders(conn, visit)]
    assert keys[-1] == f"reminder:{visit}:{int(later.timestamp())}:1440"
    assert len(keys) == len(set(keys)) == 2


def test_a_visit_moved_after_its_reminder_time_gets_only_the_later_one(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    """Moved three hours before the new time: the day-before reminder is past (the
    rescheduling reply said it all), the two-hour one still goes out."""
    start = slot(clinic)
    visit = book(conn, clinic, start)
    target = start + timedelta(days=2)
    moved_at = target - timedelta(hours=3)
    with transaction(conn):
        booking.reschedule(conn, visit, target.isoformat(), moved_at, actor="patient")
    assert queue(conn, moved_at + SECOND) == 0
    assert queue(conn, target - timedelta(minutes=120)) == 1
    outcomes = [(minutes, outcome) for _, minutes, outcome in reminders(conn, visit)]
    assert outcomes == [
        (1440, "skipped: booked after the reminder time"),
        (120, "template"),
    ]  # the patient last wrote days ago


def test_no_reminder_for_a_cancelled_visit(conn: sqlite3.Connection, clinic: TestClinic) -> None:
    start = slot(clinic)
    visit = book(conn, clinic, start)
    with transaction(conn):
        booking.set_status(conn, visit, Status.CANCELLED, NOW, actor="staff")
    assert queue(conn, start - timedelta(minutes=1440)) == 0
    assert queue(conn, start - timedelta(minutes=120)) == 0
    assert reminders(conn, visit) == []


def test_reminders_are_looked_for_in_utc(conn: sqlite3.Connection, clinic: TestClinic) -> None:
    """The clock may hand any offset; what counts is the instant."""
    start = slot(clinic)
    visit = book(conn, clinic, start)
    due = (start - timedelta(minutes=1440)).astimezone(UTC)
    assert queue(conn, due.astimezone(slot(clinic).tzinfo)) == 1
    assert len(reminders(conn, visit)) == 1
