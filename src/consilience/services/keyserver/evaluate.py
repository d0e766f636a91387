"""Evaluations, protocol v2 (PROTOCOL.md §5): the VOPRF tag and the quorum shares, for one certified account.

POST /v2/evaluate answers a request signed by an account key the administrator certified, addressed
to this key server (its identity key), fresh, and never answered before. Checks run in this order,
cheapest and least revealing first, and nothing is charged to any budget before the last of them:

1. the body's shape (pydantic, 422);
2. 503 with Retry-After while this key server's key generation has not finished;
3. certificate (administrator, this deployment), audience, freshness, signature (401);
4. replay: a request is answered once (401);
5. every ristretto255 element and every G1 point decodes, points in the prime-order subgroup and
   not the identity (400): a bad one costs no budget;
6. budgets: per client address (the socket's peer unless a proxy is configured trusted), per
   certified account key, and the key server's global budget (a warning is logged at 80 %) (429),
   charged all three or none (``Budgets.charge_all``), so a refusal by one spends nothing of the others;
7. evaluate: the VOPRF evaluation with its DLEQ proof, the account's abscissa
   x = accounts.abscissa(abscissa key, deployment id, account key), which only key servers can
   compute, and quorum.answer(shares_q, x, B) for every point and every level low..high.

GET /v2/info says which key server this is, its public share and identity key, and whether its key
generation is done (``KeyServerInfoV2``, defined here: the wire module is the lead's).
"""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, Request, Response

from consilience.crypto import oprf, ristretto
from consilience.crypto.bls12381 import G1Point
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _
from consilience.protocol import accounts, evaluation, quorum
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import B64Element, EvaluateRequestV2, EvaluateResponseV2, Strict
from consilience.services.http_errors import Refusal, documented
from consilience.services.http_language import language_headers
from consilience.services.keyserver import revocations
from consilience.services.keyserver.limits import GLOBAL_WARNING_AT
from consilience.services.keyserver.settings import RETRY_AFTER_SECONDS
from consilience.services.keyserver.state import KeyServerState, State
from consilience.services.limits import Charge, client_address

log = logging.getLogger(__name__)

router = APIRouter()


class KeygenInfo(Strict):
    """Whether the key server's key generation is done, and for which epoch."""

    done: bool
    epoch: int | None
    status: str


class KeyServerInfoV2(Strict):
    #: its index in the set in force; 0 (and no public share) while it holds no shares
    index: int
    suite: Literal["ristretto255-SHA512"] = "ristretto255-SHA512"
    mode: Literal[1] = 1
    public_share: B64Element | None
    #: its Ed25519 identity key: the audience of requests addressed to it
    identity_key: B64Element
    keygen: KeygenInfo


@router.get("/v2/info", response_model=KeyServerInfoV2)
def info(state: State, response: Response) -> KeyServerInfoV2:
    response.headers.update(language_headers())  # the key generation's status is in the asker's language
    held = state.quorum.get()
    return KeyServerInfoV2(index=held.index if held else 0,
                           public_share=b64u_encode(held.public_share) if held else None,
                           identity_key=b64u_encode(state.keys.identity_key),
                           keygen=KeygenInfo(done=held is not None, epoch=held.epoch if held else None,
                                             status=state.quorum.status))


def _request(body: EvaluateRequestV2) -> evaluation.EvaluationRequest:
    if len(body.blinded) != len(body.points):
        raise Refusal(422, _("a request carries one blinded element and one point per identifier"))
    return evaluation.EvaluationRequest(
        certificate=b64u_decode(body.certificate, length=accounts.CERTIFICATE_BYTES, field="certificate"),
        audience=b64u_decode(body.audience, length=32, field="audience"),
        issued_at=body.issued_at, nonce=b64u_decode(body.nonce, length=evaluation.NONCE_BYTES, field="nonce"),
        blinded=tuple(b64u_decode(b, length=32, field="blinded") for b in body.blinded),
        points=tuple(b64u_decode(p, length=48, field="points") for p in body.points),
        signature=b64u_decode(body.signature, length=64, field="signature"))


@router.post("/v2/evaluate", response_model=EvaluateResponseV2, responses=documented(400, 401, 422, 429, 503))
def evaluate(body: EvaluateRequestV2, request: Request, state: State) -> EvaluateResponseV2:
    held = state.quorum.get()
    if state.quorum.retiring:
        raise Refusal(503, _("this key server is being removed from the deployment; ask the other key servers (the "
                             "deployment document lists who serves now)"))
    if held is None:
        raise Refusal(503, _("this key server has not finished generating the quorum keys with the other key "
                             "servers yet ({status}); try again in a little while",
                             status=state.quorum.status),
                      headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    req = _request(body)
    try:
        cert = evaluation.verify_request(req, admin_public=state.admin_key, deployment_id=state.deployment_id,
                                         audience=state.keys.identity_key)
        state.replay.check(cert.account_key, req.nonce, req.issued_at)
    except VerificationError as exc:
        raise Refusal(401, str(exc)) from exc
    if revocations.holder(request.app.state, state.admin_key, state.deployment_id).revoked(cert.account_key):
        # the administrator's signed list (PROTOCOL.md §6.2); nothing charged
        raise Refusal(401, _(revocations.REVOKED))
    try:
        blinded = [ristretto.check_element(b) for b in req.blinded]
        # the subgroup check; the identity and non-canonical encodings refused
        points = [G1Point.from_bytes(point) for point in req.points]
    except InvalidInput as exc:
        raise Refusal(400, _("a blinded element or point is not a valid group element: {exc}", exc=exc)) from exc
    cost = len(blinded)
    # all three or none: an account refused its own budget spends nothing of its address's or the global one
    state.limits.charge_all([
        Charge("evaluations_per_address", client_address(request), N_("evaluations for this address"), cost),
        Charge("evaluations_per_account", cert.account_key, N_("evaluations for this account"), cost),
        Charge("evaluations_total", "all", N_("evaluations at this key server"), cost)])
    _watch_global_budget(state)
    evaluated, proof = oprf.voprf_blind_evaluate(held.oprf_share, held.public_share, blinded)
    x = accounts.abscissa(held.abscissa_key, state.deployment_id, cert.account_key)
    shares = []
    for point in points:
        answered = quorum.answer(held.shares, x, point)
        shares.append([b64u_encode(answered[q]) for q in held.levels])
    return EvaluateResponseV2(index=held.index, evaluated=[b64u_encode(z) for z in evaluated],
                              proof=b64u_encode(proof), abscissa=b64u_encode(x.to_bytes()), shares=shares)


def _watch_global_budget(state: KeyServerState) -> None:
    """Log once when 80 % of the global budget is spent, and once more when it has recovered."""
    used = round(state.limits.used("evaluations_total", "all"), 6)  # refill between requests is not use
    with state.lock:
        if used >= GLOBAL_WARNING_AT and not state.global_warned:
            state.global_warned = True
            log.warning("key server %d has used %d %% of its global evaluation budget; at 100 %% it refuses every "
                        "evaluation until the budget refills (raise it with --total-rate-per-hour/--total-burst if "
                        "this is ordinary use, or look for someone testing guesses)", state.index, round(used * 100))
        elif used < GLOBAL_WARNING_AT / 2 and state.global_warned:
            state.global_warned = False
            log.info("key server %d: its global evaluation budget has recovered (%d %% used)", state.index,
                     round(used * 100))
