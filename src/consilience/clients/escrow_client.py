"""Typed HTTP client for the escrow server's v1 API.

Translates HTTP failures into ``ApiError`` carrying the server's own
``detail`` so the CLI can show people what actually went wrong.
"""

from __future__ import annotations

from typing import Any

import httpx

from consilience.clients.http import client as http_client
from consilience.errors import ConsilienceError
from consilience.protocol import deployment as deployment_doc
from consilience.protocol import messages as m
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import SealedEntry


class ApiError(ConsilienceError):
    """The escrow server answered with an error (its status, code and detail), or was unreachable (status 0).

    What the server raised as a ``Refusal`` (or a storage refusal) arrives here; see the tree in
    ``consilience.errors``.
    """

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"server answered {status} ({code}): {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class EscrowClient:
    def __init__(self, base_url: str, token: bytes | None = None, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {b64u_encode(token)}"} if token else {}
        self._http = http_client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout,
                                 transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EscrowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, json: Any = None, ok: tuple[int, ...] = (200, 201),
              params: dict[str, Any] | None = None, text: bool = False) -> Any:
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", f"cannot reach {self._http.base_url}: {exc}") from exc
        if response.status_code not in ok:
            try:
                doc = response.json()
                code, detail = str(doc.get("error", "error")), str(doc.get("detail", doc))
            except ValueError:
                code, detail = "error", response.text[:300]
            raise ApiError(response.status_code, code, detail)
        if text:
            return response.text
        return response.json() if response.content else None

    # -- public ------------------------------------------------------------
    def deployment(self, admin_fingerprint: bytes, *, min_serial: int = 0) -> Deployment:
        published = m.SignedDeployment.model_validate(self._call("GET", "/v1/deployment"))
        return deployment_doc.verify(published.model_dump(), admin_fingerprint, min_serial=min_serial)

    def register(self, invite_code: bytes) -> tuple[bytes, bytes]:
        doc = m.RegisterResponse.model_validate(
            self._call("POST", "/v1/accounts", {"invite": b64u_encode(invite_code)}))
        return b64u_decode(doc.account_id, length=16), b64u_decode(doc.token)

    # -- reporter ------------------------------------------------------------
    def keyserver_token(self) -> bytes:
        doc = m.AccessTokenResponse.model_validate(self._call("POST", "/v1/keyserver-token"))
        return b64u_decode(doc.token)

    def submit(self, sealed: SealedEntry, *, replace: bool = False) -> m.EntryReceipt:
        return self.send(submission_payload(sealed), replace=replace)

    def send(self, payload: dict[str, Any], *, replace: bool = False) -> m.EntryReceipt:
        """Send a prepared submission; resending identical bytes is idempotent."""
        if replace:
            doc = self._call("PUT", f"/v1/entries/{payload['entry_id']}", payload)
        else:
            doc = self._call("POST", "/v1/entries", payload)
        return m.EntryReceipt.model_validate(doc)

    def entries(self) -> list[m.EntrySummary]:
        return [m.EntrySummary.model_validate(e) for e in self._call("GET", "/v1/entries")]

    def entry(self, entry_id: bytes) -> m.EntryDetail:
        return m.EntryDetail.model_validate(self._call("GET", f"/v1/entries/{b64u_encode(entry_id)}"))

    def withdraw(self, entry_id: bytes) -> m.EntryReceipt:
        return m.EntryReceipt.model_validate(
            self._call("DELETE", f"/v1/entries/{b64u_encode(entry_id)}"))

    def receipt(self, entry_id: bytes) -> m.EntryReceipt:
        return m.EntryReceipt.model_validate(
            self._call("GET", f"/v1/entries/{b64u_encode(entry_id)}/receipt"))

    # -- transparency log (public) ------------------------------------------------
    def checkpoint(self, size: int | None = None) -> str:
        """The newest signed checkpoint note (or the one of ``size``), with cosignatures."""
        return str(self._call("GET", "/v1/log/checkpoint", params={"size": size} if size else None, text=True))

    def consistency(self, old: int, new: int) -> list[bytes]:
        doc = m.ConsistencyProof.model_validate(
            self._call("GET", "/v1/log/consistency", params={"old": old, "new": new}))
        return [b64u_decode(h, length=32) for h in doc.proof]

    def cosign(self, size: int, cosignature_line: str) -> None:
        self._call("POST", "/v1/log/cosignatures", {"size": size, "cosignature": cosignature_line})

    # -- counselor -----------------------------------------------------------
    def matches(self) -> list[m.MatchSummary]:
        return [m.MatchSummary.model_validate(x) for x in self._call("GET", "/v1/matches")]

    def match(self, match_id: bytes) -> m.MatchDetail:
        return m.MatchDetail.model_validate(self._call("GET", f"/v1/matches/{b64u_encode(match_id)}"))


def submission_payload(sealed: SealedEntry) -> dict[str, Any]:
    """The JSON body of POST/PUT /v1/entries (PROTOCOL.md §8)."""
    return {
        "entry_id": b64u_encode(sealed.entry_id),
        "quorum": sealed.quorum,
        "tags": [b64u_encode(t) for t in sealed.tags],
        "body": b64u_encode(sealed.body),
        "envelopes": [{"key_id": b64u_encode(k), "ciphertext": b64u_encode(c)}
                      for k, c in sealed.envelopes.items()],
        "deployment_serial": sealed.deployment_serial,
    }
