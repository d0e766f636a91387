"""What a counselor does: hold the HPKE key, list matches, open them.

The private key is sealed under the counselor's passphrase and never leaves
this device; opening a match decrypts here (PROTOCOL.md §8, "Opening").
``open_match`` returns an :class:`OpenedMatch`: the entries it could read, those it could not and
why, and the entries whose shares are bogus.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from consilience.clients.escrow_client import EscrowClient
from consilience.clients.results import AttachmentSummary, JsonObject
from consilience.crypto import hpke, passphrase
from consilience.errors import InvalidInput
from consilience.files import write_private
from consilience.protocol import messages as m
from consilience.protocol import release
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import Attachment
from consilience.protocol.release import MatchedEntry, OpenResult

FORMAT = "consilience-counselor-key/v1"
PURPOSE = "consilience counselor key"
CREDENTIAL_PREFIX = "cnslc1"


@dataclass
class CounselorKeys:
    name: str
    seed: bytes
    server: str | None = None
    token: bytes | None = None
    admin_fingerprint: bytes | None = None
    min_serial: int = 0

    @property
    def public_key(self) -> bytes:
        return hpke.public_key_bytes(self.seed)

    @property
    def key_id(self) -> bytes:
        return hpke.key_id(self.public_key)

    def to_bytes(self) -> bytes:
        doc: dict[str, Any] = {
            "format": FORMAT, "name": self.name, "seed": b64u_encode(self.seed), "server": self.server,
            "token": b64u_encode(self.token) if self.token else None,
            "admin_fingerprint": b64u_encode(self.admin_fingerprint) if self.admin_fingerprint else None,
            "min_serial": self.min_serial,
        }
        return json.dumps(doc).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> CounselorKeys:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise InvalidInput("not a Consilience counselor key file")
        return cls(name=doc["name"], seed=b64u_decode(doc["seed"], length=32), server=doc["server"],
                   token=b64u_decode(doc["token"]) if doc["token"] else None,
                   admin_fingerprint=b64u_decode(doc["admin_fingerprint"], length=16)
                   if doc["admin_fingerprint"] else None,
                   min_serial=int(doc.get("min_serial", 0)))


def public_key_file(keys: CounselorKeys) -> dict[str, str]:
    """What the counselor hands the administrator: no secrets."""
    return {"format": "consilience-counselor-public/v1", "name": keys.name,
            "public_key": b64u_encode(keys.public_key), "key_id": b64u_encode(keys.key_id)}


def credential(token: bytes, admin_fingerprint: bytes) -> str:
    return f"{CREDENTIAL_PREFIX}.{b64u_encode(token)}.{b64u_encode(admin_fingerprint)}"


def parse_credential(text: str) -> tuple[bytes, bytes]:
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != CREDENTIAL_PREFIX:
        raise InvalidInput("that is not a counselor credential (it should look like cnslc1.XXXX.YYYY)")
    return b64u_decode(parts[1], length=32, field="token"), b64u_decode(parts[2], length=16,
                                                                        field="fingerprint")


def generate(name: str) -> CounselorKeys:
    if not name.strip():
        raise InvalidInput("a counselor needs a name")
    return CounselorKeys(name=name.strip(), seed=hpke.generate_private_key())


def save(path: Path, keys: CounselorKeys, secret: str, **kdf_params: int) -> None:
    passphrase.write_sealed_file(Path(path), keys.to_bytes(), secret, PURPOSE, **kdf_params)


def load(path: Path, secret: str) -> CounselorKeys:
    if not Path(path).exists():
        raise InvalidInput(f"no counselor key at {path}; run 'consilience counselor keygen' first")
    return CounselorKeys.from_bytes(passphrase.read_sealed_file(Path(path), secret, PURPOSE))


def _client(keys: CounselorKeys) -> EscrowClient:
    if not keys.server or not keys.token:
        raise InvalidInput("this key is not connected to a server yet; run 'consilience counselor login'")
    return EscrowClient(keys.server, keys.token)


def login(keys: CounselorKeys, server: str, credential_text: str) -> CounselorKeys:
    token, fingerprint = parse_credential(credential_text)
    with EscrowClient(server, token) as client:
        deployment = client.deployment(fingerprint)
        if keys.key_id not in {c.key_id for c in deployment.counselors}:
            raise InvalidInput("this deployment does not list your public key; ask the administrator to add it")
        client.matches()  # proves the token works
    keys.server, keys.token, keys.admin_fingerprint, keys.min_serial = server, token, fingerprint, deployment.serial
    return keys


def list_matches(keys: CounselorKeys) -> list[m.MatchSummary]:
    with _client(keys) as client:
        return client.matches()


@dataclass(frozen=True)
class MatchList:
    """The matches waiting for a counselor, as the server lists them."""

    matches: tuple[m.MatchSummary, ...]

    def to_json(self) -> JsonObject:
        return {"matches": [x.model_dump(mode="json") for x in self.matches]}


def matches(keys: CounselorKeys) -> MatchList:
    """``list_matches`` as a result with its JSON document."""
    return MatchList(tuple(list_matches(keys)))


def open_match_by_id(keys: CounselorKeys, match_id: bytes) -> tuple[m.MatchDetail, OpenResult]:
    with _client(keys) as client:
        detail = client.match(match_id)
    entries = [
        MatchedEntry(entry_id=b64u_decode(e.entry_id), account_id=b64u_decode(e.account_id), quorum=e.quorum,
                     released=e.released, envelope=b64u_decode(e.envelope),
                     body=b64u_decode(e.body) if e.body else None)
        for e in detail.entries
    ]
    return detail, release.open_match(b64u_decode(detail.tag), entries, keys.seed, keys.key_id)


@dataclass(frozen=True)
class DecryptedEntry:
    """A released entry of a match, decrypted on this device."""

    entry_id: str  # b64u
    reporter: str  # the reporter's account id, b64u
    contact: str
    record: str
    identifiers: tuple[str, ...]  # as the reporter typed them
    written_at: str
    #: the structured part: "what", "when", "where", "witnesses", filled fields only
    details: Mapping[str, str] | None
    attachments: tuple[AttachmentSummary, ...]
    #: the attached files themselves, in the order of ``attachments`` (never in ``to_json``)
    files: tuple[Attachment, ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, opened: release.OpenedEntry) -> DecryptedEntry:
        body = opened.body
        return cls(entry_id=b64u_encode(opened.entry_id), reporter=b64u_encode(opened.account_id),
                   contact=body.contact, record=body.record, identifiers=tuple(body.identifiers),
                   written_at=body.written_at, details=body.details,
                   attachments=tuple(AttachmentSummary.of(a) for a in body.attachments), files=body.attachments)

    def to_json(self) -> JsonObject:
        return {"entry_id": self.entry_id, "reporter": self.reporter, "contact": self.contact,
                "record": self.record, "identifiers": [*self.identifiers], "written_at": self.written_at,
                "details": None if self.details is None else {**self.details},
                "attachments": [a.to_json() for a in self.attachments]}


@dataclass(frozen=True)
class OpenedMatch:
    """What opening a match gave: the entries read, those that could not be opened, bogus shares."""

    match_id: str  # b64u
    entries: tuple[DecryptedEntry, ...]
    #: entry id (b64u) -> why it could not be opened (released entries only)
    failed: Mapping[str, str]
    #: entry ids (b64u, sorted) whose envelope or share is not what an honest client sends
    bogus: tuple[str, ...]

    @classmethod
    def of(cls, match_id: str, result: OpenResult) -> OpenedMatch:
        return cls(match_id=match_id, entries=tuple(DecryptedEntry.of(o) for o in result.opened),
                   failed={b64u_encode(k): v for k, v in result.failed.items()},
                   bogus=tuple(sorted(b64u_encode(b) for b in result.bogus)))

    def to_json(self) -> JsonObject:
        return {"match_id": self.match_id, "entries": [e.to_json() for e in self.entries],
                "failed": {**self.failed}, "bogus": [*self.bogus]}


def open_match(keys: CounselorKeys, match_id: bytes, *, attachments_to: Path | None = None) -> OpenedMatch:
    """Fetch a match and decrypt its released entries here; with ``attachments_to``, save their files."""
    detail, result = open_match_by_id(keys, match_id)
    opened = OpenedMatch.of(detail.match_id, result)
    return opened if attachments_to is None else save_attachments(opened, attachments_to)


def save_attachments(opened: OpenedMatch, folder: Path) -> OpenedMatch:
    """Write each entry's files under FOLDER/ENTRY_ID/, owner-only, names made safe; note where."""
    entries = []
    for entry in opened.entries:
        summaries = []
        for n, (summary, attachment) in enumerate(zip(entry.attachments, entry.files, strict=True), start=1):
            name = "".join(c if c.isprintable() and c not in '/\\:' else "_" for c in attachment.name).strip(" .")
            target = folder / entry.entry_id / f"{n}-{name or 'attachment'}"
            write_private(target, attachment.data)
            summaries.append(replace(summary, saved_to=str(target)))
        entries.append(replace(entry, attachments=tuple(summaries)))
    return replace(opened, entries=tuple(entries))
