"""A key server's files from ``admin init``: ``keyserver-N/share.json`` and its own two keys.

``share.json`` holds its share of the RFC 9497 ristretto255 VOPRF key (still dealt by
``admin init``) and what the key server needs to check everything else itself: the
administrator's public key (account certificates and the signed deployment document are
checked against it), the deployment id, and where the escrow server is (to fetch that
document and to reach the bulletin board of the key generation). No key of the escrow
server's: in protocol v2 the escrow host issues nothing a key server accepts.

``identity.key`` (Ed25519) and ``hpke.key`` (X-Wing seed) are the key server's own keys,
generated into its folder; the deployment document lists their public halves.

Plain files readable by the owner only, not sealed under a passphrase: a key server must
restart unattended, and its protection is the host (and that t-1 stolen shares are useless).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from consilience import files
from consilience.crypto import hpke, ristretto, signing
from consilience.errors import InvalidInput
from consilience.protocol.encoding import b64u_decode, b64u_encode

FORMAT = "consilience-keyshare/v2"
V1_FORMAT = "consilience-keyshare/v1"
KEY_BYTES = 32


@dataclass(frozen=True)
class KeyShare:
    """Key server ``index``'s VOPRF share and the deployment it belongs to."""

    index: int
    share: bytes
    #: the administrator's Ed25519 public key: certificates and deployment documents are checked against it
    admin_key: bytes
    deployment_id: bytes
    #: the escrow server, which publishes the deployment document and relays the key generation
    escrow_url: str
    #: How many key servers the deployment has and how many must answer (n, t).
    key_servers: int
    threshold: int

    @property
    def public_share(self) -> bytes:
        return ristretto.scalar_mult_base(self.share)

    def __repr__(self) -> str:
        return f"KeyShare(index={self.index}, key_servers={self.key_servers}, <share hidden>)"


def write(path: Path, share: KeyShare) -> None:
    """Replace the file atomically, so a key server re-reading it sees the old share or the new one."""
    doc: dict[str, object] = {"format": FORMAT, "index": share.index, "share": b64u_encode(share.share),
                              "admin_key": b64u_encode(share.admin_key),
                              "deployment_id": b64u_encode(share.deployment_id),
                              "escrow_url": share.escrow_url,
                              "key_servers": share.key_servers, "threshold": share.threshold}
    files.write_private(path, json.dumps(doc).encode())


def read(path: Path) -> KeyShare:
    """The share in ``path``; InvalidInput names what to do when there is none."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise InvalidInput(f"no key share at {path}; run 'consilience admin init' first") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} is not a key-share file") from exc
    if not isinstance(doc, dict):
        raise InvalidInput(f"{path} is not a key-share file")
    if doc.get("format") == V1_FORMAT:
        raise InvalidInput(f"{path} is a Consilience v1 key share; this software speaks protocol v2 "
                           "(the deployment must be set up again with this version)")
    if doc.get("format") != FORMAT:
        raise InvalidInput(f"{path} is not a {FORMAT} file")
    try:
        share = ristretto.check_scalar(b64u_decode(doc["share"], length=32, field="share"))
        return KeyShare(
            index=_count(doc["index"], "index"), share=share,
            admin_key=b64u_decode(doc["admin_key"], length=32, field="admin_key"),
            deployment_id=b64u_decode(doc["deployment_id"], length=16, field="deployment_id"),
            escrow_url=str(doc["escrow_url"]),
            key_servers=_count(doc["key_servers"], "key_servers"), threshold=_count(doc["threshold"], "threshold"))
    except KeyError as exc:
        raise InvalidInput(f"{path} lacks {exc.args[0]!r}") from exc


def _count(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise InvalidInput(f"{name} must be a positive integer")


# -- the key server's own keys ----------------------------------------------------------------------


@dataclass(frozen=True)
class KeyServerKeys:
    """A key server's identity (Ed25519) and HPKE (X-Wing) private keys, and their public halves."""

    identity_private: bytes
    hpke_private: bytes

    @property
    def identity_key(self) -> bytes:
        return signing.public_key(self.identity_private)

    @property
    def hpke_public_key(self) -> bytes:
        return hpke.public_key_bytes(self.hpke_private)

    def __repr__(self) -> str:
        return "KeyServerKeys(<hidden>)"


def generate_keys(identity_path: Path, hpke_path: Path) -> KeyServerKeys:
    """Fresh keys, written 0600 to the two paths, which must not exist yet (keys are never overwritten)."""
    keys = KeyServerKeys(signing.generate(), hpke.generate_private_key())
    files.write_private(identity_path, keys.identity_private, exclusive=True)
    files.write_private(hpke_path, keys.hpke_private, exclusive=True)
    return keys


def read_keys(identity_path: Path, hpke_path: Path) -> KeyServerKeys:
    """The key server's keys; InvalidInput names the missing or damaged file."""
    def one(path: Path, what: str) -> bytes:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise InvalidInput(f"no {what} at {path}; 'consilience admin init' writes it") from None
        if len(data) != KEY_BYTES:
            raise InvalidInput(f"{path} is not a {what} file (expected {KEY_BYTES} bytes)")
        return data

    keys = KeyServerKeys(one(identity_path, "identity key"), one(hpke_path, "HPKE key"))
    keys.hpke_public_key  # noqa: B018 - a seed that does not expand is refused here, not mid-run
    return keys


# -- an operator's request to run the key generation again -----------------------------------------

REQUEST_FORMAT = "consilience-keygen-request/v2"


def write_request(path: Path, epoch: int) -> None:
    """An operator's request to run the key generation of ``epoch`` (``admin restart-keygen``)."""
    if not 1 <= epoch < 2**32:
        raise InvalidInput("an epoch is a positive number")
    files.write_private(path, json.dumps({"format": REQUEST_FORMAT, "epoch": epoch}).encode())


def read_request(path: Path) -> int | None:
    try:
        doc = json.loads(Path(path).read_text())
        if doc.get("format") == REQUEST_FORMAT and isinstance(doc.get("epoch"), int) and doc["epoch"] >= 1:
            return int(doc["epoch"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError):
        pass
    raise InvalidInput(f"{path} is not a key-generation request; write it with 'consilience admin restart-keygen'")


__all__ = ["FORMAT", "KeyServerKeys", "KeyShare", "generate_keys", "read", "read_keys", "read_request", "write",
           "write_request"]
