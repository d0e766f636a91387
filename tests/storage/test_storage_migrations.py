"""The Alembic migrations are the schema: they must equal the models, on every dialect."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from consilience.storage import database
from consilience.storage.database import Database, alembic_config, current_revision, head_revision, upgrade
from consilience.storage.models import Base

SRC = Path(__file__).resolve().parents[2] / "src" / "consilience"


def _diff(url: str, metadata: sa.MetaData) -> list[object]:
    engine = database.make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "compare_server_default": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_migrations_produce_the_models_schema(database_url: str) -> None:
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    assert _diff(database_url, Base.metadata) == []


def test_the_comparison_notices_drift(tmp_path: Path) -> None:
    url = database.sqlite_url(tmp_path / "drift.sqlite")
    upgrade(url)
    drifted = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    sa.Table("entries", drifted, sa.Column("plaintext", sa.Text), extend_existing=True)
    diffs = _diff(url, drifted)
    assert any(d[0] == "add_column" and d[3].name == "plaintext" for d in diffs)  # type: ignore[index]


def test_upgrade_is_idempotent_and_reversible(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    engine = database.make_engine(database_url)
    try:
        assert {"entries", "accounts", "tags", "matches"} <= set(sa.inspect(engine).get_table_names())
        with engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        sa.inspect(engine).clear_cache()
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(database_url)
    assert _diff(database_url, Base.metadata) == []


def test_sqlite_is_durable_and_checks_foreign_keys(tmp_path: Path) -> None:
    db = Database(database.sqlite_url(tmp_path / "e.sqlite"))
    try:
        with db.read() as session:
            def pragma(name: str) -> object:
                return session.execute(sa.text(f"PRAGMA {name}")).scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 2  # FULL
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == database.SQLITE_BUSY_TIMEOUT_MS
    finally:
        db.dispose()


def test_sqlite_write_transactions_lock_at_begin(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    url = database.sqlite_url(path)
    upgrade(url)
    db = Database(url)

    def other_writer_can_begin() -> bool:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            other.close()

    try:
        with db.read() as session:
            session.execute(sa.text("SELECT count(*) FROM entries")).scalar()
            assert other_writer_can_begin()
        with db.write() as session:
            session.execute(sa.text("SELECT count(*) FROM entries")).scalar()
            assert not other_writer_can_begin()
        assert other_writer_can_begin()
    finally:
        db.dispose()


def test_postgresql_ddl_renders_offline() -> None:
    config = alembic_config("postgresql+psycopg://user@localhost/escrow")
    config.output_buffer = buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    sql = buffer.getvalue()
    assert "BYTEA" in sql and "TIMESTAMP WITH TIME ZONE" in sql
    assert "CREATE UNIQUE INDEX uq_entry_tags_tag_account_id ON entry_tags (tag, account_id)" in sql
    assert "CREATE TABLE board_messages" in sql and "CREATE TABLE recount_queue" in sql


def test_production_code_never_calls_create_all() -> None:
    offenders = [p for p in SRC.rglob("*.py") if "create_all(" in p.read_text()]
    assert offenders == []


def test_a_v1_schema_upgrades_to_v2_and_v1_data_is_refused(database_url: str) -> None:
    """0003 on top of an empty v1 schema (0002) gives exactly the models; a v1 database with data in it is
    refused with a sentence, and left as it was."""
    upgrade(database_url, "0002")
    assert current_revision(database_url) == "0002"
    upgrade(database_url)
    assert current_revision(database_url) == head_revision() and _diff(database_url, Base.metadata) == []

    engine = database.make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO accounts (account_id, role, token_hash, created_at) "
                                       "VALUES (:id, 'reporter', :token, :now)"),
                               {"id": b"a" * 16, "token": b"t" * 32, "now": "2026-11-25 10:00:00"})
    finally:
        engine.dispose()
    import pytest

    from consilience.errors import ConsilienceError

    with pytest.raises(ConsilienceError, match="protocol v1 .*accounts.*new, empty database"):
        upgrade(database_url)
    assert current_revision(database_url) == "0002"
