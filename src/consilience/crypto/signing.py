"""Ed25519 signatures (RFC 8032) from `cryptography`, in raw 32/64-byte form."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _


def generate() -> bytes:
    """A new private key as its 32 raw bytes."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def public_key(private: bytes) -> bytes:
    return _private(private).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign(private: bytes, message: bytes) -> bytes:
    return _private(private).sign(message)


def verify(public: bytes, message: bytes, signature: bytes) -> None:
    if len(public) != 32 or len(signature) != 64:
        raise VerificationError(_("malformed Ed25519 key or signature"))
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError) as exc:
        raise VerificationError(_("Ed25519 signature does not verify")) from exc


def _private(private: bytes) -> Ed25519PrivateKey:
    if len(private) != 32:
        raise InvalidInput(_("an Ed25519 private key is 32 bytes"))
    return Ed25519PrivateKey.from_private_bytes(private)
