"""What one PostgreSQL primary sustains of the escrow's write path, measured with pgbench.

A private cluster (fsync on, as production runs; the test suite's runs with fsync off) gets the
escrow's real schema (the Alembic migrations) and 10,000 reporter accounts; then pgbench runs
``pgbench/submission.sql`` (what one accepted submission does in the database: its budget's
transaction, its own, the receipt's reads) with 1, 2, 4 and 8 clients, synchronous_commit on and
off, while a second pgbench runs
``pgbench/integration.sql`` (the log integrator's batches) in a loop beside it. For each run: the
submissions per second, their mean latency, the leaves integrated per second, the WAL bytes and the
database's CPU time per submission (the cluster's processes' own CPU, from /proc). docs/scale.md
reads these numbers.

    .venv/bin/python benchmarks/bench_pg_primary.py [--seconds 6] [--clients 1,2,4,8] [--json]

Each run lasts --seconds (default 6: 8 runs, about 65 s with the set-up).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "pgbench"
ACCOUNTS = 10_000


def binary(name: str) -> str:
    """On PATH, or where Debian's postgresql package puts it."""
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                                                   reverse=True)), None)
    if found is None:
        sys.exit(f"{name} not found: install Debian's postgresql package")
    return str(found)


def as_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: then as nobody."""
    return argv if os.geteuid() != 0 else ["runuser", "-u", "nobody", "--", *argv]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """initdb, postgres with fsync on, and the cluster's processes' CPU time."""

    def __init__(self, root: Path) -> None:
        self.root, self.data, self.port = root, root / "data", free_port()
        if os.geteuid() == 0:
            shutil.chown(root, "nobody")
        subprocess.run(as_user([binary("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]),
                       check=True, capture_output=True)
        self.process = subprocess.Popen(
            as_user([binary("postgres"), "-D", str(self.data), "-k", str(root), "-p", str(self.port),
                     "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=40",
                     "-c", "shared_buffers=256MB", "-c", "max_wal_size=4GB"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/escrow"
        self._wait()

    def _wait(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.dsn.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
                    c.execute("CREATE DATABASE escrow")
                return
            except psycopg.OperationalError:
                time.sleep(0.2)
        raise SystemExit("postgres did not start")

    def cpu_seconds(self) -> float:
        """User + system CPU of every process of the cluster (the postmaster's children included)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        postmaster = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == postmaster:  # with its exited children's (backends end with their connection)
                total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
            elif ppid == postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        try:
            os.kill(int((self.data / "postmaster.pid").read_text().split("\n", 1)[0]), 2)
            self.process.wait(timeout=30)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.process.kill()


def prepare(cluster: Cluster) -> None:
    """The escrow's schema, as the migrations make it, and the accounts submissions come from."""
    import psycopg

    from consilience.storage.database import upgrade

    upgrade(cluster.dsn.replace("postgresql://", "postgresql+psycopg://"))
    with psycopg.connect(cluster.dsn, autocommit=True) as c:
        c.execute(f"""
            INSERT INTO accounts (account_id, role, token_hash, created_at)
            SELECT substring(sha256(convert_to('acct' || i, 'UTF8')) FROM 1 FOR 16), 'reporter',
                   sha256(convert_to('secret' || i, 'UTF8')), now() FROM generate_series(1, {ACCOUNTS}) i;
            INSERT INTO sessions (token_hash, account_id, created_at, expires_at)
            SELECT sha256(convert_to('token' || i, 'UTF8')), substring(sha256(convert_to('acct' || i, 'UTF8'))
                   FROM 1 FOR 16), now(), now() + interval '1 day' FROM generate_series(1, {ACCOUNTS}) i""")
        c.execute("VACUUM ANALYZE")


def scalar(cluster: Cluster, sql: str) -> Any:
    import psycopg

    with psycopg.connect(cluster.dsn, autocommit=True) as c:
        row = c.execute(sql).fetchone()
        assert row is not None
        return row[0]


def pgbench(cluster: Cluster, script: str, clients: int, seconds: float, options: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PGOPTIONS": f"{options} -c client_min_messages=warning"}
    # prepared statements, as psycopg uses once a statement has run 5 times on a connection
    argv = [binary("pgbench"), "-n", "-r", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 4)),
            "-T", str(int(seconds)), "-D", f"accounts={ACCOUNTS}", "-f", str(SCRIPTS / script), cluster.dsn]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def run(cluster: Cluster, clients: int, synchronous_commit: bool, seconds: float) -> dict[str, Any]:
    options = f"-c synchronous_commit={'on' if synchronous_commit else 'off'}"
    wal0 = scalar(cluster, "SELECT pg_current_wal_lsn()")
    entries0 = scalar(cluster, "SELECT count(*) FROM entries")
    leaves0 = scalar(cluster, "SELECT size FROM log_head")
    cpu0, t0 = cluster.cpu_seconds(), time.monotonic()
    submit = pgbench(cluster, "submission.sql", clients, seconds, options)
    integrate = pgbench(cluster, "integration.sql", 1, seconds, options)
    out, err = submit.communicate(timeout=seconds + 60)
    if os.environ.get("BENCH_SHOW_STATEMENTS"):
        print(out, file=sys.stderr)
    integrate.communicate(timeout=seconds + 60)
    elapsed, cpu = time.monotonic() - t0, cluster.cpu_seconds() - cpu0
    if submit.returncode != 0:
        raise SystemExit(f"pgbench failed: {err}")
    entries = scalar(cluster, "SELECT count(*) FROM entries") - entries0
    leaves = scalar(cluster, "SELECT size FROM log_head") - leaves0
    wal = scalar(cluster, f"SELECT pg_current_wal_lsn() - '{wal0}'::pg_lsn")
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    return {"clients": clients, "synchronous_commit": synchronous_commit, "seconds": round(elapsed, 1),
            "submissions": entries, "submissions_per_s": round(entries / elapsed, 1),
            "latency_ms": float(latency.group(1)) if latency else None,
            "failed": int(failed.group(1)) if failed else 0,
            "leaves_integrated_per_s": round(leaves / elapsed, 1),
            "wal_bytes_per_submission": round(int(wal) / entries) if entries else None,
            "db_cpu_ms_per_submission": round(1000 * cpu / entries, 3) if entries else None}


def machine() -> dict[str, Any]:
    def out(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return ""

    return {"nproc": os.cpu_count(), "cpu": platform.processor() or out("uname", "-m"),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "postgres": out(binary("postgres"), "--version"),
            "disk": out("df", "-hT", tempfile.gettempdir()).splitlines()[-1:],
            "block_devices": out("lsblk", "-d", "-o", "NAME,ROTA,SIZE,MODEL").splitlines()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--clients", default="1,2,4,8")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON document")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="consilience-pgbench-"))
    cluster = Cluster(root)
    try:
        prepare(cluster)
        # interleaved, so that the database's growth during the benchmark (and autovacuum catching up
        # with it) weighs on both settings alike; the table is printed grouped by setting
        runs = [run(cluster, c, sync, args.seconds)
                for c in (int(n) for n in args.clients.split(",")) for sync in (True, False)]
        results = sorted(runs, key=lambda r: (not r["synchronous_commit"], r["clients"]))
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    report = {"machine": machine(), "runs": results}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(json.dumps(report["machine"], indent=2))
    print("| synchronous_commit | clients | submissions/s | mean latency (ms) | failed | leaves integrated/s "
          "| WAL bytes/submission | DB CPU ms/submission |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {'on' if r['synchronous_commit'] else 'off'} | {r['clients']} | {r['submissions_per_s']} | "
              f"{r['latency_ms']} | {r['failed']} | {r['leaves_integrated_per_s']} | {r['wal_bytes_per_submission']} | "
              f"{r['db_cpu_ms_per_submission']} |")


if __name__ == "__main__":
    main()
