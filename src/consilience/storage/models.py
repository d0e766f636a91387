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
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from consilience.i18n import _
from consilience.protocol.events import commitment_of

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
MESSAGE_KEY_BYTES = 1216 + 32
BACKUP_HANDLE_BYTES = 10
CASE_STATES: tuple[str, ...] = ("new", "reaching_out", "in_contact", "closed")
CONVERSATION_KINDS: tuple[str, ...] = ("direct", "group")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every dialect (SQLite has no zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(_("naive datetimes are not stored; use UTC-aware values"))
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
    #: a reporter's messaging key (PROTOCOL.md §13.1): X-Wing public key (1216) ‖ Ed25519 verify key (32)
    message_key: Mapped[bytes | None] = mapped_column(LargeBinary(MESSAGE_KEY_BYTES))
    #: where to say "something is waiting" (PROTOCOL.md §13.7); only if the account's holder gave one
    notify_email: Mapped[str | None] = mapped_column(String(320))
    #: set when a reporter deleted their account (PROTOCOL.md §14.2): it never signs in again
    deleted_at: Mapped[datetime | None]


class Backup(Base):
    """A reporter's sealed wallet backup (PROTOCOL.md §14.1): the escrow server keeps it and cannot open it."""

    __tablename__ = "backups"

    account_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"),
                                              primary_key=True)
    #: the 80-bit account handle a new device asks for the document by
    handle_bytes: Mapped[bytes] = mapped_column(LargeBinary(BACKUP_HANDLE_BYTES), unique=True)
    version: Mapped[int] = mapped_column(BigInteger)
    #: the consilience-backup/v1 JSON document, as uploaded
    document: Mapped[bytes] = mapped_column(LargeBinary())
    updated_at: Mapped[datetime]


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
    #: the case this match belongs to (PROTOCOL.md §13.5); matches a counselor linked share one
    case_id: Mapped[bytes | None] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("cases.case_id"), index=True)


class MatchOpening(Base):
    """Audit trail: which counselor fetched which match, and when."""

    __tablename__ = "match_openings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    match_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("matches.match_id"), index=True)
    account_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"))
    opened_at: Mapped[datetime]
    #: the counselor's key id at the time (the opening event names it, PROTOCOL.md §11)
    key_id: Mapped[bytes | None] = mapped_column(LargeBinary(ID_BYTES))
    #: the opening event's bytes, to find its leaf once the release pass logged it (``LogLeaf.event_hash``)
    event: Mapped[bytes | None] = mapped_column(LargeBinary(64))


class MatchOpeningEntry(Base):
    """An entry whose body an opening handed out (released in that match then): its reporter sees the reading."""

    __tablename__ = "match_opening_entries"

    opening_id: Mapped[int] = mapped_column(Integer, ForeignKey("match_openings.id"), primary_key=True,
                                            autoincrement=False)
    entry_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("entries.entry_id"), primary_key=True,
                                            index=True)


# -- after a match: cases, conversations, introductions (PROTOCOL.md §13) ------------


class Case(Base):
    """What counselors do about one person: its owner, state, and the matches linked to it."""

    __tablename__ = "cases"
    __table_args__ = (CheckConstraint(_in("state", CASE_STATES), name="state"),)

    case_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), primary_key=True)
    owner_account_id: Mapped[bytes | None] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    #: when a counselor first reached out (a message to a reporter, or the state moved on from "new")
    reached_out_at: Mapped[datetime | None]


class CaseNote(Base):
    """A counselor's note on a case, sealed to the deployment's counselors (wraps in ``sealed_wraps``)."""

    __tablename__ = "case_notes"

    note_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), primary_key=True)
    case_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("cases.case_id"), index=True)
    author_account_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"))
    content: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[datetime]


class Conversation(Base):
    """A conversation: ``direct`` (the counselors and the reporter of one released entry) or ``group`` (the
    reporters of a match who accepted an introduction, and the counselors)."""

    __tablename__ = "conversations"
    __table_args__ = (CheckConstraint(_in("kind", CONVERSATION_KINDS), name="kind"),)

    conversation_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    match_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("matches.match_id"), index=True)
    #: a direct conversation's entry: one direct conversation per entry
    entry_id: Mapped[bytes | None] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("entries.entry_id"),
                                                   unique=True)
    created_by: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ConversationMember(Base):
    """A reporter account that may read and write a conversation (counselors may read and write every one)."""

    __tablename__ = "conversation_members"

    conversation_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("conversations.conversation_id"),
                                                   primary_key=True)
    account_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"),
                                              primary_key=True, index=True)
    joined_at: Mapped[datetime]


class Message(Base):
    """One sealed message (PROTOCOL.md §13.2), in the order the server received it (``seq``)."""

    __tablename__ = "messages"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), unique=True)
    conversation_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("conversations.conversation_id"),
                                                   index=True)
    sender_account_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"))
    #: "counselor" or "reporter": the server's own bookkeeping; clients trust only the signature inside
    sender_role: Mapped[str] = mapped_column(String(16))
    content: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[datetime]


class SealedWrap(Base):
    """The key of one sealed item (a message, an introduction card, a note) HPKE-sealed to one key id."""

    __tablename__ = "sealed_wraps"

    #: 1 message, 2 card, 3 note (``protocol/conversations.py``)
    item_kind: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    item_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), primary_key=True)
    key_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), primary_key=True, index=True)
    wrap: Mapped[bytes] = mapped_column(LargeBinary())


class Introduction(Base):
    """A counselor's proposal to connect the reporters of a match (PROTOCOL.md §13.4)."""

    __tablename__ = "introductions"

    introduction_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), primary_key=True)
    match_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("matches.match_id"), index=True)
    group_conversation_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES),
                                                         ForeignKey("conversations.conversation_id"), unique=True)
    proposed_by: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"))
    created_at: Mapped[datetime]


class IntroductionInvite(Base):
    """A direct conversation whose reporter an introduction was proposed to."""

    __tablename__ = "introduction_invites"

    introduction_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("introductions.introduction_id"),
                                                   primary_key=True)
    conversation_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("conversations.conversation_id"),
                                                   primary_key=True)


class IntroductionAcceptance(Base):
    """An invited reporter who accepted, with their card (display name and messaging key) sealed to the
    counselors (wraps in ``sealed_wraps``, item id = the direct conversation's id). A decline is sent nowhere."""

    __tablename__ = "introduction_acceptances"

    introduction_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("introductions.introduction_id"),
                                                   primary_key=True)
    conversation_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("conversations.conversation_id"),
                                                   primary_key=True)
    account_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"))
    card: Mapped[bytes] = mapped_column(LargeBinary())
    accepted_at: Mapped[datetime]


class CorroborationRow(Base):
    """A counselor's request for a corroboration statement on a match (PROTOCOL.md §14.4).

    ``release_index`` is the match's first release leaf when it was asked: every entry asked for was
    logged before it, which is what the statement shows.
    """

    __tablename__ = "corroborations"

    statement_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), primary_key=True)
    match_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("matches.match_id"), index=True)
    asked_by: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"))
    release_index: Mapped[int] = mapped_column(BigInteger)
    asked_at: Mapped[datetime]


class CorroborationConsent(Base):
    """One entry a statement asks for: the leaf its reporter is asked to sign for, and their consent once given."""

    __tablename__ = "corroboration_consents"

    statement_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("corroborations.statement_id"),
                                                primary_key=True)
    entry_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("entries.entry_id"), primary_key=True)
    #: the reporter asked (the entry's account): only it sees the request
    account_id: Mapped[bytes] = mapped_column(LargeBinary(ID_BYTES), ForeignKey("accounts.account_id"), index=True)
    leaf_index: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))
    #: Ed25519 by the account key (``protocol/corroboration.py``); None until the reporter consents
    consent: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    consented_at: Mapped[datetime | None]


# -- transparency log (PROTOCOL.md §11) ----------------------------------------


class LogHead(Base):
    """One row: the log's size. Locked by every append so leaves get consecutive indices."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)


class LogLeaf(Base):
    """A leaf, kept as its opening (nonce ‖ event); its data, the commitment the tree hashes, is the hash of it.

    ``kind`` and ``entry_id`` are the server's own bookkeeping (which receipt to hand a reporter);
    neither is in the log. On SQLite ``idx`` is the rowid, so the table needs no separate key index.
    The two lookups are partial indexes: most leaves (padding, releases) have neither an entry nor an
    opening event, and an index of NULLs would cost every leaf.
    """

    __tablename__ = "log_leaves"
    __table_args__ = (
        Index("ix_log_leaves_entry_id", "entry_id", sqlite_where=text("entry_id IS NOT NULL"),
              postgresql_where=text("entry_id IS NOT NULL")),
        Index("ix_log_leaves_event_hash", "event_hash", sqlite_where=text("event_hash IS NOT NULL"),
              postgresql_where=text("event_hash IS NOT NULL")),
    )

    idx: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    kind: Mapped[int] = mapped_column(Integer)
    #: nonce ‖ event (``events.parse_opening``)
    opening: Mapped[bytes] = mapped_column(LargeBinary(256))
    entry_id: Mapped[bytes | None] = mapped_column(LargeBinary(ID_BYTES))
    #: SHA-256 of an opening event's bytes, so a reporter's reader list finds its leaf (``MatchOpening.event``)
    event_hash: Mapped[bytes | None] = mapped_column(LargeBinary(HASH_BYTES))

    @property
    def data(self) -> bytes:
        """The leaf data: the commitment to the opening (``events.commitment_of``)."""
        return commitment_of(self.opening)


class LogPending(Base):
    """An event waiting for the next release pass to log it in a padded batch (releases, openings)."""

    __tablename__ = "log_pending"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event: Mapped[bytes] = mapped_column(LargeBinary(256))
    created_at: Mapped[datetime]


class LogSequenced(Base):
    """An acknowledged event not yet in the tree: written by the request's own transaction, so it commits (or rolls
    back) with the event, and moved into the tree, in order of ``id``, by the next integration (``log.integrate``)."""

    __tablename__ = "log_sequenced"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    #: nonce ‖ event, as ``log_leaves.opening`` will hold it (the nonce is drawn when the event is sequenced)
    opening: Mapped[bytes] = mapped_column(LargeBinary(256))
    entry_id: Mapped[bytes | None] = mapped_column(LargeBinary(ID_BYTES), index=True)
    created_at: Mapped[datetime]


class LogTile(Base):
    """The tree as tiles of 4 levels: row ``(level, idx)`` holds the complete hashes of tree level ``4 * level``
    numbered ``16 * idx`` … ``16 * idx + 15``, 32 bytes each.

    A full row holds 16; the rightmost of each level holds the 1 … 15 its tree has, and grows as the log
    does. A served C2SP tile (8 levels, 256 hashes) is 16 rows side by side, and any other perfect node is
    computed from one row (``tlog.tiles.StoredTiles``), so about 34 bytes per leaf hold the whole tree.
    """

    __tablename__ = "log_tiles"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hashes: Mapped[bytes] = mapped_column(LargeBinary(512))


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


# -- request budgets shared by the escrow's processes (PROTOCOL.md §9) ------------


class RateBucket(Base):
    """One token bucket of one budget: what it held at ``updated_at`` (wall-clock seconds since the epoch).

    ``key`` is a SHA-256 of what the budget is kept for (``storage/budgets.py``), never an address.
    """

    __tablename__ = "rate_buckets"

    budget: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)


# -- the release pass's schedule, shared by the escrow's processes (PROTOCOL.md §8) ------


class ReleaseSchedule(Base):
    """One row: when the deployment's next release pass is due (drawn at random by the pass before it) and
    when the last one ran, so that several processes or hosts run one pass per delay between them
    (``services/escrow/releases.py``), not one each. NULL ``due_at``: nothing scheduled yet."""

    __tablename__ = "release_schedule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_at: Mapped[datetime | None]
    ran_at: Mapped[datetime | None]
