"""Logs: phone numbers masked in every line, to the console and to rotating files."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Iterator
from pathlib import Path

import pytest

from clinicbot import logs
from tests.conftest import start_server


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("sent to +919876543210 ok", "sent to +91********10 ok"),
        ("from 919876543210:", "from +91********10:"),
        ("call +91 98765 43210 now", "call +91********10 now"),
        ("ring +91-98765-43210", "ring +91********10"),
    ],
)
def test_phone_numbers_are_masked(line: str, shown: str) -> None:
    assert logs.mask_phones(line) == shown


@pytest.mark.parametrize(
    "line",
    [
        "port 8750, 3 messages, 12345 rows",
        "wamid.HBgMOTE5ODc2NTQzMjEwFQIAERgSQUFB",  # an id is not a phone number
        "listening on 127.0.0.1:8751",
        "clinic 7f13c70e-d658-4d3e-bcc3-94d7cabc736b",
        "version 2026.11.24.1200",
    ],
)
def test_other_numbers_stay_as_they_are(line: str) -> None:
    assert logs.mask_phones(line) == line


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in saved:
            handler.close()
    root.handlers[:], root.level = saved, level


def test_the_log_file_rotates_and_masks(tmp_path: Path, root_handlers: None) -> None:
    logs.configure()
    path = logs.log_to_files(tmp_path)
    handler = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.handlers.RotatingFileHandler)
    )
    handler.maxBytes = 2000
    log = logging.getLogger("clinicbot.test")
    for n in range(400):  # ~30 kB through 2 kB files: more than the files kept
        log.info("reply %d queued for %s", n, "+919876543210")
    handler.flush()
    files = sorted(path.parent.glob("clinicbot.log*"))
    assert len(files) == logs.KEEP_FILES + 1  # the current one and the rotated ones
    text = "".join(f.read_text(encoding="utf-8") for f in files)
    assert "9876543210" not in text and "+91********10" in text
    assert "reply 399 queued" in path.read_text(encoding="utf-8")
    assert "reply 0 queued" not in text  # the oldest rotated away


def test_the_server_writes_its_log_into_the_data_directory(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--demo")
    server.stop()
    text = (tmp_path / "logs" / "clinicbot.log").read_text(encoding="utf-8")
    assert "applied migrations" in text
