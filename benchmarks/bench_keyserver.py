"""Key-server speed: the group-operation floor, the VOPRF in process, and over HTTP.

Three layers, each reported as a multiple of the cheapest thing it is built
from, one ristretto255 variable-base scalar multiplication (libsodium):

(a) the floor: scalar multiplication, and the other primitives an evaluation
    uses (fixed-base multiplication, hash-to-group, hash-to-scalar, point
    validation, the Ed25519 check of the access token);
(b) ``oprf.voprf_blind_evaluate`` in process, for 1 element and a batch of 8,
    and the client's side of one 2-of-3 threshold evaluation;
(c) a real ``consilience keyserver`` process on loopback, driven over HTTP
    sequentially and by N concurrent clients, bounded in count and time.

Run alone: ``python benchmarks/bench_keyserver.py [--quick]`` prints markdown.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    Deadline,
    fmt_rate,
    fmt_ratio,
    fmt_time,
    latency_summary,
    log,
    md_table,
    measure,
    run_alone,
)
from consilience.crypto import h2c, oprf, ristretto, signing, threshold_oprf  # noqa: E402
from consilience.datadir import DataDir  # noqa: E402
from consilience.local import launcher  # noqa: E402
from consilience.operator.deployment import init_deployment, load_deployment  # noqa: E402
from consilience.protocol import tokens  # noqa: E402
from consilience.protocol.encoding import b64u_decode, b64u_encode  # noqa: E402
from consilience.services.keyserver.limits import LimitSettings  # noqa: E402

#: Argon2id parameters for the throwaway admin key (the demo's cheap ones).
CHEAP_KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}
#: Rate limits high enough never to bind during a benchmark (the defaults
#: are 120 evaluations per account per hour and 2000 per address).
UNLIMITED = LimitSettings(evaluations_per_account=(1e9, 1e6), evaluations_per_address=(1e9, 1e6))
H2G_DST = b"HashToGroup-" + oprf.context_string(oprf.MODE_VOPRF)
H2S_DST = b"HashToScalar-" + oprf.context_string(oprf.MODE_VOPRF)


@dataclass(frozen=True)
class Profile:
    seconds: float  # per in-process measurement
    runs: int
    http_requests: int  # cap per sequential HTTP configuration
    http_seconds: float  # time cap per HTTP configuration
    concurrency: tuple[int, ...]
    concurrent_requests: int


FULL = Profile(seconds=1.5, runs=7, http_requests=2000, http_seconds=10.0, concurrency=(4, 16),
               concurrent_requests=4000)
QUICK = Profile(seconds=0.05, runs=2, http_requests=10, http_seconds=2.0, concurrency=(4,),
                concurrent_requests=16)


# -- (a) and (b): in process ------------------------------------------------------


def _inputs(n: int) -> list[bytes]:
    return [f"email:person{i}-{os.urandom(4).hex()}@example.com".encode() for i in range(n)]


def primitives(p: Profile) -> dict[str, Any]:
    scalar, point = ristretto.scalar_random(), ristretto.scalar_mult_base(ristretto.scalar_random())
    other = ristretto.scalar_mult_base(ristretto.scalar_random())
    msg = b"email:dana.smith@example.com"
    wide = os.urandom(64)
    issuer = signing.generate()
    issuer_pk = signing.public_key(issuer)
    token = tokens.issue(issuer, os.urandom(16))
    cases = {
        "scalar_mult": (lambda: ristretto.scalar_mult(scalar, point),
                        "ristretto.scalar_mult: k·P, variable base (libsodium)"),
        "scalar_mult_base": (lambda: ristretto.scalar_mult_base(scalar),
                             "ristretto.scalar_mult_base: k·G, fixed base"),
        "element_add": (lambda: ristretto.element_add(point, other), "ristretto.element_add: P + Q"),
        "check_element": (lambda: oprf.check_element(point), "point validation (canonical, not identity)"),
        "hash_to_group": (lambda: h2c.hash_to_ristretto255(msg, H2G_DST),
                          "hash-to-group: expand_message_xmd(SHA-512) + one-way map"),
        "map_only": (lambda: ristretto.element_from_hash(wide), "the one-way map alone (libsodium from_hash)"),
        "hash_to_scalar": (lambda: h2c.hash_to_scalar(msg, H2S_DST), "hash-to-scalar (RFC 9497 HashToScalar)"),
        "scalar_invert": (lambda: ristretto.scalar_invert(scalar), "scalar inversion"),
        "token_verify": (lambda: tokens.verify(issuer_pk, token), "access-token check (Ed25519 verify)"),
    }
    out = {}
    for name, (fn, label) in cases.items():
        rate = measure(fn, seconds=p.seconds, runs=p.runs)
        out[name] = {"label": label, **rate.to_json()}
        log(f"  {name}: {fmt_time(rate.seconds_per_op)}")
    return out


def in_process(p: Profile) -> dict[str, Any]:
    group_key, shares = threshold_oprf.deal_key(2, 3)
    publics = {i: threshold_oprf.public_share(s) for i, s in shares.items()}
    k1, pk1 = shares[1], publics[1]
    out: dict[str, Any] = {}

    for m in (1, 8):
        inputs = _inputs(m)
        blinds_blinded = [oprf.blind(x, oprf.MODE_VOPRF) for x in inputs]
        blinded = [b for _, b in blinds_blinded]
        evaluated, proof = oprf.voprf_blind_evaluate(k1, pk1, blinded)
        rate = measure(lambda b=blinded: oprf.voprf_blind_evaluate(k1, pk1, b), seconds=p.seconds, runs=p.runs)
        out[f"server_evaluate_{m}"] = {"elements": m, **rate.to_json()}
        rate = measure(lambda b=blinded, e=evaluated, pr=proof: oprf.verify_proof(
            oprf.GENERATOR, pk1, b, e, pr, oprf.MODE_VOPRF), seconds=p.seconds, runs=p.runs)
        out[f"client_verify_{m}"] = {"elements": m, **rate.to_json()}
        log(f"  batch {m}: evaluate {fmt_time(out[f'server_evaluate_{m}']['seconds_per_op'])}, "
            f"verify {fmt_time(rate.seconds_per_op)}")

    # The client's side of one threshold evaluation of one identifier, as oprf_client.evaluate does it:
    # blind; verify each of the t=2 answers as it arrives; combine the verified ones; finalize.
    x = _inputs(1)[0]
    r, b = oprf.blind(x, oprf.MODE_VOPRF)
    partials = []
    for i in (1, 2):
        z, pr = oprf.voprf_blind_evaluate(shares[i], publics[i], [b])
        partials.append(threshold_oprf.PartialEvaluation(i, z, pr))
    verified = [threshold_oprf.verify_partial([b], q, publics) for q in partials]
    assert all(v is not None for v in verified)
    combined = threshold_oprf.combine_verified(verified, 2)  # type: ignore[arg-type]
    steps = {
        "blind": lambda: oprf.blind(x, oprf.MODE_VOPRF),
        "verify_x2": lambda: [threshold_oprf.verify_partial([b], q, publics) for q in partials],
        "combine": lambda: threshold_oprf.combine_verified(verified, 2),  # type: ignore[arg-type]
        "finalize": lambda: oprf.finalize(x, r, combined[0]),
        "check_public_shares": lambda: threshold_oprf.check_public_shares(group_key, publics, 2),
    }
    client = {}
    for name, fn in steps.items():
        client[name] = measure(fn, seconds=p.seconds, runs=p.runs).to_json()
    out["client_threshold_1"] = client
    log(f"  client side of one 2-of-3 evaluation: "
        f"{fmt_time(sum(v['seconds_per_op'] for k, v in client.items() if k != 'check_public_shares'))}")
    return out


# -- (c): over HTTP ----------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _drive(method: str, url: str, bodies: list[bytes], headers: list[dict[str, str]], *, clients: int,
           count: int, seconds: float, server_pid: int | None) -> dict[str, Any]:
    """``clients`` threads, each with its own keep-alive connection, share ``count`` requests."""
    counter = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = Deadline(seconds)
    start_gate = threading.Barrier(clients + 1)

    def worker(n: int) -> None:
        mine: list[float] = []
        with httpx.Client(timeout=30.0, headers=headers[n % len(headers)]) as http:
            http.request(method, url, content=bodies[0])  # open the connection before the clock starts
            start_gate.wait()
            while not deadline.passed():
                i = next(counter)
                if i >= count:
                    break
                t0 = time.perf_counter()
                response = http.request(method, url, content=bodies[i % len(bodies)],
                                        headers={"content-type": "application/json"})
                mine.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    with lock:
                        errors.append(f"{response.status_code} {response.text[:120]}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    start_gate.wait()
    cpu0 = _cpu_seconds(server_pid) if server_pid else float("nan")
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu = (_cpu_seconds(server_pid) - cpu0) if server_pid else float("nan")
    summary = latency_summary(latencies, elapsed)
    summary.update(clients=clients, errors=len(errors), first_error=errors[0] if errors else None,
                   server_cpu_seconds=cpu,
                   server_cpu_per_request=cpu / len(latencies) if latencies else float("nan"))
    return summary


def http(p: Profile, work: Path) -> dict[str, Any]:
    root = work / "keyserver-deployment"
    escrow_port, port, *other_ports = launcher.free_ports(4)
    init_deployment(root, "bench admin passphrase", key_servers=3, threshold=2, escrow_port=escrow_port,
                    keyserver_ports=[port, *other_ports], kdf_params=CHEAP_KDF)
    layout = DataDir(root)
    issuer = layout.escrow.token_issuer_key.read_bytes()
    deployment = load_deployment(root)
    pk1 = deployment.public_shares()[1]
    service = launcher.keyserver_service(root, 1, port, rate_limits=UNLIMITED)
    service.start()
    assert service.process is not None
    pid = service.process.pid
    out: dict[str, Any] = {}
    try:
        url = f"{service.url}/v1/evaluate"
        # Tokens for many distinct accounts, as many reporters would present (lifetime covers the run).
        token_headers = [{"Authorization": f"Bearer {b64u_encode(tokens.issue(issuer, os.urandom(16), lifetime=3600))}"}
                         for _ in range(64)]

        def requests_of(m: int, pool: int = 32) -> list[bytes]:
            bodies = []
            for _ in range(pool):
                blinded = [oprf.blind(x, oprf.MODE_VOPRF)[1] for x in _inputs(m)]
                bodies.append(json.dumps({"blinded": [b64u_encode(b) for b in blinded]}).encode())
            return bodies

        # Correctness first: one answer's proof must verify against the published share.
        body = requests_of(1, 1)[0]
        answer = httpx.post(url, content=body, headers={**token_headers[0], "content-type": "application/json"})
        answer.raise_for_status()
        doc = answer.json()
        oprf.verify_proof(oprf.GENERATOR, pk1, [b64u_decode(b) for b in json.loads(body)["blinded"]],
                          [b64u_decode(z) for z in doc["evaluated"]], b64u_decode(doc["proof"]), oprf.MODE_VOPRF)

        configs: list[tuple[str, str, str, list[bytes], int, int]] = [
            ("healthz", "GET", f"{service.url}/healthz", [b""], 1, p.http_requests),
            ("evaluate_1", "POST", url, requests_of(1), 1, p.http_requests),
            ("evaluate_8", "POST", url, requests_of(8), 1, p.http_requests),
        ]
        for c in p.concurrency:
            configs.append((f"evaluate_1_c{c}", "POST", url, requests_of(1), c, p.concurrent_requests))
        for name, method, target, bodies, clients, count in configs:
            result = _drive(method, target, bodies, token_headers, clients=clients, count=count,
                            seconds=p.http_seconds, server_pid=pid)
            result["elements_per_request"] = 8 if name == "evaluate_8" else (0 if name == "healthz" else 1)
            out[name] = result
            log(f"  {name}: {fmt_rate(result['per_second'])} requests, p50 {fmt_time(result['p50'])}, "
                f"errors {result['errors']}")
            if result["errors"]:
                raise RuntimeError(f"{name}: {result['errors']} failed requests, first: {result['first_error']}")
    finally:
        service.stop()
    return out


def run(quick: bool = False, work: Path | None = None) -> dict[str, Any]:
    p = QUICK if quick else FULL
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="consilience-bench-ks-")) if work is None else work
    work.mkdir(parents=True, exist_ok=True)
    try:
        log("key server: primitives (the floor)")
        prim = primitives(p)
        log("key server: VOPRF in process")
        inproc = in_process(p)
        log("key server: HTTP against a real key-server process")
        over_http = http(p, work)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return {"profile": "quick" if quick else "full", "primitives": prim, "in_process": inproc, "http": over_http,
            "limits": {"http_requests": p.http_requests, "http_seconds": p.http_seconds,
                       "concurrent_requests": p.concurrent_requests}}


# -- rendering ----------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    prim = results["primitives"]
    floor = prim["scalar_mult"]["seconds_per_op"]

    def ratio(seconds: float) -> str:
        return fmt_ratio(seconds / floor)

    out = ["### (a) The floor: ristretto255 and friends, in process", "",
           f"One variable-base scalar multiplication costs **{fmt_time(floor)}** "
           f"({fmt_rate(1 / floor)} on one core); every other number in this section is a multiple of it.", ""]
    rows = [[v["label"], fmt_time(v["seconds_per_op"]), fmt_rate(v["per_second"]), ratio(v["seconds_per_op"])]
            for v in prim.values()]
    out += [md_table(["operation", "time", "rate", "× scalar mult"], rows), ""]

    ip = results["in_process"]
    base = prim["scalar_mult_base"]["seconds_per_op"] / floor
    h2s = prim["hash_to_scalar"]["seconds_per_op"] / floor
    chk = prim["check_element"]["seconds_per_op"] / floor

    add = prim["element_add"]["seconds_per_op"] / floor

    def model(m: int, server: bool) -> tuple[str, float]:
        """Group operations in the code, priced with the rates above (validation included, SHA-512 not)."""
        if server:  # pk check (base mult); m evaluations; proof: M (m mults, m adds), k·M, r·G, r·M
            mults, bases, adds, hashes, checks = 2 * m + 3, 1, m, m + 1, 3 * m + 2
        else:  # M and Z (2m mults, 2m adds); s·A + c·B, s·M + c·Z (4 mults, 2 adds)
            mults, bases, adds, hashes, checks = 2 * m + 4, 0, 2 * m + 2, m + 1, 2 * m + 2
        text = f"{mults} mult + {f'{bases} base-mult + ' if bases else ''}{adds} add + {hashes} hash-to-scalar"
        return text, mults + bases * base + adds * add + hashes * h2s + checks * chk

    out += ["### (b) VOPRF in process (`crypto/oprf.py`)", "",
            "Server: `voprf_blind_evaluate` (evaluation plus batched DLEQ proof). Client: `verify_proof` "
            "of one server's answer. The model column counts the group operations in the code and "
            "prices them with the rates above.", ""]
    rows = []
    for who, key in (("server: evaluate + prove", "server_evaluate"), ("client: verify proof", "client_verify")):
        for m in (1, 8):
            v = ip[f"{key}_{m}"]
            text, predicted = model(m, key == "server_evaluate")
            rows.append([f"{who}, batch of {m}", fmt_time(v["seconds_per_op"]),
                         fmt_time(v["seconds_per_op"] / m), ratio(v["seconds_per_op"] / m),
                         f"{text} ≈ {predicted:.1f}× → {ratio(v['seconds_per_op'])} measured"])
    out += [md_table(["operation", "per call", "per element", "per element × mult", "model (whole call)"], rows), ""]

    client = ip["client_threshold_1"]
    total = sum(v["seconds_per_op"] for k, v in client.items() if k != "check_public_shares")
    labels = {"blind": "blind (hash-to-group + 1 mult)",
              "verify_x2": "verify each of the 2 answers as it arrives (`threshold_oprf.verify_partial`)",
              "combine": "combine the verified answers (`threshold_oprf.combine_verified`: 2 mults)",
              "finalize": "finalize (invert + 1 mult + SHA-512)",
              "check_public_shares": "(per deployment fetch) check public shares, n=3, t=2"}
    rows = [[labels[k], fmt_time(v["seconds_per_op"]), ratio(v["seconds_per_op"])] for k, v in client.items()]
    rows.append(["**client total per identifier** (without the deployment check)", f"**{fmt_time(total)}**",
                 f"**{ratio(total)}**"])
    out += ["Client side of one 2-of-3 threshold evaluation of one identifier (what `oprf_client.evaluate` "
            "computes besides the HTTP calls):", "",
            md_table(["step", "time", "× scalar mult"], rows), ""]

    h = results["http"]
    lim = results["limits"]
    out += ["### (c) A real key-server process over HTTP (loopback)", "",
            "`consilience keyserver --index 1` started by `local/launcher.py` with rate limits raised "
            "(`--rate-per-hour`, `--burst`, `--address-rate-per-hour`, `--address-burst`) so they never "
            "bind; each client thread keeps one connection open and presents tokens of 64 distinct "
            "accounts, minted with the deployment's token-issuer key. Bounded at "
            f"{lim['http_requests']} requests (sequential) or {lim['concurrent_requests']} (concurrent) "
            f"and {lim['http_seconds']:.0f} s per row. *Server CPU* is the key-server process's own "
            "user+system time per request (from /proc), so it excludes the load generator.", ""]
    rows = []
    for name, v in h.items():
        if not isinstance(v, dict):
            continue
        m = v["elements_per_request"]
        what = ("`GET /healthz` (HTTP floor, no crypto)" if name == "healthz"
                else f"`POST /v1/evaluate`, {m} element{'s' if m > 1 else ''}, "
                     f"{v['clients']} client{'s' if v['clients'] > 1 else ''}")
        per_eval = 1 / (v["per_second"] * max(m, 1))
        rows.append([what, v["count"], fmt_rate(v["per_second"]),
                     fmt_rate(v["per_second"] * m) if m else "—",
                     fmt_time(v["p50"]), fmt_time(v["p95"]), fmt_time(v["p99"]),
                     fmt_time(v["server_cpu_per_request"]),
                     ratio(per_eval) if m else ratio(1 / v["per_second"])])
    out += [md_table(["request", "n", "requests/s", "evaluations/s", "p50", "p95", "p99", "server CPU/request",
                      "wall per evaluation × mult"], rows), ""]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(run_alone(__doc__, run, render))
