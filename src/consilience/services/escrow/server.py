"""Serving the escrow server (``consilience serve``, ``python -m consilience.services.escrow``)."""

from __future__ import annotations

import logging

from consilience.datadir import defaults
from consilience.services.escrow.app import create_app
from consilience.services.escrow.settings import Settings

log = logging.getLogger(__name__)


def run(settings: Settings, *, host: str = defaults.HOST, port: int = defaults.ESCROW_PORT) -> None:
    """Serve until interrupted; the application is built first, so a bad setup never binds the port."""
    import uvicorn

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
    app = create_app(settings)
    if host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("listening on %s: put the server behind TLS", host)
    uvicorn.run(app, host=host, port=port, access_log=settings.access_log, server_header=False,
                proxy_headers=False, log_config=None)
