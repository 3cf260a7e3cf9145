"""The staff listener's app: the JSON API under /api/v1, its OpenAPI schema, and the UI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from litestar import Litestar, Router, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp

from clinicbot import __version__
from clinicbot.config import LiveConnection, Settings
from clinicbot.db import Database
from clinicbot.services.backups import DailyBackups
from clinicbot.services.changes import ChangeFeed
from clinicbot.services.relay_poller import RelayPoller
from clinicbot.services.sender import OutboxSender
from clinicbot.services.tunnel import TunnelManager
from clinicbot.web.analytics import AnalyticsController
from clinicbot.web.appointments import AppointmentController
from clinicbot.web.backups import BackupController
from clinicbot.web.changes import wait_for_changes
from clinicbot.web.conversations import ConversationController
from clinicbot.web.data import DataController
from clinicbot.web.errors import EXCEPTION_HANDLERS
from clinicbot.web.outbox import OutboxController
from clinicbot.web.params import Clock
from clinicbot.web.patients import PatientController
from clinicbot.web.relay import RelayController
from clinicbot.web.security import StaffGate, StaffToken
from clinicbot.web.settings import (
    DemoLoader,
    FirstRunController,
    SettingsContext,
    SettingsController,
)
from clinicbot.web.setup import (
    ClinicController,
    DoctorController,
    ServiceController,
    TimeOffController,
    WorkingHoursController,
)
from clinicbot.web.simulator import SimulatorController
from clinicbot.web.status import installation_status
from clinicbot.web.tunnel import TunnelController

API_CONTROLLERS = [
    ClinicController,
    DoctorController,
    ServiceController,
    WorkingHoursController,
    TimeOffController,
    PatientController,
    AppointmentController,
    ConversationController,
    SimulatorController,
    TunnelController,
    RelayController,
    OutboxController,
    AnalyticsController,
    SettingsController,
    FirstRunController,
    BackupController,
    DataController,
]


def system_clock() -> datetime:
    return datetime.now(UTC)


@get("/health", sync_to_thread=False, tags=["system"])
def health() -> dict[str, str]:
    """Answers when the server is up (used by the desktop launcher and the tests)."""
    return {"status": "ok", "version": __version__}


def create_staff_app(
    settings: Settings,
    db: Database,
    *,
    ui_dir: Path,
    clock: Clock = system_clock,
    wake_sender: Callable[[], None] = lambda: None,
    wake_worker: Callable[[], None] = lambda: None,
    drop_sessions: Callable[[str], object] = lambda prefix: None,
    tunnel: TunnelManager | None = None,
    relay: RelayPoller | None = None,
    sender: OutboxSender | None = None,
    changes: ChangeFeed | None = None,
    connection: LiveConnection | None = None,
    load_demo: DemoLoader | None = None,
    backups: DailyBackups | None = None,
) -> ASGIApp:
    """The staff app behind its gate (Host allow-list, bearer token on /api/)."""
    feed = changes or ChangeFeed(db)
    token = StaffToken(settings.staff_token)  # the settings screen may rotate it
    live = connection or LiveConnection(settings)
    context = SettingsContext(settings, live, token, load_demo)
    api = Router(
        path="/api/v1",
        route_handlers=[*API_CONTROLLERS, health, wait_for_changes, installation_status],
        dependencies={
            "db": Provide(lambda: db, sync_to_thread=False),
            "clock": Provide(lambda: clock, sync_to_thread=False),
            "wake_sender": Provide(lambda: wake_sender, sync_to_thread=False),
            "wake_worker": Provide(lambda: wake_worker, sync_to_thread=False),
            "drop_sessions": Provide(lambda: drop_sessions, sync_to_thread=False),
            "tunnel": Provide(lambda: tunnel, sync_to_thread=False),
            "relay": Provide(lambda: relay, sync_to_thread=False),
            "sender": Provide(lambda: sender, sync_to_thread=False),
            "changes": Provide(lambda: feed, sync_to_thread=False),
            "backups": Provide(lambda: backups, sync_to_thread=False),
            "data_dir": Provide(lambda: settings.data_dir, sync_to_thread=False),
            "settings_context": Provide(lambda: context, sync_to_thread=False),
        },
    )
    app = Litestar(
        route_handlers=[
            api,
            create_static_files_router(path="/", directories=[ui_dir], html_mode=True),
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="clinicbot staff API",
            version=__version__,
            path="/schema",
            components=Components(
                security_schemes={"staff_token": SecurityScheme(type="http", scheme="bearer")}
            ),
            security=[{"staff_token": []}],
        ),
        debug=False,
        logging_config=None,  # the CLI configures logging once, for everything
    )
    return StaffGate(app, token=token, allowed_hosts=settings.allowed_hosts)
