"""What the transparency log records, byte for byte (PROTOCOL.md §11).

A leaf commits to an event without revealing anything the escrow server
does not already keep to itself: ids, hashes of ciphertexts, counts and
times. A reporter who kept their submission can recompute their entry's
leaf and so check a receipt without trusting the server's word for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from consilience.errors import InvalidInput
from consilience.protocol.encoding import i2osp

CONTENT_LABEL = b"consilience-v1 entry content\x01"

ENTRY = 1  #: an entry was accepted, or replaced with new content
WITHDRAWAL = 2  #: an entry was withdrawn
RELEASE = 3  #: a match was created or grew
OPENING = 4  #: a counselor opened a match
KIND_NAMES = {ENTRY: "entry", WITHDRAWAL: "withdrawal", RELEASE: "release", OPENING: "opening"}


def content_hash(quorum: int, tags: Iterable[bytes], body: bytes, envelopes: Iterable[tuple[bytes, bytes]]) -> bytes:
    """SHA-256 over an unambiguous encoding of a submission; tag and envelope order ignored."""
    tags, envelopes = sorted(tags), sorted(envelopes)
    parts = [CONTENT_LABEL, i2osp(quorum, 1), i2osp(len(tags), 1), *tags,
             i2osp(len(body), 4), body, i2osp(len(envelopes), 1)]
    for key_id, ciphertext in envelopes:
        parts += [key_id, i2osp(len(ciphertext), 4), ciphertext]
    return hashlib.sha256(b"".join(parts)).digest()


def _millis(when: datetime) -> bytes:
    return i2osp(int(when.timestamp() * 1000), 8)


def entry_leaf(entry_id: bytes, content: bytes, when: datetime) -> bytes:
    return bytes([ENTRY]) + _check(entry_id, 16) + _check(content, 32) + _millis(when)


def withdrawal_leaf(entry_id: bytes, when: datetime) -> bytes:
    return bytes([WITHDRAWAL]) + _check(entry_id, 16) + _millis(when)


def release_leaf(match_id: bytes, released: int, when: datetime) -> bytes:
    return bytes([RELEASE]) + _check(match_id, 16) + i2osp(released, 4) + _millis(when)


def opening_leaf(match_id: bytes, counselor_id: bytes, when: datetime) -> bytes:
    return bytes([OPENING]) + _check(match_id, 16) + _check(counselor_id, 16) + _millis(when)


@dataclass(frozen=True)
class Event:
    kind: str
    at: datetime
    entry_id: bytes | None = None
    content_hash: bytes | None = None
    match_id: bytes | None = None
    released: int | None = None
    counselor_id: bytes | None = None


def parse_leaf(data: bytes) -> Event:
    """Decode leaf data (strict lengths), for showing what a receipt proves."""
    if not data or data[0] not in KIND_NAMES:
        raise InvalidInput("unknown log leaf kind")
    kind, rest = data[0], data[1:]
    sizes = {ENTRY: 16 + 32 + 8, WITHDRAWAL: 16 + 8, RELEASE: 16 + 4 + 8, OPENING: 16 + 16 + 8}
    if len(rest) != sizes[kind]:
        raise InvalidInput("log leaf has the wrong length")
    try:
        at = datetime.fromtimestamp(int.from_bytes(rest[-8:], "big") / 1000, UTC)
    except (ValueError, OverflowError, OSError) as exc:  # beyond year 9999
        raise InvalidInput("log leaf time is out of range") from exc
    if kind == ENTRY:
        return Event("entry", at, entry_id=rest[:16], content_hash=rest[16:48])
    if kind == WITHDRAWAL:
        return Event("withdrawal", at, entry_id=rest[:16])
    if kind == RELEASE:
        return Event("release", at, match_id=rest[:16], released=int.from_bytes(rest[16:20], "big"))
    return Event("opening", at, match_id=rest[:16], counselor_id=rest[16:32])


def _check(value: bytes, length: int) -> bytes:
    if len(value) != length:
        raise InvalidInput(f"expected {length} bytes")
    return value
