"""Corroboration statements (PROTOCOL.md §14.4): a counselor's requests and each reporter's consent.

``corroborations`` is one request per statement id, on one match, with the index of the match's first
release leaf; ``corroboration_consents`` one row per entry asked for: the leaf and content hash its
reporter is asked to sign for, and the signature once given. Nothing here is text: ids, leaf
indices, hashes and signatures.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.LargeBinary(length=16)


def upgrade() -> None:
    op.create_table(
        "corroborations",
        sa.Column("statement_id", ID, nullable=False),
        sa.Column("match_id", ID, nullable=False),
        sa.Column("asked_by", ID, nullable=False),
        sa.Column("release_index", sa.BigInteger(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["match_id"], ["matches.match_id"], name=op.f("fk_corroborations_match_id_matches")),
        sa.ForeignKeyConstraint(["asked_by"], ["accounts.account_id"],
                                name=op.f("fk_corroborations_asked_by_accounts")),
        sa.PrimaryKeyConstraint("statement_id", name=op.f("pk_corroborations")),
    )
    op.create_index(op.f("ix_corroborations_match_id"), "corroborations", ["match_id"], unique=False)
    op.create_table(
        "corroboration_consents",
        sa.Column("statement_id", ID, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("consent", sa.LargeBinary(length=64), nullable=True),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["statement_id"], ["corroborations.statement_id"],
                                name=op.f("fk_corroboration_consents_statement_id_corroborations")),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.entry_id"],
                                name=op.f("fk_corroboration_consents_entry_id_entries")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name=op.f("fk_corroboration_consents_account_id_accounts")),
        sa.PrimaryKeyConstraint("statement_id", "entry_id", name=op.f("pk_corroboration_consents")),
    )
    op.create_index(op.f("ix_corroboration_consents_account_id"), "corroboration_consents", ["account_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_corroboration_consents_account_id"), table_name="corroboration_consents")
    op.drop_table("corroboration_consents")
    op.drop_index(op.f("ix_corroborations_match_id"), table_name="corroborations")
    op.drop_table("corroborations")
