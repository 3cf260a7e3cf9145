"""The relay's process: open ``relay.db``, serve the relay's app, and on SIGINT/SIGTERM
release the long polls, finish in-flight requests and close the file."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import uvicorn

from clinicbot.config import Settings
from clinicbot.relay.app import Arrivals, create_relay_app
from clinicbot.relay.store import RelayStore
from clinicbot.server import bind, url_host

LOCK_NAME = "relay.lock"


class _Server(uvicorn.Server):
    """uvicorn.Server that leaves signals to us: the long polls must be released first."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _clock() -> datetime:
    return datetime.now(UTC)


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    while not server.started:
        if task.done():  # it could not start
            return False
        await asyncio.sleep(0.01)
    return True


async def serve_relay(
    settings: Settings,
    *,
    on_ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the relay until SIGINT/SIGTERM (or ``stop`` is set)."""
    store = RelayStore(settings.data_dir)
    arrivals = Arrivals()
    sock = bind(settings.host, settings.port)
    app = create_relay_app(settings, store, clock=_clock, arrivals=arrivals)
    server = _Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=10,
        )
    )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        if await _started(server, task) and on_ready is not None:
            on_ready(f"http://{url_host(settings.host)}:{sock.getsockname()[1]}")
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
    finally:
        arrivals.close()
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)
        store.close()
