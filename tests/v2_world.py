"""An in-process protocol v2 deployment for tests that need real quorum keys but no processes.

The quorum keys come from the real key generation (protocol/dkg.py) run
in-process among n simulated key servers; evaluation goes through the real
request signing and checks (protocol/evaluation.py), the real VOPRF and
protocol/quorum.answer, exactly what services/keyserver does over HTTP. The
ristretto255 VOPRF key comes from the same key generation: each simulated key
server's share is its ``KeyServerResult.oprf_share`` and the document carries
the public key and public shares of that result, published as ``admin
publish-keys`` publishes it (``operator.quorum_keys.quorum_keys_from_board``).
Nobody deals a key; the test world interpolates the secret key from t shares
only to compute expected outputs. Every seed is fixed by the world's label, so
its secrets are the same in every run (not its transcript: HPKE encryption in
the deals is randomised).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

from consilience.crypto import hpke, oprf, ristretto, shamir, signing
from consilience.operator.quorum_keys import Result, quorum_keys_from_board
from consilience.protocol import accounts, dkg, evaluation, quorum
from consilience.protocol import deployment as dep
from consilience.protocol.deployment import Counselor, Deployment, KeyChange, KeyServer
from consilience.protocol.matching import match_tag


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


@dataclass(frozen=True)
class CounselorKeys:
    name: str
    seed: bytes
    public_key: bytes
    key_id: bytes


def make_counselor(name: str) -> CounselorKeys:
    seed = hpke.generate_private_key()
    pk = hpke.public_key_bytes(seed)
    return CounselorKeys(name, seed, pk, hpke.key_id(pk))


@dataclass(frozen=True)
class Account:
    seed: bytes
    certificate: bytes

    @property
    def key(self) -> bytes:
        return accounts.account_key(self.seed)


@dataclass(frozen=True)
class SimKeyServer:
    index: int
    identity: bytes
    hpke_seed: bytes
    oprf_share: bytes
    result: dkg.KeyServerResult


@dataclass
class Evaluated:
    outputs: list[bytes]
    shares: list[quorum.IdentifierShares]
    tags: list[bytes]
    x: bytes


@dataclass
class V2World:
    deployment: Deployment
    admin_private: bytes
    oprf_sk: bytes
    servers: dict[int, SimKeyServer]
    counselors: tuple[CounselorKeys, ...]
    guard: dict[int, evaluation.ReplayGuard] = field(default_factory=dict)
    #: the document before the result was published: it asks the key servers to generate (serial 1)
    requested: Deployment | None = None

    @property
    def fingerprint(self) -> bytes:
        return dep.admin_fingerprint(signing.public_key(self.admin_private))

    def published(self) -> dict[str, str]:
        return dep.sign(self.deployment, self.admin_private)

    def account(self, label: str) -> Account:
        seed = seed_of(f"account/{label}")
        cert = accounts.issue_certificate(self.admin_private, self.deployment.deployment_id,
                                          accounts.account_key(seed), now=1_790_000_000)
        return Account(seed, cert)

    def oprf_output(self, identifier: FakeIdentifier) -> bytes:
        return oprf.evaluate(self.oprf_sk, identifier.oprf_input, oprf.MODE_VOPRF)

    def answer(self, index: int, request: evaluation.EvaluationRequest) -> tuple[bytes, list[dict[int, bytes]]]:
        """What key server ``index`` answers (abscissa, Z per point per level), after the real checks."""
        server = self.servers[index]
        d = self.deployment
        cert = evaluation.verify_request(request, admin_public=signing.public_key(self.admin_private),
                                         deployment_id=d.deployment_id, audience=signing.public_key(server.identity),
                                         now=request.issued_at)
        self.guard.setdefault(index, evaluation.ReplayGuard()).check(cert.account_key, request.nonce,
                                                                     request.issued_at, now=request.issued_at)
        x = accounts.abscissa(server.result.abscissa_key, d.deployment_id, cert.account_key)
        return x.to_bytes(), [quorum.answer(server.result.shares, x, b) for b in request.points]

    def evaluate(self, account: Account, identifiers: list[FakeIdentifier], *,
                 servers: tuple[int, ...] | None = None, unblind_with: list[bytes] | None = None,
                 liars: Mapping[int, Callable[[dict[int, bytes]], dict[int, bytes]]] | None = None) -> Evaluated:
        """A reporter's evaluation of ``identifiers`` with t of the key servers, checked as the client checks it.

        ``unblind_with`` replaces the VOPRF outputs used to unblind (an attacker's own choice of z, so
        genuine shares on a base P' of its choosing; ``outputs`` and ``tags`` stay the real ones);
        ``liars`` maps a key server to what it does to each of its honest answers (q -> Z bytes).
        """
        d = self.deployment
        params = d.quorum_parameters()
        chosen = servers or tuple(sorted(self.servers))[: d.threshold]
        outputs = [self.oprf_output(i) for i in identifiers]
        unblinding = outputs if unblind_with is None else unblind_with
        blinded = [quorum.blind(i.oprf_input) for i in identifiers]
        answers: dict[int, list[dict[int, bytes]]] = {}
        xs = set()
        for index in chosen:
            audience = signing.public_key(self.servers[index].identity)
            request = evaluation.make_request(account.seed, account.certificate, d.deployment_id, audience,
                                              [bytes(32)] * len(identifiers), [b.blinded for b in blinded],
                                              now=1_790_000_100)
            x, zs = self.answer(index, request)
            xs.add(x)
            lie = (liars or {}).get(index)
            answers[index] = zs if lie is None else [lie(dict(z)) for z in zs]
        assert len(xs) == 1
        x_bytes = xs.pop()
        x = quorum.abscissa_from_bytes(x_bytes)
        shares = [quorum.combine(params, b, y, x, {i: answers[i][k] for i in chosen})
                  for k, (b, y) in enumerate(zip(blinded, unblinding, strict=True))]
        return Evaluated(outputs, shares, [match_tag(y) for y in outputs], x_bytes)


def run_dkg(d: Deployment, identities: dict[int, bytes], hpke_seeds: dict[int, bytes],
            seeds: Mapping[int, dkg.DealerSeed] | None = None) -> tuple[dict[int, dkg.KeyServerResult], Result]:
    """Every round of the run ``d.key_change`` asks for among honest servers, in process; its published result.

    ``seeds``: the dealers' seeds (fresh ones by default: another run, other secrets)."""
    assert d.key_change is not None
    params = d.dkg_parameters(d.key_change.epoch)
    board: list[bytes] = []
    seeds = seeds or {i: dkg.DealerSeed.fresh() for i in identities}
    board += [dkg.deal(params, i, identities[i], seeds[i]) for i in sorted(identities)]
    board += [c for i in sorted(identities)
              for c in dkg.complaints_for(params, i, identities[i], hpke_seeds[i], list(board))]
    board += [a for i in sorted(identities) for a in dkg.answer(params, i, identities[i], seeds[i], list(board))]
    results = {i: dkg.finalize(params, i, hpke_seeds[i], list(board)) for i in sorted(identities)}
    board += [dkg.confirm(params, identities[i], results[i]) for i in sorted(identities)]
    for r in results.values():
        dkg.confirmed(params, r, board)
    return results, quorum_keys_from_board(d, d.key_change.epoch, board)


def oprf_secret_key(shares: Mapping[int, bytes], threshold: int) -> bytes:
    """The VOPRF key the key servers generated, interpolated from ``threshold`` of their shares (tests only)."""
    chosen = dict(sorted(shares.items())[:threshold])
    return ristretto.scalar_from_int(shamir.interpolate_at_zero({i: ristretto.scalar_to_int(k)
                                                                 for i, k in chosen.items()}))


@lru_cache(maxsize=8)
def make_v2_world(*, n: int = 3, t: int = 2, quorum_low: int = 2, quorum_high: int = 5, counselors: int = 2,
                  label: str = "v2world") -> V2World:
    identities = {i: seed_of(f"{label}/identity/{i}") for i in range(1, n + 1)}
    # every seed fixed by the label, so the world's secrets (VOPRF key, quorum secrets, abscissa key) are the
    # same in every run: vectors built on it keep their VOPRF outputs; only the HPKE ciphertexts of the deals
    # (hence the transcript and the confirmations) are fresh
    hpke_seeds = {i: seed_of(f"{label}/hpke/{i}") for i in range(1, n + 1)}
    keys = tuple(make_counselor(f"counselor {i}") for i in range(1, counselors + 1))
    admin = seed_of(f"{label}/admin")
    listed = tuple(KeyServer(i, f"http://127.0.0.1:{8100 + i}", b"", signing.public_key(identities[i]),
                             hpke.public_key_bytes(hpke_seeds[i])) for i in range(1, n + 1))
    base = Deployment(
        deployment_id=seed_of(f"{label}/id")[:16], serial=1, issued_at="2026-12-01T10:00:00Z",
        quorum=quorum_low, max_quorum=quorum_high, escrow_url="http://127.0.0.1:8100", threshold=t,
        oprf_public_key=b"", key_servers=listed,
        counselors=tuple(Counselor(c.name, c.key_id, c.public_key) for c in keys),
        log_origin=f"consilience.log/{seed_of(f'{label}/log')[:8].hex()}",
        log_public_key=signing.public_key(signing.generate()),
        key_change=KeyChange(1, "generate", t, listed),
    )
    dep.validate(base)
    results, published = run_dkg(base, identities, hpke_seeds,
                                 {i: dkg.DealerSeed(seed_of(f"{label}/dealer/{i}")) for i in identities})
    d = replace(base, serial=2, **published.apply(base))  # type: ignore[arg-type]
    dep.validate(d)
    shares = {i: results[i].oprf_share for i in identities}
    sk = oprf_secret_key(shares, t)
    assert ristretto.scalar_mult_base(sk) == d.oprf_public_key
    servers = {i: SimKeyServer(i, identities[i], hpke_seeds[i], shares[i], results[i]) for i in identities}
    return V2World(d, admin, sk, servers, keys, requested=base)
