"""Routes of the settings screen beyond the clinic's records: the WhatsApp and relay
settings (saved beside the environment's, applied at once), the connection test and the
staff token's rotation; and the first run's "explore the demo clinic"."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, post, put
from litestar.exceptions import HTTPException
from msgspec import UNSET, Meta, Struct, UnsetType

from clinicbot.config import LiveConnection, Settings
from clinicbot.db import Database
from clinicbot.domain import Clinic
from clinicbot.errors import Conflict
from clinicbot.services import app_settings
from clinicbot.services.app_settings import (
    ConnectionCheck,
    NewStaffToken,
    StaffTokenInfo,
    WhatsAppSettings,
)
from clinicbot.store import clinics as store
from clinicbot.web.params import Clock, errors
from clinicbot.web.security import StaffToken

log = logging.getLogger(__name__)

DemoLoader = Callable[[sqlite3.Connection, datetime], str]

# Printable ASCII without spaces: what Meta's tokens, secrets and ids are made of.
AccessToken = Annotated[str, Meta(min_length=1, max_length=2048, pattern=r"^[!-~]+$")]
Secret = Annotated[str, Meta(min_length=1, max_length=256, pattern=r"^[!-~]+$")]
NumberId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=32,
        pattern=r"^[0-9]+$",
        description="the Phone number ID of WhatsApp › API Setup (digits; not the number)",
    ),
]
RelayUrl = Annotated[str, Meta(min_length=8, max_length=500, pattern=r"^https?://[!-~]+$")]


@dataclass(frozen=True)
class SettingsContext:
    """What these routes work on, built once by ``create_staff_app``."""

    settings: Settings
    connection: LiveConnection
    staff_token: StaffToken
    load_demo: DemoLoader | None = None
    saving: asyncio.Lock = field(default_factory=asyncio.Lock)  # one save at a time


class WhatsAppSettingsUpdate(Struct, forbid_unknown_fields=True):
    """Only the fields given change; ``null`` clears a saved value. A value the environment
    sets cannot be changed here (409)."""

    whatsapp_access_token: AccessToken | UnsetType | None = UNSET
    whatsapp_phone_number_id: NumberId | UnsetType | None = UNSET
    whatsapp_app_secret: Secret | UnsetType | None = UNSET
    whatsapp_verify_token: Secret | UnsetType | None = UNSET
    relay_url: RelayUrl | UnsetType | None = UNSET
    relay_token: Secret | UnsetType | None = UNSET


def _cannot_write(what: str, exc: OSError) -> HTTPException:
    log.warning("cannot write %s: %s", what, exc.strerror or exc)
    return HTTPException(
        status_code=503,
        detail=f"The {what} could not be saved ({exc.strerror or exc}); nothing was changed.",
    )


class SettingsController(Controller):
    path = "/settings"
    tags = ["settings"]

    @get("/whatsapp", summary="The WhatsApp and relay settings in effect")
    async def whatsapp_settings(self, settings_context: SettingsContext) -> WhatsAppSettings:
        """Each setting's source (environment, saved from this screen, default or unset);
        values in full for the phone number id, the API base and the relay URL, and only a
        hint (the last four characters) of each secret."""
        ctx = settings_context
        return app_settings.describe(ctx.connection, ctx.settings.data_dir)

    @put("/whatsapp", responses=errors(400, 409, 503), summary="Save WhatsApp and relay settings")
    async def save_whatsapp_settings(
        self, settings_context: SettingsContext, data: WhatsAppSettingsUpdate
    ) -> WhatsAppSettings:
        """Saves them in the data directory and applies them at once: the sender, the
        webhook's signature check and handshake, and the relay poller use them from now on."""
        ctx = settings_context
        given = msgspec.structs.asdict(data)
        changes = {name: value for name, value in given.items() if value is not UNSET}
        async with ctx.saving:  # two saves at once must not lose one's changes
            saved = app_settings.check_changes(ctx.connection, changes)
            try:
                await asyncio.to_thread(app_settings.write_saved, ctx.settings.data_dir, saved)
            except OSError as exc:
                raise _cannot_write("settings", exc) from None
            ctx.connection.apply(saved)
        return app_settings.describe(ctx.connection, ctx.settings.data_dir)

    @post("/whatsapp/test", status_code=200, summary="Test the WhatsApp connection")
    async def test_whatsapp_connection(self, settings_context: SettingsContext) -> ConnectionCheck:
        """Asks the Graph API for the clinic's number with the access token in effect:
        ``ok`` with the display number and verified name, or what is wrong in words (bad
        token, no such number, network unreachable, timeout)."""
        return await app_settings.check_connection(settings_context.connection.current())

    @get("/staff-token", summary="Where the staff token comes from")
    async def staff_token_source(self, settings_context: SettingsContext) -> StaffTokenInfo:
        return app_settings.staff_token_info(settings_context.settings)

    @post("/staff-token", status_code=200, responses=errors(409, 503), summary="New staff token")
    async def rotate_staff_token(self, settings_context: SettingsContext) -> NewStaffToken:
        """Makes a new staff token and keeps it in the data directory. The answer carries
        it (the only time it is sent); once a request uses it (or 15 s later), only it
        opens the API. 409 when the environment sets the token."""
        ctx = settings_context
        async with ctx.saving:
            try:
                made = await asyncio.to_thread(app_settings.rotate_staff_token, ctx.settings)
            except OSError as exc:
                raise _cannot_write("staff token", exc) from None
            ctx.staff_token.replace(made.token)
        return made


class FirstRunController(Controller):
    path = "/setup"
    tags = ["setup"]

    @post("/demo", responses=errors(409, 503), summary="Load the demo clinic (first run)")
    async def load_demo_clinic(
        self, db: Database, clock: Clock, settings_context: SettingsContext
    ) -> Clinic:
        """Fills an empty database with the demo clinic: doctors, services, hours, patients
        and six months of visits. 409 when a clinic exists already."""
        loader = settings_context.load_demo
        if loader is None:
            raise Conflict("This server cannot load the demo clinic.")
        clinic_id = await db.write(app_settings.load_demo_if_empty, loader, clock())
        return await db.read(store.get_clinic, clinic_id)
