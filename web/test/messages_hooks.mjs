// Node module hooks that let tests import the app's modules (lib/i18n.js and what imports it). The
// build gives lib/i18n.js the virtual module 'consilience:messages': `bundled` (the catalogs already in
// memory: none in the app, where each language is its own file) and `load(lang)` (that language's file,
// imported). Here, by default, every language's catalog is compiled from web/src/app/locales and
// bundled, so a test can switch language and read the words at once, as the app does once a file is in.
// The compiled source is served from a URL beside messages.mjs so that its imports of
// @messageformat/runtime resolve in web/node_modules.
//
//   import { register } from 'node:module';
//   register('./messages_hooks.mjs', import.meta.url);
//   const i18n = await import('../src/app/lib/i18n.js');   // dynamic: after the hook is in place
//
// or for a whole run: node --import ./test/register_messages.mjs --test test/...
//
// With data { catalogDir } (register(..., { data: { catalogDir } })) nothing is bundled and load(lang)
// imports catalogDir/<lang>.mjs, as the app imports its files: a test of the loader writes them there
// (messages.mjs catalogModule, what the build writes), or leaves one out.
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const LOCALES = path.join(here, '..', 'src', 'app', 'locales');
const COMPILED = `${pathToFileURL(path.join(here, '..', 'scripts', 'compiled-messages.mjs')).href}`;
const LOADER = `${pathToFileURL(path.join(here, '..', 'scripts', 'messages-loader.mjs')).href}`;

let catalogDir = null;

export async function initialize(data) {
  catalogDir = data?.catalogDir ?? null;
}

export async function resolve(specifier, context, next) {
  if (specifier === 'consilience:messages') return { url: LOADER, format: 'module', shortCircuit: true };
  if (specifier === COMPILED) return { url: COMPILED, format: 'module', shortCircuit: true };
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url === LOADER) {
    const source = catalogDir === null
      ? `import all from ${JSON.stringify(COMPILED)};\nexport const bundled = all;\n`
        + 'export default function load(lang) { return Promise.resolve(all[lang]); }\n'
      : `const dir = ${JSON.stringify(pathToFileURL(catalogDir).href)};\nexport const bundled = {};\n`
        + 'export default function load(lang) { return import(`${dir}/${lang}.mjs`).then((m) => m.default); }\n';
    return { format: 'module', source, shortCircuit: true };
  }
  if (url !== COMPILED) return next(url, context);
  const { compileCatalogs } = await import('../scripts/messages.mjs');
  return { format: 'module', source: compileCatalogs(LOCALES), shortCircuit: true };
}
