"""Reporter endpoints: registration, key-server tokens, entries (PROTOCOL.md §6, §8)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from consilience.errors import InvalidInput
from consilience.protocol import tokens
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import (
    AccessTokenResponse,
    EntryDetail,
    EntryReceipt,
    EntrySubmission,
    EntrySummary,
    RegisterRequest,
    RegisterResponse,
)
from consilience.services.escrow import entries, transparency
from consilience.services.escrow.auth import ReporterCaller
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.state import State
from consilience.services.limits import client_address
from consilience.storage import repository

router = APIRouter(prefix="/v1", responses=documented(400, 401, 403, 404, 409, 422, 429, 503))


def path_id(value: str, what: str = "id") -> bytes:
    try:
        return b64u_decode(value, length=16, field=what)
    except InvalidInput as exc:
        raise Refusal(400, str(exc)) from None


@router.post("/accounts", status_code=201, response_model=RegisterResponse)
def register(request: RegisterRequest, http: Request, state: State) -> RegisterResponse:
    state.limits.charge("registrations_per_address", client_address(http), "registrations from this address")
    code = b64u_decode(request.invite, length=16)
    with state.db.write() as session:
        account_id, token = repository.register(session, code)
    return RegisterResponse(account_id=b64u_encode(account_id), token=b64u_encode(token))


@router.post("/keyserver-token", response_model=AccessTokenResponse)
def keyserver_token(account: ReporterCaller,
                    state: State) -> AccessTokenResponse:
    state.limits.charge("keyserver_tokens_per_account", account.account_id, "key-server tokens for this account")
    now = int(time.time())
    token = tokens.issue(state.issuer_private, account.account_id, now=now)
    expires = now + tokens.DEFAULT_LIFETIME_SECONDS
    return AccessTokenResponse(token=b64u_encode(token), expires_at=datetime.fromtimestamp(expires, UTC))


@router.post("/entries", status_code=201, response_model=EntryReceipt,
             responses={200: {"model": EntryReceipt, "description": "The same entry resubmitted unchanged"}})
def submit(submission: EntrySubmission, response: Response, account: ReporterCaller,
           state: State) -> EntryReceipt:
    state.limits.charge("entry_writes_per_account", account.account_id, "entry changes for this account")
    answer, created = entries.submit(state, account, submission)
    if not created:
        response.status_code = 200
    return answer


@router.get("/entries", response_model=list[EntrySummary])
def list_entries(account: ReporterCaller,
                 state: State) -> list[EntrySummary]:
    with state.db.read() as session:
        return [entries.summary(e) for e in repository.list_entries(session, account.account_id)]


@router.get("/entries/{entry_id}", response_model=EntryDetail)
def get_entry(entry_id: str, account: ReporterCaller,
              state: State) -> EntryDetail:
    with state.db.read() as session:
        return entries.detail(repository.get_own_entry(session, account.account_id, path_id(entry_id)))


@router.get("/entries/{entry_id}/receipt", response_model=EntryReceipt)
def get_receipt(entry_id: str, account: ReporterCaller, state: State) -> EntryReceipt:
    """A fresh receipt for the entry's latest event, against the newest checkpoint."""
    entry_bytes = path_id(entry_id)
    with state.db.read() as session:
        entry = repository.get_own_entry(session, account.account_id, entry_bytes)
        return entries.receipt(entry, transparency.latest_receipt(session, entry_bytes))


@router.put("/entries/{entry_id}", response_model=EntryReceipt)
def replace_entry(entry_id: str, submission: EntrySubmission, account: ReporterCaller,
                  state: State) -> EntryReceipt:
    state.limits.charge("entry_writes_per_account", account.account_id, "entry changes for this account")
    return entries.replace(state, account, path_id(entry_id), submission)


@router.delete("/entries/{entry_id}", response_model=EntryReceipt)
def withdraw_entry(entry_id: str, account: ReporterCaller,
                   state: State) -> EntryReceipt:
    state.limits.charge("entry_writes_per_account", account.account_id, "entry changes for this account")
    return entries.withdraw(state, account, path_id(entry_id))
