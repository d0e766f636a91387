"""Shared builders for the protocol tests.

Nothing here depends on ``protocol/identifiers.py``: ``seal_entry`` only reads
``.typed``, ``.canonical`` and ``.oprf_input``, so a small frozen dataclass
stands in for a normalised identifier. The OPRF output is computed directly
from the dealt master key (RFC 9497 Evaluate), which is what t key servers
would jointly produce.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import pytest

from consilience.crypto import hpke, oprf, signing, threshold_oprf
from consilience.protocol import deployment as dep
from consilience.protocol.deployment import Counselor, Deployment, KeyServer


@dataclass(frozen=True)
class FakeIdentifier:
    typed: str
    canonical: str

    @property
    def oprf_input(self) -> bytes:
        return self.canonical.encode("utf-8")


def ident(canonical: str, typed: str | None = None) -> FakeIdentifier:
    return FakeIdentifier(typed=typed if typed is not None else canonical.upper(), canonical=canonical)


def seed_of(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def account(i: int, label: str = "acct") -> bytes:
    """A deterministic, distinct 16-byte account id."""
    return hashlib.sha256(f"{label}/{i}".encode()).digest()[:16]


@dataclass(frozen=True)
class CounselorKeys:
    name: str
    seed: bytes
    public_key: bytes
    key_id: bytes


@dataclass(frozen=True)
class World:
    deployment: Deployment
    admin_private: bytes
    issuer_private: bytes
    oprf_sk: bytes
    key_shares: dict[int, bytes]
    counselors: tuple[CounselorKeys, ...]

    def oprf_output(self, identifier: FakeIdentifier) -> bytes:
        return oprf.evaluate(self.oprf_sk, identifier.oprf_input, oprf.MODE_VOPRF)

    @property
    def fingerprint(self) -> bytes:
        return dep.admin_fingerprint(signing.public_key(self.admin_private))

    def published(self) -> dict[str, str]:
        return dep.sign(self.deployment, self.admin_private)


def make_counselor(name: str) -> CounselorKeys:
    seed = hpke.generate_private_key()
    pk = hpke.public_key_bytes(seed)
    return CounselorKeys(name, seed, pk, hpke.key_id(pk))


def make_world(
    *,
    n: int = 3,
    t: int = 2,
    quorum: int = 2,
    max_quorum: int = 5,
    counselors: int = 1,
    serial: int = 1,
    label: str = "world",
) -> World:
    dealing_seed = seed_of(f"{label}/dealing")
    group_pk, shares = threshold_oprf.deal_key(t, n, dealing_seed)
    sk, pk = oprf.derive_key_pair(dealing_seed, threshold_oprf.DEALING_INFO, oprf.MODE_VOPRF)
    assert pk == group_pk
    keys = tuple(make_counselor(f"counselor {i}") for i in range(1, counselors + 1))
    admin = signing.generate()
    issuer = signing.generate()
    deployment = Deployment(
        deployment_id=seed_of(f"{label}/id")[:16],
        serial=serial,
        issued_at="2026-11-25T10:00:00Z",
        quorum=quorum,
        max_quorum=max_quorum,
        escrow_url="http://127.0.0.1:8100",
        token_issuer_key=signing.public_key(issuer),
        threshold=t,
        oprf_public_key=group_pk,
        key_servers=tuple(
            KeyServer(i, f"http://127.0.0.1:{8100 + i}", threshold_oprf.public_share(shares[i]))
            for i in sorted(shares)
        ),
        counselors=tuple(Counselor(c.name, c.key_id, c.public_key) for c in keys),
        log_origin=f"consilience.log/{seed_of(f'{label}/log')[:8].hex()}",
        log_public_key=signing.public_key(signing.generate()),
    )
    dep.validate(deployment)
    return World(deployment, admin, issuer, sk, shares, keys)


def with_fields(d: Deployment, **changes: object) -> Deployment:
    return replace(d, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def world() -> World:
    """3 key servers (t=2), quorum range 2..5, two counselors."""
    return make_world(counselors=2, label="session")
