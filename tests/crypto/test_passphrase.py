"""Passphrase-sealed files: Argon2id known answer, format, failures, atomic writes."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from consilience.crypto import passphrase
from consilience.errors import DecryptionError, InvalidInput

FAST = {"memory_cost_kib": 1024, "iterations": 1, "lanes": 1}
PURPOSE = "counselor-key"


def test_rfc9106_argon2id_vector() -> None:
    """RFC 9106 section 5.3. cryptography's Argon2id takes secret and ad, so the full vector applies."""
    kdf = Argon2id(
        salt=b"\x02" * 16,
        length=32,
        iterations=3,
        lanes=4,
        memory_cost=32,
        ad=b"\x04" * 12,
        secret=b"\x03" * 8,
    )
    tag = kdf.derive(b"\x01" * 32)
    assert tag == bytes.fromhex("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")


def _doc(blob: bytes) -> dict:
    return json.loads(blob)


def _blob(doc: dict) -> bytes:
    return json.dumps(doc).encode()


@pytest.fixture(scope="module")
def sealed() -> bytes:
    return passphrase.seal(b"\x00secret seed\xff", "correct horse", PURPOSE, **FAST)


def test_round_trip(sealed: bytes) -> None:
    assert passphrase.open(sealed, "correct horse", PURPOSE) == b"\x00secret seed\xff"


def test_empty_data_round_trip() -> None:
    assert passphrase.open(passphrase.seal(b"", "pw", PURPOSE, **FAST), "pw", PURPOSE) == b""


def test_document_format(sealed: bytes) -> None:
    doc = _doc(sealed)
    assert doc["format"] == "consilience-sealed/v1"
    assert doc["aead"] == "chacha20-poly1305"
    assert doc["kdf"]["name"] == "argon2id"
    assert (doc["kdf"]["memory_cost_kib"], doc["kdf"]["iterations"], doc["kdf"]["lanes"]) == (1024, 1, 1)
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 16
    assert len(base64.b64decode(doc["nonce"])) == 12
    assert len(base64.b64decode(doc["ciphertext"])) == len(b"\x00secret seed\xff") + 16
    assert b"secret seed" not in sealed


def test_ciphertext_is_the_documented_construction(sealed: bytes) -> None:
    """Recompute key and aad independently of the module's helpers."""
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    doc = _doc(sealed)
    key = Argon2id(
        salt=base64.b64decode(doc["kdf"]["salt"]), length=32, iterations=1, lanes=1, memory_cost=1024
    ).derive(b"correct horse")
    fmt, purpose = b"consilience-sealed/v1", PURPOSE.encode()
    aad = len(fmt).to_bytes(2, "big") + fmt + len(purpose).to_bytes(2, "big") + purpose
    pt = ChaCha20Poly1305(key).decrypt(
        base64.b64decode(doc["nonce"]), base64.b64decode(doc["ciphertext"]), aad
    )
    assert pt == b"\x00secret seed\xff"


def test_defaults_recorded() -> None:
    doc = _doc(passphrase.seal(b"x", "pw", PURPOSE))
    assert (doc["kdf"]["memory_cost_kib"], doc["kdf"]["iterations"], doc["kdf"]["lanes"]) == (65536, 3, 4)


def test_salt_and_nonce_are_fresh() -> None:
    a, b = (_doc(passphrase.seal(b"x", "pw", PURPOSE, **FAST)) for _ in range(2))
    assert a["kdf"]["salt"] != b["kdf"]["salt"] and a["nonce"] != b["nonce"]


def test_wrong_passphrase(sealed: bytes) -> None:
    with pytest.raises(DecryptionError, match="^wrong passphrase or damaged file$"):
        passphrase.open(sealed, "correct horse!", PURPOSE)


def test_wrong_purpose(sealed: bytes) -> None:
    with pytest.raises(DecryptionError, match="wrong passphrase or damaged file"):
        passphrase.open(sealed, "correct horse", "server-share")


def test_unicode_normalisation() -> None:
    composed, decomposed = "caf\u00e9 pass", "cafe\u0301 pass"
    blob = passphrase.seal(b"x", composed, PURPOSE, **FAST)
    assert passphrase.open(blob, decomposed, PURPOSE) == b"x"


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "salt"])
def test_tampered_fields(sealed: bytes, field: str) -> None:
    doc = _doc(sealed)
    holder = doc["kdf"] if field == "salt" else doc
    raw = bytearray(base64.b64decode(holder[field]))
    raw[0] ^= 0x01
    holder[field] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(DecryptionError, match="wrong passphrase or damaged file"):
        passphrase.open(_blob(doc), "correct horse", PURPOSE)


def test_tampered_kdf_params(sealed: bytes) -> None:
    doc = _doc(sealed)
    doc["kdf"]["iterations"] = 2
    with pytest.raises(DecryptionError):
        passphrase.open(_blob(doc), "correct horse", PURPOSE)


def _never_called(*args: object, **kwargs: object) -> None:
    raise AssertionError("Argon2id must not run for an out-of-bounds file")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("memory_cost_kib", 2**40),
        ("memory_cost_kib", passphrase.MAX_MEMORY_COST_KIB + 1),
        ("memory_cost_kib", 8),
        ("iterations", 10**9),
        ("iterations", 0),
        ("lanes", 0),
        ("lanes", 1 << 24),
        ("lanes", True),
        ("iterations", 1.0),
        ("memory_cost_kib", "1024"),
        ("memory_cost_kib", None),
    ],
)
def test_out_of_bounds_params_rejected_before_argon2(
    sealed: bytes, key: str, value: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _doc(sealed)
    doc["kdf"][key] = value
    monkeypatch.setattr(passphrase, "Argon2id", _never_called)
    with pytest.raises(InvalidInput):
        passphrase.open(_blob(doc), "correct horse", PURPOSE)


def _mutations() -> list:
    def drop(key: str):
        return lambda d: d.pop(key)

    def setter(path: tuple, value: object):
        def apply(d: dict) -> None:
            for p in path[:-1]:
                d = d[p]
            d[path[-1]] = value

        return apply

    return [
        drop("format"),
        drop("nonce"),
        drop("kdf"),
        setter(("format",), "consilience-sealed/v2"),
        setter(("aead",), "aes-256-gcm"),
        setter(("kdf", "name"), "scrypt"),
        setter(("kdf", "salt"), base64.b64encode(b"\x00" * 15).decode()),
        setter(("kdf", "salt"), "not base64!"),
        setter(("nonce",), base64.b64encode(b"\x00" * 24).decode()),
        setter(("ciphertext",), base64.b64encode(b"\x00" * 15).decode()),
        setter(("ciphertext",), 12345),
    ]


@pytest.mark.parametrize("mutate", _mutations())
def test_malformed_documents(sealed: bytes, mutate) -> None:
    doc = _doc(sealed)
    mutate(doc)
    with pytest.raises(InvalidInput):
        passphrase.open(_blob(doc), "correct horse", PURPOSE)


@pytest.mark.parametrize("blob", [b"", b"not json", b"\xff\xfe", b"[]", b"null", b"{}"])
def test_not_a_document(blob: bytes) -> None:
    with pytest.raises(InvalidInput):
        passphrase.open(blob, "pw", PURPOSE)


@pytest.mark.parametrize(
    "params",
    [
        {"memory_cost_kib": 512, "iterations": 1, "lanes": 1},
        {"memory_cost_kib": 1024, "iterations": 0, "lanes": 1},
        {"memory_cost_kib": 1024, "iterations": 1, "lanes": 17},
        {"memory_cost_kib": 2**21, "iterations": 1, "lanes": 1},
    ],
)
def test_seal_refuses_params_open_would_refuse(params: dict) -> None:
    with pytest.raises(InvalidInput):
        passphrase.seal(b"x", "pw", PURPOSE, **params)


def test_seal_input_checks() -> None:
    with pytest.raises(InvalidInput):
        passphrase.seal(b"x", "", PURPOSE, **FAST)
    with pytest.raises(InvalidInput):
        passphrase.seal(b"x", "pw", "", **FAST)
    with pytest.raises(InvalidInput):
        passphrase.seal("text", "pw", PURPOSE, **FAST)  # type: ignore[arg-type]


# --- files --------------------------------------------------------------


def test_write_and_read_file(tmp_path: Path) -> None:
    target = tmp_path / "counselor.key"
    old_umask = os.umask(0)  # a permissive umask must not leak into the file mode
    try:
        passphrase.write_sealed_file(target, b"seed bytes", "pw", PURPOSE, **FAST)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert passphrase.read_sealed_file(target, "pw", PURPOSE) == b"seed bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counselor.key"]
    with pytest.raises(DecryptionError):
        passphrase.read_sealed_file(target, "wrong", PURPOSE)


def test_overwrite_replaces_and_tightens_mode(tmp_path: Path) -> None:
    target = tmp_path / "k"
    target.write_bytes(b"old")
    target.chmod(0o644)
    passphrase.write_sealed_file(str(target), b"new", "pw", PURPOSE, **FAST)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert passphrase.read_sealed_file(str(target), "pw", PURPOSE) == b"new"


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "k"
    passphrase.write_sealed_file(target, b"old", "pw", PURPOSE, **FAST)
    before = target.read_bytes()

    def boom(src: object, dst: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(passphrase.os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        passphrase.write_sealed_file(target, b"new", "pw", PURPOSE, **FAST)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]


def test_read_refuses_huge_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passphrase, "MAX_BLOB_BYTES", 100)
    target = tmp_path / "big"
    target.write_bytes(b" " * 101)
    with pytest.raises(InvalidInput):
        passphrase.read_sealed_file(target, "pw", PURPOSE)
