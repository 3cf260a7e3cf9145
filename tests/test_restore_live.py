"""Restoring a backup while the app runs: on the writer, between two writes
(``Database.exclusive``); readers see the restored content; the replaced database is kept
and valid; what went out on WhatsApp since the backup is never sent again; staff bookings
queued behind a restore land on the restored data or fail cleanly, never corrupt it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlite_utils

from clinicbot.db import MIGRATIONS, Database, connect, migrate
from clinicbot.db.database import transaction
from clinicbot.demo import load_demo
from clinicbot.services import backups, restore
from clinicbot.sessions import Session, Sessions
from clinicbot.store import outbox
from clinicbot.store.app_state import set_value
from clinicbot.store.outbox import parse_callback
from tests.conftest import RunningServer, start_server
from tests.fakes import FakeWhatsApp
from tests.whatsapp_flow import settled

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


# --- the writer's exclusive step ------------------------------------------------------------


def _add_clinic(conn: sqlite3.Connection, clinic_id: str) -> int:
    conn.execute(
        "INSERT INTO clinics (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
        [clinic_id, clinic_id, NOW.isoformat(), NOW.isoformat()],
    )
    return int(conn.execute("SELECT count(*) FROM clinics").fetchone()[0])


def _clinic_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM clinics").fetchone()[0])


def test_exclusive_runs_outside_a_transaction_between_the_writes_around_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "clinicbot.db"
    conn = connect(path)
    migrate(conn)
    conn.close()
    seen: list[tuple[bool, int]] = []

    def alone(conn: sqlite3.Connection) -> str:
        seen.append((conn.in_transaction, _clinic_count(conn)))
        with transaction(conn):  # a transaction of its own, as a restore's backup step takes
            _add_clinic(conn, "made-alone")
        return "done"

    def fails(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        _add_clinic(conn, "rolled-back")
        raise RuntimeError("fn failed inside its own transaction")

    async def run() -> tuple[list[object], int]:
        db = Database(path)
        changes = Counter[str]()
        db.add_commit_listener(lambda: changes.update(["commit"]))
        try:
            before = [db.submit(_add_clinic, f"before-{n}") for n in range(5)]
            results = await asyncio.gather(
                *map(asyncio.wrap_future, before),
                db.exclusive(alone),
                db.write(_add_clinic, "after"),
                db.exclusive(fails),
                db.write(_add_clinic, "after-failure"),
                return_exceptions=True,
            )
            names = await db.read(lambda c: [r[0] for r in c.execute("SELECT id FROM clinics")])
            assert "rolled-back" not in names and "made-alone" in names
            return list(results), changes["commit"]
        finally:
            db.close()

    results, commits = asyncio.run(run())
    assert results[:5] == [1, 2, 3, 4, 5]
    assert seen == [(False, 5)]  # the writes queued before it were committed first
    assert results[5] == "done" and results[6] == 7  # the write after it saw its work
    assert isinstance(results[7], RuntimeError) and results[8] == 8
    assert commits >= 1


# --- carrying over what happened outside since the backup ------------------------------------


def _queue(conn: sqlite3.Connection, key: str, clinic: str, patient: str, phone: str) -> int:
    row = outbox.enqueue(
        conn,
        key=key,
        clinic_id=clinic,
        patient_id=patient,
        recipient=phone.lstrip("+"),
        kind="text",
        payload={"type": "text", "text": {"body": key}},
        preview=key,
        author="bot",
        now=NOW,
    )
    assert row is not None
    return row


def _patient(conn: sqlite3.Connection, clinic: str, phone: str) -> str:
    pid = f"p-{phone}"
    conn.execute(
        "INSERT INTO patients (id, clinic_id, name, phone, created_at, updated_at)"
        " VALUES (?, ?, 'Later Patient', ?, ?, ?)",
        [pid, clinic, phone, NOW.isoformat(), NOW.isoformat()],
    )
    return pid


def _demo_database(path: Path) -> tuple[str, str, str]:
    """The demo clinic; returns its id, one of its patients and an appointment of theirs."""
    conn = connect(path)
    migrate(conn)
    with transaction(conn):
        clinic = load_demo(conn, NOW, phone_number_id=None)
    patient, visit = conn.execute(
        "SELECT patient_id, id FROM appointments WHERE clinic_id = ? AND status = 'confirmed'"
        " AND patient_id IS NOT NULL ORDER BY start_ts LIMIT 1",
        [clinic],
    ).fetchone()
    conn.close()
    return clinic, str(patient), str(visit)


def test_a_live_restore_keeps_what_was_sent_since_and_the_replaced_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "clinicbot.db"
    clinic, patient, visit = _demo_database(path)
    conn = connect(path)
    with transaction(conn):
        waiting = _queue(conn, "reply:waiting", clinic, patient, "+919800000001")
        _queue(conn, "reply:erased", clinic, patient, "+919800000001")
        conn.execute(
            "INSERT INTO inbound_messages (wa_message_id, clinic_id, sender, type, wa_timestamp,"
            " body, received_at) VALUES ('wamid.unanswered', ?, '919800000001', 'text', 1,"
            " '{}', ?)",
            [clinic, NOW.isoformat()],
        )
    backup = backups.make_backup(path, tmp_path / "backups", NOW)
    conn.close()
    before = restore.preview(path, backup.path)
    assert before.new_patients == before.new_appointments == before.erased_since == 0

    async def after_the_backup(db: Database) -> None:
        def happen(conn: sqlite3.Connection) -> None:
            later = _patient(conn, clinic, "+919800000002")
            outbox.record_sent(conn, waiting, "wamid.out.1", NOW)  # went out after the backup
            sent_later = _queue(conn, "reply:later", clinic, later, "+919800000002")
            outbox.record_sent(conn, sent_later, "wamid.out.2", NOW)
            reminder = _queue(conn, f"reminder:{visit}:x:120", clinic, patient, "+919800000001")
            outbox.record_sent(conn, reminder, "wamid.out.3", NOW)
            start_ts = conn.execute(
                "SELECT start_ts FROM appointments WHERE id = ?", [visit]
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO reminders (appointment_id, start_ts, minutes_before, outbox_id,"
                " outcome, created_at) VALUES (?, ?, 120, ?, 'queued', ?)",
                [visit, start_ts, reminder, NOW.isoformat()],
            )
            _queue(conn, "reply:still-waiting", clinic, later, "+919800000002")  # the last id
            conn.execute(
                "UPDATE inbound_messages SET processed_at = ?, outcome = 'answered'"
                " WHERE wa_message_id = 'wamid.unanswered'",
                [NOW.isoformat()],
            )
            set_value(conn, "relay_cursor", "cursor-after-backup", NOW)
            # An erasure removes a patient's messages, a waiting one too (it may have gone out
            # first: the replaced data cannot tell).
            conn.execute("DELETE FROM outbox WHERE key = 'reply:erased'")
            conn.execute(
                "INSERT INTO erasures (clinic_id, erased_at, appointments_kept,"
                " appointments_cancelled, messages_removed) VALUES (?, ?, 0, 0, 1)",
                [clinic, NOW.isoformat()],
            )

        await db.write(happen)

    async def run() -> tuple[restore.Restored, dict[str, Any]]:
        db = Database(path)
        try:
            await after_the_backup(db)
            preview = restore.preview(path, backup.path)
            assert preview.new_patients == 1 and preview.erased_since == 1
            restored = await restore.restore_live(db, backup.path, NOW + timedelta(hours=1))
            seen = await db.read(_snapshot, visit)  # a reader of the pool, after the swap
            return restored, seen
        finally:
            db.close()

    restored, seen = asyncio.run(run())
    assert restored.kept_sent == 3  # the one that waited, and the two written since
    assert restored.held == 1 and seen["status_erased"] == "failed"
    assert seen["patients"] == 0  # the patient added after the backup is gone
    assert seen["status"] == {
        "reply:waiting": "sent",
        "reply:later": "sent",
        f"reminder:{visit}:x:120": "sent",
    }  # "reply:still-waiting" was never sent: it belonged to the data replaced
    assert seen["later_patient"] is None  # a patient the backup does not know: no link
    assert seen["reminder"] == 1 and seen["processed"] is not None
    assert seen["cursor"] == "cursor-after-backup"
    # Outbox ids are not used again: the next one follows the replaced database's last.
    assert seen["next_id"] > seen["max_id"]
    assert restored.kept is not None and restored.kept.name.startswith("before-restore-")
    backups.check(restored.kept)
    kept = sqlite3.connect(restored.kept)
    assert kept.execute("SELECT count(*) FROM patients WHERE phone = '+919800000002'").fetchone()
    assert kept.execute("SELECT max(id) FROM outbox").fetchone()[0] == seen["next_id"]
    kept.close()
    backups.check(path)
    assert not list((tmp_path / "backups").glob(".*.part"))


def _snapshot(conn: sqlite3.Connection, visit: str) -> dict[str, Any]:
    status = dict(
        conn.execute(
            "SELECT key, status FROM outbox WHERE key IN ('reply:waiting', 'reply:later',"
            " 'reply:still-waiting') OR key LIKE 'reminder:%:x:120'"
        ).fetchall()
    )
    return {
        "patients": conn.execute(
            "SELECT count(*) FROM patients WHERE phone = '+919800000002'"
        ).fetchone()[0],
        "status": status,
        "status_erased": conn.execute(
            "SELECT status FROM outbox WHERE key = 'reply:erased'"
        ).fetchone()[0],
        "later_patient": conn.execute(
            "SELECT patient_id FROM outbox WHERE key = 'reply:later'"
        ).fetchone()[0],
        "reminder": conn.execute(
            "SELECT count(*) FROM reminders WHERE appointment_id = ? AND minutes_before = 120",
            [visit],
        ).fetchone()[0],
        "processed": conn.execute(
            "SELECT processed_at FROM inbound_messages WHERE wa_message_id = 'wamid.unanswered'"
        ).fetchone()[0],
        "cursor": conn.execute("SELECT value FROM app_state WHERE key = 'relay_cursor'").fetchone()[
            0
        ],
        "next_id": conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()[
            0
        ],
        "max_id": conn.execute("SELECT max(id) FROM outbox").fetchone()[0],
    }


def test_an_older_schema_is_migrated_forward_on_restore(tmp_path: Path) -> None:
    path = tmp_path / "clinicbot.db"
    _demo_database(path)
    old = tmp_path / "clinicbot-20260101-000000.db"
    conn = sqlite3.connect(old, isolation_level=None)
    MIGRATIONS.apply(sqlite_utils.Database(conn), stop_before="002_whatsapp_inbox")
    conn.execute(
        "INSERT INTO clinics (id, name, created_at, updated_at) VALUES ('old', 'Old', ?, ?)",
        [NOW.isoformat(), NOW.isoformat()],
    )
    conn.close()

    async def run() -> list[str]:
        db = Database(path)
        try:
            await restore.restore_live(db, old, NOW)
            return await db.read(lambda c: [r[0] for r in c.execute("SELECT id FROM clinics")])
        finally:
            db.close()

    assert asyncio.run(run()) == ["old"]
    conn = connect(path)
    assert migrate(conn) == []  # nothing left to apply: it was migrated forward
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    conn.close()
    backups.check(path)


# --- over HTTP: staff booking while a restore runs ---------------------------------------------


def _free_slots(api: httpx.Client, clinic: str, wanted: int) -> list[dict[str, str]]:
    doctors = api.get("/api/v1/doctors", params={"clinic_id": clinic}).json()
    services = api.get("/api/v1/services", params={"clinic_id": clinic}).json()
    found: list[dict[str, str]] = []
    day = date.today() + timedelta(days=2)
    while len(found) < wanted:
        for doctor in doctors:
            service = next(s for s in services if s["active"])
            slots = api.get(
                f"/api/v1/doctors/{doctor['id']}/slots",
                params={"date": day.isoformat(), "service_id": service["id"], "staff": "true"},
            )
            if slots.status_code == 200:
                found += [
                    {
                        "doctor_id": doctor["id"],
                        "service_id": service["id"],
                        "starts_at": s["start"],
                    }
                    for s in slots.json()
                ]
        day += timedelta(days=1)
    return found[:wanted]


def _recount_problems(conn: sqlite3.Connection) -> list[Any]:
    """Patients whose counters differ from their appointments, and per-status counts that
    differ from the appointments table."""
    patients = conn.execute(
        "SELECT p.id FROM patients p WHERE p.total_visits != (SELECT count(*) FROM appointments a"
        " WHERE a.patient_id = p.id AND a.status = 'completed') OR p.total_cancellations !="
        " (SELECT count(*) FROM appointments a WHERE a.patient_id = p.id"
        " AND a.status = 'cancelled') OR p.total_no_shows != (SELECT count(*) FROM appointments"
        " a WHERE a.patient_id = p.id AND a.status = 'no_show')"
    ).fetchall()
    counts = conn.execute(
        "SELECT c.clinic_id, c.status, c.n FROM appointment_counts c WHERE c.n != (SELECT"
        " count(*) FROM appointments a WHERE a.clinic_id = c.clinic_id AND"
        " iif(a.simulated, 'simulated:', '') || a.status = c.status)"
    ).fetchall()
    return [*map(tuple, patients), *map(tuple, counts)]


def test_bookings_during_a_restore_land_on_the_restored_data_or_fail_cleanly(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path, "--demo", env={"CLINICBOT_BACKUP_DELAY": "3600"})
    try:
        with server.client() as api:
            clinic = api.get("/api/v1/clinics").json()[0]["id"]
            slots = _free_slots(api, clinic, 48)
            made = api.post("/api/v1/backups").json()["name"]
            outcomes = _book_around_a_restore(server, clinic, slots, made)
            restored = outcomes.pop("restore")
            assert restored["name"] == made
            codes = Counter(code for code, _, _ in outcomes["bookings"])
            assert set(codes) <= {201, 409, 503}, codes
            with sqlite3.connect(f"file:{tmp_path / 'clinicbot.db'}?mode=ro", uri=True) as now:
                live = {r[0] for r in now.execute("SELECT id FROM appointments")}
            kept = sqlite3.connect(tmp_path / "backups" / restored["kept"])
            in_kept = {r[0] for r in kept.execute("SELECT id FROM appointments")}
            assert kept.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            kept.close()
            for code, booking, after in outcomes["bookings"]:
                if code == 201:
                    assert booking in live or booking in in_kept
                    if after:  # asked after the restore answered: on the restored data
                        assert booking in live
            assert any(after and code == 201 for code, _, after in outcomes["bookings"])
            with sqlite3.connect(f"file:{tmp_path / 'clinicbot.db'}?mode=ro", uri=True) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
                assert _recount_problems(conn) == []
            bad = api.post("/api/v1/backups/restore", json={"name": "../clinicbot.db"})
            assert bad.status_code == 400, bad.text
            missing = api.post(
                "/api/v1/backups/restore", json={"name": "clinicbot-20000101-000000.db"}
            )
            assert missing.status_code == 404, missing.text
            assert api.post("/api/v1/backups/restore", json={}).status_code == 400
            damaged = tmp_path / "backups" / "clinicbot-20200101-000000.db"
            damaged.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
            for answer in (
                api.post("/api/v1/backups/restore", json={"name": damaged.name}),
                api.get("/api/v1/backups/preview", params={"name": damaged.name}),
            ):
                assert answer.status_code == 400, answer.text
                assert damaged.name in answer.json()["detail"]
            assert api.post("/api/v1/backups/restore", content=b"[").status_code == 400
            preview = api.get("/api/v1/backups/preview", params={"name": "x/../../etc"})
            assert preview.status_code == 400
            # Undo: the database the restore replaced is restored the same way.
            undo = api.post("/api/v1/backups/restore", json={"name": restored["kept"]})
            assert undo.status_code == 201, undo.text
            with sqlite3.connect(f"file:{tmp_path / 'clinicbot.db'}?mode=ro", uri=True) as now:
                back = {r[0] for r in now.execute("SELECT id FROM appointments")}
            assert back == in_kept
    finally:
        assert server.stop() == 0
    with sqlite3.connect(tmp_path / "clinicbot.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def _book_around_a_restore(
    server: RunningServer, clinic: str, slots: list[dict[str, str]], backup: str
) -> dict[str, Any]:
    """Four staff PCs booking one slot after another; once the first few are booked, a
    restore (the rest of the first halves race it; the second halves wait for its answer);
    each booking's answer, and whether it was asked after the restore answered."""
    booked_some = threading.Event()
    restored = threading.Event()
    results: list[tuple[int, str | None, bool]] = []
    lock = threading.Lock()

    def desk(mine: list[dict[str, str]], n: int) -> None:
        with server.client() as api:
            for i, slot in enumerate(mine):
                if i == len(mine) // 2:  # the second half once the restore has answered
                    assert restored.wait(60)
                after = restored.is_set()
                answer = api.post(
                    "/api/v1/appointments",
                    json={
                        "clinic_id": clinic,
                        **slot,
                        "patient_name": f"Desk {n} Patient {i}",
                        "patient_phone": f"+9198{n:02d}{i:06d}",
                    },
                )
                with lock:
                    booked = answer.json().get("id") if answer.status_code == 201 else None
                    results.append((answer.status_code, booked, after))
                    if len(results) >= 6:
                        booked_some.set()

    desks = [threading.Thread(target=desk, args=(slots[n::4], n)) for n in range(4)]
    for d in desks:
        d.start()
    assert booked_some.wait(60)
    with server.client() as api:
        preview = api.get("/api/v1/backups/preview", params={"name": backup})
        assert preview.status_code == 200 and preview.json()["new_appointments"] >= 1
        answer = api.post("/api/v1/backups/restore", json={"name": backup})
    restored.set()
    for d in desks:
        d.join()
    assert answer.status_code == 201, answer.text
    return {"restore": answer.json(), "bookings": results}


# --- WhatsApp: nothing sent twice -------------------------------------------------------------


def _pending(db: sqlite3.Connection) -> int:
    return int(
        db.execute(
            "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending') AND simulated = 0"
        ).fetchone()[0]
    )


def _replies(db: sqlite3.Connection, wamid: str) -> list[sqlite3.Row] | None:
    rows = db.execute(
        "SELECT key, status FROM outbox WHERE in_reply_to = ? OR key = ?",
        [wamid, f"read:{wamid}"],
    ).fetchall()
    return rows or None


def test_a_restore_never_sends_again_what_went_out_since_the_backup(tmp_path: Path) -> None:
    with FakeWhatsApp() as fake:
        env = {**fake.env(), "CLINICBOT_BACKUP_DELAY": "3600", "CLINICBOT_SENDER_MAX_BACKOFF": "1"}
        server = start_server(tmp_path, "--demo", env=env)
        fake.webhook_url = server.webhook_url
        db = sqlite3.connect(f"file:{tmp_path / 'clinicbot.db'}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        try:
            with server.client() as api:
                # Meta is unreachable: the answer to the first patient waits in the outbox...
                fake.outage("refuse")
                waiting = fake.patient_says("917012340001", "Hi", name="Asha Waiting")
                settled(lambda: _replies(db, waiting.wamid), "the answer to be queued")
                # ...when the backup is taken; then it goes out.
                backup = api.post("/api/v1/backups").json()["name"]
                fake.end_outage()
                settled(lambda: _pending(db) == 0 or None, "the queue to drain")
                # A second patient writes after the backup, and is answered.
                later = fake.patient_says("917012340002", "Hi", name="Ravi Later")
                settled(lambda: fake.messages_to("917012340002") or None, "the later answer")
                settled(lambda: _pending(db) == 0 or None, "the queue to drain")
                sent_before = Counter(fake.callback_counts())
                assert len(fake.messages_to("917012340001")) == 1

                done = api.post("/api/v1/backups/restore", json={"name": backup})
                assert done.status_code == 201, done.text
                assert done.json()["kept_sent"] >= 2
                # A third patient after the restore: the sender has worked through its queue
                # (the restored one included) once they are answered and nothing waits.
                third = fake.patient_says("917012340003", "Hi", name="Meena After")
                settled(lambda: fake.messages_to("917012340003") or None, "the third answer")
                settled(lambda: _pending(db) == 0 or None, "the queue to drain")

                assert len(fake.messages_to("917012340001")) == 1
                assert len(fake.messages_to("917012340002")) == 1
                counts = fake.callback_counts()
                rows = Counter(parse_callback(c)[0] for c in counts if parse_callback(c))  # type: ignore[index]
                assert all(n == 1 for n in rows.values()), rows
                assert sum(counts.values()) == sum(sent_before.values()) + 1
                gone = db.execute(
                    "SELECT count(*) FROM inbound_messages WHERE wa_message_id = ?", [later.wamid]
                ).fetchone()[0]
                assert gone == 0  # the later patient's message belonged to the data replaced
                assert db.execute(
                    "SELECT processed_at FROM inbound_messages WHERE wa_message_id = ?",
                    [third.wamid],
                ).fetchone()[0]
                status = api.get("/api/v1/status").json()
                assert status["backlog"] == 0
        finally:
            db.close()
            assert server.stop() == 0


def test_the_stopped_restore_shares_the_carry_over_and_forgets_conversations(
    tmp_path: Path,
) -> None:
    path = tmp_path / "clinicbot.db"
    clinic, patient, _ = _demo_database(path)
    conn = connect(path)
    with transaction(conn):
        waiting = _queue(conn, "reply:waiting", clinic, patient, "+919800000001")
    backup = backups.make_backup(path, tmp_path / "backups", NOW)
    with transaction(conn):
        outbox.record_sent(conn, waiting, "wamid.out.1", NOW)
    conn.close()
    sessions = Sessions(tmp_path / "sessions")
    sessions.put(f"{clinic}:919800000001", Session(patient, clinic, b"{}"))
    sessions.close()

    kept = restore.restore(path, backup.path, NOW + timedelta(minutes=5))  # clinicbot restore

    backups.check(kept)
    conn = connect(path)
    status = conn.execute("SELECT status FROM outbox WHERE key = 'reply:waiting'").fetchone()[0]
    conn.close()
    assert status == "sent"
    sessions = Sessions(tmp_path / "sessions")
    assert sessions.get(f"{clinic}:919800000001") is None
    sessions.close()
