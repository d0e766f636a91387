"""Signing in again: sessions that expire, renewed without the person noticing (PROTOCOL.md §6.1).

Every bearer token is a session with an expiry (``Settings.reporter_session_seconds``,
``counselor_session_seconds``). A reporter gets a new one by signing in with its account key
(``POST /v2/login``, ``protocol/sessions.py``), a counselor with the credential the administrator
gave them (``POST /v2/login/counselor``, the credential as the bearer). Clients do this on their
own when a request answers 401 ``session_expired`` and repeat the request, so nobody sees an
expiry mid-task. A revoked account signs in no more (401 ``account_revoked``), nor one its holder
deleted (401 ``account_deleted``, PROTOCOL.md §14.2).

Signing in is an authentication like any other: its failures are charged to the address's
budget of failed authentications, and a spent budget refuses it before anything is looked up
(``auth.require_auth_budget``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _
from consilience.protocol import accounts
from consilience.protocol import sessions as login_proofs
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.evaluation import ReplayGuard
from consilience.protocol.messages import B64Element, B64Id, B64Token, Strict
from consilience.services.escrow import auth
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.state import ServerState, State
from consilience.storage import revocations

router = APIRouter(prefix="/v2", responses=documented(401, 422, 429, 503))

#: What a refused sign-in says, whatever was wrong with it (unknown key, bad signature): one case.
LOGIN_REFUSED = N_("sign-in refused: this account is not known here, or the sign-in is not its own")
REVOKED = N_("this account was revoked by the deployment's administrator; it can no longer sign in. Ask the "
             "administrator if you think this is a mistake")

#: sign-ins answered within the freshness window, each used once (like evaluation requests)
_replay = ReplayGuard()


class LoginRequest(Strict):
    account_key: B64Element
    issued_at: int = Field(ge=0, lt=2**63)
    nonce: B64Id
    signature: Annotated[str, Field(max_length=100)]


class SessionAnswer(Strict):
    token: B64Token
    expires_at: datetime


def new_session(state: ServerState, account_id: bytes, role: str) -> SessionAnswer:
    """A session for an account that just proved itself, in its own transaction."""
    seconds = (state.settings.counselor_session_seconds if role == "counselor"
               else state.settings.reporter_session_seconds)
    with state.db.write() as session:
        token, expires = revocations.create_session(session, account_id, timedelta(seconds=seconds))
    return SessionAnswer(token=b64u_encode(token), expires_at=expires)


@router.post("/login", response_model=SessionAnswer)
def login(body: LoginRequest, request: Request, state: State) -> SessionAnswer:
    """A reporter signs in with its account key."""
    auth.require_auth_budget(request, state)
    deployment = state.deployments.current()
    try:
        proof = login_proofs.Login(b64u_decode(body.account_key, length=32), body.issued_at,
                                   b64u_decode(body.nonce, length=16), b64u_decode(body.signature, length=64))
        login_proofs.verify_login(proof, deployment.deployment.deployment_id)
        _replay.check(proof.account_key, proof.nonce, proof.issued_at)
    except (InvalidInput, VerificationError) as exc:
        auth.charge_auth_failure(request, state)
        raise Refusal(401, _("{refusal} ({exc})", refusal=_(LOGIN_REFUSED), exc=exc)) from None
    try:
        with state.db.read() as session:
            account, certificate = revocations.reporter_by_key(session, proof.account_key)
            account_id, role = account.account_id, account.role
        accounts.verify_certificate(deployment.admin_key, deployment.deployment.deployment_id, certificate)
    except revocations.AccountRevoked:
        auth.charge_auth_failure(request, state)
        raise Refusal(401, _(REVOKED), error="account_revoked") from None
    except revocations.AccountDeleted:
        auth.charge_auth_failure(request, state)
        raise Refusal(401, _(auth.ACCOUNT_DELETED), error="account_deleted") from None
    except (revocations.NoSuchAccount, InvalidInput, VerificationError):
        auth.charge_auth_failure(request, state)
        raise Refusal(401, _(LOGIN_REFUSED)) from None
    return new_session(state, account_id, role)


@router.post("/login/counselor", response_model=SessionAnswer)
def login_counselor(request: Request, state: State) -> SessionAnswer:
    """A counselor signs in with the credential the administrator gave them (as the bearer)."""
    auth.require_auth_budget(request, state)
    try:
        credential = auth.bearer_token(request)
        with state.db.read() as session:
            account = revocations.counselor_by_credential(session, credential)
            account_id = account.account_id
    except revocations.AccountRevoked:
        auth.charge_auth_failure(request, state)
        raise Refusal(401, _(REVOKED), error="account_revoked") from None
    except (Refusal, revocations.NoSuchAccount):
        auth.charge_auth_failure(request, state)
        raise Refusal(401, _("sign-in refused: this is not a counselor credential of this deployment")) from None
    return new_session(state, account_id, "counselor")



@router.get("/revocations", responses=documented(404))
def revocation_list(state: State) -> JSONResponse:
    """The newest administrator-signed revocation list (PROTOCOL.md §6.2), as the administrator signed it.

    Key servers fetch it every few seconds and check the signature themselves: the escrow server can
    withhold a newer list (delaying a revocation at the key servers) but cannot forge or roll one back
    past a serial a key server has seen.
    """
    with state.db.read() as session:
        published = revocations.newest_list(session)
    if published is None:
        raise Refusal(404, _("the administrator has revoked nothing yet"))
    return JSONResponse(published, headers={"Cache-Control": "no-cache"})
