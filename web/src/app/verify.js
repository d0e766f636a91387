// The offline check of a disclosure (served at /verify.html, PROTOCOL.md §12 and §14.3): the person
// opens a disclosure file, the page runs protocol/disclosure.js verify() on it, and shows in plain
// words what was checked and what it proves, or why it was refused. The page makes no request
// while checking (its own CSP allows its own server only), so it works with the network off once
// loaded and nobody learns that a file was checked. It holds no key: quick exit (lib/safety.js)
// has nothing to forget.
import { $, el, downloadLink, formatBytes, revokeUrls } from './lib/ui.js';
import { DisclosureRefused, verify } from '../sdk/protocol/disclosure.js';
import { installSafety } from './lib/safety.js';

const when = (date) => date.toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'long' });

function detailList(pairs) {
  const dl = el('dl', { class: 'details' });
  for (const [k, v] of pairs) if (v) dl.append(el('dt', {}, k), el('dd', {}, v));
  return dl;
}

function showResult(name, r) {
  const box = $('#verify-result');
  box.textContent = '';
  const d = r.details || {};
  const seen = r.witnesses.length
    ? r.witnesses.map((w) => el('li', {}, `Seen by the witness ${w.name} by ${when(w.at)}`))
    : [el('li', {}, 'No witness has cosigned a checkpoint in this file, so only the service itself vouches for the time.')];
  box.append(
    el('div', { class: 'notice ok', id: 'verify-ok' },
      el('h2', { id: 'h-result' }, 'The proof checks out'),
      el('p', {}, `This record was in the service’s public log by ${when(r.loggedAt)}, and it has not changed since.`)),
    el('section', { class: 'card', 'aria-labelledby': 'h-when' },
      el('h2', { id: 'h-when' }, 'When'),
      el('ul', { id: 'verify-when' },
        el('li', {}, `In the log by ${when(r.loggedAt)} (leaf ${r.leafIndex} of ${r.treeSize})`),
        ...seen)),
    el('section', { class: 'card', 'aria-labelledby': 'h-record' },
      el('h2', { id: 'h-record' }, 'The record'),
      detailList([['Written', r.writtenAt], ['What happened', d.what], ['When', d.when], ['Where', d.where],
        ['Who else saw it', d.witnesses], ['People named', r.identifiers.join(', ')], ['Contact given', r.contact]]),
      r.record ? el('div', { class: 'record-text', id: 'verify-text' }, r.record) : null,
      r.attachments.length ? el('div', {},
        el('h3', {}, 'Attached files'),
        el('ul', { class: 'files' }, r.attachments.map((a) => el('li', {},
          downloadLink(`${a.name} (${formatBytes(a.data.length)})`, a.data, a.name, a.type))))) : null),
    el('section', { class: 'card', 'aria-labelledby': 'h-checked' },
      el('h2', { id: 'h-checked' }, 'What was checked'),
      el('ol', { id: 'verify-checks' }, r.checks.map((c) => el('li', {}, c))),
      el('p', { class: 'hint' }, `File: ${name}. The proof can be checked again, without this page, with `
        + '“consilience verify-disclosure FILE”.')));
  box.focus();
}

function showRefusal(name, err) {
  const box = $('#verify-result');
  box.textContent = '';
  const reason = err instanceof DisclosureRefused
    ? `The part “${err.field}” did not check: ${err.reason}.`
    : `The file could not be read as a proof: ${err?.message ?? err}.`;
  box.append(el('div', { class: 'notice error', id: 'verify-refused', role: 'alert' },
    el('h2', {}, 'This proof does not check out'),
    el('p', { id: 'verify-reason' }, reason),
    el('p', {}, `File: ${name}. It may have been changed, damaged, or be another kind of file. Nothing shown from it `
      + 'can be relied on. If you made it yourself, export it again from your records.')));
  box.focus();
}

async function check(file) {
  revokeUrls();
  $('#verify-result').textContent = '';
  $('#verify-status').textContent = `Checking ${file.name}…`;
  try {
    let doc;
    try {
      doc = JSON.parse(await file.text());
    } catch {
      throw new Error('it is not a JSON file');
    }
    showResult(file.name, await verify(doc));
    $('#verify-status').textContent = `Checked ${file.name}: it checks out.`;
  } catch (err) {
    showRefusal(file.name, err);
    $('#verify-status').textContent = `Checked ${file.name}: it does not check out.`;
  }
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
}

installSafety();
init();
