"""What the key servers' files are worth to an attacker (PROTOCOL.md §2, the row of *t* key servers).

Whoever holds t key-server folders (their quorum-keys.json) holds every F_q: Lagrange at 0 over
the servers' coefficient shares gives a_{q,j}. With one envelope section of one entry (what a
counselor key and the database give: x, σ_q, U) they then compute P* = F_q(x)⁻¹·σ_q,
S = F_q(0)·P* and the wrap key, from a single share, below quorum. With t − 1 folders the same
computation gives another key. This is why the HPKE layer to counselors stays mandatory, and why
the key servers' folders are 0600 and nobody else ever holds an F_q.
"""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from consilience.crypto.bls12381 import Scalar, lagrange_coefficients
from consilience.protocol import quorum
from consilience.protocol.encoding import b64u_decode
from consilience.services.keyserver import quorum_store
from consilience.services.keyserver.app import create_app
from consilience.services.keyserver.settings import Settings
from keyserver_world import Folder, account, identifiers, keygen_and_publish, make_deployment, request_body

Q = 3  # the entry's quorum: one account's share is one short of it by two


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One reporter's section at quorum 3: its abscissa, σ_3, U, and the wrap key it used (the body key's key)."""
    folder = make_deployment(tmp_path_factory.mktemp("trust") / "data", quorum=2, max_quorum=3)
    keygen_and_publish(folder)
    params = folder.deployment.quorum_parameters()
    who = account(folder)
    blinded, [point] = identifiers(1)
    answers, x = {}, None
    for index in (1, 2):
        app = create_app(Settings(folder=folder.data.keyserver(index), index=index, run_keygen=False))
        doc = TestClient(app).post("/v2/evaluate", json=request_body(
            folder, who, folder.deployment.key_server(index).identity_key, blinded=blinded,
            points=[point.blinded])).json()
        answers[index] = {q: b64u_decode(z) for q, z in zip((2, 3), doc["shares"][0], strict=True)}
        x = Scalar.from_bytes(b64u_decode(doc["abscissa"]))
    assert x is not None
    shares = quorum.combine(params, point, os.urandom(64), x, answers)
    context = quorum.WrapContext(folder.deployment.deployment_id, 1, os.urandom(16), 0, os.urandom(32))
    wrapped = quorum.wrap(params.level(Q), shares.base, context)
    return folder, x, shares.shares[Q], wrapped, context


def key_from_folders(folder: Folder, indices: list[int], x: Scalar, sigma, u: bytes,  # type: ignore[no-untyped-def]
                     context: quorum.WrapContext) -> bytes:
    """The attacker's computation from the quorum-keys.json of the key servers INDICES and one section."""
    held = {i: quorum_store.read(folder.data.keyserver(i).quorum_keys) for i in indices}
    lam = lagrange_coefficients([Scalar(i) for i in indices])
    coefficients = []
    for j in range(Q):
        total = Scalar(0)
        for weight, i in zip(lam, indices, strict=True):
            total = total + weight * held[i].shares[Q][j]  # type: ignore[union-attr]
        coefficients.append(total)
    f_x = Scalar(0)
    for c in reversed(coefficients):
        f_x = f_x * x + c
    base = sigma.mul_public(f_x.inverse())  # P* = F_q(x)⁻¹·σ_q
    secret = quorum.QuorumSecret(Q, base.mul_public(coefficients[0]))  # S = F_q(0)·P*
    return quorum.unwrap(secret, u, context)


def test_t_key_server_folders_and_one_section_open_an_entry_below_its_quorum(sealed) -> None:  # type: ignore[no-untyped-def]
    folder, x, sigma, wrapped, context = sealed
    assert key_from_folders(folder, [1, 2], x, sigma, wrapped.u, context) == wrapped.key
    assert key_from_folders(folder, [2, 3], x, sigma, wrapped.u, context) == wrapped.key


def test_fewer_than_t_folders_give_another_key(sealed) -> None:  # type: ignore[no-untyped-def]
    folder, x, sigma, wrapped, context = sealed
    for alone in ([1], [2], [3]):
        assert key_from_folders(folder, alone, x, sigma, wrapped.u, context) != wrapped.key
