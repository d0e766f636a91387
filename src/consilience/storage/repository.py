"""Every database operation of the escrow server and the admin tooling.

Functions take an open ``Session`` inside a transaction that the caller owns
(``Database.write()`` / ``Database.read()``), so that one HTTP request is one
transaction and the admin CLI can use the same code without HTTP. Nothing
here knows about HTTP or about the deployment document; the escrow service
checks submissions against the deployment before calling in.

Counting (protocol v2) is not done in the transaction that writes an entry:
that transaction queues the entry's tags (``recount_queue``) and the escrow's
release pass counts under every queued tag later, in its own transaction
(``count_queued``), so nothing the submitter sees depends on whether anyone
else named the same person. One account has at most one active entry per tag
(``PersonAlreadyNamed``; a unique index backs it).

Concurrency. Counting under a tag must see every entry committed under it,
so every transaction that adds, changes or removes entries under a tag, and
the release pass, first locks that tag's row in ``tags`` (``SELECT … FOR
UPDATE`` on PostgreSQL; on SQLite the whole write transaction is ``BEGIN
IMMEDIATE``). Locks are taken in sorted tag order, before any entry row, so
two transactions cannot deadlock on each other.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import Connection, Table, and_, bindparam, delete, distinct, func, insert, select, update
from sqlalchemy.orm import Session

from consilience.errors import ConsilienceError, InvalidInput
from consilience.i18n import _
from consilience.protocol import accounts, events
from consilience.protocol.encoding import random_id
from consilience.storage.database import erase_after_commit, exclusive
from consilience.storage.models import (
    Account,
    BoardMessage,
    Entry,
    EntryEnvelope,
    EntryTag,
    InviteRow,
    LogCheckpoint,
    LogCosignature,
    LogLeaf,
    LogPending,
    LogTile,
    Match,
    MatchOpening,
    MatchOpeningEntry,
    RecountQueue,
    Tag,
)

ID_BYTES = 16
TOKEN_BYTES = 32
ENTRIES: Table = Entry.__table__  # type: ignore[assignment]
ENTRY_TAGS: Table = EntryTag.__table__  # type: ignore[assignment]
ENTRY_ENVELOPES: Table = EntryEnvelope.__table__  # type: ignore[assignment]
TAGS: Table = Tag.__table__  # type: ignore[assignment]
RECOUNT_QUEUE: Table = RecountQueue.__table__  # type: ignore[assignment]
DEFAULT_INVITE_LIFETIME = timedelta(days=14)


class StorageError(ConsilienceError):
    """Base of the repository's refusals; the service maps them to HTTP codes."""


class NotFound(StorageError):
    """No such row, or not one the caller may see (never says which)."""


class Conflict(StorageError):
    """The request contradicts stored state: id reuse, edit after release."""


class PersonAlreadyNamed(Conflict):
    """The account already has an active entry under one of the tags (PROTOCOL.md §8)."""

    def __init__(self, entry_id: bytes) -> None:
        super().__init__(_("you already have a record naming this person in escrow; add what you want to say to "
                           "that record instead of making a new one"))
        self.entry_id = entry_id


class InviteRefused(StorageError):
    """Unknown, used or expired invite; deliberately one undistinguished case."""


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- accounts and invites ------------------------------------------------------


@dataclass(frozen=True)
class AccountInfo:
    """What a request handler needs to know about the caller, detached from ORM."""

    account_id: bytes
    role: str
    name: str | None
    counselor_key_id: bytes | None


@dataclass(frozen=True)
class CounselorAccount:
    account_id: bytes
    name: str | None
    key_id: bytes | None
    created_at: datetime


def create_invite(session: Session, certificate: bytes, expires_in: timedelta = DEFAULT_INVITE_LIFETIME, *,
                  now: datetime | None = None) -> bytes:
    """Store the administrator's account certificate (``protocol/accounts.py``) as a single-use invite.

    Returns the certified account key, which is the invite's key here. The certificate is checked
    against the administrator's key when it is used (the server checks it then, against the
    deployment document), not here: nothing in this module knows the deployment.
    """
    if expires_in <= timedelta(0):
        raise InvalidInput(_("an invite must expire in the future"))
    cert = accounts.parse_certificate(certificate)
    if session.get(InviteRow, cert.account_key) is not None:
        raise Conflict(_("there is already an invite for this account key"))
    now = now or utcnow()
    session.add(InviteRow(account_key=cert.account_key, certificate=cert.encoded, created_at=now,
                          expires_at=now + expires_in))
    session.flush()
    return cert.account_key


def invite_certificate(session: Session, account_key: bytes, *, now: datetime | None = None) -> bytes:
    """The certificate of an unused, unexpired invite for ``account_key``; InviteRefused otherwise."""
    now = now or utcnow()
    row = session.get(InviteRow, account_key)
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InviteRefused(_("invite refused"))
    return row.certificate


def register(session: Session, account_key: bytes, *, now: datetime | None = None) -> tuple[bytes, bytes]:
    """Use the invite of ``account_key`` once and create a reporter; returns (account_id, token).

    The invite is claimed with a conditional UPDATE, so two concurrent
    registrations with one invite cannot both succeed on any database.
    The caller has checked the certificate and the registration proof.
    """
    now = now or utcnow()
    account_id, token = os.urandom(ID_BYTES), os.urandom(TOKEN_BYTES)
    session.add(Account(account_id=account_id, role="reporter", token_hash=sha256(token), created_at=now))
    session.flush()
    claimed = session.execute(
        update(InviteRow)
        .where(InviteRow.account_key == account_key, InviteRow.used_at.is_(None), InviteRow.expires_at > now)
        .values(used_at=now, account_id=account_id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise InviteRefused(_("invite refused"))
    return account_id, token


def add_counselor_account(session: Session, name: str, key_id: bytes, *,
                          now: datetime | None = None) -> bytes:
    """A counselor account for the HPKE key ``key_id``; returns its token."""
    if len(key_id) != ID_BYTES:
        raise InvalidInput(_("a counselor key id is 16 bytes"))
    if not name or len(name) > 200:
        raise InvalidInput(_("a counselor name is 1 to 200 characters"))
    token = os.urandom(TOKEN_BYTES)
    session.add(Account(account_id=os.urandom(ID_BYTES), role="counselor", token_hash=sha256(token),
                        name=name, counselor_key_id=key_id, created_at=now or utcnow()))
    session.flush()
    return token


def list_counselor_accounts(session: Session) -> list[CounselorAccount]:
    rows = session.scalars(
        select(Account).where(Account.role == "counselor").order_by(Account.created_at, Account.account_id)
    )
    return [CounselorAccount(a.account_id, a.name, a.counselor_key_id, a.created_at) for a in rows]


def authenticate(session: Session | Connection, token: bytes, *, now: datetime | None = None) -> AccountInfo | None:
    """The account of the live session whose token hashes to SHA-256(token), if any.

    Bearer tokens are sessions (``storage/revocations.py``, ``session_account``): an expired one raises
    SessionExpired, one of a revoked account AccountRevoked, one of a deleted account AccountDeleted. An
    account's own ``token_hash`` (a counselor's credential) only signs in; it is not accepted here.
    """
    from consilience.storage import revocations

    found = revocations.session_account(session, token, now=now)
    return None if found is None else AccountInfo(*found)


class Stats(TypedDict):
    """A plain dict (TypedDict) so the admin CLI can print or merge it as JSON."""

    entries: dict[str, int]
    matches: int
    reporter_accounts: int
    counselor_accounts: int
    open_invites: int


def stats(session: Session, *, now: datetime | None = None) -> Stats:
    """Counts for ``consilience admin status``; nothing identifying."""
    now = now or utcnow()
    entries = {"escrowed": 0, "released": 0, "withdrawn": 0}
    for status, count in session.execute(select(Entry.status, func.count()).group_by(Entry.status)):
        entries[status] = count
    roles: dict[str, int] = {role: n for role, n in session.execute(
        select(Account.role, func.count()).group_by(Account.role))}
    return Stats(
        entries=entries,
        matches=session.scalar(select(func.count()).select_from(Match)) or 0,
        reporter_accounts=roles.get("reporter", 0),
        counselor_accounts=roles.get("counselor", 0),
        open_invites=session.scalar(
            select(func.count()).select_from(InviteRow).where(InviteRow.used_at.is_(None), InviteRow.expires_at > now)
        ) or 0,
    )


# -- entries -------------------------------------------------------------------


@dataclass(frozen=True)
class NewEntry:
    """A decoded, validated submission (POST or PUT body)."""

    entry_id: bytes
    account_id: bytes
    quorum: int
    tags: tuple[bytes, ...]
    body: bytes
    envelopes: tuple[tuple[bytes, bytes], ...]  # (key_id, ciphertext)

    def content_hash(self) -> bytes:
        """The submission's commitment (PROTOCOL.md §11); order of tags and envelopes is ignored."""
        return events.content_hash(self.quorum, self.tags, self.body, self.envelopes)


@dataclass(frozen=True)
class MatchChange:
    """A match created or grown by one transaction; handed to the notifier after commit."""

    match_id: bytes
    released: int
    created: bool


def get_entry(session: Session, entry_id: bytes) -> Entry | None:
    return session.get(Entry, entry_id)


@dataclass(frozen=True)
class StoredEntry:
    """What a submission's retry check and its answer need of a stored entry, read without the ORM."""

    entry_id: bytes
    account_id: bytes
    status: str
    content_hash: bytes | None
    received_at: datetime


def stored_entry(session: Session | Connection, entry_id: bytes) -> StoredEntry | None:
    """``get_entry`` for the submission path: one Core SELECT of the entry's row, no body, no relationships."""
    row = session.execute(_STORED_ENTRY, {"entry_id": entry_id}).first()
    return None if row is None else StoredEntry(entry_id, *row)


_STORED_ENTRY = (select(Entry.account_id, Entry.status, Entry.content_hash, Entry.received_at)
                 .where(Entry.entry_id == bindparam("entry_id")))


def get_own_entry(session: Session, account_id: bytes, entry_id: bytes) -> Entry:
    """The caller's entry; another account's entry is indistinguishable from none."""
    entry = session.get(Entry, entry_id)
    if entry is None or entry.account_id != account_id:
        raise NotFound(_("no such entry"))
    return entry


def list_entries(session: Session, account_id: bytes) -> Sequence[Entry]:
    return session.scalars(
        select(Entry).where(Entry.account_id == account_id).order_by(Entry.received_at, Entry.entry_id)
    ).all()


def envelope_key_ids(session: Session, entry_ids: Sequence[bytes]) -> dict[bytes, list[bytes]]:
    """entry id -> the key ids of its envelopes, sorted; one query that reads no ciphertext."""
    found: dict[bytes, list[bytes]] = {}
    if not entry_ids:
        return found
    rows = session.execute(select(EntryEnvelope.entry_id, EntryEnvelope.key_id)
                           .where(EntryEnvelope.entry_id.in_(list(entry_ids)))
                           .order_by(EntryEnvelope.entry_id, EntryEnvelope.key_id))
    for entry_id, key_id in rows:
        found.setdefault(entry_id, []).append(key_id)
    return found


def create_entry(session: Session | Connection, new: NewEntry, now: datetime) -> StoredEntry:
    """Insert a new escrowed entry and queue its tags for the next release pass.

    The caller has checked that ``entry_id`` is unused; a concurrent insert of
    the same id surfaces as IntegrityError. Counting is not done here:
    the submitter's transaction, its answer and its receipt must not depend on
    whether anyone else named the same person (``count_queued``).

    Core statements on the transaction's connection, not the ORM's unit of work: every submission
    runs this, and the flush of an Entry with its tags and envelopes cost several times the
    INSERTs themselves. The rows are those the ORM would write (``_fill``).
    """
    connection = _connection(session)
    lock_tags(connection, new.tags)
    _refuse_named_twice(connection, new)
    connection.execute(_INSERT_ENTRY, {
        "entry_id": new.entry_id, "account_id": new.account_id, "quorum": new.quorum, "status": "escrowed",
        "body": new.body, "content_hash": new.content_hash(), "received_at": now, "updated_at": now})
    connection.execute(_INSERT_TAGS, [{"entry_id": new.entry_id, "tag": t, "account_id": new.account_id}
                                            for t in sorted(set(new.tags))])
    connection.execute(_INSERT_ENVELOPES, [{"entry_id": new.entry_id, "key_id": k, "ciphertext": c}
                                                 for k, c in sorted(new.envelopes)])
    _queue_recount(connection, new.tags, now)
    return StoredEntry(new.entry_id, new.account_id, "escrowed", new.content_hash(), now)


_INSERT_ENTRY, _INSERT_TAGS, _INSERT_ENVELOPES = insert(ENTRIES), insert(ENTRY_TAGS), insert(ENTRY_ENVELOPES)


def _connection(session: Session | Connection) -> Connection:
    """The connection of ``session``'s transaction, after writing out what the session holds (Core
    statements on the connection would not see objects merely added to the session)."""
    if isinstance(session, Connection):
        return session
    session.flush()
    return session.connection()


def replace_entry(session: Session, new: NewEntry, now: datetime) -> Entry:
    """PUT: replace an entry's content, released or not (the same either way), and count again later.

    A released entry goes back to escrowed until the next release pass counts its new tags: a
    counselor who read it keeps what they read, and sees the new content only if it is released again.
    """
    entry = _lock_own_entry(session, new.account_id, new.entry_id, new.tags)
    _require_changeable(entry)
    _refuse_named_twice(session, new)
    old_tags = {t.tag for t in entry.tags}
    entry.tags.clear()
    entry.envelopes.clear()
    session.flush()  # the old rows must go before new ones reuse their keys
    _fill(entry, new, now)
    entry.status, entry.released_at, entry.match_id = "escrowed", None, None
    session.flush()
    _drop_orphan_tags(session, old_tags - set(new.tags))
    _unqueue_unnamed(session, old_tags - set(new.tags))
    _queue_recount(session, new.tags, now)
    erase_after_commit(session)  # the old body, envelopes and dropped tags, from the -wal too
    return entry


def withdraw_entry(session: Session, account_id: bytes, entry_id: bytes, now: datetime) -> Entry:
    """DELETE: erase body, envelopes and tags; keep a tombstone. Idempotent; released or not, the same."""
    entry = _lock_own_entry(session, account_id, entry_id, ())
    if entry.status == "withdrawn":
        return entry
    old_tags = {t.tag for t in entry.tags}
    entry.tags.clear()
    entry.envelopes.clear()
    entry.body = None
    entry.content_hash = None
    entry.status = "withdrawn"
    entry.withdrawn_at = now
    entry.updated_at = now
    session.flush()
    _drop_orphan_tags(session, old_tags)
    _unqueue_unnamed(session, old_tags)
    erase_after_commit(session)  # from the -wal file too, while the server runs
    return entry


def _fill(entry: Entry, new: NewEntry, now: datetime) -> None:
    entry.quorum = new.quorum
    entry.body = new.body
    entry.content_hash = new.content_hash()
    entry.updated_at = now
    entry.tags = [EntryTag(tag=t, account_id=new.account_id) for t in sorted(set(new.tags))]
    entry.envelopes = [EntryEnvelope(key_id=k, ciphertext=c) for k, c in sorted(new.envelopes)]


def _require_changeable(entry: Entry) -> None:
    if entry.status == "withdrawn":
        raise Conflict(_("withdrawn entries can no longer be changed"))


def _refuse_named_twice(session: Session | Connection, new: NewEntry) -> None:
    """(d): one active entry per account and person. The caller holds the locks on ``new.tags``."""
    other = session.scalars(_NAMED_TWICE, {"tags": sorted(set(new.tags)), "account_id": new.account_id,
                                           "entry_id": new.entry_id}).first()
    if other is not None:
        raise PersonAlreadyNamed(other)


# Built once: the submission path runs them on every request, and building a statement costs more
# than running it (SQLAlchemy caches the compiled form, not the construction).
_NAMED_TWICE = (select(EntryTag.entry_id)
                .where(EntryTag.tag.in_(bindparam("tags", expanding=True)),
                       EntryTag.account_id == bindparam("account_id"), EntryTag.entry_id != bindparam("entry_id"))
                .order_by(EntryTag.entry_id).limit(1))
_LOCK_TAGS = (select(Tag.tag).where(Tag.tag.in_(bindparam("tags", expanding=True))).order_by(Tag.tag)
              .with_for_update())


def _queue_recount(session: Session | Connection, tags: Iterable[bytes], now: datetime) -> None:
    rows = [{"tag": t, "queued_at": now} for t in sorted(set(tags))]
    if not rows:
        return
    _insert_ignoring_duplicates(session, RECOUNT_QUEUE, rows, "tag")


def _lock_own_entry(session: Session, account_id: bytes, entry_id: bytes,
                    more_tags: Iterable[bytes]) -> Entry:
    """Lock the tags an edit touches (old and new), then the entry row.

    The entry's current tags are read before they are locked; if a
    concurrent edit changed them in between, lock again with the new set.
    """
    wanted = set(more_tags)
    for _attempt in range(5):
        get_own_entry(session, account_id, entry_id)
        current = set(session.scalars(select(EntryTag.tag).where(EntryTag.entry_id == entry_id)))
        lock_tags(session, current | wanted)
        entry = session.scalars(
            select(Entry).where(Entry.entry_id == entry_id).with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        session.expire(entry, ["tags", "envelopes"])
        if {t.tag for t in entry.tags} <= current | wanted:
            return entry
        wanted |= current
    raise Conflict(_("the entry is being changed concurrently; try again"))


# -- tags, counting, matches -----------------------------------------------------


def lock_tags(session: Session | Connection, tags: Iterable[bytes]) -> None:
    """Make sure a ``tags`` row exists for each tag and lock them, in order."""
    wanted = sorted(set(tags))
    if not wanted:
        return
    for _attempt in range(5):
        _insert_missing_tags(session, wanted)
        locked = session.scalars(_LOCK_TAGS, {"tags": wanted}).all()
        if len(locked) == len(wanted):
            return
        # A concurrent withdrawal dropped a row between insert and lock.
    raise Conflict(_("tags are being changed concurrently; try again"))


def _insert_missing_tags(session: Session | Connection, tags: list[bytes]) -> None:
    _insert_ignoring_duplicates(session, TAGS, [{"tag": t} for t in tags], "tag")


def _insert_ignoring_duplicates(session: Session | Connection, table: Table,
                                rows: list[dict[str, object]], key: str) -> None:
    dialect = (session.dialect if isinstance(session, Connection) else session.get_bind().dialect).name
    if dialect in ("postgresql", "sqlite"):
        statement = _UPSERTS.get((dialect, table.name, key))
        if statement is None:
            from sqlalchemy.dialects import postgresql, sqlite

            upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = _UPSERTS[dialect, table.name, key] = upsert(table).on_conflict_do_nothing(
                index_elements=[key])
        session.execute(statement, rows)
        return
    column = table.c[key]
    existing = set(session.scalars(select(column).where(column.in_([r[key] for r in rows]))))
    missing = [r for r in rows if r[key] not in existing]
    if missing:
        session.execute(insert(table), missing)


#: (dialect, table, key) -> INSERT … ON CONFLICT (key) DO NOTHING, built once each
_UPSERTS: dict[tuple[str, str, str], Any] = {}


def _drop_orphan_tags(session: Session, tags: Iterable[bytes]) -> int:
    """Forget tags no active entry names any more and no match refers to; returns how many.

    Withdrawal promises to erase an entry's tags; a bare row in ``tags`` would
    otherwise keep the value forever.
    """
    candidates = sorted(set(tags))
    if not candidates:
        return 0
    still_used = select(EntryTag.tag).where(EntryTag.tag == Tag.tag).exists()
    dropped = session.execute(
        delete(Tag)
        .where(Tag.tag.in_(candidates), Tag.match_id.is_(None), ~still_used)
        .execution_options(synchronize_session=False)
    )
    return int(dropped.rowcount)  # type: ignore[attr-defined]


def _unqueue_unnamed(session: Session, tags: Iterable[bytes]) -> None:
    """Take tags no active entry names any more out of the release pass's queue.

    Counting under such a tag finds no one, so the pass would do nothing with it, except keep the
    value on disk until it runs and write it once more (``lock_tags``) before dropping it again.
    """
    candidates = sorted(set(tags))
    if not candidates:
        return
    still_used = select(EntryTag.tag).where(EntryTag.tag == RecountQueue.tag).exists()
    session.execute(
        delete(RecountQueue)
        .where(RecountQueue.tag.in_(candidates), ~still_used)
        .execution_options(synchronize_session=False)
    )


def count_accounts(session: Session, tag: bytes) -> int:
    """Distinct accounts among active entries naming ``tag`` (PROTOCOL.md §8)."""
    return session.scalar(
        select(func.count(distinct(EntryTag.account_id))).where(EntryTag.tag == tag)
    ) or 0


def recount(session: Session, tags: Iterable[bytes], now: datetime) -> list[MatchChange]:
    """Release every entry whose quorum the count under one of ``tags`` reaches.

    The caller holds the locks on ``tags``. Release is monotone: entries only
    ever move from escrowed to released here.
    """
    wanted = sorted(set(tags))
    if not wanted:
        return []
    # Two statements for the whole set (the counts, then who reaches them), not two per tag: a pass counts
    # hundreds of tags at a time and most release nothing, so the per-statement cost was all of it.
    counts: dict[bytes, int] = {tag: n for tag, n in session.execute(
        select(EntryTag.tag, func.count(distinct(EntryTag.account_id)))
        .where(EntryTag.tag.in_(wanted)).group_by(EntryTag.tag))}
    reaching: dict[bytes, list[bytes]] = {}
    if counts:
        for tag, entry_id, quorum in session.execute(
                select(EntryTag.tag, Entry.entry_id, Entry.quorum)
                .join(Entry, Entry.entry_id == EntryTag.entry_id)
                .where(EntryTag.tag.in_(sorted(counts)), Entry.status != "withdrawn")):
            if quorum <= counts[tag]:
                reaching.setdefault(tag, []).append(entry_id)
    changes: list[MatchChange] = []
    for tag in wanted:
        if tag not in reaching:
            continue
        qualifying = session.scalars(
            select(Entry).where(Entry.entry_id.in_(reaching[tag])).order_by(Entry.entry_id)).all()
        tag_row = session.get(Tag, tag)
        assert tag_row is not None, "tag rows are locked before counting"
        found = None if tag_row.match_id is None else session.get(Match, tag_row.match_id)
        created = found is None
        if found is None:
            match = Match(match_id=random_id(ID_BYTES), tag=tag, created_at=now, updated_at=now)
            session.add(match)
            session.flush()
            tag_row.match_id = match.match_id
        else:
            match = found
        newly = [e for e in qualifying if e.status == "escrowed"]
        for entry in newly:  # updated_at is the reporter's own: a release must not show in it
            entry.status = "released"
            entry.released_at = now
            if entry.match_id is None:
                entry.match_id = match.match_id
        if created or newly:
            match.updated_at = now
            session.flush()
            # ``released_count``: every qualifying entry is released now, and only those count under this tag
            changes.append(MatchChange(match.match_id, len(qualifying), created))
    return changes


def queued_tags(session: Session) -> list[bytes]:
    """The tags waiting for the release pass, sorted."""
    return sorted(session.scalars(select(RecountQueue.tag)).all())


def count_queued(session: Session, now: datetime, tags: Sequence[bytes] | None = None) -> list[MatchChange]:
    """The release pass's counting: every tag queued since the last pass (or those of ``tags`` still
    queued), then they leave the queue.

    Takes the tag locks in sorted order like every writer. Tags that no active entry names any
    more (withdrawn or edited away before the pass) are dropped again, as withdrawal promises.
    """
    query = select(RecountQueue.tag)
    if tags is not None:
        query = query.where(RecountQueue.tag.in_(list(tags)))
    queued = sorted(session.scalars(query).all())
    if not queued:
        return []
    lock_tags(session, queued)
    changes = recount(session, queued, now)
    session.execute(delete(RecountQueue).where(RecountQueue.tag.in_(queued))
                    .execution_options(synchronize_session=False))
    if _drop_orphan_tags(session, queued):
        erase_after_commit(session)
    session.flush()
    return changes


def released_count(session: Session, tag: bytes) -> int:
    """Entries under ``tag`` that are released *by this tag's count*.

    An entry naming two identifiers may have been released under the other
    one; it is not counted here unless this tag's count also reaches its
    quorum, because only then can a counselor open it from this match.
    """
    count = count_accounts(session, tag)
    return session.scalar(
        select(func.count())
        .select_from(EntryTag)
        .join(Entry, Entry.entry_id == EntryTag.entry_id)
        .where(EntryTag.tag == tag, Entry.status == "released", Entry.quorum <= count)
    ) or 0


@dataclass(frozen=True)
class MatchRow:
    match_id: bytes
    created_at: datetime
    updated_at: datetime
    released: int


@dataclass(frozen=True)
class MatchEntryRow:
    """What a counselor may see of an entry (PROTOCOL.md §8): never its account (the abscissa in the
    envelope is the only per-account value, and only the key servers can map it to an account)."""

    entry_id: bytes
    quorum: int
    released: bool
    envelope: bytes | None
    body: bytes | None


def list_matches(session: Session) -> list[MatchRow]:
    matches = session.scalars(select(Match).order_by(Match.created_at, Match.match_id)).all()
    return [MatchRow(m.match_id, m.created_at, m.updated_at, released_count(session, m.tag)) for m in matches]


def open_match(session: Session, match_id: bytes, counselor_id: bytes, key_id: bytes,
               now: datetime, *, event: bytes | None = None) -> tuple[Match, list[MatchEntryRow]]:
    """Every active entry under the match's tag, with ``key_id``'s envelope.

    Bodies only of released entries: unreleased ones are there for their
    quorum shares. The opening is recorded in ``match_openings`` with the counselor's key id and the
    opening event (``event``, by default ``events.opening_event(match_id, key_id, now)``), and each
    entry whose body it handed out in ``match_opening_entries``: those entries' reporters are shown
    the reading (PROTOCOL.md §13.6); an entry that gave only its shares is not, so its reporter
    learns nothing of a match.
    """
    match = session.get(Match, match_id)
    if match is None:
        raise NotFound(_("no such match"))
    found = session.execute(
        select(Entry.entry_id, Entry.quorum, Entry.status, EntryEnvelope.ciphertext)
        .join(EntryTag, EntryTag.entry_id == Entry.entry_id)
        .outerjoin(EntryEnvelope, and_(EntryEnvelope.entry_id == Entry.entry_id, EntryEnvelope.key_id == key_id))
        .where(EntryTag.tag == match.tag, Entry.status != "withdrawn")
        .order_by(Entry.received_at, Entry.entry_id)
    ).all()
    count = count_accounts(session, match.tag)
    # Released *here*: released, and this tag's count reaches the entry's quorum (see released_count).
    rows = [(e, q, status == "released" and q <= count, env) for e, q, status, env in found]
    released_ids = [r[0] for r in rows if r[2]]
    bodies: dict[bytes, bytes] = {}
    if released_ids:
        bodies = {entry_id: body for entry_id, body in session.execute(
            select(Entry.entry_id, Entry.body).where(Entry.entry_id.in_(released_ids))) if body is not None}
    entries = [
        MatchEntryRow(entry_id, quorum, released, envelope, bodies.get(entry_id) if released else None)
        for entry_id, quorum, released, envelope in rows
    ]
    opening = MatchOpening(match_id=match_id, account_id=counselor_id, opened_at=now, key_id=key_id,
                           event=event if event is not None else events.opening_event(match_id, key_id, now))
    session.add(opening)
    session.flush()
    # read: its body was handed out with this counselor's envelope (without one, the service sends neither)
    session.add_all(MatchOpeningEntry(opening_id=opening.id, entry_id=e.entry_id)
                    for e in entries if e.body is not None and e.envelope is not None)
    session.flush()
    return match, entries


# -- the key servers' bulletin board ----------------------------------------------


@dataclass(frozen=True)
class BoardRow:
    seq: int
    message: bytes
    received_at: datetime


def post_board_message(session: Session, epoch: int, message: bytes, now: datetime) -> tuple[int, bool]:
    """Keep one key-generation message (the caller checked its signature); returns (seq, newly stored).

    The same bytes posted again are not stored twice. A concurrent post of the same bytes surfaces
    as IntegrityError on flush; the caller retries and finds it.

    Readers page on by seq (``board_messages(after=...)``), so a message must never become visible after
    one with a higher seq: on PostgreSQL a sequence hands out seq at insert, and two posts committing in
    the other order would hide the first from a reader that had already read past the second (a key
    server would then confirm another board than the others). Posts therefore take one lock, held to the
    commit, and commit in seq order; on SQLite the write transaction already holds the only write lock.
    """
    exclusive(session, "board")
    digest = sha256(message)
    existing = session.scalar(select(BoardMessage.seq).where(BoardMessage.epoch == epoch,
                                                             BoardMessage.digest == digest))
    if existing is not None:
        return existing, False
    row = BoardMessage(epoch=epoch, digest=digest, message=message, received_at=now)
    session.add(row)
    session.flush()
    return row.seq, True


def board_messages(session: Session, epoch: int, after: int, limit: int) -> list[BoardRow]:
    """The epoch's messages with seq > ``after``, in order, at most ``limit`` (the service's page size)."""
    if limit < 1:
        raise InvalidInput(_("a page holds at least one message"))
    rows = session.scalars(select(BoardMessage).where(BoardMessage.epoch == epoch, BoardMessage.seq > after)
                           .order_by(BoardMessage.seq).limit(limit))
    return [BoardRow(r.seq, r.message, r.received_at) for r in rows]


def row_counts(session: Session) -> dict[str, int]:
    """Rows per table; tests use it to check that refused requests wrote nothing."""
    from consilience.storage import models

    tables = [InviteRow, Account, Entry, EntryEnvelope, EntryTag, Tag, RecountQueue, Match, MatchOpening, LogLeaf,
              LogPending, LogTile, LogCheckpoint, LogCosignature, BoardMessage, models.MatchOpeningEntry, models.Case,
              models.CaseNote, models.Conversation, models.ConversationMember, models.Message, models.SealedWrap,
              models.Introduction, models.IntroductionInvite, models.IntroductionAcceptance]
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in tables}
