"""A key server's files that are not its shares: ``keyserver.json``, ``enrollment.json`` and its own two keys.

No file written here holds a share. A key server's shares exist only as the result of the key
servers' own key generation, refresh or resharing (``services/keyserver/quorum_store.py``), one
key server's in its own folder.

``identity.key`` (Ed25519) and ``hpke.key`` (X-Wing seed) are the key server's own keys, generated
into its folder by its operator (``consilience keyserver init``), never by the administrator.
``enrollment.json`` is what the operator hands the administrator: the key server's address and the
public halves, signed with the identity key (so a typo in a copied key is caught). ``keyserver.json``
says which deployment it serves: the escrow server (which publishes the deployment document and
relays the key generation), the administrator's public key (account certificates and deployment
documents are checked against it) and the deployment id; nothing in it is secret.

The key files are plain files readable by the owner only, not sealed under a passphrase: a key
server must restart unattended, and its protection is the host (and that t-1 stolen shares are useless).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from consilience import files
from consilience.crypto import hpke, signing
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _
from consilience.protocol.encoding import b64u_decode, b64u_encode

FORMAT = "consilience-keyserver/v2"
ENROLLMENT_FORMAT = "consilience-keyserver-enrollment/v2"
#: earlier files that held a dealt share: refused by name
V1_FORMAT = "consilience-keyshare/v1"
DEALT_FORMAT = "consilience-keyshare/v2"
KEY_BYTES = 32
_ENROLLMENT_PREFIX = b"consilience-v2 key server enrollment\n"


@dataclass(frozen=True)
class Membership:
    """Which deployment a key server serves (``keyserver.json``)."""

    #: the administrator's Ed25519 public key: certificates and deployment documents are checked against it
    admin_key: bytes
    deployment_id: bytes
    #: the escrow server, which publishes the deployment document and relays the key generation
    escrow_url: str


def write(path: Path, member: Membership) -> None:
    doc = {"format": FORMAT, "admin_key": b64u_encode(member.admin_key),
           "deployment_id": b64u_encode(member.deployment_id), "escrow_url": member.escrow_url}
    files.write_private(path, json.dumps(doc, indent=2).encode())


def read(path: Path) -> Membership:
    """The membership in ``path``; InvalidInput names what to do when there is none."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise InvalidInput(_("{path} is missing: this folder has not joined a deployment yet; run "
                             "'consilience keyserver join' with the escrow server's address and the administrator's "
                             "fingerprint (on one machine, 'consilience admin init' writes it)", path=path)) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(_("{path} is not a key-server file", path=path)) from exc
    if not isinstance(doc, dict):
        raise InvalidInput(_("{path} is not a key-server file", path=path))
    if doc.get("format") in (V1_FORMAT, DEALT_FORMAT):
        raise InvalidInput(_("{path} holds a share dealt by an administrator; this version's key servers generate "
                             "their shares among themselves (the deployment must be set up again with this version)",
                             path=path))
    if doc.get("format") != FORMAT:
        raise InvalidInput(_("{path} is not a {FORMAT} file", path=path, FORMAT=FORMAT))
    try:
        return Membership(admin_key=b64u_decode(doc["admin_key"], length=32, field="admin_key"),
                          deployment_id=b64u_decode(doc["deployment_id"], length=16, field="deployment_id"),
                          escrow_url=str(doc["escrow_url"]))
    except KeyError as exc:
        raise InvalidInput(_("{path} lacks {args}", path=path, args=repr(exc.args[0]))) from exc


@dataclass(frozen=True)
class Enrollment:
    """A key server as its operator offers it to the administrator: address and public keys."""

    url: str
    identity_key: bytes
    hpke_public_key: bytes
    signature: bytes = b""

    def signed_bytes(self) -> bytes:
        return _ENROLLMENT_PREFIX + json.dumps({"url": self.url, "identity_key": b64u_encode(self.identity_key),
                                                "hpke_public_key": b64u_encode(self.hpke_public_key)},
                                               sort_keys=True).encode()


def write_enrollment(path: Path, url: str, keys: KeyServerKeys) -> Enrollment:
    e = Enrollment(url, keys.identity_key, keys.hpke_public_key)
    e = Enrollment(url, e.identity_key, e.hpke_public_key, signing.sign(keys.identity_private, e.signed_bytes()))
    doc = {"format": ENROLLMENT_FORMAT, "url": url, "identity_key": b64u_encode(e.identity_key),
           "hpke_public_key": b64u_encode(e.hpke_public_key), "signature": b64u_encode(e.signature)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return e


def read_enrollment(path: Path) -> Enrollment:
    """An operator's enrollment file, its signature checked (a damaged copy is refused here, not mid-run)."""
    try:
        doc = json.loads(Path(path).read_text())
        if not isinstance(doc, dict) or doc.get("format") != ENROLLMENT_FORMAT:
            raise InvalidInput(_("{path} is not a key-server enrollment (made by 'consilience keyserver init')",
                                 path=path))
        e = Enrollment(str(doc["url"]), b64u_decode(doc["identity_key"], length=32, field="identity_key"),
                       b64u_decode(doc["hpke_public_key"], length=hpke.PUBLIC_KEY_BYTES, field="hpke_public_key"),
                       b64u_decode(doc["signature"], length=64, field="signature"))
    except FileNotFoundError:
        raise InvalidInput(_("no enrollment at {path}; its operator makes it with "
                             "'consilience keyserver init'", path=path)) from None
    except (OSError, ValueError, KeyError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(_("{path} is not a key-server enrollment ({exc})", path=path, exc=exc)) from exc
    try:
        signing.verify(e.identity_key, e.signed_bytes(), e.signature)
    except VerificationError:
        raise InvalidInput(_("{path} was changed after its key server made it (its signature does not verify); "
                             "ask its operator for the file again", path=path)) from None
    return e


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
            raise InvalidInput(_("no {what} at {path}; 'consilience keyserver init' writes it",
                                 what=what, path=path)) from None
        if len(data) != KEY_BYTES:
            raise InvalidInput(_("{path} is not a {what} file (expected {KEY_BYTES} bytes)",
                                 path=path, what=what, KEY_BYTES=KEY_BYTES))
        return data

    keys = KeyServerKeys(one(identity_path, _("identity key")), one(hpke_path, _("HPKE key")))
    keys.hpke_public_key  # noqa: B018 - a seed that does not expand is refused here, not mid-run
    return keys


__all__ = ["FORMAT", "Enrollment", "KeyServerKeys", "Membership", "generate_keys", "read", "read_enrollment",
           "read_keys", "write", "write_enrollment"]
