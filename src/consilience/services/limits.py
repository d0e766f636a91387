"""Request budgets, in one shape for both servers: a token bucket per (budget, key).

Each server declares its budgets as a ``RateLimits`` dataclass whose fields are ``Rate``s
(per hour, burst) and charges them through ``Budgets``; a spent budget answers 429 with
Retry-After. A request that several budgets cover is charged to all of them or to none
(``Budgets.charge_all``), so a refusal by one never spends the others.

Where the buckets live is a ``BucketStore``. ``MemoryStore`` keeps them in the process: the key
servers keep no database by design, and a restart refilling them is acceptable because the limits
exist to slow enumeration and abuse, not to account for usage. An escrow served by several
processes keeps them in its database instead (``services.escrow.limits.DatabaseStore``), or each
process would grant the whole budget again. Both decide with the same arithmetic, ``refilled``
and ``decide``, here.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, fields
from typing import NamedTuple, Protocol

from fastapi import Request

from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.services.http_errors import Refusal


def refilled(tokens: float, last: float, now: float, capacity: float, per_second: float) -> float:
    """What a bucket that held ``tokens`` at ``last`` holds at ``now``; a clock gone back refills nothing."""
    return min(capacity, tokens + max(0.0, now - last) * per_second)


def decide(wanted: Sequence[tuple[float, float, float]]) -> tuple[list[float], bool]:
    """For each (held, cost, per second): the wait until ``cost`` is there (0 if it is), and whether all are.

    Shared by every store, so that a refusal means the same wherever the buckets live: all or none.
    """
    waits = [(cost - held) / per_second if cost > held else 0.0 for held, cost, per_second in wanted]
    return waits, not any(waits)


class TokenBucket:
    def __init__(self, capacity: float, per_second: float, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if capacity <= 0 or per_second <= 0:
            raise ValueError("capacity and rate must be positive")
        self.capacity = capacity
        self.per_second = per_second
        self._clock = clock
        self._max_keys = max_keys
        self._state: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: Hashable, cost: float = 1.0) -> float:
        """Charge ``cost``; return 0 if allowed, else seconds until it would be."""
        return take_all([(self, key, cost)])[0]

    def used(self, key: Hashable) -> float:
        """The share of the burst spent for ``key`` now, 0 (full) to 1 (empty)."""
        with self._lock:
            tokens = self._tokens(key, self._clock())
        return 1.0 - tokens / self.capacity

    def _tokens(self, key: Hashable, now: float) -> float:
        """What ``key`` holds at ``now``; the caller holds the lock."""
        tokens, last = self._state.get(key, (self.capacity, now))
        return refilled(tokens, last, now, self.capacity, self.per_second)

    def _store(self, key: Hashable, tokens: float, now: float) -> None:
        """Set what ``key`` holds as of ``now``, most recently seen; the caller holds the lock."""
        self._state.pop(key, None)
        self._state[key] = (tokens, now)
        while len(self._state) > self._max_keys:
            self._state.popitem(last=False)  # forget the least recently seen


def take_all(charges: Sequence[tuple[TokenBucket, Hashable, float]]) -> list[float]:
    """Charge every (bucket, key, cost) or none: each one's wait, all 0 when all were taken.

    Every bucket involved is locked (in one order, so two callers cannot deadlock) while all are
    checked and, only if every one allows its cost, all are charged. One refusal leaves every
    bucket as it was: a request refused by one budget spends nothing from the others, so an
    account that has spent its own budget cannot go on draining its address's (or the global)
    budget for everyone else behind it. The same (bucket, key) twice is charged the sum.
    """
    wanted: dict[tuple[int, Hashable], float] = {}
    buckets: dict[int, TokenBucket] = {}
    for bucket, key, cost in charges:
        buckets[id(bucket)] = bucket
        wanted[id(bucket), key] = wanted.get((id(bucket), key), 0.0) + cost
    with ExitStack() as stack:
        for ident in sorted(buckets):
            stack.enter_context(buckets[ident]._lock)
        now = {ident: bucket._clock() for ident, bucket in buckets.items()}
        held = {(ident, key): buckets[ident]._tokens(key, now[ident]) for ident, key in wanted}
        decided, allowed = decide([(held[ident, key], cost, buckets[ident].per_second)
                                   for (ident, key), cost in wanted.items()])
        waits = dict(zip(wanted, decided, strict=True))
        for (ident, key), cost in wanted.items():
            # a refusal stores what each key holds now, refilled and uncharged (as seen, for the eviction order)
            buckets[ident]._store(key, held[ident, key] - (cost if allowed else 0.0), now[ident])
    return [waits[id(bucket), key] for bucket, key, _ in charges]


def positive(name: str, value: object) -> float:
    """``value`` as a budget's number; an operator's 0, negative, inf or nan is refused by ``name``."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise InvalidInput(_("{name} must be a positive number, not {value}", name=name, value=repr(value)))
    return float(value)


class Rate(NamedTuple):
    """How fast a budget refills, and how much of it may be spent at once."""

    per_hour: float
    burst: float


@dataclass(frozen=True)
class RateLimits:
    """Base of a server's budget settings: every field is a ``Rate`` (a (per hour, burst) pair)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            per_hour, burst = getattr(self, f.name)
            label = f.name.replace("_", " ")
            object.__setattr__(self, f.name, Rate(positive(f"{label} per hour", per_hour),
                                                  positive(f"{label} burst", burst)))


class Charge(NamedTuple):
    """One budget's part of a request: ``cost`` from ``budget`` for ``key``, ``what`` naming it in a refusal
    (marked with ``N_``: it is translated when the refusal is made, in the language of whoever is refused)."""

    budget: str
    key: Hashable
    what: str
    cost: float = 1.0


class BucketStore(Protocol):
    """Where a ``Budgets``' buckets live: in the process (``MemoryStore``) or in a database."""

    def take_all(self, charges: Sequence[tuple[str, Rate, Hashable, float]]) -> list[float]:
        """Charge every (budget, its rate, key, cost) or none; each one's wait, all 0 when all were taken."""
        ...

    def used(self, budget: str, rate: Rate, key: Hashable) -> float:
        """How much of ``budget``'s burst ``key`` has spent now, 0 to 1."""
        ...


class MemoryStore:
    """One ``TokenBucket`` per budget, in this process's memory."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, budget: str, rate: Rate) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(budget)
            if bucket is None:
                bucket = self._buckets[budget] = TokenBucket(rate.burst, rate.per_hour / 3600)
            return bucket

    def take_all(self, charges: Sequence[tuple[str, Rate, Hashable, float]]) -> list[float]:
        return take_all([(self._bucket(budget, rate), key, cost) for budget, rate, key, cost in charges])

    def used(self, budget: str, rate: Rate, key: Hashable) -> float:
        return self._bucket(budget, rate).used(key)


class Budgets:
    """One token bucket per field of a ``RateLimits`` and key, charged by the field's name, kept in ``store``."""

    def __init__(self, limits: RateLimits, store: BucketStore | None = None) -> None:
        self._rates: dict[str, Rate] = {f.name: getattr(limits, f.name) for f in fields(limits)}
        self.store: BucketStore = store if store is not None else MemoryStore()

    @property
    def rates(self) -> dict[str, Rate]:
        """Each budget's rate, by name."""
        return dict(self._rates)

    def charge(self, budget: str, key: Hashable, what: str, cost: float = 1.0) -> None:
        """Take ``cost`` from ``budget`` for ``key``; 429 with Retry-After when it is spent."""
        self.charge_all([Charge(budget, key, what, cost)])

    def charge_all(self, charges: Iterable[Charge]) -> None:
        """Take every charge, or none: 429 with Retry-After when any of the budgets is spent.

        A refusal charges nothing anywhere (``take_all``); it names the budget that would make the
        client wait longest, and Retry-After is that wait, after which every one of them allows it.
        """
        charges = list(charges)
        waits = self.store.take_all([(c.budget, self._rates[c.budget], c.key, c.cost) for c in charges])
        wait, refused = max(zip(waits, charges, strict=True), key=lambda pair: pair[0], default=(0.0, None))
        if wait and refused is not None:
            raise Refusal(429, _("too many {what}; retry later", what=_(refused.what)),
                          headers={"Retry-After": str(math.ceil(wait))})

    def used(self, budget: str, key: Hashable) -> float:
        """How much of ``budget``'s burst ``key`` has spent now, 0 to 1."""
        return self.store.used(budget, self._rates[budget], key)


def client_address(request: Request) -> str:
    """The peer's address as the ASGI server reports it: the key of per-address budgets.

    That is the socket's peer unless the server was told to believe a proxy's X-Forwarded-For
    (``services.serving.serve``'s ``trusted_proxies``; off by default), so a client cannot name
    itself a fresh address.
    """
    return request.client.host if request.client else "unknown"
