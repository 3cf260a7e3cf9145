"""The schema, as forward-only versioned migrations (sqlite-utils' ``Migrations``).

Never edit a migration that has shipped: add the next one. ``tests/test_migrations.py``
applies every prefix of this list to a database holding data and checks nothing is lost.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("clinicbot")

# An appointment longer than this is refused by a CHECK; the overlap guard relies on it
# to look back only this far in the (doctor_id, start_ts) index.
MAX_APPOINTMENT_SECONDS = 12 * 3600

_HELD = "('confirmed', 'arrived', 'completed', 'no_show')"


def _run_script(db: sqlite_utils.Database, script: str) -> None:
    """Run statements one by one: ``executescript`` would COMMIT the migration's transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in migration: {statement[:80]!r}")


@MIGRATIONS(name="001_core")
def _core(db: sqlite_utils.Database) -> None:
    _run_script(
        db,
        f"""
        CREATE TABLE clinics (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            address TEXT NOT NULL DEFAULT '',
            phone TEXT,
            country TEXT NOT NULL DEFAULT 'IN',
            timezone TEXT NOT NULL DEFAULT 'Asia/Kolkata',
            whatsapp_phone_number_id TEXT UNIQUE,
            min_notice_minutes INTEGER NOT NULL DEFAULT 60,
            horizon_days INTEGER NOT NULL DEFAULT 60,
            slot_step_minutes INTEGER NOT NULL DEFAULT 15,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE doctors (
            id TEXT PRIMARY KEY,
            clinic_id TEXT NOT NULL REFERENCES clinics(id),
            name TEXT NOT NULL,
            specialty TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX doctors_clinic ON doctors(clinic_id);
        CREATE TABLE services (
            id TEXT PRIMARY KEY,
            clinic_id TEXT NOT NULL REFERENCES clinics(id),
            name TEXT NOT NULL,
            duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 1 AND 720),
            price REAL NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX services_clinic ON services(clinic_id);
        CREATE TABLE service_doctors (
            service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
            doctor_id TEXT NOT NULL REFERENCES doctors(id) ON DELETE CASCADE,
            PRIMARY KEY (service_id, doctor_id)
        );
        CREATE TABLE working_hours (
            id TEXT PRIMARY KEY,
            doctor_id TEXT NOT NULL REFERENCES doctors(id) ON DELETE CASCADE,
            weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
            start_time TEXT NOT NULL,
            end_time TEXT NOT NULL,
            CHECK (start_time < end_time)
        );
        CREATE INDEX working_hours_doctor ON working_hours(doctor_id, weekday);
        CREATE TABLE time_off (
            id TEXT PRIMARY KEY,
            clinic_id TEXT NOT NULL REFERENCES clinics(id),
            doctor_id TEXT REFERENCES doctors(id) ON DELETE CASCADE,
            starts_at TEXT NOT NULL,
            ends_at TEXT NOT NULL,
            start_ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            CHECK (start_ts < end_ts)
        );
        CREATE INDEX time_off_clinic ON time_off(clinic_id, end_ts);
        CREATE TABLE patients (
            id TEXT PRIMARY KEY,
            clinic_id TEXT NOT NULL REFERENCES clinics(id),
            name TEXT NOT NULL,
            phone TEXT NOT NULL,
            whatsapp_name TEXT,
            total_visits INTEGER NOT NULL DEFAULT 0,
            total_cancellations INTEGER NOT NULL DEFAULT 0,
            total_no_shows INTEGER NOT NULL DEFAULT 0,
            first_visit_date TEXT,
            last_visit_date TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            is_active INTEGER NOT NULL DEFAULT 1,
            UNIQUE (clinic_id, phone)
        );
        CREATE INDEX patients_clinic_name ON patients(clinic_id, name COLLATE NOCASE, id);
        -- Covering indexes for the clinic statistics (active records, new this month, active).
        CREATE INDEX patients_clinic_created ON patients(clinic_id, is_active, created_at);
        CREATE INDEX patients_clinic_last_visit
            ON patients(clinic_id, is_active, last_visit_date);
        CREATE VIRTUAL TABLE patients_fts USING fts5(
            name, phone, whatsapp_name,
            content='patients', content_rowid='rowid', tokenize='trigram'
        );
        CREATE TRIGGER patients_fts_insert AFTER INSERT ON patients BEGIN
            INSERT INTO patients_fts(rowid, name, phone, whatsapp_name)
            VALUES (NEW.rowid, NEW.name, NEW.phone, NEW.whatsapp_name);
        END;
        CREATE TRIGGER patients_fts_delete AFTER DELETE ON patients BEGIN
            INSERT INTO patients_fts(patients_fts, rowid, name, phone, whatsapp_name)
            VALUES ('delete', OLD.rowid, OLD.name, OLD.phone, OLD.whatsapp_name);
        END;
        CREATE TRIGGER patients_fts_update AFTER UPDATE OF name, phone, whatsapp_name
        ON patients BEGIN
            INSERT INTO patients_fts(patients_fts, rowid, name, phone, whatsapp_name)
            VALUES ('delete', OLD.rowid, OLD.name, OLD.phone, OLD.whatsapp_name);
            INSERT INTO patients_fts(rowid, name, phone, whatsapp_name)
            VALUES (NEW.rowid, NEW.name, NEW.phone, NEW.whatsapp_name);
        END;
        CREATE TABLE appointments (
            id TEXT PRIMARY KEY,
            clinic_id TEXT NOT NULL REFERENCES clinics(id),
            doctor_id TEXT NOT NULL REFERENCES doctors(id),
            service_id TEXT NOT NULL REFERENCES services(id),
            patient_id TEXT REFERENCES patients(id),
            patient_name TEXT NOT NULL,
            patient_phone TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            ends_at TEXT NOT NULL,
            start_ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            date TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'confirmed'
                CHECK (status IN ('confirmed', 'arrived', 'completed', 'cancelled', 'no_show')),
            source TEXT NOT NULL DEFAULT 'staff'
                CHECK (source IN ('whatsapp', 'staff', 'walk-in')),
            notes TEXT NOT NULL DEFAULT '',
            cancellation_reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            CHECK (end_ts > start_ts AND end_ts - start_ts <= {MAX_APPOINTMENT_SECONDS})
        );
        CREATE INDEX appointments_doctor_start ON appointments(doctor_id, start_ts);
        CREATE INDEX appointments_clinic_date ON appointments(clinic_id, date);
        CREATE INDEX appointments_patient ON appointments(patient_id, start_ts);
        CREATE INDEX appointments_clinic_status_start
            ON appointments(clinic_id, status, start_ts);

        -- The last line of defence: no code path can store two held appointments of one
        -- doctor that overlap. Services check first and answer 409; this makes it certain.
        CREATE TRIGGER appointments_no_overlap_insert BEFORE INSERT ON appointments
        WHEN NEW.status IN {_HELD} BEGIN
            SELECT RAISE(ABORT, 'slot_taken') WHERE EXISTS (
                SELECT 1 FROM appointments
                WHERE doctor_id = NEW.doctor_id
                  AND status IN {_HELD}
                  AND start_ts > NEW.start_ts - {MAX_APPOINTMENT_SECONDS}
                  AND start_ts < NEW.end_ts
                  AND end_ts > NEW.start_ts
            );
        END;
        CREATE TRIGGER appointments_no_overlap_update
        BEFORE UPDATE OF doctor_id, start_ts, end_ts, status ON appointments
        WHEN NEW.status IN {_HELD} BEGIN
            SELECT RAISE(ABORT, 'slot_taken') WHERE EXISTS (
                SELECT 1 FROM appointments
                WHERE doctor_id = NEW.doctor_id
                  AND id != NEW.id
                  AND status IN {_HELD}
                  AND start_ts > NEW.start_ts - {MAX_APPOINTMENT_SECONDS}
                  AND start_ts < NEW.end_ts
                  AND end_ts > NEW.start_ts
            );
        END;

        -- Per-clinic, per-status counts kept by the database itself, so the clinic
        -- statistics never scan a million appointments.
        CREATE TABLE appointment_counts (
            clinic_id TEXT NOT NULL,
            status TEXT NOT NULL,
            n INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (clinic_id, status)
        ) WITHOUT ROWID;
        CREATE TRIGGER appointment_counts_insert AFTER INSERT ON appointments BEGIN
            INSERT INTO appointment_counts(clinic_id, status, n)
            VALUES (NEW.clinic_id, NEW.status, 1)
            ON CONFLICT(clinic_id, status) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER appointment_counts_delete AFTER DELETE ON appointments BEGIN
            UPDATE appointment_counts SET n = n - 1
            WHERE clinic_id = OLD.clinic_id AND status = OLD.status;
        END;
        CREATE TRIGGER appointment_counts_update AFTER UPDATE OF status, clinic_id ON appointments
        WHEN OLD.status != NEW.status OR OLD.clinic_id != NEW.clinic_id BEGIN
            UPDATE appointment_counts SET n = n - 1
            WHERE clinic_id = OLD.clinic_id AND status = OLD.status;
            INSERT INTO appointment_counts(clinic_id, status, n)
            VALUES (NEW.clinic_id, NEW.status, 1)
            ON CONFLICT(clinic_id, status) DO UPDATE SET n = n + 1;
        END;

        CREATE TABLE appointment_events (
            id INTEGER PRIMARY KEY,
            appointment_id TEXT NOT NULL REFERENCES appointments(id),
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('created', 'status', 'reschedule', 'edit')),
            from_status TEXT,
            to_status TEXT,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX appointment_events_appointment ON appointment_events(appointment_id, id);
        """,
    )


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply every pending migration; return the names applied."""
    db = sqlite_utils.Database(conn)
    pending = [m.name for m in MIGRATIONS.pending(db)]
    MIGRATIONS.apply(db)
    return pending


@MIGRATIONS(name="002_whatsapp_inbox")
def _whatsapp_inbox(db: sqlite_utils.Database) -> None:
    """What WhatsApp delivers, stored before it is acknowledged."""
    _run_script(
        db,
        """
        -- One row per inbound message, under its WhatsApp id: a redelivery is a no-op.
        CREATE TABLE inbound_messages (
            wa_message_id TEXT PRIMARY KEY,
            clinic_id TEXT REFERENCES clinics(id),
            phone_number_id TEXT NOT NULL DEFAULT '',
            sender TEXT NOT NULL,
            wa_id TEXT,
            user_id TEXT,
            profile_name TEXT,
            type TEXT NOT NULL,
            wa_timestamp INTEGER NOT NULL,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL,
            processed_at TEXT
        );
        CREATE INDEX inbound_messages_pending
            ON inbound_messages(sender, wa_timestamp) WHERE processed_at IS NULL;
        CREATE INDEX inbound_messages_sender ON inbound_messages(clinic_id, sender, wa_timestamp);
        -- Delivery statuses of our messages, once per (message, status).
        CREATE TABLE message_statuses (
            wa_message_id TEXT NOT NULL,
            status TEXT NOT NULL,
            wa_timestamp INTEGER NOT NULL,
            recipient TEXT,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (wa_message_id, status)
        ) WITHOUT ROWID;
        -- Everything else Meta sends (account, template, call updates): kept, not acted on.
        CREATE TABLE webhook_events (
            id INTEGER PRIMARY KEY,
            digest TEXT NOT NULL UNIQUE,  -- of field and body: a redelivery adds nothing
            field TEXT NOT NULL,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL
        );
        """,
    )


@MIGRATIONS(name="003_conversations_outbox")
def _conversations_outbox(db: sqlite_utils.Database) -> None:
    """The bot's side of WhatsApp: per-patient conversations, the outbox, slot holds,
    reminders, and small pieces of app state (the relay cursor)."""
    _run_script(
        db,
        """
        ALTER TABLE inbound_messages ADD COLUMN patient_id TEXT REFERENCES patients(id);
        -- What the bot did with it: answered, stale, paused (staff have it), ignored, orphan.
        ALTER TABLE inbound_messages ADD COLUMN outcome TEXT;
        CREATE INDEX inbound_messages_patient ON inbound_messages(patient_id, wa_timestamp);

        -- One WhatsApp conversation per patient: what staff see in the inbox.
        CREATE TABLE conversations (
            patient_id TEXT PRIMARY KEY REFERENCES patients(id),
            clinic_id TEXT NOT NULL REFERENCES clinics(id),
            wa_id TEXT NOT NULL,           -- whom to send to: digits, or a business-scoped id
            user_id TEXT,                  -- the business-scoped id, once WhatsApp has told us
            language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'hi')),
            bot_paused INTEGER NOT NULL DEFAULT 0,   -- staff have taken over
            paused_at TEXT,
            reminders_off INTEGER NOT NULL DEFAULT 0,
            last_inbound_ts INTEGER,       -- WhatsApp time of the patient's last message
            last_message_at TEXT NOT NULL, -- either direction: orders the inbox
            unread INTEGER NOT NULL DEFAULT 0,
            simulated INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE INDEX conversations_clinic_recent ON conversations(clinic_id, last_message_at);
        CREATE UNIQUE INDEX conversations_wa_id ON conversations(clinic_id, wa_id);
        CREATE INDEX conversations_user_id ON conversations(clinic_id, user_id);

        -- Every message we send, written in the same transaction as what it talks about.
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,      -- what it answers: a second enqueue is a no-op
            clinic_id TEXT NOT NULL REFERENCES clinics(id),
            patient_id TEXT REFERENCES patients(id),
            recipient TEXT NOT NULL,       -- wa_id digits (sent as +digits) or business-scoped id
            kind TEXT NOT NULL CHECK (kind IN ('text', 'interactive', 'template', 'read')),
            payload TEXT NOT NULL,         -- the Graph API body, without the recipient
            preview TEXT NOT NULL DEFAULT '',  -- readable text for the inbox thread
            author TEXT NOT NULL CHECK (author IN ('bot', 'staff', 'reminder', 'system')),
            in_reply_to TEXT,              -- the inbound wamid it answers
            appointment_id TEXT,
            status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN
                ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'cancelled')),
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before REAL NOT NULL DEFAULT 0, -- unix time of the next attempt
            wa_message_id TEXT UNIQUE,
            error_code INTEGER,
            error_reason TEXT,
            simulated INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX outbox_pending ON outbox(recipient, id) WHERE status IN ('queued', 'sending');
        CREATE INDEX outbox_patient ON outbox(patient_id, id);
        CREATE INDEX outbox_failed ON outbox(clinic_id, id) WHERE status = 'failed';

        -- A slot kept for one patient for a few minutes while they confirm it.
        CREATE TABLE slot_holds (
            doctor_id TEXT NOT NULL REFERENCES doctors(id),
            start_ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            patient_id TEXT NOT NULL REFERENCES patients(id),
            expires_ts INTEGER NOT NULL,
            PRIMARY KEY (doctor_id, start_ts)
        );
        CREATE INDEX slot_holds_patient ON slot_holds(patient_id);

        -- One row per reminder sent (or skipped): a unique key, so never twice.
        CREATE TABLE reminders (
            appointment_id TEXT NOT NULL REFERENCES appointments(id),
            minutes_before INTEGER NOT NULL,
            outbox_id INTEGER REFERENCES outbox(id),
            outcome TEXT NOT NULL,         -- queued, template, skipped: why not
            created_at TEXT NOT NULL,
            PRIMARY KEY (appointment_id, minutes_before)
        ) WITHOUT ROWID;

        ALTER TABLE clinics ADD COLUMN reminder_minutes TEXT NOT NULL DEFAULT '1440,120';
        ALTER TABLE clinics ADD COLUMN reminder_template TEXT NOT NULL
            DEFAULT 'appointment_reminder';
        ALTER TABLE clinics ADD COLUMN stale_message_hours INTEGER NOT NULL DEFAULT 24;

        -- The built-in simulator's patients and bookings: real rows, marked, kept out of
        -- the statistics, cleared in one go.
        ALTER TABLE patients ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE appointments ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0;
        DROP TRIGGER appointment_counts_insert;
        DROP TRIGGER appointment_counts_delete;
        DROP TRIGGER appointment_counts_update;
        CREATE TRIGGER appointment_counts_insert AFTER INSERT ON appointments BEGIN
            INSERT INTO appointment_counts(clinic_id, status, n)
            VALUES (NEW.clinic_id, iif(NEW.simulated, 'simulated:', '') || NEW.status, 1)
            ON CONFLICT(clinic_id, status) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER appointment_counts_delete AFTER DELETE ON appointments BEGIN
            UPDATE appointment_counts SET n = n - 1 WHERE clinic_id = OLD.clinic_id
            AND status = iif(OLD.simulated, 'simulated:', '') || OLD.status;
        END;
        CREATE TRIGGER appointment_counts_update
        AFTER UPDATE OF status, clinic_id, simulated ON appointments
        WHEN OLD.status != NEW.status OR OLD.clinic_id != NEW.clinic_id
            OR OLD.simulated != NEW.simulated BEGIN
            UPDATE appointment_counts SET n = n - 1 WHERE clinic_id = OLD.clinic_id
            AND status = iif(OLD.simulated, 'simulated:', '') || OLD.status;
            INSERT INTO appointment_counts(clinic_id, status, n)
            VALUES (NEW.clinic_id, iif(NEW.simulated, 'simulated:', '') || NEW.status, 1)
            ON CONFLICT(clinic_id, status) DO UPDATE SET n = n + 1;
        END;

        -- Small named values the app keeps for itself (the relay cursor, ...).
        CREATE TABLE app_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    )


@MIGRATIONS(name="004_reminders_per_visit_time")
def _reminders_per_visit_time(db: sqlite_utils.Database) -> None:
    """A reminder belongs to a visit *time*: a visit moved to another day is reminded of
    again. Rows kept from before count for the time the appointment has now."""
    _run_script(
        db,
        """
        CREATE TABLE reminders_new (
            appointment_id TEXT NOT NULL REFERENCES appointments(id),
            start_ts INTEGER NOT NULL,     -- the visit time it reminds of
            minutes_before INTEGER NOT NULL,
            outbox_id INTEGER REFERENCES outbox(id),
            outcome TEXT NOT NULL,         -- queued, template, skipped: why not
            created_at TEXT NOT NULL,
            PRIMARY KEY (appointment_id, start_ts, minutes_before)
        ) WITHOUT ROWID;
        INSERT INTO reminders_new
            SELECT r.appointment_id, a.start_ts, r.minutes_before, r.outbox_id, r.outcome,
                   r.created_at
            FROM reminders r JOIN appointments a ON a.id = r.appointment_id;
        DROP TABLE reminders;
        ALTER TABLE reminders_new RENAME TO reminders;
        CREATE INDEX reminders_outbox ON reminders(outbox_id) WHERE outbox_id IS NOT NULL;
        """,
    )


@MIGRATIONS(name="005_data_ownership")
def _data_ownership(db: sqlite_utils.Database) -> None:
    """The clinic's data rights (issue 5): an erased patient stays only as an anonymous
    record under a new id (so the clinic's counts and analytics stay), an audit of erasures
    that names no one, and a mark on every message whose text the retention setting removed
    (the partial indexes hold only the messages still keeping their text)."""
    _run_script(
        db,
        """
        ALTER TABLE patients ADD COLUMN erased_at TEXT;
        CREATE TABLE erasures (
            id INTEGER PRIMARY KEY,
            clinic_id TEXT NOT NULL REFERENCES clinics(id),
            erased_at TEXT NOT NULL,
            appointments_kept INTEGER NOT NULL,
            appointments_cancelled INTEGER NOT NULL,
            messages_removed INTEGER NOT NULL
        );
        ALTER TABLE inbound_messages ADD COLUMN text_removed_at TEXT;
        ALTER TABLE outbox ADD COLUMN text_removed_at TEXT;
        ALTER TABLE message_statuses ADD COLUMN text_removed_at TEXT;
        ALTER TABLE webhook_events ADD COLUMN text_removed_at TEXT;
        CREATE INDEX inbound_messages_text_kept
            ON inbound_messages(wa_timestamp) WHERE text_removed_at IS NULL;
        CREATE INDEX outbox_text_kept ON outbox(created_at) WHERE text_removed_at IS NULL;
        CREATE INDEX message_statuses_text_kept
            ON message_statuses(received_at) WHERE text_removed_at IS NULL;
        CREATE INDEX webhook_events_text_kept
            ON webhook_events(received_at) WHERE text_removed_at IS NULL;
        """,
    )


@MIGRATIONS(name="006_patient_counts_covered")
def _patient_counts_covered(db: sqlite_utils.Database) -> None:
    """The clinic statistics count real patients (``simulated = 0``, since the simulator
    came): with ``simulated`` inside the indexes they count from the index alone, instead of
    reading every patient's row (10 ms instead of 130 at 100,000 patients)."""
    _run_script(
        db,
        """
        DROP INDEX patients_clinic_created;
        CREATE INDEX patients_clinic_created
            ON patients(clinic_id, is_active, simulated, created_at);
        DROP INDEX patients_clinic_last_visit;
        CREATE INDEX patients_clinic_last_visit
            ON patients(clinic_id, is_active, simulated, last_visit_date);
        """,
    )
