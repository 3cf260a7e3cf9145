"""Try the bot: staff chat with the bot as a patient would, on the built-in simulator, with
WhatsApp's buttons and lists, to a confirmed booking that then shows on Today."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.conftest import RunningServer

MAX_TAPS = 12  # DESIGN.md: greeting and first options give a booking within 8 messages


def bot_messages(chat: Locator) -> Locator:
    return chat.get_by_role("listitem").filter(has_text=re.compile(r"^\s*Bot:"))


def patient_messages(chat: Locator) -> Locator:
    return chat.get_by_role("listitem").filter(has_text=re.compile(r"^\s*You:"))


def open_try_the_bot(page: Page, *, by_key: bool = False) -> None:
    # Let Today (where the window opens) finish loading first: a screen module that loads
    # late can still replace the one asked for after it (see the report on ui/app.js).
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    if by_key:
        page.keyboard.press("6")
    else:
        page.get_by_role("link", name=re.compile("Try the bot")).click()
    expect(page.get_by_role("heading", name="Try the bot")).to_be_visible()


def take_first_option(page: Page, last: Locator) -> None:
    """Tap the first reply button under the bot's message, or open its list and tap the
    first row, as a patient in a hurry does."""
    menu = last.locator("button[aria-haspopup='dialog']")  # a list's button opens its rows
    if menu.count():
        menu.click()
        sheet = page.get_by_role("dialog")
        expect(sheet).to_be_visible()
        sheet.get_by_role("list").get_by_role("button").first.click()
        expect(sheet).to_be_hidden()
    else:
        last.get_by_role("button").first.click()


def test_taking_the_first_option_each_time_books_and_the_booking_shows_on_today(
    staff: Page, demo: RunningServer
) -> None:
    open_try_the_bot(staff)
    expect(staff.get_by_text("real appointments marked simulated")).to_be_visible()
    chat = staff.get_by_role("log", name="Chat with the bot")
    box = staff.get_by_label("Message as the patient")
    box.fill("Hi")
    box.press("Enter")
    sent, answers = 1, 0
    for _ in range(MAX_TAPS):
        # Wait for the bot's answer to the last message: it is then the newest bot message
        # (the patient's own messages of one second may be listed in any order).
        expect(patient_messages(chat)).to_have_count(sent)
        expect(bot_messages(chat)).not_to_have_count(answers)
        expect(staff.get_by_role("status").filter(has_text="The bot is typing")).to_have_count(0)
        answers = bot_messages(chat).count()
        last = bot_messages(chat).last
        if "Booked!" in last.inner_text():
            break
        take_first_option(staff, last)
        sent += 1
    else:
        raise AssertionError(f"no booking after {MAX_TAPS} taps")
    assert sent <= 8, f"a booking took {sent} messages"

    bookings = staff.get_by_role("listitem").filter(
        has=staff.get_by_role("link", name="Open on Today")
    )
    expect(bookings).to_have_count(1)
    expect(bookings).to_contain_text("Confirmed")
    booked = bookings.inner_text()
    with demo.client() as api:
        clinic = api.get("/api/v1/clinics").json()[0]
        sim = next(
            c
            for c in api.get("/api/v1/conversations", params={"clinic_id": clinic["id"]}).json()
            if c["simulated"]
        )
        [appointment] = api.get(f"/api/v1/patients/{sim['patient_id']}/appointments").json()
    assert appointment["status"] == "confirmed" and appointment["doctor"] in booked

    bookings.get_by_role("link", name="Open on Today").click()
    assert staff.url.endswith(f"#/today?date={appointment['date']}")
    queue = staff.get_by_role("region", name=f"{appointment['doctor']}'s queue")
    expect(queue.get_by_role("row").filter(has_text="Test patient")).to_contain_text("Confirmed")


def test_start_over_clears_the_chat_and_its_bookings(staff: Page) -> None:
    open_try_the_bot(staff, by_key=True)
    chat = staff.get_by_role("log", name="Chat with the bot")
    staff.get_by_role("button", name="Hi", exact=True).click()
    expect(bot_messages(chat)).not_to_have_count(0)
    staff.get_by_role("button", name="Start over").click()
    expect(chat.get_by_role("listitem")).to_have_count(0)
    expect(staff.get_by_text("Send “Hi” to start")).to_be_visible()
