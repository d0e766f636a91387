"""Protocol v2 entries between the Python SDK and the browser SDK (web/src/sdk).

Python -> JS: tests/vectors/entry_v2_interop.json, written by tests/vectors/make_entry_v2.py on
tests/v2_world.py's deployment (real key generation), which web/test/entry_v2.test.js checks the
browser SDK against. Its random parts (HPKE, ρ, blinds) cannot be written again byte for byte, so
here every value is read back with the Python SDK instead: the deployment and each refusal, the
accounts, the signed request, the invites, the match and the intermediate values of one opening.

JS -> Python: web/test/cli/seal_v2.js seals entries with the browser SDK (playing the key servers
from the vectors' test-only secrets, one of them lying) beside Python's entry C, and
protocol/release.py opens them: the honest class opens, the bogus entry is named, the liar was
named and replaced, and the GT encoding and wrap key of one opening agree. Skipped only when node
or web/node_modules is missing, never under CI=true.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from consilience.crypto import hpke, signing
from consilience.crypto.bls12381 import G1Point, G2Point, pairing
from consilience.errors import ConsilienceError
from consilience.protocol import accounts, entry, evaluation, invites, messages, quorum
from consilience.protocol import deployment as dep
from consilience.protocol.encoding import b64u_decode
from consilience.protocol.release import MatchedEntry, open_match
from node_sdk import node_for

ROOT = Path(__file__).resolve().parent.parent.parent
VECTORS = ROOT / "tests" / "vectors" / "entry_v2_interop.json"
SCRIPT = ROOT / "web" / "test" / "cli" / "seal_v2.js"


def _h(x: str) -> bytes:
    return bytes.fromhex(x)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(VECTORS.read_text())
    return loaded


@pytest.fixture(scope="module")
def deployment(doc: dict[str, Any]) -> dep.Deployment:
    return dep.verify(doc["published"], _h(doc["admin"]["fingerprint"]))


def _matched(entries: list[dict[str, Any]]) -> list[MatchedEntry]:
    return [MatchedEntry(b64u_decode(e["entry_id"]), e["quorum"], e["released"], b64u_decode(e["envelope"]),
                         b64u_decode(e["body"]) if e["body"] else None) for e in entries]


def _counselor(doc: dict[str, Any], index: int = 0) -> tuple[bytes, bytes]:
    c = doc["counselors"][index]
    return _h(c["seed"]), _h(c["key_id"])


# -- Python -> JS: the vectors file holds what the Python SDK makes and refuses --------------------


def test_the_script_runs_and_builds_the_same_kind_of_file(doc: dict[str, Any]) -> None:
    spec = importlib.util.spec_from_file_location("make_entry_v2", ROOT / "tests" / "vectors" / "make_entry_v2.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    built = module.build()
    assert set(built) == set(doc)
    # everything fixed by seeds is the same again (not the abscissas: the key generation's abscissa key is fresh)
    for key in ("constants", "admin", "request", "invites", "identifiers", "oprf_outputs"):
        assert built[key] == doc[key], key
    assert [{k: v for k, v in a.items() if k != "abscissa"} for a in built["accounts"]] == [
        {k: v for k, v in a.items() if k != "abscissa"} for a in doc["accounts"]]
    assert [c["message"] for c in built["certificate_refusals"]] == [c["message"] for c in doc["certificate_refusals"]]
    assert [c["message"] for c in built["deployment_refusals"]] == [c["message"] for c in doc["deployment_refusals"]]
    assert [o["record"] for o in built["match"]["expected"]["opened"]] == [
        o["record"] for o in doc["match"]["expected"]["opened"]]
    assert list(built["match"]["expected"]["failed"].values()) == list(doc["match"]["expected"]["failed"].values())


def test_deployment_and_its_refusals(doc: dict[str, Any], deployment: dep.Deployment) -> None:
    assert deployment.deployment_id.hex() == doc["deployment"]["deployment_id"]
    assert deployment.key_epoch == doc["deployment"]["key_epoch"]
    assert deployment.quorum_keys is not None and len(deployment.quorum_keys.confirmations) == 3
    for case in doc["deployment_refusals"]:
        if case["error"] is None:
            assert dep.verify(case["published"], _h(doc["admin"]["fingerprint"])).quorum_keys is None
            continue
        with pytest.raises(ConsilienceError) as caught:
            dep.verify(case["published"], _h(doc["admin"]["fingerprint"]))
        assert (type(caught.value).__name__, str(caught.value)) == (case["error"], case["message"]), case["what"]


def test_accounts_request_and_invites(doc: dict[str, Any], deployment: dep.Deployment) -> None:
    admin = _h(doc["admin"]["public_key"])
    assert signing.public_key(_h(doc["admin"]["seed"])) == admin
    for a in doc["accounts"]:
        seed = _h(a["seed"])
        assert accounts.account_key(seed).hex() == a["account_key"]
        assert accounts.verify_certificate(admin, deployment.deployment_id, _h(a["certificate"])).issued_at == a[
            "issued_at"]
        accounts.verify_registration(_h(a["account_key"]), deployment.deployment_id, _h(a["proof"]))
        assert invites.parse(a["invite"]).seed == seed
        for s in doc["key_servers"].values():
            x = accounts.abscissa(_h(s["abscissa_key"]), deployment.deployment_id, _h(a["account_key"]))
            assert x.to_bytes().hex() == a["abscissa"]
    r = doc["request"]
    req = evaluation.make_request(_h(r["seed"]), _h(r["certificate"]), _h(r["deployment_id"]), _h(r["audience"]),
                                  [_h(b) for b in r["blinded"]], [_h(p) for p in r["points"]], now=r["issued_at"],
                                  nonce=_h(r["nonce"]))
    assert req.signature.hex() == r["signature"]
    evaluation.verify_request(req, admin_public=admin, deployment_id=deployment.deployment_id,
                              audience=_h(r["audience"]), now=r["issued_at"])
    for case in doc["invites"]:
        if case["error"] is None:
            assert invites.parse(case["text"]).seed.hex() == case["seed"]
        else:
            with pytest.raises(ConsilienceError, match="^" + re.escape(case["error"]) + "$"):
                invites.parse(case["text"])


def test_match_opens_in_python_as_recorded(doc: dict[str, Any], deployment: dep.Deployment) -> None:
    m = doc["match"]
    seed, key_id = _counselor(doc, m["counselor"])
    result = open_match(b64u_decode(m["tag"]), _matched(m["entries"]), seed, key_id, deployment)
    opened = [{"entry_id": e["entry_id"], "record": e["record"]} for e in m["expected"]["opened"]]
    assert [{"entry_id": o.entry_id.hex(), "record": o.body.record} for o in result.opened] == [
        {"entry_id": b64u_decode(o["entry_id"]).hex(), "record": o["record"]} for o in opened]
    assert sorted(b.hex() for b in result.bogus) == sorted(b64u_decode(b).hex() for b in m["expected"]["bogus"])
    o = m["opening"]
    secret = quorum.QuorumSecret(o["q"], G1Point.from_bytes(_h(o["secret"])))
    assert secret.point.to_bytes().hex() == o["secret"]
    assert pairing(secret.point, G2Point.from_bytes(_h(o["u"]))).to_bytes().hex() == o["gt"]
    context = entry.wrap_context(deployment.deployment_id, deployment.key_epoch, b64u_decode(o["entry_id"]), 0,
                                 b64u_decode(m["tag"]))
    assert context.encode(o["q"], _h(o["u"])).hex() == o["context"]
    assert quorum.unwrap(secret, _h(o["u"]), context).hex() == o["wrap_key"]


# -- JS -> Python: entries sealed by the browser SDK --------------------------------------------


@pytest.fixture(scope="module")
def from_js() -> dict[str, Any]:
    node = node_for("web/test/cli/seal_v2.js")
    out = subprocess.run([node, str(SCRIPT), str(VECTORS)], capture_output=True, text=True, timeout=300, check=True)
    loaded: dict[str, Any] = json.loads(out.stdout)
    return loaded


def test_js_entries_open_in_python(doc: dict[str, Any], deployment: dep.Deployment, from_js: dict[str, Any]) -> None:
    seed, key_id = _counselor(doc)
    entries = from_js["entries"]
    ids = {e["label"]: b64u_decode(e["entry_id"]) for e in entries}
    result = open_match(b64u_decode(from_js["tag"]), _matched(entries), seed, key_id, deployment)
    assert sorted(o.body.record for o in result.opened) == ["js record A", "js record B", "record C"]
    assert {o.entry_id for o in result.opened} == {ids["A"], ids["B"], ids["C"]}
    # D's shares are on another person's base under the third's tag: its own class is alone, and it is named
    assert result.bogus == {ids["D"]}
    assert result.failed == {ids["D"]: "only 1 distinct accounts' shares agree with its own; quorum 2 needs 2"}
    by_abscissa = {o.entry_id: o.abscissa.hex() for o in result.opened}
    account = {a["label"]: a["abscissa"] for a in doc["accounts"]}
    assert by_abscissa[ids["A"]] == account["A"] and by_abscissa[ids["B"]] == account["B"]
    # every opened body is what JS wrote, under the body key JS kept
    for e in entries:
        if e["body"]:
            body = entry.open_body(_h(e["body_key"]), b64u_decode(e["entry_id"]), b64u_decode(e["body"]))
            assert body.contact.startswith(("js contact", "contact of"))
    messages.EntrySubmission.model_validate(from_js["payload"])


def test_js_named_the_lying_key_server_and_asked_another(from_js: dict[str, Any]) -> None:
    a = from_js["evaluation"]["A"]
    assert a["used"] == [2, 3]
    assert a["skipped"] == {"1": "gave quorum shares that do not check (its answers do not match its published "
                                 "commitments)"}
    assert all(not v["skipped"] for k, v in from_js["evaluation"].items() if k != "A")


def test_js_bogus_share_and_gt_encoding(doc: dict[str, Any], deployment: dep.Deployment,
                                        from_js: dict[str, Any]) -> None:
    """E's σ_4 is not a point (JS sealed it so); JS's class at q = 2 named D; its S, GT(K) and W are Python's."""
    seed, key_id = _counselor(doc)
    ids = {e["label"]: e for e in from_js["entries"]}
    e = ids["E"]
    content = entry.parse_envelope(hpke.open(
        seed, b64u_decode(e["envelope"]), entry.envelope_info(b64u_decode(e["entry_id"]), key_id)))
    with pytest.raises(ConsilienceError):
        G1Point.from_bytes(content.sections[0].shares[4])
    o = from_js["opening"]
    assert o["bogus"] == [ids["D"]["entry_id"]]
    secret = quorum.QuorumSecret(o["q"], G1Point.from_bytes(_h(o["secret"])))
    assert pairing(secret.point, G2Point.from_bytes(_h(o["u"]))).to_bytes().hex() == o["gt"]
    tag = b64u_decode(from_js["tag"])
    context = entry.wrap_context(deployment.deployment_id, deployment.key_epoch, b64u_decode(o["entry_id"]), 0, tag)
    assert quorum.unwrap(secret, _h(o["u"]), context).hex() == o["wrap_key"]


def test_receipt_vectors_check_in_python(doc: dict[str, Any], deployment: dep.Deployment) -> None:
    from consilience.clients import receipts

    r = doc["receipts"]
    assert receipts.expected_content(r["payload"]).hex() == r["content"]
    for case in r["cases"]:
        content = _h(case["content"]) if case["content"] else None
        if "error" in case:
            with pytest.raises(ConsilienceError) as caught:
                receipts.check(case["text"], deployment, _h(case["entry_id"]), kind=case["kind"], content=content)
            assert (type(caught.value).__name__, str(caught.value)) == (case["type"], case["error"]), case["label"]
        else:
            result = receipts.check(case["text"], deployment, _h(case["entry_id"]), kind=case["kind"], content=content)
            assert (result.index, result.tree_size, result.root_hash.hex()) == (
                case["index"], case["tree_size"], case["root_hash"])
