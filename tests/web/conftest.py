"""Fixtures for the browser tests: a built web app, a deployment on loopback, Chromium.

For test authors (tests/web/test_*.py):

- ``web_deployment`` (per module): a running deployment like the demo's: 3 key servers
  (2-of-3, CORS for the escrow origin, their key generation run and published), the escrow server
  serving a fresh build of the web app with its release pass about every second (ui.wait_for_match),
  quorum 3, and a counselor whose sealed key file exists. Attributes: ``url`` (escrow origin),
  ``reporter_url`` (``url + "/"``), ``counselor_url`` (``url + "/counselor/"``),
  ``keyserver_urls``, ``origins`` (every origin the app may talk to), ``quorum``,
  ``admin_fingerprint`` (base64url), ``counselor_key`` (Path of the sealed key file),
  ``counselor_passphrase``, ``counselor_name``, ``kdf_params``, ``root`` (data folder),
  ``invites(n)`` (fresh single-use invite codes), ``loopback`` (local.loopback object).
- ``browser`` (per session): Playwright's Browser on Debian's /usr/bin/chromium.
- ``open_tab(path="/", deployment=None)``: a new browser context (its own storage, so one
  person) with a page at ``deployment.url + path``; returns a ``browser.Tab`` with ``page``,
  ``context``, recorded ``console``/``page_errors``/``requests`` and ``assert_clean()``
  (no CSP violation, no uncaught error, no request outside the deployment). Contexts have
  ``base_url`` set, so ``tab.page.goto("/counselor/")`` works.
- ``axe(page, impacts=("serious", "critical"))``: axe-core's violations of those impacts;
  ``describe_violations(list)`` formats them (import from tests.web.browser).
- ``screenshot(page, name)``: takes a screenshot; it replaces docs/screenshots/<name>.png only when
  CONSILIENCE_UPDATE_SCREENSHOTS=1 (so a test run leaves the working tree as it was), else it goes
  to a temporary folder.

Tests that use ``browser`` (directly or through ``open_tab``) are marked ``web``. Without
Chromium, Playwright or Node.js they skip with the reason; under CI=true they fail.
Set CONSILIENCE_WEB_STATIC to a built folder to test that build instead of building one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from consilience.local import loopback
from consilience.web import is_built

from .browser import CHROMIUM, CHROMIUM_ARGS, Tab, axe_violations, build_web, origin, screenshot, unavailable

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ADMIN_PASSPHRASE = "web test admin passphrase"
COUNSELOR_PASSPHRASE = "web test counselor passphrase"
COUNSELOR_NAME = "Web Test Counselor"
#: Cheap Argon2id for the sealed counselor key, as in the demo, so unlocking it in a browser is quick.
KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.web)


@dataclass
class WebDeployment:
    loopback: loopback.LoopbackDeployment
    counselor_key: Path
    counselor_passphrase: str
    counselor_name: str
    kdf_params: dict[str, int]

    @property
    def url(self) -> str:
        return self.loopback.url

    @property
    def reporter_url(self) -> str:
        return self.loopback.reporter_url

    @property
    def counselor_url(self) -> str:
        return self.loopback.counselor_url

    @property
    def keyserver_urls(self) -> list[str]:
        return self.loopback.keyserver_urls

    @property
    def origins(self) -> set[str]:
        return {origin(u) for u in [self.url, *self.keyserver_urls]}

    @property
    def quorum(self) -> int:
        return self.loopback.quorum

    @property
    def admin_fingerprint(self) -> str:
        return self.loopback.admin_fingerprint_b64u

    @property
    def root(self) -> Path:
        return self.loopback.root

    def invites(self, count: int = 1) -> list[str]:
        return self.loopback.invites(count)


@pytest.fixture(scope="session")
def web_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built web app: $CONSILIENCE_WEB_STATIC if set, else a fresh build of the current sources."""
    preset = os.environ.get("CONSILIENCE_WEB_STATIC")
    if preset:
        if not is_built(Path(preset)):
            pytest.fail(f"CONSILIENCE_WEB_STATIC={preset} holds no finished build", pytrace=False)
        return Path(preset).resolve()
    return build_web(tmp_path_factory.mktemp("web-static") / "static")


@pytest.fixture(scope="module")
def web_deployment(tmp_path_factory: pytest.TempPathFactory, web_static: Path) -> Iterator[WebDeployment]:
    deployment = loopback.create(tmp_path_factory.mktemp("web-deployment"), ADMIN_PASSPHRASE, quorum=3,
                                 kdf_params=KDF)
    # the escrow server's release pass (protocol v2: releases are found on a timer, not in the submitter's request)
    # runs about every second here instead of every five minutes, so a match appears soon after the quorum
    with deployment.start(env={"CONSILIENCE_WEB_STATIC": str(web_static), "CONSILIENCE_RELEASE_INTERVAL": "1"}):
        key = deployment.layout.counselor_key
        deployment.add_counselor(COUNSELOR_NAME, key, COUNSELOR_PASSPHRASE)
        yield WebDeployment(deployment, key, COUNSELOR_PASSPHRASE, COUNSELOR_NAME, dict(KDF))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is missing (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_tab(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Tab]]:
    contexts = []

    def open_(path: str = "/", deployment: WebDeployment | None = None, **context_options: Any) -> Tab:
        deployment = deployment or request.getfixturevalue("web_deployment")
        context = browser.new_context(base_url=deployment.url, **context_options)
        contexts.append(context)
        tab = Tab(context.new_page(), context, deployment.origins).watch()
        tab.page.goto(deployment.url + path)
        return tab

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def axe() -> Callable[..., list[dict[str, Any]]]:
    return axe_violations


@pytest.fixture(name="screenshot")
def screenshot_fixture() -> Callable[..., Path]:
    return screenshot
