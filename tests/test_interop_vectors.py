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
from consilience.errors import DecryptionError, InvalidInput
from consilience.protocol import accounts, matching
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
    assert set(CRYPTO) == set(DETERMINISTIC) | {"aead_sealed", "hpke_sealed", "sealed_files", "wallet_file",
                                                 "counselor_key_file"}
    # protocol v1 only: their v2 versions are tests/vectors/entry_v2_interop.json and interop.json's "protocol"
    assert not {"envelope", "deployment", "quorum"} & set(CRYPTO)


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


def test_python_sealed_files_open() -> None:
    for f in CRYPTO["sealed_files"]:
        assert passphrase.open(f["blob"].encode(), f["passphrase"], f["purpose"]) == _h(f["plaintext"])


def test_matching_is_the_tag_alone() -> None:
    for c in CRYPTO["matching"]:
        assert set(c) == {"oprf_output", "tag"}
        assert matching.match_tag(_h(c["oprf_output"])).hex() == c["tag"]


def test_wallet_and_counselor_key_files_open() -> None:
    w = CRYPTO["wallet_file"]
    raw = passphrase.open(w["blob"].encode(), w["passphrase"], wallet_mod.PURPOSE)
    assert raw == _h(w["wallet_bytes"])
    wallet = wallet_mod.Wallet.from_bytes(raw)
    assert wallet.to_bytes() == raw and json.loads(raw)["format"] == "consilience-wallet/v2"
    # v2: the account's seed and the administrator's certificate of its key travel in the wallet
    certificate = accounts.parse_certificate(b64u_decode(wallet.certificate))
    assert certificate.account_key == accounts.account_key(b64u_decode(wallet.account_seed, length=32))
    v1 = json.loads(raw)
    v1["format"] = wallet_mod.V1_FORMAT
    with pytest.raises(InvalidInput, match="protocol v1"):
        wallet_mod.Wallet.from_bytes(json.dumps(v1).encode())
    k = CRYPTO["counselor_key_file"]
    keys = counselor_mod.CounselorKeys.from_bytes(passphrase.open(k["blob"].encode(), k["passphrase"],
                                                                  counselor_mod.PURPOSE))
    assert keys.to_bytes() == _h(k["key_bytes"])
    assert keys.public_key.hex() == k["public_key"] and keys.key_id.hex() == k["key_id"]
