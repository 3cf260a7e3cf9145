"""The WhatsApp pipeline under failure, over real HTTP and real processes: a Graph API outage
of a minute and more while patients keep writing, and ``kill -9`` (three times, at seeded
random moments) while 50 patients book at once. Both end the same way: every acknowledged
message answered, every reply accepted by Meta exactly once and in order, nothing booked
twice.

The proof of "exactly once" is what the fake Graph API accepted: each send carries
``biz_opaque_callback_data = "ob:<outbox id>:<attempt>"``, so the accepted messages name
their outbox rows, and each row (one per ``reply:<wamid>:<n>``) must appear exactly once.
The server's SQLite file is read beside it (WAL) to learn which rows answer which message.
"""

from __future__ import annotations

import collections
import itertools
import json
import random
import signal
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from clinicbot.db import connect
from clinicbot.store.outbox import parse_callback
from tests.conftest import RunningServer, start_server
from tests.fakes import FakeWhatsApp
from tests.fakes.records import Sent

pytestmark = pytest.mark.reliability

FAST = {
    "CLINICBOT_SENDER_MAX_BACKOFF": "1",  # many retry cycles within the outage
    "CLINICBOT_SENDER_AMBIGUOUS_WAIT": "3",
    "CLINICBOT_SENDER_AUTH_RETRY": "1",
}
_numbers = itertools.count(1)


def number() -> str:
    """A fresh Indian mobile number, as WhatsApp's digits."""
    return f"9170{next(_numbers):08d}"


def choices(sent: Sent) -> list[tuple[str, str, bool]]:
    """(id, title, is a list row) of each choice an interactive message offers."""
    inner = sent.body.get("interactive")
    if not inner:
        return []
    if inner["type"] == "button":
        return [(b["reply"]["id"], b["reply"]["title"], False) for b in inner["action"]["buttons"]]
    rows = (r for s in inner["action"]["sections"] for r in s["rows"])
    return [(r["id"], r["title"], True) for r in rows]


def accepted_by_row(fake: FakeWhatsApp) -> dict[int, list[Sent]]:
    """The messages the fake accepted, by the outbox row their callback data names."""
    found: dict[int, list[Sent]] = collections.defaultdict(list)
    for sent in list(fake.accepted):
        named = parse_callback(sent.callback)
        if named is not None:
            found[named[0]].append(sent)
    return found


def replies_of(conn: sqlite3.Connection, wamids: Iterable[str]) -> dict[str, list[int]]:
    """For each processed inbound message, the outbox rows of its replies, in order."""
    wanted = json.dumps(list(wamids))
    processed = {
        r[0]
        for r in conn.execute(
            "SELECT wa_message_id FROM inbound_messages"
            " WHERE wa_message_id IN (SELECT value FROM json_each(?)) AND processed_at IS NOT NULL",
            [wanted],
        )
    }
    rows: dict[str, list[int]] = {w: [] for w in processed}
    for wamid, row_id in conn.execute(
        "SELECT in_reply_to, id FROM outbox WHERE in_reply_to IN (SELECT value FROM json_each(?))"
        " AND kind != 'read' ORDER BY id",
        [wanted],
    ):
        if wamid in rows:
            rows[wamid].append(row_id)
    return rows


def assert_every_reply_once_and_in_order(
    conn: sqlite3.Connection, fake: FakeWhatsApp, patients: list[str], wamids: list[str]
) -> None:
    """Every message answered; each reply row accepted by Meta once; each patient's replies
    in the order they were written; no two sends for one ``reply:<wamid>:<n>`` key."""
    answered = replies_of(conn, wamids)
    assert set(answered) == set(wamids), "some messages were never processed"
    assert all(answered.values()), "a message was processed without a reply"
    outcomes = collections.Counter(
        r[0]
        for r in conn.execute(
            "SELECT outcome FROM inbound_messages"
            " WHERE wa_message_id IN (SELECT value FROM json_each(?))",
            [json.dumps(wamids)],
        )
    )
    assert outcomes == {"answered": len(wamids)}
    by_row = accepted_by_row(fake)
    reply_rows = [i for rows in answered.values() for i in rows]
    assert {i: len(by_row.get(i, [])) for i in reply_rows} == dict.fromkeys(reply_rows, 1)
    assert set(fake.callback_counts().values()) == {1}
    keys = dict(conn.execute("SELECT id, key FROM outbox WHERE kind != 'read'").fetchall())
    per_key = collections.Counter(keys[i] for i, sends in by_row.items() for _ in sends)
    assert set(per_key.values()) == {1}
    for patient in patients:
        mine = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM outbox WHERE recipient = ? AND kind != 'read' ORDER BY id",
                [patient],
            )
        ]
        got = [parse_callback(s.callback) for s in fake.messages_to(patient)]
        assert [n[0] for n in got if n is not None] == mine, f"replies to {patient} out of order"


def wait_sent(
    conn: sqlite3.Connection, fake: FakeWhatsApp, patients: list[str], timeout: float
) -> None:
    def unsent() -> int:
        return int(
            conn.execute(
                "SELECT count(*) FROM outbox WHERE recipient IN (SELECT value FROM json_each(?))"
                " AND kind != 'read' AND status NOT IN ('sent', 'delivered', 'read')",
                [json.dumps(patients)],
            ).fetchone()[0]
        )

    fake.wait_for(lambda: unsent() == 0, timeout, 0.1, "every reply to be accepted by Meta")


# --- a Graph outage of minutes ----------------------------------------------------------


@dataclass
class Outage:
    server: RunningServer
    fake: FakeWhatsApp
    conn: sqlite3.Connection
    patients: list[str]
    wamids: list[str] = field(default_factory=list)
    script: Iterator[str] = field(
        default_factory=lambda: itertools.cycle(
            ["1", "1", "clinic timings?", "menu", "my appointments", "Hi", "address please"]
        )
    )

    def round(self) -> None:
        """Every patient writes once more (the webhook listener does not need Meta)."""
        text = next(self.script)
        for patient in self.patients:
            self.wamids.append(self.fake.patient_says(patient, text).wamid)
        self.answered()

    def answered(self) -> None:
        """Wait until the bot has answered every message so far (into the outbox)."""
        self.fake.wait_for(
            lambda: set(replies_of(self.conn, self.wamids)) == set(self.wamids),
            30,
            0.1,
            "the bot to answer every message, Meta or not",
        )

    def sender_state(self) -> str:
        with self.server.client() as api:
            state: str = api.get("/api/v1/messages/sender").json()["state"]
            return state


def test_a_graph_outage_of_minutes_ends_with_every_reply_delivered_once(tmp_path: Path) -> None:
    with FakeWhatsApp(status_delay=0.01, webhook_retry=(0.05, 0.5)) as fake:
        server = start_server(tmp_path, "--demo", env={**fake.env(), **FAST})
        fake.webhook_url = server.webhook_url
        conn = connect(tmp_path / "clinicbot.db")
        patients = [number() for _ in range(6)]
        run = Outage(server, fake, conn, patients)
        try:
            run.wamids += [fake.patient_says(p, "Hi").wamid for p in patients]
            run.answered()  # else no reply is in the outbox yet, and "all sent" holds at once
            wait_sent(conn, fake, patients, 30)
            before = len(fake.accepted)

            # Two minutes and more: 50 s without a connection, 40 s of 503s, 35 s throttled.
            started = time.monotonic()
            fake.outage("refuse")  # the clinic's internet is down: no connection at all
            run.round()
            fake.wait_for(lambda: run.sender_state() == "retrying", 20, 0.2, "retrying")
            while time.monotonic() - started < 50:
                run.round()
                time.sleep(4)  # as many messages as a patient sends in a chat
            assert len(fake.accepted) == before
            # Throttling first, so that nothing slips through while the modes change.
            fake.force_error(130429)  # every send refused for throughput, until cleared
            fake.end_outage()
            fake.outage("503")  # back, but Meta is unwell
            while time.monotonic() - started < 90:
                run.round()
                time.sleep(4)  # as many messages as a patient sends in a chat
            fake.end_outage()  # no more 503s; still throttled
            while time.monotonic() - started < 125:
                run.round()
                time.sleep(4)  # as many messages as a patient sends in a chat
            assert len(fake.accepted) == before  # still nothing new reached a patient
            attempts = conn.execute(
                "SELECT max(attempts) FROM outbox WHERE kind != 'read'"
            ).fetchone()[0]
            assert attempts >= 10, "the sender should have retried all along"
            assert fake.refusals(130429)
            fake.clear_errors()

            wait_sent(conn, fake, patients, 60)
            assert_every_reply_once_and_in_order(conn, fake, patients, run.wamids)
            fake.wait_for(lambda: run.sender_state() == "ok", 20, 0.2, "the sender to be ok")
        finally:
            fake.clear_errors()
            fake.end_outage()
            conn.close()
            server.stop()


# --- kill -9 during 50 concurrent conversations -----------------------------------------


@dataclass
class Walker:
    """A patient who greets, then takes the first option offered (of times, the
    ``spread``-th): by tapping it, or (``typed``) by writing its number, which only the
    session can make sense of."""

    phone: str
    typed: bool
    spread: int  # which of the offered times they take (everyone taking the first: a herd)
    sent: list[str] = field(default_factory=list)
    booked: bool = False
    expect: str = ""  # the title of the time just picked
    heard: list[tuple[str, str]] = field(default_factory=list)  # (time picked, the answer)


class Storm:
    def __init__(self, data_dir: Path, fake: FakeWhatsApp, walkers: list[Walker]) -> None:
        self.data_dir, self.fake, self.walkers = data_dir, fake, walkers
        self.server = start_server(data_dir, "--demo", env={**fake.env(), **FAST})
        fake.webhook_url = self.server.webhook_url
        self.conn = connect(data_dir / "clinicbot.db")
        self.kills = 0
        self.unfinished: list[int] = []  # at each kill: messages unanswered, replies unsent

    def fired(self) -> int:
        return sum(len(w.sent) for w in self.walkers)

    def kill_and_restart(self) -> None:
        self.server.process.kill()
        assert self.server.process.wait(timeout=20) == -signal.SIGKILL
        self.kills += 1
        self.unfinished.append(
            self.conn.execute(
                "SELECT (SELECT count(*) FROM inbound_messages WHERE processed_at IS NULL)"
                " + (SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending'))"
            ).fetchone()[0]
        )
        self.server = start_server(self.data_dir, env={**self.fake.env(), **FAST})
        self.fake.webhook_url = self.server.webhook_url  # Meta keeps redelivering

    def step(
        self, walker: Walker, answered: dict[str, list[int]], by_row: dict[int, list[Sent]]
    ) -> None:
        """The walker's next message, once every reply to their last one has arrived."""
        if walker.booked:
            return
        if walker.sent:
            rows = answered.get(walker.sent[-1])
            if rows is None or not all(by_row.get(i) for i in rows):
                return
            last = by_row[rows[-1]][0]
            if walker.expect:  # the time they picked, named back (to confirm, or as taken)
                said = " ".join(by_row[i][0].text for i in rows)
                walker.heard.append((walker.expect, said))
                walker.expect = ""
            options = choices(last)
            if last.text.startswith("✅") or (options and options[0][0] == "menu:home"):
                walker.booked = True
                return
            assert options, f"a dead end for {walker.phone}: {last.text!r}"
            times = [n for n, o in enumerate(options) if o[0].startswith("slot:")]
            pick = times[walker.spread % len(times)] if times else 0
            choice_id, title, is_row = options[pick]
            walker.expect = title if times else ""
            if walker.typed:
                injected = self.fake.patient_says(walker.phone, str(pick + 1), wait=False)
            else:
                injected = self.fake.patient_taps(
                    walker.phone, choice_id, title, list=is_row, wait=False
                )
        else:
            injected = self.fake.patient_says(walker.phone, "Hi", wait=False)
        walker.sent.append(injected.wamid)

    def run(self, kill_at: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = sorted(kill_at)
        while not all(w.booked for w in self.walkers):
            assert time.monotonic() < deadline, self.progress()
            wamids = [w.sent[-1] for w in self.walkers if w.sent and not w.booked]
            answered = replies_of(self.conn, wamids) if wamids else {}
            by_row = accepted_by_row(self.fake)
            for walker in self.walkers:
                self.step(walker, answered, by_row)
            if pending and self.fired() >= pending[0]:
                pending.pop(0)
                self.kill_and_restart()
            time.sleep(0.05)

    def progress(self) -> str:
        done = sum(w.booked for w in self.walkers)
        return (
            f"{done}/{len(self.walkers)} booked after {self.fired()} messages, {self.kills} kills"
        )


def test_kill_9_during_50_conversations_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261124)
    walkers = [Walker(number(), typed=n % 2 == 1, spread=n) for n in range(50)]
    kill_at = sorted(rng.sample(range(20, 260), 3))  # a conversation is six messages
    with FakeWhatsApp(status_delay=0.01, webhook_retry=(0.05, 0.5)) as fake:
        storm = Storm(tmp_path, fake, walkers)
        try:
            storm.run(kill_at, timeout=150)
            assert storm.kills == 3
            assert sum(storm.unfinished) > 0, "no kill caught the clinic with work in hand"
            phones = [w.phone for w in walkers]
            wait_sent(storm.conn, fake, phones, 30)
            every = [m for w in walkers for m in w.sent]
            assert all(d.done.is_set() for d in fake.deliveries if d.kind == "message")
            stored = storm.conn.execute(  # the demo clinic's own chats aside
                "SELECT count(*), count(processed_at) FROM inbound_messages"
                " WHERE sender IN (SELECT value FROM json_each(?))",
                [json.dumps(phones)],
            ).fetchone()
            assert tuple(stored) == (len(every), len(every))  # all kept once, all processed
            unprocessed = "SELECT count(*) FROM inbound_messages WHERE processed_at IS NULL"
            assert storm.conn.execute(unprocessed).fetchone()[0] == 0
            assert_every_reply_once_and_in_order(storm.conn, fake, phones, every)
            # The session survived the kills: a typed "3" still meant the third time offered.
            picked = [(w.phone, t, said) for w in walkers for t, said in w.heard]
            assert len(picked) >= len(walkers)
            assert [p for p in picked if p[1] not in p[2]] == []
            check_bookings(storm.conn, phones)
        finally:
            storm.conn.close()
            storm.server.stop()


def check_bookings(conn: sqlite3.Connection, phones: list[str]) -> None:
    """No doctor double-booked; each patient has the one appointment they asked for."""
    overlaps = conn.execute(
        "SELECT count(*) FROM appointments a JOIN appointments b"
        " ON a.doctor_id = b.doctor_id AND a.id < b.id AND a.start_ts < b.end_ts"
        " AND b.start_ts < a.end_ts WHERE a.status != 'cancelled' AND b.status != 'cancelled'"
    ).fetchone()[0]
    assert overlaps == 0
    numbers = json.dumps(["+" + p for p in phones])
    booked = dict(
        conn.execute(
            "SELECT p.phone, count(a.id) FROM patients p LEFT JOIN appointments a"
            " ON a.patient_id = p.id WHERE p.phone IN (SELECT value FROM json_each(?))"
            " GROUP BY p.id",
            [numbers],
        ).fetchall()
    )
    assert booked == {"+" + p: 1 for p in phones}
    statuses = conn.execute(
        "SELECT DISTINCT a.status, a.source FROM appointments a JOIN patients p"
        " ON p.id = a.patient_id WHERE p.phone IN (SELECT value FROM json_each(?))",
        [numbers],
    ).fetchall()
    assert [tuple(s) for s in statuses] == [("confirmed", "whatsapp")]
