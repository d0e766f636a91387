"""The ristretto255 prime-order group, through libsodium (via pysodium).

PyNaCl exposes no ristretto255 bindings; pysodium calls the system libsodium,
which has them all. This module is the only place that touches pysodium's
group API, so the rest of the code deals in validated 32-byte encodings and
never in unchecked buffers.
"""

from __future__ import annotations

from collections.abc import Callable

import pysodium

from consilience.errors import InvalidInput
from consilience.i18n import _

# pysodium ships no type information. Its ristretto255 functions return the ``.raw`` of a ctypes
# buffer, so bytes; binding them once under these types lets mypy check every caller below
# instead of trusting ``Any``.
_Nullary = Callable[[], bytes]
_Unary = Callable[[bytes], bytes]
_Binary = Callable[[bytes, bytes], bytes]
_sodium_scalar_reduce: _Unary = pysodium.crypto_core_ristretto255_scalar_reduce
_sodium_scalar_random: _Nullary = pysodium.crypto_core_ristretto255_scalar_random
_sodium_scalar_add: _Binary = pysodium.crypto_core_ristretto255_scalar_add
_sodium_scalar_sub: _Binary = pysodium.crypto_core_ristretto255_scalar_sub
_sodium_scalar_mul: _Binary = pysodium.crypto_core_ristretto255_scalar_mul
_sodium_scalar_invert: _Unary = pysodium.crypto_core_ristretto255_scalar_invert
_sodium_is_valid_point: Callable[[bytes], bool] = pysodium.crypto_core_ristretto255_is_valid_point
_sodium_from_hash: _Unary = pysodium.crypto_core_ristretto255_from_hash
_sodium_scalarmult: _Binary = pysodium.crypto_scalarmult_ristretto255
_sodium_scalarmult_base: _Unary = pysodium.crypto_scalarmult_ristretto255_base
_sodium_add: _Binary = pysodium.crypto_core_ristretto255_add
_sodium_sub: _Binary = pysodium.crypto_core_ristretto255_sub

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
        raise InvalidInput(_("a scalar must be 32 bytes"))
    if int.from_bytes(scalar, "little") >= ORDER:
        raise InvalidInput(_("scalar is not reduced modulo the group order"))
    return bytes(scalar)


def scalar_reduce64(wide: bytes) -> bytes:
    """Reduce a 64-byte uniform string to a scalar (negligible bias)."""
    if len(wide) != 64:
        raise InvalidInput(_("wide reduction needs 64 bytes"))
    return _sodium_scalar_reduce(bytes(wide))


def scalar_random() -> bytes:
    """A uniformly random non-zero scalar."""
    while True:
        s = _sodium_scalar_random()
        if any(s):
            return s


def scalar_add(a: bytes, b: bytes) -> bytes:
    return _sodium_scalar_add(a, b)


def scalar_sub(a: bytes, b: bytes) -> bytes:
    return _sodium_scalar_sub(a, b)


def scalar_mul(a: bytes, b: bytes) -> bytes:
    return _sodium_scalar_mul(a, b)


def scalar_invert(a: bytes) -> bytes:
    if not any(a):
        raise InvalidInput(_("zero has no inverse"))
    return _sodium_scalar_invert(a)


def check_element(element: bytes) -> bytes:
    """Accept only a canonical encoding of a non-identity group element.

    RFC 9497 requires servers and clients to reject the identity; libsodium
    refuses non-canonical encodings but not the identity, hence the extra test.
    """
    if not isinstance(element, (bytes, bytearray)) or len(element) != ELEMENT_BYTES:
        raise InvalidInput(_("a group element must be 32 bytes"))
    # libsodium's validity check accepts the identity's all-zero encoding, so refuse it here.
    if element == bytes(ELEMENT_BYTES) or not _sodium_is_valid_point(bytes(element)):
        raise InvalidInput(_("not a valid non-identity ristretto255 element"))
    return bytes(element)


def element_from_hash(uniform: bytes) -> bytes:
    """The ristretto255 one-way map of RFC 9380 / RFC 9496 on 64 bytes."""
    if len(uniform) != 64:
        raise InvalidInput(_("the ristretto255 map needs 64 bytes"))
    return _sodium_from_hash(bytes(uniform))


def scalar_mult(scalar: bytes, element: bytes) -> bytes:
    """scalar * element; raises if the result is the identity."""
    try:
        return _sodium_scalarmult(scalar, element)
    except ValueError as exc:  # libsodium refuses an identity result
        raise InvalidInput(_("scalar multiplication gave the identity")) from exc


def scalar_mult_base(scalar: bytes) -> bytes:
    try:
        return _sodium_scalarmult_base(scalar)
    except ValueError as exc:
        raise InvalidInput(_("scalar multiplication gave the identity")) from exc


def element_add(a: bytes, b: bytes) -> bytes:
    return _sodium_add(a, b)


def element_sub(a: bytes, b: bytes) -> bytes:
    return _sodium_sub(a, b)
