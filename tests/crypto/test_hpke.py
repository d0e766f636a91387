"""HPKE: published test vectors, then the behaviour of the public API.

Vector files under tests/vectors/ are small extracts of cryptography-vectors
50.0.2 (see their "source" field).

Known-answer decryption uses ``_decrypt_with_aad``, a *private* function of
cryptography's Rust bindings: the published vectors encrypt with a non-empty
aad ("Count-0"), which the public single-shot API cannot express. It is used
here, in tests only, to check the library against the vectors; production
code must never call it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.bindings._rust import openssl as _rust_openssl
from cryptography.hazmat.primitives import hpke as lib_hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import hpke
from consilience.errors import DecryptionError, InvalidInput

_decrypt_with_aad = _rust_openssl.hpke._decrypt_with_aad  # private API: tests only

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
XWING = json.loads((VECTORS / "hpke_pq_xwing.json").read_text())["vectors"]
RFC9180 = json.loads((VECTORS / "rfc9180_x25519.json").read_text())["vectors"]

_KDFS = {0x0001: lib_hpke.KDF.HKDF_SHA256, 0x0011: lib_hpke.KDF.SHAKE256}
_AEADS = {0x0001: lib_hpke.AEAD.AES_128_GCM, 0x0003: lib_hpke.AEAD.CHACHA20_POLY1305}


def _h(value: str) -> bytes:
    return bytes.fromhex(value)


def _vid(v: dict) -> str:
    return f"kem{v['kem_id']:#06x}-kdf{v['kdf_id']:#06x}-aead{v['aead_id']:#06x}"


def _default_vector() -> dict:
    return next(v for v in XWING if (v["kdf_id"], v["aead_id"]) == (hpke.KDF_ID, hpke.AEAD_ID))


# --- the vector files are what we think they are --------------------------


def test_vector_files_cover_the_suites_we_rely_on() -> None:
    assert {(v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"]) for v in XWING} == {
        (0, 0x647A, 0x0001, 0x0003),
        (0, 0x647A, 0x0011, 0x0003),
    }
    assert {(v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"]) for v in RFC9180} == {
        (0, 0x0020, 0x0001, 0x0001),
        (0, 0x0020, 0x0001, 0x0003),
    }
    for v in XWING + RFC9180:
        assert v["encryptions"][0]["nonce"] == v["base_nonce"]  # i.e. sequence number 0


def test_suite_id_matches_vector() -> None:
    assert hpke.SUITE_ID == _h(_default_vector()["suite_id"])


# --- X-Wing (MLKEM768-X25519) vectors, draft-ietf-hpke-pq -----------------


@pytest.mark.parametrize("v", XWING, ids=_vid)
def test_xwing_seed_expands_to_published_public_key(v: dict) -> None:
    assert len(_h(v["skRm"])) == hpke.SEED_BYTES
    assert hpke.public_key_bytes(_h(v["skRm"])) == _h(v["pkRm"])


@pytest.mark.parametrize("v", XWING, ids=_vid)
def test_xwing_shared_secret_independently(v: dict) -> None:
    """Recompute the X-Wing combiner by hand; pins the enc layout ct_M || ct_X."""
    expanded = hashlib.shake_256(_h(v["skRm"])).digest(96)
    sk_m = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    sk_x = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    enc = _h(v["enc"])
    assert len(enc) == hpke.ENC_BYTES
    ct_m, ct_x = enc[: hpke.MLKEM768_CIPHERTEXT_BYTES], enc[hpke.MLKEM768_CIPHERTEXT_BYTES :]
    ss_m = sk_m.decapsulate(ct_m)
    ss_x = sk_x.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))
    pk_x = sk_x.public_key().public_bytes_raw()
    combined = hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + b"\\.//^\\").digest()
    assert combined == _h(v["shared_secret"])


@pytest.mark.parametrize("v", XWING, ids=_vid)
def test_xwing_vector_decrypts(v: dict) -> None:
    suite = lib_hpke.Suite(lib_hpke.KEM.MLKEM768_X25519, _KDFS[v["kdf_id"]], _AEADS[v["aead_id"]])
    e0 = v["encryptions"][0]
    key = hpke._private_key(_h(v["skRm"]))
    pt = _decrypt_with_aad(suite, _h(v["enc"]) + _h(e0["ct"]), key, info=_h(v["info"]), aad=_h(e0["aad"]))
    assert pt == _h(e0["pt"])


def test_default_suite_object_decrypts_vector() -> None:
    """The module's SUITE constant, not one rebuilt from ids, matches the vector."""
    v = _default_vector()
    e0 = v["encryptions"][0]
    key = hpke._private_key(_h(v["skRm"]))
    pt = _decrypt_with_aad(hpke.SUITE, _h(v["enc"]) + _h(e0["ct"]), key, info=_h(v["info"]), aad=_h(e0["aad"]))
    assert pt == _h(e0["pt"])


def test_public_open_refuses_vector_with_nonempty_aad() -> None:
    """Public open is the aad="" single-shot; the vector used aad "Count-0"."""
    v = _default_vector()
    with pytest.raises(DecryptionError):
        hpke.open(_h(v["skRm"]), _h(v["enc"]) + _h(v["encryptions"][0]["ct"]), _h(v["info"]))


def test_public_round_trip_with_vector_key_is_zero_aad_single_shot() -> None:
    v = _default_vector()
    info, pt = _h(v["info"]), _h(v["encryptions"][0]["pt"])
    sealed = hpke.seal(_h(v["pkRm"]), pt, info)
    assert hpke.open(_h(v["skRm"]), sealed, info) == pt
    key = hpke._private_key(_h(v["skRm"]))
    assert _decrypt_with_aad(hpke.SUITE, sealed, key, info=info, aad=b"") == pt


# --- RFC 9180 Appendix A (DHKEM X25519): the library's HPKE core ----------


@pytest.mark.parametrize("v", RFC9180, ids=_vid)
def test_rfc9180_vector(v: dict) -> None:
    sk = x25519.X25519PrivateKey.from_private_bytes(_h(v["skRm"]))
    assert sk.public_key().public_bytes_raw() == _h(v["pkRm"])
    suite = lib_hpke.Suite(lib_hpke.KEM.X25519, _KDFS[v["kdf_id"]], _AEADS[v["aead_id"]])
    e0 = v["encryptions"][0]
    pt = _decrypt_with_aad(suite, _h(v["enc"]) + _h(e0["ct"]), sk, info=_h(v["info"]), aad=_h(e0["aad"]))
    assert pt == _h(e0["pt"])
    # Public single-shot API (aad = "") with the same key pair.
    sealed = suite.encrypt(_h(e0["pt"]), sk.public_key(), info=_h(v["info"]))
    assert suite.decrypt(sealed, sk, info=_h(v["info"])) == _h(e0["pt"])
    with pytest.raises(InvalidTag):
        suite.decrypt(sealed, sk, info=b"other")


# --- public API -------------------------------------------------------------


@pytest.fixture(scope="module")
def keypair() -> tuple[bytes, bytes]:
    seed = hpke.generate_private_key()
    return seed, hpke.public_key_bytes(seed)


def test_sizes(keypair: tuple[bytes, bytes]) -> None:
    seed, pk = keypair
    assert len(seed) == 32
    assert len(pk) == hpke.PUBLIC_KEY_BYTES == 1216
    sealed = hpke.seal(pk, b"x" * 1024, b"info")
    assert len(sealed) - 1024 == hpke.CIPHERTEXT_OVERHEAD == 1136
    assert hpke.KEM_ID == 0x647A and lib_hpke.KEM.MLKEM768_X25519.enc_length() == hpke.ENC_BYTES


def test_generate_private_key_is_random() -> None:
    assert len({hpke.generate_private_key() for _ in range(8)}) == 8


@settings(max_examples=20, deadline=None)
@given(plaintext=st.binary(max_size=2048), info=st.binary(max_size=128))
def test_round_trip(keypair: tuple[bytes, bytes], plaintext: bytes, info: bytes) -> None:
    seed, pk = keypair
    assert hpke.open(seed, hpke.seal(pk, plaintext, info), info) == plaintext


def test_seal_is_randomised(keypair: tuple[bytes, bytes]) -> None:
    _, pk = keypair
    assert hpke.seal(pk, b"same", b"i") != hpke.seal(pk, b"same", b"i")


@pytest.mark.parametrize("position", [0, 1087, 1088, 1119, 1120, -17, -1])
def test_tampered_ciphertext(keypair: tuple[bytes, bytes], position: int) -> None:
    """Flip one bit in ct_M, ct_X, the AEAD body and the tag."""
    seed, pk = keypair
    sealed = bytearray(hpke.seal(pk, b"an allegation" * 4, b"info"))
    sealed[position] ^= 0x01
    with pytest.raises(DecryptionError):
        hpke.open(seed, bytes(sealed), b"info")


def test_wrong_info(keypair: tuple[bytes, bytes]) -> None:
    seed, pk = keypair
    sealed = hpke.seal(pk, b"secret", b"record 1")
    with pytest.raises(DecryptionError):
        hpke.open(seed, sealed, b"record 2")
    with pytest.raises(DecryptionError):
        hpke.open(seed, sealed, b"")


def test_wrong_key(keypair: tuple[bytes, bytes]) -> None:
    _, pk = keypair
    sealed = hpke.seal(pk, b"secret", b"info")
    with pytest.raises(DecryptionError):
        hpke.open(hpke.generate_private_key(), sealed, b"info")


@pytest.mark.parametrize("cut", [0, 1, 1119, 1120, 1135])
def test_truncated(keypair: tuple[bytes, bytes], cut: int) -> None:
    seed, pk = keypair
    sealed = hpke.seal(pk, b"", b"info")
    assert len(sealed) == 1136
    with pytest.raises(DecryptionError):
        hpke.open(seed, sealed[:cut], b"info")


def test_truncated_and_extended_body(keypair: tuple[bytes, bytes]) -> None:
    seed, pk = keypair
    sealed = hpke.seal(pk, b"some plaintext", b"info")
    for bad in (sealed[:-1], sealed + b"\x00"):
        with pytest.raises(DecryptionError):
            hpke.open(seed, bad, b"info")


def test_open_rejects_malformed_seed(keypair: tuple[bytes, bytes]) -> None:
    seed, pk = keypair
    sealed = hpke.seal(pk, b"x", b"")
    with pytest.raises(InvalidInput):
        hpke.open(seed[:31], sealed, b"")
    with pytest.raises(InvalidInput):
        hpke.public_key_bytes(seed + b"\x00")


def test_parse_public_key_rejects_bad_keys(keypair: tuple[bytes, bytes]) -> None:
    _, pk = keypair
    hpke.parse_public_key(pk)  # sanity: the good key parses
    bad_keys = [
        b"",
        pk[:-1],
        pk + b"\x00",
        b"\xff" * hpke.MLKEM768_PUBLIC_BYTES + pk[-32:],  # coefficients >= q: fails FIPS 203 check
        pk[:-32] + b"\x00" * 32,  # X25519 identity (low order)
        pk[:-32] + b"\x01" + b"\x00" * 31,  # X25519 point of order 4
    ]
    for bad in bad_keys:
        with pytest.raises(InvalidInput):
            hpke.parse_public_key(bad)
        with pytest.raises(InvalidInput):
            hpke.seal(bad, b"x", b"info")
        with pytest.raises(InvalidInput):
            hpke.key_id(bad)


def test_key_id(keypair: tuple[bytes, bytes]) -> None:
    _, pk = keypair
    label = b"consilience-v1 counselor key id"
    expected = hashlib.sha256(len(label).to_bytes(2, "big") + label + hpke.SUITE_ID + pk).digest()[:16]
    assert hpke.key_id(pk) == expected
    assert len(hpke.key_id(pk)) == 16
    other = hpke.public_key_bytes(hpke.generate_private_key())
    assert hpke.key_id(other) != hpke.key_id(pk)


def test_key_id_of_vector_key_is_stable() -> None:
    """Pins the definition: a change here would orphan every stored key id."""
    pk = _h(_default_vector()["pkRm"])
    label = b"consilience-v1 counselor key id"
    expected = hashlib.sha256(b"\x00\x1f" + label + b"HPKE\x64\x7a\x00\x01\x00\x03" + pk).digest()[:16]
    assert hpke.key_id(pk) == expected
