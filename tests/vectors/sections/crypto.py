"""The "crypto" section of tests/vectors/interop.json (web SDK interop, issue 4).

``deterministic()`` computes values from fixed inputs with the Python SDK;
tests/test_interop_vectors.py recomputes it and compares it with the file, so
the file cannot silently drift from the SDK. ``randomized()`` holds
Python-made ciphertexts (AEAD, HPKE, sealed entries, sealed files) that the
JS tests must open and that the Python test opens again. Bytes are lowercase
hex unless the value is a wire or file format (then as on the wire).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consilience.clients import counselor as counselor_mod
from consilience.clients import wallet as wallet_mod
from consilience.clients.escrow_client import submission_payload
from consilience.crypto import aead, hpke, kdf, oprf, passphrase, ristretto, shamir, threshold_oprf
from consilience.protocol import deployment as dep
from consilience.protocol import entry as entry_mod
from consilience.protocol import matching, messages, release
from consilience.protocol.encoding import b64u_encode, i2osp

VECTORS = Path(__file__).resolve().parent.parent
FAST = {"memory_cost_kib": 1024, "iterations": 1, "lanes": 1}


def h(data: bytes) -> str:
    return data.hex()


def seed_of(label: str) -> bytes:
    return hashlib.sha256(b"consilience interop/" + label.encode()).digest()


def scalar_of(label: str) -> bytes:
    return ristretto.scalar_reduce64(hashlib.sha512(b"consilience interop scalar/" + label.encode()).digest())


# --- deterministic ------------------------------------------------------------


def constants() -> dict[str, Any]:
    return {
        "MAX_BODY_BYTES": messages.MAX_BODY_BYTES,
        "MAX_IDENTIFIERS": messages.MAX_IDENTIFIERS,
        "MAX_QUORUM_LIMIT": dep.MAX_QUORUM_LIMIT,
        "MAX_SUBSETS": release.MAX_SUBSETS,
        "ENTRY_ID_BYTES": entry_mod.ENTRY_ID_BYTES,
        "WRAPPED_BYTES": entry_mod.WRAPPED_BYTES,
        "HPKE_PUBLIC_KEY_BYTES": hpke.PUBLIC_KEY_BYTES,
        "HPKE_ENC_BYTES": hpke.ENC_BYTES,
        "HPKE_SUITE_ID": h(hpke.SUITE_ID),
        "SEALED_FORMAT": passphrase.FORMAT,
        "SEALED_DEFAULTS": [passphrase.DEFAULT_MEMORY_COST_KIB, passphrase.DEFAULT_ITERATIONS,
                            passphrase.DEFAULT_LANES],
        "SEALED_BOUNDS": [passphrase.MIN_MEMORY_COST_KIB, passphrase.MAX_MEMORY_COST_KIB, passphrase.MIN_ITERATIONS,
                          passphrase.MAX_ITERATIONS, passphrase.MIN_LANES, passphrase.MAX_LANES],
        "SEALED_MAX_DATA_BYTES": passphrase.MAX_DATA_BYTES,
        "WALLET_FORMAT": wallet_mod.FORMAT,
        "WALLET_PURPOSE": wallet_mod.PURPOSE,
        "COUNSELOR_KEY_FORMAT": counselor_mod.FORMAT,
        "COUNSELOR_KEY_PURPOSE": counselor_mod.PURPOSE,
        "KDF_SALT": h(kdf.SALT),
        "ORDER": str(ristretto.ORDER),
    }


def encoding() -> dict[str, Any]:
    from consilience.errors import InvalidInput
    from consilience.protocol.encoding import b64u_decode

    i2osp_cases = [{"value": v, "length": n, "hex": h(i2osp(v, n))} for v, n in
                   [(0, 1), (255, 1), (256, 2), (65535, 2), (1, 4), (2**32 - 1, 4)]]
    i2osp_bad = [{"value": v, "length": n} for v, n in [(256, 1), (-1, 2), (65536, 2)]]
    blobs = [b"", b"\x00", b"\xff\xfe", b"abc", bytes(range(32)), b"\xfb\xff\xbf"]
    b64u = [{"hex": h(b), "text": b64u_encode(b)} for b in blobs]
    bad = ["a", "ab=", "ab==", "a+b/", "a b", "ab\n", "AB_-=", "AF", "AAB"]
    for text in bad:  # every one must be refused by the Python SDK too
        try:
            b64u_decode(text)
        except InvalidInput:
            continue
        raise AssertionError(f"Python accepted {text!r}")
    return {"i2osp": i2osp_cases, "i2osp_rejected": i2osp_bad, "b64u": b64u, "b64u_rejected": bad}


def oprf_rfc9497() -> dict[str, Any]:
    """RFC 9497 Appendix A.1 ristretto255-SHA512 vectors, modes 0 and 1, as the Python tests keep them."""
    return json.loads((VECTORS / "rfc9497_ristretto255_sha512.json").read_text())


def threshold() -> dict[str, Any]:
    """2-of-3 threshold VOPRF with fixed key, blinds and proof randomness; server 2 also lies once."""
    t, n = 2, 3
    sk, group_pk = oprf.derive_key_pair(seed_of("threshold dealing"), threshold_oprf.DEALING_INFO, oprf.MODE_VOPRF)
    coeffs = [ristretto.scalar_to_int(scalar_of("threshold coefficient"))]
    shares = {i: ristretto.scalar_from_int(y) for i, y in
              shamir.split(ristretto.scalar_to_int(sk), t, n, coeffs).items()}
    public_shares = {i: threshold_oprf.public_share(s) for i, s in shares.items()}
    threshold_oprf.check_public_shares(group_pk, public_shares, t)
    inputs = [b"email:target@example.org", b"phone:+15551234567"]
    blinds, blinded = [], []
    for j, x in enumerate(inputs):
        r, b = oprf.blind(x, oprf.MODE_VOPRF, scalar_of(f"threshold blind {j}"))
        blinds.append(r)
        blinded.append(b)
    partials = []
    for i in sorted(shares):
        evaluated, proof = oprf.voprf_blind_evaluate(shares[i], public_shares[i], blinded, scalar_of(f"proof r {i}"))
        partials.append(threshold_oprf.PartialEvaluation(i, evaluated, proof))
    # A liar: server 2's index, but evaluated (and proved) under server 3's share.
    lie_eval, lie_proof = oprf.voprf_blind_evaluate(shares[3], public_shares[3], blinded, scalar_of("proof r lie"))
    liar = threshold_oprf.PartialEvaluation(2, lie_eval, lie_proof)
    outputs = [oprf.evaluate(sk, x, oprf.MODE_VOPRF) for x in inputs]
    combos = {}
    for subset in ([1, 2], [1, 3], [2, 3]):
        chosen = [p for p in partials if p.index in subset]
        combined, rejected = threshold_oprf.combine(blinded, chosen, public_shares, t)
        assert not rejected
        assert [oprf.finalize(x, r, z) for x, r, z in zip(inputs, blinds, combined, strict=False)] == outputs
        combos[",".join(map(str, subset))] = [h(z) for z in combined]
    combined, rejected = threshold_oprf.combine(blinded, [partials[0], liar, partials[2]], public_shares, t)
    assert rejected == [2]
    return {
        "threshold": t,
        "group_public_key": h(group_pk),
        "secret_key": h(sk),
        "public_shares": {str(i): h(pk) for i, pk in public_shares.items()},
        "inputs": [h(x) for x in inputs],
        "blinds": [h(r) for r in blinds],
        "blinded": [h(b) for b in blinded],
        "partials": [{"index": p.index, "evaluated": [h(z) for z in p.evaluated], "proof": h(p.proof)}
                     for p in partials],
        "liar": {"index": liar.index, "evaluated": [h(z) for z in liar.evaluated], "proof": h(liar.proof)},
        "combined": combos,
        "combined_skipping_liar": [h(z) for z in combined],
        "outputs": [h(o) for o in outputs],
        # Wire answers of POST /v1/evaluate (key server app) for the same request.
        "responses": [{"index": p.index, "evaluated": [b64u_encode(z) for z in p.evaluated],
                       "proof": b64u_encode(p.proof)} for p in partials],
        "request": {"blinded": [b64u_encode(b) for b in blinded]},
    }


def kdf_cases() -> list[dict[str, Any]]:
    cases = [(b"\x01" * 32, "match tag", b"", 32), (b"ikm", "wrap key", b"\x00\x01ctx", 64),
             (bytes(range(64)), "quorum polynomial", b"\x03\x02", 64), (b"x", "L", b"", 255 * 64)]
    return [{"ikm": h(i), "label": lb, "context": h(c), "length": n, "okm": h(kdf.derive(i, lb, c, n))}
            for i, lb, c, n in cases]


def shamir_cases() -> dict[str, Any]:
    order = shamir.ORDER
    coeffs = [ristretto.scalar_to_int(scalar_of(f"poly {j}")) for j in range(4)]
    xs = [1, 2, 7, order - 1, ristretto.scalar_to_int(scalar_of("x"))]
    points = {x: shamir.evaluate_polynomial(coeffs, x) for x in xs}
    sub = dict(list(points.items())[:4])
    return {
        "coefficients": [str(c) for c in coeffs],
        "evaluations": [[str(x), str(y)] for x, y in points.items()],
        "lagrange_at_zero": [[str(x), str(lam)] for x, lam in shamir.lagrange_at_zero(sub).items()],
        "interpolate_at_zero": str(shamir.interpolate_at_zero(sub)),
        "interpolate_polynomial": [str(c) for c in shamir.interpolate_polynomial(sub)],
        "split": {str(i): str(y) for i, y in shamir.split(coeffs[0], 3, 5, coeffs[1:3]).items()},
    }


def matching_cases() -> list[dict[str, Any]]:
    out = []
    for label, q, low, high in (("a", 2, 2, 5), ("b", 3, 3, 3), ("c", 5, 2, 8)):
        output = hashlib.sha512(f"oprf output {label}".encode()).digest()
        account = seed_of(f"account {label}")[:16]
        s = matching.shares_for(output, account, q, range(low, high + 1))
        out.append({
            "oprf_output": h(output), "account_id": h(account), "quorum": q, "quorum_range": [low, high],
            "tag": h(s.tag), "x": str(s.x), "shares": {str(k): str(v) for k, v in s.shares.items()},
            "kcv": h(s.kcv), "wrap_key": h(s.wrap_key),
            "polynomial": [str(c) for c in matching.polynomial(output, q)],
        })
    return out


def hpke_deterministic() -> dict[str, Any]:
    xwing = json.loads((VECTORS / "hpke_pq_xwing.json").read_text())
    ours = [v for v in xwing["vectors"] if (v["kdf_id"], v["aead_id"]) == (hpke.KDF_ID, hpke.AEAD_ID)]
    keys = []
    for label in ("counselor 1", "counselor 2"):
        seed = seed_of(label)
        pk = hpke.public_key_bytes(seed)
        keys.append({"seed": h(seed), "public_key": h(pk), "key_id": h(hpke.key_id(pk))})
    # A public key whose X25519 half is a low-order point (u = 1) must be refused.
    bad = bytes.fromhex(keys[0]["public_key"])[: hpke.MLKEM768_PUBLIC_BYTES] + (1).to_bytes(32, "little")
    try:
        hpke.parse_public_key(bad)
        raise AssertionError("Python accepted a low-order X25519 part")
    except Exception as exc:  # noqa: BLE001 - InvalidInput expected
        assert type(exc).__name__ == "InvalidInput"
    return {"xwing_vectors": {"_source": xwing["source"], "vectors": ours}, "keys": keys,
            "rejected_public_keys": [h(bad)]}


BODY_STRINGS = [
    "plain ascii",
    "quotes \" and backslash \\ and slash /",
    "controls \x00\x01\x1f\t\n\r\b\f and DEL \x7f",
    "line separators \u2028 and \u2029",
    "accents café, naïve, e\u0301 (combining)",
    "astral 😀 𝄞 and BMP private \ue000, BOM \ufeff, U+FFFF \uffff",
    "<script>&amp;</script>",
]


def bodies() -> dict[str, Any]:
    cases = []
    for i, text in enumerate(BODY_STRINGS):
        body = entry_mod.Body(record=text, identifiers=[f"Typed {i} {text[:5]}"], canonical=[f"email:{i}@example.org"],
                              contact=f"contact {text[-4:]}", written_at="2026-11-25T10:00:00+00:00")
        cases.append({"record": body.record, "identifiers": body.identifiers, "canonical": body.canonical,
                      "contact": body.contact, "written_at": body.written_at, "hex": h(body.to_bytes())})
    rejected = ["lone high \ud800 surrogate", "lone low \udc00 surrogate"]
    for text in rejected:
        try:
            entry_mod.Body(text, [], [], "", "").to_bytes()
            raise AssertionError("Python encoded a lone surrogate")
        except UnicodeEncodeError:
            pass
    return {"cases": cases, "rejected_records": rejected}


def envelope() -> dict[str, Any]:
    entry_id = seed_of("envelope entry")[:16]
    low, high = 2, 4
    sections = []
    for j in range(2):
        sections.append(entry_mod.EnvelopeSection(
            tag=seed_of(f"env tag {j}"),
            x=ristretto.scalar_to_int(scalar_of(f"env x {j}")),
            shares={k: ristretto.scalar_to_int(scalar_of(f"env share {j} {k}")) for k in range(low, high + 1)},
            kcv=seed_of(f"env kcv {j}")[:16],
            wrapped=(seed_of(f"env wrapped {j}") * 2)[:60],
        ))
    content = entry_mod.EnvelopeContent(entry_id, 3, range(low, high + 1), tuple(sections))
    data = entry_mod.encode_envelope(content)
    assert entry_mod.parse_envelope(data) == content
    bad = [data[:-1], b"\x02" + data[1:], data[:17] + bytes([1]) + data[18:], data[:20] + b"\x00" + data[21:]]
    return {
        "entry_id": h(entry_id), "quorum": 3, "quorum_range": [low, high],
        "sections": [{"tag": h(s.tag), "x": str(s.x), "shares": {str(k): str(v) for k, v in s.shares.items()},
                      "kcv": h(s.kcv), "wrapped": h(s.wrapped)} for s in sections],
        "hex": h(data),
        "rejected": [h(b) for b in bad],
        "info": h(entry_mod.envelope_info(entry_id, seed_of("key id")[:16])),
    }


def rfc9106() -> dict[str, Any]:
    """RFC 9106 section 5.3 Argon2id test vector (with secret and associated data)."""
    return {"password": h(b"\x01" * 32), "salt": h(b"\x02" * 16), "secret": h(b"\x03" * 8), "ad": h(b"\x04" * 12),
            "iterations": 3, "memory_kib": 32, "lanes": 4, "tag_length": 32,
            "tag": "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"}


def sealed_deterministic() -> dict[str, Any]:
    aads = {p: h(passphrase._aad(p)) for p in ("counselor-key", wallet_mod.PURPOSE, counselor_mod.PURPOSE, "purpose é")}
    return {"rfc9106": rfc9106(), "aad": aads,
            "nfc": {"typed": "cafe\u0301 pass", "nfc_utf8": h(passphrase._passphrase_bytes("cafe\u0301 pass"))}}


@dataclass(frozen=True)
class _Ident:
    typed: str
    canonical: str


def deployment() -> tuple[dep.Deployment, list[bytes]]:
    """Quorum range 3..5, 2-of-3 key servers, two counselors with fixed seeds."""
    t = threshold()
    counselor_seeds = [seed_of("counselor 1"), seed_of("counselor 2")]
    counselors = []
    for i, s in enumerate(counselor_seeds, 1):
        pk = hpke.public_key_bytes(s)
        counselors.append(dep.Counselor(f"counselor {i}", hpke.key_id(pk), pk))
    from consilience.crypto import signing

    d = dep.Deployment(
        deployment_id=seed_of("deployment id")[:16], serial=7, issued_at="2026-11-25T10:00:00Z", quorum=3,
        max_quorum=5, escrow_url="http://127.0.0.1:8100",
        token_issuer_key=signing.public_key(seed_of("issuer")), threshold=t["threshold"],
        oprf_public_key=bytes.fromhex(t["group_public_key"]),
        key_servers=tuple(dep.KeyServer(int(i), f"http://127.0.0.1:{8100 + int(i)}", bytes.fromhex(pk))
                          for i, pk in t["public_shares"].items()),
        counselors=tuple(counselors), log_origin="consilience.log/interop",
        log_public_key=signing.public_key(seed_of("log")),
    )
    dep.validate(d)
    return d, counselor_seeds


def deterministic() -> dict[str, Any]:
    d, _ = deployment()
    return {
        "constants": constants(),
        "encoding": encoding(),
        "oprf_rfc9497": oprf_rfc9497(),
        "threshold_oprf": threshold(),
        "kdf": kdf_cases(),
        "shamir": shamir_cases(),
        "matching": matching_cases(),
        "hpke": hpke_deterministic(),
        "bodies": bodies(),
        "envelope": envelope(),
        "sealed": sealed_deterministic(),
        "deployment": d.to_json(),
    }


# --- randomized (Python-made ciphertexts) ---------------------------------------


TARGET = "email:target@example.org"


def oprf_output_for(canonical: str) -> bytes:
    t = threshold()
    return oprf.evaluate(bytes.fromhex(t["secret_key"]), canonical.encode(), oprf.MODE_VOPRF)


def account(i: int) -> bytes:
    return seed_of(f"reporter {i}")[:16]


def quorum_entries() -> dict[str, Any]:
    """Three reporters name TARGET with quorum 3 (one also names a second person); a
    fourth entry carries a tampered share (bogus) and must be named, not block the rest."""
    d, seeds = deployment()
    other = _Ident("(555) 123-4567", "phone:+15551234567")
    target = _Ident("Target@Example.org", TARGET)
    reporters = []
    for i in range(1, 4):
        idents = [target, other] if i == 2 else [target]
        sealed = entry_mod.seal_entry(
            deployment=d, account_id=account(i), identifiers=idents,  # type: ignore[arg-type]
            oprf_outputs=[oprf_output_for(x.canonical) for x in idents],
            record=f"record of reporter {i}: caf\u00e9 \u2028 😀", contact=f"reporter{i}@example.net", quorum=3,
            written_at=f"2026-11-2{i}T10:00:00+00:00",
        )
        reporters.append((i, sealed))
    tag = matching.match_tag(oprf_output_for(TARGET))
    entries = []
    for i, sealed in reporters:
        entries.append({
            "entry_id": b64u_encode(sealed.entry_id), "account_id": b64u_encode(account(i)), "quorum": sealed.quorum,
            "released": True, "envelopes": {b64u_encode(k): b64u_encode(c) for k, c in sealed.envelopes.items()},
            "body": b64u_encode(sealed.body), "body_key": h(sealed.body_key),
            "submission": submission_payload(sealed),
        })
    # The escrow server's view for counselor 1 (MatchDetail entries) and what opening yields.
    key_id = hpke.key_id(hpke.public_key_bytes(seeds[0]))
    matched = [release.MatchedEntry(bytes.fromhex(_unb(e["entry_id"])), account(i + 1), e["quorum"], True,
                                    bytes.fromhex(_unb(e["envelopes"][b64u_encode(key_id)])),
                                    bytes.fromhex(_unb(e["body"]))) for i, e in enumerate(entries)]
    result = release.open_match(tag, matched, seeds[0], key_id)
    assert len(result.opened) == 3 and not result.failed and not result.bogus
    return {
        "tag": h(tag), "counselor_seeds": [h(s) for s in seeds], "entries": entries,
        "opened_records": [o.body.record for o in result.opened],
        "opened_contacts": [o.body.contact for o in result.opened],
    }


def _unb(text: str) -> str:
    from consilience.protocol.encoding import b64u_decode

    return b64u_decode(text).hex()


def aead_cases() -> list[dict[str, Any]]:
    out = []
    for i, (pt, ad) in enumerate([(b"", b""), (b"hello", b"aad"), (bytes(range(256)) * 3, b"consilience-v1 body")]):
        key = seed_of(f"aead key {i}")
        out.append({"key": h(key), "aad": h(ad), "plaintext": h(pt), "sealed": h(aead.seal(key, pt, ad))})
    return out


def hpke_sealed() -> list[dict[str, Any]]:
    out = []
    for i, (pt, info) in enumerate([(b"", b""), (b"envelope plaintext", b"consilience-v1 envelope" + bytes(32)),
                                    (bytes(range(256)) * 8, b"info")]):
        seed = seed_of("counselor 1" if i % 2 == 0 else "counselor 2")
        out.append({"seed": h(seed), "info": h(info), "plaintext": h(pt),
                    "ciphertext": h(hpke.seal(hpke.public_key_bytes(seed), pt, info))})
    return out


def sealed_files() -> list[dict[str, Any]]:
    out = []
    for pw, purpose, data in [("correct horse battery staple", "counselor-key", b"secret bytes"),
                              ("cafe\u0301 pass \U0001f600", "purpose é", bytes(range(200))),
                              ("p", wallet_mod.PURPOSE, b"")]:
        blob = passphrase.seal(data, pw, purpose, **FAST)
        out.append({"passphrase": pw, "purpose": purpose, "plaintext": h(data), "blob": blob.decode()})
    return out


def wallet_file() -> dict[str, Any]:
    w = wallet_mod.Wallet(server="http://127.0.0.1:8100", admin_fingerprint=b64u_encode(seed_of("fp")[:16]),
                          account_id=b64u_encode(account(1)), token=b64u_encode(seed_of("token")),
                          contact="reporter1@example.net \u2028 caf\u00e9", min_serial=7)
    r = w.add_record("what happened 😀", "2026-11-25T10:00:00+00:00")
    r.escrow = wallet_mod.EscrowState(entry_id=b64u_encode(seed_of("e")[:16]), identifiers=["Target@Example.org"],
                                      canonical=[TARGET], quorum=3, body_key=b64u_encode(seed_of("bk")),
                                      status="escrowed", received_at="2026-11-25T10:00:01+00:00",
                                      pending={"entry_id": "x", "quorum": 3}, receipts=["r1.txt"])
    w.add_record("second", "2026-11-26T10:00:00+00:00")
    pw = "wallet passphrase"
    blob = passphrase.seal(w.to_bytes(), pw, wallet_mod.PURPOSE, **FAST)
    return {"passphrase": pw, "blob": blob.decode(), "wallet_bytes": h(w.to_bytes())}


def counselor_key_file() -> dict[str, Any]:
    keys = counselor_mod.CounselorKeys(name="Counselor Ünal", seed=seed_of("counselor 1"),
                                       server="http://127.0.0.1:8100", token=seed_of("ctoken"),
                                       admin_fingerprint=seed_of("fp")[:16], min_serial=7)
    pw = "counselor passphrase"
    blob = passphrase.seal(keys.to_bytes(), pw, counselor_mod.PURPOSE, **FAST)
    return {"passphrase": pw, "blob": blob.decode(), "key_bytes": h(keys.to_bytes()), "seed": h(keys.seed),
            "public_key": h(keys.public_key), "key_id": h(keys.key_id)}


def randomized() -> dict[str, Any]:
    return {
        "aead_sealed": aead_cases(),
        "hpke_sealed": hpke_sealed(),
        "quorum": quorum_entries(),
        "sealed_files": sealed_files(),
        "wallet_file": wallet_file(),
        "counselor_key_file": counselor_key_file(),
    }


def build() -> dict[str, Any]:
    return {**deterministic(), **randomized()}
