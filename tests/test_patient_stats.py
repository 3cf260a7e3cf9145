"""Patients' counters always equal a recount, whatever staff do; and the clinic's statistics."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from clinicbot.db import connect, migrate
from clinicbot.db.database import transaction
from clinicbot.domain import AppointmentCreate, PatientCreate, PatientUpdate, Status
from clinicbot.errors import InvalidInput, SlotTaken
from clinicbot.services import booking
from clinicbot.services.patients import clinic_stats, create_patient, update_patient
from clinicbot.store.patients import recount
from tests.factories import make_clinic_db, next_weekday

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=IST)
DAYS = [next_weekday(NOW.date(), 0), next_weekday(NOW.date(), 1), next_weekday(NOW.date(), 5)]
# A narrow window of the morning, so that bookings collide often.
TIMES = ["09:00", "09:15", "09:30", "09:45", "10:00"]
PHONES = ["+919876543210", "98765 43211", "919876543212"]
DURATIONS = [15, 30]  # make_clinic_db's two services
COUNTER_FIELDS = (
    "total_visits",
    "total_cancellations",
    "total_no_shows",
    "first_visit_date",
    "last_visit_date",
)
TABLES = ("appointments", "patients", "appointment_events", "appointment_counts")


@dataclass
class Booked:
    doctor: int
    day: date
    start: int  # minutes after midnight, clinic time
    minutes: int
    phone: int
    status: Status = Status.CONFIRMED
    status_changes: int = 0

    def overlaps(self, other: Booked) -> bool:
        return (
            self.doctor == other.doctor
            and self.day == other.day
            and self.start < other.start + other.minutes
            and other.start < self.start + self.minutes
        )


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class PatientCounters(RuleBasedStateMachine):
    """Random bookings, status changes and reschedules, checked against an independent model."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="clinicbot-stats-"))
        self.conn = connect(self.dir / "clinicbot.db")
        migrate(self.conn)
        self.clinic = make_clinic_db(self.conn, NOW, doctors=2)
        self.booked: dict[str, Booked] = {}
        self.patient_ids: dict[int, str] = {}

    def teardown(self) -> None:
        self.conn.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # helpers ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        return {
            table: sorted(tuple(row) for row in self.conn.execute(f"SELECT * FROM {table}"))  # noqa: S608
            for table in TABLES
        }

    def collides(self, candidate: Booked, ignore: str | None = None) -> bool:
        return any(
            other.status != Status.CANCELLED and other.overlaps(candidate)
            for key, other in self.booked.items()
            if key != ignore
        )

    def pick(self, index: int) -> str:
        keys = sorted(self.booked)
        return keys[index % len(keys)]

    # rules -----------------------------------------------------------------------------

    @initialize(day=st.sampled_from(DAYS), clock=st.sampled_from(TIMES))
    def first_booking(self, day: date, clock: str) -> None:
        self.book(doctor=0, day=day, clock=clock, service=0, phone=0)
        assert len(self.booked) == 1

    @rule(
        doctor=st.integers(0, 1),
        day=st.sampled_from(DAYS),
        clock=st.sampled_from(TIMES),
        service=st.integers(0, 1),
        phone=st.integers(0, len(PHONES) - 1),
    )
    def book(self, doctor: int, day: date, clock: str, service: int, phone: int) -> None:
        candidate = Booked(doctor, day, _minutes(clock), DURATIONS[service], phone)
        expected_taken = self.collides(candidate)
        before = self.snapshot()
        try:
            with transaction(self.conn):
                made = booking.book(
                    self.conn,
                    AppointmentCreate(
                        clinic_id=self.clinic.id,
                        doctor_id=self.clinic.doctor_ids[doctor],
                        service_id=self.clinic.service_ids[service],
                        starts_at=f"{day}T{clock}",
                        patient_name=f"Patient {phone}",
                        patient_phone=PHONES[phone],
                    ),
                    NOW,
                )
        except SlotTaken:
            assert expected_taken, "refused a free slot"
            assert self.snapshot() == before
            event("book: slot taken")
            return
        assert not expected_taken, "double-booked a slot"
        self.booked[made.id] = candidate
        assert made.patient_id is not None
        assert self.patient_ids.setdefault(phone, made.patient_id) == made.patient_id

    @precondition(lambda self: self.booked)
    @rule(index=st.integers(0, 10_000), status=st.sampled_from(list(Status)))
    def set_status(self, index: int, status: Status) -> None:
        key = self.pick(index)
        current = self.booked[key]
        reclaims = current.status == Status.CANCELLED and status != Status.CANCELLED
        expected_taken = reclaims and self.collides(current, ignore=key)
        before = self.snapshot()
        try:
            with transaction(self.conn):
                changed = booking.set_status(self.conn, key, status, NOW, actor="machine")
        except SlotTaken:
            assert expected_taken, "refused to bring back a free slot"
            assert self.snapshot() == before
            event("set_status: slot taken")
            return
        assert not expected_taken, "brought an appointment back onto a taken slot"
        assert changed.status == status
        if current.status != status:
            current.status_changes += 1
        current.status = status

    @precondition(lambda self: self.booked)
    @rule(
        index=st.integers(0, 10_000),
        doctor=st.integers(0, 1),
        day=st.sampled_from(DAYS),
        clock=st.sampled_from(TIMES),
    )
    def reschedule(self, index: int, doctor: int, day: date, clock: str) -> None:
        key = self.pick(index)
        current = self.booked[key]
        moved = Booked(doctor, day, _minutes(clock), current.minutes, current.phone)
        movable = current.status in (Status.CONFIRMED, Status.ARRIVED)
        expected_taken = movable and self.collides(moved, ignore=key)
        before = self.snapshot()
        try:
            with transaction(self.conn):
                booking.reschedule(
                    self.conn,
                    key,
                    f"{day}T{clock}",
                    NOW,
                    doctor_id=self.clinic.doctor_ids[doctor],
                )
        except InvalidInput:
            assert not movable, "refused to move a booked appointment"
            assert self.snapshot() == before
            event("reschedule: not movable")
            return
        except SlotTaken:
            assert expected_taken, "refused a free slot"
            assert self.snapshot() == before
            event("reschedule: slot taken")
            return
        assert movable, "moved a finished appointment"
        assert not expected_taken, "moved onto a taken slot"
        current.doctor, current.day, current.start = doctor, day, moved.start

    # invariants ------------------------------------------------------------------------

    def model_counters(self, phone: int) -> tuple[object, ...]:
        mine = [b for b in self.booked.values() if b.phone == phone]
        visits = sorted(b.day.isoformat() for b in mine if b.status == Status.COMPLETED)
        return (
            len(visits),
            sum(b.status == Status.CANCELLED for b in mine),
            sum(b.status == Status.NO_SHOW for b in mine),
            visits[0] if visits else None,
            visits[-1] if visits else None,
        )

    @invariant()
    def counters_equal_a_recount(self) -> None:
        rows = self.conn.execute("SELECT patient_id, status, date FROM appointments").fetchall()
        for phone, patient_id in self.patient_ids.items():
            stored = self.conn.execute(
                f"SELECT {', '.join(COUNTER_FIELDS)} FROM patients WHERE id = ?",  # noqa: S608
                [patient_id],
            ).fetchone()
            counted = recount(self.conn, patient_id)
            mine = [r for r in rows if r["patient_id"] == patient_id]
            visits = sorted(r["date"] for r in mine if r["status"] == "completed")
            by_hand = (
                len(visits),
                sum(r["status"] == "cancelled" for r in mine),
                sum(r["status"] == "no_show" for r in mine),
                visits[0] if visits else None,
                visits[-1] if visits else None,
            )
            assert tuple(stored) == tuple(counted[f] for f in COUNTER_FIELDS) == by_hand
            assert by_hand == self.model_counters(phone)
        patients = self.conn.execute("SELECT count(*) FROM patients").fetchone()[0]
        assert patients == len(self.patient_ids)

    @invariant()
    def appointment_counts_equal_a_group_by(self) -> None:
        kept = {
            r["status"]: r["n"]
            for r in self.conn.execute(
                "SELECT status, n FROM appointment_counts WHERE clinic_id = ? AND n != 0",
                [self.clinic.id],
            )
        }
        grouped = dict(
            self.conn.execute(
                "SELECT status, count(*) FROM appointments WHERE clinic_id = ? GROUP BY status",
                [self.clinic.id],
            ).fetchall()
        )
        assert kept == grouped
        assert Counter(b.status.value for b in self.booked.values()) == Counter(grouped)

    @invariant()
    def no_doctor_is_in_two_places(self) -> None:
        overlapping = self.conn.execute(
            """
            SELECT count(*) FROM appointments a JOIN appointments b
              ON a.doctor_id = b.doctor_id AND a.id < b.id
             AND a.start_ts < b.end_ts AND b.start_ts < a.end_ts
            WHERE a.status != 'cancelled' AND b.status != 'cancelled'
            """
        ).fetchone()[0]
        assert overlapping == 0

    @invariant()
    def database_matches_the_model(self) -> None:
        rows = {r["id"]: r for r in self.conn.execute("SELECT * FROM appointments")}
        assert set(rows) == set(self.booked)
        for key, model in self.booked.items():
            row = rows[key]
            assert row["status"] == model.status.value
            assert row["doctor_id"] == self.clinic.doctor_ids[model.doctor]
            assert row["starts_at"] == f"{model.day}T{_clock(model.start)}:00+05:30"

    @invariant()
    def every_status_change_is_one_event(self) -> None:
        counts = dict(
            self.conn.execute(
                "SELECT appointment_id, count(*) FROM appointment_events WHERE kind = 'status'"
                " GROUP BY appointment_id"
            ).fetchall()
        )
        for key, model in self.booked.items():
            assert counts.get(key, 0) == model.status_changes


PatientCounters.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestPatientCounters = PatientCounters.TestCase


# clinic statistics ------------------------------------------------------------------------

STATS_NOW = datetime(2026, 11, 15, 12, 0, tzinfo=IST)


def _patient(conn: sqlite3.Connection, clinic_id: str, phone: str, created: datetime) -> str:
    with transaction(conn):
        made = create_patient(
            conn, PatientCreate(clinic_id=clinic_id, name=f"P {phone[-2:]}", phone=phone), created
        )
    return made.id


def _visit(
    conn: sqlite3.Connection,
    clinic_id: str,
    doctor: str,
    service: str,
    patient_id: str,
    day: date,
    status: Status,
) -> None:
    """An appointment on ``day``, booked the day before and moved to ``status`` afterwards."""
    booked_at = datetime.combine(day - timedelta(days=1), datetime.min.time(), IST)
    with transaction(conn):
        made = booking.book(
            conn,
            AppointmentCreate(
                clinic_id=clinic_id,
                doctor_id=doctor,
                service_id=service,
                starts_at=f"{day}T10:00",
                patient_id=patient_id,
            ),
            booked_at,
        )
        if status != Status.CONFIRMED:
            booking.set_status(conn, made.id, status, booked_at + timedelta(days=2))


def test_clinic_stats(conn: sqlite3.Connection) -> None:
    long_ago = datetime(2025, 6, 1, 9, 0, tzinfo=IST)
    clinic = make_clinic_db(conn, long_ago)
    other = make_clinic_db(conn, long_ago)

    def visit(patient_id: str, day: date, status: Status) -> None:
        _visit(conn, clinic.id, clinic.doctor, clinic.service, patient_id, day, status)

    # Created 31 October 23:30 in Kolkata: last month. 20:00 UTC is already 1 November there.
    october = _patient(conn, clinic.id, "+919800000001", datetime(2026, 10, 31, 18, 0, tzinfo=UTC))
    november = _patient(conn, clinic.id, "+919800000002", datetime(2026, 10, 31, 20, 0, tzinfo=UTC))
    recent = _patient(conn, clinic.id, "+919800000003", long_ago)
    lapsed = _patient(conn, clinic.id, "+919800000004", long_ago)
    upcoming = _patient(conn, clinic.id, "+919800000005", long_ago)
    cancelled = _patient(conn, clinic.id, "+919800000006", long_ago)
    gone = _patient(conn, clinic.id, "+919800000007", STATS_NOW - timedelta(days=2))
    stranger = _patient(conn, other.id, "+919800000008", STATS_NOW - timedelta(days=1))

    visit(recent, date(2025, 12, 10), Status.COMPLETED)  # 11 months ago
    visit(recent, date(2026, 11, 16), Status.CONFIRMED)  # and tomorrow
    visit(lapsed, date(2025, 10, 1), Status.COMPLETED)  # 13 months ago
    visit(lapsed, date(2025, 10, 8), Status.NO_SHOW)
    visit(lapsed, date(2025, 11, 3), Status.CONFIRMED)  # never closed, long past
    visit(upcoming, date(2026, 11, 20), Status.CONFIRMED)
    visit(cancelled, date(2026, 11, 21), Status.CANCELLED)
    visit(gone, date(2026, 8, 3), Status.COMPLETED)
    _visit(
        conn, other.id, other.doctor, other.service, stranger, date(2026, 11, 10), Status.NO_SHOW
    )
    with transaction(conn):
        update_patient(conn, gone, PatientUpdate(is_active=False), STATS_NOW)

    with transaction(conn, immediate=False):
        stats = clinic_stats(conn, clinic.id, STATS_NOW)
    assert stats.total_patients == 6  # every record but the deactivated one
    assert stats.new_patients_this_month == 1  # november
    assert stats.active_patients == 2  # recent, upcoming
    assert stats.total_appointments == 8
    assert (
        stats.completed_appointments,
        stats.no_show_appointments,
        stats.cancelled_appointments,
    ) == (3, 1, 1)
    assert stats.no_show_rate == pytest.approx(1 / 4, abs=1e-4)
    assert {october, november} <= {r[0] for r in conn.execute("SELECT id FROM patients")}

    # 30 November 20:00 UTC is 1 December in Kolkata: nobody is new that month yet.
    december = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    with transaction(conn, immediate=False):
        assert clinic_stats(conn, clinic.id, december).new_patients_this_month == 0


def test_no_show_rate_is_none_before_any_visit(conn: sqlite3.Connection) -> None:
    clinic = make_clinic_db(conn, NOW)
    with transaction(conn, immediate=False):
        empty = clinic_stats(conn, clinic.id, NOW)
    assert (empty.total_patients, empty.total_appointments, empty.no_show_rate) == (0, 0, None)
    patient = _patient(conn, clinic.id, "+919800000001", NOW)
    _visit(conn, clinic.id, clinic.doctor, clinic.service, patient, DAYS[0], Status.CONFIRMED)
    _visit(conn, clinic.id, clinic.doctor, clinic.service, patient, DAYS[1], Status.CANCELLED)
    with transaction(conn, immediate=False):
        stats = clinic_stats(conn, clinic.id, NOW)
    assert (stats.total_appointments, stats.no_show_rate, stats.active_patients) == (2, None, 1)
    _visit(conn, clinic.id, clinic.doctor, clinic.service, patient, DAYS[2], Status.NO_SHOW)
    with transaction(conn, immediate=False):
        assert clinic_stats(conn, clinic.id, NOW).no_show_rate == 1.0
