"""The two log endpoints disclosures and corroboration statements need (PROTOCOL.md §14.3).

``GET /v2/log/checkpoint?cosigned=1`` is the newest checkpoint a witness listed *now* cosigned (a newer,
uncosigned one is not it); ``GET /v2/log/inclusion`` hands anyone the path of a leaf by index, which
tells nothing without the leaf's opening, since leaves are commitments.
"""

from __future__ import annotations

import time
from dataclasses import replace

from consilience.clients import receipts
from consilience.crypto import signing
from consilience.protocol import events
from consilience.protocol.encoding import b64u_decode
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle
from consilience.tlog.receipt import parse_receipt

from .harness import API, Escrow

W1 = "witness.example/w1"


def test_the_newest_cosigned_checkpoint_and_inclusion_proofs_by_index(escrow: Escrow) -> None:
    key = signing.generate()
    escrow.publish(replace(escrow.deployment, serial=2, witnesses=(cp.cosignature_vkey(W1, signing.public_key(key)),)))
    reporter = escrow.reporter()
    first = escrow.submission(serial=2)
    answer = escrow.submit(reporter, first)
    assert answer.status_code == 201, answer.text
    assert escrow.client.get(f"{API}/log/checkpoint", params={"cosigned": 1}).status_code == 404

    note = escrow.client.get(f"{API}/log/checkpoint").text
    head = cp.parse_signed_checkpoint(note)[0]
    line = cp.cosignature_line(head.body(), W1, key, int(time.time()))
    assert escrow.client.post(f"{API}/log/cosignatures", json={"size": head.size, "cosignature": line}).status_code \
        == 201
    assert escrow.submit(reporter, escrow.submission(serial=2)).status_code == 201  # the log grows past it

    served = escrow.client.get(f"{API}/log/checkpoint", params={"cosigned": 1})
    assert served.status_code == 200
    opened = cp.open_checkpoint(served.text, escrow.deployment.log_vkey, witness_vkeys=escrow.deployment.witnesses)
    assert opened.checkpoint.size == head.size and [c.name for c in opened.cosignatures] == [W1]
    newest = cp.parse_signed_checkpoint(escrow.client.get(f"{API}/log/checkpoint").text)[0]
    assert newest.size > head.size

    # the first entry's leaf, proved by index against the newest tree, with the opening from its receipt
    receipt = parse_receipt(answer.json()["receipt"])
    assert receipt.extra is not None
    leaf = events.parse_opening(receipt.extra).leaf
    proof = escrow.client.get(f"{API}/log/inclusion", params={"index": receipt.index, "size": newest.size})
    assert proof.status_code == 200, proof.text
    assert proof.json()["index"] == receipt.index and proof.json()["size"] == newest.size
    merkle.verify_inclusion(merkle.leaf_hash(leaf), receipt.index, newest.size,
                            [b64u_decode(h) for h in proof.json()["proof"]], newest.root_hash)
    assert receipts.open_receipt(answer.json()["receipt"], escrow.deployment.log_vkey).event.kind == "entry"

    # once the witness is no longer listed, its old cosignature no longer counts
    escrow.publish(replace(escrow.deployment, serial=3, witnesses=()))
    assert escrow.client.get(f"{API}/log/checkpoint", params={"cosigned": 1}).status_code == 404


def test_inclusion_and_cosigned_refuse_what_they_cannot_answer(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    assert escrow.submit(reporter, escrow.submission()).status_code == 201
    size = cp.parse_signed_checkpoint(escrow.client.get(f"{API}/log/checkpoint").text)[0].size
    assert escrow.client.get(f"{API}/log/inclusion", params={"index": size, "size": size}).status_code == 400
    assert escrow.client.get(f"{API}/log/inclusion", params={"index": 0, "size": size + 1}).status_code == 400
    assert escrow.client.get(f"{API}/log/checkpoint", params={"cosigned": 1, "size": size}).status_code == 400
    assert escrow.client.get(f"{API}/log/checkpoint", params={"cosigned": 1}).status_code == 404
