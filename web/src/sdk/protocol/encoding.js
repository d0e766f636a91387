// Byte-level encodings (protocol/encoding.py): I2OSP, 2-byte length prefixes,
// strict unpadded base64url for the wire, padded standard base64 for the
// sealed-file container, strict UTF-8.
import { InvalidInput } from '../errors.js';

/** RFC 8017 I2OSP: big-endian, fixed width; refuses values that do not fit. */
export function i2osp(value, length) {
  const v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(8 * length)) throw new InvalidInput(`${value} does not fit in ${length} bytes`);
  const out = new Uint8Array(length);
  let rest = v;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** Prefix with a 2-byte big-endian length, as RFC 9497 does for its inputs. */
export function lp2(data) {
  return concatBytes(i2osp(data.length, 2), data);
}

export function concatBytes(...parts) {
  let total = 0;
  for (const p of parts) {
    if (!(p instanceof Uint8Array)) throw new InvalidInput('expected Uint8Array');
    total += p.length;
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function hexEncode(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function hexDecode(text) {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new InvalidInput('not a hex string');
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toBinaryString(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return s;
}

function fromBinaryString(s) {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Standard base64 with padding (Python's base64.b64encode). */
export function b64Encode(bytes) {
  return btoa(toBinaryString(bytes));
}

/** Strict standard base64 with padding, as Python's base64.b64decode(validate=True). */
export function b64Decode(text, field = 'value') {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new InvalidInput(`${field} is not valid base64`);
  }
  try {
    return fromBinaryString(atob(text));
  } catch {
    throw new InvalidInput(`${field} is not valid base64`);
  }
}

/** Unpadded base64url (protocol/encoding.py b64u_encode). */
export function b64uEncode(bytes) {
  return b64Encode(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Strict unpadded base64url; optional exact length check with a named field.
 * Refuses padding, the standard alphabet, whitespace and non-canonical trailing bits.
 */
export function b64uDecode(text, length = undefined, field = 'value') {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new InvalidInput(`${field}: not unpadded base64url`);
  }
  const std = text.replace(/-/g, '+').replace(/_/g, '/');
  let data;
  try {
    data = fromBinaryString(atob(std + '='.repeat((4 - (std.length % 4)) % 4)));
  } catch {
    throw new InvalidInput(`${field}: not unpadded base64url`);
  }
  if (b64uEncode(data) !== text) throw new InvalidInput(`${field}: non-canonical base64url`);
  if (length !== undefined && length !== null && data.length !== length) {
    throw new InvalidInput(`${field}: expected ${length} bytes, got ${data.length}`);
  }
  return data;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True if the string has no unpaired surrogate (i.e. it has a UTF-8 encoding). */
export function isWellFormed(text) {
  return !LONE_SURROGATE.test(text);
}

/**
 * UTF-8 of a string, refusing lone surrogates: Python's str.encode("utf-8")
 * raises on them, whereas TextEncoder would silently write U+FFFD and so
 * produce bytes Python never would.
 */
export function utf8Encode(text, field = 'text') {
  if (typeof text !== 'string') throw new InvalidInput(`${field} must be a string`);
  if (!isWellFormed(text)) throw new InvalidInput(`${field} contains an unpaired surrogate`);
  return new TextEncoder().encode(text);
}

/** Strict UTF-8 decoding (invalid sequences raise, as Python's bytes.decode does). */
export function utf8Decode(bytes, field = 'text') {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new InvalidInput(`${field} is not valid UTF-8`);
  }
}
