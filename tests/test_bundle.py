"""The frozen app: build.spec built once per session into a temporary folder (never the
repository's dist/), then the bundle's own executable run as a clinic would run it.

On a fresh data directory it migrates, serves the staff API, the UI and its vendored files,
and the webhook listener; ``--demo`` loads the demo clinic with time zones from the bundled
tzdata; SIGTERM stops it with exit code 0 and the database closed; with no command and no
display it serves headless and prints the address, keeping its data in the user-data
directory; the real window opens on Qt's offscreen platform. Nothing is ever written inside
the bundle folder. The start-up bench (bench/startup.py) runs once on the same bundle.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench import startup
from bench.__main__ import build_parser, startup_options
from bench.report import write_section
from bench.startup import QUICK_RUNS
from bench.startup_report import section

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bundle-token-Hq27vLx9"
VERIFY = "bundle-verify-token"
WAIT = 120  # generous: a wait, never a threshold
DEMO_TITLE = "Today · Sharma Family Clinic · clinicbot"
TABLES = {"clinics", "doctors", "services", "patients", "appointments", "outbox"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"),
        reason="the Linux bundle; .github/workflows/build.yml builds Windows and macOS",
    ),
]

Listing = dict[str, tuple[int, int, int]]


@dataclass(frozen=True)
class Bundle:
    folder: Path
    executable: Path
    build_seconds: float
    listing: Listing  # right after the build: what every test checks against at its end


def listing(folder: Path) -> Listing:
    """Every entry of ``folder``: its mode, size and modification time."""
    seen: Listing = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        seen[str(path.relative_to(folder))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return seen


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """``pyinstaller --noconfirm build.spec``, once, into a temporary dist and work folder."""
    where = tmp_path_factory.mktemp("pyinstaller")
    started = time.monotonic()
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level=WARN",
            "--distpath",
            str(where / "dist"),
            "--workpath",
            str(where / "work"),
            str(ROOT / "build.spec"),
        ],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.monotonic() - started
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    print(f"\nbuild.spec built in {seconds:.1f} s")  # shown with -s: the build dominates
    folder = where / "dist" / "clinicbot"
    executable = folder / "clinicbot"
    assert executable.is_file() and os.access(executable, os.X_OK)
    dangling = [p for p in folder.rglob("*") if p.is_symlink() and not p.exists()]
    assert dangling == []  # build.spec leaves out Qt's unused parts: their links too
    return Bundle(folder, executable, seconds, listing(folder))


@pytest.fixture
def untouched(bundle: Bundle) -> Iterator[Bundle]:
    """The bundle, checked afterwards: the frozen app wrote nothing inside its own folder."""
    yield bundle
    after = listing(bundle.folder)
    changed = sorted(
        k for k in set(after) | set(bundle.listing) if after.get(k) != bundle.listing.get(k)
    )
    assert changed == [], f"written inside the bundle: {changed[:20]}"


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without a display or a window probe, plus ``extra``."""
    drop = {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "CLINICBOT_WINDOW_PROBE"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("CLINICBOT_")}
    return {
        **env,
        "CLINICBOT_STAFF_TOKEN": TOKEN,
        "CLINICBOT_WHATSAPP_VERIFY_TOKEN": VERIFY,
        **extra,
    }


class Frozen:
    """The bundle's executable running, its output (stdout and stderr) collected as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, prefix: str) -> str:
        """The first line starting with ``prefix``, once it is printed."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: self._line(prefix) is not None or not self._reader.is_alive(), WAIT
            )
            line = self._line(prefix)
        assert found and line is not None, f"no {prefix!r} line:\n{self.output()}"
        return line

    def _line(self, prefix: str) -> str | None:
        return next((line for line in self.lines if line.startswith(prefix)), None)

    def url(self, name: str) -> str:
        return self.wait_for(f"clinicbot {name}:").split()[-1]

    def stop(self) -> int:
        """SIGTERM, as a service manager or the desktop's shutdown sends it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._reader.join(timeout=WAIT)
        return code


def serve(bundle: Bundle, data_dir: Path, *extra: str, **env: str) -> Frozen:
    args = [str(bundle.executable), "serve", "--data-dir", str(data_dir)]
    return Frozen([*args, "--port", "0", "--webhook-port", "0", *extra], environment(**env))


def stop_cleanly(frozen: Frozen) -> None:
    code = frozen.stop()
    assert code == 0, frozen.output()
    assert frozen.lines[-1].strip() == "clinicbot: stopped", frozen.output()
    assert "Traceback" not in frozen.output()


def assert_closed_cleanly(data_dir: Path) -> sqlite3.Connection:
    """The database was closed: SQLite folded the WAL back and removed it; it is sound."""
    db = data_dir / "clinicbot.db"
    assert db.is_file()
    assert not db.with_name("clinicbot.db-wal").exists(), "the database was not closed"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return conn


def test_a_fresh_data_directory_is_migrated_and_served(untouched: Bundle, tmp_path: Path) -> None:
    data = tmp_path / "fresh data"  # a space, as under "C:\Users\Front Desk"
    frozen = serve(untouched, data)
    try:
        staff, webhook = frozen.url("staff"), frozen.url("webhook")
        assert frozen.lines[0].strip() == f"clinicbot 0.1.0: data in {data}"
        with httpx.Client(base_url=staff, timeout=30) as anyone:
            assert anyone.get("/api/v1/health").status_code == 401  # the token is required
            page = anyone.get("/")
            assert page.status_code == 200
            assert "<title>clinicbot</title>" in page.text
            # A vendored module, byte for byte as in ui/ (served without the token).
            vendored = anyone.get("/vendor/preact.module.js")
            assert vendored.status_code == 200
            assert vendored.content == (ROOT / "ui" / "vendor" / "preact.module.js").read_bytes()
            assert anyone.get("/app.js").status_code == 200
        with httpx.Client(
            base_url=staff, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as api:
            assert api.get("/api/v1/health").json()["status"] == "ok"
            clinics = api.get("/api/v1/clinics")
            assert clinics.status_code == 200 and clinics.json() == []
        # Meta's subscription handshake on the webhook listener.
        hello = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "8150"}
        answer = httpx.get(webhook, params=hello, timeout=30)
        assert (answer.status_code, answer.text) == (200, "8150")
        wrong = httpx.get(webhook, params={**hello, "hub.verify_token": "guess"}, timeout=30)
        assert wrong.status_code == 403
    finally:
        stop_cleanly(frozen)
    conn = assert_closed_cleanly(data)
    try:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert tables >= TABLES, tables
        assert conn.execute("SELECT count(*) FROM clinics").fetchone()[0] == 0
    finally:
        conn.close()
    assert (data / "logs").is_dir()  # its log too is kept in the data directory


def test_the_demo_clinic_loads_with_the_bundled_time_zones(
    untouched: Bundle, tmp_path: Path
) -> None:
    # PYTHONTZPATH empty: zoneinfo ignores the system's files and must use the bundled tzdata,
    # as on Windows, which has none.
    frozen = serve(untouched, tmp_path, "--demo", PYTHONTZPATH="")
    try:
        staff = frozen.url("staff")
        with httpx.Client(
            base_url=staff, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as api:
            (clinic,) = api.get("/api/v1/clinics").json()
            assert (clinic["name"], clinic["timezone"]) == ("Sharma Family Clinic", "Asia/Kolkata")
            doctors = api.get("/api/v1/doctors").json()
            assert len(doctors) >= 2
            slots = _some_free_slots(api, doctors, api.get("/api/v1/services").json())
            # The bot, on the simulator: a day in words goes through dateparser's data.
            answers = _bot_answers(api, clinic["id"], "appointment tomorrow at 11 am please")
        assert slots and all(s["start"].endswith("+05:30") for s in slots), slots
        assert answers and all(a["text"] for a in answers), answers
    finally:
        stop_cleanly(frozen)
    assert " ERROR " not in frozen.output(), frozen.output()
    conn = assert_closed_cleanly(tmp_path)
    try:
        assert conn.execute("SELECT count(*) FROM doctors").fetchone()[0] == len(doctors)
        assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] > 0
    finally:
        conn.close()


def _bot_answers(api: httpx.Client, clinic_id: str, text: str) -> list[dict[str, str]]:
    """What the bot sent back to a simulated patient's ``text``, once it has answered."""
    body = {"clinic_id": clinic_id, "patient": "bundle", "text": text}
    posted = api.post("/api/v1/simulator/messages", json=body)
    assert posted.status_code == 201, posted.text
    params = {"clinic_id": clinic_id, "patient": "bundle"}
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        chat = api.get("/api/v1/simulator/messages", params=params).json()
        mine = next((i for i, e in enumerate(chat) if e["id"] == posted.json()["id"]), None)
        if mine is not None and chat[mine]["status"] is not None:  # the bot has taken it
            return [e for e in chat[mine + 1 :] if e["direction"] == "out"]
        time.sleep(0.05)  # no event to wait on over HTTP: the API's own view, polled
    raise AssertionError(f"no answer to {text!r}")


def _some_free_slots(
    api: httpx.Client, doctors: list[dict[str, str]], services: list[dict[str, str]]
) -> list[dict[str, str]]:
    """The first free slots found in the coming week, for any doctor and service."""
    today = dt.date.today()
    for offset in range(1, 8):
        for doctor in doctors:
            for service in services:
                params = {
                    "date": str(today + dt.timedelta(days=offset)),
                    "service_id": service["id"],
                }
                answer = api.get(f"/api/v1/doctors/{doctor['id']}/slots", params=params)
                if answer.status_code == 200 and answer.json():
                    slots: list[dict[str, str]] = answer.json()
                    return slots
    return []


def test_without_a_display_it_serves_headless_from_the_user_data_directory(
    untouched: Bundle, tmp_path: Path
) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    env = environment(HOME=str(home), XDG_DATA_HOME=str(home / "share"))
    frozen = Frozen([str(untouched.executable), "--port", "0", "--webhook-port", "0"], env, cwd)
    try:
        staff = frozen.url("staff")
        assert any("no display" in line for line in frozen.lines), frozen.output()
        answer = httpx.get(
            f"{staff}api/v1/health", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )
        assert answer.json()["status"] == "ok"
    finally:
        stop_cleanly(frozen)
    data = home / "share" / "clinicbot"  # platformdirs' user-data directory on Linux
    assert f"clinicbot 0.1.0: data in {data}\n" in frozen.lines
    assert_closed_cleanly(data).close()
    assert list(cwd.iterdir()) == []  # nothing beside wherever it was started from


def test_the_frozen_window_opens_signed_in_on_qt_offscreen(
    untouched: Bundle, tmp_path: Path
) -> None:
    probe = tmp_path / "probe" / "probe.json"
    probe.parent.mkdir()
    env = environment(
        QT_QPA_PLATFORM="offscreen",
        QTWEBENGINE_DISABLE_SANDBOX="1",
        CLINICBOT_WINDOW_PROBE=str(probe),
    )
    args = [str(untouched.executable), "--demo", "--data-dir", str(tmp_path / "data")]
    result = subprocess.run(
        [*args, "--port", "0", "--webhook-port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    seen = json.loads(probe.read_text())
    # The bundled Qt WebEngine rendered the bundled UI and the page signed in.
    assert seen == {
        "title": DEMO_TITLE,
        "token_in_address": False,
        "downloaded": True,
        "printed": True,
    }, output
    assert "the window is open" in result.stderr
    assert TOKEN not in output
    assert result.stdout.rstrip().endswith("clinicbot: stopped")
    assert_closed_cleanly(tmp_path / "data").close()


# ---- the start-up bench on this bundle (correctness only, never timing) ---------------------


def test_the_startup_bench_runs_on_the_bundle(untouched: Bundle, tmp_path: Path) -> None:
    argv = ["--only", "startup", "--quick", "--bundle", str(untouched.folder)]
    args = build_parser().parse_args([*argv, "--work-dir", str(tmp_path)])
    options = startup_options(args, argv)
    assert (options.runs, options.bundle, options.window) == (QUICK_RUNS, untouched.folder, True)
    result = startup.run(options, log=lambda _: None)

    assert [s.what for s in result.starts] == [startup.SOURCE, startup.FROZEN]
    for s in result.starts:
        assert s.first_ms > 0
        for figure in (s.work, s.base):
            assert figure.count == QUICK_RUNS
            assert 0 < figure.p50 <= figure.p95 <= figure.max
    assert len(result.footprints) == 6
    for f in result.footprints:
        assert f.memory.pss is not None and f.memory.uss is not None
        assert 0 < f.memory.uss <= f.memory.pss <= f.memory.rss
    windows = [f for f in result.footprints if f.what.startswith("desktop window")]
    assert len(windows) == 2
    assert all(f.memory.processes > 1 for f in windows)  # Qt WebEngine's own processes
    size = result.bundle
    assert size is not None and size.built_seconds is None  # the given bundle, not rebuilt
    assert size.files == sum(1 for mode, _, _ in untouched.listing.values() if stat.S_ISREG(mode))
    assert 0 < size.zip_mb < size.mb
    assert not (tmp_path / "startup" / "data").exists()  # its data directories are removed

    body = section(result)
    assert "- cold start to the first API answer, from source < 1.5 s — p50 **" in body
    assert "- cold start to the first API answer, frozen < 3 s — p50 **" in body
    assert "- idle server memory < 150 MB — **" in body
    rows = [line for line in body.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + 2 + 2 + 6  # two tables: header and rule, then their rows
    doc = tmp_path / "BENCHMARKS.md"
    ui = "<!-- bench:ui:start -->\nui figures\n<!-- bench:ui:end -->"
    doc.write_text(f"# Benchmarks\n\n{ui}\n", encoding="utf-8")
    write_section(doc, startup.SECTION, body)
    write_section(doc, startup.SECTION, body.replace("Start-up,", "Start-up again,"))
    text = doc.read_text(encoding="utf-8")
    assert ui in text and "Start-up again," in text
    assert text.count("<!-- bench:startup:start -->") == 1
