"""BLS12-381: checked encodings, hashing, scalar multiplication, pairings and Lagrange combination.

The foundation of protocol v2's quorum layer; nothing in protocol v1 uses it.
A small typed API over two libraries, so that the rest of the code deals only
in values that have been checked:

* ``py-arkworks-bls12381`` (arkworks): RFC 9380 hash_to_curve, decoding with
  the subgroup check, additions, multi-scalar sums, pairings. Its scalar
  multiplication is variable-time: it takes longer the longer and denser the
  scalar is.
* ``pyblst`` (blst): constant-time scalar multiplication, for every place a
  secret scalar meets a point someone else chose (:meth:`G1Point.mul_secret`).

Every value that crosses the network or the disk has one encoding, and the
decoders accept exactly that encoding and nothing else.

Scalar (32 bytes)
    An integer modulo the prime group order
    ``r = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001``,
    32 bytes big-endian, ``< r``. :meth:`Scalar.from_bytes` refuses ``>= r``
    and, unless told otherwise, 0.

G1 point (48 bytes)
    The compressed form of draft-irtf-cfrg-pairing-friendly-curves-11
    Appendix C (the "ZCash" form; also blst's, arkworks' and
    @noble/curves'): the affine x coordinate (``< p``, where
    ``p = 0x1a0111ea…ffffaaab`` is the base field's prime) as 48 bytes
    big-endian, whose top three bits, which x never uses, are flags:
    bit 7 of byte 0 is 1 (compressed), bit 6 is 0 (not the identity; the
    identity is never encoded), bit 5 is 1 exactly when y is the larger of
    ``y`` and ``p - y``.

G2 point (96 bytes)
    The same for the twist over Fp2 = Fp[u]/(u² + 1): ``x = x0 + x1·u`` as
    ``x1 || x0``, each 48 bytes big-endian, with the same three flags on byte
    0; bit 5 compares ``y1`` with ``p - y1``, or ``y0`` with ``p - y0`` when
    ``y1`` is 0.

    Decoding either kind refuses: the wrong length, a clear compression bit,
    the identity (in any of its spellings), x not reduced modulo p, an x with
    no point on the curve, a point outside the prime-order subgroup (the
    curves' small-order parts, which the pairing ignores, would otherwise let
    a client learn a key server's secret modulo the cofactor), and anything
    that does not re-encode to the same bytes.

GT element (576 bytes)
    GT is the subgroup of order r of Fp12*, with the tower
    ``Fp2 = Fp[u]/(u² + 1)``, ``Fp6 = Fp2[v]/(v³ − (u + 1))``,
    ``Fp12 = Fp6[w]/(w² − v)``. An element ``f = g + h·w`` with
    ``g = g0 + g1·v + g2·v²``, ``h = h0 + h1·v + h2·v²`` and each
    ``gi, hi = a + b·u`` is the twelve coefficients ::

        g0.a g0.b g1.a g1.b g2.a g2.b h0.a h0.b h1.a h1.b h2.a h2.b

    each 48 bytes big-endian and ``< p``: 12 × 48 = 576 bytes. This is the
    order of the draft's pairing vector (its e_0 … e_11) and of
    @noble/curves' ``Fp12.toBytes``.

    The value is the reduced optimal ate pairing itself,
    ``e(P, Q) = f_{z,Q}(P)^((p¹² − 1)/r)`` with ``z = −0xd201000000010000``:
    for the two generators it is the draft's vector, 11619b45…d54558 ….
    arkworks and @noble/curves (and zkcrypto, whose published e(G1, G2) is
    the same) return ``e(P, Q)³`` instead, as if the exponent were
    ``3·(p¹² − 1)/r``: their final exponentiation computes the hard part
    with a faster formula for a multiple of it. e(G1, G2)³ starts
    1250ebd8…. :func:`pairing` undoes the cube (see there). Both claims are
    tests: an independent textbook computation of the pairing in
    tests/crypto/test_bls12381.py gives the draft's 576 bytes, and arkworks'
    raw output is their cube; web/test/bls12381.test.js checks the same for
    @noble/curves.

Hashing
    :func:`hash_to_g1` is RFC 9380's suite BLS12381G1_XMD:SHA-256_SSWU_RO_;
    :func:`hash_to_scalar` is RFC 9380 section 5 hash_to_field into the scalar
    field, count 1, with expand_message_xmd and SHA-256 and L = 48 bytes
    (``ceil((255 + 128) / 8)``). Domain separation tags must be 1 to 255
    bytes: RFC 9380 forbids empty ones, and longer ones would need the RFC's
    oversize-tag rule, which nothing here needs.

What is and is not constant time: :meth:`G1Point.mul_secret` and
:meth:`G2Point.mul_secret` run blst's fixed-length (256-bit) GLV
multiplication, whose time does not depend on the scalar; the conversion of
the Python integer into blst's scalar goes through Python and num-bigint,
which are not constant time at the level of leading zero bytes, far below
the scalar-size and scalar-weight leak of arkworks' multiplication that this
avoids. :class:`Scalar` arithmetic is Python integer arithmetic, not
constant time either.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from typing import Protocol, final

import py_arkworks_bls12381 as ark
import pyblst

from consilience.errors import InvalidInput
from consilience.i18n import _

#: The prime order r of G1, G2 and GT, and so the modulus of the scalar field.
ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
#: The prime p of the base field Fp.
FIELD_MODULUS = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB

SCALAR_BYTES = 32
G1_BYTES = 48
G2_BYTES = 96
FP_BYTES = 48
GT_BYTES = 12 * FP_BYTES

#: RFC 9380 section 5: L = ceil((ceil(log2(r)) + k) / 8) with k = 128 for the scalar field.
_SCALAR_L = 48
_MAX_DST = 255


# -- pyblst, typed -------------------------------------------------------------------------------
# pyblst ships no type information. These are the few calls used here, bound once under the types
# they have, so mypy checks every use below instead of trusting Any. From its Rust source
# (OpShin/pyblst 50e91e5): uncompress checks the encoding, the curve and the subgroup; scalar_mul
# reduces its integer modulo r and runs blst_p1_mult/blst_p2_mult over 256 bits; compress returns bytes.


class _BlstPoint(Protocol):
    def scalar_mul(self, scalar: int, /) -> _BlstPoint: ...

    def compress(self) -> bytes: ...


_blst_g1_uncompress: Callable[[bytes], _BlstPoint] = pyblst.BlstP1Element.uncompress
_blst_g2_uncompress: Callable[[bytes], _BlstPoint] = pyblst.BlstP2Element.uncompress


# -- scalars ---------------------------------------------------------------------------------------


@final
class Scalar:
    """An element of the scalar field Z/rZ; immutable.

    ``Scalar(n)`` reduces any integer modulo r (for constants and
    arithmetic); bytes from the network or disk go through
    :meth:`from_bytes`, which refuses what is not canonical. The value is
    not shown by ``repr``, so that a secret cannot reach a log by accident.
    """

    __slots__ = ("_value",)
    _value: int

    def __init__(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("a Scalar is made from an int")
        object.__setattr__(self, "_value", value % ORDER)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Scalar is immutable")

    @classmethod
    def from_bytes(cls, data: bytes, *, allow_zero: bool = False) -> Scalar:
        """32 bytes big-endian, ``< r``; 0 only with ``allow_zero=True``."""
        if not isinstance(data, (bytes, bytearray)) or len(data) != SCALAR_BYTES:
            raise InvalidInput(_("a BLS12-381 scalar must be {SCALAR_BYTES} bytes", SCALAR_BYTES=SCALAR_BYTES))
        value = int.from_bytes(data, "big")
        if value >= ORDER:
            raise InvalidInput(_("BLS12-381 scalar is not reduced modulo the group order"))
        if value == 0 and not allow_zero:
            raise InvalidInput(_("BLS12-381 scalar must not be zero"))
        return cls(value)

    @classmethod
    def random(cls) -> Scalar:
        """A uniformly random nonzero scalar, from the operating system's generator."""
        return cls(secrets.randbelow(ORDER - 1) + 1)

    def to_bytes(self) -> bytes:
        return self._value.to_bytes(SCALAR_BYTES, "big")

    def __int__(self) -> int:
        return self._value

    def is_zero(self) -> bool:
        return self._value == 0

    def inverse(self) -> Scalar:
        if self._value == 0:
            raise InvalidInput(_("zero has no inverse modulo the group order"))
        return Scalar(pow(self._value, -1, ORDER))

    def __add__(self, other: Scalar) -> Scalar:
        return Scalar(self._value + _scalar(other)._value)

    def __sub__(self, other: Scalar) -> Scalar:
        return Scalar(self._value - _scalar(other)._value)

    def __mul__(self, other: Scalar) -> Scalar:
        return Scalar(self._value * _scalar(other)._value)

    def __neg__(self) -> Scalar:
        return Scalar(-self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scalar) and self._value == other._value

    def __hash__(self) -> int:
        return hash((Scalar, self._value))

    def __repr__(self) -> str:
        return "Scalar(<hidden>)"


def _scalar(value: object) -> Scalar:
    if not isinstance(value, Scalar):
        raise TypeError(f"expected a Scalar, got {type(value).__name__}")
    return value


def _lib_scalar(k: Scalar) -> ark.Scalar:
    return ark.Scalar.from_be_bytes(k.to_bytes())


# -- hashing ---------------------------------------------------------------------------------------


def _check_dst(dst: bytes) -> bytes:
    if not isinstance(dst, (bytes, bytearray)) or not 1 <= len(dst) <= _MAX_DST:
        raise InvalidInput(_("a domain separation tag must be 1 to {MAX_DST} bytes", MAX_DST=_MAX_DST))
    return bytes(dst)


def _expand_message_xmd_sha256(msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    """RFC 9380 section 5.3.1 with SHA-256 (b_in_bytes 32, s_in_bytes 64)."""
    dst = _check_dst(dst)
    ell = -(-len_in_bytes // 32)
    if len_in_bytes <= 0 or ell > 255 or len_in_bytes > 65535:
        raise InvalidInput(_("expand_message_xmd output length out of range"))
    dst_prime = dst + bytes([len(dst)])
    b0 = hashlib.sha256(bytes(64) + bytes(msg) + len_in_bytes.to_bytes(2, "big") + b"\x00" + dst_prime).digest()
    bi = hashlib.sha256(b0 + b"\x01" + dst_prime).digest()
    blocks = [bi]
    for i in range(2, ell + 1):
        bi = hashlib.sha256(bytes(x ^ y for x, y in zip(b0, bi, strict=True)) + bytes([i]) + dst_prime).digest()
        blocks.append(bi)
    return b"".join(blocks)[:len_in_bytes]


def _hash_to_field(msg: bytes, dst: bytes, count: int, modulus: int, length: int) -> list[int]:
    """RFC 9380 section 5.2 hash_to_field for a prime field (m = 1), L = ``length`` bytes per element."""
    uniform = _expand_message_xmd_sha256(msg, dst, count * length)
    return [int.from_bytes(uniform[i * length : (i + 1) * length], "big") % modulus for i in range(count)]


def hash_to_scalar(data: bytes, dst: bytes) -> Scalar:
    """RFC 9380 hash_to_field into Z/rZ: 48 bytes of expand_message_xmd(SHA-256), big-endian, mod r.

    Reducing 384 bits leaves a bias below 2^-128. The result is zero only
    with probability 1/r.
    """
    return Scalar(_hash_to_field(data, dst, 1, ORDER, _SCALAR_L)[0])


def hash_to_g1(msg: bytes, dst: bytes) -> G1Point:
    """RFC 9380 hash_to_curve, suite BLS12381G1_XMD:SHA-256_SSWU_RO_ (the library clears the cofactor)."""
    return G1Point._wrap(ark.G1Point.hash_to_curve(bytes(msg), _check_dst(dst)))


# -- points ----------------------------------------------------------------------------------------


@final
class G1Point:
    """A point of G1, the order-r subgroup of E(Fp): y² = x³ + 4; immutable.

    Values come from :meth:`from_bytes` (checked), :meth:`generator`,
    :func:`hash_to_g1` and arithmetic on those, so every G1Point is in G1.
    Arithmetic may reach the identity (``P - P``); :meth:`to_bytes` refuses
    to encode it, as :meth:`from_bytes` refuses to decode it.
    """

    __slots__ = ("_point", "_blst")
    _point: ark.G1Point
    _blst: _BlstPoint | None

    def __init__(self) -> None:
        raise TypeError("G1 points come from G1Point.from_bytes, G1Point.generator() or hash_to_g1()")

    @classmethod
    def _wrap(cls, point: ark.G1Point, blst: _BlstPoint | None = None) -> G1Point:
        self = object.__new__(cls)
        object.__setattr__(self, "_point", point)
        object.__setattr__(self, "_blst", blst)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("G1Point is immutable")

    @classmethod
    def generator(cls) -> G1Point:
        return cls._wrap(ark.G1Point())

    @classmethod
    def identity(cls) -> G1Point:
        return cls._wrap(ark.G1Point.identity())

    @classmethod
    def from_bytes(cls, data: bytes) -> G1Point:
        """Decode 48 bytes (module docstring); InvalidInput unless a canonical non-identity G1 point."""
        data = _check_length(data, G1_BYTES, "G1")
        _check_flags(data, "G1")
        try:
            # from_compressed_bytes checks the curve and the subgroup; the _unchecked variants and
            # from_xy_bytes_* do not, and must never see bytes from outside.
            point = ark.G1Point.from_compressed_bytes(data)
        except ValueError:
            raise InvalidInput(_("not a point of G1: off the curve, outside the prime-order subgroup, or x not "
                                 "reduced")) from None
        # arkworks reads the identity from any x with the infinity flag, and ignores the sort flag there;
        # re-encoding catches every such spelling (and anything else it might tolerate).
        if point.to_compressed_bytes() != data:
            raise InvalidInput(_("non-canonical encoding of a G1 point"))
        return cls._wrap(point)

    def to_bytes(self) -> bytes:
        """The 48-byte compressed encoding; InvalidInput for the identity, which is never encoded."""
        encoded = self._point.to_compressed_bytes()
        if encoded[0] & 0x40:
            raise InvalidInput(_("the identity of G1 is never encoded"))
        return encoded

    def is_identity(self) -> bool:
        return self._point == _G1_IDENTITY

    def mul_secret(self, k: Scalar) -> G1Point:
        """k·P in constant time (blst): for every secret k meeting a point someone else chose.

        A key server's share times a client's blinded point, the client's own
        blinding or unblinding, anything whose k must not leak through its
        running time. Costs a round trip through blst's encoding (cached per
        point, so one point times many secrets pays it once).
        """
        blst = self._blst
        if blst is None:
            blst = _blst_g1_uncompress(self._point.to_compressed_bytes())
            object.__setattr__(self, "_blst", blst)
        product = blst.scalar_mul(int(_scalar(k)))
        # The product of a G1 point stays in G1, so the subgroup check can be skipped on the way back;
        # the decoder still solves for y from blst's canonical x.
        return G1Point._wrap(ark.G1Point.from_compressed_bytes_unchecked(product.compress()), product)

    def mul_public(self, k: Scalar) -> G1Point:
        """k·P with arkworks' variable-time multiplication: only when k is public.

        Faster for short scalars (batch-verification coefficients, powers of a
        public abscissa); its time reveals the scalar's length and weight.
        """
        return G1Point._wrap(self._point * _lib_scalar(_scalar(k)))

    @staticmethod
    def msm_public(points: Sequence[G1Point], scalars: Sequence[Scalar]) -> G1Point:
        """Σ k_i·P_i for public k_i (arkworks' Pippenger multi-scalar multiplication, variable time)."""
        if len(points) != len(scalars):  # arkworks would silently use the shorter of the two
            raise InvalidInput(_("msm needs as many scalars as points"))
        if not points:
            return G1Point.identity()
        return G1Point._wrap(ark.G1Point.multiexp_unchecked([_g1(p)._point for p in points],
                                                            [_lib_scalar(_scalar(k)) for k in scalars]))

    @staticmethod
    def sum(points: Sequence[G1Point]) -> G1Point:
        total = ark.G1Point.identity()
        for point in points:
            total = total + _g1(point)._point
        return G1Point._wrap(total)

    def __add__(self, other: G1Point) -> G1Point:
        return G1Point._wrap(self._point + _g1(other)._point)

    def __sub__(self, other: G1Point) -> G1Point:
        return G1Point._wrap(self._point - _g1(other)._point)

    def __neg__(self) -> G1Point:
        return G1Point._wrap(-self._point)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, G1Point) and self._point == other._point

    def __hash__(self) -> int:
        return hash((G1Point, self._point.to_compressed_bytes()))

    def __repr__(self) -> str:
        return f"G1Point({self._point.to_compressed_bytes().hex()})"


@final
class G2Point:
    """A point of G2, the order-r subgroup of the twist E'(Fp2): y² = x³ + 4(u + 1); immutable.

    The same rules as :class:`G1Point`.
    """

    __slots__ = ("_point", "_blst")
    _point: ark.G2Point
    _blst: _BlstPoint | None

    def __init__(self) -> None:
        raise TypeError("G2 points come from G2Point.from_bytes or G2Point.generator()")

    @classmethod
    def _wrap(cls, point: ark.G2Point, blst: _BlstPoint | None = None) -> G2Point:
        self = object.__new__(cls)
        object.__setattr__(self, "_point", point)
        object.__setattr__(self, "_blst", blst)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("G2Point is immutable")

    @classmethod
    def generator(cls) -> G2Point:
        return cls._wrap(ark.G2Point())

    @classmethod
    def identity(cls) -> G2Point:
        return cls._wrap(ark.G2Point.identity())

    @classmethod
    def from_bytes(cls, data: bytes) -> G2Point:
        """Decode 96 bytes (module docstring); InvalidInput unless a canonical non-identity G2 point."""
        data = _check_length(data, G2_BYTES, "G2")
        _check_flags(data, "G2")
        try:
            point = ark.G2Point.from_compressed_bytes(data)  # checks the curve and the subgroup
        except ValueError:
            raise InvalidInput(_("not a point of G2: off the curve, outside the prime-order subgroup, or x not "
                                 "reduced")) from None
        if point.to_compressed_bytes() != data:
            raise InvalidInput(_("non-canonical encoding of a G2 point"))
        return cls._wrap(point)

    def to_bytes(self) -> bytes:
        """The 96-byte compressed encoding; InvalidInput for the identity, which is never encoded."""
        encoded = self._point.to_compressed_bytes()
        if encoded[0] & 0x40:
            raise InvalidInput(_("the identity of G2 is never encoded"))
        return encoded

    def is_identity(self) -> bool:
        return self._point == _G2_IDENTITY

    def mul_secret(self, k: Scalar) -> G2Point:
        """k·Q in constant time (blst): for every secret k meeting a point someone else chose."""
        blst = self._blst
        if blst is None:
            blst = _blst_g2_uncompress(self._point.to_compressed_bytes())
            object.__setattr__(self, "_blst", blst)
        product = blst.scalar_mul(int(_scalar(k)))
        return G2Point._wrap(ark.G2Point.from_compressed_bytes_unchecked(product.compress()), product)

    def mul_public(self, k: Scalar) -> G2Point:
        """k·Q with arkworks' variable-time multiplication: only when k is public."""
        return G2Point._wrap(self._point * _lib_scalar(_scalar(k)))

    @staticmethod
    def msm_public(points: Sequence[G2Point], scalars: Sequence[Scalar]) -> G2Point:
        """Σ k_i·Q_i for public k_i (variable time); e.g. E_q(x) = Σ_j x^j·C_{q,j}."""
        if len(points) != len(scalars):
            raise InvalidInput(_("msm needs as many scalars as points"))
        if not points:
            return G2Point.identity()
        return G2Point._wrap(ark.G2Point.multiexp_unchecked([_g2(p)._point for p in points],
                                                            [_lib_scalar(_scalar(k)) for k in scalars]))

    @staticmethod
    def sum(points: Sequence[G2Point]) -> G2Point:
        total = ark.G2Point.identity()
        for point in points:
            total = total + _g2(point)._point
        return G2Point._wrap(total)

    def __add__(self, other: G2Point) -> G2Point:
        return G2Point._wrap(self._point + _g2(other)._point)

    def __sub__(self, other: G2Point) -> G2Point:
        return G2Point._wrap(self._point - _g2(other)._point)

    def __neg__(self) -> G2Point:
        return G2Point._wrap(-self._point)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, G2Point) and self._point == other._point

    def __hash__(self) -> int:
        return hash((G2Point, self._point.to_compressed_bytes()))

    def __repr__(self) -> str:
        return f"G2Point({self._point.to_compressed_bytes().hex()})"


_G1_IDENTITY = ark.G1Point.identity()
_G2_IDENTITY = ark.G2Point.identity()


def _check_length(data: bytes, size: int, name: str) -> bytes:
    if not isinstance(data, (bytes, bytearray)) or len(data) != size:
        raise InvalidInput(_("a {name} point must be {size} bytes (compressed)", name=name, size=size))
    return bytes(data)


def _check_flags(data: bytes, name: str) -> None:
    if not data[0] & 0x80:
        raise InvalidInput(_("{name} point is not in compressed form", name=name))
    if data[0] & 0x40:
        raise InvalidInput(_("the identity is not accepted as a {name} point", name=name))


def _g1(value: object) -> G1Point:
    if not isinstance(value, G1Point):
        raise TypeError(f"expected a G1Point, got {type(value).__name__}")
    return value


def _g2(value: object) -> G2Point:
    if not isinstance(value, G2Point):
        raise TypeError(f"expected a G2Point, got {type(value).__name__}")
    return value


# -- pairings --------------------------------------------------------------------------------------


@final
class GT:
    """An element of GT (multiplicative, order r); immutable. Made only by :func:`pairing` and products."""

    __slots__ = ("_point",)
    _point: ark.GT

    def __init__(self) -> None:
        raise TypeError("GT elements come from pairing() or GT.one()")

    @classmethod
    def _wrap(cls, value: ark.GT) -> GT:
        self = object.__new__(cls)
        object.__setattr__(self, "_point", value)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("GT is immutable")

    @classmethod
    def one(cls) -> GT:
        return cls._wrap(ark.GT.one())

    def to_bytes(self) -> bytes:
        """The canonical 576 bytes of the module docstring."""
        # arkworks offers only its own serialisation (through str): the same twelve coefficients in the
        # same order, each 48 bytes little-endian. Reverse each one; check the shape, so that a library
        # that changed its format fails here rather than yielding other bytes.
        raw = bytes.fromhex(str(self._point))
        if len(raw) != GT_BYTES:
            raise RuntimeError("py-arkworks-bls12381 serialised GT in an unexpected format")
        out = b"".join(raw[i : i + FP_BYTES][::-1] for i in range(0, GT_BYTES, FP_BYTES))
        if any(int.from_bytes(out[i : i + FP_BYTES], "big") >= FIELD_MODULUS for i in range(0, GT_BYTES, FP_BYTES)):
            raise RuntimeError("py-arkworks-bls12381 serialised GT in an unexpected format")
        return out

    def is_one(self) -> bool:
        return self._point == _GT_ONE

    def __mul__(self, other: GT) -> GT:
        if not isinstance(other, GT):
            raise TypeError(f"expected a GT element, got {type(other).__name__}")
        # arkworks' GT '*' is the Fp12 product, the group operation ('+' would add field elements).
        return GT._wrap(self._point * other._point)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GT) and self._point == other._point

    def __hash__(self) -> int:
        return hash((GT, str(self._point)))

    def __repr__(self) -> str:
        return f"GT({self.to_bytes()[:8].hex()}…)"


_GT_ONE = ark.GT.one()
#: 3⁻¹ mod r: the library's pairing of (3⁻¹·P, Q) is e(P, Q)^(3·3⁻¹) = e(P, Q).
_INV3 = Scalar(pow(3, -1, ORDER))


def pairing(p: G1Point, q: G2Point) -> GT:
    """The reduced optimal ate pairing e(P, Q), whose :meth:`GT.to_bytes` is the canonical encoding.

    arkworks' pairing returns e(P, Q)³ (module docstring). By bilinearity
    e_ark(3⁻¹·P, Q) = e(P, Q)^(3·3⁻¹) = e(P, Q), so P is first multiplied by
    the constant 3⁻¹ mod r (about 0.2 ms on top of a 1 ms pairing). There is
    no cheaper place to undo the cube: arkworks has no GT exponentiation, and
    raising to 3⁻¹ in Python would take hundreds of Fp12 products. The
    multiplication is blst's constant-time one, since P may be secret (a
    blinded or interpolated share); the pairing itself is arkworks'.

    Checks of equations between pairings need not pay for this: use
    :func:`pairing_product_is_one` or :func:`pairings_equal`.
    """
    return GT._wrap(ark.GT.pairing(_g1(p).mul_secret(_INV3)._point, _g2(q)._point))


def pairing_product_is_one(pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
    """Whether ∏ e(P_i, Q_i) == 1: one multi-Miller loop and one final exponentiation for all pairs.

    Here the library's cube does not matter: in a group of order r prime to
    3, x³ = 1 exactly when x = 1. An empty product is 1.
    """
    g1s = [_g1(p)._point for p, _unused in pairs]
    g2s = [_g2(q)._point for _unused, q in pairs]
    return ark.GT.pairing_check(g1s, g2s)


def pairings_equal(a: G1Point, b: G2Point, c: G1Point, d: G2Point) -> bool:
    """Whether e(a, b) == e(c, d), as e(a, b)·e(−c, d) == 1.

    One product check instead of two pairings: the Miller loops share their
    squarings and the expensive final exponentiation happens once.
    """
    return pairing_product_is_one([(a, b), (-_g1(c), d)])


# -- Lagrange combination --------------------------------------------------------------------------


def lagrange_coefficients(xs: Sequence[Scalar], at: Scalar | None = None) -> list[Scalar]:
    """λ_i(x) = ∏_{j≠i} (x − x_j)/(x_i − x_j) for distinct nonzero abscissas x_i, at x (default 0).

    For any polynomial F of degree below len(xs), F(x) = Σ λ_i(x)·F(x_i).
    The abscissa 0 is refused: there the polynomial's value is the secret
    itself, never a share.
    """
    if not xs:
        raise InvalidInput(_("Lagrange interpolation needs at least one abscissa"))
    values = [int(_scalar(x)) for x in xs]
    if any(v == 0 for v in values):
        raise InvalidInput(_("abscissa 0 is not a share's abscissa"))
    if len(set(values)) != len(values):
        raise InvalidInput(_("abscissas must be distinct"))
    x = 0 if at is None else int(_scalar(at))
    coefficients = []
    for i, xi in enumerate(values):
        numerator = denominator = 1
        for j, xj in enumerate(values):
            if j != i:
                numerator = numerator * (x - xj) % ORDER
                denominator = denominator * (xi - xj) % ORDER
        coefficients.append(Scalar(numerator * pow(denominator, -1, ORDER)))
    return coefficients


def interpolate_g1(xs: Sequence[Scalar], points: Sequence[G1Point], at: Scalar | None = None) -> G1Point:
    """Σ λ_i(x)·S_i: interpolation in the exponent, at x (default 0).

    If S_i = F(x_i)·B for one base B and a polynomial F of degree below
    len(xs) (Shamir shares of F, each already multiplied onto B by its
    holder), then the sum is F(x)·B, because multiplying by B is linear:
    Σ λ_i·(F(x_i)·B) = (Σ λ_i·F(x_i))·B. So q shares σ_a = F_q(x_a)·P* give
    F_q(0)·P* without anyone learning F_q. The coefficients depend only on
    the public abscissas, so the variable-time multi-scalar sum is safe.
    """
    if len(xs) != len(points):
        raise InvalidInput(_("interpolation needs one point per abscissa"))
    return G1Point.msm_public(points, lagrange_coefficients(xs, at))


__all__ = [
    "FIELD_MODULUS",
    "G1_BYTES",
    "G2_BYTES",
    "GT",
    "GT_BYTES",
    "ORDER",
    "SCALAR_BYTES",
    "G1Point",
    "G2Point",
    "Scalar",
    "hash_to_g1",
    "hash_to_scalar",
    "interpolate_g1",
    "lagrange_coefficients",
    "pairing",
    "pairing_product_is_one",
    "pairings_equal",
]
