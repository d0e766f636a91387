// The message catalogs (web/src/app/locales/<lang>/<area>.json) compiled into ES modules of plain
// functions at build time: the pages' CSP has no 'unsafe-eval', so nothing may be compiled in the
// browser. Used by build.mjs (one module per language and entry point, loaded by lib/i18n.js through
// the virtual module 'consilience:messages') and web/test.
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
 * The ES module source that exports default { lang: { key: (params) => string } }: every language, or
 * only LANG's; every area, or only ONLY's (a Set), so a page carries the words it can show and not every
 * other page's. The build makes one module per language (catalogModule): a page loads the one it shows.
 */
export function compileCatalogs(localesDir, only = null, lang = null) {
  const catalogs = readCatalogs(localesDir);
  if (lang !== null) {
    if (!LANGS.includes(lang)) throw new CatalogError(`not a shipped language: ${lang}`);
    for (const other of Object.keys(catalogs)) if (other !== lang) delete catalogs[other];
  }
  if (only) {
    for (const areas of Object.values(catalogs)) {
      for (const area of Object.keys(areas)) if (!only.has(area)) delete areas[area];
    }
  }
  const mf = new MessageFormat(Object.keys(catalogs), { strict: false, currency: 'USD' });
  for (const [tag, areas] of Object.entries(catalogs)) {
    const one = new MessageFormat(tag);
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

/**
 * LANG's catalog of the areas ONLY (a Set, or null for all) as the bytes of one self-contained ES module
 * (the message runtime bundled in, nothing imported at run time) whose default export is
 * { key: (params) => string }: what the build writes as that language's file and lib/i18n.js imports.
 * ESBUILD is the esbuild module; WEB_DIR the folder whose node_modules hold @messageformat/runtime.
 */
export async function catalogModule(esbuild, webDir, localesDir, only, lang) {
  const compiled = compileCatalogs(localesDir, only, lang); // a CatalogError names the file and key
  const source = `import all from 'consilience:catalog';\nexport default all[${JSON.stringify(lang)}];\n`;
  const built = await esbuild.build({
    stdin: { contents: source, resolveDir: webDir, loader: 'js', sourcefile: `catalog-${lang}.js` },
    absWorkingDir: webDir,
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120'],
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'error',
    plugins: [{
      name: 'consilience-catalog',
      setup(b) {
        b.onResolve({ filter: /^consilience:catalog$/ }, () => ({ path: lang, namespace: 'consilience-catalog' }));
        b.onLoad({ filter: /.*/, namespace: 'consilience-catalog' }, () => ({ contents: compiled, loader: 'js', resolveDir: webDir }));
      },
    }],
  });
  return built.outputFiles[0].contents;
}
