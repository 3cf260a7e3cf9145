"""The clinicbot server under test: ``python -m clinicbot serve`` in its own process, on free
ports, optionally pinned to its own CPU so that the load generator does not share it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STAFF_PREFIX = "clinicbot staff:"
START_TIMEOUT = 120.0
SERVE = (sys.executable, "-m", "clinicbot", "serve")


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    staff_url: str
    token: str
    output: list[str]

    @property
    def base_url(self) -> str:
        return self.staff_url.rstrip("/")

    def stop(self) -> int:
        """SIGTERM, then wait for a clean stop (killing it only if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _environment(token: str) -> dict[str, str]:
    """This process's environment without any CLINICBOT_* setting, plus the bench's token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINICBOT_")}
    env.update(CLINICBOT_STAFF_TOKEN=token, PYTHONUNBUFFERED="1")
    return env


def _pin(cpus: set[int] | None) -> Callable[[], None] | None:
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def start_server(data_dir: Path, token: str, *, cpus: set[int] | None = None) -> ServerProcess:
    """Start the server on ``data_dir``; return once it has printed its staff URL."""
    process = subprocess.Popen(
        [*SERVE, "--data-dir", str(data_dir), "--port", "0", "--webhook-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_environment(token),
        preexec_fn=_pin(cpus),
    )
    output: list[str] = []
    staff_url = _wait_for_url(process, output)
    threading.Thread(target=_drain, args=(process, output), daemon=True).start()
    return ServerProcess(process, staff_url, token, output)


def _wait_for_url(process: subprocess.Popen[str], output: list[str]) -> str:
    """The staff URL the server prints once both listeners are up (killed if it hangs)."""
    assert process.stdout is not None
    watchdog = threading.Timer(START_TIMEOUT, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            output.append(line)
            if line.startswith(STAFF_PREFIX):
                return line.split()[-1]
    finally:
        watchdog.cancel()
    process.kill()
    process.wait()
    raise RuntimeError("clinicbot did not start:\n" + "".join(output))


def _drain(process: subprocess.Popen[str], output: list[str]) -> None:
    """Keep reading the server's output so that it never blocks on a full pipe."""
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
