"""A request is charged to all of its budgets or to none (issue 12, item 4).

The attack: an account that has spent its own evaluation budget keeps sending signed requests
from its address. Each is refused for the account, but if the address's budget was charged first,
every refusal spends the address's budget too, until everyone behind that address (a shared NAT,
an office, a shelter's network) is locked out of the key server. Here the account spends its own
budget with real signed requests, keeps going, and a second account behind the same address must
still get its evaluations; nor may the refusals spend the key server's global budget.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import pytest
from fastapi.testclient import TestClient

from consilience.services.http_errors import Refusal
from consilience.services.keyserver.app import create_app
from consilience.services.keyserver.limits import LimitSettings
from consilience.services.keyserver.settings import Settings
from consilience.services.limits import Budgets, Charge, Rate, RateLimits, TokenBucket, take_all
from keyserver_world import Folder, account, make_deployment, request_body, run_keygen
from v2_world import Account

#: next to no refill during a test: what is spent stays spent
SLOW = 0.001


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    folder = make_deployment(tmp_path_factory.mktemp("budgets") / "data")
    run_keygen(folder)
    return folder


def key_server(folder: Folder, limits: LimitSettings) -> TestClient:
    settings = Settings(folder=folder.data.keyserver(1), index=1, run_keygen=False)
    return TestClient(create_app(replace(settings, limits=limits)))


def ask(c: TestClient, folder: Folder, who: Account, n: int) -> int:
    audience = folder.deployment.key_server(1).identity_key
    status: int = c.post("/v2/evaluate", json=request_body(folder, who, audience, n)).status_code
    return status


def test_an_account_out_of_budget_cannot_lock_out_its_address(folder: Folder) -> None:
    c = key_server(folder, LimitSettings(evaluations_per_account=Rate(SLOW, 4), evaluations_per_address=Rate(SLOW, 12),
                                         evaluations_total=Rate(SLOW, 1000)))
    mallory, alice = account(folder), account(folder)
    assert [ask(c, folder, mallory, 2) for _ in range(2)] == [200, 200]  # its own budget, spent honestly
    refused = [ask(c, folder, mallory, 8) for _ in range(10)]  # 80 evaluations asked for, none answered
    assert refused == [429] * 10
    # the same address (TestClient's), other accounts: 4 of the address's 12 are spent, not all of them
    carol = account(folder)
    assert [ask(c, folder, alice, 2), ask(c, folder, alice, 2), ask(c, folder, carol, 2), ask(c, folder, carol, 2)] \
        == [200] * 4
    audience = folder.deployment.key_server(1).identity_key
    last = c.post("/v2/evaluate", json=request_body(folder, account(folder), audience, 1))
    assert last.status_code == 429 and "for this address" in last.json()["detail"], "12 of 12 spent"


def test_a_spent_global_budget_spends_nothing_of_the_account_or_the_address(folder: Folder) -> None:
    c = key_server(folder, LimitSettings(evaluations_per_account=Rate(SLOW, 4), evaluations_per_address=Rate(SLOW, 20),
                                         evaluations_total=Rate(SLOW, 4)))
    alice = account(folder)
    assert ask(c, folder, alice, 2) == 200
    assert ask(c, folder, account(folder), 2) == 200  # the global budget is spent now
    assert [ask(c, folder, alice, 2) for _ in range(5)] == [429] * 5
    limits = c.app.state.keyserver.limits  # type: ignore[attr-defined]
    assert limits.used("evaluations_per_account", alice.key) == pytest.approx(0.5, abs=1e-3)
    assert limits.used("evaluations_per_address", "testclient") == pytest.approx(0.2, abs=1e-3)


def test_a_refusal_by_the_address_spends_nothing_of_the_account(folder: Folder) -> None:
    c = key_server(folder, LimitSettings(evaluations_per_account=Rate(SLOW, 6), evaluations_per_address=Rate(SLOW, 3),
                                         evaluations_total=Rate(SLOW, 1000)))
    alice = account(folder)
    assert ask(c, folder, alice, 2) == 200
    r = c.post("/v2/evaluate", json=request_body(folder, alice, folder.deployment.key_server(1).identity_key, 2))
    assert r.status_code == 429 and "for this address" in r.json()["detail"] and int(r.headers["Retry-After"]) > 0


# -- the mechanism ---------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_take_all_charges_every_bucket_or_none() -> None:
    clock = Clock()
    address, own = TokenBucket(10, 1.0, clock=clock), TokenBucket(3, 1.0, clock=clock)
    assert take_all([(address, "a", 2), (own, "x", 2)]) == [0.0, 0.0]
    assert take_all([(address, "a", 2), (own, "x", 2)]) == [0.0, 1.0]  # x holds 1: one second short
    assert address.used("a") == pytest.approx(0.2) and own.used("x") == pytest.approx(2 / 3)
    clock.now = 1.0
    assert take_all([(address, "a", 2), (own, "x", 2)]) == [0.0, 0.0]
    assert address.used("a") == pytest.approx(0.3)  # 8 + 1 refilled, 2 taken: 7 of 10
    assert take_all([(own, "y", 2), (own, "y", 2)]) == [1.0, 1.0], "the same key twice is charged the sum"
    assert own.used("y") == 0.0


def test_budgets_charge_all_refuses_with_the_longest_wait_and_charges_nothing() -> None:
    @dataclass(frozen=True)
    class Limits(RateLimits):
        small: Rate = Rate(3600.0, 2.0)
        large: Rate = Rate(360.0, 5.0)

    budgets = Budgets(Limits())
    budgets.charge_all([Charge("small", "k", "small things", 2), Charge("large", "k", "large things", 4)])
    with pytest.raises(Refusal) as refused:
        budgets.charge_all([Charge("small", "k", "small things", 2), Charge("large", "k", "large things", 4)])
    assert refused.value.status == 429 and refused.value.detail == "too many large things; retry later"
    assert refused.value.headers == {"Retry-After": "30"}  # large: 3 short at 0.1 a second; small: 2 s
    assert budgets.used("large", "k") == pytest.approx(0.8, abs=1e-3)
    assert budgets.used("small", "k") == pytest.approx(1.0, abs=1e-2)


def test_concurrent_charges_never_overspend_nor_charge_half() -> None:
    clock = Clock()
    account, address = TokenBucket(10, 1e-9, clock=clock), TokenBucket(1000, 1e-9, clock=clock)
    answers: list[list[float]] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(50):
            answers.append(take_all([(address, "a", 1), (account, "x", 1)]))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for a in answers if a == [0.0, 0.0]) == 10
    assert address.used("a") == pytest.approx(10 / 1000) and account.used("x") == pytest.approx(1.0)
