// Public-key encryption to counselors (crypto/hpke.py): RFC 9180 HPKE, base
// mode, single shot, suite X-Wing (kem 0x647a, ML-KEM-768 + X25519) /
// HKDF-SHA256 / ChaCha20-Poly1305, via @hpke/core + @hpke/hybridkem-x-wing.
// Ciphertext = enc (1120 bytes) || AEAD ciphertext; everything it is bound to
// goes into `info`. A private key is its 32-byte X-Wing seed.
//
// Glue, and why: @hpke/core ships AES-GCM only (ChaCha20-Poly1305 lives in a
// separate package that is not a dependency), so ChaChaPolyAead adapts
// @noble/ciphers' chacha20poly1305 to @hpke/core's AeadInterface. The X-Wing
// module does not validate a recipient public key; parsePublicKey does what
// the Python does (FIPS 203 modulus check via @noble/post-quantum's ML-KEM,
// low-order X25519 refusal via @noble/curves' x25519).
import { CipherSuite, HkdfSha256 } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { DecryptionError, InvalidInput } from '../errors.js';
import { concatBytes, i2osp } from '../protocol/encoding.js';

export const KEM_ID = 0x647a;
export const KDF_ID = 0x0001;
export const AEAD_ID = 0x0003;
export const SUITE_ID = concatBytes(new TextEncoder().encode('HPKE'), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(AEAD_ID, 2));
export const SEED_BYTES = 32;
export const MLKEM768_PUBLIC_BYTES = 1184;
export const MLKEM768_CIPHERTEXT_BYTES = 1088;
export const X25519_BYTES = 32;
export const PUBLIC_KEY_BYTES = MLKEM768_PUBLIC_BYTES + X25519_BYTES;
export const ENC_BYTES = MLKEM768_CIPHERTEXT_BYTES + X25519_BYTES;
export const TAG_BYTES = 16;
export const CIPHERTEXT_OVERHEAD = ENC_BYTES + TAG_BYTES;
export const KEY_ID_BYTES = 16;
const KEY_ID_LABEL = new TextEncoder().encode('consilience-v1 counselor key id');

const u8 = (b) => (b instanceof Uint8Array ? b : new Uint8Array(b));
const ab = (b) => u8(b).slice().buffer;

class ChaChaPolyContext {
  constructor(key) {
    this._key = u8(key).slice();
  }
  async seal(iv, data, aad) {
    return ab(chacha20poly1305(this._key, u8(iv), u8(aad)).encrypt(u8(data)));
  }
  async open(iv, data, aad) {
    return ab(chacha20poly1305(this._key, u8(iv), u8(aad)).decrypt(u8(data)));
  }
}

/** ChaCha20-Poly1305 (aead_id 0x0003) for @hpke/core, on @noble/ciphers. */
export class ChaChaPolyAead {
  constructor() {
    this.id = AEAD_ID;
    this.keySize = 32;
    this.nonceSize = 12;
    this.tagSize = 16;
  }
  createEncryptionContext(key) {
    return new ChaChaPolyContext(key);
  }
}

let suiteInstance = null;
/** The fixed HPKE suite (X-Wing, HKDF-SHA256, ChaCha20-Poly1305). */
export function suite() {
  if (!suiteInstance) suiteInstance = new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new ChaChaPolyAead() });
  return suiteInstance;
}

function checkSeed(seed) {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) throw new InvalidInput(`private key seed must be ${SEED_BYTES} bytes`);
}

export function generatePrivateKey() {
  return randomBytes(SEED_BYTES);
}

/** The encoded public key pk_M || pk_X (1216 bytes) of a private seed. */
export async function publicKeyBytes(seed) {
  checkSeed(seed);
  const kem = suite().kem;
  const pair = await kem.generateKeyPairDerand(seed.slice());
  return new Uint8Array(await kem.serializePublicKey(pair.publicKey));
}

/** Validate a public key as crypto/hpke.py parse_public_key does; returns the library key. */
export async function parsePublicKey(publicKey) {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new InvalidInput(`counselor public key must be ${PUBLIC_KEY_BYTES} bytes`);
  }
  try {
    ml_kem768.encapsulate(publicKey.subarray(0, MLKEM768_PUBLIC_BYTES)); // runs the FIPS 203 modulus check
  } catch {
    throw new InvalidInput('counselor public key: invalid ML-KEM-768 part');
  }
  try {
    x25519.getSharedSecret(x25519.utils.randomSecretKey(), publicKey.subarray(MLKEM768_PUBLIC_BYTES));
  } catch {
    throw new InvalidInput('counselor public key: low-order X25519 part');
  }
  return suite().kem.deserializePublicKey(ab(publicKey));
}

/** Encrypt to a counselor: enc || ciphertext (plaintext + 1136 bytes). */
export async function seal(publicKey, plaintext, info, { ekm, aad } = {}) {
  const recipientPublicKey = await parsePublicKey(publicKey);
  const params = { recipientPublicKey, info: ab(info) };
  // ekm (deterministic encapsulation) and aad exist for the published test vectors only.
  if (ekm !== undefined) params.ekm = ab(ekm);
  const { ct, enc } = await suite().seal(params, ab(plaintext), aad === undefined ? undefined : ab(aad));
  return concatBytes(new Uint8Array(enc), new Uint8Array(ct));
}

/**
 * Decrypt enc || ciphertext; DecryptionError if it does not authenticate
 * (wrong key, wrong info, truncation, modification). `aad` is for the
 * published test vectors only; the protocol never uses it.
 */
export async function open(seed, ciphertext, info, { aad } = {}) {
  checkSeed(seed);
  if (!(ciphertext instanceof Uint8Array) || ciphertext.length < CIPHERTEXT_OVERHEAD) throw new DecryptionError('ciphertext too short');
  const s = suite();
  const recipientKey = await s.kem.importKey('raw', ab(seed), false);
  try {
    const pt = await s.open(
      { recipientKey, enc: ab(ciphertext.subarray(0, ENC_BYTES)), info: ab(info) },
      ab(ciphertext.subarray(ENC_BYTES)),
      aad === undefined ? undefined : ab(aad),
    );
    return new Uint8Array(pt);
  } catch {
    throw new DecryptionError('could not decrypt: wrong key or damaged ciphertext');
  }
}

/** First 16 bytes of SHA-256(I2OSP(31, 2) || label || suite_id || public_key). */
export async function keyId(publicKey) {
  await parsePublicKey(publicKey);
  return sha256(concatBytes(i2osp(KEY_ID_LABEL.length, 2), KEY_ID_LABEL, SUITE_ID, publicKey)).subarray(0, KEY_ID_BYTES);
}
