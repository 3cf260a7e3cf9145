"""Appointments over real HTTP: booking, the list and its filters, status changes with
their counters, reschedules, corrections and the audit trail."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import TestClinic as Clinic
from tests.factories import make_clinic_api, next_weekday

API = "/api/v1"
UNKNOWN = str(uuid.uuid4())
APPOINTMENT_FIELDS = {
    "id",
    "clinic_id",
    "doctor_id",
    "service_id",
    "patient_id",
    "patient_name",
    "patient_phone",
    "date",
    "starts_at",
    "ends_at",
    "status",
    "source",
}


def _error_key(response: httpx.Response) -> str:
    extra = response.json().get("extra") or [{}]
    return str(extra[0].get("key"))


@pytest.fixture
def clinic(api: httpx.Client) -> Clinic:
    return make_clinic_api(api, doctors=2, name="Appointments")


@pytest.fixture
def monday() -> date:
    return next_weekday(date.today())


_phones = itertools.count()


def _phone() -> str:
    return f"+9194{next(_phones):08d}"


def _body(clinic: Clinic, starts_at: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "clinic_id": clinic.id,
        "doctor_id": clinic.doctor,
        "service_id": clinic.service,
        "starts_at": starts_at,
        "patient_name": "Neha Gupta",
    }
    if "patient_id" not in extra:
        body["patient_phone"] = _phone()
    return {**body, **extra}


def _book(api: httpx.Client, clinic: Clinic, starts_at: str, **extra: object) -> dict[str, Any]:
    r = api.post(f"{API}/appointments", json=_body(clinic, starts_at, **extra))
    assert r.status_code == 201, r.text
    appointment: dict[str, Any] = r.json()
    return appointment


def _patch(api: httpx.Client, appointment_id: str, **body: object) -> dict[str, Any]:
    r = api.patch(f"{API}/appointments/{appointment_id}", json=body)
    assert r.status_code == 200, r.text
    updated: dict[str, Any] = r.json()
    return updated


def _patient(api: httpx.Client, patient_id: str) -> dict[str, Any]:
    patient: dict[str, Any] = api.get(f"{API}/patients/{patient_id}").json()
    return patient


# booking ---------------------------------------------------------------------------------


def test_book_returns_the_record_itself(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    r = api.post(
        f"{API}/appointments",
        json={
            "clinic_id": clinic.id,
            "doctor_id": clinic.doctor,
            "service_id": clinic.service_ids[1],
            "starts_at": f"{monday}T10:30:00",
            "patient_name": "Rahul Sharma",
            "patient_phone": "98765 00100",
            "notes": "first visit",
        },
    )
    assert r.status_code == 201, r.text
    appointment = r.json()
    assert set(appointment) >= APPOINTMENT_FIELDS, APPOINTMENT_FIELDS - set(appointment)
    assert uuid.UUID(appointment["id"])
    assert (appointment["clinic_id"], appointment["doctor_id"], appointment["service_id"]) == (
        clinic.id,
        clinic.doctor,
        clinic.service_ids[1],
    )
    assert appointment["patient_name"] == "Rahul Sharma"
    assert appointment["patient_phone"] == "+919876500100"
    assert appointment["date"] == str(monday)
    assert appointment["starts_at"] == f"{monday}T10:30:00+05:30"
    assert appointment["ends_at"] == f"{monday}T11:00:00+05:30"
    assert (appointment["status"], appointment["source"]) == ("confirmed", "staff")
    assert api.get(f"{API}/appointments/{appointment['id']}").json() == appointment

    # The first booking made the patient; the next one with the phone in another form finds it.
    patient = api.get(f"{API}/patients/by-phone/9876500100", params={"clinic_id": clinic.id}).json()
    assert appointment["patient_id"] == patient["id"]
    assert patient["name"] == "Rahul Sharma"
    again = _book(api, clinic, f"{monday}T11:00", patient_phone="+91-98765-00100")
    assert again["patient_id"] == patient["id"]


def test_book_by_patient_id(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    patient = api.post(
        f"{API}/patients", json={"clinic_id": clinic.id, "name": "Zoya", "phone": "9876500200"}
    ).json()
    r = api.post(
        f"{API}/appointments",
        json={
            "clinic_id": clinic.id,
            "doctor_id": clinic.doctor,
            "service_id": clinic.service,
            "starts_at": f"{monday}T09:00",
            "patient_id": patient["id"],
            "source": "walk-in",
        },
    )
    assert r.status_code == 201, r.text
    booked = r.json()
    assert (booked["patient_id"], booked["patient_name"], booked["patient_phone"]) == (
        patient["id"],
        "Zoya",
        "+919876500200",
    )
    assert booked["source"] == "walk-in"


@pytest.mark.parametrize(
    ("starts_at", "expected"),
    [
        ("T10:00:00", "T10:00:00+05:30"),  # no offset: clinic-local
        ("T10:00:00+05:30", "T10:00:00+05:30"),
        ("T04:30:00Z", "T10:00:00+05:30"),
        ("T04:30:00+00:00", "T10:00:00+05:30"),
        ("T06:30:00+02:00", "T10:00:00+05:30"),
    ],
)
def test_starts_at_offsets(
    api: httpx.Client, clinic: Clinic, monday: date, starts_at: str, expected: str
) -> None:
    booked = _book(api, clinic, f"{monday}{starts_at}")
    assert booked["starts_at"] == f"{monday}{expected}"
    assert booked["ends_at"] == f"{monday}T10:15:00+05:30"
    assert booked["date"] == str(monday)


def test_starts_at_in_a_clinic_of_another_time_zone(api: httpx.Client, monday: date) -> None:
    clinic = make_clinic_api(api, name="London")
    api.patch(f"{API}/clinics/{clinic.id}", json={"timezone": "Europe/London", "country": "GB"})
    january = next_weekday(date(date.today().year + 1, 1, 1))  # winter: UTC+00:00
    naive = _book(api, clinic, f"{january}T10:00", patient_phone="020 7946 0001")
    assert naive["starts_at"] == f"{january}T10:00:00+00:00"
    assert naive["patient_phone"] == "+442079460001"
    india = _book(api, clinic, f"{january}T16:00:00+05:30", patient_phone="020 7946 0002")
    assert india["starts_at"] == f"{january}T10:30:00+00:00"


def test_slot_taken_is_409(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    consult, follow_up = clinic.service_ids
    _book(api, clinic, f"{monday}T10:00", service_id=follow_up)  # 10:00–10:30
    for start, service in [("10:00", consult), ("10:15", consult), ("09:45", follow_up)]:
        r = api.post(
            f"{API}/appointments", json=_body(clinic, f"{monday}T{start}", service_id=service)
        )
        assert r.status_code == 409, (start, r.text)
    # Right after, and the other doctor at the same time, are free.
    _book(api, clinic, f"{monday}T10:30")
    _book(api, clinic, f"{monday}T09:45")
    _book(api, clinic, f"{monday}T10:00", doctor_id=clinic.doctor_ids[1])
    listed = api.get(
        f"{API}/appointments", params={"doctor_id": clinic.doctor, "date": str(monday)}
    ).json()
    assert [a["starts_at"][11:16] for a in listed] == ["09:45", "10:00", "10:30"]


@pytest.mark.parametrize(
    ("day_offset", "start", "service"),
    [
        (0, "08:45", 0),  # before opening
        (0, "13:00", 0),  # lunch
        (0, "12:45", 1),  # 30 minutes run into lunch
        (0, "17:45", 1),  # runs past closing
        (0, "18:00", 0),
        (6, "10:00", 0),  # Sunday
    ],
)
def test_outside_hours_is_400_naming_starts_at(
    api: httpx.Client, clinic: Clinic, monday: date, day_offset: int, start: str, service: int
) -> None:
    day = monday + timedelta(days=day_offset)
    r = api.post(
        f"{API}/appointments",
        json=_body(clinic, f"{day}T{start}", service_id=clinic.service_ids[service]),
    )
    assert r.status_code == 400, r.text
    assert _error_key(r) == "starts_at"


def test_staff_may_book_any_minute_inside_hours(
    api: httpx.Client, clinic: Clinic, monday: date
) -> None:
    assert _book(api, clinic, f"{monday}T09:07")["ends_at"] == f"{monday}T09:22:00+05:30"


def test_past_and_unreadable_times_are_400(api: httpx.Client, clinic: Clinic) -> None:
    last_monday = next_weekday(date.today() - timedelta(days=16))
    for starts_at in [f"{last_monday}T10:00", "soon", "2026-02-30T10:00", "10:00"]:
        r = api.post(f"{API}/appointments", json=_body(clinic, starts_at))
        assert r.status_code == 400, (starts_at, r.text)
        assert _error_key(r) == "starts_at"


@pytest.mark.parametrize(
    "starts_at",
    [
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:00",
        "9999-12-31T23:50:00-12:00",
    ],
)
def test_times_at_the_ends_of_the_calendar_are_400(
    api: httpx.Client, clinic: Clinic, starts_at: str
) -> None:
    r = api.post(f"{API}/appointments", json=_body(clinic, starts_at))
    assert r.status_code == 400, r.text
    assert _error_key(r) == "starts_at"


def test_booking_unknown_ids_is_404(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    when = f"{monday}T10:00"
    for field in ("clinic_id", "doctor_id", "service_id", "patient_id"):
        r = api.post(f"{API}/appointments", json=_body(clinic, when, **{field: UNKNOWN}))
        assert r.status_code == 404, (field, r.text)
    other = make_clinic_api(api, name="Other")
    foreign_patient = api.post(
        f"{API}/patients", json={"clinic_id": other.id, "name": "X", "phone": "9876500300"}
    ).json()
    for field, value in [
        ("doctor_id", other.doctor),
        ("service_id", other.service),
        ("patient_id", foreign_patient["id"]),
    ]:
        r = api.post(f"{API}/appointments", json=_body(clinic, when, **{field: value}))
        assert r.status_code == 404, (field, r.text)
    assert api.get(f"{API}/appointments", params={"clinic_id": clinic.id}).json() == []


def test_booking_rule_errors_are_400(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    when = f"{monday}T10:00"
    r = api.post(f"{API}/appointments", json=_body(clinic, when, patient_phone="12345"))
    assert (r.status_code, _error_key(r)) == (400, "patient_phone"), r.text
    no_patient = _body(clinic, when)
    del no_patient["patient_phone"]
    r = api.post(f"{API}/appointments", json=no_patient)
    assert (r.status_code, _error_key(r)) == (400, "patient_phone"), r.text

    only_second = api.post(
        f"{API}/services",
        json={
            "clinic_id": clinic.id,
            "name": "Minor procedure",
            "duration_minutes": 45,
            "doctor_ids": [clinic.doctor_ids[1]],
        },
    ).json()
    r = api.post(f"{API}/appointments", json=_body(clinic, when, service_id=only_second["id"]))
    assert (r.status_code, _error_key(r)) == (400, "service_id"), r.text

    api.patch(f"{API}/services/{clinic.service_ids[1]}", json={"active": False})
    r = api.post(f"{API}/appointments", json=_body(clinic, when, service_id=clinic.service_ids[1]))
    assert (r.status_code, _error_key(r)) == (400, "service_id"), r.text

    api.patch(f"{API}/doctors/{clinic.doctor_ids[1]}", json={"active": False})
    r = api.post(f"{API}/appointments", json=_body(clinic, when, doctor_id=clinic.doctor_ids[1]))
    assert (r.status_code, _error_key(r)) == (400, "doctor_id"), r.text

    for bad in ({"source": "fax"}, {"status": "completed"}, {"starts_at": 1030}):
        r = api.post(f"{API}/appointments", json={**_body(clinic, when), **bad})
        assert r.status_code == 400, (bad, r.text)
    assert api.get(f"{API}/appointments", params={"clinic_id": clinic.id}).json() == []


# the list --------------------------------------------------------------------------------


def test_list_filters_and_order(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    tuesday = monday + timedelta(days=1)
    first, second = clinic.doctor_ids
    made = {
        "a": _book(api, clinic, f"{tuesday}T09:00", doctor_id=first),
        "b": _book(api, clinic, f"{monday}T11:00", doctor_id=first),
        "c": _book(api, clinic, f"{monday}T09:30", doctor_id=second),
        "d": _book(api, clinic, f"{monday}T10:00", doctor_id=first),
    }
    _patch(api, made["d"]["id"], status="cancelled")
    other = make_clinic_api(api, name="Not listed")
    _book(api, other, f"{monday}T10:00")

    def ids(**params: str | int) -> list[str]:
        r = api.get(f"{API}/appointments", params={"clinic_id": clinic.id, **params})
        assert r.status_code == 200, r.text
        keys = {a["id"]: k for k, a in made.items()}
        return [keys[a["id"]] for a in r.json()]

    assert ids() == ["c", "d", "b", "a"]
    assert ids(doctor_id=first) == ["d", "b", "a"]
    assert ids(date=str(monday)) == ["c", "d", "b"]
    assert ids(date=str(tuesday)) == ["a"]
    assert ids(status="cancelled") == ["d"]
    assert ids(status="confirmed", doctor_id=first, date=str(monday)) == ["b"]
    assert ids(date_from=str(tuesday)) == ["a"]
    assert ids(date_to=str(monday)) == ["c", "d", "b"]
    assert ids(limit=2) == ["c", "d"]
    assert ids(limit=2, offset=2) == ["b", "a"]
    assert ids(date=str(monday + timedelta(days=2))) == []


@pytest.mark.parametrize(
    "params",
    [
        {"status": "done"},
        {"date": "monday"},
        {"date": "2026-02-30"},
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"date_from": "x"},
    ],
)
def test_list_bad_filters_are_400(api: httpx.Client, params: dict[str, str | int]) -> None:
    r = api.get(f"{API}/appointments", params=params)
    assert r.status_code == 400, r.text


# status changes and counters -------------------------------------------------------------


def test_arrived_then_completed_counts_a_visit(
    api: httpx.Client, clinic: Clinic, monday: date
) -> None:
    booked = _book(api, clinic, f"{monday}T10:00")
    assert _patch(api, booked["id"], status="arrived")["status"] == "arrived"
    before = _patient(api, booked["patient_id"])
    assert before["total_visits"] == 0
    assert _patch(api, booked["id"], status="completed")["status"] == "completed"
    after = _patient(api, booked["patient_id"])
    assert after["total_visits"] == 1
    assert after["first_visit_date"] == after["last_visit_date"] == str(monday)

    events = api.get(f"{API}/appointments/{booked['id']}/events").json()
    assert [(e["kind"], e["from_status"], e["to_status"]) for e in events] == [
        ("created", None, "confirmed"),
        ("status", "confirmed", "arrived"),
        ("status", "arrived", "completed"),
    ]
    assert all(e["actor"] == "staff" and e["appointment_id"] == booked["id"] for e in events)
    assert all(datetime.fromisoformat(e["at"]).tzinfo is not None for e in events)


def test_cancel_with_reason_frees_the_slot(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    booked = _book(api, clinic, f"{monday}T10:00")
    cancelled = _patch(
        api, booked["id"], status="cancelled", cancellation_reason="Travelling that day"
    )
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancellation_reason"] == "Travelling that day"
    patient = _patient(api, booked["patient_id"])
    assert (patient["total_cancellations"], patient["total_visits"]) == (1, 0)
    events = api.get(f"{API}/appointments/{booked['id']}/events").json()
    assert (events[-1]["from_status"], events[-1]["to_status"]) == ("confirmed", "cancelled")
    assert "Travelling that day" in events[-1]["detail"]
    # Cancelling frees the slot at once.
    _book(api, clinic, f"{monday}T10:00")
    # Bringing the cancelled one back now collides.
    r = api.patch(f"{API}/appointments/{booked['id']}", json={"status": "confirmed"})
    assert r.status_code == 409, r.text
    assert api.get(f"{API}/appointments/{booked['id']}").json()["status"] == "cancelled"


def test_no_show_is_counted(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    booked = _book(api, clinic, f"{monday}T10:00")
    _patch(api, booked["id"], status="no_show")
    patient = _patient(api, booked["patient_id"])
    assert (patient["total_no_shows"], patient["total_visits"]) == (1, 0)
    # A no-show still holds its slot.
    r = api.post(f"{API}/appointments", json=_body(clinic, f"{monday}T10:00"))
    assert r.status_code == 409, r.text


def test_correction_completed_back_to_confirmed(
    api: httpx.Client, clinic: Clinic, monday: date
) -> None:
    booked = _book(api, clinic, f"{monday}T10:00")
    _patch(api, booked["id"], status="completed")  # straight from confirmed: a correction
    assert _patient(api, booked["patient_id"])["total_visits"] == 1
    _patch(api, booked["id"], status="confirmed")
    patient = _patient(api, booked["patient_id"])
    assert (patient["total_visits"], patient["first_visit_date"], patient["last_visit_date"]) == (
        0,
        None,
        None,
    )
    events = api.get(f"{API}/appointments/{booked['id']}/events").json()
    assert [(e["from_status"], e["to_status"], e["detail"]) for e in events[1:]] == [
        ("confirmed", "completed", "correction"),
        ("completed", "confirmed", "correction"),
    ]


def test_same_status_again_changes_nothing(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    booked = _book(api, clinic, f"{monday}T10:00")
    _patch(api, booked["id"], status="confirmed")
    assert len(api.get(f"{API}/appointments/{booked['id']}/events").json()) == 1


def test_notes_edit_is_audited(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    booked = _book(api, clinic, f"{monday}T10:00")
    assert _patch(api, booked["id"], notes="Bring reports")["notes"] == "Bring reports"
    events = api.get(f"{API}/appointments/{booked['id']}/events").json()
    assert (events[-1]["kind"], events[-1]["detail"]) == ("edit", "notes")


# reschedule ------------------------------------------------------------------------------


def test_reschedule_moves_it_and_frees_the_old_time(
    api: httpx.Client, clinic: Clinic, monday: date
) -> None:
    booked = _book(api, clinic, f"{monday}T10:00")
    tuesday = monday + timedelta(days=1)
    moved = _patch(api, booked["id"], starts_at=f"{tuesday}T15:00")
    assert (moved["id"], moved["date"], moved["starts_at"], moved["ends_at"]) == (
        booked["id"],
        str(tuesday),
        f"{tuesday}T15:00:00+05:30",
        f"{tuesday}T15:15:00+05:30",
    )
    assert moved["status"] == "confirmed"
    events = api.get(f"{API}/appointments/{booked['id']}/events").json()
    assert events[-1]["kind"] == "reschedule"
    _book(api, clinic, f"{monday}T10:00")  # the old time is free again
    # Moving by a few minutes overlapping its own old time is fine.
    assert _patch(api, booked["id"], starts_at=f"{tuesday}T15:05")["starts_at"].endswith(
        "15:05:00+05:30"
    )
    # To another doctor at the same time.
    other = _patch(api, booked["id"], doctor_id=clinic.doctor_ids[1])
    assert (other["doctor_id"], other["starts_at"]) == (
        clinic.doctor_ids[1],
        f"{tuesday}T15:05:00+05:30",
    )


def test_reschedule_errors(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    booked = _book(api, clinic, f"{monday}T10:00")
    _book(api, clinic, f"{monday}T11:00")
    r = api.patch(f"{API}/appointments/{booked['id']}", json={"starts_at": f"{monday}T11:10"})
    assert r.status_code == 409, r.text
    r = api.patch(f"{API}/appointments/{booked['id']}", json={"starts_at": f"{monday}T13:15"})
    assert (r.status_code, _error_key(r)) == (400, "starts_at"), r.text
    r = api.patch(f"{API}/appointments/{booked['id']}", json={"starts_at": "later"})
    assert (r.status_code, _error_key(r)) == (400, "starts_at"), r.text
    r = api.patch(f"{API}/appointments/{booked['id']}", json={"doctor_id": UNKNOWN})
    assert r.status_code == 404, r.text
    # Nothing of the failed attempts stuck.
    assert (
        api.get(f"{API}/appointments/{booked['id']}")
        .json()["starts_at"]
        .endswith("T10:00:00+05:30")
    )
    _patch(api, booked["id"], status="cancelled")
    r = api.patch(f"{API}/appointments/{booked['id']}", json={"starts_at": f"{monday}T15:00"})
    assert (r.status_code, _error_key(r)) == (400, "starts_at"), r.text


@pytest.mark.parametrize("starts_at", ["9999-12-31T23:59:00", "0001-01-01T00:00:00+14:00"])
def test_reschedule_to_the_ends_of_the_calendar_is_400(
    api: httpx.Client, clinic: Clinic, monday: date, starts_at: str
) -> None:
    booked = _book(api, clinic, f"{monday}T10:00")
    r = api.patch(f"{API}/appointments/{booked['id']}", json={"starts_at": starts_at})
    assert (r.status_code, _error_key(r)) == (400, "starts_at"), r.text


@pytest.mark.parametrize(
    "body",
    [
        {"status": "finished"},
        {"status": None},
        {"starts_at": 5},
        {"notes": ["x"]},
        {"patient_phone": "9876543210"},
        {"cancellation_reason": "x" * 201},
    ],
)
def test_patch_bad_body_is_400(
    api: httpx.Client, clinic: Clinic, monday: date, body: dict[str, object]
) -> None:
    booked = _book(api, clinic, f"{monday}T10:00")
    r = api.patch(f"{API}/appointments/{booked['id']}", json=body)
    assert r.status_code == 400, r.text
    assert api.get(f"{API}/appointments/{booked['id']}").json() == booked


def test_unknown_appointment_is_404(api: httpx.Client) -> None:
    assert api.get(f"{API}/appointments/{UNKNOWN}").status_code == 404
    assert api.patch(f"{API}/appointments/{UNKNOWN}", json={"status": "arrived"}).status_code == 404
    assert api.get(f"{API}/appointments/{UNKNOWN}/events").status_code == 404
