// Shamir secret sharing over the ristretto255 scalar field (crypto/shamir.py).
// Arithmetic is the field of @noble/curves (Fn); polynomials are arrays of
// bigint coefficients, points are Maps x -> y (bigint), in insertion order.
import { InvalidInput } from '../errors.js';
import { Fn, ORDER } from './ristretto.js';
import { randomBytes } from '@noble/hashes/utils.js';

export { ORDER };

const mod = (v) => Fn.create(BigInt(v));

/** Horner evaluation of sum(c_j * x^j) mod the group order. */
export function evaluatePolynomial(coefficients, x) {
  const bx = mod(x);
  let acc = 0n;
  for (let j = coefficients.length - 1; j >= 0; j--) acc = Fn.add(Fn.mul(acc, bx), mod(coefficients[j]));
  return acc;
}

/** Shares f(1)..f(count) of a degree threshold-1 polynomial with f(0) = secret. */
export function split(secret, threshold, count, randomCoefficients) {
  if (!(threshold >= 1 && threshold <= count)) throw new InvalidInput('need 1 <= threshold <= count');
  if (randomCoefficients.length !== threshold - 1) throw new InvalidInput('need threshold-1 random coefficients');
  const coefficients = [mod(secret), ...randomCoefficients.map(mod)];
  const shares = new Map();
  for (let i = 1; i <= count; i++) shares.set(i, evaluatePolynomial(coefficients, i));
  return shares;
}

export function randomScalarInt() {
  for (;;) {
    const r = Fn.create(bytesToBigLE(randomBytes(64)));
    if (r !== 0n) return r;
  }
}

function bytesToBigLE(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

export function splitRandom(secret, threshold, count) {
  return split(secret, threshold, count, Array.from({ length: threshold - 1 }, randomScalarInt));
}

/** Lagrange coefficients at 0: Map x -> lambda_x with f(0) = sum(lambda_x * f(x)). */
export function lagrangeAtZero(xs) {
  const points = Array.from(xs, (p) => BigInt(p));
  if (points.length === 0) throw new InvalidInput('no points to interpolate');
  const reduced = points.map(mod);
  if (new Set(reduced.map(String)).size !== points.length) throw new InvalidInput('interpolation points must be distinct');
  if (reduced.some((p) => p === 0n)) throw new InvalidInput('interpolation point 0 is the secret itself');
  const out = new Map();
  for (const i of points) {
    let num = 1n;
    let den = 1n;
    for (const j of points) {
      if (j === i) continue;
      num = Fn.mul(num, mod(-j));
      den = Fn.mul(den, mod(i - j));
    }
    out.set(i, Fn.mul(num, Fn.inv(den)));
  }
  return out;
}

function entriesOf(shares) {
  return Array.from(shares instanceof Map ? shares.entries() : shares, ([x, y]) => [BigInt(x), BigInt(y)]);
}

/** f(0) from exactly the given points (Map or [x, y] pairs). */
export function interpolateAtZero(shares) {
  const points = entriesOf(shares);
  const lambdas = lagrangeAtZero(points.map(([x]) => x));
  let acc = 0n;
  for (const [x, y] of points) acc = Fn.add(acc, Fn.mul(lambdas.get(x), mod(y)));
  return acc;
}

/** All coefficients of the unique polynomial through the given points. */
export function interpolatePolynomial(shares) {
  const points = entriesOf(shares);
  if (new Set(points.map(([x]) => String(mod(x)))).size !== points.length) {
    throw new InvalidInput('interpolation points must be distinct');
  }
  const n = points.length;
  const result = new Array(n).fill(0n);
  points.forEach(([xi, yi], i) => {
    let basis = [1n];
    let den = 1n;
    points.forEach(([xj], j) => {
      if (j === i) return;
      const next = [];
      for (let k = 0; k < basis.length + 1; k++) {
        next.push(mod((k > 0 ? basis[k - 1] : 0n) - xj * (k < basis.length ? basis[k] : 0n)));
      }
      basis = next;
      den = Fn.mul(den, mod(xi - xj));
    });
    const factor = Fn.mul(mod(yi), Fn.inv(den));
    for (let k = 0; k < n; k++) result[k] = Fn.add(result[k], Fn.mul(factor, basis[k]));
  });
  return result;
}
