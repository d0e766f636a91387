"""Key-server access tokens (PROTOCOL.md §5).

Key servers keep no accounts, yet must rate-limit per reporter. The escrow
server, which does know accounts, signs short-lived tokens naming the
account; a key server only needs the issuer's public key to check them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.protocol.encoding import i2osp

LABEL = b"consilience-v1 keyserver token"
TOKEN_BYTES = 16 + 8 + 64
DEFAULT_LIFETIME_SECONDS = 600


@dataclass(frozen=True)
class AccessToken:
    account_id: bytes
    expires_at: int


def issue(issuer_private: bytes, account_id: bytes, *, now: float | None = None,
          lifetime: int = DEFAULT_LIFETIME_SECONDS) -> bytes:
    if len(account_id) != 16:
        raise InvalidInput("account id must be 16 bytes")
    expires = int(now if now is not None else time.time()) + lifetime
    signed = account_id + i2osp(expires, 8)
    return signed + signing.sign(issuer_private, LABEL + signed)


def verify(issuer_public: bytes, token: bytes, *, now: float | None = None) -> AccessToken:
    """Check signature and expiry; raise VerificationError with the reason."""
    if len(token) != TOKEN_BYTES:
        raise VerificationError("access token has the wrong length")
    signed, signature = token[:24], token[24:]
    signing.verify(issuer_public, LABEL + signed, signature)
    expires = int.from_bytes(signed[16:24], "big")
    if expires < (now if now is not None else time.time()):
        raise VerificationError("access token has expired")
    return AccessToken(account_id=signed[:16], expires_at=expires)
