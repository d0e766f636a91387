"""The escrow server's bulletin board for the key servers' key generation (protocol/dkg.py).

The escrow server only relays: anyone may read a board, and it accepts a message only if it is
signed by a key server listed in the deployment document (``dkg.parse``). It cannot forge or
read what it relays, so nothing here is trusted: callers pass what they read to protocol/dkg.py,
which checks every signature.

    POST /v2/board          {epoch, message: b64u}  -> 201 (200 when the same bytes were there)
    GET  /v2/board/{epoch}?after=N                  -> {messages: [{seq, message, received_at}], next_after}

The same client serves the key servers (``services/keyserver/dkg_runner.py``) and the
administrator (``operator/quorum_keys.py``), and fetches the signed deployment document (GET /v2/deployment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from consilience.clients.http import UntrustedCertificate
from consilience.clients.http import client as http_client
from consilience.errors import ConsilienceError, InvalidInput
from consilience.i18n import _
from consilience.protocol import deployment as deployment_doc
from consilience.protocol import messages as m
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode

#: How long one request may take; a deal is a few hundred kilobytes at most on loopback.
TIMEOUT_SECONDS = 30.0
#: Pages followed in one read before giving up: 500 messages a page, a run posts a few per key server.
MAX_PAGES = 1000


class BoardError(ConsilienceError):
    """The escrow server could not be reached or refused a board request; ``status`` 0 when unreached."""

    def __init__(self, message: str, *, status: int = 0, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass
class BoardClient:
    """One escrow server's board; ``transport`` lets tests talk to an in-process application."""

    base_url: str
    transport: httpx.BaseTransport | None = None
    timeout: float = TIMEOUT_SECONDS
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    def _http(self) -> httpx.Client:
        if self._client is None:
            options: dict[str, Any] = {"base_url": self.base_url.rstrip("/"), "timeout": self.timeout}
            if self.transport is not None:
                options["transport"] = self.transport
            self._client = http_client(**options)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> BoardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        where = _("the escrow server at {server}", server=self.base_url)
        try:
            r = self._http().request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise BoardError(_("{where} did not answer in time ({name})",
                               where=where, name=exc.__class__.__name__)) from exc
        except UntrustedCertificate as exc:
            raise BoardError(exc.describe(_("the escrow server"))) from exc
        except httpx.HTTPError as exc:
            raise BoardError(_("{where} could not be reached ({exc})", where=where, exc=exc)) from exc
        if r.status_code >= 400:
            detail = ""
            try:
                body = r.json()
                detail = str(body.get("detail") or body.get("error") or "") if isinstance(body, dict) else ""
            except ValueError:
                detail = r.text[:200]
            retry = r.headers.get("Retry-After")
            said = (_("{where} answered {status} to {method} {path}: {detail}", where=where, status=r.status_code,
                      method=method, path=path, detail=detail) if detail else
                    _("{where} answered {status} to {method} {path}", where=where, status=r.status_code,
                      method=method, path=path))
            raise BoardError(said, status=r.status_code,
                             retry_after=float(retry) if retry and retry.isdigit() else None)
        return r

    def post(self, epoch: int, message: bytes) -> bool:
        """Put MESSAGE on the board of EPOCH; True if it is new there, False if the same bytes were already."""
        body = m.BoardPost(epoch=epoch, message=b64u_encode(message))
        r = self._request("POST", "/v2/board", json=body.model_dump())
        return r.status_code == 201

    def page(self, epoch: int, after: int = 0) -> m.BoardPage:
        r = self._request("GET", f"/v2/board/{int(epoch)}", params={"after": int(after)})
        try:
            return m.BoardPage.model_validate(r.json())
        except ValueError as exc:
            raise BoardError(_("the escrow server at {base_url} sent a board page that does not parse",
                               base_url=self.base_url)) from exc

    def read(self, epoch: int, after: int = 0) -> tuple[list[bytes], int]:
        """Every message after sequence number AFTER, following pages; and the ``after`` to read on from."""
        out: list[bytes] = []
        for _page in range(MAX_PAGES):
            page = self.page(epoch, after)
            for msg in page.messages:
                try:
                    out.append(b64u_decode(msg.message, field="board message"))
                except InvalidInput:
                    continue  # the relay is untrusted: a garbled message is one dkg.parse would refuse anyway
            if not page.messages or page.next_after <= after:
                return out, max(after, page.next_after)
            after = page.next_after
        raise BoardError(_("the board of epoch {epoch} at {base_url} has more pages than a key generation makes",
                           epoch=epoch, base_url=self.base_url))

    def published(self) -> dict[str, str]:
        """The signed deployment document as the escrow server publishes it (not checked: see ``deployment``)."""
        r = self._request("GET", "/v2/deployment")
        try:
            return m.SignedDeployment.model_validate(r.json()).model_dump()
        except ValueError as exc:
            raise BoardError(_("the escrow server at {base_url} sent a deployment document that does not "
                               "parse", base_url=self.base_url)) from exc

    def deployment(self, admin_fingerprint: bytes, *, min_serial: int = 0) -> Deployment:
        """The signed deployment document, checked against the administrator's fingerprint."""
        return deployment_doc.verify(self.published(), admin_fingerprint, min_serial=min_serial)


@dataclass
class Board:
    """What one reader has seen of one epoch's board: every message so far, read on incrementally."""

    client: BoardClient
    epoch: int
    messages: list[bytes] = field(default_factory=list)
    _after: int = 0
    _seen: set[bytes] = field(default_factory=set)

    def refresh(self) -> list[bytes]:
        """Read what is new; returns the new messages (duplicates of earlier ones dropped)."""
        fresh, self._after = self.client.read(self.epoch, self._after)
        new = []
        for msg in fresh:
            if msg not in self._seen:
                self._seen.add(msg)
                new.append(msg)
        self.messages += new
        return new

    def post(self, message: bytes) -> None:
        self.client.post(self.epoch, message)



__all__ = ["Board", "BoardClient", "BoardError"]
