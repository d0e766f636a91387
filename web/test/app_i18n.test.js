// The shared modules of the reporter and counselor pages (web/src/app/lib) in the person's language:
// errors in plain words, sizes, dates, passphrase hints, the labels of names, record titles and the
// SDK's recovery sentences, in English exactly as before and in Spanish and Arabic from app.json;
// the phone country taken from the languages. Imported in Node through the catalogs' module hooks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { register } from 'node:module';
import { flatten, readCatalogs } from '../scripts/messages.mjs';
import { ROOT } from './helpers.js';
import { keyServersDown } from './v2_vectors.js';

register('./messages_hooks.mjs', import.meta.url);
const i18n = await import('../src/app/lib/i18n.js');
const ui = await import('../src/app/lib/ui.js');
const names = await import('../src/app/lib/names.js');
const { recordTitle } = await import('../src/app/lib/account.js');
const { recoveryMessage, recoveryNote } = await import('../src/app/lib/recovery_ui.js');
const { KeyServerUnavailable } = await import('../src/sdk/clients/oprf_client.js');
const recovery = await import('../src/sdk/clients/recovery.js');
const { ApiError } = await import('../src/sdk/clients/api.js');
const { InvalidInput, phrase } = await import('../src/sdk/errors.js');

const flat = flatten(readCatalogs(path.join(ROOT, 'web', 'src', 'app', 'locales')));

/** Run FN with the page in language TAG, then back in English. */
function inLanguage(tag, fn) {
  i18n.setLanguage(tag);
  try {
    return fn();
  } finally {
    i18n.setLanguage('en');
  }
}

const api = (status, code, detail, retryAfter = null) => new ApiError(status, code, detail, { retryAfter });

/** Every kind of error describeError tells apart, with its English words of before the catalogs. */
const ERRORS = [
  [null, 'Something went wrong.'],
  [new TypeError('Failed to fetch'), 'The server could not be reached. Check your connection and try again; nothing was lost.'],
  [api(0, 'unreachable', 'cannot reach the server: boom'),
    'The server could not be reached. Check your connection and try again; nothing was lost. (cannot reach the server: boom)'],
  [api(429, 'rate_limited', 'slow down', 120), 'Too many attempts for now. Please wait about 2 minutes and try again.'],
  [api(429, 'rate_limited', 'slow down', 60), 'Too many attempts for now. Please wait about a minute and try again.'],
  [api(429, 'rate_limited', 'slow down', 1), 'Too many attempts for now. Please wait about 1 second and try again.'],
  [api(429, 'rate_limited', 'slow down', 40), 'Too many attempts for now. Please wait about 40 seconds and try again.'],
  [api(429, 'rate_limited', 'slow down'), 'Too many attempts for now. Please wait a while and try again.'],
  [api(401, 'unauthorized', 'no'), 'The server did not accept this wallet’s sign-in. The account may have been closed.'],
  [api(503, 'unavailable', 'later'), 'The server is temporarily unavailable. Please try again in a few minutes; nothing was lost.'],
  [api(413, 'over_storage_quota', 'this account has used its storage'),
    'The server did not store this, because this account has used its storage. Nothing was stored; your record stays on this device as it was.'],
  [api(413, 'too_large', 'big'), 'That is too large to send. Remove some attachments and try again.'],
  [api(500, 'internal', 'internal error'), 'The server had a problem (500). Please try again later; nothing was lost.'],
  [api(409, 'conflict', 'already named'), 'The server refused this: already named'],
  [Object.assign(new Error('x'), { status: 404 }), 'The server refused this (404).'],
  [new InvalidInput('a message of its own'), 'a message of its own'],
];

test('describeError: the English is what it was, word for word', () => {
  for (const [err, english] of ERRORS) assert.equal(ui.describeError(err), english);
});

for (const lang of ['es', 'ar']) {
  test(`describeError in ${lang}: from the catalog, the server's words and numbers kept`, () => {
    inLanguage(lang, () => {
      assert.equal(ui.describeError(null), flat[lang]['app.ui.error.unknown']);
      assert.equal(ui.describeError(new TypeError('Failed to fetch')), flat[lang]['app.ui.error.unreachable']);
      assert.equal(ui.describeError(api(503, 'unavailable', 'later')), flat[lang]['app.ui.error.unavailable']);
      assert.equal(ui.describeError(api(401, 'unauthorized', 'no')), flat[lang]['app.ui.error.unauthorized']);
      assert.equal(ui.describeError(api(413, 'too_large', 'big')), flat[lang]['app.ui.error.tooLarge']);
      assert.ok(ui.describeError(api(409, 'conflict', 'ya nombrado')).endsWith(': ya nombrado'));
      assert.ok(ui.describeError(api(500, 'internal', 'x')).includes('(500)'));
      assert.ok(ui.describeError(api(413, 'too_many_entries', 'DETAIL')).includes('DETAIL'));
      for (const [err] of ERRORS.slice(0, -1)) {
        // a detail the SDK or the server gave is theirs (the server answers in the language asked for)
        const said = ui.describeError(err).replace(err?.detail ?? '\0', '');
        assert.doesNotMatch(said, /\b(server|Please|nothing was)\b/, `${lang}: English left in "${said}"`);
        assert.doesNotMatch(said, /\{|\}|app\.ui/, `${lang}: a placeholder or key left in "${said}"`);
      }
    });
  });
}

test('the waits of a 429 take the language\'s plural forms', () => {
  inLanguage('es', () => {
    assert.match(ui.describeError(api(429, 'rate_limited', '', 120)), /alrededor de 2 minutos/);
    assert.match(ui.describeError(api(429, 'rate_limited', '', 60)), /alrededor de un minuto/);
    assert.match(ui.describeError(api(429, 'rate_limited', '', 1)), /1 segundo\b/);
  });
  inLanguage('ar', () => {
    assert.match(ui.describeError(api(429, 'rate_limited', '', 120)), /دقيقتين/); // the dual
    assert.match(ui.describeError(api(429, 'rate_limited', '', 300)), /دقائق/); // few: 3 to 10
    assert.match(ui.describeError(api(429, 'rate_limited', '', 1)), /ثانية واحدة/);
  });
});

test('too few key servers: the SDK\'s English kept, the sentence translated and the servers named', async () => {
  const err = await keyServersDown();
  assert.equal(err.name, 'KeyServerUnavailable');
  assert.equal(ui.describeError(err), err.message);
  for (const lang of ['es', 'ar']) {
    const said = inLanguage(lang, () => ui.describeError(err));
    assert.ok(said.startsWith(flat[lang]['app.sdk.keyServers.tooFew'].split('(')[0]), said);
    assert.match(said, /bad request signature\)\)$/); // the key server's own words end the list of servers
  }
  // key servers that only limit requests: how long to wait
  const reason = (index, why) => phrase('keyServer.named', `key server ${index} (u) ${why}`, { index: String(index), url: 'u', why });
  const limited = new KeyServerUnavailable('x', { code: 'keyServers.tooFew', params: { answered: 0, needed: 2, reasons: [
    reason(1, phrase('keyServer.limitingFor', 'is limiting requests for now (retry after 90 s)', { wait: '90' })),
    reason(2, phrase('keyServer.limiting', 'is limiting requests for now'))] } });
  assert.equal(ui.describeError(limited), 'Too many attempts for now. Please wait about 2 minutes and try again. Nothing was sent.');
  assert.match(inLanguage('es', () => ui.describeError(limited)), /^Demasiados intentos.*2 minutos.*No se envió nada\.$/);
});

test('too few key servers to recover: the SDK\'s English kept, translated with the servers named', () => {
  const why = phrase('keyServer.unreachable', 'could not be reached (TypeError)', { kind: 'TypeError' });
  const failures = [{ index: 1, url: 'http://k1.test', reason: String(why), why }];
  const reasons = [phrase('keyServer.named', `key server 1 (http://k1.test) ${why}`, { index: '1', url: 'http://k1.test', why })];
  const err = new recovery.RecoveryUnavailable('Too few of the deployment\'s key servers answered (1 of the 2 needed), so your '
    + 'backup could not be opened. Nothing was changed. Try again in a while; if it keeps happening, tell the administrator. '
    + '(key server 1 (http://k1.test) could not be reached (TypeError))', failures, 2,
  { code: 'recovery.tooFewNamed', params: { answered: 1, needed: 2, reasons } });
  assert.equal(ui.describeError(err), err.message);
  const es = inLanguage('es', () => ui.describeError(err));
  assert.match(es, /^Respondieron muy pocos servidores de claves del servicio \(1 de los 2 necesarios\)/);
  assert.ok(es.endsWith('(servidor de claves 1 (http://k1.test) no se pudo conectar (TypeError))'), es);
});

test('showError\'s prefixes and the recovery sentences: English as the SDK says it, else the catalog', () => {
  assert.equal(i18n.t('app.sdk.recovery.wrongPassphrase', { count: 2 }), recovery.WRONG_PASSPHRASE(2));
  assert.equal(i18n.t('app.sdk.recovery.wrongPassphrase', { count: 1 }), recovery.WRONG_PASSPHRASE(1));
  assert.equal(i18n.t('app.sdk.recovery.handle'), recovery.HANDLE_REFUSAL);
  assert.equal(i18n.t('app.recovery.pending'), recovery.BACKUP_PENDING_NOTE);
  for (const [key, label] of recovery.RECOVERY_STEPS) assert.equal(i18n.t(`app.recovery.step.${key}`), label);

  const wrong = new recovery.WrongPassphrase(2);
  // as the SDK throws them (sdk/clients/recovery.js, sdk/protocol/recovery.js)
  const unlock = new InvalidInput('An unlock code starts with cnslu1. Check it against the one you were given.',
    { code: 'recovery.unlock.prefix' });
  const refused = new InvalidInput('The unlock code was not accepted: expired. Check it against the one you were given, or ask '
    + 'the administrator for a new one.', { code: 'recovery.unlock.refusedDetail', params: { detail: 'expired' } });
  const bare = new InvalidInput('The unlock code was not accepted. Check it against the one you were given, or ask the '
    + 'administrator for a new one.', { code: 'recovery.unlock.refused' });
  const handle = new InvalidInput(recovery.HANDLE_REFUSAL, { code: 'recovery.handle' });
  for (const err of [wrong, unlock, refused, bare, handle]) assert.equal(recoveryMessage(err), err.message);
  inLanguage('es', () => {
    assert.match(recoveryMessage(wrong), /quedan 2 intentos/);
    assert.equal(recoveryMessage(new recovery.WrongPassphrase(1)).includes('queda 1 intento'), true);
    assert.equal(recoveryMessage(unlock), flat.es['app.sdk.recovery.unlock.prefix']);
    assert.match(recoveryMessage(refused), /^No se aceptó el código de desbloqueo: expired\./);
    assert.equal(recoveryMessage(bare), flat.es['app.sdk.recovery.unlock.refused']);
    assert.equal(recoveryMessage(handle), flat.es['app.sdk.recovery.handle']);
    // an SDK error without a code: a plain sentence of the page's, not the SDK's English
    assert.equal(recoveryMessage(new InvalidInput('other')), flat.es['app.sdk.unexplained']);
  });
  inLanguage('ar', () => assert.match(recoveryMessage(wrong), /محاولتان/));

  // as recover() gives them
  const resets = phrase('recovery.note.resets', 'Some key servers could not be told that this recovery succeeded; that changes nothing for you.');
  const receipt = phrase('recovery.note.receipt', 'The receipt of one record in escrow could not be checked now (bad signature); '
    + 'it is in your wallet all the same.', { reason: 'bad signature' });
  assert.equal(recoveryNote(resets), resets.text);
  assert.equal(recoveryNote(receipt), receipt.text);
  inLanguage('es', () => {
    assert.equal(recoveryNote(resets), flat.es['app.sdk.recovery.note.resets']);
    assert.match(recoveryNote(receipt), /\(bad signature\)/);
  });
  assert.equal(i18n.t('app.recovery.done', { count: 1, escrowed: 1 }), 'Everything is back: 1 record, 1 in escrow.');
  assert.equal(i18n.t('app.recovery.done', { count: 3, escrowed: 0 }), 'Everything is back: 3 records, 0 in escrow.');
});

test('formatBytes: English as before; other languages with their own words and the locale\'s digits', () => {
  assert.equal(ui.formatBytes(0), '0 bytes');
  assert.equal(ui.formatBytes(100), '100 bytes');
  assert.equal(ui.formatBytes(1024), '1 KB');
  assert.equal(ui.formatBytes(1023 * 1024), '1023 KB');
  assert.equal(ui.formatBytes(1536 * 1024), '1.5 MB');
  assert.equal(ui.formatBytes(2000 * 1024 * 1024), '2000.0 MB');
  inLanguage('es', () => {
    assert.equal(ui.formatBytes(100), '100 bytes');
    assert.equal(ui.formatBytes(1536 * 1024), `${new Intl.NumberFormat('es', { minimumFractionDigits: 1 }).format(1.5)} MB`);
  });
  inLanguage('ar', () => {
    const n = (x, o) => new Intl.NumberFormat(i18n.locale(), { useGrouping: false, ...o }).format(x);
    assert.equal(ui.formatBytes(2048), `${n(2)} كيلوبايت`);
    assert.equal(ui.formatBytes(1536 * 1024), `${n(1.5, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} ميغابايت`);
  });
});

test('formatDate: the locale\'s date and time; what is not a date is kept as it is', () => {
  const iso = '2026-03-12T09:30:00Z';
  const want = (tag) => new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
  assert.equal(ui.formatDate(iso), want(i18n.locale()));
  assert.equal(ui.formatDate(''), '');
  assert.equal(ui.formatDate('not a date'), 'not a date');
  for (const lang of ['es', 'ar']) inLanguage(lang, () => assert.equal(ui.formatDate(iso), want(i18n.locale())));
  assert.notEqual(inLanguage('ar', () => ui.formatDate(iso)), ui.formatDate(iso));
});

test('passphraseStrength: the same levels, the words in the language; a passphrase in Arabic script counts', () => {
  assert.deepEqual(ui.passphraseStrength(''), { level: '', text: '' });
  assert.deepEqual(ui.passphraseStrength('short'), { level: 'weak', text: 'Weak: use more words or characters.' });
  assert.deepEqual(ui.passphraseStrength('Horse battery'), { level: 'fair', text: 'Fair: a few more words would make it much stronger.' });
  assert.deepEqual(ui.passphraseStrength('correct horse battery staple'), { level: 'good', text: 'Strong.' });
  inLanguage('es', () => assert.equal(ui.passphraseStrength('correct horse battery staple').text, 'Fuerte.'));
  inLanguage('ar', () => assert.equal(ui.passphraseStrength('حصان بطارية صحيحة دبوس').level, 'good'));
});

test('plural (English only, as before) and countText (the catalog\'s plural forms)', () => {
  assert.equal(ui.plural(1, 'receipt'), '1 receipt');
  assert.equal(ui.plural(2, 'receipt'), '2 receipts');
  assert.equal(ui.plural(0, 'match', 'matches'), '0 matches');
  assert.equal(ui.countText('app.ui.bytes', 1), '1 byte');
  assert.equal(inLanguage('ar', () => ui.countText('app.ui.wait.minutes', 2)), 'دقيقتين');
});

test('names: "Phone: +44 …" and "Email: …" in the language; platform names as they are', () => {
  assert.equal(names.readableCanonical('phone:+442079460111'), 'Phone: +44 20 7946 0111');
  assert.equal(names.readableCanonical('email:sam@example.org'), 'Email: sam@example.org');
  assert.equal(names.readable({ kind: 'x', value: 'name' }), names.readableCanonical('x:name'));
  assert.equal(names.kindLabel('github'), 'GitHub');
  assert.equal(names.readableCanonical('nothing known'), 'nothing known');
  inLanguage('es', () => {
    assert.equal(names.readableCanonical('phone:+442079460111'), 'Teléfono: +44 20 7946 0111');
    assert.equal(names.readableCanonical('email:sam@example.org'), 'Correo: sam@example.org');
    assert.equal(names.kindLabel('github'), 'GitHub');
  });
  inLanguage('ar', () => assert.equal(names.readableCanonical('phone:+442079460111'), 'الهاتف: +44 20 7946 0111'));
});

test('defaultRegion: the country the languages give, never a fixed one', () => {
  const region = (languages, preferred = 'en') => names.defaultRegion({ languages, preferred });
  assert.equal(region(['es-MX'], 'es'), 'MX');
  assert.equal(region(['ar-EG'], 'ar'), 'EG');
  assert.equal(region(['en-GB', 'es-MX'], 'es'), 'MX'); // the chosen language's country first
  assert.equal(region(['en-GB', 'es'], 'es'), 'GB'); // a country named beats one implied
  assert.equal(region(['es'], 'es'), 'ES'); // implied by the language (likely subtags)
  assert.equal(region(['ar'], 'ar'), 'EG');
  assert.equal(region(['es_AR'], 'es'), 'AR');
  assert.equal(region([], null), null);
  assert.equal(region(['und', 'not a tag!'], null), null);
  assert.equal(region(['es-419'], null), null); // Latin America is no country: the person chooses one
  // with no arguments: the browser's languages and the page's
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { languages: ['es-MX'], language: 'es-MX' }, configurable: true });
  try {
    assert.equal(inLanguage('es', () => names.defaultRegion()), 'MX');
  } finally {
    if (saved) Object.defineProperty(globalThis, 'navigator', saved);
    else delete globalThis.navigator;
  }
});

test('recordTitle: "Record of <date>" in the language, the person\'s own title as it is', () => {
  const r = { title: '', written_at: '2026-03-03T10:00:00Z' };
  const day = (tag) => new Intl.DateTimeFormat(tag, { day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(r.written_at));
  assert.equal(recordTitle(r), `Record of ${day(i18n.locale())}`);
  assert.equal(recordTitle({ title: '', written_at: 'x' }), 'Record');
  assert.equal(recordTitle({ title: '  Mine ', written_at: 'x' }), 'Mine');
  assert.equal(inLanguage('es', () => recordTitle(r)), `Registro del ${day(i18n.locale('es'))}`);
  assert.equal(inLanguage('ar', () => recordTitle(r)), `سجل بتاريخ ${day(i18n.locale('ar'))}`);
});
