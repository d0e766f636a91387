"""Who read a record: ``GET /v2/entries/{id}/readers`` for the entry's own reporter (PROTOCOL.md §13.6).

A reading is a counselor's opening of a match that handed out this entry's body. It is the
counselor's act, like reaching out: an entry released but not yet opened has no reader, and one
whose shares were fetched without its body (not released in that match) has none either, so the
list never tells a reporter that a match exists before a counselor read their record. Each
reading names the counselor by key id (the client names them from the signed deployment document)
and carries a receipt of the opening's leaf once a release pass has logged it.
"""

from __future__ import annotations

from fastapi import APIRouter

from consilience.protocol.encoding import b64u_encode
from consilience.protocol.messages import Reader, Readers
from consilience.services.escrow import transparency
from consilience.services.escrow.auth import ReporterCaller
from consilience.services.escrow.errors import documented
from consilience.services.escrow.reporter import path_id
from consilience.services.escrow.state import State
from consilience.storage import readers

router = APIRouter(prefix="/v2", responses=documented(400, 401, 403, 404, 429, 503))


@router.get("/entries/{entry_id}/readers", response_model=Readers)
def list_readers(entry_id: str, account: ReporterCaller, state: State) -> Readers:
    """The counselor openings of the caller's own entry; another account's entry is 404, as none."""
    with state.db.read() as session:
        found = readers.readings(session, account.account_id, path_id(entry_id))
        return Readers(readers=[Reader(counselor_key_id=b64u_encode(r.key_id), opened_at=r.opened_at,
                                       receipt=transparency.event_receipt(session, r.event)) for r in found])
