"""The escrow server's transparency log: receipts, checkpoints, proofs, cosignatures."""

from __future__ import annotations

import os
import time

import pytest

from consilience.crypto import signing
from consilience.errors import VerificationError
from consilience.protocol import events
from consilience.protocol.encoding import b64u_decode
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle
from consilience.tlog.receipt import parse_receipt, verify_receipt

from .harness import Escrow


def content_of(submission: dict) -> bytes:  # type: ignore[type-arg]
    return events.content_hash(
        submission["quorum"], [b64u_decode(t) for t in submission["tags"]], b64u_decode(submission["body"]),
        [(b64u_decode(e["key_id"]), b64u_decode(e["ciphertext"])) for e in submission["envelopes"]])


def test_every_submission_gets_a_receipt_for_its_own_commitment(any_escrow: Escrow) -> None:
    escrow = any_escrow
    a = escrow.reporter()
    submission = escrow.submission()
    answer = escrow.submit(a, submission).json()
    result = verify_receipt(answer["receipt"], escrow.deployment.log_vkey)
    event = events.parse_leaf(result.leaf)
    assert event.kind == "entry"
    assert event.entry_id == b64u_decode(submission["entry_id"])
    assert event.content_hash == content_of(submission)  # the reporter can recompute the leaf
    assert abs(event.at.timestamp() - time.time()) < 60


def test_retry_returns_a_receipt_for_the_same_leaf_and_adds_none(escrow: Escrow) -> None:
    a = escrow.reporter()
    submission = escrow.submission()
    first = escrow.submit(a, submission).json()
    leaves = escrow.counts()["log_leaves"]
    again = escrow.submit(a, submission)
    assert again.status_code == 200
    assert escrow.counts()["log_leaves"] == leaves
    assert parse_receipt(again.json()["receipt"]).index == parse_receipt(first["receipt"]).index


def test_release_withdrawal_and_opening_are_logged(escrow: Escrow) -> None:
    a, b, c = escrow.reporter(), escrow.reporter(), escrow.reporter()
    tag = os.urandom(32)
    escrow.submit(a, escrow.submission(tags=[tag]))
    lonely = escrow.submission()
    escrow.submit(c, lonely)
    withdrawn = escrow.client.delete(f"/v1/entries/{lonely['entry_id']}", headers=c.headers).json()
    assert events.parse_leaf(verify_receipt(withdrawn["receipt"], escrow.deployment.log_vkey).leaf).kind == \
        "withdrawal"
    escrow.submit(b, escrow.submission(tags=[tag]))
    headers = escrow.counselor_headers(escrow.counselors[0])
    match_id = escrow.client.get("/v1/matches", headers=headers).json()[0]["match_id"]
    escrow.client.get(f"/v1/matches/{match_id}", headers=headers)
    with escrow.db.read() as session:
        from consilience.storage.models import LogLeaf

        kinds = [events.parse_leaf(leaf.data).kind for leaf in session.query(LogLeaf).order_by(LogLeaf.idx)]
    assert kinds == ["entry", "entry", "withdrawal", "entry", "release", "opening"]


def test_checkpoints_are_consistent_and_proofs_are_served(any_escrow: Escrow) -> None:
    escrow = any_escrow
    a = escrow.reporter()
    receipts = [escrow.submit(a, escrow.submission()).json()["receipt"] for _ in range(5)]
    head = escrow.client.get("/v1/log/checkpoint")
    assert head.status_code == 200
    newest = cp.open_checkpoint(head.text, escrow.deployment.log_vkey).checkpoint
    assert newest.size == 5 and newest.origin == escrow.deployment.log_origin
    for text in receipts:
        old = parse_receipt(text)
        old_size = cp.parse_signed_checkpoint(old.checkpoint)[0].size
        proof = escrow.client.get("/v1/log/consistency", params={"old": old_size, "new": 5}).json()["proof"]
        result = verify_receipt(text, escrow.deployment.log_vkey, against=head.text,
                                consistency_proof=[b64u_decode(p) for p in proof])
        assert result.against_size == 5
    # a tampered proof is caught
    proof = escrow.client.get("/v1/log/consistency", params={"old": 2, "new": 5}).json()["proof"]
    bad = [bytes(32)] + [b64u_decode(p) for p in proof[1:]]
    with pytest.raises(VerificationError):
        verify_receipt(receipts[1], escrow.deployment.log_vkey, against=head.text, consistency_proof=bad)
    assert escrow.client.get("/v1/log/consistency", params={"old": 3, "new": 9}).status_code == 400
    assert escrow.client.get("/v1/log/checkpoint", params={"size": 99}).status_code == 404


def test_own_receipt_endpoint_and_privacy(escrow: Escrow) -> None:
    a, b = escrow.reporter(), escrow.reporter()
    submission = escrow.submission()
    escrow.submit(a, submission)
    escrow.submit(b, escrow.submission())
    mine = escrow.client.get(f"/v1/entries/{submission['entry_id']}/receipt", headers=a.headers)
    assert mine.status_code == 200
    result = verify_receipt(mine.json()["receipt"], escrow.deployment.log_vkey)
    assert result.tree_size == 2 and result.index == 0
    other = escrow.client.get(f"/v1/entries/{submission['entry_id']}/receipt", headers=b.headers)
    assert other.status_code == 404


def test_cosignatures_from_listed_witnesses_only(escrow: Escrow) -> None:
    from dataclasses import replace

    witness_private = signing.generate()
    vkey = cp.cosignature_vkey("witness.example/w1", signing.public_key(witness_private))
    escrow.publish(replace(escrow.deployment, serial=2, witnesses=(vkey,)))
    a = escrow.reporter()
    escrow.submit(a, escrow.submission(serial=2))
    note = escrow.client.get("/v1/log/checkpoint").text
    body = cp.parse_signed_checkpoint(note)[0].body()
    line = cp.cosignature_line(body, "witness.example/w1", witness_private, int(time.time()))
    stranger = cp.cosignature_line(body, "witness.example/w1", signing.generate(), int(time.time()))
    assert escrow.client.post("/v1/log/cosignatures", json={"size": 1, "cosignature": stranger}).status_code \
        in (400, 403)
    assert escrow.client.post("/v1/log/cosignatures", json={"size": 1, "cosignature": line}).status_code == 201
    cosigned = escrow.client.get("/v1/log/checkpoint").text
    opened = cp.open_checkpoint(cosigned, escrow.deployment.log_vkey, witness_vkeys=[vkey])
    assert [c.name for c in opened.cosignatures] == ["witness.example/w1"]
    assert escrow.client.post("/v1/log/cosignatures", json={"size": 7, "cosignature": line}).status_code == 404


def test_log_root_matches_an_in_memory_tree(escrow: Escrow) -> None:
    a = escrow.reporter()
    for _ in range(7):
        escrow.submit(a, escrow.submission())
    with escrow.db.read() as session:
        from consilience.storage.models import LogLeaf

        tree = merkle.MemoryTree()
        for leaf in session.query(LogLeaf).order_by(LogLeaf.idx):
            tree.append(leaf.data)
    head = cp.open_checkpoint(escrow.client.get("/v1/log/checkpoint").text, escrow.deployment.log_vkey)
    assert head.checkpoint.root_hash == tree.root()
    assert head.checkpoint.size == len(tree) == 7
