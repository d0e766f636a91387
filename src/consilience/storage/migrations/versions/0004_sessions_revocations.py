"""Sessions that expire, and revocation (PROTOCOL.md §6.1, §6.2).

Bearer tokens become sessions with an expiry (``sessions``); an account's own ``token_hash`` stays
its long-lived secret (a counselor's credential), which only signs in. ``accounts.revoked_at``
marks an account the administrator revoked; ``revocation_lists`` keeps every signed revocation list
the escrow server publishes to the key servers. Tokens issued before this migration are not
carried over: clients sign in again on their own (reporters with their account key, counselors
with their credential).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.LargeBinary(length=16)
HASH = sa.LargeBinary(length=32)


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(_time("revoked_at", nullable=True))
    op.create_table(
        "sessions",
        sa.Column("token_hash", HASH, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        _time("created_at"),
        _time("expires_at"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name=op.f("fk_sessions_account_id_accounts")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_account_id"), "sessions", ["account_id"], unique=False)
    op.create_table(
        "revocation_lists",
        sa.Column("serial", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("published", sa.Text(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_revocation_lists")),
    )


def downgrade() -> None:
    op.drop_table("revocation_lists")
    op.drop_index(op.f("ix_sessions_account_id"), table_name="sessions")
    op.drop_table("sessions")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("revoked_at")
