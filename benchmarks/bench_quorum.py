"""Protocol v2's quorum layer in process: a key server's answer, the reporter's check, opening, key generation.

Everything runs the real code on a deployment whose quorum keys come from the
real key generation (tests/v2_world.py): no HTTP, so these are the costs of
the cryptography and its glue, each shown beside its floor measured in the
same run:

* a key server's evaluation of one identifier (request check, abscissa,
  VOPRF with its proof, ``quorum.answer`` for every level) and of 8 at once,
  against the floor of one constant-time G1 multiplication per level;
* the reporter's ``quorum.blind`` + ``quorum.combine`` of t answers for one
  identifier, against its floor of two pairings;
* a counselor opening a match of 3 entries, and of 100 entries with 10
  bogus shares among them (``release.open_match``; target ≤ 1 s at 100);
* the key generation among 3 key servers (t = 2) and 7 (t = 4), every round
  in process (each server's share of the work is this divided by n); and the
  same over real processes: a loopback deployment (``local/loopback.py``) of
  n key-server processes and the escrow server, timed from the processes
  being up until the administrator's ``publish_keys`` has published the
  quorum keys and every key server holds them (the key servers exchange
  their signed, encrypted messages over the escrow server's board at the
  local pace, ``KeygenSettings.local()``).

Run alone: ``python benchmarks/bench_quorum.py [--quick] [--json]`` prints markdown.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import fmt_time, log, md_table, measure, run_alone, start_v2_deployment  # noqa: E402
from consilience.crypto import hpke, oprf, signing  # noqa: E402
from consilience.crypto.bls12381 import G1Point, G2Point, Scalar, pairing  # noqa: E402
from consilience.protocol import accounts, dkg, evaluation, quorum  # noqa: E402
from consilience.protocol.entry import seal_entry  # noqa: E402
from consilience.protocol.release import MatchedEntry, open_match  # noqa: E402
from v2_world import V2World, ident, make_v2_world, run_dkg, seed_of  # noqa: E402

NAME = ident("email:someone@example.org")


def _server_answer(world: V2World, n_points: int) -> Any:
    d = world.deployment
    server = world.servers[1]
    account = world.account("bench")
    audience = d.key_server(1).identity_key
    points = [quorum.blind(f"name {i}".encode()).blinded for i in range(n_points)]
    blinded = [oprf.blind(f"name {i}".encode(), oprf.MODE_VOPRF)[1] for i in range(n_points)]
    admin_public = signing.public_key(world.admin_private)
    public_share = d.key_server(1).public_share

    def answer() -> object:
        request = evaluation.make_request(account.seed, account.certificate, d.deployment_id, audience, blinded,
                                          points, nonce=os.urandom(16))
        cert = evaluation.verify_request(request, admin_public=admin_public, deployment_id=d.deployment_id,
                                         audience=audience)
        x = accounts.abscissa(server.result.abscissa_key, d.deployment_id, cert.account_key)
        oprf.voprf_blind_evaluate(server.oprf_share, public_share, blinded)
        return [quorum.answer(server.result.shares, x, b) for b in request.points]

    return answer


def _sealed(world: V2World, count: int, q: int, bogus: int) -> list[MatchedEntry]:
    c = world.counselors[0]
    out: list[MatchedEntry] = []
    for k in range(count):
        ev = world.evaluate(world.account(f"open-{k}"), [NAME])
        s = seal_entry(deployment=world.deployment, identifiers=[NAME], oprf_outputs=ev.outputs,
                       quorum_shares=ev.shares, record=f"record {k}", contact="c", quorum=q)
        out.append(MatchedEntry(s.entry_id, s.quorum, True, s.envelopes[c.key_id], s.body))
    # bogus: one attacker account's well-formed entries with the right tag and its own abscissa, shares random
    # points of G1, oldest first (v1's blocking attack)
    attacker = world.evaluate(world.account("attacker"), [NAME])
    for _ in range(bogus):
        random_points = {q: G1Point.generator().mul_public(Scalar(int.from_bytes(os.urandom(31), "big") + 1))
                         for q in world.deployment.quorum_range}
        forged = [quorum.IdentifierShares(attacker.shares[0].x, attacker.shares[0].base, random_points, {})]
        s = seal_entry(deployment=world.deployment, identifiers=[NAME], oprf_outputs=[world.oprf_output(NAME)],
                       quorum_shares=forged, record="bogus", contact="x", quorum=q)
        out.insert(0, MatchedEntry(s.entry_id, s.quorum, True, s.envelopes[c.key_id], s.body))
    return out


def over_processes(work: Path, sizes: tuple[tuple[int, int], ...]) -> dict[str, Any]:
    """Key generation among real key-server processes over the escrow server's board, to published keys."""
    from consilience.services.keyserver.settings import KeygenSettings

    local = KeygenSettings.local()
    out: dict[str, Any] = {"round_seconds": local.round_seconds}
    for n, t in sizes:
        log(f"key generation over processes: {n} key servers, t = {t}")
        folder = work / f"dkg-{n}"
        folder.mkdir(parents=True, exist_ok=True)
        d = start_v2_deployment(folder, key_servers=n, threshold=t, counselor=False, unlimited=False)
        try:
            keys = d.deployment().quorum_keys
            assert keys is not None and len(keys.qualified) == n, keys
            out[str(n)] = {"n": n, "t": t, "keygen_seconds": d.keygen_seconds, "startup_seconds": d.startup_seconds,
                           "qualified": len(keys.qualified)}
        finally:
            d.stop()
            shutil.rmtree(folder, ignore_errors=True)
    return out


def run(quick: bool, work: Path | None = None) -> dict[str, Any]:
    seconds = 0.05 if quick else 1.0
    runs = 3 if quick else 5
    world = make_v2_world(n=3, t=2, quorum_low=2, quorum_high=10, counselors=1, label="bench-quorum")
    levels = len(world.deployment.quorum_range)
    results: dict[str, Any] = {"levels": levels, "threshold": world.deployment.threshold}

    p = G1Point.generator().mul_public(Scalar(987654321))
    k = Scalar(int.from_bytes(seed_of("k"), "big") % (2**252))
    log("floor: constant-time G1 multiplication, pairing")
    results["g1_mul_secret"] = measure(lambda: p.mul_secret(k), seconds=seconds, runs=runs).to_json()
    g2 = G2Point.generator()
    results["pairing"] = measure(lambda: pairing(p, g2), seconds=seconds, runs=runs).to_json()

    for n_points in (1, 8):
        log(f"key server: answer {n_points} identifier(s)")
        results[f"server_answer_{n_points}"] = measure(_server_answer(world, n_points), seconds=seconds,
                                                       runs=runs).to_json()

    log("reporter: blind + combine one identifier")
    account = world.account("bench-client")
    results["client_evaluate_1"] = measure(lambda: world.evaluate(account, [NAME]), seconds=seconds,
                                           runs=runs).to_json()
    d = world.deployment
    params = d.quorum_parameters()
    y = world.oprf_output(NAME)
    ev = world.evaluate(account, [NAME])
    request = quorum.blind(NAME.oprf_input)
    cert_key = account.key
    x = accounts.abscissa(world.servers[1].result.abscissa_key, d.deployment_id, cert_key)
    answers = {i: quorum.answer(world.servers[i].result.shares, x, request.blinded) for i in (1, 2)}
    results["client_combine_1"] = measure(lambda: quorum.combine(params, request, y, x, answers), seconds=seconds,
                                          runs=runs).to_json()
    assert ev.shares

    c = world.counselors[0]
    for count, bogus, q in ((3, 0, 3), (100, 10, 3)) if not quick else ((3, 0, 3), (12, 2, 3)):
        log(f"counselor: open a match of {count} entries ({bogus} bogus)")
        entries = _sealed(world, count, q, bogus)
        tag = ev.tags[0]
        start = time.perf_counter()
        result = open_match(tag, entries, c.seed, c.key_id, d)
        took = time.perf_counter() - start
        assert len(result.opened) == count and len(result.bogus) == bogus, (len(result.opened), result.bogus)
        results[f"open_{count}"] = {"seconds": took, "entries": count + bogus, "bogus": bogus,
                                    "checks": result.checks}

    for n, t in ((3, 2), (7, 4)):
        log(f"key generation: {n} key servers, t = {t}")
        identities = {i: seed_of(f"bench-dkg/{i}") for i in range(1, n + 1)}
        hpke_seeds = {i: hpke.generate_private_key() for i in range(1, n + 1)}
        base = world.deployment
        from consilience.protocol.deployment import KeyChange, KeyServer

        listed = tuple(KeyServer(i, f"http://127.0.0.1:{9000 + i}", b"", signing.public_key(identities[i]),
                                 hpke.public_key_bytes(hpke_seeds[i])) for i in range(1, n + 1))
        # the document before any result: it asks these key servers to generate the keys
        dd = replace(base, threshold=t, quorum_keys=None, oprf_public_key=b"", key_servers=listed,
                     key_change=KeyChange(1, "generate", t, listed))
        params_dkg = dd.dkg_parameters(1)
        dkg.clear_caches()
        start = time.perf_counter()
        run_dkg(dd, identities, hpke_seeds)
        results[f"dkg_{n}"] = {"seconds": time.perf_counter() - start, "n": n, "t": t,
                               "coefficients": params_dkg.coefficients}
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="consilience-bench-dkg-")) if work is None else work
    try:
        results["processes"] = over_processes(work, ((3, 2),) if quick else ((3, 2), (7, 4)))
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return results


def render(r: dict[str, Any]) -> str:
    levels = r["levels"]
    floor = r["g1_mul_secret"]["seconds_per_op"] * levels
    rows = [
        ["constant-time G1 multiplication (blst)", fmt_time(r["g1_mul_secret"]["seconds_per_op"]), ""],
        ["pairing", fmt_time(r["pairing"]["seconds_per_op"]), ""],
        [f"key server, 1 identifier ({levels} levels)", fmt_time(r["server_answer_1"]["seconds_per_op"]),
         f"{r['server_answer_1']['seconds_per_op'] / floor:.2f}× its {levels} G1 multiplications"],
        ["key server, 8 identifiers, per identifier", fmt_time(r["server_answer_8"]["seconds_per_op"] / 8),
         f"{r['server_answer_8']['seconds_per_op'] / 8 / floor:.2f}× its {levels} G1 multiplications"],
        ["reporter: combine + check one identifier (t answers)", fmt_time(r["client_combine_1"]["seconds_per_op"]),
         f"{r['client_combine_1']['seconds_per_op'] / r['pairing']['seconds_per_op']:.2f}× one pairing"],
        ["reporter: blind, t answers, combine (in process)", fmt_time(r["client_evaluate_1"]["seconds_per_op"]), ""],
    ]
    for key in sorted((k for k in r if k.startswith("open_")), key=lambda k: int(k.split("_")[1])):
        o = r[key]
        rows.append([f"counselor: open a match of {o['entries'] - o['bogus']} entries, {o['bogus']} bogus",
                     fmt_time(o["seconds"]), f"{o['checks']} batched pairing checks"])
    for key in sorted(k for k in r if k.startswith("dkg_")):
        g = r[key]
        rows.append([f"key generation, {g['n']} key servers (t = {g['t']}), all rounds, all servers",
                     fmt_time(g["seconds"]), f"{g['coefficients']} coefficients"])
    pr = r["processes"]
    for key in sorted((k for k in pr if k.isdigit()), key=int):
        g = pr[key]
        rows.append([f"key generation over processes, {g['n']} key servers (t = {g['t']}): processes up → quorum "
                     "keys published and held by every key server", fmt_time(g["keygen_seconds"]),
                     f"local pace: {pr['round_seconds']:g} s rounds"])
    return md_table(["step", "time", "against its floor"], rows)


if __name__ == "__main__":
    raise SystemExit(run_alone(__doc__, run, render))
