"""Export everything: a zip of CSV files, one CSV, one JSON document, and the command line
beside a running server. What a spreadsheet needs (a BOM for Hindi names, formula-safe
cells) and what a program needs (E.164 phones, times with their offset) are both checked.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from clinicbot.db.database import transaction
from clinicbot.services import export
from clinicbot.services.patients import get_or_create_patient
from tests.conftest import RunningServer
from tests.factories import TestClinic, make_clinic_api, make_clinic_db, next_weekday
from tests.whatsapp_flow import settled

HINDI = "सुनीता देवी"
FORMULA = '=HYPERLINK("http://x")'


def _rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads UTF-8"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture(scope="module")
def filled(server: RunningServer) -> tuple[TestClinic, dict[str, Any]]:
    """A clinic with a Hindi-named patient, one named like a formula, an appointment and a
    simulated WhatsApp chat (messages both ways)."""
    with server.client() as api:
        made = make_clinic_api(api, name="Export")
        r = api.post(
            "/api/v1/patients", json={"clinic_id": made.id, "name": HINDI, "phone": "98765 40001"}
        )
        assert r.status_code == 201, r.text
        patient = r.json()
        r = api.post(
            "/api/v1/patients", json={"clinic_id": made.id, "name": FORMULA, "phone": "98765 40002"}
        )
        assert r.status_code == 201, r.text
        day = next_weekday(datetime.now(UTC).date())
        r = api.post(
            "/api/v1/appointments",
            json={
                "clinic_id": made.id,
                "doctor_id": made.doctor,
                "service_id": made.service,
                "patient_id": patient["id"],
                "patient_name": HINDI,
                "patient_phone": patient["phone"],
                "starts_at": f"{day}T10:00:00",
            },
        )
        assert r.status_code == 201, r.text
        said = api.post(
            "/api/v1/simulator/messages",
            json={"clinic_id": made.id, "patient": "export", "text": "Hi"},
        )
        assert said.status_code in (200, 201), said.text

        def answered() -> bool | None:
            chat = api.get(
                "/api/v1/simulator/messages", params={"clinic_id": made.id, "patient": "export"}
            ).json()
            return True if any(m["direction"] == "out" for m in chat) else None

        settled(answered, "the bot's answer in the simulator")
        return made, r.json()


def test_zip_of_csv_files(api: httpx.Client, filled: tuple[TestClinic, dict[str, Any]]) -> None:
    made, appointment = filled
    r = api.get("/api/v1/export/csv")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    assert archive.namelist() == [f"{name}.csv" for name in export.TABLE_NAMES]
    patients = [
        p
        for p in _rows(archive.read("patients.csv"))
        if p["clinic_id"] == made.id and p["simulated"] == "0"
    ]
    by_phone = {p["phone"]: p["name"] for p in patients}
    assert by_phone == {"+919876540001": HINDI, "+919876540002": "'" + FORMULA}
    [row] = [a for a in _rows(archive.read("appointments.csv")) if a["id"] == appointment["id"]]
    assert row["doctor"] == "Dr. Test 0" and row["service"] == "Consultation"
    assert row["patient_phone"] == "+919876540001" and row["patient_name"] == HINDI
    assert datetime.fromisoformat(row["starts_at"]).utcoffset() == timedelta(hours=5, minutes=30)
    messages = [m for m in _rows(archive.read("messages.csv")) if m["clinic_id"] == made.id]
    directions = {m["direction"] for m in messages}
    assert directions == {"in", "out"}
    assert all(datetime.fromisoformat(m["at"]).utcoffset() is not None for m in messages)
    assert [m["text"] for m in messages if m["direction"] == "in"] == ["Hi"]


def test_one_table_and_json_agree(
    api: httpx.Client, filled: tuple[TestClinic, dict[str, Any]]
) -> None:
    made, _ = filled
    one = api.get("/api/v1/export/csv/patients")
    assert one.status_code == 200 and one.headers["content-type"].startswith("text/csv")
    doc = api.get("/api/v1/export/json")
    assert doc.status_code == 200
    body = json.loads(doc.content)
    assert body["format"] == "clinicbot-export" and body["version"] == 1
    assert set(body["tables"]) == set(export.TABLE_NAMES)
    mine = [
        p for p in body["tables"]["patients"] if p["clinic_id"] == made.id and not p["simulated"]
    ]
    assert sorted(p["name"] for p in mine) == sorted([HINDI, FORMULA])  # JSON is verbatim
    assert len(_rows(one.content)) == len(body["tables"]["patients"])
    assert api.get("/api/v1/export/csv/secrets").status_code == 400


def test_command_line_beside_a_running_server(
    server: RunningServer, filled: tuple[TestClinic, dict[str, Any]], tmp_path: Path
) -> None:
    base = [sys.executable, "-m", "clinicbot", "export", "--data-dir", str(server.data_dir)]
    done = subprocess.run(
        [*base, "--to", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}.csv" for n in export.TABLE_NAMES
    )
    names = {p["name"] for p in _rows((tmp_path / "patients.csv").read_bytes())}
    assert HINDI in names
    js = subprocess.run(
        [*base, "--to", str(tmp_path / "j"), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert js.returncode == 0, js.stderr
    doc = json.loads((tmp_path / "j" / "clinicbot-export.json").read_bytes())
    assert any(p["name"] == HINDI for p in doc["tables"]["patients"])


def test_streamed_in_pieces(conn: sqlite3.Connection, tmp_path: Path) -> None:
    """A big table goes out in many pieces of about ``CHUNK`` bytes, never as one."""
    now = datetime(2026, 1, 5, tzinfo=UTC)
    made = make_clinic_db(conn, now)
    with transaction(conn):
        for i in range(3000):
            get_or_create_patient(conn, made.id, f"+9198700{i:05d}", now, name=f"Patient {i}")
    pieces = list(export.csv_file(tmp_path / "clinicbot.db", "patients"))
    assert len(pieces) > 5
    assert max(len(p) for p in pieces) < 2 * export.CHUNK
    assert len(_rows(b"".join(pieces))) == 3000
    zipped = b"".join(export.csv_zip(tmp_path / "clinicbot.db"))
    archive = zipfile.ZipFile(io.BytesIO(zipped))
    assert len(_rows(archive.read("patients.csv"))) == 3000
