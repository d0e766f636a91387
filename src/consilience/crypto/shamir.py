"""Shamir secret sharing over the ristretto255 scalar field.

Used twice in Consilience: to split the OPRF key t-of-n across key servers
(the client then combines partial evaluations "in the exponent"), and for the
quorum polynomials whose constant term unlocks an escrowed entry. Arithmetic
is done on Python integers modulo the group order; the byte encodings are the
little-endian canonical scalars that libsodium uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from consilience.crypto import ristretto
from consilience.errors import InvalidInput
from consilience.i18n import _

ORDER = ristretto.ORDER


def evaluate_polynomial(coefficients: Sequence[int], x: int) -> int:
    """Horner evaluation of sum(c_j * x^j) mod the group order."""
    acc = 0
    for c in reversed(coefficients):
        acc = (acc * x + c) % ORDER
    return acc


def split(secret: int, threshold: int, count: int, random_coefficients: Sequence[int]) -> dict[int, int]:
    """Shares f(1)..f(count) of a polynomial of degree threshold-1 with f(0)=secret.

    The caller supplies the random coefficients so that this function stays
    deterministic and testable; ``split_random`` draws them from libsodium.
    """
    if not 1 <= threshold <= count:
        raise InvalidInput(_("need 1 <= threshold <= count"))
    if len(random_coefficients) != threshold - 1:
        raise InvalidInput(_("need threshold-1 random coefficients"))
    coefficients = [secret % ORDER, *[c % ORDER for c in random_coefficients]]
    return {i: evaluate_polynomial(coefficients, i) for i in range(1, count + 1)}


def split_random(secret: int, threshold: int, count: int) -> dict[int, int]:
    randoms = [ristretto.scalar_to_int(ristretto.scalar_random()) for _unused in range(threshold - 1)]
    return split(secret, threshold, count, randoms)


def lagrange_at_zero(xs: Iterable[int]) -> dict[int, int]:
    """Lagrange coefficients lambda_i such that f(0) = sum(lambda_i * f(x_i)).

    Raises on repeated or zero abscissae: either would silently give a wrong
    secret, which for the quorum layer means an entry that never opens.
    """
    points = list(xs)
    if not points:
        raise InvalidInput(_("no points to interpolate"))
    if len(set(p % ORDER for p in points)) != len(points):
        raise InvalidInput(_("interpolation points must be distinct"))
    if any(p % ORDER == 0 for p in points):
        raise InvalidInput(_("interpolation point 0 is the secret itself"))
    coefficients: dict[int, int] = {}
    for i in points:
        num, den = 1, 1
        for j in points:
            if j == i:
                continue
            num = num * (-j) % ORDER
            den = den * (i - j) % ORDER
        coefficients[i] = num * pow(den, -1, ORDER) % ORDER
    return coefficients


def interpolate_at_zero(shares: Mapping[int, int]) -> int:
    """f(0) from exactly the given points (degree len(shares)-1 assumed)."""
    lambdas = lagrange_at_zero(shares.keys())
    return sum(lambdas[x] * y for x, y in shares.items()) % ORDER


def interpolate_polynomial(shares: Mapping[int, int]) -> list[int]:
    """All coefficients of the unique polynomial through the given points.

    The counselor uses this to check the remaining shares against a
    candidate polynomial and name the ones that do not lie on it.
    """
    points = list(shares.items())
    if len(set(x % ORDER for x, _unused in points)) != len(points):
        raise InvalidInput(_("interpolation points must be distinct"))
    n = len(points)
    result = [0] * n
    for i, (xi, yi) in enumerate(points):
        # basis polynomial prod_{j != i} (X - xj) / (xi - xj)
        basis = [1]
        den = 1
        for j, (xj, _unused) in enumerate(points):
            if j == i:
                continue
            basis = [((basis[k - 1] if k > 0 else 0) - xj * (basis[k] if k < len(basis) else 0)) % ORDER
                     for k in range(len(basis) + 1)]
            den = den * (xi - xj) % ORDER
        factor = yi * pow(den, -1, ORDER) % ORDER
        for k in range(n):
            result[k] = (result[k] + factor * basis[k]) % ORDER
    return result
