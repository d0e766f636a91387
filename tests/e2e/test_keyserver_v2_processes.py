"""The review's cross-process attacks on key servers, as an attacker runs them (issue 11, (c) and point 3).

Two real key-server processes on loopback (``consilience keyserver``), their quorum keys from the
real key generation run in process beforehand (tests/keyserver_world.py):

* key server 1 keeps a request it received and replays it to key server 2: refused, and it cannot
  re-address it (the account's signature covers the audience) nor ask itself twice;
* a client on the same machine sends X-Forwarded-For headers naming fresh addresses: they do not
  buy a fresh per-address budget, unless the operator configured that proxy as trusted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from consilience.local import launcher
from consilience.protocol.encoding import b64u_encode
from consilience.services.keyserver.limits import LimitSettings
from keyserver_world import Folder, account, make_deployment, request_body, run_keygen

pytestmark = pytest.mark.e2e

LIMITS = LimitSettings(evaluations_per_account=(1000, 1000), evaluations_per_address=(1000, 1000),
                       evaluations_total=(100_000, 100_000))
#: two evaluations per address, refilling far too slowly to matter during the test
TIGHT = LimitSettings(evaluations_per_account=(1000, 1000), evaluations_per_address=(0.001, 2),
                      evaluations_total=(100_000, 100_000))


@dataclass
class Pair:
    folder: Folder
    services: list[launcher.Service]

    def url(self, index: int) -> str:
        return self.services[index - 1].url

    def audience(self, index: int) -> bytes:
        return self.folder.deployment.key_server(index).identity_key


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    escrow_port, *ports = launcher.free_ports(4)  # nothing listens on the escrow port: no key generation needed
    folder = make_deployment(tmp_path_factory.mktemp("procs") / "data", escrow_port=escrow_port,
                             keyserver_ports=ports)
    run_keygen(folder)
    services = [
        launcher.keyserver_service(folder.root, 1, ports[0], rate_limits=LIMITS),
        # key server 2 believes X-Forwarded-For from 127.0.0.1 (the control); key server 3 trusts no proxy
        launcher.keyserver_service(folder.root, 2, ports[1], rate_limits=TIGHT,
                                   extra_args=["--trusted-proxy", "127.0.0.1"]),
        launcher.keyserver_service(folder.root, 3, ports[2], rate_limits=TIGHT),
    ]
    try:
        launcher.start_all(services)
        yield Pair(folder, services)
    finally:
        for s in services:
            s.stop()


def test_key_server_1_replaying_a_request_to_key_server_2_is_refused(pair: Pair) -> None:
    reporter = account(pair.folder)
    body = request_body(pair.folder, reporter, pair.audience(1))
    honest = httpx.post(f"{pair.url(1)}/v2/evaluate", json=body, timeout=10)
    assert honest.status_code == 200, honest.text

    # key server 1, now the attacker, kept the request and sends it on
    replayed = httpx.post(f"{pair.url(2)}/v2/evaluate", json=body, timeout=10)
    assert replayed.status_code == 401, replayed.text
    assert "meant for another key server" in replayed.json()["detail"]
    readdressed = {**body, "audience": b64u_encode(pair.audience(2))}
    refused = httpx.post(f"{pair.url(2)}/v2/evaluate", json=readdressed, timeout=10)
    assert refused.status_code == 401 and "not signed by the certified account key" in refused.json()["detail"]
    again = httpx.post(f"{pair.url(1)}/v2/evaluate", json=body, timeout=10)
    assert again.status_code == 401 and "already answered" in again.json()["detail"]

    # the reporter's own request to key server 2 is answered: the refusals are about the replay, not the account
    own = httpx.post(f"{pair.url(2)}/v2/evaluate", json=request_body(pair.folder, reporter, pair.audience(2)),
                     timeout=10)
    assert own.status_code == 200, own.text
    assert own.json()["abscissa"] == honest.json()["abscissa"]


def test_a_spoofed_forwarded_for_from_loopback_gets_no_fresh_address_budget(pair: Pair) -> None:
    def ask(index: int, spoofed: str) -> httpx.Response:
        body = request_body(pair.folder, account(pair.folder), pair.audience(index))  # a fresh account each time
        return httpx.post(f"{pair.url(index)}/v2/evaluate", json=body, timeout=10,
                          headers={"X-Forwarded-For": spoofed})

    # key server 3 trusts no proxy: every request is 127.0.0.1's, whatever it claims
    answers = [ask(3, f"203.0.113.{n}") for n in range(1, 5)]
    statuses = [r.status_code for r in answers]
    assert statuses == [200, 200, 429, 429], statuses
    assert "for this address" in answers[-1].json()["detail"]

    # key server 2 was told 127.0.0.1 is its proxy: there the header names the client (the control, which
    # shows the header is what the attack would change)
    control = [ask(2, f"198.51.100.{n}").status_code for n in range(1, 5)]
    assert control == [200, 200, 200, 200]

