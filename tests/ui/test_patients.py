"""Patients, as the front desk uses it: find a caller by a few digits of their phone, read
their counters and history, correct their record (with errors shown at the field), add a
new patient (and be sent to the one who already has that phone), watch the counters move
when a visit is marked elsewhere, and read their WhatsApp thread."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.ui.conftest import Console
from tests.whatsapp_flow import settled

JSON = dict[str, Any]
# A patient without a WhatsApp conversation: GET /conversations/<id> answers 404, which is
# how the profile learns to say "No WhatsApp messages yet" (Chromium logs it as an error).
NO_THREAD = r"status of 404"


def patients(api: httpx.Client, clinic: JSON, **params: str | int) -> list[JSON]:
    found: list[JSON] = api.get(
        "/api/v1/patients", params={"clinic_id": clinic["id"], "limit": 500, **params}
    ).json()
    return found


def patient(api: httpx.Client, patient_id: str) -> JSON:
    found: JSON = api.get(f"/api/v1/patients/{patient_id}").json()
    return found


def unused_mobile(api: httpx.Client, clinic: JSON, start: str) -> str:
    """A 10-digit Indian mobile number no patient of the clinic has."""
    candidates = (f"{start}{k:03d}43210" for k in range(100, 999))
    return next(n for n in candidates if not patients(api, clinic, q=n))


def has_thread(api: httpx.Client, patient_id: str) -> bool:
    return api.get(f"/api/v1/conversations/{patient_id}").status_code == 200


def history(api: httpx.Client, patient_id: str) -> list[JSON]:
    found: list[JSON] = api.get(f"/api/v1/patients/{patient_id}/appointments").json()
    return found


def upcoming_confirmed(api: httpx.Client, clinic: JSON) -> list[JSON]:
    """Confirmed appointments still to come, one per patient, soonest last."""
    now = datetime.now().astimezone()
    found: list[JSON] = api.get(
        "/api/v1/appointments",
        params={
            "clinic_id": clinic["id"],
            "status": "confirmed",
            "date_from": now.date().isoformat(),
            "limit": 1000,
        },
    ).json()
    future = [a for a in found if datetime.fromisoformat(a["starts_at"]) > now]
    by_patient = {a["patient_id"]: a for a in sorted(future, key=lambda a: a["starts_at"])}
    return list(by_patient.values())


def shell_ready(page: Page) -> None:
    """A screen is shown, so the shell listens for route changes and shortcuts (it starts
    listening just after its first paint: a key pressed before that is lost)."""
    expect(page.get_by_role("main").get_by_role("heading", level=1).first).to_be_visible()


def form(page: Page, title: str) -> Locator:
    """A patient form, once it has put the cursor in Name (it does so just after it shows:
    typing into another field before that would lose the keystrokes to Name)."""
    dialog = page.get_by_role("dialog", name=title, exact=True)
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    return dialog


def open_screen(page: Page, hash_path: str) -> None:
    shell_ready(page)
    page.evaluate("h => { location.hash = h }", hash_path)


def counter(page: Page, label: str) -> Locator:
    return page.get_by_role("group", name=label).locator(".value")


def expect_counters(page: Page, p: JSON) -> None:
    expect(page.get_by_role("heading", level=1, name=p["name"], exact=True)).to_be_visible()
    expect(counter(page, "Visits")).to_have_text(str(p["total_visits"]))
    expect(counter(page, "Cancellations")).to_have_text(str(p["total_cancellations"]))
    expect(counter(page, "No-shows")).to_have_text(str(p["total_no_shows"]))
    seen = p["total_visits"] + p["total_no_shows"]
    # Half up, as the screen rounds (Python's round() would take 12.5 to 12).
    rate = f"{math.floor(100 * p['total_no_shows'] / seen + 0.5)}%" if seen else "—"
    expect(counter(page, "No-show rate")).to_have_text(rate)


def test_digits_from_the_middle_of_a_phone_find_the_patient_whose_counters_match_the_api(
    staff: Page, api: httpx.Client, clinic: JSON, console: Console
) -> None:
    console.allow(NO_THREAD)
    wanted = next(
        p
        for p in patients(api, clinic)[30:]
        if p["total_no_shows"] > 0 and not has_thread(api, p["id"])
    )
    fragment = wanted["phone"][-8:-3]  # five digits from the middle of +91XXXXXXXXXX
    shell_ready(staff)
    staff.keyboard.press("3")
    search = staff.get_by_role("searchbox", name="Find a patient")
    expect(search).to_be_focused()
    search.press_sequentially(fragment)
    found = staff.get_by_role("table", name=f"Patients matching {fragment}")
    found.get_by_role("link", name=wanted["name"]).click()
    expect_counters(staff, patient(api, wanted["id"]))
    expect(staff.get_by_role("region", name="WhatsApp messages")).to_contain_text(
        "No WhatsApp messages yet"
    )


def test_arrow_keys_and_enter_open_a_patient_and_escape_returns_to_the_same_search(
    staff: Page, api: httpx.Client, clinic: JSON, console: Console
) -> None:
    console.allow(NO_THREAD)
    matches = patients(api, clinic, q="sha")
    assert len(matches) >= 2, "the demo clinic has several patients named …sha…"
    open_screen(staff, "#/patients")
    search = staff.get_by_role("searchbox", name="Find a patient")
    search.press_sequentially("sha")
    rows = staff.get_by_role("table", name="Patients matching sha").locator("tbody tr")
    expect(rows).to_have_count(min(len(matches), 50))
    search.press("ArrowDown")
    search.press("Enter")
    expect(
        staff.get_by_role("heading", level=1, name=matches[1]["name"], exact=True)
    ).to_be_visible()
    staff.keyboard.press("Escape")
    expect(staff.get_by_role("searchbox", name="Find a patient")).to_have_value("sha")
    expect(rows.first).to_contain_text(matches[0]["name"])


def test_without_a_search_the_list_pages_through_patients_by_name(
    staff: Page, api: httpx.Client, clinic: JSON
) -> None:
    everyone = patients(api, clinic)
    assert len(everyone) > 50
    open_screen(staff, "#/patients")
    listed = staff.get_by_role("table", name="Patients by name")
    expect(listed.locator("tbody tr").first).to_contain_text(everyone[0]["name"])
    staff.get_by_role("button", name="Next ›").click()
    expect(listed.locator("tbody tr").first).to_contain_text(everyone[50]["name"])
    expect(staff.get_by_text("51–100 by name")).to_be_visible()


def test_editing_a_name_saves_it_and_an_impossible_phone_is_refused_at_the_field(
    staff: Page, api: httpx.Client, clinic: JSON, console: Console
) -> None:
    console.allow(NO_THREAD)
    console.allow(r"status of 400")  # the impossible phone, refused by the server
    p = patients(api, clinic)[40]
    open_screen(staff, f"#/patients/{p['id']}")
    expect(staff.get_by_role("heading", level=1, name=p["name"], exact=True)).to_be_visible()
    staff.keyboard.press("e")
    dialog = form(staff, f"Edit {p['name']}")
    dialog.get_by_label("Name", exact=True).fill("Kavya Raghunathan")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(
        staff.get_by_role("heading", level=1, name="Kavya Raghunathan", exact=True)
    ).to_be_visible()
    assert patient(api, p["id"])["name"] == "Kavya Raghunathan"

    staff.get_by_role("button", name="Edit e").click()
    dialog = form(staff, "Edit Kavya Raghunathan")
    phone = dialog.get_by_label("Phone", exact=True)
    phone.fill("12345")
    phone.press("Enter")
    expect(dialog.get_by_role("alert")).to_contain_text("not a valid phone number")
    expect(phone).to_have_value("12345")
    expect(phone).to_have_attribute("aria-invalid", "true")
    dialog.get_by_role("button", name="Cancel").click()
    assert patient(api, p["id"])["phone"] == p["phone"]


def test_a_new_patient_is_added_and_the_same_phone_again_leads_to_them(
    staff: Page, api: httpx.Client, clinic: JSON, console: Console
) -> None:
    console.allow(NO_THREAD)
    console.allow(r"status of 409")  # the phone the clinic already has
    number = unused_mobile(api, clinic, "98")
    open_screen(staff, "#/patients")
    expect(staff.get_by_role("searchbox", name="Find a patient")).to_be_focused()
    staff.keyboard.press("Escape")  # leave the search box: n is a shortcut again
    staff.keyboard.press("n")
    dialog = form(staff, "New patient")
    dialog.get_by_label("Name", exact=True).fill("Meera Venkatesh")
    dialog.get_by_label("Phone", exact=True).fill(f"{number[:5]} {number[5:]}")
    dialog.get_by_role("button", name="Save").click()
    expect(
        staff.get_by_role("heading", level=1, name="Meera Venkatesh", exact=True)
    ).to_be_visible()
    (made,) = patients(api, clinic, q=number)
    assert made["name"] == "Meera Venkatesh"
    assert made["phone"] == f"+91{number}"

    staff.keyboard.press("Escape")
    staff.get_by_role("button", name="+ New patient").click()
    dialog = form(staff, "New patient")
    dialog.get_by_label("Name", exact=True).fill("Meera V")
    dialog.get_by_label("Phone", exact=True).fill(f"+91-{number}")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_contain_text("already a patient")
    expect(dialog.get_by_label("Name", exact=True)).to_have_value("Meera V")
    dialog.get_by_role("link", name="Open Meera Venkatesh’s profile").click()
    expect(dialog).to_be_hidden()
    expect(
        staff.get_by_role("heading", level=1, name="Meera Venkatesh", exact=True)
    ).to_be_visible()
    assert staff.url.endswith(f"#/patients/{made['id']}")
    assert len(patients(api, clinic, q=number)) == 1


def test_an_unknown_search_says_so_and_enter_adds_that_phone(
    staff: Page, api: httpx.Client, clinic: JSON
) -> None:
    number = unused_mobile(api, clinic, "97")
    open_screen(staff, "#/patients")
    search = staff.get_by_role("searchbox", name="Find a patient")
    search.press_sequentially(number)
    expect(staff.get_by_text(f"No patient matches “{number}”")).to_be_visible()
    search.press("Enter")
    dialog = form(staff, "New patient")
    expect(dialog.get_by_label("Phone", exact=True)).to_have_value(number)
    staff.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_the_history_lists_every_appointment_with_its_doctor_and_upcoming_ones_apart(
    staff: Page, api: httpx.Client, clinic: JSON, console: Console
) -> None:
    console.allow(NO_THREAD)
    coming = upcoming_confirmed(api, clinic)[0]
    items = history(api, coming["patient_id"])
    open_screen(staff, f"#/patients/{coming['patient_id']}")
    table = staff.get_by_role("table", name="Appointments, newest first")
    expect(table.locator("tbody tr:not(.section)")).to_have_count(len(items))
    rows = table.locator("tbody tr:not(.section)")
    for i, item in enumerate(items):
        expect(rows.nth(i)).to_contain_text(item["doctor"])
        expect(rows.nth(i)).to_contain_text(item["service"])
    soon = staff.get_by_role("rowgroup", name="Coming up")
    expect(soon).to_contain_text("Confirmed")

    # Cancel it from the profile, then take it back with Undo.
    soon.get_by_role("button", name=re.compile(r"^Cancel the appointment")).first.click()
    expect(soon.get_by_text("Cancelled", exact=True).first).to_be_visible()
    assert api.get(f"/api/v1/appointments/{coming['id']}").json()["status"] == "cancelled"
    staff.get_by_role("button", name="Undo").click()
    expect(staff.get_by_text("Undone: the appointment stands again")).to_be_visible()
    assert api.get(f"/api/v1/appointments/{coming['id']}").json()["status"] == "confirmed"

    # b books for this patient: the booking dialog opens with them already chosen.
    staff.keyboard.press("b")
    booking = staff.get_by_role("dialog", name="New booking")
    expect(booking).to_contain_text(coming["patient_name"])
    staff.keyboard.press("Escape")
    # Move opens the booking dialog on this very appointment.
    soon.get_by_role("button", name=re.compile(r"^Move the appointment")).first.click()
    moving = staff.get_by_role("dialog", name=f"Move {coming['patient_name']}'s appointment")
    expect(moving).to_be_visible()


def test_counters_follow_a_visit_marked_completed_elsewhere_without_a_reload(
    staff: Page, api: httpx.Client, clinic: JSON, console: Console
) -> None:
    console.allow(NO_THREAD)
    coming = upcoming_confirmed(api, clinic)[-1]
    before = patient(api, coming["patient_id"])
    open_screen(staff, f"#/patients/{coming['patient_id']}")
    expect_counters(staff, before)
    staff.evaluate("window.__same_page = true")

    changed = api.patch(f"/api/v1/appointments/{coming['id']}", json={"status": "completed"})
    assert changed.status_code == 200, changed.text
    after = patient(api, coming["patient_id"])
    assert after["total_visits"] == before["total_visits"] + 1
    expect_counters(staff, after)
    expect(counter(staff, "Last visit")).not_to_have_text("—")
    assert staff.evaluate("window.__same_page") is True


def test_the_whatsapp_thread_shows_on_the_profile_with_a_link_to_the_inbox(
    staff: Page, api: httpx.Client, clinic: JSON
) -> None:
    sent = api.post(
        "/api/v1/simulator/messages",
        json={"clinic_id": clinic["id"], "patient": "profile", "name": "Ritu Sim", "text": "Hi"},
    )
    assert sent.status_code == 201, sent.text
    # The bot's worker makes the patient as it reads the message.
    (found,) = settled(
        lambda: [p for p in patients(api, clinic, q="Ritu Sim") if p["simulated"]] or None,
        "the simulated patient",
    )
    open_screen(staff, f"#/patients/{found['id']}")
    thread = staff.get_by_role("log", name="Messages with Ritu Sim")
    expect(thread).to_contain_text("Hi")
    expect(thread).to_contain_text("Welcome to Sharma Family Clinic")  # the bot's answer
    link = staff.get_by_role("link", name="Open in Inbox →")
    expect(link).to_have_attribute("href", f"#/inbox/{found['id']}")
