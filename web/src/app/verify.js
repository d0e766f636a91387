// The offline check of a disclosure (served at /verify.html, PROTOCOL.md §12 and §14.3): the person
// opens a disclosure file, the page runs protocol/disclosure.js verify() on it, and shows in plain
// words what was checked and what it proves, or why it was refused. The page makes no request
// while checking (its own CSP allows its own server only), so it works with the network off once
// loaded and nobody learns that a file was checked. It holds no key: quick exit (lib/safety.js)
// has nothing to forget.
//
// Every word comes from the verify catalog. The SDK's list of checks and its refusal reasons are
// English sentences; the page says the same from the result's fields (and from a table of the SDK's
// fixed reasons), so a result reads in the page's language and is said again when it changes.
import { $, el, downloadLink, formatBytes, revokeUrls } from './lib/ui.js';
import { DisclosureRefused, verify } from '../sdk/protocol/disclosure.js';
import { installSafety } from './lib/safety.js';
import {
  applyTranslations, formatDateTime, formatList, formatNumber, mountLanguagePicker, onLanguageChange, t, tNodes,
} from './lib/i18n.js';

const when = (date) => formatDateTime(date, { dateStyle: 'long', timeStyle: 'long' });
/** Leaf numbers and sizes are positions in the log: the locale's digits, no grouping (as the CLI prints them). */
const count = (n) => formatNumber(n, { useGrouping: false });
/** A piece that reads left to right inside a sentence of either direction (fingerprint, URL, field name). */
const ltr = (tag, text) => el(tag, { class: 'ltr', dir: 'ltr' }, String(text));

/** The SDK's fixed refusal reasons (protocol/disclosure.js) → their catalog keys. */
const REASONS = new Map([
  ['is missing or is not base64url text', 'verify.reason.notBase64'],
  ['is missing or is not an object', 'verify.reason.missingObject'],
  ['is not a whole number from 1 to 255', 'verify.reason.quorum'],
  ['is not a list of tags', 'verify.reason.tags'],
  ['is not a list of envelopes', 'verify.reason.envelopes'],
  ['is not an object', 'verify.reason.notObject'],
  ['a disclosure is a JSON object', 'verify.reason.notDisclosure'],
  ['is not a field of a disclosure', 'verify.reason.unknownField'],
  ['is missing', 'verify.reason.missing'],
  ['is not a time (RFC 3339)', 'verify.reason.time'],
  ['is not the administrator fingerprint you gave', 'verify.reason.fingerprint'],
  ['is missing or is not the signed document', 'verify.reason.deployment'],
  ['is not the key of the administrator whose fingerprint the file gives', 'verify.reason.adminKey'],
  ['is missing or is not text', 'verify.reason.missingText'],
  ["is not the entry the receipt's leaf records", 'verify.reason.entryId'],
  ['its ciphertexts are not the ones the log recorded (the content hash differs)', 'verify.reason.content'],
  ['does not open the escrowed record', 'verify.reason.bodyKey'],
  ['is not text', 'verify.reason.notText'],
]);

/** A refusal reason in the page's language; a technical one the table does not know stays as the SDK says it. */
function reasonText(reason) {
  const text = String(reason ?? '');
  if (REASONS.has(text)) return t(REASONS.get(text));
  let m = /^is not (consilience-disclosure\/\S+)$/.exec(text);
  if (m) return t('verify.reason.format', { format: m[1] });
  m = /^its leaf records a (\S+), not an entry$/.exec(text);
  if (m) return t('verify.reason.leafKind', { kind: m[1] });
  m = /^opened, but is not a record: ([\s\S]*)$/.exec(text);
  if (m) return t('verify.reason.notRecord', { detail: m[1] });
  return text;
}

function detailList(pairs) {
  const dl = el('dl', { class: 'details' });
  // what the person wrote keeps its own direction (an English record on an Arabic page)
  for (const [k, v] of pairs) if (v) dl.append(el('dt', {}, t(k)), el('dd', { class: 'user-text' }, v));
  return dl;
}

function writtenAt(value) {
  const date = new Date(value);
  return value && !Number.isNaN(date.getTime()) ? when(date) : value;
}

/** The checks verify() made, said from its result (the same steps as its English `checks`). */
function checkItems(r) {
  const items = [
    tNodes('verify.check.setup', { serial: count(r.deployment.serial), fingerprint: ltr('code', r.adminFingerprint) }),
    tNodes('verify.check.receipt', { origin: ltr('bdi', r.deployment.origin), leaf: count(r.leafIndex), size: count(r.treeSize) }),
    [t('verify.check.content')],
    [t('verify.check.body')],
  ];
  if (r.newerSize !== null && r.newerSize !== undefined) items.push([t('verify.check.newer', { size: count(r.newerSize) })]);
  for (const w of r.witnesses) items.push(tNodes('verify.check.witness', { name: ltr('bdi', w.name), time: when(w.at) }));
  return items.map((parts) => el('li', {}, ...parts));
}

function showResult(name, r) {
  const box = $('#verify-result');
  box.textContent = '';
  const d = r.details || {};
  const seen = r.witnesses.length
    ? r.witnesses.map((w) => el('li', {}, ...tNodes('verify.when.witness', { name: ltr('bdi', w.name), time: when(w.at) })))
    : [el('li', {}, t('verify.when.nowitness'))];
  box.append(
    el('div', { class: 'notice ok', id: 'verify-ok' },
      el('h2', { id: 'h-result' }, t('verify.ok.title')),
      el('p', {}, t('verify.ok.summary', { time: when(r.loggedAt) }))),
    el('section', { class: 'card', 'aria-labelledby': 'h-when' },
      el('h2', { id: 'h-when' }, t('verify.when.title')),
      el('ul', { id: 'verify-when' },
        el('li', {}, t('verify.when.logged', { time: when(r.loggedAt), leaf: count(r.leafIndex), size: count(r.treeSize) })),
        ...seen)),
    el('section', { class: 'card', 'aria-labelledby': 'h-record' },
      el('h2', { id: 'h-record' }, t('verify.record.title')),
      detailList([['verify.record.written', writtenAt(r.writtenAt)], ['verify.record.what', d.what],
        ['verify.record.when', d.when], ['verify.record.where', d.where], ['verify.record.witnesses', d.witnesses],
        ['verify.record.names', r.identifiers.length ? formatList(r.identifiers, { type: 'unit', style: 'short' }) : ''],
        ['verify.record.contact', r.contact]]),
      r.record ? el('div', { class: 'record-text', id: 'verify-text' }, r.record) : null,
      r.attachments.length ? el('div', {},
        el('h3', {}, t('verify.files.title')),
        el('ul', { class: 'files' }, r.attachments.map((a) => el('li', {},
          downloadLink(t('verify.files.link', { name: a.name, size: formatBytes(a.data.length) }), a.data, a.name, a.type))))) : null),
    el('section', { class: 'card', 'aria-labelledby': 'h-checked' },
      el('h2', { id: 'h-checked' }, t('verify.checked.title')),
      el('ol', { id: 'verify-checks' }, checkItems(r)),
      el('p', { class: 'hint' }, ...tNodes('verify.again', {
        file: ltr('bdi', name), command: ltr('code', 'consilience verify-disclosure FILE') }))));
}

function showRefusal(name, err) {
  const box = $('#verify-result');
  box.textContent = '';
  const reason = err instanceof DisclosureRefused
    ? tNodes('verify.refused.field', { field: ltr('code', err.field), reason: reasonText(err.reason) })
    : [t('verify.refused.unreadable', { reason: err?.notJson ? t('verify.reason.notJson') : reasonText(err?.message ?? err) })];
  box.append(el('div', { class: 'notice error', id: 'verify-refused', role: 'alert' },
    el('h2', {}, t('verify.refused.title')),
    el('p', { id: 'verify-reason' }, ...reason),
    el('p', {}, ...tNodes('verify.refused.advice', { file: ltr('bdi', name) }))));
}

/** What is on screen, to be said again in another language: the last file's outcome. */
let shown = null;

function render({ focus = false } = {}) {
  const status = $('#verify-status');
  if (!shown) return;
  if (shown.state === 'checking') {
    status.textContent = t('verify.status.checking', { file: shown.name });
    return;
  }
  if (shown.state === 'ok') {
    showResult(shown.name, shown.result);
    status.textContent = t('verify.status.ok', { file: shown.name });
  } else {
    showRefusal(shown.name, shown.error);
    status.textContent = t('verify.status.refused', { file: shown.name });
  }
  if (focus) $('#verify-result').focus();
}

async function check(file) {
  revokeUrls();
  $('#verify-result').textContent = '';
  shown = { state: 'checking', name: file.name };
  render();
  try {
    let doc;
    try {
      doc = JSON.parse(await file.text());
    } catch {
      throw Object.assign(new Error('it is not a JSON file'), { notJson: true });
    }
    shown = { state: 'ok', name: file.name, result: await verify(doc) };
  } catch (err) {
    shown = { state: 'refused', name: file.name, error: err };
  }
  render({ focus: true });
}

function init() {
  const input = $('#verify-file');
  input.addEventListener('change', () => { if (input.files[0]) check(input.files[0]); });
  const drop = $('#drop');
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const file = ev.dataTransfer?.files?.[0];
    if (file) check(file);
  });
  // A file dropped anywhere else on the page is checked too, not opened by the browser in its place.
  document.addEventListener('dragover', (ev) => ev.preventDefault());
  document.addEventListener('drop', (ev) => {
    ev.preventDefault();
    const file = ev.dataTransfer?.files?.[0];
    if (file && !drop.contains(ev.target)) check(file);
  });
  // Another language: the result is said again; the attachment links are made anew (revokeUrls first).
  onLanguageChange(() => {
    if (shown && shown.state !== 'checking') revokeUrls();
    render();
  });
}

applyTranslations();
mountLanguagePicker(document.getElementById('language-slot'));
installSafety();
init();
