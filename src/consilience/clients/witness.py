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

from consilience.clients.escrow_client import EscrowClient
from consilience.clients.results import JsonObject
from consilience.crypto import passphrase, signing
from consilience.errors import InvalidInput
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
        return cp.cosignature_vkey(self.name, signing.public_key(self.private))


def generate(name: str) -> WitnessKey:
    if not notes.valid_key_name(name):
        raise InvalidInput("a witness name is a key name: no spaces or '+', e.g. witness.example.org/1")
    return WitnessKey(name, signing.generate())


def save(path: Path, key: WitnessKey, secret: str, **kdf: int) -> None:
    passphrase.write_sealed_file(path, json.dumps({"name": key.name, "private": key.private.hex()}).encode(),
                                 secret, PURPOSE, **kdf)


def load(path: Path, secret: str) -> WitnessKey:
    if not Path(path).exists():
        raise InvalidInput(f"no witness key at {path}; run 'consilience witness keygen' first")
    doc = json.loads(passphrase.read_sealed_file(path, secret, PURPOSE))
    return WitnessKey(doc["name"], bytes.fromhex(doc["private"]))


def _load_state(path: Path) -> Seen | None:
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    return Seen(int(doc["size"]), base64.b64decode(doc["root"]))


def _save_state(path: Path, seen: Seen) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"size": seen.size, "root": base64.b64encode(seen.root).decode()}))
    os.replace(tmp, path)


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
    """Fetch, check against the last seen checkpoint, cosign, hand the cosignature back."""
    with EscrowClient(server) as client:
        note = client.checkpoint()
        opened = cp.open_checkpoint(note, log_vkey)
        head = opened.checkpoint
        seen = _load_state(state_path)
        check_extends(seen, head, client.consistency)
        line = cp.cosignature_line(head.body(), key.name, key.private, int(now if now is not None else time.time()))
        client.cosign(head.size, line)
    _save_state(state_path, Seen(head.size, head.root_hash))
    return CosignResult(head.size, seen.size if seen else None, True)
