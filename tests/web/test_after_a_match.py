"""After a match, in four browser contexts: a counselor and three reporters talk, end to end encrypted.

Three reporters (each their own browser context, so their own wallet) join with an invite and put a
record naming the same person in escrow; the escrow server's release pass makes the match. The
counselor, in a fourth context, unlocks the key file, sees the case at the top of the list (nobody has
taken it, nobody has reached out), takes it and writes to each reporter from the case page. Each
reporter sees the counselor's message and answers. The counselor proposes an introduction; reporters
1 and 2 accept under display names they choose, reporter 3 declines. The counselor starts the group
with the two who accepted; they see each other's names (never the third's) and write to each other.

What must hold, each checked where it would show: the third reporter's page shows no group and no
name; the counselor's page says only that two accepted, nothing about a decline; the server holds no
acceptance, membership or anything else from the third reporter about the introduction (its
database and its API, asked as the counselor), and none of the messages' words, display names or
notes in any file it writes. A message sealed in Python opens in the reporter's browser, and the
reporter's browser-sealed answer opens in Python (PROTOCOL.md §13.2 across the two SDKs). No page
broke its CSP or asked anything of another origin.

The other test is the counselor's case work with reporters on the Python SDK (cheaper than browsers,
and the other direction of each item): two matches naming one person by email and by phone linked
into one case, taken, left to nobody and taken again, its state and a private note; a message with a
file sealed in the counselor's browser opens in Python and the Python reporter's file and reveal open
in the browser; Python reporters' cards open in the browser, the browser's roster opens and checks in
Python, and a Python member's group message shows under its display name.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from consilience.clients import counselor as counselor_sdk
from consilience.protocol import conversations as conv
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import Attachment

from .browser import Tab, axe_violations, describe_violations, screenshot
from .ui import PHOTO, REPORTERS, escrow, join, unlock_counselor, wait_for_heading, wait_for_match, write_record

pytestmark = pytest.mark.web

POLL = 60_000  # ms: the pages ask the server every few seconds

FIRST_MESSAGES = [
    "Hello, I am a counselor with this service. I read your record. Would you like to talk?",
    "Hello from the counselor team. Thank you for writing this down. How are you doing?",
    "Hi, this is a counselor. I have read what you wrote. There is no rush to answer.",
]
REPLIES = [
    "Thank you for reaching out. Yes, I would like to talk.",
    "I am all right. I would like to know what happens next.",
    "Thanks. I need some time, but I am glad someone read it.",
]
DISPLAY_NAMES = ["Willow from Leeds", "Harbour Heron"]
INTRODUCTION = "Others told us about the same person. Would you like to talk with them in a group?"
GROUP_MESSAGES = ["Hello both, I am glad this group exists.", "Hi Willow, me too. It helps to know."]
NOTE = "Reporters 1 and 2 want to talk; reporter 3 needs time. Check in next week."
PYTHON_MESSAGE = "This one was sealed by the counselor's Python client, to check both clients agree."


# --- what a reporter does after a match (the reporter app's messages page) ------------------------

def reporter_messages(page: Page) -> None:
    """Go to the reporter's conversations with the counselors."""
    page.get_by_role("navigation").get_by_role("link", name="Messages").click()
    wait_for_heading(page, "Messages")


def reporter_conversation(page: Page) -> Locator:
    """The reporter's (only) conversation with the counselors, on the messages page."""
    return page.locator("section.conversation").filter(has=page.get_by_role("heading", name="Counselors"))


def reporter_reply(page: Page, text: str) -> None:
    box = reporter_conversation(page)
    box.get_by_label("Your answer").fill(text)
    box.get_by_role("button", name="Send").click()
    expect(box.locator(".messages")).to_contain_text(text, timeout=POLL)


def reporter_accept(page: Page, name: str) -> None:
    invite = page.locator("section.introduction")
    expect(invite).to_contain_text(INTRODUCTION, timeout=POLL)
    invite.get_by_label("The name the others will see").fill(name)
    invite.get_by_role("button", name="Yes, introduce me").click()
    expect(page.locator("#note")).to_contain_text("accepted", timeout=POLL)


def reporter_decline(page: Page) -> None:
    invite = page.locator("section.introduction")
    expect(invite).to_contain_text(INTRODUCTION, timeout=POLL)
    invite.get_by_role("button", name="No, thank you").click()
    expect(page.locator("#note")).to_contain_text("declined", timeout=POLL)


def reporter_group(page: Page) -> Locator:
    return page.locator("section.conversation.group")


# --- what the counselor does --------------------------------------------------------------------

def record_of(counselor: Page, who: dict[str, Any]) -> Locator:
    """The counselor's card of one reporter's record (with its conversation) on the case page."""
    return counselor.locator("section.record").filter(has_text=who["record"])


def counselor_write(counselor: Page, who: dict[str, Any], text: str, *, first: bool) -> None:
    card = record_of(counselor, who)
    if first:
        card.get_by_label("First message to this reporter").fill(text)
        card.get_by_role("button", name="Start the conversation").click()
    else:
        card.get_by_label("Message to this reporter").fill(text)
        card.get_by_role("button", name="Send", exact=True).click()
    expect(card.locator("ol.messages")).to_contain_text(text, timeout=POLL)
    expect(counselor.locator("#alert")).to_be_empty()


# --- the server, as its operator or an attacker with its files sees it ----------------------------

def db_rows(dep: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    [path] = list(Path(dep.root).rglob("escrow.sqlite"))
    with closing(sqlite3.connect(path, timeout=30)) as db:
        return db.execute(sql, params).fetchall()


class CounselorHttp:
    """The counselor's own HTTP session, as its Python client holds it (the credential signs in)."""

    def __init__(self, dep: Any) -> None:
        self.keys = counselor_sdk.load(dep.counselor_key, dep.counselor_passphrase)
        self.client = httpx.Client(base_url=dep.url, timeout=60)
        bearer = {"Authorization": f"Bearer {b64u_encode(self.keys.token)}"}
        login = self.client.post("/v2/login/counselor", headers=bearer)
        login.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {login.json()['token']}"

    def get(self, path: str, **params: Any) -> Any:
        answer = self.client.get(path, params=params)
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, json: dict[str, Any]) -> Any:
        answer = self.client.post(path, json=json)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def close(self) -> None:
        self.client.close()


def python_introduction(session: Any, deployment: Any) -> tuple[bytes, bytes]:
    """(introduction id, direct conversation id) of the counselor's introduction message, read in Python."""
    from consilience.clients import reporter

    key = reporter.messaging_key(session.wallet)
    assert key is not None
    with session.client() as client:
        [direct] = [c for c in client.conversations() if c.kind == "direct"]
        cid = b64u_decode(direct.conversation_id, length=16)
        for stored in client.all_messages(cid):
            if stored.sender != "counselor" or stored.wrap is None:
                continue
            opened = conv.open_item(conv.Kind.MESSAGE, cid, b64u_decode(stored.message_id, length=16),
                                    b64u_decode(stored.content), b64u_decode(stored.wrap), key.seed, key.key_id)
            conv.check_direct(opened, deployment, entry_id=b64u_decode(direct.entry_id or "", length=16),
                              reporter_key=key.public)
            if isinstance(opened.payload, conv.IntroductionMsg):
                return opened.payload.introduction, cid
    raise AssertionError("no introduction in the reporter's conversation")


def python_accepts(session: Any, deployment: Any, name: str) -> None:
    """A Python reporter accepts the introduction under `name`: a card sealed to the counselors and itself."""
    from consilience.clients import reporter
    from consilience.protocol import messages as m

    key = reporter.messaging_key(session.wallet)
    assert key is not None
    iid, cid = python_introduction(session, deployment)
    sealed = conv.seal_item(conv.Kind.CARD, iid, cid, conv.Card(iid, name, key.public), signer_seed=key.signing_seed,
                            recipients=conv.card_recipients(deployment, key.public))
    with session.client() as client:
        client.accept_introduction(iid, cid, m.SealedItem.model_validate(sealed.to_json()))


def python_reads_roster(session: Any, deployment: Any) -> tuple[bytes, Any]:
    """The group conversation id and its newest counselor-signed roster, opened and checked in Python."""
    from consilience.clients import reporter

    key = reporter.messaging_key(session.wallet)
    assert key is not None
    iid, _ = python_introduction(session, deployment)
    with session.client() as client:
        gid = b64u_decode(client.my_introduction(iid).group_conversation_id, length=16)
        roster = None
        for stored in client.all_messages(gid):
            assert stored.wrap is not None, "a member gets a wrap of every group message"
            opened = conv.open_item(conv.Kind.MESSAGE, gid, b64u_decode(stored.message_id, length=16),
                                    b64u_decode(stored.content), b64u_decode(stored.wrap), key.seed, key.key_id)
            conv.check_group(opened, deployment, roster)
            if isinstance(opened.payload, conv.Roster):
                roster = opened.payload
    assert roster is not None, "no roster in the group"
    return gid, roster


def accessible(page: Page, what: str) -> None:
    """No serious or critical axe-core violation, and nothing wider than a 360 px screen."""
    violations = axe_violations(page)
    assert not violations, f"{what}:\n{describe_violations(violations)}"
    page.set_viewport_size({"width": 360, "height": 800})
    overflow = page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")
    page.set_viewport_size({"width": 1000, "height": 900})
    assert overflow <= 0, f"{what} is {overflow}px wider than a 360 px screen"


def _deployment(dep: Any) -> Any:
    """The administrator-signed deployment document, checked against the administrator's fingerprint."""
    from consilience.clients.escrow_client import EscrowClient

    with EscrowClient(dep.url) as client:
        return client.deployment(b64u_decode(dep.admin_fingerprint, length=16))



# --- case work with reporters on the Python SDK ---------------------------------------------------

FAST_KDF = {"memory_cost_kib": 1024, "iterations": 1, "lanes": 1}
LEAFLET = b"%PDF-1.4 where to find help " * 40


def sdk_reporter(dep: Any, tmp: Path, name: str, typed: str) -> Any:
    """A reporter on the Python SDK who escrows a record naming `typed`; returns the session."""
    from consilience.clients import reporter

    [invite] = dep.invites(1)
    session = reporter.register(dep.url, invite, f"contact of {name}", tmp / f"{name}.sealed", "sdk passphrase",
                                kdf_params=FAST_KDF)
    record = reporter.write(session, f"The record {name} wrote.")
    reporter.escrow(session, record.record_id, [typed])
    return session


def test_the_counselor_links_two_matches_into_one_case_keeps_notes_and_talks_with_a_python_reporter(  # type: ignore[no-untyped-def]
        web_deployment, open_tab, tmp_path: Path) -> None:
    from consilience.clients import reporter
    from consilience.protocol import messages as m

    dep = web_deployment
    talk = CounselorHttp(dep)
    before = {c["case_id"] for c in talk.get("/v2/cases")}
    by_email = [sdk_reporter(dep, tmp_path, f"mail{i}", "link.person@example.org") for i in range(3)]
    by_phone = [sdk_reporter(dep, tmp_path, f"phone{i}", "+44 20 7946 0111") for i in range(3)]
    deadline = _deadline(60)
    while len({c["case_id"] for c in talk.get("/v2/cases")} - before) < 2:
        assert not deadline(), "the release pass made no two matches"
    new_cases = [c for c in talk.get("/v2/cases") if c["case_id"] not in before]
    assert all(c["attention"] <= new_cases[0]["attention"] for c in new_cases)

    counselor_tab = open_tab("/counselor/")
    counselor = counselor_tab.page
    unlock_counselor(counselor, dep.counselor_key, dep.counselor_passphrase)
    # the two new cases are nobody's yet: they come before the first test's case, which is taken
    items = counselor.locator("#cases-list > li")
    for n in (0, 1):
        expect(items.nth(n)).to_contain_text("Nobody has taken this case")
    counselor.goto(f"/counselor/#/case/{new_cases[0]['case_id']}")
    wait_for_heading(counselor, "Case: 3 records opened")
    other = next(c for c in new_cases if c["case_id"] != new_cases[0]["case_id"])
    [other_match] = other["matches"]
    counselor.get_by_label("Match naming the same person").select_option(other_match["match_id"])
    counselor.get_by_role("button", name="Link to this case").click()
    wait_for_heading(counselor, "Case: 6 records opened")
    expect(counselor.locator("#note")).to_contain_text("Linked", timeout=POLL)
    for name in ("mail0", "mail1", "mail2", "phone0", "phone1", "phone2"):
        expect(counselor.locator("#case-body")).to_contain_text(f"The record {name} wrote.")
    expect(counselor.get_by_role("heading", name="Match: 3 records opened")).to_have_count(2)

    counselor.get_by_role("button", name="Take this case").click()
    expect(counselor.locator("#case-owner")).to_have_text("Owner: you", timeout=POLL)
    # left to nobody, it is anyone's to take again
    counselor.get_by_label("Hand this case to").select_option(label="Nobody: leave it for any counselor to take")
    counselor.get_by_role("button", name="Hand over").click()
    expect(counselor.locator("#case-owner")).to_have_text("No owner yet", timeout=POLL)
    counselor.get_by_role("button", name="Take this case").click()
    expect(counselor.locator("#case-owner")).to_have_text("Owner: you", timeout=POLL)
    counselor.get_by_label("State").select_option(label="In contact")
    counselor.get_by_role("button", name="Save the state").click()
    expect(counselor.locator("#note")).to_contain_text("In contact", timeout=POLL)
    counselor.get_by_label("New note").fill("Linked: one person by email and by phone.")
    counselor.get_by_role("button", name="Save the note").click()
    expect(counselor.locator("#notes-list")).to_contain_text("Linked: one person by email and by phone.", timeout=POLL)

    cases_now = talk.get("/v2/cases")
    talk.close()
    [case] = [c for c in cases_now if c["case_id"] == new_cases[0]["case_id"]]
    assert len(case["matches"]) == 2 and case["state"] == "in_contact" and case["owner"] == dep.counselor_name
    assert other["case_id"] not in {c["case_id"] for c in cases_now}

    # the list says so too
    counselor.get_by_role("navigation").get_by_role("link", name="Cases").click()
    wait_for_heading(counselor, "Cases")
    expect(counselor.get_by_role("link", name="2 linked matches, 6 released records")).to_be_visible()
    counselor.get_by_role("link", name="2 linked matches, 6 released records").click()
    wait_for_heading(counselor, "Case: 6 records opened")
    expect(counselor.locator("#notes-list")).to_contain_text("Linked: one person by email and by phone.", timeout=POLL)

    # a message sealed in this browser opens in the Python reporter's client; its answer opens here
    card = counselor.locator("section.record").filter(has_text="The record phone1 wrote.")
    card.get_by_label("First message to this reporter").fill("Hello from the browser.")
    card.get_by_label("Attach files (optional)").set_input_files(
        files=[{"name": "leaflet.pdf", "mimeType": "application/pdf", "buffer": LEAFLET}])
    card.get_by_role("button", name="Start the conversation").click()
    expect(card.locator("ol.messages")).to_contain_text("Hello from the browser.", timeout=POLL)
    session = by_phone[1]
    key = reporter.messaging_key(session.wallet)
    assert key is not None
    deployment = _deployment(dep)
    with session.client() as client:
        [direct] = client.conversations()
        assert direct.match_id is None  # a reporter is told of no match
        cid = b64u_decode(direct.conversation_id, length=16)
        [stored] = client.all_messages(cid)
        opened = conv.open_item(conv.Kind.MESSAGE, cid, b64u_decode(stored.message_id, length=16),
                                b64u_decode(stored.content), b64u_decode(stored.wrap or ""), key.seed, key.key_id)
        entry_id = b64u_decode(direct.entry_id or "", length=16)
        author = conv.check_direct(opened, deployment, entry_id=entry_id, reporter_key=key.public)
        assert author is not None and author.name == dep.counselor_name
        assert isinstance(opened.payload, conv.Text) and opened.payload.text == "Hello from the browser."
        [leaflet] = opened.payload.attachments
        assert (leaflet.name, leaflet.type, leaflet.data) == ("leaflet.pdf", "application/pdf", LEAFLET)
        photo_id = secrets.token_bytes(16)
        photo = conv.seal_item(conv.Kind.MESSAGE, cid, photo_id,
                               conv.Text("A photo.", (Attachment("photo.png", "image/png", PHOTO),)),
                               signer_seed=key.signing_seed,
                               recipients=conv.direct_recipients(deployment, key.public), entry=entry_id)
        client.post_message(cid, photo_id, m.SealedItem.model_validate(photo.to_json()))
        answer_id = secrets.token_bytes(16)
        sealed = conv.seal_item(conv.Kind.MESSAGE, cid, answer_id, conv.Reveal("call me on Tuesdays", "Hi."),
                                signer_seed=key.signing_seed,
                                recipients=conv.direct_recipients(deployment, key.public), entry=entry_id)
        client.post_message(cid, answer_id, m.SealedItem.model_validate(sealed.to_json()))
    messages = card.locator("ol.messages")
    expect(messages).to_contain_text("call me on Tuesdays", timeout=POLL)
    expect(messages.locator(".from-reporter").first).to_contain_text("A photo.")
    expect(messages.locator(".from-reporter").last).to_contain_text("They shared how to reach them")
    with counselor.expect_download() as download:
        messages.get_by_role("link", name="photo.png (1 KB, image/png)").click()
    assert Path(download.value.path()).read_bytes() == PHOTO
    assert by_email  # their entries count towards the first match

    # an introduction between Python reporters: their cards open here, this browser's roster opens there
    card2 = counselor.locator("section.record").filter(has_text="The record phone2 wrote.")
    card2.get_by_label("First message to this reporter").fill("Hello to you too.")
    card2.get_by_role("button", name="Start the conversation").click()
    expect(card2.locator("ol.messages")).to_contain_text("Hello to you too.", timeout=POLL)
    phone_match = counselor.locator("section.match").filter(has_text="The record phone1 wrote.")
    intro = phone_match.locator("section.introduction")
    intro.get_by_role("button", name="Propose an introduction").click()
    expect(intro).to_contain_text("Nobody has accepted yet", timeout=POLL)
    names = {1: "Phone One", 2: "Phone Two"}
    for n in (1, 2):
        python_accepts(by_phone[n], deployment, names[n])
    expect(intro.locator(".accepted-count")).to_have_text(
        "2 people have accepted so far: Phone One, Phone Two.", timeout=POLL)
    intro.get_by_role("button", name="Start the group with the 2 people who accepted").click()
    expect(intro.locator(".members")).to_have_text("In the group: Phone One, Phone Two.", timeout=POLL)
    group_cid, roster = python_reads_roster(by_phone[1], deployment)
    assert sorted(member.name for member in roster.members) == ["Phone One", "Phone Two"]
    with by_phone[1].client() as client:
        said_id = secrets.token_bytes(16)
        sealed = conv.seal_item(conv.Kind.MESSAGE, group_cid, said_id, conv.Text("Hello group, from Python."),
                                signer_seed=key.signing_seed,
                                recipients=conv.group_recipients(deployment, roster, key.hpke_public))
        client.post_message(group_cid, said_id, m.SealedItem.model_validate(sealed.to_json()))
    group_messages = intro.locator("section.conversation ol.messages")
    expect(group_messages).to_contain_text("Hello group, from Python.", timeout=POLL)
    expect(group_messages.locator(".from-member")).to_contain_text("Phone One")
    accessible(counselor, "the counselor's case page")
    counselor_tab.assert_clean()


def _deadline(seconds: float) -> Any:
    import time

    end = time.monotonic() + seconds

    def passed() -> bool:
        time.sleep(0.5)
        return time.monotonic() > end
    return passed


# --- the four browser contexts ------------------------------------------------------------------

def test_a_counselor_and_three_reporters_talk_two_meet_and_nobody_sees_the_third_decline(  # type: ignore[no-untyped-def]
        web_deployment, open_tab, tmp_path: Path) -> None:
    dep = web_deployment
    invites = dep.invites(3)
    reporters: list[Tab] = []
    for who, invite in zip(REPORTERS, invites, strict=True):
        tab = open_tab("/")
        reporters.append(tab)
        join(tab.page, invite, who["contact"], who["passphrase"])
        write_record(tab.page, who)
        escrow(tab.page, who["names"])
    wait_for_match(dep)

    # the counselor: the case is first in the list, flagged as nobody's, and opens with its three records
    counselor_tab = open_tab("/counselor/")
    counselor = counselor_tab.page
    unlock_counselor(counselor, dep.counselor_key, dep.counselor_passphrase)
    first_case = counselor.locator("#cases-list > li").first
    expect(first_case).to_contain_text("Match of 3 released records")
    expect(first_case).to_contain_text("Nobody has taken this case")
    expect(first_case).to_contain_text("New")
    screenshot(counselor, "counselor-cases")
    first_case.get_by_role("link", name="Match of 3 released records").click()
    wait_for_heading(counselor, "Case: 3 records opened")
    counselor.get_by_role("button", name="Take this case").click()
    expect(counselor.locator("#case-owner")).to_have_text("Owner: you", timeout=POLL)

    for i, who in enumerate(REPORTERS):
        counselor_write(counselor, who, FIRST_MESSAGES[i], first=True)

    # each reporter sees the counselor's message (opened in their browser) and answers without giving a contact
    for i, tab in enumerate(reporters):
        reporter_messages(tab.page)
        box = reporter_conversation(tab.page)
        expect(box.locator(".messages")).to_contain_text(FIRST_MESSAGES[i], timeout=POLL)
        for j, text in enumerate(FIRST_MESSAGES):
            if j != i:
                expect(box).not_to_contain_text(text)
        reporter_reply(tab.page, REPLIES[i])
        if i == 0:
            screenshot(tab.page, "reporter-messages")
    for i, who in enumerate(REPORTERS):
        expect(record_of(counselor, who).locator("ol.messages")).to_contain_text(REPLIES[i], timeout=POLL)
        expect(record_of(counselor, who).locator("ol.messages .from-reporter")).to_contain_text("The reporter")
    # the list says what the case needs now: the counselor wrote first (reaching out), the reporters answered last
    case_url = counselor.url
    counselor.get_by_role("navigation").get_by_role("link", name="Cases").click()
    wait_for_heading(counselor, "Cases")
    this_case = counselor.locator("#cases-list > li").filter(
        has=counselor.locator(f'a[href="#/case/{case_url.rsplit("/", 1)[-1]}"]'))
    expect(this_case).to_contain_text("A reporter is waiting for a reply")
    expect(this_case).to_contain_text("Reaching out")
    expect(this_case).to_contain_text("Owner: you")
    expect(this_case).not_to_contain_text("Nobody has taken this case")
    this_case.get_by_role("link").click()
    wait_for_heading(counselor, "Case: 3 records opened")
    for i, who in enumerate(REPORTERS):
        expect(record_of(counselor, who).locator("ol.messages")).to_contain_text(REPLIES[i], timeout=POLL)

    # across the two SDKs: the Python client seals a message the browser opens, and opens the browser's answer
    talk = CounselorHttp(dep)
    try:
        case_id = counselor.url.rsplit("/", 1)[-1]
        [case] = [c for c in talk.get("/v2/cases") if c["case_id"] == case_id]
        [match] = case["matches"]
        match_id = b64u_decode(match["match_id"], length=16)
        _, opened = counselor_sdk.open_match_by_id(talk.keys, match_id)
        deployment = _deployment(dep)
        first_entry = next(o for o in opened.opened if o.body.record == REPORTERS[0]["record"])
        reporter_key = conv.MessagingPublicKey.parse(first_entry.body.messaging_key)
        directs = {c["entry_id"]: c for c in talk.get("/v2/conversations", match_id=match["match_id"])
                   if c["kind"] == "direct"}
        assert len(directs) == 3
        direct = directs[b64u_encode(first_entry.entry_id)]
        cid = b64u_decode(direct["conversation_id"], length=16)
        page = talk.get(f"/v2/conversations/{direct['conversation_id']}/messages", after=0)
        answers = []
        for message in page["messages"]:
            item = conv.open_item(conv.Kind.MESSAGE, cid, b64u_decode(message["message_id"], length=16),
                                  b64u_decode(message["content"]), b64u_decode(message["wrap"]), talk.keys.seed,
                                  talk.keys.key_id)
            sender = conv.check_direct(item, deployment, entry_id=first_entry.entry_id, reporter_key=reporter_key)
            answers.append((sender is None, item.payload))
        assert [(by_reporter, getattr(p, "text", None)) for by_reporter, p in answers] == [
            (False, FIRST_MESSAGES[0]), (True, REPLIES[0])]
        message_id = secrets.token_bytes(16)
        sealed = conv.seal_item(conv.Kind.MESSAGE, cid, message_id, conv.Text(PYTHON_MESSAGE),
                                signer_seed=talk.keys.signing_seed,
                                recipients=conv.direct_recipients(deployment, reporter_key),
                                entry=first_entry.entry_id, to=reporter_key)
        talk.post(f"/v2/conversations/{direct['conversation_id']}/messages",
                  {"message_id": b64u_encode(message_id), **sealed.to_json()})
        expect(reporter_conversation(reporters[0].page).locator(".messages")).to_contain_text(PYTHON_MESSAGE,
                                                                                             timeout=POLL)
        expect(record_of(counselor, REPORTERS[0]).locator("ol.messages")).to_contain_text(PYTHON_MESSAGE,
                                                                                         timeout=POLL)

        # the introduction: proposed to all three; 1 and 2 accept under names they choose, 3 declines
        intro = counselor.locator("section.introduction")
        intro.get_by_label("What to tell them").fill(INTRODUCTION)
        intro.get_by_role("button", name="Propose an introduction").click()
        expect(counselor.locator("#note")).to_contain_text("The introduction was proposed", timeout=POLL)
        expect(intro).to_contain_text("Nobody has accepted yet", timeout=POLL)
        for i, tab in enumerate(reporters):
            if i < 2:
                reporter_accept(tab.page, DISPLAY_NAMES[i])
            else:
                reporter_decline(tab.page)
        accepted = intro.locator(".accepted-count")
        expect(accepted).to_have_text(re.compile(r"^2 people have accepted so far: "), timeout=POLL)
        for name in DISPLAY_NAMES:
            expect(accepted).to_contain_text(name)
        intro.get_by_role("button", name="Start the group with the 2 people who accepted").click()
        expect(counselor.locator("#note")).to_contain_text("The group has started", timeout=POLL)
        expect(intro.locator(".members")).to_have_text(f"In the group: {', '.join(sorted(DISPLAY_NAMES))}.")
        # nothing on the counselor's page tells a decline from a reporter who has not answered
        accessible(counselor, "the counselor's case page with a group")
        case_text = counselor.locator("#case-body").inner_text()
        telling = re.search(r"\bdeclin|\brefus|\bsaid no\b|\bturned down|\b[12] of 3\b", case_text, re.IGNORECASE)
        assert telling is None, case_text[max(0, telling.start() - 300):telling.end() + 100]

        # the two who accepted see each other's names and talk; the counselor reads along
        for i in (0, 1):
            page_i = reporters[i].page
            group = reporter_group(page_i)
            expect(group).to_be_visible(timeout=POLL)
            expect(group.locator(".members")).to_have_text(f"In the group: {', '.join(sorted(DISPLAY_NAMES))}.",
                                                           timeout=POLL)
            group.get_by_label("Message to the group").fill(GROUP_MESSAGES[i])
            group.get_by_role("button", name="Send to the group").click()
            expect(group.locator(".messages")).to_contain_text(GROUP_MESSAGES[i], timeout=POLL)
        for i in (0, 1):
            group = reporter_group(reporters[i].page)
            expect(group.locator(".messages")).to_contain_text(GROUP_MESSAGES[1 - i], timeout=POLL)
            expect(group.locator(".messages")).to_contain_text(DISPLAY_NAMES[1 - i])
        screenshot(reporters[0].page, "reporter-group")
        counselor_group = intro.locator("section.conversation")
        for text in GROUP_MESSAGES:
            expect(counselor_group.locator("ol.messages")).to_contain_text(text, timeout=POLL)
        counselor_group.get_by_label("Message to the group").fill("Welcome, both of you.")
        counselor_group.get_by_role("button", name="Send to the group").click()
        for i in (0, 1):
            expect(reporter_group(reporters[i].page).locator(".messages")).to_contain_text("Welcome, both of you.",
                                                                                           timeout=POLL)
        expect(counselor_group.locator("ol.messages")).to_contain_text("Welcome, both of you.", timeout=POLL)
        intro.scroll_into_view_if_needed()
        screenshot(counselor, "counselor-case")

        # the third reporter: no group, no names, no group message; still their own conversation
        third = reporters[2].page
        third.reload()
        third.locator("#unlock-form").get_by_label("Passphrase").fill(REPORTERS[2]["passphrase"])
        third.locator("#unlock-form").get_by_role("button", name="Unlock").click()
        wait_for_heading(third, "Your records")
        reporter_messages(third)
        expect(reporter_conversation(third).locator(".messages")).to_contain_text(REPLIES[2], timeout=POLL)
        expect(reporter_group(third)).to_have_count(0)
        text3 = third.locator("main").inner_text()
        for secret in [*DISPLAY_NAMES, *GROUP_MESSAGES, "Welcome, both of you."]:
            assert secret not in text3, f"reporter 3 sees {secret!r}"

        # a private note, sealed to the counselors
        counselor.get_by_label("New note").fill(NOTE)
        counselor.get_by_role("button", name="Save the note").click()
        expect(counselor.locator("#notes-list")).to_contain_text(NOTE, timeout=POLL)

        # the server: two acceptances and two members, none from reporter 3's conversation; asked as the counselor too
        third_entry = next(o for o in opened.opened if o.body.record == REPORTERS[2]["record"])
        third_cid = b64u_decode(directs[b64u_encode(third_entry.entry_id)]["conversation_id"], length=16)
        [(introduction_id, group_id)] = db_rows(
            dep, "SELECT introduction_id, group_conversation_id FROM introductions WHERE match_id = ?", match_id)
        [(third_account,)] = db_rows(dep, "SELECT account_id FROM entries WHERE entry_id = ?", third_entry.entry_id)
        assert db_rows(dep, "SELECT COUNT(*) FROM introduction_invites WHERE introduction_id = ?",
                       introduction_id) == [(3,)]
        assert db_rows(dep, "SELECT COUNT(*) FROM introduction_acceptances WHERE introduction_id = ?",
                       introduction_id) == [(2,)]
        assert db_rows(dep, "SELECT COUNT(*) FROM introduction_acceptances WHERE account_id = ? OR conversation_id = ?",
                       third_account, third_cid) == [(0,)]
        assert db_rows(dep, "SELECT COUNT(*) FROM conversation_members WHERE conversation_id = ?", group_id) == [(2,)]
        assert db_rows(dep, "SELECT conversation_id FROM conversation_members WHERE account_id = ?",
                       third_account) == [(third_cid,)]
        # of the third reporter's conversation: the counselor's message, its answer, the invitation; nothing else
        assert db_rows(dep, "SELECT sender_role FROM messages WHERE conversation_id = ? ORDER BY seq",
                       third_cid) == [("counselor",), ("reporter",), ("counselor",)]
        assert db_rows(dep, "SELECT COUNT(*) FROM messages WHERE sender_account_id = ?", third_account) == [(1,)]
        detail = talk.get(f"/v2/introductions/{b64u_encode(introduction_id)}")
        assert sorted(a["conversation_id"] for a in detail["accepted"]) == sorted(
            c["conversation_id"] for e, c in directs.items() if e != b64u_encode(third_entry.entry_id))
    finally:
        talk.close()

    # the server's files hold no message, name or note in clear
    needles = {*FIRST_MESSAGES, *REPLIES, *DISPLAY_NAMES, INTRODUCTION, *GROUP_MESSAGES, NOTE, PYTHON_MESSAGE,
               "Welcome, both of you."}
    files = [p for p in Path(dep.root).rglob("*") if p.is_file()]
    assert any(p.name.startswith("escrow.sqlite") for p in files)
    for path in files:
        content = path.read_bytes()
        for needle in needles:
            for form in {needle.encode(), needle.encode("utf-16-le"), needle[:20].encode()}:
                assert form not in content, f"{needle!r} found in clear in {path}"

    for tab in [*reporters, counselor_tab]:
        tab.assert_clean()
