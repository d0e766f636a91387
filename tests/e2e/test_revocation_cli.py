"""Revocation over real processes, as the operator runs it and as the attacker notices it (issue 12, item 4 B).

A deployment from ``admin init``, its key generation run in process (tests/keyserver_world.py), the
escrow server and a key server as real processes, the key server polling the escrow server's
revocation list every second (``CONSILIENCE_REVOCATION_POLL_SECONDS=1``; the default is 5). A
reporter registers and evaluates; the operator runs ``consilience admin revoke account`` with the
admin passphrase; the stolen session is refused by the very next request, and the account's signed
evaluation request is refused by the running key server within the documented delay (one poll,
plus the fetch), which the test measures. Bad input to the command changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from consilience.local import launcher
from consilience.operator.invites import issue_invites
from consilience.protocol import invites
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.services.keyserver.limits import LimitSettings
from keyserver_world import PASSPHRASE, Folder, make_deployment, request_body, run_keygen
from v2_world import Account

pytestmark = pytest.mark.e2e

POLL = 1.0
LIMITS = LimitSettings(evaluations_per_account=(1000, 1000), evaluations_per_address=(1000, 1000),
                       evaluations_total=(100_000, 100_000))


@dataclass
class Running:
    folder: Folder
    escrow: launcher.Service
    keyserver: launcher.Service


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    escrow_port, *ports = launcher.free_ports(4)
    folder = make_deployment(tmp_path_factory.mktemp("revoke") / "data", escrow_port=escrow_port,
                             keyserver_ports=ports)
    run_keygen(folder)
    escrow = launcher.escrow_service(folder.root, escrow_port)
    keyserver = launcher.keyserver_service(folder.root, 1, ports[0], rate_limits=LIMITS)
    try:
        escrow.start()
        keyserver.start(env={"CONSILIENCE_REVOCATION_POLL_SECONDS": str(POLL)})
        yield Running(folder, escrow, keyserver)
    finally:
        keyserver.stop()
        escrow.stop()


def admin(running: Running, *args: str, passphrase: str = PASSPHRASE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONSILIENCE_PASSPHRASE": passphrase}
    return subprocess.run([sys.executable, "-m", "consilience", "admin", *args, "--data-dir", str(running.folder.root)],
                          capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)


def reporter(running: Running) -> tuple[Account, dict[str, str]]:
    from consilience.protocol import accounts

    seed = invites.parse(issue_invites(running.folder.root, PASSPHRASE, 1)[0]).seed
    d = running.folder.deployment
    answer = httpx.post(f"{running.escrow.url}/v2/register", timeout=10, json={
        "account_key": b64u_encode(accounts.account_key(seed)),
        "proof": b64u_encode(accounts.registration_proof(seed, d.deployment_id))})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return Account(seed, b64u_decode(body["certificate"])), {"Authorization": f"Bearer {body['token']}"}


def evaluate(running: Running, who: Account) -> httpx.Response:
    audience = running.folder.deployment.key_server(1).identity_key
    return httpx.post(f"{running.keyserver.url}/v2/evaluate", json=request_body(running.folder, who, audience),
                      timeout=10)


def test_a_revoked_reporter_is_refused_by_the_escrow_at_once_and_by_a_running_key_server_within_the_poll(
        running: Running) -> None:
    thief, headers = reporter(running)
    assert httpx.get(f"{running.escrow.url}/v2/entries", headers=headers, timeout=10).status_code == 200
    assert evaluate(running, thief).status_code == 200

    done = admin(running, "revoke", "account", b64u_encode(thief.key), "--json")
    revoked_at = time.monotonic()
    assert done.returncode == 0, done.stdout + done.stderr
    # the escrow server: the next request with the stolen session
    assert httpx.get(f"{running.escrow.url}/v2/entries", headers=headers, timeout=10).status_code == 401
    # the key server: keeps answering until its next poll, then refuses; measured
    while True:
        answer = evaluate(running, thief)
        if answer.status_code == 401:
            break
        assert answer.status_code == 200, answer.text
        assert time.monotonic() - revoked_at < POLL + 3, "the key server did not refuse within one poll"
        time.sleep(0.05)
    delay = time.monotonic() - revoked_at
    print(f"key server refused the revoked account {delay:.2f} s after the command returned (poll {POLL} s)")
    assert "revoked" in answer.json()["detail"]
    assert delay < POLL + 3


def test_bad_input_to_revoke_commands_changes_nothing(running: Running) -> None:
    who, headers = reporter(running)
    before = httpx.get(f"{running.escrow.url}/v2/revocations", timeout=10)
    for args in (["revoke", "account", "not-a-key"], ["revoke", "account", b64u_encode(b"\x00" * 32)],
                 ["revoke", "counselor", "nobody at all"], ["revoke", "witness", "not a vkey"]):
        refused = admin(running, *args)
        assert refused.returncode != 0, args
        assert "Traceback" not in refused.stderr and "nothing" in (refused.stdout + refused.stderr).lower(), args
    wrong = admin(running, "revoke", "account", b64u_encode(who.key), passphrase="not the passphrase")
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    after = httpx.get(f"{running.escrow.url}/v2/revocations", timeout=10)
    assert (after.status_code, after.text) == (before.status_code, before.text)
    assert httpx.get(f"{running.escrow.url}/v2/entries", headers=headers, timeout=10).status_code == 200
    assert evaluate(running, who).status_code == 200


def test_revoking_an_invite_says_what_it_did_in_plain_words(running: Running) -> None:
    invite = issue_invites(running.folder.root, PASSPHRASE, 1)[0]
    done = admin(running, "revoke", "account", invite)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "revoked (revocation list" in done.stdout and "Traceback" not in done.stderr
    again = admin(running, "revoke", "account", invite)
    assert again.returncode == 1 and "already revoked" in again.stderr
