"""The demo as a test: real processes on loopback, quorum 3, and a scan of
every file the deployment wrote for plaintext records or identifiers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from consilience.cli import demo

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_result(demo_run: dict) -> dict:
    """The demo's run (tests/e2e/conftest.py), shared with the other files that read what it wrote."""
    return demo_run


def test_counselor_reads_nothing_before_quorum_and_everything_at_it(demo_result: dict) -> None:
    assert demo_result["quorum"] == 3
    assert demo_result["released_after"] == 3
    records = sorted(e["record"] for e in demo_result["decrypted"])
    assert records == sorted(p["record"] for p in demo.REPORTERS)
    typed = sorted(tuple(e["identifiers"]) for e in demo_result["decrypted"])
    assert typed == sorted(tuple(p["names"]) for p in demo.REPORTERS)


def _secrets() -> list[str]:
    values = []
    for p in demo.REPORTERS:
        values.append(p["record"])
        values.append(p["record"][:24])
        values.extend(p["names"])
        values.append(p["contact"])
    values += ["dana.smith@example.com", "email:dana.smith@example.com", "danasmith_", "Dana Smith"]
    return values


def test_nothing_on_disk_holds_a_record_or_identifier_in_clear(demo_result: dict) -> None:
    root = Path(demo_result["data_dir"])
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.name.startswith("escrow.sqlite") for p in files), "the database should be in data_dir"
    needles = {s.lower().encode() for s in _secrets()}
    for path in files:
        content = path.read_bytes().lower()
        for needle in needles:
            assert needle not in content, f"{needle!r} found in clear in {path}"


def test_demo_lists_receipts_that_verify_offline(demo_result: dict) -> None:
    receipts = demo_result["receipts"]
    assert len(receipts) == len(demo.REPORTERS)
    # verify pins the log key through the administrator's fingerprint, which the administrator publishes
    status = subprocess.run([sys.executable, "-m", "consilience", "admin", "status", "--data-dir",
                             demo_result["data_dir"], "--json"], capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stdout + status.stderr
    fingerprint = json.loads(status.stdout)["admin_fingerprint"]
    for path in receipts:
        assert Path(path).is_file() and path.startswith(demo_result["data_dir"])
        proc = subprocess.run([sys.executable, "-m", "consilience", "verify", path, "--admin-fingerprint",
                               fingerprint, "--json"], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout)["event"] == "entry"
