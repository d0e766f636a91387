"""Bearer-token authentication and role checks (PROTOCOL.md §6).

Tokens are 32 random bytes; the database holds only their SHA-256, so a
copy of the database does not let anyone act as a reporter or counselor.
Roles are kept apart: a counselor token on a reporter endpoint (or the
reverse) is refused with 403 even though the token itself is valid.

Failed authentications are charged to the client's address
(``auth_failures_per_address``), and that budget is a gate: it is checked
before the token is looked up, so once an address has spent it, every
authentication from that address is refused with 429 and ``Retry-After``
until it recovers, valid tokens included (a token guessed or stolen from that
address passes no sooner). Successful authentications cost nothing.

Threads. The dependencies here are ``async``: FastAPI runs a plain ``def`` dependency in a worker
thread, and each such hand-off costs the event loop more than the role check itself.
``current_account`` does its blocking part (the budget, which lives in the database on PostgreSQL,
and the session lookup) in one hand-off, so a request pays one for its caller, not three.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from consilience.errors import InvalidInput
from consilience.i18n import N_, _
from consilience.protocol.encoding import b64u_decode
from consilience.services.escrow.errors import Refusal
from consilience.services.escrow.state import ServerState, State, get_state
from consilience.services.http_auth import Bearer
from consilience.services.limits import client_address
from consilience.storage import repository, revocations
from consilience.storage.repository import AccountInfo

BEARER = Bearer(missing=N_("missing bearer token"), malformed=N_("expected 'Authorization: Bearer <token>'"),
                challenge={"WWW-Authenticate": 'Bearer realm="consilience"'})


def bearer_token(request: Request) -> bytes:
    """The account token a request carries; the database holds only its hash."""
    value = BEARER.credentials(request.headers.get("authorization"))
    try:
        return b64u_decode(value, length=repository.TOKEN_BYTES, field="token")
    except InvalidInput:
        raise BEARER.refusal(_("malformed bearer token")) from None


#: PROTOCOL.md §6.1: an expired session; clients sign in again on their own and repeat the request.
SESSION_EXPIRED = N_("your session has expired; sign in again (the app and the command line do this on their own)")
ACCOUNT_REVOKED = N_("this account was revoked by the deployment's administrator; ask the administrator if you think "
                     "this is a mistake")
#: PROTOCOL.md §14.2: the holder deleted the account; clients do not retry.
ACCOUNT_DELETED = N_("this account was deleted; it cannot be used or signed in to again")
AUTH_BUDGET = "auth_failures_per_address"
AUTH_SPENT = N_("too many failed authentications from this address; retry later")


def require_auth_budget(request: Request, state: State) -> None:
    """429 with Retry-After, before anything is looked up, while this address's failure budget is spent."""
    rate = state.settings.limits.auth_failures_per_address
    left = rate.burst * (1.0 - state.limits.used(AUTH_BUDGET, client_address(request)))
    if left < 1.0 - 1e-9:
        wait = (1.0 - left) * 3600.0 / rate.per_hour
        raise Refusal(429, _(AUTH_SPENT), headers={"Retry-After": str(max(1, math.ceil(wait)))})


def charge_auth_failure(request: Request, state: State) -> None:
    state.limits.charge(AUTH_BUDGET, client_address(request), N_("failed authentications"))


async def current_account(request: Request) -> AccountInfo:
    """The caller's account (``authenticate``), looked up in one worker thread."""
    return await run_in_threadpool(authenticate, request, get_state(request))


def authenticate(request: Request, state: ServerState) -> AccountInfo:
    """The caller's account; every failure is charged to the client's address, whose spent budget
    refuses every authentication from it (valid tokens too) until it recovers.

    An expired session is not charged: only its holder can show one (it was a real token), and
    clients meet one every time a session runs out, before signing in again. Blocks on the database.
    """
    require_auth_budget(request, state)
    expired = False
    try:
        token = bearer_token(request)
        try:
            with state.db.read_connection() as connection:
                account = repository.authenticate(connection, token)
        except revocations.SessionExpired:
            expired = True
            raise Refusal(401, _(SESSION_EXPIRED), headers=dict(BEARER.challenge), error="session_expired") from None
        except revocations.AccountRevoked:
            raise Refusal(401, _(ACCOUNT_REVOKED), headers=dict(BEARER.challenge), error="account_revoked") from None
        except revocations.AccountDeleted:
            raise Refusal(401, _(ACCOUNT_DELETED), headers=dict(BEARER.challenge), error="account_deleted") from None
        if account is None:
            raise BEARER.refusal(_("unknown token"))
    except Refusal:
        if not expired:
            charge_auth_failure(request, state)
        raise
    return account


async def reporter(account: Annotated[AccountInfo, Depends(current_account)]) -> AccountInfo:
    if account.role != "reporter":
        raise Refusal(403, _("this endpoint is for reporter accounts"))
    return account


async def counselor(account: Annotated[AccountInfo, Depends(current_account)]) -> AccountInfo:
    if account.role != "counselor":
        raise Refusal(403, _("this endpoint is for counselor accounts"))
    return account


#: Handler parameter types: the authenticated caller in the required role.
ReporterCaller = Annotated[AccountInfo, Depends(reporter)]
CounselorCaller = Annotated[AccountInfo, Depends(counselor)]
