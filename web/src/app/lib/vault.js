// Passphrase-sealed files in the browser ("consilience-sealed/v1", crypto/passphrase.py), with
// Argon2id in a Web Worker (argon2-worker.js) so the page stays responsive.
//
// The container itself is the SDK's (sdk/crypto/sealed.js: inspect, aad, the same JSON layout). The
// derived key is kept in memory while the wallet is unlocked, so each save re-seals under the same
// salt and parameters with a fresh random nonce instead of stretching the passphrase again (seconds)
// on every save; the result is an ordinary sealed document the CLI opens. forget() drops the key.
import * as aead from '../../sdk/crypto/aead.js';
import { b64Encode, concatBytes } from '../../sdk/protocol/encoding.js';
import { DecryptionError, InvalidInput } from '../../sdk/errors.js';
import { dumps } from '../../sdk/protocol/pyjson.js';
import {
  AEAD_NAME, DEFAULT_PARAMS, FORMAT, KDF_NAME, SALT_BYTES, aad, checkParams, inspect,
} from '../../sdk/crypto/sealed.js';
import { t } from './i18n.js';

export const WALLET_PURPOSE = 'consilience reporter wallet';
export const COUNSELOR_PURPOSE = 'consilience counselor key';

let worker = null;
let nextId = 0;
const waiting = new Map();

function getWorker() {
  if (!worker) {
    worker = new Worker('/argon2-worker.js', { type: 'module' });
    worker.onmessage = (event) => {
      const { id, progress, key, error, name } = event.data;
      const job = waiting.get(id);
      if (!job) return;
      if (progress !== undefined) { job.onProgress?.(progress); return; }
      waiting.delete(id);
      if (error) job.reject(name === 'InvalidInput' ? new InvalidInput(error) : new Error(t('app.vault.stretchFailed', { reason: error })));
      else job.resolve(new Uint8Array(key));
    };
    worker.onerror = (event) => {
      for (const job of waiting.values()) job.reject(new Error(t('app.vault.stretchFailed', { reason: event.message })));
      waiting.clear();
      worker = null;
    };
  }
  return worker;
}

/** Argon2id in the worker; onProgress(fraction in [0, 1]). Also the recovery backup's stretching (lib/recovery_ui.js). */
export function deriveKey(passphrase, salt, params, onProgress) {
  if (typeof passphrase !== 'string' || !passphrase) return Promise.reject(Object.assign(new InvalidInput(t('app.vault.passphraseEmpty')), { key: 'app.vault.passphraseEmpty' }));
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject, onProgress });
    getWorker().postMessage({ id, passphrase, salt, params });
  });
}

export class Vault {
  constructor(key, salt, params, purpose) {
    this.key = key;
    this.salt = salt;
    this.params = params;
    this.purpose = purpose;
  }

  /** A vault for a new passphrase: fresh salt, RFC 9106 parameters (passphrase.py's defaults). */
  static async create(passphrase, onProgress, purpose = WALLET_PURPOSE, params = DEFAULT_PARAMS) {
    checkParams(params);
    const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
    const key = await deriveKey(passphrase, salt, params, onProgress);
    return new Vault(key, salt, params, purpose);
  }

  /** Open a sealed document (text); returns {vault, data}. Bounds are checked before Argon2 runs. */
  static async open(text, passphrase, onProgress, purpose = WALLET_PURPOSE) {
    const { params, salt, nonce, ciphertext } = inspect(text);
    const key = await deriveKey(passphrase, salt, params, onProgress);
    let data;
    try {
      data = aead.open(key, concatBytes(nonce, ciphertext), aad(purpose));
    } catch {
      throw Object.assign(new DecryptionError(t('app.vault.wrongPassphrase')), { key: 'app.vault.wrongPassphrase' });
    }
    return { vault: new Vault(key, salt, params, purpose), data };
  }

  /** The sealed document text for `data`, laid out as passphrase.py writes it. */
  async seal(data) {
    if (!this.key) throw new Error(t('app.vault.locked'));
    const sealed = aead.seal(this.key, data, aad(this.purpose));
    const document = {
      format: FORMAT,
      kdf: {
        name: KDF_NAME, memory_cost_kib: this.params.memoryCostKib, iterations: this.params.iterations,
        lanes: this.params.lanes, salt: b64Encode(this.salt),
      },
      aead: AEAD_NAME,
      nonce: b64Encode(sealed.subarray(0, aead.NONCE_BYTES)),
      ciphertext: b64Encode(sealed.subarray(aead.NONCE_BYTES)),
    };
    return `${dumps(document, { indent: 2 })}\n`;
  }

  forget() {
    this.key?.fill(0);
    this.key = null;
  }
}
