"""The log's integrator: sequenced events into the tree, in batches, one signed checkpoint each (PROTOCOL.md §11).

Why apart from the write path. A submission used to append its own leaf, holding ``log_head`` until its
commit, and sign a checkpoint: every write in the deployment queued on that row and paid an Ed25519
signature. Now the request only sequences its event (``log.sequence``, one row in its own transaction),
and this integrator appends whatever is sequenced, in order, in one transaction per batch of at most
``settings.integrate_batch`` events, and signs one checkpoint for the batch (group commit: a hundred
waiting submissions cost one commit and one signature).

When. At least every ``settings.integrate_interval`` seconds, at once when a submission of this process
wakes it (``await_integrated``, so a lone reporter's answer waits milliseconds), and again straight
away while a batch was full. Only one integration runs at a time across every process on one
database: each begins by locking ``log_head`` (``log.integrate``), which is also what every other
append (the release pass, an account's deletion) locks; on SQLite the single writer serialises anyway.

Stopping. ``stop`` lets the batch in progress finish (SIGTERM through the server's lifespan, or
``consilience integrate``); a SIGKILL loses nothing, since a batch is one transaction and what it did
not commit stays sequenced for the next one.

Privacy (``releases``): an integration never counts anything, and every sequenced event is integrated
the same way, so neither when a receipt is ready nor its checkpoint's size depends on whether anyone
else named the same person.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from consilience.crypto import signing
from consilience.services.escrow.published import DeploymentStore
from consilience.services.escrow.settings import Settings, load_private_key
from consilience.storage import log
from consilience.storage.database import Database, upgrade
from consilience.storage.repository import utcnow

logger = logging.getLogger(__name__)


class LogState(Protocol):
    """What integrating needs: the database, the settings, the deployment (the log's origin), the log's key.
    The escrow server's ``ServerState`` is one; ``consilience integrate`` builds only this (``Alone``)."""

    @property
    def db(self) -> Database: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def deployments(self) -> DeploymentStore: ...
    @property
    def log_private(self) -> bytes: ...


@dataclass(frozen=True)
class Alone:
    db: Database
    settings: Settings
    deployments: DeploymentStore
    log_private: bytes


@dataclass(frozen=True)
class Integrated:
    """What one integration did: how many events it appended and the tree's size after it."""

    appended: int
    size: int


def integrate_once(state: LogState, now: datetime | None = None, *, limit: int | None = None) -> Integrated:
    """One batch, now, in one transaction: the oldest ``limit`` sequenced events (default
    ``settings.integrate_batch``) appended in order, one checkpoint signed if anything was appended."""
    now = now or utcnow()
    with state.db.write() as session:
        appended = log.integrate(session, now, limit or state.settings.integrate_batch)
        if appended.size > appended.start:
            log.sign(session, state.deployments.current().deployment.log_origin, state.log_private, now,
                     root=appended.root)
    return Integrated(appended.size - appended.start, appended.size)


def integrate_all(state: LogState, now: datetime | None = None) -> int:
    """Batches until nothing sequenced is left (as seen when each began); the number of events appended."""
    total = 0
    while True:
        done = integrate_once(state, now)
        total += done.appended
        if done.appended < state.settings.integrate_batch:
            return total


#: The integrator running in this process for a database, so that a request can wake it and wait.
_RUNNING: weakref.WeakKeyDictionary[Database, Integrator] = weakref.WeakKeyDictionary()


class Integrator:
    """The background thread: ``integrate_all`` when woken, or every ``integrate_interval`` seconds."""

    def __init__(self, state: LogState) -> None:
        self.state = state
        self._changed = threading.Condition()
        self._wake = False
        self._stop = False
        #: drains begun and drains finished: a drain begun after an event's commit integrated it
        self._begun = 0
        self._finished = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the integrator is already running")
        with self._changed:
            self._stop = False
            self._wake = True  # at once: what a stopped or killed process left sequenced goes in first
        self._thread = threading.Thread(target=self._run, name="consilience-integrator", daemon=True)
        self._thread.start()
        _RUNNING[self.state.db] = self

    def stop(self, timeout: float = 30.0) -> None:
        """Let the batch in progress commit, integrate nothing more, and wait for the thread."""
        if _RUNNING.get(self.state.db) is self:
            del _RUNNING[self.state.db]
        with self._changed:
            self._stop = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.error("the integrator did not stop within %.0f s", timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait_integrated(self, timeout: float) -> bool:
        """Wake the thread and wait until a drain that began after this call has finished (True), or
        ``timeout`` seconds (False). Called after the caller's event committed, so that drain saw it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            target = self._begun + 1
            self._wake = True
            self._changed.notify_all()
            while self._finished < target:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop:
                    return False
                self._changed.wait(left)
            return True

    def _run(self) -> None:
        interval = self.state.settings.integrate_interval
        while True:
            with self._changed:
                if not self._wake and not self._stop:
                    self._changed.wait(interval)
                if self._stop:
                    return
                self._wake = False
                self._begun += 1
                drain = self._begun
            try:
                self._drain()
            except Exception as exc:  # a database outage must not end the thread; the events stay sequenced
                logger.error("log integration failed (%s); the sequenced events wait for the next one",
                             type(exc.__cause__ or exc).__name__, exc_info=not _is_outage(exc))
                with self._changed:
                    self._changed.wait(min(interval, 0.5))  # not a busy loop against a database that is down
                continue
            with self._changed:
                self._finished = drain
                self._changed.notify_all()

    def _drain(self) -> None:
        """``integrate_all``, but a stop ends it after the batch in progress."""
        while integrate_once(self.state).appended >= self.state.settings.integrate_batch and not self._stop:
            pass


def await_integrated(state: LogState, timeout: float | None = None) -> bool:
    """After a commit that sequenced an event: wake this process's integrator and wait for it, at most
    ``settings.receipt_wait`` seconds. False at once when none runs here (``serve --no-integrator``)."""
    running = _RUNNING.get(state.db)
    wait = state.settings.receipt_wait if timeout is None else timeout
    if running is None or not running.running or wait <= 0:
        return False
    return running.wait_integrated(wait)


def run_alone(settings: Settings) -> None:
    """``consilience integrate``: the integrator as its own process, until SIGTERM or SIGINT.

    The escrow servers beside it run with ``--no-integrator``; their answers then go out without a
    receipt (``sequenced``) unless this process integrated within their wait, and clients fetch the
    receipt from GET /v2/entries/{id}/receipt. A signal lets the batch in progress commit first.
    """
    from consilience.services.serving import configure_logging

    configure_logging()
    log_private = load_private_key(settings.log_key_path, "log")
    deployments = DeploymentStore(settings.deployment_path, signing.public_key(log_private))
    deployments.current()  # a folder without a verified deployment document is refused before anything runs
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    running = Integrator(Alone(db, settings, deployments, log_private))
    try:
        running.start()
        logger.info("integrator running: every %.3g s, at most %d events per batch",
                    settings.integrate_interval, settings.integrate_batch)
        stopping.wait()
        logger.info("integrator stopping after its batch in progress")
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        db.dispose()


def _is_outage(exc: Exception) -> bool:
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return isinstance(exc, (OperationalError, PoolTimeout))
