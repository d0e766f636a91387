"""Write tests/vectors/entry_v2_interop.json: protocol v2 accounts, requests, deployment and entries for the browser.

    python tests/vectors/make_entry_v2.py

The deployment is tests/v2_world.py's: the real key generation among three simulated key
servers (t = 2, quorum range 2..4), so its quorum keys carry real confirmations. What can be
fixed is (account seeds, certificates, the administrator's key, request nonces and times,
hence every Ed25519 signature); what cannot (the DKG's HPKE shares, the entries' HPKE
envelopes, every fresh ρ and blind) is random, so the file is checked by what it holds
(tests/protocol/test_entry_v2_interop.py reads every value back with the Python SDK), not
by being written again byte for byte.

Test-only secrets are in the file so that the browser SDK can play every part in node: the
administrator's seed, each key server's VOPRF share, quorum shares and abscissa key (web/test/
fake_escrow.js answers as key servers with them), and the counselors' HPKE seeds (to open the
match). web/test/entry_v2.test.js checks the JS against every value here; web/test/cli/
seal_v2.js seals entries in JS that tests/protocol/test_entry_v2_interop.py opens in Python.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from consilience.crypto import hpke, signing  # noqa: E402
from consilience.crypto.bls12381 import G1Point, G2Point, Scalar, pairing  # noqa: E402
from consilience.errors import ConsilienceError  # noqa: E402
from consilience.protocol import accounts, dkg, evaluation, invites, quorum  # noqa: E402
from consilience.protocol import deployment as dep  # noqa: E402
from consilience.protocol import entry as entry_mod  # noqa: E402
from consilience.protocol.encoding import b64u_encode  # noqa: E402
from consilience.protocol.matching import match_tag  # noqa: E402
from consilience.protocol.release import MatchedEntry, open_match  # noqa: E402
from v2_world import Account, V2World, ident, make_v2_world  # noqa: E402

OUT = HERE / "entry_v2_interop.json"
LABEL = "entry-v2-interop"
NOW = 1_790_000_100
TARGET = ident("email:target@example.org", "Target@Example.org")
OTHER = ident("phone:+15551234567", "(555) 123-4567")
THIRD = ident("email:third@example.org", "third@example.org")
#: the key server lying in entry E's evaluation, and the level it lies at
LIAR, LIED_LEVEL = 1, 3
WRITTEN_AT = "2026-12-01T10:00:00+00:00"


#: the log's Ed25519 key, fixed (test-only) so that web/test/fake_escrow.js can sign checkpoints the document names
LOG_SEED = bytes.fromhex("4c" * 32)


def world() -> V2World:
    w = make_v2_world(n=3, t=2, quorum_low=2, quorum_high=4, counselors=2, label=LABEL)
    assert w.requested is not None
    log_key = signing.public_key(LOG_SEED)
    return replace(w, deployment=replace(w.deployment, log_public_key=log_key),
                   requested=replace(w.requested, log_public_key=log_key))


def _h(b: bytes) -> str:
    return b.hex()


def _error(fn: Any) -> dict[str, str]:
    try:
        fn()
    except ConsilienceError as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    raise AssertionError("expected a refusal")


def _resign(w: V2World, doc: dict[str, Any]) -> dict[str, str]:
    """Sign a (tampered) document as the administrator would, without validating it."""
    document = dep.canonical_json(doc)
    return {"document": b64u_encode(document),
            "signature": b64u_encode(signing.sign(w.admin_private, dep.SIGNING_PREFIX + document)),
            "admin_key": b64u_encode(signing.public_key(w.admin_private))}


def deployment_cases(w: V2World) -> list[dict[str, Any]]:
    good = w.deployment.to_json()
    cases: list[tuple[str, dict[str, Any]]] = []
    v1 = json.loads(json.dumps(good))
    v1["format"] = dep.V1_FORMAT
    cases.append(("a v1 document", v1))
    missing = json.loads(json.dumps(good))
    missing["quorum_keys"]["confirmations"] = missing["quorum_keys"]["confirmations"][:-1]
    cases.append(("a qualified key server's confirmation left out", missing))
    swapped = json.loads(json.dumps(good))
    swapped["quorum_keys"]["transcript"] = b64u_encode(bytes(32))
    cases.append(("another transcript than the key servers confirmed", swapped))
    tampered = json.loads(json.dumps(good))
    servers = tampered["quorum_keys"]["servers"]
    servers["2"]["3"][1], servers["2"]["3"][2] = servers["2"]["3"][2], servers["2"]["3"][1]
    cases.append(("a key server's commitments tampered with", tampered))
    levels = json.loads(json.dumps(good))
    del levels["quorum_keys"]["levels"]["4"]
    cases.append(("a level of the range left out", levels))
    forged = json.loads(json.dumps(good))
    confirmations = forged["quorum_keys"]["confirmations"]
    confirmations[0] = confirmations[0][:-4] + ("AAAA" if confirmations[0][-4:] != "AAAA" else "BBBB")
    cases.append(("a forged confirmation", forged))
    identity = json.loads(json.dumps(good))
    identity["oprf"]["servers"][1]["identity_key"] = identity["oprf"]["servers"][0]["identity_key"]
    cases.append(("two key servers with one identity key", identity))
    # a confirmation by key server 1's real identity key, of the right transcript and QUAL but other commitments
    keys = w.deployment.quorum_keys
    assert keys is not None
    params = w.deployment.dkg_parameters(keys.epoch)
    body = (params.header(dkg.CONFIRM_LABEL, 1) + keys.transcript + bytes([len(keys.qualified)])
            + bytes(keys.qualified) + bytes(32) + keys.abscissa_check)
    other = json.loads(json.dumps(good))
    other["quorum_keys"]["confirmations"][0] = b64u_encode(body + signing.sign(w.servers[1].identity, body))
    cases.append(("a confirmation of other commitments", other))
    token = json.loads(json.dumps(good))
    token["token_issuer_key"] = b64u_encode(bytes(32))
    cases.append(("a v1 field (token_issuer_key)", token))
    out: list[dict[str, Any]] = []
    for what, doc in cases:
        published = _resign(w, doc)
        out.append({"what": what, "published": published,
                    **_error(lambda p=published: dep.verify(p, w.fingerprint))})
    pending = w.requested  # serial 1: no VOPRF key, public shares nor quorum keys; asks the key servers to generate
    assert pending is not None
    out.append({"what": "before the key generation (no quorum keys yet): accepted",
                "published": dep.sign(pending, w.admin_private), "error": None, "message": None})
    return out


def confirmation_vectors(w: V2World) -> dict[str, Any]:
    """Each published confirmation as dkg.parse reads it, and the commitments digest they sign."""
    keys = w.deployment.quorum_keys
    assert keys is not None
    params = w.deployment.dkg_parameters(keys.epoch)
    parsed = [dkg.parse(params, c) for c in keys.confirmations]
    assert all(isinstance(p, dkg.Confirmation) for p in parsed)
    d = w.deployment
    digest = dkg.commitments_digest(keys.levels, keys.servers, d.oprf_public_key,
                                    {i: d.key_server(i).public_share for i in keys.qualified}, keys.abscissa_check)
    return {"epoch": keys.epoch, "parameters_digest": _h(params.digest), "commitments_digest": _h(digest),
            "parsed": [{"author": p.author, "transcript": _h(p.transcript), "qualified": list(p.qualified),
                        "commitments": _h(p.commitments), "abscissa_check": _h(p.abscissa_check)}
                       for p in parsed if isinstance(p, dkg.Confirmation)],
            "refused": [{"what": what, "hex": hex_, **_error(lambda m=m: dkg.parse(params, m))}
                        for what, hex_, m in _bad_confirmations(keys.confirmations[0])]}


def _bad_confirmations(good: bytes) -> list[tuple[str, str, bytes]]:
    tampered = bytearray(good)
    tampered[-70] ^= 1
    return [("too short", _h(good[:10]), good[:10]), ("tampered body", _h(bytes(tampered)), bytes(tampered)),
            ("unknown label", _h(b"\x00\x03abc" + good[-64:]), b"\x00\x03abc" + good[-64:])]


def account_vectors(w: V2World) -> list[dict[str, Any]]:
    d = w.deployment
    out = []
    for label in "ABCDEG":
        a = w.account(label)
        cert = accounts.parse_certificate(a.certificate)
        x = accounts.abscissa(w.servers[1].result.abscissa_key, d.deployment_id, a.key)
        assert all(accounts.abscissa(s.result.abscissa_key, d.deployment_id, a.key) == x for s in w.servers.values())
        out.append({"label": label, "seed": _h(a.seed), "account_key": _h(a.key), "certificate": _h(a.certificate),
                    "issued_at": cert.issued_at, "proof": _h(accounts.registration_proof(a.seed, d.deployment_id)),
                    "invite": str(invites.Invite(a.seed, w.fingerprint)), "abscissa": _h(x.to_bytes())})
    return out


def certificate_refusals(w: V2World) -> list[dict[str, Any]]:
    d = w.deployment
    a = w.account("A")
    admin = signing.public_key(w.admin_private)
    other = accounts.issue_certificate(signing.generate(), d.deployment_id, a.key, now=NOW)
    elsewhere = accounts.issue_certificate(w.admin_private, bytes(16), a.key, now=NOW)
    cases = [("signed by someone else", other, d.deployment_id), ("for another deployment", elsewhere, d.deployment_id),
             ("truncated", a.certificate[:-1], d.deployment_id)]
    return [{"what": what, "certificate": _h(c), "deployment_id": _h(did),
             **_error(lambda c=c, did=did: accounts.verify_certificate(admin, did, c))} for what, c, did in cases]


def request_vector(w: V2World) -> dict[str, Any]:
    d = w.deployment
    a = w.account("A")
    audience = signing.public_key(w.servers[2].identity)
    blinded = [bytes([0xE2]) + bytes(31), bytes([0x8C]) + bytes(31)]
    points = [quorum.identifier_point(i.oprf_input).mul_secret(Scalar(1000 + k)).to_bytes()
              for k, i in enumerate((TARGET, OTHER))]  # B = r·P with fixed r, so the signature is fixed
    nonce = bytes(range(16))
    req = evaluation.make_request(a.seed, a.certificate, d.deployment_id, audience, blinded, points, now=NOW,
                                  nonce=nonce)
    return {"seed": _h(a.seed), "certificate": _h(a.certificate), "deployment_id": _h(d.deployment_id),
            "audience": _h(audience), "issued_at": NOW, "nonce": _h(nonce), "blinded": [_h(b) for b in blinded],
            "points": [_h(p) for p in points],
            "signed_bytes": _h(evaluation.signed_bytes(d.deployment_id, audience, NOW, nonce, blinded, points)),
            "signature": _h(req.signature)}


def invite_vectors(w: V2World) -> list[dict[str, Any]]:
    seed = w.account("A").seed
    good = str(invites.Invite(seed, w.fingerprint))
    texts = [good, f"  {good}\n", "", "   ", good[:-1], good.replace("cnsl2.", "cnsl3."), good + ".x",
             "cnsl1." + b64u_encode(bytes(16)) + "." + b64u_encode(w.fingerprint), "CNSL1.abc.def",
             "cnslc1.abc.def", "cnsl2." + b64u_encode(bytes(16)) + "." + b64u_encode(w.fingerprint)]
    out = []
    for text in texts:
        try:
            inv = invites.parse(text)
            out.append({"text": text, "seed": _h(inv.seed), "admin_fingerprint": _h(inv.admin_fingerprint),
                        "error": None})
        except ConsilienceError as exc:
            out.append({"text": text, "seed": None, "admin_fingerprint": None, "error": str(exc)})
    return out


def _evaluate_with_liar(w: V2World, account: Account, identifiers: list[Any]) -> tuple[list[bytes], list[Any]]:
    """Every key server answers; server LIAR lies at one level for the first identifier; combine names it."""
    d = w.deployment
    params = d.quorum_parameters()
    outputs = [w.oprf_output(i) for i in identifiers]
    blinded = [quorum.blind(i.oprf_input) for i in identifiers]
    answers: dict[int, list[dict[int, bytes]]] = {}
    xs: set[bytes] = set()
    for index in sorted(w.servers):
        audience = signing.public_key(w.servers[index].identity)
        req = evaluation.make_request(account.seed, account.certificate, d.deployment_id, audience,
                                      [bytes(32)] * len(identifiers), [b.blinded for b in blinded], now=NOW)
        x_answer, zs = w.answer(index, req)
        xs.add(x_answer)
        answers[index] = zs
    (x_bytes,) = xs
    lie = G1Point.from_bytes(blinded[0].blinded).mul_secret(Scalar(424242)).to_bytes()
    answers[LIAR][0] = {**answers[LIAR][0], LIED_LEVEL: lie}
    x = quorum.abscissa_from_bytes(x_bytes)
    shares = [quorum.combine(params, b, y, x, {i: answers[i][k] for i in sorted(w.servers)})
              for k, (b, y) in enumerate(zip(blinded, outputs, strict=True))]
    assert list(shares[0].dishonest) == [LIAR]
    return outputs, shares


def _seal(w: V2World, account: Account, identifiers: list[Any], q: int, record: str, *, liar: bool = False,
          shares_of: list[Any] | None = None) -> tuple[entry_mod.SealedEntry, dict[str, Any]]:
    if liar:
        outputs, shares = _evaluate_with_liar(w, account, identifiers)
    else:
        ev = w.evaluate(account, identifiers)
        outputs, shares = ev.outputs, ev.shares
    if shares_of is not None:  # a bogus entry: the tags of `identifiers`, the shares of other identifiers
        shares = w.evaluate(account, shares_of).shares
    sealed = entry_mod.seal_entry(deployment=w.deployment, identifiers=identifiers, oprf_outputs=outputs,
                                  quorum_shares=shares, record=record, contact=f"contact of {record}",
                                  quorum=q, written_at=WRITTEN_AT)
    info = {"dishonest": {str(i): why for i, why in shares[0].dishonest.items()}}
    return sealed, info


def _corrupt_share(w: V2World, sealed: entry_mod.SealedEntry, counselor_index: int, tag: bytes, q: int) -> bytes:
    """The envelope for one counselor with σ_q of `tag`'s section replaced by bytes that are not a point."""
    c = w.counselors[counselor_index]
    content = entry_mod.parse_envelope(hpke.open(c.seed, sealed.envelopes[c.key_id],
                                                 entry_mod.envelope_info(sealed.entry_id, c.key_id)))
    sections = tuple(replace(s, shares={**s.shares, q: b"\x9f" * 48}) if s.tag == tag else s for s in content.sections)
    plaintext = entry_mod.encode_envelope(replace(content, sections=sections))
    return hpke.seal(c.public_key, plaintext, entry_mod.envelope_info(sealed.entry_id, c.key_id))


def match_vectors(w: V2World) -> dict[str, Any]:
    d = w.deployment
    tag = match_tag(w.oprf_output(TARGET))
    counselor = w.counselors[0]
    plan: list[tuple[str, str, list[Any], int, bool, dict[str, Any]]] = [  # label, account, names, quorum, released
        ("A", "A", [TARGET], 2, True, {}),
        ("B", "B", [TARGET, OTHER], 2, True, {}),
        ("C", "C", [THIRD, TARGET], 3, True, {}),  # TARGET in section 1
        ("D", "D", [TARGET], 2, True, {"shares_of": [OTHER]}),  # bogus: shares on another identifier's base
        ("E", "E", [TARGET], 2, True, {"liar": True}),  # a lying key server, named and replaced
        ("G", "G", [TARGET], 4, False, {}),  # escrowed: its share counts, its body is not sent
        ("H", "A", [TARGET], 3, False, {"corrupt": True}),  # σ_3 not a point of G1
    ]
    entries = []
    info: dict[str, Any] = {}
    matched = []
    for label, who, named, q, released, extra in plan:
        account = w.account(who)
        sealed, meta = _seal(w, account, named, q, f"record {label}", liar=bool(extra.get("liar")),
                             shares_of=extra.get("shares_of"))
        envelope = sealed.envelopes[counselor.key_id]
        if extra.get("corrupt"):
            envelope = _corrupt_share(w, sealed, 0, tag, q)
        entries.append({"label": label, "entry_id": b64u_encode(sealed.entry_id), "quorum": q, "released": released,
                        "envelope": b64u_encode(envelope), "body": b64u_encode(sealed.body) if released else None,
                        "body_key": _h(sealed.body_key), "record": f"record {label}",
                        "identifiers": [i.typed for i in named], "canonical": [i.canonical for i in named]})
        info[label] = meta
        matched.append(MatchedEntry(sealed.entry_id, q, released, envelope, sealed.body if released else None))
    result = open_match(tag, matched, counselor.seed, counselor.key_id, d)
    # The explicit intermediate values of one opening: S = F_q(0)·P*, GT(e(S, U)) and W, for entry A.
    a = matched[0]
    content = entry_mod.parse_envelope(hpke.open(counselor.seed, a.envelope, entry_mod.envelope_info(a.entry_id,
                                                                                                     counselor.key_id)))
    section = content.section(tag)
    assert section is not None
    members = [m for m in matched if m.entry_id != a.entry_id]
    candidates = []
    for m in members:
        c = entry_mod.parse_envelope(hpke.open(counselor.seed, m.envelope,
                                               entry_mod.envelope_info(m.entry_id, counselor.key_id)))
        s = c.section(tag)
        if s is not None:
            candidates.append(quorum.Candidate(m.entry_id, s.x, s.shares[2]))
    share_class = quorum.open_class(quorum.Candidate(a.entry_id, section.x, section.shares[2]), candidates,
                                    d.quorum_parameters().level(2))
    secret = share_class.secret()
    context = entry_mod.wrap_context(d.deployment_id, content.key_epoch, a.entry_id, 0, tag)
    gt = pairing(secret.point, G2Point.from_bytes(section.u)).to_bytes()
    opening = {"entry_id": b64u_encode(a.entry_id), "q": 2, "secret": _h(secret.point.to_bytes()), "u": _h(section.u),
               "gt": _h(gt), "wrap_key": _h(quorum.unwrap(secret, section.u, context)),
               "context": _h(context.encode(2, section.u))}
    return {
        "tag": b64u_encode(tag),
        "counselor": 0,
        "entries": entries,
        "evaluation": info,
        "expected": {
            "opened": [{"entry_id": b64u_encode(o.entry_id), "abscissa": _h(o.abscissa), "quorum": o.quorum,
                        "record": o.body.record, "contact": o.body.contact, "canonical": o.body.canonical}
                       for o in result.opened],
            "failed": {b64u_encode(k): v for k, v in result.failed.items()},
            "bogus": sorted(b64u_encode(b) for b in result.bogus),
        },
        "opening": opening,
    }


def body_vectors() -> dict[str, Any]:
    """Body.to_bytes (v 2) of the bodies in tests/vectors/interop.json, and the refusals of its malformed ones."""
    old = json.loads((HERE / "interop.json").read_text())
    cases = []
    for c in old["crypto"]["bodies"]["cases"]:
        b = entry_mod.Body(record=c["record"], identifiers=c["identifiers"], canonical=c["canonical"],
                           contact=c["contact"], written_at=c["written_at"])
        cases.append({k: c[k] for k in ("record", "identifiers", "canonical", "contact", "written_at")}
                     | {"hex": _h(b.to_bytes())})
    structured = []
    for v in old["protocol"]["body"]["valid"]:
        f = v["fields"]
        b = entry_mod.Body(record=f["record"], identifiers=f["identifiers"], canonical=f["canonical"],
                           contact=f["contact"], written_at=f["written_at"], details=f["details"],
                           attachments=tuple(entry_mod.Attachment.from_json(a) for a in f["attachments"]))
        structured.append({"fields": f, "bytes": _h(b.to_bytes())})
    refused = []
    for r in old["protocol"]["body"]["refused"]:
        data = bytes.fromhex(r["bytes"]).replace(b'"v":1', b'"v":2')
        try:
            entry_mod.Body.from_bytes(data)
        except ConsilienceError as exc:
            refused.append({"bytes": _h(data), "error": type(exc).__name__, "message": str(exc)})
    v1 = entry_mod.Body("r", [], [], "c", "w").to_bytes().replace(b'"v":2', b'"v":1')
    refused.append({"bytes": _h(v1), **_error(lambda: entry_mod.Body.from_bytes(v1))})
    return {"cases": cases, "valid": structured, "refused": refused}


def wallet_vector(w: V2World) -> dict[str, Any]:
    from consilience.clients import wallet as wallet_mod
    from consilience.crypto import passphrase

    a = w.account("A")
    wal = wallet_mod.Wallet(server="http://127.0.0.1:8100", admin_fingerprint=b64u_encode(w.fingerprint),
                            account_id=b64u_encode(bytes(range(16))), token=b64u_encode(bytes(32)),
                            contact="reporter1@example.net \u2028 caf\u00e9", account_seed=b64u_encode(a.seed),
                            certificate=b64u_encode(a.certificate), min_serial=2,
                            # PROTOCOL.md §13: the messaging seed, a declined introduction, a conversation's last read
                            message_seed=b64u_encode(bytes([5]) * 32), message_key_registered=True,
                            declined=[b64u_encode(bytes([0x17]) * 16)], seen={b64u_encode(bytes([0xd1]) * 16): 4})
    r = wal.add_record("what happened \U0001f600", "2026-11-25T10:00:00+00:00")
    r.escrow = wallet_mod.EscrowState(entry_id=b64u_encode(bytes(16)), identifiers=[TARGET.typed],
                                      canonical=[TARGET.canonical], quorum=3, body_key=b64u_encode(bytes(32)),
                                      status="escrowed", received_at="2026-11-25T10:00:01+00:00",
                                      pending={"entry_id": "x", "quorum": 3}, receipts=["r1.txt"])
    pw = "wallet passphrase"
    blob = passphrase.seal(wal.to_bytes(), pw, wallet_mod.PURPOSE, memory_cost_kib=1024, iterations=1, lanes=1)
    v1 = json.loads(wal.to_bytes())
    v1["format"] = wallet_mod.V1_FORMAT
    return {"passphrase": pw, "blob": blob.decode(), "wallet_bytes": _h(wal.to_bytes()), "format": wallet_mod.FORMAT,
            "v1_bytes": _h(json.dumps(v1).encode()),
            "v1_refusal": _error(lambda: wallet_mod.Wallet.from_bytes(json.dumps(v1).encode()))["message"]}


def receipt_vectors(w: V2World) -> dict[str, Any]:
    """v2 receipts (clients/receipts.check): leaves are commitments, the extra line carries the opening."""
    import dataclasses
    from datetime import UTC, datetime

    from consilience.clients import receipts as receipts_mod
    from consilience.protocol import events
    from consilience.tlog import checkpoint as cp
    from consilience.tlog import merkle
    from consilience.tlog.receipt import make_receipt, parse_receipt

    d = w.deployment
    when = datetime(2026, 12, 1, 10, 4, 5, 678000, tzinfo=UTC)
    payload = {
        "entry_id": b64u_encode(bytes(range(16))), "quorum": 3,
        "tags": [b64u_encode(bytes([7]) * 32), b64u_encode(bytes([3]) * 32)], "body": b64u_encode(b"sealed body"),
        "envelopes": [{"key_id": b64u_encode(bytes([2]) * 16), "ciphertext": b64u_encode(b"ct2")},
                      {"key_id": b64u_encode(bytes([1]) * 16), "ciphertext": b64u_encode(b"ct1" * 40)}],
        "deployment_serial": d.serial,
    }
    content = receipts_mod.expected_content(payload)
    entry_id = bytes(range(16))

    def opening(event: bytes, k: int) -> events.Opening:
        return events.Opening(bytes([k]) * 32, event)

    openings = [opening(events.entry_event(bytes([k]) * 16, bytes([k]) * 32, when), 100 + k) for k in range(5)]
    openings.insert(3, opening(events.entry_event(entry_id, content, when), 1))
    openings.append(opening(events.padding_event(when), 2))
    openings.append(opening(events.withdrawal_event(entry_id, when), 3))
    tree = merkle.MemoryTree()
    for o in openings:
        tree.append(o.leaf)
    size = len(openings)
    checkpoint = cp.sign_checkpoint(cp.Checkpoint(d.log_origin, size, tree.root(size)), LOG_SEED)

    def receipt(index: int, note: str = checkpoint) -> str:
        text = make_receipt(index=index, proof=merkle.inclusion_proof(tree, index, size), checkpoint=note,
                            leaf=openings[index].leaf)
        return dataclasses.replace(parse_receipt(text), extra=openings[index].encoded).encode()

    entry_receipt = receipt(3)
    withdrawal_receipt = receipt(size - 1)
    other_log = cp.sign_checkpoint(cp.Checkpoint(d.log_origin, size, tree.root(size)), bytes([9]) * 32)
    no_opening = dataclasses.replace(parse_receipt(entry_receipt), extra=None).encode()
    short_opening = dataclasses.replace(parse_receipt(entry_receipt), extra=bytes(32)).encode()
    other_nonce = dataclasses.replace(parse_receipt(entry_receipt), extra=bytes(32) + openings[3].event).encode()

    def outcome(label: str, text: str, kind: str, content_hash: bytes | None, eid: bytes = entry_id) -> dict[str, Any]:
        case: dict[str, Any] = {"label": label, "text": text, "kind": kind, "entry_id": eid.hex(),
                                "content": content_hash.hex() if content_hash else None}
        try:
            result = receipts_mod.check(text, d, eid, kind=kind, content=content_hash)
        except ConsilienceError as exc:
            case.update(error=str(exc), type=type(exc).__name__)
        else:
            event = receipts_mod.open_receipt(text, d.log_vkey).event
            case.update(index=result.index, tree_size=result.tree_size, root_hash=result.root_hash.hex(),
                        leaf=openings[result.index].leaf.hex(), event=event.kind,
                        at_millis=int(event.at.timestamp() * 1000))
        return case

    return {
        "payload": payload, "content": content.hex(), "log_vkey": d.log_vkey,
        "cases": [
            outcome("entry", entry_receipt, "entry", content),
            outcome("entry without content check", entry_receipt, "entry", None),
            outcome("withdrawal", withdrawal_receipt, "withdrawal", None),
            outcome("entry receipt for a withdrawal", entry_receipt, "withdrawal", None),
            outcome("other entry id", entry_receipt, "entry", content, eid=bytes(16)),
            outcome("other content", entry_receipt, "entry", bytes(32)),
            outcome("other log key", entry_receipt.replace(checkpoint, other_log), "entry", content),
            outcome("no opening (a v1 receipt)", no_opening, "entry", content),
            outcome("opening too short", short_opening, "entry", content),
            outcome("opening with another nonce", other_nonce, "entry", content),
            outcome("garbage", "hello", "entry", content),
        ],
    }


def build() -> dict[str, Any]:
    w = world()
    d = w.deployment
    from consilience.protocol import messages

    return {
        "limits": {"MAX_BODY_BYTES": messages.MAX_BODY_BYTES, "MAX_IDENTIFIERS": messages.MAX_IDENTIFIERS,
                   "MAX_QUORUM_LIMIT": dep.MAX_QUORUM_LIMIT, "ENTRY_ID_BYTES": entry_mod.ENTRY_ID_BYTES,
                   "WRAPPED_BYTES": entry_mod.WRAPPED_BYTES, "MAX_ELEMENTS": evaluation.MAX_ELEMENTS,
                   "FRESHNESS_SECONDS": evaluation.FRESHNESS_SECONDS, "CERTIFICATE_BYTES": accounts.CERTIFICATE_BYTES},
        "bodies": body_vectors(),
        "receipts": receipt_vectors(w),
        "wallet_file": wallet_vector(w),
        "tags": {i.canonical: _h(match_tag(w.oprf_output(i))) for i in (TARGET, OTHER, THIRD)},
        "deployment_expected": {
            "escrow_url": d.escrow_url, "oprf_public_key": _h(d.oprf_public_key),
            "key_servers": [{"index": s.index, "url": s.url, "public_share": _h(s.public_share),
                             "identity_key": _h(s.identity_key), "hpke_public_key": _h(s.hpke_public_key)}
                            for s in d.key_servers],
            "counselors": [{"name": c.name, "key_id": _h(c.key_id), "public_key": _h(c.public_key)}
                           for c in d.counselors],
            "log": {"origin": d.log_origin, "public_key": _h(d.log_public_key), "vkey": d.log_vkey,
                    "witnesses": list(d.witnesses)},
            "fingerprint_b64u": b64u_encode(w.fingerprint)},
        "_source": "tests/vectors/make_entry_v2.py; do not edit by hand. Bytes in hex unless the wire has b64u. "
                   "Test-only secrets (administrator, key servers, counselors) so the browser SDK can play every part.",
        "constants": {"certificate_label": accounts.CERTIFICATE_LABEL.decode(),
                      "register_label": accounts.REGISTER_LABEL.decode(), "evaluate_label": evaluation.LABEL.decode(),
                      "body_aad": entry_mod.BODY_AAD.decode(), "wrap_aad": entry_mod.WRAP_AAD.decode(),
                      "envelope_info": entry_mod.ENVELOPE_INFO.decode(), "deployment_format": dep.FORMAT,
                      "signing_prefix": dep.SIGNING_PREFIX.decode(), "v1_refusal": dep.V1_REFUSAL,
                      "invite_old_version": invites.OLD_VERSION},
        "admin": {"seed": _h(w.admin_private), "public_key": _h(signing.public_key(w.admin_private)),
                  "fingerprint": _h(w.fingerprint)},
        "published": w.published(),
        "deployment": {"deployment_id": _h(d.deployment_id), "serial": d.serial, "key_epoch": d.key_epoch,
                       "threshold": d.threshold, "quorum": d.quorum, "max_quorum": d.max_quorum},
        "deployment_refusals": deployment_cases(w),
        "confirmations": confirmation_vectors(w),
        "key_servers": {
            str(i): {"identity": _h(s.identity), "oprf_share": _h(s.oprf_share),
                     "abscissa_key": _h(s.result.abscissa_key),
                     "shares": {str(q): [_h(v.to_bytes()) for v in vs] for q, vs in s.result.shares.items()}}
            for i, s in sorted(w.servers.items())},
        "counselors": [{"name": c.name, "seed": _h(c.seed), "key_id": _h(c.key_id)} for c in w.counselors],
        "oprf_secret_key": _h(w.oprf_sk),
        "log_seed": _h(LOG_SEED),  # the whole VOPRF key (test-only), to compute expected tags
        "accounts": account_vectors(w),
        "certificate_refusals": certificate_refusals(w),
        "request": request_vector(w),
        "invites": invite_vectors(w),
        "identifiers": {"target": [TARGET.typed, TARGET.canonical], "other": [OTHER.typed, OTHER.canonical],
                        "third": [THIRD.typed, THIRD.canonical]},
        "oprf_outputs": {i.canonical: _h(w.oprf_output(i)) for i in (TARGET, OTHER, THIRD)},
        "written_at": WRITTEN_AT,
        "match": match_vectors(w),
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")
