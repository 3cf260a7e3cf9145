"""Shared fixtures: real SQLite files made by the migrations, and a real server process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from clinicbot.db import connect, migrate

STAFF_TOKEN = "test-staff-token-0123456789"
VERIFY_TOKEN = "test-verify-token"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a fresh database file made by the production migrations."""
    connection = connect(tmp_path / "clinicbot.db")
    migrate(connection)
    yield connection
    connection.close()


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    staff_url: str
    webhook_url: str
    data_dir: Path
    token: str
    output: list[str]

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(
            base_url=self.staff_url.rstrip("/"),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **kwargs,  # type: ignore[arg-type]
        )

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> RunningServer:
    """``clinicbot serve`` in its own process on free ports; returns once both listen."""
    full_env = {
        **os.environ,
        "CLINICBOT_STAFF_TOKEN": STAFF_TOKEN,
        "CLINICBOT_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clinicbot",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
            "--webhook-port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=full_env,
    )
    output: list[str] = []
    staff = webhook = None
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline and (staff is None or webhook is None):
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith("clinicbot staff:"):
            staff = line.split()[-1]
        elif line.startswith("clinicbot webhook:"):
            webhook = line.split()[-1]
    if staff is None or webhook is None:
        process.kill()
        rest = process.stdout.read()
        raise RuntimeError("server did not start:\n" + "".join(output) + rest)
    # Keep draining output so the child never blocks on a full pipe.
    import threading

    def drain() -> None:
        assert process.stdout is not None
        for more in process.stdout:
            output.append(more)

    threading.Thread(target=drain, daemon=True).start()
    return RunningServer(
        process, staff, webhook, data_dir, full_env["CLINICBOT_STAFF_TOKEN"], output
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One real server for the session; tests isolate themselves by making their own clinic."""
    running = start_server(tmp_path_factory.mktemp("server-data"))
    yield running
    running.stop()


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last, whatever order the paths were given in: pytest-playwright keeps an
    event loop running in the main thread for the rest of the session, and tests that call
    ``asyncio.run`` cannot run after it."""
    ui = Path(__file__).parent / "ui"
    items.sort(key=lambda item: item.path.is_relative_to(ui))
