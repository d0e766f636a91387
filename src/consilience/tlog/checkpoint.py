"""C2SP tlog-checkpoint bodies and tlog-cosignature/v1 (Ed25519) witness cosignatures.

A checkpoint is the signed note the log publishes for a tree head::

    <origin>\\n<decimal tree size>\\n<base64 root hash>\\n[<extension line>\\n ...]

Witnesses cosign it (signature type ``0x04``) over
``"cosignature/v1\\ntime <T>\\n" || body``, and put ``T`` as 8 big-endian bytes
in front of the 64-byte Ed25519 signature. A quorum of such cosignatures is
what lets a reporter believe the log did not show them a private fork.

A witness's key is read in either of the two forms in use: a type-0x04 vkey
(tlog-cosignature's own encoding, which witness-network.org publishes) or an
ordinary type-0x01 Ed25519 vkey (what Sigsum-style policies and Go's
``sumdb/note`` take). Both name the same key and are used the same way: the
cosignature's key ID is always ``SHA-256(name || 0x0A || 0x04 || key)[:4]``,
as tlog-cosignature requires, and the signature is always cosignature/v1, so
a 0x01 vkey's own key ID (over 0x01) never matches a cosignature line.
transparency-dev/formats' ``NewVerifierForCosignatureV1`` reads both the same way.

Parsing is strict (canonical decimal and base64, no empty lines, sizes below
2^64), so one tree head has exactly one body and a signature can't be moved
to a differently spelled copy. The origin is *not* required to look like a
URL: the spec says clients MUST NOT assume that (``go.sum database tree``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _
from consilience.tlog import merkle, notes
from consilience.tlog.notes import SIG_COSIGNATURE_V1, SIG_ED25519, VerifierKey

COSIGNATURE_HEADER = "cosignature/v1"
MAX_TIMESTAMP = 2**63 - 1
#: The vkey types a witness's Ed25519 key may be given in (see the module text).
WITNESS_KEY_TYPES = (SIG_COSIGNATURE_V1, SIG_ED25519)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or any(ord(c) < 0x20 for c in self.origin):
            raise InvalidInput(_("checkpoint origin must be a non-empty line"))
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size <= merkle.MAX_TREE_SIZE:
            raise InvalidInput(_("checkpoint tree size must be in [0, 2^64)"))
        if len(self.root_hash) != merkle.HASH_SIZE:
            raise InvalidInput(_("checkpoint root hash must be 32 bytes"))
        for line in self.extensions:
            if not line or any(ord(c) < 0x20 for c in line):
                raise InvalidInput(_("checkpoint extension lines must be non-empty lines"))

    def body(self) -> str:
        """The note text: three lines plus extension lines, each ending in a newline."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return "".join(line + "\n" for line in (self.origin, str(self.size), root, *self.extensions))

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        if not isinstance(body, str) or not body.endswith("\n"):
            raise InvalidInput(_("checkpoint body must end with a newline"))
        lines = body[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise InvalidInput(_("checkpoint body is at least three non-empty lines"))
        origin, size_text, root_text, *extensions = lines
        return cls(origin, parse_decimal(size_text, N_("tree size")), _root(root_text), tuple(extensions))


@dataclass(frozen=True)
class Cosignature:
    """A verified witness cosignature: who, and the time it vouches for."""

    name: str
    key_id: bytes
    timestamp: int


@dataclass(frozen=True)
class VerifiedCheckpoint:
    checkpoint: Checkpoint
    note: str
    cosignatures: tuple[Cosignature, ...]


def sign_checkpoint(checkpoint: Checkpoint, log_private_key: bytes, *, name: str | None = None) -> str:
    """The checkpoint as a note signed by the log; the key name defaults to the origin (a SHOULD)."""
    signer = notes.Ed25519Signer(checkpoint.origin if name is None else name, log_private_key)
    return notes.sign_note(checkpoint.body(), [signer])


def parse_signed_checkpoint(note: str) -> tuple[Checkpoint, notes.Note]:
    """Split and parse without verifying anything (InvalidInput if malformed)."""
    parsed = notes.parse_note(note)
    return Checkpoint.parse(parsed.text), parsed


# --- cosignatures -----------------------------------------------------------------------------


def cosignature_message(body: str, timestamp: int) -> bytes:
    """``cosignature/v1\\ntime <T>\\n`` followed by the whole checkpoint body."""
    _check_timestamp(timestamp, InvalidInput)
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n".encode("ascii") + body.encode("utf-8")


def cosignature_vkey(name: str, public_key: bytes) -> str:
    """The vkey of an Ed25519 cosigner: type 0x04, so its key ID differs from a note key's."""
    return VerifierKey.for_key(name, public_key, SIG_COSIGNATURE_V1).encode()


def witness_verifiers(witness_vkeys: Iterable[str | VerifierKey]) -> list[CosignatureV1Verifier]:
    """Each witness's verifier; InvalidInput if a key is listed twice, in either form or under two names.

    An Ed25519 cosignature does not commit to the witness's name (tlog-cosignature), so one key
    listed under two names would be one witness counted twice.
    """
    verifiers: list[CosignatureV1Verifier] = []
    for vkey in witness_vkeys:
        v = CosignatureV1Verifier.from_vkey(vkey)
        if any(other.public_key == v.public_key for other in verifiers):
            raise InvalidInput(_("witness {name}: its key is listed twice (as two names, or in both vkey forms)",
                                 name=v.name))
        verifiers.append(v)
    return verifiers


@dataclass(frozen=True)
class CosignatureV1Signer:
    """A witness key signing at a fixed time (the witness decides the time, not the log)."""

    name: str
    private_key: bytes
    timestamp: int

    @property
    def key_id(self) -> bytes:
        return notes.key_id(self.name, SIG_COSIGNATURE_V1, signing.public_key(self.private_key))

    @property
    def vkey(self) -> str:
        return cosignature_vkey(self.name, signing.public_key(self.private_key))

    def sign(self, text: bytes) -> bytes:
        Checkpoint.parse(text.decode("utf-8"))  # a cosigner only ever signs checkpoints
        message = cosignature_message(text.decode("utf-8"), self.timestamp)
        return self.timestamp.to_bytes(8, "big") + signing.sign(self.private_key, message)


@dataclass(frozen=True)
class CosignatureV1Verifier:
    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str | VerifierKey) -> CosignatureV1Verifier:
        """A witness's key from its vkey of type 0x04 or 0x01; the key ID is the cosignature's (over 0x04)."""
        key = vkey if isinstance(vkey, VerifierKey) else VerifierKey.parse(vkey)
        if key.sig_type not in WITNESS_KEY_TYPES:
            raise InvalidInput(_("{name}: a witness key is an Ed25519 vkey of type 0x04 (cosignature/v1) or 0x01 "
                                 "(ordinary Ed25519), not type 0x{sig_type:02x}",
                                 name=key.name, sig_type=key.sig_type))
        return cls(key.name, notes.key_id(key.name, SIG_COSIGNATURE_V1, key.public_key), key.public_key)

    @property
    def vkey(self) -> str:
        """The key as a type-0x04 vkey, whose key ID is the one its cosignature lines carry."""
        return cosignature_vkey(self.name, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> None:
        if len(signature) != 8 + 64:
            raise VerificationError(_("a cosignature is an 8-byte time and a 64-byte signature"))
        timestamp = cosignature_timestamp(signature)
        _check_timestamp(timestamp, VerificationError)
        signing.verify(self.public_key, cosignature_message(text.decode("utf-8"), timestamp), signature[8:])


def cosignature_timestamp(signature: bytes) -> int:
    return int.from_bytes(signature[:8], "big")


def cosign(signed_checkpoint: str, witness_name: str, witness_private_key: bytes, timestamp: int) -> str:
    """``signed_checkpoint`` with one more cosignature line appended."""
    return notes.add_signatures(signed_checkpoint, [CosignatureV1Signer(witness_name, witness_private_key, timestamp)])


def cosignature_line(body: str, witness_name: str, witness_private_key: bytes, timestamp: int) -> str:
    """Just the signature line, as a tlog-witness ``add-checkpoint`` response carries it."""
    signer = CosignatureV1Signer(witness_name, witness_private_key, timestamp)
    return notes.Signature(signer.name, signer.key_id, signer.sign(body.encode("utf-8"))).line()


# --- verification -----------------------------------------------------------------------------


def open_checkpoint(
    note: str,
    log_vkey: str | VerifierKey,
    *,
    origin: str | None = None,
    witness_vkeys: Iterable[str | VerifierKey] = (),
    now: int | None = None,
) -> VerifiedCheckpoint:
    """Verify the log's signature and every known witness's cosignature.

    ``origin`` defaults to the log key's name (the spec's SHOULD); pass it when
    a log names its key differently. A known witness whose cosignature fails
    rejects the whole checkpoint; unknown lines are ignored. With ``now``,
    cosignatures dated in the future are refused (the spec's MAY). Whether
    enough witnesses signed is the caller's policy: see ``cosignatures``.
    """
    log = notes.Ed25519Verifier.from_vkey(log_vkey)
    witnesses = witness_verifiers(witness_vkeys)
    if any(w.public_key == log.public_key for w in witnesses):
        raise InvalidInput(_("the log's own key is listed as a witness; a witness must hold a key of its own"))
    opened = notes.open_note(note, [log, *witnesses])
    if opened.verified_by(log.name, log.key_id) is None:
        raise VerificationError(_("checkpoint is not signed by the log key"))
    try:
        checkpoint = Checkpoint.parse(opened.text)
    except InvalidInput as exc:
        raise VerificationError(_("malformed checkpoint: {exc}", exc=exc)) from exc
    expected = log.name if origin is None else origin
    if checkpoint.origin != expected:
        raise VerificationError(_("checkpoint origin {origin} is not {expected}",
                                  origin=repr(checkpoint.origin), expected=repr(expected)))
    cosignatures = []
    for sig in opened.verified:
        if (sig.name, sig.key_id) == (log.name, log.key_id):
            continue
        timestamp = cosignature_timestamp(sig.signature)
        if now is not None and timestamp > now:
            raise VerificationError(_("cosignature from {name} is dated in the future", name=sig.name))
        cosignatures.append(Cosignature(sig.name, sig.key_id, timestamp))
    return VerifiedCheckpoint(checkpoint, note, tuple(cosignatures))


# --- accepting cosignatures that witnesses hand in -----------------------------------------


@dataclass(frozen=True)
class AcceptedCosignature:
    """A verified cosignature and its signature line, re-serialised from the verified values."""

    cosignature: Cosignature
    line: str


def accept_cosignatures(body: str, posted: str, witness_vkeys: Iterable[str | VerifierKey], *,
                        now: int | None = None) -> tuple[AcceptedCosignature, ...]:
    """What a log keeps of the signature lines someone hands in for the checkpoint ``body``.

    Only lines that verify as cosignature/v1 of ``body`` under a listed witness's key are kept,
    at most one per witness (the newest), each rebuilt from its parsed name, key ID and signature,
    so no posted byte outside a verified signature is ever stored or served again. Everything else
    (lines under other names, forgeries, repeats, lines dated after ``now``) is dropped: extra lines
    cost a verifier its signature budget (``notes.MAX_SIGNATURES``), and a receipt is refused
    once a checkpoint carries more. Returns () when no line names a listed witness; raises
    ``VerificationError`` when some do but none verifies, ``InvalidInput`` when ``posted`` is not
    signature lines.
    """
    Checkpoint.parse(body)
    by_key = {(v.name, v.key_id): v for v in witness_verifiers(witness_vkeys)}
    message = body.encode("utf-8")
    best: dict[tuple[str, bytes], AcceptedCosignature] = {}
    refusals: list[str] = []
    for sig in notes.parse_signature_lines(posted):
        verifier = by_key.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        try:
            verifier.verify(message, sig.signature)
        except VerificationError:
            refusals.append(_("the cosignature from {name} does not verify for this checkpoint", name=sig.name))
            continue
        timestamp = cosignature_timestamp(sig.signature)
        if now is not None and timestamp > now:
            refusals.append(_("the cosignature from {name} is dated in the future", name=sig.name))
            continue
        kept = best.get((sig.name, sig.key_id))
        if kept is None or timestamp > kept.cosignature.timestamp:
            line = notes.Signature(verifier.name, verifier.key_id, bytes(sig.signature)).line()
            best[(sig.name, sig.key_id)] = AcceptedCosignature(Cosignature(verifier.name, verifier.key_id, timestamp),
                                                               line)
    if not best and refusals:
        raise VerificationError(refusals[0])
    return tuple(best.values())


# --- helpers ----------------------------------------------------------------------------------


def parse_decimal(text: str, field: str) -> int:
    """ASCII decimal, no sign, no leading zero (except ``0``), below 2^64; ``field`` is a message id (``N_``)."""
    if not text or not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise InvalidInput(_("{field} must be a decimal number without leading zeros", field=_(field)))
    value = int(text)
    if value > merkle.MAX_TREE_SIZE:
        raise InvalidInput(_("{field} must be below 2^64", field=_(field)))
    return value


def _root(text: str) -> bytes:
    root = notes.b64decode(text, N_("root hash"))
    if len(root) != merkle.HASH_SIZE:
        raise InvalidInput(_("root hash must be 32 bytes"))
    return root


def _check_timestamp(timestamp: int, error: type[Exception]) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise error(_("cosignature time must be in [0, 2^63)"))
