"""RFC 9497 OPRF/VOPRF (ristretto255-SHA512) against the official test vectors.

The vectors live in tests/vectors/rfc9497_ristretto255_sha512.json (see its
"_source" note). Everything is compared byte for byte; the negative tests
check the input validation RFC 9497 makes mandatory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from consilience.crypto import h2c, oprf, ristretto
from consilience.errors import InvalidInput, VerificationError

VECTOR_FILE = Path(__file__).resolve().parents[1] / "vectors" / "rfc9497_ristretto255_sha512.json"
SUITES: list[dict[str, Any]] = json.loads(VECTOR_FILE.read_text())["suites"]
CASES = [
    pytest.param(suite, vector, id=f"mode{suite['mode']}-vector{n + 1}-batch{vector['Batch']}")
    for suite in SUITES
    for n, vector in enumerate(suite["vectors"])
]


def _hexes(field: str) -> list[bytes]:
    return [bytes.fromhex(part) for part in field.split(",")]


def _keys(suite: dict[str, Any]) -> tuple[bytes, bytes]:
    return oprf.derive_key_pair(bytes.fromhex(suite["seed"]), bytes.fromhex(suite["keyInfo"]), suite["mode"])


def test_vector_file_is_complete() -> None:
    # Guards against a truncated file silently turning the vector tests into no-ops.
    assert sorted(s["mode"] for s in SUITES) == [oprf.MODE_OPRF, oprf.MODE_VOPRF]
    assert all(s["identifier"] == "ristretto255-SHA512" for s in SUITES)
    assert len(CASES) == 5
    assert any(v["Batch"] == 2 for s in SUITES for v in s["vectors"])


def test_context_string() -> None:
    assert oprf.context_string(oprf.MODE_OPRF) == b"OPRFV1-\x00-ristretto255-SHA512"
    assert oprf.context_string(oprf.MODE_VOPRF) == b"OPRFV1-\x01-ristretto255-SHA512"
    for suite in SUITES:
        expected_dst = bytes.fromhex(suite["groupDST"])
        assert expected_dst == b"HashToGroup-" + oprf.context_string(suite["mode"])
    with pytest.raises(InvalidInput):
        oprf.context_string(0x02)  # POPRF is deliberately not implemented


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: f"mode{s['mode']}")
def test_derive_key_pair(suite: dict[str, Any]) -> None:
    sk, pk = _keys(suite)
    assert sk.hex() == suite["skSm"]
    assert pk == ristretto.scalar_mult_base(sk)
    if "pkSm" in suite:
        assert pk.hex() == suite["pkSm"]


@pytest.mark.parametrize(("suite", "vector"), CASES)
def test_official_vector(suite: dict[str, Any], vector: dict[str, Any]) -> None:
    mode = suite["mode"]
    sk, pk = _keys(suite)
    inputs = _hexes(vector["Input"])
    blinds = _hexes(vector["Blind"])
    expected_blinded = _hexes(vector["BlindedElement"])
    expected_evaluated = _hexes(vector["EvaluationElement"])
    expected_outputs = _hexes(vector["Output"])
    assert len(inputs) == vector["Batch"]

    blinded = []
    for x, r, want in zip(inputs, blinds, expected_blinded, strict=True):
        returned_blind, element = oprf.blind(x, mode, r)
        assert returned_blind == r
        assert element == want
        blinded.append(element)

    if mode == oprf.MODE_OPRF:
        evaluated = [oprf.blind_evaluate(sk, b) for b in blinded]
        assert evaluated == expected_evaluated
        outputs = [oprf.finalize(x, r, z) for x, r, z in zip(inputs, blinds, evaluated, strict=False)]
    else:
        proof_r = bytes.fromhex(vector["Proof"]["r"])
        evaluated, proof = oprf.voprf_blind_evaluate(sk, pk, blinded, proof_r)
        assert evaluated == expected_evaluated
        assert proof.hex() == vector["Proof"]["proof"]
        oprf.verify_proof(oprf.GENERATOR, pk, blinded, evaluated, proof, mode)
        outputs = oprf.voprf_finalize(inputs, blinds, evaluated, blinded, pk, proof)

    assert outputs == expected_outputs
    assert [oprf.evaluate(sk, x, mode) for x in inputs] == expected_outputs


# RFC 9380 Appendix K.3, expand_message_xmd(SHA-512), DST QUUX-V01-CS02-with-expander-SHA512-256
# (cfrg/draft-irtf-cfrg-hash-to-curve poc/vectors/expand_message_xmd_SHA512_38.json).
XMD_DST = b"QUUX-V01-CS02-with-expander-SHA512-256"
XMD_VECTORS = [
    (b"", 0x20, "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"),
    (b"abc", 0x20, "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"),
    (b"a512_" + b"a" * 512, 0x20, "57b5f7e766d5be68a6bfe1768e3c2b7f1228b3e4b3134956dd73a59b954c66f4"),
    (
        b"abc",
        0x80,
        "7f1dddd13c08b543f2e2037b14cefb255b44c83cc397c1786d975653e36a6b11bdd7732d8b38adb4a0edc26a0cef4bb4"
        "5217135456e58fbca1703cd6032cb1347ee720b87972d63fbf232587043ed2901bce7f22610c0419751c065922b48843"
        "1851041310ad659e4b23520e1772ab29dcdeb2002222a363f0c2b1c972b3efe1",
    ),
    (
        b"q128_" + b"q" * 128,
        0x80,
        "b799b045a58c8d2b4334cf54b78260b45eec544f9f2fb5bd12fb603eaee70db7317bf807c406e26373922b7b8920fa29"
        "142703dd52bdf280084fb7ef69da78afdf80b3586395b433dc66cde048a258e476a561e9deba7060af40adf30c64249c"
        "a7ddea79806ee5beb9a1422949471d267b21bc88e688e4014087a0b592b695ed",
    ),
]


@pytest.mark.parametrize(("msg", "length", "expected"), XMD_VECTORS)
def test_expand_message_xmd_sha512(msg: bytes, length: int, expected: str) -> None:
    assert h2c.expand_message_xmd(msg, XMD_DST, length).hex() == expected


def test_expand_message_xmd_hashes_oversized_dst() -> None:
    import hashlib

    long_dst = b"D" * 256
    short_dst = hashlib.sha512(b"H2C-OVERSIZE-DST-" + long_dst).digest()
    assert h2c.expand_message_xmd(b"m", long_dst, 64) == h2c.expand_message_xmd(b"m", short_dst, 64)
    assert h2c.expand_message_xmd(b"m", b"D" * 255, 64) != h2c.expand_message_xmd(b"m", b"D" * 256, 64)
    with pytest.raises(InvalidInput):
        h2c.expand_message_xmd(b"m", b"D", 255 * 64 + 1)


# --- negative and property tests -------------------------------------------------------

VOPRF_SUITE = next(s for s in SUITES if s["mode"] == oprf.MODE_VOPRF)
IDENTITY = bytes(32)
# Bad encodings from RFC 9496 Appendix A.2 / libsodium's ristretto255 tests: non-canonical
# field elements (incl. a set high bit), a negative field element, a non-square x^2.
NON_CANONICAL = [
    "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
]


class Batch(NamedTuple):
    sk: bytes
    pk: bytes
    inputs: list[bytes]
    blinds: list[bytes]
    blinded: list[bytes]
    evaluated: list[bytes]
    proof: bytes


@pytest.fixture(scope="module")
def batch() -> Batch:
    """A fresh (random-r) VOPRF answer to the official batch-of-two request."""
    sk, pk = _keys(VOPRF_SUITE)
    vector = next(v for v in VOPRF_SUITE["vectors"] if v["Batch"] == 2)
    blinded = _hexes(vector["BlindedElement"])
    evaluated, proof = oprf.voprf_blind_evaluate(sk, pk, blinded)
    return Batch(sk, pk, _hexes(vector["Input"]), _hexes(vector["Blind"]), blinded, evaluated, proof)


def _verify(b: Batch, **changes: Any) -> None:
    args = {"A": oprf.GENERATOR, "B": b.pk, "C": b.blinded, "D": b.evaluated, "proof": b.proof}
    args.update(changes)
    oprf.verify_proof(args["A"], args["B"], args["C"], args["D"], args["proof"], changes.get("mode", oprf.MODE_VOPRF))


def test_random_proof_verifies(batch: Batch) -> None:
    _verify(batch)


@pytest.mark.parametrize("position", [0, 31, 32, 63])
def test_tampered_proof_rejected(batch: Batch, position: int) -> None:
    tampered = bytearray(batch.proof)
    tampered[position] ^= 0x01
    with pytest.raises(VerificationError):
        _verify(batch, proof=bytes(tampered))


def test_malformed_proof_rejected(batch: Batch) -> None:
    unreduced = batch.proof[:32] + ristretto.ORDER.to_bytes(32, "little")
    for bad in (batch.proof[:63], batch.proof + b"\x00", unreduced, bytes(64)):
        with pytest.raises(VerificationError):
            _verify(batch, proof=bad)


def test_wrong_public_key_rejected(batch: Batch) -> None:
    other_pk = _keys(next(s for s in SUITES if s["mode"] == oprf.MODE_OPRF))[1]
    with pytest.raises(VerificationError):
        _verify(batch, B=other_pk)


def test_proof_binds_mode_order_and_batch(batch: Batch) -> None:
    with pytest.raises(VerificationError):
        _verify(batch, mode=oprf.MODE_OPRF)
    with pytest.raises(VerificationError):
        _verify(batch, C=batch.blinded[::-1], D=batch.evaluated[::-1])
    with pytest.raises(VerificationError):
        _verify(batch, C=batch.blinded[:1], D=batch.evaluated[:1])
    with pytest.raises(InvalidInput):
        _verify(batch, D=batch.evaluated[:1])


def test_voprf_finalize_refuses_forged_evaluation(batch: Batch) -> None:
    forged = [oprf.blind_evaluate(ristretto.scalar_random(), b) for b in batch.blinded]
    with pytest.raises(VerificationError):
        oprf.voprf_finalize(batch.inputs, batch.blinds, forged, batch.blinded, batch.pk, batch.proof)
    outputs = oprf.voprf_finalize(batch.inputs, batch.blinds, batch.evaluated, batch.blinded, batch.pk, batch.proof)
    assert outputs == [oprf.evaluate(batch.sk, x, oprf.MODE_VOPRF) for x in batch.inputs]


def test_voprf_blind_evaluate_refuses_mismatched_key(batch: Batch) -> None:
    with pytest.raises(InvalidInput):
        oprf.voprf_blind_evaluate(batch.sk, oprf.GENERATOR, batch.blinded)


@pytest.mark.parametrize("bad", [IDENTITY.hex(), *NON_CANONICAL])
def test_bad_elements_rejected(batch: Batch, bad: str) -> None:
    element = bytes.fromhex(bad)
    with pytest.raises(InvalidInput):
        oprf.blind_evaluate(batch.sk, element)
    with pytest.raises(InvalidInput):
        oprf.voprf_blind_evaluate(batch.sk, batch.pk, [batch.blinded[0], element])
    with pytest.raises(InvalidInput):
        oprf.finalize(batch.inputs[0], batch.blinds[0], element)
    with pytest.raises(InvalidInput):
        _verify(batch, D=[batch.evaluated[0], element])
    with pytest.raises(InvalidInput):
        _verify(batch, B=element)


def test_wrong_length_elements_rejected() -> None:
    sk, _ = _keys(VOPRF_SUITE)
    for bad in (b"", bytes(31), bytes(33)):
        with pytest.raises(InvalidInput):
            oprf.blind_evaluate(sk, bad)


def test_input_length_limit() -> None:
    sk, _ = _keys(VOPRF_SUITE)
    longest = b"x" * (2**16 - 1)
    r, element = oprf.blind(longest, oprf.MODE_OPRF)
    assert oprf.finalize(longest, r, oprf.blind_evaluate(sk, element)) == oprf.evaluate(sk, longest, oprf.MODE_OPRF)
    too_long = longest + b"x"
    for call in (
        lambda: oprf.blind(too_long, oprf.MODE_OPRF),
        lambda: oprf.evaluate(sk, too_long, oprf.MODE_VOPRF),
        lambda: oprf.finalize(too_long, r, element),
    ):
        with pytest.raises(InvalidInput):
            call()


def test_bad_scalars_rejected() -> None:
    sk, pk = _keys(VOPRF_SUITE)
    zero, unreduced = bytes(32), ristretto.ORDER.to_bytes(32, "little")
    _, element = oprf.blind(b"x", oprf.MODE_VOPRF)
    for bad in (zero, unreduced, bytes(31)):
        with pytest.raises(InvalidInput):
            oprf.blind(b"x", oprf.MODE_VOPRF, bad)
        with pytest.raises(InvalidInput):
            oprf.blind_evaluate(bad, element)
        with pytest.raises(InvalidInput):
            oprf.generate_proof(sk, oprf.GENERATOR, pk, [element], [element], oprf.MODE_VOPRF, r=bad)
    with pytest.raises(InvalidInput):
        oprf.derive_key_pair(bytes(31), b"", oprf.MODE_OPRF)


@pytest.mark.parametrize("mode", [oprf.MODE_OPRF, oprf.MODE_VOPRF])
def test_random_blinds_give_the_direct_evaluation(mode: int) -> None:
    sk, _ = _keys(VOPRF_SUITE)
    r1, b1 = oprf.blind(b"alice", mode)
    r2, b2 = oprf.blind(b"alice", mode)
    assert b1 != b2  # blinding hides repeated inputs from the server
    out1 = oprf.finalize(b"alice", r1, oprf.blind_evaluate(sk, b1))
    out2 = oprf.finalize(b"alice", r2, oprf.blind_evaluate(sk, b2))
    assert out1 == out2 == oprf.evaluate(sk, b"alice", mode)
    assert len(out1) == oprf.OUTPUT_BYTES
    assert oprf.evaluate(sk, b"alice", mode) != oprf.evaluate(sk, b"bob", mode)


def test_modes_give_different_outputs() -> None:
    sk, _ = _keys(VOPRF_SUITE)
    assert oprf.evaluate(sk, b"alice", oprf.MODE_OPRF) != oprf.evaluate(sk, b"alice", oprf.MODE_VOPRF)
