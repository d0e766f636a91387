"""Conversations, sealed messages and introductions (PROTOCOL.md §13.3, §13.4).

Functions take an open ``Session`` inside a transaction the caller owns, like ``repository``.
The server keeps ciphertexts, their per-recipient wraps and the order they came in; it reads none
of them. What it does decide is who may see what, and that is the point of this module:

* a reporter sees and writes only conversations it is a member of; any other conversation,
  introduction or message is answered exactly as one that does not exist (``NotFound``, one
  wording), so a reporter cannot learn that a match, a conversation or another reporter exists;
* a direct conversation is made only for an entry released in its match *now* (released, and its
  quorum within the count under the match's tag, as ``repository.released_count``) that holds an
  envelope for the counselor's key: a reporter of an unreleased entry under the same tag cannot be
  messaged, because nothing here can be made for it;
* a reporter joins a group conversation only by accepting an introduction from its own invited
  direct conversation. A decline is sent nowhere, so nothing here can tell it from silence.

Message numbers (``seq`` in the API) count within one conversation, 1, 2, 3…: the table's own
sequence is shared by every conversation, and showing it would tell a reporter how many messages
other people exchanged in between. Adding a message locks its conversation's row first, so the
numbers of a conversation never shift under a reader who pages with ``after``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, func, select
from sqlalchemy.orm import Session

from consilience.errors import InvalidInput
from consilience.i18n import N_, _
from consilience.storage.models import (
    Account,
    Conversation,
    ConversationMember,
    Entry,
    EntryEnvelope,
    EntryTag,
    Introduction,
    IntroductionAcceptance,
    IntroductionInvite,
    Match,
    Message,
    SealedWrap,
)
from consilience.storage.repository import AccountInfo, Conflict, NotFound, count_accounts

#: ``sealed_wraps.item_kind`` (PROTOCOL.md §13.2)
ITEM_MESSAGE = 1
ITEM_CARD = 2

#: One wording for every conversation a caller may not see, so that "not yours" reads as "none".
NO_CONVERSATION = N_("no such conversation")
NO_INTRODUCTION = N_("no such introduction")
NO_RELEASED_ENTRY = N_("no such released entry in this match with an envelope for your key; open the match again "
                       "to see which entries are released")


class ConversationExists(Conflict):
    """The entry already has a direct conversation under another id (its id is in the answer)."""

    def __init__(self, conversation_id: bytes) -> None:
        super().__init__(_("this entry already has a conversation; use that one"))
        self.conversation_id = conversation_id


@dataclass(frozen=True)
class ConversationRow:
    conversation_id: bytes
    kind: str
    match_id: bytes
    entry_id: bytes | None
    introduction_id: bytes | None
    created_at: datetime
    updated_at: datetime
    messages: int


@dataclass(frozen=True)
class MessageRow:
    #: the message's number within its conversation, from 1
    seq: int
    message_id: bytes
    sender_role: str
    content: bytes
    wrap: bytes | None
    received_at: datetime


@dataclass(frozen=True)
class Posted:
    seq: int
    received_at: datetime
    created: bool
    #: the conversation's match and kind, for the caller's bookkeeping after commit (never shown to reporters)
    match_id: bytes
    kind: str
    #: the reporter accounts who may read it (the conversation's members)
    members: tuple[bytes, ...]


@dataclass(frozen=True)
class AcceptedCard:
    conversation_id: bytes
    content: bytes
    wrap: bytes | None
    accepted_at: datetime


@dataclass(frozen=True)
class IntroductionRow:
    introduction_id: bytes
    match_id: bytes
    group_conversation_id: bytes
    invited: tuple[bytes, ...]
    accepted: tuple[AcceptedCard, ...]


@dataclass(frozen=True)
class ReporterIntroduction:
    introduction_id: bytes
    group_conversation_id: bytes
    accepted: bool


# -- messaging keys ----------------------------------------------------------------


def set_message_key(session: Session, account_id: bytes, message_key: bytes) -> bool:
    """Register a reporter's messaging key, once; True if stored now, False if it was already this one.

    Another key over a registered one is refused: wraps already made for the old key would no longer
    be handed to its holder, and a stolen token must not be able to redirect what comes next.
    """
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(_("no such account"))
    if account.message_key is not None:
        if account.message_key == message_key:
            return False
        raise Conflict(_("this account already has another messaging key; a messaging key is registered once"))
    account.message_key = message_key
    session.flush()
    return True


def message_key(session: Session, account_id: bytes) -> bytes | None:
    return session.scalar(select(Account.message_key).where(Account.account_id == account_id))


def counselor_account_ids(session: Session) -> list[bytes]:
    """Every counselor account that is not revoked: whom a reporter's message concerns."""
    return list(session.scalars(select(Account.account_id)
                                .where(Account.role == "counselor", Account.revoked_at.is_(None))
                                .order_by(Account.account_id)))


# -- conversations -----------------------------------------------------------------


def create_direct(session: Session, conversation_id: bytes, match_id: bytes, entry_id: bytes,
                  counselor: AccountInfo, now: datetime) -> tuple[ConversationRow, bool]:
    """A counselor opens the conversation with the reporter of one entry; returns (row, created now).

    The same id for the same entry again returns the existing one. The entry must be released in this
    match now and carry an envelope for the counselor's key: what the counselor could have read.
    """
    existing = session.get(Conversation, conversation_id)
    if existing is not None:
        if existing.kind == "direct" and existing.match_id == match_id and existing.entry_id == entry_id:
            return _row(session, existing), False
        raise Conflict(_("this conversation id is already used; make a new one"))
    key_id = counselor.counselor_key_id
    match = session.get(Match, match_id)
    if match is None or key_id is None:
        raise NotFound(_(NO_RELEASED_ENTRY))
    entry = session.scalars(
        select(Entry)
        .join(EntryTag, EntryTag.entry_id == Entry.entry_id)
        .join(EntryEnvelope, EntryEnvelope.entry_id == Entry.entry_id)
        .where(Entry.entry_id == entry_id, EntryTag.tag == match.tag, Entry.status == "released",
               EntryEnvelope.key_id == key_id)
    ).first()
    if entry is None or entry.quorum > count_accounts(session, match.tag):
        raise NotFound(_(NO_RELEASED_ENTRY))
    other = session.scalar(select(Conversation.conversation_id).where(Conversation.entry_id == entry_id))
    if other is not None:
        raise ConversationExists(other)
    conversation = Conversation(conversation_id=conversation_id, kind="direct", match_id=match_id,
                                entry_id=entry_id, created_by=counselor.account_id, created_at=now, updated_at=now)
    session.add(conversation)
    session.flush()
    session.add(ConversationMember(conversation_id=conversation_id, account_id=entry.account_id, joined_at=now))
    session.flush()
    return _row(session, conversation), True


def list_conversations(session: Session, caller: AccountInfo, match_id: bytes | None = None) -> list[ConversationRow]:
    """A reporter's: those it is a member of. A counselor's: every one (or one match's)."""
    query = select(Conversation)
    if caller.role == "counselor":
        if match_id is not None:
            query = query.where(Conversation.match_id == match_id)
    else:
        if match_id is not None:
            raise InvalidInput(_("only counselors list conversations by match"))
        query = query.join(ConversationMember, ConversationMember.conversation_id == Conversation.conversation_id) \
            .where(ConversationMember.account_id == caller.account_id)
    conversations = session.scalars(query.order_by(Conversation.created_at, Conversation.conversation_id)).all()
    return [_row(session, c) for c in conversations]


def get_conversation(session: Session, caller: AccountInfo, conversation_id: bytes) -> ConversationRow:
    return _row(session, _visible(session, caller, conversation_id))


def add_message(session: Session, caller: AccountInfo, conversation_id: bytes, message_id: bytes, content: bytes,
                wraps: Sequence[tuple[bytes, bytes]], own_key_id: bytes | None, now: datetime) -> Posted:
    """Keep one sealed message; the same id with the same content again changes nothing.

    ``own_key_id``: the key the sender reads with (a counselor's key id, a reporter's messaging key
    id); a message without a wrap for it could not be read back by the one who wrote it.
    """
    conversation = _visible(session, caller, conversation_id, lock=True)
    members = _members(session, conversation_id)
    existing = session.scalars(select(Message).where(Message.message_id == message_id)).first()
    if existing is not None:
        if existing.conversation_id != conversation_id or existing.content != content \
                or existing.sender_account_id != caller.account_id:
            raise Conflict(_("a different message was already sent with this message id; send it with a new id"))
        return Posted(_position(session, existing), existing.created_at, False, conversation.match_id,
                             conversation.kind, members)
    _check_wraps(wraps, own_key_id)
    message = Message(message_id=message_id, conversation_id=conversation_id, sender_account_id=caller.account_id,
                      sender_role=caller.role, content=content, created_at=now)
    session.add(message)
    session.add_all(SealedWrap(item_kind=ITEM_MESSAGE, item_id=message_id, key_id=k, wrap=w) for k, w in wraps)
    conversation.updated_at = now
    session.flush()
    return Posted(_position(session, message), now, True, conversation.match_id, conversation.kind, members)


def page_messages(session: Session, caller: AccountInfo, conversation_id: bytes, after: int, limit: int,
                  own_key_id: bytes | None) -> list[MessageRow]:
    """The messages numbered after ``after``, in order, each with the caller's own wrap (or none)."""
    if after < 0 or limit < 1:
        raise InvalidInput(_("after is 0 or more, and a page holds at least one message"))
    _visible(session, caller, conversation_id)
    rows = session.execute(
        select(Message.message_id, Message.sender_role, Message.content, Message.created_at, SealedWrap.wrap)
        .outerjoin(SealedWrap, (SealedWrap.item_kind == ITEM_MESSAGE) & (SealedWrap.item_id == Message.message_id)
                   & _key_is(own_key_id))
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.seq).offset(after).limit(limit)
    ).all()
    return [MessageRow(after + i + 1, mid, role, content, wrap, at)
            for i, (mid, role, content, at, wrap) in enumerate(rows)]


# -- introductions -------------------------------------------------------------------


def create_introduction(session: Session, counselor: AccountInfo, introduction_id: bytes, match_id: bytes,
                        group_conversation_id: bytes, conversation_ids: Sequence[bytes],
                        now: datetime) -> tuple[IntroductionRow, bool]:
    """A counselor proposes to connect the reporters of some direct conversations of one match.

    Makes the group conversation (no members until someone accepts) and one invite per direct
    conversation; returns (introduction, anything new). The same request again changes nothing; the
    same introduction with more conversations invites those too (someone who matched later), but
    invitations are never taken back. A direct conversation is invited to one introduction at most:
    its reporter's card is stored under the conversation's id (PROTOCOL.md §13.2).
    """
    wanted = list(dict.fromkeys(conversation_ids))
    if len(wanted) != len(conversation_ids):
        raise InvalidInput(_("each conversation may be invited once"))
    if session.get(Match, match_id) is None:
        raise NotFound(_("no such match"))
    introduction = session.get(Introduction, introduction_id)
    invited: set[bytes] = set()
    if introduction is not None:
        if introduction.match_id != match_id or introduction.group_conversation_id != group_conversation_id:
            raise Conflict(_("this introduction id is already used for another introduction; make a new one"))
        invited = set(session.scalars(select(IntroductionInvite.conversation_id)
                                      .where(IntroductionInvite.introduction_id == introduction_id)))
        if not invited <= set(wanted):
            raise Conflict(_("an introduction's invitations cannot be taken back; list every conversation already "
                             "invited"))
    elif session.get(Conversation, group_conversation_id) is not None:
        raise Conflict(_("this group conversation id is already used; make a new one"))
    new = [cid for cid in wanted if cid not in invited]
    for cid in new:
        conversation = session.get(Conversation, cid)
        if conversation is None or conversation.kind != "direct" or conversation.match_id != match_id:
            raise NotFound(_("one of the conversations is not a direct conversation of this match"))
        elsewhere = session.scalar(select(IntroductionInvite.introduction_id)
                                   .where(IntroductionInvite.conversation_id == cid))
        if elsewhere is not None:
            raise Conflict(_("one of the conversations is already invited to another introduction; a conversation "
                             "can be invited to one introduction"))
    if introduction is None:
        session.add(Conversation(conversation_id=group_conversation_id, kind="group", match_id=match_id,
                                 entry_id=None, created_by=counselor.account_id, created_at=now, updated_at=now))
        session.flush()
        session.add(Introduction(introduction_id=introduction_id, match_id=match_id,
                                 group_conversation_id=group_conversation_id, proposed_by=counselor.account_id,
                                 created_at=now))
        session.flush()
    session.add_all(IntroductionInvite(introduction_id=introduction_id, conversation_id=cid) for cid in new)
    session.flush()
    return counselor_introduction(session, introduction_id, counselor.counselor_key_id), \
        introduction is None or bool(new)


def counselor_introduction(session: Session, introduction_id: bytes, own_key_id: bytes | None) -> IntroductionRow:
    """Everything a counselor may see of an introduction: whom it invited, and the cards of those who accepted."""
    introduction = session.get(Introduction, introduction_id)
    if introduction is None:
        raise NotFound(_(NO_INTRODUCTION))
    invited = tuple(session.scalars(select(IntroductionInvite.conversation_id)
                                    .where(IntroductionInvite.introduction_id == introduction_id)
                                    .order_by(IntroductionInvite.conversation_id)))
    accepted = session.execute(
        select(IntroductionAcceptance.conversation_id, IntroductionAcceptance.card,
               IntroductionAcceptance.accepted_at, SealedWrap.wrap)
        .outerjoin(SealedWrap, (SealedWrap.item_kind == ITEM_CARD)
                   & (SealedWrap.item_id == IntroductionAcceptance.conversation_id)
                   & _key_is(own_key_id))
        .where(IntroductionAcceptance.introduction_id == introduction_id)
        .order_by(IntroductionAcceptance.accepted_at, IntroductionAcceptance.conversation_id)
    ).all()
    return IntroductionRow(introduction_id, introduction.match_id, introduction.group_conversation_id, invited,
                           tuple(AcceptedCard(cid, card, wrap, at) for cid, card, at, wrap in accepted))


def reporter_introduction(session: Session, account_id: bytes, introduction_id: bytes) -> ReporterIntroduction:
    """What an invited reporter may see of an introduction: its group's id and whether it accepted itself.

    Nothing of the others: not who else was invited, nor who accepted. A reporter none of whose
    direct conversations is invited gets the same answer as for an introduction that does not exist.
    """
    introduction, mine = _invited(session, account_id, introduction_id)
    accepted = session.scalar(
        select(func.count()).select_from(IntroductionAcceptance)
        .where(IntroductionAcceptance.introduction_id == introduction_id,
               IntroductionAcceptance.conversation_id.in_(mine))
    ) or 0
    return ReporterIntroduction(introduction_id, introduction.group_conversation_id, accepted > 0)


def accept_introduction(session: Session, account_id: bytes, introduction_id: bytes, conversation_id: bytes,
                        card: bytes, wraps: Sequence[tuple[bytes, bytes]], own_key_id: bytes | None,
                        now: datetime) -> bool:
    """A reporter accepts from its invited direct conversation; True if stored now, False if the same card again.

    It becomes a member of the group conversation. Naming a conversation that is not the caller's, or
    not invited, is answered as an introduction that does not exist.
    """
    introduction, mine = _invited(session, account_id, introduction_id)
    if conversation_id not in mine:
        raise NotFound(_(NO_INTRODUCTION))
    existing = session.get(IntroductionAcceptance, (introduction_id, conversation_id))
    if existing is not None:
        if existing.card != card:
            raise Conflict(_("you already accepted this introduction with another card"))
        return False
    _check_wraps(wraps, own_key_id)
    session.add(IntroductionAcceptance(introduction_id=introduction_id, conversation_id=conversation_id,
                                       account_id=account_id, card=card, accepted_at=now))
    session.add_all(SealedWrap(item_kind=ITEM_CARD, item_id=conversation_id, key_id=k, wrap=w) for k, w in wraps)
    group = introduction.group_conversation_id
    if session.get(ConversationMember, (group, account_id)) is None:
        session.add(ConversationMember(conversation_id=group, account_id=account_id, joined_at=now))
    session.flush()
    return True


# -- helpers -----------------------------------------------------------------------------


def _visible(session: Session, caller: AccountInfo, conversation_id: bytes, *, lock: bool = False) -> Conversation:
    query = select(Conversation).where(Conversation.conversation_id == conversation_id)
    if caller.role != "counselor":
        query = query.join(ConversationMember, ConversationMember.conversation_id == Conversation.conversation_id) \
            .where(ConversationMember.account_id == caller.account_id)
    if lock:
        query = query.with_for_update(of=Conversation)
    conversation = session.scalars(query).first()
    if conversation is None:
        raise NotFound(_(NO_CONVERSATION))
    return conversation


def _invited(session: Session, account_id: bytes, introduction_id: bytes) -> tuple[Introduction, list[bytes]]:
    """The introduction and the caller's own invited direct conversations in it; NotFound if none."""
    introduction = session.get(Introduction, introduction_id)
    mine: list[bytes] = []
    if introduction is not None:
        mine = list(session.scalars(
            select(IntroductionInvite.conversation_id)
            .join(ConversationMember, ConversationMember.conversation_id == IntroductionInvite.conversation_id)
            .where(IntroductionInvite.introduction_id == introduction_id, ConversationMember.account_id == account_id)
            .order_by(IntroductionInvite.conversation_id)))
    if introduction is None or not mine:
        raise NotFound(_(NO_INTRODUCTION))
    return introduction, mine


def _key_is(key_id: bytes | None) -> ColumnElement[bool]:
    """The wrap for ``key_id``; a caller with no key gets none."""
    return SealedWrap.key_id == key_id if key_id is not None else false()


def _members(session: Session, conversation_id: bytes) -> tuple[bytes, ...]:
    return tuple(session.scalars(select(ConversationMember.account_id)
                                 .where(ConversationMember.conversation_id == conversation_id)
                                 .order_by(ConversationMember.account_id)))


def _position(session: Session, message: Message) -> int:
    return session.scalar(select(func.count()).select_from(Message)
                          .where(Message.conversation_id == message.conversation_id, Message.seq <= message.seq)) or 0


def _check_wraps(wraps: Sequence[tuple[bytes, bytes]], own_key_id: bytes | None) -> None:
    if own_key_id is None:
        raise Conflict(_("register your messaging key first (PUT /v2/account/message-key); the app does it on its own"))
    if own_key_id not in {k for k, _wrap in wraps}:
        raise InvalidInput(_("the item has no wrap for your own key; seal it to yourself too, so you can read it back"))


def _row(session: Session, conversation: Conversation) -> ConversationRow:
    introduction_id = None
    if conversation.kind == "group":
        introduction_id = session.scalar(select(Introduction.introduction_id)
                                         .where(Introduction.group_conversation_id == conversation.conversation_id))
    count = session.scalar(select(func.count()).select_from(Message)
                           .where(Message.conversation_id == conversation.conversation_id)) or 0
    return ConversationRow(conversation.conversation_id, conversation.kind, conversation.match_id,
                           conversation.entry_id, introduction_id, conversation.created_at, conversation.updated_at,
                           count)
