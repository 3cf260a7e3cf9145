"""Settings: built once by the entry point from arguments and the environment, then passed down."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

APP_NAME = "clinicbot"
DEFAULT_API_BASE = "https://graph.facebook.com/v25.0"
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost", "[::1]")
ENV_PREFIX = "CLINICBOT_"
RELAY_PORT = 8752
# How the clinic reaches WhatsApp and a relay: the settings screen may save these (in
# <data>/settings.json); a value the environment sets wins over the saved one.
SAVED_NAMES = (
    "whatsapp_access_token",
    "whatsapp_phone_number_id",
    "whatsapp_app_secret",
    "whatsapp_verify_token",
    "relay_url",
    "relay_token",
)


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to know about its surroundings."""

    data_dir: Path
    staff_token: str
    host: str = "127.0.0.1"
    port: int = 8750
    webhook_port: int = 8751
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    whatsapp_access_token: str | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_api_base: str = DEFAULT_API_BASE
    relay_url: str | None = None
    relay_token: str | None = None
    reader_threads: int = 3
    token_from_file: bool = True
    # The outbox sender (see clinicbot.services.sender); tests shorten these.
    sender_max_backoff: float = 300.0  # the longest wait between retries, seconds
    sender_ambiguous_wait: float = 60.0  # before resending a message a crash left "sending"
    sender_auth_retry: float = 180.0  # how often a refused token is tried again
    reminder_interval: float = 30.0  # how often due reminders are looked for, seconds
    backup_delay: float = 600.0  # the first daily backup waits this long after start, seconds
    backup_copy_dir: Path | None = None  # a second folder for each backup (USB drive, share)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "clinicbot.db"

    @property
    def sessions_dir(self) -> Path:
        return self.data_dir / "sessions"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "clinicbot.lock"

    @property
    def token_file(self) -> Path | None:
        """Where the staff token is kept, unless it came from the environment."""
        path = self.data_dir / "staff_token"
        return path if self.token_from_file else None


def source_checkout_root() -> Path | None:
    """The checkout this package runs from, if it runs from one (not installed, not frozen)."""
    if getattr(sys, "frozen", False):
        return None
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / ".git").exists():
        return root
    return None


def default_data_dir() -> Path:
    root = source_checkout_root()
    if root is not None:
        return root / "data"
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class Connection:
    """How the clinic reaches WhatsApp (and a relay) at one moment."""

    whatsapp_access_token: str | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    whatsapp_api_base: str = DEFAULT_API_BASE
    relay_url: str | None = None
    relay_token: str | None = None

    @property
    def can_send(self) -> bool:
        return bool(self.whatsapp_access_token and self.whatsapp_phone_number_id)

    @property
    def relay_configured(self) -> bool:
        return self.relay_url is not None and self.relay_token is not None


class LiveConnection:
    """The connection settings as they are now: the environment's values, and for those it
    leaves unset, the ones saved from the settings screen. Built once by the entry point and
    passed down; readers ask ``current()`` each time, so a saved change applies without a
    restart, and ``subscribe`` lets a worker hear of it at once."""

    def __init__(self, settings: Settings, saved: Mapping[str, str] | None = None) -> None:
        self._base = Connection(
            **{name: getattr(settings, name) for name in SAVED_NAMES},
            whatsapp_api_base=settings.whatsapp_api_base,
        )
        self._listeners: list[Callable[[], None]] = []
        self._saved: dict[str, str] = {}
        self._current = self._base
        self._merge(saved or {})

    def from_environment(self, name: str) -> bool:
        return getattr(self._base, name) is not None

    @property
    def saved(self) -> dict[str, str]:
        """What the settings screen saved (values the environment overrides included)."""
        return dict(self._saved)

    def current(self) -> Connection:
        return self._current

    def apply(self, saved: Mapping[str, str]) -> Connection:
        """Take a new set of saved values and tell the subscribers."""
        self._merge(saved)
        for listener in list(self._listeners):
            listener()
        return self._current

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _merge(self, saved: Mapping[str, str]) -> None:
        self._saved = {k: v for k, v in saved.items() if k in SAVED_NAMES and v}
        unset = {k: v for k, v in self._saved.items() if not self.from_environment(k)}
        self._current = replace(self._base, **unset)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically and readable by this user only (0600): a
    temporary file beside it, flushed to disk, renamed over the old one. A crash leaves the
    old file or the new one, never half of either."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    if os.name == "posix":  # the rename itself, made durable
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def new_staff_token() -> str:
    return secrets.token_urlsafe(32)


def load_staff_token(data_dir: Path, env: Mapping[str, str]) -> str:
    """The token from the environment, else the one kept in ``<data>/staff_token`` (made once)."""
    from_env = env.get(ENV_PREFIX + "STAFF_TOKEN", "").strip()
    if from_env:
        return from_env
    path = data_dir / "staff_token"
    if path.is_file():
        kept = path.read_text(encoding="utf-8").strip()
        if kept:
            return kept
    token = new_staff_token()
    write_private(path, token + "\n")
    return token


def allowed_hosts(extra: str | None) -> tuple[str, ...]:
    """The loopback names, plus any listed (a second PC on the clinic's LAN): extra names
    never take localhost away, so the window on this PC keeps working whatever is set."""
    names = [*DEFAULT_ALLOWED_HOSTS, *(h.strip().lower() for h in (extra or "").split(","))]
    return tuple(dict.fromkeys(n for n in names if n))


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(ENV_PREFIX + name, "").strip()
    return value or None


class SettingError(ValueError):
    """A setting that cannot be used; the message names it and says what it needs."""


def _number(env: Mapping[str, str], name: str, default: float, kind: type[float] = float) -> float:
    text = _env(env, name)
    if text is None:
        return default
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingError(f"{ENV_PREFIX}{name} must be {what}, not {text!r}") from None
    if not 0 <= value < 10**9:
        raise SettingError(f"{ENV_PREFIX}{name} must be 0 or more, not {text!r}")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    value = int(_number(env, name, default, int))
    if value > 65535:
        raise SettingError(f"{ENV_PREFIX}{name} must be a port from 0 to 65535, not {value}")
    return value


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    data_dir: Path | None = None,
    host: str | None = None,
    port: int | None = None,
    webhook_port: int | None = None,
) -> Settings:
    """Settings from command-line values (first), then the environment, then defaults."""
    env = os.environ if env is None else env
    chosen_dir = data_dir or (Path(d) if (d := _env(env, "DATA_DIR")) else default_data_dir())
    chosen_dir = chosen_dir.expanduser().resolve()
    chosen_dir.mkdir(parents=True, exist_ok=True)
    hosts = _env(env, "ALLOWED_HOSTS")
    return Settings(
        token_from_file=_env(env, "STAFF_TOKEN") is None,
        data_dir=chosen_dir,
        staff_token=load_staff_token(chosen_dir, env),
        host=host or _env(env, "HOST") or "127.0.0.1",
        port=port if port is not None else _port(env, "PORT", 8750),
        webhook_port=(
            webhook_port if webhook_port is not None else _port(env, "WEBHOOK_PORT", 8751)
        ),
        allowed_hosts=allowed_hosts(hosts),
        whatsapp_app_secret=_env(env, "WHATSAPP_APP_SECRET"),
        whatsapp_verify_token=_env(env, "WHATSAPP_VERIFY_TOKEN"),
        whatsapp_access_token=_env(env, "WHATSAPP_ACCESS_TOKEN"),
        whatsapp_phone_number_id=_env(env, "WHATSAPP_PHONE_NUMBER_ID"),
        whatsapp_api_base=_env(env, "WHATSAPP_API_BASE") or DEFAULT_API_BASE,
        relay_url=_env(env, "RELAY_URL"),
        relay_token=_env(env, "RELAY_TOKEN"),
        sender_max_backoff=_number(env, "SENDER_MAX_BACKOFF", 300),
        sender_ambiguous_wait=_number(env, "SENDER_AMBIGUOUS_WAIT", 60),
        sender_auth_retry=_number(env, "SENDER_AUTH_RETRY", 180),
        reminder_interval=_number(env, "REMINDER_INTERVAL", 30),
        backup_delay=_number(env, "BACKUP_DELAY", 600),
        backup_copy_dir=Path(d).expanduser() if (d := _env(env, "BACKUP_COPY_DIR")) else None,
    )


def load_relay_settings(
    env: Mapping[str, str] | None = None,
    *,
    data_dir: Path | None = None,
    host: str | None = None,
    port: int | None = None,
) -> Settings:
    """Settings of ``clinicbot relay``: its data directory and address, the WhatsApp app
    secret and verify token, and the relay token. The relay has no staff API, so no staff
    token is made for it, and the clinic's host and port variables are not its own."""
    env = os.environ if env is None else env
    chosen_dir = data_dir or (Path(d) if (d := _env(env, "DATA_DIR")) else default_data_dir())
    chosen_dir = chosen_dir.expanduser().resolve()
    chosen_dir.mkdir(parents=True, exist_ok=True)
    return Settings(
        data_dir=chosen_dir,
        staff_token="",
        token_from_file=False,
        host=host or "127.0.0.1",
        port=port if port is not None else RELAY_PORT,
        whatsapp_app_secret=_env(env, "WHATSAPP_APP_SECRET"),
        whatsapp_verify_token=_env(env, "WHATSAPP_VERIFY_TOKEN"),
        relay_token=_env(env, "RELAY_TOKEN"),
    )
