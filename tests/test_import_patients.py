"""Importing patients from CSV: the old register and phones' contacts exports, in the
encodings Excel and phones write, with a preview that says what becomes of every row."""

from __future__ import annotations

import codecs
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from clinicbot.db.database import transaction
from clinicbot.errors import InvalidInput
from clinicbot.services import patient_import
from clinicbot.services.patients import get_or_create_patient
from tests.conftest import RunningServer
from tests.factories import TestClinic, make_clinic_api, make_clinic_db

NOW = datetime(2026, 5, 4, 10, tzinfo=UTC)

REGISTER = (
    "NAME,Mobile No.,Age,Notes\n"
    "Ramesh Kumar,98765 43210,54,BP\n"
    "Sunita Devi,+91-91234-56789,,\n"
    ",98111 22233,30,\n"
    "Tiny Number,12345,,\n"
    "No Phone,,,\n"
    "Ramesh again,09876543210,,\n"
    ",,,\n"
    "Already Here,+91 99887 76655,,\n"
)


@pytest.fixture
def clinic(conn: sqlite3.Connection) -> TestClinic:
    made = make_clinic_db(conn, NOW)
    with transaction(conn):
        get_or_create_patient(conn, made.id, "+919988776655", NOW, name="Asha Known")
    return made


def _outcomes(report: patient_import.ImportReport) -> list[tuple[int, str, str | None]]:
    return [(r.line, r.outcome, r.reason) for r in report.rows]


def test_the_old_register_previewed_row_by_row(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    report = patient_import.preview(conn, clinic.id, REGISTER.encode())
    assert report.mapping == patient_import.Mapping(
        name=["NAME"], phone=["Mobile No."], ignored=["Age", "Notes"]
    )
    assert _outcomes(report) == [
        (2, "new", None),
        (3, "new", None),
        (4, "rejected", "empty name"),
        (5, "rejected", "impossible number: 12345"),
        (6, "rejected", "no phone number"),
        (7, "rejected", "duplicate of line 2"),
        (9, "existing", None),
    ]
    assert [r.phone for r in report.rows[:2]] == ["+919876543210", "+919123456789"]
    known = report.rows[-1]
    assert known.patient_name == "Asha Known" and known.patient_id
    assert report.rows[3].cells == ["Tiny Number", "12345", "", ""]
    assert report.counts == patient_import.Counts(rows=7, new=2, existing=1, rejected=4)
    assert not report.imported
    assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] == 1  # nothing written


def test_import_adds_once(conn: sqlite3.Connection, clinic: TestClinic) -> None:
    with transaction(conn):
        first = patient_import.run(conn, clinic.id, REGISTER.encode(), NOW)
    assert first.imported and first.counts.new == 2
    added = {r.phone: r.patient_id for r in first.rows if r.outcome == "new"}
    names = dict(conn.execute("SELECT phone, name FROM patients").fetchall())
    assert names["+919876543210"] == "Ramesh Kumar" and names["+919123456789"] == "Sunita Devi"
    assert all(added.values())
    with transaction(conn):
        second = patient_import.run(conn, clinic.id, REGISTER.encode(), NOW)
    assert second.counts.new == 0 and second.counts.existing == 3
    assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] == 3


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("cp1252", b""),
    ],
    ids=["utf8", "utf8-bom", "excel-unicode-text", "cp1252"],
)
def test_encodings(conn: sqlite3.Connection, clinic: TestClinic, encoding: str, bom: bytes) -> None:
    hindi = encoding.startswith("utf")
    name = "सुनीता देवी" if hindi else "José Müller"
    header = "नाम\tमोबाइल" if hindi else "Name\tPhone"  # Excel's "Unicode text" is tab-separated
    raw = bom + f"{header}\n{name}\t98765 43210\n".encode(encoding)
    report = patient_import.preview(conn, clinic.id, raw)
    assert [(r.name, r.phone, r.outcome) for r in report.rows] == [(name, "+919876543210", "new")]
    assert report.delimiter == "tab"


def test_google_contacts_new_and_old_and_outlook(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    google = (
        "First Name,Middle Name,Last Name,Phone 1 - Label,Phone 1 - Value,Phone 2 - Label,"
        "Phone 2 - Value\n"
        "Priya,,Nair,Home,+91 80 2222 3333,Mobile,+91 98450 11111\n"
    )
    report = patient_import.preview(conn, clinic.id, google.encode())
    assert [(r.name, r.phone) for r in report.rows] == [("Priya Nair", "+919845011111")]
    old_google = (
        "Name,Given Name,Family Name,Phone 1 - Type,Phone 1 - Value\n"
        'Arjun Mehta,Arjun,Mehta,Mobile,"+91 98450 22222 ::: +91 98450 33333"\n'
    )
    report = patient_import.preview(conn, clinic.id, old_google.encode())
    assert [(r.name, r.phone) for r in report.rows] == [("Arjun Mehta", "+919845022222")]
    assert report.mapping.name == ["Name"]
    outlook = "First Name,Last Name,Home Phone,Mobile Phone\nLeela,Rao,080 2222 4444,9845044444\n"
    report = patient_import.preview(conn, clinic.id, outlook.encode())
    assert [(r.name, r.phone) for r in report.rows] == [("Leela Rao", "+919845044444")]
    assert report.mapping.phone == ["Mobile Phone", "Home Phone"]


def test_a_mobile_label_goes_first(conn: sqlite3.Connection, clinic: TestClinic) -> None:
    labelled = (
        "Name,Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value\n"
        "Kiran,Work,080 2222 5555,Mobile,98450 55555\n"
    )
    report = patient_import.preview(conn, clinic.id, labelled.encode())
    assert [r.phone for r in report.rows] == ["+919845055555"]


def test_files_it_cannot_read(conn: sqlite3.Connection, clinic: TestClinic) -> None:
    with pytest.raises(InvalidInput, match="No column of phone numbers"):
        patient_import.preview(conn, clinic.id, b"Name,Age\nA,1\n")
    with pytest.raises(InvalidInput, match="empty"):
        patient_import.preview(conn, clinic.id, b"\n\n")
    many = "Name,Phone\n" + "A,1\n" * (patient_import.MAX_ROWS + 1)
    with pytest.raises(patient_import.TooLarge, match="20,000 rows"):
        patient_import.preview(conn, clinic.id, many.encode())


# --- over HTTP and from the command line -------------------------------------------------


def test_preview_then_import_over_http(api: httpx.Client) -> None:
    made = make_clinic_api(api, name="Import")
    params = {"clinic_id": made.id}
    headers = {"Content-Type": "text/csv"}
    body = REGISTER.encode()
    r = api.post("/api/v1/import/patients/preview", params=params, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["counts"] == {"rows": 7, "new": 3, "existing": 0, "rejected": 4}
    r = api.post("/api/v1/import/patients", params=params, content=body, headers=headers)
    assert r.status_code == 200 and r.json()["counts"]["new"] == 3
    again = api.post("/api/v1/import/patients", params=params, content=body, headers=headers)
    assert again.json()["counts"] == {"rows": 7, "new": 0, "existing": 3, "rejected": 4}
    listed = api.get("/api/v1/patients", params={"clinic_id": made.id}).json()
    assert sorted(p["name"] for p in listed) == ["Already Here", "Ramesh Kumar", "Sunita Devi"]


def test_bad_uploads_are_4xx(api: httpx.Client) -> None:
    made = make_clinic_api(api, name="Import limits")
    url, params = "/api/v1/import/patients/preview", {"clinic_id": made.id}
    big = b"Name,Phone\n" + b"A,9876543210\n" * (6 * 2**20 // 13)
    r = api.post(url, params=params, content=big)
    assert r.status_code == 413 and "5 MB" in r.json()["detail"]
    rows = b"Name,Phone\n" + b"A,1\n" * 20_001
    r = api.post(url, params=params, content=rows)
    assert r.status_code == 413 and "20,000 rows" in r.json()["detail"]
    assert api.post(url, params=params, content=b"").status_code == 400
    assert api.post(url, params={"clinic_id": "nope"}, content=b"Name,Phone\n").status_code == 404
    assert api.post(url, content=b"Name,Phone\n").status_code == 400  # which clinic?


def test_command_line_import(server: RunningServer, api: httpx.Client, tmp_path: Path) -> None:
    made = make_clinic_api(api, name="Import CLI")
    register = tmp_path / "register.csv"
    register.write_bytes(codecs.BOM_UTF8 + REGISTER.encode())
    args = [sys.executable, "-m", "clinicbot", "import-patients", "--data-dir"]
    args += [str(server.data_dir), str(register), "--clinic-id", made.id]
    dry = subprocess.run([*args, "--dry-run"], capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "would add 3 new patients" in dry.stdout and "line 7: rejected: duplicate" in dry.stdout
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "added 3 new patients" in done.stdout
    listed = api.get("/api/v1/patients", params={"clinic_id": made.id}).json()
    assert len(listed) == 3  # the running server sees them
