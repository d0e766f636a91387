// The one key-derivation function of the protocol: labelled HKDF-SHA512
// (crypto/kdf.py).
//   derive(ikm, label, context, L) = HKDF-SHA512(salt = "consilience-v1", ikm,
//       info = I2OSP(len(label), 2) || label || context, L)
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { InvalidInput } from '../errors.js';
import { concatBytes, i2osp } from '../protocol/encoding.js';

export const SALT = new TextEncoder().encode('consilience-v1');
export const MAX_LENGTH = 255 * 64;

export function derive(ikm, label, context, length) {
  if (!(ikm instanceof Uint8Array) || ikm.length === 0) throw new InvalidInput('ikm must be non-empty bytes');
  if (typeof label !== 'string' || !label || !/^[\x00-\x7f]*$/.test(label)) {
    throw new InvalidInput('label must be a non-empty ASCII string');
  }
  const labelBytes = new TextEncoder().encode(label);
  if (labelBytes.length > 0xffff) throw new InvalidInput('label too long');
  if (!(context instanceof Uint8Array)) throw new InvalidInput('context must be bytes');
  if (!Number.isInteger(length) || length < 1 || length > MAX_LENGTH) {
    throw new InvalidInput(`length must be between 1 and ${MAX_LENGTH}`);
  }
  const info = concatBytes(i2osp(labelBytes.length, 2), labelBytes, context);
  return hkdf(sha512, ikm, SALT, info, length);
}
