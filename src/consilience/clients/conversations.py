"""After a match: counselors and reporters write to each other, end to end encrypted (PROTOCOL.md §13).

Everything is sealed and opened here, on the writer's and the reader's devices; the escrow server
stores ciphertexts and their order only. Nothing the server says about *who* wrote is believed:
each message is signed inside its ciphertext, and a reader accepts it only from a key it has from
somewhere the server cannot forge:

- a counselor: a ``signing_key`` of the administrator-signed deployment document;
- the reporter of an entry: the messaging key in the entry's opened body (sealed by the reporter),
  or, for a counselor who was not the first to write, the ``"to"`` of the earliest message a
  counselor of the document signed in that conversation;
- a member of a group: the newest roster a counselor of the document signed.

A message from anyone else is refused and said so (:attr:`ConversationView.refused`), never shown.

Reporter activities take a :class:`~consilience.clients.reporter.Session`; counselor activities a
:class:`~consilience.clients.counselor.CounselorKeys`. Each returns a frozen result with ``to_json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from consilience.clients import counselor as counselor_mod
from consilience.clients import reporter as reporter_mod
from consilience.clients.escrow_client import ApiError, EscrowClient, counselor_login
from consilience.clients.results import AttachmentSummary, JsonObject
from consilience.errors import ConsilienceError, InvalidInput, VerificationError
from consilience.files import write_private
from consilience.i18n import N_, _
from consilience.protocol import conversations as pc
from consilience.protocol import messages as m
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import Attachment

#: What a reader is told of a message whose signer is nobody it may come from.
NOT_A_COUNSELOR = N_("this message is not signed by a counselor of this deployment")
NOT_THE_REPORTER = N_("this message is not signed by the reporter of this entry, nor by a counselor of this "
                      "deployment")
NOT_A_MEMBER = N_("this message is not signed by a counselor of this deployment, nor by a member of the group")
NOT_OPENED = N_("this message did not open: it may have been changed on the server")

#: What a counselor's invitation to an introduction says when the counselor gives no text.
DEFAULT_INTRODUCTION = N_("Others named the same person you did. If you want, you can talk with them in a group: "
                          "each of you chooses the name the others see, and nobody learns who said no. Answer with "
                          "'accept' or 'decline' in your app, whenever you are ready, or not at all.")


# -- keys ------------------------------------------------------------------------


@dataclass(frozen=True)
class Me:
    """Who is reading or writing: the HPKE seed and key id that open my wraps, the seed I sign with."""

    seed: bytes
    key_id: bytes
    signing_seed: bytes
    vk: bytes
    #: a reporter's own messaging key; None for a counselor
    messaging_key: pc.MessagingPublicKey | None = None


def _reporter_me(session: reporter_mod.Session) -> Me:
    key = reporter_mod.messaging_key(session.wallet)
    if key is None:
        raise InvalidInput(_("this wallet has no messaging key yet; it gets one the next time a record is put in "
                             "escrow or edited, and counselors can write to you from then on"))
    return Me(key.seed, key.key_id, key.signing_seed, key.verify_key, key.public)


def _counselor_me(keys: counselor_mod.CounselorKeys) -> Me:
    signing_seed = pc.counselor_signing_seed(keys.seed)
    return Me(keys.seed, keys.key_id, signing_seed, pc.counselor_signing_key(keys.seed))


def _refusal(exc: ConsilienceError) -> str:
    return str(exc)


# -- what a reader sees ------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A message that opened and whose signer is someone it may come from."""

    seq: int
    message_id: str  # b64u
    type: str  # "text", "reveal", "introduction" or "roster"
    #: "counselor", "reporter" (of a direct conversation), "member" (of a group) or "you"
    author: str
    #: the counselor's name from the signed document, a member's name from the roster, or "" (a reporter)
    name: str
    sent_at: str
    received_at: str
    text: str
    contact: str | None = None  # a reveal
    introduction: str | None = None  # b64u: an invitation or a roster
    members: tuple[str, ...] = ()  # a roster: the names it lists
    attachments: tuple[AttachmentSummary, ...] = ()
    files: tuple[Attachment, ...] = field(default=(), repr=False)

    def to_json(self) -> JsonObject:
        doc: JsonObject = {"seq": self.seq, "message_id": self.message_id, "type": self.type,
                           "author": self.author, "name": self.name, "sent_at": self.sent_at,
                           "received_at": self.received_at, "text": self.text,
                           "attachments": [a.to_json() for a in self.attachments]}
        if self.contact is not None:
            doc["contact"] = self.contact
        if self.introduction is not None:
            doc["introduction"] = self.introduction
        if self.type == "roster":
            doc["members"] = [*self.members]
        return doc


@dataclass(frozen=True)
class Refused:
    """A message the server handed out that is not shown, and why."""

    seq: int
    message_id: str
    reason: str

    def to_json(self) -> JsonObject:
        return {"seq": self.seq, "message_id": self.message_id, "reason": self.reason}


@dataclass(frozen=True)
class ConversationView:
    """A conversation as read on this device: the messages that checked out, the refused ones, and how many
    carried no key for this reader (written before this reader could read them)."""

    conversation_id: str  # b64u
    kind: str  # "direct" or "group"
    entry_id: str | None
    introduction_id: str | None
    #: the reporter's record in their wallet (reporter side only)
    record_id: str | None
    messages: tuple[Message, ...]
    refused: tuple[Refused, ...]
    not_for_you: int
    #: a group's members as its newest counselor-signed roster names them
    members: tuple[str, ...] = ()
    #: the contact the reporter revealed in this conversation (the newest), if any
    contact: str | None = None

    def to_json(self) -> JsonObject:
        return {"conversation_id": self.conversation_id, "kind": self.kind, "entry_id": self.entry_id,
                "introduction_id": self.introduction_id, "record_id": self.record_id,
                "messages": [x.to_json() for x in self.messages], "refused": [r.to_json() for r in self.refused],
                "not_for_you": self.not_for_you, "members": [*self.members], "contact": self.contact}


@dataclass(frozen=True)
class _Opened:
    stored: m.StoredMessage
    item: pc.Opened


@dataclass(frozen=True)
class _Read:
    """A conversation's messages opened with my wraps: those that opened, those that did not, those not for me."""

    opened: tuple[_Opened, ...]
    refused: tuple[Refused, ...]
    missing: int


def _open_all(stored: Sequence[m.StoredMessage], conversation_id: bytes, me: Me) -> _Read:
    opened, refused, missing = [], [], 0
    for s in stored:
        if s.wrap is None:
            missing += 1
            continue
        try:
            item = pc.open_item(pc.Kind.MESSAGE, conversation_id, b64u_decode(s.message_id, length=16),
                                b64u_decode(s.content), b64u_decode(s.wrap), me.seed, me.key_id)
        except ConsilienceError as exc:
            refused.append(Refused(s.seq, s.message_id, _("{refusal} ({exc})", refusal=_(NOT_OPENED), exc=exc)))
            continue
        opened.append(_Opened(s, item))
    return _Read(tuple(opened), tuple(refused), missing)


def _shown(o: _Opened, author: str, name: str) -> Message:
    p = o.item.payload
    text = getattr(p, "text", None) or ""
    attachments = p.attachments if isinstance(p, pc.Text) else ()
    introduction = getattr(p, "introduction", None)
    return Message(seq=o.stored.seq, message_id=o.stored.message_id, type=o.item.type, author=author, name=name,
                   sent_at=o.item.inner.sent_at, received_at=o.stored.received_at.isoformat(), text=text,
                   contact=p.contact if isinstance(p, pc.Reveal) else None,
                   introduction=None if introduction is None else b64u_encode(introduction),
                   members=tuple(x.name for x in p.members) if isinstance(p, pc.Roster) else (),
                   attachments=tuple(AttachmentSummary.of(a) for a in attachments), files=attachments)


def _sorted(*groups: Iterable[Refused]) -> tuple[Refused, ...]:
    return tuple(sorted((r for g in groups for r in g), key=lambda r: r.seq))


def _check_direct(read: _Read, deployment: Deployment, entry_id: bytes, reporter_key: pc.MessagingPublicKey | None,
                  *, me_reporter: bool) -> tuple[list[Message], list[Refused], str | None]:
    """Sort a direct conversation's messages into those that may be shown and those refused (and why)."""
    shown, refused, contact = [], [], None
    for o in read.opened:
        if reporter_key is None:  # a counselor with no key pinned: only counselors' own messages can be checked
            refused.append(Refused(o.stored.seq, o.stored.message_id, _("the reporter's key is not known yet")))
            continue
        try:
            who = pc.check_direct(o.item, deployment, entry_id=entry_id, reporter_key=reporter_key)
        except ConsilienceError as exc:
            refused.append(Refused(o.stored.seq, o.stored.message_id, _refusal(exc)))
            continue
        if who is not None:
            shown.append(_shown(o, "counselor", who.name))
        else:
            message = _shown(o, "you" if me_reporter else "reporter", "")
            shown.append(message)
            if message.contact is not None:
                contact = message.contact
    return shown, refused, contact


def _newest_roster(read: _Read, deployment: Deployment, introduction_id: bytes) -> pc.Roster | None:
    newest = None
    signers = pc.counselor_signers(deployment)
    for o in read.opened:
        p = o.item.payload
        if isinstance(p, pc.Roster) and o.item.sender in signers and p.introduction == introduction_id \
                and o.item.inner.entry is None and o.item.inner.to is None:
            newest = p
    return newest


def _check_group(read: _Read, deployment: Deployment, introduction_id: bytes, me: Me
                 ) -> tuple[list[Message], list[Refused], pc.Roster | None]:
    roster = _newest_roster(read, deployment, introduction_id)
    shown, refused = [], []
    for o in read.opened:
        try:
            who = pc.check_group(o.item, deployment, roster)
            p = o.item.payload
            if isinstance(p, pc.Roster) and p.introduction != introduction_id:
                raise VerificationError(_("this group list is of another introduction"))
        except ConsilienceError as exc:
            refused.append(Refused(o.stored.seq, o.stored.message_id, _refusal(exc)))
            continue
        if isinstance(who, pc.RosterMember):
            shown.append(_shown(o, "you" if o.item.sender == me.vk else "member", who.name))
        else:
            shown.append(_shown(o, "counselor", who.name))
    return shown, refused, roster


def _text(text: str, attachments: Sequence[Attachment]) -> pc.Text:
    if not text.strip() and not attachments:
        raise InvalidInput(_("the message is empty: give some text or attach a file"))
    return pc.Text(text, tuple(attachments))


@dataclass(frozen=True)
class Sent:
    """A message the server stored: where, its seq and when it arrived."""

    conversation_id: str
    message_id: str
    seq: int
    received_at: str
    type: str

    def to_json(self) -> JsonObject:
        return {"conversation_id": self.conversation_id, "message_id": self.message_id, "seq": self.seq,
                "received_at": self.received_at, "type": self.type}


def _post(client: EscrowClient, conversation_id: bytes, payload: pc.Payload, me: Me, recipients: Iterable[bytes],
          *, entry: bytes | None = None, to: pc.MessagingPublicKey | None = None) -> Sent:
    message_id = pc.new_id()
    sealed = pc.seal_item(pc.Kind.MESSAGE, conversation_id, message_id, payload, signer_seed=me.signing_seed,
                          recipients=recipients, entry=entry, to=to)
    posted = client.post_message(conversation_id, message_id, m.SealedItem.model_validate(sealed.to_json()))
    return Sent(b64u_encode(conversation_id), b64u_encode(message_id), posted.seq, posted.received_at.isoformat(),
                pc.Inner(payload, me.vk, pc.now_sent_at(), entry, to).type)


def save_attachments(view: ConversationView, folder: Path) -> list[str]:
    """Write each message's files under FOLDER/SEQ-N-NAME, owner-only, names made safe; the paths."""
    paths = []
    for message in view.messages:
        for n, attachment in enumerate(message.files, start=1):
            name = "".join(c if c.isprintable() and c not in '/\\:' else "_" for c in attachment.name).strip(" .")
            target = Path(folder) / f"{message.seq}-{n}-{name or 'attachment'}"
            write_private(target, attachment.data)
            paths.append(str(target))
    return paths


# -- reporter ----------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation in a reporter's list: which record (or introduction) and how many new messages."""

    conversation_id: str
    kind: str
    record_id: str | None
    introduction_id: str | None
    messages: int
    new: int
    updated_at: str

    def to_json(self) -> JsonObject:
        return {"conversation_id": self.conversation_id, "kind": self.kind, "record_id": self.record_id,
                "introduction_id": self.introduction_id, "messages": self.messages, "new": self.new,
                "updated_at": self.updated_at}


@dataclass(frozen=True)
class ConversationList:
    """A reporter's conversations: one per record a counselor wrote about, one per group joined."""

    conversations: tuple[ConversationSummary, ...]

    def to_json(self) -> JsonObject:
        return {"conversations": [c.to_json() for c in self.conversations]}


class _Member:
    """What a reporter task and a counselor task share: both read a group the same way (as one of its members)."""

    client: EscrowClient
    deployment: Deployment
    me: Me

    def read_group(self, conversation: m.Conversation, introduction_id: bytes
                   ) -> tuple[ConversationView, pc.Roster | None]:
        """A group conversation as this member reads it, and the newest checked roster."""
        cid = b64u_decode(conversation.conversation_id, length=16)
        read = _open_all(self.client.all_messages(cid), cid, self.me)
        shown, wrong, roster = _check_group(read, self.deployment, introduction_id, self.me)
        return ConversationView(conversation.conversation_id, "group", None, b64u_encode(introduction_id), None,
                                tuple(shown), _sorted(read.refused, wrong), read.missing,
                                members=tuple(x.name for x in roster.members) if roster else ()), roster


@dataclass
class _Reporter(_Member):
    """One reporter task: the session, a client, the checked document and the reporter's keys."""

    session: reporter_mod.Session
    client: EscrowClient
    deployment: Deployment
    me: Me

    @property
    def key(self) -> pc.MessagingPublicKey:
        assert self.me.messaging_key is not None
        return self.me.messaging_key

    def record_of(self, entry_id: str | None) -> str | None:
        for r in self.session.wallet.records:
            if r.escrow is not None and entry_id is not None and r.escrow.entry_id == entry_id:
                return r.record_id
        return None

    def direct(self, record_id: str) -> m.Conversation:
        record = self.session.wallet.record(record_id)
        if record.escrow is None:
            raise InvalidInput(_("Record {record_id} is private: nobody can write to you about it.",
                                 record_id=record_id))
        for c in self.client.conversations():
            if c.kind == "direct" and c.entry_id == record.escrow.entry_id:
                return c
        raise InvalidInput(_("No counselor has written to you about record {record_id}. When one does, "
                             "'consilience reporter messages' shows it.", record_id=record_id))

    def read_direct(self, conversation: m.Conversation) -> ConversationView:
        cid = b64u_decode(conversation.conversation_id, length=16)
        assert conversation.entry_id is not None
        read = _open_all(self.client.all_messages(cid), cid, self.me)
        shown, wrong, contact = _check_direct(read, self.deployment, b64u_decode(conversation.entry_id, length=16),
                                              self.key, me_reporter=True)
        return ConversationView(conversation.conversation_id, "direct", conversation.entry_id, None,
                                self.record_of(conversation.entry_id), tuple(shown), _sorted(read.refused, wrong),
                                read.missing, contact=contact)


    def mark_seen(self, view: ConversationView) -> None:
        seqs = [x.seq for x in view.messages] + [x.seq for x in view.refused]
        if seqs:
            seen = self.session.wallet.seen
            seen[view.conversation_id] = max(seen.get(view.conversation_id, 0), *seqs)


def _as_reporter(session: reporter_mod.Session, client: EscrowClient) -> _Reporter:
    me = _reporter_me(session)
    return _Reporter(session, client, session.deployment(client), me)


def conversations(session: reporter_mod.Session) -> ConversationList:
    """The reporter's conversations, each with how many messages from others arrived since last read here."""
    out = []
    with session.client() as client:
        r = _as_reporter(session, client)
        for c in client.conversations():
            seen = session.wallet.seen.get(c.conversation_id, 0)
            new = 0
            if c.last_seq > seen:
                cid = b64u_decode(c.conversation_id, length=16)
                read = _open_all(client.all_messages(cid, seen), cid, r.me)
                new = sum(1 for o in read.opened if o.item.sender != r.me.vk) + len(read.refused)
            out.append(ConversationSummary(c.conversation_id, c.kind, r.record_of(c.entry_id), c.introduction_id,
                                           c.messages, new, c.updated_at.isoformat()))
    session.save()  # a renewed session token
    return ConversationList(tuple(out))


def read(session: reporter_mod.Session, record_id: str) -> ConversationView:
    """Open every message about one record, check who signed each, and remember how far it was read."""
    with session.client() as client:
        r = _as_reporter(session, client)
        view = r.read_direct(r.direct(record_id))
        r.mark_seen(view)
    session.save()
    return view


def _reporter_send(session: reporter_mod.Session, record_id: str, payload: pc.Payload) -> Sent:
    with session.client() as client:
        r = _as_reporter(session, client)
        conversation = r.direct(record_id)
        assert conversation.entry_id is not None
        sent = _post(client, b64u_decode(conversation.conversation_id, length=16), payload, r.me,
                     pc.direct_recipients(r.deployment, r.key),
                     entry=b64u_decode(conversation.entry_id, length=16))
    session.save()
    return sent


def reply(session: reporter_mod.Session, record_id: str, text: str,
          attachments: Sequence[Attachment] = ()) -> Sent:
    """Answer the counselors about a record: sealed to them and to this wallet, signed by it."""
    return _reporter_send(session, record_id, _text(text, attachments))


def reveal(session: reporter_mod.Session, record_id: str, contact: str | None = None, text: str = "") -> Sent:
    """Tell the counselors how to reach you: ``contact``, or the one the wallet holds."""
    given = (contact if contact is not None else session.wallet.contact).strip()
    if not given:
        raise InvalidInput(_("This wallet holds no contact. Give the one to send with --contact; nothing was sent."))
    return _reporter_send(session, record_id, pc.Reveal(given, text if text.strip() else None))


@dataclass(frozen=True)
class Introduction:
    """A counselor's invitation to meet the others of a match, as this reporter sees it."""

    introduction_id: str  # b64u
    record_id: str | None
    conversation_id: str  # the direct conversation it came in
    counselor: str
    text: str
    sent_at: str
    #: "accepted" (the server holds this reporter's card), "declined" (known on this device only) or "open"
    state: str
    group_conversation_id: str | None

    def to_json(self) -> JsonObject:
        return {"introduction_id": self.introduction_id, "record_id": self.record_id,
                "conversation_id": self.conversation_id, "counselor": self.counselor, "text": self.text,
                "sent_at": self.sent_at, "state": self.state, "group_conversation_id": self.group_conversation_id}


@dataclass(frozen=True)
class IntroductionList:
    """The introductions counselors proposed to this reporter."""

    introductions: tuple[Introduction, ...]

    def to_json(self) -> JsonObject:
        return {"introductions": [i.to_json() for i in self.introductions]}


def _introductions(r: _Reporter) -> list[Introduction]:
    """Every introduction a counselor of the document invited this reporter to, in a message that checked out."""
    found: dict[str, Introduction] = {}
    for c in r.client.conversations():
        if c.kind != "direct":
            continue
        view = r.read_direct(c)
        for x in view.messages:
            if x.type != "introduction" or x.introduction is None or x.introduction in found:
                continue
            try:
                detail = r.client.my_introduction(b64u_decode(x.introduction, length=16))
            except ApiError as exc:
                if exc.status == 404:
                    continue  # not (or no longer) for this account
                raise
            state = "accepted" if detail.accepted else \
                "declined" if x.introduction in r.session.wallet.declined else "open"
            found[x.introduction] = Introduction(x.introduction, view.record_id, c.conversation_id, x.name, x.text,
                                                 x.sent_at, state, detail.group_conversation_id)
    return list(found.values())


def introductions(session: reporter_mod.Session) -> IntroductionList:
    """The introductions counselors proposed to this reporter, each with its answer."""
    with session.client() as client:
        listed = _introductions(_as_reporter(session, client))
    session.save()
    return IntroductionList(tuple(listed))


def introduction_hex(introduction_id: str) -> str:
    """An introduction id as the 32 hex digits the CLI shows."""
    return b64u_decode(introduction_id, length=16, field="introduction id").hex()


def _pick(listed: Sequence[Introduction], text: str) -> Introduction:
    given = text.strip()
    lowered = given.lower()
    for i in listed:
        if given == i.introduction_id or lowered == introduction_hex(i.introduction_id):
            return i
    found = [i for i in listed if len(lowered) >= 6 and introduction_hex(i.introduction_id).startswith(lowered)]
    if len(found) == 1:
        return found[0]
    if found:
        raise InvalidInput(_("More than one introduction starts with {lowered}; give more of its characters.",
                             lowered=lowered))
    raise InvalidInput(_("No introduction {given} was proposed to you. 'consilience reporter introductions' lists "
                         "those that were.", given=repr(given)))


def accept(session: reporter_mod.Session, introduction: str, name: str) -> Introduction:
    """Join an introduction's group under ``name``: a card sealed to the counselors and to this wallet."""
    name = name.strip()
    if not 1 <= len(name) <= pc.MAX_NAME_CHARS:
        raise InvalidInput(_("Choose a name of 1 to {MAX_NAME_CHARS} characters for the others to see.",
                             MAX_NAME_CHARS=pc.MAX_NAME_CHARS))
    with session.client() as client:
        r = _as_reporter(session, client)
        chosen = _pick(_introductions(r), introduction)
        iid = b64u_decode(chosen.introduction_id, length=16)
        cid = b64u_decode(chosen.conversation_id, length=16)
        card = pc.seal_item(pc.Kind.CARD, iid, cid, pc.Card(iid, name, r.key), signer_seed=r.me.signing_seed,
                            recipients=pc.card_recipients(r.deployment, r.key))
        client.accept_introduction(iid, cid, m.SealedItem.model_validate(card.to_json()))
    if chosen.introduction_id in session.wallet.declined:
        session.wallet.declined.remove(chosen.introduction_id)
    session.save()
    return replace(chosen, state="accepted")


def decline(session: reporter_mod.Session, introduction: str) -> Introduction:
    """Remember on this device that you said no; nothing is sent, so nobody can tell it from no answer yet."""
    with session.client() as client:
        chosen = _pick(_introductions(_as_reporter(session, client)), introduction)
    if chosen.state == "accepted":
        raise InvalidInput(_("You already accepted this introduction, and the others may have seen the name you "
                             "chose. Nothing was changed; you can simply stop writing in the group."))
    if chosen.introduction_id not in session.wallet.declined:
        session.wallet.declined.append(chosen.introduction_id)
    session.save()
    return replace(chosen, state="declined")


def group(session: reporter_mod.Session, introduction: str, send: str | None = None) -> ConversationView:
    """Read an accepted introduction's group (and, with ``send``, write to it first)."""
    with session.client() as client:
        r = _as_reporter(session, client)
        chosen = _pick(_introductions(r), introduction)
        if chosen.state != "accepted" or chosen.group_conversation_id is None:
            raise InvalidInput(_("You have not joined this group. 'consilience reporter accept "
                                 "{introduction_hex} --name NAME' joins it, under the name "
                                 "you choose.", introduction_hex=introduction_hex(chosen.introduction_id)))
        iid = b64u_decode(chosen.introduction_id, length=16)
        conversation = next((c for c in client.conversations()
                             if c.conversation_id == chosen.group_conversation_id), None)
        if conversation is None:
            raise InvalidInput(_("The group is not open to you yet. Try again later."))
        if send is not None:
            _view, roster = r.read_group(conversation, iid)
            if roster is None:
                raise InvalidInput(_("The counselor has not yet confirmed who is in the group, so nobody could read "
                                     "it yet. Try again later; nothing was sent."))
            _post(client, b64u_decode(conversation.conversation_id, length=16), _text(send, ()), r.me,
                  pc.group_recipients(r.deployment, roster, r.key.hpke_public))
        view, _roster = r.read_group(conversation, iid)
        r.mark_seen(view)
    session.save()
    return view


# -- counselor ---------------------------------------------------------------------


@dataclass
class _Counselor(_Member):
    keys: counselor_mod.CounselorKeys
    client: EscrowClient
    deployment: Deployment
    me: Me

    def can_sign(self) -> None:
        if self.me.vk not in pc.counselor_signers(self.deployment):
            raise InvalidInput(_("The deployment document does not list your signing key, so reporters would refuse "
                                 "your messages. Ask the administrator to add your key again from your public key "
                                 "file ('consilience counselor keygen' wrote it beside your key, KEY.pub.json)."))

    def read_direct(self, conversation: m.Conversation, body_key: pc.MessagingPublicKey | None = None
                    ) -> tuple[ConversationView, pc.MessagingPublicKey | None]:
        cid = b64u_decode(conversation.conversation_id, length=16)
        assert conversation.entry_id is not None
        entry_id = b64u_decode(conversation.entry_id, length=16)
        read = _open_all(self.client.all_messages(cid), cid, self.me)
        pinned = pc.pinned_reporter_key([o.item for o in read.opened], self.deployment, entry_id) or body_key
        shown, wrong, contact = _check_direct(read, self.deployment, entry_id, pinned, me_reporter=False)
        return ConversationView(conversation.conversation_id, "direct", conversation.entry_id, None, None,
                                tuple(shown), _sorted(read.refused, wrong), read.missing, contact=contact), pinned



def _as_counselor(keys: counselor_mod.CounselorKeys, client: EscrowClient) -> _Counselor:
    if keys.admin_fingerprint is None:
        raise InvalidInput(_("this key is not connected to a deployment yet; run 'consilience counselor login'"))
    deployment = client.deployment(keys.admin_fingerprint, min_serial=keys.min_serial)
    return _Counselor(keys, client, deployment, _counselor_me(keys))


def _client(keys: counselor_mod.CounselorKeys) -> EscrowClient:
    if not keys.server or not keys.token:
        raise InvalidInput(_("this key is not connected to a server yet; run 'consilience counselor login'"))
    return EscrowClient(keys.server, sign_in=counselor_login(keys.token))


def _resolve_entry(text: str, entry_ids: Iterable[str]) -> str:
    given = text.strip()
    known = sorted(set(entry_ids))
    if given in known:
        return given
    found = [e for e in known if len(given) >= 4 and e.startswith(given)]
    if len(found) == 1:
        return found[0]
    if found:
        raise InvalidInput(_("More than one entry of this match starts with {given}; give more of its characters.",
                             given=repr(given)))
    raise InvalidInput(_("This match has no released entry {given}. 'consilience counselor open MATCH' lists its "
                         "entries; copy the entry id from there.", given=repr(given)))


def _body_keys(keys: counselor_mod.CounselorKeys, match_id: bytes) -> dict[str, bytes | None]:
    """Each released entry's messaging key, from its opened body (sealed by its reporter): never the server's."""
    _match, result = counselor_mod.open_match_by_id(keys, match_id)
    return {b64u_encode(o.entry_id): o.body.messaging_key for o in result.opened}


def message(keys: counselor_mod.CounselorKeys, match_id: bytes, entry: str, text: str,
            attachments: Sequence[Attachment] = ()) -> Sent:
    """Write to the reporter of a released entry; the first message starts the conversation.

    The reporter's key comes from the earliest counselor-signed message of the conversation or, when
    there is none yet, from the entry's opened body (the match is opened for it): never from the server.
    """
    payload = _text(text, attachments)
    with _client(keys) as client:
        c = _as_counselor(keys, client)
        c.can_sign()
        direct = {x.entry_id: x for x in client.conversations(match_id) if x.kind == "direct" and x.entry_id}
        body_keys: dict[str, bytes | None] | None = None
        try:
            entry_id = _resolve_entry(entry, direct)
        except InvalidInput:
            body_keys = _body_keys(keys, match_id)
            entry_id = _resolve_entry(entry, body_keys)
        conversation = direct.get(entry_id)
        pinned = c.read_direct(conversation)[1] if conversation is not None else None
        if pinned is None:
            if body_keys is None:
                body_keys = _body_keys(keys, match_id)
            if entry_id not in body_keys:
                raise InvalidInput(_("That entry is not released in this match, so its reporter cannot be written "
                                     "to."))
            raw = body_keys[entry_id]
            if raw is None:
                raise InvalidInput(_("This reporter's entry carries no messaging key: it was sealed by an older "
                                     "version of Consilience, so they cannot be written to here yet. They get a key "
                                     "the next time they change their record; until then, use the contact in the "
                                     "record, if they gave one."))
            pinned = pc.MessagingPublicKey.parse(raw)
        if conversation is None:
            conversation = _create(client, match_id, b64u_decode(entry_id, length=16))
        return _post(client, b64u_decode(conversation.conversation_id, length=16), payload, c.me,
                     pc.direct_recipients(c.deployment, pinned), entry=b64u_decode(entry_id, length=16), to=pinned)


def _create(client: EscrowClient, match_id: bytes, entry_id: bytes) -> m.Conversation:
    try:
        return client.create_conversation(pc.new_id(), match_id, entry_id)
    except ApiError as exc:
        if exc.status != 409:
            raise
    for x in client.conversations(match_id):  # another counselor started it meanwhile: write there
        if x.kind == "direct" and x.entry_id == b64u_encode(entry_id):
            return x
    raise ApiError(409, "conflict", _("the entry has a conversation this counselor cannot see"), server=client.base_url)


@dataclass(frozen=True)
class MatchConversations:
    """A match's direct conversations as one counselor read them."""

    match_id: str
    conversations: tuple[ConversationView, ...]

    def to_json(self) -> JsonObject:
        return {"match_id": self.match_id, "conversations": [c.to_json() for c in self.conversations]}


def conversation(keys: counselor_mod.CounselorKeys, match_id: bytes, entry: str | None = None
                 ) -> MatchConversations:
    """Read a match's direct conversations (or the one with ``entry``'s reporter), each message checked."""
    with _client(keys) as client:
        c = _as_counselor(keys, client)
        direct = {x.entry_id: x for x in client.conversations(match_id) if x.kind == "direct" and x.entry_id}
        if entry is not None:
            if not direct:
                raise InvalidInput(_("Nobody has written to the reporters of this match yet. 'consilience counselor "
                                     "message MATCH ENTRY --text …' writes the first message."))
            wanted = [direct[_resolve_entry(entry, direct)]]
        else:
            wanted = list(direct.values())
        views = tuple(c.read_direct(x)[0] for x in wanted)
    return MatchConversations(b64u_encode(match_id), views)


@dataclass(frozen=True)
class Proposed:
    """An introduction proposed: its id, its group, and the entries whose reporters were invited."""

    introduction_id: str
    group_conversation_id: str
    invited: tuple[str, ...]  # entry ids (b64u)
    #: entry ids of direct conversations left out: no counselor message there pins the reporter's key yet
    skipped: tuple[str, ...]

    def to_json(self) -> JsonObject:
        return {"introduction_id": self.introduction_id, "group_conversation_id": self.group_conversation_id,
                "invited": [*self.invited], "skipped": [*self.skipped]}


def introduce(keys: counselor_mod.CounselorKeys, match_id: bytes, text: str | None = None) -> Proposed:
    """Propose to the reporters of a match, each in their own conversation, to meet in a group."""
    words = text.strip() if text and text.strip() else _(DEFAULT_INTRODUCTION)
    with _client(keys) as client:
        c = _as_counselor(keys, client)
        c.can_sign()
        invited: list[tuple[m.Conversation, pc.MessagingPublicKey]] = []
        skipped = []
        for x in client.conversations(match_id):
            if x.kind != "direct" or x.entry_id is None:
                continue
            pinned = c.read_direct(x)[1]
            if pinned is None:
                skipped.append(x.entry_id)
            else:
                invited.append((x, pinned))
        if len(invited) < 2:
            raise InvalidInput(_("An introduction needs at least two reporters of this match you have written to. "
                                 "Write to each first: 'consilience counselor message MATCH ENTRY --text …'."))
        if len(invited) > m.MAX_INTRODUCED:
            raise InvalidInput(_("An introduction is for at most {MAX_INTRODUCED} reporters.",
                                 MAX_INTRODUCED=m.MAX_INTRODUCED))
        iid, gid = pc.new_id(), pc.new_id()
        client.propose_introduction(match_id, iid, gid, [b64u_decode(x.conversation_id, length=16)
                                                         for x, _pinned in invited])
        for x, pinned in invited:
            assert x.entry_id is not None
            _post(client, b64u_decode(x.conversation_id, length=16), pc.IntroductionMsg(iid, words), c.me,
                  pc.direct_recipients(c.deployment, pinned), entry=b64u_decode(x.entry_id, length=16), to=pinned)
    return Proposed(b64u_encode(iid), b64u_encode(gid), tuple(x.entry_id or "" for x, _pinned in invited),
                    tuple(skipped))


@dataclass(frozen=True)
class GroupView:
    """An introduction's group as a counselor sees it: the checked accepters, the roster, the messages."""

    introduction_id: str
    invited: int
    #: display names of the accepters whose cards checked out (what the roster lists)
    accepted: tuple[str, ...]
    #: acceptances whose card did not check out: "conversation id: why" (they are not listed)
    refused_cards: tuple[str, ...]
    roster_posted: bool
    group: ConversationView

    def to_json(self) -> JsonObject:
        return {"introduction_id": self.introduction_id, "invited": self.invited, "accepted": [*self.accepted],
                "refused_cards": [*self.refused_cards], "roster_posted": self.roster_posted,
                "group": self.group.to_json()}


def _check_card(c: _Counselor, iid: bytes, accepted: m.IntroductionAccepted,
                direct: dict[str, m.Conversation]) -> pc.RosterMember:
    """An acceptance's card: it opens, and is signed by and names the key pinned in its direct conversation."""
    conversation = direct.get(accepted.conversation_id)
    if conversation is None:
        raise VerificationError(_("the card comes from a conversation that was not invited"))
    pinned = c.read_direct(conversation)[1]
    if pinned is None:
        raise VerificationError(_("no counselor message in that conversation pins its reporter's key"))
    if accepted.card.wrap is None:
        raise VerificationError(_("the card is not sealed to your key"))
    cid = b64u_decode(accepted.conversation_id, length=16)
    try:
        opened = pc.open_item(pc.Kind.CARD, iid, cid, b64u_decode(accepted.card.content),
                              b64u_decode(accepted.card.wrap), c.me.seed, c.me.key_id)
    except ConsilienceError as exc:
        raise VerificationError(_("the card did not open ({exc})", exc=exc)) from exc
    card = pc.check_card(opened, introduction_id=iid, conversation_id=cid, reporter_key=pinned)
    return pc.RosterMember(card.name, card.key)


def group_counselor(keys: counselor_mod.CounselorKeys, introduction: str, send: str | None = None) -> GroupView:
    """An introduction's group: check new acceptances, post the roster when it changed, then read (and send)."""
    iid = _introduction_id(introduction)
    with _client(keys) as client:
        c = _as_counselor(keys, client)
        try:
            detail = client.introduction(iid)
        except ApiError as exc:
            if exc.status != 404:
                raise
            raise InvalidInput(_("There is no introduction {hex}. 'consilience counselor introduce' printed the "
                                 "id of the one it proposed.", hex=iid.hex())) from exc
        listed = client.conversations(b64u_decode(detail.match_id, length=16))
        direct = {x.conversation_id: x for x in listed if x.kind == "direct" and x.conversation_id in detail.invited}
        conv = next((x for x in listed if x.conversation_id == detail.group_conversation_id), None)
        if conv is None:
            raise ApiError(200, "unexpected_answer", _("the introduction's group conversation is not listed"),
                           server=client.base_url)
        members, bad = [], []
        for a in detail.accepted:
            try:
                members.append(_check_card(c, iid, a, direct))
            except ConsilienceError as exc:
                bad.append(f"{a.conversation_id}: {exc}")
        _view, roster = c.read_group(conv, iid)
        gid = b64u_decode(conv.conversation_id, length=16)
        posted = False
        if members and {x.key for x in members} != ({x.key for x in roster.members} if roster else set()):
            c.can_sign()
            roster = pc.Roster(iid, tuple(members))
            _post(client, gid, roster, c.me, pc.group_recipients(c.deployment, roster))
            posted = True
        if send is not None:
            c.can_sign()
            if roster is None:
                raise InvalidInput(_("Nobody has accepted this introduction yet, so there is nobody to write to. "
                                     "Nothing was sent."))
            _post(client, gid, _text(send, ()), c.me, pc.group_recipients(c.deployment, roster))
        view, _roster = c.read_group(conv, iid)
    return GroupView(b64u_encode(iid), len(detail.invited), tuple(x.name for x in members), tuple(bad), posted, view)


def _introduction_id(text: str) -> bytes:
    given = text.strip()
    if len(given) == 32 and set(given.lower()) <= set("0123456789abcdef"):
        return bytes.fromhex(given.lower())
    try:
        return b64u_decode(given, length=16, field="introduction id")
    except InvalidInput:
        raise InvalidInput(_("{given} is not an introduction id: give the 32 characters (0-9, a-f) that "
                             "'consilience counselor introduce' printed.", given=repr(given))) from None
