"""The key server's result of the key generation on disk (``keyserver-N/quorum-keys.json``) and in memory.

Written once :func:`dkg.confirmed` accepted the run: every holder confirmed the same transcript.
The file holds this key server's one share of the VOPRF key and of every coefficient of every
level, and the abscissa key, so it is a secret (0600); the public commitments are in the
deployment document once the administrator publishes them (``consilience admin publish-keys``).
A refresh's or resharing's result waits in ``quorum-keys-next.json`` until the document publishes
it; then it replaces ``quorum-keys.json`` and the shares it replaces are erased (a refresh is only
worth something if old shares do not survive it).

While a run is under way the dealer's seed and its deal sit in ``keygen-seed.json`` (0600), so a
key server that restarts mid-run posts the very same deal again and can still answer complaints;
the file is erased when the run ends, and replaced by a note of the failure if it failed (a failed
run is repeated only when an operator asks, with ``consilience admin restart-keygen``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from consilience import files
from consilience.crypto import ristretto
from consilience.crypto.bls12381 import Scalar
from consilience.errors import InvalidInput
from consilience.i18n import N_, _
from consilience.protocol import dkg
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode

FORMAT = "consilience-quorum-keys/v3"
SEED_FORMAT = "consilience-keygen-seed/v2"


@dataclass(frozen=True)
class QuorumShares:
    """What a key server answers evaluations with: its shares of F_q for every level, and the abscissa key."""

    index: int
    deployment_id: bytes
    epoch: int
    transcript: bytes
    qualified: tuple[int, ...]
    shares: Mapping[int, tuple[Scalar, ...]]
    abscissa_key: bytes
    #: its share k_i of the VOPRF key (a ristretto255 scalar)
    oprf_share: bytes

    @property
    def levels(self) -> range:
        return range(min(self.shares), max(self.shares) + 1)

    @cached_property
    def public_share(self) -> bytes:
        """k_i·G, computed once per result rather than once per request."""
        return ristretto.scalar_mult_base(self.oprf_share)

    @classmethod
    def from_result(cls, deployment_id: bytes, epoch: int, result: dkg.KeyServerResult) -> QuorumShares:
        return cls(result.index, deployment_id, epoch, result.transcript, tuple(result.qualified),
                   dict(result.shares), result.abscissa_key, result.oprf_share)

    def held(self) -> dkg.HeldShares:
        """These shares as the next refresh or resharing deals from them."""
        return dkg.HeldShares(self.index, self.shares, self.oprf_share, self.abscissa_key)

    def __repr__(self) -> str:
        return f"QuorumShares(index={self.index}, epoch={self.epoch}, qualified={self.qualified}, <shares hidden>)"


def write(path: Path, held: QuorumShares) -> None:
    doc = {"format": FORMAT, "index": held.index, "deployment_id": b64u_encode(held.deployment_id),
           "epoch": held.epoch, "transcript": b64u_encode(held.transcript), "qualified": list(held.qualified),
           "abscissa_key": b64u_encode(held.abscissa_key), "oprf_share": b64u_encode(held.oprf_share),
           "shares": {str(q): [b64u_encode(s.to_bytes()) for s in values] for q, values in sorted(held.shares.items())}}
    files.write_private(path, json.dumps(doc).encode())


def _load(path: Path, what: str, expected_format: str) -> dict[str, Any] | None:
    """The JSON object in ``path`` of ``expected_format``, None when there is no file; InvalidInput if damaged."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(_("{path} is not a {what} file", path=path, what=what)) from exc
    if not isinstance(doc, dict) or doc.get("format") != expected_format:
        raise InvalidInput(_("{path} is not a {expected_format} file", path=path, expected_format=expected_format))
    return doc


def read(path: Path) -> QuorumShares | None:
    """The held result, or None when there is none yet; InvalidInput for a damaged file."""
    doc = _load(path, "quorum-keys", FORMAT)
    if doc is None:
        return None
    try:
        shares = {int(q): tuple(Scalar.from_bytes(b64u_decode(v, length=32, field="share"), allow_zero=True)
                                for v in values) for q, values in doc["shares"].items()}
        if not shares or any(len(v) != q for q, v in shares.items()):
            raise InvalidInput(_("{path}: every level q needs exactly q shares", path=path))
        return QuorumShares(int(doc["index"]), b64u_decode(doc["deployment_id"], length=16, field="deployment_id"),
                            int(doc["epoch"]), b64u_decode(doc["transcript"], length=32, field="transcript"),
                            tuple(int(i) for i in doc["qualified"]), shares,
                            b64u_decode(doc["abscissa_key"], length=32, field="abscissa_key"),
                            ristretto.check_scalar(b64u_decode(doc["oprf_share"], length=32, field="oprf_share")))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(_("{path} is not a quorum-keys file ({exc})", path=path, exc=exc)) from exc


# -- a run under way ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunState:
    """``keygen-seed.json``: the run of ``epoch`` under way (seed and deal), how it failed, or that this
    key server's part in it is done (the seed erased)."""

    epoch: int
    seed: dkg.DealerSeed | None = None
    deal: bytes | None = None
    failed: str | None = None
    finished: bool = False


def write_run(path: Path, state: RunState) -> None:
    doc: dict[str, object] = {"format": SEED_FORMAT, "epoch": state.epoch}
    if state.seed is not None:
        doc["seed"] = b64u_encode(state.seed.seed)
    if state.deal is not None:
        doc["deal"] = b64u_encode(state.deal)
    if state.failed is not None:
        doc["failed"] = state.failed
    if state.finished:
        doc["finished"] = True
    files.write_private(path, json.dumps(doc).encode())


def read_run(path: Path) -> RunState | None:
    doc = _load(path, "key-generation seed", SEED_FORMAT)
    if doc is None:
        return None
    try:
        seed = dkg.DealerSeed(b64u_decode(doc["seed"], length=dkg.SEED_BYTES, field="seed")) if "seed" in doc else None
        deal = b64u_decode(doc["deal"], field="deal") if "deal" in doc else None
        failed = str(doc["failed"]) if "failed" in doc else None
        return RunState(int(doc["epoch"]), seed, deal, failed, doc.get("finished") is True)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(_("{path} is not a key-generation seed file ({exc})", path=path, exc=exc)) from exc


def erase(path: Path) -> None:
    Path(path).unlink(missing_ok=True)


class Said:
    """A status sentence kept as its message and fields, and translated each time it is read.

    The key-generation thread sets the status; a request reads it, in the language of whoever
    asked (a 503's detail), so it cannot be translated when it is set. A field may be a ``Said``.
    """

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return _(self.message, **{name: str(value) for name, value in self.params.items()})


class Holder:
    """The result in force, shared between the key-generation thread and the request handlers."""

    def __init__(self, held: QuorumShares | None = None) -> None:
        self._lock = threading.Lock()
        self._held = held
        #: the newest signed deployment document the key server has read (None before the first)
        self.deployment: Deployment | None = None
        #: whether a resharing under way leaves this key server out: it then answers no evaluation
        self.retiring = False
        self._status = (Said(N_("the key generation has not started")) if held is None
                        else Said(N_("done (epoch {epoch})"), epoch=held.epoch))

    def get(self) -> QuorumShares | None:
        with self._lock:
            return self._held

    def set(self, held: QuorumShares) -> None:
        with self._lock:
            self._held = held
            self._status = Said(N_("done (epoch {epoch})"), epoch=held.epoch)

    def clear(self, status: Said) -> None:
        with self._lock:
            self._held = None
            self._status = status

    @property
    def status(self) -> str:
        """In the active language: the request's in a refusal, English in the key server's log."""
        with self._lock:
            status = self._status
        return str(status)

    @status.setter
    def status(self, said: Said | str) -> None:
        """A ``Said``, or a message without fields (marked with ``N_``)."""
        with self._lock:
            self._status = said if isinstance(said, Said) else Said(said)


__all__ = ["Holder", "QuorumShares", "RunState", "Said", "erase", "read", "read_run", "write",
           "write_run"]
