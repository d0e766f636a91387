"""Serving an application with uvicorn, and saying so once the port is bound.

Both servers start the same way: build the application (a bad setup fails before anything
listens), bind, then say once where they listen. ``serve`` calls ``on_ready`` only after the
socket is bound, so a script that waits for the ready line (``consilience serve --json``) can
connect at once; a server that cannot bind or start raises ``ConfigurationError`` instead of
exiting, so the CLI answers with its usual ``error:`` line (and ``{"error": …}`` with --json).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from consilience.datadir import defaults
from consilience.services.config import ConfigurationError

#: One format for both servers' logs (stderr).
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class Listening:
    """Where a server listens, once it does."""

    host: str
    port: int
    pid: int

    @property
    def url(self) -> str:
        return defaults.url(self.host, self.port)


def configure_logging() -> None:
    """INFO and above to stderr, unless the embedding program configured logging itself."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a key server reads the board every second


def proxy_options(trusted_proxies: Sequence[str] = ()) -> dict[str, Any]:
    """uvicorn's proxy-header settings: X-Forwarded-For believed only from ``trusted_proxies``.

    uvicorn's own default believes it from 127.0.0.1 (or $FORWARDED_ALLOW_IPS), so any process on
    the machine could name itself a fresh client address and a fresh per-address budget. Here no
    proxy is trusted unless the operator names one.
    """
    proxies = [p.strip() for p in trusted_proxies if p.strip()]
    if not proxies:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": proxies}


def serve(app: Any, *, host: str, port: int, on_ready: Callable[[Listening], None] | None = None,
          trusted_proxies: Sequence[str] = (), **options: Any) -> None:
    """Serve ``app`` on ``host:port`` until interrupted; ``options`` go to ``uvicorn.Config``.

    X-Forwarded-For is believed only from ``trusted_proxies`` (:func:`proxy_options`).
    """
    import uvicorn

    options = {**proxy_options(trusted_proxies), **options}

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and on_ready is not None:
                bound = self.servers[0].sockets[0].getsockname()[1] if self.servers else port
                on_ready(Listening(host, int(bound), os.getpid()))

    server = Server(uvicorn.Config(app, host=host, port=port, log_config=None, **options))
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits when it cannot bind or the application fails to start
        raise ConfigurationError(f"the server did not start on {defaults.url(host, port)} "
                                 "(the reason is in the log line above)") from exc
    if not server.started:
        raise ConfigurationError(f"the server did not start on {defaults.url(host, port)} "
                                 "(the reason is in the log line above)")
