"""The v2 envelope's fixed byte layout, and sealing an entry (PROTOCOL.md §8)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import hpke
from consilience.crypto.bls12381 import ORDER, Scalar
from consilience.errors import DecryptionError, InvalidInput
from consilience.protocol import entry
from consilience.protocol.entry import (
    Body,
    EnvelopeContent,
    EnvelopeSection,
    encode_envelope,
    envelope_info,
    open_body,
    parse_envelope,
    seal_entry,
)
from consilience.protocol.matching import match_tag

from .conftest import OTHER, TARGET, V2World, content_of, ident, seal

HEADER = 1 + 16 + 3 + 4 + 1
scalars = st.integers(min_value=1, max_value=ORDER - 1).map(Scalar)


def section_size(width: int) -> int:
    return 32 + 32 + width * 48 + 96 + 60


@st.composite
def contents(draw: st.DrawFn, max_sections: int = 8) -> EnvelopeContent:
    low = draw(st.integers(2, 30))
    high = draw(st.integers(low, min(low + 8, 32)))
    quorum = draw(st.integers(low, high))
    r = range(low, high + 1)
    tags = draw(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=max_sections, unique=True))
    sections = tuple(
        EnvelopeSection(
            tag=tag,
            x=draw(scalars),
            shares={k: draw(st.binary(min_size=48, max_size=48)) for k in r},
            u=draw(st.binary(min_size=96, max_size=96)),
            wrapped=draw(st.binary(min_size=60, max_size=60)),
        )
        for tag in tags
    )
    epoch = draw(st.integers(0, 2**32 - 1))
    return EnvelopeContent(draw(st.binary(min_size=16, max_size=16)), quorum, r, epoch, sections)


@settings(max_examples=50)
@given(contents())
def test_encode_parse_round_trip(content: EnvelopeContent) -> None:
    data = encode_envelope(content)
    width = len(content.quorum_range)
    assert len(data) == HEADER + len(content.sections) * section_size(width)
    assert data[0] == 2
    assert data[1:17] == content.entry_id
    assert list(data[17:20]) == [content.quorum, content.quorum_range.start, content.quorum_range.stop - 1]
    assert int.from_bytes(data[20:24], "big") == content.key_epoch and data[24] == len(content.sections)
    first = content.sections[0]
    at = HEADER
    assert data[at:at + 32] == first.tag and data[at + 32:at + 64] == first.x.to_bytes()
    assert data[at + 64:at + 64 + width * 48] == b"".join(first.shares[k] for k in content.quorum_range)
    assert data[at + 64 + width * 48:at + 160 + width * 48] == first.u
    assert data[at + 160 + width * 48:at + section_size(width)] == first.wrapped
    assert parse_envelope(data) == content


@settings(max_examples=50)
@given(contents(max_sections=3), st.data())
def test_parse_rejects_truncation(content: EnvelopeContent, data: st.DataObject) -> None:
    raw = encode_envelope(content)
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(InvalidInput):
        parse_envelope(raw[:cut])


@settings(max_examples=50)
@given(contents(max_sections=3), st.binary(min_size=1, max_size=300))
def test_parse_rejects_extra_bytes(content: EnvelopeContent, extra: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_envelope(encode_envelope(content) + extra)


@settings(max_examples=30)
@given(contents(max_sections=2), st.integers(0, 255).filter(lambda v: v != 2))
def test_parse_rejects_other_versions(content: EnvelopeContent, version: int) -> None:
    raw = bytearray(encode_envelope(content))
    raw[0] = version
    with pytest.raises(InvalidInput):
        parse_envelope(bytes(raw))


def test_a_v1_envelope_is_refused_naming_v1() -> None:
    v1 = bytes([1]) + bytes(16) + bytes([2, 2, 2, 1]) + bytes(32 + 32 + 32 + 16 + 60)  # v1's own layout
    with pytest.raises(InvalidInput, match="protocol v1 envelope"):
        parse_envelope(v1)
    with pytest.raises(InvalidInput, match="protocol v1 envelope"):
        parse_envelope(b"\x01")
    with pytest.raises(InvalidInput, match="unknown version"):
        parse_envelope(b"\x03" + v1[1:])


@settings(max_examples=50)
@given(contents(max_sections=3), st.data())
def test_parse_rejects_non_canonical_abscissas(content: EnvelopeContent, data: st.DataObject) -> None:
    raw = bytearray(encode_envelope(content))
    width = len(content.quorum_range)
    i = data.draw(st.integers(0, len(content.sections) - 1))
    offset = HEADER + i * section_size(width) + 32
    value = data.draw(st.integers(ORDER, 2**256 - 1))
    raw[offset:offset + 32] = value.to_bytes(32, "big")
    with pytest.raises(InvalidInput):
        parse_envelope(bytes(raw))


@settings(max_examples=20)
@given(contents(max_sections=3), st.data())
def test_parse_rejects_a_zero_abscissa(content: EnvelopeContent, data: st.DataObject) -> None:
    """x = 0 would be a share of F_q(0)·P*, the secret itself: refused where it enters."""
    raw = bytearray(encode_envelope(content))
    width = len(content.quorum_range)
    i = data.draw(st.integers(0, len(content.sections) - 1))
    offset = HEADER + i * section_size(width) + 32
    raw[offset:offset + 32] = bytes(32)
    with pytest.raises(InvalidInput):
        parse_envelope(bytes(raw))


def test_abscissas_are_big_endian() -> None:
    raw = bytearray(_raw(2, 2, 2, 1))
    raw[HEADER + 32 + 31] = 5
    assert parse_envelope(bytes(raw)).sections[0].x == Scalar(5)
    raw[HEADER + 32 + 31] = 0
    raw[HEADER + 32] = 5  # 5·2^248 < r
    assert parse_envelope(bytes(raw)).sections[0].x == Scalar(5 << 248)


@settings(max_examples=200)
@given(st.one_of(st.binary(max_size=700), contents(max_sections=2).map(encode_envelope)), st.data())
def test_parse_accepts_or_refuses_cleanly(raw: bytes, data: st.DataObject) -> None:
    # whatever a malicious reporter seals, parsing raises InvalidInput or succeeds
    if raw and data.draw(st.booleans()):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw = raw[:pos] + bytes([data.draw(st.integers(0, 255))]) + raw[pos + 1:]
    try:
        content = parse_envelope(raw)
    except InvalidInput:
        return
    assert encode_envelope(content) == raw


def _raw(quorum: int, low: int, high: int, count: int, *, sections: int | None = None, epoch: int = 1) -> bytes:
    """A header with the given fields followed by the byte count those fields imply (abscissa 1, distinct tags)."""
    width = max(high - low + 1, 0)
    n = count if sections is None else sections
    body = b"".join(bytes([i % 256]) + bytes(31) + (1).to_bytes(32, "big") + bytes(section_size(width) - 64)
                    for i in range(n))
    return bytes([2]) + bytes(16) + bytes([quorum, low, high]) + epoch.to_bytes(4, "big") + bytes([count]) + body


def test_raw_builder_is_accepted_when_fields_are_sane() -> None:
    content = parse_envelope(_raw(3, 2, 5, 2, epoch=0xA1B2C3D4))
    assert content.quorum == 3 and content.quorum_range == range(2, 6) and len(content.sections) == 2
    assert content.key_epoch == 0xA1B2C3D4
    assert parse_envelope(_raw(32, 2, 32, 8)).quorum_range == range(2, 33)


@pytest.mark.parametrize(
    ("quorum", "low", "high", "count"),
    [
        (1, 2, 5, 1),  # quorum below the range
        (6, 2, 5, 1),  # quorum above the range
        (1, 1, 1, 1),  # the range may not start below 2
        (0, 0, 0, 1),
        (3, 4, 3, 1),  # empty range
        (2, 2, 2, 0),  # no identifiers
        (2, 2, 2, 9),  # more than 8 identifiers
        (2, 2, 2, 255),
        (2, 2, 33, 1),  # the range may not end above 32
    ],
)
def test_parse_rejects_out_of_range_quorum_fields(quorum: int, low: int, high: int, count: int) -> None:
    with pytest.raises(InvalidInput):
        parse_envelope(_raw(quorum, low, high, count))


def test_parse_rejects_short_header() -> None:
    for n in range(HEADER):
        with pytest.raises(InvalidInput):
            parse_envelope(_raw(2, 2, 2, 1)[:n])


def test_parse_rejects_a_repeated_tag() -> None:
    width = 4
    section = bytes(32) + (1).to_bytes(32, "big") + bytes(section_size(width) - 64)
    raw = bytes([2]) + bytes(16) + bytes([3, 2, 5]) + bytes(4) + bytes([2]) + section + section
    with pytest.raises(InvalidInput, match="twice"):
        parse_envelope(raw)


# --- seal_entry -------------------------------------------------------------


def test_seal_entry_layout_and_bindings(world: V2World) -> None:
    ids = [ident("email:a@example.org", "A@Example.org"), ident("phone:+15551234567", "555 123 4567")]
    acct = world.account("envelope/layout")
    ev = world.evaluate(acct, ids)
    sealed = seal_entry(deployment=world.deployment, identifiers=ids, oprf_outputs=ev.outputs,
                        quorum_shares=ev.shares, record="what happened", contact="signal: @me", quorum=3,
                        written_at="2026-01-02T03:04:05+00:00")
    d = world.deployment
    assert len(sealed.entry_id) == 16 and sealed.quorum == 3
    assert sealed.deployment_serial == d.serial
    assert sealed.tags == [match_tag(world.oprf_output(i)) for i in ids] == ev.tags
    assert set(sealed.envelopes) == {c.key_id for c in d.counselors}
    width = len(d.quorum_range)
    plain_len = HEADER + len(ids) * section_size(width)
    for k, c in enumerate(world.counselors):
        ct = sealed.envelopes[c.key_id]
        assert len(ct) == plain_len + hpke.CIPHERTEXT_OVERHEAD
        content = content_of(world, sealed, k)
        assert content.entry_id == sealed.entry_id
        assert content.quorum == 3 and content.quorum_range == d.quorum_range and content.key_epoch == d.key_epoch
        assert [s.tag for s in content.sections] == sealed.tags
        for s, shares in zip(content.sections, ev.shares, strict=True):
            # the account's abscissa (what the key servers derived) and the checked shares, every level
            assert s.x.to_bytes() == ev.x
            assert s.shares == {q: shares.share_bytes(q) for q in d.quorum_range}
            assert len(s.u) == 96 and len(s.wrapped) == entry.WRAPPED_BYTES == 60
        assert content.sections[0].u != content.sections[1].u  # a fresh encapsulation per section
    # the body opens with the key the reporter keeps, and only for this entry id
    body = open_body(sealed.body_key, sealed.entry_id, sealed.body)
    assert body == Body("what happened", ["A@Example.org", "555 123 4567"],
                        ["email:a@example.org", "phone:+15551234567"], "signal: @me", "2026-01-02T03:04:05+00:00")
    with pytest.raises(DecryptionError):
        open_body(sealed.body_key, bytes(16), sealed.body)
    # the HPKE info binds entry id and counselor key id
    c0, c1 = world.counselors
    with pytest.raises(DecryptionError):
        hpke.open(c0.seed, sealed.envelopes[c0.key_id], envelope_info(bytes(16), c0.key_id))
    with pytest.raises(DecryptionError):
        hpke.open(c0.seed, sealed.envelopes[c0.key_id], envelope_info(sealed.entry_id, c1.key_id))
    with pytest.raises(DecryptionError):
        hpke.open(c1.seed, sealed.envelopes[c0.key_id], envelope_info(sealed.entry_id, c0.key_id))
    assert envelope_info(sealed.entry_id, c0.key_id) == b"consilience-v2 envelope" + sealed.entry_id + c0.key_id


def test_labels_are_v2() -> None:
    assert (entry.BODY_AAD, entry.WRAP_AAD, entry.ENVELOPE_INFO) == (
        b"consilience-v2 body", b"consilience-v2 wrap", b"consilience-v2 envelope")


def test_body_plaintext_is_sorted_json() -> None:
    body = Body("r\u00e9cit", ["x"], ["email:x@y.z"], "c", "2026-01-01T00:00:00+00:00")
    raw = body.to_bytes()
    doc = json.loads(raw)
    assert doc["v"] == 2 and list(doc) == sorted(doc)
    assert Body.from_bytes(raw) == body


def test_seal_entry_defaults_to_deployment_quorum_and_keeps_given_ids(world: V2World) -> None:
    eid, key = bytes(range(16)), bytes(32)
    sealed = seal(world, "envelope/defaults", None, [ident("x:someone")], entry_id=eid, body_key=key)
    assert sealed.quorum == world.deployment.quorum
    assert sealed.entry_id == eid and sealed.body_key == key
    assert open_body(key, eid, sealed.body).canonical == ["x:someone"]


def test_sealing_again_shares_nothing_but_the_secret(world: V2World) -> None:
    """An edit reuses the entry id and body key; its encapsulation and sealed body are new."""
    ev = world.evaluate(world.account("envelope/edit"), [TARGET])
    first = seal(world, "envelope/edit", 3, evaluated=ev, entry_id=bytes(16), body_key=bytes(32))
    again = seal(world, "envelope/edit", 3, evaluated=ev, entry_id=bytes(16), body_key=bytes(32), record="edited")
    a, b = content_of(world, first).sections[0], content_of(world, again).sections[0]
    assert a.x == b.x and a.shares == b.shares and a.tag == b.tag
    assert a.u != b.u and a.wrapped != b.wrapped


@pytest.mark.parametrize("quorum", [1, 6, 0, 33])
def test_seal_entry_rejects_quorum_outside_range(world: V2World, quorum: int) -> None:
    ev = world.evaluate(world.account("envelope/range"), [ident("x:someone")])
    with pytest.raises(InvalidInput, match="outside"):
        seal(world, "envelope/range", quorum, [ident("x:someone")], evaluated=ev)


def test_seal_entry_rejects_bad_identifier_lists(world: V2World) -> None:
    acct = world.account("envelope/lists")
    two = [ident("x:a"), ident("x:b")]
    ev2 = world.evaluate(acct, two)
    common = dict(deployment=world.deployment, record="r", contact="c")
    with pytest.raises(InvalidInput):
        seal_entry(identifiers=[], oprf_outputs=[], quorum_shares=[], **common)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="named twice"):
        seal_entry(identifiers=[ident("x:a"), ident("x:a", "@A")], oprf_outputs=[ev2.outputs[0]] * 2,
                   quorum_shares=[ev2.shares[0]] * 2, **common)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        seal_entry(identifiers=two, oprf_outputs=ev2.outputs[:1], quorum_shares=ev2.shares, **common)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        seal_entry(identifiers=two, oprf_outputs=ev2.outputs, quorum_shares=ev2.shares[:1], **common)  # type: ignore[arg-type]
    nine = [ident(f"x:user{i}") for i in range(9)]
    eight = world.evaluate(acct, nine[:8])
    with pytest.raises(InvalidInput, match="at most 8"):
        seal_entry(identifiers=nine, oprf_outputs=[*eight.outputs, eight.outputs[0]],
                   quorum_shares=[*eight.shares, eight.shares[0]], **common)  # type: ignore[arg-type]
    # eight is allowed
    ok = seal_entry(identifiers=nine[:8], oprf_outputs=eight.outputs, quorum_shares=eight.shares, **common)  # type: ignore[arg-type]
    assert len(ok.tags) == 8


def test_seal_entry_refuses_shares_of_two_accounts(world: V2World) -> None:
    a = world.evaluate(world.account("envelope/two a"), [TARGET])
    b = world.evaluate(world.account("envelope/two b"), [OTHER])
    with pytest.raises(InvalidInput, match="one abscissa"):
        seal_entry(deployment=world.deployment, identifiers=[TARGET, OTHER], oprf_outputs=a.outputs + b.outputs,
                   quorum_shares=a.shares + b.shares, record="r", contact="c")


def test_seal_entry_refuses_shares_missing_a_level(world: V2World) -> None:
    ev = world.evaluate(world.account("envelope/levels"), [TARGET])
    short = replace(ev.shares[0], shares={q: s for q, s in ev.shares[0].shares.items() if q != 5})
    with pytest.raises(InvalidInput, match="every level"):
        seal_entry(deployment=world.deployment, identifiers=[TARGET], oprf_outputs=ev.outputs,
                   quorum_shares=[short], record="r", contact="c")


def test_seal_entry_refuses_deployment_without_counselors_or_quorum_keys(world: V2World) -> None:
    ev = world.evaluate(world.account("envelope/bare"), [TARGET])
    common = dict(identifiers=[TARGET], oprf_outputs=ev.outputs, quorum_shares=ev.shares, record="r", contact="c")
    with pytest.raises(InvalidInput, match="no counselors"):
        seal_entry(deployment=replace(world.deployment, counselors=()), **common)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="not finished generating"):
        seal_entry(deployment=replace(world.deployment, quorum_keys=None), **common)  # type: ignore[arg-type]


@pytest.mark.parametrize(("entry_id", "body_key"), [(bytes(15), bytes(32)), (bytes(16), bytes(31))])
def test_seal_entry_rejects_bad_ids_and_keys(world: V2World, entry_id: bytes, body_key: bytes) -> None:
    ev = world.evaluate(world.account("envelope/ids"), [TARGET])
    with pytest.raises(InvalidInput):
        seal(world, "envelope/ids", 2, evaluated=ev, entry_id=entry_id, body_key=body_key)
