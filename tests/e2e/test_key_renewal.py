"""Refresh and resharing over real processes, as operators and an administrator run them.

A loopback deployment (quorum 2) gets a match of two reporters. Then the administrator asks the key
servers for a refresh, and later for a resharing that rebuilds a lost key server: key server 1's
machine is gone (process stopped, folder deleted), a fresh key server is made in a folder of its
own (``keyserver-init``, ``keyserver-join``, ``keyserver --folder``) and put in its place, and the
threshold goes to 3 of 3. The two remaining key servers give it shares; nothing passes through the
administrator. After each step the match still opens, and a new reporter's entry naming the same
person joins it: tags, quorum secrets and abscissas are unchanged. The shares each key server held
before a renewal are gone from its folder after it.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from consilience.clients import counselor, reporter
from consilience.datadir import DataDir
from consilience.local import launcher, loopback
from consilience.operator import keyserver as ks_operator
from consilience.operator.deployment import load_deployment
from consilience.operator.key_changes import change_key_servers, refresh_keys
from consilience.operator.quorum_keys import publish_keys
from consilience.operator.revocations import revoke_key_server
from consilience.protocol import events
from consilience.protocol.encoding import b64u_encode
from consilience.services.keyserver.settings import KeygenSettings

pytestmark = pytest.mark.e2e

KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}
PASS = "admin pass"
#: one-second rounds, and a short wait for a deal that never comes (the lost key server's)
PACE = KeygenSettings(round_seconds=1.0, deal_timeout_seconds=6.0, request_poll_seconds=0.5)
NAMES = ["dana.smith@example.com"]


def _escrow(deployment: loopback.LoopbackDeployment, n: int, invite: str) -> None:
    session = reporter.register(deployment.url, invite, f"signal: @reporter{n}",
                                deployment.layout.reporter_wallet(n), f"reporter {n} pass", kdf_params=KDF)
    record = reporter.write(session, f"What happened to reporter {n}.")
    reporter.escrow(session, record.record_id, NAMES)


def _opened(keys: counselor.CounselorKeys, expected: int, timeout: float = 60.0) -> set[str]:
    """The records of the one match, once it has EXPECTED entries (the release pass runs every second)."""
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        matches = counselor.list_matches(keys)
        assert len(matches) <= 1, "one person named, one match"
        if matches:
            from consilience.protocol.encoding import b64u_decode

            _, result = counselor.open_match_by_id(keys, b64u_decode(matches[0].match_id, length=16))
            seen = {o.body.record for o in result.opened}
            if len(seen) >= expected:
                return seen
        time.sleep(0.5)
    raise AssertionError(f"the match did not open with {expected} entries in time (last saw {len(seen)})")


def _shares(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((folder / "quorum-keys.json").read_text())
    return doc


def _share_values(doc: dict[str, Any]) -> set[str]:
    values = {str(doc["oprf_share"])}
    for level in dict(doc["shares"]).values():
        values.update(level)
    return values


def _revocations_logged(data: DataDir) -> list[tuple[str, bytes]]:
    """The revocation events among the log's leaves, read from the escrow database as its host could."""
    from consilience.storage.database import Database, sqlite_url
    from consilience.storage.models import LogLeaf

    db = Database(sqlite_url(data.escrow.database))
    try:
        with db.read() as session:
            opened = [events.parse_event(events.parse_opening(leaf.opening).event)
                      for leaf in session.query(LogLeaf).order_by(LogLeaf.idx)]
    finally:
        db.dispose()
    return [(str(e.revoked), bytes(e.subject or b"")) for e in opened if e.kind == "revocation"]


def _any_request() -> dict[str, Any]:
    """A request of the right shape (what a key server checks before anything else)."""
    from consilience.protocol import accounts, evaluation

    return {"certificate": b64u_encode(bytes(accounts.CERTIFICATE_BYTES)), "audience": b64u_encode(bytes(32)),
            "issued_at": int(time.time()), "nonce": b64u_encode(bytes(evaluation.NONCE_BYTES)),
            "blinded": [b64u_encode(bytes(32))], "points": [b64u_encode(bytes(48))],
            "signature": b64u_encode(bytes(64))}


def _renewed(deployment: loopback.LoopbackDeployment, servers: list[launcher.Service], epoch: int) -> None:
    d = publish_keys(deployment.root, PASS, timeout=180, poll=0.2)
    assert d.quorum_keys is not None and d.quorum_keys.epoch == epoch and d.key_change is None
    launcher.wait_for_quorum_keys(servers, epoch, timeout=60)


def test_refresh_and_a_resharing_that_rebuilds_a_lost_key_server_keep_the_match(tmp_path: Path) -> None:
    root = tmp_path / "data"
    deployment = loopback.create(root, PASS, quorum=2, max_quorum=3, kdf_params=KDF)
    data = DataDir(root)
    ports = [int(s.url.rsplit(":", 1)[1]) for s in deployment.keyservers]
    deployment.keyservers[:] = [launcher.keyserver_service(root, i + 1, port, keygen=PACE)
                                for i, port in enumerate(ports)]
    extra: list[launcher.Service] = []
    with deployment.start(env={"CONSILIENCE_RELEASE_INTERVAL": "1"}):
        try:
            keys = deployment.add_counselor("Counselor", data.counselor_key, "counselor pass")
            invites = deployment.invites(4)
            _escrow(deployment, 1, invites[0])
            _escrow(deployment, 2, invites[1])
            assert len(_opened(keys, 2)) == 2
            before = {i: _share_values(_shares(data.keyserver(i).root)) for i in (1, 2, 3)}

            # -- refresh: the same key servers, new shares of the same secrets
            asked = refresh_keys(root, PASS)
            assert asked.key_change is not None and asked.key_change.kind == "refresh"
            _renewed(deployment, deployment.keyservers, asked.key_change.epoch)
            for i in (1, 2, 3):
                folder = data.keyserver(i).root
                after = _shares(folder)
                assert after["epoch"] == asked.key_change.epoch
                assert not (folder / "quorum-keys-next.json").exists()
                assert not _share_values(after) & before[i], f"key server {i} kept a share from before the refresh"
                raw = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
                assert not any(v.encode() in raw for v in before[i]), f"an old share of key server {i} is on disk"
            assert len(_opened(keys, 2)) == 2, "the match opens after the refresh"
            _escrow(deployment, 3, invites[2])
            assert len(_opened(keys, 3)) == 3, "an entry made after the refresh matches the ones from before"

            # -- key server 1's machine is lost: process and folder gone
            deployment.keyservers[0].stop()
            shutil.rmtree(data.keyserver(1).root)
            # its replacement, made by its operator on a machine of its own
            fresh = ks_operator.folder_at(tmp_path / "rebuilt-keyserver")
            port = launcher.free_ports(1)[0]
            enrollment = ks_operator.init_keyserver(fresh, f"http://127.0.0.1:{port}")
            asked = change_key_servers(root, PASS, replace_with={1: enrollment}, threshold=3)
            assert asked.key_change is not None and asked.key_change.kind == "reshare"
            joined = ks_operator.join(fresh, deployment.url, b64u_encode(deployment.admin_fingerprint))
            assert joined.listed_as == "joining"
            rebuilt = launcher.folder_keyserver_service(fresh.root, port, keygen=PACE)
            extra.append(rebuilt)
            rebuilt.start()
            in_force = [rebuilt, deployment.keyservers[1], deployment.keyservers[2]]
            _renewed(deployment, in_force, asked.key_change.epoch)
            d = asked  # the document that asked; the published one lists the new set
            published = publish_keys(root, PASS, timeout=5)
            assert published.threshold == 3 and len(published.key_servers) == 3
            assert published.key_server(1).identity_key == enrollment.identity_key
            assert published.quorum_keys is not None and published.quorum_keys.dealers == (2, 3), \
                "the two remaining key servers dealt; the lost one was disqualified after the deal deadline"
            assert published.oprf_public_key == d.oprf_public_key, "the VOPRF key (hence every tag) is the same"
            assert published.quorum_keys.levels == d.quorum_keys.levels if d.quorum_keys else True
            assert (fresh.root / "quorum-keys.json").exists()
            assert len(_opened(keys, 3)) == 3, "the match opens after the resharing"
            _escrow(deployment, 4, invites[3])
            assert len(_opened(keys, 4)) == 4, "an entry made with the new key servers joins the match"

            # -- the administrator removes key server 3 (now the third of the rebuilt set): at once it answers
            # no evaluation, it still deals its shares to the two that stay, then erases them
            leaving = deployment.keyservers[2]
            done = revoke_key_server(root, 3, PASS, threshold=2)
            asked = load_deployment(root)
            assert done.what == "key server" and done.deployment_serial == asked.serial
            assert asked.key_change is not None and not any(
                s.identity_key == published.key_server(3).identity_key for s in asked.key_change.servers)
            assert [s.index for s in asked.serving_key_servers] == [1, 2], "clients stop asking it at once"
            deadline = time.monotonic() + 30
            while "being removed" not in httpx.post(f"{leaving.url}/v2/evaluate", json=_any_request(),
                                                    timeout=5).text:
                assert time.monotonic() < deadline, "the leaving key server still answers evaluations"
                time.sleep(0.5)
            _renewed(deployment, [rebuilt, deployment.keyservers[1]], asked.key_change.epoch)
            deadline = time.monotonic() + 30
            while (data.keyserver(3).root / "quorum-keys.json").exists():
                assert time.monotonic() < deadline, "the removed key server kept its shares"
                time.sleep(0.5)
            assert len(_opened(keys, 4)) == 4, "the match opens with two key servers left"
            revoked = _revocations_logged(data)
            assert revoked == [("key server", events.revoked_subject(events.REVOKED_KEY_SERVER,
                                                                      published.key_server(3).identity_key))]
        finally:
            for service in extra:
                service.stop()
