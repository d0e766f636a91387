"""Each request answered in the language its client asks for (``Accept-Language``), for both servers.

``AcceptLanguage`` negotiates the header once per request (``i18n.parse_accept_language`` and
``choose``: English when it is missing or names nothing shipped) and runs the rest of the
application inside ``i18n.using``. The tag keeps its region (``ar-EG``, ``es-MX``): the words come
from the language's one catalog, the numbers and dates in them are written as that region writes
them (Arabic-Indic digits in Egypt, Latin ones in Morocco), as the browser's own ``Intl`` does.

The language is a ``ContextVar``: everything the request runs
inherits it, its dependencies and sync endpoints included, since Starlette runs those in the thread
pool in a copy of the request's context. A refusal made anywhere below is then translated where it
is raised, and ``language_headers`` tells the client which language its body is in: the tag used
(``ar-EG``), so a client knows its numbers were written for Egypt too.

Only answers whose body carries translated text say ``Content-Language`` and ``Vary:
Accept-Language`` (``http_errors.error_response`` adds them to every error answer): a tile, a
checkpoint, the deployment document or a proof is the same bytes in every language, and a
``Vary`` on it would split every shared cache by the readers' languages for nothing.

The middleware is plain ASGI, not ``BaseHTTPMiddleware``: that one would run every request (the
escrow's submissions, hundreds per second) through an extra task and stream, where here it costs
one scan of the request's headers and two ``ContextVar`` operations.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from consilience import i18n

_HEADER = b"accept-language"


def requested(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The tag an ASGI request's raw headers ask for, in a shipped language (``ar-EG``; English when none is)."""
    wanted = [value.decode("latin-1") for name, value in headers if name == _HEADER]
    if not wanted:
        return i18n.DEFAULT
    return i18n.choose(i18n.parse_accept_language(",".join(wanted))).locale


def language_headers() -> dict[str, str]:
    """The headers of an answer whose body is in the active language (and its numbers in the active locale)."""
    return {"Content-Language": i18n.locale(), "Vary": "Accept-Language"}


class AcceptLanguage:
    """Runs each HTTP request inside ``i18n.using`` the language its ``Accept-Language`` asks for."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with i18n.using(requested(scope.get("headers") or ())):
            await self.app(scope, receive, send)
