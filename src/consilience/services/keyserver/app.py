"""HTTP front of a key server (PROTOCOL.md §5).

It answers blinded evaluations with a DLEQ proof against its public share,
after checking an access token signed by the escrow server and charging the
account's rate budget. It has no database and never sees an unblinded input.

The web app's pages (served by the escrow server, another origin) call
/v1/evaluate from the browser: CORS allows exactly the configured web origins,
only for what that call needs (POST with Authorization and Content-Type).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from fastapi import FastAPI, Header, Request
from starlette.middleware.cors import CORSMiddleware

from consilience.crypto import oprf, ristretto
from consilience.errors import InvalidInput, VerificationError
from consilience.protocol import tokens
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import EvaluateRequest, EvaluateResponse, KeyServerInfo
from consilience.services import http_errors
from consilience.services.http_errors import BodyLimitMiddleware, Refusal
from consilience.services.keyserver.share_file import KeyShare, ShareStore
from consilience.services.limits import TokenBucket
from consilience.web import parse_origin

#: A full batch of 16 base64url elements is under 1 KiB; anything far larger is not a request.
MAX_REQUEST_BYTES = 16 * 1024


@dataclass(frozen=True)
class KeyServerSettings:
    #: evaluations (blinded elements) an account may ask for per hour, and burst
    per_account_per_hour: float = 120.0
    per_account_burst: float = 60.0
    #: the same for a client address, which bounds token-minting abuse too
    per_address_per_hour: float = 2_000.0
    per_address_burst: float = 500.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InvalidInput(f"{f.name.replace('_', ' ')} must be a positive number, not {value!r}")

    def as_args(self) -> list[str]:
        """The ``consilience keyserver`` options that reproduce these settings."""
        return ["--rate-per-hour", repr(self.per_account_per_hour), "--burst", repr(self.per_account_burst),
                "--address-rate-per-hour", repr(self.per_address_per_hour),
                "--address-burst", repr(self.per_address_burst)]


def settings_with(**overrides: float | None) -> KeyServerSettings:
    """The default settings with every override that is not None applied (an operator's knobs)."""
    return replace(KeyServerSettings(), **{k: v for k, v in overrides.items() if v is not None})


def create_app(share: KeyShare | ShareStore, settings: KeyServerSettings | None = None,
               web_origins: Sequence[str] = ()) -> FastAPI:
    """``share`` may be a ShareStore, so a refreshed share file takes effect without a restart.

    ``web_origins``: origins of web apps allowed to call /v1/evaluate from a browser
    (scheme://host[:port], e.g. the escrow server's); none means no cross-origin access.
    """
    settings = settings or KeyServerSettings()
    origins = list(dict.fromkeys(parse_origin(o) for o in web_origins))
    store = share if isinstance(share, ShareStore) else None
    fixed = share if isinstance(share, KeyShare) else share.current()
    cache: dict[bytes, bytes] = {}

    def current() -> tuple[KeyShare, bytes]:
        key = store.current() if store is not None else fixed
        if key.share not in cache:  # k_i*G once per share, not per request
            cache.clear()
            cache[key.share] = key.public_share
        return key, cache[key.share]

    by_account = TokenBucket(settings.per_account_burst, settings.per_account_per_hour / 3600)
    by_address = TokenBucket(settings.per_address_burst, settings.per_address_per_hour / 3600)
    app = FastAPI(title=f"Consilience key server {fixed.index}", version="1",
                  docs_url=None, redoc_url=None, openapi_url="/v1/openapi.json",
                  responses=http_errors.documented(400, 413))  # BodyLimitMiddleware, on any route
    http_errors.install(app)
    app.add_middleware(BodyLimitMiddleware, limit=MAX_REQUEST_BYTES)
    if origins:  # outermost, so refusals (401, 413, 429) reach the page readable too
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["POST"],
                           allow_headers=["Authorization", "Content-Type"], expose_headers=["Retry-After"],
                           allow_credentials=False, max_age=600)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/info", response_model=KeyServerInfo)
    def info() -> KeyServerInfo:
        key, public_share = current()
        return KeyServerInfo(index=key.index, public_share=b64u_encode(public_share))

    @app.post("/v1/evaluate", response_model=EvaluateResponse,
              responses=http_errors.documented(401, 422, 429))
    def evaluate(body: EvaluateRequest, request: Request,
                 authorization: str | None = Header(default=None)) -> EvaluateResponse:
        if not authorization or not authorization.startswith("Bearer "):
            raise Refusal(401, "an access token from the escrow server is required")
        try:
            token = tokens.verify(fixed.token_issuer_key, b64u_decode(authorization[7:], field="token"))
        except (VerificationError, InvalidInput) as exc:
            raise Refusal(401, str(exc)) from exc
        blinded = [ristretto.check_element(b64u_decode(b, length=32, field="blinded")) for b in body.blinded]
        cost = len(blinded)
        address = request.client.host if request.client else "unknown"
        for bucket, key, who in ((by_address, address, "address"), (by_account, token.account_id, "account")):
            wait = bucket.take(key, cost)
            if wait:
                raise Refusal(429, f"too many evaluations for this {who}; retry later",
                               headers={"Retry-After": str(math.ceil(wait))})
        key, public_share = current()
        evaluated, proof = oprf.voprf_blind_evaluate(key.share, public_share, blinded)
        return EvaluateResponse(index=key.index, evaluated=[b64u_encode(z) for z in evaluated],
                                proof=b64u_encode(proof))

    return app
