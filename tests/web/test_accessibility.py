"""axe-core on the main pages of the web app: no serious or critical violations, and no sideways
scrolling at 360 px wide.

Pages: the first screen, join, entries, write, escrow, a record, counselor unlock, matches and an
opened match. To reach a match cheaply, two reporters escrow through the Python SDK and the third
through the browser (the quorum flow itself is test_quorum_flow.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from .browser import axe_violations, describe_violations, screenshot
from .ui import REPORTERS, escrow, join, unlock_counselor, wait_for_match, write_record

pytestmark = pytest.mark.web

FAST_KDF = {"memory_cost_kib": 1024, "iterations": 1, "lanes": 1}


def check(page: Page, name: str, found: dict[str, Any]) -> None:
    found[name] = list(axe_violations(page))
    page.set_viewport_size({"width": 360, "height": 800})
    overflow = page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")
    if overflow > 0:
        found[name].append({"id": "narrow-overflow", "impact": "serious", "help": f"{overflow}px wider than 360"})
    page.set_viewport_size({"width": 1000, "height": 900})


def escrow_with_sdk(dep: Any, tmp: Path, n: int) -> None:
    from consilience.clients import reporter

    who = REPORTERS[n]
    [invite] = dep.invites(1)
    session = reporter.register(dep.url, invite, who["contact"], tmp / f"wallet{n}.sealed",
                                who["passphrase"], kdf_params=FAST_KDF)
    record = reporter.write(session, who["record"])
    reporter.escrow(session, record.record_id, [t for _, t, _ in who["names"]],
                    default_region=next((r for _, _, r in who["names"] if r), None))


def test_main_pages_have_no_serious_accessibility_violations(web_deployment, open_tab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    found: dict[str, Any] = {}
    for n in (1, 2):
        escrow_with_sdk(dep, tmp_path, n)

    tab = open_tab("/")
    page = tab.page
    page.locator("h1").first.wait_for()
    check(page, "start", found)
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "reporter-start-360px")
    page.set_viewport_size({"width": 1000, "height": 900})
    page.get_by_role("link", name="I have an invite").click()
    check(page, "join", found)
    page.get_by_role("link", name="Back").click()
    [invite] = dep.invites(1)
    join(page, invite, REPORTERS[0]["contact"], REPORTERS[0]["passphrase"])
    check(page, "entries (empty)", found)
    page.get_by_role("navigation").get_by_role("link", name="Write a record").click()
    check(page, "write", found)
    write_record(page, REPORTERS[0])
    check(page, "record (private)", found)
    page.get_by_role("link", name="Put in escrow…").click()
    page.locator("#e-quorum").wait_for()
    row = page.locator(".ident-row").first
    row.get_by_label("Their address, number or profile").fill("not an address")
    row.get_by_label("Their address, number or profile").blur()
    page.locator(".field-error:not([hidden])").first.wait_for()
    check(page, "escrow (with a refusal)", found)
    page.get_by_role("link", name="Cancel").click()
    escrow(page, REPORTERS[0]["names"])
    check(page, "record (in escrow)", found)
    wait_for_match(dep)
    page.get_by_role("link", name="Your records").click()
    check(page, "entries", found)

    counselor_tab = open_tab("/counselor/")
    counselor = counselor_tab.page
    counselor.locator("h1").first.wait_for()
    check(counselor, "counselor unlock", found)
    unlock_counselor(counselor, dep.counselor_key, dep.counselor_passphrase)
    check(counselor, "counselor matches", found)
    counselor.get_by_role("link", name="Match of 3 released records").click()
    counselor.get_by_role("heading", name="Match: 3 records opened").wait_for(timeout=180_000)
    check(counselor, "counselor match opened", found)

    bad = {name: describe_violations(v) for name, v in found.items() if v}
    assert not bad, "serious or critical accessibility problems:\n" + "\n".join(f"{k}:\n{v}" for k, v in bad.items())
    assert len(found) == 11
    tab.assert_clean()
    counselor_tab.assert_clean()
