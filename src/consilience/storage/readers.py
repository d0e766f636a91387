"""Who read a reporter's entry (PROTOCOL.md §13.6): the counselors' openings that handed out its body.

``repository.open_match`` records each opening (``match_openings``: the counselor's key id, the
opening event) and the entries whose bodies it handed out (``match_opening_entries``). Only those
count as readings: an entry under a matched tag that gave only its quorum shares was not read, and
listing it would tell its reporter that a match exists. Like ``repository``, every function takes a
``Session`` inside a transaction the caller owns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consilience.storage.models import MatchOpening, MatchOpeningEntry
from consilience.storage.repository import get_own_entry


@dataclass(frozen=True)
class Reading:
    """One counselor opening that handed out the entry's body."""

    key_id: bytes
    opened_at: datetime
    #: the opening event as deferred to the log: its leaf is found by it once a release pass logged it
    event: bytes


def readings(session: Session, account_id: bytes, entry_id: bytes) -> list[Reading]:
    """The readings of the caller's own entry, oldest first; another account's entry is NotFound."""
    get_own_entry(session, account_id, entry_id)
    rows = session.execute(
        select(MatchOpening.key_id, MatchOpening.opened_at, MatchOpening.event)
        .join(MatchOpeningEntry, MatchOpeningEntry.opening_id == MatchOpening.id)
        .where(MatchOpeningEntry.entry_id == entry_id, MatchOpening.key_id.is_not(None),
               MatchOpening.event.is_not(None))
        .order_by(MatchOpening.opened_at, MatchOpening.id)
    ).all()
    return [Reading(key_id, opened_at, event) for key_id, opened_at, event in rows
            if key_id is not None and event is not None]
