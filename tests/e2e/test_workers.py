"""Several escrow processes on one PostgreSQL database (issue 15): one deployment, served correctly.

Two ``consilience serve`` commands on one database, as on two hosts: A with ``--workers 2`` (two
processes on one port), B with one. Reporters in threads register and name one person at the same
time, each through either; then there is exactly one match, every entry in it once, and every
release event the counselors are told of is a new count (none twice). Budgets are the database's:
a burst of failed sign-ins through A spends the address's budget, so B refuses the next one. And
SQLite refuses several workers, saying why.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.services.harness import API, Escrow, b64, build, registration

import pg_cluster
from consilience.local.launcher import Service, escrow_service, free_ports
from consilience.services.escrow.limits import LimitSettings
from consilience.storage.models import Entry, Match

pytestmark = pytest.mark.e2e

REPORTERS = 8
QUORUM = 3


@pytest.fixture(scope="module")
def postgres_admin_url() -> Iterator[str]:
    yield from pg_cluster.admin_url_fixture()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[tuple[Escrow, Path]]:
    """A deployment's escrow folder on a fresh PostgreSQL database; the harness makes invites in it."""
    data = tmp_path_factory.mktemp("workers") / "data"
    escrow = build(data / "escrow", database_url=pg_cluster.fresh_database(postgres_admin_url))
    escrow.state.db.dispose()
    yield escrow, data
    escrow.db.dispose()


@pytest.fixture(scope="module")
def servers(deployment: tuple[Escrow, Path]) -> Iterator[list[Service]]:
    escrow, data = deployment
    ports = free_ports(2)
    env = {"CONSILIENCE_RELEASE_INTERVAL": "1", "CONSILIENCE_NOTIFIER": "inbox"}
    started = [escrow_service(data, ports[0], database_url=escrow.settings.database_url, extra_args=["--workers", "2"]),
               escrow_service(data, ports[1], database_url=escrow.settings.database_url)]
    try:
        for service in started:
            service.start(env=env, timeout=60)
        yield started
    finally:
        for service in started:
            service.stop()
    for service in started:
        # stopped as asked: uvicorn ends a single process by the signal again once it has shut down
        assert service.process is not None and service.process.returncode in (0, -signal.SIGTERM), \
            service.log_path.read_text()[-3000:]


def _inbox_counts(escrow: Escrow) -> list[int]:
    folder = Path(escrow.settings.inbox_dir) / escrow.counselors[0].name.replace(" ", "-")
    if not folder.is_dir():
        return []
    return [json.loads(f.read_text())["released"] for f in sorted(folder.glob("*.json"))
            if "released" in json.loads(f.read_text())]


def test_reporters_through_different_processes_make_one_match(deployment: tuple[Escrow, Path],
                                                              servers: list[Service]) -> None:
    escrow, _ = deployment
    tag = os.urandom(32)
    seeds = [escrow.invite() for _ in range(REPORTERS)]
    answers: list[int] = []
    start = threading.Barrier(REPORTERS)

    def report(i: int) -> None:
        with httpx.Client(base_url=servers[i % 2].url, timeout=30) as client:
            registered = client.post(f"{API}/register", json=registration(seeds[i], escrow.deployment.deployment_id))
            assert registered.status_code == 201, registered.text
            headers = {"Authorization": f"Bearer {registered.json()['token']}"}
            start.wait()
            with httpx.Client(base_url=servers[(i + 1) % 2].url, timeout=30) as other:  # the entry through the other
                answers.append(other.post(f"{API}/entries", json=escrow.submission(tags=[tag], quorum=QUORUM),
                                          headers=headers).status_code)

    threads = [threading.Thread(target=report, args=(i,)) for i in range(REPORTERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [201] * REPORTERS
    deadline = time.monotonic() + 30
    while True:
        with escrow.db.read() as session:
            released = session.scalar(select(func.count()).select_from(Entry).where(Entry.status == "released"))
            matches = session.scalar(select(func.count()).select_from(Match))
        if released == REPORTERS or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (released, matches) == (REPORTERS, 1)
    credential = escrow.counselor_credential(escrow.counselors[0])
    with httpx.Client(base_url=servers[0].url, timeout=30) as counselor:
        login = counselor.post(f"{API}/login/counselor", headers={"Authorization": f"Bearer {b64(credential)}"})
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        [listed] = counselor.get(f"{API}/matches", headers=headers).json()
        opened = counselor.get(f"{API}/matches/{listed['match_id']}", headers=headers).json()
    entry_ids = [e["entry_id"] for e in opened["entries"]]
    assert listed["released"] == REPORTERS and len(entry_ids) == len(set(entry_ids)) == REPORTERS  # each once
    deadline = time.monotonic() + 10
    while REPORTERS not in _inbox_counts(escrow) and time.monotonic() < deadline:
        time.sleep(0.1)
    counts = _inbox_counts(escrow)
    assert counts and counts == sorted(set(counts)) and counts[-1] == REPORTERS, counts  # each growth told once


def test_a_budget_spent_through_one_process_is_spent_for_the_other(servers: list[Service]) -> None:
    burst = int(LimitSettings().auth_failures_per_address.burst)
    wrong = {"Authorization": f"Bearer {b64(os.urandom(32))}"}
    with httpx.Client(base_url=servers[0].url, timeout=30) as a:
        assert {a.get(f"{API}/entries", headers=wrong).status_code for _ in range(burst)} == {401}
    with httpx.Client(base_url=servers[1].url, timeout=30) as b:
        refused = b.get(f"{API}/entries", headers=wrong)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_sqlite_refuses_several_workers(tmp_path: Path) -> None:
    escrow = build(tmp_path / "data" / "escrow")
    escrow.db.dispose()
    escrow.state.db.dispose()
    proc = subprocess.run([sys.executable, "-m", "consilience", "serve", "--data-dir", str(tmp_path / "data"),
                           "--port", str(free_ports(1)[0]), "--workers", "2"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "--workers 2 needs PostgreSQL" in proc.stdout + proc.stderr
