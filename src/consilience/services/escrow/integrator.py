"""The log's integrator: sequenced events into the tree, in batches, one signed checkpoint each (PROTOCOL.md §11).

Why apart from the write path. A submission used to append its own leaf, holding ``log_head`` until its
commit, and sign a checkpoint: every write in the deployment queued on that row and paid an Ed25519
signature. Now the request only sequences its event (``log.sequence``, one row in its own transaction),
and this integrator appends whatever is sequenced, in order, in one transaction per batch of at most
``settings.integrate_batch`` events, and signs one checkpoint for the batch (group commit: a hundred
waiting submissions cost one commit and one signature).

When. At least every ``settings.integrate_interval`` seconds, at once when a submission of this process
wakes it (``await_integrated``, so a lone reporter's answer waits milliseconds), and again straight
away while a batch was full. ``consilience integrate`` beside ``serve --no-integrator`` is woken from the
other processes too (``Integrator(cross_process=True)``): on PostgreSQL the serving process NOTIFYs
``consilience_sequenced`` right after the commit that sequenced its event and the integrator LISTENs on a
connection of its own; on SQLite, which has no notifications, it polls ``PRAGMA data_version`` on a kept
connection every ``SQLITE_POLL_SECONDS`` (a read of a counter in shared memory, no I/O), which changes
with every commit of another connection. Each batch's transaction NOTIFYs ``consilience_integrated``, so a
serving process without an integrator of its own waits for that (``await_integrated``) instead of
answering at once without the receipt. Only one integration runs at a time across every process on one
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
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select, text

from consilience.crypto import signing
from consilience.services.escrow.published import DeploymentStore
from consilience.services.escrow.settings import Settings, load_private_key
from consilience.storage import log
from consilience.storage.database import Database, upgrade
from consilience.storage.models import LogSequenced
from consilience.storage.repository import utcnow

logger = logging.getLogger(__name__)

#: PostgreSQL channels: a serving process sequenced an event (the integrator drains), an integration
#: committed (a serving process waiting for its receipt looks again)
SEQUENCED_CHANNEL = "consilience_sequenced"
INTEGRATED_CHANNEL = "consilience_integrated"
#: SQLite has no notifications: how often a process looks whether another one committed (``data_version``)
SQLITE_POLL_SECONDS = 0.005
#: PostgreSQL: how long a waiter goes without a notification before it looks itself (one may be missed
#: while a listening connection is being opened again)
NOTIFY_FALLBACK_SECONDS = 0.05


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
    ``settings.integrate_batch``) appended in order, one checkpoint signed if anything was appended.

    On a Core write connection (``Database.write_connection``): the log's statements are all Core, and a
    Session around them cost a good part of a small batch."""
    now = now or utcnow()
    with state.db.write_connection() as connection:
        appended = log.integrate(connection, now, limit or state.settings.integrate_batch)
        if appended.size > appended.start:
            log.sign(connection, state.deployments.current().deployment.log_origin, state.log_private, now,
                     grown=appended)
            if state.db.dialect == "postgresql":  # delivered at the commit, to serving processes waiting
                connection.execute(text("SELECT pg_notify(:channel, :size)"),
                                   {"channel": INTEGRATED_CHANNEL, "size": str(appended.size)})
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
    """The background thread: ``integrate_all`` when woken, or every ``integrate_interval`` seconds.

    ``cross_process``: also woken by other processes' commits (``consilience integrate``: the module's
    docstring says how); a server's own integrator is woken by its own requests and needs no listener.
    """

    def __init__(self, state: LogState, *, cross_process: bool = False) -> None:
        self.state = state
        self._watch: _Watch | None = None
        if cross_process:
            self._watch = _Watch(state.db, SEQUENCED_CHANNEL, self.wake, sqlite_wanted=_sequenced_exists)
        # One lock, two conditions: the thread waits for work (``_wakeup``), requests wait for a drain to
        # finish (``_drained``). Each waiting request wakes only the thread, not every other waiting
        # request: with one shared condition each submission woke them all, and under load those
        # wake-ups cost more CPU than the integration itself.
        self._changed = threading.Lock()
        self._wakeup = threading.Condition(self._changed)
        self._drained = threading.Condition(self._changed)
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
        if self._watch is not None:
            self._watch.start()
        _RUNNING[self.state.db] = self

    def wake(self) -> None:
        """Drain as soon as the batch in progress (if any) is done."""
        with self._changed:
            self._wake = True
            self._wakeup.notify()

    def stop(self, timeout: float = 30.0) -> None:
        """Let the batch in progress commit, integrate nothing more, and wait for the thread."""
        if _RUNNING.get(self.state.db) is self:
            del _RUNNING[self.state.db]
        if self._watch is not None:
            self._watch.stop()
        with self._changed:
            self._stop = True
            self._wakeup.notify()
            self._drained.notify_all()
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
            self._wakeup.notify()
            while self._finished < target:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop:
                    return False
                self._drained.wait(left)
            return True

    def _run(self) -> None:
        interval = self.state.settings.integrate_interval
        while True:
            with self._changed:
                if not self._wake and not self._stop:
                    self._wakeup.wait(interval)
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
                    self._wakeup.wait(min(interval, 0.5))  # not a busy loop against a database that is down
                continue
            with self._changed:
                self._finished = drain
                self._drained.notify_all()

    def _drain(self) -> None:
        """``integrate_all``, but a stop ends it after the batch in progress."""
        while integrate_once(self.state).appended >= self.state.settings.integrate_batch and not self._stop:
            pass


def await_integrated(state: LogState, timeout: float | None = None) -> bool:
    """After a commit that sequenced an event: wait until it is integrated, at most ``settings.receipt_wait``
    seconds; True once it is (then the caller reads its receipt).

    With an integrator in this process: wake it and wait for a drain begun after the commit. With the
    integrator in another process (``settings.integrator`` off: ``serve --no-integrator``): tell it
    (PostgreSQL: NOTIFY) and wait until no event sequenced up to now is left (``_integrated_through``).
    Otherwise (an application built without one, as tests do) False at once.
    """
    running = _RUNNING.get(state.db)
    wait = state.settings.receipt_wait if timeout is None else timeout
    if wait <= 0:
        return False
    if running is not None and running.running:
        return running.wait_integrated(wait)
    if state.settings.integrator:
        return False
    return _await_elsewhere(state.db, wait)


def _await_elsewhere(db: Database, timeout: float) -> bool:
    """Wait for another process's integrator to integrate every event sequenced so far (so the caller's).

    Every id at most the largest one sequenced now, not just the caller's: on PostgreSQL an event with a
    smaller id may commit later and is waited for too (a little longer, never a wrong answer), and the
    wait never depends on what anyone else's entries are.
    """
    deadline = time.monotonic() + timeout
    with db.read() as session:
        through = session.scalar(select(func.max(LogSequenced.id)))
    if through is None:
        return True
    if db.dialect == "postgresql":
        watch = _integrated_watch(db)
        seen = watch.generation
        _notify(db, SEQUENCED_CHANNEL)
        pause = NOTIFY_FALLBACK_SECONDS
    else:
        watch, seen, pause = None, 0, SQLITE_POLL_SECONDS
    while True:
        if _integrated_through(db, through):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if watch is None:
            time.sleep(min(pause, left))
        else:
            seen = watch.wait_past(seen, min(pause, left))


def _integrated_through(db: Database, through: int) -> bool:
    with db.read() as session:
        return session.scalar(select(LogSequenced.id).where(LogSequenced.id <= through).limit(1)) is None


def _sequenced_exists(connection: sqlite3.Connection) -> bool:
    return connection.execute("SELECT 1 FROM log_sequenced LIMIT 1").fetchone() is not None


def _notify(db: Database, channel: str) -> None:
    """NOTIFY on PostgreSQL, outside the caller's transaction (which has committed); an outage is only
    logged: the integrator's interval integrates the event all the same."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
            connection.commit()
    except Exception as exc:
        logger.warning("could not notify the integrator (%s); it integrates within its interval",
                       type(exc.__cause__ or exc).__name__)


class _Watch:
    """A thread that calls ``on_change`` when another process committed something of interest.

    PostgreSQL: LISTEN ``channel`` on a connection of its own (opened again after an outage), one call
    per burst of notifications. SQLite: ``PRAGMA data_version`` on a kept connection every
    ``SQLITE_POLL_SECONDS``, and a call when it changed and ``sqlite_wanted`` (on that connection) says so.
    """

    def __init__(self, db: Database, channel: str, on_change: Callable[[], None], *,
                 sqlite_wanted: Callable[[sqlite3.Connection], bool] | None = None) -> None:
        self._url = db.engine.url
        self._dialect = db.engine.dialect
        self._channel = channel
        self._on_change = on_change
        self._wanted = sqlite_wanted or (lambda _name: True)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"consilience-watch-{self._channel}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._dialect.name == "postgresql":
                    self._listen()
                else:
                    self._poll_sqlite()
            except Exception as exc:  # the database down: the interval still integrates; look again soon
                logger.warning("not watching the database for %s now (%s); trying again",
                               self._channel, type(exc).__name__)
                self._stop.wait(1.0)

    def _listen(self) -> None:
        import psycopg

        args, kwargs = self._dialect.create_connect_args(self._url)
        with psycopg.connect(*args, **kwargs, autocommit=True) as connection:
            connection.execute(f"LISTEN {self._channel}")
            self._on_change()  # what was notified while nobody listened
            while not self._stop.is_set():
                if any(True for _note in connection.notifies(timeout=0.5, stop_after=1)):
                    self._on_change()

    def _poll_sqlite(self) -> None:
        path: Any = self._url.database
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA busy_timeout = 1000")
            last = None
            while not self._stop.wait(SQLITE_POLL_SECONDS):
                version = connection.execute("PRAGMA data_version").fetchone()[0]
                if version != last:
                    last = version
                    if self._wanted(connection):
                        self._on_change()
        finally:
            connection.close()


class _Generation:
    """A counter of notifications, for threads waiting on one newer than they saw."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.generation = 0

    def bump(self) -> None:
        with self._changed:
            self.generation += 1
            self._changed.notify_all()

    def wait_past(self, seen: int, timeout: float) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self.generation > seen, timeout)
            return self.generation


#: this process's listeners for INTEGRATED_CHANNEL, one per database, started by the first wait
_INTEGRATED: weakref.WeakKeyDictionary[Database, _Generation] = weakref.WeakKeyDictionary()
_INTEGRATED_LOCK = threading.Lock()


def _integrated_watch(db: Database) -> _Generation:
    with _INTEGRATED_LOCK:
        found = _INTEGRATED.get(db)
        if found is None:
            found = _INTEGRATED[db] = _Generation()
            watch = _Watch(db, INTEGRATED_CHANNEL, found.bump)
            watch.start()
            weakref.finalize(db, watch.stop, 0)  # ends with the database object (a test's, a server's)
        return found


def run_alone(settings: Settings) -> None:
    """``consilience integrate``: the integrator as its own process, until SIGTERM or SIGINT.

    The escrow servers beside it run with ``--no-integrator``: each tells it of a new event and waits up to
    ``receipt_wait`` for its integration (``await_integrated``), answering without the receipt
    (``sequenced``) after that; the client then fetches it from GET /v2/entries/{id}/receipt. A signal lets
    the batch in progress commit first.
    """
    from consilience.services.serving import configure_logging

    configure_logging()
    log_private = load_private_key(settings.log_key_path, "log")
    deployments = DeploymentStore(settings.deployment_path, signing.public_key(log_private))
    deployments.current()  # a folder without a verified deployment document is refused before anything runs
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_args: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    running = Integrator(Alone(db, settings, deployments, log_private), cross_process=True)
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
