"""Write tests/vectors/bls12381_interop.json: BLS12-381 values the browser SDK must reproduce.

    python tests/vectors/make_bls12381.py

Deterministic: every scalar is hash_to_scalar of a fixed label, so running it again writes the
same file (tests/crypto/test_bls12381.py checks that; web/test/bls12381.test.js checks the values
against web/src/sdk/crypto/bls12381.js). The refused encodings are built by the independent
reference arithmetic in tests/crypto/test_bls12381.py, loaded from there.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from consilience.crypto import bls12381 as bls
from consilience.crypto.bls12381 import G1Point, G2Point, Scalar

HERE = Path(__file__).resolve().parent
OUT = HERE / "bls12381_interop.json"
DST = b"consilience-bls12381-interop-vectors"


def _reference() -> Any:
    path = HERE.parent / "crypto" / "test_bls12381.py"
    spec = importlib.util.spec_from_file_location("bls12381_reference", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _k(label: str) -> Scalar:
    return bls.hash_to_scalar(label.encode(), DST)


def _hex(value: bytes) -> str:
    return value.hex()


def build() -> dict[str, Any]:
    g1, g2 = G1Point.generator(), G2Point.generator()
    ref = _reference()
    doc: dict[str, Any] = {
        "_source": "tests/vectors/make_bls12381.py; do not edit by hand. Encodings as in "
                   "src/consilience/crypto/bls12381.py's docstring: scalars 32 bytes big-endian, G1/G2 compressed, "
                   "GT the canonical 576 bytes of the reduced pairing (e_g1_g2 is "
                   "draft-irtf-cfrg-pairing-friendly-curves-11 Appendix B's vector).",
        "generators": {"g1": _hex(g1.to_bytes()), "g2": _hex(g2.to_bytes())},
    }

    doc["hash_to_scalar"] = [
        {"msg": msg, "dst": dst, "scalar": _hex(bls.hash_to_scalar(msg.encode(), dst.encode()).to_bytes())}
        for msg, dst in [("", "QUUX-V01-CS02-with-expander-SHA256-128"), ("abc", "quorum base"),
                         ("a" * 300, DST.decode()), ("identifier:email:alice@example.org", "x")]
    ]
    doc["hash_to_g1"] = [
        {"msg": msg, "dst": dst, "point": _hex(bls.hash_to_g1(msg.encode(), dst.encode()).to_bytes())}
        for msg, dst in [("identifier:email:alice@example.org", "consilience-v2-test-H2C"), ("", "x" * 255)]
    ]

    mul = []
    for label, k in [("one", Scalar(1)), ("small", Scalar(0xFFFFFFFF)), ("r-1", Scalar(bls.ORDER - 1)),
                     ("hashed", _k("mul"))]:
        p, q = g1.mul_public(_k(f"mul-base-{label}")), g2.mul_public(_k(f"mul-base-{label}"))
        mul.append({"label": label, "scalar": _hex(k.to_bytes()), "g1": _hex(p.to_bytes()), "g2": _hex(q.to_bytes()),
                    "g1_times_scalar": _hex(p.mul_secret(k).to_bytes()),
                    "g2_times_scalar": _hex(q.mul_secret(k).to_bytes())})
    doc["mul"] = mul

    pairings = []
    for label, p, q in [
        ("a·G1, b·G2", g1.mul_public(_k("a")), g2.mul_public(_k("b"))),
        ("(ab)·G1, G2", g1.mul_public(_k("a") * _k("b")), g2),
        ("hash_to_g1, c·G2", bls.hash_to_g1(b"identifier:email:alice@example.org", b"consilience-v2-test-H2C"),
         g2.mul_public(_k("c"))),
        ("-G1, G2", -g1, g2),
    ]:
        pairings.append({"label": label, "g1": _hex(p.to_bytes()), "g2": _hex(q.to_bytes()),
                         "gt": _hex(bls.pairing(p, q).to_bytes())})
    doc["gt"] = {"e_g1_g2": _hex(bls.pairing(g1, g2).to_bytes()), "one": _hex(bls.GT.one().to_bytes()),
                 "pairings": pairings}

    # A degree-2 polynomial F, shares F(x_i)·B on a hashed base B, and F(0)·B.
    base = bls.hash_to_g1(b"P*", DST)
    poly = [_k(f"coefficient-{j}") for j in range(3)]
    xs = [Scalar(3), Scalar(17), _k("abscissa")]

    def f(x: Scalar) -> Scalar:
        return poly[0] + poly[1] * x + poly[2] * x * x

    at = _k("at")
    doc["lagrange"] = {
        "xs": [_hex(x.to_bytes()) for x in xs],
        "x": _hex(at.to_bytes()),
        "at_0": [_hex(c.to_bytes()) for c in bls.lagrange_coefficients(xs)],
        "at_x": [_hex(c.to_bytes()) for c in bls.lagrange_coefficients(xs, at)],
        "polynomial": [_hex(c.to_bytes()) for c in poly],
        "base": _hex(base.to_bytes()),
        "shares": [_hex(base.mul_secret(f(x)).to_bytes()) for x in xs],
        "interpolated_at_0": _hex(base.mul_secret(poly[0]).to_bytes()),
    }

    r = bls.ORDER
    doc["refused"] = {
        "g1": [[name, _hex(data)] for name, data in ref.g1_refusals()],
        "g2": [[name, _hex(data)] for name, data in ref.g2_refusals()],
        "scalar": [["r", _hex(r.to_bytes(32, "big"))], ["2^256 - 1", "ff" * 32], ["zero", "00" * 32],
                   ["31 bytes", "01" * 31], ["33 bytes", "00" * 32 + "01"]],
    }
    return doc


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=1, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
