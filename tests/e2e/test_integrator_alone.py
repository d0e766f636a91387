"""``consilience serve --no-integrator`` beside ``consilience integrate``, as real processes (issue 15).

On each database: a reporter's submission through the real client gets its receipt (in the answer: the
server NOTIFYs the integrator, or it sees the commit, and waits for the integration); SIGKILL of the
integrator with events sequenced loses none of them: their answers go out without a receipt, and once
the integrator is started again the client's ``late_receipt`` fetches each, and every receipt verifies.
On SQLite a second ``serve`` of the same database is refused with the reason, while ``consilience
integrate`` and an admin command run beside the one server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from tests.services.harness import API, Escrow, build, registration

import pg_cluster
from consilience.clients import receipts
from consilience.clients.escrow_client import EscrowClient
from consilience.clients.reporter import late_receipt
from consilience.local.launcher import Service, escrow_service, free_ports
from consilience.operator.deployment import init_deployment
from consilience.protocol.encoding import b64u_decode
from consilience.storage import log

pytestmark = pytest.mark.e2e

ENV = {"CONSILIENCE_RELEASE_INTERVAL": "3600", "CONSILIENCE_RECEIPT_WAIT": "5",
       "CONSILIENCE_INTEGRATE_INTERVAL": "60"}  # so a receipt in time is the wake's, never the interval's
PASSPHRASE = "admin passphrase"


@pytest.fixture(scope="module")
def postgres_admin_url() -> Iterator[str]:
    yield from pg_cluster.admin_url_fixture()


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Escrow, Path]]:
    url = None if request.param == "sqlite" else \
        pg_cluster.fresh_database(request.getfixturevalue("postgres_admin_url"))
    data = tmp_path / "data"
    escrow = build(data / "escrow", database_url=url)
    escrow.state.db.dispose()
    yield escrow, data
    escrow.db.dispose()


class Integrating:
    """``consilience integrate`` as its own process, logging to a file."""

    def __init__(self, data: Path, database_url: str | None, log_path: Path) -> None:
        self.args = [sys.executable, "-m", "consilience", "integrate", "--data-dir", str(data),
                     *(["--database-url", database_url] if database_url else [])]
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            before = out.tell()  # this start's line, not an earlier one's
            self.process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                            env={**os.environ, **ENV}, start_new_session=True)
        deadline = time.monotonic() + 60
        while b"integrator running" not in self.log_path.read_bytes()[before:]:
            assert self.process.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, "the integrator did not start"
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        return self.process.wait(30)


def reporter_client(escrow: Escrow, url: str) -> EscrowClient:
    registered = httpx.post(f"{url}{API}/register", json=registration(escrow.invite(), escrow.deployment.deployment_id),
                            timeout=30)
    assert registered.status_code == 201, registered.text
    return EscrowClient(url, b64u_decode(registered.json()["token"]))


def test_the_integrator_alone_integrates_everything_across_a_sigkill(deployment: tuple[Escrow, Path],
                                                                     tmp_path: Path) -> None:
    escrow, data = deployment
    url = escrow.settings.database_url
    server = escrow_service(data, free_ports(1)[0], database_url=url, extra_args=["--no-integrator"])
    integrating = Integrating(data, url, tmp_path / "integrate.log")
    server.start(env=ENV, timeout=60)
    try:
        integrating.start()
        client = reporter_client(escrow, server.url)
        sent = []
        for _ in range(3):  # the answer carries the receipt: the integrator was woken, and the answer waited
            submission = escrow.submission()
            answer = client.send(submission)
            assert answer.sequenced is False and answer.receipt is not None
            sent.append((submission, answer.receipt))

        assert integrating.stop(signal.SIGKILL) == -signal.SIGKILL
        later = [escrow.submission() for _ in range(3)]
        with ThreadPoolExecutor(3) as pool:  # each answer waits out CONSILIENCE_RECEIPT_WAIT: at once, not in turn
            waiting = list(zip(later, pool.map(client.send, later), strict=True))
        assert all(a.receipt is None and a.sequenced for _, a in waiting)  # acknowledged, sequenced, no receipt yet
        with escrow.db.read() as session:
            assert log.sequenced_count(session) == 3

        integrating.start()
        for submission, answer in waiting:
            text = late_receipt(client, answer)
            assert text is not None, "the restarted integrator did not integrate what was sequenced"
            sent.append((submission, text))
        with escrow.db.read() as session:
            assert log.sequenced_count(session) == 0
            entry_leaves = [leaf for leaf in log.leaves(session) if leaf.kind == 1]
        assert len(entry_leaves) == len(sent) == 6  # every entry once: nothing lost, nothing twice
        for submission, text in sent:
            receipts.check(text, escrow.deployment, b64u_decode(submission["entry_id"]), kind="entry",
                           content=receipts.expected_content(submission))
            assert client.receipt(b64u_decode(submission["entry_id"])).sequenced is False
        assert integrating.stop() == 0  # SIGTERM: the batch in progress finished, then a clean exit
    finally:
        integrating.stop(signal.SIGKILL)
        server.stop()


def test_a_second_server_on_one_sqlite_database_is_refused(tmp_path: Path) -> None:
    """Each would double every request budget and run a release pass of its own; the integrator and the
    admin tools still run beside the one server, and the lock goes with the server's process."""
    port, *ks = free_ports(3)
    data = tmp_path / "deploy"
    init_deployment(data, PASSPHRASE, quorum=2, max_quorum=3, key_servers=2, threshold=2, escrow_port=port,
                    keyserver_ports=ks, kdf_params={"memory_cost_kib": 8192, "iterations": 1, "lanes": 1})
    first = escrow_service(data, port)
    integrating = Integrating(data, None, tmp_path / "integrate.log")
    first.start(env=ENV, timeout=60)
    try:
        second = subprocess.run([sys.executable, "-m", "consilience", "serve", "--data-dir", str(data),
                                 "--port", str(free_ports(1)[0])], capture_output=True, text=True, timeout=60,
                                env={**os.environ, **ENV})
        said = second.stdout + second.stderr
        assert second.returncode != 0, said
        assert "another escrow server" in said and f"(process {first.process.pid})" in said, said  # type: ignore[union-attr]
        assert "use PostgreSQL" in said
        assert httpx.get(f"{first.url}/healthz", timeout=10).status_code == 200  # the first one serves on
        integrating.start()
        for command in (["admin", "status", "--json"], ["admin", "invite", "--passphrase-env", "H4_PASSPHRASE"]):
            done = subprocess.run([sys.executable, "-m", "consilience", *command, "--data-dir", str(data)],
                                  capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "H4_PASSPHRASE": PASSPHRASE})
            assert done.returncode == 0, done.stdout + done.stderr
    finally:
        integrating.stop(signal.SIGKILL)
        first.stop()
    again = Service("escrow server", first.url, first.args, first.log_path)
    again.start(env=ENV, timeout=60)
    again.stop()
