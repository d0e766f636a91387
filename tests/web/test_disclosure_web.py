"""A disclosure made in the reporter app and checked on the offline verify page (PROTOCOL.md §12, §14.3).

A reporter escrows a record in the browser and exports "a proof of this record" (after the warning);
the file is then opened on /verify.html in another context whose network was turned off after the
page loaded: the page checks it, shows the record and when it was in the log, and no request leaves
the page while it checks. The same file with its body key changed is refused, naming that field.
The verify page passes axe-core.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .browser import axe_violations, describe_violations
from .ui import REPORTERS, download, escrow, join, write_record

pytestmark = pytest.mark.web


def test_a_proof_exported_from_the_app_is_checked_offline_and_a_changed_one_refused(  # type: ignore[no-untyped-def]
        web_deployment, open_tab, tmp_path: Path) -> None:
    dep = web_deployment
    who = REPORTERS[2]
    tab = open_tab("/")
    page = tab.page
    [invite] = dep.invites(1)
    join(page, invite, who["contact"], who["passphrase"])
    write_record(page, who)
    escrow(page, who["names"])

    page.get_by_role("button", name="Export a proof of this record…").click()
    expect(page.get_by_role("heading", name="Export a proof of this record?")).to_be_focused()
    expect(page.locator("#disclosure-confirm")).to_contain_text("the names you gave and your contact")
    saved = download(page, page.get_by_role("button", name="Yes, export the proof"), tmp_path)
    expect(page.locator("#note")).to_contain_text("The proof was saved and checked")
    doc = json.loads(saved.read_text())
    assert doc["format"] == "consilience-disclosure/v1"
    assert doc["admin_fingerprint"] == dep.admin_fingerprint
    tab.assert_clean()

    checker = open_tab("/verify.html")
    vpage = checker.page
    vpage.get_by_role("heading", name="Check a proof of a record", level=1).wait_for()
    violations = axe_violations(vpage)
    assert violations == [], describe_violations(violations)
    vpage.wait_for_load_state("networkidle")  # the quick-exit settings (/app-config.json) are fetched at load
    loaded = len(checker.requests)
    checker.context.set_offline(True)
    vpage.get_by_label("Choose the proof file, or drop it here").set_input_files(str(saved))
    expect(vpage.locator("#verify-ok")).to_contain_text("The proof checks out", timeout=60_000)
    expect(vpage.locator("#verify-text")).to_have_text(who["record"])
    expect(vpage.locator("#verify-when")).to_contain_text("In the log by")
    expect(vpage.get_by_role("link", name="photo.png (1 KB)")).to_be_visible()
    violations = axe_violations(vpage)
    assert violations == [], describe_violations(violations)
    # Only the attachment's blob: link may have been made; nothing went to any server.
    assert [u for u in checker.requests[loaded:] if not u.startswith("blob:")] == []

    changed = json.loads(saved.read_text())
    key = bytearray(base64.urlsafe_b64decode(changed["body_key"] + "="))
    key[0] ^= 1
    changed["body_key"] = base64.urlsafe_b64encode(bytes(key)).rstrip(b"=").decode()
    bad = tmp_path / "changed.disclosure.json"
    bad.write_text(json.dumps(changed))
    vpage.get_by_label("Choose the proof file, or drop it here").set_input_files(str(bad))
    expect(vpage.locator("#verify-refused")).to_contain_text("This proof does not check out")
    expect(vpage.locator("#verify-reason")).to_contain_text("body_key")
    assert [u for u in checker.requests[loaded:] if not u.startswith("blob:")] == []
    checker.assert_clean()
