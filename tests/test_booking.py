"""Booking, status changes and reschedules on a real database, and the trigger beneath them."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinicbot.db.database import transaction
from clinicbot.domain import (
    Appointment,
    AppointmentCreate,
    AppointmentEvent,
    AppointmentUpdate,
    DoctorUpdate,
    PatientCreate,
    Source,
    Status,
    TimeOffCreate,
)
from clinicbot.errors import InvalidInput, NotFound, SlotTaken
from clinicbot.services import booking, setup
from clinicbot.services.patients import create_patient
from clinicbot.store import appointments as appointment_store
from clinicbot.store.patients import get_patient
from tests.factories import TestClinic as MadeClinic
from tests.factories import make_clinic_db, next_weekday

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=IST)  # a Tuesday, 10:00
DAY = next_weekday(NOW.date(), 0)  # the next Monday
PHONE = "+919876543210"


@pytest.fixture
def clinic(conn: sqlite3.Connection) -> MadeClinic:
    return make_clinic_db(conn, NOW, doctors=2)


def book(
    conn: sqlite3.Connection,
    clinic: MadeClinic,
    clock: str,
    *,
    day: date = DAY,
    service: int = 0,
    doctor: int = 0,
    phone: str | None = PHONE,
    name: str | None = "Asha Verma",
    patient_id: str | None = None,
    source: Source = Source.STAFF,
    now: datetime = NOW,
) -> Appointment:
    with transaction(conn):
        return booking.book(
            conn,
            AppointmentCreate(
                clinic_id=clinic.id,
                doctor_id=clinic.doctor_ids[doctor],
                service_id=clinic.service_ids[service],
                starts_at=f"{day.isoformat()}T{clock}:00",
                patient_name=name,
                patient_phone=phone,
                patient_id=patient_id,
                source=source,
            ),
            now,
        )


def set_status(
    conn: sqlite3.Connection,
    appointment: Appointment,
    status: Status,
    *,
    actor: str = "staff",
    reason: str | None = None,
) -> Appointment:
    with transaction(conn):
        return booking.set_status(conn, appointment.id, status, NOW, actor=actor, reason=reason)


def reschedule(
    conn: sqlite3.Connection,
    appointment: Appointment,
    clock: str,
    *,
    day: date = DAY,
    doctor_id: str | None = None,
) -> Appointment:
    with transaction(conn):
        return booking.reschedule(
            conn, appointment.id, f"{day.isoformat()}T{clock}:00", NOW, doctor_id=doctor_id
        )


def events(conn: sqlite3.Connection, appointment: Appointment) -> list[AppointmentEvent]:
    return appointment_store.list_events(conn, appointment.id)


def read(conn: sqlite3.Connection, appointment: Appointment) -> Appointment:
    return appointment_store.get_appointment(conn, appointment.id)


def count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


# booking ----------------------------------------------------------------------------------


def test_a_booking_reads_back_in_clinic_time(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    made = book(conn, clinic, "10:00", service=1)
    assert (made.starts_at, made.ends_at, made.date) == (
        f"{DAY}T10:00:00+05:30",
        f"{DAY}T10:30:00+05:30",
        DAY.isoformat(),
    )
    assert (made.status, made.source, made.patient_phone) == (Status.CONFIRMED, Source.STAFF, PHONE)
    assert [(e.kind, e.from_status, e.to_status) for e in events(conn, made)] == [
        ("created", None, Status.CONFIRMED)
    ]


def test_a_time_with_another_offset_is_the_same_instant(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    with transaction(conn):
        made = booking.book(
            conn,
            AppointmentCreate(
                clinic_id=clinic.id,
                doctor_id=clinic.doctor,
                service_id=clinic.service,
                starts_at=f"{DAY}T04:30:00+00:00",
                patient_phone=PHONE,
            ),
            NOW,
        )
    assert made.starts_at == f"{DAY}T10:00:00+05:30"


def test_an_overlapping_second_booking_is_slot_taken(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    book(conn, clinic, "10:00", service=1)  # 10:00–10:30
    for clock, service in (("10:00", 0), ("10:15", 0), ("09:45", 1), ("10:29", 0)):
        with pytest.raises(SlotTaken):
            book(conn, clinic, clock, service=service, phone="+919876500001")
    assert count(conn, "appointments") == 1
    assert count(conn, "patients") == 1  # the failed bookings created nobody


def test_adjacent_bookings_and_other_doctors_are_fine(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    book(conn, clinic, "10:00", service=1)
    book(conn, clinic, "09:30", service=1)
    book(conn, clinic, "10:30", service=0)
    book(conn, clinic, "10:00", service=1, doctor=1)
    assert count(conn, "appointments") == 4


@pytest.mark.parametrize(
    ("clock", "service", "day_offset"),
    [
        ("08:45", 0, 0),  # before opening
        ("18:00", 0, 0),  # after closing
        ("17:45", 1, 0),  # would end after closing
        ("13:00", 0, 0),  # in the lunch break
        ("12:50", 0, 0),  # straddles the lunch break
        ("10:00", 0, -1),  # Sunday
    ],
)
def test_outside_working_hours_is_invalid_starts_at(
    conn: sqlite3.Connection, clinic: MadeClinic, clock: str, service: int, day_offset: int
) -> None:
    with pytest.raises(InvalidInput) as caught:
        book(conn, clinic, clock, service=service, day=DAY + timedelta(days=day_offset))
    assert caught.value.field == "starts_at"
    assert count(conn, "appointments") == 0


@pytest.mark.parametrize("doctor_id", [True, False], ids=["leave", "clinic-holiday"])
def test_on_leave_is_invalid_starts_at(
    conn: sqlite3.Connection, clinic: MadeClinic, doctor_id: bool
) -> None:
    with transaction(conn):
        setup.create_time_off(
            conn,
            TimeOffCreate(
                clinic_id=clinic.id,
                doctor_id=clinic.doctor if doctor_id else None,
                starts_at=f"{DAY}T11:00",
                ends_at=f"{DAY}T12:00",
            ),
        )
    with pytest.raises(InvalidInput) as caught:
        book(conn, clinic, "11:50", service=1)
    assert caught.value.field == "starts_at"
    book(conn, clinic, "10:30", service=1)  # ends as the leave starts
    book(conn, clinic, "12:00", service=1)


def test_an_inactive_doctor_takes_no_bookings(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    with transaction(conn):
        setup.update_doctor(conn, clinic.doctor, DoctorUpdate(active=False), NOW)
    with pytest.raises(InvalidInput) as caught:
        book(conn, clinic, "10:00")
    assert caught.value.field == "doctor_id"


def test_whatsapp_keeps_minimum_notice_staff_need_not(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    today = NOW.date()
    with pytest.raises(InvalidInput) as caught:
        book(conn, clinic, "10:45", day=today, source=Source.WHATSAPP)
    assert caught.value.field == "starts_at"
    made = book(conn, clinic, "11:00", day=today, source=Source.WHATSAPP)
    assert made.source == Source.WHATSAPP
    walk_in = book(conn, clinic, "10:15", day=today, source=Source.WALK_IN)
    assert walk_in.source == Source.WALK_IN
    book(conn, clinic, "10:30", day=today, source=Source.STAFF)


def _working_day_after(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() == 6:
        day += timedelta(days=1)
    return day


def test_whatsapp_keeps_the_horizon_staff_need_not(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    last_day = NOW.date() + timedelta(days=60)  # make_clinic_db's horizon
    while last_day.weekday() == 6:
        last_day -= timedelta(days=1)
    beyond = _working_day_after(NOW.date() + timedelta(days=60))
    book(conn, clinic, "10:00", day=last_day, source=Source.WHATSAPP)
    with pytest.raises(InvalidInput) as caught:
        book(conn, clinic, "10:00", day=beyond, source=Source.WHATSAPP)
    assert caught.value.field == "starts_at"
    book(conn, clinic, "10:00", day=beyond, source=Source.STAFF)


def test_staff_cannot_book_more_than_twelve_hours_in_the_past(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    book(conn, clinic, "09:00", day=NOW.date())  # an hour ago: a walk-in entered late
    yesterday = NOW.date() - timedelta(days=1)
    with pytest.raises(InvalidInput) as caught:
        book(conn, clinic, "09:00", day=yesterday)
    assert caught.value.field == "starts_at"
    assert count(conn, "appointments") == 1


def test_a_phone_makes_one_patient_in_any_form(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    first = book(conn, clinic, "10:00", phone="98765 43210", name="Asha Verma")
    second = book(conn, clinic, "11:00", phone="+91-98765-43210", name=None)
    third = book(conn, clinic, "12:00", phone="919876543210", name="A. Verma")
    assert first.patient_id is not None
    assert first.patient_id == second.patient_id == third.patient_id
    assert count(conn, "patients") == 1
    patient = get_patient(conn, first.patient_id)
    assert (patient.phone, patient.name, patient.clinic_id) == (PHONE, "Asha Verma", clinic.id)
    assert [a.patient_phone for a in (first, second, third)] == [PHONE] * 3
    assert [a.patient_name for a in (first, second, third)] == [
        "Asha Verma",
        "Asha Verma",
        "A. Verma",
    ]


def test_the_same_phone_at_two_clinics_is_two_patients(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    other = make_clinic_db(conn, NOW)
    here = book(conn, clinic, "10:00")
    there = book(conn, other, "10:00")
    assert here.patient_id != there.patient_id
    assert count(conn, "patients") == 2


def test_a_blank_name_falls_back_to_the_patients_name(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    first = book(conn, clinic, "10:00", name="Asha Verma")
    again = book(conn, clinic, "11:00", name="   ")
    assert again.patient_name == "Asha Verma"
    assert again.patient_id == first.patient_id


def test_a_booking_without_phone_or_patient_is_invalid(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    with pytest.raises(InvalidInput) as caught:
        book(conn, clinic, "10:00", phone=None)
    assert caught.value.field == "patient_phone"
    with pytest.raises(InvalidInput) as caught:
        book(conn, clinic, "10:00", phone="12345")
    assert caught.value.field == "patient_phone"
    assert count(conn, "appointments") == 0


def test_a_booking_by_patient_id(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    with transaction(conn):
        patient = create_patient(
            conn, PatientCreate(clinic_id=clinic.id, name="Ravi", phone="98111 22233"), NOW
        )
    made = book(conn, clinic, "10:00", phone=None, name=None, patient_id=patient.id)
    assert (made.patient_id, made.patient_name, made.patient_phone) == (
        patient.id,
        "Ravi",
        "+919811122233",
    )


def test_a_patient_of_another_clinic_is_not_found(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    other = make_clinic_db(conn, NOW)
    with transaction(conn):
        stranger = create_patient(
            conn, PatientCreate(clinic_id=other.id, name="Ravi", phone="98111 22233"), NOW
        )
    with pytest.raises(NotFound) as caught:
        book(conn, clinic, "10:00", phone=None, patient_id=stranger.id)
    assert caught.value.field == "patient_id"
    assert count(conn, "appointments") == 0


def test_a_doctor_of_another_clinic_is_not_found(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    other = make_clinic_db(conn, NOW)
    mixed = MadeClinic(clinic.id, other.doctor_ids, clinic.service_ids)
    with pytest.raises(NotFound) as caught:
        book(conn, mixed, "10:00")
    assert caught.value.field == "doctor_id"


# status changes ---------------------------------------------------------------------------


def test_cancelling_frees_the_slot_at_once(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    first = book(conn, clinic, "10:00")
    cancelled = set_status(conn, first, Status.CANCELLED, reason="travelling")
    assert (cancelled.status, cancelled.cancellation_reason) == (Status.CANCELLED, "travelling")
    second = book(conn, clinic, "10:00", phone="+919876500001")
    assert second.status == Status.CONFIRMED


def test_uncancelling_a_retaken_slot_is_slot_taken(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    first = book(conn, clinic, "10:00")
    set_status(conn, first, Status.CANCELLED)
    book(conn, clinic, "10:00", phone="+919876500001")
    before = events(conn, first)
    with pytest.raises(SlotTaken):
        set_status(conn, first, Status.CONFIRMED)
    assert read(conn, first).status == Status.CANCELLED
    assert events(conn, first) == before
    assert get_patient(conn, str(first.patient_id)).total_cancellations == 1


def test_uncancelling_a_free_slot_holds_it_again(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    first = book(conn, clinic, "10:00")
    set_status(conn, first, Status.CANCELLED, reason="travelling")
    back = set_status(conn, first, Status.CONFIRMED)
    assert (back.status, back.cancellation_reason) == (Status.CONFIRMED, None)
    with pytest.raises(SlotTaken):
        book(conn, clinic, "10:00", phone="+919876500001")


def test_every_status_change_is_audited(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    made = book(conn, clinic, "10:00")
    set_status(conn, made, Status.ARRIVED, actor="reception")
    set_status(conn, made, Status.COMPLETED, actor="dr.test")
    set_status(conn, made, Status.COMPLETED, actor="dr.test")  # no change, no event
    set_status(conn, made, Status.CONFIRMED, actor="owner")  # a correction
    set_status(conn, made, Status.COMPLETED, actor="owner")  # confirmed -> completed skips arrived
    set_status(conn, made, Status.NO_SHOW, actor="owner")
    got = [(e.kind, e.actor, e.from_status, e.to_status, e.detail) for e in events(conn, made)]
    assert got == [
        ("created", "staff", None, Status.CONFIRMED, "staff"),
        ("status", "reception", Status.CONFIRMED, Status.ARRIVED, ""),
        ("status", "dr.test", Status.ARRIVED, Status.COMPLETED, ""),
        ("status", "owner", Status.COMPLETED, Status.CONFIRMED, "correction"),
        ("status", "owner", Status.CONFIRMED, Status.COMPLETED, "correction"),
        ("status", "owner", Status.COMPLETED, Status.NO_SHOW, "correction"),
    ]
    assert all(e.at == "2026-03-03T04:30:00+00:00" for e in events(conn, made))


def test_the_normal_flow_is_not_a_correction(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    flows = [
        [Status.ARRIVED, Status.COMPLETED],
        [Status.ARRIVED, Status.CANCELLED],
        [Status.ARRIVED, Status.NO_SHOW],
        [Status.CANCELLED],
        [Status.NO_SHOW],
    ]
    for i, flow in enumerate(flows):
        made = book(conn, clinic, f"{9 + i // 2:02d}:{30 * (i % 2):02d}")
        for status in flow:
            set_status(conn, made, status)
        details = [e.detail for e in events(conn, made) if e.kind == "status"]
        assert details == [""] * len(flow)


def test_status_changes_move_the_patients_counters(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    visit = book(conn, clinic, "10:00")
    later = book(conn, clinic, "10:00", day=DAY + timedelta(days=1))
    set_status(conn, visit, Status.COMPLETED)
    set_status(conn, later, Status.COMPLETED)
    patient = get_patient(conn, str(visit.patient_id))
    assert (patient.total_visits, patient.first_visit_date, patient.last_visit_date) == (
        2,
        DAY.isoformat(),
        (DAY + timedelta(days=1)).isoformat(),
    )
    set_status(conn, later, Status.CONFIRMED)  # corrected: it has not happened
    set_status(conn, visit, Status.NO_SHOW)
    patient = get_patient(conn, str(visit.patient_id))
    assert (
        patient.total_visits,
        patient.total_no_shows,
        patient.first_visit_date,
        patient.last_visit_date,
    ) == (0, 1, None, None)


def test_an_unknown_appointment_is_not_found(conn: sqlite3.Connection) -> None:
    with pytest.raises(NotFound), transaction(conn):
        booking.set_status(conn, "no-such-id", Status.CANCELLED, NOW)


# reschedule -------------------------------------------------------------------------------


def test_reschedule_to_a_free_time_is_audited(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    made = book(conn, clinic, "10:00")
    moved = reschedule(conn, made, "11:30")
    assert (moved.starts_at, moved.ends_at, moved.status) == (
        f"{DAY}T11:30:00+05:30",
        f"{DAY}T11:45:00+05:30",
        Status.CONFIRMED,
    )
    last = events(conn, made)[-1]
    assert (last.kind, last.from_status, last.to_status) == (
        "reschedule",
        Status.CONFIRMED,
        Status.CONFIRMED,
    )
    assert last.detail == f"{DAY}T10:00:00+05:30 -> {DAY}T11:30:00+05:30"
    book(conn, clinic, "10:00", phone="+919876500001")  # the old time is free again
    with pytest.raises(SlotTaken):
        book(conn, clinic, "11:30", phone="+919876500002")


def test_reschedule_to_another_day_moves_the_date(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    made = book(conn, clinic, "10:00")
    moved = reschedule(conn, made, "16:00", day=DAY + timedelta(days=2))
    assert moved.date == (DAY + timedelta(days=2)).isoformat()


def test_reschedule_may_overlap_its_own_old_time(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    made = book(conn, clinic, "10:00", service=1)
    assert reschedule(conn, made, "10:15").starts_at == f"{DAY}T10:15:00+05:30"


def test_reschedule_onto_another_appointment_is_slot_taken(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    book(conn, clinic, "10:00")
    other = book(conn, clinic, "11:00", phone="+919876500001")
    for clock in ("10:00", "09:50", "10:10"):
        with pytest.raises(SlotTaken):
            reschedule(conn, other, clock)
    assert read(conn, other).starts_at == f"{DAY}T11:00:00+05:30"
    assert [e.kind for e in events(conn, other)] == ["created"]


def test_reschedule_to_another_doctor(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    book(conn, clinic, "10:00", doctor=1)
    made = book(conn, clinic, "10:00", phone="+919876500001")
    with pytest.raises(SlotTaken):
        reschedule(conn, made, "10:00", doctor_id=clinic.doctor_ids[1])
    moved = reschedule(conn, made, "11:00", doctor_id=clinic.doctor_ids[1])
    assert moved.doctor_id == clinic.doctor_ids[1]
    book(conn, clinic, "10:00", phone="+919876500002")  # the first doctor is free again


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW])
def test_a_finished_appointment_cannot_be_moved(
    conn: sqlite3.Connection, clinic: MadeClinic, status: Status
) -> None:
    made = book(conn, clinic, "10:00")
    set_status(conn, made, status)
    with pytest.raises(InvalidInput) as caught:
        reschedule(conn, made, "11:00")
    assert caught.value.field == "starts_at"
    assert read(conn, made).starts_at == f"{DAY}T10:00:00+05:30"


def test_an_arrived_appointment_can_be_moved(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    made = book(conn, clinic, "10:00")
    set_status(conn, made, Status.ARRIVED)
    assert reschedule(conn, made, "10:30").status == Status.ARRIVED


def test_reschedule_outside_hours_is_invalid(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    made = book(conn, clinic, "10:00")
    with pytest.raises(InvalidInput) as caught:
        reschedule(conn, made, "13:15")
    assert caught.value.field == "starts_at"


# update_appointment: a staff PATCH ---------------------------------------------------------


def test_a_patch_moves_changes_status_and_notes_together(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    made = book(conn, clinic, "10:00")
    with transaction(conn):
        patched = booking.update_appointment(
            conn,
            made.id,
            AppointmentUpdate(status=Status.ARRIVED, starts_at=f"{DAY}T10:30", notes="fever"),
            NOW,
            actor="reception",
        )
    assert (patched.starts_at, patched.status, patched.notes) == (
        f"{DAY}T10:30:00+05:30",
        Status.ARRIVED,
        "fever",
    )
    assert [(e.kind, e.actor) for e in events(conn, made)][1:] == [
        ("reschedule", "reception"),
        ("status", "reception"),
        ("edit", "reception"),
    ]


def test_a_failing_patch_changes_nothing(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    book(conn, clinic, "11:00", phone="+919876500001")
    made = book(conn, clinic, "10:00")
    with pytest.raises(SlotTaken), transaction(conn):
        booking.update_appointment(
            conn,
            made.id,
            AppointmentUpdate(starts_at=f"{DAY}T11:00", status=Status.ARRIVED, notes="x"),
            NOW,
        )
    assert read(conn, made) == made
    assert len(events(conn, made)) == 1


def test_a_patch_cancelling_with_a_reason(conn: sqlite3.Connection, clinic: MadeClinic) -> None:
    made = book(conn, clinic, "10:00")
    with transaction(conn):
        patched = booking.update_appointment(
            conn,
            made.id,
            AppointmentUpdate(status=Status.CANCELLED, cancellation_reason="unwell"),
            NOW,
        )
    assert (patched.status, patched.cancellation_reason) == (Status.CANCELLED, "unwell")
    kinds = [(e.kind, e.detail) for e in events(conn, made)]
    assert kinds == [("created", "staff"), ("status", "unwell")]


# the database's own guard ------------------------------------------------------------------


def _raw_copy(
    conn: sqlite3.Connection, appointment: Appointment, *, shift_minutes: int, status: str
) -> dict[str, object]:
    row = dict(conn.execute("SELECT * FROM appointments WHERE id = ?", [appointment.id]).fetchone())
    shift = shift_minutes * 60
    row.update(
        id=f"raw-{shift_minutes}-{status}",
        start_ts=int(str(row["start_ts"])) + shift,
        end_ts=int(str(row["end_ts"])) + shift,
        status=status,
    )
    return row


def _raw_insert(conn: sqlite3.Connection, row: dict[str, object]) -> None:
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    conn.execute(f"INSERT INTO appointments ({columns}) VALUES ({marks})", list(row.values()))  # noqa: S608


def test_the_trigger_refuses_an_overlapping_insert(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    made = book(conn, clinic, "10:00", service=1)  # 10:00–10:30
    for shift, status in ((0, "confirmed"), (20, "arrived"), (-10, "completed"), (29, "no_show")):
        with pytest.raises(sqlite3.IntegrityError, match="slot_taken"):
            _raw_insert(conn, _raw_copy(conn, made, shift_minutes=shift, status=status))
    _raw_insert(conn, _raw_copy(conn, made, shift_minutes=30, status="confirmed"))
    _raw_insert(conn, _raw_copy(conn, made, shift_minutes=-30, status="confirmed"))
    _raw_insert(conn, _raw_copy(conn, made, shift_minutes=0, status="cancelled"))
    assert count(conn, "appointments") == 4


def test_the_trigger_refuses_an_update_that_overlaps(
    conn: sqlite3.Connection, clinic: MadeClinic
) -> None:
    made = book(conn, clinic, "10:00", service=1)
    later = book(conn, clinic, "11:00", service=1, phone="+919876500001")
    with pytest.raises(sqlite3.IntegrityError, match="slot_taken"):
        conn.execute(
            "UPDATE appointments SET start_ts = start_ts - 3600, end_ts = end_ts - 3600"
            " WHERE id = ?",
            [later.id],
        )
    other_doctor = clinic.doctor_ids[1]
    conn.execute("UPDATE appointments SET doctor_id = ? WHERE id = ?", [other_doctor, later.id])
    conn.execute(
        "UPDATE appointments SET start_ts = start_ts - 3600, end_ts = end_ts - 3600 WHERE id = ?",
        [later.id],
    )
    with pytest.raises(sqlite3.IntegrityError, match="slot_taken"):
        conn.execute(
            "UPDATE appointments SET doctor_id = ? WHERE id = ?", [clinic.doctor, later.id]
        )
    conn.execute("UPDATE appointments SET status = 'cancelled' WHERE id = ?", [made.id])
    conn.execute("UPDATE appointments SET doctor_id = ? WHERE id = ?", [clinic.doctor, later.id])
    with pytest.raises(sqlite3.IntegrityError, match="slot_taken"):
        conn.execute("UPDATE appointments SET status = 'confirmed' WHERE id = ?", [made.id])
    assert read(conn, made).status == Status.CANCELLED
