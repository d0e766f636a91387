"""The escrow server believes X-Forwarded-For only from a proxy it was told to trust (real processes).

uvicorn's default trusts the header from loopback, so anyone on the machine (or a proxy that
passes the header through) could give each request a fresh address and never run out of a
per-address budget: the review bought 600 key-server evaluations that way. Here a client
guesses bearer tokens, each request claiming another address; the budget of failed
authentications per address stops it all the same. The control: a server told that 127.0.0.1
is its proxy takes the header's address, so the same requests spread over many budgets.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from consilience.local import launcher
from consilience.operator.deployment import init_deployment
from consilience.services.escrow.limits import LimitSettings

pytestmark = pytest.mark.e2e

BURST = int(LimitSettings().auth_failures_per_address.burst)


def guesses(url: str, count: int) -> list[int]:
    statuses = []
    with httpx.Client(timeout=10) as http:
        for n in range(count):
            r = http.get(f"{url}/v2/entries", headers={"Authorization": "Bearer " + "A" * 43,
                                                         "X-Forwarded-For": f"203.0.113.{n}"})
            statuses.append(r.status_code)
    return statuses


@pytest.mark.parametrize("trusted", [False, True], ids=["no proxy trusted", "control: loopback trusted"])
def test_a_spoofed_forwarded_for_gets_no_fresh_budget(tmp_path: Path, trusted: bool) -> None:
    port, *ks = launcher.free_ports(3)
    data = tmp_path / "deploy"
    init_deployment(data, "admin passphrase", quorum=2, max_quorum=3, key_servers=2, threshold=2,
                    escrow_port=port, keyserver_ports=ks, kdf_params={"memory_cost_kib": 8192, "iterations": 1,
                                                                      "lanes": 1})
    service = launcher.escrow_service(data, port, extra_args=["--trusted-proxy", "127.0.0.1"] if trusted else [])
    service.start()
    try:
        statuses = guesses(service.url, BURST + 20)
    finally:
        service.stop()
    assert set(statuses) <= {401, 429}
    if trusted:
        assert 429 not in statuses  # each claimed address has its own budget
    else:
        assert statuses[:BURST] == [401] * BURST and set(statuses[BURST:]) == {429}
