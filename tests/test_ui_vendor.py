"""The vendored UI libraries are the files VENDOR.md names, unmodified, and the staff
listener serves them (as JavaScript, without the staff token) so the window works offline."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningServer

VENDOR = Path(__file__).resolve().parents[1] / "ui" / "vendor"
ROW = re.compile(r"^\| (?P<file>[\w.-]+) \| .* \| (?P<sha>[0-9a-f]{64}) \|$")


def listed() -> dict[str, str]:
    rows = (ROW.match(line) for line in (VENDOR / "VENDOR.md").read_text().splitlines())
    return {m["file"]: m["sha"] for m in rows if m}


def test_every_vendored_file_is_listed_with_its_hash() -> None:
    files = listed()
    assert files, "VENDOR.md lists no files"
    shipped = {p.name for p in VENDOR.iterdir() if p.suffix in {".js", ".css"}}
    assert shipped == set(files)
    for name, sha in files.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == sha, name


@pytest.mark.parametrize("name", sorted(listed()))
def test_the_staff_listener_serves_it(server: RunningServer, name: str) -> None:
    r = httpx.get(server.staff_url.rstrip("/") + f"/vendor/{name}", timeout=10)
    assert r.status_code == 200
    assert r.content == (VENDOR / name).read_bytes()
    kind = "css" if name.endswith(".css") else "javascript"
    assert kind in r.headers["content-type"]
