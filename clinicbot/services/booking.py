"""Booking: free slots, book, reschedule, status changes, each audited and counted."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinicbot.domain import (
    NORMAL_TRANSITIONS,
    Appointment,
    AppointmentCreate,
    AppointmentUpdate,
    Clinic,
    Doctor,
    Service,
    Source,
    Status,
)
from clinicbot.errors import InvalidInput, NotFound, SlotTaken
from clinicbot.phones import normalize_phone
from clinicbot.scheduling import (
    DaySchedule,
    Span,
    booking_problem,
    check_day,
    day_bounds,
    free_slots,
    from_ts,
    is_taken,
    parse_when,
    shift,
)
from clinicbot.services.patients import get_or_create_patient, update_patient_stats
from clinicbot.store import appointments as store
from clinicbot.store import clinics as setup
from clinicbot.store.patients import get_patient
from clinicbot.store.rows import new_id, set_fields, stamp


def load_day(
    conn: sqlite3.Connection,
    clinic: Clinic,
    doctor_id: str,
    day: date,
    *,
    ignore_id: str | None = None,
) -> DaySchedule:
    """Everything that decides a doctor's free time on one clinic-local day."""
    tz = ZoneInfo(clinic.timezone)
    start, end = day_bounds(day, tz)
    start_ts, end_ts = int(start.timestamp()), int(end.timestamp())

    def spans(pairs: list[tuple[int, int]]) -> list[Span]:
        return [(from_ts(a, tz), from_ts(b, tz)) for a, b in pairs]

    return DaySchedule(
        day=day,
        tz=tz,
        working=setup.day_hours(conn, doctor_id, day.weekday()),
        off=spans(setup.time_off_spans(conn, clinic.id, doctor_id, start_ts, end_ts)),
        taken=spans(store.taken_spans(conn, doctor_id, start_ts, end_ts, ignore_id=ignore_id)),
    )


def _offering(
    conn: sqlite3.Connection, clinic: Clinic, doctor_id: str, service_id: str
) -> tuple[Doctor, Service]:
    """The doctor and the service, checked to belong to the clinic and to go together."""
    doctor = setup.get_doctor(conn, doctor_id)
    if doctor.clinic_id != clinic.id:
        raise NotFound("No doctor with that id at this clinic.", field="doctor_id")
    service = setup.get_service(conn, service_id)
    if service.clinic_id != clinic.id:
        raise NotFound("No service with that id at this clinic.", field="service_id")
    if not setup.doctor_offers(conn, service, doctor.id):
        raise InvalidInput(f"{doctor.name} does not offer {service.name}.", field="service_id")
    return doctor, service


def doctor_slots(
    conn: sqlite3.Connection,
    doctor_id: str,
    day: date,
    service_id: str,
    now: datetime,
    *,
    staff: bool = False,
) -> list[Span]:
    """Free slots a patient (or, with ``staff``, the front desk) could book with this
    doctor, on this day, for this service."""
    check_day(day, field="date")
    doctor = setup.get_doctor(conn, doctor_id)
    clinic = setup.get_clinic(conn, doctor.clinic_id)
    doctor, service = _offering(conn, clinic, doctor_id, service_id)
    if not doctor.active or not service.active:
        return []
    schedule = load_day(conn, clinic, doctor.id, day)
    duration = timedelta(minutes=service.duration_minutes)
    return free_slots(schedule, duration, clinic.rules, now, staff=staff)


def _check_time(
    conn: sqlite3.Connection,
    clinic: Clinic,
    doctor: Doctor,
    span: Span,
    now: datetime,
    *,
    patient_rules: bool,
    ignore_id: str | None = None,
) -> None:
    if not doctor.active:
        raise InvalidInput(f"{doctor.name} is not taking appointments.", field="doctor_id")
    start, end = span
    day = start.astimezone(ZoneInfo(clinic.timezone)).date()
    schedule = load_day(conn, clinic, doctor.id, day, ignore_id=ignore_id)
    problem = booking_problem(start, end, schedule, clinic.rules, now, patient_rules=patient_rules)
    if problem:
        raise InvalidInput(problem, field="starts_at")
    if is_taken(start, end, schedule):
        raise SlotTaken(f"{doctor.name} already has an appointment at that time.")


def check_free(
    conn: sqlite3.Connection, doctor_id: str, start: datetime, minutes: int, now: datetime
) -> None:
    """InvalidInput or SlotTaken unless a patient could book this time now."""
    doctor = setup.get_doctor(conn, doctor_id)
    clinic = setup.get_clinic(conn, doctor.clinic_id)
    _check_time(conn, clinic, doctor, (start, shift(start, minutes)), now, patient_rules=True)


def _times(clinic: Clinic, start: datetime, minutes: int) -> dict[str, object]:
    local = start.astimezone(ZoneInfo(clinic.timezone))
    end = shift(local, minutes)
    return {
        "starts_at": local.isoformat(),
        "ends_at": end.isoformat(),
        "start_ts": int(local.timestamp()),
        "end_ts": int(end.timestamp()),
        "date": local.date().isoformat(),
    }


def book(
    conn: sqlite3.Connection,
    data: AppointmentCreate,
    now: datetime,
    *,
    actor: str = "staff",
    patient_rules: bool | None = None,
    simulated: bool = False,
) -> Appointment:
    """Book an appointment, creating the patient on first contact.

    Patients booking over WhatsApp also meet the minimum notice and the horizon.
    """
    clinic = setup.get_clinic(conn, data.clinic_id)
    doctor, service = _offering(conn, clinic, data.doctor_id, data.service_id)
    if not service.active:
        raise InvalidInput(f"{service.name} is not offered any more.", field="service_id")
    start = parse_when(data.starts_at, ZoneInfo(clinic.timezone))
    times = _times(clinic, start, service.duration_minutes)
    if patient_rules is None:
        patient_rules = data.source == Source.WHATSAPP
    span = (start, shift(start, service.duration_minutes))
    _check_time(conn, clinic, doctor, span, now, patient_rules=patient_rules)

    phone = (
        normalize_phone(data.patient_phone, clinic.country, field="patient_phone")
        if data.patient_phone is not None
        else None
    )
    if data.patient_id is not None:
        patient = get_patient(conn, data.patient_id)
        if patient.clinic_id != clinic.id:
            raise NotFound("No patient with that id at this clinic.", field="patient_id")
    elif phone is not None:
        patient = get_or_create_patient(conn, clinic.id, phone, now, name=data.patient_name)
    else:
        raise InvalidInput("Give the patient's phone (or patient_id).", field="patient_phone")

    appointment_id, at = new_id(), stamp(now)
    store.insert_appointment(
        conn,
        {
            "id": appointment_id,
            "clinic_id": clinic.id,
            "doctor_id": doctor.id,
            "service_id": service.id,
            "patient_id": patient.id,
            "patient_name": (data.patient_name or "").strip() or patient.name,
            "patient_phone": phone or patient.phone,
            **times,
            "status": Status.CONFIRMED.value,
            "source": data.source.value,
            "notes": data.notes,
            "simulated": int(simulated),
            "created_at": at,
            "updated_at": at,
        },
    )
    store.add_event(
        conn,
        appointment_id,
        at=at,
        actor=actor,
        kind="created",
        to_status=Status.CONFIRMED.value,
        detail=data.source.value,
    )
    return store.get_appointment(conn, appointment_id)


def set_status(
    conn: sqlite3.Connection,
    appointment_id: str,
    status: Status,
    now: datetime,
    *,
    actor: str = "staff",
    reason: str | None = None,
) -> Appointment:
    """Move an appointment to ``status``; anything outside the normal flow is a correction.

    Bringing back a cancelled appointment needs its time to be free again (else SlotTaken).
    """
    current = store.get_appointment(conn, appointment_id)
    if current.status == status:
        return current
    correction = status not in NORMAL_TRANSITIONS[current.status]
    at = stamp(now)
    values: dict[str, object] = {
        "status": status.value,
        "updated_at": at,
        # A reason belongs to a cancellation; bringing the appointment back clears it.
        "cancellation_reason": reason if status == Status.CANCELLED else None,
    }
    store.update_appointment(conn, appointment_id, values)
    store.add_event(
        conn,
        appointment_id,
        at=at,
        actor=actor,
        kind="status",
        from_status=current.status.value,
        to_status=status.value,
        detail="correction" if correction else (reason or ""),
    )
    if current.patient_id is not None:
        update_patient_stats(conn, current.patient_id, now)
    return store.get_appointment(conn, appointment_id)


def reschedule(
    conn: sqlite3.Connection,
    appointment_id: str,
    starts_at: str,
    now: datetime,
    *,
    doctor_id: str | None = None,
    actor: str = "staff",
    patient_rules: bool = False,
) -> Appointment:
    """Move a booked appointment to another time (and optionally another doctor)."""
    current = store.get_appointment(conn, appointment_id)
    if current.status not in (Status.CONFIRMED, Status.ARRIVED):
        raise InvalidInput(
            f"A {current.status.value.replace('_', '-')} appointment cannot be moved.",
            field="starts_at",
        )
    clinic = setup.get_clinic(conn, current.clinic_id)
    doctor, service = _offering(conn, clinic, doctor_id or current.doctor_id, current.service_id)
    start = parse_when(starts_at, ZoneInfo(clinic.timezone))
    span = (start, shift(start, service.duration_minutes))
    _check_time(
        conn, clinic, doctor, span, now, patient_rules=patient_rules, ignore_id=appointment_id
    )
    at = stamp(now)
    times = _times(clinic, start, service.duration_minutes)
    store.update_appointment(
        conn, appointment_id, {**times, "doctor_id": doctor.id, "updated_at": at}
    )
    store.add_event(
        conn,
        appointment_id,
        at=at,
        actor=actor,
        kind="reschedule",
        from_status=current.status.value,
        to_status=current.status.value,
        detail=f"{current.starts_at} -> {times['starts_at']}",
    )
    return store.get_appointment(conn, appointment_id)


def update_appointment(
    conn: sqlite3.Connection,
    appointment_id: str,
    patch: AppointmentUpdate,
    now: datetime,
    *,
    actor: str = "staff",
) -> Appointment:
    """A staff PATCH: any mix of reschedule, status change and notes, all or nothing."""
    values = set_fields(patch)
    appointment = store.get_appointment(conn, appointment_id)
    if "starts_at" in values or "doctor_id" in values:
        appointment = reschedule(
            conn,
            appointment_id,
            str(values.get("starts_at", appointment.starts_at)),
            now,
            doctor_id=patch.doctor_id if isinstance(patch.doctor_id, str) else None,
            actor=actor,
        )
    if isinstance(patch.status, Status):
        reason = patch.cancellation_reason if isinstance(patch.cancellation_reason, str) else None
        appointment = set_status(
            conn, appointment_id, patch.status, now, actor=actor, reason=reason
        )
    # With a status change, the reason went in with it; otherwise it is an edit of its own.
    editable = ("notes",) if "status" in values else ("notes", "cancellation_reason")
    edits: dict[str, object] = {k: values[k] for k in editable if k in values}
    if edits:
        at = stamp(now)
        store.update_appointment(conn, appointment_id, {**edits, "updated_at": at})
        store.add_event(
            conn, appointment_id, at=at, actor=actor, kind="edit", detail=", ".join(sorted(edits))
        )
        appointment = store.get_appointment(conn, appointment_id)
    return appointment
