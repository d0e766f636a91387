"""The escrow server's request budgets, per address and per account.

Registrations need the administrator's certificate and the invite's key and
tokens are 256 random bits, so guessing is hopeless, but an address that keeps
failing authentication or registration is slowed down all the same; the
per-account budget bounds how fast one account (or someone who stole its
token) can write entries, and the per-address board budget how fast anyone can
make the escrow check key-generation signatures. Charged through
``services.limits.Budgets``, like the key servers'.
"""

from __future__ import annotations

from dataclasses import dataclass

from consilience.services.limits import Rate, RateLimits

#: GET /v2/board/{epoch}: at most this many messages per page (PROTOCOL.md §5)
BOARD_PAGE_SIZE = 500


@dataclass(frozen=True)
class LimitSettings(RateLimits):
    """(per hour, burst) for each budget."""

    registrations_per_address: Rate = Rate(120.0, 40.0)
    auth_failures_per_address: Rate = Rate(240.0, 60.0)
    entry_writes_per_account: Rate = Rate(1200.0, 300.0)
    board_posts_per_address: Rate = Rate(1200.0, 300.0)
