// lib/i18n.js itself, imported in Node (no document, storage or navigator; messages_hooks.mjs gives it
// every language's catalog in memory, so a switch is at once: i18n_loader.test.js loads them from files
// as the app does): the fallbacks, the direction, the formatters following the chosen language, tNodes
// placing elements where a translation puts them; and for every page, the English of a sentence marked
// data-i18n-parts (text with elements inside) is its English message with those elements' text filled in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { register } from 'node:module';
import { flatten, readCatalogs } from '../scripts/messages.mjs';
import { ROOT } from './helpers.js';

register('./messages_hooks.mjs', import.meta.url);
const i18n = await import('../src/app/lib/i18n.js');

const APP = path.join(ROOT, 'web', 'src', 'app');
const flat = flatten(readCatalogs(path.join(APP, 'locales')));

test('importable without a browser: English, and the key itself for a key no catalog has', () => {
  assert.equal(i18n.language(), 'en');
  assert.equal(i18n.direction(), 'ltr');
  assert.equal(i18n.t('common.leave'), 'Leave quickly');
  assert.equal(i18n.t('no.such.key'), 'no.such.key');
  assert.equal(i18n.has('no.such.key'), false);
  assert.equal(i18n.mountLanguagePicker({}), null);
  i18n.applyTranslations(); // no document: nothing to do, no error
});

test('setLanguage switches messages, direction and the formatters\' locale, and tells listeners', () => {
  const seen = [];
  const stop = i18n.onLanguageChange((tag) => seen.push(tag));
  try {
    i18n.setLanguage('ar');
    assert.equal(i18n.direction(), 'rtl');
    assert.equal(i18n.locale(), 'ar');
    assert.equal(i18n.t('common.leave'), flat.ar['common.leave']);
    assert.equal(i18n.formatNumber(1234.5), new Intl.NumberFormat('ar').format(1234.5));
    const day = Date.UTC(2024, 2, 12, 12);
    assert.equal(i18n.formatDate(day), new Intl.DateTimeFormat('ar', { dateStyle: 'medium' }).format(day));
    const switched = i18n.setLanguage('es-MX');
    assert.equal(i18n.language(), 'es');
    assert.ok(switched instanceof Promise);
    assert.equal(i18n.formatNumber(1234.5), new Intl.NumberFormat('es').format(1234.5));
    assert.match(i18n.t('safety.lock.note.minutes', { minutes: 1 }), /1 minuto/);
    assert.throws(() => i18n.setLanguage('fr'));
  } finally {
    i18n.setLanguage('en');
    stop();
  }
  assert.deepEqual(seen, ['ar', 'es', 'en']);
  assert.equal(i18n.t('safety.lock.note.minutes', { minutes: 1 }), 'Locked after 1 minute without activity.');
  assert.equal(i18n.t('safety.lock.note.minutes', { minutes: 5 }), 'Locked after 5 minutes without activity.');
});

test('tNodes puts an element where the translation puts its placeholder', () => {
  const strong = { nodeType: 1, text: 'Leave quickly' };
  const kbd = { nodeType: 1, text: 'Esc' };
  const parts = i18n.tNodes('safety.exit.button', { button: strong, key: kbd });
  assert.equal(parts[0], 'The red ');
  assert.equal(parts[1], strong);
  assert.ok(parts.includes(kbd));
  const text = parts.map((p) => (typeof p === 'string' ? p : p.text)).join('');
  assert.equal(text, flat.en['safety.exit.button'].replace('{button}', 'Leave quickly').replace('{key}', 'Esc'));
  assert.deepEqual(i18n.tNodes('verify.files.link', { name: 'a.png', size: '1 KB' }), ['a.png (1 KB)']);
});

const decode = (s) => s.replace(/&nbsp;/g, '\u00a0').replace(/&lt;/g, '<').replace(/&gt;/g, '>')
  .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** [key, inner HTML] of each element with data-i18n-parts, up to its own end tag (a <span> may hold a <span>). */
function partsSentences(html) {
  const out = [];
  for (const start of html.matchAll(/<([a-z0-9]+)\b[^>]*?\sdata-i18n-parts="([^"]+)"[^>]*>/gi)) {
    const tag = start[1].toLowerCase();
    const from = start.index + start[0].length;
    const tags = new RegExp(`<(/?)${tag}\\b[^>]*>`, 'gi');
    tags.lastIndex = from;
    let depth = 1;
    let m;
    while (depth > 0 && (m = tags.exec(html))) depth += m[1] ? -1 : 1;
    assert.ok(m, `${start[2]}: <${tag}> is never closed`);
    out.push([start[2], html.slice(from, m.index)]);
  }
  return out;
}

test('a sentence element holding an element of its own tag is read to its own end', () => {
  assert.deepEqual(partsSentences('<p><span data-i18n-parts="k">a <span data-i18n-part="x">b</span>.</span> c</p>'),
    [['k', 'a <span data-i18n-part="x">b</span>.']]);
});

for (const page of fs.readdirSync(APP).filter((n) => n.endsWith('.html')).sort()) {
  test(`${page}: each data-i18n-parts sentence is its English message`, () => {
    const html = fs.readFileSync(path.join(APP, page), 'utf8');
    for (const [key, inner] of partsSentences(html)) {
      assert.ok(key in flat.en, `${page}: ${key} is not in the English catalogs`);
      let message = flat.en[key];
      const text = inner.replace(/<([a-z0-9]+)\b[^>]*?\sdata-i18n-part="([^"]+)"[^>]*>([\s\S]*?)<\/\1>/gi, (_, _tag, name, body) => {
        assert.ok(message.includes(`{${name}}`), `${page}: ${key} has no {${name}}`);
        message = message.replace(`{${name}}`, body.replace(/\s+/g, ' ').trim());
        return body;
      });
      assert.doesNotMatch(text, /<[a-z]/i, `${page}: ${key}: an element inside is not a data-i18n-part`);
      assert.equal(decode(text.replace(/\s+/g, ' ').trim()), message.replace(/\s+/g, ' ').trim(), `${page}: ${key}`);
    }
  });
}
