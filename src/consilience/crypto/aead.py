"""Symmetric authenticated encryption: ChaCha20-Poly1305 (RFC 8439).

Used wherever a key is already shared or derived (record bodies under a
per-record key, private material under a passphrase-derived key). The nonce
is random and travels in front of the ciphertext, so callers never manage
nonces. With 96-bit random nonces a key must not be used for more than about
2**32 messages; every key in Consilience is derived per purpose (see
``kdf``) and encrypts far fewer, so random nonces are safe here.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from consilience.errors import DecryptionError, InvalidInput
from consilience.i18n import _

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
#: Bytes a sealed message has beyond its plaintext.
OVERHEAD = NONCE_BYTES + TAG_BYTES


def new_key() -> bytes:
    """A fresh 32-byte key from the OS CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def _cipher(key: bytes) -> ChaCha20Poly1305:
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_BYTES:
        raise InvalidInput(_("AEAD key must be {KEY_BYTES} bytes", KEY_BYTES=KEY_BYTES))
    return ChaCha20Poly1305(bytes(key))


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate; returns ``nonce(12) || ciphertext || tag(16)``.

    ``aad`` is authenticated but not included: the opener must supply the same
    bytes, which is how a ciphertext is tied to its context.
    """
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + _cipher(key).encrypt(nonce, bytes(plaintext), bytes(aad))


def open(key: bytes, sealed: bytes, aad: bytes) -> bytes:  # noqa: A001
    """Inverse of ``seal``; DecryptionError on wrong key/aad, tampering or truncation."""
    cipher = _cipher(key)
    data = bytes(sealed)
    if len(data) < OVERHEAD:
        raise DecryptionError(_("sealed message too short"))
    try:
        return cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], bytes(aad))
    except InvalidTag as exc:
        raise DecryptionError(_("could not decrypt: wrong key or damaged data")) from exc
