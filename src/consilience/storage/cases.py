"""Cases: what counselors do about one person after a match (PROTOCOL.md §13.5).

Every match belongs to one case. A case is made for a match the first time anything asks for the
match's case (listing, reaching out): the release pass that creates matches stays what it was, and
matches made before cases existed get one the same way. A counselor who sees that two matches name
one person (by email in some entries, by handle in others) links them: the server keeps only that
link, never why.

Notes are sealed items (``protocol/conversations.py``, kind 3) to every counselor key; the server
keeps the ciphertext and one wrap per key. A note is sealed under the case id it was written in (its
*scope*), and a merge moves notes to another case, so each stored note keeps its scope in front of
its ciphertext (``case_notes.content`` = scope ‖ sealed content): a note moved by a merge still
opens, and nothing else is learned from it.

Functions take an open session inside the caller's transaction, like ``storage/repository.py``.
Writers lock what they change with ``SELECT … FOR UPDATE`` (PostgreSQL; SQLite writes one at a
time), match rows before case rows and cases in id order, so that two counselors listing at once
make one case per match, and a link racing a message or another link cannot lose either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.protocol.encoding import random_id
from consilience.storage.models import (
    CASE_STATES,
    ID_BYTES,
    Account,
    Case,
    CaseNote,
    Conversation,
    Match,
    Message,
    SealedWrap,
)
from consilience.storage.repository import Conflict, NotFound, released_count

#: ``sealed_wraps.item_kind`` of a note (``protocol/conversations.py``)
NOTE_KIND: Final = 3
#: PROTOCOL.md §13.2: at most this many wraps per sealed item
MAX_WRAPS: Final = 64

#: "what needs attention first" (PROTOCOL.md §13.5): lower is more urgent
ATTENTION_OVERDUE: Final = 0
ATTENTION_UNOWNED: Final = 1
ATTENTION_NEW: Final = 2
ATTENTION_WAITING_REPLY: Final = 3
ATTENTION_REACHING_OUT: Final = 4
ATTENTION_IN_CONTACT: Final = 5
ATTENTION_CLOSED: Final = 6


class Unchanged:
    """The default of an update's fields: leave it as it is (``None`` means "no owner")."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = Unchanged()


@dataclass(frozen=True)
class CaseMatch:
    match_id: bytes
    released: int
    created_at: datetime


@dataclass(frozen=True)
class CaseRow:
    """A case as a counselor sees it, detached from the ORM."""

    case_id: bytes
    matches: list[CaseMatch]
    owner_key_id: bytes | None
    owner: str | None
    state: str
    created_at: datetime
    updated_at: datetime
    reached_out_at: datetime | None
    overdue: bool
    waiting_reply: bool
    attention: int


@dataclass(frozen=True)
class NoteRow:
    note_id: bytes
    #: the case id the note was sealed under (its scope); the case's own unless a merge moved it
    scope: bytes
    author_key_id: bytes | None
    content: bytes
    #: the caller's wrap, if the note was sealed to the caller's key
    wrap: bytes | None
    created_at: datetime


# -- making cases ---------------------------------------------------------------


def _new_case(session: Session, match: Match, now: datetime) -> Case:
    # Created with the match's time: how long a person has waited counts from the match, not from
    # whenever a counselor first looked at the list.
    case = Case(case_id=random_id(ID_BYTES), owner_account_id=None, state="new",
                created_at=match.created_at, updated_at=now, reached_out_at=None)
    session.add(case)
    session.flush()
    match.case_id = case.case_id
    session.flush()
    return case


def ensure_cases(session: Session, now: datetime) -> int:
    """Give every match without a case its own (state "new"); returns how many were made."""
    orphans = session.scalars(select(Match).where(Match.case_id.is_(None))
                              .order_by(Match.match_id).with_for_update()).all()
    for match in orphans:
        _new_case(session, match, now)
    return len(orphans)


def case_of_match(session: Session, match_id: bytes, now: datetime) -> Case:
    """The case of a match (locked), made now if it had none; NotFound for no such match."""
    match = _locked_match(session, match_id)
    if match.case_id is not None:
        return _case(session, match.case_id, lock=True)
    return _new_case(session, match, now)


def reached_out(session: Session, match_id: bytes, now: datetime) -> None:
    """A counselor wrote to a reporter of this match: the case is no longer waiting for anyone.

    Called by the conversations endpoint in the message's transaction. Sets ``reached_out_at`` the
    first time; a case still "new" moves to "reaching_out" (a later state is left alone).
    """
    case = case_of_match(session, match_id, now)
    changed = False
    if case.reached_out_at is None:
        case.reached_out_at = now
        changed = True
    if case.state == "new":
        case.state = "reaching_out"
        changed = True
    if changed:
        case.updated_at = now
        session.flush()


# -- listing ----------------------------------------------------------------------


def _waiting_reply(session: Session, match_ids: Sequence[bytes]) -> bool:
    """A reporter wrote in a direct conversation of these matches after the newest counselor message there."""
    if not match_ids:
        return False
    newest = (
        select(Message.conversation_id, Message.sender_role, func.max(Message.seq).label("newest"))
        .join(Conversation, Conversation.conversation_id == Message.conversation_id)
        .where(Conversation.kind == "direct", Conversation.match_id.in_(list(match_ids)))
        .group_by(Message.conversation_id, Message.sender_role)
    )
    by_conversation: dict[bytes, dict[str, int]] = {}
    for conversation_id, role, seq in session.execute(newest):
        by_conversation.setdefault(conversation_id, {})[role] = seq
    return any(seqs.get("reporter", 0) > seqs.get("counselor", 0) for seqs in by_conversation.values())


def attention(*, state: str, overdue: bool, owned: bool, waiting_reply: bool) -> int:
    """PROTOCOL.md §13.5: overdue; unowned; new; a reporter waiting for an answer; reaching out; in contact;
    closed last (whatever else holds of a closed case)."""
    if state == "closed":
        return ATTENTION_CLOSED
    if overdue:
        return ATTENTION_OVERDUE
    if not owned:
        return ATTENTION_UNOWNED
    if state == "new":
        return ATTENTION_NEW
    if waiting_reply:
        return ATTENTION_WAITING_REPLY
    if state == "reaching_out":
        return ATTENTION_REACHING_OUT
    return ATTENTION_IN_CONTACT


def is_overdue(case: Case, now: datetime, reach_out_days: float) -> bool:
    """Nobody has reached out (no counselor message, state still "new") for longer than ``reach_out_days``."""
    return (case.state == "new" and case.reached_out_at is None
            and now - case.created_at > timedelta(days=reach_out_days))


def _row(session: Session, case: Case, now: datetime, reach_out_days: float) -> CaseRow:
    matches = session.scalars(select(Match).where(Match.case_id == case.case_id)
                              .order_by(Match.created_at, Match.match_id)).all()
    owner = None if case.owner_account_id is None else session.get(Account, case.owner_account_id)
    overdue = is_overdue(case, now, reach_out_days)
    waiting = _waiting_reply(session, [m.match_id for m in matches])
    return CaseRow(
        case_id=case.case_id,
        matches=[CaseMatch(m.match_id, released_count(session, m.tag), m.created_at) for m in matches],
        owner_key_id=owner.counselor_key_id if owner is not None else None,
        owner=owner.name if owner is not None else None,
        state=case.state,
        created_at=case.created_at,
        updated_at=case.updated_at,
        reached_out_at=case.reached_out_at,
        overdue=overdue,
        waiting_reply=waiting,
        attention=attention(state=case.state, overdue=overdue, owned=owner is not None, waiting_reply=waiting),
    )


def list_cases(session: Session, now: datetime, reach_out_days: float) -> list[CaseRow]:
    """Every case with a match, most urgent first; within a rank, oldest first. Makes missing cases."""
    ensure_cases(session, now)
    cases = session.scalars(select(Case).where(Case.case_id.in_(select(Match.case_id)))).all()
    rows = [_row(session, c, now, reach_out_days) for c in cases]
    rows.sort(key=lambda r: (r.attention, r.created_at, r.case_id))
    return rows


def _case(session: Session, case_id: bytes, *, lock: bool = False) -> Case:
    case = session.get(Case, case_id, with_for_update=lock or None, populate_existing=lock)
    if case is None:
        raise NotFound(_("no such case"))
    return case


def _locked_match(session: Session, match_id: bytes) -> Match:
    match = session.get(Match, match_id, with_for_update=True, populate_existing=True)
    if match is None:
        raise NotFound(_("no such match"))
    return match


def get_case(session: Session, case_id: bytes, now: datetime, reach_out_days: float) -> CaseRow:
    return _row(session, _case(session, case_id), now, reach_out_days)


# -- changing ---------------------------------------------------------------------


def counselor_account_by_key(session: Session, key_id: bytes) -> Account:
    """The live counselor account of a key id (the newest, if several were made for one key)."""
    account = session.scalars(
        select(Account)
        .where(Account.role == "counselor", Account.counselor_key_id == key_id, Account.revoked_at.is_(None))
        .order_by(Account.created_at.desc(), Account.account_id)
        .limit(1)
    ).first()
    if account is None:
        raise InvalidInput(_("no counselor account of this deployment has that key id; "
                             "`consilience admin counselors` lists them"))
    return account


def update_case(session: Session, case_id: bytes, now: datetime, reach_out_days: float, *,
                owner_key_id: bytes | None | Unchanged = UNCHANGED,
                state: str | Unchanged = UNCHANGED) -> CaseRow:
    """Set the owner (a counselor's key id, or None for no one) and/or the state.

    Everything is checked before anything changes. Moving off "new" counts as reaching out (the
    counselor may have phoned, or written outside the system): ``reached_out_at`` is set if it was not.
    """
    case = _case(session, case_id, lock=True)
    owner: Account | None | Unchanged = UNCHANGED
    if not isinstance(owner_key_id, Unchanged):
        if owner_key_id is not None and len(owner_key_id) != ID_BYTES:
            raise InvalidInput(_("a counselor key id is 16 bytes"))
        owner = None if owner_key_id is None else counselor_account_by_key(session, owner_key_id)
    if not isinstance(state, Unchanged) and state not in CASE_STATES:
        raise InvalidInput(_("a case's state is one of {items}, not {state}",
                             items=', '.join(CASE_STATES), state=repr(state)))
    changed = False
    if not isinstance(owner, Unchanged):
        account_id = None if owner is None else owner.account_id
        if case.owner_account_id != account_id:
            case.owner_account_id = account_id
            changed = True
    if not isinstance(state, Unchanged) and case.state != state:
        case.state = state
        changed = True
        if state != "new" and case.reached_out_at is None:
            case.reached_out_at = now
    if changed:
        case.updated_at = now
        session.flush()
    return _row(session, case, now, reach_out_days)


def link(session: Session, case_id: bytes, match_id: bytes, now: datetime, reach_out_days: float) -> CaseRow:
    """Put a match into a case: the match's own case is merged in (its matches and notes move, and the
    emptied case is deleted). A match already in the case changes nothing.

    The merged case keeps this case's owner and state (the counselor linking is working this one);
    it counts as waiting since the earlier of the two, and as reached out if either was.
    """
    match = _locked_match(session, match_id)
    _case(session, case_id)  # 404 before anything is locked further
    if match.case_id == case_id:
        return _row(session, _case(session, case_id), now, reach_out_days)
    if match.case_id is not None:  # every match that moves, then both cases in id order
        session.scalars(select(Match.match_id).where(Match.case_id == match.case_id)
                        .order_by(Match.match_id).with_for_update()).all()
    for locked in sorted({case_id, *([match.case_id] if match.case_id is not None else [])}):
        _case(session, locked, lock=True)
    case = _case(session, case_id)
    old = None if match.case_id is None else session.get(Case, match.case_id)
    if old is None:
        match.case_id = case.case_id
        case.created_at = min(case.created_at, match.created_at)
    else:
        session.execute(update(Match).where(Match.case_id == old.case_id).values(case_id=case.case_id)
                        .execution_options(synchronize_session=False))
        session.execute(update(CaseNote).where(CaseNote.case_id == old.case_id).values(case_id=case.case_id)
                        .execution_options(synchronize_session=False))
        case.created_at = min(case.created_at, old.created_at)
        if old.reached_out_at is not None:
            case.reached_out_at = (old.reached_out_at if case.reached_out_at is None
                                   else min(case.reached_out_at, old.reached_out_at))
        session.flush()
        session.execute(delete(Case).where(Case.case_id == old.case_id)
                        .execution_options(synchronize_session=False))
        session.expire_all()
        case = _case(session, case_id)
    case.updated_at = now
    session.flush()
    return _row(session, case, now, reach_out_days)


# -- notes ------------------------------------------------------------------------


def add_note(session: Session, case_id: bytes, note_id: bytes, author_account_id: bytes, content: bytes,
             wraps: Sequence[tuple[bytes, bytes]], now: datetime) -> bool:
    """Store a sealed note (sealed under ``case_id``) and its wraps; True if stored, False if the same note
    was there already. The same note id with anything else is a Conflict. The service checks the wraps'
    key ids against the deployment's counselors and their sizes before calling in.

    The case is locked first: a note racing a link that merges this case away is refused (no such
    case) rather than left pointing at a deleted case.
    """
    _case(session, case_id, lock=True)
    if len(note_id) != ID_BYTES:
        raise InvalidInput(_("a note id is 16 bytes"))
    if not 1 <= len(wraps) <= MAX_WRAPS or len({k for k, _wrap in wraps}) != len(wraps):
        raise InvalidInput(_("a note has 1 to {MAX_WRAPS} wraps, each for a different key", MAX_WRAPS=MAX_WRAPS))
    stored = case_id + content
    existing = session.get(CaseNote, note_id)
    if existing is not None:
        old_wraps = {k: w for k, w in session.execute(
            select(SealedWrap.key_id, SealedWrap.wrap)
            .where(SealedWrap.item_kind == NOTE_KIND, SealedWrap.item_id == note_id))}
        if existing.content == stored and existing.author_account_id == author_account_id \
                and old_wraps == dict(wraps):
            return False
        raise Conflict(_("a different note was already stored under this note id; make a new note id"))
    session.add(CaseNote(note_id=note_id, case_id=case_id, author_account_id=author_account_id, content=stored,
                         created_at=now))
    session.flush()
    for key_id, wrap in wraps:
        session.add(SealedWrap(item_kind=NOTE_KIND, item_id=note_id, key_id=key_id, wrap=wrap))
    session.flush()
    return True


def note_scope(note: CaseNote) -> tuple[bytes, bytes]:
    """A stored note's (scope, sealed content): the case id it was sealed under, and its ciphertext."""
    return note.content[:ID_BYTES], note.content[ID_BYTES:]


def list_notes(session: Session, case_id: bytes, key_id: bytes | None) -> list[NoteRow]:
    """A case's notes, oldest first, each with the wrap for ``key_id`` (None if it has none)."""
    _case(session, case_id)
    notes = session.scalars(select(CaseNote).where(CaseNote.case_id == case_id)
                            .order_by(CaseNote.created_at, CaseNote.note_id)).all()
    wraps: dict[bytes, bytes] = {}
    if notes and key_id is not None:
        wraps = {item_id: wrap for item_id, wrap in session.execute(
            select(SealedWrap.item_id, SealedWrap.wrap).where(
                SealedWrap.item_kind == NOTE_KIND, SealedWrap.key_id == key_id,
                SealedWrap.item_id.in_([n.note_id for n in notes])))}
    authors = {a.account_id: a.counselor_key_id for a in session.scalars(
        select(Account).where(Account.account_id.in_({n.author_account_id for n in notes})))} if notes else {}
    rows = []
    for note in notes:
        scope, content = note_scope(note)
        rows.append(NoteRow(note.note_id, scope, authors.get(note.author_account_id), content,
                            wraps.get(note.note_id), note.created_at))
    return rows
