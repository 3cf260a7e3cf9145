"""The Calendar: a doctor's week and day on a time grid, with the demo clinic's appointments,
free slots, holiday and leave; booking from a free slot; rescheduling by drag and drop or by
Move…, with Undo; the keys that walk it. Choices come from the server's own API, so the tests
hold whatever day of the week they run on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.ui.conftest import Console

TZ = ZoneInfo("Asia/Kolkata")
STATUS_WORDS = {"confirmed": "Confirmed", "arrived": "Arrived", "completed": "Completed"}
Row = dict[str, Any]


@dataclass(frozen=True)
class Clinic:
    id: str
    doctors: dict[str, Row]  # by name
    services: dict[str, Row]  # by name
    time_off: list[Row]

    def doctor(self, name: str) -> Row:
        return self.doctors[name]

    def service(self, name: str) -> Row:
        return self.services[name]


@pytest.fixture
def clinic(api: httpx.Client) -> Clinic:
    clinic_id = api.get("/api/v1/clinics").json()[0]["id"]
    doctors = api.get("/api/v1/doctors", params={"clinic_id": clinic_id}).json()
    services = api.get("/api/v1/services", params={"clinic_id": clinic_id}).json()
    time_off = api.get("/api/v1/time-off", params={"clinic_id": clinic_id}).json()
    return Clinic(
        clinic_id,
        {d["name"]: d for d in doctors},
        {s["name"]: s for s in services},
        time_off,
    )


def today() -> date:
    return datetime.now(TZ).date()


def local_day(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(TZ).date()


def clock(iso: str) -> str:
    """The time as the window writes it: 9:30 am, 2:05 pm."""
    t = datetime.fromisoformat(iso).astimezone(TZ)
    return f"{t.hour % 12 or 12}:{t.minute:02d} {'am' if t.hour < 12 else 'pm'}"


def same_instant(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def appointments(
    api: httpx.Client, clinic: Clinic, doctor: Row, first: date, last: date
) -> list[Row]:
    params = {
        "clinic_id": clinic.id,
        "doctor_id": doctor["id"],
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "limit": 1000,
    }
    rows: list[Row] = api.get("/api/v1/appointments", params=params).json()
    return rows


def slots(api: httpx.Client, doctor: Row, day: date, service: Row) -> list[Row]:
    params = {"date": day.isoformat(), "service_id": service["id"], "staff": "true"}
    rows: list[Row] = api.get(f"/api/v1/doctors/{doctor['id']}/slots", params=params).json()
    return rows


def offered(clinic: Clinic, doctor: Row) -> list[Row]:
    """The doctor's services in the API's order: the calendar's picker starts on the first."""
    return [
        s
        for s in clinic.services.values()
        if s["active"] and (not s["doctor_ids"] or doctor["id"] in s["doctor_ids"])
    ]


def open_calendar(page: Page, **query: str) -> None:
    page.evaluate("h => { location.hash = h }", "#/calendar?" + str(httpx.QueryParams(query)))
    expect(page).to_have_title(re.compile(r"^Calendar · "))
    expect(page.locator(".cal-grid")).to_be_visible()
    expect(page.locator(".cal-grid.stale")).to_have_count(0)


def free_cell(page: Page, slot: Row) -> Locator:
    return page.locator(f'.cal-free[data-start="{slot["start"]}"]')


def a_day_to_move_on(api: httpx.Client, clinic: Clinic, doctor: Row) -> tuple[Row, Row]:
    """A confirmed appointment after today and a free time its own service fits on that day."""
    holidays = {local_day(t["starts_at"]) for t in clinic.time_off}
    for n in range(1, 8):
        day = today() + timedelta(days=n)
        if day in holidays:
            continue
        for a in appointments(api, clinic, doctor, day, day):
            if a["status"] != "confirmed":
                continue
            service = next(s for s in clinic.services.values() if s["id"] == a["service_id"])
            free = slots(api, doctor, day, service)
            if free:
                return a, free[len(free) // 2]
    raise AssertionError("the demo has no confirmed appointment to move in the coming week")


# ---- what the week shows -------------------------------------------------------------------------


def test_the_week_shows_appointments_free_slots_the_holiday_and_a_doctors_leave(
    staff: Page, api: httpx.Client, clinic: Clinic
) -> None:
    holiday = next(
        t for t in clinic.time_off if t["doctor_id"] is None and local_day(t["starts_at"]) > today()
    )
    leave = next(t for t in clinic.time_off if t["doctor_id"] is not None)
    sharma = clinic.doctor("Dr. Anil Sharma")
    day = local_day(holiday["starts_at"])
    monday = day - timedelta(days=day.weekday())
    week = [monday + timedelta(days=i) for i in range(7)]
    open_calendar(staff, doctor=sharma["id"], date=day.isoformat())

    # Every visit of the week is a block, named with its time, patient and status.
    shown = [
        a
        for a in appointments(api, clinic, sharma, week[0], week[-1])
        if a["status"] != "cancelled"
    ]
    assert shown, "the demo should have visits in the holiday's week"
    blocks = staff.locator(".cal-appt")
    expect(blocks).to_have_count(len(shown))
    for a in shown[:6]:
        name = re.compile(
            rf"^{re.escape(clock(a['starts_at']))} {re.escape(a['patient_name'])}, .*, "
            rf"{STATUS_WORDS[a['status']]}$"
        )
        expect(staff.get_by_role("button", name=name)).to_be_visible()

    # The free starts of the doctor's first service, day by day, and none on the holiday.
    first_service = offered(clinic, sharma)[0]
    expect(staff.get_by_label("Free slots for")).to_have_value(first_service["id"])
    free = {d: slots(api, sharma, d, first_service) for d in week}
    assert free[day] == []
    expect(staff.get_by_role("button", name=re.compile(r"^Free "))).to_have_count(
        sum(map(len, free.values()))
    )
    busiest = max(week, key=lambda d: len(free[d]))
    header = rf"\b{busiest.day} \w+, \d{{4}}, {len(free[busiest])} free$"
    expect(staff.get_by_role("button", name=re.compile(header))).to_be_visible()

    # The holiday: its column says so, and a striped block carries the reason.
    closed = staff.get_by_role("group", name=re.compile(re.escape(holiday["reason"])))
    expect(closed).to_have_count(1)
    expect(closed.locator(".cal-off.holiday")).to_contain_text("Clinic holiday")
    expect(staff.get_by_role("button", name=re.compile(r"Clinic closed$"))).to_have_count(1)

    # Another doctor, another day: Dr. Iyer's leave, with its reason.
    iyer = next(d for d in clinic.doctors.values() if d["id"] == leave["doctor_id"])
    staff.get_by_label("Doctor").select_option(iyer["id"])
    staff.get_by_label("Go to day").fill(local_day(leave["starts_at"]).isoformat())
    away = staff.get_by_role("group", name=re.compile(re.escape(leave["reason"])))
    expect(away.first).to_be_visible()
    expect(away.first.locator(".cal-off")).to_contain_text(leave["reason"])
    expect(staff.get_by_role("button", name=re.compile(r"On leave$")).first).to_be_visible()
    assert f"doctor={iyer['id']}" in staff.url


def test_a_day_the_doctor_does_not_work_says_so(staff: Page, clinic: Clinic) -> None:
    mehta = clinic.doctor("Dr. Rajesh Mehta")  # Mondays, Wednesdays and Fridays only
    tuesday = today() + timedelta(days=(1 - today().weekday()) % 7 or 7)
    open_calendar(staff, doctor=mehta["id"], view="day", date=tuesday.isoformat())
    expect(
        staff.get_by_role("group", name=re.compile("No working hours on Tuesdays"))
    ).to_be_visible()
    expect(staff.get_by_role("button", name=re.compile(r"Not working$"))).to_be_visible()
    expect(staff.get_by_role("button", name=re.compile(r"^Free "))).to_have_count(0)


# ---- rescheduling --------------------------------------------------------------------------------


def test_drag_an_appointment_onto_a_free_slot_moves_it_and_undo_puts_it_back(
    staff: Page, api: httpx.Client, clinic: Clinic
) -> None:
    sharma = clinic.doctor("Dr. Anil Sharma")
    a, slot = a_day_to_move_on(api, clinic, sharma)
    open_calendar(staff, doctor=sharma["id"], view="day", date=a["date"], service=a["service_id"])
    block = staff.get_by_role(
        "button",
        name=re.compile(rf"^{re.escape(clock(a['starts_at']))} {re.escape(a['patient_name'])},"),
    )
    target = free_cell(staff, slot)
    expect(target).to_have_accessible_name(
        re.compile(rf"^Free {re.escape(clock(slot['start']))}, ")
    )

    block.drag_to(target)
    toast = staff.get_by_role("status").filter(has_text=f"Moved {a['patient_name']} to")
    expect(toast).to_contain_text(clock(slot["start"]))
    moved = api.get(f"/api/v1/appointments/{a['id']}").json()
    assert same_instant(moved["starts_at"], slot["start"])
    expect(
        staff.get_by_role(
            "button",
            name=re.compile(rf"^{re.escape(clock(slot['start']))} {re.escape(a['patient_name'])},"),
        )
    ).to_be_visible()

    toast.get_by_role("button", name="Undo").click()
    expect(
        staff.get_by_role("status").filter(has_text=f"Moved {a['patient_name']} back")
    ).to_be_visible()
    back = api.get(f"/api/v1/appointments/{a['id']}").json()
    assert same_instant(back["starts_at"], a["starts_at"])
    expect(block).to_be_visible()
    expect(target).to_be_visible()  # free again


def test_move_from_the_details_by_keyboard(staff: Page, api: httpx.Client, clinic: Clinic) -> None:
    iyer = clinic.doctor("Dr. Priya Iyer")
    a, slot = a_day_to_move_on(api, clinic, iyer)
    open_calendar(staff, doctor=iyer["id"], date=a["date"])
    staff.get_by_role(
        "button",
        name=re.compile(rf"^{re.escape(clock(a['starts_at']))} {re.escape(a['patient_name'])},"),
    ).focus()
    staff.keyboard.press("Enter")
    details = staff.get_by_role("dialog", name=f"Appointment: {a['patient_name']}")
    expect(details).to_contain_text("Confirmed")
    expect(details.get_by_role("button", name="Open patient")).to_be_visible()
    details.get_by_role("button", name="Move…").click()

    mover = staff.get_by_role("dialog", name=f"Move {a['patient_name']}'s appointment")
    mover.get_by_role("radio", name=clock(slot["start"]), exact=True).click()
    mover.get_by_role("button", name=re.compile(r"^Move Ctrl")).click()
    expect(mover).to_be_hidden()
    expect(
        staff.get_by_role("status").filter(has_text=f"Moved {a['patient_name']} to")
    ).to_be_visible()
    assert same_instant(
        api.get(f"/api/v1/appointments/{a['id']}").json()["starts_at"], slot["start"]
    )
    expect(
        staff.get_by_role(
            "button",
            name=re.compile(rf"^{re.escape(clock(slot['start']))} {re.escape(a['patient_name'])},"),
        )
    ).to_be_visible()


def test_dropping_where_the_visit_does_not_fit_shows_the_servers_reason(
    staff: Page, api: httpx.Client, clinic: Clinic, console: Console
) -> None:
    sharma = clinic.doctor("Dr. Anil Sharma")
    short, long = (
        clinic.service("General Consultation"),
        clinic.service("Full Body Health Check-up"),
    )
    day, start = a_half_hour_free(api, sharma, long)
    # A visit 15 minutes after `start`, and a 30-minute check-up later that day: `start`
    # stays free for a 15-minute consultation, but the check-up no longer fits there.
    blocker = api.post(
        "/api/v1/appointments",
        json=booking(clinic, sharma, short, plus(start, 15), "Kiran Blocker", "9812300001"),
    )
    assert blocker.status_code == 201, blocker.text
    # Near enough for both to be in sight: a drag does not scroll the grid by itself.
    later = next(
        s["start"]
        for s in slots(api, sharma, day, long)
        if datetime.fromisoformat(s["start"]) >= datetime.fromisoformat(start) + timedelta(hours=1)
    )
    made = api.post(
        "/api/v1/appointments",
        json=booking(clinic, sharma, long, later, "Meena Checkup", "9812300002"),
    )
    assert made.status_code == 201, made.text
    checkup = made.json()

    open_calendar(staff, doctor=sharma["id"], view="day", date=day.isoformat(), service=short["id"])
    staff.get_by_role("button", name=re.compile(r"Meena Checkup,")).drag_to(
        free_cell(staff, {"start": start})
    )
    console.allow(r"409")
    expect(
        staff.get_by_role("alert").filter(has_text="Could not move Meena Checkup")
    ).to_contain_text("already has an appointment at that time")
    assert (
        api.get(f"/api/v1/appointments/{checkup['id']}").json()["starts_at"] == checkup["starts_at"]
    )
    expect(
        staff.get_by_role(
            "button", name=re.compile(rf"^{re.escape(clock(checkup['starts_at']))} Meena Checkup,")
        )
    ).to_be_visible()


def a_half_hour_free(api: httpx.Client, doctor: Row, service: Row) -> tuple[date, str]:
    """A day from the day after tomorrow with room to spare, and its first free half hour."""
    for n in range(2, 9):
        day = today() + timedelta(days=n)
        free = slots(api, doctor, day, service)
        if len(free) >= 6:
            return day, free[0]["start"]
    raise AssertionError(f"{doctor['name']} has no free day in the coming week")


def booking(clinic: Clinic, doctor: Row, service: Row, start: str, name: str, phone: str) -> Row:
    return {
        "clinic_id": clinic.id,
        "doctor_id": doctor["id"],
        "service_id": service["id"],
        "starts_at": start,
        "patient_name": name,
        "patient_phone": phone,
        "source": "staff",
    }


def plus(iso: str, minutes: int) -> str:
    return (datetime.fromisoformat(iso) + timedelta(minutes=minutes)).isoformat()


# ---- booking -------------------------------------------------------------------------------------


def test_click_a_free_slot_and_book_a_patient(
    staff: Page, api: httpx.Client, clinic: Clinic
) -> None:
    sharma = clinic.doctor("Dr. Anil Sharma")
    service = offered(clinic, sharma)[0]
    day = next(
        d
        for d in (today() + timedelta(days=n) for n in range(1, 8))
        if slots(api, sharma, d, service)
    )
    slot = slots(api, sharma, day, service)[-1]
    open_calendar(staff, doctor=sharma["id"], date=day.isoformat())
    free_cell(staff, slot).click()

    dialog = staff.get_by_role("dialog", name="New booking")
    expect(dialog.get_by_role("radio", name=clock(slot["start"]), exact=True)).to_be_checked()
    expect(dialog.get_by_label("Doctor")).to_have_value(sharma["id"])
    expect(dialog.get_by_label("Service")).to_have_value(service["id"])
    dialog.get_by_label("Patient name").fill("Farhan Qureshi")
    dialog.get_by_label("Patient phone").fill("98123 45670")
    dialog.get_by_role("button", name=re.compile(r"^Book Ctrl")).click()
    expect(dialog).to_be_hidden()

    expect(
        staff.get_by_role(
            "button",
            name=re.compile(
                rf"^{re.escape(clock(slot['start']))} Farhan Qureshi, {service['name']}, Confirmed$"
            ),
        )
    ).to_be_visible()
    expect(free_cell(staff, slot)).to_have_count(0)
    made = [
        a
        for a in appointments(api, clinic, sharma, day, day)
        if a["patient_name"] == "Farhan Qureshi"
    ]
    assert len(made) == 1 and same_instant(made[0]["starts_at"], slot["start"])


def test_a_booking_made_elsewhere_appears_by_itself(
    staff: Page, api: httpx.Client, clinic: Clinic
) -> None:
    iyer = clinic.doctor("Dr. Priya Iyer")
    service = clinic.service("Follow-up Visit")
    day = next(
        d
        for d in (today() + timedelta(days=n) for n in range(1, 8))
        if slots(api, iyer, d, service)
    )
    open_calendar(staff, doctor=iyer["id"], view="day", date=day.isoformat())
    start = slots(api, iyer, day, service)[0]["start"]
    made = api.post(
        "/api/v1/appointments",
        json=booking(clinic, iyer, service, start, "Zoya Live", "9812300003"),
    )
    assert made.status_code == 201, made.text
    expect(
        staff.get_by_role(
            "button",
            name=re.compile(rf"^{re.escape(clock(start))} Zoya Live, Follow-up Visit, Confirmed$"),
        )
    ).to_be_visible()


# ---- walking the calendar ------------------------------------------------------------------------


def test_day_and_week_views_and_the_arrow_keys(staff: Page, clinic: Clinic) -> None:
    sharma = clinic.doctor("Dr. Anil Sharma")
    start = today() + timedelta(days=14)
    monday = start - timedelta(days=start.weekday())
    open_calendar(staff, doctor=sharma["id"], date=start.isoformat())
    days = staff.locator(".cal-day")
    expect(days).to_have_count(7)
    expect(staff.get_by_role("button", name="Week", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )

    staff.keyboard.press("d")
    expect(days).to_have_count(1)
    expect(staff).to_have_url(
        re.compile(rf"view=day.*date={start.isoformat()}|date={start.isoformat()}.*view=day")
    )
    staff.keyboard.press("ArrowRight")
    expect(staff).to_have_url(re.compile(rf"date={(start + timedelta(days=1)).isoformat()}"))
    staff.get_by_role("button", name="Previous day").click()
    staff.get_by_role("button", name="Previous day").click()
    expect(staff).to_have_url(re.compile(rf"date={(start - timedelta(days=1)).isoformat()}"))

    staff.keyboard.press("w")
    expect(days).to_have_count(7)
    expect(staff).not_to_have_url(re.compile("view=day"))
    staff.keyboard.press("ArrowLeft")
    expect(staff).to_have_url(re.compile(rf"date={(start - timedelta(days=8)).isoformat()}"))
    week_before = monday - timedelta(days=7)
    expect(days.first).to_have_attribute("aria-label", re.compile(rf"^\w+, {week_before.day} "))
    staff.get_by_role("button", name="Next week").click()
    expect(staff).to_have_url(re.compile(rf"date={(start - timedelta(days=1)).isoformat()}"))

    staff.keyboard.press("t")
    expect(staff).not_to_have_url(re.compile("date="))
    expect(staff.get_by_role("button", name="Today", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(staff.locator(".cal-day.today")).to_have_count(1)

    staff.get_by_role("button", name="Day", exact=True).click()
    expect(days).to_have_count(1)
    staff.keyboard.press("n")
    dialog = staff.get_by_role("dialog", name="New booking")
    expect(dialog.get_by_label("Doctor")).to_have_value(sharma["id"])
    staff.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
