"""Client side of the threshold VOPRF (PROTOCOL.md §5).

Asks key servers one after another until ``threshold`` valid partial
evaluations are in hand; a server that is down, slow, rate-limits or proves
a wrong key is skipped and reported, so one bad server neither blocks nor
silently corrupts a submission.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx

from consilience.clients.http import client as http_client
from consilience.crypto import oprf, threshold_oprf
from consilience.errors import ConsilienceError, InvalidInput
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode

log = logging.getLogger(__name__)


@dataclass
class OprfResult:
    outputs: list[bytes]
    used: list[int]
    skipped: dict[int, str] = field(default_factory=dict)


class KeyServerUnavailable(ConsilienceError):
    """Fewer than t key servers gave a valid answer; the message names each skipped server and why.

    ``answered`` and ``needed`` count valid answers; ``skipped`` maps a server's index to why it was
    skipped and ``urls`` its address, for scripts (``--json`` prints them beside the message).
    """

    def __init__(self, answered: int, needed: int, skipped: dict[int, str], urls: dict[int, str]) -> None:
        reasons = "; ".join(f"key server {i} ({urls.get(i, '?')}) {why}" for i, why in skipped.items())
        super().__init__(
            f"Too few of the deployment's key servers answered ({answered} of the {needed} needed), so the names "
            "could not be turned into matching codes. Nothing was sent. Try again in a while; if it keeps "
            f"happening, tell the administrator. ({reasons})")
        self.answered = answered
        self.needed = needed
        self.skipped = dict(skipped)
        self.urls = dict(urls)

    def json_fields(self) -> dict[str, object]:
        return {"code": "key_servers_unavailable", "answered": self.answered, "needed": self.needed,
                "skipped": {str(i): {"url": self.urls.get(i), "reason": why} for i, why in self.skipped.items()}}


def evaluate(deployment: Deployment, inputs: list[bytes], access_token: bytes,
             *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> OprfResult:
    """OPRF outputs of ``inputs`` under the deployment's shared key."""
    if not inputs:
        raise InvalidInput("nothing to evaluate")
    blinds, blinded = [], []
    for item in inputs:
        r, b = oprf.blind(item, oprf.MODE_VOPRF)
        blinds.append(r)
        blinded.append(b)
    shares = deployment.public_shares()
    verified: list[threshold_oprf.VerifiedPartial] = []
    skipped: dict[int, str] = {}
    headers = {"Authorization": f"Bearer {b64u_encode(access_token)}"}
    request = {"blinded": [b64u_encode(b) for b in blinded]}
    with http_client(timeout=timeout, transport=transport) as http:
        for server in deployment.key_servers:
            if len(verified) == deployment.threshold:
                break
            try:
                response = http.post(f"{server.url.rstrip('/')}/v1/evaluate", json=request, headers=headers)
            except httpx.HTTPError as exc:
                skipped[server.index] = f"could not be reached ({type(exc).__name__})"
                continue
            if response.status_code != 200:
                skipped[server.index] = _refused(response)
                continue
            try:
                doc = response.json()
                partial = threshold_oprf.PartialEvaluation(
                    index=server.index,
                    evaluated=[b64u_decode(z, length=32, field="evaluated") for z in doc["evaluated"]],
                    proof=b64u_decode(doc["proof"], length=64, field="proof"),
                )
                if doc.get("index") != server.index or len(partial.evaluated) != len(blinded):
                    raise InvalidInput("answer does not fit the request")
            except (ValueError, KeyError, TypeError, ConsilienceError) as exc:
                skipped[server.index] = f"gave an answer that is not valid: {exc}"
                log.warning("key server %d gave an invalid answer: %s", server.index, exc)
                continue
            # Check the proof now, so a lying server costs one more request, not the submission.
            checked = threshold_oprf.verify_partial(blinded, partial, shares)
            if checked is None:
                skipped[server.index] = ("answered with a proof that does not verify against its public share "
                                         "(it may be misconfigured, or not the deployment's)")
                log.warning("key server %d answered with a proof that does not verify", server.index)
                continue
            verified.append(checked)
    if len(verified) < deployment.threshold:
        raise KeyServerUnavailable(len(verified), deployment.threshold, skipped,
                                   {s.index: s.url for s in deployment.key_servers})
    combined = threshold_oprf.combine_verified(verified, deployment.threshold)
    outputs = [oprf.finalize(x, r, z) for x, r, z in zip(inputs, blinds, combined, strict=False)]
    return OprfResult(outputs=outputs, used=[v.partial.index for v in verified], skipped=skipped)


def _refused(response: httpx.Response) -> str:
    """Why a key server's error answer skips it, in words."""
    status = response.status_code
    if status == 429:
        wait = response.headers.get("Retry-After")
        return "is limiting requests for now" + (f" (retry after {wait} s)" if wait else "")
    if status == 401:
        return f"did not accept the access token ({_detail(response)})"
    if status == 503:
        return "is unavailable for the moment"
    return f"answered HTTP {status}: {_detail(response)}"


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:200]
    except ValueError:
        return response.text[:200]
