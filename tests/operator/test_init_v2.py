"""``admin init`` in protocol v2: each key server's own keys in its folder, no quorum secret anywhere, the
share file naming the administrator and the deployment; refresh-shares and restart-keygen on that folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consilience.crypto import threshold_oprf
from consilience.datadir import DataDir, share_file
from consilience.errors import InvalidInput
from consilience.operator.deployment import init_deployment, load_deployment
from consilience.operator.quorum_keys import restart_keygen
from consilience.operator.shares import refresh_key_shares
from consilience.protocol import deployment as dep

KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}


def test_init_gives_every_key_server_its_own_keys_and_deals_no_quorum_secret(tmp_path: Path) -> None:
    d = init_deployment(tmp_path / "data", "pass", key_servers=4, threshold=3, kdf_params=KDF)
    data = DataDir(tmp_path / "data")
    assert d.quorum_keys is None and not d.ready
    published = json.loads(data.escrow.published.read_text())
    admin_key = share_file.read(data.keyserver(1).share).admin_key
    assert dep.verify(published, dep.admin_fingerprint(admin_key)) == d
    identities, hpke_keys = set(), set()
    for server in d.key_servers:
        ks = data.keyserver(server.index)
        share = share_file.read(ks.share)
        keys = share_file.read_keys(ks.identity_key, ks.hpke_key)
        assert (share.index, share.key_servers, share.threshold) == (server.index, 4, 3)
        assert share.deployment_id == d.deployment_id and share.admin_key == admin_key
        assert share.escrow_url == d.escrow_url
        assert threshold_oprf.public_share(share.share) == server.public_share
        assert keys.identity_key == server.identity_key and keys.hpke_public_key == server.hpke_public_key
        identities.add(server.identity_key)
        hpke_keys.add(server.hpke_public_key)
        for path in (ks.share, ks.identity_key, ks.hpke_key):
            assert oct(path.stat().st_mode & 0o777) == "0o600", path
        assert not ks.quorum_keys.exists() and not ks.keygen_seed.exists()
    assert len(identities) == len(hpke_keys) == 4, "every key server has keys of its own"
    names = sorted(p.name for p in data.root.rglob("*") if p.is_file())
    assert not [n for n in names if "token-issuer" in n or "quorum" in n], names


def test_init_refuses_a_folder_with_key_server_keys(tmp_path: Path) -> None:
    root = tmp_path / "data"
    share_file.generate_keys(DataDir(root).keyserver(2).identity_key, DataDir(root).keyserver(2).hpke_key)
    before = DataDir(root).keyserver(2).identity_key.read_bytes()
    with pytest.raises(InvalidInput, match="already holds a key server's keys"):
        init_deployment(root, "pass", kdf_params=KDF)
    assert DataDir(root).keyserver(2).identity_key.read_bytes() == before
    assert not DataDir(root).admin_key.exists()


def test_refresh_shares_keeps_the_administrator_and_deployment_in_the_share_files(tmp_path: Path) -> None:
    init_deployment(tmp_path / "data", "pass", kdf_params=KDF)
    data = DataDir(tmp_path / "data")
    before = {i: share_file.read(data.keyserver(i).share) for i in (1, 2, 3)}
    updated = refresh_key_shares(tmp_path / "data", "pass")
    assert updated.serial == 2 and load_deployment(tmp_path / "data") == updated
    for i in (1, 2, 3):
        after = share_file.read(data.keyserver(i).share)
        assert after.share != before[i].share
        assert (after.admin_key, after.deployment_id, after.escrow_url) == (
            before[i].admin_key, before[i].deployment_id, before[i].escrow_url)
        assert updated.key_server(i).public_share == after.public_share
        assert updated.key_server(i).identity_key == load_deployment(tmp_path / "data").key_server(i).identity_key


def test_restart_keygen_asks_every_key_server_here_for_the_next_epoch(tmp_path: Path) -> None:
    init_deployment(tmp_path / "data", "pass", kdf_params=KDF)
    data = DataDir(tmp_path / "data")
    assert restart_keygen(tmp_path / "data") == (2, [1, 2, 3])
    assert restart_keygen(tmp_path / "data") == (3, [1, 2, 3])
    assert [share_file.read_request(data.keyserver(i).keygen_request) for i in (1, 2, 3)] == [3, 3, 3]
    assert restart_keygen(tmp_path / "data", 7) == (7, [1, 2, 3])
    with pytest.raises(InvalidInput, match="positive"):
        restart_keygen(tmp_path / "data", 0)
    with pytest.raises(InvalidInput, match="no key-server folder"):
        restart_keygen(tmp_path / "elsewhere")
    data.keyserver(1).keygen_request.write_text("{not json")
    with pytest.raises(InvalidInput, match="not a key-generation request"):
        share_file.read_request(data.keyserver(1).keygen_request)
