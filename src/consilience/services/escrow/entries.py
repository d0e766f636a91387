"""Submission, replacement and withdrawal of entries (PROTOCOL.md §8).

The order of checks matters and is the same for POST and PUT: schema (by
pydantic, before this module), then distinctness, then the stored entry
(idempotent retry or conflict), then the current deployment document, then
the account's quotas on the bytes and number of its active entries (413
``over_storage_quota`` / ``too_many_entries``, ``limits.Quotas``), then one
active entry per account and person (409 ``already_named``), and only then
a write. Each request is a single transaction, committed before the
answer; it sequences the event for the log (``transparency.record_entry``), and
the answer then waits up to ``settings.receipt_wait`` for this process's
integrator to log it, carrying the receipt if it did, else ``receipt: null,
sequenced: true`` (PROTOCOL.md §11).

No matching oracle. Nothing here counts or releases: the request only queues
its tags for the release pass (``releases``), so its answer, its receipt and
the log's size in that receipt are the same whether or not anyone else named
the same person. Reporters see only "escrowed" or "withdrawn" (``status``),
and may edit or withdraw an entry whether or not it was released.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from fastapi import Response
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consilience.i18n import _
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import EntryDetail, EntryReceipt, EntrySubmission, EntrySummary, Envelope
from consilience.services.escrow import integrator, transparency
from consilience.services.escrow.errors import Refusal
from consilience.services.escrow.limits import OVER_STORAGE_QUOTA, TOO_MANY_ENTRIES, Quotas
from consilience.services.escrow.state import ServerState
from consilience.storage import quotas, repository
from consilience.storage.models import Entry
from consilience.storage.repository import AccountInfo, Conflict, NewEntry, StoredEntry, utcnow


def status(entry: Entry | StoredEntry) -> Literal["escrowed", "withdrawn"]:
    """What the reporter is told: released entries stay "escrowed" to them (PROTOCOL.md §8)."""
    return "withdrawn" if entry.status == "withdrawn" else "escrowed"


def decode(submission: EntrySubmission, account_id: bytes) -> NewEntry:
    """Wire form to bytes; pydantic has already checked encodings and sizes."""
    tags = tuple(b64u_decode(t) for t in submission.tags)
    if len(set(tags)) != len(tags):
        raise Refusal(422, _("tags: must be distinct"))
    envelopes = tuple((b64u_decode(e.key_id), b64u_decode(e.ciphertext)) for e in submission.envelopes)
    if len({k for k, _ in envelopes}) != len(envelopes):
        raise Refusal(422, _("envelopes: one per counselor key"))
    return NewEntry(
        entry_id=b64u_decode(submission.entry_id),
        account_id=account_id,
        quorum=submission.quorum,
        tags=tags,
        body=b64u_decode(submission.body),
        envelopes=envelopes,
    )


def check_against(deployment: Deployment, submission: EntrySubmission, new: NewEntry) -> None:
    """Stale document → 409 naming the current serial; quorum out of range → 422."""
    serial = deployment.serial
    if submission.deployment_serial != serial:
        raise Refusal(409, _("stale deployment document: the current serial is {serial}", serial=serial),
                       current_serial=serial)
    if not deployment.quorum <= new.quorum <= deployment.max_quorum:
        raise Refusal(422, _("quorum: must be between {quorum} and {max_quorum}",
                             quorum=deployment.quorum, max_quorum=deployment.max_quorum))
    expected = {c.key_id for c in deployment.counselors}
    if {k for k, _ in new.envelopes} != expected:
        raise Refusal(409, _("envelopes must be addressed to exactly the counselors of deployment serial {serial}",
                             serial=serial), current_serial=serial)


def mib(size: int) -> str:
    """Bytes as a person reads them: "64 MiB", "70.2 MiB"."""
    return f"{size / 2**20:.1f}".removesuffix(".0") + " MiB"


def check_quotas(session: Session | Connection, limits: Quotas, new: NewEntry, *, replacing: bool) -> None:
    """413 if storing ``new`` would take the account over its quotas; locks the account's writes first.

    ``replacing``: ``new`` takes the place of the account's active entry of the same id, so its
    old content is not counted and the number of entries does not grow (a smaller edit always
    passes). Called before anything of the request is written.
    """
    quotas.lock_account(session, new.account_id)
    held = quotas.usage(session, new.account_id, excluding=new.entry_id if replacing else None)
    if not replacing and held.entries >= limits.entries_per_account:
        raise Refusal(413, _("this account already has {entries} entries in escrow, the most one account may have "
                             "at once; withdraw one you no longer need, or add to one you have, then try again",
                             entries=held.entries),
                      error=TOO_MANY_ENTRIES, limit=limits.entries_per_account)
    size = quotas.stored_bytes(new.body, new.envelopes)
    if held.bytes + size > limits.bytes_per_account:
        raise Refusal(413, _("this account's entries in escrow would take {mib}, more than the {limit} one account "
                             "may store; withdraw an entry you no longer need, or shorten this one (fewer or "
                             "smaller attachments), then try again",
                             mib=mib(held.bytes + size), limit=mib(limits.bytes_per_account)),
                      error=OVER_STORAGE_QUOTA, limit=limits.bytes_per_account, used=held.bytes)


def receipt(entry: Entry | StoredEntry, log_receipt: str | None = None, *, sequenced: bool = False) -> EntryReceipt:
    return EntryReceipt(entry_id=b64u_encode(entry.entry_id), status=status(entry),
                        received_at=entry.received_at, receipt=log_receipt, sequenced=sequenced)


def receipt_response(answer: EntryReceipt, status: int) -> Response:
    """``answer`` as the JSON FastAPI would send for ``response_model=EntryReceipt``, byte for byte,
    without validating the model it built itself a second time on the way out."""
    return Response(answer.model_dump_json(), status_code=status, media_type="application/json")


def current_receipt(session: Session | Connection, entry: Entry | StoredEntry) -> EntryReceipt:
    """The answer about ``entry``'s latest event, read now (``GET /v2/entries/{id}/receipt``)."""
    text, sequenced = transparency.entry_receipt(session, entry.entry_id)
    return receipt(entry, text, sequenced=sequenced)


def _current(state: ServerState, entry: Entry | StoredEntry) -> EntryReceipt:
    """Every submission's answer reads this, on a Core connection: a read Session cost more to open and
    roll back than the reads themselves."""
    with state.db.read_connection() as connection:
        return current_receipt(connection, entry)


def answer(state: ServerState, entry: Entry | StoredEntry, *, sequenced: bool = True) -> EntryReceipt:
    """After the request's commit: wait for the event's integration (``integrator.await_integrated``), then
    answer with its receipt, or without one if it is not ready yet.

    ``sequenced`` False: the request wrote nothing (a retry); it waits only if the entry's latest event is
    still sequenced. The wait never depends on anyone else's entries (``integrator``'s docstring).
    """
    if not sequenced:
        found = _current(state, entry)
        if not found.sequenced:
            return found
    integrator.await_integrated(state)
    return _current(state, entry)


def summary(entry: Entry, sealed_for: Sequence[bytes]) -> EntrySummary:
    """``sealed_for``: the key ids of the entry's envelopes (``repository.envelope_key_ids`` for a list, so
    listing never loads the envelopes themselves)."""
    return EntrySummary(entry_id=b64u_encode(entry.entry_id), quorum=entry.quorum,
                        status=status(entry),
                        received_at=entry.received_at, updated_at=entry.updated_at,
                        sealed_for=[b64u_encode(k) for k in sealed_for])


def detail(entry: Entry) -> EntryDetail:
    return EntryDetail(
        **summary(entry, [e.key_id for e in entry.envelopes]).model_dump(),
        tags=[b64u_encode(t.tag) for t in entry.tags],
        body=b64u_encode(entry.body) if entry.body is not None else None,
        envelopes=[Envelope(key_id=b64u_encode(e.key_id), ciphertext=b64u_encode(e.ciphertext))
                   for e in entry.envelopes],
    )


def submit(state: ServerState, account: AccountInfo, submission: EntrySubmission) -> tuple[EntryReceipt, bool]:
    """POST /v2/entries; returns the receipt and whether the entry is new.

    Every submission runs this, so its statements, the log's sequencing included, are Core on a write
    connection (``Database.write_connection``: no Session, no unit of work, no identity map): the same
    rows in the same transaction, at a fraction of the CPU.
    """
    new = decode(submission, account.account_id)
    content = new.content_hash()
    for attempt in range(2):
        now = utcnow()
        try:
            with state.db.write_connection() as connection:
                existing = repository.stored_entry(connection, new.entry_id)
                if existing is not None:
                    if existing.account_id != account.account_id or existing.content_hash != content:
                        raise Conflict(_("this entry id is already in use with other content"))
                else:
                    check_against(state.deployments.current().deployment, submission, new)
                    check_quotas(connection, state.settings.quotas, new, replacing=False)
                    entry = repository.create_entry(connection, new, now)
                    transparency.record_entry(connection, new.entry_id, content, now)
        except IntegrityError:
            if attempt:  # the id (or this account's entry under a tag) was inserted concurrently; the retry sees it
                raise
            continue
        if existing is not None:
            return answer(state, existing, sequenced=False), False
        return answer(state, entry), True
    raise AssertionError("unreachable")


def replace(state: ServerState, account: AccountInfo, entry_id: bytes,
            submission: EntrySubmission) -> EntryReceipt:
    """PUT /v2/entries/{id}: same checks as POST; released or not, the same answer."""
    if b64u_decode(submission.entry_id) != entry_id:
        raise Refusal(422, _("entry_id: must equal the id in the URL"))
    new = decode(submission, account.account_id)
    now = utcnow()
    with state.db.write() as session:
        existing = repository.get_own_entry(session, account.account_id, entry_id)
        retried = existing.content_hash == new.content_hash()  # a retried PUT writes nothing
        if not retried:
            if existing.status == "withdrawn":
                raise Conflict(_("withdrawn entries can no longer be changed"))
            check_against(state.deployments.current().deployment, submission, new)
            check_quotas(session, state.settings.quotas, new, replacing=True)
            existing = repository.replace_entry(session, new, now)
            transparency.record_entry(session, entry_id, new.content_hash(), now)
    return answer(state, existing, sequenced=not retried)


def withdraw(state: ServerState, account: AccountInfo, entry_id: bytes) -> EntryReceipt:
    """DELETE /v2/entries/{id}: erase the entry (released or not), keep a tombstone."""
    now = utcnow()
    with state.db.write() as session:
        entry = repository.withdraw_entry(session, account.account_id, entry_id, now)
        fresh = entry.withdrawn_at == now  # withdrawn by this request, not a repeat
        if fresh:
            transparency.record_withdrawal(session, entry_id, now)
    return answer(state, entry, sequenced=fresh)
