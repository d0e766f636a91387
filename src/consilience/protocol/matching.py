"""From an OPRF output to a matching tag and quorum shares (PROTOCOL.md §7).

Everything here is a deterministic function of the OPRF output, the
reporter's account id and the quorum range, so two reporters who name the
same person derive the same tag and points on the same polynomials without
ever talking to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from consilience.crypto import kdf, ristretto, shamir
from consilience.errors import InvalidInput
from consilience.protocol.encoding import i2osp

TAG_BYTES = 32
KCV_BYTES = 16
WRAP_KEY_BYTES = 32


def _scalar(ikm: bytes, label: str, context: bytes) -> int:
    return ristretto.scalar_to_int(ristretto.scalar_reduce64(kdf.derive(ikm, label, context, 64)))


def match_tag(oprf_output: bytes) -> bytes:
    """The value the escrow server counts by; pseudorandom without the OPRF key."""
    return kdf.derive(oprf_output, "match tag", b"", TAG_BYTES)


def polynomial(oprf_output: bytes, k: int) -> list[int]:
    """Coefficients of f_k, the degree-(k-1) polynomial of quorum k."""
    if not 1 <= k <= 255:
        raise InvalidInput("quorum out of range")
    return [_scalar(oprf_output, "quorum polynomial", i2osp(k, 1) + i2osp(j, 1)) for j in range(k)]


def abscissa(account_id: bytes, tag: bytes) -> int:
    """The reporter's evaluation point: one account, one point per person named."""
    x = _scalar(account_id, "share abscissa", tag)
    if x == 0:  # probability 2^-252; refusing keeps interpolation well defined
        raise InvalidInput("degenerate abscissa")
    return x


def key_check(secret: int, tag: bytes, k: int) -> bytes:
    return kdf.derive(ristretto.scalar_from_int(secret), "key check", tag + i2osp(k, 1), KCV_BYTES)


def wrap_key(secret: int, tag: bytes, k: int) -> bytes:
    return kdf.derive(ristretto.scalar_from_int(secret), "wrap key", tag + i2osp(k, 1), WRAP_KEY_BYTES)


@dataclass(frozen=True)
class IdentifierShares:
    """What one identifier contributes to an entry's envelope."""

    tag: bytes
    x: int
    shares: dict[int, int]  # k -> f_k(x), for every k in the quorum range
    kcv: bytes  # key-check value of S_q
    wrap_key: bytes  # W, derived from S_q; never leaves the reporter's device


def shares_for(oprf_output: bytes, account_id: bytes, quorum: int, quorum_range: range) -> IdentifierShares:
    if quorum not in quorum_range:
        raise InvalidInput(
            f"quorum {quorum} is outside this deployment's range {quorum_range.start}..{quorum_range.stop - 1}"
        )
    tag = match_tag(oprf_output)
    x = abscissa(account_id, tag)
    shares: dict[int, int] = {}
    secret = 0
    for k in quorum_range:
        coefficients = polynomial(oprf_output, k)
        shares[k] = shamir.evaluate_polynomial(coefficients, x)
        if k == quorum:
            secret = coefficients[0]
    return IdentifierShares(tag, x, shares, key_check(secret, tag, quorum), wrap_key(secret, tag, quorum))
