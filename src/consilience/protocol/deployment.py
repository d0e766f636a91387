"""The signed deployment document (PROTOCOL.md §4).

Clients take every public key they use (key-server shares, counselor keys,
the token issuer) from this document and only after checking the
administrator's signature, so a compromised escrow server cannot slip in a
counselor key of its own.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.protocol.encoding import b64u_decode, b64u_encode

FORMAT = "consilience-deployment/v1"
SIGNING_PREFIX = b"consilience-v1 deployment\n"
FINGERPRINT_LABEL = b"consilience-v1 admin key"
MAX_QUORUM_LIMIT = 32
SUITE = "ristretto255-SHA512"


@dataclass(frozen=True)
class KeyServer:
    index: int
    url: str
    public_share: bytes


@dataclass(frozen=True)
class Counselor:
    name: str
    key_id: bytes
    public_key: bytes


@dataclass(frozen=True)
class Deployment:
    deployment_id: bytes
    serial: int
    issued_at: str
    quorum: int
    max_quorum: int
    escrow_url: str
    token_issuer_key: bytes
    threshold: int
    oprf_public_key: bytes
    key_servers: tuple[KeyServer, ...]
    counselors: tuple[Counselor, ...] = field(default=())
    #: The transparency log (PROTOCOL.md §11): checkpoint origin, which is also
    #: the log key's name, the log's Ed25519 public key, and witness vkeys.
    log_origin: str = ""
    log_public_key: bytes = b""
    witnesses: tuple[str, ...] = field(default=())

    @property
    def log_vkey(self) -> str:
        from consilience.tlog.notes import ed25519_vkey

        return ed25519_vkey(self.log_origin, self.log_public_key)

    @property
    def quorum_range(self) -> range:
        return range(self.quorum, self.max_quorum + 1)

    def public_shares(self) -> dict[int, bytes]:
        return {s.index: s.public_share for s in self.key_servers}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "deployment_id": b64u_encode(self.deployment_id),
            "serial": self.serial,
            "issued_at": self.issued_at,
            "quorum": self.quorum,
            "max_quorum": self.max_quorum,
            "escrow_url": self.escrow_url,
            "token_issuer_key": b64u_encode(self.token_issuer_key),
            "oprf": {
                "suite": SUITE,
                "mode": 1,
                "threshold": self.threshold,
                "public_key": b64u_encode(self.oprf_public_key),
                "servers": [
                    {"index": s.index, "url": s.url, "public_share": b64u_encode(s.public_share)}
                    for s in self.key_servers
                ],
            },
            "counselors": [
                {"name": c.name, "key_id": b64u_encode(c.key_id), "public_key": b64u_encode(c.public_key)}
                for c in self.counselors
            ],
            "log": {"origin": self.log_origin, "public_key": b64u_encode(self.log_public_key),
                    "witnesses": list(self.witnesses)},
        }

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.to_json())


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def admin_fingerprint(admin_public_key: bytes) -> bytes:
    return hashlib.sha256(FINGERPRINT_LABEL + admin_public_key).digest()[:16]


def sign(deployment: Deployment, admin_private: bytes) -> dict[str, str]:
    """The published form: the exact signed bytes, the signature and the key."""
    validate(deployment)
    document = deployment.canonical_bytes()
    return {
        "document": b64u_encode(document),
        "signature": b64u_encode(signing.sign(admin_private, SIGNING_PREFIX + document)),
        "admin_key": b64u_encode(signing.public_key(admin_private)),
    }


def verify(published: dict[str, str], expected_fingerprint: bytes, *, min_serial: int = 0) -> Deployment:
    """Check signature, pinned administrator and contents; return the document."""
    if not isinstance(published, dict):
        raise InvalidInput("a published deployment document is a JSON object")
    try:
        document = b64u_decode(published["document"], field="document")
        signature = b64u_decode(published["signature"], length=64, field="signature")
        admin_key = b64u_decode(published["admin_key"], length=32, field="admin_key")
    except KeyError as exc:
        raise InvalidInput(f"deployment document lacks {exc.args[0]!r}") from exc
    if admin_fingerprint(admin_key) != expected_fingerprint:
        raise VerificationError("deployment signed by a different administrator than the one pinned")
    signing.verify(admin_key, SIGNING_PREFIX + document, signature)
    try:
        doc = json.loads(document)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidInput("deployment document is not JSON") from exc
    deployment = parse(doc)
    if deployment.canonical_bytes() != document:
        raise VerificationError("deployment document is not in canonical form")
    if deployment.serial < min_serial:
        raise VerificationError(
            f"deployment serial {deployment.serial} is older than one already seen ({min_serial})"
        )
    validate(deployment)
    return deployment


def parse(doc: dict[str, Any]) -> Deployment:
    try:
        if doc["format"] != FORMAT:
            raise InvalidInput(f"unknown deployment format {doc['format']!r}")
        oprf = doc["oprf"]
        if oprf["suite"] != SUITE or oprf["mode"] != 1:
            raise InvalidInput("unsupported OPRF suite or mode")
        return Deployment(
            deployment_id=b64u_decode(doc["deployment_id"], length=16, field="deployment_id"),
            serial=int(doc["serial"]),
            issued_at=str(doc["issued_at"]),
            quorum=int(doc["quorum"]),
            max_quorum=int(doc["max_quorum"]),
            escrow_url=str(doc["escrow_url"]),
            token_issuer_key=b64u_decode(doc["token_issuer_key"], length=32, field="token_issuer_key"),
            threshold=int(oprf["threshold"]),
            oprf_public_key=b64u_decode(oprf["public_key"], length=32, field="oprf.public_key"),
            key_servers=tuple(
                KeyServer(int(s["index"]), str(s["url"]), b64u_decode(s["public_share"], length=32,
                                                                       field="public_share"))
                for s in oprf["servers"]
            ),
            counselors=tuple(
                Counselor(str(c["name"]), b64u_decode(c["key_id"], length=16, field="key_id"),
                          b64u_decode(c["public_key"], field="counselor public_key"))
                for c in doc["counselors"]
            ),
            log_origin=str(doc["log"]["origin"]),
            log_public_key=b64u_decode(doc["log"]["public_key"], length=32, field="log.public_key"),
            witnesses=tuple(str(w) for w in doc["log"]["witnesses"]),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(f"malformed deployment document: {exc}") from exc


def validate(d: Deployment) -> None:
    """Bounds and key consistency; see PROTOCOL.md §4 for the rules."""
    from consilience.crypto import hpke, threshold_oprf

    if not 2 <= d.quorum <= d.max_quorum <= MAX_QUORUM_LIMIT:
        raise InvalidInput(f"need 2 <= quorum <= max_quorum <= {MAX_QUORUM_LIMIT}")
    if not d.key_servers or not 1 <= d.threshold <= len(d.key_servers):
        raise InvalidInput("need 1 <= threshold <= number of key servers")
    indices = [s.index for s in d.key_servers]
    if len(set(indices)) != len(indices) or min(indices) < 1:
        raise InvalidInput("key-server indices must be distinct and positive")
    if d.serial < 1:
        raise InvalidInput("serial starts at 1")
    threshold_oprf.check_public_shares(d.oprf_public_key, d.public_shares(), d.threshold)
    key_ids = set()
    for c in d.counselors:
        if hpke.key_id(c.public_key) != c.key_id:
            raise VerificationError(f"counselor {c.name!r}: key id does not match the public key")
        key_ids.add(c.key_id)
    if len(key_ids) != len(d.counselors):
        raise InvalidInput("a counselor key appears twice")
    from consilience.tlog import checkpoint, notes

    if not notes.valid_key_name(d.log_origin) or len(d.log_public_key) != 32:
        raise InvalidInput("the log needs an origin that is a valid key name and a 32-byte Ed25519 key")
    witness_keys = [checkpoint.CosignatureV1Verifier.from_vkey(w) for w in d.witnesses]
    if len({w.key_id for w in witness_keys}) != len(witness_keys):
        raise InvalidInput("a witness appears twice")
