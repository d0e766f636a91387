"""C2SP tlog-checkpoint bodies and tlog-cosignature/v1 (Ed25519, type 0x04).

Vectors: tests/vectors/signed_notes.json. "cosigned_checkpoint" is a real
checkpoint of a transparency.dev staging log with a real cosignature from the
remora.n621.de witness, so verifying it checks our cosignature message,
timestamp encoding and type-0x04 key IDs against an independent implementation.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.tlog import checkpoint as cp
from consilience.tlog import notes
from consilience.tlog.checkpoint import Checkpoint

V: dict[str, Any] = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "signed_notes.json").read_text())
REAL = V["cosigned_checkpoint"]
SUMDB = V["sumdb_checkpoint"]
ROOT = hashlib.sha256(b"root").digest()
ORIGIN = "consilience.example/log"
LOG_KEY = signing.generate()
LOG_VKEY = notes.ed25519_vkey(ORIGIN, signing.public_key(LOG_KEY))
W1, W2 = signing.generate(), signing.generate()
W1_VKEY = cp.cosignature_vkey("w1.example", signing.public_key(W1))
W2_VKEY = cp.cosignature_vkey("w2.example", signing.public_key(W2))


def _signed(size: int = 42, extensions: tuple[str, ...] = ()) -> str:
    return cp.sign_checkpoint(Checkpoint(ORIGIN, size, ROOT, extensions), LOG_KEY)


# --- real-world checkpoints -------------------------------------------------------------------


def test_real_cosigned_checkpoint() -> None:
    v = cp.open_checkpoint(REAL["note"], REAL["log_vkey"], witness_vkeys=[REAL["witness_vkey"]])
    assert v.checkpoint.origin == "arche2025h1.staging.ct.transparency.dev"
    assert v.checkpoint.size == REAL["size"]
    line = next(x for x in REAL["note"].splitlines() if x.startswith("— remora.n621.de "))
    raw = base64.b64decode(line.split(" ")[2])
    assert [(c.name, c.key_id.hex(), c.timestamp) for c in v.cosignatures] == [
        ("remora.n621.de", "da77ade7", int.from_bytes(raw[4:12], "big"))
    ]
    # The type-0x05 line under the log's own name has another key ID: ignored, as the spec requires.
    assert cp.open_checkpoint(REAL["note"], REAL["log_vkey"]).cosignatures == ()


def test_real_cosigned_checkpoint_tampered_or_in_the_future() -> None:
    tampered = REAL["note"].replace(str(REAL["size"]), str(REAL["size"] + 1), 1)
    with pytest.raises(VerificationError):
        cp.open_checkpoint(tampered, REAL["log_vkey"])
    opened = cp.open_checkpoint(REAL["note"], REAL["log_vkey"], witness_vkeys=[REAL["witness_vkey"]])
    ts = opened.cosignatures[0].timestamp
    with pytest.raises(VerificationError, match="future"):
        cp.open_checkpoint(REAL["note"], REAL["log_vkey"], witness_vkeys=[REAL["witness_vkey"]], now=ts - 1)
    cp.open_checkpoint(REAL["note"], REAL["log_vkey"], witness_vkeys=[REAL["witness_vkey"]], now=ts)


def test_real_cosignature_is_not_a_note_signature() -> None:
    """The witness key as a type-0x01 vkey has another ID, so the line is just unknown."""
    public = notes.VerifierKey.parse(REAL["witness_vkey"]).public_key
    as_note_key = notes.ed25519_vkey("remora.n621.de", public)
    with pytest.raises(VerificationError, match="no signature from a trusted key"):
        notes.open_note(REAL["note"], [notes.Ed25519Verifier.from_vkey(as_note_key)])


def test_sumdb_checkpoint_origin_is_not_a_url() -> None:
    v = cp.open_checkpoint(SUMDB["note"], SUMDB["vkey"], origin=SUMDB["origin"])
    assert (v.checkpoint.origin, v.checkpoint.size) == (SUMDB["origin"], SUMDB["size"])
    with pytest.raises(VerificationError, match="origin"):
        cp.open_checkpoint(SUMDB["note"], SUMDB["vkey"])  # default: the key name


# --- the body ---------------------------------------------------------------------------------


def test_body_round_trip_with_extensions() -> None:
    c = Checkpoint(ORIGIN, 20852163, ROOT, ("ext one", "ext two"))
    body = c.body()
    assert body == f"{ORIGIN}\n20852163\n{base64.b64encode(ROOT).decode()}\next one\next two\n"
    assert Checkpoint.parse(body) == c
    assert Checkpoint.parse(f"{ORIGIN}\n0\n{base64.b64encode(ROOT).decode()}\n").size == 0


ROOT_B64 = base64.b64encode(ROOT).decode()
URLSAFE_ROOT = base64.urlsafe_b64encode(bytes([0xFF]) * 32).decode()
BAD_BODIES = {
    "no final newline": f"{ORIGIN}\n5\n{ROOT_B64}",
    "two lines": f"{ORIGIN}\n5\n",
    "empty origin": f"\n5\n{ROOT_B64}\n",
    "empty extension line": f"{ORIGIN}\n5\n{ROOT_B64}\n\n",
    "empty line then extension": f"{ORIGIN}\n5\n{ROOT_B64}\n\next\n",
    "leading zero": f"{ORIGIN}\n05\n{ROOT_B64}\n",
    "plus sign": f"{ORIGIN}\n+5\n{ROOT_B64}\n",
    "negative": f"{ORIGIN}\n-5\n{ROOT_B64}\n",
    "space": f"{ORIGIN}\n 5\n{ROOT_B64}\n",
    "exponent": f"{ORIGIN}\n5e3\n{ROOT_B64}\n",
    "non-ASCII digit": f"{ORIGIN}\n\u0665\n{ROOT_B64}\n",
    "2^64": f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n",
    "short root": f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n",
    "long root": f"{ORIGIN}\n5\n{base64.b64encode(ROOT + b'x').decode()}\n",
    "unpadded root": f"{ORIGIN}\n5\n{ROOT_B64.rstrip('=')}\n",
    "base64url root": f"{ORIGIN}\n5\n{URLSAFE_ROOT}\n",
    "root with space": f"{ORIGIN}\n5\n {ROOT_B64}\n",
    "control char": f"{ORIGIN}\x01\n5\n{ROOT_B64}\n",
    "CRLF": f"{ORIGIN}\r\n5\r\n{ROOT_B64}\r\n",
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies(body: str) -> None:
    with pytest.raises(InvalidInput):
        Checkpoint.parse(body)


def test_non_canonical_base64_root_is_refused() -> None:
    root = bytes(31) + b"\x01"  # last char carries 4 padding bits; set one of them
    text = base64.b64encode(root).decode()
    sloppy = text[:-2] + chr(ord(text[-2]) + 1) + "="
    assert base64.b64decode(sloppy) == root
    with pytest.raises(InvalidInput, match="non-canonical"):
        Checkpoint.parse(f"{ORIGIN}\n5\n{sloppy}\n")


def test_constructor_checks() -> None:
    for args in (("", 1, ROOT), (ORIGIN, -1, ROOT), (ORIGIN, 2**64, ROOT), (ORIGIN, 1, ROOT[:31]),
                 (ORIGIN, True, ROOT)):
        with pytest.raises(InvalidInput):
            Checkpoint(*args)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Checkpoint(ORIGIN, 1, ROOT, ("",))


# --- log signature ----------------------------------------------------------------------------


def test_sign_and_open() -> None:
    note = _signed(7, ("x-ext",))
    v = cp.open_checkpoint(note, LOG_VKEY)
    assert v.checkpoint == Checkpoint(ORIGIN, 7, ROOT, ("x-ext",)) and v.cosignatures == ()
    parsed, raw = cp.parse_signed_checkpoint(note)
    assert parsed == v.checkpoint and raw.signatures[0].name == ORIGIN


def test_log_signature_is_required_even_if_a_witness_signed() -> None:
    body = Checkpoint(ORIGIN, 3, ROOT).body()
    other_log = signing.generate()
    note = cp.cosign(notes.sign_note(body, [notes.Ed25519Signer(ORIGIN, other_log)]), "w1.example", W1, 1)
    with pytest.raises(VerificationError, match="not signed by the log key"):
        cp.open_checkpoint(note, LOG_VKEY, witness_vkeys=[W1_VKEY])


def test_wrong_log_key_and_wrong_key_type() -> None:
    with pytest.raises(VerificationError):
        cp.open_checkpoint(_signed(), notes.ed25519_vkey(ORIGIN, signing.public_key(signing.generate())))
    with pytest.raises(InvalidInput, match="type 0x01"):
        cp.open_checkpoint(_signed(), W1_VKEY)
    # a witness key may be a 0x01 vkey (tests/tlog/test_witness_keys.py), but never the log's own key
    with pytest.raises(InvalidInput, match="the log's own key is listed as a witness"):
        cp.open_checkpoint(_signed(), LOG_VKEY, witness_vkeys=[LOG_VKEY])
    with pytest.raises(InvalidInput, match="the log's own key is listed as a witness"):
        cp.open_checkpoint(_signed(), LOG_VKEY, witness_vkeys=[cp.cosignature_vkey("w", signing.public_key(LOG_KEY))])


def test_signed_note_that_is_not_a_checkpoint() -> None:
    note = notes.sign_note("just text\n", [notes.Ed25519Signer(ORIGIN, LOG_KEY)])
    with pytest.raises(VerificationError, match="malformed checkpoint"):
        cp.open_checkpoint(note, LOG_VKEY)


# --- cosignatures -----------------------------------------------------------------------------


def test_cosignature_message_is_exactly_the_spec_text() -> None:
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert cp.cosignature_message(body, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert cp.cosignature_message(body, 0).startswith(b"cosignature/v1\ntime 0\n")


def test_cosign_and_verify_with_timestamps() -> None:
    note = cp.cosign(cp.cosign(_signed(), "w1.example", W1, 1_700_000_000), "w2.example", W2, 1_700_000_060)
    v = cp.open_checkpoint(note, LOG_VKEY, witness_vkeys=[W1_VKEY, W2_VKEY])
    assert [(c.name, c.timestamp) for c in v.cosignatures] == [("w1.example", 1_700_000_000),
                                                               ("w2.example", 1_700_000_060)]
    line = note.splitlines()[-1] + "\n"
    raw = base64.b64decode(line.split(" ")[2])
    assert raw[:4] == notes.key_id("w2.example", 0x04, signing.public_key(W2))
    assert int.from_bytes(raw[4:12], "big") == 1_700_000_060 and len(raw) == 4 + 8 + 64
    assert cp.cosignature_line(Checkpoint(ORIGIN, 42, ROOT).body(), "w2.example", W2, 1_700_000_060) == line
    # An unknown witness is ignored; a known one is reported.
    assert len(cp.open_checkpoint(note, LOG_VKEY, witness_vkeys=[W2_VKEY]).cosignatures) == 1


def test_cosignature_covers_extension_lines_and_time() -> None:
    note = cp.cosign(_signed(5, ("ext",)), "w1.example", W1, 10)
    cp.open_checkpoint(note, LOG_VKEY, witness_vkeys=[W1_VKEY])
    lines = note.split("\n")
    raw = bytearray(base64.b64decode(lines[-2].split(" ")[2]))
    raw[11] ^= 1  # the timestamp's last byte
    forged = "\n".join(lines[:-2] + [lines[-2].rsplit(" ", 1)[0] + " " + base64.b64encode(bytes(raw)).decode(), ""])
    with pytest.raises(VerificationError, match="invalid signature from trusted key w1.example"):
        cp.open_checkpoint(forged, LOG_VKEY, witness_vkeys=[W1_VKEY])
    # A log that re-signs a changed extension line can't carry the old cosignature over.
    relogged = cp.sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT, ("eXt",)), LOG_KEY)
    moved = relogged + lines[-2] + "\n"
    with pytest.raises(VerificationError):
        cp.open_checkpoint(moved, LOG_VKEY, witness_vkeys=[W1_VKEY])


def test_bad_cosignature_from_a_known_witness_rejects_the_checkpoint() -> None:
    note = cp.cosign(_signed(), "w1.example", W2, 5)  # right name, wrong key: ID differs -> unknown
    assert cp.open_checkpoint(note, LOG_VKEY, witness_vkeys=[W1_VKEY]).cosignatures == ()
    short = notes.Signature("w1.example", notes.key_id("w1.example", 4, signing.public_key(W1)), bytes(64)).line()
    with pytest.raises(VerificationError):
        cp.open_checkpoint(_signed() + short, LOG_VKEY, witness_vkeys=[W1_VKEY])


def test_timestamp_bounds() -> None:
    for bad in (-1, 2**63, True):
        with pytest.raises(InvalidInput):
            cp.cosign(_signed(), "w1.example", W1, bad)  # type: ignore[arg-type]
    cp.open_checkpoint(cp.cosign(_signed(), "w1.example", W1, 2**63 - 1), LOG_VKEY, witness_vkeys=[W1_VKEY])
    # A validly signed message with time 2^63 must still be refused.
    body = Checkpoint(ORIGIN, 42, ROOT).body()
    message = f"cosignature/v1\ntime {2**63}\n".encode() + body.encode()
    sig = (2**63).to_bytes(8, "big") + signing.sign(W1, message)
    line = notes.Signature("w1.example", notes.key_id("w1.example", 4, signing.public_key(W1)), sig).line()
    with pytest.raises(VerificationError):
        cp.open_checkpoint(_signed() + line, LOG_VKEY, witness_vkeys=[W1_VKEY])


def test_cosigner_only_signs_checkpoints() -> None:
    with pytest.raises(InvalidInput):
        notes.sign_note("not a checkpoint\n", [cp.CosignatureV1Signer("w1.example", W1, 1)])
