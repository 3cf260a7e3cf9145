"""The command line, run as a real process: help, the data-directory lock, ports, signals,
the staff token, and data kept across restarts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import STAFF_TOKEN, VERIFY_TOKEN, RunningServer, start_server

OPTIONS = ["--data-dir", "--host", "--port", "--webhook-port", "--demo"]


def _clinicbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clinicbot", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _wait_for_output(running: RunningServer, text: str) -> bool:
    """Whether ``text`` appears in the output of a process that has exited.

    The fixture's reader thread may still be copying the last lines when the process ends.
    """
    done = threading.Event()
    for _ in range(200):
        if any(text in line for line in running.output):
            return True
        done.wait(0.05)
    return False


@pytest.mark.parametrize("command", [["--help"], ["serve", "--help"]])
def test_help_documents_every_option(command: list[str]) -> None:
    result = _clinicbot(*command)
    assert result.returncode == 0, result.stderr
    for option in OPTIONS:
        assert option in result.stdout, option
    if command == ["--help"]:
        assert "serve" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "70000"],
        ["serve", "--port", "-1"],
        ["serve", "--port", "http"],
        ["serve", "--webhook-port", "65536"],
        ["serve", "--no-such-option"],
    ],
)
def test_bad_arguments_are_an_argparse_error(args: list[str], tmp_path: Path) -> None:
    result = _clinicbot(*args, "--data-dir", str(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "usage:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CLINICBOT_PORT", "http", "whole number"),
        ("CLINICBOT_WEBHOOK_PORT", "70000", "port from 0 to 65535"),
        ("CLINICBOT_REMINDER_INTERVAL", "soon", "a number"),
        ("CLINICBOT_SENDER_MAX_BACKOFF", "-5", "0 or more"),
        ("CLINICBOT_SENDER_AUTH_RETRY", "nan", "0 or more"),
    ],
)
def test_a_bad_setting_is_named_without_a_traceback(
    variable: str, value: str, says: str, tmp_path: Path
) -> None:
    result = _clinicbot("serve", "--data-dir", str(tmp_path), env={variable: value})
    assert result.returncode == 2, result.stdout + result.stderr
    assert variable in result.stderr and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_port_zero_prints_two_urls_that_answer(tmp_path: Path) -> None:
    running = start_server(tmp_path)
    try:
        staff, webhook = urlsplit(running.staff_url), urlsplit(running.webhook_url)
        assert staff.hostname == webhook.hostname == "127.0.0.1"
        assert staff.port and webhook.port and staff.port != webhook.port
        assert webhook.path == "/webhooks/whatsapp"
        with running.client() as client:
            assert client.get("/api/v1/health").json()["status"] == "ok"
        r = httpx.get(
            running.webhook_url,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "7",
            },
            timeout=30,
        )
        assert (r.status_code, r.text) == (200, "7")
        assert any(str(tmp_path) in line for line in running.output), running.output
    finally:
        running.stop()


def test_a_second_server_on_the_same_data_dir_refuses(tmp_path: Path) -> None:
    first = start_server(tmp_path)
    try:
        second = _clinicbot(
            "serve",
            "--data-dir",
            str(tmp_path),
            "--port",
            "0",
            "--webhook-port",
            "0",
            env={"CLINICBOT_STAFF_TOKEN": STAFF_TOKEN},
        )
        assert second.returncode != 0
        assert "already running" in second.stdout + second.stderr
        assert "clinicbot staff:" not in second.stdout
        # The first one is undisturbed.
        assert first.process.poll() is None
        with first.client() as client:
            assert client.get("/api/v1/health").status_code == 200
            assert client.post("/api/v1/clinics", json={"name": "Still here"}).status_code == 201
    finally:
        assert first.stop() == 0


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    running = start_server(tmp_path)
    with running.client() as client:
        assert client.get("/api/v1/health").status_code == 200
    assert running.stop() == 0
    assert _wait_for_output(running, "stopped"), running.output
    # The lock went with it: the next start on this directory succeeds.
    again = start_server(tmp_path)
    assert again.stop() == 0


def test_staff_token_from_the_environment(tmp_path: Path) -> None:
    running = start_server(tmp_path, env={"CLINICBOT_STAFF_TOKEN": "from-env-Token-42"})
    try:
        base = running.staff_url.rstrip("/")
        ok = httpx.get(
            f"{base}/api/v1/health", headers={"Authorization": "Bearer from-env-Token-42"}
        )
        assert ok.status_code == 200
        default = httpx.get(
            f"{base}/api/v1/health", headers={"Authorization": f"Bearer {STAFF_TOKEN}"}
        )
        assert default.status_code == 401
        assert not (tmp_path / "staff_token").exists() or (
            (tmp_path / "staff_token").read_text().strip() != "from-env-Token-42"
        )
    finally:
        running.stop()


def test_generated_token_is_kept_private_and_reused(tmp_path: Path) -> None:
    no_env_token = {"CLINICBOT_STAFF_TOKEN": ""}
    running = start_server(tmp_path, env=no_env_token)
    try:
        token_file = tmp_path / "staff_token"
        assert token_file.is_file()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert len(token) >= 32
        base = running.staff_url.rstrip("/")
        r = httpx.get(f"{base}/api/v1/health", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        wrong = httpx.get(
            f"{base}/api/v1/health", headers={"Authorization": f"Bearer {STAFF_TOKEN}"}
        )
        assert wrong.status_code == 401
    finally:
        assert running.stop() == 0

    again = start_server(tmp_path, env=no_env_token)
    try:
        assert token_file.read_text().strip() == token
        base = again.staff_url.rstrip("/")
        r = httpx.get(f"{base}/api/v1/health", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
    finally:
        assert again.stop() == 0


def test_restart_keeps_the_data(tmp_path: Path) -> None:
    first = start_server(tmp_path)
    with first.client() as client:
        clinic = client.post("/api/v1/clinics", json={"name": "Kept"}).json()
        patient = client.post(
            "/api/v1/patients",
            json={"clinic_id": clinic["id"], "name": "Persisted", "phone": "98765 43210"},
        ).json()
    assert first.stop() == 0

    second = start_server(tmp_path)
    try:
        with second.client() as client:
            r = client.get(f"/api/v1/patients/{patient['id']}")
            assert r.status_code == 200, r.text
            assert r.json() == patient
            assert client.get(f"/api/v1/clinics/{clinic['id']}").json() == clinic
    finally:
        assert second.stop() == 0


def test_demo_loads_a_clinic_into_an_empty_database(tmp_path: Path) -> None:
    running = start_server(tmp_path, "--demo")
    try:
        with running.client() as client:
            clinics = client.get("/api/v1/clinics").json()
            assert len(clinics) == 1
            doctors = client.get("/api/v1/doctors", params={"clinic_id": clinics[0]["id"]}).json()
            assert len(doctors) >= 1
    finally:
        assert running.stop() == 0
    # Run again with --demo: the database is no longer empty, nothing is added.
    again = start_server(tmp_path, "--demo")
    try:
        with again.client() as client:
            assert len(client.get("/api/v1/clinics").json()) == 1
    finally:
        assert again.stop() == 0


def test_without_a_window_engine_on_a_desktop_the_browser_opens_signed_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Windows without WebView2 (or macOS without a window engine): the double-clicked app has
    no console, so the browser opens the staff UI, the token in the fragment only."""
    import webbrowser

    from clinicbot import cli
    from clinicbot.config import load_settings
    from clinicbot.server import Addresses

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    env = {"CLINICBOT_DATA_DIR": str(tmp_path), "CLINICBOT_STAFF_TOKEN": "a b/c"}
    settings = load_settings(env=env)
    ready = cli._and_open_browser(settings)
    ready(Addresses("http://127.0.0.1:8750/", "http://127.0.0.1:8751/webhooks/whatsapp"))
    assert opened == ["http://127.0.0.1:8750/#token=a%20b%2Fc"]
    assert "clinicbot staff:   http://127.0.0.1:8750/" in capsys.readouterr().out
