"""The command line: ``clinicbot`` (the window, or headless when there is none),
``clinicbot serve`` and ``clinicbot relay``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import filelock

from clinicbot import __version__
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
    return parser


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


def run_serve(settings: Settings, *, demo: bool) -> int:
    lock = filelock.FileLock(settings.lock_path)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        print(
            f"clinicbot: another clinicbot is already running on {settings.data_dir}.\n"
            "Close it first, or start this one with another --data-dir.",
            file=sys.stderr,
        )
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
    lock = filelock.FileLock(settings.data_dir / RELAY_LOCK_NAME)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        print(
            f"clinicbot relay: another relay is already running on {settings.data_dir}.\n"
            "Stop it first, or start this one with another --data-dir.",
            file=sys.stderr,
        )
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
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # One line per Graph request would drown the log (and name the number id); errors stay.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "relay":
            sys.exit(run_relay(_relay_settings(args)))
        settings = _settings(args)
    except SettingError as exc:
        print(f"clinicbot: {exc}", file=sys.stderr)
        sys.exit(2)
    demo = bool(getattr(args, "demo", False))
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
