"""Per-address and per-account budgets of the escrow server answer 429 and change nothing."""

from __future__ import annotations

import os
from pathlib import Path

from consilience.services.escrow.limits import LimitSettings

from .harness import API, b64, build

TIGHT = LimitSettings(registrations_per_address=(1.0, 3.0), auth_failures_per_address=(1.0, 2.0),
                      entry_writes_per_account=(1.0, 2.0))


def test_registrations_per_address(tmp_path: Path, database_url: str | None) -> None:
    escrow = build(tmp_path, database_url=database_url, limits=TIGHT)
    for _ in range(3):
        assert escrow.register(escrow.invite()).status_code == 201
    before = escrow.counts()
    refused = escrow.register(escrow.invite())
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    after = escrow.counts()
    assert after["accounts"] == before["accounts"]
    assert after["invites"] == before["invites"] + 1  # only the invite the test itself created


def test_failed_authentications_per_address(tmp_path: Path, database_url: str | None) -> None:
    escrow = build(tmp_path, database_url=database_url, limits=TIGHT)
    bad = {"Authorization": f"Bearer {b64(os.urandom(32))}"}
    assert [escrow.client.get(f"{API}/entries", headers=bad).status_code for _ in range(3)] == [401, 401, 429]


def test_entry_writes_per_account(tmp_path: Path, database_url: str | None) -> None:
    escrow = build(tmp_path, database_url=database_url, limits=TIGHT)
    a, b = escrow.reporter(), escrow.reporter()
    assert escrow.submit(a, escrow.submission()).status_code == 201
    assert escrow.submit(a, escrow.submission()).status_code == 201
    before = escrow.counts()
    assert escrow.submit(a, escrow.submission()).status_code == 429
    assert escrow.counts() == before
    assert escrow.submit(b, escrow.submission()).status_code == 201
