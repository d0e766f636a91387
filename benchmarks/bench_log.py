"""The transparency log at 10^3 … 10^7 leaves: appends, proofs, receipts, verification, disk.

Everything measured runs the real code on the real schema: ``storage.log``
inside ``Database.write()`` / ``read()`` transactions on a SQLite file
configured by ``storage/database.py`` (WAL, ``synchronous=FULL``,
``BEGIN IMMEDIATE`` for writers), migrated by Alembic; then the same on a
private PostgreSQL cluster of the run's own (``PostgresStore``: the same code and
measurements, bulk setup with ``COPY``).

**Setup, not measured.** Appending 10^7 leaves one ORM transaction at a time
would take hours, so each log is *grown* to the next size by bulk insert:
a helper process keeps a ``merkle.MemoryTree`` (which stores exactly the
nodes ``merkle.perfect_nodes_to_store_on_append`` yields, the layout
``storage.log.append`` writes), hands over every new leaf row and every
newly complete node per chunk, and this process inserts them into
``log_leaves`` / ``log_tiles`` with the stdlib ``sqlite3`` module in big
transactions with the journal off and ``synchronous=OFF``, the
``entry_id`` index dropped and rebuilt afterwards, and ``log_head.size``
set. Then the database goes back to WAL and every measurement below uses
the project's own engine and code. Before measuring, the root that
``storage.log`` computes from the stored nodes is checked against the
helper's tree; after the measured appends (real code) the helper replays
those leaves and the roots are compared again, so the bulk layout and the
code's layout provably agree. Every leaf is an entry leaf as protocol v2
stores it: its 89-byte opening (a 32-byte nonce and the 57-byte entry event),
whose commitment ``events.commit(nonce, event)`` the tree hashes, and a random
16-byte ``entry_id`` in the indexed column.

Measured at each size, on the same growing database:

* proof generation, p50/p99 over random indices: ``storage.log.inclusion_proof``,
  ``storage.log.consistency_proof`` (random old size to the current size),
  the root (``merkle.root_hash`` over ``log.DatabaseNodes``), ``storage.log.sign``
  (root + Ed25519 + insert, rolled back so it can be repeated),
  ``transparency.opened_receipt`` (the inclusion proof, self-checked, with the leaf's opening), and
  ``transparency.latest_receipt`` (the receipt for an entry id, as
  ``GET /v1/entries/{id}/receipt`` builds it); with the number of SQL
  statements each one runs;
* verification: ``receipts.open_receipt`` (the client's check: opening, signature, inclusion) and the bare
  ``merkle.verify_inclusion`` / ``merkle.verify_consistency``;
* appends through ``storage.log.append``: one event per transaction with the
  checkpoint signed and the receipt issued before the commit (what
  ``transparency.record_entry`` does for an entry), timed stage by stage; and
  batches of 10, 100 and 1000 appends per transaction with one signature, to
  separate the commit from the per-append work; and the release pass's log
  work: ``storage.log.append_batch`` of the escrow server's fixed batch
  (``LOG_BATCH_SIZE`` padding leaves when nothing is queued) plus the
  checkpoint, one durable transaction, as each pass appends it;
* sequencing apart from integration (PROTOCOL.md §11): ``storage.log.sequence``, one event per durable
  transaction (the log's whole part of a submission now), and the integrator's batches:
  ``storage.log.integrate`` of N sequenced events + one ``sign`` + commit, one transaction (what
  ``integrator.integrate_once`` does), as integrated appends per second;
* the floors: SHA-256 of one node (``hashlib``), one Ed25519 signature and
  verification, one SQLite insert+commit (``bench_submission.sqlite_floor``);
* the database file's size per leaf, and at the largest size per table (``dbstat``).

Run alone: ``python benchmarks/bench_log.py [--quick] [--max-size N] [--database sqlite|postgresql|both]``
prints markdown.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import multiprocessing
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import event, select  # noqa: E402

import bench_submission  # noqa: E402
from common import (  # noqa: E402
    Deadline,
    filesystem_of,
    fmt_rate,
    fmt_ratio,
    fmt_time,
    latency_summary,
    log,
    md_table,
    measure,
)
from consilience.clients.receipts import open_receipt  # noqa: E402
from consilience.crypto import signing  # noqa: E402
from consilience.protocol import events  # noqa: E402
from consilience.services.escrow import transparency  # noqa: E402
from consilience.storage import database  # noqa: E402
from consilience.storage import log as storage_log  # noqa: E402
from consilience.storage.models import LogLeaf  # noqa: E402
from consilience.tlog import (  # noqa: E402
    merkle,  # noqa: E402
    notes,
    tiles,
)

ORIGIN = "bench.consilience.example/log"
LEAF_BYTES = 32 + 57  # a leaf row: its opening (nonce ‖ entry event: kind, id, hash, time)
#: Bytes of disk per leaf assumed when checking free space before a size is built (measured about 180
#: with tiles, 362 with a row per node; the WAL and the index rebuild need head room on top).
DISK_BYTES_PER_LEAF = 450
DISK_MARGIN = 2 * 1024**3


@dataclass(frozen=True)
class Profile:
    sizes: tuple[int, ...]
    chunk: int  # leaves per bulk-insert transaction
    samples: int  # random indices per proof kind and size
    sign_samples: int
    event_txns: int  # one-append transactions per size
    batches: tuple[tuple[int, int], ...]  # (appends per transaction, transactions)
    release_passes: int  # padded release batches (append_batch + sign) per size
    seconds_per_phase: float
    floor_seconds: float
    floor_runs: int
    floor_ops: int
    #: (sequenced events per integration, integrations)
    integrate_batches: tuple[tuple[int, int], ...] = ((100, 5), (1000, 3), (10_000, 1))


FULL = Profile(sizes=(10**3, 10**4, 10**5, 10**6, 10**7), chunk=100_000, samples=250, sign_samples=60,
               event_txns=150, batches=((10, 10), (100, 3), (1000, 1)), release_passes=40, seconds_per_phase=8.0,
               floor_seconds=1.0, floor_runs=5, floor_ops=300)
QUICK = Profile(sizes=(100, 1000), chunk=400, samples=20, sign_samples=5, event_txns=10,
                batches=((10, 2), (100, 1)), release_passes=3, seconds_per_phase=2.0, floor_seconds=0.05, floor_runs=2,
                floor_ops=10, integrate_batches=((100, 2), (1000, 1)))


# -- setup: the helper that keeps the tree, and the bulk loader ----------------------------


def _tree_worker(conn: Any, when_ms: int) -> None:
    """Keeps a MemoryTree of the whole log; produces bulk rows and replays real appends."""
    tree = merkle.MemoryTree()
    when = datetime.fromtimestamp(when_ms / 1000, UTC)
    while True:
        message = conn.recv()
        op = message[0]
        if op == "stop":
            return
        if op == "replay":  # leaf data the real code appended, in index order
            first, datas = message[1], message[2]
            if first != len(tree):
                conn.send(("error", f"replay starts at {first}, the tree has {len(tree)} leaves"))
                continue
            for data in datas:
                tree.append(data)
            conn.send(("root", len(tree), tree.root()))
        elif op == "extend":
            target, chunk = message[1], message[2]
            while len(tree) < target:
                start = len(tree)
                n = min(chunk, target - start)
                rnd = os.urandom(48 * n)
                leaves = []
                nonces = os.urandom(events.NONCE_BYTES * n)
                for i in range(n):
                    entry_id = rnd[48 * i:48 * i + 16]
                    opening = events.Opening(nonces[events.NONCE_BYTES * i:events.NONCE_BYTES * (i + 1)],
                                             events.entry_event(entry_id, rnd[48 * i + 16:48 * i + 48], when))
                    tree.append(opening.leaf)
                    leaves.append((start + i, events.ENTRY, opening.encoded, entry_id))
                conn.send(("chunk", leaves, changed_tiles(tree, start)))
            conn.send(("root", len(tree), tree.root()))


def changed_tiles(tree: merkle.MemoryTree, before: int) -> list[tuple[int, int, bytes]]:
    """The ``log_tiles`` rows ``(level, idx, hashes)`` that growing the tree from ``before`` leaves wrote or
    rewrote: at each stored tile level, the partial tile it extended and every tile after it."""
    rows = []
    height, width = tiles.STORED_HEIGHT, tiles.STORED_WIDTH
    level = 0
    while len(tree) >> (height * level):
        hashes = tree.levels[height * level]
        old, new = before >> (height * level), len(hashes)
        for index in range(old // width, -(-new // width)):
            rows.append((level, index, b"".join(hashes[index * width:(index + 1) * width])))
        level += 1
    return rows


class TreeHelper:
    """The helper process (forked before any database engine exists)."""

    def __init__(self, when_ms: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_tree_worker, args=(child, when_ms), daemon=True)
        self.process.start()
        child.close()

    def recv(self) -> Any:
        message = self.conn.recv()
        if message[0] == "error":
            raise RuntimeError(f"tree helper: {message[1]}")
        return message

    def replay(self, first: int, datas: list[bytes]) -> tuple[int, bytes]:
        self.conn.send(("replay", first, datas))
        _, size, root = self.recv()
        return size, root

    def extend(self, target: int, chunk: int, write: Callable[[list[Any], list[Any]], None]
               ) -> tuple[int, bytes, float, float]:
        """Have the helper hash the tree up to ``target`` leaves, ``chunk`` at a time, and hand each chunk's
        leaf and tile rows to ``write`` (one store's bulk insert). Returns (size, root, seconds writing,
        seconds waiting for hashes), so each store reports where its setup time went."""
        self.conn.send(("extend", target, chunk))
        writing = waiting = 0.0
        while True:
            a = time.perf_counter()
            message = self.recv()
            b = time.perf_counter()
            waiting += b - a
            if message[0] == "root":
                _, size, root = message
                return size, root, writing, waiting
            _, leaves, tile_rows = message
            write(leaves, tile_rows)
            writing += time.perf_counter() - b

    def close(self) -> None:
        try:
            self.conn.send(("stop",))
        except OSError:
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class SqliteStore:
    """The log in a SQLite file, configured by ``storage/database.py``; bulk-loaded with stdlib ``sqlite3``."""

    name = "sqlite"

    def __init__(self, work: Path) -> None:
        self.path = work / "escrow.sqlite"
        self.url = database.sqlite_url(self.path)

    def bulk_extend(self, helper: TreeHelper, target: int, chunk: int) -> dict[str, Any]:
        """Grow the log to ``target`` leaves by bulk insert (setup; see the module docstring)."""
        t0 = time.perf_counter()
        con = sqlite3.connect(self.path, isolation_level=None)

        def write(leaves: list[Any], tile_rows: list[Any]) -> None:
            con.execute("BEGIN")
            con.executemany("INSERT INTO log_leaves (idx, kind, opening, entry_id) VALUES (?, ?, ?, ?)", leaves)
            con.executemany("INSERT OR REPLACE INTO log_tiles (level, idx, hashes) VALUES (?, ?, ?)", tile_rows)
            con.execute("UPDATE log_head SET size = ? WHERE id = 1", (leaves[-1][0] + 1,))
            con.execute("COMMIT")

        try:
            mode = con.execute("PRAGMA journal_mode = OFF").fetchone()[0]
            if mode != "off":
                raise RuntimeError(f"could not take the database out of WAL for the bulk load ({mode})")
            con.execute("PRAGMA synchronous = OFF")
            con.execute("PRAGMA cache_size = -262144")  # 256 MiB
            index_sql = con.execute("SELECT sql FROM sqlite_master WHERE type = 'index' "
                                    "AND name = 'ix_log_leaves_entry_id'").fetchone()[0]
            con.execute("DROP INDEX ix_log_leaves_entry_id")
            size, root, insert, wait = helper.extend(target, chunk, write)
            a = time.perf_counter()
            con.execute(index_sql)
            index = time.perf_counter() - a
            if con.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
                raise RuntimeError("could not put the database back into WAL mode")
            stored = con.execute("SELECT size FROM log_head WHERE id = 1").fetchone()[0]
        finally:
            con.close()
        if stored != target or size != target:
            raise RuntimeError(f"bulk load ended at {stored} (helper {size}), wanted {target}")
        return {"seconds": time.perf_counter() - t0, "insert_seconds": insert, "waiting_for_hashes": wait,
                "index_seconds": index, "root": root}

    def database_bytes(self) -> int:
        return sum(os.path.getsize(p) for p in (self.path, Path(f"{self.path}-wal")) if p.exists())

    @contextmanager
    def raw_tile_reader(self) -> Iterator[Callable[[tuple[int, int]], bytes]]:
        raw = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            yield lambda c: raw.execute("SELECT hashes FROM log_tiles WHERE level = ? AND idx = ?", c).fetchone()[0]
        finally:
            raw.close()

    def table_bytes(self) -> dict[str, int]:
        con = sqlite3.connect(self.path)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return dict(con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall())
        except sqlite3.OperationalError:  # SQLite built without dbstat
            return {}
        finally:
            con.close()

    def close(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class PostgresStore:
    """The log in a private PostgreSQL cluster of the run's own (``tests/pg_cluster.py``) with its durable defaults
    (fsync on, ``synchronous_commit`` on); bulk-loaded with ``COPY``."""

    name = "postgresql"

    def __init__(self, work: Path) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import pg_cluster  # type: ignore[import-not-found]

        self.pg = pg_cluster
        self.cluster = pg_cluster.LocalCluster()
        c = self.cluster
        c.process = subprocess.Popen(
            pg_cluster._as_user([c.postgres, "-D", str(c.data), "-k", str(c.sockets), "-p", str(c.port),
                                 "-c", "listen_addresses=127.0.0.1", "-c", "shared_buffers=1GB",
                                 "-c", "max_wal_size=8GB"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pg_cluster._wait(c.url, c.process)
        self.url = pg_cluster.fresh_database(c.url)
        self.conninfo = self.url.replace("postgresql+psycopg://", "postgresql://")

    def bulk_extend(self, helper: TreeHelper, target: int, chunk: int) -> dict[str, Any]:
        import psycopg

        t0 = time.perf_counter()
        with psycopg.connect(self.conninfo, autocommit=True) as con:

            def write(leaves: list[Any], tile_rows: list[Any]) -> None:
                with con.transaction(), con.cursor() as cur:
                    cur.execute("SET LOCAL synchronous_commit = off")  # setup only
                    with cur.copy("COPY log_leaves (idx, kind, opening, entry_id) FROM STDIN") as copy:
                        for row in leaves:
                            copy.write_row(row)
                    cur.executemany("DELETE FROM log_tiles WHERE level = %s AND idx = %s",
                                    [(level, idx) for level, idx, _ in tile_rows])
                    with cur.copy("COPY log_tiles (level, idx, hashes) FROM STDIN") as copy:
                        for row in tile_rows:
                            copy.write_row(row)
                    cur.execute("UPDATE log_head SET size = %s WHERE id = 1", (leaves[-1][0] + 1,))

            index_sql = con.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_log_leaves_entry_id'"
                                    ).fetchone()[0]
            con.execute("DROP INDEX ix_log_leaves_entry_id")
            size, root, insert, wait = helper.extend(target, chunk, write)
            a = time.perf_counter()
            con.execute(index_sql)
            con.execute("VACUUM ANALYZE log_leaves")
            con.execute("VACUUM ANALYZE log_tiles")
            index = time.perf_counter() - a
            stored = con.execute("SELECT size FROM log_head WHERE id = 1").fetchone()[0]
        if stored != target or size != target:
            raise RuntimeError(f"bulk load ended at {stored} (helper {size}), wanted {target}")
        return {"seconds": time.perf_counter() - t0, "insert_seconds": insert, "waiting_for_hashes": wait,
                "index_seconds": index, "root": root}

    def database_bytes(self) -> int:
        import psycopg

        with psycopg.connect(self.conninfo) as con:
            return int(con.execute("SELECT pg_database_size(current_database())").fetchone()[0])

    @contextmanager
    def raw_tile_reader(self) -> Iterator[Callable[[tuple[int, int]], bytes]]:
        import psycopg

        with psycopg.connect(self.conninfo) as raw:
            yield lambda c: raw.execute("SELECT hashes FROM log_tiles WHERE level = %s AND idx = %s", c,
                                        prepare=True).fetchone()[0]

    def table_bytes(self) -> dict[str, int]:
        """Every log relation's own size (heap, its TOAST, or index), as dbstat gives SQLite's."""
        import psycopg

        with psycopg.connect(self.conninfo) as con:
            con.execute("CHECKPOINT")
            rows = con.execute(
                "SELECT c.relname, pg_relation_size(c.oid) + COALESCE(pg_total_relation_size(c.reltoastrelid), 0) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') ORDER BY 2 DESC").fetchall()
        return {name: int(b) for name, b in rows}

    def close(self) -> None:
        self.cluster.close()


# -- measurement helpers -------------------------------------------------------------------


class StatementCounter:
    """Counts the SQL statements an engine runs (for 'how many reads does a proof take')."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.count = engine, 0
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *_args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on)


@contextmanager
def counting(engine: Any) -> Iterator[StatementCounter]:
    counter = StatementCounter(engine)
    try:
        yield counter
    finally:
        counter.close()


def timed_calls(fn: Callable[[Any], Any], args: list[Any], deadline: Deadline, warmup: int = 3) -> tuple[
        list[float], list[Any]]:
    for a in args[:warmup]:
        fn(a)
    samples, results = [], []
    for a in args:
        if deadline.passed() and samples:
            break
        t = time.perf_counter()
        results.append(fn(a))
        samples.append(time.perf_counter() - t)
    return samples, results


# -- one size --------------------------------------------------------------------------------


def measure_proofs(db: database.Database, store: Store, n: int, p: Profile, rng: random.Random, vkey: str,
                   key: bytes) -> dict[str, Any]:
    """Everything read-only at size n (the checkpoint at n is signed first)."""
    out: dict[str, Any] = {}
    now = datetime.now(UTC)
    indices = [rng.randrange(n) for _ in range(p.samples)]
    olds = [rng.randrange(1, n) for _ in range(p.samples)]

    with db.read() as s:
        nodes = storage_log.DatabaseNodes(s)
        coords = [merkle.node_coordinates(i, i + 1) for i in indices]
        samples, _ = timed_calls(lambda c: nodes.node(*c), coords, Deadline(p.seconds_per_phase))
        out["node_read"] = latency_summary(samples)
    with store.raw_tile_reader() as read:
        tile_keys = [tiles.node_in_tile(*c)[:2] for c in coords]
        samples, _ = timed_calls(read, tile_keys, Deadline(p.seconds_per_phase))
        out["node_read_raw"] = latency_summary(samples)
    with db.read() as s:
        samples, roots = timed_calls(lambda _: merkle.root_hash(storage_log.DatabaseNodes(s), n),
                                     list(range(min(p.samples, 100))), Deadline(p.seconds_per_phase))
        out["root"] = latency_summary(samples)

    # storage.log.sign, repeated in transactions that are rolled back (no commit, so it can run again).
    sign_samples = []
    deadline = Deadline(p.seconds_per_phase)
    for k in range(p.sign_samples + 2):
        if deadline.passed() and len(sign_samples) > 2:
            break
        with db.read() as s:
            t = time.perf_counter()
            storage_log.sign(s, ORIGIN, key, now)
            if k >= 2:
                sign_samples.append(time.perf_counter() - t)
    out["sign"] = latency_summary(sign_samples)
    with db.write() as s:
        note = storage_log.sign(s, ORIGIN, key, now)

    with db.read() as s:
        openings = dict(s.execute(select(LogLeaf.idx, LogLeaf.opening).where(LogLeaf.idx.in_(set(indices)))).all())
        leaves = {i: events.parse_opening(o).leaf for i, o in openings.items()}
        # the entries' leaves among them (a release pass's leaves, from the appends measured at a smaller size,
        # belong to no entry)
        entry_ids = list(s.scalars(select(LogLeaf.entry_id).where(LogLeaf.idx.in_(set(indices)),
                                                                  LogLeaf.entry_id.is_not(None))))
        rng.shuffle(entry_ids)
        samples, proofs = timed_calls(lambda i: storage_log.inclusion_proof(s, i, n), indices,
                                      Deadline(p.seconds_per_phase))
        out["inclusion"] = latency_summary(samples)
        out["inclusion_hashes"] = latency_summary([len(x) for x in proofs])
        samples, cproofs = timed_calls(lambda m: storage_log.consistency_proof(s, m, n), olds,
                                       Deadline(p.seconds_per_phase))
        out["consistency"] = latency_summary(samples)
        out["consistency_hashes"] = latency_summary([len(x) for x in cproofs])
        samples, receipts = timed_calls(
            lambda i: transparency.opened_receipt(s, i, leaves[i], openings[i], note),
            indices, Deadline(p.seconds_per_phase))
        out["issue_receipt"] = latency_summary(samples)
        samples, by_id = timed_calls(lambda e: transparency.latest_receipt(s, e), entry_ids,
                                     Deadline(p.seconds_per_phase))
        out["latest_receipt"] = latency_summary(samples)
        if any(r is None for r in by_id):
            raise RuntimeError("transparency.latest_receipt found no leaf for a stored entry id")
        out["receipt_bytes"] = len(receipts[0])
        old_roots = {m: merkle.root_hash(storage_log.DatabaseNodes(s), m) for m in olds[:len(cproofs)]}
        # SQL statements per call, counted in a separate untimed pass over the first few random indices.
        k = min(20, len(indices), len(entry_ids))
        calls = {"node_read": lambda j: nodes_read(s, indices[j]),
                 "root": lambda j: merkle.root_hash(storage_log.DatabaseNodes(s), n),
                 "inclusion": lambda j: storage_log.inclusion_proof(s, indices[j], n),
                 "consistency": lambda j: storage_log.consistency_proof(s, olds[j], n),
                 "issue_receipt": lambda j: transparency.opened_receipt(s, indices[j], leaves[indices[j]],
                                                                        openings[indices[j]], note),
                 "latest_receipt": lambda j: transparency.latest_receipt(s, entry_ids[j])}
        statements = {}
        for name, call in calls.items():
            with counting(db.engine) as counter:
                for j in range(k):
                    call(j)
            statements[name] = counter.count / k
        out["statements"] = statements
    root = roots[0]

    deadline = Deadline(p.seconds_per_phase)
    samples, opened = timed_calls(lambda r: open_receipt(r, vkey), receipts, deadline)
    results = [o.result for o in opened]
    if any(v.root_hash != root or v.tree_size != n for v in results):
        raise RuntimeError("a receipt verified against another tree")
    out["verify_receipt"] = latency_summary(samples)
    leaf_hashes = {i: merkle.leaf_hash(leaves[i]) for i in indices}
    pairs = list(zip(indices, proofs, strict=False))
    samples, _ = timed_calls(lambda ip: merkle.verify_inclusion(leaf_hashes[ip[0]], ip[0], n, ip[1], root), pairs,
                             Deadline(p.seconds_per_phase))
    out["verify_inclusion"] = latency_summary(samples)
    triples = list(zip(olds, cproofs, strict=False))
    samples, _ = timed_calls(lambda t: merkle.verify_consistency(t[0], n, t[1], old_roots[t[0]], root), triples,
                             Deadline(p.seconds_per_phase))
    out["verify_consistency"] = latency_summary(samples)
    out["root_hash"] = root.hex()
    return out


def nodes_read(session: Any, index: int) -> bytes:
    return storage_log.DatabaseNodes(session).node(0, index)


def new_leaf(now: datetime) -> tuple[events.Opening, bytes]:
    entry_id = os.urandom(16)
    return events.Opening.fresh(events.entry_event(entry_id, os.urandom(32), now)), entry_id


def measure_appends(db: database.Database, p: Profile, key: bytes) -> dict[str, Any]:
    """Appends through storage.log.append in real durable transactions; the log grows."""
    out: dict[str, Any] = {}
    stages: dict[str, list[float]] = {"append": [], "sign": [], "receipt": [], "commit": [], "total": []}
    deadline = Deadline(p.seconds_per_phase)
    for k in range(p.event_txns + 3):
        if deadline.passed() and len(stages["total"]) > 2:
            break
        now = datetime.now(UTC)
        opening, entry_id = new_leaf(now)
        t0 = time.perf_counter()
        with db.write() as s:
            index = storage_log.append(s, opening, now, entry_id=entry_id)
            t1 = time.perf_counter()
            note = storage_log.sign(s, ORIGIN, key, now)
            t2 = time.perf_counter()
            transparency.opened_receipt(s, index, opening.leaf, opening.encoded, note)
            t3 = time.perf_counter()
        t4 = time.perf_counter()
        if k >= 3:  # the first transactions compile statements
            for name, value in (("append", t1 - t0), ("sign", t2 - t1), ("receipt", t3 - t2), ("commit", t4 - t3),
                                ("total", t4 - t0)):
                stages[name].append(value)
    out["event"] = {name: latency_summary(v, sum(stages["total"]) if name == "total" else None)
                    for name, v in stages.items()}

    batches = {}
    for size, count in p.batches:
        per_txn, commits = [], []
        deadline = Deadline(p.seconds_per_phase)
        for _ in range(count):
            if deadline.passed() and per_txn:
                break
            now = datetime.now(UTC)
            leaves = [new_leaf(now) for _ in range(size)]
            t0 = time.perf_counter()
            with db.write() as s:
                for opening, entry_id in leaves:
                    storage_log.append(s, opening, now, entry_id=entry_id)
                storage_log.sign(s, ORIGIN, key, now)
                t1 = time.perf_counter()
            t2 = time.perf_counter()
            per_txn.append(t2 - t0)
            commits.append(t2 - t1)
        total = sum(per_txn)
        batches[str(size)] = {"appends": size, "transactions": len(per_txn), "txn": latency_summary(per_txn),
                              "commit": latency_summary(commits), "per_append": total / (size * len(per_txn)),
                              "appends_per_second": size * len(per_txn) / total}
    out["batches"] = batches

    # The release pass's log work: one padded batch and its checkpoint, one durable transaction.
    from consilience.services.escrow.settings import LOG_BATCH_SIZE

    passes, deadline = [], Deadline(p.seconds_per_phase)
    for k in range(p.release_passes + 2):
        if deadline.passed() and len(passes) > 2:
            break
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        with db.write() as s:
            storage_log.append_batch(s, LOG_BATCH_SIZE, now)
            storage_log.sign(s, ORIGIN, key, now)
        if k >= 2:
            passes.append(time.perf_counter() - t0)
    out["release_batch"] = {"leaves": LOG_BATCH_SIZE, **latency_summary(passes)}
    return out


def integration_growth(p: Profile) -> int:
    """Leaves ``measure_integration`` adds at most: it runs only where the next size is still ahead."""
    return p.event_txns + 3 + sum(size * count for size, count in p.integrate_batches)


def measure_integration(db: database.Database, p: Profile, key: bytes) -> dict[str, Any]:
    """The write path's log work now (one ``sequence`` per transaction) and the integrator's batches."""
    sequenced, deadline = [], Deadline(p.seconds_per_phase)
    for k in range(p.event_txns + 3):
        if deadline.passed() and len(sequenced) > 2:
            break
        now = datetime.now(UTC)
        opening, entry_id = new_leaf(now)
        t0 = time.perf_counter()
        with db.write() as s:
            storage_log.sequence(s, opening, now, entry_id=entry_id)
        if k >= 3:
            sequenced.append(time.perf_counter() - t0)
    with db.write() as s:  # the events just sequenced, so each batch below integrates exactly its own
        storage_log.integrate(s, datetime.now(UTC))
        storage_log.sign(s, ORIGIN, key, datetime.now(UTC))
    integrated = {}
    for size, count in p.integrate_batches:
        per_txn = []
        for _ in range(count):
            now = datetime.now(UTC)
            with db.write() as s:  # setup: what the requests sequenced
                for opening, entry_id in (new_leaf(now) for _ in range(size)):
                    storage_log.sequence(s, opening, now, entry_id=entry_id)
            t0 = time.perf_counter()
            with db.write() as s:
                appended = storage_log.integrate(s, now)
                storage_log.sign(s, ORIGIN, key, now, root=appended.root)
            per_txn.append(time.perf_counter() - t0)
            if appended.size - appended.start != size:
                raise RuntimeError(f"an integration appended {appended.size - appended.start} events, not {size}")
        total = sum(per_txn)
        integrated[str(size)] = {"events": size, "transactions": len(per_txn), "txn": latency_summary(per_txn),
                                 "per_append": total / (size * len(per_txn)),
                                 "appends_per_second": size * len(per_txn) / total}
    return {"sequence": latency_summary(sequenced, sum(sequenced)), "integrated": integrated}


def replay_and_check(db: database.Database, helper: TreeHelper, first: int) -> int:
    """Replay the leaves the real code appended into the helper's tree; compare roots."""
    with db.read() as s:
        datas = [leaf.data for leaf in storage_log.leaves(s, first)]
        size = storage_log.size(s)
        stored_root = merkle.root_hash(storage_log.DatabaseNodes(s), size)
    helper_size, helper_root = helper.replay(first, datas)
    if helper_size != size or helper_root != stored_root:
        raise RuntimeError(f"after the real appends the stored log (size {size}) and the reference tree "
                           f"(size {helper_size}) disagree")
    return size


# -- floors ---------------------------------------------------------------------------------


def floors(p: Profile, work: Path) -> dict[str, Any]:
    left, right = os.urandom(32), os.urandom(32)
    key = signing.generate()
    public = signing.public_key(key)
    body = f"{ORIGIN}\n10000000\n{'A' * 43}=\n".encode()
    sig = signing.sign(key, body)
    kw = {"seconds": p.floor_seconds, "runs": p.floor_runs}
    return {
        "sha256_node": measure(lambda: hashlib.sha256(b"\x01" + left + right).digest(), **kw).to_json(),
        "node_hash": measure(lambda: merkle.node_hash(left, right), **kw).to_json(),
        "ed25519_sign": measure(lambda: signing.sign(key, body), **kw).to_json(),
        "ed25519_verify": measure(lambda: signing.verify(public, body, sig), **kw).to_json(),
        "sqlite_commit": bench_submission.sqlite_floor(work / "floor.sqlite", {"body": LEAF_BYTES, "envelope": 0},
                                                       p.floor_ops),
    }


# -- the run ------------------------------------------------------------------------------------


Store = SqliteStore | PostgresStore


def run_store(store: Store, helper: TreeHelper, sizes: list[int], p: Profile, key: bytes,
              vkey: str) -> dict[str, Any]:
    """Grow one database through ``sizes``, measuring at each (the same code on either kind)."""
    rng = random.Random(20261125)
    out: dict[str, Any] = {"sizes": {}}
    database.upgrade(store.url)
    empty = store.database_bytes()
    out["empty_database_bytes"] = empty
    db = None
    try:
        for n in sizes:
            if db is not None:
                db.dispose()
            log(f"log ({store.name}): growing the log to {n:,} leaves (bulk insert, setup)")
            build = store.bulk_extend(helper, n, p.chunk)
            db_bytes = store.database_bytes()
            db = database.Database(store.url)
            with db.read() as s:
                root = merkle.root_hash(storage_log.nodes_for(s, merkle.root_nodes(n)), n)
                if storage_log.size(s) != n or root != build["root"]:
                    raise RuntimeError(f"the bulk-loaded log of {n} leaves does not have the reference root")
            entry: dict[str, Any] = {"build": {k: v for k, v in build.items() if k != "root"},
                                     "database_bytes": db_bytes,
                                     "bytes_per_leaf": (db_bytes - empty) / n}
            log(f"  {db_bytes / 1e6:,.1f} MB ({entry['bytes_per_leaf']:.0f} B/leaf), built in "
                f"{build['seconds']:.1f} s; proofs")
            entry["proofs"] = measure_proofs(db, store, n, p, rng, vkey, key)
            log(f"  inclusion proof p50 {fmt_time(entry['proofs']['inclusion']['p50'])}, receipt "
                f"{fmt_time(entry['proofs']['issue_receipt']['p50'])}; appends")
            entry["appends"] = measure_appends(db, p, key)
            with db.read() as s:
                grown = storage_log.size(s)
            later = [m for m in sizes if m > n]
            if not later or grown + integration_growth(p) < later[0]:
                entry["appends"].update(measure_integration(db, p, key))
            entry["size_after_appends"] = replay_and_check(db, helper, n)
            log(f"  append+sign+receipt+commit p50 {fmt_time(entry['appends']['event']['total']['p50'])}; "
                f"log now {entry['size_after_appends']:,} leaves, roots agree")
            if n == sizes[-1]:
                db.dispose()
                db = None
                out["tables_at_largest"] = {"size": entry["size_after_appends"], "bytes": store.table_bytes(),
                                            "database_bytes": store.database_bytes()}
            out["sizes"][str(n)] = entry
    finally:
        if db is not None:
            db.dispose()
    return out


#: PostgreSQL's largest size (None: the profile's, 10^7). Its bulk setup by COPY ran at about 80,000 leaves/s
#: here (10^7 in 125 s), so the full profile adds about 4 minutes; ``--pg-max-size`` bounds it.
PG_MAX_SIZE: int | None = None


def run(quick: bool = False, work: Path | None = None, max_size: int | None = None,
        pg_max_size: int | None = PG_MAX_SIZE, databases: tuple[str, ...] = ("sqlite", "postgresql")) -> dict[str, Any]:
    """``max_size``: stop at that many leaves (development runs; the report is the full profile's);
    ``pg_max_size``: PostgreSQL's largest size (None: the profile's)."""
    p = QUICK if quick else FULL
    if max_size is not None:
        p = dataclasses.replace(p, sizes=tuple(n for n in p.sizes if n <= max_size))
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="consilience-bench-log-")) if work is None else work
    work.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(work).free
    sizes = [n for n in p.sizes if n * DISK_BYTES_PER_LEAF + DISK_MARGIN < free]
    skipped = [n for n in p.sizes if n not in sizes]
    results: dict[str, Any] = {"profile": "quick" if quick else "full", "filesystem": filesystem_of(work),
                               "free_bytes_before": free, "skipped_sizes": skipped, "sizes": {},
                               "ram_bytes": os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")}
    if skipped:
        log(f"log: not enough free disk for sizes {skipped} ({free / 1e9:.1f} GB free)")
    key = signing.generate()
    vkey = notes.ed25519_vkey(ORIGIN, signing.public_key(key))
    when_ms = int(datetime.now(UTC).timestamp() * 1000)
    helpers = {name: TreeHelper(when_ms) for name in databases}  # forked before any engine exists
    try:
        results["floors"] = floors(p, work)
        if "sqlite" in databases:
            store = SqliteStore(work)
            try:
                results.update(run_store(store, helpers["sqlite"], sizes, p, key, vkey))
            finally:
                store.close()
        if "postgresql" in databases:
            pg_sizes = [n for n in sizes if pg_max_size is None or n <= pg_max_size or quick]
            try:
                pg = PostgresStore(work)
            except Exception as exc:  # pg_cluster.Unavailable: no server binaries, no psycopg
                log(f"log: PostgreSQL not measured: {exc}")
                results["postgresql"] = {"unavailable": str(exc)}
            else:
                try:
                    results["postgresql"] = {"max_size": pg_max_size,
                                             **run_store(pg, helpers["postgresql"], pg_sizes, p, key, vkey)}
                finally:
                    pg.close()
    finally:
        for helper in helpers.values():
            helper.close()
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return results


# -- rendering ---------------------------------------------------------------------------------


def _size_label(n: int) -> str:
    exp = math.log10(n)
    return f"10^{exp:.0f}" if exp == int(exp) else f"{n:,}"


def _pp(v: dict[str, float]) -> str:
    return f"{fmt_time(v['p50'])} / {fmt_time(v['p99'])}"


def render(results: dict[str, Any]) -> str:
    sizes = {int(k): v for k, v in results["sizes"].items()}
    ns = sorted(sizes)
    fl = results["floors"]
    sha = fl["sha256_node"]["seconds_per_op"]
    commit = fl["sqlite_commit"]["p50"]
    labels = [_size_label(n) for n in ns]
    out = [f"SQLite first (PostgreSQL below), on {results['filesystem']}, through "
           "`storage/database.py`'s engine: WAL, `synchronous=FULL`, `BEGIN IMMEDIATE` writers. Every leaf is an "
           "entry leaf as protocol v2 stores it: its 89-byte opening (nonce ‖ the 57-byte entry event), from which "
           "the 32-byte commitment the tree hashes is recomputed, and its random 16-byte `entry_id` in the indexed "
           "column; the tree is stored as tiles of 4 levels (`log_tiles`, 16 hashes a row).", "",
           "**Setup (not measured).** Appending 10^7 leaves one ORM transaction at a time would take hours (see "
           "the append rate below), so each log is grown to the next size by bulk insert: a helper process keeps "
           "a `merkle.MemoryTree`, whose nodes are exactly those `merkle.perfect_nodes_to_store_on_append` yields "
           "(the layout `storage.log.append` writes), and hands over the new `log_leaves` rows and the `log_tiles` "
           "rows they complete or extend, which are inserted with stdlib `sqlite3` in big transactions (journal off, "
           "`synchronous=OFF`, the `entry_id` index rebuilt afterwards). The database then goes back to WAL and "
           "everything below runs the project's code on it. The root `storage.log` computes from the stored nodes "
           "is checked against the helper's tree before measuring, and again after the measured appends (real "
           "code), which the helper replays: the two layouts agree. The same database grows through the sizes; "
           "the appends at each size make it a little larger before the next bulk step."
           + (" The whole database fits in the OS page cache on this machine (RAM is larger than the file, and it "
              "was just written), so node reads cost syscalls and B-tree walks, not disk seeks; a cold cache on a "
              "slow disk would add up to one random read per B-tree level not yet cached."
              if results["ram_bytes"] > 2 * max(v["database_bytes"] for v in sizes.values()) else ""), ""]

    rows = []
    for n, label in zip(ns, labels, strict=True):
        v = sizes[n]
        rows.append([label, f"{n:,}", f"{v['database_bytes'] / 1e6:,.1f} MB", f"{v['bytes_per_leaf']:.0f} B",
                     f"{v['build']['seconds']:.1f} s", f"{v['size_after_appends']:,}"])
    out += ["### Sizes", "",
            md_table(["log", "leaves", "database file", "per leaf", "bulk setup", "leaves after the append runs"],
                     rows), "",
            "*Per leaf* is (file size − the empty migrated database) / leaves, measured right after the bulk load "
            "(no WAL). *Bulk setup* is the time to grow the log from the previous size (hashing in the helper "
            "overlapped with inserting here).", ""]
    tables = results.get("tables_at_largest")
    if tables and tables["bytes"]:
        n_t = tables["size"]
        total = sum(tables["bytes"].values())
        mine = {name: b for name, b in tables["bytes"].items() if "log_" in name}
        trows = [[f"`{name}`", f"{b / 1e6:,.1f} MB", f"{b / n_t:.0f} B", f"{100 * b / total:.1f} %"]
                 for name, b in mine.items()]
        rest = total - sum(mine.values())
        trows.append(["everything else (the other tables and the schema)", f"{rest / 1e6:,.1f} MB",
                      f"{rest / n_t:.0f} B", f"{100 * rest / total:.1f} %"])
        out += [f"Where the bytes go at {n_t:,} leaves (SQLite `dbstat`; `log_leaves.idx` is the rowid, so the "
                "table has no separate key index; `sqlite_autoindex_log_tiles_1` is the key of `log_tiles`, one "
                "entry per 16 leaves):", "",
                md_table(["table or index", "bytes", "per leaf", "share"], trows), ""]

    def row(label: str, key: str, section: str = "proofs") -> list[str]:
        return [label] + [_pp(sizes[n][section][key]) for n in ns]

    out += ["### Proofs, receipts and verification (p50 / p99)", "",
            f"Over {sizes[ns[-1]]['proofs']['inclusion']['count']} random leaf indices (or random old sizes for "
            "consistency) per size, each call timed alone in one read transaction. `storage.log.sign` is run in "
            "transactions that are rolled back, so it includes the root, the Ed25519 signature and the insert "
            "but not a commit.", "",
            md_table(["operation", *labels], [
                row("one leaf hash read (`DatabaseNodes.node`: one indexed SELECT of its tile row)", "node_read"),
                row("… the tile row's SELECT with stdlib `sqlite3` (no ORM)", "node_read_raw"),
                row("root hash (`merkle.root_hash` on `DatabaseNodes`)", "root"),
                row("`storage.log.sign` (root + Ed25519 + insert, no commit)", "sign"),
                row("inclusion proof (`storage.log.inclusion_proof`)", "inclusion"),
                row("consistency proof, random old size (`storage.log.consistency_proof`)", "consistency"),
                row("receipt (`transparency.opened_receipt`: proof + self-check + the opening)", "issue_receipt"),
                row("receipt by entry id (`transparency.latest_receipt`)", "latest_receipt"),
                row("verify a receipt (`receipts.open_receipt`: parse, open the leaf, Ed25519, inclusion)",
                    "verify_receipt"),
                row("`merkle.verify_inclusion` alone", "verify_inclusion"),
                row("`merkle.verify_consistency` alone", "verify_consistency"),
            ], align="l" + "r" * len(ns)), "",
            "Work per call, which is what grows with the log (mean over random indices; SQL statements counted on "
            "the engine):", "",
            md_table(["", *labels], [
                ["⌈log2 n⌉", *[str(math.ceil(math.log2(n))) for n in ns]],
                ["inclusion proof hashes (p50 / max)",
                 *[f"{sizes[n]['proofs']['inclusion_hashes']['p50']:.0f} / "
                   f"{sizes[n]['proofs']['inclusion_hashes']['max']:.0f}" for n in ns]],
                ["consistency proof hashes (p50 / max)",
                 *[f"{sizes[n]['proofs']['consistency_hashes']['p50']:.0f} / "
                   f"{sizes[n]['proofs']['consistency_hashes']['max']:.0f}" for n in ns]],
                *[[f"SQL statements: {label}", *[f"{sizes[n]['proofs']['statements'][key]:.0f}" for n in ns]]
                  for key, label in (("root", "root hash"), ("inclusion", "inclusion proof"),
                                     ("consistency", "consistency proof"), ("issue_receipt", "issue_receipt"),
                                     ("latest_receipt", "latest_receipt"))],
                ["receipt file size", *[f"{sizes[n]['proofs']['receipt_bytes']} B" for n in ns]],
            ], align="l" + "r" * len(ns)), ""]

    ev = {n: sizes[n]["appends"]["event"] for n in ns}
    batch_keys = list(sizes[ns[0]]["appends"]["batches"])
    arows = [["one event per transaction: append + sign + receipt + commit (p50 / p99)",
              *[_pp(ev[n]["total"]) for n in ns]],
             *[[f"… {label}", *[fmt_time(ev[n][key]["p50"]) for n in ns]]
               for key, label in (("append", "`storage.log.append` (incl. `BEGIN IMMEDIATE`)"),
                                  ("sign", "`storage.log.sign`"),
                                  ("receipt", "`transparency.opened_receipt`"),
                                  ("commit", "commit (WAL fsync)"))],
             ["events/s, one per transaction", *[fmt_rate(ev[n]["total"]["per_second"]) for n in ns]]]
    rb = {n: sizes[n]["appends"]["release_batch"] for n in ns}
    arows.append([f"release pass's log work: `append_batch` of {rb[ns[0]]['leaves']} padding leaves + sign + commit "
                  "(p50 / p99)", *[_pp(rb[n]) for n in ns]])
    for b in batch_keys:
        arows.append([f"{b} appends + 1 sign per transaction: per append",
                      *[f"{fmt_time(sizes[n]['appends']['batches'][b]['per_append'])} "
                        f"({fmt_rate(sizes[n]['appends']['batches'][b]['appends_per_second'])})" for n in ns]])
    measured = [n for n in ns if "integrated" in sizes[n]["appends"]]
    if measured:  # at the sizes where its growth stayed below the next size
        arows.append(["sequencing (`storage.log.sequence` + commit), one event per transaction (p50 / p99)",
                      *[_pp(sizes[n]["appends"]["sequence"]) if n in measured else "—" for n in ns]])
        for b in sizes[measured[0]]["appends"]["integrated"]:
            arows.append([f"integration of {b} sequenced events + 1 sign, one transaction: per append",
                          *[f"{fmt_time(sizes[n]['appends']['integrated'][b]['per_append'])} "
                            f"({fmt_rate(sizes[n]['appends']['integrated'][b]['appends_per_second'])})"
                            if n in measured else "—" for n in ns]])
    out += ["### Appends through `storage.log.append` (durable transactions)", "",
            "Each event: one `Database.write()` transaction that appends an entry leaf, signs the checkpoint "
            "at the new size and issues the receipt, then commits — the log's part of "
            "`transparency.record_entry` (the entry's own rows are not written here). Batches append N leaves and "
            "sign once, which separates the per-append work from the commit. The release pass's row is the log "
            "part of one pass of `services/escrow/releases.py` with nothing queued: the fixed batch of leaves "
            "(padding events, committed like any other) and a checkpoint. Times are per transaction "
            "(p50 / p99), or per append for the batches; the columns are the log size when the runs start.", "",
            md_table(["", *labels], arows, align="l" + "r" * len(ns)), ""]

    sq = fl["sqlite_commit"]
    out += ["### Floors", "",
            md_table(["operation", "time", "rate"], [
                ["SHA-256 of one node (`hashlib.sha256(0x01 ‖ l ‖ r)`)", fmt_time(sha),
                 fmt_rate(fl["sha256_node"]["per_second"])],
                ["`merkle.node_hash` (the same, with length checks)", fmt_time(fl["node_hash"]["seconds_per_op"]),
                 fmt_rate(fl["node_hash"]["per_second"])],
                ["Ed25519 signature of a checkpoint body (`cryptography`)",
                 fmt_time(fl["ed25519_sign"]["seconds_per_op"]), fmt_rate(fl["ed25519_sign"]["per_second"])],
                ["Ed25519 verification", fmt_time(fl["ed25519_verify"]["seconds_per_op"]),
                 fmt_rate(fl["ed25519_verify"]["per_second"])],
                [f"SQLite insert + commit of a leaf-sized row, p50 of {sq['count']} (WAL, `synchronous=FULL`, "
                 "stdlib `sqlite3`)", fmt_time(commit), fmt_rate(1 / commit)],
            ], align="lrr"), ""]
    return "\n".join(out + render_postgresql(results))


def render_postgresql(results: dict[str, Any]) -> list[str]:
    """The same log on PostgreSQL: its own section, the same code and measurements."""
    pg = results.get("postgresql")
    if not pg:
        return []
    if "unavailable" in pg:
        return ["### PostgreSQL", "", f"Not measured: {pg['unavailable']}.", ""]
    sizes = {int(k): v for k, v in pg["sizes"].items()}
    ns = sorted(sizes)
    labels = [_size_label(n) for n in ns]
    bound = pg.get("max_size")
    out = ["### PostgreSQL", "",
           "The same code and measurements on a private PostgreSQL cluster of the run's own (`tests/pg_cluster.py`'s "
           "binaries, fsync on, `synchronous_commit` on, `shared_buffers=1GB`), over TCP on loopback through "
           "`storage/database.py`'s engine (psycopg). Setup: the same helper's rows, loaded with `COPY` "
           "(`synchronous_commit` off for the setup transactions only), the `entry_id` index rebuilt, then "
           "`VACUUM ANALYZE`."
           + (f" Sizes stop at {_size_label(bound)} (`--pg-max-size`)." if bound else ""), ""]

    def row(label: str, pick: Callable[[dict[str, Any]], str]) -> list[str]:
        return [label] + [pick(sizes[n]) for n in ns]

    rows = [
        row("database size per leaf (`pg_database_size`, after the bulk load)",
            lambda v: f"{v['bytes_per_leaf']:.0f} B"),
        row("bulk setup from the previous size", lambda v: f"{v['build']['seconds']:.1f} s"),
        row("inclusion proof (p50 / p99)", lambda v: _pp(v["proofs"]["inclusion"])),
        row("consistency proof, random old size", lambda v: _pp(v["proofs"]["consistency"])),
        row("receipt (`transparency.opened_receipt`)", lambda v: _pp(v["proofs"]["issue_receipt"])),
        row("receipt by entry id (`transparency.latest_receipt`)", lambda v: _pp(v["proofs"]["latest_receipt"])),
        row("root hash", lambda v: _pp(v["proofs"]["root"])),
        row("`storage.log.sign` (no commit)", lambda v: _pp(v["proofs"]["sign"])),
        row("SQL statements: inclusion proof / latest_receipt",
            lambda v: f"{v['proofs']['statements']['inclusion']:.0f} / "
                      f"{v['proofs']['statements']['latest_receipt']:.0f}"),
        row("one event per transaction: append + sign + receipt + commit",
            lambda v: _pp(v["appends"]["event"]["total"])),
        row("sequencing, one event per transaction", lambda v: _pp(v["appends"]["sequence"])
            if "sequence" in v["appends"] else "—"),
    ]
    integrated = [n for n in ns if "integrated" in sizes[n]["appends"]]
    if integrated:
        for b in sizes[integrated[0]]["appends"]["integrated"]:
            rows.append(row(f"integration of {b} sequenced events + 1 sign, one transaction: per append",
                            lambda v, b=b: f"{fmt_time(v['appends']['integrated'][b]['per_append'])} "
                                           f"({fmt_rate(v['appends']['integrated'][b]['appends_per_second'])})"
                            if "integrated" in v["appends"] else "—"))
    out += [md_table(["", *labels], rows, align="l" + "r" * len(ns)), ""]
    tables = pg.get("tables_at_largest")
    if tables and tables["bytes"]:
        n_t = tables["size"]
        mine = {name: b for name, b in tables["bytes"].items() if "log_" in name and b}
        out += [f"Where the bytes go at {n_t:,} leaves (each relation's `pg_relation_size`, with its TOAST table):", "",
                md_table(["table or index", "bytes", "per leaf"],
                         [[f"`{name}`", f"{b / 1e6:,.1f} MB", f"{b / n_t:.0f} B"] for name, b in mine.items()]), ""]
    return out


def interpretation(results: dict[str, Any]) -> str:
    """One paragraph for run.py's "Reading the numbers", computed from the results."""
    sizes = {int(k): v for k, v in results["sizes"].items()}
    ns = sorted(sizes)
    lo, hi = ns[0], ns[-1]
    fl = results["floors"]
    sha, commit = fl["sha256_node"]["seconds_per_op"], fl["sqlite_commit"]["p50"]
    ed = fl["ed25519_sign"]["seconds_per_op"]
    pl, ph = sizes[lo]["proofs"], sizes[hi]["proofs"]
    evh = sizes[hi]["appends"]["event"]
    batches = sizes[hi]["appends"]["batches"]
    big = batches[max(batches, key=int)]
    node = ph["node_read"]["p50"]
    incl_stmts = ph["statements"]["inclusion"]
    per_append_hashes = 2 * sha  # the leaf hash plus, on average, one completed node
    hours = evh["total"]["p50"] * 10**7 / 3600
    from consilience.services.escrow.settings import RELEASE_INTERVAL_SECONDS

    padding_per_day = sizes[hi]["appends"]["release_batch"]["leaves"] * 86400 / RELEASE_INTERVAL_SECONDS
    return (
        f"- **Transparency log.** From {_size_label(lo)} to {_size_label(hi)} leaves "
        f"({hi // lo:,}× more), an inclusion proof goes from {fmt_time(pl['inclusion']['p50'])} to "
        f"{fmt_time(ph['inclusion']['p50'])} and a receipt from {fmt_time(pl['issue_receipt']['p50'])} to "
        f"{fmt_time(ph['issue_receipt']['p50'])} (p50), in {incl_stmts:.0f} SQL statement: the tiles holding "
        f"every node the proof needs are read at once (one tile row alone takes {fmt_time(node)} through "
        f"SQLAlchemy, {fmt_time(ph['node_read_raw']['p50'])} through stdlib `sqlite3`), and the nodes between "
        f"stored levels are hashed from them (SHA-256 of a node: {fmt_time(sha)}). Verifying a "
        f"receipt takes {fmt_time(sizes[lo]['proofs']['verify_receipt']['p50'])} at {_size_label(lo)} and "
        f"{fmt_time(ph['verify_receipt']['p50'])} at {_size_label(hi)}, mostly the Ed25519 verification "
        f"({fmt_time(fl['ed25519_verify']['seconds_per_op'])}); the path itself is "
        f"{fmt_time(ph['verify_inclusion']['p50'])}. One event in its own durable transaction (append, sign, "
        f"receipt, commit) takes p50 {fmt_time(evh['total']['p50'])} at {_size_label(hi)} "
        f"({fmt_ratio(evh['total']['p50'] / commit)} a bare SQLite insert+commit, {fmt_time(commit)}): "
        f"`storage.log.append` {fmt_time(evh['append']['p50'])}, `sign` {fmt_time(evh['sign']['p50'])} (of "
        f"which Ed25519 {fmt_time(ed)}), the receipt {fmt_time(evh['receipt']['p50'])}, the commit "
        f"{fmt_time(evh['commit']['p50'])}. In batches of {big['appends']} an append costs "
        f"{fmt_time(big['per_append'])} ({fmt_rate(big['appends_per_second'])}), of which the SHA-256 work is "
        f"about {fmt_time(per_append_hashes)}: appending is bound by its SQL statements (a locked head read, "
        f"sibling reads, inserts, the head update), not by hashing, and a per-event server pays the commit and "
        f"the signature on top. At the per-event rate a 10^7-leaf log would take about {hours:,.0f} hours of "
        f"appends, hence the bulk-built setup. Each release pass adds its fixed batch of "
        f"{sizes[hi]['appends']['release_batch']['leaves']} leaves and a checkpoint in "
        f"{fmt_time(sizes[hi]['appends']['release_batch']['p50'])} (p50 at {_size_label(hi)}), whether or not it "
        f"released anything, so at the default interval ({RELEASE_INTERVAL_SECONDS:g} s on average) the "
        f"passes cost the log "
        f"{padding_per_day:,.0f} leaves a day (about {sizes[hi]['bytes_per_leaf'] * padding_per_day / 1e6:.1f} MB "
        f"a day at the measured size per leaf). The database needs about "
        f"{sizes[hi]['bytes_per_leaf']:.0f} B per leaf at {_size_label(hi)}."
    )


def main() -> int:
    """``python benchmarks/bench_log.py [--quick] [--json] [--max-size N]``: markdown (or JSON) on stdout."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts (checks the code, not the speed)")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    parser.add_argument("--max-size", type=int, help="stop at this many leaves (e.g. 100000 while developing)")
    parser.add_argument("--pg-max-size", type=int, default=PG_MAX_SIZE or 0,
                        help="PostgreSQL's largest size (default 0: the profile's)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    results = run(args.quick, max_size=args.max_size, pg_max_size=args.pg_max_size or None, databases=databases)
    print(json.dumps(results, indent=2, default=str) if args.json else render(results) + "\n" + interpretation(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
