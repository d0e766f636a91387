"""SQLAlchemy models of the escrow database (PROTOCOL.md §6, §8).

The schema is created and changed only by the Alembic migrations in
``storage/migrations``; ``tests/storage`` checks that the migrations and these
models describe the same schema. Everything here is either an opaque byte
string the server cannot read (bodies, envelopes, tags) or bookkeeping the
server needs for counting and authentication (hashes, times, quorums).

Times are stored as UTC. SQLite keeps no time zone, so ``UTCDateTime``
normalises on the way in and re-attaches UTC on the way out; every datetime
the rest of the code sees is timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

#: Deterministic constraint names, so that migrations and models agree on
#: every dialect and later migrations can drop constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Role = Literal["reporter", "counselor"]
ROLES: tuple[str, ...] = ("reporter", "counselor")
Status = Literal["escrowed", "released", "withdrawn"]
STATUSES: tuple[str, ...] = ("escrowed", "released", "withdrawn")

ID_BYTES = 16
HASH_BYTES = 32
ACCOUNT_KEY_BYTES = 32
CERTIFICATE_BYTES = 120


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every dialect (SQLite has no zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), bytes: LargeBinary()}


class InviteRow(Base):
    """An invite: the account key the administrator certified, with that certificate (PROTOCOL.md §6).

    The certificate is checked again at registration against the administrator's key in the
    deployment document, so a row written straight into the database by whoever runs the server
    (without the administrator's signature) registers nothing. Single use, with an expiry.
    """

    __tablename__ = "invites"

    account_key: Mapped[bytes] = mapped_column(LargeBinary(ACCOUNT_KEY_BYTES), primary_key=True)
    certificate: Mapped[bytes] = mapped_column(LargeBinary(CERTIFICATE_BYTES))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    account_id: Mapped[bytes | None] = mapped_column(
        LargeBinary(ID_BYTES), ForeignKey("accounts.account_id")
    )


class Account(Base):
    """A reporter or counselor; authenticated by the SHA-256 of its token."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    account_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    counselor_key_id: Mapped[bytes | None] = mapped_column(LargeBinary(ID_BYTES))
    created_at: Mapped[datetime]
    #: set when the administrator revoked the account (``storage/revocations.py``): it signs in no more
    revoked_at: Mapped[datetime | None]


class AccountSession(Base):
    """A bearer token of an account (PROTOCOL.md §6.1): its SHA-256, until when it is good.

    ``Account.token_hash`` is the account's long-lived secret (a counselor's credential), which is
    never a bearer token itself: it only signs in, and signing in makes one of these.
    """

    __tablename__ = "sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES), primary_key=True)
    account_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class RevocationListRow(Base):
    """Every administrator-signed revocation list, by serial (``protocol/revocations.py``); the newest is served."""

    __tablename__ = "revocation_lists"

    serial: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: the published form, {"document", "signature", "admin_key"}, as JSON
    published: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Entry(Base):
    """One escrowed record. After withdrawal only a tombstone remains."""

    __tablename__ = "entries"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("quorum >= 1 AND quorum <= 255", name="quorum"),
    )

    entry_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), primary_key=True)
    account_id: Mapped[bytes] = mapped_column(
        LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"), index=True
    )
    quorum: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    body: Mapped[bytes | None] = mapped_column(LargeBinary())
    #: SHA-256 of the canonical submission (repository.content_hash); the
    #: idempotency comparison. Cleared on withdrawal together with the rest.
    content_hash: Mapped[bytes | None] = mapped_column(LargeBinary(HASH_BYTES))
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    match_id: Mapped[bytes | None] = mapped_column(
        LargeBinary(ID_BYTES), ForeignKey("matches.match_id")
    )

    envelopes: Mapped[list[EntryEnvelope]] = relationship(
        cascade="all, delete-orphan", order_by="EntryEnvelope.key_id"
    )
    tags: Mapped[list[EntryTag]] = relationship(cascade="all, delete-orphan", order_by="EntryTag.tag")


class EntryEnvelope(Base):
    """An entry's HPKE envelope for one counselor key."""

    __tablename__ = "entry_envelopes"

    entry_id: Mapped[bytes] = mapped_column(
        LargeBinary(ID_BYTES), ForeignKey("entries.entry_id"), primary_key=True
    )
    key_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary())


class EntryTag(Base):
    """A matching tag of an active entry; account_id is copied for counting.

    Unique per (tag, account): one account has at most one active entry naming one person
    (PROTOCOL.md §8); withdrawn entries keep no tags, so they do not count.
    """

    __tablename__ = "entry_tags"
    __table_args__ = (Index("uq_entry_tags_tag_account_id", "tag", "account_id", unique=True),)

    entry_id: Mapped[bytes] = mapped_column(
        LargeBinary(ID_BYTES), ForeignKey("entries.entry_id"), primary_key=True
    )
    tag: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES), ForeignKey("tags.tag"), primary_key=True)
    account_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"))


class Tag(Base):
    """One row per tag ever seen: the lock that serialises counting under it."""

    __tablename__ = "tags"

    tag: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES), primary_key=True)
    match_id: Mapped[bytes | None] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("matches.match_id"))


class RecountQueue(Base):
    """Tags whose entries changed since the last release pass (``services/escrow/releases.py``).

    Written in the submitter's transaction; the background pass counts under them apart from it,
    so nothing the submitter sees depends on whether the count reached anyone's quorum.
    """

    __tablename__ = "recount_queue"

    tag: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES), primary_key=True)
    queued_at: Mapped[datetime]


class Match(Base):
    """The released entries under one tag, as counselors see them."""

    __tablename__ = "matches"

    match_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), primary_key=True)
    tag: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MatchOpening(Base):
    """Audit trail: which counselor fetched which match, and when."""

    __tablename__ = "match_openings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    match_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("matches.match_id"), index=True)
    account_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"))
    opened_at: Mapped[datetime]


# -- transparency log (PROTOCOL.md §11) ----------------------------------------


class LogHead(Base):
    """One row: the log's size. Locked by every append so leaves get consecutive indices."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)


class LogLeaf(Base):
    """A leaf: its data is a commitment (``protocol/events.py``); its opening is kept for whom it concerns.

    ``kind`` and ``entry_id`` are the server's own bookkeeping (which receipt to hand a
    reporter); neither is in the log.
    """

    __tablename__ = "log_leaves"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))
    opening: Mapped[bytes] = mapped_column(LargeBinary(256))
    entry_id: Mapped[bytes | None] = mapped_column(LargeBinary(ID_BYTES), index=True)
    created_at: Mapped[datetime]


class LogPending(Base):
    """An event waiting for the next release pass to log it in a padded batch (releases, openings)."""

    __tablename__ = "log_pending"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event: Mapped[bytes] = mapped_column(LargeBinary(256))
    created_at: Mapped[datetime]


class LogNode(Base):
    """Every complete (perfect) subtree hash, so proofs take O(log n) reads."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))


class LogCheckpoint(Base):
    """The log's signed checkpoint at each size it signed."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class LogCosignature(Base):
    """A witness's cosignature line on the checkpoint of one size."""

    __tablename__ = "log_cosignatures"

    size: Mapped[int] = mapped_column(BigInteger, ForeignKey("log_checkpoints.size"), primary_key=True,
                                      autoincrement=False)
    key_id: Mapped[bytes] = mapped_column(LargeBinary(4), primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[int] = mapped_column(BigInteger)


# -- the key servers' bulletin board (PROTOCOL.md §7.2) -------------------------


class BoardMessage(Base):
    """One signed key-generation message, relayed as received; the escrow can neither read nor forge it."""

    __tablename__ = "board_messages"
    __table_args__ = (Index("uq_board_messages_epoch_digest", "epoch", "digest", unique=True),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    epoch: Mapped[int] = mapped_column(BigInteger)
    #: SHA-256 of ``message``: re-posting the same bytes is a no-op
    digest: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))
    message: Mapped[bytes] = mapped_column(LargeBinary())
    received_at: Mapped[datetime]
