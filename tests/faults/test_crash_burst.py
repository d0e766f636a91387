"""SIGKILL of the escrow server in the middle of a burst of submissions, then a restart.

Several reporters submit entries at once (client-chosen ids, random
ciphertext-like content, some tags shared so that entries are released
and matches logged by the release pass, which runs every few tens of
milliseconds, while the server dies). After the kill and a restart:

* every entry answered 200/201 before the kill is stored with its content,
  and its receipt still verifies against the newest checkpoint through a
  consistency proof (the log was not rewritten by the crash);
* entries whose answer was lost are either stored whole or absent, and the
  number of entries is exactly acknowledged + lost-but-committed;
* the transparency log's stored nodes reproduce every signed checkpoint, and
  every entry whose quorum is reached is released or still queued for a pass;
* resending every entry unchanged answers 200 for the stored ones and 201
  for the others, and adds exactly one log leaf per new entry;
* SQLite's integrity and foreign-key checks pass.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import pg_cluster
from consilience.clients import receipts
from consilience.clients.receipts import expected_content
from consilience.protocol.encoding import b64u_decode
from consilience.tlog import checkpoint as cp
from consilience.tlog.receipt import parse_receipt

from . import (
    FAST_RELEASES,
    HTTP_TIMEOUT,
    Site,
    check_store,
    local_cluster,
    make_site,
    register,
    same_content,
    sqlite_checks,
    start_all,
    submission,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

REPORTERS = 6
PER_REPORTER = 50  # 300 entries in all
KILL_AFTER = 110  # acknowledged entries before the SIGKILL


@pytest.fixture(scope="module")
def postgres() -> Iterator[pg_cluster.LocalCluster]:
    yield from local_cluster()


@dataclass
class Outcome:
    payload: dict[str, Any]
    headers: dict[str, str]
    status: int | None = None  # HTTP status, None if no answer arrived
    answer: dict[str, Any] | None = None
    error: str | None = None  # the transport error, if any
    delivered: bool = True  # False: the connection was refused, the request never left


@dataclass
class Burst:
    outcomes: list[Outcome] = field(default_factory=list)
    acked: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _reporter(site: Site, headers: dict[str, str], payloads: list[dict[str, Any]], burst: Burst) -> None:
    """Submit one by one until the first failure (the server is gone after that)."""
    with httpx.Client(base_url=site.url, headers=headers, timeout=HTTP_TIMEOUT) as http:
        for payload in payloads:
            outcome = Outcome(payload, headers)
            with burst.lock:
                burst.outcomes.append(outcome)
            try:
                answer = http.post("/v2/entries", json=payload)
            except httpx.ConnectError as exc:
                outcome.error, outcome.delivered = repr(exc), False
                return
            except httpx.HTTPError as exc:
                outcome.error = repr(exc)
                return
            outcome.status = answer.status_code
            outcome.answer = answer.json() if answer.headers.get("content-type", "").startswith(
                "application/json") else {"text": answer.text}
            if answer.status_code not in (200, 201):
                return
            with burst.lock:
                burst.acked += 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_mid_burst_loses_nothing_acknowledged(backend: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    database_url = None
    if backend == "postgresql":
        database_url = pg_cluster.fresh_database(request.getfixturevalue("postgres").url)
    site = make_site(tmp_path / "deploy", database_url=database_url)
    try:
        start_all([site.escrow])
        _crash_and_check(site)
    finally:
        site.stop()


def _crash_and_check(site: Site) -> None:
    rng = random.Random()
    shared = [rng.randbytes(32) for _ in range(6)]
    reporters = register(site, REPORTERS)
    burst = Burst()
    def payloads() -> list[dict[str, Any]]:
        taken: set[bytes] = set()  # one active entry per account and person
        return [submission(site, rng, shared_tags=shared, taken=taken) for _ in range(PER_REPORTER)]

    threads = [threading.Thread(target=_reporter, daemon=True, args=(site, h, payloads(), burst)) for h in reporters]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while burst.acked < KILL_AFTER and any(t.is_alive() for t in threads):
        assert time.monotonic() < deadline, f"only {burst.acked} entries acknowledged in 60 s"
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.05))  # anywhere in the requests then in flight
    site.escrow.kill()
    for t in threads:
        t.join(HTTP_TIMEOUT + 5)
        assert not t.is_alive(), "a reporter thread is stuck"

    failed = [o for o in burst.outcomes if o.status is not None and o.status not in (200, 201)]
    assert not failed, [(o.status, o.answer) for o in failed[:3]]
    acked = {o.payload["entry_id"]: o for o in burst.outcomes if o.status in (200, 201)}
    unanswered = [o for o in burst.outcomes if o.status is None]
    assert unanswered, "the kill came after the burst: nothing was in flight"
    assert all(o.status == 201 for o in acked.values()), "a first submission was answered as a retry"
    assert len(acked) >= KILL_AFTER

    site.escrow.start(env=FAST_RELEASES)
    with httpx.Client(base_url=site.url, timeout=HTTP_TIMEOUT) as http:
        # 1. Every acknowledged entry is there, unchanged; unanswered ones are whole or absent.
        for o in acked.values():
            got = http.get(f"/v2/entries/{o.payload['entry_id']}", headers=o.headers)
            assert got.status_code == 200, (o.payload["entry_id"], got.status_code, got.text)
            assert same_content(got.json(), o.payload)
            assert got.json()["received_at"] == o.answer["received_at"]  # type: ignore[index]
        committed_lost = {}
        for o in unanswered:
            got = http.get(f"/v2/entries/{o.payload['entry_id']}", headers=o.headers)
            assert got.status_code in (200, 404), got.text
            if got.status_code == 200:
                assert o.delivered, "an entry whose connection was refused is stored"
                assert same_content(got.json(), o.payload), "a half-written entry"
                committed_lost[o.payload["entry_id"]] = o
        listed = sum(len(http.get("/v2/entries", headers=h).json()) for h in reporters)
        assert listed == len(acked) + len(committed_lost)

        # 2. The database: exactly those entries, whole; the log's nodes reproduce its checkpoints.
        expected = {k: o.payload for k, o in (acked | committed_lost).items()}
        tree = check_store(site, expected)
        if site.sqlite_path is not None:
            sqlite_checks(site.sqlite_path)

        # 3. Receipts handed out before the kill verify against a checkpoint after the restart (the release
        #    pass keeps signing new ones: the receipts are checked against the one the tree above was read at).
        newest = http.get("/v2/log/checkpoint", params={"size": len(tree)})
        assert newest.status_code == 200
        head = cp.open_checkpoint(newest.text, site.deployment.log_vkey, origin=site.deployment.log_origin)
        assert head.checkpoint.size == len(tree) and head.checkpoint.root_hash == tree.root()
        for key, o in acked.items():
            text = o.answer["receipt"]  # type: ignore[index]
            assert text, f"{key} was acknowledged without a receipt"
            receipts.check(text, site.deployment, b64u_decode(key), kind="entry",
                           content=expected_content(o.payload))
            old = cp.parse_signed_checkpoint(parse_receipt(text).checkpoint)[0].size
            proof: list[bytes] = []
            if old < head.checkpoint.size:
                got = http.get("/v2/log/consistency", params={"old": old, "new": head.checkpoint.size})
                assert got.status_code == 200, got.text
                proof = [b64u_decode(h) for h in got.json()["proof"]]
            verified = receipts.open_receipt(text, site.deployment.log_vkey, origin=site.deployment.log_origin,
                                             against=newest.text, consistency_proof=proof)
            assert verified.result.against_size == head.checkpoint.size and verified.event.entry_id == b64u_decode(key)

        # 4. Resending everything unchanged: 200 for what is stored, 201 for the rest, nothing twice.
        size_before = head.checkpoint.size
        created = 0
        for o in burst.outcomes:
            again = http.post("/v2/entries", json=o.payload, headers=o.headers)
            stored = o.payload["entry_id"] in expected
            assert again.status_code == (200 if stored else 201), (o.payload["entry_id"], again.text)
            created += again.status_code == 201
            if stored and o.answer is not None:
                assert again.json()["received_at"] == o.answer["received_at"]
        # still one entry leaf per entry (the 200s logged nothing), the new ones whole as well
        after = check_store(site, {o.payload["entry_id"]: o.payload for o in burst.outcomes})
        assert len(after) >= size_before + created
