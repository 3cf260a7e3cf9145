"""The shell: sign-in through the URL fragment, navigation, shortcuts, the connection corner."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.conftest import RunningServer
from tests.ui.conftest import Console


def test_the_token_leaves_the_address_bar_and_the_app_opens_on_today(staff: Page) -> None:
    assert "token" not in staff.url
    expect(staff).to_have_title(re.compile(r"^Today · Sharma Family Clinic · clinicbot$"))
    expect(staff.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    expect(staff.get_by_role("status").filter(has_text="WhatsApp")).to_contain_text(
        "WhatsApp not set up"
    )


def test_without_a_token_the_window_asks_for_one(
    page: Page, demo: RunningServer, console: Console
) -> None:
    page.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
    page.goto(demo.staff_url)
    expect(page.get_by_role("heading", name="Sign in to clinicbot")).to_be_visible()
    page.get_by_label("Staff token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    page.get_by_label("Staff token").fill(demo.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Screens")).to_be_visible()
    console.allow(r"401")  # the wrong token, refused as it should be
    assert console.unexpected() == []


def test_number_keys_and_links_move_between_screens_and_question_mark_lists_shortcuts(
    staff: Page,
) -> None:
    staff.keyboard.press("3")
    expect(staff).to_have_title(re.compile(r"^Patients · "))
    staff.get_by_role("link", name=re.compile("Today")).click()
    expect(staff).to_have_title(re.compile(r"^Today · "))
    staff.keyboard.press("?")
    dialog = staff.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_contain_text("Search patients")
    expect(dialog).to_contain_text("Selected: arrived")
    staff.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_slash_searches_patients_by_a_phone_fragment(staff: Page, demo: RunningServer) -> None:
    with demo.client() as api:
        clinic = api.get("/api/v1/clinics").json()[0]
        patient = api.get("/api/v1/patients", params={"clinic_id": clinic["id"]}).json()[7]
    fragment = patient["phone"][-7:-2]
    staff.keyboard.press("/")
    staff.keyboard.type(fragment)
    found = staff.get_by_role("listbox", name="Patients found")
    expect(found.get_by_role("option").filter(has_text=patient["name"])).to_be_visible()


def test_every_screen_opens_by_its_key_with_a_heading_and_no_console_error(staff: Page) -> None:
    screens = {
        "1": "Today",
        "2": "Calendar",
        "3": "Patients",
        "4": "Inbox",
        "5": "Analytics",
        "6": "Try the bot",
        "7": "Settings",
    }
    for key, name in screens.items():
        staff.keyboard.press("Escape")  # Patients puts the cursor in its search box: leave it
        staff.keyboard.press(key)
        expect(staff).to_have_title(re.compile(rf"^{name} · Sharma Family Clinic · clinicbot$"))
        expect(staff.locator("main h1").first).to_be_visible()
        current = staff.get_by_role("navigation", name="Screens").get_by_role("link", name=name)
        expect(current).to_have_attribute("aria-current", "page")
    staff.evaluate("() => { location.hash = '#/print' }")
    expect(staff.get_by_role("heading", name="Day list")).to_be_visible()
    # The staff fixture fails the test on any console error these screens logged.
