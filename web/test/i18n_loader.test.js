// lib/i18n.js loading one language's catalog at a time, as the app does: each language is its own file
// (messages.mjs catalogModule, what web/build.mjs writes), imported here from a folder outside web/ (so
// a file that imported anything at run time would fail), with the Spanish and Arabic files written or
// left out as a test needs. The page starts with only its language's words; another language's file is
// loaded when it is chosen, and the listeners run once its words are there; a file that cannot be had
// leaves the page in the language it was in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { register } from 'node:module';
import * as esbuild from 'esbuild';
import { catalogModule, flatten, readCatalogs } from '../scripts/messages.mjs';
import { ROOT } from './helpers.js';

const WEB = path.join(ROOT, 'web');
const LOCALES = path.join(WEB, 'src', 'app', 'locales');
const AREAS = new Set(['common', 'safety']);
const flat = flatten(readCatalogs(LOCALES));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consilience-catalogs-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const built = {};
for (const lang of ['en', 'es', 'ar']) built[lang] = await catalogModule(esbuild, WEB, LOCALES, AREAS, lang);
const put = (lang) => fs.writeFileSync(path.join(dir, `${lang}.mjs`), built[lang]);
put('en');

register('./messages_hooks.mjs', import.meta.url, { data: { catalogDir: dir } });
const i18n = await import('../src/app/lib/i18n.js');

test('a catalog file holds one language, imports nothing, and has every key of its areas', async () => {
  for (const [lang, bytes] of Object.entries(built)) {
    const text = new TextDecoder().decode(bytes);
    assert.doesNotMatch(text, /\bimport\b/, `${lang}: imports something at run time`);
    const { default: messages } = await import(`data:text/javascript;base64,${Buffer.from(bytes).toString('base64')}`);
    const want = Object.keys(flat[lang]).filter((k) => AREAS.has(k.split('.')[0])).sort();
    assert.deepEqual(Object.keys(messages).sort(), want, `${lang}: the keys of ${[...AREAS]}`);
    assert.equal(messages['common.leave'](), flat[lang]['common.leave']);
    for (const other of ['en', 'es', 'ar'].filter((l) => l !== lang)) {
      assert.ok(!text.includes(JSON.stringify(flat[other]['common.leave.hint']).slice(1, -1)), `${lang} holds ${other}`);
    }
  }
});

test('the page starts with its language\'s words only, and a chosen language is loaded before it is used', async () => {
  assert.equal(i18n.language(), 'en');
  assert.equal(i18n.t('common.leave'), 'Leave quickly');
  assert.equal(i18n.has('common.leave'), true);
  put('es');
  const heard = [];
  const stop = i18n.onLanguageChange((tag) => heard.push([tag, i18n.t('common.leave'), i18n.direction()]));
  try {
    const switching = i18n.setLanguage('es-MX');
    assert.equal(i18n.language(), 'en', 'the page keeps its words until the new ones are there');
    assert.deepEqual(heard, []);
    assert.equal(await switching, 'es');
    assert.equal(i18n.language(), 'es');
    assert.deepEqual(heard, [['es', flat.es['common.leave'], 'ltr']]);
    assert.match(i18n.t('safety.lock.note.minutes', { minutes: 1 }), /1 minuto/);
    // a language already loaded switches at once, before setLanguage returns (as before files of their own)
    const back = i18n.setLanguage('en');
    assert.equal(i18n.language(), 'en');
    assert.deepEqual(heard.at(-1), ['en', 'Leave quickly', 'ltr']);
    assert.equal(await back, 'en');
    assert.throws(() => i18n.setLanguage('fr'), /not a shipped language/);
  } finally {
    stop();
  }
});

test('a catalog file that cannot be had leaves the page as it was; a later try loads it', async () => {
  fs.rmSync(path.join(dir, 'ar.mjs'), { force: true });
  const heard = [];
  const stop = i18n.onLanguageChange((tag) => heard.push(tag));
  try {
    await assert.rejects(i18n.setLanguage('ar'), (err) => err instanceof i18n.LanguageUnavailable && err.language === 'ar');
    assert.equal(i18n.language(), 'en');
    assert.equal(i18n.direction(), 'ltr');
    assert.equal(i18n.t('common.leave'), 'Leave quickly');
    assert.deepEqual(heard, []);
    put('ar'); // back online
    assert.equal(await i18n.setLanguage('ar'), 'ar');
    assert.equal(i18n.direction(), 'rtl');
    assert.equal(i18n.t('common.leave'), flat.ar['common.leave']);
    assert.deepEqual(heard, ['ar']);
  } finally {
    stop();
    await i18n.setLanguage('en');
  }
});

test('the last language asked for wins over an earlier one still loading', async () => {
  // a fresh instance of the module (a new URL), so that no language but English is in memory yet
  const fresh = await import('../src/app/lib/i18n.js?race');
  const slow = fresh.setLanguage('es');
  fresh.setLanguage('en'); // in memory: at once
  assert.equal(await slow, 'en');
  assert.equal(fresh.language(), 'en');
});

test('a saved language whose file cannot be had: the page starts in English', async () => {
  fs.rmSync(path.join(dir, 'es.mjs'), { force: true });
  const stored = new Map([['consilience.language', 'es']]);
  globalThis.localStorage = { getItem: (k) => stored.get(k) ?? null, setItem: (k, v) => stored.set(k, String(v)) };
  try {
    const fresh = await import('../src/app/lib/i18n.js?saved-es-missing');
    assert.equal(fresh.language(), 'en');
    assert.equal(fresh.t('common.leave'), 'Leave quickly');
    assert.equal(stored.get('consilience.language'), 'es', 'the choice is kept for when the file can be had');
    put('es');
    const again = await import('../src/app/lib/i18n.js?saved-es');
    assert.equal(again.language(), 'es');
    assert.equal(again.t('common.leave'), flat.es['common.leave']);
  } finally {
    delete globalThis.localStorage;
  }
});
