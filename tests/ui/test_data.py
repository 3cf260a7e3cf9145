"""Settings › Your data, and "Erase patient…" on a profile, in a real browser: import a CSV
through its preview, download the export, erase a patient, change how long message texts
are kept."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.ui.conftest import Console

JSON = dict[str, Any]

REGISTER = (
    "Patient Name,Mobile,Age\n"
    "Bhavna Iyer,98450 70001,41\n"
    "Devika Menon,98450 70002,\n"
    "No Number,,\n"
    "Bhavna twin,+91 98450 70001,\n"
)


def open_data(staff: Page) -> None:
    staff.evaluate("() => { location.hash = '#/settings?section=data' }")
    expect(staff.get_by_role("heading", name="Export everything")).to_be_visible()


def test_import_preview_then_import(
    staff: Page, api: httpx.Client, clinic: JSON, tmp_path: Path
) -> None:
    open_data(staff)
    section = staff.get_by_role("region", name="Import patients")
    section.get_by_label("CSV file to import").set_input_files(
        {"name": "register.csv", "mimeType": "text/csv", "buffer": REGISTER.encode()}
    )
    preview = section.get_by_role("region", name="Import preview")
    expect(preview).to_contain_text("nothing added yet")
    expect(preview.get_by_label("Counts")).to_contain_text("2 new")
    expect(preview.get_by_label("Counts")).to_contain_text("2 rejected")
    expect(preview).to_contain_text("Names from Patient Name")
    expect(preview).to_contain_text("not imported (clinicbot keeps no such field): Age")
    rows = preview.get_by_role("table", name="Rows of the file").locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(2)).to_contain_text("no phone number")
    expect(rows.nth(3)).to_contain_text("duplicate of line 2")
    assert (
        api.get(
            "/api/v1/patients/by-phone/9845070001", params={"clinic_id": clinic["id"]}
        ).status_code
        == 404
    )

    with staff.expect_download() as clicked:
        preview.get_by_role("button", name="Download rejected rows (CSV)").click()
    saved = tmp_path / "rejected.csv"
    clicked.value.save_as(saved)
    lines = saved.read_bytes().decode("utf-8-sig").splitlines()
    assert lines == [
        "Patient Name,Mobile,Age,line,reason",
        "No Number,,,4,no phone number",
        "Bhavna twin,+91 98450 70001,,5,duplicate of line 2",
    ]

    preview.get_by_role("button", name="Import 2 patients").click()
    report = section.get_by_role("region", name="Import report")
    expect(report.get_by_label("Counts")).to_contain_text("2 added")
    expect(
        staff.get_by_role("status").filter(has_text="2 patients added from register.csv")
    ).to_be_visible()
    found = api.get("/api/v1/patients/by-phone/9845070001", params={"clinic_id": clinic["id"]})
    assert found.status_code == 200 and found.json()["name"] == "Bhavna Iyer"

    # The same file again: both are already patients, named with a link to them.
    section.get_by_label("CSV file to import").set_input_files(
        {"name": "register.csv", "mimeType": "text/csv", "buffer": REGISTER.encode()}
    )
    again = section.get_by_role("region", name="Import preview")
    expect(again.get_by_label("Counts")).to_contain_text("0 new")
    expect(again.get_by_role("button", name="Nothing new to import")).to_be_disabled()
    expect(again.get_by_role("link", name="Bhavna Iyer")).to_be_visible()


def test_a_file_that_is_not_a_register_says_why(staff: Page, console: Console) -> None:
    console.allow(r"status of 400")  # the server refuses the file, as it should
    open_data(staff)
    section = staff.get_by_role("region", name="Import patients")
    section.get_by_label("CSV file to import").set_input_files(
        {"name": "notes.csv", "mimeType": "text/csv", "buffer": b"Name,Age\nA,3\n"}
    )
    expect(section.get_by_role("alert")).to_contain_text("No column of phone numbers found")


def test_export_download_holds_what_the_api_gives(
    staff: Page, api: httpx.Client, tmp_path: Path
) -> None:
    open_data(staff)
    section = staff.get_by_role("region", name="Export")
    with staff.expect_download() as clicked:
        section.get_by_role("button", name="Download CSV (zip)").click()
    saved = tmp_path / clicked.value.suggested_filename
    assert re.fullmatch(r"clinicbot-export-[\d-]+\.zip", saved.name)
    clicked.value.save_as(saved)
    mine = zipfile.ZipFile(saved)
    theirs = zipfile.ZipFile(io.BytesIO(api.get("/api/v1/export/csv").content))
    assert mine.namelist() == theirs.namelist()
    for name in mine.namelist():  # every file byte for byte (the zip's own dates differ)
        assert mine.read(name) == theirs.read(name), name

    with staff.expect_download() as clicked:
        section.get_by_role("button", name="Download JSON").click()
    path = tmp_path / "export.json"
    clicked.value.save_as(path)
    downloaded = path.read_bytes()
    expected = api.get("/api/v1/export/json").content
    stamp = re.compile(rb'"exported_at":"[^"]+"')  # the one value that names the moment
    assert stamp.sub(b"", downloaded) == stamp.sub(b"", expected)
    assert json.loads(downloaded)["tables"]["patients"]


def _first_free(api: httpx.Client, clinic: JSON) -> tuple[JSON, JSON, str]:
    doctor = api.get("/api/v1/doctors", params={"clinic_id": clinic["id"]}).json()[0]
    service = api.get("/api/v1/services", params={"clinic_id": clinic["id"]}).json()[0]
    day = date.today() + timedelta(days=3)
    for _ in range(14):
        slots = api.get(
            f"/api/v1/doctors/{doctor['id']}/slots",
            params={"date": day.isoformat(), "service_id": service["id"]},
        ).json()
        if slots:
            return doctor, service, str(slots[0]["start"])
        day += timedelta(days=1)
    raise AssertionError("no free time in two weeks")


def test_erase_a_patient_from_the_profile(
    staff: Page, api: httpx.Client, clinic: JSON, console: Console
) -> None:
    console.allow(r"status of 404")  # no WhatsApp thread; and the record is gone afterwards
    r = api.post(
        "/api/v1/patients",
        json={"clinic_id": clinic["id"], "name": "Quentin Erasable", "phone": "98450 79999"},
    )
    assert r.status_code == 201, r.text
    patient = r.json()
    doctor, service, start = _first_free(api, clinic)
    booked = api.post(
        "/api/v1/appointments",
        json={
            "clinic_id": clinic["id"],
            "doctor_id": doctor["id"],
            "service_id": service["id"],
            "patient_id": patient["id"],
            "patient_name": patient["name"],
            "patient_phone": patient["phone"],
            "starts_at": start,
        },
    )
    assert booked.status_code == 201, booked.text

    staff.evaluate("id => { location.hash = '#/patients/' + id }", patient["id"])
    expect(staff.get_by_role("heading", name="Quentin Erasable")).to_be_visible()
    staff.get_by_role("button", name="Erase patient…").click()
    dialog = staff.get_by_role("dialog", name="Erase patient")
    expect(dialog).to_contain_text("What goes")
    expect(dialog).to_contain_text("What stays, with no name: their 1 appointments")
    expect(dialog).to_contain_text("Backups made before today still hold them")
    erase = dialog.get_by_role("button", name="Erase for good")
    expect(erase).to_be_disabled()  # an upcoming visit: it must be cancelled with it
    dialog.get_by_label(re.compile("Also cancel their upcoming appointment")).check()
    erase.click()
    expect(staff.get_by_role("status").filter(has_text="Patient erased")).to_be_visible()
    expect(staff).to_have_url(re.compile(r"#/patients$"))
    assert api.get(f"/api/v1/patients/{patient['id']}").status_code == 404
    kept = api.get(f"/api/v1/appointments/{booked.json()['id']}").json()
    assert kept["status"] == "cancelled" and kept["patient_name"] == "Erased patient"


def test_retention_setting(staff: Page, api: httpx.Client) -> None:
    open_data(staff)
    section = staff.get_by_role("region", name="Message texts")
    choice = section.get_by_label("Keep message texts")
    expect(choice).to_have_value("")
    expect(section).to_contain_text("kept for as long as clinicbot runs")
    choice.select_option("90")
    expect(section).to_contain_text("Message text removed after 90 days")
    section.get_by_role("button", name="Save").click()
    dialog = staff.get_by_role("dialog", name="Remove old message texts?")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Remove texts older than 90 days").click()
    expect(staff.get_by_role("status").filter(has_text="texts kept 90 days")).to_be_visible()
    assert api.get("/api/v1/data/retention").json()["days"] == 90
    choice.select_option("")
    section.get_by_role("button", name="Save").click()  # keeping more asks nothing
    expect(staff.get_by_role("status").filter(has_text="kept forever")).to_be_visible()
    assert api.get("/api/v1/data/retention").json()["days"] is None
