"""RFC 9497 OPRF (mode 0x00) and VOPRF (mode 0x01), suite ristretto255-SHA512.

The OPRF is what lets a key server turn a reporter's naming of a person into
a stable pseudonymous tag without ever seeing the name: the client blinds the
input, the server multiplies by its key, the client unblinds and hashes. The
verifiable mode adds a DLEQ proof that the server used the key behind its
published public key, so a server cannot quietly hand different reporters
answers under different keys (which would split matching records apart).

Everything here is byte-for-byte RFC 9497 so that the official test vectors
pin it; the POPRF mode is not implemented because nothing uses it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from consilience.crypto import h2c, ristretto
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _

MODE_OPRF = 0x00
MODE_VOPRF = 0x01
SUITE_IDENTIFIER = b"ristretto255-SHA512"

#: RFC 9497 length-prefixes inputs with two bytes, hence this ceiling.
MAX_INPUT_BYTES = 2**16 - 1
#: Composite indices are encoded with I2OSP(i, 2), which bounds a batch.
MAX_BATCH = 2**16 - 1
SEED_BYTES = 32
OUTPUT_BYTES = 64
PROOF_BYTES = 64

_IDENTITY = bytes(ristretto.ELEMENT_BYTES)
GENERATOR = ristretto.scalar_mult_base(ristretto.scalar_from_int(1))


def context_string(mode: int) -> bytes:
    """Domain separation shared by every hash in one mode of this suite.

    Outputs of the two modes differ (the input is hashed to the group under
    this string), so client and server must agree on the mode.
    """
    if mode not in (MODE_OPRF, MODE_VOPRF):
        raise InvalidInput(_("unsupported OPRF mode {mode}", mode=repr(mode)))
    return b"OPRFV1-" + bytes([mode]) + b"-" + SUITE_IDENTIFIER


def derive_key_pair(seed: bytes, info: bytes, mode: int) -> tuple[bytes, bytes]:
    """RFC 9497 section 3.2.1 DeriveKeyPair: (skS, pkS) from a 32-byte seed.

    Deterministic derivation lets an operator back up a key as a seed and
    lets the test vectors fix the key; the seed is as secret as the key.
    """
    if len(seed) != SEED_BYTES:
        raise InvalidInput(_("the key derivation seed must be 32 bytes"))
    derive_input = seed + _length_prefixed(info)
    dst = b"DeriveKeyPair" + context_string(mode)
    for counter in range(256):
        sk = h2c.hash_to_scalar(derive_input + bytes([counter]), dst)
        if any(sk):
            return sk, ristretto.scalar_mult_base(sk)
    raise InvalidInput(_("DeriveKeyPair found no non-zero scalar"))  # probability ~2^-64000


def blind(input: bytes, mode: int, blind: bytes | None = None) -> tuple[bytes, bytes]:
    """Client step 1: hide the input behind a random scalar.

    Returns (blind, blinded_element); the blind stays with the client. Passing
    ``blind`` exists only for test vectors: reusing one links two requests.
    """
    point = _hash_to_group(input, mode)
    r = ristretto.scalar_random() if blind is None else _nonzero_scalar(blind, N_("blind"))
    return r, ristretto.scalar_mult(r, point)


def blind_evaluate(sk: bytes, blinded_element: bytes) -> bytes:
    """Server step (OPRF mode): sk * B, after refusing malformed or identity B.

    Validation matters here: multiplying an attacker-chosen identity or
    non-canonical encoding would answer with something unrelated to the key.
    """
    return ristretto.scalar_mult(_nonzero_scalar(sk, N_("key")), check_element(blinded_element))


def generate_proof(
    k: bytes,
    A: bytes,
    B: bytes,
    C: Sequence[bytes],
    D: Sequence[bytes],
    mode: int,
    r: bytes | None = None,
) -> bytes:
    """RFC 9497 section 2.2.1: a batched DLEQ proof that k*A == B and k*C[i] == D[i].

    Uses ComputeCompositesFast (Z = k*M), valid only for the key holder.
    ``r`` is exposed for the test vectors; a repeated r with different
    challenges reveals k, so production callers must leave it None.
    """
    k = _nonzero_scalar(k, N_("key"))
    A, B = check_element(A), check_element(B)
    C, D = _check_batch(C, D)
    M = _weighted_sum(_composite_weights(B, C, D, mode), C)
    Z = ristretto.scalar_mult(k, M)
    r = ristretto.scalar_random() if r is None else _nonzero_scalar(r, N_("proof randomness"))
    t2 = ristretto.scalar_mult(r, A)
    t3 = ristretto.scalar_mult(r, M)
    c = _challenge(B, M, Z, t2, t3, mode)
    s = ristretto.scalar_sub(r, ristretto.scalar_mul(c, k))
    return c + s


def verify_proof(
    A: bytes, B: bytes, C: Sequence[bytes], D: Sequence[bytes], proof: bytes, mode: int
) -> None:
    """Raise VerificationError unless ``proof`` shows log_A(B) == log_C[i](D[i]) for all i.

    Malformed elements raise InvalidInput (the caller sent garbage); anything
    wrong with the proof itself, including a non-canonical scalar, is a
    VerificationError so callers can treat the answering server as faulty.
    """
    A, B = check_element(A), check_element(B)
    C, D = _check_batch(C, D)
    if not isinstance(proof, (bytes, bytearray)) or len(proof) != PROOF_BYTES:
        raise VerificationError(_("a proof must be 64 bytes"))
    try:
        c = ristretto.check_scalar(proof[:32])
        s = ristretto.check_scalar(proof[32:])
        weights = _composite_weights(B, C, D, mode)
        M = _weighted_sum(weights, C)
        Z = _weighted_sum(weights, D)
        t2 = ristretto.element_add(_mult(s, A), _mult(c, B))
        t3 = ristretto.element_add(_mult(s, M), _mult(c, Z))
        expected = _challenge(B, M, Z, t2, t3, mode)
    except InvalidInput as exc:
        raise VerificationError(_("malformed DLEQ proof: {exc}", exc=exc)) from exc
    if not hmac.compare_digest(expected, c):
        raise VerificationError(_("DLEQ proof does not verify"))


def voprf_blind_evaluate(
    sk: bytes, pk: bytes, blinded: Sequence[bytes], r: bytes | None = None
) -> tuple[list[bytes], bytes]:
    """Server step (VOPRF mode): evaluate a batch and prove all of it with one proof.

    One proof per batch keeps a multi-name submission at constant proof size
    and cost. The key pair is checked first so a misconfigured server fails
    loudly instead of emitting proofs no client will accept.
    """
    sk = _nonzero_scalar(sk, N_("key"))
    if ristretto.scalar_mult_base(sk) != check_element(pk):
        raise InvalidInput(_("public key does not match the secret key"))
    blinded_list = _check_elements(blinded)
    evaluated = [ristretto.scalar_mult(sk, b) for b in blinded_list]
    proof = generate_proof(sk, GENERATOR, pk, blinded_list, evaluated, MODE_VOPRF, r)
    return evaluated, proof


def finalize(input: bytes, blind: bytes, evaluated_element: bytes) -> bytes:
    """Client step 2: unblind and hash to the 64-byte PRF output.

    The hash has no mode in it; the mode already entered through the
    hash-to-group in ``blind``.
    """
    _check_input(input)
    inverse = ristretto.scalar_invert(_nonzero_scalar(blind, N_("blind")))
    unblinded = ristretto.scalar_mult(inverse, check_element(evaluated_element))
    return _output_hash(input, unblinded)


def voprf_finalize(
    inputs: Sequence[bytes],
    blinds: Sequence[bytes],
    evaluated: Sequence[bytes],
    blinded: Sequence[bytes],
    pk: bytes,
    proof: bytes,
) -> list[bytes]:
    """Client step 2 (VOPRF mode): check the batch proof against pk, then finalize each.

    Nothing is unblinded before the proof holds, so an answer under a key
    other than pk never yields an output.
    """
    if not len(inputs) == len(blinds) == len(evaluated) == len(blinded):
        raise InvalidInput(_("inputs, blinds, evaluated and blinded must have equal lengths"))
    verify_proof(GENERATOR, pk, blinded, evaluated, proof, MODE_VOPRF)
    return [finalize(x, b, z) for x, b, z in zip(inputs, blinds, evaluated, strict=False)]


def evaluate(sk: bytes, input: bytes, mode: int) -> bytes:
    """RFC 9497 Evaluate: the PRF computed directly by a holder of the key.

    Equal to what the blinded protocol yields; used for tests and for
    re-deriving tags server-side when the key holder also knows the input.
    """
    point = _hash_to_group(input, mode)
    return _output_hash(input, ristretto.scalar_mult(_nonzero_scalar(sk, N_("key")), point))


def check_element(element: bytes) -> bytes:
    """Canonical, non-identity ristretto255 encoding, as RFC 9497 requires.

    libsodium's validity check accepts the identity (all-zero encoding), so
    it is refused here explicitly.
    """
    element = ristretto.check_element(element)
    if element == _IDENTITY:
        raise InvalidInput(_("the identity element is not allowed"))
    return element


def _check_input(input: bytes) -> bytes:
    if not isinstance(input, (bytes, bytearray)):
        raise InvalidInput(_("OPRF input must be bytes"))
    if len(input) > MAX_INPUT_BYTES:
        raise InvalidInput(_("OPRF input longer than 2^16-1 bytes"))
    return bytes(input)


def _nonzero_scalar(scalar: bytes, what: str) -> bytes:
    scalar = ristretto.check_scalar(scalar)
    if not any(scalar):
        raise InvalidInput(_("the {what} scalar must not be zero", what=_(what)))
    return scalar


def _length_prefixed(data: bytes) -> bytes:
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidInput(_("length-prefixed field longer than 2^16-1 bytes"))
    return len(data).to_bytes(2, "big") + data


def _hash_to_group(input: bytes, mode: int) -> bytes:
    dst = b"HashToGroup-" + context_string(mode)
    point = h2c.hash_to_ristretto255(_check_input(input), dst)
    if point == _IDENTITY:  # RFC 9497 InvalidInputError; not reachable in practice
        raise InvalidInput(_("input hashes to the identity element"))
    return point


def _hash_to_scalar(msg: bytes, mode: int) -> bytes:
    return h2c.hash_to_scalar(msg, b"HashToScalar-" + context_string(mode))


def _output_hash(input: bytes, unblinded: bytes) -> bytes:
    return hashlib.sha512(_length_prefixed(input) + _length_prefixed(unblinded) + b"Finalize").digest()


def _check_elements(elements: Sequence[bytes]) -> list[bytes]:
    if not elements or len(elements) > MAX_BATCH:
        raise InvalidInput(_("a batch needs between 1 and {MAX_BATCH} elements", MAX_BATCH=MAX_BATCH))
    return [check_element(e) for e in elements]


def _check_batch(C: Sequence[bytes], D: Sequence[bytes]) -> tuple[list[bytes], list[bytes]]:
    if len(C) != len(D):
        raise InvalidInput(_("a batch needs equally many C and D elements"))
    return _check_elements(C), _check_elements(D)


def _composite_weights(B: bytes, C: Sequence[bytes], D: Sequence[bytes], mode: int) -> list[bytes]:
    """The d_i of ComputeComposites: binding every pair to B and its position."""
    seed_dst = b"Seed-" + context_string(mode)
    seed = hashlib.sha512(_length_prefixed(B) + _length_prefixed(seed_dst)).digest()
    return [
        _hash_to_scalar(
            _length_prefixed(seed) + i.to_bytes(2, "big") + _length_prefixed(c) + _length_prefixed(d) + b"Composite",
            mode,
        )
        for i, (c, d) in enumerate(zip(C, D, strict=False))
    ]


def _weighted_sum(weights: Sequence[bytes], elements: Sequence[bytes]) -> bytes:
    total = _IDENTITY
    for w, e in zip(weights, elements, strict=False):
        total = ristretto.element_add(total, _mult(w, e))
    return total


def _mult(scalar: bytes, element: bytes) -> bytes:
    """scalar * element where a zero product is legitimate (encoded as the identity)."""
    if not any(scalar):
        return _IDENTITY
    return ristretto.scalar_mult(scalar, element)


def _challenge(B: bytes, M: bytes, Z: bytes, t2: bytes, t3: bytes, mode: int) -> bytes:
    transcript = b"".join(_length_prefixed(x) for x in (B, M, Z, t2, t3)) + b"Challenge"
    return _hash_to_scalar(transcript, mode)
