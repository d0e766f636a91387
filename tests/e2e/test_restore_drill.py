"""The restore drill of docs/production.md, over real processes, on SQLite and on PostgreSQL.

A deployment with a match of k entries and their receipts is backed up while its escrow server
runs (SQLite's online backup API; ``pg_dump -Fc``), the server is stopped, its database destroyed
and restored from the backup (a fresh file; ``pg_restore`` into a new database), and the server
started again. Then the log must still extend the checkpoint kept before the backup (a
consistency proof), every receipt the reporters kept must verify (``consilience verify``
against a bundle fetched from the restored server) and the match must still open for its
counselor. An entry acknowledged after the backup shows what a restore loses: its checkpoint is
one the restored log no longer extends, which is what a witness that cosigned it would refuse.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import pg_cluster
from consilience.cli.demo import DEMO_KDF
from consilience.clients import counselor, receipts, reporter
from consilience.clients.escrow_client import EscrowClient
from consilience.datadir import DataDir
from consilience.errors import ConsilienceError
from consilience.local import launcher, loopback
from consilience.operator.deployment import DATABASE_URL_ENV
from consilience.protocol.encoding import b64u_decode
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle

pytestmark = pytest.mark.e2e

ADMIN = "drill admin passphrase"
QUORUM = 2
RELEASE_INTERVAL = 0.3
NAMED = ["drill.subject@example.org"]


@pytest.fixture(scope="module")
def postgres_admin_url() -> Iterator[str]:
    yield from pg_cluster.admin_url_fixture()


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                                                   reverse=True)), None)
    if found is None:
        if os.environ.get(pg_cluster.REQUIRE_ENV):
            pytest.fail(f"{name} not found beside initdb")
        pytest.skip(f"{name} not found")
    return str(found)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


class Store:
    """One kind of escrow database, and the operator's backup and restore commands for it."""

    def __init__(self, data: Path, url: str | None) -> None:
        self.data, self.url = data, url

    @property
    def sqlite_file(self) -> Path:
        return DataDir(self.data).escrow.database

    def backup(self, to: Path) -> None:
        """While the server runs: never a file copy of a WAL-mode database (it may miss the WAL)."""
        if self.url is None:
            assert self.sqlite_file.is_file()
            sqlite_cli = shutil.which("sqlite3")
            if sqlite_cli:
                subprocess.run([sqlite_cli, str(self.sqlite_file), f".backup '{to}'"], check=True, timeout=60)
            else:  # the same online backup API, through Python's standard library
                with sqlite3.connect(self.sqlite_file) as source, sqlite3.connect(to) as target:
                    source.backup(target)
        else:
            subprocess.run([_pg_binary("pg_dump"), "-Fc", "--no-owner", "-f", str(to), _libpq(self.url)],
                           check=True, timeout=60)

    def destroy(self) -> None:
        if self.url is None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.sqlite_file}{suffix}").unlink(missing_ok=True)
        else:
            import psycopg

            admin, name = self.url.rsplit("/", 1)
            with psycopg.connect(_libpq(admin + "/postgres"), autocommit=True) as connection:
                connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                connection.execute(f'CREATE DATABASE "{name}"')

    def restore(self, backup: Path) -> None:
        if self.url is None:
            shutil.copyfile(backup, self.sqlite_file)
        else:
            subprocess.run([_pg_binary("pg_restore"), "--no-owner", "--exit-on-error", "-d", _libpq(self.url),
                            str(backup)], check=True, timeout=60)


def _consistent(client: EscrowClient, kept: str) -> int:
    """Check that the log ``client`` serves extends the checkpoint ``kept``; the log's size."""
    old = cp.parse_signed_checkpoint(kept)[0]
    newest = cp.parse_signed_checkpoint(client.checkpoint())[0]
    if newest.size < old.size:
        raise ConsilienceError(f"the log is at size {newest.size}, behind the kept checkpoint of size {old.size}")
    proof = client.consistency(old.size, newest.size) if newest.size > old.size else []
    merkle.verify_consistency(old.size, newest.size, proof, old.root_hash, newest.root_hash)
    return newest.size


def _verify(receipt: str, bundle: Path, fingerprint: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "consilience", "verify", receipt, "--against", str(bundle),
                           "--admin-fingerprint", fingerprint, "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _wait_for_match(keys: counselor.CounselorKeys, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = counselor.list_matches(keys)
        if found:
            return found[0].match_id
        time.sleep(0.2)
    raise AssertionError("no match released")


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_restore_drill(db: str, tmp_path: Path, request: pytest.FixtureRequest,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    url = None
    if db == "postgresql":
        url = pg_cluster.fresh_database(request.getfixturevalue("postgres_admin_url"))
        monkeypatch.setenv(DATABASE_URL_ENV, url)  # the admin tools write where the server reads
    # one key server: the drill is about the escrow database, and each key generation costs seconds
    deployment = loopback.create(tmp_path / "data", ADMIN, quorum=QUORUM, key_servers=1, threshold=1,
                                 kdf_params=DEMO_KDF)
    port = int(deployment.url.rsplit(":", 1)[1])
    deployment.escrow = launcher.escrow_service(deployment.root, port, database_url=url)
    store = Store(deployment.root, url)
    env = {"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL)}
    fingerprint = deployment.admin_fingerprint_b64u
    with deployment.start(env=env):
        keys = deployment.add_counselor("Drill Counselor", tmp_path / "counselor.key", "counselor passphrase")
        kept_receipts: list[str] = []
        invites = deployment.invites(QUORUM + 1)
        for n, invite in enumerate(invites[:QUORUM]):
            session = reporter.register(deployment.url, invite, f"reporter{n}@example.org",
                                        tmp_path / f"wallet{n}.sealed", "reporter passphrase", kdf_params=DEMO_KDF)
            record = reporter.write(session, f"What happened, as reporter {n} saw it.")
            escrowed = reporter.escrow(session, record.record_id, NAMED)
            assert escrowed.escrow is not None
            kept_receipts += escrowed.escrow.receipts
        assert len(kept_receipts) == QUORUM, kept_receipts
        match_id = _wait_for_match(keys)
        _, before = counselor.open_match_by_id(keys, b64u_decode(match_id, length=16))
        assert len(before.opened) == QUORUM
        with EscrowClient(deployment.url) as client:
            kept_checkpoint = client.checkpoint()

        backup = tmp_path / ("escrow.backup" if url is None else "escrow.dump")
        store.backup(backup)  # the server runs meanwhile

        # acknowledged after the backup: what a restore loses
        late = reporter.register(deployment.url, invites[QUORUM], "late@example.org", tmp_path / "late.sealed",
                                 "reporter passphrase", kdf_params=DEMO_KDF)
        late_record = reporter.escrow(late, reporter.write(late, "After the backup.").record_id,
                                      ["someone.else@example.org"])
        assert late_record.escrow is not None
        time.sleep(2 * RELEASE_INTERVAL)  # a release pass signs a checkpoint over it
        with EscrowClient(deployment.url) as client:
            after_backup = client.checkpoint()

        deployment.escrow.stop()
        store.destroy()
        store.restore(backup)
        deployment.escrow.start(env=env)

        with EscrowClient(deployment.url) as client:
            size = _consistent(client, kept_checkpoint)
            assert size >= cp.parse_signed_checkpoint(kept_checkpoint)[0].size
            for n, receipt in enumerate(kept_receipts):
                bundle = tmp_path / f"bundle{n}"
                since = cp.parse_signed_checkpoint(_receipt_checkpoint(receipt))[0].size
                bundle.write_text(receipts.fetch_bundle(client, since))
                _verify(receipt, bundle, fingerprint)
            # the checkpoint signed after the backup is not one the restored log extends: a fork
            with pytest.raises(ConsilienceError):
                _consistent(client, after_backup)
        assert [m.match_id for m in counselor.list_matches(keys)] == [match_id]
        _, after = counselor.open_match_by_id(keys, b64u_decode(match_id, length=16))
        assert sorted(o.body.record for o in after.opened) == sorted(o.body.record for o in before.opened)


def _receipt_checkpoint(path: str) -> str:
    from consilience.tlog.receipt import parse_receipt

    return parse_receipt(Path(path).read_text()).checkpoint
