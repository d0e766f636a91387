// Build the Consilience web app into src/consilience/web/static/ (served by `consilience serve`).
//
//   node web/build.mjs            (after `npm ci --prefix web`; ./scripts/build-web does both)
//   node web/build.mjs --out DIR  (build elsewhere, e.g. a test's own folder; serve it with
//                                  CONSILIENCE_WEB_STATIC=DIR consilience serve)
//
// Layout of web/src/app/ (what the build takes):
//   *.js          each top-level file is an entry point (reporter.js, counselor.js, a worker such
//                 as argon2-worker.js), bundled by esbuild with everything it imports (the SDK in
//                 web/src/sdk, the npm modules) into one self-contained ES module of the same name.
//                 Modules that are only imported live in subfolders (web/src/app/lib/...).
//   *.html *.css  copied as they are (index.html is the reporter app at /, counselor.html the
//                 counselor app at /counselor/; reference files by absolute path: /reporter.js).
//   assets/       copied recursively (icons, fonts, images).
//   locales/<lang>/<area>.json  the message catalogs (ICU MessageFormat), compiled here into plain
//                 functions; a message that does not parse fails the build, naming its file and key.
//                 Each entry point gets only the areas its own modules and the pages that load it
//                 name (a first bundling pass lists its modules): the reporter's first page does not
//                 carry the counselor's words. And it gets them one language per file:
//                 i18n/<entry>.<lang>.<hash>.js, a self-contained ES module named by its content's
//                 hash, which lib/i18n.js imports (through the module 'consilience:messages', a
//                 table of those files made here) for the language it shows, and for another only
//                 when the person picks it. A page in Spanish never downloads the English words.
// The output also holds manifest.json: the SHA-256 of every file, so a build can be checked (and the
// service worker keeps exactly those files for offline use, every language's included), and under
// "languages" each entry point's catalog file per language.
// Any error (esbuild's, a missing folder, an import left unbundled) fails the build with exit 1;
// the previous output is replaced only when the whole build succeeded.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CatalogError, LANGS, areasNamed, catalogModule } from './scripts/messages.mjs';

const webDir = dirname(fileURLToPath(import.meta.url));
const appDir = join(webDir, 'src', 'app');
const localesDir = join(appDir, 'locales');
/** The output folder of the catalogs, one file per entry point and language. */
const CATALOG_DIR = 'i18n';
const outArg = process.argv.indexOf('--out');
if (outArg !== -1 && !process.argv[outArg + 1]) {
  console.error('web build failed: --out needs a folder');
  process.exit(1);
}
const outDir = outArg === -1 ? resolve(webDir, '..', 'src', 'consilience', 'web', 'static')
  : resolve(process.argv[outArg + 1]);

function fail(message) {
  console.error(`web build failed: ${message}`);
  process.exit(1);
}

let esbuild;
try {
  esbuild = await import('esbuild');
} catch (err) {
  fail(`esbuild is not installed (run: npm ci --prefix web): ${err.message}`);
}

if (!existsSync(appDir) || !statSync(appDir).isDirectory()) {
  fail(`${relative(process.cwd(), appDir) || appDir} does not exist: nothing to build`);
}
const top = readdirSync(appDir, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name).sort();
const entries = top.filter((n) => n.endsWith('.js'));
const copied = top.filter((n) => n.endsWith('.html') || n.endsWith('.css'));
if (entries.length === 0) fail('web/src/app has no entry point (*.js)');
if (!copied.some((n) => n.endsWith('.html'))) fail('web/src/app has no page (*.html)');

const tmpDir = `${outDir}.tmp-${process.pid}`;
rmSync(tmpDir, { recursive: true, force: true });
mkdirSync(tmpDir, { recursive: true });

const common = {
  absWorkingDir: webDir,
  outdir: tmpDir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome120'],
  minify: true,
  // The app tells errors apart by name (DecryptionError, KeyServerUnavailable): keep class names.
  keepNames: true,
  sourcemap: false,
  splitting: false,
  legalComments: 'none',
  charset: 'utf8',
  metafile: true,
  logLevel: 'warning',
  // Nothing may be left for the browser to fetch from elsewhere.
  external: [],
};

/**
 * 'consilience:messages' for an entry point whose catalogs are FILES ({ lang: path in the output }):
 * no catalog bundled, and load(lang) importing that language's file. The path is relative to the
 * bundle (entry points sit at the top of the output), so the import resolves beside the script that
 * makes it, on any page; the browser fetches it only when load() runs. FILES null: the listing pass.
 */
function messagesPlugin(files) {
  const table = Object.fromEntries(Object.entries(files || {}).map(([lang, path]) => [lang, `./${path}`]));
  const contents = `const files = ${JSON.stringify(table)};\n`
    + 'export const bundled = {};\n'
    + 'export default function load(lang) { return import(files[lang]).then((m) => m.default); }\n';
  return {
    name: 'consilience-messages',
    setup(b) {
      b.onResolve({ filter: /^consilience:messages$/ }, () => ({ path: 'messages', namespace: 'consilience-messages' }));
      b.onLoad({ filter: /.*/, namespace: 'consilience-messages' }, () => ({ contents, loader: 'js', resolveDir: webDir }));
    },
  };
}

/** ENTRY's catalogs of AREAS, one file per language written into the output: { lang: path }. */
async function writeCatalogs(entry, areas) {
  const files = {};
  mkdirSync(join(tmpDir, CATALOG_DIR), { recursive: true });
  for (const lang of LANGS) {
    const bytes = await catalogModule(esbuild, webDir, localesDir, areas, lang);
    const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    const path = `${CATALOG_DIR}/${entry.replace(/\.js$/, '')}.${lang}.${hash}.js`;
    writeFileSync(join(tmpDir, path), bytes);
    files[lang] = path;
  }
  return files;
}

// @hpke/common and mlkem fall back to `await import("crypto")` on Node <= 18 only, after
// globalThis.crypto is found missing; browsers never reach it: bundle an empty module.
const noNodeCrypto = {
  name: 'no-node-crypto',
  setup(b) {
    b.onResolve({ filter: /^(node:)?crypto$/ }, () => ({ path: 'crypto', namespace: 'empty-node-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'empty-node-builtin' }, () => ({ contents: 'export const webcrypto = undefined;', loader: 'js' }));
  },
};

/** The areas ENTRY can show: named in the app's modules it bundles, or in a page that loads it; always common. */
function areasOf(entry, inputs) {
  const areas = new Set(['common']);
  const sources = inputs.filter((p) => resolve(webDir, p).startsWith(appDir + sep)).map((p) => resolve(webDir, p));
  for (const page of copied.filter((n) => n.endsWith('.html'))) {
    if (readFileSync(join(appDir, page), 'utf8').includes(`/${entry}"`)) sources.push(join(appDir, page));
  }
  for (const path of sources) for (const area of areasNamed(readFileSync(path, 'utf8'))) areas.add(area);
  return areas;
}

let result;
/** { entry: { lang: catalog file } } for the entry points that show words. */
const languages = {};
try {
  // first pass, written nowhere: which modules each entry point bundles
  const listing = await esbuild.build({ ...common, write: false, minify: false, entryPoints: entries.map((n) => join(appDir, n)),
    plugins: [messagesPlugin(null), noNodeCrypto] });
  const outputs = {};
  for (const built of await Promise.all(entries.map((entry) => {
    const output = Object.values(listing.metafile.outputs).find((o) => o.entryPoint && o.entryPoint.endsWith(`app/${entry}`));
    const inputs = Object.keys(output.inputs);
    if (!inputs.includes('consilience-messages:messages')) {
      return esbuild.build({ ...common, entryPoints: [join(appDir, entry)], plugins: [messagesPlugin(null), noNodeCrypto] });
    }
    return writeCatalogs(entry, areasOf(entry, inputs)).then((files) => {
      languages[entry] = files;
      return esbuild.build({ ...common, entryPoints: [join(appDir, entry)], plugins: [messagesPlugin(files), noNodeCrypto] });
    });
  }))) Object.assign(outputs, built.metafile.outputs);
  result = { metafile: { outputs } };
} catch (err) {
  rmSync(tmpDir, { recursive: true, force: true });
  if (err instanceof CatalogError) fail(err.message);
  // esbuild has already printed the located errors.
  fail(`esbuild reported ${err.errors?.length ?? 'some'} error(s)`);
}

for (const [file, output] of Object.entries(result.metafile.outputs)) {
  const left = output.imports.filter((i) => i.external);
  if (left.length > 0) {
    rmSync(tmpDir, { recursive: true, force: true });
    fail(`${file} still imports ${left.map((i) => i.path).join(', ')} at run time`);
  }
}

for (const name of copied) cpSync(join(appDir, name), join(tmpDir, name));
const assets = join(appDir, 'assets');
if (existsSync(assets)) cpSync(assets, join(tmpDir, 'assets'), { recursive: true });

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]);
}
const files = {};
for (const path of walk(tmpDir).sort()) {
  const name = relative(tmpDir, path).split(sep).join('/');
  const bytes = readFileSync(path);
  files[name] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}
const sorted = Object.fromEntries(Object.keys(languages).sort().map((entry) => [entry, languages[entry]]));
const manifest = { format: 'consilience-web-manifest/v1', esbuild: esbuild.version, files, languages: sorted };
writeFileSync(join(tmpDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

rmSync(outDir, { recursive: true, force: true });
mkdirSync(dirname(outDir), { recursive: true });
renameSync(tmpDir, outDir);
const total = Object.values(files).reduce((sum, f) => sum + f.bytes, 0);
// A status line, not output: stderr, so a script's stdout stays its own (./scripts/demo --json).
console.error(`web app built: ${Object.keys(files).length} files, ${(total / 1024).toFixed(0)} KiB in ${relative(process.cwd(), outDir) || outDir}`);
