"""Settings › Backups: back up now from the window, and see the checked copy listed;
restore a backup while the app runs, after a question in plain words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from clinicbot.services import backups
from tests.conftest import RunningServer


def test_back_up_now_lists_a_checked_copy(staff: Page, demo: RunningServer) -> None:
    staff.evaluate("() => { location.hash = '#/settings?section=backups' }")
    section = staff.get_by_role("region", name="Backups")
    expect(section).to_contain_text(str(Path(demo.data_dir).resolve() / "backups"))
    clicked = datetime.now(UTC).replace(microsecond=0)
    section.get_by_role("button", name="Back up now").click()
    expect(
        staff.get_by_role("status").filter(has_text="Backup written and checked")
    ).to_be_visible()
    kept = backups.list_backups(Path(demo.data_dir) / "backups")
    assert kept, "no backup was written"
    assert kept[0].taken_at >= clicked  # made by this click
    backups.check(kept[0].path)
    table = section.get_by_role("table", name="Backups kept")
    expect(table.get_by_role("row").filter(has_text=kept[0].path.name)).to_be_visible()


def test_restore_asks_in_words_then_brings_the_backup_back_while_the_app_runs(
    staff: Page, demo: RunningServer, api: httpx.Client, clinic: dict[str, Any]
) -> None:
    made = api.post("/api/v1/backups").json()["name"]
    doctor = api.get("/api/v1/doctors", params={"clinic_id": clinic["id"]}).json()[0]
    service = api.get("/api/v1/services", params={"clinic_id": clinic["id"]}).json()[0]
    day = (date.today() + timedelta(days=3)).isoformat()
    slot = api.get(
        f"/api/v1/doctors/{doctor['id']}/slots",
        params={"date": day, "service_id": service["id"], "staff": "true"},
    ).json()[0]
    booked = api.post(
        "/api/v1/appointments",
        json={
            "clinic_id": clinic["id"],
            "doctor_id": doctor["id"],
            "service_id": service["id"],
            "patient_name": "Entered After Backup",
            "patient_phone": "+919811122233",
            "starts_at": slot["start"],
        },
    )
    assert booked.status_code == 201, booked.text

    staff.evaluate("() => { location.hash = '#/settings?section=backups' }")
    section = staff.get_by_role("region", name="Backups")
    section.get_by_role("button", name=f"Restore {made}").click()
    dialog = staff.get_by_role("dialog")
    changes = dialog.get_by_label("What the restore changes")
    expect(changes).to_contain_text("1 booking, 1 patient")
    expect(changes).to_contain_text("will be replaced by the backup's content")
    expect(changes).to_contain_text("before-restore-")
    dialog.get_by_role("button", name="Restore this backup").click()
    expect(staff.get_by_role("status").filter(has_text=f"Restored {made}")).to_be_visible()
    expect(dialog).to_have_count(0)

    assert api.get(f"/api/v1/appointments/{booked.json()['id']}").status_code == 404
    [kept] = backups.list_backups(Path(demo.data_dir) / "backups", backups.KEPT)
    backups.check(kept.path)
    replaced = section.get_by_role("table", name="Data replaced by a restore")
    expect(replaced.get_by_role("row").filter(has_text=kept.path.name)).to_be_visible()
