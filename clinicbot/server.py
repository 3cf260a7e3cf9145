"""Run the app: migrate, open the database, and serve both listeners in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from litestar.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from clinicbot.config import LiveConnection, Settings
from clinicbot.db import Database, connect, migrate
from clinicbot.db.database import transaction
from clinicbot.resources import ui_dir
from clinicbot.services.app_settings import load_saved
from clinicbot.services.backups import DailyBackups
from clinicbot.services.bot import BotWorker
from clinicbot.services.changes import ChangeFeed
from clinicbot.services.relay_poller import RelayPoller
from clinicbot.services.reminders import ReminderScheduler
from clinicbot.services.retention import RetentionTask
from clinicbot.services.sender import OutboxSender
from clinicbot.services.tunnel import TunnelManager
from clinicbot.sessions import Sessions
from clinicbot.web.staff import create_staff_app, system_clock
from clinicbot.web.webhook import MAX_BODY as WEBHOOK_MAX_BODY
from clinicbot.web.webhook import STAFF_MAX_BODY, BodyLimits, create_webhook_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Addresses:
    staff_url: str
    webhook_url: str


class _Server(uvicorn.Server):
    """uvicorn.Server that leaves signals to us: two servers share one process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


HEAD_LIMIT = 64 * 1024  # bytes of a request line and headers (browsers and Meta send a few kB)
HEAD_DEADLINE = 10.0  # seconds for them to arrive, from the connection or the request's start


class _BoundedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds on a request's head that uvicorn lacks:
    a connection sending an endless header line would grow the process without limit (431
    instead), and one sending a header byte a second, or nothing at all, would hold its
    connection for ever (cut off after ``HEAD_DEADLINE``). Bodies: ``BodyLimits``."""

    _in_head = False
    _head_bytes = 0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0
        if self._head_timer is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > HEAD_LIMIT:
                self._refuse(b"431 Request Header Fields Too Large")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(HEAD_DEADLINE, self._too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        if self._in_head:
            self._refuse(b"408 Request Timeout")
        elif self.cycle is None:  # connected, and never said a word
            self.transport.close()

    def _refuse(self, status: bytes) -> None:
        self._in_head = False
        self.transport.write(
            b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
        self.transport.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listener says it is TCP, and without it every keep-alive answer waits ~40 ms (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"clinicbot: cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def demo_loader(connection: LiveConnection) -> Callable[[sqlite3.Connection, datetime], str]:
    """Loads the demo clinic inside the caller's transaction (the settings screen's "explore
    the demo"), with the clinic's WhatsApp number id in effect then."""

    def load(conn: sqlite3.Connection, now: datetime) -> str:
        from clinicbot.demo import load_demo

        number_id = connection.current().whatsapp_phone_number_id
        return load_demo(conn, now, phone_number_id=number_id)

    return load


def prepare_database(
    path: Path, *, demo: bool, settings: Settings, connection: LiveConnection | None = None
) -> None:
    """Migrate forward; with ``demo``, fill an empty database with the demo clinic."""
    connection = connection or LiveConnection(settings)
    conn = connect(path)
    try:
        applied = migrate(conn)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        if demo:
            with transaction(conn):
                if conn.execute("SELECT count(*) FROM clinics").fetchone()[0]:
                    log.info("--demo: the database already has a clinic; left as it is")
                else:
                    demo_loader(connection)(conn, datetime.now(UTC))
    finally:
        conn.close()


async def serve(
    settings: Settings,
    *,
    demo: bool = False,
    on_ready: Callable[[Addresses], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set), then finish in-flight work and close."""
    # The WhatsApp and relay settings: the environment's, else those saved from the screen.
    connection = LiveConnection(settings, load_saved(settings.data_dir))
    prepare_database(settings.db_path, demo=demo, settings=settings, connection=connection)
    db = Database(settings.db_path, readers=settings.reader_threads)
    staff_sock = bind(settings.host, settings.port)
    webhook_sock = bind(settings.host, settings.webhook_port)
    tunnel = TunnelManager(  # started from the settings screen, never by default
        webhook_sock.getsockname()[1],
        verify_token_set=lambda: connection.current().whatsapp_verify_token is not None,
        host=url_host(settings.host),
    )
    # sender.wake() after enqueueing
    sender = OutboxSender(settings, db, clock=system_clock, connection=connection)
    sessions = Sessions(settings.sessions_dir)
    changes = ChangeFeed(db)  # the staff window's live updates
    backups = DailyBackups(
        settings.db_path,
        copy_dir=settings.backup_copy_dir,
        delay=settings.backup_delay,
        clock=system_clock,
    )
    worker = BotWorker(db, sessions, clock=system_clock, on_reply=sender.wake)
    reminders = ReminderScheduler(
        db, clock=system_clock, on_queued=sender.wake, interval=settings.reminder_interval
    )
    # Always there: it polls while a relay is set, and is off (waiting) while none is.
    relay = RelayPoller(
        settings, db, clock=system_clock, on_stored=worker.wake, connection=connection
    )
    connection.subscribe(sender.resume)  # a new token: try a held queue again at once
    connection.subscribe(relay.reconfigure)
    servers = [
        _server(
            create_staff_app(
                settings,
                db,
                ui_dir=ui_dir(),
                tunnel=tunnel,
                relay=relay,
                wake_sender=sender.wake,
                sender=sender,
                wake_worker=worker.wake,
                drop_sessions=sessions.drop_prefix,
                changes=changes,
                backups=backups,
                connection=connection,
                load_demo=demo_loader(connection),
            )
        ),
        _server(
            create_webhook_app(
                settings, db, clock=system_clock, on_stored=worker.wake, connection=connection
            ),
            max_body=WEBHOOK_MAX_BODY,
        ),
    ]
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    tasks = [
        asyncio.create_task(servers[0].serve(sockets=[staff_sock])),
        asyncio.create_task(servers[1].serve(sockets=[webhook_sock])),
    ]
    relay_stop = asyncio.Event()
    polling: list[asyncio.Task[None]] = []
    sender_stop = asyncio.Event()
    sending = asyncio.create_task(sender.run(sender_stop))
    # The bot and the reminders resume their queues at start-up; they stop after the servers.
    work_stop = asyncio.Event()
    working = [
        asyncio.create_task(worker.run(work_stop)),
        asyncio.create_task(reminders.run(work_stop)),
        asyncio.create_task(backups.run(work_stop)),
        asyncio.create_task(RetentionTask(db, clock=system_clock).run(work_stop)),
    ]
    try:
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.01)
        if all(s.started for s in servers) and on_ready is not None:
            on_ready(_addresses(settings.host, staff_sock, webhook_sock))
        # Once the addresses are out: its logs must not split them.
        polling.append(asyncio.create_task(relay.run(relay_stop)))
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
    finally:
        sender_stop.set()  # no new sends; those in flight finish below
        changes.close()  # waiting windows get their answer now, not at the timeout
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        relay_stop.set()
        work_stop.set()
        await asyncio.gather(*polling, *working, tunnel.stop(), return_exceptions=True)
        await asyncio.gather(sending, return_exceptions=True)
        sessions.close()
        db.close()


def _server(app: ASGIApp, *, max_body: int = STAFF_MAX_BODY) -> _Server:
    """A listener whose bodies are bounded in size and in time (``BodyLimits``)."""
    config = uvicorn.Config(
        BodyLimits(app, max_body=max_body),
        http=_BoundedHttp,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return _Server(config)


def _addresses(host: str, staff: socket.socket, webhook: socket.socket) -> Addresses:
    shown = url_host(host)
    return Addresses(
        staff_url=f"http://{shown}:{staff.getsockname()[1]}/",
        webhook_url=f"http://{shown}:{webhook.getsockname()[1]}/webhooks/whatsapp",
    )


def print_addresses(addresses: Addresses) -> None:
    # One write: log lines (written by a queue thread) must not land inside these lines.
    sys.stdout.write(
        f"clinicbot staff:   {addresses.staff_url}\nclinicbot webhook: {addresses.webhook_url}\n"
    )
    sys.stdout.flush()
