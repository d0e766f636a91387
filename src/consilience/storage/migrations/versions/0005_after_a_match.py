"""After a match (PROTOCOL.md §13): cases, conversations, introductions, sealed notes, who read what.

Everything added holds ciphertexts, ids, times and counts: message contents, cards and notes are
sealed on the devices of reporters and counselors, and each item's key is HPKE-sealed per
recipient key (``sealed_wraps``). ``accounts.message_key`` is a reporter's public messaging key;
``accounts.notify_email`` an address its holder chose to give for "something is waiting" mail.
``match_openings`` gains the counselor's key id and the opening event's bytes, and
``match_opening_entries`` the entries whose bodies an opening handed out, so that each reporter
can see which counselor read their record (``log_leaves.event_hash`` finds the leaf).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.LargeBinary(length=16)
HASH = sa.LargeBinary(length=32)


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(column: str, table: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}"], name=op.f(f"fk_{table}_{column}_{target.split('.')[0]}"))


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("owner_account_id", ID, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        _time("reached_out_at", nullable=True),
        sa.CheckConstraint("state IN ('new', 'reaching_out', 'in_contact', 'closed')", name=op.f("ck_cases_state")),
        _fk("owner_account_id", "cases", "accounts.account_id"),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_cases")),
    )
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("message_key", sa.LargeBinary(length=1248), nullable=True))
        batch.add_column(sa.Column("notify_email", sa.String(length=320), nullable=True))
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("case_id", ID, nullable=True))
        batch.create_foreign_key(op.f("fk_matches_case_id_cases"), "cases", ["case_id"], ["case_id"])
        batch.create_index(op.f("ix_matches_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("match_openings") as batch:
        batch.add_column(sa.Column("key_id", ID, nullable=True))
        batch.add_column(sa.Column("event", sa.LargeBinary(length=64), nullable=True))
    with op.batch_alter_table("log_leaves") as batch:
        batch.add_column(sa.Column("event_hash", HASH, nullable=True))
        batch.create_index(op.f("ix_log_leaves_event_hash"), ["event_hash"], unique=False)
    op.create_table(
        "match_opening_entries",
        sa.Column("opening_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        _fk("opening_id", "match_opening_entries", "match_openings.id"),
        _fk("entry_id", "match_opening_entries", "entries.entry_id"),
        sa.PrimaryKeyConstraint("opening_id", "entry_id", name=op.f("pk_match_opening_entries")),
    )
    op.create_index(op.f("ix_match_opening_entries_entry_id"), "match_opening_entries", ["entry_id"], unique=False)
    op.create_table(
        "case_notes",
        sa.Column("note_id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("author_account_id", ID, nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        _time("created_at"),
        _fk("case_id", "case_notes", "cases.case_id"),
        _fk("author_account_id", "case_notes", "accounts.account_id"),
        sa.PrimaryKeyConstraint("note_id", name=op.f("pk_case_notes")),
    )
    op.create_index(op.f("ix_case_notes_case_id"), "case_notes", ["case_id"], unique=False)
    op.create_table(
        "conversations",
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("match_id", ID, nullable=False),
        sa.Column("entry_id", ID, nullable=True),
        sa.Column("created_by", ID, nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.CheckConstraint("kind IN ('direct', 'group')", name=op.f("ck_conversations_kind")),
        _fk("match_id", "conversations", "matches.match_id"),
        _fk("entry_id", "conversations", "entries.entry_id"),
        _fk("created_by", "conversations", "accounts.account_id"),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_conversations_entry_id")),
    )
    op.create_index(op.f("ix_conversations_match_id"), "conversations", ["match_id"], unique=False)
    op.create_table(
        "conversation_members",
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        _time("joined_at"),
        _fk("conversation_id", "conversation_members", "conversations.conversation_id"),
        _fk("account_id", "conversation_members", "accounts.account_id"),
        sa.PrimaryKeyConstraint("conversation_id", "account_id", name=op.f("pk_conversation_members")),
    )
    op.create_index(op.f("ix_conversation_members_account_id"), "conversation_members", ["account_id"],
                    unique=False)
    op.create_table(
        "messages",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("sender_account_id", ID, nullable=False),
        sa.Column("sender_role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        _time("created_at"),
        _fk("conversation_id", "messages", "conversations.conversation_id"),
        _fk("sender_account_id", "messages", "accounts.account_id"),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_messages_message_id")),
    )
    op.create_index(op.f("ix_messages_conversation_id"), "messages", ["conversation_id"], unique=False)
    op.create_table(
        "sealed_wraps",
        sa.Column("item_kind", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("key_id", ID, nullable=False),
        sa.Column("wrap", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("item_kind", "item_id", "key_id", name=op.f("pk_sealed_wraps")),
    )
    op.create_index(op.f("ix_sealed_wraps_key_id"), "sealed_wraps", ["key_id"], unique=False)
    op.create_table(
        "introductions",
        sa.Column("introduction_id", ID, nullable=False),
        sa.Column("match_id", ID, nullable=False),
        sa.Column("group_conversation_id", ID, nullable=False),
        sa.Column("proposed_by", ID, nullable=False),
        _time("created_at"),
        _fk("match_id", "introductions", "matches.match_id"),
        _fk("group_conversation_id", "introductions", "conversations.conversation_id"),
        _fk("proposed_by", "introductions", "accounts.account_id"),
        sa.PrimaryKeyConstraint("introduction_id", name=op.f("pk_introductions")),
        sa.UniqueConstraint("group_conversation_id", name=op.f("uq_introductions_group_conversation_id")),
    )
    op.create_index(op.f("ix_introductions_match_id"), "introductions", ["match_id"], unique=False)
    op.create_table(
        "introduction_invites",
        sa.Column("introduction_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        _fk("introduction_id", "introduction_invites", "introductions.introduction_id"),
        _fk("conversation_id", "introduction_invites", "conversations.conversation_id"),
        sa.PrimaryKeyConstraint("introduction_id", "conversation_id", name=op.f("pk_introduction_invites")),
    )
    op.create_table(
        "introduction_acceptances",
        sa.Column("introduction_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("card", sa.LargeBinary(), nullable=False),
        _time("accepted_at"),
        _fk("introduction_id", "introduction_acceptances", "introductions.introduction_id"),
        _fk("conversation_id", "introduction_acceptances", "conversations.conversation_id"),
        _fk("account_id", "introduction_acceptances", "accounts.account_id"),
        sa.PrimaryKeyConstraint("introduction_id", "conversation_id", name=op.f("pk_introduction_acceptances")),
    )


def downgrade() -> None:
    op.drop_table("introduction_acceptances")
    op.drop_table("introduction_invites")
    op.drop_index(op.f("ix_introductions_match_id"), table_name="introductions")
    op.drop_table("introductions")
    op.drop_index(op.f("ix_sealed_wraps_key_id"), table_name="sealed_wraps")
    op.drop_table("sealed_wraps")
    op.drop_index(op.f("ix_messages_conversation_id"), table_name="messages")
    op.drop_table("messages")
    op.drop_index(op.f("ix_conversation_members_account_id"), table_name="conversation_members")
    op.drop_table("conversation_members")
    op.drop_index(op.f("ix_conversations_match_id"), table_name="conversations")
    op.drop_table("conversations")
    op.drop_index(op.f("ix_case_notes_case_id"), table_name="case_notes")
    op.drop_table("case_notes")
    op.drop_index(op.f("ix_match_opening_entries_entry_id"), table_name="match_opening_entries")
    op.drop_table("match_opening_entries")
    with op.batch_alter_table("log_leaves") as batch:
        batch.drop_index(op.f("ix_log_leaves_event_hash"))
        batch.drop_column("event_hash")
    with op.batch_alter_table("match_openings") as batch:
        batch.drop_column("event")
        batch.drop_column("key_id")
    with op.batch_alter_table("matches") as batch:
        batch.drop_index(op.f("ix_matches_case_id"))
        batch.drop_constraint(op.f("fk_matches_case_id_cases"), type_="foreignkey")
        batch.drop_column("case_id")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("notify_email")
        batch.drop_column("message_key")
    op.drop_table("cases")
