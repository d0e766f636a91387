// The signed deployment document, protocol v2 (protocol/deployment.py, PROTOCOL.md §4):
// every public key the browser uses (key-server shares and identity keys, the quorum
// commitments, counselor keys, the log key) comes from here, and only after checking the
// administrator's Ed25519 signature, the pinned administrator fingerprint (from the invite or
// the wallet), the serial not going backwards, canonical form and the same consistency rules
// as the Python SDK: the quorum keys are checked against every holder's signed confirmation of
// the key generation (protocol/dkg.js) and by quorum.checkCommitments, the key change asked for
// (key_change) is one the key servers can run, and every address is https:// (http:// only on
// loopback).
import { sha256 } from '@noble/hashes/sha2.js';
import { InvalidInput, VerificationError } from '../errors.js';
import { b64uDecode, b64uEncode, bytesEqual, concatBytes, utf8Decode } from './encoding.js';
import { dumpsBytes } from './pyjson.js';
import { keyId as hpkeKeyId } from '../crypto/hpke.js';
import { checkPublicShares } from '../crypto/threshold_oprf.js';
import { g2FromBytes } from '../crypto/bls12381.js';
import { checkCommitments } from './quorum.js';
import { GENERATE, REFRESH, commitmentsDigest, parameters as dkgParameters, parseConfirmation } from './dkg.js';
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

/** Python's repr of a str (the quotes it picks, the escapes of backslash, quote and control characters) */
function repr(value) {
  const s = String(value);
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c <= 0xa0)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return quote + out + quote;
}

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

const EMPTY = new Uint8Array(0);

/** 32 bytes, or (JSON null) empty: a VOPRF key or share not published yet, as Python's b"" */
function optionalKey(v, field) {
  return v === null ? EMPTY : b64uDecode(v, 32, field);
}

/** KeyServer.from_listing: {index, url, publicShare (empty until the key generation's result is published), identityKey, hpkePublicKey} */
function parseKeyServer(s) {
  return {
    index: int(need(s, 'index')), url: str(need(s, 'url')),
    publicShare: optionalKey(need(s, 'public_share'), 'public_share'),
    identityKey: b64uDecode(need(s, 'identity_key'), 32, 'identity_key'),
    hpkePublicKey: b64uDecode(need(s, 'hpke_public_key'), undefined, 'hpke_public_key'),
  };
}

function keyServerListing(s) {
  return {
    index: s.index, url: s.url, public_share: s.publicShare.length ? b64uEncode(s.publicShare) : null,
    identity_key: b64uEncode(s.identityKey), hpke_public_key: b64uEncode(s.hpkePublicKey),
  };
}

/** deployment.KIND_NAMES: dkg.GENERATE, dkg.REFRESH, dkg.RESHARE in this order */
export const KIND_NAMES = Object.freeze(['generate', 'refresh', 'reshare']);

/** Python's str() of a JSON value, for the few a kind can be */
function pyStr(v) {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return String(v);
}

function kindOf(doc) {
  const kind = pyStr(need(doc, 'kind'));
  if (!KIND_NAMES.includes(kind)) throw new InvalidInput(`unknown kind of key generation ${repr(kind)}`);
  return kind;
}

/** deployment.parse: the document's fields in the SDK's shape (no checks beyond types). */
export function parseDeployment(doc) {
  try {
    if (need(doc, 'format') === V1_FORMAT) throw new InvalidInput(V1_REFUSAL, { code: 'deployment.v1' });
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
      oprfPublicKey: optionalKey(need(oprf, 'public_key'), 'oprf.public_key'),
      keyservers: list(need(oprf, 'servers')).map(parseKeyServer),
      counselors: list(need(doc, 'counselors')).map((c) => ({
        name: str(need(c, 'name')), keyId: b64uDecode(need(c, 'key_id'), 16, 'key_id'),
        publicKey: b64uDecode(need(c, 'public_key'), undefined, 'counselor public_key'),
        // optional (§13.1): the Ed25519 key that signs the counselor's messages; null when not listed
        signingKey: c.signing_key === undefined || c.signing_key === null ? null : b64uDecode(str(c.signing_key), 32, 'counselor signing_key'),
      })),
      log: {
        origin: str(need(log, 'origin')),
        publicKey: b64uDecode(need(log, 'public_key'), 32, 'log.public_key'),
        witnesses: list(need(log, 'witnesses')).map(str),
      },
      quorumKeys: need(doc, 'quorum_keys') === null ? null : parseQuorumKeys(doc.quorum_keys),
      keyChange: need(doc, 'key_change') === null ? null : parseKeyChange(doc.key_change),
    };
    // Deployment.key_epoch: the generation of the quorum secrets, what entries bind (a refresh or resharing keeps it)
    d.keyEpoch = d.quorumKeys ? d.quorumKeys.generation : null;
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

/**
 * QuorumKeys.from_json: {epoch, generation, kind ('generate' | 'refresh' | 'reshare'), renewedFrom (32 bytes,
 * zeros when generated), transcript, qualified (the holders), dealers (the run's qualified dealers), levels:
 * Map q → [96 bytes], servers: Map i → Map q → [96 bytes], abscissaCheck, confirmations}.
 */
export function parseQuorumKeys(doc) {
  const points = (values) => list(values).map((v) => b64uDecode(v, 96, 'commitment'));
  const kind = kindOf(doc);
  const renewed = need(doc, 'renewed_from');
  return {
    epoch: int(need(doc, 'epoch')),
    generation: int(need(doc, 'generation')),
    kind,
    renewedFrom: renewed === null ? new Uint8Array(32) : b64uDecode(renewed, 32, 'renewed_from'),
    transcript: b64uDecode(need(doc, 'transcript'), 32, 'transcript'),
    qualified: list(need(doc, 'qualified')).map(int),
    dealers: list(need(doc, 'dealers')).map(int),
    levels: new Map(entries(need(doc, 'levels')).map(([q, cs]) => [intKey(q), points(cs)])),
    servers: new Map(entries(need(doc, 'servers')).map(([i, lv]) => [intKey(i),
      new Map(entries(lv).map(([q, cs]) => [intKey(q), points(cs)]))])),
    abscissaCheck: b64uDecode(need(doc, 'abscissa_check'), 32, 'abscissa_check'),
    confirmations: list(need(doc, 'confirmations')).map((c) => b64uDecode(c, undefined, 'confirmation')),
  };
}

/** KeyChange.from_json: {epoch, kind, threshold, servers: [key server, public shares empty]}, the run asked for next. */
export function parseKeyChange(doc) {
  const kind = kindOf(doc);
  return {
    epoch: int(need(doc, 'epoch')), kind, threshold: int(need(doc, 'threshold')),
    servers: list(need(doc, 'servers')).map(parseKeyServer),
  };
}

function quorumKeysToJson(k) {
  const sorted = (m) => [...m].sort((a, b) => a[0] - b[0]);
  return {
    epoch: k.epoch,
    generation: k.generation,
    kind: k.kind,
    renewed_from: k.kind === 'generate' ? null : b64uEncode(k.renewedFrom),
    transcript: b64uEncode(k.transcript),
    qualified: [...k.qualified],
    dealers: [...k.dealers],
    levels: Object.fromEntries(sorted(k.levels).map(([q, cs]) => [String(q), cs.map(b64uEncode)])),
    servers: Object.fromEntries(sorted(k.servers).map(([i, lv]) => [String(i),
      Object.fromEntries(sorted(lv).map(([q, cs]) => [String(q), cs.map(b64uEncode)]))])),
    abscissa_check: b64uEncode(k.abscissaCheck),
    confirmations: k.confirmations.map(b64uEncode),
  };
}

function keyChangeToJson(c) {
  return { epoch: c.epoch, kind: c.kind, threshold: c.threshold, servers: c.servers.map(keyServerListing) };
}

/** Deployment.public_shares(): index → VOPRF public share, of the key servers holding one. */
export function publicShares(d) {
  return new Map(d.keyservers.filter((s) => s.publicShare.length).map((s) => [s.index, s.publicShare]));
}

/** Deployment.key_server(index) */
export function keyServer(d, index) {
  const found = d.keyservers.find((s) => s.index === index);
  if (!found) throw new InvalidInput(`this deployment has no key server ${index}`);
  return found;
}

/** deployment._participants: the key servers as dkg participants, by index (which must be 1..n). */
function participants(servers) {
  const listed = [...servers].sort((a, b) => a.index - b.index);
  if (listed.some((s, k) => s.index !== k + 1)) throw new InvalidInput('key servers are listed with indices 1..n, in order');
  return listed.map((s) => ({ index: s.index, identityKey: s.identityKey, hpkePublicKey: s.hpkePublicKey }));
}

function quorumRangeOf(d) {
  const range = [];
  for (let q = d.quorum; q <= d.maxQuorum; q++) range.push(q);
  return range;
}

/** Deployment._previous, as far as a client needs it: the published result a renewal renews, and its digest. */
function previousOf(d) {
  const keys = d.quorumKeys;
  if (!keys) throw new InvalidInput(NOT_READY, { code: 'deployment.notReady' });
  const range = quorumRangeOf(d);
  const servers = new Map(keys.qualified.map((i) => [i, new Map(range.map((q) => [q, keys.servers.get(i).get(q)]))]));
  const shares = new Map(keys.qualified.map((i) => [i, keyServer(d, i).publicShare]));
  const levels = new Map(range.map((q) => [q, keys.levels.get(q)]));
  return {
    threshold: d.threshold, holders: participants(d.keyservers), qualified: [...keys.qualified], levels,
    digest: commitmentsDigest(levels, servers, d.oprfPublicKey, shares, keys.abscissaCheck),
  };
}

/** dkg.Parameters._check_previous, for what a client can check without the previous commitments decoded. */
function checkPrevious(params, prev) {
  const range = [];
  for (let q = params.low; q <= params.high; q++) range.push(q);
  if (prev.levels.size !== range.length || range.some((q) => prev.levels.get(q)?.length !== q)) {
    throw new InvalidInput('a renewal keeps the quorum range of the result it renews');
  }
  const old = prev.holders.map((p) => p.index);
  const distinct = [...new Set(prev.qualified)].sort((a, b) => a - b);
  if (old.some((i, k) => i !== k + 1) || prev.qualified.some((i) => !old.includes(i)) || prev.qualified.join() !== distinct.join()) {
    throw new InvalidInput('the previous key servers must have indices 1..n, and the holders be among them, '
      + 'each once, in increasing order');
  }
  if (new Set(prev.holders.map((p) => b64uEncode(p.identityKey))).size !== old.length) {
    throw new InvalidInput('the previous key servers must have distinct identity keys');
  }
  if (!(prev.threshold >= 1 && prev.threshold <= old.length)) {
    throw new InvalidInput('the previous threshold must be between 1 and the number of previous key servers');
  }
  if (prev.qualified.length < prev.threshold) throw new InvalidInput('the previous result has fewer holders than its threshold');
  const same = (a, b) => a.index === b.index && bytesEqual(a.identityKey, b.identityKey) && bytesEqual(a.hpkePublicKey, b.hpkePublicKey);
  if (params.kind === REFRESH && (prev.holders.length !== params.participants.length
      || prev.holders.some((p, k) => !same(p, params.participants[k])) || prev.threshold !== params.threshold
      || prev.qualified.join() !== old.join())) {
    throw new InvalidInput('a refresh keeps the same key servers and threshold, every one holding shares; '
      + 'anything else is a resharing');
  }
}

/**
 * Deployment.dkg_parameters(epoch): the parameters of the key servers' run at board `epoch` (checks their keys):
 * the change asked for (a renewal's with the digest of the result it renews), or the one published (enough to
 * read its confirmations).
 */
export function dkgParametersOf(d, epoch) {
  const change = d.keyChange ?? null;
  const keys = d.quorumKeys;
  const common = { deploymentId: d.deploymentId, epoch, low: d.quorum, high: d.maxQuorum };
  if (change !== null && change.epoch === epoch) {
    const kind = KIND_NAMES.indexOf(change.kind);
    const previous = kind !== GENERATE ? previousOf(d) : null;
    const params = dkgParameters({
      ...common, threshold: change.threshold, participants: participants(change.servers), kind,
      previousDigest: previous !== null ? previous.digest : new Uint8Array(32),
    });
    if (previous !== null) checkPrevious(params, previous);
    return params;
  }
  if (keys && keys.epoch === epoch) {
    return dkgParameters({
      ...common, threshold: d.threshold, participants: participants(d.keyservers), kind: KIND_NAMES.indexOf(keys.kind),
      previousDigest: keys.renewedFrom,
    });
  }
  throw new InvalidInput(`this deployment document asks for no key generation at epoch ${epoch}`);
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
  if (!d.quorumKeys) throw new InvalidInput(NOT_READY, { code: 'deployment.notReady' });
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

/** deployment._check_quorum_keys: every holder confirmed this transcript and result; the commitments check. */
function checkQuorumKeys(d, params) {
  const keys = d.quorumKeys;
  const range = quorumRangeOf(d);
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
  if (keys.kind === 'generate') {
    if (keys.generation !== keys.epoch || keys.dealers.join() !== keys.qualified.join()) {
      throw new InvalidInput('generated quorum keys are their own generation, dealt by their holders');
    }
  } else if (!(keys.generation >= 1 && keys.generation < keys.epoch)
      || keys.qualified.join() !== d.keyservers.map((s) => s.index).join()) {
    throw new InvalidInput('renewed quorum keys come from an earlier generation and every key server holds them');
  }
  if (d.keyservers.some((s) => !keys.qualified.includes(s.index) && s.publicShare.length)) {
    throw new InvalidInput('only key servers holding shares have a VOPRF public share');
  }
  quorumParameters(d); // checkCommitments: counts, identities, per-server shares interpolate to the master
  const shares = new Map(keys.qualified.map((i) => [i, keyServer(d, i).publicShare]));
  const digest = commitmentsDigest(keys.levels, keys.servers, d.oprfPublicKey, shares, keys.abscissaCheck);
  const confirmed = new Set();
  for (const data of keys.confirmations) {
    const msg = parseConfirmation(params, data);
    if (!bytesEqual(msg.transcript, keys.transcript) || msg.qualified.join() !== keys.dealers.join()) {
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

/** deployment._check_key_change: a change the key servers can run (a later epoch, a set they can take, what its kind allows). */
function checkKeyChange(d, change) {
  if (change.servers.some((s) => s.publicShare.length)) {
    throw new InvalidInput('a key change lists key servers without VOPRF public shares (they come from its result)');
  }
  if (!(change.threshold >= 1 && change.threshold <= change.servers.length && change.servers.length <= 32)) {
    throw new InvalidInput('a key change needs 1 <= threshold <= key servers <= 32');
  }
  if (d.quorumKeys === null) {
    const same = (a, b) => a.index === b.index && a.url === b.url && !a.publicShare.length && !b.publicShare.length
      && bytesEqual(a.identityKey, b.identityKey) && bytesEqual(a.hpkePublicKey, b.hpkePublicKey);
    // the listed key servers without their (not yet published) shares: Python's replace(s, public_share=b"")
    const listed = d.keyservers.map((s) => ({ ...s, publicShare: EMPTY }));
    if (change.servers.length !== listed.length || change.servers.some((s, k) => !same(s, listed[k]))
        || change.threshold !== d.threshold) {
      throw new InvalidInput('the first key generation is run by the key servers the document lists');
    }
  } else if (change.epoch <= d.quorumKeys.epoch) {
    throw new InvalidInput('a key change runs at a later epoch than the published quorum keys');
  } else if (change.kind === 'generate') {
    throw new InvalidInput('the quorum keys are published: generating new ones would leave every entry unopenable; '
      + 'refresh or reshare them instead');
  }
  dkgParametersOf(d, change.epoch); // dkg parameters check the rest (a refresh keeps set and threshold, …)
}

const IPV4 = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** ipaddress.ip_address(host).is_loopback, for the forms a URL's host takes (IPv6 without its brackets) */
function isLoopbackAddress(host) {
  const v4 = IPV4.exec(host);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255) && v4[1] === '127';
  if (!host.includes(':') || !/^[0-9a-f:.]+$/i.test(host)) return false;
  let words;
  try {
    words = ipv6Words(host);
  } catch {
    return false;
  }
  return words !== null && words.slice(0, 7).every((w) => w === 0) && words[7] === 1;
}

/** The eight 16-bit words of an IPv6 address (as ipaddress.IPv6Address reads it), or null */
function ipv6Words(host) {
  let text = host;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) { // an IPv4 address in the last 32 bits
    const v4 = IPV4.exec(text.slice(lastColon + 1));
    if (!v4 || !v4.slice(1).every((o) => Number(o) <= 255)) return null;
    const o = v4.slice(1).map(Number);
    text = `${text.slice(0, lastColon + 1)}${(o[0] * 256 + o[1]).toString(16)}:${(o[2] * 256 + o[3]).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part) => (part === '' ? [] : part.split(':').map((w) => {
    if (!/^[0-9a-f]{1,4}$/i.test(w)) throw new InvalidInput('not an IPv6 address');
    return parseInt(w, 16);
  }));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const given = head.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  return [...head, ...new Array(8 - given).fill(0), ...tail];
}

/**
 * deployment.check_url: an address clients may use: https://, or http:// only to this machine (loopback).
 * Clients check every document they receive, so a signed downgrade to plain HTTP is refused too. The URL is
 * split as Python's urllib.parse.urlsplit splits it.
 */
export function checkUrl(what, url) {
  const invalid = () => new InvalidInput(`${what}'s address ${repr(url)} is not a valid URL`);
  let rest = url.replace(/[\t\r\n]/g, '').replace(/^[\x00-\x20]+/, '');
  let scheme = '';
  const m = /^([A-Za-z][A-Za-z0-9+\-.]*):/.exec(rest);
  if (m) {
    scheme = m[1].toLowerCase();
    rest = rest.slice(m[0].length);
  }
  let netloc = '';
  if (rest.startsWith('//')) {
    const cut = rest.slice(2).search(/[/?#]/);
    netloc = cut < 0 ? rest.slice(2) : rest.slice(2, 2 + cut);
    rest = cut < 0 ? '' : rest.slice(2 + cut);
    if (netloc.includes('[') !== netloc.includes(']')) throw invalid();
  }
  const hash = rest.indexOf('#');
  const fragment = hash < 0 ? '' : rest.slice(hash + 1);
  if (hash >= 0) rest = rest.slice(0, hash);
  const mark = rest.indexOf('?');
  const query = mark < 0 ? '' : rest.slice(mark + 1);
  const at = netloc.lastIndexOf('@');
  const userinfo = at < 0 ? null : netloc.slice(0, at);
  const hostinfo = netloc.slice(at + 1);
  const username = userinfo === null ? '' : userinfo.split(':')[0];
  const password = userinfo === null || !userinfo.includes(':') ? '' : userinfo.slice(userinfo.indexOf(':') + 1);
  let host;
  let port;
  const open = hostinfo.indexOf('[');
  if (open >= 0) {
    const bracketed = hostinfo.slice(open + 1);
    const close = bracketed.indexOf(']');
    host = close < 0 ? bracketed : bracketed.slice(0, close);
    const after = close < 0 ? '' : bracketed.slice(close + 1);
    port = after.includes(':') ? after.slice(after.indexOf(':') + 1) : '';
    // Python checks a bracketed host is an IPv6 address (or IPvFuture)
    if (!/^v/i.test(host)) {
      let ok = false;
      try {
        ok = ipv6Words(host.split('%')[0]) !== null;
      } catch {
        ok = false;
      }
      if (!ok) throw invalid();
    }
  } else {
    const colon = hostinfo.indexOf(':');
    host = colon < 0 ? hostinfo : hostinfo.slice(0, colon);
    port = colon < 0 ? '' : hostinfo.slice(colon + 1);
  }
  host = host.toLowerCase();
  if (port !== '' && (!/^[0-9]+$/.test(port) || Number(port) > 65535)) throw invalid();
  if ((scheme !== 'http' && scheme !== 'https') || !host || username || password || query || fragment) {
    throw new InvalidInput(`${what}'s address ${repr(url)} must be http(s)://host[:port][/path], with nothing else`);
  }
  if (scheme === 'http' && !(host === 'localhost' || isLoopbackAddress(host.split('%')[0]))) {
    throw new InvalidInput(`${what}'s address ${url} is http:// on ${host}, which is not this machine: key `
      + 'servers and the escrow server must be reached over TLS. Use an https:// address '
      + "(the server's --tls-cert/--tls-key, or a reverse proxy that terminates TLS).");
  }
}

/** Deployment.to_json, for the canonical-form check. */
export function deploymentToJson(d) {
  return {
    format: FORMAT, deployment_id: b64uEncode(d.deploymentId), serial: d.serial, issued_at: d.issuedAt,
    quorum: d.quorum, max_quorum: d.maxQuorum, escrow_url: d.escrowUrl,
    oprf: {
      suite: SUITE, mode: 1, threshold: d.threshold, public_key: d.oprfPublicKey.length ? b64uEncode(d.oprfPublicKey) : null,
      servers: d.keyservers.map(keyServerListing),
    },
    counselors: d.counselors.map((c) => ({
      name: c.name, key_id: b64uEncode(c.keyId), public_key: b64uEncode(c.publicKey),
      ...(c.signingKey ? { signing_key: b64uEncode(c.signingKey) } : {}),
    })),
    log: { origin: d.log.origin, public_key: b64uEncode(d.log.publicKey), witnesses: [...d.log.witnesses] },
    quorum_keys: d.quorumKeys ? quorumKeysToJson(d.quorumKeys) : null,
    key_change: d.keyChange ? keyChangeToJson(d.keyChange) : null,
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
  if (indices.some((i, k) => i !== k + 1)) throw new InvalidInput('key servers are listed with indices 1..n, in order');
  const change = d.keyChange ?? null;
  checkUrl('the escrow server', d.escrowUrl);
  for (const s of [...d.keyservers, ...(change ? change.servers : [])]) checkUrl(`key server ${s.index}`, s.url);
  participants(d.keyservers);
  if (d.quorumKeys === null) {
    if (d.oprfPublicKey.length || d.keyservers.some((s) => s.publicShare.length)) {
      throw new InvalidInput("VOPRF public shares come from the key servers' key generation, with its result");
    }
    if (change === null || change.kind !== 'generate') {
      throw new InvalidInput('a deployment without quorum keys asks its key servers to generate them');
    }
  } else {
    if (!d.oprfPublicKey.length) {
      throw new InvalidInput('the quorum keys are published without the VOPRF public key their run produced; '
        + "publish them again with 'consilience admin publish-keys'");
    }
    checkPublicShares(d.oprfPublicKey, publicShares(d), d.threshold);
    checkQuorumKeys(d, dkgParametersOf(d, d.quorumKeys.epoch));
  }
  if (change !== null) checkKeyChange(d, change);
  const ids = new Set();
  for (const c of d.counselors) {
    if (!bytesEqual(await hpkeKeyId(c.publicKey), c.keyId)) {
      throw new VerificationError(`counselor ${repr(c.name)}: key id does not match the public key`);
    }
    ids.add(b64uEncode(c.keyId));
  }
  if (ids.size !== d.counselors.length) throw new InvalidInput('a counselor key appears twice');
  const signingKeys = d.counselors.filter((c) => c.signingKey).map((c) => b64uEncode(c.signingKey));
  if (new Set(signingKeys).size !== signingKeys.length) throw new InvalidInput('a counselor signing key appears twice');
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
 * {low, high}, escrowUrl, threshold, oprfPublicKey (empty until the key generation is published),
 * keyservers: [{index, url, publicShare (empty for a key server holding no share), identityKey,
 * hpkePublicKey}], counselors: [{name, keyId, publicKey, signingKey (32 bytes or null)}], log: {origin, publicKey, vkey, witnesses},
 * quorumKeys (null until the key generation is published), keyChange (the run asked for next, or null),
 * keyEpoch (quorumKeys.generation: what entries bind), ready, adminKey}; quorumParameters(d) gives the
 * checked commitments, publicShares(d) the VOPRF public shares.
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
