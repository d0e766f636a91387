"""Reporter endpoints: registration with an administrator's certificate, entries (PROTOCOL.md §6, §8).

Registration (property (b) of protocol v2): the invite row holds the account certificate the
administrator signed; the reporter shows a signature by the certified account key
(``accounts.registration_proof``). The escrow server checks both — the certificate against the
administrator's key in the deployment document, so an invite written into the database by whoever
runs the server registers nothing — and uses the invite once. It issues nothing to key servers:
they check the certificate and the account key's signatures themselves.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from consilience.crypto import hpke
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _
from consilience.protocol import accounts
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import (
    MESSAGE_KEY_BYTES,
    EntryDetail,
    EntryReceipt,
    EntrySubmission,
    EntrySummary,
    RegisterRequestV2,
    RegisterResponseV2,
)
from consilience.services.escrow import entries
from consilience.services.escrow.auth import ReporterCaller
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.state import ServerState, State, get_state
from consilience.services.limits import client_address
from consilience.storage import conversations, repository, revocations

router = APIRouter(prefix="/v2", responses=documented(400, 401, 403, 404, 409, 422, 429, 503))

#: The one answer for an invite that is unknown, used, expired or not the administrator's: which
#: it was is nobody's business but the administrator's (``consilience admin status``).
INVITE_REFUSED = N_("invite refused: unknown, already used, expired or not issued by this deployment's administrator")


def path_id(value: str, what: str = "id") -> bytes:
    try:
        return b64u_decode(value, length=16, field=what)
    except InvalidInput as exc:
        raise Refusal(400, str(exc)) from None


def parse_message_key(state: State, value: str) -> bytes:
    """A reporter's messaging key (PROTOCOL.md §13.1), checked before it is stored: an HPKE public key that
    can be sealed to, and not one of the deployment's counselor keys (whose wraps it would then be handed)."""
    key = b64u_decode(value, length=MESSAGE_KEY_BYTES, field="message_key")
    try:
        key_id = hpke.key_id(key[:hpke.PUBLIC_KEY_BYTES])
    except InvalidInput:
        raise Refusal(400, _("message_key: not a usable messaging key; make a new one in the app")) from None
    if any(c.key_id == key_id for c in state.deployments.current().deployment.counselors):
        raise Refusal(400, _("message_key: this is a counselor's key, not a messaging key of your own"))
    return key


@router.post("/register", status_code=201, response_model=RegisterResponseV2)
def register(request: RegisterRequestV2, http: Request, state: State) -> RegisterResponseV2:
    state.limits.charge("registrations_per_address", client_address(http), N_("registrations from this address"))
    published = state.deployments.current()
    deployment_id = published.deployment.deployment_id
    account_key = b64u_decode(request.account_key, length=accounts.ACCOUNT_KEY_BYTES)
    message_key = parse_message_key(state, request.message_key) if request.message_key is not None else None
    try:  # checked before the database is asked anything: without the invite's key, nothing is learned
        accounts.verify_registration(account_key, deployment_id, b64u_decode(request.proof, length=64))
    except VerificationError as exc:
        raise Refusal(403, _("{exc}; use the invite exactly as you were given it", exc=exc)) from None
    with state.db.write() as session:
        try:
            certificate = repository.invite_certificate(session, account_key)
            cert = accounts.verify_certificate(published.admin_key, deployment_id, certificate)
        except (repository.InviteRefused, InvalidInput, VerificationError):
            raise Refusal(403, _(INVITE_REFUSED)) from None
        if cert.account_key != account_key:
            raise Refusal(403, _(INVITE_REFUSED))
        account_id, _created = repository.register(session, account_key)
        if message_key is not None:
            conversations.set_message_key(session, account_id, message_key)
        token, _session = revocations.create_session(session, account_id,
                                              timedelta(seconds=state.settings.reporter_session_seconds))
    return RegisterResponseV2(account_id=b64u_encode(account_id), token=b64u_encode(token),
                              certificate=b64u_encode(certificate))


@router.post("/entries", status_code=201, response_model=EntryReceipt,
             responses={200: {"model": EntryReceipt, "description": "The same entry resubmitted unchanged"}})
async def submit(submission: EntrySubmission, http: Request, account: ReporterCaller) -> Response:
    """The hot path: its blocking work (budget, transaction, the wait for the receipt) in one worker
    thread, and the answer serialised once, by the model itself (``entries.receipt_response``)."""
    answer, created = await run_in_threadpool(_submit, get_state(http), account, submission)
    return entries.receipt_response(answer, 201 if created else 200)


def _submit(state: ServerState, account: repository.AccountInfo,
            submission: EntrySubmission) -> tuple[EntryReceipt, bool]:
    state.limits.charge("entry_writes_per_account", account.account_id, N_("entry changes for this account"))
    return entries.submit(state, account, submission)


@router.get("/entries", response_model=list[EntrySummary])
def list_entries(account: ReporterCaller,
                 state: State) -> list[EntrySummary]:
    with state.db.read() as session:
        listed = repository.list_entries(session, account.account_id)
        sealed_for = repository.envelope_key_ids(session, [e.entry_id for e in listed])
        return [entries.summary(e, sealed_for.get(e.entry_id, [])) for e in listed]


@router.get("/entries/{entry_id}", response_model=EntryDetail)
def get_entry(entry_id: str, account: ReporterCaller,
              state: State) -> EntryDetail:
    with state.db.read() as session:
        return entries.detail(repository.get_own_entry(session, account.account_id, path_id(entry_id)))


@router.get("/entries/{entry_id}/receipt", response_model=EntryReceipt)
def get_receipt(entry_id: str, account: ReporterCaller, state: State) -> EntryReceipt:
    """A fresh receipt for the entry's latest event, against the newest checkpoint.

    While that event is sequenced but not yet integrated (PROTOCOL.md §11): ``receipt`` null and
    ``sequenced`` true, with 200 as always; ask again a moment later.
    """
    entry_bytes = path_id(entry_id)
    with state.db.read() as session:
        return entries.current_receipt(session, repository.get_own_entry(session, account.account_id, entry_bytes))


@router.put("/entries/{entry_id}", response_model=EntryReceipt)
def replace_entry(entry_id: str, submission: EntrySubmission, account: ReporterCaller,
                  state: State) -> EntryReceipt:
    state.limits.charge("entry_writes_per_account", account.account_id, N_("entry changes for this account"))
    return entries.replace(state, account, path_id(entry_id), submission)


@router.delete("/entries/{entry_id}", response_model=EntryReceipt)
def withdraw_entry(entry_id: str, account: ReporterCaller,
                   state: State) -> EntryReceipt:
    state.limits.charge("entry_writes_per_account", account.account_id, N_("entry changes for this account"))
    return entries.withdraw(state, account, path_id(entry_id))
