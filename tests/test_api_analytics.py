"""The analytics routes over real HTTP: every series against appointments of known status,
time and channel, in a clinic whose local dates differ from UTC's; the CSV export."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import TestClinic as Clinic
from tests.factories import make_clinic_api

API = "/api/v1"
# Bookings cannot be made in the past: next year's March and April, in Auckland.
YEAR = date.today().year + 1
RANGE = {"date_from": f"{YEAR}-03-01", "date_to": f"{YEAR}-04-30"}
JSON = dict[str, Any]


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@dataclass
class Booked:
    clinic: Clinic
    api: httpx.Client

    def patient(self, name: str, phone: str) -> str:
        body = {"clinic_id": self.clinic.id, "name": name, "phone": phone}
        return str(_ok(self.api.post(f"{API}/patients", json=body))["id"])

    def book(self, patient_id: str, starts_at: str, status: str, source: str, doctor: int) -> str:
        body = {
            "clinic_id": self.clinic.id,
            "doctor_id": self.clinic.doctor_ids[doctor],
            "service_id": self.clinic.service,
            "patient_id": patient_id,
            "starts_at": starts_at,
            "source": source,
        }
        made = _ok(self.api.post(f"{API}/appointments", json=body))
        if status != "confirmed":
            _ok(self.api.patch(f"{API}/appointments/{made['id']}", json={"status": status}))
        return str(made["id"])

    def analytics(self, **params: str) -> JSON:
        found: JSON = _ok(self.api.get(f"{API}/analytics", params=self.params(params)))
        return found

    def params(self, params: dict[str, str]) -> dict[str, str]:
        return {"clinic_id": self.clinic.id, **params}


def first(weekday: int, month: int) -> date:
    day = date(YEAR, month, 1)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


MON, TUE = first(0, 3), first(1, 3)
WED, THU = first(2, 4), first(3, 4)


@pytest.fixture
def booked(api: httpx.Client) -> Booked:
    """Auckland (UTC+12 or +13): 09:00 on a Monday is Sunday evening in UTC."""
    clinic = make_clinic_api(api, doctors=2, name="Analytics")
    _ok(
        api.patch(
            f"{API}/clinics/{clinic.id}", json={"timezone": "Pacific/Auckland", "horizon_days": 730}
        )
    )
    b = Booked(clinic, api)
    asha = b.patient("Asha Rao", "+919876500001")
    bala = b.patient("Bala Iyer", "+919876500002")
    chitra = b.patient('=HYPERLINK("http://x")', "+919876500003")
    dev = b.patient("@Dev Shah", "+919876500004")
    b.book(dev, f"{first(0, 2)}T09:00:00", "completed", "staff", 0)  # before the range
    b.book(asha, f"{MON}T09:00:00", "completed", "staff", 0)
    b.book(bala, f"{MON}T09:30:00", "no_show", "whatsapp", 0)
    b.book(chitra, f"{MON}T10:00:00", "cancelled", "walk-in", 1)
    b.book(bala, f"{TUE}T14:00:00", "completed", "walk-in", 1)
    b.book(asha, f"{WED}T09:00:00", "completed", "staff", 0)
    b.book(bala, f"{WED}T09:15:00", "confirmed", "whatsapp", 1)
    b.book(dev, f"{THU}T09:00:00", "completed", "staff", 0)
    return b


def test_every_series_counts_the_appointments_in_clinic_time(booked: Booked) -> None:
    found = booked.analytics(**RANGE)
    assert (found["date_from"], found["date_to"]) == (RANGE["date_from"], RANGE["date_to"])
    assert found["timezone"] == "Pacific/Auckland"
    assert found["stats"]["clinic_id"] == booked.clinic.id
    assert found["stats"]["total_appointments"] == 8  # the all-time clinic statistics

    days = found["appointments_per_day"]
    assert [d["date"] for d in days][:2] == [f"{YEAR}-03-01", f"{YEAR}-03-02"] and len(days) == 61
    busy = {d["date"]: (d["total"], d["completed"], d["cancelled"], d["no_show"]) for d in days}
    assert busy.pop(str(MON)) == (3, 1, 1, 1)  # local date; in UTC, the day before
    assert busy.pop(str(TUE)) == (1, 1, 0, 0)
    assert busy.pop(str(WED)) == (2, 1, 0, 0)
    assert busy.pop(str(THU)) == (1, 1, 0, 0)
    assert set(busy.values()) == {(0, 0, 0, 0)}

    assert found["new_vs_returning"] == [
        {"month": f"{YEAR}-03", "new": 2, "returning": 0},
        {"month": f"{YEAR}-04", "new": 0, "returning": 2},
    ]
    weekdays = {
        w["weekday"]: (w["no_shows"], w["completed"], w["rate"])
        for w in found["no_show_rate_by_weekday"]
    }
    assert weekdays == {
        0: (1, 1, 0.5), 1: (0, 1, 0.0), 2: (0, 1, 0.0), 3: (0, 1, 0.0),
        4: (0, 0, None), 5: (0, 0, None), 6: (0, 0, None),
    }  # fmt: skip
    doctors = [(d["doctor_name"], d["no_shows"], d["completed"], d["rate"])
               for d in found["no_show_rate_by_doctor"]]  # fmt: skip
    assert doctors == [("Dr. Test 0", 1, 3, 0.25), ("Dr. Test 1", 0, 1, 0.0)]
    assert [d["doctor_id"] for d in found["no_show_rate_by_doctor"]] == booked.clinic.doctor_ids
    assert found["busiest_hours"] == [
        {"weekday": 0, "hour": 9, "appointments": 2},  # local hours; cancelled left out
        {"weekday": 1, "hour": 14, "appointments": 1},
        {"weekday": 2, "hour": 9, "appointments": 2},
        {"weekday": 3, "hour": 9, "appointments": 1},
    ]
    assert found["bookings_by_channel"] == [
        {"source": "whatsapp", "appointments": 2},
        {"source": "staff", "appointments": 3},
        {"source": "walk-in", "appointments": 2},
    ]


def test_the_range_is_local_days_inclusive(booked: Booked) -> None:
    one_day = booked.analytics(date_from=str(MON), date_to=str(MON))
    assert [d["total"] for d in one_day["appointments_per_day"]] == [3]
    utc_day = booked.analytics(
        date_from=str(MON - timedelta(days=1)), date_to=str(MON - timedelta(days=1))
    )
    assert [d["total"] for d in utc_day["appointments_per_day"]] == [0]


def test_an_empty_range_is_all_zeros(booked: Booked) -> None:
    found = booked.analytics(date_from="2024-01-01", date_to="2024-02-15")
    assert len(found["appointments_per_day"]) == 46
    assert all(d["total"] == 0 for d in found["appointments_per_day"])
    assert found["new_vs_returning"] == [
        {"month": "2024-01", "new": 0, "returning": 0},
        {"month": "2024-02", "new": 0, "returning": 0},
    ]
    assert all(w["rate"] is None for w in found["no_show_rate_by_weekday"])
    assert [d["rate"] for d in found["no_show_rate_by_doctor"]] == [None, None]
    assert found["busiest_hours"] == []
    assert [c["appointments"] for c in found["bookings_by_channel"]] == [0, 0, 0]


def test_the_default_range_is_the_last_30_days(booked: Booked) -> None:
    found = booked.analytics()
    days = found["appointments_per_day"]
    assert len(days) == 30 and days[-1]["date"] == found["date_to"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2025-03-02", "date_to": "2025-03-01"}, "date_from"),
        ({"date_from": "2023-01-01", "date_to": "2025-01-02"}, "date_from"),
        ({"date_from": "2025-13-01"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "0001-01-01", "date_to": "0001-01-02"}, "date_from"),
        ({"date_to": "9999-12-31"}, "date_to"),
    ],
)
def test_bad_dates_are_400_naming_the_field(
    booked: Booked, params: dict[str, str], field: str
) -> None:
    for path in ("/analytics", "/analytics/appointments.csv"):
        r = booked.api.get(f"{API}{path}", params=booked.params(params))
        assert r.status_code == 400, r.text
        assert any(e["key"] == field for e in r.json()["extra"]), r.text


def test_two_years_is_the_longest_range(booked: Booked) -> None:
    found = booked.analytics(date_from="2023-05-01", date_to="2025-04-30")
    assert len(found["appointments_per_day"]) == 731


def test_unknown_clinic_404_and_no_token_401(booked: Booked, api: httpx.Client) -> None:
    r = api.get(f"{API}/analytics", params={"clinic_id": "nope"})
    assert r.status_code == 404, r.text
    bare = httpx.Client(base_url=str(api.base_url))
    for path in ("/analytics", "/analytics/appointments.csv"):
        assert bare.get(f"{API}{path}", params=booked.params({})).status_code == 401


def test_the_csv_lists_the_range_in_clinic_time_safe_for_spreadsheets(booked: Booked) -> None:
    r = booked.api.get(f"{API}/analytics/appointments.csv", params=booked.params(RANGE))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        f'attachment; filename="appointments-{YEAR}-03-01-to-{YEAR}-04-30.csv"'
    )
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == [
        "date", "time", "doctor", "service", "patient_name", "phone", "status", "source"
    ]  # fmt: skip
    assert rows[1] == [
        str(MON), "09:00", "Dr. Test 0", "Consultation", "Asha Rao", "'+919876500001",
        "completed", "staff",
    ]  # fmt: skip
    assert [(row[0], row[1], row[6]) for row in rows[2:]] == sorted(
        [
            (str(MON), "09:30", "no_show"),
            (str(MON), "10:00", "cancelled"),
            (str(TUE), "14:00", "completed"),
            (str(WED), "09:00", "completed"),
            (str(WED), "09:15", "confirmed"),
            (str(THU), "09:00", "completed"),
        ]
    )
    names = {row[4] for row in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in names and "'@Dev Shah" in names
    assert not any(cell[:1] in "=+-@" and cell for row in rows[1:] for cell in row)


def _simulated_turn(api: httpx.Client, clinic_id: str, **message: str) -> list[JSON]:
    body = {"clinic_id": clinic_id, "patient": "analytics", "name": "Sim Sam", **message}
    posted = _ok(api.post(f"{API}/simulator/messages", json=body))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        params: dict[str, str | int] = {"clinic_id": clinic_id, "patient": "analytics"}
        chat: list[JSON] = _ok(api.get(f"{API}/simulator/messages", params=params))
        mine = next((i for i, e in enumerate(chat) if e["id"] == posted["id"]), None)
        if mine is not None and chat[mine]["status"] is not None:
            return [e for e in chat[mine + 1 :] if e["direction"] == "out"]
        time.sleep(0.05)
    raise AssertionError(f"no answer to {message}")


def _first_choice(answer: JSON) -> str:
    inner = answer["payload"]["interactive"]
    if inner["type"] == "button":
        return str(inner["action"]["buttons"][0]["reply"]["id"])
    return str(inner["action"]["sections"][0]["rows"][0]["id"])


def test_simulated_bookings_are_left_out(api: httpx.Client) -> None:
    clinic = make_clinic_api(api, min_notice_minutes=0, name="Simulated")
    answers = _simulated_turn(api, clinic.id, text="Hi")
    for _ in range(7):  # a simulated patient always taking the first option books
        if "✅" in answers[-1]["text"]:
            break
        answers = _simulated_turn(api, clinic.id, choice_id=_first_choice(answers[-1]))
    params: dict[str, str | int] = {"clinic_id": clinic.id, "limit": 10}
    [appointment] = _ok(api.get(f"{API}/appointments", params=params))
    assert appointment["simulated"] is True
    _ok(api.patch(f"{API}/appointments/{appointment['id']}", json={"status": "completed"}))
    day = {"clinic_id": clinic.id, "date_from": appointment["date"], "date_to": appointment["date"]}
    found = _ok(api.get(f"{API}/analytics", params=day))
    assert found["appointments_per_day"][0]["total"] == 0
    assert found["new_vs_returning"][0] == {
        "month": appointment["date"][:7], "new": 0, "returning": 0
    }  # fmt: skip
    assert found["busiest_hours"] == []
    assert [c["appointments"] for c in found["bookings_by_channel"]] == [0, 0, 0]
    exported = api.get(f"{API}/analytics/appointments.csv", params=day)
    assert exported.status_code == 200 and len(exported.text.splitlines()) == 1
