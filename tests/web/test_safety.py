"""Leave quickly, leave no trace in the page (PROTOCOL.md §14.2), in Chromium against one real deployment.

The deployment is this module's own (like conftest's ``web_deployment``) with two operator settings a
test can see: the exit URL is a page of the escrow server itself (``/healthz``, so nothing leaves the
machine) and the lock comes after 2 minutes. Wallets are made with the Python SDK under cheap Argon2
parameters and opened in the browser ("Open a wallet file"), so no test waits for a 64 MiB stretch.

Checked as the person who is being watched would need it: the exit is the first control, by button and
by Esc three times (and not by three presses spread over more than 2 s); the tab's history keeps one
entry of the app, which the exit replaces (Back does not return to it); the page locks itself after the
operator's time or the person's choice, and then holds no record text; titles say nothing ("Notes",
"Record of <date>" or the person's title, never the first line); the safety page; and deleting the
account, in the browser and with the command line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cli_process import ok, person
from consilience.clients import reporter, wallet
from consilience.clients.escrow_client import ApiError, EscrowClient, reporter_login
from consilience.local import loopback
from consilience.protocol import accounts
from consilience.protocol.encoding import b64u_decode

from .browser import axe_violations, describe_violations
from .conftest import ADMIN_PASSPHRASE, COUNSELOR_NAME, COUNSELOR_PASSPHRASE, KDF, WebDeployment
from .ui import wait_for_heading

pytestmark = pytest.mark.web

FAST_KDF = {"memory_cost_kib": 1024, "iterations": 1, "lanes": 1}
PASSPHRASE = "quiet harbour lantern seven"
FIRST_LINE = "He followed me home from the station"
TEXT = f"{FIRST_LINE}.\nThen he waited outside for an hour."
OWN_TITLE = "Shopping list"


@pytest.fixture(scope="module")
def web_deployment(tmp_path_factory: pytest.TempPathFactory, web_static: Path) -> Iterator[WebDeployment]:
    deployment = loopback.create(tmp_path_factory.mktemp("safety-deployment"), ADMIN_PASSPHRASE, quorum=3,
                                 kdf_params=KDF)
    env = {"CONSILIENCE_WEB_STATIC": str(web_static), "CONSILIENCE_RELEASE_INTERVAL": "1",
           "CONSILIENCE_EXIT_URL": f"{deployment.url}/healthz", "CONSILIENCE_AUTO_LOCK_SECONDS": "120"}
    with deployment.start(env=env):
        key = deployment.layout.counselor_key
        deployment.add_counselor(COUNSELOR_NAME, key, COUNSELOR_PASSPHRASE)
        yield WebDeployment(deployment, key, COUNSELOR_PASSPHRASE, COUNSELOR_NAME, dict(KDF))


def exit_url(dep: WebDeployment) -> str:
    return f"{dep.url}/healthz"


def wallet_file(dep: WebDeployment, folder: Path, *, escrowed: bool = False) -> Path:
    """A registered wallet with two records: one untitled (its text has a telling first line), one titled."""
    [invite] = dep.invites(1)
    path = folder / "wallet.sealed"
    session = reporter.register(dep.url, invite, "", path, PASSPHRASE, kdf_params=FAST_KDF)
    first = reporter.write(session, TEXT, details={"what": FIRST_LINE})
    titled = reporter.write(session, "Second record, private.")
    titled.title = OWN_TITLE
    session.save()
    if escrowed:
        reporter.escrow(session, first.record_id, ["followed.person@example.org"])
    return path


def open_wallet(page: Page, path: Path) -> None:
    """From the first screen, as a person does it (by the app's link: no history entry of its own)."""
    page.get_by_role("link", name="Open a wallet file").click()
    form = page.locator("#import-form")
    form.get_by_label("Wallet file").set_input_files(str(path))
    form.get_by_label("Passphrase").fill(PASSPHRASE)
    form.get_by_role("button", name="Open", exact=True).click()
    wait_for_heading(page, "Your records")


def history_length(page: Page) -> int:
    return int(page.evaluate("history.length"))


def test_leave_quickly_by_button_and_by_escape_replaces_the_apps_history_entry(open_tab, web_deployment,  # type: ignore[no-untyped-def]
                                                                               tmp_path: Path) -> None:
    dep = web_deployment
    tab = open_tab("/")
    page = tab.page
    page.locator("h1").first.wait_for()
    # the first control a keyboard reaches (before "Skip to content"), named for what it does
    first = page.evaluate("document.querySelector('a[href], button, input, select, textarea, "
                          "[tabindex]:not([tabindex=\"-1\"])').id")
    assert first == "leave"
    page.focus("a.skip")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "leave"
    expect(page.get_by_role("button", name="Leave quickly")).to_be_visible()

    entries = history_length(page)
    open_wallet(page, wallet_file(dep, tmp_path))
    page.get_by_role("navigation").get_by_role("link", name="Write a record").click()
    page.get_by_role("navigation").get_by_role("link", name="Your records").click()
    page.locator("#entries-list > li h3 a").first.click()
    page.get_by_role("link", name="Staying safe with this app").first.wait_for(state="attached")
    assert history_length(page) == entries, "moving around the app added history entries"

    page.get_by_role("button", name="Leave quickly").click()
    page.wait_for_url(exit_url(dep))
    assert history_length(page) == entries  # replaced, not added
    page.go_back()
    assert not page.url.startswith(dep.reporter_url), f"Back returned to the app: {page.url}"

    # Esc three times within 2 seconds, on the counselor's page; three spread over more do nothing
    counselor = open_tab("/counselor/").page
    counselor.locator("h1").first.wait_for()
    counselor.keyboard.press("Escape")
    counselor.keyboard.press("Escape")
    counselor.wait_for_timeout(2100)
    counselor.keyboard.press("Escape")
    counselor.wait_for_timeout(300)
    assert counselor.url == dep.counselor_url
    counselor.keyboard.press("Escape")
    counselor.keyboard.press("Escape")
    counselor.wait_for_url(exit_url(dep))
    tab.assert_clean()


def test_the_page_locks_itself_after_the_operators_time_or_the_persons_choice(open_tab, web_deployment,  # type: ignore[no-untyped-def]
                                                                              tmp_path: Path) -> None:
    dep = web_deployment
    tab = open_tab("/")
    page = tab.page
    page.clock.install()
    page.reload()
    page.locator("h1").first.wait_for()
    open_wallet(page, wallet_file(dep, tmp_path))
    expect(page.locator("#entries-list")).to_contain_text(OWN_TITLE)
    choice = page.get_by_label("Lock this page after no activity for")
    expect(choice).to_have_value("2")  # the operator's CONSILIENCE_AUTO_LOCK_SECONDS=120

    page.clock.fast_forward("01:50")
    page.wait_for_timeout(300)
    expect(page.get_by_role("heading", name="Your records", level=1)).to_be_visible()
    page.clock.fast_forward("00:15")
    expect(page.get_by_role("heading", name="Unlock your records")).to_be_visible()
    expect(page.locator("#note")).to_have_text("Locked after 2 minutes without activity.")
    expect(page.get_by_role("navigation")).to_be_hidden()
    # nothing of the records is left in the page, shown or hidden
    assert OWN_TITLE not in page.evaluate("document.body.textContent")
    page.goto("/#/entries")
    expect(page.get_by_role("heading", name="Unlock your records")).to_be_visible()

    # the person's choice, kept in this browser, wins over the operator's
    page.locator("#unlock-form").get_by_label("Passphrase").fill(PASSPHRASE)
    page.locator("#unlock-form").get_by_role("button", name="Unlock").click()
    wait_for_heading(page, "Your records")
    page.get_by_label("Lock this page after no activity for").select_option("1")
    assert page.evaluate("localStorage.getItem('consilience.autolock.minutes')") == "1"
    page.clock.fast_forward("01:01")
    expect(page.locator("#note")).to_have_text("Locked after 1 minute without activity.")
    assert OWN_TITLE not in page.evaluate("document.body.textContent")
    tab.assert_clean()


def test_titles_say_nothing_and_the_safety_page_is_linked_and_accessible(open_tab, web_deployment,  # type: ignore[no-untyped-def]
                                                                         web_static: Path, tmp_path: Path) -> None:
    dep = web_deployment
    tab = open_tab("/")
    page = tab.page
    page.locator("h1").first.wait_for()
    assert page.title() == "Notes"
    path = wallet_file(dep, tmp_path)
    open_wallet(page, path)
    written_at = wallet.load(path, PASSPHRASE).records[0].written_at
    day = page.evaluate("(iso) => new Date(iso).toLocaleDateString(undefined, "
                        "{day: 'numeric', month: 'long', year: 'numeric'})", written_at)
    titles = page.locator("#entries-list > li h3 a")
    expect(titles).to_have_text([OWN_TITLE, f"Record of {day}"])  # newest first
    expect(page.locator("#entries-list")).not_to_contain_text(FIRST_LINE)
    titles.nth(1).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Record of {day}")
    assert page.title() == "Notes"

    # a title given when writing, in the browser
    page.get_by_role("navigation").get_by_role("link", name="Write a record").click()
    page.get_by_label("Title for your list (optional)").fill("Tuesday")
    page.get_by_label("Anything else").fill("Words nobody should see in a list.")
    page.get_by_role("button", name="Save privately").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tuesday")

    page.get_by_role("navigation").get_by_role("link", name="Your records").click()
    problems = {"records (with the lock choice)": axe_violations(page)}
    page.get_by_role("button", name="Delete my account…").click()
    expect(page.get_by_role("heading", name="Delete your account?")).to_be_focused()
    problems["delete confirmation"] = axe_violations(page)
    page.get_by_role("button", name="No, keep my account").click()

    # the safety page, from the app's link; its own exit; the counselor's page is "Notes" too
    page.get_by_role("link", name="Staying safe with this app").first.click()
    wait_for_heading(page, "Staying safe with this app")
    assert page.title() == "Notes"
    for heading in ("Leave quickly", "Use a safer device if you can", "Browsing history and private windows",
                    "What this app keeps on this device", "Email notices"):
        expect(page.get_by_role("heading", name=heading, level=2)).to_be_visible()
    expect(page.locator("main")).to_contain_text("IndexedDB")
    expect(page.get_by_role("button", name="Leave quickly")).to_be_visible()
    problems["safety page"] = axe_violations(page)
    page.set_viewport_size({"width": 360, "height": 800})
    assert page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth") <= 0
    page.get_by_role("button", name="Leave quickly").click()
    page.wait_for_url(exit_url(dep))

    counselor = open_tab("/counselor/").page
    counselor.locator("h1").first.wait_for()
    assert counselor.title() == "Notes"
    expect(counselor.get_by_role("link", name="Staying safe with this app")).to_be_visible()
    problems["counselor unlock"] = axe_violations(counselor)
    bad = {name: describe_violations(v) for name, v in problems.items() if v}
    assert not bad, bad
    icon = counselor.request.get(f"{dep.url}/favicon.ico")  # the neutral note-page icon of this build
    assert icon.ok and icon.body() == (web_static / "assets" / "favicon.ico").read_bytes()
    tab.assert_clean()


def test_delete_my_account_in_the_browser_and_with_the_command_line(open_tab, web_deployment,  # type: ignore[no-untyped-def]
                                                                    tmp_path: Path) -> None:
    dep = web_deployment
    tab = open_tab("/")
    page = tab.page
    page.locator("h1").first.wait_for()
    path = wallet_file(dep, tmp_path, escrowed=True)
    kept = wallet.load(path, PASSPHRASE)
    open_wallet(page, path)

    page.get_by_role("button", name="Delete my account…").click()
    confirm = page.locator("#delete-confirm")
    expect(confirm).to_contain_text("whether or not anyone else named the same person")
    expect(confirm).to_contain_text("What stays")
    confirm.get_by_label("Type DELETE to delete your account").fill("delete")
    confirm.get_by_role("button", name="Yes, delete my account").click()
    expect(confirm.locator(".field-error")).to_contain_text("Nothing was deleted")
    assert signs_in(dep, kept)  # a wrong word deleted nothing

    confirm.get_by_label("Type DELETE to delete your account").fill("DELETE")
    confirm.get_by_role("button", name="Yes, delete my account").click()
    expect(page.locator("#note")).to_contain_text("Your account is deleted. One record was erased from the server",
                                                  timeout=60_000)
    expect(page.locator("#note")).to_contain_text("What stays")
    wait_for_heading(page, "A safe place to write down what happened")
    expect(page.locator("#unlock-box")).to_be_hidden()
    stored = page.evaluate("""() => new Promise((resolve, reject) => {
        const req = indexedDB.open('consilience');
        req.onsuccess = () => { const t = req.result.transaction('wallet').objectStore('wallet').get('current');
                                t.onsuccess = () => resolve(t.result ?? null); t.onerror = () => reject(t.error); };
        req.onerror = () => reject(req.error); })""")
    assert stored is None
    with pytest.raises(ApiError) as refused:
        signs_in(dep, kept)
    assert refused.value.code == "account_deleted"

    # the command line: type DELETE is skipped with --yes; the wallet and its receipts are gone afterwards
    home = tmp_path / "cli"
    home.mkdir()
    cli_wallet = wallet_file(dep, home, escrowed=True)
    assert (home / "receipts").is_dir()
    env = person(home, PASSPHRASE)
    done = json.loads(ok(env, "reporter", "delete-account", "--yes", "--wallet", str(cli_wallet), "--json"))
    assert done["erased_entries"] == 1 and len(done["what_stays"]) == 3
    assert not cli_wallet.exists() and not (home / "receipts").exists()
    tab.assert_clean()


def signs_in(dep: WebDeployment, w: wallet.Wallet) -> bool:
    seed = b64u_decode(w.account_seed, length=32)
    deployment_id = accounts.parse_certificate(b64u_decode(w.certificate, length=120)).deployment_id
    with EscrowClient(dep.url) as client:
        return bool(reporter_login(seed, deployment_id)(client))

