"""Browser tests: Debian's Chromium driven by Playwright against a real clinicbot server
(its own process, a real SQLite file made by the migrations, the demo clinic).

Every test's page fails the test on a console error or an uncaught exception, unless the
test says which error it expects (``console.allow(r"409")``: Chromium logs every refused
request, and some tests provoke one on purpose).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from bench import ui_page
from tests.conftest import RunningServer, start_server

# Debian's Chromium, the flags this machine needs and the front desk's screen: one
# definition, shared with the UI benchmark.
CHROMIUM, CHROMIUM_ARGS, VIEWPORT = ui_page.CHROMIUM, ui_page.ARGS, ui_page.VIEWPORT

# The machine is shared and slow at times: wait up to 20 s for what should appear (a
# wait, not a threshold: a passing check returns as soon as it holds).
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run ./dev test, which installs it")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "viewport": VIEWPORT,
        "timezone_id": "Asia/Kolkata",
        "locale": "en-IN",
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server on the demo clinic, one per test module (tests change its data)."""
    running = start_server(tmp_path_factory.mktemp("ui-demo"), "--demo")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api(demo: RunningServer) -> Iterator[httpx.Client]:
    """The staff API of the module's server, with its token."""
    with demo.client() as client:
        yield client


@pytest.fixture(scope="module")
def clinic(api: httpx.Client) -> dict[str, Any]:
    """The module's clinic (the demo clinic), as the API reads it back."""
    clinics: list[dict[str, Any]] = api.get("/api/v1/clinics").json()
    return clinics[0]


@dataclass
class Console:
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """An error this test provokes on purpose (say, the 409 of a slot taken)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def console() -> Console:
    return Console()


def open_app(page: Page, server: RunningServer, console: Console, hash_path: str = "") -> Page:
    """Sign in the way the desktop window does: the token in the URL fragment."""
    page.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.errors.append(f"uncaught: {e}"))
    page.goto(f"{server.staff_url}#token={server.token}")
    expect(page.get_by_role("navigation", name="Screens")).to_be_visible()
    if hash_path:
        page.evaluate("h => { location.hash = h }", hash_path)
    return page


@pytest.fixture
def staff(page: Page, demo: RunningServer, console: Console) -> Iterator[Page]:
    """The staff window on the demo clinic, signed in, at Today."""
    open_app(page, demo, console)
    yield page
    assert console.unexpected() == [], "console errors on the page"
