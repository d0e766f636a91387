"""Hashing to ristretto255 and to its scalar field (RFC 9380, RFC 9497).

libsodium provides the ristretto255 one-way map but not the message
expansion in front of it, and the OPRF suite fixes both: hash_to_ristretto255
is expand_message_xmd with SHA-512 followed by the map, and HashToScalar is
the same expansion reduced modulo the group order. Every output of the OPRF
depends on these bytes, so they follow the RFCs exactly and are pinned by
the official test vectors.
"""

from __future__ import annotations

import hashlib

from consilience.crypto import ristretto
from consilience.errors import InvalidInput
from consilience.i18n import _

_B_IN_BYTES = 64  # SHA-512 output size
_R_IN_BYTES = 128  # SHA-512 input block size
_MAX_DST = 255


def _i2osp(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


def expand_message_xmd(msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    """RFC 9380 section 5.3.1 with SHA-512.

    Over-long tags are hashed down as RFC 9380 section 5.3.3 requires rather
    than rejected, so that any caller-chosen tag stays interoperable.
    """
    if len(dst) > _MAX_DST:
        dst = hashlib.sha512(b"H2C-OVERSIZE-DST-" + dst).digest()
    ell = -(-len_in_bytes // _B_IN_BYTES)
    if len_in_bytes <= 0 or ell > 255 or len_in_bytes > 65535:
        raise InvalidInput(_("expand_message_xmd output length out of range"))
    dst_prime = dst + _i2osp(len(dst), 1)
    msg_prime = bytes(_R_IN_BYTES) + msg + _i2osp(len_in_bytes, 2) + b"\x00" + dst_prime
    b0 = hashlib.sha512(msg_prime).digest()
    bi = hashlib.sha512(b0 + b"\x01" + dst_prime).digest()
    blocks = [bi]
    for i in range(2, ell + 1):
        mixed = bytes(x ^ y for x, y in zip(b0, bi, strict=False))
        bi = hashlib.sha512(mixed + _i2osp(i, 1) + dst_prime).digest()
        blocks.append(bi)
    return b"".join(blocks)[:len_in_bytes]


def hash_to_ristretto255(msg: bytes, dst: bytes) -> bytes:
    """RFC 9380 hash_to_ristretto255: 64 expanded bytes through the one-way map."""
    return ristretto.element_from_hash(expand_message_xmd(msg, dst, 64))


def hash_to_scalar(msg: bytes, dst: bytes) -> bytes:
    """RFC 9497 HashToScalar for ristretto255: 64 bytes, little-endian, mod the order.

    Reducing 512 bits keeps the bias below 2^-250, which is why the RFC asks
    for 64 bytes rather than 32.
    """
    return ristretto.scalar_reduce64(expand_message_xmd(msg, dst, 64))
