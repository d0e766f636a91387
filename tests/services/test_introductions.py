"""Introductions with consent (PROTOCOL.md §13.4), over the HTTP API.

Two of three reporters accept and talk in their group; the third declines, which its client keeps to
itself: the server, the counselors and the others can tell it from not having answered at all by
nothing, and the tests compare everything the server holds and shows to be sure. Attacks are real
requests with real tokens of the wrong accounts; refusals leave every table as it was.
"""

from __future__ import annotations

import os
from typing import Any

from consilience.protocol import conversations as items
from consilience.protocol.conversations import Kind
from consilience.protocol.encoding import b64u_decode

from .harness import API, Escrow, b64
from .messaging import (
    World,
    card,
    counselor_seed,
    open_conversation,
    opened_text,
    read,
    reporter_message,
    world,
)


def propose(w: World, cids: list[str], introduction_id: str | None = None,
            group: str | None = None, match_id: str | None = None) -> Any:
    return w.client.post(f"{API}/matches/{match_id or w.match_id}/introductions", headers=w.counselor, json={
        "introduction_id": introduction_id or b64(os.urandom(16)),
        "group_conversation_id": group or b64(os.urandom(16)), "conversation_ids": cids})


def accept(w: World, introduction_id: str, cid: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return w.client.post(f"{API}/introductions/{introduction_id}/accept", headers=headers,
                         json={"conversation_id": cid, "card": body})


def introduce(w: World, iid: str, cid: str, person: Any, text: str) -> None:
    """The counselor's message naming the introduction, in one invited direct conversation."""
    message_id = os.urandom(16)
    sealed = items.seal_item(
        Kind.MESSAGE, b64u_decode(cid), message_id, items.IntroductionMsg(b64u_decode(iid), text),
        signer_seed=items.counselor_signing_seed(counselor_seed(w)),
        recipients=[*(c.public_key for c in w.escrow.counselors), person.key.hpke_public],
        entry=b64u_decode(person.entry_id), to=person.key.public)
    answer = w.client.post(f"{API}/conversations/{cid}/messages", headers=w.counselor,
                           json={"message_id": b64(message_id), **sealed.to_json()})
    assert answer.status_code == 201, answer.text


def test_two_accept_and_talk_the_third_declines_and_nobody_can_tell(any_escrow: Escrow) -> None:
    escrow = any_escrow
    w = world(escrow)
    alice, bob, cara = w.released
    cids = [open_conversation(w, p) for p in w.released]
    iid, group = b64(os.urandom(16)), b64(os.urandom(16))
    made = propose(w, cids, iid, group)
    assert made.status_code == 201, made.text
    assert made.json() == {"introduction_id": iid, "match_id": w.match_id, "group_conversation_id": group,
                           "invited": sorted(cids, key=b64u_decode), "accepted": []}
    assert propose(w, cids, iid, group).status_code == 200  # the same again
    for cid, person in zip(cids, w.released, strict=True):
        introduce(w, iid, cid, person, "Others named the same person. Would you like to be introduced?")
        mine = w.client.get(f"{API}/introductions/{iid}", headers=person.headers)
        assert mine.json() == {"introduction_id": iid, "group_conversation_id": group, "accepted": False}

    # the group has no members yet: no reporter can see it
    for person in w.released:
        assert read(w, group, person.headers).status_code == 404
    assert escrow.counts()["conversation_members"] == 3

    names = {alice.entry_id: "Blue Heron", bob.entry_id: "Quiet Fox"}
    for cid, person in ((cids[0], alice), (cids[1], bob)):
        body = card(w, iid, cid, person, names[person.entry_id])
        first = accept(w, iid, cid, person.headers, body)
        assert first.status_code == 201 and first.json()["accepted"] is True
        assert accept(w, iid, cid, person.headers, body).status_code == 200  # the same card again
        other = accept(w, iid, cid, person.headers, card(w, iid, cid, person, "Someone Else"))
        assert other.status_code == 409
    # Cara declines: her client remembers it in her wallet and sends nothing

    seen = w.client.get(f"{API}/introductions/{iid}", headers=w.counselor).json()
    assert seen["invited"] == sorted(cids, key=b64u_decode)
    assert [a["conversation_id"] for a in seen["accepted"]] == [cids[0], cids[1]]
    checked = []
    for accepted, person in zip(seen["accepted"], (alice, bob), strict=True):
        opened = items.open_item(Kind.CARD, b64u_decode(iid), b64u_decode(accepted["conversation_id"]),
                                 b64u_decode(accepted["card"]["content"]), b64u_decode(accepted["card"]["wrap"]),
                                 counselor_seed(w))
        got = items.check_card(opened, introduction_id=b64u_decode(iid),
                               conversation_id=b64u_decode(accepted["conversation_id"]),
                               reporter_key=person.key.public)
        checked.append(items.RosterMember(got.name, got.key))
    assert sorted(m.name for m in checked) == ["Blue Heron", "Quiet Fox"]

    # the counselor posts the roster; the members talk, sealed to the counselors and the roster
    roster = items.Roster(b64u_decode(iid), tuple(checked))
    message_id = os.urandom(16)
    sealed = items.seal_item(Kind.MESSAGE, b64u_decode(group), message_id, roster,
                             signer_seed=items.counselor_signing_seed(counselor_seed(w)),
                             recipients=items.group_recipients(escrow.deployment, roster))
    assert w.client.post(f"{API}/conversations/{group}/messages", headers=w.counselor,
                         json={"message_id": b64(message_id), **sealed.to_json()}).status_code == 201
    hello_id = os.urandom(16)
    hello = items.seal_item(Kind.MESSAGE, b64u_decode(group), hello_id, items.Text("Hello, it is Blue Heron"),
                            signer_seed=alice.key.signing_seed,
                            recipients=items.group_recipients(escrow.deployment, roster, alice.key.hpke_public))
    assert w.client.post(f"{API}/conversations/{group}/messages", headers=alice.headers,
                         json={"message_id": b64(hello_id), **hello.to_json()}).json()["seq"] == 2
    page = read(w, group, bob.headers).json()["messages"]
    assert [m["from"] for m in page] == ["counselor", "reporter"]
    assert opened_text(w, group, page[1], bob.key.seed) == "Hello, it is Blue Heron"
    groups = [c for c in w.client.get(f"{API}/conversations", headers=bob.headers).json() if c["kind"] == "group"]
    assert groups == [groups[0] | {"conversation_id": group, "match_id": None, "entry_id": None,
                                   "introduction_id": iid, "last_seq": 2, "messages": 2}]

    # Cara, who declined, is not a member: nothing of the group reaches her
    assert [c["kind"] for c in w.client.get(f"{API}/conversations", headers=cara.headers).json()] == ["direct"]
    assert read(w, group, cara.headers).status_code == 404
    intrude = reporter_message(w, group, cara, "let me in", group=True)
    assert w.client.post(f"{API}/conversations/{group}/messages", headers=cara.headers,
                         json=intrude).status_code == 404
    assert w.client.get(f"{API}/introductions/{iid}", headers=cara.headers).json()["accepted"] is False


def test_a_decline_leaves_no_trace(escrow: Escrow) -> None:
    """What the server holds and shows after Cara looked and declined is what it held before she answered."""
    w = world(escrow)
    alice, bob, cara = w.released
    cids = [open_conversation(w, p) for p in w.released]
    iid = b64(os.urandom(16))
    assert propose(w, cids, iid).status_code == 201
    for cid, person in zip(cids, w.released, strict=True):
        introduce(w, iid, cid, person, "Would you like to be introduced?")
    assert accept(w, iid, cids[0], alice.headers, card(w, iid, cids[0], alice, "Blue Heron")).status_code == 201

    def everything() -> tuple[dict[str, int], Any, Any, Any]:
        return (escrow.counts(), w.client.get(f"{API}/introductions/{iid}", headers=w.counselor).json(),
                w.client.get(f"{API}/conversations", headers=w.counselor).json(),
                [read(w, c, w.counselor).json() for c in cids])

    never_answered = everything()
    # Cara reads the offer and her introduction (what her client does before she decides), then declines
    read(w, cids[2], cara.headers)
    assert w.client.get(f"{API}/introductions/{iid}", headers=cara.headers).status_code == 200
    declined = everything()
    assert declined == never_answered
    # Bob has not answered yet: he and Cara look the same to the counselor
    accepted = {a["conversation_id"] for a in declined[1]["accepted"]}
    assert cids[1] not in accepted and cids[2] not in accepted and declined[1]["invited"] == sorted(
        cids, key=b64u_decode)
    # and to the one who accepted, nothing is shown of either
    assert w.client.get(f"{API}/introductions/{iid}", headers=alice.headers).json() == {
        "introduction_id": iid, "group_conversation_id": declined[1]["group_conversation_id"], "accepted": True}
    del bob


def test_only_an_invited_reporter_accepts_and_only_from_its_own_conversation(escrow: Escrow) -> None:
    w = world(escrow)
    alice, bob, cara = w.released
    cids = [open_conversation(w, p) for p in w.released]
    iid = b64(os.urandom(16))
    assert propose(w, cids[:2], iid).status_code == 201  # Cara is not invited
    nowhere = b64(os.urandom(16))
    before = escrow.counts()

    # not invited: the introduction looks like none, to see and to accept
    for attacker in (cara, w.waiting):
        theirs = w.client.get(f"{API}/introductions/{iid}", headers=attacker.headers)
        none = w.client.get(f"{API}/introductions/{nowhere}", headers=attacker.headers)
        assert theirs.status_code == none.status_code == 404 and theirs.json() == none.json()
    tried = accept(w, iid, cids[2], cara.headers, card(w, iid, cids[2], cara, "Cara"))
    unknown = accept(w, nowhere, cids[2], cara.headers, card(w, nowhere, cids[2], cara, "Cara"))
    assert tried.status_code == unknown.status_code == 404 and tried.json() == unknown.json()
    # naming someone else's invited conversation
    stolen = accept(w, iid, cids[1], alice.headers, card(w, iid, cids[1], alice, "Alice as Bob"))
    assert stolen.status_code == 404 and stolen.json() == unknown.json()
    # a counselor token on the reporter's endpoint; a reporter on the counselor's
    assert accept(w, iid, cids[0], w.counselor, card(w, iid, cids[0], alice, "x")).status_code == 403
    assert w.client.post(f"{API}/matches/{w.match_id}/introductions", headers=alice.headers, json={
        "introduction_id": b64(os.urandom(16)), "group_conversation_id": b64(os.urandom(16)),
        "conversation_ids": cids[:2]}).status_code == 403
    # a card without a wrap for the accepter's own key, a malformed one
    own_less = card(w, iid, cids[0], alice, "Alice")
    own_less["wraps"] = [x for x in own_less["wraps"] if x["key_id"] != b64(alice.key.key_id)]
    assert accept(w, iid, cids[0], alice.headers, own_less).status_code == 400
    broken = {"content": "", "wraps": []}
    assert accept(w, iid, cids[0], alice.headers, broken).status_code == 422
    assert escrow.counts() == before
    assert w.client.get(f"{API}/introductions/{iid}", headers=w.counselor).json()["accepted"] == []
    del bob


def test_introduction_requests_are_checked_and_bad_ones_change_nothing(escrow: Escrow) -> None:
    w = world(escrow)
    cids = [open_conversation(w, p) for p in w.released]
    other = world(escrow, released=2)
    other_cids = [open_conversation(other, p) for p in other.released]
    before = escrow.counts()
    assert propose(w, [cids[0], other_cids[0]]).status_code == 404  # not a conversation of this match
    assert propose(w, [cids[0], b64(os.urandom(16))]).status_code == 404
    assert propose(w, cids[:2], match_id=b64(os.urandom(16))).status_code == 404
    assert propose(w, cids[:2], group=cids[2]).status_code == 409  # the group id is taken
    assert propose(w, cids[:1]).status_code == 422  # at least two
    assert propose(w, [cids[0], cids[0]]).status_code == 422
    assert propose(w, cids[:2], match_id="bad").status_code == 400
    assert escrow.counts() == before

    iid, group = b64(os.urandom(16)), b64(os.urandom(16))
    assert propose(w, cids[:2], iid, group).status_code == 201
    assert propose(w, cids[1:], b64(os.urandom(16))).status_code == 409  # cids[1] is already invited elsewhere
    assert propose(w, cids[:2], iid, b64(os.urandom(16))).status_code == 409  # the same id, another group
    # someone who joined the match later can be invited too; invitations are never taken back
    grown = propose(w, cids, iid, group)
    assert grown.status_code == 201 and len(grown.json()["invited"]) == 3
    assert propose(w, cids[:2], iid, group).status_code == 409
    assert propose(w, cids, iid, group).status_code == 200
