"""The key server's application factory (``server.run`` serves it, and starts its key generation).

``create_app`` checks its configuration before accepting any request: the share file must be
readable and carry the index the operator asked for, the key server's identity and HPKE keys must
be in its folder, and every web origin must be a plain origin. The server has no database; its
state is its keys, its shares and its budgets. A confirmed key-generation result already in its
folder is loaded here, so a restarted key server answers at once.

The web app's pages (served by the escrow server, another origin) call /v2/evaluate from the
browser: CORS allows exactly the configured web origins, only for what that call needs (POST
with Content-Type).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware

from consilience.datadir import share_file
from consilience.i18n import N_, _
from consilience.services import http_errors
from consilience.services.config import ConfigurationError
from consilience.services.http_errors import BodyLimitMiddleware
from consilience.services.http_head import HeadAsGet
from consilience.services.http_language import AcceptLanguage
from consilience.services.keyserver import evaluate, quorum_store, recovery
from consilience.services.keyserver.quorum_store import Holder
from consilience.services.keyserver.recovery_store import RecoveryAttempts
from consilience.services.keyserver.settings import Settings
from consilience.services.keyserver.state import KeyServerState
from consilience.services.limits import Budgets
from consilience.web import parse_origin


def create_app(settings: Settings) -> FastAPI:
    """Build the application; raises ConsilienceError (InvalidInput, ConfigurationError) on a bad setup."""
    member = share_file.read(settings.folder.membership)
    keys = share_file.read_keys(settings.folder.identity_key, settings.folder.hpke_key)
    # Normalised as CORS compares them; a typo'd origin fails here rather than silently never matching.
    origins = list(dict.fromkeys(parse_origin(o) for o in settings.web_origins))
    held = quorum_store.read(settings.folder.quorum_keys)
    if held is not None and held.deployment_id != member.deployment_id:
        raise ConfigurationError(_("{quorum_keys} holds another deployment's quorum keys",
                                   quorum_keys=settings.folder.quorum_keys))
    holder = Holder(held)
    if held is None and not settings.run_keygen:
        holder.status = N_("no key generation runs in this key server")
    state = KeyServerState(settings=settings, keys=keys, member=member, limits=Budgets(settings.limits),
                           quorum=holder)
    app = FastAPI(title="Consilience key server", version="2",  # i18n: english, the OpenAPI document's title
                  docs_url=None, redoc_url=None, openapi_url="/v2/openapi.json",
                  responses=http_errors.documented(400, 413))  # BodyLimitMiddleware, on any route
    app.state.keyserver = state
    # the count of recovery tries per handle (PROTOCOL.md §14.1): on disk, so a restart does not reset it
    app.state.recovery_attempts = RecoveryAttempts(settings.folder.recovery_attempts)
    http_errors.install(app)
    app.include_router(_public_router())
    app.include_router(evaluate.router)
    app.include_router(recovery.router)
    app.add_middleware(HeadAsGet)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_bytes)
    app.add_middleware(AcceptLanguage)  # every answer below, a 413 included, in the client's language
    if origins:  # outermost, so refusals (401, 413, 429, 503) reach the page readable too
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["POST"],
                           allow_headers=["Content-Type"], expose_headers=["Retry-After"],
                           allow_credentials=False, max_age=600)
    return app


def _public_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return router


__all__ = ["create_app"]
