// RFC 9497 OPRF (mode 0x00) and VOPRF (mode 0x01), ristretto255-SHA512,
// client side (crypto/oprf.py), on @noble/curves' ristretto255_oprf.
//
// Glue, and why: the library's blind() draws the blind itself (an rng hook
// feeds a hash-to-field step, so a given blind cannot be injected), so
// blindWith() multiplies the library's hash-to-group point by a given blind
// for the RFC vectors and tests. The library has no stand-alone DLEQ verifier
// either; verifyProof() runs the library's own batch verification through
// voprf.finalizeBatch with blind 1 and discards the outputs, which is needed
// for threshold partials (Z_i = k_i*B is verified against pk_i but is not
// itself unblinded: only the Lagrange combination of t of them is).
import { ristretto255_hasher, ristretto255_oprf } from '@noble/curves/ed25519.js';
import { InvalidInput, VerificationError } from '../errors.js';
import { concatBytes } from '../protocol/encoding.js';
import { Fn, Point, checkElement, scalarToInt } from './ristretto.js';

export const MODE_OPRF = 0x00;
export const MODE_VOPRF = 0x01;
export const SUITE_IDENTIFIER = 'ristretto255-SHA512';
export const MAX_INPUT_BYTES = 0xffff;
export const MAX_BATCH = 0xffff;
export const OUTPUT_BYTES = 64;
export const PROOF_BYTES = 64;

const ONE = Fn.toBytes(1n);

function suite(mode) {
  if (mode === MODE_OPRF) return ristretto255_oprf.oprf;
  if (mode === MODE_VOPRF) return ristretto255_oprf.voprf;
  throw new InvalidInput(`unsupported OPRF mode ${mode}`);
}

/** "OPRFV1-" || I2OSP(mode, 1) || "-ristretto255-SHA512" */
export function contextString(mode) {
  suite(mode);
  return concatBytes(new TextEncoder().encode('OPRFV1-'), Uint8Array.of(mode), new TextEncoder().encode('-' + SUITE_IDENTIFIER));
}

function checkInput(input) {
  if (!(input instanceof Uint8Array)) throw new InvalidInput('OPRF input must be bytes');
  if (input.length > MAX_INPUT_BYTES) throw new InvalidInput('OPRF input longer than 2^16-1 bytes');
  return input;
}

function nonzeroScalar(bytes, what) {
  const s = scalarToInt(bytes);
  if (s === 0n) throw new InvalidInput(`the ${what} scalar must not be zero`);
  return s;
}

/** RFC 9497 DeriveKeyPair: {secretKey, publicKey} from a 32-byte seed. */
export function deriveKeyPair(seed, info, mode) {
  return suite(mode).deriveKeyPair(seed, info);
}

/** Client step 1 with a fresh random blind: {blind, blinded}. */
export function blind(input, mode) {
  return suite(mode).blind(checkInput(input));
}

/** Client step 1 with a given blind (test vectors only: reusing a blind links requests). */
export function blindWith(input, mode, blindScalar) {
  const r = nonzeroScalar(blindScalar, 'blind');
  const dst = concatBytes(new TextEncoder().encode('HashToGroup-'), contextString(mode));
  const point = ristretto255_hasher.hashToCurve(checkInput(input), { DST: dst });
  if (point.is0()) throw new InvalidInput('input hashes to the identity element');
  return { blind: Fn.toBytes(r), blinded: point.multiply(r).toBytes() };
}

/** Client step 2 (either mode, no proof): unblind and hash to the 64-byte output. */
export function finalize(input, blindScalar, evaluated) {
  nonzeroScalar(blindScalar, 'blind');
  checkElement(evaluated);
  return ristretto255_oprf.oprf.finalize(checkInput(input), blindScalar, evaluated);
}

/**
 * Throw VerificationError unless `proof` shows log_G(pk) == log_C[i](D[i]) for all i
 * (RFC 9497 batched DLEQ, VOPRF mode). Malformed elements raise InvalidInput.
 */
export function verifyProof(pk, blinded, evaluated, proof) {
  checkElement(pk);
  if (!Array.isArray(blinded) || blinded.length === 0 || blinded.length > MAX_BATCH || blinded.length !== evaluated.length) {
    throw new InvalidInput('a batch needs equally many (1 to 2^16-1) blinded and evaluated elements');
  }
  blinded.forEach(checkElement);
  evaluated.forEach(checkElement);
  if (!(proof instanceof Uint8Array) || proof.length !== PROOF_BYTES) throw new VerificationError('a proof must be 64 bytes');
  const items = blinded.map((b, i) => ({ input: new Uint8Array(0), blind: ONE, evaluated: evaluated[i], blinded: b }));
  try {
    ristretto255_oprf.voprf.finalizeBatch(items, pk, proof);
  } catch {
    throw new VerificationError('DLEQ proof does not verify');
  }
}

/** VOPRF client step 2: check the batch proof against pk, then finalize each. */
export function voprfFinalize(inputs, blinds, evaluated, blinded, pk, proof) {
  if (!(inputs.length === blinds.length && blinds.length === evaluated.length && evaluated.length === blinded.length)) {
    throw new InvalidInput('inputs, blinds, evaluated and blinded must have equal lengths');
  }
  verifyProof(pk, blinded, evaluated, proof);
  return inputs.map((x, i) => finalize(x, blinds[i], evaluated[i]));
}

/** RFC 9497 Evaluate by a holder of the key (tests, simulated servers). */
export function evaluate(sk, input, mode) {
  nonzeroScalar(sk, 'key');
  return suite(mode).evaluate(sk, checkInput(input));
}

/** Server side of VOPRF, for tests and simulated key servers: {evaluated[], proof}. */
export function voprfBlindEvaluate(sk, pk, blinded) {
  const k = nonzeroScalar(sk, 'key');
  if (!Point.BASE.multiply(k).equals(checkElement(pk))) throw new InvalidInput('public key does not match the secret key');
  return ristretto255_oprf.voprf.blindEvaluateBatch(sk, pk, blinded);
}

/** Plain OPRF server step: sk * B. */
export function blindEvaluate(sk, blindedElement) {
  nonzeroScalar(sk, 'key');
  checkElement(blindedElement);
  return ristretto255_oprf.oprf.blindEvaluate(sk, blindedElement);
}
