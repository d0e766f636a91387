"""Sealed items after a match: messages, introduction cards and case notes (PROTOCOL.md §13.1, §13.2).

One construction serves every item, so there is one thing to get right and
one thing to check. A sender signs a canonical JSON ``inner`` with Ed25519,
encrypts ``signature || inner`` under a fresh item key ``k`` (ChaCha20-Poly1305),
and seals ``k`` to each recipient's HPKE key (one *wrap* per recipient). Every
layer is bound to the item's 33-byte context ``kind || scope || item_id``, so a
ciphertext, a wrap or a signature cannot be moved to another conversation,
another message id or another kind of item.

The signature sits *inside* the encryption on purpose: the escrow server,
which stores the items, cannot even see who signed one, let alone read it, and
a recipient still gets non-malleable proof of authorship. The server learns
only sizes, times and which key ids an item was wrapped to.

Opening (:func:`open_item`) proves that the item is intact and that the key
named in ``inner["sender"]`` signed it. Whether that key may speak here is the
caller's question, answered by the ``check_*`` helpers below against what the
caller trusts without the server: the administrator-signed deployment document
(counselors' signing keys) and the reporter's messaging key pinned from the
reporter's own sealed entry body.

Nothing here talks to a network or a database; the client modules call it,
the escrow server never does.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from consilience.crypto import aead, hpke, kdf, signing
from consilience.errors import DecryptionError, InvalidInput, VerificationError
from consilience.i18n import _
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import Attachment
from consilience.protocol.messages import MAX_BODY_BYTES, MAX_WRAPS, MESSAGE_KEY_BYTES, WRAP_BYTES

if TYPE_CHECKING:
    from consilience.protocol.deployment import Counselor, Deployment

# -- labels (PROTOCOL.md §10) ---------------------------------------------------------------

#: KDF label: a reporter's Ed25519 signing seed from its messaging seed.
MESSAGE_SIGNING_LABEL = "consilience-v2 message signing key"
#: KDF label: a counselor's Ed25519 signing seed from its HPKE seed (no new secret in the key file).
COUNSELOR_SIGNING_LABEL = "consilience-v2 counselor signing key"
#: Ed25519 signed-bytes prefix of every item's inner document.
SIGNATURE_LABEL = b"consilience-v2 item signature"
#: AEAD associated-data prefix of every item's content.
CONTENT_AAD = b"consilience-v2 item"
#: HPKE info prefix of every wrap of an item key.
WRAP_INFO = b"consilience-v2 item key"

# -- sizes ----------------------------------------------------------------------------------

ID_BYTES = 16
CONTEXT_BYTES = 1 + 2 * ID_BYTES
SIGNATURE_BYTES = 64
VERIFY_KEY_BYTES = 32
ITEM_KEY_BYTES = aead.KEY_BYTES
MAX_NAME_CHARS = 64
MAX_ROSTER = 32
INNER_VERSION = 1

assert MESSAGE_KEY_BYTES == hpke.PUBLIC_KEY_BYTES + VERIFY_KEY_BYTES
assert WRAP_BYTES == ITEM_KEY_BYTES + hpke.CIPHERTEXT_OVERHEAD


class Kind(IntEnum):
    """The first byte of an item's context: what the scope and item id name."""

    MESSAGE = 1  # scope: conversation id, item: message id (random)
    CARD = 2  # scope: introduction id, item: the accepter's direct conversation id
    NOTE = 3  # scope: case id, item: note id (random)


# -- keys (§13.1) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MessagingPublicKey:
    """A reporter's messaging key as others see it: ``mpk || vk`` (1248 bytes).

    One value carries both halves so that whoever pins it (a counselor, from
    the reporter's sealed body) pins the encryption key and the signature key
    together: nobody can pair a reporter's signature key with a key of their own.
    """

    hpke_public: bytes
    verify_key: bytes

    def __post_init__(self) -> None:
        hpke.parse_public_key(self.hpke_public)  # length, ML-KEM check, no low-order X25519 point
        if not isinstance(self.verify_key, bytes) or len(self.verify_key) != VERIFY_KEY_BYTES:
            raise InvalidInput(_("a messaging key's signature half is {VERIFY_KEY_BYTES} bytes",
                                 VERIFY_KEY_BYTES=VERIFY_KEY_BYTES))

    def encode(self) -> bytes:
        return self.hpke_public + self.verify_key

    @property
    def key_id(self) -> bytes:
        return hpke.key_id(self.hpke_public)

    @classmethod
    def parse(cls, data: bytes) -> MessagingPublicKey:
        if not isinstance(data, (bytes, bytearray)) or len(data) != MESSAGE_KEY_BYTES:
            raise InvalidInput(_("a messaging key is {MESSAGE_KEY_BYTES} bytes", MESSAGE_KEY_BYTES=MESSAGE_KEY_BYTES))
        raw = bytes(data)
        try:
            return cls(raw[:hpke.PUBLIC_KEY_BYTES], raw[hpke.PUBLIC_KEY_BYTES:])
        except InvalidInput as exc:  # the ML-KEM check of FIPS 203, or a low-order X25519 point
            raise InvalidInput(_("not a usable messaging key: its encryption half is invalid")) from exc


@dataclass(frozen=True)
class MessagingKey:
    """A reporter's messaging key pair, all of it from one 32-byte seed kept in the wallet.

    The HPKE private key is the seed itself (X-Wing's seed form); the Ed25519
    signing seed is derived from it under its own label, so one secret backs
    both and the wallet has one more field, not two.
    """

    seed: bytes = field(repr=False)  # a secret: never in a log line or a traceback

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != hpke.SEED_BYTES:
            raise InvalidInput(_("a messaging seed is {SEED_BYTES} bytes", SEED_BYTES=hpke.SEED_BYTES))

    @classmethod
    def generate(cls) -> MessagingKey:
        return cls(hpke.generate_private_key())

    @cached_property
    def signing_seed(self) -> bytes:
        return kdf.derive(self.seed, MESSAGE_SIGNING_LABEL, b"", 32)

    @cached_property
    def public(self) -> MessagingPublicKey:
        return MessagingPublicKey(hpke.public_key_bytes(self.seed), signing.public_key(self.signing_seed))

    @property
    def hpke_public(self) -> bytes:
        return self.public.hpke_public

    @property
    def verify_key(self) -> bytes:
        return self.public.verify_key

    @property
    def key_id(self) -> bytes:
        return self.public.key_id

    def encode_public(self) -> bytes:
        return self.public.encode()


def counselor_signing_seed(counselor_hpke_seed: bytes) -> bytes:
    """A counselor's Ed25519 signing seed, derived from its HPKE seed so the key file holds no new secret."""
    if not isinstance(counselor_hpke_seed, bytes) or len(counselor_hpke_seed) != hpke.SEED_BYTES:
        raise InvalidInput(_("a counselor key seed is {SEED_BYTES} bytes", SEED_BYTES=hpke.SEED_BYTES))
    return kdf.derive(counselor_hpke_seed, COUNSELOR_SIGNING_LABEL, b"", 32)


def counselor_signing_key(counselor_hpke_seed: bytes) -> bytes:
    """The public half: what the counselor's public file and the deployment document list."""
    return signing.public_key(counselor_signing_seed(counselor_hpke_seed))


# -- inner documents ------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A message in words, with files if any: the one type everybody in a conversation may send."""

    text: str
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "attachments", tuple(self.attachments))
        if not isinstance(self.text, str):
            raise InvalidInput(_("a message's text is a string"))
        if not self.text and not self.attachments:
            raise InvalidInput(_("a message needs text or an attachment"))


@dataclass(frozen=True)
class Reveal:
    """A reporter chooses to say how to reach them: sent only when they decide, never asked of them."""

    contact: str
    text: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.contact, str) or not self.contact:
            raise InvalidInput(_("a reveal names how to reach you (it cannot be empty)"))
        if self.text is not None and not isinstance(self.text, str):
            raise InvalidInput(_("a reveal's text is a string"))


@dataclass(frozen=True)
class IntroductionMsg:
    """A counselor's offer, in a direct conversation, to introduce this reporter to the others of the match."""

    introduction: bytes
    text: str

    def __post_init__(self) -> None:
        _check_id(self.introduction, "introduction")
        if not isinstance(self.text, str):
            raise InvalidInput(_("an introduction's text is a string"))


@dataclass(frozen=True)
class RosterMember:
    name: str
    key: MessagingPublicKey

    def __post_init__(self) -> None:
        _check_name(self.name)


@dataclass(frozen=True)
class Roster:
    """Who is in a group, as a counselor checked it: members learn names only from this, signed by a counselor."""

    introduction: bytes
    members: tuple[RosterMember, ...]

    def __post_init__(self) -> None:
        _check_id(self.introduction, "introduction")
        members = tuple(sorted(self.members, key=lambda m: m.key.encode()))
        if not 1 <= len(members) <= MAX_ROSTER:
            raise InvalidInput(_("a group has 1 to {MAX_ROSTER} members", MAX_ROSTER=MAX_ROSTER))
        if len({m.key.encode() for m in members}) != len(members):
            raise InvalidInput(_("a member appears twice in the group"))
        object.__setattr__(self, "members", members)

    def member(self, verify_key: bytes) -> RosterMember | None:
        return next((m for m in self.members if m.key.verify_key == verify_key), None)


@dataclass(frozen=True)
class Card:
    """An accepting reporter's display name and messaging key, for the counselor to check and list."""

    introduction: bytes
    name: str
    key: MessagingPublicKey

    def __post_init__(self) -> None:
        _check_id(self.introduction, "introduction")
        _check_name(self.name)


@dataclass(frozen=True)
class Note:
    """A counselor's private note on a case, readable by the deployment's counselors only."""

    text: str

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text:
            raise InvalidInput(_("a note cannot be empty"))


Payload = Text | Reveal | IntroductionMsg | Roster | Card | Note

_TYPE_NAMES: dict[type, str] = {Text: "text", Reveal: "reveal", IntroductionMsg: "introduction",
                                Roster: "roster", Card: "card", Note: "note"}
#: The item kind each type travels as; opening refuses any other pairing.
KIND_OF_TYPE: dict[str, Kind] = {"text": Kind.MESSAGE, "reveal": Kind.MESSAGE, "introduction": Kind.MESSAGE,
                                 "roster": Kind.MESSAGE, "card": Kind.CARD, "note": Kind.NOTE}
_COMMON = frozenset({"v", "type", "sender", "sent_at"})
#: Per type: (required fields, optional fields) beside the common ones.
_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "text": (frozenset({"text"}), frozenset({"attachments", "entry", "to"})),
    "reveal": (frozenset({"contact"}), frozenset({"text", "entry"})),
    "introduction": (frozenset({"introduction", "text", "entry", "to"}), frozenset()),
    "roster": (frozenset({"introduction", "members"}), frozenset()),
    "card": (frozenset({"introduction", "name", "key"}), frozenset()),
    "note": (frozenset({"text"}), frozenset()),
}
_SENT_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _check_id(value: Any, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != ID_BYTES:
        raise InvalidInput(_("{what} id must be {ID_BYTES} bytes", what=what, ID_BYTES=ID_BYTES))


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CHARS:
        raise InvalidInput(_("a display name has 1 to {MAX_NAME_CHARS} characters", MAX_NAME_CHARS=MAX_NAME_CHARS))


def now_sent_at() -> str:
    """The current time as ``inner["sent_at"]`` writes it: RFC 3339, UTC, whole seconds, ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_sent_at(value: Any) -> str:
    if not isinstance(value, str) or not _SENT_AT.fullmatch(value):
        raise InvalidInput(_("sent_at is an RFC 3339 UTC time in whole seconds, like 2026-12-01T10:00:00Z"))
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError as exc:
        raise InvalidInput(_("sent_at is not a valid time")) from exc
    return value


def canonical_json(doc: Any) -> bytes:
    """The one byte form of an inner document; the JS side writes the same bytes (sorted keys, no spaces)."""
    try:
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: not text any other program could read
        raise InvalidInput(_("the text is not valid Unicode (it holds a lone surrogate)")) from exc


@dataclass(frozen=True)
class Inner:
    """What the sender signs: the payload, who signs, when, and for direct conversations what and whom it is about.

    ``entry`` names the reporter's entry a direct conversation is about;
    ``to`` is the reporter messaging key a counselor pinned from that entry's
    sealed body. Both are signed, so a message cannot be replayed into
    another reporter's conversation and still check.
    """

    payload: Payload
    sender: bytes
    sent_at: str
    entry: bytes | None = None
    to: MessagingPublicKey | None = None

    def __post_init__(self) -> None:
        if type(self.payload) not in _TYPE_NAMES:
            raise InvalidInput(_("unknown kind of message"))
        if not isinstance(self.sender, bytes) or len(self.sender) != VERIFY_KEY_BYTES:
            raise InvalidInput(_("sender is a {VERIFY_KEY_BYTES}-byte Ed25519 key", VERIFY_KEY_BYTES=VERIFY_KEY_BYTES))
        _check_sent_at(self.sent_at)
        if self.entry is not None:
            _check_id(self.entry, "entry")
        required, optional = _FIELDS[self.type]
        for name, value in (("entry", self.entry), ("to", self.to)):
            if value is None and name in required:
                raise InvalidInput(_("a message of type {type} names its {name}", type=self.type, name=name))
            if value is not None and name not in required | optional:
                raise InvalidInput(_("a message of type {type} has no {name}", type=self.type, name=name))

    @property
    def type(self) -> str:
        return _TYPE_NAMES[type(self.payload)]

    @property
    def kind(self) -> Kind:
        return KIND_OF_TYPE[self.type]

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"v": INNER_VERSION, "type": self.type, "sender": b64u_encode(self.sender),
                               "sent_at": self.sent_at}
        p = self.payload
        if isinstance(p, Text):
            doc["text"] = p.text
            if p.attachments:
                doc["attachments"] = [a.to_json() for a in p.attachments]
        elif isinstance(p, Reveal):
            doc["contact"] = p.contact
            if p.text is not None:
                doc["text"] = p.text
        elif isinstance(p, IntroductionMsg):
            doc["introduction"] = b64u_encode(p.introduction)
            doc["text"] = p.text
        elif isinstance(p, Roster):
            doc["introduction"] = b64u_encode(p.introduction)
            doc["members"] = [{"name": m.name, "key": b64u_encode(m.key.encode())} for m in p.members]
        elif isinstance(p, Card):
            doc["introduction"] = b64u_encode(p.introduction)
            doc["name"] = p.name
            doc["key"] = b64u_encode(p.key.encode())
        else:
            doc["text"] = p.text
        if self.entry is not None:
            doc["entry"] = b64u_encode(self.entry)
        if self.to is not None:
            doc["to"] = b64u_encode(self.to.encode())
        return doc

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> Inner:
        """Strict parse: canonical bytes, exactly the fields of the type, each of its type and size."""
        try:
            doc = json.loads(bytes(data).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise InvalidInput(_("malformed message: not UTF-8 JSON")) from exc
        if not isinstance(doc, dict):
            raise InvalidInput(_("malformed message: not a JSON object"))
        try:
            canonical = canonical_json(doc)
        except (ValueError, UnicodeEncodeError) as exc:
            raise InvalidInput(_("malformed message: not canonical JSON")) from exc
        if canonical != bytes(data):
            raise InvalidInput(_("malformed message: not canonical JSON (sorted keys, no spaces, each key once)"))
        version = doc.get("v")
        if type(version) is not int or version != INNER_VERSION:
            raise InvalidInput(_("malformed message: unknown version (this software reads version 1)"))
        kind_name = doc.get("type")
        if not isinstance(kind_name, str) or kind_name not in _FIELDS:
            raise InvalidInput(_("malformed message: unknown type {kind_name}", kind_name=repr(kind_name)))
        required, optional = _FIELDS[kind_name]
        keys = set(doc)
        missing = sorted((_COMMON | required) - keys)
        extra = sorted(keys - _COMMON - required - optional)
        if missing:
            raise InvalidInput(_("malformed message of type {kind_name}: missing {join_missing}",
                                 kind_name=kind_name, join_missing=', '.join(missing)))
        if extra:
            raise InvalidInput(_("malformed message of type {kind_name}: unexpected {join_extra}",
                                 kind_name=kind_name, join_extra=', '.join(extra)))
        sender = _b64(doc["sender"], VERIFY_KEY_BYTES, "sender")
        entry = None if "entry" not in doc else _b64(doc["entry"], ID_BYTES, "entry")
        to = None if "to" not in doc else _key(doc["to"], "to")
        payload = _payload(kind_name, doc)
        return cls(payload=payload, sender=sender, sent_at=_check_sent_at(doc["sent_at"]), entry=entry, to=to)


def _b64(value: Any, length: int, what: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidInput(_("malformed message: {what} is a base64url string", what=what))
    return b64u_decode(value, length=length, field=what)


def _key(value: Any, what: str) -> MessagingPublicKey:
    return MessagingPublicKey.parse(_b64(value, MESSAGE_KEY_BYTES, what))


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(_("malformed message: {what} is a string", what=what))
    return value


def _payload(kind_name: str, doc: dict[str, Any]) -> Payload:
    if kind_name == "text":
        attachments = doc.get("attachments", [])
        if "attachments" in doc and (not isinstance(attachments, list) or not attachments):
            raise InvalidInput(_("malformed message: attachments are a non-empty list"))
        return Text(_string(doc["text"], "text"), tuple(Attachment.from_json(a) for a in attachments))
    if kind_name == "reveal":
        return Reveal(_string(doc["contact"], "contact"),
                      None if "text" not in doc else _string(doc["text"], "text"))
    if kind_name == "introduction":
        return IntroductionMsg(_b64(doc["introduction"], ID_BYTES, "introduction"), _string(doc["text"], "text"))
    if kind_name == "roster":
        members = doc["members"]
        if not isinstance(members, list) or not 1 <= len(members) <= MAX_ROSTER:
            raise InvalidInput(_("malformed message: a roster lists 1 to {MAX_ROSTER} members", MAX_ROSTER=MAX_ROSTER))
        parsed = []
        for member in members:
            if not isinstance(member, dict) or set(member) != {"name", "key"}:
                raise InvalidInput(_("malformed message: a roster member has exactly name and key"))
            parsed.append(RosterMember(_string(member["name"], "name"), _key(member["key"], _("member key"))))
        encoded = [m.key.encode() for m in parsed]
        if any(a >= b for a, b in zip(encoded, encoded[1:], strict=False)):
            raise InvalidInput(_("malformed message: roster members are sorted by key, each once"))
        return Roster(_b64(doc["introduction"], ID_BYTES, "introduction"), tuple(parsed))
    if kind_name == "card":
        return Card(_b64(doc["introduction"], ID_BYTES, "introduction"), _string(doc["name"], "name"),
                    _key(doc["key"], "key"))
    return Note(_string(doc["text"], "text"))


# -- sealing and opening (§13.2) ------------------------------------------------------------


def context(kind: Kind, scope: bytes, item_id: bytes) -> bytes:
    """``u8 kind || scope || item_id``: what every layer of an item is bound to."""
    if not isinstance(kind, Kind):
        raise InvalidInput(_("unknown kind of item"))
    _check_id(scope, "scope")
    _check_id(item_id, "item")
    return bytes([kind]) + scope + item_id


def wrap_info(ctx: bytes, key_id: bytes) -> bytes:
    return WRAP_INFO + ctx + key_id


def signed_bytes(ctx: bytes, inner: bytes) -> bytes:
    return SIGNATURE_LABEL + ctx + inner


@dataclass(frozen=True)
class Sealed:
    """An item as it is sent and stored: one ciphertext, and the item key sealed to each recipient."""

    content: bytes
    wraps: dict[bytes, bytes] = field(default_factory=dict)  # key id -> wrap

    def to_json(self) -> dict[str, Any]:
        """The JSON of ``messages.SealedItem`` (the body of the POST that stores it)."""
        return {"content": b64u_encode(self.content),
                "wraps": [{"key_id": b64u_encode(k), "wrap": b64u_encode(w)} for k, w in self.wraps.items()]}


def seal_item(kind: Kind, scope: bytes, item_id: bytes, payload: Payload, *, signer_seed: bytes,
              recipients: Iterable[bytes], sent_at: str | None = None, entry: bytes | None = None,
              to: MessagingPublicKey | None = None) -> Sealed:
    """Sign, encrypt and wrap one item for ``recipients`` (HPKE public keys; the same key twice is one wrap).

    The sender's own key must be among the recipients for the sender to read
    it back later; the conversation helpers (``direct_recipients`` and the
    others) include it. ``kind`` must be the payload's: a card can never be
    opened as a message, nor a note as a card.
    """
    ctx = context(kind, scope, item_id)
    inner = Inner(payload=payload, sender=signing.public_key(signer_seed), sent_at=sent_at or now_sent_at(),
                  entry=entry, to=to)
    if inner.kind != kind:
        raise InvalidInput(_("a {type} is sent as item kind {sent_as}, not {kind}",
                             type=inner.type, sent_as=inner.kind.name.lower(), kind=kind.name.lower()))
    inner_bytes = inner.to_bytes()
    signature = signing.sign(signer_seed, signed_bytes(ctx, inner_bytes))
    if len(signature) + len(inner_bytes) + aead.OVERHEAD > MAX_BODY_BYTES:
        raise InvalidInput(_("this message is {len_inner_bytes} bytes; a message holds at most about "
                             "{max_mib} MiB (attachments count a third more than their size)",
                             len_inner_bytes=len(inner_bytes), max_mib=MAX_BODY_BYTES // (1024 * 1024)))
    keys: dict[bytes, bytes] = {}
    for public_key in recipients:
        keys.setdefault(hpke.key_id(public_key), bytes(public_key))
    if not 1 <= len(keys) <= MAX_WRAPS:
        raise InvalidInput(_("an item goes to 1 to {MAX_WRAPS} keys, not {len_keys}",
                             MAX_WRAPS=MAX_WRAPS, len_keys=len(keys)))
    item_key = aead.new_key()
    content = aead.seal(item_key, signature + inner_bytes, CONTENT_AAD + ctx)
    wraps = {kid: hpke.seal(pk, item_key, wrap_info(ctx, kid)) for kid, pk in keys.items()}
    return Sealed(content=content, wraps=wraps)


@dataclass(frozen=True)
class Opened:
    """An item that opened and whose signature holds: by ``inner.sender``, whoever that turns out to be."""

    kind: Kind
    scope: bytes
    item_id: bytes
    inner: Inner
    signature: bytes

    @property
    def type(self) -> str:
        return self.inner.type

    @property
    def sender(self) -> bytes:
        return self.inner.sender

    @property
    def payload(self) -> Payload:
        return self.inner.payload


def _my_key_id(my_seed: bytes, my_key_id: bytes | None) -> bytes:
    return hpke.key_id(hpke.public_key_bytes(my_seed)) if my_key_id is None else my_key_id


def _item_key(ctx: bytes, wrap: bytes, my_seed: bytes, my_key_id: bytes) -> bytes:
    if not isinstance(wrap, (bytes, bytearray)) or len(wrap) != WRAP_BYTES:
        raise InvalidInput(_("a wrap is {WRAP_BYTES} bytes", WRAP_BYTES=WRAP_BYTES))
    try:
        item_key = hpke.open(my_seed, bytes(wrap), wrap_info(ctx, my_key_id))
    except DecryptionError as exc:
        raise DecryptionError(_("this item's key is not sealed to your key for this item (or it was changed)")) from exc
    if len(item_key) != ITEM_KEY_BYTES:
        raise DecryptionError(_("this item's key has the wrong size"))
    return item_key


def open_item(kind: Kind, scope: bytes, item_id: bytes, content: bytes, wrap: bytes, my_seed: bytes,
              my_key_id: bytes | None = None) -> Opened:
    """Open an item with my wrap, check it whole, and check its signature by the key it names as sender.

    Raises DecryptionError if the wrap or content is not for this key and
    this context, InvalidInput if the inner document is not exactly what a
    sender makes, VerificationError if the signature does not hold. It does
    not say whether the sender may speak here: see the ``check_*`` helpers.
    """
    ctx = context(kind, scope, item_id)
    if not isinstance(content, (bytes, bytearray)) or len(content) > MAX_BODY_BYTES:
        raise InvalidInput(_("an item is at most {MAX_BODY_BYTES} bytes", MAX_BODY_BYTES=MAX_BODY_BYTES))
    item_key = _item_key(ctx, wrap, my_seed, _my_key_id(my_seed, my_key_id))
    try:
        plain = aead.open(item_key, bytes(content), CONTENT_AAD + ctx)
    except DecryptionError as exc:
        raise DecryptionError(_("this item does not open: it was changed, or belongs to another conversation, "
                                "message or kind of item")) from exc
    if len(plain) <= SIGNATURE_BYTES:
        raise InvalidInput(_("malformed item: too short"))
    signature, inner_bytes = plain[:SIGNATURE_BYTES], plain[SIGNATURE_BYTES:]
    inner = Inner.from_bytes(inner_bytes)
    try:
        signing.verify(inner.sender, signed_bytes(ctx, inner_bytes), signature)
    except VerificationError as exc:
        raise VerificationError(_("this item's signature does not hold: it was not signed by the key it "
                                  "names")) from exc
    if inner.kind != kind:
        raise InvalidInput(_("a {type} cannot be an item of kind {kind_name_lower}",
                             type=inner.type, kind_name_lower=kind.name.lower()))
    return Opened(kind=kind, scope=bytes(scope), item_id=bytes(item_id), inner=inner, signature=signature)


def rewrap(kind: Kind, scope: bytes, item_id: bytes, wrap: bytes, my_seed: bytes, new_public_key: bytes,
           my_key_id: bytes | None = None) -> tuple[bytes, bytes]:
    """Seal an item's key to another key (handover): returns ``(new key id, new wrap)``.

    The item itself is not touched, so its signature keeps naming its author;
    the new holder learns exactly what the old one could read, nothing more.
    """
    ctx = context(kind, scope, item_id)
    item_key = _item_key(ctx, wrap, my_seed, _my_key_id(my_seed, my_key_id))
    new_id = hpke.key_id(new_public_key)
    return new_id, hpke.seal(new_public_key, item_key, wrap_info(ctx, new_id))


# -- who may send what (the caller's half of opening) ---------------------------------------


def counselor_signers(deployment: Deployment) -> dict[bytes, Counselor]:
    """Signing key -> counselor, for the counselors of a verified document that have one."""
    return {c.signing_key: c for c in deployment.counselors if c.signing_key is not None}


def require_sender(opened: Opened, allowed: Mapping[bytes, Any] | Iterable[bytes], refusal: str) -> None:
    """Refuse unless the item's signer is one of ``allowed`` (keys, or a mapping keyed by them); ``refusal`` is
    shown as it is, so it comes translated."""
    keys = set(allowed)
    if opened.sender not in keys:
        raise VerificationError(refusal)


def require_counselor(opened: Opened, deployment: Deployment) -> Counselor:
    """The counselor who signed, or VerificationError: reporters trust only keys the signed document lists."""
    signers = counselor_signers(deployment)
    require_sender(opened, signers, _("this message is not signed by a counselor of this deployment"))
    return signers[opened.sender]


def check_direct(opened: Opened, deployment: Deployment, *, entry_id: bytes,
                 reporter_key: MessagingPublicKey) -> Counselor | None:
    """A message of a direct conversation: the counselor who wrote it, or None if the reporter did.

    The reporter's key is the one pinned from the reporter's sealed body (a
    counselor) or the reporter's own (the reporter); never the server's word.
    A counselor's message must be written *to* that key, and both sides'
    messages must be about that entry, so nothing moves between conversations.
    """
    if opened.kind != Kind.MESSAGE or opened.type not in {"text", "reveal", "introduction"}:
        raise InvalidInput(_("a {type} does not belong in a conversation with one reporter", type=opened.type))
    if opened.inner.entry != entry_id:
        raise VerificationError(_("this message is about another entry than this conversation's"))
    if opened.sender == reporter_key.verify_key:
        if opened.type == "introduction":
            raise VerificationError(_("a reporter cannot send an introduction"))
        if opened.inner.to is not None:
            raise VerificationError(_("a reporter's message names no reporter key to write to"))
        return None
    counselor = counselor_signers(deployment).get(opened.sender)
    if counselor is None:
        raise VerificationError(_("this message is not signed by a counselor of this deployment nor by the reporter"))
    if opened.type == "reveal":
        raise VerificationError(_("a counselor cannot send a reveal"))
    if opened.inner.to is None or opened.inner.to != reporter_key:
        raise VerificationError(_("this counselor message was written to another reporter's key"))
    return counselor


def check_group(opened: Opened, deployment: Deployment, roster: Roster | None) -> Counselor | RosterMember:
    """A message of a group conversation: by a counselor, or by a member of the newest counselor-signed roster."""
    if opened.kind != Kind.MESSAGE or opened.type not in {"text", "reveal", "roster"}:
        raise InvalidInput(_("a {type} does not belong in a group conversation", type=opened.type))
    if opened.inner.entry is not None or opened.inner.to is not None:
        raise VerificationError(_("a group message names no entry and no reporter key"))
    counselor = counselor_signers(deployment).get(opened.sender)
    if counselor is not None:
        if opened.type == "reveal":
            raise VerificationError(_("a counselor cannot send a reveal"))
        return counselor
    if opened.type == "roster":
        raise VerificationError(_("this group list is not signed by a counselor of this deployment"))
    member = None if roster is None else roster.member(opened.sender)
    if member is None:
        raise VerificationError(_("this message is not signed by a counselor nor by a member of the group"))
    return member


def check_card(opened: Opened, *, introduction_id: bytes, conversation_id: bytes,
               reporter_key: MessagingPublicKey) -> Card:
    """An accepter's card, as the counselor checks it before listing the accepter in a roster.

    Signed by the reporter key pinned in that direct conversation and naming
    that same key, so nobody can slip another key into a group under a
    reporter's acceptance.
    """
    if opened.kind != Kind.CARD or not isinstance(opened.payload, Card):
        raise InvalidInput(_("this is not an introduction card"))
    if opened.scope != introduction_id or opened.item_id != conversation_id:
        raise VerificationError(_("this card belongs to another introduction or conversation"))
    if opened.payload.introduction != introduction_id:
        raise VerificationError(_("this card names another introduction"))
    if opened.sender != reporter_key.verify_key or opened.payload.key != reporter_key:
        raise VerificationError(_("this card is not signed by the reporter of that conversation, or names another "
                                  "key"))
    return opened.payload


def check_note(opened: Opened, deployment: Deployment) -> Counselor:
    if opened.kind != Kind.NOTE or not isinstance(opened.payload, Note):
        raise InvalidInput(_("this is not a case note"))
    counselor = counselor_signers(deployment).get(opened.sender)
    if counselor is None:
        raise VerificationError(_("this note is not signed by a counselor of this deployment"))
    return counselor


def pinned_reporter_key(messages: Iterable[Opened], deployment: Deployment,
                        entry_id: bytes) -> MessagingPublicKey | None:
    """For a counselor taking a conversation over: the reporter key of the earliest counselor-signed message.

    That message is signed by a counselor the document lists, who pinned the
    key from the reporter's sealed body; so a later counselor needs neither
    the body nor the server's word. ``messages`` in the conversation's order.
    """
    signers = counselor_signers(deployment)
    for opened in messages:
        if (opened.kind == Kind.MESSAGE and opened.sender in signers and opened.inner.entry == entry_id
                and opened.inner.to is not None):
            return opened.inner.to
    return None


# -- recipients -----------------------------------------------------------------------------


def counselor_keys(deployment: Deployment) -> list[bytes]:
    return [c.public_key for c in deployment.counselors]


def direct_recipients(deployment: Deployment, reporter_key: MessagingPublicKey) -> list[bytes]:
    """Every counselor key of the document in force and the reporter's (the sender is one of them)."""
    return [*counselor_keys(deployment), reporter_key.hpke_public]


def group_recipients(deployment: Deployment, roster: Roster | None, own: bytes | None = None) -> list[bytes]:
    """Every counselor key, every member of the newest roster, and the sender's own key."""
    members = [] if roster is None else [m.key.hpke_public for m in roster.members]
    return [*counselor_keys(deployment), *members, *([own] if own is not None else [])]


def card_recipients(deployment: Deployment, accepter: MessagingPublicKey) -> list[bytes]:
    return [*counselor_keys(deployment), accepter.hpke_public]


def note_recipients(deployment: Deployment) -> list[bytes]:
    return counselor_keys(deployment)


def new_id() -> bytes:
    """A fresh 16-byte message, note, conversation or introduction id."""
    return os.urandom(ID_BYTES)

