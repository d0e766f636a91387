"""The reporter's side of the key servers (clients/oprf_client.py) against simulated key servers.

Each simulated key server runs the real checks and answers (tests/v2_world.py)
behind an httpx.MockTransport, so the client's parallel requests, per-server
signatures and answer checks are exercised exactly as over HTTP. Lying key
servers are written as a compromised operator would run them: they change
what they send, not the client.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from consilience.clients import oprf_client  # noqa: E402
from consilience.crypto import oprf  # noqa: E402
from consilience.crypto.bls12381 import G1Point, Scalar  # noqa: E402
from consilience.protocol import evaluation, quorum  # noqa: E402
from consilience.protocol.encoding import b64u_decode, b64u_encode  # noqa: E402
from consilience.protocol.matching import match_tag  # noqa: E402
from v2_world import V2World, ident, make_v2_world  # noqa: E402

Tamper = Callable[[dict[str, object]], dict[str, object]]


def transport(world: V2World, *, tamper: dict[int, Tamper] | None = None, down: tuple[int, ...] = (),
              seen: list[tuple[int, bytes]] | None = None) -> httpx.MockTransport:
    ports = {urlparse(s.url).port: s.index for s in world.deployment.key_servers}

    def handle(request: httpx.Request) -> httpx.Response:
        index = ports[request.url.port]
        if index in down:
            raise httpx.ConnectError("refused", request=request)
        doc = json.loads(request.content)
        req = evaluation.EvaluationRequest(
            certificate=b64u_decode(doc["certificate"]), audience=b64u_decode(doc["audience"]),
            issued_at=doc["issued_at"], nonce=b64u_decode(doc["nonce"]),
            blinded=tuple(b64u_decode(b) for b in doc["blinded"]), points=tuple(b64u_decode(p) for p in doc["points"]),
            signature=b64u_decode(doc["signature"]))
        if seen is not None:
            seen.append((index, req.audience))
        x, zs = world.answer(index, req)
        server = world.servers[index]
        evaluated, proof = oprf.voprf_blind_evaluate(server.oprf_share, world.deployment.key_server(index).public_share,
                                                     list(req.blinded))
        levels = list(world.deployment.quorum_range)
        answer: dict[str, object] = {
            "index": index, "evaluated": [b64u_encode(z) for z in evaluated], "proof": b64u_encode(proof),
            "abscissa": b64u_encode(x), "shares": [[b64u_encode(z[q]) for q in levels] for z in zs]}
        if tamper and index in tamper:
            answer = tamper[index](answer)
        return httpx.Response(200, json=answer)

    return httpx.MockTransport(handle)


@pytest.fixture(scope="module")
def world() -> V2World:
    return make_v2_world(n=3, t=2, label="oprf-client")


NAMES = [ident("email:boss@example.org"), ident("phone:+15550100")]


def credentials(world: V2World, label: str) -> oprf_client.Credentials:
    a = world.account(label)
    return oprf_client.Credentials(a.seed, a.certificate)


def test_shares_check_and_match_the_tags_of_every_reporter(world: V2World) -> None:
    seen: list[tuple[int, bytes]] = []
    got = oprf_client.evaluate(world.deployment, [n.oprf_input for n in NAMES], credentials(world, "a"),
                               transport=transport(world, seen=seen))
    assert got.used == [1, 2] and got.skipped == {}
    assert [match_tag(y) for y in got.outputs] == [match_tag(world.oprf_output(n)) for n in NAMES]
    # one request per key server, each addressed to that server's identity key alone
    assert sorted(seen) == sorted((i, world.deployment.key_server(i).identity_key) for i in (1, 2))
    other = oprf_client.evaluate(world.deployment, [NAMES[0].oprf_input], credentials(world, "b"),
                                 transport=transport(world))
    assert other.outputs[0] == got.outputs[0] and other.abscissa != got.abscissa


def test_a_key_server_that_is_down_is_replaced(world: V2World) -> None:
    got = oprf_client.evaluate(world.deployment, [NAMES[0].oprf_input], credentials(world, "a"),
                               transport=transport(world, down=(1,)))
    assert got.used == [2, 3] and "could not be reached" in got.skipped[1]


def _wrong_share(answer: dict[str, object]) -> dict[str, object]:
    rows = answer["shares"]
    assert isinstance(rows, list)
    forged = G1Point.generator().mul_public(Scalar(12345)).to_bytes()
    return {**answer, "shares": [[b64u_encode(forged)] + row[1:] for row in rows]}


def _small_order_added(answer: dict[str, object]) -> dict[str, object]:
    # A point outside the prime-order subgroup: a lying server pushing an honest share out of the group.
    rows = answer["shares"]
    assert isinstance(rows, list)
    bad = bytes.fromhex("a0" + "00" * 46 + "01")  # a compressed encoding that does not decode into G1
    return {**answer, "shares": [[b64u_encode(bad)] + row[1:] for row in rows]}


def _other_abscissa(answer: dict[str, object]) -> dict[str, object]:
    return {**answer, "abscissa": b64u_encode(Scalar(7).to_bytes())}


@pytest.mark.parametrize("lie", [_wrong_share, _small_order_added, _other_abscissa])
def test_a_lying_key_server_is_named_and_the_others_used(world: V2World, lie: Tamper) -> None:
    got = oprf_client.evaluate(world.deployment, [NAMES[0].oprf_input], credentials(world, "a"),
                               transport=transport(world, tamper={1: lie}))
    assert 1 in got.skipped and got.used == [2, 3]
    honest = oprf_client.evaluate(world.deployment, [NAMES[0].oprf_input], credentials(world, "a"),
                                  transport=transport(world, down=(1,)))
    assert got.shares[0].share_bytes(2) == honest.shares[0].share_bytes(2)


def test_too_many_liars_send_nothing(world: V2World) -> None:
    with pytest.raises(oprf_client.KeyServerUnavailable) as caught:
        oprf_client.evaluate(world.deployment, [NAMES[0].oprf_input], credentials(world, "a"),
                             transport=transport(world, tamper={1: _wrong_share, 2: _wrong_share}))
    assert caught.value.answered < 2 and set(caught.value.skipped) >= {1, 2}


def test_a_request_replayed_to_another_key_server_is_refused(world: V2World) -> None:
    """Attack 2 at the request level: key server 1 keeps a request it got and sends it to key server 2."""
    captured: list[evaluation.EvaluationRequest] = []
    a = world.account("victim")
    point = quorum.blind(NAMES[0].oprf_input).blinded
    req = evaluation.make_request(a.seed, a.certificate, world.deployment.deployment_id,
                                  world.deployment.key_server(1).identity_key, [os.urandom(32)], [point],
                                  now=1_790_000_100)
    captured.append(req)
    world.answer(1, req)
    from consilience.errors import VerificationError

    with pytest.raises(VerificationError, match="another key server"):
        world.answer(2, captured[0])
    with pytest.raises(VerificationError, match="already answered"):
        world.answer(1, captured[0])
