"""C2SP signed-note (c2sp.org/signed-note): text signed by one or more named keys.

The log's checkpoints and the witnesses' cosignatures are signed notes, so a
receipt can be checked by any signed-note tool, not only ours. A note is a
text ending in a newline, a blank line, then lines ``— <name> <base64(key ID
|| signature)>``. A key is identified by the pair (name, 4-byte key ID); the
ID is ``SHA-256(name || "\\n" || type || public key)[:4]``.

Verification follows the spec's MUSTs and also takes its SHOULDs, because a
receipt is evidence: a signature line from a trusted key that fails to verify
rejects the whole note, and so does a trusted key signing twice (the spec is
silent; Go's ``sumdb/note`` drops exact duplicates, we refuse them because our
logs never produce them). Lines from unknown keys are ignored, as the spec
requires, but still count towards :data:`MAX_SIGNATURES`.

Only Ed25519 (type ``0x01``) is implemented here; the timestamped Ed25519
cosignature type ``0x04`` lives in :mod:`consilience.tlog.checkpoint`
and plugs in through the :class:`NoteVerifier` protocol.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _

EM_DASH = "\u2014"
SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
#: The spec says verifiers MUST accept at least 16; Go's reference rejects more than 100.
MAX_SIGNATURES = 100
#: A bound on the whole note, so parsing work is bounded before any signature is checked.
MAX_NOTE_BYTES = 1 << 20
_KNOWN_TYPES = {SIG_ED25519: 32, SIG_COSIGNATURE_V1: 32}


def valid_key_name(name: str) -> bool:
    """Non-empty, no Unicode space, no ``+``, no control character, encodable as UTF-8."""
    if not isinstance(name, str) or not name or "+" in name:
        return False
    if any(c.isspace() or ord(c) < 0x20 for c in name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """The recommended 4-byte key ID: SHA-256(name || 0x0A || type || public key)[:4]."""
    if not valid_key_name(name):
        raise InvalidInput(_("invalid signed-note key name {name}", name=repr(name)))
    if not 0 <= sig_type <= 0xFF:
        raise InvalidInput(_("signature type is one byte"))
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A parsed vkey ``<name>+<hex key ID>+<base64(type || public key)>``."""

    name: str
    key_id: bytes
    sig_type: int
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> VerifierKey:
        """Strict: 8 lowercase hex digits, canonical base64, known type, ID matching the key.

        The key material may itself contain ``+`` (it is base64), so only the
        first two ``+`` separate fields; a name cannot contain one.
        """
        if not isinstance(vkey, str):
            raise InvalidInput(_("a verifier key is a string"))
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise InvalidInput(_("a verifier key is <name>+<key ID>+<key>"))
        name, hex_id, material_b64 = parts
        if not valid_key_name(name):
            raise InvalidInput(_("invalid key name {name}", name=repr(name)))
        if len(hex_id) != 8 or any(c not in "0123456789abcdef" for c in hex_id):
            raise InvalidInput(_("the key ID is 8 lowercase hex digits"))
        material = b64decode(material_b64, N_("verifier key material"))
        if not material:
            raise InvalidInput(_("the verifier key has no key material"))
        if material[0] not in _KNOWN_TYPES:
            raise InvalidInput(_("{name}: unsupported verifier key type 0x{material_0:02x}; this program reads "
                                 "Ed25519 vkeys only (type 0x01, and 0x04 for a witness's cosignature/v1 key)",
                                 name=name, material_0=material[0]))
        sig_type, public_key = material[0], material[1:]
        if len(public_key) != _KNOWN_TYPES[sig_type]:
            raise InvalidInput(_("wrong public key length for its type"))
        if key_id(name, sig_type, public_key) != bytes.fromhex(hex_id):
            raise InvalidInput(_("the key ID does not match the name and key"))
        return cls(name, bytes.fromhex(hex_id), sig_type, public_key)

    @classmethod
    def for_key(cls, name: str, public_key: bytes, sig_type: int = SIG_ED25519) -> VerifierKey:
        if _KNOWN_TYPES.get(sig_type) != len(public_key):
            raise InvalidInput(_("unsupported key type or wrong public key length"))
        return cls(name, key_id(name, sig_type, public_key), sig_type, bytes(public_key))

    @classmethod
    def of_type(cls, vkey: str | VerifierKey, sig_type: int, what: str) -> VerifierKey:
        """``vkey`` parsed (if a string) and required to be of ``sig_type``; ``what`` names it in the refusal."""
        key = vkey if isinstance(vkey, VerifierKey) else cls.parse(vkey)
        if key.sig_type != sig_type:
            raise InvalidInput(_("{name}: not {what} (type 0x{sig_type:02x})",
                                 name=key.name, what=_(what), sig_type=sig_type))
        return key

    def encode(self) -> str:
        material = base64.b64encode(bytes([self.sig_type]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{material}"


def ed25519_vkey(name: str, public_key: bytes) -> str:
    """The vkey string of an Ed25519 note-signing key (type 0x01)."""
    return VerifierKey.for_key(name, public_key, SIG_ED25519).encode()


# --- signers and verifiers --------------------------------------------------------------------


class NoteSigner(Protocol):
    """Produces the signature bytes (without the key ID) over a note text."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, text: bytes) -> bytes: ...


class NoteVerifier(Protocol):
    """Checks signature bytes (without the key ID) over a note text; raises VerificationError."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> None: ...


@dataclass(frozen=True)
class Ed25519Signer:
    """Type 0x01: a plain Ed25519 signature over the note text."""

    name: str
    private_key: bytes

    @property
    def public_key(self) -> bytes:
        return signing.public_key(self.private_key)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, SIG_ED25519, self.public_key)

    @property
    def vkey(self) -> str:
        return ed25519_vkey(self.name, self.public_key)

    def sign(self, text: bytes) -> bytes:
        return signing.sign(self.private_key, text)


@dataclass(frozen=True)
class Ed25519Verifier:
    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str | VerifierKey) -> Ed25519Verifier:
        key = VerifierKey.of_type(vkey, SIG_ED25519, N_("an Ed25519 note key"))
        return cls(key.name, key.key_id, key.public_key)

    def verify(self, text: bytes, signature: bytes) -> None:
        signing.verify(self.public_key, text, signature)


# --- the note format --------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key ID and the signature bytes after the ID."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        payload = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{EM_DASH} {self.name} {payload}\n"


@dataclass(frozen=True)
class Note:
    """A note split into its text (with final newline) and its signature lines, unverified."""

    text: str
    signatures: tuple[Signature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


@dataclass(frozen=True)
class OpenedNote:
    """A note with at least one signature from a trusted key verified."""

    text: str
    verified: tuple[Signature, ...]
    unverified: tuple[Signature, ...]

    def verified_by(self, name: str, key: bytes) -> Signature | None:
        return next((s for s in self.verified if s.name == name and s.key_id == key), None)


#: Any C0 control character but the newline (one regular-expression scan instead of a Python loop per
#: character: a receipt's checkpoint is parsed several times while it is issued)
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")


def parse_note(note: str | bytes) -> Note:
    """Split a signed note without verifying anything; raise InvalidInput if malformed.

    The text is everything up to and including the newline before the *last*
    blank line; every line after it must be a well-formed signature line.
    """
    text = _as_text(note)
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES:
        raise InvalidInput(_("signed note is too large"))
    if _CONTROL.search(text):
        raise InvalidInput(_("signed note contains a control character"))
    if not text.endswith("\n"):
        raise InvalidInput(_("signed note must end with a newline"))
    split = text.rfind("\n\n")
    if split < 0:
        raise InvalidInput(_("signed note has no blank line before its signatures"))
    body, block = text[: split + 1], text[split + 2 :]
    lines = block[:-1].split("\n") if block else []
    if not lines:
        raise InvalidInput(_("signed note has no signature lines"))
    if len(lines) > MAX_SIGNATURES:
        raise InvalidInput(_("signed note has more than {MAX_SIGNATURES} signatures", MAX_SIGNATURES=MAX_SIGNATURES))
    return Note(body, tuple(_parse_signature_line(line) for line in lines))


def parse_signature_lines(text: str, *, limit: int = MAX_SIGNATURES) -> tuple[Signature, ...]:
    """Signature lines on their own (as a tlog-witness ``add-checkpoint`` response carries them), unverified.

    One or more well-formed lines, each ending in a newline, at most ``limit`` of them; InvalidInput
    otherwise. Nothing is verified: the caller decides which lines it trusts.
    """
    if not isinstance(text, str) or not text.endswith("\n"):
        raise InvalidInput(_("signature lines must each end with a newline"))
    lines = text[:-1].split("\n")
    if len(lines) > limit:
        raise InvalidInput(_("more than {limit} signature lines", limit=limit))
    return tuple(_parse_signature_line(line) for line in lines)


def _parse_signature_line(line: str) -> Signature:
    prefix = EM_DASH + " "
    if not line.startswith(prefix):
        raise InvalidInput(_("signature line must start with an em dash and a space"))
    fields = line[len(prefix) :].split(" ")
    if len(fields) != 2 or not valid_key_name(fields[0]):
        raise InvalidInput(_("signature line must be '— <name> <base64>'"))
    raw = b64decode(fields[1], N_("signature"))
    if len(raw) < 5:
        raise InvalidInput(_("signature is shorter than a key ID and one byte"))
    return Signature(fields[0], raw[:4], raw[4:])


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Verify a note against trusted keys; raise VerificationError unless one verifies.

    Malformed notes also raise VerificationError (wrapping the parse error),
    so a caller checking evidence has a single failure type to handle.
    """
    by_key: dict[tuple[str, bytes], NoteVerifier] = {}
    for v in verifiers:
        if (v.name, v.key_id) in by_key:
            raise InvalidInput(_("ambiguous trusted key {name}+{key_id}",
                                 name=v.name, key_id=v.key_id.hex()))
        by_key[(v.name, v.key_id)] = v
    try:
        parsed = parse_note(note)
    except InvalidInput as exc:
        raise VerificationError(_("malformed signed note: {exc}", exc=exc)) from exc
    message = parsed.text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    for sig in parsed.signatures:
        verifier = by_key.get((sig.name, sig.key_id))
        if verifier is None:
            unverified.append(sig)
            continue
        if any(s.name == sig.name and s.key_id == sig.key_id for s in verified):
            raise VerificationError(_("trusted key {name}+{key_id} signed twice",
                                      name=sig.name, key_id=sig.key_id.hex()))
        try:
            verifier.verify(message, sig.signature)
        except VerificationError as exc:
            raise VerificationError(_("invalid signature from trusted key {name}+{key_id}",
                                      name=sig.name, key_id=sig.key_id.hex())) from exc
        verified.append(sig)
    if not verified:
        raise VerificationError(_("no signature from a trusted key"))
    return OpenedNote(parsed.text, tuple(verified), tuple(unverified))


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """A signed note: ``text`` (which must end in a newline and form a valid note) plus signatures."""
    if not signers:
        raise InvalidInput(_("a signed note needs at least one signature"))
    return add_signatures(_unsigned(text), signers)


def add_signatures(note: str | Note, signers: Sequence[NoteSigner]) -> str:
    """Append signatures over the text of an already signed note (as a witness does)."""
    parsed = note if isinstance(note, Note) else parse_note(note)
    message = parsed.text.encode("utf-8")
    new = [Signature(s.name, s.key_id, s.sign(message)) for s in signers]
    result = Note(parsed.text, parsed.signatures + tuple(new)).encode()
    if parse_note(result).text != parsed.text:  # also enforces the size and count limits
        raise InvalidInput(_("note text does not survive signing unchanged"))
    return result


def _unsigned(text: str) -> Note:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise InvalidInput(_("note text must end with a newline"))
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise InvalidInput(_("note text contains a control character"))
    return Note(_as_text(text), ())


def _as_text(note: str | bytes) -> str:
    if isinstance(note, (bytes, bytearray)):
        try:
            return bytes(note).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(_("signed note is not valid UTF-8")) from exc
    if not isinstance(note, str):
        raise InvalidInput(_("a signed note is text"))
    try:
        note.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(_("signed note is not valid UTF-8")) from exc
    return note


def b64decode(text: str, field: str) -> bytes:
    """Canonical standard base64 (RFC 4648 §4, padded), or InvalidInput naming ``field`` (a message id, ``N_``)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise InvalidInput(_("{field}: not base64", field=_(field))) from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise InvalidInput(_("{field}: non-canonical base64", field=_(field)))
    return raw
