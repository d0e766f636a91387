// Private material at rest under a passphrase (crypto/passphrase.py):
// Argon2id (RFC 9106, @noble/hashes argon2idAsync) + ChaCha20-Poly1305, in the
// self-describing "consilience-sealed/v1" JSON container, byte-identical to
// what Python writes (json.dumps(indent=2) + "\n", padded standard base64).
// The purpose is bound as AEAD associated data:
//   I2OSP(len(format), 2) || format || I2OSP(len(purpose), 2) || purpose
import { argon2idAsync } from '@noble/hashes/argon2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { DecryptionError, InvalidInput } from '../errors.js';
import { b64Decode, b64Encode, concatBytes, i2osp, utf8Decode, utf8Encode } from '../protocol/encoding.js';
import { dumps } from '../protocol/pyjson.js';
import * as aead from './aead.js';

export const FORMAT = 'consilience-sealed/v1';
export const KDF_NAME = 'argon2id';
export const AEAD_NAME = 'chacha20-poly1305';
export const SALT_BYTES = 16;
export const DEFAULT_PARAMS = Object.freeze({ memoryCostKib: 65536, iterations: 3, lanes: 4 });
/** The floor the Python tests use; fine for tests, too weak for real files. */
export const FAST_PARAMS = Object.freeze({ memoryCostKib: 1024, iterations: 1, lanes: 1 });
export const MIN_MEMORY_COST_KIB = 1024;
export const MAX_MEMORY_COST_KIB = 1024 * 1024;
export const MIN_ITERATIONS = 1;
export const MAX_ITERATIONS = 16;
export const MIN_LANES = 1;
export const MAX_LANES = 16;
export const MAX_DATA_BYTES = 16 * 1024 * 1024;
export const MAX_BLOB_BYTES = 4 * (Math.floor(MAX_DATA_BYTES / 3) + 1) + 4096;
const WRONG = 'wrong passphrase or damaged file';

/** NFC-normalised UTF-8, so the same typed passphrase works on every OS/keyboard. */
export function passphraseBytes(passphrase) {
  if (typeof passphrase !== 'string' || !passphrase) throw new InvalidInput('passphrase must be a non-empty string');
  return utf8Encode(passphrase.normalize('NFC'), 'passphrase');
}

export function aad(purpose) {
  if (typeof purpose !== 'string' || !purpose) throw new InvalidInput('purpose must be a non-empty string');
  const fmt = new TextEncoder().encode(FORMAT);
  const p = utf8Encode(purpose, 'purpose');
  if (p.length > 0xffff) throw new InvalidInput('purpose too long');
  return concatBytes(i2osp(fmt.length, 2), fmt, i2osp(p.length, 2), p);
}

export function checkParams({ memoryCostKib, iterations, lanes }) {
  for (const [name, value, low, high] of [
    ['memory_cost_kib', memoryCostKib, MIN_MEMORY_COST_KIB, MAX_MEMORY_COST_KIB],
    ['iterations', iterations, MIN_ITERATIONS, MAX_ITERATIONS],
    ['lanes', lanes, MIN_LANES, MAX_LANES],
  ]) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < low || value > high) {
      throw new InvalidInput(`argon2id ${name} must be an integer in [${low}, ${high}]`);
    }
  }
}

/** Argon2id(passphrase, salt) -> 32-byte key; onProgress(fraction 0..1) while it runs. */
export async function deriveKey(passphrase, salt, params, onProgress) {
  checkParams(params);
  const opts = { t: params.iterations, m: params.memoryCostKib, p: params.lanes, dkLen: aead.KEY_BYTES, maxmem: MAX_MEMORY_COST_KIB * 1024 };
  if (onProgress) opts.onProgress = onProgress;
  return argon2idAsync(passphraseBytes(passphrase), salt, opts);
}

/**
 * Encrypt `data` (bytes) under `passphrase`; returns the JSON document as UTF-8
 * bytes, exactly as passphrase.py seal writes it.
 */
export async function seal(data, passphrase, purpose, params = DEFAULT_PARAMS, onProgress = undefined) {
  const p = { ...DEFAULT_PARAMS, ...params };
  checkParams(p);
  if (!(data instanceof Uint8Array) || data.length > MAX_DATA_BYTES) throw new InvalidInput(`data must be bytes of at most ${MAX_DATA_BYTES} bytes`);
  const ad = aad(purpose);
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(passphrase, salt, p, onProgress);
  const sealed = aead.seal(key, data, ad);
  const document = {
    format: FORMAT,
    kdf: { name: KDF_NAME, memory_cost_kib: p.memoryCostKib, iterations: p.iterations, lanes: p.lanes, salt: b64Encode(salt) },
    aead: AEAD_NAME,
    nonce: b64Encode(sealed.subarray(0, aead.NONCE_BYTES)),
    ciphertext: b64Encode(sealed.subarray(aead.NONCE_BYTES)),
  };
  return new TextEncoder().encode(dumps(document, { indent: 2 }) + '\n');
}

/** The kdf parameters of a sealed document, checked (no Argon2 run). */
export function inspect(blob) {
  if (typeof blob === 'string') blob = utf8Encode(blob);
  if (!(blob instanceof Uint8Array) || blob.length > MAX_BLOB_BYTES) throw new InvalidInput('sealed file: not bytes or too large');
  let document;
  try {
    document = JSON.parse(utf8Decode(blob, 'sealed file'));
  } catch {
    throw new InvalidInput('sealed file: not a JSON document');
  }
  if (!document || typeof document !== 'object' || Array.isArray(document) || document.format !== FORMAT) {
    throw new InvalidInput(`sealed file: format is not ${FORMAT}`);
  }
  const kdf = document.kdf;
  if (!kdf || typeof kdf !== 'object' || Array.isArray(kdf) || kdf.name !== KDF_NAME) throw new InvalidInput(`sealed file: kdf is not ${KDF_NAME}`);
  if (document.aead !== AEAD_NAME) throw new InvalidInput(`sealed file: aead is not ${AEAD_NAME}`);
  const params = { memoryCostKib: kdf.memory_cost_kib, iterations: kdf.iterations, lanes: kdf.lanes };
  checkParams(params);
  const field = (v, name) => {
    if (typeof v !== 'string') throw new InvalidInput(`sealed file: ${name} is not a base64 string`);
    return b64Decode(v, `sealed file: ${name}`);
  };
  const salt = field(kdf.salt, 'salt');
  const nonce = field(document.nonce, 'nonce');
  const ciphertext = field(document.ciphertext, 'ciphertext');
  if (salt.length !== SALT_BYTES) throw new InvalidInput(`sealed file: salt must be ${SALT_BYTES} bytes`);
  if (nonce.length !== aead.NONCE_BYTES) throw new InvalidInput(`sealed file: nonce must be ${aead.NONCE_BYTES} bytes`);
  if (ciphertext.length < aead.TAG_BYTES) throw new InvalidInput('sealed file: ciphertext too short');
  return { params, salt, nonce, ciphertext };
}

/**
 * Decrypt a document made by seal (bytes or string). InvalidInput if it is
 * malformed or its parameters are out of bounds (checked before Argon2 runs);
 * DecryptionError("wrong passphrase or damaged file") otherwise.
 */
export async function open(blob, passphrase, purpose, onProgress = undefined) {
  const ad = aad(purpose);
  const { params, salt, nonce, ciphertext } = inspect(blob);
  const key = await deriveKey(passphrase, salt, params, onProgress);
  try {
    return aead.open(key, concatBytes(nonce, ciphertext), ad);
  } catch (e) {
    if (e instanceof DecryptionError) throw new DecryptionError(WRONG);
    throw e;
  }
}
