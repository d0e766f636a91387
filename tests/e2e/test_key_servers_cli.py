"""Separate operators' commands as people type them: ``keyserver-init`` on the key servers' machines,
``admin init --key-server`` with their enrollment files, and the renewal commands refusing in plain
words what cannot be done, changing nothing. Every command is a process writing to a pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ENV = {**os.environ, "CONSILIENCE_PASSPHRASE": "admin passphrase for the test"}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "consilience", *args], capture_output=True, text=True, cwd=cwd,
                          env=ENV, timeout=120)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_three_operators_enroll_and_the_administrator_lists_them_without_any_share(tmp_path: Path) -> None:
    folders = []
    for name, port in (("uni", 8101), ("charity", 8102), ("firm", 8103)):
        folder = tmp_path / name / "ks"
        r = cli("keyserver-init", "--folder", str(folder), "--url", f"https://keys.{name}.example:{port}",
                cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert "enrollment.json" in r.stdout and "nothing in it is secret" in r.stdout
        assert sorted(p.name for p in folder.iterdir()) == ["enrollment.json", "hpke.key", "identity.key"]
        folders.append(folder)
    again = cli("keyserver-init", "--folder", str(folders[0]), "--url", "https://keys.uni.example:8101", cwd=tmp_path)
    assert again.returncode == 1 and "already holds a key server's keys" in again.stderr
    bad = cli("keyserver-init", "--folder", str(tmp_path / "x"), "--url", "keys.example", cwd=tmp_path)
    assert bad.returncode == 1 and "is not an address" in bad.stderr and not (tmp_path / "x").exists()

    data = tmp_path / "admin"
    args = ["admin", "init", "--data-dir", str(data), "--threshold", "2", "--escrow-url", "https://escrow.example.org"]
    for folder in folders:
        args += ["--key-server", str(folder / "enrollment.json")]
    r = cli(*args, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    assert listed["key_servers"] == ["https://keys.uni.example:8101", "https://keys.charity.example:8102",
                                     "https://keys.firm.example:8103"]
    assert not list(data.glob("keyserver-*")), "admin init writes no key server's folder for separate operators"
    document = json.loads((data / "admin" / "deployment.json").read_text())
    assert document["oprf"]["public_key"] is None and document["quorum_keys"] is None
    assert document["key_change"]["kind"] == "generate" and document["key_change"]["epoch"] == 1
    for folder, server in zip(folders, document["oprf"]["servers"], strict=True):
        enrollment = json.loads((folder / "enrollment.json").read_text())
        assert server["identity_key"] == enrollment["identity_key"] and server["public_share"] is None

    damaged = tmp_path / "damaged.json"
    doc = json.loads((folders[0] / "enrollment.json").read_text())
    doc["url"] = "https://keys.elsewhere.example"
    damaged.write_text(json.dumps(doc))
    r = cli("admin", "init", "--data-dir", str(tmp_path / "other"), "--key-server", str(damaged), cwd=tmp_path)
    assert r.returncode == 1 and "was changed after its key server made it" in r.stderr
    assert not (tmp_path / "other" / "admin").exists()

    before = snapshot(data)
    r = cli("admin", "refresh-keys", "--data-dir", str(data), cwd=tmp_path)
    assert r.returncode == 1 and "have not published their first keys yet" in r.stderr
    r = cli("admin", "key-servers", "--data-dir", str(data), "--remove", "9", cwd=tmp_path)
    assert r.returncode == 1 and "have not published their first keys yet" in r.stderr
    r = cli("admin", "key-servers", "--data-dir", str(data), "--replace", "two=x.json", cwd=tmp_path)
    assert r.returncode == 1 and "N=ENROLLMENT_FILE" in r.stderr
    assert snapshot(data) == before, "a refused command changes nothing"

    r = cli("admin", "restart-keygen", "--data-dir", str(data), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "key generation at epoch 2" in r.stdout and "publish-keys" in r.stdout
    document = json.loads((data / "admin" / "deployment.json").read_text())
    assert document["key_change"]["epoch"] == 2 and document["serial"] == 2

    r = cli("admin", "status", "--data-dir", str(data), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Asked of the key servers: a key generation at epoch 2 (2 of 3)" in r.stdout


def test_admin_init_for_another_host_over_plain_http_says_to_use_tls_and_writes_nothing(tmp_path: Path) -> None:
    r = cli("admin", "init", "--data-dir", str(tmp_path / "d"), "--host", "escrow.example.org", cwd=tmp_path)
    assert r.returncode == 1 and "must be reached over TLS" in r.stderr
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").rglob("*"))


def test_keyserver_without_folder_or_index_says_which_to_give(tmp_path: Path) -> None:
    r = cli("keyserver", cwd=tmp_path)
    assert r.returncode == 1 and "--folder" in r.stderr and "--index" in r.stderr
    r = cli("keyserver", "--folder", str(tmp_path / "nothing"), cwd=tmp_path)
    assert r.returncode == 1 and "keyserver-join" in r.stderr

