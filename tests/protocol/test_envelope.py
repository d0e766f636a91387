"""The envelope's fixed byte layout, and sealing an entry (PROTOCOL.md §8)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import aead, hpke, ristretto
from consilience.crypto.shamir import ORDER
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

from .conftest import World, account, ident

HEADER = 1 + 16 + 4
scalars = st.integers(min_value=0, max_value=ORDER - 1)


def section_size(width: int) -> int:
    return 32 + 32 + width * 32 + 16 + 60


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
            shares={k: draw(scalars) for k in r},
            kcv=draw(st.binary(min_size=16, max_size=16)),
            wrapped=draw(st.binary(min_size=60, max_size=60)),
        )
        for tag in tags
    )
    return EnvelopeContent(draw(st.binary(min_size=16, max_size=16)), quorum, r, sections)


@settings(max_examples=50)
@given(contents())
def test_encode_parse_round_trip(content: EnvelopeContent) -> None:
    data = encode_envelope(content)
    width = len(content.quorum_range)
    assert len(data) == HEADER + len(content.sections) * section_size(width)
    assert data[0] == 1
    assert data[1:17] == content.entry_id
    assert list(data[17:21]) == [content.quorum, content.quorum_range.start,
                                 content.quorum_range.stop - 1, len(content.sections)]
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
@given(contents(max_sections=2), st.integers(0, 255).filter(lambda v: v != 1))
def test_parse_rejects_other_versions(content: EnvelopeContent, version: int) -> None:
    raw = bytearray(encode_envelope(content))
    raw[0] = version
    with pytest.raises(InvalidInput):
        parse_envelope(bytes(raw))


@settings(max_examples=50)
@given(contents(max_sections=3), st.data())
def test_parse_rejects_non_canonical_scalars(content: EnvelopeContent, data: st.DataObject) -> None:
    raw = bytearray(encode_envelope(content))
    width = len(content.quorum_range)
    i = data.draw(st.integers(0, len(content.sections) - 1))
    j = data.draw(st.integers(0, width))  # 0 is x, 1..width the shares
    offset = HEADER + i * section_size(width) + 32 + 32 * j
    value = data.draw(st.integers(ORDER, 2**256 - 1))
    raw[offset:offset + 32] = value.to_bytes(32, "little")
    with pytest.raises(InvalidInput):
        parse_envelope(bytes(raw))


@settings(max_examples=200)
@given(st.one_of(st.binary(max_size=600), contents(max_sections=2).map(encode_envelope)), st.data())
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


def _raw(quorum: int, low: int, high: int, count: int, *, sections: int | None = None) -> bytes:
    """A header with the given fields followed by the byte count those fields imply."""
    width = max(high - low + 1, 0)
    n = count if sections is None else sections
    # distinct tags (the first byte of each section), which parse_envelope requires
    body = b"".join(bytes([i % 256]) + bytes(section_size(width) - 1) for i in range(n))
    return bytes([1]) + bytes(16) + bytes([quorum, low, high, count]) + body


def test_raw_builder_is_accepted_when_fields_are_sane() -> None:
    content = parse_envelope(_raw(3, 2, 5, 2))
    assert content.quorum == 3 and content.quorum_range == range(2, 6) and len(content.sections) == 2


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


# --- seal_entry -------------------------------------------------------------


def _seal(world: World, identifiers: list, *, quorum: int | None = None, acct: bytes | None = None,
          **kwargs: object) -> entry.SealedEntry:
    return seal_entry(
        deployment=world.deployment,
        account_id=acct or account(0),
        identifiers=identifiers,
        oprf_outputs=[world.oprf_output(i) for i in identifiers],
        record="what happened",
        contact="signal: @me",
        quorum=quorum,
        **kwargs,  # type: ignore[arg-type]
    )


def test_seal_entry_layout_and_bindings(world: World) -> None:
    ids = [ident("email:a@example.org", "A@Example.org"), ident("phone:+15551234567", "555 123 4567")]
    sealed = _seal(world, ids, quorum=3, written_at="2026-01-02T03:04:05+00:00")
    d = world.deployment
    assert len(sealed.entry_id) == 16 and sealed.quorum == 3
    assert sealed.deployment_serial == d.serial
    assert sealed.tags == [match_tag(world.oprf_output(i)) for i in ids]
    assert set(sealed.envelopes) == {c.key_id for c in d.counselors}
    width = len(d.quorum_range)
    plain_len = HEADER + len(ids) * section_size(width)
    for c in world.counselors:
        ct = sealed.envelopes[c.key_id]
        assert len(ct) == plain_len + hpke.CIPHERTEXT_OVERHEAD
        content = parse_envelope(hpke.open(c.seed, ct, envelope_info(sealed.entry_id, c.key_id)))
        assert content.entry_id == sealed.entry_id
        assert content.quorum == 3 and content.quorum_range == d.quorum_range
        assert [s.tag for s in content.sections] == sealed.tags
        for s in content.sections:
            assert len(s.wrapped) == entry.WRAPPED_BYTES == 60
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


def test_body_plaintext_is_sorted_json(world: World) -> None:
    body = Body("r\u00e9cit", ["x"], ["email:x@y.z"], "c", "2026-01-01T00:00:00+00:00")
    raw = body.to_bytes()
    doc = json.loads(raw)
    assert doc["v"] == 1 and list(doc) == sorted(doc)
    assert Body.from_bytes(raw) == body


def test_seal_entry_defaults_to_deployment_quorum_and_keeps_given_ids(world: World) -> None:
    eid, key = bytes(range(16)), bytes(32)
    sealed = _seal(world, [ident("x:someone")], entry_id=eid, body_key=key)
    assert sealed.quorum == world.deployment.quorum
    assert sealed.entry_id == eid and sealed.body_key == key
    assert open_body(key, eid, sealed.body).canonical == ["x:someone"]


@pytest.mark.parametrize("quorum", [1, 6, 0, 33])
def test_seal_entry_rejects_quorum_outside_range(world: World, quorum: int) -> None:
    with pytest.raises(InvalidInput):
        _seal(world, [ident("x:someone")], quorum=quorum)


def test_seal_entry_rejects_bad_identifier_lists(world: World) -> None:
    with pytest.raises(InvalidInput):
        _seal(world, [])
    with pytest.raises(InvalidInput):
        _seal(world, [ident("x:a"), ident("x:a", "@A")])  # same canonical twice
    with pytest.raises(InvalidInput):
        _seal(world, [ident(f"x:user{i}") for i in range(9)])
    with pytest.raises(InvalidInput):
        seal_entry(deployment=world.deployment, account_id=account(0), identifiers=[ident("x:a"), ident("x:b")],
                   oprf_outputs=[world.oprf_output(ident("x:a"))], record="r", contact="c")
    # eight is allowed
    assert len(_seal(world, [ident(f"x:user{i}") for i in range(8)]).tags) == 8


def test_seal_entry_refuses_deployment_without_counselors(world: World) -> None:
    from dataclasses import replace

    bare = replace(world, deployment=replace(world.deployment, counselors=()))
    with pytest.raises(InvalidInput):
        _seal(bare, [ident("x:someone")])


def test_body_from_bytes_rejects_garbage() -> None:
    for raw in [b"", b"\xff\xfe", b"{", b'{"v": 2, "record": "", "identifiers": [], "canonical": [], '
                b'"contact": "", "written_at": ""}', b'{"v": 1}', b'{"v": 1, "record": "r", "identifiers": 5, '
                b'"canonical": [], "contact": "", "written_at": ""}']:
        with pytest.raises(InvalidInput):
            Body.from_bytes(raw)


@pytest.mark.parametrize("raw", [b"[]", b"1", b'"text"', b"null", b"[" * 100_000 + b"]" * 100_000])
def test_body_from_bytes_rejects_non_object_json(raw: bytes) -> None:
    # A reporter holds its own body key, so a released body can be any bytes
    # it likes; parsing must fail with InvalidInput, not an arbitrary error
    # (release.open_match only catches ConsilienceError).
    with pytest.raises(InvalidInput):
        Body.from_bytes(raw)


def test_wrapped_key_needs_the_right_context(world: World) -> None:
    ids = [ident("email:b@example.org")]
    sealed = _seal(world, ids, quorum=2)
    c = world.counselors[0]
    section = parse_envelope(hpke.open(c.seed, sealed.envelopes[c.key_id],
                                       envelope_info(sealed.entry_id, c.key_id))).sections[0]
    from consilience.protocol.matching import shares_for

    derived = shares_for(world.oprf_output(ids[0]), account(0), 2, world.deployment.quorum_range)
    assert derived.kcv == section.kcv and derived.x == section.x and derived.shares == section.shares
    aad = entry.WRAP_AAD + sealed.entry_id + section.tag
    assert aead.open(derived.wrap_key, section.wrapped, aad) == sealed.body_key
    with pytest.raises(DecryptionError):
        aead.open(derived.wrap_key, section.wrapped, entry.WRAP_AAD + bytes(16) + section.tag)
    assert ristretto.scalar_from_int(section.x) != bytes(32)


def test_parse_rejects_a_repeated_tag() -> None:
    width = 4
    section = bytes(section_size(width))
    raw = bytes([1]) + bytes(16) + bytes([3, 2, 5, 2]) + section + section
    with pytest.raises(InvalidInput, match="twice"):
        parse_envelope(raw)
