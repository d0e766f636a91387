// The signed deployment document, protocol v2 (protocol/deployment.py, PROTOCOL.md §4):
// every public key the browser uses (key-server shares and identity keys, the quorum
// commitments, counselor keys, the log key) comes from here, and only after checking the
// administrator's Ed25519 signature, the pinned administrator fingerprint (from the invite or
// the wallet), the serial not going backwards, canonical form and the same consistency rules
// as the Python SDK: the quorum keys are checked against every qualified key server's signed
// confirmation of the key generation (protocol/dkg.js) and by quorum.checkCommitments.
import { sha256 } from '@noble/hashes/sha2.js';
import { InvalidInput, VerificationError } from '../errors.js';
import { b64uDecode, b64uEncode, bytesEqual, concatBytes, utf8Decode } from './encoding.js';
import { dumpsBytes } from './pyjson.js';
import { keyId as hpkeKeyId } from '../crypto/hpke.js';
import { checkPublicShares } from '../crypto/threshold_oprf.js';
import { g2FromBytes } from '../crypto/bls12381.js';
import { checkCommitments } from './quorum.js';
import { commitmentsDigest, parameters as dkgParameters, parseConfirmation } from './dkg.js';
import { ed25519Verify, ed25519Vkey, validKeyName, witnessKey } from '../tlog/signed_note.js';

export const FORMAT = 'consilience-deployment/v2';
export const V1_FORMAT = 'consilience-deployment/v1';
export const V1_REFUSAL = 'this is a Consilience v1 deployment document; this software speaks protocol v2 and cannot use it '
  + '(the deployment must be set up again with this version)';
export const SIGNING_PREFIX = new TextEncoder().encode('consilience-v2 deployment\n');
export const FINGERPRINT_LABEL = new TextEncoder().encode('consilience-v1 admin key');
export const MAX_QUORUM_LIMIT = 32;
export const SUITE = 'ristretto255-SHA512';

/** SHA-256("consilience-v1 admin key" || admin public key)[:16] */
export function adminFingerprint(adminPublicKey) {
  return sha256(concatBytes(FINGERPRINT_LABEL, adminPublicKey)).slice(0, 16);
}

const repr = (s) => `'${String(s).replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

function need(obj, key) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new TypeError('not an object');
  if (!Object.hasOwn(obj, key)) {
    const e = new Error(repr(key));
    e.missing = true;
    throw e;
  }
  return obj[key];
}

function int(v) {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  throw new TypeError(`expected an integer, got ${JSON.stringify(v)}`);
}

function str(v) {
  if (typeof v === 'string') return v;
  throw new TypeError(`expected a string, got ${JSON.stringify(v)}`);
}

function list(v) {
  if (!Array.isArray(v)) throw new TypeError('expected a list');
  return v;
}

/** deployment.parse: the document's fields in the SDK's shape (no checks beyond types). */
export function parseDeployment(doc) {
  try {
    if (need(doc, 'format') === V1_FORMAT) throw new InvalidInput(V1_REFUSAL);
    if (need(doc, 'format') !== FORMAT) throw new InvalidInput(`unknown deployment format ${repr(doc.format)}`);
    const oprf = need(doc, 'oprf');
    if (need(oprf, 'suite') !== SUITE || need(oprf, 'mode') !== 1) throw new InvalidInput('unsupported OPRF suite or mode');
    const log = need(doc, 'log');
    const quorum = int(need(doc, 'quorum'));
    const maxQuorum = int(need(doc, 'max_quorum'));
    const d = {
      deploymentId: b64uDecode(need(doc, 'deployment_id'), 16, 'deployment_id'),
      serial: int(need(doc, 'serial')),
      issuedAt: str(need(doc, 'issued_at')),
      quorum,
      maxQuorum,
      quorumRange: { low: quorum, high: maxQuorum },
      escrowUrl: str(need(doc, 'escrow_url')),
      threshold: int(need(oprf, 'threshold')),
      oprfPublicKey: b64uDecode(need(oprf, 'public_key'), 32, 'oprf.public_key'),
      keyservers: list(need(oprf, 'servers')).map((s) => ({
        index: int(need(s, 'index')), url: str(need(s, 'url')),
        publicShare: b64uDecode(need(s, 'public_share'), 32, 'public_share'),
        identityKey: b64uDecode(need(s, 'identity_key'), 32, 'identity_key'),
        hpkePublicKey: b64uDecode(need(s, 'hpke_public_key'), undefined, 'hpke_public_key'),
      })),
      counselors: list(need(doc, 'counselors')).map((c) => ({
        name: str(need(c, 'name')), keyId: b64uDecode(need(c, 'key_id'), 16, 'key_id'),
        publicKey: b64uDecode(need(c, 'public_key'), undefined, 'counselor public_key'),
      })),
      log: {
        origin: str(need(log, 'origin')),
        publicKey: b64uDecode(need(log, 'public_key'), 32, 'log.public_key'),
        witnesses: list(need(log, 'witnesses')).map(str),
      },
      quorumKeys: need(doc, 'quorum_keys') === null ? null : parseQuorumKeys(doc.quorum_keys),
    };
    d.keyEpoch = d.quorumKeys ? d.quorumKeys.epoch : null;
    d.ready = d.quorumKeys !== null;
    return d;
  } catch (exc) {
    if (exc instanceof InvalidInput) throw exc;
    throw new InvalidInput(`malformed deployment document: ${exc.message}`);
  }
}

function intKey(k) {
  if (!/^-?\d+$/.test(k)) throw new TypeError(`invalid literal for int() with base 10: ${repr(k)}`);
  return Number(k);
}

function entries(obj) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new TypeError('not an object');
  return Object.entries(obj);
}

/** QuorumKeys.from_json: {epoch, transcript, qualified, levels: Map q → [96 bytes], servers: Map i → Map q → [96 bytes], confirmations}. */
export function parseQuorumKeys(doc) {
  const points = (values) => list(values).map((v) => b64uDecode(v, 96, 'commitment'));
  return {
    epoch: int(need(doc, 'epoch')),
    transcript: b64uDecode(need(doc, 'transcript'), 32, 'transcript'),
    qualified: list(need(doc, 'qualified')).map(int),
    levels: new Map(entries(need(doc, 'levels')).map(([q, cs]) => [intKey(q), points(cs)])),
    servers: new Map(entries(need(doc, 'servers')).map(([i, lv]) => [intKey(i),
      new Map(entries(lv).map(([q, cs]) => [intKey(q), points(cs)]))])),
    confirmations: list(need(doc, 'confirmations')).map((c) => b64uDecode(c, undefined, 'confirmation')),
  };
}

function quorumKeysToJson(k) {
  const sorted = (m) => [...m].sort((a, b) => a[0] - b[0]);
  return {
    epoch: k.epoch,
    transcript: b64uEncode(k.transcript),
    qualified: [...k.qualified],
    levels: Object.fromEntries(sorted(k.levels).map(([q, cs]) => [String(q), cs.map(b64uEncode)])),
    servers: Object.fromEntries(sorted(k.servers).map(([i, lv]) => [String(i),
      Object.fromEntries(sorted(lv).map(([q, cs]) => [String(q), cs.map(b64uEncode)]))])),
    confirmations: k.confirmations.map(b64uEncode),
  };
}

/** Deployment.dkg_parameters(epoch): the key servers' key-generation parameters (checks their keys). */
export function dkgParametersOf(d, epoch) {
  return dkgParameters({
    deploymentId: d.deploymentId, epoch, threshold: d.threshold, low: d.quorum, high: d.maxQuorum,
    participants: [...d.keyservers].sort((a, b) => a.index - b.index)
      .map((s) => ({ index: s.index, identityKey: s.identityKey, hpkePublicKey: s.hpkePublicKey })),
  });
}

export const NOT_READY = "the key servers have not finished generating the deployment's quorum keys yet; "
  + 'nothing can be put in escrow until they have (try again in a few minutes)';

const checkedParameters = new WeakMap();

/**
 * Deployment.quorum_parameters(): the checked commitments of every level (protocol/quorum.js
 * QuorumParameters), decoded and checked once per deployment object; InvalidInput (NOT_READY)
 * while the key servers' key generation is not published.
 */
export function quorumParameters(d) {
  if (!d.quorumKeys) throw new InvalidInput(NOT_READY);
  let found = checkedParameters.get(d);
  if (!found) {
    const keys = d.quorumKeys;
    const g2s = (cs) => cs.map(g2FromBytes);
    found = checkCommitments(d.threshold, new Map([...keys.levels].map(([q, cs]) => [q, g2s(cs)])),
      new Map([...keys.servers].map(([i, lv]) => [i, new Map([...lv].map(([q, cs]) => [q, g2s(cs)]))])));
    checkedParameters.set(d, found);
  }
  return found;
}

function checkQuorumKeys(d, params) {
  const keys = d.quorumKeys;
  const range = [];
  for (let q = d.quorum; q <= d.maxQuorum; q++) range.push(q);
  const levels = [...keys.levels.keys()];
  if (levels.length !== range.length || !range.every((q) => keys.levels.has(q))) {
    throw new InvalidInput('the quorum keys must cover exactly the levels of the quorum range');
  }
  const servers = [...keys.servers.keys()].sort((a, b) => a - b).join();
  const qualified = [...keys.qualified].sort((a, b) => a - b).join();
  if (servers !== qualified || keys.qualified.length < d.threshold) {
    throw new InvalidInput('the quorum keys list commitments for exactly the qualified key servers, '
      + 'at least the threshold of them');
  }
  quorumParameters(d); // checkCommitments: counts, identities, per-server shares interpolate to the master
  const digest = commitmentsDigest(keys.levels, keys.servers);
  const confirmed = new Set();
  for (const data of keys.confirmations) {
    const msg = parseConfirmation(params, data);
    if (!bytesEqual(msg.transcript, keys.transcript) || msg.qualified.join() !== keys.qualified.join()) {
      throw new VerificationError(`key server ${msg.author} confirmed another key generation`);
    }
    if (!bytesEqual(msg.commitments, digest)) {
      throw new VerificationError(`key server ${msg.author} confirmed other commitments than those published`);
    }
    confirmed.add(msg.author);
  }
  const missing = [...new Set(keys.qualified)].filter((i) => !confirmed.has(i)).sort((a, b) => a - b);
  if (missing.length) throw new VerificationError(`no confirmation of the quorum keys from key server(s) ${missing.join(', ')}`);
}

/** Deployment.to_json, for the canonical-form check. */
export function deploymentToJson(d) {
  return {
    format: FORMAT, deployment_id: b64uEncode(d.deploymentId), serial: d.serial, issued_at: d.issuedAt,
    quorum: d.quorum, max_quorum: d.maxQuorum, escrow_url: d.escrowUrl,
    oprf: {
      suite: SUITE, mode: 1, threshold: d.threshold, public_key: b64uEncode(d.oprfPublicKey),
      servers: d.keyservers.map((s) => ({
        index: s.index, url: s.url, public_share: b64uEncode(s.publicShare), identity_key: b64uEncode(s.identityKey),
        hpke_public_key: b64uEncode(s.hpkePublicKey),
      })),
    },
    counselors: d.counselors.map((c) => ({ name: c.name, key_id: b64uEncode(c.keyId), public_key: b64uEncode(c.publicKey) })),
    log: { origin: d.log.origin, public_key: b64uEncode(d.log.publicKey), witnesses: [...d.log.witnesses] },
    quorum_keys: d.quorumKeys ? quorumKeysToJson(d.quorumKeys) : null,
  };
}

/** deployment.canonical_json */
export function canonicalJson(value) {
  return dumpsBytes(value, { sortKeys: true, separators: [',', ':'], ensureAscii: true });
}

/** deployment.validate: bounds and key consistency (async: counselor key ids hash the HPKE key). */
export async function validateDeployment(d) {
  if (!(d.quorum >= 2 && d.quorum <= d.maxQuorum && d.maxQuorum <= MAX_QUORUM_LIMIT)) {
    throw new InvalidInput(`need 2 <= quorum <= max_quorum <= ${MAX_QUORUM_LIMIT}`);
  }
  if (!d.keyservers.length || !(d.threshold >= 1 && d.threshold <= d.keyservers.length)) {
    throw new InvalidInput('need 1 <= threshold <= number of key servers');
  }
  const indices = d.keyservers.map((s) => s.index);
  if (new Set(indices).size !== indices.length || Math.min(...indices) < 1) {
    throw new InvalidInput('key-server indices must be distinct and positive');
  }
  if (d.serial < 1) throw new InvalidInput('serial starts at 1');
  checkPublicShares(d.oprfPublicKey, new Map(d.keyservers.map((s) => [s.index, s.publicShare])), d.threshold);
  if (indices.some((i, k) => i !== k + 1)) throw new InvalidInput('key servers are listed with indices 1..n, in order');
  const params = dkgParametersOf(d, d.quorumKeys ? d.quorumKeys.epoch : 0); // checks identity and HPKE keys
  if (d.quorumKeys) checkQuorumKeys(d, params);
  const ids = new Set();
  for (const c of d.counselors) {
    if (!bytesEqual(await hpkeKeyId(c.publicKey), c.keyId)) {
      throw new VerificationError(`counselor ${repr(c.name)}: key id does not match the public key`);
    }
    ids.add(b64uEncode(c.keyId));
  }
  if (ids.size !== d.counselors.length) throw new InvalidInput('a counselor key appears twice');
  if (!validKeyName(d.log.origin) || d.log.publicKey.length !== 32) {
    throw new InvalidInput('the log needs an origin that is a valid key name and a 32-byte Ed25519 key');
  }
  const witnessIds = d.log.witnesses.map((w) => b64uEncode(witnessKey(w).keyId)); // 0x04 or 0x01, as deployment.py
  if (new Set(witnessIds).size !== witnessIds.length) throw new InvalidInput('a witness appears twice');
}

/**
 * deployment.verify: check the published {document, signature, admin_key} against the
 * pinned administrator fingerprint (16 bytes or its b64u) and the last serial seen;
 * return the Deployment: {deploymentId, serial, issuedAt, quorum, maxQuorum, quorumRange:
 * {low, high}, escrowUrl, threshold, oprfPublicKey, keyservers: [{index, url, publicShare,
 * identityKey, hpkePublicKey}], counselors: [{name, keyId, publicKey}], log: {origin, publicKey,
 * vkey, witnesses}, quorumKeys (null until the key generation is published), keyEpoch, ready,
 * adminKey}; quorumParameters(d) gives the checked commitments.
 */
export async function verifyDeployment(published, expectedFingerprint, { minSerial = 0 } = {}) {
  if (published === null || typeof published !== 'object' || Array.isArray(published)) {
    throw new InvalidInput('a published deployment document is a JSON object');
  }
  const fingerprint = typeof expectedFingerprint === 'string' ? b64uDecode(expectedFingerprint, 16, 'admin fingerprint')
    : expectedFingerprint;
  const fields = {};
  for (const [key, length] of [['document', undefined], ['signature', 64], ['admin_key', 32]]) {
    if (!Object.hasOwn(published, key)) throw new InvalidInput(`deployment document lacks ${repr(key)}`);
    fields[key] = b64uDecode(published[key], length, key);
  }
  if (!bytesEqual(adminFingerprint(fields.admin_key), fingerprint)) {
    throw new VerificationError('deployment signed by a different administrator than the one pinned');
  }
  const key = `${published.document}.${published.signature}.${published.admin_key}`;
  let checked = VERIFIED.get(key);
  if (checked === undefined) {
    checked = checkSigned(fields);
    VERIFIED.set(key, checked);
    if (VERIFIED.size > 8) VERIFIED.delete(VERIFIED.keys().next().value);
    checked.catch(() => VERIFIED.delete(key)); // a refusal is not kept
  }
  const d = await checked;
  if (d.serial < minSerial) {
    throw new VerificationError(`deployment serial ${d.serial} is older than one already seen (${minSerial})`);
  }
  return d;
}

/**
 * Signed documents already checked, by their exact published strings (deployment.py's _verified): the app
 * fetches the document before every submission, and checking its quorum keys takes about half a second in
 * a browser. The result depends on these bytes alone; the pin and the serial are checked on every call.
 */
const VERIFIED = new Map();

/** Forget the documents verifyDeployment kept, so the next call checks everything again (benchmarks). */
export function forgetCheckedDeployments() {
  VERIFIED.clear();
}

async function checkSigned(fields) {
  ed25519Verify(fields.admin_key, concatBytes(SIGNING_PREFIX, fields.document), fields.signature);
  let doc;
  try {
    doc = JSON.parse(utf8Decode(fields.document));
  } catch {
    throw new InvalidInput('deployment document is not JSON');
  }
  const d = parseDeployment(doc);
  if (!bytesEqual(canonicalJson(deploymentToJson(d)), fields.document)) {
    throw new VerificationError('deployment document is not in canonical form');
  }
  await validateDeployment(d);
  d.log.vkey = ed25519Vkey(d.log.origin, d.log.publicKey);
  d.adminKey = fields.admin_key;
  return d;
}
