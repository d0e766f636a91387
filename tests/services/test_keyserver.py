"""Key server v2 over HTTP (in-process ASGI): signed requests, proofs and quorum shares, budgets, bad input.

The deployment comes from ``admin init`` and the key servers' VOPRF key and quorum keys from the
real key generation run in process (tests/keyserver_world.py), published as ``admin publish-keys``
does, so each answer is checked against the public share and commitments clients use.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from consilience.clients.board import BoardClient
from consilience.crypto import oprf
from consilience.crypto.bls12381 import G1Point, Scalar
from consilience.datadir import DataDir, share_file
from consilience.datadir.share_file import Membership, read, write
from consilience.errors import InvalidInput
from consilience.operator.deployment import load_deployment
from consilience.operator.key_changes import refresh_keys
from consilience.protocol import accounts, quorum
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.services.keyserver import dkg_runner, quorum_store
from consilience.services.keyserver.app import create_app
from consilience.services.keyserver.limits import LimitSettings
from consilience.services.keyserver.settings import KeygenSettings, Settings
from keyserver_world import (
    PASSPHRASE,
    Folder,
    account,
    identifiers,
    keygen_and_publish,
    make_deployment,
    publish_result,
    request_body,
    run_keygen,
)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Folder, list[bytes]]:
    folder = make_deployment(tmp_path_factory.mktemp("ks") / "data")
    board, _ = keygen_and_publish(folder)
    return folder, board


@pytest.fixture()
def folder(deployed: tuple[Folder, list[bytes]]) -> Folder:
    return deployed[0]


def settings_for(folder: Folder, index: int = 2) -> Settings:
    return Settings(folder=folder.data.keyserver(index), index=index, run_keygen=False)


def client(folder: Folder, index: int = 2, limits: LimitSettings | None = None) -> TestClient:
    settings = settings_for(folder, index)
    return TestClient(create_app(replace(settings, limits=limits) if limits else settings))


def signing_public(folder: Folder) -> bytes:
    from consilience.crypto import signing

    return signing.public_key(folder.admin_private())


def audience(folder: Folder, index: int = 2) -> bytes:
    return folder.deployment.key_server(index).identity_key


def test_info_names_index_public_share_identity_and_keygen(folder: Folder) -> None:
    doc = client(folder).get("/v2/info").json()
    assert doc["index"] == 2
    assert b64u_decode(doc["public_share"]) == folder.deployment.key_server(2).public_share
    assert b64u_decode(doc["identity_key"]) == audience(folder)
    assert doc["keygen"] == {"done": True, "epoch": 1, "status": "done (epoch 1)"}


def test_evaluation_answers_the_voprf_with_proof_and_shares_that_check(deployed: tuple[Folder, list[bytes]]) -> None:
    folder, board = deployed
    who = account(folder)
    blinded, points = identifiers(2)
    answers = {}
    for index in (1, 2):
        body = request_body(folder, who, audience(folder, index), blinded=blinded, points=[p.blinded for p in points])
        r = client(folder, index).post("/v2/evaluate", json=body)
        assert r.status_code == 200, r.text
        answers[index] = r.json()
    held = quorum_store.read(folder.data.keyserver(2).quorum_keys)
    assert held is not None
    # its VOPRF share is the key generation's, and the published document lists its public share
    assert held.public_share == folder.deployment.key_server(2).public_share
    doc = answers[2]
    evaluated = [b64u_decode(z) for z in doc["evaluated"]]
    assert evaluated == [oprf.blind_evaluate(held.oprf_share, b) for b in blinded]
    oprf.verify_proof(oprf.GENERATOR, folder.deployment.key_server(2).public_share, blinded, evaluated,
                      b64u_decode(doc["proof"]), oprf.MODE_VOPRF)
    x = accounts.abscissa(held.abscissa_key, folder.deployment.deployment_id, who.key)
    assert doc["abscissa"] == answers[1]["abscissa"] == b64u_encode(x.to_bytes())
    assert len(doc["shares"]) == 2 and all(len(levels) == 2 for levels in doc["shares"])  # levels 2..3
    # the shares of t key servers combine into σ_q that pass the check against the published commitments
    assert folder.deployment == load_deployment(folder.root) and folder.deployment.quorum_keys is not None
    params = folder.deployment.quorum_parameters()
    for k, point in enumerate(points):
        got = {i: {q: b64u_decode(answers[i]["shares"][k][n]) for n, q in enumerate(range(2, 4))} for i in (1, 2)}
        shares = quorum.combine(params, point, os.urandom(64), Scalar.from_bytes(b64u_decode(doc["abscissa"])), got)
        assert not shares.dishonest and set(shares.shares) == {2, 3}


def test_a_second_account_gets_another_abscissa(folder: Folder) -> None:
    c = client(folder)
    first = c.post("/v2/evaluate", json=request_body(folder, account(folder), audience(folder))).json()
    second = c.post("/v2/evaluate", json=request_body(folder, account(folder), audience(folder))).json()
    assert first["abscissa"] != second["abscissa"]


@pytest.mark.parametrize("element", [bytes(32), b"\xff" * 32, b"\x01" + bytes(31)])
def test_invalid_ristretto_elements_are_refused(folder: Folder, element: bytes) -> None:
    _, points = identifiers(1)
    body = request_body(folder, account(folder), audience(folder), blinded=[element], points=[points[0].blinded])
    r = client(folder).post("/v2/evaluate", json=body)
    assert r.status_code == 400 and r.json()["error"] == "malformed"


def test_schema_bounds_and_body_limit(folder: Folder) -> None:
    c = client(folder)
    who = account(folder)
    good = request_body(folder, who, audience(folder))
    assert c.post("/v2/evaluate", json={**good, "blinded": []}).status_code == 422
    assert c.post("/v2/evaluate", json={**good, "points": [good["points"][0]] * 2}).status_code == 422  # type: ignore[index]
    assert c.post("/v2/evaluate", json={**good, "extra": 1}).status_code == 422
    many = request_body(folder, who, audience(folder), 8)
    assert c.post("/v2/evaluate", json={**many, "blinded": many["blinded"] * 2}).status_code == 422  # type: ignore[operator]
    huge = c.post("/v2/evaluate", content=b"{" + b" " * 20_000 + b"}")
    assert huge.status_code == 413


def test_rate_limit_per_account_answers_429_and_spares_others(folder: Folder) -> None:
    c = client(folder, limits=LimitSettings(evaluations_per_account=(1, 4)))
    who = account(folder)
    for _ in range(2):
        assert c.post("/v2/evaluate", json=request_body(folder, who, audience(folder), 2)).status_code == 200
    limited = c.post("/v2/evaluate", json=request_body(folder, who, audience(folder), 2))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert c.post("/v2/evaluate", json=request_body(folder, account(folder), audience(folder), 2)).status_code == 200


def test_the_global_budget_bounds_every_account_together_and_warns_at_80_percent(
        folder: Folder, caplog: pytest.LogCaptureFixture) -> None:
    c = client(folder, limits=LimitSettings(evaluations_total=(0.001, 10)))
    caplog.set_level(logging.WARNING, logger="consilience.services.keyserver.evaluate")
    for n in range(7):
        assert c.post("/v2/evaluate", json=request_body(folder, account(folder), audience(folder))).status_code == 200
        assert not [r for r in caplog.records if "global evaluation budget" in r.getMessage()], n
    assert c.post("/v2/evaluate", json=request_body(folder, account(folder), audience(folder))).status_code == 200
    warnings = [r for r in caplog.records if "global evaluation budget" in r.getMessage()]
    assert len(warnings) == 1 and "80 %" in warnings[0].getMessage()
    assert c.post("/v2/evaluate", json=request_body(folder, account(folder), audience(folder), 2)).status_code == 200
    refused = c.post("/v2/evaluate", json=request_body(folder, account(folder), audience(folder)))
    assert refused.status_code == 429 and "at this key server" in refused.json()["detail"]
    assert len([r for r in caplog.records if "global evaluation budget" in r.getMessage()]) == 1, "warned once"


def test_bad_input_does_not_use_up_the_budget(folder: Folder) -> None:
    c = client(folder, limits=LimitSettings(evaluations_per_account=(1, 1), evaluations_per_address=(1, 1),
                                            evaluations_total=(1, 1)))
    who = account(folder)
    _, points = identifiers(1)
    for _ in range(3):
        bad = request_body(folder, who, audience(folder), blinded=[bytes(32)], points=[points[0].blinded])
        assert c.post("/v2/evaluate", json=bad).status_code == 400
    assert c.post("/v2/evaluate", json=request_body(folder, who, audience(folder))).status_code == 200


def test_no_quorum_keys_yet_answers_503_with_retry_after(tmp_path: Path) -> None:
    fresh = make_deployment(tmp_path / "data")
    c = TestClient(create_app(settings_for(fresh)))
    r = c.post("/v2/evaluate", json=request_body(fresh, account(fresh), audience(fresh)))
    assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
    assert "has not finished generating the quorum keys" in r.json()["detail"]
    assert c.get("/v2/info").json()["keygen"]["done"] is False


def test_membership_file_round_trip_and_errors(tmp_path: Path, folder: Folder) -> None:
    member = read(folder.data.keyserver(1).membership)
    assert member == Membership(signing_public(folder), folder.deployment.deployment_id, folder.deployment.escrow_url)
    path = tmp_path / "ks" / "keyserver.json"
    path.parent.mkdir()
    write(path, member)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert read(path) == member
    # nothing in it is a share, or any secret
    assert set(json.loads(path.read_text())) == {"format", "admin_key", "deployment_id", "escrow_url"}
    for dealt in ("consilience-keyshare/v1", "consilience-keyshare/v2"):  # earlier versions' dealt shares
        path.write_text(json.dumps({"format": dealt, "index": 1, "share": "AAAA"}))
        with pytest.raises(InvalidInput, match="holds a share dealt by an administrator"):
            read(path)
    path.write_text('{"format": "something else"}')
    with pytest.raises(InvalidInput, match="not a"):
        read(path)
    path.write_text('{"format": "consilience-keyserver/v2", "admin_key": "AAAA"}')
    with pytest.raises(InvalidInput):
        read(path)
    with pytest.raises(InvalidInput, match="keyserver join"):
        read(tmp_path / "missing.json")


def test_enrollment_round_trip_and_a_damaged_copy_is_refused(tmp_path: Path, folder: Folder) -> None:
    ks = folder.data.keyserver(1)
    enrollment = share_file.read_enrollment(ks.enrollment)
    keys = folder.keys(1)
    assert (enrollment.url, enrollment.identity_key, enrollment.hpke_public_key) == (
        folder.deployment.key_server(1).url, keys.identity_key, keys.hpke_public_key)
    doc = json.loads(ks.enrollment.read_text())
    assert set(doc) == {"format", "url", "identity_key", "hpke_public_key", "signature"}  # public halves only
    path = tmp_path / "enrollment.json"
    path.write_text(json.dumps({**doc, "url": "https://keys.attacker.example"}))
    with pytest.raises(InvalidInput, match="signature does not verify"):
        share_file.read_enrollment(path)
    path.write_text(json.dumps({**doc, "format": "other"}))
    with pytest.raises(InvalidInput, match="not a key-server enrollment"):
        share_file.read_enrollment(path)
    with pytest.raises(InvalidInput, match="keyserver init"):
        share_file.read_enrollment(tmp_path / "missing.json")


def test_every_key_server_file_is_private_and_keys_are_never_overwritten(folder: Folder) -> None:
    ks = folder.data.keyserver(1)
    for path in (ks.membership, ks.identity_key, ks.hpke_key, ks.quorum_keys):
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    with pytest.raises(FileExistsError):
        share_file.generate_keys(ks.identity_key, ks.hpke_key)
    keys = folder.keys(1)
    assert keys.identity_key == folder.deployment.key_server(1).identity_key
    assert keys.hpke_public_key == folder.deployment.key_server(1).hpke_public_key
    assert "token_issuer" not in ks.membership.read_text()
    # no share anywhere but in the key generation's result
    assert not (ks.root / "share.json").exists()


def test_rate_limit_settings_are_operator_knobs() -> None:
    from consilience.services.keyserver.limits import limits_with

    assert limits_with() == LimitSettings()
    tuned = limits_with(per_account_per_hour=1e6, per_account_burst=None, per_address_burst=5000, total_burst=7)
    assert (tuned.evaluations_per_account.per_hour, tuned.evaluations_per_account.burst,
            tuned.evaluations_per_address.burst, tuned.evaluations_total.burst) == (1e6, 60.0, 5000, 7)
    assert tuned.as_args()[:2] == ["--rate-per-hour", "1000000.0"]
    assert tuned.as_args()[-4:] == ["--total-rate-per-hour", "20000.0", "--total-burst", "7.0"]
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(InvalidInput, match="positive"):
            limits_with(per_account_per_hour=bad)


def test_refreshed_shares_take_effect_once_published_and_the_old_ones_are_erased(tmp_path: Path) -> None:
    """A refresh's result waits in quorum-keys-next.json while the key server answers with the shares in
    force; the document that publishes it switches the key server over, and the old shares are gone."""
    fresh_folder = make_deployment(tmp_path / "data")
    keygen_and_publish(fresh_folder)
    settings = settings_for(fresh_folder)
    ks = settings.folder
    app = create_app(settings)
    c = TestClient(app)
    state = app.state.keyserver
    runner = dkg_runner.KeygenRunner(folder=ks, member=state.member, keys=state.keys, holder=state.quorum,
                                     client=BoardClient("http://127.0.0.1:9"), settings=KeygenSettings(),
                                     stop=threading.Event())
    before = quorum_store.read(ks.quorum_keys)
    assert before is not None
    old_public = fresh_folder.deployment.key_server(2).public_share
    assert b64u_decode(c.get("/v2/info").json()["public_share"]) == old_public
    refresh_keys(fresh_folder.root, PASSPHRASE)
    board, renewed = run_keygen(fresh_folder)
    assert quorum_store.read(ks.next_quorum_keys) == renewed[2] and renewed[2].epoch == 2
    assert renewed[2].oprf_share != before.oprf_share and renewed[2].public_share != old_public
    # asked for, not yet published: still the shares in force
    runner.follow(load_deployment(fresh_folder.root))
    assert b64u_decode(c.get("/v2/info").json()["public_share"]) == old_public
    assert c.get("/v2/info").json()["keygen"]["epoch"] == 1 and ks.next_quorum_keys.exists()
    published = publish_result(fresh_folder, board)
    assert published.key_server(2).public_share == renewed[2].public_share
    assert published.oprf_public_key == load_deployment(fresh_folder.root).oprf_public_key
    runner.follow(published)
    info = c.get("/v2/info").json()
    assert b64u_decode(info["public_share"]) == renewed[2].public_share and info["keygen"]["epoch"] == 2
    assert quorum_store.read(ks.quorum_keys) == renewed[2] and not ks.next_quorum_keys.exists()
    # the refresh keeps the abscissa key and answers verify against the newly published public share
    assert renewed[2].abscissa_key == before.abscissa_key
    who = account(fresh_folder)
    blinded, points = identifiers(1)
    body = request_body(fresh_folder, who, audience(fresh_folder), blinded=blinded, points=[points[0].blinded])
    doc = c.post("/v2/evaluate", json=body).json()
    oprf.verify_proof(oprf.GENERATOR, renewed[2].public_share, blinded, [b64u_decode(z) for z in doc["evaluated"]],
                      b64u_decode(doc["proof"]), oprf.MODE_VOPRF)
    # a stale renewal's result lying in the folder (an epoch the document never published) is erased, not served
    quorum_store.write(ks.next_quorum_keys, replace(renewed[2], epoch=1))
    runner.follow(published)
    assert not ks.next_quorum_keys.exists() and c.get("/v2/info").json()["keygen"]["epoch"] == 2


def test_another_key_servers_shares_copied_into_the_folder_are_not_served(tmp_path: Path) -> None:
    """Key server 1's quorum-keys.json copied into key server 2's folder (same deployment, same epoch): the
    key server answers nothing with it and says whose shares they are not, instead of serving proofs
    that every client would refuse."""
    fresh_folder = make_deployment(tmp_path / "data")
    keygen_and_publish(fresh_folder)
    data = DataDir(fresh_folder.root)
    data.keyserver(2).quorum_keys.write_bytes(data.keyserver(1).quorum_keys.read_bytes())
    settings = settings_for(fresh_folder)
    app = create_app(settings)
    state = app.state.keyserver
    runner = dkg_runner.KeygenRunner(folder=settings.folder, member=state.member, keys=state.keys,
                                     holder=state.quorum, client=BoardClient("http://127.0.0.1:9"),
                                     settings=KeygenSettings(), stop=threading.Event())
    runner.follow(load_deployment(fresh_folder.root))
    assert state.quorum.get() is None
    assert "does not list for this key server (key server 2)" in state.quorum.status
    r = TestClient(app).post("/v2/evaluate", json=request_body(fresh_folder, account(fresh_folder),
                                                                 audience(fresh_folder)))
    assert r.status_code == 503


def test_foreign_quorum_keys_or_missing_files_do_not_start(tmp_path: Path, folder: Folder) -> None:
    from consilience.services.config import ConfigurationError

    other = make_deployment(tmp_path / "other")
    ks = other.data.keyserver(2)
    ks.quorum_keys.write_bytes(folder.data.keyserver(2).quorum_keys.read_bytes())
    with pytest.raises(ConfigurationError, match="another deployment's quorum keys"):
        create_app(settings_for(other))
    ks.quorum_keys.unlink()
    create_app(settings_for(other))  # no shares yet: it starts, and answers 503 until it has some
    ks.membership.unlink()
    with pytest.raises(InvalidInput, match="has not joined a deployment"):
        create_app(settings_for(other))
    share_file.write(ks.membership, read(other.data.keyserver(1).membership))
    ks.identity_key.unlink()
    with pytest.raises(InvalidInput, match="no identity key"):
        create_app(settings_for(other))


def test_head_answers_like_get(folder: Folder) -> None:
    c = client(folder)
    for path in ("/healthz", "/v2/info"):
        got, head = c.get(path), c.head(path)
        assert head.status_code == got.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == got.headers["content-length"]
    assert c.head("/v2/evaluate").status_code == c.get("/v2/evaluate").status_code == 405
    assert c.post("/v1/evaluate", json={"blinded": []}).status_code == 404, "v1 evaluation is gone"


def test_answers_are_identical_for_the_same_account_and_point(folder: Folder) -> None:
    """The abscissa is the account's alone: two requests (two nonces) give the same shares on the same B."""
    c = client(folder)
    who = account(folder)
    blinded, points = identifiers(1)
    got = [c.post("/v2/evaluate", json=request_body(folder, who, audience(folder), blinded=blinded,
                                                    points=[points[0].blinded])).json() for _ in range(2)]
    assert got[0]["shares"] == got[1]["shares"] and got[0]["abscissa"] == got[1]["abscissa"]
    G1Point.from_bytes(b64u_decode(got[0]["shares"][0][0]))


def test_proxy_headers_are_believed_only_from_configured_proxies() -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise; our servers are told otherwise."""
    from consilience.services.serving import proxy_options

    assert proxy_options() == {"proxy_headers": False, "forwarded_allow_ips": ""}
    assert proxy_options([" ", ""]) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    assert proxy_options(["10.0.0.1", "::1"]) == {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.1", "::1"]}
    from consilience.datadir import KeyServerFolder

    assert Settings(folder=KeyServerFolder(Path("keyserver-1"), 1)).trusted_proxies == ()
