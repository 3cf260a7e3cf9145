"""A small size-limited filesystem for full-disk tests: a tmpfs of a few MB.

As root, ``mount -t tmpfs`` does it. Otherwise (or when that mount is refused, or with
``CLINICBOT_TEST_UNSHARE=1`` to try this path as root) the test runs again, whole, inside a
user and mount namespace of its own (``unshare --map-root-user --mount``), where it is root
and may mount; the outer test then passes or fails with it. If neither works, the test FAILS
and says why: a full-disk guarantee that is never checked is not a guarantee.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeWhatsApp

SIZE = "8m"
FORCE_UNSHARE = "CLINICBOT_TEST_UNSHARE"  # take the unprivileged path even as root
INSIDE = "CLINICBOT_TEST_IN_NAMESPACE"  # set for the test's second run, inside unshare
ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def size_limited_dir(tmp_path: Path, nodeid: str) -> Iterator[Path | None]:
    """A directory on a fresh ``SIZE`` tmpfs; or None when the test already ran (and
    passed) inside a namespace, where it could mount one."""
    where = tmp_path / "small-disk"
    where.mkdir()
    refused = "not root"
    if os.geteuid() == 0 and not os.environ.get(FORCE_UNSHARE):
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if mounted.returncode == 0:
            try:
                yield where
            finally:
                subprocess.run(["umount", "-l", str(where)], check=False)
            return
        refused = f"mount -t tmpfs as root was refused: {mounted.stderr.strip()}"
    if os.environ.get(INSIDE):
        pytest.fail(f"cannot mount a tmpfs even inside a user namespace ({refused})")
    _run_inside_namespace(nodeid, refused)
    yield None


def _run_inside_namespace(nodeid: str, refused: str) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail(f"no size-limited filesystem here: {refused}, and unshare is not installed")
    env = {k: v for k, v in os.environ.items() if k != FORCE_UNSHARE}
    env[INSIDE] = "1"
    command = [unshare, "--map-root-user", "--mount", sys.executable, "-m", "pytest"]
    command += ["-q", "-p", "no:cacheprovider", "-o", "addopts=", nodeid]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if "unshare failed" in done.stderr:
        pytest.fail(
            f"no size-limited filesystem here: {refused}, and unshare --map-root-user"
            f" --mount failed: {done.stderr.strip()}"
        )
    assert done.returncode == 0, f"inside unshare:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert " passed" in done.stdout, done.stdout[-3000:]


def fill(path: Path) -> int:
    """Append zeros to ``path`` until the disk refuses; return how many bytes went in."""
    written = 0
    with path.open("ab", buffering=0) as ballast:
        for size in (1 << 20, 1 << 16, 1 << 12, 512, 1):
            try:
                while True:
                    written += ballast.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return written


def fill_disk(conn: sqlite3.Connection, ballast: Path) -> None:
    """A full disk that SQLite cannot dodge: the WAL truncated to nothing (a write must grow
    it), and every byte the truncation gave back taken too."""
    for _ in range(2):
        FakeWhatsApp.wait_for(
            lambda: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0,
            30,
            0.05,
            "a quiet moment to truncate the WAL",
        )
        fill(ballast)
    assert shutil.disk_usage(ballast.parent).free < 64 * 1024
