"""The escrow's events into the transparency log, and their receipts (PROTOCOL.md §11).

A reporter's own events (an entry accepted or replaced, a withdrawal) are *sequenced* inside the
transaction that makes them happen (``log.sequence``): the event and its opening are kept durably, so
an acknowledged event is never lost and a refused one is never logged, but the request neither locks
the log nor signs anything. The integrator (``integrator``) appends sequenced events to the tree in
batches and signs one checkpoint per batch; until then the entry's receipt is not ready
(``entry_receipt`` answers ``sequenced``), and a submission's answer waits a moment for the
integrator of its own process before it goes out with or without one. Nothing else is logged that
way: releases and counselors' openings wait in ``log_pending`` for the release pass
(``releases.run_pass``), which logs them in fixed-size batches padded with padding events, after
integrating everything sequenced. So neither a receipt's checkpoint size nor the log's growth after a
submission tells anyone whether it caused a release.

Every leaf is a commitment (``protocol/events.py``); the receipt's ``extra`` line carries its
opening (nonce ‖ event), which ``clients/receipts.py`` checks against the leaf. The leaf formats are
``protocol/events.py``, the SQL driver ``storage/log.py``, the proofs and receipts ``tlog/``; the
``/v2/log/*`` endpoints are in ``log_endpoints``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _
from consilience.protocol import events
from consilience.storage import log
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle, receipt


def record_entry(session: Session | Connection, entry_id: bytes, content: bytes, now: datetime) -> int:
    """Sequence an accepted (or replaced) entry's event in the caller's transaction; its sequence number."""
    return log.sequence(session, events.Opening.fresh(events.entry_event(entry_id, content, now)), now,
                        entry_id=entry_id)


def record_withdrawal(session: Session, entry_id: bytes, now: datetime) -> int:
    return log.sequence(session, events.Opening.fresh(events.withdrawal_event(entry_id, now)), now,
                        entry_id=entry_id)


def record_opening(session: Session, event: bytes, now: datetime) -> None:
    """A counselor opened a match (``events.opening_event``, naming their key id): logged by the next release
    pass, with the releases, in a padded batch; its leaf is then found by the event (``log.event_leaf``)."""
    log.defer(session, event, now)


def opened_receipt(session: Session | Connection, index: int, leaf: bytes, opening: bytes, note: str) -> str:
    """A C2SP tlog-proof of leaf ``index`` whose ``extra`` line is the leaf's opening, not the leaf itself.

    The proof is built (and self-checked) for the commitment ``leaf``; the opening is what a verifier
    needs to reconstruct it (the spec's "additional data necessary to reconstruct the record hash").
    """
    body = cp.parse_signed_checkpoint(note)[0]
    nodes = log.nodes_for(session, merkle.inclusion_nodes(index, body.size))  # one statement whatever the size
    proof = merkle.inclusion_proof(nodes, index, body.size)
    try:  # a storage or indexing bug must not hand a reporter a receipt that will never verify
        merkle.verify_inclusion(merkle.leaf_hash(leaf), index, body.size, proof, body.root_hash)
    except VerificationError as exc:
        raise InvalidInput(_("refusing to issue a receipt that does not verify: {exc}", exc=exc)) from exc
    return receipt.Receipt(index, tuple(proof), note, bytes(opening)).encode()


def event_receipt(session: Session, event: bytes) -> str | None:
    """A receipt for a deferred event's leaf against the newest checkpoint; None until a pass logged it."""
    leaf = log.event_leaf(session, event)
    head = log.latest_checkpoint(session)
    if leaf is None or head is None or head[0] <= leaf.index:
        return None
    size, note = head
    return opened_receipt(session, leaf.index, leaf.data, leaf.opening, log.with_cosignatures(session, size, note))


def entry_receipt(session: Session | Connection, entry_id: bytes) -> tuple[str | None, bool]:
    """The receipt of the entry's latest event and whether that event is still sequenced (then no receipt:
    the latest leaf would be an earlier event's). Core statements only (``storage.log``), so a read
    connection (``Database.read_connection``) serves as well as a session."""
    sequenced, leaf, head = log.entry_receipt_state(session, entry_id)
    if sequenced:
        return None, True
    return _against(session, leaf, head), False


def latest_receipt(session: Session | Connection, entry_id: bytes) -> str | None:
    """A receipt for the entry's latest leaf against the newest checkpoint (read-only)."""
    return _receipt_of(session, log.latest_entry_leaf(session, entry_id))


def _receipt_of(session: Session | Connection, leaf: log.Leaf | None) -> str | None:
    if leaf is None:
        return None
    return _against(session, leaf, log.latest_cosigned_note(session))


def _against(session: Session | Connection, leaf: log.Leaf | None, head: tuple[int, str] | None) -> str | None:
    """A receipt for ``leaf`` against the checkpoint ``head`` (its size and note), if that covers it."""
    if leaf is None or head is None or head[0] <= leaf.index:
        return None
    return opened_receipt(session, leaf.index, leaf.data, leaf.opening, head[1])
