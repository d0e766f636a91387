"""Recovery on a new device, key-server side (PROTOCOL.md §14.1): one guess of a passphrase, counted.

POST /v2/recovery/evaluate answers a blinded Argon2id(passphrase) under this key server's share of one
backup's VOPRF key. The share travels in the request, HPKE-sealed to this key server for that handle
(the escrow server stores it inside the backup and cannot open it), so the key server keeps no
per-backup secret; it keeps only a count of tries per handle in ``recovery.sqlite3``. Checks run in
this order:

1. the body's shape and the handle (422);
2. recovery paused for this handle after the limit of tries (423 ``recovery_locked``);
3. the sealed share opens here for this handle and this key server's index (400);
4. share·G equals the public share the request names, against which the proof is made (400);
5. the blinded element decodes (400);
6. the per-address budget of evaluations (429);
7. the try is counted durably, *then* the evaluation and its proof are computed and sent.

A share another handle's backup holds does not open under this handle (the HPKE info binds it), so an
answer is always counted against the handle whose key it used.

POST /v2/recovery/reset sets the count of the signing account's handle to 0 after a recovery (a
request signed by the certified account key, addressed to this key server, fresh, used once).
POST /v2/recovery/unlock does the same for an administrator's unlock code (7 days, once).
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response

from consilience.crypto import oprf, ristretto
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _, _n
from consilience.protocol import accounts, recovery
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import B64Element, B64Id, Strict
from consilience.services.http_errors import Refusal, documented
from consilience.services.keyserver import revocations
from consilience.services.keyserver.recovery_store import RecoveryAttempts
from consilience.services.keyserver.state import KeyServerState, State
from consilience.services.limits import Charge, client_address

router = APIRouter()

#: the sealed share is an X-Wing HPKE ciphertext of a 32-byte scalar (about 1.2 KiB of b64u)
_SEALED_SHARE_CHARS = 2048


def locked_detail(limit: int) -> str:
    return _n("Recovery for this account is paused after {limit} try that did not end in a recovery, so that "
              "nobody can keep guessing the passphrase. Ask your deployment's administrator for an unlock code, "
              "then try again.",
              "Recovery for this account is paused after {limit} tries that did not end in a recovery, so that "
              "nobody can keep guessing the passphrase. Ask your deployment's administrator for an unlock code, "
              "then try again.", limit, limit=limit)


class RecoveryEvaluateRequest(Strict):
    handle: str
    sealed_share: str
    public_share: B64Element
    blinded: B64Element


class RecoveryEvaluateResponse(Strict):
    index: int
    evaluated: B64Element
    proof: str
    #: tries this key server still answers for this handle before recovery pauses
    attempts_left: int


class RecoveryResetRequest(Strict):
    certificate: str
    audience: B64Element
    issued_at: int
    nonce: B64Id
    signature: str


class RecoveryUnlockRequest(Strict):
    code: str


class RecoveryUnlockResponse(Strict):
    attempts_left: int


def attempts(request: Request) -> RecoveryAttempts:
    store: RecoveryAttempts = request.app.state.recovery_attempts
    return store


def _index(state: KeyServerState) -> int:
    held = state.quorum.get()
    if held is None or state.quorum.retiring:
        raise Refusal(503, _("this key server holds no shares in force now; ask the other key servers"))
    return held.index


@router.post("/v2/recovery/evaluate", response_model=RecoveryEvaluateResponse,
             responses=documented(400, 422, 423, 429, 503))
def evaluate(body: RecoveryEvaluateRequest, request: Request, state: State) -> RecoveryEvaluateResponse:
    try:
        handle = recovery.parse_handle(body.handle)
        if len(body.sealed_share) > _SEALED_SHARE_CHARS:
            raise InvalidInput(_("sealed_share is too long"))
        sealed = b64u_decode(body.sealed_share, field="sealed_share")
        public_share = b64u_decode(body.public_share, length=32, field="public_share")
        blinded = b64u_decode(body.blinded, length=32, field="blinded")
    except InvalidInput as exc:
        raise Refusal(422, str(exc)) from exc
    store, limit = attempts(request), state.settings.recovery_attempts
    if store.tries(handle) >= limit:
        raise Refusal(423, locked_detail(limit), error="recovery_locked")
    index = _index(state)
    try:
        public_share = ristretto.check_element(public_share)
        share = recovery.open_share(state.keys.hpke_private, state.deployment_id, handle, index, public_share,
                                    sealed)
    except (InvalidInput, VerificationError) as exc:
        raise Refusal(400, str(exc)) from exc
    try:
        blinded = oprf.check_element(blinded)
    except InvalidInput as exc:
        raise Refusal(400, _("the blinded element is not a valid group element: {exc}", exc=exc)) from exc
    state.limits.charge_all([Charge("evaluations_per_address", client_address(request),
                                    N_("evaluations for this address"), 1)])
    counted = store.count(handle, limit)  # durable before anything is computed from the share
    if counted is None:
        raise Refusal(423, locked_detail(limit), error="recovery_locked")
    evaluated, proof = oprf.voprf_blind_evaluate(share, public_share, [blinded])
    return RecoveryEvaluateResponse(index=index, evaluated=b64u_encode(evaluated[0]), proof=b64u_encode(proof),
                                    attempts_left=limit - counted)


@router.post("/v2/recovery/reset", status_code=204, response_class=Response, responses=documented(401, 422))
def reset(body: RecoveryResetRequest, request: Request, state: State) -> Response:
    try:
        req = recovery.ResetRequest(
            certificate=b64u_decode(body.certificate, length=accounts.CERTIFICATE_BYTES, field="certificate"),
            audience=b64u_decode(body.audience, length=32, field="audience"), issued_at=body.issued_at,
            nonce=b64u_decode(body.nonce, length=recovery.NONCE_BYTES, field="nonce"),
            signature=b64u_decode(body.signature, length=64, field="signature"))
    except InvalidInput as exc:
        raise Refusal(422, str(exc)) from exc
    try:
        cert = recovery.verify_reset(req, admin_public=state.admin_key, deployment_id=state.deployment_id,
                                     audience=state.keys.identity_key)
        # the evaluation requests' guard: a nonce once per account within the window (another label, so
        # an evaluation request's nonce and a reset's never collide in meaning, only in the set)
        state.replay.check(cert.account_key, b"reset" + req.nonce, req.issued_at)
    except VerificationError as exc:
        raise Refusal(401, str(exc)) from exc
    if revocations.holder(request.app.state, state.admin_key, state.deployment_id).revoked(cert.account_key):
        raise Refusal(401, _(revocations.REVOKED))
    attempts(request).reset(recovery.handle_bytes(state.deployment_id, cert.account_key))
    return Response(status_code=204)


@router.post("/v2/recovery/unlock", response_model=RecoveryUnlockResponse, responses=documented(400, 422))
def unlock(body: RecoveryUnlockRequest, request: Request, state: State) -> RecoveryUnlockResponse:
    try:
        code = recovery.parse_unlock_code(body.code)
    except InvalidInput as exc:
        raise Refusal(422, str(exc)) from exc
    now = int(time.time())
    try:
        recovery.verify_unlock_code(code, admin_public=state.admin_key, deployment_id=state.deployment_id, now=now)
    except VerificationError as exc:
        raise Refusal(400, str(exc)) from exc
    store = attempts(request)
    if not store.use_unlock_code(code.nonce, now):
        raise Refusal(400, _("this unlock code was already used; each code works once. Ask the administrator for a "
                             "new one if recovery is paused again"))
    store.reset(code.handle)
    return RecoveryUnlockResponse(attempts_left=state.settings.recovery_attempts)
