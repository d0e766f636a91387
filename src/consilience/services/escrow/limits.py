"""The escrow server's request budgets, per address and per account.

Registrations need the administrator's certificate and the invite's key and
tokens are 256 random bits, so guessing is hopeless, but an address that keeps
failing authentication or registration is slowed down all the same; the
per-account budget bounds how fast one account (or someone who stole its
token) can write entries, and the per-address board budget how fast anyone can
make the escrow check key-generation signatures. Charged through
``services.limits.Budgets``, like the key servers'.

Where they live. On PostgreSQL the buckets are rows of the escrow database (``DatabaseStore``,
``storage/budgets.py``), so every process serving the deployment (``serve --workers N``, or
``serve`` on several hosts against one database) spends the same budgets: a burst through one
process is spent for all of them. Each charge is its own short transaction, committed before the
request does anything else, whose row locks make two processes charging one bucket take turns.
The keys are an HMAC of the address or account id under a key derived from the log's private key,
which every process of a deployment holds, so the table names no address to whoever reads it.
On SQLite, which one process serves (``serve`` refuses several workers there), they stay in
memory: a second write transaction per request would cost a second fsync for nothing.

Budgets bound how fast an account writes, not how much it keeps: at the default 1,200 entry
changes an hour, 4 MiB each, one account could store about 5 GB an hour. ``Quotas`` bound what
one account holds at once, over its active (not withdrawn) entries: the bytes they store (sealed
bodies, attachments included, and the counselors' envelopes) and how many there are. A
submission or edit that would go over is refused before anything is written (PROTOCOL.md §9),
with 413 either way: waiting does not help, withdrawing an entry (or shortening this one) does,
and clients take 429 as "send the same again later".
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

from consilience.i18n import _
from consilience.services.config import ConfigurationError
from consilience.services.limits import BucketStore, MemoryStore, Rate, RateLimits, decide, refilled
from consilience.storage import budgets
from consilience.storage.database import Database

log = logging.getLogger(__name__)

#: GET /v2/board/{epoch}: at most this many messages per page (PROTOCOL.md §5)
BOARD_PAGE_SIZE = 500


@dataclass(frozen=True)
class LimitSettings(RateLimits):
    """(per hour, burst) for each budget."""

    registrations_per_address: Rate = Rate(120.0, 40.0)
    auth_failures_per_address: Rate = Rate(240.0, 60.0)
    entry_writes_per_account: Rate = Rate(1200.0, 300.0)
    #: messages, acceptances, conversations and introductions made (PROTOCOL.md §13.3); a burst of 60 lets a
    #: counselor introduce 32 reporters at once (the introduction, then a message in each conversation)
    message_writes_per_account: Rate = Rate(240.0, 60.0)
    board_posts_per_address: Rate = Rate(1200.0, 300.0)


#: Per account, over its active entries: the bytes they store, and how many there are.
QUOTA_BYTES = 64 * 1024 * 1024
QUOTA_ENTRIES = 200
#: The error codes of the two refusals (413)
OVER_STORAGE_QUOTA = "over_storage_quota"
TOO_MANY_ENTRIES = "too_many_entries"

_UNITS = {"": 1, "b": 1, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


@dataclass(frozen=True)
class Quotas:
    """What one account may hold at once, over its active (not withdrawn) entries."""

    #: sealed bodies (attachments included) and envelopes, in bytes
    bytes_per_account: int = QUOTA_BYTES
    entries_per_account: int = QUOTA_ENTRIES

    def __post_init__(self) -> None:
        for name in ("bytes_per_account", "entries_per_account"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(_("the {quota} quota must be a positive whole number, not {value}",
                                           quota=name.replace('_', ' '), value=repr(value)))


def quotas_from_env(environ: Mapping[str, str] = os.environ) -> Quotas:
    """$CONSILIENCE_QUOTA_BYTES (e.g. 67108864, 64MiB, 1GiB) and $CONSILIENCE_QUOTA_ENTRIES, else the defaults."""
    size, count = environ.get("CONSILIENCE_QUOTA_BYTES"), environ.get("CONSILIENCE_QUOTA_ENTRIES")
    quota_bytes, quota_entries = QUOTA_BYTES, QUOTA_ENTRIES
    if size:
        found = re.fullmatch(r"\s*(\d+)\s*([KMG]iB|B)?\s*", size, re.IGNORECASE)
        if not found:
            raise ConfigurationError(_("CONSILIENCE_QUOTA_BYTES must be a number of bytes (or with KiB, MiB, GiB), "
                                       "not {size}",
                                       size=repr(size)))
        quota_bytes = int(found[1]) * _UNITS[(found[2] or "").lower()]
    if count:
        if not count.strip().isdigit():
            raise ConfigurationError(_("CONSILIENCE_QUOTA_ENTRIES must be a whole number of entries, not {count}",
                                       count=repr(count)))
        quota_entries = int(count)
    return Quotas(bytes_per_account=quota_bytes, entries_per_account=quota_entries)


#: How often (seconds) a process drops the buckets that are full again (``storage.budgets.prune``).
PRUNE_SECONDS = 600.0


class DatabaseStore:
    """The buckets as rows of the escrow database, shared by every process that serves it.

    ``clock`` is the wall clock: processes on several hosts compare their times through the rows.
    """

    def __init__(self, db: Database, secret: bytes, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._secret = hashlib.sha256(b"consilience rate bucket key\0" + secret).digest()
        self._clock = clock
        self._rates: dict[str, Rate] = {}
        self._pruned_at = clock()
        self._pruning = threading.Lock()

    def key(self, budget: str, key: Hashable) -> bytes:
        """The bucket's key in the table: an HMAC, so that no address is stored."""
        if isinstance(key, bytes):
            raw = b"b" + key
        elif isinstance(key, str):
            raw = b"s" + key.encode()
        else:
            raise TypeError(f"a budget's key is bytes or text, not {type(key).__name__}")
        return hmac.new(self._secret, budget.encode() + b"\0" + raw, hashlib.sha256).digest()

    def take_all(self, charges: Sequence[tuple[str, Rate, Hashable, float]]) -> list[float]:
        return self.take_at(charges, None)

    def take_at(self, charges: Sequence[tuple[str, Rate, Hashable, float]], at: float | None) -> list[float]:
        """``take_all`` as of ``at`` (seconds since the epoch; None: the clock at the charge's start)."""
        wanted: dict[budgets.BucketId, float] = {}
        rates: dict[budgets.BucketId, Rate] = {}
        ids = []
        for budget, rate, key, cost in charges:
            self._rates[budget] = rate
            bucket = (budget, self.key(budget, key))
            ids.append(bucket)
            rates[bucket] = rate
            wanted[bucket] = wanted.get(bucket, 0.0) + cost
        # Core statements on a write connection: a Session's unit of work cost more than the statements
        with self._db.write_connection() as connection:
            now = self._clock() if at is None else at
            budgets.without_waiting_for_disk(connection)
            rows = budgets.lock(connection, {b: rates[b].burst for b in wanted}, now)
            held = {b: refilled(*rows[b], now, rates[b].burst, rates[b].per_hour / 3600) for b in wanted}
            waits, allowed = decide([(held[b], cost, rates[b].per_hour / 3600) for b, cost in wanted.items()])
            if allowed:
                budgets.store(connection, {b: held[b] - cost for b, cost in wanted.items()}, now)
        self._prune_if_due(self._clock())  # the clock's now, whatever ``at`` said
        by_bucket = dict(zip(wanted, waits, strict=True))
        return [by_bucket[b] for b in ids]

    def used(self, budget: str, rate: Rate, key: Hashable) -> float:
        with self._db.read_connection() as connection:  # every authenticated request asks, before anything
            row = budgets.read(connection, budget, self.key(budget, key))
        if row is None:
            return 0.0
        return 1.0 - refilled(*row, self._clock(), rate.burst, rate.per_hour / 3600) / rate.burst

    def _prune_if_due(self, now: float) -> None:
        """Every ``PRUNE_SECONDS``, one request of this process drops the full buckets; never raises."""
        if now - self._pruned_at < PRUNE_SECONDS or not self._pruning.acquire(blocking=False):
            return
        try:
            self._pruned_at = now
            full_after = {b: r.burst / (r.per_hour / 3600) for b, r in self._rates.items()}
            with self._db.write() as session:
                dropped = budgets.prune(session, full_after, now)
            log.debug("dropped %d full request budgets", dropped)
        except Exception as exc:  # the charge stands; the next due prune tries again
            log.warning("could not drop full request budgets (%s)", type(exc).__name__)
        finally:
            self._pruning.release()


def budget_store(db: Database, secret: bytes) -> BucketStore:
    """The database on PostgreSQL, which several processes may serve; memory on SQLite, which one does."""
    return DatabaseStore(db, secret) if db.dialect == "postgresql" else MemoryStore()
