// RFC 9162 Merkle tree hashing and proof verification (tlog/merkle.py).
// Sizes and indices are uint64: they are handled as BigInt so 2^53 and above
// stay exact.
import { sha256 } from '@noble/hashes/sha2.js';
import { VerificationError } from '../errors.js';
import { bytesEqual, concatBytes } from '../protocol/encoding.js';

export const HASH_SIZE = 32;
export const MAX_TREE_SIZE = (1n << 64n) - 1n;
export const MAX_PROOF_HASHES = 65;

/** MTH({d}) = SHA-256(0x00 || d) */
export function leafHash(data) {
  return sha256(concatBytes(Uint8Array.of(0), data));
}

/** SHA-256(0x01 || left || right) */
export function nodeHash(left, right) {
  return sha256(concatBytes(Uint8Array.of(1), left, right));
}

function checkHash(value, what) {
  if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) throw new VerificationError(`${what} must be ${HASH_SIZE} bytes`);
}

function checkProof(proof) {
  if (!Array.isArray(proof) || proof.length > MAX_PROOF_HASHES) {
    throw new VerificationError(`a proof is a list of at most ${MAX_PROOF_HASHES} hashes`);
  }
  proof.forEach((h, n) => checkHash(h, `proof hash ${n}`));
}

function checkInt(value, what) {
  let v;
  try {
    v = typeof value === 'bigint' ? value : (Number.isSafeInteger(value) ? BigInt(value) : null);
  } catch {
    v = null;
  }
  if (v === null || v < 0n || v > MAX_TREE_SIZE) throw new VerificationError(`${what} must be an integer in [0, 2^64)`);
  return v;
}

/** RFC 9162 §2.1.3.2; VerificationError unless `proof` puts `leaf` at `index` under `root`. */
export function verifyInclusion(leaf, index, size, proof, root) {
  checkHash(leaf, 'leaf hash');
  checkHash(root, 'root hash');
  checkProof(proof);
  const idx = checkInt(index, 'leaf index');
  const sz = checkInt(size, 'tree size');
  if (idx >= sz) throw new VerificationError(`leaf index ${idx} is not below the tree size ${sz}`);
  let fn = idx;
  let sn = sz - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new VerificationError('inclusion proof is longer than the path to the root');
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new VerificationError('inclusion proof is shorter than the path to the root');
  if (!bytesEqual(r, root)) throw new VerificationError('inclusion proof does not lead to the root hash');
}

/** RFC 9162 §2.1.4.2; VerificationError unless tree size2 extends tree size1. */
export function verifyConsistency(size1, size2, proof, root1, root2) {
  checkHash(root1, 'first root hash');
  checkHash(root2, 'second root hash');
  checkProof(proof);
  const s1 = checkInt(size1, 'first tree size');
  const s2 = checkInt(size2, 'second tree size');
  if (s1 > s2) throw new VerificationError(`first tree size ${s1} exceeds the second ${s2}`);
  if (s1 === s2) {
    if (proof.length) throw new VerificationError('equal tree sizes need an empty consistency proof');
    if (!bytesEqual(root1, root2)) throw new VerificationError('equal tree sizes but different root hashes');
    return;
  }
  if (s1 === 0n) throw new VerificationError('a consistency proof from the empty tree proves nothing');
  if (!proof.length) throw new VerificationError('consistency proof is empty');
  const path = [...proof];
  if ((s1 & (s1 - 1n)) === 0n) path.unshift(root1);
  let fn = s1 - 1n;
  let sn = s2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new VerificationError('consistency proof is longer than needed');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new VerificationError('consistency proof is shorter than needed');
  if (!bytesEqual(fr, root1)) throw new VerificationError('consistency proof does not lead to the first root hash');
  if (!bytesEqual(sr, root2)) throw new VerificationError('consistency proof does not lead to the second root hash');
}
