"""Run the benchmarks and write docs/benchmarks.md.

    python benchmarks/run.py            # full run, about nine minutes (501 s in the recorded run) and a few GB
                                        # of temporary disk
    python benchmarks/run.py --quick    # tiny counts: checks the code, the numbers mean nothing

Every service is started as a real process on loopback in a temporary
folder that is removed afterwards. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_keyserver  # noqa: E402
import bench_load  # noqa: E402
import bench_log  # noqa: E402
import bench_submission  # noqa: E402
import bench_web  # noqa: E402
from common import REPO, fmt_rate, fmt_ratio, fmt_time, log, machine_info, md_table  # noqa: E402


def interpretation(ks: dict[str, Any], sub: dict[str, Any], lg: dict[str, Any]) -> list[str]:
    """A short reading of the numbers, computed from them so that it stays true on re-runs."""
    prim, ip, http = ks["primitives"], ks["in_process"], ks["http"]
    mult = prim["scalar_mult"]["seconds_per_op"]
    ev1 = ip["server_evaluate_1"]["seconds_per_op"]
    ev8 = ip["server_evaluate_8"]["seconds_per_op"] / 8
    tok = prim["token_verify"]["seconds_per_op"]
    seq1, seq8, hz = http["evaluate_1"], http["evaluate_8"], http["healthz"]
    conc = [v for k, v in http.items() if k.startswith("evaluate_1_c")]
    best_conc = max(conc, key=lambda v: v["per_second"]) if conc else seq1
    client = ip["client_threshold_1"]
    client_total = sum(v["seconds_per_op"] for k, v in client.items() if k != "check_public_shares")

    s, c = sub["sequential"], sub["concurrent"]
    hd = sub["handler"]
    names = {"normalise": "normalise", "token": "key-server token", "oprf": "OPRF round", "seal": "sealing",
             "post": "POST + commit", "receipt": "receipt check"}
    stages = ", ".join(f"{names[k]} {fmt_time(s[k]['p50'])}"
                       for k in sorted(names, key=lambda k: -s[k]["p50"]) if k in s)
    sq = sub["sqlite_floor"]["p50"]
    post = s["post"]["p50"]
    server_work = hd["authenticate"]["p50"] + hd["validate"]["p50"] + hd["submit"]["p50"]
    ssl_fresh = sub["httpx_client"]["fresh"]["seconds_per_op"]
    ssl_shared = sub["httpx_client"]["shared"]["seconds_per_op"]
    w, cli, argon = sub["wallet"], sub["cli"], sub["argon2"]
    machine_cores = os.cpu_count()
    cpu_escrow = c["cpu"].get("escrow server", float("nan")) / max(c["total"]["count"], 1)

    return [
        f"- **Key server, compute.** One evaluation with its proof costs {fmt_time(ev1)} in process, "
        f"{fmt_ratio(ev1 / mult)} a scalar multiplication: the evaluation itself is 1, the batched DLEQ proof "
        f"adds 4 more (the composite M, k·M, r·G, r·M), and the check that the share matches its public key "
        f"(one fixed-base multiplication per request) and the hashing make up the rest. In a batch of 8 the "
        f"proof is shared, and each element costs {fmt_time(ev8)} ({fmt_ratio(ev8 / mult)}), i.e. about two "
        f"multiplications (its own evaluation and its term of M). Checking the access token (Ed25519) adds "
        f"{fmt_time(tok)} ({fmt_ratio(tok / mult)}) per request.",
        f"- **Key server, over HTTP.** One client, one element per request: {fmt_rate(seq1['per_second'])} "
        f"(p50 {fmt_time(seq1['p50'])}), against {fmt_rate(hz['per_second'])} for a bare `GET /healthz`: "
        f"uvicorn + FastAPI cost about as much as the cryptography, so each evaluation takes "
        f"{fmt_ratio(1 / seq1['per_second'] / mult)} a scalar multiplication of wall time. Batching 8 elements "
        f"per request gives {fmt_rate(seq8['per_second'] * 8)} evaluations "
        f"({fmt_ratio(1 / (seq8['per_second'] * 8) / mult)} per evaluation). With "
        f"{best_conc['clients']} concurrent clients the server reached {fmt_rate(best_conc['per_second'])}; "
        f"the server is one process whose Python code holds the GIL outside the libsodium calls, and on this "
        f"machine the load generator shares its {machine_cores} cores. The default limits (120 evaluations per "
        f"account per hour, 2000 per client address) are {best_conc['per_second'] / (120 / 3600):,.0f} and "
        f"{best_conc['per_second'] / (2000 / 3600):,.0f} times below this capacity: the rate limit, not the "
        f"CPU, is what bounds an enumeration attempt through one account or address.",
        f"- **Client side of the OPRF.** Blinding, verifying each of the two servers' answers once as it "
        f"arrives, combining and finalising one identifier costs {fmt_time(client_total)} "
        f"({fmt_ratio(client_total / mult)}); the two proof verifications are "
        f"{fmt_time(client['verify_x2']['seconds_per_op'])} of it.",
        f"- **Submission latency.** One submission at a time takes p50 {fmt_time(s['total']['p50'])}, "
        f"p95 {fmt_time(s['total']['p95'])}, p99 {fmt_time(s['total']['p99'])} "
        f"({fmt_rate(s['total']['per_second'])} from one client). By stage (p50): {stages}. The OPRF round "
        f"is the client's {fmt_time(client_total)} of group operations plus two key-server requests one "
        f"after the other, each on a new connection. With {c['clients']} reporters at once the deployment "
        f"sustains {fmt_rate(c['total']['per_second'])} (p50 {fmt_time(c['total']['p50'])}); on this "
        f"{machine_cores}-core machine the load generator, the four services and their Python interpreters "
        f"all share the CPU, so latency under load is mostly queueing. Every SDK HTTP client shares one SSL "
        f"context per process (`clients/http.py`): an `httpx.Client` with its own context costs "
        f"{fmt_time(ssl_fresh)} here (it loads the CA bundle even for `http://` URLs) against "
        f"{fmt_time(ssl_shared)} shared, which would otherwise be the largest cost of the OPRF round.",
        f"- **Database.** The POST including the durable commit takes p50 {fmt_time(post)}, "
        f"{fmt_ratio(post / sq)} the bare SQLite floor ({fmt_time(sq)} for one insert+commit of a row of the "
        f"same size, WAL, `synchronous=FULL`). The server's own work for it, measured in process, is "
        f"{fmt_time(server_work)} (token lookup, validation, `entries.submit` with its ORM statements, "
        f"counting and the commit); the rest is HTTP and the framework. Of `entries.submit`'s "
        f"{fmt_time(hd['submit']['p50'])}, {fmt_time(hd['log']['p50'])} is the transparency log (append the "
        f"leaf, sign a checkpoint, build the inclusion proof for the receipt), all inside the write "
        f"transaction; the client's check of that receipt costs {fmt_time(s['receipt']['p50'])}. The disk "
        f"is not the bottleneck on this machine (4 KiB write+fsync: {fmt_time(sub['fsync_floor']['p50'])}); "
        f"Python is: under concurrent load the escrow process spent {fmt_time(cpu_escrow)} of CPU per "
        f"submission. "
        f"SQLite serialises writers (`BEGIN IMMEDIATE` for the whole of `entries.submit`), so however many "
        f"cores serve requests, one database admits at most about "
        f"{1 / hd['submit']['p50']:,.0f} submissions/s at the measured {fmt_time(hd['submit']['p50'])} per "
        f"write transaction.",
        f"- **What a person waits for.** Through the SDK with the wallet, `reporter.escrow` takes p50 "
        f"{fmt_time(w['escrow']['p50'])} with the demo's cheap Argon2id; besides the bare path it fetches "
        f"and checks the signed deployment document (twice), opens its own `EscrowClient`, "
        f"stores the receipt file and saves the sealed wallet twice. "
        f"With the default Argon2id (64 MiB, 3 passes) one wallet seal costs "
        f"{fmt_time(argon['default']['seconds_per_op'])}, "
        f"and a real `consilience reporter escrow` process — interpreter start and imports "
        f"({fmt_time(cli['startup']['p50'])}), one wallet open and two saves, the network steps above — "
        f"takes p50 {fmt_time(cli['escrow']['p50'])}. The largest single part of that is the passphrase KDF "
        f"(three Argon2id runs, about {fmt_time(3 * argon['default']['seconds_per_op'])}), deliberately; "
        f"then the interpreter start.",
        bench_log.interpretation(lg),
    ]


def _bytes(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def log_headlines(lg: dict[str, Any]) -> list[list[str]]:
    sizes = {int(k): v for k, v in lg["sizes"].items()}
    n = max(sizes)
    top, fl = sizes[n], lg["floors"]
    label = bench_log._size_label(n)
    commit, ed = fl["sqlite_commit"]["p50"], fl["ed25519_sign"]["seconds_per_op"]
    ev, pr = top["appends"]["event"], top["proofs"]
    batches = top["appends"]["batches"]
    big = batches[max(batches, key=int)]
    return [
        [f"log at {label} leaves: one event per transaction (append + sign + receipt + commit, p50)",
         f"{fmt_time(ev['total']['p50'])} ({fmt_rate(ev['total']['per_second'])})",
         f"{fmt_ratio(ev['total']['p50'] / commit)} SQLite commit"],
        [f"log at {label} leaves: appends in batches of {big['appends']} per transaction",
         f"{fmt_time(big['per_append'])} per append ({fmt_rate(big['appends_per_second'])})",
         f"{fmt_ratio(big['per_append'] / fl['sha256_node']['seconds_per_op'])} SHA-256"],
        [f"log at {label} leaves: inclusion proof / receipt (p50)",
         f"{fmt_time(pr['inclusion']['p50'])} / {fmt_time(pr['issue_receipt']['p50'])}",
         f"{pr['statements']['inclusion']:.0f} SQL reads"],
        [f"log at {label} leaves: checkpoint signing, `storage.log.sign` (p50)", fmt_time(pr["sign"]["p50"]),
         f"{fmt_ratio(pr['sign']['p50'] / ed)} Ed25519 sign"],
        [f"receipt verification at {label} leaves (p50)", fmt_time(pr["verify_receipt"]["p50"]),
         f"{fmt_ratio(pr['verify_receipt']['p50'] / fl['ed25519_verify']['seconds_per_op'])} Ed25519 verify"],
        [f"log database on disk at {label} leaves", f"{_bytes(top['database_bytes'])}, "
         f"{top['bytes_per_leaf']:.0f} B per leaf", ""],
    ]


def render(machine: dict[str, Any], ks: dict[str, Any], sub: dict[str, Any], lg: dict[str, Any],
           load: dict[str, Any], web: dict[str, Any], *, quick: bool, took: float) -> str:
    prim = ks["primitives"]
    mult = prim["scalar_mult"]["seconds_per_op"]
    ip, http = ks["in_process"], ks["http"]
    s, c = sub["sequential"], sub["concurrent"]
    conc = [v for k, v in http.items() if k.startswith("evaluate_1_c")]
    best_conc = max(conc, key=lambda v: v["per_second"]) if conc else http["evaluate_1"]
    lines = ["# Benchmarks", ""]
    if quick:
        lines += ["> **Quick run** (`--quick`): tiny counts that only check the benchmark code runs. "
                  "These numbers are not measurements.", ""]
    lines += [
        "Measured with `python benchmarks/run.py` (" + ("--quick, " if quick else "")
        + f"{took:.0f} s in all). The code is in [`benchmarks/`](../benchmarks); every service runs as a "
          "real process on loopback, started by `local/launcher.py`, in a temporary folder. Benchmarks "
          "are not part of the test suite (a smoke test only checks that they run).",
        "",
        "## Machine",
        "",
        md_table(["", ""], [[k, v] for k, v in machine.items()], align="ll"),
        "",
        "## Headlines",
        "",
        md_table(["what", "result", "× floor"], [
            ["ristretto255 scalar multiplication (the floor)", f"{fmt_time(mult)} ({fmt_rate(1 / mult)})", "1×"],
            ["key server: evaluate + prove 1 element, in process",
             fmt_time(ip["server_evaluate_1"]["seconds_per_op"]),
             fmt_ratio(ip["server_evaluate_1"]["seconds_per_op"] / mult)],
            ["key server over HTTP, 1 client, 1 element/request", f"{fmt_rate(http['evaluate_1']['per_second'])}",
             fmt_ratio(1 / http["evaluate_1"]["per_second"] / mult)],
            ["key server over HTTP, 1 client, 8 elements/request",
             f"{fmt_rate(http['evaluate_8']['per_second'] * 8)} evaluations",
             fmt_ratio(1 / (http["evaluate_8"]["per_second"] * 8) / mult)],
            [f"key server over HTTP, {best_conc['clients']} clients", f"{fmt_rate(best_conc['per_second'])}",
             fmt_ratio(1 / best_conc["per_second"] / mult)],
            ["entry submission, one at a time (p50 / p95 / p99)",
             f"{fmt_time(s['total']['p50'])} / {fmt_time(s['total']['p95'])} / {fmt_time(s['total']['p99'])}",
             f"{fmt_ratio(s['total']['p50'] / sub['sqlite_floor']['p50'])} SQLite commit"],
            [f"entry submission, {c['clients']} reporters at once",
             f"{fmt_rate(c['total']['per_second'])}, p50 {fmt_time(c['total']['p50'])}", ""],
            ["`POST /v1/entries` incl. durable commit (p50)", fmt_time(s["post"]["p50"]),
             f"{fmt_ratio(s['post']['p50'] / sub['sqlite_floor']['p50'])} SQLite commit"],
            ["CLI `consilience reporter escrow`, default Argon2id (p50)", fmt_time(sub["cli"]["escrow"]["p50"]), ""],
            *bench_load.headline(load),
            *bench_web.headline(web),
            *log_headlines(lg),
        ], align="lrr"),
        "",
        "## Reading the numbers",
        "",
        *interpretation(ks, sub, lg),
        "",
        "## Key server (`benchmarks/bench_keyserver.py`)",
        "",
        bench_keyserver.render(ks),
        "## Entry submission (`benchmarks/bench_submission.py`)",
        "",
        bench_submission.render(sub),
        "## Load test (`benchmarks/bench_load.py`)",
        "",
        bench_load.render(load),
        "",
        "## Web app in the browser (`benchmarks/bench_web.py`)",
        "",
        bench_web.render(web),
        "## Transparency log (`benchmarks/bench_log.py`)",
        "",
        bench_log.render(lg),
        "## Method",
        "",
        "- In-process timings call the function in a loop and report the best of several timed runs "
        "(`common.measure`, the `timeit` convention: other load only adds time). HTTP and submission "
        "latencies are per request or submission, wall clock, with linear-interpolated percentiles, and "
        "include whatever else the machine was doing.",
        "- This is a 2-vCPU virtual machine: absolute times moved by up to about 15 % between otherwise "
        "identical runs while this report was prepared; the ratios to the floors moved much less. Compare "
        "numbers within one report, not across machines.",
        "- Rate limits on the key servers are raised with the `consilience keyserver` options "
        "`--rate-per-hour`, `--burst`, `--address-rate-per-hour` and `--address-burst`, so the benchmark "
        "measures the work and not the limiter; the limiter still runs on every request.",
        "- Wallets and the admin key use cheap Argon2id (8 MiB, 1 pass) so that setup is fast, except "
        "the CLI rows, which use the default parameters as a person's wallet would.",
        "- In the submission benchmark each entry names a new identifier, so no entry is released; the "
        "load test mixes in entries naming the same few people, so matches are counted and released "
        "under load there.",
        "- Every phase is bounded by a count and a time limit (the whole submission benchmark stops "
        "starting new phases after 120 s).",
        "- The web-app benchmark runs in Debian's headless Chromium (Playwright for Python): the "
        "browser SDK's cryptography timed in the page with `performance.now()` (best and median of "
        "several runs, like `common.measure`) beside the Python SDK's on the same machine, and the real "
        "app served by a loopback deployment, timed from a form's submit event to the result shown.",
        "- The transparency-log benchmark builds its large logs by bulk insert (described in its section) "
        "in the temporary folder, checks free disk space before each size and deletes the database at the "
        "end; it is SQLite only.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the Consilience benchmarks and write the report.")
    parser.add_argument("--quick", action="store_true", help="tiny counts: check the code, not the speed")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md",
                        help="markdown report to write (default docs/benchmarks.md)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results to this JSON file")
    args = parser.parse_args()

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="consilience-bench-"))
    try:
        machine = machine_info(work)
        ks = bench_keyserver.run(args.quick, work / "keyserver")
        sub = bench_submission.run(args.quick, work / "submission")
        load = bench_load.run(args.quick, work / "load")
        web = bench_web.run(args.quick, work / "web")
        lg = bench_log.run(args.quick, work / "log")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    took = time.monotonic() - started
    report = render(machine, ks, sub, lg, load, web, quick=args.quick, took=took)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "keyserver": ks, "submission": sub, "load": load,
                                          "web": web, "log": lg}, indent=2))
    log(f"wrote {args.output} in {took:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
