"""JSON message shapes of the HTTP API, protocol v2 (PROTOCOL.md §5–§8).

Shared by the services and the SDK so both ends validate the same way.
Byte fields are unpadded base64url strings; the validators decode and
length-check them so that handlers only ever see well-formed values.
Pydantic is a parsing library, not HTTP: this module stays transport-free.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from consilience.errors import InvalidInput
from consilience.i18n import N_, _
from consilience.protocol.encoding import b64u_decode

#: Bounds shared by client and server (PROTOCOL.md §8).
MAX_IDENTIFIERS = 8
#: A sealed body (nonce, JSON, tag) with a few photos attached: 4 MiB.
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_ENVELOPE_BYTES = 16 * 1024
MAX_COUNSELORS = 16
MAX_BATCH = 16
#: Log sizes are stored as signed 64-bit integers (SQLite INTEGER, PostgreSQL BIGINT).
MAX_LOG_SIZE = 2**63 - 1


def _b64u(length: int | None = None, max_length: int | None = None) -> AfterValidator:
    def check(value: str) -> str:
        try:
            raw = b64u_decode(value, length=length)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from exc
        if max_length is not None and len(raw) > max_length:
            raise ValueError(_("at most {max_length} bytes", max_length=max_length))
        if not raw:
            raise ValueError(_("must not be empty"))
        return value

    return AfterValidator(check)


B64Id = Annotated[str, Field(max_length=64), _b64u(16)]
B64Tag = Annotated[str, Field(max_length=64), _b64u(32)]
B64Element = Annotated[str, Field(max_length=64), _b64u(32)]
B64Token = Annotated[str, Field(max_length=256)]
B64Body = Annotated[str, Field(max_length=(MAX_BODY_BYTES * 4) // 3 + 4), _b64u(max_length=MAX_BODY_BYTES)]
B64Envelope = Annotated[
    str, Field(max_length=(MAX_ENVELOPE_BYTES * 4) // 3 + 4), _b64u(max_length=MAX_ENVELOPE_BYTES)
]


#: A messaging key mpk || vk (PROTOCOL.md §13.1): 1216-byte HPKE public key and 32-byte Ed25519 verify key.
MESSAGE_KEY_BYTES = 1248
#: An item key sealed to one recipient: HPKE enc (1120) || 32-byte key || tag (16).
WRAP_BYTES = 1168
MAX_WRAPS = 64
B64MessageKey = Annotated[str, Field(max_length=1700), _b64u(MESSAGE_KEY_BYTES)]
B64Wrap = Annotated[str, Field(max_length=1600), _b64u(WRAP_BYTES)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- key server -----------------------------------------------------------


B64Point = Annotated[str, Field(max_length=96), _b64u(48)]
B64Scalar = Annotated[str, Field(max_length=64), _b64u(32)]


class EvaluateRequestV2(Strict):
    """protocol/evaluation.py: signed by the account key for one key server, answered once."""

    certificate: Annotated[str, Field(max_length=200), _b64u(120)]
    audience: Annotated[str, Field(max_length=64), _b64u(32)]
    issued_at: int = Field(ge=0, lt=2**63, strict=True)
    nonce: B64Id
    blinded: list[B64Element] = Field(min_length=1, max_length=MAX_IDENTIFIERS)
    points: list[B64Point] = Field(min_length=1, max_length=MAX_IDENTIFIERS)
    signature: Annotated[str, Field(max_length=100), _b64u(64)]


class EvaluateResponseV2(Strict):
    """VOPRF evaluations with their proof, the account's abscissa, and Z_q for every level low..high per point."""

    index: int
    evaluated: list[B64Element]
    proof: Annotated[str, _b64u(64)]
    abscissa: B64Scalar
    shares: list[list[B64Point]]


# -- escrow server: deployment and accounts --------------------------------


class SignedDeployment(Strict):
    #: v2 documents carry every level's commitments: up to about 1.5 MB for a range of 2..32 and 7 key servers
    document: Annotated[str, Field(max_length=4_000_000)]
    signature: Annotated[str, _b64u(64)]
    admin_key: Annotated[str, _b64u(32)]


class RegisterRequestV2(Strict):
    """protocol/accounts.py: the invite's account key and a signature by it."""

    account_key: Annotated[str, Field(max_length=64), _b64u(32)]
    proof: Annotated[str, Field(max_length=100), _b64u(64)]
    #: The reporter's messaging key (PROTOCOL.md §13.1); optional so that clients made before it keep working.
    message_key: B64MessageKey | None = None


class RegisterResponseV2(Strict):
    account_id: B64Id
    token: B64Token
    certificate: Annotated[str, Field(max_length=200), _b64u(120)]


# -- bulletin board of the key servers' key generation ----------------------

#: A deal carries every level's commitments and n sealed shares: a few MB at most for 7 key servers.
MAX_BOARD_MESSAGE_BYTES = 8 * 1024 * 1024


class BoardPost(Strict):
    epoch: int = Field(ge=0, lt=2**32, strict=True)
    message: Annotated[str, Field(max_length=(MAX_BOARD_MESSAGE_BYTES * 4) // 3 + 4),
                       _b64u(max_length=MAX_BOARD_MESSAGE_BYTES)]


class BoardMessage(Strict):
    seq: int
    message: str
    received_at: datetime


class BoardPage(Strict):
    messages: list[BoardMessage]
    next_after: int


# -- entries ----------------------------------------------------------------


class Envelope(Strict):
    key_id: B64Id
    ciphertext: B64Envelope


class EntrySubmission(Strict):
    entry_id: B64Id
    quorum: int = Field(ge=2, le=32, strict=True)  # strict: JSON true, 2.0 or "2" are not integers
    tags: list[B64Tag] = Field(min_length=1, max_length=MAX_IDENTIFIERS)
    body: B64Body
    envelopes: list[Envelope] = Field(min_length=1, max_length=MAX_COUNSELORS)
    deployment_serial: int = Field(ge=1, strict=True)


#: What a reporter is told of an entry: never whether it was released (that would tell whether someone else
#: named the same person); a counselor reaching out is how a reporter learns of a match.
EntryStatus = Literal["escrowed", "withdrawn"]


class EntryReceipt(Strict):
    entry_id: B64Id
    status: EntryStatus
    received_at: datetime
    #: C2SP tlog-proof of the event's leaf in the transparency log (PROTOCOL.md §11)
    receipt: Annotated[str, Field(max_length=64_000)] | None = None
    #: True while the entry's latest event is sequenced (acknowledged, durably kept) but not yet in the
    #: log's tree: ``receipt`` is then null, and GET /v2/entries/{id}/receipt answers it once integrated
    sequenced: bool = False


class CosignatureSubmission(Strict):
    size: int = Field(ge=1, le=MAX_LOG_SIZE, strict=True)
    cosignature: Annotated[str, Field(max_length=2_000)]


class ConsistencyProof(Strict):
    old: int
    new: int
    proof: list[Annotated[str, _b64u(32)]]


class InclusionProof(Strict):
    """``GET /v2/log/inclusion``: the RFC 9162 path of leaf ``index`` in the tree of ``size`` (§14.3)."""

    index: int
    size: int
    proof: list[Annotated[str, _b64u(32)]]


class EntrySummary(Strict):
    entry_id: B64Id
    quorum: int
    status: EntryStatus
    received_at: datetime
    updated_at: datetime
    #: key ids of the counselors it holds an envelope for (PROTOCOL.md §13.6): a reporter's client seals it
    #: again when a counselor of the document in force is missing, without fetching every body to find out
    sealed_for: list[B64Id] = Field(default_factory=list, max_length=MAX_COUNSELORS * 4)


class EntryDetail(EntrySummary):
    tags: list[B64Tag]
    body: B64Body | None
    envelopes: list[Envelope]


# -- matches ------------------------------------------------------------------


class MatchSummary(Strict):
    match_id: B64Id
    created_at: datetime
    updated_at: datetime
    released: int


class MatchEntry(Strict):
    """An entry as a counselor gets it: no account id (the abscissa inside the envelope is the only pseudonym)."""

    entry_id: B64Id
    quorum: int
    released: bool
    envelope: B64Envelope
    body: B64Body | None


class MatchDetail(Strict):
    match_id: B64Id
    tag: B64Tag
    entries: list[MatchEntry]


class ErrorResponse(Strict):
    error: str
    detail: str
    #: Set on 409 answers to a submission made against a stale deployment
    #: document (or the wrong counselor set): the serial now in force.
    current_serial: int | None = None


# -- after a match: sealed items and messaging keys (PROTOCOL.md §13.1, §13.2) ---------


class MessageKeyRequest(Strict):
    """PUT /v2/account/message-key: registers a messaging key for a wallet made before messaging existed."""

    message_key: B64MessageKey


class Wrap(Strict):
    """A sealed item's key, HPKE-sealed to one recipient key (named by its key id)."""

    key_id: B64Id
    wrap: B64Wrap


class SealedItem(Strict):
    """A message, card or note as the server stores it: one ciphertext and one wrap per recipient.

    Distinct key ids: two wraps for one key would let a sender hand one recipient a key that differs from
    what the others get, and a server could not tell which one to give out.
    """

    content: B64Body
    wraps: list[Wrap] = Field(min_length=1, max_length=MAX_WRAPS)

    @model_validator(mode="after")
    def _distinct_key_ids(self) -> SealedItem:
        ids = [w.key_id for w in self.wraps]
        if len(set(ids)) != len(ids):
            raise ValueError(_("each recipient key may have only one wrap"))
        return self


# -- cases (PROTOCOL.md §13.5) --------------------------------------------------------

CaseState = Literal["new", "reaching_out", "in_contact", "closed"]


class CaseMatch(Strict):
    match_id: B64Id
    released: int
    created_at: datetime


class Case(Strict):
    """GET /v2/cases: what counselors do about one person; ``attention`` 0 is the most urgent."""

    case_id: B64Id
    matches: list[CaseMatch]
    owner_key_id: B64Id | None
    owner: str | None
    state: CaseState
    created_at: datetime
    updated_at: datetime
    reached_out_at: datetime | None
    overdue: bool
    waiting_reply: bool
    attention: int


class CaseUpdate(Strict):
    """PUT /v2/cases/{id}: a field left out stays as it is; ``"owner_key_id": null`` leaves the case to no one."""

    owner_key_id: B64Id | None = None
    state: CaseState | None = None

    @model_validator(mode="after")
    def _something(self) -> CaseUpdate:
        if not self.model_fields_set:
            raise ValueError(_('say what to change: "owner_key_id", "state" or both'))
        if "state" in self.model_fields_set and self.state is None:
            raise ValueError(_("a case always has a state: new, reaching_out, in_contact or closed"))
        return self


class CaseLink(Strict):
    """POST /v2/cases/{id}/links: this match names the case's person too; its own case is merged in."""

    match_id: B64Id


class CaseNoteSubmission(SealedItem):
    """POST /v2/cases/{id}/notes: a note sealed under the case id (kind 3) to every counselor key."""

    note_id: B64Id


class CaseNote(Strict):
    """A stored note with the caller's wrap; ``scope`` is the case id it was sealed under (a merge moves notes)."""

    note_id: B64Id
    scope: B64Id
    author_key_id: B64Id | None
    content: B64Body
    wrap: B64Wrap | None
    created_at: datetime


# -- conversations and introductions (PROTOCOL.md §13.3, §13.4) ------------------------

#: An introduction connects 2 to 32 reporters (the largest roster, PROTOCOL.md §13.2).
MAX_INTRODUCED = 32
#: GET /v2/conversations/{id}/messages: at most this many messages per page.
MESSAGE_PAGE_SIZE = 100
ConversationKind = Literal["direct", "group"]
MessageSender = Literal["counselor", "reporter"]


class ConversationRequest(Strict):
    """POST /v2/conversations (counselor): open the conversation with the reporter of one released entry."""

    conversation_id: B64Id
    match_id: B64Id
    entry_id: B64Id


class Conversation(Strict):
    """A conversation as its caller may see it; ``match_id`` is null for reporters (they are told of no match)."""

    conversation_id: B64Id
    kind: ConversationKind
    match_id: B64Id | None
    entry_id: B64Id | None
    introduction_id: B64Id | None
    created_at: datetime
    updated_at: datetime
    #: the number of its newest message (messages are numbered 1, 2, 3… within each conversation)
    last_seq: int
    messages: int


class MessageSubmission(SealedItem):
    """POST /v2/conversations/{id}/messages: one sealed item of kind 1 (scope = the conversation id)."""

    message_id: B64Id


class PostedMessage(Strict):
    seq: int
    received_at: datetime


class StoredMessage(Strict):
    """One stored message with the caller's own wrap (null if it has none); ``from`` is the server's bookkeeping,
    clients trust only the signature inside."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    seq: int
    message_id: B64Id
    sender: MessageSender = Field(alias="from")
    content: B64Body
    wrap: B64Wrap | None
    received_at: datetime


class MessagePage(Strict):
    messages: list[StoredMessage]
    #: pass as ``after`` for the next page; the same as ``after`` when there was nothing new
    next_after: int


class IntroductionRequest(Strict):
    """POST /v2/matches/{id}/introductions (counselor): invite the reporters of these direct conversations."""

    introduction_id: B64Id
    group_conversation_id: B64Id
    conversation_ids: list[B64Id] = Field(min_length=2, max_length=MAX_INTRODUCED)

    @model_validator(mode="after")
    def _distinct_conversations(self) -> IntroductionRequest:
        if len(set(self.conversation_ids)) != len(self.conversation_ids):
            raise ValueError(_("each conversation may be invited once"))
        return self


class IntroductionCard(Strict):
    content: B64Body
    wrap: B64Wrap | None


class IntroductionAccepted(Strict):
    conversation_id: B64Id
    card: IntroductionCard
    accepted_at: datetime


class IntroductionDetail(Strict):
    """GET /v2/introductions/{id} for a counselor: whom it invited, and the cards of those who accepted."""

    introduction_id: B64Id
    match_id: B64Id
    group_conversation_id: B64Id
    invited: list[B64Id]
    accepted: list[IntroductionAccepted]


class IntroductionForReporter(Strict):
    """GET /v2/introductions/{id} for an invited reporter: nothing of the others, only whether it accepted."""

    introduction_id: B64Id
    group_conversation_id: B64Id
    accepted: bool


class IntroductionAcceptance(Strict):
    """POST /v2/introductions/{id}/accept (reporter): its card (kind 2, scope = the introduction id, item id =
    ``conversation_id``). A decline is sent nowhere."""

    conversation_id: B64Id
    card: SealedItem


# -- who read a record (PROTOCOL.md §13.6) ---------------------------------------------


class Reader(Strict):
    """A counselor opening that handed out this entry's body: the counselor's key id (named by the signed
    deployment document), when, and a receipt of the opening's leaf (null until a release pass logs it)."""

    counselor_key_id: B64Id
    opened_at: datetime
    receipt: Annotated[str, Field(max_length=64_000)] | None


class Readers(Strict):
    """GET /v2/entries/{id}/readers (the entry's own reporter only)."""

    readers: list[Reader]


# -- handover (PROTOCOL.md §13.6) ---------------------------------------------------------

#: Envelopes and wraps per page of GET /v2/handover/{key_id}, and the most one POST may carry of each.
HANDOVER_PAGE = 100
#: A page cursor: "" (the start), "e.<entry id>" or "w.<kind>.<item id>" (the last item given, b64u).
HandoverCursor = Annotated[str, Field(max_length=64)]


class HandoverEnvelope(Strict):
    """An entry envelope addressed to the caller, for an entry that has none for the handover's target."""

    entry_id: B64Id
    envelope: B64Envelope


class HandoverWrap(Strict):
    """A sealed item's key wrapped to the caller, for an item the target has no wrap of; ``scope`` is what the
    item was sealed under (conversation, introduction or case id), so its context can be rebuilt."""

    kind: int = Field(ge=1, le=3, strict=True)
    item_id: B64Id
    scope: B64Id
    wrap: B64Wrap


class HandoverPage(Strict):
    """GET /v2/handover/{key_id}?after=: ``next_after`` is null once nothing is left after this page."""

    envelopes: list[HandoverEnvelope]
    wraps: list[HandoverWrap]
    next_after: HandoverCursor | None


class HandoverSealed(Strict):
    """An envelope re-sealed to the target: ``hpke.seal(pk, plaintext, envelope_info(entry_id, key_id))``."""

    entry_id: B64Id
    ciphertext: B64Envelope


class HandoverWrapped(Strict):
    """An item key re-wrapped to the target under the item's context."""

    kind: int = Field(ge=1, le=3, strict=True)
    item_id: B64Id
    wrap: B64Wrap


class HandoverSubmission(Strict):
    """POST /v2/handover/{key_id}: stored only where the target still has none."""

    envelopes: list[HandoverSealed] = Field(default_factory=list, max_length=HANDOVER_PAGE)
    wraps: list[HandoverWrapped] = Field(default_factory=list, max_length=HANDOVER_PAGE)


class HandoverStored(Strict):
    stored: int


# -- notification addresses (PROTOCOL.md §13.7) -------------------------------------------

#: The longest mail address (RFC 5321's path limit, and ``accounts.notify_email``'s size).
MAX_NOTIFY_EMAIL = 320
#: Characters that would let one address become several, or a name, in a mail header.
_NOT_IN_AN_ADDRESS = frozenset(',;:<>()[]"\\')
_LIKE = N_("like name@example.org")


def notify_address(value: str) -> str:
    """A mail address fit to be the sole recipient of a header: one plain address, nothing around it.

    Checked where it is given (client), where it is stored (server, operator) and before it is used,
    so that no address can smuggle a second recipient, a header or a line break into a mail.
    """
    if not isinstance(value, str) or not value:
        raise InvalidInput(_("give one mail address, {LIKE}", LIKE=_(_LIKE)))
    if len(value) > MAX_NOTIFY_EMAIL:
        raise InvalidInput(_("a mail address has at most {MAX_NOTIFY_EMAIL} characters",
                             MAX_NOTIFY_EMAIL=MAX_NOTIFY_EMAIL))
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidInput(_("a mail address has no spaces or line breaks; give one address, {LIKE}", LIKE=_(_LIKE)))
    if value.count("@") != 1:
        raise InvalidInput(_("a mail address has exactly one @, {LIKE}", LIKE=_(_LIKE)))
    local, domain = value.split("@")
    if not local or not domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        raise InvalidInput(_("a mail address has a name before the @ and a domain after it, {LIKE}", LIKE=_(_LIKE)))
    if _NOT_IN_AN_ADDRESS & set(value):
        raise InvalidInput(_("give one plain mail address, {LIKE}, without a name, brackets, quotes or commas",
                             LIKE=_(_LIKE)))
    return value


def _notify_address(value: str) -> str:
    try:
        return notify_address(value)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


NotifyEmail = Annotated[str, Field(max_length=MAX_NOTIFY_EMAIL), AfterValidator(_notify_address)]


class NotifyAddressRequest(Strict):
    """PUT /v2/account/notify: where to say "something is waiting"; ``null`` removes the address.

    The key is required, so that an empty object does not read as "remove it".
    """

    email: NotifyEmail | None


class NotifyAddress(Strict):
    """The account's notification address as stored, and whether this server sends mail at all."""

    email: str | None
    sends_mail: bool


class AccountDeletion(Strict):
    """DELETE /v2/account (PROTOCOL.md §14.2): how many entries were erased now, and what stays (the same words
    for every account, so they tell nobody whether an entry was released)."""

    erased_entries: int = Field(ge=0)
    what_stays: list[str]
