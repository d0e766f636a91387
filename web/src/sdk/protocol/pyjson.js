// Python-compatible JSON serialisation: the exact bytes of Python's
// json.dumps(value, sort_keys=..., ensure_ascii=..., separators=..., indent=...).
//
// JSON.stringify differs from json.dumps in ways that change bytes: default
// separators (", " / ": " in Python), key order (Python sorts by code point,
// JS sort by UTF-16 unit), non-ASCII escaping (ensure_ascii), and lone
// surrogates (JSON.stringify escapes them; Python writes them raw and then
// fails to encode UTF-8). Every document the SDK writes for Python to read
// (entry bodies, wallets, counselor key files, sealed containers) goes through
// here, and only JSON types the protocol uses are accepted (no floats).
import { InvalidInput } from '../errors.js';
import { isWellFormed, utf8Encode } from './encoding.js';

const SHORT = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

function hex4(code) {
  return '\\u' + code.toString(16).padStart(4, '0');
}

export function pyString(text, ensureAscii) {
  if (!isWellFormed(text)) throw new InvalidInput('string contains an unpaired surrogate');
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = text.charCodeAt(i);
    if (SHORT[ch] !== undefined) out += SHORT[ch];
    else if (code < 0x20) out += hex4(code);
    else if (ensureAscii && code > 0x7e) out += hex4(code); // UTF-16 units: astral chars become \ud8xx\udcxx, as Python does
    else out += ch;
  }
  return out + '"';
}

function compareCodePoints(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * json.dumps. Options: sortKeys (false), ensureAscii (true), indent (null),
 * separators (Python's default: [", ", ": "], or [",", ": "] with an indent).
 */
export function dumps(value, { sortKeys = false, ensureAscii = true, indent = null, separators = null } = {}) {
  const [itemSep, keySep] = separators ?? (indent === null ? [', ', ': '] : [',', ': ']);
  const enc = (v, level) => {
    if (v === null) return 'null';
    if (v === true) return 'true';
    if (v === false) return 'false';
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new InvalidInput('only safe integers are serialised');
      return String(v);
    }
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'string') return pyString(v, ensureAscii);
    const nl = indent === null ? '' : '\n' + ' '.repeat(indent * (level + 1));
    const close = indent === null ? '' : '\n' + ' '.repeat(indent * level);
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return '[' + nl + v.map((x) => enc(x, level + 1)).join(itemSep + nl) + close + ']';
    }
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      let keys = Object.keys(v).filter((k) => v[k] !== undefined);
      if (keys.length === 0) return '{}';
      if (sortKeys) keys = keys.sort(compareCodePoints);
      return '{' + nl + keys.map((k) => pyString(k, ensureAscii) + keySep + enc(v[k], level + 1)).join(itemSep + nl) + close + '}';
    }
    throw new InvalidInput(`cannot serialise ${Object.prototype.toString.call(v)} as JSON`);
  };
  return enc(value, 0);
}

/** dumps(...) encoded as UTF-8 bytes. */
export function dumpsBytes(value, options) {
  return utf8Encode(dumps(value, options));
}
