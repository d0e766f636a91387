"""Sequencing apart from integration (PROTOCOL.md §11): ``log_sequenced``.

A reporter's event (an entry accepted or replaced, a withdrawal) is written here by the request's own
transaction, with its opening (nonce ‖ event), and moved into ``log_leaves``/``log_nodes`` in order of
``id`` by the integrator, which signs one checkpoint per batch. An event is in exactly one of the two
tables at any time.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "log_sequenced",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("opening", sa.LargeBinary(length=256), nullable=False),
        sa.Column("entry_id", sa.LargeBinary(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_sequenced")),
    )
    op.create_index(op.f("ix_log_sequenced_entry_id"), "log_sequenced", ["entry_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_log_sequenced_entry_id"), table_name="log_sequenced")
    op.drop_table("log_sequenced")
