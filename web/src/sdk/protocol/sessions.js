// Escrow sessions, protocol v2 (protocol/sessions.py, PROTOCOL.md §6.1): a reporter signs in again
// with its account key when its session has expired. Same label and layout as Python:
//   signature = Ed25519(seed, "consilience-v2 login" ‖ deployment_id (16) ‖ account_key (32) ‖ u64 issued_at ‖ nonce (16))
import { InvalidInput } from '../errors.js';
import { accountKey, signWithSeed } from './accounts.js';
import { concatBytes, i2osp } from './encoding.js';

export const LOGIN_LABEL = new TextEncoder().encode('consilience-v2 login');
export const NONCE_BYTES = 16;

export function loginBytes(deploymentId, key, issuedAt, nonce) {
  if (deploymentId.length !== 16 || key.length !== 32 || nonce.length !== NONCE_BYTES) {
    throw new InvalidInput('a login names a 16-byte deployment id, a 32-byte account key and a 16-byte nonce');
  }
  return concatBytes(LOGIN_LABEL, deploymentId, key, i2osp(issuedAt, 8), nonce);
}

/** A fresh sign-in signed by the account seed: {accountKey, issuedAt, nonce, signature}. */
export function signLogin(seed, deploymentId, { now = null, nonce = null } = {}) {
  const key = accountKey(seed);
  const issuedAt = Math.floor(now === null ? Date.now() / 1000 : now);
  const n = nonce ?? globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  return { accountKey: key, issuedAt, nonce: n, signature: signWithSeed(seed, loginBytes(deploymentId, key, issuedAt, n)) };
}
