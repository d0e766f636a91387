"""Exporting a disclosure of one record from the reporter's wallet (PROTOCOL.md §14.3).

The reporter gathers what a third party needs to check the record without trusting the operator:
the exact ciphertexts the server holds for the entry (``GET /v2/entries/{id}``), the body key from
the wallet, the entry's latest receipt, the administrator-signed deployment document, and a
consistency bundle from the receipt's size to the newest checkpoint a witness cosigned (or the
newest one when no witness has cosigned yet, which the result says). The whole document is checked
here with ``protocol/disclosure.verify`` before a byte is written, pinned to the administrator this
wallet trusts, so a server that handed out other ciphertexts or a receipt of something else is
caught on the reporter's own device.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consilience.clients import receipts
from consilience.clients.escrow_client import EscrowClient
from consilience.clients.reporter import Session
from consilience.clients.results import JsonObject
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _
from consilience.protocol import disclosure
from consilience.protocol.encoding import b64u_decode
from consilience.tlog import checkpoint as cp
from consilience.tlog import consistency
from consilience.tlog.receipt import parse_receipt


@dataclass(frozen=True)
class Exported:
    """A disclosure written to ``path``, and what it showed when checked here."""

    path: Path
    check: disclosure.DisclosureCheck
    #: False when no witness had cosigned a checkpoint yet: the disclosure rests on the log's word alone
    witnessed: bool

    def to_json(self) -> JsonObject:
        return {"out": str(self.path), "witnessed": self.witnessed, **self.check.to_json()}


def build(session: Session, record_id: str) -> tuple[dict[str, Any], bool]:
    """The disclosure document of one escrowed record, checked; and whether a witness cosigned its anchor."""
    record = session.wallet.record(record_id)
    state = record.escrow
    if state is None or state.status != "escrowed":
        raise InvalidInput(_("This record is not in escrow, so there is nothing in the log to prove yet. Put it in "
                             "escrow first ('consilience reporter escrow'), then export it."))
    entry_id = b64u_decode(state.entry_id, length=16)
    fingerprint = b64u_decode(session.wallet.admin_fingerprint, length=16)
    with session.client() as client:
        session.deployment(client)
        published = session.signed_deployment
        assert published is not None  # session.deployment keeps it
        detail = client.entry(entry_id)
        if detail.body is None:
            raise InvalidInput(_("The escrow server no longer holds this record's text (it was withdrawn), so it "
                                 "cannot be disclosed."))
        receipt = client.receipt(entry_id).receipt
        if receipt is None:
            raise VerificationError(_("The escrow server gave no receipt for this record; try again later."))
        bundle, witnessed = _bundle(client, receipt)
    entry = {"entry_id": detail.entry_id, "quorum": detail.quorum, "tags": list(detail.tags),
             "body": detail.body, "envelopes": [e.model_dump() for e in detail.envelopes]}
    doc = disclosure.make(published=published, entry=entry, body_key=b64u_decode(state.body_key, length=32),
                          receipt=receipt, consistency_bundle=bundle)
    disclosure.verify(doc, admin_fingerprint=fingerprint)
    return doc, witnessed


def _bundle(client: EscrowClient, receipt: str) -> tuple[str, bool]:
    """From the receipt's size to the newest cosigned checkpoint, else to the newest one."""
    size = cp.parse_signed_checkpoint(parse_receipt(receipt).checkpoint)[0].size
    note = client.cosigned_checkpoint()
    if note is None or cp.parse_signed_checkpoint(note)[0].size < size:
        # a cosigned checkpoint older than the receipt cannot anchor it; the newest one can, unwitnessed
        return receipts.fetch_bundle(client, size), False
    newer = cp.parse_signed_checkpoint(note)[0].size
    proof = client.consistency(size, newer) if size < newer else []
    return consistency.ConsistencyBundle(size, tuple(proof), note).encode(), True


def export(session: Session, record_id: str, out: Path) -> Exported:
    """Write the checked disclosure of ``record_id`` to ``out`` (replaced atomically)."""
    doc, witnessed = build(session, record_id)
    check = disclosure.verify(doc, admin_fingerprint=b64u_decode(session.wallet.admin_fingerprint, length=16))
    write(out, doc)
    return Exported(out, check, witnessed and check.witnessed)


def write(path: Path, doc: dict[str, Any]) -> None:
    """The disclosure as JSON; the file holds the record's text in clear, so it is made readable by its owner only."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def read(path: Path) -> dict[str, Any]:
    """A disclosure file, parsed (its checks are ``protocol/disclosure.verify``'s)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidInput(_("{path} could not be read as a disclosure ({exc}). It should be the JSON file that "
                             "'consilience reporter disclose' or the web app wrote.", path=path, exc=exc)) from exc
    if not isinstance(doc, dict):
        raise InvalidInput(_("{path} is not a disclosure (a JSON object)", path=path))
    return doc
