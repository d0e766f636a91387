"""tests/vectors/conversations_interop.json against the Python SDK (PROTOCOL.md §13.1, §13.2).

The same file drives the browser SDK's tests. Its fixed parts (keys, contexts, inner bytes, signed
bytes, signatures, refusals and sender checks) must equal a fresh computation, so the file cannot
drift from the SDK; its random parts (contents, wraps) must open here as they must in the browser.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from consilience import errors
from consilience.errors import ConsilienceError
from consilience.protocol import conversations as cv

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
FILE = json.loads((VECTORS / "conversations_interop.json").read_text())


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_conversations", VECTORS / "make_conversations.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


GEN = _generator()
FRESH = GEN.build()
#: what changes with every run: the randomness of AEAD and HPKE
RANDOM = {"item_key", "content", "wrap", "wraps"}


def _h(x: str) -> bytes:
    return bytes.fromhex(x)


def _fixed(doc: Any) -> Any:
    if isinstance(doc, dict):
        kept = {k: _fixed(v) for k, v in doc.items() if k not in RANDOM}
        if "wraps" in doc:
            kept["wrap_recipients"] = [{k: w[k] for k in ("recipient", "key_id", "info")} for w in doc["wraps"]]
        return kept
    if isinstance(doc, list):
        return [_fixed(v) for v in doc]
    return doc


@pytest.mark.parametrize("section", ["constants", "reporters", "counselors", "document_counselors", "checks",
                                     "messaging_key_refusals"])
def test_fixed_sections_equal_the_sdk(section: str) -> None:
    assert FILE[section] == json.loads(json.dumps(FRESH[section])), (
        f"conversations_interop.json {section!r} is stale: run python tests/vectors/make_conversations.py")


@pytest.mark.parametrize("section", ["items", "refused", "rewrapped"])
def test_fixed_parts_of_sealed_items_equal_the_sdk(section: str) -> None:
    assert _fixed(FILE[section]) == _fixed(json.loads(json.dumps(FRESH[section])))


def test_the_fixed_parts_are_what_the_spec_says() -> None:
    constants = FILE["constants"]
    for item in FILE["items"]:
        ctx = _h(item["context"])
        assert ctx == bytes([item["kind"]]) + _h(item["scope"]) + _h(item["item_id"]) and len(ctx) == 33
        assert _h(item["signed_bytes"]) == constants["signature_label"].encode() + ctx + _h(item["inner_bytes"])
        assert _h(item["inner_bytes"]) == json.dumps(item["inner"], sort_keys=True, separators=(",", ":"),
                                                     ensure_ascii=False).encode()
        for w in item["wraps"]:
            assert _h(w["info"]) == constants["wrap_info"].encode() + ctx + _h(w["key_id"])


def _seed(label: str) -> bytes:
    people = {r["label"]: r["message_seed"] for r in FILE["reporters"]}
    people.update({c["label"]: c["hpke_seed"] for c in FILE["counselors"]})
    return _h(people[label])


@pytest.mark.parametrize("item", FILE["items"], ids=lambda i: i["label"])
def test_every_sealed_item_opens_for_every_recipient(item: dict[str, Any]) -> None:
    ctx = _h(item["context"])
    plain = ChaCha20Poly1305(_h(item["item_key"])).decrypt(_h(item["content"])[:12], _h(item["content"])[12:],
                                                          FILE["constants"]["content_aad"].encode() + ctx)
    assert plain == _h(item["signature"]) + _h(item["inner_bytes"])
    for w in item["wraps"]:
        opened = cv.open_item(cv.Kind(item["kind"]), _h(item["scope"]), _h(item["item_id"]), _h(item["content"]),
                              _h(w["wrap"]), _seed(w["recipient"]))
        assert opened.inner.to_bytes() == _h(item["inner_bytes"]) and opened.signature == _h(item["signature"])
        assert GEN._payload_json(opened.payload) == item["payload"]


def test_rewrapped_keys_open_for_the_new_counselor() -> None:
    items = {i["label"]: i for i in FILE["items"]}
    for case in FILE["rewrapped"]:
        item = items[case["item"]]
        opened = cv.open_item(cv.Kind(item["kind"]), _h(item["scope"]), _h(item["item_id"]), _h(item["content"]),
                              _h(case["wrap"]), _seed(case["to"]))
        assert opened.inner.to_bytes() == _h(item["inner_bytes"])


@pytest.mark.parametrize("case", FILE["refused"], ids=lambda c: c["what"])
def test_every_refused_item_is_refused(case: dict[str, Any]) -> None:
    with pytest.raises(ConsilienceError) as caught:
        cv.open_item(cv.Kind(case["kind"]), _h(case["scope"]), _h(case["item_id"]), _h(case["content"]),
                     _h(case["wrap"]), _seed(case["opener"]))
    assert type(caught.value) is getattr(errors, case["error"]) and str(caught.value) == case["message"]
