"""Request budgets, in one shape for both servers: a token bucket per (budget, key).

Each server declares its budgets as a ``RateLimits`` dataclass whose fields are ``Rate``s
(per hour, burst) and charges them through ``Budgets``; a spent budget answers 429 with
Retry-After. The buckets live in memory: key servers keep no database by design, and a
restart refilling them is acceptable because the limits exist to slow enumeration and
abuse, not to account for usage.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, fields
from typing import NamedTuple

from fastapi import Request

from consilience.errors import InvalidInput
from consilience.services.http_errors import Refusal


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
        now = self._clock()
        with self._lock:
            tokens, last = self._state.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.per_second)
            if tokens >= cost:
                self._state[key] = (tokens - cost, now)
                wait = 0.0
            else:
                self._state[key] = (tokens, now)
                wait = (cost - tokens) / self.per_second
            while len(self._state) > self._max_keys:
                self._state.popitem(last=False)  # forget the least recently seen
            return wait

    def used(self, key: Hashable) -> float:
        """The share of the burst spent for ``key`` now, 0 (full) to 1 (empty)."""
        now = self._clock()
        with self._lock:
            tokens, last = self._state.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.per_second)
        return 1.0 - tokens / self.capacity


def positive(name: str, value: object) -> float:
    """``value`` as a budget's number; an operator's 0, negative, inf or nan is refused by ``name``."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise InvalidInput(f"{name} must be a positive number, not {value!r}")
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


class Budgets:
    """One token bucket per field of a ``RateLimits``, charged by the field's name."""

    def __init__(self, limits: RateLimits) -> None:
        self._buckets: dict[str, TokenBucket] = {}
        for f in fields(limits):
            rate: Rate = getattr(limits, f.name)
            self._buckets[f.name] = TokenBucket(rate.burst, rate.per_hour / 3600)

    def charge(self, budget: str, key: Hashable, what: str, cost: float = 1.0) -> None:
        """Take ``cost`` from ``budget`` for ``key``; 429 with Retry-After when it is spent."""
        wait = self._buckets[budget].take(key, cost)
        if wait:
            raise Refusal(429, f"too many {what}; retry later", headers={"Retry-After": str(math.ceil(wait))})

    def used(self, budget: str, key: Hashable) -> float:
        """How much of ``budget``'s burst ``key`` has spent now, 0 to 1."""
        return self._buckets[budget].used(key)


def client_address(request: Request) -> str:
    """The peer's address as the ASGI server reports it: the key of per-address budgets.

    That is the socket's peer unless the server was told to believe a proxy's X-Forwarded-For
    (``services.serving.serve``'s ``trusted_proxies``; off by default), so a client cannot name
    itself a fresh address.
    """
    return request.client.host if request.client else "unknown"
