"""The escrow's events into the transparency log, and their receipts (PROTOCOL.md §11).

A reporter's own events (an entry accepted or replaced, a withdrawal) are logged inside the
transaction that makes them happen: the leaf is appended and the log signs a checkpoint at the new
size before that transaction commits, so an acknowledged event always has its leaf, a refused one
never does, and the answer carries a receipt for it. Nothing else is logged in that transaction:
releases and counselors' openings wait in ``log_pending`` for the release pass
(``releases.run_pass``), which logs them in fixed-size batches padded with padding events. So
neither a receipt's checkpoint size nor the log's growth after a submission tells anyone whether
it caused a release.

Every leaf is a commitment (``protocol/events.py``); the receipt's ``extra`` line carries its
opening (nonce ‖ event), which ``clients/receipts.py`` checks against the leaf. The leaf formats are
``protocol/events.py``, the SQL driver ``storage/log.py``, the proofs and receipts ``tlog/``; the
``/v2/log/*`` endpoints are in ``log_endpoints``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy.orm import Session

from consilience.protocol import events
from consilience.services.escrow.state import ServerState
from consilience.storage import log
from consilience.tlog import receipt


def _origin(state: ServerState) -> str:
    return state.deployments.current().deployment.log_origin


def record_entry(session: Session, state: ServerState, entry_id: bytes, content: bytes, now: datetime) -> str:
    """Log an accepted (or replaced) entry; return its receipt."""
    return _record(session, state, events.Opening.fresh(events.entry_event(entry_id, content, now)), entry_id, now)


def record_withdrawal(session: Session, state: ServerState, entry_id: bytes, now: datetime) -> str:
    return _record(session, state, events.Opening.fresh(events.withdrawal_event(entry_id, now)), entry_id, now)


def _record(session: Session, state: ServerState, opening: events.Opening, entry_id: bytes, now: datetime) -> str:
    index = log.append(session, opening, now, entry_id=entry_id)
    note = log.sign(session, _origin(state), state.log_private, now)
    return opened_receipt(session, index, opening.leaf, opening.encoded, note)


def record_opening(session: Session, event: bytes, now: datetime) -> None:
    """A counselor opened a match (``events.opening_event``, naming their key id): logged by the next release
    pass, with the releases, in a padded batch; its leaf is then found by the event (``log.event_leaf``)."""
    log.defer(session, event, now)


def opened_receipt(session: Session, index: int, leaf: bytes, opening: bytes, note: str) -> str:
    """A C2SP tlog-proof of leaf ``index`` whose ``extra`` line is the leaf's opening, not the leaf itself.

    The proof is built (and self-checked) for the commitment ``leaf``; the opening is what a verifier
    needs to reconstruct it (the spec's "additional data necessary to reconstruct the record hash").
    """
    text = receipt.issue_receipt(log.DatabaseNodes(session), index=index, leaf=leaf, checkpoint=note)
    return dataclasses.replace(receipt.parse_receipt(text), extra=opening).encode()


def event_receipt(session: Session, event: bytes) -> str | None:
    """A receipt for a deferred event's leaf against the newest checkpoint; None until a pass logged it."""
    leaf = log.event_leaf(session, event)
    head = log.latest_checkpoint(session)
    if leaf is None or head is None or head[0] <= leaf.index:
        return None
    size, note = head
    return opened_receipt(session, leaf.index, leaf.data, leaf.opening, log.with_cosignatures(session, size, note))


def latest_receipt(session: Session, entry_id: bytes) -> str | None:
    """A receipt for the entry's latest leaf against the newest checkpoint (read-only)."""
    leaf = log.latest_entry_leaf(session, entry_id)
    head = log.latest_checkpoint(session)
    if leaf is None or head is None:
        return None
    size, note = head
    note = log.with_cosignatures(session, size, note)
    return opened_receipt(session, leaf.index, leaf.data, leaf.opening, note)
