// Reporter accounts in protocol v2 (protocol/accounts.py, PROTOCOL.md §6): the
// administrator certifies an account key (the Ed25519 public key of the invite's
// seed) for one deployment; the reporter proves they hold the seed when
// registering and signs every key-server request with it. Same labels, layout
// and refusals as the Python module. The abscissa (a key-server secret) is not
// here: only key servers can compute it.
import { ed25519 } from '@noble/curves/ed25519.js';
import { InvalidInput, VerificationError } from '../errors.js';
import { bytesEqual, concatBytes, i2osp } from './encoding.js';
import { ed25519Verify } from '../tlog/signed_note.js';

const te = (s) => new TextEncoder().encode(s);
export const CERTIFICATE_LABEL = te('consilience-v2 account certificate');
export const REGISTER_LABEL = te('consilience-v2 register');
export const ABSCISSA_LABEL = te('consilience-v2 abscissa');
export const SEED_BYTES = 32;
export const ACCOUNT_KEY_BYTES = 32;
export const DEPLOYMENT_ID_BYTES = 16;
export const CERTIFICATE_BYTES = ACCOUNT_KEY_BYTES + DEPLOYMENT_ID_BYTES + 8 + 64;

const isBytes = (v, n) => v instanceof Uint8Array && (n === undefined || v.length === n);

/** The account's public key: the seed is the Ed25519 private key itself. */
export function accountKey(seed) {
  if (!isBytes(seed, SEED_BYTES)) throw new InvalidInput('an account seed is 32 bytes');
  return ed25519.getPublicKey(seed);
}

/** Ed25519 signature by the account key (deterministic, RFC 8032: the same bytes as Python). */
export function signWithSeed(seed, message) {
  if (!isBytes(seed, SEED_BYTES)) throw new InvalidInput('an account seed is 32 bytes');
  return ed25519.sign(message, seed);
}

function certified(account, deploymentId, issuedAt) {
  return concatBytes(CERTIFICATE_LABEL, account, deploymentId, i2osp(issuedAt, 8));
}

/** The 120-byte certificate of an account key signed by `adminPrivate` (tests and tools: the browser never holds it). */
export function issueCertificate(adminPrivate, deploymentId, account, { now = null } = {}) {
  if (!isBytes(account, ACCOUNT_KEY_BYTES) || !isBytes(deploymentId, DEPLOYMENT_ID_BYTES)) {
    throw new InvalidInput('an account key is 32 bytes and a deployment id 16');
  }
  const issuedAt = Math.floor(now ?? Date.now() / 1000);
  return concatBytes(account, deploymentId, i2osp(issuedAt, 8), ed25519.sign(certified(account, deploymentId, issuedAt), adminPrivate));
}

/** The certificate's fields, unchecked: {accountKey, deploymentId, issuedAt, encoded}. */
export function parseCertificate(data) {
  if (!isBytes(data, CERTIFICATE_BYTES)) throw new InvalidInput(`an account certificate is ${CERTIFICATE_BYTES} bytes`);
  let issuedAt = 0;
  for (const b of data.slice(48, 56)) issuedAt = issuedAt * 256 + b;
  return Object.freeze({ accountKey: data.slice(0, 32), deploymentId: data.slice(32, 48), issuedAt, encoded: data.slice() });
}

/** The certificate if the administrator signed it for this deployment; else VerificationError. */
export function verifyCertificate(adminPublic, deploymentId, data) {
  const cert = parseCertificate(data);
  if (!bytesEqual(cert.deploymentId, deploymentId)) throw new VerificationError('the account certificate is for another deployment');
  try {
    ed25519Verify(adminPublic, certified(cert.accountKey, cert.deploymentId, cert.issuedAt), data.slice(56));
  } catch (exc) {
    if (!(exc instanceof VerificationError)) throw exc;
    throw new VerificationError("the account certificate is not signed by this deployment's administrator");
  }
  return cert;
}

/** What a reporter shows the escrow server to use an invite: a signature by the invite's account key. */
export function registrationProof(seed, deploymentId) {
  return signWithSeed(seed, concatBytes(REGISTER_LABEL, deploymentId, accountKey(seed)));
}

export function verifyRegistration(account, deploymentId, proof) {
  try {
    ed25519Verify(account, concatBytes(REGISTER_LABEL, deploymentId, account), proof);
  } catch (exc) {
    if (!(exc instanceof VerificationError)) throw exc;
    throw new VerificationError("the registration is not signed by the invite's account key");
  }
}
