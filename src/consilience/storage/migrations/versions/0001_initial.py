"""Initial schema: invites, accounts, entries, tags, matches.

Written by hand from the models of the time and frozen: later schema
changes get their own revision, never an edit here. Types are spelled with
plain SQLAlchemy types (no imports from the package) so this file keeps
working whatever the models become.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.LargeBinary(length=16)
HASH = sa.LargeBinary(length=32)


def _time(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", HASH, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("counselor_key_id", ID, nullable=True),
        _time("created_at"),
        sa.CheckConstraint("role IN ('reporter', 'counselor')", name=op.f("ck_accounts_role")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_accounts_token_hash")),
    )
    op.create_table(
        "invites",
        sa.Column("code_hash", HASH, nullable=False),
        _time("created_at"),
        _time("expires_at"),
        _time("used_at", nullable=True),
        sa.Column("account_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_invites_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_invites")),
    )
    op.create_table(
        "matches",
        sa.Column("match_id", ID, nullable=False),
        sa.Column("tag", HASH, nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("match_id", name=op.f("pk_matches")),
        sa.UniqueConstraint("tag", name=op.f("uq_matches_tag")),
    )
    op.create_table(
        "tags",
        sa.Column("tag", HASH, nullable=False),
        sa.Column("match_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["match_id"], ["matches.match_id"], name=op.f("fk_tags_match_id_matches")),
        sa.PrimaryKeyConstraint("tag", name=op.f("pk_tags")),
    )
    op.create_table(
        "entries",
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("content_hash", HASH, nullable=True),
        _time("received_at"),
        _time("updated_at"),
        _time("released_at", nullable=True),
        _time("withdrawn_at", nullable=True),
        sa.Column("match_id", ID, nullable=True),
        sa.CheckConstraint(
            "status IN ('escrowed', 'released', 'withdrawn')", name=op.f("ck_entries_status")
        ),
        sa.CheckConstraint("quorum >= 1 AND quorum <= 255", name=op.f("ck_entries_quorum")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_entries_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["match_id"], ["matches.match_id"], name=op.f("fk_entries_match_id_matches")),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_entries")),
    )
    op.create_index(op.f("ix_entries_account_id"), "entries", ["account_id"], unique=False)
    op.create_table(
        "entry_envelopes",
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("key_id", ID, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.entry_id"], name=op.f("fk_entry_envelopes_entry_id_entries")
        ),
        sa.PrimaryKeyConstraint("entry_id", "key_id", name=op.f("pk_entry_envelopes")),
    )
    op.create_table(
        "entry_tags",
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("tag", HASH, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_entry_tags_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.entry_id"], name=op.f("fk_entry_tags_entry_id_entries")),
        sa.ForeignKeyConstraint(["tag"], ["tags.tag"], name=op.f("fk_entry_tags_tag_tags")),
        sa.PrimaryKeyConstraint("entry_id", "tag", name=op.f("pk_entry_tags")),
    )
    op.create_index("ix_entry_tags_tag_account_id", "entry_tags", ["tag", "account_id"], unique=False)
    op.create_table(
        "match_openings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("match_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        _time("opened_at"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_match_openings_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.match_id"], name=op.f("fk_match_openings_match_id_matches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_openings")),
    )
    op.create_index(op.f("ix_match_openings_match_id"), "match_openings", ["match_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_match_openings_match_id"), table_name="match_openings")
    op.drop_table("match_openings")
    op.drop_index("ix_entry_tags_tag_account_id", table_name="entry_tags")
    op.drop_table("entry_tags")
    op.drop_table("entry_envelopes")
    op.drop_index(op.f("ix_entries_account_id"), table_name="entries")
    op.drop_table("entries")
    op.drop_table("tags")
    op.drop_table("matches")
    op.drop_table("invites")
    op.drop_table("accounts")
