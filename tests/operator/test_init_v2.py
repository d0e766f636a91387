"""``admin init`` in protocol v2: no share is written anywhere (the key servers generate the VOPRF key and the
quorum secrets among themselves); every key-server folder holds keyserver.json and its own keys; enrollments
for key servers on separate machines; and the administrator's later asks, each a new signed document:
restart-keygen, refresh-keys and key-servers (bad input changes nothing)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from consilience.datadir import DataDir, share_file
from consilience.errors import ConsilienceError, InvalidInput
from consilience.operator import keyserver as operator_keyserver
from consilience.operator.deployment import init_deployment, load_deployment
from consilience.operator.key_changes import change_key_servers, refresh_keys
from consilience.operator.quorum_keys import restart_keygen
from consilience.protocol import deployment as dep
from consilience.protocol import dkg
from consilience.protocol.encoding import b64u_decode, b64u_encode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: the shared test worlds
from keyserver_world import (  # noqa: E402
    PASSPHRASE,
    Folder,
    board_app,
    keygen_and_publish,
    make_deployment,
    publish_result,
    run_keygen,
    serving,
)

KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file of a data folder, to show that a refused change wrote nothing."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_init_gives_every_key_server_its_own_keys_and_writes_no_share(tmp_path: Path) -> None:
    d = init_deployment(tmp_path / "data", "pass", key_servers=4, threshold=3, kdf_params=KDF)
    data = DataDir(tmp_path / "data")
    assert d.quorum_keys is None and not d.ready
    # no VOPRF key nor public share: nobody dealt one; the document asks the key servers to generate it
    assert d.oprf_public_key == b"" and all(s.public_share == b"" for s in d.key_servers)
    assert d.key_change == dep.KeyChange(1, "generate", 3, d.key_servers)
    published = json.loads(data.escrow.published.read_text())
    admin_key = share_file.read(data.keyserver(1).membership).admin_key
    assert dep.verify(published, dep.admin_fingerprint(admin_key)) == d
    identities, hpke_keys = set(), set()
    for server in d.key_servers:
        ks = data.keyserver(server.index)
        member = share_file.read(ks.membership)
        assert member == share_file.Membership(admin_key, d.deployment_id, d.escrow_url)
        keys = share_file.read_keys(ks.identity_key, ks.hpke_key)
        assert keys.identity_key == server.identity_key and keys.hpke_public_key == server.hpke_public_key
        # made as its operator would make it: its enrollment names its address and keys, signed
        enrollment = share_file.read_enrollment(ks.enrollment)
        assert (enrollment.url, enrollment.identity_key, enrollment.hpke_public_key) == (
            server.url, server.identity_key, server.hpke_public_key)
        identities.add(server.identity_key)
        hpke_keys.add(server.hpke_public_key)
        for path in (ks.membership, ks.identity_key, ks.hpke_key):
            assert oct(path.stat().st_mode & 0o777) == "0o600", path
        assert not ks.quorum_keys.exists() and not ks.next_quorum_keys.exists() and not ks.keygen_seed.exists()
        assert sorted(p.name for p in ks.root.iterdir()) == [
            "enrollment.json", "hpke.key", "identity.key", "keyserver.json", "web-origins.json"]
        assert set(json.loads(ks.membership.read_text())) == {"format", "admin_key", "deployment_id", "escrow_url"}
    assert len(identities) == len(hpke_keys) == 4, "every key server has keys of its own"
    names = sorted(p.name for p in data.root.rglob("*") if p.is_file())
    assert not [n for n in names if "token-issuer" in n or "quorum" in n or "share" in n], names


def test_init_refuses_a_folder_with_key_server_keys(tmp_path: Path) -> None:
    root = tmp_path / "data"
    share_file.generate_keys(DataDir(root).keyserver(2).identity_key, DataDir(root).keyserver(2).hpke_key)
    before = DataDir(root).keyserver(2).identity_key.read_bytes()
    with pytest.raises(InvalidInput, match="already holds a key server's keys"):
        init_deployment(root, "pass", kdf_params=KDF)
    assert DataDir(root).keyserver(2).identity_key.read_bytes() == before
    assert not DataDir(root).admin_key.exists()
    assert not DataDir(root).keyserver(1).identity_key.exists(), "no key server's keys made before the refusal"


def _enroll(tmp_path: Path, n: int) -> list[share_file.Enrollment]:
    """n key servers set up by their operators, each on its own machine (here: its own folder)."""
    return [operator_keyserver.init_keyserver(operator_keyserver.folder_at(tmp_path / f"machine-{i}" / "ks"),
                                              f"https://keys{i}.example.org:8443/") for i in range(1, n + 1)]


def test_init_with_enrollments_writes_no_key_server_folder_and_the_operators_join(tmp_path: Path) -> None:
    enrollments = _enroll(tmp_path, 3)
    root = tmp_path / "admin"
    d = init_deployment(root, PASSPHRASE, threshold=2, enrollments=enrollments, kdf_params=KDF,
                        escrow_url="https://escrow.example.org")
    assert [(s.index, s.url, s.identity_key, s.hpke_public_key) for s in d.key_servers] == [
        (i, f"https://keys{i}.example.org:8443", e.identity_key, e.hpke_public_key)
        for i, e in enumerate(enrollments, start=1)]
    assert d.key_change is not None and d.key_change.servers == d.key_servers and d.key_change.threshold == 2
    # the administrator's machine holds nothing of the key servers': no folder, no key, no share
    assert not [p for p in root.rglob("*") if "keyserver" in p.name], sorted(root.rglob("*"))
    for i in (1, 2, 3):
        machine = tmp_path / f"machine-{i}" / "ks"
        assert sorted(p.name for p in machine.iterdir()) == ["enrollment.json", "hpke.key", "identity.key"]
    # each operator joins: the document is checked against the administrator's fingerprint
    signed = json.loads(DataDir(root).escrow.published.read_text())
    fingerprint = b64u_encode(dep.admin_fingerprint(b64u_decode(signed["admin_key"])))
    with serving(board_app(root)) as url:
        folder = operator_keyserver.folder_at(tmp_path / "machine-2" / "ks")
        other = b64u_encode(bytes(16))
        with pytest.raises(ConsilienceError, match="different administrator"):
            operator_keyserver.join(folder, url, other)
        assert not folder.membership.exists(), "a refused join writes nothing"
        with pytest.raises(InvalidInput, match="not an administrator's fingerprint"):
            operator_keyserver.join(folder, url, "not a fingerprint")
        joined = operator_keyserver.join(folder, url, fingerprint)
        assert joined.listed_as == "in force" and joined.deployment == d
        assert share_file.read(folder.membership) == share_file.Membership(
            b64u_decode(signed["admin_key"]), d.deployment_id, url)
        # a key server the document does not list cannot join
        _enroll(tmp_path / "stranger", 1)
        lost = operator_keyserver.folder_at(tmp_path / "stranger" / "machine-1" / "ks")
        with pytest.raises(InvalidInput, match="does not list this key server"):
            operator_keyserver.join(lost, url, fingerprint)
        assert not lost.membership.exists()


def test_init_refuses_bad_enrollments_and_writes_nothing(tmp_path: Path) -> None:
    enrollments = _enroll(tmp_path, 2)
    root = tmp_path / "admin"
    with pytest.raises(InvalidInput, match="enrolled twice"):
        init_deployment(root, PASSPHRASE, threshold=2, enrollments=[enrollments[0], enrollments[0]], kdf_params=KDF)
    with pytest.raises(InvalidInput, match="threshold"):
        init_deployment(root, PASSPHRASE, threshold=3, enrollments=enrollments, kdf_params=KDF)
    assert not root.exists() or not list(root.rglob("*"))
    # a copy of an enrollment changed on its way to the administrator is refused when read
    path = tmp_path / "machine-1" / "ks" / "enrollment.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "url": "https://keys.attacker.example"}))
    with pytest.raises(InvalidInput, match="signature does not verify"):
        share_file.read_enrollment(path)


def test_restart_keygen_writes_a_new_document_asking_for_the_next_epoch(tmp_path: Path) -> None:
    root = tmp_path / "data"
    first = init_deployment(root, PASSPHRASE, kdf_params=KDF)
    fingerprint = dep.admin_fingerprint(share_file.read(DataDir(root).keyserver(1).membership).admin_key)
    asked = restart_keygen(root, PASSPHRASE)
    assert asked.serial == 2 and asked.key_change is not None and asked.quorum_keys is None
    assert asked.key_change == replace(first.key_change, epoch=2)  # type: ignore[type-var]
    assert load_deployment(root) == asked
    assert dep.verify(json.loads(DataDir(root).escrow.published.read_text()), fingerprint) == asked
    again = restart_keygen(root, PASSPHRASE)
    assert (again.serial, again.key_change.epoch if again.key_change else None) == (3, 3)
    before = _snapshot(root)
    with pytest.raises(ConsilienceError):
        restart_keygen(root, "wrong passphrase")
    assert _snapshot(root) == before, "a wrong passphrase changes nothing"
    with pytest.raises(InvalidInput):
        restart_keygen(tmp_path / "elsewhere", PASSPHRASE)


def test_restart_keygen_refuses_when_nothing_is_asked(tmp_path: Path) -> None:
    folder = make_deployment(tmp_path / "data")
    keygen_and_publish(folder)
    before = _snapshot(folder.root)
    with pytest.raises(InvalidInput, match="asked for nothing"):
        restart_keygen(folder.root, PASSPHRASE)
    assert _snapshot(folder.root) == before


@pytest.fixture()
def published(tmp_path: Path) -> Folder:
    folder = make_deployment(tmp_path / "data")
    keygen_and_publish(folder)
    return folder


def test_refresh_keys_asks_for_a_refresh_whose_result_publishes(published: Folder) -> None:
    root = published.root
    d = load_deployment(root)
    assert d.quorum_keys is not None and d.key_change is None
    asked = refresh_keys(root, PASSPHRASE)
    assert asked.serial == d.serial + 1 and asked.quorum_keys == d.quorum_keys and asked.key_servers == d.key_servers
    assert asked.key_change == dep.KeyChange(2, "refresh", d.threshold,
                                             tuple(replace(s, public_share=b"") for s in d.key_servers))
    assert asked.dkg_parameters(2).kind == dkg.REFRESH
    # the key servers run it and the administrator publishes it: same secrets, new shares
    board, _ = run_keygen(published)
    renewed = publish_result(published, board)
    keys = renewed.quorum_keys
    assert keys is not None and (keys.epoch, keys.generation, keys.kind) == (2, 1, "refresh")
    assert renewed.key_epoch == d.key_epoch == 1, "entries bind the generation, which a refresh keeps"
    assert renewed.oprf_public_key == d.oprf_public_key and keys.levels == d.quorum_keys.levels
    assert all(renewed.key_server(i).public_share != d.key_server(i).public_share for i in (1, 2, 3))
    assert renewed.key_change is None
    dep.validate(renewed)


def test_refresh_keys_refuses_before_the_first_keys_and_changes_nothing(tmp_path: Path) -> None:
    folder = make_deployment(tmp_path / "data")
    before = _snapshot(folder.root)
    with pytest.raises(InvalidInput, match="have not published their first keys"):
        refresh_keys(folder.root, PASSPHRASE)
    assert _snapshot(folder.root) == before


def test_change_key_servers_asks_for_a_resharing(published: Folder, tmp_path: Path) -> None:
    root = published.root
    d = load_deployment(root)
    [new] = _enroll(tmp_path / "new", 1)
    added = change_key_servers(root, PASSPHRASE, add=[new], threshold=3)
    change = added.key_change
    assert change is not None and (change.epoch, change.kind, change.threshold) == (2, "reshare", 3)
    assert [s.identity_key for s in change.servers] == [*(s.identity_key for s in d.key_servers), new.identity_key]
    assert [s.index for s in change.servers] == [1, 2, 3, 4] and not any(s.public_share for s in change.servers)
    assert added.key_servers == d.key_servers and added.threshold == d.threshold, "in force until published"
    params = added.dkg_parameters(2)
    assert params.kind == dkg.RESHARE and [p.index for p in params.dealers] == [1, 2, 3]
    assert dep.verify(json.loads(published.data.escrow.published.read_text()),
                      dep.admin_fingerprint(share_file.read(published.data.keyserver(1).membership).admin_key)
                      ) == added
    # another ask replaces the pending one, at the next epoch: remove key server 2 (3 is renumbered 2)
    removed = change_key_servers(root, PASSPHRASE, remove=[2])
    change = removed.key_change
    assert change is not None and change.epoch == 3 and change.threshold == 2
    assert [(s.index, s.identity_key) for s in change.servers] == [
        (1, d.key_server(1).identity_key), (2, d.key_server(3).identity_key)]
    # replace key server 1 (a lost one, rebuilt with fresh keys at its index)
    replaced = change_key_servers(root, PASSPHRASE, replace_with={1: new})
    change = replaced.key_change
    assert change is not None and change.epoch == 4
    assert [s.identity_key for s in change.servers] == [new.identity_key, d.key_server(2).identity_key,
                                                        d.key_server(3).identity_key]
    dep.validate(replaced)


@pytest.mark.parametrize("ask, match", [
    ({"remove": [9]}, "no key server 9"),
    ({"replace_with": {7: None}}, "no key server 7"),
    ({"remove": [1], "replace_with": {1: None}}, "either removed or replaced"),
    ({"add": [None]}, "listed twice"),
    ({"threshold": 0}, "threshold must be between 1"),
    ({"threshold": 4}, "threshold must be between 1"),
    ({}, "nothing to change"),
    ({"remove": [1, 2, 3]}, "threshold must be between 1|nothing to change"),
])
def test_change_key_servers_refuses_bad_input_and_changes_nothing(published: Folder, tmp_path: Path,
                                                                 ask: dict[str, object], match: str) -> None:
    d = load_deployment(published.root)
    listed = share_file.read_enrollment(published.data.keyserver(1).enrollment)  # key server 1, already listed
    assert listed.identity_key == d.key_server(1).identity_key
    [fresh] = _enroll(tmp_path / "fresh", 1)
    kwargs: dict[str, object] = {}
    for name, value in ask.items():
        if name == "add":
            kwargs[name] = [listed]
        elif name == "replace_with":
            kwargs[name] = {i: fresh for i in value}  # type: ignore[attr-defined]
        else:
            kwargs[name] = value
    before = _snapshot(published.root)
    with pytest.raises(InvalidInput, match=match):
        change_key_servers(published.root, PASSPHRASE, **kwargs)  # type: ignore[arg-type]
    assert _snapshot(published.root) == before


def test_renewals_need_the_administrators_passphrase(published: Folder, tmp_path: Path) -> None:
    [fresh] = _enroll(tmp_path / "fresh", 1)
    before = _snapshot(published.root)
    with pytest.raises(ConsilienceError):
        refresh_keys(published.root, "wrong passphrase")
    with pytest.raises(ConsilienceError):
        change_key_servers(published.root, "wrong passphrase", add=[fresh])
    assert _snapshot(published.root) == before
