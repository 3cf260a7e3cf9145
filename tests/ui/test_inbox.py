"""The Inbox, as the front desk uses it: take a WhatsApp conversation over from the bot and
reply, hand it back, see the unread count fall, resend what failed, and watch a patient's
new message arrive by itself (a signed webhook, as Meta sends it).

The demo clinic's conversations are the data; the server has an app secret of its own, so
this module starts its own demo server rather than sharing the default one."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import RunningServer, start_server
from tests.fakes.payloads import contact, envelope, message, new_wamid, sign, wire

JSON = dict[str, Any]
APP_SECRET = "inbox-test-app-secret"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The demo clinic on a server that checks webhook signatures with APP_SECRET."""
    data: Path = tmp_path_factory.mktemp("ui-inbox")
    running = start_server(data, "--demo", env={"CLINICBOT_WHATSAPP_APP_SECRET": APP_SECRET})
    yield running
    running.stop()


def conversations(api: httpx.Client, clinic: JSON) -> list[JSON]:
    found: list[JSON] = api.get("/api/v1/conversations", params={"clinic_id": clinic["id"]}).json()
    return [c for c in found if not c["simulated"]]


def thread(api: httpx.Client, patient_id: str) -> JSON:
    found: JSON = api.get(f"/api/v1/conversations/{patient_id}").json()
    return found


def open_inbox(page: Page) -> None:
    # Let Today (where the window opens) finish loading first: a screen module that loads
    # late can still replace the one asked for after it (see the report on ui/app.js).
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    page.get_by_role("navigation", name="Screens").get_by_role(
        "link", name=re.compile("Inbox")
    ).click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


def conversation_link(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Conversation list").get_by_role(
        "link", name=re.compile(re.escape(name))
    )


def answering(page: Page) -> Locator:
    return page.get_by_role("status", name="Who is answering")


def messages(page: Page) -> Locator:
    return page.get_by_label("Messages", exact=True).get_by_role("listitem")


def test_take_over_reply_and_hand_back(staff: Page, api: httpx.Client, clinic: JSON) -> None:
    chat = next(
        c
        for c in conversations(api, clinic)
        if not c["bot_paused"] and thread(api, c["patient_id"])["window_open"]
    )
    open_inbox(staff)
    conversation_link(staff, chat["patient_name"]).click()
    expect(staff.get_by_role("heading", name=chat["patient_name"])).to_be_visible()
    expect(answering(staff)).to_have_text(re.compile("The bot is answering"))

    staff.keyboard.press("o")  # take over
    expect(answering(staff)).to_contain_text("Staff are answering")
    assert thread(api, chat["patient_id"])["conversation"]["bot_paused"] is True

    staff.keyboard.press("r")
    reply = staff.get_by_label(f"Reply to {chat['patient_name']}")
    expect(reply).to_be_focused()
    reply.type("Namaste! Your booking is noted.")
    reply.press("Shift+Enter")
    reply.type("Please bring your old prescription.")
    reply.press("Enter")
    expect(reply).to_have_value("")
    sent = messages(staff).filter(has_text="Please bring your old prescription.")
    expect(sent).to_contain_text("Staff")
    # No WhatsApp credentials on this server: the sender says not_configured and the reply
    # waits in the outbox, which the thread says in words.
    status = api.get("/api/v1/messages/sender", params={"clinic_id": clinic["id"]}).json()
    assert status["state"] == "not_configured"
    expect(sent).to_contain_text("Waiting to send")
    last = thread(api, chat["patient_id"])["messages"][-1]
    assert (last["author"], last["status"]) == ("staff", "queued")
    assert last["text"] == "Namaste! Your booking is noted.\nPlease bring your old prescription."

    staff.get_by_role("button", name=re.compile("Hand back to bot")).click()
    expect(answering(staff)).to_have_text(re.compile("The bot is answering"))
    assert thread(api, chat["patient_id"])["conversation"]["bot_paused"] is False


def test_opening_a_waiting_conversation_lowers_the_unread_badge(
    staff: Page, api: httpx.Client, clinic: JSON
) -> None:
    chats = conversations(api, clinic)
    waiting = next(c for c in chats if c["bot_paused"] and c["unread"] > 0)
    total = sum(c["unread"] for c in chats)
    inbox = staff.get_by_role("navigation", name="Screens").get_by_role(
        "link", name=re.compile("Inbox")
    )
    expect(inbox).to_have_accessible_name(re.compile(rf"Inbox.*\b{total} unread"))
    open_inbox(staff)
    staff.get_by_role("tab", name=re.compile("Waiting for staff")).click()
    link = conversation_link(staff, waiting["patient_name"])
    expect(link).to_contain_text(f"{waiting['unread']} unread")
    link.click()
    expect(messages(staff).last).to_contain_text("for staff")
    left = total - waiting["unread"]
    if left:
        expect(inbox).to_have_accessible_name(re.compile(rf"Inbox.*\b{left} unread"))
    else:
        expect(inbox).not_to_have_accessible_name(re.compile("unread"))
    expect(link).not_to_contain_text("unread")
    assert thread(api, waiting["patient_id"])["conversation"]["unread"] == 0


def test_a_failed_message_shows_why_and_resend_queues_it_again(
    staff: Page, api: httpx.Client, clinic: JSON
) -> None:
    [failed] = api.get("/api/v1/messages/failed", params={"clinic_id": clinic["id"]}).json()
    open_inbox(staff)
    staff.keyboard.press("f")
    listed = staff.get_by_role("navigation", name="Failed messages").get_by_role("link")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(failed["error_reason"])
    listed.click()
    bubble = messages(staff).filter(has_text="Not delivered.")
    expect(bubble).to_contain_text("the number may not be on WhatsApp")
    bubble.get_by_role("button", name="Resend").click()
    expect(staff.get_by_role("status").filter(has_text="Queued to send again")).to_be_visible()
    expect(messages(staff).filter(has_text="Not delivered.")).to_have_count(0)
    resent = messages(staff).filter(has_text=failed["preview"].split("\n")[0])
    expect(resent).to_contain_text("Waiting to send")
    expect(staff.get_by_text("Nothing failed to send")).to_be_visible()
    assert api.get("/api/v1/messages/failed", params={"clinic_id": clinic["id"]}).json() == []


def post_webhook(demo: RunningServer, phone: str, name: str, text: str) -> None:
    wa_id = phone.removeprefix("+")
    body = envelope(
        "demo-waba",
        {"display_phone_number": "912027294455", "phone_number_id": "demo-number"},
        {
            "contacts": [contact(wa_id, None, name)],
            "messages": [
                message(
                    wa_id=wa_id,
                    user_id=None,
                    wamid=new_wamid(),
                    timestamp=int(time.time()),
                    type="text",
                    content={"body": text},
                )
            ],
        },
    )
    raw = wire(body)
    answer = httpx.post(
        demo.webhook_url,
        content=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(APP_SECRET, raw)},
    )
    assert answer.status_code == 200, answer.text


def test_a_new_whatsapp_message_appears_by_itself_at_the_bottom_of_the_thread(
    staff: Page, demo: RunningServer, api: httpx.Client, clinic: JSON
) -> None:
    chat = next(c for c in conversations(api, clinic) if c["bot_paused"])
    open_inbox(staff)
    conversation_link(staff, chat["patient_name"]).click()
    expect(messages(staff).last).to_contain_text("for staff")
    text = "Sunday ko clinic khula hai kya?"
    post_webhook(demo, chat["phone"], chat["patient_name"], text)
    arrived = messages(staff).filter(has_text=text)
    expect(arrived).to_be_visible()
    expect(arrived).to_be_in_viewport()  # the thread kept to its newest message
    expect(messages(staff).last).to_contain_text(text)
    expect(conversation_link(staff, chat["patient_name"])).not_to_contain_text("unread")


def test_arrow_keys_walk_the_conversations(staff: Page, api: httpx.Client, clinic: JSON) -> None:
    chats = conversations(api, clinic)
    open_inbox(staff)
    expect(conversation_link(staff, chats[1]["patient_name"])).to_be_visible()
    staff.keyboard.press("ArrowDown")
    expect(staff.get_by_role("heading", name=chats[0]["patient_name"])).to_be_visible()
    staff.keyboard.press("j")
    expect(staff.get_by_role("heading", name=chats[1]["patient_name"])).to_be_visible()
    expect(conversation_link(staff, chats[1]["patient_name"])).to_have_attribute(
        "aria-current", "true"
    )
    staff.keyboard.press("ArrowUp")
    expect(staff.get_by_role("heading", name=chats[0]["patient_name"])).to_be_visible()


def test_a_closed_window_says_so_instead_of_offering_a_reply_box(
    staff: Page, api: httpx.Client, clinic: JSON
) -> None:
    chat = next(
        c for c in conversations(api, clinic) if not thread(api, c["patient_id"])["window_open"]
    )
    open_inbox(staff)
    conversation_link(staff, chat["patient_name"]).click()
    note = staff.get_by_role("note").filter(has_text="24-hour window is closed")
    expect(note).to_contain_text("a template reminder is the only way")
    expect(staff.get_by_label(f"Reply to {chat['patient_name']}")).to_have_count(0)
