"""Counselor endpoints: matches (PROTOCOL.md §8).

A counselor sees only its own envelope of each entry (the one addressed to
its account's ``counselor_key_id``) and bodies only of released entries.
Entries escrowed before this counselor's key was in the deployment have no
envelope for it and are left out: the counselor could do nothing with them.

No account ids (property (f) of protocol v2): an entry row carries its id, quorum, whether it is
released, the envelope and the body (``protocol/messages.py``'s ``MatchEntry``). The only
per-account value a counselor meets is the abscissa inside the envelope, a pseudonym only the key
servers can map to an account.

Opening a match is recorded at once in ``match_openings`` (the audit trail: the counselor's key id, the
opening event, and which entries' bodies it handed out) and logged by the next release pass, batched
and padded like the releases, not in this request. The event names the counselor's key id, so the
reporter of an entry whose body was handed out sees the reading and who did it (PROTOCOL.md §13.6).
"""

from __future__ import annotations

from fastapi import APIRouter

from consilience.i18n import _
from consilience.protocol import events
from consilience.protocol.encoding import b64u_encode
from consilience.protocol.messages import MatchDetail, MatchEntry, MatchSummary
from consilience.services.escrow import transparency
from consilience.services.escrow.auth import CounselorCaller
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.reporter import path_id
from consilience.services.escrow.state import State
from consilience.storage import repository
from consilience.storage.repository import utcnow

router = APIRouter(prefix="/v2", responses=documented(400, 401, 403, 404, 422, 429, 503))


@router.get("/matches", response_model=list[MatchSummary])
def list_matches(account: CounselorCaller,
                 state: State) -> list[MatchSummary]:
    with state.db.read() as session:
        rows = repository.list_matches(session)
    return [MatchSummary(match_id=b64u_encode(r.match_id), created_at=r.created_at, updated_at=r.updated_at,
                         released=r.released) for r in rows]


@router.get("/matches/{match_id}", response_model=MatchDetail)
def open_match(match_id: str, account: CounselorCaller,
               state: State) -> MatchDetail:
    key_id = account.counselor_key_id
    if key_id is None:
        raise Refusal(403, _("this counselor account has no key id"))
    now = utcnow()
    wanted = path_id(match_id, "match id")
    event = events.opening_event(wanted, key_id, now)  # the key id: reporters name it from the document
    with state.db.write() as session:
        match, rows = repository.open_match(session, wanted, account.account_id, key_id, now, event=event)
        transparency.record_opening(session, event, now)
        tag = match.tag
    return MatchDetail(
        match_id=match_id,
        tag=b64u_encode(tag),
        entries=[
            MatchEntry(
                entry_id=b64u_encode(r.entry_id),
                quorum=r.quorum,
                released=r.released,
                envelope=b64u_encode(r.envelope),
                body=b64u_encode(r.body) if r.body is not None else None,
            )
            for r in rows
            if r.envelope is not None
        ],
    )
