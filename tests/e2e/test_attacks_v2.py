"""The review's attacks on protocol v1, run again against v2 over real processes on loopback.

Each test is written as the attacker would run it: with the access the
attack assumes (an account from an invite, a copy of the escrow database,
a counselor's key), through the same HTTP endpoints and the real SDK, never
by reaching into a server. Each docstring says what v1 allowed.

Attacks 2 and 3 (a key server replaying requests, the escrow host minting
accounts, spoofed X-Forwarded-For) have their own real-process tests in
tests/services/test_keyserver_v2_*.py and tests/services/test_escrow_accounts.py;
attacks 5 and 6 (the matching oracle, account ids shown to counselors) in
tests/services/test_escrow_oracle.py and test_escrow_matches.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from consilience.clients import counselor, oprf_client, reporter
from consilience.clients.escrow_client import ApiError, EscrowClient, submission_payload
from consilience.crypto import hpke
from consilience.crypto.bls12381 import G1Point, G2Point, Scalar, pairings_equal
from consilience.local import loopback
from consilience.operator.deployment import escrow_database
from consilience.protocol import identifiers as ids
from consilience.protocol import quorum
from consilience.protocol.encoding import b64u_decode
from consilience.protocol.entry import envelope_info, parse_envelope, seal_entry
from consilience.protocol.matching import match_tag
from consilience.protocol.release import MatchedEntry, open_match
from consilience.storage.models import Entry, EntryEnvelope, EntryTag

pytestmark = pytest.mark.e2e

KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}
RELEASE_INTERVAL = 0.3
RELEASE_WAIT = 1.5
TARGET = "dana.smith@example.com"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[loopback.LoopbackDeployment]:
    root = tmp_path_factory.mktemp("attacks")
    d = loopback.create(root / "deploy", "admin passphrase", quorum=2, max_quorum=5, kdf_params=KDF)
    d.start(env={"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL)})
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def counselor_keys(deployment: loopback.LoopbackDeployment) -> counselor.CounselorKeys:
    return deployment.add_counselor("Counselor", deployment.root / "counselor.key", "counselor passphrase")


def join(deployment: loopback.LoopbackDeployment, label: str) -> reporter.Session:
    [invite] = deployment.invites(1)
    path = deployment.root / label / "wallet.sealed"
    return reporter.register(deployment.url, invite, f"{label}@example.org", path, f"{label} passphrase",
                             kdf_params=KDF)


def report(session: reporter.Session, text: str, name: str, quorum_level: int) -> None:
    record = reporter.write(session, text)
    reporter.escrow(session, record.record_id, [name], quorum=quorum_level)


def matched(deployment: loopback.LoopbackDeployment, keys: counselor.CounselorKeys, tag: bytes) -> list[MatchedEntry]:
    """What the counselor's client fetches for the match under ``tag``."""
    for m in counselor.list_matches(keys):
        detail, _ = counselor.open_match_by_id(keys, b64u_decode(m.match_id))
        if b64u_decode(detail.tag) == tag:
            return [MatchedEntry(b64u_decode(e.entry_id), e.quorum, e.released, b64u_decode(e.envelope),
                                 b64u_decode(e.body) if e.body else None) for e in detail.entries]
    return []


def test_attack_1_one_account_cannot_block_a_release(deployment: loopback.LoopbackDeployment,
                                                     counselor_keys: counselor.CounselorKeys) -> None:
    """v1: one account named the target in ~150 entries with bogus shares and exhausted the counselor's
    subset search, so the honest entries never opened. v2: the server keeps one active entry per account
    and person (409 already_named), and the counselor's check anchors on each entry's own share, so the
    attacker's entry — well formed, right tag, genuine abscissa, random points for shares — is named
    and the honest entries open."""
    name = ids.normalise("blocked.target@example.com")
    attacker = join(deployment, "attacker-1")
    with attacker.client() as client:
        d = attacker.deployment(client)
        genuine = oprf_client.evaluate(d, [name.oprf_input], attacker.credentials())
        forged_shares = quorum.IdentifierShares(
            genuine.shares[0].x, genuine.shares[0].base,
            {q: G1Point.generator().mul_public(Scalar(int.from_bytes(os.urandom(31), "big") + 1))
             for q in d.quorum_range}, {})
        sent = 0
        refusals = []
        for n in range(150):
            sealed = seal_entry(deployment=d, identifiers=[name], oprf_outputs=genuine.outputs,
                                quorum_shares=[forged_shares], record=f"bogus {n}", contact="-", quorum=3)
            try:
                client.send(submission_payload(sealed))
                sent += 1
            except ApiError as exc:
                refusals.append((exc.status, exc.code))
    assert sent == 1, "the server keeps one active entry per account and person"
    assert set(refusals) == {(409, "already_named")} and len(refusals) == 149

    honest = [join(deployment, f"honest-1-{k}") for k in range(3)]
    for k, session in enumerate(honest):
        report(session, f"honest record {k}", "blocked.target@example.com", 3)
    time.sleep(RELEASE_WAIT)
    entries = matched(deployment, counselor_keys, match_tag(genuine.outputs[0]))
    assert len(entries) == 4 and all(e.released for e in entries)
    for _ in range(5):  # whichever entry the counselor happens to anchor on first
        result = open_match(match_tag(genuine.outputs[0]), entries, counselor_keys.seed, counselor_keys.key_id, d)
        assert sorted(o.body.record for o in result.opened) == ["honest record 0", "honest record 1",
                                                                 "honest record 2"]
        assert len(result.bogus) == 1 and len(result.failed) == 1


def test_attack_4_database_counselor_key_and_an_account_open_nothing_below_quorum(
        deployment: loopback.LoopbackDeployment, counselor_keys: counselor.CounselorKeys) -> None:
    """v1: quorum secrets were a function of the OPRF output alone, so one ordinary account that evaluated
    a guessed identifier, plus a counselor key and a copy of the database, decrypted every entry naming
    the guess below its quorum. v2: the attacker's own evaluation gives it a tag (to find the entries)
    and one share at its own abscissa; with one honest entry at quorum 3 that is two abscissas, and
    nothing opens. Offline, the public commitments and an honest share do not even confirm the guess."""
    victim = join(deployment, "victim-4")
    report(victim, "what happened to me", TARGET, 3)
    attacker = join(deployment, "attacker-4")
    name = ids.normalise(TARGET)
    with attacker.client() as client:
        d = attacker.deployment(client)
    # one online evaluation of the guess, as any account may make
    guess = oprf_client.evaluate(d, [name.oprf_input], attacker.credentials())
    tag = match_tag(guess.outputs[0])
    # a copy of the escrow database: every envelope filed under the guessed person's tag
    with escrow_database(deployment.root) as db, db.read() as s:
        rows = s.execute(select(Entry.entry_id, Entry.quorum, Entry.body, EntryEnvelope.ciphertext)
                         .join(EntryTag, EntryTag.entry_id == Entry.entry_id)
                         .join(EntryEnvelope, EntryEnvelope.entry_id == Entry.entry_id)
                         .where(EntryTag.tag == tag, EntryEnvelope.key_id == counselor_keys.key_id)).all()
    assert len(rows) == 1
    entry_id, q, body, envelope = rows[0]
    content = parse_envelope(hpke.open(counselor_keys.seed, envelope, envelope_info(entry_id, counselor_keys.key_id)))
    section = content.section(tag)
    assert section is not None and q == 3
    params = d.quorum_parameters()
    level = params.level(q)
    honest_share = G1Point.from_bytes(section.shares[q])
    # offline: the share is not on H2C(guess), so it does not confirm the guess without the OPRF
    point = quorum.identifier_point(name.oprf_input)
    assert not pairings_equal(honest_share, G2Point.generator(), point, level.at(section.x))
    # with its own share (another abscissa) it still holds only 2 of the 3 abscissas level 3 needs
    own = (guess.shares[0].x, guess.shares[0].shares[q])
    with pytest.raises(quorum.BelowQuorum):
        quorum.recover_secret(level, [(section.x, honest_share), own])
    # and a counselor's own opening of the released-or-not entry fails for the same reason
    result = open_match(tag, [MatchedEntry(entry_id, q, True, envelope, body)], counselor_keys.seed,
                        counselor_keys.key_id, d)
    assert result.opened == []
    # a second honest account: still below quorum 3 with nobody else; the database copy now holds two
    # honest shares, and even treating both entries as released, two abscissas open nothing at level 3
    second = join(deployment, "victim-4b")
    report(second, "it happened to me too", TARGET, 3)
    time.sleep(RELEASE_WAIT)
    assert matched(deployment, counselor_keys, tag) == []  # nothing was released
    with escrow_database(deployment.root) as db, db.read() as s:
        rows = s.execute(select(Entry.entry_id, Entry.quorum, Entry.body, EntryEnvelope.ciphertext)
                         .join(EntryTag, EntryTag.entry_id == Entry.entry_id)
                         .join(EntryEnvelope, EntryEnvelope.entry_id == Entry.entry_id)
                         .where(EntryTag.tag == tag, EntryEnvelope.key_id == counselor_keys.key_id)).all()
    assert len(rows) == 2
    result = open_match(tag, [MatchedEntry(e, qq, True, env, b) for e, qq, b, env in rows], counselor_keys.seed,
                        counselor_keys.key_id, d)
    assert result.opened == [] and len(result.failed) == 2
    # (with the attacker's own share that would be 3 accounts: a third reporter is the quorum, nothing is
    # claimed for j >= q - others; PROTOCOL.md §2)


def test_a_wallet_from_a_v1_install_and_a_v1_invite_are_refused_by_name(deployment: loopback.LoopbackDeployment,
                                                                          tmp_path: Path) -> None:
    with pytest.raises(Exception, match="older version of Consilience"):
        reporter.register(deployment.url, "cnsl1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA", "c",
                          tmp_path / "w.sealed", "p", kdf_params=KDF)
    with EscrowClient(deployment.url) as client:
        with pytest.raises(ApiError) as caught:
            client._call("POST", "/v1/entries", {})
    assert caught.value.status == 410
