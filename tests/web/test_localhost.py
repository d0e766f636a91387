"""The web app opened at ``http://localhost:PORT/``, the address people type (and README names),
escrows a record and keeps its receipt, although the escrow server listens on 127.0.0.1.

To a browser ``localhost`` and ``127.0.0.1`` are two origins: the key servers must allow both,
which ``admin init`` writes by default on loopback (``datadir.web_origins.default_origins``); the
fixture's deployment goes through ``local.loopback``, hence through that same ``admin init``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .browser import Tab
from .ui import download, escrow, expect_status, join, log_vkey, write_record

pytestmark = pytest.mark.web

WHO: dict[str, Any] = {
    "contact": "Signal: opened.at.localhost.5521",
    "passphrase": "harbour lantern at localhost 1",
    "record": "Written in the app opened at localhost, the address the guide gives.",
    "details": {"what": "Opened at localhost", "when": "this evening"},
}


def test_the_app_opened_at_localhost_escrows_a_record_with_its_receipt(  # type: ignore[no-untyped-def]
        web_deployment, browser, tmp_path: Path) -> None:
    dep = web_deployment
    port = urlsplit(dep.url).port
    assert dep.url == f"http://127.0.0.1:{port}", "the fixture serves on 127.0.0.1; this test opens localhost"
    here = f"http://localhost:{port}"

    context = browser.new_context(base_url=here, accept_downloads=True)
    try:
        tab = Tab(context.new_page(), context, {*dep.origins, here}).watch()
        page = tab.page
        page.goto(f"{here}/")
        [invite] = dep.invites(1)
        join(page, invite, WHO["contact"], WHO["passphrase"])
        write_record(page, WHO)
        escrow(page, [("Email address", "Someone.At.Localhost@Example.org", None)])
        expect_status(page, "In escrow")

        # the app talked to the escrow server as localhost, and to each key server it needed
        api = [u for u in tab.requests if "/v2/" in u]
        assert any(u.startswith(f"{here}/v2/entries") for u in api), api
        assert any(u.startswith(tuple(dep.keyserver_urls)) and u.endswith("/v2/evaluate") for u in api), api

        # the receipt is kept and verifies offline with the CLI
        rows = page.locator("#record-body table tbody tr")
        expect(rows.first.locator("td").first).to_have_text("Entry")
        receipt = download(page, rows.first.get_by_role("link", name="Download"), tmp_path)
        proc = subprocess.run([sys.executable, "-m", "consilience", "verify", str(receipt), "--log-key",
                               log_vkey(dep), "--json"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout)["event"] == "entry"
        tab.assert_clean()
    finally:
        context.close()
