"""JS seals, Python opens: sealed items after a match (PROTOCOL.md §13.2).

web/test/cli/seal_conversations.js seals one item of every type with the browser SDK, using the
fixed test keys of tests/vectors/conversations_interop.json, re-wraps one to a counselor added
later, and writes an entry body with a messaging key. Here protocol/conversations.py opens each for
each recipient, finds the inner bytes the browser wrote, and runs the sender checks a reader runs;
and a wrong key, context or kind is refused. (The other direction, Python sealing and the browser
opening, is web/test/conversations.test.js on the vectors.) Skipped only when node is missing, and
never under CI=true.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from consilience.crypto import hpke
from consilience.errors import DecryptionError, VerificationError
from consilience.protocol import conversations as cv
from consilience.protocol.deployment import Counselor
from consilience.protocol.entry import Body
from node_sdk import node_for

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "web" / "test" / "cli" / "seal_conversations.js"
VECTORS = json.loads((ROOT / "tests" / "vectors" / "conversations_interop.json").read_text())


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    node = node_for("JS -> Python interop of sealed items, web/test/cli/seal_conversations.js")
    done = subprocess.run([node, str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _h(x: str) -> bytes:
    return bytes.fromhex(x)


SEEDS = {r["label"]: _h(r["message_seed"]) for r in VECTORS["reporters"]} | \
    {c["label"]: _h(c["hpke_seed"]) for c in VECTORS["counselors"]}
REPORTER_KEYS = {r["label"]: cv.MessagingPublicKey.parse(_h(r["messaging_key"])) for r in VECTORS["reporters"]}
COUNSELORS = {c["label"]: Counselor(c["name"], _h(c["key_id"]), _h(c["public_key"]), _h(c["signing_key"]))
              for c in VECTORS["counselors"]}
#: check_* read only the document's counselors
DEPLOYMENT: Any = SimpleNamespace(counselors=tuple(COUNSELORS[c] for c in VECTORS["document_counselors"]))


def _open(item: dict[str, Any], mine: dict[str, Any], **over: Any) -> cv.Opened:
    args = {"kind": cv.Kind(item["kind"]), "scope": _h(item["scope"]), "item_id": _h(item["item_id"]),
            "content": _h(item["content"]), "wrap": _h(mine["wrap"]), "my_seed": SEEDS[mine["recipient"]]} | over
    return cv.open_item(args["kind"], args["scope"], args["item_id"], args["content"], args["wrap"], args["my_seed"])


def _items(js: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["label"]: i for i in js["items"]}


def test_every_js_item_opens_for_every_recipient(js: dict[str, Any]) -> None:
    assert [i["type"] for i in js["items"]] == ["text", "text", "reveal", "introduction", "card", "roster", "text",
                                                "note"]
    for item in js["items"]:
        for wrap in item["wraps"]:
            assert wrap["key_id"] == hpke.key_id(hpke.public_key_bytes(SEEDS[wrap["recipient"]])).hex()
            opened = _open(item, wrap)
            assert opened.inner.to_bytes().hex() == item["inner_bytes"], item["label"]
            assert cv.context(opened.kind, opened.scope, opened.item_id).hex() == item["context"]
            signer = SEEDS[item["signer"]]
            expected = (cv.counselor_signing_key(signer) if item["signer"].startswith("C")
                        else cv.MessagingKey(signer).verify_key)
            assert opened.sender == expected


def test_js_items_pass_the_readers_checks(js: dict[str, Any]) -> None:
    items = _items(js)
    entry, r1 = _h(js["entry"]), REPORTER_KEYS["R1"]
    first = lambda label: _open(items[label], items[label]["wraps"][0])  # noqa: E731
    assert cv.check_direct(first("counselor text"), DEPLOYMENT, entry_id=entry, reporter_key=r1) == COUNSELORS["C1"]
    own = first("reporter text with an attachment")
    assert cv.check_direct(own, DEPLOYMENT, entry_id=entry, reporter_key=r1) is None
    text = first("reporter text with an attachment").payload
    assert isinstance(text, cv.Text)
    assert text.text == 'é \u2028 😀 "quoted" \\ back'
    assert [(a.name, a.type, a.data) for a in text.attachments] == [("note.txt", "text/plain", b"plate AB12")]
    reveal = first("reporter reveal")
    assert cv.check_direct(reveal, DEPLOYMENT, entry_id=entry, reporter_key=r1) is None
    assert isinstance(reveal.payload, cv.Reveal) and reveal.payload.contact == "ana@example.org"
    assert cv.check_direct(first("introduction"), DEPLOYMENT, entry_id=entry, reporter_key=r1) == COUNSELORS["C2"]
    card = cv.check_card(first("card"), introduction_id=_h(js["introduction"]), conversation_id=_h(js["direct"]),
                         reporter_key=r1)
    assert (card.name, card.key) == ("Ana 🌱", r1)
    roster = first("roster")
    assert cv.check_group(roster, DEPLOYMENT, None) == COUNSELORS["C1"]
    assert isinstance(roster.payload, cv.Roster)
    assert sorted(m.name for m in roster.payload.members) == ["Ana 🌱", "Bo"]
    member = cv.check_group(first("group text by a member"), DEPLOYMENT, roster.payload)
    assert isinstance(member, cv.RosterMember) and member.name == "Bo"
    assert cv.check_note(first("note"), DEPLOYMENT) == COUNSELORS["C2"]
    # the counselor's message checked against another reporter's key: refused, as the browser refuses it
    with pytest.raises(VerificationError, match="another reporter's key"):
        cv.check_direct(first("counselor text"), DEPLOYMENT, entry_id=entry, reporter_key=REPORTER_KEYS["R2"])


def test_js_items_refused_in_another_context_or_for_another_key(js: dict[str, Any]) -> None:
    item = _items(js)["counselor text"]
    wrap = item["wraps"][0]
    for over in ({"scope": b"\x01" * 16}, {"item_id": b"\x01" * 16}, {"kind": cv.Kind.NOTE},
                 {"my_seed": SEEDS["R2"]}, {"wrap": _h(item["wraps"][1]["wrap"])}):
        with pytest.raises(DecryptionError):
            _open(item, wrap, **over)
    changed = bytearray(_h(item["content"]))
    changed[-1] ^= 1
    with pytest.raises(DecryptionError):
        _open(item, wrap, content=bytes(changed))


def test_js_rewrap_opens_for_the_new_counselor(js: dict[str, Any]) -> None:
    item = _items(js)[js["rewrapped"]["item"]]
    moved = {"recipient": js["rewrapped"]["to"], "wrap": js["rewrapped"]["wrap"]}
    assert js["rewrapped"]["key_id"] == COUNSELORS["C3"].key_id.hex()
    assert _open(item, moved).inner.to_bytes().hex() == item["inner_bytes"]


def test_js_body_with_a_messaging_key(js: dict[str, Any]) -> None:
    body = Body.from_bytes(_h(js["body"]))
    assert body.messaging_key == _h(js["body_messaging_key"])
    assert body.to_bytes() == _h(js["body"])
