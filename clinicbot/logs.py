"""Logging: one format, to the console and to rotating files in ``<data>/logs/``, with
phone numbers masked in every line (a patient's number must not sit in a log file).

Message texts are never logged by the code; phone numbers can slip in through a library's
message or an error, so a filter on every handler masks them: ``+919876543210`` and
``919876543210`` become ``+91********10``.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from clinicbot.phones import mask_phone

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_BYTES = 5_000_000  # per file
KEEP_FILES = 5  # clinicbot.log.1 … .5 beside the current one: at most ~30 MB

# 10 to 15 digits, optionally with a leading + and single spaces or dashes between them,
# not part of a longer word or number (ids, versions and times stay as they are).
PHONE = re.compile(r"(?<![\w.+-])\+?\d(?:[ -]?\d){9,14}(?![\w.-]*\d)")


def mask_phones(text: str) -> str:
    def masked(found: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", found.group())
        return mask_phone("+" + digits)

    return PHONE.sub(masked, text)


class MaskPhones(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        hidden = mask_phones(text)
        if hidden != text:
            record.msg, record.args = hidden, None
        return True


LEVEL_VARIABLE = "CLINICBOT_LOG_LEVEL"  # DEBUG, INFO (the default), WARNING or ERROR
LEVELS = {n: logging.getLevelNamesMapping()[n] for n in ("DEBUG", "INFO", "WARNING", "ERROR")}


def level_from(env: Mapping[str, str]) -> int:
    """The level ``CLINICBOT_LOG_LEVEL`` names; INFO when unset or not a level."""
    return LEVELS.get(env.get(LEVEL_VARIABLE, "").strip().upper(), logging.INFO)


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file; on a full or read-only disk its lines are dropped quietly (the console
    still shows them), instead of a "--- Logging error ---" traceback for every line."""

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handleError(record)


def configure(level: int = logging.INFO) -> None:
    """The console handler (before the data directory is known)."""
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter(FORMAT))
    console.addFilter(MaskPhones())
    root = logging.getLogger()
    root.handlers[:] = [console]
    root.setLevel(level)
    # One line per Graph request would drown the log (and name the number id); errors stay.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_to_files(data_dir: Path) -> Path:
    """Also log to ``<data>/logs/clinicbot.log``, rotated by size; return its path."""
    folder = data_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "clinicbot.log"
    handler = _LogFile(path, maxBytes=MAX_BYTES, backupCount=KEEP_FILES, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(MaskPhones())
    logging.getLogger().addHandler(handler)
    return path
