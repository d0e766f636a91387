// The message catalogs (web/src/app/locales): every language has every English key and no other,
// with the same arguments (names, plural and select structure); every message parses; the English
// text a page keeps in its markup for a data-i18n key is that key's English message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from '@messageformat/parser';
import { CatalogError, LANGS, areasNamed, compileCatalogs, flatten, readCatalogs } from '../scripts/messages.mjs';
import { ROOT } from './helpers.js';

const APP = path.join(ROOT, 'web', 'src', 'app');
const LOCALES = path.join(APP, 'locales');

/** The arguments of MESSAGE: 'name' for a value, 'plural:name', 'select:name=a|b|other'. */
export function signature(message) {
  const found = new Set();
  const walk = (tokens) => {
    for (const tok of tokens) {
      if (tok.type === 'argument') found.add(tok.arg);
      else if (tok.type === 'function') found.add(`${tok.key}:${tok.arg}`);
      else if (tok.type === 'plural' || tok.type === 'selectordinal') {
        found.add(`${tok.type}:${tok.arg}`);
        for (const c of tok.cases) walk(c.tokens);
      } else if (tok.type === 'select') {
        found.add(`select:${tok.arg}=${tok.cases.map((c) => c.key).sort().join('|')}`);
        for (const c of tok.cases) walk(c.tokens);
      }
    }
  };
  walk(parse(message));
  return [...found].sort();
}

const catalogs = readCatalogs(LOCALES);
const flat = flatten(catalogs);

test('the signature of a message sees arguments, plurals and selects', () => {
  assert.deepEqual(signature('{count, plural, one {# record} other {# records of {name}}}'), ['name', 'plural:count']);
  assert.deepEqual(signature('{who, select, a {x} other {y}} {n, number}'), ['number:n', 'select:who=a|other']);
});

for (const lang of LANGS.filter((l) => l !== 'en')) {
  test(`${lang}: the same keys as English`, () => {
    const missing = Object.keys(flat.en).filter((k) => !(k in flat[lang]));
    const extra = Object.keys(flat[lang]).filter((k) => !(k in flat.en));
    assert.deepEqual(missing, [], `${lang} lacks these keys`);
    assert.deepEqual(extra, [], `${lang} has keys English does not`);
  });
  test(`${lang}: the same arguments as English`, () => {
    for (const [key, english] of Object.entries(flat.en)) {
      if (!(key in flat[lang])) continue;
      assert.deepEqual(signature(flat[lang][key]), signature(english), `${lang} ${key}`);
    }
  });
  test(`${lang}: each area file exists when English has it`, () => {
    assert.deepEqual(Object.keys(catalogs[lang]).sort(), Object.keys(catalogs.en).sort());
  });
}

test('every message of every catalog compiles', () => {
  const source = compileCatalogs(LOCALES);
  assert.match(source, /export default/);
});

test('a message that does not parse is named by file and key', () => {
  const dir = fs.mkdtempSync(path.join(ROOT, 'web', 'test', '.tmp-locales-'));
  try {
    fs.mkdirSync(path.join(dir, 'en'));
    fs.writeFileSync(path.join(dir, 'en', 'common.json'), JSON.stringify({ 'common.bad': '{count, plural, one {x}' }));
    assert.throws(() => compileCatalogs(dir), (err) => err instanceof CatalogError
      && err.message.includes('common.json') && err.message.includes('common.bad'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function decode(text) {
  return text.replace(/&nbsp;/g, '\u00a0').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** [key, English text in the markup] for every element with data-i18n in HTML. */
export function markedText(html) {
  const out = [];
  const re = /<([a-z0-9]+)\b[^>]*?\sdata-i18n="([^"]+)"[^>]*>([\s\S]*?)<\/\1>/gi;
  for (const m of html.matchAll(re)) out.push([m[2], decode(m[3].replace(/\s+/g, ' ').trim())]);
  const attrs = /<[a-z0-9]+\b([^>]*?\sdata-i18n-attr="([^"]+)"[^>]*)>/gi;
  for (const m of html.matchAll(attrs)) {
    for (const pair of m[2].split(';')) {
      const [name, key] = pair.split(':').map((s) => s.trim());
      const value = new RegExp(`\\s${name}="([^"]*)"`).exec(m[1]);
      out.push([key, value ? decode(value[1]) : null]);
    }
  }
  return out;
}

for (const page of fs.readdirSync(APP).filter((n) => n.endsWith('.html')).sort()) {
  test(`${page}: the English in the markup is the English catalog's`, () => {
    for (const [key, text] of markedText(fs.readFileSync(path.join(APP, page), 'utf8'))) {
      assert.ok(key in flat.en, `${page}: ${key} is not in the English catalogs`);
      assert.equal(text, flat.en[key].replace(/''/g, "'"), `${page}: ${key}`);
    }
  });
}

test('a page is given the areas its modules name, whatever quotes or template they use', () => {
  const source = "t('reporter.join.title'); el('p', {}, t(\"app.ui.busy\")); t(`safety.lock.${n}`); x.common.y; 'counselor'";
  assert.deepEqual([...areasNamed(source)].sort(), ['app', 'reporter', 'safety']);
  const only = compileCatalogs(LOCALES, new Set(['common']));
  assert.ok(only.includes('common.leave') && !only.includes('reporter.join.title'), 'only the common area compiled');
});
