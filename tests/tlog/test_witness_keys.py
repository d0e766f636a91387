"""A witness's key in either vkey form (type 0x04 cosignature/v1, or ordinary Ed25519 type 0x01).

C2SP tlog-cosignature: the key ID of an Ed25519 cosignature MUST be
SHA-256(name || 0x0A || 0x04 || public key)[:4], and the key MAY be encoded as a vkey of type
0x04. The transparency-dev ecosystem also hands out witness keys as ordinary Ed25519 vkeys
(0x01) and reads them as cosignature/v1 keys (formats/note ``NewVerifierForCosignatureV1``),
so both forms must verify the same lines, and only those.

Vectors (public keys and a real cosignature; no code copied):

* ``LITTLE_GARDEN_*``: the transparency.dev DEV:witness-little-garden witness, one key in both
  forms: 0x01 as github.com/transparency-dev/tesseract cmd/tesseract/README.md gives it in its
  example witness policy, 0x04 as github.com/transparency-dev/witness-network's witness table
  (site/content/witness-tables.md) lists it. The real checkpoint in tests/vectors/signed_notes.json
  ("cosigned_checkpoint") carries this witness's cosignature.
* ``FORMATS_*``: github.com/transparency-dev/formats note/note_cosigv1_test.go,
  TestCoSigV1NewVerifier ("convert from algEd25519" and "native algEd25519CosignatureV1").
* Go's sumdb/note PeterNeumann key (signed_notes.json "go_sumdb_note"): a key made by Go's
  ``note.GenerateKey``, used as a witness key the way ``NewSignerForCosignatureV1`` uses one.
"""

from __future__ import annotations

import base64
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
GO = V["go_sumdb_note"]
LITTLE_GARDEN = "transparency.dev/DEV:witness-little-garden"
LITTLE_GARDEN_01 = f"{LITTLE_GARDEN}+4b7fca75+AStusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM"
LITTLE_GARDEN_04 = f"{LITTLE_GARDEN}+d8042a87+BCtusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM"
FORMATS_01 = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
FORMATS_04 = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"

ORIGIN = "consilience.example/log"
LOG_KEY = signing.generate()
LOG_VKEY = notes.ed25519_vkey(ORIGIN, signing.public_key(LOG_KEY))
BODY = Checkpoint(ORIGIN, 42, bytes(range(32))).body()


def _signed() -> str:
    return cp.sign_checkpoint(Checkpoint.parse(BODY), LOG_KEY)


# --- real-world vectors -----------------------------------------------------------------------


def test_a_real_cosignature_verifies_under_both_forms_of_the_witness_key() -> None:
    k01, k04 = notes.VerifierKey.parse(LITTLE_GARDEN_01), notes.VerifierKey.parse(LITTLE_GARDEN_04)
    assert (k01.sig_type, k04.sig_type) == (0x01, 0x04) and k01.public_key == k04.public_key
    line = next(x for x in REAL["note"].splitlines() if x.startswith(f"\u2014 {LITTLE_GARDEN} "))
    on_the_line = base64.b64decode(line.split(" ")[2])[:4]
    assert on_the_line.hex() == "d8042a87"  # the 0x04 key ID, whichever form the key is handed out in
    for vkey in (LITTLE_GARDEN_01, LITTLE_GARDEN_04):
        verifier = cp.CosignatureV1Verifier.from_vkey(vkey)
        assert verifier.key_id == on_the_line and verifier.vkey == LITTLE_GARDEN_04
        opened = cp.open_checkpoint(REAL["note"], REAL["log_vkey"], witness_vkeys=[vkey])
        assert [(c.name, c.key_id.hex()) for c in opened.cosignatures] == [(LITTLE_GARDEN, "d8042a87")]


def test_a_01_witness_key_read_as_a_note_key_matches_no_cosignature_line() -> None:
    """Why the form matters to other tools: as an ordinary note key its ID (over 0x01) is on no line."""
    with pytest.raises(VerificationError, match="no signature from a trusted key"):
        notes.open_note(REAL["note"], [notes.Ed25519Verifier.from_vkey(LITTLE_GARDEN_01)])


def test_the_transparency_dev_formats_vectors_parse_as_witness_keys() -> None:
    k01 = cp.CosignatureV1Verifier.from_vkey(FORMATS_01)
    assert k01.key_id == notes.key_id("TEST", 0x04, k01.public_key) != bytes.fromhex("7997405c")
    assert cp.CosignatureV1Verifier.from_vkey(FORMATS_04).key_id.hex() == "da77ade7"
    # the vkey's own key ID is still checked, over its own type
    with pytest.raises(InvalidInput, match="key ID does not match"):
        cp.CosignatureV1Verifier.from_vkey(FORMATS_01.replace("7997405c", "da77ade7"))
    with pytest.raises(InvalidInput, match="key ID does not match"):
        cp.CosignatureV1Verifier.from_vkey(FORMATS_04.replace("da77ade7", "7997405c"))


def test_a_key_go_generated_cosigns_and_verifies_under_its_go_vkey() -> None:
    seed = base64.b64decode(GO["signer_key"].split("+", 4)[4])[1:]
    name = GO["signer_key"].split("+")[2]
    note = cp.cosign(_signed(), name, seed, 1_700_000_000)
    opened = cp.open_checkpoint(note, LOG_VKEY, witness_vkeys=[GO["peter_vkey"]])
    assert [(c.name, c.timestamp) for c in opened.cosignatures] == [(name, 1_700_000_000)]
    assert opened.cosignatures[0].key_id == notes.key_id(name, 0x04, signing.public_key(seed))


# --- our own keys, both forms -----------------------------------------------------------------


def test_both_forms_verify_the_same_lines_and_only_those() -> None:
    key = signing.generate()
    public = signing.public_key(key)
    forms = (cp.cosignature_vkey("w.example", public), notes.ed25519_vkey("w.example", public))
    note = cp.cosign(_signed(), "w.example", key, 77)
    for vkey in forms:
        opened = cp.open_checkpoint(note, LOG_VKEY, witness_vkeys=[vkey])
        assert [(c.name, c.timestamp) for c in opened.cosignatures] == [("w.example", 77)]
        # a plain Ed25519 signature by the same key over the body is not a cosignature
        plain = notes.sign_note(BODY, [notes.Ed25519Signer(ORIGIN, LOG_KEY), notes.Ed25519Signer("w.example", key)])
        assert cp.open_checkpoint(plain, LOG_VKEY, witness_vkeys=[vkey]).cosignatures == ()
        forged = notes.Signature("w.example", notes.key_id("w.example", 4, public), (77).to_bytes(8, "big")
                                 + signing.sign(key, BODY.encode())).line()
        with pytest.raises(VerificationError, match="invalid signature from trusted key w.example"):
            cp.open_checkpoint(_signed() + forged, LOG_VKEY, witness_vkeys=[vkey])


def test_listing_one_key_twice_is_refused() -> None:
    public = signing.public_key(signing.generate())
    for pair in ([cp.cosignature_vkey("w", public), notes.ed25519_vkey("w", public)],
                 [cp.cosignature_vkey("w", public), cp.cosignature_vkey("w2", public)]):
        with pytest.raises(InvalidInput, match="listed twice"):
            cp.open_checkpoint(_signed(), LOG_VKEY, witness_vkeys=pair)
        with pytest.raises(InvalidInput, match="listed twice"):
            cp.accept_cosignatures(BODY, cp.cosignature_line(BODY, "w", signing.generate(), 1), pair)


def test_a_vkey_of_another_type_is_refused_with_a_clear_message() -> None:
    public = signing.public_key(signing.generate())
    for sig_type in (0x02, 0x05, 0x06, 0xFF):
        material = base64.b64encode(bytes([sig_type]) + public).decode()
        vkey = f"w.example+{notes.key_id('w.example', sig_type, public).hex()}+{material}"
        with pytest.raises(InvalidInput, match=f"unsupported verifier key type 0x{sig_type:02x}.*0x01.*0x04"):
            cp.CosignatureV1Verifier.from_vkey(vkey)
    with pytest.raises(InvalidInput, match="key material"):
        cp.CosignatureV1Verifier.from_vkey("w.example+00000000+")


# --- what the log keeps of a posted cosignature ---------------------------------------------


def test_accept_keeps_only_verified_lines_rebuilt_newest_per_witness() -> None:
    k1, k2 = signing.generate(), signing.generate()
    vkeys = [notes.ed25519_vkey("w1", signing.public_key(k1)), cp.cosignature_vkey("w2", signing.public_key(k2))]
    id1 = notes.key_id("w1", 4, signing.public_key(k1))
    new, old = cp.cosignature_line(BODY, "w1", k1, 20), cp.cosignature_line(BODY, "w1", k1, 10)
    forged = notes.Signature("w1", id1, bytes(72)).line()
    stranger = notes.Signature("x", b"abcd", b"e").line()
    other = cp.cosignature_line(BODY, "w2", k2, 5)
    accepted = cp.accept_cosignatures(BODY, old + forged + new + stranger + new + other, vkeys)
    assert [(a.cosignature.name, a.cosignature.timestamp, a.line) for a in accepted] == [
        ("w1", 20, new), ("w2", 5, other)]
    assert cp.accept_cosignatures(BODY, stranger * 3, vkeys) == ()
    with pytest.raises(VerificationError, match="from w1 does not verify"):
        cp.accept_cosignatures(BODY, forged + stranger, vkeys)
    with pytest.raises(VerificationError, match="future"):
        cp.accept_cosignatures(BODY, new, vkeys, now=19)
    other_body = Checkpoint(ORIGIN, 43, bytes(range(32))).body()
    with pytest.raises(VerificationError, match="does not verify"):
        cp.accept_cosignatures(other_body, new, vkeys)


def test_accept_refuses_what_is_not_signature_lines() -> None:
    vkeys = [cp.cosignature_vkey("w1", signing.public_key(signing.generate()))]
    line = notes.Signature("x", b"abcd", b"e").line()
    for bad in ("", "\n", line.rstrip("\n"), line + "\n", line * (notes.MAX_SIGNATURES + 1), "— x  AAAAAAAA\n",
                line + BODY):
        with pytest.raises(InvalidInput):
            cp.accept_cosignatures(BODY, bad, vkeys)
    assert cp.accept_cosignatures(BODY, line * notes.MAX_SIGNATURES, vkeys) == ()
