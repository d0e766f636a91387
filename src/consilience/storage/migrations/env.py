"""Alembic environment for the escrow database.

Run through ``consilience.storage.database.upgrade`` (which passes an open
connection in ``config.attributes``) or with a URL in the configuration;
offline mode renders SQL for review, e.g. for a PostgreSQL operator.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from consilience.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite cannot ALTER most things in place
        **kwargs,
    )


def run_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_online(connection)
    else:
        from consilience.storage.database import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        try:
            with engine.begin() as conn:
                run_online(conn)
        finally:
            engine.dispose()
