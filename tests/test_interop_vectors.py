"""tests/vectors/interop.json against the Python SDK (web SDK interop, issue 4).

The same file drives web/test/crypto.test.js. Deterministic parts must equal
a fresh computation (so the file cannot drift from the SDK, and the JS is
checked against what Python computes today); the Python-made ciphertexts in
it must still open here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from consilience.clients import counselor as counselor_mod
from consilience.clients import wallet as wallet_mod
from consilience.crypto import aead, hpke, passphrase
from consilience.errors import DecryptionError
from consilience.protocol import entry, release
from consilience.protocol.encoding import b64u_decode

VECTORS = Path(__file__).resolve().parent / "vectors"
FILE = json.loads((VECTORS / "interop.json").read_text())
CRYPTO = FILE["crypto"]


def _sections_crypto():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("interop_sections_crypto", VECTORS / "sections" / "crypto.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SECTIONS = _sections_crypto()
DETERMINISTIC = SECTIONS.deterministic()


def _h(x: str) -> bytes:
    return bytes.fromhex(x)


def test_file_has_every_section() -> None:
    assert set(CRYPTO) == set(DETERMINISTIC) | {"aead_sealed", "hpke_sealed", "quorum", "sealed_files", "wallet_file",
                                                 "counselor_key_file"}


@pytest.mark.parametrize("key", sorted(DETERMINISTIC))
def test_deterministic_section_equals_the_sdk(key: str) -> None:
    # JSON round trip so tuples/ints compare as they are stored.
    assert CRYPTO[key] == json.loads(json.dumps(DETERMINISTIC[key])), (
        f"interop.json section {key!r} is stale: run python tests/vectors/make_interop.py")


def test_rfc9497_vectors_are_the_ones_the_python_tests_use() -> None:
    assert CRYPTO["oprf_rfc9497"] == json.loads((VECTORS / "rfc9497_ristretto255_sha512.json").read_text())
    assert {s["mode"] for s in CRYPTO["oprf_rfc9497"]["suites"]} == {0, 1}


def test_python_made_aead_ciphertexts_open() -> None:
    for c in CRYPTO["aead_sealed"]:
        assert aead.open(_h(c["key"]), _h(c["sealed"]), _h(c["aad"])) == _h(c["plaintext"])
        with pytest.raises(DecryptionError):
            aead.open(_h(c["key"]), _h(c["sealed"]), _h(c["aad"]) + b"x")


def test_python_made_hpke_ciphertexts_open() -> None:
    for c in CRYPTO["hpke_sealed"]:
        assert hpke.open(_h(c["seed"]), _h(c["ciphertext"]), _h(c["info"])) == _h(c["plaintext"])


def test_quorum_entries_open_with_python_open_match() -> None:
    q = CRYPTO["quorum"]
    for n, seed_hex in enumerate(q["counselor_seeds"]):
        seed = _h(seed_hex)
        key_id = hpke.key_id(hpke.public_key_bytes(seed))
        entries = [release.MatchedEntry(b64u_decode(e["entry_id"]), b64u_decode(e["account_id"]), e["quorum"], True,
                                        b64u_decode(e["envelopes"][SECTIONS.b64u_encode(key_id)]),
                                        b64u_decode(e["body"])) for e in q["entries"]]
        result = release.open_match(_h(q["tag"]), entries, seed, key_id)
        assert [o.body.record for o in result.opened] == q["opened_records"], n
        assert not result.failed and not result.bogus
        below = release.open_match(_h(q["tag"]), entries[:2], seed, key_id)
        assert not below.opened
    for e in q["entries"]:
        body = entry.open_body(_h(e["body_key"]), b64u_decode(e["entry_id"]), b64u_decode(e["body"]))
        assert body.record.startswith("record of reporter")


def test_python_sealed_files_open() -> None:
    for f in CRYPTO["sealed_files"]:
        assert passphrase.open(f["blob"].encode(), f["passphrase"], f["purpose"]) == _h(f["plaintext"])


def test_wallet_and_counselor_key_files_open() -> None:
    w = CRYPTO["wallet_file"]
    raw = passphrase.open(w["blob"].encode(), w["passphrase"], wallet_mod.PURPOSE)
    assert raw == _h(w["wallet_bytes"])
    assert wallet_mod.Wallet.from_bytes(raw).to_bytes() == raw
    k = CRYPTO["counselor_key_file"]
    keys = counselor_mod.CounselorKeys.from_bytes(passphrase.open(k["blob"].encode(), k["passphrase"],
                                                                  counselor_mod.PURPOSE))
    assert keys.to_bytes() == _h(k["key_bytes"])
    assert keys.public_key.hex() == k["public_key"] and keys.key_id.hex() == k["key_id"]
