"""The escrow server's error answers on top of the shared ones (PROTOCOL.md §9).

Storage refusals map to 403/404/409, and a database that cannot be reached
to 503 with Retry-After, so clients can tell "try again" from "never". A
second active entry by one account naming one person is 409 with the code
``already_named`` and the ``entry_id`` of the account's existing entry, so the
client can offer to add to that record instead.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from consilience.i18n import _
from consilience.protocol.encoding import b64u_encode
from consilience.services import http_errors
from consilience.services.http_errors import BodyLimitMiddleware, Refusal, documented, error_response
from consilience.storage.repository import Conflict, InviteRefused, NotFound, PersonAlreadyNamed

__all__ = ["Refusal", "BodyLimitMiddleware", "documented", "error_response", "install"]

log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    http_errors.install(app)

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return error_response(404, str(exc))

    async def conflict(request: Request, exc: Exception) -> JSONResponse:
        return error_response(409, str(exc))

    async def already_named(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PersonAlreadyNamed)
        return error_response(409, str(exc), error="already_named", entry_id=b64u_encode(exc.entry_id))

    async def invite_refused(request: Request, exc: Exception) -> JSONResponse:
        return error_response(403, _("invite refused: unknown, already used or expired"))

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, DBAPIError) and not isinstance(exc, OperationalError) \
                and not exc.connection_invalidated:
            log.exception("database error")
            return error_response(500, _("internal error"))
        log.error("database unavailable: %s", type(exc.__cause__ or exc).__name__)
        return error_response(503, _("database unavailable"), {"Retry-After": "5"})

    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(Conflict, conflict)
    app.add_exception_handler(PersonAlreadyNamed, already_named)
    app.add_exception_handler(InviteRefused, invite_refused)
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(DBAPIError, database_unavailable)
    app.add_exception_handler(PoolTimeout, database_unavailable)
