"""The administrator's revocation list, protocol v2 (PROTOCOL.md §6.2).

Key servers check account certificates themselves (§5), so revoking a reporter account at the
escrow server alone would leave its certificate good for evaluations. The administrator therefore
signs a list of every revoked account key, published by the escrow server beside the deployment
document and fetched by every key server, which checks the signature against the administrator's
key it already holds and keeps the newest serial it has seen (it never goes back to an older list):

    {"format": "consilience-revocations/v2", "deployment_id": b64u 16, "serial": N, "issued_at": RFC 3339,
     "accounts": [b64u account key (32), … sorted], "counselors": [b64u key id (16), … sorted],
     "witnesses": [vkey, … sorted]}

signed as ``Ed25519(admin, "consilience-v2 revocations\\n" ‖ D)`` with ``D`` its canonical JSON
(sorted keys, no spaces, ASCII), published as ``{"document": b64u(D), "signature", "admin_key"}``.
Each list holds every earlier revocation: the newest one is the whole truth. Serial 0 is the
empty list nobody signed (what a key server holds before it has fetched anything).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _
from consilience.protocol.encoding import b64u_decode, b64u_encode

FORMAT = "consilience-revocations/v2"
SIGNING_PREFIX = b"consilience-v2 revocations\n"
#: What a published list may weigh (many thousands of revoked accounts).
MAX_DOCUMENT_BYTES = 4_000_000


@dataclass(frozen=True)
class RevocationList:
    deployment_id: bytes
    serial: int
    issued_at: str
    accounts: frozenset[bytes] = field(default_factory=frozenset)
    counselors: frozenset[bytes] = field(default_factory=frozenset)
    witnesses: frozenset[str] = field(default_factory=frozenset)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "deployment_id": b64u_encode(self.deployment_id), "serial": self.serial,
                "issued_at": self.issued_at, "accounts": sorted(b64u_encode(k) for k in self.accounts),
                "counselors": sorted(b64u_encode(k) for k in self.counselors),
                "witnesses": sorted(self.witnesses)}

    def canonical_bytes(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def empty(deployment_id: bytes) -> RevocationList:
    """Serial 0: nothing revoked, signed by nobody."""
    return RevocationList(deployment_id, 0, "")


def sign(revocations: RevocationList, admin_private: bytes) -> dict[str, str]:
    """The published form: the exact signed bytes, the signature and the key."""
    if revocations.serial < 1:
        raise InvalidInput(_("a signed revocation list has a serial of 1 or more"))
    document = revocations.canonical_bytes()
    return {"document": b64u_encode(document),
            "signature": b64u_encode(signing.sign(admin_private, SIGNING_PREFIX + document)),
            "admin_key": b64u_encode(signing.public_key(admin_private))}


def verify(published: Any, admin_public: bytes, deployment_id: bytes) -> RevocationList:
    """The list, if the administrator ``admin_public`` signed it for this deployment, in canonical form."""
    if not isinstance(published, dict):
        raise InvalidInput(_("a published revocation list is a JSON object"))
    try:
        document = b64u_decode(published["document"], field="document")
        signature = b64u_decode(published["signature"], length=64, field="signature")
    except (KeyError, TypeError) as exc:
        raise InvalidInput(_("a published revocation list has a document and a signature")) from exc
    if len(document) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(_("the revocation list is too large"))
    try:
        signing.verify(admin_public, SIGNING_PREFIX + document, signature)
    except VerificationError:
        raise VerificationError(_("the revocation list is not signed by this deployment's administrator")) from None
    revocations = parse(document)
    if revocations.deployment_id != deployment_id:
        raise VerificationError(_("the revocation list is for another deployment"))
    if revocations.canonical_bytes() != document:
        raise VerificationError(_("the revocation list is not in canonical form"))
    return revocations


def parse(document: bytes) -> RevocationList:
    try:
        doc = json.loads(document)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise InvalidInput(_("not a {FORMAT} document", FORMAT=FORMAT))
        serial = doc["serial"]
        if not isinstance(serial, int) or isinstance(serial, bool) or not 1 <= serial < 2**63:
            raise InvalidInput(_("a revocation list's serial is a positive integer"))
        return RevocationList(
            deployment_id=b64u_decode(doc["deployment_id"], length=16, field="deployment_id"),
            serial=serial, issued_at=str(doc["issued_at"]),
            accounts=frozenset(b64u_decode(k, length=32, field="accounts") for k in doc["accounts"]),
            counselors=frozenset(b64u_decode(k, length=16, field="counselors") for k in doc["counselors"]),
            witnesses=frozenset(_text(w) for w in doc["witnesses"]))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, KeyError, TypeError) as exc:
        raise InvalidInput(_("the revocation list is not a well-formed document")) from exc


def _text(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 400:
        raise InvalidInput(_("a revoked witness is named by its vkey"))
    return value


__all__ = ["FORMAT", "SIGNING_PREFIX", "RevocationList", "empty", "parse", "sign", "verify"]
