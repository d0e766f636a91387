"""A bounded load test of the escrow server on loopback: sustained submissions/s, p99, nothing lost.

Where ``bench_submission`` times one submission stage by stage, this file
asks what the deployment sustains and what a reporter then waits for. It
runs a real deployment (3 key servers 2-of-3 and the escrow server on its
default SQLite database, as processes) and drives it from one asyncio event
loop with ``httpx.AsyncClient``.

1. **Preparation** (not timed): R reporters register; each prepares its
   submissions by the real v2 client path (``oprf_client.evaluate`` with
   signed requests, batched ``evaluation.MAX_ELEMENTS`` identifiers at a
   time, then ``seal_entry`` with the checked quorum shares). Most entries
   name a fresh person; one in ``REPEAT_EVERY`` names one of a few people
   that several reporters name (each reporter at most once: one active entry
   per account and person), so matches form. The escrow server runs its
   release pass on its background timer every ``RELEASE_INTERVAL`` seconds
   on average (``CONSILIENCE_RELEASE_INTERVAL``), so matches are counted and
   released, and the log grows by a fixed batch per pass, under load.
2. **Closed loop**: C connections POST prepared submissions back to back
   for a fixed time. This gives the most the server sustains.
3. **Open loop** at a fixed arrival rate (a fraction of the closed-loop
   throughput) for a fixed time. Latency is counted from each request's
   *scheduled* send time, so a stalled server cannot hide its queue
   (no coordinated omission). This p99 is the one a reporter sees at a
   load the deployment can carry.
4. **Nothing lost**: the escrow server is killed with SIGKILL and started
   again; every acknowledged entry must be listed for its account, every
   receipt handed out must verify against the log key, and the log must
   hold one leaf per acknowledged entry plus a whole number of release
   batches.

Any error response, exception, lost entry or bad receipt fails the run.
Run alone: ``python benchmarks/bench_load.py [--quick | --brief]`` prints markdown.

``--database postgresql`` runs the escrow server (and the admin tools) on PostgreSQL instead: the
URL given with ``--database-url``, else a private cluster started for the run (tests/pg_cluster.py);
``--workers N`` serves it from N processes (``serve --workers N``). With several workers the
SIGKILL of step 4 goes to the whole process group, as a crash of the host would.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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
    CpuMeter,
    Reporter,
    register_reporters,
    start_deployment,
)
from common import filesystem_of, fmt_rate, fmt_time, latency_summary, log, md_table  # noqa: E402
from consilience.clients import oprf_client, receipts  # noqa: E402
from consilience.clients.escrow_client import submission_payload  # noqa: E402
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
#: Of each reporter's prepared submissions, this fraction is kept for the closed loop, the rest for the open.
CLOSED_SHARE = 0.6
#: Seconds between the escrow server's release passes, on average (randomised ±50 %), during the load test.
RELEASE_INTERVAL = 2.0


@dataclass(frozen=True)
class Profile:
    reporters: int
    per_reporter: int  # prepared submissions per reporter (bounds the whole run)
    connections: int
    closed_seconds: float
    open_seconds: float


# The escrow server's default budgets allow 40 registrations per address in a burst and 300 entry
# writes per account in a burst; the profile stays inside both, so no 429 is expected.
FULL = Profile(reporters=32, per_reporter=160, connections=32, closed_seconds=30.0, open_seconds=30.0)
QUICK = Profile(reporters=3, per_reporter=10, connections=3, closed_seconds=2.0, open_seconds=2.0)
#: A minute or two a run: to compare databases and worker counts, not to publish.
BRIEF = Profile(reporters=24, per_reporter=60, connections=24, closed_seconds=10.0, open_seconds=8.0)
#: A private cluster's connection limit: N workers × (pool 5 + overflow 10), the admin tools, the checks.
PG_MAX_CONNECTIONS = 200


@dataclass
class Prepared:
    account: int  # index of the reporter
    entry_id: str
    body: bytes  # the exact JSON sent
    content: bytes  # what the receipt's leaf commits to


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    acknowledged: list[tuple[Prepared, str]] = field(default_factory=list)  # (submission, receipt text)
    statuses: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    offered_rate: float | None = None


def prepare(reps: list[Reporter], deployment: Deployment, per_reporter: int) -> list[list[Prepared]]:
    """Seal every submission by the real client path, OPRF batched per reporter."""
    repeat = [f"repeat-person-{i}-{os.urandom(4).hex()}@example.com" for i in range(REPEAT_PEOPLE)]
    out: list[list[Prepared]] = []
    n = 0
    for a, r in enumerate(reps):
        mine: list[Prepared] = []
        named_repeats: set[str] = set()
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
                mine.append(Prepared(a, payload["entry_id"], json.dumps(payload).encode(),
                                     receipts.expected_content(payload)))
        out.append(mine)
    return out


async def _post(http: httpx.AsyncClient, token: str, p: Prepared) -> httpx.Response:
    return await http.post("/v2/entries", content=p.body,
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def _record(outcome: Outcome, p: Prepared, response: httpx.Response | None, exc: Exception | None,
            latency: float) -> None:
    if exc is not None:
        outcome.errors.append(f"{type(exc).__name__}: {exc}")
        return
    assert response is not None
    outcome.statuses[str(response.status_code)] = outcome.statuses.get(str(response.status_code), 0) + 1
    if response.status_code != 201:
        outcome.errors.append(f"{response.status_code}: {response.text[:200]}")
        return
    outcome.latencies.append(latency)
    outcome.acknowledged.append((p, response.json().get("receipt") or ""))


async def closed_loop(server: str, tokens: list[str], queues: list[list[Prepared]], connections: int,
                      seconds: float) -> Outcome:
    """C workers, each cycling over its share of the reporters, posting back to back until time is up."""
    outcome = Outcome()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=server, timeout=60.0, limits=limits) as http:
        end = time.perf_counter() + seconds

        async def worker(w: int) -> None:
            mine = [q for i, q in enumerate(queues) if i % connections == w]
            while time.perf_counter() < end and any(mine):
                for q in mine:
                    if not q or time.perf_counter() >= end:
                        continue
                    p = q.pop()
                    a = time.perf_counter()
                    try:
                        response = await _post(http, tokens[p.account], p)
                        _record(outcome, p, response, None, time.perf_counter() - a)
                    except httpx.HTTPError as exc:
                        _record(outcome, p, None, exc, 0.0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(connections)))
        outcome.elapsed = time.perf_counter() - t0
    return outcome


async def open_loop(server: str, tokens: list[str], queues: list[list[Prepared]], rate: float,
                    seconds: float) -> Outcome:
    """Requests arrive at ``rate``/s whatever the server does; latency counts from the scheduled time."""
    outcome = Outcome(offered_rate=rate)
    # Round-robin over the reporters, so no account sends a long run of its own entries.
    pool = [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]
    pool = pool[:int(rate * seconds)]
    if not pool:
        raise RuntimeError("open loop: no prepared submissions left; raise Profile.per_reporter")
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server, timeout=60.0, limits=limits) as http:
        t0 = time.perf_counter()

        async def one(i: int, p: Prepared) -> None:
            scheduled = t0 + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            try:
                response = await _post(http, tokens[p.account], p)
                _record(outcome, p, response, None, time.perf_counter() - scheduled)
            except httpx.HTTPError as exc:
                _record(outcome, p, None, exc, 0.0)

        await asyncio.gather(*(one(i, p) for i, p in enumerate(pool)))
        outcome.elapsed = time.perf_counter() - t0
    used = {p.entry_id for p in pool}
    for q in queues:
        q[:] = [p for p in q if p.entry_id not in used]
    return outcome


def check_nothing_lost(d: BenchDeployment, reps: list[Reporter], deployment: Deployment,
                       acknowledged: list[tuple[Prepared, str]]) -> dict[str, Any]:
    """SIGKILL the escrow server, start it again, then look for every acknowledged entry and receipt."""
    process = d.escrow.process
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # its own session (launcher): the server and every worker
        process.wait()
    d.escrow.start()
    listed: set[str] = set()
    for r in reps:
        listed.update(e.entry_id for e in r.client.entries())
    missing = [p.entry_id for p, _ in acknowledged if p.entry_id not in listed]
    bad_receipts = 0
    for p, receipt in acknowledged:
        try:
            receipts.check(receipt, deployment, b64u_decode(p.entry_id, length=16), kind="entry",
                           content=p.content)
        except Exception:  # noqa: BLE001 - counted and reported; the run fails below
            bad_receipts += 1
    log_size = int(reps[0].client.checkpoint().splitlines()[1])
    from consilience.services.escrow.settings import LOG_BATCH_SIZE

    # Every stored entry appended its own leaf; each release pass appended a batch.
    entries_logged = len(listed)
    return {"acknowledged": len(acknowledged), "missing": len(missing), "first_missing": missing[:3],
            "bad_receipts": bad_receipts, "log_size": log_size, "entries_listed": entries_logged,
            "release_leaves": log_size - entries_logged, "batch": LOG_BATCH_SIZE,
            "passes": (log_size - entries_logged) // LOG_BATCH_SIZE, "matches": _matches(d)}


def _matches(d: BenchDeployment) -> int | None:
    """Matches the escrow server released, from its database (read after the run)."""
    from consilience.operator.deployment import escrow_database
    from consilience.storage.models import Match

    try:
        with escrow_database(d.root) as db, db.read() as session:
            from sqlalchemy import func, select

            return int(session.scalar(select(func.count()).select_from(Match)) or 0)
    except Exception:  # noqa: BLE001 - a count for the report only
        return None


def _summary(o: Outcome) -> dict[str, Any]:
    return {**latency_summary(o.latencies, o.elapsed), "errors": len(o.errors), "first_errors": o.errors[:3],
            "statuses": o.statuses, "offered_rate": o.offered_rate}


def run(quick: bool = False, work: Path | None = None, *, profile: Profile | None = None, workers: int = 1,
        database: str = "sqlite", database_url: str | None = None) -> dict[str, Any]:
    p = profile or (QUICK if quick else FULL)
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="consilience-bench-load-")) if work is None else work
    work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if database == "postgresql" and database_url is None:
            database_url = stack.enter_context(_private_postgres(work / "pg"))
        env = {"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL), "CONSILIENCE_WORKERS": str(workers)}
        if database_url:  # the admin tools (invites) read it from the environment as well as the server
            env["CONSILIENCE_DATABASE_URL"] = database_url
        stack.enter_context(_environment(env))
        results = _run(p, work, env)
        results.update(workers=workers, database=database)
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


@contextmanager
def _private_postgres(root: Path) -> Iterator[str]:
    """A PostgreSQL cluster of the run's own (tests/pg_cluster.py), with room for several workers' pools."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import pg_cluster  # type: ignore[import-not-found]

    cluster = pg_cluster.LocalCluster()
    try:
        cluster.process = subprocess.Popen(
            pg_cluster._as_user([cluster.postgres, "-D", str(cluster.data), "-k", str(cluster.sockets),
                                 "-p", str(cluster.port), "-c", "listen_addresses=127.0.0.1",
                                 "-c", f"max_connections={PG_MAX_CONNECTIONS}"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pg_cluster._wait(cluster.url, cluster.process)
        yield pg_cluster.fresh_database(cluster.url)
    finally:
        cluster.close()


def _run(p: Profile, work: Path, escrow_env: dict[str, str]) -> dict[str, Any]:
    log("load: starting a deployment")
    d = start_deployment(work, escrow_env=escrow_env)
    reps: list[Reporter] = []
    name = {QUICK: "quick", BRIEF: "brief", FULL: "full"}.get(p, "custom")
    results: dict[str, Any] = {"profile": name, "reporters": p.reporters,
                               "connections": p.connections, "filesystem": filesystem_of(work)}
    try:
        invites = issue_invites(d.root, ADMIN_SECRET, p.reporters)
        reps, _ = register_reporters(d, invites, work / "wallets")
        deployment = reps[0].session.deployment(reps[0].client)
        log(f"load: preparing {p.reporters} × {p.per_reporter} sealed submissions (OPRF, seal; not timed)")
        a = time.perf_counter()
        queues = prepare(reps, deployment, p.per_reporter)
        results["prepared"] = sum(len(q) for q in queues)
        results["prepare_seconds"] = time.perf_counter() - a
        tokens = [r.session.wallet.token for r in reps]
        cut = [int(len(q) * CLOSED_SHARE) for q in queues]
        reserved = [q[c:] for q, c in zip(queues, cut, strict=False)]
        queues = [q[:c] for q, c in zip(queues, cut, strict=False)]
        acknowledged: list[tuple[Prepared, str]] = []

        log(f"load: closed loop, {p.connections} connections, {p.closed_seconds:.0f} s")
        meter = CpuMeter(d.services)
        closed = asyncio.run(closed_loop(d.server, tokens, queues, p.connections, p.closed_seconds))
        results["closed"] = {**_summary(closed), "cpu": meter.stop()}
        acknowledged += closed.acknowledged
        log(f"  {fmt_rate(results['closed']['per_second'])}, p50 {fmt_time(results['closed'].get('p50', 0))}, "
            f"p99 {fmt_time(results['closed'].get('p99', 0))}, errors {len(closed.errors)}")

        rate = max(1.0, OPEN_LOOP_FRACTION * results["closed"]["per_second"])
        log(f"load: open loop at {rate:.1f}/s offered, {p.open_seconds:.0f} s")
        meter = CpuMeter(d.services)
        opened = asyncio.run(open_loop(d.server, tokens, reserved, rate, p.open_seconds))
        results["open"] = {**_summary(opened), "cpu": meter.stop()}
        acknowledged += opened.acknowledged
        log(f"  {fmt_rate(results['open']['per_second'])}, p50 {fmt_time(results['open'].get('p50', 0))}, "
            f"p99 {fmt_time(results['open'].get('p99', 0))}, errors {len(opened.errors)}")

        log("load: SIGKILL the escrow server, restart, look for every acknowledged entry and receipt")
        results["durability"] = check_nothing_lost(d, reps, deployment, acknowledged)
        dur = results["durability"]
        log(f"  {dur['acknowledged']} acknowledged, {dur['missing']} missing, {dur['bad_receipts']} bad receipts, "
            f"log size {dur['log_size']}")
        failures = []
        for name in ("closed", "open"):
            if results[name]["errors"]:
                failures.append(f"{name}: {results[name]['errors']} errors, first {results[name]['first_errors']}")
        if dur["missing"] or dur["bad_receipts"] or dur["log_size"] < dur["acknowledged"] \
                or dur["release_leaves"] % dur["batch"]:
            failures.append(f"durability: {dur}")
        if failures:
            raise RuntimeError("load test failed: " + "; ".join(failures))
    finally:
        for r in reps:
            r.close()
        d.stop()
    return results


# -- rendering ------------------------------------------------------------------------------


def headline(results: dict[str, Any]) -> list[list[str]]:
    c, o, dur = results["closed"], results["open"], results["durability"]
    return [
        [f"load test: sustained submissions, {results['connections']} connections (closed loop)",
         f"{fmt_rate(c['per_second'])}, p99 {fmt_time(c['p99'])}", ""],
        [f"load test: {fmt_rate(o['offered_rate'])} offered (open loop), p50 / p99",
         f"{fmt_time(o['p50'])} / {fmt_time(o['p99'])}", ""],
        ["load test: errors / acknowledged entries lost after SIGKILL + restart",
         f"{c['errors'] + o['errors']} / {dur['missing']} of {dur['acknowledged']:,}", ""],
    ]


def _fmt_count(n: int | None) -> str:
    return "an unknown number of" if n is None else f"{n:,}"


def _database_text(results: dict[str, Any]) -> str:
    workers = results.get("workers", 1)
    served = f"{workers} worker processes (`serve --workers {workers}`)" if workers > 1 else "one process"
    if results.get("database") == "postgresql":
        return f"PostgreSQL, budgets in its `rate_buckets`, {served}, on {results['filesystem']}"
    return f"SQLite WAL `synchronous=FULL` on {results['filesystem']}, {served}"


def render(results: dict[str, Any]) -> str:
    c, o, dur = results["closed"], results["open"], results["durability"]
    rows = []
    for name, s in (("closed loop (back to back)", c), ("open loop (fixed arrival rate)", o)):
        offered = fmt_rate(s["offered_rate"]) if s.get("offered_rate") else "as fast as answered"
        cpu = s["cpu"].get("escrow server", float("nan"))
        per_sub = fmt_time(cpu / s["count"]) if s["count"] else "–"
        rows.append([name, offered, f"{s['count']:,} in {s['seconds']:.1f} s", fmt_rate(s["per_second"]),
                     fmt_time(s["p50"]), fmt_time(s["p95"]), fmt_time(s["p99"]), fmt_time(s["max"]),
                     str(s["errors"]), per_sub])
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted({**c["statuses"]}.items()))
    return "\n".join([
        f"Setup: the deployment of the submission benchmark (3 key servers 2-of-3, the escrow server with its "
        f"default request budgets, {_database_text(results)}), "
        f"{results['reporters']} reporters. Every submission was sealed beforehand by the real v2 client path "
        f"({results['prepared']:,} in {results['prepare_seconds']:.0f} s: `oprf_client.evaluate` with signed "
        f"requests in batches of {MAX_BATCH} identifiers, `seal_entry` with the checked quorum shares), so the "
        f"load generator — one asyncio loop with `httpx.AsyncClient`, on the same cores — spends its time on "
        f"HTTP only. One entry in {REPEAT_EVERY} names one of {REPEAT_PEOPLE} people whom many reporters name "
        f"(each reporter once), and the escrow server ran its release pass on its background timer "
        f"(`CONSILIENCE_RELEASE_INTERVAL={RELEASE_INTERVAL:g}`, randomised ±50 %), so matches were counted and "
        f"released, and the log grew by its fixed batch per pass, during the run. Latency in the open loop is "
        f"measured from each request's scheduled send time.",
        "",
        md_table(["phase", "offered", "acknowledged", "sustained", "p50", "p95", "p99", "max", "errors",
                  "escrow CPU per entry"], rows, "lrrrrrrrrr"),
        "",
        f"Closed-loop status codes: {statuses}. After both phases the escrow server was killed with SIGKILL "
        f"and started again: {dur['acknowledged']:,} entries had been acknowledged, **{dur['missing']} were "
        f"missing**, {dur['bad_receipts']} receipts failed verification, and the log held {dur['log_size']:,} "
        f"leaves: one per stored entry ({dur['entries_listed']:,}) plus "
        f"{dur['release_leaves']:,} from {dur['passes']} release passes of {dur['batch']} leaves each, whether or "
        f"not they released anything; {_fmt_count(dur.get('matches'))} matches were released. Each pass is one "
        f"write transaction, so submissions that arrive during one wait for it; the tails above may include "
        f"such waits (a pass every {RELEASE_INTERVAL:g} s on average here).",
    ])


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny counts (checks the code, not the speed)")
    size.add_argument("--brief", action="store_true", help="a minute or two: to compare set-ups")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    parser.add_argument("--workers", type=int, default=1, help="escrow server processes (serve --workers)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", help="an existing PostgreSQL database (default: a private cluster)")
    args = parser.parse_args()
    if args.workers > 1 and args.database != "postgresql":
        parser.error("--workers > 1 needs --database postgresql")
    profile = QUICK if args.quick else BRIEF if args.brief else FULL
    results = run(profile=profile, workers=args.workers, database=args.database, database_url=args.database_url)
    print(json.dumps(results, indent=2, default=str) if args.json else render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
