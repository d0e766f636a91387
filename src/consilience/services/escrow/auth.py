"""Bearer-token authentication and role checks (PROTOCOL.md §6).

Tokens are 32 random bytes; the database holds only their SHA-256, so a
copy of the database does not let anyone act as a reporter or counselor.
Roles are kept apart: a counselor token on a reporter endpoint (or the
reverse) is refused with 403 even though the token itself is valid.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from consilience.errors import InvalidInput
from consilience.protocol.encoding import b64u_decode
from consilience.services.escrow.errors import Refusal
from consilience.services.escrow.state import State
from consilience.services.http_auth import Bearer
from consilience.services.limits import client_address
from consilience.storage import repository
from consilience.storage.repository import AccountInfo

BEARER = Bearer(missing="missing bearer token", malformed="expected 'Authorization: Bearer <token>'",
                challenge={"WWW-Authenticate": 'Bearer realm="consilience"'})


def bearer_token(request: Request) -> bytes:
    """The account token a request carries; the database holds only its hash."""
    value = BEARER.credentials(request.headers.get("authorization"))
    try:
        return b64u_decode(value, length=repository.TOKEN_BYTES, field="token")
    except InvalidInput:
        raise BEARER.refusal("malformed bearer token") from None


def current_account(request: Request, state: State) -> AccountInfo:
    """Every failed authentication is charged to the client's address, so guessing is slowed too."""
    try:
        token = bearer_token(request)
        with state.db.read() as session:
            account = repository.authenticate(session, token)
        if account is None:
            raise BEARER.refusal("unknown token")
    except Refusal:
        state.limits.charge("auth_failures_per_address", client_address(request), "failed authentications")
        raise
    return account


def reporter(account: Annotated[AccountInfo, Depends(current_account)]) -> AccountInfo:
    if account.role != "reporter":
        raise Refusal(403, "this endpoint is for reporter accounts")
    return account


def counselor(account: Annotated[AccountInfo, Depends(current_account)]) -> AccountInfo:
    if account.role != "counselor":
        raise Refusal(403, "this endpoint is for counselor accounts")
    return account


#: Handler parameter types: the authenticated caller in the required role.
ReporterCaller = Annotated[AccountInfo, Depends(reporter)]
CounselorCaller = Annotated[AccountInfo, Depends(counselor)]
