"""axe-core on the main pages of the web app: no serious or critical violations, and no sideways
scrolling at 360 px wide, in every shipped language (English, Spanish, Arabic right to left).

Pages: the first screen, join, entries, write, escrow, a record, counselor unlock, matches and an
opened match. To reach a match cheaply, two reporters escrow through the Python SDK and the third
through the browser (the quorum flow itself is test_quorum_flow.py). Each language names its own
person (an email address of its own), so the three runs share one deployment and make one match each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from .browser import axe_violations, describe_violations, screenshot
from .ui import REPORTERS, escrow, join, matches_count, say, unlock_counselor, wait_for_match, write_record

pytestmark = pytest.mark.web

FAST_KDF = {"memory_cost_kib": 1024, "iterations": 1, "lanes": 1}


def check(page: Page, name: str, found: dict[str, Any]) -> None:
    found[name] = list(axe_violations(page))
    page.set_viewport_size({"width": 360, "height": 800})
    overflow = page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")
    if overflow > 0:
        found[name].append({"id": "narrow-overflow", "impact": "serious", "help": f"{overflow}px wider than 360"})
    page.set_viewport_size({"width": 1000, "height": 900})


LANGUAGES = ["en", "es", "ar"]
LANGUAGE_KEY = "consilience.language"


def names_for(lang: str, names: list[tuple[str, str, str | None]]) -> list[tuple[str, str, str | None]]:
    """The person REPORTERS name, in English; in another language's run a person of its own (their email
    addresses with ".<lang>" before the @ or the +tag; the phone numbers left out)."""
    if lang == "en":
        return names
    own = []
    for kind, typed, region in names:
        if "@" in typed:
            local, domain = typed.split("@")
            user, plus, tag = local.partition("+")
            own.append((kind, f"{user}.{lang}{plus}{tag}@{domain}", region))
    return own


def escrow_with_sdk(dep: Any, tmp: Path, n: int, lang: str) -> None:
    from consilience.clients import reporter

    who = REPORTERS[n]
    [invite] = dep.invites(1)
    names = names_for(lang, who["names"])
    session = reporter.register(dep.url, invite, who["contact"], tmp / f"wallet{n}.sealed",
                                who["passphrase"], kdf_params=FAST_KDF)
    record = reporter.write(session, who["record"])
    reporter.escrow(session, record.record_id, [t for _, t, _ in names],
                    default_region=next((r for _, _, r in names if r), None))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_main_pages_have_no_serious_accessibility_violations(web_deployment, open_tab, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                             lang: str) -> None:
    dep = web_deployment
    found: dict[str, Any] = {}
    before = matches_count(dep)
    for n in (1, 2):
        escrow_with_sdk(dep, tmp_path, n, lang)
    chosen = {"cookies": [], "origins": [{"origin": dep.url, "localStorage": [{"name": LANGUAGE_KEY, "value": lang}]}]}

    tab = open_tab("/", storage_state=chosen)
    page = tab.page
    page.locator("h1").first.wait_for()
    assert page.evaluate("document.documentElement.lang") == lang
    check(page, "start", found)
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "reporter-start-360px" if lang == "en" else f"{lang}-reporter-start-360px")
    page.set_viewport_size({"width": 1000, "height": 900})
    page.get_by_role("link", name=say(page, "I have an invite")).click()
    check(page, "join", found)
    page.get_by_role("link", name=say(page, "Back")).click()
    [invite] = dep.invites(1)
    join(page, invite, REPORTERS[0]["contact"], REPORTERS[0]["passphrase"])
    check(page, "entries (empty)", found)
    page.get_by_role("navigation").get_by_role("link", name=say(page, "Write a record")).click()
    check(page, "write", found)
    write_record(page, REPORTERS[0])
    check(page, "record (private)", found)
    page.get_by_role("link", name=say(page, "Put in escrow…")).click()
    page.locator("#e-quorum").wait_for()
    row = page.locator(".ident-row").first
    row.get_by_label(say(page, "Their address, number or profile")).fill("not an address")
    row.get_by_label(say(page, "Their address, number or profile")).blur()
    page.locator(".field-error:not([hidden])").first.wait_for()
    check(page, "escrow (with a refusal)", found)
    page.get_by_role("link", name=say(page, "Cancel")).click()
    escrow(page, names_for(lang, REPORTERS[0]["names"]))
    check(page, "record (in escrow)", found)
    wait_for_match(dep, before + 1)
    page.get_by_role("link", name=say(page, "Your records")).click()
    check(page, "entries", found)

    counselor_tab = open_tab("/counselor/", storage_state=chosen)
    counselor = counselor_tab.page
    counselor.locator("h1").first.wait_for()
    check(counselor, "counselor unlock", found)
    unlock_counselor(counselor, dep.counselor_key, dep.counselor_passphrase)
    check(counselor, "counselor matches", found)
    cases = counselor.locator("#cases-list h2 a")
    cases.nth(before).wait_for()
    cases.first.click()  # any match of three: each run's records are the same texts
    counselor.locator("#case-body section.match h2").first.wait_for(timeout=180_000)
    check(counselor, "counselor match opened", found)

    bad = {name: describe_violations(v) for name, v in found.items() if v}
    assert not bad, "serious or critical accessibility problems:\n" + "\n".join(f"{k}:\n{v}" for k, v in bad.items())
    assert len(found) == 11
    tab.assert_clean()
    counselor_tab.assert_clean()
