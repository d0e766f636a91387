// ChaCha20-Poly1305 (RFC 8439) from @noble/ciphers, laid out as
// crypto/aead.py: nonce(12) || ciphertext || tag(16), random nonce.
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { DecryptionError, InvalidInput } from '../errors.js';
import { concatBytes } from '../protocol/encoding.js';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const OVERHEAD = NONCE_BYTES + TAG_BYTES;

export function newKey() {
  return randomBytes(KEY_BYTES);
}

function checkKey(key) {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) throw new InvalidInput(`AEAD key must be ${KEY_BYTES} bytes`);
}

/** Encrypt and authenticate; returns nonce || ciphertext || tag. */
export function seal(key, plaintext, aad) {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  return concatBytes(nonce, chacha20poly1305(key, nonce, aad).encrypt(plaintext));
}

/** Inverse of seal; DecryptionError on wrong key/aad, tampering or truncation. */
export function open(key, sealed, aad) {
  checkKey(key);
  if (!(sealed instanceof Uint8Array) || sealed.length < OVERHEAD) throw new DecryptionError('sealed message too short');
  try {
    return chacha20poly1305(key, sealed.subarray(0, NONCE_BYTES), aad).decrypt(sealed.subarray(NONCE_BYTES));
  } catch {
    throw new DecryptionError('could not decrypt: wrong key or damaged data');
  }
}
