// The message catalogs (web/src/app/locales/<lang>/<area>.json) compiled into one ES module of
// plain functions at build time: the pages' CSP has no 'unsafe-eval', so nothing may be compiled
// in the browser. Used by build.mjs (the virtual module 'consilience:messages') and web/test.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import MessageFormat from '@messageformat/core';
import compileModule from '@messageformat/core/compile-module.js';

export const LANGS = ['en', 'es', 'ar'];
export const AREAS = ['common', 'app', 'reporter', 'counselor', 'safety', 'verify'];

export class CatalogError extends Error {}

/** { lang: { area: { key: message } } } for every catalog file present; malformed files throw. */
export function readCatalogs(localesDir) {
  const out = {};
  for (const lang of LANGS) {
    out[lang] = {};
    let names = [];
    try { names = readdirSync(join(localesDir, lang)).filter((n) => n.endsWith('.json')).sort(); } catch { names = []; }
    for (const name of names) {
      const file = join(localesDir, lang, name);
      let data;
      try {
        data = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new CatalogError(`${file}: not valid JSON: ${err.message}`);
      }
      if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new CatalogError(`${file}: not a JSON object`);
      const area = name.slice(0, -'.json'.length);
      for (const [key, value] of Object.entries(data)) {
        if (typeof value !== 'string') throw new CatalogError(`${file}: ${key} is not a string`);
        if (!key.startsWith(`${area}.`)) throw new CatalogError(`${file}: key ${key} does not start with "${area}."`);
      }
      out[lang][area] = { file, messages: data };
    }
  }
  return out;
}

/** The flat { lang: { key: message } } of readCatalogs' result; a key in two files throws. */
export function flatten(catalogs) {
  const out = {};
  for (const [lang, areas] of Object.entries(catalogs)) {
    out[lang] = {};
    for (const { file, messages } of Object.values(areas)) {
      for (const [key, value] of Object.entries(messages)) {
        if (key in out[lang]) throw new CatalogError(`${file}: ${key} is defined twice`);
        out[lang][key] = value;
      }
    }
  }
  return out;
}

/** The catalog areas whose keys SOURCE names ('reporter.join.title', `app.recovery.step.${x}`). */
export function areasNamed(source) {
  const found = new Set();
  for (const m of source.matchAll(new RegExp(`(?:^|[^\\w.$])(${AREAS.join('|')})\\.[A-Za-z]`, 'g'))) found.add(m[1]);
  return found;
}

/**
 * The ES module source that exports default { lang: { key: (params) => string } }: every area, or
 * only ONLY's (a Set), so a page carries the words it can show and not every other page's.
 */
export function compileCatalogs(localesDir, only = null) {
  const catalogs = readCatalogs(localesDir);
  if (only) {
    for (const areas of Object.values(catalogs)) {
      for (const area of Object.keys(areas)) if (!only.has(area)) delete areas[area];
    }
  }
  const mf = new MessageFormat(LANGS, { strict: false, currency: 'USD' });
  for (const [lang, areas] of Object.entries(catalogs)) {
    const one = new MessageFormat(lang);
    for (const { file, messages } of Object.values(areas)) {
      for (const [key, value] of Object.entries(messages)) {
        try {
          one.compile(value);
        } catch (err) {
          throw new CatalogError(`${file}: message ${key} does not parse: ${err.message}`);
        }
      }
    }
  }
  return compileModule(mf, flatten(catalogs));
}
