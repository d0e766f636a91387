"""Public-key encryption to counselors: RFC 9180 HPKE with a post-quantum KEM.

Escrowed records are encrypted to a counselor's public key long before anyone
opens them, so an adversary who stores ciphertexts today and gets a quantum
computer later must still learn nothing ("harvest now, decrypt later"). The
suite is therefore hybrid: it stays secure while either ML-KEM-768 or X25519
holds.

Suite (fixed; changing it is a protocol version change):

* KEM  ``MLKEM768-X25519`` (kem_id 0x647a), i.e. X-Wing as specified by
  draft-connolly-cfrg-xwing-kem and registered for HPKE by draft-ietf-hpke-pq;
* KDF  HKDF-SHA256 (kdf_id 0x0001);
* AEAD ChaCha20-Poly1305 (aead_id 0x0003).

Only base mode and single-shot messages are used. The HPKE API of
``cryptography`` has no public ``aad`` argument, so everything a ciphertext
must be bound to (protocol version, record id, purpose...) goes into ``info``,
which enters the key schedule: a different ``info`` gives a different key and
opening fails.

A private key is stored and passed around as its 32-byte *seed*, the
decapsulation-key form defined by X-Wing: ``SHAKE256(seed, 96)`` gives the
64-byte ML-KEM-768 seed ``d || z`` followed by the 32-byte X25519 private
key. The seed is small, has no invalid values, and is what the
draft-ietf-hpke-pq test vectors call ``skRm``.
"""

from __future__ import annotations

import hashlib
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from consilience.errors import DecryptionError, InvalidInput
from consilience.i18n import _

KEM_ID = 0x647A
KDF_ID = 0x0001
AEAD_ID = 0x0003
#: RFC 9180 section 5.1 suite_id: "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2).
SUITE_ID = b"HPKE" + KEM_ID.to_bytes(2, "big") + KDF_ID.to_bytes(2, "big") + AEAD_ID.to_bytes(2, "big")
SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)

SEED_BYTES = 32
MLKEM768_PUBLIC_BYTES = 1184
MLKEM768_CIPHERTEXT_BYTES = 1088
X25519_BYTES = 32
#: Public key encoding pk_M || pk_X.
PUBLIC_KEY_BYTES = MLKEM768_PUBLIC_BYTES + X25519_BYTES
#: Encapsulated key enc = ct_M || ct_X.
ENC_BYTES = MLKEM768_CIPHERTEXT_BYTES + X25519_BYTES
TAG_BYTES = 16
#: Bytes a sealed message has beyond its plaintext: enc plus the AEAD tag.
CIPHERTEXT_OVERHEAD = ENC_BYTES + TAG_BYTES

KEY_ID_BYTES = 16
_KEY_ID_LABEL = b"consilience-v1 counselor key id"


def generate_private_key() -> bytes:
    """A fresh 32-byte private key seed from the OS CSPRNG."""
    return secrets.token_bytes(SEED_BYTES)


def _expand(private_seed: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    """X-Wing ``expandDecapsulationKey``: seed -> (ML-KEM-768 key, X25519 key)."""
    if not isinstance(private_seed, (bytes, bytearray)) or len(private_seed) != SEED_BYTES:
        raise InvalidInput(_("private key seed must be {SEED_BYTES} bytes", SEED_BYTES=SEED_BYTES))
    expanded = hashlib.shake_256(bytes(private_seed)).digest(96)
    mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    x25519_key = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    return mlkem_key, x25519_key


def _private_key(private_seed: bytes) -> hpke.MLKEM768X25519PrivateKey:
    return hpke.MLKEM768X25519PrivateKey(*_expand(private_seed))


def public_key_bytes(private_seed: bytes) -> bytes:
    """The encoded public key ``pk_M || pk_X`` (1216 bytes) for a private seed."""
    mlkem_key, x25519_key = _expand(private_seed)
    return mlkem_key.public_key().public_bytes_raw() + x25519_key.public_key().public_bytes_raw()


def parse_public_key(public_key: bytes) -> hpke.MLKEM768X25519PublicKey:
    """Decode and validate a public key; raises InvalidInput if it is unusable.

    Besides the length, this runs the ML-KEM encapsulation-key check of
    FIPS 203 (done by the library on decode) and refuses a low-order X25519
    point: such a key would make the X25519 half contribute nothing, quietly
    leaving the hybrid with ML-KEM alone. Every low-order point gives the
    all-zero shared secret for every scalar, which the library reports as an
    error, so one trial exchange with a throwaway key detects them all.
    """
    if not isinstance(public_key, (bytes, bytearray)) or len(public_key) != PUBLIC_KEY_BYTES:
        raise InvalidInput(_("counselor public key must be {PUBLIC_KEY_BYTES} bytes",
                             PUBLIC_KEY_BYTES=PUBLIC_KEY_BYTES))
    data = bytes(public_key)
    try:
        mlkem_pub = mlkem.MLKEM768PublicKey.from_public_bytes(data[:MLKEM768_PUBLIC_BYTES])
    except ValueError as exc:
        raise InvalidInput(_("counselor public key: invalid ML-KEM-768 part")) from exc
    x25519_pub = x25519.X25519PublicKey.from_public_bytes(data[MLKEM768_PUBLIC_BYTES:])
    try:
        x25519.X25519PrivateKey.generate().exchange(x25519_pub)
    except ValueError as exc:
        raise InvalidInput(_("counselor public key: low-order X25519 part")) from exc
    return hpke.MLKEM768X25519PublicKey(mlkem_pub, x25519_pub)


def seal(public_key: bytes, plaintext: bytes, info: bytes) -> bytes:
    """Encrypt to a counselor: returns ``enc || ciphertext`` (plaintext + 1136 bytes).

    ``info`` must carry the full context the ciphertext belongs to; it is not
    transmitted, the recipient has to supply the same bytes to open.
    """
    key = parse_public_key(public_key)
    try:
        return SUITE.encrypt(bytes(plaintext), key, info=bytes(info))
    except ValueError as exc:  # defensive: parse_public_key should have caught it
        raise InvalidInput(_("cannot encrypt to this public key")) from exc


def open(private_seed: bytes, ciphertext: bytes, info: bytes) -> bytes:  # noqa: A001
    """Decrypt ``enc || ciphertext``; DecryptionError if it does not authenticate.

    Wrong key, wrong ``info``, truncation and any modification all look the
    same to the caller on purpose. A malformed *seed* is a caller bug and
    raises InvalidInput instead.
    """
    key = _private_key(private_seed)
    data = bytes(ciphertext)
    if len(data) < CIPHERTEXT_OVERHEAD:
        raise DecryptionError(_("ciphertext too short"))
    try:
        return SUITE.decrypt(data, key, info=bytes(info))
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError(_("could not decrypt: wrong key or damaged ciphertext")) from exc


def key_id(public_key: bytes) -> bytes:
    """Short stable name for a counselor public key, for lookups and display.

    Defined as the first 16 bytes of::

        SHA-256( I2OSP(31, 2) || "consilience-v1 counselor key id"
                 || suite_id || public_key )

    where ``suite_id`` is the 10-byte RFC 9180 suite identifier above. The
    label is length-prefixed and the suite and key have fixed lengths, so the
    input is unambiguous; including the suite means the same key bytes used
    under another suite would get a different id. 128 bits is a name, not a
    commitment: anything security-relevant must compare full keys.
    """
    parse_public_key(public_key)
    digest = hashlib.sha256(
        len(_KEY_ID_LABEL).to_bytes(2, "big") + _KEY_ID_LABEL + SUITE_ID + bytes(public_key)
    ).digest()
    return digest[:KEY_ID_BYTES]
