"""What a counselor does: hold the HPKE key, list matches, open them.

The private key is sealed under the counselor's passphrase and never leaves
this device; opening a match decrypts here (PROTOCOL.md §8, "Opening").
``open_match`` returns an :class:`OpenedMatch`: the entries it could read, those it could not and
why, and the entries whose shares are bogus.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from consilience.clients import sealed
from consilience.clients.escrow_client import EscrowClient, counselor_login
from consilience.clients.results import AttachmentSummary, JsonObject
from consilience.crypto import hpke, passphrase
from consilience.errors import InvalidInput
from consilience.files import write_private
from consilience.i18n import N_, _
from consilience.protocol import conversations, invites, release
from consilience.protocol import messages as m
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

    @property
    def signing_seed(self) -> bytes:
        """Signs this counselor's messages; derived from the HPKE seed, so the key file holds nothing new."""
        return conversations.counselor_signing_seed(self.seed)

    @property
    def signing_key(self) -> bytes:
        return conversations.counselor_signing_key(self.seed)

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
            raise InvalidInput(_("not a Consilience counselor key file"))
        return cls(name=doc["name"], seed=b64u_decode(doc["seed"], length=32), server=doc["server"],
                   token=b64u_decode(doc["token"]) if doc["token"] else None,
                   admin_fingerprint=b64u_decode(doc["admin_fingerprint"], length=16)
                   if doc["admin_fingerprint"] else None,
                   min_serial=int(doc.get("min_serial", 0)))


def public_key_file(keys: CounselorKeys) -> dict[str, str]:
    """What the counselor hands the administrator: no secrets."""
    return {"format": "consilience-counselor-public/v1", "name": keys.name,
            "public_key": b64u_encode(keys.public_key), "key_id": b64u_encode(keys.key_id),
            "signing_key": b64u_encode(keys.signing_key)}


def credential(token: bytes, admin_fingerprint: bytes) -> str:
    return f"{CREDENTIAL_PREFIX}.{b64u_encode(token)}.{b64u_encode(admin_fingerprint)}"


CREDENTIAL_MISTYPED = N_("This credential does not look right — a character may be mistyped or missing. Check it "
                         "against the one the administrator gave you (it looks like cnslc1.…).")


def parse_credential(text: str) -> tuple[bytes, bytes]:
    stripped = text.strip()
    if stripped.startswith((invites.PREFIX + ".", invites.V1_PREFIX + ".")):
        raise InvalidInput(_("This is a reporter's invite (it starts with {PREFIX}.), not a counselor's "
                             "credential. The administrator gives counselors a credential that starts with cnslc1.",
                             PREFIX=invites.PREFIX))
    parts = stripped.split(".")
    if len(parts) != 3 or parts[0] != CREDENTIAL_PREFIX:
        raise InvalidInput(_(CREDENTIAL_MISTYPED))
    try:
        return b64u_decode(parts[1], length=32, field="token"), b64u_decode(parts[2], length=16, field="fingerprint")
    except InvalidInput:
        raise InvalidInput(_(CREDENTIAL_MISTYPED)) from None


def generate(name: str) -> CounselorKeys:
    if not name.strip():
        raise InvalidInput(_("a counselor needs a name"))
    return CounselorKeys(name=name.strip(), seed=hpke.generate_private_key())


def save(path: Path, keys: CounselorKeys, secret: str, **kdf_params: int) -> None:
    passphrase.write_sealed_file(Path(path), keys.to_bytes(), secret, PURPOSE, **kdf_params)


def load(path: Path, secret: str) -> CounselorKeys:
    if not Path(path).exists():
        raise InvalidInput(_("no counselor key at {path}; run 'consilience counselor keygen' first", path=path))
    return CounselorKeys.from_bytes(sealed.read(Path(path), secret, PURPOSE))


def _client(keys: CounselorKeys) -> EscrowClient:
    if not keys.server or not keys.token:
        raise InvalidInput(_("this key is not connected to a server yet; run 'consilience counselor login'"))
    return EscrowClient(keys.server, sign_in=counselor_login(keys.token))  # a session per use (PROTOCOL.md §6.1)


def login(keys: CounselorKeys, server: str, credential_text: str) -> CounselorKeys:
    token, fingerprint = parse_credential(credential_text)
    with EscrowClient(server, sign_in=counselor_login(token)) as client:
        deployment = client.deployment(fingerprint)
        if keys.key_id not in {c.key_id for c in deployment.counselors}:
            raise InvalidInput(_("this deployment does not list your public key; ask the administrator to add it"))
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


#: A match id in text output: 32 lowercase hex digits (never starts with '-'; the escrow server's log uses them).
HEX_LENGTH = 32
#: The fewest characters of a hex id that ``resolve_match_id`` looks up.
MIN_PREFIX = 6
_HEX = frozenset("0123456789abcdef")


def match_hex(match_id: str | bytes) -> str:
    """A match id (base64url as in --json and the API, or bytes) as the 32 hex digits the CLI shows."""
    return (match_id if isinstance(match_id, bytes) else b64u_decode(match_id, length=16, field="match id")).hex()


def resolve_match_id(keys: CounselorKeys, text: str) -> bytes:
    """The match ``text`` names: 32 hex digits, a unique hex prefix (≥ 6), or the base64url id of --json.

    A prefix is looked up among the matches waiting for this counselor (one request); a
    prefix that fits none or several is refused with what to do.
    """
    return resolve_id(text, lambda: [x.match_id for x in list_matches(keys)])


def resolve_id(text: str, listed: Callable[[], Iterable[str]], *, what: str = "match",
               listing: str = "matches") -> bytes:
    """The id (of a match, a case...) ``text`` names, as ``resolve_match_id`` reads it; ``listed`` gives the
    base64url ids a prefix is looked up among (asked only for a prefix), ``listing`` the command listing them."""
    given = text.strip()
    lowered = given.lower()
    is_hex = bool(given) and set(lowered) <= _HEX
    noun = {"match": _("match"), "case": _("case")}.get(what, what)  # the word the reader reads
    if is_hex and len(given) == HEX_LENGTH:
        return bytes.fromhex(lowered)
    b64: bytes | None = None
    if len(given) == 22:
        try:
            b64 = b64u_decode(given, length=16, field=f"{what} id")
        except InvalidInput:
            b64 = None
    if b64 is not None and not is_hex:
        return b64
    if not is_hex:
        raise InvalidInput(_("{given} is not a {what} id. Copy it from 'consilience counselor {listing}': "
                             "{HEX_LENGTH} characters, 0-9 and a-f (the first {MIN_PREFIX} or more are enough when "
                             "no other {what} starts the same way).",
                             given=repr(given), what=noun, listing=listing, HEX_LENGTH=HEX_LENGTH,
                             MIN_PREFIX=MIN_PREFIX))
    if len(given) < MIN_PREFIX:
        raise InvalidInput(_("{given} is too short to pick a {what}: give at least {MIN_PREFIX} characters of its id "
                             "(all {HEX_LENGTH} always work). 'consilience counselor {listing}' lists them.",
                             given=given, what=noun, MIN_PREFIX=MIN_PREFIX, HEX_LENGTH=HEX_LENGTH, listing=listing))
    ids = list(listed())
    if b64 is not None and given in ids:
        return b64
    found = sorted({match_hex(x) for x in ids if match_hex(x).startswith(lowered)})
    if len(found) == 1:
        return bytes.fromhex(found[0])
    if found:
        raise InvalidInput(_("More than one {what} has an id starting with {lowered}: {items}. Give more "
                             "characters of the one you mean.", what=noun, lowered=lowered, items=', '.join(found)))
    if b64 is not None:
        return b64  # not listed: the server says whether it exists
    raise InvalidInput(_("No {what} waiting for you has an id starting with {lowered}. 'consilience counselor "
                         "{listing}' lists those that do; copy the id from there.",
                         what=noun, lowered=lowered, listing=listing))


def open_match_by_id(keys: CounselorKeys, match_id: bytes) -> tuple[m.MatchDetail, OpenResult]:
    if keys.admin_fingerprint is None:
        raise InvalidInput(_("this key is not connected to a deployment yet; run 'consilience counselor login'"))
    with _client(keys) as client:
        deployment = client.deployment(keys.admin_fingerprint)  # the commitments shares are checked against
        detail = client.match(match_id)
    entries = [
        MatchedEntry(entry_id=b64u_decode(e.entry_id), quorum=e.quorum, released=e.released,
                     envelope=b64u_decode(e.envelope), body=b64u_decode(e.body) if e.body else None)
        for e in detail.entries
    ]
    return detail, release.open_match(b64u_decode(detail.tag), entries, keys.seed, keys.key_id, deployment)


@dataclass(frozen=True)
class DecryptedEntry:
    """A released entry of a match, decrypted on this device."""

    entry_id: str  # b64u
    #: the reporter's abscissa as 16 hex digits: a pseudonym, the same for every entry of one account
    reporter: str
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
        return cls(entry_id=b64u_encode(opened.entry_id), reporter=opened.abscissa[:8].hex(),
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
