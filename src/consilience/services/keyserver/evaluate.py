"""Blinded evaluations and the public share they are proved against (PROTOCOL.md §5).

A key server answers blinded evaluations with a DLEQ proof against its public share, after
checking an access token signed by the escrow server and charging the caller's budgets. It
never sees an unblinded input. Checks run cheapest and least revealing first: the token, then
every element (a bad one costs no budget), then the address's budget and the account's.
"""

from __future__ import annotations

from fastapi import APIRouter, Header, Request

from consilience.crypto import oprf, ristretto
from consilience.errors import InvalidInput, VerificationError
from consilience.protocol import tokens
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import EvaluateRequest, EvaluateResponse, KeyServerInfo
from consilience.services.http_auth import Bearer
from consilience.services.http_errors import documented
from consilience.services.keyserver.state import State
from consilience.services.limits import client_address

_REQUIRED = "an access token from the escrow server is required"
BEARER = Bearer(missing=_REQUIRED, malformed=_REQUIRED)

router = APIRouter()


@router.get("/v1/info", response_model=KeyServerInfo)
def info(state: State) -> KeyServerInfo:
    served = state.shares.current()
    return KeyServerInfo(index=served.key.index, public_share=b64u_encode(served.public_share))


@router.post("/v1/evaluate", response_model=EvaluateResponse, responses=documented(401, 422, 429))
def evaluate(body: EvaluateRequest, request: Request, state: State,
             authorization: str | None = Header(default=None)) -> EvaluateResponse:
    credentials = BEARER.credentials(authorization)
    try:
        token = tokens.verify(state.token_issuer_key, b64u_decode(credentials, field="token"))
    except (VerificationError, InvalidInput) as exc:
        raise BEARER.refusal(str(exc)) from exc
    blinded = [ristretto.check_element(b64u_decode(b, length=32, field="blinded")) for b in body.blinded]
    cost = len(blinded)
    state.limits.charge("evaluations_per_address", client_address(request), "evaluations for this address", cost)
    state.limits.charge("evaluations_per_account", token.account_id, "evaluations for this account", cost)
    served = state.shares.current()
    evaluated, proof = oprf.voprf_blind_evaluate(served.key.share, served.public_share, blinded)
    return EvaluateResponse(index=served.key.index, evaluated=[b64u_encode(z) for z in evaluated],
                            proof=b64u_encode(proof))
