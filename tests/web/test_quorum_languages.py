"""The quorum flow in Spanish and in Arabic: three reporters and one counselor, each in their language.

The steps are the English quorum flow's (ui.py), said through the catalogs (``ui.say``), so they
find every control by its name in the page's language. The first reporter's browser is English and
they choose their language with the picker on the first screen; the two others' browsers are in
that language (``es-MX``, ``ar-EG``) and the app follows them. The records are written in the
language too, and each run names a different person, so the two runs share one deployment and make
one match each. At every step the page is checked as a person would meet it: no English message of
the catalogs left on screen, no serious accessibility violation (axe-core, in that language), no
sideways scrolling at 360 px, and in Arabic ``<html dir="rtl">`` with the main column's text starting
on the right. Screenshots of the Arabic pages are kept (``ar-*``; docs/screenshots with
CONSILIENCE_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .browser import axe_violations, describe_violations, screenshot
from .ui import (
    english_left,
    escrow,
    expect_status,
    join,
    matches_count,
    say,
    unlock_counselor,
    wait_for_match,
    write_record,
)

pytestmark = pytest.mark.web

#: Per language: the browser locale of the second and third reporters, and three reporters naming one
#: person (a different person in each language, so each run makes its own match).
RUNS: dict[str, dict[str, Any]] = {
    "es": {
        "locale": "es-MX",
        "reporters": [
            {"contact": "Signal: lucia.relato.2210", "passphrase": "cometa naranja sereno lento 1",
             "record": "Me acorraló en la escalera después de la cena del equipo y no me dejaba pasar.",
             "details": {"what": "Me acorraló en la escalera", "when": "marzo de 2024, de noche",
                         "where": "Hotel Reforma, Ciudad de México"},
             "names": [("Email address", "Rafa.Ortiz@Gmail.com", None)]},
            {"contact": "correo marta.relato.5531@example.org", "passphrase": "lámpara río azul tranquila 2",
             "record": "Mensajes de madrugada durante meses; luego apareció frente a mi casa.",
             "details": {"what": "Mensajes repetidos y vino a mi casa"},
             "names": [("Email address", "rafaortiz+trabajo@gmail.com", None)]},
            {"contact": "teléfono 55 1234 5678 por la tarde", "passphrase": "violeta tranvía piedra mañana 3",
             "record": "En el congreso me agarró de la muñeca y dijo que nadie me creería.",
             "details": {"what": "Me agarró de la muñeca", "where": "Centro de convenciones"},
             "names": [("Email address", "RAFA.ORTIZ@googlemail.com", None)]},
        ],
    },
    "ar": {
        "locale": "ar-EG",
        "reporters": [
            {"contact": "Signal: salma.report.3304", "passphrase": "قمر هادئ فوق النهر 1",
             "record": "حاصرني على الدرج بعد عشاء الفريق ولم يسمح لي بالمرور.",
             "details": {"what": "حاصرني على الدرج", "when": "مارس 2024، ليلًا", "where": "فندق النيل، القاهرة"},
             "names": [("Email address", "Karim.Fathy@Gmail.com", None)]},
            {"contact": "بريد nour.report.7720@example.org", "passphrase": "نافذة زرقاء ومطر خفيف 2",
             "record": "رسائل في منتصف الليل لأشهر، ثم ظهر أمام بيتي.",
             "details": {"what": "رسائل متكررة ثم جاء إلى بيتي"},
             "names": [("Email address", "karimfathy+work@gmail.com", None)]},
            {"contact": "هاتف بعد السادسة مساءً", "passphrase": "شجرة قديمة وضوء الصباح 3",
             "record": "في المؤتمر أمسك معصمي وقال إن أحدًا لن يصدقني.",
             "details": {"what": "أمسك معصمي في المؤتمر", "where": "مركز المؤتمرات"},
             "names": [("Email address", "KARIM.FATHY@googlemail.com", None)]},
        ],
    },
}


def check(page: Page, lang: str, state: str, typed: tuple[str, ...] = ()) -> None:
    """What a person meets in this state: their language throughout, accessible, no sideways scrolling."""
    html = page.locator("html")
    expect(html).to_have_attribute("lang", lang)
    expect(html).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    assert english_left(page, lang, typed=typed) == [], f"{state} in {lang} still shows English"
    violations = axe_violations(page)
    assert not violations, f"{state} in {lang}:\n{describe_violations(violations)}"
    page.set_viewport_size({"width": 360, "height": 800})
    overflow = page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")
    assert overflow <= 0, f"{state} in {lang} is {overflow}px wider than 360"
    page.set_viewport_size({"width": 1000, "height": 900})
    if lang == "ar":
        # the visible h1 starts at the right edge of the main column, as Arabic reads
        start = page.evaluate("""() => {
          const h = [...document.querySelectorAll('main h1')].find((e) => e.offsetParent !== null);
          const main = document.querySelector('main').getBoundingClientRect();
          const r = document.createRange(); r.selectNodeContents(h);
          const text = r.getBoundingClientRect();
          return { right: main.right - text.right, left: text.left - main.left };
        }""")
        assert start["right"] < start["left"], f"{state} in Arabic: the heading is not on the right: {start}"


@pytest.mark.parametrize("lang", ["es", "ar"])
def test_three_reporters_and_a_counselor_in_their_language(web_deployment, open_tab, lang: str) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    run = RUNS[lang]
    reporters = run["reporters"]
    before = matches_count(dep)
    invites = dep.invites(3)
    tabs = []
    for i, (who, invite) in enumerate(zip(reporters, invites, strict=True)):
        if i == 0:
            tab = open_tab("/", locale="en-GB")
            page = tab.page
            page.locator("h1:visible").first.wait_for()
            expect(page.locator("html")).to_have_attribute("lang", "en")
            page.locator("header select[data-language-picker]").select_option(lang)
            check(page, lang, "the first screen")
            if lang == "ar":
                screenshot(page, "ar-reporter-start")
        else:
            tab = open_tab("/", locale=run["locale"])
            page = tab.page
            page.locator("h1:visible").first.wait_for()
        tabs.append(tab)
        typed = (who["contact"], who["record"], *who["details"].values(), *(t for _, t, _ in who["names"]))
        join(page, invite, who["contact"], who["passphrase"], shoot=False)
        if i == 0:
            check(page, lang, "the records after joining", typed)
        write_record(page, who)
        if i == 0:
            check(page, lang, "a record just saved", typed)
            if lang == "ar":
                screenshot(page, "ar-reporter-record")
        escrow(page, who["names"])
        expect_status(page, say(page, "In escrow"))
        if i == 0:
            check(page, lang, "a record in escrow", typed)
            if lang == "ar":
                screenshot(page, "ar-reporter-escrowed")
    wait_for_match(dep, count=before + 1)

    counselor_tab = open_tab("/counselor/", locale=run["locale"])
    counselor = counselor_tab.page
    counselor.locator("h1:visible").first.wait_for()
    check(counselor, lang, "the counselor's unlock screen")
    unlock_counselor(counselor, dep.counselor_key, dep.counselor_passphrase)
    links = counselor.locator("#cases-list h2 a")
    expect(links).to_have_count(before + 1, timeout=60_000)
    check(counselor, lang, "the counselor's cases")
    if lang == "ar":
        screenshot(counselor, "ar-counselor-cases")
    # this run's match is the case holding these reporters' records (the other language's run made the other)
    bodies = []
    for n in range(links.count()):
        links.nth(n).click()
        counselor.locator("#case-body section.match").first.wait_for(timeout=180_000)
        expect(counselor.locator("#case-body")).to_contain_text(re.compile("."), timeout=180_000)
        body = counselor.locator("#case-body").inner_text()
        if reporters[0]["record"] in body:
            break
        bodies.append(body)
        counselor.get_by_role("link", name=say(counselor, "Cases")).first.click()
        expect(links).to_have_count(before + 1, timeout=60_000)
    else:
        pytest.fail(f"no case holds the {lang} records; the cases say: {bodies}")
    for who in reporters:
        assert who["record"] in body and who["details"]["what"] in body and who["contact"] in body
    typed = tuple(x for who in reporters for x in (who["record"], who["contact"], *who["details"].values()))
    check(counselor, lang, "an opened match", typed)
    if lang == "ar":
        screenshot(counselor, "ar-counselor-match")
    for tab in [*tabs, counselor_tab]:
        tab.assert_clean()
