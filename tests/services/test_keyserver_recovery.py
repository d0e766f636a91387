"""Key-server recovery endpoints (PROTOCOL.md §14.1), in process: counted tries, the 423 pause, reset, unlock.

Run as the parties would: a reporter's device deals a backup to the three key servers of a real
``admin init`` deployment (their HPKE keys from their folders), then asks for evaluations; an attacker
replays another handle's share, reuses an unlock code, or sends one that expired.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from consilience.crypto import oprf, signing, threshold_oprf
from consilience.protocol import recovery
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.services.keyserver.app import create_app
from consilience.services.keyserver.settings import Settings
from keyserver_world import Folder, account, make_deployment, run_keygen
from v2_world import Account

KDF = recovery.KdfParams(memory_kib=1024, iterations=1, lanes=1)
LIMIT = 3


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    f = make_deployment(tmp_path_factory.mktemp("recovery") / "data")
    run_keygen(f)
    return f


def key_server(folder: Folder, index: int = 1) -> TestClient:
    return TestClient(create_app(Settings(folder=folder.data.keyserver(index), index=index, run_keygen=False,
                                          recovery_attempts=LIMIT)))


def backup_for(folder: Folder, who: Account, secret: str = "right passphrase") -> recovery.Dealt:
    d = folder.deployment
    handle = recovery.handle_bytes(d.deployment_id, who.key)
    recipients = [recovery.Recipient(s.index, folder.keys(s.index).identity_key, folder.keys(s.index).hpke_public_key)
                  for s in d.key_servers]
    return recovery.deal(secret, d.deployment_id, handle, d.threshold, recipients, KDF)


def ask(c: TestClient, keys: recovery.BackupKeys, index: int, secret: str,
        handle: bytes | None = None) -> tuple[int, dict[str, object], bytes, bytes, bytes]:
    hardened = recovery.harden(secret, keys.deployment_id, keys.handle, keys.kdf)
    blind, blinded = oprf.blind(hardened, oprf.MODE_VOPRF)
    s = keys.server(index)
    r = c.post("/v2/recovery/evaluate", json={
        "handle": recovery.format_handle(handle or keys.handle), "sealed_share": b64u_encode(s.sealed_share),
        "public_share": b64u_encode(s.public_share), "blinded": b64u_encode(blinded)})
    return r.status_code, r.json(), hardened, blind, blinded


def test_t_answers_give_the_backup_key_and_each_is_counted(folder: Folder) -> None:
    who = account(folder)
    dealt = backup_for(folder, who)
    status, doc, *_ = ask(key_server(folder, 2), dealt.keys, 2, "right passphrase")
    assert status == 200, doc
    assert doc["index"] == 2 and doc["attempts_left"] == LIMIT - 1
    # one blinded element for all, as a device sends it
    hardened = recovery.harden("right passphrase", dealt.keys.deployment_id, dealt.keys.handle, KDF)
    blind, blinded = oprf.blind(hardened, oprf.MODE_VOPRF)
    answers = []
    for index in (1, 3):
        c = key_server(folder, index)
        s = dealt.keys.server(index)
        r = c.post("/v2/recovery/evaluate", json={
            "handle": recovery.format_handle(dealt.keys.handle), "sealed_share": b64u_encode(s.sealed_share),
            "public_share": b64u_encode(s.public_share), "blinded": b64u_encode(blinded)})
        assert r.status_code == 200, r.text
        answers.append(threshold_oprf.PartialEvaluation(index, [b64u_decode(r.json()["evaluated"])],
                                                        b64u_decode(r.json()["proof"])))
    rwd = recovery.rwd_from_partials(hardened, blind, blinded, answers, dealt.keys)
    assert recovery.backup_key(rwd, dealt.keys.deployment_id, dealt.keys.handle) == dealt.backup_key


def test_after_the_limit_recovery_pauses_with_the_reason_until_a_reset(folder: Folder) -> None:
    who = account(folder)
    dealt = backup_for(folder, who)
    c = key_server(folder, 1)
    lefts = [ask(c, dealt.keys, 1, f"guess {i}")[1]["attempts_left"] for i in range(LIMIT)]
    assert lefts == [2, 1, 0]
    status, doc, *_ = ask(c, dealt.keys, 1, "right passphrase")
    assert status == 423 and doc["error"] == "recovery_locked"
    assert "paused after 3 tries" in str(doc["detail"]) and "unlock code" in str(doc["detail"])
    # the count survives a restart: a new app on the same folder still refuses
    assert ask(key_server(folder, 1), dealt.keys, 1, "right passphrase")[0] == 423
    # the account's own signed reset (after a recovery elsewhere) opens it again
    audience = folder.keys(1).identity_key
    req = recovery.make_reset(who.seed, who.certificate, folder.deployment.deployment_id, audience)
    body = {"certificate": b64u_encode(req.certificate), "audience": b64u_encode(req.audience),
            "issued_at": req.issued_at, "nonce": b64u_encode(req.nonce), "signature": b64u_encode(req.signature)}
    assert c.post("/v2/recovery/reset", json=body).status_code == 204
    assert c.post("/v2/recovery/reset", json=body).status_code == 401  # used once
    status, doc, *_ = ask(c, dealt.keys, 1, "right passphrase")
    assert status == 200 and doc["attempts_left"] == LIMIT - 1


def test_a_reset_by_another_account_or_for_another_key_server_changes_nothing(folder: Folder) -> None:
    who, other = account(folder), account(folder)
    dealt = backup_for(folder, who)
    c = key_server(folder, 2)
    for i in range(LIMIT):
        ask(c, dealt.keys, 2, f"guess {i}")
    d = folder.deployment
    for signer, audience in ((other, folder.keys(2).identity_key), (who, folder.keys(1).identity_key)):
        req = recovery.make_reset(signer.seed, signer.certificate, d.deployment_id, audience)
        r = c.post("/v2/recovery/reset", json={
            "certificate": b64u_encode(req.certificate), "audience": b64u_encode(req.audience),
            "issued_at": req.issued_at, "nonce": b64u_encode(req.nonce), "signature": b64u_encode(req.signature)})
        assert r.status_code in (204, 401)
    assert ask(c, dealt.keys, 2, "right passphrase")[0] == 423  # other's reset reset only other's handle


def test_an_unlock_code_works_once_and_not_after_7_days(folder: Folder) -> None:
    who = account(folder)
    dealt = backup_for(folder, who)
    c = key_server(folder, 3)
    for i in range(LIMIT):
        ask(c, dealt.keys, 3, f"guess {i}")
    assert ask(c, dealt.keys, 3, "right passphrase")[0] == 423
    admin, d = folder.admin_private(), folder.deployment
    old = recovery.make_unlock_code(admin, d.deployment_id, dealt.keys.handle,
                                    now=time.time() - recovery.UNLOCK_VALID_SECONDS - 60)
    r = c.post("/v2/recovery/unlock", json={"code": old})
    assert r.status_code == 400 and "7 days" in r.json()["detail"]
    forged = recovery.make_unlock_code(signing.generate(), d.deployment_id, dealt.keys.handle)
    assert c.post("/v2/recovery/unlock", json={"code": forged}).status_code == 400
    assert c.post("/v2/recovery/unlock", json={"code": "not a code"}).status_code == 422
    code = recovery.make_unlock_code(admin, d.deployment_id, dealt.keys.handle)
    r = c.post("/v2/recovery/unlock", json={"code": code})
    assert r.status_code == 200 and r.json() == {"attempts_left": LIMIT}
    assert ask(c, dealt.keys, 3, "right passphrase")[0] == 200
    for i in range(LIMIT):
        ask(c, dealt.keys, 3, f"guess {i}")
    r = c.post("/v2/recovery/unlock", json={"code": code})
    assert r.status_code == 400 and "already used" in r.json()["detail"]
    assert ask(c, dealt.keys, 3, "right passphrase")[0] == 423


def test_a_share_sealed_for_another_handle_is_refused_and_not_counted(folder: Folder) -> None:
    victim, attacker = account(folder), account(folder)
    dealt = backup_for(folder, victim)
    c = key_server(folder, 1)
    other = recovery.handle_bytes(folder.deployment.deployment_id, attacker.key)
    status, doc, *_ = ask(c, dealt.keys, 1, "guess", handle=other)
    assert status == 400 and "does not open here" in str(doc["detail"])
    # another key server's share does not open here either
    s2 = dealt.keys.server(2)
    r = c.post("/v2/recovery/evaluate", json={
        "handle": recovery.format_handle(dealt.keys.handle), "sealed_share": b64u_encode(s2.sealed_share),
        "public_share": b64u_encode(s2.public_share), "blinded": b64u_encode(oprf.GENERATOR)})
    assert r.status_code == 400
    # a wrong public share beside the right sealed share
    s1 = dealt.keys.server(1)
    r = c.post("/v2/recovery/evaluate", json={
        "handle": recovery.format_handle(dealt.keys.handle), "sealed_share": b64u_encode(s1.sealed_share),
        "public_share": b64u_encode(s2.public_share), "blinded": b64u_encode(oprf.GENERATOR)})
    assert r.status_code == 400
    status, doc, *_ = ask(c, dealt.keys, 1, "right passphrase")
    assert status == 200 and doc["attempts_left"] == LIMIT - 1  # none of the refused ones counted


@pytest.mark.parametrize("field,value", [("handle", "7KQ2-M9XD"), ("blinded", "AAAA"), ("sealed_share", "x" * 3000)])
def test_a_malformed_request_is_refused_before_anything_is_counted(folder: Folder, field: str, value: str) -> None:
    who = account(folder)
    dealt = backup_for(folder, who)
    s = dealt.keys.server(1)
    body = {"handle": recovery.format_handle(dealt.keys.handle), "sealed_share": b64u_encode(s.sealed_share),
            "public_share": b64u_encode(s.public_share), "blinded": b64u_encode(oprf.GENERATOR), field: value}
    c = key_server(folder, 1)
    assert c.post("/v2/recovery/evaluate", json=body).status_code == 422
    assert ask(c, dealt.keys, 1, "x")[1]["attempts_left"] == LIMIT - 1
