"""The web app as a person meets it the first times: what they see after a mistake, when the key
servers do not let this page in, what withdrawing promises, the phone field's country, receipts
on a small phone, and words as people read them.

Every check is on what the page shows (text, where it is on the screen, where the focus is) and,
where the page makes a claim, on what the server holds. This module has its own loopback
deployment (quorum 3, key servers 2-of-3, CORS for the escrow server's origin, 127.0.0.1); each
test is a new person naming different people, so no test counts towards another's match.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from consilience.clients.escrow_client import EscrowClient
from consilience.datadir import web_origins
from consilience.local import loopback
from consilience.protocol.encoding import b64u_decode

from .browser import Tab, describe_violations
from .conftest import ADMIN_PASSPHRASE, COUNSELOR_NAME, COUNSELOR_PASSPHRASE, KDF, WebDeployment
from .ui import (
    SLOW,
    escrow,
    expect_in_view_and_focused,
    expect_status,
    export_wallet,
    fill_escrow,
    join,
    submit_escrow_expecting_error,
    unlock_reporter,
    wait_for_alert,
    withdraw,
    write_record,
)

pytestmark = pytest.mark.web

DESKTOP: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def web_deployment(tmp_path_factory: pytest.TempPathFactory, web_static: Path) -> Iterator[WebDeployment]:
    """conftest's deployment, but its key servers allow the escrow server's own origin only.

    ``admin init`` allows both names of a loopback address (127.0.0.1 and localhost); an operator
    who names one origin with ``--web-origin`` gets exactly that one, which is the configuration
    the blocked-origin test below needs: the same app opened as localhost is then refused.
    """
    deployment = loopback.create(tmp_path_factory.mktemp("web-first-run"), ADMIN_PASSPHRASE, quorum=3,
                                 kdf_params=KDF)
    for index in range(1, len(deployment.keyservers) + 1):
        web_origins.write(deployment.layout.keyserver(index).web_origins, [deployment.url])
    with deployment.start(env={"CONSILIENCE_WEB_STATIC": str(web_static)}):
        key = deployment.layout.counselor_key
        deployment.add_counselor(COUNSELOR_NAME, key, COUNSELOR_PASSPHRASE)
        yield WebDeployment(deployment, key, COUNSELOR_PASSPHRASE, COUNSELOR_NAME, dict(KDF))


def person(n: int, who: str) -> dict[str, Any]:
    return {
        "contact": f"Signal: {who}.first.run.{n}",
        "passphrase": f"quiet meadow lantern {who} {n}",
        "record": f"What happened to {who}, written down on the first evening.",
        "details": {"what": f"{who.capitalize()} record {n}", "when": "last winter"},
    }


def new_reporter(open_tab: Callable[..., Tab], dep: Any, who: dict[str, Any], **context: Any) -> Tab:
    tab = open_tab("/", **context)
    [invite] = dep.invites(1)
    join(tab.page, invite, who["contact"], who["passphrase"])
    write_record(tab.page, who)
    return tab


def server_statuses(dep: Any, wallet: Any) -> dict[str, str]:
    with EscrowClient(dep.url, b64u_decode(wallet.token)) as client:
        return {str(e.entry_id): e.status for e in client.entries()}


def entry_posts(page: Page) -> list[str]:
    """Record every POST or PUT of an entry the page makes from now on."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url)
            if r.method in ("POST", "PUT") and re.search(r"/v2/entries(/|$)", r.url) else None)
    return sent


# --- 1. a wrong passphrase on a return visit ------------------------------------------------------

def test_a_wrong_passphrase_on_a_return_visit_is_shown_where_the_person_is(web_deployment, open_tab, axe) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    who = person(1, "returning")
    tab = open_tab("/", viewport=DESKTOP)
    page = tab.page
    [invite] = dep.invites(1)
    join(page, invite, who["contact"], who["passphrase"])

    # the return visit: the first screen, with the unlock box on it (no scrolling needed)
    page.goto(dep.reporter_url)
    page.get_by_role("heading", name="Unlock your records").wait_for()
    assert page.evaluate("window.scrollY") == 0
    unlock_button = page.locator("#unlock-form").get_by_role("button", name="Unlock")
    box = unlock_button.bounding_box()
    assert box is not None and box["y"] + box["height"] <= DESKTOP["height"], \
        f"the Unlock button is below the first screen: {box}"

    unlock_reporter(page, "not my passphrase at all")
    assert wait_for_alert(page) == "That passphrase does not open this wallet."
    expect_in_view_and_focused(page, "#alert")
    expect(page.get_by_role("alert")).to_have_text("That passphrase does not open this wallet.")

    violations = axe(page)
    assert not violations, describe_violations(violations)

    # at 360 px the unlock box is on the first screen too
    page.set_viewport_size({"width": 360, "height": 740})
    page.evaluate("window.scrollTo(0, 0)")
    box = unlock_button.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 740, \
        f"at 360 px the Unlock button is below the first screen: {box}"

    page.set_viewport_size(DESKTOP)
    unlock_reporter(page, who["passphrase"])
    page.get_by_role("heading", name="Your records", level=1).wait_for(timeout=SLOW)
    expect(page.locator("#alert")).to_be_empty()
    tab.assert_clean()


# --- 2. key servers that do not allow this page's address -------------------------------------------

def cors_allows(keyserver_url: str, page_origin: str) -> bool:
    """Would the key server let a page at page_origin POST to it (its answer to the preflight)?"""
    request = urllib.request.Request(
        keyserver_url.rstrip("/") + "/v2/evaluate", method="OPTIONS",
        headers={"Origin": page_origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            allowed = answer.headers.get("Access-Control-Allow-Origin")
    except urllib.error.HTTPError as refused:
        allowed = refused.headers.get("Access-Control-Allow-Origin")
    return allowed in (page_origin, "*")


def test_key_servers_that_do_not_allow_this_pages_address_are_named_with_the_fix(  # type: ignore[no-untyped-def]
        web_deployment, open_tab, axe, tmp_path: Path) -> None:
    dep = web_deployment
    port = urlsplit(dep.url).port
    usual, other = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    assert dep.url.rstrip("/") == usual, f"the fixture serves at {dep.url}, this test expects {usual}"
    # this module's key servers allow the escrow server's origin (127.0.0.1) only, so the same app
    # opened as localhost is another origin they refuse: the situation this test is about
    assert all(cors_allows(u, usual) for u in dep.keyserver_urls)
    assert not any(cors_allows(u, other) for u in dep.keyserver_urls), \
        "the fixture's key servers now allow localhost too: give this test an origin they refuse"

    who = person(2, "elsewhere")
    tab = open_tab("/", viewport=DESKTOP)
    tab.allowed_origins.add(other)
    page = tab.page
    page.goto(other + "/")
    page.locator("h1").first.wait_for()
    [invite] = dep.invites(1)
    join(page, invite, who["contact"], who["passphrase"])
    write_record(page, who)
    sent = entry_posts(page)
    fill_escrow(page, [("Email address", "cors.origin.person@example.org", None)])
    error = submit_escrow_expecting_error(page)

    assert "Your record was not put in escrow." in error, error
    assert "Nothing was sent." in error, error
    assert f"do not accept requests from this page’s address, {other}" in error, error
    keyserver_origins = {f"http://{urlsplit(u).netloc}" for u in dep.keyserver_urls}
    assert any(o in error for o in keyserver_origins), error
    assert f"add {other} to the key servers’ web origins" in error, error
    assert f"open the app at {usual}" in error, error
    assert "Your record stays private in your wallet" in error, error
    for misleading in ("try again later", "TypeError", "answered", "Check your connection"):
        assert misleading not in error, f"{misleading!r} in: {error}"
    expect_in_view_and_focused(page, "#alert")
    violations = axe(page)
    assert not violations, describe_violations(violations)
    page.set_viewport_size({"width": 360, "height": 800})  # and it fits a small phone
    overflow = page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")
    assert overflow <= 0, f"the message makes the page scroll sideways by {overflow}px at 360 px"
    page.set_viewport_size(DESKTOP)

    # nothing was sent and the record is still private, here and on the server
    assert sent == [], f"an entry was sent: {sent}"
    page.get_by_role("link", name="Cancel").click()
    expect_status(page, "Private")
    wallet = export_wallet(page, tmp_path / "wallet.sealed", who["passphrase"])
    [record] = wallet.records
    assert record.escrow is None
    assert server_statuses(dep, wallet) == {}
    tab.assert_clean()  # the refused requests are console errors, not counted


# --- an invite with one mistyped character ----------------------------------------------------------

def _retyped(invite: str, at: int) -> str:
    """The invite with the character at ``at`` mistyped as another base64url character."""
    wrong = "B" if invite[at] != "B" else "C"
    return invite[:at] + wrong + invite[at + 1:]


def _join_expecting(page: Page, invite: str, who: dict[str, Any]) -> None:
    """Fill the join form (opening it if it is not shown) and submit it."""
    field = page.get_by_label("Invite", exact=True)
    if not field.is_visible():
        page.get_by_role("link", name="I have an invite").click()
    field.fill(invite)
    page.get_by_label("How a counselor can reach you").fill(who["contact"])
    page.get_by_label("Choose a passphrase").fill(who["passphrase"])
    page.get_by_label("Type the passphrase again").fill(who["passphrase"])
    page.get_by_role("button", name="Create my wallet").click()


def test_an_invite_with_a_typo_is_told_it_may_have_a_typo(web_deployment, open_tab) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    who = person(6, "typo")
    tab = open_tab("/", viewport=DESKTOP)
    page = tab.page
    [invite] = dep.invites(1)
    prefix, code, _fingerprint = invite.split(".")
    typo = re.compile(r"mistyped")

    # a character that cannot stand there (the last one of a 16-byte base64url part), or one missing:
    # refused in the form, before anything is sent, with the words of the CLI
    for wrong in (invite[:-1] + "B" if invite[-1] != "B" else invite[:-1] + "C", invite[:-1]):
        _join_expecting(page, wrong, who)
        box = page.locator("#join-invite-error")
        expect(box).to_have_text(re.compile(r"This invite does not look right .* may be mistyped or missing"))
        assert "base64" not in box.inner_text() and "two dots" not in box.inner_text()
        expect(page.get_by_label("Invite", exact=True)).to_have_attribute("aria-invalid", "true")

    # a mistyped character in the code: the server refuses it, and the page says why that may be
    _join_expecting(page, _retyped(invite, len(prefix) + 3), who)
    message = wait_for_alert(page)
    assert typo.search(message) and "check it against the one you were given" in message, message
    expect_in_view_and_focused(page, "#alert")

    # a mistyped character in the administrator's fingerprint: another service, as far as the
    # invite knows; the page says it may be a typo instead of speaking of signatures
    _join_expecting(page, _retyped(invite, len(prefix) + 1 + len(code) + 3), who)
    page.locator("#alert").filter(has_text=re.compile("does not match this service")).wait_for(timeout=SLOW)
    message = page.locator("#alert").inner_text()
    assert typo.search(message) and "signed" not in message and "administrator" not in message, message

    # the invite typed right still works: none of the above used it up
    _join_expecting(page, invite, who)
    page.get_by_role("heading", name="Your records", level=1).wait_for(timeout=SLOW)
    tab.assert_clean()


# --- 3. what withdrawing promises -------------------------------------------------------------------

def test_the_withdraw_dialog_promises_only_what_happens(web_deployment, open_tab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    who = person(3, "withdrawing")
    tab = new_reporter(open_tab, dep, who)
    page = tab.page
    escrow(page, [("Email address", "withdraw.promise@example.org", None)])
    expect_status(page, "In escrow")
    record_url = page.url

    page.get_by_role("button", name="Withdraw…").click()
    dialog = page.get_by_role("group", name="Withdraw this record?")
    expect(dialog).to_be_visible()
    text = dialog.inner_text()
    for promise in ("Your own copy stays in your wallet on this device.", "cannot be undone",
                    "cannot be put in escrow again", "no longer counts towards a match",
                    "If a counselor has already read this record, they keep what they read"):
        assert promise in text, f"{promise!r} not in: {text}"
    # protocol v2: the dialog is the same whether or not anything was released, so it cannot promise nobody read it
    for broken in ("again later", "can put the record in escrow again", "It has not been released"):
        assert broken not in text, f"the dialog promises {broken!r}: {text}"

    page.get_by_role("button", name="Yes, withdraw it").click()
    expect(page.locator("#note")).to_contain_text("The record was withdrawn", timeout=60_000)
    # what it said happens: the own copy stays, there is no way back into escrow
    expect_status(page, "Withdrawn")
    expect(page.locator("#record-body")).to_contain_text(who["record"])
    expect(page.get_by_role("link", name="Put in escrow…")).to_have_count(0)
    expect(page.get_by_role("link", name="Change who is named")).to_have_count(0)
    record_id = record_url.rsplit("/", 1)[1]
    page.goto(f"{dep.url}/#/escrow/{record_id}")
    # the record's own page, titled by its date (never by what it says, §14.2), not the escrow form
    page.get_by_role("heading", name=re.compile(r"^Record of "), level=1).wait_for()
    expect(page.get_by_role("heading", name="Put this record in escrow")).to_be_hidden()
    expect_status(page, "Withdrawn")
    # and on the server: withdrawn, never released (the only entries counselors read)
    wallet = export_wallet(page, tmp_path / "wallet.sealed", who["passphrase"])
    [record] = wallet.records
    assert record.escrow is not None and record.escrow.status == "withdrawn"
    assert server_statuses(dep, wallet) == {record.escrow.entry_id: "withdrawn"}
    tab.assert_clean()


# --- 4. the phone field's country, receipts at 360 px, "1 receipt", names ---------------------------

def test_changing_the_country_checks_the_number_again(web_deployment, open_tab) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    tab = new_reporter(open_tab, dep, person(4, "country"))
    page = tab.page
    page.get_by_role("link", name="Put in escrow…").click()
    page.get_by_role("heading", name="Put this record in escrow", level=1).wait_for()
    row = page.locator(".ident-row").first
    number = row.get_by_label("Their address, number or profile")
    row_error, row_ok = row.locator(".field-error"), row.get_by_text(re.compile("^We will match on: "))
    preview = page.locator("#will-match")

    row.get_by_label("Kind").select_option(label="Phone number")
    row.get_by_label("Country of the number").select_option("US")
    number.fill("020 7946 0958")
    number.blur()
    expect(row_error).to_be_visible()
    expect(row_error).to_contain_text("not a valid phone number")
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("heading", name="We will match on")).to_be_hidden()

    row.get_by_label("Country of the number").select_option("GB")
    expect(row_error).to_be_hidden()
    expect(number).not_to_have_attribute("aria-invalid", "true")
    expect(row_ok).to_have_text("We will match on: +44 20 7946 0958")
    expect(page.get_by_role("heading", name="We will match on")).to_be_visible()
    expect(preview.locator("li")).to_have_text(["Phone: +44 20 7946 0958"])

    row.get_by_label("Country of the number").select_option("US")
    expect(row_error).to_be_visible()
    expect(row_error).to_contain_text("read as a US number")
    expect(row_ok).to_have_count(0)
    expect(page.get_by_role("heading", name="We will match on")).to_be_hidden()

    # once the refusal is shown, typing the fix clears it at once (before leaving the field)
    number.fill("+44 20 7946 0958")
    expect(row_error).to_be_hidden()
    expect(preview.locator("li")).to_have_text(["Phone: +44 20 7946 0958"])
    tab.assert_clean()


WORDS_SPLIT = """(table) => {
    // every word of every cell: one box, so not split over two lines (a word the line breaker
    // had to cut mid-way has two); and the cell's own CSS allows no such cut
    const out = [];
    for (const cell of table.querySelectorAll('th, td')) {
        const style = getComputedStyle(cell);
        if (style.wordBreak !== 'normal' || !['normal'].includes(style.overflowWrap)) {
            out.push(`${cell.textContent}: word-break ${style.wordBreak}, overflow-wrap ${style.overflowWrap}`);
        }
        if (cell.scrollWidth > cell.clientWidth) out.push(`${cell.textContent}: wider than its cell`);
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of node.data.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const boxes = [...range.getClientRects()].filter((r) => r.width > 0);
                const lines = new Set(boxes.map((r) => Math.round(r.top)));
                if (lines.size > 1) out.push(`${m[0]} is split over ${lines.size} lines`);
            }
        }
    }
    return out;
}"""


def test_receipts_names_and_counts_read_as_people_read_them(web_deployment, open_tab) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    who = person(5, "receipts")
    tab = new_reporter(open_tab, dep, who)
    page = tab.page

    # names: the platform's label, then the value as it is written there; never "x:https://…"
    fill_escrow(page, [("Email address", "Receipts.Person@Example.org", None),
                       ("X (Twitter)", "https://x.com/Receipts_Person", None)])
    expect(page.locator(".ident-row").nth(1).get_by_text(re.compile("^We will match on: "))).to_have_text(
        "We will match on: @receipts_person")
    expect(page.locator("#will-match li")).to_have_text(["Email: receipts.person@example.org",
                                                         "X (Twitter): @receipts_person"])
    page.get_by_role("button", name="Put in escrow").click()
    expect(page.locator("#note")).to_contain_text("Your record is in escrow", timeout=SLOW)
    named = page.locator("#record-body ul.will-match li")
    expect(named).to_have_text(["Email: Receipts.Person@Example.org → email:receipts.person@example.org",
                                "X (Twitter): https://x.com/Receipts_Person → x:receipts_person"])
    expect(page.locator("#record-body")).not_to_contain_text("x:https://")

    # one receipt, in words
    page.get_by_role("navigation").get_by_role("link", name="Your records").click()
    meta = page.locator("#entries-list > li .meta")
    expect(meta).to_have_text(re.compile(r"· 1 receipt$"))
    expect(page.locator("body")).not_to_contain_text("(s)")

    page.locator("#entries-list > li h3 a").click()
    withdraw(page)
    rows = page.locator("#record-body table tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_role("navigation").get_by_role("link", name="Your records").click()
    expect(meta).to_have_text(re.compile(r"· 2 receipts$"))
    page.locator("#entries-list > li h3 a").click()
    expect(rows).to_have_count(2)

    # the receipts at 360 px: nothing sideways, no word cut, each value under its column's name
    page.set_viewport_size({"width": 360, "height": 800})
    table = page.locator("#record-body table")
    overflow = page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 360 px"
    assert table.evaluate("t => t.scrollWidth <= t.clientWidth"), "the receipts table is wider than its place"
    problems = table.evaluate(WORDS_SPLIT)
    assert problems == [], problems
    labels = rows.nth(1).locator("td").evaluate_all(
        "cells => cells.map((c) => getComputedStyle(c, '::before').content)")
    # each value under its column's name ('"Event" / ""': the name, seen but not read twice)
    names = ["Event", "Log index", "Checkpoint", "File"]
    assert len(labels) == len(names), labels
    assert all(lab.startswith(f'"{n}"') for lab, n in zip(labels, names, strict=True)), labels
    expect(rows.nth(1).locator("td").first).to_have_text("Withdrawal")
    # the same table still fits wide screens as a table, words whole
    page.set_viewport_size(DESKTOP)
    assert table.evaluate(WORDS_SPLIT) == []
    expect(page.get_by_role("columnheader", name="Log index")).to_be_visible()
    tab.assert_clean()
