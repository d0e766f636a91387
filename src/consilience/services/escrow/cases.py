"""Counselor endpoints: cases (PROTOCOL.md §13.5).

A case is what counselors do about one person: who of them owns it, how far they got (new,
reaching out, in contact, closed), which matches name that person (a counselor links them), and
notes sealed to every counselor key. Reporters have nothing here: every endpoint is for counselor
accounts (a reporter's token is refused with 403), and the server reads no note.

The list is ordered by what needs attention first; a case nobody has reached out to within
``Settings.reach_out_days`` of its match is flagged overdue.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from consilience.i18n import N_, _
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import Case, CaseLink, CaseMatch, CaseNote, CaseNoteSubmission, CaseUpdate
from consilience.services.escrow.auth import CounselorCaller
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.reporter import path_id
from consilience.services.escrow.state import ServerState, State
from consilience.storage import cases
from consilience.storage.repository import AccountInfo, utcnow

router = APIRouter(prefix="/v2", responses=documented(400, 401, 403, 404, 409, 422, 429, 503))

NOT_A_COUNSELOR_KEY = N_("no counselor of this deployment has that key id; `consilience counselor cases` names the "
                         "owners, and the deployment document lists every counselor")


def case_view(row: cases.CaseRow) -> Case:
    return Case(
        case_id=b64u_encode(row.case_id),
        matches=[CaseMatch(match_id=b64u_encode(m.match_id), released=m.released, created_at=m.created_at)
                 for m in row.matches],
        owner_key_id=None if row.owner_key_id is None else b64u_encode(row.owner_key_id),
        owner=row.owner,
        state=row.state,
        created_at=row.created_at,
        updated_at=row.updated_at,
        reached_out_at=row.reached_out_at,
        overdue=row.overdue,
        waiting_reply=row.waiting_reply,
        attention=row.attention,
    )


def _counselor_key_ids(state: ServerState) -> list[bytes]:
    return [c.key_id for c in state.deployments.current().deployment.counselors]


@router.get("/cases", response_model=list[Case])
def list_cases(account: CounselorCaller, state: State) -> list[Case]:
    """Every case, most urgent first. A write: matches the release pass made since get their case here."""
    with state.db.write() as session:
        rows = cases.list_cases(session, utcnow(), state.settings.reach_out_days)
    return [case_view(r) for r in rows]


@router.put("/cases/{case_id}", response_model=Case)
def update_case(case_id: str, request: CaseUpdate, account: CounselorCaller, state: State) -> Case:
    cid = path_id(case_id, "case id")
    owner: bytes | None | cases.Unchanged = cases.UNCHANGED
    if "owner_key_id" in request.model_fields_set:
        owner = None if request.owner_key_id is None else b64u_decode(request.owner_key_id, length=16)
        if owner is not None and owner not in _counselor_key_ids(state):
            raise Refusal(400, _(NOT_A_COUNSELOR_KEY))
    with state.db.write() as session:
        row = cases.update_case(session, cid, utcnow(), state.settings.reach_out_days, owner_key_id=owner,
                                state=cases.UNCHANGED if request.state is None else request.state)
    return case_view(row)


@router.post("/cases/{case_id}/links", response_model=Case)
def link_match(case_id: str, request: CaseLink, account: CounselorCaller, state: State) -> Case:
    """This match names the case's person too: its case is merged into this one (notes move along)."""
    cid = path_id(case_id, "case id")
    with state.db.write() as session:
        row = cases.link(session, cid, b64u_decode(request.match_id, length=16), utcnow(),
                         state.settings.reach_out_days)
    return case_view(row)


def _own_key_id(account: AccountInfo, state: ServerState) -> bytes:
    key_id = account.counselor_key_id
    if key_id is None or key_id not in _counselor_key_ids(state):
        raise Refusal(403, _("this counselor account's key is not among the deployment's counselors"))
    return key_id


@router.get("/cases/{case_id}/notes", response_model=list[CaseNote])
def list_notes(case_id: str, account: CounselorCaller, state: State) -> list[CaseNote]:
    cid = path_id(case_id, "case id")
    with state.db.read() as session:
        rows = cases.list_notes(session, cid, account.counselor_key_id)
    return [CaseNote(note_id=b64u_encode(r.note_id), scope=b64u_encode(r.scope),
                     author_key_id=None if r.author_key_id is None else b64u_encode(r.author_key_id),
                     content=b64u_encode(r.content), wrap=None if r.wrap is None else b64u_encode(r.wrap),
                     created_at=r.created_at)
            for r in rows]


@router.post("/cases/{case_id}/notes", status_code=201)
def add_note(case_id: str, request: CaseNoteSubmission, account: CounselorCaller, state: State,
             response: Response) -> dict[str, str]:
    """A note sealed to every counselor key of the document in force, so no colleague is left unable to
    read it; the same note again is 200."""
    cid = path_id(case_id, "case id")
    _own_key_id(account, state)
    wanted = set(_counselor_key_ids(state))
    wraps = [(b64u_decode(w.key_id, length=16), b64u_decode(w.wrap)) for w in request.wraps]
    given = {k for k, _ in wraps}
    if given != wanted:
        raise Refusal(400, _("a note is sealed to every counselor of the deployment and no one else; fetch the "
                             "deployment document again and seal it to the counselors it lists"))
    with state.db.write() as session:
        stored = cases.add_note(session, cid, b64u_decode(request.note_id, length=16), account.account_id,
                                b64u_decode(request.content), wraps, utcnow())
    if not stored:
        response.status_code = 200
    return {"note_id": request.note_id}
