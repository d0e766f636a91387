"""Who read my record: each counselor opening of one of the reporter's entries (PROTOCOL.md §13.6).

The server lists the readings of the reporter's own entry; each names the counselor by key id and,
once a release pass has logged it, carries a receipt of the opening's leaf. Nothing here takes the
server's word: each receipt is checked against the log key of the administrator-signed deployment
document, its leaf must be an opening by that key id at that time, and the counselor's name comes
from the same document. A reading whose leaf is not logged yet is shown as such; one whose receipt
does not verify is shown as not verified, with why, and never named as if it were.

A reading is the counselor's act, like reaching out: only an entry whose body a counselor's
opening handed out has readers, so the list tells a reporter of a match only once a counselor read
their record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from consilience.clients import receipts
from consilience.clients.reporter import Session
from consilience.clients.results import JsonObject
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _
from consilience.protocol.encoding import b64u_decode

#: How a reading stands against the log.
#: (values of ``--json``: a reader translates them with ``_()`` where they are shown)
LOGGED, NOT_LOGGED, NOT_VERIFIED = "logged", N_("not in the log yet"), N_("receipt does not verify")


@dataclass(frozen=True)
class Reading:
    """One counselor opening of the entry."""

    key_id: str  # b64u
    #: the counselor's name in the deployment document in force; None if it no longer lists that key
    counselor: str | None
    opened_at: datetime
    #: LOGGED, NOT_LOGGED or NOT_VERIFIED
    log: str
    #: why the receipt did not verify (NOT_VERIFIED only)
    problem: str | None = None
    #: where the verified receipt was kept ('consilience verify' checks it again, offline)
    receipt: str | None = None

    def to_json(self) -> JsonObject:
        return {"counselor_key_id": self.key_id, "counselor": self.counselor, "opened_at": self.opened_at.isoformat(),
                "log": self.log, "problem": self.problem, "receipt": self.receipt}


@dataclass(frozen=True)
class Readers:
    """The readings of one record's entry, oldest first."""

    record_id: str
    entry_id: str  # b64u
    readings: tuple[Reading, ...]

    def to_json(self) -> JsonObject:
        return {"record_id": self.record_id, "entry_id": self.entry_id,
                "readers": [r.to_json() for r in self.readings]}


def readers(session: Session, record_id: str) -> Readers:
    """Who read record ``record_id``, each reading checked against the log and named from the document."""
    record = session.wallet.record(record_id)
    state = record.escrow
    if state is None:
        raise InvalidInput(_("Record {record_id} is private: it was never put in escrow, so no counselor has read it.",
                             record_id=record_id))
    if state.status == "sending" and not state.received_at:
        raise InvalidInput(_("Record {record_id} has not reached the escrow server yet, so no counselor has read it. "
                             "'consilience reporter retry' sends it.", record_id=record_id))
    entry_id = b64u_decode(state.entry_id, length=16)
    with session.client() as client:
        deployment = session.deployment(client)
        listed = client.readers(entry_id)
    session.save()  # a renewed session and the document's serial
    names = {c.key_id: c.name for c in deployment.counselors}
    readings = []
    for r in listed.readers:
        key_id = b64u_decode(r.counselor_key_id, length=16)
        if r.receipt is None:
            readings.append(Reading(r.counselor_key_id, names.get(key_id), r.opened_at, NOT_LOGGED))
            continue
        try:
            receipts.check_reading(r.receipt, deployment, key_id, r.opened_at)
        except VerificationError as exc:
            readings.append(Reading(r.counselor_key_id, None, r.opened_at, NOT_VERIFIED, problem=str(exc)))
            continue
        kept = receipts.save(session.receipts_dir, r.receipt, deployment, state.entry_id, "opening",
                             signed=session.signed_deployment)
        readings.append(Reading(r.counselor_key_id, names.get(key_id), r.opened_at, LOGGED, receipt=str(kept)))
    return Readers(record_id, state.entry_id, tuple(readings))
