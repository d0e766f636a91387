// The protocol-level SDK modules against the Python SDK, through the shared
// vectors (tests/vectors/interop.json "protocol", made by
// tests/vectors/sections/protocol.py): identifiers, Unicode data, entry
// bodies, the signed deployment document, receipts, and the API client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { VECTORS, hx } from './helpers.js';
import { InvalidInput, VerificationError } from '../src/sdk/errors.js';
import { hexEncode } from '../src/sdk/encoding.js';
import * as ids from '../src/sdk/identifiers.js';
import * as body from '../src/sdk/body.js';

const P = VECTORS.protocol;

// Display strings are for people only (never protocol input). libphonenumber-js
// writes every separator of an international number as a space where Python's
// phonenumbers keeps the metadata's '-' or '.': compare phone displays modulo that.
const phoneDisplay = (s) => s.replace(/[-.]/g, ' ');

function outcome(run) {
  try {
    return run();
  } catch (exc) {
    if (!(exc instanceof InvalidInput)) throw exc;
    return { error: exc.message };
  }
}

test('identifiers: every corpus input gives Python\'s canonical form, OPRF input or refusal', () => {
  const failures = [];
  for (const c of P.identifiers.cases) {
    const got = outcome(() => {
      const i = ids.normalise(c.input, { kind: c.kind ?? null, defaultRegion: c.region ?? null });
      return { canonical: i.canonical, typed: i.typed, oprf_input: hexEncode(i.oprfInput), display: i.display() };
    });
    const want = c.error !== undefined ? { error: c.error }
      : { canonical: c.canonical, typed: c.typed, oprf_input: c.oprf_input, display: c.display };
    if (want.display && want.canonical.startsWith('phone:')) {
      want.display = phoneDisplay(want.display);
      got.display = got.display && phoneDisplay(got.display);
    }
    try {
      assert.deepEqual(got, want);
    } catch {
      failures.push({ input: c.input, kind: c.kind, region: c.region, want, got });
    }
  }
  assert.ok(P.identifiers.cases.length > 5000);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${P.identifiers.cases.length} differ`);
});

test('identifiers: normaliseMany drops repeats and names the failing position', () => {
  for (const c of P.identifiers.many) {
    const got = outcome(() => ({ canonical: ids.normaliseMany(c.inputs, { defaultRegion: c.region }).map((i) => i.canonical) }));
    assert.deepEqual(got, c.error !== undefined ? { error: c.error } : { canonical: c.canonical });
  }
});

test('identifiers: constants and regions are Python\'s', () => {
  assert.equal(ids.MAX_LENGTH, P.identifiers.max_length);
  assert.deepEqual([...ids.KINDS], P.identifiers.kinds);
  assert.deepEqual([...ids.supportedRegions()].sort(), P.unicode.regions);
  assert.throws(() => ids.normalise(5), /an identifier must be text/);
  const i = ids.normalise('Dana.Smith@Example.com');
  assert.deepEqual(i.toJSON(), { typed: 'Dana.Smith@Example.com', kind: 'email', canonical: 'email:dana.smith@example.com',
    display: 'email dana.smith@example.com' });
});

function digest(lines) {
  const h = createHash('sha256');
  for (const line of lines) h.update(line + '\n');
  return h.digest('hex');
}
const hex = (cp) => cp.toString(16);
const cpsOf = (s) => Array.from(s, (c) => hex(c.codePointAt(0))).join('.');
function* assignedNotC() {
  for (let cp = 0; cp < 0x110000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (!ids.isCategoryC(String.fromCodePoint(cp))) yield cp;
  }
}

test('unicode: lower-casing, NFKC, letters/numbers, digits, spaces and printability match Python per code point', () => {
  const cps = [...assignedNotC()];
  const ch = (cp) => String.fromCodePoint(cp);
  assert.equal(digest(cps.map((cp) => `${hex(cp)}:${cpsOf(ch(cp).toLowerCase())}`)), P.unicode.lower, 'lower');
  assert.equal(digest(cps.map((cp) => `${hex(cp)}:${cpsOf(ch(cp).normalize('NFKC'))}`)), P.unicode.nfkc, 'NFKC');
  assert.equal(digest(cps.filter((cp) => /^[\p{L}\p{N}]$/u.test(ch(cp))).map(hex)), P.unicode.alnum, 'isalnum');
  assert.equal(digest(cps.filter((cp) => /^\p{Nd}$/u.test(ch(cp))).map((cp) => `${hex(cp)}:${ids._internals.digitValue(ch(cp))}`)),
    P.unicode.decimal, 'decimal digits');
  const all = [];
  for (let cp = 0; cp < 0x110000; cp++) all.push(cp);
  const str = (cp) => (cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : ch(cp));
  assert.equal(digest(all.filter((cp) => ids._internals.isSpace(str(cp))).map(hex)), P.unicode.space, 'isspace');
  assert.equal(digest(all.filter((cp) => ids._internals.isPrintable(str(cp))).map(hex)), P.unicode.printable, 'isprintable');
});

test('unicode: nameprep (IDNA2003, Unicode 3.2) matches Python per code point, refusing only where unsure', () => {
  const lines = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    const s = cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
    let result;
    try {
      result = cpsOf(ids.nameprep(s));
    } catch (exc) {
      if (exc instanceof ids._internals.IdnaGap) continue;
      if (!(exc instanceof ids._internals.IdnaError)) throw exc;
      result = '!';
    }
    lines.push(`${hex(cp)}:${result}`);
  }
  assert.equal(digest(lines), P.unicode.nameprep);
  for (const { text, ascii } of P.unicode.punycode) {
    assert.equal(ids.punycodeEncode(text), ascii);
    assert.equal(ids.punycodeDecode(ascii), text);
  }
});

test('body: exact bytes of Python\'s Body.to_bytes, structured or not', () => {
  for (const v of P.body.valid) {
    const f = v.fields;
    const b = body.makeBody({ record: f.record, identifiers: f.identifiers, canonical: f.canonical, contact: f.contact,
      writtenAt: f.written_at, details: f.details, attachments: f.attachments });
    assert.equal(hexEncode(body.bodyBytes(b)), v.bytes);
    const parsed = body.parseBody(hx(v.bytes));
    assert.equal(parsed.record, f.record);
    assert.deepEqual(parsed.details, f.details);
    assert.deepEqual(parsed.attachments.map((a) => ({ name: a.name, type: a.type, data: body.attachmentJson(a).data })),
      f.attachments);
    assert.equal(hexEncode(body.bodyBytes(parsed)), v.bytes);
  }
  for (const r of P.body.refused) {
    assert.throws(() => body.parseBody(hx(r.bytes)), (e) => e instanceof InvalidInput && e.message === r.error, r.bytes);
  }
});

test('body: only filled details are written; empty records are refused; lone surrogates are refused', () => {
  const base = { record: 'r', identifiers: [], canonical: [], contact: 'c', writtenAt: 'w' };
  assert.equal(body.makeBody({ ...base, details: { what: '', when: undefined } }).details, null);
  assert.deepEqual(body.makeBody({ ...base, details: { what: 'x', where: '' } }).details, { what: 'x' });
  assert.throws(() => body.makeBody({ ...base, details: { who: 'x' } }), InvalidInput);
  assert.throws(() => body.bodyBytes(body.makeBody({ ...base, record: 'a\ud800' })), InvalidInput);
  const big = { name: 'big.jpg', type: 'image/jpeg', data: new Uint8Array(body.MAX_ATTACHMENT_BYTES + 1) };
  assert.throws(() => body.checkBodySize(body.makeBody({ ...base, attachments: [big] })), /at most/);
  const ok = { ...big, data: new Uint8Array(body.MAX_ATTACHMENT_BYTES - 4096) };
  body.checkBodySize(body.makeBody({ ...base, attachments: [ok] }));
});
