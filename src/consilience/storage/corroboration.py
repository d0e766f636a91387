"""Corroboration requests and consents in the escrow database (PROTOCOL.md §14.4).

Functions take an open ``Session`` inside a transaction the caller owns, like ``repository``.
What this module decides is who is asked and who sees what:

* a counselor asks on a match; the entries asked for are those with a direct conversation in that
  match (their reporters already know of the match, §13.3) whose newest leaf is an entry event
  logged before the match's first release leaf and that still name the match's tag: exactly the
  entries a statement can show. Nothing is made for an entry without a conversation, so a reporter
  of an unreleased entry under the same tag is never asked and sees nothing (property (e));
* a reporter sees only the requests for its own entries, and any other statement id is answered
  exactly as one that does not exist;
* a consent names one leaf; if the entry was changed or withdrawn since, that leaf is no longer the
  entry's, and the consent is not taken (or, once taken, not handed out).

The signature itself is checked by the service, which holds the deployment document (the
administrator's key for the certificate); this module finds the certificate and stores the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consilience.i18n import N_, _, _n
from consilience.protocol import events
from consilience.storage import log
from consilience.storage.models import (
    Conversation,
    CorroborationConsent,
    CorroborationRow,
    Entry,
    EntryTag,
    InviteRow,
    LogLeaf,
    Match,
)
from consilience.storage.repository import AccountInfo, Conflict, NotFound

#: One wording for every statement a reporter may not see, so that "not yours" reads as "none".
NO_REQUEST = N_("no such request")
NOT_LOGGED = N_("the match's release is not in the log yet (the release pass logs it within a few minutes); "
                "ask again then")
CHANGED = N_("your record was changed or withdrawn after the counselor asked, so the log entry this consent names "
             "is no longer your record's; nothing was stored. The counselor can ask again")


def too_few(found: int) -> Conflict:
    """Fewer than two entries a statement could show: nothing is asked."""
    return Conflict(_n(
        "a statement needs at least two reporters of this match you are in a conversation with, whose records "
        "were in the log before the match's release and still name this person; there is {n} now. "
        "Write to the reporters first (counselor message), then ask again",
        "a statement needs at least two reporters of this match you are in a conversation with, whose records "
        "were in the log before the match's release and still name this person; there are {n} now. "
        "Write to the reporters first (counselor message), then ask again", found))


@dataclass(frozen=True)
class Summary:
    statement_id: bytes
    match_id: bytes
    asked_at: datetime
    asked: int
    consented: int


@dataclass(frozen=True)
class Asked:
    summary: Summary
    created: bool
    #: the reporter accounts asked: whom to tell that something is waiting
    reporters: tuple[bytes, ...]


@dataclass(frozen=True)
class Request:
    """What a reporter is shown of one request for its own entry."""

    statement_id: bytes
    match_id: bytes
    entry_id: bytes
    leaf_index: int
    content_hash: bytes
    asked_at: datetime
    consented_at: datetime | None


@dataclass(frozen=True)
class Pending:
    """A request the caller may consent to, with what the service checks the signature against."""

    request: Request
    certificate: bytes
    consent: bytes | None


@dataclass(frozen=True)
class ConsentedEntryRow:
    entry_id: bytes
    quorum: int
    tags: tuple[bytes, ...]
    body: bytes
    envelopes: tuple[tuple[bytes, bytes], ...]
    leaf_index: int
    opening: bytes
    certificate: bytes
    consent: bytes


@dataclass(frozen=True)
class Detail:
    summary: Summary
    tag: bytes
    release_index: int
    release_opening: bytes
    entries: tuple[ConsentedEntryRow, ...]
    changed: int


def first_release_leaf(session: Session, match_id: bytes) -> log.Leaf | None:
    """The match's first release leaf (``0x03 ‖ match_id ‖ …``), found from the stored openings.

    Leaves keep only their kind beside the opening, so the release leaves are read and their event's
    match id compared here; there is one per match change, few beside the entries.
    """
    rows = session.execute(select(LogLeaf.idx, LogLeaf.opening).where(LogLeaf.kind == events.RELEASE)
                           .order_by(LogLeaf.idx))
    for index, opening in rows:
        opened = events.parse_opening(opening)
        if events.parse_event(opened.event).match_id == match_id:
            return log.Leaf(index, events.RELEASE, opened.leaf, opening)
    return None


def _entry_leaf(session: Session, entry_id: bytes) -> tuple[log.Leaf, events.Event] | None:
    leaf = log.latest_entry_leaf(session, entry_id)
    if leaf is None or leaf.kind != events.ENTRY:
        return None
    return leaf, events.parse_event(events.parse_opening(leaf.opening).event)


def ask(session: Session, counselor: AccountInfo, statement_id: bytes, match_id: bytes, now: datetime) -> Asked:
    """Ask the reporters of the match's entries that a statement can show; the same id again changes nothing."""
    existing = session.get(CorroborationRow, statement_id)
    if existing is not None:
        if existing.match_id != match_id:
            raise Conflict(_("this statement id is already used for another match; make a new one"))
        return Asked(_summary(session, existing), False, ())
    match = session.get(Match, match_id)
    if match is None:
        raise NotFound(_("no such match"))
    release = first_release_leaf(session, match_id)
    if release is None:
        raise Conflict(_(NOT_LOGGED))
    candidates = session.execute(
        select(Entry.entry_id, Entry.account_id)
        .join(Conversation, Conversation.entry_id == Entry.entry_id)
        .join(EntryTag, EntryTag.entry_id == Entry.entry_id)
        .where(Conversation.kind == "direct", Conversation.match_id == match_id, EntryTag.tag == match.tag,
               Entry.status != "withdrawn")
        .order_by(Entry.entry_id)).all()
    asked: list[CorroborationConsent] = []
    for entry_id, account_id in candidates:
        found = _entry_leaf(session, entry_id)
        if found is None or found[0].index >= release.index:
            continue  # changed after the release: its leaf would not show what a statement shows
        leaf, event = found
        assert event.content_hash is not None
        asked.append(CorroborationConsent(statement_id=statement_id, entry_id=entry_id, account_id=account_id,
                                          leaf_index=leaf.index, content_hash=event.content_hash))
    if len({a.account_id for a in asked}) < 2:
        raise too_few(len(asked))
    row = CorroborationRow(statement_id=statement_id, match_id=match_id, asked_by=counselor.account_id,
                           release_index=release.index, asked_at=now)
    session.add(row)
    session.flush()
    session.add_all(asked)
    session.flush()
    return Asked(_summary(session, row), True, tuple(a.account_id for a in asked))


def _summary(session: Session, row: CorroborationRow) -> Summary:
    asked = session.scalar(select(func.count()).select_from(CorroborationConsent)
                           .where(CorroborationConsent.statement_id == row.statement_id)) or 0
    consented = session.scalar(select(func.count()).select_from(CorroborationConsent)
                               .where(CorroborationConsent.statement_id == row.statement_id,
                                      CorroborationConsent.consent.is_not(None))) or 0
    return Summary(row.statement_id, row.match_id, row.asked_at, asked, consented)


def for_match(session: Session, match_id: bytes) -> list[Summary]:
    """A match's requests, oldest first (a counselor's view)."""
    if session.get(Match, match_id) is None:
        raise NotFound(_("no such match"))
    rows = session.scalars(select(CorroborationRow).where(CorroborationRow.match_id == match_id)
                           .order_by(CorroborationRow.asked_at, CorroborationRow.statement_id))
    return [_summary(session, r) for r in rows]


def requests_for(session: Session, account_id: bytes) -> list[Request]:
    """The requests for the caller's own entries, oldest first; nothing of anyone else's."""
    rows = session.execute(
        select(CorroborationConsent, CorroborationRow.match_id, CorroborationRow.asked_at)
        .join(CorroborationRow, CorroborationRow.statement_id == CorroborationConsent.statement_id)
        .where(CorroborationConsent.account_id == account_id)
        .order_by(CorroborationRow.asked_at, CorroborationConsent.statement_id)).all()
    return [_request(c, match_id, asked_at) for c, match_id, asked_at in rows]


def _request(c: CorroborationConsent, match_id: bytes, asked_at: datetime) -> Request:
    return Request(c.statement_id, match_id, c.entry_id, c.leaf_index, c.content_hash, asked_at, c.consented_at)


def pending(session: Session, account_id: bytes, statement_id: bytes, entry_id: bytes) -> Pending:
    """The caller's own request for ``entry_id``, if its entry's newest leaf is still the one named."""
    item = session.get(CorroborationConsent, (statement_id, entry_id))
    if item is None or item.account_id != account_id:
        raise NotFound(_(NO_REQUEST))
    row = session.get(CorroborationRow, statement_id)
    entry = session.get(Entry, entry_id)
    assert row is not None and entry is not None, "consent rows reference both"
    certificate = session.scalar(select(InviteRow.certificate).where(InviteRow.account_id == account_id))
    if certificate is None:
        raise NotFound(_(NO_REQUEST))
    if item.consent is None:
        found = _entry_leaf(session, entry_id) if entry.status != "withdrawn" else None
        if found is None or found[0].index != item.leaf_index:
            raise Conflict(_(CHANGED))
    return Pending(_request(item, row.match_id, row.asked_at), certificate, item.consent)


def record_consent(session: Session, statement_id: bytes, entry_id: bytes, consent: bytes, now: datetime) -> bool:
    """Store a checked consent; False if one was already stored (the first is kept)."""
    item = session.get(CorroborationConsent, (statement_id, entry_id))
    assert item is not None, "pending() found it in this transaction"
    if item.consent is not None:
        return False
    item.consent, item.consented_at = consent, now
    session.flush()
    return True


def detail(session: Session, match_id: bytes, statement_id: bytes) -> Detail:
    """What the counselor assembles a statement from: the consented entries whose leaf is still theirs."""
    row = session.get(CorroborationRow, statement_id)
    match = session.get(Match, match_id)
    if row is None or match is None or row.match_id != match_id:
        raise NotFound(_("no such statement request on this match"))
    release = session.get(LogLeaf, row.release_index)
    assert release is not None, "the release leaf was found when it was asked"
    consented = session.scalars(select(CorroborationConsent)
                                .where(CorroborationConsent.statement_id == statement_id,
                                       CorroborationConsent.consent.is_not(None))
                                .order_by(CorroborationConsent.entry_id)).all()
    entries: list[ConsentedEntryRow] = []
    changed = 0
    for item in consented:
        entry = session.get(Entry, item.entry_id)
        found = _entry_leaf(session, item.entry_id)
        certificate = session.scalar(select(InviteRow.certificate).where(InviteRow.account_id == item.account_id))
        if (entry is None or entry.status == "withdrawn" or entry.body is None or found is None
                or found[0].index != item.leaf_index or certificate is None or item.consent is None):
            changed += 1
            continue
        entries.append(ConsentedEntryRow(
            item.entry_id, entry.quorum, tuple(t.tag for t in entry.tags), entry.body,
            tuple((e.key_id, e.ciphertext) for e in entry.envelopes), item.leaf_index, found[0].opening,
            certificate, item.consent))
    return Detail(_summary(session, row), match.tag, row.release_index, release.opening, tuple(entries), changed)
