// The words a person reads, in their language. Messages come from the catalogs in
// web/src/app/locales/<lang>/<area>.json (ICU MessageFormat), compiled into plain functions when
// the app is built (web/scripts/messages.mjs): the pages' CSP forbids evaluating code, so nothing
// is parsed here. Each language's catalog is its own file (web/build.mjs), so a page downloads only
// the words it shows: this module imports the one of the language it starts in before any page
// code runs (a top-level await: every module that imports this one can call t() at once), and
// another only when the person picks it. English is the reference, but it is not loaded beside
// another language to fill gaps: web/test/i18n.test.js makes sure every language has every key.
//
// The language is the person's own choice when they made one (kept in this browser), otherwise the
// first of the browser's languages that the app ships (by primary subtag: es-MX is Spanish),
// otherwise English. Pages keep their English text in the markup, marked with data-i18n="key" (the
// element's text) and data-i18n-attr="aria-label:key;placeholder:key2" (attributes), so a page
// reads before the script runs; applyTranslations() fills them in the chosen language. A sentence
// with elements inside (a <strong>, a link) is marked data-i18n-parts="key" and each inner element
// data-i18n-part="name": the message holds {name} where that element goes, so a translation may put
// it anywhere in the sentence.
//
// Nothing here needs a browser until a page calls it: Node tests import this module (with
// web/test/messages_hooks.mjs resolving the compiled catalogs) without document, storage or navigator.
import loadCatalog, { bundled } from 'consilience:messages';

/** The shipped languages, each named in its own language. */
export const LANGUAGES = Object.freeze([
  Object.freeze({ tag: 'en', name: 'English' }),
  Object.freeze({ tag: 'es', name: 'Español' }),
  Object.freeze({ tag: 'ar', name: 'العربية' }),
]);

const RTL = new Set(['ar']);
const STORAGE_KEY = 'consilience.language';
const listeners = new Set();

function shipped(tag) {
  const primary = String(tag || '').toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.some((l) => l.tag === primary) ? primary : null;
}

function saved() {
  try {
    return shipped(globalThis.localStorage?.getItem(STORAGE_KEY));
  } catch {
    return null; // storage may be off (private mode, a locked-down browser)
  }
}

function fromBrowser() {
  const nav = globalThis.navigator;
  const wanted = nav ? [...(nav.languages || []), nav.language] : [];
  for (const tag of wanted) {
    const found = shipped(tag);
    if (found) return found;
  }
  return 'en';
}

/** The catalogs in memory, by language: { key: (params) => string }. */
const messages = { ...bundled };
const loading = new Map();

/** A language whose catalog file could not be had (offline, and not kept by the service worker). */
export class LanguageUnavailable extends Error {
  constructor(tag, cause) {
    super(`the ${tag} catalog could not be loaded`, { cause });
    this.name = 'LanguageUnavailable';
    this.language = tag;
  }
}

/** TAG's catalog, imported once; a failed import is not kept, so a later try (back online) may succeed. */
function catalog(tag) {
  if (messages[tag]) return Promise.resolve(messages[tag]);
  let pending = loading.get(tag);
  if (!pending) {
    pending = Promise.resolve()
      .then(() => loadCatalog(tag))
      .then((found) => {
        if (!found || typeof found !== 'object') throw new Error(`no messages in the ${tag} catalog`);
        messages[tag] = found;
        return found;
      }, (err) => { throw new LanguageUnavailable(tag, err); })
      .finally(() => loading.delete(tag));
    loading.set(tag, pending);
  }
  return pending;
}

let current = saved() || fromBrowser();
/** The language the page was meant to start in when its file could not be had (it then reads in English). */
let missedAtStart = null;
try {
  await catalog(current);
} catch (err) {
  if (current === 'en') throw err;
  missedAtStart = current;
  current = 'en';
  await catalog('en');
}

/** Defaults for the formatters when the browser names no region of the chosen language. */
const DEFAULT_LOCALE = { en: 'en', es: 'es', ar: 'ar' };

/** The BCP 47 tag the formatters use: the browser's own variant of the chosen language when it has one
 * (es-MX dates for a Mexican browser set to Spanish), else the language itself. */
export function locale(tag = current) {
  const nav = globalThis.navigator;
  const wanted = nav ? [...(nav.languages || []), nav.language] : [];
  for (const candidate of wanted) {
    if (typeof candidate !== 'string' || shipped(candidate) !== tag) continue;
    try {
      return Intl.getCanonicalLocales(candidate.replace(/_/g, '-'))[0];
    } catch {
      // a malformed tag from the browser: try the next one
    }
  }
  return DEFAULT_LOCALE[tag] || tag;
}

/** The current language's tag ('en', 'es', 'ar'). */
export function language() {
  return current;
}

/** 'rtl' for a language written right to left, else 'ltr'. */
export function direction(tag = current) {
  return RTL.has(tag) ? 'rtl' : 'ltr';
}

/** The message KEY in the current language with PARAMS filled in; the key itself when no catalog in memory has it. */
export function t(key, params = {}) {
  const fn = messages[current]?.[key] || messages.en?.[key];
  if (!fn) return key;
  return fn(params || {});
}

const OPEN = '\uE000';
const CLOSE = '\uE001';
const isNode = (v) => v !== null && typeof v === 'object' && typeof v.nodeType === 'number';

/**
 * The message KEY as a list of strings and DOM nodes: a parameter whose value is a node (an element
 * such as <strong> or <code>) appears as that node, wherever the translation puts it. Made for
 * el(…, ...tNodes(key, {button: strong})) and replaceChildren(); plain values are filled in as by t().
 */
export function tNodes(key, params = {}) {
  const nodes = {};
  const filled = {};
  for (const [name, value] of Object.entries(params || {})) {
    if (isNode(value)) {
      nodes[name] = value;
      filled[name] = `${OPEN}${name}${CLOSE}`;
    } else {
      filled[name] = value;
    }
  }
  const text = t(key, filled);
  const out = [];
  const re = new RegExp(`${OPEN}([^${CLOSE}]*)${CLOSE}`, 'g');
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(nodes[m[1]] ?? m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Whether the catalogs have KEY (for text that is looked up by a code the server sent). */
export function has(key) {
  return Boolean(messages[current]?.[key]);
}

/** Fill every [data-i18n] and [data-i18n-attr] under ROOT (ROOT included) in the current language. */
export function applyTranslations(root = globalThis.document) {
  if (!root) return;
  const all = (sel) => {
    const found = root.querySelectorAll ? Array.from(root.querySelectorAll(sel)) : [];
    if (root.matches?.(sel)) found.unshift(root);
    return found;
  };
  for (const node of all('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of all('[data-i18n-parts]')) {
    const parts = {};
    for (const part of node.querySelectorAll('[data-i18n-part]')) {
      if (part.parentElement === node) parts[part.dataset.i18nPart] = part;
    }
    node.replaceChildren(...tNodes(node.dataset.i18nParts, parts));
  }
  for (const node of all('[data-i18n-attr]')) {
    for (const pair of node.dataset.i18nAttr.split(';')) {
      const at = pair.indexOf(':');
      if (at < 1) continue;
      node.setAttribute(pair.slice(0, at).trim(), t(pair.slice(at + 1).trim()));
    }
  }
}

function applyDocument() {
  const html = globalThis.document?.documentElement;
  if (!html) return;
  html.lang = current;
  html.dir = direction();
}

/** The language the last setLanguage() asked for: a slower download of an earlier choice must not win. */
let wanted = null;

/** Make TAG the page's language (its catalog is in memory): keep the choice, set <html lang dir>,
 * re-translate the page, set the pickers, tell the listeners. */
function switchTo(tag) {
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, tag);
  } catch {
    // Storage may be off; the choice then lasts until the page is closed.
  }
  const changed = tag !== current;
  current = tag;
  applyDocument();
  if (globalThis.document) applyTranslations(document);
  setPickers();
  if (!changed) return;
  for (const fn of [...listeners]) {
    try {
      fn(current);
    } catch (err) {
      // one view failing to re-render must not keep the others in the old language
      queueMicrotask(() => { throw err; });
    }
  }
}

function setPickers() {
  for (const picker of globalThis.document?.querySelectorAll('select[data-language-picker]') || []) picker.value = current;
}

/**
 * Switch to TAG, loading its catalog first when it is not in memory yet. Returns a promise of the
 * language the page then reads in, settled after the listeners ran with the new words available; at
 * once (before this returns) when the catalog is in memory already. When the file cannot be had it
 * rejects with LanguageUnavailable and the page stays as it was, in its language, choice not saved.
 * An unshipped TAG throws.
 */
export function setLanguage(tag) {
  const found = shipped(tag);
  if (!found) throw new Error(`not a shipped language: ${tag}`);
  wanted = found;
  if (messages[found]) {
    switchTo(found);
    return Promise.resolve(current);
  }
  return catalog(found).then(() => {
    if (wanted === found) switchTo(found);
    return current;
  }, (err) => {
    if (wanted === found) setPickers();
    throw err;
  });
}

/** Call FN(tag) after every change of language; returns a function that stops it. */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function asDate(value) {
  return value instanceof Date ? value : new Date(value);
}

/** A date (Date, epoch ms or ISO text) in the current language, e.g. 12 mar 2024. */
export function formatDate(date, options = { dateStyle: 'medium' }) {
  return new Intl.DateTimeFormat(locale(), options).format(asDate(date));
}

/** A date and time in the current language. */
export function formatDateTime(date, options = { dateStyle: 'medium', timeStyle: 'short' }) {
  return new Intl.DateTimeFormat(locale(), options).format(asDate(date));
}

/** A time of day in the current language. */
export function formatTime(date, options = { timeStyle: 'short' }) {
  return new Intl.DateTimeFormat(locale(), options).format(asDate(date));
}

/** A number (or BigInt) in the current language (Arabic-Indic digits where the locale uses them). */
export function formatNumber(n, options = {}) {
  return new Intl.NumberFormat(locale(), options).format(n);
}

/** A list ("a, b and c") in the current language. */
export function formatList(items, options = { type: 'conjunction' }) {
  return new Intl.ListFormat(locale(), options).format([...items].map(String));
}

let pickers = 0;

/** Put a labelled language <select> into CONTAINER; choosing a language switches the page, and when that
 * language's words cannot be had (offline, not kept yet) a short notice says so beside it. */
export function mountLanguagePicker(container) {
  if (!container || !globalThis.document) return null;
  pickers += 1;
  const id = `language-picker-${pickers}`;
  const wrap = document.createElement('div');
  wrap.className = 'language-picker';
  const label = document.createElement('label');
  label.htmlFor = id;
  label.dataset.i18n = 'common.language.label';
  label.textContent = t('common.language.label');
  const select = document.createElement('select');
  select.id = id;
  select.dataset.languagePicker = '';
  for (const { tag, name } of LANGUAGES) {
    const option = document.createElement('option');
    option.value = tag;
    option.lang = tag;
    option.textContent = name;
    select.append(option);
  }
  select.value = current;
  const notice = document.createElement('span');
  notice.className = 'language-picker-notice';
  notice.setAttribute('role', 'status');
  notice.hidden = true;
  const say = (missed) => {
    notice.textContent = missed ? t('common.language.unavailable', { language: nameOf(missed) }) : '';
    notice.hidden = !missed;
  };
  select.addEventListener('change', () => {
    const tag = select.value;
    say(null);
    setLanguage(tag).catch((err) => {
      if (!(err instanceof LanguageUnavailable)) throw err;
      if (wanted === tag) say(tag);
    });
  });
  wrap.append(label, select, notice);
  container.append(wrap);
  if (missedAtStart) say(missedAtStart);
  return select;
}

function nameOf(tag) {
  return LANGUAGES.find((l) => l.tag === tag)?.name || tag;
}

applyDocument();
