"""The escrow server's side of the transparency log (PROTOCOL.md §11).

Events are logged in the transaction that makes them happen, and the log
signs a checkpoint before that transaction commits, so every answer that
acknowledges an event can carry a receipt for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from consilience.errors import ConsilienceError
from consilience.protocol import events
from consilience.protocol.encoding import b64u_encode
from consilience.protocol.messages import MAX_LOG_SIZE, ConsistencyProof, CosignatureSubmission
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.state import ServerState, State
from consilience.storage import log
from consilience.storage.repository import MatchChange
from consilience.tlog import checkpoint as cp
from consilience.tlog import receipt

router = APIRouter(prefix="/v1/log", responses=documented(400, 403, 404, 422, 503))


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


@router.get("/checkpoint", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def checkpoint(state: State, size: int | None = Query(default=None, ge=1, le=MAX_LOG_SIZE)) -> Response:
    """The newest signed checkpoint (or the one of ``size``), with witness cosignatures."""
    with state.db.read() as session:
        if size is None:
            head = log.latest_checkpoint(session)
            if head is None:
                raise Refusal(404, "the log is empty")
            size, note = head
        else:
            found = log.checkpoint_note(session, size)
            if found is None:
                raise Refusal(404, f"the log signed no checkpoint of size {size}")
            note = found
        text = log.with_cosignatures(session, size, note)
    return Response(text, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/consistency", response_model=ConsistencyProof)
def consistency(state: State, old: int = Query(ge=1, le=MAX_LOG_SIZE),
                new: int = Query(ge=1, le=MAX_LOG_SIZE)) -> ConsistencyProof:
    with state.db.read() as session:
        current = log.size(session)
        if not old <= new <= current:
            raise Refusal(400, f"need 1 <= old <= new <= {current}, the log's size")
        if log.checkpoint_note(session, new) is None:
            raise Refusal(404, f"the log signed no checkpoint of size {new}")
        proof = log.consistency_proof(session, old, new) if old < new else []
    return ConsistencyProof(old=old, new=new, proof=[b64u_encode(h) for h in proof])


@router.post("/cosignatures", status_code=201)
def add_cosignature(submission: CosignatureSubmission, state: State) -> dict[str, int]:
    """A witness listed in the deployment document hands in its cosignature."""
    deployment = state.deployments.current().deployment
    witnesses = {w.key_id: w for w in (cp.CosignatureV1Verifier.from_vkey(v) for v in deployment.witnesses)}
    line = submission.cosignature if submission.cosignature.endswith("\n") else submission.cosignature + "\n"
    with state.db.write() as session:
        note = log.checkpoint_note(session, submission.size)
        if note is None:
            raise Refusal(404, f"the log signed no checkpoint of size {submission.size}")
        try:
            opened = cp.open_checkpoint(note + line, deployment.log_vkey, witness_vkeys=list(deployment.witnesses),
                                        now=int(time.time()) + 300)
        except ConsilienceError as exc:
            raise Refusal(400, f"cosignature does not verify: {exc}") from exc
        if not opened.cosignatures:
            raise Refusal(403, "the cosignature is not from a witness of this deployment")
        cosig = opened.cosignatures[0]
        assert cosig.key_id in witnesses
        log.add_cosignature(session, submission.size, cosig.key_id, line, cosig.timestamp)
    return {"size": submission.size}
