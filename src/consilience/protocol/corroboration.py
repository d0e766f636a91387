"""Corroboration statements: k reporters' consent that their entries were logged before a match (PROTOCOL.md §14.4).

Why this exists
    After a match, the accused may say the reporters made it up together. The log already holds
    what answers that: every entry's leaf, committed when it was escrowed, and the release leaf
    of the match, appended by the release pass once the quorum was reached. A statement puts
    them side by side for k entries: each entry's ciphertexts (never its text), the opening and
    inclusion proof of its leaf, the release leaf, and one witness-cosigned checkpoint they are
    all in, with each reporter's consent signed by their administrator-certified account key.
    Anyone can check it offline (:func:`verify`): k distinct certified accounts each signed that
    their entry, listing the match's tag, was in the log before the match's release, i.e. before
    any of them could know of the others.

What it does not show
    That the signer wrote the entry: an account could sign for an entry whose id and content hash
    another account gave it. That is collusion of accounts, which the trust model already excludes
    for j ≥ q (PROTOCOL.md §2). And the tag is a deterministic function of the person named, so
    anyone who can evaluate the OPRF on a guessed name (an account, online, under its budget) can
    test whom a statement is about.

Every refusal is a :class:`CorroborationRefused` naming the field (``entries[1].consent``) and the
reason, so that a person checking a statement is told exactly what does not hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from consilience.crypto import signing
from consilience.errors import FieldRefused, InvalidInput, VerificationError
from consilience.i18n import N_, _
from consilience.protocol import accounts, events
from consilience.protocol import deployment as deployment_doc
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode, i2osp
from consilience.protocol.messages import (
    MAX_IDENTIFIERS,
    B64Body,
    B64Id,
    B64Tag,
    Envelope,
    Strict,
    _b64u,
)
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle

FORMAT = "consilience-corroboration/v1"
CONSENT_LABEL = b"consilience-v2 corroboration consent"
#: A statement is about several people's entries; one entry corroborates nothing.
MIN_ENTRIES = 2
#: A match has at most this many entries a counselor can reach (the introduction limit, PROTOCOL.md §13.4).
MAX_ENTRIES = 32

_TOP = ("format", "statement_id", "match_id", "tag", "made_at", "admin_fingerprint", "deployment", "checkpoint",
        "release", "entries", "disclosures")
_RELEASE = ("leaf_index", "opening", "proof")
_ENTRY = ("entry_id", "quorum", "tags", "body", "envelopes", "leaf_index", "opening", "proof", "certificate",
          "consent")


class CorroborationRefused(FieldRefused):
    """A statement that does not check: ``field`` names where (``entries[1].consent``), ``reason`` why."""


# -- consent ----------------------------------------------------------------------


def consent_message(deployment_id: bytes, statement_id: bytes, match_id: bytes, entry_id: bytes,
                    content_hash: bytes, leaf_index: int) -> bytes:
    """What a reporter signs: the statement, the match and exactly one leaf of their own entry."""
    for value, size, what in ((deployment_id, 16, N_("deployment id")), (statement_id, 16, N_("statement id")),
                              (match_id, 16, N_("match id")), (entry_id, 16, N_("entry id")),
                              (content_hash, 32, N_("content hash"))):
        if len(value) != size:
            raise InvalidInput(_("a {what} is {size} bytes", what=_(what), size=size))
    return (CONSENT_LABEL + deployment_id + statement_id + match_id + entry_id + content_hash
            + i2osp(leaf_index, 8))


def sign_consent(seed: bytes, deployment_id: bytes, statement_id: bytes, match_id: bytes, entry_id: bytes,
                 content_hash: bytes, leaf_index: int) -> bytes:
    """The reporter's consent, by their account seed (the key the administrator certified)."""
    return signing.sign(seed, consent_message(deployment_id, statement_id, match_id, entry_id, content_hash,
                                              leaf_index))


def verify_consent(account_key: bytes, deployment_id: bytes, statement_id: bytes, match_id: bytes, entry_id: bytes,
                   content_hash: bytes, leaf_index: int, consent: bytes) -> None:
    """VerificationError unless ``account_key`` signed this consent."""
    message = consent_message(deployment_id, statement_id, match_id, entry_id, content_hash, leaf_index)
    try:
        signing.verify(account_key, message, consent)
    except VerificationError:
        raise VerificationError(_("the consent is not signed by this account's key for this statement, match and "
                                  "entry leaf")) from None


# -- the escrow API (PROTOCOL.md §14.4) -------------------------------------------

B64Opening = Annotated[str, Field(max_length=400), _b64u(max_length=256)]
B64Consent = Annotated[str, Field(max_length=100), _b64u(64)]
B64Certificate = Annotated[str, Field(max_length=200), _b64u(accounts.CERTIFICATE_BYTES)]
B64Hash = Annotated[str, Field(max_length=64), _b64u(32)]
LeafIndex = Annotated[int, Field(ge=0, lt=2**63, strict=True)]


class CorroborationAsk(Strict):
    """``POST /v2/matches/{match_id}/corroborations``: the counselor's client picks the id (a retry is the same)."""

    statement_id: B64Id


class CorroborationSummary(Strict):
    statement_id: B64Id
    match_id: B64Id
    asked_at: datetime
    #: reporters asked (entries released in the match whose reporter the counselors are talking to)
    asked: int
    consented: int


class CorroborationRequest(Strict):
    """What a reporter is shown: one entry of its own the counselor asks it to include, and what it would sign."""

    statement_id: B64Id
    #: the match's id: the consent names it; a reporter in a conversation already knows of the match, and
    #: the receipts of who read the entry (PROTOCOL.md §13.6) carry the same id
    match_id: B64Id
    entry_id: B64Id
    leaf_index: LeafIndex
    content_hash: B64Hash
    asked_at: datetime
    consented_at: datetime | None = None


class ConsentSubmission(Strict):
    entry_id: B64Id
    consent: B64Consent


class ConsentedEntry(Strict):
    """A consented entry as the counselor assembles it: ciphertexts, leaf, certificate, consent (no text)."""

    entry_id: B64Id
    quorum: int
    tags: list[B64Tag] = Field(min_length=1, max_length=MAX_IDENTIFIERS)
    body: B64Body
    envelopes: list[Envelope]
    leaf_index: LeafIndex
    opening: B64Opening
    certificate: B64Certificate
    consent: B64Consent


class ReleaseLeaf(Strict):
    leaf_index: LeafIndex
    opening: B64Opening


class CorroborationDetail(Strict):
    statement_id: B64Id
    match_id: B64Id
    tag: B64Tag
    asked_at: datetime
    asked: int
    consented: int
    #: consents whose entry was changed or withdrawn since: the leaf they name is no longer the entry's
    changed: int
    release: ReleaseLeaf
    entries: list[ConsentedEntry]


# -- the statement ----------------------------------------------------------------


@dataclass(frozen=True)
class CheckedEntry:
    """One corroborating entry: its leaf and time, and the certified account that consented."""

    entry_id: bytes
    leaf_index: int
    logged_at: datetime
    content_hash: bytes
    account_key: bytes
    certified_at: int
    quorum: int
    #: a disclosure of this entry was attached and matches it
    disclosed: bool = False


@dataclass(frozen=True)
class CorroborationCheck:
    """What a statement that verifies establishes (every field checked by :func:`verify`)."""

    statement_id: bytes
    match_id: bytes
    tag: bytes
    made_at: datetime
    admin_fingerprint: bytes
    deployment: Deployment
    origin: str
    tree_size: int
    release_index: int
    release_at: datetime
    released: int
    entries: tuple[CheckedEntry, ...]
    #: the witnesses of the deployment that cosigned the checkpoint, with their times ("seen by then")
    witnesses: tuple[cp.Cosignature, ...]

    @property
    def k(self) -> int:
        return len(self.entries)

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": True, "k": self.k, "statement_id": b64u_encode(self.statement_id),
            "match_id": b64u_encode(self.match_id), "tag": b64u_encode(self.tag),
            "made_at": self.made_at.isoformat(), "admin_fingerprint": b64u_encode(self.admin_fingerprint),
            "deployment_serial": self.deployment.serial, "origin": self.origin, "tree_size": self.tree_size,
            "release": {"leaf_index": self.release_index, "logged_at": self.release_at.isoformat(),
                        "released": self.released},
            "entries": [{"entry_id": b64u_encode(e.entry_id), "leaf_index": e.leaf_index,
                         "logged_at": e.logged_at.isoformat(), "account_key": b64u_encode(e.account_key),
                         "quorum": e.quorum, "disclosed": e.disclosed} for e in self.entries],
            "witnesses": [{"name": w.name, "time": w.timestamp} for w in self.witnesses],
        }


def make_statement(*, statement_id: bytes, match_id: bytes, tag: bytes, made_at: str,
                   published: dict[str, str], checkpoint: str, release: dict[str, Any],
                   entries: Sequence[dict[str, Any]], disclosures: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The statement document, in the field order PROTOCOL.md §14.4 gives (``verify`` it before handing it out)."""
    return {
        "format": FORMAT, "statement_id": b64u_encode(statement_id), "match_id": b64u_encode(match_id),
        "tag": b64u_encode(tag), "made_at": made_at,
        "admin_fingerprint": b64u_encode(deployment_doc.admin_fingerprint(
            b64u_decode(published["admin_key"], length=32, field="admin_key"))),
        "deployment": dict(published), "checkpoint": checkpoint, "release": dict(release),
        "entries": [dict(e) for e in entries], "disclosures": [dict(d) for d in disclosures],
    }


def verify(statement: Any, *, expected_fingerprint: bytes | None = None,
           check_disclosure: Callable[[dict[str, Any]], tuple[bytes, bytes, bytes]] | None = None
           ) -> CorroborationCheck:
    """Check a statement offline; :class:`CorroborationRefused` naming the field and the reason otherwise.

    Pure: no network, no clock. The deployment document is checked against the administrator key
    it carries, whose fingerprint the statement names; a verifier should compare that fingerprint
    with the one the deployment publishes (``expected_fingerprint`` does it here).
    ``check_disclosure`` verifies an attached disclosure and returns its (deployment id, entry id,
    content hash); by default ``protocol/disclosure.py``'s verifier when it is installed.
    """
    doc = _object(statement, "statement", _TOP)
    if doc["format"] != FORMAT:
        raise CorroborationRefused("format", _("this is not a corroboration statement ({FORMAT})", FORMAT=FORMAT))
    statement_id = _bytes(doc, "statement_id", 16)
    match_id = _bytes(doc, "match_id", 16)
    tag = _bytes(doc, "tag", 32)
    made_at = _time(doc["made_at"], "made_at")
    fingerprint = _bytes(doc, "admin_fingerprint", 16)
    if expected_fingerprint is not None and fingerprint != expected_fingerprint:
        raise CorroborationRefused("admin_fingerprint", _("it is not the fingerprint of the administrator you expect"))
    deployment, admin_key = _deployment(doc["deployment"], fingerprint)

    try:
        head = cp.open_checkpoint(_text(doc["checkpoint"], "checkpoint"), deployment.log_vkey,
                                  origin=deployment.log_origin, witness_vkeys=deployment.witnesses)
    except (VerificationError, InvalidInput) as exc:
        raise CorroborationRefused("checkpoint", _("it is not a checkpoint signed by this deployment's log ({exc})",
                                                   exc=exc)
                                   ) from None
    if deployment.witnesses and not head.cosignatures:
        raise CorroborationRefused("checkpoint", _("no witness this deployment lists cosigned it"))
    size, root = head.checkpoint.size, head.checkpoint.root_hash

    release = _object(doc["release"], "release", _RELEASE)
    release_index, release_event = _leaf(release, "release", size, root)
    if release_event.kind != "release" or release_event.match_id != match_id:
        raise CorroborationRefused("release.opening", _("it is not the release of this match"))

    raw_entries = doc["entries"]
    if not isinstance(raw_entries, list) or not MIN_ENTRIES <= len(raw_entries) <= MAX_ENTRIES:
        raise CorroborationRefused("entries", _("a statement lists {MIN_ENTRIES} to {MAX_ENTRIES} entries",
                                                MIN_ENTRIES=MIN_ENTRIES, MAX_ENTRIES=MAX_ENTRIES))
    checked: list[CheckedEntry] = []
    for n, raw in enumerate(raw_entries):
        checked.append(_entry(raw, f"entries[{n}]", deployment, admin_key, statement_id, match_id, tag,
                              size, root, release_index, release_event.at, checked))

    disclosed = _disclosures(doc["disclosures"], checked, deployment.deployment_id, check_disclosure)
    entries = tuple(CheckedEntry(**{**e.__dict__, "disclosed": e.entry_id in disclosed}) for e in checked)
    return CorroborationCheck(
        statement_id=statement_id, match_id=match_id, tag=tag, made_at=made_at, admin_fingerprint=fingerprint,
        deployment=deployment, origin=head.checkpoint.origin, tree_size=size, release_index=release_index,
        release_at=release_event.at, released=release_event.released or 0, entries=entries,
        witnesses=head.cosignatures)


def _entry(raw: Any, where: str, deployment: Deployment, admin_key: bytes, statement_id: bytes, match_id: bytes,
           tag: bytes, size: int, root: bytes, release_index: int, release_at: datetime,
           before: list[CheckedEntry]) -> CheckedEntry:
    entry = _object(raw, where, _ENTRY)
    entry_id = _bytes(entry, "entry_id", 16, where)
    if any(e.entry_id == entry_id for e in before):
        raise CorroborationRefused(f"{where}.entry_id", _("this entry is listed twice"))
    quorum = entry["quorum"]
    if isinstance(quorum, bool) or not isinstance(quorum, int) or not 1 <= quorum <= 255:
        raise CorroborationRefused(f"{where}.quorum", _("an entry's quorum is a whole number from 1 to 255"))
    tags = _byte_list(entry["tags"], f"{where}.tags", 32, MAX_IDENTIFIERS)
    if len(set(tags)) != len(tags):
        raise CorroborationRefused(f"{where}.tags", _("a tag is listed twice"))
    body = _bytes(entry, "body", None, where)
    envelopes = _envelopes(entry["envelopes"], f"{where}.envelopes")
    index, event = _leaf(entry, where, size, root)
    if event.kind != "entry" or event.entry_id != entry_id:
        raise CorroborationRefused(f"{where}.opening", _("its leaf is not an entry event of this entry"))
    content = events.content_hash(quorum, tags, body, envelopes)
    if content != event.content_hash:
        raise CorroborationRefused(where, _("its quorum, tags, body and envelopes do not hash to the content its "
                                            "log leaf commits to: one of them was changed"))
    if tag not in tags:
        raise CorroborationRefused(f"{where}.tags", _("the match's tag is not among this entry's tags"))
    if index >= release_index:
        raise CorroborationRefused(f"{where}.leaf_index", _("this entry was logged after the match's release"))
    if event.at > release_at:
        raise CorroborationRefused(f"{where}.opening", _("this entry's time is later than the match's release"))
    certificate = _bytes(entry, "certificate", accounts.CERTIFICATE_BYTES, where)
    try:
        cert = accounts.verify_certificate(admin_key, deployment.deployment_id, certificate)
    except (VerificationError, InvalidInput) as exc:
        raise CorroborationRefused(f"{where}.certificate", str(exc)) from None
    for n, other in enumerate(before):
        if other.account_key == cert.account_key:
            raise CorroborationRefused(f"{where}.certificate",
                                       _("the same account as entries[{n}]: each entry must be from another account",
                                         n=n))
    consent = _bytes(entry, "consent", 64, where)
    try:
        verify_consent(cert.account_key, deployment.deployment_id, statement_id, match_id, entry_id, content,
                       index, consent)
    except VerificationError as exc:
        raise CorroborationRefused(f"{where}.consent", str(exc)) from None
    return CheckedEntry(entry_id, index, event.at, content, cert.account_key, cert.issued_at, quorum)


def _leaf(doc: dict[str, Any], where: str, size: int, root: bytes) -> tuple[int, events.Event]:
    """A leaf's opening and inclusion proof in the checkpoint's tree: (index, the event it commits to)."""
    index = doc["leaf_index"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
        raise CorroborationRefused(f"{where}.leaf_index", _("a leaf index is a whole number below the checkpoint's "
                                                            "size ({size})", size=size))
    raw = _bytes(doc, "opening", None, where)
    try:
        opening = events.parse_opening(raw)
    except InvalidInput as exc:
        raise CorroborationRefused(f"{where}.opening", _("it is not a leaf opening ({exc})", exc=exc)) from None
    proof = _byte_list(doc["proof"], f"{where}.proof", 32, merkle.MAX_PROOF_HASHES, allow_empty=True)
    try:
        merkle.verify_inclusion(merkle.leaf_hash(opening.leaf), index, size, proof, root)
    except (VerificationError, InvalidInput):
        raise CorroborationRefused(f"{where}.proof", _("the leaf is not at this index in the checkpoint's tree")
                                   ) from None
    return index, events.parse_event(opening.event)


def _deployment(published: Any, fingerprint: bytes) -> tuple[Deployment, bytes]:
    if not isinstance(published, dict):
        raise CorroborationRefused("deployment", _("it is not a signed deployment document"))
    try:
        deployment = deployment_doc.verify(published, fingerprint)
        admin_key = b64u_decode(published["admin_key"], length=32, field="admin_key")
    except VerificationError as exc:
        if deployment_doc.refused_part(exc) == "administrator":
            raise CorroborationRefused("deployment", _("it is not signed by the administrator whose fingerprint "
                                                       "the statement names")) from None
        raise CorroborationRefused("deployment", _("its signature does not verify ({exc})", exc=exc)) from None
    except (InvalidInput, KeyError, TypeError) as exc:
        raise CorroborationRefused("deployment", _("it is malformed ({exc})", exc=exc)) from None
    return deployment, admin_key


def _disclosures(raw: Any, entries: list[CheckedEntry], deployment_id: bytes,
                 check: Callable[[dict[str, Any]], tuple[bytes, bytes, bytes]] | None) -> set[bytes]:
    if not isinstance(raw, list):
        raise CorroborationRefused("disclosures", _("it is a list of disclosures (empty if none is attached)"))
    if raw and check is None:
        check = _default_disclosure_check()
    found: set[bytes] = set()
    by_id = {e.entry_id: e for e in entries}
    for n, doc in enumerate(raw):
        where = f"disclosures[{n}]"
        if not isinstance(doc, dict):
            raise CorroborationRefused(where, _("it is not a disclosure document"))
        assert check is not None
        try:
            disclosed_deployment, entry_id, content = check(doc)
        except (VerificationError, InvalidInput) as exc:
            raise CorroborationRefused(where, _("the disclosure does not verify ({exc})", exc=exc)) from None
        entry = by_id.get(entry_id)
        if disclosed_deployment != deployment_id or entry is None:
            raise CorroborationRefused(where, _("it discloses an entry this statement does not list"))
        if entry.content_hash != content:
            raise CorroborationRefused(where, _("it discloses other content than the entry this statement lists"))
        if entry_id in found:
            raise CorroborationRefused(where, _("this entry's disclosure is attached twice"))
        found.add(entry_id)
    return found


def _default_disclosure_check() -> Callable[[dict[str, Any]], tuple[bytes, bytes, bytes]]:
    """``protocol/disclosure.py``'s verifier (the record's text, receipt and witnesses), then its entry."""
    from consilience.protocol import disclosure  # beside this module; imported when a disclosure is attached

    def check(doc: dict[str, Any]) -> tuple[bytes, bytes, bytes]:
        result = disclosure.verify(doc)
        return (b64u_decode(result.deployment_id, length=16), b64u_decode(result.entry_id, length=16),
                bytes.fromhex(result.content_hash))

    return check


# -- strict reading ---------------------------------------------------------------


def _object(value: Any, where: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """A JSON object with exactly ``fields``: a statement carries nothing else (no text can ride along)."""
    if not isinstance(value, dict):
        raise CorroborationRefused(where, _("it is not a JSON object"))
    missing = [f for f in fields if f not in value]
    if missing:
        raise CorroborationRefused(f"{_path(where, missing[0])}", _("it is missing"))
    extra = sorted(set(value) - set(fields))
    if extra:
        raise CorroborationRefused(f"{_path(where, extra[0])}", _("a statement has no such field"))
    return value


def _path(where: str, name: str) -> str:
    return name if where == "statement" else f"{where}.{name}"


def _bytes(doc: dict[str, Any], name: str, length: int | None, where: str = "statement") -> bytes:
    path = _path(where, name)
    try:
        raw = b64u_decode(doc[name], length=length, field=path)
    except InvalidInput:
        if length:
            raise CorroborationRefused(path, _("it is not {length} bytes of unpadded base64url",
                                               length=length)) from None
        raise CorroborationRefused(path, _("it is not unpadded base64url")) from None
    if not raw:
        raise CorroborationRefused(path, _("it is empty"))
    return raw


def _byte_list(value: Any, where: str, length: int, most: int, *, allow_empty: bool = False) -> list[bytes]:
    if not isinstance(value, list) or len(value) > most or (not value and not allow_empty):
        raise CorroborationRefused(where, _("it is a list of at most {most} values", most=most))
    out = []
    for n, item in enumerate(value):
        try:
            out.append(b64u_decode(item, length=length))
        except InvalidInput:
            raise CorroborationRefused(f"{where}[{n}]", _("it is not {length} bytes of unpadded base64url",
                                                          length=length)) from None
    return out


def _envelopes(value: Any, where: str) -> list[tuple[bytes, bytes]]:
    if not isinstance(value, list) or not value:
        raise CorroborationRefused(where, _("an entry has at least one envelope"))
    out = []
    for n, item in enumerate(value):
        e = _object(item, f"{where}[{n}]", ("key_id", "ciphertext"))
        out.append((_bytes(e, "key_id", 16, f"{where}[{n}]"), _bytes(e, "ciphertext", None, f"{where}[{n}]")))
    if len({k for k, _unused in out}) != len(out):
        raise CorroborationRefused(where, _("two envelopes name one key"))
    return out


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise CorroborationRefused(where, _("it is not text"))
    return value


def _time(value: Any, where: str) -> datetime:
    try:
        when = datetime.fromisoformat(_text(value, where).replace("Z", "+00:00"))
    except ValueError:
        raise CorroborationRefused(where, _("it is not an RFC 3339 time")) from None
    if when.tzinfo is None:
        raise CorroborationRefused(where, _("it is not an RFC 3339 time (no time zone)"))
    return when


__all__ = [
    "CONSENT_LABEL", "FORMAT", "MIN_ENTRIES", "CheckedEntry", "ConsentSubmission", "ConsentedEntry",
    "CorroborationAsk", "CorroborationCheck", "CorroborationDetail", "CorroborationRefused", "CorroborationRequest",
    "CorroborationSummary", "ReleaseLeaf", "consent_message", "make_statement", "sign_consent",
    "verify", "verify_consent",
]
