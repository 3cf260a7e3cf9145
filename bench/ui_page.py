"""The UI bench's browser side: Debian's Chromium, driven by Playwright, on the staff window.

Every figure is timed inside the page, on the page's own clock (``performance.now()``, event
time stamps), and stops at the first DOM mutation after which the awaited state holds (a
``MutationObserver``): Playwright's round trips to the browser never count. Each measured
operation is followed, in the same round, by its baseline, so that the noise of a shared
machine falls on both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Browser, Page, Route, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}  # the usual front-desk screen
WAIT_MS = 60_000  # a state not reached by then is a failure, not a figure
STATIC_PATH = "/bench-static-rows.html"
WATCH_KEY = "bench.watch"  # sessionStorage: time the Today rows from navigation start
ROW = 'tr[id^="appt-"]'  # a Today row
CHARTS = 5  # the Analytics screen's uPlot charts

# Installed before any script of every document. ``until(check, start)`` resolves with the
# milliseconds from ``start`` to the first moment ``check()`` holds. A document that is the
# static baseline page, or an app page while the watch flag is set, times its rows from its
# own navigation start (performance.now() is 0 there) into ``__bench.loaded``.
INIT_SCRIPT = """
(() => {
  const bench = window.__bench = {
    until(check, start) {
      return new Promise((resolve, reject) => {
        const observer = new MutationObserver(() => test());
        const timer = setTimeout(() => {
          observer.disconnect();
          reject(new Error("timed out"));
        }, %(wait)d);
        function test() {
          if (!check()) return;
          const ms = performance.now() - start;
          observer.disconnect(); clearTimeout(timer); resolve(ms);
        }
        observer.observe(document, {
          subtree: true, childList: true, attributes: true, characterData: true,
        });
        test();
      });
    },
    async fetchAll(urls, token) {
      const start = performance.now();
      await Promise.all(urls.map(async (url) => {
        const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
        if (!response.ok) throw new Error(`${url}: ${response.status}`);
        await response.json();
      }));
      return performance.now() - start;
    },
    names() {
      const list = '[role="listbox"][aria-label="Patients found"]';
      return [...document.querySelectorAll(`${list} [role="option"] strong`)]
        .map((e) => e.textContent);
    },
    rowsAtLeast(n) {
      return document.querySelectorAll('%(row)s').length >= n;
    },
    emptyDay() {
      return document.querySelectorAll('%(row)s').length === 0
        && document.querySelector(".today .queue .empty") !== null;
    },
    chartsDrawn(count) {
      const charts = document.querySelectorAll(".an-chart");
      return charts.length === count && [...charts].every((c) => c.dataset.drawn === "true")
        && !document.querySelector(".an-grid.stale")
        && [...document.querySelectorAll(".an-cards .value")].every((v) => v.textContent !== "…");
    },
  };
  const rows = location.pathname === "%(static)s" ? "tr.static-row"
    : sessionStorage.getItem("%(watch)s") ? '%(row)s' : null;
  if (rows) {
    bench.until(() => document.querySelectorAll(rows).length >= %(count)d, 0)
      .then((ms) => { bench.loaded = ms; });
  }
})();
"""

# Navigate inside the app (a hash change), then time until the state holds.
GO = """async ({ hash, check, arg }) => {
  const start = performance.now();
  location.hash = hash;
  return window.__bench.until(() => window.__bench[check](arg), start);
}"""
SETTLE = "() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)))"
# Arm the timing of the next key press in the top search, until the listbox shows ``names``.
ARM_SEARCH = """(expected) => {
  const input = document.querySelector('input[aria-label="Search patients"]');
  const same = () => JSON.stringify(window.__bench.names()) === JSON.stringify(expected);
  window.__bench.search = new Promise((resolve, reject) => {
    input.addEventListener("keydown", (e) => {
      window.__bench.until(same, e.timeStamp).then(resolve, reject);
    }, { once: true });
  });
}"""


@dataclass(frozen=True)
class Session:
    """A signed-in staff window, and a second page for the static baseline."""

    page: Page
    static: Page
    base_url: str
    token: str
    chromium: str  # its version

    def api(self, path: str, params: dict[str, str]) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}/api/v1{path}{query}"

    def fetch_all(self, urls: list[str]) -> float:
        """The bare API calls, from the page: fetch and parse, all at once, in ms."""
        return float(
            self.page.evaluate(
                "({ urls, token }) => window.__bench.fetchAll(urls, token)",
                {"urls": urls, "token": self.token},
            )
        )

    def go(self, hash_path: str, check: str, arg: object = None) -> float:
        """Milliseconds from setting the route to ``check(arg)`` holding."""
        return float(self.page.evaluate(GO, {"hash": hash_path, "check": check, "arg": arg}))

    def settle(self) -> None:
        self.page.evaluate(SETTLE)


def static_rows(count: int) -> str:
    """A page of ``count`` rows like Today's, with no script and no other resource."""
    row = (
        '<tr class="static-row"><td><strong>{t}</strong></td><td><a href="#">Patient {i}</a>'
        '<div class="muted">+91 98765 {i:05d}</div></td><td>Consultation</td>'
        '<td><span class="tag">WhatsApp</span></td><td><span class="status">Confirmed</span></td>'
        "<td><button>Arrived</button> <button>No-show</button> <button>Cancel</button></td></tr>"
    )
    rows = "".join(row.format(i=i, t=f"{9 + i // 12}:{i % 12 * 5:02d}") for i in range(count))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>rows</title></head>'
        f"<body><table><thead><tr><th>Time</th><th>Patient</th><th>Service</th><th>Booked by"
        f"</th><th>Status</th><th></th></tr></thead><tbody>{rows}</tbody></table></body></html>"
    )


@contextmanager
def session(base_url: str, token: str, rows: int) -> Iterator[Session]:
    """Chromium with the staff window signed in (the token in the URL fragment, as the
    desktop window does), and a page serving the static baseline from the same origin."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"the UI bench needs Chromium at {CHROMIUM} (apt install chromium)")
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(
                viewport=VIEWPORT,  # type: ignore[arg-type]
                locale="en-IN",
                timezone_id="Asia/Kolkata",
            )
            marks = {"wait": WAIT_MS, "static": STATIC_PATH, "watch": WATCH_KEY, "row": ROW}
            context.add_init_script(INIT_SCRIPT % {**marks, "count": rows})
            page = context.new_page()
            page.goto(f"{base_url}/#token={token}")
            page.get_by_role("navigation", name="Screens").wait_for(timeout=WAIT_MS)
            static = context.new_page()
            body = static_rows(rows)
            static.route(
                f"{base_url}{STATIC_PATH}",
                lambda route: _serve(route, body),
            )
            page.bring_to_front()  # only the page in front gets animation frames
            yield Session(page, static, base_url, token, browser.version)
        finally:
            browser.close()


def _serve(route: Route, body: str) -> None:
    route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)


def _loaded(page: Page) -> float:
    """``__bench.loaded`` of the document just navigated to, once its rows are all there."""
    handle = page.wait_for_function(
        "() => window.__bench && window.__bench.loaded", timeout=WAIT_MS
    )
    return float(handle.json_value())


# -- the measurements: each returns (work ms, baseline ms) per round, warm-up rounds left out --

Sample = tuple[float, float]


def today_refresh(s: Session, day: str, rows: int, rounds: int, warmup: int) -> list[Sample]:
    """Reload Today on ``day`` until its ``rows`` rows are in the DOM, from navigation start;
    beside loading a static page of as many rows, from navigation start."""
    s.go(f"#/today?date={day}", "rowsAtLeast", rows)
    s.page.evaluate("key => sessionStorage.setItem(key, '1')", WATCH_KEY)
    samples = []
    try:
        for i in range(warmup + rounds):
            # Only the page in front gets animation frames: each goes in front for its turn.
            s.page.bring_to_front()
            s.page.reload()
            work = _loaded(s.page)
            s.static.bring_to_front()
            s.static.goto(f"{s.base_url}{STATIC_PATH}")
            base = _loaded(s.static)
            if i >= warmup:
                samples.append((work, base))
    finally:
        s.page.bring_to_front()
        s.page.evaluate("key => sessionStorage.removeItem(key)", WATCH_KEY)
    return samples


def today_switch(
    s: Session, clinic_id: str, day: str, empty_day: str, rows: int, rounds: int, warmup: int
) -> list[Sample]:
    """From an empty day to ``day`` inside Today (the route changes, as ← and → do) until
    its rows are in the DOM; beside the bare API call for that day's appointments."""
    url = s.api("/appointments", {"clinic_id": clinic_id, "date": day, "limit": "1000"})
    samples = []
    for i in range(warmup + rounds):
        s.go(f"#/today?date={empty_day}", "emptyDay")
        s.settle()
        work = s.go(f"#/today?date={day}", "rowsAtLeast", rows)
        base = s.fetch_all([url])
        if i >= warmup:
            samples.append((work, base))
    return samples


@dataclass(frozen=True)
class SearchCase:
    """A fragment typed in the top search; its last character is the timed key press."""

    kind: str
    q: str
    before: list[str]  # the names listed for q[:-1]
    after: list[str]  # the names listed for q: the results the key press must bring


def search(s: Session, clinic_id: str, cases: list[SearchCase], warmup: int) -> list[Sample]:
    """From the key press to the listbox showing that fragment's results; beside the bare
    API call the search box makes."""
    page = s.page
    box = page.get_by_role("searchbox", name="Search patients")
    samples = []
    page.keyboard.press("/")
    for i, case in enumerate(cases):
        # Cleared in place: Escape would blur the box, and the blur closes the list 150 ms
        # later even if the box has been focused again meanwhile.
        box.fill("")
        box.fill(case.q[:-1])
        page.wait_for_function(
            "names => JSON.stringify(window.__bench.names()) === JSON.stringify(names)",
            arg=case.before,
            timeout=WAIT_MS,
        )
        s.settle()
        page.evaluate(ARM_SEARCH, case.after)
        page.keyboard.type(case.q[-1])
        work = float(page.evaluate("() => window.__bench.search"))
        url = s.api("/patients", {"clinic_id": clinic_id, "q": case.q, "limit": "8"})
        base = s.fetch_all([url])
        if i >= warmup:
            samples.append((work, base))
    box.fill("")
    return samples


def analytics(
    s: Session, clinic_id: str, first: str, last: str, away: str, rounds: int, warmup: int
) -> list[Sample]:
    """From another screen to Analytics over ``first``..``last`` with every chart drawn and
    every card filled; beside the screen's one bare API call (the statistics cards come
    with the range's analytics)."""
    urls = [
        s.api("/analytics", {"clinic_id": clinic_id, "date_from": first, "date_to": last}),
    ]
    samples = []
    for i in range(warmup + rounds):
        s.go(away, "emptyDay")
        s.settle()
        work = s.go(f"#/analytics?from={first}&to={last}", "chartsDrawn", CHARTS)
        base = s.fetch_all(urls)
        if i >= warmup:
            samples.append((work, base))
    return samples
