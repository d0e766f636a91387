"""The browser SDK's refusals on a Spanish or Arabic page: said in the page's language, and said again
when the language changes.

The SDK speaks English (web/src/sdk: its sentences are the Python SDK's, word for word); each refusal
a person can meet carries a code, and the page says the code from its catalogs (app.sdk.<code>). A
person types a mistyped invite, a malformed unlock code, an email address and a phone number that
cannot be ones: each message shown is the catalog's sentence in the page's language, with what they
typed in it. Changing the language with the picker says again what is on screen: the field errors,
the steps of the work that ran, and the notice shown last. A check that fails inside the SDK (a
deployment document whose signature does not verify) is said as a plain sentence of the page's,
the SDK's English kept apart as a technical detail (lang="en").
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from .browser import Tab
from .ui import SLOW, catalogs, english_left, join, say, wait_for_backup, write_record

pytestmark = pytest.mark.web

LANGUAGE_KEY = "consilience.language"
FAST_KDF = {"memory_cost_kib": 1024, "iterations": 1, "lanes": 1}
PHONE_EXAMPLE = "+44 20 7946 0958"
WHO: dict[str, Any] = {
    "contact": "Signal: languages.reporter.3141",
    "passphrase": "meadow copper lantern quietly 7",
    "record": "He waited outside my work every evening for a month.",
    "details": {"what": "Waited outside my work", "when": "last spring"},
}


def said(lang: str, key: str, **params: str) -> str:
    """The catalog's message KEY in LANG with PARAMS filled in (the messages here have no plural)."""
    message = catalogs()[lang][key].replace("''", "'")
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], message)


def sdk(lang: str, code: str, **params: str) -> str:
    return said(lang, f"app.sdk.{code}", **params)


def choose_language_before_load(page: Page, lang: str) -> None:
    page.evaluate("([key, lang]) => localStorage.setItem(key, lang)", [LANGUAGE_KEY, lang])
    page.reload()
    page.locator("h1:visible").first.wait_for()
    expect(page.locator("html")).to_have_attribute("lang", lang)


def pick_language(page: Page, lang: str) -> None:
    """Change the language with the picker in the header, as a person does."""
    page.locator("header select[data-language-picker]").select_option(lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)


@pytest.fixture(scope="module")
def backup_handle(web_deployment: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The account handle of a backup at the escrow server (made by the Python client: no Argon2id in a browser)."""
    from consilience.clients import recovery as recovery_client
    from consilience.clients import reporter

    [invite] = web_deployment.invites(1)
    folder: Path = tmp_path_factory.mktemp("sdk-errors")
    session = reporter.register(web_deployment.url, invite, "Signal: handle.owner.2718", folder / "wallet.sealed",
                                "cobalt harbour pine whistle 5", kdf_params=FAST_KDF)
    if not session.wallet.backup_handle:
        recovery_client.set_up(session)
    return str(session.wallet.backup_handle)


@pytest.mark.parametrize(("first", "then"), [("es", "ar"), ("ar", "es")])
def test_a_mistyped_invite_and_unlock_code_are_said_in_the_language(open_tab: Callable[..., Tab], backup_handle: str,
                                                                     first: str, then: str) -> None:
    tab = open_tab("/", locale="en-US")
    page = tab.page
    page.locator("h1:visible").first.wait_for()
    choose_language_before_load(page, first)

    # an invite with a character missing: refused before anything is sent
    page.evaluate("location.hash = '#/join'")
    page.locator("#join-invite").fill("cnsl2.abc")
    page.locator("#join-pass").fill("a long enough passphrase")
    page.locator("#join-pass2").fill("a long enough passphrase")
    page.locator("#join-form button[type=submit]").click()
    invite_error = page.locator("#join-invite-error")
    expect(invite_error).to_have_text(sdk(first, "invite.mistyped"))
    assert english_left(page, first) == [], f"English left on the join form in {first}"
    pick_language(page, then)
    expect(invite_error).to_have_text(sdk(then, "invite.mistyped"))
    pick_language(page, first)

    # an unlock code that is not one: refused once the backup is found, before the passphrase is stretched
    page.evaluate("location.hash = '#/recover'")
    page.locator("#recover-handle").fill(backup_handle)
    page.locator("#recover-pass").fill("not the passphrase")
    page.locator("#recover-unlock").fill("unlock-me-please")
    page.locator("#recover-form button[type=submit]").click()
    unlock_error = page.locator("#recover-unlock-error")
    expect(unlock_error).to_have_text(sdk(first, "recovery.unlock.prefix"), timeout=30_000)
    steps_title = page.locator("#progress p.label")
    expect(steps_title).to_have_text(said(first, "app.recovery.steps.title"))
    assert english_left(page, first, typed=(backup_handle,)) == [], f"English left on the recover form in {first}"
    # the refusal and the steps of the work that ran follow a change of language
    pick_language(page, then)
    expect(unlock_error).to_have_text(sdk(then, "recovery.unlock.prefix"))
    expect(steps_title).to_have_text(said(then, "app.recovery.steps.title"))
    expect(page.locator("#progress li").first).to_have_text(said(then, "app.recovery.step.backup"))
    tab.assert_clean()


def name_in_row(page: Page, n: int, kind: str, typed: str) -> Any:
    """Type TYPED as row N's name of KIND and leave the field; the row's error line."""
    row = page.locator(".ident-row").nth(n)
    row.locator("select[name=kind]").select_option(kind)
    field = row.locator("input[name=identifier]")
    field.fill(typed)
    field.blur()
    return row.locator(".field-error")


def test_names_the_sdk_refuses_and_the_notice_follow_the_language(open_tab: Callable[..., Tab],
                                                                  web_deployment: Any) -> None:
    tab = open_tab("/", locale="en-US")
    page = tab.page
    page.locator("h1:visible").first.wait_for()
    [invite] = web_deployment.invites(1)
    join(page, invite, WHO["contact"], WHO["passphrase"])
    wait_for_backup(page)
    handle = page.locator("#recovery-handle").inner_text()
    note = page.locator("#note")
    expect(note).to_contain_text(handle, timeout=SLOW)

    # the notice on screen (the handle to write down) is said again in the new language
    for lang in ("es", "ar"):
        pick_language(page, lang)
        ready = said(lang, "app.recovery.ready", handle=handle)
        expect(note).to_have_text(f"{ready} {said(lang, 'app.recovery.writeItDown')}")

    pick_language(page, "es")
    write_record(page, WHO)
    page.get_by_role("link", name=say(page, "Put in escrow…")).click()
    page.get_by_role("heading", name=say(page, "Put this record in escrow"), level=1).wait_for()
    email, phone = "name@@example.com", "+1 2"
    email_error = name_in_row(page, 0, "email", email)
    page.get_by_role("button", name=say(page, "Add another way to identify them")).click()
    phone_error = name_in_row(page, 1, "phone", phone)

    def expected(lang: str) -> tuple[str, str]:
        return (sdk(lang, "identifier.email.invalid", typed=f"'{email}'", why=sdk(lang, "identifier.email.oneAt")),
                sdk(lang, "identifier.phone.invalid", typed=f"'{phone}'",
                    example=sdk(lang, "identifier.phone.example", example=PHONE_EXAMPLE)))

    for lang in ("es", "ar"):
        if lang != "es":
            pick_language(page, lang)
        email_said, phone_said = expected(lang)
        expect(email_error).to_have_text(email_said)
        expect(phone_error).to_have_text(phone_said)
        assert english_left(page, lang, typed=(email, phone)) == [], f"English left on the escrow form in {lang}"
    # and back in English: the SDK's own sentences, word for word
    pick_language(page, "en")
    expect(email_error).to_have_text(
        f"'{email}' is not a valid email address: it must contain exactly one @, e.g. name@example.com")
    expect(phone_error).to_have_text(
        f"'{phone}' is not a valid phone number; include the country code, e.g. {PHONE_EXAMPLE}")
    tab.assert_clean()


def tampered_signature(route: Route) -> None:
    """The escrow server's deployment document with one bit of its signature changed."""
    response = route.fetch()
    published = response.json()
    raw = bytearray(base64.urlsafe_b64decode(published["signature"] + "=" * (-len(published["signature"]) % 4)))
    raw[0] ^= 1
    published["signature"] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    route.fulfill(response=response, json=published)


@pytest.mark.parametrize(("first", "then"), [("es", "ar")])
def test_a_check_that_fails_in_the_sdk_is_said_plainly_with_the_english_apart(open_tab: Callable[..., Tab],
                                                                               first: str, then: str) -> None:
    tab = open_tab("/", locale="en-US", service_workers="block")  # every request reaches page.route
    page = tab.page
    page.locator("h1:visible").first.wait_for()
    choose_language_before_load(page, first)
    page.route("**/v2/deployment", tampered_signature)
    page.evaluate("location.hash = '#/recover'")
    page.locator("#recover-handle").fill("7KQ2-M9XD-4RTA-HW3E")
    page.locator("#recover-pass").fill("any passphrase at all")
    page.locator("#recover-form button[type=submit]").click()
    alert = page.locator("#alert")
    detail = alert.locator("details.technical")
    for lang in (first, then):
        if lang != first:
            pick_language(page, lang)
        expect(alert).to_contain_text(f"{said(lang, 'app.recovery.failed')} {sdk(lang, 'unexplained')}", timeout=30_000)
        expect(detail.locator("summary")).to_have_text(sdk(lang, "detail"))
        # the SDK's own words, for whoever helps: closed until opened, English, left to right
        english = detail.locator("p")
        expect(english).to_have_attribute("lang", "en")
        expect(english).to_have_attribute("dir", "ltr")
        expect(english).to_contain_text("signature")
        expect(english).not_to_be_visible()
        assert english_left(page, lang) == [], f"English left in {lang}"
    detail.locator("summary").click()
    expect(detail.locator("p")).to_be_visible()
