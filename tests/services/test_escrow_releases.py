"""The release pass as the server runs it: a background thread on a randomised timer, stopped cleanly."""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consilience.protocol.encoding import b64u_decode
from consilience.services.escrow.app import create_app
from consilience.services.escrow.releases import Releaser
from consilience.services.escrow.settings import ConfigurationError, Settings
from consilience.storage import repository
from consilience.storage.models import Entry, Match

from .harness import Escrow, build


def test_the_background_pass_releases_without_anyone_calling_it(tmp_path: Path) -> None:
    escrow = build(tmp_path / "data", release_pass=True, release_interval=0.05)
    releaser = escrow.client.app.state.releaser  # type: ignore[attr-defined]
    assert not releaser.running  # started by the application's lifespan, not before
    with escrow.client:
        assert releaser.running
        tag = os.urandom(32)
        a, b = escrow.reporter(), escrow.reporter()
        first = escrow.submission(tags=[tag])
        escrow.submit(a, first)
        escrow.submit(b, escrow.submission(tags=[tag]))
        deadline = time.monotonic() + 20
        while escrow.stored_status(first["entry_id"]) != "released":
            assert time.monotonic() < deadline, "the background pass never released the entry"
            time.sleep(0.02)
        size = escrow.counts()["log_leaves"]
        time.sleep(0.3)
        grown = escrow.counts()["log_leaves"] - size
        assert grown > 0 and grown % escrow.settings.log_batch_size == 0  # idle passes keep the same step
    assert not releaser.running  # stopped with the application
    stopped = escrow.counts()["log_leaves"]
    time.sleep(0.2)
    assert escrow.counts()["log_leaves"] == stopped
    escrow.db.dispose()


def test_delays_are_randomised_within_the_configured_spread(tmp_path: Path) -> None:
    escrow = build(tmp_path / "data", release_interval=10.0, release_jitter=0.5)
    releaser = Releaser(escrow.state, rng=random.Random(7))
    delays = [releaser.delay() for _ in range(2000)]
    assert 5.0 <= min(delays) < 5.2 and 14.8 < max(delays) <= 15.0
    assert len({round(d, 6) for d in delays}) == len(delays)
    escrow.db.dispose()


def test_a_failing_pass_does_not_stop_the_thread(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    escrow = build(tmp_path / "data", release_pass=True, release_interval=0.02)
    with escrow.client:
        healthy = escrow.state.db
        from consilience.storage.database import Database, sqlite_url

        broken = tmp_path / "not-a-database"
        broken.mkdir()
        escrow.state.db = Database(sqlite_url(broken))
        time.sleep(0.2)
        escrow.state.db.dispose()
        escrow.state.db = healthy
        assert "release pass failed" in caplog.text
        size = escrow.counts()["log_leaves"]
        deadline = time.monotonic() + 10
        while escrow.counts()["log_leaves"] == size:
            assert time.monotonic() < deadline, "the pass did not resume after the outage"
            time.sleep(0.02)
    escrow.db.dispose()


def test_release_settings_are_checked(tmp_path: Path) -> None:
    for bad in ({"release_interval": 0}, {"release_jitter": 1.0}, {"log_batch_size": 0}):
        with pytest.raises(ConfigurationError):
            Settings.for_data_dir(tmp_path, **bad)  # type: ignore[arg-type]
    assert Settings.from_env({"CONSILIENCE_DATA_DIR": str(tmp_path), "CONSILIENCE_RELEASE_INTERVAL": "2.5"}) \
        .release_interval == 2.5
    with pytest.raises(ConfigurationError, match="number of seconds"):
        Settings.from_env({"CONSILIENCE_DATA_DIR": str(tmp_path), "CONSILIENCE_RELEASE_INTERVAL": "soon"})


def test_a_pass_counts_many_tags_in_chunks_and_leaves_later_ones_for_the_next(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass over more queued tags than one transaction holds counts them all, a chunk per transaction
    (so a submission waits for one chunk at most, not the whole pass), and a tag queued while the pass
    runs waits for the next one, so a pass ends under a steady stream of submissions."""
    from consilience.services.escrow import releases
    from consilience.storage import repository

    monkeypatch.setattr(releases, "TAGS_PER_TRANSACTION", 3)
    escrow = build(tmp_path / "data")
    with escrow.client:
        pairs = []
        for _ in range(7):  # 7 tags, each named by two accounts at quorum 2: 7 releases, 3 chunks
            tag = os.urandom(32)
            first = escrow.submission(tags=[tag])
            escrow.submit(escrow.reporter(), first)
            escrow.submit(escrow.reporter(), escrow.submission(tags=[tag]))
            pairs.append(first["entry_id"])
        transactions: list[int] = []
        late = escrow.submission(tags=[os.urandom(32)])
        late_reporter = escrow.reporter()
        real_count, real_notify = repository.count_queued, escrow.state.notify

        def counting(session, now, tags=None):  # type: ignore[no-untyped-def]
            transactions.append(len(tags or []))
            return real_count(session, now, tags)

        def notify(changes, now):  # type: ignore[no-untyped-def]
            if len(transactions) == 1:  # between two chunks, a reporter submits: it is not held back
                escrow.submit(late_reporter, late)
            return real_notify(changes, now)

        monkeypatch.setattr(repository, "count_queued", counting)
        monkeypatch.setattr(escrow.state, "notify", notify)
        result = escrow.run_pass()
        assert transactions == [3, 3, 1]
        assert len(result.changes) == 7 and all(escrow.stored_status(e) == "released" for e in pairs)
        with escrow.db.read() as s:
            assert repository.queued_tags(s) == [b64u(late["tags"][0])]
        monkeypatch.setattr(repository, "count_queued", real_count)
        escrow.run_pass()
        with escrow.db.read() as s:
            assert repository.queued_tags(s) == []
    escrow.db.dispose()


def b64u(text: str) -> bytes:
    from consilience.protocol.encoding import b64u_decode

    return b64u_decode(text)


def test_two_releasers_on_one_database_run_one_schedule(tmp_path: Path, database_url: str | None) -> None:
    """Two processes' timers (two states, two engines): one pass per due time between them, the first pass
    a random delay after the first look, the next drawn by the pass that ran; a timer that wakes before
    the pass is due, or after the other ran it, runs nothing."""
    escrow = build(tmp_path / "data", database_url=database_url, release_interval=10.0, release_jitter=0.5)
    other = create_app(escrow.settings, notifier=escrow.state.notifier, migrate=False, release_pass=False)
    timers = [Releaser(escrow.state, rng=random.Random(1)), Releaser(other.state.escrow, rng=random.Random(2))]
    batch = escrow.settings.log_batch_size
    t = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert [timer.step(t)[0] for timer in timers] == [None, None]  # the first look schedules; nothing runs
    passes, ran_at = 0, []
    for tick in range(400):  # 400 s in steps of one second, each timer looking every second
        now = t + timedelta(seconds=tick + 1)
        for timer in timers[::1 if tick % 2 else -1]:
            done, wait = timer.step(now)
            assert 0 <= wait <= 15
            if done is not None:
                assert done.appended == batch
                passes += 1
                ran_at.append(now)
    gaps = [(b - a).total_seconds() for a, b in zip(ran_at, ran_at[1:], strict=False)]
    assert 400 / 15 - 1 <= passes <= 400 / 5 + 1 and min(gaps) >= 5  # once per delay between them, not twice
    assert len(set(gaps)) > 3  # still random
    assert escrow.counts()["log_leaves"] == passes * batch
    other.state.escrow.db.dispose()
    escrow.db.dispose()


def test_two_servers_threads_log_one_batch_per_interval(tmp_path: Path, database_url: str | None) -> None:
    """The release threads of two servers on one database, with a fixed delay: the log grows by one batch
    per interval, as with one server (each used to add its own)."""
    interval = 0.4
    escrow = build(tmp_path / "data", database_url=database_url, release_interval=interval, release_jitter=0.0)
    other = create_app(escrow.settings, notifier=escrow.state.notifier, migrate=False, release_pass=False)
    timers = [Releaser(escrow.state), Releaser(other.state.escrow)]
    started = time.monotonic()
    for timer in timers:
        timer.start()
    time.sleep(4.0)
    for timer in timers:
        timer.stop()
    elapsed = time.monotonic() - started
    passes = escrow.counts()["log_leaves"] // escrow.settings.log_batch_size
    assert 2 <= passes <= elapsed / interval + 1, passes  # two timers each on their own: about twice that
    other.state.escrow.db.dispose()
    escrow.db.dispose()


def test_one_pass_over_many_tags_counts_each_as_one_at_a_time_would(escrow: Escrow) -> None:
    """The pass counts a chunk of tags in a few statements for all of them: an entry naming two people who
    both reach their quorum is released once, in the first tag's match (as counting the tags one by one in
    order did), and counted in both; a tag below its quorum and a tag no one else named release nothing;
    every change's count is what the match shows afterwards."""
    both, alone, short = sorted(os.urandom(32) for _ in range(2)), os.urandom(32), os.urandom(32)
    two = escrow.submission(tags=both, quorum=2)
    escrow.submit(escrow.reporter(), two)
    for tag in both:
        escrow.submit(escrow.reporter(), escrow.submission(tags=[tag], quorum=2))
    escrow.submit(escrow.reporter(), escrow.submission(tags=[alone], quorum=2))
    for _ in range(2):
        escrow.submit(escrow.reporter(), escrow.submission(tags=[short], quorum=3))
    result = escrow.run_pass()
    assert sorted((c.released, c.created) for c in result.changes) == [(2, True), (2, True)]
    with escrow.db.read() as session:
        matches = {m.tag: m.match_id for m in session.scalars(select(Match))}
        assert set(matches) == set(both)
        for change in result.changes:
            tag = next(t for t, m in matches.items() if m == change.match_id)
            assert repository.released_count(session, tag) == change.released
        entry = repository.get_entry(session, b64u_decode(two["entry_id"]))
        assert entry is not None and entry.status == "released" and entry.match_id == matches[both[0]]
        assert session.scalar(select(func.count()).select_from(Entry).where(Entry.status == "released")) == 3
    assert escrow.run_pass().changes == ()  # counted: nothing queued is left
