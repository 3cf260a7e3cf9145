"""Today, as the receptionist uses it: a walk-in booked in seconds, one-key status changes
with Undo, the patient's counters following, and the printable day list."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, expect

from tests.whatsapp_flow import settled

JSON = dict[str, Any]


def doctors_of(api: httpx.Client, clinic: JSON) -> list[JSON]:
    found: list[JSON] = api.get("/api/v1/doctors", params={"clinic_id": clinic["id"]}).json()
    return found


def offered(api: httpx.Client, clinic: JSON, doctor: JSON) -> JSON:
    services: list[JSON] = api.get("/api/v1/services", params={"clinic_id": clinic["id"]}).json()
    return next(
        s
        for s in services
        if s["active"] and (not s["doctor_ids"] or doctor["id"] in s["doctor_ids"])
    )


def day_with_free_time(api: httpx.Client, clinic: JSON, doctor: JSON) -> str:
    """The first day, from the clinic's today, on which the desk can book this doctor."""
    service = offered(api, clinic, doctor)
    today = datetime.now(ZoneInfo(clinic["timezone"])).date()
    for offset in range(30):
        day = (today + timedelta(days=offset)).isoformat()
        slots = api.get(
            f"/api/v1/doctors/{doctor['id']}/slots",
            params={"date": day, "service_id": service["id"], "staff": "true"},
        ).json()
        if slots:
            return day
    raise AssertionError("no free time in 30 days")


def day_list(api: httpx.Client, clinic: JSON, day: str) -> list[JSON]:
    found: list[JSON] = api.get(
        "/api/v1/appointments", params={"clinic_id": clinic["id"], "date": day}
    ).json()
    return found


def go_to_day(page: Page, day: str) -> None:
    page.evaluate("d => { location.hash = '#/today?date=' + d }", day)
    expect(page.get_by_label("Go to day")).to_have_value(day)


def queue(page: Page, doctor: JSON) -> Any:
    return page.get_by_role("region", name=f"{doctor['name']}'s queue")


def test_a_walk_in_is_booked_from_the_keyboard_then_arrives_and_is_seen(
    staff: Page, api: httpx.Client, clinic: JSON
) -> None:
    doctor = doctors_of(api, clinic)[0]
    day = day_with_free_time(api, clinic, doctor)
    go_to_day(staff, day)
    staff.keyboard.press("n")
    dialog = staff.get_by_role("dialog", name="New booking")
    expect(dialog.get_by_label("Find patient")).to_be_focused()
    staff.keyboard.type("Ravi Walkin")
    dialog.get_by_label("Patient phone").fill("98111 22334")
    expect(dialog.get_by_role("radio", checked=True)).to_be_visible()  # the first free time
    chosen = dialog.get_by_role("radio", checked=True).inner_text()
    staff.keyboard.press("Control+Enter")
    expect(dialog).to_be_hidden()

    row = queue(staff, doctor).get_by_role("row").filter(has_text="Ravi Walkin")
    expect(row).to_contain_text(chosen)
    expect(row).to_contain_text("Walk-in")
    expect(row).to_contain_text("Confirmed")
    [booked] = [
        a
        for a in api.get(
            "/api/v1/appointments", params={"clinic_id": clinic["id"], "date": day}
        ).json()
        if a["patient_name"] == "Ravi Walkin"
    ]
    assert booked["source"] == "walk-in" and booked["patient_phone"] == "+919811122334"
    patient = api.get(f"/api/v1/patients/{booked['patient_id']}").json()
    assert patient["total_visits"] == 0

    row.click()
    staff.keyboard.press("a")
    expect(row).to_contain_text("Arrived")
    staff.keyboard.press("c")
    expect(row).to_contain_text("Completed")

    # The screen changes at once; the server's answer follows.
    def counted() -> JSON | None:
        found: JSON = api.get(f"/api/v1/patients/{booked['patient_id']}").json()
        return found if found["total_visits"] == 1 else None

    patient = settled(counted, "the visit counted")  # the screen changes first, then the server
    assert patient["last_visit_date"] == day

    # The caller's counters, as the search shows them to the receptionist.
    staff.keyboard.press("/")
    staff.keyboard.type("98111")
    found = staff.get_by_role("listbox", name="Patients found").get_by_role("option")
    expect(found.filter(has_text="Ravi Walkin")).to_contain_text("1 visit")


def test_cancel_with_delete_then_undo_puts_it_back(
    staff: Page, api: httpx.Client, clinic: JSON
) -> None:
    doctor = doctors_of(api, clinic)[1]
    day = day_with_free_time(api, clinic, doctor)
    service = offered(api, clinic, doctor)
    slot = api.get(
        f"/api/v1/doctors/{doctor['id']}/slots",
        params={"date": day, "service_id": service["id"], "staff": "true"},
    ).json()[0]
    made = api.post(
        "/api/v1/appointments",
        json={
            "clinic_id": clinic["id"],
            "doctor_id": doctor["id"],
            "service_id": service["id"],
            "starts_at": slot["start"],
            "patient_name": "Meera Undo",
            "patient_phone": "98222 33445",
        },
    )
    assert made.status_code == 201
    go_to_day(staff, day)
    row = queue(staff, doctor).get_by_role("row").filter(has_text="Meera Undo")
    row.click()
    staff.keyboard.press("Delete")
    expect(row).to_be_hidden()  # cancelled rows leave the queue (a box shows them)
    status_of = f"/api/v1/appointments/{made.json()['id']}"
    settled(lambda: api.get(status_of).json()["status"] == "cancelled" or None, "cancelled")
    staff.get_by_role("status").filter(has_text="Meera Undo").get_by_role(
        "button", name="Undo"
    ).click()
    expect(row).to_contain_text("Confirmed")
    settled(lambda: api.get(status_of).json()["status"] == "confirmed" or None, "confirmed")


def test_arrow_keys_change_the_day_and_t_comes_back(staff: Page, clinic: JSON) -> None:
    today = datetime.now(ZoneInfo(clinic["timezone"])).date()
    expect(staff.get_by_label("Go to day")).to_have_value(today.isoformat())
    staff.keyboard.press("ArrowRight")
    expect(staff.get_by_label("Go to day")).to_have_value((today + timedelta(days=1)).isoformat())
    staff.keyboard.press("ArrowLeft")
    staff.keyboard.press("ArrowLeft")
    expect(staff.get_by_label("Go to day")).to_have_value((today - timedelta(days=1)).isoformat())
    staff.keyboard.press("t")
    expect(staff.get_by_role("heading", name="Today", exact=True)).to_be_visible()


def test_the_day_list_prints_each_doctors_patients(
    staff: Page, api: httpx.Client, clinic: JSON
) -> None:
    doctor = doctors_of(api, clinic)[0]
    day = day_with_free_time(api, clinic, doctor)
    go_to_day(staff, day)
    staff.keyboard.press("p")
    expect(staff).to_have_title(re.compile(r"^Day list · "))
    sheet = staff.get_by_role("region", name=f"Day list for {doctor['name']}")
    booked = [
        a
        for a in api.get(
            "/api/v1/appointments", params={"clinic_id": clinic["id"], "date": day}
        ).json()
        if a["doctor_id"] == doctor["id"] and a["status"] != "cancelled"
    ]
    if booked:
        expect(sheet.get_by_role("row")).to_have_count(len(booked) + 1)
        expect(sheet).to_contain_text(booked[0]["patient_name"])
    else:
        expect(sheet).to_contain_text("Nobody is booked")
    staff.emulate_media(media="print")
    expect(staff.get_by_role("navigation", name="Screens")).to_be_hidden()
    expect(sheet).to_be_visible()
    staff.emulate_media(media="screen")
