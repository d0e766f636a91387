"""The release pass's schedule, shared by every process serving one escrow (PROTOCOL.md §8): ``release_schedule``.

One row (id 1): when the next pass is due and when the last one ran. Each process's release timer looks
at it, under the pass's lock, and runs a pass only once it is due, drawing the next one's random delay;
so N workers or hosts log one padded batch per delay, as one process does, not N.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "release_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_schedule")),
    )
    op.bulk_insert(table, [{"id": 1, "due_at": None, "ran_at": None}])


def downgrade() -> None:
    op.drop_table("release_schedule")
