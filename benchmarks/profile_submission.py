"""The escrow server's CPU and statements per accepted submission, in process: the cheapest honest measure.

Where ``bench_load`` runs the deployment as processes behind sockets, this drives the escrow server's real
ASGI application in this process (every middleware, routing, the token dependency, pydantic, the worker
threads, the log's integrator thread) with N ``POST /v2/entries`` of random sealed-looking bytes, K at a
time, straight through the ASGI interface (no HTTP parsing, no socket, no client library: the driver's
own cost is a few µs per request). It reports the process's CPU per entry (``time.process_time``, every
thread) and PostgreSQL's (its processes, from /proc), each round apart, and with ``--statements`` what one
entry costs the database: statements, commits and rollbacks, pool checkouts and new connections.

The server is built as the service tests build it (``tests/services/harness.py``: a signed deployment, a
log key, registered reporters); PostgreSQL is a private cluster with its default durability (``fsync`` on,
``bench_load.Postgres``). Compare two trees by running this in each, alternately, on the same machine.

Run: ``python benchmarks/profile_submission.py --db postgresql --statements``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.pool import Pool  # noqa: E402

from bench_load import Postgres, _tree_cpu  # noqa: E402
from consilience.protocol.encoding import b64u_encode  # noqa: E402
from consilience.services.escrow.limits import Quotas  # noqa: E402
from services.harness import build  # noqa: E402

#: what the database was asked during the counted round, by statement (its first characters)
COUNTS: collections.Counter[str] = collections.Counter()
_COUNTING = [False]


def _counted(name: str) -> None:
    if _COUNTING[0]:
        COUNTS[name] += 1


@event.listens_for(Engine, "before_cursor_execute")
def _statement(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
    _counted(re.sub(r"\s+", " ", statement).strip()[:100])


event.listen(Engine, "commit", lambda _conn: _counted("<commit>"))
event.listen(Engine, "rollback", lambda _conn: _counted("<rollback>"))
event.listen(Pool, "checkout", lambda *_args: _counted("<pool checkout>"))
event.listen(Pool, "connect", lambda *_args: _counted("<new connection>"))


async def post(app: Any, body: bytes, token: str) -> tuple[int, bytes]:
    """One request through the ASGI interface, as uvicorn would hand it over."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v2/entries", "raw_path": b"/v2/entries", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8100), "state": {},
             "headers": [(b"host", b"127.0.0.1:8100"), (b"authorization", f"Bearer {token}".encode()),
                         (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def submit_all(app: Any, items: list[tuple[bytes, str]], concurrency: int) -> None:
    """Every submission, ``concurrency`` at a time; each must be accepted with its receipt."""
    queue = collections.deque(items)

    async def client() -> None:
        while queue:
            body, token = queue.popleft()
            status, answer = await post(app, body, token)
            if status != 201 or json.loads(answer).get("receipt") is None:
                raise RuntimeError(f"{status} {answer[:300]!r}")

    await asyncio.gather(*(client() for _ in range(concurrency)))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--n", type=int, default=400, help="submissions per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--reporters", type=int, default=24)
    parser.add_argument("--statements", action="store_true", help="count what the last round asked the database")
    args = parser.parse_args()
    if (args.n * args.rounds + 100) / args.reporters > 290:
        parser.error("more reporters: an account's entry budget allows a burst of 300")
    pg = Postgres() if args.db == "postgresql" else None
    url = pg.database() if pg else None
    pg_cpu: Callable[[], float] = (lambda: sum(_tree_cpu(p) for p in pg.pids)) if pg else (lambda: 0.0)
    escrow = build(Path(tempfile.mkdtemp(prefix="consilience-profile-")) / "data", database_url=url,
                   integrate=False, release_pass=False,
                   quotas=Quotas(bytes_per_account=2**40, entries_per_account=10**6))
    app = escrow.client.app
    app.state.integrator.start()  # the lifespan's integrator: every answer waits for its receipt
    try:
        reporters = [escrow.reporter() for _ in range(args.reporters)]

        def items(count: int) -> list[tuple[bytes, str]]:
            return [(json.dumps(escrow.submission()).encode(), b64u_encode(reporters[i % len(reporters)].token))
                    for i in range(count)]

        asyncio.run(submit_all(app, items(100), args.concurrency))  # warm: compiled statements, pools, plans
        rounds = []
        for number in range(args.rounds):
            batch = items(args.n)
            COUNTS.clear()
            _COUNTING[0] = args.statements and number == args.rounds - 1
            db0, cpu0, wall0 = pg_cpu(), time.process_time(), time.perf_counter()
            asyncio.run(submit_all(app, batch, args.concurrency))
            cpu, wall, db = time.process_time() - cpu0, time.perf_counter() - wall0, pg_cpu() - db0
            _COUNTING[0] = False
            rounds.append((cpu / args.n, db / args.n))
            print(f"round {number + 1}: escrow CPU {cpu / args.n * 1e3:.2f} ms per entry"
                  + (f", PostgreSQL {db / args.n * 1e3:.2f} ms" if pg else "")
                  + f"; {args.n / wall:.0f} entries/s", flush=True)
        median = sorted(rounds)[len(rounds) // 2]
        print(f"median: escrow CPU {median[0] * 1e3:.2f} ms per entry"
              + (f", PostgreSQL {sorted(r[1] for r in rounds)[len(rounds) // 2] * 1e3:.2f} ms" if pg else ""))
        if args.statements:
            asked = sum(v for k, v in COUNTS.items() if not k.startswith("<"))
            print(f"per entry: {asked / args.n:.2f} statements")
            for name, count in COUNTS.most_common():
                print(f"  {count / args.n:6.3f}  {name}")
    finally:
        app.state.integrator.stop()
        app.state.escrow.db.dispose()
        escrow.db.dispose()
        if pg:
            pg.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
