"""Client side of the key servers (PROTOCOL.md §5): the threshold VOPRF and the quorum shares.

Asks t key servers at once, each with a request signed for it alone, and
more only when some fail; a server that is down, slow, rate-limits, proves
a wrong key or gives shares that do not check is skipped and reported, so
one bad server neither blocks nor silently corrupts a submission.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from consilience.clients.http import client as http_client
from consilience.clients.http import reason as http_reason
from consilience.crypto import oprf, threshold_oprf
from consilience.errors import ConsilienceError, InvalidInput
from consilience.i18n import _
from consilience.protocol import evaluation, messages, quorum
from consilience.protocol.deployment import Deployment, KeyServer
from consilience.protocol.encoding import b64u_decode, b64u_encode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """What signs a reporter's key-server requests: the account seed and the administrator's certificate."""

    seed: bytes = field(repr=False)
    certificate: bytes


@dataclass
class Evaluation:
    """Per identifier: the VOPRF output y (its tag comes from it) and the checked quorum shares on P*."""

    outputs: list[bytes]
    shares: list[quorum.IdentifierShares]
    abscissa: bytes
    used: list[int]
    skipped: dict[int, str] = field(default_factory=dict)


class KeyServerUnavailable(ConsilienceError):
    """Fewer than t key servers gave a valid answer; the message names each skipped server and why.

    ``answered`` and ``needed`` count valid answers; ``skipped`` maps a server's index to why it was
    skipped and ``urls`` its address, for scripts (``--json`` prints them beside the message).
    """

    def __init__(self, answered: int, needed: int, skipped: dict[int, str], urls: dict[int, str]) -> None:
        reasons = "; ".join(_("key server {index} ({url}) {why}", index=i, url=urls.get(i, "?"), why=why)
                            for i, why in skipped.items())
        super().__init__(_(
            "Too few of the deployment's key servers answered ({answered} of the {needed} needed), so the names "
            "could not be turned into matching codes. Nothing was sent. Try again in a while; if it keeps "
            "happening, tell the administrator. ({reasons})", answered=answered, needed=needed, reasons=reasons))
        self.answered = answered
        self.needed = needed
        self.skipped = dict(skipped)
        self.urls = dict(urls)

    def json_fields(self) -> dict[str, object]:
        return {"code": "key_servers_unavailable", "answered": self.answered, "needed": self.needed,
                "skipped": {str(i): {"url": self.urls.get(i), "reason": why} for i, why in self.skipped.items()}}


def evaluate(deployment: Deployment, inputs: list[bytes], credentials: Credentials,
             *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None,
             http: httpx.Client | None = None) -> Evaluation:
    """VOPRF outputs and quorum shares of ``inputs``, from t key servers asked in parallel.

    Each key server gets its own request, signed for it alone
    (protocol/evaluation.py). Answers are checked before use: the VOPRF
    proof against the server's public share, the abscissa against the
    others', and the quorum shares by quorum.combine's pairing check. A
    server that is down, refuses, or answers wrongly is skipped, named, and
    replaced by the next one; nothing is sent anywhere unless t agree.
    """
    if not inputs:
        raise InvalidInput(_("nothing to evaluate"))
    if len(inputs) > evaluation.MAX_ELEMENTS:
        raise InvalidInput(_("at most {MAX_ELEMENTS} names at a time", MAX_ELEMENTS=evaluation.MAX_ELEMENTS))
    params = deployment.quorum_parameters()
    blinds, blinded = [], []
    for item in inputs:
        r, b = oprf.blind(item, oprf.MODE_VOPRF)
        blinds.append(r)
        blinded.append(b)
    points = [quorum.blind(item) for item in inputs]
    shares_public = deployment.public_shares()
    skipped: dict[int, str] = {}
    answered: dict[int, _Answer] = {}
    waiting = sorted(deployment.serving_key_servers, key=lambda s: s.index)
    t = deployment.threshold
    own = http is None
    session = http if http is not None else http_client(timeout=timeout, transport=transport)
    try:
        while True:
            # Ask as many as are still needed, in parallel.
            need = t - max((len(g) for g in _groups(answered).values()), default=0)
            wave, waiting = waiting[:need], waiting[need:]
            if wave:
                with ThreadPoolExecutor(max_workers=len(wave)) as pool:
                    futures = {pool.submit(_ask, session, deployment, s, credentials, blinded, points): s
                               for s in wave}
                    for future, server in futures.items():
                        got = future.result()
                        if isinstance(got, str):
                            skipped[server.index] = got
                            continue
                        checked = threshold_oprf.verify_partial(blinded, got.partial, shares_public)
                        if checked is None:
                            skipped[server.index] = _("answered with a proof that does not verify against its "
                                                      "public share (it may be misconfigured, or not the "
                                                      "deployment's)")
                            log.warning("key server %d answered with a proof that does not verify", server.index)
                            continue
                        answered[server.index] = _Answer(checked, got.abscissa, got.shares)
            # Honest key servers derive the same abscissa; a group of t that passes the check wins.
            for group in sorted(_groups(answered).values(), key=len, reverse=True):
                if len(group) < t:
                    break
                done = _combine(deployment, params, inputs, blinds, points, {i: answered[i] for i in group},
                                skipped)
                if done is not None:
                    for i in answered:
                        if i not in group:
                            skipped[i] = _("gave this account another abscissa than the key servers whose shares check")
                    return done
                answered = {i: a for i, a in answered.items() if i not in skipped}
            if not waiting and max((len(g) for g in _groups(answered).values()), default=0) < t:
                for i in answered:
                    skipped.setdefault(i, _("gave this account another abscissa than the other key servers"))
                raise KeyServerUnavailable(len(answered) if len(_groups(answered)) <= 1 else 0, t, skipped,
                                           {s.index: s.url for s in deployment.key_servers})
    finally:
        if own:
            session.close()


@dataclass(frozen=True)
class _Raw:
    partial: threshold_oprf.PartialEvaluation
    abscissa: bytes
    shares: list[dict[int, bytes]]


@dataclass(frozen=True)
class _Answer:
    verified: threshold_oprf.VerifiedPartial
    abscissa: bytes
    shares: list[dict[int, bytes]]


def _ask(http: httpx.Client, deployment: Deployment, server: KeyServer, credentials: Credentials,
         blinded: list[bytes], points: list[quorum.BlindedIdentifier]) -> _Raw | str:
    """One key server's answer, parsed; or why it is skipped, in words."""
    request = evaluation.make_request(credentials.seed, credentials.certificate, deployment.deployment_id,
                                      server.identity_key, blinded, [p.blinded for p in points])
    body = {"certificate": b64u_encode(request.certificate), "audience": b64u_encode(request.audience),
            "issued_at": request.issued_at, "nonce": b64u_encode(request.nonce),
            "blinded": [b64u_encode(b) for b in request.blinded],
            "points": [b64u_encode(p) for p in request.points], "signature": b64u_encode(request.signature)}
    try:
        response = http.post(f"{server.url.rstrip('/')}/v2/evaluate", json=body)
    except httpx.HTTPError as exc:
        return http_reason(exc)
    if response.status_code != 200:
        return _refused(response)
    levels = list(deployment.quorum_range)
    try:
        doc = messages.EvaluateResponseV2.model_validate(response.json())
        partial = threshold_oprf.PartialEvaluation(
            index=server.index, evaluated=[b64u_decode(z, length=32, field="evaluated") for z in doc.evaluated],
            proof=b64u_decode(doc.proof, length=64, field="proof"))
        if doc.index != server.index or len(partial.evaluated) != len(blinded) or len(doc.shares) != len(points):
            raise InvalidInput(_("answer does not fit the request"))
        if any(len(row) != len(levels) for row in doc.shares):
            raise InvalidInput(_("answer does not carry one share for each of the levels {levels}..{levels2}",
                                 levels=levels[0], levels2=levels[-1]))
        shares = [{q: b64u_decode(z, length=48, field="share") for q, z in zip(levels, row, strict=True)}
                  for row in doc.shares]
        abscissa = b64u_decode(doc.abscissa, length=32, field="abscissa")
        quorum.abscissa_from_bytes(abscissa)
    except (ValueError, KeyError, TypeError, ConsilienceError) as exc:
        log.warning("key server %d gave an invalid answer: %s", server.index, exc)
        return _("gave an answer that is not valid: {exc}", exc=exc)
    return _Raw(partial, abscissa, shares)


def _groups(answered: dict[int, _Answer]) -> dict[bytes, list[int]]:
    groups: dict[bytes, list[int]] = {}
    for i, a in sorted(answered.items()):
        groups.setdefault(a.abscissa, []).append(i)
    return groups


def _combine(deployment: Deployment, params: quorum.QuorumParameters, inputs: list[bytes], blinds: list[bytes],
             points: list[quorum.BlindedIdentifier], answered: dict[int, _Answer],
             skipped: dict[int, str]) -> Evaluation | None:
    """The outputs and checked shares, or None after naming (and dropping) the servers whose shares lied."""
    t = deployment.threshold
    x_bytes = next(iter(answered.values())).abscissa
    x = quorum.abscissa_from_bytes(x_bytes)
    used = sorted(answered)[:t]
    combined = threshold_oprf.combine_verified([answered[i].verified for i in used], t)
    outputs = [oprf.finalize(item, r, z) for item, r, z in zip(inputs, blinds, combined, strict=True)]
    shares = []
    try:
        for k, (point, y) in enumerate(zip(points, outputs, strict=True)):
            shares.append(quorum.combine(params, point, y, x, {i: answered[i].shares[k] for i in used}))
    except quorum.DishonestKeyServers as exc:
        for i, why in exc.dishonest.items():
            skipped[i] = _("gave quorum shares that do not check ({why})", why=why)
            log.warning("key server %d gave quorum shares that do not check: %s", i, why)
            answered.pop(i, None)
        return None
    for found in shares:
        for i, why in found.dishonest.items():
            skipped.setdefault(i, _("gave quorum shares that do not check ({why})", why=why))
    return Evaluation(outputs, shares, x_bytes, used, skipped)


def _refused(response: httpx.Response) -> str:
    """Why a key server's error answer skips it, in words."""
    status = response.status_code
    if status == 429:
        wait = response.headers.get("Retry-After")
        if wait:
            return _("is limiting requests for now (retry after {wait} s)", wait=wait)
        return _("is limiting requests for now")
    if status == 401:
        return _("did not accept the request ({detail})", detail=_detail(response))
    if status == 503:
        return _("is unavailable for the moment")
    return _("answered HTTP {status}: {detail}", status=status, detail=_detail(response))


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:200]
    except ValueError:
        return response.text[:200]
