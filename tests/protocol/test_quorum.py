"""Quorum release end to end: seal on reporters' devices, open on the counselor's (PROTOCOL.md §7, §8).

The escrow server's role is simulated by building ``MatchedEntry`` lists by
hand, which also lets the tests play a lying server (marking entries
released too early, moving envelopes, misattributing accounts).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import aead, hpke
from consilience.crypto.shamir import ORDER
from consilience.protocol import entry
from consilience.protocol.entry import (
    EnvelopeContent,
    EnvelopeSection,
    SealedEntry,
    encode_envelope,
    envelope_info,
    parse_envelope,
    seal_entry,
)
from consilience.protocol.matching import abscissa, match_tag
from consilience.protocol.release import MatchedEntry, OpenResult, open_match

from .conftest import CounselorKeys, FakeIdentifier, World, account, ident, make_world

TARGET = ident("email:target@example.org", "Target@Example.org")
OTHER = ident("phone:+15551234567", "(555) 123-4567")

crypto_settings = settings(max_examples=25, deadline=None)

_WORLD: World | None = None


def W() -> World:
    """One world for the whole module (hypothesis tests cannot take function fixtures)."""
    global _WORLD
    if _WORLD is None:
        _WORLD = make_world(quorum=2, max_quorum=5, counselors=2, label="quorum")
    return _WORLD


def seal(acct: bytes, q: int, identifiers: list[FakeIdentifier] | None = None, *, record: str | None = None,
         world: World | None = None) -> SealedEntry:
    world = world or W()
    identifiers = identifiers or [TARGET]
    return seal_entry(
        deployment=world.deployment,
        account_id=acct,
        identifiers=identifiers,
        oprf_outputs=[world.oprf_output(i) for i in identifiers],
        record=record if record is not None else f"record of {acct.hex()}",
        contact=f"contact {acct.hex()}",
        quorum=q,
    )


def matched(sealed: SealedEntry, acct: bytes, *, released: bool = True, counselor: int = 0,
            envelope: bytes | None = None, entry_id: bytes | None = None, quorum: int | None = None,
            body: bytes | None | bool = True) -> MatchedEntry:
    key_id = W().counselors[counselor].key_id
    return MatchedEntry(
        entry_id=entry_id or sealed.entry_id,
        account_id=acct,
        quorum=quorum if quorum is not None else sealed.quorum,
        released=released,
        envelope=envelope if envelope is not None else sealed.envelopes[key_id],
        body=(sealed.body if released else None) if body is True else (body or None),
    )


def open_as(entries: list[MatchedEntry], *, tag: bytes | None = None, counselor: int = 0) -> OpenResult:
    c: CounselorKeys = W().counselors[counselor]
    return open_match(tag or target_tag(), entries, c.seed, c.key_id)


def target_tag() -> bytes:
    return match_tag(W().oprf_output(TARGET))


def reenvelope(sealed: SealedEntry, edit, *, counselor: int = 0, entry_id: bytes | None = None) -> bytes:
    """Open this entry's envelope, let ``edit`` change the content, seal it again correctly.

    This is what a malicious reporter's client can do: the counselor key is
    public, so any plaintext can be sealed with the correct HPKE info.
    """
    c = W().counselors[counselor]
    content = parse_envelope(hpke.open(c.seed, sealed.envelopes[c.key_id], envelope_info(sealed.entry_id, c.key_id)))
    new = edit(content)
    eid = entry_id or sealed.entry_id
    return hpke.seal(c.public_key, encode_envelope(new), envelope_info(eid, c.key_id))


def edit_section(content: EnvelopeContent, changes) -> EnvelopeContent:
    """Apply ``changes(section) -> dict of new field values`` to the target identifier's section."""
    tag = target_tag()
    sections = tuple(replace(s, **changes(s)) if s.tag == tag else s for s in content.sections)
    return replace(content, sections=sections)


def accounts(n: int, label: str) -> list[bytes]:
    return [account(i, label) for i in range(n)]


def assert_opened_exactly(result: OpenResult, expected: dict[bytes, tuple[bytes, SealedEntry]]) -> None:
    """``expected``: entry id -> (account, sealed); every one opened with the right body."""
    by_id = {o.entry_id: o for o in result.opened}
    assert set(by_id) == set(expected)
    for eid, (acct, sealed) in expected.items():
        o = by_id[eid]
        assert o.account_id == acct
        assert o.quorum == sealed.quorum
        assert o.body.record == f"record of {acct.hex()}"
        assert o.body.contact == f"contact {acct.hex()}"
        assert o.body.canonical[0] == TARGET.canonical
        assert o.body.identifiers[0] == TARGET.typed


# --- tags -------------------------------------------------------------------


def test_tags_depend_on_the_identifier_not_on_the_account() -> None:
    a = seal(account(1, "tags"), 2, [TARGET, OTHER])
    b = seal(account(2, "tags"), 3, [OTHER, TARGET])
    assert a.tags == [target_tag(), match_tag(W().oprf_output(OTHER))]
    assert b.tags == list(reversed(a.tags))
    assert a.tags[0] != a.tags[1]


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_distinct_identifiers_give_distinct_tags(a: str, b: str) -> None:
    ta = match_tag(W().oprf_output(ident("x:" + a)))
    tb = match_tag(W().oprf_output(ident("x:" + b)))
    assert (ta == tb) == (a == b)


def test_tags_depend_on_the_oprf_key() -> None:
    other = make_world(label="another key")
    assert match_tag(other.oprf_output(TARGET)) != target_tag()


# --- releases ---------------------------------------------------------------


@crypto_settings
@given(st.integers(2, 5), st.integers(0, 2), st.integers(0, 1), st.randoms(use_true_random=False))
def test_quorum_reached_opens_every_released_entry(q: int, extra: int, counselor: int, rnd) -> None:
    accts = accounts(q + extra, f"reach/{q}/{extra}/{rnd.random()}")
    sealed = [seal(a, q, [TARGET, ident(f"x:other{i}")] if i % 2 else [TARGET]) for i, a in enumerate(accts)]
    entries = [matched(s, a, counselor=counselor) for s, a in zip(sealed, accts, strict=False)]
    rnd.shuffle(entries)
    result = open_as(entries, counselor=counselor)
    assert result.failed == {} and result.bogus == set()
    assert_opened_exactly(result, {s.entry_id: (a, s) for s, a in zip(sealed, accts, strict=False)})


@crypto_settings
@given(st.integers(2, 5), st.randoms(use_true_random=False))
def test_one_short_of_quorum_opens_nothing_even_if_marked_released(q: int, rnd) -> None:
    accts = accounts(q - 1, f"short/{q}/{rnd.random()}")
    sealed = [seal(a, q) for a in accts]
    entries = [matched(s, a) for s, a in zip(sealed, accts, strict=False)]  # a lying server marks them released
    result = open_as(entries)
    assert result.opened == []
    assert set(result.failed) == {s.entry_id for s in sealed}
    assert result.bogus == set()  # honest shares are not blamed


@crypto_settings
@given(st.integers(2, 5))
def test_same_account_twice_counts_once(q: int) -> None:
    dup = account(0, f"dup/{q}")
    others = accounts(q - 2, f"dup-others/{q}")
    first, second = seal(dup, q), seal(dup, q, record=None)
    assert first.entry_id != second.entry_id
    sealed_others = [seal(a, q) for a in others]
    entries = [matched(first, dup), matched(second, dup)] + [
        matched(s, a) for s, a in zip(sealed_others, others, strict=False)
    ]
    # q entries, but only q-1 distinct accounts: nothing opens
    result = open_as(entries)
    assert result.opened == []
    assert len(result.failed) == q and result.bogus == set()
    # one more distinct account: q distinct accounts, everything opens (both duplicates included)
    extra = account(99, f"dup/{q}")
    sealed_extra = seal(extra, q)
    result = open_as([*entries, matched(sealed_extra, extra)])
    assert result.failed == {} and result.bogus == set()
    assert {o.entry_id for o in result.opened} == {e.entry_id for e in entries} | {sealed_extra.entry_id}


@crypto_settings
@given(st.integers(2, 4), st.data())
def test_higher_personal_quorum_counts_toward_lower_quorums(lo: int, data: st.DataObject) -> None:
    hi = data.draw(st.integers(lo + 1, 5))
    label = f"mixed/{lo}/{hi}"
    high_acct = account(0, label)
    high = seal(high_acct, hi)
    low_accts = accounts(lo - 1, label + "/low")
    lows = [seal(a, lo) for a in low_accts]
    low_entries = [matched(s, a) for s, a in zip(lows, low_accts, strict=False)]
    expected_lows = {s.entry_id: (a, s) for s, a in zip(lows, low_accts, strict=False)}

    # without the high-quorum reporter the low entries are one short
    assert open_as(low_entries).opened == []

    # with it (still unreleased: body withheld) the lo distinct accounts open the low entries
    result = open_as([matched(high, high_acct, released=False), *low_entries])
    assert result.failed == {} and result.bogus == set()
    assert_opened_exactly(result, expected_lows)

    # a server that also marks the high entry released cannot get it opened yet
    result = open_as([matched(high, high_acct), *low_entries])
    assert_opened_exactly(result, expected_lows)
    assert set(result.failed) == {high.entry_id}

    # once hi distinct accounts exist, the high entry opens too
    more_accts = accounts(hi - lo, label + "/more")
    more = [seal(a, lo) for a in more_accts]
    result = open_as([matched(high, high_acct), *low_entries,
                      *(matched(s, a) for s, a in zip(more, more_accts, strict=False))])
    assert result.failed == {} and result.bogus == set()
    assert_opened_exactly(result, {high.entry_id: (high_acct, high), **expected_lows,
                                   **{s.entry_id: (a, s) for s, a in zip(more, more_accts, strict=False)}})


def test_lower_quorum_entries_contribute_shares_to_a_higher_quorum() -> None:
    # q=2 entries from 2 accounts and one q=3 entry: 3 accounts, so the q=3 entry opens
    # (shares on f_3 come from every entry, whatever its own quorum)
    accts = accounts(3, "cross")
    s = [seal(accts[0], 3), seal(accts[1], 2), seal(accts[2], 2)]
    result = open_as([matched(e, a) for e, a in zip(s, accts, strict=False)])
    assert result.failed == {} and len(result.opened) == 3


# --- bogus shares and a lying server ---------------------------------------


@crypto_settings
@given(st.integers(2, 5), st.integers(0, 5), st.integers(1, ORDER - 1))
def test_tampered_share_is_named_and_does_not_block(q: int, position: int, delta: int) -> None:
    label = f"tamper/{q}/{position}/{delta}"
    bad_acct = account(0, label)
    bad = seal(bad_acct, q)
    tampered = reenvelope(bad, lambda c: edit_section(
        c, lambda s: {"shares": {**s.shares, q: (s.shares[q] + delta) % ORDER}}))
    honest_accts = accounts(q, label + "/honest")
    honest = [seal(a, q) for a in honest_accts]
    entries = [matched(s, a) for s, a in zip(honest, honest_accts, strict=False)]
    entries.insert(position % (len(entries) + 1), matched(bad, bad_acct, envelope=tampered))
    result = open_as(entries)
    assert result.bogus == {bad.entry_id}
    opened = {o.entry_id for o in result.opened}
    assert {s.entry_id for s in honest} <= opened
    assert set(result.failed) <= {bad.entry_id}


@crypto_settings
@given(st.integers(2, 5), st.integers(1, ORDER - 1))
def test_tampered_share_with_too_few_honest_ones_opens_nothing(q: int, delta: int) -> None:
    label = f"tamper-short/{q}/{delta}"
    bad_acct = account(0, label)
    bad = seal(bad_acct, q)
    tampered = reenvelope(bad, lambda c: edit_section(
        c, lambda s: {"shares": {**s.shares, q: (s.shares[q] + delta) % ORDER}}))
    honest_accts = accounts(q - 1, label + "/honest")
    honest = [seal(a, q) for a in honest_accts]
    entries = [matched(bad, bad_acct, envelope=tampered),
               *(matched(s, a) for s, a in zip(honest, honest_accts, strict=False))]
    result = open_as(entries)
    assert result.opened == []  # never a wrong secret, never a wrong body
    assert set(result.failed) == {e.entry_id for e in entries}


def _x_edit(delta: int):
    return lambda c: edit_section(c, lambda s: {"x": (s.x + delta) % ORDER})


def test_abscissa_that_does_not_match_the_account_is_bogus() -> None:
    q = 3
    bad_acct = account(0, "x-bad")
    bad = seal(bad_acct, q)
    moved_x = reenvelope(bad, _x_edit(1))
    honest_accts = accounts(q, "x-honest")
    honest = [seal(a, q) for a in honest_accts]
    entries = [matched(bad, bad_acct, envelope=moved_x),
               *(matched(s, a) for s, a in zip(honest, honest_accts, strict=False))]
    result = open_as(entries)
    assert result.bogus == {bad.entry_id}
    assert set(result.failed) == {bad.entry_id}
    assert {o.entry_id for o in result.opened} == {s.entry_id for s in honest}


def test_server_cannot_replay_one_entry_under_other_accounts() -> None:
    # A lying server attributes copies of one honest entry to q-1 invented
    # accounts to fake a quorum: the abscissa check names every copy bogus.
    q = 3
    real = account(0, "replay")
    sealed = seal(real, q)
    fakes = accounts(q - 1, "replay-fake")
    entries = [matched(sealed, real)] + [matched(sealed, f) for f in fakes]
    result = open_as(entries)
    assert result.opened == []
    assert result.bogus == {sealed.entry_id}  # the copies share the entry id
    assert abscissa(real, target_tag()) != abscissa(fakes[0], target_tag())


def test_envelope_moved_to_another_entry_is_bogus() -> None:
    q = 2
    accts = accounts(3, "moved")
    s = [seal(a, q) for a in accts]
    # the server serves entry 0's envelope under entry 2's id
    entries = [matched(s[0], accts[0]), matched(s[1], accts[1]),
               matched(s[2], accts[2], envelope=s[0].envelopes[W().counselors[0].key_id])]
    result = open_as(entries)
    assert result.bogus == {s[2].entry_id}
    assert set(result.failed) == {s[2].entry_id}
    assert {o.entry_id for o in result.opened} == {s[0].entry_id, s[1].entry_id}


def test_envelope_for_another_counselor_is_bogus() -> None:
    accts = accounts(2, "other-counselor")
    s = [seal(a, 2) for a in accts]
    entries = [matched(s[0], accts[0]), matched(s[1], accts[1], counselor=1)]
    result = open_as(entries, counselor=0)
    assert result.bogus == {s[1].entry_id} and result.opened == []
    # each counselor opens with its own envelopes
    ok = open_as([matched(e, a, counselor=1) for e, a in zip(s, accts, strict=False)], counselor=1)
    assert len(ok.opened) == 2 and ok.bogus == set()


def test_re_sealed_envelope_with_inner_entry_id_changed_is_bogus() -> None:
    # correct HPKE info for the entry it is served under, but the plaintext names another entry
    accts = accounts(3, "inner-id")
    s = [seal(a, 2) for a in accts]
    forged = reenvelope(s[2], lambda c: replace(c, entry_id=s[0].entry_id))
    result = open_as([matched(s[0], accts[0]), matched(s[1], accts[1]), matched(s[2], accts[2], envelope=forged)])
    assert result.bogus == {s[2].entry_id}
    assert {o.entry_id for o in result.opened} == {s[0].entry_id, s[1].entry_id}


def test_entry_without_the_matched_tag_is_bogus() -> None:
    accts = accounts(3, "tag-mismatch")
    s = [seal(accts[0], 2), seal(accts[1], 2), seal(accts[2], 2, [OTHER])]
    result = open_as([matched(e, a) for e, a in zip(s, accts, strict=False)])
    assert result.bogus == {s[2].entry_id}
    assert {o.entry_id for o in result.opened} == {s[0].entry_id, s[1].entry_id}


def test_section_tag_rewritten_is_bogus() -> None:
    accts = accounts(3, "tag-rewrite")
    s = [seal(a, 2) for a in accts]
    forged = reenvelope(s[2], lambda c: edit_section(c, lambda sec: {"tag": bytes(32)}))
    result = open_as([matched(s[0], accts[0]), matched(s[1], accts[1]), matched(s[2], accts[2], envelope=forged)])
    assert result.bogus == {s[2].entry_id}
    assert len(result.opened) == 2


def test_quorum_claimed_by_server_must_match_the_envelope() -> None:
    accts = accounts(3, "quorum-lie")
    s = [seal(a, 3) for a in accts]
    # the server claims entry 0 asked for quorum 2 (so that 2 accounts would do)
    result = open_as([matched(s[0], accts[0], quorum=2), matched(s[1], accts[1])])
    assert s[0].entry_id in result.bogus
    assert result.opened == []


def test_garbage_envelopes_are_bogus() -> None:
    accts = accounts(3, "garbage")
    s = [seal(a, 2) for a in accts]
    c = W().counselors[0]
    not_an_envelope = hpke.seal(c.public_key, b"\x01" + bytes(40), envelope_info(s[2].entry_id, c.key_id))
    for junk in [b"", b"\x00" * 2000, not_an_envelope]:
        result = open_as([matched(s[0], accts[0]), matched(s[1], accts[1]),
                          matched(s[2], accts[2], envelope=junk)])
        assert result.bogus == {s[2].entry_id}
        assert set(result.failed) == {s[2].entry_id}
        assert len(result.opened) == 2


def test_released_entry_without_body_fails_but_shares_count() -> None:
    accts = accounts(2, "nobody")
    s = [seal(a, 2) for a in accts]
    result = open_as([matched(s[0], accts[0]), matched(s[1], accts[1], body=None)])
    assert set(result.failed) == {s[1].entry_id}
    assert [o.entry_id for o in result.opened] == [s[0].entry_id]


def test_swapped_bodies_fail_and_are_named() -> None:
    accts = accounts(3, "swap-body")
    s = [seal(a, 2) for a in accts]
    result = open_as([matched(s[0], accts[0]), matched(s[1], accts[1], body=s[2].body)])
    assert [o.entry_id for o in result.opened] == [s[0].entry_id]
    assert set(result.failed) == {s[1].entry_id}
    assert s[1].entry_id in result.bogus


@pytest.mark.parametrize("plaintext", [b"[]", b"null", b"42", b'"a string"', b"\xff", b"[" * 100_000 + b"]" * 100_000],
                         ids=["list", "null", "number", "string", "not-utf8", "deep-nesting"])
def test_malicious_body_plaintext_does_not_break_the_match(plaintext: bytes) -> None:
    # The reporter holds its body key, so it can encrypt any plaintext. That
    # entry must fail on its own; the other reporters' entries must still open.
    accts = accounts(3, "evil-body")
    s = [seal(a, 2) for a in accts]
    evil_body = aead.seal(s[2].body_key, plaintext, entry.BODY_AAD + s[2].entry_id)
    result = open_as([*(matched(e, a) for e, a in zip(s[:2], accts, strict=False)),
                      matched(s[2], accts[2], body=evil_body)])
    assert {o.entry_id for o in result.opened} == {s[0].entry_id, s[1].entry_id}
    assert set(result.failed) == {s[2].entry_id}


def test_open_match_under_the_second_identifier() -> None:
    accts = accounts(2, "second-id")
    s = [seal(a, 2, [ident(f"x:first{i}"), OTHER]) for i, a in enumerate(accts)]
    result = open_as([matched(e, a) for e, a in zip(s, accts, strict=False)], tag=match_tag(W().oprf_output(OTHER)))
    assert result.failed == {} and len(result.opened) == 2
    # under the first identifiers there is no match (one account each)
    first = open_as([matched(s[0], accts[0])], tag=s[0].tags[0])
    assert first.opened == [] and set(first.failed) == {s[0].entry_id}


def test_tampering_another_identifiers_section_does_not_affect_this_match() -> None:
    # tampering with the section of another identifier does not affect this match
    accts = accounts(2, "other-section")
    s = [seal(a, 2, [TARGET, OTHER]) for a in accts]
    other_tag = match_tag(W().oprf_output(OTHER))

    def edit(c: EnvelopeContent) -> EnvelopeContent:
        return replace(c, sections=tuple(
            EnvelopeSection(sec.tag, sec.x, {k: 0 for k in sec.shares}, bytes(16), bytes(60))
            if sec.tag == other_tag else sec for sec in c.sections))

    forged = reenvelope(s[1], edit)
    result = open_as([matched(s[0], accts[0]), matched(s[1], accts[1], envelope=forged)])
    assert result.failed == {} and len(result.opened) == 2 and result.bogus == set()
