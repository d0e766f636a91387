"""Receipts (C2SP tlog-proof@v1): format conformance, round trips, and tampering.

The expected encodings in test_encoding_matches_transparency_dev_formats are
the cases of github.com/transparency-dev/formats proof/tlog_proof_test.go
(TestMarshal, commit 1a07eea5c85e02a7b2b69b7c1638f6c139184645), rebuilt here
from the same inputs; the C2SP spec has no complete vector (its example
elides the signatures).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest

from consilience.crypto import signing
from consilience.errors import ConsilienceError, InvalidInput, VerificationError
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle, notes
from consilience.tlog import receipt as rc
from consilience.tlog.checkpoint import Checkpoint
from consilience.tlog.receipt import Receipt

ORIGIN = "consilience.example/log"
LOG_KEY = signing.generate()
LOG_VKEY = notes.ed25519_vkey(ORIGIN, signing.public_key(LOG_KEY))
WITNESS_KEYS = [signing.generate() for _ in range(3)]
WITNESS_VKEYS = [cp.cosignature_vkey(f"w{i}.example", signing.public_key(k)) for i, k in enumerate(WITNESS_KEYS)]
TIMES = [1_700_000_300, 1_700_000_100, 1_700_000_200]


def leaf_data(i: int) -> bytes:
    return hashlib.sha256(b"entry commitment %d" % i).digest()


TREE = merkle.MemoryTree()
for _i in range(40):
    TREE.append(leaf_data(_i))


def signed_checkpoint(size: int, *, witnesses: int = 0, key: bytes = LOG_KEY, origin: str = ORIGIN) -> str:
    note = cp.sign_checkpoint(Checkpoint(origin, size, TREE.root(size)), key)
    for i in range(witnesses):
        note = cp.cosign(note, f"w{i}.example", WITNESS_KEYS[i], TIMES[i])
    return note


SIZE, INDEX = 21, 13
CHECKPOINT = signed_checkpoint(SIZE, witnesses=3)
RECEIPT = rc.issue_receipt(TREE, index=INDEX, leaf=leaf_data(INDEX), checkpoint=CHECKPOINT)


def verify(text: str | bytes, **kw: object) -> rc.ReceiptVerification:
    return rc.verify_receipt(text, LOG_VKEY, witness_vkeys=WITNESS_VKEYS, **kw)  # type: ignore[arg-type]


# --- format -----------------------------------------------------------------------------------


def test_encoding_matches_transparency_dev_formats() -> None:
    h1, h2 = hashlib.sha256(b"hash1").digest(), hashlib.sha256(b"hash2").digest()
    b1, b2 = base64.b64encode(h1).decode(), base64.b64encode(h2).decode()
    extra = base64.b64encode(b"extra information").decode()
    assert Receipt(5, (h1, h2), "test checkpoint\n").encode() == (
        f"c2sp.org/tlog-proof@v1\nindex 5\n{b1}\n{b2}\n\ntest checkpoint\n"
    )
    assert Receipt(10, (h1,), "checkpoint data\n", b"extra information").encode() == (
        f"c2sp.org/tlog-proof@v1\nextra {extra}\nindex 10\n{b1}\n\ncheckpoint data\n"
    )
    assert Receipt(0, (), "checkpoint\n").encode() == "c2sp.org/tlog-proof@v1\nindex 0\n\ncheckpoint\n"


def test_issued_receipt_layout_and_round_trip() -> None:
    lines = RECEIPT.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert lines[1] == "extra " + base64.b64encode(leaf_data(INDEX)).decode()
    assert lines[2] == f"index {INDEX}"
    proof = merkle.inclusion_proof(TREE, INDEX, SIZE)
    assert lines[3 : 3 + len(proof)] == [base64.b64encode(h).decode() for h in proof]
    assert lines[3 + len(proof)] == ""
    assert RECEIPT.endswith(CHECKPOINT)
    parsed = rc.parse_receipt(RECEIPT)
    assert parsed == Receipt(INDEX, tuple(proof), CHECKPOINT, leaf_data(INDEX))
    assert parsed.encode() == RECEIPT
    assert rc.parse_receipt(RECEIPT.encode()) == parsed


def test_verify_reports_index_size_leaf_and_witness_time() -> None:
    result = verify(RECEIPT)
    assert (result.origin, result.index, result.tree_size) == (ORIGIN, INDEX, SIZE)
    assert result.root_hash == TREE.root(SIZE)
    assert result.leaf == leaf_data(INDEX) and result.leaf_hash == merkle.leaf_hash(leaf_data(INDEX))
    assert sorted(c.timestamp for c in result.cosignatures) == sorted(TIMES)
    assert result.logged_by == max(TIMES)  # all three witnesses needed by default
    assert verify(RECEIPT, witness_quorum=1).logged_by == min(TIMES)
    assert verify(RECEIPT, witness_quorum=2).logged_by == sorted(TIMES)[1]
    assert rc.verify_receipt(RECEIPT, LOG_VKEY).logged_by is None
    assert verify(RECEIPT, leaf=leaf_data(INDEX)).index == INDEX


def test_every_index_and_size_round_trips() -> None:
    for size in (1, 2, 3, 7, 8, 9, 40):
        note = signed_checkpoint(size)
        for index in range(size):
            text = rc.issue_receipt(TREE, index=index, leaf=leaf_data(index), checkpoint=note)
            assert rc.verify_receipt(text, LOG_VKEY).index == index


def test_empty_leaf_is_carried_out_of_band() -> None:
    tree = merkle.MemoryTree()
    tree.append(b"")
    note = cp.sign_checkpoint(Checkpoint(ORIGIN, 1, tree.root()), LOG_KEY)
    text = rc.issue_receipt(tree, index=0, leaf=b"", checkpoint=note)
    assert "\nextra" not in text
    with pytest.raises(VerificationError, match="no leaf data"):
        rc.verify_receipt(text, LOG_VKEY)
    assert rc.verify_receipt(text, LOG_VKEY, leaf=b"").leaf == b""


# --- tampering --------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _set_line(text: str, n: int, value: str) -> str:
    lines = _lines(text)
    lines[n] = value
    return "\n".join(lines)


def _flip_b64(value: str, bit: int = 0) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[bit // 8 % len(raw)] ^= 1 << (bit % 8)
    return base64.b64encode(bytes(raw)).decode()


def _flip_signature(text: str, n: int, bit: int) -> str:
    """Flip BIT of the base64 blob ending signature line N, keeping the line's key name."""
    prefix, blob = _lines(text)[n].rsplit(" ", 1)
    return _set_line(text, n, prefix + " " + _flip_b64(blob, bit))


PROOF_LEN = len(merkle.inclusion_proof(TREE, INDEX, SIZE))
FIRST_PROOF_LINE = 3
CP_START = FIRST_PROOF_LINE + PROOF_LEN + 1  # origin line of the checkpoint
LOG_SIG_LINE = CP_START + 4
EXTRA = base64.b64encode(leaf_data(INDEX)).decode()


def _tamperings() -> dict[str, Callable[[str], str]]:
    t: dict[str, Callable[[str], str]] = {
        "header version": lambda s: s.replace("tlog-proof@v1", "tlog-proof@v2", 1),
        "leaf data": lambda s: _set_line(s, 1, "extra " + _flip_b64(EXTRA, 77)),
        "other leaf's data": lambda s: _set_line(s, 1, "extra " + base64.b64encode(leaf_data(INDEX + 1)).decode()),
        "extra line removed": lambda s: "\n".join(_lines(s)[:1] + _lines(s)[2:]),
        "empty extra": lambda s: _set_line(s, 1, "extra "),
        "extra after index": lambda s: "\n".join([_lines(s)[0], _lines(s)[2], _lines(s)[1], *_lines(s)[3:]]),
        "index leading zero": lambda s: _set_line(s, 2, f"index 0{INDEX}"),
        "index missing": lambda s: "\n".join(_lines(s)[:2] + _lines(s)[3:]),
        "index spelled Index": lambda s: _set_line(s, 2, f"Index {INDEX}"),
        "proof line removed": lambda s: "\n".join(_lines(s)[:FIRST_PROOF_LINE] + _lines(s)[FIRST_PROOF_LINE + 1 :]),
        "proof line added": lambda s: "\n".join(
            _lines(s)[:FIRST_PROOF_LINE] + [base64.b64encode(bytes(32)).decode()] + _lines(s)[FIRST_PROOF_LINE:]
        ),
        "proof lines swapped": lambda s: "\n".join(
            _lines(s)[:FIRST_PROOF_LINE]
            + [_lines(s)[FIRST_PROOF_LINE + 1], _lines(s)[FIRST_PROOF_LINE]]
            + _lines(s)[FIRST_PROOF_LINE + 2 :]
        ),
        "proof hash truncated": lambda s: _set_line(
            s, FIRST_PROOF_LINE, base64.b64encode(base64.b64decode(_lines(s)[FIRST_PROOF_LINE])[:31]).decode()
        ),
        "proof hash unpadded": lambda s: _set_line(s, FIRST_PROOF_LINE, _lines(s)[FIRST_PROOF_LINE].rstrip("=")),
        "unknown line in header": lambda s: "\n".join(_lines(s)[:1] + ["note hello"] + _lines(s)[1:]),
        "blank line before proof": lambda s: "\n".join(
            _lines(s)[:FIRST_PROOF_LINE] + [""] + _lines(s)[FIRST_PROOF_LINE:]
        ),
        "origin": lambda s: s.replace(f"\n{ORIGIN}\n{SIZE}\n", f"\n{ORIGIN}x\n{SIZE}\n", 1),
        "size + 1": lambda s: s.replace(f"\n{ORIGIN}\n{SIZE}\n", f"\n{ORIGIN}\n{SIZE + 1}\n", 1),
        "size - 1": lambda s: s.replace(f"\n{ORIGIN}\n{SIZE}\n", f"\n{ORIGIN}\n{SIZE - 1}\n", 1),
        "root": lambda s: _set_line(s, CP_START + 2, _flip_b64(_lines(s)[CP_START + 2], 200)),
        "extension line added": lambda s: "\n".join(
            _lines(s)[: CP_START + 3] + ["ext"] + _lines(s)[CP_START + 3 :]
        ),
        "log signature": lambda s: _flip_signature(s, LOG_SIG_LINE, 100),
        "log signature key ID": lambda s: _flip_signature(s, LOG_SIG_LINE, 3),
        "log signature removed": lambda s: "\n".join(_lines(s)[:LOG_SIG_LINE] + _lines(s)[LOG_SIG_LINE + 1 :]),
        "witness cosignature time": lambda s: _flip_signature(s, LOG_SIG_LINE + 1, 95),
        "witness cosignature removed": lambda s: "\n".join(
            _lines(s)[: LOG_SIG_LINE + 1] + _lines(s)[LOG_SIG_LINE + 2 :]
        ),
        "junk after checkpoint": lambda s: s + "junk\n",
        "blank line at end": lambda s: s + "\n",
        "final newline missing": lambda s: s[:-1],
        "CRLF": lambda s: s.replace("\n", "\r\n"),
        "em dash to hyphen": lambda s: s.replace(notes.EM_DASH, "-"),
        "leading space": lambda s: " " + s,
    }
    for n in range(PROOF_LEN):
        t[f"proof hash {n}"] = _flip_proof_hash(n)
    for other in (0, 1, INDEX - 1, INDEX + 1, SIZE - 1, SIZE, SIZE + 100, 2**64):
        t[f"index {other}"] = _replace_index(other)
    return t


def _flip_proof_hash(n: int) -> Callable[[str], str]:
    return lambda s: _set_line(s, FIRST_PROOF_LINE + n, _flip_b64(_lines(s)[FIRST_PROOF_LINE + n], 9 * n))


def _replace_index(other: int) -> Callable[[str], str]:
    return lambda s: _set_line(s, 2, f"index {other}")


TAMPERINGS = _tamperings()


@pytest.mark.parametrize("name", TAMPERINGS)
def test_every_tampering_is_refused(name: str) -> None:
    tampered = TAMPERINGS[name](RECEIPT)
    assert tampered != RECEIPT
    with pytest.raises(VerificationError):
        verify(tampered)


def test_every_truncation_is_refused() -> None:
    for cut in range(len(RECEIPT)):
        with pytest.raises(VerificationError):
            verify(RECEIPT[:cut])


def test_leaf_given_out_of_band_must_match() -> None:
    with pytest.raises(VerificationError, match="not the expected leaf"):
        verify(RECEIPT, leaf=leaf_data(INDEX + 1))


def test_wrong_keys_and_policies() -> None:
    other_log = notes.ed25519_vkey(ORIGIN, signing.public_key(signing.generate()))
    with pytest.raises(VerificationError):
        rc.verify_receipt(RECEIPT, other_log)
    with pytest.raises(VerificationError, match="origin"):
        rc.verify_receipt(RECEIPT, LOG_VKEY, origin="someone.else/log")
    stranger = cp.cosignature_vkey("w9.example", signing.public_key(signing.generate()))
    with pytest.raises(VerificationError, match="policy needs 2"):
        rc.verify_receipt(RECEIPT, LOG_VKEY, witness_vkeys=[WITNESS_VKEYS[0], stranger])
    one_of_two = rc.verify_receipt(RECEIPT, LOG_VKEY, witness_vkeys=[WITNESS_VKEYS[0], stranger], witness_quorum=1)
    assert one_of_two.logged_by == TIMES[0]
    with pytest.raises(VerificationError):
        verify(RECEIPT, now=min(TIMES))  # two cosignatures are dated after "now"
    for quorum in (-1, 4, True):
        with pytest.raises(InvalidInput):
            verify(RECEIPT, witness_quorum=quorum)
    with pytest.raises(InvalidInput):
        rc.verify_receipt(RECEIPT, WITNESS_VKEYS[0])
    public = notes.VerifierKey.parse(WITNESS_VKEYS[0]).public_key
    alias = cp.cosignature_vkey("alias.example", public)
    with pytest.raises(InvalidInput, match="distinct"):
        rc.verify_receipt(RECEIPT, LOG_VKEY, witness_vkeys=[WITNESS_VKEYS[0], alias])


# --- consistency with a newer checkpoint ------------------------------------------------------


def test_against_newer_checkpoint_with_consistency_proof() -> None:
    newer = signed_checkpoint(40, witnesses=2)
    proof = merkle.consistency_proof(TREE, SIZE, 40)
    result = verify(RECEIPT, against=newer, consistency_proof=proof, witness_quorum=2)
    assert (result.tree_size, result.against_size, result.against_root_hash) == (SIZE, 40, TREE.root(40))
    assert result.logged_by == max(TIMES[:2])
    same = verify(RECEIPT, against=CHECKPOINT)
    assert same.against_size == SIZE


def test_unwitnessed_receipt_is_anchored_by_a_witnessed_newer_checkpoint() -> None:
    bare = rc.issue_receipt(TREE, index=INDEX, leaf=leaf_data(INDEX), checkpoint=signed_checkpoint(SIZE))
    with pytest.raises(VerificationError, match="0 known witnesses"):
        verify(bare)
    newer = signed_checkpoint(33, witnesses=3)
    result = verify(bare, against=newer, consistency_proof=merkle.consistency_proof(TREE, SIZE, 33))
    assert result.logged_by == max(TIMES)


def test_consistency_failures() -> None:
    newer = signed_checkpoint(40, witnesses=3)
    proof = merkle.consistency_proof(TREE, SIZE, 40)
    bad_proof = [proof[0], _raw_flip(proof[1]), *proof[2:]]
    forked = _forked_checkpoint(40)
    cases: list[dict[str, object]] = [
        {"against": newer},  # a newer checkpoint alone proves nothing
        {"against": newer, "consistency_proof": bad_proof},
        {"against": newer, "consistency_proof": proof[:-1]},
        {"against": newer, "consistency_proof": merkle.consistency_proof(TREE, SIZE - 1, 40)},
        {"against": signed_checkpoint(20, witnesses=3), "consistency_proof": []},  # older, not newer
        {"against": forked, "consistency_proof": proof},
        {"against": signed_checkpoint(40, witnesses=3, key=signing.generate()), "consistency_proof": proof},
        {"against": signed_checkpoint(40, witnesses=3, origin="consilience.example/other"), "consistency_proof": proof},
        {"against": newer[:-1], "consistency_proof": proof},
    ]
    for kw in cases:
        with pytest.raises(VerificationError):
            verify(RECEIPT, **kw)
    with pytest.raises(InvalidInput, match="newer checkpoint"):
        verify(RECEIPT, consistency_proof=proof)


def _raw_flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


def _forked_checkpoint(size: int) -> str:
    """The same log key signing a tree whose first leaves differ: a split view."""
    fork = merkle.MemoryTree()
    for i in range(size):
        fork.append(leaf_data(i) if i != 3 else b"rewritten history")
    note = cp.sign_checkpoint(Checkpoint(ORIGIN, size, fork.root()), LOG_KEY)
    for i in range(3):
        note = cp.cosign(note, f"w{i}.example", WITNESS_KEYS[i], TIMES[i])
    return note


# --- issuing ----------------------------------------------------------------------------------


def test_issuing_refuses_receipts_that_would_not_verify() -> None:
    proof = merkle.inclusion_proof(TREE, INDEX, SIZE)
    with pytest.raises(InvalidInput, match="does not verify"):
        rc.make_receipt(index=INDEX, proof=proof, checkpoint=CHECKPOINT, leaf=leaf_data(INDEX + 1))
    with pytest.raises(InvalidInput):
        rc.make_receipt(index=INDEX + 1, proof=proof, checkpoint=CHECKPOINT, leaf=leaf_data(INDEX))
    with pytest.raises(InvalidInput):
        rc.issue_receipt(TREE, index=SIZE, leaf=leaf_data(SIZE), checkpoint=CHECKPOINT)
    with pytest.raises(InvalidInput):
        rc.make_receipt(index=INDEX, proof=proof, checkpoint="not a checkpoint\n", leaf=leaf_data(INDEX))


def test_parse_limits_and_types() -> None:
    head = f"c2sp.org/tlog-proof@v1\nindex {INDEX}\n"
    too_long = head + (base64.b64encode(bytes(32)).decode() + "\n") * 66 + "\n" + CHECKPOINT
    with pytest.raises(InvalidInput, match="too long"):
        rc.parse_receipt(too_long)
    with pytest.raises(InvalidInput):
        rc.parse_receipt(b"\xff" + RECEIPT.encode())
    with pytest.raises(InvalidInput):
        rc.parse_receipt(12)  # type: ignore[arg-type]
    with pytest.raises(ConsilienceError):
        rc.parse_receipt(head + "\n" + "not a note\n")
