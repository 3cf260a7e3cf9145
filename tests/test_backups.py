"""Backups: the online backup API while the app writes, the integrity check, retention, the
second folder, restore (keeping the database it replaces), the CLI and the API."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clinicbot.db import connect, migrate
from clinicbot.db.database import transaction
from clinicbot.services import backups, restore
from tests.conftest import start_server

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def make_db(path: Path, clinics: int = 1) -> None:
    conn = connect(path)
    migrate(conn)
    with transaction(conn):
        for n in range(clinics):
            conn.execute(
                "INSERT INTO clinics (id, name, address, country, timezone, created_at, updated_at)"
                " VALUES (?, ?, '', 'IN', 'Asia/Kolkata', ?, ?)",
                [f"c{n}", f"Clinic {n}", NOW.isoformat(), NOW.isoformat()],
            )
    conn.close()


def count(path: Path, table: str = "clinics") -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
    finally:
        conn.close()


def test_a_backup_is_a_checked_copy_taken_while_the_app_keeps_writing(tmp_path: Path) -> None:
    db = tmp_path / "clinicbot.db"
    make_db(db)
    stop = threading.Event()

    def writer() -> None:
        conn = connect(db)
        n = 1000
        while not stop.is_set():
            with transaction(conn):
                conn.execute(
                    "INSERT INTO clinics (id, name, address, country, timezone, created_at,"
                    " updated_at) VALUES (?, 'W', '', 'IN', 'Asia/Kolkata', ?, ?)",
                    [f"w{n}", NOW.isoformat(), NOW.isoformat()],
                )
            n += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        made = [
            backups.make_backup(db, tmp_path / "backups", NOW + timedelta(seconds=i))
            for i in range(5)
        ]
    finally:
        stop.set()
        thread.join()
    for backup in made:
        backups.check(backup.path)  # a whole, consistent database each time
        assert backup.path.name.startswith("clinicbot-20261124-0930")
        assert count(backup.path) >= 1
    assert [b.path for b in backups.list_backups(tmp_path / "backups")] == [
        b.path for b in reversed(made)
    ]
    assert not list((tmp_path / "backups").glob(".*.part"))  # no half-written file left


def test_a_data_directory_with_spaces_and_hashes_in_its_name_works(tmp_path: Path) -> None:
    odd = tmp_path / "Dr Sharma #1 ?clinic"
    odd.mkdir()
    make_db(odd / "clinicbot.db", clinics=2)
    made = backups.make_backup(odd / "clinicbot.db", odd / "backups", NOW)
    assert count(made.path) == 2
    restore.restore(odd / "clinicbot.db", made.path, NOW + timedelta(minutes=1))
    assert count(odd / "clinicbot.db") == 2


def test_a_damaged_or_foreign_file_fails_the_check(tmp_path: Path) -> None:
    junk = tmp_path / "clinicbot-20261124-093000.db"
    junk.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(backups.BackupError):
        backups.check(junk)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(backups.BackupError, match="not a clinicbot database"):
        backups.check(other)


def test_retention_keeps_7_daily_4_weekly_and_12_monthly() -> None:
    start = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    taken = [start + timedelta(days=d, hours=h) for d in range(700) for h in (0, 5)]
    kept = backups.to_keep(taken)
    newest = max(taken)
    days = sorted({t.date() for t in kept}, reverse=True)
    assert days[:7] == [(newest - timedelta(days=d)).date() for d in range(7)]
    # Every kept backup is the newest of its day.
    assert all(t == max(x for x in taken if x.date() == t.date()) for t in kept)
    months = {(t.year, t.month) for t in kept}
    assert len(months) == 12
    assert len(kept) <= 7 + 4 + 12
    assert min(kept) > newest - timedelta(days=366)


def test_prune_deletes_what_retention_does_not_keep(tmp_path: Path) -> None:
    db = tmp_path / "clinicbot.db"
    make_db(db)
    folder = tmp_path / "backups"
    for day in range(40):
        backups.make_backup(db, folder, NOW - timedelta(days=day))
    gone = backups.prune(folder)
    left = backups.list_backups(folder)
    assert len(left) + len(gone) == 40
    assert len(left) == len(backups.to_keep(b.taken_at for b in left))
    assert left[0].taken_at == NOW.replace(microsecond=0)


def test_restore_keeps_the_replaced_database_and_brings_the_backup_back(tmp_path: Path) -> None:
    db = tmp_path / "clinicbot.db"
    make_db(db, clinics=2)
    backup = backups.make_backup(db, tmp_path / "backups", NOW)
    make_db_more = connect(db)
    with transaction(make_db_more):
        make_db_more.execute("DELETE FROM clinics")
    make_db_more.close()
    assert count(db) == 0
    kept = restore.restore(db, backup.path, NOW + timedelta(hours=1))
    assert count(db) == 2
    assert kept.name.startswith("before-restore-") and count(kept) == 0
    backups.check(db)


def test_a_broken_backup_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    db = tmp_path / "clinicbot.db"
    make_db(db, clinics=3)
    broken = tmp_path / "clinicbot-20260101-000000.db"
    broken.write_bytes(b"not a database at all" * 100)
    with pytest.raises(backups.BackupError):
        restore.restore(db, broken, NOW)
    assert count(db) == 3


def test_the_cli_backs_up_beside_a_running_server_and_restores_only_once_it_stops(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    usb = tmp_path / "usb"
    server = start_server(data, "--demo", env={"CLINICBOT_BACKUP_DELAY": "3600"})
    try:
        cli = [
            sys.executable,
            "-m",
            "clinicbot",
            "backup",
            "--data-dir",
            str(data),
            "--to",
            str(usb),
        ]
        done = subprocess.run(cli, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        [made] = backups.list_backups(data / "backups")
        [copied] = backups.list_backups(usb)
        assert copied.path.name == made.path.name and "checked" in done.stdout
        patients = count(made.path, "patients")
        assert patients > 0
        with server.client() as api:
            listed = api.get("/api/v1/backups").json()
            assert [b["name"] for b in listed["backups"]] == [made.path.name]
        restore = [sys.executable, "-m", "clinicbot", "restore", "--data-dir", str(data)]
        refused = subprocess.run(
            [*restore, str(made.path)], capture_output=True, text=True, timeout=60
        )
        assert refused.returncode == 1 and "close it first" in refused.stderr
    finally:
        assert server.stop() == 0
    restored = subprocess.run(
        [*restore, str(made.path)], capture_output=True, text=True, timeout=60
    )
    assert restored.returncode == 0, restored.stderr
    assert count(data / "clinicbot.db", "patients") == patients
    assert list((data / "backups").glob("before-restore-*.db"))


def test_the_api_backs_up_now_and_the_daily_backup_runs_by_itself(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--demo", env={"CLINICBOT_BACKUP_DELAY": "0"})
    try:
        from tests.whatsapp_flow import settled

        daily = settled(
            lambda: backups.list_backups(tmp_path / "backups") or None, "the daily backup"
        )
        assert len(daily) == 1
        with server.client() as api:
            answer = api.post("/api/v1/backups")
            assert answer.status_code == 201, answer.text
            made = answer.json()
            assert made["size"] > 0
            listed = api.get("/api/v1/backups").json()
            assert made["name"] in [b["name"] for b in listed["backups"]]
            assert listed["last_error"] is None
        backups.check(tmp_path / "backups" / made["name"])
    finally:
        assert server.stop() == 0
