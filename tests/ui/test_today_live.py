"""A WhatsApp booking shows up on Today by itself: a patient books over the real wire
(signed webhooks in, Graph API calls out to the local fake of Meta) while the receptionist
looks at that day, and the row appears without a reload."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from clinicbot.conversation.model import Language
from tests.fakes import FakeWhatsApp
from tests.ui.conftest import Console, open_app
from tests.whatsapp_flow import Clinic, close_clinic, open_clinic


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    with FakeWhatsApp(status_delay=0.01, webhook_retry=(0.05, 0.5)) as fake:
        opened = open_clinic(tmp_path_factory.mktemp("today-live"), fake)
        yield opened
        close_clinic(opened)


def test_a_whatsapp_booking_appears_on_today_without_a_reload(
    page: Page, clinic: Clinic, console: Console
) -> None:
    patient = clinic.patient("Kavya WhatsApp")
    patient.hello(Language.EN)
    sent = 1
    while not any(o.id.startswith("ok:") for o in patient.last.options):
        assert sent < 8, f"no confirmation offered after {sent} messages: {patient.last.text!r}"
        patient.takes_first()
        sent += 1
    doctor, _service, at = clinic.read_choice(patient.last.option("ok:").id)

    open_app(page, clinic.server, console, f"#/today?date={at.date().isoformat()}")
    region = page.get_by_role("region", name=f"{doctor}'s queue")
    expect(region).to_be_visible()
    expect(region.get_by_role("row").filter(has_text="Kavya WhatsApp")).to_have_count(0)
    page.evaluate("window.__notReloaded = true")

    patient.taps("ok:")  # the patient confirms on WhatsApp
    row = region.get_by_role("row").filter(has_text="Kavya WhatsApp")
    expect(row).to_be_visible()
    expect(row).to_contain_text("WhatsApp")
    expect(row).to_contain_text("Confirmed")
    expect(row).to_have_class(re.compile(r"\bflash\b"))  # the quiet highlight of something new
    assert page.evaluate("window.__notReloaded") is True
    assert console.unexpected() == []
