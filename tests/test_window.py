"""The desktop window (`clinicbot` with no command), run as a real process: the real
pywebview window on Qt WebEngine (offscreen platform), signed in through the URL fragment,
one instance per data directory, a clean stop, and headless service without a display.

The window's title is read through ``evaluate_js`` by the launcher's test hook
(``CLINICBOT_WINDOW_PROBE``, see clinicbot/desktop.py), which then closes the window.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import pytest

from clinicbot import desktop
from tests.conftest import STAFF_TOKEN, start_server

TOKEN = "window-token-Zq81xT4v"  # distinctive: the tests look for it in the output
DEMO_TITLE = "Today · Sharma Family Clinic · clinicbot"
WAIT = 120  # generous: a wait, never a threshold
QT_OFFSCREEN = {
    "QT_QPA_PLATFORM": "offscreen",
    "QTWEBENGINE_DISABLE_SANDBOX": "1",
    "CLINICBOT_STAFF_TOKEN": TOKEN,
}


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without any display, plus ``extra``."""
    drop = {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", desktop.PROBE_ENV}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def _args(data_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "clinicbot",
        "--data-dir",
        str(data_dir),
        "--port",
        "0",
        "--webhook-port",
        "0",
        *extra,
    ]


class Launched:
    """A `clinicbot` process whose output is collected line by line as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.stdout)),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr)),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)

    def wait_for(self, text: str, lines: list[str]) -> bool:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if any(text in line for line in lines):
                return True
            if self.process.poll() is not None:
                for reader in self._readers:
                    reader.join(timeout=10)
                return any(text in line for line in lines)
            time.sleep(0.05)
        return False

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        for reader in self._readers:
            reader.join(timeout=10)
        return code


def _assert_closed_cleanly(data_dir: Path) -> None:
    """The last connection closed: SQLite folded the WAL back and removed it."""
    db = data_dir / "clinicbot.db"
    assert not db.with_name("clinicbot.db-wal").exists(), "the database was not closed"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM clinics").fetchone()[0] == 1
    finally:
        conn.close()


def test_the_window_opens_signed_in_and_closes_cleanly(tmp_path: Path) -> None:
    data, probe_dir = tmp_path / "data", tmp_path / "probe"
    probe_dir.mkdir()
    probe = probe_dir / "probe.json"
    result = subprocess.run(
        _args(data, "--demo"),
        env=_env(**QT_OFFSCREEN, **{desktop.PROBE_ENV: str(probe)}),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    seen = json.loads(probe.read_text())
    # The signed-in app's title: the token reached the page through the fragment.
    assert seen["title"] == DEMO_TITLE, output
    assert seen["token_in_address"] is False  # the page took it off the address
    # A download (as a CSV export saves one) and window.print() reach Qt's handlers.
    assert seen["downloaded"] is True
    assert (probe_dir / "probe.csv").read_text() == "name,visits\nAsha,3\n"
    assert seen["printed"] is True
    assert (probe_dir / "print.pdf").read_bytes().startswith(b"%PDF")
    assert TOKEN not in output
    assert "js: probe: token [token]" in result.stderr  # the page's console, token hidden
    assert "clinicbot staff:" in result.stdout
    assert result.stdout.rstrip().endswith("clinicbot: stopped")
    _assert_closed_cleanly(data)


def test_a_second_launch_says_so_and_brings_the_first_window_forward(tmp_path: Path) -> None:
    first = Launched(_args(tmp_path, "--demo"), _env(**QT_OFFSCREEN))
    try:
        assert first.wait_for("the window is open", first.stderr), first.output()
        second = subprocess.run(
            _args(tmp_path), env=_env(**QT_OFFSCREEN), capture_output=True, text=True, timeout=WAIT
        )
        assert second.returncode == 1, second.stdout + second.stderr
        assert "already running" in second.stderr
        assert "brought to the front" in second.stderr
        assert "clinicbot staff:" not in second.stdout
        assert first.wait_for("bringing it to the front", first.stderr), first.output()
        assert not (tmp_path / desktop.SHOW_REQUEST).exists()
        assert first.process.poll() is None  # undisturbed
    finally:
        # SIGTERM closes the window as the close button does.
        assert first.stop() == 0, first.output()
    assert any("clinicbot: stopped" in line for line in first.stdout), first.output()
    assert TOKEN not in first.output()
    _assert_closed_cleanly(tmp_path)


def test_a_launch_beside_a_headless_server_says_so(tmp_path: Path) -> None:
    running = start_server(tmp_path)
    try:
        second = subprocess.run(
            _args(tmp_path),
            env=_env(**{**QT_OFFSCREEN, "CLINICBOT_STAFF_TOKEN": STAFF_TOKEN}),
            capture_output=True,
            text=True,
            timeout=WAIT,
        )
        assert second.returncode == 1, second.stdout + second.stderr
        assert "another clinicbot is already running" in second.stderr
        assert not (tmp_path / desktop.SHOW_REQUEST).exists()  # no request left behind
        with running.client() as client:
            assert client.get("/api/v1/health").status_code == 200
    finally:
        assert running.stop() == 0


def test_without_a_display_it_serves_headless_and_prints_the_address(tmp_path: Path) -> None:
    launched = Launched(_args(tmp_path), _env(CLINICBOT_STAFF_TOKEN=TOKEN))
    try:
        assert launched.wait_for("clinicbot webhook:", launched.stdout), launched.output()
        assert any("no display" in line for line in launched.stdout)
        staff = next(ln for ln in launched.stdout if ln.startswith("clinicbot staff:")).split()[-1]
        r = httpx.get(
            f"{staff}api/v1/health", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )
        assert r.json()["status"] == "ok"
        assert not any("the window is open" in line for line in launched.stderr)
    finally:
        assert launched.stop() == 0, launched.output()
    assert any("clinicbot: stopped" in line for line in launched.stdout)


def test_a_port_in_use_is_said_and_no_window_opens(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = [*_args(tmp_path), "--port", str(port)]
        result = subprocess.run(
            args, env=_env(**QT_OFFSCREEN), capture_output=True, text=True, timeout=WAIT
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "the window is open" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_host_the_gate_refuses_is_named_and_no_window_opens(tmp_path: Path) -> None:
    # 127.0.0.2 is this PC too, but not a name the staff listener lets in by default.
    args = [*_args(tmp_path), "--host", "127.0.0.2"]
    result = subprocess.run(
        args, env=_env(**QT_OFFSCREEN), capture_output=True, text=True, timeout=WAIT
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "add it to CLINICBOT_ALLOWED_HOSTS" in result.stderr
    assert "the window is open" not in result.stderr
    assert result.stdout.rstrip().endswith("clinicbot: stopped")


# ---- the launcher's decisions, in process ------------------------------------------------


@pytest.mark.parametrize(
    ("env", "window"),
    [
        ({}, False),
        ({"QT_QPA_PLATFORM": "xcb"}, False),  # needs a display, and there is none
        ({"DISPLAY": ":0"}, True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, True),
        ({"QT_QPA_PLATFORM": "offscreen"}, True),  # asked for explicitly
        ({"QT_QPA_PLATFORM": "offscreen:size=1366x768"}, True),
    ],
)
def test_a_window_needs_a_display_or_an_explicit_platform(
    env: dict[str, str], window: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    reason = desktop.unavailable_reason(env)
    assert (reason is None) is window, reason
    if not window:
        assert reason is not None and "no display" in reason


def test_no_gui_backend_means_no_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "webview", None)  # import webview now fails
    reason = desktop.unavailable_reason({"DISPLAY": ":0", "WAYLAND_DISPLAY": "w"})
    assert reason is not None and reason.startswith("no window backend")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({}, {"QTWEBENGINE_DISABLE_SANDBOX": "1"}),
        ({"QTWEBENGINE_DISABLE_SANDBOX": "0"}, {"QTWEBENGINE_DISABLE_SANDBOX": "0"}),
        ({"QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox"}, None),
    ],
)
def test_as_root_the_webengine_sandbox_is_switched_off(
    before: dict[str, str], after: dict[str, str] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    env = dict(before)
    desktop.prepare_environment(env)
    assert env == (after if after is not None else before)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    env = {}
    desktop.prepare_environment(env)
    assert env == {}


@pytest.mark.parametrize(
    ("staff_url", "host", "window_url"),
    [
        ("http://127.0.0.1:8750/", "127.0.0.1", "http://127.0.0.1:8750/"),
        ("http://0.0.0.0:8750/", "0.0.0.0", "http://127.0.0.1:8750/"),  # noqa: S104
        ("http://localhost:9000/", "localhost", "http://127.0.0.1:9000/"),
        ("http://[::]:8750/", "::", "http://[::1]:8750/"),
        ("http://192.168.1.20:8750/", "192.168.1.20", "http://192.168.1.20:8750/"),
    ],
)
def test_the_window_reaches_the_listener_from_this_pc(
    staff_url: str, host: str, window_url: str
) -> None:
    assert desktop.window_address(staff_url, host) == window_url


def test_the_token_is_redacted_from_log_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.window.redact")
    token = "a/b+c=d secret"
    redact = desktop._Redact(token)
    logger.addFilter(redact)
    try:
        with caplog.at_level(logging.DEBUG, logger=logger.name):
            logger.debug("Loading URL: %s", "http://127.0.0.1:1/#token=a%2Fb%2Bc%3Dd%20secret")
            logger.info("raw %s", token)
            logger.info("nothing to hide")
    finally:
        logger.removeFilter(redact)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "Loading URL: http://127.0.0.1:1/#token=[token]",
        "raw [token]",
        "nothing to hide",
    ]


def test_a_show_request_nobody_takes_is_removed(tmp_path: Path) -> None:
    assert desktop.ask_running_window(tmp_path, wait=0.3) is False
    assert not (tmp_path / desktop.SHOW_REQUEST).exists()


def test_a_show_request_taken_is_reported(tmp_path: Path) -> None:
    request = tmp_path / desktop.SHOW_REQUEST

    def take() -> None:
        deadline = time.monotonic() + WAIT
        while not request.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        request.unlink()

    taker = threading.Thread(target=take)
    taker.start()
    assert desktop.ask_running_window(tmp_path, wait=WAIT) is True
    taker.join()
