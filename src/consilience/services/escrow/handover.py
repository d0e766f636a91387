"""Handover: a counselor re-seals what is addressed to it for another counselor (PROTOCOL.md §13.6).

``GET /v2/handover/{key_id}`` pages through the envelopes of active entries and the wrapped item
keys (messages, cards, notes) that the caller holds and the counselor ``key_id`` lacks; the caller's
client opens each with its own key and seals it again to ``key_id``'s public key from the signed
document, and ``POST /v2/handover/{key_id}`` stores what comes back only where ``key_id`` still has
none. This gives the caller nothing new: it reads only what was already addressed to it. And the
server learns nothing new either: it sees the same ciphertext sizes it stores anyway.

``key_id`` must be a counselor of the deployment document in force other than the caller (a revoked
counselor has left it): anything else is 404, as for a counselor the server never heard of.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError

from consilience.errors import InvalidInput
from consilience.i18n import N_, _
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import (
    HANDOVER_PAGE,
    HandoverCursor,
    HandoverEnvelope,
    HandoverPage,
    HandoverStored,
    HandoverSubmission,
    HandoverWrap,
)
from consilience.services.escrow.auth import CounselorCaller
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.reporter import path_id
from consilience.services.escrow.state import ServerState, State
from consilience.storage import handover
from consilience.storage.repository import AccountInfo

router = APIRouter(prefix="/v2", responses=documented(400, 401, 403, 404, 422, 503))

NO_SUCH_COUNSELOR = N_("the deployment document in force lists no counselor with that key id; hand over to a "
                       "counselor it lists ('consilience counselor handover --to NAME')")


def _keys(state: ServerState, account: AccountInfo, key_id: str) -> tuple[bytes, bytes]:
    """(the caller's key id, the target's), the target a counselor of the document in force."""
    mine = account.counselor_key_id
    if mine is None:
        raise Refusal(403, _("this counselor account has no key id"))
    target = path_id(key_id, "key id")
    if target == mine:
        raise Refusal(422, _("that is your own key: hand over to another counselor"))
    if target not in {c.key_id for c in state.deployments.current().deployment.counselors}:
        raise Refusal(404, _(NO_SUCH_COUNSELOR))
    return mine, target


def _cursor(text: str) -> tuple[bytes | None, tuple[int, bytes] | None, bool]:
    """(envelopes after, wraps after, envelopes done) from "", "e.<entry id>" or "w.<kind>.<item id>"."""
    try:
        if text == "":
            return None, None, False
        parts = text.split(".")
        if parts[0] == "e" and len(parts) == 2:
            return b64u_decode(parts[1], length=16), None, False
        if parts[0] == "w" and len(parts) == 3 and parts[1] in ("1", "2", "3"):
            return None, (int(parts[1]), b64u_decode(parts[2], length=16)), True
    except InvalidInput:
        pass
    raise Refusal(400, _("after: give the next_after of the previous page, or nothing to start"))


@router.get("/handover/{key_id}", response_model=HandoverPage)
def pending(key_id: str, account: CounselorCaller, state: State, after: HandoverCursor = "") -> HandoverPage:
    """What the caller holds and ``key_id`` lacks: envelopes first (by entry id), then item keys."""
    mine, target = _keys(state, account, key_id)
    envelopes_after, wraps_after, envelopes_done = _cursor(after)
    with state.db.read() as session:
        envelopes = [] if envelopes_done else handover.envelopes_to_hand_over(session, mine, target,
                                                                               envelopes_after, HANDOVER_PAGE + 1)
        room = HANDOVER_PAGE - len(envelopes)
        wraps = handover.wraps_to_hand_over(session, mine, target, wraps_after, room + 1) if room >= 0 else []
    more = len(envelopes) > HANDOVER_PAGE or len(wraps) > room
    envelopes, wraps = envelopes[:HANDOVER_PAGE], wraps[:max(room, 0)]
    cursor = None
    if more:
        cursor = (f"w.{wraps[-1].kind}.{b64u_encode(wraps[-1].item_id)}" if wraps
                  else f"e.{b64u_encode(envelopes[-1].entry_id)}")
    return HandoverPage(
        envelopes=[HandoverEnvelope(entry_id=b64u_encode(e.entry_id), envelope=b64u_encode(e.ciphertext))
                   for e in envelopes],
        wraps=[HandoverWrap(kind=w.kind, item_id=b64u_encode(w.item_id), scope=b64u_encode(w.scope),
                            wrap=b64u_encode(w.wrap)) for w in wraps],
        next_after=cursor)


@router.post("/handover/{key_id}", response_model=HandoverStored)
def store(key_id: str, submission: HandoverSubmission, account: CounselorCaller, state: State) -> HandoverStored:
    """Store the re-sealed envelopes and wraps where ``key_id`` has none and the caller has its own."""
    mine, target = _keys(state, account, key_id)
    envelopes = [(b64u_decode(e.entry_id), b64u_decode(e.ciphertext)) for e in submission.envelopes]
    wraps = [(w.kind, b64u_decode(w.item_id), b64u_decode(w.wrap)) for w in submission.wraps]
    if len({e for e, _ in envelopes}) != len(envelopes) or len({(k, i) for k, i, _ in wraps}) != len(wraps):
        raise Refusal(422, _("give each envelope and each wrap once"))
    for attempt in range(2):
        try:
            with state.db.write() as session:
                stored = (handover.store_envelopes(session, mine, target, envelopes)
                          + handover.store_wraps(session, mine, target, wraps))
        except IntegrityError:
            if attempt:  # another counselor handed the same item over at the same moment; the retry skips it
                raise
            continue
        return HandoverStored(stored=stored)
    raise AssertionError("unreachable")
