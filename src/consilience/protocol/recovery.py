"""Recovery on a new device (PROTOCOL.md §14.1): the account handle, the backup document, its checks.

Why this shape
    A wallet backed up under a key derived from the passphrase alone would let anyone holding a
    copy of the escrow database test passphrases offline, as fast as Argon2id allows. Here the
    backup key comes from the passphrase *through the key servers*, as in threshold
    password-protected secret sharing (TOPPSS, Jarecki, Kiayias, Krawczyk and Xu, 2017): the
    reporter's device deals a fresh VOPRF key ``k`` for this backup t-of-n, seals each key server's
    share to that key server's HPKE key (bound to this handle), and keeps only
    ``rwd = VOPRF(k, Argon2id(passphrase))``. Testing one guess then takes t key servers, each of
    which counts the guesses per handle and stops answering after a limit. Because every backup has
    its own ``k``, an answer under one handle says nothing about another, and the count is per
    account without the key server knowing which account it is.

Everything here is pure: no HTTP, no SQL, no clock except where a caller passes ``now``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consilience.crypto import aead, hpke, kdf, oprf, passphrase, ristretto, shamir, signing, threshold_oprf
from consilience.errors import DecryptionError, InvalidInput, VerificationError
from consilience.i18n import N_, _
from consilience.protocol import accounts
from consilience.protocol.encoding import b64u_decode, b64u_encode, i2osp

FORMAT = "consilience-backup/v1"
HANDLE_LABEL = b"consilience-v2 account handle"
SALT_LABEL = b"consilience-v2 recovery salt"
SHARE_LABEL = b"consilience-v2 recovery share"
WALLET_LABEL = b"consilience-v2 backup wallet"
RESET_LABEL = b"consilience-v2 recovery reset"
UNLOCK_LABEL = b"consilience-v2 recovery unlock"
#: crypto/kdf.py label of the backup key (the KDF frames it with its own prefix)
BACKUP_KEY_LABEL = "recovery backup key"
UNLOCK_PREFIX = "cnslu1."

HANDLE_BYTES = 10
SALT_BYTES = 16
HARDENED_BYTES = 32
NONCE_BYTES = 16
MAX_BACKUP_BYTES = 6 * 1024 * 1024
#: how long an administrator's unlock code is good for
UNLOCK_VALID_SECONDS = 7 * 24 * 3600
#: a reset request is fresh for as long as an evaluation request (protocol/evaluation.py)
RESET_FRESHNESS_SECONDS = 120
#: Crockford base32: no I, L, O or U, so what is written by hand reads back unambiguously
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
HANDLE_EXAMPLE = "7KQ2-M9XD-4RTA-HW3E"
BAD_HANDLE = N_("An account handle is 16 letters and digits in four groups, like 7KQ2-M9XD-4RTA-HW3E. "
                 "Check it against what you wrote down.")
MAX_SERVERS = 255  # the share's index is one byte in the sealing info


# -- the handle ------------------------------------------------------------------------------


def handle_bytes(deployment_id: bytes, account_key: bytes) -> bytes:
    """The 80-bit handle of an account: it depends only on the account key, so nobody registers it."""
    _check_len(deployment_id, 16, "deployment_id")
    _check_len(account_key, 32, _("account key"))
    return hashlib.sha256(HANDLE_LABEL + deployment_id + account_key).digest()[:HANDLE_BYTES]


def format_handle(handle: bytes) -> str:
    """``7KQ2-M9XD-4RTA-HW3E``: 16 Crockford base32 characters in four groups of four."""
    _check_len(handle, HANDLE_BYTES, "handle")
    value = int.from_bytes(handle, "big")
    chars = "".join(CROCKFORD[(value >> (5 * (15 - i))) & 31] for i in range(16))
    return "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def parse_handle(text: Any) -> bytes:
    """The handle's 10 bytes from what a person typed: any case, dashes and spaces dropped, O→0, I and L→1."""
    if not isinstance(text, str):
        raise InvalidInput(_(BAD_HANDLE))
    cleaned = text.upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(cleaned) != 16 or any(c not in CROCKFORD for c in cleaned):
        raise InvalidInput(_(BAD_HANDLE))
    value = 0
    for c in cleaned:
        value = (value << 5) | CROCKFORD.index(c)
    return value.to_bytes(HANDLE_BYTES, "big")


# -- deriving the backup key --------------------------------------------------------------------


@dataclass(frozen=True)
class KdfParams:
    """Argon2id costs, stored in the backup so a new device derives the same ``hardened``."""

    memory_kib: int = passphrase.DEFAULT_MEMORY_COST_KIB
    iterations: int = passphrase.DEFAULT_ITERATIONS
    lanes: int = passphrase.DEFAULT_LANES

    def to_json(self) -> dict[str, int]:
        return {"memory_kib": self.memory_kib, "iterations": self.iterations, "lanes": self.lanes}

    @classmethod
    def from_json(cls, doc: Any) -> KdfParams:
        if not isinstance(doc, dict) or set(doc) != {"memory_kib", "iterations", "lanes"}:
            raise InvalidInput(_("backup kdf: expected exactly memory_kib, iterations and lanes"))
        params = cls(_int(doc["memory_kib"], "kdf.memory_kib"), _int(doc["iterations"], "kdf.iterations"),
                     _int(doc["lanes"], "kdf.lanes"))
        # the same bounds the wallet file has: a document cannot make a device spend a gigabyte of memory
        passphrase._check_params(params.memory_kib, params.iterations, params.lanes)
        return params


def salt(deployment_id: bytes, handle: bytes) -> bytes:
    _check_len(deployment_id, 16, "deployment_id")
    _check_len(handle, HANDLE_BYTES, "handle")
    return hashlib.sha256(SALT_LABEL + deployment_id + handle).digest()[:SALT_BYTES]


def harden(secret: str, deployment_id: bytes, handle: bytes, params: KdfParams) -> bytes:
    """Argon2id of the NFC passphrase: the OPRF input, so each online guess also costs Argon2id."""
    unicodedata.normalize("NFC", secret)  # crypto/passphrase normalises; this only refuses non-str early
    return passphrase.argon2id(secret, salt(deployment_id, handle), params.memory_kib, params.iterations,
                               params.lanes)


def backup_key(rwd: bytes, deployment_id: bytes, handle: bytes) -> bytes:
    return kdf.derive(rwd, BACKUP_KEY_LABEL, deployment_id + handle, aead.KEY_BYTES)


def share_info(deployment_id: bytes, handle: bytes, index: int, public_share: bytes) -> bytes:
    """HPKE info of key server ``index``'s share: a share opens only for this handle, index and public share."""
    _check_len(public_share, 32, "public_share")
    if not 1 <= index <= MAX_SERVERS:
        raise InvalidInput(_("a key server index is 1 to {MAX_SERVERS}", MAX_SERVERS=MAX_SERVERS))
    return SHARE_LABEL + deployment_id + handle + i2osp(index, 1) + public_share


def wallet_aad(deployment_id: bytes, handle: bytes, version: int) -> bytes:
    return WALLET_LABEL + deployment_id + handle + i2osp(version, 8)


def seal_wallet(key: bytes, wallet: bytes, deployment_id: bytes, handle: bytes, version: int,
                *, nonce: bytes | None = None) -> bytes:
    """AEAD of the wallet bytes (nonce ‖ ciphertext ‖ tag); ``nonce`` only for the interop vector."""
    aad = wallet_aad(deployment_id, handle, version)
    if nonce is None:
        return aead.seal(key, wallet, aad)
    # crypto/aead draws its own nonce; a fixed one is only for reproducible vectors
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    _check_len(nonce, aead.NONCE_BYTES, "nonce")
    return nonce + ChaCha20Poly1305(key).encrypt(nonce, wallet, aad)


def open_wallet(key: bytes, sealed: bytes, deployment_id: bytes, handle: bytes, version: int) -> bytes:
    """The wallet bytes; DecryptionError when the key (so the passphrase) is wrong or the backup was changed."""
    try:
        return aead.open(key, sealed, wallet_aad(deployment_id, handle, version))
    except (DecryptionError, VerificationError, InvalidInput):
        raise DecryptionError(_("the passphrase did not open the backup")) from None


# -- the backup document --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerShare:
    index: int
    identity_key: bytes
    public_share: bytes
    sealed_share: bytes

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "identity_key": b64u_encode(self.identity_key),
                "public_share": b64u_encode(self.public_share), "sealed_share": b64u_encode(self.sealed_share)}


@dataclass(frozen=True)
class BackupKeys:
    """The document minus ``version`` and ``wallet``: what a device keeps to re-upload on every change."""

    deployment_id: bytes
    handle: bytes
    threshold: int
    group_key: bytes
    kdf: KdfParams
    servers: tuple[ServerShare, ...]

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "deployment_id": b64u_encode(self.deployment_id),
                "handle": format_handle(self.handle), "threshold": self.threshold,
                "group_key": b64u_encode(self.group_key), "kdf": self.kdf.to_json(),
                "servers": [s.to_json() for s in self.servers]}

    @classmethod
    def from_json(cls, doc: Any) -> BackupKeys:
        if not isinstance(doc, dict):
            raise InvalidInput(_("a backup is a JSON object"))
        return _keys(doc, set(doc) - {"version", "wallet"})

    def public_shares(self) -> dict[int, bytes]:
        return {s.index: s.public_share for s in self.servers}

    def server(self, index: int) -> ServerShare:
        for s in self.servers:
            if s.index == index:
                return s
        raise InvalidInput(_("this backup has no share for key server {index}", index=index))


@dataclass(frozen=True)
class Backup:
    keys: BackupKeys
    version: int
    wallet: bytes

    def to_json(self) -> dict[str, Any]:
        doc = self.keys.to_json()
        doc["version"] = self.version
        doc["wallet"] = b64u_encode(self.wallet)
        return doc

    def to_bytes(self) -> bytes:
        data = json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True).encode("ascii")
        if len(data) > MAX_BACKUP_BYTES:
            raise InvalidInput(_("this wallet is too large to back up (more than 6 MiB); remove large attachments"))
        return data


_KEYS_FIELDS = {"format", "deployment_id", "handle", "threshold", "group_key", "kdf", "servers"}
_SERVER_FIELDS = {"index", "identity_key", "public_share", "sealed_share"}


def _keys(doc: dict[str, Any], fields: set[str]) -> BackupKeys:
    if fields != _KEYS_FIELDS:
        missing, extra = sorted(_KEYS_FIELDS - fields), sorted(fields - _KEYS_FIELDS)
        raise InvalidInput(_("backup: missing fields {missing}, unknown fields {extra}", missing=missing, extra=extra))
    if doc["format"] != FORMAT:
        raise InvalidInput(_("backup: format is not {FORMAT}", FORMAT=FORMAT))
    deployment_id = b64u_decode(doc["deployment_id"], length=16, field=_("backup deployment_id"))
    handle = parse_handle(doc["handle"])
    if doc["handle"] != format_handle(handle):
        raise InvalidInput(_("backup: the handle is not written in its canonical form"))
    threshold = _int(doc["threshold"], "threshold")
    group_key = oprf.check_element(b64u_decode(doc["group_key"], length=32, field="group_key"))
    params = KdfParams.from_json(doc["kdf"])
    servers_doc = doc["servers"]
    if not isinstance(servers_doc, list) or not 1 <= len(servers_doc) <= MAX_SERVERS:
        raise InvalidInput(_("backup: servers is a list of 1 to {MAX_SERVERS} key servers", MAX_SERVERS=MAX_SERVERS))
    servers = []
    for s in servers_doc:
        if not isinstance(s, dict) or set(s) != _SERVER_FIELDS:
            raise InvalidInput(_("backup: each server has exactly index, identity_key, public_share, sealed_share"))
        index = _int(s["index"], _("server index"))
        if not 1 <= index <= MAX_SERVERS:
            raise InvalidInput(_("backup: a key server index is 1 to {MAX_SERVERS}", MAX_SERVERS=MAX_SERVERS))
        servers.append(ServerShare(
            index, b64u_decode(s["identity_key"], length=32, field="identity_key"),
            oprf.check_element(b64u_decode(s["public_share"], length=32, field="public_share")),
            b64u_decode(s["sealed_share"], length=hpke.CIPHERTEXT_OVERHEAD + ristretto.SCALAR_BYTES,
                        field="sealed_share")))
    if len({s.index for s in servers}) != len(servers) or len({s.identity_key for s in servers}) != len(servers):
        raise InvalidInput(_("backup: two shares for the same key server"))
    if not 1 <= threshold <= len(servers):
        raise InvalidInput(_("backup: the threshold must be between 1 and the number of key servers"))
    try:  # the public shares must lie on one polynomial through the group key, or a share could be swapped
        threshold_oprf.check_public_shares(group_key, {s.index: s.public_share for s in servers}, threshold)
    except VerificationError as exc:
        raise InvalidInput(_("backup: {exc}", exc=exc)) from exc
    return BackupKeys(deployment_id, handle, threshold, group_key, params,
                      tuple(sorted(servers, key=lambda s: s.index)))


def parse(data: bytes) -> Backup:
    """A backup document from its bytes, every field checked; InvalidInput names the first wrong one."""
    if not isinstance(data, (bytes, bytearray)) or len(data) > MAX_BACKUP_BYTES:
        raise InvalidInput(_("a backup is at most 6 MiB"))
    try:
        doc = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput(_("a backup is a JSON object")) from None
    return parse_json(doc)


def parse_json(doc: Any) -> Backup:
    if not isinstance(doc, dict):
        raise InvalidInput(_("a backup is a JSON object"))
    if "version" not in doc or "wallet" not in doc:
        raise InvalidInput(_("backup: missing version or wallet"))
    keys = _keys(doc, set(doc) - {"version", "wallet"})
    version = _int(doc["version"], "version")
    if version < 1:
        raise InvalidInput(_("backup: version starts at 1"))
    wallet = b64u_decode(doc["wallet"], field="wallet")
    if len(wallet) < aead.OVERHEAD:
        raise InvalidInput(_("backup: the sealed wallet is too short"))
    return Backup(keys, version, wallet)


# -- set-up: dealing this backup's key ------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """A key server as the signed deployment document lists it."""

    index: int
    identity_key: bytes
    hpke_public_key: bytes


@dataclass(frozen=True)
class Dealt:
    keys: BackupKeys
    backup_key: bytes


def deal(secret: str, deployment_id: bytes, handle: bytes, threshold: int, recipients: Sequence[Recipient],
         params: KdfParams, *, key_seed: bytes | None = None,
         shares: Mapping[int, bytes] | None = None) -> Dealt:
    """Deal a fresh VOPRF key for this backup and derive the backup key from the passphrase under it.

    The key ``k`` is derived from a 32-byte seed (RFC 9497 DeriveKeyPair, as threshold_oprf's seeded
    dealings) and never leaves this function: only the sealed shares and the backup key do. ``key_seed``
    and ``shares`` are for the interop vector alone.
    """
    if not recipients or len(recipients) > MAX_SERVERS:
        raise InvalidInput(_("a backup needs the deployment's key servers"))
    if not 1 <= threshold <= len(recipients):
        raise InvalidInput(_("the threshold must be between 1 and the number of key servers"))
    seed = os.urandom(32) if key_seed is None else key_seed
    k, group_key = oprf.derive_key_pair(seed, threshold_oprf.DEALING_INFO, oprf.MODE_VOPRF)
    indices = [r.index for r in recipients]
    if shares is None:
        shares = deal_shares(k, threshold, indices)
    servers = []
    for r in recipients:
        share = shares[r.index]
        public = threshold_oprf.public_share(share)
        sealed = hpke.seal(r.hpke_public_key, share, share_info(deployment_id, handle, r.index, public))
        servers.append(ServerShare(r.index, r.identity_key, public, sealed))
    servers.sort(key=lambda s: s.index)
    keys = BackupKeys(deployment_id, handle, threshold, group_key, params, tuple(servers))
    threshold_oprf.check_public_shares(group_key, keys.public_shares(), threshold)
    hardened = harden(secret, deployment_id, handle, params)
    rwd = oprf.evaluate(k, hardened, oprf.MODE_VOPRF)
    return Dealt(keys, backup_key(rwd, deployment_id, handle))


def deal_shares(k: bytes, threshold: int, indices: Sequence[int]) -> dict[int, bytes]:
    """Shamir shares of ``k`` at the key servers' own indices (which need not be 1..n)."""
    if len(set(indices)) != len(indices) or any(not 1 <= i <= MAX_SERVERS for i in indices):
        raise InvalidInput(_("key server indices must be distinct, 1 to 255"))
    coefficients = [ristretto.scalar_to_int(k)] + [ristretto.scalar_to_int(ristretto.scalar_random())
                                                   for _unused in range(threshold - 1)]
    return {i: ristretto.scalar_from_int(shamir.evaluate_polynomial(coefficients, i)) for i in indices}


def open_share(hpke_private: bytes, deployment_id: bytes, handle: bytes, index: int, public_share: bytes,
               sealed_share: bytes) -> bytes:
    """A key server's share of this backup's key, if it was sealed to it for this handle and index and
    matches ``public_share``; VerificationError otherwise."""
    try:
        share = hpke.open(hpke_private, sealed_share, share_info(deployment_id, handle, index, public_share))
        ristretto.check_scalar(share)
    except (DecryptionError, VerificationError, InvalidInput):
        raise VerificationError(_("this backup's share for key server {index} does not open here",
                                  index=index)) from None
    if threshold_oprf.public_share(share) != public_share:
        raise VerificationError(_("this backup's share for key server {index} does not match its public share",
                                  index=index))
    return share


# -- recovery: combining the key servers' answers ------------------------------------------------


def rwd_from_partials(hardened: bytes, blind: bytes, blinded: bytes,
                      partials: Sequence[threshold_oprf.PartialEvaluation], keys: BackupKeys) -> bytes:
    """rwd from t verified partial evaluations (each proof against its public share in the backup)."""
    combined, _rejected = threshold_oprf.combine([blinded], partials, keys.public_shares(), keys.threshold)
    return oprf.finalize(hardened, blind, combined[0])


# -- reset (by the account) and unlock (by the administrator) ------------------------------------


@dataclass(frozen=True)
class ResetRequest:
    certificate: bytes
    audience: bytes
    issued_at: int
    nonce: bytes
    signature: bytes


def reset_signed_bytes(deployment_id: bytes, audience: bytes, issued_at: int, nonce: bytes) -> bytes:
    _check_len(deployment_id, 16, "deployment_id")
    _check_len(audience, 32, "audience")
    _check_len(nonce, NONCE_BYTES, "nonce")
    return RESET_LABEL + deployment_id + audience + i2osp(issued_at, 8) + nonce


def make_reset(seed: bytes, certificate: bytes, deployment_id: bytes, audience: bytes, *,
               now: float | None = None, nonce: bytes | None = None) -> ResetRequest:
    """After a recovery: ask key server ``audience`` to set this account's count of tries back to 0."""
    issued_at = int(time.time() if now is None else now)
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    return ResetRequest(certificate, audience, issued_at, nonce,
                        signing.sign(seed, reset_signed_bytes(deployment_id, audience, issued_at, nonce)))


def verify_reset(request: ResetRequest, *, admin_public: bytes, deployment_id: bytes, audience: bytes,
                 now: float | None = None) -> accounts.AccountCertificate:
    """The certified account that asked; VerificationError if it is for another key server, stale or forged."""
    if request.audience != audience:
        raise VerificationError(_("this request is meant for another key server"))
    current = time.time() if now is None else now
    if abs(current - request.issued_at) > RESET_FRESHNESS_SECONDS:
        raise VerificationError(_("this request is too old or from the future (check the device's clock)"))
    cert = accounts.verify_certificate(admin_public, deployment_id, request.certificate)
    try:
        signing.verify(cert.account_key, reset_signed_bytes(deployment_id, audience, request.issued_at,
                                                            request.nonce), request.signature)
    except VerificationError:
        raise VerificationError(_("the request is not signed by the certified account key")) from None
    return cert


@dataclass(frozen=True)
class UnlockCode:
    handle: bytes
    issued_at: int
    nonce: bytes
    signature: bytes


def unlock_signed_bytes(deployment_id: bytes, handle: bytes, issued_at: int, nonce: bytes) -> bytes:
    _check_len(deployment_id, 16, "deployment_id")
    _check_len(handle, HANDLE_BYTES, "handle")
    _check_len(nonce, NONCE_BYTES, "nonce")
    return UNLOCK_LABEL + deployment_id + handle + i2osp(issued_at, 8) + nonce


def make_unlock_code(admin_private: bytes, deployment_id: bytes, handle: bytes, *, now: float | None = None,
                     nonce: bytes | None = None) -> str:
    """``cnslu1.<b64u>``: the administrator's word that this handle may try again, good for 7 days, once."""
    issued_at = int(time.time() if now is None else now)
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    sig = signing.sign(admin_private, unlock_signed_bytes(deployment_id, handle, issued_at, nonce))
    return UNLOCK_PREFIX + b64u_encode(handle + i2osp(issued_at, 8) + nonce + sig)


BAD_CODE = N_("That is not an unlock code. An unlock code starts with cnslu1. — copy it exactly as the administrator "
            "gave it.")


def parse_unlock_code(text: Any) -> UnlockCode:
    if not isinstance(text, str) or not text.strip().startswith(UNLOCK_PREFIX):
        raise InvalidInput(_(BAD_CODE))
    try:
        raw = b64u_decode(text.strip()[len(UNLOCK_PREFIX):], length=HANDLE_BYTES + 8 + NONCE_BYTES + 64,
                          field=_("unlock code"))
    except InvalidInput:
        raise InvalidInput(_(BAD_CODE)) from None
    return UnlockCode(raw[:10], int.from_bytes(raw[10:18], "big"), raw[18:34], raw[34:])


def verify_unlock_code(code: UnlockCode, *, admin_public: bytes, deployment_id: bytes,
                       now: float | None = None) -> None:
    """VerificationError unless the administrator of this deployment signed it within the last 7 days."""
    current = time.time() if now is None else now
    try:
        signing.verify(admin_public, unlock_signed_bytes(deployment_id, code.handle, code.issued_at, code.nonce),
                       code.signature)
    except VerificationError:
        raise VerificationError(_("this unlock code was not made by this deployment's administrator")) from None
    if code.issued_at > current + RESET_FRESHNESS_SECONDS:
        raise VerificationError(_("this unlock code is dated in the future (check the device's clock)"))
    if current - code.issued_at > UNLOCK_VALID_SECONDS:
        raise VerificationError(_("this unlock code is more than 7 days old; ask the administrator for a new one"))


# -- helpers ------------------------------------------------------------------------------------


def _check_len(value: Any, length: int, what: str) -> None:
    if not isinstance(value, (bytes, bytearray)) or len(value) != length:
        raise InvalidInput(_("{what} must be {length} bytes", what=what, length=length))


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InvalidInput(_("backup: {what} must be a non-negative integer", what=what))
    return value


__all__ = ["BAD_HANDLE", "FORMAT", "MAX_BACKUP_BYTES", "Backup", "BackupKeys", "Dealt", "KdfParams", "Recipient",
           "ResetRequest", "ServerShare", "UnlockCode", "backup_key", "deal", "format_handle", "handle_bytes",
           "harden", "make_reset", "make_unlock_code", "open_share", "open_wallet", "parse", "parse_handle",
           "parse_json", "parse_unlock_code", "rwd_from_partials", "salt", "seal_wallet", "share_info",
           "verify_reset", "verify_unlock_code", "wallet_aad"]
