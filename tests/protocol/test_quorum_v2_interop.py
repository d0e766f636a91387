"""Protocol v2 quorum interop between protocol/quorum.py and web/src/sdk/protocol/quorum.js.

Python -> JS: tests/vectors/quorum_v2_interop.json, written by tests/vectors/make_quorum_v2.py, which
web/test/quorum_v2.test.js reproduces; here, that the file is what the script writes today and that
quorum.py reads its values back. JS -> Python: web/test/cli/quorum_v2.js makes shares (blind,
answers with one liar, combine) and wraps with the browser SDK, and quorum.py opens them. Skipped
only when node or web/node_modules is missing, never under CI=true.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from consilience.crypto.bls12381 import G1Point, G2Point, Scalar
from consilience.protocol import quorum as qm
from node_sdk import node_for

ROOT = Path(__file__).resolve().parent.parent.parent
VECTORS = ROOT / "tests" / "vectors" / "quorum_v2_interop.json"
SCRIPT = ROOT / "web" / "test" / "cli" / "quorum_v2.js"


def _h(x: str) -> bytes:
    return bytes.fromhex(x)


def _x(x: str) -> Scalar:
    return qm.abscissa_from_bytes(_h(x))


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(VECTORS.read_text())
    return loaded


@pytest.fixture(scope="module")
def params(doc: dict[str, Any]) -> qm.QuorumParameters:
    return qm.check_commitments(
        doc["threshold"], {int(q): [G2Point.from_bytes(_h(c)) for c in cs] for q, cs in doc["levels"].items()},
        {int(i): {int(q): [G2Point.from_bytes(_h(c)) for c in cs] for q, cs in lv.items()}
         for i, lv in doc["servers"].items()})


def _server_shares(doc: dict[str, Any]) -> dict[int, dict[int, list[Scalar]]]:
    return {int(i): {int(q): [Scalar(int(e, 16)) for e in es] for q, es in lv.items()}
            for i, lv in doc["server_shares"].items()}


def _context(c: dict[str, Any]) -> qm.WrapContext:
    return qm.WrapContext(deployment_id=_h(c["deployment_id"]), key_epoch=c["key_epoch"], entry_id=_h(c["entry_id"]),
                          section=c["section"], tag=_h(c["tag"]))


# -- Python -> JS: the vectors file ----------------------------------------------------------------


def test_vectors_file_is_what_the_script_writes(doc: dict[str, Any]) -> None:
    spec = importlib.util.spec_from_file_location("make_quorum_v2", ROOT / "tests" / "vectors" / "make_quorum_v2.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    assert module.build() == doc


def test_vectors_open_in_python(doc: dict[str, Any], params: qm.QuorumParameters) -> None:
    w, o = doc["wrap"], doc["open_class"]
    level = params.level(o["q"])
    anchor = qm.Candidate(_h(o["anchor"]["entry_id"]), _x(o["anchor"]["x"]), _h(o["anchor"]["share"]))
    candidates = [qm.Candidate(_h(c["entry_id"]), _x(c["x"]), _h(c["share"])) for c in o["candidates"]]
    opened = qm.open_class(anchor, candidates, level)
    assert [m.hex() for m in opened.members] == o["members"]
    assert sorted(b.hex() for b in opened.bogus) == o["bogus"]
    assert opened.abscissas == o["abscissas"] and opened.opens
    assert qm.unwrap(opened.secret(), _h(w["u"]), _context(w["context"])) == _h(w["w"])
    assert len(_h(w["context_bytes"])) == qm.WRAP_CONTEXT_BYTES == 166


# -- JS -> Python ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    node = node_for("JS -> Python quorum interop test, web/test/cli/quorum_v2.js")
    done = subprocess.run([node, str(SCRIPT), str(VECTORS)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_js_shares_are_python_bytes(js: dict[str, Any], doc: dict[str, Any], params: qm.QuorumParameters) -> None:
    assert [a["x"] for a in js["accounts"]] == doc["accounts"]
    first = js["accounts"][0]
    assert first["shares"] == doc["reporter"]["shares"]  # same identifier, y and x: σ_q does not depend on r
    assert list(first["dishonest"]) == ["2"]  # the JS reporter named the key server that lied to it
    shares = _server_shares(doc)
    for account in js["accounts"]:
        x = _x(account["x"])
        request = qm.blind(_h(doc["reporter"]["identifier"]))
        answers = {i: qm.answer(s, x, request.blinded) for i, s in shares.items()}
        mine = qm.combine(params, request, _h(doc["reporter"]["oprf_output"]), x, answers)
        assert {str(q): mine.share_bytes(q).hex() for q in params.levels} == account["shares"]


def test_js_wraps_open_with_js_shares_in_python(js: dict[str, Any], params: qm.QuorumParameters) -> None:
    accounts = js["accounts"]
    bogus_id = b"\xbb" * 16
    assert [w["q"] for w in js["wraps"]] == list(params.levels)
    for w in js["wraps"]:
        q = w["q"]
        level = params.level(q)
        ids = [bytes([k + 1]) * 16 for k in range(len(accounts))]
        anchor = qm.Candidate(ids[0], _x(accounts[0]["x"]), _h(accounts[0]["shares"][str(q)]))
        candidates = [qm.Candidate(e, _x(a["x"]), _h(a["shares"][str(q)]))
                      for e, a in zip(ids[1:], accounts[1:], strict=True)]
        candidates.insert(1, qm.Candidate(bogus_id, _x(js["bogus"]["x"]), _h(js["bogus"]["shares"][str(q)])))
        opened = qm.open_class(anchor, candidates, level)
        assert opened.members == tuple(ids) and list(opened.bogus) == [bogus_id]
        assert opened.opens and opened.abscissas == len(accounts)
        context = _context(w["context"])
        assert qm.unwrap(opened.secret(), _h(w["u"]), context) == _h(w["w"])
        # q shares exactly open it; q-1 do not reach quorum
        exact = [(_x(a["x"]), G1Point.from_bytes(_h(a["shares"][str(q)]))) for a in accounts[:q]]
        assert qm.unwrap(qm.recover_secret(level, exact), _h(w["u"]), context) == _h(w["w"])
        with pytest.raises(qm.BelowQuorum):
            qm.recover_secret(level, exact[:-1])
        # the other base's share in place of account 1's (same abscissa): another W
        wrong = [exact[0], (_x(js["bogus"]["x"]), G1Point.from_bytes(_h(js["bogus"]["shares"][str(q)]))), *exact[2:]]
        assert js["bogus"]["x"] == accounts[1]["x"]
        assert qm.unwrap(qm.recover_secret(level, wrong), _h(w["u"]), context) != _h(w["w"])
