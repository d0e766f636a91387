"""The key servers' key generation over a bulletin board (services/keyserver/dkg_runner.py) and its
publication by the administrator (operator/quorum_keys.py, ``admin publish-keys``).

Three key-server runners in threads talk to an in-process board served over real HTTP in the
plan's format (tests/keyserver_world.py), each on its own folder from ``admin init``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from consilience.clients.board import BoardClient
from consilience.datadir import share_file
from consilience.operator.deployment import load_deployment
from consilience.operator.quorum_keys import KeysNotReady, Progress, publish_keys, restart_keygen
from consilience.protocol import deployment as dep
from consilience.protocol import dkg
from consilience.services.keyserver import dkg_runner, quorum_store
from consilience.services.keyserver.quorum_store import Holder
from consilience.services.keyserver.settings import KeygenSettings
from keyserver_world import PASSPHRASE, Folder, board_app, free_port, make_deployment, serving

FAST = KeygenSettings(round_seconds=0.3, deal_timeout_seconds=30.0, confirm_rounds=20, request_poll_seconds=0.1)


@dataclass
class Running:
    runner: dkg_runner.KeygenRunner
    thread: threading.Thread


@dataclass
class World:
    folder: Folder
    url: str
    running: dict[int, Running]

    def start(self, index: int, settings: KeygenSettings = FAST) -> Running:
        ks = self.folder.data.keyserver(index)
        runner = dkg_runner.KeygenRunner(
            folder=ks, member=share_file.read(ks.membership), keys=self.folder.keys(index), holder=Holder(),
            client=BoardClient(self.url), settings=settings, stop=threading.Event())
        running = Running(runner, dkg_runner.start(runner))
        self.running[index] = running
        return running

    def stop(self, index: int) -> None:
        r = self.running.pop(index)
        r.runner.stop.set()
        r.thread.join(10)
        r.runner.client.close()

    def wait_done(self, indices: list[int], epoch: int = 1, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            held = [self.running[i].runner.holder.get() for i in indices]
            if all(h is not None and h.epoch == epoch for h in held):
                return
            time.sleep(0.05)
        raise AssertionError("not done: " + "; ".join(f"{i}: {self.running[i].runner.holder.status}" for i in indices))


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    port = free_port()
    folder = make_deployment(tmp_path / "data", escrow_port=port)
    with serving(board_app(folder.root), port) as url:
        w = World(folder, url, {})
        yield w
        for index in list(w.running):
            w.stop(index)


def check_result(world: World, epoch: int = 1) -> dep.Deployment:
    """Every key server holds a stored result of EPOCH, its seed is gone, and the administrator can publish it."""
    for index in (1, 2, 3):
        ks = world.folder.data.keyserver(index)
        held = quorum_store.read(ks.quorum_keys)
        assert held is not None and held.epoch == epoch and held.qualified == (1, 2, 3)
        assert oct(ks.quorum_keys.stat().st_mode & 0o777) == "0o600"
        run = quorum_store.read_run(ks.keygen_seed)
        assert run is not None and run.epoch == epoch and run.finished, "the run is noted as finished"
        assert run.seed is None and run.deal is None and "seed" not in json.loads(ks.keygen_seed.read_text()), \
            "the dealer seed is erased when the run ends"
    with BoardClient(world.url) as client:
        published = publish_keys(world.folder.root, PASSPHRASE, client=client, timeout=10, poll=0.05)
    keys = published.quorum_keys
    assert keys is not None and keys.epoch == epoch and published.serial >= 2
    params = published.quorum_parameters()
    # every key server's stored shares are the ones the published per-server commitments commit to
    from consilience.crypto.bls12381 import G2Point
    for index in (1, 2, 3):
        held = quorum_store.read(world.folder.data.keyserver(index).quorum_keys)
        assert held is not None and held.transcript == keys.transcript
        for q, values in held.shares.items():
            assert [G2Point.generator().mul_secret(v) for v in values] == list(params.servers[index][q])
        # and its VOPRF share is the one whose public share the document lists
        assert held.public_share == published.key_server(index).public_share
    assert published.key_change is None and published.oprf_public_key
    assert keys.abscissa_check == dkg.abscissa_check(published.deployment_id, held.abscissa_key)
    return published


def test_three_key_servers_generate_the_quorum_keys_over_the_board(world: World,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="consilience.services.keyserver.dkg_runner")
    for index in (1, 2, 3):
        world.start(index)
    world.wait_done([1, 2, 3])
    published = check_result(world)
    # the signed document on disk is what clients fetch, and it verifies with the administrator's fingerprint
    signed = json.loads(world.folder.data.escrow.published.read_text())
    admin_key = share_file.read(world.folder.data.keyserver(1).membership).admin_key
    assert dep.verify(signed, dep.admin_fingerprint(admin_key)).quorum_keys == published.quorum_keys
    said = caplog.text
    assert "key server 1 starts the key generation of epoch 1 with 3 key servers (2 needed)" in said
    assert "finished the key generation of epoch 1: qualified dealers 1, 2, 3" in said
    assert "seed" not in said.lower().replace("with the deal it kept", "")


def test_a_key_server_that_restarts_mid_run_posts_the_same_deal_and_the_run_completes(world: World) -> None:
    first = world.start(1, replace(FAST, deal_timeout_seconds=60.0))
    seed_file = world.folder.data.keyserver(1).keygen_seed
    deadline = time.monotonic() + 20
    while not seed_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    kept = quorum_store.read_run(seed_file)
    assert kept is not None and kept.seed is not None and kept.deal is not None
    assert oct(seed_file.stat().st_mode & 0o777) == "0o600"
    time.sleep(0.5)
    world.stop(1)  # "crashes" while waiting for the other deals
    assert first.runner.holder.get() is None
    assert quorum_store.read_run(seed_file) == kept
    for index in (2, 3, 1):
        world.start(index)
    world.wait_done([1, 2, 3])
    check_result(world)
    with BoardClient(world.url) as client:
        messages, _ = client.read(1)
    params = load_deployment(world.folder.root).dkg_parameters(1)
    deals = [m for m in (dkg.parse(params, x) for x in messages) if isinstance(m, dkg.Deal) and m.dealer == 1]
    assert len(deals) == 1 and deals[0].raw == kept.deal, "one deal from key server 1, the one it kept"


def test_a_failed_run_is_not_repeated_until_an_operator_asks(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="consilience.services.keyserver.dkg_runner")
    # key server 3 is late: 1 and 2 give up waiting for its deal, but the threshold is 2 of 3, so make the
    # run fail by confirmation instead: 3 arrives after 1 and 2 finalized and sees another board
    short = replace(FAST, deal_timeout_seconds=1.0, confirm_rounds=3)
    for index in (1, 2):
        world.start(index, short)
    world.wait_done([1, 2])  # 1 and 2 qualify each other and confirm the same board
    world.start(3, short)
    deadline = time.monotonic() + 30
    while "failed" not in world.running[3].runner.holder.status and time.monotonic() < deadline:
        time.sleep(0.05)
    status = world.running[3].runner.holder.status
    assert "the key generation of epoch 1 failed" in status and "confirmed another board" in status
    run = quorum_store.read_run(world.folder.data.keyserver(3).keygen_seed)
    assert run is not None and run.failed and run.seed is None, "the seed is erased, the failure noted"
    assert "the administrator runs 'consilience admin restart-keygen' to ask every key server for it again" in \
        caplog.text
    time.sleep(1.0)
    assert world.running[3].runner.holder.get() is None, "no silent retry"
    with BoardClient(world.url) as client, pytest.raises(dkg.DkgFailed, match="confirmed another board"):
        publish_keys(world.folder.root, PASSPHRASE, client=client, timeout=2, poll=0.05)
    # the administrator asks for epoch 2 in a new document: every key server runs it (1 and 2 replace what they
    # held for epoch 1)
    asked = restart_keygen(world.folder.root, PASSPHRASE)
    assert asked.key_change is not None and asked.quorum_keys is None
    assert (asked.key_change.epoch, asked.key_change.kind, [s.index for s in asked.key_change.servers]) == (
        2, "generate", [1, 2, 3])
    world.wait_done([1, 2, 3], epoch=2)
    check_result(world, epoch=2)


def test_publish_keys_waits_with_progress_and_names_the_missing_key_servers(world: World) -> None:
    for index in (1, 2):
        world.start(index)
    seen: list[Progress] = []
    with BoardClient(world.url) as client, pytest.raises(KeysNotReady) as refused:
        publish_keys(world.folder.root, PASSPHRASE, client=client, timeout=2, poll=0.05, progress=seen.append)
    assert refused.value.missing == (3,)
    assert "key server(s) 3" in str(refused.value) and "gave up after 2 s" in str(refused.value)
    assert seen and seen[-1].deals == (1, 2) and seen[-1].waiting_for == (3,)
    assert load_deployment(world.folder.root).quorum_keys is None, "nothing published"
    world.start(3)
    with BoardClient(world.url) as client:
        published = publish_keys(world.folder.root, PASSPHRASE, client=client, timeout=60, poll=0.05)
    assert published.quorum_keys is not None and published.quorum_keys.qualified == (1, 2, 3)
    # publishing again changes nothing
    with BoardClient(world.url) as client:
        again = publish_keys(world.folder.root, PASSPHRASE, client=client, timeout=5, poll=0.05)
    assert again.serial == published.serial


def test_publish_keys_refuses_commitments_nobody_confirmed(world: World) -> None:
    """The administrator cannot substitute a result: the document's validation checks the confirmations."""
    for index in (1, 2, 3):
        world.start(index)
    world.wait_done([1, 2, 3])
    published = check_result(world)
    keys = published.quorum_keys
    assert keys is not None
    from consilience.errors import VerificationError

    forged = replace(keys, levels={**keys.levels, 2: (keys.levels[2][1], keys.levels[2][0])})
    with pytest.raises(VerificationError, match="do not interpolate|commitments do not"):
        dep.validate(replace(published, quorum_keys=forged))
    missing = replace(keys, confirmations=keys.confirmations[:2])
    with pytest.raises(VerificationError, match="no confirmation of the quorum keys from key server"):
        dep.validate(replace(published, quorum_keys=missing))


def test_a_request_for_a_later_epoch_abandons_a_run_under_way(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="consilience.services.keyserver.dkg_runner")
    patient = replace(FAST, deal_timeout_seconds=600.0)
    for index in (1, 2):
        world.start(index, patient)  # waiting for key server 3's deal, for up to ten minutes
    deadline = time.monotonic() + 20
    while "epoch 1: waiting for the key servers' deals" not in world.running[2].runner.holder.status:
        assert time.monotonic() < deadline, world.running[2].runner.holder.status
        time.sleep(0.05)
    asked = restart_keygen(world.folder.root, PASSPHRASE)
    assert asked.key_change is not None and asked.key_change.epoch == 2
    world.start(3, patient)
    world.wait_done([1, 2, 3], epoch=2, timeout=30)
    assert "abandons the key generation of epoch 1: the administrator asked for epoch 2" in caplog.text
    check_result(world, epoch=2)


def test_an_escrow_server_publishing_another_deployment_is_named_and_nothing_is_dealt(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="consilience.services.keyserver.dkg_runner")
    ours = make_deployment(tmp_path / "ours")
    theirs = make_deployment(tmp_path / "theirs")
    with serving(board_app(theirs.root)) as url:
        world = World(ours, url, {})
        running = world.start(1)
        running.thread.join(20)
        assert not running.thread.is_alive()
        world.running.pop(1).runner.client.close()
    status = running.runner.holder.status
    assert status.startswith("cannot run the key generation: deployment signed by a different administrator")
    assert "Traceback" not in caplog.text and "cannot run the key generation" in caplog.text
    assert not ours.data.keyserver(1).keygen_seed.exists(), "no deal made for a document it cannot trust"
