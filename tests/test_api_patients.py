"""The seven patient routes over real HTTP, as DESIGN.md lists them, plus search and paging."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import TestClinic as Clinic
from tests.factories import make_clinic_api, next_weekday

API = "/api/v1"
UNKNOWN = str(uuid.uuid4())
RECORD_FIELDS = {
    "id",
    "clinic_id",
    "name",
    "phone",
    "whatsapp_name",
    "total_visits",
    "total_cancellations",
    "total_no_shows",
    "first_visit_date",
    "last_visit_date",
    "created_at",
    "updated_at",
    "is_active",
}


def _error_key(response: httpx.Response) -> str:
    extra = response.json().get("extra") or [{}]
    return str(extra[0].get("key"))


def _names_field(response: httpx.Response, field: str) -> bool:
    """The error names the field: as its key, or (a missing field) in its message."""
    extra = response.json().get("extra") or []
    return any(e.get("key") == field or f"`{field}`" in e.get("message", "") for e in extra)


def _bare_clinic(api: httpx.Client, **fields: object) -> str:
    r = api.post(f"{API}/clinics", json={"name": "Patients Clinic", **fields})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _patient(api: httpx.Client, clinic_id: str, name: str, phone: str) -> dict[str, Any]:
    r = api.post(f"{API}/patients", json={"clinic_id": clinic_id, "name": name, "phone": phone})
    assert r.status_code == 201, r.text
    patient: dict[str, Any] = r.json()
    return patient


def _names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()]


@pytest.fixture
def clinic_id(api: httpx.Client) -> str:
    return _bare_clinic(api)


# POST /api/v1/patients -------------------------------------------------------------------


def test_create_returns_the_record_itself_with_every_field(
    api: httpx.Client, clinic_id: str
) -> None:
    r = api.post(
        f"{API}/patients",
        json={
            "clinic_id": clinic_id,
            "name": " Rahul Sharma ",
            "phone": "98765 43210",
            "whatsapp_name": "Rahul",
        },
    )
    assert r.status_code == 201, r.text
    patient = r.json()
    assert set(patient) >= RECORD_FIELDS, RECORD_FIELDS - set(patient)
    assert uuid.UUID(patient["id"])
    assert patient["clinic_id"] == clinic_id
    assert patient["name"] == "Rahul Sharma"
    assert patient["phone"] == "+919876543210"
    assert patient["whatsapp_name"] == "Rahul"
    assert (
        patient["total_visits"],
        patient["total_cancellations"],
        patient["total_no_shows"],
    ) == (0, 0, 0)
    assert (patient["first_visit_date"], patient["last_visit_date"]) == (None, None)
    assert patient["is_active"] is True
    created = datetime.fromisoformat(patient["created_at"])
    assert created.tzinfo is not None
    assert datetime.fromisoformat(patient["updated_at"]) >= created
    assert api.get(f"{API}/patients/{patient['id']}").json() == patient


@pytest.mark.parametrize(
    "phone",
    [
        "919876543210",
        "98765 43210",
        "+91-98765-43210",
        "+919876543210",
        "09876543210",
        "9876543210",
    ],
)
def test_every_phone_form_is_stored_in_e164(api: httpx.Client, phone: str) -> None:
    clinic_id = _bare_clinic(api)
    assert _patient(api, clinic_id, "Asha", phone)["phone"] == "+919876543210"


def test_a_foreign_number_keeps_its_country(api: httpx.Client, clinic_id: str) -> None:
    assert _patient(api, clinic_id, "Tom", "+44 20 7946 0958")["phone"] == "+442079460958"


def test_the_clinic_country_is_the_default_region(api: httpx.Client) -> None:
    uk = _bare_clinic(api, country="GB", timezone="Europe/London")
    assert _patient(api, uk, "Tom", "020 7946 0958")["phone"] == "+442079460958"


@pytest.mark.parametrize("duplicate", ["+919876543210", "919876543210", "098765-43210"])
def test_duplicate_phone_in_the_same_clinic_is_409_in_any_format(
    api: httpx.Client, clinic_id: str, duplicate: str
) -> None:
    _patient(api, clinic_id, "First", "98765 43210")
    r = api.post(
        f"{API}/patients", json={"clinic_id": clinic_id, "name": "Second", "phone": duplicate}
    )
    assert r.status_code == 409, r.text
    assert _error_key(r) == "phone"
    listed = api.get(f"{API}/patients", params={"clinic_id": clinic_id}).json()
    assert [p["name"] for p in listed] == ["First"]


def test_same_phone_at_another_clinic_is_another_patient(api: httpx.Client) -> None:
    first = _patient(api, _bare_clinic(api), "Meera", "98765 43210")
    second = _patient(api, _bare_clinic(api), "Meera", "+91 98765 43210")
    assert first["id"] != second["id"]
    assert first["phone"] == second["phone"]


@pytest.mark.parametrize(
    "phone", ["12345", "not a phone", "+91 12345", "0000000000", "+999 1234567", "+", "98765"]
)
def test_impossible_phone_is_400_naming_phone(
    api: httpx.Client, clinic_id: str, phone: str
) -> None:
    r = api.post(f"{API}/patients", json={"clinic_id": clinic_id, "name": "X", "phone": phone})
    assert r.status_code == 400, r.text
    assert r.json()["extra"][0]["key"] == "phone"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X"}, "phone"),
        ({"phone": "9876543210"}, "name"),
        ({"name": "", "phone": "9876543210"}, "name"),
        ({"name": 7, "phone": "9876543210"}, "name"),
        ({"name": "X", "phone": 9876543210}, "phone"),
        ({"name": "X" * 121, "phone": "9876543210"}, "name"),
    ],
)
def test_create_bad_body_is_400(
    api: httpx.Client, clinic_id: str, body: dict[str, object], field: str
) -> None:
    r = api.post(f"{API}/patients", json={"clinic_id": clinic_id, **body})
    assert r.status_code == 400, r.text
    assert _names_field(r, field), r.text


def test_create_unknown_field_or_clinic(api: httpx.Client, clinic_id: str) -> None:
    body = {"clinic_id": clinic_id, "name": "X", "phone": "9876543210"}
    assert api.post(f"{API}/patients", json={**body, "email": "x@y.z"}).status_code == 400
    assert api.post(f"{API}/patients", json={**body, "clinic_id": UNKNOWN}).status_code == 404


# GET /api/v1/patients/{id} and by-phone ---------------------------------------------------


def test_get_unknown_patient_is_404(api: httpx.Client) -> None:
    assert api.get(f"{API}/patients/{UNKNOWN}").status_code == 404


@pytest.mark.parametrize(
    "form",
    [
        "+919876543210",
        "919876543210",
        "9876543210",
        "98765 43210",
        "+91-98765-43210",
        "098765 43210",
    ],
)
def test_by_phone_in_any_format(api: httpx.Client, clinic_id: str, form: str) -> None:
    patient = _patient(api, clinic_id, "Kavya", "+919876543210")
    r = api.get(f"{API}/patients/by-phone/{form}", params={"clinic_id": clinic_id})
    assert r.status_code == 200, r.text
    assert r.json() == patient


def test_by_phone_errors(api: httpx.Client, clinic_id: str) -> None:
    _patient(api, clinic_id, "Kavya", "+919876543210")
    r = api.get(f"{API}/patients/by-phone/9811122233", params={"clinic_id": clinic_id})
    assert r.status_code == 404, r.text
    r = api.get(f"{API}/patients/by-phone/12345", params={"clinic_id": clinic_id})
    assert r.status_code == 400, r.text
    assert _error_key(r) == "phone"
    r = api.get(f"{API}/patients/by-phone/9876543210", params={"clinic_id": UNKNOWN})
    assert r.status_code == 404, r.text
    # The shared server holds many clinics: without clinic_id it cannot know which one.
    r = api.get(f"{API}/patients/by-phone/9876543210")
    assert r.status_code == 400, r.text
    assert _error_key(r) == "clinic_id"


def test_by_phone_finds_only_that_clinics_patient(api: httpx.Client) -> None:
    first, second = _bare_clinic(api), _bare_clinic(api)
    mine = _patient(api, first, "Mine", "9876543210")
    theirs = _patient(api, second, "Theirs", "9876543210")
    assert (
        api.get(f"{API}/patients/by-phone/9876543210", params={"clinic_id": first}).json() == mine
    )
    r = api.get(f"{API}/patients/by-phone/9876543210", params={"clinic_id": second})
    assert r.json() == theirs


# GET /api/v1/patients: list, search, paging -----------------------------------------------


@pytest.fixture
def directory(api: httpx.Client, clinic_id: str) -> str:
    for name, phone in [
        ("Ravi Sharma", "+919876543210"),
        ("Priya Sharma", "+919812312345"),
        ("Anil Kumar", "+918888843210"),
        ("sunita Rao", "+917000011111"),
    ]:
        _patient(api, clinic_id, name, phone)
    # Another clinic's patients never show up in this clinic's list.
    _patient(api, _bare_clinic(api), "Ravi Sharma", "+919876543210")
    return clinic_id


def test_list_is_by_name_and_only_that_clinic(api: httpx.Client, directory: str) -> None:
    r = api.get(f"{API}/patients", params={"clinic_id": directory})
    assert _names(r) == ["Anil Kumar", "Priya Sharma", "Ravi Sharma", "sunita Rao"]
    assert {p["clinic_id"] for p in r.json()} == {directory}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("sharma", ["Priya Sharma", "Ravi Sharma"]),
        ("SHARMA", ["Priya Sharma", "Ravi Sharma"]),
        ("harm", ["Priya Sharma", "Ravi Sharma"]),
        ("Ravi Sh", ["Ravi Sharma"]),
        ("kumar", ["Anil Kumar"]),
        ("98765", ["Ravi Sharma"]),
        ("43210", ["Anil Kumar", "Ravi Sharma"]),
        ("98765 43210", ["Ravi Sharma"]),
        ("+91 98765", ["Ravi Sharma"]),
        ("+91-88888", ["Anil Kumar"]),
        # One or two characters match the start of the name (an index seek at any size);
        # from three on, anywhere in it.
        ("R", ["Ravi Sharma"]),
        ("Ra", ["Ravi Sharma"]),
        ("Sh", []),
        ("Sha", ["Priya Sharma", "Ravi Sharma"]),
        ("su", ["sunita Rao"]),
        ("SU", ["sunita Rao"]),
        ("98", ["Priya Sharma", "Ravi Sharma"]),
        ("7", ["sunita Rao"]),
        ("zzz", []),
        ("Zq", []),
        ("%", []),
        ("_", []),
        ('"', []),
        ("a OR b", []),
    ],
)
def test_search_by_name_or_phone_fragment(
    api: httpx.Client, directory: str, q: str, expected: list[str]
) -> None:
    r = api.get(f"{API}/patients", params={"clinic_id": directory, "q": q})
    assert _names(r) == expected


def test_paging_with_limit_and_offset(api: httpx.Client, clinic_id: str) -> None:
    for i, letter in enumerate("EDCBA"):
        _patient(api, clinic_id, f"Page {letter}", f"+9190000000{i:02d}")
    pages = [
        _names(api.get(f"{API}/patients", params={"clinic_id": clinic_id, "limit": 2, "offset": o}))
        for o in (0, 2, 4, 6)
    ]
    assert pages == [["Page A", "Page B"], ["Page C", "Page D"], ["Page E"], []]
    found = api.get(
        f"{API}/patients", params={"clinic_id": clinic_id, "q": "Page", "limit": 2, "offset": 2}
    )
    assert _names(found) == ["Page C", "Page D"]


@pytest.mark.parametrize("q", ["ab\x00c", "\x00\x00\x00", "Ravi\x00", "\x00"])
def test_search_with_a_nul_character_is_not_a_server_error(
    api: httpx.Client, directory: str, q: str
) -> None:
    r = api.get(f"{API}/patients", params={"clinic_id": directory, "q": q})
    assert r.status_code in (200, 400), r.text


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"limit": "ten"}, {"offset": -1}, {"q": "x" * 101}],
)
def test_list_bad_paging_is_400(
    api: httpx.Client, clinic_id: str, params: dict[str, str | int]
) -> None:
    r = api.get(f"{API}/patients", params={"clinic_id": clinic_id, **params})
    assert r.status_code == 400, r.text


# PATCH /api/v1/patients/{id} -------------------------------------------------------------


def test_patch_updates_fields_and_keeps_counters(api: httpx.Client, clinic_id: str) -> None:
    patient = _patient(api, clinic_id, "Gita", "9876500001")
    r = api.patch(
        f"{API}/patients/{patient['id']}",
        json={"name": " Gita Devi ", "whatsapp_name": "Gita D", "phone": "+91 98765 00002"},
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert (updated["name"], updated["whatsapp_name"], updated["phone"]) == (
        "Gita Devi",
        "Gita D",
        "+919876500002",
    )
    assert updated["created_at"] == patient["created_at"]
    assert updated["updated_at"] >= patient["updated_at"]
    assert api.get(f"{API}/patients/{patient['id']}").json() == updated
    # The new phone finds her; the old one no longer does.
    by_new = api.get(f"{API}/patients/by-phone/9876500002", params={"clinic_id": clinic_id})
    assert by_new.json()["id"] == patient["id"]
    by_old = api.get(f"{API}/patients/by-phone/9876500001", params={"clinic_id": clinic_id})
    assert by_old.status_code == 404
    assert _names(api.get(f"{API}/patients", params={"clinic_id": clinic_id, "q": "devi"})) == [
        "Gita Devi"
    ]
    r = api.patch(f"{API}/patients/{patient['id']}", json={"whatsapp_name": None})
    assert r.json()["whatsapp_name"] is None
    # An empty PATCH changes nothing.
    assert api.patch(f"{API}/patients/{patient['id']}", json={}).json()["name"] == "Gita Devi"


def test_patch_errors(api: httpx.Client, clinic_id: str) -> None:
    first = _patient(api, clinic_id, "One", "9876500011")
    second = _patient(api, clinic_id, "Two", "9876500012")
    r = api.patch(f"{API}/patients/{second['id']}", json={"phone": "98765-00011"})
    assert r.status_code == 409, r.text
    assert _error_key(r) == "phone"
    r = api.patch(f"{API}/patients/{second['id']}", json={"phone": "12345"})
    assert r.status_code == 400, r.text
    assert _error_key(r) == "phone"
    r = api.patch(f"{API}/patients/{second['id']}", json={"total_visits": 10})
    assert r.status_code == 400, "counters are computed, never written by a client"
    r = api.patch(f"{API}/patients/{second['id']}", json={"name": ""})
    assert r.status_code == 400
    assert api.patch(f"{API}/patients/{UNKNOWN}", json={"name": "X"}).status_code == 404
    # Its own phone, in another form, is not a conflict.
    r = api.patch(f"{API}/patients/{first['id']}", json={"phone": "+919876500011"})
    assert r.status_code == 200, r.text


# history and stats -----------------------------------------------------------------------


def _book(
    api: httpx.Client, clinic: Clinic, doctor: str, starts_at: str, **extra: object
) -> dict[str, Any]:
    r = api.post(
        f"{API}/appointments",
        json={
            "clinic_id": clinic.id,
            "doctor_id": doctor,
            "service_id": clinic.service,
            "starts_at": starts_at,
            **extra,
        },
    )
    assert r.status_code == 201, r.text
    appointment: dict[str, Any] = r.json()
    return appointment


def _status(api: httpx.Client, appointment: dict[str, Any], *statuses: str) -> None:
    for status in statuses:
        r = api.patch(f"{API}/appointments/{appointment['id']}", json={"status": status})
        assert r.status_code == 200, r.text


def test_history_is_newest_first_and_names_the_doctor(api: httpx.Client) -> None:
    clinic = make_clinic_api(api, doctors=2, name="History")
    names = {d: api.get(f"{API}/doctors/{d}").json()["name"] for d in clinic.doctor_ids}
    api.patch(f"{API}/doctors/{clinic.doctor_ids[1]}", json={"name": "Dr. Sharma"})
    names[clinic.doctor_ids[1]] = "Dr. Sharma"
    patient = _patient(api, clinic.id, "Rahul", "9876512345")
    monday = next_weekday(date.today())
    booked = [
        _book(api, clinic, clinic.doctor_ids[0], f"{monday}T10:00", patient_id=patient["id"]),
        _book(
            api,
            clinic,
            clinic.doctor_ids[1],
            f"{monday + timedelta(days=7)}T11:00",
            patient_phone="98765 12345",
        ),
        _book(api, clinic, clinic.doctor_ids[0], f"{monday}T09:00", patient_id=patient["id"]),
    ]
    assert {a["patient_id"] for a in booked} == {patient["id"]}
    _status(api, booked[2], "arrived", "completed")

    r = api.get(f"{API}/patients/{patient['id']}/appointments")
    assert r.status_code == 200, r.text
    history = r.json()
    assert [h["id"] for h in history] == [booked[1]["id"], booked[0]["id"], booked[2]["id"]]
    assert [h["doctor"] for h in history] == [
        "Dr. Sharma",
        names[clinic.doctor_ids[0]],
        names[clinic.doctor_ids[0]],
    ]
    assert [h["status"] for h in history] == ["confirmed", "confirmed", "completed"]
    assert history[0]["date"] == str(monday + timedelta(days=7))
    assert {"id", "date", "starts_at", "status", "doctor"} <= set(history[0])

    paged = api.get(
        f"{API}/patients/{patient['id']}/appointments", params={"limit": 1, "offset": 1}
    ).json()
    assert [h["id"] for h in paged] == [booked[0]["id"]]
    assert api.get(f"{API}/patients/{UNKNOWN}/appointments").status_code == 404
    fresh = _patient(api, clinic.id, "Nobody", "9876512399")
    assert api.get(f"{API}/patients/{fresh['id']}/appointments").json() == []


def _stats(api: httpx.Client, clinic_id: str) -> dict[str, Any]:
    r = api.get(f"{API}/patients/stats/clinic/{clinic_id}")
    assert r.status_code == 200, r.text
    stats: dict[str, Any] = r.json()
    return stats


def test_clinic_stats_with_the_no_show_rate(api: httpx.Client) -> None:
    clinic = make_clinic_api(api, name="Stats")
    empty = _stats(api, clinic.id)
    assert {
        k: empty[k]
        for k in (
            "total_patients",
            "new_patients_this_month",
            "active_patients",
            "total_appointments",
            "no_show_rate",
        )
    } == {
        "total_patients": 0,
        "new_patients_this_month": 0,
        "active_patients": 0,
        "total_appointments": 0,
        "no_show_rate": None,
    }

    monday = next_weekday(date.today())
    patients = [_patient(api, clinic.id, f"Stat {i}", f"+9197000000{i:02d}") for i in range(4)]
    visits = [
        _book(api, clinic, clinic.doctor, f"{monday}T{9 + i:02d}:00", patient_id=p["id"])
        for i, p in enumerate(patients)
    ]
    _status(api, visits[0], "arrived", "completed")
    _status(api, visits[1], "no_show")
    _status(api, visits[2], "cancelled")
    # visits[3] stays confirmed (upcoming).

    stats = _stats(api, clinic.id)
    assert stats["total_patients"] == 4
    assert stats["new_patients_this_month"] == 4
    assert stats["total_appointments"] == 4
    assert stats["no_show_rate"] == pytest.approx(0.5)
    # A completed visit in the last 12 months (0) or an upcoming confirmed appointment (3).
    assert stats["active_patients"] == 2

    _status(api, visits[3], "arrived", "completed")
    assert _stats(api, clinic.id)["no_show_rate"] == pytest.approx(1 / 3, abs=1e-3)

    api.patch(f"{API}/patients/{patients[2]['id']}", json={"is_active": False})
    assert _stats(api, clinic.id)["total_patients"] == 3


def test_stats_unknown_clinic_is_404(api: httpx.Client) -> None:
    assert api.get(f"{API}/patients/stats/clinic/{UNKNOWN}").status_code == 404


def test_counters_follow_the_appointments(api: httpx.Client) -> None:
    clinic = make_clinic_api(api, name="Counters")
    monday = next_weekday(date.today())
    patient = _patient(api, clinic.id, "Counted", "9876543001")
    first = _book(api, clinic, clinic.doctor, f"{monday}T09:00", patient_id=patient["id"])
    second = _book(
        api, clinic, clinic.doctor, f"{monday + timedelta(days=1)}T09:00", patient_id=patient["id"]
    )
    third = _book(
        api, clinic, clinic.doctor, f"{monday + timedelta(days=2)}T09:00", patient_id=patient["id"]
    )
    _status(api, first, "arrived", "completed")
    _status(api, second, "arrived", "completed")
    _status(api, third, "cancelled")
    record = api.get(f"{API}/patients/{patient['id']}").json()
    assert (
        record["total_visits"],
        record["total_cancellations"],
        record["total_no_shows"],
        record["first_visit_date"],
        record["last_visit_date"],
    ) == (2, 1, 0, str(monday), str(monday + timedelta(days=1)))
    _status(api, third, "no_show")
    record = api.get(f"{API}/patients/{patient['id']}").json()
    assert (record["total_cancellations"], record["total_no_shows"]) == (0, 1)
