"""Shared builders for the protocol tests, on tests/v2_world.py's in-process v2 deployment.

The world's quorum keys come from the real key generation among simulated key
servers, and every reporter's shares from the real request signing, checks,
VOPRF and quorum answers (``V2World.evaluate``); nothing here deals a secret
polynomial. Worlds are cached by ``make_v2_world``, so asking for the same one
twice costs nothing.

The escrow server's role is played by building ``MatchedEntry`` lists by hand,
which also lets a test play a lying server (marking entries released too
early, moving envelopes, serving copies).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from consilience.crypto import hpke
from consilience.protocol import entry, release
from consilience.protocol.entry import EnvelopeContent, SealedEntry, encode_envelope, envelope_info, parse_envelope
from consilience.protocol.matching import match_tag
from consilience.protocol.release import MatchedEntry, OpenResult, open_match
from v2_world import Account, CounselorKeys, Evaluated, FakeIdentifier, V2World, ident, make_v2_world, seed_of

TARGET = ident("email:target@example.org", "Target@Example.org")
OTHER = ident("phone:+15551234567", "(555) 123-4567")

__all__ = [
    "OTHER", "TARGET", "Account", "CounselorKeys", "Evaluated", "FakeIdentifier", "V2World", "anchor_first",
    "content_of", "edit_section", "evaluated", "ident", "make_v2_world", "matched", "open_as", "record_of", "reseal",
    "seal", "seed_of", "tag_of",
]


@pytest.fixture(scope="session")
def world() -> V2World:
    """3 key servers (t=2), quorum range 2..5, two counselors, quorum keys from the real DKG."""
    return make_v2_world()


def record_of(label: str) -> str:
    return f"record of {label}"


def tag_of(world: V2World, identifier: FakeIdentifier = TARGET) -> bytes:
    return match_tag(world.oprf_output(identifier))


_EVALUATED: dict[tuple[bytes, str, tuple[FakeIdentifier, ...]], Evaluated] = {}


def evaluated(world: V2World, label: str, identifiers: list[FakeIdentifier]) -> Evaluated:
    """Account ``label``'s real evaluation of ``identifiers``, once per world: an account's shares for an
    identifier are a function of the two (one abscissa, one base), so asking again gives the same points."""
    key = (world.deployment.deployment_id, label, tuple(identifiers))
    if key not in _EVALUATED:
        _EVALUATED[key] = world.evaluate(world.account(label), identifiers)
    return _EVALUATED[key]


_evaluated = evaluated


def seal(world: V2World, label: str, q: int | None = None, identifiers: list[FakeIdentifier] | None = None, *,
         evaluated: Evaluated | None = None, **kwargs: Any) -> SealedEntry:
    """Account ``label``'s entry naming ``identifiers`` (TARGET by default), through a real evaluation."""
    identifiers = identifiers or [TARGET]
    ev = evaluated or _evaluated(world, label, identifiers)
    kwargs.setdefault("record", record_of(label))
    kwargs.setdefault("contact", f"contact of {label}")
    return entry.seal_entry(deployment=world.deployment, identifiers=identifiers, oprf_outputs=ev.outputs,
                            quorum_shares=ev.shares, quorum=q, **kwargs)


def matched(world: V2World, sealed: SealedEntry, *, released: bool = True, counselor: int = 0,
            envelope: bytes | None = None, entry_id: bytes | None = None, quorum: int | None = None,
            body: bytes | None | bool = True) -> MatchedEntry:
    """The entry as the escrow server would hand it to counselor ``counselor`` (body only once released)."""
    key_id = world.counselors[counselor].key_id
    return MatchedEntry(
        entry_id=entry_id or sealed.entry_id,
        quorum=quorum if quorum is not None else sealed.quorum,
        released=released,
        envelope=envelope if envelope is not None else sealed.envelopes[key_id],
        body=(sealed.body if released else None) if body is True else (body or None),
    )


def open_as(world: V2World, entries: list[MatchedEntry], *, tag: bytes | None = None,
            counselor: int = 0) -> OpenResult:
    c = world.counselors[counselor]
    return open_match(tag or tag_of(world), entries, c.seed, c.key_id, world.deployment)


def content_of(world: V2World, sealed: SealedEntry, counselor: int = 0) -> EnvelopeContent:
    """What a counselor key reads in the entry's envelope."""
    c = world.counselors[counselor]
    return parse_envelope(hpke.open(c.seed, sealed.envelopes[c.key_id], envelope_info(sealed.entry_id, c.key_id)))


def reseal(world: V2World, content: EnvelopeContent, entry_id: bytes | None = None, counselor: int = 0) -> bytes:
    """Seal any plaintext correctly to a counselor (its key is public: any reporter's client can)."""
    c = world.counselors[counselor]
    eid = entry_id or content.entry_id
    return hpke.seal(c.public_key, encode_envelope(content), envelope_info(eid, c.key_id))


def edit_section(content: EnvelopeContent, which: bytes, **changes: Any) -> EnvelopeContent:
    """``content`` with the section under the tag ``which`` changed."""
    return replace(content, sections=tuple(replace(s, **changes) if s.tag == which else s for s in content.sections))


class _Anchors:
    """Stands in for release.py's SystemRandom: anchors in the given order (the rest after, as listed)."""

    def __init__(self, first: list[bytes]) -> None:
        self._rank = {eid: n for n, eid in enumerate(first)}

    def shuffle(self, anchors: list[MatchedEntry]) -> None:
        anchors.sort(key=lambda e: self._rank.get(e.entry_id, len(self._rank)))


def anchor_first(monkeypatch: pytest.MonkeyPatch, entry_ids: Iterable[bytes]) -> None:
    """Make open_match anchor on ``entry_ids`` first: the order an attacker would choose.

    open_match draws its anchor order at random so that submitters cannot predict it; a test of
    what an attacker can do must hold for every order, so it fixes the worst one.
    """
    first = list(entry_ids)
    monkeypatch.setattr(release, "random", SimpleNamespace(SystemRandom=lambda: _Anchors(first)), raising=False)
