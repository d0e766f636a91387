"""Recovery on a new device in the browser (PROTOCOL.md §14.1), over the real servers.

A reporter joins in one browser context, writes a record and puts it in escrow; the page shows the
account handle once the backup is set up. A second, fresh browser context (a new device: empty
IndexedDB) first types a wrong passphrase and is told how many tries are left, then recovers with
the handle and the right passphrase and sees the record, in escrow, with its receipt checked; a
backup made by the Python client comes back in the browser too. The new screens pass the
accessibility check. One deployment for the module (tests/web/conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .browser import Tab, axe_violations, describe_violations
from .ui import SLOW, escrow, join, wait_for_heading, write_record

pytestmark = pytest.mark.web

WHO: dict[str, Any] = {
    "contact": "Signal: recovering.reporter.5120",
    "passphrase": "harbour lantern quietly walnut 9",
    "record": "He followed me home from the station twice in one week.",
    "details": {"what": "Followed home from the station", "when": "last winter"},
    "names": [("Email address", "rec.person.nine@example.org", None)],
}
FAST_KDF = {"memory_cost_kib": 1024, "iterations": 1, "lanes": 1}
HANDLE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


def no_serious_violations(tab: Tab, name: str) -> None:
    found = axe_violations(tab.page)
    assert not found, f"{name}: " + describe_violations(found)


def test_a_new_device_recovers_with_the_handle_and_the_passphrase(web_deployment: Any,
                                                                   open_tab: Callable[..., Tab]) -> None:
    dep = web_deployment
    first = open_tab("/")
    [invite] = dep.invites(1)
    join(first.page, invite, WHO["contact"], WHO["passphrase"])
    # the handle appears on the records page once the backup is at the escrow server
    handle_box = first.page.locator("#recovery-handle")
    expect(handle_box).to_have_text(HANDLE, timeout=SLOW)
    handle = handle_box.inner_text()
    expect(first.page.locator("#note")).to_contain_text(handle)
    expect(first.page.locator("#recovery-status")).to_have_text("Your backup is up to date.", timeout=SLOW)
    no_serious_violations(first, "records page with the handle")
    write_record(first.page, WHO)
    escrow(first.page, WHO["names"])
    first.page.get_by_role("link", name="Your records").click()
    wait_for_heading(first.page, "Your records")
    expect(first.page.locator("#recovery-status")).to_have_text("Your backup is up to date.", timeout=SLOW)
    first.assert_clean()

    # a new device: nothing in this browser
    second = open_tab("/")
    page = second.page
    page.get_by_role("link", name="Recover on this device").click()
    wait_for_heading(page, "Recover on this device")
    no_serious_violations(second, "recover")
    # a mistyped handle is refused before anything is asked
    page.locator("#recover-handle").fill("7KQ2-M9XD-4RTA")
    page.locator("#recover-pass").fill(WHO["passphrase"])
    page.get_by_role("button", name="Recover my records").click()
    expect(page.locator("#recover-handle-error")).to_contain_text("16 letters and digits in four groups")
    # a wrong passphrase: the tries left, counted by the key servers
    page.locator("#recover-handle").fill(handle.lower().replace("-", " "))
    page.locator("#recover-pass").fill("harbour lantern quietly walnut 8")
    page.get_by_role("button", name="Recover my records").click()
    error = page.locator("#recover-pass-error")
    expect(error).to_have_text(re.compile(r"That passphrase did not open the backup\. You have 9 tries left at this "
                                          r"deployment before recovery pauses\."), timeout=SLOW)
    expect(page.locator("#recover-handle")).to_have_value(handle)
    no_serious_violations(second, "recover (wrong passphrase)")
    # the right one: everything is back
    page.locator("#recover-pass").fill(WHO["passphrase"])
    page.get_by_role("button", name="Recover my records").click()
    wait_for_heading(page, "Your records")
    expect(page.locator("#note")).to_contain_text("Everything is back: 1 record, 1 in escrow.", timeout=SLOW)
    # every key server took the signed reset (the tries counted so far were this person's own)
    expect(page.locator("#note")).not_to_contain_text("could not be told")
    expect(page.locator("#entries-list")).to_contain_text("In escrow")
    expect(page.locator("#recovery-handle")).to_have_text(handle)
    page.locator("#entries-list a").first.click()
    expect(page.locator("main")).to_contain_text(WHO["record"], timeout=SLOW)
    second.assert_clean()

    # the recovered wallet is kept in this browser: locking and unlocking it needs no server
    page.get_by_role("button", name="Lock").click()
    page.locator("#unlock-pass").fill(WHO["passphrase"])
    page.get_by_role("button", name="Unlock").click()
    wait_for_heading(page, "Your records")
    expect(page.locator("#entries-list")).to_contain_text("In escrow")


def test_a_backup_made_by_the_command_line_comes_back_in_the_browser(web_deployment: Any,
                                                                      open_tab: Callable[..., Tab],
                                                                      tmp_path: Path) -> None:
    """The other way round: the Python client registers, writes and backs up; the browser recovers it."""
    from consilience.clients import recovery as recovery_client
    from consilience.clients import reporter

    dep = web_deployment
    [invite] = dep.invites(1)
    passphrase = "pebble tramway morning copper 4"
    session = reporter.register(dep.url, invite, "Signal: cli.reporter.77", tmp_path / "wallet.sealed", passphrase,
                                kdf_params=FAST_KDF)
    reporter.write(session, "Written with the command line, recovered in a browser.")
    if not session.wallet.backup_handle:  # registration sets it up; if it had to wait, do it now
        recovery_client.set_up(session)
    handle = session.wallet.backup_handle
    assert HANDLE.match(handle)

    tab = open_tab("/")
    page = tab.page
    page.get_by_role("link", name="Recover on this device").click()
    page.locator("#recover-handle").fill(handle)
    page.locator("#recover-pass").fill(passphrase)
    page.get_by_role("button", name="Recover my records").click()
    wait_for_heading(page, "Your records")
    expect(page.locator("#note")).to_contain_text("Everything is back: 1 record, 0 in escrow.", timeout=SLOW)
    page.locator("#entries-list a").first.click()
    expect(page.locator("main")).to_contain_text("Written with the command line, recovered in a browser.")
    tab.assert_clean()
