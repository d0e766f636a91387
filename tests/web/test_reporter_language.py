"""The reporter page in Spanish and in Arabic: what a person reads there is in their language.

The first screens (before any wallet exists) are checked for English left over, against every
English message of the catalogs; the page's <html lang dir> follows the language (right to left
for Arabic) and the language picker is on the first screen and reached with the keyboard. One
person then joins (one Argon2id unlock for the module), writes a record, and changes the language
with the picker while typing: what they typed stays, and the page says everything again in the
new language, including the notice it showed last. Their browser is Mexican Spanish, so a phone
number is read as Mexican whatever language the page is in, and "We will match on" shows it with
its country code (+52).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .browser import Tab
from .ui import SLOW, catalogs, english_left, join, say, write_record

pytestmark = pytest.mark.web

LANGUAGE_KEY = "consilience.language"
#: The views a person sees before a wallet exists, by their address.
FIRST_VIEWS = ["#/start", "#/join", "#/recover", "#/import"]


def choose_language_before_load(page: Page, lang: str) -> None:
    """Keep LANG as the person's choice in this browser, then load the page afresh."""
    page.evaluate("([key, lang]) => localStorage.setItem(key, lang)", [LANGUAGE_KEY, lang])
    page.reload()
    page.locator("h1:visible").first.wait_for()


def pick_language(page: Page, lang: str) -> None:
    """Change the language with the picker in the header, as a person does."""
    page.locator("header select[data-language-picker]").select_option(lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)


@pytest.mark.parametrize("lang", ["es", "ar"])
def test_the_first_screens_are_in_the_chosen_language(open_tab: Callable[..., Tab], lang: str) -> None:
    tab = open_tab("/", locale="en-US")
    page = tab.page
    page.locator("h1:visible").first.wait_for()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    choose_language_before_load(page, lang)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", lang)
    expect(html).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    for view in FIRST_VIEWS:
        page.evaluate("(hash) => { location.hash = hash; }", view)
        name = view.removeprefix("#/")
        expect(page.locator(f"#view-{name}")).to_be_visible()
        assert english_left(page, lang) == [], f"{view} in {lang} still shows English"
    # the first screen's heading and button, as the catalogs say them
    page.evaluate("location.hash = '#/start'")
    expect(page.get_by_role("heading", level=1, name=catalogs()[lang]["reporter.start.title"])).to_be_visible()
    expect(page.get_by_role("link", name=catalogs()[lang]["reporter.start.join"])).to_be_visible()
    tab.assert_clean()


def test_the_language_picker_is_on_the_first_screen_and_reached_with_the_keyboard(open_tab: Callable[..., Tab]) -> None:
    tab = open_tab("/", viewport={"width": 360, "height": 740})
    page = tab.page
    page.get_by_role("heading", level=1, name="A safe place to write down what happened").wait_for()
    picker = page.get_by_role("combobox", name="Language")
    expect(picker).to_be_visible()
    box = picker.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 740, f"the language picker is below the first screen: {box}"
    # from the top of the page, a few presses of Tab reach it
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('select[data-language-picker]')"):
            break
    else:
        pytest.fail("Tab never reached the language picker")
    # and the keyboard alone changes the language (a select takes the arrow keys)
    page.keyboard.press("ArrowDown")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1, name=catalogs()["es"]["reporter.start.title"])).to_be_visible()
    tab.assert_clean()


def test_changing_language_keeps_what_was_typed_and_the_phone_country(web_deployment, open_tab) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    es, ar = catalogs()["es"], catalogs()["ar"]
    tab = open_tab("/", locale="es-MX")
    page = tab.page
    page.locator("h1:visible").first.wait_for()
    # a Mexican Spanish browser opens the page in Spanish; the person chooses English to join
    expect(page.locator("html")).to_have_attribute("lang", "es")
    choose_language_before_load(page, "en")
    [invite] = dep.invites(1)
    join(page, invite, "Signal: language.test.1", "lantern harbour quietly switching 1")

    page.get_by_role("navigation").get_by_role("link", name="Write a record").click()
    page.get_by_role("heading", name="Write a record", level=1).wait_for()
    typed = {"#w-what": "At the office party", "#w-when": "last spring",
             "#w-text": "He would not let me leave the room."}
    for selector, text in typed.items():
        page.locator(selector).fill(text)

    # Spanish, then Arabic, while writing: the words change, what was typed stays
    pick_language(page, "es")
    expect(page.get_by_role("heading", level=1, name=es["reporter.write.title"])).to_be_visible()
    expect(page.get_by_label(es["reporter.write.what"], exact=True)).to_have_value(typed["#w-what"])
    pick_language(page, "ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1, name=ar["reporter.write.title"])).to_be_visible()
    for selector, text in typed.items():
        expect(page.locator(selector)).to_have_value(text)
    expect(page.locator("#w-files-hint")).not_to_contain_text("Photos, screenshots")
    assert english_left(page, "ar") == []

    page.get_by_role("button", name=say(page, "Save privately")).click()
    note = page.locator("#note")
    expect(note).to_have_text(ar["reporter.write.saved"], timeout=60_000)
    expect(page.locator("main")).to_contain_text(typed["#w-text"])
    # the notice shown last is said again in the new language
    pick_language(page, "es")
    expect(note).to_have_text(es["reporter.write.saved"])
    expect(page.locator(".badge")).to_have_text(es["reporter.status.private"])

    # the phone number's country comes from the browser (es-MX), and the check shows +52
    page.get_by_role("link", name=es["reporter.record.put"]).click()
    page.get_by_role("heading", level=1, name=es["reporter.escrow.title"]).wait_for()
    row = page.locator(".ident-row").first
    row.get_by_label(es["reporter.escrow.kind"]).select_option("phone")
    expect(row.get_by_label(es["reporter.escrow.region.label"])).to_have_value("MX")
    row.get_by_label(es["reporter.escrow.value"]).fill("55 1234 5678")
    # the same controls, whatever their labels say
    region, number = row.locator("select[name=region]"), row.locator("input[name=identifier]")
    ok = row.locator(".field-ok")
    expect(ok).to_have_text(f"{es['reporter.escrow.match.ok']} +52 55 1234 5678")

    # in Arabic the same number, the same country, the check said again
    pick_language(page, "ar")
    expect(number).to_have_value("55 1234 5678")
    expect(region).to_have_value("MX")
    expect(ok).to_have_text(f"{ar['reporter.escrow.match.ok']} +52 55 1234 5678")
    expect(row.get_by_label(ar["reporter.escrow.region.label"])).to_be_visible()
    expect(page.locator("#e-quorum")).to_have_value(re.compile(r"\d"), timeout=SLOW)
    expect(page.locator("#e-quorum-hint")).not_to_contain_text("At least")
    assert english_left(page, "ar") == []
    tab.assert_clean()


def test_the_guessed_phone_country_follows_the_chosen_language(web_deployment, open_tab) -> None:  # type: ignore[no-untyped-def]
    """A browser that names no country ("en"): the country is the one the chosen language implies (en: US,
    ar: EG, es: ES), changed with the language until a number is typed, then kept with it."""
    dep = web_deployment
    es, ar = catalogs()["es"], catalogs()["ar"]
    tab = open_tab("/", locale="en")
    page = tab.page
    page.locator("h1:visible").first.wait_for()
    [invite] = dep.invites(1)
    join(page, invite, "Signal: language.test.2", "lantern harbour quietly switching 2")
    write_record(page, {"details": {"what": "On the bus home"}, "record": "He followed me off the bus."})
    page.get_by_role("link", name="Put in escrow…").click()
    row = page.locator(".ident-row").first
    row.get_by_label("Kind").select_option("phone")
    region, number = row.locator("select[name=region]"), row.locator("input[name=identifier]")
    expect(region).to_have_value("US")
    pick_language(page, "ar")
    expect(region).to_have_value("EG")
    number.fill("010 1234 5678")
    ok = row.locator(".field-ok")
    expect(ok).to_have_text(f"{ar['reporter.escrow.match.ok']} +20 10 12345678")
    # typed: the number stays read as Egyptian in Spanish
    pick_language(page, "es")
    expect(region).to_have_value("EG")
    expect(ok).to_have_text(f"{es['reporter.escrow.match.ok']} +20 10 12345678")
    # the country names are the language's, and sorted in it
    expect(region.locator("option[value=EG]")).to_have_text("Egipto (+20)")
    tab.assert_clean()
