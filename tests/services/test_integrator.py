"""The log's integrator in the escrow server (PROTOCOL.md §11): receipts while sequenced and once integrated,
one checkpoint per batch, the release pass's order (§14.4), and ``consilience integrate`` as its own process.

The servers here run without an in-process integrator (``integrate=False``) unless a test says otherwise,
so every integration is the test's own (``integrator.integrate_all``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from consilience.clients import receipts
from consilience.clients import reporter as reporter_client
from consilience.clients import wallet as wallet_mod
from consilience.protocol import events
from consilience.protocol import messages as m
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.services.escrow import integrator
from consilience.storage import log
from consilience.storage.database import Database
from consilience.storage.models import LogCheckpoint

from .harness import API, Escrow, build


@pytest.fixture
def quiet(tmp_path: Path) -> Iterator[Escrow]:
    """An escrow server whose events stay sequenced until the test integrates them."""
    harness = build(tmp_path / "data" / "escrow", integrate=False)
    with harness.client:
        yield harness
    harness.db.dispose()


def receipt_of(escrow: Escrow, reporter: object, entry_id: str) -> dict[str, object]:
    answer = escrow.client.get(f"{API}/entries/{entry_id}/receipt", headers=reporter.headers)  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def checkpoints(escrow: Escrow) -> int:
    with escrow.db.read() as session:
        return len(session.query(LogCheckpoint).all())


def test_the_receipt_endpoint_while_sequenced_and_once_integrated(quiet: Escrow) -> None:
    reporter = quiet.reporter()
    submission = quiet.submission()
    entry_id = submission["entry_id"]
    answer = quiet.submit(reporter, submission)
    assert answer.status_code == 201
    assert (answer.json()["receipt"], answer.json()["sequenced"]) == (None, True)
    assert (receipt_of(quiet, reporter, entry_id)["receipt"], receipt_of(quiet, reporter, entry_id)["sequenced"]) \
        == (None, True)
    # a lost answer's retry is the same entry: 200, still sequenced, and nothing sequenced twice
    again = quiet.submit(reporter, submission)
    assert (again.status_code, again.json()["sequenced"]) == (200, True)
    with quiet.db.read() as session:
        assert log.sequenced_count(session) == 1 and log.size(session) == 0

    assert integrator.integrate_all(quiet.state) == 1
    found = receipt_of(quiet, reporter, entry_id)
    assert found["sequenced"] is False and isinstance(found["receipt"], str)
    receipts.check(found["receipt"], quiet.deployment, b64u_decode(entry_id), kind="entry",
                   content=receipts.expected_content(submission))
    retried = quiet.submit(reporter, submission).json()
    assert retried["receipt"] == found["receipt"] and retried["sequenced"] is False

    # an edit: its receipt is not the earlier leaf's while the edit waits
    edited = {**submission, "body": quiet.submission()["body"]}
    put = quiet.client.put(f"{API}/entries/{entry_id}", json=edited, headers=reporter.headers)
    assert (put.status_code, put.json()["receipt"], put.json()["sequenced"]) == (200, None, True)
    assert receipt_of(quiet, reporter, entry_id)["receipt"] is None
    integrator.integrate_all(quiet.state)
    receipts.check(receipt_of(quiet, reporter, entry_id)["receipt"], quiet.deployment,  # type: ignore[arg-type]
                   b64u_decode(entry_id), kind="entry", content=receipts.expected_content(edited))

    # a withdrawal, the same way
    gone = quiet.client.delete(f"{API}/entries/{entry_id}", headers=reporter.headers)
    assert (gone.json()["status"], gone.json()["receipt"], gone.json()["sequenced"]) == ("withdrawn", None, True)
    integrator.integrate_all(quiet.state)
    receipts.check(receipt_of(quiet, reporter, entry_id)["receipt"], quiet.deployment,  # type: ignore[arg-type]
                   b64u_decode(entry_id), kind="withdrawal")


def test_a_refused_submission_sequences_nothing(quiet: Escrow) -> None:
    reporter = quiet.reporter()
    stale = quiet.submit(reporter, quiet.submission(serial=quiet.deployment.serial + 5))
    assert stale.status_code == 409
    with quiet.db.read() as session:
        assert log.sequenced_count(session) == 0


def test_one_checkpoint_per_batch(quiet: Escrow) -> None:
    reporter = quiet.reporter()
    ids = [quiet.submit(reporter, quiet.submission()).json()["entry_id"] for _ in range(5)]
    before = checkpoints(quiet)
    assert integrator.integrate_all(quiet.state) == 5
    assert checkpoints(quiet) == before + 1
    sizes = {receipts.parse_receipt(receipt_of(quiet, reporter, i)["receipt"]).checkpoint for i in ids}  # type: ignore[arg-type]
    assert len(sizes) == 1  # every receipt of the batch is against its one checkpoint
    assert integrator.integrate_all(quiet.state) == 0 and checkpoints(quiet) == before + 1  # nothing to sign


def test_every_entry_counted_for_a_match_has_its_leaf_before_the_release_leaf(quiet: Escrow) -> None:
    """PROTOCOL.md §14.4's corroboration relies on it: the release pass integrates what is sequenced first."""
    tag = os.urandom(32)
    submitted = [quiet.submit(quiet.reporter(), quiet.submission(tags=[tag])).json()["entry_id"] for _ in range(2)]
    with quiet.db.read() as session:
        assert log.sequenced_count(session) == 2  # nothing integrated them yet
    result = quiet.run_pass()
    [change] = result.changes
    assert change.released == 2
    with quiet.db.read() as session:
        found = [(leaf.index, events.parse_event(events.parse_opening(leaf.opening).event))
                 for leaf in log.leaves(session)]
    [release] = [i for i, e in found if e.kind == "release" and e.match_id == change.match_id]
    entry_leaves = [i for i, e in found if e.kind == "entry" and e.entry_id in {b64u_decode(x) for x in submitted}]
    assert len(entry_leaves) == 2 and max(entry_leaves) < release


def test_an_in_process_integrator_answers_with_the_receipt(tmp_path: Path) -> None:
    escrow = build(tmp_path / "data", integrate=True, receipt_wait=10.0)
    with escrow.client:
        reporter = escrow.reporter()
        answer = escrow.submit(reporter, escrow.submission()).json()
        assert answer["sequenced"] is False and answer["receipt"] is not None
        escrow.client.app.state.integrator.stop()  # type: ignore[attr-defined]
        late = escrow.submit(reporter, escrow.submission()).json()
        assert (late["receipt"], late["sequenced"]) == (None, True)  # no integrator here: no wait either
    escrow.db.dispose()


def test_concurrent_waiters_each_get_their_receipt_and_a_stop_releases_a_waiter(tmp_path: Path) -> None:
    """Requests waiting at once each wake the integrator and return once a drain begun after their commit
    finished, whatever the others do; a stop ends a wait at once (False) instead of at its timeout."""
    escrow = build(tmp_path / "data", integrate=True, receipt_wait=10.0)
    with escrow.client:
        reporters = [escrow.reporter() for _ in range(4)]
        answers: list[dict[str, object]] = []

        def submit_three(reporter: object) -> None:
            for _ in range(3):
                answers.append(escrow.submit(reporter, escrow.submission()).json())  # type: ignore[arg-type]

        threads = [threading.Thread(target=submit_three, args=(r,)) for r in reporters]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(answers) == 12 and all(a["sequenced"] is False and a["receipt"] for a in answers)
        running: integrator.Integrator = escrow.client.app.state.integrator  # type: ignore[attr-defined]
        stuck = threading.Event()
        running._drain = stuck.wait  # type: ignore[method-assign]  # the next drain never finishes on its own
        result: list[tuple[bool, float]] = []

        def wait() -> None:
            answered = running.wait_integrated(10.0)
            result.append((answered, time.monotonic()))

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.1)
        threading.Timer(1.0, stuck.set).start()  # then the thread can end, after the waiter had its answer
        stopped = time.monotonic()
        running.stop()
        waiter.join(10)
        assert len(result) == 1 and result[0][0] is False and result[0][1] - stopped < 0.9
    escrow.db.dispose()


def test_consilience_integrate_runs_alone_and_stops_on_sigterm(quiet: Escrow, tmp_path: Path) -> None:
    reporter = quiet.reporter()
    entry_id = quiet.submit(reporter, quiet.submission()).json()["entry_id"]
    process = subprocess.Popen([sys.executable, "-m", "consilience", "integrate", "--data-dir", str(tmp_path / "data"),
                                "--interval", "0.2"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while receipt_of(quiet, reporter, entry_id)["receipt"] is None:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the integrator process did not integrate the entry"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_integrator_elsewhere_is_woken_and_the_answer_waits_for_it(tmp_path: Path, backend: str,
                                                                      request: pytest.FixtureRequest) -> None:
    """``serve --no-integrator`` beside ``consilience integrate``: the integrator, whose own timer would wait
    a minute, is woken by the other process's commit (NOTIFY on PostgreSQL, ``data_version`` on SQLite), and
    the server's answer waits for its NOTIFY (or looks) instead of going out without the receipt."""
    url = None if backend == "sqlite" else str(request.getfixturevalue("postgres_database"))
    escrow = build(tmp_path / "data", database_url=url, integrator=False, receipt_wait=20.0,
                   integrate_interval=60.0)
    elsewhere = integrator.Alone(Database(escrow.settings.database_url), escrow.settings, escrow.state.deployments,
                                 escrow.state.log_private)  # its own engine, as another process has
    running = integrator.Integrator(elsewhere, cross_process=True)
    with escrow.client:
        running.start()
        try:
            time.sleep(0.5)  # the start's own drain is over: what follows is woken by the commit alone
            reporter = escrow.reporter()
            for _ in range(3):
                submission = escrow.submission()
                started = time.monotonic()
                answer = escrow.submit(reporter, submission).json()
                assert answer["sequenced"] is False and answer["receipt"] is not None
                assert time.monotonic() - started < 10  # woken, not the minute of its interval
                receipts.check(answer["receipt"], escrow.deployment, b64u_decode(submission["entry_id"]),
                               kind="entry", content=receipts.expected_content(submission))
        finally:
            running.stop()
    elsewhere.db.dispose()
    escrow.db.dispose()


def test_without_an_integrator_anywhere_the_answer_does_not_wait(tmp_path: Path) -> None:
    """An application built without one (as these tests are) and not told one runs elsewhere answers at once."""
    escrow = build(tmp_path / "data", integrate=False, receipt_wait=20.0)
    with escrow.client:
        started = time.monotonic()
        answer = escrow.submit(escrow.reporter(), escrow.submission()).json()
        assert (answer["receipt"], answer["sequenced"]) == (None, True) and time.monotonic() - started < 10
    escrow.db.dispose()


class _Refreshing:
    """What a reporter's refresh uses of its client (the entry list, a receipt) and of its session (the
    wallet's records, the deployment, where receipts are kept), over this escrow's test client."""

    def __init__(self, escrow: Escrow, reporter: object, folder: Path, state: wallet_mod.EscrowState) -> None:
        self.escrow, self.headers = escrow, reporter.headers  # type: ignore[attr-defined]
        self.receipts_dir, self.signed_deployment = folder, None
        self.wallet = wallet_mod.Wallet("", "", "", "", "", records=[wallet_mod.Record("r1", "", "", escrow=state)])
        self.asked = 0

    def entries(self) -> dict[str, m.EntrySummary]:
        listed = self.escrow.client.get(f"{API}/entries", headers=self.headers).json()
        return {e["entry_id"]: m.EntrySummary.model_validate(e) for e in listed}

    def receipt(self, entry_id: bytes) -> m.EntryReceipt:
        self.asked += 1
        return m.EntryReceipt.model_validate(receipt_of(self.escrow, self, b64u_encode(entry_id)))

    def deployment(self, _client: object) -> object:
        return self.escrow.deployment


def test_a_refresh_fetches_the_receipt_of_an_edit_answered_without_one(quiet: Escrow, tmp_path: Path) -> None:
    """The record already holds its first version's receipt; the edit's came late, and the refresh gets it."""
    reporter = quiet.reporter()
    first = quiet.submission()
    entry_id = first["entry_id"]
    quiet.submit(reporter, first)
    integrator.integrate_all(quiet.state)
    kept = receipts.save(tmp_path / "receipts", receipt_of(quiet, reporter, entry_id)["receipt"],  # type: ignore[arg-type]
                         quiet.deployment, entry_id, "entry")
    state = wallet_mod.EscrowState(entry_id, [], [], 2, "", "escrowed", "", receipts=[str(kept)])
    world = _Refreshing(quiet, reporter, tmp_path / "receipts", state)
    reporter_client._fetch_missing_receipts(world, world, world.entries())  # type: ignore[arg-type]
    assert world.asked == 0 and state.receipts == [str(kept)]  # it has the receipt of the entry as it stands

    time.sleep(0.01)  # an edit a moment later
    edited = {**first, "body": quiet.submission()["body"]}
    put = quiet.client.put(f"{API}/entries/{entry_id}", json=edited, headers=reporter.headers)
    assert (put.json()["receipt"], put.json()["sequenced"]) == (None, True)
    reporter_client._fetch_missing_receipts(world, world, world.entries())  # type: ignore[arg-type]
    assert world.asked == 1 and len(state.receipts) == 1  # asked, but the log has not integrated it yet

    integrator.integrate_all(quiet.state)
    reporter_client._fetch_missing_receipts(world, world, world.entries())  # type: ignore[arg-type]
    assert world.asked == 2 and len(state.receipts) == 2
    receipts.check(Path(state.receipts[-1]).read_text(), quiet.deployment, b64u_decode(entry_id), kind="entry",
                   content=receipts.expected_content(edited))
    reporter_client._fetch_missing_receipts(world, world, world.entries())  # type: ignore[arg-type]
    assert world.asked == 2  # and nothing more to fetch
