"""The ristretto255 prime-order group, through libsodium (via pysodium).

PyNaCl exposes no ristretto255 bindings; pysodium calls the system libsodium,
which has them all. This module is the only place that touches pysodium's
group API, so the rest of the code deals in validated 32-byte encodings and
never in unchecked buffers.
"""

from __future__ import annotations

import pysodium

from consilience.errors import InvalidInput

ELEMENT_BYTES = 32
SCALAR_BYTES = 32
#: The group order ell = 2^252 + 27742317777372353535851937790883648493.
ORDER = 2**252 + 27742317777372353535851937790883648493


def scalar_from_int(value: int) -> bytes:
    """Encode an integer modulo the group order as a canonical scalar."""
    return (value % ORDER).to_bytes(SCALAR_BYTES, "little")


def scalar_to_int(scalar: bytes) -> int:
    return int.from_bytes(check_scalar(scalar), "little")


def check_scalar(scalar: bytes) -> bytes:
    """Reject anything that is not a canonical (reduced) 32-byte scalar."""
    if not isinstance(scalar, (bytes, bytearray)) or len(scalar) != SCALAR_BYTES:
        raise InvalidInput("a scalar must be 32 bytes")
    if int.from_bytes(scalar, "little") >= ORDER:
        raise InvalidInput("scalar is not reduced modulo the group order")
    return bytes(scalar)


def scalar_reduce64(wide: bytes) -> bytes:
    """Reduce a 64-byte uniform string to a scalar (negligible bias)."""
    if len(wide) != 64:
        raise InvalidInput("wide reduction needs 64 bytes")
    return pysodium.crypto_core_ristretto255_scalar_reduce(bytes(wide))


def scalar_random() -> bytes:
    """A uniformly random non-zero scalar."""
    while True:
        s = pysodium.crypto_core_ristretto255_scalar_random()
        if any(s):
            return s


def scalar_add(a: bytes, b: bytes) -> bytes:
    return pysodium.crypto_core_ristretto255_scalar_add(a, b)


def scalar_sub(a: bytes, b: bytes) -> bytes:
    return pysodium.crypto_core_ristretto255_scalar_sub(a, b)


def scalar_mul(a: bytes, b: bytes) -> bytes:
    return pysodium.crypto_core_ristretto255_scalar_mul(a, b)


def scalar_invert(a: bytes) -> bytes:
    if not any(a):
        raise InvalidInput("zero has no inverse")
    return pysodium.crypto_core_ristretto255_scalar_invert(a)


def check_element(element: bytes) -> bytes:
    """Accept only a canonical encoding of a non-identity group element.

    RFC 9497 requires servers and clients to reject the identity; libsodium
    refuses non-canonical encodings but not the identity, hence the extra test.
    """
    if not isinstance(element, (bytes, bytearray)) or len(element) != ELEMENT_BYTES:
        raise InvalidInput("a group element must be 32 bytes")
    # libsodium's validity check accepts the identity's all-zero encoding, so refuse it here.
    if element == bytes(ELEMENT_BYTES) or not pysodium.crypto_core_ristretto255_is_valid_point(bytes(element)):
        raise InvalidInput("not a valid non-identity ristretto255 element")
    return bytes(element)


def element_from_hash(uniform: bytes) -> bytes:
    """The ristretto255 one-way map of RFC 9380 / RFC 9496 on 64 bytes."""
    if len(uniform) != 64:
        raise InvalidInput("the ristretto255 map needs 64 bytes")
    return pysodium.crypto_core_ristretto255_from_hash(bytes(uniform))


def scalar_mult(scalar: bytes, element: bytes) -> bytes:
    """scalar * element; raises if the result is the identity."""
    try:
        return pysodium.crypto_scalarmult_ristretto255(scalar, element)
    except ValueError as exc:  # libsodium refuses an identity result
        raise InvalidInput("scalar multiplication gave the identity") from exc


def scalar_mult_base(scalar: bytes) -> bytes:
    try:
        return pysodium.crypto_scalarmult_ristretto255_base(scalar)
    except ValueError as exc:
        raise InvalidInput("scalar multiplication gave the identity") from exc


def element_add(a: bytes, b: bytes) -> bytes:
    return pysodium.crypto_core_ristretto255_add(a, b)


def element_sub(a: bytes, b: bytes) -> bytes:
    return pysodium.crypto_core_ristretto255_sub(a, b)
