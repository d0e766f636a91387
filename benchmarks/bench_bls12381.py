"""BLS12-381 costs for protocol v2's quorum layer: scalar multiplication, pairings, hashing.

Measured through ``consilience.crypto.bls12381`` (what the protocol will call)
and, for scalar multiplication, also on the bare libraries, so the cost of the
module's glue shows:

* G1 scalar multiplication: arkworks (``mul_public``, variable time) against
  blst (``mul_secret``, constant time), each with sparse scalars (32 bits;
  2^254 + 1) and dense ones (a random one; r − 2); the blst rows should not
  depend on the scalar, the arkworks rows do. ``mul_secret`` converts a point
  to blst's form once and keeps it, so it is shown both for a point's first
  product and for a point already converted (a key server multiplying one
  blinded point by a share per level);
* G2 scalar multiplication, the same two kinds;
* one pairing (``pairing``, with the 3⁻¹ correction that makes GT canonical,
  and arkworks' bare pairing), the GT encoding;
* a 2-pairing product check (``pairings_equal``: e(a, b) == e(c, d));
* ``hash_to_g1`` and checked decoding of G1 and G2 points.

Not part of ``benchmarks/run.py``: the floors protocol v2 is priced against
(``mul_secret``, checked G1 decoding, hashing to G1, the pairing) are measured
again in every run by ``bench_keyserver.py``, beside the numbers they explain;
this file is the library-level detail behind them (arkworks against blst,
sparse against dense scalars), to run by hand when choosing or changing them.

Run alone: ``python benchmarks/bench_bls12381.py [--quick] [--json]`` prints markdown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import py_arkworks_bls12381 as ark
import pyblst

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fmt_time, log, md_table, measure, run_alone  # noqa: E402
from consilience.crypto import bls12381 as bls  # noqa: E402
from consilience.crypto.bls12381 import G1Point, G2Point, Scalar  # noqa: E402

SCALARS = {
    "32-bit": 0xFFFFFFFF,
    "sparse 255-bit (2^254 + 1)": (1 << 254) | 1,
    "random": int(bls.hash_to_scalar(b"bench", b"bench_bls12381")),
    "dense (r − 2)": bls.ORDER - 2,
}


def run(quick: bool) -> dict[str, Any]:
    seconds = 0.05 if quick else 1.0
    rows: list[dict[str, Any]] = []

    def time(group: str, what: str, fn: Callable[[], object], scalar: str = "") -> None:
        log(f"{group}: {what} {scalar}")
        rate = measure(fn, seconds=seconds, runs=3 if quick else 5)
        rows.append({"group": group, "what": what, "scalar": scalar, **rate.to_json()})

    p = bls.hash_to_g1(b"point", b"bench_bls12381")
    q = G2Point.generator().mul_public(Scalar(SCALARS["random"]))
    p_bytes, q_bytes = p.to_bytes(), q.to_bytes()
    ark_p, ark_q = ark.G1Point.from_compressed_bytes(p_bytes), ark.G2Point.from_compressed_bytes(q_bytes)
    blst_p, blst_q = pyblst.BlstP1Element.uncompress(p_bytes), pyblst.BlstP2Element.uncompress(q_bytes)

    for name, k in SCALARS.items():
        ks = Scalar(k)
        ark_k = ark.Scalar(k)
        time("G1 mult", "arkworks, bare (`G1Point * Scalar`)", lambda ark_k=ark_k: ark_p * ark_k, name)
        time("G1 mult", "`mul_public` (arkworks)", lambda ks=ks: p.mul_public(ks), name)
        time("G1 mult", "blst, bare (`scalar_mul`)", lambda k=k: blst_p.scalar_mul(k), name)
        time("G1 mult", "`mul_secret`, the point's blst form cached", lambda ks=ks: p.mul_secret(ks), name)
        time("G1 mult", "`mul_secret`, a fresh point",
             lambda ks=ks: G1Point._wrap(ark_p).mul_secret(ks), name)
    for name in ("32-bit", "dense (r − 2)"):
        ks = Scalar(SCALARS[name])
        time("G2 mult", "`mul_public` (arkworks)", lambda ks=ks: q.mul_public(ks), name)
        time("G2 mult", "blst, bare (`scalar_mul`)", lambda k=SCALARS[name]: blst_q.scalar_mul(k), name)
        time("G2 mult", "`mul_secret`, the point's blst form cached", lambda ks=ks: q.mul_secret(ks), name)
        time("G2 mult", "`mul_secret`, a fresh point",
             lambda ks=ks: G2Point._wrap(ark_q).mul_secret(ks), name)

    gt = bls.pairing(p, q)
    # a fresh wrapper each call, so the correction pays the conversion to blst as it will in use
    time("pairing", "`pairing` (canonical GT: 3⁻¹ correction + arkworks)", lambda: bls.pairing(G1Point._wrap(ark_p), q))
    time("pairing", "arkworks `GT.pairing`, bare (returns e³)", lambda: ark.GT.pairing(ark_p, ark_q))
    time("pairing", "`GT.to_bytes` (576 bytes)", gt.to_bytes)
    a, c = p.mul_public(Scalar(7)), p.mul_public(Scalar(21))
    b = q.mul_public(Scalar(3))
    time("pairing", "2-pairing check `pairings_equal` (e(a,b) == e(c,d))", lambda: bls.pairings_equal(a, b, c, q))

    time("hash / decode", "`hash_to_g1` (RFC 9380 SSWU_RO_)", lambda: bls.hash_to_g1(b"identifier", b"bench_bls12381"))
    time("hash / decode", "`hash_to_scalar`", lambda: bls.hash_to_scalar(b"identifier", b"bench_bls12381"))
    time("hash / decode", "`G1Point.from_bytes` (checked)", lambda: G1Point.from_bytes(p_bytes))
    time("hash / decode", "`G2Point.from_bytes` (checked)", lambda: G2Point.from_bytes(q_bytes))
    return {"quick": quick, "rows": rows}


def render(results: dict[str, Any]) -> str:
    out = ["## BLS12-381 (`benchmarks/bench_bls12381.py`)", ""]
    if results["quick"]:
        out += ["*Quick run: tiny counts, the numbers say nothing about speed.*", ""]
    table = [[r["group"], r["what"], r["scalar"] or "—", fmt_time(r["seconds_per_op"]),
              fmt_time(r["median_seconds_per_op"])] for r in results["rows"]]
    out += [md_table(["", "operation", "scalar", "best", "median"], table, "lllrr"), ""]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(run_alone(__doc__, run, render))
