"""A reporter's request to one key server, bound so that it is useless anywhere else (PROTOCOL.md §5).

Why
    In v1 one access token went to every key server and could be replayed
    until it expired: key server 1 kept the tokens it received and used them
    at key server 2, running the whole OPRF on its own. A v2 request is signed
    by the account key over the key server it is for (its identity key), the
    exact blinded elements it carries, a time and a nonce; a key server
    answers it at most once, within a short window. The same binding stops a
    key server from harvesting honest accounts' abscissas for points of its
    own choosing: it cannot make a request another key server would accept.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _
from consilience.protocol import accounts
from consilience.protocol.encoding import i2osp

LABEL = b"consilience-v2 evaluate"
#: A request older than this, or this far in the future, is refused: clocks may differ by about this much.
FRESHNESS_SECONDS = 120
NONCE_BYTES = 16
ELEMENT_BYTES = 32
POINT_BYTES = 48
MAX_ELEMENTS = 8


@dataclass(frozen=True)
class EvaluationRequest:
    certificate: bytes
    audience: bytes  # the key server's Ed25519 identity key
    issued_at: int
    nonce: bytes
    blinded: tuple[bytes, ...]  # ristretto255 VOPRF blinded elements
    points: tuple[bytes, ...]  # B = r·P in G1, one per identifier
    signature: bytes


def signed_bytes(deployment_id: bytes, audience: bytes, issued_at: int, nonce: bytes,
                 blinded: tuple[bytes, ...] | list[bytes], points: tuple[bytes, ...] | list[bytes]) -> bytes:
    """``LABEL ‖ deployment_id ‖ audience ‖ I2OSP(issued_at, 8) ‖ nonce ‖ I2OSP(n, 1) ‖ blinded… ‖ points…``."""
    if len(deployment_id) != 16 or len(audience) != 32 or len(nonce) != NONCE_BYTES:
        raise InvalidInput(_("a request names a 16-byte deployment, a 32-byte key server and a 16-byte nonce"))
    if not 1 <= len(blinded) <= MAX_ELEMENTS or len(points) != len(blinded):
        raise InvalidInput(_("a request carries 1 to {MAX_ELEMENTS} identifiers, one element and one point each",
                             MAX_ELEMENTS=MAX_ELEMENTS))
    if any(len(b) != ELEMENT_BYTES for b in blinded) or any(len(p) != POINT_BYTES for p in points):
        raise InvalidInput(_("blinded elements are 32 bytes and points 48"))
    return (LABEL + deployment_id + audience + i2osp(issued_at, 8) + nonce + i2osp(len(blinded), 1)
            + b"".join(blinded) + b"".join(points))


def make_request(seed: bytes, certificate: bytes, deployment_id: bytes, audience: bytes,
                 blinded: list[bytes], points: list[bytes], *, now: float | None = None,
                 nonce: bytes | None = None) -> EvaluationRequest:
    """Sign a request for the key server whose identity key is ``audience``."""
    import os

    issued_at = int(time.time() if now is None else now)
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    message = signed_bytes(deployment_id, audience, issued_at, nonce, blinded, points)
    return EvaluationRequest(certificate, audience, issued_at, nonce, tuple(blinded), tuple(points),
                             signing.sign(seed, message))


def verify_request(request: EvaluationRequest, *, admin_public: bytes, deployment_id: bytes, audience: bytes,
                   now: float | None = None) -> accounts.AccountCertificate:
    """The certified account that signed ``request`` for this key server, now; else VerificationError.

    Cheapest refusals first: audience and time, then the administrator's
    certificate, then the account's signature.
    """
    if request.audience != audience:
        raise VerificationError(_("this request is meant for another key server"))
    current = time.time() if now is None else now
    if abs(current - request.issued_at) > FRESHNESS_SECONDS:
        raise VerificationError(_("this request is too old or from the future (check the device's clock)"))
    cert = accounts.verify_certificate(admin_public, deployment_id, request.certificate)
    message = signed_bytes(deployment_id, request.audience, request.issued_at, request.nonce,
                           request.blinded, request.points)
    try:
        signing.verify(cert.account_key, message, request.signature)
    except VerificationError:
        raise VerificationError(_("the request is not signed by the certified account key")) from None
    return cert


class ReplayGuard:
    """Remembers (account key, nonce) of answered requests for the freshness window; refuses a second use.

    Kept in memory: after a restart a request younger than the window could
    be answered once more by this key server, which gives nothing another
    key server would accept (the audience binding), only one more answer on
    the same points.
    """

    def __init__(self, window: int = FRESHNESS_SECONDS) -> None:
        self._window = window
        self._seen: set[tuple[bytes, bytes]] = set()
        # (issued_at, key) in the order answered; requests arrive roughly in time order, so the
        # expired ones sit at the front and leave in O(1) each. A request dated later than its
        # neighbours only stays longer, never too short.
        self._order: deque[tuple[int, tuple[bytes, bytes]]] = deque()
        self._lock = threading.Lock()

    def check(self, account_key: bytes, nonce: bytes, issued_at: int, *, now: float | None = None) -> None:
        current = time.time() if now is None else now
        key = (bytes(account_key), bytes(nonce))
        with self._lock:
            horizon = current - 2 * self._window  # verify_request refuses anything older than one window
            while self._order and self._order[0][0] < horizon:
                self._seen.discard(self._order.popleft()[1])
            if key in self._seen:
                raise VerificationError(_("this request was already answered; a request is used once"))
            self._seen.add(key)
            self._order.append((issued_at, key))

    def __len__(self) -> int:
        return len(self._seen)


__all__ = ["FRESHNESS_SECONDS", "LABEL", "EvaluationRequest", "ReplayGuard", "make_request", "signed_bytes",
           "verify_request"]
