"""The escrow's events into the transparency log, and their receipts (PROTOCOL.md §11).

Called by the endpoint modules (``entries``, ``counselor``, ``reporter``) inside the
transaction that makes an event happen: the leaf is appended and the log signs a checkpoint
at the new size before that transaction commits, so an acknowledged event always has its leaf,
a refused one never does, and every answer that acknowledges an event can carry a receipt for
it. The leaf formats are ``protocol/events.py``, the SQL driver ``storage/log.py``, the proofs
and receipts ``tlog/``; the ``/v1/log/*`` endpoints are in ``log_endpoints``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from consilience.protocol import events
from consilience.services.escrow.state import ServerState
from consilience.storage import log
from consilience.storage.repository import MatchChange
from consilience.tlog import receipt


def _origin(state: ServerState) -> str:
    return state.deployments.current().deployment.log_origin


def record_entry(session: Session, state: ServerState, entry_id: bytes, content: bytes, now: datetime,
                 changes: Iterable[MatchChange]) -> str:
    """Log an accepted (or replaced) entry and any releases it caused; return its receipt."""
    leaf = events.entry_leaf(entry_id, content, now)
    index = log.append(session, events.ENTRY, leaf, now, entry_id=entry_id)
    record_changes(session, changes, now)
    note = log.sign(session, _origin(state), state.log_private, now)
    return receipt.issue_receipt(log.DatabaseNodes(session), index=index, leaf=leaf, checkpoint=note)


def record_withdrawal(session: Session, state: ServerState, entry_id: bytes, now: datetime) -> str:
    leaf = events.withdrawal_leaf(entry_id, now)
    index = log.append(session, events.WITHDRAWAL, leaf, now, entry_id=entry_id)
    note = log.sign(session, _origin(state), state.log_private, now)
    return receipt.issue_receipt(log.DatabaseNodes(session), index=index, leaf=leaf, checkpoint=note)


def record_changes(session: Session, changes: Iterable[MatchChange], now: datetime) -> None:
    for change in changes:
        log.append(session, events.RELEASE, events.release_leaf(change.match_id, change.released, now), now)


def record_opening(session: Session, state: ServerState, match_id: bytes, counselor_id: bytes,
                   now: datetime) -> None:
    log.append(session, events.OPENING, events.opening_leaf(match_id, counselor_id, now), now)
    log.sign(session, _origin(state), state.log_private, now)


def latest_receipt(session: Session, entry_id: bytes) -> str | None:
    """A receipt for the entry's latest leaf against the newest checkpoint (read-only)."""
    leaf = log.latest_entry_leaf(session, entry_id)
    head = log.latest_checkpoint(session)
    if leaf is None or head is None:
        return None
    size, note = head
    note = log.with_cosignatures(session, size, note)
    return receipt.issue_receipt(log.DatabaseNodes(session), index=leaf.index, leaf=leaf.data, checkpoint=note)
