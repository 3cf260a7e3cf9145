"""``GET /api/v1/status``: the installation at a glance."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from tests.conftest import start_server


def test_the_status_tells_messages_backups_and_disk(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--demo", env={"CLINICBOT_BACKUP_DELAY": "3600"})
    try:
        with server.client() as api:
            before = api.get("/api/v1/status")
            assert before.status_code == 200
            status = before.json()
            assert status["last_backup_at"] is None and status["backup_error"] is None
            # The demo clinic's WhatsApp chats: the last one stored, and its failed reminder.
            assert datetime.fromisoformat(status["last_message_at"])
            assert status["failed"] == 1 and status["backlog"] == 0
            free = shutil.disk_usage(tmp_path).free
            assert abs(status["disk_free_bytes"] - free) < free // 10 + 10**8
            assert status["disk_low"] is (status["disk_free_bytes"] < 10**9)
            assert status["data_dir"] == str(tmp_path.resolve())
            made = api.post("/api/v1/backups").json()
            after = api.get("/api/v1/status").json()
            assert after["last_backup_at"] == made["taken_at"]
    finally:
        assert server.stop() == 0


def test_the_status_needs_the_token(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        import httpx

        assert httpx.get(server.staff_url + "api/v1/status").status_code == 401
    finally:
        server.stop()
