"""The transparency log in the escrow database (PROTOCOL.md §11): the SQL driver beneath
``consilience.tlog``, whose ``merkle.NodeReader`` seam ``DatabaseNodes`` implements.

Sequencing apart from integration. A reporter's event is *sequenced* inside the transaction that
records it (``sequence``: one row in ``log_sequenced``, no lock on the log, no signature), so it
commits or rolls back with the event: an acknowledged event is never lost, a refused one is never
logged. The *integrator* (``integrate``) moves sequenced events into the tree in order, in batches,
in one transaction each: it locks ``log_head``, reads the tree's right edge (one partial tile per
tile level, which hold its frontier), computes every leaf and newly complete node of the batch in
memory, writes the leaves and the tiles they extend with one multi-row INSERT per table, and deletes
the rows it integrated; its caller
signs one checkpoint for the batch. Every other append (``append``, ``append_batch``) integrates
what is sequenced first, so an event's leaf always comes after the leaves of every event
acknowledged before it was appended (the order PROTOCOL.md §14.4 relies on).

Events that must not be tied to any one request (releases, openings) wait in ``log_pending`` for the
escrow's release pass, which logs them in fixed-size padded batches. Each leaf's data is a
commitment (``protocol/events.py``) to its opening, which is what is stored, for the receipt of whom
it concerns; the commitment is recomputed from it (one SHA-256) when needed. The tree is stored as
tiles of 4 levels (``log_tiles``: a row of up to 16 hashes of tree level 4L per tile,
``tlog/tiles.py``'s ``STORED_HEIGHT``); a C2SP tile that ``/v2/log/tiles`` serves is 16 of them side
by side, and any other perfect node is computed from the hashes of one row. A root or a proof lists
the nodes it needs (``merkle.inclusion_nodes`` …) and reads their tiles in one statement, whatever
the size of the log.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, TextClause, bindparam, delete, insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.protocol import events
from consilience.storage.models import (
    LogCheckpoint,
    LogCosignature,
    LogHead,
    LogLeaf,
    LogPending,
    LogSequenced,
    LogTile,
)
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle, tiles

LEAVES: Table = LogLeaf.__table__  # type: ignore[assignment]
TILES: Table = LogTile.__table__  # type: ignore[assignment]
CHECKPOINTS: Table = LogCheckpoint.__table__  # type: ignore[assignment]
COSIGNATURES: Table = LogCosignature.__table__  # type: ignore[assignment]
HEAD: Table = LogHead.__table__  # type: ignore[assignment]
SEQUENCED: Table = LogSequenced.__table__  # type: ignore[assignment]


def _connection(session: Session | Connection) -> Connection:
    """The transaction's connection, for this module's Core statements (built once, below): every
    submission sequences an event and reads its receipt, and the integrator runs for every batch, and
    the ORM's execution path (unit of work, identity map, statement coercion) cost more than the
    statements. What the session holds unflushed is flushed first, as the ORM's autoflush did, so a
    statement here sees, and comes after, whatever the caller wrote through the session."""
    if isinstance(session, Connection):
        return session
    session.flush()
    return session.connection()


class DatabaseNodes:
    """``merkle.NodeReader`` over ``log_tiles``, one tile read per node (tests and one-off reads; proofs
    and roots read every tile they need at once, ``nodes_for``)."""

    def __init__(self, session: Session | Connection) -> None:
        self.session = session

    def node(self, level: int, index: int) -> bytes:
        return tiles.StoredTiles(read_tiles(self.session, tiles.tiles_holding([(level, index)]))).node(level, index)

    def subtree_hash(self, start: int, end: int) -> bytes:
        return self.node(*merkle.node_coordinates(start, end))


_SIZE = select(HEAD.c.size).where(HEAD.c.id == 1)
_SIZE_LOCKED = _SIZE.with_for_update()
_SET_SIZE = update(HEAD).where(HEAD.c.id == 1).values(size=bindparam("new_size"))


def size(session: Session | Connection, *, lock: bool = False) -> int:
    return _connection(session).execute(_SIZE_LOCKED if lock else _SIZE).scalar() or 0


def append(session: Session, opening: events.Opening, now: datetime, *, entry_id: bytes | None = None) -> int:
    """Add the leaf committing to ``opening`` after every sequenced event; returns its index.

    Locks the log head until commit. The events sequenced before this call are integrated first
    (``integrate``), so none of them ends up after this leaf.
    """
    integrate(session, now)  # which locks the log head first
    return _write(session, [(opening, entry_id)]).start


@dataclass(frozen=True)
class Appended:
    """What one write to the tree added: leaves ``start`` ≤ idx < ``size``, and the root at ``size``."""

    start: int
    size: int
    root: bytes


def frontier(tree_size: int) -> list[tuple[int, int]]:
    """The perfect nodes ``(level, index)`` whose spans tile ``[0, tree_size)``, the largest first.

    They are all an append needs: appending leaf ``n`` combines it with nodes ``(h, (n >> h) - 1)``
    for the low one bits ``h`` of ``n`` (``merkle.left_siblings_needed``), each of which is one of
    these, or a node the same batch completed before.
    """
    return [(h, (tree_size >> h) - 1) for h in reversed(range(tree_size.bit_length())) if tree_size >> h & 1]


def read_tiles(session: Session | Connection, wanted: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored tiles ``wanted`` (``(tile level, tile index)``) in one statement; absent ones are left out.

    A proof or a root needs O(log n) nodes, which lie in at most one stored tile per tile level (six at
    10^7 leaves) plus the right edge's; one SELECT each made the statements, not the hashing, the cost
    of a proof. The condition is an OR of key equalities, which both SQLite (its multi-index OR) and
    PostgreSQL (a bitmap OR) answer from the primary key; SQLite scans the whole table for a row-value
    ``IN (VALUES …)`` instead.
    """
    if not wanted:
        return {}
    params = {f"{name}{k}": value for k, pair in enumerate(wanted) for name, value in zip("li", pair, strict=True)}
    return {(level, index): bytes(value) for level, index, value
            in _connection(session).execute(_tiles_statement(len(wanted)), params)}


def _tile_condition(count: int) -> str:
    return " OR ".join(f"(level = :l{k} AND idx = :i{k})" for k in range(count))


@functools.lru_cache(maxsize=64)
def _tiles_statement(count: int) -> TextualSelect:
    """The SELECT of ``count`` tiles, built once per count: building the OR as SQLAlchemy expressions cost
    several times the query itself."""
    return text(f"SELECT level, idx, hashes FROM log_tiles WHERE {_tile_condition(count)}").columns(
        TILES.c.level, TILES.c.idx, TILES.c.hashes)


@functools.lru_cache(maxsize=16)
def _delete_tiles_statement(count: int) -> TextClause:
    return text(f"DELETE FROM log_tiles WHERE {_tile_condition(count)}")


def nodes_for(session: Session | Connection, wanted: list[tuple[int, int]]) -> tiles.StoredTiles:
    """A ``merkle.NodeReader`` holding the tiles of nodes ``wanted`` (``merkle.inclusion_nodes`` …), read in
    one statement."""
    return tiles.StoredTiles(read_tiles(session, tiles.tiles_holding(wanted)))


def _write(session: Session | Connection, items: list[tuple[events.Opening, bytes | None]], *,
           start: int | None = None) -> Appended:
    """Append ``items`` in order at the end of the tree: one INSERT of the leaves, one of the tiles.

    The caller holds the log head (``size(lock=True)``). The frontier is computed from the right edge's
    partial tiles, read in one statement, and every new node in memory from it, so a batch costs one
    read whatever its length. The partial tiles it extends are rewritten (deleted and inserted again
    with the new hashes after the old ones), in the same transaction.
    """
    connection = _connection(session)
    if start is None:  # else the caller read it under the lock in this transaction
        start = size(connection)
    edge = read_tiles(connection, tiles.right_edge_tiles(start))
    edge_reader = tiles.StoredTiles(edge)
    known = {node: edge_reader.node(*node) for node in frontier(start)}
    leaf_rows: list[dict[str, Any]] = []
    new_hashes: dict[int, list[bytes]] = {}  # stored tile level L -> the new hashes of tree level 4L, in order
    for offset, (opening, entry_id) in enumerate(items):
        index = start + offset
        # an opening's leaf is found again by its event (``match_openings.event``): who read an entry (§13.6)
        event_hash = hashlib.sha256(opening.event).digest() if opening.event[0] == events.OPENING else None
        leaf_rows.append({"idx": index, "kind": opening.event[0], "opening": opening.encoded,
                          "entry_id": entry_id, "event_hash": event_hash})
        for node in merkle.perfect_nodes_to_store_on_append(index, merkle.leaf_hash(opening.leaf),
                                                            lambda level, i: known[(level, i)]):
            known[(node.level, node.index)] = node.hash
            if node.level % tiles.STORED_HEIGHT == 0:
                new_hashes.setdefault(node.level // tiles.STORED_HEIGHT, []).append(node.hash)
    end = start + len(items)
    if items:
        rewritten, tile_rows = [], []
        for tile_level, hashes in new_hashes.items():
            first = start >> (tiles.STORED_HEIGHT * tile_level)  # the first new hash's index at its tree level
            tile_index = first // tiles.STORED_WIDTH
            held = edge.get((tile_level, tile_index), b"")
            if len(held) != (first % tiles.STORED_WIDTH) * merkle.HASH_SIZE:
                raise InvalidInput(_("the log's tile ({tile_level}, {tile_index}) does not end at its tree's edge",
                                     tile_level=tile_level, tile_index=tile_index))
            if held:
                rewritten.append((tile_level, tile_index))
            data = held + b"".join(hashes)
            step = tiles.STORED_WIDTH * merkle.HASH_SIZE
            tile_rows += [{"level": tile_level, "idx": tile_index + k // step, "hashes": data[k:k + step]}
                          for k in range(0, len(data), step)]
        if rewritten:
            connection.execute(_delete_tiles_statement(len(rewritten)),
                            {f"{name}{k}": value for k, pair in enumerate(rewritten)
                             for name, value in zip("li", pair, strict=True)})
        _insert_rows(connection, LEAVES, leaf_rows)
        _insert_rows(connection, TILES, tile_rows)
        connection.execute(_SET_SIZE, {"new_size": end})
    return Appended(start, end, merkle.root_hash(merkle.HeldNodes(known), end))


#: PostgreSQL: a whole batch of rows in one statement, as one array per column (``unnest``): no statement
#: text that grows with the batch, and one round trip
_UNNEST_LEAVES = text(
    "INSERT INTO log_leaves (idx, kind, opening, entry_id, event_hash) "
    "SELECT * FROM unnest(CAST(:idx AS bigint[]), CAST(:kind AS integer[]), "
    "CAST(:opening AS bytea[]), CAST(:entry_id AS bytea[]), CAST(:event_hash AS bytea[]))")
_UNNEST_TILES = text(
    "INSERT INTO log_tiles (level, idx, hashes) "
    "SELECT * FROM unnest(CAST(:level AS integer[]), CAST(:idx AS bigint[]), CAST(:hashes AS bytea[]))")
_COLUMNS = {"log_leaves": ("idx", "kind", "opening", "entry_id", "event_hash"), "log_tiles": ("level", "idx", "hashes")}
_INSERTS = {"log_leaves": insert(LEAVES), "log_tiles": insert(TILES)}


def _insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """All of ``rows`` in one round trip: an INSERT of arrays on PostgreSQL (a DBAPI executemany there is
    one statement per row), SQLite's own executemany in process; no ORM bookkeeping per object."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(_INSERTS[table.name], rows)
        return
    statement = _UNNEST_LEAVES if table is LEAVES else _UNNEST_TILES
    connection.execute(statement, {c: [r[c] for r in rows] for c in _COLUMNS[table.name]})


#: ids per DELETE of integrated rows (PostgreSQL takes at most 65535 parameters in a statement)
DELETE_CHUNK = 5000

_SEQUENCE = insert(SEQUENCED).returning(SEQUENCED.c.id)
_IS_SEQUENCED = select(SEQUENCED.c.id).where(SEQUENCED.c.entry_id == bindparam("entry_id")).limit(1)
_SEQUENCED_ROWS = select(SEQUENCED.c.id, SEQUENCED.c.opening, SEQUENCED.c.entry_id).order_by(SEQUENCED.c.id)
_SEQUENCED_FIRST = _SEQUENCED_ROWS.limit(bindparam("limit"))
_DELETE_SEQUENCED = delete(SEQUENCED).where(SEQUENCED.c.id.in_(bindparam("ids", expanding=True)))


def sequence(session: Session | Connection, opening: events.Opening, now: datetime, *,
             entry_id: bytes | None = None) -> int:
    """Record ``opening`` for the next integration, in the caller's transaction; returns its sequence number.

    No lock on the log and no signature: the request pays one INSERT. The nonce is already drawn, so
    the leaf the integrator appends is fixed now.
    """
    events.parse_event(opening.event)
    return int(_connection(session).execute(
        _SEQUENCE, {"opening": opening.encoded, "entry_id": entry_id, "created_at": now}).scalar_one())


def is_sequenced(session: Session | Connection, entry_id: bytes) -> bool:
    """Whether an event of this entry waits for integration (its receipt is not ready yet)."""
    return _connection(session).execute(_IS_SEQUENCED, {"entry_id": entry_id}).first() is not None


def sequenced_count(session: Session) -> int:
    return len(session.scalars(select(LogSequenced.id)).all())


def integrate(session: Session | Connection, now: datetime, limit: int | None = None) -> Appended:
    """Move the oldest ``limit`` (default: all) sequenced events into the tree, in order; one transaction.

    Locks the log head first, so two integrators (two processes, or the integrator and the release
    pass) take turns: the second one then reads what is still sequenced after the first one's commit,
    and no event is appended twice or skipped. The caller signs the batch's one checkpoint
    (``sign(..., root=appended.root)``).
    """
    if limit is not None and limit < 1:
        raise InvalidInput(_("an integration batch holds at least one event"))
    connection = _connection(session)
    start = size(connection, lock=True)
    rows = (connection.execute(_SEQUENCED_ROWS) if limit is None
            else connection.execute(_SEQUENCED_FIRST, {"limit": limit})).all()
    # checked when sequenced (``sequence``): split, not parsed again
    appended = _write(connection, [(events.Opening(opening[:events.NONCE_BYTES], opening[events.NONCE_BYTES:]),
                                 entry_id) for _row, opening, entry_id in rows], start=start)
    # by id, never by range: on PostgreSQL a smaller id may commit after a larger one and is not ours yet
    ids = [r[0] for r in rows]
    for first in range(0, len(ids), DELETE_CHUNK):
        connection.execute(_DELETE_SEQUENCED, {"ids": ids[first:first + DELETE_CHUNK]})
    return appended


def sign(session: Session | Connection, origin: str, log_private_key: bytes, now: datetime, *,
         root: bytes | None = None, grown: Appended | None = None) -> str:
    """Sign a checkpoint at the current size (once per size) and return the note.

    ``root``: the root at the current size when the caller has it (``Appended.root``), saving the reads.
    ``grown``: what this transaction just appended (``integrate``, under the head's lock, with leaves
    added): its size is the current one, and no checkpoint of that size can exist yet, since the tree
    only grows; so neither is read (the integrator's every batch). A checkpoint of the size signed
    twice would still be refused by its primary key, and the transaction with it.
    """
    connection = _connection(session)
    if grown is not None and grown.size > grown.start:
        n, root = grown.size, grown.root
    else:
        n = size(connection)
        existing = connection.execute(_CHECKPOINT_NOTE, {"size": n}).scalar()
        if existing is not None:
            return str(existing)
    if root is None:
        root = merkle.root_hash(nodes_for(connection, merkle.root_nodes(n)), n)
    note = cp.sign_checkpoint(cp.Checkpoint(origin, n, root), log_private_key)
    connection.execute(_INSERT_CHECKPOINT, {"size": n, "note": note, "created_at": now})
    return note


_CHECKPOINT_NOTE = select(CHECKPOINTS.c.note).where(CHECKPOINTS.c.size == bindparam("size"))
_INSERT_CHECKPOINT = insert(CHECKPOINTS)


@dataclass(frozen=True)
class Leaf:
    index: int
    kind: int
    data: bytes
    #: nonce ‖ event (``events.parse_opening``)
    opening: bytes


def _leaf(row: LogLeaf) -> Leaf:
    return Leaf(row.idx, row.kind, row.data, row.opening)


_LATEST_ENTRY_LEAF = (select(LEAVES.c.idx, LEAVES.c.kind, LEAVES.c.opening)
                      .where(LEAVES.c.entry_id == bindparam("entry_id")).order_by(LEAVES.c.idx.desc()).limit(1))
_LATEST_CHECKPOINT = select(CHECKPOINTS.c.size, CHECKPOINTS.c.note).order_by(CHECKPOINTS.c.size.desc()).limit(1)
_COSIGNATURE_LINES = (select(COSIGNATURES.c.line).where(COSIGNATURES.c.size == bindparam("size"))
                      .order_by(COSIGNATURES.c.key_id))


def latest_entry_leaf(session: Session | Connection, entry_id: bytes) -> Leaf | None:
    """The entry's newest leaf (its latest event, once integrated): a receipt by entry id runs this, the newest
    checkpoint and its cosignatures, and the proof's one read, each a Core statement (``_connection``)."""
    row = _connection(session).execute(_LATEST_ENTRY_LEAF, {"entry_id": entry_id}).first()
    return None if row is None else Leaf(row.idx, row.kind, events.commitment_of(row.opening), bytes(row.opening))


#: The newest checkpoint with its witness lines (``with_cosignatures``), one row per line, in one statement
_LATEST_COSIGNED = text(
    "SELECT c.size, c.note, w.line FROM (SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1) AS c "
    "LEFT JOIN log_cosignatures AS w ON w.size = c.size ORDER BY w.key_id").columns(
    CHECKPOINTS.c.size, CHECKPOINTS.c.note, COSIGNATURES.c.line)


#: The answer to a submission, in one statement: whether the entry's latest event is still sequenced, else its
#: newest leaf (NULL columns when it has none yet), on every row; and ``_LATEST_COSIGNED`` beside it, one row
#: per witness line of the newest checkpoint (one row whatever there is)
_ENTRY_RECEIPT_STATE = text(
    "SELECT st.sequenced, st.idx, st.kind, st.opening, c.size, c.note, w.line FROM ("
    "SELECT (SELECT s.id FROM log_sequenced AS s WHERE s.entry_id = :entry_id LIMIT 1) AS sequenced, "
    "l.idx, l.kind, l.opening FROM (SELECT 1 AS one) AS o LEFT JOIN "
    "(SELECT idx, kind, opening FROM log_leaves WHERE entry_id = :entry_id ORDER BY idx DESC LIMIT 1) AS l "
    "ON 1 = 1) AS st "
    "LEFT JOIN (SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1) AS c ON 1 = 1 "
    "LEFT JOIN log_cosignatures AS w ON w.size = c.size ORDER BY w.key_id").columns(
    SEQUENCED.c.id.label("sequenced"), LEAVES.c.idx, LEAVES.c.kind, LEAVES.c.opening,
    CHECKPOINTS.c.size, CHECKPOINTS.c.note, COSIGNATURES.c.line)


def entry_receipt_state(session: Session | Connection,
                        entry_id: bytes) -> tuple[bool, Leaf | None, tuple[int, str] | None]:
    """``is_sequenced``, when not ``latest_entry_leaf``, and ``latest_cosigned_note``, in one statement: every
    submission's answer reads all three, and a round trip to the database cost more than any of them."""
    rows = _connection(session).execute(_ENTRY_RECEIPT_STATE, {"entry_id": entry_id}).all()
    first = rows[0]
    head = _cosigned(rows)
    if first.sequenced is not None:
        return True, None, head
    if first.idx is None:
        return False, None, head
    return False, Leaf(first.idx, first.kind, events.commitment_of(first.opening), bytes(first.opening)), head


def latest_cosigned_note(session: Session | Connection) -> tuple[int, str] | None:
    """``latest_checkpoint`` with ``with_cosignatures`` applied to it, in one statement."""
    return _cosigned(_connection(session).execute(_LATEST_COSIGNED).all())


def _cosigned(rows: Sequence[Row[Any]]) -> tuple[int, str] | None:
    """(size, note with its witness lines) of ``_LATEST_COSIGNED``'s rows; None before any checkpoint."""
    if not rows or rows[0].size is None:
        return None
    return rows[0].size, rows[0].note + "".join(r.line for r in rows if r.line is not None)


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
    than fit, which wait for the next batch). Every sequenced event is integrated first, so each
    event acknowledged before this call has its leaf before the batch's. Returns the indices of the
    leaves of real events.
    """
    if batch_size < 1:
        raise InvalidInput(_("a log batch holds at least one leaf"))
    integrate(session, now)  # which locks the log head first
    queued = session.scalars(select(LogPending).order_by(LogPending.id).limit(batch_size)
                             .with_for_update()).all()
    openings = [events.Opening.fresh(p.event) for p in queued]
    openings += [events.Opening.fresh(events.padding_event(now)) for _i in range(batch_size - len(openings))]
    random.SystemRandom().shuffle(openings)  # leaves hide their kind anyway; their place in a batch does too
    for row in queued:
        session.delete(row)
    session.flush()
    start = _write(session, [(o, None) for o in openings]).start
    return [start + i for i, opening in enumerate(openings) if opening.event[0] != events.PADDING]


def latest_checkpoint(session: Session | Connection) -> tuple[int, str] | None:
    row = _connection(session).execute(_LATEST_CHECKPOINT).first()
    return None if row is None else (row.size, row.note)


def checkpoint_note(session: Session, tree_size: int) -> str | None:
    row = session.get(LogCheckpoint, tree_size)
    return None if row is None else row.note


def with_cosignatures(session: Session | Connection, tree_size: int, note: str) -> str:
    """The note with the stored witness lines appended (C2SP allows extra signature lines)."""
    lines = _connection(session).execute(_COSIGNATURE_LINES, {"size": tree_size}).scalars().all()
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
        raise InvalidInput(_("the log signed no checkpoint of size {tree_size}", tree_size=tree_size))
    existing = session.get(LogCosignature, (tree_size, key_id))
    if existing is None:
        session.add(LogCosignature(size=tree_size, key_id=key_id, line=line, timestamp=timestamp))
    elif existing.timestamp < timestamp:
        existing.line, existing.timestamp = line, timestamp
    session.flush()


def inclusion_proof(session: Session, index: int, tree_size: int) -> list[bytes]:
    """One statement whatever the size: the nodes are listed first (``merkle.inclusion_nodes``), then read."""
    return merkle.inclusion_proof(nodes_for(session, merkle.inclusion_nodes(index, tree_size)), index, tree_size)


def consistency_proof(session: Session, old: int, new: int) -> list[bytes]:
    return merkle.consistency_proof(nodes_for(session, merkle.consistency_nodes(old, new)), old, new)
