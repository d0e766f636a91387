// Sealing an entry for escrow and the envelope's byte layout
// (protocol/entry.py, PROTOCOL.md §8), plus the submission JSON of
// clients/escrow_client.py submission_payload.
import { InvalidInput } from '../errors.js';
import { b64uDecode, b64uEncode, bytesEqual, concatBytes, i2osp, utf8Decode } from './encoding.js';
import { dumpsBytes } from './pyjson.js';
import * as aead from '../crypto/aead.js';
import * as hpke from '../crypto/hpke.js';
import { KCV_BYTES, TAG_BYTES, sharesFor } from './matching.js';
import { SCALAR_BYTES, scalarFromInt, scalarToInt } from '../crypto/ristretto.js';
import { randomBytes } from '@noble/hashes/utils.js';

export const VERSION = 1;
export const ENTRY_ID_BYTES = 16;
const te = (s) => new TextEncoder().encode(s);
export const BODY_AAD = te('consilience-v1 body');
export const WRAP_AAD = te('consilience-v1 wrap');
export const ENVELOPE_INFO = te('consilience-v1 envelope');
export const WRAPPED_BYTES = 12 + 32 + 16;
/** protocol/deployment.py MAX_QUORUM_LIMIT and protocol/messages.py MAX_IDENTIFIERS. */
export const MAX_QUORUM_LIMIT = 32;
export const MAX_IDENTIFIERS = 8;
/** protocol/messages.py MAX_BODY_BYTES: the largest sealed body the escrow server takes. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
export const DETAIL_FIELDS = ['what', 'when', 'where', 'witnesses'];

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
  const { record, identifiers, canonical, contact, writtenAt, details, attachments } = body;
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
  return dumpsBytes(doc, { sortKeys: true, ensureAscii: false, separators: [',', ':'] });
}

/** Parse body bytes (Body.from_bytes): {v, record, identifiers, canonical, contact, writtenAt, details, attachments}. */
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
  return { v: VERSION, record, identifiers, canonical, contact, writtenAt, details: doc.details ?? null, attachments };
}

// --- envelope -------------------------------------------------------------

/** content = {entryId, quorum, quorumRange: {low, high}, sections: [{tag, x, shares: Map k->bigint, kcv, wrapped}]} */
export function encodeEnvelope(content) {
  const { low, high } = content.quorumRange;
  const parts = [Uint8Array.of(VERSION), content.entryId, i2osp(content.quorum, 1), i2osp(low, 1), i2osp(high, 1), i2osp(content.sections.length, 1)];
  for (const s of content.sections) {
    parts.push(s.tag, scalarFromInt(s.x));
    for (let k = low; k <= high; k++) parts.push(scalarFromInt(s.shares.get(k)));
    parts.push(s.kcv, s.wrapped);
  }
  return concatBytes(...parts);
}

/** Strict parse: exact length, canonical scalars, sane ranges. */
export function parseEnvelope(data) {
  const header = 1 + ENTRY_ID_BYTES + 4;
  if (!(data instanceof Uint8Array) || data.length < header || data[0] !== VERSION) {
    throw new InvalidInput('envelope: unknown version or truncated');
  }
  const entryId = data.slice(1, 17);
  const [quorum, low, high, count] = [data[17], data[18], data[19], data[20]];
  if (!(low >= 2 && low <= quorum && quorum <= high && high <= MAX_QUORUM_LIMIT) || !(count >= 1 && count <= MAX_IDENTIFIERS)) {
    throw new InvalidInput('envelope: quorum fields out of range');
  }
  const width = high - low + 1;
  const sectionBytes = TAG_BYTES + SCALAR_BYTES + width * SCALAR_BYTES + KCV_BYTES + WRAPPED_BYTES;
  if (data.length !== header + count * sectionBytes) throw new InvalidInput('envelope: wrong length');
  const sections = [];
  let pos = header;
  const take = (n) => {
    const out = data.slice(pos, pos + n);
    pos += n;
    return out;
  };
  for (let c = 0; c < count; c++) {
    const tag = take(TAG_BYTES);
    const x = scalarToInt(take(SCALAR_BYTES));
    const shares = new Map();
    for (let k = low; k <= high; k++) shares.set(k, scalarToInt(take(SCALAR_BYTES)));
    const kcv = take(KCV_BYTES);
    const wrapped = take(WRAPPED_BYTES);
    sections.push({ tag, x, shares, kcv, wrapped });
  }
  if (new Set(sections.map((s) => b64uEncode(s.tag))).size !== sections.length) throw new InvalidInput('envelope: a tag appears twice');
  return { entryId, quorum, quorumRange: { low, high }, sections };
}

/** The section of an envelope content for `tag`, or null. */
export function envelopeSection(content, tag) {
  return content.sections.find((s) => bytesEqual(s.tag, tag)) ?? null;
}

export function envelopeInfo(entryId, keyId) {
  return concatBytes(ENVELOPE_INFO, entryId, keyId);
}

/** datetime.now(timezone.utc).isoformat(timespec="seconds"), e.g. 2026-01-01T10:00:00+00:00 */
export function nowIsoSeconds(date = new Date()) {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/**
 * Encrypt a record for escrow under the quorum secrets of its identifiers
 * (entry.py seal_entry). `identifiers` are [{typed, canonical}], one OPRF
 * output each. The body is either `bodyBytes` (already serialised, e.g. by
 * body.js) or the fields {record, contact, writtenAt?, details?, attachments?}
 * which encodeBody serialises. Returns
 * {entryId, quorum, tags, body, envelopes: [{keyId, ciphertext}], deploymentSerial, bodyKey}.
 * deployment: {serial, quorum, quorumRange: {low, high}, counselors: [{keyId, publicKey}]}.
 */
export async function sealEntry({
  deployment, accountId, identifiers, oprfOutputs, record, contact, writtenAt, details, attachments,
  bodyBytes, quorum, entryId, bodyKey,
}) {
  if (!identifiers || identifiers.length === 0 || identifiers.length !== oprfOutputs?.length) {
    throw new InvalidInput('one OPRF output per identifier is required');
  }
  if (identifiers.length > MAX_IDENTIFIERS) throw new InvalidInput(`an entry names at most ${MAX_IDENTIFIERS} identifiers`);
  if (new Set(identifiers.map((i) => i.canonical)).size !== identifiers.length) throw new InvalidInput('the same identifier is named twice');
  if (!deployment.counselors || deployment.counselors.length === 0) {
    throw new InvalidInput('this deployment has no counselors yet; nobody could ever open the entry');
  }
  const q = quorum ?? deployment.quorum;
  const id = entryId ?? randomBytes(ENTRY_ID_BYTES);
  const key = bodyKey ?? aead.newKey();
  if (id.length !== ENTRY_ID_BYTES || key.length !== 32) throw new InvalidInput('entry id must be 16 bytes and body key 32 bytes');
  const plain = bodyBytes ?? encodeBody({
    record, contact, details, attachments, writtenAt: writtenAt || nowIsoSeconds(),
    identifiers: identifiers.map((i) => i.typed), canonical: identifiers.map((i) => i.canonical),
  });
  if (plain.length + aead.OVERHEAD > MAX_BODY_BYTES) {
    throw new InvalidInput(`the record with its attachments is ${plain.length} bytes; an entry holds at most ` +
      `${MAX_BODY_BYTES - aead.OVERHEAD} (attachments count a third more than their size)`);
  }
  const sealedBody = aead.seal(key, plain, concatBytes(BODY_AAD, id));
  const sections = oprfOutputs.map((output) => {
    const d = sharesFor(output, accountId, q, deployment.quorumRange);
    const wrapped = aead.seal(d.wrapKey, key, concatBytes(WRAP_AAD, id, d.tag));
    return { tag: d.tag, x: d.x, shares: d.shares, kcv: d.kcv, wrapped };
  });
  const plaintext = encodeEnvelope({ entryId: id, quorum: q, quorumRange: deployment.quorumRange, sections });
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

/** The JSON body of POST/PUT /v1/entries (escrow_client.py submission_payload), same key order. */
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

