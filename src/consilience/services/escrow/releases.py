"""The release pass: counting, releasing, logging and notifying, apart from every submission (PROTOCOL.md §8, §11).

Why apart. If counting ran in the submitter's transaction, the submitter could tell from its answer,
its receipt's checkpoint size or the time it took whether someone else had already named the same
person — a matching oracle. So a submission only queues its tags (``recount_queue``); this pass,
run by a background thread of the escrow server after a randomised delay, counts under every queued
tag, releases what reached its quorum, queues a release event per match that was created or grew,
and appends a fixed-size batch of log leaves: the oldest queued events (releases, counselors'
openings), padded with padding events up to the batch size. The log therefore grows by exactly
``log_batch_size`` leaves per pass whether or not anything was released or opened, and the leaves
(commitments) do not say which is which. Counselors are notified after the pass commits.

Order (PROTOCOL.md §14.4: corroboration proves that the entries of a match were logged before the
match's release leaf). Entries are only sequenced when submitted (``integrator``), so the pass first
integrates everything sequenced, in its own transaction, before it counts; and the batch's own
transaction integrates again whatever was sequenced meanwhile before it appends a release
(``log.append_batch``). An entry counted toward a match was committed before the count, so its leaf
always precedes that match's release leaf. Both integrations go the same way whatever is counted, so
the privacy argument above still holds.

``run_pass`` runs one pass now (tests call it to be deterministic); ``Releaser`` is the thread the
application starts with itself and stops when it shuts down. Every pass is one transaction, so a
crash loses nothing: what was queued stays queued for the next pass after a restart.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime

from consilience.protocol import events
from consilience.services.escrow import integrator
from consilience.services.escrow.state import ServerState
from consilience.storage import log, repository
from consilience.storage.database import exclusive
from consilience.storage.repository import MatchChange, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassResult:
    changes: tuple[MatchChange, ...]
    #: leaves appended: always the batch size
    appended: int
    #: of which real (queued) events
    logged: int
    size: int


#: Tags counted per write transaction. SQLite has one writer at a time, so a pass over thousands
#: of queued tags in one transaction would hold every submission back for seconds; in chunks it
#: holds each back for one chunk's counting at most.
TAGS_PER_TRANSACTION = 128
#: Several processes serving one database each run passes: each transaction of a pass holds this
#: lock (``storage.database.exclusive``), so no two count or append at once (SQLite: its one writer).
RELEASE_PASS_LOCK = "consilience release pass"


def run_pass(state: ServerState, now: datetime | None = None) -> PassResult:
    """One pass: the tags queued when it starts, counted in chunks, then one batch of leaves.

    Each chunk's release events are deferred to the log in the chunk's own transaction, so a
    crash between chunks loses nothing (the events wait in the database for the next batch,
    the uncounted tags stay queued). Tags queued while the pass runs wait for the next one, so
    a pass ends even under a steady stream of submissions. Notifications go out after each
    chunk commits.
    """
    now = now or utcnow()
    batch = state.settings.log_batch_size
    integrator.integrate_all(state, now)  # every entry counted below has its leaf before any release leaf
    with state.db.read() as session:
        queued = repository.queued_tags(session)
    changes: list[MatchChange] = []
    for start in range(0, len(queued), TAGS_PER_TRANSACTION):
        with state.db.write() as session:
            exclusive(session, RELEASE_PASS_LOCK)  # another process's pass counts these tags before or after
            chunk = repository.count_queued(session, now, queued[start:start + TAGS_PER_TRANSACTION])
            for change in chunk:
                log.defer(session, events.release_event(change.match_id, change.released, now), now)
        state.notify(chunk, now)  # logs each change too
        changes += chunk
    with state.db.write() as session:
        exclusive(session, RELEASE_PASS_LOCK)
        logged = log.append_batch(session, batch, now)  # after what was sequenced since
        log.sign(session, state.deployments.current().deployment.log_origin, state.log_private, now)
        size = log.size(session)
    return PassResult(tuple(changes), batch, len(logged), size)


class Releaser:
    """The background thread: a pass after each randomised delay, until ``stop``."""

    def __init__(self, state: ServerState, *, rng: random.Random | None = None) -> None:
        self.state = state
        self._rng = rng or random.SystemRandom()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def delay(self) -> float:
        """Seconds until the next pass: uniform in interval·[1 − jitter, 1 + jitter]."""
        interval, jitter = self.state.settings.release_interval, self.state.settings.release_jitter
        return interval * self._rng.uniform(1 - jitter, 1 + jitter)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the release pass is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="consilience-release-pass", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for a pass in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.error("the release pass did not stop within %.0f s", timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.delay()):
            try:
                run_pass(self.state)
            except Exception as exc:  # a database outage must not end the thread; the queue waits
                logger.error("release pass failed (%s); what it would have done waits for the next one",
                             type(exc.__cause__ or exc).__name__, exc_info=not _is_outage(exc))


def _is_outage(exc: Exception) -> bool:
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return isinstance(exc, (OperationalError, PoolTimeout))
