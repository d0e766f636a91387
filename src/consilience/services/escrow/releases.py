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

One schedule for the deployment. Every process serving it (workers, hosts) runs a ``Releaser``, but the
passes are the deployment's: the row ``release_schedule`` says when the next one is due, and the timer
that finds it due (``Releaser.step``, under ``RELEASE_PASS_LOCK``) runs it and draws the random delay to
the one after; a timer that wakes before that sleeps on. So N processes log one padded batch per delay,
with the same randomised timing as one process, never N (the log's growth would otherwise tell how
many processes serve it, and each would pad on its own).

``run_pass`` runs one pass now (tests call it to be deterministic); ``Releaser`` is the thread the
application starts with itself and stops when it shuts down. Every pass is one transaction, so a
crash loses nothing: what was queued stays queued for the next pass after a restart.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from consilience.protocol import events
from consilience.services.escrow import integrator
from consilience.services.escrow.state import ServerState
from consilience.storage import log, repository
from consilience.storage.database import exclusive
from consilience.storage.models import ReleaseSchedule
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


#: Longest sleep between two looks at the schedule while a pass is not due (another process may have
#: moved it, or a database outage ended); far below any interval a deployment runs with.
LONGEST_SLEEP_SECONDS = 60.0


class Releaser:
    """The background thread: the deployment's pass whenever it is due (``step``), until ``stop``."""

    def __init__(self, state: ServerState, *, rng: random.Random | None = None) -> None:
        self.state = state
        self._rng = rng or random.SystemRandom()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def delay(self) -> float:
        """Seconds until the next pass: uniform in interval·[1 − jitter, 1 + jitter]."""
        interval, jitter = self.state.settings.release_interval, self.state.settings.release_jitter
        return interval * self._rng.uniform(1 - jitter, 1 + jitter)

    def step(self, now: datetime | None = None) -> tuple[PassResult | None, float]:
        """Run the deployment's pass if it is due (and schedule the next one); what it did (None: not due,
        or another process's timer ran it) and the seconds until this timer should look again.

        Nothing scheduled yet, or a due time further off than this process's longest delay (the interval
        was shortened since): scheduled afresh from now, as one process's first delay always was.
        """
        now = now or utcnow()
        longest = self.state.settings.release_interval * (1 + self.state.settings.release_jitter)
        with self.state.db.write() as session:
            exclusive(session, RELEASE_PASS_LOCK)  # one timer decides at a time, across every process
            schedule = session.get(ReleaseSchedule, 1, with_for_update=True)
            if schedule is None:  # the migration made it; a database restored without the row gets it back
                schedule = ReleaseSchedule(id=1)
                session.add(schedule)
            due = schedule.due_at
            if due is None or due > now + timedelta(seconds=longest):
                schedule.due_at = now + timedelta(seconds=self.delay())
                return None, self._sleep(schedule.due_at - now)
            if due > now:
                return None, self._sleep(due - now)
            schedule.ran_at, schedule.due_at = now, now + timedelta(seconds=self.delay())
            next_due = schedule.due_at
        began = time.monotonic()
        done = run_pass(self.state, now)
        return done, self._sleep(next_due - now - timedelta(seconds=time.monotonic() - began))

    @staticmethod
    def _sleep(left: timedelta) -> float:
        return min(max(left.total_seconds(), 0.0), LONGEST_SLEEP_SECONDS)

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
        wait = 0.0  # look at the schedule at once: it says when the deployment's next pass is due
        while not self._stop.wait(wait):
            try:
                _done, wait = self.step()
            except Exception as exc:  # a database outage must not end the thread; the queue waits
                logger.error("release pass failed (%s); what it would have done waits for the next one",
                             type(exc.__cause__ or exc).__name__, exc_info=not _is_outage(exc))
                wait = min(self.state.settings.release_interval, 5.0)


def _is_outage(exc: Exception) -> bool:
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return isinstance(exc, (OperationalError, PoolTimeout))
