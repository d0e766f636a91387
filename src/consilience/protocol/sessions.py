"""Escrow sessions, protocol v2 (PROTOCOL.md §6.1): how a reporter signs in again with its account key.

A bearer token at the escrow server is a *session*: it expires (the escrow server's settings say
when) and a client gets a new one without the person noticing. A reporter signs in with its
account key, which its wallet holds:

    proof = Ed25519(seed, "consilience-v2 login" ‖ deployment_id (16) ‖ account_key (32) ‖ u64 issued_at ‖ nonce (16))

fresh within ``evaluation.FRESHNESS_SECONDS`` and used once, like an evaluation request. A
counselor signs in with the credential the administrator gave them (``cnslc1.``), which is a
long-lived secret the escrow server keeps only the hash of, and is never a session itself.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _
from consilience.protocol import accounts
from consilience.protocol.encoding import i2osp
from consilience.protocol.evaluation import FRESHNESS_SECONDS

LOGIN_LABEL = b"consilience-v2 login"
NONCE_BYTES = 16


@dataclass(frozen=True)
class Login:
    """A reporter's signed request for a new session."""

    account_key: bytes
    issued_at: int
    nonce: bytes
    signature: bytes


def login_bytes(deployment_id: bytes, account_key: bytes, issued_at: int, nonce: bytes) -> bytes:
    if (len(deployment_id) != accounts.DEPLOYMENT_ID_BYTES or len(account_key) != accounts.ACCOUNT_KEY_BYTES
            or len(nonce) != NONCE_BYTES or not 0 <= issued_at < 2**64):
        raise InvalidInput(_("a login names a 16-byte deployment id, a 32-byte account key and a 16-byte nonce"))
    return LOGIN_LABEL + deployment_id + account_key + i2osp(issued_at, 8) + nonce


def sign_login(seed: bytes, deployment_id: bytes, *, now: float | None = None, nonce: bytes | None = None) -> Login:
    """A fresh login signed by the account seed."""
    key = accounts.account_key(seed)
    issued_at = int(time.time() if now is None else now)
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    return Login(key, issued_at, nonce, signing.sign(seed, login_bytes(deployment_id, key, issued_at, nonce)))


def verify_login(login: Login, deployment_id: bytes, *, now: float | None = None) -> None:
    """VerificationError unless ``login`` is fresh and signed by its account key for this deployment."""
    current = time.time() if now is None else now
    if abs(current - login.issued_at) > FRESHNESS_SECONDS:
        raise VerificationError(_("this sign-in is too old or from the future (check the device's clock)"))
    try:
        signing.verify(login.account_key, login_bytes(deployment_id, login.account_key, login.issued_at,
                                                      login.nonce), login.signature)
    except VerificationError:
        raise VerificationError(_("the sign-in is not signed by the account's key")) from None


__all__ = ["LOGIN_LABEL", "NONCE_BYTES", "Login", "login_bytes", "sign_login", "verify_login"]
