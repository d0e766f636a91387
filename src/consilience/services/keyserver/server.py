"""Serving a key server (``consilience keyserver``).

Once the port is bound the server logs one line: which key server it is (index, of how many),
where it listens and the web origins it lets browsers call it from. Never anything of its share.
Then its key generation runs beside the requests (``dkg_runner``), logging its progress in
sentences, until the key server holds its quorum keys; it stops with the server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from consilience.clients.board import BoardClient
from consilience.datadir import defaults
from consilience.services.keyserver import dkg_runner
from consilience.services.keyserver.app import create_app
from consilience.services.keyserver.settings import Settings
from consilience.services.keyserver.state import KeyServerState
from consilience.services.serving import Listening, check_tls, configure_logging, serve
from consilience.web import parse_origin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ready:
    """The key server listens: what ``consilience keyserver --json`` prints as its one line."""

    index: int
    #: n and t, from the share file (``admin init`` writes both)
    key_servers: int | None
    threshold: int | None
    url: str
    pid: int
    web_origins: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"service": "keyserver", "index": self.index, "key_servers": self.key_servers,
                "threshold": self.threshold, "url": self.url, "pid": self.pid,
                "web_origins": list(self.web_origins)}

    def describe(self) -> str:
        which = f"key server {self.index}" + (f" of {self.key_servers}" if self.key_servers else "")
        needed = f" ({self.threshold} needed)" if self.threshold and self.key_servers else ""
        origins = (f"browsers may call it from pages at {', '.join(self.web_origins)}" if self.web_origins
                   else "no web page may call it (no --web-origin given, none in web-origins.json), "
                        "so the web app cannot escrow through it")
        return f"{which}{needed} ready at {self.url}; {origins}"


def run(settings: Settings, *, host: str = defaults.HOST, port: int | None = None,
        on_ready: Callable[[Ready], None] | None = None) -> None:
    """Serve until interrupted; no ``port``: key server N's default, 8100 + N.

    The application is built first, so a missing share or a share of another index never binds
    the port; nor do TLS files that cannot serve (``settings.tls``). ``on_ready`` is called once
    the port is bound.
    """
    configure_logging()
    check_tls(settings.tls)
    app = create_app(settings)
    state: KeyServerState = app.state.keyserver
    share = state.shares.current().key

    stop = threading.Event()
    runner = dkg_runner.KeygenRunner(
        folder=settings.folder, share=share, keys=state.keys, holder=state.quorum,
        client=BoardClient(settings.escrow_url or share.escrow_url), settings=settings.keygen, stop=stop)

    def ready(where: Listening) -> None:
        info = Ready(state.index, share.key_servers, share.threshold, where.url, where.pid,
                     tuple(dict.fromkeys(parse_origin(o) for o in settings.web_origins)))
        log.info("%s", info.describe())
        if on_ready is not None:
            on_ready(info)
        if settings.run_keygen:
            dkg_runner.start(runner)

    try:
        serve(app, host=host, port=port or defaults.keyserver_port(state.index), on_ready=ready,
              trusted_proxies=settings.trusted_proxies, tls=settings.tls, log_level="warning")
    finally:
        stop.set()
        runner.client.close()
