"""The clinic's setup over real HTTP: clinics, doctors, services, working hours, time off,
and a doctor's free slots, on their success and error paths."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import TestClinic as Clinic
from tests.factories import make_clinic_api, next_weekday

API = "/api/v1"
UNKNOWN = str(uuid.uuid4())


def _error_key(response: httpx.Response) -> str:
    extra = response.json().get("extra") or [{}]
    return str(extra[0].get("key"))


@pytest.fixture
def clinic(api: httpx.Client) -> Clinic:
    return make_clinic_api(api, doctors=2, name="Setup")


@pytest.fixture
def monday() -> date:
    return next_weekday(date.today())


def _slots(api: httpx.Client, doctor: str, day: date, service: str) -> list[dict[str, Any]]:
    r = api.get(
        f"{API}/doctors/{doctor}/slots", params={"date": day.isoformat(), "service_id": service}
    )
    assert r.status_code == 200, r.text
    slots: list[dict[str, Any]] = r.json()
    return slots


def _starts(slots: list[dict[str, Any]]) -> list[str]:
    return [s["start"][11:16] for s in slots]


# clinics ---------------------------------------------------------------------------------


def test_clinic_create_read_list_update(api: httpx.Client) -> None:
    body = {
        "name": "Sharma Family Clinic",
        "address": "12 MG Road, Pune",
        "phone": "020 2612 3456",
        "country": "in",
        "min_notice_minutes": 30,
        "horizon_days": 30,
        "slot_step_minutes": 10,
    }
    r = api.post(f"{API}/clinics", json=body)
    assert r.status_code == 201, r.text
    clinic = r.json()
    assert clinic["name"] == "Sharma Family Clinic"
    assert clinic["phone"] == "+912026123456"
    assert clinic["country"] == "IN"
    assert clinic["timezone"] == "Asia/Kolkata"
    assert (clinic["min_notice_minutes"], clinic["horizon_days"], clinic["slot_step_minutes"]) == (
        30,
        30,
        10,
    )
    assert api.get(f"{API}/clinics/{clinic['id']}").json() == clinic
    assert clinic["id"] in [c["id"] for c in api.get(f"{API}/clinics").json()]

    r = api.patch(
        f"{API}/clinics/{clinic['id']}",
        json={"name": "Sharma Clinic", "timezone": "Asia/Dubai", "phone": None},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["timezone"], r.json()["phone"]) == (
        "Sharma Clinic",
        "Asia/Dubai",
        None,
    )
    assert api.get(f"{API}/clinics/{clinic['id']}").json()["timezone"] == "Asia/Dubai"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "X", "timezone": "../../etc/passwd"}, "timezone"),
        # A directory of the tz database is not a zone either.
        ({"name": "X", "timezone": "America"}, "timezone"),
        ({"name": "X", "country": "ZZ"}, "country"),
        ({"name": "X", "phone": "12345"}, "phone"),
        ({"name": ""}, "name"),
        ({"name": "X", "slot_step_minutes": 1}, "slot_step_minutes"),
        ({"name": "X", "horizon_days": 0}, "horizon_days"),
        ({"name": "X", "reminder_minutes": [1440, 120, 60, 30, 10]}, "reminder_minutes"),
        ({"name": "X", "reminder_minutes": [0]}, "reminder_minutes[0]"),
        ({"name": "X", "reminder_minutes": "1440,120"}, "reminder_minutes"),
        ({"name": "X", "reminder_template": "Appointment Reminder"}, "reminder_template"),
        ({"name": "X", "stale_message_hours": 0}, "stale_message_hours"),
    ],
)
def test_clinic_bad_input_is_400_naming_the_field(
    api: httpx.Client, body: dict[str, object], field: str
) -> None:
    r = api.post(f"{API}/clinics", json=body)
    assert r.status_code == 400, r.text
    assert _error_key(r) == field


def test_clinic_patch_to_a_directory_timezone_is_400(api: httpx.Client, clinic: Clinic) -> None:
    r = api.patch(f"{API}/clinics/{clinic.id}", json={"timezone": "Etc"})
    assert r.status_code == 400, r.text
    assert _error_key(r) == "timezone"


def test_clinic_whatsapp_settings(api: httpx.Client) -> None:
    """Reminder times, the reminder template and the stale-message age: defaults, then set."""
    clinic = api.post(f"{API}/clinics", json={"name": "Reminders"}).json()
    assert clinic["reminder_minutes"] == [1440, 120]
    assert clinic["reminder_template"] == "appointment_reminder"
    assert clinic["stale_message_hours"] == 24
    r = api.patch(
        f"{API}/clinics/{clinic['id']}",
        json={
            "reminder_minutes": [60, 2880, 60],
            "reminder_template": "visit_reminder_2",
            "stale_message_hours": 48,
        },
    )
    assert r.status_code == 200, r.text
    again = api.get(f"{API}/clinics/{clinic['id']}").json()
    assert again["reminder_minutes"] == [2880, 60]  # largest first, once each
    assert (again["reminder_template"], again["stale_message_hours"]) == ("visit_reminder_2", 48)
    # No reminders at all is a choice too.
    r = api.patch(f"{API}/clinics/{clinic['id']}", json={"reminder_minutes": []})
    assert r.status_code == 200, r.text
    assert api.get(f"{API}/clinics/{clinic['id']}").json()["reminder_minutes"] == []


def test_clinic_whatsapp_number_is_unique(api: httpx.Client) -> None:
    number = f"pnid-{uuid.uuid4().hex[:12]}"
    first = api.post(f"{API}/clinics", json={"name": "A", "whatsapp_phone_number_id": number})
    assert first.status_code == 201, first.text
    second = api.post(f"{API}/clinics", json={"name": "B", "whatsapp_phone_number_id": number})
    assert second.status_code == 409, second.text
    other = api.post(f"{API}/clinics", json={"name": "B"}).json()
    r = api.patch(f"{API}/clinics/{other['id']}", json={"whatsapp_phone_number_id": number})
    assert r.status_code == 409, r.text
    # A clinic may keep (re-send) its own number.
    same = api.patch(
        f"{API}/clinics/{first.json()['id']}", json={"whatsapp_phone_number_id": number}
    )
    assert same.status_code == 200, same.text


def test_clinic_unknown_id_is_404(api: httpx.Client) -> None:
    assert api.get(f"{API}/clinics/{UNKNOWN}").status_code == 404
    assert api.patch(f"{API}/clinics/{UNKNOWN}", json={"name": "X"}).status_code == 404


# doctors ---------------------------------------------------------------------------------


def test_doctor_create_read_list_update(api: httpx.Client, clinic: Clinic) -> None:
    r = api.post(
        f"{API}/doctors",
        json={"clinic_id": clinic.id, "name": "  Dr. Mehta ", "specialty": "Paediatrics"},
    )
    assert r.status_code == 201, r.text
    doctor = r.json()
    assert (doctor["name"], doctor["specialty"], doctor["active"], doctor["clinic_id"]) == (
        "Dr. Mehta",
        "Paediatrics",
        True,
        clinic.id,
    )
    assert api.get(f"{API}/doctors/{doctor['id']}").json() == doctor
    listed = api.get(f"{API}/doctors", params={"clinic_id": clinic.id}).json()
    assert sorted(d["id"] for d in listed) == sorted([*clinic.doctor_ids, doctor["id"]])

    r = api.patch(f"{API}/doctors/{doctor['id']}", json={"active": False, "specialty": "ENT"})
    assert r.status_code == 200, r.text
    assert (r.json()["active"], r.json()["specialty"], r.json()["name"]) == (
        False,
        "ENT",
        "Dr. Mehta",
    )


def test_doctor_errors(api: httpx.Client, clinic: Clinic) -> None:
    assert api.post(f"{API}/doctors", json={"clinic_id": UNKNOWN, "name": "X"}).status_code == 404
    assert api.get(f"{API}/doctors/{UNKNOWN}").status_code == 404
    assert api.patch(f"{API}/doctors/{UNKNOWN}", json={"name": "X"}).status_code == 404
    r = api.post(f"{API}/doctors", json={"clinic_id": clinic.id, "name": ""})
    assert r.status_code == 400
    assert _error_key(r) == "name"
    r = api.patch(f"{API}/doctors/{clinic.doctor}", json={"active": "yes"})
    assert r.status_code == 400
    assert _error_key(r) == "active"


# services --------------------------------------------------------------------------------


def test_service_create_read_list_update(api: httpx.Client, clinic: Clinic) -> None:
    r = api.post(
        f"{API}/services",
        json={
            "clinic_id": clinic.id,
            "name": "Vaccination",
            "duration_minutes": 20,
            "price": 750.5,
            "doctor_ids": [clinic.doctor_ids[1]],
        },
    )
    assert r.status_code == 201, r.text
    service = r.json()
    assert (service["duration_minutes"], service["price"], service["doctor_ids"]) == (
        20,
        750.5,
        [clinic.doctor_ids[1]],
    )
    assert api.get(f"{API}/services/{service['id']}").json() == service
    listed = api.get(f"{API}/services", params={"clinic_id": clinic.id}).json()
    assert sorted(s["id"] for s in listed) == sorted([*clinic.service_ids, service["id"]])

    r = api.patch(
        f"{API}/services/{service['id']}",
        json={"doctor_ids": clinic.doctor_ids, "price": 800, "active": False},
    )
    assert r.status_code == 200, r.text
    assert sorted(r.json()["doctor_ids"]) == sorted(clinic.doctor_ids)
    assert (r.json()["price"], r.json()["active"]) == (800, False)


def test_service_errors(api: httpx.Client, clinic: Clinic) -> None:
    base = {"clinic_id": clinic.id, "name": "X", "duration_minutes": 15}
    assert api.post(f"{API}/services", json={**base, "clinic_id": UNKNOWN}).status_code == 404
    r = api.post(f"{API}/services", json={**base, "doctor_ids": [UNKNOWN]})
    assert r.status_code == 400
    assert _error_key(r) == "doctor_ids"
    other = make_clinic_api(api, name="Other")
    r = api.post(f"{API}/services", json={**base, "doctor_ids": [other.doctor]})
    assert r.status_code == 400, "a doctor of another clinic cannot offer this clinic's service"
    r = api.post(f"{API}/services", json={**base, "duration_minutes": 2})
    assert r.status_code == 400
    assert _error_key(r) == "duration_minutes"
    r = api.post(f"{API}/services", json={**base, "price": -1})
    assert r.status_code == 400
    assert _error_key(r) == "price"
    r = api.patch(f"{API}/services/{clinic.service}", json={"doctor_ids": [UNKNOWN]})
    assert r.status_code == 400
    assert _error_key(r) == "doctor_ids"
    assert api.get(f"{API}/services/{UNKNOWN}").status_code == 404
    assert api.patch(f"{API}/services/{UNKNOWN}", json={"price": 1}).status_code == 404


# working hours ---------------------------------------------------------------------------


def test_working_hours_list_and_crud(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    listed = api.get(f"{API}/working-hours", params={"doctor_id": clinic.doctor}).json()
    assert len(listed) == 12  # Mon–Sat, morning and afternoon
    by_clinic = api.get(f"{API}/working-hours", params={"clinic_id": clinic.id}).json()
    assert len(by_clinic) == 24

    # Sunday evening hours for the first doctor.
    sunday = monday + timedelta(days=6)
    r = api.post(
        f"{API}/working-hours",
        json={"doctor_id": clinic.doctor, "weekday": 6, "start_time": "17:00", "end_time": "18:00"},
    )
    assert r.status_code == 201, r.text
    hours = r.json()
    assert (hours["weekday"], hours["start_time"], hours["end_time"]) == (6, "17:00", "18:00")
    assert api.get(f"{API}/working-hours/{hours['id']}").json() == hours
    assert _starts(_slots(api, clinic.doctor, sunday, clinic.service)) == [
        "17:00",
        "17:15",
        "17:30",
        "17:45",
    ]

    r = api.patch(f"{API}/working-hours/{hours['id']}", json={"end_time": "17:30"})
    assert r.status_code == 200, r.text
    assert r.json()["end_time"] == "17:30"
    assert _starts(_slots(api, clinic.doctor, sunday, clinic.service)) == ["17:00", "17:15"]

    r = api.delete(f"{API}/working-hours/{hours['id']}")
    assert r.status_code == 204, r.text
    assert api.get(f"{API}/working-hours/{hours['id']}").status_code == 404
    assert api.delete(f"{API}/working-hours/{hours['id']}").status_code == 404
    assert _slots(api, clinic.doctor, sunday, clinic.service) == []


def test_working_hours_until_midnight(api: httpx.Client, clinic: Clinic) -> None:
    r = api.post(
        f"{API}/working-hours",
        json={"doctor_id": clinic.doctor, "weekday": 6, "start_time": "23:00", "end_time": "24:00"},
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("start", "end"),
    [("12:00", "14:00"), ("08:00", "09:15"), ("09:00", "13:00"), ("10:00", "11:00")],
)
def test_working_hours_overlap_is_409(
    api: httpx.Client, clinic: Clinic, start: str, end: str
) -> None:
    r = api.post(
        f"{API}/working-hours",
        json={"doctor_id": clinic.doctor, "weekday": 0, "start_time": start, "end_time": end},
    )
    assert r.status_code == 409, r.text


def test_working_hours_touching_intervals_do_not_overlap(api: httpx.Client, clinic: Clinic) -> None:
    # 13:00–14:00 fills the lunch break exactly: touching is not overlapping.
    r = api.post(
        f"{API}/working-hours",
        json={"doctor_id": clinic.doctor, "weekday": 0, "start_time": "13:00", "end_time": "14:00"},
    )
    assert r.status_code == 201, r.text


def test_working_hours_patch_into_overlap_is_409(api: httpx.Client, clinic: Clinic) -> None:
    monday_hours = [
        h
        for h in api.get(f"{API}/working-hours", params={"doctor_id": clinic.doctor}).json()
        if h["weekday"] == 0
    ]
    morning = next(h for h in monday_hours if h["start_time"] == "09:00")
    r = api.patch(f"{API}/working-hours/{morning['id']}", json={"end_time": "14:30"})
    assert r.status_code == 409, r.text
    assert api.get(f"{API}/working-hours/{morning['id']}").json()["end_time"] == "13:00"


@pytest.mark.parametrize(("start", "end"), [("15:00", "14:00"), ("15:00", "15:00")])
def test_working_hours_start_not_before_end_is_400(
    api: httpx.Client, clinic: Clinic, start: str, end: str
) -> None:
    r = api.post(
        f"{API}/working-hours",
        json={"doctor_id": clinic.doctor, "weekday": 6, "start_time": start, "end_time": end},
    )
    assert r.status_code == 400, r.text
    assert _error_key(r) in {"start_time", "end_time"}
    hours = api.get(f"{API}/working-hours", params={"doctor_id": clinic.doctor}).json()[0]
    r = api.patch(f"{API}/working-hours/{hours['id']}", json={"end_time": hours["start_time"]})
    assert r.status_code == 400, r.text


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"weekday": 7}, "weekday"),
        ({"weekday": -1}, "weekday"),
        ({"start_time": "9:00"}, "start_time"),
        ({"start_time": "25:00"}, "start_time"),
        ({"end_time": "12:60"}, "end_time"),
    ],
)
def test_working_hours_bad_values_are_400(
    api: httpx.Client, clinic: Clinic, patch: dict[str, object], field: str
) -> None:
    body = {"doctor_id": clinic.doctor, "weekday": 6, "start_time": "10:00", "end_time": "11:00"}
    r = api.post(f"{API}/working-hours", json={**body, **patch})
    assert r.status_code == 400, r.text
    assert _error_key(r) == field


def test_working_hours_unknown_ids_are_404(api: httpx.Client) -> None:
    body = {"doctor_id": UNKNOWN, "weekday": 0, "start_time": "10:00", "end_time": "11:00"}
    assert api.post(f"{API}/working-hours", json=body).status_code == 404
    assert api.get(f"{API}/working-hours/{UNKNOWN}").status_code == 404
    assert api.patch(f"{API}/working-hours/{UNKNOWN}", json={"weekday": 1}).status_code == 404
    assert api.delete(f"{API}/working-hours/{UNKNOWN}").status_code == 404


# time off --------------------------------------------------------------------------------


def test_holiday_closes_every_doctor(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    r = api.post(
        f"{API}/time-off",
        json={
            "clinic_id": clinic.id,
            "starts_at": f"{monday}T00:00:00",
            "ends_at": f"{monday + timedelta(days=1)}T00:00:00",
            "reason": "Diwali",
        },
    )
    assert r.status_code == 201, r.text
    holiday = r.json()
    assert holiday["doctor_id"] is None
    assert holiday["starts_at"] == f"{monday}T00:00:00+05:30"
    assert holiday["reason"] == "Diwali"
    for doctor in clinic.doctor_ids:
        assert _slots(api, doctor, monday, clinic.service) == []
        assert _slots(api, doctor, monday + timedelta(days=1), clinic.service) != []
    booked = api.post(
        f"{API}/appointments",
        json={
            "clinic_id": clinic.id,
            "doctor_id": clinic.doctor,
            "service_id": clinic.service,
            "starts_at": f"{monday}T10:00:00",
            "patient_name": "Asha",
            "patient_phone": "98111 00001",
        },
    )
    assert booked.status_code == 400, booked.text
    assert _error_key(booked) == "starts_at"


def test_leave_closes_only_that_doctor(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    away, other = clinic.doctor_ids
    r = api.post(
        f"{API}/time-off",
        json={
            "clinic_id": clinic.id,
            "doctor_id": away,
            "starts_at": f"{monday}T09:00:00+05:30",
            "ends_at": f"{monday}T11:00:00+05:30",
            "reason": "Conference",
        },
    )
    assert r.status_code == 201, r.text
    leave = r.json()
    assert leave["doctor_id"] == away
    assert _starts(_slots(api, away, monday, clinic.service))[0] == "11:00"
    assert _starts(_slots(api, other, monday, clinic.service))[0] == "09:00"

    # Lists: by clinic, and by doctor (their leave plus the clinic's holidays).
    holiday = api.post(
        f"{API}/time-off",
        json={
            "clinic_id": clinic.id,
            "starts_at": f"{monday + timedelta(days=3)}T00:00",
            "ends_at": f"{monday + timedelta(days=4)}T00:00",
        },
    ).json()
    elsewhere = make_clinic_api(api, name="Holiday elsewhere")
    foreign = api.post(
        f"{API}/time-off",
        json={
            "clinic_id": elsewhere.id,
            "starts_at": f"{monday + timedelta(days=3)}T00:00",
            "ends_at": f"{monday + timedelta(days=4)}T00:00",
        },
    )
    assert foreign.status_code == 201, foreign.text
    ids = {t["id"] for t in api.get(f"{API}/time-off", params={"clinic_id": clinic.id}).json()}
    assert ids == {leave["id"], holiday["id"]}
    mine = {t["id"] for t in api.get(f"{API}/time-off", params={"doctor_id": other}).json()}
    assert mine == {holiday["id"]}, "a doctor's list holds their clinic's holidays, no other's"

    r = api.patch(f"{API}/time-off/{leave['id']}", json={"ends_at": f"{monday}T10:00:00"})
    assert r.status_code == 200, r.text
    assert r.json()["ends_at"] == f"{monday}T10:00:00+05:30"
    assert api.get(f"{API}/time-off/{leave['id']}").json() == r.json()
    assert _starts(_slots(api, away, monday, clinic.service))[0] == "10:00"

    assert api.delete(f"{API}/time-off/{leave['id']}").status_code == 204
    assert api.get(f"{API}/time-off/{leave['id']}").status_code == 404
    assert api.delete(f"{API}/time-off/{leave['id']}").status_code == 404
    assert _starts(_slots(api, away, monday, clinic.service))[0] == "09:00"


def test_time_off_ending_before_it_starts_is_400(
    api: httpx.Client, clinic: Clinic, monday: date
) -> None:
    r = api.post(
        f"{API}/time-off",
        json={
            "clinic_id": clinic.id,
            "starts_at": f"{monday}T12:00:00",
            "ends_at": f"{monday}T09:00:00",
        },
    )
    assert r.status_code == 400, r.text
    assert _error_key(r) == "ends_at"
    ok = api.post(
        f"{API}/time-off",
        json={"clinic_id": clinic.id, "starts_at": f"{monday}T12:00", "ends_at": f"{monday}T13:00"},
    ).json()
    r = api.patch(f"{API}/time-off/{ok['id']}", json={"starts_at": f"{monday}T14:00"})
    assert r.status_code == 400, r.text
    assert _error_key(r) == "ends_at"


@pytest.mark.parametrize("bad", ["tomorrow morning", "2026-13-01T10:00", "01/12/2026 10:00"])
def test_time_off_unreadable_time_is_400(api: httpx.Client, clinic: Clinic, bad: str) -> None:
    r = api.post(
        f"{API}/time-off",
        json={"clinic_id": clinic.id, "starts_at": bad, "ends_at": "2030-01-01T00:00"},
    )
    assert r.status_code == 400, r.text
    assert _error_key(r) == "starts_at"


def test_time_off_unknown_ids(api: httpx.Client, clinic: Clinic) -> None:
    span = {"starts_at": "2030-01-01T00:00", "ends_at": "2030-01-02T00:00"}
    assert api.post(f"{API}/time-off", json={"clinic_id": UNKNOWN, **span}).status_code == 404
    r = api.post(f"{API}/time-off", json={"clinic_id": clinic.id, "doctor_id": UNKNOWN, **span})
    assert r.status_code == 404
    other = make_clinic_api(api, name="Elsewhere")
    r = api.post(
        f"{API}/time-off", json={"clinic_id": clinic.id, "doctor_id": other.doctor, **span}
    )
    assert r.status_code == 404, "another clinic's doctor is not this clinic's"
    assert api.get(f"{API}/time-off/{UNKNOWN}").status_code == 404
    assert api.patch(f"{API}/time-off/{UNKNOWN}", json={"reason": "x"}).status_code == 404
    assert api.delete(f"{API}/time-off/{UNKNOWN}").status_code == 404


def test_time_off_from_the_distant_past_does_not_break_the_schedule(
    api: httpx.Client, clinic: Clinic, monday: date
) -> None:
    """An open-ended leave typed as "from year 1" must not poison every later day."""
    r = api.post(
        f"{API}/time-off",
        json={
            "clinic_id": clinic.id,
            "doctor_id": clinic.doctor,
            "starts_at": "0001-01-01T00:00:00",
            "ends_at": f"{monday}T11:00:00",
        },
    )
    assert r.status_code in (201, 400), r.text
    slots = api.get(
        f"{API}/doctors/{clinic.doctor}/slots",
        params={"date": monday.isoformat(), "service_id": clinic.service},
    )
    assert slots.status_code == 200, slots.text
    booked = api.post(
        f"{API}/appointments",
        json={
            "clinic_id": clinic.id,
            "doctor_id": clinic.doctor,
            "service_id": clinic.service,
            "starts_at": f"{monday}T12:00:00",
            "patient_phone": "98111 00002",
        },
    )
    assert booked.status_code == 201, booked.text


# slots -----------------------------------------------------------------------------------


def test_slots_follow_hours_breaks_and_bookings(
    api: httpx.Client, clinic: Clinic, monday: date
) -> None:
    consult, follow_up = clinic.service_ids
    slots = _slots(api, clinic.doctor, monday, consult)
    starts = _starts(slots)
    assert starts[0] == "09:00" and starts[-1] == "17:45"
    assert "13:00" not in starts and "12:45" in starts and "14:00" in starts
    assert len(starts) == 32
    assert slots[0] == {"start": f"{monday}T09:00:00+05:30", "end": f"{monday}T09:15:00+05:30"}
    # A 30-minute service cannot start at 12:45 (it would run into lunch).
    assert "12:45" not in _starts(_slots(api, clinic.doctor, monday, follow_up))

    booked = api.post(
        f"{API}/appointments",
        json={
            "clinic_id": clinic.id,
            "doctor_id": clinic.doctor,
            "service_id": follow_up,
            "starts_at": f"{monday}T10:00:00",
            "patient_name": "Ravi",
            "patient_phone": "98111 00003",
        },
    )
    assert booked.status_code == 201, booked.text
    after = _starts(_slots(api, clinic.doctor, monday, consult))
    assert "10:00" not in after and "10:15" not in after
    assert "09:45" in after and "10:30" in after
    assert "10:00" in _starts(_slots(api, clinic.doctor_ids[1], monday, consult))
    # Sunday: closed.
    assert _slots(api, clinic.doctor, monday + timedelta(days=6), consult) == []


def test_slots_of_an_inactive_doctor_are_empty(
    api: httpx.Client, clinic: Clinic, monday: date
) -> None:
    api.patch(f"{API}/doctors/{clinic.doctor}", json={"active": False})
    assert _slots(api, clinic.doctor, monday, clinic.service) == []


@pytest.mark.parametrize("bad", ["2026-13-01", "tomorrow", "01-12-2026", ""])
def test_slots_bad_date_is_400(api: httpx.Client, clinic: Clinic, bad: str) -> None:
    r = api.get(
        f"{API}/doctors/{clinic.doctor}/slots", params={"date": bad, "service_id": clinic.service}
    )
    assert r.status_code == 400, r.text
    assert _error_key(r) == "date", "the error names the query parameter the client sent"


def test_slots_missing_parameters_are_400(api: httpx.Client, clinic: Clinic) -> None:
    r = api.get(f"{API}/doctors/{clinic.doctor}/slots", params={"service_id": clinic.service})
    assert r.status_code == 400, r.text
    r = api.get(f"{API}/doctors/{clinic.doctor}/slots", params={"date": "2030-01-07"})
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_slots_at_the_ends_of_the_calendar_are_not_500(
    api: httpx.Client, clinic: Clinic, day: str
) -> None:
    r = api.get(
        f"{API}/doctors/{clinic.doctor}/slots", params={"date": day, "service_id": clinic.service}
    )
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert r.json() == []


def test_slots_unknown_doctor_or_service_is_404(api: httpx.Client, clinic: Clinic) -> None:
    params = {"date": "2030-01-07", "service_id": clinic.service}
    assert api.get(f"{API}/doctors/{UNKNOWN}/slots", params=params).status_code == 404
    r = api.get(f"{API}/doctors/{clinic.doctor}/slots", params={**params, "service_id": UNKNOWN})
    assert r.status_code == 404
    other = make_clinic_api(api, name="Far")
    r = api.get(
        f"{API}/doctors/{clinic.doctor}/slots", params={**params, "service_id": other.service}
    )
    assert r.status_code == 404, "another clinic's service"


def test_slots_service_not_offered_is_400(api: httpx.Client, clinic: Clinic, monday: date) -> None:
    only_second = api.post(
        f"{API}/services",
        json={
            "clinic_id": clinic.id,
            "name": "Dental cleaning",
            "duration_minutes": 45,
            "doctor_ids": [clinic.doctor_ids[1]],
        },
    ).json()
    params = {"date": monday.isoformat(), "service_id": only_second["id"]}
    r = api.get(f"{API}/doctors/{clinic.doctor}/slots", params=params)
    assert r.status_code == 400, r.text
    assert _error_key(r) == "service_id"
    assert api.get(f"{API}/doctors/{clinic.doctor_ids[1]}/slots", params=params).status_code == 200
