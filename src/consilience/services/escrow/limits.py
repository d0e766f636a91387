"""The escrow server's request budgets, per address and per account.

Registrations need the administrator's certificate and the invite's key and
tokens are 256 random bits, so guessing is hopeless, but an address that keeps
failing authentication or registration is slowed down all the same; the
per-account budget bounds how fast one account (or someone who stole its
token) can write entries, and the per-address board budget how fast anyone can
make the escrow check key-generation signatures. Charged through
``services.limits.Budgets``, like the key servers'.

Budgets bound how fast an account writes, not how much it keeps: at the default 1,200 entry
changes an hour, 4 MiB each, one account could store about 5 GB an hour. ``Quotas`` bound what
one account holds at once, over its active (not withdrawn) entries: the bytes they store (sealed
bodies, attachments included, and the counselors' envelopes) and how many there are. A
submission or edit that would go over is refused before anything is written (PROTOCOL.md §9),
with 413 either way: waiting does not help, withdrawing an entry (or shortening this one) does,
and clients take 429 as "send the same again later".
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from consilience.services.config import ConfigurationError
from consilience.services.limits import Rate, RateLimits

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
                raise ConfigurationError(f"the {name.replace('_', ' ')} quota must be a positive whole number, "
                                         f"not {value!r}")


def quotas_from_env(environ: Mapping[str, str] = os.environ) -> Quotas:
    """$CONSILIENCE_QUOTA_BYTES (e.g. 67108864, 64MiB, 1GiB) and $CONSILIENCE_QUOTA_ENTRIES, else the defaults."""
    size, count = environ.get("CONSILIENCE_QUOTA_BYTES"), environ.get("CONSILIENCE_QUOTA_ENTRIES")
    quota_bytes, quota_entries = QUOTA_BYTES, QUOTA_ENTRIES
    if size:
        found = re.fullmatch(r"\s*(\d+)\s*([KMG]iB|B)?\s*", size, re.IGNORECASE)
        if not found:
            raise ConfigurationError(f"CONSILIENCE_QUOTA_BYTES must be a number of bytes (or with KiB, MiB, GiB), "
                                     f"not {size!r}")
        quota_bytes = int(found[1]) * _UNITS[(found[2] or "").lower()]
    if count:
        if not count.strip().isdigit():
            raise ConfigurationError(f"CONSILIENCE_QUOTA_ENTRIES must be a whole number of entries, not {count!r}")
        quota_entries = int(count)
    return Quotas(bytes_per_account=quota_bytes, entries_per_account=quota_entries)
