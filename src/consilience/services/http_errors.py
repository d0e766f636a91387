"""HTTP error answers (PROTOCOL.md §9) and the request-size limit, for both services.

Every refusal is JSON ``{"error": code, "detail": text}``. Details name the
offending field and rule but never echo submitted values: a tag or body in
an error message would end up in client logs and screenshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.protocol.messages import ErrorResponse

CODES: dict[int, str] = {
    400: "malformed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    423: "locked",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for error answers: each status carries an ErrorResponse body.

    Declaring 422 here also replaces FastAPI's default validation-error schema,
    which is not what ``install`` answers with.
    """
    return {status: {"model": ErrorResponse, "description": CODES[status]} for status in statuses}


class Refusal(Exception):
    """Raised by handlers to answer with a given status and detail."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers
        self.extra = extra


def error_response(status: int, detail: str, headers: Mapping[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    body = {"error": CODES.get(status, "error"), "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> tuple[int, str]:
    problems = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            return 400, "request body is not valid JSON"
        loc = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{loc or 'body'}: {error.get('msg', 'invalid')}")
    return 422, "; ".join(problems)[:2000] or "invalid request"


def install(app: FastAPI) -> None:
    """Register the handlers every service shares (§9); services add their own."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refusal)
        return error_response(exc.status, exc.detail, exc.headers, **exc.extra)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        status, detail = _validation_detail(exc)
        return error_response(status, detail)

    async def invalid_input(request: Request, exc: Exception) -> JSONResponse:
        return error_response(400, str(exc))

    app.add_exception_handler(Refusal, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(InvalidInput, invalid_input)

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, _("internal error"))

    app.add_exception_handler(Exception, internal)


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes with 413 before any parsing.

    The declared Content-Length is checked first; the body is then read (and
    counted, for chunked uploads that declare nothing) into memory up to the
    limit and replayed to the application, so a handler never starts on a
    body that turns out too large.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await self._refuse(scope, receive, send, 400, "invalid Content-Length")
                return
            if size > self.limit:
                await self._refuse(scope, receive, send, 413, self._too_large())
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.limit:
                await self._refuse(scope, receive, send, 413, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"request body exceeds {self.limit} bytes"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        response = error_response(status, detail, {"Connection": "close"})
        await response(scope, receive, send)

