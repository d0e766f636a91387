"""A listed witness that posts extra signature lines with its cosignature (issue 12, item 4).

The attack: a witness of the deployment hands in its valid cosignature together with lines
of its own making: under other names, forged under its own and the other witness's key, and
copies of its own line. Before the fix the escrow stored the posted text as it came, so the
served checkpoint grew past the 100 signatures a verifier accepts (``notes.MAX_SIGNATURES``,
as Go's ``sumdb/note``), and every receipt from then on was refused: the receipt endpoint
answered 400 and no client could verify a checkpoint. Now only the verified line is stored,
rebuilt from its parsed values, one per witness.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import replace

from consilience.clients import receipts
from consilience.crypto import signing
from consilience.protocol.encoding import b64u_decode
from consilience.tlog import checkpoint as cp
from consilience.tlog import notes

from .harness import API, Escrow

W1, W2 = "witness.example/w1", "witness.example/w2"


def _junk_line(name: str, key_id: bytes = b"") -> str:
    """The shortest signature line there is: a name and 5 bytes (a key ID and one byte)."""
    raw = (key_id or os.urandom(4)) + os.urandom(1)
    return notes.Signature(name, raw[:4], raw[4:]).line()


def _forged(name: str, key_id: bytes) -> str:
    """A well-formed cosignature line under a listed witness's name and key ID that does not verify."""
    return notes.Signature(name, key_id, int(time.time()).to_bytes(8, "big") + os.urandom(64)).line()


def _post(escrow: Escrow, size: int, text: str) -> int:
    return int(escrow.client.post(f"{API}/log/cosignatures", json={"size": size, "cosignature": text}).status_code)


def test_extra_lines_posted_with_a_cosignature_are_not_stored_or_served(escrow: Escrow) -> None:
    k1, k2 = signing.generate(), signing.generate()
    # one witness listed in the ordinary Ed25519 form, the other in the cosignature/v1 form
    vkeys = (notes.ed25519_vkey(W1, signing.public_key(k1)), cp.cosignature_vkey(W2, signing.public_key(k2)))
    escrow.publish(replace(escrow.deployment, serial=2, witnesses=vkeys))
    reporter = escrow.reporter()
    submission = escrow.submission(serial=2)
    assert escrow.submit(reporter, submission).status_code in (200, 201)
    note = escrow.client.get(f"{API}/log/checkpoint").text
    head = cp.parse_signed_checkpoint(note)[0]
    now = int(time.time())
    mine = cp.cosignature_line(head.body(), W1, k1, now)
    id1 = notes.key_id(W1, notes.SIG_COSIGNATURE_V1, signing.public_key(k1))
    id2 = notes.key_id(W2, notes.SIG_COSIGNATURE_V1, signing.public_key(k2))

    honest = cp.cosignature_line(head.body(), W2, k2, now)

    def served_and_verified() -> None:
        served = escrow.client.get(f"{API}/log/checkpoint").text
        lines = served.split("\n\n", 1)[1].splitlines()
        assert len(lines) == 3, f"{len(lines)} signature lines served"  # the log's and one per witness
        assert sorted(lines[1:]) == sorted([mine.rstrip("\n"), honest.rstrip("\n")])
        opened = cp.open_checkpoint(served, escrow.deployment.log_vkey, witness_vkeys=list(vkeys))
        assert sorted((c.name, c.timestamp) for c in opened.cosignatures) == [(W1, now), (W2, now)]
        answer = escrow.client.get(f"{API}/entries/{submission['entry_id']}/receipt", headers=reporter.headers)
        assert answer.status_code == 200, answer.text
        verified = receipts.open_receipt(answer.json()["receipt"], escrow.deployment.log_vkey, witness_vkeys=vkeys)
        assert verified.event.entry_id == b64u_decode(submission["entry_id"])
        assert sorted(c.name for c in verified.result.cosignatures) == [W1, W2]

    # 1. its line and 98 lines under names no verifier trusts: with the log's line, the 100 a note may carry
    others = [_junk_line(f"x{i}") for i in range(98)]
    assert _post(escrow, head.size, mine + "".join(others)) == 201
    assert _post(escrow, head.size, honest) == 201  # the other witness cosigns as it should
    served_and_verified()

    # 2. 52 more, each post with its valid line: forgeries under its own and the other witness's key,
    #    copies of its own line, an older valid line of its own, lines under both names with wrong key IDs
    older = cp.cosignature_line(head.body(), W1, k1, now - 60)
    mixed = ([_forged(W1, id1)] * 10 + [_forged(W2, id2)] * 10 + [mine] * 10 + [older]
             + [_junk_line(W2) for _ in range(10)] + [_junk_line(W1) for _ in range(11)])
    assert len(others) + len(mixed) == 150
    posts = [[mine]]
    for line in mixed:  # as many lines per post as the 2,000 characters of a submission allow
        if sum(map(len, posts[-1])) + len(line) > 2_000:
            posts.append([mine])
        posts[-1].append(line)
    for post in posts:
        assert _post(escrow, head.size, "".join(post)) == 201
    served_and_verified()


def test_a_post_without_a_valid_line_changes_nothing(escrow: Escrow) -> None:
    key = signing.generate()
    vkey = cp.cosignature_vkey(W1, signing.public_key(key))
    escrow.publish(replace(escrow.deployment, serial=2, witnesses=(vkey,)))
    escrow.submit(escrow.reporter(), escrow.submission(serial=2))
    note = escrow.client.get(f"{API}/log/checkpoint").text
    head = cp.parse_signed_checkpoint(note)[0]
    key_id = notes.key_id(W1, notes.SIG_COSIGNATURE_V1, signing.public_key(key))
    assert _post(escrow, head.size, _forged(W1, key_id) + _junk_line("x")) == 400
    assert _post(escrow, head.size, _junk_line("x") * 3) == 403
    assert _post(escrow, head.size, "not a signature line") == 400
    future = cp.cosignature_line(head.body(), W1, key, int(time.time()) + 3600)
    assert _post(escrow, head.size, future) == 400
    assert escrow.client.get(f"{API}/log/checkpoint").text == note
    # a line re-encoded with the same bytes but a different spelling is not a signature line
    raw = base64.b64decode(cp.cosignature_line(head.body(), W1, key, int(time.time())).split(" ")[2])
    assert _post(escrow, head.size, f"\u2014 {W1}  {base64.b64encode(raw).decode()}\n") == 400
    assert escrow.client.get(f"{API}/log/checkpoint").text == note
