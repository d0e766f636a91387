"""Write tests/vectors/conversations_interop.json: sealed items after a match (PROTOCOL.md §13.1, §13.2).

    python tests/vectors/make_conversations.py

Every key comes from a fixed seed and every inner document has a fixed ``sent_at``, so the keys,
contexts, inner bytes, signed bytes and signatures (Ed25519 is deterministic) are fixed: the browser
SDK must reproduce each one byte for byte. The item keys, AEAD nonces and HPKE encapsulations are
random, so contents and wraps change with every run: they are checked by opening them (the browser
opens what Python sealed; tests/protocol/test_conversations_interop.py opens them here too, and
checks that the fixed parts equal a fresh computation). Test-only secrets (seeds, item keys) are in
the file so that each side can play every part.

Format (all bytes in lowercase hex; "inner" is the parsed JSON of "inner_bytes" for reading):

    {
      "_source": "...",
      "constants": {"signature_label", "content_aad", "wrap_info", "message_signing_label",
                    "counselor_signing_label": ASCII strings, "kdf_salt": "consilience-v1",
                    "context_bytes": 33, "message_key_bytes": 1248, "wrap_bytes": 1168,
                    "max_wraps": 64, "max_roster": 32, "max_name_chars": 64,
                    "kinds": {"message": 1, "card": 2, "note": 3}},
      "reporters": [{"label": "R1", "message_seed", "hpke_public" (1216), "signing_seed" (KDF of the seed),
                     "verify_key" (32), "messaging_key" (1248 = hpke_public || verify_key), "key_id" (16)}],
      "counselors": [{"label": "C1", "name", "hpke_seed", "public_key" (1216), "key_id", "signing_seed"
                      (KDF of hpke_seed), "signing_key" (32)}],   C3 is a counselor added later (handover)
      "document_counselors": ["C1", "C2"]   the counselors of the deployment document the checks use
      "items": [{"label", "kind" (1..3), "scope" (16), "item_id" (16), "context" (33 = kind||scope||item_id),
                 "signer": a reporter or counselor label, "type", "inner": {...}, "inner_bytes",
                 "signed_bytes" (= signature_label || context || inner_bytes), "signature" (64),
                 "item_key" (32, test-only), "content" (= nonce 12 || ChaCha20-Poly1305 of signature||inner
                 under item_key with aad content_aad || context), "recipients": [labels],
                 "wraps": [{"recipient": label, "key_id", "wrap" (1168), "info" (= wrap_info || context || key_id)}],
                 "payload": the fields as open_item returns them (bytes in hex, keys as messaging keys in hex),
                 "entry": hex | null, "to": messaging key hex | null}],
      "rewrapped": [{"item": label, "from": "C1", "to": "C3", "key_id", "wrap"}]  (opens with C3's seed)
      "refused": [{"what", "kind", "scope", "item_id", "content", "wrap", "opener": label,
                   "error": "DecryptionError" | "InvalidInput" | "VerificationError", "message"}]
                 each must be refused by open_item, with an error of that class
      "checks": [{"what", "item": label, "check": "direct" | "group" | "card" | "note",
                  "entry" (direct), "reporter" (direct, card: the pinned reporter label),
                  "roster" (group: the label of a roster item, or null), "introduction", "conversation" (card),
                  "result": "counselor:C1" | "reporter" | "member:R2" | "card" | null,
                  "error": null | "VerificationError" | "InvalidInput", "message"}]
                 the sender checks of PROTOCOL.md §13.2 against "document_counselors"
      "messaging_key_refusals": [{"what", "hex", "message"}]   each refused by MessagingPublicKey.parse
    }
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from consilience.crypto import aead, hpke, kdf, signing  # noqa: E402
from consilience.errors import ConsilienceError  # noqa: E402
from consilience.protocol import conversations as cv  # noqa: E402
from consilience.protocol import messages  # noqa: E402
from consilience.protocol.deployment import Counselor  # noqa: E402
from consilience.protocol.encoding import b64u_encode  # noqa: E402
from consilience.protocol.entry import Attachment  # noqa: E402

OUT = HERE / "conversations_interop.json"
SENT_AT = "2026-12-01T10:00:00Z"

REPORTER_SEEDS = {"R1": bytes([0x11]) * 32, "R2": bytes([0x12]) * 32, "R3": bytes([0x13]) * 32}
COUNSELOR_SEEDS = {"C1": bytes([0x21]) * 32, "C2": bytes([0x22]) * 32, "C3": bytes([0x23]) * 32}
COUNSELOR_NAMES = {"C1": "Dana Counselor", "C2": "Eli Counselor", "C3": "Fran Counselor"}
DOCUMENT = ("C1", "C2")

ENTRY_1 = bytes.fromhex("e1" * 16)
ENTRY_2 = bytes.fromhex("e2" * 16)
DIRECT_1 = bytes.fromhex("d1" * 16)  # R1's direct conversation
DIRECT_2 = bytes.fromhex("d2" * 16)  # R2's
GROUP = bytes.fromhex("9a" * 16)
INTRODUCTION = bytes.fromhex("17" * 16)
CASE = bytes.fromhex("ca" * 16)


def _id(n: int) -> bytes:
    return bytes([n]) * 16


REPORTERS = {label: cv.MessagingKey(seed) for label, seed in REPORTER_SEEDS.items()}


def _counselor(label: str) -> Counselor:
    seed = COUNSELOR_SEEDS[label]
    pk = hpke.public_key_bytes(seed)
    return Counselor(COUNSELOR_NAMES[label], hpke.key_id(pk), pk, cv.counselor_signing_key(seed))


COUNSELORS = {label: _counselor(label) for label in COUNSELOR_SEEDS}
#: what the check helpers read of a deployment: its counselors
DEPLOYMENT: Any = SimpleNamespace(counselors=tuple(COUNSELORS[c] for c in DOCUMENT))


def public_of(label: str) -> bytes:
    return REPORTERS[label].hpke_public if label.startswith("R") else COUNSELORS[label].public_key


def seed_of(label: str) -> bytes:
    return REPORTER_SEEDS[label] if label.startswith("R") else COUNSELOR_SEEDS[label]


def signer_seed_of(label: str) -> bytes:
    return REPORTERS[label].signing_seed if label.startswith("R") else cv.counselor_signing_seed(seed_of(label))


def key_id_of(label: str) -> bytes:
    return hpke.key_id(public_of(label))


def _h(b: bytes | None) -> str | None:
    return None if b is None else b.hex()


def _payload_json(payload: cv.Payload) -> dict[str, Any]:
    if isinstance(payload, cv.Text):
        return {"text": payload.text, "attachments": [{"name": a.name, "type": a.type, "data": a.data.hex()}
                                                      for a in payload.attachments]}
    if isinstance(payload, cv.Reveal):
        return {"contact": payload.contact, "text": payload.text}
    if isinstance(payload, cv.IntroductionMsg):
        return {"introduction": payload.introduction.hex(), "text": payload.text}
    if isinstance(payload, cv.Roster):
        return {"introduction": payload.introduction.hex(),
                "members": [{"name": m.name, "key": m.key.encode().hex()} for m in payload.members]}
    if isinstance(payload, cv.Card):
        return {"introduction": payload.introduction.hex(), "name": payload.name, "key": payload.key.encode().hex()}
    return {"text": payload.text}


def seal_raw(ctx: bytes, plaintext: bytes, recipients: list[str]) -> tuple[bytes, bytes, dict[str, bytes]]:
    """The §13.2 layers by hand over any plaintext, for items a correct sender would never make."""
    item_key = aead.new_key()
    content = aead.seal(item_key, plaintext, cv.CONTENT_AAD + ctx)
    wraps = {r: hpke.seal(public_of(r), item_key, cv.wrap_info(ctx, key_id_of(r))) for r in recipients}
    return item_key, content, wraps


def make_item(label: str, kind: cv.Kind, scope: bytes, item_id: bytes, payload: cv.Payload, signer: str,
              recipients: list[str], *, entry: bytes | None = None, to: str | None = None) -> dict[str, Any]:
    ctx = cv.context(kind, scope, item_id)
    inner = cv.Inner(payload=payload, sender=signing.public_key(signer_seed_of(signer)), sent_at=SENT_AT,
                     entry=entry, to=None if to is None else REPORTERS[to].public)
    inner_bytes = inner.to_bytes()
    signed = cv.signed_bytes(ctx, inner_bytes)
    signature = signing.sign(signer_seed_of(signer), signed)
    item_key, content, wraps = seal_raw(ctx, signature + inner_bytes, recipients)
    # what seal_item makes is the same up to its randomness: the same inner, signature and opening
    sealed = cv.seal_item(kind, scope, item_id, payload, signer_seed=signer_seed_of(signer),
                          recipients=[public_of(r) for r in recipients], sent_at=SENT_AT, entry=entry,
                          to=inner.to)
    again = cv.open_item(kind, scope, item_id, sealed.content, sealed.wraps[key_id_of(recipients[0])],
                         seed_of(recipients[0]))
    assert again.inner.to_bytes() == inner_bytes and again.signature == signature
    return {"label": label, "kind": int(kind), "scope": scope.hex(), "item_id": item_id.hex(), "context": ctx.hex(),
            "signer": signer, "type": inner.type, "inner": json.loads(inner_bytes), "inner_bytes": inner_bytes.hex(),
            "signed_bytes": signed.hex(), "signature": signature.hex(), "item_key": item_key.hex(),
            "content": content.hex(), "recipients": recipients,
            "wraps": [{"recipient": r, "key_id": key_id_of(r).hex(), "wrap": w.hex(),
                       "info": cv.wrap_info(ctx, key_id_of(r)).hex()} for r, w in wraps.items()],
            "payload": _payload_json(payload), "entry": _h(entry),
            "to": None if to is None else REPORTERS[to].encode_public().hex()}


def _roster() -> cv.Roster:
    return cv.Roster(INTRODUCTION, (cv.RosterMember("Ana", REPORTERS["R1"].public),
                                    cv.RosterMember("Bea 🌻", REPORTERS["R2"].public)))


def items() -> list[dict[str, Any]]:
    counselors = list(DOCUMENT)
    direct_1 = [*counselors, "R1"]
    group = [*counselors, "R1", "R2"]
    attachment = Attachment("photo.jpg", "image/jpeg", bytes(range(40)))
    return [
        make_item("counselor text", cv.Kind.MESSAGE, DIRECT_1, _id(1),
                  cv.Text("Hello. I am a counselor; you can answer here without giving any contact."),
                  "C1", direct_1, entry=ENTRY_1, to="R1"),
        make_item("reporter text with an attachment", cv.Kind.MESSAGE, DIRECT_1, _id(2),
                  cv.Text("", (attachment,)), "R1", direct_1, entry=ENTRY_1),
        make_item("reporter reveal", cv.Kind.MESSAGE, DIRECT_1, _id(3),
                  cv.Reveal("ana@example.org", "You can write to me there."), "R1", direct_1, entry=ENTRY_1),
        make_item("introduction", cv.Kind.MESSAGE, DIRECT_1, _id(4),
                  cv.IntroductionMsg(INTRODUCTION, "Others named the same person. Would you like to meet them?"),
                  "C1", direct_1, entry=ENTRY_1, to="R1"),
        make_item("card", cv.Kind.CARD, INTRODUCTION, DIRECT_1, cv.Card(INTRODUCTION, "Ana", REPORTERS["R1"].public),
                  "R1", direct_1),
        make_item("roster", cv.Kind.MESSAGE, GROUP, _id(5), _roster(), "C2", group),
        make_item("group text by a member", cv.Kind.MESSAGE, GROUP, _id(6), cv.Text("Hi both of you."), "R2", group),
        make_item("note", cv.Kind.NOTE, CASE, _id(7), cv.Note("Reached out on Monday; waiting."), "C2", counselors),
        make_item("text with escapes and non-ASCII", cv.Kind.MESSAGE, DIRECT_1, _id(8),
                  cv.Text('Zoë said "no"\n\ttwice\\ \x01\x1f\x7f \u2028 ü 日本 🌻'), "R1", direct_1, entry=ENTRY_1),
    ]


def _by_label(all_items: list[dict[str, Any]], label: str) -> dict[str, Any]:
    return next(i for i in all_items if i["label"] == label)


def _wrap(item: dict[str, Any], recipient: str) -> bytes:
    return bytes.fromhex(next(w["wrap"] for w in item["wraps"] if w["recipient"] == recipient))


def rewrapped(all_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for label in ("counselor text", "note"):
        item = _by_label(all_items, label)
        key_id, wrap = cv.rewrap(cv.Kind(item["kind"]), bytes.fromhex(item["scope"]), bytes.fromhex(item["item_id"]),
                                 _wrap(item, "C2"), seed_of("C2"), public_of("C3"))
        assert key_id == key_id_of("C3")
        out.append({"item": label, "from": "C2", "to": "C3", "key_id": key_id.hex(), "wrap": wrap.hex()})
    return out


def _refusal(what: str, kind: int, scope: bytes, item_id: bytes, content: bytes, wrap: bytes,
             opener: str) -> dict[str, Any]:
    case = {"what": what, "kind": kind, "scope": scope.hex(), "item_id": item_id.hex(), "content": content.hex(),
            "wrap": wrap.hex(), "opener": opener}
    try:
        cv.open_item(cv.Kind(kind), scope, item_id, content, wrap, seed_of(opener))
    except ConsilienceError as exc:
        return {**case, "error": type(exc).__name__, "message": str(exc)}
    raise AssertionError(f"{what}: expected a refusal")


def _inner_case(what: str, inner_bytes: bytes, *, kind: cv.Kind = cv.Kind.MESSAGE, signer: str = "R1",
                sign_as: str | None = None) -> dict[str, Any]:
    """An item whose layers are all correct around ``inner_bytes``, signed by ``sign_as`` (default ``signer``)."""
    scope, item_id = DIRECT_1, _id(0x40)
    ctx = cv.context(kind, scope, item_id)
    signature = signing.sign(signer_seed_of(sign_as or signer), cv.signed_bytes(ctx, inner_bytes))
    _, content, wraps = seal_raw(ctx, signature + inner_bytes, ["C1"])
    return _refusal(what, int(kind), scope, item_id, content, wraps["C1"], "C1")


def _doc(**fields: Any) -> dict[str, Any]:
    doc = {"v": 1, "type": "text", "sender": b64u_encode(REPORTERS["R1"].verify_key), "sent_at": SENT_AT,
           "text": "hello", "entry": b64u_encode(ENTRY_1)}
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not _DROP}


_DROP = object()


def refused(all_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    text = _by_label(all_items, "counselor text")
    note = _by_label(all_items, "note")
    card = _by_label(all_items, "card")
    kind, scope, item_id = text["kind"], bytes.fromhex(text["scope"]), bytes.fromhex(text["item_id"])
    content = bytes.fromhex(text["content"])
    c1 = _wrap(text, "C1")
    tampered = bytearray(content)
    tampered[20] ^= 1
    canon = cv.canonical_json
    roster_doc = json.loads(bytes.fromhex(_by_label(all_items, "roster")["inner_bytes"]))
    roster_doc["members"] = list(reversed(roster_doc["members"]))
    roster_doc["sender"] = b64u_encode(COUNSELORS["C1"].signing_key or b"")
    r2_key = b64u_encode(REPORTERS["R2"].encode_public())
    cases = [
        _refusal("another conversation", kind, DIRECT_2, item_id, content, c1, "C1"),
        _refusal("another message id", kind, scope, _id(0x7F), content, c1, "C1"),
        _refusal("another kind of item (a card opened as a message)", 1, bytes.fromhex(card["scope"]),
                 bytes.fromhex(card["item_id"]), bytes.fromhex(card["content"]), _wrap(card, "C1"), "C1"),
        _refusal("the wrap of another recipient", kind, scope, item_id, content, _wrap(text, "C2"), "C1"),
        _refusal("the wrap of another item", kind, scope, item_id, content, _wrap(note, "C1"), "C1"),
        _refusal("a key that has no wrap (R2 with R1's)", kind, scope, item_id, content, _wrap(text, "R1"), "R2"),
        _refusal("content changed", kind, scope, item_id, bytes(tampered), c1, "C1"),
        _refusal("content truncated", kind, scope, item_id, content[:-1], c1, "C1"),
        _refusal("wrap of the wrong length", kind, scope, item_id, content, c1[:-1], "C1"),
        _inner_case("signed by another key than the sender it names", canon(_doc()), sign_as="R2"),
        _inner_case("not canonical (spaces)", json.dumps(_doc(), sort_keys=True).encode()),
        _inner_case("not canonical (keys unsorted)",
                    json.dumps(dict(reversed(list(_doc().items()))), separators=(",", ":")).encode()),
        _inner_case("not canonical (ASCII escapes)", json.dumps(_doc(text="ü"), sort_keys=True,
                                                                separators=(",", ":")).encode()),
        _inner_case("a key twice", canon(_doc())[:-1] + b',"v":1}'),
        _inner_case("unknown type", canon(_doc(type="poll"))),
        _inner_case("unknown version", canon(_doc(v=2))),
        _inner_case("version true", canon(_doc(v=True))),
        _inner_case("missing field", canon(_doc(text=_DROP))),
        _inner_case("extra field", canon(_doc(colour="red"))),
        _inner_case("field of the wrong type", canon(_doc(text=5))),
        _inner_case("empty text without attachments", canon(_doc(text=""))),
        _inner_case("sent_at with a fraction", canon(_doc(sent_at="2026-12-01T10:00:00.000Z"))),
        _inner_case("sent_at with an offset", canon(_doc(sent_at="2026-12-01T10:00:00+00:00"))),
        _inner_case("entry of the wrong length", canon(_doc(entry=b64u_encode(bytes(15))))),
        _inner_case("padded base64url", canon(_doc(entry=b64u_encode(ENTRY_1) + "=="))),
        _inner_case("a reveal with a 'to'", canon(_doc(type="reveal", text=_DROP, contact="x", to=r2_key))),
        _inner_case("empty attachments", canon(_doc(attachments=[]))),
        _inner_case("an introduction without 'to'", canon(_doc(type="introduction", text="hi",
                                                               introduction=b64u_encode(INTRODUCTION)))),
        _inner_case("roster members not sorted by key", canon(roster_doc), signer="C1"),
        _inner_case("display name too long", canon({"v": 1, "type": "card", "sender": _doc()["sender"],
                                                    "sent_at": SENT_AT, "introduction": b64u_encode(INTRODUCTION),
                                                    "name": "a" * 65, "key": b64u_encode(
                                                        REPORTERS["R1"].encode_public())}), kind=cv.Kind.CARD),
        _inner_case("a note sealed as a message", canon({"v": 1, "type": "note", "sender": _doc()["sender"],
                                                         "sent_at": SENT_AT, "text": "n"})),
        _inner_case("not JSON", b"\xff\xfe"),
        _inner_case("a JSON array", b"[]"),
    ]
    ctx = cv.context(cv.Kind.MESSAGE, DIRECT_1, _id(0x41))
    _, short, short_wraps = seal_raw(ctx, bytes(64), ["C1"])
    cases.append(_refusal("plaintext no longer than a signature", 1, DIRECT_1, _id(0x41), short,
                          short_wraps["C1"], "C1"))
    return cases


def _opened(all_items: list[dict[str, Any]], label: str, opener: str = "C1") -> cv.Opened:
    item = _by_label(all_items, label)
    return cv.open_item(cv.Kind(item["kind"]), bytes.fromhex(item["scope"]), bytes.fromhex(item["item_id"]),
                        bytes.fromhex(item["content"]), _wrap(item, opener), seed_of(opener))


def _who(result: Any) -> str:
    if result is None:
        return "reporter"
    if isinstance(result, Counselor):
        return "counselor:" + next(k for k, c in COUNSELORS.items() if c == result)
    if isinstance(result, cv.RosterMember):
        return "member:" + next(k for k, r in REPORTERS.items() if r.public == result.key)
    return "card"


def extra_items() -> list[dict[str, Any]]:
    """Items an honest party never sends where the checks below find them."""
    # a roster signed by a reporter, for the group refusal
    forged = make_item("roster signed by a reporter", cv.Kind.MESSAGE, GROUP, _id(9), _roster(), "R1",
                       [*DOCUMENT, "R1", "R2"])
    # a group message by R3, who is in no roster
    outsider = make_item("group text by an outsider", cv.Kind.MESSAGE, GROUP, _id(10), cv.Text("let me in"), "R3",
                         [*DOCUMENT, "R3"])
    # a counselor message signed by C3, who is not in the document
    unlisted = make_item("text by an unlisted counselor", cv.Kind.MESSAGE, DIRECT_1, _id(11), cv.Text("hello"),
                         "C3", [*DOCUMENT, "R1"], entry=ENTRY_1, to="R1")
    return [forged, outsider, unlisted]


def checks(everything: list[dict[str, Any]]) -> list[dict[str, Any]]:
    roster = _opened(everything, "roster").payload
    assert isinstance(roster, cv.Roster)
    plan: list[dict[str, Any]] = [
        {"what": "a counselor's message to the pinned key", "item": "counselor text", "check": "direct",
         "entry": ENTRY_1, "reporter": "R1"},
        {"what": "the reporter's own message", "item": "reporter text with an attachment", "check": "direct",
         "entry": ENTRY_1, "reporter": "R1"},
        {"what": "a reveal by the reporter", "item": "reporter reveal", "check": "direct", "entry": ENTRY_1,
         "reporter": "R1"},
        {"what": "an introduction", "item": "introduction", "check": "direct", "entry": ENTRY_1, "reporter": "R1"},
        {"what": "a counselor's message checked against another reporter's key", "item": "counselor text",
         "check": "direct", "entry": ENTRY_1, "reporter": "R2"},
        {"what": "a message about another entry", "item": "counselor text", "check": "direct", "entry": ENTRY_2,
         "reporter": "R1"},
        {"what": "a counselor the document does not list", "item": "text by an unlisted counselor",
         "check": "direct", "entry": ENTRY_1, "reporter": "R1"},
        {"what": "a roster in a direct conversation", "item": "roster", "check": "direct", "entry": ENTRY_1,
         "reporter": "R1"},
        {"what": "a roster by a counselor", "item": "roster", "check": "group", "roster": None},
        {"what": "a member's message", "item": "group text by a member", "check": "group", "roster": "roster"},
        {"what": "a member's message before any roster", "item": "group text by a member", "check": "group",
         "roster": None},
        {"what": "a roster signed by a reporter", "item": "roster signed by a reporter", "check": "group",
         "roster": "roster"},
        {"what": "a message by someone in no roster", "item": "group text by an outsider", "check": "group",
         "roster": "roster"},
        {"what": "a direct message in a group", "item": "counselor text", "check": "group", "roster": "roster"},
        {"what": "a card by the pinned reporter", "item": "card", "check": "card", "introduction": INTRODUCTION,
         "conversation": DIRECT_1, "reporter": "R1"},
        {"what": "a card checked against another reporter's key", "item": "card", "check": "card",
         "introduction": INTRODUCTION, "conversation": DIRECT_1, "reporter": "R2"},
        {"what": "a card checked for another introduction", "item": "card", "check": "card",
         "introduction": _id(0x55), "conversation": DIRECT_1, "reporter": "R1"},
        {"what": "a note by a listed counselor", "item": "note", "check": "note"},
        {"what": "a message checked as a note", "item": "counselor text", "check": "note"},
    ]
    out = []
    for case in plan:
        opened = _opened(everything, case["item"])
        try:
            if case["check"] == "direct":
                result = cv.check_direct(opened, DEPLOYMENT, entry_id=case["entry"],
                                         reporter_key=REPORTERS[case["reporter"]].public)
            elif case["check"] == "group":
                result = cv.check_group(opened, DEPLOYMENT, roster if case["roster"] else None)
            elif case["check"] == "card":
                result = cv.check_card(opened, introduction_id=case["introduction"],
                                       conversation_id=case["conversation"],
                                       reporter_key=REPORTERS[case["reporter"]].public)
            else:
                result = cv.check_note(opened, DEPLOYMENT)
            outcome = {"result": _who(result), "error": None, "message": None}
        except ConsilienceError as exc:
            outcome = {"result": None, "error": type(exc).__name__, "message": str(exc)}
        out.append({**{k: (v.hex() if isinstance(v, bytes) else v) for k, v in case.items()}, **outcome})
    return out


def messaging_key_refusals() -> list[dict[str, Any]]:
    good = REPORTERS["R1"].encode_public()
    low_order = good[:hpke.MLKEM768_PUBLIC_BYTES] + bytes(32) + good[hpke.PUBLIC_KEY_BYTES:]
    cases = [("one byte short", good[:-1]), ("one byte long", good + b"\x00"),
             ("a low-order X25519 part", low_order), ("ML-KEM part out of range", b"\xff" * 1184 + good[1184:])]
    out = []
    for what, data in cases:
        try:
            cv.MessagingPublicKey.parse(data)
        except ConsilienceError as exc:
            out.append({"what": what, "hex": data.hex(), "message": str(exc)})
        else:
            raise AssertionError(f"{what}: expected a refusal")
    return out


def keys() -> dict[str, Any]:
    reporters = [{"label": label, "message_seed": k.seed.hex(), "hpke_public": k.hpke_public.hex(),
                  "signing_seed": k.signing_seed.hex(), "verify_key": k.verify_key.hex(),
                  "messaging_key": k.encode_public().hex(), "key_id": k.key_id.hex()}
                 for label, k in REPORTERS.items()]
    counselors = [{"label": label, "name": c.name, "hpke_seed": COUNSELOR_SEEDS[label].hex(),
                   "public_key": c.public_key.hex(), "key_id": c.key_id.hex(),
                   "signing_seed": cv.counselor_signing_seed(COUNSELOR_SEEDS[label]).hex(),
                   "signing_key": (c.signing_key or b"").hex()} for label, c in COUNSELORS.items()]
    return {"reporters": reporters, "counselors": counselors}


def build() -> dict[str, Any]:
    all_items = items()
    everything = all_items + extra_items()
    return {
        "_source": "tests/vectors/make_conversations.py; do not edit by hand (its docstring gives the format). "
                   "Test-only secrets so each side can play every part.",
        "constants": {"signature_label": cv.SIGNATURE_LABEL.decode(), "content_aad": cv.CONTENT_AAD.decode(),
                      "wrap_info": cv.WRAP_INFO.decode(), "message_signing_label": cv.MESSAGE_SIGNING_LABEL,
                      "counselor_signing_label": cv.COUNSELOR_SIGNING_LABEL, "kdf_salt": kdf.SALT.decode(),
                      "context_bytes": cv.CONTEXT_BYTES, "message_key_bytes": messages.MESSAGE_KEY_BYTES,
                      "wrap_bytes": messages.WRAP_BYTES, "max_wraps": messages.MAX_WRAPS,
                      "max_roster": cv.MAX_ROSTER, "max_name_chars": cv.MAX_NAME_CHARS,
                      "kinds": {k.name.lower(): int(k) for k in cv.Kind}},
        **keys(),
        "document_counselors": list(DOCUMENT),
        "items": everything,
        "rewrapped": rewrapped(all_items),
        "refused": refused(all_items),
        "checks": checks(everything),
        "messaging_key_refusals": messaging_key_refusals(),
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")
