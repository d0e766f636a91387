"""The reporter's whole first run by keyboard alone: Tab to reach a control, type into it, Enter to act.

No click, no fill, no mouse: each step presses Tab until the control a person wants has the focus (failing
if Tab never gets there), so a control that cannot be reached or used from the keyboard fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from .ui import REPORTERS, SLOW, wait_for_heading

pytestmark = pytest.mark.web

TABS = 80  # more than any page of the app has controls before the one wanted


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user does."""
    target.wait_for()
    for _ in range(TABS):
        if target.evaluate("(el) => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reaches {target}")


def type_into(page: Page, target: Locator, text: str) -> None:
    tab_to(page, target)
    page.keyboard.type(text)


def focus_is_on_the_page(page: Page) -> bool:
    """After a step, the focus moved to something of the new state (a heading, a notice), not lost on <body>."""
    return bool(page.evaluate("() => { const a = document.activeElement;"
                              " return a !== null && a !== document.body && a.checkVisibility(); }"))


def test_join_write_escrow_lock_and_unlock_by_keyboard_alone(web_deployment, open_tab) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    who: dict[str, Any] = REPORTERS[1]
    tab = open_tab("/")
    page = tab.page
    [invite] = dep.invites(1)

    tab_to(page, page.get_by_role("link", name="I have an invite"))
    page.keyboard.press("Enter")
    type_into(page, page.get_by_label("Invite", exact=True), invite)
    type_into(page, page.get_by_label("How a counselor can reach you"), who["contact"])
    type_into(page, page.get_by_label("Choose a passphrase"), who["passphrase"])
    type_into(page, page.get_by_label("Type the passphrase again"), who["passphrase"])
    page.keyboard.press("Enter")  # submits the form from its last field
    wait_for_heading(page, "Your records")
    assert focus_is_on_the_page(page)

    tab_to(page, page.get_by_role("navigation").get_by_role("link", name="Write a record"))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Write a record", level=1).wait_for()
    type_into(page, page.get_by_label("What happened", exact=True), who["details"]["what"])
    type_into(page, page.get_by_label("Anything else"), who["record"])
    tab_to(page, page.get_by_role("button", name="Save privately"))
    page.keyboard.press("Enter")
    expect(page.locator("#note")).to_contain_text("Saved privately in your wallet", timeout=60_000)
    assert focus_is_on_the_page(page)

    tab_to(page, page.get_by_role("link", name="Put in escrow…"))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Put this record in escrow", level=1).wait_for()
    kind = page.locator(".ident-row").first.get_by_label("Kind")
    tab_to(page, kind)
    expect(kind).to_have_value("email")  # the first choice; arrow keys would change it
    type_into(page, page.locator(".ident-row").first.get_by_label("Their address, number or profile"),
              "keyboard.named@example.org")
    expect(page.get_by_text(re.compile("^We will match on: "))).to_have_text(
        "We will match on: keyboard.named@example.org")
    expect(page.locator("#e-quorum")).to_have_value(re.compile(r"\d"), timeout=30_000)
    tab_to(page, page.get_by_role("button", name="Put in escrow"))
    page.keyboard.press("Enter")
    expect(page.locator("#note")).to_contain_text("Your record is in escrow", timeout=SLOW)
    expect(page.locator("#record-body .badge").first).to_have_text("In escrow")
    assert focus_is_on_the_page(page)

    tab_to(page, page.get_by_role("button", name="Lock"))
    page.keyboard.press("Enter")
    type_into(page, page.locator("#unlock-form").get_by_label("Passphrase"), who["passphrase"])
    page.keyboard.press("Enter")
    wait_for_heading(page, "Your records")
    expect(page.locator("#entries-list > li")).to_have_count(1)
    tab.assert_clean()
