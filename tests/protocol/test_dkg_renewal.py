"""Refresh and resharing (protocol/dkg.py's renewal runs), run as an attacker would run them.

A generation's result is renewed by its holders: in a refresh each deals shares of zero to the same
key servers, in a resharing each deals shares of its own share to a new set. What must hold is
checked independently of the module, with plain modular arithmetic on Python ints: any t holders'
shares interpolate at 0 (mod r for the BLS coefficients, mod ℓ for the VOPRF key) to the secrets the
generation's holders interpolate to, and those secrets times the generators are the published
commitments. Misbehaving dealers are built with test_dkg.py's independent encoder and sign with
their real keys.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import pytest

from consilience.crypto import hpke, ristretto, signing
from consilience.crypto.bls12381 import G2Point, Scalar
from consilience.errors import InvalidInput, VerificationError
from consilience.protocol import dkg
from consilience.protocol.encoding import i2osp, lp2

from .test_dkg import Board, EvilDealer, Server, _keys, abscissa_check, header, r_base, setup

#: BLS12-381's scalar field order and ristretto255's group order, written out (not the modules' constants)
R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
L = 2**252 + 27742317777372353535851937790883648493
LOW, HIGH = 2, 3
G2 = G2Point.generator()


# -- independent arithmetic ---------------------------------------------------------------------------


def lagrange_at_zero(xs: Sequence[int], modulus: int) -> list[int]:
    out = []
    for i in xs:
        num = den = 1
        for j in xs:
            if j != i:
                num = num * -j % modulus
                den = den * (i - j) % modulus
        out.append(num * pow(den, -1, modulus) % modulus)
    return out


def interpolate(points: Mapping[int, int], modulus: int) -> int:
    xs = sorted(points)
    return sum(w * points[x] for x, w in zip(xs, lagrange_at_zero(xs, modulus), strict=True)) % modulus


def bls_values(result: dkg.KeyServerResult) -> dict[tuple[int, int], int]:
    return {(q, c): int(s) for q, shares in result.shares.items() for c, s in enumerate(shares)}


def oprf_value(result: dkg.KeyServerResult) -> int:
    value = int.from_bytes(result.oprf_share, "little")
    assert 0 < value < L
    return value


def secrets_of(results: Mapping[int, dkg.KeyServerResult],
               holders: Sequence[int]) -> tuple[dict[tuple[int, int], int], int]:
    """What the shares of HOLDERS interpolate to at 0: every BLS coefficient (mod r) and the VOPRF key (mod ℓ)."""
    per = {j: bls_values(results[j]) for j in holders}
    keys = next(iter(per.values())).keys()
    bls = {k: interpolate({j: per[j][k] for j in holders}, R) for k in keys}
    return bls, interpolate({j: oprf_value(results[j]) for j in holders}, L)


def r_times(k: int, point: bytes) -> bytes:
    k %= L
    return bytes(32) if k == 0 or point == bytes(32) else ristretto.scalar_mult(ristretto.scalar_from_int(k), point)


def r_sum(points: Sequence[bytes]) -> bytes:
    total = bytes(32)
    for p in points:
        total = ristretto.element_add(total, p)
    return total


# -- states and runs ------------------------------------------------------------------------------------


@dataclass
class State:
    """A finished, confirmed run: its parameters, its key servers (new index -> keys) and their results."""

    params: dkg.Parameters
    servers: dict[int, Server]
    results: dict[int, dkg.KeyServerResult]


@cache
def generation(n: int, t: int) -> State:
    """A confirmed generation (cached: renewals never change it)."""
    params, servers = setup(n, t, low=LOW, high=HIGH)
    board = Board([dkg.deal(params, s.index, s.identity, s.seed) for s in servers])
    results = {s.index: dkg.finalize(params, s.index, s.hpke_seed, board.view()) for s in servers}
    board.post(*(dkg.confirm(params, s.identity, results[s.index]) for s in servers))
    for r in results.values():
        assert dkg.confirmed(params, r, board.view()) is r
    return State(params, {s.index: s for s in servers}, results)


def previous_of(state: State) -> dkg.Previous:
    """The published result as a deployment document lists it (commitments in their encodings)."""
    first = next(iter(state.results.values()))
    qual = first.qualification
    levels = state.params.levels
    return dkg.Previous(
        threshold=state.params.threshold, holders=state.params.participants,
        levels=tuple(tuple(c.to_bytes() for c in qual.master[q]) for q in levels),
        oprf_public_key=qual.oprf_public_key,
        servers=tuple((i, tuple(tuple(c.to_bytes() for c in qual.server_commitments(i)[q]) for q in levels),
                       qual.oprf_public_share(i)) for i in qual.holders),
        abscissa_check=first.abscissa_check)


def keys_of(state: State, index: int) -> tuple[bytes, bytes]:
    return state.servers[index].identity, state.servers[index].hpke_seed


def fresh_keys(k: int) -> tuple[bytes, bytes]:
    return _keys(100 + k)  # a key server that was in no earlier set


@dataclass
class Run:
    """A renewal in progress: who deals (previous indices), who receives (new indices), the board."""

    params: dkg.Parameters
    before: State
    dealers: dict[int, Server]
    recipients: dict[int, Server]
    board: Board = field(default_factory=Board)

    def held(self, dealer: int) -> dkg.HeldShares:
        return self.before.results[dealer].held()

    def deal(self, skip: Sequence[int] = ()) -> None:
        self.board.post(*(dkg.deal(self.params, i, s.identity, s.seed, self.held(i))
                          for i, s in self.dealers.items() if i not in skip))

    def complain(self) -> list[bytes]:
        posted = [c for j, s in self.recipients.items()
                  for c in dkg.complaints_for(self.params, j, s.identity, s.hpke_seed, self.board.view())]
        self.board.post(*posted)
        return posted

    def answer(self, skip: Sequence[int] = ()) -> list[bytes]:
        posted = [a for i, s in self.dealers.items() if i not in skip
                  for a in dkg.answer(self.params, i, s.identity, s.seed, self.board.view(), self.held(i))]
        self.board.post(*posted)
        return posted

    def finalize(self, j: int) -> dkg.KeyServerResult:
        held = self.before.results[j].held() if self.params.kind == dkg.REFRESH else None
        return dkg.finalize(self.params, j, self.recipients[j].hpke_seed, self.board.view(), held)

    def finish(self) -> State:
        """Every recipient finalizes and confirms; each accepts only once all have."""
        results = {j: self.finalize(j) for j in self.recipients}
        confirmations = [dkg.confirm(self.params, s.identity, results[j]) for j, s in self.recipients.items()]
        for j in results:
            assert dkg.confirmed(self.params, results[j], [*self.board.view(), *confirmations]) is results[j]
        return State(self.params, dict(self.recipients), results)

    def evil(self, dealer: int, *, constant_delta: int = 0, oprf_delta: int = 0,
             abscissa_key: bytes | None = None) -> EvilDealer:
        """Dealer DEALER as an attacker builds it: its own polynomials with the constant terms an honest
        dealer uses (zero in a refresh, its shares in a resharing), moved by the deltas; signed with its key."""
        held = self.held(dealer)
        evil = EvilDealer(self.params, self.dealers[dealer], contribution=abscissa_key or held.abscissa_key)
        if self.params.kind == dkg.REFRESH:
            constants, oprf = [Scalar(0)] * self.params.coefficients, 0
        else:
            constants = [s for q in self.params.levels for s in held.shares[q]]
            oprf = int.from_bytes(held.oprf_share, "little")
        evil.set_constants([c + Scalar(constant_delta) if k == 0 else c for k, c in enumerate(constants)],
                           oprf + oprf_delta)
        return evil


def renew(before: State, kind: int, new: Sequence[tuple[bytes, bytes]] | None = None, t: int | None = None,
          epoch: int = 2) -> Run:
    """Parameters and servers for renewing BEFORE; NEW are the (identity, HPKE) keys at indices 1.., in order."""
    if new is None:
        new = [keys_of(before, i) for i in sorted(before.servers)]
    t = before.params.threshold if t is None else t
    previous = previous_of(before)
    participants = tuple(dkg.Participant(j, signing.public_key(ident), hpke.public_key_bytes(hk))
                         for j, (ident, hk) in enumerate(new, start=1))
    params = dkg.Parameters(before.params.deployment_id, epoch, t, LOW, HIGH, participants, kind,
                            previous.digest(LOW), previous)
    dealers = {i: Server(i, s.identity, s.hpke_seed, dkg.DealerSeed.fresh()) for i, s in before.servers.items()
               if i in before.results}
    recipients = {j: Server(j, ident, hk, dkg.DealerSeed.fresh()) for j, (ident, hk) in enumerate(new, start=1)}
    return Run(params, before, dealers, recipients)


def honest(run: Run) -> State:
    run.deal()
    assert run.complain() == []
    assert run.answer() == []
    return run.finish()


# -- what a renewal must keep ------------------------------------------------------------------------


def check_same_secrets(before: State, after: State, qualified: Sequence[int] | None = None) -> None:
    """The independent check: same secrets, same public values, new holders holding consistent shares."""
    t_old, t_new = before.params.threshold, after.params.threshold
    old_bls, old_oprf = secrets_of(before.results, sorted(before.results)[:t_old])
    first = next(iter(after.results.values()))
    qual = first.qualification
    master = first.master
    assert master == next(iter(before.results.values())).master
    assert qual.oprf_public_key == next(iter(before.results.values())).qualification.oprf_public_key
    for (q, c), value in old_bls.items():  # the generation's secrets are what the commitments commit to
        assert G2.mul_secret(Scalar(value)) == master[q][c]
    assert ristretto.scalar_mult_base(ristretto.scalar_from_int(old_oprf)) == qual.oprf_public_key
    holders = sorted(after.results)
    assert holders == list(range(1, after.params.n + 1)) == list(qual.holders)
    rng = random.Random(after.params.n * 31 + t_new)
    subsets = {tuple(holders[:t_new]), tuple(holders[-t_new:])}
    subsets |= {tuple(sorted(rng.sample(holders, t_new))) for _ in range(2)}
    for subset in subsets:
        assert secrets_of(after.results, subset) == (old_bls, old_oprf), f"holders {subset} interpolate elsewhere"
        # in the exponent too: Y and VOPRF public shares interpolate to the masters
        lam_r = lagrange_at_zero(subset, R)
        lam_l = lagrange_at_zero(subset, L)
        for q in after.params.levels:
            for c in range(q):
                points = [qual.server_commitments(j)[q][c] for j in subset]
                assert G2Point.msm_public(points, [Scalar(w) for w in lam_r]) == master[q][c]
        assert r_sum([r_times(w, qual.oprf_public_share(j)) for j, w in zip(subset, lam_l, strict=True)]
                     ) == qual.oprf_public_key
    if t_new > 1:  # t − 1 new shares say nothing that interpolates to the secrets
        fewer = holders[: t_new - 1]
        bls, oprf = secrets_of(after.results, fewer)
        assert oprf != old_oprf and all(bls[k] != v for k, v in old_bls.items())
    for j, r in after.results.items():
        assert r.index == j and r.abscissa_key == next(iter(before.results.values())).abscissa_key
        assert r.transcript == first.transcript and r.commitments_digest == first.commitments_digest
        if qualified is not None:
            assert r.qualified == tuple(qualified)
        for q in after.params.levels:
            assert [G2.mul_secret(s) for s in r.shares[q]] == list(qual.server_commitments(j)[q])
        assert r_base(oprf_value(r)) == qual.oprf_public_share(j)
    # the renewed result can be renewed in turn: its published form names the digest its holders confirmed
    assert previous_of(after).digest(LOW) == first.commitments_digest


# -- honest runs -----------------------------------------------------------------------------------------


def test_refresh_keeps_every_secret_and_changes_every_share() -> None:
    before = generation(3, 2)
    after = honest(renew(before, dkg.REFRESH))
    check_same_secrets(before, after, qualified=(1, 2, 3))
    for j in (1, 2, 3):
        old, new = before.results[j], after.results[j]
        assert all(a != b for a, b in zip(bls_values(old).values(), bls_values(new).values(), strict=True))
        assert oprf_value(old) != oprf_value(new)
        assert old.qualification.server_commitments(j) != new.qualification.server_commitments(j)
        assert old.qualification.oprf_public_share(j) != new.qualification.oprf_public_share(j)
    assert after.results[1].transcript != before.results[1].transcript
    # Old and new shares do not combine: one old + one new (t = 2) interpolate to something else.
    old_bls, old_oprf = secrets_of(before.results, [1, 2])
    mixed = {1: before.results[1], 2: after.results[2]}
    bls, oprf = secrets_of(mixed, [1, 2])
    assert oprf != old_oprf and all(bls[k] != v for k, v in old_bls.items())
    # And a refresh of the refreshed result (its published form as the previous) keeps them again.
    again = honest(renew(after, dkg.REFRESH, epoch=3))
    check_same_secrets(before, again, qualified=(1, 2, 3))


def test_a_refresh_three_of_five_mixing_old_and_new_shares_gives_nothing() -> None:
    before = generation(5, 3)
    after = honest(renew(before, dkg.REFRESH))
    check_same_secrets(before, after)
    old_bls, old_oprf = secrets_of(before.results, [1, 2, 3])
    for new_one in (1, 4):  # t − 1 = 2 old shares and one new share, at a new or a repeated abscissa
        mixed = {2: before.results[2], 3: before.results[3], new_one: after.results[new_one]}
        bls, oprf = secrets_of(mixed, sorted(mixed))
        assert oprf != old_oprf and all(bls[k] != v for k, v in old_bls.items())


NewMember = int | tuple[str, int]
RESHARINGS: dict[str, tuple[tuple[int, int], list[NewMember], int]] = {
    # name: (generation n, t; the new set as previous indices or ("new", k); new t)
    "2-of-3 to 3-of-5": ((3, 2), [1, 2, 3, ("new", 1), ("new", 2)], 3),
    "3-of-5 to 2-of-3": ((5, 3), [1, 2, 3], 2),
    "replace server 2 by a new one": ((3, 2), [1, ("new", 3), 3], 2),
    "remove server 4": ((4, 2), [1, 2, 3], 2),
    "servers change indices": ((3, 2), [3, 1, 2], 2),
}


@pytest.mark.parametrize("name", list(RESHARINGS))
def test_resharing_keeps_every_secret_for_the_new_set(name: str) -> None:
    (n, t), new_set, t_new = RESHARINGS[name]
    before = generation(n, t)
    new = [fresh_keys(x[1]) if isinstance(x, tuple) else keys_of(before, x) for x in new_set]
    run = renew(before, dkg.RESHARE, new, t_new)
    assert [p.index for p in run.params.dealers] == list(range(1, n + 1))
    after = honest(run)
    check_same_secrets(before, after, qualified=range(1, n + 1))
    for j, r in after.results.items():  # every new holder's shares are new, whoever it was before
        assert all(bls_values(r)[k] != v for b in before.results.values() for k, v in bls_values(b).items())
        assert all(oprf_value(r) != oprf_value(b) for b in before.results.values())
        assert signing.public_key(after.servers[j].identity) == run.params.participant(j).identity_key


def test_renewals_chain_generation_refresh_resharing_refresh() -> None:
    g = generation(3, 2)
    a = honest(renew(g, dkg.REFRESH))
    b = honest(renew(a, dkg.RESHARE, [keys_of(a, 2), keys_of(a, 3), fresh_keys(7), fresh_keys(8)], 3, epoch=3))
    c = honest(renew(b, dkg.REFRESH, epoch=4))
    for state in (a, b, c):
        check_same_secrets(g, state)


def test_a_renewal_deal_sends_no_constant_term_commitments_and_the_abscissa_key_itself() -> None:
    """The bytes: parameters digest ends in kind ‖ previous_digest; A_{k,0} and R_0 are not sent (implied)."""
    before = generation(3, 2)
    prev = previous_of(before)
    for kind in (dkg.REFRESH, dkg.RESHARE):
        run = renew(before, kind)
        p = run.params
        data = (lp2(b"consilience-v2 dkg parameters") + lp2(p.deployment_id) + i2osp(p.epoch, 8)
                + bytes([3, 2, LOW, HIGH]))
        for part in p.participants:
            data += bytes([part.index]) + part.identity_key + lp2(part.hpke_public_key)
        assert p.digest == hashlib.sha256(data + bytes([kind]) + before.results[1].commitments_digest).digest()
        message = dkg.deal(p, 2, run.dealers[2].identity, run.dealers[2].seed, run.held(2))
        m, t = p.coefficients, p.threshold
        rest = message[len(header(p, dkg.DEAL_LABEL, 2)) : -64]
        assert rest[:3] == i2osp(m, 2) + i2osp(t, 1)
        at = 3 + 96 * m * (t - 1) + 32 * (t - 1)  # only l = 1 .. t−1
        assert rest[at : at + 32] == abscissa_check(p, before.results[1].abscissa_key) == prev.abscissa_check
        assert rest[at + 32] == 3
        parsed = dkg.parse(p, message)
        assert isinstance(parsed, dkg.Deal)
        sent = [G2Point.from_bytes(rest[3 + 96 * i : 3 + 96 * (i + 1)]) for i in range(m * (t - 1))]
        assert [a for row in parsed.commitments for a in row[1:]] == sent
        own = before.results[1].qualification.server_commitments(2)
        flat_own = [c for q in p.levels for c in own[q]]
        if kind == dkg.REFRESH:
            assert all(row[0].is_identity() for row in parsed.commitments)
            assert parsed.oprf_commitments[0] == bytes(32)
        else:  # the commitments to the dealer's own shares, as published
            assert [row[0] for row in parsed.commitments] == flat_own
            assert parsed.oprf_commitments[0] == before.results[1].qualification.oprf_public_share(2)
        plaintext = hpke.open(run.recipients[1].hpke_seed, parsed.ciphertexts[0], p.share_info(2, 1))
        assert plaintext[-32:] == before.results[1].abscissa_key
        assert len(message) == len(header(p, dkg.DEAL_LABEL, 2)) + len(rest) + 64


# -- dealers that misbehave ---------------------------------------------------------------------------


def reshare_to_four(before: State) -> Run:
    return renew(before, dkg.RESHARE, [keys_of(before, 1), keys_of(before, 2), keys_of(before, 3), fresh_keys(4)], 3)


def run_of(kind: int) -> Run:
    before = generation(3, 2)
    return renew(before, dkg.REFRESH) if kind == dkg.REFRESH else reshare_to_four(before)


KINDS = [pytest.param(dkg.REFRESH, id="refresh"), pytest.param(dkg.RESHARE, id="reshare")]


def wrong_share(plaintext: bytes, k: int) -> bytes:
    value = (int.from_bytes(plaintext[32 * k : 32 * k + 32], "big") + 1) % R
    return plaintext[: 32 * k] + value.to_bytes(32, "big") + plaintext[32 * k + 32 :]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("behaviour", ["answers correctly", "does not answer"])
def test_a_dealer_that_sends_one_bad_share_is_complained_about_and_answered_or_disqualified(
        kind: int, behaviour: str) -> None:
    run = run_of(kind)
    evil = run.evil(3)
    victim = 2
    bad = wrong_share(evil.plaintext(victim), 1)
    evil_deal = evil.deal(plaintexts={victim: bad})
    run.deal(skip=[3])
    run.board.post(evil_deal)
    parsed = dkg.parse(run.params, evil_deal)
    assert isinstance(parsed, dkg.Deal)
    check = dkg.verify_deal(run.params, victim, run.recipients[victim].hpke_seed, parsed)
    assert check.reason == dkg.BAD_SHARES
    assert check.problems == ("share of coefficient 1 of level 2 does not match the commitments",)
    posted = run.complain()
    assert [(c.complainant, c.dealer, c.reason) for c in (dkg.parse(run.params, x) for x in posted)  # type: ignore[union-attr]
            ] == [(victim, 3, dkg.BAD_SHARES)]
    assert run.answer(skip=[3]) == []
    if behaviour == "answers correctly":
        run.board.post(evil.answer(victim, parsed.digest))
        after = run.finish()
        check_same_secrets(run.before, after, qualified=(1, 2, 3))
        assert after.results[victim].qualification.answers[(3, victim)] == evil.plaintext(victim)
    else:
        after = run.finish()
        check_same_secrets(run.before, after, qualified=(1, 2))
        assert "no valid answer to the complaint of key server(s) 2" in after.results[1].qualification.disqualified[3]


@pytest.mark.parametrize("kind", KINDS)
def test_a_dealer_that_sends_nothing_is_disqualified_and_everyone_agrees(kind: int) -> None:
    run = run_of(kind)
    run.deal(skip=[2])  # the deal deadline has passed: what is on the board is final
    posted = run.complain()
    assert sorted((c.complainant, c.dealer, c.reason) for c in (dkg.parse(run.params, x) for x in posted)  # type: ignore[union-attr]
                  ) == [(j, 2, dkg.NOTHING_BY_DEADLINE) for j in run.recipients]
    run.answer()
    after = run.finish()  # every participant, server 2 included (it still holds shares), finalizes alike
    check_same_secrets(run.before, after, qualified=(1, 3))
    assert all("no valid deal" in r.qualification.disqualified[2] for r in after.results.values())


@pytest.mark.parametrize("attack", ["BLS constant (reshare)", "VOPRF constant (reshare)", "both (reshare)",
                                    "another holder's shares (reshare)", "nonzero constant (refresh)",
                                    "nonzero VOPRF constant (refresh)"])
def test_a_dealer_that_tries_to_change_the_secret_is_caught_by_every_recipient(attack: str) -> None:
    """The attacker deals polynomials with another constant term (in a resharing: as if from another share)
    and signs them with the dealer's real key; the implied constant commitment catches it everywhere."""
    kind = dkg.REFRESH if "refresh" in attack else dkg.RESHARE
    run = run_of(kind)
    delta = 0 if "VOPRF" in attack else 5
    oprf_delta = 7 if "VOPRF" in attack or attack.startswith("both") else 0
    evil = run.evil(1, constant_delta=delta, oprf_delta=oprf_delta)
    wrong_levels: list[tuple[int, int]] = [(LOW, 0)] if delta else []
    if attack.startswith("another holder's"):  # dealer 1 deals from server 2's shares, all of them right for 2
        other = run.held(2)
        evil.set_constants([s for q in run.params.levels for s in other.shares[q]], oprf_value(run.before.results[2]))
        wrong_levels = [(q, c) for q in run.params.levels for c in range(q)]
        oprf_delta = 1
    evil_deal = evil.deal()  # every share consistent with the sent commitments and the wrong constant
    parsed = dkg.parse(run.params, evil_deal)
    assert isinstance(parsed, dkg.Deal)
    expected = ["share of the VOPRF key does not match the commitments"] if oprf_delta else []
    expected += [f"share of coefficient {c} of level {q} does not match the commitments" for q, c in wrong_levels]
    for j, s in run.recipients.items():
        check = dkg.verify_deal(run.params, j, s.hpke_seed, parsed)
        assert check.reason == dkg.BAD_SHARES, j
        assert list(check.problems) == expected
    run.deal(skip=[1])
    run.board.post(evil_deal)
    posted = run.complain()
    assert sorted((c.complainant, c.dealer) for c in (dkg.parse(run.params, x) for x in posted)  # type: ignore[union-attr]
                  ) == [(j, 1) for j in run.recipients]
    # answering changes nothing: t or more complained, and the revealed values do not verify either
    run.board.post(*(evil.answer(j, parsed.digest) for j in run.recipients))
    after = run.finish()
    check_same_secrets(run.before, after, qualified=(2, 3))
    assert "key servers complained" in after.results[2].qualification.disqualified[1]


@pytest.mark.parametrize("kind", KINDS)
def test_a_renewal_deal_with_a_wrong_abscissa_key_is_refused(kind: int) -> None:
    run = run_of(kind)
    other_key = bytes(range(32))
    # 1. committed to (its check) and sent to everyone: a malformed deal, the dealer disqualified
    evil = run.evil(3, abscissa_key=other_key)
    bad = evil.deal()
    with pytest.raises(dkg.MalformedMessage, match="abscissa key it sends is not the published one"):
        dkg.parse(run.params, bad)
    # 2. the published check in the deal, the wrong key in one recipient's plaintext: complained about
    honest_evil = run.evil(2)
    wrong = honest_evil.plaintext(1)[:-32] + other_key
    sneaky = honest_evil.deal(plaintexts={1: wrong})
    run.deal(skip=[2, 3])
    run.board.post(bad, sneaky)
    posted = run.complain()
    assert [(c.complainant, c.dealer, c.reason) for c in (dkg.parse(run.params, x) for x in posted)  # type: ignore[union-attr]
            if c.dealer == 2] == [(1, 2, dkg.BAD_CONTRIBUTION)]  # type: ignore[union-attr]
    # an answer revealing the wrong key again does not count
    digest = dkg.parse(run.params, sneaky).digest  # type: ignore[union-attr]
    run.board.post(honest_evil.answer(1, digest, wrong))
    with pytest.raises(dkg.DkgFailed, match=r"only 1 dealers qualified, fewer than the threshold 2 of the result "
                                            r"being renewed.*: 2: no valid answer .*; 3: malformed deal"):
        dkg.qualify(run.params, run.board.view())
    run.board.post(honest_evil.answer(1, digest))
    after = run.finish()
    check_same_secrets(run.before, after, qualified=(1, 2))
    assert "malformed deal" in after.results[1].qualification.disqualified[3]


@pytest.mark.parametrize(("before_nt", "new_t", "dealing", "ok"), [
    ((3, 2), 3, [1], False),  # 2-of-3 to 3-of-4: one dealer cannot be interpolated
    ((3, 2), 3, [1, 3], True),  # … two (the previous threshold, below the new one) can
    ((5, 3), 2, [2, 4], False),  # 3-of-5 to 2-of-4: two dealers reach the new threshold, not the previous one
    ((5, 3), 2, [2, 4, 5], True),
])
def test_a_renewal_needs_the_previous_threshold_of_qualified_dealers(
        before_nt: tuple[int, int], new_t: int, dealing: list[int], ok: bool) -> None:
    before = generation(*before_nt)
    run = renew(before, dkg.RESHARE, [keys_of(before, i) for i in (1, 2, 3)] + [fresh_keys(4)], new_t)
    run.deal(skip=[i for i in run.dealers if i not in dealing])
    run.complain()
    run.answer()
    if ok:
        check_same_secrets(before, run.finish(), qualified=dealing)
        return
    old_t = before_nt[1]
    with pytest.raises(dkg.DkgFailed, match=rf"only {len(dealing)} dealers qualified, fewer than the threshold "
                                            rf"{old_t} of the result being renewed, which is needed to carry its "
                                            rf"secrets over: .*no valid deal on the board.*renewed result stays in "
                                            rf"use; run the renewal again"):
        dkg.qualify(run.params, run.board.view())
    for j in run.recipients:
        with pytest.raises(dkg.DkgFailed, match="fewer than the threshold"):
            run.finalize(j)
    # the same in a refresh
    refresh = renew(before, dkg.REFRESH)
    refresh.deal(skip=[i for i in refresh.dealers if i not in dealing])
    with pytest.raises(dkg.DkgFailed, match=rf"only {len(dealing)} dealers qualified, fewer than the threshold "
                                            rf"{old_t} of the result being renewed"):
        refresh.finalize(1)


def test_a_renewal_is_confirmed_only_when_every_participant_confirmed() -> None:
    """Every holder of the new shares confirms: a new server that dealt nothing, and one whose own deal was
    disqualified, too; a dealer that left the set cannot confirm at all."""
    before = generation(4, 2)
    run = renew(before, dkg.RESHARE, [keys_of(before, 1), keys_of(before, 2), keys_of(before, 3), fresh_keys(5)], 2)
    run.deal(skip=[2])  # dealer 2 sends nothing; 4 deals but leaves the set
    run.complain()
    results = {j: run.finalize(j) for j in run.recipients}
    assert all(r.qualified == (1, 3, 4) for r in results.values())
    confirmations = {j: dkg.confirm(run.params, s.identity, results[j]) for j, s in run.recipients.items()}
    for missing in (2, 4):
        others = [c for j, c in confirmations.items() if j != missing]
        for j in results:
            with pytest.raises(dkg.DkgFailed, match=rf"no valid confirmation from qualified key server\(s\) "
                                                    rf"{missing}") as caught:
                dkg.confirmed(run.params, results[j], others)
            assert caught.value.missing == (missing,)
    # the old server 4 (left the set; index 4 is now the new server's) signs a confirmation: refused, and it
    # does not stand in for the new server 4's
    leaver = before.servers[4]
    body = (header(run.params, dkg.CONFIRM_LABEL, 4) + results[1].transcript + bytes([3, 1, 3, 4])
            + results[1].commitments_digest + results[1].abscissa_check)
    with pytest.raises(VerificationError, match="signature"):
        dkg.parse(run.params, body + signing.sign(leaver.identity, body))
    with pytest.raises(dkg.DkgFailed) as caught:
        dkg.confirmed(run.params, results[1], [*(c for j, c in confirmations.items() if j != 4),
                                               body + signing.sign(leaver.identity, body)])
    assert caught.value.missing == (4,)
    for r in results.values():
        assert dkg.confirmed(run.params, r, list(confirmations.values())) is r
    check_same_secrets(before, State(run.params, dict(run.recipients), results), qualified=(1, 3, 4))


def test_what_a_renewal_refuses_to_start_with() -> None:
    before = generation(3, 2)
    run = renew(before, dkg.REFRESH)
    with pytest.raises(InvalidInput, match="only from its own shares"):
        dkg.deal(run.params, 1, run.dealers[1].identity, run.dealers[1].seed)
    run.deal()
    with pytest.raises(dkg.DkgFailed, match="holds no shares of the previous result"):
        dkg.finalize(run.params, 1, run.recipients[1].hpke_seed, run.board.view())
    prev = previous_of(before)
    p = run.params
    with pytest.raises(InvalidInput, match="keeps the same key servers and threshold"):
        dkg.Parameters(p.deployment_id, 3, 3, LOW, HIGH, p.participants, dkg.REFRESH, p.previous_digest, prev)
    with pytest.raises(InvalidInput, match="does not match the digest"):
        dkg.Parameters(p.deployment_id, 3, 2, LOW, HIGH, p.participants, dkg.RESHARE, bytes(31) + b"\x01", prev)
    with pytest.raises(InvalidInput, match="names the result it renews"):
        dkg.Parameters(p.deployment_id, 3, 2, LOW, HIGH, p.participants, dkg.RESHARE)


def test_a_dealer_whose_stored_shares_are_wrong_deals_nothing_and_a_refresh_refuses_them() -> None:
    before = generation(3, 2)
    for kind in (dkg.REFRESH, dkg.RESHARE):
        run = renew(before, kind)
        good = run.held(1)
        moved = {q: tuple(s + Scalar(1) if c == 0 else s for c, s in enumerate(shares))
                 for q, shares in good.shares.items()}
        oprf_moved = ristretto.scalar_from_int(oprf_value(before.results[1]) + 1)
        for bad in (dkg.HeldShares(1, moved, good.oprf_share, good.abscissa_key),
                    dkg.HeldShares(1, good.shares, oprf_moved, good.abscissa_key),
                    dkg.HeldShares(1, good.shares, good.oprf_share, bytes(32)),
                    dkg.HeldShares(1, {LOW: good.shares[LOW]}, good.oprf_share, good.abscissa_key)):
            with pytest.raises(InvalidInput, match="stored shares do not match the published result"):
                dkg.deal(run.params, 1, run.dealers[1].identity, run.dealers[1].seed, bad)
        with pytest.raises(InvalidInput, match="only from its own shares"):
            dkg.deal(run.params, 1, run.dealers[1].identity, run.dealers[1].seed, run.held(2))
        if kind == dkg.REFRESH:
            run.deal()
            bad = dkg.HeldShares(1, moved, good.oprf_share, good.abscissa_key)
            with pytest.raises(dkg.DkgFailed, match="stored shares do not match .* nothing was refreshed"):
                dkg.finalize(run.params, 1, run.recipients[1].hpke_seed, run.board.view(), bad)


def test_a_previous_result_with_another_results_server_commitments_is_refused() -> None:
    """A deployment document pairing one result's master commitments with another's key servers' commitments
    (and the dealers' shares of that other result): the reshared polynomials would not carry the secrets."""
    a = generation(3, 2)
    b = generation.__wrapped__(3, 2)  # another run, same key servers
    prev_a, prev_b = previous_of(a), previous_of(b)
    mixed = dkg.Previous(prev_a.threshold, prev_a.holders, prev_a.levels, prev_a.oprf_public_key, prev_b.servers,
                         prev_b.abscissa_check)
    before = State(a.params, a.servers, b.results)  # the dealers hold b's shares, which match b's commitments
    participants = a.params.participants
    params = dkg.Parameters(a.params.deployment_id, 2, 2, LOW, HIGH, participants, dkg.RESHARE, mixed.digest(LOW),
                            mixed)
    run = Run(params, before, {i: Server(i, s.identity, s.hpke_seed, dkg.DealerSeed.fresh())
                               for i, s in a.servers.items()},
              {j: Server(j, s.identity, s.hpke_seed, dkg.DealerSeed.fresh()) for j, s in a.servers.items()})
    run.deal()
    with pytest.raises(dkg.DkgFailed, match="previous result's published commitments are inconsistent"):
        dkg.qualify(params, run.board.view())


def test_previous_results_that_cannot_be_renewed_are_refused() -> None:
    before = generation(3, 2)
    prev = previous_of(before)
    p = before.params
    twice = dkg.Previous(prev.threshold, prev.holders, prev.levels, prev.oprf_public_key,
                         (prev.servers[0], *prev.servers), prev.abscissa_check)
    reordered = dkg.Previous(prev.threshold, prev.holders, prev.levels, prev.oprf_public_key,
                             tuple(reversed(prev.servers)), prev.abscissa_check)
    same_key = dkg.Previous(prev.threshold, (prev.holders[0], dkg.Participant(2, prev.holders[0].identity_key,
                                                                              prev.holders[1].hpke_public_key),
                                             prev.holders[2]), prev.levels, prev.oprf_public_key, prev.servers,
                            prev.abscissa_check)
    for bad, why in ((twice, "each once"), (reordered, "increasing order"), (same_key, "distinct identity keys")):
        with pytest.raises(InvalidInput, match=why):
            dkg.Parameters(p.deployment_id, 2, 2, LOW, HIGH, p.participants, dkg.RESHARE, bad.digest(LOW), bad)


def test_the_parse_cache_does_not_carry_a_deal_across_previous_results_with_other_dealer_keys() -> None:
    """The parameters digest covers the renewed result's commitments digest, not the previous key servers' keys:
    a deal parsed under one list of dealers must not be served from the cache under another."""
    before = generation(3, 2)
    run = renew(before, dkg.RESHARE)
    message = dkg.deal(run.params, 1, run.dealers[1].identity, run.dealers[1].seed, run.held(1))
    assert isinstance(dkg.parse(run.params, message), dkg.Deal)
    prev = run.params.previous
    assert prev is not None
    impostor = dkg.Participant(1, signing.public_key(fresh_keys(9)[0]), prev.holders[0].hpke_public_key)
    other_prev = dkg.Previous(prev.threshold, (impostor, *prev.holders[1:]), prev.levels, prev.oprf_public_key,
                              prev.servers, prev.abscissa_check)
    p = run.params
    other = dkg.Parameters(p.deployment_id, p.epoch, p.threshold, LOW, HIGH, p.participants, p.kind,
                           p.previous_digest, other_prev)
    assert other.digest == p.digest
    with pytest.raises(VerificationError, match="signature"):
        dkg.parse(other, message)
    assert dkg.qualify(other, [message, *(dkg.deal(p, i, run.dealers[i].identity, run.dealers[i].seed,
                                                   run.held(i)) for i in (2, 3))]).qualified == (2, 3)


def test_a_confirmation_whose_abscissa_check_differs_is_a_disagreement() -> None:
    """Same transcript, qualified set and commitments digest, another abscissa check (what the administrator
    publishes): the run is not used."""
    before = generation(3, 2)
    run = renew(before, dkg.REFRESH)
    run.deal()
    results = {j: run.finalize(j) for j in run.recipients}
    posted = [dkg.confirm(run.params, s.identity, results[j]) for j, s in run.recipients.items()]
    r = results[3]
    body = (header(run.params, dkg.CONFIRM_LABEL, 3) + r.transcript + bytes([3, 1, 2, 3]) + r.commitments_digest
            + abscissa_check(run.params, bytes(32)))
    odd = body + signing.sign(run.recipients[3].identity, body)
    assert isinstance(dkg.parse(run.params, odd), dkg.Confirmation)
    with pytest.raises(dkg.DkgFailed, match="key server 3 confirmed another board") as caught:
        dkg.confirmed(run.params, results[1], [*posted[:2], odd])
    assert caught.value.disagreeing == (3,)
    assert dkg.confirmed(run.params, results[1], posted) is results[1]
