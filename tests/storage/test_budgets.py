"""Request budgets in the escrow database (issue 15): shared, atomic, all or nothing, pruned.

``DatabaseStore`` is what an escrow on PostgreSQL charges its budgets to, so that several processes
spend one budget; it is exercised here on both databases (its SQL is dialect-neutral), with a
clock the test moves. ``exclusive`` is the lock that keeps two release passes apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

import pg_cluster
from consilience.services.escrow.limits import PRUNE_SECONDS, DatabaseStore
from consilience.services.http_errors import Refusal
from consilience.services.limits import Budgets, Charge, Rate, RateLimits
from consilience.storage.database import Database, exclusive, upgrade
from consilience.storage.models import RateBucket

SECRET = b"\x01" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def budgets(db: Database, clock: Clock, **rates: Rate) -> Budgets:
    from dataclasses import field, make_dataclass

    cls = make_dataclass("Limits", [(name, Rate, field(default=rate)) for name, rate in rates.items()],
                         bases=(RateLimits,), frozen=True)
    return Budgets(cls(), DatabaseStore(db, SECRET, clock=clock))


def status(b: Budgets, *charges: Charge) -> int | str:
    try:
        b.charge_all(charges)
    except Refusal as refusal:
        return f"{refusal.status} {refusal.headers['Retry-After']}" if refusal.headers else refusal.status
    return 200


def test_a_budget_is_spent_refills_and_answers_429_with_retry_after(db: Database) -> None:
    clock = Clock()
    b = budgets(db, clock, writes=Rate(3600.0, 3.0))  # one a second, three at once
    assert [status(b, Charge("writes", b"alice", "writes")) for _ in range(4)] == [200, 200, 200, "429 1"]
    assert b.used("writes", b"alice") == pytest.approx(1.0)
    assert b.used("writes", b"bob") == 0.0
    clock.now += 1.0
    assert status(b, Charge("writes", b"alice", "writes")) == 200
    assert status(b, Charge("writes", b"alice", "writes", 3.0)) == "429 3"


def test_a_refusal_by_one_budget_spends_nothing_of_the_others(db: Database) -> None:
    clock = Clock()
    b = budgets(db, clock, per_account=Rate(1.0, 2.0), per_address=Rate(1.0, 10.0))
    ask = [Charge("per_account", b"mallory", "for this account"), Charge("per_address", "192.0.2.1", "here")]
    assert [status(b, *ask) for _ in range(6)] == [200, 200] + ["429 3600"] * 4
    assert b.used("per_address", "192.0.2.1") == pytest.approx(0.2)
    # the same bucket twice in one request is charged the sum, or nothing
    assert status(b, Charge("per_address", "192.0.2.1", "here", 5.0), Charge("per_address", "192.0.2.1", "here", 4.0)) \
        == "429 3600"
    assert b.used("per_address", "192.0.2.1") == pytest.approx(0.2)


def test_two_stores_on_one_database_spend_one_budget(db: Database) -> None:
    """What two processes do: each its own store, one table."""
    clock = Clock()
    first, second = budgets(db, clock, writes=Rate(1.0, 4.0)), budgets(db, clock, writes=Rate(1.0, 4.0))
    assert [status(first, Charge("writes", "198.51.100.7", "writes")) for _ in range(3)] == [200] * 3
    assert [status(second, Charge("writes", "198.51.100.7", "writes")) for _ in range(2)] == [200, "429 3600"]


def test_concurrent_charges_never_grant_more_than_the_burst(db: Database) -> None:
    clock = Clock()
    stores = [budgets(db, clock, writes=Rate(1.0, 25.0)) for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: status(stores[i % 4], Charge("writes", b"k", "writes")), range(60)))
    assert answers.count(200) == 25


def test_no_address_is_stored_and_full_buckets_are_pruned(db: Database) -> None:
    clock = Clock()
    b = budgets(db, clock, fast=Rate(3600.0, 10.0), slow=Rate(36.0, 10.0))  # full again after 10 s, 1000 s
    status(b, Charge("fast", "203.0.113.9", "x"), Charge("slow", "203.0.113.9", "x"))
    with db.read() as session:
        keys = session.scalars(select(RateBucket.key)).all()
    assert len(keys) == 2 and all(b"203.0.113.9" not in k and len(k) == 32 for k in keys)
    clock.now += PRUNE_SECONDS + 1  # 'fast' is full, 'slow' not yet
    status(b, Charge("slow", "other", "x"))
    with db.read() as session:
        left = session.execute(select(RateBucket.budget, func.count()).group_by(RateBucket.budget)).all()
    assert dict(left) == {"slow": 2}
    assert b.used("slow", "203.0.113.9") == 0.0  # refilled, though its row stays until 1000 s


@pytest.fixture
def pg(postgres_admin_url: str) -> Iterator[Database]:
    url = pg_cluster.fresh_database(postgres_admin_url)
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def test_exclusive_keeps_two_transactions_apart(pg: Database) -> None:
    """On PostgreSQL; on SQLite every write transaction is exclusive already (BEGIN IMMEDIATE)."""
    db = pg
    inside = threading.Event()
    order: list[str] = []

    def first() -> None:
        with db.write() as session:
            exclusive(session, "a pass")
            inside.set()
            time.sleep(0.5)
            order.append("first done")

    def second() -> None:
        inside.wait(5)
        with db.write() as session:
            exclusive(session, "a pass")
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["first done", "second in"]
    with db.write() as session:  # another name is another lock: not held by anyone
        exclusive(session, "another pass")
