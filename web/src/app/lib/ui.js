// Small DOM helpers shared by the reporter and counselor pages: no framework, no innerHTML
// with data (everything user-supplied goes through textContent), focus management and
// aria-live announcements for progress and errors. Their words come from the "app" catalog
// (web/src/app/locales/<lang>/app.json), in the language the person reads the page in.
import { t, has, formatDateTime, formatNumber, language, onLanguageChange } from './i18n.js';
import { setRequestLanguage } from '../../sdk/clients/api.js';
import { ConsilienceError, Phrase } from '../../sdk/errors.js';

// Every request to the escrow server asks for the page's language, read at each request, so error
// details and the server's own lists follow a change of language.
setRequestLanguage(language);

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/** Create an element: el('p', {class: 'meta'}, 'text', child, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Show exactly one [data-view] section and move focus to its heading. */
export function showView(name, { focus = true } = {}) {
  let shown = null;
  for (const section of $$('[data-view]')) {
    const on = section.dataset.view === name;
    section.hidden = !on;
    if (on) shown = section;
  }
  if (shown && focus) {
    const heading = shown.querySelector('h1');
    (heading || shown).focus({ preventScroll: false });
    window.scrollTo(0, 0);
  }
  return shown;
}

// --- notices -------------------------------------------------------------------------------
//
// #alert (role=alert, tabindex=-1) holds the one error a person needs to act on, #note (a polite
// status) the result of what they just did; both sit at the top of <main>, under #progress (the
// steps of the work that ran). Whatever the page had scrolled to, a message is brought into view
// (with the steps above it when they fit), and an error also takes the focus, so it is seen and
// read where the person is, not above the fold.

let notices = 0; // how many times the notices changed: see noticeMark()

// What this page says is said again in the new language after a change of language (the picker):
// each notice, field error and list of steps keeps how to make its text (a function calling t()),
// and is made again in place while it is still on screen as it was shown. A text given as a plain
// string stays as it is, so callers give a function wherever the words come from a catalog.
const textOf = (v) => (typeof v === 'function' ? v() : v);
let shownNotice = null; // { box, fill, text }: the notice on screen and how to fill it again
const shownFieldErrors = new Map(); // input → { make, text }
let shownSteps = null; // the Steps on screen

function sayAgain() {
  const n = shownNotice;
  if (n) {
    if (n.box.textContent !== n.text) shownNotice = null;
    else { n.fill(); n.text = n.box.textContent; }
  }
  for (const [input, e] of shownFieldErrors) {
    const box = document.getElementById(`${input.id}-error`);
    if (!input.isConnected || !box || box.hidden || box.textContent !== e.text) { shownFieldErrors.delete(input); continue; }
    box.textContent = textOf(e.make);
    e.text = box.textContent;
  }
  if (shownSteps && !shownSteps.sayAgain()) shownSteps = null;
}
onLanguageChange(sayAgain);

/** Show a notice in BOX made by FILL(box), to be made again after a change of language. */
function keepNotice(box, fill) {
  fill();
  shownNotice = { box, fill, text: box.textContent };
}

/**
 * A mark that changes whenever a notice is shown or cleared. Work that finishes in the background
 * (the backup after joining) speaks only if the mark is unchanged, so it never replaces the outcome
 * of something the person did since.
 */
export function noticeMark() {
  return notices;
}

export function clearNotices() {
  notices += 1;
  shownNotice = null;
  $('#alert').textContent = '';
  $('#note').textContent = '';
}

/**
 * Put text in a notice: one paragraph per line ("\n"), plain text when there is one line and
 * no `command` (between backticks: shown as code, kept on one line, copied as typed).
 */
export function fillNotice(box, text) {
  box.textContent = '';
  const lines = String(text).split('\n').map((l) => l.trim()).filter(Boolean);
  const inline = (line) => line.split('`').map((part, i) => (i % 2 ? el('code', {}, part) : part));
  if (lines.length <= 1 && !String(text).includes('`')) box.textContent = lines[0] || '';
  else if (lines.length <= 1) box.append(...inline(lines[0] || ''));
  else box.append(...lines.map((l) => el('p', {}, inline(l))));
}

/** Scroll `node` into view, with the progress steps above it when both fit the window. */
export function bringIntoView(node) {
  const progress = $('#progress');
  const withSteps = progress && progress.childElementCount > 0
    && (progress.compareDocumentPosition(node) & Node.DOCUMENT_POSITION_FOLLOWING);
  const top = (withSteps ? progress : node).getBoundingClientRect().top;
  const { bottom } = node.getBoundingClientRect();
  const margin = 16;
  if (top >= margin && bottom <= window.innerHeight - margin) return; // already in view
  if (bottom - top + 2 * margin <= window.innerHeight) window.scrollBy(0, top - margin);
  else node.scrollIntoView({ block: 'start' });
}

/**
 * An error people can act on: announced (role=alert), brought into view and focused. ERR (an error,
 * or a function giving one) is said by describeError after PREFIX (text, or a function giving it);
 * AFTER(box) adds what follows the words (a link, a button), again after a change of language.
 * An SDK error the person cannot fix keeps the SDK's English as a technical detail (technicalDetail).
 */
export function showError(err, prefix = '', { after = null } = {}) {
  notices += 1;
  const box = $('#alert');
  $('#note').textContent = '';
  keepNotice(box, () => {
    const e = textOf(err);
    const before = textOf(prefix);
    const text = describeError(e);
    fillNotice(box, before ? `${before}${text.includes('\n') ? '\n' : ' '}${text}` : text);
    const detail = technicalDetail(e);
    if (detail) box.append(detail);
    after?.(box);
  });
  bringIntoView(box);
  box.focus({ preventScroll: true });
}

/**
 * The outcome of what the person did (a polite status): TEXT, or a function giving it. Brought into
 * view unless QUIET (said while the person may be writing something); focus stays.
 */
export function showNote(text, { quiet = false } = {}) {
  notices += 1;
  const box = $('#note');
  $('#alert').textContent = '';
  keepNotice(box, () => fillNotice(box, textOf(text)));
  if (!quiet) bringIntoView(box);
}

/**
 * "1 receipt", "2 receipts": English only, kept for the callers that still build their words in code.
 * @deprecated Put the words in a catalog as an ICU plural and call t(key, { count: n }) (lib/i18n.js),
 * e.g. "{count, plural, one {# receipt} other {# receipts}}": every language then gets its own plural
 * forms (Arabic has six) and its own digits; countText below does the same from here.
 */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** The message KEY with COUNT (and PARAMS) filled in: KEY's ICU plural on {count} picks the form. */
export function countText(key, count, params = {}) {
  return t(key, { ...params, count });
}

/**
 * Text with line-break opportunities where an address or code reads well split: after
 * "@", "/" and ":", before "." (a <wbr>, which adds nothing to the text), so a long id wraps
 * at those points instead of mid-word or off the screen.
 */
export function breakable(text) {
  const frag = document.createDocumentFragment();
  for (const part of String(text).split(/(?<=[@/:])|(?=\.)/)) {
    if (frag.childNodes.length) frag.append(document.createElement('wbr'));
    frag.append(part);
  }
  return frag;
}

/**
 * Field-level error next to its input (aria-invalid + aria-describedby target). MESSAGE is text or a
 * function giving it (said again after a change of language); '' clears it.
 */
export function fieldError(input, message) {
  const box = document.getElementById(`${input.id}-error`);
  const text = textOf(message);
  if (text) {
    input.setAttribute('aria-invalid', 'true');
    if (box) { box.textContent = text; box.hidden = false; }
    if (box && typeof message === 'function') shownFieldErrors.set(input, { make: message, text: box.textContent });
    else shownFieldErrors.delete(input);
  } else {
    input.removeAttribute('aria-invalid');
    if (box) { box.textContent = ''; box.hidden = true; }
    shownFieldErrors.delete(input);
  }
}

export function clearFieldErrors(form) {
  for (const input of $$('[aria-invalid]', form)) fieldError(input, '');
  for (const box of $$('.field-error', form)) { box.textContent = ''; box.hidden = true; }
}

/**
 * Plain-language description of an error from the SDK, the API or the browser. An error a page makes
 * with its own words carries their message key (`key`, `params`): said from the catalog each time.
 */
export function describeError(err) {
  if (!err) return t('app.ui.error.unknown');
  if (typeof err.key === 'string' && has(err.key)) return t(err.key, err.params || {});
  const status = err.status ?? err.response?.status;
  const detail = err.detail || '';
  const retry = err.retryAfter ?? err.retry_after;
  if (err.name === 'TypeError' && /fetch|network|Failed/i.test(err.message || '')) {
    return t('app.ui.error.unreachable');
  }
  if (status === 0) return t('app.ui.error.unreachable.detail', { detail: detail || err.message });
  if (status === 429) {
    return retry ? t('app.ui.error.tooMany.wait', { wait: waitText(Number(retry)) }) : t('app.ui.error.tooMany');
  }
  const keyServersLimiting = err.name === 'KeyServerUnavailable' ? keyServersWait(err) : null;
  if (keyServersLimiting !== null) {
    return keyServersLimiting ? t('app.ui.error.keyServers.tooMany.wait', { wait: waitText(keyServersLimiting) })
      : t('app.ui.error.keyServers.tooMany');
  }
  if (status === 401) return t('app.ui.error.unauthorized');
  if (status === 503) return t('app.ui.error.unavailable');
  if (status === 413 && ['over_storage_quota', 'too_many_entries'].includes(err.code)) {
    return t('app.ui.error.quota', { detail });
  }
  if (status === 413) return t('app.ui.error.tooLarge');
  if (status && status >= 500) return t('app.ui.error.server', { status: String(status) });
  if (status) return detail ? t('app.ui.error.refused.detail', { detail }) : t('app.ui.error.refused', { status: String(status) });
  const said = sdkText(err);
  if (said !== null) return said;
  // an SDK error the person cannot fix: a plain sentence in their language (the SDK's English is kept
  // as a technical detail, see technicalDetail); in English the SDK's own sentence, as it always was
  if (err instanceof ConsilienceError) return language() === 'en' ? err.message : t('app.sdk.unexplained');
  return err.message || String(err);
}

/**
 * An SDK error or phrase (sdk/errors.js: { code, params }) in the page's language, from the catalog key
 * app.sdk.<code>, its phrases and lists said the same way; null when it has no code or the catalog no
 * words for it.
 */
export function sdkText(said) {
  if (!said || typeof said.code !== 'string' || said.status !== undefined) return null; // an ApiError's code is the server's
  if (said instanceof Error && !(said instanceof ConsilienceError)) return null;
  const key = `app.sdk.${said.code}`;
  if (!has(key)) return null;
  const params = {};
  for (const [name, value] of Object.entries(said.params || {})) params[name] = sdkValue(value);
  return t(key, params);
}

function sdkValue(value) {
  if (Array.isArray(value)) return value.map(sdkValue).join(t('app.sdk.separator'));
  if (value instanceof Phrase) return sdkText(value) ?? value.text;
  return value;
}

/**
 * Why an item could not be shown or used (FAILURE: the SDK's error, or phrase, kept with the item), as a
 * part of a sentence in the page's language; in English the SDK's own words, as before.
 */
export function problemText(failure, english = String(failure?.message ?? failure ?? '')) {
  const words = failure ? sdkText(failure) : null;
  if (words !== null) return words;
  return language() === 'en' || !(failure instanceof ConsilienceError) ? english : t('app.sdk.unchecked');
}

/**
 * For an SDK error without words in the page's language: a closed "Technical detail" holding the SDK's
 * English (lang="en", left to right), for whoever helps the person; null otherwise.
 */
export function technicalDetail(err) {
  if (!(err instanceof ConsilienceError) || language() === 'en' || sdkText(err) !== null || err.status !== undefined) return null;
  if (err.name === 'KeyServerUnavailable' && keyServersWait(err) !== null) return null;
  return el('details', { class: 'technical' }, el('summary', {}, t('app.sdk.detail')),
    el('p', { lang: 'en', dir: 'ltr' }, err.message));
}

/**
 * When every key server that did not answer is limiting requests (sdk/clients/oprf_client.js
 * KeyServerUnavailable): the seconds to wait (0 when none was said); null otherwise.
 */
function keyServersWait(err) {
  const whys = (err.params?.reasons || []).map((r) => r.params?.why);
  if (!whys.length || !whys.every((w) => w?.code === 'keyServer.limiting' || w?.code === 'keyServer.limitingFor')) return null;
  return Math.max(...whys.map((w) => Number(w.params.wait || 0)));
}

/** "40 seconds", "a minute", "3 minutes": a Retry-After in words. */
function waitText(seconds) {
  const s = Math.max(1, Math.ceil(seconds || 0));
  if (s < 60) return t('app.ui.wait.seconds', { count: s });
  return t('app.ui.wait.minutes', { count: Math.ceil(s / 60) });
}

// --- progress ------------------------------------------------------------------------------

/**
 * A list of named steps in the #progress live region.  Each step moves
 * waiting → doing → done (or failed); a step may carry a <progress> bar.
 * The title and each label are text or a function giving it: the functions are said again after a
 * change of language while the steps are on screen.
 */
export class Steps {
  constructor(title, labels) {
    this.box = $('#progress');
    this.box.textContent = '';
    this.items = new Map();
    this.list = el('ol', { class: 'steps' });
    this.texts = [];
    for (const [key, label] of labels) {
      const li = el('li', { 'data-state': 'waiting' }, textOf(label));
      this.items.set(key, li);
      this.list.append(li);
      this.texts.push([li, label]);
    }
    this.title = el('p', { class: 'label' }, textOf(title));
    this.texts.push([this.title, title]);
    this.box.append(this.title, this.list);
    shownSteps = this;
    bringIntoView(this.box); // the work is shown where the person is looking
  }

  /** Say the title and labels again (after a change of language); false once the steps are gone. */
  sayAgain() {
    if (!this.list.isConnected) return false;
    for (const [node, text] of this.texts) {
      if (typeof text !== 'function' || node.firstChild?.nodeType !== Node.TEXT_NODE) continue;
      node.firstChild.data = text();
      node.querySelector('progress')?.setAttribute('aria-label', node.firstChild.data);
    }
    return true;
  }

  start(key) {
    const li = this.items.get(key);
    li.dataset.state = 'doing';
    return li;
  }

  bar(key) {
    const li = this.items.get(key);
    let bar = li.querySelector('progress');
    if (!bar) {
      bar = el('progress', { max: '100', value: '0', 'aria-label': li.firstChild.textContent });
      li.append(bar);
    }
    return (fraction) => { bar.value = Math.round(Math.min(1, Math.max(0, fraction)) * 100); };
  }

  done(key, note) {
    const li = this.items.get(key);
    li.dataset.state = 'done';
    li.querySelector('progress')?.remove();
    if (note) li.append(el('span', { class: 'visually-hidden' }, ` (${note})`));
  }

  fail(key) {
    const li = this.items.get(key);
    if (li) { li.dataset.state = 'failed'; li.querySelector('progress')?.remove(); }
  }

  /** Follow an SDK workflow's onStep(step, state): state 'start', 'done' or 'failed'. */
  track(key, state) {
    if (state === 'start') this.start(key);
    else if (state === 'done') this.done(key);
    else this.fail(key);
  }

  /** Run fn as step key, marking it failed (and rethrowing) on error. */
  async run(key, fn) {
    this.start(key);
    try {
      const out = await fn();
      this.done(key);
      return out;
    } catch (err) {
      this.fail(key);
      throw err;
    }
  }

  clear() { this.box.textContent = ''; }
}

/** Disable a form's controls while work runs (and mark it aria-busy). */
export async function busy(form, fn) {
  const controls = $$('button, input, select, textarea', form).filter((c) => !c.disabled);
  form.setAttribute('aria-busy', 'true');
  controls.forEach((c) => { c.disabled = true; });
  try {
    return await fn();
  } finally {
    controls.forEach((c) => { c.disabled = false; });
    form.removeAttribute('aria-busy');
  }
}

// --- files ---------------------------------------------------------------------------------

const liveUrls = new Set();

/** A download link for bytes or text, via a blob: URL (revoked by revokeUrls). */
export function downloadLink(label, data, filename, type = 'application/octet-stream') {
  const url = URL.createObjectURL(new Blob([data], { type }));
  liveUrls.add(url);
  return el('a', { href: url, download: filename }, label);
}

export function revokeUrls() {
  for (const url of liveUrls) URL.revokeObjectURL(url);
  liveUrls.clear();
}

/** Save bytes or text as a file now (a click on a temporary blob: link). */
export function saveFile(data, filename, type = 'application/octet-stream') {
  const a = downloadLink(t('app.ui.download'), data, filename, type);
  a.hidden = true;
  document.body.append(a);
  a.click();
  setTimeout(() => { a.remove(); URL.revokeObjectURL(a.href); liveUrls.delete(a.href); }, 10000);
}

export function readFileBytes(file) {
  return file.arrayBuffer().then((b) => new Uint8Array(b));
}

/** A file's size in the page's language: "120 bytes", "14 KB", "2.5 MB" (the locale's digits). */
export function formatBytes(n) {
  if (n < 1024) return t('app.ui.bytes', { count: n });
  // no grouping, as before: "1023 KB", never "1,023 KB"
  if (n < 1024 * 1024) return t('app.ui.kilobytes', { size: formatNumber(n / 1024, { maximumFractionDigits: 0, useGrouping: false }) });
  return t('app.ui.megabytes', { size: formatNumber(n / 1024 / 1024,
    { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false }) });
}

/** A date and time (ISO text, Date or epoch ms) in the page's language; what is not a date is shown as it is. */
export function formatDate(iso) {
  if (!iso && iso !== 0) return '';
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return formatDateTime(d, { dateStyle: 'medium', timeStyle: 'short' });
}

// --- passphrases ---------------------------------------------------------------------------

/** A rough, honest strength hint (length and variety; no dictionary), for any script. */
export function passphraseStrength(p) {
  if (!p) return { level: '', text: '' };
  const words = p.trim().split(/\s+/).filter(Boolean).length;
  let classes = 0;
  // lower case, upper case, letters of scripts without case (Arabic), digits, anything else
  for (const re of [/\p{Ll}/u, /\p{Lu}/u, /\p{Lo}/u, /\p{Nd}/u, /[^\p{L}\p{N}\s]/u]) if (re.test(p)) classes += 1;
  const score = p.length + (words >= 3 ? 8 : 0) + classes * 2;
  if (p.length < 10 || score < 16) return { level: 'weak', text: t('app.ui.strength.weak') };
  if (score < 26) return { level: 'fair', text: t('app.ui.strength.fair') };
  return { level: 'good', text: t('app.ui.strength.good') };
}

// --- navigation ----------------------------------------------------------------------------

let router = async () => {};

export function setRouter(fn) { router = fn; }

/** Go to a #/view and render it now (awaitable, unlike a hashchange). The current history entry is replaced,
 * never added to (PROTOCOL.md §14.2): the tab keeps one entry of the app, which "Leave quickly" replaces. */
export async function go(hash) {
  if (window.location.hash !== hash) window.history.replaceState(null, '', hash);
  await router();
}
