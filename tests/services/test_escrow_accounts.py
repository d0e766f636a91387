"""Accounts only from the administrator, authentication, and the published deployment (PROTOCOL.md §4, §6, §9).

Written as the escrow host would attack it (property (b) of protocol v2): the host can write
anything into its own database, but without the administrator's signature it cannot make an
invite that registers, and a certificate registers once.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from consilience.crypto import signing
from consilience.protocol import accounts
from consilience.protocol import deployment as deployment_doc
from consilience.protocol.deployment import canonical_json
from consilience.protocol.encoding import b64u_decode
from consilience.services.escrow import create_app
from consilience.services.escrow.settings import ConfigurationError
from consilience.storage import repository
from consilience.storage.models import InviteRow

from .harness import API, Escrow, b64, build, make_deployment, newer, registration


def test_invite_registers_once_and_hands_back_the_certificate(escrow: Escrow) -> None:
    seed = escrow.invite()
    first = escrow.register(seed)
    assert first.status_code == 201, first.text
    body = first.json()
    assert len(b64u_decode(body["account_id"])) == 16 and len(b64u_decode(body["token"])) == 32
    cert = accounts.verify_certificate(signing.public_key(escrow.admin_private), escrow.deployment.deployment_id,
                                       b64u_decode(body["certificate"]))
    assert cert.account_key == accounts.account_key(seed)
    before = escrow.counts()
    second = escrow.register(seed)
    assert second.status_code == 403 and second.json()["error"] == "forbidden"
    assert escrow.counts() == before


@pytest.mark.parametrize("case", ["expired", "unknown"])
def test_refused_invites_change_nothing(escrow: Escrow, case: str) -> None:
    seed = escrow.invite(timedelta(microseconds=1)) if case == "expired" else os.urandom(32)
    before = escrow.counts()
    response = escrow.register(seed)
    assert response.status_code == 403 and "invite refused" in response.json()["detail"]
    assert escrow.counts() == before


def test_the_host_cannot_mint_an_account_without_the_administrator(escrow: Escrow) -> None:
    """The host writes invites straight into its database: self-signed, for another deployment, or a
    genuine certificate of someone else's account key. None registers."""
    host_key = signing.generate()
    seeds = [os.urandom(32) for _ in range(3)]
    forged = [
        accounts.issue_certificate(host_key, escrow.deployment.deployment_id, accounts.account_key(seeds[0])),
        accounts.issue_certificate(escrow.admin_private, os.urandom(16), accounts.account_key(seeds[1])),
    ]
    with escrow.db.write() as session:
        for cert in forged:
            repository.create_invite(session, cert)
        # a row for the host's own key that holds a genuine certificate of another account key
        genuine = escrow.certificate(os.urandom(32))
        session.add(InviteRow(account_key=accounts.account_key(seeds[2]), certificate=genuine,
                              created_at=repository.utcnow(), expires_at=repository.utcnow() + timedelta(days=1)))
    before = escrow.counts()
    for seed in seeds:
        response = escrow.register(seed)
        assert response.status_code == 403, response.text
        assert response.json()["detail"].startswith("invite refused")
    assert escrow.counts() == before


def test_registration_needs_the_invites_key(escrow: Escrow) -> None:
    """Knowing an account key (say from a copy of the database) is not enough: the proof is the seed's."""
    seed = escrow.invite()
    account_key = accounts.account_key(seed)
    thief = signing.generate()
    for proof in (os.urandom(64), signing.sign(thief, accounts.REGISTER_LABEL + escrow.deployment.deployment_id
                                               + account_key),
                  accounts.registration_proof(seed, os.urandom(16))):  # made for another deployment
        response = escrow.client.post(f"{API}/register", json={"account_key": b64(account_key), "proof": b64(proof)})
        assert response.status_code == 403, response.text
        assert "not signed by the invite's account key" in response.json()["detail"]
    assert escrow.counts()["accounts"] == 0
    assert escrow.register(seed).status_code == 201  # the invite was not used up by the attempts


def test_concurrent_registrations_with_one_invite_make_one_account(any_escrow: Escrow) -> None:
    from concurrent.futures import ThreadPoolExecutor

    escrow = any_escrow
    seed = escrow.invite()
    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(lambda _: escrow.register(seed).status_code, range(6)))
    assert codes == [201] + [403] * 5
    assert escrow.counts()["accounts"] == 1


def test_resetting_a_used_invite_yields_the_same_account_key(escrow: Escrow) -> None:
    """A host that clears ``used_at`` in its database gets a second escrow account, but for the same certified
    account key: key servers derive the abscissa from that key, so it is still one abscissa, one account."""
    reporter = escrow.reporter()
    key = accounts.account_key(reporter.seed)
    with escrow.db.write() as session:
        session.execute(update(InviteRow).where(InviteRow.account_key == key).values(used_at=None))
    again = escrow.register(reporter.seed)
    assert again.status_code == 201
    assert accounts.parse_certificate(b64u_decode(again.json()["certificate"])).account_key == key


def test_malformed_registrations_are_schema_errors(escrow: Escrow) -> None:
    good = registration(os.urandom(32), escrow.deployment.deployment_id)
    for body in ({"invite": b64(os.urandom(16))}, {**good, "account_key": "not base64!"},
                 {**good, "account_key": b64(os.urandom(31))}, {**good, "proof": b64(os.urandom(63))},
                 {**good, "extra": 1}, {"account_key": good["account_key"]}):
        response = escrow.client.post(f"{API}/register", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid"
    assert escrow.counts()["accounts"] == 0


def test_the_keyserver_token_endpoint_and_v1_paths_are_gone(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    assert escrow.client.post(f"{API}/keyserver-token", headers=reporter.headers).status_code in (404, 405)
    for method, path in (("POST", "/v1/keyserver-token"), ("POST", "/v1/accounts"), ("GET", "/v1/entries"),
                         ("GET", "/v1/matches")):
        response = escrow.client.request(method, path, headers=reporter.headers)
        assert response.status_code == 410, path
        assert response.json()["error"] == "protocol_v1" and "protocol v2" in response.json()["detail"]


def test_v1_paths_are_gone_by_name(escrow: Escrow) -> None:
    for method, path in (("GET", "/v1/deployment"), ("GET", "/v1/log/checkpoint"), ("POST", "/v1/log/cosignatures"),
                         ("POST", "/v1/entries"), ("POST", "/v1/accounts")):
        r = escrow.client.request(method, path)
        assert r.status_code == 410 and r.json()["error"] == "protocol_v1", path
        assert "protocol v2" in r.json()["detail"]
    paths = escrow.client.get(f"{API}/openapi.json").json()["paths"]
    assert not any(p.startswith("/v1/") for p in paths)


def test_missing_or_bad_tokens_are_401(escrow: Escrow) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer not-base64!"}, {"Authorization": f"Bearer {b64(os.urandom(31))}"},
                    {"Authorization": f"Bearer {b64(os.urandom(32))}"}):
        for method, path in (("GET", f"{API}/entries"), ("GET", f"{API}/matches")):
            response = escrow.client.request(method, path, headers=headers)
            assert response.status_code == 401, (headers, path)
            assert response.json()["error"] == "unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_roles_are_kept_apart(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    counselor = escrow.counselor_headers(escrow.counselors[0])
    assert escrow.client.get(f"{API}/entries", headers=reporter.headers).status_code == 200
    assert escrow.client.get(f"{API}/matches", headers=counselor).status_code == 200
    for path in (f"{API}/matches", f"{API}/matches/{b64(os.urandom(16))}"):
        response = escrow.client.get(path, headers=reporter.headers)
        assert response.status_code == 403 and response.json()["error"] == "forbidden"
    assert escrow.client.get(f"{API}/entries", headers=counselor).status_code == 403
    before = escrow.counts()
    assert escrow.submit_as(counselor, escrow.submission()).status_code == 403
    assert escrow.counts() == before


def test_deployment_is_served_byte_for_byte_and_verifies(escrow: Escrow) -> None:
    response = escrow.client.get(f"{API}/deployment")
    assert response.status_code == 200
    assert response.content == escrow.settings.deployment_path.read_bytes()
    published = response.json()
    fingerprint = deployment_doc.admin_fingerprint(signing.public_key(escrow.admin_private))
    assert deployment_doc.verify(published, fingerprint) == escrow.deployment


def _touch(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))


def test_a_new_deployment_file_is_picked_up_and_a_bad_one_ignored(escrow: Escrow) -> None:
    escrow.publish(newer(escrow.deployment))
    assert escrow.client.get("/healthz").json()["deployment_serial"] == 2
    good = escrow.settings.deployment_path.read_bytes()
    forged = json.loads(good)
    forged["signature"] = b64(os.urandom(64))
    escrow.settings.deployment_path.write_text(json.dumps(forged))
    _touch(escrow.settings.deployment_path)
    assert escrow.client.get(f"{API}/deployment").content == good  # the last good document stays in force
    # a newer document signed by another administrator is refused too: certificates are checked against the first
    from .harness import write_signed

    write_signed(escrow.settings.deployment_path, newer(escrow.deployment), signing.generate())
    assert escrow.client.get(f"{API}/deployment").content == good


def test_server_refuses_to_start_without_a_valid_setup(tmp_path: Path) -> None:
    escrow = build(tmp_path / "a")
    escrow.db.dispose()
    escrow.publish(make_deployment(escrow.counselors))  # names another log key
    with pytest.raises(ConfigurationError, match="different log key"):
        create_app(escrow.settings)
    escrow.settings.log_key_path.unlink()
    with pytest.raises(ConfigurationError, match="missing"):
        create_app(escrow.settings)


def test_a_v1_deployment_document_is_refused_by_name(tmp_path: Path) -> None:
    escrow = build(tmp_path / "a")
    escrow.db.dispose()
    doc = escrow.deployment.to_json()
    doc.update(format=deployment_doc.V1_FORMAT, token_issuer_key=b64(os.urandom(32)))
    document = canonical_json(doc)
    signature = signing.sign(escrow.admin_private, b"consilience-v1 deployment\n" + document)
    escrow.settings.deployment_path.write_text(json.dumps({
        "document": b64(document), "signature": b64(signature),
        "admin_key": b64(signing.public_key(escrow.admin_private))}))
    with pytest.raises(ConfigurationError, match="v1 deployment document; this software speaks protocol v2"):
        create_app(escrow.settings)


def test_healthz_and_database_outage(escrow: Escrow, tmp_path: Path) -> None:
    assert escrow.client.get("/healthz").json()["status"] == "ok"
    state = escrow.state
    reporter = escrow.reporter()
    healthy = state.db
    broken_dir = tmp_path / "not-a-database"
    broken_dir.mkdir()
    from consilience.storage.database import Database, sqlite_url

    state.db = Database(sqlite_url(broken_dir))
    try:
        for response in (escrow.client.get("/healthz"),
                         escrow.client.get(f"{API}/entries", headers=reporter.headers),
                         escrow.submit(reporter, escrow.submission())):
            assert response.status_code == 503, response.text
            assert response.json() == {"error": "unavailable", "detail": "database unavailable"}
    finally:
        state.db.dispose()
        state.db = healthy
    assert escrow.client.get("/healthz").status_code == 200


def test_admin_repository_api(escrow: Escrow) -> None:
    escrow.counselor_headers(escrow.counselors[0])
    seed = escrow.invite()
    with escrow.db.read() as session:
        counselors = repository.list_counselor_accounts(session)
        stats = repository.stats(session)
        stored = session.get(InviteRow, accounts.account_key(seed))
        assert stored is not None
        used_at, certificate = stored.used_at, stored.certificate
    assert [(c.name, c.key_id) for c in counselors] == [(escrow.counselors[0].name, escrow.counselors[0].key_id)]
    assert stats["open_invites"] == 1 and stats["counselor_accounts"] == 1 and stats["reporter_accounts"] == 0
    assert used_at is None and accounts.parse_certificate(certificate).account_key == accounts.account_key(seed)
    with escrow.db.write() as session, pytest.raises(repository.Conflict):
        repository.create_invite(session, certificate)  # one invite per account key
    with escrow.db.write() as session, pytest.raises(ValueError):
        repository.create_invite(session, os.urandom(119))

