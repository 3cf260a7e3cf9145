"""Patients: creation (from staff or a first WhatsApp message), edits, and their counters."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

from clinicbot.domain import ClinicStats, Patient, PatientCreate, PatientUpdate
from clinicbot.errors import Conflict, InvalidInput
from clinicbot.phones import normalize_phone
from clinicbot.scheduling import months_before
from clinicbot.store import patients as store
from clinicbot.store.clinics import get_clinic, update_row
from clinicbot.store.rows import new_id, set_fields, stamp


def _insert(
    conn: sqlite3.Connection,
    clinic_id: str,
    name: str,
    phone: str,
    whatsapp_name: str | None,
    now: datetime,
    *,
    simulated: bool = False,
) -> Patient:
    at = stamp(now)
    patient_id = new_id()
    conn.execute(
        "INSERT INTO patients (id, clinic_id, name, phone, whatsapp_name, created_at, updated_at,"
        " simulated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [patient_id, clinic_id, name.strip(), phone, whatsapp_name, at, at, int(simulated)],
    )
    return store.get_patient(conn, patient_id)


def create_patient(conn: sqlite3.Connection, data: PatientCreate, now: datetime) -> Patient:
    clinic = get_clinic(conn, data.clinic_id)
    phone = normalize_phone(data.phone, clinic.country)
    existing = store.find_by_phone(conn, clinic.id, phone)
    if existing is not None:
        raise Conflict(f"{phone} is already a patient of this clinic.", field="phone")
    return _insert(conn, clinic.id, data.name, phone, data.whatsapp_name, now)


def get_or_create_patient(
    conn: sqlite3.Connection,
    clinic_id: str,
    phone: str,
    now: datetime,
    *,
    name: str | None = None,
    whatsapp_name: str | None = None,
) -> Patient:
    """The patient with this phone at this clinic, created on first contact.

    A first WhatsApp message has only the profile name: it becomes the patient's name
    until staff correct it; a later, different profile name is kept as ``whatsapp_name``.
    """
    clinic = get_clinic(conn, clinic_id)
    e164 = normalize_phone(phone, clinic.country)
    existing = store.find_by_phone(conn, clinic.id, e164)
    if existing is None:
        display = (name or whatsapp_name or "").strip() or e164
        return _insert(conn, clinic.id, display, e164, whatsapp_name, now)
    if whatsapp_name and whatsapp_name != existing.whatsapp_name:
        update_row(
            conn,
            "patients",
            existing.id,
            {"whatsapp_name": whatsapp_name, "updated_at": stamp(now)},
        )
        return store.get_patient(conn, existing.id)
    return existing


def update_patient(
    conn: sqlite3.Connection, patient_id: str, patch: PatientUpdate, now: datetime
) -> Patient:
    patient = store.get_patient(conn, patient_id)
    values = set_fields(patch)
    if "phone" in values:
        clinic = get_clinic(conn, patient.clinic_id)
        phone = normalize_phone(str(values["phone"]), clinic.country)
        other = store.find_by_phone(conn, patient.clinic_id, phone)
        if other is not None and other.id != patient.id:
            raise Conflict(f"{phone} is already another patient of this clinic.", field="phone")
        values["phone"] = phone
    if "name" in values:
        values["name"] = str(values["name"]).strip()
    if values:
        values["updated_at"] = stamp(now)
        update_row(conn, "patients", patient.id, values)
    return store.get_patient(conn, patient.id)


def update_patient_stats(conn: sqlite3.Connection, patient_id: str, now: datetime) -> None:
    """Make the patient's counters and visit dates equal what their appointments say."""
    counted = store.recount(conn, patient_id)
    current = conn.execute(
        "SELECT total_visits, total_cancellations, total_no_shows, first_visit_date,"
        " last_visit_date FROM patients WHERE id = ?",
        [patient_id],
    ).fetchone()
    if current is not None and dict(current) != counted:
        update_row(conn, "patients", patient_id, {**counted, "updated_at": stamp(now)})


def clinic_stats(conn: sqlite3.Connection, clinic_id: str, now: datetime) -> ClinicStats:
    clinic = get_clinic(conn, clinic_id)
    local_now = now.astimezone(ZoneInfo(clinic.timezone))
    month_start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return store.clinic_stats(
        conn,
        clinic.id,
        month_start=stamp(month_start),
        active_since=months_before(local_now.date(), 12),
        now_ts=int(now.timestamp()),
    )


def whatsapp_patient(
    conn: sqlite3.Connection,
    clinic_id: str,
    *,
    wa_id: str | None,
    user_id: str | None,
    profile_name: str | None,
    now: datetime,
    simulated: bool = False,
) -> Patient:
    """The patient behind a WhatsApp sender, created on their first message.

    A sender WhatsApp names only by a business-scoped id (no phone number) is kept under
    that id in place of a phone until staff add the number; a wa_id that phonenumbers does
    not know is kept as ``+<digits>`` rather than refusing the patient.
    """
    if wa_id:
        clinic = get_clinic(conn, clinic_id)
        try:
            phone = normalize_phone("+" + wa_id, clinic.country)
        except InvalidInput:
            phone = "+" + "".join(ch for ch in wa_id if ch.isdigit())[:20]
    elif user_id:
        phone = user_id[:64]
    else:
        raise InvalidInput("A WhatsApp sender without an id.", field="from")
    existing = store.find_by_phone(conn, clinic_id, phone)
    if existing is None:
        display = (profile_name or "").strip()[:120] or phone
        return _insert(conn, clinic_id, display, phone, profile_name, now, simulated=simulated)
    if profile_name and profile_name != existing.whatsapp_name:
        update_row(
            conn, "patients", existing.id, {"whatsapp_name": profile_name, "updated_at": stamp(now)}
        )
        return store.get_patient(conn, existing.id)
    return existing
