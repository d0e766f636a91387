"""The escrow server's application factory (``server.run`` serves it).

``create_app`` checks its configuration before accepting any request: the
log key is read, the published deployment document must verify (protocol v2;
a v1 document is refused by name) and name that key, and only then is the
database migrated to the current schema (Alembic, never ``create_all``), so a
folder without a deployment is refused with nothing created in it. A server
that cannot check submissions against a signed document must not accept any.

The application's lifespan runs the release pass (``releases.Releaser``) and the
log's integrator (``integrator.Integrator``, unless ``serve --no-integrator``: then
a ``consilience integrate`` process does it) in background threads and stops them
cleanly on shutdown, the integrator after its batch in progress. The API is under ``/v2/``
(PROTOCOL.md); every ``/v1/`` request is answered 410 ``protocol_v1`` with a
sentence naming the version.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

import consilience.services.escrow.corroboration as corroboration_routes  # PROTOCOL.md §14.4
import consilience.services.escrow.handover as handover_routes  # PROTOCOL.md §13.6
import consilience.services.escrow.readers as readers_routes  # PROTOCOL.md §13.6
from consilience import __version__
from consilience.crypto import signing
from consilience.i18n import N_, _
from consilience.services.escrow import (
    board,
    cases,
    counselor,
    errors,
    integrator,
    log_endpoints,
    reporter,
    sessions,
    web,
)
from consilience.services.escrow.backup import router as backup_router  # PROTOCOL.md §14.1
from consilience.services.escrow.conversations import router as conversations_router
from consilience.services.escrow.deletion import router as deletion_router  # PROTOCOL.md §14.2
from consilience.services.escrow.limits import budget_store
from consilience.services.escrow.notifier import Notifier, load_notifier
from consilience.services.escrow.notify import router as notify_router  # PROTOCOL.md §13.7
from consilience.services.escrow.page_settings import page_config  # PROTOCOL.md §14.2
from consilience.services.escrow.published import DeploymentStore
from consilience.services.escrow.releases import Releaser
from consilience.services.escrow.settings import Settings, load_private_key
from consilience.services.escrow.state import ServerState, State
from consilience.services.http_head import HeadAsGet
from consilience.services.http_language import AcceptLanguage
from consilience.services.limits import Budgets
from consilience.storage.database import Database, upgrade

V1_GONE = N_("this escrow server speaks Consilience protocol v2; this request is protocol v1's, which it no longer "
             "answers. Update the app or command to a version that speaks v2.")


def create_app(settings: Settings, *, notifier: Notifier | None = None, migrate: bool = True,
               web_static: Path | None = None, release_pass: bool = True, integrate: bool | None = None) -> FastAPI:
    """Build the application; raises ConfigurationError on a bad setup.

    ``web_static``: folder of the built web app (default: ``consilience.web.static_dir()``).
    ``release_pass``: run the release pass in the background while the application runs (tests
    that want every pass to be theirs turn it off and call ``releases.run_pass``).
    ``integrate``: run the log's integrator in this process (default ``settings.integrator``; off for
    workers beside a ``consilience integrate`` process, and for tests that integrate themselves:
    ``integrator.integrate_all``).
    """
    log_private = load_private_key(settings.log_key_path, "log")
    deployments = DeploymentStore(settings.deployment_path, signing.public_key(log_private))
    if migrate:
        upgrade(settings.database_url)
    db = Database(settings.database_url)
    state = ServerState(
        settings=settings,
        db=db,
        deployments=deployments,
        log_private=log_private,
        notifier=notifier if notifier is not None else load_notifier(settings),
        limits=Budgets(settings.limits, budget_store(db, log_private)),
    )

    releaser = Releaser(state)
    integrating = integrator.Integrator(state)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # a second lifespan of the same application (a test tool driving it over ASGI) leaves the running one be
        ours = (settings.integrator if integrate is None else integrate) and not integrating.running
        if ours:
            integrating.start()
        if release_pass:
            releaser.start()
        try:
            yield  # server.run says when it is ready, once the port is bound
        finally:
            releaser.stop()
            if ours:
                integrating.stop()
            db.dispose()

    app = FastAPI(title="Consilience escrow", version=__version__, lifespan=lifespan,  # i18n: english, the API's name
                  docs_url=None, redoc_url=None, openapi_url="/v2/openapi.json",
                  responses=errors.documented(400, 413))  # BodyLimitMiddleware, on any route
    app.state.escrow = state
    app.state.releaser = releaser
    app.state.integrator = integrating
    errors.install(app)
    app.include_router(_public_router())
    app.include_router(reporter.router)
    app.include_router(counselor.router)
    app.include_router(conversations_router)
    app.include_router(cases.router)
    app.include_router(sessions.router)
    app.include_router(deletion_router)
    app.include_router(log_endpoints.router, prefix=log_endpoints.PREFIX)
    app.include_router(board.router)
    app.include_router(readers_routes.router)
    app.include_router(handover_routes.router)
    app.include_router(corroboration_routes.router)
    app.include_router(notify_router)
    app.include_router(backup_router)
    app.add_api_route("/v1/{rest:path}", _v1_gone, methods=["GET", "POST", "PUT", "DELETE"],
                      include_in_schema=False)
    web.install(app, lambda: [k.url for k in deployments.current().deployment.key_servers], web_static,
                page_config=page_config(settings.exit_url, settings.auto_lock_seconds))
    app.add_middleware(HeadAsGet)
    app.add_middleware(errors.BodyLimitMiddleware, limit=settings.max_request_bytes)
    app.add_middleware(AcceptLanguage)  # outermost: every answer below, a 413 included, in the client's language
    return app


def _public_router() -> Any:
    from fastapi import APIRouter

    router = APIRouter(responses=errors.documented(503))

    @router.get("/v2/deployment")
    def deployment(state: State) -> Response:
        """The signed document byte for byte, as the administrator wrote it."""
        return Response(state.deployments.current().raw, media_type="application/json",
                        headers={"Cache-Control": "no-cache"})

    @router.get("/healthz")
    def healthz(state: State) -> dict[str, Any]:
        with state.db.read() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "deployment_serial": state.deployments.current().deployment.serial}

    return router



def _v1_gone(request: Request) -> JSONResponse:
    del request
    return errors.error_response(410, _(V1_GONE), error="protocol_v1")
