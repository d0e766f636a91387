"""The "protocol" section of tests/vectors/interop.json against the Python SDK (web interop, issue 4).

web/test/protocol.test.js makes the browser SDK reproduce this section; here
the section is rebuilt from the SDK and must equal the file, so neither side
can drift: a change to identifier normalisation, the body layout, deployment
or receipt checking shows up as a stale vectors file until it is regenerated
(``python tests/vectors/make_interop.py``) and the JS passes again.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from consilience.clients import receipts
from consilience.errors import ConsilienceError
from consilience.protocol import deployment as dep
from consilience.protocol import identifiers
from consilience.protocol.entry import Body

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors" / "interop.json"


def _module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
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


def test_unicode_digests_are_current(section: dict[str, Any], builder: Any) -> None:
    assert section["unicode"] == builder.unicode_digests()


def test_body_vectors_are_current_and_old_layout_unchanged(section: dict[str, Any], builder: Any) -> None:
    assert section["body"] == builder.body_cases()
    old = bytes.fromhex(section["body"]["old_layout"])
    assert b"details" not in old and b"attachments" not in old
    assert Body.from_bytes(old).to_bytes() == old


def test_deployment_vectors(section: dict[str, Any], builder: Any) -> None:
    d = section["deployment"]
    assert d == builder.deployment_cases()
    verified = dep.verify(d["published"], bytes.fromhex(d["fingerprint"]))
    assert verified.serial == d["expected"]["serial"] and verified.log_vkey == d["expected"]["log"]["vkey"]
    for case in d["refusals"]:
        with pytest.raises(ConsilienceError) as info:
            dep.verify(case["published"], bytes.fromhex(case["fingerprint"]), min_serial=case["min_serial"])
        assert str(info.value) == case["error"] and type(info.value).__name__ == case["type"]


def test_receipt_vectors(section: dict[str, Any], builder: Any) -> None:
    r = section["receipts"]
    assert r == builder.receipt_cases()
    assert receipts.expected_content(r["payload"]).hex() == r["content"]
    assert {c["label"] for c in r["cases"] if "error" not in c} == {
        "entry", "entry without content check", "withdrawal (cosigned checkpoint)"}
