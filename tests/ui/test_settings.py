"""Settings, as the clinic owner uses it: working hours that change the free times (in the
API and in the booking dialog on Today), the clinic's name, a holiday, doctors and
services, WhatsApp credentials with the connection test against the fake Graph API, and a
new staff token that this window keeps working with."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import RunningServer, start_server
from tests.fakes import FakeWhatsApp
from tests.fakes.whatsapp import VERIFIED_NAME
from tests.ui.conftest import Console, open_app

API = "/api/v1"
CLINIC_TZ = ZoneInfo("Asia/Kolkata")
MEHTA, SKIN = "Dr. Rajesh Mehta", "Skin Consultation"
SKIN_OPTION = "Skin Consultation (20 min)"  # as the booking dialog lists it

JSON = dict[str, Any]


def clinic_day(days_ahead: int, weekday: int) -> date:
    """The first ``weekday`` (0 = Monday) at least ``days_ahead`` days from today (clinic time),
    beyond the demo's bookings, holiday and leave."""
    day = datetime.now(CLINIC_TZ).date() + timedelta(days=days_ahead)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def lookup(api: httpx.Client) -> JSON:
    clinic = api.get(f"{API}/clinics").json()[0]
    doctors = {
        d["name"]: d for d in api.get(f"{API}/doctors", params={"clinic_id": clinic["id"]}).json()
    }
    services = {
        s["name"]: s for s in api.get(f"{API}/services", params={"clinic_id": clinic["id"]}).json()
    }
    return {"clinic": clinic, "doctors": doctors, "services": services}


def free_starts(api: httpx.Client, doctor_id: str, day: date, service_id: str) -> list[str]:
    r = api.get(
        f"{API}/doctors/{doctor_id}/slots",
        params={"date": day.isoformat(), "service_id": service_id, "staff": "true"},
    )
    assert r.status_code == 200, r.text
    return [
        datetime.fromisoformat(s["start"]).astimezone(CLINIC_TZ).strftime("%H:%M") for s in r.json()
    ]


def open_settings(page: Page) -> None:
    """Key 7 from Today, once Today is drawn (a screen still loading when another is
    chosen could otherwise be drawn in its place)."""
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    page.keyboard.press("7")
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()


def open_at(page: Page, server: RunningServer, console: Console, hash_path: str) -> None:
    """Sign in, let Today finish drawing, then go to ``hash_path`` (see ``open_settings``)."""
    open_app(page, server, console)
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    page.evaluate("h => { location.hash = h }", hash_path)


def section(page: Page, name: str) -> Locator:
    page.get_by_role("navigation", name="Settings sections").get_by_role(
        "link", name=re.compile(f"^{name}")
    ).click()
    region = page.get_by_role("region", name=name, exact=True)
    expect(region).to_be_visible()
    return region


def booking_times(page: Page, doctor: str, service: str, day: date) -> Locator:
    """Today's booking dialog (``n``) for the doctor, service and day: its free times."""
    page.get_by_role("link", name=re.compile("Today")).click()
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    # Today's doctor filter first: ``n`` then opens the dialog on that doctor. (Choosing
    # the doctor inside the dialog asks for slots of a service the doctor may not offer.)
    page.get_by_label("Doctor").select_option(label=doctor)
    expect(page.get_by_role("region", name=f"{doctor}'s queue")).to_be_visible()
    page.keyboard.press("n")
    dialog = page.get_by_role("dialog", name="New booking")
    expect(dialog.get_by_label("Doctor")).to_have_value(re.compile(".+"))
    dialog.get_by_label("Service").select_option(label=service)
    dialog.locator('input[type="date"]').fill(day.isoformat())
    return dialog


def toast(page: Page, text: str) -> Locator:
    found = page.locator(".toast").filter(has_text=text)
    expect(found).to_be_visible()
    return found


# --- working hours and free slots ------------------------------------------------------------


def test_new_working_hours_change_the_free_slots(staff: Page, demo: RunningServer) -> None:
    tuesday = clinic_day(15, 1)  # Dr. Mehta sees patients on Monday, Wednesday and Friday
    with demo.client() as api:
        ids = lookup(api)
        mehta, skin = ids["doctors"][MEHTA]["id"], ids["services"][SKIN]["id"]
        assert free_starts(api, mehta, tuesday, skin) == []
    dialog = booking_times(staff, MEHTA, SKIN_OPTION, tuesday)
    expect(dialog).to_contain_text("No free time on")
    staff.keyboard.press("Escape")

    open_settings(staff)
    hours = section(staff, "Working hours")
    hours.get_by_label("Doctor").select_option(label=MEHTA)
    expect(hours.get_by_label("Monday period 1 from")).to_have_value("11:00")
    hours.get_by_role("button", name="Add hours on Tuesday").click()
    hours.get_by_label("Tuesday period 1 from").fill("15:00")
    hours.get_by_label("Tuesday period 1 until").fill("17:00")
    hours.get_by_role("button", name="Add hours on Tuesday").click()  # after a break
    hours.get_by_label("Tuesday period 2 from").fill("18:00")
    hours.get_by_label("Tuesday period 2 until").fill("19:00")
    expect(hours).to_contain_text("Unsaved changes")
    hours.get_by_role("button", name="Save hours").click()
    toast(staff, f"Working hours of {MEHTA} saved")
    expect(hours).to_contain_text("Tue 15:00–17:00, 18:00–19:00")

    with demo.client() as api:
        starts = free_starts(api, mehta, tuesday, skin)
    assert starts[0] == "15:00" and "18:00" in starts
    assert "17:00" not in starts and "16:45" not in starts  # a 20-minute visit ends by 17:00
    dialog = booking_times(staff, MEHTA, SKIN_OPTION, tuesday)
    times = dialog.get_by_role("radiogroup", name="Free times")
    expect(times.get_by_role("radio", name=re.compile(r"^3:00\s?pm$", re.I))).to_be_visible()
    expect(times.get_by_role("radio", name=re.compile(r"^6:00\s?pm$", re.I))).to_be_visible()
    expect(times.get_by_role("radio", name=re.compile(r"^5:00\s?pm$", re.I))).to_have_count(0)
    staff.keyboard.press("Escape")


def test_overlapping_hours_are_refused_at_the_field_and_undo_restores_a_removal(
    staff: Page, demo: RunningServer
) -> None:
    open_settings(staff)
    hours = section(staff, "Working hours")
    hours.get_by_label("Doctor").select_option(label="Dr. Priya Iyer")
    expect(hours.get_by_label("Monday period 2 from")).to_have_value("17:00")
    hours.get_by_label("Monday period 2 from").fill("13:00")  # inside 10:00–14:00
    hours.get_by_role("button", name="Save hours").click()
    expect(hours.get_by_role("alert").filter(has_text="Overlaps 10:00–14:00")).to_be_visible()
    hours.get_by_role("button", name="Discard changes").click()
    expect(hours.get_by_label("Monday period 2 from")).to_have_value("17:00")

    hours.get_by_role("button", name="Remove Monday period 2").click()
    hours.get_by_role("button", name="Save hours").click()
    with demo.client() as api:
        iyer = lookup(api)["doctors"]["Dr. Priya Iyer"]["id"]

        def mondays() -> list[tuple[str, str]]:
            rows = api.get(f"{API}/working-hours", params={"doctor_id": iyer}).json()
            return sorted((h["start_time"], h["end_time"]) for h in rows if h["weekday"] == 0)

        saved = toast(staff, "Working hours of Dr. Priya Iyer saved")
        expect(hours.get_by_label("Monday period 2 from")).to_have_count(0)
        assert mondays() == [("10:00", "14:00")]
        saved.get_by_role("button", name="Undo").click()
        toast(staff, "Undone")
        expect(hours.get_by_label("Monday period 2 from")).to_have_value("17:00")
        assert mondays() == [("10:00", "14:00"), ("17:00", "20:00")]


# --- the clinic ------------------------------------------------------------------------------


def test_the_clinic_name_changes_the_title_and_a_bad_phone_is_shown_at_its_field(
    staff: Page, console: Console
) -> None:
    open_settings(staff)
    clinic = section(staff, "Clinic")
    name = clinic.get_by_label("Clinic name")
    expect(name).to_have_value("Sharma Family Clinic")
    name.fill("Sharma Clinic Baner")
    staff.keyboard.press("Control+s")
    toast(staff, "Clinic details saved")
    expect(staff).to_have_title("Settings · Sharma Clinic Baner · clinicbot")
    expect(staff.get_by_role("banner")).to_contain_text("Sharma Clinic Baner")

    console.allow(r"400")  # the impossible phone number, refused as it should be
    clinic.get_by_label("Phone").fill("12345")
    clinic.get_by_role("button", name="Save").click()
    expect(clinic.get_by_role("alert").filter(has_text="not a valid phone number")).to_be_visible()
    expect(clinic.get_by_label("Phone")).to_have_value("12345")  # kept, to correct
    expect(clinic.get_by_label("Phone")).to_have_attribute("aria-invalid", "true")
    clinic.get_by_role("button", name="Discard changes").click()
    expect(clinic.get_by_label("Phone")).to_have_value("+912027294455")
    name.fill("Sharma Family Clinic")
    clinic.get_by_role("button", name="Save").click()
    expect(staff).to_have_title("Settings · Sharma Family Clinic · clinicbot")


def test_a_clinic_holiday_closes_the_day_and_can_be_removed_with_undo(
    staff: Page, demo: RunningServer
) -> None:
    thursday = clinic_day(22, 3)
    with demo.client() as api:
        ids = lookup(api)
        sharma = ids["doctors"]["Dr. Anil Sharma"]["id"]
        general = ids["services"]["General Consultation"]["id"]
        assert free_starts(api, sharma, thursday, general)
    open_settings(staff)
    timeoff = section(staff, "Time off")
    timeoff.get_by_label("Who").select_option(label="The whole clinic (holiday)")
    timeoff.get_by_label("First day").fill(thursday.isoformat())
    timeoff.get_by_label("Last day").fill(thursday.isoformat())
    timeoff.get_by_label("Reason").fill("Staff training")
    timeoff.get_by_role("button", name="+ Add time off").click()
    toast(staff, "Clinic holiday added")
    row = timeoff.get_by_role("row").filter(has_text="Staff training")
    expect(row).to_contain_text("Whole clinic")
    with demo.client() as api:
        assert free_starts(api, sharma, thursday, general) == []
        held = [t for t in api.get(f"{API}/time-off").json() if t["reason"] == "Staff training"]
        assert len(held) == 1 and held[0]["doctor_id"] is None
        assert held[0]["starts_at"].startswith(f"{thursday.isoformat()}T00:00:00+05:30")

    row.get_by_role("button", name=re.compile("^Change")).click()
    expect(timeoff.get_by_label("First day")).to_have_value(thursday.isoformat())
    timeoff.get_by_label("Last day").fill((thursday + timedelta(days=1)).isoformat())
    timeoff.get_by_role("button", name="Save changes").click()
    toast(staff, "Clinic holiday changed")
    with demo.client() as api:
        assert free_starts(api, sharma, thursday + timedelta(days=1), general) == []

    row.get_by_role("button", name=re.compile("^Remove")).click()
    expect(row).to_have_count(0)
    toast(staff, "Removed: Staff training").get_by_role("button", name="Undo").click()
    expect(timeoff.get_by_role("row").filter(has_text="Staff training")).to_be_visible()


def test_doctors_and_services_are_added_edited_and_deactivated(
    staff: Page, demo: RunningServer
) -> None:
    open_settings(staff)
    doctors = section(staff, "Doctors")
    doctors.get_by_label("New doctor's name").fill("Dr. Kavya Nair")
    doctors.get_by_label("Specialty").fill("ENT")
    doctors.get_by_role("button", name="+ Add doctor").click()
    toast(staff, "Dr. Kavya Nair added")
    doctors.get_by_role("button", name="Edit Dr. Kavya Nair").click()
    doctors.get_by_label("Specialty").last.fill("ENT Surgeon")
    doctors.get_by_role("button", name="Save", exact=True).click()
    row = doctors.get_by_role("row").filter(has_text="Dr. Kavya Nair")
    expect(row).to_contain_text("ENT Surgeon")
    expect(row).to_contain_text("Active")

    services = section(staff, "Services")
    services.get_by_role("button", name="+ Add service").click()
    dialog = staff.get_by_role("dialog", name="New service")
    dialog.get_by_label("Service name").fill("Ear Check")
    dialog.get_by_label("Length (minutes)").fill("20")
    dialog.get_by_label("Price (₹)").fill("400")
    dialog.get_by_label("Dr. Kavya Nair").check()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(services.get_by_role("row").filter(has_text="Ear Check")).to_contain_text(
        "Dr. Kavya Nair"
    )
    with demo.client() as api:
        ids = lookup(api)
        nair = ids["doctors"]["Dr. Kavya Nair"]
        assert ids["services"]["Ear Check"]["doctor_ids"] == [nair["id"]]
        assert ids["services"]["Ear Check"]["duration_minutes"] == 20

    doctors = section(staff, "Doctors")
    doctors.get_by_role("button", name="Deactivate Dr. Kavya Nair").click()
    expect(doctors.get_by_role("row").filter(has_text="Dr. Kavya Nair")).to_contain_text("Inactive")
    with demo.client() as api:
        assert lookup(api)["doctors"]["Dr. Kavya Nair"]["active"] is False


def test_reminders_are_listed_in_words_and_saved(staff: Page, demo: RunningServer) -> None:
    open_settings(staff)
    reminders = section(staff, "Reminders")
    expect(reminders).to_contain_text("24 h, 2 h before the visit")
    reminders.get_by_label("Reminder time before the visit").fill("3")
    reminders.get_by_label("Unit").select_option(label="days before")
    reminders.get_by_role("button", name="+ Add").click()
    reminders.get_by_role("button", name="Remove the reminder 2 h before").click()
    expect(reminders).to_contain_text("72 h, 24 h before the visit")
    reminders.get_by_role("button", name="Save").click()
    toast(staff, "Reminder settings saved")
    with demo.client() as api:
        assert sorted(lookup(api)["clinic"]["reminder_minutes"]) == [1440, 4320]


# --- WhatsApp ----------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp() as running:
        yield running


@pytest.fixture
def connected(tmp_path: Path, fake: FakeWhatsApp) -> Iterator[RunningServer]:
    """A demo clinic whose Graph API is the fake, with no credentials set yet."""
    running = start_server(tmp_path, "--demo", env={"CLINICBOT_WHATSAPP_API_BASE": fake.base_url})
    yield running
    running.stop()


def test_whatsapp_credentials_are_saved_and_the_connection_test_answers(
    page: Page, connected: RunningServer, fake: FakeWhatsApp, console: Console
) -> None:
    open_at(page, connected, console, "#/settings?section=whatsapp")
    panel = page.get_by_role("region", name="WhatsApp Cloud API")
    expect(panel.get_by_label("Access token", exact=True)).to_have_attribute(
        "placeholder", "Not set"
    )
    verify = panel.get_by_label(
        "Verify token", exact=True
    )  # start_server sets it in the environment
    expect(verify).to_be_disabled()
    expect(panel).to_contain_text("Set by the environment (CLINICBOT_WHATSAPP_VERIFY_TOKEN)")
    panel.get_by_role("button", name="Test connection").click()
    result = panel.get_by_role("status", name="Connection test")
    expect(result).to_contain_text("Not connected · Enter the WhatsApp access token first")

    panel.get_by_label("Access token", exact=True).fill(fake.access_token)
    panel.get_by_label("Phone number ID", exact=True).fill(fake.phone_number_id)
    panel.get_by_label("App secret", exact=True).fill(fake.app_secret)
    panel.get_by_role("button", name="Save and test").click()
    expect(result).to_contain_text(f"Connected · Connected to {VERIFIED_NAME} · +1 555-078-3881")
    toast(page, "WhatsApp settings saved")
    expect(panel.get_by_label("Access token", exact=True)).to_have_value("")  # never shown again
    expect(panel.get_by_label("Access token", exact=True)).to_have_attribute(
        "placeholder", re.compile(r"^Saved · ends …" + fake.access_token[-4:])
    )
    webhook = page.get_by_role("region", name="Receiving messages: webhook")
    expect(webhook.get_by_text("enter the same in Meta's dashboard")).to_be_visible()

    saved = json.loads((connected.data_dir / "settings.json").read_text())
    assert saved["whatsapp_access_token"] == fake.access_token
    assert "whatsapp_verify_token" not in saved
    with connected.client() as api:
        shown = api.get(f"{API}/settings/whatsapp").json()
        assert fake.access_token not in json.dumps(shown)

    panel.get_by_label("Access token", exact=True).fill("EAAGthisTokenIsWrong0000")
    panel.get_by_role("button", name="Save and test").click()
    expect(result).to_contain_text("Not connected · WhatsApp refused the access token")
    assert console.unexpected() == []


def test_a_new_staff_token_keeps_this_window_working(
    page: Page, tmp_path: Path, console: Console
) -> None:
    server = start_server(tmp_path, "--demo", env={"CLINICBOT_STAFF_TOKEN": ""})
    try:
        kept = tmp_path / "staff_token"
        old = kept.read_text().strip()
        server.token = old
        open_at(page, server, console, "#/settings?section=token")
        region = page.get_by_role("region", name="Staff token")
        shown = region.get_by_label("Staff token")
        expect(shown).to_have_value(re.compile("^•+" + re.escape(old[-4:]) + "$"))
        region.get_by_role("button", name="Reveal").click()
        expect(shown).to_have_value(old)

        region.get_by_role("button", name="Change the token…").click()
        dialog = page.get_by_role("dialog", name="Change the staff token?")
        expect(dialog).to_contain_text("stops working at once")
        dialog.get_by_role("button", name="Change it now").click()
        toast(page, "New staff token in use")
        new = kept.read_text().strip()
        assert new != old
        assert page.evaluate("() => sessionStorage.getItem('clinicbot.token')") == new
        region.get_by_role("button", name="Reveal").click()
        expect(shown).to_have_value(new)

        page.get_by_role("link", name=re.compile("Today")).click()  # it goes on working
        expect(page.get_by_role("region", name="Dr. Anil Sharma's queue")).to_be_visible()
        expect(page.get_by_role("heading", name="Sign in to clinicbot")).to_have_count(0)
        base = f"{server.staff_url.rstrip('/')}{API}/clinics"
        assert httpx.get(base, headers={"Authorization": f"Bearer {old}"}).status_code == 401
        assert httpx.get(base, headers={"Authorization": f"Bearer {new}"}).status_code == 200
        assert console.unexpected() == []
    finally:
        server.stop()
