"""The outbox: every message we send, written in the same transaction as what it talks
about, and drained by the sender. A row's ``key`` says what it answers, so writing the same
reply twice (a re-run after a crash) stores it once.

A row moves only forward: queued → sending → sent → (failed) → delivered → read. The sender
moves it by what the Graph API answers; status webhooks move it by what happened to the
message, whichever comes first. ``failed`` never overrides ``delivered`` or ``read``;
``cancelled`` (a mark-as-read call that could not be made) is final. Only a staff retry
takes a failed row back to ``queued``.

Each send carries ``biz_opaque_callback_data = "ob:<id>:<attempt>"``, which Meta echoes in
status webhooks: a status names its row even when the sender never learnt the wamid (a
crash, a lost answer). It matches only the row's current attempt, so a late status of an
attempt staff have since retried cannot move the new one.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import msgspec

from clinicbot.errors import Conflict, NotFound
from clinicbot.store.rows import MAX_OFFSET, records, stamp
from clinicbot.whatsapp.graph import error_from_body
from clinicbot.whatsapp.webhook import StatusUpdate

PENDING = ("queued", "sending")
RANK = {"queued": 0, "sending": 1, "sent": 2, "failed": 3, "delivered": 4, "read": 5}
_RANK_SQL = (
    "CASE status WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'sent' THEN 2"
    " WHEN 'failed' THEN 3 WHEN 'delivered' THEN 4 WHEN 'read' THEN 5 ELSE 99 END"
)
_NAMES = (
    *("id", "clinic_id", "patient_id", "recipient", "kind", "payload", "preview", "author"),
    *("appointment_id", "status", "attempts", "not_before", "wa_message_id", "error_code"),
    *("error_reason", "simulated", "created_at", "sent_at", "updated_at"),
)
_COLUMNS = ", ".join(_NAMES)
_O_COLUMNS = ", ".join("o." + name for name in _NAMES)
_HEADS = (
    "SELECT min(id) AS id FROM outbox"
    " WHERE status IN ('queued', 'sending') AND simulated = 0 GROUP BY recipient"
)


class OutboxRow(msgspec.Struct, frozen=True):
    id: int
    clinic_id: str
    patient_id: str | None
    recipient: str
    kind: str
    payload: str
    preview: str
    author: str
    appointment_id: str | None
    status: str
    attempts: int
    not_before: float
    wa_message_id: str | None
    error_code: int | None
    error_reason: str | None
    simulated: bool
    created_at: str
    sent_at: str | None
    updated_at: str

    def payload_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = msgspec.json.decode(self.payload)
        return body


class Pending(msgspec.Struct, frozen=True):
    heads: list[OutboxRow]  # each recipient's oldest unsent row, when it is due
    next_at: float | None  # the earliest ``not_before`` among the heads not yet due
    simulated: bool  # simulated rows wait to be settled


def enqueue(
    conn: sqlite3.Connection,
    *,
    key: str,
    clinic_id: str,
    patient_id: str | None,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    preview: str,
    author: str,
    now: datetime,
    in_reply_to: str | None = None,
    appointment_id: str | None = None,
    simulated: bool = False,
) -> int | None:
    """Queue one message; return its id, or None when ``key`` was queued before."""
    at = stamp(now)
    cur = conn.execute(
        "INSERT OR IGNORE INTO outbox (key, clinic_id, patient_id, recipient, kind, payload,"
        " preview, author, in_reply_to, appointment_id, simulated, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            key,
            clinic_id,
            patient_id,
            recipient,
            kind,
            msgspec.json.encode(payload).decode(),
            preview,
            author,
            in_reply_to,
            appointment_id,
            int(simulated),
            at,
            at,
        ],
    )
    return cur.lastrowid if cur.rowcount else None


def callback_data(row_id: int, attempt: int) -> str:
    """What a send carries so that its status webhooks name the row and the attempt."""
    return f"ob:{row_id}:{attempt}"


def parse_callback(value: object) -> tuple[int, int] | None:
    """``"ob:12:3"`` -> ``(12, 3)``; anything else (someone else's data) -> None."""
    if not isinstance(value, str) or not value.startswith("ob:"):
        return None
    parts = value[3:].split(":")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) < 19 for p in parts):
        return None
    return int(parts[0]), int(parts[1])


# --- the sender's side -------------------------------------------------------------------


def get(conn: sqlite3.Connection, row_id: int) -> OutboxRow | None:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", [row_id]).fetchall()  # noqa: S608
    return records(rows, OutboxRow)[0] if rows else None


def pending(conn: sqlite3.Connection, now_ts: float, limit: int) -> Pending:
    """Up to ``limit`` due heads (oldest first), and when the next one falls due."""
    heads = conn.execute(
        f"SELECT {_O_COLUMNS} FROM outbox o JOIN ({_HEADS}) h ON o.id = h.id"  # noqa: S608
        " WHERE o.not_before <= ? ORDER BY o.id LIMIT ?",
        [now_ts, limit],
    ).fetchall()
    later = conn.execute(
        f"SELECT min(o.not_before) FROM outbox o JOIN ({_HEADS}) h ON o.id = h.id"  # noqa: S608
        " WHERE o.not_before > ?",
        [now_ts],
    ).fetchone()[0]
    simulated = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM outbox"
        " WHERE status IN ('queued', 'sending') AND simulated = 1)"
    ).fetchone()[0]
    return Pending(records(heads, OutboxRow), later, bool(simulated))


def _stale_reminder(conn: sqlite3.Connection, row_id: int, now_ts: float) -> str | None:
    """Why a queued reminder should no longer go out, if it should not."""
    found = conn.execute(
        "SELECT a.status, a.start_ts, r.start_ts FROM outbox o"
        " JOIN appointments a ON a.id = o.appointment_id"
        " LEFT JOIN reminders r ON r.outbox_id = o.id"
        " WHERE o.id = ? AND o.author = 'reminder'",
        [row_id],
    ).fetchone()
    if found is None:
        return None
    status, start_ts, reminded_of = found
    if status != "confirmed":
        return f"Not sent: the appointment is {status.replace('_', ' ')} now."
    if reminded_of is not None and reminded_of != start_ts:
        return "Not sent: the appointment has moved to another time."
    if start_ts <= now_ts:
        return "Not sent: the visit had begun before WhatsApp could be reached."
    return None


def _superseded_read(conn: sqlite3.Connection, row_id: int) -> str | None:
    """Marking a message read marks the patient's earlier ones too: a read receipt with a
    later one queued behind it would only spend a call of the number's rate."""
    later = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM outbox o JOIN outbox later"
        " ON later.recipient = o.recipient AND later.id > o.id"
        " AND later.status IN ('queued', 'sending')"  # the pending index's own condition
        " WHERE o.id = ? AND o.kind = 'read' AND o.status = 'queued'"
        " AND later.kind = 'read' AND later.status = 'queued')",
        [row_id],
    ).fetchone()[0]
    return "Not needed: a later message of the patient is marked read." if later else None


def settle_simulated(conn: sqlite3.Connection, now: datetime) -> int:
    """The simulator's messages never leave the PC: they are read as soon as written
    (a reminder for an appointment no longer confirmed is dropped instead)."""
    at = stamp(now)
    conn.execute(
        "UPDATE outbox SET status = 'cancelled', updated_at = ?, error_reason ="
        " (SELECT 'Not sent: the appointment is ' || replace(a.status, '_', ' ') || ' now.'"
        " FROM appointments a WHERE a.id = outbox.appointment_id)"
        " WHERE status IN ('queued', 'sending') AND simulated = 1 AND author = 'reminder'"
        " AND appointment_id IN (SELECT id FROM appointments WHERE status != 'confirmed')",
        [at],
    )
    return conn.execute(
        "UPDATE outbox SET status = 'read', sent_at = ?, updated_at = ?"
        " WHERE status IN ('queued', 'sending') AND simulated = 1",
        [at, at],
    ).rowcount


def begin_attempt(
    conn: sqlite3.Connection, row_id: int, now: datetime, hold_until: float
) -> OutboxRow | None:
    """Mark the row ``sending`` and count the attempt, durably, before the POST.

    ``hold_until`` is when a crash-orphaned ``sending`` row may be sent again: until then a
    status webhook may still show that Meta accepted it. A reminder whose appointment was
    cancelled (or has begun) meanwhile is dropped instead: ``cancelled``, with the reason.
    """
    stale = _stale_reminder(conn, row_id, now.timestamp()) or _superseded_read(conn, row_id)
    if stale is not None:
        fail(conn, row_id, now, code=None, reason=stale, drop=True)
        return None
    rows = conn.execute(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, not_before = ?,"  # noqa: S608
        " updated_at = ? WHERE id = ? AND status IN ('queued', 'sending')"
        f" RETURNING {_COLUMNS}",
        [hold_until, stamp(now), row_id],
    ).fetchall()
    return records(rows, OutboxRow)[0] if rows else None


def retry_later(
    conn: sqlite3.Connection,
    row_id: int,
    now: datetime,
    *,
    not_before: float,
    maybe_sent: bool,
    code: int | None,
    reason: str,
) -> None:
    """Back off. A row that may have been sent stays ``sending`` (see ``begin_attempt``)."""
    conn.execute(
        "UPDATE outbox SET status = CASE WHEN ? THEN status ELSE 'queued' END,"
        " not_before = max(CASE WHEN ? THEN not_before ELSE 0 END, ?),"
        " error_code = ?, error_reason = ?, updated_at = ?"
        " WHERE id = ? AND status IN ('queued', 'sending')",
        [maybe_sent, maybe_sent, not_before, code, reason, stamp(now), row_id],
    )


def fail(
    conn: sqlite3.Connection,
    row_id: int,
    now: datetime,
    *,
    code: int | None,
    reason: str,
    drop: bool = False,
) -> None:
    """A permanent failure: ``failed`` for staff to see, or ``cancelled`` when ``drop``."""
    conn.execute(
        "UPDATE outbox SET status = ?, error_code = ?, error_reason = ?, updated_at = ?"
        " WHERE id = ? AND status IN ('queued', 'sending')",
        ["cancelled" if drop else "failed", code, reason, stamp(now), row_id],
    )


def record_sent(conn: sqlite3.Connection, row_id: int, wamid: str, now: datetime) -> None:
    """Meta accepted the row as ``wamid``; statuses already stored for it apply now."""
    at = stamp(now)
    conn.execute(
        "UPDATE outbox SET wa_message_id = ?, not_before = 0, updated_at = ?,"
        " error_code = CASE WHEN status IN ('queued', 'sending') THEN NULL ELSE error_code END,"
        " error_reason = CASE WHEN status IN ('queued', 'sending') THEN NULL"
        " ELSE error_reason END,"
        " sent_at = CASE WHEN status = 'failed' THEN sent_at ELSE coalesce(sent_at, ?) END,"
        " status = CASE WHEN status IN ('queued', 'sending') THEN 'sent' ELSE status END"
        " WHERE id = ?",
        [wamid, at, at, row_id],
    )
    stored = conn.execute(
        "SELECT status, body FROM message_statuses WHERE wa_message_id = ?", [wamid]
    ).fetchall()
    for status, body in stored:
        advance(conn, row_id, status, now, _failure(status, body))


# --- status webhooks ---------------------------------------------------------------------


def _failure(status: str, body: str) -> tuple[int | None, str] | None:
    """The code and readable reason a ``failed`` status carries (§2.2 f)."""
    if status != "failed":
        return None
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError:
        doc = None
    errors = doc.get("errors") if isinstance(doc, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, dict):
        return None, "WhatsApp could not deliver this message (no reason given)."
    error = error_from_body(first)
    return error.code, error.reason


def advance(
    conn: sqlite3.Connection,
    row_id: int,
    status: str,
    now: datetime,
    failure: tuple[int | None, str] | None = None,
) -> bool:
    """Move the row to ``status`` if that is forward (see the module docstring)."""
    if status not in RANK or status in PENDING:
        return False
    at = stamp(now)
    code, reason = failure if failure is not None else (None, None)
    return bool(
        conn.execute(
            "UPDATE outbox SET status = ?, error_code = ?, error_reason = ?, updated_at = ?,"  # noqa: S608
            " sent_at = CASE WHEN ? = 'failed' THEN sent_at ELSE coalesce(sent_at, ?) END"
            f" WHERE id = ? AND {_RANK_SQL} < ?",
            [status, code, reason, at, status, at, row_id, RANK[status]],
        ).rowcount
    )


def _by_callback(conn: sqlite3.Connection, update: StatusUpdate, doc: object) -> int | None:
    """The row a status names through its callback data, claimed with the status's wamid."""
    named = parse_callback(doc.get("biz_opaque_callback_data") if isinstance(doc, dict) else None)
    if named is None:
        return None
    row_id, attempt = named
    claimed = conn.execute(
        "UPDATE outbox SET wa_message_id = ? WHERE id = ? AND attempts = ?"
        " AND wa_message_id IS NULL RETURNING id",
        [update.wa_message_id, row_id, attempt],
    ).fetchone()
    return None if claimed is None else int(claimed[0])


def apply_status(conn: sqlite3.Connection, update: StatusUpdate, now: datetime) -> int | None:
    """Move the row a status webhook is about; return its id, or None when it is not ours."""
    if update.status not in RANK:
        return None
    found = conn.execute(
        "SELECT id FROM outbox WHERE wa_message_id = ?", [update.wa_message_id]
    ).fetchone()
    row_id = int(found[0]) if found else None
    if row_id is None:
        try:
            doc = msgspec.json.decode(update.body)
        except msgspec.DecodeError:
            return None
        row_id = _by_callback(conn, update, doc)
    if row_id is not None:
        advance(conn, row_id, update.status, now, _failure(update.status, update.body))
    return row_id


# --- what staff see and do ---------------------------------------------------------------


def counts(conn: sqlite3.Connection, clinic_id: str | None) -> tuple[int, int]:
    """(messages waiting to go out, failed messages), of one clinic or all."""
    where, args = ("clinic_id = ? AND ", [clinic_id]) if clinic_id else ("", [])
    backlog = conn.execute(
        f"SELECT count(*) FROM outbox WHERE {where}status IN ('queued', 'sending')"  # noqa: S608
        " AND simulated = 0 AND kind != 'read'",
        args,
    ).fetchone()[0]
    failed = conn.execute(
        f"SELECT count(*) FROM outbox WHERE {where}status = 'failed'",  # noqa: S608
        args,
    ).fetchone()[0]
    return int(backlog), int(failed)


def list_failed(
    conn: sqlite3.Connection, clinic_id: str | None, limit: int, offset: int
) -> list[OutboxRow]:
    """Failed messages, the latest first."""
    where, args = ("clinic_id = ? AND ", [clinic_id]) if clinic_id else ("", [])
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE {where}status = 'failed'"  # noqa: S608
        " ORDER BY id DESC LIMIT ? OFFSET ?",
        [*args, limit, min(offset, MAX_OFFSET)],
    ).fetchall()
    return records(rows, OutboxRow)


def retry_failed(conn: sqlite3.Connection, row_id: int, now: datetime) -> OutboxRow:
    """Queue a failed message again as a new attempt (404 unknown, 409 not failed).

    The attempt count moves on, so statuses of the failed attempt can no longer match it.
    """
    row = get(conn, row_id)
    if row is None:
        raise NotFound("No message with that id.", field="id")
    if row.status != "failed":
        raise Conflict(f"Only a failed message can be sent again; this one is {row.status}.")
    conn.execute(
        "UPDATE outbox SET status = 'queued', attempts = attempts + 1, not_before = 0,"
        " wa_message_id = NULL, error_code = NULL, error_reason = NULL, sent_at = NULL,"
        " updated_at = ?"
        " WHERE id = ?",
        [stamp(now), row_id],
    )
    again = get(conn, row_id)
    assert again is not None
    return again
