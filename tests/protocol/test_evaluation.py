"""protocol/evaluation.py: a request bound to one key server, its elements, a time and a nonce (PROTOCOL.md §5).

Each test says what a v1 access token allowed: the token named only an
account and an expiry, so one token went to every key server and could be
replayed at any of them, for any elements, until it expired.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.protocol import accounts, evaluation, quorum
from consilience.protocol.evaluation import FRESHNESS_SECONDS, EvaluationRequest, ReplayGuard

from .conftest import V2World, seed_of

NOW = 1_790_000_100
DEPLOYMENT = seed_of("evaluation/deployment")[:16]
ADMIN = seed_of("evaluation/admin")
ADMIN_PUB = signing.public_key(ADMIN)
SERVER_A = signing.public_key(seed_of("evaluation/server a"))
SERVER_B = signing.public_key(seed_of("evaluation/server b"))
SEED = seed_of("evaluation/account")
CERT = accounts.issue_certificate(ADMIN, DEPLOYMENT, accounts.account_key(SEED), now=NOW - 86_400)
BLINDED = [bytes([7]) * 32, bytes([8]) * 32]
POINTS = [quorum.blind(b"x:one").blinded, quorum.blind(b"x:two").blinded]


def request(audience: bytes = SERVER_A, *, now: int = NOW, seed: bytes = SEED, cert: bytes = CERT,
            nonce: bytes | None = None) -> EvaluationRequest:
    return evaluation.make_request(seed, cert, DEPLOYMENT, audience, BLINDED, POINTS, now=now, nonce=nonce)


def verify(req: EvaluationRequest, *, audience: bytes = SERVER_A, now: float = NOW) -> accounts.AccountCertificate:
    return evaluation.verify_request(req, admin_public=ADMIN_PUB, deployment_id=DEPLOYMENT, audience=audience,
                                     now=now)


def test_round_trip_and_signed_bytes() -> None:
    nonce = bytes(range(16))
    req = request(nonce=nonce)
    assert (req.audience, req.issued_at, req.nonce, req.blinded, req.points, req.certificate) == (
        SERVER_A, NOW, nonce, tuple(BLINDED), tuple(POINTS), CERT)
    signed = (b"consilience-v2 evaluate" + DEPLOYMENT + SERVER_A + NOW.to_bytes(8, "big") + nonce + bytes([2])
              + b"".join(BLINDED) + b"".join(POINTS))
    assert evaluation.signed_bytes(DEPLOYMENT, SERVER_A, NOW, nonce, BLINDED, POINTS) == signed
    signing.verify(accounts.account_key(SEED), signed, req.signature)
    assert verify(req).account_key == accounts.account_key(SEED)
    # a fresh nonce every time by default
    assert request().nonce != request().nonce


def test_a_request_for_one_key_server_is_refused_by_another() -> None:
    """v1: key server 1 replayed the tokens it received at key server 2 and ran the whole OPRF itself."""
    req = request(SERVER_A)
    verify(req, audience=SERVER_A)
    with pytest.raises(VerificationError, match="another key server"):
        verify(req, audience=SERVER_B)
    # relabelling the audience breaks the account's signature
    with pytest.raises(VerificationError, match="not signed by the certified account key"):
        verify(replace(req, audience=SERVER_B), audience=SERVER_B)


@pytest.mark.parametrize("offset", [0, 1, FRESHNESS_SECONDS - 1, FRESHNESS_SECONDS])
def test_fresh_within_the_window_on_both_sides(offset: int) -> None:
    verify(request(now=NOW), now=NOW + offset)  # the key server's clock ahead
    verify(request(now=NOW), now=NOW - offset)  # the key server's clock behind


@pytest.mark.parametrize("offset", [FRESHNESS_SECONDS + 1, 3600, 10**7])
def test_too_old_or_from_the_future_is_refused(offset: int) -> None:
    """v1 tokens lived for ten minutes and could be used any number of times meanwhile."""
    with pytest.raises(VerificationError, match="too old or from the future"):
        verify(request(now=NOW), now=NOW + offset)
    with pytest.raises(VerificationError, match="too old or from the future"):
        verify(request(now=NOW), now=NOW - offset)


def test_the_window_is_two_minutes() -> None:
    assert FRESHNESS_SECONDS == 120


def test_moving_issued_at_breaks_the_signature() -> None:
    req = request(now=NOW - 1000)  # stale; an attacker tries to refresh it
    with pytest.raises(VerificationError, match="not signed"):
        verify(replace(req, issued_at=NOW))


@pytest.mark.parametrize("field", ["blinded", "points"])
def test_elements_swapped_for_others_break_the_signature(field: str) -> None:
    """v1: a token authorised any elements, so whoever held one evaluated points of its own choosing."""
    req = request()
    values = list(getattr(req, field))
    other = [bytes([9]) * 32] if field == "blinded" else [quorum.blind(b"x:chosen by a key server").blinded]
    for changed in ([other[0], values[1]], [values[1], values[0]], values[:1], [*values, other[0]]):
        forged = replace(req, **{field: tuple(changed)})
        with pytest.raises((VerificationError, InvalidInput)):
            verify(forged)


def test_tampered_nonce_or_signature_is_refused() -> None:
    req = request()
    with pytest.raises(VerificationError, match="not signed"):
        verify(replace(req, nonce=bytes(16)))
    with pytest.raises(VerificationError, match="not signed"):
        verify(replace(req, signature=req.signature[:-1] + bytes([req.signature[-1] ^ 1])))


def test_wrong_account_key_is_refused() -> None:
    """A certificate of one account with a request signed by another seed (a stolen certificate alone)."""
    thief = seed_of("evaluation/thief")
    with pytest.raises(VerificationError, match="not signed by the certified account key"):
        verify(request(seed=thief, cert=CERT))
    # the thief's own key, certified by someone else (e.g. the escrow host), does not pass either
    fake_cert = accounts.issue_certificate(seed_of("evaluation/escrow host"), DEPLOYMENT,
                                           accounts.account_key(thief), now=NOW)
    with pytest.raises(VerificationError, match="administrator"):
        verify(request(seed=thief, cert=fake_cert))
    other_deployment = accounts.issue_certificate(ADMIN, seed_of("elsewhere")[:16], accounts.account_key(SEED),
                                                  now=NOW)
    with pytest.raises(VerificationError, match="another deployment"):
        verify(request(cert=other_deployment))


def test_verify_refuses_cheapest_first() -> None:
    # a stale request for another key server with a bad certificate: the audience is named first, then time
    req = replace(request(now=NOW - 10_000), certificate=bytes(120))
    with pytest.raises(VerificationError, match="another key server"):
        verify(req, audience=SERVER_B)
    with pytest.raises(VerificationError, match="too old"):
        verify(req)


@pytest.mark.parametrize(("blinded", "points"), [
    ([], []), (BLINDED[:1], POINTS), ([bytes(31)], POINTS[:1]), (BLINDED[:1], [bytes(47)]),
    ([bytes(32)] * 9, [POINTS[0]] * 9)])
def test_make_request_shapes(blinded: list[bytes], points: list[bytes]) -> None:
    with pytest.raises(InvalidInput):
        evaluation.make_request(SEED, CERT, DEPLOYMENT, SERVER_A, blinded, points, now=NOW)


def test_eight_identifiers_is_the_limit() -> None:
    req = evaluation.make_request(SEED, CERT, DEPLOYMENT, SERVER_A, [bytes(32)] * 8, [POINTS[0]] * 8, now=NOW)
    verify(req)


# -- the replay guard ---------------------------------------------------------------------------------


def test_replay_guard_answers_a_request_once() -> None:
    guard = ReplayGuard()
    key = accounts.account_key(SEED)
    guard.check(key, bytes(16), NOW, now=NOW)
    with pytest.raises(VerificationError, match="already answered"):
        guard.check(key, bytes(16), NOW, now=NOW)
    with pytest.raises(VerificationError, match="already answered"):
        guard.check(key, bytes(16), NOW, now=NOW + 60)
    # another nonce, or the same nonce from another account, is another request
    guard.check(key, bytes([1]) * 16, NOW, now=NOW)
    guard.check(accounts.account_key(seed_of("evaluation/someone else")), bytes(16), NOW, now=NOW)
    assert len(guard) == 3


def test_replay_guard_forgets_only_what_the_window_would_refuse_anyway() -> None:
    guard = ReplayGuard()
    key = accounts.account_key(SEED)
    old = NOW - 3 * FRESHNESS_SECONDS
    for k in range(1025):
        guard.check(key, k.to_bytes(16, "big"), old, now=old)
    assert len(guard) == 1025
    recent = 5000
    # this call finds more than 1024 remembered and forgets those older than twice the window
    guard.check(key, recent.to_bytes(16, "big"), NOW, now=NOW)
    guard.check(key, (recent + 1).to_bytes(16, "big"), NOW, now=NOW)
    assert len(guard) == 2  # the stale ones are gone, the fresh ones kept
    with pytest.raises(VerificationError):
        guard.check(key, recent.to_bytes(16, "big"), NOW, now=NOW)
    # a forgotten request is one verify_request refuses as too old anyway
    with pytest.raises(VerificationError, match="too old"):
        verify(request(now=old, nonce=bytes(16)), now=NOW)


def test_replay_guard_keeps_everything_within_the_window() -> None:
    guard = ReplayGuard()
    key = accounts.account_key(SEED)
    for k in range(1100):
        guard.check(key, k.to_bytes(16, "big"), NOW - FRESHNESS_SECONDS, now=NOW)
    assert len(guard) == 1100
    for k in (0, 500, 1099):
        with pytest.raises(VerificationError):
            guard.check(key, k.to_bytes(16, "big"), NOW, now=NOW + FRESHNESS_SECONDS)


# -- through the simulated key servers ------------------------------------------------------------------


def test_world_key_servers_check_and_answer_once(world: V2World) -> None:
    d = world.deployment
    acct = world.account("evaluation/world")
    point = quorum.blind(b"x:world").blinded
    audience = signing.public_key(world.servers[1].identity)
    req = evaluation.make_request(acct.seed, acct.certificate, d.deployment_id, audience, [bytes(32)], [point],
                                  now=NOW)
    x, answers = world.answer(1, req)
    assert x == accounts.abscissa(world.servers[1].result.abscissa_key, d.deployment_id, acct.key).to_bytes()
    assert set(answers[0]) == set(d.quorum_range)
    with pytest.raises(VerificationError, match="already answered"):
        world.answer(1, req)
    with pytest.raises(VerificationError, match="another key server"):
        world.answer(2, req)  # key server 1 cannot spend it at key server 2
