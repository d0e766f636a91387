"""The log's tree as C2SP tlog-tiles (``log_tiles``), and leaves that keep only their opening (PROTOCOL.md §11).

At 10^7 leaves the log took 362 bytes per leaf: a row per perfect node (``log_nodes``, 94 B a leaf, and
32 B more for its key index), the commitment stored beside the opening it is the hash of, a creation
time the event already carries, a separate key index for ``log_leaves`` on SQLite, and two indexes
holding a NULL for almost every leaf. Now a row per tile of 4 levels holds up to 16 hashes of one tree
level (about 34 B a leaf for the whole tree), the commitment is recomputed from the opening, ``idx`` is
the rowid on SQLite, and the two lookups are partial indexes.

An existing log is carried over: the tiles are the stored nodes of the tree levels 4L, in order, and
every leaf's stored commitment is checked against its opening first; if any node is missing or any
leaf is not its opening's commitment, the upgrade stops before changing anything. The downgrade
rebuilds every perfect node from the level-0 tiles and the commitments from the openings.

Revision ID: 0010
Revises: 0011 (0011 went in first, after 0009)
Create Date: 2026-12-02
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from consilience.errors import ConsilienceError
from consilience.i18n import _

revision: str = "0010"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: ``tlog.tiles.STORED_HEIGHT``: a row holds 16 hashes of tree level 4L
TILE_HEIGHT = 4
TILE_WIDTH = 16
HASH = 32
#: ``events.LEAF_LABEL``, spelt out: a migration keeps the meaning it had when written
LEAF_LABEL = b"consilience-v2 log leaf"
#: rows per INSERT while carrying a log over
CHUNK = 2000


def _commitment(opening: bytes) -> bytes:
    return hashlib.sha256(LEAF_LABEL + bytes(opening)).digest()


def _partial(column: str) -> dict[str, Any]:
    where = sa.text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


def _chunks(rows: Iterator[dict[str, object]]) -> Iterator[list[dict[str, object]]]:
    batch: list[dict[str, object]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_leaves(connection: sa.Connection) -> None:
    result = connection.execute(sa.text("SELECT idx, data, opening FROM log_leaves ORDER BY idx"),
                                execution_options={"yield_per": CHUNK})
    for expected, (idx, data, opening) in enumerate(result):
        if idx != expected:
            raise ConsilienceError(_("the log has no leaf {expected} (the next is {idx}); not migrating it",
                                     expected=expected, idx=idx))
        if bytes(data) != _commitment(opening):
            raise ConsilienceError(_("log leaf {idx} is not its opening's commitment; not migrating the log", idx=idx))


def _tile_rows(connection: sa.Connection, size: int) -> Iterator[dict[str, object]]:
    """The tiles of the stored tree of ``size`` leaves, from its nodes at levels 4L; refuses a gap."""
    level = 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)
        result = connection.execute(
            sa.text("SELECT idx, hash FROM log_nodes WHERE level = :level AND idx < :count ORDER BY idx"),
            {"level": TILE_HEIGHT * level, "count": count}, execution_options={"yield_per": CHUNK})
        hashes: list[bytes] = []
        expected = 0
        for idx, value in result:
            if idx != expected or len(value) != HASH:
                raise ConsilienceError(_("the log's node ({level}, {expected}) is not stored; not migrating the log",
                                         level=TILE_HEIGHT * level, expected=expected))
            hashes.append(bytes(value))
            expected += 1
            if len(hashes) == TILE_WIDTH:
                yield {"level": level, "idx": (expected - 1) // TILE_WIDTH, "hashes": b"".join(hashes)}
                hashes = []
        if expected != count:
            raise ConsilienceError(_("the log's node ({level}, {expected}) is not stored; not migrating the log",
                                     level=TILE_HEIGHT * level, expected=expected))
        if hashes:
            yield {"level": level, "idx": count // TILE_WIDTH, "hashes": b"".join(hashes)}
        level += 1


def upgrade() -> None:
    sqlite = context.get_context().dialect.name == "sqlite"
    tiles = op.create_table(
        "log_tiles",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(length=512), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_log_tiles")),
    )
    if not context.is_offline_mode():
        connection = op.get_bind()
        size = connection.execute(sa.text("SELECT size FROM log_head WHERE id = 1")).scalar() or 0
        _check_leaves(connection)
        for rows in _chunks(_tile_rows(connection, size)):
            connection.execute(sa.insert(tiles), rows)
    op.drop_table("log_nodes")
    op.drop_index(op.f("ix_log_leaves_entry_id"), table_name="log_leaves")
    op.drop_index(op.f("ix_log_leaves_event_hash"), table_name="log_leaves")
    # SQLite: the table is rebuilt, so idx becomes INTEGER PRIMARY KEY, the rowid (no separate key index)
    with op.batch_alter_table("log_leaves", recreate="always" if sqlite else "auto") as batch:
        batch.drop_column("data")
        batch.drop_column("created_at")
        if sqlite:
            batch.alter_column("idx", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False,
                               autoincrement=False)
    op.create_index(op.f("ix_log_leaves_entry_id"), "log_leaves", ["entry_id"], unique=False, **_partial("entry_id"))
    op.create_index(op.f("ix_log_leaves_event_hash"), "log_leaves", ["event_hash"], unique=False,
                    **_partial("event_hash"))


def _node_rows(connection: sa.Connection, size: int) -> Iterator[dict[str, object]]:
    """Every perfect node of the tree of ``size``, from the level-0 tiles (the leaf hashes)."""
    level: list[bytes] = []
    for (value,) in connection.execute(sa.text("SELECT hashes FROM log_tiles WHERE level = 0 ORDER BY idx")):
        level += [bytes(value[i:i + HASH]) for i in range(0, len(value), HASH)]
    level = level[:size]
    height = 0
    while level:
        yield from ({"level": height, "idx": i, "hash": h} for i, h in enumerate(level))
        level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        height += 1


def downgrade() -> None:
    sqlite = context.get_context().dialect.name == "sqlite"
    nodes = op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_log_nodes")),
    )
    op.drop_index(op.f("ix_log_leaves_entry_id"), table_name="log_leaves")
    op.drop_index(op.f("ix_log_leaves_event_hash"), table_name="log_leaves")
    with op.batch_alter_table("log_leaves", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("data", sa.LargeBinary(length=32), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        if sqlite:
            batch.alter_column("idx", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False,
                               autoincrement=False)
    if not context.is_offline_mode():
        connection = op.get_bind()
        size = connection.execute(sa.text("SELECT size FROM log_head WHERE id = 1")).scalar() or 0
        for rows in _chunks(_node_rows(connection, size)):
            connection.execute(sa.insert(nodes), rows)
        leaves = connection.execute(sa.text("SELECT idx, opening FROM log_leaves ORDER BY idx")).all()
        update = sa.text("UPDATE log_leaves SET data = :data, created_at = :created_at WHERE idx = :idx")
        for first in range(0, len(leaves), CHUNK):
            # the event's own time (its last 8 bytes, milliseconds): the creation time was within the batch
            connection.execute(update, [
                {"idx": idx, "data": _commitment(opening),
                 "created_at": _stored_time(datetime.fromtimestamp(int.from_bytes(opening[-8:], "big") / 1000, UTC),
                                            sqlite)}
                for idx, opening in leaves[first:first + CHUNK]])
    with op.batch_alter_table("log_leaves") as again:
        again.alter_column("data", existing_type=sa.LargeBinary(length=32), nullable=False)
        again.alter_column("created_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index(op.f("ix_log_leaves_entry_id"), "log_leaves", ["entry_id"], unique=False)
    op.create_index(op.f("ix_log_leaves_event_hash"), "log_leaves", ["event_hash"], unique=False)
    op.drop_table("log_tiles")


def _stored_time(when: datetime, sqlite: bool) -> datetime:
    """As ``models.UTCDateTime`` stores it: naive UTC on SQLite."""
    return when.replace(tzinfo=None) if sqlite else when
