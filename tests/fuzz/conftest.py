"""The private PostgreSQL the escrow's fuzz runs use beside SQLite (tests/pg_cluster.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import pg_cluster


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    yield from pg_cluster.admin_url_fixture()

