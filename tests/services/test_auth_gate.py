"""The failed-authentication budget gates every authentication from an address (issue 12, item 4 A).

Before, an address that had spent its budget of failed authentications was slowed only while it
kept failing: the budget was charged on failure and never checked first, so a valid token (one the
attacker guessed, or stole) still passed from that address. Now the budget is checked before any
token is looked up, so once it is spent every authentication from that address is refused with
429 and Retry-After until it recovers, valid tokens included; another address is not affected.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi.testclient import TestClient

from consilience.services.escrow.limits import LimitSettings

from .harness import API, b64, build

#: three failures per address, refilling far too slowly to matter during the test
TIGHT = LimitSettings(auth_failures_per_address=(0.001, 3.0))


def test_a_spent_failure_budget_refuses_even_a_valid_token_from_that_address(tmp_path: Path) -> None:
    escrow = build(tmp_path, limits=TIGHT)
    victim = escrow.reporter()
    assert escrow.client.get(f"{API}/entries", headers=victim.headers).status_code == 200

    # the attacker guesses tokens from one address until the server says 429
    statuses = []
    for _ in range(10):
        guess = {"Authorization": f"Bearer {b64(os.urandom(32))}"}
        statuses.append(escrow.client.get(f"{API}/entries", headers=guess).status_code)
        if statuses[-1] == 429:
            break
    assert statuses == [401, 401, 401, 429]

    # then a valid token from that same address is refused too, and says when to come back
    refused = escrow.client.get(f"{API}/entries", headers=victim.headers)
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) > 0
    assert "authentication" in refused.json()["detail"]
    # a counselor's token, or no token at all, from that address: the same
    assert escrow.client.get(f"{API}/matches").status_code == 429

    # from another address the same valid token passes
    other = TestClient(escrow.client.app, client=("192.0.2.7", 50000))
    assert other.get(f"{API}/entries", headers=victim.headers).status_code == 200


def test_the_gate_does_not_charge_successful_authentications(tmp_path: Path) -> None:
    escrow = build(tmp_path, limits=TIGHT)
    reporter = escrow.reporter()
    assert [escrow.client.get(f"{API}/entries", headers=reporter.headers).status_code
            for _ in range(20)] == [200] * 20


def test_expired_sessions_spend_no_failure_budget(tmp_path: Path) -> None:
    """Clients meet an expired session each time one runs out: that is not guessing, and costs nothing."""
    from sqlalchemy import update

    from consilience.storage import repository
    from consilience.storage.models import AccountSession

    escrow = build(tmp_path, limits=TIGHT)
    reporter = escrow.reporter()
    with escrow.db.write() as session:
        session.execute(update(AccountSession).values(expires_at=repository.utcnow().replace(year=2000)))
    answers = [escrow.client.get(f"{API}/entries", headers=reporter.headers) for _ in range(6)]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [(401, "session_expired")] * 6
    fresh = escrow.reporter()
    assert escrow.client.get(f"{API}/entries", headers=fresh.headers).status_code == 200
