"""The demo clinic: a whole believable clinic, loaded fast and the same way every time, that
keeps every invariant the core promises (no overlaps, hours, counters, audit trail)."""

from __future__ import annotations

import re
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicbot.config import load_settings
from clinicbot.db import connect, migrate
from clinicbot.db.database import transaction
from clinicbot.demo import load_demo
from clinicbot.phones import normalize_phone
from clinicbot.scheduling import months_before
from clinicbot.server import prepare_database
from clinicbot.services.conversations import read_thread
from clinicbot.services.patients import clinic_stats
from clinicbot.services.reminders import queue_due_reminders
from clinicbot.store.conversations import list_recent
from clinicbot.store.outbox import list_failed
from clinicbot.store.patients import list_patients, recount
from clinicbot.store.rows import stamp

IST = ZoneInfo("Asia/Kolkata")
SUNDAY_MORNING = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)  # 10:00 IST: a short Sunday clinic
MONDAY_MORNING = datetime(2026, 3, 2, 4, 10, tzinfo=UTC)  # 09:40 IST: the Monday rush begins
LATE_EVENING = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)  # 22:30 IST: every clinic is over
FINAL = ("completed", "cancelled", "no_show")


def load(conn: sqlite3.Connection, now: datetime) -> str:
    with transaction(conn):
        return load_demo(conn, now, phone_number_id="demo-number-id")


@contextmanager
def fresh_db() -> Iterator[sqlite3.Connection]:
    """A migrated database file of its own, for tests that need more than one."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = connect(Path(tmp) / "clinicbot.db")
        migrate(conn)
        try:
            yield conn
        finally:
            conn.close()


def scalar(conn: sqlite3.Connection, sql: str, *args: object) -> Any:
    return conn.execute(sql, args).fetchone()[0]


def test_a_whole_clinic_loads_in_well_under_two_seconds(conn: sqlite3.Connection) -> None:
    started = time.perf_counter()
    clinic_id = load(conn, MONDAY_MORNING)
    assert time.perf_counter() - started < 2
    clinic = conn.execute("SELECT * FROM clinics").fetchone()
    assert (clinic["id"], clinic["country"], clinic["timezone"]) == (clinic_id, "IN", IST.key)
    assert clinic["whatsapp_phone_number_id"] == "demo-number-id"
    assert clinic["phone"].startswith("+91")
    assert scalar(conn, "SELECT count(*) FROM doctors WHERE clinic_id = ?", clinic_id) == 3
    assert scalar(conn, "SELECT count(*) FROM services WHERE clinic_id = ?", clinic_id) == 5
    assert scalar(conn, "SELECT count(*) FROM patients WHERE clinic_id = ?", clinic_id) == 200
    today = MONDAY_MORNING.astimezone(IST).date()
    first, last = conn.execute("SELECT min(date), max(date) FROM appointments").fetchone()
    assert first <= months_before(today, 6).isoformat()
    assert last >= (today + timedelta(days=7)).isoformat()


def test_setup_has_breaks_different_hours_and_real_services(conn: sqlite3.Connection) -> None:
    load(conn, MONDAY_MORNING)
    weeks = defaultdict(set)
    for row in conn.execute("SELECT doctor_id, weekday, start_time, end_time FROM working_hours"):
        weeks[row[0]].add((row[1], row[2], row[3]))
    assert len({frozenset(week) for week in weeks.values()}) == 3
    for week in weeks.values():
        monday = sorted((s, e) for wd, s, e in week if wd == 0)
        assert len(monday) >= 2 and monday[0][1] < monday[1][0]  # a break between intervals
        assert len({wd for wd, _, _ in week if wd != 6}) in (3, 6)
    durations = [r[0] for r in conn.execute("SELECT duration_minutes FROM services")]
    assert all(10 <= minutes <= 30 for minutes in durations)
    offered = [
        r[0] for r in conn.execute("SELECT count(*) FROM service_doctors GROUP BY service_id")
    ]
    assert min(offered) < 3 and max(offered) >= 2  # some services only some doctors offer


def test_time_off_has_a_coming_holiday_and_a_leave(conn: sqlite3.Connection) -> None:
    load(conn, MONDAY_MORNING)
    now_ts = int(MONDAY_MORNING.timestamp())
    holidays = conn.execute(
        "SELECT starts_at, ends_at FROM time_off WHERE doctor_id IS NULL AND start_ts > ?",
        [now_ts],
    ).fetchall()
    assert holidays
    start, end = (datetime.fromisoformat(t) for t in holidays[0])
    assert (start.time().isoformat(), end - start) == ("00:00:00", timedelta(days=1))
    assert start.date() <= MONDAY_MORNING.astimezone(IST).date() + timedelta(days=21)
    leave = conn.execute(
        "SELECT start_ts, end_ts FROM time_off WHERE doctor_id IS NOT NULL AND end_ts > ?",
        [now_ts],
    ).fetchone()
    assert leave is not None and leave[1] - leave[0] >= 2 * 86400


def fingerprint(conn: sqlite3.Connection) -> set[tuple[str, ...]]:
    return {
        tuple(row)
        for row in conn.execute(
            "SELECT p.id, p.name, p.phone, a.id, a.starts_at, a.status, a.source, d.name"
            " FROM appointments a JOIN patients p ON p.id = a.patient_id"
            " JOIN doctors d ON d.id = a.doctor_id"
        )
    }


def test_the_same_now_gives_the_same_clinic() -> None:
    with fresh_db() as one, fresh_db() as two:
        load(one, LATE_EVENING)
        load(two, LATE_EVENING)
        assert fingerprint(one) == fingerprint(two)
        people = "SELECT name, phone, whatsapp_name, created_at FROM patients ORDER BY id"
        assert [tuple(r) for r in one.execute(people)] == [tuple(r) for r in two.execute(people)]


def check_no_overlaps(conn: sqlite3.Connection) -> None:
    held = conn.execute(
        "SELECT doctor_id, start_ts, end_ts FROM appointments WHERE status != 'cancelled'"
        " ORDER BY doctor_id, start_ts"
    ).fetchall()
    for before, after in pairwise(held):
        assert before[0] != after[0] or before[2] <= after[1], (before, after)


def check_hours_and_time_off(conn: sqlite3.Connection) -> None:
    hours = defaultdict(list)
    for doctor_id, weekday, start, end in conn.execute(
        "SELECT doctor_id, weekday, start_time, end_time FROM working_hours"
    ):
        hours[doctor_id, weekday].append((start, end))
    off = conn.execute("SELECT doctor_id, start_ts, end_ts FROM time_off").fetchall()
    for row in conn.execute("SELECT * FROM appointments"):
        start, end = (datetime.fromisoformat(row[k]) for k in ("starts_at", "ends_at"))
        assert start.utcoffset() == timedelta(hours=5, minutes=30)
        assert (row["date"], row["start_ts"]) == (start.date().isoformat(), start.timestamp())
        assert row["end_ts"] == end.timestamp() and start.date() == end.date()
        clock = (start.strftime("%H:%M"), end.strftime("%H:%M"))
        intervals = hours[row["doctor_id"], start.weekday()]
        assert any(s <= clock[0] and clock[1] <= e for s, e in intervals), (clock, intervals)
        for doctor_id, off_start, off_end in off:
            if doctor_id in (None, row["doctor_id"]):
                assert row["end_ts"] <= off_start or off_end <= row["start_ts"]


def check_counters(conn: sqlite3.Connection) -> None:
    columns = "total_visits, total_cancellations, total_no_shows, first_visit_date, last_visit_date"
    for row in conn.execute(f"SELECT id, {columns} FROM patients"):  # noqa: S608
        assert dict(row) == {"id": row["id"], **recount(conn, row["id"])}
    kept = dict(conn.execute("SELECT status, n FROM appointment_counts").fetchall())
    counted = dict(conn.execute("SELECT status, count(*) FROM appointments GROUP BY 1").fetchall())
    assert {k: v for k, v in kept.items() if v} == counted


def check_phones(conn: sqlite3.Connection) -> None:
    for name, phone, whatsapp_name in conn.execute(
        "SELECT name, phone, whatsapp_name FROM patients"
    ):
        assert re.fullmatch(r"\+91[6-9]\d{9}", phone)
        assert normalize_phone(phone[3:], "IN") == phone
        assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", name)
        assert whatsapp_name is None or whatsapp_name.strip()
    mismatched = scalar(
        conn,
        "SELECT count(*) FROM appointments a JOIN patients p ON p.id = a.patient_id"
        " WHERE a.patient_phone != p.phone OR a.patient_name != p.name",
    )
    assert mismatched == 0


def check_statuses(conn: sqlite3.Connection, now: datetime) -> None:
    now_ts = int(now.timestamp())
    for status, start_ts, end_ts in conn.execute(
        "SELECT status, start_ts, end_ts FROM appointments"
    ):
        if start_ts > now_ts:
            assert status in ("confirmed", "cancelled")
        elif end_ts <= now_ts:
            assert status in FINAL
        else:
            assert status != "confirmed"


def check_audit_trail(conn: sqlite3.Connection, now: datetime) -> None:
    trails = defaultdict(list)
    for event in conn.execute("SELECT * FROM appointment_events ORDER BY id"):
        trails[event["appointment_id"]].append(event)
    for row in conn.execute("SELECT id, status, created_at, updated_at FROM appointments"):
        trail = trails[row["id"]]
        assert [e["kind"] for e in trail] == ["created"] + ["status"] * (len(trail) - 1)
        assert (trail[0]["at"], trail[0]["to_status"]) == (row["created_at"], "confirmed")
        assert (trail[-1]["at"], trail[-1]["to_status"]) == (row["updated_at"], row["status"])
        for before, after in pairwise(trail):
            assert before["at"] <= after["at"] and after["from_status"] == before["to_status"]
        assert trail[-1]["at"] <= stamp(now)
    first_booking = dict(
        conn.execute("SELECT patient_id, min(created_at) FROM appointments GROUP BY 1").fetchall()
    )
    for patient_id, created_at in conn.execute("SELECT id, created_at FROM patients"):
        assert created_at <= first_booking.get(patient_id, stamp(now))


def check_invariants(conn: sqlite3.Connection, now: datetime) -> None:
    check_no_overlaps(conn)
    check_hours_and_time_off(conn)
    check_counters(conn)
    check_phones(conn)
    check_statuses(conn, now)
    check_audit_trail(conn, now)
    assert scalar(conn, "PRAGMA integrity_check") == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_invariants_on_a_sunday_morning(conn: sqlite3.Connection) -> None:
    load(conn, SUNDAY_MORNING)
    check_invariants(conn, SUNDAY_MORNING)


def test_invariants_on_a_monday_morning(conn: sqlite3.Connection) -> None:
    load(conn, MONDAY_MORNING)
    check_invariants(conn, MONDAY_MORNING)


def test_invariants_late_in_the_evening(conn: sqlite3.Connection) -> None:
    load(conn, LATE_EVENING)
    check_invariants(conn, LATE_EVENING)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2031, 12, 31)).map(
        lambda d: d.replace(tzinfo=UTC)
    )
)
def test_invariants_at_any_moment(now: datetime) -> None:
    with fresh_db() as conn:
        load(conn, now)
        check_invariants(conn, now)
        assert clinic_stats(conn, scalar(conn, "SELECT id FROM clinics"), now).total_patients == 200


def test_analytics_have_something_to_show(conn: sqlite3.Connection) -> None:
    clinic_id = load(conn, MONDAY_MORNING)
    stats = clinic_stats(conn, clinic_id, MONDAY_MORNING)
    assert stats.no_show_rate is not None and 0.05 <= stats.no_show_rate <= 0.15
    assert stats.active_patients > 100 and stats.total_patients == 200
    assert stats.total_appointments == scalar(conn, "SELECT count(*) FROM appointments")
    past = dict(
        conn.execute(
            "SELECT status, count(*) FROM appointments WHERE end_ts <= ? GROUP BY 1",
            [int(MONDAY_MORNING.timestamp())],
        ).fetchall()
    )
    total = sum(past.values())
    assert 0.7 <= past["completed"] / total <= 0.88
    assert 0.06 <= past["cancelled"] / total <= 0.15
    sources = dict(conn.execute("SELECT source, count(*) FROM appointments GROUP BY 1").fetchall())
    assert sources["whatsapp"] > sources["staff"] + sources["walk-in"]
    frequent_no_shows = scalar(conn, "SELECT count(*) FROM patients WHERE total_no_shows >= 4")
    assert frequent_no_shows >= 3
    by_month = conn.execute(
        "SELECT substr(created_at, 1, 7), count(*) FROM patients GROUP BY 1"
    ).fetchall()
    assert len(by_month) >= 6  # patients keep arriving, month after month


def test_load_varies_by_weekday_and_hour(conn: sqlite3.Connection) -> None:
    load(conn, LATE_EVENING)
    by_weekday: dict[int, int] = defaultdict(int)
    by_hour: dict[int, int] = defaultdict(int)
    for (starts_at,) in conn.execute("SELECT starts_at FROM appointments"):
        start = datetime.fromisoformat(starts_at)
        by_weekday[start.weekday()] += 1
        by_hour[start.hour] += 1
    assert by_weekday[0] == max(by_weekday.values())  # Monday is the busiest day
    assert by_hour[10] > by_hour[14] and by_hour[18] > by_hour[15]  # quiet afternoons


def test_today_and_the_coming_fortnight(conn: sqlite3.Connection) -> None:
    load(conn, MONDAY_MORNING)
    today = MONDAY_MORNING.astimezone(IST).date()
    rows = conn.execute(
        "SELECT doctor_id, status, start_ts FROM appointments WHERE date = ?", [today.isoformat()]
    ).fetchall()
    assert len({r["doctor_id"] for r in rows}) == 3  # all three work on Mondays
    assert any(r["status"] == "confirmed" for r in rows)
    upcoming = conn.execute(
        "SELECT DISTINCT date FROM appointments WHERE status = 'confirmed' AND date > ?",
        [today.isoformat()],
    ).fetchall()
    days = {date.fromisoformat(r[0]) for r in upcoming}
    assert len(days) >= 8 and max(days) >= today + timedelta(days=10)


def test_patients_are_searchable(conn: sqlite3.Connection) -> None:
    clinic_id = load(conn, MONDAY_MORNING)
    name, phone = conn.execute("SELECT name, phone FROM patients ORDER BY id LIMIT 1").fetchone()
    assert name in [p.name for p in list_patients(conn, clinic_id, q=name.split()[1])]
    assert [p.phone for p in list_patients(conn, clinic_id, q=phone[-6:])] == [phone]


def test_serve_demo_fills_only_an_empty_database(tmp_path: Path) -> None:
    env = {"CLINICBOT_WHATSAPP_PHONE_NUMBER_ID": "1029384756", "CLINICBOT_STAFF_TOKEN": "t" * 32}
    config = load_settings(env, data_dir=tmp_path)
    prepare_database(config.db_path, demo=True, settings=config)
    prepare_database(config.db_path, demo=True, settings=config)
    conn = connect(config.db_path)
    try:
        assert scalar(conn, "SELECT count(*) FROM clinics") == 1
        assert scalar(conn, "SELECT whatsapp_phone_number_id FROM clinics") == "1029384756"
        assert scalar(conn, "SELECT count(*) FROM patients") == 200
    finally:
        conn.close()


def test_the_inbox_has_conversations_in_three_languages_and_nothing_left_to_send(
    conn: sqlite3.Connection,
) -> None:
    clinic_id = load(conn, MONDAY_MORNING)
    chats = list_recent(conn, clinic_id, paused_only=False, limit=50, offset=0)
    assert 6 <= len(chats) <= 10 and not any(c.simulated for c in chats)
    assert {c.language for c in chats} == {"en", "hi"}
    waiting = [c for c in chats if c.bot_paused]
    assert len(waiting) == 1 and waiting[0].unread >= 2
    thread = read_thread(conn, waiting[0].patient_id, 100, MONDAY_MORNING)
    assert thread.window_open and thread.messages[-1].outcome == "paused"
    texts = [
        m.text for c in chats for m in read_thread(conn, c.patient_id, 100, MONDAY_MORNING).messages
    ]
    assert any(re.search(r"\b(hai|karna|kya)\b", t) for t in texts)  # Hinglish
    assert any(re.search("[\u0900-\u097f]", t) for t in texts)  # Devanagari
    failed = list_failed(conn, clinic_id, 10, 0)
    assert len(failed) == 1 and failed[0].error_code == 131026 and failed[0].error_reason
    statuses = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY 1").fetchall())
    assert set(statuses) <= {"delivered", "read", "failed"}, statuses
    assert scalar(conn, "SELECT count(*) FROM inbound_messages WHERE processed_at IS NULL") == 0
    assert scalar(conn, "SELECT count(*) FROM inbound_messages WHERE patient_id IS NULL") == 0


def test_every_booking_a_chat_confirms_is_in_the_diary(conn: sqlite3.Connection) -> None:
    load(conn, MONDAY_MORNING)
    confirmed = conn.execute(
        "SELECT o.patient_id, o.preview, o.created_at FROM outbox o WHERE o.preview LIKE '✅%'"
    ).fetchall()
    assert len(confirmed) >= 2
    for patient_id, preview, at in confirmed:
        made = scalar(
            conn,
            "SELECT count(*) FROM appointments WHERE patient_id = ? AND source = 'whatsapp'"
            " AND created_at <= ? AND created_at >= datetime(?, '-1 minute')",
            patient_id,
            at,
            at,
        )
        assert made >= 1, preview


def test_the_demo_patients_get_no_reminder_by_themselves(conn: sqlite3.Connection) -> None:
    """Demo numbers are made up: nothing may ever be queued for them without staff."""
    load(conn, MONDAY_MORNING)
    for hours in range(0, 16 * 24, 2):
        assert queue_due_reminders(conn, MONDAY_MORNING + timedelta(hours=hours)) == 0
    assert scalar(conn, "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')") == 0


def test_the_same_now_gives_the_same_conversations() -> None:
    threads = "SELECT recipient, kind, preview, status, created_at FROM outbox ORDER BY id"
    inbound = (  # the bodies name doctors and services by id, which each load makes anew
        "SELECT wa_message_id, type, wa_timestamp, outcome FROM inbound_messages ORDER BY rowid"
    )
    with fresh_db() as one, fresh_db() as two:
        load(one, MONDAY_MORNING)
        load(two, MONDAY_MORNING)
        for sql in (threads, inbound):
            assert [tuple(r) for r in one.execute(sql)] == [tuple(r) for r in two.execute(sql)]
