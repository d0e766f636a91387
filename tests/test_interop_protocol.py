"""The "protocol" section of tests/vectors/interop.json against the Python SDK (web interop, issue 4).

web/test/protocol.test.js makes the browser SDK reproduce this section; here
the section is rebuilt from the SDK and must equal the file, so neither side
can drift: a change to identifier normalisation, the body layout, the
key generation's messages, the deployment document, accounts, signed
evaluation requests, log events or receipt checking shows up as a stale vectors file until it is regenerated
(``python tests/vectors/make_interop.py``) and the JS passes again.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from consilience.clients import receipts
from consilience.crypto.bls12381 import Scalar
from consilience.errors import ConsilienceError, InvalidInput, VerificationError
from consilience.protocol import accounts, dkg, evaluation, events, identifiers, invites, messages, quorum
from consilience.protocol import deployment as dep
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import Body

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors" / "interop.json"


def _module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def section() -> dict[str, Any]:
    return json.loads(VECTORS.read_text())["protocol"]


@pytest.fixture(scope="module")
def builder() -> Any:
    return _module(ROOT / "tests" / "vectors" / "sections" / "protocol.py", "interop_sections_protocol_test")


def test_unicode_tables_for_the_browser_are_current() -> None:
    tables = _module(ROOT / "web" / "scripts" / "make_unicode_tables.py", "make_unicode_tables_test")
    assert tables.OUT.read_text() == tables.render(), "run: python web/scripts/make_unicode_tables.py"


def test_identifier_corpus_is_current(section: dict[str, Any], builder: Any) -> None:
    assert section["identifiers"]["cases"] == builder.identifier_cases()
    assert section["identifiers"]["many"] == builder.many_cases()
    assert len(section["identifiers"]["cases"]) > 5000
    # the corpus exercises every kind and both outcomes
    kinds = {c["canonical"].split(":", 1)[0] for c in section["identifiers"]["cases"] if "canonical" in c}
    assert kinds == set(identifiers.KINDS)
    assert sum("error" in c for c in section["identifiers"]["cases"]) > 1000


def test_invite_vectors_are_current(section: dict[str, Any], builder: Any) -> None:
    assert section["invites"] == builder.invite_cases()
    assert len(section["invites"]["refused"]) >= 10
    for case in section["invites"]["valid"]:
        invite = invites.parse(case["text"])
        assert invite.seed.hex() == case["seed"] and case["text"].strip().startswith("cnsl2.")
        assert accounts.account_key(invite.seed).hex() == case["account_key"]
    # a v1 invite is refused by name, not as a typo
    old = [c for c in section["invites"]["refused"] if c["text"].strip().lower().startswith("cnsl1.")]
    assert old and all(c["error"] == invites.OLD_VERSION for c in old)
    for case in section["invites"]["refused"]:
        with pytest.raises(InvalidInput) as info:
            invites.parse(case["text"])
        assert str(info.value) == case["error"]


def test_unicode_digests_are_current(section: dict[str, Any], builder: Any) -> None:
    assert section["unicode"] == builder.unicode_digests()


def test_body_vectors_are_current_and_old_layout_unchanged(section: dict[str, Any], builder: Any) -> None:
    assert section["body"] == builder.body_cases()
    old = bytes.fromhex(section["body"]["old_layout"])
    assert b"details" not in old and b"attachments" not in old
    assert Body.from_bytes(old).to_bytes() == old


def test_dkg_run_is_recorded_and_genuine(section: dict[str, Any], builder: Any) -> None:
    """The recorded key generation: every message parses, the run qualifies all three key servers, and the
    file's commitments are what its deals give (rebuilding re-runs finalize and confirmed on the board)."""
    k = section["dkg"]
    assert k == builder.dkg_cases()
    run = builder.key_generation()
    board = [bytes.fromhex(m["hex"]) for m in k["board"]]
    assert board == run.board
    assert [m["kind"] for m in k["board"]] == ["deal"] * 3 + ["confirmation"] * 3
    qual = dkg.qualify(run.params, board)
    assert list(qual.qualified) == k["qualified"] == [1, 2, 3]
    assert qual.transcript.hex() == k["transcript"]
    assert {q: [c.to_bytes().hex() for c in cs] for q, cs in qual.master.items()} == {
        int(q): cs for q, cs in k["master"].items()}
    assert [len(cs) for cs in k["master"].values()] == [2, 3, 4, 5]  # exactly q coefficients at level q
    for m in k["messages"]:
        assert dkg.parse(run.params, bytes.fromhex(m["hex"]))
    for case in k["refused"]:
        params = run.params if case["epoch"] == run.params.epoch else dataclasses.replace(run.params,
                                                                                       epoch=case["epoch"])
        with pytest.raises(ConsilienceError) as info:
            dkg.parse(params, bytes.fromhex(case["hex"]))
        assert str(info.value) == case["error"] and type(info.value).__name__ == case["type"]


def test_deployment_vectors(section: dict[str, Any], builder: Any) -> None:
    d = section["deployment"]
    assert d == builder.deployment_cases()
    verified = dep.verify(d["published"], bytes.fromhex(d["fingerprint"]))
    assert verified.serial == d["expected"]["serial"] and verified.log_vkey == d["expected"]["log"]["vkey"]
    assert json.loads(dep.b64u_decode(d["published"]["document"]))["format"] == "consilience-deployment/v2"
    assert "token_issuer_key" not in json.loads(dep.b64u_decode(d["published"]["document"]))
    assert verified.quorum_keys is not None and verified.quorum_keys.transcript.hex() == section["dkg"]["transcript"]
    assert verified.key_epoch == d["expected"]["key_epoch"] == section["dkg"]["parameters"]["epoch"]
    low, high = d["expected"]["quorum"], d["expected"]["max_quorum"]
    assert set(verified.quorum_parameters().levels) == set(range(low, high + 1))
    pending = dep.verify(d["pending"]["published"], bytes.fromhex(d["fingerprint"]))
    assert pending.quorum_keys is None and not pending.ready
    labels = {case["label"] for case in d["refusals"]}
    assert {"a v1 document", "a v1 field (token_issuer_key)", "a forged confirmation",
            "a qualified key server's confirmation left out"} <= labels
    for case in d["refusals"]:
        with pytest.raises(ConsilienceError) as info:
            dep.verify(case["published"], bytes.fromhex(case["fingerprint"]), min_serial=case["min_serial"])
        assert str(info.value) == case["error"] and type(info.value).__name__ == case["type"]
    v1 = next(c for c in d["refusals"] if c["label"] == "a v1 document")
    assert v1["error"] == dep.V1_REFUSAL
    # the resharing: asked for, then published; entries still bind the generation of the secrets
    r = d["renewed"]
    asking = dep.verify(r["asking"]["published"], bytes.fromhex(d["fingerprint"]))
    assert asking.key_change is not None and asking.key_change.kind == "reshare"
    assert asking.dkg_parameters(asking.key_change.epoch).previous_digest.hex() == r["asking"]["previous_digest"]
    renewed = dep.verify(r["published"], bytes.fromhex(d["fingerprint"]))
    assert renewed.quorum_keys is not None and renewed.quorum_keys.kind == "reshare"
    assert renewed.key_epoch == verified.key_epoch == 1 and renewed.quorum_keys.epoch == 2
    assert renewed.oprf_public_key == verified.oprf_public_key
    assert list(renewed.quorum_keys.dealers) == [1, 2, 3] and list(renewed.quorum_keys.qualified) == [1, 2]
    assert renewed.quorum_keys.renewed_from == asking.dkg_parameters(2).previous_digest
    for case in r["refusals"]:
        with pytest.raises(ConsilienceError) as info:
            dep.verify(case["published"], bytes.fromhex(case["fingerprint"]))
        assert str(info.value) == case["error"] and type(info.value).__name__ == case["type"]


def test_account_vectors(section: dict[str, Any], builder: Any) -> None:
    a = section["accounts"]
    assert a == builder.account_cases()
    admin, deployment_id = bytes.fromhex(a["admin_key"]), bytes.fromhex(a["deployment_id"])
    for case in a["valid"]:
        seed = bytes.fromhex(case["seed"])
        cert = accounts.verify_certificate(admin, deployment_id, bytes.fromhex(case["certificate"]))
        assert cert.account_key.hex() == case["account_key"] and cert.issued_at == case["issued_at"]
        accounts.verify_registration(cert.account_key, deployment_id, bytes.fromhex(case["registration_proof"]))
        assert invites.parse(case["invite"]).seed == seed
        messages.RegisterRequestV2.model_validate(case["register_request"])
        x = accounts.abscissa(bytes.fromhex(a["abscissa_key"]), deployment_id, cert.account_key)
        assert x.to_bytes().hex() == case["abscissa"]
    assert len({c["abscissa"] for c in a["valid"]}) == len(a["valid"])
    for case in a["certificate_refusals"]:
        with pytest.raises(ConsilienceError) as info:
            accounts.verify_certificate(admin, bytes.fromhex(case["deployment_id"]), bytes.fromhex(case["certificate"]))
        assert str(info.value) == case["error"]
    for case in a["registration_refusals"]:
        with pytest.raises(ConsilienceError) as info:
            accounts.verify_registration(bytes.fromhex(case["account_key"]), bytes.fromhex(case["deployment_id"]),
                                         bytes.fromhex(case["proof"]))
        assert str(info.value) == case["error"]


def test_evaluation_vectors(section: dict[str, Any], builder: Any) -> None:
    """Signed requests verify at their own key server only; the answers combine to the file's shares."""
    e = section["evaluation"]
    assert e == builder.evaluation_cases()
    deployment = dep.verify(section["deployment"]["published"], bytes.fromhex(section["deployment"]["fingerprint"]))
    admin = bytes.fromhex(section["accounts"]["admin_key"])
    requests = []
    for case in e["requests"]:
        body = messages.EvaluateRequestV2.model_validate(case["json"])
        req = evaluation.EvaluationRequest(
            b64u_decode(body.certificate), b64u_decode(body.audience), body.issued_at, b64u_decode(body.nonce),
            tuple(b64u_decode(b) for b in body.blinded), tuple(b64u_decode(p) for p in body.points),
            b64u_decode(body.signature))
        audience = deployment.key_server(case["index"]).identity_key
        assert req.audience == audience
        evaluation.verify_request(req, admin_public=admin, deployment_id=deployment.deployment_id, audience=audience,
                                  now=e["now"])
        for other in deployment.key_servers:
            if other.index != case["index"]:
                with pytest.raises(VerificationError, match="another key server"):
                    evaluation.verify_request(req, admin_public=admin, deployment_id=deployment.deployment_id,
                                              audience=other.identity_key, now=e["now"])
        requests.append(req)
    assert len({r.signature for r in requests}) == len(requests)
    params = deployment.quorum_parameters()
    responses = [messages.EvaluateResponseV2.model_validate(r) for r in e["responses"]]
    assert {r.abscissa for r in responses} == {b64u_encode(bytes.fromhex(e["abscissa"]))}
    x = quorum.abscissa_from_bytes(bytes.fromhex(e["abscissa"]))
    for k, c in enumerate(e["combined"]):
        request = quorum.BlindedIdentifier(quorum.identifier_point(c["identifier"].encode()),
                                           Scalar.from_bytes(bytes.fromhex(c["r"])), bytes.fromhex(c["blinded"]))
        answers = {r.index: {q: b64u_decode(z) for q, z in zip(deployment.quorum_range, r.shares[k], strict=True)}
                   for r in responses}
        shares = quorum.combine(params, request, bytes.fromhex(c["oprf_output"]), x, answers)
        assert {str(q): shares.share_bytes(q).hex() for q in deployment.quorum_range} == c["shares"]
        assert not shares.dishonest
    for case in e["refused"]:
        body = messages.EvaluateRequestV2.model_validate(case["json"])
        req = evaluation.EvaluationRequest(
            b64u_decode(body.certificate), b64u_decode(body.audience), body.issued_at, b64u_decode(body.nonce),
            tuple(b64u_decode(b) for b in body.blinded), tuple(b64u_decode(p) for p in body.points),
            b64u_decode(body.signature))
        with pytest.raises(VerificationError) as info:
            evaluation.verify_request(req, admin_public=admin, deployment_id=deployment.deployment_id,
                                      audience=bytes.fromhex(case["audience"]), now=case["now"])
        assert str(info.value) == case["error"]


def test_event_vectors(section: dict[str, Any], builder: Any) -> None:
    ev = section["events"]
    assert ev == builder.event_cases()
    assert {c["kind"] for c in ev["cases"]} == set(events.KIND_NAMES.values())
    for c in ev["cases"]:
        opening = events.parse_opening(bytes.fromhex(c["opening"]))
        assert opening.event.hex() == c["event"] and opening.leaf.hex() == c["leaf"]
        assert events.parse_event(opening.event).kind == c["kind"]
    # the leaves hide the kind: all 32 bytes, whatever the event's length
    assert {len(bytes.fromhex(c["leaf"])) for c in ev["cases"]} == {32}
    for c in ev["event_refusals"]:
        with pytest.raises(InvalidInput, match=c["error"]):
            events.parse_event(bytes.fromhex(c["event"]))
    for c in ev["opening_refusals"]:
        with pytest.raises(InvalidInput, match=c["error"]):
            events.parse_opening(bytes.fromhex(c["opening"]))


def test_receipt_vectors(section: dict[str, Any], builder: Any) -> None:
    r = section["receipts"]
    assert r == builder.receipt_cases()
    assert receipts.expected_content(r["payload"]).hex() == r["content"]
    assert {c["label"] for c in r["cases"] if "error" not in c} == {
        "entry", "entry without content check", "withdrawal (cosigned checkpoint)"}
    deployment = dep.verify(section["deployment"]["published"], bytes.fromhex(section["deployment"]["fingerprint"]))
    for c in r["cases"]:
        if "error" in c:
            with pytest.raises(ConsilienceError) as info:
                receipts.check(c["text"], deployment, bytes.fromhex(c["entry_id"]), kind=c["kind"],
                               content=None if c["content"] is None else bytes.fromhex(c["content"]))
            assert str(info.value) == c["error"]
        else:
            # v2: the leaf the proof is for is the commitment the extra line opens
            assert events.parse_opening(bytes.fromhex(c["opening"])).leaf.hex() == c["leaf"]
            assert c["leaf"] in r["merkle"]["leaves"] and c["opening"] in r["openings"]
