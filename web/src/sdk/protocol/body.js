// The entry body a counselor reads after release (protocol/entry.py Body,
// PROTOCOL.md §8): free text, the identifiers as typed and canonical, the
// reporter's contact, and optionally structured details and attached files.
//
// The bytes are written by entry.js encodeBody (the one serialiser, Python's
// json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False));
// this module is the UI-facing front: it builds a body from form fields the
// way the Python CLI does (only filled-in details, files as bytes), checks the
// size before sealing, and parses/opens bodies. web/test/protocol.test.js
// checks the bytes against Python's for non-ASCII, U+2028, emoji and escapes.
import { InvalidInput } from '../errors.js';
import { b64uDecode, b64uEncode } from './encoding.js';
import { OVERHEAD } from '../crypto/aead.js';
import { DETAIL_FIELDS, MAX_BODY_BYTES, decodeBody, encodeBody, openBody } from './entry.js';

export { DETAIL_FIELDS, MAX_BODY_BYTES, openBody };

/** Roughly the most file bytes one entry holds (base64url inside the JSON costs a third more). */
export const MAX_ATTACHMENT_BYTES = 3 * 1024 * 1024;

/** protocol/entry.py make_details: only the fields given and non-empty, or null. */
export function makeDetails({ what, when, where, witnesses } = {}) {
  const given = { what, when, where, witnesses };
  const details = {};
  for (const k of DETAIL_FIELDS) {
    if (given[k] !== undefined && given[k] !== null && given[k] !== '') {
      if (typeof given[k] !== 'string') throw new InvalidInput('malformed entry body: each detail is non-empty text');
      details[k] = given[k];
    }
  }
  return Object.keys(details).length ? details : null;
}

function attachment(a) {
  if (!a || typeof a !== 'object' || typeof a.name !== 'string' || !a.name || typeof a.type !== 'string') {
    throw new InvalidInput('malformed entry body: attachment name, type and data are strings');
  }
  const data = typeof a.data === 'string' ? b64uDecode(a.data, undefined, 'attachment data') : a.data;
  if (!(data instanceof Uint8Array)) throw new InvalidInput('attachment data must be bytes');
  return { name: a.name, type: a.type, data };
}

/** {name, type, data: b64u}: an attachment as the body and the wallet store it. */
export function attachmentJson(a) {
  const { name, type, data } = attachment(a);
  return { name, type, data: b64uEncode(data) };
}

/**
 * A body from form fields: {record, identifiers, canonical, contact, writtenAt,
 * details?: {what, when, where, witnesses}, attachments?: [{name, type, data: Uint8Array | b64u}],
 * messagingKey?: the reporter's 1248-byte messaging key (PROTOCOL.md §13.1), which lets a counselor write to them}.
 * Empty detail fields are dropped (as the CLI does); unknown ones are refused.
 */
export function makeBody({ record = '', identifiers = [], canonical = [], contact = '', writtenAt = '', details = null,
  attachments = [], messagingKey = null } = {}) {
  if (details !== null && details !== undefined) {
    if (typeof details !== 'object' || Array.isArray(details) || !Object.keys(details).every((k) => DETAIL_FIELDS.includes(k))) {
      throw new InvalidInput(`malformed entry body: details has only the fields ${DETAIL_FIELDS.join(', ')}`);
    }
  }
  return {
    record, identifiers: [...identifiers], canonical: [...canonical], contact, writtenAt,
    details: makeDetails(details ?? {}), attachments: (attachments ?? []).map(attachment), messagingKey,
  };
}

/** The plaintext bytes (Body.to_bytes). */
export function bodyBytes(body) {
  return encodeBody(body);
}

/** Parse plaintext bytes (Body.from_bytes): {record, identifiers, canonical, contact, writtenAt, details, attachments}. */
export function parseBody(bytes) {
  return decodeBody(bytes);
}

/** Refuse a body too large to escrow, with the Python SDK's message; returns its plaintext size. */
export function checkBodySize(body) {
  const size = bodyBytes(body).length;
  if (size + OVERHEAD > MAX_BODY_BYTES) {
    throw new InvalidInput(`the record with its attachments is ${size} bytes; an entry holds at most `
      + `${MAX_BODY_BYTES - OVERHEAD} (attachments count a third more than their size)`);
  }
  return size;
}

/** A browser File (or Blob with a name) as an attachment. */
export async function attachmentFromFile(file) {
  const data = new Uint8Array(await file.arrayBuffer());
  return { name: file.name || 'attachment', type: file.type || 'application/octet-stream', data };
}
