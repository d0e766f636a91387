"""Reporter flows in headless Chromium beyond the quorum path: withdrawing, opening a wallet made by
the command line, a lost answer to a submission, key servers down, a rate limit.

Each test checks what the person sees and what the server holds (its HTTP API with the account's
token, taken from the wallet, or its database). This module has its own loopback deployment
(quorum 3, key servers 2-of-3): the key-server test stops and restarts servers of it, and each test
names a different person, so no test's entries count towards another's quorum.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, Route, expect

from consilience.clients import wallet as wallet_mod
from consilience.clients.escrow_client import EscrowClient
from consilience.protocol.encoding import b64u_decode
from consilience.tlog.receipt import parse_receipt

from .browser import Tab, describe_violations
from .ui import (
    REPORTERS,
    SLOW,
    download,
    escrow,
    expect_status,
    export_wallet,
    fill_escrow,
    join,
    log_vkey,
    matches_count,
    say,
    wait_for_backup,
    write_record,
)

pytestmark = pytest.mark.web

FAST_KDF = {"memory_cost_kib": 1024, "iterations": 1, "lanes": 1}
ENTRIES = re.compile(r"/v2/entries$")


def person(n: int, who: str) -> dict[str, Any]:
    return {
        "contact": f"Signal: {who}.reporter.{n}",
        "passphrase": f"walnut harbour lantern {who} {n}",
        "record": f"What {who} saw, written down for the {n}th time.",
        "details": {"what": f"{who.capitalize()} record {n}", "when": "last spring"},
    }


def join_and_write(open_tab: Callable[..., Tab], dep: Any, who: dict[str, Any]) -> Tab:
    tab = open_tab("/")
    [invite] = dep.invites(1)
    join(tab.page, invite, who["contact"], who["passphrase"])
    write_record(tab.page, who)
    return tab


def submit_expecting_error(page: Page) -> str:
    """Press "Put in escrow" on a filled form; wait for the error and return it."""
    page.get_by_role("button", name="Put in escrow").click()
    alert = page.locator("#alert")
    alert.filter(has_text=re.compile(".")).or_(page.locator("#note").filter(has_text="in escrow")).first.wait_for(
        timeout=SLOW)
    text = alert.inner_text()
    assert text, "expected an error, the page says: " + page.locator("#note").inner_text()
    return text


def entry_posts(tab: Tab) -> list[str]:
    return [url for url in tab.requests if ENTRIES.search(url)]


def server_statuses(dep: Any, wallet: wallet_mod.Wallet) -> dict[str, str]:
    """GET /v2/entries with the wallet's account token: {entry_id: status}."""
    with EscrowClient(dep.url, b64u_decode(wallet.token)) as client:
        return {str(e.entry_id): e.status for e in client.entries()}


def db_rows(dep: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    [path] = list(Path(dep.root).rglob("escrow.sqlite"))
    with closing(sqlite3.connect(path, timeout=30)) as db:
        return db.execute(sql, params).fetchall()


def entry_row(dep: Any, entry_id: str) -> tuple[Any, ...] | None:
    """(status, has body, number of tags, number of log leaves) of an entry, from the server's database."""
    raw = b64u_decode(entry_id, length=16)
    rows = db_rows(dep, "SELECT status, body IS NOT NULL FROM entries WHERE entry_id = ?", raw)
    if not rows:
        return None
    [(tags,)] = db_rows(dep, "SELECT COUNT(*) FROM entry_tags WHERE entry_id = ?", raw)
    [(leaves,)] = db_rows(dep, "SELECT COUNT(*) FROM log_leaves WHERE entry_id = ?", raw)
    return (rows[0][0], bool(rows[0][1]), tags, leaves)


def entries_sharing_a_tag_with(dep: Any, entry_id: str) -> int:
    [(n,)] = db_rows(dep, "SELECT COUNT(DISTINCT entry_id) FROM entry_tags WHERE tag IN "
                          "(SELECT tag FROM entry_tags WHERE entry_id = ?)", b64u_decode(entry_id, length=16))
    return n


def sdk_reporter(dep: Any, tmp: Path, name: str, typed: list[str]) -> str:
    """A reporter using the Python SDK escrows a record naming `typed`; returns the entry id."""
    from consilience.clients import reporter

    [invite] = dep.invites(1)
    session = reporter.register(dep.url, invite, f"contact of {name}", tmp / f"{name}.sealed", "sdk passphrase",
                                kdf_params=FAST_KDF)
    record = reporter.write(session, f"record of {name}")
    done = reporter.escrow(session, record.record_id, typed)
    assert done.escrow is not None
    return done.escrow.entry_id


def verify_receipt(dep: Any, path: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "consilience", "verify", str(path), "--log-key", log_vkey(dep),
                           "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


# --- 1. withdraw ----------------------------------------------------------------------------------

def test_withdraw_erases_the_entry_keeps_a_receipt_and_stops_it_counting(web_deployment, open_tab,  # type: ignore[no-untyped-def]
                                                                         tmp_path: Path) -> None:
    dep = web_deployment
    target = "withdraw.target@example.org"
    first = sdk_reporter(dep, tmp_path, "first", [target])
    matches_before = matches_count(dep)

    who = person(1, "withdraw")
    tab = join_and_write(open_tab, dep, who)
    page = tab.page
    escrow(page, [("Email address", "Withdraw.Target@Example.ORG", None)])
    expect_status(page, "In escrow")
    assert entries_sharing_a_tag_with(dep, first) == 2, "the browser's entry should name the same person"

    # the confirmation is on the page; "No" sends nothing (the backup after the escrow's save is let finish first)
    wait_for_backup(page)
    page.get_by_role("button", name="Withdraw…").click()
    confirm = page.get_by_role("group", name="Withdraw this record?")
    expect(confirm).to_be_visible()
    expect(page.get_by_role("heading", name="Withdraw this record?")).to_be_focused()
    sent = len(tab.requests)
    page.get_by_role("button", name="No, keep it in escrow").click()
    expect(confirm).to_have_count(0)
    expect(page.get_by_role("button", name="Withdraw…")).to_be_focused()
    assert not [u for u in tab.requests[sent:] if "/v1/" in u or "/v2/" in u], "answering No must send nothing"
    expect_status(page, "In escrow")

    page.get_by_role("button", name="Withdraw…").click()
    page.get_by_role("button", name="Yes, withdraw it").click()
    expect(page.locator("#note")).to_contain_text("The record was withdrawn", timeout=60_000)
    expect(page.locator("#alert")).to_be_empty()
    expect_status(page, "Withdrawn")
    expect(page.locator("#record-body")).to_contain_text("You withdrew this record")
    expect(page.get_by_role("button", name="Withdraw…")).to_have_count(0)
    expect(page.get_by_role("link", name="Change who is named")).to_have_count(0)
    expect(page.locator("#record-body")).to_contain_text(who["record"])  # the own copy stays

    # the withdrawal receipt is kept beside the entry's and verifies with the CLI
    rows = page.locator("#record-body table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").first).to_have_text("Entry")
    expect(rows.nth(1).locator("td").first).to_have_text("Withdrawal")
    receipt = download(page, rows.nth(1).get_by_role("link", name="Download"), tmp_path)
    checked = verify_receipt(dep, receipt)
    assert checked["event"] == "withdrawal"

    # the server: listed as withdrawn for this account, body and tags erased, two log leaves
    wallet = export_wallet(page, tmp_path / "wallet.sealed", who["passphrase"])
    [record] = wallet.records
    assert record.escrow is not None and record.escrow.status == "withdrawn"
    entry_id = record.escrow.entry_id
    assert checked["entry_id"] == entry_id
    assert any(p.endswith(receipt.name) for p in record.escrow.receipts)
    assert server_statuses(dep, wallet) == {entry_id: "withdrawn"}
    assert entry_row(dep, entry_id) == ("withdrawn", False, 0, 2)
    assert entries_sharing_a_tag_with(dep, first) == 1

    # it no longer counts: with it, a second SDK reporter would make three and release; without it, not
    second = sdk_reporter(dep, tmp_path, "second", [target])
    assert entries_sharing_a_tag_with(dep, first) == 2
    assert matches_count(dep) == matches_before
    assert entry_row(dep, first)[0] == entry_row(dep, second)[0] == "escrowed"  # type: ignore[index]

    # and the page still says so after asking the server
    page.get_by_role("button", name="Check for updates").click()
    expect(page.locator("#note")).to_have_text("No changes.")
    expect(page.locator("#entries-list .badge")).to_have_text(["Withdrawn"])
    tab.assert_clean()


# --- 2. a wallet made by the command line, opened in the browser ---------------------------------

def cli(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "consilience", *args, "--json"], capture_output=True, text=True,
                          env=env, timeout=180)
    assert proc.returncode == 0, f"consilience {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_a_cli_wallet_opens_in_the_browser_with_its_records_and_statuses(web_deployment, open_tab,  # type: ignore[no-untyped-def]
                                                                         tmp_path: Path) -> None:
    dep = web_deployment
    passphrase = "cli wallet passphrase for the browser"
    env = {**os.environ, "CONSILIENCE_PASSPHRASE": passphrase, "CONSILIENCE_HOME": str(tmp_path)}
    wallet_path = tmp_path / "cli-wallet.sealed"
    w = ["--wallet", str(wallet_path)]
    [invite] = dep.invites(1)
    cli(["reporter", "register", "--server", dep.url, "--invite", invite, "--contact", "Signal: cli.reporter", *w], env)
    cli(["reporter", "write", "--what", "Kept private from the CLI", "--text", "private text", *w], env)
    kept = cli(["reporter", "write", "--what", "Escrowed from the CLI", "--where", "the office", "--text",
                "escrowed text", *w], env)
    gone = cli(["reporter", "write", "--text", "Withdrawn from the CLI\nsecond line", *w], env)
    kept = cli(["reporter", "escrow", kept["record_id"], "--name", "Import.Person@Example.org", "--name",
                "020 7946 0111", "--region", "GB", *w], env)
    gone = cli(["reporter", "escrow", gone["record_id"], "--name", "instagram:import.person", *w], env)
    gone = cli(["reporter", "withdraw", gone["record_id"], *w], env)
    assert kept["escrow"]["status"] == "escrowed" and gone["escrow"]["status"] == "withdrawn"

    tab = open_tab("/")
    page = tab.page
    page.get_by_role("link", name="Open a wallet file").click()
    page.get_by_role("heading", name="Open a wallet file", level=1).wait_for()
    form = page.locator("#import-form")
    form.get_by_label("Wallet file").set_input_files(str(wallet_path))
    form.get_by_label("Passphrase").fill("not the passphrase")
    form.get_by_role("button", name="Open", exact=True).click()
    alert = page.locator("#alert")
    alert.filter(has_text=re.compile(".")).wait_for(timeout=SLOW)
    assert alert.inner_text() == "That passphrase does not open this wallet."
    form.get_by_label("Passphrase").fill(passphrase)
    form.get_by_role("button", name="Open", exact=True).click()
    page.get_by_role("heading", name="Your records", level=1).wait_for(timeout=SLOW)

    items = page.locator("#entries-list > li")
    expect(items).to_have_count(3)
    # newest first, titled by the day they were written, never by what they say (PROTOCOL.md §14.2)
    expect(items.locator("h3 a")).to_have_text([re.compile(r"^Record of \w")] * 3)
    expect(items.locator("h3 a").filter(has_text="from the CLI")).to_have_count(0)
    expect(items.locator(".badge")).to_have_text(["Withdrawn", "In escrow", "Private"])
    # names as people read them (label, then the value as written), not the glued matching form
    expect(items.nth(1)).to_contain_text("names Email: import.person@example.org, Phone: +44 20 7946 0111")

    # the server agrees, for the account whose token the file holds
    wallet = wallet_mod.load(wallet_path, passphrase)
    assert server_statuses(dep, wallet) == {kept["escrow"]["entry_id"]: "escrowed",
                                            gone["escrow"]["entry_id"]: "withdrawn"}
    page.get_by_role("button", name="Check for updates").click()  # the token works from the browser
    expect(page.locator("#note")).to_have_text("No changes.")

    items.nth(1).get_by_role("link").click()
    body = page.locator("#record-body")
    expect(page.get_by_role("heading", name=re.compile("^Record of "), level=1)).to_be_visible()
    expect(body).to_contain_text("escrowed text")
    expect(body).to_contain_text("the office")
    expect(body).to_contain_text("Import.Person@Example.org → email:import.person@example.org")
    expect(body).to_contain_text("020 7946 0111 → phone:+442079460111")
    expect(body).to_contain_text("Only when 3 different people have named the same person can the counselors read it")
    # the receipt the command line kept, fetched again and held by this browser under the same name: one row
    rows = body.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.get_by_role("link", name="Download")).to_be_visible()
    [kept_path] = wallet_mod.load(wallet_path, passphrase).record(kept["record_id"]).escrow.receipts
    with page.expect_download() as download:
        rows.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == Path(kept_path).name
    fetched, cli_kept = (parse_receipt(Path(f).read_text()) for f in (download.value.path(), kept_path))
    assert (fetched.index, fetched.extra) == (cli_kept.index, cli_kept.extra)  # the same event, a later checkpoint

    # the withdrawn one: a withdrawal's receipt is found by its name, so the command line's files stand alone
    page.get_by_role("navigation").get_by_role("link", name="Your records").click()
    items.nth(0).get_by_role("link").click()
    expect(rows).to_have_count(2)
    expect(rows.locator("td:first-child")).to_have_text(["Entry", "Withdrawal"])
    expect(rows.filter(has_text="kept by the command line")).to_have_count(2)

    page.get_by_role("navigation").get_by_role("link", name="Your records").click()
    items.nth(2).get_by_role("link").click()
    expect(body).to_contain_text("This record is private")
    expect(body).to_contain_text("private text")
    expect(page.get_by_role("link", name="Put in escrow…")).to_be_visible()

    # the opened wallet is kept in this browser: after a reload it unlocks with the same passphrase
    page.reload()
    page.locator("#unlock-form").get_by_label("Passphrase").fill(passphrase)
    page.get_by_role("button", name="Unlock").click()
    page.get_by_role("heading", name="Your records", level=1).wait_for(timeout=SLOW)
    expect(items).to_have_count(3)
    tab.assert_clean()


# --- 3. the answer to a submission is lost ------------------------------------------------------

@pytest.fixture
def lose_entry_answers() -> Iterator[Callable[[Page], list[bytes]]]:
    """Route the page's POST /v2/entries: the request reaches the server, the answer is dropped."""
    routed: list[Page] = []

    def install(page: Page) -> list[bytes]:
        posted: list[bytes] = []

        def handler(route: Route, request: Request) -> None:
            if request.method != "POST":
                route.continue_()
                return
            posted.append(request.post_data_buffer or b"")
            answer = route.fetch()
            assert answer.status in (200, 201), answer.text()
            route.abort("connectionreset")

        page.route(ENTRIES, handler)
        routed.append(page)
        return posted

    yield install
    for page in routed:
        if not page.is_closed():
            page.unroute(ENTRIES)


def watch_entry_posts(page: Page) -> list[bytes]:
    bodies: list[bytes] = []
    page.on("request", lambda r: bodies.append(r.post_data_buffer or b"")
            if r.method == "POST" and ENTRIES.search(r.url) else None)
    return bodies


def test_a_lost_answer_is_resent_byte_for_byte_and_counted_once(web_deployment, open_tab, lose_entry_answers,  # type: ignore[no-untyped-def]
                                                                tmp_path: Path) -> None:
    dep = web_deployment
    who = person(3, "lost")
    tab = join_and_write(open_tab, dep, who)
    page = tab.page

    # first record: resent with the button
    posted = lose_entry_answers(page)
    fill_escrow(page, [("Email address", "lost.answer.one@example.org", None)])
    error = submit_expecting_error(page)
    assert "Sending was not confirmed" in error and "never count twice" in error
    assert len(posted) == 1
    expect_status(page, "Not yet confirmed")
    expect(page.locator("#record-body")).to_contain_text("Sending was not confirmed by the server")
    entry_id = json.loads(posted[0])["entry_id"]
    assert entry_row(dep, entry_id) == ("escrowed", True, 1, 1), "the server committed the first sending"

    page.unroute(ENTRIES)
    sent_again = watch_entry_posts(page)
    page.get_by_role("button", name="Send again now").click()
    expect(page.locator("#note")).to_have_text("Sent and confirmed.", timeout=60_000)
    expect_status(page, "In escrow")
    assert sent_again == posted, "the resend must carry exactly the bytes of the first sending"
    assert entry_row(dep, entry_id) == ("escrowed", True, 1, 1), "counted once: one entry, one log leaf"
    rows = page.locator("#record-body table tbody tr")
    expect(rows).to_have_count(1)
    receipt = download(page, rows.first.get_by_role("link", name="Download"), tmp_path)
    checked = verify_receipt(dep, receipt)
    [(leaf,)] = db_rows(dep, "SELECT idx FROM log_leaves WHERE entry_id = ?", b64u_decode(entry_id, length=16))
    assert (checked["event"], checked["entry_id"], checked["index"]) == ("entry", entry_id, leaf)

    # second record: resent when the wallet is unlocked again
    write_record(page, {**who, "details": {"what": "The second one"}, "record": "second record"})
    posted = lose_entry_answers(page)
    fill_escrow(page, [("Email address", "lost.answer.two@example.org", None)])
    submit_expecting_error(page)
    second_id = json.loads(posted[0])["entry_id"]
    assert entry_row(dep, second_id) == ("escrowed", True, 1, 1)
    page.unroute(ENTRIES)
    sent_again = watch_entry_posts(page)
    page.get_by_role("button", name="Lock").click()
    page.locator("#unlock-form").get_by_label("Passphrase").fill(who["passphrase"])
    page.get_by_role("button", name="Unlock").click()
    expect(page.locator("#note")).to_contain_text("An earlier submission that was not confirmed has now been sent",
                                                  timeout=SLOW)
    expect(page.locator("#entries-list .badge")).to_have_text(["In escrow", "In escrow"])
    assert sent_again == posted
    assert entry_row(dep, second_id) == ("escrowed", True, 1, 1)

    wallet = export_wallet(page, tmp_path / "wallet.sealed", who["passphrase"])
    assert server_statuses(dep, wallet) == {entry_id: "escrowed", second_id: "escrowed"}
    assert all(r.escrow is not None and r.escrow.pending is None and r.escrow.status == "escrowed"
               for r in wallet.records)
    # the dropped answers log network errors in the console, which assert_clean does not count
    tab.assert_clean()


# --- 4. key servers down ------------------------------------------------------------------------

def test_escrow_needs_two_of_three_key_servers(web_deployment, open_tab, axe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    who = person(4, "keyserver")
    tab = join_and_write(open_tab, dep, who)
    page = tab.page
    first_server, second_server, _ = dep.loopback.keyservers
    try:
        first_server.stop()
        escrow(page, [("Email address", "keyserver.one@example.org", None)])
        expect_status(page, "In escrow")
        assert any(u.startswith(first_server.url) for u in tab.requests), "the stopped server was asked first"

        second_server.stop()
        write_record(page, {**who, "details": {"what": "Needs the key servers"}, "record": "kept private"})
        posts_before = len(entry_posts(tab))
        fill_escrow(page, [("Email address", "keyserver.two@example.org", None)])
        error = submit_expecting_error(page)
        assert "key servers" in error and "Nothing was sent" in error, error
        assert "1 of the 2 needed" in error, error
        assert entry_posts(tab)[posts_before:] == [], "nothing may be submitted"
        violations = axe(page)
        assert not violations, describe_violations(violations)

        page.get_by_role("link", name="Cancel").click()
        expect_status(page, "Private")
        expect(page.locator("#record-body")).to_contain_text("has not been sent anywhere")
    finally:
        for service in (first_server, second_server):
            if service.process is None or service.process.poll() is not None:
                service.start()

    wallet = export_wallet(page, tmp_path / "wallet.sealed", who["passphrase"])
    escrowed, private = wallet.records
    assert escrowed.escrow is not None and private.escrow is None
    assert server_statuses(dep, wallet) == {escrowed.escrow.entry_id: "escrowed"}

    # with the servers back, the same record goes in escrow
    page.locator("#entries-list > li h3 a").first.click()  # the newest: the private one
    escrow(page, [("Email address", "keyserver.two@example.org", None)])
    expect_status(page, "In escrow")
    tab.assert_clean()  # the refused connections to stopped servers are console errors, not counted


# --- 5. rate limited ---------------------------------------------------------------------------

def test_a_rate_limit_says_how_long_to_wait(web_deployment, open_tab, axe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    who = person(5, "limited")
    tab = join_and_write(open_tab, dep, who)
    page = tab.page
    evaluate_route = re.compile(r"/v2/evaluate$")
    page_origin = dep.url.rstrip("/")

    # exactly what a key server answers when the account's budget there is spent (services/limits.py): 429 with
    # Retry-After, to every key server of the deployment (fulfilled here, with the CORS headers the servers send)
    def limited(route: Route, request: Request) -> None:
        cors = {"Access-Control-Allow-Origin": page_origin, "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": "content-type", "Access-Control-Expose-Headers": "Retry-After"}
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
            return
        route.fulfill(status=429, headers={**cors, "Retry-After": "120", "Content-Type": "application/json"},
                      body=json.dumps({"error": "rate_limited", "detail": "too many evaluations; retry later"}))

    page.route(evaluate_route, limited)
    fill_escrow(page, [("Email address", "rate.limited@example.org", None)])
    error = submit_expecting_error(page)
    assert "Too many attempts" in error and "wait about 2 minutes" in error, error
    assert entry_posts(tab) == []
    violations = axe(page)
    assert not violations, describe_violations(violations)

    page.unroute(evaluate_route)
    page.get_by_role("button", name="Put in escrow").click()
    expect(page.locator("#note")).to_contain_text("Your record is in escrow", timeout=SLOW)
    expect_status(page, "In escrow")
    wallet = export_wallet(page, tmp_path / "wallet.sealed", who["passphrase"])
    [record] = wallet.records
    assert record.escrow is not None
    assert server_statuses(dep, wallet) == {record.escrow.entry_id: "escrowed"}
    tab.assert_clean()


# --- 6. one record per person -------------------------------------------------------------------

def test_a_second_record_naming_the_same_person_is_offered_the_first(web_deployment, open_tab, axe,  # type: ignore[no-untyped-def]
                                                                     tmp_path: Path) -> None:
    """Protocol v2 keeps one active entry per account and person (the server answers 409 already_named):
    the page stops a second record naming someone before any key server is asked, and offers to add the
    names to the record that already names them; a 409 from the server itself gets the same refusal."""
    dep = web_deployment
    who = person(6, "twice")
    tab = join_and_write(open_tab, dep, who)
    page = tab.page
    escrow(page, [("Email address", "twice.named@example.org", None)])
    expect_status(page, "In escrow")

    write_record(page, {**who, "details": {"what": "The second time"}, "record": "it happened again"})
    posts_before = len(entry_posts(tab))
    asked_before = len([u for u in tab.requests if u.endswith("/v2/evaluate")])
    fill_escrow(page, [("Email address", "Twice.Named@Example.org", None), ("Phone number", "+44 20 7946 0666", None)])
    error = submit_expecting_error(page)
    assert "already names" in error and "one of your records at a time" in error, error
    assert entry_posts(tab)[posts_before:] == [] and len([u for u in tab.requests if u.endswith("/v2/evaluate")]) == \
        asked_before, "nothing may be asked or sent"
    violations = axe(page)
    assert not violations, describe_violations(violations)

    # the offer: add the names to the first record (it then names both), the second stays private
    page.get_by_role("button", name=re.compile("^Add the names to")).click()
    expect(page.locator("#note")).to_contain_text("Your record is in escrow", timeout=SLOW)
    expect(page.locator("#record-body")).to_contain_text("email:twice.named@example.org")
    expect(page.locator("#record-body")).to_contain_text("phone:+442079460666")
    wallet = export_wallet(page, tmp_path / "wallet.sealed", who["passphrase"])
    first, second = wallet.records
    assert first.escrow is not None and sorted(first.escrow.canonical) == ["email:twice.named@example.org",
                                                                           "phone:+442079460666"]
    assert second.escrow is None
    assert server_statuses(dep, wallet) == {first.escrow.entry_id: "escrowed"}

    # the server's own 409 (here answered for it): the record is put back as it was, nothing kept to resend
    page.get_by_role("navigation").get_by_role("link", name="Your records").click()
    page.locator("#entries-list > li h3 a").first.click()  # the newest: the second, still private
    page.route(ENTRIES, lambda route: route.fulfill(
        status=409, headers={"Content-Type": "application/json"},
        body=json.dumps({"error": "already_named", "detail": "this account already has an active entry naming one "
                                                             "of these people"})))
    fill_escrow(page, [("Email address", "someone.else@example.org", None)])
    error = submit_expecting_error(page)
    assert "already names one of these people" in error, error
    page.unroute(ENTRIES)
    page.get_by_role("link", name="Cancel").click()
    expect_status(page, "Private")
    tab.assert_clean()


# --- the country of a phone number follows the browser's language ------------------------------------

def test_a_phone_number_is_read_in_the_country_of_the_browsers_language(web_deployment, open_tab) -> None:  # type: ignore[no-untyped-def]
    """No fixed country: a Mexican Spanish browser reads a national number as Mexican, an Arabic one as
    Egyptian (Intl.Locale's likely region for "ar"), and "We will match on" shows the country code, so a wrong
    guess is seen and changed before anything is sent."""
    dep = web_deployment
    invites = dep.invites(2)
    for (locale, region, typed, matched), invite in zip(
            [("es-MX", "MX", "55 1234 5678", "+52 55 1234 5678"), ("ar", "EG", "010 1234 5678", "+20 10 12345678")],
            invites, strict=True):
        tab = open_tab("/", locale=locale)
        page = tab.page
        join(page, invite, f"contact in {locale}", f"passphrase for the {locale} browser")
        write_record(page, REPORTERS[0])
        matching = say(page, "We will match on:") + " "  # the page is in the browser's language
        page.get_by_role("link", name=say(page, "Put in escrow…")).click()
        row = page.locator(".ident-row").first
        row.get_by_label(say(page, "Kind")).select_option(label=say(page, "Phone number"))
        expect(row.get_by_label(say(page, "Country of the number"))).to_have_value(region)
        row.get_by_label(say(page, "Their address, number or profile")).fill(typed)
        expect(row.get_by_text(re.compile("^" + re.escape(matching)))).to_have_text(matching + matched)
        # the country chosen reads the same digits as another number, or none
        row.get_by_label(say(page, "Country of the number")).select_option("GB")
        expect(row.locator(".field-ok")).not_to_have_text(matching + matched)
        row.get_by_label(say(page, "Country of the number")).select_option("")
        expect(row.locator(".field-error")).to_have_text(
            say(page, "Choose the country of the number, or write it with + and its country code."))
        row.get_by_label(say(page, "Their address, number or profile")).fill(matched)
        expect(row.get_by_text(re.compile("^" + re.escape(matching)))).to_have_text(matching + matched)
        tab.assert_clean()
