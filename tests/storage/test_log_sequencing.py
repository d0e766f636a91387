"""Sequencing apart from integration in the log's SQL driver (PROTOCOL.md §11), on SQLite and PostgreSQL.

An event sequenced by a committed transaction survives a crash before integration; a rolled-back one
leaves nothing; integrating in batches of any size gives the same leaves, tiles and roots as appending
one by one (the in-memory reference tree of ``tlog.merkle``); and two integrators on two engines at
once, with events arriving meanwhile, leave no gap and no duplicate.
"""

from __future__ import annotations

import os
import random
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from consilience.crypto import signing
from consilience.protocol import events
from consilience.storage import log
from consilience.storage.database import Database
from consilience.storage.models import LogCheckpoint, LogSequenced, LogTile
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle, tiles

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


def entry_opening() -> events.Opening:
    return events.Opening.fresh(events.entry_event(os.urandom(16), os.urandom(32), NOW))


def sequence(db: Database, count: int) -> list[events.Opening]:
    openings = [entry_opening() for _ in range(count)]
    with db.write() as session:
        for opening in openings:
            log.sequence(session, opening, NOW, entry_id=opening.event[1:17])
    return openings


def stored_tiles(db: Database) -> dict[tuple[int, int], bytes]:
    with db.read() as session:
        return {(t.level, t.idx): t.hashes for t in session.scalars(select(LogTile))}


def reference_tiles(tree: merkle.MemoryTree) -> dict[tuple[int, int], bytes]:
    """Every stored tile of the tree, each at its width in the tree (the partial ones as wide as they are now)."""
    return tiles.stored_tiles_of(tree)


def test_a_sequenced_event_survives_a_crash_before_integration(database_url: str, db: Database) -> None:
    [opening] = sequence(db, 1)
    db.dispose()  # the process is gone; only what was committed remains
    again = Database(database_url)
    try:
        with again.read() as session:
            assert log.size(session) == 0 and log.sequenced_count(session) == 1
            assert log.is_sequenced(session, opening.event[1:17])
        with again.write() as session:
            appended = log.integrate(session, NOW)
        with again.read() as session:
            [leaf] = log.leaves(session)
            assert (leaf.index, leaf.data, leaf.opening) == (0, opening.leaf, opening.encoded)
            assert log.sequenced_count(session) == 0 and not log.is_sequenced(session, opening.event[1:17])
        assert appended.root == merkle.root_of([merkle.leaf_hash(opening.leaf)])
    finally:
        again.dispose()


def test_a_refused_request_leaves_no_sequenced_event(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as session:
        log.sequence(session, entry_opening(), NOW)
        raise RuntimeError("refused after sequencing: the request's transaction rolls back")
    with db.write() as session:
        assert log.sequenced_count(session) == 0
        assert log.integrate(session, NOW).size == 0


def test_batches_of_any_size_give_the_tiles_and_roots_of_one_by_one_appends(db: Database) -> None:
    rng = random.Random(15)
    tree = merkle.MemoryTree()
    # past the first tile boundaries (256 leaves, 256 level-8 nodes later), partial tiles extended and rewritten
    for batch in [1, 1, 2, 3, 8, 1, 5, 16, rng.randint(1, 40), rng.randint(1, 40), 64, 7, 300, rng.randint(1, 600), 1]:
        openings = sequence(db, batch)
        with db.write() as session:
            appended = log.integrate(session, NOW, limit=rng.choice([None, batch, 200]))
            assert (appended.start, appended.size) == (len(tree), len(tree) + batch)
        for opening in openings:
            tree.append(opening.leaf)
        assert appended.root == tree.root()
        with db.read() as session:
            assert merkle.root_hash(log.DatabaseNodes(session), appended.size) == tree.root()
    assert stored_tiles(db) == reference_tiles(tree)
    # a limit takes the oldest first and leaves the rest in order for the next batch
    first, second = sequence(db, 2)
    with db.write() as session:
        log.integrate(session, NOW, limit=1)
        assert log.sequenced_count(session) == 1
        log.integrate(session, NOW, limit=1)
        assert [leaf.data for leaf in log.leaves(session, len(tree))] == [first.leaf, second.leaf]


def test_an_append_integrates_what_was_sequenced_first(db: Database) -> None:
    """The release pass and an account's deletion append directly: never ahead of an acknowledged event."""
    sequenced = sequence(db, 3)
    padding = events.Opening.fresh(events.padding_event(NOW))
    with db.write() as session:
        index = log.append(session, padding, NOW)
    with db.read() as session:
        assert index == 3 and log.sequenced_count(session) == 0
        assert [leaf.data for leaf in log.leaves(session)] == [o.leaf for o in sequenced] + [padding.leaf]
    sequence(db, 2)
    with db.write() as session:
        real = log.append_batch(session, 4, NOW)
    with db.read() as session:
        assert real == [] and log.size(session) == 4 + 2 + 4
        kinds = [events.parse_opening(leaf.opening).event[0] for leaf in log.leaves(session, 4)]
        assert kinds[:2] == [events.ENTRY, events.ENTRY] and set(kinds[2:]) == {events.PADDING}


def test_the_core_statements_see_what_the_session_holds_unflushed(db: Database) -> None:
    """The log's statements run on the session's connection, not through the ORM: a row the caller added to
    the session and did not flush yet is flushed first, as the ORM's autoflush did, so it is seen and
    integrated; a checkpoint signed through Core is the one the session then finds, and signing the same
    size again returns it instead of a second row."""
    first, added = sequence(db, 1)[0], entry_opening()
    key = signing.generate()
    reference = merkle.MemoryTree()
    for opening in (first, added):
        reference.append(opening.leaf)
    with db.write() as session:
        session.add(LogSequenced(opening=added.encoded, entry_id=added.event[1:17], created_at=NOW))
        assert log.is_sequenced(session, added.event[1:17])
        appended = log.integrate(session, NOW)
        note = log.sign(session, "example.org/log", key, NOW, root=appended.root)
        assert log.sign(session, "example.org/log", key, NOW) == note
        stored = session.get(LogCheckpoint, 2)
        assert stored is not None and stored.note == note
    assert (appended.start, appended.size) == (0, 2)
    assert cp.parse_signed_checkpoint(note)[0].root_hash == reference.root()
    with db.read_connection() as connection:
        assert not log.is_sequenced(connection, added.event[1:17])
        assert log.latest_checkpoint(connection) == (2, note)
        leaf = log.latest_entry_leaf(connection, added.event[1:17])
        assert leaf is not None and (leaf.index, leaf.data) == (1, added.leaf)
    with db.read() as session:
        assert len(session.scalars(select(LogCheckpoint)).all()) == 1


def test_a_write_connection_commits_at_the_end_of_its_block_and_rolls_back_on_an_error(db: Database) -> None:
    """``Database.write_connection``, the submission's transaction: what it sequenced is durable once the block
    ended normally, and nothing of a block that raised is left."""
    kept, refused = entry_opening(), entry_opening()
    with db.write_connection() as connection:
        log.sequence(connection, kept, NOW, entry_id=kept.event[1:17])
    with pytest.raises(RuntimeError), db.write_connection() as connection:
        log.sequence(connection, refused, NOW, entry_id=refused.event[1:17])
        raise RuntimeError("refused after sequencing")
    with db.read_connection() as connection:
        assert log.is_sequenced(connection, kept.event[1:17])
        assert not log.is_sequenced(connection, refused.event[1:17])


def test_two_integrators_at_once_leave_no_gap_and_no_duplicate(database_url: str, db: Database) -> None:
    other = Database(database_url)
    stop = threading.Event()
    errors: list[BaseException] = []
    sent: list[events.Opening] = []

    def integrate(database: Database) -> None:
        try:
            while not stop.is_set():
                with database.write() as session:
                    log.integrate(session, NOW, limit=7)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=integrate, args=(d,)) for d in (db, other)]
    for t in threads:
        t.start()
    try:
        for _ in range(12):
            sent += sequence(db if len(sent) % 2 else other, 5)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    try:
        assert not errors, errors
        with db.write() as session:
            log.integrate(session, NOW)
        with db.read() as session:
            found = log.leaves(session)
        assert [leaf.index for leaf in found] == list(range(len(sent)))
        assert sorted(leaf.data for leaf in found) == sorted(o.leaf for o in sent)
        tree = merkle.MemoryTree()
        for leaf in found:
            tree.append(leaf.data)
        assert stored_tiles(db) == reference_tiles(tree)
    finally:
        other.dispose()


def test_the_answers_combined_reads_give_what_the_separate_reads_give(db: Database) -> None:
    """``entry_receipt_state`` (a submission's answer in one statement) and ``latest_cosigned_note`` against
    ``is_sequenced``/``latest_entry_leaf`` and ``latest_checkpoint``/``with_cosignatures``: before any checkpoint,
    for an unknown entry, a sequenced one, an integrated one, and with witness lines stored out of key order."""
    with db.read_connection() as connection:
        assert log.latest_cosigned_note(connection) is None
        assert log.entry_receipt_state(connection, os.urandom(16)) == (False, None, None)
    integrated, waiting = sequence(db, 2)
    key = signing.generate()
    with db.write() as session:
        log.sign(session, "example.org/log", key, NOW, root=log.integrate(session, NOW).root)
    again = events.Opening.fresh(events.withdrawal_event(integrated.event[1:17], NOW))
    with db.write() as session:
        log.sequence(session, again, NOW, entry_id=integrated.event[1:17])
    with db.read_connection() as connection:
        assert log.latest_cosigned_note(connection) == log.latest_checkpoint(connection)
        assert log.entry_receipt_state(connection, integrated.event[1:17])[:2] == (True, None)
    with db.write() as session:
        log.sign(session, "example.org/log", key, NOW, root=log.integrate(session, NOW).root)
        log.add_cosignature(session, 3, b"\x09" * 4, "— second witness\n", 1)
        log.add_cosignature(session, 3, b"\x01" * 4, "— first witness\n", 1)
    with db.read_connection() as connection:
        for opening in (integrated, waiting):
            state = log.entry_receipt_state(connection, opening.event[1:17])[:2]
            assert state == (False, log.latest_entry_leaf(connection, opening.event[1:17]))
        assert state[1] is not None and state[1].index == 1 and state[1].data == waiting.leaf
        assert log.entry_receipt_state(connection, integrated.event[1:17])[1].index == 2  # type: ignore[union-attr]
        head = log.latest_checkpoint(connection)
        assert head is not None and head[0] == 3
        cosigned = log.latest_cosigned_note(connection)
        assert cosigned == (3, log.with_cosignatures(connection, 3, head[1]))
        assert cosigned[1].endswith("— first witness\n— second witness\n")
