// From an OPRF output to a matching tag and quorum shares
// (protocol/matching.py, PROTOCOL.md §7). Scalars are bigint.
import { InvalidInput } from '../errors.js';
import { concatBytes, i2osp } from './encoding.js';
import { derive } from '../crypto/kdf.js';
import { scalarFromInt, scalarReduce64 } from '../crypto/ristretto.js';
import { evaluatePolynomial } from '../crypto/shamir.js';

export const TAG_BYTES = 32;
export const KCV_BYTES = 16;
export const WRAP_KEY_BYTES = 32;
const EMPTY = new Uint8Array(0);

function scalar(ikm, label, context) {
  return scalarReduce64(derive(ikm, label, context, 64));
}

/** The value the escrow server counts by; pseudorandom without the OPRF key. */
export function matchTag(oprfOutput) {
  return derive(oprfOutput, 'match tag', EMPTY, TAG_BYTES);
}

/** Coefficients of f_k, the degree-(k-1) polynomial of quorum k. */
export function polynomial(oprfOutput, k) {
  if (!(Number.isInteger(k) && k >= 1 && k <= 255)) throw new InvalidInput('quorum out of range');
  return Array.from({ length: k }, (_, j) => scalar(oprfOutput, 'quorum polynomial', concatBytes(i2osp(k, 1), i2osp(j, 1))));
}

/** The reporter's evaluation point: one account, one point per person named. */
export function abscissa(accountId, tag) {
  const x = scalar(accountId, 'share abscissa', tag);
  if (x === 0n) throw new InvalidInput('degenerate abscissa');
  return x;
}

export function keyCheck(secret, tag, k) {
  return derive(scalarFromInt(secret), 'key check', concatBytes(tag, i2osp(k, 1)), KCV_BYTES);
}

export function wrapKey(secret, tag, k) {
  return derive(scalarFromInt(secret), 'wrap key', concatBytes(tag, i2osp(k, 1)), WRAP_KEY_BYTES);
}

/**
 * What one identifier contributes to an entry's envelope:
 * {tag, x, shares: Map k -> f_k(x), kcv, wrapKey}. quorumRange = {low, high} (inclusive).
 */
export function sharesFor(oprfOutput, accountId, quorum, quorumRange) {
  const { low, high } = quorumRange;
  if (!(quorum >= low && quorum <= high)) {
    throw new InvalidInput(`quorum ${quorum} is outside this deployment's range ${low}..${high}`);
  }
  const tag = matchTag(oprfOutput);
  const x = abscissa(accountId, tag);
  const shares = new Map();
  let secret = 0n;
  for (let k = low; k <= high; k++) {
    const coefficients = polynomial(oprfOutput, k);
    shares.set(k, evaluatePolynomial(coefficients, x));
    if (k === quorum) secret = coefficients[0];
  }
  return { tag, x, shares, kcv: keyCheck(secret, tag, quorum), wrapKey: wrapKey(secret, tag, quorum) };
}
