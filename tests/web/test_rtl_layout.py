"""Arabic laid out right to left, and Spanish without English left in it, on every page of the web app.

The language is chosen as a person's earlier choice would be: ``consilience.language`` in this
browser's localStorage before the page loads. In Arabic each page (the reporter's first screen, the
counselor's unlock screen, the safety page, the verify page) has ``<html dir="rtl" lang="ar">``; its
header is the English one mirrored (the "Leave quickly" button in the left half, the site's name in
the right half); nothing in the header covers anything else, on a laptop's width and on a 360 px
phone; and no page scrolls sideways at 360 px. Screenshots of the Arabic pages go where the
screenshot helper puts them (docs/screenshots with CONSILIENCE_UPDATE_SCREENSHOTS=1). In Spanish no
English sentence of the safety and verify catalogs (nor of the shared one) is left on those pages,
and the longer Spanish words fit the header too. On the safety page in Arabic the address in the
footer stays left to right; on the verify page a proof (Python's disclosure vector) checked in Arabic
is said in Arabic, and again in English when the language changes, and a changed one is refused
naming its field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize

from .browser import REPO, screenshot
from .ui import catalogs

pytestmark = pytest.mark.web

#: (page file, the URL it is served at, the screenshot's name)
PAGES = [
    ("index.html", "/", "rtl-reporter-start"),
    ("counselor.html", "/counselor/", "rtl-counselor-unlock"),
    ("safety.html", "/safety.html", "rtl-safety"),
    ("verify.html", "/verify.html", "rtl-verify"),
]
WIDE: ViewportSize = {"width": 1000, "height": 900}
NARROW: ViewportSize = {"width": 360, "height": 800}
#: Just wider than the widths where the header keeps the leave button's corner free: the button sits in
#: the margin beside the centred header, which must be wide enough for it in every language.
MARGIN: ViewportSize = {"width": 1100, "height": 900}

#: Each visible piece of the header, with its box: the leave button (fixed over the header's corner),
#: the site's name, the language picker's label and menu, and the navigation's controls when shown.
HEADER_BOXES = """() => {
  const seen = (el) => {
    if (!el) return null;
    const style = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (style.visibility === 'hidden' || style.display === 'none' || r.width === 0 || r.height === 0) return null;
    return { x: r.left, y: r.top, w: r.width, h: r.height };
  };
  const out = {};
  const add = (name, el) => { const box = seen(el); if (box) out[name] = box; };
  add('leave', document.getElementById('leave'));
  add('brand', document.querySelector('header.site .brand'));
  add('language label', document.querySelector('header.site .language-picker label'));
  add('language menu', document.querySelector('header.site select[data-language-picker]'));
  document.querySelectorAll('header.site nav a, header.site nav button').forEach((el, n) => add(`nav ${n}`, el));
  return out;
}"""


def storage(url: str, language: str) -> dict[str, Any]:
    """A browser context's storage holding only the language choice, as the picker leaves it."""
    return {"cookies": [], "origins": [{"origin": url, "localStorage": [
        {"name": "consilience.language", "value": language}]}]}


def open_in(open_tab: Any, dep: Any, path: str, language: str) -> Page:
    tab = open_tab(path, storage_state=storage(dep.url, language), viewport=WIDE)
    page: Page = tab.page
    page.locator("h1").first.wait_for()
    page.locator("header.site select[data-language-picker]").wait_for()
    page.wait_for_function("(lang) => document.documentElement.lang === lang", arg=language)
    return page


def overlaps(boxes: dict[str, dict[str, float]]) -> list[str]:
    """The pairs of header pieces whose boxes intersect (touching edges do not count)."""
    names = sorted(boxes)
    found = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            p, q = boxes[a], boxes[b]
            if p["x"] < q["x"] + q["w"] - 0.5 and q["x"] < p["x"] + p["w"] - 0.5 \
                    and p["y"] < q["y"] + q["h"] - 0.5 and q["y"] < p["y"] + p["h"] - 0.5:
                found.append(f"{a} over {b}: {p} / {q}")
    return found


def sideways(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"))


def centre(box: dict[str, float]) -> float:
    return box["x"] + box["w"] / 2


@pytest.mark.parametrize(("file", "path", "shot"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_in_arabic_is_right_to_left_and_its_header_mirrored(  # type: ignore[no-untyped-def]
        open_tab, web_deployment, file: str, path: str, shot: str) -> None:
    dep = web_deployment
    english = open_in(open_tab, dep, path, "en")
    assert english.evaluate("[document.documentElement.dir, document.documentElement.lang]") == ["ltr", "en"]
    en_boxes = english.evaluate(HEADER_BOXES)
    half = WIDE["width"] / 2
    assert centre(en_boxes["leave"]) > half and centre(en_boxes["brand"]) < half, en_boxes

    page = open_in(open_tab, dep, path, "ar")
    assert page.evaluate("[document.documentElement.dir, document.documentElement.lang]") == ["rtl", "ar"]
    assert page.get_by_role("button", name=re.compile("Leave quickly")).count() == 0, "the leave button is in English"
    for size in (WIDE, MARGIN, NARROW):
        page.set_viewport_size(size)
        boxes = page.evaluate(HEADER_BOXES)
        assert {"leave", "brand", "language menu"} <= set(boxes), boxes
        half = size["width"] / 2
        # the mirror image of English: the leave button at the left, the site's name at the right
        where = f"{file} at {size['width']} px"
        assert centre(boxes["leave"]) < half, f"{where}: the leave button is not on the left: {boxes}"
        assert centre(boxes["brand"]) > half, f"{where}: the site's name is not on the right: {boxes}"
        assert boxes["leave"]["x"] >= 0 and boxes["leave"]["x"] + boxes["leave"]["w"] <= size["width"], boxes
        assert overlaps(boxes) == [], f"{where}: header pieces overlap: {overlaps(boxes)}"
        if size is NARROW:
            assert sideways(page) <= 0, f"{file} in Arabic scrolls sideways at 360 px by {sideways(page)} px"
            screenshot(page, f"{shot}-360px")
        elif size is WIDE:
            screenshot(page, shot)
    # the language picker brings English back in place, the layout with it (once English's words are loaded)
    page.locator("header.site select[data-language-picker]").select_option("en")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.evaluate("[document.documentElement.dir, document.documentElement.lang]") == ["ltr", "en"]


def english_sentences(areas: tuple[str, ...]) -> dict[str, str]:
    """The English messages of AREAS that Spanish words differently, without placeholders (so each is
    a whole sentence or label a page would show as it is); names like "IndexedDB" are the same in both."""
    en, es = catalogs()["en"], catalogs()["es"]
    return {key: text.replace("''", "'") for key, text in en.items()
            if key.split(".", 1)[0] in areas and "{" not in text and es.get(key) != text and len(text) > 3}


@pytest.mark.parametrize(("file", "path", "areas"), [
    ("index.html", "/", ("safety", "verify")),
    ("counselor.html", "/counselor/", ("safety", "verify")),
    ("safety.html", "/safety.html", ("safety", "verify", "common")),
    ("verify.html", "/verify.html", ("safety", "verify", "common")),
], ids=["index.html", "counselor.html", "safety.html", "verify.html"])
def test_each_page_in_spanish_shows_none_of_the_safety_and_verify_english(  # type: ignore[no-untyped-def]
        open_tab, web_deployment, file: str, path: str, areas: tuple[str, ...]) -> None:
    page = open_in(open_tab, web_deployment, path, "es")
    assert page.evaluate("[document.documentElement.dir, document.documentElement.lang]") == ["ltr", "es"]
    shown = page.evaluate("""() => [document.title, document.body.innerText,
      ...[...document.querySelectorAll('[aria-label],[placeholder],[title]')]
        .flatMap((e) => ['aria-label', 'placeholder', 'title'].map((a) => e.getAttribute(a) || ''))].join('\\n')""")
    left = {key: text for key, text in english_sentences(areas).items() if text in shown}
    assert left == {}, f"{file} in Spanish still shows English: {left}"
    for size in (WIDE, MARGIN, NARROW):  # Spanish words are longer: the header still has room for them
        page.set_viewport_size(size)
        assert overlaps(page.evaluate(HEADER_BOXES)) == [], f"{file} in Spanish at {size['width']} px"
    assert sideways(page) <= 0


def test_the_safety_page_in_arabic_keeps_ids_and_addresses_left_to_right(  # type: ignore[no-untyped-def]
        open_tab, web_deployment) -> None:
    page = open_in(open_tab, web_deployment, "/safety.html", "ar")
    site = page.locator("footer.site bdi")
    assert site.inner_text() == "techsafety.org"
    style = site.evaluate("(el) => [getComputedStyle(el).direction, getComputedStyle(el).unicodeBidi]")
    assert style == ["ltr", "isolate"]
    # the sentence with the button's name in it: the name is the translated button's, in its own element
    leave = page.locator("#leave").inner_text()
    assert page.locator("#h-exit + p strong").inner_text() == leave
    assert page.locator("#h-exit + p kbd").inner_text() == "Esc"


def test_a_proof_checked_in_arabic_is_said_in_arabic_and_again_in_english(  # type: ignore[no-untyped-def]
        open_tab, web_deployment, tmp_path: Path) -> None:
    vector = json.loads((REPO / "tests" / "vectors" / "disclosure_interop.json").read_text(encoding="utf-8"))
    ar = catalogs()["ar"]
    good = tmp_path / "good.disclosure.json"
    good.write_text(json.dumps(vector["valid"]))
    page = open_in(open_tab, web_deployment, "/verify.html", "ar")
    page.locator("#verify-file").set_input_files(str(good))
    ok = page.locator("#verify-ok")
    ok.wait_for(timeout=60_000)
    assert ok.locator("h2").inner_text() == ar["verify.ok.title"]
    assert page.locator("#verify-text").inner_text() == vector["expect"]["record"]
    # the deployment, the receipt, the content, the body, the newer checkpoint, one witness
    assert page.locator("#verify-checks > li").count() == 6
    assert vector["expect"]["admin_fingerprint"] in page.locator("#verify-checks code.ltr").first.inner_text()
    shown = page.locator("#verify-result").inner_text()
    english = {k: v for k, v in english_sentences(("verify",)).items() if v in shown}
    assert english == {}, f"English left in the Arabic result: {english}"
    screenshot(page, "rtl-verify-result")

    # another language: the same result, said again, the person's file still shown
    page.locator("header.site select[data-language-picker]").select_option("en")
    page.wait_for_function("() => document.documentElement.lang === 'en'")  # English's words are loaded first
    assert ok.locator("h2").inner_text() == "The proof checks out"
    assert "In the log by" in page.locator("#verify-when").inner_text()
    assert page.locator("#verify-text").inner_text() == vector["expect"]["record"]
    page.locator("header.site select[data-language-picker]").select_option("ar")

    tampered = next(t for t in vector["tampered"] if t["field"] == "body_key")
    bad = tmp_path / "bad.disclosure.json"
    bad.write_text(json.dumps(tampered["document"]))
    page.locator("#verify-file").set_input_files(str(bad))
    refused = page.locator("#verify-refused")
    refused.wait_for(timeout=60_000)
    assert refused.locator("h2").inner_text() == ar["verify.refused.title"]
    assert "body_key" in page.locator("#verify-reason").inner_text()
    assert page.locator("#verify-reason code").inner_text() == "body_key"
