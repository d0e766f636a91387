"""Accounts, authentication, key-server tokens and the published deployment (PROTOCOL.md §4–§6, §9)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from consilience.crypto import signing
from consilience.protocol import deployment as deployment_doc
from consilience.protocol import tokens
from consilience.protocol.encoding import b64u_decode
from consilience.services.escrow import create_app
from consilience.services.escrow.settings import ConfigurationError, load_private_key
from consilience.storage import repository

from .harness import Escrow, b64, build, make_deployment


def test_invite_registers_once(escrow: Escrow) -> None:
    code = escrow.invite()
    first = escrow.client.post("/v1/accounts", json={"invite": b64(code)})
    assert first.status_code == 201
    body = first.json()
    assert len(b64u_decode(body["account_id"])) == 16 and len(b64u_decode(body["token"])) == 32
    before = escrow.counts()
    second = escrow.client.post("/v1/accounts", json={"invite": b64(code)})
    assert second.status_code == 403
    assert second.json()["error"] == "forbidden"
    assert escrow.counts() == before


@pytest.mark.parametrize("make_code", ["expired", "unknown"])
def test_refused_invites_change_nothing(escrow: Escrow, make_code: str) -> None:
    code = escrow.invite(timedelta(microseconds=1)) if make_code == "expired" else os.urandom(16)
    before = escrow.counts()
    response = escrow.client.post("/v1/accounts", json={"invite": b64(code)})
    assert response.status_code == 403
    assert escrow.counts() == before


def test_malformed_invite_is_a_schema_error(escrow: Escrow) -> None:
    for invite in ("not base64!", b64(os.urandom(15)), ""):
        response = escrow.client.post("/v1/accounts", json={"invite": invite})
        assert response.status_code == 422, invite
        assert response.json()["error"] == "invalid"
    assert escrow.counts()["accounts"] == 0


def test_missing_or_bad_tokens_are_401(escrow: Escrow) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer not-base64!"}, {"Authorization": f"Bearer {b64(os.urandom(31))}"},
                    {"Authorization": f"Bearer {b64(os.urandom(32))}"}):
        for method, path in (("GET", "/v1/entries"), ("GET", "/v1/matches"), ("POST", "/v1/keyserver-token")):
            response = escrow.client.request(method, path, headers=headers)
            assert response.status_code == 401, (headers, path)
            assert response.json()["error"] == "unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_roles_are_kept_apart(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    counselor = escrow.counselor_headers(escrow.counselors[0])
    assert escrow.client.get("/v1/entries", headers=reporter.headers).status_code == 200
    assert escrow.client.get("/v1/matches", headers=counselor).status_code == 200
    for path in ("/v1/matches", f"/v1/matches/{b64(os.urandom(16))}"):
        response = escrow.client.get(path, headers=reporter.headers)
        assert response.status_code == 403 and response.json()["error"] == "forbidden"
    assert escrow.client.get("/v1/entries", headers=counselor).status_code == 403
    assert escrow.client.post("/v1/keyserver-token", headers=counselor).status_code == 403
    before = escrow.counts()
    assert escrow.submit_as(counselor, escrow.submission()).status_code == 403
    assert escrow.counts() == before


def test_keyserver_token_names_the_account_and_verifies(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    response = escrow.client.post("/v1/keyserver-token", headers=reporter.headers)
    assert response.status_code == 200
    body = response.json()
    token = b64u_decode(body["token"])
    issuer_public = signing.public_key(load_private_key(escrow.settings.issuer_key_path, "token issuer"))
    assert issuer_public == escrow.deployment.token_issuer_key
    checked = tokens.verify(issuer_public, token)
    assert checked.account_id == reporter.account_id
    assert datetime.fromisoformat(body["expires_at"]).timestamp() == checked.expires_at


def test_deployment_is_served_byte_for_byte_and_verifies(escrow: Escrow) -> None:
    response = escrow.client.get("/v1/deployment")
    assert response.status_code == 200
    assert response.content == escrow.settings.deployment_path.read_bytes()
    published = response.json()
    fingerprint = deployment_doc.admin_fingerprint(signing.public_key(escrow.admin_private))
    assert deployment_doc.verify(published, fingerprint) == escrow.deployment


def test_a_new_deployment_file_is_picked_up_and_a_bad_one_ignored(escrow: Escrow) -> None:
    newer = make_deployment(escrow.deployment.token_issuer_key, escrow.counselors, serial=2,
                            log_public=escrow.deployment.log_public_key)
    newer = deployment_doc.Deployment(**{**newer.__dict__, "deployment_id": escrow.deployment.deployment_id,
                                         "log_origin": escrow.deployment.log_origin})
    escrow.publish(newer)
    assert escrow.client.get("/healthz").json()["deployment_serial"] == 2
    good = escrow.settings.deployment_path.read_bytes()
    forged = json.loads(good)
    forged["signature"] = b64(os.urandom(64))
    escrow.settings.deployment_path.write_text(json.dumps(forged))
    stat = escrow.settings.deployment_path.stat()
    os.utime(escrow.settings.deployment_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    response = escrow.client.get("/v1/deployment")
    assert response.content == good  # the last good document stays in force


def test_server_refuses_to_start_without_a_valid_setup(tmp_path: Path) -> None:
    escrow = build(tmp_path / "a")
    escrow.db.dispose()
    other_issuer = signing.public_key(signing.generate())
    escrow.publish(make_deployment(other_issuer, escrow.counselors))
    with pytest.raises(ConfigurationError, match="token issuer"):
        create_app(escrow.settings)
    escrow.settings.issuer_key_path.unlink()
    with pytest.raises(ConfigurationError, match="missing"):
        create_app(escrow.settings)


def test_healthz_and_database_outage(escrow: Escrow, tmp_path: Path) -> None:
    assert escrow.client.get("/healthz").json()["status"] == "ok"
    state = escrow.client.app.state.escrow  # type: ignore[attr-defined]
    reporter = escrow.reporter()
    healthy = state.db
    broken_dir = tmp_path / "not-a-database"
    broken_dir.mkdir()
    from consilience.storage.database import Database, sqlite_url

    state.db = Database(sqlite_url(broken_dir))
    try:
        for response in (escrow.client.get("/healthz"),
                         escrow.client.get("/v1/entries", headers=reporter.headers),
                         escrow.submit(reporter, escrow.submission())):
            assert response.status_code == 503, response.text
            assert response.json() == {"error": "unavailable", "detail": "database unavailable"}
    finally:
        state.db.dispose()
        state.db = healthy
    assert escrow.client.get("/healthz").status_code == 200


def test_admin_repository_api(escrow: Escrow) -> None:
    escrow.counselor_headers(escrow.counselors[0])
    escrow.invite()
    with escrow.db.read() as session:
        counselors = repository.list_counselor_accounts(session)
        stats = repository.stats(session)
    assert [(c.name, c.key_id) for c in counselors] == [(escrow.counselors[0].name, escrow.counselors[0].key_id)]
    assert stats["open_invites"] == 1 and stats["counselor_accounts"] == 1 and stats["reporter_accounts"] == 0
