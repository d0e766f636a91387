"""A loopback deployment (local/loopback.py, what ``consilience demo`` starts) runs the key generation across
its key-server processes over the real escrow server's board, publishes the result, and is ready to
evaluate when ``start`` returns: every key server answers /v2/evaluate with shares that check against
the commitments in the signed document clients fetch."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from consilience.crypto.bls12381 import Scalar
from consilience.local import loopback
from consilience.protocol import accounts, evaluation, quorum
from consilience.protocol import deployment as dep
from consilience.protocol.encoding import b64u_decode, b64u_encode

pytestmark = pytest.mark.e2e

KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}


def test_a_loopback_deployment_is_ready_with_published_quorum_keys(tmp_path: Path) -> None:
    from consilience.operator.deployment import unseal_admin_key

    deployment = loopback.create(tmp_path / "data", "admin pass", quorum=2, max_quorum=4, kdf_params=KDF)
    seen: list[str] = []
    with deployment.start(on_progress=lambda p: seen.append(p.describe())):
        published = httpx.get(f"{deployment.url}/v2/deployment", timeout=10).json()
        d = dep.verify(published, deployment.admin_fingerprint)
        assert d.quorum_keys is not None and d.quorum_keys.epoch == 1 and d.quorum_keys.qualified == (1, 2, 3)
        for url in deployment.keyserver_urls:
            assert httpx.get(f"{url}/v2/info", timeout=10).json()["keygen"]["done"] is True

        admin = unseal_admin_key(deployment.root, "admin pass")
        seed = os.urandom(32)
        cert = accounts.issue_certificate(admin, d.deployment_id, accounts.account_key(seed))
        blinded = quorum.blind(b"email:dana@example.com")
        from consilience.crypto import oprf

        element = oprf.blind(b"email:dana@example.com", oprf.MODE_VOPRF)[1]
        answers, xs = {}, set()
        for server in d.key_servers:
            req = evaluation.make_request(seed, cert, d.deployment_id, server.identity_key, [element],
                                          [blinded.blinded])
            body = {"certificate": b64u_encode(req.certificate), "audience": b64u_encode(req.audience),
                    "issued_at": req.issued_at, "nonce": b64u_encode(req.nonce), "blinded": [b64u_encode(element)],
                    "points": [b64u_encode(blinded.blinded)], "signature": b64u_encode(req.signature)}
            r = httpx.post(f"{server.url}/v2/evaluate", json=body, timeout=10)
            assert r.status_code == 200, r.text
            doc = r.json()
            xs.add(doc["abscissa"])
            answers[server.index] = {q: b64u_decode(z) for q, z in zip(d.quorum_range, doc["shares"][0], strict=True)}
        assert len(xs) == 1, "every key server derives the same abscissa for the account"
        x = Scalar.from_bytes(b64u_decode(xs.pop()))
        for pair in ((1, 2), (2, 3), (1, 3)):
            shares = quorum.combine(d.quorum_parameters(), blinded, os.urandom(64), x,
                                    {i: answers[i] for i in pair})
            assert not shares.dishonest
    assert seen, "start reported progress while the key servers worked"
