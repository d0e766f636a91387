"""Receipts on the reporter's device: check them on arrival, keep them as files.

A receipt is checked the moment it arrives against the log key from the
administrator-signed deployment document and against the event the reporter
computes from its own submission, so a server cannot hand out a receipt
for something else. The files are plain C2SP tlog-proofs; beside them are
the administrator-signed deployment document they were checked with
(``deployment.json``) and, for other tools, the log's key (``log.vkey``).

Checking one later (``consilience verify``) takes the log key from an
administrator-signed deployment document (the saved copy, a file given, or
the escrow server's) checked against the administrator's fingerprint, never
from a ``log.vkey`` alone: anyone can write a receipt under a key of their
own, with the same origin, and put that key beside it. A loose key that
differs from the signed one is refused (``log_key_for``).

Protocol v2: the log's leaves are commitments that hide their kind
(``protocol/events.py``). A receipt's ``extra`` line carries the leaf's
*opening* (32-byte nonce ‖ event bytes), the tlog-proof spec's "additional
data necessary to reconstruct the record hash": the verifier recomputes the
leaf ``SHA-256("consilience-v2 log leaf" ‖ nonce ‖ event)`` from it and checks
the inclusion proof for that leaf. ``open_receipt`` does both and returns the
event; ``check`` also compares it with what the reporter did.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from consilience.clients.escrow_client import EscrowClient
from consilience.clients.results import JsonObject
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _
from consilience.protocol import deployment as deployment_doc
from consilience.protocol import events
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.tlog import checkpoint as cp
from consilience.tlog import consistency, notes
from consilience.tlog.receipt import (
    FILE_EXTENSION,
    Receipt,
    ReceiptVerification,
    parse_receipt,
    verify_receipt,
)

#: ``protocol.deployment``'s refusal of a document signed by another administrator than the pinned one
_OTHER_ADMINISTRATOR = "deployment signed by a different administrator than the one pinned"


def signed_by_another(exc: VerificationError) -> bool:
    """Whether ``exc`` is ``deployment.verify`` refusing a document another administrator signed; its message
    may be in the reader's language, so it is compared in English and in that language."""
    text = str(exc)
    return "different administrator" in text or text == _(_OTHER_ADMINISTRATOR)


VKEY_FILE = "log.vkey"
#: The signed deployment document (as GET /v2/deployment serves it) the receipts beside it were checked with.
DEPLOYMENT_FILE = "deployment.json"


def read_log_key(value: str, *, option: str = "--log-key", hint: str = "") -> str:
    """A log verifier key given on the command line: the key itself, or the path of a file that holds it.

    An empty value (``"$(cat missing-file)"``) or one that is neither a key nor a readable file is
    refused with what a key looks like and where to get one (``hint``).
    """
    text = value.strip()
    more = f" {hint}" if hint else ""
    if not text:
        raise InvalidInput(_("{option} is empty. Give the log's verifier key (it looks like NAME+KEYID+KEY) or the "
                             "path of a file that holds it.{more}", option=option, more=more))
    try:
        notes.VerifierKey.parse(text)
        return text
    except InvalidInput as exc:
        problem = str(exc)
    path = Path(text)
    if not path.is_file():
        raise InvalidInput(_("{option} is neither a log verifier key nor a file that exists ({problem}; a key looks "
                             "like NAME+KEYID+KEY).{more}", option=option, problem=problem, more=more))
    try:
        key = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(_("{path} could not be read as a log key file ({exc}).{more}",
                             path=path, exc=exc, more=more)) from exc
    try:
        notes.VerifierKey.parse(key)
    except InvalidInput as exc:
        raise InvalidInput(_("{path} does not hold a log verifier key ({exc}; a key looks like "
                             "NAME+KEYID+KEY).{more}", path=path, exc=exc, more=more)) from exc
    return key


def expected_content(payload: dict[str, Any]) -> bytes:
    """The content hash of a submission exactly as sent (PROTOCOL.md §11)."""
    return events.content_hash(
        payload["quorum"], [b64u_decode(t) for t in payload["tags"]], b64u_decode(payload["body"]),
        [(b64u_decode(e["key_id"]), b64u_decode(e["ciphertext"])) for e in payload["envelopes"]])


@dataclass(frozen=True)
class Opened:
    """A verified receipt and the event its leaf commits to."""

    result: ReceiptVerification
    event: events.Event
    opening: events.Opening


def open_receipt(text: str, log_vkey: str, *, origin: str | None = None, against: str | None = None,
                 consistency_proof: list[bytes] | None = None, witness_vkeys: tuple[str, ...] = ()) -> Opened:
    """Verify a v2 receipt: its ``extra`` line must open the leaf the inclusion proof is for."""
    try:
        parsed = parse_receipt(text)
    except InvalidInput as exc:
        raise VerificationError(_("malformed receipt: {exc}", exc=exc)) from exc
    if parsed.extra is None:
        raise VerificationError(_("the receipt carries no opening of its leaf (is it from a protocol v1 server?)"))
    try:
        opening = events.parse_opening(parsed.extra)
    except InvalidInput as exc:
        raise VerificationError(_("the receipt's leaf opening is malformed: {exc}", exc=exc)) from exc
    bare = Receipt(parsed.index, parsed.proof, parsed.checkpoint, None).encode()
    result = verify_receipt(bare, log_vkey, leaf=opening.leaf, origin=origin, against=against,
                            consistency_proof=consistency_proof, witness_vkeys=witness_vkeys)
    return Opened(result, events.parse_event(opening.event), opening)


def check(text: str, deployment: Deployment, entry_id: bytes, *, kind: str,
          content: bytes | None = None) -> ReceiptVerification:
    """Verify a fresh receipt and that its leaf is the event we caused."""
    opened = open_receipt(text, deployment.log_vkey, origin=deployment.log_origin)
    result, event = opened.result, opened.event
    if event.kind != kind or event.entry_id != entry_id:
        raise VerificationError(_("the receipt is for another event ({kind})", kind=event.kind))
    if content is not None and event.content_hash != content:
        raise VerificationError(_("the receipt commits to different content than was submitted"))
    return result


def check_reading(text: str, deployment: Deployment, key_id: bytes, opened_at: datetime) -> Opened:
    """Verify the receipt of a reading of one's entry: its leaf is a counselor's opening by ``key_id`` at
    ``opened_at`` (the event keeps milliseconds), in this deployment's log (PROTOCOL.md §13.6)."""
    opened = open_receipt(text, deployment.log_vkey, origin=deployment.log_origin)
    event = opened.event
    if event.kind != "opening":
        raise VerificationError(_("the receipt is for another event ({kind}), not a counselor's opening",
                                  kind=event.kind))
    if event.counselor_id != key_id:
        raise VerificationError(_("the receipt is for an opening by another counselor than the server says"))
    if abs(event.at - opened_at) >= timedelta(milliseconds=1):
        raise VerificationError(_("the receipt is for an opening at another time than the server says"))
    return opened


def save(folder: Path, text: str, deployment: Deployment, entry_id_b64: str, kind: str, *,
         signed: dict[str, str] | None = None) -> Path:
    """Keep a checked receipt; with ``signed`` (the published form of ``deployment``) keep that too.

    The signed document is what lets ``consilience verify`` check the receipt years later with no
    network: it holds the log key, and the administrator's signature on it is checked against
    their fingerprint then.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / VKEY_FILE).write_text(deployment.log_vkey + "\n")
    if signed is not None:
        tmp = folder / f".{DEPLOYMENT_FILE}.tmp"
        tmp.write_text(json.dumps(signed, indent=1) + "\n")
        os.replace(tmp, folder / DEPLOYMENT_FILE)
    index = parse_receipt(text).index
    path = folder / f"{entry_id_b64}-{kind}-{index}{FILE_EXTENSION}"
    path.write_text(text)
    return path


def parse_fingerprint(text: str) -> bytes:
    """An administrator's fingerprint as they hand it out (22 base64url characters, the end of their invites)."""
    try:
        return b64u_decode(text.strip(), length=16, field="fingerprint")
    except InvalidInput:
        raise InvalidInput(_("This administrator fingerprint does not look right: a character may be mistyped or "
                             "missing. Check it against the one the administrator gave you (22 characters; it is "
                             "also the last part of their invites).")) from None


def read_deployment_file(path: Path) -> dict[str, str]:
    """A saved signed deployment document (its signature is checked by :func:`log_key_for`)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidInput(_("{path} could not be read as a signed deployment document ({exc}). Save the one the "
                             "escrow server publishes at /v2/deployment, or use the deployment.json kept beside "
                             "your receipts.", path=path, exc=exc)) from exc
    if not isinstance(doc, dict):
        raise InvalidInput(_("{path} is not a signed deployment document (a JSON object with document, signature "
                             "and admin_key)", path=path))
    return doc


@dataclass(frozen=True)
class LogKey:
    """The log key a receipt is checked with, and where it came from."""

    vkey: str
    #: where the key came from, in words (shown by ``consilience verify``)
    source: str
    #: the origin checkpoints must name (the deployment's); None: the key's name
    origin: str | None = None
    #: b64u fingerprint of the administrator who signed the deployment document it came from
    admin_fingerprint: str | None = None
    #: that document's serial
    serial: int | None = None

    @classmethod
    def of(cls, deployment: Deployment, source: str | None = None) -> LogKey:
        """The key of a deployment document the caller has already checked (``deployment.verify``)."""
        return cls(deployment.log_vkey, source if source is not None else _("the deployment document given"),
                   deployment.log_origin, serial=deployment.serial)


def log_key_for(receipt: Path, *, admin_fingerprint: bytes | None, published: dict[str, str] | None,
                document: str, log_vkey: str | None = None) -> LogKey:
    """The key to check ``receipt`` with: from the deployment document, signed by the administrator pinned.

    ``published`` is the signed document (from ``document``: a file or the escrow server). A key given
    with --log-key (``log_vkey``) or a ``log.vkey`` beside the receipt is only used if it is the
    document's key; a different one is refused. Without a fingerprint only an explicit --log-key is
    taken, and said to be unchecked.
    """
    beside = Path(receipt).parent / VKEY_FILE
    if admin_fingerprint is None:
        if log_vkey is not None:
            return LogKey(log_vkey, _("--log-key, as given (not checked against a deployment document)"))
        raise VerificationError(
            _("There is no administrator to check this receipt's log key against, so it was not checked. Give "
              "--admin-fingerprint with the administrator's fingerprint (they publish it; it is also the last part "
              "of their invites). A {VKEY_FILE} beside a receipt is not enough on its own: anyone can make a "
              "receipt under a key of their own and put that key beside it.", VKEY_FILE=VKEY_FILE))
    fingerprint = b64u_encode(admin_fingerprint)
    if published is None:
        raise VerificationError(
            _("There is no deployment document to take the log key from: no {DEPLOYMENT_FILE} beside the receipt. "
              "Give --deployment FILE (a saved copy of the one the escrow server publishes at /v2/deployment) or "
              "--server URL to fetch it.", DEPLOYMENT_FILE=DEPLOYMENT_FILE))
    try:
        deployment = deployment_doc.verify(published, admin_fingerprint)
    except VerificationError as exc:
        if signed_by_another(exc):
            raise VerificationError(
                _("The deployment document {document} is not signed by the administrator whose fingerprint is "
                  "{fingerprint}, so its log key cannot be trusted and the receipt was not checked. Check the "
                  "fingerprint, and where the document came from.",
                  document=document, fingerprint=fingerprint)) from exc
        raise VerificationError(_("The deployment document {document} does not verify ({exc}), so the receipt "
                                  "was not checked.", document=document, exc=exc)) from exc
    except InvalidInput as exc:
        raise VerificationError(_("The deployment document {document} is malformed ({exc}), so the receipt was not "
                                  "checked.", document=document, exc=exc)) from exc
    signed_by = _("the deployment document signed by administrator {fingerprint}, serial {serial}",
                  fingerprint=fingerprint, serial=deployment.serial)
    if log_vkey is not None and log_vkey != deployment.log_vkey:
        raise VerificationError(
            _("The log key given with --log-key is not the one in {signed_by} ({document}). A receipt that only "
              "verifies under another key was not made by this deployment's log; nothing was checked.",
              signed_by=signed_by, document=document))
    if beside.is_file():
        try:
            loose = beside.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            loose = ""
        if loose != deployment.log_vkey:
            raise VerificationError(
                _("The log key in {beside} is not the one in {signed_by} ({document}). Someone may have put it "
                  "there to make a receipt of their own look valid, so this receipt was not checked. Remove that "
                  "file, or put the receipt in a folder of its own, and verify again.",
                  beside=beside, signed_by=signed_by, document=document))
    return LogKey(deployment.log_vkey, f"{signed_by} ({document})", deployment.log_origin, fingerprint,
                  deployment.serial)


@dataclass(frozen=True)
class Verified:
    """A receipt that verified: what the log proves, the event it logged, where the log key came from."""

    result: ReceiptVerification
    event: events.Event
    #: where the log key came from, in words (``LogKey.source``)
    key_source: str
    #: b64u fingerprint of the administrator whose signed deployment document held the key, and its serial
    admin_fingerprint: str | None = None
    deployment_serial: int | None = None

    @property
    def entry_id(self) -> str | None:
        """The logged event's entry id (b64u), if it names one."""
        return None if self.event.entry_id is None else b64u_encode(self.event.entry_id)

    def to_json(self) -> JsonObject:
        r, e = self.result, self.event
        return {"valid": True, "event": e.kind, "logged_at": e.at.isoformat(), "index": r.index,
                "tree_size": r.tree_size, "origin": r.origin, "log_key_from": self.key_source,
                "admin_fingerprint": self.admin_fingerprint, "deployment_serial": self.deployment_serial,
                "entry_id": self.entry_id,
                "consistent_with_size": r.against_size,
                "witnesses": [{"name": c.name, "time": c.timestamp} for c in r.cosignatures]}


def verify_file(path: Path, key: LogKey, *, against: Path | None = None,
                witness_vkeys: tuple[str, ...] = ()) -> Verified:
    """What ``consilience verify`` does once it has the log key (:func:`log_key_for`): offline."""
    text = Path(path).read_text()
    newer, proof = None, None
    if against is not None:
        newer, proof = _against(Path(against).read_text(), text)
    opened = open_receipt(text, key.vkey, origin=key.origin, against=newer, consistency_proof=proof,
                          witness_vkeys=witness_vkeys)
    return Verified(opened.result, opened.event, key.source, key.admin_fingerprint, key.serial)


def _against(text: str, receipt_text: str) -> tuple[str, list[bytes]]:
    receipt_size = cp.parse_signed_checkpoint(parse_receipt(receipt_text).checkpoint)[0].size
    if text.startswith(consistency.HEADER):
        bundle = consistency.parse(text)
        if bundle.old_size != receipt_size:
            raise VerificationError(_("the consistency proof starts at size {old_size}, the receipt's "
                                      "checkpoint has size {receipt_size}",
                                      old_size=bundle.old_size, receipt_size=receipt_size))
        return bundle.checkpoint, list(bundle.proof)
    newer_size = cp.parse_signed_checkpoint(text)[0].size
    if newer_size != receipt_size:
        raise VerificationError(
            _("a checkpoint of size {newer_size} alone cannot prove consistency with size {receipt_size}; "
              "fetch a bundle with 'consilience log fetch --since SIZE'",
              newer_size=newer_size, receipt_size=receipt_size))
    return text, []


def fetch_bundle(client: EscrowClient, since: int) -> str:
    """A consistency bundle from ``since`` to the log's newest checkpoint."""
    note = client.checkpoint()
    size = cp.parse_signed_checkpoint(note)[0].size
    if since > size:
        raise VerificationError(_("the log is at size {size}, smaller than {since}: it may have been rolled back",
                                  size=size, since=since))
    proof = client.consistency(since, size) if since < size else []
    return consistency.ConsistencyBundle(since, tuple(proof), note).encode()



