"""Each language's words are a file of their own: a page downloads only the language it shows.

web/build.mjs writes every entry point's catalog once per language (``i18n/<entry>.<lang>.<hash>.js``,
listed in manifest.json under ``languages``); lib/i18n.js imports the one of the language the page starts
in, and another only when the person picks it. Watched here through the page's network requests: the
first page in Spanish fetches the Spanish file and no other, picking Arabic fetches the Arabic one and
the page follows (right to left, its words in Arabic). The service worker keeps every language's file,
so once the app was opened online a person offline can still change language; and where a language's
file cannot be had (offline, nothing kept) the page stays as it was, in its language, and says so.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from consilience.web import catalog_files

from .browser import Tab
from .ui import catalogs, english_left

pytestmark = pytest.mark.web

LANGUAGE_KEY = "consilience.language"


def catalog_requests(tab: Tab) -> list[str]:
    """The paths of the catalog files the tab requested, in order."""
    return [re.sub(r"^https?://[^/]+", "", url) for url in tab.requests if "/i18n/" in url]


def pick_language(page: Page, lang: str) -> None:
    page.locator("header select[data-language-picker]").select_option(lang)


def expect_reads_in(page: Page, lang: str) -> None:
    """The page's <html lang dir> and its words are LANG's."""
    html = page.locator("html")
    expect(html).to_have_attribute("lang", lang)
    expect(html).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    words = catalogs()[lang]
    expect(page.locator("#leave")).to_have_text(words["common.leave"])
    expect(page.locator("#h-start")).to_have_text(words["reporter.start.title"])
    expect(page.locator("header select[data-language-picker]")).to_have_value(lang)
    if lang != "en":
        assert english_left(page, lang) == [], f"the first screen in {lang} still shows English"


def test_the_first_page_fetches_only_its_language_and_a_chosen_one_when_picked(
        open_tab: Callable[..., Tab], web_static: Path) -> None:
    files = catalog_files(web_static)["reporter.js"]
    assert sorted(files) == ["ar", "en", "es"]
    tab = open_tab("/", locale="es-MX", service_workers="block")
    page = tab.page
    page.locator("#h-start").wait_for()
    expect_reads_in(page, "es")
    assert catalog_requests(tab) == [f"/{files['es']}"], "the first page in Spanish loads the Spanish words only"

    pick_language(page, "ar")
    expect_reads_in(page, "ar")
    assert catalog_requests(tab) == [f"/{files['es']}", f"/{files['ar']}"]
    # back to Spanish: its words are in the page already, nothing more is fetched
    pick_language(page, "es")
    expect_reads_in(page, "es")
    assert catalog_requests(tab) == [f"/{files['es']}", f"/{files['ar']}"]

    # the choice is kept: the page opens again in Arabic, fetching the Arabic words only
    pick_language(page, "ar")
    expect_reads_in(page, "ar")
    before = len(catalog_requests(tab))
    page.reload()
    page.locator("#h-start").wait_for()
    expect_reads_in(page, "ar")
    assert catalog_requests(tab)[before:] == [f"/{files['ar']}"]
    tab.assert_clean()


def test_a_language_that_cannot_be_had_leaves_the_page_as_it_was(
        open_tab: Callable[..., Tab], web_static: Path) -> None:
    files = catalog_files(web_static)["reporter.js"]
    tab = open_tab("/", locale="en-US", service_workers="block")  # nothing kept for offline
    page, context = tab.page, tab.context
    page.locator("#h-start").wait_for()
    expect_reads_in(page, "en")
    notice = page.locator(".language-picker-notice")
    expect(notice).to_be_hidden()

    context.set_offline(True)
    pick_language(page, "ar")
    said = catalogs()["en"]["common.language.unavailable"].replace("{language}", "العربية")
    expect(notice).to_have_text(said)
    expect(notice).to_be_visible()
    expect_reads_in(page, "en")  # the picker is back on English too
    assert page.evaluate("(key) => localStorage.getItem(key)", LANGUAGE_KEY) in (None, "en")

    context.set_offline(False)
    pick_language(page, "ar")
    expect_reads_in(page, "ar")
    expect(notice).to_be_hidden()
    assert catalog_requests(tab)[0] == f"/{files['en']}"
    assert catalog_requests(tab)[-1] == f"/{files['ar']}"
    tab.assert_clean()


def test_offline_every_language_is_kept_and_can_be_chosen(open_tab: Callable[..., Tab], web_static: Path) -> None:
    every = sorted(f"/{name}" for by_language in catalog_files(web_static).values() for name in by_language.values())
    tab = open_tab("/", locale="en-US")
    page, context = tab.page, tab.context
    page.locator("#h-start").wait_for()
    page.wait_for_function("async () => (await caches.keys()).some((n) => n.startsWith('consilience-app-'))",
                           timeout=30_000)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    kept = page.evaluate("""async () => {
      const names = (await caches.keys()).filter((n) => n.startsWith('consilience-app-'));
      const cache = await caches.open(names[names.length - 1]);
      return (await cache.keys()).map((r) => new URL(r.url).pathname).filter((p) => p.startsWith('/i18n/'));
    }""")
    assert sorted(kept) == every, "the service worker keeps every page's catalog in every language"

    context.set_offline(True)
    page.reload()  # offline, from what the worker kept
    page.locator("#h-start").wait_for()
    expect_reads_in(page, "en")
    for lang in ("es", "ar", "en", "ar"):
        pick_language(page, lang)
        expect_reads_in(page, lang)
    expect(page.locator(".language-picker-notice")).to_be_hidden()
    page.reload()  # offline, the saved choice's file from the worker's cache
    page.locator("#h-start").wait_for()
    expect_reads_in(page, "ar")
    context.set_offline(False)
    tab.assert_clean()


def test_web_verify_checks_every_language_file(web_deployment, web_static: Path) -> None:  # type: ignore[no-untyped-def]
    """The catalog files are files of the build like any other: listed with their hash, served, compared."""
    manifest = json.loads((web_static / "manifest.json").read_text())
    names = {name for by_language in catalog_files(web_static).values() for name in by_language.values()}
    assert len(names) == 3 * len(catalog_files(web_static)) and names <= manifest["files"].keys()
    for name in names:
        assert re.fullmatch(r"i18n/[\w-]+\.(en|es|ar)\.[0-9a-f]{16}\.js", name), name
    done = subprocess.run([sys.executable, "-m", "consilience", "web", "verify", web_deployment.url,
                           "--build", str(web_static), "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["identical"] is True and {f"/{name}" for name in names} <= set(doc["checked"])
