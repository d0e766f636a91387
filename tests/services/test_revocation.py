"""Sessions that expire and revocation that takes effect at once (issue 12, item 4 B), as an attacker runs it.

Before: a reporter's or counselor's bearer token was good forever, and nothing could be revoked. A
reporter whose seed was stolen (or a counselor who left) kept their access at the escrow server, and
the reporter's certificate kept evaluating at every key server, which check certificates
themselves. Now bearer tokens are sessions that expire (clients sign in again without the person
noticing); the administrator revokes a reporter account, a counselor or a witness with
``consilience admin revoke``; the escrow server refuses the revoked account's next request, key
servers refuse its evaluation requests once they fetched the administrator's signed list, and each
revocation is a leaf of the log.

These run in process (the key server's poll is called by the test); the same attack against real
processes, with the poller's delay measured, is tests/e2e/test_revocation_cli.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from consilience.clients import receipts
from consilience.clients.escrow_client import ApiError, EscrowClient, counselor_login, reporter_login
from consilience.errors import ConsilienceError, InvalidInput
from consilience.operator import revocations as operator_revocations
from consilience.operator.counselors import add_counselor
from consilience.operator.deployment import load_deployment
from consilience.operator.invites import issue_invites
from consilience.protocol import accounts, events, invites
from consilience.protocol import revocations as rl
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.services.escrow import create_app as create_escrow
from consilience.services.escrow import releases, transparency
from consilience.services.escrow.settings import Settings as EscrowSettings
from consilience.services.keyserver import revocations as ks_revocations
from consilience.services.keyserver.app import create_app as create_keyserver
from consilience.services.keyserver.limits import LimitSettings
from consilience.services.keyserver.settings import Settings as KeyServerSettings
from consilience.storage import log, repository
from consilience.storage.models import AccountSession, LogLeaf
from consilience.tlog import notes
from keyserver_world import PASSPHRASE, Folder, account, make_deployment, request_body, run_keygen
from v2_world import Account, make_counselor

from .harness import API, build, registration

ROOMY = LimitSettings(evaluations_per_account=(1000, 1000), evaluations_per_address=(1000, 1000),
                      evaluations_total=(100_000, 100_000))


@dataclass
class World:
    folder: Folder
    escrow: TestClient
    keyserver: TestClient

    @property
    def root(self) -> Path:
        return self.folder.root

    @property
    def deployment_id(self) -> bytes:
        return self.folder.deployment.deployment_id

    def reporter(self) -> tuple[Account, str, dict[str, str]]:
        """A reporter from a real invite: (its account, the invite, its session's headers)."""
        invite = issue_invites(self.root, PASSPHRASE, 1)[0]
        seed = invites.parse(invite).seed
        answer = self.escrow.post(f"{API}/register", json=registration(seed, self.deployment_id))
        assert answer.status_code == 201, answer.text
        body = answer.json()
        return (Account(seed, b64u_decode(body["certificate"])), invite,
                {"Authorization": f"Bearer {body['token']}"})

    def evaluate(self, who: Account) -> int:
        audience = self.folder.deployment.key_server(1).identity_key
        return int(self.keyserver.post("/v2/evaluate", json=request_body(self.folder, who, audience)).status_code)

    def poll(self) -> bool:
        """What the key server's poller does every few seconds, once."""
        state = self.keyserver.app.state  # type: ignore[attr-defined]
        held = ks_revocations.holder(state, state.keyserver.admin_key, state.keyserver.deployment_id)
        return ks_revocations.poll_once(held, self.escrow)

    def counts(self) -> dict[str, int]:
        with self.escrow.app.state.escrow.db.read() as session:  # type: ignore[attr-defined]
            return repository.row_counts(session)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    folder = make_deployment(tmp_path / "data")
    run_keygen(folder)
    escrow = TestClient(create_escrow(EscrowSettings.for_data_dir(folder.data.escrow.root), release_pass=False))
    keyserver = TestClient(create_keyserver(KeyServerSettings(folder=folder.data.keyserver(1), index=1,
                                                              run_keygen=False, limits=ROOMY)))
    with escrow, keyserver:
        yield World(folder, escrow, keyserver)


# -- revoking a reporter account ---------------------------------------------------------------------------------


def test_a_revoked_reporters_session_dies_at_once_and_the_key_server_refuses_it_after_its_poll(world: World) -> None:
    thief, invite, headers = world.reporter()  # someone stole this account's seed and session
    other, _, other_headers = world.reporter()
    assert world.escrow.get(f"{API}/entries", headers=headers).status_code == 200
    assert world.evaluate(thief) == 200
    assert world.poll() is False  # nothing revoked yet: the escrow server has no list (404)

    done = operator_revocations.revoke_account(world.root, b64u_encode(thief.key), PASSPHRASE)
    assert (done.serial, done.accounts_revoked, done.sessions_ended) == (1, 1, 1)

    # the escrow server: the very next request with the valid session is refused, and signing in again too
    refused = world.escrow.get(f"{API}/entries", headers=headers)
    assert refused.status_code == 401, refused.text  # its sessions are gone
    with EscrowClient("http://testserver", transport=world.escrow._transport,  # type: ignore[attr-defined]
                      sign_in=reporter_login(thief.seed, world.deployment_id)) as client:
        with pytest.raises(ApiError) as info:
            client.entries()
    assert info.value.status == 401 and info.value.code == "account_revoked"
    assert str(info.value).startswith("The administrator of this deployment revoked this account")
    assert "revoked by the deployment's administrator" in info.value.detail

    # the key server: it still answers until it has fetched the list, then refuses the certificate
    assert world.poll() is True
    state = world.keyserver.app.state  # type: ignore[attr-defined]
    assert state.revocations.serial == 1
    assert world.evaluate(thief) == 401
    answer = world.keyserver.post("/v2/evaluate", json=request_body(
        world.folder, thief, world.folder.deployment.key_server(1).identity_key))
    assert "revoked" in answer.json()["detail"]
    # everyone else goes on as before
    assert world.escrow.get(f"{API}/entries", headers=other_headers).status_code == 200
    assert world.evaluate(other) == 200
    # the same list again, or an older one, changes nothing
    assert world.poll() is False


def test_the_key_server_keeps_the_newest_list_and_refuses_forged_or_older_ones(world: World) -> None:
    first, _, _ = world.reporter()
    second, _, _ = world.reporter()
    operator_revocations.revoke_account(world.root, b64u_encode(first.key), PASSPHRASE)
    older = world.escrow.get(f"{API}/revocations").json()
    operator_revocations.revoke_account(world.root, b64u_encode(second.key), PASSPHRASE)
    assert world.poll() is True
    state = world.keyserver.app.state  # type: ignore[attr-defined]
    held = state.revocations
    assert held.serial == 2 and held.revoked(first.key) and held.revoked(second.key)
    assert held.offer(older) is False and held.serial == 2  # a replayed older list does not un-revoke anyone
    # the escrow host cannot forge a list: only the administrator's key signs one
    forged = rl.sign(rl.RevocationList(world.deployment_id, 99, "2026-12-01T00:00:00Z"), b"\x02" * 32)
    with pytest.raises(ConsilienceError, match="not signed by this deployment's administrator"):
        held.offer(forged)
    assert held.serial == 2


def test_an_unused_invite_can_be_revoked_before_anyone_registers_with_it(world: World) -> None:
    invite = issue_invites(world.root, PASSPHRASE, 1)[0]
    seed = invites.parse(invite).seed
    operator_revocations.revoke_account(world.root, invite, PASSPHRASE)
    answer = world.escrow.post(f"{API}/register", json=registration(seed, world.deployment_id))
    assert answer.status_code == 403
    world.poll()
    certificate = accounts.issue_certificate(world.folder.admin_private(), world.deployment_id,
                                             accounts.account_key(seed))
    assert world.evaluate(Account(seed, certificate)) == 401


def test_bad_input_to_revoke_changes_nothing(world: World) -> None:
    who, _, headers = world.reporter()
    before = world.counts()
    for bad in ("", "not base64!", b64u_encode(b"short"), "cnsl2.garbage.x"):
        with pytest.raises(InvalidInput):
            operator_revocations.revoke_account(world.root, bad, PASSPHRASE)
    with pytest.raises(InvalidInput, match="no account and no unused invite"):
        operator_revocations.revoke_account(world.root, b64u_encode(account(world.folder).key), PASSPHRASE)
    with pytest.raises(ConsilienceError):
        operator_revocations.revoke_account(world.root, b64u_encode(who.key), "wrong passphrase")
    with pytest.raises(InvalidInput, match="no counselor"):
        operator_revocations.revoke_counselor(world.root, "nobody", PASSPHRASE)
    with pytest.raises(InvalidInput):
        operator_revocations.revoke_witness(world.root, "not a vkey", PASSPHRASE)
    assert world.counts() == before
    assert world.escrow.get(f"{API}/revocations").status_code == 404
    assert world.escrow.get(f"{API}/entries", headers=headers).status_code == 200
    # revoking twice: the second time says so and changes nothing
    operator_revocations.revoke_account(world.root, b64u_encode(who.key), PASSPHRASE)
    after_first = world.counts()
    with pytest.raises(InvalidInput, match="already revoked"):
        operator_revocations.revoke_account(world.root, b64u_encode(who.key), PASSPHRASE)
    assert world.counts() == after_first


# -- revoking a counselor --------------------------------------------------------------------------------------


def test_a_revoked_counselor_cannot_list_or_open_matches_and_leaves_the_deployment(world: World) -> None:
    keys = make_counselor("Cy Counselor")
    public = {"name": keys.name, "public_key": b64u_encode(keys.public_key)}
    _, credential = add_counselor(world.root, public, PASSPHRASE)
    session = world.escrow.post(f"{API}/login/counselor",
                                headers={"Authorization": f"Bearer {b64u_encode(credential)}"})
    assert session.status_code == 200, session.text
    headers = {"Authorization": f"Bearer {session.json()['token']}"}
    assert keys.key_id in {c.key_id for c in load_deployment(world.root).counselors}
    # two reporters name the same person: after the release pass the counselor has a match to open
    tag, serial = os.urandom(32), load_deployment(world.root).serial
    for _ in range(2):
        _, _, reporter_headers = world.reporter()
        sent = world.escrow.post(f"{API}/entries", headers=reporter_headers, json={
            "entry_id": b64u_encode(os.urandom(16)), "quorum": 2, "tags": [b64u_encode(tag)],
            "body": b64u_encode(os.urandom(300)), "deployment_serial": serial,
            "envelopes": [{"key_id": b64u_encode(keys.key_id), "ciphertext": b64u_encode(os.urandom(200))}]})
        assert sent.status_code == 201, sent.text
    releases.run_pass(world.escrow.app.state.escrow)  # type: ignore[attr-defined]
    [match] = world.escrow.get(f"{API}/matches", headers=headers).json()
    assert world.escrow.get(f"{API}/matches/{match['match_id']}", headers=headers).status_code == 200

    done = operator_revocations.revoke_counselor(world.root, keys.name, PASSPHRASE)
    assert done.sessions_ended == 1

    listed = world.escrow.get(f"{API}/matches", headers=headers)
    opened = world.escrow.get(f"{API}/matches/{match['match_id']}", headers=headers)
    assert listed.status_code == opened.status_code == 401  # every session of theirs ended, at once
    again = world.escrow.post(f"{API}/login/counselor",
                              headers={"Authorization": f"Bearer {b64u_encode(credential)}"})
    assert again.status_code == 401 and again.json()["error"] == "account_revoked"
    assert keys.key_id not in {c.key_id for c in load_deployment(world.root).counselors}
    served = world.escrow.get(f"{API}/deployment").json()
    assert keys.key_id not in {c.key_id for c in _published_counselors(served)}


def _published_counselors(published: dict[str, str]) -> list[object]:
    from consilience.protocol import deployment as dep

    return list(dep.parse(json.loads(b64u_decode(published["document"]))).counselors)


# -- the log --------------------------------------------------------------------------------------------------


def test_every_revocation_is_a_leaf_of_the_log_that_verifies(world: World) -> None:
    who, _, _ = world.reporter()
    keys = make_counselor("Di Counselor")
    add_counselor(world.root, {"name": keys.name, "public_key": b64u_encode(keys.public_key)}, PASSPHRASE)
    operator_revocations.revoke_account(world.root, b64u_encode(who.key), PASSPHRASE)
    operator_revocations.revoke_counselor(world.root, keys.name, PASSPHRASE)
    state = world.escrow.app.state.escrow  # type: ignore[attr-defined]
    releases.run_pass(state)  # the next release pass appends them in its padded batch
    deployment = state.deployments.current().deployment
    vkey = notes.ed25519_vkey(deployment.log_origin, deployment.log_public_key)
    found = {}
    with state.db.read() as session:
        head = log.latest_checkpoint(session)
        assert head is not None
        for leaf in session.query(LogLeaf).order_by(LogLeaf.idx):
            opening = events.parse_opening(leaf.opening)
            if opening.event[0] != events.REVOCATION:
                continue
            assert len(leaf.data) == 32  # a commitment like every other leaf: its kind does not show
            text = transparency.opened_receipt(session, leaf.idx, leaf.data, leaf.opening, head[1])
            opened = receipts.open_receipt(text, vkey)
            found[opened.event.revoked] = opened.event
    assert set(found) == {"account", "counselor"}
    assert found["account"].subject == events.revoked_subject(events.REVOKED_ACCOUNT, who.key)
    assert found["account"].serial == 1
    assert found["counselor"].subject == events.revoked_subject(events.REVOKED_COUNSELOR, keys.key_id)
    assert found["counselor"].serial == 2


# -- sessions that expire --------------------------------------------------------------------------------------


def _expire_all(db: object) -> None:
    from consilience.storage.database import Database

    assert isinstance(db, Database)
    with db.write() as session:
        session.execute(update(AccountSession).values(expires_at=repository.utcnow().replace(year=2000)))


def test_an_expired_session_is_refused_in_plain_words(tmp_path: Path) -> None:
    escrow = build(tmp_path)
    reporter = escrow.reporter()
    assert escrow.client.get(f"{API}/entries", headers=reporter.headers).status_code == 200
    _expire_all(escrow.db)
    refused = escrow.client.get(f"{API}/entries", headers=reporter.headers)
    assert refused.status_code == 401 and refused.json()["error"] == "session_expired"
    assert refused.json()["detail"].startswith("your session has expired; sign in again")


def test_the_client_signs_in_again_without_the_person_noticing(tmp_path: Path) -> None:
    escrow = build(tmp_path)
    reporter = escrow.reporter()
    with EscrowClient("http://testserver", reporter.token, transport=escrow.client._transport,  # type: ignore[attr-defined]
                      sign_in=reporter_login(reporter.seed, escrow.deployment.deployment_id)) as client:
        assert client.entries() == []
        _expire_all(escrow.db)
        assert client.entries() == []  # one call, as the person sees it: the expiry is handled inside
        assert client.token != reporter.token
    # a counselor's client, which holds only the credential, signs in when it first needs to and again on expiry
    credential = escrow.counselor_credential(escrow.counselors[0])
    with EscrowClient("http://testserver", transport=escrow.client._transport,  # type: ignore[attr-defined]
                      sign_in=counselor_login(credential)) as client:
        assert client.matches() == []
        _expire_all(escrow.db)
        assert client.matches() == []


def test_a_credential_is_not_a_session_and_a_sign_in_is_used_once(tmp_path: Path) -> None:
    escrow = build(tmp_path)
    credential = escrow.counselor_credential(escrow.counselors[0])
    as_bearer = escrow.client.get(f"{API}/matches", headers={"Authorization": f"Bearer {b64u_encode(credential)}"})
    assert as_bearer.status_code == 401
    reporter = escrow.reporter()
    from consilience.protocol import sessions

    login = sessions.sign_login(reporter.seed, escrow.deployment.deployment_id)
    body = {"account_key": b64u_encode(login.account_key), "issued_at": login.issued_at,
            "nonce": b64u_encode(login.nonce), "signature": b64u_encode(login.signature)}
    assert escrow.client.post(f"{API}/login", json=body).status_code == 200
    assert escrow.client.post(f"{API}/login", json=body).status_code == 401  # replayed
    stale = sessions.sign_login(reporter.seed, escrow.deployment.deployment_id, now=login.issued_at - 600)
    assert escrow.client.post(f"{API}/login", json={**body, "issued_at": stale.issued_at, "nonce": b64u_encode(
        stale.nonce), "signature": b64u_encode(stale.signature)}).status_code == 401
    other = sessions.sign_login(b"\x07" * 32, escrow.deployment.deployment_id)  # a key nobody certified
    assert escrow.client.post(f"{API}/login", json={
        "account_key": b64u_encode(other.account_key), "issued_at": other.issued_at,
        "nonce": b64u_encode(other.nonce), "signature": b64u_encode(other.signature)}).status_code == 401


def test_the_command_lines_libraries_sign_in_again_on_their_own(tmp_path: Path) -> None:
    """What ``consilience counselor …`` and ``consilience reporter …`` run, against a real socket."""
    from consilience.clients import counselor as counselor_client
    from consilience.clients import wallet as wallet_mod
    from consilience.clients.reporter import Session
    from consilience.protocol import deployment as dep
    from keyserver_world import serving

    escrow = build(tmp_path)
    reporter = escrow.reporter()
    credential = escrow.counselor_credential(escrow.counselors[0])
    fingerprint = dep.admin_fingerprint(accounts.account_key(escrow.admin_private))
    with serving(escrow.client.app) as url:
        keys = counselor_client.CounselorKeys(name=escrow.counselors[0].name, seed=escrow.counselors[0].seed)
        counselor_client.login(keys, url, f"cnslc1.{b64u_encode(credential)}.{b64u_encode(fingerprint)}")
        assert keys.token == credential  # the key file keeps the credential, which signs in each time
        assert counselor_client.list_matches(keys) == []
        _expire_all(escrow.db)
        assert counselor_client.list_matches(keys) == []

        wallet = wallet_mod.Wallet(server=url, admin_fingerprint=b64u_encode(fingerprint),
                                   account_id=b64u_encode(reporter.account_id), token=b64u_encode(reporter.token),
                                   contact="signal: @me", account_seed=b64u_encode(reporter.seed),
                                   certificate=b64u_encode(reporter.certificate), min_serial=1)
        session = Session(tmp_path / "wallet", "unused", wallet)
        _expire_all(escrow.db)
        with session.client() as client:
            assert client.entries() == []
        assert wallet.token != b64u_encode(reporter.token)  # the new session, kept when the wallet is next saved


def test_a_revoked_witness_leaves_the_deployment_and_the_revocation_is_logged(world: World) -> None:
    from consilience.clients import witness as witness_client
    from consilience.operator.witnesses import add_witness

    vkey = witness_client.generate("witness.example.org/1").vkey
    add_witness(world.root, vkey, PASSPHRASE)
    assert vkey in load_deployment(world.root).witnesses
    done = operator_revocations.revoke_witness(world.root, vkey, PASSPHRASE)
    assert done.what == "witness" and done.serial == 1
    assert vkey not in load_deployment(world.root).witnesses
    from consilience.protocol import deployment as dep

    served = dep.parse(json.loads(b64u_decode(world.escrow.get(f"{API}/deployment").json()["document"])))
    assert vkey not in served.witnesses  # the escrow server accepts cosignatures only from listed witnesses
    state = world.escrow.app.state.escrow  # type: ignore[attr-defined]
    published = rl.verify(world.escrow.get(f"{API}/revocations").json(),
                          accounts.account_key(world.folder.admin_private()), world.deployment_id)
    assert published.witnesses == frozenset({vkey})
    releases.run_pass(state)
    with state.db.read() as session:
        kinds = [events.parse_opening(leaf.opening).event for leaf in session.query(LogLeaf)]
    assert [events.parse_event(e).revoked for e in kinds if e[0] == events.REVOCATION] == ["witness"]
    with pytest.raises(InvalidInput, match="no such witness"):
        operator_revocations.revoke_witness(world.root, vkey, PASSPHRASE)


def test_a_restarted_key_server_remembers_the_newest_list_without_the_escrow_server(world: World,
                                                                                     tmp_path: Path) -> None:
    who, _, _ = world.reporter()
    operator_revocations.revoke_account(world.root, b64u_encode(who.key), PASSPHRASE)
    admin_key = accounts.account_key(world.folder.admin_private())
    store = tmp_path / "keyserver" / ks_revocations.STORE_FILE
    store.parent.mkdir()
    before = ks_revocations.Holder(admin_key, world.deployment_id, store)
    assert ks_revocations.poll_once(before, world.escrow) is True and store.is_file()
    after_restart = ks_revocations.Holder(admin_key, world.deployment_id, store)  # the escrow server not asked
    assert after_restart.serial == 1 and after_restart.revoked(who.key)
    # a kept file someone altered is refused, and nothing is taken from it
    kept = json.loads(store.read_text())
    kept["document"] = kept["document"][:-2] + ("AA" if not kept["document"].endswith("AA") else "BB")
    store.write_text(json.dumps(kept))
    assert ks_revocations.Holder(admin_key, world.deployment_id, store).serial == 0


def test_two_revocations_at_the_same_moment_the_later_changes_nothing(world: World,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first, _, _ = world.reporter()
    second, _, second_headers = world.reporter()
    operator_revocations.revoke_account(world.root, b64u_encode(first.key), PASSPHRASE)
    before = world.counts()
    # the second run read the database before the first one committed: it saw no list and signs serial 1 too
    from consilience.storage import revocations as stored

    monkeypatch.setattr(stored, "newest_list", lambda session: None)
    monkeypatch.setattr(stored, "newest_serial", lambda session: 0)
    with pytest.raises(InvalidInput, match="at the same moment"):
        operator_revocations.revoke_account(world.root, b64u_encode(second.key), PASSPHRASE)
    monkeypatch.undo()
    assert world.counts() == before
    assert world.escrow.get(f"{API}/entries", headers=second_headers).status_code == 200
