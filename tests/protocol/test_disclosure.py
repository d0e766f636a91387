"""Disclosures (PROTOCOL.md §14.3): a valid one verifies offline; every field changed is refused, with its reason.

The cases are the ones in tests/vectors/disclosure_interop.json (written by tests/vectors/make_disclosure.py
from fixed inputs), which the browser's verifier checks too, so both verifiers are held to the same list.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from consilience.protocol import disclosure
from consilience.protocol.encoding import b64u_decode
from consilience.tlog import checkpoint as cp
from consilience.tlog import consistency, merkle

ROOT = Path(__file__).resolve().parents[2]
VECTOR = ROOT / "tests" / "vectors" / "disclosure_interop.json"


def _maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_disclosure", ROOT / "tests" / "vectors" / "make_disclosure.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _maker()
CASES: list[dict[str, Any]] = json.loads(VECTOR.read_text())["tampered"]


def test_the_vector_file_is_what_the_generator_writes() -> None:
    """Everything is fixed, so a change to the format or the verifier's field names shows here first."""
    assert json.loads(VECTOR.read_text()) == json.loads(json.dumps(MAKE.vector(), ensure_ascii=False))


def test_a_valid_disclosure_verifies_and_shows_what_was_written_and_when() -> None:
    doc = json.loads(VECTOR.read_text())["valid"]
    check = disclosure.verify(doc, admin_fingerprint=b64u_decode(doc["admin_fingerprint"]))
    body = MAKE.body()
    assert check.record == body.record and check.details == body.details
    assert check.identifiers == ("alex@example.org",) and check.contact == body.contact
    assert [(a.name, a.type, a.size) for a in check.attachments] == [("note.txt", "text/plain", 22)]
    assert check.logged_at == MAKE.LOGGED_AT
    assert (check.leaf_index, check.receipt_size, check.checkpoint_size) == (3, 4, 8)
    assert [(w.name, w.time) for w in check.witnesses] == [(MAKE.WITNESS_NAME, MAKE.COSIGNED_AT)]
    assert len(check.checks) == 6


def test_without_a_bundle_it_still_verifies_but_no_witness_is_claimed() -> None:
    doc = MAKE.valid()
    doc["consistency"] = None
    check = disclosure.verify(doc)
    assert check.checkpoint_size is None and check.witnesses == ()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_field_tampered_is_refused_with_its_reason(case: dict[str, Any]) -> None:
    given = case.get("admin_fingerprint")
    with pytest.raises(disclosure.DisclosureRefused) as refused:
        disclosure.verify(case["document"], admin_fingerprint=None if given is None else b64u_decode(given))
    assert refused.value.field == case["field"]
    assert refused.value.reason and str(refused.value).startswith(case["field"] + ": ")


def test_every_top_level_field_and_every_part_is_covered() -> None:
    """Each field of the document and each part of the entry, receipt and bundle has a tampered case."""
    named = {c["field"] for c in CASES}
    assert {"format", "made_at", "admin_fingerprint", "body_key", "entry", "entry.entry_id", "entry.quorum",
            "deployment.signature", "deployment.admin_key", "receipt", "receipt.opening", "receipt.inclusion",
            "receipt.checkpoint", "consistency", "consistency.old", "consistency.proof", "consistency.checkpoint",
            "consistency.cosignature"} <= named


def test_a_log_that_forked_after_the_receipt_cannot_show_a_witnessed_checkpoint() -> None:
    """The operator, as an attacker: after the receipt it signs another history without the entry's leaf,
    gets it cosigned by a witness that never saw the real one, and bundles it with a proof from that
    history. The proof cannot link the receipt's root to it, so the disclosure is refused."""
    doc = MAKE.valid()
    fork = merkle.MemoryTree()
    for n in range(8):
        fork.append(bytes([0xF0 + n]) * 32)
    d = MAKE.deployment()
    note = cp.cosign(cp.sign_checkpoint(cp.Checkpoint(d.log_origin, 8, fork.root(8)), MAKE.LOG_SEED),
                     MAKE.WITNESS_NAME, MAKE.WITNESS_SEED, MAKE.COSIGNED_AT)
    doc["consistency"] = consistency.ConsistencyBundle(4, tuple(merkle.consistency_proof(fork, 4, 8)), note).encode()
    with pytest.raises(disclosure.DisclosureRefused) as refused:
        disclosure.verify(doc)
    assert refused.value.field == "consistency.proof"


def test_a_checkpoint_signed_by_a_key_the_deployment_does_not_name_is_refused() -> None:
    """Anyone can sign a checkpoint with the log's origin under a key of their own."""
    doc = MAKE.valid()
    d = MAKE.deployment()
    bundle = consistency.parse(doc["consistency"])
    head = cp.parse_signed_checkpoint(bundle.checkpoint)[0]
    doc["consistency"] = replace(bundle, checkpoint=cp.sign_checkpoint(head, bytes([0x66]) * 32,
                                                                        name=d.log_origin)).encode()
    with pytest.raises(disclosure.DisclosureRefused) as refused:
        disclosure.verify(doc)
    assert refused.value.field == "consistency.checkpoint"
