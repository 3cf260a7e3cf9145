"""Erasing a patient on request: afterwards no byte of their name, number or messages is
left in the database file, its WAL or the session store, while the clinic's anonymous
counts are exactly what they were.

The patient is made the real way: WhatsApp messages over signed webhooks (the fake Graph
API answers and sends delivery statuses), a call event naming their number, bookings and
status changes by staff, a name corrected by staff (so an old copy of the name once sat in
the file), and a bot session in diskcache.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from clinicbot.db.database import transaction
from clinicbot.errors import Conflict
from clinicbot.services import erasure
from clinicbot.services.patients import get_or_create_patient
from tests.factories import make_clinic_db
from tests.fakes.whatsapp import FakeWhatsApp
from tests.whatsapp_flow import Clinic, Patient, close_clinic, open_clinic

JSON = dict[str, Any]
DOCTOR, SERVICE = "Dr. Anil Sharma", "General Consultation"
PEOPLE_COUNTS = ("total_patients", "new_patients_this_month", "active_patients")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    with FakeWhatsApp(status_delay=0.01, webhook_retry=(0.05, 0.5)) as fake:
        opened = open_clinic(tmp_path_factory.mktemp("erasure"), fake)
        yield opened
        close_clinic(opened)


def _book(clinic: Clinic, patient: Patient, at: datetime) -> JSON:
    made: JSON = clinic.post(
        "/api/v1/appointments",
        {
            "clinic_id": clinic.id,
            "doctor_id": clinic.doctor_id(DOCTOR),
            "service_id": clinic.service_id(SERVICE),
            "patient_id": patient.id,
            "patient_name": patient.name,
            "patient_phone": patient.phone,
            "starts_at": at.isoformat(),
            "notes": f"{patient.name} prefers mornings",
        },
        status=201,
    )
    return made


def _free_times(clinic: Clinic, count: int) -> list[datetime]:
    """The first ``count`` free starts of the doctor, none overlapping another."""
    service_minutes = int(clinic.services[SERVICE]["duration_minutes"])
    found: list[datetime] = []
    day = clinic.now().date()
    while len(found) < count:
        for start in clinic.free_starts(DOCTOR, SERVICE, day):
            if not found or start >= found[-1] + timedelta(minutes=service_minutes):
                found.append(start)
        day += timedelta(days=1)
    return found[:count]


def _status(clinic: Clinic, appointment: JSON, status: str) -> None:
    r = clinic.api.patch(f"/api/v1/appointments/{appointment['id']}", json={"status": status})
    assert r.status_code == 200, r.text


def _counts(clinic: Clinic) -> tuple[JSON, JSON]:
    today = clinic.now().date()
    analytics = clinic.get(
        "/api/v1/analytics",
        clinic_id=clinic.id,
        date_from=(today - timedelta(days=400)).isoformat(),
        date_to=(today + timedelta(days=60)).isoformat(),
    )
    stats = clinic.get(f"/api/v1/patients/stats/clinic/{clinic.id}")
    return analytics, stats


def _call_event(wa_id: str) -> JSON:
    """A webhook the app keeps as an event (a call), naming the patient's number."""
    value = {"messaging_product": "whatsapp", "calls": [{"id": "call-1", "from": wa_id}]}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba", "changes": [{"field": "calls", "value": value}]}],
    }


def _files(data_dir: Path) -> dict[str, bytes]:
    """The database, its WAL and everything in the session store."""
    found = {}
    for path in [data_dir / "clinicbot.db", data_dir / "clinicbot.db-wal"]:
        if path.exists():
            found[path.name] = path.read_bytes()
    for path in (data_dir / "sessions").rglob("*"):
        if path.is_file():
            found[str(path.relative_to(data_dir))] = path.read_bytes()
    return found


def _traces(data_dir: Path, needles: list[str]) -> list[tuple[str, str]]:
    found = []
    for name, data in _files(data_dir).items():
        for needle in needles:
            for encoded in {needle.encode(), needle.encode("utf-16-le")}:
                if encoded in data:
                    found.append((name, needle))
    return found


def test_erasure_leaves_no_trace_and_every_count(clinic: Clinic) -> None:
    patient = clinic.patient("Zebulon Quarrington")
    patient.hello(patient.lang)
    patient.says("Xylophonic ache in my left knee since Tuesday")
    delivery = clinic.fake.post_webhook(_call_event(patient.wa_id))
    assert delivery.done.wait(30) and delivery.attempts[-1] == 200
    data_dir = clinic.server.data_dir
    before = {needle for _, needle in _traces(data_dir, ["Zebulon", patient.wa_id, "Xylophonic"])}
    assert before == {"Zebulon", patient.wa_id, "Xylophonic"}, "the search must see them first"
    assert any(name.startswith("sessions") for name, _ in _traces(data_dir, [patient.wa_id])), (
        "the session store knows the number"
    )

    # Staff correct the name (the old one once sat in the file), book and settle visits.
    r = clinic.api.patch(f"/api/v1/patients/{patient.id}", json={"name": "Zebulon Q. Quarrington"})
    assert r.status_code == 200, r.text
    times = _free_times(clinic, 3)
    done = _book(clinic, patient, times[0])
    _status(clinic, done, "arrived")
    _status(clinic, done, "completed")
    missed = _book(clinic, patient, times[1])
    _status(clinic, missed, "no_show")
    upcoming = _book(clinic, patient, times[2])

    # An upcoming confirmed visit: refused, in words, and nothing changed.
    patient_id = patient.id
    r = clinic.api.post(f"/api/v1/patients/{patient_id}/erase", json={})
    assert r.status_code == 409, r.text
    assert "upcoming appointment" in r.json()["detail"]
    assert clinic.get(f"/api/v1/patients/{patient_id}")["name"] == "Zebulon Q. Quarrington"

    _status(clinic, upcoming, "completed")  # a staff correction: now nothing is upcoming
    analytics, stats = _counts(clinic)
    r = clinic.api.post(f"/api/v1/patients/{patient_id}/erase", json={"cancel_upcoming": False})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["appointments_kept"] == 3 and report["appointments_cancelled"] == 0
    assert report["messages_removed"] >= 4 and report["files_scrubbed"] is True
    assert "Backups" in report["backups_note"]

    # Every count of appointments is as it was; the counts of people (total, new this
    # month, active) have one patient fewer: the clinic no longer has them.
    after_analytics, after_stats = _counts(clinic)
    fewer = {k: stats[k] - 1 for k in PEOPLE_COUNTS}
    assert after_stats == {**stats, **fewer}
    assert after_analytics == {**analytics, "stats": {**analytics["stats"], **fewer}}
    assert clinic.api.get(f"/api/v1/patients/{patient_id}").status_code == 404
    kept = clinic.db.execute(
        "SELECT patient_name, patient_phone, notes, status FROM appointments WHERE id IN (?,?,?)",
        [done["id"], missed["id"], upcoming["id"]],
    ).fetchall()
    assert sorted(tuple(r) for r in kept) == [
        ("Erased patient", "", "", "completed"),
        ("Erased patient", "", "", "completed"),
        ("Erased patient", "", "", "no_show"),
    ]
    found = clinic.get("/api/v1/patients", clinic_id=clinic.id, q="Erased patient")
    assert found == [], "the anonymous record is nobody to look up"
    audit = clinic.get("/api/v1/data/erasures", clinic_id=clinic.id)
    assert audit[0]["appointments_kept"] == 3 and set(audit[0]) == {
        "erased_at",
        "appointments_kept",
        "appointments_cancelled",
        "messages_removed",
    }

    # No byte of them anywhere: name (old and new), number in both forms, what they wrote.
    needles = ["Quarrington", "Zebulon", patient.phone, patient.wa_id, "Xylophonic", patient_id]
    assert _traces(data_dir, needles) == []

    exported = clinic.api.get("/api/v1/export/json").content
    assert all(n.encode() not in exported for n in needles)
    anonymous = [p for p in json.loads(exported)["tables"]["patients"] if p["erased_at"]]
    assert anonymous and all(p["name"] == "Erased patient" and p["phone"] == "" for p in anonymous)

    # The same number writes again: a brand-new patient, with none of the old history.
    newcomer = Patient(clinic, patient.wa_id, "Zeb")
    newcomer.accounted = [s.wamid for s in clinic.fake.messages_to(patient.wa_id)]
    newcomer.says("Hi")
    again = newcomer.record()
    assert again["id"] != patient_id
    assert again["name"] == "Zeb" and again["total_visits"] == 0
    thread = newcomer.thread()["messages"]
    assert [m["text"] for m in thread if m["direction"] == "in"] == ["Hi"]


def test_cancel_upcoming_as_part_of_the_erasure(clinic: Clinic) -> None:
    patient = clinic.patient("Ottoline Vexworth")
    patient.hello(patient.lang)
    at = clinic.earliest(DOCTOR, SERVICE)
    booked = _book(clinic, patient, at)
    r = clinic.api.post(f"/api/v1/patients/{patient.id}/erase", json={"cancel_upcoming": True})
    assert r.status_code == 200, r.text
    assert r.json()["appointments_cancelled"] == 1
    kept = clinic.get(f"/api/v1/appointments/{booked['id']}")
    assert kept["status"] == "cancelled" and kept["patient_name"] == "Erased patient"
    free = clinic.free_starts(DOCTOR, SERVICE, at.date())
    assert at in free, "cancelling frees the time at once"


def test_bad_requests_are_4xx(clinic: Clinic) -> None:
    assert clinic.api.post("/api/v1/patients/nope/erase", json={}).status_code == 404
    r = clinic.api.post("/api/v1/patients/nope/erase", json={"cancel_upcoming": "yes"})
    assert r.status_code == 400
    r = clinic.api.post("/api/v1/patients/nope/erase", json={"other": 1})
    assert r.status_code == 400


# --- below HTTP: what is still being processed is never erased ------------------------------


def _waiting_message(conn: sqlite3.Connection, clinic_id: str, wa_id: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO inbound_messages (wa_message_id, clinic_id, sender, wa_id, type,"
        " wa_timestamp, body, received_at) VALUES ('wamid.w1', ?, ?, ?, 'text', ?, '{}', ?)",
        [clinic_id, wa_id, wa_id, int(now.timestamp()), now.isoformat()],
    )


def test_refused_while_a_message_is_being_answered(conn: sqlite3.Connection) -> None:
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    made = make_clinic_db(conn, now)
    with transaction(conn):
        patient = get_or_create_patient(conn, made.id, "+919812345678", now, name="Mira")
        _waiting_message(conn, made.id, "919812345678", now)
    with pytest.raises(Conflict, match="still being answered"), transaction(conn):
        erasure.erase_patient(conn, patient.id, now)
    with transaction(conn):
        conn.execute("UPDATE inbound_messages SET processed_at = ?", [now.isoformat()])
        done = erasure.erase_patient(conn, patient.id, now)
    assert done.report.messages_removed == 1
    assert f"{made.id}:919812345678" in done.session_keys
    left = conn.execute("SELECT count(*) FROM inbound_messages").fetchone()[0]
    assert left == 0
