"""An in-memory token bucket keyed by account (or address).

Key servers keep no database by design, so their limits live in memory: a
restart refills the buckets, which is acceptable because the limit exists to
slow enumeration, not to account for usage.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


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
