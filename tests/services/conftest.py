"""Fixtures: an escrow server on each supported database (SQLite, and PostgreSQL when one can be started).

``escrow`` runs every escrow-side test on both; on PostgreSQL each test gets a database copied from
one migrated once per session (``CREATE DATABASE … TEMPLATE``), which takes milliseconds where
running the migrations takes about a second.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import pg_cluster
from consilience.storage.database import upgrade

from .harness import Escrow, build


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    yield from pg_cluster.admin_url_fixture()


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> str:
    """The name of a database migrated to head, for ``postgres_database`` to copy."""
    url = pg_cluster.fresh_database(postgres_admin_url)
    upgrade(url)  # its engine is gone when it returns: a template must have no connection
    return url.rsplit("/", 1)[1]


@pytest.fixture
def postgres_database(postgres_admin_url: str, postgres_template: str) -> str:
    """A fresh, migrated PostgreSQL database of its own: its SQLAlchemy URL."""
    import psycopg

    name = f"consilience_{uuid.uuid4().hex[:12]}"
    conninfo = postgres_admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    return postgres_admin_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """For tests that build their own server: None (SQLite in its data folder) or a PostgreSQL database."""
    return None if request.param == "sqlite" else str(request.getfixturevalue("postgres_database"))


def _escrow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Escrow]:
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres_database")
    harness = build(tmp_path / "data", database_url=url)
    with harness.client:
        yield harness
    harness.db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def escrow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Escrow]:
    """An escrow server on each supported database."""
    yield from _escrow(request, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_escrow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Escrow]:
    """The same as ``escrow`` (the name of the tests that ran on both before ``escrow`` did)."""
    yield from _escrow(request, tmp_path)
