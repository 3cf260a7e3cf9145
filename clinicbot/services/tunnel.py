"""The tunnel: ``cloudflared`` started by the app on request, watched, restarted when it
dies, and stopped on shutdown, so that Meta can reach the webhook listener of a PC behind
NAT without an open port.

It runs a quick tunnel (``cloudflared tunnel --url http://127.0.0.1:<webhook port>``) and
reads the public URL from the banner cloudflared prints on stderr::

    ... INF |  https://some-random-words.trycloudflare.com  |

Only the webhook listener is ever behind it; the staff API never is. A quick tunnel gets
a new URL each time it starts, so the settings screen shows the current callback URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from clinicbot.services.backoff import Backoff

log = logging.getLogger(__name__)

EXECUTABLE = "cloudflared"
WEBHOOK_PATH = "/webhooks/whatsapp"
DOWNLOADS = (
    "https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/"
)
STABLE_AFTER = 60.0  # a run this long resets the restart backoff
STOP_GRACE = 5.0  # seconds cloudflared gets to exit before it is killed
LINE_LIMIT = 1 << 20
_BANNER_URL = re.compile(r"\|\s*(https://[a-z0-9-]+\.trycloudflare\.com)/?\s*\|")
_LOG_PREFIX = re.compile(r"^\S+Z (?:DBG|INF|WRN|ERR|FTL) ")

_ANY_ADDRESS = ("", "0.0.0.0", "::", "[::]")  # noqa: S104 (names, not a bind)

TunnelState = Literal["off", "starting", "running", "restarting", "unavailable"]


class TunnelStatus(msgspec.Struct, frozen=True):
    """What the settings screen shows of the tunnel."""

    state: TunnelState
    public_url: str | None
    callback_url: str | None  # what to enter as the Callback URL in Meta's dashboard
    verify_token_set: bool  # Meta's handshake needs CLINICBOT_WHATSAPP_VERIFY_TOKEN
    last_error: str | None
    restarts: int


def quick_tunnel_url(line: str) -> str | None:
    """The public URL in a line of cloudflared's banner, if the line is that line."""
    found = _BANNER_URL.search(line)
    return None if found is None else found.group(1)


def _problem(line: str) -> bool:
    return " ERR " in line or " FTL " in line or line.lower().startswith(("failed", "error"))


def _spawn_options() -> dict[str, Any]:
    """Windows: no console window pops up; elsewhere: its own session, so a Ctrl+C meant
    for clinicbot does not kill it before clinicbot stops it in order."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NO_WINDOW}
    return {"start_new_session": True}


class TunnelManager:
    """One cloudflared child at most: ``start()``, ``stop()``, ``status()``."""

    def __init__(
        self,
        webhook_port: int,
        *,
        verify_token_set: bool | Callable[[], bool],
        executable: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        # A listener on every address is reached on loopback; one on an address, there.
        self._origin = f"http://{'127.0.0.1' if host in _ANY_ADDRESS else host}:{webhook_port}"
        # A callable: the token can be saved from the settings screen while we run.
        self._verify_token_set = (
            verify_token_set if callable(verify_token_set) else lambda: verify_token_set
        )
        self._executable = executable
        self._state: TunnelState = "off"
        self._public_url: str | None = None
        self._last_error: str | None = None
        self._restarts = 0
        self._task: asyncio.Task[None] | None = None
        self._problem: str | None = None  # the last error line cloudflared printed

    def find(self) -> str | None:
        """The cloudflared to run: the path given, else the one on PATH."""
        if self._executable is not None:
            path = self._executable
            return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
        return shutil.which(EXECUTABLE)

    def _missing(self) -> str:
        where = self._executable or "PATH"
        return (
            f"cloudflared was not found on {where}. Install it from {DOWNLOADS} "
            "(or put it on PATH), then start the tunnel again."
        )

    def status(self) -> TunnelStatus:
        state, error = self._state, self._last_error
        if state in ("off", "unavailable"):
            missing = self.find() is None
            state = "unavailable" if missing else "off"
            error = self._missing() if missing else error
        url = self._public_url
        return TunnelStatus(
            state=state,
            public_url=url,
            callback_url=None if url is None else url + WEBHOOK_PATH,
            verify_token_set=self._verify_token_set(),
            last_error=error,
            restarts=self._restarts,
        )

    async def start(self) -> TunnelStatus:
        """Start cloudflared unless it runs already; never raises."""
        if self._task is not None and not self._task.done():
            return self.status()
        path = self.find()
        if path is None:
            self._state, self._last_error = "unavailable", self._missing()
            return self.status()
        self._state, self._last_error, self._public_url, self._restarts = "starting", None, None, 0
        self._task = asyncio.create_task(self._supervise(path), name="tunnel")
        return self.status()

    async def stop(self) -> TunnelStatus:
        """Stop cloudflared (and its restarts); never raises."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._state, self._public_url = "off", None
        return self.status()

    async def _supervise(self, path: str) -> None:
        backoff = Backoff()
        while True:
            began = time.monotonic()
            self._last_error = await self._run_once(path)
            if time.monotonic() - began >= STABLE_AFTER:
                backoff.reset()
            self._state, self._public_url = "restarting", None
            self._restarts += 1
            pause = backoff.next()
            log.warning("tunnel: cloudflared stopped; restarting in %.1f s", pause)
            await asyncio.sleep(pause)
            self._state = "starting"

    async def _run_once(self, path: str) -> str:
        """Run cloudflared until it exits; return why it stopped."""
        self._problem = None
        try:
            process = await asyncio.create_subprocess_exec(
                path,
                "tunnel",
                "--no-autoupdate",
                "--url",
                self._origin,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                limit=LINE_LIMIT,
                **_spawn_options(),
            )
        except OSError as exc:
            return f"cloudflared could not be started: {exc.strerror or exc}"
        except NotImplementedError:  # an event loop without subprocesses
            return "cloudflared could not be started from this event loop"
        try:
            await self._read(process)
            code = await process.wait()
        finally:
            await self._end(process)
        why = f"cloudflared exited with code {code}"
        return f"{why}: {self._problem}" if self._problem else why

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        """Follow cloudflared's log until it closes: note the URL and the last error."""
        assert process.stderr is not None
        while True:
            try:
                raw = await process.stderr.readline()
            except ValueError:  # a line beyond LINE_LIMIT: skipped
                continue
            if not raw:
                return
            line = raw.decode("utf-8", "replace").strip()
            if _problem(line):
                self._problem = _LOG_PREFIX.sub("", line)[:300]
            if url := quick_tunnel_url(line):
                self._public_url, self._state = url, "running"
                log.info("tunnel: %s%s", url, WEBHOOK_PATH)

    async def _end(self, process: asyncio.subprocess.Process) -> None:
        """Make sure the child is gone: SIGTERM, then SIGKILL after a grace period."""
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), STOP_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
