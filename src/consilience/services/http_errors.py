"""HTTP error answers (PROTOCOL.md §9) and the request-size limit, for both services.

Every refusal is JSON ``{"error": code, "detail": text}``. Details name the
offending field and rule but never echo submitted values: a tag or body in
an error message would end up in client logs and screenshots.

The ``error`` code is for programs and never changes; the ``detail`` is for the person, in the
language the request asked for (``http_language``): it is translated where it is raised, and
every error answer says its language in ``Content-Language`` with ``Vary: Accept-Language``.
Pydantic's own validation sentences are kept as they are in English (clients and tests match
them) and given from the catalogs in other languages; field names are never translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consilience import i18n
from consilience.errors import InvalidInput
from consilience.i18n import N_, _, _n
from consilience.protocol.messages import ErrorResponse
from consilience.services.http_language import language_headers, requested

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


#: The reason phrases Starlette answers with on its own (no route, no such method), kept as they are in
#: English and translated otherwise.
STARLETTE_PHRASES = frozenset({N_("Not Found"), N_("Method Not Allowed")})


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
    """An error answer; ``detail`` is in the active language, which the answer's headers name."""
    body = {"error": CODES.get(status, "error"), "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers={**language_headers(), **(headers or {})})


def _number(value: Any) -> str:
    return i18n.format_number(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _problem(error: Mapping[str, Any]) -> str:
    """Pydantic's sentence for one validation error: as pydantic says it in English, else from the catalogs.

    The common kinds of error are translated from their context (the bound, the length); any other
    keeps pydantic's English sentence after its (untranslated) field name.
    """
    said = str(error.get("msg", "invalid"))
    if i18n.language() == i18n.DEFAULT:
        return said
    kind, ctx = error.get("type"), error.get("ctx") or {}
    try:
        if kind == "missing":
            return _("Field required")
        if kind == "extra_forbidden":
            return _("Extra inputs are not permitted")
        if kind == "string_type":
            return _("Input should be a valid string")
        if kind in ("int_type", "int_parsing", "int_from_float"):
            return _("Input should be a valid integer")
        if kind in ("float_type", "float_parsing"):
            return _("Input should be a valid number")
        if kind in ("bool_type", "bool_parsing"):
            return _("Input should be a valid boolean")
        if kind in ("dict_type", "model_type", "model_attributes_type"):
            return _("Input should be a JSON object")
        if kind == "list_type":
            return _("Input should be a valid list")
        if kind == "greater_than":
            return _("Input should be greater than {bound}", bound=_number(ctx["gt"]))
        if kind == "greater_than_equal":
            return _("Input should be greater than or equal to {bound}", bound=_number(ctx["ge"]))
        if kind == "less_than":
            return _("Input should be less than {bound}", bound=_number(ctx["lt"]))
        if kind == "less_than_equal":
            return _("Input should be less than or equal to {bound}", bound=_number(ctx["le"]))
        if kind == "string_too_short":
            return _n("String should have at least {n} character", "String should have at least {n} characters",
                      int(ctx["min_length"]))
        if kind == "string_too_long":
            return _n("String should have at most {n} character", "String should have at most {n} characters",
                      int(ctx["max_length"]))
        if kind == "too_short":
            return _n("Should have at least {n} item", "Should have at least {n} items", int(ctx["min_length"]))
        if kind == "too_long":
            return _n("Should have at most {n} item", "Should have at most {n} items", int(ctx["max_length"]))
        if kind == "bytes_too_long":
            return _n("Data should have at most {n} byte", "Data should have at most {n} bytes",
                      int(ctx["max_length"]))
        if kind == "string_pattern_mismatch":
            return _("String should match pattern '{pattern}'", pattern=ctx["pattern"])
        if kind == "literal_error":
            return _("Input should be {expected}", expected=ctx["expected"])
        if kind == "value_error":  # our own validators' words, already in the request's language
            return _("Value error, {error}", error=ctx["error"])
    except (KeyError, TypeError, ValueError):
        pass
    return said


def _validation_detail(exc: RequestValidationError) -> tuple[int, str]:
    problems = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            return 400, _("request body is not valid JSON")
        loc = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{loc or 'body'}: {_problem(error)}")
    return 422, "; ".join(problems)[:2000] or _("invalid request")


def install(app: FastAPI) -> None:
    """Register the handlers every service shares (§9); services add their own."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refusal)
        return error_response(exc.status, exc.detail, exc.headers, **exc.extra)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = str(exc.detail)
        if detail in STARLETTE_PHRASES:  # Starlette's own words (an unknown path, a wrong method)
            detail = _(detail)
        return error_response(exc.status_code, detail, exc.headers)

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
        # Starlette answers an unhandled error outside every middleware, so outside the request's language too
        with i18n.using(requested(request.scope.get("headers") or ())):
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
                await self._refuse(scope, receive, send, 400, _("invalid Content-Length"))
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
        return _("request body exceeds {limit} bytes", limit=self.limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        response = error_response(status, detail, {"Connection": "close"})
        await response(scope, receive, send)

