"""The ``/v2/log/*`` endpoints: the log's checkpoints, consistency proofs and witness cosignatures (§11).

Read-only towards the log except for cosignatures, which only add lines to a checkpoint the
log already signed. Appending the escrow's events is ``transparency``'s job (a reporter's own
events, inside the transactions that cause them) and the release pass's (``releases``: releases,
openings and padding, in fixed-size batches), so this module imports no other endpoint module.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query, Response

from consilience.errors import ConsilienceError
from consilience.i18n import _
from consilience.protocol.encoding import b64u_encode
from consilience.protocol.messages import MAX_LOG_SIZE, ConsistencyProof, CosignatureSubmission, InclusionProof
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.state import State
from consilience.storage import log
from consilience.storage import tiles as tile_store
from consilience.tlog import checkpoint as cp
from consilience.tlog import tiles

router = APIRouter(responses=documented(400, 403, 404, 422, 503))
#: Where the app mounts ``router``.
PREFIX = "/v2/log"
#: The C2SP tlog-tiles prefix below ``PREFIX`` (PROTOCOL.md §11.1): ``checkpoint``, ``tile/…``.
TILES = "/tiles"
#: Full tiles and bundles never change; a partial one of a given width never changes either, but
#: the spec lets a log drop it once the full tile exists, so caches keep it only briefly.
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_LIVED = "public, max-age=5"


@router.get("/checkpoint", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def checkpoint(state: State, size: int | None = Query(default=None, ge=1, le=MAX_LOG_SIZE),
               cosigned: bool = Query(default=False)) -> Response:
    """The newest signed checkpoint (or the one of ``size``), with witness cosignatures.

    ``cosigned=1``: the newest one that a witness listed in the current deployment document cosigned,
    what a disclosure or a corroboration statement anchors to (PROTOCOL.md §14.3); 404 if none has been.
    """
    if cosigned and size is not None:
        raise Refusal(400, _("ask for a size or for the newest cosigned checkpoint, not both"))
    with state.db.read() as session:
        if cosigned:
            witnesses = cp.witness_verifiers(state.deployments.current().deployment.witnesses)
            found_head = log.latest_cosigned_checkpoint(session, [w.key_id for w in witnesses])
            if found_head is None:
                raise Refusal(404, _("no witness of this deployment has cosigned a checkpoint of the log yet"))
            size, note = found_head
        elif size is None:
            head = log.latest_checkpoint(session)
            if head is None:
                raise Refusal(404, _("the log is empty"))
            size, note = head
        else:
            found = log.checkpoint_note(session, size)
            if found is None:
                raise Refusal(404, _("the log signed no checkpoint of size {size}", size=size))
            note = found
        text = log.with_cosignatures(session, size, note)
    return Response(text, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/consistency", response_model=ConsistencyProof)
def consistency(state: State, old: int = Query(ge=1, le=MAX_LOG_SIZE),
                new: int = Query(ge=1, le=MAX_LOG_SIZE)) -> ConsistencyProof:
    with state.db.read() as session:
        current = log.size(session)
        if not old <= new <= current:
            raise Refusal(400, _("need 1 <= old <= new <= {current}, the log's size", current=current))
        if log.checkpoint_note(session, new) is None:
            raise Refusal(404, _("the log signed no checkpoint of size {new}", new=new))
        proof = log.consistency_proof(session, old, new) if old < new else []
    return ConsistencyProof(old=old, new=new, proof=[b64u_encode(h) for h in proof])


@router.get("/inclusion", response_model=InclusionProof)
def inclusion(state: State, index: int = Query(ge=0, le=MAX_LOG_SIZE),
              size: int = Query(ge=1, le=MAX_LOG_SIZE)) -> InclusionProof:
    """The inclusion path of leaf ``index`` in the tree the log signed at ``size`` (PROTOCOL.md §14.3).

    Public, like the consistency proofs: every leaf is a commitment (§11), so a path of hashes tells
    nobody what any leaf is; only whoever holds a leaf's opening can use one.
    """
    with state.db.read() as session:
        current = log.size(session)
        if not index < size <= current:
            raise Refusal(400, _("need 0 <= index < size <= {current}, the log's size", current=current))
        if log.checkpoint_note(session, size) is None:
            raise Refusal(404, _("the log signed no checkpoint of size {size}", size=size))
        proof = log.inclusion_proof(session, index, size)
    return InclusionProof(index=index, size=size, proof=[b64u_encode(h) for h in proof])


@router.post("/cosignatures", status_code=201)
def add_cosignature(submission: CosignatureSubmission, state: State) -> dict[str, int]:
    """A witness listed in the deployment document hands in its cosignature.

    Only the lines that verify under a listed witness's key are kept, one per witness, rebuilt
    from the verified values (``checkpoint.accept_cosignatures``); any other line posted with them
    is dropped, so the served checkpoint never carries more lines than there are witnesses.
    """
    deployment = state.deployments.current().deployment
    posted = submission.cosignature if submission.cosignature.endswith("\n") else submission.cosignature + "\n"
    with state.db.write() as session:
        note = log.checkpoint_note(session, submission.size)
        if note is None:
            raise Refusal(404, _("the log signed no checkpoint of size {size}", size=submission.size))
        try:
            body = cp.parse_signed_checkpoint(note)[1].text
            accepted = cp.accept_cosignatures(body, posted, deployment.witnesses, now=int(time.time()) + 300)
        except ConsilienceError as exc:
            raise Refusal(400, _("cosignature does not verify: {exc}", exc=exc)) from exc
        if not accepted:
            raise Refusal(403, _("the cosignature is not from a witness of this deployment"))
        for a in accepted:
            log.add_cosignature(session, submission.size, a.cosignature.key_id, a.line, a.cosignature.timestamp)
    return {"size": submission.size}


_OCTETS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get(f"{TILES}/checkpoint", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def tiles_checkpoint(state: State) -> Response:
    """The newest signed checkpoint with its cosignatures: the tree the tiles below serve (C2SP tlog-tiles)."""
    with state.db.read() as session:
        head = log.latest_checkpoint(session)
        if head is None:
            raise Refusal(404, _("the log is empty"))
        text = log.with_cosignatures(session, head[0], head[1])
    return Response(text, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get(f"{TILES}/tile/{{tile_path:path}}", response_class=Response, responses=_OCTETS)
def tile(tile_path: str, state: State) -> Response:
    """A hash tile ``tile/<L>/<N>[.p/<W>]`` or an entry bundle ``tile/entries/<N>[.p/<W>]``.

    Served for the tree of the newest signed checkpoint: a full tile once that tree has it, and a
    partial one at any width up to the tree's, which covers every earlier checkpoint's partial
    (the spec requires those) and tells nothing the current one does not. 404 beyond that tree.
    """
    try:
        wanted = tiles.parse_path(f"tile/{tile_path}")
    except ConsilienceError as exc:
        raise Refusal(400, _("not a tile path: {exc}", exc=exc)) from exc
    with state.db.read() as session:
        head = log.latest_checkpoint(session)
        size = 0 if head is None else head[0]
        served = tiles.served_tile(size, wanted.level, wanted.index, entries=wanted.entries)
        if served is None or served.width < wanted.width:
            raise Refusal(404, _("the log's tree of size {size} has no {path}", size=size, path=wanted.path))
        data = tile_store.bundle_bytes(session, wanted) if wanted.entries else tile_store.tile_bytes(session, wanted)
    return Response(data, media_type="application/octet-stream",
                    headers={"Cache-Control": IMMUTABLE if wanted.full else SHORT_LIVED})
