"""The command line: ``clinicbot`` (the window, or headless when there is none),
``clinicbot serve`` and ``clinicbot relay``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import filelock

from clinicbot import __version__, logs
from clinicbot.config import (
    RELAY_PORT,
    SettingError,
    Settings,
    load_relay_settings,
    load_settings,
)
from clinicbot.relay.server import LOCK_NAME as RELAY_LOCK_NAME
from clinicbot.relay.server import serve_relay
from clinicbot.server import print_addresses, serve


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is 0 (any free port) to 65535")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clinicbot",
        description="The WhatsApp appointment desk of a small clinic. With no command it opens "
        "the staff window (or serves headless and prints the address when there is no display).",
    )
    parser.add_argument("--version", action="version", version=f"clinicbot {__version__}")
    _server_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve_cmd = commands.add_parser(
        "serve", help="serve the staff API/UI and the webhook listener, headless"
    )
    _server_options(serve_cmd)
    relay_cmd = commands.add_parser(
        "relay",
        help="the store-and-forward relay, for a server Meta can reach: it keeps signed "
        "webhooks until the clinic polls them",
    )
    _relay_options(relay_cmd)
    backup_cmd = commands.add_parser(
        "backup",
        help="back the database up now (while clinicbot runs, too) into <data>/backups/",
    )
    _data_dir_option(backup_cmd)
    backup_cmd.add_argument(
        "--to", type=Path, default=None, help="also copy the backup into this folder (a USB drive)"
    )
    backup_cmd.add_argument(
        "--list", action="store_true", help="list the backups kept instead of making one"
    )
    restore_cmd = commands.add_parser(
        "restore",
        help="replace the database with a backup (clinicbot must be stopped); the database "
        "it replaces is kept in <data>/backups/",
    )
    _data_dir_option(restore_cmd)
    restore_cmd.add_argument("backup", type=Path, help="the backup file to restore")
    return parser


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="data directory (default as for serve)",
    )


def _relay_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="data directory, where relay.db is kept (default as for serve)",
    )
    parser.add_argument(
        "--host",
        default=argparse.SUPPRESS,
        help="listen address (default 127.0.0.1: put a TLS reverse proxy in front)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=argparse.SUPPRESS,
        help=f"listen port (default {RELAY_PORT}; 0 picks a free one)",
    )


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="data directory (default: $CLINICBOT_DATA_DIR, else ./data in a "
        "source checkout, else the user-data directory)",
    )
    parser.add_argument(
        "--host", default=argparse.SUPPRESS, help="address of both listeners (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=argparse.SUPPRESS,
        help="staff listener port (default 8750; 0 picks a free one)",
    )
    parser.add_argument(
        "--webhook-port",
        type=_port,
        default=argparse.SUPPRESS,
        help="webhook listener port (default 8751; 0 picks a free one)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS,
        help="load the demo clinic into an empty database",
    )


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        data_dir=getattr(args, "data_dir", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        webhook_port=getattr(args, "webhook_port", None),
    )


def _only_one(path: Path, refusal: str) -> filelock.FileLock | None:
    """The data directory's lock, taken; or None, with ``refusal`` said, when another
    process holds it."""
    lock = filelock.FileLock(path)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        print(refusal, file=sys.stderr)
        return None
    return lock


def run_serve(settings: Settings, *, demo: bool) -> int:
    lock = _only_one(
        settings.lock_path,
        f"clinicbot: another clinicbot is already running on {settings.data_dir}.\n"
        "Close it first, or start this one with another --data-dir.",
    )
    if lock is None:
        return 1
    try:
        print(f"clinicbot {__version__}: data in {settings.data_dir}", flush=True)
        if settings.token_file is not None:
            print(f"clinicbot: the staff API token is in {settings.token_file}", flush=True)
        asyncio.run(serve(settings, demo=demo, on_ready=print_addresses))
    finally:
        lock.release()
    print("clinicbot: stopped", flush=True)
    return 0


def _relay_settings(args: argparse.Namespace) -> Settings:
    return load_relay_settings(
        data_dir=getattr(args, "data_dir", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )


def run_relay(settings: Settings) -> int:
    lock = _only_one(
        settings.data_dir / RELAY_LOCK_NAME,
        f"clinicbot relay: another relay is already running on {settings.data_dir}.\n"
        "Stop it first, or start this one with another --data-dir.",
    )
    if lock is None:
        return 1
    try:
        print(f"clinicbot relay {__version__}: data in {settings.data_dir}", flush=True)
        if settings.relay_token is None:
            print(
                "clinicbot relay: CLINICBOT_RELAY_TOKEN is not set: no clinic can poll", flush=True
            )

        def ready(url: str) -> None:
            sys.stdout.write(f"clinicbot relay: {url}\n")  # one write: logs cannot split it
            sys.stdout.flush()

        asyncio.run(serve_relay(settings, on_ready=ready))
    finally:
        lock.release()
    print("clinicbot relay: stopped", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    logs.configure()
    args = build_parser().parse_args(argv)
    try:
        if args.command == "relay":
            sys.exit(run_relay(_relay_settings(args)))
        settings = _settings(args)
    except SettingError as exc:
        print(f"clinicbot: {exc}", file=sys.stderr)
        sys.exit(2)
    demo = bool(getattr(args, "demo", False))
    if args.command == "backup":
        sys.exit(run_backup(settings, copy_to_dir=args.to, list_only=args.list))
    if args.command == "restore":
        sys.exit(run_restore(settings, args.backup))
    logs.log_to_files(settings.data_dir)  # the server's own log, phone numbers masked
    if args.command is None:
        sys.exit(run_desktop(settings, demo=demo))
    sys.exit(run_serve(settings, demo=demo))


def run_desktop(settings: Settings, *, demo: bool) -> int:
    """``clinicbot``: the window when one can open here, else headless with the address."""
    from clinicbot import desktop

    reason = desktop.unavailable_reason()
    if reason is None:
        return desktop.run_window(settings, demo=demo)
    print(f"clinicbot: {reason}: serving headless; open the staff address in a browser", flush=True)
    return run_serve(settings, demo=demo)


def run_backup(settings: Settings, *, copy_to_dir: Path | None, list_only: bool) -> int:
    """``clinicbot backup``: a checked backup now; the server may keep running meanwhile."""
    from datetime import UTC, datetime

    from clinicbot.services import backups

    folder = backups.backup_dir(settings.data_dir)
    if list_only:
        kept = backups.list_backups(folder)
        for b in kept:
            print(f"{b.path}  {b.taken_at:%Y-%m-%d %H:%M} UTC  {b.size:,} bytes")
        if not kept:
            print(f"clinicbot: no backups in {folder} yet")
        return 0
    if not settings.db_path.exists():
        print(f"clinicbot: there is no database in {settings.data_dir} to back up", file=sys.stderr)
        return 1
    try:
        made = backups.make_backup(settings.db_path, folder, datetime.now(UTC))
        where = [made.path]
        for extra in (settings.backup_copy_dir, copy_to_dir):
            if extra is not None:
                where.append(backups.copy_to(made, extra).path)
        backups.prune(folder)
    except backups.BackupError as exc:
        print(f"clinicbot: {exc}", file=sys.stderr)
        return 1
    for path in where:
        print(f"clinicbot: backup written and checked: {path} ({made.size:,} bytes)")
    return 0


def run_restore(settings: Settings, backup: Path) -> int:
    """``clinicbot restore FILE``: only while no clinicbot runs on the data directory."""
    from datetime import UTC, datetime

    from clinicbot.services import backups

    lock = _only_one(
        settings.lock_path,
        f"clinicbot: clinicbot is running on {settings.data_dir}: close it first, then "
        "restore (the database must not change while it is replaced).",
    )
    if lock is None:
        return 1
    try:
        kept = backups.restore(settings.db_path, backup.expanduser().resolve(), datetime.now(UTC))
    except backups.BackupError as exc:
        print(f"clinicbot: {exc} Nothing was changed.", file=sys.stderr)
        return 1
    finally:
        lock.release()
    print(f"clinicbot: restored {backup.name}; the database it replaced is kept as {kept}")
    return 0
