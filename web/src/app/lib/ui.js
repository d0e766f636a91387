// Small DOM helpers shared by the reporter and counselor pages: no framework, no innerHTML
// with data (everything user-supplied goes through textContent), focus management and
// aria-live announcements for progress and errors.

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
  $('#alert').textContent = '';
  $('#note').textContent = '';
}

/**
 * Put text in a notice: one paragraph per line ("\n"), plain text when there is one line and
 * no `command` (between backticks: shown as code, kept on one line, copied as typed).
 */
function fill(box, text) {
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

/** An error people can act on: announced (role=alert), brought into view and focused. */
export function showError(err, prefix = '') {
  notices += 1;
  const text = describeError(err);
  const box = $('#alert');
  $('#note').textContent = '';
  fill(box, prefix ? `${prefix}${text.includes('\n') ? '\n' : ' '}${text}` : text);
  bringIntoView(box);
  box.focus({ preventScroll: true });
}

/** The outcome of what the person did (a polite status), brought into view; focus stays. */
export function showNote(text) {
  notices += 1;
  const box = $('#note');
  $('#alert').textContent = '';
  fill(box, text);
  bringIntoView(box);
}

/** "1 receipt", "2 receipts"; `many` defaults to one + "s". */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
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

/** Field-level error next to its input (aria-invalid + aria-describedby target). */
export function fieldError(input, message) {
  const box = document.getElementById(`${input.id}-error`);
  if (message) {
    input.setAttribute('aria-invalid', 'true');
    if (box) { box.textContent = message; box.hidden = false; }
  } else {
    input.removeAttribute('aria-invalid');
    if (box) { box.textContent = ''; box.hidden = true; }
  }
}

export function clearFieldErrors(form) {
  for (const input of $$('[aria-invalid]', form)) fieldError(input, '');
  for (const box of $$('.field-error', form)) { box.textContent = ''; box.hidden = true; }
}

/** Plain-language description of an error from the SDK, the API or the browser. */
export function describeError(err) {
  if (!err) return 'Something went wrong.';
  const status = err.status ?? err.response?.status;
  const detail = err.detail || '';
  const retry = err.retryAfter ?? err.retry_after;
  if (err.name === 'TypeError' && /fetch|network|Failed/i.test(err.message || '')) {
    return 'The server could not be reached. Check your connection and try again; nothing was lost.';
  }
  if (status === 0) return `The server could not be reached. Check your connection and try again; nothing was lost. (${detail || err.message})`;
  if (status === 429) {
    return `Too many attempts for now. Please wait ${retry ? `about ${waitText(Number(retry))}` : 'a while'} and try again.`;
  }
  if (err.name === 'KeyServerUnavailable') {
    // every key server that did not answer is limiting requests: say how long to wait, as for the escrow server
    const waits = Object.values(err.skipped || {}).map((why) => /^is limiting requests for now(?: \(retry after (\d+) s\))?/.exec(why));
    if (waits.length && waits.every(Boolean)) {
      const wait = Math.max(...waits.map((m) => Number(m[1] || 0)));
      return `Too many attempts for now. Please wait ${wait ? `about ${waitText(wait)}` : 'a while'} and try again. Nothing was sent.`;
    }
    return err.message; // clients/oprf_client.js: Python's sentence, naming each key server and why
  }
  if (status === 401) return 'The server did not accept this wallet’s sign-in. The account may have been closed.';
  if (status === 503) return 'The server is temporarily unavailable. Please try again in a few minutes; nothing was lost.';
  if (status === 413 && ['over_storage_quota', 'too_many_entries'].includes(err.code)) {
    return `The server did not store this, because ${detail}. Nothing was stored; your record stays on this device as it was.`;
  }
  if (status === 413) return 'That is too large to send. Remove some attachments and try again.';
  if (status && status >= 500) return `The server had a problem (${status}). Please try again later; nothing was lost.`;
  if (status) return detail ? `The server refused this: ${detail}` : `The server refused this (${status}).`;
  return err.message || String(err);
}

/** "40 seconds", "a minute", "3 minutes": a Retry-After in words. */
function waitText(seconds) {
  const s = Math.max(1, Math.ceil(seconds || 0));
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  return m === 1 ? 'a minute' : `${m} minutes`;
}

// --- progress ------------------------------------------------------------------------------

/**
 * A list of named steps in the #progress live region.  Each step moves
 * waiting → doing → done (or failed); a step may carry a <progress> bar.
 */
export class Steps {
  constructor(title, labels) {
    this.box = $('#progress');
    this.box.textContent = '';
    this.items = new Map();
    const list = el('ol', { class: 'steps' });
    for (const [key, label] of labels) {
      const li = el('li', { 'data-state': 'waiting' }, label);
      this.items.set(key, li);
      list.append(li);
    }
    this.box.append(el('p', { class: 'label' }, title), list);
    bringIntoView(this.box); // the work is shown where the person is looking
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
  const a = downloadLink('download', data, filename, type);
  a.hidden = true;
  document.body.append(a);
  a.click();
  setTimeout(() => { a.remove(); URL.revokeObjectURL(a.href); liveUrls.delete(a.href); }, 10000);
}

export function readFileBytes(file) {
  return file.arrayBuffer().then((b) => new Uint8Array(b));
}

export function formatBytes(n) {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// --- passphrases ---------------------------------------------------------------------------

/** A rough, honest strength hint (length and variety; no dictionary). */
export function passphraseStrength(p) {
  if (!p) return { level: '', text: '' };
  const words = p.trim().split(/\s+/).filter(Boolean).length;
  let classes = 0;
  for (const re of [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9\s]/]) if (re.test(p)) classes += 1;
  const score = p.length + (words >= 3 ? 8 : 0) + classes * 2;
  if (p.length < 10 || score < 16) return { level: 'weak', text: 'Weak: use more words or characters.' };
  if (score < 26) return { level: 'fair', text: 'Fair: a few more words would make it much stronger.' };
  return { level: 'good', text: 'Strong.' };
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
