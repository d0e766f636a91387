"""Handover and revocation of a counselor's envelopes and wraps (PROTOCOL.md §13.6).

A counselor still holding a key re-seals, for a counselor the document lists, every envelope and
item key addressed to it that the other lacks (``services/escrow/handover.py``). This module finds
them, page by page in a stable order (entry id; item kind and id) so that a cursor never skips one,
and stores what comes back only where the target still has none. ``delete_addressed_to`` is the
other half: a revoked counselor's envelopes and wraps go in the revocation's transaction.

Like ``repository``, every function takes a ``Session`` inside a transaction the caller owns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from consilience.storage.database import erase_after_commit
from consilience.storage.models import (
    ID_BYTES,
    CaseNote,
    Entry,
    EntryEnvelope,
    IntroductionAcceptance,
    Message,
    SealedWrap,
)

#: Sealed item kinds (``protocol/conversations.py``): what each item id is, and what it was sealed under.
MESSAGE, CARD, NOTE = 1, 2, 3


@dataclass(frozen=True)
class PendingEnvelope:
    entry_id: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class PendingWrap:
    kind: int
    item_id: bytes
    #: the id the item was sealed under: its conversation, introduction or case
    scope: bytes
    wrap: bytes


def envelopes_to_hand_over(session: Session, mine: bytes, target: bytes, after: bytes | None,
                           limit: int) -> list[PendingEnvelope]:
    """Envelopes addressed to ``mine`` of active entries that have none for ``target``, by entry id."""
    theirs = aliased(EntryEnvelope)
    query = (select(EntryEnvelope.entry_id, EntryEnvelope.ciphertext)
             .join(Entry, Entry.entry_id == EntryEnvelope.entry_id)
             .where(EntryEnvelope.key_id == mine, Entry.status != "withdrawn",
                    ~exists().where(theirs.entry_id == EntryEnvelope.entry_id, theirs.key_id == target))
             .order_by(EntryEnvelope.entry_id).limit(limit))
    if after is not None:
        query = query.where(EntryEnvelope.entry_id > after)
    return [PendingEnvelope(e, c) for e, c in session.execute(query)]


def wraps_to_hand_over(session: Session, mine: bytes, target: bytes, after: tuple[int, bytes] | None,
                       limit: int) -> list[PendingWrap]:
    """Item keys wrapped to ``mine`` that ``target`` has no wrap of, by (kind, item id), with their scope.

    An item whose row is gone (a wrap left without its message, card or note) has no context to re-wrap
    under, and is left out.
    """
    theirs = aliased(SealedWrap)
    query = (select(SealedWrap.item_kind, SealedWrap.item_id, SealedWrap.wrap)
             .where(SealedWrap.key_id == mine,
                    ~exists().where(theirs.item_kind == SealedWrap.item_kind, theirs.item_id == SealedWrap.item_id,
                                    theirs.key_id == target))
             .order_by(SealedWrap.item_kind, SealedWrap.item_id).limit(limit))
    if after is not None:
        kind, item_id = after
        query = query.where(or_(SealedWrap.item_kind > kind,
                                and_(SealedWrap.item_kind == kind, SealedWrap.item_id > item_id)))
    rows = session.execute(query).all()
    scopes = _scopes(session, [(k, i) for k, i, _wrap in rows])
    return [PendingWrap(k, i, scopes[(k, i)], w) for k, i, w in rows if (k, i) in scopes]


def _scopes(session: Session, items: list[tuple[int, bytes]]) -> dict[tuple[int, bytes], bytes]:
    found: dict[tuple[int, bytes], bytes] = {}
    by_kind = {kind: [i for k, i in items if k == kind] for kind in (MESSAGE, CARD, NOTE)}
    if by_kind[MESSAGE]:
        found |= {(MESSAGE, m): c for m, c in session.execute(
            select(Message.message_id, Message.conversation_id).where(Message.message_id.in_(by_kind[MESSAGE])))}
    if by_kind[CARD]:  # a card's item id is the accepter's direct conversation; its scope the introduction
        found |= {(CARD, c): i for c, i in session.execute(
            select(IntroductionAcceptance.conversation_id, IntroductionAcceptance.introduction_id)
            .where(IntroductionAcceptance.conversation_id.in_(by_kind[CARD]))
            .order_by(IntroductionAcceptance.accepted_at.desc()))}
    if by_kind[NOTE]:  # sealed under the case id stored in front of its content (a merge moves notes)
        found |= {(NOTE, n): bytes(s) for n, s in session.execute(
            select(CaseNote.note_id, func.substr(CaseNote.content, 1, ID_BYTES))
            .where(CaseNote.note_id.in_(by_kind[NOTE])))}
    return found


def store_envelopes(session: Session, mine: bytes, target: bytes, sealed: Iterable[tuple[bytes, bytes]]) -> int:
    """Add ``target``'s envelope to each entry that is active, has ``mine``'s and none of ``target``'s.

    The entries are locked first (in id order, like the reporter's own edits lock them), so an edit or a
    withdrawal running at the same time either comes first, and this finds the target's new envelope or
    none to add to, or waits for it. Returns how many were stored.
    """
    wanted = dict(sealed)
    if not wanted:
        return 0
    ids = sorted(wanted)
    active = set(session.scalars(select(Entry.entry_id).where(Entry.entry_id.in_(ids), Entry.status != "withdrawn")
                                 .order_by(Entry.entry_id).with_for_update()))
    held = {(e, k) for e, k in session.execute(
        select(EntryEnvelope.entry_id, EntryEnvelope.key_id)
        .where(EntryEnvelope.entry_id.in_(ids), EntryEnvelope.key_id.in_([mine, target])))}
    new = [EntryEnvelope(entry_id=e, key_id=target, ciphertext=wanted[e]) for e in ids
           if e in active and (e, mine) in held and (e, target) not in held]
    session.add_all(new)
    session.flush()
    return len(new)


def store_wraps(session: Session, mine: bytes, target: bytes, wrapped: Iterable[tuple[int, bytes, bytes]]) -> int:
    """Add ``target``'s wrap of each item that has ``mine``'s and none of ``target``'s; how many were stored."""
    wanted = {(k, i): w for k, i, w in wrapped}
    if not wanted:
        return 0
    item_ids = sorted({i for _kind, i in wanted})
    held = {(k, i, key) for k, i, key in session.execute(
        select(SealedWrap.item_kind, SealedWrap.item_id, SealedWrap.key_id)
        .where(SealedWrap.item_id.in_(item_ids), SealedWrap.key_id.in_([mine, target])))}
    new = [SealedWrap(item_kind=k, item_id=i, key_id=target, wrap=w) for (k, i), w in sorted(wanted.items())
           if (k, i, mine) in held and (k, i, target) not in held]
    session.add_all(new)
    session.flush()
    return len(new)


@dataclass(frozen=True)
class Deleted:
    envelopes: int
    wraps: int


def delete_addressed_to(session: Session, key_id: bytes) -> Deleted:
    """Delete every entry envelope and sealed wrap addressed to ``key_id`` (a counselor being revoked),
    erased from the SQLite ``-wal`` too once the transaction commits."""
    envelopes = session.execute(delete(EntryEnvelope).where(EntryEnvelope.key_id == key_id)
                                .execution_options(synchronize_session=False))
    wraps = session.execute(delete(SealedWrap).where(SealedWrap.key_id == key_id)
                            .execution_options(synchronize_session=False))
    session.flush()
    done = Deleted(int(envelopes.rowcount or 0), int(wraps.rowcount or 0))  # type: ignore[attr-defined]
    if done.envelopes or done.wraps:
        erase_after_commit(session)
    return done
