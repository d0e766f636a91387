"""Recovery on a new device (PROTOCOL.md §14.1), and the mark of a deleted account (§14.2).

``backups`` holds one sealed backup document per reporter account: the wallet sealed under a key
that only the passphrase *through t key servers* gives, and the key servers' HPKE-sealed shares of
that backup's VOPRF key. The escrow server can open none of it. ``handle_bytes`` is the 80-bit
account handle a new device asks for the document by. ``accounts.deleted_at`` is set when a
reporter deleted their account; it never signs in again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "backups",
        sa.Column("account_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("handle_bytes", sa.LargeBinary(length=10), nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"], name=op.f("fk_backups_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_backups")),
        sa.UniqueConstraint("handle_bytes", name=op.f("uq_backups_handle_bytes")),
    )


def downgrade() -> None:
    op.drop_table("backups")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("deleted_at")
