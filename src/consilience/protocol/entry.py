"""Sealing an entry for escrow and the envelope's byte layout (PROTOCOL.md §8).

The reporter's device runs ``seal_entry``; the counselor's runs
``parse_envelope`` (through ``release``). The escrow server never calls
anything here: it sees only the outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from consilience.crypto import aead, hpke
from consilience.crypto.bls12381 import Scalar
from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.protocol import quorum as quorum_mod
from consilience.protocol.deployment import MAX_QUORUM_LIMIT, Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode, i2osp, random_id
from consilience.protocol.matching import TAG_BYTES, match_tag
from consilience.protocol.messages import MAX_BODY_BYTES, MAX_IDENTIFIERS, MESSAGE_KEY_BYTES
from consilience.protocol.quorum import IdentifierShares, WrapContext

if TYPE_CHECKING:
    from consilience.protocol.identifiers import Identifier

VERSION = 2
ENTRY_ID_BYTES = 16
BODY_AAD = b"consilience-v2 body"
WRAP_AAD = b"consilience-v2 wrap"
ENVELOPE_INFO = b"consilience-v2 envelope"
WRAPPED_BYTES = 12 + 32 + 16
SCALAR = 32
G1_BYTES = 48
G2_BYTES = 96


DETAIL_FIELDS = ("what", "when", "where", "witnesses")


@dataclass(frozen=True)
class Attachment:
    """A file the reporter attached: its name, media type and bytes."""

    name: str
    type: str
    data: bytes

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "data": b64u_encode(self.data)}

    @classmethod
    def from_json(cls, doc: Any) -> Attachment:
        if not isinstance(doc, dict) or set(doc) != {"name", "type", "data"}:
            raise InvalidInput(_("malformed entry body: an attachment has exactly name, type and data"))
        name, media_type, data = doc["name"], doc["type"], doc["data"]
        if not isinstance(name, str) or not name or not isinstance(media_type, str) or not isinstance(data, str):
            raise InvalidInput(_("malformed entry body: attachment name, type and data are strings"))
        return cls(name=name, type=media_type, data=b64u_decode(data, field=_("attachment data")))


def make_details(what: str | None = None, when: str | None = None, where: str | None = None,
                 witnesses: str | None = None) -> dict[str, str] | None:
    """The structured part of a record: only the fields given and non-empty, or None."""
    given = {"what": what, "when": when, "where": where, "witnesses": witnesses}
    details = {k: v for k, v in given.items() if v}
    return details or None


@dataclass(frozen=True)
class Body:
    """What a released entry shows the counselor.

    ``details`` and ``attachments`` are optional (PROTOCOL.md §8) and written
    only when present, so a body without them has the same bytes as before
    they existed.
    """

    record: str
    identifiers: list[str]  # as the reporter typed them
    canonical: list[str]
    contact: str
    written_at: str
    #: {"what", "when", "where", "witnesses"} -> text, only the fields given; None if none
    details: dict[str, str] | None = None
    attachments: tuple[Attachment, ...] = ()
    #: The reporter's messaging key mpk || vk (PROTOCOL.md §13.1). A counselor takes it from here only: the body
    #: is sealed by the reporter, so this is the key the server cannot swap for one of its own.
    messaging_key: bytes | None = None

    def __post_init__(self) -> None:
        _check_details(self.details)
        object.__setattr__(self, "attachments", tuple(self.attachments))
        if self.messaging_key is not None and (not isinstance(self.messaging_key, bytes)
                                               or len(self.messaging_key) != MESSAGE_KEY_BYTES):
            raise InvalidInput(_("malformed entry body: a messaging key is {MESSAGE_KEY_BYTES} bytes",
                                 MESSAGE_KEY_BYTES=MESSAGE_KEY_BYTES))

    def to_bytes(self) -> bytes:
        doc: dict[str, Any] = {"v": VERSION, "record": self.record, "identifiers": self.identifiers,
                               "canonical": self.canonical, "contact": self.contact,
                               "written_at": self.written_at}
        if self.details:
            doc["details"] = self.details
        if self.attachments:
            doc["attachments"] = [a.to_json() for a in self.attachments]
        if self.messaging_key is not None:
            doc["messaging_key"] = b64u_encode(self.messaging_key)
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Body:
        try:
            doc: dict[str, Any] = json.loads(data.decode("utf-8"))
            if not isinstance(doc, dict):
                raise InvalidInput(_("malformed entry body"))
            if doc.get("v") != VERSION:
                raise InvalidInput(_("unknown body version"))
            record, contact, written_at = doc["record"], doc["contact"], doc["written_at"]
            identifiers, canonical = doc["identifiers"], doc["canonical"]
            if not all(isinstance(x, str) for x in (record, contact, written_at)):
                raise InvalidInput(_("malformed entry body: record, contact and written_at are strings"))
            if not (isinstance(identifiers, list) and isinstance(canonical, list)
                    and all(isinstance(x, str) for x in identifiers + canonical)):
                raise InvalidInput(_("malformed entry body: identifiers are lists of strings"))
            details = doc.get("details")
            if "details" in doc and not details:
                raise InvalidInput(_("malformed entry body: empty details are left out, not written"))
            attachments = doc.get("attachments", [])
            if "attachments" in doc and (not isinstance(attachments, list) or not attachments):
                raise InvalidInput(_("malformed entry body: attachments are a non-empty list"))
            messaging_key = doc.get("messaging_key")
            if "messaging_key" in doc and not isinstance(messaging_key, str):
                raise InvalidInput(_("malformed entry body: messaging_key is base64url text"))
            return cls(record=record, identifiers=identifiers, canonical=canonical, contact=contact,
                       written_at=written_at, details=details,
                       attachments=tuple(Attachment.from_json(a) for a in attachments),
                       messaging_key=None if messaging_key is None
                       else b64u_decode(messaging_key, length=MESSAGE_KEY_BYTES, field="messaging_key"))
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, RecursionError) as exc:
            raise InvalidInput(_("malformed entry body")) from exc


def _check_details(details: Any) -> None:
    if details is None:
        return
    if not isinstance(details, dict) or not set(details) <= set(DETAIL_FIELDS):
        raise InvalidInput(_("malformed entry body: details has only the fields {fields}",
                             fields=', '.join(DETAIL_FIELDS)))
    if not all(isinstance(v, str) and v for v in details.values()):
        raise InvalidInput(_("malformed entry body: each detail is non-empty text"))


@dataclass(frozen=True)
class EnvelopeSection:
    """One identifier's part of the envelope: its tag, the account's abscissa and quorum shares, the wrap."""

    tag: bytes
    x: Scalar
    shares: dict[int, bytes]  # q -> σ_q = F_q(x)·P*, 48-byte compressed G1, every q of the range
    u: bytes  # 96-byte compressed G2: the KEM's encapsulation at the entry's own quorum
    wrapped: bytes  # AEAD of the body key under W


@dataclass(frozen=True)
class EnvelopeContent:
    entry_id: bytes
    quorum: int
    quorum_range: range
    key_epoch: int
    sections: tuple[EnvelopeSection, ...]

    def section(self, tag: bytes) -> EnvelopeSection | None:
        return next((s for s in self.sections if s.tag == tag), None)

    def section_index(self, tag: bytes) -> int:
        return next(i for i, s in enumerate(self.sections) if s.tag == tag)


@dataclass(frozen=True)
class SealedEntry:
    """The submission plus the secrets the reporter keeps in their wallet."""

    entry_id: bytes
    quorum: int
    tags: list[bytes]
    body: bytes
    envelopes: dict[bytes, bytes]  # counselor key id -> HPKE ciphertext
    deployment_serial: int
    body_key: bytes


def _section_bytes(width: int) -> int:
    return TAG_BYTES + SCALAR + width * G1_BYTES + G2_BYTES + WRAPPED_BYTES


def encode_envelope(content: EnvelopeContent) -> bytes:
    r = content.quorum_range
    out = bytearray([VERSION])
    out += content.entry_id + i2osp(content.quorum, 1) + i2osp(r.start, 1) + i2osp(r.stop - 1, 1)
    out += i2osp(content.key_epoch, 4) + i2osp(len(content.sections), 1)
    for s in content.sections:
        out += s.tag + s.x.to_bytes()
        out += b"".join(s.shares[k] for k in r)
        out += s.u + s.wrapped
    return bytes(out)


def parse_envelope(data: bytes) -> EnvelopeContent:
    """Strict parse: exact length, canonical abscissas, sane ranges.

    Points are checked for length only here; their subgroup checks happen
    where they are used (protocol/quorum.py decodes every one), so a bad
    share costs only its own entry and is named there.
    """
    header = 1 + ENTRY_ID_BYTES + 3 + 4 + 1
    if len(data) >= 1 and data[0] == 1:
        raise InvalidInput(_("envelope: a protocol v1 envelope; this software opens protocol v2 envelopes only"))
    if len(data) < header or data[0] != VERSION:
        raise InvalidInput(_("envelope: unknown version or truncated"))
    entry_id = data[1:17]
    quorum, low, high = data[17], data[18], data[19]
    key_epoch = int.from_bytes(data[20:24], "big")
    count = data[24]
    if not (2 <= low <= quorum <= high <= MAX_QUORUM_LIMIT) or not 1 <= count <= MAX_IDENTIFIERS:
        raise InvalidInput(_("envelope: quorum fields out of range"))
    width = high - low + 1
    if len(data) != header + count * _section_bytes(width):
        raise InvalidInput(_("envelope: wrong length"))
    sections = []
    pos = header
    for _unused in range(count):
        tag = data[pos:pos + TAG_BYTES]
        pos += TAG_BYTES
        x = Scalar.from_bytes(data[pos:pos + SCALAR])  # refuses zero and non-canonical values
        pos += SCALAR
        shares = {}
        for k in range(low, high + 1):
            shares[k] = data[pos:pos + G1_BYTES]
            pos += G1_BYTES
        u = data[pos:pos + G2_BYTES]
        pos += G2_BYTES
        wrapped = data[pos:pos + WRAPPED_BYTES]
        pos += WRAPPED_BYTES
        sections.append(EnvelopeSection(tag, x, shares, u, wrapped))
    if len({s.tag for s in sections}) != len(sections):
        raise InvalidInput(_("envelope: a tag appears twice"))
    return EnvelopeContent(entry_id, quorum, range(low, high + 1), key_epoch, tuple(sections))


def envelope_info(entry_id: bytes, key_id: bytes) -> bytes:
    return ENVELOPE_INFO + entry_id + key_id


def wrap_context(deployment_id: bytes, key_epoch: int, entry_id: bytes, section: int, tag: bytes) -> WrapContext:
    return WrapContext(deployment_id=deployment_id, key_epoch=key_epoch, entry_id=entry_id, section=section, tag=tag)


def seal_entry(
    *,
    deployment: Deployment,
    identifiers: list[Identifier],
    oprf_outputs: list[bytes],
    quorum_shares: list[IdentifierShares],
    record: str,
    contact: str,
    quorum: int | None = None,
    entry_id: bytes | None = None,
    body_key: bytes | None = None,
    written_at: str | None = None,
    details: dict[str, str] | None = None,
    attachments: tuple[Attachment, ...] | list[Attachment] = (),
    messaging_key: bytes | None = None,
) -> SealedEntry:
    """Encrypt a record for escrow under the quorum secrets of its identifiers.

    ``quorum_shares`` are the checked shares the key servers gave for each
    identifier (protocol/quorum.combine), on the base P* of that identifier.
    The body key is wrapped to ``F_q(0)·P*`` of each identifier with a fresh
    encapsulation every time, so an edited entry shares nothing but the
    secret with its earlier version. ``entry_id`` and ``body_key`` are passed
    in when editing an entry, so the reporter's existing id (and receipt
    history) carries over. ``messaging_key`` (the reporter's, PROTOCOL.md §13.1)
    goes into the sealed body, where a counselor finds it once the entry is
    released and can answer to a key the server had no hand in.
    """
    if not identifiers or len(identifiers) != len(oprf_outputs) or len(quorum_shares) != len(identifiers):
        raise InvalidInput(_("one OPRF output and one set of quorum shares per identifier are required"))
    if len(identifiers) > MAX_IDENTIFIERS:
        raise InvalidInput(_("an entry names at most {MAX_IDENTIFIERS} identifiers", MAX_IDENTIFIERS=MAX_IDENTIFIERS))
    if len({i.canonical for i in identifiers}) != len(identifiers):
        raise InvalidInput(_("the same identifier is named twice"))
    if not deployment.counselors:
        raise InvalidInput(_("this deployment has no counselors yet; nobody could ever open the entry"))
    q = deployment.quorum if quorum is None else quorum
    if q not in deployment.quorum_range:
        raise InvalidInput(_("quorum {q} is outside this deployment's range {quorum}..{max_quorum}",
                             q=q, quorum=deployment.quorum, max_quorum=deployment.max_quorum))
    params = deployment.quorum_parameters()
    level = params.level(q)
    entry_id = random_id(ENTRY_ID_BYTES) if entry_id is None else entry_id
    body_key = aead.new_key() if body_key is None else body_key
    if len(entry_id) != ENTRY_ID_BYTES or len(body_key) != 32:
        raise InvalidInput(_("entry id must be 16 bytes and body key 32 bytes"))
    body = Body(record=record, identifiers=[i.typed for i in identifiers],
                canonical=[i.canonical for i in identifiers], contact=contact,
                written_at=written_at or datetime.now(UTC).isoformat(timespec="seconds"),
                details=details or None, attachments=tuple(attachments), messaging_key=messaging_key)
    plain_body = body.to_bytes()
    if len(plain_body) + aead.OVERHEAD > MAX_BODY_BYTES:
        raise InvalidInput(_("the record with its attachments is {len_plain_body} bytes; an entry holds at most "
                             "{max_bytes} (attachments count a third more than their size)",
                             len_plain_body=len(plain_body), max_bytes=MAX_BODY_BYTES - aead.OVERHEAD))
    sealed_body = aead.seal(body_key, plain_body, BODY_AAD + entry_id)

    sections = []
    xs = {s.x for s in quorum_shares}
    if len(xs) != 1:
        raise InvalidInput(_("the quorum shares of one entry are all at the account's one abscissa"))
    for index, (output, shares) in enumerate(zip(oprf_outputs, quorum_shares, strict=True)):
        if set(shares.shares) != set(deployment.quorum_range):
            raise InvalidInput(_("the quorum shares must cover every level of the deployment's range"))
        tag = match_tag(output)
        context = wrap_context(deployment.deployment_id, deployment.key_epoch, entry_id, index, tag)
        wrapped_key = quorum_mod.wrap(level, shares.base, context)
        wrapped = aead.seal(wrapped_key.key, body_key, WRAP_AAD + entry_id + tag)
        sections.append(EnvelopeSection(tag, shares.x, {k: shares.share_bytes(k) for k in deployment.quorum_range},
                                        wrapped_key.u, wrapped))
    content = EnvelopeContent(entry_id, q, deployment.quorum_range, deployment.key_epoch, tuple(sections))
    plaintext = encode_envelope(content)
    envelopes = {
        c.key_id: hpke.seal(c.public_key, plaintext, envelope_info(entry_id, c.key_id))
        for c in deployment.counselors
    }
    return SealedEntry(entry_id=entry_id, quorum=q, tags=[s.tag for s in sections], body=sealed_body,
                       envelopes=envelopes, deployment_serial=deployment.serial, body_key=body_key)


def open_body(body_key: bytes, entry_id: bytes, sealed_body: bytes) -> Body:
    return Body.from_bytes(aead.open(body_key, sealed_body, BODY_AAD + entry_id))
