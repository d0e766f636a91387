"""Key server over HTTP (in-process ASGI): tokens, proofs, limits, bad input."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from consilience.crypto import oprf, ristretto, signing, threshold_oprf
from consilience.datadir.share_file import KeyShare, read, write
from consilience.protocol import tokens
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.services.keyserver.app import create_app
from consilience.services.keyserver.limits import LimitSettings
from consilience.services.keyserver.settings import Settings

ISSUER = signing.generate()


@pytest.fixture()
def share() -> KeyShare:
    _, shares = threshold_oprf.deal_key(2, 3)
    return KeyShare(2, shares[2], signing.public_key(ISSUER))


@pytest.fixture()
def settings(share: KeyShare, tmp_path: Path) -> Settings:
    """A key server serving ``share`` from its file, as ``consilience keyserver`` does."""
    write(tmp_path / "keyserver-2" / "share.json", share)
    return Settings(tmp_path / "keyserver-2" / "share.json", index=2)


def client(settings: Settings, limits: LimitSettings | None = None) -> TestClient:
    return TestClient(create_app(replace(settings, limits=limits) if limits else settings))


def auth(account: bytes | None = None, *, issuer: bytes = ISSUER, now: float | None = None) -> dict[str, str]:
    token = tokens.issue(issuer, account or os.urandom(16), now=now)
    return {"Authorization": f"Bearer {b64u_encode(token)}"}


def blinded_elements(n: int) -> list[bytes]:
    return [oprf.blind(f"email:person{i}@example.com".encode(), oprf.MODE_VOPRF)[1] for i in range(n)]


def test_info_names_index_and_public_share(share: KeyShare, settings: Settings) -> None:
    doc = client(settings).get("/v1/info").json()
    assert doc["index"] == 2
    assert b64u_decode(doc["public_share"]) == threshold_oprf.public_share(share.share)


def test_evaluation_carries_a_proof_against_the_public_share(share: KeyShare, settings: Settings) -> None:
    blinded = blinded_elements(3)
    r = client(settings).post("/v1/evaluate", json={"blinded": [b64u_encode(b) for b in blinded]}, headers=auth())
    assert r.status_code == 200, r.text
    doc = r.json()
    evaluated = [b64u_decode(z) for z in doc["evaluated"]]
    assert evaluated == [oprf.blind_evaluate(share.share, b) for b in blinded]
    oprf.verify_proof(oprf.GENERATOR, share.public_share, blinded, evaluated, b64u_decode(doc["proof"]),
                      oprf.MODE_VOPRF)


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer ", "Bearer !!!", "Bearer " + "A" * 118])
def test_missing_or_malformed_token_is_401(settings: Settings, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    r = client(settings).post("/v1/evaluate", json={"blinded": [b64u_encode(blinded_elements(1)[0])]},
                           headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"


def test_expired_or_foreign_tokens_are_401(settings: Settings) -> None:
    body = {"blinded": [b64u_encode(blinded_elements(1)[0])]}
    expired = client(settings).post("/v1/evaluate", json=body, headers=auth(now=time.time() - 3600))
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    foreign = client(settings).post("/v1/evaluate", json=body, headers=auth(issuer=signing.generate()))
    assert foreign.status_code == 401


@pytest.mark.parametrize("element", [bytes(32), b"\xff" * 32, b"\x01" + bytes(31)])
def test_invalid_elements_are_refused(settings: Settings, element: bytes) -> None:
    r = client(settings).post("/v1/evaluate", json={"blinded": [b64u_encode(element)]}, headers=auth())
    assert r.status_code == 400
    assert r.json()["error"] == "malformed"


def test_batch_bounds_and_body_limit(settings: Settings) -> None:
    c = client(settings)
    assert c.post("/v1/evaluate", json={"blinded": []}, headers=auth()).status_code == 422
    many = [b64u_encode(b) for b in blinded_elements(17)]
    assert c.post("/v1/evaluate", json={"blinded": many}, headers=auth()).status_code == 422
    huge = c.post("/v1/evaluate", content=b"{" + b" " * 20_000 + b"}", headers=auth())
    assert huge.status_code == 413


def test_rate_limit_per_account_answers_429_and_spares_others(settings: Settings) -> None:
    c = client(settings, LimitSettings(evaluations_per_account=(1, 4)))
    account = os.urandom(16)
    body = {"blinded": [b64u_encode(b) for b in blinded_elements(2)]}
    assert c.post("/v1/evaluate", json=body, headers=auth(account)).status_code == 200
    assert c.post("/v1/evaluate", json=body, headers=auth(account)).status_code == 200
    limited = c.post("/v1/evaluate", json=body, headers=auth(account))
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert c.post("/v1/evaluate", json=body, headers=auth()).status_code == 200


def test_bad_input_does_not_use_up_the_budget(settings: Settings) -> None:
    c = client(settings, LimitSettings(evaluations_per_account=(1, 1)))
    account = os.urandom(16)
    bad = {"blinded": [b64u_encode(bytes(32))]}
    for _ in range(3):
        assert c.post("/v1/evaluate", json=bad, headers=auth(account)).status_code == 400
    good = {"blinded": [b64u_encode(blinded_elements(1)[0])]}
    assert c.post("/v1/evaluate", json=good, headers=auth(account)).status_code == 200


def test_share_file_round_trip_and_errors(tmp_path, share: KeyShare) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ks" / "share.json"
    write(path, share)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert read(path) == share
    path.write_text('{"format": "something else"}')
    with pytest.raises(Exception, match="not a"):
        read(path)
    with pytest.raises(Exception, match="admin init"):
        read(tmp_path / "missing.json")
    assert ristretto.scalar_mult_base(share.share) == share.public_share


def test_rate_limit_settings_are_operator_knobs() -> None:
    from consilience.errors import InvalidInput
    from consilience.services.keyserver.limits import limits_with

    assert limits_with() == LimitSettings()
    tuned = limits_with(per_account_per_hour=1e6, per_account_burst=None, per_address_burst=5000)
    assert (tuned.evaluations_per_account.per_hour, tuned.evaluations_per_account.burst,
            tuned.evaluations_per_address.burst) == (1e6, 60.0, 5000)
    assert tuned.as_args()[:2] == ["--rate-per-hour", "1000000.0"]
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(InvalidInput, match="positive"):
            limits_with(per_account_per_hour=bad)


def test_the_bearer_scheme_is_case_insensitive(settings: Settings) -> None:
    """RFC 7235 §2.1, and what the escrow server accepts: ``bearer`` is the same scheme as ``Bearer``."""
    token = auth()["Authorization"].removeprefix("Bearer ")
    body = {"blinded": [b64u_encode(blinded_elements(1)[0])]}
    for header in (f"bearer {token}", f"BEARER {token}", f"Bearer  {token} "):
        assert client(settings).post("/v1/evaluate", json=body, headers={"Authorization": header}).status_code == 200


def _touch_later(path: Path) -> None:
    """Make a rewrite visible even within one mtime tick."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_a_refreshed_share_file_takes_effect_and_a_bad_one_is_ignored(share: KeyShare, settings: Settings) -> None:
    c = client(settings)
    fresh = replace(share, share=threshold_oprf.apply_delta(share.share, ristretto.scalar_random()))
    write(settings.share_path, fresh)
    _touch_later(settings.share_path)
    assert b64u_decode(c.get("/v1/info").json()["public_share"]) == fresh.public_share
    for bad in ('{"format": "something else"}', "{not json", ""):
        settings.share_path.write_text(bad)
        _touch_later(settings.share_path)
        assert b64u_decode(c.get("/v1/info").json()["public_share"]) == fresh.public_share
    write(settings.share_path, replace(share, index=3))  # another key server's share: not this one's to serve
    _touch_later(settings.share_path)
    assert c.get("/v1/info").json()["index"] == 2
    assert b64u_decode(c.get("/v1/info").json()["public_share"]) == fresh.public_share


def test_a_share_of_another_index_does_not_start(settings: Settings) -> None:
    from consilience.services.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="keyserver-2 is for index 2"):
        create_app(replace(settings, index=1))


def test_head_answers_like_get(settings: Settings) -> None:
    c = client(settings)
    for path in ("/healthz", "/v1/info"):
        got, head = c.get(path), c.head(path)
        assert head.status_code == got.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == got.headers["content-length"]
    assert c.head("/v1/evaluate").status_code == c.get("/v1/evaluate").status_code == 405
