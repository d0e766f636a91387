"""The transparency log in the escrow database (PROTOCOL.md §11): the SQL driver beneath
``consilience.tlog``, whose ``merkle.NodeReader`` seam ``DatabaseNodes`` implements.

Appends happen inside the transaction that records the event, so a leaf
exists exactly when its event was committed: an acknowledged entry always
has its leaf, and a rolled-back request leaves none. Events that must not be
tied to any one request (releases, openings) wait in ``log_pending`` for the
escrow's release pass, which logs them in fixed-size padded batches. Each
leaf's data is a commitment (``protocol/events.py``) and its opening is kept
beside it, for the receipt of whom it concerns. Every complete subtree
hash is stored on append (``merkle.perfect_nodes_to_store_on_append``), so
roots and proofs need O(log n) reads whatever the size of the log.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from consilience.errors import InvalidInput
from consilience.protocol import events
from consilience.storage.models import LogCheckpoint, LogCosignature, LogHead, LogLeaf, LogNode, LogPending
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle


class DatabaseNodes:
    """``merkle.NodeReader`` over ``log_nodes``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def node(self, level: int, index: int) -> bytes:
        value = self.session.scalar(select(LogNode.hash).where(LogNode.level == level, LogNode.idx == index))
        if value is None:
            raise InvalidInput(f"log node ({level}, {index}) is not stored")
        return value

    def subtree_hash(self, start: int, end: int) -> bytes:
        return self.node(*merkle.node_coordinates(start, end))


def size(session: Session, *, lock: bool = False) -> int:
    query = select(LogHead.size).where(LogHead.id == 1)
    return session.scalar(query.with_for_update() if lock else query) or 0


def append(session: Session, opening: events.Opening, now: datetime, *, entry_id: bytes | None = None) -> int:
    """Add the leaf committing to ``opening``; returns its index. Locks the log head until commit."""
    index = size(session, lock=True)
    nodes = DatabaseNodes(session)
    data = opening.leaf
    leaf = merkle.leaf_hash(data)
    complete = merkle.perfect_nodes_to_store_on_append(index, leaf, nodes.node)
    # an opening's leaf is found again by its event (``match_openings.event``): who read an entry (§13.6)
    event_hash = hashlib.sha256(opening.event).digest() if opening.event[0] == events.OPENING else None
    session.add(LogLeaf(idx=index, kind=opening.event[0], data=data, opening=opening.encoded, entry_id=entry_id,
                        created_at=now, event_hash=event_hash))
    session.add_all(LogNode(level=n.level, idx=n.index, hash=n.hash) for n in complete)
    session.execute(update(LogHead).where(LogHead.id == 1).values(size=index + 1))
    session.flush()
    return index


def sign(session: Session, origin: str, log_private_key: bytes, now: datetime) -> str:
    """Sign a checkpoint at the current size (once per size) and return the note."""
    n = size(session)
    existing = session.get(LogCheckpoint, n)
    if existing is not None:
        return existing.note
    root = merkle.root_hash(DatabaseNodes(session), n) if n else merkle.root_of([])
    note = cp.sign_checkpoint(cp.Checkpoint(origin, n, root), log_private_key)
    session.add(LogCheckpoint(size=n, note=note, created_at=now))
    session.flush()
    return note


@dataclass(frozen=True)
class Leaf:
    index: int
    kind: int
    data: bytes
    #: nonce ‖ event (``events.parse_opening``)
    opening: bytes


def _leaf(row: LogLeaf) -> Leaf:
    return Leaf(row.idx, row.kind, row.data, row.opening)


def latest_entry_leaf(session: Session, entry_id: bytes) -> Leaf | None:
    row = session.scalars(select(LogLeaf).where(LogLeaf.entry_id == entry_id)
                          .order_by(LogLeaf.idx.desc()).limit(1)).first()
    return None if row is None else _leaf(row)


def event_leaf(session: Session, event: bytes) -> Leaf | None:
    """The leaf of a deferred opening event once a release pass logged it (None until then)."""
    row = session.scalars(select(LogLeaf).where(LogLeaf.event_hash == hashlib.sha256(event).digest())
                          .order_by(LogLeaf.idx).limit(1)).first()
    return None if row is None else _leaf(row)


def entry_leaves(session: Session, entry_id: bytes) -> list[Leaf]:
    rows = session.scalars(select(LogLeaf).where(LogLeaf.entry_id == entry_id).order_by(LogLeaf.idx))
    return [_leaf(r) for r in rows]


def leaves(session: Session, start: int = 0, end: int | None = None) -> list[Leaf]:
    """Leaves ``start`` ≤ idx < ``end`` in order (audits and tests)."""
    query = select(LogLeaf).where(LogLeaf.idx >= start).order_by(LogLeaf.idx)
    if end is not None:
        query = query.where(LogLeaf.idx < end)
    return [_leaf(r) for r in session.scalars(query)]


def defer(session: Session, event: bytes, now: datetime) -> None:
    """Queue an event for the next release pass (``append_batch``)."""
    events.parse_event(event)
    session.add(LogPending(event=event, created_at=now))
    session.flush()


def pending_count(session: Session) -> int:
    return len(session.scalars(select(LogPending.id)).all())


def append_batch(session: Session, batch_size: int, now: datetime) -> list[int]:
    """Log the oldest ``batch_size`` queued events, padded with padding events to exactly ``batch_size`` leaves.

    The log grows by the same amount whatever was queued (nothing, a release, an opening, or more
    than fit, which wait for the next batch). Returns the indices of the leaves of real events.
    """
    if batch_size < 1:
        raise InvalidInput("a log batch holds at least one leaf")
    queued = session.scalars(select(LogPending).order_by(LogPending.id).limit(batch_size)
                             .with_for_update()).all()
    openings = [events.Opening.fresh(p.event) for p in queued]
    openings += [events.Opening.fresh(events.padding_event(now)) for _ in range(batch_size - len(openings))]
    random.SystemRandom().shuffle(openings)  # leaves hide their kind anyway; their place in a batch does too
    for row in queued:
        session.delete(row)
    session.flush()
    return [index for index, opening in ((append(session, o, now), o) for o in openings)
            if opening.event[0] != events.PADDING]


def latest_checkpoint(session: Session) -> tuple[int, str] | None:
    row = session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1)).first()
    return None if row is None else (row.size, row.note)


def checkpoint_note(session: Session, tree_size: int) -> str | None:
    row = session.get(LogCheckpoint, tree_size)
    return None if row is None else row.note


def with_cosignatures(session: Session, tree_size: int, note: str) -> str:
    """The note with the stored witness lines appended (C2SP allows extra signature lines)."""
    lines = session.scalars(select(LogCosignature.line).where(LogCosignature.size == tree_size)
                            .order_by(LogCosignature.key_id)).all()
    return note + "".join(lines)


def latest_cosigned_checkpoint(session: Session, key_ids: Iterable[bytes]) -> tuple[int, str] | None:
    """The newest checkpoint carrying a cosignature by one of ``key_ids`` (the witnesses listed now).

    A witness removed from the deployment document no longer counts, so its old lines are skipped.
    """
    wanted = list(key_ids)
    if not wanted:
        return None
    size = session.scalar(select(LogCosignature.size).where(LogCosignature.key_id.in_(wanted))
                          .order_by(LogCosignature.size.desc()).limit(1))
    if size is None:
        return None
    note = checkpoint_note(session, size)
    return None if note is None else (size, note)


def add_cosignature(session: Session, tree_size: int, key_id: bytes, line: str, timestamp: int) -> None:
    if session.get(LogCheckpoint, tree_size) is None:
        raise InvalidInput(f"the log signed no checkpoint of size {tree_size}")
    existing = session.get(LogCosignature, (tree_size, key_id))
    if existing is None:
        session.add(LogCosignature(size=tree_size, key_id=key_id, line=line, timestamp=timestamp))
    elif existing.timestamp < timestamp:
        existing.line, existing.timestamp = line, timestamp
    session.flush()


def inclusion_proof(session: Session, index: int, tree_size: int) -> list[bytes]:
    return merkle.inclusion_proof(DatabaseNodes(session), index, tree_size)


def consistency_proof(session: Session, old: int, new: int) -> list[bytes]:
    return merkle.consistency_proof(DatabaseNodes(session), old, new)
