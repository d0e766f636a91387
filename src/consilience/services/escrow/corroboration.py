"""Corroboration statements after a match: the counselor asks, reporters consent (PROTOCOL.md §14.4).

The escrow server never makes a statement itself: it finds whom to ask (``storage/corroboration.py``),
checks each reporter's consent against the administrator's certificate of their account before it
keeps it, and hands the counselor the consents with each entry's ciphertexts, leaf opening and the
match's first release leaf. The counselor's client fetches the inclusion proofs from the public log
and checks the whole statement before writing it (``clients/corroboration.py``).

A reporter sees requests only for its own entries that already have a conversation with the
counselors (it knows of the match from that conversation, §13.3); any other statement id is 404
``no such request``, the answer for one that does not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _
from consilience.protocol import accounts
from consilience.protocol import corroboration as co
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import Envelope
from consilience.services.escrow import waiting
from consilience.services.escrow.auth import CounselorCaller, ReporterCaller
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.reporter import path_id
from consilience.services.escrow.state import State
from consilience.storage import corroboration as store
from consilience.storage.repository import utcnow

router = APIRouter(prefix="/v2", responses=documented(400, 401, 403, 404, 409, 422, 429, 503))

#: Asking and consenting are writes of the messaging after a match, under the same budget.
BUDGET = "message_writes_per_account"
BUDGET_WHAT = N_("messages, introductions and corroboration requests from this account")


def _summary(s: store.Summary) -> co.CorroborationSummary:
    return co.CorroborationSummary(statement_id=b64u_encode(s.statement_id), match_id=b64u_encode(s.match_id),
                                   asked_at=s.asked_at, asked=s.asked, consented=s.consented)


def _request(r: store.Request) -> co.CorroborationRequest:
    return co.CorroborationRequest(
        statement_id=b64u_encode(r.statement_id), match_id=b64u_encode(r.match_id), entry_id=b64u_encode(r.entry_id),
        leaf_index=r.leaf_index, content_hash=b64u_encode(r.content_hash), asked_at=r.asked_at,
        consented_at=r.consented_at)


@router.post("/matches/{match_id}/corroborations", status_code=201, response_model=co.CorroborationSummary,
             responses={200: {"model": co.CorroborationSummary, "description": "The same request again"}})
def ask(match_id: str, request: co.CorroborationAsk, response: Response, account: CounselorCaller,
        state: State) -> co.CorroborationSummary:
    """Ask the reporters this match's counselors talk to whether their entries may be included."""
    mid = path_id(match_id, "match id")
    state.limits.charge(BUDGET, account.account_id, BUDGET_WHAT)
    now = utcnow()
    with state.db.write() as session:
        asked = store.ask(session, account, b64u_decode(request.statement_id), mid, now)
    if asked.created:
        waiting.something_waiting(state, asked.reporters, now)
    else:
        response.status_code = 200
    return _summary(asked.summary)


@router.get("/matches/{match_id}/corroborations", response_model=list[co.CorroborationSummary])
def for_match(match_id: str, account: CounselorCaller, state: State) -> list[co.CorroborationSummary]:
    mid = path_id(match_id, "match id")
    with state.db.read() as session:
        return [_summary(s) for s in store.for_match(session, mid)]


@router.get("/matches/{match_id}/corroborations/{statement_id}", response_model=co.CorroborationDetail)
def detail(match_id: str, statement_id: str, account: CounselorCaller, state: State) -> co.CorroborationDetail:
    """The consents, each entry's ciphertexts and leaf opening, and the release leaf (no proofs: the log's)."""
    mid, sid = path_id(match_id, "match id"), path_id(statement_id, "statement id")
    with state.db.read() as session:
        d = store.detail(session, mid, sid)
    return co.CorroborationDetail(
        statement_id=statement_id, match_id=match_id, tag=b64u_encode(d.tag), asked_at=d.summary.asked_at,
        asked=d.summary.asked, consented=d.summary.consented, changed=d.changed,
        release=co.ReleaseLeaf(leaf_index=d.release_index, opening=b64u_encode(d.release_opening)),
        entries=[co.ConsentedEntry(
            entry_id=b64u_encode(e.entry_id), quorum=e.quorum, tags=[b64u_encode(t) for t in e.tags],
            body=b64u_encode(e.body),
            envelopes=[Envelope(key_id=b64u_encode(k), ciphertext=b64u_encode(c)) for k, c in e.envelopes],
            leaf_index=e.leaf_index, opening=b64u_encode(e.opening), certificate=b64u_encode(e.certificate),
            consent=b64u_encode(e.consent)) for e in d.entries])


@router.get("/corroborations", response_model=list[co.CorroborationRequest])
def my_requests(account: ReporterCaller, state: State) -> list[co.CorroborationRequest]:
    """The requests for the caller's own entries; an account nobody asked gets [] like every other."""
    with state.db.read() as session:
        return [_request(r) for r in store.requests_for(session, account.account_id)]


@router.post("/corroborations/{statement_id}/consent", status_code=201, response_model=co.CorroborationRequest,
             responses={200: {"model": co.CorroborationRequest, "description": "Consent already given"}})
def consent(statement_id: str, submission: co.ConsentSubmission, response: Response, account: ReporterCaller,
            state: State) -> co.CorroborationRequest:
    """Keep a reporter's consent, once it verifies under the account key the administrator certified."""
    sid = path_id(statement_id, "statement id")
    entry_id = b64u_decode(submission.entry_id)
    signature = b64u_decode(submission.consent)
    state.limits.charge(BUDGET, account.account_id, BUDGET_WHAT)
    published = state.deployments.current()
    deployment_id = published.deployment.deployment_id
    now = utcnow()
    with state.db.write() as session:
        found = store.pending(session, account.account_id, sid, entry_id)
        r = found.request
        try:
            cert = accounts.verify_certificate(published.admin_key, deployment_id, found.certificate)
            co.verify_consent(cert.account_key, deployment_id, sid, r.match_id, entry_id, r.content_hash,
                              r.leaf_index, signature)
        except (VerificationError, InvalidInput) as exc:
            raise Refusal(400, _("{exc}; sign the request as listed with this account's key", exc=exc)) from None
        created = store.record_consent(session, sid, entry_id, signature, now)
        mine = store.pending(session, account.account_id, sid, entry_id).request
    if not created:
        response.status_code = 200
    return _request(mine)
