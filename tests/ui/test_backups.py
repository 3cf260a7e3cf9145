"""Settings › Backups: back up now from the window, and see the checked copy listed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

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
