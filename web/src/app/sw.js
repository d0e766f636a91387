// The service worker (served at /sw.js, scope /): the app opens with no network, so a person can unlock
// their wallet and write a private record offline; escrow needs the network and says so (reporter.js).
//
// Online, every file comes from the network first, so what runs is what the server serves (and what
// `consilience web verify` checks against the build's manifest.json). A copy is kept for when the
// network is gone: the files the manifest lists, each fetched and kept only if its SHA-256 is the one the
// manifest gives, in a cache named by the manifest's own hash. A new build (a new manifest) fills a new
// cache beside the old, which is dropped once the new one is whole, so offline the app is always one
// build's files, never a mix. Nothing else is kept: no API answer, no wallet (that stays in IndexedDB,
// sealed), nothing from another origin. The worker itself shows no words. Each language's words are a
// file of their own (i18n/<entry>.<lang>.<hash>.js), which a page imports for the language it shows;
// the manifest lists every language's, so all are kept, and a person offline can still change language.

const PREFIX = 'consilience-app-';
const MANIFEST = '/manifest.json';
/** The page settings (exit URL, auto-lock), needed by the safety controls offline too; not in the manifest. */
const CONFIG = '/app-config.json';
/** URLs the server answers with a file of another name (services/escrow/web.py PAGES). */
const PAGES = new Map([['/', 'index.html'], ['/counselor/', 'counselor.html']]);

self.addEventListener('install', (event) => {
  // a failed fill (offline, or a file that does not match the manifest) leaves the previous worker in place
  event.waitUntil(update().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

/** The app's own files by their names' shape (a file name with its extension), pages and the settings: what
 * is answered here. Everything else (the API, the log's tiles, manifest.json) goes straight to the network,
 * untouched. Decided without I/O: a worker the browser has just restarted answers at once. */
const APP_FILE = /^\/(?:counselor\/)?(?:assets\/|i18n\/)?[\w.-]+\.(?:js|css|html|ico|png|svg|woff2?|webmanifest)$/;

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.search) return;
  if (!PAGES.has(url.pathname) && url.pathname !== CONFIG && !APP_FILE.test(url.pathname)) return;
  event.respondWith(networkFirst(request, url.pathname));
  // a page opened online is the moment to notice a new build (a changed manifest), in the background
  if (request.mode === 'navigate') event.waitUntil(update().catch(() => {}));
});

async function networkFirst(request, path) {
  try {
    const answer = await fetch(request);
    if (path === CONFIG && answer.ok) await keep(path, answer.clone());
    return answer;
  } catch (err) {
    const kept = await (await current())?.match(path);
    if (kept) return kept;
    throw err;
  }
}

/** The cache of the newest whole build, or null (none yet): caches.keys() lists caches in the order they
 * were made, and a build's cache is made only once its files are all fetched and checked. */
async function current() {
  const names = (await caches.keys()).filter((n) => n.startsWith(PREFIX));
  return names.length ? caches.open(names[names.length - 1]) : null;
}

async function keep(path, response) {
  const cache = await current();
  if (cache) await cache.put(path, response);
}

async function sha256(bytes) {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))]
    .map((b) => b.toString(16).padStart(2, '0')).join('');
}

let updating = null;

/** One update at a time: two pages opened together would otherwise fill, and delete, the same cache. */
function update() {
  updating ??= fill().finally(() => { updating = null; });
  return updating;
}

/**
 * Keep the build the server now serves, if it is not kept already: every file its manifest lists,
 * checked against its hash. Throws (keeping nothing new) when the network fails or a file differs.
 */
async function fill() {
  const manifestAnswer = await fetch(MANIFEST, { cache: 'no-store' });
  if (!manifestAnswer.ok) throw new Error(`${MANIFEST}: HTTP ${manifestAnswer.status}`);
  const manifestBytes = await manifestAnswer.arrayBuffer();
  const name = `${PREFIX}${await sha256(manifestBytes)}`;
  const files = JSON.parse(new TextDecoder().decode(manifestBytes)).files;
  const paths = new Map(Object.entries(files).map(([file, info]) => [`/${file}`, info.sha256]));
  const existing = (await caches.keys()).filter((n) => n.startsWith(PREFIX));
  if (existing.length === 1 && existing[0] === name) return; // kept already, whole
  const taken = [];
  const pages = [...PAGES].filter(([, file]) => paths.has(`/${file}`));
  for (const [path, digest] of [...paths, ...pages.map(([url, file]) => [url, paths.get(`/${file}`)])]) {
    const answer = await fetch(path, { cache: 'no-cache' });
    if (!answer.ok) throw new Error(`${path}: HTTP ${answer.status}`);
    const body = await answer.arrayBuffer();
    if (await sha256(body) !== digest) throw new Error(`${path} is not the file the manifest lists`);
    taken.push([path, new Response(body, { headers: answer.headers })]);
  }
  const config = await fetch(CONFIG, { cache: 'no-store' }).catch(() => null);
  await caches.delete(name); // a half-filled cache of the same build, from an interrupted try
  const cache = await caches.open(name);
  for (const [path, response] of taken) await cache.put(path, response);
  if (config?.ok) await cache.put(CONFIG, config);
  await Promise.all(existing.filter((n) => n !== name).map((n) => caches.delete(n)));
}
