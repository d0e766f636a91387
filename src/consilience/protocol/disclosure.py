"""Disclosures: proof of what a reporter wrote, and when, that stands without the operator (PROTOCOL.md §14.3).

Why this exists
    Years after a record was escrowed, the person it names may say it was made up later. The
    log already holds the answer: when the entry was escrowed, its leaf committed to the exact
    ciphertexts (``protocol/events.py``), and the log signed a checkpoint containing it. A
    disclosure hands a third party everything needed to check that offline: the ciphertexts,
    the body key that opens the body, the receipt of the entry's leaf, the administrator-signed
    deployment document that names the log's key and its witnesses, and a consistency bundle to
    a newer checkpoint that witnesses cosigned.

What it proves, and what it does not
    That this text (and these attachments) is what the entry's ciphertexts hold, that the log
    committed to those ciphertexts in the entry event it dated (the server's clock), and, with a
    cosigned newer checkpoint, that each listed witness had seen a log containing that leaf by
    its cosignature time (an independent upper bound) and that the log did not rewrite it since.
    It does not prove who wrote it, nor that what it says is true; and it shows everything the
    body holds, the identifiers and the contact the reporter typed included.

Every refusal is a :class:`DisclosureRefused` naming the field (``receipt.inclusion``,
``consistency.cosignature``) and the reason in plain words. Nothing here touches a network or a
clock: the same document gives the same answer anywhere, any time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from consilience.crypto import aead
from consilience.errors import DecryptionError, FieldRefused, InvalidInput, VerificationError
from consilience.i18n import _
from consilience.protocol import deployment as deployment_doc
from consilience.protocol import events
from consilience.protocol.deployment import MAX_QUORUM_LIMIT, Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import BODY_AAD, ENTRY_ID_BYTES, Body
from consilience.protocol.messages import MAX_BODY_BYTES, MAX_ENVELOPE_BYTES, MAX_IDENTIFIERS
from consilience.tlog import checkpoint as cp
from consilience.tlog import consistency, merkle
from consilience.tlog.receipt import parse_receipt

FORMAT = "consilience-disclosure/v1"
FIELDS = ("format", "made_at", "admin_fingerprint", "deployment", "entry", "body_key", "receipt", "consistency")
ENTRY_FIELDS = ("entry_id", "quorum", "tags", "body", "envelopes")
#: A deployment lists at most this many counselors' envelopes in practice; bounds the work on a hostile file.
MAX_ENVELOPES = 64


class DisclosureRefused(FieldRefused):
    """A disclosure that does not check: ``field`` names where (``receipt.inclusion``), ``reason`` why."""


@dataclass(frozen=True)
class AttachmentInfo:
    """An attached file as the disclosure shows it: the SHA-256 lets anyone compare a copy they hold."""

    name: str
    type: str
    size: int
    sha256: str
    data: bytes = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class WitnessTime:
    """A listed witness that cosigned the newest checkpoint, and the time it vouches for (seconds)."""

    name: str
    time: int

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.time, UTC)


@dataclass(frozen=True)
class DisclosureCheck:
    """What a disclosure that verified establishes, with the numbers a person may want to check by hand."""

    entry_id: str
    record: str
    details: dict[str, str]
    identifiers: tuple[str, ...]
    contact: str
    written_at: str
    attachments: tuple[AttachmentInfo, ...]
    #: the time in the entry event: the log's (server's) clock, "in the log by"
    logged_at: datetime
    leaf_index: int
    origin: str
    receipt_size: int
    #: the newer checkpoint's size the consistency bundle proves, or None without a bundle
    checkpoint_size: int | None
    #: listed witnesses that cosigned the newest checkpoint here (the bundle's, else the receipt's)
    witnesses: tuple[WitnessTime, ...]
    admin_fingerprint: str
    deployment_id: str
    deployment_serial: int
    content_hash: str
    made_at: str
    #: every check that passed, in plain words, in the order run
    checks: tuple[str, ...]

    @property
    def witnessed(self) -> bool:
        return bool(self.witnesses)

    def to_json(self) -> dict[str, Any]:
        return {"valid": True, "entry_id": self.entry_id, "record": self.record, "details": self.details,
                "identifiers": list(self.identifiers), "contact": self.contact, "written_at": self.written_at,
                "attachments": [a.to_json() for a in self.attachments],
                "logged_at": self.logged_at.isoformat(), "leaf_index": self.leaf_index, "origin": self.origin,
                "receipt_size": self.receipt_size, "checkpoint_size": self.checkpoint_size,
                "witnesses": [{"name": w.name, "time": w.time, "at": w.at.isoformat()} for w in self.witnesses],
                "admin_fingerprint": self.admin_fingerprint, "deployment_id": self.deployment_id,
                "deployment_serial": self.deployment_serial, "content_hash": self.content_hash,
                "made_at": self.made_at, "checks": list(self.checks)}


def make(*, published: dict[str, str], entry: dict[str, Any], body_key: bytes, receipt: str,
         consistency_bundle: str | None, made_at: str | None = None) -> dict[str, Any]:
    """The disclosure document (not checked here: the caller runs :func:`verify` before writing it)."""
    admin_key = b64u_decode(published["admin_key"], length=32, field="admin_key")
    return {"format": FORMAT,
            "made_at": made_at or datetime.now(UTC).isoformat(timespec="seconds"),
            "admin_fingerprint": b64u_encode(deployment_doc.admin_fingerprint(admin_key)),
            "deployment": dict(published),
            "entry": {k: entry[k] for k in ENTRY_FIELDS},
            "body_key": b64u_encode(body_key),
            "receipt": receipt,
            "consistency": consistency_bundle}


def verify(doc: Any, *, admin_fingerprint: bytes | None = None) -> DisclosureCheck:
    """Check a disclosure offline; raise :class:`DisclosureRefused` naming the first field that does not hold.

    ``admin_fingerprint``, when given (``--admin-fingerprint``, the one the deployment publishes),
    must be the document's: otherwise anyone could sign a deployment, a log and a receipt of their
    own and hand them out together.
    """
    checks: list[str] = []
    if not isinstance(doc, dict):
        raise DisclosureRefused("disclosure", _("it is not a JSON object"))
    missing = [k for k in FIELDS if k not in doc]
    if missing:
        raise DisclosureRefused(missing[0], _("this field is missing"))
    extra = sorted(set(doc) - set(FIELDS))
    if extra:
        raise DisclosureRefused(extra[0], _("this field is not part of a disclosure"))
    if doc["format"] != FORMAT:
        raise DisclosureRefused("format", _("it is not {FORMAT}", FORMAT=FORMAT))
    made_at = _time(doc["made_at"])

    fingerprint = _bytes(doc["admin_fingerprint"], "admin_fingerprint", 16)
    if admin_fingerprint is not None and fingerprint != admin_fingerprint:
        raise DisclosureRefused("admin_fingerprint", _("it is {fingerprint}, not the administrator fingerprint "
                                                       "given ({given})", fingerprint=b64u_encode(fingerprint),
                                                       given=b64u_encode(admin_fingerprint)))
    deployment = _deployment(doc["deployment"], fingerprint)
    checks.append(_("The deployment document (serial {serial}) is signed by the administrator whose fingerprint is "
                    "{fingerprint}; it names the log's key and its witnesses.",
                    serial=deployment.serial, fingerprint=b64u_encode(fingerprint)))

    entry_id, quorum, tags, body, envelopes = _entry(doc["entry"])
    body_key = _bytes(doc["body_key"], "body_key", 32)

    opening, receipt_head, receipt_cosigned = _receipt(doc["receipt"], deployment)
    event = events.parse_event(opening.event)
    checks.append(_("The receipt's leaf {leaf} is in the tree of {size} leaves that the log signed.",
                    leaf=_index(doc["receipt"]), size=receipt_head.size))
    if event.kind != "entry":
        raise DisclosureRefused("receipt.opening", _("its leaf records an event of kind {kind}, not an entry",
                                                     kind=event.kind))
    if event.entry_id != entry_id:
        raise DisclosureRefused("entry.entry_id", _("the receipt's leaf is the entry event of another entry"))
    content = events.content_hash(quorum, tags, body, envelopes)
    if content != event.content_hash:
        raise DisclosureRefused("entry", _("its quorum, tags, body or envelopes are not the ciphertexts the log "
                                           "committed to (their content hash differs from the one in the leaf)"))
    checks.append(_("The entry's ciphertexts are exactly the ones the log committed to in that leaf."))
    try:
        plain = aead.open(body_key, body, BODY_AAD + entry_id)
    except DecryptionError:
        raise DisclosureRefused("body_key", _("the body does not open under this key")) from None
    try:
        opened = Body.from_bytes(plain)
    except InvalidInput as exc:
        raise DisclosureRefused("entry.body", _("it opens but is not a record's body ({exc})", exc=exc)) from None
    checks.append(_("The body opens under the body key, so the text below is what those ciphertexts hold."))

    newer_size: int | None = None
    cosigned = receipt_cosigned
    if doc["consistency"] is not None:
        newer_size, cosigned = _consistency(doc["consistency"], deployment, receipt_head)
        checks.append(_("The log's newer checkpoint of {size} leaves still contains the receipt's tree: the log has "
                        "not rewritten that history.", size=newer_size))
    witnesses = tuple(WitnessTime(c.name, c.timestamp) for c in sorted(cosigned, key=lambda c: (c.timestamp, c.name)))
    if witnesses:
        checks.append(_("Each listed witness's cosignature on the newest checkpoint verifies: {witnesses}.",
                        witnesses="; ".join(_("{name} at {time}", name=w.name, time=w.at.isoformat())
                                            for w in witnesses)))
    return DisclosureCheck(
        entry_id=b64u_encode(entry_id), record=opened.record, details=dict(opened.details or {}),
        identifiers=tuple(opened.identifiers), contact=opened.contact, written_at=opened.written_at,
        attachments=tuple(AttachmentInfo(a.name, a.type, len(a.data), hashlib.sha256(a.data).hexdigest(), a.data)
                          for a in opened.attachments),
        logged_at=event.at, leaf_index=_index(doc["receipt"]), origin=receipt_head.origin,
        receipt_size=receipt_head.size, checkpoint_size=newer_size, witnesses=witnesses,
        admin_fingerprint=b64u_encode(fingerprint), deployment_id=b64u_encode(deployment.deployment_id),
        deployment_serial=deployment.serial, content_hash=content.hex(), made_at=made_at, checks=tuple(checks))


# -- the parts ------------------------------------------------------------------------------


def _time(value: Any) -> str:
    if not isinstance(value, str):
        raise DisclosureRefused("made_at", _("it is not a date and time (RFC 3339)"))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DisclosureRefused("made_at", _("it is not a date and time (RFC 3339)")) from None
    if parsed.tzinfo is None:
        raise DisclosureRefused("made_at", _("it has no time zone"))
    return value


def _bytes(value: Any, where: str, length: int | None = None, *, limit: int | None = None) -> bytes:
    if not isinstance(value, str) or (limit is not None and len(value) > limit * 4 // 3 + 4):
        raise DisclosureRefused(where, _("it is not base64url text of the right size"))
    try:
        return b64u_decode(value, length=length, field=where)
    except InvalidInput as exc:
        raise DisclosureRefused(where, str(exc).removeprefix(f"{where}: ")) from None  # the reason alone


def _deployment(published: Any, fingerprint: bytes) -> Deployment:
    if not isinstance(published, dict) or set(published) != {"document", "signature", "admin_key"}:
        raise DisclosureRefused("deployment", _("it is not a signed deployment document (document, signature, "
                                                "admin_key)"))
    admin_key = _bytes(published["admin_key"], "deployment.admin_key", 32)
    if deployment_doc.admin_fingerprint(admin_key) != fingerprint:
        raise DisclosureRefused("deployment.admin_key", _("it is not the key of the administrator named by "
                                                          "admin_fingerprint"))
    _bytes(published["signature"], "deployment.signature", 64)
    try:
        return deployment_doc.verify(published, fingerprint)
    except InvalidInput as exc:
        raise DisclosureRefused("deployment.document", _("it is malformed ({exc})", exc=exc)) from None
    except VerificationError as exc:
        if deployment_doc.refused_part(exc) == "document":
            raise DisclosureRefused("deployment.document", str(exc)) from None
        raise DisclosureRefused("deployment.signature", _("the administrator's signature does not verify over this "
                                                          "document")) from None


def _entry(raw: Any) -> tuple[bytes, int, list[bytes], bytes, list[tuple[bytes, bytes]]]:
    if not isinstance(raw, dict):
        raise DisclosureRefused("entry", _("it is not an entry (entry_id, quorum, tags, body, envelopes)"))
    for k in ENTRY_FIELDS:
        if k not in raw:
            raise DisclosureRefused(f"entry.{k}", _("this field is missing"))
    extra = sorted(set(raw) - set(ENTRY_FIELDS))
    if extra:
        raise DisclosureRefused(f"entry.{extra[0]}", _("this field is not part of an entry"))
    entry_id = _bytes(raw["entry_id"], "entry.entry_id", ENTRY_ID_BYTES)
    quorum = raw["quorum"]
    if isinstance(quorum, bool) or not isinstance(quorum, int) or not 2 <= quorum <= MAX_QUORUM_LIMIT:
        raise DisclosureRefused("entry.quorum", _("it is not a whole number from 2 to {MAX_QUORUM_LIMIT}",
                                                  MAX_QUORUM_LIMIT=MAX_QUORUM_LIMIT))
    if not isinstance(raw["tags"], list) or not 1 <= len(raw["tags"]) <= MAX_IDENTIFIERS:
        raise DisclosureRefused("entry.tags", _("it is not a list of 1 to {MAX_IDENTIFIERS} tags",
                                                MAX_IDENTIFIERS=MAX_IDENTIFIERS))
    tags = [_bytes(t, f"entry.tags[{n}]", 32) for n, t in enumerate(raw["tags"])]
    if len(set(tags)) != len(tags):
        raise DisclosureRefused("entry.tags", _("a tag appears twice"))
    body = _bytes(raw["body"], "entry.body", limit=MAX_BODY_BYTES)
    if not isinstance(raw["envelopes"], list) or not 1 <= len(raw["envelopes"]) <= MAX_ENVELOPES:
        raise DisclosureRefused("entry.envelopes", _("it is not a list of envelopes"))
    envelopes = []
    for n, e in enumerate(raw["envelopes"]):
        where = f"entry.envelopes[{n}]"
        if not isinstance(e, dict) or set(e) != {"key_id", "ciphertext"}:
            raise DisclosureRefused(where, _("an envelope has exactly key_id and ciphertext"))
        envelopes.append((_bytes(e["key_id"], f"{where}.key_id", 16),
                          _bytes(e["ciphertext"], f"{where}.ciphertext", limit=MAX_ENVELOPE_BYTES)))
    if len({k for k, _unused in envelopes}) != len(envelopes):
        raise DisclosureRefused("entry.envelopes", _("two envelopes are for the same counselor key"))
    return entry_id, quorum, tags, body, envelopes


def _index(text: str) -> int:
    return parse_receipt(text).index


def _receipt(text: Any, deployment: Deployment) -> tuple[events.Opening, cp.Checkpoint, tuple[cp.Cosignature, ...]]:
    """The receipt's opening, checkpoint and cosignatures, once the leaf is proved under the log's signed root.

    The same steps as ``clients/receipts.open_receipt`` (which the protocol layer cannot import), each
    refusal named by the part of the receipt that failed.
    """
    if not isinstance(text, str):
        raise DisclosureRefused("receipt", _("it is not a receipt's text"))
    try:
        parsed = parse_receipt(text)
    except InvalidInput as exc:
        raise DisclosureRefused("receipt", _("it is not a well-formed receipt ({exc})", exc=exc)) from None
    if parsed.extra is None:
        raise DisclosureRefused("receipt.opening", _("the receipt carries no opening of its leaf"))
    try:
        opening = events.parse_opening(parsed.extra)
    except InvalidInput as exc:
        raise DisclosureRefused("receipt.opening", _("it is malformed ({exc})", exc=exc)) from None
    signed = _open(parsed.checkpoint, deployment, "receipt")
    head = signed.checkpoint
    try:
        merkle.verify_inclusion(merkle.leaf_hash(opening.leaf), parsed.index, head.size, list(parsed.proof),
                                head.root_hash)
    except (VerificationError, InvalidInput):
        raise DisclosureRefused("receipt.inclusion", _("the leaf its opening commits to is not at index {index} "
                                                       "under the root the log signed", index=parsed.index)) from None
    return opening, head, signed.cosignatures


def _open(note: str, deployment: Deployment, where: str) -> cp.VerifiedCheckpoint:
    """Log signature and origin first, then the witnesses', so each failure names the right part."""
    try:
        cp.open_checkpoint(note, deployment.log_vkey, origin=deployment.log_origin)
    except (VerificationError, InvalidInput) as exc:
        raise DisclosureRefused(f"{where}.checkpoint", _("it is not a checkpoint this deployment's log signed "
                                                         "({exc})", exc=exc)) from None
    try:
        return cp.open_checkpoint(note, deployment.log_vkey, origin=deployment.log_origin,
                                  witness_vkeys=deployment.witnesses)
    except (VerificationError, InvalidInput) as exc:
        raise DisclosureRefused(f"{where}.cosignature", _("a listed witness's cosignature does not verify ({exc})",
                                                          exc=exc)) from None


def _consistency(text: Any, deployment: Deployment, old: cp.Checkpoint) -> tuple[int, tuple[cp.Cosignature, ...]]:
    if not isinstance(text, str):
        raise DisclosureRefused("consistency", _("it is not a consistency bundle's text (or null)"))
    try:
        bundle = consistency.parse(text)
    except InvalidInput as exc:
        raise DisclosureRefused("consistency", _("it is not a well-formed consistency bundle ({exc})",
                                                 exc=exc)) from None
    if bundle.old_size != old.size:
        raise DisclosureRefused("consistency.old", _("it starts at size {old_size}, the receipt's checkpoint has "
                                                     "size {size}", old_size=bundle.old_size, size=old.size))
    newer = _open(bundle.checkpoint, deployment, "consistency")
    try:
        merkle.verify_consistency(old.size, newer.checkpoint.size, list(bundle.proof), old.root_hash,
                                  newer.checkpoint.root_hash)
    except (VerificationError, InvalidInput):
        raise DisclosureRefused("consistency.proof", _("it does not prove that the tree of {size} leaves extends "
                                                       "the receipt's tree of {old_size}",
                                                       size=newer.checkpoint.size, old_size=old.size)) from None
    return newer.checkpoint.size, newer.cosignatures
