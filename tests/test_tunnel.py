"""The tunnel, through the staff API of a real ``clinicbot serve``, with a stand-in for
cloudflared (``tests/bin/cloudflared``) found on the server's PATH.

The stand-in prints on stderr what a quick tunnel prints (the banner with its random
trycloudflare.com URL), records each run (pid and arguments) in a control directory, and
stays up until it is stopped; ``FAKE_CLOUDFLARED_DIE_RUNS=N`` makes its first N runs die
soon after they print their URL, as a cloudflared that lost its edge connection does.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from clinicbot.services.tunnel import quick_tunnel_url
from tests.conftest import RunningServer, start_server

T = TypeVar("T")
JSON = dict[str, Any]

BIN = Path(__file__).parent / "bin"
QUICK_URL = re.compile(r"^https://[a-z]+(-[a-z]+){3}\.trycloudflare\.com$")


def wait_for(check: Callable[[], T], what: str, timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Tunnel:
    """The tunnel routes of one server, and the stand-in's record of its runs."""

    def __init__(self, server: RunningServer, control: Path) -> None:
        self.server, self.control = server, control

    def call(self, method: str, path: str = "") -> JSON:
        with self.server.client() as client:
            response = client.request(method, "/api/v1/tunnel" + path)
        assert response.status_code == 200, response.text
        status: JSON = response.json()
        return status

    def status(self) -> JSON:
        return self.call("GET")

    def start(self) -> JSON:
        return self.call("POST", "/start")

    def stop(self) -> JSON:
        return self.call("POST", "/stop")

    def wait(self, state: str, **want: object) -> JSON:
        def reached() -> JSON:
            status = self.status()
            ok = status["state"] == state and all(status[k] == v for k, v in want.items())
            return status if ok else {}

        return wait_for(reached, f"tunnel {state} {want}")

    def runs(self) -> list[tuple[int, str]]:
        """(pid, arguments) of every run of the stand-in so far."""
        path = self.control / "runs"
        lines = path.read_text().splitlines() if path.exists() else []
        return [(int(pid), args) for pid, _, args in (line.partition(" ") for line in lines)]


def _env(control: Path, path: str, **extra: str) -> dict[str, str]:
    return {"PATH": path, "FAKE_CLOUDFLARED_DIR": str(control), **extra}


@pytest.fixture
def tunnel(tmp_path: Path) -> Iterator[Tunnel]:
    """A server whose PATH finds the stand-in; the stand-in's first run dies."""
    control = tmp_path / "control"
    control.mkdir()
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    env = _env(control, path, FAKE_CLOUDFLARED_DIE_RUNS="1")
    server = start_server(tmp_path / "data", env=env)
    try:
        yield Tunnel(server, control)
    finally:
        server.stop()


def test_the_tunnel_is_off_until_asked(tunnel: Tunnel) -> None:
    assert tunnel.status() == {
        "state": "off",
        "public_url": None,
        "callback_url": None,
        "verify_token_set": True,
        "last_error": None,
        "restarts": 0,
    }
    assert tunnel.runs() == []


def test_start_restart_after_a_death_and_stop(tunnel: Tunnel) -> None:
    assert tunnel.start()["state"] in ("starting", "running", "restarting")
    # The first run prints its URL and dies: the manager starts another one.
    status = tunnel.wait("running", restarts=1)
    assert QUICK_URL.match(status["public_url"]), status
    assert status["callback_url"] == status["public_url"] + "/webhooks/whatsapp"
    assert "exited with code 1" in status["last_error"]
    assert "connection with edge closed" in status["last_error"]
    (dead, args), (pid, again) = tunnel.runs()
    port = urlsplit(tunnel.server.webhook_url).port
    assert args == again == f"tunnel --no-autoupdate --url http://127.0.0.1:{port}"
    assert not alive(dead) and alive(pid)

    # Starting what runs changes nothing.
    assert tunnel.start()["public_url"] == status["public_url"]
    assert len(tunnel.runs()) == 2

    # Killed from outside: restarted again, with a new URL (a quick tunnel's URL changes).
    os.kill(pid, signal.SIGKILL)
    restarted = tunnel.wait("running", restarts=2)
    assert restarted["public_url"] != status["public_url"]
    assert "exited with code -9" in restarted["last_error"]
    third = tunnel.runs()[-1][0]

    stopped = tunnel.stop()
    assert (stopped["state"], stopped["public_url"], stopped["callback_url"]) == ("off", None, None)
    wait_for(lambda: not alive(third), "the stand-in to be stopped")
    assert tunnel.stop()["state"] == "off"


def test_shutdown_stops_cloudflared(tunnel: Tunnel) -> None:
    tunnel.start()
    tunnel.wait("running", restarts=1)
    pid = tunnel.runs()[-1][0]
    assert tunnel.server.stop() == 0
    wait_for(lambda: not alive(pid), "the stand-in to be stopped with the server", timeout=5)


def test_without_cloudflared_the_tunnel_is_unavailable(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = _env(tmp_path, str(empty), CLINICBOT_WHATSAPP_VERIFY_TOKEN="")
    server = start_server(tmp_path / "data", env=env)
    try:
        tunnel = Tunnel(server, tmp_path)
        for status in (tunnel.status(), tunnel.start(), tunnel.status(), tunnel.stop()):
            assert status["state"] == "unavailable", status
            assert "cloudflared was not found" in status["last_error"]
            assert "developers.cloudflare.com" in status["last_error"]
            assert status["public_url"] is None and status["verify_token_set"] is False
        with server.client() as client:
            paths = client.get("/schema/openapi.json").json()["paths"]
        assert {"/api/v1/tunnel", "/api/v1/tunnel/start", "/api/v1/tunnel/stop"} <= set(paths)
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("line", "url"),
    [
        (
            "2026-02-03T13:19:52Z INF |  https://four-dashed-word-url.trycloudflare.com"
            "                                     |",
            "https://four-dashed-word-url.trycloudflare.com",
        ),
        ("|  https://a-b-c-d.trycloudflare.com  |", "https://a-b-c-d.trycloudflare.com"),
        ("2026-02-03T13:19:49Z INF Requesting new quick Tunnel on trycloudflare.com...", None),
        (
            "2026-02-03T13:19:52Z INF |  Your quick Tunnel has been created! Visit it at "
            "(it may take some time to be reachable):  |",
            None,
        ),
        (
            'failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": '
            "dial tcp: lookup api.trycloudflare.com: no such host",
            None,
        ),
        (
            "2026-02-03T13:19:49Z INF Thank you for trying Cloudflare Tunnel. ... "
            "https://developers.cloudflare.com/cloudflare-one/connections/connect-apps",
            None,
        ),
    ],
)
def test_the_public_url_is_read_from_the_banner_only(line: str, url: str | None) -> None:
    assert quick_tunnel_url(line) == url
