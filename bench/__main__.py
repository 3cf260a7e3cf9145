"""``python -m bench``: build (or reuse) the database, measure, print the summary and write
this bench's section of docs/BENCHMARKS.md; then the webhook bench (``bench.webhook``), the
turns bench (``bench.turns``), the UI bench (``bench.ui``, the staff window in Chromium) and
the start-up bench (``bench.startup``: start time, idle memory, the bundle's size), each with
its own section. ``--only core``, ``--only webhook``, ``--only turns``, ``--only ui`` or
``--only startup`` runs one of them."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bench import startup, startup_report, turns, turns_report, ui, ui_page, ui_report, webhook
from bench.build import Scale
from bench.report import SECTION, section, write_section
from bench.runner import QUICK, ROOT, Options, run

DEFAULT_OUTPUT = ROOT / "docs" / "BENCHMARKS.md"


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("a list of client counts, like 16,64") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("client counts are 1 or more")
    return levels


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("a whole number, 1 or more")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--patients", type=int, default=defaults.patients)
    parser.add_argument("--appointments", type=int, default=defaults.appointments)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--rebuild", action="store_true", help="build the database even if a cached one fits"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a few rounds of everything (checks the bench runs)"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print the results only; leave the docs alone"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the Markdown file")
    parser.add_argument(
        "--work-dir", type=Path, default=defaults.work_dir, help="the database cache and runs"
    )
    parser.add_argument(
        "--concurrency", type=_levels, default=defaults.concurrency, help="default 16,64"
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="let the server and this bench share every CPU"
    )
    # The webhook bench (bench/webhook.py).
    parser.add_argument(
        "--only",
        choices=("core", "webhook", "turns", "ui", "startup"),
        help="run one bench (default: core, then webhook, then turns, then ui, then startup)",
    )
    parser.add_argument(
        "--senders",
        type=_levels,
        default=webhook.Options().senders,
        help="webhook bench: concurrent senders, default 1,16,64",
    )
    # The turns bench (bench/turns.py).
    parser.add_argument(
        "--booking-patients",
        type=_count,
        default=None,
        help=f"turns bench: patients booking at once, default {turns.FULL.patients}",
    )
    # The start-up bench (bench/startup.py).
    parser.add_argument(
        "--bundle",
        type=Path,
        default=None,
        help="start-up bench: the bundle folder (default dist/clinicbot, built when missing)",
    )
    return parser


def startup_options(args: argparse.Namespace, argv: Sequence[str]) -> startup.Options:
    quick = args.quick
    return startup.Options(
        runs=startup.QUICK_RUNS if quick else startup.FULL_RUNS,
        idle_seconds=startup.QUICK_IDLE if quick else startup.FULL_IDLE,
        bundle=args.bundle,
        work_dir=args.work_dir,
        command=" ".join(["python -m bench", *argv]),
    )


def turns_options(args: argparse.Namespace, argv: Sequence[str]) -> turns.Options:
    scale = turns.QUICK if args.quick else turns.FULL
    if args.booking_patients is not None:
        scale = replace(scale, patients=args.booking_patients)
    return turns.Options(
        scale=scale,
        work_dir=args.work_dir,
        pin=not args.no_pin,
        command=" ".join(["python -m bench", *argv]),
    )


def ui_options(args: argparse.Namespace, argv: Sequence[str]) -> ui.Options:
    """The UI bench measures in the core bench's database (same scale and seed)."""
    return ui.Options(
        scale=Scale(args.patients, args.appointments, args.seed),
        rounds=ui.QUICK_ROUNDS if args.quick else ui.FULL_ROUNDS,
        work_dir=args.work_dir,
        pin=not args.no_pin,
        command=" ".join(["python -m bench", *argv]),
    )


def webhook_options(args: argparse.Namespace, argv: Sequence[str]) -> webhook.Options:
    return webhook.Options(
        senders=args.senders,
        scale=webhook.QUICK if args.quick else webhook.FULL,
        work_dir=args.work_dir,
        pin=not args.no_pin,
        command=" ".join(["python -m bench", *argv]),
    )


def options_from(args: argparse.Namespace, argv: Sequence[str]) -> Options:
    options = Options(
        patients=args.patients,
        appointments=args.appointments,
        seed=args.seed,
        rebuild=args.rebuild,
        work_dir=args.work_dir,
        concurrency=args.concurrency,
        pin=not args.no_pin,
        command=" ".join(["python -m bench", *argv]),
    )
    return replace(options, rounds=QUICK) if args.quick else options


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.only in (None, "ui") and not Path(ui_page.CHROMIUM).exists():
        parser.error(f"the UI bench needs Chromium at {ui_page.CHROMIUM}: apt install chromium")

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", flush=True)

    if args.only in (None, "core"):
        result = run(options_from(args, argv), log)
        body = section(result)
        print("\n" + body)
        if not args.no_write:
            write_section(args.output, SECTION, body)
            log(f"wrote the '{SECTION}' section of {args.output}")
    if args.only in (None, "webhook"):
        webhook.main(webhook_options(args, argv), None if args.no_write else args.output, log)
    if args.only in (None, "turns"):
        turns_report.main(turns_options(args, argv), None if args.no_write else args.output, log)
    if args.only in (None, "ui"):
        ui_report.main(ui_options(args, argv), None if args.no_write else args.output, log)
    if args.only in (None, "startup"):
        output = None if args.no_write else args.output
        startup_report.main(startup_options(args, argv), output, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
