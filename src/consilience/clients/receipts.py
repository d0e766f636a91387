"""Receipts on the reporter's device: check them on arrival, keep them as files.

A receipt is checked the moment it arrives against the log key from the
administrator-signed deployment document and against the event the reporter
computes from its own submission, so a server cannot hand out a receipt
for something else. The files are plain C2SP tlog-proofs; ``log.vkey``
beside them names the key to check them with later, offline.

Protocol v2: the log's leaves are commitments that hide their kind
(``protocol/events.py``). A receipt's ``extra`` line carries the leaf's
*opening* (32-byte nonce ‖ event bytes), the tlog-proof spec's "additional
data necessary to reconstruct the record hash": the verifier recomputes the
leaf ``SHA-256("consilience-v2 log leaf" ‖ nonce ‖ event)`` from it and checks
the inclusion proof for that leaf. ``open_receipt`` does both and returns the
event; ``check`` also compares it with what the reporter did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consilience.clients.escrow_client import EscrowClient
from consilience.clients.results import JsonObject
from consilience.errors import InvalidInput, VerificationError
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

VKEY_FILE = "log.vkey"


def read_log_key(value: str, *, option: str = "--log-key", hint: str = "") -> str:
    """A log verifier key given on the command line: the key itself, or the path of a file that holds it.

    An empty value (``"$(cat missing-file)"``) or one that is neither a key nor a readable file is
    refused with what a key looks like and where to get one (``hint``).
    """
    text = value.strip()
    more = f" {hint}" if hint else ""
    if not text:
        raise InvalidInput(f"{option} is empty. Give the log's verifier key (it looks like NAME+KEYID+KEY) or the "
                           f"path of a file that holds it.{more}")
    try:
        notes.VerifierKey.parse(text)
        return text
    except InvalidInput as exc:
        problem = str(exc)
    path = Path(text)
    if not path.is_file():
        raise InvalidInput(f"{option} is neither a log verifier key nor a file that exists ({problem}; a key looks "
                           f"like NAME+KEYID+KEY).{more}")
    try:
        key = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} could not be read as a log key file ({exc}).{more}") from exc
    try:
        notes.VerifierKey.parse(key)
    except InvalidInput as exc:
        raise InvalidInput(f"{path} does not hold a log verifier key ({exc}; a key looks like "
                           f"NAME+KEYID+KEY).{more}") from exc
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
        raise VerificationError(f"malformed receipt: {exc}") from exc
    if parsed.extra is None:
        raise VerificationError("the receipt carries no opening of its leaf (is it from a protocol v1 server?)")
    try:
        opening = events.parse_opening(parsed.extra)
    except InvalidInput as exc:
        raise VerificationError(f"the receipt's leaf opening is malformed: {exc}") from exc
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
        raise VerificationError(f"the receipt is for another event ({event.kind})")
    if content is not None and event.content_hash != content:
        raise VerificationError("the receipt commits to different content than was submitted")
    return result


def save(folder: Path, text: str, deployment: Deployment, entry_id_b64: str, kind: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / VKEY_FILE).write_text(deployment.log_vkey + "\n")
    index = parse_receipt(text).index
    path = folder / f"{entry_id_b64}-{kind}-{index}{FILE_EXTENSION}"
    path.write_text(text)
    return path


@dataclass(frozen=True)
class Verified:
    """A receipt that verified: what the log proves, the event it logged, where the log key came from."""

    result: ReceiptVerification
    event: events.Event
    #: "--log-key", or the path of the log.vkey file beside the receipt
    key_source: str

    @property
    def entry_id(self) -> str | None:
        """The logged event's entry id (b64u), if it names one."""
        return None if self.event.entry_id is None else b64u_encode(self.event.entry_id)

    def to_json(self) -> JsonObject:
        r, e = self.result, self.event
        return {"valid": True, "event": e.kind, "logged_at": e.at.isoformat(), "index": r.index,
                "tree_size": r.tree_size, "origin": r.origin, "log_key_from": self.key_source,
                "entry_id": self.entry_id,
                "consistent_with_size": r.against_size,
                "witnesses": [{"name": c.name, "time": c.timestamp} for c in r.cosignatures]}


def verify_file(path: Path, *, log_vkey: str | None = None, against: Path | None = None,
                witness_vkeys: tuple[str, ...] = ()) -> Verified:
    """What ``consilience verify`` does: offline, with a clear reason on failure."""
    text = Path(path).read_text()
    source = "--log-key"
    if log_vkey is None:
        vkey_path = Path(path).parent / VKEY_FILE
        if not vkey_path.exists():
            raise VerificationError(f"no log key given and no {VKEY_FILE} beside the receipt; pass --log-key")
        log_vkey = vkey_path.read_text().strip()
        source = str(vkey_path)
    newer, proof = None, None
    if against is not None:
        newer, proof = _against(Path(against).read_text(), text)
    opened = open_receipt(text, log_vkey, against=newer, consistency_proof=proof, witness_vkeys=witness_vkeys)
    return Verified(opened.result, opened.event, source)


def _against(text: str, receipt_text: str) -> tuple[str, list[bytes]]:
    receipt_size = cp.parse_signed_checkpoint(parse_receipt(receipt_text).checkpoint)[0].size
    if text.startswith(consistency.HEADER):
        bundle = consistency.parse(text)
        if bundle.old_size != receipt_size:
            raise VerificationError(f"the consistency proof starts at size {bundle.old_size}, the receipt's "
                                    f"checkpoint has size {receipt_size}")
        return bundle.checkpoint, list(bundle.proof)
    newer_size = cp.parse_signed_checkpoint(text)[0].size
    if newer_size != receipt_size:
        raise VerificationError(
            f"a checkpoint of size {newer_size} alone cannot prove consistency with size {receipt_size}; "
            "fetch a bundle with 'consilience log fetch --since SIZE'")
    return text, []


def fetch_bundle(client: EscrowClient, since: int) -> str:
    """A consistency bundle from ``since`` to the log's newest checkpoint."""
    note = client.checkpoint()
    size = cp.parse_signed_checkpoint(note)[0].size
    if since > size:
        raise VerificationError(f"the log is at size {size}, smaller than {since}: it may have been rolled back")
    proof = client.consistency(since, size) if since < size else []
    return consistency.ConsistencyBundle(since, tuple(proof), note).encode()



