"""The review's attacks on a key server, run as an attacker would (issue 11, property (c) and the subgroup rule).

In process (ASGI): requests not signed by a certified account, certificates for another deployment,
reused or stale requests, requests for another key server, tampered elements; B outside the
prime-order subgroup, of small order, the identity, non-canonical. Each is refused and charges
no budget. The attacks that cross processes (a key server replaying to another, a spoofed
X-Forwarded-For) are in tests/e2e/test_keyserver_v2_processes.py.
"""

from __future__ import annotations

import os
import time

import pytest
from fastapi.testclient import TestClient

from consilience.crypto import signing
from consilience.crypto.bls12381 import FIELD_MODULUS, G1Point
from consilience.protocol import evaluation
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.services.keyserver.app import create_app
from consilience.services.keyserver.limits import LimitSettings
from consilience.services.keyserver.settings import Settings
from keyserver_world import Folder, account, body_of, identifiers, make_deployment, request_body, run_keygen

TIGHT = LimitSettings(evaluations_per_account=(0.001, 1), evaluations_per_address=(0.001, 1),
                      evaluations_total=(0.001, 1))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    f = make_deployment(tmp_path_factory.mktemp("attacks") / "data")
    run_keygen(f)
    return f


def key_server(folder: Folder, index: int = 1, limits: LimitSettings = TIGHT) -> TestClient:
    return TestClient(create_app(Settings(folder=folder.data.keyserver(index), index=index, run_keygen=False,
                                          limits=limits)))


def audience(folder: Folder, index: int = 1) -> bytes:
    return folder.deployment.key_server(index).identity_key


def still_has_its_whole_budget(folder: Folder, c: TestClient) -> None:
    """With every budget at a burst of 1, one honest evaluation passes only if nothing was charged before."""
    r = c.post("/v2/evaluate", json=request_body(folder, account(folder), audience(folder)))
    assert r.status_code == 200, r.text


# -- (c) a request is useless unless a certified account signed it, for this key server, now, once ---------


def test_a_request_signed_by_an_uncertified_key_is_refused_and_charges_nothing(folder: Folder) -> None:
    c = key_server(folder)
    forged = account(folder, admin_private=signing.generate())  # "certified" by someone else: the escrow host
    r = c.post("/v2/evaluate", json=request_body(folder, forged, audience(folder)))
    assert r.status_code == 401 and "not signed by this deployment's administrator" in r.json()["detail"]
    # a genuine certificate with a signature by another key (a stolen certificate without the seed)
    honest = account(folder)
    thief = account(folder)
    body = request_body(folder, thief, audience(folder))
    body["certificate"] = b64u_encode(honest.certificate)
    r = c.post("/v2/evaluate", json=body)
    assert r.status_code == 401 and "not signed by the certified account key" in r.json()["detail"]
    still_has_its_whole_budget(folder, c)


def test_a_certificate_for_another_deployment_is_refused(folder: Folder) -> None:
    c = key_server(folder)
    other = account(folder, deployment_id=os.urandom(16))
    r = c.post("/v2/evaluate", json=request_body(folder, other, audience(folder)))
    assert r.status_code == 401 and "another deployment" in r.json()["detail"]
    still_has_its_whole_budget(folder, c)


def test_a_reused_request_is_refused_and_charges_nothing(folder: Folder) -> None:
    c = key_server(folder, limits=LimitSettings(evaluations_per_account=(0.001, 2), evaluations_per_address=(0.001, 2),
                                                evaluations_total=(0.001, 2)))
    body = request_body(folder, account(folder), audience(folder))
    assert c.post("/v2/evaluate", json=body).status_code == 200
    for _ in range(3):
        again = c.post("/v2/evaluate", json=body)
        assert again.status_code == 401 and "already answered" in again.json()["detail"]
    still_has_its_whole_budget(folder, c)  # the second unit of every budget is still there


@pytest.mark.parametrize(("offset", "why"), [(-(evaluation.FRESHNESS_SECONDS + 5), "stale"),
                                             (evaluation.FRESHNESS_SECONDS + 5, "from the future")])
def test_a_stale_or_future_request_is_refused(folder: Folder, offset: int, why: str) -> None:
    c = key_server(folder)
    r = c.post("/v2/evaluate", json=request_body(folder, account(folder), audience(folder), now=time.time() + offset))
    assert r.status_code == 401 and "too old or from the future" in r.json()["detail"], why
    still_has_its_whole_budget(folder, c)


def test_a_request_for_another_key_server_is_refused(folder: Folder) -> None:
    c = key_server(folder, 1)
    r = c.post("/v2/evaluate", json=request_body(folder, account(folder), audience(folder, 2)))
    assert r.status_code == 401 and "meant for another key server" in r.json()["detail"]
    # pretending it was for this one breaks the account's signature
    body = request_body(folder, account(folder), audience(folder, 2))
    body["audience"] = b64u_encode(audience(folder, 1))
    r = c.post("/v2/evaluate", json=body)
    assert r.status_code == 401 and "not signed by the certified account key" in r.json()["detail"]
    still_has_its_whole_budget(folder, c)


def test_elements_swapped_after_signing_are_refused(folder: Folder) -> None:
    """A key server that saw a request cannot reuse its signature on points of its own choosing."""
    c = key_server(folder)
    body = request_body(folder, account(folder), audience(folder))
    _, mine = identifiers(1)
    body["points"] = [b64u_encode(mine[0].blinded)]
    r = c.post("/v2/evaluate", json=body)
    assert r.status_code == 401 and "not signed by the certified account key" in r.json()["detail"]
    still_has_its_whole_budget(folder, c)


# -- B must be a point of the prime-order subgroup, not the identity --------------------------------


P = FIELD_MODULUS


def _sqrt(a: int) -> int | None:
    y = pow(a, (P + 1) // 4, P)  # p = 3 mod 4
    return y if y * y % P == a % P else None


def _compress(x: int, y: int) -> bytes:
    flags = 0x80 | (0x20 if y > P - y else 0)
    data = bytearray(x.to_bytes(48, "big"))
    data[0] |= flags
    return bytes(data)


def _decompress(data: bytes) -> tuple[int, int]:
    x = int.from_bytes(bytes([data[0] & 0x1F]) + data[1:], "big")
    y = _sqrt(x ** 3 + 4)
    assert y is not None
    if (y > P - y) != bool(data[0] & 0x20):
        y = P - y
    return x, y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def off_subgroup_point() -> bytes:
    """A point on the curve y² = x³ + 4 outside the prime-order subgroup (the cofactor is not 1)."""
    x = 5
    while True:
        y = _sqrt(x ** 3 + 4)
        if y is not None:
            encoded = _compress(x, y)
            try:
                G1Point.from_bytes(encoded)
            except Exception:  # noqa: BLE001 - what we are looking for: refused by the checked decoder
                return encoded
        x += 1


#: (0, 2) has order 3: 2·(0, 2) = (0, -2).
ORDER_THREE = _compress(0, 2)


def bad_points() -> dict[str, bytes]:
    _, [honest] = identifiers(1)
    b_plus_t = _add(_decompress(honest.blinded), (0, 2))
    return {
        "off the subgroup": off_subgroup_point(),
        "of order 3": ORDER_THREE,
        "B plus a point of order 3": _compress(*b_plus_t),
        "the identity": bytes([0xC0]) + bytes(47),
        "not on the curve": _compress(next(x for x in range(1, 100) if _sqrt(x ** 3 + 4) is None), 1),
        "not compressed": bytes([honest.blinded[0] & 0x7F]) + honest.blinded[1:],
        "x not reduced": bytes([((P + 1) >> 376) | 0x80]) + (P + 1).to_bytes(48, "big")[1:],
    }


@pytest.mark.parametrize("name", list(bad_points()))
def test_a_point_outside_the_subgroup_or_the_identity_is_refused_before_any_budget(folder: Folder, name: str) -> None:
    point = bad_points()[name]
    c = key_server(folder)
    blinded, _ = identifiers(1)
    who = account(folder)
    body = request_body(folder, who, audience(folder), blinded=blinded, points=[point])
    r = c.post("/v2/evaluate", json=body)
    assert r.status_code == 400, (name, r.text)
    assert "not a valid group element" in r.json()["detail"]
    still_has_its_whole_budget(folder, c)


def test_a_small_order_point_beside_an_honest_one_is_refused_whole(folder: Folder) -> None:
    """No answer for the honest point either: the key server answers all of a request or none of it."""
    c = key_server(folder)
    blinded, [honest] = identifiers(2)[0], identifiers(1)[1]
    body = request_body(folder, account(folder), audience(folder), blinded=blinded,
                        points=[honest.blinded, ORDER_THREE])
    r = c.post("/v2/evaluate", json=body)
    assert r.status_code == 400 and "shares" not in r.json()
    still_has_its_whole_budget(folder, c)


def test_the_helpers_build_what_they_claim() -> None:
    """The bad points are what their names say (so the refusals above are for the right reason)."""
    _, [honest] = identifiers(1)
    assert _compress(*_decompress(honest.blinded)) == honest.blinded  # the arithmetic round-trips
    x, y = _decompress(ORDER_THREE)
    doubled = ((3 * x * x) * pow(2 * y, -1, P)) % P  # tangent slope at (0, 2)
    x2 = (doubled * doubled - 2 * x) % P
    assert (x2, (doubled * (x - x2) - y) % P) == (0, P - 2), "2·T = -T: T has order 3"
    body = body_of(evaluation.make_request(os.urandom(32), bytes(120), bytes(16), bytes(32), [bytes(32)],
                                           [honest.blinded]))
    assert [b64u_decode(p) for p in body["points"]] == [honest.blinded]  # type: ignore[attr-defined]
