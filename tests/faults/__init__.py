"""Fault-tolerance tests: real escrow server processes on loopback, killed mid-burst,
cut off from their database, and answered into the void.

What they hold the server to (PROTOCOL.md §8, §9, §11): an acknowledged
entry survives anything, an unacknowledged one is either whole or absent,
a retry with identical bytes is answered 200 and counts nothing twice, the
transparency log's stored nodes always reproduce its signed checkpoints, and
a database that cannot be reached is a prompt 503 with Retry-After.

Protocol v2: the escrow servers here run their release pass every few tens of
milliseconds (``FAST_RELEASES``), so passes commit, and are killed, in the middle
of the bursts; what a pass has not counted yet must still be queued.

The helpers below are shared by the test modules of this package.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import pg_cluster
from consilience.clients import counselor
from consilience.clients.receipts import expected_content
from consilience.datadir import DataDir
from consilience.local import launcher
from consilience.operator.counselors import add_counselor
from consilience.operator.deployment import database_url as default_database_url
from consilience.operator.deployment import init_deployment, unseal_admin_key
from consilience.protocol import accounts, events
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.storage import repository
from consilience.storage.database import Database
from consilience.storage.models import (
    Entry,
    EntryEnvelope,
    EntryTag,
    LogCheckpoint,
    LogHead,
    LogLeaf,
    LogTile,
    Match,
    RecountQueue,
)
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle, tiles

ADMIN_SECRET = "operator passphrase"
#: Argon2id at its floor: the sealed files are not what these tests are about.
FAST_KDF = {"memory_cost_kib": 1024, "iterations": 1, "lanes": 1}
#: Every HTTP call in this package is bounded by this.
HTTP_TIMEOUT = 15.0
#: The escrow server's environment here: a release pass every 0.05 s or so.
FAST_RELEASES = {"CONSILIENCE_RELEASE_INTERVAL": "0.05"}


@dataclass
class Site:
    """One deployment on this machine: its folder, the escrow server process, its database."""

    root: Path
    deployment: Deployment
    escrow: launcher.Service
    database_url: str
    keyservers: list[launcher.Service] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.escrow.url

    @property
    def key_ids(self) -> list[bytes]:
        return [c.key_id for c in self.deployment.counselors]

    @property
    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        return Path(self.database_url[len(prefix):]) if self.database_url.startswith(prefix) else None

    def services(self) -> list[launcher.Service]:
        return [*self.keyservers, self.escrow]

    @contextmanager
    def db(self) -> Iterator[Database]:
        database = Database(self.database_url)
        try:
            yield database
        finally:
            database.dispose()

    def stop(self) -> None:
        for service in self.services():
            service.stop()


def make_site(root: Path, *, database_url: str | None = None, quorum: int = 2, max_quorum: int = 5) -> Site:
    """``admin init`` plus one counselor (so entries carry an envelope), servers not started."""
    escrow_port, *ks_ports = launcher.free_ports(4)
    init_deployment(root, ADMIN_SECRET, quorum=quorum, max_quorum=max_quorum, escrow_port=escrow_port,
                    keyserver_ports=ks_ports, kdf_params=FAST_KDF)
    keys = counselor.generate("Robin Counselor")
    deployment, _token = add_counselor(root, counselor.public_key_file(keys), ADMIN_SECRET)
    escrow = launcher.escrow_service(root, escrow_port, database_url=database_url)
    keyservers = [launcher.keyserver_service(root, i + 1, p, keygen=launcher.local_keygen())
                  for i, p in enumerate(ks_ports)]
    url = database_url or default_database_url(DataDir(root))
    return Site(root, deployment, escrow, url, keyservers)


def start_all(services: list[launcher.Service]) -> None:
    """Start processes side by side (each start waits for its /healthz, at most 30 s), with FAST_RELEASES."""
    with ThreadPoolExecutor(len(services)) as pool:
        for future in [pool.submit(s.start, env=FAST_RELEASES) for s in services]:
            future.result()


def start_with_quorum_keys(site: Site, timeout: float = 90.0) -> None:
    """Every service, then the key servers' key generation over the escrow's board, published as the
    administrator does (``admin publish-keys``): entries can be sealed once this returns."""
    from consilience.operator.quorum_keys import publish_keys

    start_all(site.services())
    published = publish_keys(site.root, ADMIN_SECRET, timeout=timeout, poll=0.2)
    assert published.quorum_keys is not None
    launcher.wait_for_quorum_keys(site.keyservers, published.quorum_keys.epoch, timeout=timeout)
    site.deployment = published


#: ``consilience`` with the SQLite busy timeout shortened, so that a test can
#: outlast it in seconds rather than the production 30 s.
_SHORT_BUSY = ("import sys; from consilience.storage import database; "
               "database.SQLITE_BUSY_TIMEOUT_MS = int(sys.argv.pop(1)); "
               "from consilience.cli.app import main; main()")


def start_with_busy_timeout(service: launcher.Service, busy_timeout_ms: int) -> None:
    service.log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(service.log_path, "ab") as log:
        service.process = subprocess.Popen([sys.executable, "-c", _SHORT_BUSY, str(busy_timeout_ms), *service.args],
                                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                           env={**os.environ, **FAST_RELEASES})
    service.wait_healthy(30.0)


def local_cluster() -> Iterator[pg_cluster.LocalCluster]:
    """Body of a fixture: a private PostgreSQL this test may stop; skipped (or failed in CI) without one."""
    try:
        cluster = pg_cluster.LocalCluster()
    except pg_cluster.Unavailable as exc:
        if os.environ.get(pg_cluster.REQUIRE_ENV):
            pytest.fail(f"PostgreSQL unavailable but {pg_cluster.REQUIRE_ENV} is set: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


# -- reporters and submissions ---------------------------------------------------


def b64(data: bytes) -> str:
    return b64u_encode(data)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(site: Site, count: int) -> list[dict[str, str]]:
    """``count`` reporter accounts, each from an invite the administrator certified; their Authorization headers."""
    admin_private = unseal_admin_key(site.root, ADMIN_SECRET)
    deployment_id = site.deployment.deployment_id
    seeds = [os.urandom(accounts.SEED_BYTES) for _ in range(count)]
    with site.db() as database, database.write() as session:
        for seed in seeds:
            repository.create_invite(
                session, accounts.issue_certificate(admin_private, deployment_id, accounts.account_key(seed)))
    headers = []
    with httpx.Client(base_url=site.url, timeout=HTTP_TIMEOUT) as http:
        for seed in seeds:
            answer = http.post("/v2/register", json={
                "account_key": b64(accounts.account_key(seed)),
                "proof": b64(accounts.registration_proof(seed, deployment_id))})
            assert answer.status_code == 201, answer.text
            headers.append(auth(answer.json()["token"]))
    return headers


def submission(site: Site, rng: random.Random, *, shared_tags: Sequence[bytes] = (),
               quorum: int | None = None, taken: set[bytes] | None = None) -> dict[str, Any]:
    """Random ciphertext-like body and envelopes addressed to the deployment's counselors.

    ``taken``: the shared tags this reporter already named (one active entry per account and person),
    not chosen again; the one chosen is added.
    """
    tags = [os.urandom(32) for _ in range(rng.randint(1, 2))]
    free = [t for t in shared_tags if taken is None or t not in taken]
    if free and rng.random() < 0.3:
        chosen = rng.choice(free)
        tags.append(chosen)
        if taken is not None:
            taken.add(chosen)
    d = site.deployment
    return {
        "entry_id": b64(os.urandom(16)),
        "quorum": quorum if quorum is not None else rng.randint(d.quorum, min(d.quorum + 1, d.max_quorum)),
        "tags": [b64(t) for t in tags],
        "body": b64(os.urandom(rng.randint(64, 2048))),
        "envelopes": [{"key_id": b64(k), "ciphertext": b64(os.urandom(rng.randint(1200, 1400)))}
                      for k in site.key_ids],
        "deployment_serial": d.serial,
    }


def same_content(detail: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    """GET /v2/entries/{id} shows exactly what was submitted (order of tags and envelopes aside)."""
    return (detail["entry_id"] == payload["entry_id"] and detail["quorum"] == payload["quorum"]
            and detail["body"] == payload["body"] and sorted(detail["tags"]) == sorted(payload["tags"])
            and sorted((e["key_id"], e["ciphertext"]) for e in detail["envelopes"])
            == sorted((e["key_id"], e["ciphertext"]) for e in payload["envelopes"]))


def wait_healthy(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url}/healthz", timeout=2.0)
            if answer.status_code == 200:
                return
            last = answer.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{url} did not recover in {timeout}s (last: {last!r})")


# -- what the database must look like ---------------------------------------------------


def check_store(site: Site, expected: Mapping[str, Mapping[str, Any]]) -> merkle.MemoryTree:
    """The database holds exactly the ``expected`` entries (b64 id → payload), each one whole.

    Whole means: the row, its tags (with its account), one envelope per
    counselor, its content hash and exactly one 'entry' leaf committing to
    that hash. The log's leaves are consecutive commitments whose stored
    openings open them, every stored node is the one a memory tree over those
    leaves computes (none missing, none extra), and every stored checkpoint is
    signed by the log key over that tree's root at its size, the newest one at
    the log's full size. Counting holds: a released entry's quorum is reached
    under one of its tags; an escrowed one whose quorum is reached still has a
    tag waiting in the recount queue for the next release pass (a crash lost
    no count).
    """
    d = site.deployment
    with site.db() as database, database.read() as session:
        if database.dialect == "postgresql":  # one snapshot for every query: the release pass keeps committing
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        entries = {b64(e.entry_id): e for e in session.execute(
            select(Entry.entry_id, Entry.account_id, Entry.status, Entry.quorum, Entry.body,
                   Entry.content_hash, Entry.match_id))}
        assert set(entries) == set(expected), (
            f"stored but never sent: {sorted(set(entries) - set(expected))[:5]}; "
            f"sent but missing: {sorted(set(expected) - set(entries))[:5]}")
        tag_rows = session.execute(select(EntryTag.entry_id, EntryTag.tag, EntryTag.account_id)).all()
        envelope_rows = session.execute(select(EntryEnvelope.entry_id, EntryEnvelope.key_id,
                                               EntryEnvelope.ciphertext)).all()
        leaves = [(leaf.idx, leaf.kind, leaf.data, leaf.opening, leaf.entry_id)
                  for leaf in session.scalars(select(LogLeaf).order_by(LogLeaf.idx))]
        queued = set(session.scalars(select(RecountQueue.tag)))
        stored_tiles = {(t.level, t.idx): t.hashes for t in session.scalars(select(LogTile))}
        checkpoints = {c.size: c.note for c in session.scalars(select(LogCheckpoint))}
        head = session.scalar(select(LogHead.size).where(LogHead.id == 1))
        counts = {tag: repository.count_accounts(session, tag) for _, tag, _ in tag_rows}
        match_ids = set(session.scalars(select(Match.match_id)))
        assert session.scalar(select(func.count()).select_from(Entry)) == len(expected)

    tags_of: dict[bytes, list[bytes]] = {}
    for entry_id, tag, account_id in tag_rows:
        assert entries[b64(entry_id)].account_id == account_id, "a tag row counts for another account"
        tags_of.setdefault(entry_id, []).append(tag)
    envelopes_of: dict[bytes, list[tuple[bytes, bytes]]] = {}
    for entry_id, key_id, ciphertext in envelope_rows:
        envelopes_of.setdefault(entry_id, []).append((key_id, ciphertext))
    entry_leaves: dict[bytes, list[events.Event]] = {}
    for _, kind, _data, opening, entry_id in leaves:
        if kind == events.ENTRY:
            entry_leaves.setdefault(entry_id, []).append(events.parse_event(events.parse_opening(opening).event))
    for key, entry in entries.items():
        payload = expected[key]
        raw = entry.entry_id
        want_tags = sorted(b64u_decode(t) for t in payload["tags"])
        want_envelopes = sorted((b64u_decode(e["key_id"]), b64u_decode(e["ciphertext"]))
                                for e in payload["envelopes"])
        assert entry.status in ("escrowed", "released"), (key, entry.status)
        assert entry.quorum == payload["quorum"] and entry.body == b64u_decode(payload["body"]), key
        assert sorted(tags_of.get(raw, [])) == want_tags, f"{key}: tags {len(tags_of.get(raw, []))}"
        assert sorted(envelopes_of.get(raw, [])) == want_envelopes, f"{key}: envelopes"
        assert entry.content_hash == expected_content(dict(payload)), key
        logged = entry_leaves.get(raw, [])
        assert len(logged) == 1, f"{key} has {len(logged)} entry leaves"
        assert logged[0].content_hash == entry.content_hash and logged[0].entry_id == raw, key
        reached = [t for t in want_tags if counts[t] >= entry.quorum]
        if entry.status == "escrowed":
            assert not reached or set(reached) & queued, \
                f"{key} is escrowed although its quorum is reached, and none of its tags waits for a pass"
        else:
            assert reached, f"{key} is released although no count reaches its quorum"
            assert entry.match_id in match_ids, key
    assert set(entry_leaves) <= {e.entry_id for e in entries.values()}, "an entry leaf without its entry"
    assert len(tag_rows) == sum(len(p["tags"]) for p in expected.values())
    assert len(envelope_rows) == sum(len(p["envelopes"]) for p in expected.values())

    tree = merkle.MemoryTree()
    for position, (index, kind, data, opening, _) in enumerate(leaves):
        assert index == position, f"log leaf {position} is missing"
        opened = events.parse_opening(opening)
        assert opened.leaf == data and len(data) == 32, f"log leaf {position} is not its opening's commitment"
        event = events.parse_event(opened.event)
        assert event.kind == events.KIND_NAMES[kind]
        tree.append(data)
        if kind == events.RELEASE:
            assert event.match_id in match_ids
    assert head == len(tree), f"log head says {head}, {len(tree)} leaves stored"
    computed = tiles.stored_tiles_of(tree)
    assert stored_tiles == computed, (
        f"stored log tiles differ: {len(set(stored_tiles) ^ set(computed))} only on one side, "
        f"{sum(stored_tiles[k] != computed[k] for k in set(stored_tiles) & set(computed))} differ")
    assert checkpoints and max(checkpoints) == len(tree), "the newest checkpoint does not cover the whole log"
    for size, note in checkpoints.items():
        opened = cp.open_checkpoint(note, d.log_vkey, origin=d.log_origin)
        assert opened.checkpoint.size == size
        assert opened.checkpoint.root_hash == tree.root(size), f"checkpoint {size} signs another root"
    return tree


def sqlite_checks(path: Path) -> None:
    """PRAGMA integrity_check and foreign_key_check on the escrow's SQLite file."""
    connection = sqlite3.connect(path, timeout=10)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()


__all__ = ["ADMIN_SECRET", "FAST_KDF", "FAST_RELEASES", "HTTP_TIMEOUT", "Site", "auth", "b64", "check_store",
           "local_cluster", "make_site", "register", "same_content", "sqlite_checks", "start_all",
           "start_with_busy_timeout", "start_with_quorum_keys", "submission", "wait_healthy"]
