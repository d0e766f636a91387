"""Corroboration statements over the HTTP API (PROTOCOL.md §14.4): ask, consent, assemble, verify.

Reporters consent with their account seed, as the client does; every attack is a real request with a
real token of the wrong account. A reporter who is not in a conversation about the match must see
nothing that differs from an account nobody asked (property (e)), and a refused request changes no row.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import func, select

from consilience.protocol import corroboration as co
from consilience.protocol import deployment as deployment_doc
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.storage import log
from consilience.storage.models import CorroborationConsent, CorroborationRow

from .harness import API, Escrow, b64
from .messaging import Messenger, World, open_conversation, world


def corroboration_rows(escrow: Escrow) -> tuple[int, int, int]:
    with escrow.db.read() as session:
        consents = session.scalar(select(func.count()).select_from(CorroborationConsent)
                                  .where(CorroborationConsent.consent.is_not(None)))
        return (session.scalar(select(func.count()).select_from(CorroborationRow)) or 0,
                session.scalar(select(func.count()).select_from(CorroborationConsent)) or 0, consents or 0)


def ask(w: World, statement_id: str | None = None) -> Any:
    return w.client.post(f"{API}/matches/{w.match_id}/corroborations", headers=w.counselor,
                         json={"statement_id": statement_id or b64(os.urandom(16))})


def requests_of(w: World, person: Messenger) -> Any:
    return w.client.get(f"{API}/corroborations", headers=person.headers)


def consent_of(w: World, request: dict[str, Any], seed: bytes) -> str:
    """The consent a reporter's client signs for ``request`` with ``seed`` (its account seed)."""
    return b64(co.sign_consent(seed, w.escrow.deployment.deployment_id, b64u_decode(request["statement_id"]),
                               b64u_decode(request["match_id"]), b64u_decode(request["entry_id"]),
                               b64u_decode(request["content_hash"]), request["leaf_index"]))


def consent(w: World, person: Messenger, request: dict[str, Any], seed: bytes | None = None) -> Any:
    return w.client.post(f"{API}/corroborations/{request['statement_id']}/consent", headers=person.headers,
                         json={"entry_id": request["entry_id"],
                               "consent": consent_of(w, request, seed or person.reporter.seed)})


def assemble(escrow: Escrow, detail: dict[str, Any]) -> dict[str, Any]:
    """What the counselor's client makes of the answer: proofs from the log against its newest checkpoint."""
    with escrow.db.read() as session:
        size, note = log.latest_checkpoint(session) or (0, "")

        def proof(index: int) -> list[str]:
            return [b64u_encode(h) for h in log.inclusion_proof(session, index, size)]

        release = {**detail["release"], "proof": proof(detail["release"]["leaf_index"])}
        entries = [{**e, "proof": proof(e["leaf_index"])} for e in detail["entries"]]
    published = deployment_doc.sign(escrow.deployment, escrow.admin_private)
    return co.make_statement(statement_id=b64u_decode(detail["statement_id"]),
                             match_id=b64u_decode(detail["match_id"]), tag=b64u_decode(detail["tag"]),
                             made_at="2026-12-01T12:00:00+00:00", published=published, checkpoint=note,
                             release=release, entries=entries)


def test_a_counselor_asks_reporters_consent_and_the_statement_verifies(any_escrow: Escrow) -> None:
    escrow = any_escrow
    w = world(escrow)
    for person in w.released:
        open_conversation(w, person)
    statement_id = b64(os.urandom(16))
    asked = ask(w, statement_id)
    assert asked.status_code == 201, asked.text
    assert (asked.json()["asked"], asked.json()["consented"]) == (3, 0)
    assert ask(w, statement_id).status_code == 200  # a retry asks nobody again
    assert corroboration_rows(escrow) == (1, 3, 0)

    for person in w.released:
        [request] = requests_of(w, person).json()
        assert (request["statement_id"], request["entry_id"], request["match_id"]) == (
            statement_id, person.entry_id, w.match_id)
        # the leaf and content named are the ones of the reporter's own receipt
        receipt = w.client.get(f"{API}/entries/{person.entry_id}/receipt", headers=person.headers).json()
        assert f"index {request['leaf_index']}\n" in receipt["receipt"]
        given = consent(w, person, request)
        assert given.status_code == 201, given.text
        assert given.json()["consented_at"] is not None
        assert consent(w, person, request).status_code == 200
    assert corroboration_rows(escrow) == (1, 3, 3)

    listed = w.client.get(f"{API}/matches/{w.match_id}/corroborations", headers=w.counselor).json()
    assert [(s["statement_id"], s["asked"], s["consented"]) for s in listed] == [(statement_id, 3, 3)]
    detail = w.client.get(f"{API}/matches/{w.match_id}/corroborations/{statement_id}", headers=w.counselor)
    assert detail.status_code == 200, detail.text
    doc = detail.json()
    assert doc["changed"] == 0 and sorted(e["entry_id"] for e in doc["entries"]) == sorted(
        p.entry_id for p in w.released)
    check = co.verify(assemble(escrow, doc))
    assert check.k == 3 and check.match_id == b64u_decode(w.match_id) and check.tag == w.tag
    assert check.released == 3

    # an entry edited since its reporter consented is not handed out: its consent names a leaf no longer its own
    edited = w.released[0]
    again = escrow.submission(tags=[w.tag], quorum=2, entry_id=b64u_decode(edited.entry_id))
    assert w.client.put(f"{API}/entries/{edited.entry_id}", json=again, headers=edited.headers).status_code == 200
    doc = w.client.get(f"{API}/matches/{w.match_id}/corroborations/{statement_id}", headers=w.counselor).json()
    assert doc["changed"] == 1 and len(doc["entries"]) == 2
    assert co.verify(assemble(escrow, doc)).k == 2


def test_a_consent_by_another_account_is_refused(any_escrow: Escrow) -> None:
    escrow = any_escrow
    w = world(escrow)
    for person in w.released:
        open_conversation(w, person)
    assert ask(w).status_code == 201
    alice, bob = w.released[0], w.released[1]
    [alices] = requests_of(w, alice).json()
    before = corroboration_rows(escrow)

    # bob signs alice's request with his own key and sends it with his token: not his request
    as_bob = consent(w, bob, alices, bob.reporter.seed)
    nothing = consent(w, bob, {**alices, "statement_id": b64(os.urandom(16))}, bob.reporter.seed)
    assert as_bob.status_code == nothing.status_code == 404
    assert as_bob.content == nothing.content  # the same bytes as for a request that does not exist
    # alice's token, bob's signature: it does not verify under alice's certified key
    signed_by_bob = consent(w, alice, alices, bob.reporter.seed)
    assert signed_by_bob.status_code == 400 and "not signed by this account's key" in signed_by_bob.json()["detail"]
    # alice's key, but over another leaf than the one asked for
    moved = w.client.post(f"{API}/corroborations/{alices['statement_id']}/consent", headers=alice.headers,
                          json={"entry_id": alices["entry_id"],
                                "consent": consent_of(w, {**alices, "leaf_index": alices["leaf_index"] + 1},
                                                      alice.reporter.seed)})
    assert moved.status_code == 400
    # a counselor's token is not a reporter's
    assert w.client.get(f"{API}/corroborations", headers=w.counselor).status_code == 403
    assert corroboration_rows(escrow) == before


def test_reporters_without_a_conversation_see_nothing(escrow: Escrow) -> None:
    w = world(escrow)
    talked = w.released[:2]
    for person in talked:
        open_conversation(w, person)
    statement_id = b64(os.urandom(16))
    assert ask(w, statement_id).json()["asked"] == 2
    nobody = Messenger(escrow.reporter(), w.waiting.key)  # an account that has nothing to do with any match
    empty = requests_of(w, nobody)
    silent, unreleased = w.released[2], w.waiting
    for person in (silent, unreleased):
        answer = requests_of(w, person)
        assert answer.status_code == 200 and answer.content == empty.content == b"[]"
        # their own entry and the real statement id: the same bytes as a statement that does not exist
        guess = {"statement_id": statement_id, "match_id": w.match_id, "entry_id": person.entry_id,
                 "content_hash": b64(os.urandom(32)), "leaf_index": 0}
        tried = consent(w, person, guess)
        invented = consent(w, person, {**guess, "statement_id": b64(os.urandom(16))})
        assert tried.status_code == invented.status_code == 404 and tried.content == invented.content
    assert corroboration_rows(escrow) == (1, 2, 0)


def test_a_request_that_cannot_make_a_statement_changes_nothing(escrow: Escrow) -> None:
    w = world(escrow)
    open_conversation(w, w.released[0])
    refused = ask(w)
    assert refused.status_code == 409 and "at least two reporters" in refused.json()["detail"]
    assert w.client.post(f"{API}/matches/{b64(os.urandom(16))}/corroborations", headers=w.counselor,
                         json={"statement_id": b64(os.urandom(16))}).status_code == 404
    reporter = w.released[0]
    as_reporter = w.client.post(f"{API}/matches/{w.match_id}/corroborations", headers=reporter.headers,
                                json={"statement_id": b64(os.urandom(16))})
    assert as_reporter.status_code == 403
    assert corroboration_rows(escrow) == (0, 0, 0)

    # an id used for one match is not used for another
    open_conversation(w, w.released[1])
    statement_id = b64(os.urandom(16))
    assert ask(w, statement_id).status_code == 201
    other = world(escrow, released=2)
    for person in other.released:
        open_conversation(other, person)
    assert ask(other, statement_id).status_code == 409
    assert corroboration_rows(escrow) == (1, 2, 0)


def test_an_entry_changed_after_the_request_cannot_be_consented(escrow: Escrow) -> None:
    w = world(escrow)
    for person in w.released:
        open_conversation(w, person)
    assert ask(w).status_code == 201
    person = w.released[1]
    [request] = requests_of(w, person).json()
    changed = escrow.submission(tags=[w.tag], quorum=2, entry_id=b64u_decode(person.entry_id))
    assert w.client.put(f"{API}/entries/{person.entry_id}", json=changed, headers=person.headers).status_code == 200
    answer = consent(w, person, request)
    assert answer.status_code == 409 and "changed or withdrawn" in answer.json()["detail"]
    assert corroboration_rows(escrow)[2] == 0


def test_deleting_an_account_takes_its_consents_away(escrow: Escrow) -> None:
    """A consent is the person's signature: "Delete my account" (§14.2) leaves none of theirs behind."""
    w = world(escrow)
    for person in w.released:
        open_conversation(w, person)
    assert ask(w).status_code == 201
    for person in w.released:
        [request] = requests_of(w, person).json()
        assert consent(w, person, request).status_code == 201
    assert corroboration_rows(escrow) == (1, 3, 3)

    leaving = w.released[0]
    assert w.client.delete(f"{API}/account", headers=leaving.headers).status_code == 200
    assert corroboration_rows(escrow) == (1, 2, 2)
    with escrow.db.read() as session:
        signatures = session.scalars(select(CorroborationConsent.consent)).all()
    assert consent_of(w, requests_of(w, w.released[1]).json()[0], w.released[1].reporter.seed) in {
        b64(s) for s in signatures if s is not None}
