"""What the transparency log records, byte for byte (PROTOCOL.md §11), protocol v2.

Every leaf is a *commitment* to one event: ``SHA-256(LEAF_LABEL ‖ nonce ‖
event)`` with a fresh 32-byte nonce. The public, watching checkpoints and
leaves, sees 32 random-looking bytes per leaf and cannot tell an entry from
a withdrawal, a release, a counselor's opening or the padding the server
adds so that its periodic batches always have the same size. Whoever is
handed the *opening* (``nonce ‖ event``, what a receipt's ``extra`` line
carries) can recompute the leaf and read the event; a reporter gets the
opening of their own entry's leaf and nothing else.

The event bytes themselves commit to nothing the escrow server does not
already keep to itself: ids, hashes of ciphertexts, counts and times. A
reporter who kept their submission recomputes ``content_hash`` and so checks
a receipt without trusting the server's word for it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.protocol.encoding import i2osp

CONTENT_LABEL = b"consilience-v2 entry content\x01"
LEAF_LABEL = b"consilience-v2 log leaf"
NONCE_BYTES = 32
LEAF_BYTES = 32

ENTRY = 1  #: an entry was accepted, or replaced with new content
WITHDRAWAL = 2  #: an entry was withdrawn
RELEASE = 3  #: a match was created or grew
OPENING = 4  #: a counselor opened a match
PADDING = 5  #: nothing: fills a batch up to its fixed size
REVOCATION = 6  #: the administrator revoked an account, a counselor, a witness or a key server (PROTOCOL.md §6.2)
KIND_NAMES = {ENTRY: "entry", WITHDRAWAL: "withdrawal", RELEASE: "release", OPENING: "opening",
              PADDING: "padding", REVOCATION: "revocation"}
_SIZES = {ENTRY: 16 + 32 + 8, WITHDRAWAL: 16 + 8, RELEASE: 16 + 4 + 8, OPENING: 16 + 16 + 8, PADDING: 8,
          REVOCATION: 1 + 32 + 8 + 8}
#: What a revocation event revokes, and the prefix of its subject's hash.
REVOKED_ACCOUNT, REVOKED_COUNSELOR, REVOKED_WITNESS, REVOKED_KEY_SERVER = 1, 2, 3, 4
REVOKED_NAMES = {REVOKED_ACCOUNT: "account", REVOKED_COUNSELOR: "counselor", REVOKED_WITNESS: "witness",
                 REVOKED_KEY_SERVER: "key server"}
REVOKED_LABEL = b"consilience-v2 revoked"


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


def entry_event(entry_id: bytes, content: bytes, when: datetime) -> bytes:
    return bytes([ENTRY]) + _check(entry_id, 16) + _check(content, 32) + _millis(when)


def withdrawal_event(entry_id: bytes, when: datetime) -> bytes:
    return bytes([WITHDRAWAL]) + _check(entry_id, 16) + _millis(when)


def release_event(match_id: bytes, released: int, when: datetime) -> bytes:
    return bytes([RELEASE]) + _check(match_id, 16) + i2osp(released, 4) + _millis(when)


def opening_event(match_id: bytes, key_id: bytes, when: datetime) -> bytes:
    """``0x04 ‖ match_id ‖ the counselor's key id ‖ time``: the key id, not an account id, so a reporter shown
    the reading of their entry (PROTOCOL.md §13.6) names the counselor from the administrator-signed document."""
    return bytes([OPENING]) + _check(match_id, 16) + _check(key_id, 16) + _millis(when)


def padding_event(when: datetime) -> bytes:
    return bytes([PADDING]) + _millis(when)


def revoked_subject(what: int, subject: bytes) -> bytes:
    """SHA-256("consilience-v2 revoked" ‖ u8 what ‖ subject): an account key, a counselor's key id, a
    witness's vkey in UTF-8, or a key server's identity key."""
    if what not in REVOKED_NAMES:
        raise InvalidInput(_("a revocation revokes an account, a counselor, a witness or a key server"))
    return hashlib.sha256(REVOKED_LABEL + bytes([what]) + subject).digest()


def revocation_event(what: int, subject: bytes, serial: int, when: datetime) -> bytes:
    """``0x06 ‖ u8 what ‖ revoked_subject (32) ‖ u64 serial ‖ time``: the revocation list's serial, or for a
    key server the deployment document's that removes it."""
    return bytes([REVOCATION, what]) + revoked_subject(what, subject) + i2osp(serial, 8) + _millis(when)


@dataclass(frozen=True)
class Opening:
    """A leaf's opening: the nonce and the event it commits to."""

    nonce: bytes
    event: bytes

    @classmethod
    def fresh(cls, event: bytes) -> Opening:
        return cls(os.urandom(NONCE_BYTES), event)

    @property
    def encoded(self) -> bytes:
        return self.nonce + self.event

    @property
    def leaf(self) -> bytes:
        """The leaf data the log stores and signs: the commitment."""
        return commit(self.nonce, self.event)


def commit(nonce: bytes, event: bytes) -> bytes:
    return hashlib.sha256(LEAF_LABEL + _check(nonce, NONCE_BYTES) + event).digest()


def commitment_of(opening: bytes) -> bytes:
    """The leaf data of a stored opening (``nonce ‖ event``, ``Opening.encoded``): what the log keeps
    instead of the commitment, which is recomputed from it."""
    return commit(bytes(opening[:NONCE_BYTES]), bytes(opening[NONCE_BYTES:]))


def parse_opening(data: bytes) -> Opening:
    """Split ``nonce ‖ event`` (strict: the event must parse)."""
    if len(data) <= NONCE_BYTES:
        raise InvalidInput(_("a leaf opening is a 32-byte nonce followed by an event"))
    opening = Opening(bytes(data[:NONCE_BYTES]), bytes(data[NONCE_BYTES:]))
    parse_event(opening.event)
    return opening


@dataclass(frozen=True)
class Event:
    kind: str
    at: datetime
    entry_id: bytes | None = None
    content_hash: bytes | None = None
    match_id: bytes | None = None
    released: int | None = None
    #: an opening: the counselor's key id (``hpke.key_id`` of their public key, as the deployment lists it)
    counselor_id: bytes | None = None
    #: a revocation: what it revoked, the hash of whom (``revoked_subject``) and the list's serial
    revoked: str | None = None
    subject: bytes | None = None
    serial: int | None = None


def parse_event(data: bytes) -> Event:
    """Decode event bytes (strict lengths), for showing what a receipt proves."""
    if not data or data[0] not in KIND_NAMES:
        raise InvalidInput(_("unknown log event kind"))
    kind, rest = data[0], data[1:]
    if len(rest) != _SIZES[kind]:
        raise InvalidInput(_("log event has the wrong length"))
    try:
        at = datetime.fromtimestamp(int.from_bytes(rest[-8:], "big") / 1000, UTC)
    except (ValueError, OverflowError, OSError) as exc:  # beyond year 9999
        raise InvalidInput(_("log event time is out of range")) from exc
    if kind == ENTRY:
        return Event("entry", at, entry_id=rest[:16], content_hash=rest[16:48])
    if kind == WITHDRAWAL:
        return Event("withdrawal", at, entry_id=rest[:16])
    if kind == RELEASE:
        return Event("release", at, match_id=rest[:16], released=int.from_bytes(rest[16:20], "big"))
    if kind == OPENING:
        return Event("opening", at, match_id=rest[:16], counselor_id=rest[16:32])
    if kind == REVOCATION:
        if rest[0] not in REVOKED_NAMES:
            raise InvalidInput(_("unknown kind of revocation"))
        return Event("revocation", at, revoked=REVOKED_NAMES[rest[0]], subject=rest[1:33],
                     serial=int.from_bytes(rest[33:41], "big"))
    return Event("padding", at)


def _check(value: bytes, length: int) -> bytes:
    if len(value) != length:
        raise InvalidInput(_("expected {length} bytes", length=length))
    return value
