"""Serving a key server (``consilience keyserver``)."""

from __future__ import annotations

from consilience.datadir import defaults
from consilience.services.keyserver.app import create_app
from consilience.services.keyserver.settings import Settings
from consilience.services.keyserver.state import KeyServerState


def run(settings: Settings, *, host: str = defaults.HOST, port: int | None = None) -> None:
    """Serve until interrupted; no ``port``: key server N's default, 8100 + N.

    The application is built first, so a missing share or a share of another index never binds the port.
    """
    import uvicorn

    app = create_app(settings)
    state: KeyServerState = app.state.keyserver
    uvicorn.run(app, host=host, port=port or defaults.keyserver_port(state.index), log_level="warning")
