"""Settings saved from the settings screen: the WhatsApp credentials and the relay, kept in
``<data>/settings.json`` (written atomically, readable by this user only); the staff token's
rotation; and the WhatsApp connection test.

The environment wins: a value it sets is shown as such and cannot be saved over. Secrets
leave this module only as a hint (their last four characters), and are never logged.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal

import httpx
import msgspec

from clinicbot.config import (
    DEFAULT_API_BASE,
    ENV_PREFIX,
    SAVED_NAMES,
    Connection,
    LiveConnection,
    Settings,
    new_staff_token,
    write_private,
)
from clinicbot.errors import Conflict, InvalidInput
from clinicbot.whatsapp.graph import AuthError, GraphClient, GraphError

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
SECRETS = frozenset(
    {"whatsapp_access_token", "whatsapp_app_secret", "whatsapp_verify_token", "relay_token"}
)
HINT_FROM = 12  # a shorter secret shows no characters at all
TEST_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
NUMBER_FIELDS = "display_phone_number,verified_name"

Source = Literal["environment", "saved", "default", "unset"]
Outcome = Literal[
    "connected", "not_configured", "bad_token", "no_such_number", "unreachable", "timeout", "error"
]


class SettingState(msgspec.Struct, frozen=True):
    """One setting as the screen shows it: where it comes from, and what may be shown of it."""

    source: Source
    env_var: str  # the variable that would set it from the environment
    value: str | None = None  # a setting that is not secret, in full
    hint: str | None = None  # a secret's last four characters ("…a1b2"), when it is long


class WhatsAppSettings(msgspec.Struct, frozen=True):
    """The WhatsApp and relay settings in effect now (secrets masked)."""

    whatsapp_access_token: SettingState
    whatsapp_phone_number_id: SettingState
    whatsapp_app_secret: SettingState
    whatsapp_verify_token: SettingState
    whatsapp_api_base: SettingState
    relay_url: SettingState
    relay_token: SettingState
    file: str  # where the values saved from the screen are kept


class ConnectionCheck(msgspec.Struct, frozen=True):
    """The connection test's answer: ``ok``, or what went wrong in words."""

    ok: bool
    outcome: Outcome
    detail: str
    display_phone_number: str | None = None
    verified_name: str | None = None


class StaffTokenInfo(msgspec.Struct, frozen=True):
    source: Literal["environment", "file"]
    file: str | None  # where the token is kept, unless the environment sets it


class NewStaffToken(msgspec.Struct, frozen=True):
    token: str  # the only time it is sent: the window keeps it and uses it from now on
    file: str


def settings_file(data_dir: Path) -> Path:
    return data_dir / SETTINGS_FILE


def _read_document(path: Path) -> dict[str, object]:
    """The saved settings file as a JSON object; an unreadable one counts as empty."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        log.warning("cannot read %s (%s): it is ignored", path, exc.strerror)
        return {}
    try:
        document = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        log.warning("%s is not JSON: it is ignored until the settings are saved again", path)
        return {}
    return document if isinstance(document, dict) else {}


def load_saved(data_dir: Path) -> dict[str, str]:
    """The connection settings saved from the screen (at start-up)."""
    document = _read_document(settings_file(data_dir))
    return {k: v for k, v in document.items() if k in SAVED_NAMES and isinstance(v, str) and v}


def _state(live: LiveConnection, name: str) -> SettingState:
    value = getattr(live.current(), name)
    source: Source = "environment" if live.from_environment(name) else "saved"
    if name == "whatsapp_api_base":  # the environment's only (or the default)
        source = "default" if value == DEFAULT_API_BASE else "environment"
    elif value is None:
        source = "unset"
    env_var = ENV_PREFIX + name.upper()
    if name not in SECRETS:
        return SettingState(source, env_var, value=value)
    hint = "…" + value[-4:] if value is not None and len(value) >= HINT_FROM else None
    return SettingState(source, env_var, hint=hint)


def describe(live: LiveConnection, data_dir: Path) -> WhatsAppSettings:
    """What the settings screen shows: each value's source, and no secret in full."""
    return WhatsAppSettings(
        **{name: _state(live, name) for name in (*SAVED_NAMES, "whatsapp_api_base")},
        file=str(settings_file(data_dir)),
    )


def _check_relay_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInput(
            "The relay URL must be a web address such as https://relay.example.com.",
            field="relay_url",
        )


def check_changes(live: LiveConnection, changes: Mapping[str, str | None]) -> dict[str, str]:
    """The saved values after ``changes`` (None clears one); refuses what the environment
    sets, and a relay URL that is no web address."""
    for name in changes:
        if live.from_environment(name):
            raise Conflict(
                f"{ENV_PREFIX}{name.upper()} is set in the environment, which wins over the "
                "settings screen: change it there.",
                field=name,
            )
    url = changes.get("relay_url")
    if url is not None:
        _check_relay_url(url)
    saved = live.saved
    for name, value in changes.items():
        if value is None:
            saved.pop(name, None)
        else:
            saved[name] = value
    return saved


def write_saved(data_dir: Path, saved: Mapping[str, str]) -> None:
    """Keep the saved values in the settings file (0600, atomically); keys this version
    does not know are kept as they are."""
    path = settings_file(data_dir)
    document = {k: v for k, v in _read_document(path).items() if k not in SAVED_NAMES}
    document.update({k: saved[k] for k in SAVED_NAMES if saved.get(k)})
    write_private(path, msgspec.json.format(msgspec.json.encode(document)).decode() + "\n")
    log.info("settings saved: %s", ", ".join(sorted(saved)) or "none")


# --- the staff token -------------------------------------------------------------------


def staff_token_info(settings: Settings) -> StaffTokenInfo:
    path = settings.token_file
    if path is None:
        return StaffTokenInfo("environment", None)
    return StaffTokenInfo("file", str(path))


def rotate_staff_token(settings: Settings) -> NewStaffToken:
    """Make a new staff token and keep it in ``<data>/staff_token``; the caller makes the
    gate accept it (the old one ends once the new one is used). Refused when the
    environment sets the token."""
    path = settings.token_file
    if path is None:
        raise Conflict(
            f"The staff token is set by {ENV_PREFIX}STAFF_TOKEN in the environment: change it "
            "there and restart clinicbot."
        )
    token = new_staff_token()
    write_private(path, token + "\n")
    log.info("staff token changed; the old one no longer opens the API")
    return NewStaffToken(token, str(path))


# --- the connection test ---------------------------------------------------------------


def _host(connection: Connection) -> str:
    try:
        return httpx.URL(connection.whatsapp_api_base).host or connection.whatsapp_api_base
    except httpx.InvalidURL:
        return connection.whatsapp_api_base


def _failure(exc: GraphError, connection: Connection) -> ConnectionCheck:
    cause, host = exc.__cause__, _host(connection)
    if isinstance(cause, httpx.TimeoutException):
        return ConnectionCheck(
            False,
            "timeout",
            f"WhatsApp ({host}) did not answer in time. The internet connection may be slow "
            "or down: try again in a minute.",
        )
    if isinstance(cause, httpx.TransportError):
        return ConnectionCheck(
            False,
            "unreachable",
            f"Cannot reach WhatsApp at {host}: this PC may be offline, or a firewall or "
            "proxy blocks it.",
        )
    if exc.code == 190:
        return ConnectionCheck(
            False,
            "bad_token",
            "WhatsApp refused the access token: it is wrong or has expired. Copy a new one "
            "from Meta's dashboard (WhatsApp › API Setup), or use a system user's token, "
            "which does not expire.",
        )
    if isinstance(exc, AuthError):
        return ConnectionCheck(
            False,
            "bad_token",
            f"WhatsApp accepted the token but refused its permissions (code {exc.code}): it "
            "needs whatsapp_business_messaging and whatsapp_business_management for this number.",
        )
    if exc.code == 100:
        return ConnectionCheck(
            False,
            "no_such_number",
            f"WhatsApp knows no phone number with the ID {connection.whatsapp_phone_number_id} "
            "that this token may use. Copy the Phone number ID (not the phone number itself) "
            "from WhatsApp › API Setup in Meta's dashboard.",
        )
    said = f"code {exc.code}" if exc.code is not None else f"HTTP {exc.http_status}"
    return ConnectionCheck(False, "error", f"WhatsApp answered with an error ({said}): {exc}")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


async def check_connection(
    connection: Connection, client: httpx.AsyncClient | None = None
) -> ConnectionCheck:
    """Ask the Graph API about the clinic's number with the access token: the display
    number and the verified name when both are right, else what is wrong, in words."""
    if client is None:
        async with httpx.AsyncClient(timeout=TEST_TIMEOUT) as own:
            return await check_connection(connection, own)
    token, number = connection.whatsapp_access_token, connection.whatsapp_phone_number_id
    if not (token and number):
        missing = "access token" if not token else "phone number ID"
        return ConnectionCheck(
            False, "not_configured", f"Enter the WhatsApp {missing} first, then test again."
        )
    graph = GraphClient(
        client, base_url=connection.whatsapp_api_base, access_token=token, phone_number_id=number
    )
    try:
        answer = await graph.request("GET", f"/{number}?fields={NUMBER_FIELDS}")
    except GraphError as exc:
        result = _failure(exc, connection)
    except httpx.InvalidURL:
        result = ConnectionCheck(
            False,
            "error",
            f"{ENV_PREFIX}WHATSAPP_API_BASE is not a web address: {connection.whatsapp_api_base}",
        )
    else:
        display = _text(answer.get("display_phone_number"))
        name = _text(answer.get("verified_name"))
        shown = " · ".join(x for x in (name, display) if x) or "the number"
        result = ConnectionCheck(True, "connected", f"Connected to {shown}.", display, name)
    log.info("WhatsApp connection test: %s", result.outcome)
    return result


# --- the first run -------------------------------------------------------------------------


def load_demo_if_empty(
    conn: sqlite3.Connection, load: Callable[[sqlite3.Connection, datetime], str], now: datetime
) -> str:
    """Fill an empty database with the demo clinic (``load``) and return its id; a database
    that has a clinic already is left alone (Conflict)."""
    if conn.execute("SELECT 1 FROM clinics LIMIT 1").fetchone() is not None:
        raise Conflict(
            "This database has a clinic already: the demo clinic loads only into an empty one."
        )
    return load(conn, now)
