"""The reporter's wallet: everything private, sealed under their passphrase.

Records in clear, the identifiers as typed, body keys, the account's seed
(the key servers' credential) and the escrow token live only here, on the
reporter's device (PROTOCOL.md §1). So do the messaging seed (the private key counselors' messages
are sealed to, PROTOCOL.md §13.1), the introductions this reporter declined (a decline is sent nowhere,
§13.4) and how far each conversation was read. The file is
rewritten atomically so a crash mid-save leaves the previous version.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from consilience.clients import sealed
from consilience.crypto import passphrase
from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.protocol.entry import Attachment, Body

FORMAT = "consilience-wallet/v2"
V1_FORMAT = "consilience-wallet/v1"
PURPOSE = "consilience reporter wallet"


@dataclass
class EscrowState:
    entry_id: str  # b64u
    identifiers: list[str]
    canonical: list[str]
    quorum: int
    body_key: str  # b64u
    status: str  # "sending" until the server acknowledged, then the server's status
    received_at: str
    #: the exact submission while unacknowledged, so a retry is byte-identical (idempotent)
    pending: dict[str, Any] | None = None
    pending_replace: bool = False
    #: paths of the receipt files (C2SP tlog-proof) of this entry's logged events
    receipts: list[str] = field(default_factory=list)


@dataclass
class Record:
    record_id: str
    text: str
    written_at: str
    escrow: EscrowState | None = None
    #: the structured part (PROTOCOL.md §8): {"what", "when", "where", "witnesses"}, filled fields only
    details: dict[str, str] | None = None
    #: attached files as in the entry body: [{"name", "type", "data" (b64u)}]
    attachments: list[dict[str, str]] = field(default_factory=list)
    #: a title the person chose for their list (PROTOCOL.md §14.2); "" shows "Record of <date>", never the text
    title: str = ""

    def body_attachments(self) -> tuple[Attachment, ...]:
        return tuple(Attachment.from_json(a) for a in self.attachments)


@dataclass
class Wallet:
    server: str
    admin_fingerprint: str  # b64u
    account_id: str  # b64u: the escrow server's id of the account
    token: str  # b64u: the escrow server's bearer token
    contact: str
    #: b64u: the account's Ed25519 seed from the invite, which signs every key-server request
    account_seed: str = ""
    #: b64u: the administrator's certificate of the account key (protocol/accounts.py)
    certificate: str = ""
    min_serial: int = 0
    records: list[Record] = field(default_factory=list)
    #: b64u: the 32-byte messaging seed (PROTOCOL.md §13.1); "" in wallets made before messaging existed
    message_seed: str = ""
    #: whether the server holds this wallet's messaging key (registered, or PUT /v2/account/message-key)
    message_key_registered: bool = False
    #: introduction ids (b64u) this reporter declined: remembered here only, never sent (PROTOCOL.md §13.4)
    declined: list[str] = field(default_factory=list)
    #: conversation id (b64u) -> the highest message seq read on this device, for "new messages"
    seen: dict[str, int] = field(default_factory=dict)
    #: recovery on a new device (PROTOCOL.md §14.1): the account handle to write down ("" before set-up)
    backup_handle: str = ""
    #: b64u: the key the backup is sealed under (from the passphrase through the key servers); never in the backup
    backup_key: str = ""
    #: the version of the backup last uploaded (or being uploaded)
    backup_version: int = 0
    #: the backup document minus version and wallet, re-uploaded with every change; None before set-up
    backup_keys: dict[str, Any] | None = None
    #: an upload (or the set-up) failed, most likely offline; retried on the next save or command
    backup_pending: bool = False

    def record(self, record_id: str) -> Record:
        for r in self.records:
            if r.record_id == record_id:
                return r
        raise InvalidInput(_("no record {record_id} in this wallet (see 'consilience reporter list')",
                             record_id=repr(record_id)))

    def add_record(self, text: str, written_at: str, *, details: dict[str, str] | None = None,
                   attachments: list[Attachment] | tuple[Attachment, ...] = ()) -> Record:
        if not text.strip() and not details and not attachments:
            raise InvalidInput(_("the record is empty"))
        Body("", [], [], "", "", details=details or None)  # the same checks as a sealed body
        record = Record(record_id=secrets.token_hex(4), text=text, written_at=written_at,
                        details=details or None, attachments=[a.to_json() for a in attachments])
        self.records.append(record)
        return record

    def to_bytes(self) -> bytes:
        return json.dumps({"format": FORMAT, **asdict(self)}, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Wallet:
        doc: dict[str, Any] = json.loads(data.decode("utf-8"))
        found = doc.pop("format", None)
        if found == V1_FORMAT:
            raise InvalidInput(_("this wallet is from an older version of Consilience (protocol v1) and cannot be used "
                                 "with this one; your records in it are still readable with that version"))
        if found != FORMAT:
            raise InvalidInput(_("not a Consilience wallet"))
        records = [Record(**{**r, "escrow": EscrowState(**r["escrow"]) if r.get("escrow") else None})
                   for r in doc.pop("records", [])]
        return cls(**doc, records=records)


def save(path: Path, wallet: Wallet, secret: str, *, kdf_params: dict[str, int] | None = None) -> None:
    passphrase.write_sealed_file(Path(path), wallet.to_bytes(), secret, PURPOSE, **(kdf_params or {}))


def load(path: Path, secret: str) -> Wallet:
    if not Path(path).exists():
        raise InvalidInput(_("no wallet at {path}; run 'consilience reporter register' first", path=path))
    return Wallet.from_bytes(sealed.read(Path(path), secret, PURPOSE))
