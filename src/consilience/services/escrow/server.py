"""Serving the escrow server (``consilience serve``, ``python -m consilience.services.escrow``).

Once the port is bound the server logs one line: where it listens, the deployment serial in
force and where the web app's two pages are. Before that it warns when a key server folder it
can see in the data folder (``keyserver-N/web-origins.json`` beside its ``escrow/`` folder)
does not allow the deployment's own address: the web app served there could not escrow.

On SQLite it serves alone: a second ``serve`` on the same database file is refused (``hold_sqlite``),
since each would keep its own request budgets in memory (doubling every budget) and run its own
release pass. ``consilience integrate`` and the admin commands do not take that lock, and run beside it.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from consilience.datadir import DataDir, defaults, web_origins
from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.protocol.deployment import Deployment
from consilience.services.config import ConfigurationError
from consilience.services.escrow.app import create_app
from consilience.services.escrow.settings import Settings
from consilience.services.escrow.state import ServerState
from consilience.services.serving import Listening, check_tls, configure_logging, serve, serve_workers
from consilience.web import origin_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ready:
    """The escrow server listens: what ``consilience serve --json`` prints as its one line."""

    url: str
    pid: int
    deployment_serial: int

    def to_json(self) -> dict[str, object]:
        return {"service": "escrow", "url": self.url, "pid": self.pid,
                "deployment_serial": self.deployment_serial,
                "reporter_url": f"{self.url}/", "counselor_url": f"{self.url}/counselor/"}


def run(settings: Settings, *, host: str = defaults.HOST, port: int = defaults.ESCROW_PORT,
        on_ready: Callable[[Ready], None] | None = None, trusted_proxies: Sequence[str] = (),
        workers: int = 1) -> None:
    """Serve until interrupted; the application is built first, so a bad setup never binds the port.

    ``on_ready`` is called once the port is bound. X-Forwarded-For is believed only from
    ``trusted_proxies`` (a reverse proxy in front of the server); otherwise per-address budgets
    key on the socket's peer, so nobody claims a fresh address by sending the header. With
    ``settings.tls`` it serves HTTPS; those files are checked before anything else.

    ``workers`` > 1 serves from that many processes on one socket (``serving.serve_workers``),
    on PostgreSQL only: what the processes share (budgets, the release pass's lock, the quiet time
    of notices) is in the database, and SQLite's single writer would make them queue on every
    write. Only worker 0 runs the release pass, so the log grows as with one process.
    """
    configure_logging()
    check_tls(settings.tls)
    if workers != 1:
        check_workers(settings, workers)
    hold_sqlite(settings)
    app = create_app(settings)
    state: ServerState = app.state.escrow
    for warning in origin_warnings(settings.data_dir, state.deployments.current().deployment):
        log.warning("%s", warning)
    if workers != 1:
        state.db.dispose()  # built to check the setup; each worker builds its own after the fork
        deployments = state.deployments

        def ready_all(where: Listening) -> None:
            serial = deployments.current().deployment.serial
            log.info("escrow server ready at %s (deployment serial %d, %d workers): reporter app at /, "
                     "counselor app at /counselor/", where.url, serial, workers)
            if on_ready is not None:
                on_ready(Ready(where.url, where.pid, serial))

        serve_workers(lambda index: create_app(settings, migrate=False, release_pass=index == 0), workers,
                      host=host, port=port, on_ready=ready_all, access_log=settings.access_log,
                      server_header=False, trusted_proxies=trusted_proxies, tls=settings.tls)
        return

    def ready(where: Listening) -> None:
        serial = state.deployments.current().deployment.serial
        log.info("escrow server ready at %s (deployment serial %d): reporter app at /, counselor app at "
                 "/counselor/", where.url, serial)
        if on_ready is not None:
            on_ready(Ready(where.url, where.pid, serial))

    serve(app, host=host, port=port, on_ready=ready, access_log=settings.access_log, server_header=False,
          trusted_proxies=trusted_proxies, tls=settings.tls)


def check_workers(settings: Settings, workers: int) -> None:
    """Several workers only where they are correct and useful: PostgreSQL."""
    if workers < 1:
        raise ConfigurationError(_("--workers must be at least 1, not {workers}", workers=workers))
    if make_url(settings.database_url).get_backend_name() != "postgresql":
        raise ConfigurationError(
            _("--workers {workers} needs PostgreSQL (--database-url postgresql+psycopg://…): on SQLite one process "
              "serves the escrow, since SQLite admits one writer at a time and keeps the request budgets in that "
              "process's memory. Serve SQLite with one worker.",
              workers=workers))


#: file descriptors of the locks ``hold_sqlite`` took: held until the process exits
_HELD: list[int] = []


def hold_sqlite(settings: Settings) -> Path | None:
    """On SQLite, lock ``<database>.serve-lock`` (``flock``, exclusive) for the life of this process, or refuse
    to serve if another escrow server holds it; the lock file's path (None on PostgreSQL).

    The lock goes with the process however it ends (a SIGKILL too), so a crashed server never blocks the
    next one; the file only holds the process id for the message.
    """
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    database = Path(url.database).resolve()
    path = database.with_name(database.name + ".serve-lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip()
        os.close(fd)
        other = (_("another escrow server (process {pid})", pid=holder) if holder.isdigit()
                 else _("another escrow server"))
        raise ConfigurationError(
            _("{other} already serves the SQLite database {database}. One process serves a "
              "SQLite database: two would each keep their own request budgets (so every budget would count double) "
              "and run their own release pass. Stop the other server first; to serve from several processes or "
              "hosts, use PostgreSQL (--database-url postgresql+psycopg://…, --workers N). 'consilience integrate' "
              "and the admin commands run beside the one server.",
              other=other, database=database)) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _HELD.append(fd)
    return path


def origin_warnings(escrow_folder: Path, deployment: Deployment) -> list[str]:
    """For each key server whose folder sits beside ``escrow_folder`` (one machine, one data folder)
    and does not allow the deployment's address: what goes wrong and how to fix it.

    Key servers on other machines, or started with ``--web-origin``, are not visible here.
    """
    try:
        own = origin_of(deployment.escrow_url)
    except InvalidInput:
        return []
    data = DataDir(Path(escrow_folder).parent)
    warnings = []
    for server in deployment.key_servers:
        path = data.keyserver(server.index).web_origins
        if not path.is_file():
            continue
        try:
            allowed = web_origins.read(path)
        except InvalidInput as exc:
            warnings.append(f"cannot check key server {server.index}'s web origins: {exc}")
            continue
        if own not in allowed:
            warnings.append(
                f"key server {server.index} lets browsers call it only from "
                f"{', '.join(allowed) if allowed else 'no web page at all'} ({path}), not from {own}: "
                f"the web app opened at {own}/ cannot escrow. Start the key server with "
                f"--web-origin {own} (and each other address people open), or add it to that file.")
    return warnings
