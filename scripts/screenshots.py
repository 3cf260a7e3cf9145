"""Screenshots of every screen of the staff window at 1366×768, for docs/ and the README.

    .venv/bin/python scripts/screenshots.py        # writes docs/screens/<screen>.png

It starts ``clinicbot serve --demo`` on a fresh data directory and drives Debian's
Chromium with Playwright, the way the browser tests do.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import start_server  # noqa: E402
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402

OUT = ROOT / "docs" / "screens"


def today(page: Page) -> None:
    page.get_by_role("region").first.wait_for()
    rows = page.locator("table.grid tbody tr")
    if rows.count() > 1:
        rows.nth(1).click()


def patient(page: Page) -> None:
    page.keyboard.press("3")
    page.wait_for_timeout(600)
    page.locator("table.grid tbody tr").first.click()
    page.keyboard.press("Enter")


def inbox(page: Page) -> None:
    page.keyboard.press("ArrowDown")  # the newest conversation: waiting for staff


def trybot(page: Page) -> None:
    """Say hi, then take the first option twice, as a patient booking would."""
    page.get_by_role("button", name="Hi", exact=True).click()
    for _ in range(2):
        page.wait_for_timeout(1500)
        last = page.locator(".wa-msg.bot").last
        if last.locator(".wa-buttons button").count():
            last.locator(".wa-buttons button").first.click()
        elif last.locator(".wa-list-button").count():
            last.locator(".wa-list-button").click()
            page.locator(".wa-rows button").first.click()
    page.wait_for_timeout(1500)


SHOTS: list[tuple[str, str, object]] = [
    ("today", "#/today", today),
    ("booking", "#/today", lambda p: (today(p), p.keyboard.press("n"))),
    ("calendar", "#/calendar?view=week", None),
    ("patients", "#/patients", None),
    ("patient", "#/patients", patient),
    ("inbox", "#/inbox", inbox),
    ("analytics", "#/analytics", None),
    ("trybot", "#/bot", trybot),
    ("settings", "#/settings", None),
    ("health", "#/settings?section=health", None),
    ("data", "#/settings?section=data", None),
    ("print", "#/print", None),
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), "--demo")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context(
                    viewport=VIEWPORT, timezone_id="Asia/Kolkata", locale="en-IN"
                )
                page = context.new_page()
                page.goto(f"{server.staff_url}#token={server.token}")
                page.get_by_role("navigation", name="Screens").wait_for()
                for name, where, prepare in SHOTS:
                    page.evaluate("h => { location.hash = h }", where)
                    page.wait_for_timeout(900)
                    if callable(prepare):
                        prepare(page)
                        page.wait_for_timeout(1500)
                    page.screenshot(path=str(OUT / f"{name}.png"))
                    page.keyboard.press("Escape")
                    print(f"docs/screens/{name}.png")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
