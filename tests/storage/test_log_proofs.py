"""Proofs and roots from the stored log, on SQLite and PostgreSQL: the same as the reference tree's, and one
SQL statement each whatever the size (the nodes a proof needs are listed first, then read together)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from consilience.errors import InvalidInput
from consilience.protocol import events
from consilience.storage import log
from consilience.storage.database import Database
from consilience.tlog import merkle

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
