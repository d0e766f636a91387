"""Conversations and introductions after a match (PROTOCOL.md §13.3, §13.4).

The server stores sealed items and their order, and decides who may see which: a reporter only the
conversations it is a member of (everything else is 404, as if it did not exist), a counselor every
conversation of the deployment. It reads nothing it stores. The rules themselves live in
``storage/conversations.py``; this module is their HTTP face, the budget, and what happens after a
commit: telling the other side, in generic words, that something is waiting (``waiting``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from consilience.crypto import hpke
from consilience.i18n import N_, _
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import (
    MESSAGE_PAGE_SIZE,
    Conversation,
    ConversationRequest,
    IntroductionAcceptance,
    IntroductionAccepted,
    IntroductionCard,
    IntroductionDetail,
    IntroductionForReporter,
    IntroductionRequest,
    MessageKeyRequest,
    MessagePage,
    MessageSubmission,
    PostedMessage,
    StoredMessage,
    Wrap,
)
from consilience.services.escrow import waiting
from consilience.services.escrow.auth import CounselorCaller, ReporterCaller, current_account
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.reporter import parse_message_key, path_id
from consilience.services.escrow.state import State
from consilience.storage import cases
from consilience.storage import conversations as store
from consilience.storage.repository import AccountInfo, utcnow

router = APIRouter(prefix="/v2", responses=documented(400, 401, 403, 404, 409, 422, 429, 503))

#: Handler parameter type: an authenticated caller of either role (the storage layer tells them apart).
AnyCaller = Annotated[AccountInfo, Depends(current_account)]

BUDGET = "message_writes_per_account"
BUDGET_WHAT = N_("messages and introductions from this account")


def own_key_id(session: Session, account: AccountInfo) -> bytes | None:
    """The key the caller reads sealed items with: a counselor's key id, a reporter's messaging key id."""
    if account.role == "counselor":
        return account.counselor_key_id
    key = store.message_key(session, account.account_id)
    return hpke.key_id(key[:hpke.PUBLIC_KEY_BYTES]) if key is not None else None


def wraps_of(wraps: list[Wrap]) -> list[tuple[bytes, bytes]]:
    return [(b64u_decode(w.key_id), b64u_decode(w.wrap)) for w in wraps]


def conversation_info(row: store.ConversationRow, account: AccountInfo) -> Conversation:
    """Reporters are never told a match id: the match is the counselors' business."""
    return Conversation(
        conversation_id=b64u_encode(row.conversation_id), kind=row.kind,
        match_id=b64u_encode(row.match_id) if account.role == "counselor" else None,
        entry_id=b64u_encode(row.entry_id) if row.entry_id is not None else None,
        introduction_id=b64u_encode(row.introduction_id) if row.introduction_id is not None else None,
        created_at=row.created_at, updated_at=row.updated_at, last_seq=row.messages, messages=row.messages)


def counselor_view(row: store.IntroductionRow) -> IntroductionDetail:
    return IntroductionDetail(
        introduction_id=b64u_encode(row.introduction_id), match_id=b64u_encode(row.match_id),
        group_conversation_id=b64u_encode(row.group_conversation_id),
        invited=[b64u_encode(c) for c in row.invited],
        accepted=[IntroductionAccepted(
            conversation_id=b64u_encode(a.conversation_id),
            card=IntroductionCard(content=b64u_encode(a.content),
                                  wrap=b64u_encode(a.wrap) if a.wrap is not None else None),
            accepted_at=a.accepted_at) for a in row.accepted])


# -- messaging key ------------------------------------------------------------------


@router.put("/account/message-key", status_code=204)
def put_message_key(request: MessageKeyRequest, account: ReporterCaller, state: State) -> Response:
    """For a wallet made before messaging: registered once; the same key again changes nothing."""
    state.limits.charge(BUDGET, account.account_id, BUDGET_WHAT)
    key = parse_message_key(state, request.message_key)
    with state.db.write() as session:
        store.set_message_key(session, account.account_id, key)
    return Response(status_code=204)


# -- conversations ------------------------------------------------------------------


@router.post("/conversations", status_code=201, response_model=Conversation,
             responses={200: {"model": Conversation, "description": "The same conversation asked for again"}})
def create_conversation(request: ConversationRequest, response: Response, account: CounselorCaller,
                        state: State) -> Conversation:
    state.limits.charge(BUDGET, account.account_id, BUDGET_WHAT)
    if account.counselor_key_id is None:
        raise Refusal(403, _("this counselor account has no key id"))
    try:
        with state.db.write() as session:
            row, created = store.create_direct(session, b64u_decode(request.conversation_id),
                                               b64u_decode(request.match_id), b64u_decode(request.entry_id),
                                               account, utcnow())
    except store.ConversationExists as exc:
        raise Refusal(409, str(exc), error="conversation_exists",
                      conversation_id=b64u_encode(exc.conversation_id)) from None
    if not created:
        response.status_code = 200
    return conversation_info(row, account)


@router.get("/conversations", response_model=list[Conversation])
def list_conversations(account: AnyCaller, state: State,
                       match_id: Annotated[str | None, Query(max_length=64)] = None) -> list[Conversation]:
    """A reporter's own conversations; a counselor's: every one, or one match's."""
    if match_id is not None and account.role != "counselor":
        raise Refusal(400, _("only counselors list conversations by match; leave match_id out"))
    wanted = path_id(match_id, "match id") if match_id is not None else None
    with state.db.read() as session:
        rows = store.list_conversations(session, account, wanted)
    return [conversation_info(r, account) for r in rows]


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
def list_messages(conversation_id: str, account: AnyCaller, state: State,
                  after: Annotated[int, Query(ge=0, lt=2**63)] = 0,
                  limit: Annotated[int, Query(ge=1, le=MESSAGE_PAGE_SIZE)] = MESSAGE_PAGE_SIZE) -> MessagePage:
    cid = path_id(conversation_id, "conversation id")
    with state.db.read() as session:
        rows = store.page_messages(session, account, cid, after, limit, own_key_id(session, account))
    return MessagePage(
        messages=[StoredMessage(seq=r.seq, message_id=b64u_encode(r.message_id),
                                      sender=r.sender_role,
                                      content=b64u_encode(r.content),
                                      wrap=b64u_encode(r.wrap) if r.wrap is not None else None,
                                      received_at=r.received_at) for r in rows],
        next_after=rows[-1].seq if rows else after)


@router.post("/conversations/{conversation_id}/messages", status_code=201, response_model=PostedMessage,
             responses={200: {"model": PostedMessage, "description": "The same message sent again"}})
def post_message(conversation_id: str, submission: MessageSubmission, response: Response, account: AnyCaller,
                 state: State) -> PostedMessage:
    cid = path_id(conversation_id, "conversation id")
    state.limits.charge(BUDGET, account.account_id, BUDGET_WHAT)
    now = utcnow()
    with state.db.write() as session:
        stored = store.add_message(session, account, cid, b64u_decode(submission.message_id),
                                   b64u_decode(submission.content), wraps_of(submission.wraps),
                                   own_key_id(session, account), now)
        if stored.created and account.role == "counselor" and stored.kind == "direct":
            cases.reached_out(session, stored.match_id, now)  # the case is no longer waiting for anyone
        if account.role == "counselor":
            told = list(stored.members)
        else:
            told = store.counselor_account_ids(session) + [m for m in stored.members if m != account.account_id]
    if not stored.created:
        response.status_code = 200
    else:
        waiting.something_waiting(state, told, now)
    return PostedMessage(seq=stored.seq, received_at=stored.received_at)


# -- introductions ------------------------------------------------------------------


@router.post("/matches/{match_id}/introductions", status_code=201, response_model=IntroductionDetail,
             responses={200: {"model": IntroductionDetail, "description": "Nothing new: the same again"}})
def create_introduction(match_id: str, request: IntroductionRequest, response: Response, account: CounselorCaller,
                        state: State) -> IntroductionDetail:
    mid = path_id(match_id, "match id")
    state.limits.charge(BUDGET, account.account_id, BUDGET_WHAT)
    with state.db.write() as session:
        row, created = store.create_introduction(
            session, account, b64u_decode(request.introduction_id), mid, b64u_decode(request.group_conversation_id),
            [b64u_decode(c) for c in request.conversation_ids], utcnow())
    if not created:
        response.status_code = 200
    return counselor_view(row)


@router.get("/introductions/{introduction_id}",
            response_model=IntroductionDetail | IntroductionForReporter)
def get_introduction(introduction_id: str, account: AnyCaller,
                     state: State) -> IntroductionDetail | IntroductionForReporter:
    """A counselor sees the invitations and the cards; an invited reporter only whether it accepted itself."""
    iid = path_id(introduction_id, "introduction id")
    with state.db.read() as session:
        if account.role == "counselor":
            return counselor_view(store.counselor_introduction(session, iid, account.counselor_key_id))
        mine = store.reporter_introduction(session, account.account_id, iid)
    return IntroductionForReporter(introduction_id=introduction_id,
                                    group_conversation_id=b64u_encode(mine.group_conversation_id),
                                    accepted=mine.accepted)


@router.post("/introductions/{introduction_id}/accept", status_code=201, response_model=IntroductionForReporter,
             responses={200: {"model": IntroductionForReporter, "description": "The same card sent again"}})
def accept_introduction(introduction_id: str, request: IntroductionAcceptance, response: Response,
                        account: ReporterCaller, state: State) -> IntroductionForReporter:
    """Joins the group conversation. Declining is not an endpoint: a decline is sent nowhere."""
    iid = path_id(introduction_id, "introduction id")
    state.limits.charge(BUDGET, account.account_id, BUDGET_WHAT)
    now = utcnow()
    with state.db.write() as session:
        created = store.accept_introduction(session, account.account_id, iid, b64u_decode(request.conversation_id),
                                            b64u_decode(request.card.content), wraps_of(request.card.wraps),
                                            own_key_id(session, account), now)
        mine = store.reporter_introduction(session, account.account_id, iid)
        counselors = store.counselor_account_ids(session)
    if created:
        waiting.something_waiting(state, counselors, now)
    else:
        response.status_code = 200
    return IntroductionForReporter(introduction_id=introduction_id,
                                    group_conversation_id=b64u_encode(mine.group_conversation_id),
                                    accepted=mine.accepted)
