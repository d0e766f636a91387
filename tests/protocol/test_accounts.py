"""protocol/accounts.py: administrator-certified account keys, the registration proof, the abscissa (PROTOCOL.md §6)."""

from __future__ import annotations

import hmac
from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.crypto import signing
from consilience.crypto.bls12381 import ORDER, Scalar, hash_to_scalar
from consilience.errors import InvalidInput, VerificationError
from consilience.protocol import accounts

from .conftest import V2World, ident, seed_of

ADMIN = seed_of("accounts/admin")
ADMIN_PUB = signing.public_key(ADMIN)
DEPLOYMENT = seed_of("accounts/deployment")[:16]
SEED = seed_of("accounts/seed")
KEY = accounts.account_key(SEED)
NOW = 1_790_000_000


def test_account_key_is_the_seeds_ed25519_public_key() -> None:
    assert KEY == signing.public_key(SEED) and len(KEY) == 32
    signing.verify(KEY, b"m", signing.sign(SEED, b"m"))
    for bad in (b"", SEED[:31], SEED + b"\0"):
        with pytest.raises(InvalidInput):
            accounts.account_key(bad)


def test_certificate_layout_matches_the_spec() -> None:
    cert = accounts.issue_certificate(ADMIN, DEPLOYMENT, KEY, now=NOW)
    assert len(cert) == accounts.CERTIFICATE_BYTES == 120
    assert cert[:32] == KEY and cert[32:48] == DEPLOYMENT and cert[48:56] == NOW.to_bytes(8, "big")
    signing.verify(ADMIN_PUB, b"consilience-v2 account certificate" + KEY + DEPLOYMENT + NOW.to_bytes(8, "big"),
                   cert[56:])
    checked = accounts.verify_certificate(ADMIN_PUB, DEPLOYMENT, cert)
    assert (checked.account_key, checked.deployment_id, checked.issued_at, checked.encoded) == (
        KEY, DEPLOYMENT, NOW, cert)


def test_certificate_issued_now_by_default() -> None:
    import time

    cert = accounts.verify_certificate(ADMIN_PUB, DEPLOYMENT, accounts.issue_certificate(ADMIN, DEPLOYMENT, KEY))
    assert abs(cert.issued_at - time.time()) < 5


def test_certificate_from_another_administrator_is_refused() -> None:
    impostor = seed_of("accounts/impostor")  # e.g. the escrow host minting accounts of its own
    forged = accounts.issue_certificate(impostor, DEPLOYMENT, KEY, now=NOW)
    with pytest.raises(VerificationError, match="administrator"):
        accounts.verify_certificate(ADMIN_PUB, DEPLOYMENT, forged)
    assert accounts.verify_certificate(signing.public_key(impostor), DEPLOYMENT, forged).account_key == KEY


def test_certificate_for_another_deployment_is_refused() -> None:
    other = seed_of("accounts/other deployment")[:16]
    cert = accounts.issue_certificate(ADMIN, other, KEY, now=NOW)
    with pytest.raises(VerificationError, match="another deployment"):
        accounts.verify_certificate(ADMIN_PUB, DEPLOYMENT, cert)
    # rewriting the deployment id in the certificate breaks the signature instead
    rewritten = cert[:32] + DEPLOYMENT + cert[48:]
    with pytest.raises(VerificationError, match="administrator"):
        accounts.verify_certificate(ADMIN_PUB, DEPLOYMENT, rewritten)


@settings(max_examples=60)
@given(st.integers(0, accounts.CERTIFICATE_BYTES - 1), st.integers(1, 255))
def test_any_tampered_certificate_byte_is_refused(position: int, mask: int) -> None:
    # account key (0..31), deployment id (32..47), issued_at (48..55), signature (56..119)
    cert = bytearray(accounts.issue_certificate(ADMIN, DEPLOYMENT, KEY, now=NOW))
    cert[position] ^= mask
    with pytest.raises(VerificationError):
        accounts.verify_certificate(ADMIN_PUB, DEPLOYMENT, bytes(cert))


def test_a_signature_without_the_label_is_refused() -> None:
    body = KEY + DEPLOYMENT + NOW.to_bytes(8, "big")
    with pytest.raises(VerificationError):
        accounts.verify_certificate(ADMIN_PUB, DEPLOYMENT, body + signing.sign(ADMIN, body))


@pytest.mark.parametrize("length", [0, 1, 56, 119, 121, 240])
def test_certificate_of_the_wrong_length_is_refused(length: int) -> None:
    cert = accounts.issue_certificate(ADMIN, DEPLOYMENT, KEY, now=NOW)
    with pytest.raises(InvalidInput):
        accounts.verify_certificate(ADMIN_PUB, DEPLOYMENT, (cert * 2)[:length])


@pytest.mark.parametrize(("deployment_id", "key"), [(DEPLOYMENT[:15], KEY), (DEPLOYMENT + b"\0", KEY),
                                                    (DEPLOYMENT, KEY[:31]), (DEPLOYMENT, KEY + b"\0")])
def test_issue_needs_a_16_byte_deployment_and_a_32_byte_key(deployment_id: bytes, key: bytes) -> None:
    with pytest.raises(InvalidInput):
        accounts.issue_certificate(ADMIN, deployment_id, key, now=NOW)


def test_registration_proof() -> None:
    proof = accounts.registration_proof(SEED, DEPLOYMENT)
    signing.verify(KEY, b"consilience-v2 register" + DEPLOYMENT + KEY, proof)
    accounts.verify_registration(KEY, DEPLOYMENT, proof)
    # for another deployment, by another account, or tampered: refused
    with pytest.raises(VerificationError, match="account key"):
        accounts.verify_registration(KEY, seed_of("elsewhere")[:16], proof)
    other = accounts.account_key(seed_of("accounts/other seed"))
    with pytest.raises(VerificationError, match="account key"):
        accounts.verify_registration(other, DEPLOYMENT, proof)
    with pytest.raises(VerificationError):
        accounts.verify_registration(KEY, DEPLOYMENT, proof[:-1] + bytes([proof[-1] ^ 1]))
    # the registration proof is not an account certificate and vice versa (distinct labels)
    assert proof != signing.sign(SEED, b"consilience-v2 account certificate" + DEPLOYMENT + KEY)


def test_abscissa_is_the_documented_keyed_function() -> None:
    key = seed_of("accounts/abscissa key")
    mac = hmac.new(key, b"consilience-v2 abscissa" + DEPLOYMENT + KEY, sha256).digest()
    assert accounts.abscissa(key, DEPLOYMENT, KEY) == hash_to_scalar(mac, b"consilience-v2 abscissa")


def test_abscissa_is_deterministic_per_account_and_key_and_differs_otherwise() -> None:
    key = seed_of("accounts/abscissa key")
    keys = [accounts.account_key(seed_of(f"accounts/a{i}")) for i in range(20)]
    xs = [accounts.abscissa(key, DEPLOYMENT, k) for k in keys]
    assert xs == [accounts.abscissa(key, DEPLOYMENT, k) for k in keys]  # the same every time
    assert len(set(xs)) == len(xs)  # distinct across accounts
    assert all(isinstance(x, Scalar) and 0 < int(x) < ORDER for x in xs)  # nonzero field elements
    # another abscissa key (another key generation) or another deployment: other abscissas
    assert accounts.abscissa(seed_of("accounts/other key"), DEPLOYMENT, keys[0]) != xs[0]
    assert accounts.abscissa(key, seed_of("accounts/other")[:16], keys[0]) != xs[0]


@pytest.mark.parametrize(("key", "deployment_id", "account"), [
    (bytes(31), DEPLOYMENT, KEY), (bytes(32), DEPLOYMENT[:15], KEY), (bytes(32), DEPLOYMENT, KEY[:31])])
def test_abscissa_input_lengths(key: bytes, deployment_id: bytes, account: bytes) -> None:
    with pytest.raises(InvalidInput):
        accounts.abscissa(key, deployment_id, account)


def test_key_servers_agree_on_an_accounts_abscissa(world: V2World) -> None:
    """Every key server derives the same abscissa from the DKG's abscissa key; no one else can."""
    d = world.deployment
    a, b = world.account("abscissa a"), world.account("abscissa b")
    per_server = {i: accounts.abscissa(s.result.abscissa_key, d.deployment_id, a.key) for i, s in world.servers.items()}
    assert len(set(per_server.values())) == 1
    x = per_server[1]
    assert accounts.abscissa(world.servers[1].result.abscissa_key, d.deployment_id, b.key) != x
    # what the account itself, the administrator or the escrow host could compute from what they hold
    # (the seed, the certificate, the admin key, the deployment id) is not it
    for guess_key in (a.seed, world.admin_private, d.deployment_id * 2, sha256(a.certificate).digest()):
        assert accounts.abscissa(guess_key, d.deployment_id, a.key) != x
    # and the evaluation hands the account the abscissa its servers derived
    assert world.evaluate(a, [ident("x:abscissa")]).x == x.to_bytes()
