// The SDK's errors a person can meet carry a code (sdk/errors.js), and the pages say each code from
// their catalogs (app.sdk.<code>) in English, Spanish and Arabic: the English word for word the SDK's
// message (the Python mirrors and the browser tests read it), the others with no English left over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { register } from 'node:module';
import { flatten, readCatalogs } from '../scripts/messages.mjs';
import { ROOT } from './helpers.js';
import { keyServersDown } from './v2_vectors.js';

register('./messages_hooks.mjs', import.meta.url);
const i18n = await import('../src/app/lib/i18n.js');
const ui = await import('../src/app/lib/ui.js');
const { InvalidInput, ConsilienceError, Phrase, phrase } = await import('../src/sdk/errors.js');
const { normalise, normaliseMany, PLATFORMS } = await import('../src/sdk/protocol/identifiers.js');
const { parseInvite } = await import('../src/sdk/protocol/invites.js');
const { normaliseHandle } = await import('../src/sdk/protocol/recovery.js');
const recovery = await import('../src/sdk/clients/recovery.js');
const { parseCredential } = await import('../src/sdk/clients/counselor_key.js');
const { walletFromBytes } = await import('../src/sdk/clients/wallet.js');

const SDK = path.join(ROOT, 'web', 'src', 'sdk');
const flat = flatten(readCatalogs(path.join(ROOT, 'web', 'src', 'app', 'locales')));
const LANGS = ['en', 'es', 'ar'];

/** The SDK modules whose refusals reach a person: what they type or pick, and what a service answers. */
const PERSON_FACING = [
  'protocol/identifiers.js', 'protocol/invites.js', 'clients/recovery.js', 'clients/oprf_client.js', 'clients/conversations.js',
  'clients/casework.js', 'clients/reporter.js', 'clients/counselor_key.js', 'clients/wallet.js', 'clients/disclosure.js',
];

/** Each `new InvalidInput(...)` call of SOURCE, parentheses balanced, with its line. */
function invalidInputCalls(source) {
  const out = [];
  for (const m of source.matchAll(/new InvalidInput\(/g)) {
    let depth = 0;
    let i = m.index + m[0].length - 1;
    for (; i < source.length; i++) {
      if (source[i] === '(') depth++;
      else if (source[i] === ')' && --depth === 0) break;
    }
    out.push({ line: source.slice(0, m.index).split('\n').length, call: source.slice(m.index, i + 1) });
  }
  return out;
}

/** The fixed codes a source names: `code: '…'` (either side of a ?:), phrase('…', …). */
function codesNamed(source) {
  const found = new Set();
  for (const m of source.matchAll(/code:\s*(?:[\w.]+\s*\?\s*)?'([^'$]+)'(?:\s*:\s*'([^'$]+)')?/g)) {
    found.add(m[1]);
    if (m[2]) found.add(m[2]);
  }
  for (const m of source.matchAll(/phrase\(\s*'([^'$]+)'/g)) found.add(m[1]);
  return found;
}

test('every refusal of a person-facing SDK module has a code, and every code has words in en, es and ar', () => {
  const missing = [];
  const codes = new Set();
  for (const rel of PERSON_FACING) {
    const source = fs.readFileSync(path.join(SDK, rel), 'utf8');
    for (const { line, call } of invalidInputCalls(source)) if (!/\bcode:/.test(call)) missing.push(`${rel}:${line}: ${call.slice(0, 90)}`);
    for (const code of codesNamed(source)) codes.add(code);
  }
  assert.deepEqual(missing, [], `refusals without a code (sdk/errors.js):\n${missing.join('\n')}`);
  assert.ok(codes.size > 100, `only ${codes.size} codes found: the scan is broken`);
  for (const kind of PLATFORMS.filter((p) => p.rule).map((p) => p.kind)) codes.add(`identifier.rule.${kind}`);
  for (const code of ['invite.empty', 'invite.mistyped', 'invite.credential', 'invite.oldVersion']) codes.add(code);
  const absent = [];
  for (const code of codes) for (const lang of LANGS) if (!(`app.sdk.${code}` in flat[lang])) absent.push(`${lang}: app.sdk.${code}`);
  assert.deepEqual(absent, [], `codes without words in a catalog:\n${absent.join('\n')}`);
});

/** What the SDK refuses from a person, as it refuses it: every kind of sentence with its pieces. */
function refusals() {
  const out = [];
  const keep = (fn) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof ConsilienceError)) throw err;
      out.push(err);
    }
  };
  const typed = [
    '', 'name@', '@example.com', 'a b@example.com', 'a@@example.com', 'näme@example.com', 'a..b@example.com', 'a,b@example.com',
    'a@example', 'a@exa..mple.com', 'a@1.2.3.4', '+gmail@gmail.com', `${'a'.repeat(65)}@example.com`, 'a@-x-.com', 'a@ß.com',
    '12', '020 7946', '+1 2', '+44 20 7946 0958 ext 5', 'email:', 'phone:a@b.com', 'ftp://x.com/a', 'https://user@x.com/a',
    'https://bit.ly/abc', 'https://example.org/@a', 'https://example.org/a', 'x:https://instagram.com/someone',
    'https://x.com/', 'https://x.com/home', 'https://www.facebook.com/profile.php', 'https://linkedin.com/pub/x',
    'https://linkedin.com/company/x', 'https://youtube.com/watch', 'https://youtube.com/c/x', 'https://reddit.com/r/x',
    'https://t.me/joinchat/abc', 'https://t.me/x/12', 'https://github.com/a/b', 'https://tiktok.com/@a/video/1',
    'x:@' + 'a'.repeat(20), 'instagram:@a!', 'facebook:1.2.3.4.5', 'mastodon:@a', 'mastodon:@a-b@x.social', 'mastodon:@a@x',
    'bluesky:did:x', 'bluesky:name', 'bluesky:name.local', 'bluesky:a..b', 'a\u200bb@example.com', 'x'.repeat(300), 'just words',
    'https://x.com//a',
  ];
  for (const text of typed) keep(() => normalise(text));
  keep(() => normalise('7946 0958', { defaultRegion: 'GB' }));
  keep(() => normalise('a@b.com', { kind: 'phone' }));
  keep(() => normalise('a@b.com', { defaultRegion: 'ZZ' }));
  keep(() => normalise('a@b.com', { kind: 'fax' }));
  keep(() => normaliseMany(['a@b.com', 'nope@']));
  for (const text of ['', 'cnsl2.abc', 'cnslc1.a.b', 'cnsl1.a.b', 'hello', 'cnsl2.!!!.???']) keep(() => parseInvite(text));
  keep(() => normaliseHandle('7KQ2'));
  keep(() => parseCredential('cnsl2.a.b'));
  keep(() => walletFromBytes(new TextEncoder().encode('{')));
  keep(() => walletFromBytes(new TextEncoder().encode('{"format": "consilience-wallet/v1"}')));
  out.push(new recovery.WrongPassphrase(1), new recovery.WrongPassphrase(3));
  return out;
}

/** The words a page says for ERR in the language it is in. */
const said = (err) => ui.describeError(err);

async function inLanguage(tag, fn) {
  await i18n.setLanguage(tag);
  try {
    return await fn();
  } finally {
    await i18n.setLanguage('en');
  }
}

test('in English the page says the SDK\'s own sentence, from the catalog, word for word', () => {
  const errs = refusals();
  assert.ok(errs.length > 60);
  for (const err of errs) {
    assert.ok(err.code, `no code: ${err.message}`);
    assert.equal(ui.sdkText(err), err.message, err.code);
    assert.equal(said(err), err.message);
  }
});

for (const lang of ['es', 'ar']) {
  test(`in ${lang} every refusal is said from the catalog, with no English sentence or placeholder left`, async () => {
    const errs = refusals();
    await inLanguage(lang, () => {
      for (const err of errs) {
        const text = said(err);
        assert.notEqual(text, err.message, err.code);
        assert.doesNotMatch(text, /\{|\}|app\.sdk/, `${err.code}: ${text}`);
        // what is left in Latin letters is what the person typed, platform names, examples and codes
        const words = text.replace(/'[^']*'/g, '').match(/\b(?:is|not|the|and|was|an|of|you|your|it|or|to|type|before|after)\b(?! ?[:@.])/g);
        assert.equal(words, null, `${err.code}: English left in "${text}"`);
      }
    });
  });
}

test('too few key servers: the sentence and each server\'s reason said in the language', async () => {
  const err = await keyServersDown();
  assert.equal(err.code, 'keyServers.tooFew');
  assert.equal(said(err), err.message);
  assert.ok(err.params.reasons.every((r) => r instanceof Phrase));
  for (const lang of ['es', 'ar']) {
    const text = await inLanguage(lang, () => said(err));
    assert.doesNotMatch(text, /key server|could not be reached|did not accept/, text);
    assert.match(text, /bad request signature/); // the key server's own words, in the language it was asked in
  }
});

test('a recovery the key servers could not answer: said in the language, the servers named', () => {
  const failures = [{ index: 1, url: 'http://k1.test', why: recovery.RecoveryUnavailable && phrase('keyServer.limiting', 'is limiting requests for now') }];
  const reasons = failures.map((f) => phrase('keyServer.named', `key server ${f.index} (${f.url}) ${f.why}`,
    { index: String(f.index), url: f.url, why: f.why }));
  const message = 'Too few of the deployment\'s key servers answered (1 of the 2 needed), so your backup could not be opened. '
    + 'Nothing was changed. Try again in a while; if it keeps happening, tell the administrator. '
    + '(key server 1 (http://k1.test) is limiting requests for now)';
  const err = new recovery.RecoveryUnavailable(message, failures, 2, { code: 'recovery.tooFewNamed', params: { answered: 1, needed: 2, reasons } });
  assert.equal(said(err), message);
  return inLanguage('ar', () => assert.match(said(err), /^لم يُجب إلا عدد قليل جدًا من خوادم المفاتيح.*http:\/\/k1\.test/));
});

test('an SDK error without a code: the SDK\'s English in English; elsewhere a plain sentence, the English kept apart', async () => {
  const err = new ConsilienceError('DLEQ proof does not verify');
  assert.equal(said(err), err.message);
  assert.equal(ui.technicalDetail(err), null); // no DOM needed in English: nothing is added
  for (const lang of ['es', 'ar']) {
    await inLanguage(lang, () => assert.equal(said(err), flat[lang]['app.sdk.unexplained']));
  }
});

test('errors.js: codes and params are checked where they are written', () => {
  assert.throws(() => new InvalidInput('x', { code: 'Not a code' }), TypeError);
  assert.throws(() => new InvalidInput('x', { code: 'a.b', params: { n: {} } }), TypeError);
  assert.throws(() => phrase('ok.code', 42), TypeError);
  const e = new InvalidInput('x', { code: 'a.b', params: { list: [phrase('c.d', 'y')], n: 1 } });
  assert.equal(e.code, 'a.b');
  assert.ok(Object.isFrozen(e.params) && Object.isFrozen(e.params.list));
  assert.equal(`${phrase('c.d', 'why')}`, 'why');
  assert.equal(new InvalidInput('plain').code, undefined);
});

/** { msgid: msgstr } of a gettext catalog (the plain entries: no plurals or contexts). */
function readPo(file) {
  const out = new Map();
  let entry = null;
  let field = null;
  const unquote = (s) => JSON.parse(s);
  const flush = () => { if (entry?.msgid && entry.msgstr) out.set(entry.msgid, entry.msgstr); };
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^(msgid|msgstr|msgctxt|msgid_plural|msgstr\[\d\]) (".*")$/.exec(line);
    if (m) {
      if (m[1] === 'msgid') { flush(); entry = { msgid: '', msgstr: '' }; }
      field = m[1] === 'msgid' || m[1] === 'msgstr' ? m[1] : null;
      if (m[1].startsWith('msgid_plural') || m[1] === 'msgctxt') entry = null;
      if (entry && field) entry[field] += unquote(m[2]);
    } else if (/^".*"$/.test(line) && entry && field) {
      entry[field] += unquote(line);
    }
  }
  flush();
  return out;
}

/** A sentence with its placeholders' names left out ({typed}, {count, number}, {ord_c:04X} → {}), apostrophes as shown. */
const shape = (text) => text.replace(/''/g, "'").replace(/\{[^{}]*\}/g, '{}');

test('where the Python SDK says the same sentence, the pages say it in its words (core.po, clients.po)', () => {
  const po = path.join(ROOT, 'src', 'consilience', 'locales');
  let compared = 0;
  for (const lang of ['es', 'ar']) {
    const python = new Map();
    for (const area of ['core', 'clients']) {
      for (const [id, str] of readPo(path.join(po, lang, 'LC_MESSAGES', `${area}.po`))) python.set(shape(id), shape(str));
    }
    const differ = [];
    for (const [key, english] of Object.entries(flat.en)) {
      if (!key.startsWith('app.sdk.') || !python.has(shape(english))) continue;
      compared += 1;
      if (shape(flat[lang][key]) !== python.get(shape(english))) differ.push(`${lang} ${key}: ${flat[lang][key]}`);
    }
    assert.deepEqual(differ, [], `said otherwise than the Python SDK says it:\n${differ.join('\n')}`);
  }
  assert.ok(compared > 150, `only ${compared} sentences compared`);
});
