"""Protocol v2's quorum layer: the pure algebra over BLS12-381 (issue 11; not wired in yet).

Nothing here talks to a network or a database. The functions take the bytes
that arrive from elsewhere (a blinded point, key servers' answers, shares
and ``U`` from an envelope) and decode them with :mod:`consilience.crypto.bls12381`'s
checked decoders, which refuse the identity, non-canonical encodings and
points outside the prime-order subgroup. Every way in goes through one of
those decoders, so a small-order point can never meet a secret here.

The algebra (one level q of the deployment's quorum range; t of n key servers):

Public parameters (:class:`QuorumParameters`, made by :func:`check_commitments`)
    ``C_{q,j} = a_{q,j}·G2`` for j = 0..q−1, the coefficients of the secret
    polynomial ``F_q`` of degree exactly q−1, and for every key server i
    ``D_{i,q,j} = e_{i,q,j}·G2``, its Shamir share of each coefficient.
    Anyone computes ``E_q(x) = Σ_j x^j·C_{q,j} = F_q(x)·G2``
    (:meth:`LevelCommitments.at`), and ``E_{i,q}(x)`` from a server's own.

Reporter, per identifier
    ``P = hash_to_g1(identifier, IDENTIFIER_DST)``, blind ``B = r·P``
    (:func:`blind`). Key server i answers ``Z_{i,q} = e_{i,q}(x)·B`` for every
    level (:func:`answer`, constant time). The reporter combines t answers by
    Lagrange, unblinds with ``z/r`` where ``z = hash_to_scalar(y, QUORUM_BASE_DST)``
    and y is the VOPRF output, and gets ``σ_q = F_q(x)·P*`` with ``P* = z·P``
    (:func:`combine`). It accepts only after one batched pairing check.

KEM (:func:`wrap`, :func:`unwrap`)
    ``U = ρ·G2``, ``K = e(ρ·P*, C_{q,0})``, ``W = KDF(GT(K), WRAP_KEY_LABEL, context)``;
    a counselor holding ``S = F_q(0)·P*`` (from q shares of distinct
    abscissas) computes ``K = e(S, U)``.

Counselor, per match and level (:func:`open_class`)
    Two shares on the same base satisfy ``e(σ_a, E_q(x_b)) = e(σ_b, E_q(x_a))``.
    The entry's own share anchors its class; every other share is checked
    against it, never against a majority, so shares an attacker adds cannot
    shrink an honest class (v1's blocking attack).

Why the base is P* and not P: with P, anyone holding the public commitments
and one share could test a guessed identifier g offline, as
``e(σ, G2) == e(hash_to_g1(g), E_q(x))``. z is known only to whoever ran the
VOPRF on the identifier, so each guess costs a rate-limited online evaluation.

Abscissas (of accounts) are nonzero scalars below r: at 0 the polynomial is
the secret itself. Key servers are at the abscissas 1..n (their index).

Batch checks use fresh random coefficients of 128 bits, nonzero (a zero
coefficient would let one bad element through unchecked); a set containing a
bad element passes with probability below 2^-128 per check.

Timing: only :func:`answer` and the blinding/unblinding use constant-time
multiplication (secret scalar × somebody else's point). Everything else
multiplies by public or fresh random scalars (abscissas, their powers,
Lagrange and batch coefficients), for which the variable-time multi-scalar
sums are safe. Scalar arithmetic is Python integers, as in crypto/bls12381.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from consilience.crypto import kdf
from consilience.crypto.bls12381 import (
    ORDER,
    SCALAR_BYTES,
    G1Point,
    G2Point,
    Scalar,
    hash_to_g1,
    hash_to_scalar,
    interpolate_g1,
    lagrange_coefficients,
    pairing,
    pairings_equal,
)
from consilience.errors import ConsilienceError, InvalidInput, VerificationError
from consilience.i18n import _, _n
from consilience.protocol.encoding import i2osp

#: RFC 9380 domain separation tag of the identifier point P (suite BLS12381G1_XMD:SHA-256_SSWU_RO_).
IDENTIFIER_DST = b"consilience-v2 identifier point BLS12381G1_XMD:SHA-256_SSWU_RO_"
#: RFC 9380 hash_to_field tag for z = HashToScalar(y, "quorum base"), with y the VOPRF output.
QUORUM_BASE_DST = b"consilience-v2 quorum base"
#: crypto/kdf.py label of the wrap key W. Not v1's "wrap key": both would share kdf's salt.
WRAP_KEY_LABEL = "v2 quorum wrap key"
WRAP_KEY_BYTES = 32

#: Levels are 2..255: a level of 1 would open on one share, and q is one byte in the wrap context.
MIN_LEVEL = 2
MAX_LEVEL = 255
#: Key server indices are their Shamir abscissas, 1..255.
MAX_KEY_SERVERS = 255
#: Batch-check coefficients are drawn from [1, 2^128).
BATCH_BITS = 128

DEPLOYMENT_ID_BYTES = 16
ENTRY_ID_BYTES = 16
TAG_BYTES = 32
WRAP_CONTEXT_BYTES = 16 + 4 + 16 + 1 + 32 + 1 + 96


class DishonestKeyServers(VerificationError):
    """Fewer than t key servers gave answers that check; ``dishonest`` says which did not, and why."""

    def __init__(self, message: str, dishonest: Mapping[int, str]) -> None:
        super().__init__(message)
        self.dishonest = dict(dishonest)


class BelowQuorum(ConsilienceError):
    """A class of shares with fewer distinct abscissas than its level: nothing opens."""


def _batch_coefficient() -> Scalar:
    return Scalar(secrets.randbelow((1 << BATCH_BITS) - 1) + 1)


# -- abscissas -------------------------------------------------------------------------------------


def abscissa_from_int(value: int) -> Scalar:
    """An account's abscissa: 0 < value < r, refused otherwise (never reduced)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(_("an abscissa is an integer"))
    if not 0 < value < ORDER:
        raise InvalidInput(_("an abscissa must be a nonzero field element (0 < x < r)"))
    return Scalar(value)


def abscissa_from_bytes(data: bytes) -> Scalar:
    """32 bytes big-endian, 0 < x < r (crypto/bls12381's scalar encoding without zero)."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != SCALAR_BYTES:
        raise InvalidInput(_("an abscissa must be {SCALAR_BYTES} bytes", SCALAR_BYTES=SCALAR_BYTES))
    return Scalar.from_bytes(bytes(data))  # refuses >= r and 0


def _abscissa(x: object) -> Scalar:
    if not isinstance(x, Scalar):
        raise TypeError(f"an abscissa is a Scalar (abscissa_from_int/_bytes), got {type(x).__name__}")
    if x.is_zero():
        raise InvalidInput(_("an abscissa must be nonzero: at 0 the polynomial is the secret"))
    return x


def _powers(x: Scalar, count: int) -> list[Scalar]:
    out = [Scalar(1)]
    for _unused in range(count - 1):
        out.append(out[-1] * x)
    return out


# -- public parameters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelCommitments:
    """``C_{q,0..q−1}``: G2 commitments to the coefficients of ``F_q``; exactly q, none the identity."""

    q: int
    coefficients: tuple[G2Point, ...]

    def __post_init__(self) -> None:
        if isinstance(self.q, bool) or not isinstance(self.q, int) or not MIN_LEVEL <= self.q <= MAX_LEVEL:
            raise InvalidInput(_("a quorum level is {MIN_LEVEL}..{MAX_LEVEL}",
                                 MIN_LEVEL=MIN_LEVEL, MAX_LEVEL=MAX_LEVEL))
        object.__setattr__(self, "coefficients", tuple(self.coefficients))
        if len(self.coefficients) != self.q:
            raise VerificationError(_("level {q} must have exactly {q} coefficient commitments, not "
                                      "{count} (F_q of degree exactly q−1)",
                                      q=self.q, count=len(self.coefficients)))
        for j, c in enumerate(self.coefficients):
            if not isinstance(c, G2Point):
                raise TypeError("coefficient commitments are G2Points")
            if c.is_identity():
                # the last: F_q of lower degree, fewer shares open it; the first: a secret of 0, K = 1
                raise VerificationError(_("level {q}: the commitment to coefficient {j} is the identity",
                                          q=self.q, j=j))

    @property
    def secret_commitment(self) -> G2Point:
        """``C_{q,0} = F_q(0)·G2``, the KEM's public key for this level."""
        return self.coefficients[0]

    def at(self, x: Scalar) -> G2Point:
        """``E_q(x) = Σ_j x^j·C_{q,j} = F_q(x)·G2`` (public; x a nonzero abscissa)."""
        return G2Point.msm_public(self.coefficients, _powers(_abscissa(x), self.q))

    def combination(self, weights: Sequence[Scalar], xs: Sequence[Scalar]) -> G2Point:
        """``Σ_a w_a·E_q(x_a)`` as one sum over the q commitments: ``Σ_j γ_j·C_{q,j}``, ``γ_j = Σ_a w_a·x_a^j``."""
        gammas = [0] * self.q
        for w, x in zip(weights, xs, strict=True):
            xv, acc = int(_abscissa(x)), int(w)
            for j in range(self.q):
                gammas[j] = (gammas[j] + acc) % ORDER
                acc = acc * xv % ORDER
        return G2Point.msm_public(self.coefficients, [Scalar(g) for g in gammas])


_EVALUATIONS_CACHED = 64


@dataclass(frozen=True)
class QuorumParameters:
    """The checked public parameters of every level: master and per-key-server commitments.

    Only :func:`check_commitments` makes one (the constructor runs the same
    checks), so holding a QuorumParameters means the checks passed.
    """

    threshold: int
    levels: Mapping[int, LevelCommitments]
    servers: Mapping[int, Mapping[int, tuple[G2Point, ...]]]
    #: abscissa -> q -> E_q(x), see :meth:`evaluations`; public values only, so a cache is harmless
    _evaluations: dict[Scalar, Mapping[int, G2Point]] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", MappingProxyType(dict(sorted(self.levels.items()))))
        object.__setattr__(self, "servers", MappingProxyType({
            i: MappingProxyType({q: tuple(points) for q, points in sorted(levels.items())})
            for i, levels in sorted(self.servers.items())}))
        _check_parameters(self)

    @property
    def server_indices(self) -> tuple[int, ...]:
        return tuple(self.servers)

    def level(self, q: int) -> LevelCommitments:
        try:
            return self.levels[q]
        except KeyError:
            raise InvalidInput(_("quorum level {q} is not in this deployment's range", q=q)) from None

    def evaluations(self, x: Scalar) -> Mapping[int, G2Point]:
        """``E_q(x)`` for every level q: what an account's shares must be on, cached per abscissa.

        An account's abscissa is the same for every identifier and entry, so
        the reporter pays these dense multi-scalar sums (most of a check's
        cost) once per account and then checks each identifier with short
        128-bit coefficients only.
        """
        x = _abscissa(x)
        cache = self._evaluations
        found = cache.get(x)
        if found is None:
            found = MappingProxyType({q: level.at(x) for q, level in self.levels.items()})
            if len(cache) >= _EVALUATIONS_CACHED:
                cache.pop(next(iter(cache)))
            cache[x] = found
        return found

    def server_at(self, i: int, q: int, x: Scalar) -> G2Point:
        """``E_{i,q}(x) = e_{i,q}(x)·G2``: what key server i's answer for level q must be on."""
        points = self.servers[i][q]
        return G2Point.msm_public(points, _powers(_abscissa(x), len(points)))


def check_commitments(threshold: int, levels: Mapping[int, Sequence[G2Point]],
                      servers: Mapping[int, Mapping[int, Sequence[G2Point]]]) -> QuorumParameters:
    """Check the published commitments and return them as :class:`QuorumParameters`.

    ``levels`` maps q to ``C_{q,0..q−1}``; ``servers`` maps each key server's
    index i (its Shamir abscissa, 1..n) to q → ``D_{i,q,0..q−1}``. Refused
    (VerificationError): a level without exactly q commitments or with an
    identity among them; the same point twice anywhere among the master
    commitments (levels must be independent: a level sharing coefficients
    with another would let the lower open the higher); a server missing a
    level or a coefficient; per-server commitments that do not all lie on
    one polynomial of degree below t in the server index whose value at 0 is
    the master commitment (checked for every level and coefficient at once by
    a random linear combination, and located precisely when it fails).
    """
    return QuorumParameters(threshold, {q: LevelCommitments(q, tuple(c)) for q, c in levels.items()},
                            {i: {q: tuple(c) for q, c in lv.items()} for i, lv in servers.items()})


def _check_parameters(params: QuorumParameters) -> None:
    t, n = params.threshold, len(params.servers)
    if isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= n:
        raise InvalidInput(_("need 1 <= threshold <= number of key servers ({n})", n=n))
    if not params.levels:
        raise InvalidInput(_("no quorum levels"))
    for q, level in params.levels.items():
        if not isinstance(level, LevelCommitments) or level.q != q:
            raise InvalidInput(_("level {q} is filed under the wrong quorum", q=q))
    seen: set[bytes] = set()
    for level in params.levels.values():
        for c in level.coefficients:
            encoded = c.to_bytes()
            if encoded in seen:
                raise VerificationError(_("level {q} repeats a coefficient commitment: levels must be independent "
                                          "polynomials", q=level.q))
            seen.add(encoded)
    for i, server_levels in params.servers.items():
        if isinstance(i, bool) or not isinstance(i, int) or not 1 <= i <= MAX_KEY_SERVERS:
            raise InvalidInput(_("key server index {i} is not 1..{MAX_KEY_SERVERS}",
                                 i=repr(i), MAX_KEY_SERVERS=MAX_KEY_SERVERS))
        if set(server_levels) != set(params.levels):
            raise VerificationError(_("key server {i} has commitments for levels {server_levels}, the "
                                      "deployment for {levels}",
                                      i=i, server_levels=sorted(server_levels), levels=sorted(params.levels)))
        for q, points in server_levels.items():
            if len(points) != q:
                raise VerificationError(_("key server {i}, level {q}: {len_points} commitments, {q} expected",
                                          i=i, q=q, len_points=len(points)))
            if any(not isinstance(p, G2Point) for p in points):
                raise TypeError("share commitments are G2Points")
            if any(p.is_identity() for p in points):
                raise VerificationError(_("key server {i}, level {q}: a share commitment is the identity", i=i, q=q))

    base = list(params.servers)[:t]
    others = list(params.servers)[t:]
    base_xs = [Scalar(k) for k in base]
    # Each relation is linear in the commitments, so one random combination over every (q, j) checks all.
    keys = [(q, j) for q in params.levels for j in range(q)]
    weights = [_batch_coefficient() for _unused in keys]

    def combined(points: Mapping[int, Sequence[G2Point]]) -> G2Point:
        return G2Point.msm_public([points[q][j] for q, j in keys], weights)

    master = combined({q: lv.coefficients for q, lv in params.levels.items()})
    per_server = {i: combined(params.servers[i]) for i in params.servers}

    def relation_holds(target: G2Point, at: Scalar | None, points: Mapping[int, G2Point]) -> bool:
        lambdas = lagrange_coefficients(base_xs, at)
        return G2Point.msm_public([points[k] for k in base], lambdas) == target

    ok = relation_holds(master, None, per_server) and all(
        relation_holds(per_server[i], Scalar(i), per_server) for i in others)
    if ok:
        return
    for q, j in keys:  # locate it, for a message that says what is wrong
        column = {i: params.servers[i][q][j] for i in params.servers}
        if not relation_holds(params.levels[q].coefficients[j], None, column):
            raise VerificationError(_("level {q}, coefficient {j}: key servers {base}'s commitments do not "
                                      "interpolate to the master commitment", q=q, j=j, base=base))
        for i in others:
            if not relation_holds(column[i], Scalar(i), column):
                raise VerificationError(_("level {q}, coefficient {j}: key server {i}'s commitment is not on the "
                                          "polynomial through key servers {base}'s", q=q, j=j, i=i, base=base))
    raise VerificationError(_("the key servers' commitments do not interpolate to the master commitments"))


# -- reporter and key server -----------------------------------------------------------------------


def identifier_point(identifier: bytes) -> G1Point:
    """``P = hash_to_g1(identifier, IDENTIFIER_DST)``; ``identifier`` is the canonical identifier's bytes."""
    if not isinstance(identifier, (bytes, bytearray)) or not identifier:
        raise InvalidInput(_("the identifier must be non-empty bytes (its canonical form)"))
    return hash_to_g1(bytes(identifier), IDENTIFIER_DST)


def quorum_base(identifier: bytes, oprf_output: bytes) -> G1Point:
    """``P* = z·P`` with ``z = hash_to_scalar(y, QUORUM_BASE_DST)``: the base every share sits on."""
    return identifier_point(identifier).mul_secret(_z(oprf_output))


def _z(oprf_output: bytes) -> Scalar:
    if not isinstance(oprf_output, (bytes, bytearray)) or not oprf_output:
        raise InvalidInput(_("the VOPRF output must be non-empty bytes"))
    z = hash_to_scalar(bytes(oprf_output), QUORUM_BASE_DST)
    if z.is_zero():  # probability 1/r
        raise InvalidInput(_("degenerate quorum base"))
    return z


@dataclass(frozen=True)
class BlindedIdentifier:
    """The reporter's state for one identifier between the request and the answers.

    ``blinded`` (B = r·P, 48 bytes) goes to every key server with the VOPRF
    request; ``r`` never leaves the device.
    """

    point: G1Point = field(repr=False)  # P is a hash of the identifier: in a log it would allow guessing
    r: Scalar = field(repr=False)
    blinded: bytes


def blind(identifier: bytes) -> BlindedIdentifier:
    """``P`` for the identifier and ``B = r·P`` with a fresh nonzero r (constant-time multiplication)."""
    point = identifier_point(identifier)
    r = Scalar.random()
    return BlindedIdentifier(point, r, point.mul_secret(r).to_bytes())


def answer(shares: Mapping[int, Sequence[Scalar]], x: Scalar, blinded: bytes | G1Point) -> dict[int, bytes]:
    """The key server's side: ``Z_q = e_q(x)·B`` for every level q, each 48 bytes.

    ``shares`` maps q to this server's shares ``e_{q,0..q−1}`` of F_q's
    coefficients; x is the account's abscissa (which the server derives
    itself). B is decoded with the subgroup check and the identity refused:
    a server multiplying B + T, T of small order, by its share would tell
    the client the share modulo T's order. The multiplication is blst's
    constant-time one; evaluating e_q(x) is Python integer arithmetic.
    """
    x = _abscissa(x)
    # a G1Point was decoded with the same checks already (a key server checks every point before charging)
    b = blinded if isinstance(blinded, G1Point) else G1Point.from_bytes(blinded)
    out: dict[int, bytes] = {}
    for q, coefficients in sorted(shares.items()):
        if not MIN_LEVEL <= q <= MAX_LEVEL or len(coefficients) != q:
            raise InvalidInput(_("level {q} needs exactly {q} coefficient shares", q=q))
        value = 0
        for c in reversed(coefficients):
            if not isinstance(c, Scalar):
                raise TypeError("coefficient shares are Scalars")
            value = (value * int(x) + int(c)) % ORDER
        out[q] = b.mul_secret(Scalar(value)).to_bytes()
    return out


@dataclass(frozen=True)
class IdentifierShares:
    """A reporter's checked shares for one identifier: ``σ_q = F_q(x)·P*`` for every level.

    ``base`` is P*, needed to :func:`wrap`; ``dishonest`` names the key
    servers whose answers were refused or did not check (empty normally).
    """

    x: Scalar
    base: G1Point = field(repr=False)
    shares: Mapping[int, G1Point] = field(repr=False)
    dishonest: Mapping[int, str]

    def share_bytes(self, q: int) -> bytes:
        return self.shares[q].to_bytes()


def combine(params: QuorumParameters, request: BlindedIdentifier, oprf_output: bytes, x: Scalar,
            answers: Mapping[int, Mapping[int, bytes]]) -> IdentifierShares:
    """Combine key servers' answers (index → q → Z bytes) into checked shares on P*.

    Every answer is decoded with the subgroup check; a server whose answers
    do not decode, or miss or add a level, is skipped and named. t answers
    are combined by Lagrange in the exponent and unblinded by z/r. The result
    is accepted only if ``e(Σ c_q·σ_q, G2) = e(P*, Σ c_q·E_q(x))`` holds for
    fresh random c_q: one two-pairing check for every level. Only if it
    fails is each server checked against its own commitments,
    ``e(Σ c_q·Z_{i,q}, G2) = e(B, Σ c_q·E_{i,q}(x))``; the liars are named and
    t of the others combined. :class:`DishonestKeyServers` when fewer than t
    servers remain.
    """
    x = _abscissa(x)
    z = _z(oprf_output)
    b = G1Point.from_bytes(request.blinded)
    dishonest: dict[int, str] = {}
    decoded: dict[int, dict[int, G1Point]] = {}
    for i, levels in sorted(answers.items()):
        if i not in params.servers:
            dishonest[i] = _("not a key server of this deployment")
            continue
        if set(levels) != set(params.levels):
            dishonest[i] = _("answered levels {answered}, not {levels}", answered=sorted(levels),
                             levels=list(params.levels))
            continue
        try:
            decoded[i] = {q: G1Point.from_bytes(levels[q]) for q in params.levels}
        except InvalidInput as exc:
            dishonest[i] = _("an answer is not a point of G1: {exc}", exc=exc)

    def fail() -> DishonestKeyServers:
        named = "; ".join(_("key server {index}: {why}", index=i, why=why) for i, why in sorted(dishonest.items())) \
            or _("none answered")
        return DishonestKeyServers(_n("fewer than {n} key servers gave answers that check ({len_decoded} did; "
                                      "{named})",
                                      "fewer than {n} key servers gave answers that check ({len_decoded} did; "
                                      "{named})", params.threshold, len_decoded=len(decoded), named=named), dishonest)

    if len(decoded) < params.threshold:
        raise fail()
    unblind = z * request.r.inverse()
    base = request.point.mul_secret(z)

    def combined(servers: Sequence[int]) -> dict[int, G1Point]:
        xs = [Scalar(i) for i in servers]
        return {q: interpolate_g1(xs, [decoded[i][q] for i in servers]).mul_secret(unblind)
                for q in params.levels}

    def holds(shares: Mapping[int, G1Point]) -> bool:
        cs = [_batch_coefficient() for _unused in params.levels]
        left = G1Point.msm_public([shares[q] for q in params.levels], cs)
        right = G2Point.msm_public(list(params.evaluations(x).values()), cs)
        return not left.is_identity() and pairings_equal(left, G2Point.generator(), base, right)

    shares = combined(list(decoded)[: params.threshold])
    if not holds(shares):
        for i in list(decoded):
            cs = [_batch_coefficient() for _unused in params.levels]
            left = G1Point.msm_public([decoded[i][q] for q in params.levels], cs)
            right = _levels_at(x, cs, params.servers[i])
            if not pairings_equal(left, G2Point.generator(), b, right):
                dishonest[i] = _("its answers do not match its published commitments")
                del decoded[i]
        if len(decoded) < params.threshold:
            raise fail()
        shares = combined(list(decoded)[: params.threshold])
        if not holds(shares):  # every remaining server checked against commitments that interpolate
            raise VerificationError(_("combined shares do not check although each key server's did"))
    if any(s.is_identity() for s in shares.values()):  # F_q(x) = 0: probability 1/r
        raise VerificationError(_("degenerate share"))
    return IdentifierShares(x, base, MappingProxyType(shares), MappingProxyType(dishonest))


def _levels_at(x: Scalar, cs: Sequence[Scalar], commitments: Mapping[int, Sequence[G2Point]]) -> G2Point:
    """``Σ_q c_q·Σ_j x^j·commitments[q][j]``, one multi-scalar sum over every level's commitments."""
    points: list[G2Point] = []
    scalars: list[Scalar] = []
    for c, (q, level) in zip(cs, commitments.items(), strict=True):
        for j, power in enumerate(_powers(x, q)):
            points.append(level[j])
            scalars.append(c * power)
    return G2Point.msm_public(points, scalars)


# -- KEM -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrapContext:
    """What a wrap key is bound to. :meth:`encode` is the KDF context, 166 bytes, fixed layout::

        deployment_id (16) ‖ I2OSP(key_epoch, 4) ‖ entry_id (16) ‖ I2OSP(section, 1)
        ‖ tag (32) ‖ I2OSP(q, 1) ‖ U (96, compressed G2)

    ``section`` is the index of the identifier's section in the entry,
    ``tag`` its matching tag, ``key_epoch`` the epoch of the key servers'
    shares. Every field has a fixed size, so the encoding is unambiguous. q
    and U are not fields: q is the level's, U the encapsulation's, so
    neither can disagree with what was used.
    """

    deployment_id: bytes
    key_epoch: int
    entry_id: bytes
    section: int
    tag: bytes

    def __post_init__(self) -> None:
        for name, value, size in (("deployment_id", self.deployment_id, DEPLOYMENT_ID_BYTES),
                                  ("entry_id", self.entry_id, ENTRY_ID_BYTES), ("tag", self.tag, TAG_BYTES)):
            if not isinstance(value, (bytes, bytearray)) or len(value) != size:
                raise InvalidInput(_("{name} must be {size} bytes", name=name, size=size))
        for name, number, width in (("key_epoch", self.key_epoch, 4), ("section", self.section, 1)):
            if isinstance(number, bool) or not isinstance(number, int):
                raise InvalidInput(_("{name} must be an integer", name=name))
            i2osp(number, width)  # refuses what does not fit

    def encode(self, q: int, u: bytes) -> bytes:
        if len(u) != 96:
            raise InvalidInput(_("U must be 96 bytes"))
        out = (bytes(self.deployment_id) + i2osp(self.key_epoch, 4) + bytes(self.entry_id)
               + i2osp(self.section, 1) + bytes(self.tag) + i2osp(q, 1) + bytes(u))
        assert len(out) == WRAP_CONTEXT_BYTES
        return out


@dataclass(frozen=True)
class Wrapped:
    """A fresh encapsulation: ``u`` (96 bytes) goes in the entry; ``key`` (W) wraps the body key."""

    u: bytes
    key: bytes = field(repr=False)


def _wrap_key(k: bytes, q: int, u: bytes, context: WrapContext) -> bytes:
    return kdf.derive(k, WRAP_KEY_LABEL, context.encode(q, u), WRAP_KEY_BYTES)


def wrap(level: LevelCommitments, base: G1Point, context: WrapContext) -> Wrapped:
    """Boneh–Franklin-style encapsulation to ``F_q(0)·P*``, by a reporter holding P* (``IdentifierShares.base``).

    Fresh ρ every call (every version of an entry): ``U = ρ·G2``,
    ``K = e(ρ·P*, C_{q,0})``, ``W = KDF(GT(K), WRAP_KEY_LABEL, context ‖ q ‖ U)``
    with GT(K) the canonical 576 bytes. U and the context in the KDF bind W
    to this entry, section and level.
    """
    if not isinstance(level, LevelCommitments):
        raise TypeError("wrap needs the level's checked commitments")
    if not isinstance(base, G1Point) or base.is_identity():
        raise InvalidInput(_("the base P* must be a point of G1 other than the identity"))
    rho = Scalar.random()
    u = G2Point.generator().mul_secret(rho).to_bytes()
    k = pairing(base.mul_secret(rho), level.secret_commitment)
    return Wrapped(u, _wrap_key(k.to_bytes(), level.q, u, context))


@dataclass(frozen=True)
class QuorumSecret:
    """``S = F_q(0)·P*`` for one level and one base, recovered from q shares of distinct abscissas."""

    q: int
    point: G1Point = field(repr=False)


def recover_secret(level: LevelCommitments, shares: Sequence[tuple[Scalar, G1Point]]) -> QuorumSecret:
    """Lagrange at 0 over q shares of distinct abscissas: ``S = Σ λ_a·σ_a``.

    The shares must be on one base (a class from :func:`open_class`, whose
    :meth:`ShareClass.secret` is the usual way here). :class:`BelowQuorum`
    with fewer than q distinct abscissas; the first share of each abscissa
    is used, and the first q abscissas.
    """
    distinct: dict[Scalar, G1Point] = {}
    for x, s in shares:
        distinct.setdefault(_abscissa(x), s)
    if len(distinct) < level.q:
        raise BelowQuorum(_("level {q} opens with {q} distinct abscissas; {len_distinct} given",
                            q=level.q, len_distinct=len(distinct)))
    xs = list(distinct)[: level.q]
    point = interpolate_g1(xs, [distinct[x] for x in xs])
    if point.is_identity():
        raise VerificationError(_("the shares interpolate to the identity"))
    return QuorumSecret(level.q, point)


def unwrap(secret: QuorumSecret, u: bytes, context: WrapContext) -> bytes:
    """The counselor's side: U decoded with the subgroup check, ``K = e(S, U)``, then W as in :func:`wrap`.

    A wrong secret (below quorum, another level, another base) yields
    another W, which the AEAD around the body key refuses.
    """
    u_point = G2Point.from_bytes(u)
    return _wrap_key(pairing(secret.point, u_point).to_bytes(), secret.q, u_point.to_bytes(), context)


# -- opening without a search ----------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One entry's share at one level, as the counselor read it from the envelope."""

    entry_id: bytes
    x: Scalar
    share: bytes

    def __post_init__(self) -> None:
        _abscissa(self.x)
        if not isinstance(self.entry_id, (bytes, bytearray)):
            raise InvalidInput(_("entry_id must be bytes"))


@dataclass(frozen=True)
class ShareClass:
    """The anchor's class at one level: every candidate equivalent to the anchor's share.

    ``members`` are the entry ids in the class (the anchor first), all on the
    anchor's base; ``bogus`` names every other candidate with why;
    ``abscissas`` counts distinct abscissas in the class. ``opens`` when that
    is at least q; then :meth:`secret` gives S for every member.
    """

    level: LevelCommitments
    members: tuple[bytes, ...]
    bogus: Mapping[bytes, str]
    abscissas: int
    checks: int
    _shares: tuple[tuple[Scalar, G1Point], ...] = field(repr=False)

    @property
    def opens(self) -> bool:
        return self.abscissas >= self.level.q

    def secret(self) -> QuorumSecret:
        return recover_secret(self.level, self._shares)


def open_class(anchor: Candidate, candidates: Sequence[Candidate], level: LevelCommitments) -> ShareClass:
    """Keep the candidates whose shares are on the anchor's base; name the rest. No majority, no search.

    The anchor is the share of the entry being opened. Two subgroup-checked
    shares are on one base exactly when ``e(σ_a, E_q(x_e)) = e(σ_e, E_q(x_a))``;
    all candidates are checked at once as
    ``e(Σ c_a·σ_a, E_q(x_e)) = e(σ_e, Σ_j γ_j·C_{q,j})``, ``γ_j = Σ_a c_a·x_a^j``,
    with fresh random c_a, and a set that fails is split in halves until
    each bad share stands alone (about 2·b·log₂ N checks for b bad among N).
    An attacker's consistent shares on a base of their choice agree with
    each other but not with the anchor, so they are named and cannot keep an
    honest class of q from opening; nor can a majority of them choose.
    One base gives one share per abscissa, so the class is de-duplicated by
    abscissa. A candidate whose share does not decode is named.
    VerificationError if the anchor's own share does not decode.
    """
    if not isinstance(level, LevelCommitments):
        raise TypeError("open_class needs the level's checked commitments")
    try:
        anchor_share = G1Point.from_bytes(anchor.share)
    except InvalidInput as exc:
        raise VerificationError(_("the anchor's share is not a point of G1: {exc}", exc=exc)) from None
    e_anchor = level.at(anchor.x)
    bogus: dict[bytes, str] = {}
    # identical (x, share) pairs need one check between them
    groups: dict[tuple[Scalar, bytes], list[bytes]] = {(anchor.x, bytes(anchor.share)): []}
    points: dict[tuple[Scalar, bytes], G1Point] = {(anchor.x, bytes(anchor.share)): anchor_share}
    for c in candidates:
        key = (c.x, bytes(c.share))
        if key not in points:
            try:
                points[key] = G1Point.from_bytes(c.share)
            except InvalidInput as exc:
                bogus[bytes(c.entry_id)] = _("share is not a point of G1: {exc}", exc=exc)
                continue
            groups[key] = []
        groups[key].append(bytes(c.entry_id))
    anchor_key = (anchor.x, bytes(anchor.share))
    to_check = [k for k in groups if k != anchor_key]
    checks = 0

    def holds(keys: Sequence[tuple[Scalar, bytes]]) -> bool:
        nonlocal checks
        checks += 1
        cs = [_batch_coefficient() for _unused in keys]
        left = G1Point.msm_public([points[k] for k in keys], cs)
        right = level.combination(cs, [k[0] for k in keys])
        return pairings_equal(left, e_anchor, anchor_share, right)

    bad: list[tuple[Scalar, bytes]] = []

    def sift(keys: list[tuple[Scalar, bytes]], failed: bool = False) -> None:
        """Find the keys not on the anchor's base; ``failed`` when ``keys`` is already known to fail.

        Halving finds b bad shares among N in about 2·b·log₂ N checks, but
        when most are bad (anchoring on an attacker's share, whose class
        holds no honest one) halving costs about 2·N; once both halves of a
        failing set fail, the rest of that set is checked one share at a
        time, so the worst case stays near N checks.
        """
        if not keys or (not failed and holds(keys)):
            return
        if len(keys) == 1:
            bad.append(keys[0])
            return
        half = len(keys) // 2
        parts = [keys[:half], keys[half:]]
        failing = [part for part in parts if not holds(part)]
        if len(failing) == 2 and len(keys) > 4:
            for part in failing:
                for key in part:
                    if len(part) == 1 or not holds([key]):
                        bad.append(key)
            return
        for part in failing:
            sift(part, failed=True)

    sift(to_check)
    bad_set = set(bad)
    members = [bytes(anchor.entry_id)]
    shares: dict[Scalar, G1Point] = {anchor.x: anchor_share}
    for key in to_check:
        ids = groups[key]
        if key in bad_set:
            for entry_id in ids:
                bogus.setdefault(entry_id, _("share is not on the anchor's base (not equivalent to its share)"))
            continue
        members += [e for e in ids if e not in members]
        shares.setdefault(key[0], points[key])
    members += [e for e in groups[anchor_key] if e not in members]
    for entry_id in members:
        bogus.pop(entry_id, None)  # an entry listed twice, once well: it is in the class
    return ShareClass(level, tuple(members), MappingProxyType(bogus), len(shares), checks,
                      tuple(shares.items()))


__all__ = [
    "BATCH_BITS",
    "IDENTIFIER_DST",
    "QUORUM_BASE_DST",
    "WRAP_CONTEXT_BYTES",
    "WRAP_KEY_BYTES",
    "WRAP_KEY_LABEL",
    "BelowQuorum",
    "BlindedIdentifier",
    "Candidate",
    "DishonestKeyServers",
    "IdentifierShares",
    "LevelCommitments",
    "QuorumParameters",
    "QuorumSecret",
    "ShareClass",
    "Wrapped",
    "WrapContext",
    "abscissa_from_bytes",
    "abscissa_from_int",
    "answer",
    "blind",
    "check_commitments",
    "combine",
    "identifier_point",
    "open_class",
    "quorum_base",
    "recover_secret",
    "unwrap",
    "wrap",
]
