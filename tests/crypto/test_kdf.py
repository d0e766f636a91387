"""Labelled HKDF-SHA512, checked against an independent RFC 5869 implementation."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import kdf
from consilience.errors import InvalidInput


def _hkdf_reference(hash_name: str, salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 section 2.2 (extract) and 2.3 (expand), written out with hmac."""
    prk = hmac.new(salt, ikm, hash_name).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hash_name).digest()
        okm += block
        counter += 1
    return okm[:length]


def _reference(ikm: bytes, label: str, context: bytes, length: int) -> bytes:
    info = len(label).to_bytes(2, "big") + label.encode("ascii") + context
    return _hkdf_reference("sha512", b"consilience-v1", ikm, info, length)


def test_rfc5869_test_case_1_through_cryptography() -> None:
    """A.1: shows the HKDF we build on is the standard one."""
    ikm = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    okm = bytes.fromhex(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )
    assert HKDF(algorithm=hashes.SHA256(), length=42, salt=salt, info=info).derive(ikm) == okm
    assert _hkdf_reference("sha256", salt, ikm, info, 42) == okm  # and so is our reference


@pytest.mark.parametrize("length", [1, 32, 64, 65, 200, kdf.MAX_LENGTH])
def test_matches_reference(length: int) -> None:
    ikm = hashlib.sha256(b"ikm").digest()
    assert kdf.derive(ikm, "record key", b"\x00\x01context", length) == _reference(
        ikm, "record key", b"\x00\x01context", length
    )


@settings(max_examples=50)
@given(
    ikm=st.binary(min_size=1, max_size=80),
    label=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40),
    context=st.binary(max_size=80),
    length=st.integers(min_value=1, max_value=300),
)
def test_matches_reference_property(ikm: bytes, label: str, context: bytes, length: int) -> None:
    assert kdf.derive(ikm, label, context, length) == _reference(ikm, label, context, length)


def test_known_answer() -> None:
    """Pins the construction (salt, label prefix, hash) so a refactor cannot drift.

    Value computed once by hand: HMAC-SHA512 extract with salt "consilience-v1",
    then one expand block over 00 04 "test" "context" 01.
    """
    expected = bytes.fromhex("65acc19a9a0bc4758148d0b411f1abc2d0afde4a4c3e54c1f44b5b0a6c349e7b")
    assert kdf.derive(b"\x01" * 32, "test", b"context", 32) == expected


def test_label_and_context_are_separated() -> None:
    ikm = b"\x07" * 32
    assert kdf.derive(ikm, "ab", b"c", 32) != kdf.derive(ikm, "a", b"bc", 32)
    assert kdf.derive(ikm, "a", b"", 32) != kdf.derive(ikm, "b", b"", 32)
    assert kdf.derive(ikm, "a", b"1", 32) != kdf.derive(ikm, "a", b"2", 32)


def test_shorter_output_is_prefix() -> None:
    # HKDF property; documents that length is not bound into the output.
    ikm = b"\x07" * 32
    assert kdf.derive(ikm, "a", b"", 64)[:16] == kdf.derive(ikm, "a", b"", 16)


@pytest.mark.parametrize(
    "args",
    [
        (b"", "label", b"", 32),
        (b"k", "", b"", 32),
        (b"k", "café", b"", 32),
        (b"k", "label", "context", 32),
        (b"k", "label", b"", 0),
        (b"k", "label", b"", kdf.MAX_LENGTH + 1),
        (b"k", "label", b"", True),
        ("k", "label", b"", 32),
    ],
)
def test_rejects_bad_input(args: tuple) -> None:
    with pytest.raises(InvalidInput):
        kdf.derive(*args)
