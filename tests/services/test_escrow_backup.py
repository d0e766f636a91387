"""Sealed backups at the escrow server (PROTOCOL.md §14.1), on SQLite and PostgreSQL, and the attack on a copy.

The attacker of the issue's "must hold" is run as one would: they have a copy of the escrow database
(the backup document, read straight from it) and the HPKE private keys of t−1 key servers. They try
the right passphrase and a wrong one and cannot tell them apart; with t key servers' keys (the
control) they can, which is why t−1 is the bound.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from consilience.crypto import oprf, ristretto, shamir, threshold_oprf
from consilience.errors import DecryptionError
from consilience.protocol import accounts, recovery
from consilience.protocol.encoding import b64u_encode
from consilience.storage import backups

from .harness import API, Escrow, Reporter, key_server_keys

KDF = recovery.KdfParams(memory_kib=1024, iterations=1, lanes=1)
RIGHT, WRONG = "the right passphrase", "a wrong guess"


def make_backup(escrow: Escrow, who: Reporter, version: int = 1, secret: str = RIGHT,
                wallet: bytes = b'{"records": ["what happened"]}') -> tuple[recovery.Backup, bytes]:
    d = escrow.deployment
    handle = recovery.handle_bytes(d.deployment_id, accounts.account_key(who.seed))
    recipients = [recovery.Recipient(s.index, s.identity_key, s.hpke_public_key) for s in d.key_servers]
    dealt = recovery.deal(secret, d.deployment_id, handle, d.threshold, recipients, KDF)
    sealed = recovery.seal_wallet(dealt.backup_key, wallet, d.deployment_id, handle, version)
    return recovery.Backup(dealt.keys, version, sealed), dealt.backup_key


def put(escrow: Escrow, who: Reporter, body: bytes) -> Any:
    return escrow.client.put(f"{API}/account/backup", content=body,
                             headers={**who.headers, "Content-Type": "application/json"})


def test_a_backup_is_stored_fetched_by_handle_and_deleted(any_escrow: Escrow) -> None:
    escrow = any_escrow
    who = escrow.reporter()
    backup, _ = make_backup(escrow, who)
    r = put(escrow, who, backup.to_bytes())
    assert r.status_code == 200, r.text
    handle = recovery.format_handle(backup.keys.handle)
    assert r.json()["handle"] == handle and r.json()["version"] == 1
    got = escrow.client.get(f"{API}/backup/{handle.lower()}")
    assert got.status_code == 200 and got.content == backup.to_bytes()
    # a later version replaces it; the same or an older one is refused with the stored version
    newer, _ = make_backup(escrow, who, version=2)
    assert put(escrow, who, newer.to_bytes()).status_code == 200
    stale = put(escrow, who, backup.to_bytes())
    assert stale.status_code == 409 and stale.json()["error"] == "stale_backup"
    assert stale.json()["stored_version"] == 2
    assert escrow.client.get(f"{API}/backup/{handle}").content == newer.to_bytes()
    assert escrow.client.delete(f"{API}/account/backup", headers=who.headers).status_code == 204
    gone = escrow.client.get(f"{API}/backup/{handle}")
    assert gone.status_code == 404 and "no backup for this handle" in gone.json()["detail"]


def test_a_backup_of_another_account_or_deployment_or_misshapen_is_refused(any_escrow: Escrow) -> None:
    escrow = any_escrow
    who, other = escrow.reporter(), escrow.reporter()
    others, _ = make_backup(escrow, other)
    r = put(escrow, who, others.to_bytes())
    assert r.status_code == 422 and "not the handle of your account" in r.json()["detail"]
    mine, _ = make_backup(escrow, who)
    doc = mine.to_json()
    for bad in ({**doc, "deployment_id": b64u_encode(os.urandom(16))}, {**doc, "format": "x"},
                {**doc, "version": 0}, {**doc, "servers": doc["servers"][:1], "threshold": 2}):
        assert put(escrow, who, json.dumps(bad).encode()).status_code == 422
    assert put(escrow, who, b"not json").status_code == 422
    with escrow.db.read() as session:
        assert backups.by_handle(session, mine.keys.handle) is None  # nothing stored by any of them
    assert escrow.client.put(f"{API}/account/backup", content=mine.to_bytes()).status_code == 401


def test_unknown_or_malformed_handles_are_refused_plainly(escrow: Escrow) -> None:
    r = escrow.client.get(f"{API}/backup/7KQ2-M9XD-4RTA-HW3E")
    assert r.status_code == 404
    r = escrow.client.get(f"{API}/backup/not-a-handle")
    assert r.status_code == 422 and r.json()["detail"] == recovery.BAD_HANDLE


# -- the attacker with a copy of the database and t−1 key servers' keys ------------------------------


def _guess(doc: bytes, hpke_seeds: dict[int, bytes], guess: str) -> bool:
    """Everything an attacker can do offline with these keys: open the shares they can, combine what they
    have in the exponent (the missing shares counted as 0, the best they can do without them), finalize,
    and try the result as the backup key. True if the wallet opened."""
    backup = recovery.parse(doc)
    keys = backup.keys
    shares = {}
    for index, seed in hpke_seeds.items():
        s = keys.server(index)
        shares[index] = recovery.open_share(seed, keys.deployment_id, keys.handle, index, s.public_share,
                                            s.sealed_share)
    hardened = recovery.harden(guess, keys.deployment_id, keys.handle, keys.kdf)
    blind, blinded = oprf.blind(hardened, oprf.MODE_VOPRF)
    partials = []
    for index, share in shares.items():
        evaluated, proof = oprf.voprf_blind_evaluate(share, keys.server(index).public_share, [blinded])
        partials.append(threshold_oprf.PartialEvaluation(index, evaluated, proof))
    if len(partials) >= keys.threshold:
        rwd = recovery.rwd_from_partials(hardened, blind, blinded, partials, keys)
    else:  # below the threshold: interpolate the partials they have as if they were enough
        points = {p.index: p.evaluated[0] for p in partials}
        lambdas = shamir.lagrange_at_zero(points)
        combined = bytes(32)
        for i, element in points.items():
            combined = ristretto.element_add(combined, ristretto.scalar_mult(ristretto.scalar_from_int(lambdas[i]),
                                                                             element))
        rwd = oprf.finalize(hardened, blind, combined)
    try:
        recovery.open_wallet(recovery.backup_key(rwd, keys.deployment_id, keys.handle), backup.wallet,
                             keys.deployment_id, keys.handle, backup.version)
    except DecryptionError:
        return False
    return True


def test_a_database_copy_and_t_minus_1_key_servers_cannot_test_a_passphrase(escrow: Escrow) -> None:
    who = escrow.reporter()
    backup, _ = make_backup(escrow, who)
    assert put(escrow, who, backup.to_bytes()).status_code == 200
    with escrow.db.read() as session:  # the copy of the database
        stolen = backups.by_handle(session, backup.keys.handle)
    assert stolen is not None
    t = escrow.deployment.threshold
    few = {i: key_server_keys(i).hpke_private for i in range(1, t)}  # t−1 key servers' keys
    assert [_guess(stolen, few, g) for g in (RIGHT, WRONG)] == [False, False]  # indistinguishable
    enough = {i: key_server_keys(i).hpke_private for i in range(1, t + 1)}  # the control: t key servers
    assert [_guess(stolen, enough, g) for g in (RIGHT, WRONG)] == [True, False]


@pytest.mark.parametrize("version", [1])
def test_the_server_learns_nothing_of_the_wallet_from_the_document(escrow: Escrow, version: int) -> None:
    """The stored document holds the record's words nowhere in clear."""
    who = escrow.reporter()
    backup, _ = make_backup(escrow, who, version=version, wallet=b'{"text": "a distinctive sentence"}')
    put(escrow, who, backup.to_bytes())
    with escrow.db.read() as session:
        stored = backups.by_handle(session, backup.keys.handle)
    assert stored is not None and b"distinctive" not in stored
