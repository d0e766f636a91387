// Turning what a reporter typed into the canonical string fed to the OPRF:
// a line-by-line port of src/consilience/protocol/identifiers.py.
//
// Matching is blind, so the canonical form must be the exact string the
// Python SDK makes, or a reporter using the browser would never meet one
// using the CLI. Everything that depends on Unicode data is taken from the
// Python side (unicode_tables.js) or checked against it in the shared vectors
// (tests/vectors/interop.json): which characters count as invisible (general
// category C in Python's Unicode version), and IDNA2003 nameprep, which
// Python's "idna" codec applies to non-ASCII domain labels. Where the browser
// cannot be sure to do what Python does (a domain label with characters
// unassigned in Unicode 3.2, see IdnaGap) it refuses instead of guessing.
//
// Everything that differs between kinds is one record in PLATFORMS at the end
// of this module, as in Python; the vectors hold Python's records' data
// fields, so a host, alias or reserved path known on one side only fails the
// tests instead of making the two sides normalise a link differently.
import {
  getCountries,
  parsePhoneNumberWithError,
} from 'libphonenumber-js/max';
import { InvalidInput, phrase } from '../errors.js';
import { B1, B2_EXCEPTIONS, IDNA_CLASS_RUNS, NOT_C_FIRST, NOT_C_RUNS } from './unicode_tables.js';

/** Longest input accepted, in code points. */
export const MAX_LENGTH = 256;

// ---------------------------------------------------------------------------
// Python string semantics (code points, not UTF-16 units)

const cps = (s) => Array.from(s);
const cpLen = (s) => cps(s).length;

function runsTable(runs, first, pairs) {
  // -> sorted [start, value] list for binary search
  const starts = [];
  const values = [];
  let pos = 0;
  let value = first;
  for (const item of runs.split(',')) {
    let len;
    if (pairs) {
      const [l, v] = item.split('.');
      len = parseInt(l, 36);
      value = Number(v);
    } else {
      len = parseInt(item, 36);
    }
    starts.push(pos);
    values.push(value);
    pos += len;
    if (!pairs) value = 1 - value;
  }
  return (cp) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= cp) lo = mid;
      else hi = mid - 1;
    }
    return values[lo];
  };
}

const notCAt = runsTable(NOT_C_RUNS, NOT_C_FIRST, false);
/** unicodedata.category(c).startswith("C") in Python's Unicode version. */
export const isCategoryC = (ch) => notCAt(ch.codePointAt(0)) === 0;

// Python's str.isspace(): bidi WS/B/S or category Zs.
const SPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029,
  0x202f, 0x205f, 0x3000]);
const isSpace = (ch) => SPACE.has(ch.codePointAt(0));

/** str.strip() */
function strip(s) {
  const a = cps(s);
  let i = 0;
  let j = a.length;
  while (i < j && isSpace(a[i])) i++;
  while (j > i && isSpace(a[j - 1])) j--;
  return a.slice(i, j).join('');
}

const lower = (s) => s.toLowerCase();
const nfkc = (s) => s.normalize('NFKC');
const isAscii = (s) => /^[\x00-\x7f]*$/.test(s);
/** str.isprintable() for one character. */
const isPrintable = (ch) => ch === ' ' || (!isCategoryC(ch) && !/\p{Z}/u.test(ch));

/** Python's repr() of a str. */
export function pyRepr(s) {
  if (typeof s !== 'string') {
    if (s === null || s === undefined) return 'None';
    if (typeof s === 'boolean') return s ? 'True' : 'False';
    return String(s);
  }
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp < 0x7f || isPrintable(ch)) out += ch;
    else if (cp <= 0xff) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp <= 0xffff) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + quote;
}

// ---------------------------------------------------------------------------
// the identifier

export class Identifier {
  constructor(kind, value, typed) {
    if (!KINDS.includes(kind)) throw new InvalidInput(`unknown identifier kind ${pyRepr(kind)}`, { code: 'identifier.kind.unknown', params: { kind: pyRepr(kind) } });
    if (!value || cps(value).some(isSpace)) {
      throw new InvalidInput('an identifier value must be non-empty and contain no whitespace', { code: 'identifier.value.blank' });
    }
    this.kind = kind;
    this.value = value;
    this.typed = typed;
    Object.freeze(this);
  }

  /** kind:value */
  get canonical() {
    return `${this.kind}:${this.value}`;
  }

  /** The exact bytes blinded for the OPRF: UTF-8 of the canonical form. */
  get oprfInput() {
    return new TextEncoder().encode(this.canonical);
  }

  /** A short human-readable rendering (never protocol input). */
  display() {
    const platform = PLATFORMS_BY_KIND[this.kind];
    return `${platform.label} ${platform.show(this.value)}`;
  }

  /** The plain object the UI shows: {typed, kind, canonical, display, oprfInput}. */
  toJSON() {
    return { typed: this.typed, kind: this.kind, canonical: this.canonical, display: this.display() };
  }
}

// ---------------------------------------------------------------------------
// entry points

/**
 * Normalise one typed identifier or throw InvalidInput with the Python SDK's message.
 * opts: {kind, defaultRegion}. Returns an Identifier.
 */
export function normalise(raw, { kind = null, defaultRegion = null } = {}) {
  if (typeof raw !== 'string') throw new InvalidInput('an identifier must be text', { code: 'identifier.notText' });
  const region = checkRegion(defaultRegion);
  const typed = strip(raw);
  if (!typed) throw new InvalidInput('an identifier is empty; type an email address, phone number or profile', { code: 'identifier.empty' });
  checkText(typed, typed);
  let text = strip(nfkc(typed));
  checkText(text, typed);

  if (kind !== null && kind !== undefined) kind = checkKind(kind);
  else kind = null;
  const [prefixed, rest] = splitPrefix(text);
  if (prefixed !== null) {
    if (kind !== null && prefixed !== kind) {
      throw new InvalidInput(`${quote(typed)} says ${prefixed}: but was given as ${kind}; remove the prefix`,
        { code: 'identifier.prefix.conflict', params: { typed: quote(typed), prefixed, kind } });
    }
    kind = prefixed;
    text = rest;
    if (!text) {
      throw new InvalidInput(`nothing follows '${prefixed}:' in ${quote(typed)}`,
        { code: 'identifier.prefix.nothing', params: { prefixed, typed: quote(typed) } });
    }
  }
  if (kind === null) kind = detect(text, typed);

  let value;
  if (kind === 'email') value = email(text, typed);
  else if (kind === 'phone') value = phone(text, typed, region);
  else value = profile(PLATFORMS_BY_KIND[kind], text, typed);
  return new Identifier(kind, value, typed);
}

/** Normalise a list, dropping repeats (first wins); the first invalid one aborts with its position. */
export function normaliseMany(raws, { defaultRegion = null } = {}) {
  const out = [];
  const seen = new Set();
  raws.forEach((raw, i) => {
    let ident;
    try {
      ident = normalise(raw, { defaultRegion });
    } catch (exc) {
      if (exc instanceof InvalidInput) {
        const exc2 = exc.code ? phrase(exc.code, exc.message, exc.params) : exc.message;
        const wrapped = new InvalidInput(`identifier ${i + 1}: ${exc.message}`, { code: 'identifier.position', params: { position: i + 1, exc: exc2 } });
        wrapped.cause = exc;
        throw wrapped;
      }
      throw exc;
    }
    if (!seen.has(ident.canonical)) {
      seen.add(ident.canonical);
      out.push(ident);
    }
  });
  return out;
}

// ---------------------------------------------------------------------------
// shared checks

function quote(text) {
  const a = cps(text);
  const shown = a.length <= 60 ? a : [...a.slice(0, 57), '.', '.', '.'];
  return "'" + shown.map((c) => (isPrintable(c) ? c : '\\u' + c.codePointAt(0).toString(16).padStart(4, '0'))).join('') + "'";
}

function checkText(text, typed) {
  if (cpLen(text) > MAX_LENGTH) {
    throw new InvalidInput(`${quote(typed)} is longer than ${MAX_LENGTH} characters; `
      + 'type just the address, number or profile link', { code: 'identifier.tooLong', params: { typed: quote(typed), max: MAX_LENGTH } });
  }
  for (const c of text) {
    if (isCategoryC(c)) {
      const hex = c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
      throw new InvalidInput(`${quote(typed)} contains an invisible or control character `
        + `(U+${hex}); retype it rather than pasting`, { code: 'identifier.control', params: { typed: quote(typed), hex } });
    }
  }
}

let regions = null;
/** The regions both libphonenumber-js and Python's phonenumbers know (checked by the vectors). */
export function supportedRegions() {
  if (regions === null) regions = new Set(getCountries());
  return regions;
}

function checkRegion(region) {
  if (region === null || region === undefined) return null;
  if (typeof region !== 'string' || !supportedRegions().has(strip(region).toUpperCase())) {
    throw new InvalidInput(`unknown phone region ${pyRepr(region)}; use a two-letter country code such as GB or US`,
      { code: 'identifier.region.unknown', params: { region: pyRepr(region) } });
  }
  return strip(region).toUpperCase();
}

function checkKind(kind) {
  let k = typeof kind === 'string' ? lower(strip(kind)) : '';
  k = KIND_ALIASES.get(k) ?? k;
  if (!KINDS.includes(k)) {
    throw new InvalidInput(`unknown identifier kind ${pyRepr(kind)}; use one of: ${KINDS.join(', ')}`,
      { code: 'identifier.kind.unknownOf', params: { kind: pyRepr(kind), kinds: KINDS.join(', ') } });
  }
  return k;
}

function splitPrefix(text) {
  const at = text.indexOf(':');
  if (at < 0) return [null, text];
  let k = lower(strip(text.slice(0, at)));
  k = KIND_ALIASES.get(k) ?? k;
  if (KINDS.includes(k)) return [k, strip(text.slice(at + 1))];
  return [null, text];
}

const PHONE_CHARS = /^\+?[\p{Nd} ()\-./]+$/u;
const hasDigit = (s) => /\p{Nd}/u.test(s);
const count = (s, ch) => s.split(ch).length - 1;

function detect(text, typed) {
  if (text.startsWith('@') && count(text, '@') === 2 && !text.includes('/')) return 'mastodon';
  const url = asUrl(text, null);
  if (url !== null) return url.kind;
  if (text.includes('@') && !text.startsWith('@')) return 'email';
  if (PHONE_CHARS.test(text) && hasDigit(text)) return 'phone';
  if (removePrefix(lower(text), '@').endsWith('.bsky.social')) return 'bluesky';
  throw new InvalidInput(
    `cannot tell what kind of identifier ${quote(typed)} is; prefix it with its kind, `
    + 'e.g. instagram:@name, x:@name, tiktok:@name or email:name@example.com '
    + `(kinds: ${KINDS.join(', ')})`, { code: 'identifier.undetected', params: { typed: quote(typed), kinds: KINDS.join(', ') } });
}

const removePrefix = (s, p) => (s.startsWith(p) ? s.slice(p.length) : s);

// ---------------------------------------------------------------------------
// email

const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const GMAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);

function email(text, typed) {
  const bad = (why) => new InvalidInput(`${quote(typed)} is not a valid email address: ${why}`,
    { code: 'identifier.email.invalid', params: { typed: quote(typed), why } });
  if (cps(text).some((c) => isSpace(c))) throw bad(phrase('identifier.email.space', 'it contains a space; type only the address, e.g. name@example.com'));
  if (count(text, '@') !== 1) throw bad(phrase('identifier.email.oneAt', 'it must contain exactly one @, e.g. name@example.com'));
  let [local, domain] = text.split('@');
  if (!local) throw bad(phrase('identifier.email.localEmpty', 'nothing before the @'));
  if (cpLen(local) > 64) throw bad(phrase('identifier.email.localLong', 'the part before the @ is longer than 64 characters'));
  if (!isAscii(local)) throw bad(phrase('identifier.email.localAscii', 'only unaccented letters, digits and . _ + - are supported before the @'));
  const atoms = local.split('.');
  if (atoms.some((a) => !a)) throw bad(phrase('identifier.email.dots', 'dots before the @ cannot be first, last or doubled'));
  if (!atoms.every((a) => ATEXT.test(a))) {
    throw bad(phrase('identifier.email.localChars', 'it contains characters not allowed before the @ (quotes, commas, brackets...)'));
  }
  local = lower(local);
  if (!domain) throw bad(phrase('identifier.email.domainMissing', 'nothing after the @'));
  domain = domainName(domain, bad);
  if (GMAIL_DOMAINS.has(domain)) {
    local = local.split('+')[0].replaceAll('.', '');
    domain = 'gmail.com';
    if (!local) throw bad(phrase('identifier.email.gmail', 'a Gmail address needs letters or digits before the + or @'));
  }
  const address = `${local}@${domain}`;
  if (address.length > 254) throw bad(phrase('identifier.email.long', 'it is longer than 254 characters'));
  return address;
}

const IDNA_DEVIATIONS = /[\u00df\u03c2\u200c\u200d]/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Lower-case ASCII (punycode) domain with at least two valid labels; bad(why) builds the error. */
function domainName(text, bad) {
  const d = text.endsWith('.') ? text.slice(0, -1) : text;
  if (!d) throw bad(phrase('identifier.domain.empty', 'the domain is empty'));
  if (IDNA_DEVIATIONS.test(d)) throw bad(phrase('identifier.domain.deviation', 'the domain contains ß, ς or a zero-width joiner; type its xn-- form instead'));
  const labels = d.split('.');
  if (labels.length < 2) throw bad(phrase('identifier.domain.dot', 'the domain needs a dot, e.g. example.com'));
  const out = [];
  for (const label of labels) {
    if (!label) throw bad(phrase('identifier.domain.emptyPart', 'the domain has an empty part (two dots in a row?)'));
    let asciiLabel;
    if (isAscii(label)) {
      asciiLabel = lower(label);
    } else {
      try {
        asciiLabel = lower(idnaEncode(label));
      } catch (exc) {
        if (exc instanceof IdnaGap) throw bad(phrase('identifier.domain.gap', `${quote(label)} ${exc.message}`, { label: quote(label) }));
        if (exc instanceof IdnaError) throw bad(phrase('identifier.domain.label', `${quote(label)} is not a valid domain label`, { label: quote(label) }));
        throw exc;
      }
    }
    if (!LABEL.test(asciiLabel)) {
      throw bad(phrase('identifier.domain.labelChars', `${quote(label)} is not a valid domain label (letters, digits and inner hyphens only)`,
        { label: quote(label) }));
    }
    if (asciiLabel.startsWith('xn--')) {
      let roundtrip;
      try {
        roundtrip = idnaEncode(idnaDecode(asciiLabel));
      } catch (exc) {
        if (exc instanceof IdnaGap) throw bad(phrase('identifier.domain.gap', `${quote(label)} ${exc.message}`, { label: quote(label) }));
        if (!(exc instanceof IdnaError)) throw exc;
        roundtrip = null;
      }
      if (roundtrip !== asciiLabel) {
        throw bad(phrase('identifier.domain.labelIdn', `${quote(label)} is not a valid internationalised domain label`, { label: quote(label) }));
      }
    }
    out.push(asciiLabel);
  }
  if (/^[0-9]+$/.test(out[out.length - 1])) {
    throw bad(phrase('identifier.domain.ip', 'the domain must be a name, not an IP address'));
  }
  const result = out.join('.');
  if (result.length > 253) throw bad(phrase('identifier.domain.long', 'the domain is longer than 253 characters'));
  return result;
}

// ---------------------------------------------------------------------------
// IDNA2003 as Python's "idna" codec does it (encodings/idna.py): nameprep
// (RFC 3491 with Unicode 3.2 tables from unicode_tables.js) and punycode.

class IdnaError extends Error {}
/** The browser cannot be sure to match Python here (e.g. characters new since Unicode 3.2): refused. */
class IdnaGap extends Error {}

const idnaClassAt = runsTable(IDNA_CLASS_RUNS, 0, true);
const [C_UNASSIGNED, C_PROHIBITED, C_RANDAL, C_L] = [0, 1, 2, 3];
const B1_SET = new Set(B1.split(',').map((x) => parseInt(x, 36)));
const B2_MAP = new Map(B2_EXCEPTIONS.split(',').map((e) => {
  const [cp, mapped] = e.split(':');
  return [parseInt(cp, 36), mapped.split('.').map((x) => String.fromCodePoint(parseInt(x, 36))).join('')];
}));
// CJK compatibility ideographs whose decomposition changed after Unicode 3.2
// (Normalization Corrigendum 4): Python uses the 3.2 mapping, browsers the new one.
const CORRIGENDA = new Set([0xf951, 0x2f868, 0x2f874, 0x2f91f, 0x2f95f, 0x2f9bf]);
const GAP_MESSAGE = 'has characters this browser cannot check the way the Python SDK does '
  + '(changed since Unicode 3.2); type its xn-- form instead';

// Code points of a JS string, keeping lone surrogates (Python strings may hold them).
function codePoints(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i);
    out.push(c);
    if (c > 0xffff) i++;
  }
  return out;
}

const C_INERT = 5; // new since Unicode 3.2 but neutral under NFKC: Python passes it through, so do we
const unsure = (cp) => idnaClassAt(cp) === C_UNASSIGNED || CORRIGENDA.has(cp);

/** RFC 3491 nameprep exactly as encodings.idna.nameprep; throws IdnaGap where unsure. */
export function nameprep(label) {
  let mapped = '';
  for (const cp of codePoints(label)) {
    if (B1_SET.has(cp)) continue;
    if (unsure(cp)) throw new IdnaGap(GAP_MESSAGE);
    const ch = String.fromCodePoint(cp);
    mapped += B2_MAP.has(cp) ? B2_MAP.get(cp) : (cp >= 0xd800 && cp <= 0xdfff ? ch : ch.toLowerCase());
  }
  if (codePoints(mapped).some(unsure)) throw new IdnaGap(GAP_MESSAGE);
  const normal = mapped.normalize('NFKC');
  const points = codePoints(normal);
  for (const cp of points) {
    if (idnaClassAt(cp) === C_PROHIBITED) throw new IdnaError('Invalid character');
    if (unsure(cp)) throw new IdnaGap(GAP_MESSAGE);
  }
  const randal = points.map((cp) => idnaClassAt(cp) === C_RANDAL);
  if (randal.some(Boolean)) {
    if (points.some((cp) => idnaClassAt(cp) === C_L)) throw new IdnaError('Violation of BIDI requirement 2');
    if (!randal[0] || !randal[randal.length - 1]) throw new IdnaError('Violation of BIDI requirement 3');
  }
  return normal;
}

/** encodings.idna.ToASCII for one label (a string), returning ASCII text. */
function toAscii(label) {
  if (isAscii(label)) {
    if (label.length > 0 && label.length < 64) return label;
    throw new IdnaError('label empty or too long');
  }
  label = nameprep(label);
  if (isAscii(label)) {
    if (label.length > 0 && label.length < 64) return label;
    throw new IdnaError('label empty or too long');
  }
  if (label.startsWith('xn--')) throw new IdnaError('Label starts with ACE prefix');
  const out = 'xn--' + punycodeEncode(label);
  if (out.length > 0 && out.length < 64) return out;
  throw new IdnaError('label empty or too long');
}

/** str.encode("idna"): the codec splits on the four IDNA dots itself. */
export function idnaEncode(input) {
  if (!input) return '';
  if (isAscii(input)) {
    const labels = input.split('.');
    for (const l of labels.slice(0, -1)) if (!(l.length > 0 && l.length < 64)) throw new IdnaError('label empty or too long');
    if (labels[labels.length - 1].length >= 64) throw new IdnaError('label too long');
    return input;
  }
  const labels = input.split(/[.\u3002\uff0e\uff61]/);
  let trailing = '';
  if (labels.length && !labels[labels.length - 1]) {
    trailing = '.';
    labels.pop();
  }
  return labels.map(toAscii).join('.') + trailing;
}

/** bytes.decode("idna") of an ASCII string. */
export function idnaDecode(input) {
  if (!input) return '';
  if (!input.includes('xn--')) return input;
  const labels = input.split('.');
  let trailing = '';
  if (labels.length && !labels[labels.length - 1]) {
    trailing = '.';
    labels.pop();
  }
  return labels.map(toUnicode).join('.') + trailing;
}

function toUnicode(label) {
  if (label.length > 1024) throw new IdnaError('label way too long');
  if (!label.startsWith('xn--')) return label;
  const result = punycodeDecode(label.slice(4));
  const label2 = toAscii(result);
  if (lower(label) !== label2) throw new IdnaError('IDNA does not round-trip');
  return result;
}

// RFC 3492 punycode, as Python's encodings/punycode.py (including its decoder's leniency).
const BASE = 36;
const TMIN = 1;
const TMAX = 26;
const DIGITS = 'abcdefghijklmnopqrstuvwxyz0123456789';

function adapt(delta, first, numchars) {
  delta = first ? Math.floor(delta / 700) : Math.floor(delta / 2);
  delta += Math.floor(delta / numchars);
  let divisions = 0;
  while (delta > 455) {
    delta = Math.floor(delta / 35);
    divisions += 36;
  }
  return divisions + Math.floor((36 * delta) / (delta + 38));
}

function threshold(j, bias) {
  const res = 36 * (j + 1) - bias;
  return Math.min(Math.max(res, TMIN), TMAX);
}

function generalizedInteger(n, bias) {
  let out = '';
  for (let j = 0; ; j++) {
    const t = threshold(j, bias);
    if (n < t) return out + DIGITS[n];
    out += DIGITS[t + ((n - t) % (BASE - t))];
    n = Math.floor((n - t) / (BASE - t));
  }
}

/** Python's punycode_encode (segregate, insertion_unsort, generate_integers). */
export function punycodeEncode(text) {
  const points = codePoints(text);
  const base = points.filter((c) => c < 0x80);
  const extended = [...new Set(points.filter((c) => c >= 0x80))].sort((a, b) => a - b);
  const deltas = [];
  let oldchar = 0x80;
  let oldindex = -1;
  for (const char of extended) {
    let index = -1;
    let pos = -1;
    const curlen = points.filter((x) => x < char).length;
    let delta = (curlen + 1) * (char - oldchar);
    for (;;) {
      // selective_find
      let found = false;
      while (!found) {
        pos += 1;
        if (pos === points.length) break;
        const c = points[pos];
        if (c === char) {
          index += 1;
          found = true;
        } else if (c < char) {
          index += 1;
        }
      }
      if (!found) break;
      delta += index - oldindex;
      deltas.push(delta - 1);
      oldindex = index;
      delta = 0;
    }
    oldchar = char;
  }
  let ext = '';
  let bias = 72;
  deltas.forEach((delta, i) => {
    ext += generalizedInteger(delta, bias);
    bias = adapt(delta, i === 0, base.length + i + 1);
  });
  const head = String.fromCharCode(...base);
  return base.length ? head + '-' + ext : ext;
}

/** Python's punycode_decode with errors="strict". */
export function punycodeDecode(text) {
  const at = text.lastIndexOf('-');
  const base = at === -1 ? [] : codePoints(text.slice(0, at));
  const extended = (at === -1 ? text : text.slice(at + 1)).toUpperCase();
  let char = 0x80;
  let pos = -1;
  let bias = 72;
  let extpos = 0;
  while (extpos < extended.length) {
    const first = extpos === 0;
    let result = 0;
    let w = 1;
    for (let j = 0; ; j++) {
      if (extpos >= extended.length) throw new IdnaError('incomplete punycode string');
      const c = extended.charCodeAt(extpos);
      extpos++;
      let digit;
      if (c >= 0x41 && c <= 0x5a) digit = c - 0x41;
      else if (c >= 0x30 && c <= 0x39) digit = c - 22;
      else throw new IdnaError('Invalid extended code point');
      const t = threshold(j, bias);
      result += digit * w;
      if (digit < t) break;
      w *= 36 - t;
    }
    pos += result + 1;
    char += Math.floor(pos / (base.length + 1));
    if (char > 0x10ffff) throw new IdnaError('Invalid character');
    pos %= base.length + 1;
    base.splice(pos, 0, char);
    bias = adapt(result, first, base.length);
  }
  return base.map((c) => String.fromCodePoint(c)).join('');
}

// ---------------------------------------------------------------------------
// phone

function phone(text, typed, region) {
  const example = phrase('identifier.phone.example', `include the country code, e.g. ${PHONE_EXAMPLE}`, { example: PHONE_EXAMPLE });
  if (!PHONE_CHARS.test(text) || !hasDigit(text)) {
    throw new InvalidInput(`${quote(typed)} is not a valid phone number; use only digits, spaces `
      + `and a leading +, and ${example}`, { code: 'identifier.phone.chars', params: { typed: quote(typed), example } });
  }
  if (region === null && !text.startsWith('+')) {
    throw new InvalidInput(`${quote(typed)} has no country code; write it with + and the country code, `
      + `e.g. ${PHONE_EXAMPLE}`, { code: 'identifier.phone.noCountry', params: { typed: quote(typed), example: PHONE_EXAMPLE } });
  }
  let number;
  try {
    number = parsePhoneNumberWithError(asciiDigits(text), region ? { defaultCountry: region, extract: false } : { extract: false });
  } catch {
    throw new InvalidInput(`${quote(typed)} is not a valid phone number; ${example}`,
      { code: 'identifier.phone.invalid', params: { typed: quote(typed), example } });
  }
  if (number.ext || !number.isValid()) {
    if (region && !text.startsWith('+')) {
      throw new InvalidInput(`${quote(typed)} is not a valid phone number (read as a ${region} number); ${example}`,
        { code: 'identifier.phone.invalidIn', params: { typed: quote(typed), region, example } });
    }
    throw new InvalidInput(`${quote(typed)} is not a valid phone number; ${example}`,
      { code: 'identifier.phone.invalid', params: { typed: quote(typed), example } });
  }
  return number.number;
}

/** The value of a decimal digit of any script (Nd runs start at a zero and come in tens). */
function digitValue(d) {
  const cp = d.codePointAt(0);
  let zero = cp;
  while (/\p{Nd}/u.test(String.fromCodePoint(zero - 1))) zero--;
  return (cp - zero) % 10;
}

/** Decimal digits of any script to ASCII, as Python's phonenumbers reads them. */
function asciiDigits(text) {
  return text.replace(/\p{Nd}/gu, (d) => String(digitValue(d)));
}

/** For the interop tests only: the Unicode-dependent pieces, checked code point by code point. */
export const _internals = { isPrintable, isSpace, digitValue, IdnaGap, IdnaError };

// ---------------------------------------------------------------------------
// profile links

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** str.rstrip(chars) */
function rstrip(s, ch) {
  let j = s.length;
  while (j > 0 && s[j - 1] === ch) j--;
  return s.slice(0, j);
}

function stripHost(host) {
  host = rstrip(lower(host), '.');
  let changed = true;
  while (changed) {
    changed = false;
    for (const prefix of ['www.', 'm.', 'mobile.']) {
      if (host.startsWith(prefix) && count(host, '.') >= 2) {
        host = host.slice(prefix.length);
        changed = true;
      }
    }
  }
  return host;
}

function platformForHost(hostPart) {
  const host = stripHost(hostPart);
  if (HOSTS.has(host)) return HOSTS.get(host);
  const dot = host.indexOf('.');
  const sub = dot < 0 ? host : host.slice(0, dot);
  const parent = dot < 0 ? '' : host.slice(dot + 1);
  // country mirrors such as uk.linkedin.com
  if (COUNTRY_MIRRORED.has(parent) && /^[a-z]{2}$/.test(sub)) return COUNTRY_MIRRORED.get(parent);
  return null;
}

const HEX = /^[0-9A-Fa-f]{2}/;

/** urllib.parse.unquote (UTF-8, errors="replace"): only ASCII runs are percent-decoded. */
export function unquote(string) {
  if (!string.includes('%')) return string;
  return string.replace(/[\x00-\x7f]+/g, (run) => {
    const bits = run.split('%');
    if (bits.length === 1) return run;
    const bytes = [...new TextEncoder().encode(bits[0])];
    for (const item of bits.slice(1)) {
      if (HEX.test(item)) {
        bytes.push(parseInt(item.slice(0, 2), 16));
        bytes.push(...new TextEncoder().encode(item.slice(2)));
      } else {
        bytes.push(0x25, ...new TextEncoder().encode(item));
      }
    }
    return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(Uint8Array.from(bytes));
  });
}

/** urllib.parse.parse_qs(query) for one name: the list of its (non-blank) values. */
function queryValues(query, name) {
  const out = [];
  for (const nameValue of query.split('&')) {
    if (!nameValue) continue;
    const eq = nameValue.indexOf('=');
    if (eq < 0) continue;
    const value = nameValue.slice(eq + 1);
    if (!value.length) continue;
    if (unquote(nameValue.slice(0, eq).replaceAll('+', ' ')) === name) out.push(unquote(value.replaceAll('+', ' ')));
  }
  return out;
}

/** urlsplit("https://" + rest): {path, query, fragment}, or null where Python raises ValueError. */
function urlsplit(rest) {
  const m = /[/?#]/.exec(rest);
  const netloc = m ? rest.slice(0, m.index) : rest;
  let url = m ? rest.slice(m.index) : '';
  if (netloc.includes('[') !== netloc.includes(']')) return null;
  if (netloc.includes('[')) {
    const bracketed = netloc.slice(netloc.indexOf('[') + 1).split(']')[0];
    // ipaddress.ip_address cannot accept a host without ':' except IPv4, which is refused in brackets
    if (!bracketed.startsWith('v') || !/^v[a-fA-F0-9]+\..+$/u.test(bracketed) || /[\n]/.test(bracketed)) return null;
  }
  let fragment = '';
  let query = '';
  const hash = url.indexOf('#');
  if (hash >= 0) {
    fragment = url.slice(hash + 1);
    url = url.slice(0, hash);
  }
  const q = url.indexOf('?');
  if (q >= 0) {
    query = url.slice(q + 1);
    url = url.slice(0, q);
  }
  return { path: url, query, fragment };
}

function stripChar(s, ch) {
  let i = 0;
  let j = s.length;
  while (i < j && s[i] === ch) i++;
  while (j > i && s[j - 1] === ch) j--;
  return s.slice(i, j);
}

function asUrl(text, kind) {
  const m = SCHEME.exec(text);
  let rest;
  if (m) {
    if (!['http', 'https'].includes(m[1].toLowerCase())) {
      throw new InvalidInput(`${quote(text)} is not a web link; copy the profile's https:// address`,
        { code: 'identifier.link.notWeb', params: { text: quote(text) } });
    }
    rest = text.slice(m[0].length);
  } else {
    rest = text;
  }
  const hostPart = rest.split(/[/?#]/)[0];
  const host = stripHost(hostPart);
  let platform = isAscii(hostPart) ? platformForHost(hostPart) : null;
  if (!m) {
    if (platform === null && !SHORT_HOSTS.has(host)) return null;
    if (kind !== null && !rest.includes('/')) return null;
  }
  if (hostPart.includes('@') || hostPart.includes(':')) {
    throw new InvalidInput(`${quote(text)} has a user name or port in the link; copy the profile `
      + 'address exactly as the browser shows it', { code: 'identifier.link.userPort', params: { text: quote(text) } });
  }
  if (SHORT_HOSTS.has(host)) {
    throw new InvalidInput(`${quote(text)} is a shortened link; open it in a browser and copy the `
      + 'address of the profile it leads to', { code: 'identifier.link.short', params: { text: quote(text) } });
  }
  if (platform === null) {
    if (kind === 'mastodon') {
      platform = 'mastodon';
    } else {
      const mastodon = rest.includes('/@');
      const hint = mastodon ? ' if it is a Mastodon profile, type mastodon: before it;' : '';
      throw new InvalidInput(`${quote(text)} is not a link to a platform we recognise;${hint} `
        + `supported kinds: ${KINDS.join(', ')}`,
      { code: mastodon ? 'identifier.link.unknownMastodon' : 'identifier.link.unknown', params: { text: quote(text), kinds: KINDS.join(', ') } });
    }
  }
  const parts = urlsplit(rest);
  if (parts === null) throw new InvalidInput(`${quote(text)} is not a well-formed link`, { code: 'identifier.link.malformed', params: { text: quote(text) } });
  const path = stripChar(parts.path, '/');
  let segments = path ? path.split('/') : [];
  if (segments.some((s) => !s)) {
    throw new InvalidInput(`${quote(text)} is not a well-formed link (it contains '//')`,
      { code: 'identifier.link.doubleSlash', params: { text: quote(text) } });
  }
  segments = segments.map((s) => nfkc(unquote(s)));
  return { kind: platform, host: rstrip(lower(hostPart), '.'), segments, query: parts.query, fragment: parts.fragment };
}

function profile(platform, text, typed) {
  const url = asUrl(text, platform.kind);
  if (url === null) return platform.parseName(platform, text, typed);
  if (url.kind !== platform.kind) {
    throw new InvalidInput(`${quote(typed)} is a ${PLATFORMS_BY_KIND[url.kind].label} link, not ${platform.label}; `
      + `type ${url.kind}: in front of it or remove the ${platform.kind}: prefix`, {
      code: 'identifier.link.otherPlatform',
      params: { typed: quote(typed), link_label: PLATFORMS_BY_KIND[url.kind].label, label: platform.label, kind: url.kind, platform_kind: platform.kind },
    });
  }
  return platform.parseUrl(platform, url, typed);
}

// What a link shows when it is not a profile, and why a name is not one: pieces of the sentences below.
const WHAT = Object.freeze({
  notProfile: phrase('identifier.what.notProfile', 'a page that is not a profile'),
  home: phrase('identifier.what.home', 'the home page'),
  singlePost: phrase('identifier.what.singlePost', 'a single post'),
  post: phrase('identifier.what.post', 'a post'),
  page: phrase('identifier.what.page', 'a page'),
  profilePhp: phrase('identifier.what.profilePhp', 'a profile.php page without a numeric id='),
  pub: phrase('identifier.what.pub', 'an old-style /pub/ page; open it and copy the new /in/ address'),
  company: phrase('identifier.what.company', 'a company, school or other page that is not a person'),
  video: phrase('identifier.what.video', 'a single video'),
  repository: phrase('identifier.what.repository', 'a repository or page'),
  oldChannel: phrase('identifier.what.oldChannel', 'an old-style /c/ or /user/ address; open it and copy the '
    + 'address with @handle or /channel/UC...'),
  subreddit: phrase('identifier.what.subreddit', 'a subreddit or post'),
  groupInvite: phrase('identifier.what.groupInvite', 'a group invite'),
  message: phrase('identifier.what.message', 'a single message'),
});
const WHY = Object.freeze({
  profileId: phrase('identifier.handle.profileId', 'a profile id is digits only'),
  dottedDigits: phrase('identifier.handle.dottedDigits', 'dotted digits are ambiguous; copy the profile link instead'),
  channelId: phrase('identifier.handle.channelId', 'a channel id is UC followed by 22 letters, digits, - or _'),
  did: phrase('identifier.handle.did', 'a DID looks like did:plc: followed by 24 lower-case letters/digits'),
});

/** A platform's rule for its names, as a phrase (identifier.rule.<kind>). */
const ruleOf = (platform) => phrase(`identifier.rule.${platform.kind}`, platform.rule);

function notProfile(platform, typed, what = WHAT.notProfile) {
  return new InvalidInput(`${quote(typed)} links to ${what} on ${platform.label}; open the person's profile `
    + `and copy its address, e.g. ${platform.example}`,
  { code: 'identifier.link.notProfile', params: { typed: quote(typed), what, label: platform.label, example: platform.example } });
}

/** RULE: a phrase (a platform's own rule when left out). */
function badHandle(platform, typed, rule = ruleOf(platform)) {
  return new InvalidInput(`${quote(typed)} is not a valid ${platform.label} name: ${rule}`,
    { code: 'identifier.handle.invalid', params: { typed: quote(typed), label: platform.label, rule } });
}

/** For host/<name>[/<tab>] platforms: the name, or a clear refusal. */
function oneProfileSegment(platform, url, typed) {
  const segs = url.segments;
  if (!segs.length) throw notProfile(platform, typed, WHAT.home);
  const first = lower(segs[0]);
  if (platform.posts.has(first)) throw notProfile(platform, typed, WHAT.singlePost);
  if (platform.reserved.has(first)) throw notProfile(platform, typed);
  if (segs.length === 1 || (segs.length === 2 && platform.tabs.has(lower(segs[1])))) return segs[0];
  if (segs.length >= 2 && ['status', 'statuses', 'posts', 'post', 'p', 'video'].includes(lower(segs[1]))) {
    throw notProfile(platform, typed, WHAT.singlePost);
  }
  throw notProfile(platform, typed);
}

/** Strip one leading @, lower-case (these platforms ignore case), check against the pattern. */
function handle(platform, text, typed) {
  const name = lower(removePrefix(text, '@'));
  if (!platform.patternRe.test(name)) throw badHandle(platform, typed);
  return name;
}

function handleUrl(platform, url, typed) {
  return platform.parseName(platform, oneProfileSegment(platform, url, typed), typed);
}

const at = (value) => '@' + value;

// ---------------------------------------------------------------------------
// the parsers of platforms that the generic ones above do not fit

function xUrl(platform, url, typed) {
  if (!url.segments.length && url.fragment.startsWith('!/')) { // old twitter.com/#!/name links
    url = { ...url, segments: stripChar(url.fragment.slice(2), '/').split('/'), query: '', fragment: '' };
  }
  return handleUrl(platform, url, typed);
}

const FB_ID = /^[0-9]{1,20}$/;
const intString = (digits) => BigInt(digits).toString();
/** username (dots removed: Facebook ignores them) or id:<digits>. */
function facebook(platform, text, typed) {
  let name = lower(removePrefix(text, '@'));
  if (name.startsWith('id:')) {
    name = name.slice(3);
    if (!FB_ID.test(name)) throw badHandle(platform, typed, WHY.profileId);
  }
  if (FB_ID.test(name)) return `id:${intString(name)}`;
  if (!/^[a-z0-9.]+$/.test(name)) throw badHandle(platform, typed);
  name = name.replaceAll('.', '');
  if (!(name.length >= 5 && name.length <= 50)) throw badHandle(platform, typed);
  if (/^[0-9]+$/.test(name)) throw badHandle(platform, typed, WHY.dottedDigits);
  return name;
}
function facebookUrl(platform, url, typed) {
  const segs = url.segments;
  if (segs.length && lower(segs[0]) === 'profile.php') {
    const ids = queryValues(url.query, 'id');
    if (ids.length !== 1 || !FB_ID.test(ids[0])) throw notProfile(platform, typed, WHAT.profilePhp);
    return `id:${intString(ids[0])}`;
  }
  if (segs.length && lower(segs[0]) === 'people') {
    if (segs.length >= 3 && FB_ID.test(segs[2])) return `id:${intString(segs[2])}`;
    throw notProfile(platform, typed);
  }
  return handleUrl(platform, url, typed);
}
const facebookShown = (value) => (value.startsWith('id:') ? `profile id ${value.slice(3)}` : at(value));

// Python's [^\W_]: str.isalnum(), i.e. letters (L*) and numbers (N*) in Python's Unicode version.
const LI_SLUG = /^[\p{L}\p{N}](?:[\p{L}\p{N}]|-){2,99}$/u;
/** The /in/<slug> part, lower-cased; stable under NFKC + lower-casing so it re-normalises to itself. */
function linkedin(platform, text, typed) {
  let name = removePrefix(text, '@');
  let low = lower(name);
  if (low.startsWith('/')) {
    name = name.slice(1);
    low = low.slice(1);
  }
  if (low.startsWith('in/')) name = rstrip(name.slice(3), '/');
  const slug = nfkc(lower(nfkc(name)));
  if (slug !== nfkc(lower(slug)) || !LI_SLUG.test(slug) || cps(slug).some(isCategoryC)) {
    throw badHandle(platform, typed);
  }
  return slug;
}
function linkedinUrl(platform, url, typed) {
  const segs = url.segments;
  if (!segs.length) throw notProfile(platform, typed, WHAT.home);
  const first = lower(segs[0]);
  if (first === 'pub') throw notProfile(platform, typed, WHAT.pub);
  if (first === 'posts' || first === 'feed') throw notProfile(platform, typed, WHAT.post);
  if (first !== 'in' || segs.length < 2) throw notProfile(platform, typed, WHAT.company);
  if (segs.length > 2 && !platform.tabs.has(lower(segs[2]))) throw notProfile(platform, typed);
  return platform.parseName(platform, segs[1], typed);
}

function tiktokUrl(platform, url, typed) {
  const segs = url.segments;
  if (!segs.length) throw notProfile(platform, typed, WHAT.home);
  if (!segs[0].startsWith('@')) throw notProfile(platform, typed);
  if (segs.length > 1) throw notProfile(platform, typed, WHAT.video);
  return platform.parseName(platform, segs[0], typed);
}

function githubUrl(platform, url, typed) {
  const segs = url.segments;
  if (segs.length >= 2 && !platform.reserved.has(lower(segs[0]))) throw notProfile(platform, typed, WHAT.repository);
  return handleUrl(platform, url, typed);
}

const YT_CHANNEL = /^UC[A-Za-z0-9_-]{22}$/;
/** @handle (lower-cased) or a channel id UC… (case kept: ids are case-sensitive). */
function youtube(platform, text, typed) {
  if (!text.startsWith('@') && YT_CHANNEL.test(text)) return text;
  return '@' + handle(platform, text, typed);
}
function youtubeUrl(platform, url, typed) {
  const segs = url.segments;
  if (!segs.length) throw notProfile(platform, typed, WHAT.home);
  const first = segs[0];
  const low = lower(first);
  if (low === 'c' || low === 'user') {
    throw notProfile(platform, typed, WHAT.oldChannel);
  }
  if (['watch', 'shorts', 'live', 'embed', 'v'].includes(low)) throw notProfile(platform, typed, WHAT.video);
  let name;
  let rest;
  if (first.startsWith('@')) {
    [name, rest] = [first, segs.slice(1)];
  } else if (low === 'channel' && segs.length >= 2) {
    [name, rest] = [segs[1], segs.slice(2)];
    if (!YT_CHANNEL.test(name)) throw badHandle(platform, typed, WHY.channelId);
  } else {
    throw notProfile(platform, typed);
  }
  if (rest.length > 1 || (rest.length && !platform.tabs.has(lower(rest[0])))) throw notProfile(platform, typed);
  return platform.parseName(platform, name, typed);
}
const youtubeShown = (value) => (value.startsWith('@') ? value : `channel ${value}`);

function reddit(platform, text, typed) {
  let name = removePrefix(text, '/');
  const low = lower(name);
  for (const prefix of ['u/', 'user/']) {
    if (low.startsWith(prefix)) {
      name = rstrip(name.slice(prefix.length), '/');
      break;
    }
  }
  return handle(platform, name, typed);
}
function redditUrl(platform, url, typed) {
  const segs = url.segments;
  if (!segs.length) throw notProfile(platform, typed, WHAT.home);
  const first = lower(segs[0]);
  if (first === 'r') throw notProfile(platform, typed, WHAT.subreddit);
  if ((first !== 'u' && first !== 'user') || segs.length < 2) throw notProfile(platform, typed);
  if (segs.length > 3 || (segs.length === 3 && !platform.tabs.has(lower(segs[2])))) throw notProfile(platform, typed);
  return platform.parseName(platform, segs[1], typed);
}

function snapchatUrl(platform, url, typed) {
  const segs = url.segments;
  if (segs.length === 2 && lower(segs[0]) === 'add') return platform.parseName(platform, segs[1], typed);
  if (segs.length === 1 && segs[0].startsWith('@')) return platform.parseName(platform, segs[0], typed);
  throw notProfile(platform, typed);
}

function telegramUrl(platform, url, typed) {
  const segs = url.segments;
  if (!segs.length) throw notProfile(platform, typed, WHAT.home);
  const first = lower(segs[0]);
  if (first.startsWith('+') || first === 'joinchat') throw notProfile(platform, typed, WHAT.groupInvite);
  if (platform.reserved.has(first)) throw notProfile(platform, typed);
  if (segs.length > 1) throw notProfile(platform, typed, WHAT.message);
  return platform.parseName(platform, segs[0], typed);
}

const MD_USER = /^[a-z0-9_](?:[a-z0-9_.-]{0,62}[a-z0-9_])?$/;
/** user@instance: the instance is part of the identity, so it is required, never assumed. */
function mastodon(platform, text, typed) {
  const name = removePrefix(text, '@');
  if (count(name, '@') !== 1) throw badHandle(platform, typed);
  let [user, host] = name.split('@');
  user = lower(user);
  if (!MD_USER.test(user)) throw badHandle(platform, typed, phrase('identifier.handle.mastodonName',
    `the name is letters, digits and underscores; ${platform.rule}`, { rule: ruleOf(platform) }));
  host = domainName(host, (why) => badHandle(platform, typed, phrase('identifier.handle.instance',
    `the instance is not a domain (${why})`, { why })));
  return `${user}@${host}`;
}
function mastodonUrl(platform, url, typed) {
  const segs = url.segments;
  if (segs.length && segs[0].startsWith('@')) {
    if (segs.length > 2 || (segs.length === 2 && !platform.tabs.has(lower(segs[1])))) {
      throw notProfile(platform, typed, segs.length === 2 ? WHAT.singlePost : WHAT.page);
    }
    const name = segs[0];
    return platform.parseName(platform, count(name, '@') === 2 ? name : `${name}@${url.host}`, typed);
  }
  if (segs.length === 2 && lower(segs[0]) === 'users') return platform.parseName(platform, `${segs[1]}@${url.host}`, typed);
  throw notProfile(platform, typed);
}

const BS_RESERVED_TLDS = new Set(['alt', 'arpa', 'example', 'internal', 'invalid', 'local', 'localhost', 'onion']);
/** A domain handle or a did:plc:/did:web: id; a handle without a dot is refused, never completed. */
function bluesky(platform, text, typed) {
  const rule = ruleOf(platform);
  const name = removePrefix(text, '@');
  if (lower(name).startsWith('did:')) {
    if (/^did:plc:[a-z2-7]{24}$/.test(name)) return name;
    if (name.startsWith('did:web:')) return 'did:web:' + domainName(name.slice(8), (why) => badHandle(platform, typed, why));
    throw badHandle(platform, typed, WHY.did);
  }
  if (!name.includes('.')) throw badHandle(platform, typed, phrase('identifier.handle.dot', `${rule}; include the part after the dot`, { rule }));
  const h = domainName(name, (why) => badHandle(platform, typed, phrase('identifier.handle.ruleWhy', `${rule} (${why})`, { rule, why })));
  if (BS_RESERVED_TLDS.has(h.slice(h.lastIndexOf('.') + 1))) throw badHandle(platform, typed, rule);
  return h;
}
function blueskyUrl(platform, url, typed) {
  const segs = url.segments;
  if (segs.length >= 2 && lower(segs[0]) === 'profile') {
    if (segs.length === 2) return platform.parseName(platform, segs[1], typed);
    if (lower(segs[2]) === 'post') throw notProfile(platform, typed, WHAT.singlePost);
  }
  throw notProfile(platform, typed);
}
const blueskyShown = (value) => (value.startsWith('did:') ? value : at(value));

const phoneShown = (value) => parsePhoneNumberWithError(value).formatInternational();

// ---------------------------------------------------------------------------
// the registry

/**
 * One frozen record per kind, with protocol/identifiers.py's Platform fields
 * (camelCase): kind, label, example, menuLabel, hint, menuPosition, aliases,
 * hosts, shortHosts, countrySubdomains, pattern, rule, reserved, tabs, posts
 * (the data, equal to Python's by the vectors) and parseName, parseUrl, show
 * (the code, ported by hand). Email and phone are not profiles: normalise
 * parses those two itself, so their parsers are never called.
 */
function platform({
  kind, label, example, menuLabel, hint, menuPosition, aliases = [], hosts = [], shortHosts = [],
  countrySubdomains = false, pattern = '', rule = '', reserved = [], tabs = [], posts = [],
  parseName = handle, parseUrl = handleUrl, show = at,
}) {
  return Object.freeze({
    kind, label, example, menuLabel, hint, menuPosition,
    aliases: Object.freeze([...aliases]), hosts: Object.freeze([...hosts]), shortHosts: Object.freeze([...shortHosts]),
    countrySubdomains, pattern, rule, reserved: new Set(reserved), tabs: new Set(tabs), posts: new Set(posts),
    parseName, parseUrl, show,
    patternRe: new RegExp(`^(?:${pattern})$`),
  });
}

/** Every kind of identifier we can name someone by; the order is KINDS' (and messages'). */
export const PLATFORMS = Object.freeze([
  platform({
    kind: 'email', label: 'email', example: 'name@example.com', menuLabel: 'Email address',
    hint: 'name@example.com', menuPosition: 1, aliases: ['mailto'], show: (value) => value,
  }),
  platform({
    kind: 'phone', label: 'phone', example: '+44 20 7946 0958', menuLabel: 'Phone number',
    hint: '020 7946 0958, or +44 20 7946 0958 with the country code', menuPosition: 2, aliases: ['tel'],
    show: phoneShown,
  }),
  platform({
    kind: 'x', label: 'X (Twitter)', example: 'https://x.com/name', menuLabel: 'X (Twitter)',
    hint: '@name or x.com/name', menuPosition: 5, aliases: ['twitter'], hosts: ['x.com', 'twitter.com'],
    shortHosts: ['t.co'], pattern: '[a-z0-9_]{1,15}', rule: '1-15 letters, digits or underscores',
    reserved: ['home', 'explore', 'notifications', 'messages', 'search', 'settings', 'i', 'intent',
      'share', 'hashtag', 'login', 'logout', 'signup', 'tos', 'privacy', 'compose', 'jobs',
      'about', 'download', 'account', 'lists', 'communities', 'topics', 'search-advanced'],
    tabs: ['with_replies', 'media', 'likes', 'highlights', 'articles', 'followers', 'following',
      'verified_followers'],
    parseUrl: xUrl,
  }),
  platform({
    kind: 'instagram', label: 'Instagram', example: 'https://instagram.com/name', menuLabel: 'Instagram',
    hint: '@name or instagram.com/name', menuPosition: 3, hosts: ['instagram.com', 'instagr.am'],
    pattern: '[a-z0-9._]{1,30}', rule: '1-30 letters, digits, dots or underscores',
    reserved: ['stories', 'explore', 'accounts', 'direct', 'about', 'developer', 'legal', 'web',
      'challenge', 'emails', 'session', 'api', 'directory'],
    tabs: ['tagged', 'reels', 'saved', 'guides'],
    posts: ['p', 'reel', 'reels', 'tv'],
  }),
  platform({
    kind: 'facebook', label: 'Facebook', example: 'https://facebook.com/name', menuLabel: 'Facebook',
    hint: 'facebook.com/name', menuPosition: 4,
    hosts: ['facebook.com', 'fb.com', 'web.facebook.com', 'touch.facebook.com', 'mbasic.facebook.com'],
    shortHosts: ['fb.me', 'fb.watch'],
    rule: 'at least 5 letters or digits (dots are ignored), or a numeric profile id',
    reserved: ['groups', 'pages', 'pg', 'events', 'watch', 'marketplace', 'gaming', 'photo.php',
      'photo', 'photos', 'story.php', 'permalink.php', 'hashtag', 'login', 'share',
      'sharer', 'sharer.php', 'reel', 'reels', 'stories', 'help', 'settings', 'messages',
      'notifications', 'friends', 'bookmarks', 'search', 'places', 'fundraisers', 'media',
      'plugins', 'dialog', 'l.php', 'home.php', 'business', 'privacy', 'policies',
      'legal', 'video.php', 'videos', 'posts'],
    tabs: ['about', 'photos', 'friends', 'videos', 'posts', 'reels', 'followers', 'following'],
    parseName: facebook, parseUrl: facebookUrl, show: facebookShown,
  }),
  platform({
    kind: 'linkedin', label: 'LinkedIn', example: 'https://linkedin.com/in/name', menuLabel: 'LinkedIn',
    hint: 'linkedin.com/in/name', menuPosition: 6, hosts: ['linkedin.com'], shortHosts: ['lnkd.in'],
    countrySubdomains: true, rule: '3-100 letters, digits or hyphens, as in linkedin.com/in/name',
    tabs: ['details', 'recent-activity', 'overlay'],
    parseName: linkedin, parseUrl: linkedinUrl, show: (value) => `in/${value}`,
  }),
  platform({
    kind: 'tiktok', label: 'TikTok', example: 'https://tiktok.com/@name', menuLabel: 'TikTok', hint: '@name',
    menuPosition: 7, hosts: ['tiktok.com'], shortHosts: ['vm.tiktok.com', 'vt.tiktok.com'],
    pattern: '[a-z0-9._]{2,24}', rule: '2-24 letters, digits, dots or underscores', parseUrl: tiktokUrl,
  }),
  platform({
    kind: 'github', label: 'GitHub', example: 'https://github.com/name', menuLabel: 'GitHub', hint: 'name',
    menuPosition: 12, hosts: ['github.com'], pattern: '[a-z0-9][a-z0-9-]{0,38}',
    rule: '1-39 letters, digits or hyphens, not starting with a hyphen',
    reserved: ['orgs', 'settings', 'marketplace', 'explore', 'topics', 'sponsors', 'login',
      'features', 'pricing', 'about', 'notifications', 'pulls', 'issues', 'search', 'new',
      'organizations', 'enterprise', 'collections', 'trending', 'apps', 'site',
      'security', 'contact', 'team', 'readme', 'codespaces', 'join', 'signup', 'logout'],
    parseUrl: githubUrl,
  }),
  platform({
    kind: 'youtube', label: 'YouTube', example: 'https://youtube.com/@name', menuLabel: 'YouTube', hint: '@name',
    menuPosition: 10, hosts: ['youtube.com'], shortHosts: ['youtu.be'], pattern: '[a-z0-9._-]{3,30}',
    rule: 'an @handle of 3-30 letters, digits, dots, hyphens or underscores, or a channel id UC...',
    tabs: ['videos', 'shorts', 'streams', 'playlists', 'community', 'about', 'featured', 'live',
      'podcasts', 'posts', 'releases', 'store', 'courses'],
    parseName: youtube, parseUrl: youtubeUrl, show: youtubeShown,
  }),
  platform({
    kind: 'reddit', label: 'Reddit', example: 'https://reddit.com/user/name', menuLabel: 'Reddit', hint: 'u/name',
    menuPosition: 11, hosts: ['reddit.com', 'old.reddit.com', 'new.reddit.com', 'np.reddit.com'],
    shortHosts: ['redd.it'], pattern: '[a-z0-9_-]{3,20}',
    rule: '3-20 letters, digits, hyphens or underscores, as in u/name',
    tabs: ['submitted', 'comments', 'overview', 'posts', 'about'],
    parseName: reddit, parseUrl: redditUrl, show: (value) => `u/${value}`,
  }),
  platform({
    kind: 'snapchat', label: 'Snapchat', example: 'https://snapchat.com/add/name', menuLabel: 'Snapchat',
    hint: 'name', menuPosition: 8, hosts: ['snapchat.com'], pattern: '[a-z][a-z0-9._-]{2,14}',
    rule: '3-15 letters, digits, dots, hyphens or underscores, starting with a letter',
    parseUrl: snapchatUrl,
  }),
  platform({
    kind: 'telegram', label: 'Telegram', example: 'https://t.me/name', menuLabel: 'Telegram',
    hint: '@name or t.me/name', menuPosition: 9, hosts: ['t.me', 'telegram.me', 'telegram.dog'],
    pattern: '[a-z][a-z0-9_]{4,31}', rule: '5-32 letters, digits or underscores, starting with a letter',
    reserved: ['addstickers', 'addemoji', 'share', 'proxy', 'socks', 'iv', 'addtheme', 'setlanguage',
      'c', 's', 'login', 'confirmphone', 'boost', 'bg', 'invoice'],
    parseUrl: telegramUrl,
  }),
  platform({
    kind: 'mastodon', label: 'Mastodon', example: '@name@mastodon.social', menuLabel: 'Mastodon',
    hint: '@name@mastodon.social', menuPosition: 13,
    rule: 'write it as @name@instance, e.g. @alice@mastodon.social',
    tabs: ['with_replies', 'media', 'following', 'followers', 'tagged'],
    parseName: mastodon, parseUrl: mastodonUrl,
  }),
  platform({
    kind: 'bluesky', label: 'Bluesky', example: 'https://bsky.app/profile/name.bsky.social', menuLabel: 'Bluesky',
    hint: 'name.bsky.social', menuPosition: 14, aliases: ['bsky'], hosts: ['bsky.app'],
    rule: 'a full handle such as name.bsky.social or a custom domain',
    parseName: bluesky, parseUrl: blueskyUrl, show: blueskyShown,
  }),
]);

/** Name -> kind; a name claimed twice is a mistake in the registry, caught at load. */
function index(names) {
  const out = new Map();
  for (const p of PLATFORMS) {
    for (const name of names(p)) {
      if (out.has(name)) throw new Error(`${pyRepr(name)} belongs to both ${out.get(name)} and ${p.kind}`);
      out.set(name, p.kind);
    }
  }
  return out;
}

// Every prefix read as a kind, the kinds' own names included (so an alias cannot shadow a kind).
const KIND_ALIASES = index((p) => [p.kind, ...p.aliases]);
const HOSTS = index((p) => p.hosts);
const SHORT_HOSTS = new Set(index((p) => p.shortHosts).keys());
const COUNTRY_MIRRORED = new Map(PLATFORMS.filter((p) => p.countrySubdomains)
  .flatMap((p) => p.hosts.map((host) => [host, p.kind])));

/** kind -> its record (frozen, no prototype, so a typed kind such as 'constructor' finds nothing). */
export const PLATFORMS_BY_KIND = Object.freeze(Object.assign(Object.create(null),
  Object.fromEntries(PLATFORMS.map((p) => [p.kind, p]))));

/** Every kind of identifier we can name someone by, in display order. */
export const KINDS = Object.freeze(PLATFORMS.map((p) => p.kind));

export const PHONE_EXAMPLE = PLATFORMS_BY_KIND.phone.example;
