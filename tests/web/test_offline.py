"""Write now, send later: the reporter app with no network.

The service worker (web/src/app/sw.js) keeps the build's files, each checked against manifest.json, so the
app opens offline; the wallet is in this browser, so it unlocks and a private record can be written; escrow
needs the key servers, so it says it will wait and sends by itself once the network is back. Offline is
Playwright's ``set_offline`` (Chromium's network emulation), which cuts the page and its service worker alike.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from .browser import describe_violations
from .ui import REPORTERS, SLOW, join, unlock_reporter, wait_for_heading, write_record

pytestmark = pytest.mark.web


def kept_build(page: Any) -> dict[str, str]:
    """What the service worker holds: path -> SHA-256 of the kept body, from the page's own CacheStorage."""
    return page.evaluate("""async () => {
      const names = (await caches.keys()).filter((n) => n.startsWith('consilience-app-'));
      if (names.length !== 1) return { names };
      const cache = await caches.open(names[0]);
      const out = { name: names[0] };
      for (const request of await cache.keys()) {
        const body = await (await cache.match(request)).arrayBuffer();
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
        out[new URL(request.url).pathname] = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
      }
      return out;
    }""")


def test_the_app_opens_offline_writes_privately_and_escrows_when_the_network_is_back(  # type: ignore[no-untyped-def]
        web_deployment, web_static, open_tab, axe) -> None:
    dep = web_deployment
    who = REPORTERS[0]
    tab = open_tab("/")
    page, context = tab.page, tab.context
    [invite] = dep.invites(1)
    join(page, invite, "offline reporter", who["passphrase"])
    # the worker has kept exactly this build: every file of the manifest, by its hash, in a cache named by it
    manifest_bytes = (web_static / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)["files"]
    page.wait_for_function("async () => (await caches.keys()).some((n) => n.startsWith('consilience-app-'))",
                           timeout=30_000)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    kept = kept_build(page)
    assert kept.pop("name") == f"consilience-app-{hashlib.sha256(manifest_bytes).hexdigest()}"
    kept.pop("/app-config.json")
    assert kept.pop("/") == manifest["index.html"]["sha256"]
    assert kept.pop("/counselor/") == manifest["counselor.html"]["sha256"]
    assert kept == {f"/{name}": info["sha256"] for name, info in manifest.items()}

    context.set_offline(True)
    page.reload()
    page.locator("#unlock-form").wait_for()
    unlock_reporter(page, who["passphrase"])
    wait_for_heading(page, "Your records")
    write_record(page, who)  # saved in the wallet, in this browser
    page.get_by_role("link", name="Put in escrow…").click()
    page.get_by_role("heading", name="Put this record in escrow", level=1).wait_for()
    expect(page.locator("#note")).to_have_text(
        "You are offline. You can name the person now; nothing is sent until the network is back.")
    row = page.locator(".ident-row").first
    row.get_by_label("Kind").select_option(label="Email address")
    row.get_by_label("Their address, number or profile").fill("offline.named@example.org")
    expect(row.get_by_text(re.compile("^We will match on: "))).to_be_visible()
    page.get_by_role("button", name="Put in escrow").click()
    expect(page.locator("#note")).to_have_text("You are offline. Your record is saved on this device. It will be "
                                               "put in escrow as soon as the network is back: keep this page open.")
    violations = axe(page)  # the offline page, its notice and the form kept as typed
    assert not violations, describe_violations(violations)

    context.set_offline(False)  # the page sends it by itself
    expect(page.locator("#note")).to_contain_text("Your record is in escrow", timeout=SLOW)
    expect(page.locator("#record-body .badge").first).to_have_text("In escrow")
    tab.assert_clean()
