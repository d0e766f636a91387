// web/src/sdk/crypto/bls12381.js against the RFC 9380 vectors and against
// tests/vectors/bls12381_interop.json, the values the Python module wrote
// (tests/vectors/make_bls12381.py); tests/crypto/test_bls12381.py checks the
// same files against the Python side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { ROOT, hx } from './helpers.js';
import { InvalidInput } from '../src/sdk/errors.js';
import { hexEncode } from '../src/sdk/protocol/encoding.js';
import * as bls from '../src/sdk/crypto/bls12381.js';

const load = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'vectors', name), 'utf8'));
const RFC = load('rfc9380_bls12381g1.json');
const V = load('bls12381_interop.json');
const te = (s) => new TextEncoder().encode(s);
const hex = hexEncode;
const big = (h) => BigInt('0x' + h);
const G1 = bls.G1Point.BASE;
const G2 = bls.G2Point.BASE;

test('RFC 9380 J.9.1 BLS12381G1_XMD:SHA-256_SSWU_RO_', () => {
  const { dst, vectors } = RFC.hash_to_curve;
  assert.equal(vectors.length, 5);
  for (const v of vectors) {
    const p = bls.hashToG1(te(v.msg), te(dst));
    const { x, y } = p.toAffine();
    assert.equal(x, big(v.P.x));
    assert.equal(y, big(v.P.y));
    assert.ok(bls.g1FromBytes(bls.g1ToBytes(p)).equals(p));
  }
});

test('hash_to_scalar and hash_to_g1 agree with Python', () => {
  for (const v of V.hash_to_scalar) {
    assert.equal(hex(bls.scalarToBytes(bls.hashToScalar(te(v.msg), te(v.dst)))), v.scalar);
  }
  for (const v of V.hash_to_g1) assert.equal(hex(bls.g1ToBytes(bls.hashToG1(te(v.msg), v.dst))), v.point);
  // noble's own hashToScalar is the same RFC 9380 hash_to_field (L = 48) when given the DST
  const v = V.hash_to_scalar[1];
  assert.equal(bls12_381.G1.hashToScalar(te(v.msg), { DST: te(v.dst) }), bls.hashToScalar(te(v.msg), te(v.dst)));
  for (const dst of [new Uint8Array(0), new Uint8Array(256)]) {
    assert.throws(() => bls.hashToScalar(te('m'), dst), InvalidInput);
    assert.throws(() => bls.hashToG1(te('m'), dst), InvalidInput);
  }
});

test('generators and the encodings Python refuses', () => {
  assert.equal(hex(bls.g1ToBytes(G1)), V.generators.g1);
  assert.equal(hex(bls.g2ToBytes(G2)), V.generators.g2);
  assert.ok(bls.g1FromBytes(hx(V.generators.g1)).equals(G1));
  assert.ok(bls.g2FromBytes(hx(V.generators.g2)).equals(G2));
  assert.ok(V.refused.g1.length >= 10 && V.refused.g2.length >= 10);
  for (const [name, data] of V.refused.g1) assert.throws(() => bls.g1FromBytes(hx(data)), InvalidInput, name);
  for (const [name, data] of V.refused.g2) assert.throws(() => bls.g2FromBytes(hx(data)), InvalidInput, name);
  for (const [name, data] of V.refused.scalar) assert.throws(() => bls.scalarFromBytes(hx(data)), InvalidInput, name);
  assert.equal(bls.scalarFromBytes(new Uint8Array(32), { allowZero: true }), 0n);
  assert.throws(() => bls.g1ToBytes(bls.G1Point.ZERO), InvalidInput);
  assert.throws(() => bls.g2ToBytes(G2.subtract(G2)), InvalidInput);
});

test("the small-order point is refused by noble's own subgroup check too", () => {
  const [, data] = V.refused.g1.find(([name]) => name.startsWith('small-order'));
  assert.throws(() => bls.G1Point.fromBytes(hx(data)));
  assert.throws(() => bls.g1FromBytes(hx(data)), /outside the prime-order subgroup/);
});

test('scalar multiplications agree with Python', () => {
  for (const v of V.mul) {
    const k = bls.scalarFromBytes(hx(v.scalar));
    const p = bls.g1FromBytes(hx(v.g1));
    const q = bls.g2FromBytes(hx(v.g2));
    assert.equal(hex(bls.g1ToBytes(bls.mulSecret(p, k))), v.g1_times_scalar, v.label);
    assert.equal(hex(bls.g1ToBytes(bls.mulPublic(p, k))), v.g1_times_scalar, v.label);
    assert.equal(hex(bls.g2ToBytes(bls.mulSecret(q, k))), v.g2_times_scalar, v.label);
  }
  assert.ok(bls.mulSecret(G1, 0n).is0() && bls.mulPublic(G1, 0n).is0());
  assert.throws(() => bls.mulSecret(G1, bls.ORDER), InvalidInput);
  const k = bls.randomScalar();
  assert.ok(k > 0n && k < bls.ORDER);
  assert.ok(bls.msmPublic([G1, G1.double()], [k, 3n]).equals(bls.mulPublic(G1, (k + 6n) % bls.ORDER)));
});

test('e(G1, G2) is the draft vector; noble\'s raw pairing is its cube', () => {
  const e = bls.gtToBytes(bls.pairing(G1, G2));
  assert.equal(e.length, bls.GT_BYTES);
  assert.equal(hex(e), V.gt.e_g1_g2);
  assert.ok(V.gt.e_g1_g2.startsWith('11619b45f61edfe3b47a15fac19442526ff489dcda25e59121d9931438907dfd'));
  const raw = bls12_381.fields.Fp12.toBytes(bls12_381.pairing(G1, G2));
  assert.ok(hex(raw).startsWith('1250ebd871fc0a92a7b2d83168d0d727'));
  assert.equal(hex(raw), hex(bls.gtToBytes(bls.pairing(bls.mulPublic(G1, 3n), G2))));
  assert.equal(hex(bls.gtToBytes(bls.GT_ONE)), V.gt.one);
});

test('pairings written by Python give the same 576 bytes', () => {
  assert.ok(V.gt.pairings.length >= 3);
  for (const v of V.gt.pairings) {
    const gt = bls.pairing(bls.g1FromBytes(hx(v.g1)), bls.g2FromBytes(hx(v.g2)));
    assert.equal(hex(bls.gtToBytes(gt)), v.gt, v.label);
  }
});

test('bilinearity and product checks', () => {
  const p = bls.hashToG1(te('bilinear'), 'test');
  const a = bls.randomScalar();
  const b = bls.randomScalar();
  const ab = (a * b) % bls.ORDER;
  assert.ok(bls.gtEquals(bls.pairing(bls.mulSecret(p, a), bls.mulSecret(G2, b)), bls.pairing(bls.mulSecret(p, ab), G2)));
  assert.ok(bls.pairingsEqual(bls.mulSecret(p, a), bls.mulSecret(G2, b), bls.mulSecret(p, ab), G2));
  assert.ok(!bls.pairingsEqual(bls.mulSecret(p, a), bls.mulSecret(G2, b), bls.mulSecret(p, a), G2));
  assert.ok(bls.pairingProductIsOne([[p, G2], [p.negate(), G2]]));
  assert.ok(!bls.pairingProductIsOne([[p, G2]]));
  assert.ok(bls.pairingProductIsOne([]));
  assert.ok(bls.gtEquals(bls.pairing(bls.G1Point.ZERO, G2), bls.GT_ONE));
  assert.ok(bls.gtEquals(bls.gtMul(bls.pairing(p, G2), bls.pairing(G1, G2)), bls.pairing(p.add(G1), G2)));
});

test('Lagrange coefficients and interpolation agree with Python', () => {
  const L = V.lagrange;
  const xs = L.xs.map(big);
  assert.deepEqual(bls.lagrangeCoefficients(xs).map((c) => hex(bls.scalarToBytes(c))), L.at_0);
  assert.deepEqual(bls.lagrangeCoefficients(xs, big(L.x)).map((c) => hex(bls.scalarToBytes(c))), L.at_x);
  const shares = L.shares.map((s) => bls.g1FromBytes(hx(s)));
  assert.equal(hex(bls.g1ToBytes(bls.interpolateG1(xs, shares))), L.interpolated_at_0);
  // against direct evaluation of the file's polynomial
  const poly = L.polynomial.map(big);
  const f = (x) => poly.reduceRight((acc, c) => (acc * x + c) % bls.ORDER, 0n);
  const base = bls.g1FromBytes(hx(L.base));
  assert.deepEqual(xs.map((x) => hex(bls.g1ToBytes(bls.mulPublic(base, f(x))))), L.shares);
  const at = big(L.x);
  assert.ok(bls.interpolateG1(xs, shares, at).equals(bls.mulPublic(base, f(at))));
  assert.throws(() => bls.lagrangeCoefficients([1n, 2n, 1n]), InvalidInput);
  assert.throws(() => bls.lagrangeCoefficients([0n, 2n]), InvalidInput);
  assert.throws(() => bls.lagrangeCoefficients([]), InvalidInput);
});
