"""The reporter's first run on a cheap phone and a slow network (tests/web/browser.SLOW_PHONE: the page's CPU 6x
slower, about 400 kbit/s each way, 400 ms round trip): join, write and escrow finish, each with its progress
shown while it runs, and the receipt is kept. The times against their targets are benchmarks/bench_web.py's."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import SLOW_PHONE, Tab, origin
from .ui import REPORTERS, SLOW, escrow, join, write_record

pytestmark = pytest.mark.web

#: Each step #progress (the steps' live region, role=status) showed as under way, in order, kept by the page itself.
RECORD_PROGRESS = """() => {
  window.__progress = [];
  const box = document.getElementById('progress');
  new MutationObserver(() => {
    for (const li of box.querySelectorAll('li[data-state="doing"]')) {
      const step = li.firstChild.textContent.trim();
      if (window.__progress[window.__progress.length - 1] !== step) window.__progress.push(step);
    }
  }).observe(box, { subtree: true, childList: true, attributes: true });
}"""


def test_join_write_and_escrow_finish_with_progress_on_a_slow_phone(web_deployment, browser) -> None:  # type: ignore[no-untyped-def]
    dep = web_deployment
    who = REPORTERS[1]
    context = browser.new_context(base_url=dep.url, service_workers="block")
    try:
        tab = Tab(context.new_page(), context, {origin(u) for u in [dep.url, *dep.keyserver_urls]}).watch()
        page = tab.page
        SLOW_PHONE.apply(context, page)
        page.goto(dep.url + "/")
        page.get_by_role("link", name="I have an invite").wait_for(timeout=SLOW)
        page.evaluate(RECORD_PROGRESS)
        [invite] = dep.invites(1)
        join(page, invite, who["contact"], who["passphrase"])
        write_record(page, who)
        escrow(page, [("Email address", "slow.phone.named@example.org", None)])
        # every step of joining and of escrow was shown while it ran, in order
        assert page.evaluate("() => window.__progress") == [
            "Checking the service is the one your invite is for", "Creating your account with the invite",
            "Locking your wallet with your passphrase", "Keeping it in this browser",
            "Checking the service’s signed setup", "Turning the names into matching codes with the key servers",
            "Locking the record so only counselors can open it, after a match",
            "Keeping an exact copy to resend if needed", "Sending the locked record to the server",
            "Checking the server’s receipt", "Saving the receipt in your wallet"]
        expect(page.locator("#record-body .badge").first).to_have_text("In escrow")
        expect(page.locator("#record-body table.receipts tbody tr")).to_have_count(1)
        tab.assert_clean()
    finally:
        context.close()
