"""Threshold VOPRF: the OPRF key split t-of-n across key servers.

No single key server can compute tags on its own (and so cannot test guesses
of a name offline), yet any t honest servers suffice. Server i holds the
Shamir share k_i = g(i) of the key sk = g(0) and publishes pk_i = k_i*G. It
answers a blinded element B with Z_i = k_i*B plus an RFC 9497 VOPRF (mode
0x01) proof against pk_i. Because the OPRF is linear in the key, the client
recombines sk*B = sum(lambda_i * Z_i) and finalizes as in plain RFC 9497, so
the result equals evaluate(sk, input, MODE_VOPRF).

Each proof pins a server's answer to its own public share, which lets the
client drop a faulty server instead of getting a silently wrong tag; that
only helps if the public shares themselves are consistent with the group
key, which ``check_public_shares`` establishes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from consilience.crypto import oprf, ristretto, shamir
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _

#: KeyInfo used when a dealing is derived from a seed.
DEALING_INFO = b"consilience keyshare dealing"


@dataclass(frozen=True)
class PartialEvaluation:
    """One key server's answer: Z_i for every blinded element, and one batch proof."""

    index: int
    evaluated: list[bytes]
    proof: bytes


@dataclass(frozen=True)
class VerifiedPartial:
    """A partial evaluation whose proof held for these blinded elements.

    Only ``verify_partial`` makes one, so ``combine_verified`` cannot be fed
    an unchecked answer by mistake, and a client that checks answers as they
    arrive (to ask another server when one lies) does not check them twice.
    """

    partial: PartialEvaluation
    blinded: tuple[bytes, ...]


def verify_partial(blinded: Sequence[bytes], partial: PartialEvaluation,
                   public_shares: Mapping[int, bytes]) -> VerifiedPartial | None:
    """The partial, marked verified, or None if its proof or shape is wrong."""
    if not _partial_is_valid(blinded, partial, public_shares):
        return None
    return VerifiedPartial(partial, tuple(blinded))


def combine_verified(verified: Sequence[VerifiedPartial], threshold: int) -> list[bytes]:
    """sk*B_j from the first ``threshold`` verified partials (same blinded elements)."""
    if threshold < 1:
        raise InvalidInput(_("threshold must be at least 1"))
    if len(verified) < threshold:
        raise VerificationError(_("fewer than t={threshold} valid partial evaluations ({len_verified})",
                                  threshold=threshold, len_verified=len(verified)))
    blinded = verified[0].blinded
    if any(v.blinded != blinded for v in verified):
        raise InvalidInput(_("partials were verified against different blinded elements"))
    chosen = [v.partial for v in verified[:threshold]]
    if len({p.index for p in chosen}) != len(chosen):
        raise InvalidInput(_("duplicate partial evaluation index"))
    combined = [
        _interpolate_in_exponent({p.index: p.evaluated[j] for p in chosen}, 0) for j in range(len(blinded))
    ]
    return [oprf.check_element(z) for z in combined]


def deal_key(threshold: int, count: int, seed: bytes | None = None) -> tuple[bytes, dict[int, bytes]]:
    """Create a t-of-n OPRF key: (group public key, {server index: secret share}).

    The master secret is not returned so that no caller is tempted to keep it;
    whoever holds the seed can still re-derive it (DeriveKeyPair with
    DEALING_INFO in VOPRF mode), which is what makes seeded dealings testable
    and recoverable. The polynomial's other coefficients are always fresh.
    """
    if not 1 <= threshold <= count:
        raise InvalidInput(_("need 1 <= threshold <= count"))
    if seed is None:
        sk = ristretto.scalar_random()
    else:
        sk, _unused = oprf.derive_key_pair(seed, DEALING_INFO, oprf.MODE_VOPRF)
    shares = shamir.split_random(ristretto.scalar_to_int(sk), threshold, count)
    return ristretto.scalar_mult_base(sk), {i: ristretto.scalar_from_int(y) for i, y in shares.items()}


def refresh_deltas(threshold: int, indices: Sequence[int]) -> dict[int, bytes]:
    """Shares of zero, z(i) with z(0) = 0 and degree t-1 (proactive refresh).

    Adding z(i) to every server's share keeps the key sk = sum(lambda_i k_i)
    and so every OPRF output, tag and match, while shares stolen before the
    refresh no longer combine with shares held after it.
    """
    if not indices or not 1 <= threshold <= len(indices) or len(set(indices)) != len(indices):
        raise InvalidInput(_("need distinct indices and 1 <= threshold <= their number"))
    randoms = [ristretto.scalar_to_int(ristretto.scalar_random()) for _unused in range(threshold - 1)]
    coefficients = [0, *randoms]
    return {i: ristretto.scalar_from_int(shamir.evaluate_polynomial(coefficients, i)) for i in indices}


def apply_delta(share: bytes, delta: bytes) -> bytes:
    return ristretto.scalar_add(ristretto.check_scalar(share), ristretto.check_scalar(delta))


def public_share(share: bytes) -> bytes:
    """pk_i = k_i * G, the key a server's proofs are checked against."""
    return ristretto.scalar_mult_base(ristretto.check_scalar(share))


def check_public_shares(group_public_key: bytes, public_shares: Mapping[int, bytes], threshold: int) -> None:
    """Check that the public shares lie on one degree t-1 polynomial whose value at 0 is pkS.

    Cheap Feldman-style check: interpolate in the exponent from the lowest
    ``threshold`` indices, compare with the group key, then predict every
    further share from the same points. If the base set itself is off it can
    only be named as a set; a mismatch beyond it names the exact index.
    """
    group_public_key = oprf.check_element(group_public_key)
    indices = sorted(public_shares)
    if threshold < 1 or len(indices) < threshold:
        raise InvalidInput(_("need at least `threshold` public shares"))
    points = {i: oprf.check_element(public_shares[i]) for i in indices}
    base = {i: points[i] for i in indices[:threshold]}
    if _interpolate_in_exponent(base, 0) != group_public_key:
        raise VerificationError(_("public shares {sorted_base} do not interpolate to the group public key",
                                  sorted_base=sorted(base)))
    for j in indices[threshold:]:
        if _interpolate_in_exponent(base, j) != points[j]:
            raise VerificationError(_("public share {j} is inconsistent with the others", j=j))


def combine(
    blinded: Sequence[bytes],
    partials: Sequence[PartialEvaluation],
    public_shares: Mapping[int, bytes],
    threshold: int,
) -> tuple[list[bytes], list[int]]:
    """Verify each partial evaluation and recombine sk*B_j from the first t valid ones.

    Returns (combined evaluated elements, indices whose answers were
    rejected) so the caller can finalize and also report misbehaving servers.
    A bad proof, an unknown index or a wrong-length answer only rejects that
    server; two partials with the same index are a caller error. The proofs
    are only as trustworthy as ``public_shares``, which must have passed
    check_public_shares against the group key.
    """
    if threshold < 1:
        raise InvalidInput(_("threshold must be at least 1"))
    indices = [p.index for p in partials]
    if len(set(indices)) != len(indices):
        raise InvalidInput(_("duplicate partial evaluation index"))
    valid: list[VerifiedPartial] = []
    rejected: list[int] = []
    for partial in partials:  # check all, not just t, so every faulty server is reported
        checked = verify_partial(blinded, partial, public_shares)
        if checked is not None:
            valid.append(checked)
        else:
            rejected.append(partial.index)
    if len(valid) < threshold:
        raise VerificationError(
            _("fewer than t={threshold} valid partial evaluations ({len_valid} valid, rejected {rejected})",
              threshold=threshold, len_valid=len(valid), rejected=rejected)
        )
    return combine_verified(valid, threshold), rejected


def _partial_is_valid(
    blinded: Sequence[bytes], partial: PartialEvaluation, public_shares: Mapping[int, bytes]
) -> bool:
    pk = public_shares.get(partial.index)
    if pk is None or len(partial.evaluated) != len(blinded):
        return False
    try:
        oprf.verify_proof(oprf.GENERATOR, pk, blinded, partial.evaluated, partial.proof, oprf.MODE_VOPRF)
    except (VerificationError, InvalidInput):
        return False
    return True


def _interpolate_in_exponent(points: Mapping[int, bytes], x: int) -> bytes:
    """sum(L_i(x) * P_i): the value at x of the polynomial "in the exponent" through points.

    Lagrange coefficients at x equal those at 0 for abscissae shifted by -x,
    so shamir.lagrange_at_zero serves for both uses (x must not be a point).
    """
    lambdas = shamir.lagrange_at_zero(i - x for i in points)
    total = bytes(ristretto.ELEMENT_BYTES)
    for i, element in points.items():
        coefficient = ristretto.scalar_from_int(lambdas[i - x])
        total = ristretto.element_add(total, ristretto.scalar_mult(coefficient, element))
    return total
