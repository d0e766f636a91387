"""Receipts: C2SP tlog-proof (c2sp.org/tlog-proof@v1) files a reporter keeps and checks offline.

The format, exactly as the spec gives it::

    c2sp.org/tlog-proof@v1
    extra <base64 extra data>          (optional)
    index <decimal leaf index>
    <base64 hash>                      (zero or more: RFC 9162 inclusion path, sibling first)
                                       (empty line)
    <signed checkpoint, verbatim>      (c2sp.org/tlog-checkpoint note with its signature lines)

How Consilience fills the spec's application-specific parts (no new fields,
so any tlog-proof tool can parse our receipts):

* The ``extra`` line carries the **leaf data itself** (the entry's commitment
  bytes); the leaf hash is ``SHA-256(0x00 || extra)``. The spec lets extra data
  be "additional data necessary to reconstruct the record hash"; here it is
  all of it. Extra data is unauthenticated by itself: it is trusted only
  because the inclusion proof binds its hash to the signed root. A verifier
  that knows the leaf data out of band can pass it as ``leaf=``; it must then
  match the extra line, if there is one.
* Empty extra data is written by omitting the line, so ``extra`` followed by
  nothing is refused as non-canonical.
* The escrow server's receipts (protocol v2) commit each event with a nonce, so
  their leaf data is ``SHA-256(label ‖ nonce ‖ event)`` and their ``extra`` line
  carries the *opening* (nonce ‖ event) from which the verifier recomputes it,
  still the spec's "additional data necessary to reconstruct the record hash".
  This module stays generic: ``clients/receipts.py`` recomputes the leaf and
  passes it as ``leaf=`` to a copy of the receipt without the extra line.

A receipt says "leaf *i* is in the tree the log signed at size *n*". To check
years later that the log did not fork since, :func:`verify_receipt` also
takes a newer signed checkpoint (``against``) and a consistency proof between
the two sizes; a newer checkpoint alone proves nothing about the older one.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _, _n
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle, notes
from consilience.tlog.notes import VerifierKey

HEADER = "c2sp.org/tlog-proof@v1"
FILE_EXTENSION = ".tlog-proof"


@dataclass(frozen=True)
class Receipt:
    """A tlog-proof, parsed but not verified. ``checkpoint`` is the signed note text verbatim."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    def encode(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + _b64(self.extra))
        lines.append(f"index {self.index}")
        lines.extend(_b64(h) for h in self.proof)
        return "\n".join(lines) + "\n\n" + self.checkpoint


@dataclass(frozen=True)
class ReceiptVerification:
    """What a verified receipt establishes.

    ``logged_by`` is the time by which the leaf was in the log according to
    ``witness_quorum`` witnesses: the quorum-th smallest cosignature time on
    the anchor checkpoint (``None`` without a witness policy). Each witness
    cosignature says "as of this time, the largest tree I saw had this root",
    and that tree contains the leaf.
    """

    origin: str
    index: int
    tree_size: int
    root_hash: bytes
    leaf: bytes
    leaf_hash: bytes
    cosignatures: tuple[cp.Cosignature, ...]
    logged_by: int | None
    against_size: int | None = None
    against_root_hash: bytes | None = None


def parse_receipt(text: str | bytes) -> Receipt:
    """Strict parse; raise InvalidInput on any deviation, including a malformed checkpoint."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(_("receipt is not valid UTF-8")) from exc
    if not isinstance(text, str):
        raise InvalidInput(_("a receipt is text"))
    end = text.find("\n\n")
    if end < 0:
        raise InvalidInput(_("receipt has no empty line before its checkpoint"))
    head, checkpoint = text[:end].split("\n"), text[end + 2 :]
    if head[0] != HEADER:
        raise InvalidInput(_("receipt must start with {HEADER}", HEADER=HEADER))
    pos, extra = 1, None
    if pos < len(head) and head[pos].startswith("extra "):
        extra = notes.b64decode(head[pos][len("extra ") :], N_("extra data"))
        if not extra:
            raise InvalidInput(_("empty extra data must be written by omitting the extra line"))
        pos += 1
    if pos >= len(head) or not head[pos].startswith("index "):
        raise InvalidInput(_("receipt has no index line"))
    index = cp.parse_decimal(head[pos][len("index ") :], N_("leaf index"))
    proof_lines = head[pos + 1 :]
    if len(proof_lines) > merkle.MAX_PROOF_HASHES:
        raise InvalidInput(_("receipt inclusion proof is too long"))
    proof = tuple(_hash(line, n) for n, line in enumerate(proof_lines))
    cp.parse_signed_checkpoint(checkpoint)
    return Receipt(index, proof, checkpoint, extra)


def make_receipt(*, index: int, proof: Sequence[bytes], checkpoint: str, leaf: bytes) -> str:
    """A receipt for leaf data ``leaf``, checked against the checkpoint's root before it is handed out.

    The self-check costs one proof verification and means a storage or
    indexing bug cannot silently give a reporter a receipt that will never verify.
    """
    body, _unused = cp.parse_signed_checkpoint(checkpoint)
    try:
        merkle.verify_inclusion(merkle.leaf_hash(leaf), index, body.size, list(proof), body.root_hash)
    except VerificationError as exc:
        raise InvalidInput(_("refusing to issue a receipt that does not verify: {exc}", exc=exc)) from exc
    text = Receipt(index, tuple(bytes(h) for h in proof), checkpoint, bytes(leaf) or None).encode()
    parse_receipt(text)
    return text


def issue_receipt(reader: merkle.NodeReader, *, index: int, leaf: bytes, checkpoint: str) -> str:
    """Generate the inclusion proof for the checkpoint's tree size and wrap it in a receipt."""
    body, _unused = cp.parse_signed_checkpoint(checkpoint)
    proof = merkle.inclusion_proof(reader, index, body.size)
    return make_receipt(index=index, proof=proof, checkpoint=checkpoint, leaf=leaf)


def verify_receipt(
    receipt_text: str | bytes,
    log_vkey: str | VerifierKey,
    *,
    leaf: bytes | None = None,
    origin: str | None = None,
    against: str | None = None,
    consistency_proof: Sequence[bytes] | None = None,
    witness_vkeys: Iterable[str | VerifierKey] = (),
    witness_quorum: int | None = None,
    now: int | None = None,
) -> ReceiptVerification:
    """Check a receipt offline; raise VerificationError with the reason if anything fails.

    Steps (tlog-proof "Verifying a tlog proof", plus consistency):

    1. parse strictly (a malformed receipt fails verification);
    2. the checkpoint must carry a valid signature by ``log_vkey`` and have
       the expected ``origin`` (default: the log key's name); every cosignature
       from a key in ``witness_vkeys`` must verify;
    3. the leaf hash of the leaf data must sit at ``index`` under the signed root;
    4. with ``against`` (a newer signed checkpoint of the same log) the
       ``consistency_proof`` from the receipt's size to the newer size must hold.

    The witness policy (``witness_quorum`` of ``witness_vkeys``, default all of
    them) applies to the *anchor*: ``against`` when given, else the receipt's
    own checkpoint. A receipt issued before witnesses cosigned is thus made
    witness-backed later by a cosigned newer checkpoint plus a consistency proof.
    """
    witnesses = _witness_keys(witness_vkeys)
    quorum = len(witnesses) if witness_quorum is None else witness_quorum
    if isinstance(quorum, bool) or not isinstance(quorum, int) or not 0 <= quorum <= len(witnesses):
        raise InvalidInput(_("witness_quorum must be between 0 and the number of witness keys"))
    if consistency_proof is not None and against is None:
        raise InvalidInput(_("a consistency proof needs the newer checkpoint it leads to"))
    try:
        receipt = parse_receipt(receipt_text)
    except InvalidInput as exc:
        raise VerificationError(_("malformed receipt: {exc}", exc=exc)) from exc

    signed = cp.open_checkpoint(receipt.checkpoint, log_vkey, origin=origin, witness_vkeys=witnesses, now=now)
    head = signed.checkpoint
    data = _leaf_data(receipt.extra, leaf)
    leaf_hash = merkle.leaf_hash(data)
    merkle.verify_inclusion(leaf_hash, receipt.index, head.size, list(receipt.proof), head.root_hash)

    anchor, newer = signed, None
    if against is not None:
        newer = cp.open_checkpoint(against, log_vkey, origin=head.origin, witness_vkeys=witnesses, now=now)
        merkle.verify_consistency(
            head.size, newer.checkpoint.size, list(consistency_proof or ()), head.root_hash, newer.checkpoint.root_hash
        )
        anchor = newer

    times = sorted(c.timestamp for c in anchor.cosignatures)
    if len(times) < quorum:
        raise VerificationError(_n("{n} known witnesses cosigned, the policy needs {quorum}",
                                   "{n} known witnesses cosigned, the policy needs {quorum}", len(times),
                                   quorum=quorum))
    return ReceiptVerification(
        origin=head.origin,
        index=receipt.index,
        tree_size=head.size,
        root_hash=head.root_hash,
        leaf=data,
        leaf_hash=leaf_hash,
        cosignatures=anchor.cosignatures,
        logged_by=times[quorum - 1] if quorum else None,
        against_size=newer.checkpoint.size if newer else None,
        against_root_hash=newer.checkpoint.root_hash if newer else None,
    )


def _leaf_data(extra: bytes | None, leaf: bytes | None) -> bytes:
    if leaf is not None and extra is not None and bytes(leaf) != extra:
        raise VerificationError(_("the receipt's leaf data is not the expected leaf"))
    if leaf is not None:
        return bytes(leaf)
    if extra is None:
        raise VerificationError(_("receipt carries no leaf data and none was given"))
    return extra


def _witness_keys(vkeys: Iterable[str | VerifierKey]) -> list[VerifierKey]:
    """Parse witness keys; one public key under two names would let one signature count twice."""
    keys = [k if isinstance(k, VerifierKey) else VerifierKey.parse(k) for k in vkeys]
    if len({k.public_key for k in keys}) != len(keys):
        raise InvalidInput(_("witness keys must be distinct (Ed25519 cosignatures do not sign the name)"))
    return keys


def _hash(line: str, n: int) -> bytes:
    h = notes.b64decode(line, _("proof hash {n}", n=n))
    if len(h) != merkle.HASH_SIZE:
        raise InvalidInput(_("proof hash {n} must be 32 bytes", n=n))
    return h


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
