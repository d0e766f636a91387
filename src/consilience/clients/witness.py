"""A witness: cosigns the log's checkpoints only if they extend what it saw before.

Run periodically by someone independent of the operator. It remembers the
last checkpoint it cosigned; a new one is cosigned only after its
consistency proof from that one verifies, so a log that forks or rolls back
can no longer collect this witness's signature (C2SP tlog-cosignature). The decision itself
is ``tlog.witness.check_extends``; this module fetches, remembers and hands the cosignature back.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from consilience.clients import receipts, sealed
from consilience.clients.escrow_client import EscrowClient
from consilience.clients.results import JsonObject
from consilience.crypto import passphrase, signing
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _
from consilience.protocol.encoding import b64u_decode
from consilience.tlog import checkpoint as cp
from consilience.tlog import notes
from consilience.tlog.witness import Seen, check_extends

PURPOSE = "consilience witness key"


@dataclass(frozen=True)
class WitnessKey:
    name: str
    private: bytes

    @property
    def vkey(self) -> str:
        """The key to hand out: a cosignature/v1 vkey (type 0x04), whose key ID is the one its lines carry."""
        return cp.cosignature_vkey(self.name, signing.public_key(self.private))

    @property
    def ed25519_vkey(self) -> str:
        """The same key as an ordinary Ed25519 vkey (type 0x01), for tools that read only that form.

        Its key ID is over type 0x01, so it matches no cosignature line: a verifier must read it as a
        cosignature/v1 key (as ``checkpoint.CosignatureV1Verifier.from_vkey`` and transparency-dev's
        ``NewVerifierForCosignatureV1`` do), never as a note-signing key.
        """
        return notes.ed25519_vkey(self.name, signing.public_key(self.private))


def generate(name: str) -> WitnessKey:
    if not notes.valid_key_name(name):
        raise InvalidInput(_("a witness name is a key name: no spaces or '+', e.g. witness.example.org/1"))
    return WitnessKey(name, signing.generate())


def save(path: Path, key: WitnessKey, secret: str, **kdf: int) -> None:
    passphrase.write_sealed_file(path, json.dumps({"name": key.name, "private": key.private.hex()}).encode(),
                                 secret, PURPOSE, **kdf)


def load(path: Path, secret: str) -> WitnessKey:
    if not Path(path).exists():
        raise InvalidInput(_("no witness key at {path}; run 'consilience witness keygen' first", path=path))
    doc = json.loads(sealed.read(path, secret, PURPOSE))
    return WitnessKey(doc["name"], bytes.fromhex(doc["private"]))


@dataclass(frozen=True)
class _State:
    seen: Seen
    log_vkey: str | None  # None in state files written before the key was remembered


def _read_state(path: Path) -> _State | None:
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
        key = doc.get("log_vkey")
        return _State(Seen(int(doc["size"]), base64.b64decode(doc["root"], validate=True)),
                      key if isinstance(key, str) else None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput(_("{path} is not a witness state file this program wrote ({exc}); if it was damaged, "
                             "restore it from a backup (removing it makes this witness trust the log afresh)",
                             path=path, exc=exc)) from exc


def _load_state(path: Path) -> Seen | None:
    state = _read_state(path)
    return None if state is None else state.seen


def remembered_log_key(state_path: Path) -> str | None:
    """The log key this witness cosigned with last time (kept in its state file), if any."""
    state = _read_state(state_path)
    return None if state is None else state.log_vkey


def _save_state(path: Path, seen: Seen, log_vkey: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"size": seen.size, "root": base64.b64encode(seen.root).decode(),
                               "log_vkey": log_vkey}))
    os.replace(tmp, path)


def log_key_from_deployment(server: str, admin_fingerprint: str) -> str:
    """The log's verifier key from the deployment document ``server`` publishes, checked to be signed by
    the administrator whose fingerprint (base64url, as in the administrator's invites) the witness was given."""
    try:
        fingerprint = b64u_decode(admin_fingerprint.strip(), length=16, field="fingerprint")
    except InvalidInput:
        raise InvalidInput(_("This administrator fingerprint does not look right — a character may be mistyped or "
                             "missing. Check it against the one the administrator gave you (22 characters; it is "
                             "also the last part of their invites, cnsl1.….FINGERPRINT).")) from None
    with EscrowClient(server) as client:
        try:
            return client.deployment(fingerprint).log_vkey
        except VerificationError as exc:
            if not receipts.signed_by_another(exc):
                raise
            raise VerificationError(
                _("The deployment at {base_url} is not signed by the administrator whose fingerprint you "
                  "were given. Check the fingerprint and the server address; nothing was cosigned.",
                  base_url=client.base_url)) from exc


@dataclass(frozen=True)
class CosignResult:
    """The checkpoint size cosigned, and the size last cosigned before (None the first time)."""

    size: int
    previous: int | None
    cosigned: bool

    def to_json(self) -> JsonObject:
        return {"size": self.size, "previous": self.previous}


def cosign_latest(key: WitnessKey, server: str, log_vkey: str, state_path: Path,
                  *, now: int | None = None) -> CosignResult:
    """Fetch, check against the last seen checkpoint, cosign, hand the cosignature back.

    The log key is remembered in the state file; a different one later is refused, since a witness
    that followed a log to a new key would vouch for a log it never checked.
    """
    before = remembered_log_key(state_path)
    if before is not None and before != log_vkey:
        raise VerificationError(
            _("This log key differs from the one this witness cosigned with before ({before}). A witness does not "
              "follow a log to a new key; if the administrator really replaced it, remove {state_path} to start "
              "again with the new one. Nothing was cosigned.", before=before, state_path=state_path))
    with EscrowClient(server) as client:
        note = client.checkpoint()
        opened = cp.open_checkpoint(note, log_vkey)
        head = opened.checkpoint
        seen = _load_state(state_path)
        check_extends(seen, head, client.consistency)
        line = cp.cosignature_line(head.body(), key.name, key.private, int(now if now is not None else time.time()))
        client.cosign(head.size, line)
    _save_state(state_path, Seen(head.size, head.root_hash), log_vkey)
    return CosignResult(head.size, seen.size if seen else None, True)
