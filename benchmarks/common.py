"""Shared helpers for the benchmarks: timing, percentiles, markdown, the machine.

Nothing here is imported by the package or the test suite's unit tests; the
benchmarks are run by hand (``python benchmarks/run.py``) and their results
are written to docs/benchmarks.md.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    """Progress goes to stderr so stdout stays free for results."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- timing ---------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """Cost of one call of a CPU-bound function, from repeated timed runs."""

    seconds_per_op: float  # the best run's time per call (other load only ever adds time)
    median_seconds_per_op: float
    ops: int  # calls made in the timed runs together

    @property
    def per_second(self) -> float:
        return 1.0 / self.seconds_per_op

    def to_json(self) -> dict[str, float]:
        return {**asdict(self), "per_second": self.per_second}


def measure(fn: Callable[[], object], *, seconds: float = 1.0, runs: int = 5, max_ops: int = 1_000_000) -> Rate:
    """Call ``fn`` in ``runs`` timed runs of n calls each, n chosen so all runs take about ``seconds``.

    Reports the best run's per-call time, as ``timeit`` advises: on a shared
    machine interference only ever adds time, so the minimum is the most
    repeatable estimate of the code's own cost (the median is kept too). The
    first calibration call also serves as a warm-up.
    """
    start = time.perf_counter()
    fn()
    first = max(time.perf_counter() - start, 1e-7)
    n = max(1, min(max_ops // runs, int(seconds / runs / first)))
    # Recalibrate once on a short run: the first call includes cold-cache costs.
    start = time.perf_counter()
    for _ in range(min(n, 10)):
        fn()
    per = max((time.perf_counter() - start) / min(n, 10), 1e-7)
    n = max(1, min(max_ops // runs, int(seconds / runs / per)))
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n)
    return Rate(min(samples), statistics.median(samples), n * runs)


def percentile(samples: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sample."""
    data = sorted(samples)
    if not data:
        raise ValueError("no samples")
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def latency_summary(samples: Sequence[float], elapsed: float | None = None) -> dict[str, float]:
    """p50/p95/p99/mean/max in seconds, the count, and throughput if the wall time is given."""
    out = {"count": len(samples)}
    if samples:
        out.update(p50=percentile(samples, 50), p95=percentile(samples, 95), p99=percentile(samples, 99),
                   mean=statistics.fmean(samples), max=max(samples))
    if elapsed is not None:
        out.update(seconds=elapsed, per_second=len(samples) / elapsed if elapsed > 0 else 0.0)
    return out


# -- formatting -------------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    """A duration with a unit a reader can compare at a glance."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_rate(per_second: float) -> str:
    if per_second >= 100:
        return f"{per_second:,.0f}/s"
    return f"{per_second:.1f}/s"


def fmt_ratio(value: float) -> str:
    return f"{value:.1f}×" if value < 100 else f"{value:,.0f}×"


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub markdown table; ``align`` is one letter per column (l or r), default l then r."""
    align = align or "l" + "r" * (len(headers) - 1)
    marks = [":---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() >= self.end

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())


# -- the machine ------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _libsodium_version() -> str:
    import ctypes

    import pysodium

    fn = pysodium.sodium.sodium_version_string
    fn.restype = ctypes.c_char_p
    return fn().decode()


def _cpuinfo() -> dict[str, Any]:
    info: dict[str, Any] = {"model": platform.processor() or platform.machine(), "hypervisor": False}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    models, physical = [], set()
    for block in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if "model name" in fields:
            models.append(fields["model name"])
        if "physical id" in fields and "core id" in fields:
            physical.add((fields["physical id"], fields["core id"]))
        if "hypervisor" in fields.get("flags", "").split():
            info["hypervisor"] = True
        if "cpu MHz" in fields:
            info["mhz"] = fields["cpu MHz"]
    if models:
        info["model"] = models[0]
    info["logical_cpus"] = os.cpu_count()
    info["physical_cores"] = len(physical) or None
    return info


def _mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{line.split('=', 1)[1].strip(chr(34))}, kernel {platform.release()}"
    except OSError:
        pass
    return platform.platform()


def filesystem_of(path: Path) -> str:
    """Type and device of the mount holding ``path`` (fsync cost depends on it)."""
    try:
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    resolved = str(Path(path).resolve())
    best = ("", "unknown", "?")
    for device, mountpoint, fstype, *_ in mounts:
        if (resolved == mountpoint or resolved.startswith(mountpoint.rstrip("/") + "/")) and \
                len(mountpoint) > len(best[0]):
            best = (mountpoint, fstype, device)
    return f"{best[1]} on {best[2]} (mounted at {best[0]})"


def _git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"{rev}{' + uncommitted changes' if dirty else ''}" if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def load_average() -> str:
    """The machine's load average: on a shared machine, how much else was running."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"
    except OSError:
        return "unknown"


def machine_info(data_dir: Path | None = None) -> dict[str, Any]:
    from cryptography.hazmat.backends.openssl.backend import backend

    cpu = _cpuinfo()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu["model"] + (" (virtual machine)" if cpu.get("hypervisor") else ""),
        "cores": f"{cpu.get('logical_cpus')} logical"
                 + (f", {cpu['physical_cores']} physical" if cpu.get("physical_cores") else ""),
        "ram": _mem_total(),
        "os": _os_name(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libsodium": _libsodium_version(),
        "pysodium": _version("pysodium"),
        "cryptography": f"{_version('cryptography')} ({backend.openssl_version_text()})",
        "web stack": f"uvicorn {_version('uvicorn')}, FastAPI {_version('fastapi')}, "
                     f"httpx {_version('httpx')}",
        "database": f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {_version('sqlalchemy')}",
        "data directory filesystem": filesystem_of(data_dir) if data_dir else "unknown",
        "load average at the start (1, 5, 15 min)": load_average(),
        "consilience revision": _git_revision(),
    }


# -- running one benchmark file on its own -----------------------------------------------


def run_alone(doc: str | None, run: Callable[[bool], dict[str, Any]], render: Callable[[dict[str, Any]], str]) -> int:
    """``python benchmarks/bench_X.py [--quick] [--json]``: markdown (or the raw results) on stdout."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help="tiny counts (checks the code, not the speed)")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    args = parser.parse_args()
    results = run(args.quick)
    print(json.dumps(results, indent=2, default=str) if args.json else render(results))
    return 0


# -- a protocol v2 deployment on loopback ------------------------------------------------------

#: Argon2id for throwaway admin, counselor and SDK wallet files (the demo's cheap parameters).
CHEAP_KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}


def unlimited_keyserver_limits() -> Any:
    """Key-server budgets high enough never to bind (the limiter still runs on every request)."""
    from consilience.services.keyserver.limits import LimitSettings
    from consilience.services.limits import Rate

    big = Rate(1e9, 1e6)
    return LimitSettings(evaluations_per_account=big, evaluations_per_address=big, evaluations_total=big)


@dataclass
class V2Deployment:
    """A whole v2 deployment as processes on loopback (``local/loopback.py``), started and keyed.

    ``keygen_seconds``: from the last service answering /healthz until the administrator's
    ``publish_keys`` returned and every key server said it holds the published keys, i.e. the
    key servers' DKG over the escrow server's board plus the polling of the operator tools.
    ``startup_seconds``: from the first process start to the same moment.
    """

    loop: Any  # local.loopback.LoopbackDeployment
    startup_seconds: float
    keygen_seconds: float
    counselor: Any = None  # clients.counselor.CounselorKeys

    @property
    def root(self) -> Path:
        return self.loop.root

    @property
    def server(self) -> str:
        return self.loop.url

    @property
    def escrow(self) -> Any:
        return self.loop.escrow

    @property
    def services(self) -> list[Any]:
        return self.loop.services

    @property
    def keyservers(self) -> list[Any]:
        return self.loop.keyservers

    def deployment(self) -> Any:
        from consilience.operator.deployment import load_deployment

        return load_deployment(self.root)

    def admin_private(self) -> bytes:
        from consilience.operator.deployment import unseal_admin_key

        return unseal_admin_key(self.root, ADMIN_SECRET)

    def stop(self) -> None:
        self.loop.stop()


ADMIN_SECRET = "bench admin passphrase"


def start_v2_deployment(work: Path, *, quorum: int = 2, max_quorum: int = 10, key_servers: int = 3,
                        threshold: int = 2, counselor: bool = True, unlimited: bool = True,
                        escrow_env: dict[str, str] | None = None) -> V2Deployment:
    """``admin init`` + every service as a process + the key servers' DKG + publish-keys (+ one counselor)."""
    from consilience.local import launcher, loopback

    root = work / "deployment"
    loop = loopback.create(root, ADMIN_SECRET, quorum=quorum, max_quorum=max_quorum, key_servers=key_servers,
                           threshold=threshold, kdf_params=CHEAP_KDF)
    if unlimited:
        limits = unlimited_keyserver_limits()
        loop.keyservers = [launcher.keyserver_service(root, i + 1, int(s.url.rsplit(":", 1)[1]), rate_limits=limits,
                                                      keygen=launcher.local_keygen())
                           for i, s in enumerate(loop.keyservers)]
    marks: list[float] = []
    t0 = time.perf_counter()
    # The environment reaches every process; only the escrow server reads CONSILIENCE_RELEASE_INTERVAL.
    loop.start(on_started=lambda _s: marks.append(time.perf_counter()), env=escrow_env)
    t1 = time.perf_counter()
    d = V2Deployment(loop, t1 - t0, t1 - marks[-1])
    try:
        if counselor:
            d.counselor = loop.add_counselor("Bench Counselor", work / "counselor.key", "bench counselor passphrase")
    except BaseException:
        d.stop()
        raise
    log(f"v2 deployment in {root}: {key_servers} key servers (t = {threshold}), quorum {quorum}..{max_quorum}, "
        f"key generation {d.keygen_seconds:.1f} s after the services were up")
    return d
