"""Engines, sessions and migrations for the escrow database.

Durability and serialisation are set here, once, so that no caller can
forget them:

* SQLite: WAL journal, ``synchronous=FULL`` (an answered submission survives
  power loss), foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for
  write transactions, so two writers never interleave their counting: the
  second one waits for the first one's commit instead of failing on upgrade
  from a read lock.
* PostgreSQL (``postgresql+psycopg://…``): the repository locks the ``tags``
  rows it counts under with ``SELECT … FOR UPDATE``; nothing dialect-specific
  is needed here.

The schema is only ever created by Alembic (``upgrade``), never by
``create_all``, so production databases and tests run the same DDL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc, make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: libpq waits for ever by default for a server that accepted the TCP
#: connection but does not answer; a ``connect_timeout`` in the URL wins.
POSTGRES_CONNECT_TIMEOUT_S = 5
_WRITE_OPTION = "consilience_write"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with this project's durability settings applied."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        kwargs["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S, **kwargs.get("connect_args", {})}
    return create_engine(url, **kwargs)


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
        writer = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._writer = sessionmaker(bind=writer, expire_on_commit=False)
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False)
        # SQLite admits one writer; threads that find it busy poll with backoff
        # (busy_timeout), which gave second-long tails under load. Queueing
        # the process's own writers on a lock first makes them wait in order.
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        if self._write_lock is None:
            with self._writer.begin() as session:
                yield session
            return
        # Bounded: behind a database another process holds locked, each queued
        # writer would otherwise wait for its turn *and* a whole busy timeout.
        if not self._write_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise exc.TimeoutError("the database is busy: no write slot within the busy timeout")
        try:
            with self._writer.begin() as session:
                yield session
        finally:
            self._write_lock.release()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()


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
