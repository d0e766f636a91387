"""Quorum release end to end, protocol v2: seal on reporters' devices, open on the counselor's (PROTOCOL.md §7, §8).

Every reporter's shares come from the real key servers of the in-process
world (tests/v2_world.py). The escrow server's role is simulated by building
``MatchedEntry`` lists by hand, which also lets the tests play a lying server
(marking entries released too early, moving envelopes, serving copies). The
counselor sees abscissas, never account ids.
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import aead, hpke
from consilience.crypto.bls12381 import G1Point, Scalar
from consilience.protocol import entry
from consilience.protocol.entry import EnvelopeContent, EnvelopeSection, SealedEntry, envelope_info
from consilience.protocol.matching import match_tag
from consilience.protocol.release import MatchedEntry, OpenResult

from .conftest import (
    OTHER,
    TARGET,
    V2World,
    anchor_first,
    content_of,
    edit_section,
    evaluated,
    ident,
    make_v2_world,
    matched,
    open_as,
    record_of,
    reseal,
    seal,
    tag_of,
)

crypto_settings = settings(max_examples=8, deadline=None)


def W() -> V2World:
    """The session's world (hypothesis tests cannot take function fixtures); cached by make_v2_world."""
    return make_v2_world()


def labels(n: int, prefix: str) -> list[str]:
    return [f"{prefix}/{i}" for i in range(n)]


def assert_opened_exactly(world: V2World, result: OpenResult, expected: dict[bytes, tuple[str, SealedEntry]],
                          identifier=TARGET) -> None:
    """``expected``: entry id -> (account label, sealed); every one opened with the right body and abscissa."""
    by_id = {o.entry_id: o for o in result.opened}
    assert set(by_id) == set(expected)
    for eid, (label, sealed) in expected.items():
        o = by_id[eid]
        section = content_of(world, sealed).section(tag_of(world, identifier))
        assert section is not None and o.abscissa == section.x.to_bytes()
        assert o.quorum == sealed.quorum
        assert o.body.record == record_of(label)
        assert o.body.contact == f"contact of {label}"
        assert identifier.canonical in o.body.canonical and identifier.typed in o.body.identifiers


# --- tags -------------------------------------------------------------------


def test_tags_depend_on_the_identifier_not_on_the_account(world: V2World) -> None:
    a = seal(world, "tags/1", 2, [TARGET, OTHER])
    b = seal(world, "tags/2", 3, [OTHER, TARGET])
    assert a.tags == [tag_of(world), tag_of(world, OTHER)]
    assert b.tags == list(reversed(a.tags))
    assert a.tags[0] != a.tags[1]


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_distinct_identifiers_give_distinct_tags(a: str, b: str) -> None:
    ta = match_tag(W().oprf_output(ident("x:" + a)))
    tb = match_tag(W().oprf_output(ident("x:" + b)))
    assert (ta == tb) == (a == b)


def test_tags_depend_on_the_oprf_key(world: V2World) -> None:
    other = make_v2_world(label="foreign")
    assert match_tag(other.oprf_output(TARGET)) != tag_of(world)


# --- releases ---------------------------------------------------------------


@crypto_settings
@given(st.integers(2, 5), st.integers(0, 2), st.integers(0, 1), st.randoms(use_true_random=False))
def test_quorum_reached_opens_every_released_entry(q: int, extra: int, counselor: int, rnd: random.Random) -> None:
    world = W()
    names = labels(q + extra, "reach")
    sealed = [seal(world, n, q, [TARGET, ident(f"x:other{i}")] if i % 2 else [TARGET]) for i, n in enumerate(names)]
    entries = [matched(world, s, counselor=counselor) for s in sealed]
    rnd.shuffle(entries)
    result = open_as(world, entries, counselor=counselor)
    assert result.failed == {} and result.bogus == set()
    by_id = {o.entry_id: o for o in result.opened}
    assert set(by_id) == {s.entry_id for s in sealed}
    for s, n in zip(sealed, names, strict=True):
        assert by_id[s.entry_id].body.record == record_of(n) and by_id[s.entry_id].quorum == q


@crypto_settings
@given(st.integers(2, 5))
def test_one_short_of_quorum_opens_nothing_even_if_marked_released(q: int) -> None:
    world = W()
    sealed = [seal(world, n, q) for n in labels(q - 1, "short")]
    result = open_as(world, [matched(world, s) for s in sealed])  # a lying server marks them released
    assert result.opened == []
    assert set(result.failed) == {s.entry_id for s in sealed}
    assert all("distinct accounts" in why for why in result.failed.values())
    assert result.bogus == set()  # honest shares are not blamed


@pytest.mark.parametrize("q", [2, 3, 5])
def test_same_account_twice_counts_once(world: V2World, q: int) -> None:
    first, second = seal(world, "dup/0", q), seal(world, "dup/0", q)
    assert first.entry_id != second.entry_id
    assert content_of(world, first).sections[0].x == content_of(world, second).sections[0].x  # one abscissa
    others = [seal(world, n, q) for n in labels(q - 2, "dup-others")]
    entries = [matched(world, first), matched(world, second)] + [matched(world, s) for s in others]
    # q entries, but only q-1 distinct accounts: nothing opens
    result = open_as(world, entries)
    assert result.opened == []
    assert len(result.failed) == q and result.bogus == set()
    # one more distinct account: q distinct accounts, everything opens (both duplicates included)
    extra = seal(world, "dup/99", q)
    result = open_as(world, [*entries, matched(world, extra)])
    assert result.failed == {} and result.bogus == set()
    assert {o.entry_id for o in result.opened} == {e.entry_id for e in entries} | {extra.entry_id}


@pytest.mark.parametrize(("lo", "hi"), [(2, 3), (2, 5), (3, 4)])
def test_higher_personal_quorum_counts_toward_lower_quorums(world: V2World, lo: int, hi: int) -> None:
    prefix = f"mixed/{lo}/{hi}"
    high = seal(world, prefix + "/high", hi)
    low_names = labels(lo - 1, prefix + "/low")
    lows = [seal(world, n, lo) for n in low_names]
    low_entries = [matched(world, s) for s in lows]
    expected_lows = {s.entry_id: (n, s) for s, n in zip(lows, low_names, strict=True)}

    # without the high-quorum reporter the low entries are one short
    assert open_as(world, low_entries).opened == []

    # with it (still unreleased: body withheld) the lo distinct accounts open the low entries
    result = open_as(world, [matched(world, high, released=False), *low_entries])
    assert result.failed == {} and result.bogus == set()
    assert_opened_exactly(world, result, expected_lows)

    # a server that also marks the high entry released cannot get it opened yet
    result = open_as(world, [matched(world, high), *low_entries])
    assert_opened_exactly(world, result, expected_lows)
    assert set(result.failed) == {high.entry_id}

    # once hi distinct accounts exist, the high entry opens too
    more_names = labels(hi - lo, prefix + "/more")
    more = [seal(world, n, lo) for n in more_names]
    result = open_as(world, [matched(world, high), *low_entries, *(matched(world, s) for s in more)])
    assert result.failed == {} and result.bogus == set()
    assert_opened_exactly(world, result, {high.entry_id: (prefix + "/high", high), **expected_lows,
                                          **{s.entry_id: (n, s) for s, n in zip(more, more_names, strict=True)}})


def test_lower_quorum_entries_contribute_shares_to_a_higher_quorum(world: V2World) -> None:
    # q=2 entries from 2 accounts and one q=3 entry: 3 accounts, so the q=3 entry opens
    # (every entry carries σ_q for every level of the range, whatever its own quorum)
    s = [seal(world, "cross/0", 3), seal(world, "cross/1", 2), seal(world, "cross/2", 2)]
    result = open_as(world, [matched(world, e) for e in s])
    assert result.failed == {} and len(result.opened) == 3


def test_counselors_see_abscissas_not_account_ids(world: V2World) -> None:
    """v1's MatchedEntry and OpenedEntry carried the account id; v2's carry the abscissa only (issue 11, (f))."""
    assert "account_id" not in {f.name for f in dataclasses.fields(MatchedEntry)}
    s = [seal(world, n, 2) for n in labels(2, "abscissas")]
    again = seal(world, "abscissas/0", 2, [TARGET])
    result = open_as(world, [matched(world, e) for e in [*s, again]])
    by_id = {o.entry_id: o for o in result.opened}
    assert by_id[s[0].entry_id].abscissa == evaluated(world, "abscissas/0", [TARGET]).x
    assert by_id[s[0].entry_id].abscissa == by_id[again.entry_id].abscissa  # a constant per-account pseudonym
    assert by_id[s[0].entry_id].abscissa != by_id[s[1].entry_id].abscissa
    assert world.account("abscissas/0").key not in by_id[s[0].entry_id].abscissa


# --- bogus shares and a lying server ---------------------------------------


def _shifted(share: bytes, delta: int) -> bytes:
    """A valid point of G1 that is not the share: share + delta·G1."""
    return (G1Point.from_bytes(share) + G1Point.generator().mul_public(Scalar(delta))).to_bytes()


@pytest.mark.parametrize(("q", "position", "delta"), [(2, 0, 1), (3, 1, 2**200), (5, 5, 7), (4, 2, 3)])
def test_tampered_share_is_named_and_does_not_block(world: V2World, q: int, position: int, delta: int) -> None:
    prefix = f"tamper/{q}"
    bad = seal(world, prefix + "/bad", q)
    tag = tag_of(world)
    content = content_of(world, bad)
    section = content.section(tag)
    assert section is not None
    shifted = {**section.shares, q: _shifted(section.shares[q], delta)}
    tampered = reseal(world, edit_section(content, tag, shares=shifted))
    honest = [seal(world, n, q) for n in labels(q, prefix + "/honest")]
    entries = [matched(world, s) for s in honest]
    entries.insert(position % (len(entries) + 1), matched(world, bad, envelope=tampered))
    result = open_as(world, entries)
    assert result.bogus == {bad.entry_id}
    assert {o.entry_id for o in result.opened} == {s.entry_id for s in honest}
    assert set(result.failed) == {bad.entry_id}


@pytest.mark.parametrize("q", [2, 3, 5])
def test_tampered_share_with_too_few_honest_ones_opens_nothing(world: V2World, q: int) -> None:
    prefix = f"tamper-short/{q}"
    bad = seal(world, prefix + "/bad", q)
    tag = tag_of(world)
    content = content_of(world, bad)
    section = content.section(tag)
    assert section is not None
    tampered = reseal(world, edit_section(content, tag, shares={**section.shares, q: _shifted(section.shares[q], 5)}))
    honest = [seal(world, n, q) for n in labels(q - 1, prefix + "/honest")]
    entries = [matched(world, bad, envelope=tampered), *(matched(world, s) for s in honest)]
    result = open_as(world, entries)
    assert result.opened == []  # never a wrong secret, never a wrong body
    assert set(result.failed) == {e.entry_id for e in entries}


def test_abscissa_that_does_not_match_the_share_is_bogus(world: V2World) -> None:
    q = 3
    bad = seal(world, "x-bad", q)
    tag = tag_of(world)
    content = content_of(world, bad)
    section = content.section(tag)
    assert section is not None
    moved_x = reseal(world, edit_section(content, tag, x=section.x + Scalar(1)))
    honest = [seal(world, n, q) for n in labels(q, "x-honest")]
    result = open_as(world, [matched(world, bad, envelope=moved_x), *(matched(world, s) for s in honest)])
    assert result.bogus == {bad.entry_id}
    assert set(result.failed) == {bad.entry_id}
    assert {o.entry_id for o in result.opened} == {s.entry_id for s in honest}


def test_a_server_cannot_fake_a_quorum_with_copies_of_one_entry(world: V2World) -> None:
    """A lying server serves one honest entry q times (v1: under invented account ids; v2 has none to invent)."""
    q = 3
    sealed = seal(world, "replay/real", q)
    key_id = world.counselors[0].key_id
    # the same entry again: one abscissa, one share, nothing opens
    result = open_as(world, [matched(world, sealed)] * q)
    assert result.opened == [] and result.bogus == set()
    # copies under other entry ids: the HPKE info binds the id, so each copy is bogus
    copies = [dataclasses.replace(matched(world, sealed), entry_id=bytes([k]) * 16) for k in range(1, q)]
    result = open_as(world, [matched(world, sealed), *copies])
    assert result.opened == []
    assert result.bogus == {c.entry_id for c in copies}
    assert all(c.envelope == sealed.envelopes[key_id] for c in copies)


def test_envelope_moved_to_another_entry_is_bogus(world: V2World) -> None:
    s = [seal(world, n, 2) for n in labels(3, "moved")]
    entries = [matched(world, s[0]), matched(world, s[1]),
               matched(world, s[2], envelope=s[0].envelopes[world.counselors[0].key_id])]
    result = open_as(world, entries)
    assert result.bogus == {s[2].entry_id}
    assert set(result.failed) == {s[2].entry_id}
    assert {o.entry_id for o in result.opened} == {s[0].entry_id, s[1].entry_id}


def test_envelope_for_another_counselor_is_bogus(world: V2World) -> None:
    s = [seal(world, n, 2) for n in labels(2, "other-counselor")]
    result = open_as(world, [matched(world, s[0]), matched(world, s[1], counselor=1)], counselor=0)
    assert result.bogus == {s[1].entry_id} and result.opened == []
    ok = open_as(world, [matched(world, e, counselor=1) for e in s], counselor=1)
    assert len(ok.opened) == 2 and ok.bogus == set()


def test_re_sealed_envelope_with_inner_entry_id_changed_is_bogus(world: V2World) -> None:
    s = [seal(world, n, 2) for n in labels(3, "inner-id")]
    forged = reseal(world, dataclasses.replace(content_of(world, s[2]), entry_id=s[0].entry_id), s[2].entry_id)
    result = open_as(world, [matched(world, s[0]), matched(world, s[1]), matched(world, s[2], envelope=forged)])
    assert result.bogus == {s[2].entry_id}
    assert {o.entry_id for o in result.opened} == {s[0].entry_id, s[1].entry_id}


@pytest.mark.parametrize("field", ["key_epoch", "quorum_range"])
def test_envelope_of_another_key_epoch_or_range_is_bogus(world: V2World, field: str) -> None:
    s = [seal(world, n, 2) for n in labels(3, f"epoch-{field}")]
    content = content_of(world, s[2])
    changed: EnvelopeContent
    if field == "key_epoch":
        changed = dataclasses.replace(content, key_epoch=content.key_epoch + 1)
    else:
        changed = dataclasses.replace(content, quorum_range=range(2, 5), sections=tuple(
            dataclasses.replace(sec, shares={q: sec.shares[q] for q in range(2, 5)}) for sec in content.sections))
    result = open_as(world, [matched(world, s[0]), matched(world, s[1]),
                             matched(world, s[2], envelope=reseal(world, changed))])
    assert result.bogus == {s[2].entry_id}
    assert {o.entry_id for o in result.opened} == {s[0].entry_id, s[1].entry_id}


def test_entry_without_the_matched_tag_is_bogus(world: V2World) -> None:
    s = [seal(world, "tag-mismatch/0", 2), seal(world, "tag-mismatch/1", 2), seal(world, "tag-mismatch/2", 2, [OTHER])]
    result = open_as(world, [matched(world, e) for e in s])
    assert result.bogus == {s[2].entry_id}
    assert {o.entry_id for o in result.opened} == {s[0].entry_id, s[1].entry_id}


def test_section_tag_rewritten_is_bogus(world: V2World) -> None:
    s = [seal(world, n, 2) for n in labels(3, "tag-rewrite")]
    forged = reseal(world, edit_section(content_of(world, s[2]), tag_of(world), tag=bytes(32)))
    result = open_as(world, [matched(world, s[0]), matched(world, s[1]), matched(world, s[2], envelope=forged)])
    assert result.bogus == {s[2].entry_id}
    assert len(result.opened) == 2


def test_quorum_claimed_by_server_must_match_the_envelope(world: V2World) -> None:
    s = [seal(world, n, 3) for n in labels(2, "quorum-lie")]
    # the server claims entry 0 asked for quorum 2 (so that 2 accounts would do)
    result = open_as(world, [matched(world, s[0], quorum=2), matched(world, s[1])])
    assert s[0].entry_id in result.bogus
    assert result.opened == []


def test_garbage_envelopes_are_bogus(world: V2World) -> None:
    s = [seal(world, n, 2) for n in labels(3, "garbage")]
    c = world.counselors[0]
    v2_junk = hpke.seal(c.public_key, b"\x02" + bytes(40), envelope_info(s[2].entry_id, c.key_id))
    v1_like = hpke.seal(c.public_key, b"\x01" + bytes(200), envelope_info(s[2].entry_id, c.key_id))
    for junk in [b"", b"\x00" * 2000, v2_junk, v1_like]:
        result = open_as(world, [matched(world, s[0]), matched(world, s[1]), matched(world, s[2], envelope=junk)])
        assert result.bogus == {s[2].entry_id}
        assert set(result.failed) == {s[2].entry_id}
        assert len(result.opened) == 2


def test_released_entry_without_body_fails_but_shares_count(world: V2World) -> None:
    s = [seal(world, n, 2) for n in labels(2, "nobody")]
    result = open_as(world, [matched(world, s[0]), matched(world, s[1], body=None)])
    assert set(result.failed) == {s[1].entry_id}
    assert [o.entry_id for o in result.opened] == [s[0].entry_id]


@pytest.mark.parametrize("bad_first", [True, False], ids=["bad-anchored-first", "bad-anchored-last"])
def test_swapped_bodies_fail_and_are_named(world: V2World, monkeypatch: pytest.MonkeyPatch, bad_first: bool) -> None:
    s = [seal(world, n, 2) for n in labels(3, "swap-body")]
    anchor_first(monkeypatch, [s[1].entry_id] if bad_first else [s[0].entry_id])
    result = open_as(world, [matched(world, s[0]), matched(world, s[1], body=s[2].body)])
    assert [o.entry_id for o in result.opened] == [s[0].entry_id]
    assert set(result.failed) == {s[1].entry_id}
    assert s[1].entry_id in result.bogus


@pytest.mark.parametrize("bad_first", [True, False], ids=["bad-anchored-first", "bad-anchored-last"])
@pytest.mark.parametrize("plaintext", [b"[]", b"null", b"42", b'"a string"', b"\xff", b"[" * 100_000 + b"]" * 100_000],
                         ids=["list", "null", "number", "string", "not-utf8", "deep-nesting"])
def test_malicious_body_plaintext_does_not_break_the_match(world: V2World, monkeypatch: pytest.MonkeyPatch,
                                                           plaintext: bytes, bad_first: bool) -> None:
    # The reporter holds its body key, so it can encrypt any plaintext. That entry must fail on its
    # own; the other reporters' entries must still open, whichever entry open_match anchors on first.
    s = [seal(world, n, 2) for n in labels(3, "evil-body")]
    anchor_first(monkeypatch, [s[2].entry_id] if bad_first else [s[0].entry_id, s[1].entry_id])
    evil_body = aead.seal(s[2].body_key, plaintext, entry.BODY_AAD + s[2].entry_id)
    result = open_as(world, [matched(world, s[0]), matched(world, s[1]), matched(world, s[2], body=evil_body)])
    assert {o.entry_id for o in result.opened} == {s[0].entry_id, s[1].entry_id}
    assert set(result.failed) == {s[2].entry_id}


def test_open_match_under_the_second_identifier(world: V2World) -> None:
    s = [seal(world, f"second-id/{i}", 2, [ident(f"x:first{i}"), OTHER]) for i in range(2)]
    result = open_as(world, [matched(world, e) for e in s], tag=tag_of(world, OTHER))
    assert result.failed == {} and len(result.opened) == 2
    # under the first identifiers there is no match (one account each)
    first = open_as(world, [matched(world, s[0])], tag=s[0].tags[0])
    assert first.opened == [] and set(first.failed) == {s[0].entry_id}


def test_tampering_another_identifiers_section_does_not_affect_this_match(world: V2World) -> None:
    s = [seal(world, n, 2, [TARGET, OTHER]) for n in labels(2, "other-section")]
    other_tag = tag_of(world, OTHER)

    def edit(c: EnvelopeContent) -> EnvelopeContent:
        return dataclasses.replace(c, sections=tuple(
            EnvelopeSection(sec.tag, sec.x, {k: bytes(48) for k in sec.shares}, bytes(96), bytes(60))
            if sec.tag == other_tag else sec for sec in c.sections))

    forged = reseal(world, edit(content_of(world, s[1])))
    result = open_as(world, [matched(world, s[0]), matched(world, s[1], envelope=forged)])
    assert result.failed == {} and len(result.opened) == 2 and result.bogus == set()


def test_an_unreleased_entry_is_never_opened(world: V2World) -> None:
    s = [seal(world, n, 2) for n in labels(3, "unreleased")]
    result = open_as(world, [matched(world, s[0]), matched(world, s[1], released=False),
                             matched(world, s[2], released=False)])
    assert [o.entry_id for o in result.opened] == [s[0].entry_id]
    assert result.failed == {} and result.bogus == set()


def test_a_counselor_who_holds_a_persons_secret_reads_later_entries_at_that_level(world: V2World) -> None:
    """PROTOCOL.md §2: once a counselor holds S = F_q(0)·P* for a person at level q, every later entry naming
    that person at that level (same key epoch) opens for them with S alone, e(S, U) for its fresh U, with no
    further shares: S depends only on the identifier, the level and the epoch's F_q. Other levels and other
    people stay shut."""
    from consilience.protocol import quorum

    q = 3
    tag = tag_of(world)
    first = [seal(world, f"later/first{k}", q) for k in range(q)]
    contents = [content_of(world, s) for s in first]
    sections = [c.section(tag) for c in contents]
    assert all(sections)
    level = world.deployment.quorum_parameters().level(q)
    secret = quorum.recover_secret(level, [(s.x, G1Point.from_bytes(s.shares[q])) for s in sections if s])

    def opens_with_secret(sealed: SealedEntry, secret: quorum.QuorumSecret, tag: bytes = tag) -> bool:
        content = content_of(world, sealed)
        section = content.section(tag)
        assert section is not None
        context = entry.wrap_context(world.deployment.deployment_id, content.key_epoch, sealed.entry_id,
                                     content.section_index(tag), tag)
        try:
            body_key = aead.open(quorum.unwrap(secret, section.u, context), section.wrapped,
                                 entry.WRAP_AAD + sealed.entry_id + tag)
        except Exception:  # noqa: BLE001 - any refusal means it did not open
            return False
        return entry.open_body(body_key, sealed.entry_id, sealed.body).record.startswith("record of later/")

    later = seal(world, "later/fourth", q)  # a new reporter, after the match: nobody else's share needed
    assert opens_with_secret(later, secret)
    assert not opens_with_secret(seal(world, "later/other-level", q + 1), secret)
    other_person = seal(world, "later/other-person", q, [ident("email:someone.else@example.org")])
    assert other_person.tags[0] != tag and not opens_with_secret(other_person, secret, other_person.tags[0])
