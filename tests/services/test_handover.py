"""Handover and revocation on the escrow server (PROTOCOL.md §13.6), as the counselors and an attacker run it.

A counselor still holding a key lists what is addressed to it and another counselor of the document
lacks (``GET /v2/handover/{key_id}``), and posts it back re-sealed (``POST``); the server stores it
only where the target still has none, and only for what the caller itself holds. The re-sealing
itself (HPKE with the counselor's key) is the client's: tests/e2e/test_handover_cli.py runs it over
real processes. Revoking a counselor deletes every envelope and wrap addressed to their key, in the
revocation's transaction; the database files are searched for them afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consilience.clients import handover
from consilience.clients.counselor import CounselorKeys as DeviceKeys
from consilience.crypto import hpke
from consilience.datadir import DataDir
from consilience.errors import DecryptionError
from consilience.operator import revocations as operator_revocations
from consilience.operator.counselors import add_counselor
from consilience.operator.deployment import load_deployment
from consilience.operator.invites import issue_invites
from consilience.protocol import conversations, invites
from consilience.protocol.deployment import Counselor
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import envelope_info
from consilience.protocol.messages import HandoverPage
from consilience.services.escrow import create_app as create_escrow
from consilience.services.escrow import handover as handover_service
from consilience.services.escrow import releases
from consilience.services.escrow.settings import Settings as EscrowSettings
from consilience.storage import cases
from consilience.storage.models import EntryEnvelope, Match, SealedWrap
from consilience.storage.repository import utcnow
from keyserver_world import PASSPHRASE, make_deployment, run_keygen
from v2_world import CounselorKeys, make_counselor

from .harness import API, Escrow, b64, newer, registration


def only(escrow: Escrow, *counselors: CounselorKeys) -> None:
    """Publish a document listing exactly these counselors, as ``admin counselor add``/``revoke`` leave it."""
    escrow.publish(newer(escrow.deployment, counselors=tuple(Counselor(c.name, c.key_id, c.public_key)
                                                             for c in counselors)))


def sealed_to(escrow: Escrow, *counselors: CounselorKeys, tags: list[bytes] | None = None) -> dict[str, Any]:
    """An entry submitted while the document lists exactly ``counselors``."""
    submission = escrow.submission(key_ids=[c.key_id for c in counselors], tags=tags)
    assert escrow.submit(escrow.reporter(), submission).status_code == 201
    return submission


def envelope_of(submission: dict[str, Any], counselor: CounselorKeys) -> str:
    [found] = [e["ciphertext"] for e in submission["envelopes"] if e["key_id"] == b64(counselor.key_id)]
    return str(found)


def stored_envelopes(escrow: Escrow, key_id: bytes) -> dict[str, bytes]:
    with escrow.db.read() as session:
        return {b64(e): c for e, c in session.execute(
            select(EntryEnvelope.entry_id, EntryEnvelope.ciphertext).where(EntryEnvelope.key_id == key_id))}


@pytest.fixture
def three(escrow: Escrow) -> tuple[CounselorKeys, CounselorKeys, CounselorKeys]:
    """Ana and bo of the harness, and Cy, a counselor the administrator adds later."""
    ana, bo = escrow.counselors
    return ana, bo, make_counselor("Cy Counselor")


def test_a_counselor_hands_over_exactly_what_the_new_counselor_lacks(escrow: Escrow, three: Any) -> None:
    ana, bo, cy = three
    before = [sealed_to(escrow, ana, bo) for _ in range(3)]
    only(escrow, ana, bo, cy)
    later = sealed_to(escrow, ana, bo, cy)  # escrowed after Cy was added: Cy has its envelope already
    escrow.counselor_credential(cy)
    ana_headers = escrow.counselor_headers(ana)

    page = escrow.client.get(f"{API}/handover/{b64(cy.key_id)}", headers=ana_headers)
    assert page.status_code == 200, page.text
    doc = page.json()
    assert doc["next_after"] is None and doc["wraps"] == []
    listed = {e["entry_id"]: e["envelope"] for e in doc["envelopes"]}
    assert set(listed) == {s["entry_id"] for s in before} and later["entry_id"] not in listed
    assert all(listed[s["entry_id"]] == envelope_of(s, ana) for s in before)  # Ana's own envelope, to re-seal

    resealed = {e: os.urandom(1500) for e in listed}
    body = {"envelopes": [{"entry_id": e, "ciphertext": b64(c)} for e, c in resealed.items()]}
    stored = escrow.client.post(f"{API}/handover/{b64(cy.key_id)}", headers=ana_headers, json=body)
    assert stored.status_code == 200 and stored.json() == {"stored": 3}
    assert {e: c for e, c in stored_envelopes(escrow, cy.key_id).items() if e in resealed} == resealed
    # bo, handing over the same entries afterwards, finds nothing left and stores nothing
    bo_headers = escrow.counselor_headers(bo)
    assert escrow.client.get(f"{API}/handover/{b64(cy.key_id)}", headers=bo_headers).json()["envelopes"] == []
    again = {"envelopes": [{"entry_id": e, "ciphertext": b64(os.urandom(1500))} for e in resealed]}
    assert escrow.client.post(f"{API}/handover/{b64(cy.key_id)}", headers=bo_headers, json=again).json() == \
        {"stored": 0}
    assert {e: c for e, c in stored_envelopes(escrow, cy.key_id).items() if e in resealed} == resealed


def test_withdrawn_entries_and_entries_the_caller_cannot_read_are_not_handed_over(escrow: Escrow,
                                                                                    three: Any) -> None:
    ana, bo, cy = three
    only(escrow, bo)
    bo_only = sealed_to(escrow, bo)  # escrowed while only bo was listed: Ana holds nothing of it
    only(escrow, ana, bo)
    reporter = escrow.reporter()
    withdrawn = escrow.submission(key_ids=[ana.key_id, bo.key_id])
    escrow.submit(reporter, withdrawn)
    assert escrow.client.delete(f"{API}/entries/{withdrawn['entry_id']}", headers=reporter.headers).status_code == 200
    only(escrow, ana, bo, cy)
    ana_headers = escrow.counselor_headers(ana)
    listed = escrow.client.get(f"{API}/handover/{b64(cy.key_id)}", headers=ana_headers).json()
    assert listed["envelopes"] == []
    # posting them anyway stores nothing: Ana holds no envelope of either
    forged = {"envelopes": [{"entry_id": s["entry_id"], "ciphertext": b64(os.urandom(900))}
                            for s in (bo_only, withdrawn)]}
    answer = escrow.client.post(f"{API}/handover/{b64(cy.key_id)}", headers=ana_headers, json=forged)
    assert answer.status_code == 200 and answer.json() == {"stored": 0}
    assert stored_envelopes(escrow, cy.key_id) == {}


def test_only_a_counselor_hands_over_and_only_to_another_counselor_of_the_document(escrow: Escrow,
                                                                                    three: Any) -> None:
    ana, bo, cy = three
    sealed_to(escrow, ana, bo)
    ana_headers = escrow.counselor_headers(ana)
    reporter = escrow.reporter()
    before = escrow.counts()
    target = f"{API}/handover/{b64(bo.key_id)}"
    assert escrow.client.get(target, headers=reporter.headers).status_code == 403
    assert escrow.client.post(target, headers=reporter.headers, json={"envelopes": []}).status_code == 403
    assert escrow.client.get(target).status_code == 401
    not_listed = escrow.client.get(f"{API}/handover/{b64(cy.key_id)}", headers=ana_headers)
    unknown = escrow.client.get(f"{API}/handover/{b64(os.urandom(16))}", headers=ana_headers)
    assert not_listed.status_code == unknown.status_code == 404 and not_listed.json() == unknown.json()
    assert escrow.client.post(f"{API}/handover/{b64(cy.key_id)}", headers=ana_headers,
                              json={"envelopes": []}).status_code == 404
    assert escrow.client.get(f"{API}/handover/{b64(ana.key_id)}", headers=ana_headers).status_code == 422
    assert escrow.client.get(f"{target}?after=nonsense", headers=ana_headers).status_code == 400
    twice = {"envelopes": [{"entry_id": b64(os.urandom(16)), "ciphertext": b64(b"x" * 100)}] * 2}
    assert escrow.client.post(target, headers=ana_headers, json=twice).status_code == 422
    assert escrow.counts() == before


def test_pages_follow_each_other_without_skipping_envelopes_or_wraps(escrow: Escrow, three: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ana, bo, cy = three
    monkeypatch.setattr(handover_service, "HANDOVER_PAGE", 2)
    tag = os.urandom(32)
    entries = [sealed_to(escrow, ana, bo, tags=[tag]) for _ in range(3)]
    escrow.run_pass()
    [match] = escrow.client.get(f"{API}/matches", headers=escrow.counselor_headers(ana)).json()
    with escrow.db.write() as session:  # three notes sealed while Ana and bo were the counselors
        case = cases.case_of_match(session, b64u_decode(match["match_id"]), utcnow())
        account = cases.counselor_account_by_key(session, ana.key_id).account_id
        notes = [os.urandom(16) for _ in range(3)]
        for note_id in notes:
            cases.add_note(session, case.case_id, note_id, account, os.urandom(200),
                           [(ana.key_id, os.urandom(1168)), (bo.key_id, os.urandom(1168))], utcnow())
        case_id = case.case_id
    only(escrow, ana, bo, cy)
    headers = escrow.counselor_headers(ana)
    seen_envelopes: list[str] = []
    seen_wraps: list[dict[str, Any]] = []
    after, pages = "", 0
    while True:
        page = escrow.client.get(f"{API}/handover/{b64(cy.key_id)}" + (f"?after={after}" if after else ""),
                                 headers=headers).json()
        pages += 1
        assert len(page["envelopes"]) + len(page["wraps"]) <= 2
        seen_envelopes += [e["entry_id"] for e in page["envelopes"]]
        seen_wraps += page["wraps"]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert pages == 3
    assert sorted(seen_envelopes) == sorted(s["entry_id"] for s in entries)
    assert sorted(w["item_id"] for w in seen_wraps) == sorted(b64(n) for n in notes)
    assert all(w["kind"] == 3 and w["scope"] == b64(case_id) for w in seen_wraps)
    # re-wrapped, they are stored for Cy (only where Cy had none)
    body = {"wraps": [{"kind": 3, "item_id": w["item_id"], "wrap": b64(os.urandom(1168))} for w in seen_wraps]}
    assert escrow.client.post(f"{API}/handover/{b64(cy.key_id)}", headers=headers, json=body).json() == \
        {"stored": 3}
    with escrow.db.read() as session:
        assert len(session.scalars(select(SealedWrap).where(SealedWrap.key_id == cy.key_id)).all()) == 3
    assert escrow.client.get(f"{API}/handover/{b64(cy.key_id)}", headers=headers).json()["wraps"] == []


# -- revocation deletes what was addressed to the counselor ---------------------------------------------------


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[tuple[Path, TestClient]]:
    """A deployment from ``admin init`` with its key generation, and its escrow server (in process)."""
    folder = make_deployment(tmp_path / "data")
    run_keygen(folder)
    escrow = TestClient(create_escrow(EscrowSettings.for_data_dir(folder.data.escrow.root), release_pass=False))
    with escrow:
        yield folder.root, escrow


def reporter_headers(root: Path, escrow: TestClient) -> dict[str, str]:
    seed = invites.parse(issue_invites(root, PASSPHRASE, 1)[0]).seed
    answer = escrow.post(f"{API}/register", json=registration(seed, load_deployment(root).deployment_id))
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_revoking_a_counselor_deletes_every_envelope_and_wrap_addressed_to_them(deployed: Any) -> None:
    root, escrow = deployed
    keys = [make_counselor(name) for name in ("Dee Counselor", "Eli Counselor")]
    for k in keys:
        add_counselor(root, {"name": k.name, "public_key": b64u_encode(k.public_key)}, PASSPHRASE)
    dee, eli = keys
    tag = os.urandom(32)
    envelopes: dict[bytes, list[bytes]] = {dee.key_id: [], eli.key_id: []}
    for _ in range(2):
        ciphertexts = {k.key_id: os.urandom(700) for k in keys}
        sent = escrow.post(f"{API}/entries", headers=reporter_headers(root, escrow), json={
            "entry_id": b64(os.urandom(16)), "quorum": 2, "tags": [b64(tag)], "body": b64(os.urandom(300)),
            "deployment_serial": load_deployment(root).serial,
            "envelopes": [{"key_id": b64(k), "ciphertext": b64(c)} for k, c in ciphertexts.items()]})
        assert sent.status_code == 201, sent.text
        for k, c in ciphertexts.items():
            envelopes[k].append(c)
    state = escrow.app.state.escrow  # type: ignore[attr-defined]
    releases.run_pass(state)
    wraps = {dee.key_id: os.urandom(1168), eli.key_id: os.urandom(1168)}
    with state.db.write() as session:
        match = session.scalars(select(Match)).one()
        case = cases.case_of_match(session, match.match_id, utcnow())
        cases.add_note(session, case.case_id, os.urandom(16), cases.counselor_account_by_key(session, eli.key_id)
                       .account_id, os.urandom(300), list(wraps.items()), utcnow())

    database = DataDir(root).escrow.database

    def files() -> list[bytes]:
        return [p.read_bytes() for p in database.parent.glob(database.name + "*")]

    assert all(any(c in data for data in files()) for c in [*envelopes[dee.key_id], wraps[dee.key_id]])  # control
    done = operator_revocations.revoke_counselor(root, dee.name, PASSPHRASE)
    assert (done.envelopes_deleted, done.wraps_deleted) == (2, 1)
    with state.db.read() as session:
        assert session.scalars(select(EntryEnvelope).where(EntryEnvelope.key_id == dee.key_id)).all() == []
        assert session.scalars(select(SealedWrap).where(SealedWrap.key_id == dee.key_id)).all() == []
        assert len(session.scalars(select(EntryEnvelope).where(EntryEnvelope.key_id == eli.key_id)).all()) == 2
    # searched for byte by byte in every file of the escrow's database: Dee's are gone, Eli's are there
    for ciphertext in [*envelopes[dee.key_id], wraps[dee.key_id]]:
        assert not any(ciphertext in data for data in files())
    assert any(envelopes[eli.key_id][0] in data for data in files())


def test_a_revoked_counselor_no_longer_lists_among_handover_targets(deployed: Any) -> None:
    root, escrow = deployed
    keys = [make_counselor(name) for name in ("Fay Counselor", "Gus Counselor")]
    credentials = [add_counselor(root, {"name": k.name, "public_key": b64u_encode(k.public_key)}, PASSPHRASE)[1]
                   for k in keys]
    fay, gus = keys
    login = escrow.post(f"{API}/login/counselor", headers={"Authorization": f"Bearer {b64(credentials[0])}"})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    assert escrow.get(f"{API}/handover/{b64(gus.key_id)}", headers=headers).status_code == 200
    operator_revocations.revoke_counselor(root, gus.name, PASSPHRASE)
    assert escrow.get(f"{API}/handover/{b64(gus.key_id)}", headers=headers).status_code == 404
    del fay


def test_what_the_counselors_client_seals_again_opens_for_the_new_counselor_and_says_the_same(escrow: Escrow,
                                                                                               three: Any) -> None:
    """The client's half (``clients/handover.py``) on what the server handed out: a real envelope and a real
    note, sealed while only Ana and bo were listed, open for Cy afterwards, byte for byte the same."""
    ana, bo, cy = three
    entry_id, tag, plaintext = os.urandom(16), os.urandom(32), os.urandom(900)
    submission = escrow.submission(entry_id=entry_id, tags=[tag])
    submission["envelopes"] = [{"key_id": b64(c.key_id), "ciphertext": b64(hpke.seal(c.public_key, plaintext,
                                                                                       envelope_info(entry_id,
                                                                                                     c.key_id)))}
                               for c in (ana, bo)]
    assert escrow.submit(escrow.reporter(), submission).status_code == 201
    assert escrow.submit(escrow.reporter(), escrow.submission(tags=[tag])).status_code == 201
    escrow.run_pass()
    [match] = escrow.client.get(f"{API}/matches", headers=escrow.counselor_headers(ana)).json()
    note_id = os.urandom(16)
    with escrow.db.write() as session:
        case = cases.case_of_match(session, b64u_decode(match["match_id"]), utcnow())
        sealed = conversations.seal_item(conversations.Kind.NOTE, case.case_id, note_id,
                                         conversations.Note("Called back on Tuesday."),
                                         signer_seed=conversations.counselor_signing_seed(ana.seed),
                                         recipients=[ana.public_key, bo.public_key])
        cases.add_note(session, case.case_id, note_id, cases.counselor_account_by_key(session, ana.key_id).account_id,
                       sealed.content, list(sealed.wraps.items()), utcnow())
        case_id = case.case_id
    only(escrow, ana, bo, cy)
    escrow.counselor_credential(cy)
    headers = escrow.counselor_headers(ana)
    page = HandoverPage.model_validate(escrow.client.get(f"{API}/handover/{b64(cy.key_id)}", headers=headers).json())
    target = Counselor(cy.name, cy.key_id, cy.public_key)
    resealed, unreadable = handover.reseal(page, DeviceKeys(name=ana.name, seed=ana.seed), target)
    assert unreadable == 1 and len(resealed.envelopes) == 1 and len(resealed.wraps) == 1  # the random envelope
    stored = escrow.client.post(f"{API}/handover/{b64(cy.key_id)}", headers=headers,
                                json=resealed.model_dump(mode="json"))
    assert stored.json() == {"stored": 2}

    mine = stored_envelopes(escrow, cy.key_id)[b64(entry_id)]
    assert hpke.open(cy.seed, mine, envelope_info(entry_id, cy.key_id)) == plaintext
    with pytest.raises(DecryptionError):  # sealed to Cy's key for this entry only
        hpke.open(cy.seed, mine, envelope_info(os.urandom(16), cy.key_id))
    with escrow.db.read() as session:
        wrap = session.scalars(select(SealedWrap.wrap).where(SealedWrap.key_id == cy.key_id,
                                                             SealedWrap.item_id == note_id)).one()
    opened = conversations.open_item(conversations.Kind.NOTE, case_id, note_id, sealed.content, wrap, cy.seed)
    assert opened.payload == conversations.Note("Called back on Tuesday.")
    assert opened.sender == conversations.counselor_signing_key(ana.seed)  # still Ana's note, signed by her
