"""Shamir secret sharing over the ristretto255 scalar field."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import shamir
from consilience.crypto.shamir import ORDER
from consilience.errors import InvalidInput

scalars = st.integers(min_value=0, max_value=ORDER - 1)
nonzero = st.integers(min_value=1, max_value=ORDER - 1)


@st.composite
def dealing(draw: st.DrawFn) -> tuple[int, int, int, list[int], list[int]]:
    """(secret, t, n, coefficients, a t-subset of the share indices)."""
    t = draw(st.integers(1, 8))
    n = draw(st.integers(t, 12))
    secret = draw(scalars)
    coefficients = draw(st.lists(scalars, min_size=t - 1, max_size=t - 1))
    subset = draw(st.lists(st.integers(1, n), min_size=t, max_size=t, unique=True))
    return secret, t, n, coefficients, subset


def _naive(coefficients: list[int], x: int) -> int:
    return sum(c * pow(x, j, ORDER) for j, c in enumerate(coefficients)) % ORDER


@given(st.lists(scalars, min_size=1, max_size=10), st.integers(min_value=-(2**300), max_value=2**300))
def test_evaluate_polynomial_matches_naive_sum(coefficients: list[int], x: int) -> None:
    assert shamir.evaluate_polynomial(coefficients, x) == _naive(coefficients, x % ORDER)


@settings(max_examples=50)
@given(dealing())
def test_any_t_shares_recover_the_secret(case: tuple[int, int, int, list[int], list[int]]) -> None:
    secret, t, n, coefficients, subset = case
    shares = shamir.split(secret, t, n, coefficients)
    assert sorted(shares) == list(range(1, n + 1))
    assert shamir.interpolate_at_zero({i: shares[i] for i in subset}) == secret
    # more than t points of a degree t-1 polynomial give the same value
    assert shamir.interpolate_at_zero(shares) == secret


@given(scalars, st.integers(1, 6), st.integers(0, 6), st.data())
def test_shares_are_the_polynomial_at_1_to_n(secret: int, t: int, extra: int, data: st.DataObject) -> None:
    n = t + extra
    coefficients = data.draw(st.lists(scalars, min_size=t - 1, max_size=t - 1))
    shares = shamir.split(secret, t, n, coefficients)
    for i in range(1, n + 1):
        assert shares[i] == _naive([secret, *coefficients], i)


def test_split_reduces_the_secret() -> None:
    assert shamir.interpolate_at_zero(shamir.split(ORDER + 5, 2, 2, [7])) == 5


@settings(max_examples=50)
@given(scalars, st.integers(2, 8), st.integers(0, 4), st.data())
def test_fewer_than_t_shares_give_another_value(secret: int, t: int, extra: int, data: st.DataObject) -> None:
    # Random coefficients from libsodium: with hypothesis-chosen ones (e.g. all
    # zero) the polynomial could have lower degree and t-1 points would suffice.
    n = t + extra
    shares = shamir.split_random(secret, t, n)
    subset = data.draw(st.lists(st.integers(1, n), min_size=t - 1, max_size=t - 1, unique=True))
    assert shamir.interpolate_at_zero({i: shares[i] for i in subset}) != secret


def test_split_random_round_trip() -> None:
    shares = shamir.split_random(123456789, 3, 5)
    assert shamir.interpolate_at_zero({i: shares[i] for i in (5, 2, 4)}) == 123456789


@pytest.mark.parametrize(
    ("threshold", "count", "coefficients"),
    [(0, 3, []), (4, 3, [1, 2, 3]), (2, 3, []), (2, 3, [1, 2]), (1, 0, [])],
)
def test_split_rejects_bad_parameters(threshold: int, count: int, coefficients: list[int]) -> None:
    with pytest.raises(InvalidInput):
        shamir.split(1, threshold, count, coefficients)


@given(st.lists(nonzero, min_size=1, max_size=8, unique=True))
def test_lagrange_coefficients_sum_to_one(xs: list[int]) -> None:
    # the constant polynomial 1 interpolates to 1 at zero
    assert sum(shamir.lagrange_at_zero(xs).values()) % ORDER == 1


@given(st.lists(nonzero, min_size=1, max_size=6, unique=True), st.data())
def test_lagrange_rejects_duplicates(xs: list[int], data: st.DataObject) -> None:
    dup = data.draw(st.sampled_from(xs))
    shifted = data.draw(st.booleans())
    points = [*xs, dup + ORDER if shifted else dup]  # equal modulo the order counts as equal
    with pytest.raises(InvalidInput):
        shamir.lagrange_at_zero(points)
    if shifted:  # a dict cannot hold an exact duplicate key, but x and x + ORDER are distinct keys
        with pytest.raises(InvalidInput):
            shamir.interpolate_at_zero(dict.fromkeys(points, 1))


@pytest.mark.parametrize("zero", [0, ORDER, 2 * ORDER])
def test_lagrange_rejects_zero_abscissa(zero: int) -> None:
    with pytest.raises(InvalidInput):
        shamir.lagrange_at_zero([3, zero, 5])
    with pytest.raises(InvalidInput):
        shamir.interpolate_at_zero({3: 1, zero: 2})


def test_lagrange_rejects_no_points() -> None:
    with pytest.raises(InvalidInput):
        shamir.lagrange_at_zero([])


@settings(max_examples=50)
@given(st.lists(scalars, min_size=1, max_size=8), st.data())
def test_interpolate_polynomial_recovers_coefficients(coefficients: list[int], data: st.DataObject) -> None:
    k = len(coefficients)
    extra = data.draw(st.integers(0, 3))
    xs = data.draw(st.lists(scalars, min_size=k + extra, max_size=k + extra, unique=True))
    points = {x: shamir.evaluate_polynomial(coefficients, x) for x in xs}
    assert shamir.interpolate_polynomial(points) == [*coefficients, *([0] * extra)]
    if 0 not in xs:
        assert shamir.interpolate_at_zero(points) == coefficients[0]


def test_interpolate_polynomial_rejects_duplicates() -> None:
    with pytest.raises(InvalidInput):
        shamir.interpolate_polynomial({1: 2, 1 + ORDER: 2})
