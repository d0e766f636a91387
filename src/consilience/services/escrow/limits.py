"""The escrow server's request budgets, per address and per account.

Invites and tokens are 128 and 256 random bits, so guessing is hopeless,
but an address that keeps failing authentication or registration is
slowed down all the same; per-account budgets bound how fast one account
(or someone who stole its token) can mint key-server tokens or write
entries. Charged through ``services.limits.Budgets``, like the key servers'.
"""

from __future__ import annotations

from dataclasses import dataclass

from consilience.services.limits import Rate, RateLimits


@dataclass(frozen=True)
class LimitSettings(RateLimits):
    """(per hour, burst) for each budget."""

    registrations_per_address: Rate = Rate(120.0, 40.0)
    auth_failures_per_address: Rate = Rate(240.0, 60.0)
    keyserver_tokens_per_account: Rate = Rate(600.0, 120.0)
    entry_writes_per_account: Rate = Rate(1200.0, 300.0)
