"""The v2 distributed key generation (protocol/dkg.py), run as an attacker would run it.

Key servers exchange messages over a ``Board``: the untrusted relay (the escrow
server, later) that passes messages on and may drop, reorder, duplicate or
alter them, but holds no signing key and no HPKE key. Misbehaving dealers are
built here with an independent encoder that follows the byte layout of the
module docstring, so a dealer can sign whatever it likes.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from consilience.crypto import hpke, kdf, ristretto, signing
from consilience.crypto.bls12381 import G2Point, Scalar, lagrange_coefficients
from consilience.errors import InvalidInput, VerificationError
from consilience.protocol import dkg
from consilience.protocol.encoding import i2osp, lp2

LOW, HIGH = 2, 5


@dataclass(frozen=True)
class Server:
    index: int
    identity: bytes
    hpke_seed: bytes
    seed: dkg.DealerSeed


@dataclass
class Board:
    """What the relay passes on: a list of messages, in whatever order and multiplicity it likes."""

    messages: list[bytes] = field(default_factory=list)

    def post(self, *messages: bytes) -> None:
        self.messages.extend(messages)

    def view(self) -> list[bytes]:
        return list(self.messages)


_KEYS: dict[int, tuple[bytes, bytes]] = {}


def _keys(i: int) -> tuple[bytes, bytes]:
    if i not in _KEYS:  # ML-KEM key generation is the slow part of a setup; share keys between tests
        _KEYS[i] = (signing.generate(), hpke.generate_private_key())
    return _KEYS[i]


def setup(n: int, t: int, *, epoch: int = 1, low: int = LOW, high: int = HIGH) -> tuple[dkg.Parameters, list[Server]]:
    servers = [Server(i, *_keys(i), dkg.DealerSeed.fresh()) for i in range(1, n + 1)]
    params = dkg.Parameters(
        deployment_id=b"deployment-0001!", epoch=epoch, threshold=t, low=low, high=high,
        participants=tuple(dkg.Participant(s.index, signing.public_key(s.identity),
                                           hpke.public_key_bytes(s.hpke_seed)) for s in servers))
    return params, servers


def honest_deals(params: dkg.Parameters, servers: Sequence[Server], skip: Sequence[int] = ()) -> list[bytes]:
    return [dkg.deal(params, s.index, s.identity, s.seed) for s in servers if s.index not in skip]


def complaints(params: dkg.Parameters, servers: Sequence[Server], board: Board) -> list[bytes]:
    return [c for s in servers for c in dkg.complaints_for(params, s.index, s.identity, s.hpke_seed, board.view())]


def honest_answers(params: dkg.Parameters, servers: Sequence[Server], board: Board) -> list[bytes]:
    return [a for s in servers for a in dkg.answer(params, s.index, s.identity, s.seed, board.view())]


def finalize_all(params: dkg.Parameters, servers: Sequence[Server], board: Board) -> dict[int, dkg.KeyServerResult]:
    return {s.index: dkg.finalize(params, s.index, s.hpke_seed, board.view()) for s in servers}


def confirm_all(params: dkg.Parameters, servers: Sequence[Server],
                results: dict[int, dkg.KeyServerResult]) -> list[bytes]:
    return [dkg.confirm(params, s.identity, results[s.index]) for s in servers if s.index in results]


# -- an independent encoder, for dealers that misbehave ---------------------------------------------


def header(params: dkg.Parameters, label: bytes, author: int) -> bytes:
    return lp2(label) + lp2(params.deployment_id) + i2osp(params.epoch, 8) + params.digest + i2osp(author, 1)


def contribution_hash(params: dkg.Parameters, dealer: int, c: bytes) -> bytes:
    return hashlib.sha256(lp2(b"consilience-v2 dkg abscissa contribution") + params.digest + bytes([dealer])
                          + c).digest()


def abscissa_check(params: dkg.Parameters, key: bytes) -> bytes:
    """What a renewal's deal carries instead of a contribution hash: the published check of the abscissa key."""
    return hashlib.sha256(lp2(b"consilience-v2 abscissa key check") + lp2(params.deployment_id) + key).digest()


def r_base(k: int) -> bytes:
    """k·G in ristretto255 (the encoding of the identity, all zeros, for k = 0 mod ℓ)."""
    k %= ristretto.ORDER
    return bytes(32) if k == 0 else ristretto.scalar_mult_base(ristretto.scalar_from_int(k))


@dataclass
class EvilDealer:
    """A dealer that picks its own polynomials and then signs whatever it wants.

    ``polys[k]`` are the BLS coefficients of coefficient k's polynomial, ``oprf_poly`` the VOPRF key
    polynomial's (ints mod ℓ), ``contribution`` the abscissa-key part. In a renewal (``params.kind``
    refresh or reshare) the constant terms' commitments are not sent (they are implied), and the
    abscissa part is committed by its published check instead of the contribution hash; the caller sets
    the constant terms (``set_constants``) to what an honest dealer would use, or to anything else.
    """

    params: dkg.Parameters
    server: Server
    polys: list[list[Scalar]] = field(default_factory=list)
    contribution: bytes = b"\x07" * 32
    oprf_poly: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        t = self.params.threshold
        self.polys = [[Scalar.random() for _ in range(t)] for _ in range(self.params.coefficients)]
        self.oprf_poly = [secrets.randbelow(ristretto.ORDER - 1) + 1 for _ in range(t)]

    @property
    def renewal(self) -> bool:
        return self.params.kind != dkg.GENERATE

    def set_constants(self, values: Sequence[Scalar], oprf_value: int) -> None:
        for row, v in zip(self.polys, values, strict=True):
            row[0] = v
        self.oprf_poly[0] = oprf_value % ristretto.ORDER

    def values(self, j: int) -> tuple[list[Scalar], int]:
        values = []
        for row in self.polys:
            acc = Scalar(0)
            for b in reversed(row):
                acc = acc * Scalar(j) + b
            values.append(acc)
        oprf = 0
        for c in reversed(self.oprf_poly):
            oprf = (oprf * j + c) % ristretto.ORDER
        return values, oprf

    def plaintext(self, j: int) -> bytes:
        values, oprf = self.values(j)
        return b"".join(v.to_bytes() for v in values) + oprf.to_bytes(32, "little") + self.contribution

    def sign(self, body: bytes) -> bytes:
        return body + signing.sign(self.server.identity, body)

    def deal(self, *, plaintexts: dict[int, bytes] | None = None,
             seal_to: Callable[[int], int] = lambda j: j,
             commitments: bytes | None = None, oprf_commitments: bytes | None = None,
             contribution_commitment: bytes | None = None, m: int | None = None, t: int | None = None) -> bytes:
        p = self.params
        i = self.server.index
        g2 = G2Point.generator()
        first = 1 if self.renewal else 0
        body = header(p, dkg.DEAL_LABEL, i) + i2osp(p.coefficients if m is None else m, 2)
        body += i2osp(p.threshold if t is None else t, 1)
        body += commitments if commitments is not None else b"".join(
            g2.mul_secret(b).to_bytes() for row in self.polys for b in row[first:])
        body += oprf_commitments if oprf_commitments is not None else b"".join(
            r_base(b) for b in self.oprf_poly[first:])
        if contribution_commitment is None:
            contribution_commitment = (abscissa_check(p, self.contribution) if self.renewal
                                       else contribution_hash(p, i, self.contribution))
        body += contribution_commitment + i2osp(p.n, 1)
        for j in range(1, p.n + 1):
            target = seal_to(j)
            pt = (plaintexts or {}).get(j, self.plaintext(j))
            ct = hpke.seal(p.participant(target).hpke_public_key, pt, p.share_info(i, target))
            body += i2osp(j, 1) + i2osp(len(ct), 4) + ct
        return self.sign(body)

    def answer(self, complainant: int, digest: bytes, plaintext: bytes | None = None) -> bytes:
        body = header(self.params, dkg.ANSWER_LABEL, self.server.index) + bytes([complainant]) + digest
        return self.sign(body + (plaintext if plaintext is not None else self.plaintext(complainant)))


def wrong_share(plaintext: bytes, k: int) -> bytes:
    """The plaintext with the share of coefficient k moved by one."""
    value = Scalar.from_bytes(plaintext[32 * k : 32 * k + 32], allow_zero=True) + Scalar(1)
    return plaintext[: 32 * k] + value.to_bytes() + plaintext[32 * k + 32 :]


def digest_of(params: dkg.Parameters, message: bytes) -> bytes:
    parsed = dkg.parse(params, message)
    assert isinstance(parsed, dkg.Deal)
    return parsed.digest


# -- checks on a finished run -----------------------------------------------------------------------


def check_result(params: dkg.Parameters, results: dict[int, dkg.KeyServerResult], qualified: Sequence[int]) -> None:
    """Everything the v2 clients will check, and (tests only) what t and t−1 shares determine."""
    first = next(iter(results.values()))
    for r in results.values():
        assert r.qualified == tuple(qualified)
        assert r.transcript == first.transcript
        assert r.abscissa_key == first.abscissa_key and len(r.abscissa_key) == 32
        assert r.master == first.master
    master = first.master
    assert sorted(master) == list(range(params.low, params.high + 1))
    for q, coeffs in master.items():
        assert len(coeffs) == q, f"level {q} has {len(coeffs)} coefficients"
        assert not coeffs[-1].is_identity(), f"level {q}: F_q is not of degree exactly q-1"
    # Levels are independent: no coefficient commitment repeats across levels.
    flat = [c for coeffs in master.values() for c in coeffs]
    assert len(set(flat)) == len(flat)
    qual = first.qualification
    t = params.threshold
    g2 = G2Point.generator()
    # Per-server commitments, from the board alone, interpolate to the master ones (any t servers).
    per_server = {j: qual.server_commitments(j) for j in range(1, params.n + 1)}
    rng = random.Random(params.n)
    for _ in range(3):
        subset = sorted(rng.sample(range(1, params.n + 1), t))
        lam = lagrange_coefficients([Scalar(j) for j in subset])
        for q in params.levels:
            for c in range(q):
                assert G2Point.msm_public([per_server[j][q][c] for j in subset], lam) == master[q][c]
    # Each server's share matches its public commitment.
    for j, r in results.items():
        for q in params.levels:
            assert [g2.mul_secret(s) for s in r.shares[q]] == list(per_server[j][q])
    # t shares reconstruct coefficients matching the commitments; t−1 do not.
    holders = sorted(results)[:t]
    lam = lagrange_coefficients([Scalar(j) for j in holders])
    for q in params.levels:
        for c in range(q):
            secret = Scalar(0)
            for j, lj in zip(holders, lam, strict=True):
                secret = secret + lj * results[j].shares[q][c]
            assert g2.mul_secret(secret) == master[q][c]
    if t > 1:
        fewer = holders[: t - 1]
        lam = lagrange_coefficients([Scalar(j) for j in fewer])
        for q in params.levels:
            for c in range(q):
                guess = Scalar(0)
                for j, lj in zip(fewer, lam, strict=True):
                    guess = guess + lj * results[j].shares[q][c]
                assert g2.mul_secret(guess) != master[q][c]
        # Any value at all fits those t−1 shares: with the point (0, v) they fix a polynomial of degree t−1,
        # and for two different v that polynomial gives the t-th holder different shares, so the t−1
        # shares alone leave the coefficient undetermined.
        xs = [Scalar(j) for j in fewer]
        lam = lagrange_coefficients([*xs, Scalar(params.n + 1)], Scalar(holders[-1]))
        fixed = sum((lj * results[j].shares[params.low][0] for j, lj in zip(fewer, lam[:-1], strict=True)),
                    Scalar(0))
        assert fixed + lam[-1] * Scalar(1) != fixed + lam[-1] * Scalar(2)


# -- the honest run ---------------------------------------------------------------------------------


def run_honest(n: int, t: int) -> tuple[dkg.Parameters, dict[int, dkg.KeyServerResult], dict[str, float]]:
    params, servers = setup(n, t)
    board = Board()
    times: dict[str, float] = {}
    start = time.perf_counter()
    board.post(*honest_deals(params, servers))
    times["deal (all servers)"] = time.perf_counter() - start
    start = time.perf_counter()
    posted = complaints(params, servers, board)
    times["verify and complain (all servers)"] = time.perf_counter() - start
    board.post(*posted)
    assert posted == []
    start = time.perf_counter()
    assert honest_answers(params, servers, board) == []
    results = finalize_all(params, servers, board)
    times["finalize (all servers)"] = time.perf_counter() - start
    start = time.perf_counter()
    board.post(*confirm_all(params, servers, results))
    for r in results.values():
        assert dkg.confirmed(params, r, board.view()) is r
    times["confirm and check confirmations (all servers)"] = time.perf_counter() - start
    return params, results, times


@pytest.mark.parametrize(("n", "t"), [(3, 2), (7, 4)])
def test_honest_run(n: int, t: int) -> None:
    params, results, times = run_honest(n, t)
    check_result(params, results, range(1, n + 1))
    deal_size = len(dkg.deal(params, 1, _keys(1)[0], dkg.DealerSeed.fresh()))
    total = sum(times.values())
    print(f"\nDKG n={n} t={t} levels {LOW}..{HIGH} ({params.coefficients} coefficients): "
          + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in times.items())
          + f"; total {total * 1000:.0f} ms, {total / n * 1000:.0f} ms per server; deal {deal_size} bytes"
          + " (all servers share this process's parse cache: the first parses, the others hit)")
    # One key server as it runs in its own process: finalize with cold caches (what finalize cost before
    # the caches) and after complaints_for in the same process (what it costs now).
    board = Board(honest_deals(params, setup(n, t)[1]))  # fresh seeds: deals this process has not parsed
    one = _keys(1)[1]
    dkg.clear_caches()
    start = time.perf_counter()
    cold = dkg.finalize(params, 1, one, board.view())
    cold_ms = (time.perf_counter() - start) * 1000
    dkg.clear_caches()
    start = time.perf_counter()
    assert dkg.complaints_for(params, 1, _keys(1)[0], one, board.view()) == []
    complain_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    warm = dkg.finalize(params, 1, one, board.view())
    warm_ms = (time.perf_counter() - start) * 1000
    assert warm.shares == cold.shares and warm.transcript == cold.transcript
    assert warm.abscissa_key == cold.abscissa_key
    print(f"one key server, n={n}: verify and complain {complain_ms:.0f} ms; finalize with cold caches "
          f"{cold_ms:.0f} ms, after verify and complain {warm_ms:.0f} ms")


def test_two_runs_give_independent_secrets() -> None:
    params, a, _ = run_honest(3, 2)
    _, b, _ = run_honest(3, 2)
    assert a[1].abscissa_key != b[1].abscissa_key
    assert a[1].master[2][0] != b[1].master[2][0]


def r_combination(points: Sequence[bytes], x: int) -> bytes:
    """Σ_l x^l·R_l in ristretto255, independently of the module's helpers."""
    total = bytes(32)
    for ell, point in enumerate(points):
        k = pow(x, ell, ristretto.ORDER)
        if k and point != bytes(32):
            total = ristretto.element_add(total, ristretto.scalar_mult(ristretto.scalar_from_int(k), point))
    return total


def test_encoding_matches_the_docstring() -> None:
    """Every byte of a deal, read back by an independent decoder that follows the module docstring."""
    params, servers = setup(3, 2)
    message = dkg.deal(params, 2, servers[1].identity, servers[1].seed)
    assert message.startswith(header(params, b"consilience-v2 dkg deal", 2))
    m, t = params.coefficients, params.threshold
    signing.verify(params.participant(2).identity_key, message[:-64], message[-64:])
    rest = message[len(header(params, dkg.DEAL_LABEL, 2)) : -64]
    assert rest[:3] == i2osp(m, 2) + i2osp(t, 1)
    at = 3
    g2_commitments = [[G2Point.from_bytes(rest[at + 96 * (k * t + ell) : at + 96 * (k * t + ell + 1)])
                       for ell in range(t)] for k in range(m)]  # k-major
    at += 96 * m * t
    oprf_commitments = [ristretto.check_element(rest[at + 32 * ell : at + 32 * (ell + 1)]) for ell in range(t)]
    at += 32 * t
    contribution_commitment = rest[at : at + 32]
    at += 32
    assert rest[at] == 3
    at += 1
    ciphertexts = []
    for j in (1, 2, 3):
        assert rest[at] == j
        size = int.from_bytes(rest[at + 1 : at + 5], "big")
        ciphertexts.append(rest[at + 5 : at + 5 + size])
        at += 5 + size
    assert at == len(rest)
    parsed = dkg.parse(params, message)
    assert isinstance(parsed, dkg.Deal)
    assert parsed.digest == hashlib.sha256(lp2(b"consilience-v2 dkg deal digest") + message[:-64]).digest()
    assert parsed.ciphertexts == tuple(ciphertexts)
    assert parsed.commitments == tuple(tuple(row) for row in g2_commitments)
    assert parsed.oprf_commitments == tuple(oprf_commitments)
    assert all(len(ct) == 32 * m + 32 + 32 + hpke.CIPHERTEXT_OVERHEAD for ct in parsed.ciphertexts)
    # The plaintext: m BLS scalars (big-endian) ‖ the VOPRF polynomial's value (little-endian, canonical) ‖ c_2,
    # under the documented HPKE info.
    info = (lp2(b"consilience-v2 dkg share") + lp2(params.deployment_id) + i2osp(params.epoch, 8) + params.digest
            + bytes([2, 3]))
    plaintext = hpke.open(servers[2].hpke_seed, ciphertexts[2], info)
    assert len(plaintext) == 32 * m + 32 + 32
    g2 = G2Point.generator()
    for k in range(m):
        value = int.from_bytes(plaintext[32 * k : 32 * k + 32], "big")
        expected = G2Point.msm_public(g2_commitments[k], [Scalar(3**ell) for ell in range(t)])
        assert g2.mul_secret(Scalar(value)) == expected
    oprf_value = int.from_bytes(plaintext[32 * m : 32 * m + 32], "little")
    assert 0 < oprf_value < ristretto.ORDER
    assert r_base(oprf_value) == r_combination(oprf_commitments, 3)
    assert contribution_commitment == contribution_hash(params, 2, plaintext[32 * m + 32 :])
    # The parameters digest, recomputed: … ‖ u8 kind ‖ previous_digest[32] (zeros when generating).
    data = (lp2(b"consilience-v2 dkg parameters") + lp2(params.deployment_id) + i2osp(params.epoch, 8)
            + bytes([3, 2, params.low, params.high]))
    for p in params.participants:
        data += bytes([p.index]) + p.identity_key + lp2(p.hpke_public_key)
    assert params.digest == hashlib.sha256(data + bytes([0]) + bytes(32)).digest()


# -- a dealer that sends a bad share ----------------------------------------------------------------


@pytest.mark.parametrize("behaviour", ["answers correctly", "does not answer", "answers with the bad share",
                                       "answers another complaint only"])
def test_bad_share_to_one_recipient(behaviour: str) -> None:
    params, servers = setup(4, 2)
    evil = EvilDealer(params, servers[3])  # key server 4
    victim = 2
    bad = wrong_share(evil.plaintext(victim), 4)
    board = Board()
    evil_deal = evil.deal(plaintexts={victim: bad})
    board.post(*honest_deals(params, servers, skip=[4]), evil_deal)
    # The victim's own check names what is wrong.
    parsed = dkg.parse(params, evil_deal)
    assert isinstance(parsed, dkg.Deal)
    check = dkg.verify_deal(params, victim, servers[victim - 1].hpke_seed, parsed)
    assert check.reason == dkg.BAD_SHARES
    # k = 4: levels 2..5 start at 0, 2, 5, 9, so a_{3,2}
    assert check.problems == ("share of coefficient 2 of level 3 does not match the commitments",)
    # Only the victim complains, and only about key server 4.
    posted = complaints(params, servers, board)
    assert [dkg.parse(params, c) for c in posted] == [
        dkg.Complaint(victim, 4, parsed.digest, dkg.BAD_SHARES, posted[0])]
    board.post(*posted)
    board.post(*honest_answers(params, servers[:3], board))
    if behaviour == "answers correctly":
        board.post(evil.answer(victim, parsed.digest))
    elif behaviour == "answers with the bad share":
        board.post(evil.answer(victim, parsed.digest, bad))
    elif behaviour == "answers another complaint only":
        board.post(evil.answer(3, parsed.digest))
    if behaviour == "answers correctly":
        results = finalize_all(params, servers, board)
        check_result(params, results, [1, 2, 3, 4])
        # the victim's share of key server 4's part came from the revealed values
        assert results[victim].qualification.answers[(4, victim)] == evil.plaintext(victim)
    else:
        honest = servers[:3]
        results = finalize_all(params, honest, board)
        check_result(params, results, [1, 2, 3])
        reason = results[1].qualification.disqualified[4]
        assert "no valid answer to the complaint of key server(s) 2" in reason
        with pytest.raises(dkg.DkgFailed, match="own deal did not qualify"):
            dkg.finalize(params, 4, servers[3].hpke_seed, board.view())


def test_a_false_complaint_is_answered_and_changes_nothing() -> None:
    """A corrupt key server complains about an honest dealer: the dealer reveals, stays qualified."""
    params, servers = setup(3, 2)
    board = Board()
    board.post(*honest_deals(params, servers))
    digest = digest_of(params, board.messages[0])
    board.post(dkg.complain(params, 3, servers[2].identity, 1, digest, dkg.BAD_SHARES))
    answers = honest_answers(params, servers, board)
    assert len(answers) == 1 and isinstance(dkg.parse(params, answers[0]), dkg.Answer)
    board.post(*answers)
    check_result(params, finalize_all(params, servers, board), [1, 2, 3])


def test_t_complaints_disqualify_and_the_dealer_reveals_nothing() -> None:
    params, servers = setup(4, 2)
    board = Board()
    board.post(*honest_deals(params, servers))
    digest = digest_of(params, board.messages[0])
    board.post(*(dkg.complain(params, j, servers[j - 1].identity, 1, digest, dkg.CANNOT_OPEN) for j in (2, 3)))
    assert dkg.answer(params, 1, servers[0].identity, servers[0].seed, board.view()) == []
    qual = dkg.qualify(params, board.view())
    assert qual.qualified == (2, 3, 4) and "2 key servers complained" in qual.disqualified[1]


def test_a_relay_that_drops_the_complaint_leaves_the_victim_refusing() -> None:
    """Without its complaint on the board the victim cannot get a verified share, and says so."""
    params, servers = setup(3, 2)
    evil = EvilDealer(params, servers[2])
    board = Board()
    board.post(*honest_deals(params, servers, skip=[3]), evil.deal(plaintexts={1: wrong_share(evil.plaintext(1), 0)}))
    assert len(complaints(params, servers, board)) == 1  # ... which the relay drops
    with pytest.raises(dkg.DkgFailed, match="does not verify for key server 1 and no complaint"):
        dkg.finalize(params, 1, servers[0].hpke_seed, board.view())


def test_a_bad_contribution_is_complained_about_and_answered() -> None:
    params, servers = setup(3, 2)
    evil = EvilDealer(params, servers[2])
    board = Board()
    deal3 = evil.deal(plaintexts={1: evil.plaintext(1)[:-32] + b"\x00" * 32})
    board.post(*honest_deals(params, servers, skip=[3]), deal3)
    posted = complaints(params, servers, board)
    assert [dkg.parse(params, c).reason for c in posted] == [dkg.BAD_CONTRIBUTION]  # type: ignore[union-attr]
    board.post(*posted, evil.answer(1, digest_of(params, deal3)))
    results = finalize_all(params, servers, board)
    check_result(params, results, [1, 2, 3])  # the abscissa keys agree


# -- silence, tampering, swapping, malformed commitments --------------------------------------------


def test_a_dealer_that_sends_nothing_is_disqualified_after_the_deadline() -> None:
    params, servers = setup(4, 3)
    board = Board()
    board.post(*honest_deals(params, servers, skip=[2]))
    posted = complaints(params, servers, board)  # the deadline has passed: what is on the board is final
    assert sorted((c.complainant, c.dealer, c.reason) for c in map(lambda m: dkg.parse(params, m), posted)
                  if isinstance(c, dkg.Complaint)) == [(1, 2, 4), (3, 2, 4), (4, 2, 4)]
    board.post(*posted)
    honest = [s for s in servers if s.index != 2]
    results = finalize_all(params, honest, board)
    check_result(params, results, [1, 3, 4])
    assert "no valid deal" in results[1].qualification.disqualified[2]
    with pytest.raises(dkg.DkgFailed, match="own deal did not qualify"):
        dkg.finalize(params, 2, servers[1].hpke_seed, board.view())
    # A deal arriving after the deadline is not passed on; had it been, it would be counted by everyone alike.


def test_a_late_nothing_by_the_deadline_complaint_does_not_split_the_confirmations() -> None:
    """Each key server posts its "nothing by the deadline" complaints when its own deadline passes; one
    that started later posts them after the others finalized and confirmed. Those complaints change
    nothing, so they stay out of the transcript, and every holder's confirmation still agrees."""
    params, servers = setup(4, 3)
    board = Board()
    board.post(*honest_deals(params, servers, skip=[2]))
    early = [s for s in servers if s.index in (1, 3)]
    board.post(*complaints(params, early, board))
    honest = [s for s in servers if s.index != 2]
    first = finalize_all(params, early, board)
    board.post(*confirm_all(params, early, first))
    late = [s for s in servers if s.index == 4]
    board.post(*complaints(params, late, board))  # key server 4's deadline passes only now
    results = {**first, **finalize_all(params, late, board)}
    board.post(*confirm_all(params, late, results))
    assert {r.transcript for r in results.values()} == {first[1].transcript}
    for s in honest:
        dkg.confirmed(params, results[s.index], board.view())


def test_too_few_qualified_dealers_fail_the_run() -> None:
    params, servers = setup(4, 3)
    board = Board()
    board.post(*honest_deals(params, servers, skip=[2, 3]))
    with pytest.raises(dkg.DkgFailed, match="only 2 dealers qualified, fewer than the threshold 3"):
        dkg.qualify(params, board.view())


@pytest.mark.parametrize("where", ["commitment", "VOPRF commitment", "ciphertext", "contribution hash", "signature",
                                   "dealer index"])
def test_a_relay_that_tampers_is_caught_by_the_signature(where: str) -> None:
    params, servers = setup(3, 2)
    deals = honest_deals(params, servers)
    original = deals[1]
    head = len(header(params, dkg.DEAL_LABEL, 2))
    m, t = params.coefficients, params.threshold
    after = head + 3 + 96 * m * t + 32 * t  # the commitments: m·t in G2, then t in ristretto255
    offsets = {"commitment": head + 3 + 96 * 7 + 40, "VOPRF commitment": head + 3 + 96 * m * t + 32 + 7,
               "contribution hash": after + 5, "ciphertext": after + 32 + 1 + 5 + 500,
               "signature": len(original) - 10, "dealer index": head - 1}
    tampered = bytearray(original)
    tampered[offsets[where]] ^= 0x01
    with pytest.raises((VerificationError, dkg.MalformedMessage)) as caught:
        dkg.parse(params, bytes(tampered))
    assert not isinstance(caught.value, dkg.MalformedMessage), "tampering must fail the signature, not blame the dealer"
    # Instead of the real deal: key server 2 has no deal, everyone agrees; next to it: it changes nothing.
    qual = dkg.qualify(params, [deals[0], bytes(tampered), deals[2]])
    assert qual.qualified == (1, 3) and any("signature" in r or "key server" in r for r in qual.refused)
    board = Board([deals[0], bytes(tampered), original, deals[2]])
    check_result(params, finalize_all(params, servers, board), [1, 2, 3])


def test_a_relay_that_swaps_two_recipients_ciphertexts_is_detected() -> None:
    params, servers = setup(3, 2)
    original = honest_deals(params, servers)[0]
    parsed = dkg.parse(params, original)
    assert isinstance(parsed, dkg.Deal)
    a, b = parsed.ciphertexts[1], parsed.ciphertexts[2]
    assert len(a) == len(b)
    swapped = original.replace(a, b'\x00' * len(a)).replace(b, a).replace(b'\x00' * len(a), b)
    assert swapped != original and len(swapped) == len(original)
    with pytest.raises(VerificationError, match="signature"):
        dkg.parse(params, swapped)


def test_ciphertexts_sealed_to_the_wrong_recipient_do_not_open() -> None:
    """Even signed by the dealer, j's ciphertext made for k (key and info) is refused by j: HPKE info binds j."""
    params, servers = setup(3, 2)
    evil = EvilDealer(params, servers[0])
    # seal 2's values to 3 and 3's to 2, each under the other's key and info, in the other's slot
    deal1 = evil.deal(seal_to=lambda j: {2: 3, 3: 2}.get(j, j), plaintexts={2: evil.plaintext(3), 3: evil.plaintext(2)})
    board = Board()
    board.post(deal1, *honest_deals(params, servers, skip=[1]))
    posted = complaints(params, servers, board)
    assert sorted((c.complainant, c.reason) for c in (dkg.parse(params, x) for x in posted)  # type: ignore[union-attr]
                  ) == [(2, dkg.CANNOT_OPEN), (3, dkg.CANNOT_OPEN)]
    # Ciphertext moved under another recipient's info (same key): also does not open.
    p = dkg.parse(params, deal1)
    assert isinstance(p, dkg.Deal)
    ct = hpke.seal(params.participant(2).hpke_public_key, evil.plaintext(2), params.share_info(1, 3))
    with pytest.raises(VerificationError):
        hpke.open(servers[1].hpke_seed, ct, params.share_info(1, 2))
    # t = 2 complaints: disqualified.
    board.post(*posted)
    assert dkg.qualify(params, board.view()).qualified == (2, 3)


@pytest.mark.parametrize(("m_delta", "t_delta"), [(-1, 0), (1, 0), (0, -1), (0, 1)])
def test_commitments_with_the_wrong_number_of_coefficients_are_refused(m_delta: int, t_delta: int) -> None:
    params, servers = setup(3, 2)
    evil = EvilDealer(params, servers[2])
    m, t = params.coefficients + m_delta, params.threshold + t_delta
    g2 = G2Point.generator()
    commitments = b"".join(g2.mul_secret(Scalar.random()).to_bytes() for _ in range(m * t))
    bad = evil.deal(commitments=commitments, m=m, t=t)
    with pytest.raises(dkg.MalformedMessage, match="commitments for"):
        dkg.parse(params, bad)
    good = evil.deal()
    qual = dkg.qualify(params, [*honest_deals(params, servers, skip=[3]), bad, good])
    assert qual.qualified == (1, 2) and "malformed deal" in qual.disqualified[3]


def test_commitments_that_are_not_points_are_refused() -> None:
    params, servers = setup(3, 2)
    evil = EvilDealer(params, servers[2])
    g2 = G2Point.generator()
    n_points = params.coefficients * params.threshold
    for bad_point in (b"\xc0" + bytes(95), b"\x80" + bytes(94) + b"\x05"):  # the identity; x not on the curve
        points = [g2.mul_secret(Scalar.random()).to_bytes() for _ in range(n_points - 1)] + [bad_point]
        with pytest.raises(dkg.MalformedMessage):
            dkg.parse(params, evil.deal(commitments=b"".join(points)))
    # The VOPRF polynomial's commitments: the identity, a non-canonical encoding (p + 1 as a field element,
    # little-endian) and a string that is no ristretto255 encoding at all are the dealer's malformed deal.
    good = r_base(5)
    non_canonical = (2**255 - 19 + 2).to_bytes(32, "little")
    for bad_element in (bytes(32), non_canonical, b"\x01" + bytes(31)):
        with pytest.raises(dkg.MalformedMessage, match="ristretto255"):
            dkg.parse(params, evil.deal(oprf_commitments=good + bad_element))
        qual = dkg.qualify(params, [*honest_deals(params, servers, skip=[3]),
                                    evil.deal(oprf_commitments=bad_element + good)])
        assert qual.qualified == (1, 2) and "malformed deal" in qual.disqualified[3]


def test_a_bad_voprf_share_alone_is_complained_about_and_answered() -> None:
    """The BLS shares are right, the VOPRF key share is one off: a BAD_SHARES complaint naming the VOPRF key."""
    params, servers = setup(3, 2)
    evil = EvilDealer(params, servers[2])
    values, oprf = evil.values(1)
    bad = b"".join(v.to_bytes() for v in values) + ((oprf + 1) % ristretto.ORDER).to_bytes(32, "little")
    bad += evil.contribution
    deal3 = evil.deal(plaintexts={1: bad})
    parsed = dkg.parse(params, deal3)
    assert isinstance(parsed, dkg.Deal)
    check = dkg.verify_deal(params, 1, servers[0].hpke_seed, parsed)
    assert check.reason == dkg.BAD_SHARES
    assert check.problems == ("share of the VOPRF key does not match the commitments",)
    # a non-canonical VOPRF value (≥ ℓ) is refused as it is, not reduced
    wide = bad[: 32 * params.coefficients] + (oprf + ristretto.ORDER).to_bytes(32, "little") + evil.contribution
    assert dkg.check_values(params, parsed, 1, wide) != []
    board = Board([*honest_deals(params, servers, skip=[3]), deal3])
    posted = complaints(params, servers, board)
    assert [(c.complainant, c.dealer, c.reason) for c in map(lambda x: dkg.parse(params, x), posted)  # type: ignore[union-attr]
            ] == [(1, 3, dkg.BAD_SHARES)]
    board.post(*posted)
    unanswered = dkg.qualify(params, board.view())
    assert unanswered.qualified == (1, 2) and "no valid answer" in unanswered.disqualified[3]
    board.post(evil.answer(1, parsed.digest))
    results = finalize_all(params, servers, board)
    check_result(params, results, [1, 2, 3])


def test_a_dealer_that_signs_two_deals_is_disqualified() -> None:
    params, servers = setup(3, 2)
    evil = EvilDealer(params, servers[2])
    qual = dkg.qualify(params, [*honest_deals(params, servers, skip=[3]), evil.deal(), evil.deal()])
    assert qual.qualified == (1, 2) and qual.disqualified[3] == "signed two different deals"


def test_messages_of_another_epoch_are_refused() -> None:
    params, servers = setup(3, 2, epoch=1)
    other, _ = setup(3, 2, epoch=2)
    old = dkg.deal(other, 1, servers[0].identity, servers[0].seed)
    with pytest.raises(InvalidInput, match="another deployment, epoch"):
        dkg.parse(params, old)


def test_a_relay_that_reorders_and_duplicates_changes_nothing() -> None:
    params, servers = setup(4, 2)
    evil = EvilDealer(params, servers[3])
    board = Board()
    deal4 = evil.deal(plaintexts={1: wrong_share(evil.plaintext(1), 0)})
    board.post(*honest_deals(params, servers, skip=[4]), deal4)
    board.post(*complaints(params, servers, board))
    board.post(evil.answer(1, digest_of(params, deal4)))
    reference = finalize_all(params, servers, board)
    shuffled = board.view() * 2
    random.Random(7).shuffle(shuffled)
    again = finalize_all(params, servers, Board(shuffled))
    for j in reference:
        assert again[j].transcript == reference[j].transcript
        assert again[j].qualified == reference[j].qualified == (1, 2, 3, 4)
        assert again[j].abscissa_key == reference[j].abscissa_key
        assert again[j].shares == reference[j].shares


def test_an_outsider_cannot_post() -> None:
    """Messages signed by a key that is not in the parameters are refused (the relay cannot invent a dealer)."""
    params, servers = setup(3, 2)
    with pytest.raises(InvalidInput, match="not key server 1's"):
        dkg.deal(params, 1, signing.generate(), servers[0].seed)
    evil = EvilDealer(params, Server(1, signing.generate(), servers[0].hpke_seed, servers[0].seed))
    with pytest.raises(VerificationError, match="signature"):
        dkg.parse(params, evil.deal())


def test_abscissa_key_is_hkdf_over_the_qualified_contributions_in_index_order() -> None:
    """Recomputed from the module docstring's formula, with dealer 2 disqualified (its contribution left out)."""
    params, servers = setup(3, 2)
    dealers = [EvilDealer(params, s, contribution=bytes([s.index]) * 32) for s in servers]
    board = Board()
    board.post(dealers[0].deal(), dealers[2].deal())
    results = finalize_all(params, [servers[0], servers[2]], board)
    context = params.digest + bytes([2, 1, 3])
    expected = kdf.derive(b"\x01" * 32 + b"\x03" * 32, "consilience-v2 dkg abscissa key", context, 32)
    assert results[1].abscissa_key == results[3].abscissa_key == expected
    board.post(dealers[1].deal())
    assert dkg.finalize(params, 1, servers[0].hpke_seed, board.view()).abscissa_key != expected


# -- round 4: transcript confirmation, against a relay that shows servers different boards ------------


def confirmation(params: dkg.Parameters, author: int, identity: bytes, transcript: bytes,
                 qualified: Sequence[int], commitments: bytes = bytes(32), check: bytes = bytes(32)) -> bytes:
    """The docstring's confirmation, built independently: header ‖ digest ‖ u8 |QUAL| ‖ indices ‖ commitments
    digest ‖ abscissa check ‖ signature."""
    body = (header(params, b"consilience-v2 dkg confirm", author) + transcript + bytes([len(qualified), *qualified])
            + commitments + check)
    return body + signing.sign(identity, body)


def test_confirmation_encoding_matches_the_docstring() -> None:
    params, servers = setup(3, 2)
    board = Board(honest_deals(params, servers))
    results = finalize_all(params, servers, board)
    message = dkg.confirm(params, servers[1].identity, results[2])
    qual = results[2].qualification
    # The VOPRF public values, computed independently from the deals' ristretto255 commitments: the public
    # key Σ_i R_{i,0} and each holder's public share Σ_i Σ_l j^l·R_{i,l}, which is k_j·G for its key share.
    deals = [dkg.parse(params, d) for d in board.messages]
    assert all(isinstance(d, dkg.Deal) for d in deals)
    oprf_key = bytes(32)
    for d in deals:
        oprf_key = ristretto.element_add(oprf_key, d.oprf_commitments[0])  # type: ignore[union-attr]
    oprf_shares = {}
    for i in (1, 2, 3):
        share = bytes(32)
        for d in deals:
            share = ristretto.element_add(share, r_combination(d.oprf_commitments, i))  # type: ignore[union-attr]
        oprf_shares[i] = share
        assert share == qual.oprf_public_share(i) == r_base(int.from_bytes(results[i].oprf_share, "little"))
    assert qual.oprf_public_key == oprf_key
    # The abscissa check: SHA-256(lp2(label) ‖ lp2(deployment_id) ‖ key).
    check = abscissa_check(params, results[2].abscissa_key)
    assert results[2].abscissa_check == check
    # The commitments digest, computed independently from the published encodings.
    data = lp2(b"consilience-v2 dkg public commitments")
    for q in params.levels:
        data += bytes([q]) + b"".join(c.to_bytes() for c in qual.master[q])
    for i in (1, 2, 3):
        data += bytes([i]) + b"".join(c.to_bytes() for q in params.levels for c in qual.server_commitments(i)[q])
        data += oprf_shares[i]
    digest = hashlib.sha256(data + oprf_key + check).digest()
    assert results[2].commitments_digest == qual.commitments_digest(check) == digest
    assert digest == dkg.commitments_digest(
        {q: [c.to_bytes() for c in qual.master[q]] for q in params.levels},
        {i: {q: [c.to_bytes() for c in qual.server_commitments(i)[q]] for q in params.levels} for i in (1, 2, 3)},
        oprf_key, oprf_shares, check)
    assert message == confirmation(params, 2, servers[1].identity, results[2].transcript, [1, 2, 3], digest, check)
    assert dkg.CONFIRM_LABEL == b"consilience-v2 dkg confirm"
    parsed = dkg.parse(params, message)
    assert parsed == dkg.Confirmation(2, results[2].transcript, (1, 2, 3), message, digest, check)
    # The transcript digest is the documented one: sorted SHA-256 of every accepted message.
    expected = hashlib.sha256(lp2(b"consilience-v2 dkg transcript")
                              + b"".join(sorted(hashlib.sha256(m).digest() for m in board.messages))).digest()
    assert results[2].transcript == expected
    # Confirmations on the same board are not part of the transcript: finalize gives the same result.
    board.post(*confirm_all(params, servers, results))
    again = dkg.finalize(params, 2, servers[1].hpke_seed, board.view())
    assert again.transcript == results[2].transcript and again.qualification.refused == ()
    with pytest.raises(InvalidInput, match="not key server 2's"):  # server 1 cannot confirm for server 2
        dkg.confirm(params, servers[0].identity, results[2])


def test_a_relay_that_hides_one_deal_from_one_server_is_caught_by_the_confirmations() -> None:
    """n=7 t=4: the relay shows key server 5 the board without dealer 3's deal.

    Every finalize succeeds, and server 5 ends up on another QUAL with shares of other polynomials,
    which it cannot tell from its own board. The confirmations catch it, whichever way the relay
    passes them on.
    """
    params, servers = setup(7, 4)
    deals = honest_deals(params, servers)
    board = Board(list(deals))  # what servers 1-4, 6, 7 see
    hidden = Board([d for d in deals if d != deals[2]])
    assert len(hidden.messages) == 6
    # Complaints: 5 complains "nothing by the deadline" about 3; the relay passes that to 5 only.
    assert complaints(params, [s for s in servers if s.index != 5], board) == []
    hidden.post(*dkg.complaints_for(params, 5, servers[4].identity, servers[4].hpke_seed, hidden.view()))
    results = finalize_all(params, [s for s in servers if s.index != 5], board)
    results[5] = dkg.finalize(params, 5, servers[4].hpke_seed, hidden.view())
    # finalize alone does not catch it: all "succeed", on different qualified sets and keys.
    assert results[1].qualified == (1, 2, 3, 4, 5, 6, 7) and results[5].qualified == (1, 2, 4, 5, 6, 7)
    assert results[5].master != results[1].master and results[5].transcript != results[1].transcript
    assert results[5].abscissa_key != results[1].abscissa_key
    majority_view_of_5 = results[1].qualification.server_commitments(5)
    g2 = G2Point.generator()
    assert [g2.mul_secret(s) for s in results[5].shares[LOW]] != list(majority_view_of_5[LOW])
    confirmations = {j: dkg.confirm(params, servers[j - 1].identity, r) for j, r in results.items()}
    # 1. The relay passes every confirmation on: everyone sees the disagreement.
    everything = list(confirmations.values())
    for j in (1, 2, 3, 4, 6, 7):
        with pytest.raises(dkg.DkgFailed, match="key server 5 confirmed another board") as caught:
            dkg.confirmed(params, results[j], [*board.view(), *everything])
        assert caught.value.disagreeing == (5,) and caught.value.missing == ()
        assert "qualified 1, 2, 4, 5, 6, 7" in str(caught.value)
    with pytest.raises(dkg.DkgFailed) as caught:
        dkg.confirmed(params, results[5], [*hidden.view(), *everything])
    assert caught.value.disagreeing == (1, 2, 3, 4, 6, 7) and caught.value.missing == ()
    # 2. The relay withholds 5's confirmation from the others and the others' from 5: both are blocked.
    others = [c for j, c in confirmations.items() if j != 5]
    with pytest.raises(dkg.DkgFailed, match=r"no valid confirmation from qualified key server\(s\) 5 ") as caught:
        dkg.confirmed(params, results[1], others)
    assert caught.value.disagreeing == () and caught.value.missing == (5,)
    with pytest.raises(dkg.DkgFailed) as caught:
        dkg.confirmed(params, results[5], [confirmations[5]])
    assert caught.value.missing == (1, 2, 4, 6, 7)
    # 3. The relay rewrites 5's confirmation to carry the majority's digest: the signature refuses it.
    forged = bytearray(confirmations[5])
    start = len(header(params, dkg.CONFIRM_LABEL, 5))
    forged[start : start + 32] = results[1].transcript
    forged[start + 32 : start + 40] = bytes([7, 1, 2, 3, 4, 5, 6, 7])
    forged = forged[: start + 40] + forged[start + 39 :]  # one index longer, same signature
    with pytest.raises(VerificationError, match="signature"):
        dkg.parse(params, bytes(forged))
    with pytest.raises(dkg.DkgFailed) as caught:
        dkg.confirmed(params, results[1], [*others, bytes(forged)])
    assert caught.value.missing == (5,) and "1 board message(s) refused" in str(caught.value)
    # The honest outcome, for contrast: 5 shown the full board confirms the same digest and all proceed.
    results[5] = dkg.finalize(params, 5, servers[4].hpke_seed, board.view())
    honest = [*others, dkg.confirm(params, servers[4].identity, results[5])]
    for r in results.values():
        assert dkg.confirmed(params, r, honest) is r
    check_result(params, results, range(1, 8))


def test_a_hidden_deal_of_a_dealer_that_is_then_disqualified_for_everyone_else_is_caught_too() -> None:
    """Dealer 3's deal reaches only key server 3 (the relay drops it for everyone else).

    The others agree on QUAL without 3; 3 finalizes on its own deal and confirms another board. Its
    signed disagreement fails the run for everyone (3 is outside the others' QUAL, but was shown
    another board), rather than leaving 3 holding shares that fit no one's commitments unnoticed.
    """
    params, servers = setup(3, 2)
    deals = honest_deals(params, servers)
    board = Board([deals[0], deals[1]])
    alone = Board(list(deals))
    results = finalize_all(params, servers[:2], board)
    results[3] = dkg.finalize(params, 3, servers[2].hpke_seed, alone.view())
    assert results[1].qualified == (1, 2) and results[3].qualified == (1, 2, 3)
    posted = confirm_all(params, servers, results)
    with pytest.raises(dkg.DkgFailed) as caught:
        dkg.confirmed(params, results[1], posted)
    assert caught.value.disagreeing == (3,) and caught.value.missing == ()
    # Without 3's confirmation the others' rule (all of their QUAL) is met: 3 holds nothing they use.
    assert dkg.confirmed(params, results[1], posted[:2]) is results[1]


@pytest.mark.parametrize("forgery", ["outsider key", "another server's key", "bit flipped in the digest",
                                     "truncated signature"])
def test_a_forged_confirmation_is_refused(forgery: str) -> None:
    params, servers = setup(3, 2)
    board = Board(honest_deals(params, servers))
    results = finalize_all(params, servers, board)
    real = confirm_all(params, servers, results)
    transcript = results[1].transcript
    if forgery == "outsider key":
        fake = confirmation(params, 2, signing.generate(), transcript, [1, 2, 3])
    elif forgery == "another server's key":
        fake = confirmation(params, 2, servers[0].identity, transcript, [1, 2, 3])
    elif forgery == "bit flipped in the digest":
        flipped = bytearray(real[1])
        flipped[len(header(params, dkg.CONFIRM_LABEL, 2)) + 5] ^= 1
        fake = bytes(flipped)
    else:
        fake = real[1][:-1]
    with pytest.raises((VerificationError, InvalidInput)):
        dkg.parse(params, fake)
    with pytest.raises(dkg.DkgFailed, match=r"no valid confirmation from qualified key server\(s\) 2") as caught:
        dkg.confirmed(params, results[1], [real[0], fake, real[2]])
    assert caught.value.missing == (2,) and caught.value.disagreeing == ()


@pytest.mark.parametrize("context", ["epoch", "deployment"])
def test_a_confirmation_replayed_from_another_epoch_or_deployment_is_refused(context: str) -> None:
    """Even a confirmation carrying this run's own digest, signed by the right key: the header binds the run."""
    params, servers = setup(3, 2, epoch=1)
    if context == "epoch":
        other, other_servers = setup(3, 2, epoch=2)
    else:
        other = dkg.Parameters(b"deployment-0002!", params.epoch, params.threshold, params.low, params.high,
                               params.participants)
        other_servers = servers
    board = Board(honest_deals(params, servers))
    results = finalize_all(params, servers, board)
    # A genuine confirmation from a run of the other context ...
    other_board = Board(honest_deals(other, other_servers))
    other_result = dkg.finalize(other, 2, other_servers[1].hpke_seed, other_board.view())
    genuine_other = dkg.confirm(other, other_servers[1].identity, other_result)
    # ... and one the server signed there over this run's digest (the strongest replay)
    same_digest = confirmation(other, 2, servers[1].identity, results[1].transcript, [1, 2, 3])
    for replayed in (genuine_other, same_digest):
        with pytest.raises(InvalidInput, match="another deployment, epoch"):
            dkg.parse(params, replayed)
        with pytest.raises(dkg.DkgFailed) as caught:
            dkg.confirmed(params, results[1], [*confirm_all(params, servers[::2], results), replayed])
        assert caught.value.missing == (2,) and caught.value.disagreeing == ()


def test_a_confirmation_replayed_from_an_earlier_run_of_the_same_epoch_blocks_and_never_accepts() -> None:
    """A rerun under the same parameters: the old run's confirmation names another digest (a disagreement)."""
    params, servers = setup(3, 2)
    first = finalize_all(params, servers, Board(honest_deals(params, servers)))
    old = dkg.confirm(params, servers[1].identity, first[2])
    fresh = [Server(s.index, s.identity, s.hpke_seed, dkg.DealerSeed.fresh()) for s in servers]
    second = finalize_all(params, fresh, Board(honest_deals(params, fresh)))
    assert second[1].transcript != first[1].transcript
    with pytest.raises(dkg.DkgFailed) as caught:
        dkg.confirmed(params, second[1], [*confirm_all(params, servers[::2], second), old])
    assert caught.value.disagreeing == (2,) and caught.value.missing == ()
    with pytest.raises(InvalidInput, match="another run"):
        dkg.confirmed(setup(3, 2, epoch=9)[0], second[1], [])


def test_a_missing_confirmation_blocks_use_until_it_arrives() -> None:
    params, servers = setup(4, 3)
    results = finalize_all(params, servers, Board(honest_deals(params, servers)))
    posted = confirm_all(params, servers, results)
    for j in results:
        with pytest.raises(dkg.DkgFailed, match=r"must not use its shares: no valid confirmation from qualified "
                                                r"key server\(s\) 3 ") as caught:
            dkg.confirmed(params, results[j], posted[:2] + posted[3:])
        assert caught.value.missing == (3,)
    with pytest.raises(dkg.DkgFailed) as caught:
        dkg.confirmed(params, results[1], [])
    assert caught.value.missing == (1, 2, 3, 4)
    # duplicated and reordered by the relay, once all are there: accepted
    assert dkg.confirmed(params, results[1], list(reversed(posted * 2))) is results[1]


def test_a_server_that_confirms_two_boards_or_a_wrong_qualified_set_is_named() -> None:
    params, servers = setup(3, 2)
    results = finalize_all(params, servers, Board(honest_deals(params, servers)))
    posted = confirm_all(params, servers, results)
    two = confirmation(params, 3, servers[2].identity, bytes(32), [1, 2, 3])
    with pytest.raises(dkg.DkgFailed, match=r"key server 3 confirmed another board.*\(and ours\)") as caught:
        dkg.confirmed(params, results[1], [*posted, two])
    assert caught.value.disagreeing == (3,)
    wrong_set = confirmation(params, 2, servers[1].identity, results[1].transcript, [1, 2])
    with pytest.raises(dkg.DkgFailed) as caught:
        dkg.confirmed(params, results[1], [posted[0], wrong_set, posted[2]])
    assert caught.value.disagreeing == (2,)
    # A qualified set that is not increasing indices in 1..n: the signer's malformed message, counted as absent.
    for bad in ([2, 1, 3], [1, 1, 3], [1, 2, 4], []):
        malformed = confirmation(params, 2, servers[1].identity, results[1].transcript, bad)
        with pytest.raises(dkg.MalformedMessage):
            dkg.parse(params, malformed)
        with pytest.raises(dkg.DkgFailed) as caught:
            dkg.confirmed(params, results[1], [posted[0], malformed, posted[2]])
        assert caught.value.missing == (2,)


def test_the_caches_never_accept_what_fresh_checks_refuse() -> None:
    params, servers = setup(3, 2)
    evil = EvilDealer(params, servers[2])
    bad_deal = evil.deal(plaintexts={1: wrong_share(evil.plaintext(1), 3)})
    parsed = dkg.parse(params, bad_deal)
    assert isinstance(parsed, dkg.Deal) and dkg.parse(params, bad_deal) is parsed  # cached
    # a verified plaintext is remembered; a different (wrong) one for the same deal is still refused, every time
    assert dkg.check_values(params, parsed, 2, evil.plaintext(2)) == []
    assert dkg.check_values(params, parsed, 2, evil.plaintext(2)) == []
    for _ in range(2):
        assert dkg.check_values(params, parsed, 1, wrong_share(evil.plaintext(1), 3)) != []
    # the right values for recipient 2 are not right for recipient 1
    assert dkg.check_values(params, parsed, 1, evil.plaintext(2)) != []
    # a tampered copy of a cached message is parsed afresh and refused
    tampered = bytearray(bad_deal)
    tampered[-3] ^= 1
    for _ in range(2):
        with pytest.raises(VerificationError):
            dkg.parse(params, bytes(tampered))
    # the same bytes under other parameters are not served from the cache
    other, _ = setup(3, 2, epoch=5)
    with pytest.raises(InvalidInput, match="another deployment, epoch"):
        dkg.parse(other, bad_deal)
    dkg.clear_caches()
    assert dkg.parse(params, bad_deal) == parsed
