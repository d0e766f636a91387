"""Reporter accounts in protocol v2: what the administrator certifies and key servers check (PROTOCOL.md §6).

Why this exists
    In v1 the escrow server issued the key servers' access tokens, so whoever
    ran it could mint accounts and evaluate the OPRF at will. In v2 the only
    root of accounts is the administrator's signature: each invite carries a
    fresh Ed25519 seed whose public key (the *account key*) the administrator
    certifies for this deployment. Key servers check that certificate and a
    signature by the account key on every request themselves; the escrow host
    holds neither the administrator's key nor any account's seed.

    The abscissa of an account — the x of its quorum shares — is a keyed
    function of the account key under a key only the key servers hold (from
    their key generation). One invite is one account key is one abscissa, so
    the administrator's power to create accounts is the one Sybil root, and a
    stolen seed is one abscissa too.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from hashlib import sha256

from consilience.crypto import signing
from consilience.crypto.bls12381 import Scalar, hash_to_scalar
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _
from consilience.protocol.encoding import i2osp

CERTIFICATE_LABEL = b"consilience-v2 account certificate"
REGISTER_LABEL = b"consilience-v2 register"
ABSCISSA_LABEL = b"consilience-v2 abscissa"
SEED_BYTES = 32
ACCOUNT_KEY_BYTES = 32
DEPLOYMENT_ID_BYTES = 16
CERTIFICATE_BYTES = ACCOUNT_KEY_BYTES + DEPLOYMENT_ID_BYTES + 8 + 64


@dataclass(frozen=True)
class AccountCertificate:
    """The administrator's word that ``account_key`` is one account of ``deployment_id``."""

    account_key: bytes
    deployment_id: bytes
    issued_at: int
    encoded: bytes


def account_key(seed: bytes) -> bytes:
    """The account's public key: the seed is the Ed25519 private key itself."""
    if len(seed) != SEED_BYTES:
        raise InvalidInput(_("an account seed is 32 bytes"))
    return signing.public_key(seed)


def _certified(account: bytes, deployment_id: bytes, issued_at: int) -> bytes:
    return CERTIFICATE_LABEL + account + deployment_id + i2osp(issued_at, 8)


def issue_certificate(admin_private: bytes, deployment_id: bytes, account: bytes, *, now: float | None = None) -> bytes:
    """The 120-byte certificate of ``account`` (an account key), signed by the administrator."""
    if len(account) != ACCOUNT_KEY_BYTES or len(deployment_id) != DEPLOYMENT_ID_BYTES:
        raise InvalidInput(_("an account key is 32 bytes and a deployment id 16"))
    issued_at = int(time.time() if now is None else now)
    body = account + deployment_id + i2osp(issued_at, 8)
    return body + signing.sign(admin_private, _certified(account, deployment_id, issued_at))


def parse_certificate(data: bytes) -> AccountCertificate:
    """The certificate's fields, unchecked (see :func:`verify_certificate`)."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != CERTIFICATE_BYTES:
        raise InvalidInput(_("an account certificate is {CERTIFICATE_BYTES} bytes",
                             CERTIFICATE_BYTES=CERTIFICATE_BYTES))
    data = bytes(data)
    return AccountCertificate(data[:32], data[32:48], int.from_bytes(data[48:56], "big"), data)


def verify_certificate(admin_public: bytes, deployment_id: bytes, data: bytes) -> AccountCertificate:
    """The certificate, if the administrator signed it for this deployment; else VerificationError."""
    cert = parse_certificate(data)
    if cert.deployment_id != deployment_id:
        raise VerificationError(_("the account certificate is for another deployment"))
    try:
        signing.verify(admin_public, _certified(cert.account_key, cert.deployment_id, cert.issued_at), data[56:])
    except VerificationError:
        raise VerificationError(_("the account certificate is not signed by this deployment's administrator")) from None
    return cert


def registration_proof(seed: bytes, deployment_id: bytes) -> bytes:
    """What a reporter shows the escrow server to use an invite: a signature by the invite's account key."""
    return signing.sign(seed, REGISTER_LABEL + deployment_id + account_key(seed))


def verify_registration(account: bytes, deployment_id: bytes, proof: bytes) -> None:
    try:
        signing.verify(account, REGISTER_LABEL + deployment_id + account, proof)
    except VerificationError:
        raise VerificationError(_("the registration is not signed by the invite's account key")) from None


def abscissa(abscissa_key: bytes, deployment_id: bytes, account: bytes) -> Scalar:
    """The account's abscissa: a nonzero scalar only holders of ``abscissa_key`` (the key servers) compute.

    HMAC-SHA256 is the keyed function; hashing its output to the field (RFC 9380
    hash_to_field) gives a uniform scalar. Zero has probability 1/r; it is
    refused rather than silently mapped, since x = 0 would hand out F_q(0).
    """
    if len(abscissa_key) != 32 or len(deployment_id) != DEPLOYMENT_ID_BYTES or len(account) != ACCOUNT_KEY_BYTES:
        raise InvalidInput(_("abscissa key and account key are 32 bytes, a deployment id 16"))
    mac = hmac.new(abscissa_key, ABSCISSA_LABEL + deployment_id + account, sha256).digest()
    x = hash_to_scalar(mac, ABSCISSA_LABEL)
    if x.is_zero():
        raise VerificationError(_("this account's abscissa would be zero; it needs a new invite"))
    return x


__all__ = [
    "ABSCISSA_LABEL", "CERTIFICATE_BYTES", "CERTIFICATE_LABEL", "REGISTER_LABEL", "SEED_BYTES",
    "AccountCertificate", "abscissa", "account_key", "issue_certificate", "parse_certificate",
    "registration_proof", "verify_certificate", "verify_registration",
]
