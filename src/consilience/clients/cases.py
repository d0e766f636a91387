"""What a counselor does with cases (PROTOCOL.md §13.5): list them, take or give one, say how far it got,
link matches that name one person, write and read notes.

Notes are sealed here, on the counselor's device, to every counselor key of the administrator-signed
deployment document and signed with this counselor's signing key; reading one checks that a counselor
the document lists signed it. The server keeps ciphertexts only, and which case a note is filed under
is the server's word (a merge moves notes): a note says which case it was written in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from consilience.clients.counselor import CounselorKeys, _client, match_hex, resolve_id
from consilience.clients.escrow_client import EscrowClient
from consilience.clients.results import JsonObject
from consilience.errors import ConsilienceError, InvalidInput
from consilience.i18n import _
from consilience.protocol import conversations
from consilience.protocol import messages as m
from consilience.protocol.conversations import Kind, Note
from consilience.protocol.deployment import Counselor, Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode

STATES: tuple[str, ...] = get_args(m.CaseState)
#: What ``--owner`` takes to leave a case to no one.
NO_OWNER = "none"


@dataclass(frozen=True)
class CaseList:
    """The cases as the server lists them: most urgent first."""

    cases: tuple[m.Case, ...]

    def to_json(self) -> JsonObject:
        return {"cases": [c.model_dump(mode="json") for c in self.cases]}


@dataclass(frozen=True)
class CaseResult:
    """One case after a change (owner, state, a link)."""

    case: m.Case

    def to_json(self) -> JsonObject:
        return {"case": self.case.model_dump(mode="json")}


@dataclass(frozen=True)
class NoteAdded:
    case_id: str  # b64u
    note_id: str  # b64u
    #: the counselors it was sealed to (by name, from the signed document)
    sealed_to: tuple[str, ...]

    def to_json(self) -> JsonObject:
        return {"case_id": self.case_id, "note_id": self.note_id, "sealed_to": [*self.sealed_to]}


@dataclass(frozen=True)
class OpenedNote:
    """A note that opened and is signed by a counselor of this deployment."""

    note_id: str  # b64u
    author: str  # the signer's name in the signed document
    author_key_id: str  # b64u
    text: str
    written_at: str  # the author's clock (signed)
    stored_at: str  # the server's clock
    #: the case id (b64u) the note was written in, when a link merged that case into this one
    written_in: str | None

    def to_json(self) -> JsonObject:
        return {"note_id": self.note_id, "author": self.author, "author_key_id": self.author_key_id,
                "text": self.text, "written_at": self.written_at, "stored_at": self.stored_at,
                "written_in": self.written_in}


@dataclass(frozen=True)
class NoteList:
    case_id: str  # b64u
    notes: tuple[OpenedNote, ...]
    #: note id (b64u) -> why it could not be read
    failed: Mapping[str, str]

    def to_json(self) -> JsonObject:
        return {"case_id": self.case_id, "notes": [n.to_json() for n in self.notes], "failed": {**self.failed}}


def _deployment(keys: CounselorKeys, client: EscrowClient) -> Deployment:
    if keys.admin_fingerprint is None:
        raise InvalidInput(_("this key is not connected to a deployment yet; run 'consilience counselor login'"))
    return client.deployment(keys.admin_fingerprint, min_serial=keys.min_serial)


def list_cases(keys: CounselorKeys) -> CaseList:
    with _client(keys) as client:
        return CaseList(tuple(client.cases()))


def resolve_case_id(keys: CounselorKeys, text: str) -> bytes:
    """The case ``text`` names, read like a match id: 32 hex digits, a unique prefix, or the id of --json."""
    return resolve_id(text, lambda: [c.case_id for c in list_cases(keys).cases], what="case", listing="cases")


def counselor_named(deployment: Deployment, name: str) -> Counselor:
    """The counselor of the signed document called ``name`` (exactly, or else ignoring case)."""
    wanted = name.strip()
    exact = [c for c in deployment.counselors if c.name == wanted]
    loose = [c for c in deployment.counselors if c.name.casefold() == wanted.casefold()]
    found = exact or loose
    if len(found) == 1:
        return found[0]
    names = ", ".join(c.name for c in deployment.counselors)
    if found:
        raise InvalidInput(_("more than one counselor is called {wanted}; the deployment lists {names}",
                             wanted=repr(wanted), names=names))
    raise InvalidInput(_("no counselor of this deployment is called {wanted}; it lists {names} (or give "
                         "{NO_OWNER} to leave the case to no one)",
                         wanted=repr(wanted), names=names, NO_OWNER=repr(NO_OWNER)))


def update_case(keys: CounselorKeys, case_id: bytes, *, take: bool = False, owner: str | None = None,
                state: str | None = None) -> CaseResult:
    """Take the case (``take``), give it to the counselor named ``owner`` (or ``"none"``), set its ``state``.

    One request: the owner and the state change together or not at all.
    """
    if take and owner is not None:
        raise InvalidInput(_("take the case (--take) or give it to someone (--owner NAME), not both"))
    if state is not None and state not in STATES:
        raise InvalidInput(_("a case's state is one of {items}, not {state}",
                             items=', '.join(STATES), state=repr(state)))
    with _client(keys) as client:
        owner_key: bytes | None | Literal["keep"] = "keep"
        if take:
            owner_key = keys.key_id
        elif owner is not None:
            owner_key = None if owner.strip().lower() == NO_OWNER else counselor_named(
                _deployment(keys, client), owner).key_id
        if owner_key == "keep" and state is None:
            raise InvalidInput(_("say what to change: --take, --owner NAME (or none), --state STATE"))
        return CaseResult(client.update_case(case_id, owner_key_id=owner_key, state=state))


def link(keys: CounselorKeys, case_id: bytes, match_id: bytes) -> CaseResult:
    """The match names the case's person too: the match's case (its matches and notes) joins this one."""
    with _client(keys) as client:
        return CaseResult(client.link_case(case_id, match_id))


def add_note(keys: CounselorKeys, case_id: bytes, text: str) -> NoteAdded:
    """Seal a note here to every counselor of the signed document, signed by this counselor, and store it."""
    note = Note(text)
    with _client(keys) as client:
        deployment = _deployment(keys, client)
        me = next((c for c in deployment.counselors if c.key_id == keys.key_id), None)
        if me is None:
            raise InvalidInput(_("this deployment does not list your key any more; ask the administrator"))
        if me.signing_key != keys.signing_key:
            raise InvalidInput(_("the deployment document lists no signing key of yours, so colleagues could not "
                                 "check your notes; ask the administrator to add you again with your current public "
                                 "key file (consilience counselor keygen writes it)"))
        note_id = conversations.new_id()
        sealed = conversations.seal_item(Kind.NOTE, case_id, note_id, note, signer_seed=keys.signing_seed,
                                         recipients=conversations.note_recipients(deployment))
        client.add_case_note(case_id, note_id, m.SealedItem.model_validate(sealed.to_json()))
    return NoteAdded(b64u_encode(case_id), b64u_encode(note_id), tuple(c.name for c in deployment.counselors))


def read_notes(keys: CounselorKeys, case_id: bytes) -> NoteList:
    """Every note of the case, opened here; a note that does not open or is not signed by a counselor of this
    deployment is listed in ``failed`` with why, never shown as if it were one."""
    with _client(keys) as client:
        deployment = _deployment(keys, client)
        stored = client.case_notes(case_id)
    notes: list[OpenedNote] = []
    failed: dict[str, str] = {}
    for n in stored:
        if n.wrap is None:
            failed[n.note_id] = _("it is not sealed to your key (written before your key was added); a colleague "
                                  "who can read it can hand it over to you")
            continue
        scope, note_id = b64u_decode(n.scope, length=16), b64u_decode(n.note_id, length=16)
        try:
            opened = conversations.open_item(Kind.NOTE, scope, note_id, b64u_decode(n.content),
                                             b64u_decode(n.wrap), keys.seed, keys.key_id)
            author = conversations.check_note(opened, deployment)
        except ConsilienceError as exc:
            failed[n.note_id] = str(exc)
            continue
        assert isinstance(opened.payload, Note)
        notes.append(OpenedNote(note_id=n.note_id, author=author.name, author_key_id=b64u_encode(author.key_id),
                                text=opened.payload.text, written_at=opened.inner.sent_at,
                                stored_at=n.created_at.isoformat(), written_in=None if scope == case_id else n.scope))
    return NoteList(b64u_encode(case_id), tuple(notes), failed)


def case_hex(case_id: str | bytes) -> str:
    """A case id as the 32 hex digits the CLI shows (like a match id)."""
    return match_hex(case_id)
