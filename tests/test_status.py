"""``GET /api/v1/status``: the installation at a glance, and what needs attention."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clinicbot import __version__
from clinicbot.store.app_state import set_value
from clinicbot.store.rows import stamp
from clinicbot.web.status import ATTENTION, Status, _attention, _Data, _read
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


def test_the_status_tells_the_health_view_everything_it_shows(tmp_path: Path) -> None:
    usb = tmp_path / "usb-not-plugged-in"
    data = tmp_path / "data"
    server = start_server(
        data,
        "--demo",
        env={"CLINICBOT_BACKUP_DELAY": "3600", "CLINICBOT_BACKUP_COPY_DIR": str(usb)},
    )
    try:
        with server.client() as api:
            status = api.get("/api/v1/status").json()
            assert status["version"] == __version__
            assert status["log_dir"] == str(data.resolve() / "logs")
            assert status["backup_folder"] == str(data.resolve() / "backups")
            assert status["copy_folder"] == str(usb)
            assert "not there" in status["copy_folder_problem"]
            assert status["last_copy_at"] is None
            db_file = data / "clinicbot.db"
            assert 0 < db_file.stat().st_size <= status["database_bytes"]
            assert status["last_message_via"] == "webhook"  # no relay has ever been polled
            assert status["oldest_waiting_at"] is None and status["backlog"] == 0
            assert datetime.fromisoformat(status["checked_at"])
            # The demo's failed reminder, and the missing USB drive; the first daily backup
            # is not due for an hour, so no backup is overdue.
            expected = ["copy_folder", "failed_sends"]
            if status["disk_low"]:
                expected.insert(0, "disk_low")
            assert status["attention"] == expected
            usb.mkdir()
            made = api.post("/api/v1/backups").json()
            after = api.get("/api/v1/status").json()
            assert after["copy_folder_problem"] is None
            assert after["last_copy_at"] == made["taken_at"]
            assert "copy_folder" not in after["attention"]
    finally:
        assert server.stop() == 0


NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def _status(**fields: object) -> Status:
    base: dict[str, object] = {
        "last_message_at": None,
        "backlog": 0,
        "failed": 0,
        "last_backup_at": (NOW - timedelta(hours=5)).isoformat(),
        "backup_error": None,
        "disk_free_bytes": 50 * 10**9,
        "disk_low": False,
        "data_dir": "/data",
    }
    return Status(**{**base, **fields})  # type: ignore[arg-type]


def _data(oldest_waiting: timedelta | None = None) -> _Data:
    waiting = None if oldest_waiting is None else (NOW - oldest_waiting).isoformat()
    return _Data(None, None, 0, 0, waiting)


def test_what_needs_attention_worst_first() -> None:
    due = NOW - timedelta(days=10)
    assert _attention(_status(), _data(), NOW, due) == []
    old = (NOW - timedelta(days=2, minutes=1)).isoformat()
    assert _attention(_status(last_backup_at=old), _data(), NOW, due) == ["backup_old"]
    # No backup at all: overdue once the first daily backup should have been written.
    assert _attention(_status(last_backup_at=None), _data(), NOW, due) == ["backup_old"]
    soon = NOW + timedelta(minutes=5)
    assert _attention(_status(last_backup_at=None), _data(), NOW, soon) == []
    assert _attention(_status(last_backup_at=None), _data(), NOW, None) == []
    everything = _status(
        disk_low=True,
        backup_error="disk full",
        last_backup_at=old,
        copy_folder_problem="gone",
        failed=2,
    )
    assert _attention(everything, _data(timedelta(minutes=31)), NOW, due) == list(ATTENTION)
    assert _attention(_status(), _data(timedelta(minutes=29)), NOW, due) == []


def test_the_last_message_came_by_the_relay_when_the_relay_stored_it(
    conn: sqlite3.Connection,
) -> None:
    def arrive(wamid: str, at: datetime) -> None:
        conn.execute(
            "INSERT INTO inbound_messages (wa_message_id, sender, type, wa_timestamp, body,"
            " received_at) VALUES (?, '919800000001', 'text', 1, '{}', ?)",
            [wamid, stamp(at)],
        )

    assert _read(conn).last_message_via is None
    arrive("wamid.1", NOW)
    assert _read(conn).last_message_via == "webhook"
    # The relay poller stores the cursor in the transaction that stores what it brought.
    arrive("wamid.2", NOW + timedelta(minutes=1))
    set_value(conn, "relay_cursor", "c1", NOW + timedelta(minutes=1))
    assert _read(conn).last_message_via == "relay"
    arrive("wamid.3", NOW + timedelta(minutes=2))  # then one by the webhook
    assert _read(conn).last_message_via == "webhook"
