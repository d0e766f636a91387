"""The counselor's side of a match: recover quorum secrets, open entries.

Shares are computed on reporters' devices, so any of them may be bogus. The
counselor never trusts a share on its own: a candidate secret is accepted
only when it reproduces the target entry's key-check value, and then every
other share is tested against the recovered polynomial so bogus ones can be
named (PROTOCOL.md §7, §8).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from consilience.crypto import aead, hpke, shamir
from consilience.errors import ConsilienceError, DecryptionError
from consilience.protocol.entry import (
    WRAP_AAD,
    Body,
    EnvelopeContent,
    envelope_info,
    open_body,
    parse_envelope,
)
from consilience.protocol.matching import abscissa, key_check, wrap_key

MAX_SUBSETS = 10_000


@dataclass(frozen=True)
class MatchedEntry:
    """One entry as the server hands it to a counselor."""

    entry_id: bytes
    account_id: bytes
    quorum: int
    released: bool
    envelope: bytes
    body: bytes | None


@dataclass(frozen=True)
class OpenedEntry:
    entry_id: bytes
    account_id: bytes
    quorum: int
    body: Body


@dataclass
class OpenResult:
    opened: list[OpenedEntry] = field(default_factory=list)
    #: entry id -> why it could not be opened (released entries only)
    failed: dict[bytes, str] = field(default_factory=dict)
    #: entry ids whose envelope or share is not what an honest client sends
    bogus: set[bytes] = field(default_factory=set)


@dataclass(frozen=True)
class _Point:
    entry_id: bytes
    x: int
    shares: dict[int, int]


def open_match(tag: bytes, entries: list[MatchedEntry], counselor_seed: bytes, key_id: bytes) -> OpenResult:
    result = OpenResult()
    contents: dict[bytes, EnvelopeContent] = {}
    points: list[_Point] = []
    for e in entries:
        try:
            content = parse_envelope(hpke.open(counselor_seed, e.envelope, envelope_info(e.entry_id, key_id)))
        except ConsilienceError:
            result.bogus.add(e.entry_id)
            continue
        section = content.section(tag)
        if content.entry_id != e.entry_id or content.quorum != e.quorum or section is None:
            result.bogus.add(e.entry_id)
            continue
        if section.x != abscissa(e.account_id, tag):
            result.bogus.add(e.entry_id)
            continue
        contents[e.entry_id] = content
        points.append(_Point(e.entry_id, section.x, section.shares))

    secrets: dict[int, list[int]] = {}  # quorum -> polynomial coefficients found so far
    for e in entries:
        if not e.released:
            continue
        opened_envelope = contents.get(e.entry_id)
        if opened_envelope is None or e.body is None:
            result.failed[e.entry_id] = "its envelope is missing or malformed"
            continue
        section = opened_envelope.section(tag)
        assert section is not None
        q = e.quorum
        poly = secrets.get(q)
        if poly is None or key_check(poly[0], tag, q) != section.kcv:
            poly = _recover(points, q, tag, section.kcv)
            if poly is None:
                result.failed[e.entry_id] = (
                    f"no {q} consistent shares reproduce its key check (bogus shares, or the cap of "
                    f"{MAX_SUBSETS} candidate sets was reached)"
                )
                continue
            secrets[q] = poly
            result.bogus.update(
                p.entry_id for p in points
                if q in p.shares and shamir.evaluate_polynomial(poly, p.x) != p.shares[q]
            )
        try:
            body_key = aead.open(wrap_key(poly[0], tag, q), section.wrapped, WRAP_AAD + e.entry_id + tag)
            body = open_body(body_key, e.entry_id, e.body)
        except (DecryptionError, ConsilienceError):
            result.failed[e.entry_id] = "the quorum secret is right but the body does not decrypt"
            result.bogus.add(e.entry_id)
            continue
        result.opened.append(OpenedEntry(e.entry_id, e.account_id, q, body))
    return result


def _recover(points: list[_Point], q: int, tag: bytes, kcv: bytes) -> list[int] | None:
    """Search q-subsets of distinct abscissae for one matching the key check."""
    candidates = [p for p in points if q in p.shares]
    for tried, subset in enumerate(itertools.combinations(candidates, q)):
        if tried >= MAX_SUBSETS:
            return None
        if len({p.x for p in subset}) != q:
            continue
        chosen = {p.x: p.shares[q] for p in subset}
        if key_check(shamir.interpolate_at_zero(chosen), tag, q) == kcv:
            return shamir.interpolate_polynomial(chosen)
    return None
