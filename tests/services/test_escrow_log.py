"""The escrow server's transparency log: committed leaves, opened receipts, padded batches, proofs, cosignatures."""

from __future__ import annotations

import os
import time
from dataclasses import replace

import pytest

from consilience.clients import receipts
from consilience.crypto import signing
from consilience.errors import VerificationError
from consilience.protocol import events
from consilience.protocol.encoding import b64u_decode
from consilience.storage import log
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle
from consilience.tlog.receipt import Receipt, parse_receipt

from .harness import API, Escrow


def content_of(submission: dict) -> bytes:  # type: ignore[type-arg]
    return receipts.expected_content(submission)


def test_every_submission_gets_a_receipt_that_opens_its_own_leaf(any_escrow: Escrow) -> None:
    escrow = any_escrow
    a = escrow.reporter()
    submission = escrow.submission()
    answer = escrow.submit(a, submission).json()
    entry_id = b64u_decode(submission["entry_id"])
    result = receipts.check(answer["receipt"], escrow.deployment, entry_id, kind="entry",
                            content=content_of(submission))
    opened = receipts.open_receipt(answer["receipt"], escrow.deployment.log_vkey)
    assert opened.event.kind == "entry" and opened.event.entry_id == entry_id
    assert abs(opened.event.at.timestamp() - time.time()) < 60
    # the leaf is the commitment, not the event: 32 bytes that neither name the kind nor the entry
    assert result.leaf == opened.opening.leaf and len(result.leaf) == 32
    assert entry_id not in result.leaf and result.leaf != opening_bytes(opened)
    with escrow.db.read() as session:
        assert [leaf.data for leaf in log.leaves(session)] == [result.leaf]


def opening_bytes(opened: receipts.Opened) -> bytes:
    return opened.opening.encoded


def test_a_receipt_with_a_wrong_or_missing_opening_does_not_verify(escrow: Escrow) -> None:
    a = escrow.reporter()
    submission = escrow.submission()
    text = escrow.submit(a, submission).json()["receipt"]
    entry_id = b64u_decode(submission["entry_id"])
    parsed = parse_receipt(text)
    assert parsed.extra is not None
    opening = events.parse_opening(parsed.extra)
    other_event = events.entry_event(entry_id, os.urandom(32), opening_time(opening))
    tampered = {
        "other content, same nonce": replace(parsed, extra=opening.nonce + other_event).encode(),
        "other nonce": replace(parsed, extra=os.urandom(32) + opening.event).encode(),
        "no opening": replace(parsed, extra=None).encode(),
        "the bare commitment (v1 style)": replace(parsed, extra=opening.leaf).encode(),
    }
    for what, bad in tampered.items():
        with pytest.raises(VerificationError):
            receipts.check(bad, escrow.deployment, entry_id, kind="entry", content=content_of(submission))
            pytest.fail(f"a receipt with {what} verified")
    with pytest.raises(VerificationError, match="different content"):
        receipts.check(text, escrow.deployment, entry_id, kind="entry", content=os.urandom(32))
    with pytest.raises(VerificationError, match="another event"):
        receipts.check(text, escrow.deployment, entry_id, kind="withdrawal")


def opening_time(opening: events.Opening):  # type: ignore[no-untyped-def]
    return events.parse_event(opening.event).at


def test_retry_returns_a_receipt_for_the_same_leaf_and_adds_none(escrow: Escrow) -> None:
    a = escrow.reporter()
    submission = escrow.submission()
    first = escrow.submit(a, submission).json()
    leaves = escrow.counts()["log_leaves"]
    again = escrow.submit(a, submission)
    assert again.status_code == 200
    assert escrow.counts()["log_leaves"] == leaves
    assert parse_receipt(again.json()["receipt"]).index == parse_receipt(first["receipt"]).index
    assert parse_receipt(again.json()["receipt"]).extra == parse_receipt(first["receipt"]).extra


def test_releases_and_openings_are_logged_by_the_pass_in_padded_batches(escrow: Escrow) -> None:
    batch = escrow.settings.log_batch_size
    a, b, c = escrow.reporter(), escrow.reporter(), escrow.reporter()
    tag = os.urandom(32)
    escrow.submit(a, escrow.submission(tags=[tag]))
    lonely = escrow.submission()
    escrow.submit(c, lonely)
    withdrawn = escrow.client.delete(f"{API}/entries/{lonely['entry_id']}", headers=c.headers).json()
    receipts.check(withdrawn["receipt"], escrow.deployment, b64u_decode(lonely["entry_id"]), kind="withdrawal")
    escrow.submit(b, escrow.submission(tags=[tag]))
    assert escrow.counts()["log_leaves"] == 4  # nothing but the reporters' own events so far
    first = escrow.run_pass()
    assert first.appended == batch and first.logged == 1 and first.size == 4 + batch
    headers = escrow.counselor_headers(escrow.counselors[0])
    match_id = escrow.client.get(f"{API}/matches", headers=headers).json()[0]["match_id"]
    escrow.client.get(f"{API}/matches/{match_id}", headers=headers)
    assert escrow.counts()["log_leaves"] == 4 + batch  # the opening waits for the next pass
    second = escrow.run_pass()
    assert second.logged == 1 and second.size == 4 + 2 * batch
    idle = escrow.run_pass()
    assert idle.logged == 0 and idle.size == 4 + 3 * batch  # the same growth when nothing happened
    with escrow.db.read() as session:
        leaves = log.leaves(session)
    kinds = [events.parse_event(events.parse_opening(leaf.opening).event).kind for leaf in leaves]
    assert kinds[:4] == ["entry", "entry", "withdrawal", "entry"]
    assert sorted(kinds[4:4 + batch]) == sorted(["release"] + ["padding"] * (batch - 1))
    assert sorted(kinds[4 + batch:4 + 2 * batch]) == sorted(["opening"] + ["padding"] * (batch - 1))
    assert kinds[4 + 2 * batch:] == ["padding"] * batch
    for leaf in leaves:  # every stored opening opens its leaf; every leaf is 32 bytes
        assert events.parse_opening(leaf.opening).leaf == leaf.data and len(leaf.data) == 32


def test_more_events_than_a_batch_wait_for_the_next_pass(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .harness import build

    escrow = build(tmp_path / "data", log_batch_size=2)
    with escrow.client:
        tags = [os.urandom(32) for _ in range(3)]
        reporters = [escrow.reporter(), escrow.reporter()]
        for tag in tags:
            for reporter in reporters:
                escrow.submit(reporter, escrow.submission(tags=[tag]))
        size = escrow.counts()["log_leaves"]
        results = [escrow.run_pass() for _ in range(3)]
        assert [len(r.changes) for r in results] == [3, 0, 0]
        assert [r.logged for r in results] == [2, 1, 0]
        assert [r.size for r in results] == [size + 2, size + 4, size + 6]
    escrow.db.dispose()


def test_checkpoints_are_consistent_and_proofs_are_served(any_escrow: Escrow) -> None:
    escrow = any_escrow
    a = escrow.reporter()
    receipt_texts = [escrow.submit(a, escrow.submission()).json()["receipt"] for _ in range(5)]
    head = escrow.client.get(f"{API}/log/checkpoint")
    assert head.status_code == 200
    newest = cp.open_checkpoint(head.text, escrow.deployment.log_vkey).checkpoint
    assert newest.size == 5 and newest.origin == escrow.deployment.log_origin
    for text in receipt_texts:
        old = parse_receipt(text)
        old_size = cp.parse_signed_checkpoint(old.checkpoint)[0].size
        proof = escrow.client.get(f"{API}/log/consistency", params={"old": old_size, "new": 5}).json()["proof"]
        opened = receipts.open_receipt(text, escrow.deployment.log_vkey, against=head.text,
                                       consistency_proof=[b64u_decode(p) for p in proof])
        assert opened.result.against_size == 5
    # a tampered proof is caught
    proof = escrow.client.get(f"{API}/log/consistency", params={"old": 2, "new": 5}).json()["proof"]
    bad = [bytes(32)] + [b64u_decode(p) for p in proof[1:]]
    with pytest.raises(VerificationError):
        receipts.open_receipt(receipt_texts[1], escrow.deployment.log_vkey, against=head.text, consistency_proof=bad)
    assert escrow.client.get(f"{API}/log/consistency", params={"old": 3, "new": 9}).status_code == 400
    assert escrow.client.get(f"{API}/log/checkpoint", params={"size": 99}).status_code == 404


def test_own_receipt_endpoint_and_privacy(escrow: Escrow) -> None:
    a, b = escrow.reporter(), escrow.reporter()
    submission = escrow.submission()
    escrow.submit(a, submission)
    escrow.submit(b, escrow.submission())
    escrow.run_pass()
    mine = escrow.client.get(f"{API}/entries/{submission['entry_id']}/receipt", headers=a.headers)
    assert mine.status_code == 200
    opened = receipts.open_receipt(mine.json()["receipt"], escrow.deployment.log_vkey)
    assert opened.result.tree_size == 2 + escrow.settings.log_batch_size and opened.result.index == 0
    assert opened.event.entry_id == b64u_decode(submission["entry_id"])
    other = escrow.client.get(f"{API}/entries/{submission['entry_id']}/receipt", headers=b.headers)
    assert other.status_code == 404


def test_cosignatures_from_listed_witnesses_only(escrow: Escrow) -> None:
    witness_private = signing.generate()
    vkey = cp.cosignature_vkey("witness.example/w1", signing.public_key(witness_private))
    escrow.publish(replace(escrow.deployment, serial=2, witnesses=(vkey,)))
    a = escrow.reporter()
    escrow.submit(a, escrow.submission(serial=2))
    note = escrow.client.get(f"{API}/log/checkpoint").text
    body = cp.parse_signed_checkpoint(note)[0].body()
    line = cp.cosignature_line(body, "witness.example/w1", witness_private, int(time.time()))
    stranger = cp.cosignature_line(body, "witness.example/w1", signing.generate(), int(time.time()))
    assert escrow.client.post(f"{API}/log/cosignatures", json={"size": 1, "cosignature": stranger}).status_code \
        in (400, 403)
    assert escrow.client.post(f"{API}/log/cosignatures", json={"size": 1, "cosignature": line}).status_code == 201
    cosigned = escrow.client.get(f"{API}/log/checkpoint").text
    opened = cp.open_checkpoint(cosigned, escrow.deployment.log_vkey, witness_vkeys=[vkey])
    assert [c.name for c in opened.cosignatures] == ["witness.example/w1"]
    assert escrow.client.post(f"{API}/log/cosignatures", json={"size": 7, "cosignature": line}).status_code == 404


def test_log_root_matches_an_in_memory_tree(escrow: Escrow) -> None:
    a = escrow.reporter()
    for _ in range(7):
        escrow.submit(a, escrow.submission())
    escrow.run_pass()
    with escrow.db.read() as session:
        tree = merkle.MemoryTree()
        for leaf in log.leaves(session):
            tree.append(leaf.data)
    head = cp.open_checkpoint(escrow.client.get(f"{API}/log/checkpoint").text, escrow.deployment.log_vkey)
    assert head.checkpoint.root_hash == tree.root()
    assert head.checkpoint.size == len(tree) == 7 + escrow.settings.log_batch_size


def test_receipts_verify_offline_as_files(escrow: Escrow, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = escrow.reporter()
    submission = escrow.submission()
    text = escrow.submit(a, submission).json()["receipt"]
    path = receipts.save(tmp_path / "receipts", text, escrow.deployment, submission["entry_id"], "entry")
    key = receipts.LogKey.of(escrow.deployment)
    verified = receipts.verify_file(path, key)
    assert verified.event.kind == "entry" and verified.entry_id == submission["entry_id"]
    bare = Receipt(parse_receipt(text).index, parse_receipt(text).proof, parse_receipt(text).checkpoint, None)
    path.write_text(bare.encode())
    with pytest.raises(VerificationError, match="no opening"):
        receipts.verify_file(path, key)
