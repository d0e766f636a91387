"""Proofs and roots from the stored log, on SQLite and PostgreSQL: the same as the reference tree's, and one
SQL statement each whatever the size (the nodes a proof needs are listed first, then their tiles read
together); and a log stored the way revision 0011 did is carried over to tiles unchanged."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import event

from consilience.errors import ConsilienceError, InvalidInput
from consilience.protocol import events
from consilience.storage import log
from consilience.storage import tiles as tile_store
from consilience.storage.database import Database, alembic_config, current_revision, make_engine, upgrade
from consilience.tlog import merkle, tiles

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


def grow(db: Database, tree: merkle.MemoryTree, count: int) -> None:
    openings = [events.Opening.fresh(events.entry_event(os.urandom(16), os.urandom(32), NOW)) for _ in range(count)]
    with db.write() as session:
        for opening in openings:
            log.sequence(session, opening, NOW, entry_id=opening.event[1:17])
        log.integrate(session, NOW)
    for opening in openings:
        tree.append(opening.leaf)


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement != "BEGIN":  # the read transaction's own, once
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_proofs_and_roots_equal_the_reference_tree_in_one_statement_each(db: Database) -> None:
    tree = merkle.MemoryTree()
    for count in (1, 300, 211, 513):  # across tile boundaries (256) and beyond two tiles' width
        grow(db, tree, count)
    n = len(tree)
    with db.read() as session:
        for size in (1, 255, 256, 257, 600, n):
            with statements(db) as seen:
                assert merkle.root_hash(log.nodes_for(session, merkle.root_nodes(size)), size) == tree.root(size)
            assert len(seen) <= 1
            for index in {0, 255, size // 2, size - 1}:
                if index >= size:
                    continue
                with statements(db) as seen:
                    proof = log.inclusion_proof(session, index, size)
                assert proof == merkle.inclusion_proof(tree, index, size) and len(seen) == (1 if proof else 0)
            for old in {1, 256, size // 3 or 1, size - 1}:
                if not 0 < old < size:
                    continue
                with statements(db) as seen:
                    proof = log.consistency_proof(session, old, size)
                assert proof == merkle.consistency_proof(tree, old, size) and len(seen) == 1
        with pytest.raises(InvalidInput):
            log.inclusion_proof(session, n, n)
        with pytest.raises(InvalidInput, match="not stored"):
            log.inclusion_proof(session, 0, n + 256)


def _old_layout_log(url: str, count: int) -> tuple[merkle.MemoryTree, list[events.Opening]]:
    """A log of ``count`` leaves as revision 0011 stored it: a row per perfect node, the commitment beside
    the opening, a creation time."""
    upgrade(url, "0011")
    tree = merkle.MemoryTree()
    openings = [events.Opening.fresh(events.entry_event(os.urandom(16), os.urandom(32), NOW)) for _ in range(count)]
    for opening in openings:
        tree.append(opening.leaf)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO log_leaves (idx, kind, data, opening, entry_id, created_at) "
                                       "VALUES (:idx, 1, :data, :opening, :entry_id, :created_at)"),
                               [{"idx": i, "data": o.leaf, "opening": o.encoded, "entry_id": o.event[1:17],
                                 "created_at": NOW.replace(tzinfo=None)} for i, o in enumerate(openings)])
            connection.execute(sa.text("INSERT INTO log_nodes (level, idx, hash) VALUES (:level, :idx, :hash)"),
                               [{"level": h, "idx": i, "hash": v} for h, row in enumerate(tree.levels)
                                for i, v in enumerate(row)])
            connection.execute(sa.text("UPDATE log_head SET size = :size WHERE id = 1"), {"size": count})
    finally:
        engine.dispose()
    return tree, openings


def test_an_old_layout_log_is_carried_over_with_the_same_root_proofs_and_tiles(database_url: str) -> None:
    count = 256 * 3 + 77  # full level-0 tiles, a partial one, and a partial level-1 tile
    tree, openings = _old_layout_log(database_url, count)
    upgrade(database_url)
    db = Database(database_url)
    try:
        with db.read() as session:
            assert merkle.root_hash(log.DatabaseNodes(session), count) == tree.root()
            for index in (0, 255, 256, 600, count - 1):
                assert log.inclusion_proof(session, index, count) == merkle.inclusion_proof(tree, index, count)
            assert log.consistency_proof(session, 300, count) == merkle.consistency_proof(tree, 300, count)
            for tile in tiles.tree_tiles(count):
                assert tile_store.tile_bytes(session, tile) == tiles.read_tile(tree, tile)
            for bundle in tiles.tree_bundles(count):
                first = bundle.first_node
                assert tile_store.bundle_bytes(session, bundle) == tiles.encode_bundle(
                    [o.leaf for o in openings[first:first + bundle.width]])
            assert [leaf.data for leaf in log.leaves(session)] == [o.leaf for o in openings]
            leaf = log.latest_entry_leaf(session, openings[5].event[1:17])
            assert leaf is not None and leaf.index == 5
        with db.write() as session:  # and it grows on from there like a new one
            more = [events.Opening.fresh(events.padding_event(NOW)) for _ in range(300)]
            for opening in more:
                log.sequence(session, opening, NOW)
            appended = log.integrate(session, NOW)
        for opening in more:
            tree.append(opening.leaf)
        assert appended.root == tree.root()
    finally:
        db.dispose()
    # and back: the nodes and commitments are rebuilt as 0011 kept them
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0011")
        with engine.connect() as connection:
            stored = connection.execute(sa.text("SELECT level, idx, hash FROM log_nodes"))
            nodes = {(h, i): bytes(v) for h, i, v in stored}
            data = [bytes(d) for (d,) in connection.execute(sa.text("SELECT data FROM log_leaves ORDER BY idx"))]
    finally:
        engine.dispose()
    assert nodes == {(h, i): v for h, row in enumerate(tree.levels) for i, v in enumerate(row)}
    assert data == [o.leaf for o in openings + more]


def test_an_old_layout_log_that_does_not_add_up_is_not_migrated(database_url: str) -> None:
    _old_layout_log(database_url, 10)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE log_leaves SET data = :bad WHERE idx = 3"), {"bad": bytes(32)})
    finally:
        engine.dispose()
    with pytest.raises(ConsilienceError, match="leaf 3 is not its opening's commitment"):
        upgrade(database_url)
    assert current_revision(database_url) == "0011"
