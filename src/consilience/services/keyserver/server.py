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
from consilience.i18n import _
from consilience.services.config import ConfigurationError
from consilience.services.keyserver import dkg_runner, revocations
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
    #: n and t, from the deployment document once read (None before)
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
        which = (f"key server {self.index}" if self.index else "the key server") + (
            f" of {self.key_servers}" if self.key_servers else "")
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

    stop = threading.Event()
    runner = dkg_runner.KeygenRunner(
        folder=settings.folder, member=state.member, keys=state.keys, holder=state.quorum,
        client=BoardClient(settings.escrow_url or state.member.escrow_url), settings=settings.keygen, stop=stop)
    held = state.quorum.get()
    index = held.index if held is not None else (settings.index or 0)
    revocations.start(app.state, state.admin_key, state.deployment_id,  # the administrator's revocation list
                      settings.escrow_url or state.member.escrow_url, stop, folder=settings.folder.root)

    def ready(where: Listening) -> None:
        d = state.quorum.deployment
        info = Ready(index, len(d.key_servers) if d else None, d.threshold if d else None, where.url, where.pid,
                     tuple(dict.fromkeys(parse_origin(o) for o in settings.web_origins)))
        log.info("%s", info.describe())
        if on_ready is not None:
            on_ready(info)
        if settings.run_keygen:
            dkg_runner.start(runner)

    try:
        serve(app, host=host, port=port or _default_port(settings, index), on_ready=ready,
              trusted_proxies=settings.trusted_proxies, tls=settings.tls, log_level="warning")
    finally:
        stop.set()
        runner.client.close()


def _default_port(settings: Settings, index: int) -> int:
    """Key server N's default port on one machine; else the port of the address it enrolled with."""
    if index:
        return defaults.keyserver_port(index)
    from urllib.parse import urlsplit

    from consilience.datadir import share_file

    try:
        port = urlsplit(share_file.read_enrollment(settings.folder.enrollment).url).port
    except Exception:  # noqa: BLE001 - no enrollment, or none with a port: the caller must say
        port = None
    if port is None:
        raise ConfigurationError(_("say which port to listen on (--port): this folder is not one of a data "
                                   "folder's keyserver-N and its enrollment names no port"))
    return port
