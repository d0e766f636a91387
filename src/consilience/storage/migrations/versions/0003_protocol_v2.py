"""Protocol v2: certified invites, one active entry per account and person, committed log leaves,
release passes apart from submissions, the key servers' bulletin board.

No v1 deployment exists, so no v1 data is carried over: a database that already holds
accounts, entries or log leaves is refused with a sentence saying so, and nothing is changed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from consilience.errors import ConsilienceError
from consilience.i18n import N_, _

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.LargeBinary(length=16)
HASH = sa.LargeBinary(length=32)

V1_DATA = N_("this database holds data written by Consilience protocol v1 ({tables}); protocol v2 cannot use "
              "it. Start the v2 escrow server with a new, empty database (the v1 deployment must be set up again).")


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _refuse_v1_data() -> None:
    if context.is_offline_mode():
        return
    connection = op.get_bind()
    used = [table for table in ("accounts", "invites", "entries", "log_leaves")
            if connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()]
    if used:
        raise ConsilienceError(_(V1_DATA, tables=", ".join(used)))


def upgrade() -> None:
    _refuse_v1_data()
    op.drop_table("invites")
    op.create_table(
        "invites",
        sa.Column("account_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("certificate", sa.LargeBinary(length=120), nullable=False),
        _time("created_at"),
        _time("expires_at"),
        _time("used_at", nullable=True),
        sa.Column("account_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name=op.f("fk_invites_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_key", name=op.f("pk_invites")),
    )
    op.drop_index("ix_entry_tags_tag_account_id", table_name="entry_tags")
    op.create_index("uq_entry_tags_tag_account_id", "entry_tags", ["tag", "account_id"], unique=True)
    op.create_table(
        "recount_queue",
        sa.Column("tag", HASH, nullable=False),
        _time("queued_at"),
        sa.PrimaryKeyConstraint("tag", name=op.f("pk_recount_queue")),
    )
    op.drop_index(op.f("ix_log_leaves_entry_id"), table_name="log_leaves")
    op.drop_table("log_leaves")
    op.create_table(
        "log_leaves",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("data", HASH, nullable=False),
        sa.Column("opening", sa.LargeBinary(length=256), nullable=False),
        sa.Column("entry_id", ID, nullable=True),
        _time("created_at"),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_leaves")),
    )
    op.create_index(op.f("ix_log_leaves_entry_id"), "log_leaves", ["entry_id"], unique=False)
    op.create_table(
        "log_pending",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event", sa.LargeBinary(length=256), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_pending")),
    )
    op.create_table(
        "board_messages",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("digest", HASH, nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        _time("received_at"),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_board_messages")),
    )
    op.create_index("uq_board_messages_epoch_digest", "board_messages", ["epoch", "digest"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_board_messages_epoch_digest", table_name="board_messages")
    op.drop_table("board_messages")
    op.drop_table("log_pending")
    op.drop_index(op.f("ix_log_leaves_entry_id"), table_name="log_leaves")
    op.drop_table("log_leaves")
    op.create_table(
        "log_leaves",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(length=256), nullable=False),
        sa.Column("entry_id", ID, nullable=True),
        _time("created_at"),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_leaves")),
    )
    op.create_index(op.f("ix_log_leaves_entry_id"), "log_leaves", ["entry_id"], unique=False)
    op.drop_table("recount_queue")
    op.drop_index("uq_entry_tags_tag_account_id", table_name="entry_tags")
    op.create_index("ix_entry_tags_tag_account_id", "entry_tags", ["tag", "account_id"], unique=False)
    op.drop_table("invites")
    op.create_table(
        "invites",
        sa.Column("code_hash", HASH, nullable=False),
        _time("created_at"),
        _time("expires_at"),
        _time("used_at", nullable=True),
        sa.Column("account_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name=op.f("fk_invites_account_id_accounts")),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_invites")),
    )
