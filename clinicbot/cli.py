"""The command line: ``clinicbot`` (the window, or headless when there is none),
``clinicbot serve`` and ``clinicbot relay``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import filelock

from clinicbot import __version__, logs
from clinicbot.config import (
    RELAY_PORT,
    SettingError,
    Settings,
    load_relay_settings,
    load_settings,
)
from clinicbot.db.database import trouble
from clinicbot.relay.server import LOCK_NAME as RELAY_LOCK_NAME
from clinicbot.relay.server import serve_relay
from clinicbot.server import Addresses, print_addresses, serve

if TYPE_CHECKING:
    from clinicbot.services import patient_import


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
    _data_commands(commands)
    return parser


def _data_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export_cmd = commands.add_parser(
        "export",
        help="export every patient, appointment and message (while clinicbot runs, too): "
        "one CSV file per table, or one JSON document",
    )
    _data_dir_option(export_cmd)
    export_cmd.add_argument("--to", type=Path, required=True, help="the folder to write into")
    export_cmd.add_argument(
        "--format", choices=("csv", "json"), default="csv", help="csv (default) or json"
    )
    import_cmd = commands.add_parser(
        "import-patients",
        help="add the patients of a CSV file (an old register, a phone's contacts export); "
        "those already known by phone are left as they are",
    )
    _data_dir_option(import_cmd)
    import_cmd.add_argument("file", type=Path, help="the CSV file")
    import_cmd.add_argument(
        "--clinic-id", default=None, help="the clinic to add them to (needed with several)"
    )
    import_cmd.add_argument(
        "--dry-run", action="store_true", help="only say what an import would do"
    )


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


def run_serve(settings: Settings, *, demo: bool, open_browser: bool = False) -> int:
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
        ready = _and_open_browser(settings) if open_browser else print_addresses
        asyncio.run(serve(settings, demo=demo, on_ready=ready))
    except (sqlite3.Error, OSError) as exc:
        why = cannot_start(settings, exc)
        if why is None:
            raise
        print(why, file=sys.stderr)
        return 1
    finally:
        lock.release()
    print("clinicbot: stopped", flush=True)
    return 0


def cannot_start(settings: Settings, exc: BaseException) -> str | None:
    """One paragraph for staff when the database cannot be used at start-up (another
    program's lock, a read-only file, a full disk, a damaged file); None for anything else."""
    found = trouble(exc)
    if found is not None:
        advice = found.advice
    elif isinstance(exc, sqlite3.DatabaseError):
        advice = "It is not a readable clinicbot database: restore a backup (clinicbot restore)."
    else:
        return None
    return (
        f"clinicbot: cannot start: {advice} The database is {settings.db_path}"
        f" ({exc}). Nothing was changed."
    )


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
    logs.configure(logs.level_from(os.environ))
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
    if args.command == "export":
        sys.exit(run_export(settings, args.to, args.format))
    if args.command == "import-patients":
        sys.exit(run_import(settings, args.file, clinic_id=args.clinic_id, dry_run=args.dry_run))
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
    # On Windows and macOS there is a desktop but no window engine (say, no WebView2): the
    # double-clicked app has no console to print the address to, so the browser opens it.
    return run_serve(settings, demo=demo, open_browser=sys.platform in ("win32", "darwin"))


def _and_open_browser(settings: Settings) -> Callable[[Addresses], None]:
    """An ``on_ready`` that prints the addresses, then opens the staff UI in the default
    browser, signed in by the URL fragment (never sent to the server, so never logged)."""
    import webbrowser

    from clinicbot.desktop import window_address

    def ready(addresses: Addresses) -> None:
        print_addresses(addresses)
        base = window_address(addresses.staff_url, settings.host)
        webbrowser.open(f"{base}#token={quote(settings.staff_token, safe='')}")

    return ready


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

    from clinicbot.services import backups, restore

    lock = _only_one(
        settings.lock_path,
        f"clinicbot: clinicbot is running on {settings.data_dir}: close it first, then "
        "restore (the database must not change while it is replaced).",
    )
    if lock is None:
        return 1
    try:
        kept = restore.restore(settings.db_path, backup.expanduser().resolve(), datetime.now(UTC))
    except backups.BackupError as exc:
        print(f"clinicbot: {exc} Nothing was changed.", file=sys.stderr)
        return 1
    finally:
        lock.release()
    print(f"clinicbot: restored {backup.name}; the database it replaced is kept as {kept}")
    return 0


def run_export(settings: Settings, folder: Path, fmt: str) -> int:
    """``clinicbot export``: files from one read-only snapshot, beside a running server."""
    from datetime import UTC, datetime

    from clinicbot.services import export

    if not settings.db_path.exists():
        print(f"clinicbot: there is no database in {settings.data_dir}", file=sys.stderr)
        return 1
    try:
        written = export.write_export(settings.db_path, folder.expanduser(), fmt, datetime.now(UTC))
    except (OSError, sqlite3.Error) as exc:
        print(f"clinicbot: export failed: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"clinicbot: wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


def run_import(settings: Settings, file: Path, *, clinic_id: str | None, dry_run: bool) -> int:
    """``clinicbot import-patients FILE``: the same rules and report as the window's."""
    from datetime import UTC, datetime

    from clinicbot.db import connect, migrate
    from clinicbot.db.database import transaction
    from clinicbot.errors import ClinicError
    from clinicbot.services import patient_import

    if not settings.db_path.exists():
        print(f"clinicbot: there is no database in {settings.data_dir}", file=sys.stderr)
        return 1
    try:
        raw = file.expanduser().read_bytes()
    except OSError as exc:
        print(f"clinicbot: cannot read {file}: {exc.strerror}", file=sys.stderr)
        return 1
    conn = connect(settings.db_path)
    try:
        migrate(conn)
        with transaction(conn):
            clinic = clinic_id or _only_clinic(conn)
            if dry_run:
                report = patient_import.preview(conn, clinic, raw)
            else:
                report = patient_import.run(conn, clinic, raw, datetime.now(UTC))
    except ClinicError as exc:
        print(f"clinicbot: {exc.message}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    _print_import(report)
    return 0


def _only_clinic(conn: sqlite3.Connection) -> str:
    from clinicbot.errors import InvalidInput

    rows = conn.execute("SELECT id FROM clinics LIMIT 2").fetchall()
    if len(rows) != 1:
        raise InvalidInput("Say which clinic with --clinic-id.")
    return str(rows[0][0])


def _print_import(report: patient_import.ImportReport) -> None:
    m = report.mapping
    print(f"read as {report.encoding}, {report.delimiter}-separated")
    print(f"names from: {', '.join(m.name)}; phones from: {', '.join(m.phone)}")
    if m.ignored:
        print(f"not imported (no such field in clinicbot): {', '.join(m.ignored)}")
    for row in report.rows:
        if row.outcome == "rejected":
            print(f"  line {row.line}: rejected: {row.reason}")
    c = report.counts
    verb = "added" if report.imported else "would add"
    print(
        f"{c.rows} rows: {verb} {c.new} new patients; {c.existing} already patients; "
        f"{c.rejected} rejected"
    )
