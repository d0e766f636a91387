"""Write tests/vectors/disclosure_interop.json: a disclosure (PROTOCOL.md §14.3) and tampered copies.

    python tests/vectors/make_disclosure.py

Every input is fixed (administrator, log, witness, key-server and counselor seeds, the entry id,
body key, body nonce, tags, envelope bytes, leaf nonces, event and cosignature times), so the file
is reproducible byte for byte. The envelopes are opaque bytes: a disclosure's verifier never opens
them, it only recomputes the content hash over them. ``valid`` must verify; each of ``tampered``
must be refused, and ``field`` is the field Python's verifier names (``category`` the top-level part
it belongs to, what another verifier is expected to name at least). A case with
``admin_fingerprint`` is checked with that fingerprint given (``--admin-fingerprint``).
tests/protocol/test_disclosure.py checks the file against the Python verifier; web/test/disclosure.test.js
(the browser's verifier) accepts ``valid`` and refuses every tampered copy.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305  # noqa: E402

from consilience.crypto import hpke, signing  # noqa: E402
from consilience.protocol import deployment as deployment_doc  # noqa: E402
from consilience.protocol import disclosure, events  # noqa: E402
from consilience.protocol.deployment import Counselor, Deployment, KeyChange, KeyServer  # noqa: E402
from consilience.protocol.encoding import b64u_decode, b64u_encode  # noqa: E402
from consilience.protocol.entry import BODY_AAD, Attachment, Body  # noqa: E402
from consilience.tlog import checkpoint as cp  # noqa: E402
from consilience.tlog import consistency, merkle, receipt  # noqa: E402

OUT = HERE / "disclosure_interop.json"
DEPLOYMENT_ID = bytes.fromhex("d5" * 16)
ADMIN_SEED = bytes.fromhex("ad" * 32)
OTHER_ADMIN_SEED = bytes.fromhex("ae" * 32)
LOG_SEED = bytes.fromhex("10" * 32)
WITNESS_SEED = bytes.fromhex("77" * 32)
WITNESS_NAME = "witness.example/w1"
ENTRY_ID = bytes.fromhex("e1" * 16)
BODY_KEY = bytes.fromhex("b0" * 32)
BODY_NONCE = bytes.fromhex("0c" * 12)
TAGS = [bytes.fromhex("7a" * 32), bytes.fromhex("7b" * 32)]
LOGGED_AT = datetime(2026, 3, 3, 9, 30, 0, 123000, tzinfo=UTC)
COSIGNED_AT = int(datetime(2026, 3, 3, 10, 0, 0, tzinfo=UTC).timestamp())
MADE_AT = "2031-06-01T12:00:00+00:00"


def deployment(admin_seed: bytes = ADMIN_SEED) -> Deployment:
    servers = tuple(KeyServer(i, f"http://127.0.0.1:{8100 + i}", b"",
                              signing.public_key(bytes([i]) * 32), hpke.public_key_bytes(bytes([0x40 + i]) * 32))
                    for i in range(1, 4))
    counselor = hpke.public_key_bytes(bytes.fromhex("c0" * 32))
    return Deployment(
        deployment_id=DEPLOYMENT_ID, serial=3, issued_at="2026-03-01T10:00:00Z", quorum=2, max_quorum=5,
        escrow_url="https://escrow.example.org", threshold=2, oprf_public_key=b"", key_servers=servers,
        counselors=(Counselor("Counselor A", hpke.key_id(counselor), counselor),),
        log_origin=f"consilience.log/{DEPLOYMENT_ID.hex()}", log_public_key=signing.public_key(LOG_SEED),
        witnesses=(cp.cosignature_vkey(WITNESS_NAME, signing.public_key(WITNESS_SEED)),),
        key_change=KeyChange(1, "generate", 2, servers))


def body() -> Body:
    return Body(record="He followed me home from the library on 2 March and would not leave. — Zoë",
                identifiers=["alex@example.org"], canonical=["email:alex@example.org"],
                contact="signal: +44 7700 900123", written_at="2026-03-03T09:25:00+00:00",
                details={"what": "followed me home", "when": "2 March 2026, about 21:00", "where": "Elm Street"},
                attachments=(Attachment("note.txt", "text/plain", b"a photo would go here\n"),))


def entry() -> dict[str, Any]:
    key_id = deployment().counselors[0].key_id
    sealed = BODY_NONCE + ChaCha20Poly1305(BODY_KEY).encrypt(BODY_NONCE, body().to_bytes(), BODY_AAD + ENTRY_ID)
    return {"entry_id": b64u_encode(ENTRY_ID), "quorum": 2, "tags": [b64u_encode(t) for t in TAGS],
            "body": b64u_encode(sealed),
            "envelopes": [{"key_id": b64u_encode(key_id), "ciphertext": b64u_encode(bytes(range(256)) * 4)}]}


def _content(doc: dict[str, Any]) -> bytes:
    return events.content_hash(doc["quorum"], [b64u_decode(t) for t in doc["tags"]], b64u_decode(doc["body"]),
                               [(b64u_decode(e["key_id"]), b64u_decode(e["ciphertext"])) for e in doc["envelopes"]])


def valid(*, witnessed: bool = True, admin_seed: bytes = ADMIN_SEED) -> dict[str, Any]:
    """Three padding leaves, the entry's (index 3, receipt at size 4), four more; the newer checkpoint at 8."""
    d = deployment(admin_seed)
    tree = merkle.MemoryTree()
    leaves: list[bytes] = []
    for n in range(8):
        if n == 3:
            opening = events.Opening(bytes([0xE0]) * 32, events.entry_event(ENTRY_ID, _content(entry()), LOGGED_AT))
            mine = opening
        else:
            opening = events.Opening(bytes([n]) * 32, events.padding_event(LOGGED_AT))
        leaves.append(opening.leaf)
        tree.append(opening.leaf)

    def signed(size: int) -> str:
        return cp.sign_checkpoint(cp.Checkpoint(d.log_origin, size, tree.root(size)), LOG_SEED)

    # as the escrow server does (services/escrow/transparency.py): issued for the leaf, carrying its opening
    issued = receipt.issue_receipt(tree, index=3, leaf=mine.leaf, checkpoint=signed(4))
    text = dataclasses.replace(receipt.parse_receipt(issued), extra=mine.encoded).encode()
    newer = signed(8)
    if witnessed:
        newer = cp.cosign(newer, WITNESS_NAME, WITNESS_SEED, COSIGNED_AT)
    bundle = consistency.ConsistencyBundle(4, tuple(merkle.consistency_proof(tree, 4, 8)), newer).encode()
    return disclosure.make(published=deployment_doc.sign(d, admin_seed), entry=entry(), body_key=BODY_KEY,
                           receipt=text, consistency_bundle=bundle, made_at=MADE_AT)


# -- tampering ------------------------------------------------------------------------------


def _flip_b64u(text: str, at: int = 0) -> str:
    data = bytearray(b64u_decode(text))
    data[at] ^= 1
    return b64u_encode(bytes(data))


def _line(text: str, prefix: str, change: Callable[[str], str]) -> str:
    lines = text.split("\n")
    n = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    lines[n] = change(lines[n])
    return "\n".join(lines)


def _flip_b64(line: str) -> str:
    import base64

    head, _, value = line.rpartition(" ")
    data = bytearray(base64.b64decode(value))
    data[-1] ^= 1
    encoded = base64.b64encode(bytes(data)).decode()
    return f"{head} {encoded}" if head else encoded


def _receipt_proof_line(text: str, n: int, change: Callable[[str], str]) -> str:
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("index ")) + 1
    lines[first + n] = change(lines[first + n])
    return "\n".join(lines)


def _note_part(text: str, change: Callable[[str], str]) -> str:
    """Change the signed checkpoint at the end of a receipt or bundle."""
    head, sep, note = text.partition("\n\n")
    return head + sep + change(note)


def _checkpoint_root(note: str) -> str:
    lines = note.split("\n")
    lines[2] = _flip_b64(lines[2])
    return "\n".join(lines)


def _signature_line(note: str, name: str) -> str:
    return _line(note, f"\u2014 {name} ", _flip_b64)


def _drop_line(note: str, name: str) -> str:
    return "\n".join(line for line in note.split("\n") if not line.startswith(f"\u2014 {name} "))


def _redocument(published: dict[str, str], change: Callable[[dict[str, Any]], None]) -> dict[str, str]:
    doc = json.loads(b64u_decode(published["document"]))
    change(doc)
    return {**published, "document": b64u_encode(deployment_doc.canonical_json(doc))}


def tampered(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every field changed in turn, each with the field Python's verifier names."""
    origin = deployment().log_origin
    cases: list[dict[str, Any]] = []

    def case(name: str, field: str, change: Callable[[dict[str, Any]], None], **extra: Any) -> None:
        changed = copy.deepcopy(doc)
        change(changed)
        cases.append({"name": name, "field": field, "category": field.split(".")[0].split("[")[0],
                      "document": changed, **extra})

    def put(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
        def change(d: dict[str, Any]) -> None:
            *parents, last = path.split(".")
            target: Any = d
            for p in parents:
                target = target[int(p)] if isinstance(target, list) else target[p]
            if isinstance(target, list):
                target[int(last)] = value
            else:
                target[last] = value
        return change

    e, r, c = doc["entry"], doc["receipt"], doc["consistency"]
    other_admin = signing.public_key(OTHER_ADMIN_SEED)
    case("another format", "format", put("format", "consilience-disclosure/v2"))
    case("made_at is not a time", "made_at", put("made_at", "yesterday"))
    case("a field added", "signature", put("signature", "trust me"))
    case("a field removed", "body_key", lambda d: d.pop("body_key"))
    case("admin_fingerprint of another administrator", "deployment.admin_key",
         put("admin_fingerprint", b64u_encode(deployment_doc.admin_fingerprint(other_admin))))
    case("the deployment's admin_key replaced", "deployment.admin_key",
         put("deployment.admin_key", b64u_encode(other_admin)))
    case("the deployment's signature changed", "deployment.signature",
         put("deployment.signature", _flip_b64u(doc["deployment"]["signature"])))
    case("the deployment document changed (a witness added)", "deployment.signature",
         put("deployment", _redocument(doc["deployment"], lambda x: x["log"]["witnesses"].append(
             cp.cosignature_vkey("witness.example/mallory", signing.public_key(bytes([0x99]) * 32))))))
    forged = valid(admin_seed=OTHER_ADMIN_SEED)
    cases.append({"name": "a whole disclosure under another administrator, checked with the real fingerprint",
                  "field": "admin_fingerprint", "category": "admin_fingerprint", "document": forged,
                  "admin_fingerprint": doc["admin_fingerprint"]})
    case("entry_id changed", "entry.entry_id", put("entry.entry_id", _flip_b64u(e["entry_id"])))
    case("quorum changed", "entry", put("entry.quorum", 3))
    case("quorum not a number", "entry.quorum", put("entry.quorum", "2"))
    case("a tag changed", "entry", put("entry.tags.0", _flip_b64u(e["tags"][0])))
    case("a tag removed", "entry", lambda d: d["entry"]["tags"].pop())
    case("a tag not base64url", "entry.tags[1]", put("entry.tags.1", "not a tag"))
    case("the body changed", "entry", put("entry.body", _flip_b64u(e["body"], 20)))
    case("an envelope's ciphertext changed", "entry",
         put("entry.envelopes.0.ciphertext", _flip_b64u(e["envelopes"][0]["ciphertext"], 5)))
    case("an envelope's key_id changed", "entry",
         put("entry.envelopes.0.key_id", _flip_b64u(e["envelopes"][0]["key_id"])))
    case("an envelope added", "entry", lambda d: d["entry"]["envelopes"].append(
        {"key_id": b64u_encode(bytes(16)), "ciphertext": b64u_encode(b"x" * 40)}))
    case("the body key changed", "body_key", put("body_key", _flip_b64u(doc["body_key"])))
    case("the body key too short", "body_key", put("body_key", b64u_encode(bytes(16))))
    case("the receipt's header changed", "receipt", put("receipt", r.replace("tlog-proof@v1", "tlog-proof@v2", 1)))
    case("the receipt's opening (nonce) changed", "receipt.inclusion",
         put("receipt", _line(r, "extra ", _flip_b64)))
    case("the receipt's opening removed", "receipt.opening",
         put("receipt", "\n".join(line for line in r.split("\n") if not line.startswith("extra "))))
    case("the receipt's index changed", "receipt.inclusion", put("receipt", r.replace("index 3", "index 2", 1)))
    case("a receipt proof hash changed", "receipt.inclusion", put("receipt", _receipt_proof_line(r, 0, _flip_b64)))
    case("the receipt's checkpoint root changed", "receipt.checkpoint",
         put("receipt", _note_part(r, _checkpoint_root)))
    case("the receipt's checkpoint signature changed", "receipt.checkpoint",
         put("receipt", _note_part(r, lambda n: _signature_line(n, origin))))
    case("the bundle's header changed", "consistency", put("consistency", c.replace("consistency", "consistenc", 1)))
    case("the bundle's old size changed", "consistency.old", put("consistency", c.replace("old 4", "old 5", 1)))
    case("a consistency proof hash changed", "consistency.proof",
         put("consistency", _line(c, c.split("\n")[2][:8], _flip_b64)))
    case("a consistency proof hash removed", "consistency.proof",
         put("consistency", "\n".join(line for n, line in enumerate(c.split("\n")) if n != 2)))
    case("the newer checkpoint's root changed", "consistency.checkpoint",
         put("consistency", _note_part(c, _checkpoint_root)))
    case("the newer checkpoint's log signature changed", "consistency.checkpoint",
         put("consistency", _note_part(c, lambda n: _signature_line(n, origin))))
    case("the newer checkpoint's log signature removed", "consistency.checkpoint",
         put("consistency", _note_part(c, lambda n: _drop_line(n, origin))))
    case("a witness's cosignature changed", "consistency.cosignature",
         put("consistency", _note_part(c, lambda n: _signature_line(n, WITNESS_NAME))))
    return cases


def vector() -> dict[str, Any]:
    doc = valid()
    check = disclosure.verify(doc)
    return {"about": __doc__.split("\n\n")[0], "valid": doc,
            "expect": {"record": check.record, "entry_id": check.entry_id, "leaf_index": check.leaf_index,
                       "receipt_size": check.receipt_size, "checkpoint_size": check.checkpoint_size,
                       "logged_at_ms": int(check.logged_at.timestamp() * 1000),
                       "witnesses": [{"name": w.name, "time": w.time} for w in check.witnesses],
                       "attachments": [a.to_json() for a in check.attachments],
                       "details": check.details, "admin_fingerprint": check.admin_fingerprint},
            "tampered": tampered(doc)}


if __name__ == "__main__":
    OUT.write_text(json.dumps(vector(), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")
