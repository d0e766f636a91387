"""The key servers' bulletin board (PROTOCOL.md §7.2): the escrow server relays their key generation.

The key servers run their distributed key generation (``protocol/dkg.py``) by posting signed
messages here and reading everyone's back. The board is untrusted by design: each message is
signed by a key server listed in the deployment document, and the shares inside are sealed to
their recipients, so the escrow server learns nothing and can forge nothing; it can only drop or
delay messages, which the protocol's complaints and deadlines handle.

It still refuses what is not a key-generation message of this deployment — anything
``dkg.parse(deployment.dkg_parameters(epoch), data)`` refuses (422) — so that the board cannot be
used to store arbitrary data, and it budgets posts per address (checking a deal's signature and
commitments costs milliseconds). Posting the same bytes again answers 200 with the same sequence
number and stores nothing. Reading is public and paged.

    POST /v2/board {epoch, message: b64u}          → 201 {seq} (200 if already there)
    GET  /v2/board/{epoch}?after=N                 → {messages: [{seq, message, received_at}], next_after}
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.exc import IntegrityError

from consilience.errors import ConsilienceError
from consilience.i18n import N_, _
from consilience.protocol import dkg
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import BoardMessage, BoardPage, BoardPost
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.limits import BOARD_PAGE_SIZE
from consilience.services.escrow.state import State
from consilience.services.limits import client_address
from consilience.storage import repository
from consilience.storage.repository import utcnow

router = APIRouter(prefix="/v2/board", responses=documented(400, 413, 422, 429, 503))


@router.post("", status_code=201, responses={200: {"description": "The same message was already on the board"}})
def post(posted: BoardPost, http: Request, response: Response, state: State) -> dict[str, int]:
    state.limits.charge("board_posts_per_address", client_address(http), N_("board messages from this address"))
    data = b64u_decode(posted.message, field="message")
    deployment = state.deployments.current().deployment
    try:
        dkg.parse(deployment.dkg_parameters(posted.epoch), data)
    except ConsilienceError as exc:
        raise Refusal(422, _("not a key-generation message of this deployment's key servers: {exc}", exc=exc)) from None
    for attempt in range(2):
        try:
            with state.db.write() as session:
                seq, created = repository.post_board_message(session, posted.epoch, data, utcnow())
        except IntegrityError:
            if attempt:
                raise
            continue  # the same bytes were posted concurrently; the retry finds them
        if not created:
            response.status_code = 200
        return {"seq": seq}
    raise AssertionError("unreachable")


@router.get("/{epoch}", response_model=BoardPage)
def read(epoch: int, state: State, after: int = Query(default=0, ge=0, lt=2**63)) -> BoardPage:
    if not 0 <= epoch < 2**32:
        raise Refusal(400, _("an epoch is a number from 0 to 2^32 - 1"))
    with state.db.read() as session:
        rows = repository.board_messages(session, epoch, after, BOARD_PAGE_SIZE)
    return BoardPage(messages=[BoardMessage(seq=r.seq, message=b64u_encode(r.message), received_at=r.received_at)
                               for r in rows],
                     next_after=rows[-1].seq if rows else after)
