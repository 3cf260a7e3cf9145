"""The first run: an empty data directory opens on the setup. The owner sets up the clinic,
two doctors with their weeks and a first service, and lands on Today; or opens the demo."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RunningServer, start_server
from tests.ui.conftest import Console

API = "/api/v1"
MON_SAT = range(6)

JSON = dict[str, Any]


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[RunningServer]:
    """A server on an empty data directory: no clinic yet."""
    running = start_server(tmp_path)
    yield running
    running.stop()


def open_setup(page: Page, server: RunningServer, console: Console) -> None:
    page.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.errors.append(f"uncaught: {e}"))
    page.goto(f"{server.staff_url}#token={server.token}")
    expect(page.get_by_role("heading", name="Welcome to clinicbot")).to_be_visible()


def week(api: httpx.Client, doctor_id: str) -> list[tuple[int, str, str]]:
    rows = api.get(f"{API}/working-hours", params={"doctor_id": doctor_id}).json()
    return sorted((h["weekday"], h["start_time"], h["end_time"]) for h in rows)


def test_a_new_clinic_is_set_up_and_opens_on_today(
    page: Page, empty: RunningServer, console: Console
) -> None:
    open_setup(page, empty, console)
    form = page.get_by_role("form", name="Set up your clinic")
    expect(form.get_by_label("Time zone")).to_have_value("Asia/Kolkata")
    form.get_by_role("button", name="Create the clinic").click()
    expect(form.get_by_role("alert").filter(has_text="Type the clinic's name.")).to_be_visible()
    with empty.client() as api:
        assert api.get(f"{API}/clinics").json() == []  # nothing made from a half-filled form

    form.get_by_label("Clinic name").fill("Asha Health Clinic")
    form.get_by_label("Doctor 1 name").fill("Dr. Asha Rao")
    form.get_by_label("Doctor 1 specialty").fill("General Physician")
    expect(form).to_contain_text("Mon–Sat 10:00–13:00, 17:00–20:00")
    form.get_by_role("button", name="+ Add another doctor").click()
    form.get_by_label("Doctor 2 name").fill("Dr. Vikram Das")
    form.get_by_role("button", name="Change Doctor 2 hours").click()
    form.get_by_role("button", name="Doctor 2: Remove Saturday period 2").click()
    form.get_by_role("button", name="Doctor 2: Add hours on Sunday").click()
    form.get_by_label("Doctor 2: Sunday period 1 from").fill("09:00")
    form.get_by_label("Doctor 2: Sunday period 1 until").fill("12:00")
    form.get_by_role("button", name="Change Doctor 2 hours").click()  # "Done": folded again
    expect(form).to_contain_text(
        "Mon–Fri 10:00–13:00, 17:00–20:00 · Sat 10:00–13:00 · Sun 09:00–12:00"
    )
    form.get_by_label("Price").fill("400")
    form.get_by_role("button", name="Create the clinic").click()

    expect(page).to_have_title("Today · Asha Health Clinic · clinicbot")
    expect(page.get_by_role("region", name="Dr. Asha Rao's queue")).to_be_visible()
    expect(page.get_by_role("region", name="Dr. Vikram Das's queue")).to_be_visible()
    with empty.client() as api:
        (clinic,) = api.get(f"{API}/clinics").json()
        assert (clinic["name"], clinic["timezone"], clinic["country"]) == (
            "Asha Health Clinic",
            "Asia/Kolkata",
            "IN",
        )
        doctors = {d["name"]: d for d in api.get(f"{API}/doctors").json()}
        assert doctors["Dr. Asha Rao"]["specialty"] == "General Physician"
        split = [("10:00", "13:00"), ("17:00", "20:00")]
        assert week(api, doctors["Dr. Asha Rao"]["id"]) == [
            (day, *hours) for day in MON_SAT for hours in split
        ]
        das = week(api, doctors["Dr. Vikram Das"]["id"])
        assert (5, "17:00", "20:00") not in das and (6, "09:00", "12:00") in das
        assert len(das) == 12
        (service,) = api.get(f"{API}/services").json()
        assert (service["name"], service["duration_minutes"], service["price"]) == (
            "Consultation",
            15,
            400,
        )
        assert service["doctor_ids"] == []  # every doctor offers it
    assert console.unexpected() == []


def test_explore_the_demo_clinic(page: Page, empty: RunningServer, console: Console) -> None:
    open_setup(page, empty, console)
    page.get_by_role("button", name="Explore the demo clinic").click()
    expect(page).to_have_title("Today · Sharma Family Clinic · clinicbot")
    expect(page.get_by_role("region", name=re.compile("Dr. Anil Sharma's queue"))).to_be_visible()
    with empty.client() as api:
        assert [c["name"] for c in api.get(f"{API}/clinics").json()] == ["Sharma Family Clinic"]
        assert api.post(f"{API}/setup/demo").status_code == 409
    assert console.unexpected() == []


def test_a_refusal_half_way_is_shown_at_its_field_and_the_rest_is_kept(
    page: Page, empty: RunningServer, console: Console
) -> None:
    open_setup(page, empty, console)
    form = page.get_by_role("form", name="Set up your clinic")
    form.get_by_label("Clinic name").fill("Asha Clinic")
    form.get_by_label("Doctor 1 name").fill("Dr. Asha Rao")
    form.get_by_label("Price").fill("-5")  # the server refuses it, after the clinic is made
    console.allow(r"400")
    form.get_by_role("button", name="Create the clinic").click()
    expect(form.get_by_label("Price")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert").filter(has_text="A price of 0 or more").first).to_be_visible()
    expect(form.get_by_label("Doctor 1 name")).to_have_value("Dr. Asha Rao")
    form.get_by_label("Price").fill("300")
    form.get_by_role("button", name="Create the clinic").click()
    expect(page).to_have_title("Today · Asha Clinic · clinicbot")
    with empty.client() as api:
        assert len(api.get(f"{API}/clinics").json()) == 1
        (doctor,) = api.get(f"{API}/doctors").json()  # made once, not again on the retry
        assert len(week(api, doctor["id"])) == 12
        assert [s["price"] for s in api.get(f"{API}/services").json()] == [300]
    assert console.unexpected() == []
