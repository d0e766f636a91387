// BLS12-381 for protocol v2's quorum layer (crypto/bls12381.py), on
// @noble/curves' bls12-381. Nothing in protocol v1 uses it, and index.js
// does not export it yet.
//
// Same encodings as the Python module, whose docstring specifies them byte
// for byte: scalars 32 bytes big-endian < r; G1 48 and G2 96 bytes
// compressed (the draft-irtf-cfrg-pairing-friendly-curves "ZCash" form),
// decoded only if canonical, not the identity, on the curve and in the
// prime-order subgroup; GT 576 bytes, the reduced pairing's twelve Fp
// coefficients in the tower order (noble's Fp12.toBytes), e(G1, G2) being
// draft-irtf-cfrg-pairing-friendly-curves-11 Appendix B's vector.
//
// Glue, and why:
// - pairing(): noble's final exponentiation returns e(P, Q)³ (so do arkworks
//   and zkcrypto; web/test/bls12381.test.js pins it), so P is first
//   multiplied by 3⁻¹ mod r: e_noble(3⁻¹·P, Q) = e(P, Q). Product checks
//   need no correction (x³ = 1 iff x = 1 in a group of order r).
// - noble refuses a zero scalar in multiply() and the identity in pairings
//   (it guards BLS signatures); here, as in Python, k = 0 gives the identity
//   and a pairing with the identity is 1.
// - decoding re-encodes and compares, and refuses the identity flag before
//   the library sees it, so every spelling of the identity is refused.
// - hashToScalar is RFC 9380 hash_to_field into Z/rZ with L = 48 bytes,
//   written out over the library's expand_message_xmd.
//
// mulSecret is noble's constant-time path (fixed windows, blinded); JS
// BigInt arithmetic is not constant time, so in the browser this is best
// effort. The browser holds only its own secrets (blinds, KEM randomness).
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { pippenger } from '@noble/curves/abstract/curve.js';
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { InvalidInput } from '../errors.js';
import { bytesEqual } from '../protocol/encoding.js';

const { G1, G2, fields } = bls12_381;
const { Fp12 } = fields;

/** noble's point classes: G1Point.BASE, .ZERO, .fromBytes (unchecked for the rules here), … */
export const G1Point = G1.Point;
export const G2Point = G2.Point;
/** The prime order r of G1, G2 and GT. */
export const ORDER = fields.Fr.ORDER;
/** The prime p of the base field. */
export const FIELD_MODULUS = fields.Fp.ORDER;
export const SCALAR_BYTES = 32;
export const G1_BYTES = 48;
export const G2_BYTES = 96;
export const GT_BYTES = 576;

const SCALAR_L = 48; // RFC 9380 §5: ceil((255 + 128) / 8)
const INV3 = modInverse(3n, ORDER);

function mod(a, m = ORDER) {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function modInverse(a, m) {
  // extended Euclid; a and m coprime
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new InvalidInput('not invertible modulo the group order');
  return mod(s0, m);
}

function bytesToInt(bytes) {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function intToBytes(n, length) {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function checkScalar(k) {
  if (typeof k !== 'bigint' || k < 0n || k >= ORDER) throw new InvalidInput('a BLS12-381 scalar is a bigint in [0, r)');
  return k;
}

// --- scalars ----------------------------------------------------------------

/** 32 bytes big-endian, < r; 0 only with allowZero. */
export function scalarFromBytes(bytes, { allowZero = false } = {}) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SCALAR_BYTES) {
    throw new InvalidInput(`a BLS12-381 scalar must be ${SCALAR_BYTES} bytes`);
  }
  const k = bytesToInt(bytes);
  if (k >= ORDER) throw new InvalidInput('BLS12-381 scalar is not reduced modulo the group order');
  if (k === 0n && !allowZero) throw new InvalidInput('BLS12-381 scalar must not be zero');
  return k;
}

export function scalarToBytes(k) {
  return intToBytes(checkScalar(k), SCALAR_BYTES);
}

/** A uniformly random nonzero scalar (64 random bytes reduced: bias below 2^-256). */
export function randomScalar() {
  return mod(bytesToInt(randomBytes(64)), ORDER - 1n) + 1n;
}

function dstBytes(dst) {
  const bytes = typeof dst === 'string' ? new TextEncoder().encode(dst) : dst;
  if (!(bytes instanceof Uint8Array) || bytes.length < 1 || bytes.length > 255) {
    throw new InvalidInput('a domain separation tag must be 1 to 255 bytes');
  }
  return bytes;
}

/** RFC 9380 hash_to_field into Z/rZ: 48 bytes of expand_message_xmd(SHA-256), big-endian, mod r. */
export function hashToScalar(data, dst) {
  return mod(bytesToInt(expand_message_xmd(data, dstBytes(dst), SCALAR_L, sha256)));
}

/** RFC 9380 hash_to_curve, suite BLS12381G1_XMD:SHA-256_SSWU_RO_. */
export function hashToG1(msg, dst) {
  return G1.hashToCurve(msg, { DST: dstBytes(dst) });
}

// --- points -----------------------------------------------------------------

function decode(Point, bytes, size, name) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== size) {
    throw new InvalidInput(`a ${name} point must be ${size} bytes (compressed)`);
  }
  if (!(bytes[0] & 0x80)) throw new InvalidInput(`${name} point is not in compressed form`);
  if (bytes[0] & 0x40) throw new InvalidInput(`the identity is not accepted as a ${name} point`);
  let point;
  try {
    point = Point.fromBytes(bytes); // on the curve and torsion-free (assertValidity)
  } catch {
    throw new InvalidInput(`not a point of ${name}: off the curve, outside the prime-order subgroup, or x not reduced`);
  }
  if (point.is0() || !bytesEqual(point.toBytes(true), bytes)) {
    throw new InvalidInput(`non-canonical encoding of a ${name} point`);
  }
  return point;
}

function encode(point, name) {
  if (point.is0()) throw new InvalidInput(`the identity of ${name} is never encoded`);
  return point.toBytes(true);
}

/** 48 bytes to a G1 point; InvalidInput unless canonical, not the identity, and in G1. */
export function g1FromBytes(bytes) {
  return decode(G1Point, bytes, G1_BYTES, 'G1');
}

export function g1ToBytes(point) {
  return encode(point, 'G1');
}

/** 96 bytes to a G2 point; InvalidInput unless canonical, not the identity, and in G2. */
export function g2FromBytes(bytes) {
  return decode(G2Point, bytes, G2_BYTES, 'G2');
}

export function g2ToBytes(point) {
  return encode(point, 'G2');
}

/** k·P through noble's constant-time multiplication: for secret k (the browser's blinds, KEM randomness). */
export function mulSecret(point, k) {
  checkScalar(k);
  return k === 0n ? point.constructor.ZERO : point.multiply(k);
}

/** k·P, variable time: only for public k. */
export function mulPublic(point, k) {
  return point.multiplyUnsafe(checkScalar(k));
}

/** Σ k_i·P_i for public k_i (noble's Pippenger); all points of one group. */
export function msmPublic(points, scalars) {
  if (points.length !== scalars.length) throw new InvalidInput('msm needs as many scalars as points');
  if (points.length === 0) throw new InvalidInput('msm of nothing: say which group');
  scalars.forEach(checkScalar);
  return pippenger(points[0].constructor, points, scalars);
}

// --- pairings ---------------------------------------------------------------

/** The reduced pairing e(P, Q), a noble Fp12 element; gtToBytes gives its canonical 576 bytes. */
export function pairing(p, q) {
  if (p.is0() || q.is0()) return Fp12.ONE;
  return bls12_381.pairing(p.multiply(INV3), q);
}

export function gtToBytes(gt) {
  return Fp12.toBytes(gt);
}

export function gtEquals(a, b) {
  return Fp12.eql(a, b);
}

export function gtMul(a, b) {
  return Fp12.mul(a, b);
}

export const GT_ONE = Fp12.ONE;

/** Whether ∏ e(P_i, Q_i) == 1 for pairs [[P_i, Q_i], …]: one multi-Miller loop, one final exponentiation. */
export function pairingProductIsOne(pairs) {
  const terms = pairs.filter(([p, q]) => !p.is0() && !q.is0()).map(([p, q]) => ({ g1: p, g2: q }));
  if (terms.length === 0) return true;
  return Fp12.eql(bls12_381.pairingBatch(terms), Fp12.ONE);
}

/** Whether e(a, b) == e(c, d), as e(a, b)·e(−c, d) == 1. */
export function pairingsEqual(a, b, c, d) {
  return pairingProductIsOne([[a, b], [c.negate(), d]]);
}

// --- Lagrange ---------------------------------------------------------------

/** λ_i(x) = ∏_{j≠i} (x − x_j)/(x_i − x_j) for distinct nonzero abscissas, at x (default 0). */
export function lagrangeCoefficients(xs, at = 0n) {
  if (xs.length === 0) throw new InvalidInput('Lagrange interpolation needs at least one abscissa');
  xs.forEach(checkScalar);
  checkScalar(at);
  if (xs.some((x) => x === 0n)) throw new InvalidInput("abscissa 0 is not a share's abscissa");
  if (new Set(xs).size !== xs.length) throw new InvalidInput('abscissas must be distinct');
  return xs.map((xi, i) => {
    let num = 1n;
    let den = 1n;
    xs.forEach((xj, j) => {
      if (j !== i) {
        num = mod(num * (at - xj));
        den = mod(den * (xi - xj));
      }
    });
    return mod(num * modInverse(den, ORDER));
  });
}

/** Σ λ_i(x)·S_i: with S_i = F(x_i)·B for a polynomial F of degree below xs.length, F(x)·B (x default 0). */
export function interpolateG1(xs, points, at = 0n) {
  if (xs.length !== points.length) throw new InvalidInput('interpolation needs one point per abscissa');
  return msmPublic(points, lagrangeCoefficients(xs, at));
}
