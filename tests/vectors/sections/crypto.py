"""The "crypto" section of tests/vectors/interop.json (web SDK interop, issue 4).

``deterministic()`` computes values from fixed inputs with the Python SDK;
tests/test_interop_vectors.py recomputes it and compares it with the file, so
the file cannot silently drift from the SDK. ``randomized()`` holds
Python-made ciphertexts (AEAD, HPKE, sealed files, a wallet, a counselor key)
that the JS tests must open and that the Python test opens again. Bytes are
lowercase hex unless the value is a wire or file format (then as on the wire).

Protocol v2: matching derives only the tag; v1's shares, KCVs, envelopes, the
v1 deployment document and the v1 sealed entries are gone. Entries and
envelopes v2 are in tests/vectors/entry_v2_interop.json, the v2 deployment,
accounts, requests, events and receipts in this file's "protocol" section.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from consilience.clients import counselor as counselor_mod
from consilience.clients import wallet as wallet_mod
from consilience.crypto import aead, hpke, kdf, oprf, passphrase, ristretto, shamir, threshold_oprf
from consilience.protocol import accounts, matching, messages
from consilience.protocol import deployment as dep
from consilience.protocol import entry as entry_mod
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
        # The VOPRF part of POST /v2/evaluate's answers (index, evaluated, proof) for the same blinded elements;
        # the whole v2 request and answer are in the "protocol" section's "evaluation".
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
    """Protocol v2 derives only the tag from the OPRF output (protocol/matching.py); shares come from the key
    servers (tests/vectors/entry_v2_interop.json and the "evaluation" section of "protocol")."""
    out = []
    for label in ("a", "b", "c"):
        output = hashlib.sha512(f"oprf output {label}".encode()).digest()
        out.append({"oprf_output": h(output), "tag": h(matching.match_tag(output))})
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


def rfc9106() -> dict[str, Any]:
    """RFC 9106 section 5.3 Argon2id test vector (with secret and associated data)."""
    return {"password": h(b"\x01" * 32), "salt": h(b"\x02" * 16), "secret": h(b"\x03" * 8), "ad": h(b"\x04" * 12),
            "iterations": 3, "memory_kib": 32, "lanes": 4, "tag_length": 32,
            "tag": "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"}


def sealed_deterministic() -> dict[str, Any]:
    aads = {p: h(passphrase._aad(p)) for p in ("counselor-key", wallet_mod.PURPOSE, counselor_mod.PURPOSE, "purpose é")}
    return {"rfc9106": rfc9106(), "aad": aads,
            "nfc": {"typed": "cafe\u0301 pass", "nfc_utf8": h(passphrase._passphrase_bytes("cafe\u0301 pass"))}}


def deterministic() -> dict[str, Any]:
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
        "sealed": sealed_deterministic(),
    }


# --- randomized (Python-made ciphertexts) ---------------------------------------


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
    """A v2 wallet (consilience-wallet/v2): the account's seed and the administrator's certificate of its key."""
    seed = seed_of("reporter 1")
    certificate = accounts.issue_certificate(seed_of("admin"), seed_of("deployment id")[:16],
                                             accounts.account_key(seed), now=1_764_064_800)
    w = wallet_mod.Wallet(server="http://127.0.0.1:8100", admin_fingerprint=b64u_encode(seed_of("fp")[:16]),
                          account_id=b64u_encode(seed_of("account 1")[:16]), token=b64u_encode(seed_of("token")),
                          contact="reporter1@example.net \u2028 caf\u00e9", account_seed=b64u_encode(seed),
                          certificate=b64u_encode(certificate), min_serial=7,
                          # PROTOCOL.md §13: the messaging seed, a declined introduction, a conversation's last read
                          message_seed=b64u_encode(seed_of("message seed")), message_key_registered=True,
                          declined=[b64u_encode(seed_of("introduction")[:16])],
                          seen={b64u_encode(seed_of("c")[:16]): 3})
    r = w.add_record("what happened 😀", "2026-11-25T10:00:00+00:00")
    r.escrow = wallet_mod.EscrowState(entry_id=b64u_encode(seed_of("e")[:16]), identifiers=["Target@Example.org"],
                                      canonical=["email:target@example.org"], quorum=3,
                                      body_key=b64u_encode(seed_of("bk")), status="escrowed",
                                      received_at="2026-11-25T10:00:01+00:00",
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
        "sealed_files": sealed_files(),
        "wallet_file": wallet_file(),
        "counselor_key_file": counselor_key_file(),
    }


def build() -> dict[str, Any]:
    return {**deterministic(), **randomized()}
