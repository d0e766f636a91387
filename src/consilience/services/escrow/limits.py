"""Per-address and per-account request budgets of the escrow server.

Invites and tokens are 128 and 256 random bits, so guessing is hopeless,
but an address that keeps failing authentication or registration is
slowed down all the same; per-account budgets bound how fast one account
(or someone who stole its token) can mint key-server tokens or write
entries. In memory, like the key servers': a restart refills them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from fastapi import Request

from consilience.services.http_errors import Refusal
from consilience.services.ratelimit import TokenBucket


@dataclass(frozen=True)
class LimitSettings:
    """(per hour, burst) for each budget."""

    registrations_per_address: tuple[float, float] = (120.0, 40.0)
    auth_failures_per_address: tuple[float, float] = (240.0, 60.0)
    keyserver_tokens_per_account: tuple[float, float] = (600.0, 120.0)
    entry_writes_per_account: tuple[float, float] = (1200.0, 300.0)


class Limits:
    def __init__(self, settings: LimitSettings | None = None) -> None:
        settings = settings or LimitSettings()
        self._buckets = {
            f.name: TokenBucket(getattr(settings, f.name)[1], getattr(settings, f.name)[0] / 3600)
            for f in fields(settings)
        }

    def charge(self, budget: str, key: object, what: str) -> None:
        """Take one from ``budget`` for ``key``; 429 with Retry-After when it is spent."""
        wait = self._buckets[budget].take(key)
        if wait:
            raise Refusal(429, f"too many {what}; retry later", headers={"Retry-After": str(math.ceil(wait))})


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
