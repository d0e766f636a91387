// Sealing an entry for escrow and the envelope's byte layout, protocol v2
// (protocol/entry.py, PROTOCOL.md §8), plus the submission JSON of
// clients/escrow_client.py submission_payload.
//
// Envelope plaintext: 0x02 ‖ entry_id16 ‖ quorum1 ‖ low1 ‖ high1 ‖ I2OSP(key_epoch, 4) ‖ count1 ‖
// sections, a section = tag32 ‖ x32 ‖ σ_q (48 bytes, compressed G1) for each q in low..high ‖
// U (96, compressed G2) ‖ wrapped (60): the body key sealed under W, W from quorum.wrap at the
// entry's own quorum with a fresh ρ.
import { InvalidInput } from '../errors.js';
import { b64uDecode, b64uEncode, bytesEqual, concatBytes, i2osp, utf8Decode } from './encoding.js';
import { dumpsBytes } from './pyjson.js';
import * as aead from '../crypto/aead.js';
import * as hpke from '../crypto/hpke.js';
import { TAG_BYTES, matchTag } from './matching.js';
import { scalarFromBytes, scalarToBytes } from '../crypto/bls12381.js';
import * as quorumMod from './quorum.js';
import { quorumParameters } from './deployment.js';
import { randomBytes } from '@noble/hashes/utils.js';

export const VERSION = 2;
export const ENTRY_ID_BYTES = 16;
const te = (s) => new TextEncoder().encode(s);
export const BODY_AAD = te('consilience-v2 body');
export const WRAP_AAD = te('consilience-v2 wrap');
export const ENVELOPE_INFO = te('consilience-v2 envelope');
export const WRAPPED_BYTES = 12 + 32 + 16;
const SCALAR = 32;
const G1_BYTES = 48;
const G2_BYTES = 96;
/** protocol/deployment.py MAX_QUORUM_LIMIT and protocol/messages.py MAX_IDENTIFIERS. */
export const MAX_QUORUM_LIMIT = 32;
export const MAX_IDENTIFIERS = 8;
/** protocol/messages.py MAX_BODY_BYTES: the largest sealed body the escrow server takes. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
export const DETAIL_FIELDS = ['what', 'when', 'where', 'witnesses'];
/** PROTOCOL.md §13.1: a reporter's messaging key, X-Wing public key (1216) ‖ Ed25519 key (32). */
export const MESSAGING_KEY_BYTES = 1216 + 32;

// --- body ---------------------------------------------------------------

function checkDetails(details) {
  if (details === null || details === undefined) return;
  if (typeof details !== 'object' || Array.isArray(details) || !Object.keys(details).every((k) => DETAIL_FIELDS.includes(k))) {
    throw new InvalidInput(`malformed entry body: details has only the fields ${DETAIL_FIELDS.join(', ')}`);
  }
  if (!Object.values(details).every((v) => typeof v === 'string' && v)) {
    throw new InvalidInput('malformed entry body: each detail is non-empty text');
  }
}

function attachmentJson(a) {
  if (!a || typeof a !== 'object' || typeof a.name !== 'string' || !a.name || typeof a.type !== 'string') {
    throw new InvalidInput('malformed entry body: attachment name, type and data are strings');
  }
  const data = a.data instanceof Uint8Array ? b64uEncode(a.data) : a.data;
  if (typeof data !== 'string') throw new InvalidInput('malformed entry body: attachment name, type and data are strings');
  b64uDecode(data, undefined, 'attachment data');
  return { name: a.name, type: a.type, data };
}

/**
 * The body's plaintext bytes, exactly as protocol/entry.py Body.to_bytes:
 * JSON with sorted keys, compact separators, ensure_ascii=False, UTF-8.
 * `details` and `attachments` are written only when present. This is the one
 * place the SDK serialises a body.
 * body = {record, identifiers, canonical, contact, writtenAt, details?, attachments?}
 */
export function encodeBody(body) {
  const { record, identifiers, canonical, contact, writtenAt, details, attachments, messagingKey } = body;
  for (const [name, v] of [['record', record], ['contact', contact], ['writtenAt', writtenAt]]) {
    if (typeof v !== 'string') throw new InvalidInput(`body ${name} must be a string`);
  }
  if (!Array.isArray(identifiers) || !Array.isArray(canonical) || ![...identifiers, ...canonical].every((s) => typeof s === 'string')) {
    throw new InvalidInput('body identifiers are lists of strings');
  }
  checkDetails(details);
  const doc = { v: VERSION, record, identifiers, canonical, contact, written_at: writtenAt };
  if (details && Object.keys(details).length) doc.details = details;
  if (attachments && attachments.length) doc.attachments = attachments.map(attachmentJson);
  if (messagingKey !== undefined && messagingKey !== null) doc.messaging_key = messagingKeyJson(messagingKey);
  return dumpsBytes(doc, { sortKeys: true, ensureAscii: false, separators: [',', ':'] });
}

/** The reporter's messaging key (§13.1, mpk ‖ vk, 1248 bytes) as the body writes it (b64u). */
function messagingKeyJson(key) {
  const text = key instanceof Uint8Array ? b64uEncode(key) : key;
  if (typeof text !== 'string') throw new InvalidInput('malformed entry body: messaging_key is base64url text');
  b64uDecode(text, MESSAGING_KEY_BYTES, 'messaging_key');
  return text;
}

/**
 * Parse body bytes (Body.from_bytes): {v, record, identifiers, canonical, contact, writtenAt, details, attachments,
 * messagingKey (1248 bytes, or null for a body without one)}.
 */
export function decodeBody(bytes) {
  let doc;
  try {
    doc = JSON.parse(utf8Decode(bytes, 'entry body'));
  } catch {
    throw new InvalidInput('malformed entry body');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new InvalidInput('malformed entry body');
  if (doc.v !== VERSION) throw new InvalidInput('unknown body version');
  if (!['record', 'contact', 'written_at', 'identifiers', 'canonical'].every((k) => Object.hasOwn(doc, k))) {
    throw new InvalidInput('malformed entry body'); // Python: KeyError
  }
  const { record, contact, written_at: writtenAt, identifiers, canonical } = doc;
  if (![record, contact, writtenAt].every((x) => typeof x === 'string')) {
    throw new InvalidInput('malformed entry body: record, contact and written_at are strings');
  }
  if (!Array.isArray(identifiers) || !Array.isArray(canonical) || ![...identifiers, ...canonical].every((x) => typeof x === 'string')) {
    throw new InvalidInput('malformed entry body: identifiers are lists of strings');
  }
  const hasDetails = Object.prototype.hasOwnProperty.call(doc, 'details');
  if (hasDetails && (!doc.details || (typeof doc.details === 'object' && Object.keys(doc.details).length === 0))) {
    throw new InvalidInput('malformed entry body: empty details are left out, not written');
  }
  checkDetails(doc.details);
  const hasAttachments = Object.prototype.hasOwnProperty.call(doc, 'attachments');
  if (hasAttachments && (!Array.isArray(doc.attachments) || doc.attachments.length === 0)) {
    throw new InvalidInput('malformed entry body: attachments are a non-empty list');
  }
  const attachments = (doc.attachments ?? []).map((a) => {
    if (!a || typeof a !== 'object' || Object.keys(a).sort().join() !== 'data,name,type') {
      throw new InvalidInput('malformed entry body: an attachment has exactly name, type and data');
    }
    const j = attachmentJson(a);
    return { name: j.name, type: j.type, data: b64uDecode(j.data, undefined, 'attachment data') };
  });
  const messagingKey = Object.hasOwn(doc, 'messaging_key')
    ? b64uDecode(messagingKeyJson(doc.messaging_key), MESSAGING_KEY_BYTES, 'messaging_key') : null;
  return { v: VERSION, record, identifiers, canonical, contact, writtenAt, details: doc.details ?? null, attachments, messagingKey };
}

// --- envelope -------------------------------------------------------------

const sectionBytes = (width) => TAG_BYTES + SCALAR + width * G1_BYTES + G2_BYTES + WRAPPED_BYTES;

/**
 * content = {entryId, quorum, quorumRange: {low, high}, keyEpoch, sections: [{tag, x (bigint),
 * shares: Map q → 48 bytes, u (96 bytes), wrapped (60 bytes)}]}
 */
export function encodeEnvelope(content) {
  const { low, high } = content.quorumRange;
  const parts = [Uint8Array.of(VERSION), content.entryId, i2osp(content.quorum, 1), i2osp(low, 1), i2osp(high, 1),
    i2osp(content.keyEpoch, 4), i2osp(content.sections.length, 1)];
  for (const s of content.sections) {
    parts.push(s.tag, scalarToBytes(s.x));
    for (let k = low; k <= high; k++) parts.push(s.shares.get(k));
    parts.push(s.u, s.wrapped);
  }
  return concatBytes(...parts);
}

/**
 * Strict parse (entry.py parse_envelope): exact length, canonical nonzero abscissas, sane ranges.
 * Points are checked for length only; their subgroup checks happen where they are used.
 */
export function parseEnvelope(data) {
  const header = 1 + ENTRY_ID_BYTES + 3 + 4 + 1;
  if (data instanceof Uint8Array && data.length >= 1 && data[0] === 1) {
    throw new InvalidInput('envelope: a protocol v1 envelope; this software opens protocol v2 envelopes only');
  }
  if (!(data instanceof Uint8Array) || data.length < header || data[0] !== VERSION) {
    throw new InvalidInput('envelope: unknown version or truncated');
  }
  const entryId = data.slice(1, 17);
  const [quorum, low, high] = [data[17], data[18], data[19]];
  const keyEpoch = ((data[20] << 24) >>> 0) + (data[21] << 16) + (data[22] << 8) + data[23];
  const count = data[24];
  if (!(low >= 2 && low <= quorum && quorum <= high && high <= MAX_QUORUM_LIMIT) || !(count >= 1 && count <= MAX_IDENTIFIERS)) {
    throw new InvalidInput('envelope: quorum fields out of range');
  }
  const width = high - low + 1;
  if (data.length !== header + count * sectionBytes(width)) throw new InvalidInput('envelope: wrong length');
  const sections = [];
  let pos = header;
  const take = (n) => {
    const out = data.slice(pos, pos + n);
    pos += n;
    return out;
  };
  for (let c = 0; c < count; c++) {
    const tag = take(TAG_BYTES);
    const x = scalarFromBytes(take(SCALAR)); // refuses zero and non-canonical values
    const shares = new Map();
    for (let k = low; k <= high; k++) shares.set(k, take(G1_BYTES));
    const u = take(G2_BYTES);
    const wrapped = take(WRAPPED_BYTES);
    sections.push({ tag, x, shares, u, wrapped });
  }
  if (new Set(sections.map((s) => b64uEncode(s.tag))).size !== sections.length) throw new InvalidInput('envelope: a tag appears twice');
  return { entryId, quorum, quorumRange: { low, high }, keyEpoch, sections };
}

/** The section of an envelope content for `tag`, or null. */
export function envelopeSection(content, tag) {
  return content.sections.find((s) => bytesEqual(s.tag, tag)) ?? null;
}

/** The index of `tag`'s section (the wrap context's section number), or -1. */
export function envelopeSectionIndex(content, tag) {
  return content.sections.findIndex((s) => bytesEqual(s.tag, tag));
}

// Random id bytes whose base64url never begins with "-" (first six bits 62 are drawn again), so the
// command line, where counselors type ids, never reads one as an option (PROTOCOL.md §8).
function randomId(length) {
  for (;;) {
    const id = randomBytes(length);
    if (id[0] >> 2 !== 62) return id;
  }
}

export function envelopeInfo(entryId, keyId) {
  return concatBytes(ENVELOPE_INFO, entryId, keyId);
}

/** entry.wrap_context: what a section's wrap key is bound to (quorum.js encodeWrapContext). */
export function wrapContext(deploymentId, keyEpoch, entryId, section, tag) {
  return { deploymentId, keyEpoch, entryId, section, tag };
}

/** datetime.now(timezone.utc).isoformat(timespec="seconds"), e.g. 2026-01-01T10:00:00+00:00 */
export function nowIsoSeconds(date = new Date()) {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/**
 * Encrypt a record for escrow under the quorum secrets of its identifiers
 * (entry.py seal_entry). `identifiers` are [{typed, canonical}], one OPRF output and one set
 * of checked quorum shares (quorum.js combine's result: {x, base, shares, shareBytes}) each,
 * in the same order; every set at the account's one abscissa. The body is either `bodyBytes`
 * (already serialised, e.g. by body.js) or the fields {record, contact, writtenAt?, details?,
 * attachments?} which encodeBody serialises. The body key is wrapped to F_q(0)·P* of each
 * identifier with a fresh encapsulation every time. Returns
 * {entryId, quorum, tags, body, envelopes: [{keyId, ciphertext}], deploymentSerial, bodyKey}.
 * deployment: a verified deployment (deployment.js) whose quorum keys are published.
 */
export async function sealEntry({
  deployment, identifiers, oprfOutputs, quorumShares, record, contact, writtenAt, details, attachments,
  bodyBytes, quorum, entryId, bodyKey, messagingKey,
}) {
  if (!identifiers || identifiers.length === 0 || identifiers.length !== oprfOutputs?.length
      || quorumShares?.length !== identifiers.length) {
    throw new InvalidInput('one OPRF output and one set of quorum shares per identifier are required');
  }
  if (identifiers.length > MAX_IDENTIFIERS) throw new InvalidInput(`an entry names at most ${MAX_IDENTIFIERS} identifiers`);
  if (new Set(identifiers.map((i) => i.canonical)).size !== identifiers.length) throw new InvalidInput('the same identifier is named twice');
  if (!deployment.counselors || deployment.counselors.length === 0) {
    throw new InvalidInput('this deployment has no counselors yet; nobody could ever open the entry');
  }
  const q = quorum ?? deployment.quorum;
  const { low, high } = deployment.quorumRange;
  if (!(Number.isInteger(q) && q >= low && q <= high)) {
    throw new InvalidInput(`quorum ${q} is outside this deployment's range ${deployment.quorum}..${deployment.maxQuorum ?? high}`);
  }
  const params = quorumParameters(deployment);
  const level = params.level(q);
  const id = entryId ?? randomId(ENTRY_ID_BYTES);
  const key = bodyKey ?? aead.newKey();
  if (id.length !== ENTRY_ID_BYTES || key.length !== 32) throw new InvalidInput('entry id must be 16 bytes and body key 32 bytes');
  const plain = bodyBytes ?? encodeBody({
    record, contact, details, attachments, messagingKey, writtenAt: writtenAt || nowIsoSeconds(),
    identifiers: identifiers.map((i) => i.typed), canonical: identifiers.map((i) => i.canonical),
  });
  if (plain.length + aead.OVERHEAD > MAX_BODY_BYTES) {
    throw new InvalidInput(`the record with its attachments is ${plain.length} bytes; an entry holds at most ` +
      `${MAX_BODY_BYTES - aead.OVERHEAD} (attachments count a third more than their size)`);
  }
  const sealedBody = aead.seal(key, plain, concatBytes(BODY_AAD, id));
  if (new Set(quorumShares.map((s) => s.x.toString(16))).size !== 1) {
    throw new InvalidInput("the quorum shares of one entry are all at the account's one abscissa");
  }
  const sections = oprfOutputs.map((output, index) => {
    const got = quorumShares[index];
    const levels = [...got.shares.keys()];
    if (levels.length !== high - low + 1 || levels.some((k) => k < low || k > high)) {
      throw new InvalidInput("the quorum shares must cover every level of the deployment's range");
    }
    const tag = matchTag(output);
    const context = wrapContext(deployment.deploymentId, deployment.keyEpoch, id, index, tag);
    const w = quorumMod.wrap(level, got.base, context);
    const wrapped = aead.seal(w.key, key, concatBytes(WRAP_AAD, id, tag));
    const shares = new Map();
    for (let k = low; k <= high; k++) shares.set(k, got.shareBytes(k));
    return { tag, x: got.x, shares, u: w.u, wrapped };
  });
  const plaintext = encodeEnvelope({ entryId: id, quorum: q, quorumRange: { low, high }, keyEpoch: deployment.keyEpoch, sections });
  const envelopes = [];
  for (const c of deployment.counselors) {
    envelopes.push({ keyId: c.keyId, ciphertext: await hpke.seal(c.publicKey, plaintext, envelopeInfo(id, c.keyId)) });
  }
  return {
    entryId: id, quorum: q, tags: sections.map((s) => s.tag), body: sealedBody, envelopes,
    deploymentSerial: deployment.serial, bodyKey: key,
  };
}

/** Decrypt and parse a sealed body. */
export function openBody(bodyKey, entryId, sealedBody) {
  return decodeBody(aead.open(bodyKey, sealedBody, concatBytes(BODY_AAD, entryId)));
}

/** The JSON body of POST/PUT /v2/entries (escrow_client.py submission_payload), same key order. */
export function submissionPayload(sealed) {
  return {
    entry_id: b64uEncode(sealed.entryId),
    quorum: sealed.quorum,
    tags: sealed.tags.map(b64uEncode),
    body: b64uEncode(sealed.body),
    envelopes: sealed.envelopes.map((e) => ({ key_id: b64uEncode(e.keyId), ciphertext: b64uEncode(e.ciphertext) })),
    deployment_serial: sealed.deploymentSerial,
  };
}

