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
