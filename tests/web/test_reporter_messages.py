"""The reporter's side of after a match, in the browser: what the counselor-and-three-reporters test does not.

Three reporters put a record naming the same person in escrow, the first one without giving any
contact at all (a counselor can write to them in the app instead). The counselor, in its own browser
context, writes to the first reporter. That reporter, on another page of the app, is told calmly that
a new message arrived (the page polls); on the messages page the counselor's message shows with the
counselor's name from the signed deployment document; the reporter answers with a file attached,
then chooses to share how to reach them (asked to confirm first), and the counselor sees both. A
message that arrives while the reporter reads is said in the page's live region. The record's page
lists the counselor who read it, and once the release pass has logged the opening, "checked in the
log". A notification address is given, after the page says what the server then knows, and removed.
The messages page passes axe, and nothing broke the CSP or left the deployment.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from consilience.clients import counselor as counselor_sdk

from .browser import axe_violations, describe_violations
from .ui import REPORTERS, escrow, join, unlock_counselor, wait_for_heading, wait_for_match, write_record

pytestmark = pytest.mark.web

POLL = 60_000  # ms: the reporter's page asks every 15 s

HELLO = "Hello, I am a counselor. I read what you wrote. You can answer here, whenever you like."
ANSWER = "Thank you. I would rather not give a phone number yet."
CONTACT = "Signal: only.after.we.talk.2291"
LATER = "Thank you for telling me. I will write again on Monday."


def counselor_card(counselor: Page, who: dict[str, Any]) -> Any:
    return counselor.locator("section.record").filter(has_text=who["record"])


def test_a_reporter_without_a_contact_is_told_of_a_message_answers_with_a_file_and_shares_a_contact(  # type: ignore[no-untyped-def]
        web_deployment, open_tab) -> None:
    dep = web_deployment
    invites = dep.invites(3)
    tabs = []
    for i, (who, invite) in enumerate(zip(REPORTERS, invites, strict=True)):
        tab = open_tab("/")
        tabs.append(tab)
        if i == 0:  # no contact: the join form says a counselor can write in the app instead, and takes it
            hint = tab.page.locator("#join-contact-hint")
            expect(hint).to_contain_text("a counselor can write to you here in the app")
        join(tab.page, invite, "" if i == 0 else who["contact"], who["passphrase"])
        write_record(tab.page, who)
        escrow(tab.page, who["names"])
    wait_for_match(dep)
    page = tabs[0].page
    page.get_by_role("navigation").get_by_role("link", name="Your records").click()
    wait_for_heading(page, "Your records")

    counselor_tab = open_tab("/counselor/")
    counselor = counselor_tab.page
    unlock_counselor(counselor, dep.counselor_key, dep.counselor_passphrase)
    counselor.locator("#cases-list > li").first.get_by_role("link", name=re.compile("Match of")).click()
    card = counselor_card(counselor, REPORTERS[0])
    card.get_by_label("First message to this reporter").fill(HELLO)
    card.get_by_role("button", name="Start the conversation").click()
    expect(card.locator("ol.messages")).to_contain_text(HELLO, timeout=POLL)

    # on another page of the app: told, calmly, that something arrived, and the navigation counts it
    expect(page.locator("#note")).to_contain_text("A new message arrived", timeout=POLL)
    expect(page.locator("#nav-unread")).to_have_text(" (1 new)")
    page.get_by_role("navigation").get_by_role("link", name="Messages").click()
    wait_for_heading(page, "Messages")
    box = page.locator("section.conversation").filter(has=page.get_by_role("heading", name="Counselors"))
    name = counselor_sdk.load(dep.counselor_key, dep.counselor_passphrase).name
    message = box.locator(".messages .from-counselor")
    expect(message).to_contain_text(HELLO, timeout=POLL)
    expect(message).to_contain_text(name)  # the name the signed document gives the key that signed it
    expect(page.locator("#nav-unread")).to_have_text("", timeout=POLL)  # read now

    # an answer with a file, within the limit
    box.get_by_label("Your answer").fill(ANSWER)
    box.get_by_label("Attach files to this message (optional)").set_input_files(
        files=[{"name": "timeline.txt", "mimeType": "text/plain", "buffer": b"March: the stairwell. April: the flat."}])
    box.get_by_role("button", name="Send").click()
    mine = box.locator(".messages .from-me")
    expect(mine).to_contain_text(ANSWER, timeout=POLL)
    expect(mine).to_contain_text("timeline.txt")
    expect(card.locator("ol.messages")).to_contain_text(ANSWER, timeout=POLL)
    expect(card.locator("ol.messages")).to_contain_text("timeline.txt", timeout=POLL)

    # sharing how to reach them is asked for, then confirmed; nothing is sent before
    box.get_by_role("button", name="Share how to reach me…").click()
    confirm = box.locator("form").filter(has=page.get_by_role("heading", name="Share how to reach you?"))
    expect(confirm).to_contain_text("outside this app")
    expect(page.get_by_role("heading", name="Share how to reach you?")).to_be_focused()
    confirm.get_by_label("How they can reach you").fill(CONTACT)
    confirm.get_by_role("button", name="Yes, share it").click()
    expect(page.locator("#note")).to_contain_text("Shared", timeout=POLL)
    expect(mine.last).to_contain_text(CONTACT, timeout=POLL)
    expect(card).to_contain_text(CONTACT, timeout=POLL)

    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)

    # a message that arrives while the reporter reads is said in the live region
    card.get_by_label("Message to this reporter").fill(LATER)
    card.get_by_role("button", name="Send", exact=True).click()
    expect(box.locator(".messages")).to_contain_text(LATER, timeout=POLL)
    expect(page.locator("#messages-live")).to_have_text("A new message arrived.")

    # who read the record: the counselor, by name, and its opening checked in the log once logged
    page.get_by_role("navigation").get_by_role("link", name="Your records").click()
    wait_for_heading(page, "Your records")
    page.locator("#entries-list > li h3 a").first.click()
    readers = page.locator(".readers")
    expect(readers).to_contain_text("Who read this record")
    for _ in range(30):  # the release pass logs openings about every second; the page asks once per visit
        item = page.locator(".readers-list li").first
        expect(item).to_contain_text(name, timeout=POLL)
        expect(item).to_contain_text(re.compile("checked in the log|not in the log yet"), timeout=POLL)
        if "checked in the log" in item.inner_text():
            break
        page.wait_for_timeout(1000)
        page.get_by_role("navigation").get_by_role("link", name="Your records").click()
        wait_for_heading(page, "Your records")
        page.locator("#entries-list > li h3 a").first.click()
    expect(page.locator(".readers-list li").first).to_contain_text("checked in the log")

    # a notification address, given knowingly (the page says what the server then knows) and removed again
    page.get_by_role("navigation").get_by_role("link", name="Your records").click()
    wait_for_heading(page, "Your records")
    notify = page.locator("#notify-box")
    expect(notify).to_contain_text("The server will then know that this address belongs to your account")
    expect(page.locator("#notify-current")).to_have_text("No address is given: nobody will mail you.", timeout=POLL)
    notify.get_by_label("Email address for notices").fill("ana.notices@example.org")
    notify.get_by_role("button", name="Save the address").click()
    expect(page.locator("#note")).to_contain_text("only ever say that something is waiting", timeout=POLL)
    expect(page.locator("#notify-current")).to_contain_text("Notices go to ana.notices@example.org")
    notify.get_by_role("button", name="Remove the address").click()
    expect(page.locator("#notify-current")).to_have_text("No address is given: nobody will mail you.", timeout=POLL)
    for tab in [*tabs, counselor_tab]:
        tab.assert_clean()
