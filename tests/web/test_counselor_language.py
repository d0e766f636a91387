"""The counselor page in Spanish and Arabic: nothing left in English, <html lang dir>, and a change of
language that keeps what the counselor typed.

What a counselor reads is checked against the English catalog (web/src/app/locales/en/counselor.json
and common.json): no English message may show on a page set to another language, in its text nodes
or in the attributes read aloud (aria-label, title). Two states are reached cheaply: the unlock
screen (with a field error), and a case whose match three reporters on the Python SDK made (cheap
Argon2id), opened in the browser. Switching the language with the picker redraws the open view from
memory: the typed note, message and passphrase, the chosen file and the unsaved state stay.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, expect

from .browser import screenshot
from .ui import catalogs, wait_for_match

pytestmark = pytest.mark.web

AREAS = ("counselor", "common")
FAST_KDF = {"memory_cost_kib": 1024, "iterations": 1, "lanes": 1}
DIR = {"en": "ltr", "es": "ltr", "ar": "rtl"}
ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")
#: "Case: 3 records opened" in each language (the plural form for 3 chosen by hand, to check the catalogs' choice).
CASE_OPENED = {"en": "Case: 3 records opened", "es": "Caso: 3 registros abiertos", "ar": "الحالة: فُتحت 3 سجلات"}


@cache
def catalog(lang: str) -> dict[str, str]:
    """The messages of the counselor page's areas in LANG."""
    return {k: v for k, v in catalogs()[lang].items() if k.split(".", 1)[0] in AREAS}


def say(lang: str, key: str) -> str:
    """An argument-free message as shown (a doubled apostrophe is one)."""
    return catalog(lang)[key].replace("''", "'")


def _literal_pattern(message: str) -> tuple[str, str]:
    """A regex matching MESSAGE with any value for each argument (a plural block is one argument), and its
    literal text."""
    parts, literal, depth, start = [], [], 0, 0
    for i, ch in enumerate(message):
        if ch == "{":
            if depth == 0:
                literal.append(message[start:i])
                parts.append(re.escape(message[start:i]))
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                parts.append(".+")
                start = i + 1
    literal.append(message[start:])
    parts.append(re.escape(message[start:]))
    return "".join(parts), "".join(literal)


def shown_texts(page: Page) -> list[str]:
    """Every piece of text a person sees or hears: visible text nodes, aria-label and title, the page title."""
    texts: list[str] = page.evaluate("""() => {
        const out = [document.title];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const el = n.parentElement;
            const text = n.textContent.trim();
            if (!text || !el) continue;
            if (el.closest('select') ? !el.closest('select').checkVisibility() : !el.checkVisibility()) continue;
            out.push(text);
        }
        for (const el of document.querySelectorAll('[aria-label], [title]')) {
            if (!el.checkVisibility() && !el.closest('nav')) continue;
            for (const name of ['aria-label', 'title']) if (el.getAttribute(name)) out.push(el.getAttribute(name));
        }
        return out;
    }""")
    return [t.strip(" ·\u00a0") for t in texts]


def messages_left(page: Page, lang: str, source: str = "en") -> list[str]:
    """The SOURCE-language messages (of the counselor page's areas) that show on the page, in LANG, where LANG
    words them otherwise."""
    texts = [t for t in shown_texts(page) if t]
    found = []
    for key, message in catalog(source).items():
        if catalog(lang).get(key) == message:
            continue
        pattern, literal = _literal_pattern(message.replace("''", "'"))
        if len(re.findall(r"[^\W\d_]", literal)) < 4:
            continue  # "{name} ({size}, {type})": nothing to tell the languages apart
        exact = re.compile(pattern)
        for text in texts:
            if exact.fullmatch(text) or (len(literal) >= 16 and "{" not in message and message in text):
                found.append(f"{key}: {text!r}")
                break
    return found


def expect_language(page: Page, lang: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("html")).to_have_attribute("dir", DIR[lang])
    expect(page.locator("select[data-language-picker]")).to_have_value(lang)


def open_counselor_in(open_tab: Any, lang: str) -> Page:
    """The counselor page in a fresh browser context, in LANG as the person chose it before (kept in storage)."""
    tab = open_tab("/counselor/")
    page: Page = tab.page
    page.evaluate("(lang) => localStorage.setItem('consilience.language', lang)", lang)
    page.reload()
    expect(page.get_by_role("heading", name=say(lang, "counselor.unlock.title"), level=1)).to_be_visible()
    return page


def switch(page: Page, lang: str) -> None:
    page.get_by_label(say(page.evaluate("document.documentElement.lang"), "common.language.label")).select_option(lang)
    expect_language(page, lang)


@pytest.mark.parametrize(("lang", "other"), [("es", "ar"), ("ar", "es")])
def test_the_unlock_screen_speaks_the_chosen_language_and_keeps_the_typed_passphrase(  # type: ignore[no-untyped-def]
        web_deployment, open_tab, lang: str, other: str) -> None:
    page = open_counselor_in(open_tab, lang)
    expect_language(page, lang)
    assert page.title() == say(lang, "common.title")
    expect(page.get_by_role("button", name=say(lang, "common.leave"))).to_be_visible()
    assert messages_left(page, lang) == []

    # a field error made by the page, in the language; the typed passphrase survives two changes of language
    page.get_by_label(say(lang, "counselor.unlock.pass.label")).fill("half typed")
    page.get_by_role("button", name=say(lang, "counselor.unlock.submit")).click()
    expect(page.locator("#key-file-error")).to_have_text(say(lang, "counselor.unlock.error.nofile"))
    assert messages_left(page, lang) == []

    switch(page, other)
    expect(page.get_by_role("heading", level=1)).to_have_text(say(other, "counselor.unlock.title"))
    expect(page.locator("#key-file-error")).to_have_text(say(other, "counselor.unlock.error.nofile"))
    expect(page.get_by_label(say(other, "counselor.unlock.pass.label"))).to_have_value("half typed")
    assert messages_left(page, other) == []
    assert messages_left(page, other, source=lang) == [], f"{lang} left after switching to {other}"

    switch(page, "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Unlock your counselor key")
    expect(page.locator("#key-file-error")).to_have_text("Choose your counselor key file.")
    expect(page.get_by_label("Passphrase")).to_have_value("half typed")
    # the check itself sees English where it is shown
    left = messages_left(page, lang)
    assert any(k.startswith("counselor.unlock.error.nofile:") for k in left), left
    assert any(k.startswith("common.leave:") for k in left), left


def sdk_reporter(dep: Any, tmp: Path, name: str, typed: str) -> None:
    """A reporter on the Python SDK who escrows a record naming TYPED."""
    from consilience.clients import reporter

    [invite] = dep.invites(1)
    session = reporter.register(dep.url, invite, f"contact of {name}", tmp / f"{name}.sealed", "sdk passphrase",
                                kdf_params=FAST_KDF)
    record = reporter.write(session, f"The record {name} wrote.")
    reporter.escrow(session, record.record_id, [typed])


def case_heading(page: Page) -> str:
    return page.get_by_role("heading", level=1).inner_text().translate(ARABIC_DIGITS)


def test_a_case_reads_in_spanish_and_arabic_and_a_change_of_language_keeps_the_work(  # type: ignore[no-untyped-def]
        web_deployment, open_tab, tmp_path: Path) -> None:
    dep = web_deployment
    for n in range(3):
        sdk_reporter(dep, tmp_path, f"reporter{n}", "language.person@example.org")
    wait_for_match(dep)

    page = open_counselor_in(open_tab, "es")
    page.get_by_label(say("es", "counselor.unlock.file.label")).set_input_files(str(dep.counselor_key))
    page.get_by_label(say("es", "counselor.unlock.pass.label")).fill(dep.counselor_passphrase)
    page.get_by_role("button", name=say("es", "counselor.unlock.submit")).click()
    expect(page.get_by_role("heading", name=say("es", "counselor.cases.title"), level=1)).to_be_visible(timeout=60_000)
    cases = page.locator("#cases-list > li")
    expect(cases).to_have_count(1)
    expect(cases.first).to_contain_text(say("es", "counselor.attention.unowned"))
    expect(cases.first.get_by_role("link")).to_have_text("Coincidencia de 3 registros liberados")
    assert messages_left(page, "es") == []

    # the cases list follows the picker at once
    switch(page, "ar")
    expect(cases.first).to_contain_text(say("ar", "counselor.attention.unowned"))
    assert messages_left(page, "ar") == []
    switch(page, "es")

    cases.first.get_by_role("link").click()
    expect(page.locator("#case-body section.record")).to_have_count(3, timeout=60_000)
    expect(page.get_by_role("heading", level=1)).to_have_text(CASE_OPENED["es"])
    for n in range(3):
        expect(page.locator("#case-body")).to_contain_text(f"The record reporter{n} wrote.")
    expect(page.locator("#alert")).to_be_empty()
    assert messages_left(page, "es") == []

    # a saved note's notice, and work in progress: a draft note, a first message with a file, an unsaved state
    page.get_by_label(say("es", "counselor.notes.label")).fill("Una nota guardada.")
    page.get_by_role("button", name=say("es", "counselor.notes.submit")).click()
    expect(page.locator("#note")).to_have_text(say("es", "counselor.notes.saved"), timeout=60_000)
    expect(page.locator("#notes-list")).to_contain_text("Una nota guardada.")
    page.get_by_label(say("es", "counselor.notes.label")).fill("Una nota a medio escribir")
    first = page.locator("#case-body section.record").first
    first.get_by_label(say("es", "counselor.direct.label.first")).fill("Hola, ¿cómo estás?")
    leaflet: FilePayload = {"name": "folleto.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 help"}
    first.get_by_label(say("es", "counselor.compose.attach")).set_input_files(files=[leaflet])
    page.get_by_label(say("es", "counselor.casework.state.label"), exact=True).select_option("closed")

    def work_is_kept(lang: str) -> None:
        expect(page.get_by_label(say(lang, "counselor.notes.label"))).to_have_value("Una nota a medio escribir")
        card = page.locator("#case-body section.record").first
        expect(card.get_by_label(say(lang, "counselor.direct.label.first"))).to_have_value("Hola, ¿cómo estás?")
        files = card.get_by_label(say(lang, "counselor.compose.attach"))
        assert files.evaluate("(input) => [...input.files].map((f) => f.name)") == ["folleto.pdf"]
        expect(page.get_by_label(say(lang, "counselor.casework.state.label"), exact=True)).to_have_value("closed")
        expect(page.locator("#notes-list")).to_contain_text("Una nota guardada.")
        expect(page.locator("#note")).to_have_text(say(lang, "counselor.notes.saved"))

    switch(page, "ar")
    expect(page.locator("#h-match-0")).to_have_text(re.compile(r"فُتحت [3٣] سجلات"))
    assert case_heading(page) == CASE_OPENED["ar"]
    work_is_kept("ar")
    assert messages_left(page, "ar") == []
    assert messages_left(page, "ar", source="es") == [], "Spanish left after switching to Arabic"
    screenshot(page, "counselor-case-ar")
    # the mirrored layout: the page's text starts at the right
    assert page.locator("#h-case").evaluate("(h) => getComputedStyle(h).direction") == "rtl"

    switch(page, "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(CASE_OPENED["en"])
    expect(page.get_by_role("heading", name="Match: 3 records opened")).to_be_visible()
    work_is_kept("en")
    assert messages_left(page, "en", source="ar") == [], "Arabic left after switching to English"
    assert page.locator("#case-body").inner_text().count("No messages yet.") == 3
    assert any(k.startswith("counselor.case.opened:") for k in messages_left(page, "es")), "the check sees English"
