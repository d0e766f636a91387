"""The rows of the request budgets an escrow's processes share (``rate_buckets``, PROTOCOL.md §9).

A bucket is (budget, key) -> the tokens it held at ``updated_at``. The arithmetic is the services'
(``services.limits``); here are only the three statements it needs: lock a set of buckets (creating
the missing ones full), write back what was charged, and drop buckets that are full again anyway.

Locking. ``lock`` upserts each bucket in (budget, key) order, a no-op update when the row exists,
which takes the row's lock until the transaction ends (PostgreSQL), and returns it; every caller
locks in the same order, so two requests sharing budgets cannot deadlock, and a second one charging
the same bucket waits for the first one's commit and then sees what it left. SQLite's transaction
already holds the one write lock (``Database.write``). Keys arrive hashed; nothing here sees an
address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from consilience.storage.models import RateBucket

#: (budget, hashed key)
BucketId = tuple[str, bytes]

BUCKETS: Table = RateBucket.__table__  # type: ignore[assignment]


def without_waiting_for_disk(session: Session | Connection) -> None:
    """Commit this transaction without waiting for its WAL flush (PostgreSQL ``synchronous_commit``).

    A budget is not an account of anything: a crash losing the last few charges refills them a
    little early, as a restart of the in-memory store refilled all of them. Not waiting saves a
    disk flush on every request that is charged. SQLite: nothing (its budgets are not here).
    """
    if _dialect(session) == "postgresql":
        session.execute(_NO_WAIT)


def lock(session: Session | Connection, buckets: Mapping[BucketId, float],
         now: float) -> dict[BucketId, tuple[float, float]]:
    """Lock each bucket until the transaction ends: (tokens, updated_at) for each; ``buckets`` maps
    each to what it holds when it has no row yet (a full burst), as of ``now``."""
    statement = _LOCK[_dialect(session)]
    held: dict[BucketId, tuple[float, float]] = {}
    for budget, key in sorted(buckets):
        row = session.execute(statement, {"budget": budget, "key": key, "tokens": buckets[budget, key],
                                          "updated_at": now}).one()
        held[budget, key] = (float(row.tokens), float(row.updated_at))
    return held


def store(session: Session | Connection, buckets: Mapping[BucketId, float], now: float) -> None:
    """Each bucket, locked by ``lock`` in this transaction, holds these tokens as of ``now``."""
    for (budget, key), tokens in sorted(buckets.items()):
        session.execute(_STORE, {"bucket_budget": budget, "bucket_key": key, "tokens": tokens, "updated_at": now})


def read(session: Session | Connection, budget: str, key: bytes) -> tuple[float, float] | None:
    """(tokens, updated_at) of one bucket without locking it; None if it has no row (it is full)."""
    row = session.execute(_READ, {"bucket_budget": budget, "bucket_key": key}).one_or_none()
    return None if row is None else (float(row.tokens), float(row.updated_at))


def prune(session: Session, full_after: Mapping[str, float], now: float) -> int:
    """Drop every bucket of each budget untouched for longer than the budget refills from empty
    (``full_after``, seconds): it is full, which is what a missing row means. Returns how many."""
    dropped = 0
    for budget, seconds in sorted(full_after.items()):
        result = session.execute(delete(RateBucket)
                                 .where(RateBucket.budget == budget, RateBucket.updated_at < now - seconds)
                                 .execution_options(synchronize_session=False))
        dropped += int(getattr(result, "rowcount", 0) or 0)
    return dropped


def _dialect(session: Session | Connection) -> str:
    return (session.dialect if isinstance(session, Connection) else session.get_bind().dialect).name


def _lock_statement(insert: Any) -> Any:
    statement = insert(BUCKETS).on_conflict_do_update(index_elements=[BUCKETS.c.budget, BUCKETS.c.key],
                                                set_={"tokens": BUCKETS.c.tokens})
    return statement.returning(BUCKETS.c.tokens, BUCKETS.c.updated_at)


# Built once: every charged request runs them (on PostgreSQL, where the buckets live), and building a
# statement cost more than running it.
_NO_WAIT = text("SET LOCAL synchronous_commit TO OFF")
_LOCK = {"postgresql": _lock_statement(postgresql.insert), "sqlite": _lock_statement(sqlite.insert)}
_BUCKET = (BUCKETS.c.budget == bindparam("bucket_budget"), BUCKETS.c.key == bindparam("bucket_key"))
_STORE = update(BUCKETS).where(*_BUCKET)  # SET tokens, updated_at: the parameters of those names
_READ = select(BUCKETS.c.tokens, BUCKETS.c.updated_at).where(*_BUCKET)
