"""Engines, sessions and migrations for the escrow database.

Durability and serialisation are set here, once, so that no caller can
forget them:

* SQLite: WAL journal, ``synchronous=FULL`` (an answered submission survives
  power loss), foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for
  write transactions, so two writers never interleave their counting: the
  second one waits for the first one's commit instead of failing on upgrade
  from a read lock.
* SQLite erasure: ``secure_delete`` on every connection, so a deleted or
  overwritten cell and a freed page are zeroed in the page that replaces it;
  and after a transaction that withdrew or replaced content
  (``erase_after_commit``) a ``wal_checkpoint(TRUNCATE)``, so the older
  versions of those pages, still whole in the ``-wal`` file, are gone from
  it too while the server runs (``Database._erase``).
* PostgreSQL (``postgresql+psycopg://…``): the repository locks the ``tags``
  rows it counts under with ``SELECT … FOR UPDATE``; nothing dialect-specific
  is needed here. Nothing here erases on PostgreSQL: a deleted or updated
  row stays in its heap page as a dead tuple until VACUUM reuses the space,
  and in the WAL segments and backups for as long as they are kept
  (README.md, operator chores; PROTOCOL.md §2).

The schema is only ever created by Alembic (``upgrade``), never by
``create_all``, so production databases and tests run the same DDL.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from consilience.i18n import _

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: libpq waits for ever by default for a server that accepted the TCP
#: connection but does not answer; a ``connect_timeout`` in the URL wins.
POSTGRES_CONNECT_TIMEOUT_S = 5
#: Connections a process's pool keeps, and the most it opens at once: SQLAlchemy's default cap (5 kept
#: plus 10 more while busy), but all of them kept. Under load a busy process needs more than 5 at once
#: (each request takes several in turn, from several worker threads): the default closed each one above
#: 5 as it came back and opened another a moment later, and on PostgreSQL a new connection is a new
#: backend process and its authentication, which cost more CPU than the statements it then ran.
POOL_SIZE = 15
#: A connection that sat in the pool this long is pinged before it is used (``_ping_when_idle``).
PING_AFTER_IDLE_S = 1.0
#: ``_ConnectionRecord.info`` key: when the connection came back to the pool (``time.monotonic``).
_RETURNED = "consilience_returned"
_WRITE_OPTION = "consilience_write"
#: ``Session.info`` key: this transaction dropped content that must not outlive it on disk.
_ERASE = "consilience_erase"
#: How long the erasing checkpoint waits for readers still on older pages (and for another
#: process's writer) before it gives up for now; the request that asked for it never fails.
ERASE_CHECKPOINT_TIMEOUT_MS = 200
#: The same for the retries of a checkpoint that could not complete, which every later write
#: makes until one does: short, since a long reader would otherwise slow every write down.
ERASE_RETRY_TIMEOUT_MS = 20
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with this project's durability settings applied."""
    parsed = make_url(url)
    if "poolclass" not in kwargs and parsed.database not in (None, "", ":memory:"):
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", 0)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        kwargs["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S, **kwargs.get("connect_args", {})}
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for a connection that sat in the pool ``PING_AFTER_IDLE_S``.

    A server restarted, a proxy or firewall that dropped an idle connection: the ping finds it, and the
    pool opens a new one, before the request's first statement fails on it. A connection back from a
    request a moment ago needs none: were the server gone since, that request's statements would have
    failed, and a failure that means a lost connection makes the pool drop every connection opened
    before it. Pinging each checkout cost a round trip per transaction, 5 per submission.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_S:
            return  # new, or back from a request a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:  # the pool opens a new connection in its place
            raise exc.DisconnectionError(str(error)) from error


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN out of pysqlite's hands so that we choose its kind below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Zero what is deleted instead of leaving it in free space: withdrawn and replaced
            # ciphertexts and tags. Per connection; some builds default to it, most do not.
            cursor.execute("PRAGMA secure_delete = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """One engine plus two session factories: readers and writers.

    ``write()`` is a transaction that takes SQLite's write lock at its start
    and commits when the block exits normally; ``read()`` never writes.
    """

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._writer = sessionmaker(bind=self._write_engine, expire_on_commit=False)
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False)
        # SQLite admits one writer; threads that find it busy poll with backoff
        # (busy_timeout), which gave second-long tails under load. Queueing
        # the process's own writers on a lock first makes them wait in order.
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        # True until an erasing checkpoint completed: a process that crashed (or stopped while a
        # reader held old pages) after a withdrawal may have left its frames in the -wal file, so
        # the first write of every Database truncates it, and every write retries until it did.
        self._erase_pending = self._write_lock is not None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        if self._write_lock is None:
            with self._writer.begin() as session:
                yield session
            return
        with self._write_slot():
            with self._writer.begin() as session:
                yield session
            # Committed. Still under the process's write lock, so no writer of ours queues behind
            # the checkpoint inside SQLite's busy handler.
            self._after_commit(erase=session.info.pop(_ERASE, False))

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """``write()`` as a Core connection, for the hot write that runs Core statements only (a
        submission): the same transaction (``BEGIN IMMEDIATE`` on SQLite, behind the process's write
        lock), committed when the block exits normally and rolled back otherwise, without a Session's
        unit of work, which cost more than the submission's statements. Nothing written through it asks
        for erasure (``erase_after_commit`` takes a session); a pending erasure is retried after it as
        after any write."""
        if self._write_lock is None:
            with self._write_engine.begin() as connection:
                yield connection
            return
        with self._write_slot():
            with self._write_engine.begin() as connection:
                yield connection
            self._after_commit(erase=False)

    @contextmanager
    def _write_slot(self) -> Iterator[None]:
        assert self._write_lock is not None
        # Bounded: behind a database another process holds locked, each queued
        # writer would otherwise wait for its turn *and* a whole busy timeout.
        if not self._write_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise exc.TimeoutError(_("the database is busy: no write slot within the busy timeout"))
        try:
            yield
        finally:
            self._write_lock.release()

    def _after_commit(self, *, erase: bool) -> None:
        if erase:
            self._erase(ERASE_CHECKPOINT_TIMEOUT_MS)
        elif self._erase_pending:
            self._erase(ERASE_RETRY_TIMEOUT_MS)

    def _erase(self, timeout_ms: int) -> None:
        """Copy every frame of the -wal file into the database file and truncate the -wal to 0 bytes.

        Why TRUNCATE: PASSIVE and FULL leave the -wal file as it was (SQLite reuses it from the
        start later, overwriting old frames only as far as new ones reach); RESTART with a
        ``journal_size_limit`` truncates only when the next writer starts over. TRUNCATE empties
        the file before it returns, and the database file then holds only the pages as they are
        now, in which ``secure_delete`` zeroed what was dropped.

        Readers. The checkpoint waits for readers whose snapshot still uses frames of the -wal
        (other readers and new ones proceed; other writers wait, as for any write), at most
        ``timeout_ms``. If they are still there it does what it can without them and
        stops: SQLite answers busy, not an error, the request is not failed, the old bytes stay in
        the -wal file for now, and ``_erase_pending`` makes the next write of this process
        (at the latest the release pass, which writes on every pass) try again, until one
        completes. Errors (a database gone) are logged and retried the same way.
        """
        try:  # the write's own connection went back to the pool at commit: usually this one again
            connection = self.engine.raw_connection()
        except exc.SQLAlchemyError as error:  # the database gone, or a pool timeout: the write stands
            self._erase_pending = True
            log.warning("could not erase the -wal file now (%s); the next write tries again",
                        type(error).__name__)
            return
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
                try:
                    busy, _frames, _copied = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                finally:
                    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            finally:
                cursor.close()
        except sqlite3.Error as error:  # the driver's own errors: this connection is raw
            self._erase_pending = True
            log.warning("could not erase the -wal file now (%s); the next write tries again", error)
            connection.invalidate()
            return
        finally:
            connection.close()
        self._erase_pending = bool(busy)
        if busy:
            log.info("readers still use old pages of the -wal file; the next write erases it")

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """``read()`` as a Core connection, for the few hot reads that run Core statements only.

        A Session costs a unit of work and ORM compilation on every statement even when it loads no
        object; a Connection costs neither. Same snapshot rules as ``read()``: one transaction,
        rolled back at the end, so nothing can be written through it by mistake.
        """
        with self.engine.connect() as connection:
            connection.begin()
            try:
                yield connection
            finally:
                connection.rollback()

    def dispose(self) -> None:
        # Closing SQLite's last connection checkpoints and deletes the -wal file itself; if another
        # process keeps it open, the next Database's first write truncates it (``_erase_pending``).
        self.engine.dispose()


def erase_after_commit(session: Session) -> None:
    """Ask for the content this write transaction drops to be erased from disk once it commits.

    On SQLite, ``Database.write()`` then truncates the -wal file (``Database._erase``); on
    PostgreSQL nothing happens (the module's docstring says what stays until VACUUM).
    """
    session.info[_ERASE] = True


def exclusive(session: Session, name: str) -> None:
    """Hold a database-wide lock called ``name`` until this write transaction ends.

    Several processes (workers, hosts) serving one escrow must not run the same pass at once: two
    release passes would count the same tags twice. On PostgreSQL this takes the transaction-level
    advisory lock named by the first 8 bytes of SHA-256(``name``); a second caller waits for the
    first one's commit or rollback, and a crashed holder's lock goes with its connection. On SQLite
    it does nothing: ``Database.write()`` began with ``BEGIN IMMEDIATE``, so this transaction
    already holds the only write lock there is.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def alembic_config(url: str) -> Any:
    """An Alembic configuration built in code; no alembic.ini is needed."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would trip over '%' in passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (``alembic upgrade``)."""
    from alembic import command

    config = alembic_config(url)
    engine = make_engine(url, poolclass=_null_pool())
    try:
        with engine.execution_options(**{_WRITE_OPTION: True}).begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
    log.info("database schema is at %s", revision)


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url, poolclass=_null_pool())
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool
