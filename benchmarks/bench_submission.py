"""End-to-end entry submission on loopback, protocol v2: latency percentiles, throughput, where the time goes.

A whole v2 deployment runs as separate processes, as in production: three key
servers (2-of-3, their quorum keys generated among them over the escrow
server's board and published) and the escrow server on its default SQLite
database. One counselor is listed; N reporters register with invites. Each
submission names one fresh identifier (so nothing is released: the common case).

Measured, each bounded in count and time:

* the **bare path**, stage by stage, sequentially, through the real client:
  normalise the identifier; the key-server round (``oprf_client.evaluate``:
  blind, sign one request per key server, ask the t = 2 key servers in
  parallel over one kept-alive ``httpx.Client`` passed as ``http=``, verify
  the VOPRF proofs, combine, finalise, ``quorum.combine`` with its pairing
  check), split into the wait for the slower key server and the client's own
  work; sealing (``entry.seal_entry``: the wrapped body key per quorum level,
  AEAD, HPKE to the counselor); the POST with the server's durable commit
  (``EscrowClient.send``); the check of the transparency-log receipt;
* the same key-server round without a shared client (a new connection per
  key server per submission, as ``oprf_client.evaluate`` does when no
  ``http=`` is given);
* the same path with all reporters submitting **concurrently** (throughput);
* the **wallet path** the CLI and SDK use (``clients.reporter.escrow``),
  which also re-fetches and checks the signed deployment document and saves
  the Argon2id-sealed wallet twice (before sending, after the answer);
* a few real ``consilience reporter escrow`` **CLI processes** with the
  default Argon2id parameters (64 MiB, 3 passes), i.e. what a person waits for;
* the escrow server's own work in process (``entries.submit``) and **the
  release pass** (``releases.run_pass``) over N queued tags;
* the floors: a bare SQLite insert+commit of a row the size of an entry
  (WAL, ``synchronous=FULL``, as the server configures it), one 4 KiB
  write+fsync, and the escrow server's ``GET /healthz``.

Run alone: ``python benchmarks/bench_submission.py [--quick]`` prints markdown.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    ADMIN_SECRET,
    CHEAP_KDF,
    Deadline,
    V2Deployment,
    filesystem_of,
    fmt_rate,
    fmt_ratio,
    fmt_time,
    latency_summary,
    log,
    md_table,
    measure,
    run_alone,
    start_v2_deployment,
)
from consilience.clients import oprf_client, receipts, reporter  # noqa: E402
from consilience.clients.escrow_client import EscrowClient, submission_payload  # noqa: E402
from consilience.crypto import passphrase  # noqa: E402
from consilience.operator.deployment import status  # noqa: E402
from consilience.operator.invites import issue_invites  # noqa: E402
from consilience.protocol import identifiers as ids  # noqa: E402
from consilience.protocol.deployment import Deployment  # noqa: E402
from consilience.protocol.encoding import b64u_decode, b64u_encode  # noqa: E402
from consilience.protocol.entry import seal_entry  # noqa: E402
from consilience.protocol.messages import EntrySubmission  # noqa: E402

DEFAULT_KDF = {"memory_cost_kib": passphrase.DEFAULT_MEMORY_COST_KIB,
               "iterations": passphrase.DEFAULT_ITERATIONS, "lanes": passphrase.DEFAULT_LANES}
RECORD = ("On the evening of the team offsite the person I name here followed me out of the venue, "
          "blocked the stairwell and grabbed my arm when I tried to leave. I told a colleague the next "
          "morning but nobody else at the time. Two weeks later they sent messages at night saying my "
          "contract would not be renewed if I mentioned it. I kept screenshots of those messages and "
          "the dates. I am writing this down now so that it exists somewhere, in my own words, "
          "in case anyone else has been through something similar with the same person.")
CONTACT = "signal: @reporter.bench, evenings"
HANDLER_BLOCKS = 3
STAGES = ("normalise", "oprf", "seal", "post", "receipt")
#: The key-server round split in two (they add up to "oprf").
OPRF_PARTS = ("keyservers", "client")
#: The p50 target for one submission from issue 11 (v1 measured 30.8 ms here).
TARGET_P50 = 0.015
V1_P50 = 0.0308
#: Quorum range of the benchmark deployment (9 levels), as bench_keyserver.
QUORUM_LOW, QUORUM_HIGH = 2, 10

BenchDeployment = V2Deployment


@dataclass(frozen=True)
class Profile:
    reporters: int
    sequential: int
    no_shared_client: int
    concurrent: int
    wallet: int
    cli: int
    seconds_per_phase: float
    total_seconds: float
    floor_ops: int
    release_pending: tuple[int, ...]


FULL = Profile(reporters=20, sequential=200, no_shared_client=40, concurrent=150, wallet=40, cli=5,
               seconds_per_phase=40.0, total_seconds=150.0, floor_ops=300, release_pending=(0, 8, 64, 512))
QUICK = Profile(reporters=2, sequential=3, no_shared_client=2, concurrent=4, wallet=2, cli=1, seconds_per_phase=10.0,
                total_seconds=30.0, floor_ops=10, release_pending=(0, 8))


@dataclass
class Reporter:
    session: reporter.Session
    client: EscrowClient
    account_id: bytes
    credentials: oprf_client.Credentials
    #: one kept-alive client for the key servers, across submissions (``oprf_client.evaluate(http=...)``)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))
    n: int = 0

    def fresh_name(self) -> str:
        self.n += 1
        return f"person-{os.urandom(5).hex()}-{self.n}@example.com"

    def close(self) -> None:
        self.client.close()
        self.http.close()


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class CpuMeter:
    """CPU seconds the service processes spend during a phase."""

    def __init__(self, services: list[Any]) -> None:
        self.pids = {s.name: s.process.pid for s in services if s.process is not None}
        self.start = {name: _cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> dict[str, float]:
        return {name: _cpu_seconds(pid) - self.start[name] for name, pid in self.pids.items()}


# -- timing the key-server requests inside oprf_client.evaluate ------------------------------------

_ASK = oprf_client._ask
_ASK_LOCK = threading.Lock()
#: id(credentials) -> durations of that reporter's key-server calls in its current submission
_ASKS: dict[int, list[float]] = {}


def _timed_ask(http: httpx.Client, deployment: Deployment, server: Any, credentials: Any, *rest: Any) -> Any:
    """``oprf_client._ask`` (sign, POST, parse one key server's answer), timed for the reporter it serves."""
    a = time.perf_counter()
    try:
        return _ASK(http, deployment, server, credentials, *rest)
    finally:
        with _ASK_LOCK:
            _ASKS.setdefault(id(credentials), []).append(time.perf_counter() - a)


def _evaluate(r: Reporter, deployment: Deployment, inputs: list[bytes], *, shared: bool = True) -> tuple[Any, float]:
    """``oprf_client.evaluate`` and the wall time of its slowest key-server call (the parallel wait).

    The calls run in the client's own thread pool; ``oprf_client._ask`` is wrapped (module attribute,
    looked up at each call) to time them, keyed by the reporter's credentials object.
    """
    with _ASK_LOCK:
        _ASKS[id(r.credentials)] = []
    oprf_client._ask = _timed_ask  # type: ignore[assignment]
    result = oprf_client.evaluate(deployment, inputs, r.credentials, http=r.http if shared else None)
    with _ASK_LOCK:
        waits = _ASKS.pop(id(r.credentials), [])
    return result, max(waits, default=0.0)


# -- the paths ------------------------------------------------------------------------


def bare_submission(r: Reporter, deployment: Deployment, *, shared: bool = True) -> dict[str, float]:
    """One submission by direct library calls; returns seconds per stage and in total."""
    t = [time.perf_counter()]
    named = ids.normalise_many([r.fresh_name()])
    t.append(time.perf_counter())
    result, wait = _evaluate(r, deployment, [i.oprf_input for i in named], shared=shared)
    t.append(time.perf_counter())
    sealed = seal_entry(deployment=deployment, identifiers=named, oprf_outputs=result.outputs,
                        quorum_shares=result.shares, record=RECORD, contact=CONTACT)
    t.append(time.perf_counter())
    payload = submission_payload(sealed)
    answer = r.client.send(payload)
    t.append(time.perf_counter())
    if answer.status != "escrowed" or result.skipped or answer.receipt is None:
        raise RuntimeError(f"unexpected: status {answer.status}, skipped key servers {result.skipped}, "
                           f"receipt {answer.receipt is not None}")
    receipts.check(answer.receipt, deployment, sealed.entry_id, kind="entry",
                   content=receipts.expected_content(payload))
    t.append(time.perf_counter())
    out = {stage: t[i + 1] - t[i] for i, stage in enumerate(STAGES)}
    out["keyservers"] = wait
    out["client"] = out["oprf"] - wait
    out["total"] = t[-1] - t[0]
    return out


def _stage_summary(samples: list[dict[str, float]], elapsed: float) -> dict[str, Any]:
    return {key: latency_summary([s[key] for s in samples], elapsed if key == "total" else None)
            for key in (*STAGES, *OPRF_PARTS, "total")}


def sequential_bare(reps: list[Reporter], deployment: Deployment, count: int, seconds: float, *,
                    shared: bool = True) -> dict[str, Any]:
    deadline = Deadline(seconds)
    samples = []
    t0 = time.perf_counter()
    for r in itertools.islice(itertools.cycle(reps), count):
        if deadline.passed():
            break
        samples.append(bare_submission(r, deployment, shared=shared))
    return _stage_summary(samples, time.perf_counter() - t0)


def concurrent_bare(reps: list[Reporter], deployment: Deployment, count: int, seconds: float) -> dict[str, Any]:
    counter = itertools.count()
    deadline = Deadline(seconds)
    samples: list[dict[str, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    gate = threading.Barrier(len(reps) + 1)

    def worker(r: Reporter) -> None:
        gate.wait()
        mine = []
        while not deadline.passed() and next(counter) < count:
            try:
                mine.append(bare_submission(r, deployment))
            except Exception as exc:  # noqa: BLE001 - reported, and the run fails below
                with lock:
                    errors.append(repr(exc))
                break
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=worker, args=(r,), daemon=True) for r in reps]
    for th in threads:
        th.start()
    gate.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} concurrent submissions failed; first: {errors[0]}")
    out = _stage_summary(samples, elapsed)
    out["clients"] = len(reps)
    return out


def wallet_path(reps: list[Reporter], count: int, seconds: float) -> dict[str, Any]:
    deadline = Deadline(seconds)
    writes, escrows = [], []
    t0 = time.perf_counter()
    for r in itertools.islice(itertools.cycle(reps), count):
        if deadline.passed():
            break
        a = time.perf_counter()
        record = reporter.write(r.session, RECORD)
        b = time.perf_counter()
        done = reporter.escrow(r.session, record.record_id, [r.fresh_name()])
        c = time.perf_counter()
        if done.escrow is None or done.escrow.status != "escrowed":
            raise RuntimeError(f"wallet path: unexpected state {done.escrow}")
        writes.append(b - a)
        escrows.append(c - b)
    elapsed = time.perf_counter() - t0
    return {"write": latency_summary(writes), "escrow": latency_summary(escrows, elapsed)}


def cli_path(server: str, invite: str, work: Path, count: int) -> dict[str, Any]:
    """``consilience reporter escrow`` as a person runs it: a new process, default Argon2id."""
    home = work / "cli-reporter"
    path = home / "wallet.sealed"
    secret = "bench cli reporter passphrase"
    session = reporter.register(server, invite, CONTACT, path, secret)  # default KDF, like the CLI
    env = {**os.environ, "CONSILIENCE_HOME": str(home), "CONSILIENCE_PASSPHRASE": secret}
    startup = []
    for _ in range(max(1, min(count, 3))):
        a = time.perf_counter()
        subprocess.run([sys.executable, "-m", "consilience", "--help"], capture_output=True, env=env, check=True,
                       timeout=60)
        startup.append(time.perf_counter() - a)
    runs = []
    for _ in range(count):
        record = reporter.write(session, RECORD)  # not timed: `reporter write` is its own command
        name = f"cli-person-{os.urandom(5).hex()}@example.com"
        a = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "consilience", "reporter", "escrow", record.record_id,
                               "--name", name, "--wallet", str(path), "--json"],
                              capture_output=True, text=True, env=env, timeout=120)
        runs.append(time.perf_counter() - a)
        if proc.returncode != 0 or json.loads(proc.stdout)["escrow"]["status"] != "escrowed":
            raise RuntimeError(f"CLI escrow failed: {proc.stdout}\n{proc.stderr}")
        session = reporter.open_session(path, secret)  # the CLI rewrote the wallet
    return {"escrow": latency_summary(runs), "startup": latency_summary(startup)}


def _variant(template: dict[str, Any], tags: list[bytes]) -> str:
    """A submission like ``template`` (a really sealed one) under a new entry id and the given tags.

    The escrow server cannot open bodies or envelopes, so for its own work only the shape matters.
    """
    return json.dumps({**template, "entry_id": b64u_encode(os.urandom(16)), "tags": [b64u_encode(t) for t in tags]})


def handler_in_process(root: Path, reps: list[Reporter], template: dict[str, Any], count: int,
                       pending: tuple[int, ...]) -> dict[str, Any]:
    """The escrow server's own work, without HTTP: token lookup, ``entries.submit``, and the release pass.

    Runs the server's application object in this process against the same
    data folder, after the server process has stopped (no lifespan, so no
    background release thread: passes run only when called here).
    """
    from consilience.datadir import DataDir
    from consilience.services.escrow import entries, releases, transparency
    from consilience.services.escrow.app import create_app
    from consilience.services.escrow.limits import Quotas
    from consilience.services.escrow.settings import Settings
    from consilience.storage import log as storage_log
    from consilience.storage import repository

    # one account writes several hundred entries below, more than an account may keep: quotas that never bind
    app = create_app(Settings.for_data_dir(DataDir(root).escrow.root,
                                           quotas=Quotas(bytes_per_account=2**40, entries_per_account=10**6)))
    state = app.state.escrow
    logged: list[float] = []
    original = transparency.record_entry

    def timed_record_entry(*args: Any, **kwargs: Any) -> Any:
        a = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            logged.append(time.perf_counter() - a)

    transparency.record_entry = timed_record_entry  # type: ignore[assignment]
    token = b64u_decode(reps[0].session.wallet.token)
    submissions = [_variant(template, [os.urandom(32)]) for _ in range(count + 1)]
    auth, validate, submit = [], [], []
    with state.db.read() as session:
        log_before = storage_log.size(session)
    out: dict[str, Any] = {}
    try:
        for raw in submissions:
            a = time.perf_counter()
            with state.db.read() as session:
                account = repository.authenticate(session, token)
            b = time.perf_counter()
            submission = EntrySubmission.model_validate_json(raw)
            c = time.perf_counter()
            assert account is not None
            _, created = entries.submit(state, account, submission)
            d = time.perf_counter()
            assert created
            auth.append(b - a)
            validate.append(c - b)
            submit.append(d - c)
        transparency.record_entry = original  # type: ignore[assignment]
        # The whole POST through the application in process (FastAPI's TestClient: routing, the token
        # dependency, pydantic, the rate limiter, entries.submit, the response), without uvicorn or a socket.
        from fastapi.testclient import TestClient

        asgi = []
        with_client = TestClient(app, raise_server_exceptions=True)
        headers = {"Authorization": f"Bearer {reps[0].session.wallet.token}", "Content-Type": "application/json"}
        for k in range(count + 1):
            body = _variant(template, [os.urandom(32)])
            a = time.perf_counter()
            answer = with_client.post("/v2/entries", content=body, headers=headers)
            if k:
                asgi.append(time.perf_counter() - a)
            if answer.status_code != 201:
                raise RuntimeError(f"in-process POST: {answer.status_code} {answer.text[:200]}")
        out["asgi_post"] = latency_summary(asgi)
        # The release pass over N queued tags: N entries by one account under fresh tags, and one in
        # eight of those tags also named by a second account, so the pass releases N/8 matches (quorum 2).
        accounts = []
        with state.db.read() as session:
            for r in reps[:2]:
                accounts.append(repository.authenticate(session, b64u_decode(r.session.wallet.token)))
        assert all(a is not None for a in accounts)
        releases.run_pass(state)  # count what the phases above queued, so each pass below sees only its own
        passes = {}
        for n in pending:
            tags = [os.urandom(32) for _ in range(n)]
            for k, tag in enumerate(tags):
                entries.submit(state, accounts[0], EntrySubmission.model_validate_json(_variant(template, [tag])))
                if k % 8 == 0 and len(accounts) > 1:
                    entries.submit(state, accounts[1], EntrySubmission.model_validate_json(_variant(template, [tag])))
            with state.db.read() as session:
                size_before = storage_log.size(session)
            a = time.perf_counter()
            result = releases.run_pass(state)
            took = time.perf_counter() - a
            passes[str(n)] = {"seconds": took, "tags": n, "released": len(result.changes),
                              "appended": result.appended, "logged": result.logged,
                              "size_before": size_before, "size_after": result.size}
            log(f"  release pass over {n} queued tags: {fmt_time(took)}, {len(result.changes)} matches released, "
                f"log +{result.size - size_before}")
        out["release_pass"] = passes
        out["log_batch_size"] = state.settings.log_batch_size
    finally:
        transparency.record_entry = original  # type: ignore[assignment]
        state.db.dispose()
    # The first round warms caches (SQLAlchemy statement compilation); leave it out. Like the other
    # in-process timings, report the best of a few consecutive blocks: on a shared machine a burst
    # of outside load only ever adds time.
    blocks = []
    size = max(1, (len(submit) - 1) // HANDLER_BLOCKS)
    for start in range(1, len(submit), size):
        part = slice(start, start + size)
        blocks.append({"authenticate": latency_summary(auth[part]), "validate": latency_summary(validate[part]),
                       "submit": latency_summary(submit[part]), "log": latency_summary(logged[part])})
    best = min(blocks, key=lambda b: b["submit"]["p50"])
    return {**best, **out, "log_size_before": log_before, "blocks": len(blocks),
            "block_submit_p50": [b["submit"]["p50"] for b in blocks]}


# -- the floors -------------------------------------------------------------------------


def sqlite_floor(path: Path, row_bytes: dict[str, int], count: int) -> dict[str, Any]:
    """One durable transaction per row, configured as storage/database.py configures SQLite."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.execute("CREATE TABLE entries (entry_id BLOB PRIMARY KEY, account_id BLOB NOT NULL, quorum INTEGER, "
                "status TEXT, body BLOB, envelope BLOB, tag BLOB, content_hash BLOB, created_at TEXT)")
    samples = []
    try:
        for _ in range(count):
            row = (os.urandom(16), os.urandom(16), 2, "escrowed", os.urandom(row_bytes["body"]),
                   os.urandom(row_bytes["envelope"]), os.urandom(32), os.urandom(32),
                   time.strftime("%Y-%m-%dT%H:%M:%S"))
            a = time.perf_counter()
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            con.execute("COMMIT")
            samples.append(time.perf_counter() - a)
        mode = con.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        con.close()
    return {**latency_summary(samples), "journal_mode": mode}


def fsync_floor(path: Path, count: int) -> dict[str, Any]:
    samples = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(count):
            block = os.urandom(4096)
            a = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            samples.append(time.perf_counter() - a)
    finally:
        os.close(fd)
    return latency_summary(samples)


def http_floor(url: str, count: int) -> dict[str, Any]:
    samples = []
    with httpx.Client(timeout=10) as http:
        http.get(url)
        for _ in range(count):
            a = time.perf_counter()
            http.get(url).raise_for_status()
            samples.append(time.perf_counter() - a)
    return latency_summary(samples)


def httpx_client_cost(quick: bool) -> dict[str, Any]:
    """What ``clients/http.py`` saves: an httpx client with a fresh SSL context vs. the shared one."""
    from consilience.clients import http as sdk_http

    def fresh() -> None:
        httpx.Client(timeout=10).close()

    def shared() -> None:
        sdk_http.client(timeout=10).close()

    seconds, runs = (0.1, 2) if quick else (1.0, 5)
    return {"fresh": measure(fresh, seconds=seconds, runs=runs).to_json(),
            "shared": measure(shared, seconds=seconds, runs=runs).to_json()}


def argon2_costs(p: Profile, wallet_bytes: int) -> dict[str, Any]:
    data = os.urandom(wallet_bytes)
    seconds = 0.05 if p is QUICK else 2.0
    return {name: measure(lambda kw=kw: passphrase.seal(data, "a passphrase", "bench", **kw), seconds=seconds,
                          runs=2 if p is QUICK else 3).to_json()
            for name, kw in (("cheap", CHEAP_KDF), ("default", DEFAULT_KDF))}


# -- the run ------------------------------------------------------------------------------


def start_deployment(work: Path, *, quorum: int = QUORUM_LOW, escrow_env: dict[str, str] | None = None
                     ) -> BenchDeployment:
    """A keyed v2 deployment with unlimited key-server budgets and one counselor (``common.start_v2_deployment``).

    The escrow server keeps its default request budgets; callers that load it
    spread the work over enough accounts to stay inside them.
    """
    return start_v2_deployment(work, quorum=quorum, max_quorum=QUORUM_HIGH, escrow_env=escrow_env)


def register_reporters(d: BenchDeployment, invites: list[str], wallets: Path) -> tuple[list[Reporter], list[float]]:
    """Register one reporter per invite through the SDK (cheap Argon2id); returns them and the latencies."""
    reps, registrations = [], []
    for i, invite in enumerate(invites):
        a = time.perf_counter()
        session = reporter.register(d.server, invite, CONTACT, wallets / f"r{i}.sealed",
                                    f"reporter {i} passphrase", kdf_params=CHEAP_KDF)
        registrations.append(time.perf_counter() - a)
        reps.append(Reporter(session, session.client(), b64u_decode(session.wallet.account_id, length=16),
                             session.credentials()))
    return reps, registrations


def run(quick: bool = False, work: Path | None = None) -> dict[str, Any]:
    p = QUICK if quick else FULL
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="consilience-bench-sub-")) if work is None else work
    work.mkdir(parents=True, exist_ok=True)
    log("submission: starting a v2 deployment")
    d = start_deployment(work)
    root, services = d.root, d.services
    results: dict[str, Any] = {"profile": "quick" if quick else "full", "reporters": p.reporters,
                               "filesystem": filesystem_of(work), "keygen_seconds": d.keygen_seconds,
                               "levels": QUORUM_HIGH - QUORUM_LOW + 1}
    reps: list[Reporter] = []
    budget = Deadline(p.total_seconds)
    try:
        server = d.server
        invites = issue_invites(root, ADMIN_SECRET, p.reporters + 1)
        reps, registrations = register_reporters(d, invites[:p.reporters], work / "wallets")
        results["register"] = latency_summary(registrations)
        deployment = reps[0].session.deployment(reps[0].client)
        log(f"submission: {p.reporters} reporters registered; warming up")
        sample = None
        for r in reps:  # one warm-up submission per reporter (connections, imports), not counted
            sample = bare_submission(r, deployment)
        assert sample is not None

        log(f"submission: bare path, sequential (up to {p.sequential})")
        meter = CpuMeter(services)
        results["sequential"] = sequential_bare(reps, deployment, p.sequential,
                                                min(p.seconds_per_phase, budget.remaining()))
        results["sequential"]["cpu"] = meter.stop()
        log(f"  p50 {fmt_time(results['sequential']['total']['p50'])}, "
            f"p99 {fmt_time(results['sequential']['total']['p99'])}")

        log(f"submission: bare path without a shared key-server client (up to {p.no_shared_client})")
        results["no_shared_client"] = sequential_bare(reps, deployment, p.no_shared_client,
                                                      min(p.seconds_per_phase, max(budget.remaining(), 1.0)),
                                                      shared=False)
        log(f"  p50 {fmt_time(results['no_shared_client']['total']['p50'])}")

        log(f"submission: bare path, {len(reps)} concurrent reporters (up to {p.concurrent})")
        meter = CpuMeter(services)
        results["concurrent"] = concurrent_bare(reps, deployment, p.concurrent,
                                                min(p.seconds_per_phase, max(budget.remaining(), 1.0)))
        results["concurrent"]["cpu"] = meter.stop()
        log(f"  {fmt_rate(results['concurrent']['total']['per_second'])}, "
            f"p50 {fmt_time(results['concurrent']['total']['p50'])}")

        log(f"submission: wallet path (reporter.escrow), sequential (up to {p.wallet})")
        results["wallet"] = wallet_path(reps, p.wallet, min(p.seconds_per_phase, max(budget.remaining(), 1.0)))
        log(f"  p50 {fmt_time(results['wallet']['escrow']['p50'])}")

        log(f"submission: CLI processes with default Argon2id ({p.cli})")
        results["cli"] = cli_path(server, invites[-1], work, p.cli)
        log(f"  p50 {fmt_time(results['cli']['escrow']['p50'])}")

        log("submission: floors")
        template = _template(reps[0], deployment)
        results["entry_bytes"] = _entry_sizes(template)
        results["http_floor"] = http_floor(f"{server}/healthz", p.floor_ops)
        results["sqlite_floor"] = sqlite_floor(work / "floor.sqlite", results["entry_bytes"], p.floor_ops)
        results["fsync_floor"] = fsync_floor(work / "floor.fsync", p.floor_ops)
        wallet_bytes = len(reps[0].session.wallet.to_bytes())
        results["argon2"] = argon2_costs(p, wallet_bytes)
        results["argon2"]["wallet_bytes"] = wallet_bytes
        results["httpx_client"] = httpx_client_cost(quick)
        results["status"] = status(root)
        for r in reps:
            r.close()
        d.stop()
        log("submission: the escrow handler and the release pass in process (server stopped)")
        results["handler"] = handler_in_process(root, reps, template, max(6, p.floor_ops // 2), p.release_pending)
    finally:
        for r in reps:
            r.close()
        d.stop()
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return results


def _template(r: Reporter, deployment: Deployment) -> dict[str, Any]:
    """One really sealed submission (the real key servers' shares), the pattern of the in-process ones."""
    named = ids.normalise_many([r.fresh_name()])
    result = oprf_client.evaluate(deployment, [i.oprf_input for i in named], r.credentials, http=r.http)
    sealed = seal_entry(deployment=deployment, identifiers=named, oprf_outputs=result.outputs,
                        quorum_shares=result.shares, record=RECORD, contact=CONTACT)
    return submission_payload(sealed)


def _entry_sizes(template: dict[str, Any]) -> dict[str, int]:
    return {"body": len(b64u_decode(template["body"])),
            "envelope": sum(len(b64u_decode(e["ciphertext"])) for e in template["envelopes"]),
            "tags": 32 * len(template["tags"])}


# -- rendering --------------------------------------------------------------------------


def stage_p50(results: dict[str, Any]) -> list[tuple[str, float]]:
    """The one-at-a-time stages by p50, largest first (the key-server round shown by its two parts)."""
    seq = results["sequential"]
    keys = ("normalise", *OPRF_PARTS, "seal", "post", "receipt")
    return sorted(((k, seq[k]["p50"]) for k in keys), key=lambda kv: -kv[1])


STAGE_NAMES = {"normalise": "normalising", "keyservers": "the wait for the key servers",
               "client": "the client's key-server cryptography", "seal": "sealing",
               "post": "the POST with its durable commit", "receipt": "the receipt check"}


def target_sentence(results: dict[str, Any]) -> str:
    """Whether the issue's p50 target is met, and what dominates, computed from the numbers."""
    total = results["sequential"]["total"]["p50"]
    ranked = stage_p50(results)
    top = ", ".join(f"{STAGE_NAMES[k]} {fmt_time(v)}" for k, v in ranked[:3])
    verdict = ("**meets** the issue's target of p50 ≤ 15 ms" if total <= TARGET_P50
               else f"**misses** the issue's target of p50 ≤ 15 ms by {fmt_time(total - TARGET_P50)}")
    return (f"At p50 {fmt_time(total)} a submission {verdict} (v1 measured {fmt_time(V1_P50)} here); the largest "
            f"stages by p50 are {top}.")


def release_pass_section(hd: dict[str, Any]) -> str:
    passes = hd["release_pass"]
    rows = [[f"{int(n):,}", v["released"], v["appended"], v["logged"], fmt_time(v["seconds"]),
             fmt_time(v["seconds"] / int(n)) if int(n) else "—"] for n, v in passes.items()]
    return "\n".join([
        "The release pass (`releases.run_pass`, in process, one transaction): the escrow server's background "
        "timer (`CONSILIENCE_RELEASE_INTERVAL`, randomised) runs it; it counts every tag queued since the last "
        "pass, releases what reached its quorum, and appends exactly "
        f"{hd['log_batch_size']} log leaves (queued release or opening events, padded) and one checkpoint, "
        "whatever happened. Before each pass N entries were submitted under N fresh tags, and a second "
        "account named one tag in eight, so those matches reach quorum 2:", "",
        md_table(["queued tags", "matches released", "leaves appended", "of which real events", "pass", "per tag"],
                 rows), ""])



def render(results: dict[str, Any]) -> str:
    sq = results["sqlite_floor"]
    floor = sq["p50"]
    seq, conc = results["sequential"], results["concurrent"]
    sizes = results["entry_bytes"]
    out = [f"Setup: a v2 deployment, 3 key servers (2-of-3; their key generation over the escrow server's board "
           f"took {results['keygen_seconds']:.1f} s after the processes were up) and the escrow server as processes "
           f"on loopback, quorum levels {QUORUM_LOW}..{QUORUM_HIGH} ({results['levels']} levels), SQLite (WAL, "
           f"`synchronous=FULL`) on {results['filesystem']}; one counselor; {results['reporters']} reporters. "
           f"Each entry names one new email address and carries a {len(RECORD)}-character record: "
           f"body {sizes['body']} B, one HPKE envelope {sizes['envelope']} B, one tag. "
           f"Latencies are wall-clock times seen by the client. Each reporter passes one kept-alive "
           f"`httpx.Client` to `oprf_client.evaluate(http=...)` across its submissions.", ""]

    labels = {"normalise": "normalise the identifier",
              "oprf": "key-server round (`oprf_client.evaluate`, t = 2 key servers in parallel)",
              "keyservers": "… waiting for the slower key server (sign + POST /v2/evaluate + parse, per server)",
              "client": "… the client's own work (blind, verify, combine, `quorum.combine` pairing check)",
              "seal": "seal (`entry.seal_entry`: wrap the body key per level, AEAD, HPKE ML-KEM-768+X25519)",
              "post": "`POST /v2/entries` incl. durable commit (`EscrowClient.send`)",
              "receipt": "check the log receipt (`receipts.check`: signature, inclusion proof)",
              "total": "**total**"}

    def stage_rows(block: dict[str, Any]) -> list[list[str]]:
        total = block["total"]["p50"]
        rows = []
        for key in ("normalise", "oprf", *OPRF_PARTS, "seal", "post", "receipt", "total"):
            v = block[key]
            rows.append([labels[key], fmt_time(v["p50"]), fmt_time(v["p95"]), fmt_time(v["p99"]),
                         f"{100 * v['mean'] / block['total']['mean']:.0f} %" if key != "total" else "100 %",
                         fmt_ratio(v["p50"] / floor)])
        assert total > 0
        return rows

    headers = ["stage", "p50", "p95", "p99", "share of mean", "p50 × SQLite commit"]
    ns = results["no_shared_client"]
    out += [f"### Bare path, one submission at a time ({seq['total']['count']} submissions)", "",
            md_table(headers, stage_rows(seq)), "",
            f"Throughput, one client: **{fmt_rate(seq['total']['per_second'])}** submissions. "
            f"{target_sentence(results)}", "",
            f"Without the shared client (`oprf_client.evaluate` opening its own connections to the key servers at "
            f"every call, {ns['total']['count']} submissions): key-server round p50 {fmt_time(ns['oprf']['p50'])} "
            f"instead of {fmt_time(seq['oprf']['p50'])}, total p50 {fmt_time(ns['total']['p50'])}.", ""]
    hd = results["handler"]
    out += ["Where the POST goes: the escrow server's own work, run in process on the same database "
            f"(no HTTP, no uvicorn; the transparency log already holds {hd['log_size_before']} events; the best "
            f"of {hd['blocks']} consecutive blocks by `entries.submit` p50, the blocks' p50s being "
            + ", ".join(fmt_time(x) for x in hd["block_submit_p50"]) + "):", "",
            md_table(["server step", "n", "p50", "p95", "p99", "p50 × SQLite commit"], [
                [label, hd[key]["count"], fmt_time(hd[key]["p50"]), fmt_time(hd[key]["p95"]),
                 fmt_time(hd[key]["p99"]), fmt_ratio(hd[key]["p50"] / floor)]
                for key, label in (("authenticate", "bearer-token lookup (`repository.authenticate`)"),
                                   ("validate", "parse + validate the JSON body (pydantic)"),
                                   ("submit", "`entries.submit`: checks, ORM inserts, queue the tags, log, commit"),
                                   ("log", "… of which the transparency log (`transparency.record_entry`: "
                                           "append, sign checkpoint, inclusion proof)"),
                                   ("asgi_post", "the whole `POST /v2/entries` through the application in process "
                                                 "(FastAPI's TestClient, which adds its own thread hand-off)"))
            ]), ""]
    out += [release_pass_section(hd), ""]
    out += [f"### Bare path, {conc['clients']} reporters submitting concurrently "
            f"({conc['total']['count']} submissions)", "",
            md_table(headers, stage_rows(conc)), "",
            f"Throughput: **{fmt_rate(conc['total']['per_second'])}** submissions "
            f"({conc['total']['count']} in {conc['total']['seconds']:.1f} s). Each of {conc['clients']} threads "
            "submits as its own reporter. The load generator is one Python process (one GIL) on the same "
            "cores as the four services, so this is a lower bound on what the servers could take.", ""]
    rows = []
    names = sorted(seq["cpu"])
    for phase, block in (("one at a time", seq), ("concurrent", conc)):
        n = block["total"]["count"]
        rows.append([phase] + [fmt_time(block["cpu"][name] / n) for name in names])
    escrow_cpu = conc["cpu"].get("escrow server", float("nan")) / conc["total"]["count"]
    out += ["CPU time each service process spent per submission (from /proc, 10 ms ticks, so meaningful "
            "only over many submissions). Key server 3 is idle because the client stops after t = 2 valid "
            "answers and servers 1 and 2 are up:", "",
            md_table(["phase", *names], rows), "",
            f"The escrow process needs about {fmt_time(escrow_cpu)} of CPU per submission, so one escrow "
            f"process tops out near {1 / escrow_cpu:,.0f} submissions/s on one core whatever the load.", ""]

    w, cli = results["wallet"], results["cli"]
    argon = results["argon2"]
    out += ["### With the wallet (the SDK / CLI path)", "",
            "`clients.reporter.escrow` does the bare path plus: open its own `EscrowClient`, fetch and check "
            "the signed deployment document (signature, public shares, quorum-key commitments) once, ask the "
            "key servers over new connections (it passes no `http=` client), write the receipt file, and save "
            "the Argon2id-sealed wallet (fsynced) before sending and after the answer. The SDK rows use the demo's "
            "cheap Argon2id "
            "(8 MiB, 1 pass); the CLI rows are real `consilience reporter escrow` processes on a wallet "
            "sealed with the default parameters (64 MiB, 3 passes, 4 lanes), which also open the "
            "wallet once.", ""]
    rows = [["SDK `reporter.escrow` (cheap Argon2id)", w["escrow"]["count"], fmt_time(w["escrow"]["p50"]),
             fmt_time(w["escrow"]["p95"]), fmt_time(w["escrow"]["p99"])],
            ["SDK `reporter.write` (one wallet save, cheap Argon2id)", w["write"]["count"],
             fmt_time(w["write"]["p50"]), fmt_time(w["write"]["p95"]), fmt_time(w["write"]["p99"])],
            ["CLI `consilience reporter escrow` (default Argon2id)", cli["escrow"]["count"],
             fmt_time(cli["escrow"]["p50"]), fmt_time(cli["escrow"]["p95"]), fmt_time(cli["escrow"]["p99"])],
            ["CLI `consilience --help` (interpreter start + imports)", cli["startup"]["count"],
             fmt_time(cli["startup"]["p50"]), fmt_time(cli["startup"]["p95"]), fmt_time(cli["startup"]["p99"])],
            [f"one Argon2id seal of the wallet ({argon['wallet_bytes']} B), cheap", "—",
             fmt_time(argon["cheap"]["seconds_per_op"]), "", ""],
            [f"one Argon2id seal of the wallet ({argon['wallet_bytes']} B), default", "—",
             fmt_time(argon["default"]["seconds_per_op"]), "", ""]]
    out += [md_table(["operation", "n", "p50", "p95", "p99"], rows), ""]

    hf, fs = results["http_floor"], results["fsync_floor"]
    out += ["### Floors", "",
            md_table(["operation", "n", "p50", "p95", "p99"], [
                [f"SQLite insert + commit of one {sizes['body'] + sizes['envelope'] + 150} B row "
                 f"(journal `{sq['journal_mode']}`, `synchronous=FULL`, stdlib `sqlite3`)", sq["count"],
                 fmt_time(sq["p50"]), fmt_time(sq["p95"]), fmt_time(sq["p99"])],
                ["4 KiB `write` + `fsync`", fs["count"], fmt_time(fs["p50"]), fmt_time(fs["p95"]),
                 fmt_time(fs["p99"])],
                ["escrow server `GET /healthz` (keep-alive)", hf["count"], fmt_time(hf["p50"]), fmt_time(hf["p95"]),
                 fmt_time(hf["p99"])],
                ["`httpx.Client()` with its own SSL context (loads the CA bundle)",
                 results["httpx_client"]["fresh"]["ops"], fmt_time(results["httpx_client"]["fresh"]["seconds_per_op"]),
                 "", ""],
                ["`clients.http.client()` (one SSL context per process, as the SDK does)",
                 results["httpx_client"]["shared"]["ops"],
                 fmt_time(results["httpx_client"]["shared"]["seconds_per_op"]), "", ""],
            ]), ""]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(run_alone(__doc__, run, render))
