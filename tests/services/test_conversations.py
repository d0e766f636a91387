"""Conversations after a match (PROTOCOL.md §13.3): who may open, read and write which, over the HTTP API.

Every attack is a real request with a real token of the wrong account. The server must answer a
conversation that is not the caller's exactly as one that does not exist, and a refused request
must leave every table as it was (``repository.row_counts``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select

from consilience.crypto import hpke
from consilience.protocol.deployment import Counselor
from consilience.protocol.encoding import b64u_decode
from consilience.services.escrow.limits import LimitSettings
from consilience.storage import revocations
from consilience.storage.models import Account, Case, Match
from v2_world import make_counselor

from .harness import API, Escrow, b64, build, newer, registration
from .messaging import (
    World,
    counselor_message,
    messenger,
    open_conversation,
    opened_text,
    random_item,
    read,
    reporter_message,
    world,
)


def stored_message_key(escrow: Escrow, account_id: bytes) -> bytes | None:
    with escrow.db.read() as session:
        return session.scalar(select(Account.message_key).where(Account.account_id == account_id))


# -- messaging keys -----------------------------------------------------------------


def test_registration_stores_the_messaging_key_and_put_sets_it_once(escrow: Escrow) -> None:
    person = messenger(escrow)
    assert stored_message_key(escrow, person.reporter.account_id) == person.key.encode_public()
    url = f"{API}/account/message-key"
    same = {"message_key": b64(person.key.encode_public())}
    assert escrow.client.put(url, json=same, headers=person.headers).status_code == 204

    other = messenger(escrow).key.encode_public()
    answer = escrow.client.put(url, json={"message_key": b64(other)}, headers=person.headers)
    assert answer.status_code == 409 and "registered once" in answer.json()["detail"]
    assert stored_message_key(escrow, person.reporter.account_id) == person.key.encode_public()

    # an older wallet, registered without one, sets it once
    old = escrow.reporter()
    assert stored_message_key(escrow, old.account_id) is None
    assert escrow.client.put(url, json={"message_key": b64(other)}, headers=old.headers).status_code == 204
    assert stored_message_key(escrow, old.account_id) == other


def test_a_bad_messaging_key_is_refused_and_changes_nothing(escrow: Escrow) -> None:
    old = escrow.reporter()
    url = f"{API}/account/message-key"
    counselor_key = escrow.counselors[0].public_key + os.urandom(32)
    unusable = b"\xff" * 1216 + os.urandom(32)  # ML-KEM coefficients out of range: no one can seal to it
    before = escrow.counts()
    for key, status in ((counselor_key, 400), (unusable, 400), (os.urandom(1247), 422)):
        answer = escrow.client.put(url, json={"message_key": b64(key)}, headers=old.headers)
        assert answer.status_code == status, answer.text
        seed = escrow.invite()
        before_registration = escrow.counts()
        refused = escrow.client.post(f"{API}/register", json=registration(seed, escrow.deployment.deployment_id)
                                     | {"message_key": b64(key)})
        assert refused.status_code == status, refused.text
        assert escrow.counts() == before_registration  # the invite is not used, no account made
    assert stored_message_key(escrow, old.account_id) is None
    assert escrow.counts()["accounts"] == before["accounts"]
    # a counselor has no messaging key to register
    counselor = escrow.counselor_headers(escrow.counselors[0])
    answer = escrow.client.put(url, json={"message_key": b64(messenger(escrow).key.encode_public())},
                               headers=counselor)
    assert answer.status_code == 403


# -- a counselor and a reporter talk ---------------------------------------------------------


def test_counselor_and_reporter_exchange_sealed_messages(any_escrow: Escrow) -> None:
    escrow = any_escrow
    w = world(escrow)
    alice = w.released[0]
    cid = open_conversation(w, alice)
    again = w.client.post(f"{API}/conversations", headers=w.counselor,
                          json={"conversation_id": cid, "match_id": w.match_id, "entry_id": alice.entry_id})
    assert again.status_code == 200 and again.json()["conversation_id"] == cid

    listed = w.client.get(f"{API}/conversations", headers=alice.headers).json()
    assert len(listed) == 1
    assert listed[0] | {"created_at": None, "updated_at": None} == {
        "conversation_id": cid, "kind": "direct", "match_id": None, "entry_id": alice.entry_id,
        "introduction_id": None, "created_at": None, "updated_at": None, "last_seq": 0, "messages": 0}
    counselor_view = w.client.get(f"{API}/conversations?match_id={w.match_id}", headers=w.counselor).json()
    assert [c["match_id"] for c in counselor_view] == [w.match_id]

    first = counselor_message(w, cid, alice, "Hello, I am Ana, a counselor. You are not alone.")
    posted = w.client.post(f"{API}/conversations/{cid}/messages", json=first, headers=w.counselor)
    assert posted.status_code == 201 and posted.json()["seq"] == 1
    with escrow.db.read() as session:  # the counselor reached out: the case is no longer "new"
        match = session.get(Match, b64u_decode(w.match_id))
        assert match is not None and match.case_id is not None
        case = session.get(Case, match.case_id)
        assert case is not None and case.reached_out_at is not None and case.state == "reaching_out"

    page = read(w, cid, alice.headers).json()
    assert page["next_after"] == 1 and [m["seq"] for m in page["messages"]] == [1]
    assert page["messages"][0]["from"] == "counselor"
    hello = "Hello, I am Ana, a counselor. You are not alone."
    assert opened_text(w, cid, page["messages"][0], alice.key.seed) == hello

    answer = reporter_message(w, cid, alice, "Thank you. I am not ready to say who I am yet.")
    assert w.client.post(f"{API}/conversations/{cid}/messages", json=answer, headers=alice.headers).json()["seq"] == 2
    counselor_page = read(w, cid, w.counselor).json()
    assert [m["from"] for m in counselor_page["messages"]] == ["counselor", "reporter"]
    assert opened_text(w, cid, counselor_page["messages"][1], escrow.counselors[0].seed) == \
        "Thank you. I am not ready to say who I am yet."
    # the other counselor reads with its own wrap
    bo = escrow.counselor_headers(escrow.counselors[1])
    bo_page = read(w, cid, bo).json()
    assert opened_text(w, cid, bo_page["messages"][1], escrow.counselors[1].seed).startswith("Thank you")
    assert bo_page["messages"][0]["wrap"] != counselor_page["messages"][0]["wrap"]

    # paging: numbers count within the conversation, whatever else the server holds
    other_cid = open_conversation(w, w.released[1])
    for i in range(3):
        w.client.post(f"{API}/conversations/{other_cid}/messages", headers=w.counselor,
                      json=counselor_message(w, other_cid, w.released[1], f"note {i}"))
    for i in range(3):
        assert w.client.post(f"{API}/conversations/{cid}/messages", headers=alice.headers,
                             json=reporter_message(w, cid, alice, f"more {i}")).json()["seq"] == 3 + i
    pages = [read(w, cid, alice.headers, after=after, limit=2).json() for after in (0, 2, 4)]
    assert [[m["seq"] for m in p["messages"]] for p in pages] == [[1, 2], [3, 4], [5]]
    assert [p["next_after"] for p in pages] == [2, 4, 5]
    assert read(w, cid, alice.headers, after=5).json() == {"messages": [], "next_after": 5}
    listed = w.client.get(f"{API}/conversations", headers=alice.headers).json()
    assert listed[0]["last_seq"] == listed[0]["messages"] == 5
    assert read(w, cid, alice.headers, limit=101).status_code == 422
    assert read(w, cid, alice.headers, after=-1).status_code == 422


def test_the_same_message_again_is_stored_once_and_a_changed_one_is_refused(escrow: Escrow) -> None:
    w = world(escrow, released=2)
    alice = w.released[0]
    cid = open_conversation(w, alice)
    message = counselor_message(w, cid, alice, "first")
    url = f"{API}/conversations/{cid}/messages"
    first = w.client.post(url, json=message, headers=w.counselor)
    assert first.status_code == 201
    before = escrow.counts()
    again = w.client.post(url, json=message, headers=w.counselor)
    assert again.status_code == 200 and again.json() == first.json()
    changed = counselor_message(w, cid, alice, "something else", message_id=b64u_decode(message["message_id"]))
    refused = w.client.post(url, json=changed, headers=w.counselor)
    assert refused.status_code == 409 and "new id" in refused.json()["detail"]
    # the same id from the reporter (even with the same bytes) is not theirs to resend
    assert w.client.post(url, json=message, headers=alice.headers).status_code == 409
    assert escrow.counts() == before
    assert len(read(w, cid, alice.headers).json()["messages"]) == 1


def test_bad_input_is_refused_and_changes_nothing(escrow: Escrow) -> None:
    w = world(escrow, released=2)
    alice = w.released[0]
    cid = open_conversation(w, alice)
    url = f"{API}/conversations/{cid}/messages"
    counselor_key_id = escrow.counselors[0].key_id
    good = counselor_message(w, cid, alice, "x")
    before = escrow.counts()
    bad_bodies: list[tuple[dict[str, Any], int]] = [
        ({**good, "wraps": []}, 422),
        ({**good, "wraps": good["wraps"] + good["wraps"][:1]}, 422),  # two wraps for one key
        ({**good, "wraps": [{"key_id": b64(counselor_key_id), "wrap": b64(os.urandom(1167))}]}, 422),
        ({**good, "message_id": "short"}, 422),
        ({**good, "content": ""}, 422),
        ({**good, "extra": 1}, 422),
        # no wrap for the sender's own key: it could never read back what it sent
        ({"message_id": b64(os.urandom(16)), **random_item(escrow.counselors[1].key_id)}, 400),
    ]
    for body, status in bad_bodies:
        answer = w.client.post(url, json=body, headers=w.counselor)
        assert answer.status_code == status, (body.keys(), answer.text)
    assert w.client.post(f"{API}/conversations/not-an-id/messages", json=good, headers=w.counselor).status_code \
        == 400
    # conversations: an id already used for another entry; an entry that already has its conversation
    taken = w.client.post(f"{API}/conversations", headers=w.counselor, json={
        "conversation_id": cid, "match_id": w.match_id, "entry_id": w.released[1].entry_id})
    assert taken.status_code == 409
    twice = w.client.post(f"{API}/conversations", headers=w.counselor, json={
        "conversation_id": b64(os.urandom(16)), "match_id": w.match_id, "entry_id": alice.entry_id})
    assert twice.status_code == 409 and twice.json()["conversation_id"] == cid
    assert twice.json()["error"] == "conversation_exists"
    for body in ({"conversation_id": b64(os.urandom(16)), "match_id": w.match_id},
                 {"conversation_id": "x", "match_id": w.match_id, "entry_id": alice.entry_id}):
        assert w.client.post(f"{API}/conversations", headers=w.counselor, json=body).status_code == 422
    assert w.client.get(f"{API}/conversations?match_id=nope", headers=w.counselor).status_code == 400
    assert escrow.counts() == before


# -- isolation -------------------------------------------------------------------------------


def test_a_reporter_of_an_unreleased_entry_cannot_be_messaged_nor_learn_of_the_match(escrow: Escrow) -> None:
    w = world(escrow, released=2)
    open_conversation(w, w.released[0])
    before = escrow.counts()

    def create(entry_id: str, match_id: str | None = None) -> Any:
        return w.client.post(f"{API}/conversations", headers=w.counselor, json={
            "conversation_id": b64(os.urandom(16)), "match_id": match_id or w.match_id, "entry_id": entry_id})

    unreleased = create(w.waiting.entry_id)
    nothing = create(b64(os.urandom(16)))
    assert unreleased.status_code == nothing.status_code == 404
    assert unreleased.json() == nothing.json()  # the same answer as for an entry that does not exist
    assert create(w.released[1].entry_id, b64(os.urandom(16))).status_code == 404  # no such match
    # an entry released in another match cannot be reached through this one
    other = world(escrow, released=2)
    assert create(other.released[0].entry_id).status_code == 404
    # nor by a counselor added after the entry was escrowed: it has no envelope for that counselor's key
    cy = make_counselor("Cy")
    escrow.publish(newer(escrow.deployment, counselors=(*escrow.deployment.counselors,
                                                        Counselor(cy.name, cy.key_id, cy.public_key))))
    late = escrow.counselor_headers(cy)
    assert w.client.get(f"{API}/matches/{w.match_id}", headers=late).status_code == 200
    refused = w.client.post(f"{API}/conversations", headers=late, json={
        "conversation_id": b64(os.urandom(16)), "match_id": w.match_id, "entry_id": w.released[1].entry_id})
    assert refused.status_code == 404 and refused.json() == nothing.json()
    counts = escrow.counts()
    assert {k: counts[k] for k in ("conversations", "conversation_members")} == \
        {k: before[k] for k in ("conversations", "conversation_members")}

    # the waiting reporter sees nothing, and no conversation lets it find the match
    assert w.client.get(f"{API}/conversations", headers=w.waiting.headers).json() == []
    entry = w.client.get(f"{API}/entries/{w.waiting.entry_id}", headers=w.waiting.headers).json()
    assert entry["status"] == "escrowed"
    assert w.client.get(f"{API}/conversations", headers=w.released[1].headers).json() == []


def test_another_reporter_cannot_read_or_write_a_conversation(any_escrow: Escrow) -> None:
    escrow = any_escrow
    w = world(escrow)
    alice, bob = w.released[0], w.released[1]
    cid = open_conversation(w, alice)
    w.client.post(f"{API}/conversations/{cid}/messages", headers=w.counselor,
                  json=counselor_message(w, cid, alice, "for alice only"))
    nowhere = b64(os.urandom(16))
    before = escrow.counts()
    for attacker in (bob, w.waiting):
        theirs, none = read(w, cid, attacker.headers), read(w, nowhere, attacker.headers)
        assert theirs.status_code == none.status_code == 404 and theirs.json() == none.json()
        body = reporter_message(w, cid, attacker, "let me in")
        theirs = w.client.post(f"{API}/conversations/{cid}/messages", json=body, headers=attacker.headers)
        none = w.client.post(f"{API}/conversations/{nowhere}/messages", json=body, headers=attacker.headers)
        assert theirs.status_code == none.status_code == 404 and theirs.json() == none.json()
        assert w.client.get(f"{API}/conversations", headers=attacker.headers).json() == []
        # filtering by match is for counselors: a reporter cannot probe match ids this way
        probe = w.client.get(f"{API}/conversations?match_id={w.match_id}", headers=attacker.headers)
        guess = w.client.get(f"{API}/conversations?match_id={nowhere}", headers=attacker.headers)
        assert probe.status_code == guess.status_code == 400 and probe.json() == guess.json()
    assert escrow.counts() == before
    assert len(read(w, cid, alice.headers).json()["messages"]) == 1


def test_reporters_cannot_open_conversations_and_roles_are_kept_apart(escrow: Escrow) -> None:
    w = world(escrow, released=2)
    alice = w.released[0]
    before = escrow.counts()
    mine = w.client.post(f"{API}/conversations", headers=alice.headers, json={
        "conversation_id": b64(os.urandom(16)), "match_id": w.match_id, "entry_id": alice.entry_id})
    assert mine.status_code == 403
    assert w.client.get(f"{API}/conversations").status_code == 401
    # a counselor token on the reporter-only endpoints
    key = {"message_key": b64(alice.key.encode_public())}
    assert w.client.put(f"{API}/account/message-key", json=key, headers=w.counselor).status_code == 403
    assert escrow.counts() == before


def test_a_revoked_reporter_reads_and_writes_nothing(escrow: Escrow) -> None:
    w = world(escrow, released=2)
    alice = w.released[0]
    cid = open_conversation(w, alice)
    with escrow.db.write() as session:
        revocations.revoke_accounts(session, [alice.reporter.account_id])
    assert read(w, cid, alice.headers).status_code == 401
    answer = w.client.post(f"{API}/conversations/{cid}/messages", headers=alice.headers,
                           json=reporter_message(w, cid, alice, "still here?"))
    assert answer.status_code == 401
    assert escrow.counts()["messages"] == 0


def test_messages_have_their_own_budget(tmp_path: Path) -> None:
    escrow = build(tmp_path / "data", limits=LimitSettings(message_writes_per_account=(1.0, 2.0)))
    with escrow.client:
        w = world(escrow, released=2)
        alice = w.released[0]
        cid = open_conversation(w, alice)  # one of the counselor's two
        url = f"{API}/conversations/{cid}/messages"
        assert w.client.post(url, headers=alice.headers, json=reporter_message(w, cid, alice, "1")).status_code == 201
        assert w.client.post(url, headers=alice.headers, json=reporter_message(w, cid, alice, "2")).status_code == 201
        before = escrow.counts()
        spent = w.client.post(url, headers=alice.headers, json=reporter_message(w, cid, alice, "3"))
        assert spent.status_code == 429 and "Retry-After" in spent.headers
        assert escrow.counts() == before
    escrow.db.dispose()


def test_the_other_side_is_told_only_that_something_is_waiting(escrow: Escrow) -> None:
    w = world(escrow, released=2)
    alice = w.released[0]
    cid = open_conversation(w, alice)
    inbox = escrow.settings.inbox_dir

    def waiting_files() -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(inbox.rglob("*.json"))
                if "waiting" in json.loads(p.read_text())]

    assert waiting_files() == []
    text = "My name is Alice Example and this is what happened"
    w.client.post(f"{API}/conversations/{cid}/messages", headers=alice.headers,
                  json=reporter_message(w, cid, alice, text))
    told = waiting_files()
    assert len(told) == 1  # Ana: the one counselor with an account here
    assert [p.parent.name for p in inbox.rglob("*.json") if "waiting" in p.read_text()] == ["Ana-Counselor"]
    for notice in told:
        assert set(notice) == {"waiting", "time"}
    for path in inbox.rglob("*"):
        data = path.read_bytes() if path.is_file() else b""
        assert text.encode() not in data and cid.encode() not in data
        if b"waiting" in data:
            assert w.match_id.encode() not in data


# -- nothing readable on disk ----------------------------------------------------------------


def data_files(root: Path) -> dict[str, bytes]:
    """Every file the escrow server wrote under its data folder: database, -wal, -shm, inbox, logs."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_no_message_text_display_name_or_note_is_readable_in_any_file(tmp_path: Path) -> None:
    """The attacker holds a copy of the escrow server's data folder, taken while it runs."""
    from .messaging import card

    escrow = build(tmp_path / "data")
    with escrow.client:
        w = world(escrow, released=2)
        alice, bob = w.released
        secrets = {
            "message": "Xylophone-7 he cornered me in the stairwell on the ninth floor",
            "answer": "Quintessa-3 I can tell you my contact now",
            "name": "Zebulon Marchetti-Okafor",
            "note": "Wolfram-9 reporter sounded frightened; call back Thursday",
        }
        cids = [open_conversation(w, p) for p in (alice, bob)]
        for cid, person in zip(cids, (alice, bob), strict=True):
            assert w.client.post(f"{API}/conversations/{cid}/messages", headers=w.counselor,
                                 json=counselor_message(w, cid, person, secrets["message"])).status_code == 201
        assert w.client.post(f"{API}/conversations/{cids[0]}/messages", headers=alice.headers,
                             json=reporter_message(w, cids[0], alice, secrets["answer"])).status_code == 201
        iid, group = b64(os.urandom(16)), b64(os.urandom(16))
        assert w.client.post(f"{API}/matches/{w.match_id}/introductions", headers=w.counselor, json={
            "introduction_id": iid, "group_conversation_id": group, "conversation_ids": cids}).status_code == 201
        accepted = w.client.post(f"{API}/introductions/{iid}/accept", headers=alice.headers, json={
            "conversation_id": cids[0], "card": card(w, iid, cids[0], alice, secrets["name"])})
        assert accepted.status_code == 201
        note_written(w, secrets["note"])

        # the positive control: what was sent opens, so the texts were really in it
        page = read(w, cids[0], alice.headers).json()["messages"]
        assert opened_text(w, cids[0], page[0], alice.key.seed) == secrets["message"]
        root = escrow.settings.database_url.removeprefix("sqlite:///")
        folder = Path(root).parent
        files = data_files(folder)
        assert any(name.endswith("-wal") for name in files) or any(name.endswith(".db") for name in files)
        stored = b"".join(files.values())
        assert b64u_decode(page[0]["content"])[:64] in stored  # the ciphertext is there: the search can find things
        found = {k: [n for n, data in files.items() if v.encode() in data or v.encode("utf-16-le") in data]
                 for k, v in secrets.items()}
        assert all(not v for v in found.values()), f"readable in the data folder: {found}"
    escrow.db.dispose()


def note_written(w: World, text: str) -> None:
    """A sealed case note (PROTOCOL.md §13.5) through the cases endpoint."""
    from consilience.protocol import conversations as items
    from consilience.protocol.conversations import Kind

    cases = w.client.get(f"{API}/cases", headers=w.counselor)
    assert cases.status_code == 200, cases.text
    case_id = next(c["case_id"] for c in cases.json() if any(m["match_id"] == w.match_id for m in c["matches"]))
    note_id = os.urandom(16)
    sealed = items.seal_item(Kind.NOTE, b64u_decode(case_id), note_id, items.Note(text),
                             signer_seed=items.counselor_signing_seed(w.escrow.counselors[0].seed),
                             recipients=[c.public_key for c in w.escrow.counselors])
    answer = w.client.post(f"{API}/cases/{case_id}/notes", headers=w.counselor,
                           json={"note_id": b64(note_id), **sealed.to_json()})
    assert answer.status_code == 201, answer.text


def test_own_wrap_is_the_key_id_of_the_registered_messaging_key(escrow: Escrow) -> None:
    w = world(escrow, released=2)
    alice = w.released[0]
    cid = open_conversation(w, alice)
    w.client.post(f"{API}/conversations/{cid}/messages", headers=w.counselor,
                  json=counselor_message(w, cid, alice, "hi"))
    message = counselor_message(w, cid, alice, "hi")
    wraps = {w_["key_id"]: w_["wrap"] for w_ in message["wraps"]}
    assert b64(hpke.key_id(alice.key.hpke_public)) in wraps
    page = read(w, cid, alice.headers).json()["messages"]
    assert page[0]["wrap"] is not None
    # a reporter without a messaging key gets no wrap and cannot write (it could not read it back)
    with escrow.db.write() as session:
        account = session.get(Account, alice.reporter.account_id)
        assert account is not None
        account.message_key = None
    assert read(w, cid, alice.headers).json()["messages"][0]["wrap"] is None
    refused = w.client.post(f"{API}/conversations/{cid}/messages", headers=alice.headers,
                            json=reporter_message(w, cid, alice, "me"))
    assert refused.status_code == 409 and "message-key" in refused.json()["detail"]



def test_a_message_waits_for_one_being_written_in_its_conversation(any_escrow: Escrow) -> None:
    """The numbers of a conversation never shift: while one message is being stored (its transaction open),
    another in the same conversation waits, then gets the next number; a reader never sees a gap filled later."""
    import threading
    import time

    from consilience.storage import conversations as store
    from consilience.storage.repository import AccountInfo, utcnow

    escrow = any_escrow
    w = world(escrow, released=2)
    alice = w.released[0]
    cid = open_conversation(w, alice)
    caller = AccountInfo(alice.reporter.account_id, "reporter", None, None)
    first = reporter_message(w, cid, alice, "first")
    second = reporter_message(w, cid, alice, "second")
    answers: list[Any] = []
    with escrow.db.write() as session:
        stored = store.add_message(session, caller, b64u_decode(cid), b64u_decode(first["message_id"]),
                                   b64u_decode(first["content"]),
                                   [(b64u_decode(x["key_id"]), b64u_decode(x["wrap"])) for x in first["wraps"]],
                                   alice.key.key_id, utcnow())
        assert stored.seq == 1
        writer = threading.Thread(target=lambda: answers.append(
            w.client.post(f"{API}/conversations/{cid}/messages", headers=alice.headers, json=second)))
        writer.start()
        time.sleep(1.0)
        assert writer.is_alive() and not answers  # it waits for the first to commit
    writer.join(30)
    assert answers[0].status_code == 201 and answers[0].json()["seq"] == 2
    assert [m["seq"] for m in read(w, cid, alice.headers).json()["messages"]] == [1, 2]


def test_messages_sent_at_once_get_distinct_numbers_that_never_shift(any_escrow: Escrow) -> None:
    """Writers at the same time: each gets its own number, and a reader paging by number misses none."""
    from concurrent.futures import ThreadPoolExecutor

    escrow = any_escrow
    w = world(escrow, released=2)
    alice = w.released[0]
    cid = open_conversation(w, alice)
    bodies = [(w.counselor, counselor_message(w, cid, alice, f"c{i}")) if i % 2 else
              (alice.headers, reporter_message(w, cid, alice, f"r{i}")) for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda hb: w.client.post(f"{API}/conversations/{cid}/messages", headers=hb[0],
                                                         json=hb[1]), bodies))
    assert [a.status_code for a in answers] == [201] * 12
    assert sorted(a.json()["seq"] for a in answers) == list(range(1, 13))
    page = read(w, cid, w.counselor).json()["messages"]
    by_id = {a_body[1]["message_id"]: a.json()["seq"] for a, a_body in zip(answers, bodies, strict=True)}
    assert [m["seq"] for m in page] == list(range(1, 13))
    assert {m["message_id"]: m["seq"] for m in page} == by_id
