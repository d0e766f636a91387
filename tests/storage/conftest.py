"""Databases for the storage tests: a SQLite file, and PostgreSQL when available."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pg_cluster
from consilience.storage.database import Database, sqlite_url, upgrade


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    yield from pg_cluster.admin_url_fixture()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each supported kind (not yet migrated)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "escrow.sqlite")
    return pg_cluster.fresh_database(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()
