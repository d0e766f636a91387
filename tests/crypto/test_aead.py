"""ChaCha20-Poly1305 wrapper: layout, round trip and every way opening must fail."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import aead
from consilience.errors import DecryptionError, InvalidInput


def test_new_key() -> None:
    keys = {aead.new_key() for _ in range(8)}
    assert len(keys) == 8 and all(len(k) == 32 for k in keys)


@settings(max_examples=50)
@given(plaintext=st.binary(max_size=4096), aad=st.binary(max_size=64))
def test_round_trip(plaintext: bytes, aad: bytes) -> None:
    key = aead.new_key()
    sealed = aead.seal(key, plaintext, aad)
    assert len(sealed) == len(plaintext) + aead.OVERHEAD == len(plaintext) + 28
    assert aead.open(key, sealed, aad) == plaintext


def test_layout_is_nonce_then_rfc8439_ciphertext() -> None:
    key = aead.new_key()
    sealed = aead.seal(key, b"hello", b"ctx")
    assert ChaCha20Poly1305(key).decrypt(sealed[:12], sealed[12:], b"ctx") == b"hello"


def test_nonces_differ() -> None:
    key = aead.new_key()
    assert aead.seal(key, b"m", b"")[:12] != aead.seal(key, b"m", b"")[:12]


@pytest.mark.parametrize("position", [0, 11, 12, 16, -16, -1])
def test_tampered(position: int) -> None:
    key = aead.new_key()
    sealed = bytearray(aead.seal(key, b"sixteen byte msg", b"ctx"))
    sealed[position] ^= 0x80
    with pytest.raises(DecryptionError):
        aead.open(key, bytes(sealed), b"ctx")


def test_wrong_aad() -> None:
    key = aead.new_key()
    sealed = aead.seal(key, b"msg", b"record-1")
    with pytest.raises(DecryptionError):
        aead.open(key, sealed, b"record-2")
    with pytest.raises(DecryptionError):
        aead.open(key, sealed, b"")


def test_wrong_key() -> None:
    sealed = aead.seal(aead.new_key(), b"msg", b"")
    with pytest.raises(DecryptionError):
        aead.open(aead.new_key(), sealed, b"")


@pytest.mark.parametrize("cut", [0, 5, 12, 27, 28, 30])
def test_truncated(cut: int) -> None:
    key = aead.new_key()
    sealed = aead.seal(key, b"abc", b"")  # 31 bytes
    with pytest.raises(DecryptionError):
        aead.open(key, sealed[:cut], b"")


def test_extended() -> None:
    key = aead.new_key()
    sealed = aead.seal(key, b"abc", b"")
    with pytest.raises(DecryptionError):
        aead.open(key, sealed + b"\x00", b"")


@pytest.mark.parametrize("key", [b"", b"\x00" * 16, b"\x00" * 31, b"\x00" * 33])
def test_bad_key_length(key: bytes) -> None:
    with pytest.raises(InvalidInput):
        aead.seal(key, b"m", b"")
    with pytest.raises(InvalidInput):
        aead.open(key, b"\x00" * 40, b"")
