"""Write tests/vectors/quorum_v2_interop.json: protocol v2 quorum values the browser SDK must reproduce.

    python tests/vectors/make_quorum_v2.py

Deterministic: every secret (polynomials, key-server sharings, abscissas, the blind r, the KEM's ρ)
is hash_to_scalar of a fixed label, so running it again writes the same file
(tests/protocol/test_quorum_v2_interop.py checks that; web/test/quorum_v2.test.js reproduces the
values with web/src/sdk/protocol/quorum.js). The dealer here is for test vectors only: in a
deployment nobody holds the polynomials (protocol/dkg.py). The key servers' shares are in the file
so that web/test/cli/quorum_v2.js can answer as key servers and make shares in JS.

Only the batch coefficients of combine and open_class are random; their results are not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from consilience.crypto import bls12381 as bls
from consilience.crypto import kdf
from consilience.crypto.bls12381 import G1Point, G2Point, Scalar
from consilience.protocol import quorum as qm

HERE = Path(__file__).resolve().parent
OUT = HERE / "quorum_v2_interop.json"
DST = b"consilience-quorum-v2-interop-vectors"

T, N = 2, 3
LEVELS = (2, 3, 4)
IDENTIFIER = b"email:target@example.org"
OTHER_IDENTIFIER = b"phone:+15551234567"
#: The level of the wrap and open_class vectors.
Q = 3
LIAR = 2
LIED_LEVEL = 3


def _k(label: str) -> Scalar:
    k = bls.hash_to_scalar(label.encode(), DST)
    assert not k.is_zero()
    return k


def _h(value: bytes) -> str:
    return value.hex()


def _s(k: Scalar) -> str:
    return k.to_bytes().hex()


def _poly(coefficients: list[Scalar], x: Scalar) -> Scalar:
    acc = Scalar(0)
    for c in reversed(coefficients):
        acc = acc * x + c
    return acc


def _oprf_output(identifier: bytes) -> bytes:
    # stands in for the VOPRF output y (64 bytes, RFC 9497 with SHA-512); any fixed bytes do here
    return bls.hash_to_scalar(b"y " + identifier, DST).to_bytes() * 2


def build() -> dict[str, Any]:
    g2 = G2Point.generator()
    # the test-only dealer: F_q's coefficients, each Shamir-shared among the N key servers with degree T-1
    polynomials = {q: [_k(f"a {q} {j}") for j in range(q)] for q in LEVELS}
    shares: dict[int, dict[int, list[Scalar]]] = {i: {q: [] for q in LEVELS} for i in range(1, N + 1)}
    for q, coefficients in polynomials.items():
        for j, a in enumerate(coefficients):
            sharing = [a] + [_k(f"sharing {q} {j} {k}") for k in range(1, T)]
            for i in range(1, N + 1):
                shares[i][q].append(_poly(sharing, Scalar(i)))
    levels = {q: [g2.mul_public(a) for a in polynomials[q]] for q in LEVELS}
    servers = {i: {q: [g2.mul_public(e) for e in lv[q]] for q in LEVELS} for i, lv in shares.items()}
    params = qm.check_commitments(T, levels, servers)

    doc: dict[str, Any] = {
        "_source": "tests/vectors/make_quorum_v2.py; do not edit by hand. Scalars 32 bytes big-endian, "
                   "G1/G2 compressed, GT 576 bytes (crypto/bls12381.py). Secrets from a test-only dealer.",
        "constants": {"identifier_dst": _h(qm.IDENTIFIER_DST), "quorum_base_dst": _h(qm.QUORUM_BASE_DST),
                      "wrap_key_label": qm.WRAP_KEY_LABEL, "wrap_context_bytes": qm.WRAP_CONTEXT_BYTES},
        "threshold": T,
        "levels": {str(q): [_h(c.to_bytes()) for c in cs] for q, cs in levels.items()},
        "servers": {str(i): {str(q): [_h(c.to_bytes()) for c in cs] for q, cs in lv.items()}
                    for i, lv in servers.items()},
        "server_shares": {str(i): {str(q): [_s(e) for e in es] for q, es in lv.items()} for i, lv in shares.items()},
        "secret_commitments": {str(q): _h(params.level(q).secret_commitment.to_bytes()) for q in LEVELS},
    }

    # The reporter: blind with a fixed r (blind() draws a fresh one), three answers, server LIAR lying at one level.
    y = _oprf_output(IDENTIFIER)
    x = qm.abscissa_from_bytes(_k("account 0").to_bytes())
    point = qm.identifier_point(IDENTIFIER)
    r = _k("blind r")
    request = qm.BlindedIdentifier(point, r, point.mul_secret(r).to_bytes())
    answers = {i: qm.answer(shares[i], x, request.blinded) for i in range(1, N + 1)}
    honest_lied = answers[LIAR][LIED_LEVEL]
    lie = G1Point.from_bytes(request.blinded).mul_secret(_k("lie")).to_bytes()
    answers[LIAR] = {**answers[LIAR], LIED_LEVEL: lie}
    combined = qm.combine(params, request, y, x, answers)
    assert list(combined.dishonest) == [LIAR]
    base = combined.base
    assert base == qm.quorum_base(IDENTIFIER, y)
    doc["evaluations"] = {_s(x): {str(q): _h(e.to_bytes()) for q, e in params.evaluations(x).items()}}
    doc["reporter"] = {
        "identifier": _h(IDENTIFIER), "oprf_output": _h(y), "x": _s(x),
        "identifier_point": _h(point.to_bytes()), "base": _h(base.to_bytes()),
        "r": _s(r), "blinded": _h(request.blinded),
        "answers": {str(i): {str(q): _h(z) for q, z in lv.items()} for i, lv in answers.items()},
        "liar": LIAR, "lied_level": LIED_LEVEL, "honest_answer": _h(honest_lied),
        "dishonest": {str(i): why for i, why in combined.dishonest.items()},
        "shares": {str(q): _h(combined.share_bytes(q)) for q in LEVELS},
    }

    # Accounts at other abscissas, on the same base: σ = F_q(x)·P* (what their own combine would give).
    xs = [x] + [_k(f"account {k}") for k in range(1, 5)]

    def share(on: G1Point, at: Scalar, q: int = Q) -> bytes:
        return on.mul_secret(_poly(polynomials[q], at)).to_bytes()

    for q in LEVELS:
        assert share(base, x, q) == combined.share_bytes(q)

    # The KEM at level Q for a fixed ρ (wrap() draws a fresh one), written out as wrap() computes it.
    context = qm.WrapContext(deployment_id=bytes(range(16)), key_epoch=7, entry_id=b"\xee" * 16, section=1,
                             tag=bytes(range(100, 132)))
    rho = _k("rho")
    u = g2.mul_secret(rho).to_bytes()
    k_gt = bls.pairing(base.mul_secret(rho), params.level(Q).secret_commitment).to_bytes()
    w = kdf.derive(k_gt, qm.WRAP_KEY_LABEL, context.encode(Q, u), qm.WRAP_KEY_BYTES)
    secret = qm.recover_secret(params.level(Q), [(xi, G1Point.from_bytes(share(base, xi))) for xi in xs[:Q]])
    assert qm.unwrap(secret, u, context) == w
    doc["wrap"] = {
        "q": Q,
        "context": {"deployment_id": _h(context.deployment_id), "key_epoch": context.key_epoch,
                    "entry_id": _h(context.entry_id), "section": context.section, "tag": _h(context.tag)},
        "context_bytes": _h(context.encode(Q, u)), "rho": _s(rho), "u": _h(u), "k_gt": _h(k_gt), "w": _h(w),
        "secret": _h(secret.point.to_bytes()),
    }

    # open_class at level Q: the anchor, four honest candidates (one a second entry of account 1), two bogus.
    other_base = qm.quorum_base(OTHER_IDENTIFIER, _oprf_output(OTHER_IDENTIFIER))

    def eid(n: int) -> bytes:
        return n.to_bytes(16, "big")

    anchor = qm.Candidate(eid(1), x, share(base, x))
    rows = [(eid(2), xs[1], share(base, xs[1])), (eid(3), xs[2], share(base, xs[2])),
            (eid(4), xs[3], share(other_base, xs[3])),  # bogus: consistent, but on another base
            (eid(5), xs[1], share(base, xs[1])),  # account 1's second entry: same abscissa, counted once
            (eid(6), xs[4], base.mul_secret(_poly(polynomials[Q], xs[4]) + Scalar(1)).to_bytes()),  # bogus: off by P*
            (eid(7), xs[4], share(base, xs[4]))]
    candidates = [qm.Candidate(e, xi, s) for e, xi, s in rows]
    opened = qm.open_class(anchor, candidates, params.level(Q))
    assert opened.opens and set(opened.bogus) == {eid(4), eid(6)}
    assert opened.secret().point == secret.point
    doc["open_class"] = {
        "q": Q,
        "anchor": {"entry_id": _h(anchor.entry_id), "x": _s(anchor.x), "share": _h(anchor.share)},
        "candidates": [{"entry_id": _h(e), "x": _s(xi), "share": _h(s)} for e, xi, s in rows],
        "members": [_h(m) for m in opened.members],
        "bogus": sorted(_h(b) for b in opened.bogus),
        "abscissas": opened.abscissas,
        "opens": opened.opens,
        "secret": _h(opened.secret().point.to_bytes()),
    }
    # the accounts' abscissas, for web/test/cli/quorum_v2.js to make shares at
    doc["accounts"] = [_s(xi) for xi in xs]
    return doc


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=1, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
