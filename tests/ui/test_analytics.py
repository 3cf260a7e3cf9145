"""Analytics, as the clinic owner reads it: the statistics cards, each chart drawn and its
numbers readable as a table, the range in the address changing what is counted, honest empty
and error states, and the appointments exported as CSV."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.ui.conftest import Console

JSON = dict[str, Any]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
CHANNELS = {"whatsapp": "WhatsApp", "staff": "Phone/desk", "walk-in": "Walk-in"}
CHARTS = (
    "Appointments per day",
    "New and returning patients per month",
    "Busiest hours",
    "No-show rate by weekday",
    "No-show rate by doctor",
)


@pytest.fixture(scope="module")
def today(clinic: JSON) -> date:
    return datetime.now(ZoneInfo(clinic["timezone"])).date()


def analytics(api: httpx.Client, clinic: JSON, first: date, last: date) -> JSON:
    params = {"clinic_id": clinic["id"], "date_from": str(first), "date_to": str(last)}
    response = api.get("/api/v1/analytics", params=params)
    assert response.status_code == 200, response.text
    found: JSON = response.json()
    return found


def indian(n: int) -> str:
    """A count as en-IN writes it: 1,23,456."""
    text = str(n)
    if len(text) <= 3:
        return text
    head, tail = text[:-3], text[-3:]
    groups: list[str] = []
    while len(head) > 2:
        head, group = head[:-2], head[-2:]
        groups.insert(0, group)
    return ",".join([head, *groups, tail]) if head else ",".join([*groups, tail])


def fixed(value: float, digits: int) -> str:
    """``value.toFixed(digits)`` as JavaScript rounds it: half away from zero, on the exact
    binary value (Python's own formatting rounds a tie to even)."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def rate(value: float | None) -> str:
    return "—" if value is None else f"{fixed(value * 100, 1)}%"


def today_shown(page: Page) -> None:
    """Wait for the screen the window opens on. (Leaving it while its module still loads can
    end on Today anyway: the shell's screen loader lets a late load win, see the report.)"""
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()


def open_analytics(page: Page, first: date | None = None, last: date | None = None) -> None:
    today_shown(page)
    query = f"?from={first}&to={last}" if first and last else ""
    page.evaluate("h => { location.hash = h }", f"#/analytics{query}")
    expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()


def chart(page: Page, title: str) -> Locator:
    return page.get_by_role("region", name=title, exact=True)


def table_rows(region: Locator) -> list[list[str]]:
    region.get_by_role("button", name="Show as table").click()
    table = region.get_by_role("table")
    expect(table).to_be_visible()
    rows: list[list[str]] = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    return rows


def day_summary(data: JSON) -> str:
    days = data["appointments_per_day"]
    total = sum(d["total"] for d in days)
    return f"{indian(total)} appointments over {len(days)} days: " + ", ".join(
        [
            f"{indian(sum(d['completed'] for d in days))} completed",
            f"{indian(sum(d['no_show'] for d in days))} no-shows",
            f"{indian(sum(d['cancelled'] for d in days))} cancelled",
        ]
    )


def test_the_cards_show_the_clinic_statistics(staff: Page, api: httpx.Client, clinic: JSON) -> None:
    stats = api.get(f"/api/v1/patients/stats/clinic/{clinic['id']}").json()
    today_shown(staff)
    staff.keyboard.press("5")
    expect(staff).to_have_title(re.compile(r"^Analytics · "))
    cards = staff.get_by_role("group", name="Clinic statistics")
    expected = {  # label: (value, a word of the one-line meaning under it, DESIGN.md's)
        "Patients": (indian(stats["total_patients"]), "records"),
        "New this month": (indian(stats["new_patients_this_month"]), "this month"),
        "Active patients": (indian(stats["active_patients"]), "last 12 months"),
        "Appointments": (indian(stats["total_appointments"]), "whatever its status"),
        "No-show rate": (rate(stats["no_show_rate"]), "No-shows ÷ (completed + no-shows)"),
    }
    for label, (value, meaning) in expected.items():
        card = cards.get_by_role("group", name=label, exact=True)
        expect(card.locator(".value")).to_have_text(value)
        expect(card.locator(".sub")).to_contain_text(meaning)
    assert stats["total_appointments"] > 0 and stats["no_show_rate"] is not None


def test_each_chart_is_drawn_and_its_table_equals_the_api(
    staff: Page, api: httpx.Client, clinic: JSON, today: date
) -> None:
    first = today - timedelta(days=89)
    data = analytics(api, clinic, first, today)
    open_analytics(staff, first, today)
    for title in CHARTS:
        region = chart(staff, title)
        expect(region.locator("canvas")).to_have_count(1)
        expect(region.locator(".an-chart")).to_have_attribute("data-drawn", "true")
    per_day = chart(staff, "Appointments per day")
    expect(per_day.get_by_role("img")).to_have_accessible_name(re.compile(day_summary(data)))
    days = data["appointments_per_day"]
    assert [r[1:] for r in table_rows(per_day)] == [
        [
            indian(d["total"]),
            indian(d["completed"]),
            indian(d["no_show"]),
            indian(d["cancelled"]),
            indian(d["total"] - d["completed"] - d["no_show"] - d["cancelled"]),
        ]
        for d in days
    ]
    months = data["new_vs_returning"]
    assert table_rows(chart(staff, "New and returning patients per month")) == [
        [f"{_month(m['month'])}", indian(m["new"]), indian(m["returning"])] for m in months
    ]
    assert table_rows(chart(staff, "No-show rate by weekday")) == [
        [WEEKDAYS[w["weekday"]], indian(w["no_shows"]), indian(w["completed"]), rate(w["rate"])]
        for w in data["no_show_rate_by_weekday"]
    ]
    assert table_rows(chart(staff, "No-show rate by doctor")) == [
        [d["doctor_name"], indian(d["no_shows"]), indian(d["completed"]), rate(d["rate"])]
        for d in data["no_show_rate_by_doctor"]
    ]
    hours = table_rows(chart(staff, "Busiest hours"))
    cells = {(c["weekday"], c["hour"]): c["appointments"] for c in data["busiest_hours"]}
    first_hour = min(h for _, h in cells)
    assert len(hours) == max(h for _, h in cells) - first_hour + 1
    for offset, row in enumerate(hours):
        counts = [cells.get((wd, first_hour + offset), 0) for wd in range(7)]
        assert row[1:] == [indian(n) for n in [*counts, sum(counts)]], row
    channels = chart(staff, "Bookings by channel").get_by_role("list", name="Bookings by channel")
    total = sum(c["appointments"] for c in data["bookings_by_channel"])
    for c in data["bookings_by_channel"]:
        share = f"{fixed(c['appointments'] / total * 100, 0)}%"
        expect(
            channels.get_by_role("listitem").filter(has_text=CHANNELS[c["source"]])
        ).to_have_text(
            re.compile(rf"{CHANNELS[c['source']]}\s*{indian(c['appointments'])}\s*{share}")
        )


def _month(month: str) -> str:
    return f"{date.fromisoformat(month + '-01'):%B %Y}"


def test_changing_the_range_counts_again(
    staff: Page, api: httpx.Client, clinic: JSON, today: date
) -> None:
    today_shown(staff)
    staff.keyboard.press("5")
    per_day = chart(staff, "Appointments per day")
    last30 = analytics(api, clinic, today - timedelta(days=29), today)
    expect(per_day).to_contain_text(day_summary(last30))
    expect(staff.get_by_role("button", name="Last 30 days")).to_have_attribute(
        "aria-pressed", "true"
    )

    staff.get_by_role("button", name="Last 90 days").click()
    first = today - timedelta(days=89)
    expect(staff).to_have_url(re.compile(re.escape(f"#/analytics?from={first}&to={today}")))
    last90 = analytics(api, clinic, first, today)
    assert day_summary(last90) != day_summary(last30)
    expect(per_day).to_contain_text(day_summary(last90))

    custom = today - timedelta(days=45)
    staff.get_by_label("From", exact=True).fill(str(custom))
    expect(staff).to_have_url(re.compile(re.escape(f"#/analytics?from={custom}&to={today}")))
    expect(per_day).to_contain_text(day_summary(analytics(api, clinic, custom, today)))
    expect(staff.get_by_role("button", name="Last 90 days")).to_have_attribute(
        "aria-pressed", "false"
    )

    staff.get_by_label("From", exact=True).fill(str(today + timedelta(days=3)))
    expect(staff.get_by_role("alert")).to_contain_text("first day is after the last day")
    expect(staff.get_by_role("button", name=re.compile("Export CSV"))).to_be_disabled()


def test_a_range_without_appointments_says_so(staff: Page, api: httpx.Client, clinic: JSON) -> None:
    first, last = date(2020, 1, 1), date(2020, 1, 31)
    assert sum(d["total"] for d in analytics(api, clinic, first, last)["appointments_per_day"]) == 0
    open_analytics(staff, first, last)
    expect(staff.get_by_text("No appointments between 1 Jan 2020 and 31 Jan 2020")).to_be_visible()
    expect(staff.locator("canvas")).to_have_count(0)


def test_a_refused_range_shows_the_servers_reason(staff: Page, console: Console) -> None:
    console.allow(r"400")  # the server refuses a year before 1971, as it should
    open_analytics(staff, date(1960, 1, 1), date(1960, 1, 31))
    expect(staff.get_by_role("alert")).to_contain_text("Give a date between 1971 and 9998")
    expect(staff.get_by_role("button", name="Try again")).to_be_visible()


def test_export_csv_downloads_the_ranges_appointments(
    staff: Page, api: httpx.Client, clinic: JSON, today: date, tmp_path: Path
) -> None:
    first = today - timedelta(days=20)
    open_analytics(staff, first, today)
    expect(chart(staff, "Appointments per day").locator("canvas")).to_have_count(1)
    params = {"clinic_id": clinic["id"], "date_from": str(first), "date_to": str(today)}
    expected = api.get("/api/v1/analytics/appointments.csv", params=params).content
    with staff.expect_download() as clicked:
        staff.get_by_role("button", name=re.compile("Export CSV")).click()
    download = clicked.value
    assert download.suggested_filename == f"appointments-{first}-{today}.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes() == expected
    rows = expected.decode("utf-8").splitlines()
    assert rows[0] == "date,time,doctor,service,patient_name,phone,status,source"
    assert len(rows) > 50 and all(r[:10] >= str(first) for r in rows[1:])
    with staff.expect_download() as pressed:
        staff.keyboard.press("e")
    assert pressed.value.suggested_filename == download.suggested_filename


def test_charts_follow_their_panels_width(staff: Page) -> None:
    open_analytics(staff)
    canvas = chart(staff, "Appointments per day").locator("canvas")
    expect(canvas).to_have_count(1)
    wide = canvas.evaluate("c => c.getBoundingClientRect().width")
    staff.set_viewport_size({"width": 1100, "height": 768})
    staff.wait_for_function(
        "w => document.querySelector('.an-chart canvas').getBoundingClientRect().width < w - 200",
        arg=wide,
    )
