"""The staff listener's app: the JSON API under /api/v1, its OpenAPI schema, and the UI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from litestar import Litestar, Router, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp

from clinicbot import __version__
from clinicbot.config import Settings
from clinicbot.db import Database
from clinicbot.web.appointments import AppointmentController
from clinicbot.web.errors import EXCEPTION_HANDLERS
from clinicbot.web.params import Clock
from clinicbot.web.patients import PatientController
from clinicbot.web.security import StaffGate
from clinicbot.web.setup import (
    ClinicController,
    DoctorController,
    ServiceController,
    TimeOffController,
    WorkingHoursController,
)

API_CONTROLLERS = [
    ClinicController,
    DoctorController,
    ServiceController,
    WorkingHoursController,
    TimeOffController,
    PatientController,
    AppointmentController,
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
) -> ASGIApp:
    """The staff app behind its gate (Host allow-list, bearer token on /api/)."""
    api = Router(
        path="/api/v1",
        route_handlers=[*API_CONTROLLERS, health],
        dependencies={
            "db": Provide(lambda: db, sync_to_thread=False),
            "clock": Provide(lambda: clock, sync_to_thread=False),
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
    )
    return StaffGate(app, token=settings.staff_token, allowed_hosts=settings.allowed_hosts)
