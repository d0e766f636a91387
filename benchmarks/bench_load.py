"""A bounded load test of the escrow server on loopback: sustained submissions/s, p99, nothing lost after crashes.

Where ``bench_submission`` times one submission stage by stage, this file
asks what the deployment sustains, where the bottleneck sits as workers are
added, and whether an acknowledged entry survives the crash of each part.
It runs real deployments (3 key servers 2-of-3 and the escrow server, as
processes): one on SQLite (one process, the default set-up) and one on
PostgreSQL (a private cluster started for the run, tests/pg_cluster.py).

**Preparation** (not timed): R reporters register; each prepares its
submissions by the real v2 client path (``oprf_client.evaluate`` with signed
requests, batched ``evaluation.MAX_ELEMENTS`` identifiers at a time, then
``seal_entry`` with the checked quorum shares), and each submission is
encoded once as the HTTP/1.1 request it will be. Most entries name a fresh
person; one in ``REPEAT_EVERY`` names one of a few people that several
reporters name (each reporter at most once), so matches form; the release
pass runs on its background timer every ``RELEASE_INTERVAL`` seconds on
average, so matches are counted and released under load.

**The load generator** writes those pre-encoded requests over raw asyncio
streams on kept-alive connections and reads each answer (status line,
headers, Content-Length body); every 201 is parsed and must name its entry
and carry a receipt or say it is sequenced. It measures its own CPU per
request, which is what it takes from the server's two cores: an HTTP client
library in the same loop would cost about as much as the server's own work.

**On PostgreSQL** the escrow database is copied from one template taken
after the registrations (``CREATE DATABASE … TEMPLATE``) for every
configuration, so each starts from the same state and the same prepared
submissions are sent to each: 1, 2 and 4 workers (``serve --workers N``),
each with the framework's floor (``GET /v2/deployment``, an answer from
memory, and ``GET /healthz``, one ``SELECT 1``) measured the same way; an
open loop at ``OPEN_LOOP_FRACTION`` of the best closed loop, latency counted
from each request's *scheduled* send time (no coordinated omission); and
three crashes under load, each followed by a check of every acknowledged
entry and receipt: SIGKILL of one worker of ``serve --workers 2`` (its
parent then stops the other, as it is written to; the server is started
again), SIGKILL of a ``consilience integrate`` process beside
``serve --no-integrator`` (started again a moment later), and SIGKILL of
every PostgreSQL process (the cluster is started again and recovers from
its WAL). During a crash the generator sends a failed submission again, as
a client would; errors during the outage are counted apart from the steady
phases', which must be 0.

CPU per entry is summed over every process of the escrow server (the parent
and each worker, from /proc, with the children it reaped), the standalone
integrator when there is one, and PostgreSQL's processes apart.

Any steady-phase error, lost entry or bad receipt fails the run.
Run alone: ``python benchmarks/bench_load.py [--quick | --brief]`` prints the markdown of the load section;
``--database sqlite|postgresql`` runs one of the two, ``--workers 1,2,8`` other worker counts, and
``--database-url`` an existing PostgreSQL server (its admin URL: the run creates its databases there, and
neither kills it nor counts its CPU) instead of a private cluster.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_submission import (  # noqa: E402
    ADMIN_SECRET,
    CONTACT,
    RECORD,
    BenchDeployment,
    Reporter,
    register_reporters,
    start_deployment,
)
from common import filesystem_of, fmt_rate, fmt_ratio, fmt_time, latency_summary, log, md_table  # noqa: E402
from consilience.clients import oprf_client, receipts  # noqa: E402
from consilience.clients.escrow_client import submission_payload  # noqa: E402
from consilience.local import launcher  # noqa: E402
from consilience.operator.invites import issue_invites  # noqa: E402
from consilience.protocol import identifiers as ids  # noqa: E402
from consilience.protocol.deployment import Deployment  # noqa: E402
from consilience.protocol.encoding import b64u_decode  # noqa: E402
from consilience.protocol.entry import seal_entry  # noqa: E402
from consilience.protocol.evaluation import MAX_ELEMENTS as MAX_BATCH  # noqa: E402

#: One entry in this many names a person several reporters name (so matches are released under load).
REPEAT_EVERY = 25
REPEAT_PEOPLE = 4
#: The open-loop phase offers this fraction of the closed loop's throughput.
OPEN_LOOP_FRACTION = 0.7
#: On SQLite (one database, used up), this fraction of each reporter's submissions is kept for the closed loop.
CLOSED_SHARE = 0.6
#: Seconds between the escrow server's release passes, on average (randomised ±50 %), during the load test.
RELEASE_INTERVAL = 2.0
#: The issue's targets (issue 15): sustained durable submissions/s, and p99 at OPEN_LOOP_FRACTION of it.
TARGET_RATE = 500.0
TARGET_P99 = 0.100
#: A private cluster's connection limit: 4 workers × (pool 5 + overflow 10), the integrator, the checks.
PG_MAX_CONNECTIONS = 200
#: After a failed request during a crash, a generator connection waits this long before sending again.
RETRY_PAUSE = 0.1
#: Open loop: at most this many connections at once (a stalled server makes the generator open more).
OPEN_MAX_CONNECTIONS = 256
DATABASE_URL_ENV = "CONSILIENCE_DATABASE_URL"
#: What a crash run reports as seconds after the kill (its other values are counts).
MOMENTS = ("server_down", "database_up")


@dataclass(frozen=True)
class Profile:
    reporters: int
    per_reporter: int  # prepared submissions per reporter on PostgreSQL (sent again to each database copy)
    sqlite_per_reporter: int  # prepared submissions per reporter on SQLite (one database, used up)
    connections: int
    closed_seconds: float
    open_seconds: float
    floor_seconds: float  # per floor route
    fault_seconds: float  # a crash run: a third before the crash, two thirds after the recovery
    warmup_seconds: float  # submissions sent to a fresh server before a phase is measured (not counted)
    workers: tuple[int, ...] = (1, 2, 4)


# The escrow server's default budgets allow 40 registrations per address in a burst and 300 entry
# writes per account in a burst; the profiles stay inside both, so no 429 is expected.
FULL = Profile(reporters=32, per_reporter=50, sqlite_per_reporter=30, connections=32, closed_seconds=6.0,
               open_seconds=6.0, floor_seconds=1.0, fault_seconds=6.0, warmup_seconds=1.0)
QUICK = Profile(reporters=3, per_reporter=16, sqlite_per_reporter=20, connections=3, closed_seconds=1.0,
                open_seconds=1.0, floor_seconds=0.3, fault_seconds=2.5, warmup_seconds=0.5)
#: About two minutes: to compare set-ups, not to publish.
BRIEF = Profile(reporters=24, per_reporter=60, sqlite_per_reporter=24, connections=24, closed_seconds=5.0,
                open_seconds=5.0, floor_seconds=1.0, fault_seconds=6.0, warmup_seconds=0.5)


# -- the load generator: pre-encoded HTTP/1.1 over raw asyncio streams --------------------------------


@dataclass
class Prepared:
    account: int  # index of the reporter
    entry_id: str
    content: bytes  # what the receipt's leaf commits to
    request: bytes  # the whole POST /v2/entries, encoded once


class Connection:
    """One kept-alive HTTP/1.1 connection: write a request, read its answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """(status, body, whether the connection stays open); raises on a cut or malformed answer."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, keep, chunked = 0, True, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                keep = value.strip().lower() != b"close"
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size + 2))
            body = b"".join(p[:-2] for p in parts)
        else:
            body = await self.reader.readexactly(length) if length else b""
        return status, body, keep

    def close(self) -> None:
        self.writer.close()


#: What a connection can raise when the server is gone or answers nonsense.
CUT = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError)


def encode_request(method: str, host: str, path: str, *, token: str | None = None, body: bytes = b"") -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    if body or method == "POST":
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    #: (time sent, time answered or cut, what went wrong), times on ``time.perf_counter``
    errors: list[tuple[float, float, str]] = field(default_factory=list)
    acknowledged: list[tuple[Prepared, str | None]] = field(default_factory=list)  # (submission, receipt or None)
    statuses: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    elapsed: float = 0.0
    offered_rate: float | None = None
    generator_cpu: float = 0.0


def _check_submission(p: Prepared, body: bytes) -> str | None:
    """The 201's receipt (None while sequenced); raises if the answer is not about this entry."""
    answer = json.loads(body)
    if answer.get("entry_id") != p.entry_id:
        raise ValueError(f"the answer names entry {answer.get('entry_id')!r}, not {p.entry_id}")
    receipt = answer.get("receipt")
    if receipt is None and answer.get("sequenced") is not True:
        raise ValueError("the answer has neither a receipt nor sequenced: true")
    return receipt if isinstance(receipt, str) else None


def _note(outcome: Outcome, p: Prepared | None, status: int | None, body: bytes, sent: float, done: float,
          latency: float, error: str | None, ok_status: tuple[int, ...]) -> bool:
    """Count one exchange; True if it succeeded."""
    outcome.requests += 1
    if status is not None:
        outcome.statuses[str(status)] = outcome.statuses.get(str(status), 0) + 1
    if error is None and status not in ok_status:
        error = f"{status}: {body[:200].decode(errors='replace')}"
    if error is None and p is not None:
        try:
            receipt = _check_submission(p, body)
        except (ValueError, AttributeError) as exc:
            error = f"bad 201: {exc}"
        else:
            outcome.acknowledged.append((p, receipt))
    if error is not None:
        outcome.errors.append((sent, done, error))
        return False
    outcome.latencies.append(latency)
    return True


async def closed_loop(host: str, port: int, queues: list[list[tuple[bytes, Prepared | None]]], seconds: float,
                      *, ok_status: tuple[int, ...] = (201,), retry: bool = False,
                      disturb: Callable[[list[float]], Any] | None = None) -> Outcome:
    """One connection per queue, each sending its requests back to back until its queue or the time ends.

    ``retry``: a failed submission is sent again after ``RETRY_PAUSE`` (a crash run; the steady phases
    fail on any error instead), and a 200 acknowledges it too: the server had stored it before the crash
    took its answer, and says so to the retry. ``disturb``: a coroutine function run beside the load (the crash), given
    the end time (a one-item list) to move.
    """
    outcome = Outcome()
    ends = [time.perf_counter() + seconds]

    async def connection(queue: list[tuple[bytes, Prepared | None]]) -> None:
        conn: Connection | None = None
        again: tuple[bytes, Prepared | None] | None = None
        while time.perf_counter() < ends[0] and (again or queue):
            request, p = again or queue.pop()
            again = None
            sent = time.perf_counter()
            status, body, error, keep = None, b"", None, False
            try:
                if conn is None:
                    conn = await Connection.open(host, port)
                status, body, keep = await conn.exchange(request)
            except CUT as exc:
                error = f"{type(exc).__name__}: {exc}"
            done = time.perf_counter()
            if not _note(outcome, p, status, body, sent, done, done - sent, error, (*ok_status, 200) if retry
                         else ok_status):
                if retry:
                    again = (request, p)
                    await asyncio.sleep(RETRY_PAUSE)
            if (error is not None or not keep) and conn is not None:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    cpu0 = _own_cpu()
    t0 = time.perf_counter()
    tasks = [connection(q) for q in queues]
    if disturb is not None:
        tasks.append(disturb(ends))
    await asyncio.gather(*tasks)
    outcome.elapsed = time.perf_counter() - t0
    outcome.generator_cpu = _own_cpu() - cpu0
    return outcome


async def open_loop(host: str, port: int, pool: list[Prepared], rate: float) -> Outcome:
    """Requests go out at ``rate``/s whatever the server does; latency counts from the scheduled time."""
    outcome = Outcome(offered_rate=rate)
    idle: list[Connection] = []
    opened = 0
    slots = asyncio.Semaphore(OPEN_MAX_CONNECTIONS)
    cpu0 = _own_cpu()
    t0 = time.perf_counter() + 0.05

    async def one(i: int, p: Prepared) -> None:
        nonlocal opened
        scheduled = t0 + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        async with slots:
            status, body, error, keep = None, b"", None, False
            conn = idle.pop() if idle else None
            sent = time.perf_counter()
            try:
                if conn is None:
                    opened += 1
                    conn = await Connection.open(host, port)
                status, body, keep = await conn.exchange(p.request)
            except CUT as exc:
                error = f"{type(exc).__name__}: {exc}"
            done = time.perf_counter()
            _note(outcome, p, status, body, sent, done, done - scheduled, error, (201,))
            if conn is not None:
                if error is None and keep:
                    idle.append(conn)
                else:
                    conn.close()

    await asyncio.gather(*(one(i, p) for i, p in enumerate(pool)))
    outcome.elapsed = time.perf_counter() - t0
    outcome.generator_cpu = _own_cpu() - cpu0
    for conn in idle:
        conn.close()
    outcome.statuses["connections opened"] = opened
    return outcome


def _own_cpu() -> float:
    """CPU seconds of this process (the load generator), every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- CPU of process trees ------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                out += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    except OSError:
        pass
    return out


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants now (the escrow server's workers, PostgreSQL's backends)."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.append(p)
            todo += _children(p)
    return seen


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a tree, counting what each process reaped from children that ended (cutime, cstime):
    a worker or backend that ends between two readings moves its whole time into its parent's count."""
    total = 0.0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


class TreeMeter:
    """CPU seconds each named group of process trees spends during a phase."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = {name: pids for name, pids in groups.items() if pids}  # SQLite: no database processes
        self.start = {name: sum(_tree_cpu(p) for p in pids) for name, pids in self.groups.items()}

    def stop(self) -> dict[str, float]:
        return {name: sum(_tree_cpu(p) for p in pids) - self.start[name] for name, pids in self.groups.items()}


# -- preparation ---------------------------------------------------------------------------------------


def prepare(reps: list[Reporter], deployment: Deployment, per_reporter: int, host: str) -> list[list[Prepared]]:
    """Seal every submission by the real client path, OPRF batched per reporter, and encode its request."""
    repeat = [f"repeat-person-{i}-{os.urandom(4).hex()}@example.com" for i in range(REPEAT_PEOPLE)]
    out: list[list[Prepared]] = []
    n = 0
    for a, r in enumerate(reps):
        mine: list[Prepared] = []
        named_repeats: set[str] = set()
        token = r.session.wallet.token
        for start in range(0, per_reporter, MAX_BATCH):
            names = []
            for _ in range(min(MAX_BATCH, per_reporter - start)):
                n += 1
                person = repeat[n % REPEAT_PEOPLE]
                # one active entry per account and person: a reporter names each repeated person once
                if n % REPEAT_EVERY == 0 and person not in named_repeats:
                    named_repeats.add(person)
                    names.append(person)
                else:
                    names.append(r.fresh_name())
            named = ids.normalise_many(names)
            result = oprf_client.evaluate(deployment, [i.oprf_input for i in named], r.credentials, http=r.http)
            if result.skipped:
                raise RuntimeError(f"preparation: key servers skipped {result.skipped}")
            for ident, output, shares in zip(named, result.outputs, result.shares, strict=True):
                sealed = seal_entry(deployment=deployment, identifiers=[ident], oprf_outputs=[output],
                                    quorum_shares=[shares], record=RECORD, contact=CONTACT)
                payload = submission_payload(sealed)
                body = json.dumps(payload).encode()
                mine.append(Prepared(a, payload["entry_id"], receipts.expected_content(payload),
                                     encode_request("POST", host, "/v2/entries", token=token, body=body)))
        out.append(mine)
    return out


def _spread(queues: list[list[Prepared]], connections: int) -> list[list[tuple[bytes, Prepared | None]]]:
    """One queue per connection, interleaving the reporters, popped from the end (the first entries first)."""
    order = [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]
    out: list[list[tuple[bytes, Prepared | None]]] = [[] for _ in range(connections)]
    for i, p in enumerate(order):
        out[i % connections].append((p.request, p))
    return [list(reversed(q)) for q in out]


def _take(queues: list[list[tuple[bytes, Prepared | None]]]) -> list[Prepared]:
    """What the queues still hold, in the order they would have sent it."""
    return [p for q in queues for _, p in reversed(q) if p is not None]


# -- phases --------------------------------------------------------------------------------------------


def _summary(o: Outcome, cpu: dict[str, float] | None = None) -> dict[str, Any]:
    out = {**latency_summary(o.latencies, o.elapsed), "errors": len(o.errors),
           "first_errors": [e for _, _, e in o.errors[:3]], "statuses": o.statuses, "offered_rate": o.offered_rate,
           "requests": o.requests, "generator_cpu": o.generator_cpu}
    if cpu is not None:
        out["cpu"] = cpu
    return out


def _steady_failures(name: str, s: dict[str, Any]) -> list[str]:
    return [f"{name}: {s['errors']} errors, first {s['first_errors']}"] if s["errors"] else []


@dataclass
class Target:
    """The escrow server under test and the process trees whose CPU counts."""

    host: str
    port: int
    escrow: list[int]  # root pids: the server (its workers are its children) and a standalone integrator
    database: list[int]  # PostgreSQL's processes (empty on SQLite: the database runs inside the server)

    def meter(self) -> TreeMeter:
        return TreeMeter({"escrow": self.escrow, "database": self.database})


def floor(t: Target, path: str, connections: int, seconds: float, count: int) -> dict[str, Any]:
    """The framework's floor: a route that does (almost) nothing, through the same generator and meter."""
    request = encode_request("GET", f"{t.host}:{t.port}", path)
    queues = [[(request, None)] * (count // connections + 1) for _ in range(connections)]
    meter = t.meter()
    o = asyncio.run(closed_loop(t.host, t.port, queues, seconds, ok_status=(200,)))
    return {**_summary(o, meter.stop()), "path": path}


def closed(t: Target, queues: list[list[Prepared]], connections: int, seconds: float) -> tuple[dict[str, Any], Outcome,
                                                                                               list[Prepared]]:
    """Closed loop: every connection back to back; returns its summary, the outcome and what was left unsent."""
    spread = _spread(queues, connections)
    meter = t.meter()
    o = asyncio.run(closed_loop(t.host, t.port, spread, seconds))
    return _summary(o, meter.stop()), o, _take(spread)


def opened(t: Target, pool: list[Prepared], rate: float, seconds: float) -> tuple[dict[str, Any], Outcome]:
    pool = pool[:int(rate * seconds)]
    if not pool:
        raise RuntimeError("open loop: no prepared submissions left; raise Profile.per_reporter")
    meter = t.meter()
    o = asyncio.run(open_loop(t.host, t.port, pool, rate))
    return _summary(o, meter.stop()), o


def configuration(t: Target, queues: list[list[Prepared]], p: Profile, seconds: float | None = None
                  ) -> tuple[dict[str, Any], Outcome, list[Prepared]]:
    """The floors (which also warm the server up), then the closed loop, on one running server."""
    count = int(p.floor_seconds * 5000)
    for path in ("/v2/deployment", "/healthz"):  # each worker's first requests pay for what it loads lazily
        floor(t, path, p.connections, p.warmup_seconds / 2, count)
    floors = {"memory": floor(t, "/v2/deployment", p.connections, p.floor_seconds, count),
              "healthz": floor(t, "/healthz", p.connections, p.floor_seconds, count)}
    cut = [len(q) // 4 for q in queues]  # the warm-up is bounded by count as well as time
    warm, warmed, unsent = closed(t, [q[:n] for q, n in zip(queues, cut, strict=True)], p.connections,
                                  p.warmup_seconds)
    rest = _rebuild(unsent + [x for q, n in zip(queues, cut, strict=True) for x in q[n:]], len(queues))
    summary, outcome, left = closed(t, rest, p.connections, seconds or p.closed_seconds)
    outcome.acknowledged[:0] = warmed.acknowledged  # in the database too: the checks look for them
    return {"closed": summary, "floors": floors, "warmup": {"count": warm["count"], "errors": warm["errors"]}}, \
        outcome, left


def _rebuild(pool: list[Prepared], reporters: int) -> list[list[Prepared]]:
    """The submissions per reporter again, in their order."""
    queues: list[list[Prepared]] = [[] for _ in range(reporters)]
    for p in pool:
        queues[p.account].append(p)
    return queues


def _interleave(pool: list[Prepared], reporters: int) -> list[Prepared]:
    """Round-robin over the reporters, so no account sends a long run of its own entries."""
    queues = _rebuild(pool, reporters)
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


# -- the checks after a run (httpx) ----------------------------------------------------------------------


async def _fetch_receipts(server: str, tokens: list[str], wanted: list[Prepared], deadline: float) -> dict[str, str]:
    """GET /v2/entries/{id}/receipt until each is integrated (or the deadline): entry id -> receipt."""
    got: dict[str, str] = {}
    left = list(wanted)
    async with httpx.AsyncClient(base_url=server, timeout=30.0,
                                 limits=httpx.Limits(max_connections=8, max_keepalive_connections=8)) as http:
        slots = asyncio.Semaphore(8)

        async def one(p: Prepared) -> None:
            async with slots:
                response = await http.get(f"/v2/entries/{p.entry_id}/receipt",
                                          headers={"Authorization": f"Bearer {tokens[p.account]}"})
            if response.status_code == 200 and response.json().get("receipt"):
                got[p.entry_id] = response.json()["receipt"]

        while left and time.monotonic() < deadline:
            await asyncio.gather(*(one(p) for p in left))
            left = [p for p in left if p.entry_id not in got]
            if left:
                await asyncio.sleep(0.3)
    return got


def check_nothing_lost(server: str, reps: list[Reporter], deployment: Deployment,
                       acknowledged: list[tuple[Prepared, str | None]], database_url: str | None) -> dict[str, Any]:
    """Every acknowledged entry listed for its account, every receipt (the answer's, or fetched from
    GET /v2/entries/{id}/receipt when the answer had none) verifying, and the log holding one leaf per
    stored entry plus whole release batches, with nothing left sequenced."""
    from consilience.services.escrow.settings import LOG_BATCH_SIZE

    # Events sequenced but not yet integrated (the integrator's interval, or its pause after an outage) go
    # into the log within the integrator's next turns; the log is read once they have.
    a = time.monotonic()
    while database_url and (_database_counts(database_url)["sequenced_left"] or 0) and time.monotonic() - a < 20:
        time.sleep(0.1)
    drained = time.monotonic() - a
    listed: set[str] = set()
    for r in reps:
        listed.update(e.entry_id for e in r.client.entries())
    missing = [p.entry_id for p, _ in acknowledged if p.entry_id not in listed]
    late = [p for p, receipt in acknowledged if receipt is None]
    fetched = asyncio.run(_fetch_receipts(server, [r.session.wallet.token for r in reps], late,
                                          time.monotonic() + 30.0)) if late else {}
    bad_receipts = 0
    for p, receipt in acknowledged:
        text = receipt or fetched.get(p.entry_id)
        try:
            if text is None:
                raise ValueError("no receipt")
            receipts.check(text, deployment, b64u_decode(p.entry_id, length=16), kind="entry", content=p.content)
        except Exception:  # noqa: BLE001 - counted and reported; the run fails on it
            bad_receipts += 1
    log_size = int(reps[0].client.checkpoint().splitlines()[1])
    counts = _database_counts(database_url)
    # Every stored entry appended its own leaf; each release pass appended a batch.
    return {"acknowledged": len(acknowledged), "missing": len(missing), "first_missing": missing[:3],
            "bad_receipts": bad_receipts, "receipts_fetched": len(fetched), "receipts_late": len(late),
            "log_size": log_size, "entries_listed": len(listed), "release_leaves": log_size - len(listed),
            "batch": LOG_BATCH_SIZE, "passes": (log_size - len(listed)) // LOG_BATCH_SIZE,
            "integration_wait": drained, **counts}


def _durability_failures(name: str, dur: dict[str, Any]) -> list[str]:
    if dur["missing"] or dur["bad_receipts"] or dur["log_size"] < dur["acknowledged"] \
            or dur["release_leaves"] % dur["batch"] or dur.get("sequenced_left"):
        return [f"{name} durability: {dur}"]
    return []


def _database_counts(url: str | None) -> dict[str, int | None]:
    """Matches released and events still sequenced, read from the database after the run."""
    from sqlalchemy import func, select

    from consilience.storage.database import Database
    from consilience.storage.models import LogSequenced, Match

    if url is None:
        return {"matches": None, "sequenced_left": None}
    db = Database(url)
    try:
        with db.read() as session:
            return {"matches": int(session.scalar(select(func.count()).select_from(Match)) or 0),
                    "sequenced_left": int(session.scalar(select(func.count()).select_from(LogSequenced)) or 0)}
    except Exception:  # noqa: BLE001 - counts for the report only
        return {"matches": None, "sequenced_left": None}
    finally:
        db.dispose()


# -- PostgreSQL --------------------------------------------------------------------------------------------


class Postgres:
    """A private cluster of the run's own (tests/pg_cluster.py) that can be killed and started again, with
    room for several workers' pools; ``database`` copies a template database.

    ``admin_url``: an existing server instead, where the run may create databases; the run does not own
    it, so it neither kills it nor counts its CPU.
    """

    def __init__(self, admin_url: str | None = None) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import pg_cluster  # type: ignore[import-not-found]

        self.pg = pg_cluster
        self.cluster = None if admin_url else pg_cluster.LocalCluster()
        self.admin_url: str = admin_url or self.cluster.url
        if self.cluster is not None:
            self.start()

    @property
    def owned(self) -> bool:
        return self.cluster is not None

    def start(self) -> None:
        c = self.cluster
        with open(c.root / "postgres.log", "ab") as out:
            c.process = subprocess.Popen(
                self.pg._as_user([c.postgres, "-D", str(c.data), "-k", str(c.sockets), "-p", str(c.port),
                                  "-c", "listen_addresses=127.0.0.1", "-c", f"max_connections={PG_MAX_CONNECTIONS}"]),
                stdout=out, stderr=subprocess.STDOUT)
        self.pg._wait(c.url, c.process)

    @property
    def pids(self) -> list[int]:
        """Where its processes' tree starts (none for a server the run does not own)."""
        return [int(self.cluster.process.pid)] if self.cluster is not None and self.cluster.process else []

    def kill(self) -> int:
        """SIGKILL every PostgreSQL process at once (the postmaster and each backend), as a crash would."""
        pids = process_tree(self.cluster.postmaster_pid())
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert self.cluster.process is not None
        self.cluster.process.wait(timeout=20)
        return len(pids)

    def restart(self, timeout: float = 30.0) -> int:
        """Start the killed cluster on the same data: crash recovery from the WAL. Backends of the killed
        postmaster may hold its shared memory a moment longer, so a refused start is tried again; returns
        the attempts it took."""
        deadline = time.monotonic() + timeout
        attempts = 0
        while True:
            attempts += 1
            try:
                self.start()
                return attempts
            except self.pg.Unavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def database(self, template: str | None = None) -> str:
        """A new database (a copy of ``template``'s, named from its URL, if given); its URL."""
        import uuid

        import psycopg

        name = f"consilience_{uuid.uuid4().hex[:12]}"
        conninfo = self.admin_url.replace("postgresql+psycopg://", "postgresql://")
        copy = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
        for attempt in range(50):  # a copy needs the template free of sessions; a closed pool lets go at once
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(f'CREATE DATABASE "{name}"{copy}')
                    # the copy went through the WAL: a checkpoint now keeps a crash's recovery to the run's writes
                    connection.execute("CHECKPOINT")
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.close()


def _escrow(d: BenchDeployment, url: str | None, workers: int, *, integrator: bool = True) -> launcher.Service:
    """The deployment's escrow server again, on ``url`` with ``workers`` processes; started."""
    port = int(d.escrow.url.rsplit(":", 1)[1])
    args = ["--workers", str(workers)] + ([] if integrator else ["--no-integrator"])
    service = launcher.escrow_service(d.root, port, database_url=url, extra_args=args)
    d.loop.escrow = service
    service.start(env={"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL)}, timeout=60.0)
    return service


class Integrator:
    """``consilience integrate`` as its own process, beside servers started with --no-integrator."""

    def __init__(self, d: BenchDeployment, url: str) -> None:
        self.args = [sys.executable, "-m", "consilience", "integrate", "--data-dir", str(d.root), "--database-url", url]
        self.log_path = d.root / "logs" / "integrator.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def _wait_healthy(server: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{server} did not answer /healthz again within {timeout:g} s")


def fault_run(t: Target, queues: list[list[Prepared]], p: Profile, crash: Callable[[], dict[str, float]]
              ) -> tuple[dict[str, Any], Outcome]:
    """A closed loop with a crash after a third of ``fault_seconds``, going on for two thirds more once the
    server answers again; ``crash`` (run in a thread) returns its moments (``crashed`` and ``recovered``
    on ``time.perf_counter``). A request sent before the server recovered and answered after the crash
    belongs to the outage; every other error is a steady-phase error."""
    spread = _spread(queues, p.connections)
    moments: dict[str, float] = {}

    async def disturb(ends: list[float]) -> None:
        await asyncio.sleep(p.fault_seconds / 3)
        ends[0] = float("inf")  # the load goes on through the outage, however long
        moments.update(await asyncio.to_thread(crash))
        ends[0] = moments["recovered"] + p.fault_seconds * 2 / 3

    o = asyncio.run(closed_loop(t.host, t.port, spread, p.fault_seconds, retry=True, disturb=disturb))
    crashed, recovered = moments["crashed"], moments["recovered"]
    outage = [e for e in o.errors if e[0] < recovered and e[1] >= crashed]
    steady = [e for e in o.errors if not (e[0] < recovered and e[1] >= crashed)]
    kinds: dict[str, int] = {}
    for _, _, e in outage:
        kind = e.split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return {**latency_summary(o.latencies, o.elapsed), "requests": o.requests, "statuses": o.statuses,
            "outage_seconds": recovered - crashed, "outage_errors": len(outage), "outage_kinds": kinds,
            "errors": len(steady), "first_errors": [e for _, _, e in steady[:3]],
            **{k: v - crashed if k in MOMENTS else v for k, v in moments.items()
               if k not in ("crashed", "recovered")}}, o


# -- the runs ----------------------------------------------------------------------------------------------


def _setup(d: BenchDeployment, p: Profile, work: Path, per_reporter: int
           ) -> tuple[list[Reporter], Deployment, list[list[Prepared]], float]:
    invites = issue_invites(d.root, ADMIN_SECRET, p.reporters)
    reps, _ = register_reporters(d, invites, work / "wallets")
    deployment = reps[0].session.deployment(reps[0].client)
    log(f"load: preparing {p.reporters} × {per_reporter} sealed submissions (OPRF, seal; not timed)")
    a = time.perf_counter()
    queues = prepare(reps, deployment, per_reporter, d.escrow.url.split("://", 1)[1])
    return reps, deployment, queues, time.perf_counter() - a


def _target(d: BenchDeployment, pg: Postgres | None, extra: list[int] | None = None) -> Target:
    assert d.escrow.process is not None
    host, port = d.escrow.url.split("://", 1)[1].rsplit(":", 1)
    return Target(host, int(port), [d.escrow.process.pid, *(extra or [])], pg.pids if pg else [])


def _log_phase(name: str, s: dict[str, Any]) -> None:
    log(f"  {name}: {fmt_rate(s.get('per_second', 0))}, p50 {fmt_time(s.get('p50', 0))}, "
        f"p99 {fmt_time(s.get('p99', 0))}, errors {s['errors']}")


def _fail_on(failures: list[str]) -> None:
    """A run whose checks failed raises, so a benchmark never reports numbers from a broken run."""
    if failures:
        raise RuntimeError("load test failed: " + "; ".join(failures))


def _close(reps: list[Reporter], d: BenchDeployment) -> None:
    for r in reps:
        r.close()
    d.stop()


def run_sqlite(p: Profile, work: Path) -> dict[str, Any]:
    """One process on SQLite (the default set-up): floors, closed loop, open loop, SIGKILL + restart."""
    log("load: SQLite, starting a deployment")
    env = {"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL)}
    d = start_deployment(work, escrow_env=env)
    reps: list[Reporter] = []
    out: dict[str, Any] = {"filesystem": filesystem_of(work)}
    try:
        reps, deployment, queues, took = _setup(d, p, work, p.sqlite_per_reporter)
        out.update(prepared=sum(map(len, queues)), prepare_seconds=took)
        t = _target(d, None)
        cut = [int(len(q) * CLOSED_SHARE) for q in queues]
        reserved = [p for q, n in zip(queues, cut, strict=True) for p in q[n:]]
        config, c, left = configuration(t, [q[:n] for q, n in zip(queues, cut, strict=True)], p)
        out.update(config)
        _log_phase("closed loop", out["closed"])
        rate = max(1.0, OPEN_LOOP_FRACTION * out["closed"]["per_second"])
        out["open"], o = opened(t, _interleave(left + reserved, p.reporters), rate, p.open_seconds)
        _log_phase(f"open loop at {rate:.1f}/s", out["open"])
        log("load: SQLite, SIGKILL the escrow server, restart, look for every acknowledged entry and receipt")
        assert d.escrow.process is not None
        os.killpg(d.escrow.process.pid, signal.SIGKILL)  # its own session (launcher): the server and its threads
        d.escrow.process.wait()
        d.escrow.start(env=env)
        out["durability"] = check_nothing_lost(d.server, reps, deployment, c.acknowledged + o.acknowledged, None)
        failures = [*_steady_failures("SQLite closed", out["closed"]), *_steady_failures("SQLite open", out["open"]),
                    *_durability_failures("SQLite", out["durability"])]
        _fail_on(failures)
    finally:
        _close(reps, d)
    return out


def run_postgres(p: Profile, work: Path, pg: Postgres) -> dict[str, Any]:
    """Worker scaling, the open loop and the three crashes, each on its own copy of one database."""
    template = pg.database()
    env = {"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL), DATABASE_URL_ENV: template}
    out: dict[str, Any] = {"scaling": {}, "faults": {}}
    failures: list[str] = []
    reps: list[Reporter] = []
    with _environment(env):  # the admin tools (invites) read the URL from the environment, as the server does
        log("load: PostgreSQL, starting a deployment")
        d = start_deployment(work, escrow_env=env)
    try:
        with _environment(env):
            reps, deployment, queues, took = _setup(d, p, work, p.per_reporter)
        out.update(prepared=sum(map(len, queues)), prepare_seconds=took)
        d.escrow.stop()  # the template is copied once nobody is connected to it
        pool = [q for qs in queues for q in qs]

        def fresh(workers: int, *, integrator: bool = True) -> tuple[str, launcher.Service]:
            url = pg.database(template)
            with _environment({DATABASE_URL_ENV: url}):
                return url, _escrow(d, url, workers, integrator=integrator)

        for n in p.workers:
            log(f"load: PostgreSQL, {n} worker{'s' if n > 1 else ''}: floors, closed loop")
            url, service = fresh(n)
            config, _, _ = configuration(_target(d, pg), _rebuild(pool, p.reporters), p)
            out["scaling"][str(n)] = {**config, "workers": n}
            _log_phase(f"{n} workers", config["closed"])
            failures += _steady_failures(f"{n} workers closed", config["closed"])
            service.stop()
        best = max(out["scaling"].values(), key=lambda v: v["closed"]["per_second"])
        out["best_workers"] = best["workers"]

        rate = max(1.0, OPEN_LOOP_FRACTION * best["closed"]["per_second"])
        log(f"load: PostgreSQL, {best['workers']} workers, open loop at {rate:.1f}/s")
        url, service = fresh(best["workers"])
        # The warm-up is bounded by count as well as time: a fast machine sends a whole small pool within
        # warmup_seconds, and the open loop would then have nothing left to send.
        queues = _rebuild(pool, p.reporters)
        cut = [len(q) // 4 for q in queues]
        _, _, unsent = closed(_target(d, pg), [q[:n] for q, n in zip(queues, cut, strict=True)], p.connections,
                              p.warmup_seconds)
        left = unsent + [x for q, n in zip(queues, cut, strict=True) for x in q[n:]]
        out["open"], _ = opened(_target(d, pg), _interleave(left, p.reporters), rate, p.open_seconds)
        out["open"]["workers"] = best["workers"]
        _log_phase("open loop", out["open"])
        failures += _steady_failures("open", out["open"])
        service.stop()

        # (a) one worker of two
        log("load: PostgreSQL, SIGKILL one worker of 2 under load, restart, check")
        url, service = fresh(2)

        def kill_worker() -> dict[str, float]:
            assert d.escrow.process is not None
            victim = _children(d.escrow.process.pid)[-1]
            crashed = time.perf_counter()
            os.kill(victim, signal.SIGKILL)
            d.escrow.process.wait(30)  # the parent stops the other worker and exits, as it is written to
            down = time.perf_counter()
            d.escrow.start(env={"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL)}, timeout=60.0)
            return {"crashed": crashed, "server_down": down, "recovered": time.perf_counter()}

        s, o = fault_run(_target(d, pg), _rebuild(pool, p.reporters), p, kill_worker)
        s["durability"] = check_nothing_lost(d.server, reps, deployment, o.acknowledged, url)
        out["faults"]["worker"] = s
        d.escrow.stop()

        # (b) the standalone integrator: a steady phase with its CPU counted, then its SIGKILL
        log("load: PostgreSQL, 2 workers --no-integrator beside 'consilience integrate': closed loop, "
            "then SIGKILL the integrator under load, restart it, check")
        url, service = fresh(2, integrator=False)
        integrator = Integrator(d, url)
        integrator.start()
        try:
            assert integrator.process is not None
            t = _target(d, pg, [integrator.process.pid])
            config, c, left = configuration(t, _rebuild(pool, p.reporters), p, max(p.closed_seconds / 2, 1.0))
            steady = {**config["closed"], "floors": config["floors"]}
            failures += _steady_failures("integrator steady", steady)
            _log_phase("2 workers + integrator", steady)

            def kill_integrator() -> dict[str, float]:
                crashed = time.perf_counter()
                integrator.kill()
                time.sleep(1.0)  # a second of events sequenced with nobody integrating them
                integrator.start()
                return {"crashed": crashed, "recovered": time.perf_counter()}

            s, o = fault_run(t, _rebuild(left, p.reporters), p, kill_integrator)
            s["steady"] = steady
            s["durability"] = check_nothing_lost(d.server, reps, deployment, c.acknowledged + o.acknowledged, url)
            out["faults"]["integrator"] = s
        finally:
            integrator.stop()
            d.escrow.stop()

        # (c) PostgreSQL itself, when the run owns it
        if not pg.owned:
            out["crash_skipped"] = "PostgreSQL given with --database-url is not the run's to kill"
        else:
            log("load: PostgreSQL, SIGKILL every PostgreSQL process under load, restart it, check")
            url, service = fresh(2)

            def kill_postgres() -> dict[str, float]:
                crashed = time.perf_counter()
                pg.kill()
                time.sleep(0.5)
                attempts = pg.restart()
                up = time.perf_counter()
                _wait_healthy(d.server)
                return {"crashed": crashed, "database_up": up, "recovered": time.perf_counter(),
                        "start_attempts": attempts}

            s, o = fault_run(_target(d, pg), _rebuild(pool, p.reporters), p, kill_postgres)
            s["durability"] = check_nothing_lost(d.server, reps, deployment, o.acknowledged, url)
            out["faults"]["postgresql"] = s
            d.escrow.stop()
        for name, f in out["faults"].items():
            dur = f["durability"]
            moments = ", ".join(f"{k} at {v:.2f} s" for k, v in f.items() if k in ("server_down", "database_up"))
            log(f"  {name}: {dur['acknowledged']} acknowledged, outage {f['outage_seconds']:.2f} s ({moments}) with "
                f"{f['outage_errors']} refused, {f['errors']} other errors, {dur['missing']} missing, "
                f"{dur['bad_receipts']} bad receipts ({dur['receipts_fetched']} fetched afterwards)")
            failures += _steady_failures(f"{name} crash run", f) + _durability_failures(name, dur)
        _fail_on(failures)
    finally:
        _close(reps, d)
    return out


def run(quick: bool = False, work: Path | None = None, *, profile: Profile | None = None,
        databases: tuple[str, ...] = ("sqlite", "postgresql"), workers: tuple[int, ...] | None = None,
        database_url: str | None = None) -> dict[str, Any]:
    p = profile or (QUICK if quick else FULL)
    if workers:
        p = dataclasses.replace(p, workers=workers)
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="consilience-bench-load-")) if work is None else work
    work.mkdir(parents=True, exist_ok=True)
    name = {QUICK: "quick", BRIEF: "brief", FULL: "full"}.get(p, "custom")
    results: dict[str, Any] = {"profile": name, "reporters": p.reporters, "connections": p.connections,
                               "machine_cores": os.cpu_count()}
    try:
        if "sqlite" in databases:
            results["sqlite"] = run_sqlite(p, work / "sqlite")
        if "postgresql" in databases:
            with ExitStack() as stack:
                try:
                    pg = Postgres(database_url)
                except Exception as exc:  # noqa: BLE001 - stated in the report; under CI=true it fails the run
                    if os.environ.get("CI", "").lower() == "true":
                        raise RuntimeError(f"PostgreSQL is needed under CI=true: {exc}") from exc
                    results["postgresql"] = {"skipped": f"no private PostgreSQL cluster here: {exc}"}
                else:
                    stack.callback(pg.close)
                    results["postgresql"] = run_postgres(p, work / "pg", pg)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return results


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# -- rendering ---------------------------------------------------------------------------------------------


def _per(s: dict[str, Any], group: str) -> float:
    """CPU seconds of ``group`` per acknowledged request of a phase (nan without any)."""
    cpu = s.get("cpu", {}).get(group)
    return cpu / s["count"] if cpu is not None and s.get("count") else float("nan")


def _gen(s: dict[str, Any]) -> float:
    return s["generator_cpu"] / s["requests"] if s.get("requests") else float("nan")


def _busy(s: dict[str, Any], cores: int) -> float:
    """Fraction of the machine's cores the escrow, the database and the generator kept busy in a phase."""
    used = sum(s.get("cpu", {}).values()) + s["generator_cpu"]
    return used / (s["seconds"] * cores) if s.get("seconds") else float("nan")


def _ft(x: float) -> str:
    return "–" if x != x else fmt_time(x)  # noqa: PLR0124 - nan


def _ratio(x: float) -> str:
    return "–" if x != x else fmt_ratio(x)  # noqa: PLR0124 - nan


def _q(s: dict[str, Any], key: str) -> str:
    """A latency of a phase, or a dash when nothing was acknowledged in it."""
    return _ft(s.get(key, float("nan")))


def _configs(results: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """(label, closed-loop summary, floors) of every configuration measured steadily."""
    out: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    sq, pg = results.get("sqlite"), results.get("postgresql")
    if sq:
        out.append(("SQLite, one process", sq["closed"], sq["floors"]))
    if pg and not pg.get("skipped"):
        for n, v in sorted(pg["scaling"].items(), key=lambda kv: int(kv[0])):
            out.append((f"PostgreSQL, {n} worker{'s' if int(n) > 1 else ''}", v["closed"], v["floors"]))
        steady = pg["faults"].get("integrator", {}).get("steady")
        if steady:
            out.append(("PostgreSQL, 2 workers `--no-integrator` + `consilience integrate`", steady,
                        steady["floors"]))
    return out


def _best(results: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """The PostgreSQL worker count that sustained most (else SQLite)."""
    pg = results.get("postgresql")
    if pg and not pg.get("skipped"):
        n = str(pg["best_workers"])
        v = pg["scaling"][n]
        return f"PostgreSQL, {n} worker{'s' if int(n) > 1 else ''}", v["closed"], v["floors"]
    sq = results["sqlite"]
    return "SQLite, one process", sq["closed"], sq["floors"]


def _crashes(results: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None, dict[str, Any]]]:
    """(what crashed, the crash run or None when nothing ran during it, its durability check)."""
    out: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = []
    sq, pg = results.get("sqlite"), results.get("postgresql")
    if sq:
        out.append(("SQLite: SIGKILL of the escrow server after both phases, then restarted", None,
                    sq["durability"]))
    if pg and not pg.get("skipped"):
        labels = {"worker": "PostgreSQL: SIGKILL of one worker of `serve --workers 2` under load; the server "
                            "started again",
                  "integrator": "PostgreSQL: SIGKILL of `consilience integrate` beside `serve --workers 2 "
                                "--no-integrator` under load; started again 1 s later",
                  "postgresql": "PostgreSQL: SIGKILL of every PostgreSQL process under load (2 workers); the "
                                "cluster started again"}
        for key, label in labels.items():
            if key in pg["faults"]:
                f = pg["faults"][key]
                out.append((label, f, f["durability"]))
    return out


def open_phase(results: dict[str, Any]) -> dict[str, Any]:
    """The open loop the headline reports: PostgreSQL's at its best worker count, else SQLite's."""
    pg = results.get("postgresql")
    return pg["open"] if pg and not pg.get("skipped") else results["sqlite"]["open"]


def release_passes(results: dict[str, Any]) -> int:
    """Release passes the servers ran on their timers during the runs whose logs were checked."""
    return sum(d["passes"] for _, _, d in _crashes(results))


def headline(results: dict[str, Any]) -> list[list[str]]:
    label, c, floors = _best(results)
    rows = [[f"load test: sustained submissions, {label}, {results['connections']} connections (closed loop; "
             f"target ≥ {TARGET_RATE:,.0f}/s)", f"{fmt_rate(c['per_second'])}, p99 {_q(c, 'p99')}", ""]]
    sq = results.get("sqlite")
    if sq and label != "SQLite, one process":
        rows.append(["load test: sustained submissions, SQLite, one process (closed loop)",
                     f"{fmt_rate(sq['closed']['per_second'])}, p99 {_q(sq['closed'], 'p99')}", ""])
    pg = results.get("postgresql")
    o = open_phase(results)
    rows.append([f"load test: {fmt_rate(o['offered_rate'])} offered (open loop, {OPEN_LOOP_FRACTION:.0%} of "
                 f"sustained), p50 / p99 (target p99 ≤ {fmt_time(TARGET_P99)})",
                 f"{_q(o, 'p50')} / {_q(o, 'p99')}", ""])
    if floors:
        fl = _per(floors["memory"], "escrow")
        rows.append([f"load test: escrow CPU per entry, {label} (every process)", _ft(_per(c, "escrow")),
                     f"{_ratio(_per(c, 'escrow') / fl)} an empty request ({_ft(fl)})"])
    crashes = _crashes(results)
    errors = sum(f["errors"] for _, f, _ in crashes if f) + sum(
        s["errors"] for _, s, _ in _configs(results)) + sum(
        x["open"]["errors"] for x in (results.get("sqlite"), pg) if x and not x.get("skipped"))
    lost = sum(d["missing"] for _, _, d in crashes)
    acked = sum(d["acknowledged"] for _, _, d in crashes)
    rows.append([f"load test: errors / acknowledged entries lost after SIGKILL + restart ({len(crashes)} crashes: "
                 + ", ".join(_crash_short(name) for name, _, _ in crashes) + ")",
                 f"{errors} / {lost} of {acked:,}", "outside the outages"])
    return rows


def _crash_short(label: str) -> str:
    for word in ("one worker", "consilience integrate", "every PostgreSQL process", "escrow server"):
        if word in label:
            return {"one worker": "a worker", "consilience integrate": "the integrator",
                    "every PostgreSQL process": "PostgreSQL", "escrow server": "the SQLite server"}[word]
    return label


def _fmt_count(n: int | None) -> str:
    return "an unknown number of" if n is None else f"{n:,}"


def reading(results: dict[str, Any]) -> list[str]:
    """A short reading of the numbers, computed from them so that it stays true on re-runs."""
    cores = results.get("machine_cores") or os.cpu_count() or 1
    label, c, floors = _best(results)
    lines = []
    total = _per(c, "escrow") + _per(c, "database") + _gen(c)
    busy = _busy(c, cores)
    met = c["per_second"] >= TARGET_RATE
    text = (f"- **Sustained.** The most here was {fmt_rate(c['per_second'])} ({label}), "
            + (f"**meeting** the target of {TARGET_RATE:,.0f}/s. " if met else
               f"**not** the target of {TARGET_RATE:,.0f}/s ({c['per_second'] / TARGET_RATE:.0%} of it). ")
            + f"The {cores} cores were {busy:.0%} busy: per entry the escrow's processes spent "
              f"{_ft(_per(c, 'escrow'))}, PostgreSQL {_ft(_per(c, 'database'))} and the load generator "
              f"{_ft(_gen(c))}, {_ft(total)} in all, so the CPU alone caps this machine at about "
              f"{cores / total:,.0f} entries/s")
    if floors:
        fl = _per(floors["memory"], "escrow")
        text += (f"; the escrow's share is {_ratio(_per(c, 'escrow') / fl)} the {_ft(fl)} it spends on an "
                 f"empty request (`GET /v2/deployment`, answered from memory), so "
                 f"{max(0.0, 1 - fl / _per(c, 'escrow')):.0%} of it is the submission's own work rather than "
                 f"the framework's")
    lines.append(text + ".")
    pg = results.get("postgresql")
    if pg and not pg.get("skipped"):
        sc = {int(n): v["closed"] for n, v in pg["scaling"].items()}
        ns = sorted(sc)
        steps = ", ".join(f"{fmt_rate(sc[n]['per_second'])} with {n} (CPU {_busy(sc[n], cores):.0%} busy, escrow "
                          f"{_ft(_per(sc[n], 'escrow'))} and PostgreSQL {_ft(_per(sc[n], 'database'))} per entry)"
                          for n in ns)
        first, last = sc[ns[0]], sc[ns[-1]]
        gain = last["per_second"] / first["per_second"] if first["per_second"] else float("nan")
        if _busy(last, cores) >= 0.85:
            where = (f"the cores: with {ns[-1]} workers they were {_busy(last, cores):.0%} busy, so a further worker "
                     f"only competes for the same {cores}, and the CPU per entry bounds the rate")
        elif gain >= 1.15:
            where = ("waiting rather than CPU at one worker (the cores were not saturated), which more workers "
                     "overlap")
        else:
            where = ("something the workers share: more processes neither raised the rate nor filled the cores, so "
                     "they queue on the database (its commits, or a lock every submission takes) rather than on CPU")
        lines.append(f"- **Workers.** PostgreSQL: {steps}: ×{gain:.2f} from {ns[0]} to {ns[-1]} workers. The "
                     f"bottleneck is {where}.")
        sq = results.get("sqlite")
        if sq:
            lines[-1] += (f" SQLite in one process sustained {fmt_rate(sq['closed']['per_second'])} with the escrow "
                          f"at {_ft(_per(sq['closed'], 'escrow'))} per entry (its database inside that process).")
    o = open_phase(results)
    lines.append(f"- **Latency at {OPEN_LOOP_FRACTION:.0%}.** At {fmt_rate(o['offered_rate'])} offered "
                 f"({OPEN_LOOP_FRACTION:.0%} of the closed loop's rate) p99 was {_q(o, 'p99')} from the "
                 f"scheduled send time: the target of p99 ≤ {fmt_time(TARGET_P99)} is "
                 + ("**met**." if o.get("p99", float("inf")) <= TARGET_P99 else "**not met**."))
    crashes = _crashes(results)
    runs = [(n, f, d) for n, f, d in crashes if f]
    if runs:
        outage = "; ".join(f"{_crash_short(n)}: {f['outage_seconds']:.2f} s, {f['outage_errors']:,} refused "
                           f"({', '.join(f'{k} ×{v}' for k, v in sorted(f['outage_kinds'].items())) or 'none'})"
                           for n, f, _ in runs)
        lines.append(f"- **Crashes.** {sum(d['acknowledged'] for _, _, d in crashes):,} entries acknowledged "
                     f"across the crash checks, {sum(d['missing'] for _, _, d in crashes)} lost, "
                     f"{sum(d['bad_receipts'] for _, _, d in crashes)} receipts failing. Outages (crash to "
                     f"answering again) and what the generator got meanwhile: {outage}; the generator "
                     f"sent each refused submission again, as a client would, until it was acknowledged. "
                     f"Requests outside the outages: {sum(f['errors'] for _, f, _ in runs)} errors.")
    gens = [g for _, s, _ in _configs(results) if (g := _gen(s)) == g]  # noqa: PLR0124 - without the nan
    if gens:
        lines.append(f"- **The generator** spent {_ft(min(gens))}–{_ft(max(gens))} of CPU per request (raw asyncio "
                     f"streams, requests encoded beforehand), against {_ft(_per(c, 'escrow'))} of the escrow's: "
                     f"it takes {_gen(c) / total:.0%} of the CPU an entry costs here.")
    return lines


def _database_text(results: dict[str, Any]) -> str:
    sq, pg = results.get("sqlite"), results.get("postgresql")
    parts = []
    if sq:
        parts.append(f"SQLite WAL `synchronous=FULL` on {sq['filesystem']}, one process")
    if pg and not pg.get("skipped"):
        parts.append(f"PostgreSQL (a private cluster with its default durability: `fsync` and "
                     f"`synchronous_commit` on) with budgets in its `rate_buckets`, `serve --workers "
                     f"{'/'.join(str(n) for n in sorted(map(int, pg['scaling'])))}`, each configuration on its own "
                     f"copy of the database taken after the registrations, fed the same prepared submissions")
    return "; ".join(parts)


def render(results: dict[str, Any]) -> str:
    cores = results.get("machine_cores") or os.cpu_count() or 1
    sq, pg = results.get("sqlite"), results.get("postgresql")
    prepared = [f"{x['prepared']:,} in {x['prepare_seconds']:.0f} s" for x in (sq, pg)
                if x and not x.get("skipped")]
    out = [
        f"Setup: the deployment of the submission benchmark (3 key servers 2-of-3, the escrow server with its "
        f"default request budgets): {_database_text(results)}; {results['reporters']} reporters, "
        f"{results['connections']} connections. Every submission was sealed beforehand by the real v2 client path "
        f"({' and '.join(prepared)}: `oprf_client.evaluate` with signed requests in batches of {MAX_BATCH} "
        f"identifiers, `seal_entry` with the checked quorum shares) and encoded once as its HTTP/1.1 request; the "
        f"load generator, one asyncio loop on the same {cores} cores, writes them over raw streams on kept-alive "
        f"connections, reads each answer and checks that every 201 names its entry with a receipt (or says it is "
        f"sequenced). One entry in {REPEAT_EVERY} names one of {REPEAT_PEOPLE} people whom many reporters name, "
        f"and the release pass ran on its timer (`CONSILIENCE_RELEASE_INTERVAL={RELEASE_INTERVAL:g}`, ±50 %), so "
        f"matches were counted and released during the runs. CPU is summed over every process of the escrow "
        f"server (parent and workers, from /proc) and over PostgreSQL's apart; \"busy\" is the escrow's, the "
        f"database's and the generator's CPU over the phase's wall time × {cores} cores.",
        "",
    ]
    if pg and pg.get("skipped"):
        out += [f"**PostgreSQL not measured on this machine**: {pg['skipped']}.", ""]
    if pg and pg.get("crash_skipped"):
        out += [f"**No SIGKILL of PostgreSQL in this run**: {pg['crash_skipped']}.", ""]
    rows = []
    for label, s, floors in _configs(results):
        fl = _per(floors["memory"], "escrow") if floors else float("nan")
        rows.append([label, f"{s['count']:,} in {s['seconds']:.1f} s", fmt_rate(s["per_second"]), _q(s, "p50"),
                     _q(s, "p99"), str(s["errors"]), _ft(_per(s, "escrow")),
                     _ratio(_per(s, "escrow") / fl) if floors else "–", _ft(_per(s, "database")), _ft(_gen(s)),
                     f"{_busy(s, cores):.0%}"])
    out += ["Closed loop (each connection back to back):", "",
            md_table(["set-up", "acknowledged", "sustained", "p50", "p99", "errors", "escrow CPU / entry",
                      "× empty request", "PostgreSQL CPU / entry", "generator CPU / request", "CPU busy"],
                     rows, "lrrrrrrrrrr"), ""]
    rows = []
    for label, _, floors in _configs(results):
        if floors:
            m, h = floors["memory"], floors["healthz"]
            rows.append([label, fmt_rate(m["per_second"]), _ft(_per(m, "escrow")), fmt_rate(h["per_second"]),
                         _ft(_per(h, "escrow")), _ft(_per(h, "database"))])
    out += ["The framework's floor, measured the same way on the same server just before each closed loop: "
            "`GET /v2/deployment` answers the signed deployment document from memory (the cheapest route), "
            "`GET /healthz` runs one `SELECT 1`.", "",
            md_table(["set-up", "`/v2/deployment`", "escrow CPU / request", "`/healthz`", "escrow CPU / request",
                      "PostgreSQL CPU / request"], rows, "lrrrrr"), ""]
    rows = []
    best = pg.get("best_workers") if pg else None
    for label, x in (("SQLite, one process", sq), (f"PostgreSQL, {best} worker{'s' if best != 1 else ''}", pg)):
        if x and not x.get("skipped"):
            o = x["open"]
            rows.append([label, fmt_rate(o["offered_rate"]), f"{o['count']:,} in {o['seconds']:.1f} s",
                         fmt_rate(o["per_second"]), _q(o, "p50"), _q(o, "p95"), _q(o, "p99"),
                         _q(o, "max"), str(o["errors"]), _ft(_per(o, "escrow")), _ft(_gen(o))])
    out += [f"Open loop at {OPEN_LOOP_FRACTION:.0%} of that set-up's closed-loop rate, latency from each request's "
            f"scheduled send time (PostgreSQL: the worker count that sustained most, on a fresh copy):", "",
            md_table(["set-up", "offered", "acknowledged", "sustained", "p50", "p95", "p99", "max", "errors",
                      "escrow CPU / entry", "generator CPU / request"], rows, "lrrrrrrrrrr"), ""]
    rows = []
    for label, f, d in _crashes(results):
        rows.append([label, f"{d['acknowledged']:,}", f"{f['outage_seconds']:.2f} s" if f else "–",
                     f"{f['outage_errors']:,}" if f else "–", str(f["errors"]) if f else "–",
                     f"**{d['missing']}**", str(d["bad_receipts"]),
                     f"{d['receipts_fetched']:,} of {d['receipts_late']:,}",
                     f"{d['log_size']:,} = {d['entries_listed']:,} + {d['passes']} × {d['batch']}",
                     "–" if d.get("sequenced_left") is None else str(d["sequenced_left"])])
    out += ["Crashes: after each, every acknowledged entry is looked for in its account's list, every receipt "
            "(the answer's, or fetched from `GET /v2/entries/{id}/receipt` when the answer said `sequenced`) "
            "is verified against the log key, and the log must hold one leaf per stored entry plus whole release "
            "batches. The outage runs from the kill to the server answering again; a request sent before that and "
            "answered after the kill counts as refused during the outage (and is sent again), any other error "
            "counts in \"other errors\".", "",
            md_table(["crash", "acknowledged", "outage", "refused during outage", "other errors", "lost",
                      "bad receipts", "receipts fetched afterwards", "log leaves = entries + passes × batch",
                      "left sequenced"], rows, "lrrrrrrrrr"), ""]
    matches = [d.get("matches") for _, _, d in _crashes(results) if d.get("matches") is not None]
    if matches:
        out += [f"Matches released in the crash runs' databases: {', '.join(f'{m:,}' for m in matches)}.", ""]
    out += reading(results)
    return "\n".join(out)


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny counts (checks the code, not the speed)")
    size.add_argument("--brief", action="store_true", help="about two minutes: to compare set-ups")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    parser.add_argument("--workers", default=None,
                        help="PostgreSQL worker counts to compare, comma-separated (default 1,2,4)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--database-url", help="an existing PostgreSQL server where the run may create databases "
                                               "(its admin URL; default: a private cluster); it is not killed")
    args = parser.parse_args()
    profile = QUICK if args.quick else BRIEF if args.brief else FULL
    workers = tuple(int(n) for n in args.workers.split(",")) if args.workers else None
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    results = run(profile=profile, databases=databases, workers=workers, database_url=args.database_url)
    print(json.dumps(results, indent=2, default=str) if args.json else render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
