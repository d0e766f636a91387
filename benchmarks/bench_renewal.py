"""Refresh and resharing of the key servers' secrets: how long they take for 3 and 7 key servers.

    python benchmarks/bench_renewal.py [--quick]

Two measurements for each size (n, t) in (3, 2) and (7, 4):

* in process: the computation of every round of every key server (deals, checks, complaints,
  answers, finalize, confirmations; no waiting), for the generation they renew, a refresh, and a
  resharing to the same n with t + 1. The floor beside it is the generation's own time.
* over real processes on loopback (``local.loopback`` at the local pace, 1 s rounds): from
  ``admin refresh-keys`` (and from ``admin key-servers --threshold t+1``) to the result published
  and held by every key server, so it includes the rounds' waiting, the board's relay and the key
  servers' five-second look at the deployment document.

The quorum range is the default one (levels 2 to 10: 54 coefficients and the VOPRF key).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fmt_time, log, md_table, run_alone  # noqa: E402
from consilience.crypto import hpke, signing  # noqa: E402
from consilience.protocol import dkg  # noqa: E402

SIZES = ((3, 2), (7, 4))
LOW, HIGH = 2, 10
PASS = "bench admin"
KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}


@dataclass
class Server:
    identity: bytes
    hpke: bytes

    @property
    def participant_keys(self) -> tuple[bytes, bytes]:
        return signing.public_key(self.identity), hpke.public_key_bytes(self.hpke)


def _participants(servers: list[Server]) -> tuple[dkg.Participant, ...]:
    return tuple(dkg.Participant(i, *s.participant_keys) for i, s in enumerate(servers, start=1))


def _previous(params: dkg.Parameters, results: dict[int, dkg.KeyServerResult]) -> dkg.Previous:
    """The published result of a run, as the next renewal's parameters carry it."""
    first = next(iter(results.values()))
    qual = first.qualification
    return dkg.Previous(
        threshold=params.threshold, holders=params.participants,
        levels=tuple(tuple(c.to_bytes() for c in qual.master[q]) for q in params.levels),
        oprf_public_key=qual.oprf_public_key,
        servers=tuple((i, tuple(tuple(c.to_bytes() for c in qual.server_commitments(i)[q]) for q in params.levels),
                       qual.oprf_public_share(i)) for i in qual.holders),
        abscissa_check=first.abscissa_check)


def _rounds(params: dkg.Parameters, dealers: dict[int, Server], recipients: dict[int, Server],
            held: dict[int, dkg.HeldShares]) -> dict[int, dkg.KeyServerResult]:
    """Every round of every key server, honest, in process."""
    board: list[bytes] = []
    seeds = {i: dkg.DealerSeed.fresh() for i in dealers}
    board += [dkg.deal(params, i, s.identity, seeds[i], held.get(i)) for i, s in dealers.items()]
    board += [c for j, s in recipients.items() for c in dkg.complaints_for(params, j, s.identity, s.hpke, board)]
    board += [a for i, s in dealers.items() for a in dkg.answer(params, i, s.identity, seeds[i], board, held.get(i))]
    refresh = params.kind == dkg.REFRESH
    results = {j: dkg.finalize(params, j, s.hpke, board, held[j] if refresh else None) for j, s in recipients.items()}
    board += [dkg.confirm(params, recipients[j].identity, r) for j, r in results.items()]
    for r in results.values():
        dkg.confirmed(params, r, board)
    return results


def in_process(n: int, t: int) -> dict[str, Any]:
    servers = [Server(signing.generate(), hpke.generate_private_key()) for _ in range(n)]
    by_index = dict(enumerate(servers, start=1))
    out: dict[str, Any] = {"n": n, "t": t}
    gen = dkg.Parameters(b"bench-renewal-id", 1, t, LOW, HIGH, _participants(servers))
    dkg.clear_caches()
    start = time.perf_counter()
    results = _rounds(gen, by_index, by_index, {})
    out["generate"] = time.perf_counter() - start
    out["coefficients"] = gen.coefficients
    previous = _previous(gen, results)
    held = {i: r.held() for i, r in results.items()}
    refresh = dkg.Parameters(b"bench-renewal-id", 2, t, LOW, HIGH, gen.participants, kind=dkg.REFRESH,
                             previous_digest=previous.digest(LOW), previous=previous)
    dkg.clear_caches()
    start = time.perf_counter()
    _rounds(refresh, by_index, by_index, held)
    out["refresh"] = time.perf_counter() - start
    reshare = dkg.Parameters(b"bench-renewal-id", 3, t + 1, LOW, HIGH, gen.participants, kind=dkg.RESHARE,
                             previous_digest=previous.digest(LOW), previous=previous)
    dkg.clear_caches()
    start = time.perf_counter()
    _rounds(reshare, by_index, by_index, held)
    out["reshare"] = time.perf_counter() - start
    dkg.clear_caches()
    return out


def over_processes(work: Path, n: int, t: int) -> dict[str, Any]:
    from consilience.local import launcher, loopback
    from consilience.operator.key_changes import change_key_servers, refresh_keys
    from consilience.operator.quorum_keys import publish_keys

    folder = work / f"renewal-{n}"
    deployment = loopback.create(folder, PASS, quorum=LOW, max_quorum=HIGH, key_servers=n, threshold=t,
                                 kdf_params=KDF)
    out: dict[str, Any] = {"n": n, "t": t, "round_seconds": launcher.local_keygen().round_seconds}
    with deployment.start():
        for kind in ("refresh", "reshare"):
            log(f"{kind} over processes: {n} key servers")
            start = time.perf_counter()
            asked = refresh_keys(folder, PASS) if kind == "refresh" else change_key_servers(folder, PASS,
                                                                                            threshold=t + 1)
            assert asked.key_change is not None
            published = publish_keys(folder, PASS, timeout=600, poll=0.2)
            launcher.wait_for_quorum_keys(deployment.keyservers, asked.key_change.epoch, timeout=120)
            out[kind] = time.perf_counter() - start
            assert published.quorum_keys is not None and published.quorum_keys.kind == kind
    shutil.rmtree(folder, ignore_errors=True)
    return out


def run(quick: bool, work: Path | None = None) -> dict[str, Any]:
    sizes = SIZES[:1] if quick else SIZES
    results: dict[str, Any] = {"levels": [LOW, HIGH], "in_process": {}, "processes": {}}
    for n, t in sizes:
        log(f"renewal in process: {n} key servers, t = {t}")
        results["in_process"][str(n)] = in_process(n, t)
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="consilience-bench-renewal-")) if work is None else work
    try:
        for n, t in sizes:
            results["processes"][str(n)] = over_processes(work, n, t)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return results


def headline(r: dict[str, Any] | None) -> list[list[str]]:
    """The headline rows: each size's refresh and resharing over processes."""
    if not r:
        return []
    rows = []
    for key in sorted(r["processes"], key=int):
        g = r["processes"][key]
        rows += [[f"refresh, {g['n']} key-server processes, asked → published and held", fmt_time(g["refresh"]),
                  f"{g['round_seconds']:g} s rounds"],
                 [f"resharing, {g['n']} key-server processes (t {g['t']} → {g['t'] + 1}), asked → published and held",
                  fmt_time(g["reshare"]), f"{g['round_seconds']:g} s rounds"]]
    return rows


def render(r: dict[str, Any]) -> str:
    rows = []
    for key in sorted(r["in_process"], key=int):
        g = r["in_process"][key]
        for kind, what in (("refresh", f"refresh, {g['n']} key servers (t = {g['t']})"),
                           ("reshare", f"resharing, {g['n']} key servers (t = {g['t']} → {g['t'] + 1})")):
            rows.append([f"{what}, all rounds, all servers, in process", fmt_time(g[kind]),
                         f"{g[kind] / g['generate']:.2f}× the generation's {fmt_time(g['generate'])} "
                         f"({g['coefficients']} coefficients + the VOPRF key)"])
    for key in sorted(r["processes"], key=int):
        g = r["processes"][key]
        for kind, what in (("refresh", "admin refresh-keys"),
                           ("reshare", f"admin key-servers --threshold {g['t'] + 1}")):
            rows.append([f"{what} over processes, {g['n']} key servers: asked → published and held by every one",
                         fmt_time(g[kind]), f"local pace: {g['round_seconds']:g} s rounds"])
    return md_table(["step", "time", "against its floor"], rows)


if __name__ == "__main__":
    raise SystemExit(run_alone(__doc__, run, render))
