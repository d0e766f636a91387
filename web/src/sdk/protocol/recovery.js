// Recovery on a new device (PROTOCOL.md §14.1; protocol/recovery.py): the account handle, the
// backup document and its key. This is threshold password-protected secret sharing in the manner
// of TOPPSS: each backup has its own VOPRF key k, dealt t-of-n to the deployment's key servers
// (each share sealed to that key server's HPKE key and kept inside the backup at the escrow
// server), and the wallet is sealed under a key derived from the VOPRF output on the hardened
// passphrase. A copy of the escrow database alone is a pile of HPKE ciphertexts: testing one guess
// needs t key servers, and each of them counts the guesses per handle.
//
// Pure functions only: no HTTP (clients/recovery.js asks the servers), no storage. Argon2id itself
// is sealed.js's deriveKey (the same function and limits as passphrase-sealed files); the page
// runs it in a Web Worker and passes it in.
//
// Glue, and why: the Shamir dealing at the key servers' own indices (the document's index, not
// 1..n as threshold_oprf.deal_key numbers them) evaluates the polynomial with shamir.js, and the
// combination is threshold_oprf's Lagrange in the exponent, so no new arithmetic is written here.
import { InvalidInput, VerificationError } from '../errors.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import * as aead from '../crypto/aead.js';
import * as hpke from '../crypto/hpke.js';
import * as kdf from '../crypto/kdf.js';
import * as oprf from '../crypto/oprf.js';
import { Fn, Point, checkElement, scalarFromInt, scalarToInt } from '../crypto/ristretto.js';
import { evaluatePolynomial, randomScalarInt } from '../crypto/shamir.js';
import { checkPublicShares, combineVerified, verifyPartial } from '../crypto/threshold_oprf.js';
import { checkParams } from '../crypto/sealed.js';
import { signWithSeed } from './accounts.js';
import { b64uDecode, b64uEncode, bytesEqual, concatBytes, i2osp, utf8Encode } from './encoding.js';

export const BACKUP_FORMAT = 'consilience-backup/v1';
export const HANDLE_LABEL = 'consilience-v2 account handle';
export const SALT_LABEL = 'consilience-v2 recovery salt';
export const SHARE_INFO_LABEL = 'consilience-v2 recovery share';
export const WALLET_AAD_LABEL = 'consilience-v2 backup wallet';
export const RESET_LABEL = 'consilience-v2 recovery reset';
export const BACKUP_KEY_LABEL = 'recovery backup key';
export const HANDLE_BYTES = 10;
export const SALT_BYTES = 16;
export const SCALAR_BYTES = 32;
export const SEALED_SHARE_BYTES = SCALAR_BYTES + hpke.CIPHERTEXT_OVERHEAD;
export const RESET_NONCE_BYTES = 16;
export const MAX_BACKUP_BYTES = 6 * 1024 * 1024;
/** RFC 9106's first recommendation, as crypto/passphrase.py's defaults. */
export const DEFAULT_KDF = Object.freeze({ memory_kib: 65536, iterations: 3, lanes: 4 });

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const HANDLE_REFUSAL = 'An account handle is 16 letters and digits in four groups, like 7KQ2-M9XD-4RTA-HW3E. '
  + 'Check it against what you wrote down.';
const ascii = (s) => new TextEncoder().encode(s);
const isBytes = (v, n) => v instanceof Uint8Array && (n === undefined || v.length === n);

function checkDeploymentId(deploymentId) {
  if (!isBytes(deploymentId, 16)) throw new InvalidInput('a deployment id is 16 bytes');
}

function checkHandleBytes(handleBytes) {
  if (!isBytes(handleBytes, HANDLE_BYTES)) throw new InvalidInput(`a handle is ${HANDLE_BYTES} bytes`);
}

// --- the handle ---------------------------------------------------------------------------------

/** SHA-256("consilience-v2 account handle" ‖ deployment_id ‖ account_key)[:10]: depends on the account key only. */
export function handleBytes(deploymentId, accountKey) {
  checkDeploymentId(deploymentId);
  if (!isBytes(accountKey, 32)) throw new InvalidInput('an account key is 32 bytes');
  return sha256(concatBytes(ascii(HANDLE_LABEL), deploymentId, accountKey)).slice(0, HANDLE_BYTES);
}

/** Crockford base32 of the 80 bits, in four groups of four ("7KQ2-M9XD-4RTA-HW3E"). */
export function formatHandle(bytes) {
  checkHandleBytes(bytes);
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  for (let i = 15; i >= 0; i--) out += CROCKFORD[Number((n >> BigInt(5 * i)) & 31n)];
  return out.match(/.{4}/g).join('-');
}

/**
 * The 10 bytes of a handle as a person types it: any case, with or without dashes and spaces,
 * O read as 0 and I or L as 1 (what a hand-written handle is mistaken for); anything else refused.
 */
export function parseHandle(text) {
  if (typeof text !== 'string') throw new InvalidInput(HANDLE_REFUSAL, { code: 'recovery.handle' });
  const cleaned = text.toUpperCase().replace(/[-\s]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (cleaned.length !== 16 || [...cleaned].some((c) => !CROCKFORD.includes(c))) throw new InvalidInput(HANDLE_REFUSAL, { code: 'recovery.handle' });
  let n = 0n;
  for (const c of cleaned) n = (n << 5n) | BigInt(CROCKFORD.indexOf(c));
  const out = new Uint8Array(HANDLE_BYTES);
  for (let i = HANDLE_BYTES - 1; i >= 0; i--) { out[i] = Number(n & 0xffn); n >>= 8n; }
  return out;
}

/** The handle in its written form, however it was typed. */
export function normaliseHandle(text) {
  return formatHandle(parseHandle(text));
}

// --- deriving the backup key --------------------------------------------------------------------

/** SHA-256("consilience-v2 recovery salt" ‖ deployment_id ‖ handle_bytes)[:16]: the Argon2id salt. */
export function recoverySalt(deploymentId, hb) {
  checkDeploymentId(deploymentId);
  checkHandleBytes(hb);
  return sha256(concatBytes(ascii(SALT_LABEL), deploymentId, hb)).slice(0, SALT_BYTES);
}

/** The backup's kdf object ({memory_kib, iterations, lanes}) as sealed.js's Argon2id parameters, checked. */
export function argon2Params(kdfDoc) {
  const params = { memoryCostKib: kdfDoc?.memory_kib, iterations: kdfDoc?.iterations, lanes: kdfDoc?.lanes };
  checkParams(params);
  return params;
}

/** KDF(rwd, "recovery backup key", deployment_id ‖ handle_bytes, 32). */
export function backupKey(rwd, deploymentId, hb) {
  checkDeploymentId(deploymentId);
  checkHandleBytes(hb);
  if (!isBytes(rwd, oprf.OUTPUT_BYTES)) throw new InvalidInput('rwd is a 64-byte VOPRF output');
  return kdf.derive(rwd, BACKUP_KEY_LABEL, concatBytes(deploymentId, hb), aead.KEY_BYTES);
}

/** At set-up the device holds k, so it computes rwd itself (RFC 9497 Evaluate, VOPRF mode). */
export function localRwd(k, hardened) {
  return oprf.evaluate(scalarFromInt(k), hardened, oprf.MODE_VOPRF);
}

// --- dealing k to the key servers ---------------------------------------------------------------

/**
 * A fresh VOPRF key k and its Shamir shares at the key servers' indices: {k (bigint), groupKey,
 * shares: Map index → {share (bigint), publicShare}}. `coefficients` ([k, a_1, …, a_{t-1}]) only
 * for the vectors.
 */
export function dealKey(threshold, indices, { coefficients = null } = {}) {
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > indices.length) {
    throw new InvalidInput('need 1 <= threshold <= the number of key servers');
  }
  if (new Set(indices).size !== indices.length || indices.some((i) => !Number.isInteger(i) || i < 1 || i > 255)) {
    throw new InvalidInput('key server indices must be distinct integers in [1, 255]');
  }
  const coeffs = coefficients ?? Array.from({ length: threshold }, randomScalarInt);
  if (coeffs.length !== threshold || Fn.create(BigInt(coeffs[0])) === 0n) throw new InvalidInput('need t coefficients, k not zero');
  const k = Fn.create(BigInt(coeffs[0]));
  const shares = new Map();
  for (const i of indices) {
    const share = evaluatePolynomial(coeffs, i);
    if (share === 0n) throw new InvalidInput('a share is zero; deal again');
    shares.set(i, { share, publicShare: Point.BASE.multiply(share).toBytes() });
  }
  return { k, groupKey: Point.BASE.multiply(k).toBytes(), shares };
}

/** "consilience-v2 recovery share" ‖ deployment_id ‖ handle_bytes ‖ u8 index ‖ public_share_i */
export function shareInfo(deploymentId, hb, index, publicShare) {
  checkDeploymentId(deploymentId);
  checkHandleBytes(hb);
  if (!isBytes(publicShare, 32)) throw new InvalidInput('a public share is 32 bytes');
  return concatBytes(ascii(SHARE_INFO_LABEL), deploymentId, hb, i2osp(index, 1), publicShare);
}

/** k_i sealed to key server i's HPKE key, bound to this backup, this key server and its public share. */
export async function sealShare(hpkePublicKey, share, deploymentId, hb, index, publicShare, { ekm } = {}) {
  return hpke.seal(hpkePublicKey, scalarFromInt(share), shareInfo(deploymentId, hb, index, publicShare), ekm ? { ekm } : {});
}

// --- the wallet ciphertext ----------------------------------------------------------------------

/** "consilience-v2 backup wallet" ‖ deployment_id ‖ handle_bytes ‖ u64 version */
export function walletAad(deploymentId, hb, version) {
  checkDeploymentId(deploymentId);
  checkHandleBytes(hb);
  if (!Number.isSafeInteger(version) || version < 1) throw new InvalidInput('a backup version is an integer of at least 1');
  return concatBytes(ascii(WALLET_AAD_LABEL), deploymentId, hb, i2osp(version, 8));
}

export function sealBackupWallet(key, walletBytes, deploymentId, hb, version) {
  return aead.seal(key, walletBytes, walletAad(deploymentId, hb, version));
}

/** The wallet bytes, or DecryptionError when rwd was not this backup's (a wrong passphrase, or a lying key server). */
export function openBackupWallet(key, walletCt, deploymentId, hb, version) {
  return aead.open(key, walletCt, walletAad(deploymentId, hb, version));
}

// --- the backup document ------------------------------------------------------------------------

const TOP_FIELDS = ['format', 'deployment_id', 'handle', 'version', 'threshold', 'group_key', 'kdf', 'servers', 'wallet'];
const KEYS_FIELDS = TOP_FIELDS.filter((f) => f !== 'version' && f !== 'wallet');
const SERVER_FIELDS = ['index', 'identity_key', 'public_share', 'sealed_share'];
const KDF_FIELDS = ['memory_kib', 'iterations', 'lanes'];

function refuse(why) {
  return new InvalidInput(`This backup is damaged or not a Consilience backup (${why}). Nothing was changed.`,
    { code: 'recovery.backupDamaged', params: { why: String(why) } });
}

function exactFields(obj, fields, what) {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw refuse(`${what} is not an object`);
  for (const f of Object.keys(obj)) if (!fields.includes(f)) throw refuse(`unknown ${what} field ${f}`);
  for (const f of fields) if (obj[f] === undefined) throw refuse(`${what} has no ${f}`);
}

function bytesField(value, length, what) {
  if (typeof value !== 'string') throw refuse(`${what} is not base64url text`);
  try {
    return b64uDecode(value, length, what);
  } catch {
    throw refuse(length === undefined ? `${what} is not base64url` : `${what} is not ${length} bytes of base64url`);
  }
}

function intField(value, low, high, what) {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < low || value > high) {
    throw refuse(`${what} must be an integer in [${low}, ${high}]`);
  }
  return value;
}

/**
 * Check the keys part of a backup (a document without version and wallet: the wallet's backup_keys)
 * and decode it: {deploymentId, handleBytes, handle, threshold, groupKey, kdf, params, servers:
 * [{index, identityKey, publicShare, sealedShare}]}. The public shares must lie on one polynomial
 * of degree t-1 through the group key, so a server's share cannot be swapped for another one
 * without the client noticing.
 */
export function parseBackupKeys(doc, { deploymentId = null, handle = null } = {}) {
  exactFields(doc, KEYS_FIELDS, 'backup');
  if (doc.format !== BACKUP_FORMAT) throw refuse(`format is not ${BACKUP_FORMAT}`);
  const did = bytesField(doc.deployment_id, 16, 'deployment_id');
  if (deploymentId && !bytesEqual(did, deploymentId)) {
    throw new InvalidInput('This backup was made for another deployment than this one. Check the address you opened.',
      { code: 'recovery.otherDeployment' });
  }
  if (typeof doc.handle !== 'string') throw refuse('handle is not text');
  let hb;
  try { hb = parseHandle(doc.handle); } catch { throw refuse('handle is not a handle'); }
  if (formatHandle(hb) !== doc.handle) throw refuse('handle is not in its written form');
  if (handle && !bytesEqual(hb, handle)) throw refuse('it is the backup of another handle');
  exactFields(doc.kdf, KDF_FIELDS, 'kdf');
  let params;
  try { params = argon2Params(doc.kdf); } catch (e) { throw refuse(e.message); }
  if (!Array.isArray(doc.servers) || doc.servers.length < 1 || doc.servers.length > 255) throw refuse('servers is not a list of 1 to 255');
  const threshold = intField(doc.threshold, 1, doc.servers.length, 'threshold');
  const groupKey = bytesField(doc.group_key, 32, 'group_key');
  const servers = doc.servers.map((s, n) => {
    exactFields(s, SERVER_FIELDS, `servers[${n}]`);
    return {
      index: intField(s.index, 1, 255, `servers[${n}].index`),
      identityKey: bytesField(s.identity_key, 32, `servers[${n}].identity_key`),
      publicShare: bytesField(s.public_share, 32, `servers[${n}].public_share`),
      sealedShare: bytesField(s.sealed_share, SEALED_SHARE_BYTES, `servers[${n}].sealed_share`),
    };
  });
  if (new Set(servers.map((s) => s.index)).size !== servers.length) throw refuse('two servers have the same index');
  if (new Set(servers.map((s) => b64uEncode(s.identityKey))).size !== servers.length) throw refuse('two servers have the same identity key');
  try {
    checkPublicShares(groupKey, new Map(servers.map((s) => [s.index, s.publicShare])), threshold);
  } catch (e) {
    throw refuse(`its public shares do not fit its group key: ${e.message}`);
  }
  return { deploymentId: did, handleBytes: hb, handle: doc.handle, threshold, groupKey, kdf: { ...doc.kdf }, params, servers };
}

/** A whole backup document (object, or its JSON text or bytes), checked as the escrow server and Python check it. */
export function parseBackup(doc, options = {}) {
  if (typeof doc === 'string') doc = utf8Encode(doc);
  if (doc instanceof Uint8Array) {
    if (doc.length > MAX_BACKUP_BYTES) throw refuse(`it is larger than ${MAX_BACKUP_BYTES} bytes`);
    try { doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(doc)); } catch { throw refuse('not JSON'); }
  }
  exactFields(doc, TOP_FIELDS, 'backup');
  const version = intField(doc.version, 1, Number.MAX_SAFE_INTEGER, 'version');
  const wallet = bytesField(doc.wallet, undefined, 'wallet');
  if (wallet.length < aead.OVERHEAD) throw refuse('wallet is too short');
  const { version: _v, wallet: _w, ...keys } = doc;
  return { ...parseBackupKeys(keys, options), version, wallet };
}

/** The keys part (backup_keys in the wallet), as JSON: everything but version and wallet. */
export function backupKeysJson({ deploymentId, handleBytes: hb, threshold, groupKey, kdf: kdfDoc, servers }) {
  return {
    format: BACKUP_FORMAT, deployment_id: b64uEncode(deploymentId), handle: formatHandle(hb), threshold,
    group_key: b64uEncode(groupKey), kdf: { memory_kib: kdfDoc.memory_kib, iterations: kdfDoc.iterations, lanes: kdfDoc.lanes },
    servers: servers.map((s) => ({ index: s.index, identity_key: b64uEncode(s.identityKey), public_share: b64uEncode(s.publicShare),
      sealed_share: b64uEncode(s.sealedShare) })),
  };
}

/** The document PUT /v2/account/backup takes, in the field order of the spec. */
export function backupDocument(keysJson, version, walletCt) {
  const { format, deployment_id, handle, threshold, group_key, kdf: kdfDoc, servers } = keysJson;
  return { format, deployment_id, handle, version, threshold, group_key, kdf: kdfDoc, servers, wallet: b64uEncode(walletCt) };
}

// --- asking the key servers (the client's half of the VOPRF) ------------------------------------

/** The blinded hardened passphrase: {blind, blinded}; `blindScalar` only for the vectors. */
export function blindHardened(hardened, blindScalar = null) {
  return blindScalar ? oprf.blindWith(hardened, oprf.MODE_VOPRF, blindScalar) : oprf.blind(hardened, oprf.MODE_VOPRF);
}

/** POST /v2/recovery/evaluate's body for one server of a parsed backup. */
export function evaluateRequestJson(handle, server, blinded) {
  return { handle, sealed_share: b64uEncode(server.sealedShare), public_share: b64uEncode(server.publicShare), blinded: b64uEncode(blinded) };
}

/**
 * A key server's answer checked against its public share in the backup: the partial for
 * combineRwd, or VerificationError when its proof does not hold.
 */
export function checkAnswer(server, blinded, evaluated, proof) {
  const checked = verifyPartial([blinded], { index: server.index, evaluated: [evaluated], proof },
    new Map([[server.index, server.publicShare]]));
  if (!checked) throw new VerificationError(`key server ${server.index} answered with a proof that does not verify against its share of this backup`);
  return checked;
}

/** rwd from t checked answers (Lagrange in the exponent, then RFC 9497 Finalize). */
export function combineRwd(hardened, blindScalar, checked, threshold) {
  const [z] = combineVerified(checked, threshold);
  return oprf.finalize(hardened, blindScalar, z);
}

// --- the reset after a recovery -----------------------------------------------------------------

/** "consilience-v2 recovery reset" ‖ deployment_id ‖ audience (32) ‖ u64 issued_at ‖ nonce (16) */
export function resetSignedBytes(deploymentId, audience, issuedAt, nonce) {
  checkDeploymentId(deploymentId);
  if (!isBytes(audience, 32) || !isBytes(nonce, RESET_NONCE_BYTES)) throw new InvalidInput('a reset names a 32-byte key server and a 16-byte nonce');
  if (!Number.isSafeInteger(issuedAt) || issuedAt < 0) throw new InvalidInput('issued_at is a non-negative integer');
  return concatBytes(ascii(RESET_LABEL), deploymentId, audience, i2osp(issuedAt, 8), nonce);
}

/** POST /v2/recovery/reset's body, signed by the account key for one key server; `now`, `nonce` for tests. */
export function resetRequestJson(seed, certificate, deploymentId, audience, { now = null, nonce = null } = {}) {
  const issuedAt = Math.floor(now ?? Date.now() / 1000);
  const n = nonce ?? randomBytes(RESET_NONCE_BYTES);
  return {
    certificate: b64uEncode(certificate), audience: b64uEncode(audience), issued_at: issuedAt, nonce: b64uEncode(n),
    signature: b64uEncode(signWithSeed(seed, resetSignedBytes(deploymentId, audience, issuedAt, n))),
  };
}

/** For tests and fakes playing a key server: the share a sealed share opens to, checked against its public share. */
export async function openShare(hpkeSeed, server, deploymentId, hb) {
  const plain = await hpke.open(hpkeSeed, server.sealedShare, shareInfo(deploymentId, hb, server.index, server.publicShare));
  if (plain.length !== SCALAR_BYTES) throw new InvalidInput('a share is 32 bytes');
  const share = scalarToInt(plain);
  if (share === 0n || !Point.BASE.multiply(share).equals(checkElement(server.publicShare))) {
    throw new VerificationError('the share does not match its public share');
  }
  return plain;
}
