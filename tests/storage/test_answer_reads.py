"""The reads a submission's answer makes, merged into fewer statements, give what the separate reads give.

``log.entry_receipt_state`` is ``is_sequenced``, ``latest_entry_leaf`` and ``latest_cosigned_note`` in one
statement; ``log.sign`` with ``grown`` (the integrator's batch) reads neither the size nor an existing
checkpoint and signs what the plain call signs.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from consilience.crypto import signing
from consilience.protocol import events
from consilience.storage import log
from consilience.storage.database import Database

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ORIGIN = "example.org/log"


def _sequence(db: Database, entry_id: bytes) -> events.Opening:
    opening = events.Opening.fresh(events.entry_event(entry_id, os.urandom(32), NOW))
    with db.write() as session:
        log.sequence(session, opening, NOW, entry_id=entry_id)
    return opening


def _both(db: Database, entry_id: bytes) -> None:
    with db.read_connection() as connection:
        sequenced = log.is_sequenced(connection, entry_id)
        leaf = None if sequenced else log.latest_entry_leaf(connection, entry_id)
        assert log.entry_receipt_state(connection, entry_id) == (sequenced, leaf, log.latest_cosigned_note(connection))


def test_the_merged_answer_read_equals_the_two_reads(db: Database) -> None:
    """Before any checkpoint, for an unknown entry, a sequenced one, an integrated one, one integrated and
    sequenced again, and with witness lines stored out of key order."""
    first, second = os.urandom(16), os.urandom(16)
    _both(db, first)
    _sequence(db, first)
    _both(db, first)
    key = signing.generate()
    with db.write() as session:
        log.sign(session, ORIGIN, key, NOW, grown=log.integrate(session, NOW))
    _both(db, first)
    _both(db, os.urandom(16))
    _sequence(db, second)
    _sequence(db, first)  # its latest event is sequenced again: no receipt for the older leaf
    _both(db, first)
    _both(db, second)
    with db.write() as session:
        log.sign(session, ORIGIN, key, NOW, grown=log.integrate(session, NOW))
        log.add_cosignature(session, 3, b"\x09" * 4, "— second witness\n", 1)
        log.add_cosignature(session, 3, b"\x01" * 4, "— first witness\n", 1)
    for entry_id in (first, second):
        _both(db, entry_id)
    with db.read_connection() as connection:
        sequenced, leaf, head = log.entry_receipt_state(connection, first)
        assert not sequenced and leaf is not None and leaf.index == 2
        assert head is not None and head[0] == 3 and head[1].endswith("— first witness\n— second witness\n")


def test_signing_a_grown_tree_signs_what_the_plain_call_signs(db: Database) -> None:
    key = signing.generate()
    for entry_id in (os.urandom(16), os.urandom(16)):
        _sequence(db, entry_id)
    with db.write() as session:
        grown = log.integrate(session, NOW)
        note = log.sign(session, ORIGIN, key, NOW, grown=grown)
        assert log.sign(session, ORIGIN, key, NOW) == note  # once per size: the stored one
    with db.read_connection() as connection:
        assert log.latest_checkpoint(connection) == (2, note)
    with db.write() as session:
        nothing = log.integrate(session, NOW)  # nothing sequenced: the tree did not grow
        assert nothing.size == nothing.start == 2
        assert log.sign(session, ORIGIN, key, NOW, grown=nothing) == note
