"""Settings › Health: reached from the connection corner, each line in plain words with what
to do, a quiet dot on Settings while something needs attention, and live updates."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.conftest import RunningServer, start_server
from tests.ui.conftest import Console, open_app
from tests.whatsapp_flow import settled


def test_the_corner_opens_the_health_view_which_says_what_needs_doing(
    staff: Page, demo: RunningServer, api: httpx.Client
) -> None:
    # The demo clinic has one reminder WhatsApp refused: the shell shows a dot on Settings.
    nav = staff.get_by_role("navigation", name="Screens")
    expect(nav.get_by_role("img", name="Needs attention: see Settings › Health")).to_be_visible()
    staff.get_by_role("status").filter(has_text="WhatsApp").click()
    health = staff.get_by_role("region", name="Health")
    expect(health).to_be_visible()
    assert staff.evaluate("() => location.hash") == "#/settings?section=health"
    checks = health.get_by_role("list", name="Health checks")
    failed = checks.get_by_role("listitem", name="Messages that failed")
    expect(failed).to_contain_text("Needs attention")
    expect(failed).to_contain_text("WhatsApp would not take 1 message")
    expect(failed.get_by_role("link", name="See failed messages")).to_have_attribute(
        "href", "#/inbox?failed=1"
    )
    expect(checks.get_by_role("listitem", name="Free disk space")).to_contain_text("free")
    facts = health.get_by_role("table", name="About this installation")
    expect(facts).to_contain_text(str(demo.data_dir.resolve() / "logs"))
    expect(facts).to_contain_text("0.1.0")
    backup = checks.get_by_role("listitem", name="Backups")
    expect(backup).to_contain_text("No backup yet")
    backup.get_by_role("button", name="Back up now").click()
    expect(backup).to_contain_text("The last backup was made")
    expect(backup).to_contain_text("Fine")

    # Staff send the failed reminder again: the lines update by themselves. This server has
    # no WhatsApp credentials, so the reminder (written days ago) now waits, and says so.
    waiting = checks.get_by_role("listitem", name="Messages waiting to go out")
    expect(waiting).to_contain_text("None: every reply has gone out.")
    [row] = api.get("/api/v1/messages/failed").json()
    assert api.post(f"/api/v1/messages/{row['id']}/retry").status_code == 200
    expect(failed).to_contain_text("None.")
    expect(waiting).to_contain_text("1 message is waiting; the oldest has waited")
    expect(waiting).to_contain_text("WhatsApp may be unreachable")
    expect(health.get_by_role("status", name="Overall health")).to_contain_text(
        "1 thing needs attention"
    )


def test_a_failing_backup_says_why_and_offers_to_back_up_now(
    page: Page, console: Console, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "usb"
    not_a_folder.write_text("a file where the USB drive's folder should be")
    server = start_server(
        tmp_path / "data",
        "--demo",
        env={"CLINICBOT_BACKUP_DELAY": "0", "CLINICBOT_BACKUP_COPY_DIR": str(not_a_folder)},
    )
    try:
        with server.client() as api:
            settled(lambda: api.get("/api/v1/status").json()["backup_error"], "the backup to fail")
        open_app(page, server, console, "#/settings?section=health")
        checks = page.get_by_role("list", name="Health checks")
        backup = checks.get_by_role("listitem", name="Backups")
        expect(backup).to_contain_text("Needs attention")
        expect(backup).to_contain_text("the last attempt failed: Could not copy the backup to")
        expect(backup.get_by_role("button", name="Back up now")).to_be_visible()
        copy = checks.get_by_role("listitem", name="Second copy (USB drive or network folder)")
        expect(copy).to_contain_text("is not there")
        corner = page.get_by_role("status").filter(has_text="WhatsApp")
        expect(corner).to_contain_text("backup failing")
        assert console.unexpected() == []
    finally:
        assert server.stop() == 0
