"""Withdrawn and replaced content is gone from the SQLite files while the server keeps running.

The attacker here holds a copy of the data folder (a backup, a stolen disk image, a co-tenant with
read access) taken after a reporter withdrew or edited an entry, with the server still up. They do
not need SQLite: they search the raw bytes of the database file, its ``-wal`` and its ``-shm`` for
the withdrawn ciphertexts and tags. Every test first finds the bytes there before the withdrawal
(the positive control, so that the search can fail), then finds none of them after it.

Bodies are larger than a page, so they sit on overflow pages; every secret is searched as 32-byte
pieces, and one piece found anywhere counts as found. PostgreSQL keeps dead tuples until VACUUM
(PROTOCOL.md §2, the escrow server's row); nothing in the code erases there, so nothing is tested.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from consilience.protocol.encoding import b64u_decode
from consilience.storage import repository as repo
from consilience.storage.database import Database, sqlite_url, upgrade
from services.harness import API, Escrow, build

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PIECE = 32


def pieces(secret: bytes) -> list[bytes]:
    return [secret[i:i + PIECE] for i in range(0, len(secret) - PIECE + 1, PIECE)]


def raw_files(database: Path) -> dict[str, bytes]:
    """What a copy of the data folder holds for this database: the file, its -wal and -shm."""
    return {p.name: p.read_bytes() for p in sorted(database.parent.glob(database.name + "*"))}


def where(database: Path, secrets: dict[str, bytes]) -> dict[str, list[str]]:
    """For each secret, the files in which at least one of its pieces occurs."""
    files = raw_files(database)
    return {name: [f for f, data in files.items() if any(p in data for p in pieces(secret))]
            for name, secret in secrets.items()}


def assert_present(database: Path, secrets: dict[str, bytes]) -> None:
    missing = [name for name, found in where(database, secrets).items() if not found]
    assert not missing, f"the positive control failed: {missing} not in {sorted(raw_files(database))}"


def assert_absent(database: Path, secrets: dict[str, bytes]) -> None:
    left = {name: found for name, found in where(database, secrets).items() if found}
    assert not left, f"still readable in the data folder: {left}"


# -- through the running escrow server (HTTP) -------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Escrow]:
    harness = build(tmp_path / "data")
    with harness.client:
        yield harness
    harness.db.dispose()


def database_file(escrow: Escrow) -> Path:
    database = escrow.settings.database_url.removeprefix("sqlite:///")
    return Path(database)


def secrets_of(submission: dict[str, Any], label: str) -> dict[str, bytes]:
    found = {f"{label} body": b64u_decode(submission["body"])}
    for i, envelope in enumerate(submission["envelopes"]):
        found[f"{label} envelope {i}"] = b64u_decode(envelope["ciphertext"])
    for i, tag in enumerate(submission["tags"]):
        found[f"{label} tag {i}"] = b64u_decode(tag)
    return found


def test_a_withdrawn_entry_is_gone_from_the_database_and_its_wal_while_the_server_runs(server: Escrow) -> None:
    path = database_file(server)
    reporter = server.reporter()
    submission = server.submission(tags=[os.urandom(32), os.urandom(32)], body=os.urandom(9000))
    assert server.submit(reporter, submission).status_code == 201
    secrets = secrets_of(submission, "withdrawn")
    assert_present(path, secrets)

    # withdrawn before the release pass counted it: its tags are still queued for the pass
    answer = server.client.delete(f"{API}/entries/{submission['entry_id']}", headers=reporter.headers)
    assert answer.status_code == 200 and answer.json()["status"] == "withdrawn"
    assert_absent(path, secrets)
    server.run_pass()  # the pass must not write the queued tags back
    assert_absent(path, secrets)
    assert server.stored_status(submission["entry_id"]) == "withdrawn"


def test_an_edit_erases_the_ciphertexts_and_tags_it_replaces(server: Escrow) -> None:
    path = database_file(server)
    reporter = server.reporter()
    kept, dropped = os.urandom(32), os.urandom(32)
    first = server.submission(tags=[kept, dropped], body=os.urandom(9000))
    assert server.submit(reporter, first).status_code == 201
    server.run_pass()  # counted once: the edit comes later, as it usually does
    old = {k: v for k, v in secrets_of(first, "old").items() if v != kept}
    assert_present(path, old)

    edited = server.submission(tags=[kept, os.urandom(32)], body=os.urandom(9000),
                               entry_id=b64u_decode(first["entry_id"]))
    answer = server.client.put(f"{API}/entries/{first['entry_id']}", json=edited, headers=reporter.headers)
    assert answer.status_code == 200
    assert_absent(path, old)
    assert_present(path, secrets_of(edited, "new"))  # the search does find what is stored
    server.run_pass()
    assert_absent(path, old)


# -- straight on the Database: readers, and SQLite builds without secure_delete ----


def reporter(db: Database) -> bytes:
    from consilience.crypto import signing
    from consilience.protocol import accounts

    certificate = accounts.issue_certificate(signing.generate(), b"deployment-0001!",
                                             accounts.account_key(os.urandom(32)))
    with db.write() as s:
        key = repo.create_invite(s, certificate, timedelta(days=1), now=NOW)
    with db.write() as s:
        account_id, _ = repo.register(s, key, now=NOW)
    return account_id


def new_entry(account_id: bytes, entry_id: bytes | None = None) -> repo.NewEntry:
    return repo.NewEntry(entry_id=entry_id or os.urandom(16), account_id=account_id, quorum=2,
                         tags=(os.urandom(32), os.urandom(32)), body=os.urandom(9000),
                         envelopes=((b"k" * 16, os.urandom(1200)), (b"l" * 16, os.urandom(1200))))


def entry_secrets(new: repo.NewEntry, label: str) -> dict[str, bytes]:
    found = {f"{label} body": new.body}
    found |= {f"{label} envelope {i}": c for i, (_, c) in enumerate(new.envelopes)}
    found |= {f"{label} tag {i}": t for i, t in enumerate(new.tags)}
    return found


def insecure_by_default(path: Path) -> Any:
    """Connections as a SQLite built without SQLITE_SECURE_DELETE opens them (python.org's, macOS's):
    deleted cells stay in their pages until something overwrites them."""
    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, check_same_thread=False)
        connection.execute("PRAGMA secure_delete = OFF")
        return connection
    return connect


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "escrow.sqlite"
    upgrade(sqlite_url(path))
    return path


def test_erasure_does_not_rely_on_how_sqlite_was_built(sqlite_path: Path) -> None:
    db = Database(sqlite_url(sqlite_path), creator=insecure_by_default(sqlite_path))
    try:
        with db.read() as s:
            assert s.execute(text("PRAGMA secure_delete")).scalar() == 1
        account_id = reporter(db)
        withdrawn, edited = new_entry(account_id), new_entry(account_id)
        with db.write() as s:
            repo.create_entry(s, withdrawn, NOW)
            repo.create_entry(s, edited, NOW)
        with db.write() as s:
            repo.count_queued(s, NOW)
        old = entry_secrets(withdrawn, "withdrawn") | entry_secrets(edited, "replaced")
        assert_present(sqlite_path, old)

        with db.write() as s:
            repo.withdraw_entry(s, account_id, withdrawn.entry_id, NOW)
        with db.write() as s:
            repo.replace_entry(s, new_entry(account_id, edited.entry_id), NOW)
        assert_absent(sqlite_path, old)
    finally:
        db.dispose()


def test_a_reader_holding_old_pages_delays_the_erasure_but_not_the_withdrawal(sqlite_path: Path) -> None:
    db = Database(sqlite_url(sqlite_path))
    other_process = Database(sqlite_url(sqlite_path))  # e.g. `consilience admin status` on the same file
    try:
        account_id = reporter(db)
        new = new_entry(account_id)
        with db.write() as s:
            repo.create_entry(s, new, NOW)
        secrets = entry_secrets(new, "withdrawn")
        assert_present(sqlite_path, secrets)

        with other_process.read() as reading:
            assert repo.get_entry(reading, new.entry_id) is not None  # its snapshot holds the entry's pages
            started = time.monotonic()
            with db.write() as s:
                repo.withdraw_entry(s, account_id, new.entry_id, NOW)
            assert time.monotonic() - started < 5, "the withdrawal waited for the reader"
            entry = repo.get_entry(reading, new.entry_id)
            assert entry is not None and entry.body == new.body  # the reader still sees its snapshot
        with db.read() as s:
            entry = repo.get_entry(s, new.entry_id)
            assert entry is not None and entry.status == "withdrawn"

        # the next write (here the release pass's counting) finishes the erasure
        with db.write() as s:
            repo.count_queued(s, NOW)
        assert_absent(sqlite_path, secrets)
    finally:
        other_process.dispose()
        db.dispose()


def withdrawn_while_read(db: Database, other_process: Database) -> tuple[bytes, dict[str, bytes]]:
    """An entry written and withdrawn through ``db`` while ``other_process`` reads the old pages, so the
    erasing checkpoint cannot finish yet: the account and the entry's secrets, still on disk."""
    account_id = reporter(db)
    new = new_entry(account_id)
    with db.write() as s:
        repo.create_entry(s, new, NOW)
    with other_process.read() as reading:
        assert repo.get_entry(reading, new.entry_id) is not None
        with db.write() as s:
            repo.withdraw_entry(s, account_id, new.entry_id, NOW)
    return account_id, entry_secrets(new, "withdrawn")


def test_a_restarted_server_finishes_an_erasure_its_last_run_could_not(sqlite_path: Path) -> None:
    crashed = Database(sqlite_url(sqlite_path))
    other_process = Database(sqlite_url(sqlite_path))
    restarted: Database | None = None
    try:
        _, secrets = withdrawn_while_read(crashed, other_process)
        assert_present(sqlite_path, secrets)  # the reader held the old pages; then the server stopped writing

        restarted = Database(sqlite_url(sqlite_path))  # the first server is never asked again: it crashed
        with restarted.write() as s:
            repo.count_queued(s, NOW)  # its first write, here the first release pass
        assert_absent(sqlite_path, secrets)
    finally:
        for db in (restarted, other_process, crashed):
            if db is not None:
                db.dispose()


def test_a_submission_on_a_write_connection_finishes_a_pending_erasure(sqlite_path: Path) -> None:
    """``Database.write_connection`` (the submission's Core transaction) retries a pending erasure after its
    commit, as ``write()`` does."""
    db = Database(sqlite_url(sqlite_path))
    other_process = Database(sqlite_url(sqlite_path))
    try:
        account_id, secrets = withdrawn_while_read(db, other_process)
        assert_present(sqlite_path, secrets)

        with db.write_connection() as connection:
            repo.create_entry(connection, new_entry(account_id), NOW)
        assert_absent(sqlite_path, secrets)
    finally:
        other_process.dispose()
        db.dispose()
