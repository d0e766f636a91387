"""C2SP signed-note: the spec's example, Go's reference vectors, and strict parsing.

Vectors: tests/vectors/signed_notes.json (each entry names its source). The
Go key is deterministic Ed25519, so signing with it must reproduce the
published note byte for byte, which checks key IDs, line format and base64.
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
from consilience.tlog import notes
from consilience.tlog.notes import EM_DASH, Ed25519Signer, Ed25519Verifier, VerifierKey

V: dict[str, Any] = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "signed_notes.json").read_text())
SPEC = V["c2sp_example"]
GO = V["go_sumdb_note"]


def _go_seed() -> bytes:
    material = base64.b64decode(GO["signer_key"].split("+", 4)[4])
    assert material[0] == notes.SIG_ED25519
    return material[1:]


PETER = Ed25519Verifier.from_vkey(GO["peter_vkey"])
ENOCH = Ed25519Verifier.from_vkey(GO["enoch_vkey"])
GO_NOTE = GO["text"] + "\n" + GO["peter_sig"]


# --- known answers ----------------------------------------------------------------------------


def test_c2sp_spec_example_verifies() -> None:
    key = VerifierKey.parse(SPEC["vkey"])
    assert (key.name, key.key_id.hex(), key.sig_type) == ("example.com/foo", "530d903a", 1)
    assert key.public_key.hex() == SPEC["public_key_hex"]
    assert key.encode() == SPEC["vkey"]
    opened = notes.open_note(SPEC["note"], [Ed25519Verifier.from_vkey(key)])
    assert opened.text == "This is an example message.\n"
    assert [s.name for s in opened.verified] == ["example.com/foo"] and opened.unverified == ()


def test_c2sp_spec_example_fails_on_any_text_change() -> None:
    verifier = Ed25519Verifier.from_vkey(SPEC["vkey"])
    with pytest.raises(VerificationError):
        notes.open_note(SPEC["note"].replace("example message", "example massage"), [verifier])


def test_go_reference_signature_is_reproduced_byte_for_byte() -> None:
    signer = Ed25519Signer("PeterNeumann", _go_seed())
    assert signer.vkey == GO["peter_vkey"]
    assert notes.sign_note(GO["text"], [signer]) == GO_NOTE


def test_go_reference_open_one_or_both_verified() -> None:
    both = GO["text"] + "\n" + GO["peter_sig"] + GO["enoch_sig"]
    opened = notes.open_note(both, [PETER])
    assert [s.name for s in opened.verified] == ["PeterNeumann"]
    assert [(s.name, s.key_id.hex()) for s in opened.unverified] == [("EnochRoot", "af0cfe78")]
    opened = notes.open_note(both.encode("utf-8"), [PETER, ENOCH])
    assert [s.name for s in opened.verified] == ["PeterNeumann", "EnochRoot"] and opened.unverified == ()
    with pytest.raises(VerificationError, match="no signature from a trusted key"):
        notes.open_note(both, [])


def test_sumdb_key_with_plus_in_its_base64() -> None:
    vkey = V["sumdb_checkpoint"]["vkey"]
    assert "+" in vkey.split("+", 2)[2]
    assert VerifierKey.parse(vkey).encode() == vkey
    notes.open_note(V["sumdb_checkpoint"]["note"], [Ed25519Verifier.from_vkey(vkey)])


# --- the verification rules -------------------------------------------------------------------


def test_signature_from_trusted_key_that_fails_rejects_the_whole_note() -> None:
    sig = GO["peter_sig"]
    tampered = GO["text"] + "\n" + sig[:60] + "ABCD" + sig[60:]
    with pytest.raises(VerificationError, match="invalid signature from trusted key PeterNeumann"):
        notes.open_note(tampered, [PETER])
    # ...even when another trusted key signed correctly.
    with pytest.raises(VerificationError):
        notes.open_note(GO["text"] + "\n" + GO["enoch_sig"] + sig[:60] + "ABCD" + sig[60:], [PETER, ENOCH])


def test_unknown_keys_sharing_only_the_name_or_only_the_id_are_ignored() -> None:
    raw = base64.b64decode(GO["peter_sig"].split(" ")[2])
    same_name = notes.Signature("PeterNeumann", b"\x00\x00\x00\x01", raw[4:]).line()
    same_id = notes.Signature("PeterNeuman", raw[:4], raw[4:]).line()
    opened = notes.open_note(GO["text"] + "\n" + same_name + same_id + GO["peter_sig"], [PETER])
    assert len(opened.verified) == 1 and len(opened.unverified) == 2


def test_trusted_key_signing_twice_is_refused_unknown_duplicates_are_ignored() -> None:
    with pytest.raises(VerificationError, match="signed twice"):
        notes.open_note(GO["text"] + "\n" + GO["peter_sig"] * 2, [PETER])
    opened = notes.open_note(GO["text"] + "\n" + GO["peter_sig"] + GO["enoch_sig"] * 2, [PETER])
    assert len(opened.unverified) == 2


def test_ambiguous_trusted_keys_are_a_configuration_error() -> None:
    with pytest.raises(InvalidInput, match="ambiguous"):
        notes.open_note(GO_NOTE, [PETER, ENOCH, ENOCH])


def test_signature_count_limits() -> None:
    signers = [Ed25519Signer(f"k{i}.example", signing.generate()) for i in range(16)]
    note = notes.sign_note("sixteen\n", signers)
    opened = notes.open_note(note, [Ed25519Verifier.from_vkey(s.vkey) for s in signers])
    assert len(opened.verified) == 16  # the spec's MUST-accept floor
    too_many = GO["text"] + "\n" + GO["enoch_sig"] * 100 + GO["peter_sig"]
    with pytest.raises(VerificationError, match="more than 100"):
        notes.open_note(too_many, [PETER])
    with pytest.raises(InvalidInput):
        notes.add_signatures(GO["text"] + "\n" + GO["enoch_sig"] * 100, [Ed25519Signer("x", signing.generate())])


# --- strict parsing ---------------------------------------------------------------------------

BAD_NOTES = {
    "text only": GO["text"],
    "no signatures": GO["text"] + "\n",
    "missing final newline": GO["text"] + "\n" + GO["peter_sig"][:-1],
    "control character": "\x01" + GO_NOTE,
    "carriage return": GO_NOTE.replace("\n", "\r\n"),
    "tab": GO_NOTE.replace("you think", "you\tthink"),
    "space in key name": GO["text"] + "\n" + GO["peter_sig"].replace("PeterNeumann", "Bad Name"),
    "unexpected line": GO_NOTE + "Unexpected line.\n",
    "hyphen for em dash": GO["text"] + "\n" + GO["peter_sig"].replace(EM_DASH, "-"),
    "en dash for em dash": GO["text"] + "\n" + GO["peter_sig"].replace(EM_DASH, "\u2013"),
    "two spaces": GO["text"] + "\n" + GO["peter_sig"].replace(" x08go", "  x08go"),
    "unpadded base64": GO["text"] + "\n" + GO["peter_sig"].replace("=\n", "\n"),
    "base64url": GO["text"] + "\n" + GO["peter_sig"].replace("/", "_"),
    "short signature": GO["text"] + "\n" + EM_DASH + " PeterNeumann x08g\n",
    "blank line after signatures": GO_NOTE + "\n",
    "trailing space": GO_NOTE[:-1] + " \n",
    "empty": "",
}


@pytest.mark.parametrize("text", BAD_NOTES.values(), ids=BAD_NOTES.keys())
def test_malformed_notes_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        notes.parse_note(text)
    with pytest.raises(VerificationError, match="malformed"):
        notes.open_note(text, [PETER])


def test_invalid_utf8_and_oversize_are_refused() -> None:
    with pytest.raises(VerificationError):
        notes.open_note(b"\xff" + GO_NOTE.encode("utf-8"), [PETER])
    with pytest.raises(InvalidInput, match="too large"):
        notes.parse_note("a" * notes.MAX_NOTE_BYTES + "\n\n" + GO["peter_sig"])


def test_text_may_contain_and_end_with_blank_lines() -> None:
    signer = Ed25519Signer("s.example", signing.generate())
    verifier = Ed25519Verifier.from_vkey(signer.vkey)
    for text in ("a\n\nb\n", "Note\n\n", "\n", "ed è subito sera.\n"):
        note = notes.sign_note(text, [signer])
        assert notes.open_note(note, [verifier]).text == text


def test_sign_refuses_bad_text_and_no_signers() -> None:
    signer = Ed25519Signer("s.example", signing.generate())
    for text in ("no newline", "tab\there\n", "cr\r\n"):
        with pytest.raises(InvalidInput):
            notes.sign_note(text, [signer])
    with pytest.raises(InvalidInput):
        notes.sign_note("fine\n", [])
    with pytest.raises(InvalidInput):
        notes.sign_note("fine\n", [Ed25519Signer("bad name", signing.generate())])


def test_add_signatures_keeps_existing_ones() -> None:
    me = Ed25519Signer("EnochRoot.example", signing.generate())
    note = notes.add_signatures(GO_NOTE, [me])
    assert note.startswith(GO_NOTE)
    opened = notes.open_note(note, [PETER, Ed25519Verifier.from_vkey(me.vkey)])
    assert [s.name for s in opened.verified] == ["PeterNeumann", "EnochRoot.example"]


# --- key names and verifier keys --------------------------------------------------------------


@pytest.mark.parametrize("name", ["example.com/log", "oid/1.3.6.1.4.1", "Señor-1", "a", "DEV:witness-little-garden"])
def test_valid_key_names(name: str) -> None:
    assert notes.valid_key_name(name)


@pytest.mark.parametrize(
    "name", ["", "a b", "a+b", "a\tb", "a\nb", "a\u00a0b", "a\u2003b", "a\u2028b", "a\x01b", "\ud800"]
)
def test_invalid_key_names(name: str) -> None:
    assert not notes.valid_key_name(name)
    with pytest.raises(InvalidInput):
        notes.key_id(name, 1, bytes(32))


def test_key_id_is_sha256_of_name_newline_type_key() -> None:
    key = VerifierKey.parse(SPEC["vkey"])
    digest = hashlib.sha256(b"example.com/foo\n\x01" + key.public_key).digest()
    assert notes.key_id("example.com/foo", 1, key.public_key) == digest[:4] == key.key_id
    assert notes.key_id("example.com/foo", 4, key.public_key) != key.key_id


def test_every_mangling_of_a_vkey_is_refused() -> None:
    """As Go's TestNewVerifier: every proper substring and every one-byte change fails."""
    vkey = GO["peter_vkey"]
    for i in range(len(vkey) + 1):
        for j in range(i + 1, len(vkey) + 1):
            if (i, j) != (0, len(vkey)):
                with pytest.raises(InvalidInput):
                    VerifierKey.parse(vkey[i:j])
    for i in range(len(vkey)):
        with pytest.raises(InvalidInput):
            VerifierKey.parse(vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1 :])


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # Go: wrong length, fixed hash
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # Go: unknown type, fixed hash
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # uppercase hex
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_bad_vkeys(vkey: str) -> None:
    with pytest.raises(InvalidInput):
        VerifierKey.parse(vkey)


def test_vkey_type_must_match_the_verifier() -> None:
    public = signing.public_key(signing.generate())
    cosigner = VerifierKey.for_key("w.example", public, notes.SIG_COSIGNATURE_V1)
    assert VerifierKey.parse(cosigner.encode()) == cosigner
    with pytest.raises(InvalidInput, match="type 0x01"):
        Ed25519Verifier.from_vkey(cosigner.encode())
    with pytest.raises(InvalidInput):
        VerifierKey.for_key("w.example", public[:31])
