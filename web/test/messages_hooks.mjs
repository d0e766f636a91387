// Node module hooks that let tests import the app's modules (lib/i18n.js and what imports it):
// the build bundles the catalogs as the virtual module 'consilience:messages' (build.mjs); here the
// same compiled source is served for it, from a URL beside messages.mjs so that its imports of
// @messageformat/runtime resolve in web/node_modules.
//
//   import { register } from 'node:module';
//   register('./messages_hooks.mjs', import.meta.url);
//   const i18n = await import('../src/app/lib/i18n.js');   // dynamic: after the hook is in place
//
// or for a whole run: node --import ./test/register_messages.mjs --test test/...
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const LOCALES = path.join(here, '..', 'src', 'app', 'locales');
const VIRTUAL = `${pathToFileURL(path.join(here, '..', 'scripts', 'compiled-messages.mjs')).href}`;

export async function resolve(specifier, context, next) {
  if (specifier === 'consilience:messages') return { url: VIRTUAL, format: 'module', shortCircuit: true };
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url !== VIRTUAL) return next(url, context);
  const { compileCatalogs } = await import('../scripts/messages.mjs');
  return { format: 'module', source: compileCatalogs(LOCALES), shortCircuit: true };
}
