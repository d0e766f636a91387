"""Key-server speed, protocol v2: the group-operation floors, one evaluation in process, and over HTTP.

A v2 evaluation of m identifiers (``services/keyserver/evaluate.py``) checks the
account's signed request (the administrator's certificate and the request
signature: two Ed25519 verifications), refuses a replay, decodes every
ristretto255 element and every G1 point with its subgroup check, runs the
RFC 9497 VOPRF with its batched DLEQ proof, derives the account's abscissa x and
answers ``quorum.answer``: one constant-time G1 multiplication per quorum level
per identifier. Three layers, each beside the floors measured in the same run:

(a) the floors: ristretto255 scalar multiplication (libsodium), BLS12-381 G1
    constant-time multiplication (blst), the checked G1 decoding, a pairing,
    Ed25519 verification, and the other primitives an evaluation uses;
(b) the key server's work in process, step by step, for 1 identifier and a
    batch of 8 (``evaluation.verify_request``, ``ReplayGuard``, decoding,
    ``oprf.voprf_blind_evaluate``, ``accounts.abscissa``, ``quorum.answer``), against
    its group operations (target: ≤ 2× them when batched), and the reporter's
    side of one identifier (``oprf_client.evaluate`` without the HTTP: blind,
    verify t proofs, combine, finalise, ``quorum.combine`` with its pairing check);
(c) a real ``consilience keyserver`` process of a keyed v2 deployment on
    loopback, driven over HTTP with ``POST /v2/evaluate`` requests signed by
    ``evaluation.make_request`` for 64 certified accounts, sequentially and by
    N concurrent clients, bounded in count and time.

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
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

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
    start_v2_deployment,
)
from consilience.clients import oprf_client  # noqa: E402
from consilience.crypto import h2c, oprf, ristretto, signing, threshold_oprf  # noqa: E402
from consilience.crypto.bls12381 import G1Point, G2Point, Scalar, pairing  # noqa: E402
from consilience.protocol import accounts, evaluation, quorum  # noqa: E402
from consilience.protocol.encoding import b64u_encode  # noqa: E402

H2G_DST = b"HashToGroup-" + oprf.context_string(oprf.MODE_VOPRF)
H2S_DST = b"HashToScalar-" + oprf.context_string(oprf.MODE_VOPRF)
#: The deployment's quorum range in every benchmark (the submission benchmark's too): 9 levels.
QUORUM_LOW, QUORUM_HIGH = 2, 10
ACCOUNTS = 64


@dataclass(frozen=True)
class Profile:
    seconds: float  # per in-process measurement
    runs: int
    http_requests: int  # cap per sequential HTTP configuration
    http_seconds: float  # time cap per HTTP configuration
    concurrency: tuple[int, ...]
    concurrent_requests: int


FULL = Profile(seconds=1.0, runs=5, http_requests=1500, http_seconds=8.0, concurrency=(4, 16),
               concurrent_requests=2500)
QUICK = Profile(seconds=0.05, runs=2, http_requests=10, http_seconds=2.0, concurrency=(4,),
                concurrent_requests=16)


# -- (a) the floors ---------------------------------------------------------------------


def primitives(p: Profile) -> dict[str, Any]:
    scalar, point = ristretto.scalar_random(), ristretto.scalar_mult_base(ristretto.scalar_random())
    other = ristretto.scalar_mult_base(ristretto.scalar_random())
    msg = b"email:dana.smith@example.com"
    key = signing.generate()
    pk, sig = signing.public_key(key), signing.sign(key, msg)
    g1 = G1Point.generator().mul_public(Scalar(987654321))
    g1_bytes = g1.to_bytes()
    k = Scalar(int.from_bytes(os.urandom(32), "big") % (2**254) + 1)
    g2 = G2Point.generator()
    cases = {
        "scalar_mult": (lambda: ristretto.scalar_mult(scalar, point),
                        "ristretto.scalar_mult: k·P, variable base (libsodium)"),
        "scalar_mult_base": (lambda: ristretto.scalar_mult_base(scalar),
                             "ristretto.scalar_mult_base: k·G, fixed base"),
        "element_add": (lambda: ristretto.element_add(point, other), "ristretto.element_add: P + Q"),
        "check_element": (lambda: oprf.check_element(point), "ristretto255 point validation (canonical, not identity)"),
        "hash_to_group": (lambda: h2c.hash_to_ristretto255(msg, H2G_DST),
                          "ristretto255 hash-to-group (expand_message_xmd SHA-512 + one-way map)"),
        "hash_to_scalar": (lambda: h2c.hash_to_scalar(msg, H2S_DST), "hash-to-scalar (RFC 9497 HashToScalar)"),
        "g1_mul_secret": (lambda: g1.mul_secret(k), "BLS12-381 G1 constant-time multiplication (blst `mul_secret`)"),
        "g1_decode": (lambda: G1Point.from_bytes(g1_bytes),
                      "BLS12-381 G1 checked decoding (`G1Point.from_bytes`: subgroup, canonical, not identity)"),
        "hash_to_g1": (lambda: quorum.identifier_point(msg), "BLS12-381 hash to G1 (`quorum.identifier_point`)"),
        "pairing": (lambda: pairing(g1, g2), "BLS12-381 pairing (canonical GT)"),
        "ed25519_verify": (lambda: signing.verify(pk, msg, sig), "Ed25519 verification"),
    }
    out = {}
    for name, (fn, label) in cases.items():
        rate = measure(fn, seconds=p.seconds, runs=p.runs)
        out[name] = {"label": label, **rate.to_json()}
        log(f"  {name}: {fmt_time(rate.seconds_per_op)}")
    return out


# -- (b) in process ---------------------------------------------------------------------


def _world() -> Any:
    from v2_world import make_v2_world

    return make_v2_world(n=3, t=2, quorum_low=QUORUM_LOW, quorum_high=QUORUM_HIGH, counselors=1, label="bench-ks")


def _names(m: int) -> list[bytes]:
    return [f"email:person{i}-{os.urandom(4).hex()}@example.com".encode() for i in range(m)]


def in_process(p: Profile) -> dict[str, Any]:
    world = _world()
    d = world.deployment
    server = world.servers[1]
    held = server.result.shares
    admin_public = signing.public_key(world.admin_private)
    audience = d.key_server(1).identity_key
    public_share = d.key_server(1).public_share
    account = world.account("bench")
    out: dict[str, Any] = {"levels": len(d.quorum_range), "threshold": d.threshold}

    for m in (1, 8):
        names = _names(m)
        blinded = [oprf.blind(x, oprf.MODE_VOPRF)[1] for x in names]
        points = [quorum.blind(x).blinded for x in names]
        guard = evaluation.ReplayGuard()

        def request(b: list[bytes] = blinded, pts: list[bytes] = points) -> evaluation.EvaluationRequest:
            return evaluation.make_request(account.seed, account.certificate, d.deployment_id, audience, b, pts)

        req = request()
        cert = evaluation.verify_request(req, admin_public=admin_public, deployment_id=d.deployment_id,
                                         audience=audience)
        x = accounts.abscissa(server.result.abscissa_key, d.deployment_id, cert.account_key)

        def whole(guard: evaluation.ReplayGuard = guard, req_fn: Any = request, b: list[bytes] = blinded) -> object:
            """What the handler does after the body is parsed, in its order."""
            r = req_fn()
            c = evaluation.verify_request(r, admin_public=admin_public, deployment_id=d.deployment_id,
                                          audience=audience)
            guard.check(c.account_key, r.nonce, r.issued_at)
            checked = [ristretto.check_element(e) for e in r.blinded]
            decoded = [G1Point.from_bytes(pt) for pt in r.points]
            oprf.voprf_blind_evaluate(server.oprf_share, public_share, checked)
            xx = accounts.abscissa(server.result.abscissa_key, d.deployment_id, c.account_key)
            return [quorum.answer(held, xx, pt) for pt in decoded]

        steps = {
            "sign_request": lambda req_fn=request: req_fn(),  # the client's cost, subtracted from "whole" below
            "verify_request": lambda r=req: evaluation.verify_request(
                r, admin_public=admin_public, deployment_id=d.deployment_id, audience=audience),
            "replay": lambda: evaluation.ReplayGuard().check(os.urandom(32), os.urandom(16), int(time.time())),
            "decode": lambda r=req: ([ristretto.check_element(e) for e in r.blinded],
                                     [G1Point.from_bytes(pt) for pt in r.points]),
            "voprf": lambda b=blinded: oprf.voprf_blind_evaluate(server.oprf_share, public_share, b),
            "abscissa": lambda c=cert: accounts.abscissa(server.result.abscissa_key, d.deployment_id, c.account_key),
            "answer": lambda pts=[G1Point.from_bytes(p) for p in points], xx=x: [  # noqa: B008 - decoded once
                quorum.answer(held, xx, pt) for pt in pts],
            "whole": whole,
        }
        rows = {}
        for name, fn in steps.items():
            rows[name] = measure(fn, seconds=p.seconds, runs=p.runs).to_json()
        rows["server"] = {"seconds_per_op": rows["whole"]["seconds_per_op"] - rows["sign_request"]["seconds_per_op"]}
        out[f"server_{m}"] = rows
        log(f"  key server, {m} identifier(s): {fmt_time(rows['server']['seconds_per_op'])} "
            f"({fmt_time(rows['answer']['seconds_per_op'])} of it quorum.answer)")

    # The reporter's side of one identifier: what oprf_client.evaluate computes besides the HTTP calls.
    params = d.quorum_parameters()
    publics = d.public_shares()
    name = _names(1)[0]
    r, b = oprf.blind(name, oprf.MODE_VOPRF)
    point = quorum.blind(name)
    answers, partials = {}, []
    for i in (1, 2):
        s = world.servers[i]
        z, pr = oprf.voprf_blind_evaluate(s.oprf_share, d.key_server(i).public_share, [b])
        partials.append(threshold_oprf.PartialEvaluation(i, z, pr))
        answers[i] = quorum.answer(s.result.shares, x, point.blinded)
    verified = [threshold_oprf.verify_partial([b], q, publics) for q in partials]
    assert all(v is not None for v in verified)
    combined = threshold_oprf.combine_verified(verified, 2)  # type: ignore[arg-type]
    y = oprf.finalize(name, r, combined[0])
    quorum.combine(params, point, y, x, answers)  # the shares check, or it raises
    client_steps = {
        "blind": lambda: (oprf.blind(name, oprf.MODE_VOPRF), quorum.blind(name)),
        "sign_x2": lambda: [evaluation.make_request(account.seed, account.certificate, d.deployment_id,
                                                    d.key_server(i).identity_key, [b], [point.blinded])
                            for i in (1, 2)],
        "verify_x2": lambda: [threshold_oprf.verify_partial([b], q, publics) for q in partials],
        "combine": lambda: threshold_oprf.combine_verified(verified, 2),  # type: ignore[arg-type]
        "finalize": lambda: oprf.finalize(name, r, combined[0]),
        "quorum_combine": lambda: quorum.combine(params, point, y, x, answers),
    }
    # The same with the per-abscissa cache of E_q(x) emptied first: a fresh process's first submission.
    cold = measure(lambda: (params._evaluations.clear(), quorum.combine(params, point, y, x, answers)),
                   seconds=p.seconds, runs=p.runs).to_json()
    out["client_1"] = {k: measure(fn, seconds=p.seconds, runs=p.runs).to_json() for k, fn in client_steps.items()}
    out["quorum_combine_cold"] = cold
    log(f"  reporter, 1 identifier: {fmt_time(sum(v['seconds_per_op'] for v in out['client_1'].values()))}")
    out["replay_guard"] = replay_guard(p)
    return out


def replay_guard(p: Profile) -> dict[str, Any]:
    """``ReplayGuard.check`` with n requests of the freshness window remembered (a busy key server)."""
    out = {}
    now = int(time.time())
    for n in (10_000, 100_000):
        guard = _filled_guard(n)
        # each call adds one entry, a small fraction of n over the calls made
        out[str(n)] = measure(lambda g=guard: g.check(os.urandom(32), os.urandom(16), now), seconds=p.seconds,
                              runs=p.runs, max_ops=2000).to_json()
        log(f"  ReplayGuard.check with {n:,} remembered: {fmt_time(out[str(n)]['seconds_per_op'])}")
    return out


def _filled_guard(n: int) -> evaluation.ReplayGuard:
    guard = evaluation.ReplayGuard()
    now = int(time.time())
    for _ in range(min(n, 1000)):
        guard.check(os.urandom(32), os.urandom(16), now)
    if n > 1000:  # past the pruning threshold every check rebuilds the map; fill it directly
        guard._seen.update({(os.urandom(32), os.urandom(16)): now for _ in range(n - 1000)})
    return guard


# -- (c) over HTTP ----------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _drive(method: str, url: str, bodies: list[bytes], *, clients: int, seconds: float,
           server_pid: int | None) -> dict[str, Any]:
    """``clients`` threads, each with its own keep-alive connection, share the prepared ``bodies`` (one each)."""
    counter = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = Deadline(seconds)
    start_gate = threading.Barrier(clients + 1)

    def worker() -> None:
        mine: list[float] = []
        with httpx.Client(timeout=30.0) as http:
            http.get(url.rsplit("/v2/", 1)[0] + "/healthz")  # open the connection before the clock starts
            start_gate.wait()
            while not deadline.passed():
                i = next(counter)
                if i >= len(bodies):
                    break
                t0 = time.perf_counter()
                response = http.request(method, url, content=bodies[i] or None,
                                        headers={"content-type": "application/json"} if bodies[i] else None)
                mine.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    with lock:
                        errors.append(f"{response.status_code} {response.text[:160]}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
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


def _body(request: evaluation.EvaluationRequest) -> bytes:
    return json.dumps({"certificate": b64u_encode(request.certificate), "audience": b64u_encode(request.audience),
                       "issued_at": request.issued_at, "nonce": b64u_encode(request.nonce),
                       "blinded": [b64u_encode(b) for b in request.blinded],
                       "points": [b64u_encode(pt) for pt in request.points],
                       "signature": b64u_encode(request.signature)}).encode()


def http(p: Profile, work: Path) -> dict[str, Any]:
    dep = start_v2_deployment(work, quorum=QUORUM_LOW, max_quorum=QUORUM_HIGH, counselor=False)
    out: dict[str, Any] = {"keygen_seconds": dep.keygen_seconds}
    try:
        d = dep.deployment()
        admin = dep.admin_private()
        seeds = [os.urandom(32) for _ in range(ACCOUNTS)]
        creds = [oprf_client.Credentials(s, accounts.issue_certificate(admin, d.deployment_id,
                                                                       accounts.account_key(s)))
                 for s in seeds]
        service = dep.keyservers[0]
        assert service.process is not None
        pid = service.process.pid
        audience = d.key_server(1).identity_key
        url = f"{service.url}/v2/evaluate"

        # Correctness first: the real client against the real processes, every answer checked.
        with httpx.Client(timeout=10.0) as session:
            result = oprf_client.evaluate(d, _names(2), creds[0], http=session)
        if result.skipped or len(result.shares) != 2:
            raise RuntimeError(f"the key servers' answers did not check: {result.skipped}")

        pools = {m: [(lambda names: ([oprf.blind(x, oprf.MODE_VOPRF)[1] for x in names],
                                     [quorum.blind(x).blinded for x in names]))(_names(m)) for _ in range(16)]
                 for m in (1, 8)}

        def bodies(m: int, count: int) -> list[bytes]:
            """Fresh signed requests (each answered once), made just before the run (freshness window)."""
            out_: list[bytes] = []
            for i in range(count):
                blinded, points = pools[m][i % len(pools[m])]
                c = creds[i % len(creds)]
                out_.append(_body(evaluation.make_request(c.seed, c.certificate, d.deployment_id, audience,
                                                          blinded, points)))
            return out_

        configs: list[tuple[str, str, str, int, int, int]] = [
            ("healthz", "GET", f"{service.url}/healthz", 0, 1, p.http_requests),
            ("evaluate_1", "POST", url, 1, 1, p.http_requests),
            ("evaluate_8", "POST", url, 8, 1, max(1, p.http_requests // 2)),
        ]
        for c in p.concurrency:
            configs.append((f"evaluate_1_c{c}", "POST", url, 1, c, p.concurrent_requests))
        for name, method, target, m, clients, count in configs:
            prepared = [b""] * count if m == 0 else bodies(m, count)
            result_ = _drive(method, target, prepared, clients=clients, seconds=p.http_seconds, server_pid=pid)
            result_["elements_per_request"] = m
            out[name] = result_
            log(f"  {name}: {fmt_rate(result_['per_second'])} requests, p50 {fmt_time(result_['p50'])}, "
                f"errors {result_['errors']}")
            if result_["errors"]:
                raise RuntimeError(f"{name}: {result_['errors']} failed requests, first: {result_['first_error']}")
    finally:
        dep.stop()
    return out


def run(quick: bool = False, work: Path | None = None) -> dict[str, Any]:
    p = QUICK if quick else FULL
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="consilience-bench-ks-")) if work is None else work
    work.mkdir(parents=True, exist_ok=True)
    try:
        log("key server: primitives (the floors)")
        prim = primitives(p)
        log("key server: v2 evaluation in process")
        inproc = in_process(p)
        log("key server: HTTP against a real key-server process of a keyed v2 deployment")
        over_http = http(p, work)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return {"profile": "quick" if quick else "full", "primitives": prim, "in_process": inproc, "http": over_http,
            "limits": {"http_requests": p.http_requests, "http_seconds": p.http_seconds,
                       "concurrent_requests": p.concurrent_requests}}


# -- the model: an evaluation's group operations ------------------------------------------


def group_floor(results: dict[str, Any], m: int) -> dict[str, float]:
    """Seconds of group operations in an evaluation of m identifiers, priced with this run's floors.

    ``quorum.answer``: one G1 constant-time multiplication per level per identifier. The VOPRF with
    its batched proof: m evaluations, the composite M (m multiplications), k·M, r·G, r·M — 2m + 3
    variable-base ristretto255 multiplications (r·G counted as one). Decoding: one ristretto255
    validation and one checked G1 decoding per identifier. Signatures: two Ed25519 verifications.
    """
    prim, levels = results["primitives"], results["in_process"]["levels"]

    def t(k: str) -> float:
        return float(prim[k]["seconds_per_op"])

    g1 = m * levels * t("g1_mul_secret")
    voprf = (2 * m + 3) * t("scalar_mult")
    decode = m * (t("check_element") + t("g1_decode"))
    sig = 2 * t("ed25519_verify")
    return {"g1": g1, "voprf": voprf, "decode": decode, "signatures": sig, "group": g1 + voprf + decode,
            "all": g1 + voprf + decode + sig}


def server_ratio(results: dict[str, Any], m: int) -> float:
    """The key server's in-process time for m identifiers over its group operations (the target's ratio)."""
    return float(results["in_process"][f"server_{m}"]["server"]["seconds_per_op"] / group_floor(results, m)["group"])


def client_total(results: dict[str, Any]) -> float:
    return float(sum(v["seconds_per_op"] for v in results["in_process"]["client_1"].values()))


# -- rendering ----------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    prim = results["primitives"]
    floor = prim["scalar_mult"]["seconds_per_op"]
    g1 = prim["g1_mul_secret"]["seconds_per_op"]
    ip = results["in_process"]
    levels = ip["levels"]

    out = ["### (a) The floors, in process", "",
           f"One ristretto255 variable-base scalar multiplication costs **{fmt_time(floor)}** and one BLS12-381 "
           f"G1 constant-time multiplication **{fmt_time(g1)}** ({fmt_ratio(g1 / floor)} the former); a key "
           f"server's v2 answer is mostly the latter, {levels} per identifier (quorum levels "
           f"{QUORUM_LOW}..{QUORUM_HIGH}).", ""]
    rows = [[v["label"], fmt_time(v["seconds_per_op"]), fmt_rate(v["per_second"]),
             fmt_ratio(v["seconds_per_op"] / floor), fmt_ratio(v["seconds_per_op"] / g1)] for v in prim.values()]
    out += [md_table(["operation", "time", "rate", "× ristretto mult", "× G1 mult"], rows), ""]

    labels = {"verify_request": "`evaluation.verify_request`: certificate + request signature (2 Ed25519)",
              "replay": "`ReplayGuard.check` (a few requests remembered)",
              "decode": "decode every element and point (ristretto255 check, G1 subgroup check)",
              "voprf": "`oprf.voprf_blind_evaluate` (evaluation + batched DLEQ proof)",
              "abscissa": "`accounts.abscissa` (HMAC + hash to scalar)",
              "answer": f"`quorum.answer` for every identifier ({levels} levels; decodes B again)",
              "server": "**the key server's work, in the handler's order** (measured whole)"}
    rows = []
    for key, label in labels.items():
        cells = [label]
        for m in (1, 8):
            v = ip[f"server_{m}"][key]["seconds_per_op"]
            cells += [fmt_time(v), fmt_time(v / m)]
        rows.append(cells)
    for m_label, key in (("group operations (G1 mults + VOPRF mults + decoding), priced with (a)", "group"),
                         ("… of which the G1 multiplications", "g1"),
                         ("… of which the VOPRF's ristretto255 multiplications", "voprf")):
        cells = [m_label]
        for m in (1, 8):
            v = group_floor(results, m)[key]
            cells += [fmt_time(v), fmt_time(v / m)]
        rows.append(cells)
    rows.append(["**key server ÷ its group operations**", "", f"**{server_ratio(results, 1):.2f}×**", "",
                 f"**{server_ratio(results, 8):.2f}×**"])
    out += ["### (b) One v2 evaluation in process", "",
            "The key server's steps (`services/keyserver/evaluate.py` without FastAPI) on keys from the real "
            "key generation (`tests/v2_world.py`, 3 key servers, t = 2). *Measured whole* runs them in order on a "
            "freshly signed request each time, minus the measured cost of signing it. The group operations are "
            f"{levels} G1 multiplications per identifier, the VOPRF's 2m + 3 ristretto255 multiplications and "
            "the decoding, priced with the floors above; the issue's target is ≤ 2× them when batched.", "",
            md_table(["step", "1 identifier", "per identifier", "8 identifiers", "per identifier"], rows), ""]

    rg = ip["replay_guard"]
    out += ["`ReplayGuard.check` remembers every request of the last two freshness windows (240 s); expired "
            "ones leave from the front of a queue, so a check should cost the same however many it remembers "
            "(the key server's recent request rate):", "",
            md_table(["requests remembered", "one check"],
                     [["a few", fmt_time(ip["server_1"]["replay"]["seconds_per_op"])]]
                     + [[f"{int(n):,}", fmt_time(v["seconds_per_op"])] for n, v in rg.items()]), ""]

    client = ip["client_1"]
    total = client_total(results)
    pair = prim["pairing"]["seconds_per_op"]
    clabels = {"blind": "blind: VOPRF blind + `quorum.blind` (hash to G1, 1 G1 mult)",
               "sign_x2": "sign one request for each of the 2 key servers (`evaluation.make_request`)",
               "verify_x2": "verify each of the 2 VOPRF proofs (`threshold_oprf.verify_partial`)",
               "combine": "combine the VOPRF answers (`threshold_oprf.combine_verified`)",
               "finalize": "finalise (invert + 1 mult + SHA-512)",
               "quorum_combine": f"`quorum.combine`: decode 2×{levels} shares, interpolate, unblind, one batched "
                                 "pairing check"}
    rows = [[clabels[k], fmt_time(v["seconds_per_op"]), fmt_ratio(v["seconds_per_op"] / pair)]
            for k, v in client.items()]
    rows.append(["**reporter total per identifier**", f"**{fmt_time(total)}**", f"**{fmt_ratio(total / pair)}**"])
    cold = ip["quorum_combine_cold"]["seconds_per_op"]
    rows.append(["(`quorum.combine` with its per-abscissa cache of the levels' E_q(x) empty, as in a fresh process)",
                 fmt_time(cold), fmt_ratio(cold / pair)])
    out += ["The reporter's side of one identifier with t = 2 key servers (what `oprf_client.evaluate` computes "
            "besides the HTTP calls), against one pairing:", "",
            md_table(["step", "time", "× pairing"], rows), ""]

    h = results["http"]
    lim = results["limits"]
    out += ["### (c) A real key-server process over HTTP (loopback)", "",
            "Key server 1 of a v2 deployment on loopback (3 key servers, t = 2, their key generation run over "
            f"the escrow server's board and published, {h['keygen_seconds']:.1f} s), started by "
            "`local/launcher.py` with its budgets raised so they never bind (the limiter still runs). Each "
            f"request is a fresh `POST /v2/evaluate` signed by `evaluation.make_request` for one of {ACCOUNTS} "
            "certified accounts (made before each row, within the freshness window, each answered once); each "
            "client thread keeps one connection open. Before the rows, the real client "
            "(`oprf_client.evaluate`) checked the answers of two key servers. Bounded at "
            f"{lim['http_requests']} requests (sequential) or {lim['concurrent_requests']} (concurrent) "
            f"and {lim['http_seconds']:.0f} s per row. *Server CPU* is the key-server process's own "
            "user+system time per request (from /proc), so it excludes the load generator.", ""]
    rows = []
    for name, v in h.items():
        if not isinstance(v, dict):
            continue
        m = v["elements_per_request"]
        what = ("`GET /healthz` (HTTP floor, no crypto)" if name == "healthz"
                else f"`POST /v2/evaluate`, {m} identifier{'s' if m > 1 else ''}, "
                     f"{v['clients']} client{'s' if v['clients'] > 1 else ''}")
        per_eval = 1 / (v["per_second"] * max(m, 1))
        rows.append([what, v["count"], fmt_rate(v["per_second"]),
                     fmt_rate(v["per_second"] * m) if m else "—",
                     fmt_time(v["p50"]), fmt_time(v["p95"]), fmt_time(v["p99"]),
                     fmt_time(v["server_cpu_per_request"]),
                     f"{per_eval / (group_floor(results, m)['group'] / m):.2f}×" if m else "—"])
    out += [md_table(["request", "n", "requests/s", "identifiers/s", "p50", "p95", "p99", "server CPU/request",
                      "wall per identifier ÷ its group operations"], rows), ""]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(run_alone(__doc__, run, render))
