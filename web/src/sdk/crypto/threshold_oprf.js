// Threshold VOPRF, the combination (crypto/threshold_oprf.py); asking the key
// servers is clients/oprf_client.js.
//
// Key server i holds k_i = g(i) of sk = g(0) and answers Z_i = k_i*B with a
// VOPRF proof against its public share pk_i. The client keeps the first t
// answers whose proofs hold and recombines sk*B = sum(lambda_i * Z_i).
//
// Glue, and why: @noble/curves has no Lagrange combination "in the
// exponent", so interpolateInExponent() is written here on the library's
// Point (multiply/add) and field (Fn) API, with the coefficients from
// shamir.lagrangeAtZero, exactly as the Python does on libsodium.
import { ConsilienceError, InvalidInput, VerificationError } from '../errors.js';
import { Point, checkElement } from './ristretto.js';
import { lagrangeAtZero } from './shamir.js';
import * as oprf from './oprf.js';

function sameBytesList(a, b) {
  return a.length === b.length && a.every((x, i) => x.length === b[i].length && x.every((v, j) => v === b[i][j]));
}

/** sum(L_i(x) * P_i) over points (Map index -> element bytes), as element bytes (identity allowed). */
export function interpolateInExponent(points, x = 0) {
  const entries = Array.from(points.entries(), ([i, e]) => [BigInt(i), e]);
  const bx = BigInt(x);
  const lambdas = lagrangeAtZero(entries.map(([i]) => i - bx));
  let total = Point.ZERO;
  for (const [i, element] of entries) {
    const lambda = lambdas.get(i - bx);
    const p = checkElement(element);
    total = total.add(lambda === 0n ? Point.ZERO : p.multiply(lambda));
  }
  return total.toBytes();
}

function toMap(publicShares) {
  if (publicShares instanceof Map) return publicShares;
  return new Map(Object.entries(publicShares).map(([k, v]) => [Number(k), v]));
}

/**
 * The partial {index, evaluated, proof} marked verified against these blinded
 * elements, or null if its proof, index or shape is wrong.
 */
export function verifyPartial(blinded, partial, publicShares) {
  const pk = toMap(publicShares).get(partial.index);
  if (!pk || !Array.isArray(partial.evaluated) || partial.evaluated.length !== blinded.length) return null;
  try {
    oprf.verifyProof(pk, blinded, partial.evaluated, partial.proof);
  } catch (e) {
    if (e instanceof ConsilienceError) return null;
    throw e;
  }
  return Object.freeze({ verified: true, partial, blinded: [...blinded] });
}

/** sk*B_j from the first `threshold` verified partials. */
export function combineVerified(verified, threshold) {
  if (threshold < 1) throw new InvalidInput('threshold must be at least 1');
  if (verified.length < threshold) {
    throw new VerificationError(`fewer than t=${threshold} valid partial evaluations (${verified.length})`);
  }
  if (verified.some((v) => v.verified !== true)) throw new InvalidInput('combineVerified takes verifyPartial results');
  const blinded = verified[0].blinded;
  if (verified.some((v) => !sameBytesList(v.blinded, blinded))) {
    throw new InvalidInput('partials were verified against different blinded elements');
  }
  const chosen = verified.slice(0, threshold).map((v) => v.partial);
  if (new Set(chosen.map((p) => p.index)).size !== chosen.length) throw new InvalidInput('duplicate partial evaluation index');
  return blinded.map((_, j) => {
    const z = interpolateInExponent(new Map(chosen.map((p) => [p.index, p.evaluated[j]])), 0);
    checkElement(z);
    return z;
  });
}

/** Verify every partial, combine the first t valid: {combined, rejected}. */
export function combine(blinded, partials, publicShares, threshold) {
  if (threshold < 1) throw new InvalidInput('threshold must be at least 1');
  const indices = partials.map((p) => p.index);
  if (new Set(indices).size !== indices.length) throw new InvalidInput('duplicate partial evaluation index');
  const valid = [];
  const rejected = [];
  for (const partial of partials) {
    const checked = verifyPartial(blinded, partial, publicShares);
    if (checked) valid.push(checked);
    else rejected.push(partial.index);
  }
  if (valid.length < threshold) {
    throw new VerificationError(
      `fewer than t=${threshold} valid partial evaluations (${valid.length} valid, rejected ${JSON.stringify(rejected)})`,
    );
  }
  return { combined: combineVerified(valid, threshold), rejected };
}

/**
 * Check that the public shares (Map index -> pk_i) lie on one degree t-1
 * polynomial whose value at 0 is the group key (Feldman-style).
 */
export function checkPublicShares(groupPublicKey, publicShares, threshold) {
  checkElement(groupPublicKey);
  const shares = toMap(publicShares);
  const indices = [...shares.keys()].sort((a, b) => a - b);
  if (threshold < 1 || indices.length < threshold) throw new InvalidInput('need at least `threshold` public shares');
  indices.forEach((i) => checkElement(shares.get(i)));
  const base = new Map(indices.slice(0, threshold).map((i) => [i, shares.get(i)]));
  const same = (a, b) => a.length === b.length && a.every((v, k) => v === b[k]);
  if (!same(interpolateInExponent(base, 0), groupPublicKey)) {
    throw new VerificationError(`public shares ${JSON.stringify([...base.keys()])} do not interpolate to the group public key`);
  }
  for (const j of indices.slice(threshold)) {
    if (!same(interpolateInExponent(base, j), shares.get(j))) {
      throw new VerificationError(`public share ${j} is inconsistent with the others`);
    }
  }
}
