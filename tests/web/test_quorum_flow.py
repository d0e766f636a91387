"""The web app end to end in headless Chromium: three reporters reach quorum, a counselor opens the match.

Every reporter has their own browser context (their own IndexedDB), joins with an invite, writes a
structured record and puts it in escrow naming the same person, each typing the identifiers their
own way (email case and Gmail dots, a phone number in national format with its region). Every
reporter sees "In escrow" throughout (protocol v2: nothing a reporter sees tells whether anyone else
named the same person); after the third the escrow server's release pass makes the match, and a
counselor in a fourth context unlocks the key file made by the CLI and reads all three records and
contacts, decrypted in the browser, each reporter shown by an abscissa pseudonym and no account id.
Finally the server's files are scanned: no record text and no identifier in clear.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .browser import screenshot
from .ui import (
    REPORTERS,
    escrow,
    expect_status,
    join,
    log_vkey,
    matches_count,
    unlock_counselor,
    wait_for_match,
    write_record,
)

pytestmark = pytest.mark.web

TIMEOUT = 180_000  # ms; Argon2id (64 MiB) in JavaScript on a shared 2-core machine


def test_three_reporters_reach_quorum_and_the_counselor_reads_them(web_deployment, open_tab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    invites = dep.invites(3)
    tabs = []
    for i, (who, invite) in enumerate(zip(REPORTERS, invites, strict=True)):
        tab = open_tab("/")
        tabs.append(tab)
        page = tab.page
        if i == 0:
            screenshot(page, "reporter-start")
        join(page, invite, who["contact"], who["passphrase"], shoot=(i == 0))
        write_record(page, who, shoot=(i == 0))
        escrow(page, who["names"], shoot=(i == 0))
        expect_status(page, "In escrow")
        if i < 2:
            assert matches_count(dep) == 0, "nothing may be released before the third reporter"
    wait_for_match(dep)
    assert matches_count(dep) == 1

    # the first reporter's page asks the server again: still "In escrow" (never "Released"); receipts are listed
    first = tabs[0].page
    first.get_by_role("link", name="Your records").click()
    first.get_by_role("button", name="Check for updates").click()
    expect(first.locator("#entries-list .badge").first).to_have_text("In escrow", timeout=30_000)
    expect(first.locator("#entries-list")).not_to_contain_text("Released")
    screenshot(first, "reporter-entries")
    first.locator("#entries-list a").first.click()
    receipt_link = first.get_by_role("link", name="Download").first
    receipt_link.wait_for()
    with first.expect_download() as info:
        receipt_link.click()
    receipt = tmp_path / info.value.suggested_filename
    info.value.save_as(receipt)
    assert receipt.name.endswith(".tlog-proof")
    vkey = log_vkey(dep)
    verified = subprocess.run([sys.executable, "-m", "consilience", "verify", str(receipt), "--log-key", vkey,
                               "--json"], capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["event"] == "entry"

    # the exported wallet file is the CLI's: `consilience reporter list --wallet FILE` reads it
    first.get_by_role("link", name="Your records").click()
    with first.expect_download() as info:
        first.get_by_role("button", name="Export wallet file").click()
    wallet = tmp_path / "wallet.sealed"
    info.value.save_as(wallet)
    env = {**os.environ, "CONSILIENCE_PASSPHRASE": REPORTERS[0]["passphrase"], "CONSILIENCE_HOME": str(tmp_path)}
    listed = subprocess.run([sys.executable, "-m", "consilience", "reporter", "list", "--wallet", str(wallet),
                             "--offline", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    records = json.loads(listed.stdout)["records"]
    assert len(records) == 1 and records[0]["escrow"]["status"] == "escrowed"
    assert records[0]["escrow"]["canonical"][0] == "email:samdoe@gmail.com"

    # lock, then unlock again with the passphrase
    first.get_by_role("button", name="Lock").click()
    first.locator("#unlock-form").get_by_label("Passphrase").fill(REPORTERS[0]["passphrase"])
    first.get_by_role("button", name="Unlock").click()
    first.get_by_role("heading", name="Your records", level=1).wait_for(timeout=TIMEOUT)

    # the counselor, in a fourth context
    counselor_tab = open_tab("/counselor/")
    counselor = counselor_tab.page
    screenshot(counselor, "counselor-unlock")
    unlock_counselor(counselor, dep.counselor_key, dep.counselor_passphrase)
    counselor.get_by_role("link", name="Match of 3 released records").click()
    counselor.get_by_role("heading", name="Match: 3 records opened").wait_for(timeout=TIMEOUT)
    body = counselor.locator("#case-body").inner_text()
    for who in REPORTERS:
        assert who["record"] in body
        assert who["details"]["what"] in body
        assert who["contact"] in body
    assert "email:samdoe@gmail.com" in body and "phone:+442079460958" in body
    attachment = counselor.get_by_role("link", name="photo.png (1 KB, image/png)")
    with counselor.expect_download() as info:
        attachment.click()
    assert Path(info.value.path()).read_bytes() == REPORTERS[2]["attachment"]
    assert "could not be used" not in body
    # reporters are shown by pseudonyms (16 hex digits of the abscissa), three different ones, no account id
    pseudonyms = counselor.locator("#case-body code.pseudonym").all_inner_texts()
    assert len(pseudonyms) == 3 and len(set(pseudonyms)) == 3, pseudonyms
    assert all(len(p) == 16 and all(c in "0123456789abcdef" for c in p) for p in pseudonyms), pseudonyms
    screenshot(counselor, "counselor-match")

    # the server holds no plaintext record, contact or identifier
    needles = set()
    for who in REPORTERS:
        needles |= {who["record"], who["record"][:24], who["contact"], *who["details"].values(), *who["names_typed"]}
    needles |= {"samdoe@gmail.com", "email:samdoe@gmail.com", "+442079460958", "2079460958"}
    files = [p for p in Path(dep.root).rglob("*") if p.is_file()]
    assert any(p.name.startswith("escrow.sqlite") for p in files)
    lowered = {n.lower().encode() for n in needles}
    for path in files:
        content = path.read_bytes().lower()
        for needle in lowered:
            assert needle not in content, f"{needle!r} found in clear in {path}"

    for tab in [*tabs, counselor_tab]:
        tab.assert_clean()
