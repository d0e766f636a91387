"""Fixtures: an escrow server on SQLite, and on PostgreSQL when one can be started."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pg_cluster

from .harness import Escrow, build


@pytest.fixture
def escrow(tmp_path: Path) -> Iterator[Escrow]:
    harness = build(tmp_path / "data")
    with harness.client:
        yield harness
    harness.db.dispose()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    yield from pg_cluster.admin_url_fixture()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_escrow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Escrow]:
    """The same server on each supported database."""
    url = None if request.param == "sqlite" else pg_cluster.fresh_database(
        request.getfixturevalue("postgres_admin_url"))
    harness = build(tmp_path / "data", database_url=url)
    with harness.client:
        yield harness
    harness.db.dispose()

