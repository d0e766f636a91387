"""Threshold VOPRF: t-of-n partial evaluations recombine to the single-key PRF."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import oprf, ristretto, threshold_oprf
from consilience.crypto.threshold_oprf import (
    DEALING_INFO,
    PartialEvaluation,
    check_public_shares,
    combine,
    deal_key,
    public_share,
)
from consilience.errors import InvalidInput, VerificationError

INPUTS = [b"alice@example.org", b"+15551234567"]


def _seed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def _master_key(seed: bytes) -> bytes:
    """The secret deal_key withholds, re-derived the documented way."""
    return oprf.derive_key_pair(seed, DEALING_INFO, oprf.MODE_VOPRF)[0]


def _answer(index: int, share: bytes, blinded: list[bytes]) -> PartialEvaluation:
    evaluated, proof = oprf.voprf_blind_evaluate(share, public_share(share), blinded)
    return PartialEvaluation(index, evaluated, proof)


def _lying_answer(index: int, blinded: list[bytes]) -> PartialEvaluation:
    """A server using some other key, with a proof that is valid for that other key."""
    wrong = ristretto.scalar_random()
    evaluated, proof = oprf.voprf_blind_evaluate(wrong, public_share(wrong), blinded)
    return PartialEvaluation(index, evaluated, proof)


def _run(threshold: int, count: int, label: str, servers: Sequence[int]) -> tuple[list[bytes], list[int], bytes]:
    """Full client/server round with the given responding servers; returns (outputs, rejected, sk)."""
    seed = _seed(label)
    group_key, shares = deal_key(threshold, count, seed)
    publics = {i: public_share(k) for i, k in shares.items()}
    check_public_shares(group_key, publics, threshold)
    requests = [oprf.blind(x, oprf.MODE_VOPRF) for x in INPUTS]
    blinded = [b for _, b in requests]
    partials = [_answer(i, shares[i], blinded) for i in servers]
    combined, rejected = combine(blinded, partials, publics, threshold)
    outputs = [oprf.finalize(x, r, z) for x, (r, _), z in zip(INPUTS, requests, combined, strict=False)]
    return outputs, rejected, _master_key(seed)


def test_seeded_dealing_uses_derive_key_pair() -> None:
    seed = _seed("dealing")
    group_key, shares = deal_key(2, 3, seed)
    sk, pk = oprf.derive_key_pair(seed, DEALING_INFO, oprf.MODE_VOPRF)
    assert group_key == pk
    assert sorted(shares) == [1, 2, 3]
    assert sk not in shares.values()
    assert deal_key(2, 3, seed)[0] == group_key  # same key, freshly randomised shares


@pytest.mark.parametrize(("threshold", "count", "servers"), [(2, 3, [1, 2]), (2, 3, [3, 1]), (3, 5, [5, 2, 4])])
def test_combined_output_equals_single_key_evaluation(threshold: int, count: int, servers: list[int]) -> None:
    outputs, rejected, sk = _run(threshold, count, f"{threshold}-of-{count}", servers)
    assert rejected == []
    assert outputs == [oprf.evaluate(sk, x, oprf.MODE_VOPRF) for x in INPUTS]


def test_extra_partials_beyond_threshold_are_checked_and_harmless() -> None:
    outputs, rejected, sk = _run(3, 5, "all five", [1, 2, 3, 4, 5])
    assert rejected == []
    assert outputs == [oprf.evaluate(sk, x, oprf.MODE_VOPRF) for x in INPUTS]


def _setup(threshold: int, count: int) -> tuple[bytes, dict[int, bytes], dict[int, bytes], list[bytes], list[bytes]]:
    seed = _seed(f"setup {threshold} {count}")
    group_key, shares = deal_key(threshold, count, seed)
    publics = {i: public_share(k) for i, k in shares.items()}
    requests = [oprf.blind(x, oprf.MODE_VOPRF) for x in INPUTS]
    return _master_key(seed), shares, publics, [r for r, _ in requests], [b for _, b in requests]


def test_wrong_share_server_is_detected_and_skipped() -> None:
    sk, shares, publics, blinds, blinded = _setup(2, 3)
    partials = [_lying_answer(1, blinded), _answer(2, shares[2], blinded), _answer(3, shares[3], blinded)]
    combined, rejected = combine(blinded, partials, publics, 2)
    assert rejected == [1]
    outputs = [oprf.finalize(x, r, z) for x, r, z in zip(INPUTS, blinds, combined, strict=False)]
    assert outputs == [oprf.evaluate(sk, x, oprf.MODE_VOPRF) for x in INPUTS]


def test_malformed_partials_are_rejected_not_fatal() -> None:
    sk, shares, publics, blinds, blinded = _setup(3, 5)
    good = {i: _answer(i, shares[i], blinded) for i in (1, 2, 3, 4, 5)}
    tampered_proof = PartialEvaluation(1, good[1].evaluated, bytes(64))
    swapped_answer = PartialEvaluation(2, good[2].evaluated[::-1], good[2].proof)
    short_answer = PartialEvaluation(3, good[3].evaluated[:1], good[3].proof)
    identity_answer = PartialEvaluation(4, [bytes(32), good[4].evaluated[1]], good[4].proof)
    unknown_server = PartialEvaluation(9, good[5].evaluated, good[5].proof)
    partials = [tampered_proof, swapped_answer, short_answer, identity_answer, unknown_server, good[5]]
    with pytest.raises(VerificationError, match=r"fewer than t=3 .*rejected \[1, 2, 3, 4, 9\]"):
        combine(blinded, partials, publics, 3)
    combined, rejected = combine(blinded, [tampered_proof, good[3], unknown_server, good[4], good[5]], publics, 3)
    assert rejected == [1, 9]
    outputs = [oprf.finalize(x, r, z) for x, r, z in zip(INPUTS, blinds, combined, strict=False)]
    assert outputs == [oprf.evaluate(sk, x, oprf.MODE_VOPRF) for x in INPUTS]


def test_fewer_than_threshold_valid_is_an_error() -> None:
    _, shares, publics, _, blinded = _setup(3, 5)
    partials = [_answer(1, shares[1], blinded), _answer(2, shares[2], blinded), _lying_answer(3, blinded)]
    with pytest.raises(VerificationError, match="fewer than t"):
        combine(blinded, partials, publics, 3)
    with pytest.raises(VerificationError, match="fewer than t"):
        combine(blinded, partials[:2], publics, 3)


def test_duplicate_index_is_a_caller_error() -> None:
    _, shares, publics, _, blinded = _setup(2, 3)
    answer = _answer(1, shares[1], blinded)
    with pytest.raises(InvalidInput):
        combine(blinded, [answer, answer], publics, 2)


def test_check_public_shares_accepts_an_honest_dealing() -> None:
    group_key, shares = deal_key(3, 5)
    check_public_shares(group_key, {i: public_share(k) for i, k in shares.items()}, 3)
    group_key, shares = deal_key(1, 1)
    check_public_shares(group_key, {1: public_share(shares[1])}, 1)


def test_check_public_shares_catches_swapped_shares() -> None:
    group_key, shares = deal_key(3, 5)
    publics = {i: public_share(k) for i, k in shares.items()}
    beyond = dict(publics)
    beyond[4], beyond[5] = publics[5], publics[4]
    with pytest.raises(VerificationError, match="public share 4 "):
        check_public_shares(group_key, beyond, 3)
    within = dict(publics)
    within[1], within[2] = publics[2], publics[1]
    with pytest.raises(VerificationError, match="group public key"):
        check_public_shares(group_key, within, 3)


def test_check_public_shares_catches_wrong_group_key_and_too_few_shares() -> None:
    group_key, shares = deal_key(2, 3)
    publics = {i: public_share(k) for i, k in shares.items()}
    with pytest.raises(VerificationError):
        check_public_shares(oprf.GENERATOR, publics, 2)
    with pytest.raises(InvalidInput):
        check_public_shares(group_key, {1: publics[1]}, 2)
    with pytest.raises(InvalidInput):
        check_public_shares(group_key, {**publics, 3: bytes(32)}, 2)


def test_deal_key_bounds() -> None:
    for threshold, count in [(0, 3), (4, 3)]:
        with pytest.raises(InvalidInput):
            deal_key(threshold, count)


@st.composite
def _dealings(draw: st.DrawFn) -> tuple[int, int, bytes, list[int]]:
    count = draw(st.integers(min_value=1, max_value=6))
    threshold = draw(st.integers(min_value=1, max_value=count))
    seed = draw(st.binary(min_size=32, max_size=32))
    responders = draw(st.permutations(list(range(1, count + 1))))
    size = draw(st.integers(min_value=threshold, max_value=count))
    return threshold, count, seed, list(responders[:size])


@settings(max_examples=40, deadline=None)
@given(_dealings(), st.binary(max_size=64))
def test_any_threshold_subset_recombines_to_the_key(dealing: tuple[int, int, bytes, list[int]], data: bytes) -> None:
    threshold, count, seed, responders = dealing
    group_key, shares = deal_key(threshold, count, seed)
    publics = {i: public_share(k) for i, k in shares.items()}
    check_public_shares(group_key, publics, threshold)
    r, blinded = oprf.blind(data, oprf.MODE_VOPRF)
    partials = [_answer(i, shares[i], [blinded]) for i in responders]
    combined, rejected = combine([blinded], partials, publics, threshold)
    assert rejected == []
    assert oprf.finalize(data, r, combined[0]) == oprf.evaluate(_master_key(seed), data, oprf.MODE_VOPRF)


def test_verify_partial_marks_only_good_answers_and_combine_verified_agrees_with_combine() -> None:
    seed = bytes(range(32))
    group, shares = threshold_oprf.deal_key(2, 3, seed)
    public = {i: threshold_oprf.public_share(s) for i, s in shares.items()}
    _, blinded = oprf.blind(b"email:someone@example.com", oprf.MODE_VOPRF)
    partials = []
    for i, share in shares.items():
        evaluated, proof = oprf.voprf_blind_evaluate(share, public[i], [blinded])
        partials.append(threshold_oprf.PartialEvaluation(i, evaluated, proof))
    liar = threshold_oprf.PartialEvaluation(1, [oprf.blind_evaluate(shares[2], blinded)], partials[0].proof)
    assert threshold_oprf.verify_partial([blinded], liar, public) is None
    checked = [threshold_oprf.verify_partial([blinded], p, public) for p in partials]
    assert all(c is not None for c in checked)
    combined, _ = threshold_oprf.combine([blinded], partials, public, 2)
    assert threshold_oprf.combine_verified([c for c in checked if c][1:], 2) == combined
    other = threshold_oprf.verify_partial([blinded], partials[0], public)
    assert other is not None
    _, blinded2 = oprf.blind(b"email:other@example.com", oprf.MODE_VOPRF)
    z, pr = oprf.voprf_blind_evaluate(shares[2], public[2], [blinded2])
    mismatched = threshold_oprf.verify_partial([blinded2], threshold_oprf.PartialEvaluation(2, z, pr), public)
    assert mismatched is not None
    with pytest.raises(InvalidInput):
        threshold_oprf.combine_verified([other, mismatched], 2)
    with pytest.raises(VerificationError):
        threshold_oprf.combine_verified([other], 2)
    assert group == threshold_oprf.deal_key(2, 3, seed)[0]


def test_refresh_keeps_the_key_and_outputs_but_old_shares_stop_combining() -> None:
    seed = bytes([7]) * 32
    group, shares = threshold_oprf.deal_key(2, 3, seed)
    sk, _ = oprf.derive_key_pair(seed, DEALING_INFO, oprf.MODE_VOPRF)
    deltas = threshold_oprf.refresh_deltas(2, sorted(shares))
    fresh = {i: threshold_oprf.apply_delta(s, deltas[i]) for i, s in shares.items()}
    assert fresh != shares
    public = {i: threshold_oprf.public_share(s) for i, s in fresh.items()}
    check_public_shares(group, public, 2)  # same group key
    x = b"email:dana@example.com"
    r, blinded = oprf.blind(x, oprf.MODE_VOPRF)

    def output(keys: dict[int, bytes]) -> bytes:
        partials = []
        for i, k in keys.items():
            z, proof = oprf.voprf_blind_evaluate(k, threshold_oprf.public_share(k), [blinded])
            partials.append(PartialEvaluation(i, z, proof))
        pub = {i: threshold_oprf.public_share(k) for i, k in keys.items()}
        combined = threshold_oprf.combine_verified(
            [c for c in (threshold_oprf.verify_partial([blinded], p, pub) for p in partials) if c], 2)
        return oprf.finalize(x, r, combined[0])

    expected = oprf.evaluate(sk, x, oprf.MODE_VOPRF)
    assert output({1: fresh[1], 3: fresh[3]}) == expected
    assert output({1: shares[1], 2: shares[2]}) == expected
    assert output({1: shares[1], 3: fresh[3]}) != expected  # a stolen old share is useless after refresh
    with pytest.raises(InvalidInput):
        threshold_oprf.refresh_deltas(4, [1, 2, 3])
