// The reporter app (served at /): join with an invite, write records privately, put them in
// escrow naming identifiers, see entries and receipts, withdraw. Every identifier, record and
// key stays in this browser; only sealed outputs reach the servers (PROTOCOL.md §1, §8).
import {
  EscrowApi, fetchDeployment, checkReceipt, normalise, b64uDecode, b64uEncode,
  parseReceipt, newWallet, walletToBytes, walletFromBytes, addRecord, nowIsoSeconds,
  parseInvite, InvalidInput, VerificationError, MAX_BODY_BYTES, reporter, PLATFORMS, PLATFORMS_BY_KIND,
  accounts, bytesEqual, ApiError, reporterSignIn, talk, conversations as sealedItems,
} from '../sdk/index.js';
import { getCountries, getCountryCallingCode } from 'libphonenumber-js/max';
import * as disclosureUi from './lib/disclosure_ui.js';
import {
  $, $$, el, showView, clearNotices, showError, showNote, fieldError, clearFieldErrors, describeError, problemText,
  Steps, busy, downloadLink, revokeUrls, saveFile, readFileBytes, passphraseStrength,
  go, setRouter, breakable,
} from './lib/ui.js';
import { kindLabel, namedItem, readable, readableCanonical, shownValue } from './lib/names.js';
import { loadSealedWallet, saveSealedWallet, saveReceipt, loadReceipt } from './lib/store.js';
import { WALLET_PURPOSE, Vault } from './lib/vault.js';
import * as recoveryUi from './lib/recovery_ui.js';
import { installSafety } from './lib/safety.js';
import { recordTitle, setupDeleteAccount } from './lib/account.js';
import {
  applyTranslations, mountLanguagePicker, t, has, language, onLanguageChange, formatNumber, formatDateTime, formatList,
} from './lib/i18n.js';

const MAX_IDENTIFIERS = 8;
/** Room kept in the body for the text, identifiers and JSON around attachments. */
const BODY_MARGIN = 16 * 1024;

/** The kind menu's entries: the SDK's platforms, most named first (menuPosition), not KINDS order. */
const MENU_PLATFORMS = [...PLATFORMS].sort((a, b) => a.menuPosition - b.menuPosition);

const state = {
  wallet: null, // the wallet JSON object (clients/wallet.py layout), only while unlocked
  vault: null, // the passphrase-derived key material to re-seal the wallet
  deployment: null,
};

const server = () => window.location.origin;

// --- words in the person's language -------------------------------------------------------------
// Text this page makes is kept in the language the person chose: each piece is a text node that
// knows its message, so when the language changes (the picker in the header) it is said again in
// place, and nothing typed, opened or chosen on the page is touched.

const liveTexts = new Set();
let liveAdded = 0;

/** A group's names as a list ("A, B"), not a sentence ("A and B"), as the counselor's page shows them. */
const MEMBERS = { type: 'unit', style: 'short' };

/** A text node showing MAKE()'s text, said again after each change of language. */

function live(make) {
  const node = document.createTextNode(make());
  liveTexts.add({ ref: new WeakRef(node), make });
  if (++liveAdded % 200 === 0) for (const item of liveTexts) if (!item.ref.deref()) liveTexts.delete(item);
  return node;
}

/** Message KEY as a text node that follows the language; PARAMS may be a function (dates and numbers are
 * then formatted again in the new language). */
function tx(key, params = {}) {
  return live(() => t(key, typeof params === 'function' ? params() : params));
}

function sayAgain() {
  for (const item of liveTexts) {
    const node = item.ref.deref();
    if (node) node.data = item.make();
    else liveTexts.delete(item);
  }
}

/** A date and time (ISO text) in the current language; what is not a date is shown as it is. */
function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : formatDateTime(d);
}

/** A size in bytes, KB or MB, with the current language's digits. */
function size(n) {
  if (n < 1024) return t('reporter.size.bytes', { count: n });
  if (n < 1024 * 1024) return t('reporter.size.kb', { size: formatNumber(Math.round(n / 1024)) });
  return t('reporter.size.mb', { size: formatNumber(n / 1024 / 1024, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) });
}

// Notices, field errors and steps are said again after a change of language by lib/ui.js: each is
// given a function making its text, not the text.

/** showNote with message KEY (PARAMS may be a function, as for tx). */
function noteOf(key, params = {}) {
  showNote(() => t(key, typeof params === 'function' ? params() : params));
}

/** showError for ERR (or a function making it, for this page's own words) after the message PREFIX
 * (a key, or a function making the text); AFTER(box) adds what follows it. */
function fail(err, prefix = null, after = null) {
  const before = () => (typeof prefix === 'function' ? prefix() : (prefix ? t(prefix) : ''));
  showError(err, before, { after });
}

/** An error of this page's own (a message key), as showError takes it. */
const own = (key, params = {}) => () => ({ message: t(key, params) });

/** fieldError with message KEY (PARAMS may be a function, as for tx). */
function fieldProblem(input, key, params = {}) {
  fieldError(input, () => t(key, typeof params === 'function' ? params() : params));
}

/** Steps titled by message key TITLEKEY, with [step, label key] LABELS. */
function stepsOf(titleKey, labels) {
  return new Steps(() => t(titleKey), labels.map(([key, label]) => [key, () => t(label)]));
}

// --- wallet -----------------------------------------------------------------------------------

function walletBytes(w) {
  return walletToBytes(w);
}

function parseWallet(bytes) {
  return walletFromBytes(bytes);
}

async function saveWallet() {
  const text = await state.vault.seal(walletBytes(state.wallet));
  await saveSealedWallet(text);
  recoveryUi.afterSave(); // PROTOCOL.md §14.1: the backup follows every change, in the background
  return text;
}

function recordById(id) {
  return state.wallet?.records.find((r) => r.record_id === id) || null;
}

function statusOf(record) {
  if (!record.escrow) return 'private';
  // Protocol v2: the server answers only "escrowed" or "withdrawn", never whether anyone else named the same person.
  return record.escrow.status;
}

const STATUS_TEXT = {
  private: 'reporter.status.private',
  sending: 'reporter.status.sending',
  escrowed: 'reporter.status.escrowed',
  withdrawn: 'reporter.status.withdrawn',
};

// Said on every edit and withdrawal, whether or not anything was read (saying it only after a match would
// tell): reporter.record.kept.

function badge(status) {
  return el('span', { class: `badge ${status}` }, STATUS_TEXT[status] ? tx(STATUS_TEXT[status]) : status);
}

/** The escrow server as this account: an expired session is renewed by signing in with the account key
 * (PROTOCOL.md §6.1); the wallet keeps the new session when it is next saved. */
function api() {
  const w = state.wallet;
  let signIn = null;
  if (w.account_seed && w.certificate) {
    const deploymentId = accounts.parseCertificate(b64uDecode(w.certificate, 120)).deploymentId;
    signIn = reporterSignIn(b64uDecode(w.account_seed, 32), deploymentId);
  }
  return new EscrowApi(w.server || server(), b64uDecode(w.token), {
    signIn, onToken: (token) => { if (state.wallet === w) w.token = token; },
  });
}

async function deployment() {
  const d = await reporter.walletDeployment(state.wallet, { server: server() });
  state.deployment = d;
  return d;
}

/** What the escrow workflow (sdk/clients/reporter.js) needs from this page. */
function session() {
  return { wallet: state.wallet, api: api(), deployment, save: saveWallet, storeReceipt: saveReceipt,
    loadReceipt };
}

// --- routing ----------------------------------------------------------------------------------

const LOCKED_VIEWS = new Set(['start', 'join', 'import', 'recover']);

async function route() {
  clearNotices();
  revokeUrls();
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [name, arg] = hash.split('/');
  const view = name || 'start';
  const unlocked = Boolean(state.wallet);
  $('#nav').hidden = !unlocked;
  if (!unlocked && !LOCKED_VIEWS.has(view)) {
    if (view !== 'start') { await go('#/start'); return; }
  }
  if (unlocked && LOCKED_VIEWS.has(view)) { await go('#/entries'); return; }
  switch (view) {
    case 'start': await showStart(); break;
    case 'join': showView('join'); break;
    case 'recover': recoveryUi.showRecover(); break;
    case 'import': $('#import-replace').hidden = !(await loadSealedWallet()); showView('import'); break;
    case 'entries': renderEntries(); showView('entries'); showNotifyAddress(); recoveryUi.showBackupState(); break;
    case 'write': prepareWrite(); showView('write'); break;
    case 'record': renderRecord(arg); break;
    case 'escrow': await prepareEscrow(arg); break;
    case 'messages': await showMessages(); break;
    default: await go(unlocked ? '#/entries' : '#/start');
  }
}

async function showStart() {
  const sealed = await loadSealedWallet();
  $('#unlock-box').hidden = !sealed;
  showView('start');
}

// --- join -------------------------------------------------------------------------------------

function setupJoin() {
  const form = $('#join-form');
  const pass = $('#join-pass');
  pass.addEventListener('input', () => {
    const s = passphraseStrength(pass.value);
    const out = $('#join-pass-strength');
    out.textContent = s.text;
    out.dataset.level = s.level;
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    clearFieldErrors(form);
    const invite = $('#join-invite');
    const contact = $('#join-contact');
    const pass2 = $('#join-pass2');
    let parsed = null;
    let bad = null;
    try {
      parsed = parseInvite(invite.value.trim());
    } catch (err) {
      // the SDK's refusals are the CLI's, written for a person (a typo, an empty field, a credential)
      fieldError(invite, () => (err instanceof InvalidInput ? describeError(err) : t('app.sdk.invite.mistyped')));
      bad = bad || invite;
    }
    if (pass.value.length < 8) {
      fieldProblem(pass, 'reporter.join.error.short');
      bad = bad || pass;
    } else if (pass.value !== pass2.value) {
      fieldProblem(pass2, 'reporter.join.error.different');
      bad = bad || pass2;
    }
    if (bad) { bad.focus(); return; }
    if (await loadSealedWallet()) {
      fail(own('reporter.join.error.exists'));
      return;
    }
    await busy(form, () => join(parsed, contact.value.trim(), pass.value));
  });
}

async function join(invite, contact, passphrase) {
  const steps = stepsOf('reporter.join.steps.title', [
    ['deployment', 'reporter.join.steps.deployment'],
    ['register', 'reporter.join.steps.register'],
    ['seal', 'reporter.join.steps.seal'],
    ['store', 'reporter.join.steps.store'],
  ]);
  let wallet = null;
  let checkingDeployment = true;
  try {
    const d = await steps.run('deployment', () => fetchDeployment(server(), invite.adminFingerprint, 0));
    checkingDeployment = false;
    // PROTOCOL.md §13.1: the key counselors' messages are sealed to, made here and registered with the account
    const messageSeed = sealedItems.newMessageSeed();
    // Protocol v2: the invite carries the account's seed; the server gets its public key and a signature by it,
    // and answers with the administrator's certificate of that key, checked here and kept in the wallet.
    const { accountId, token, certificate } = await steps.run('register', async () => {
      const answer = await new EscrowApi(server()).register(accounts.accountKey(invite.seed),
        accounts.registrationProof(invite.seed, d.deploymentId), (await sealedItems.messagingKeyPair(messageSeed)).key);
      const cert = accounts.verifyCertificate(d.adminKey, d.deploymentId, b64uDecode(answer.certificate, 120, 'certificate'));
      if (!bytesEqual(cert.accountKey, accounts.accountKey(invite.seed))) {
        throw Object.assign(new VerificationError(t('reporter.join.error.certificate')), { key: 'reporter.join.error.certificate' });
      }
      return answer;
    });
    wallet = newWallet({
      server: server(), adminFingerprint: invite.adminFingerprint, accountId, token, contact, minSerial: d.serial,
      accountSeed: invite.seed, certificate, messageSeed, messageKeyRegistered: true,
    });
    steps.start('seal');
    const vault = await Vault.create(passphrase, steps.bar('seal'));
    const sealed = await vault.seal(walletBytes(wallet));
    steps.done('seal');
    await steps.run('store', () => saveSealedWallet(sealed));
    state.wallet = wallet;
    state.vault = vault;
    state.deployment = d;
    $('#join-form').reset();
    $('#join-pass-strength').textContent = '';
    steps.clear();
    await go('#/entries');
    startPolling();
    noteOf('reporter.join.ready');
    recoveryUi.afterJoin(passphrase); // the account handle is shown once the backup is set up
  } catch (err) {
    if (err.status === 403) {
      fail(own('reporter.join.error.refused'));
    } else if (checkingDeployment && err instanceof VerificationError) {
      // the invite's last part pins the administrator's key: a typo there reads as another service
      fail(own('reporter.join.error.other_service'));
    } else {
      fail(err, 'reporter.join.error.failed');
    }
  }
}

// --- unlock / lock / import / export -------------------------------------------------------------

function setupUnlock() {
  const form = $('#unlock-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    const pass = $('#unlock-pass');
    if (!pass.value) { pass.focus(); return; }
    const sealed = await loadSealedWallet();
    if (!sealed) { await showStart(); return; }
    await busy(form, () => unlock(sealed, pass.value, 'reporter.unlock.steps.title'));
    pass.value = '';
  });
  $('#lock').addEventListener('click', lock);
}

async function unlock(sealedText, passphrase, title, { store = false } = {}) {
  const steps = stepsOf(title, [['open', 'reporter.unlock.steps.open']]);
  try {
    steps.start('open');
    const { vault, data } = await Vault.open(sealedText, passphrase, steps.bar('open'));
    const wallet = parseWallet(data);
    steps.done('open');
    state.wallet = wallet;
    state.vault = vault;
    if (!wallet.server) wallet.server = server();
    if (store) await saveSealedWallet(await vault.seal(walletBytes(wallet)));
    steps.clear();
    await go('#/entries');
    finishPending().catch(() => {});
    refreshStatuses({ quiet: true }).catch(() => {});
    // a wallet made before messaging (or by the command line) gets its messaging key now, quietly
    talk.ensureMessagingKey(session()).catch(() => {});
    recoveryUi.withPassphrase(passphrase); // set up or catch up the backup (PROTOCOL.md §14.1)
    startPolling();
  } catch (err) {
    steps.fail('open');
    fail(err.name === 'DecryptionError' ? own('reporter.unlock.error.wrong') : err);
  }
}

/** Drop the wallet and its key from memory at once (PROTOCOL.md §14.2: quick exit, lock, deletion). */
function forget() {
  stopPolling();
  state.wallet = null;
  state.vault?.forget();
  state.vault = null;
  state.deployment = null;
}

/** Lock: forget, clear what the page rendered of the records, show the first screen; `note` says why. */
async function lock({ note } = {}) {
  forget();
  revokeUrls();
  for (const form of $$('form')) form.reset();
  for (const id of ['#w-files-list', '#ident-rows', '#progress', '#entries-list', '#record-body', '#messages-body',
    '#delete-confirm']) $(id).textContent = '';
  $('#h-record').textContent = t('reporter.record.title');
  $('#delete-open').hidden = false;
  await go('#/start');
  if (note) showNote(note);
  else noteOf('reporter.lock.done');
}

function setupImport() {
  const form = $('#import-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    clearFieldErrors(form);
    const file = $('#import-file');
    const pass = $('#import-pass');
    if (!file.files.length) { fieldProblem(file, 'reporter.import.error.none'); file.focus(); return; }
    if (file.files[0].size > 24 * 1024 * 1024) { fieldProblem(file, 'reporter.import.error.large'); file.focus(); return; }
    if (!pass.value) { pass.focus(); return; }
    const text = await file.files[0].text();
    await busy(form, () => unlock(text, pass.value, 'reporter.import.steps.title', { store: true }));
    pass.value = '';
  });
}

async function exportWallet() {
  const text = await loadSealedWallet();
  if (!text) return;
  saveFile(text, 'wallet.sealed', 'application/json');
  noteOf('reporter.backup.saved', { file: 'wallet.sealed' });
}

// --- entries -------------------------------------------------------------------------------------

function renderEntries() {
  const list = $('#entries-list');
  list.textContent = '';
  const records = [...state.wallet.records].reverse();
  $('#entries-empty').hidden = records.length > 0;
  for (const r of records) {
    const status = statusOf(r);
    const names = r.escrow ? r.escrow.canonical.map(readableCanonical).join(', ') : '';
    list.append(el('li', {},
      el('h3', {}, el('a', { href: `#/record/${r.record_id}` }, recordTitle(r)), ' ', badge(status)),
      el('p', { class: 'meta' }, tx('reporter.entries.written', () => ({ date: when(r.written_at) })),
        names ? [' · ', tx('reporter.entries.names'), ' ', el('span', { class: 'names' }, breakable(names))] : '',
        r.escrow?.receipts?.length ? [' · ', tx('reporter.entries.receipts', { count: r.escrow.receipts.length })] : ''),
    ));
  }
}

async function refreshStatuses({ quiet = false } = {}) {
  if (!state.wallet || !state.wallet.records.some((r) => r.escrow)) {
    if (!quiet) noteOf('reporter.entries.nothing');
    return;
  }
  try {
    // statuses, and (PROTOCOL.md §13.6) an entry a counselor of the current document cannot open is locked
    // again for them with the same record and names, so it stays readable after a match
    const out = await reporter.refresh(session());
    if (out.resealed.length) {
      noteOf('reporter.entries.resealed', { count: out.resealed.length });
    } else if (!quiet) noteOf(out.changed ? 'reporter.entries.updated' : 'reporter.entries.unchanged');
    rerender();
  } catch (err) {
    if (!quiet) fail(err, 'reporter.entries.error.refresh');
  }
}

function rerender() {
  if (!state.wallet) return;
  const view = $$('[data-view]').find((s) => !s.hidden)?.dataset.view;
  if (view === 'entries') renderEntries();
  if (view === 'record') renderRecord(window.location.hash.split('/')[2], { focus: false });
}

// --- write -------------------------------------------------------------------------------------

function attachmentBudget() {
  return Math.floor((MAX_BODY_BYTES - BODY_MARGIN) * 3 / 4);
}

/** The files chosen in INPUT add up to TOTAL bytes, more than a record or message can carry. */
function tooLarge(input, total) {
  fieldProblem(input, 'reporter.write.error.large', { total: size(total), limit: size(attachmentBudget()) });
}

function prepareWrite() {
  $('#w-files-hint').replaceChildren(tx('reporter.write.files.hint', () => ({ size: size(attachmentBudget()) })));
}

function setupWrite() {
  const form = $('#write-form');
  const files = $('#w-files');
  files.addEventListener('change', () => {
    const list = $('#w-files-list');
    list.textContent = '';
    let total = 0;
    for (const f of files.files) {
      total += f.size;
      list.append(el('li', {}, tx('reporter.write.file', () => ({ name: f.name, size: size(f.size) }))));
    }
    if (total > attachmentBudget()) tooLarge(files, total);
    else fieldError(files, '');
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    clearFieldErrors(form);
    const value = (id) => $(id).value.trim();
    const details = {};
    for (const [key, id] of [['what', '#w-what'], ['when', '#w-when'], ['where', '#w-where'], ['witnesses', '#w-witnesses']]) {
      if (value(id)) details[key] = value(id);
    }
    const text = $('#w-text').value;
    if (!text.trim() && Object.keys(details).length === 0 && !files.files.length) {
      const box = $('#w-form-error');
      box.replaceChildren(tx('reporter.write.error.empty'));
      box.hidden = false;
      $('#w-what').focus();
      return;
    }
    let total = 0;
    for (const f of files.files) total += f.size;
    if (total > attachmentBudget()) {
      tooLarge(files, total);
      files.focus();
      return;
    }
    await busy(form, async () => {
      try {
        const attachments = [];
        for (const f of files.files) {
          attachments.push({ name: f.name, type: f.type || 'application/octet-stream', data: b64uEncode(await readFileBytes(f)) });
        }
        const record = addRecord(state.wallet, text, nowIsoSeconds(),
          { details: Object.keys(details).length ? details : null, attachments });
        record.title = value('#w-title'); // PROTOCOL.md §14.2: shown in lists instead of the date, if given
        try {
          await saveWallet();
        } catch (err) {
          state.wallet.records.pop();
          throw err;
        }
        form.reset();
        $('#w-files-list').textContent = '';
        await go(`#/record/${record.record_id}`);
        noteOf('reporter.write.saved');
      } catch (err) {
        fail(err, 'reporter.write.error.failed');
      }
    });
  });
}

// --- one record ----------------------------------------------------------------------------------

function detailList(pairs) {
  const dl = el('dl', { class: 'details' });
  for (const [k, v] of pairs) if (v) dl.append(el('dt', {}, tx(k)), el('dd', {}, v));
  return dl;
}

async function renderRecord(id, { focus = true } = {}) {
  const r = recordById(id);
  if (!r) { await go('#/entries'); return; }
  const box = $('#record-body');
  box.textContent = '';
  const status = statusOf(r);
  $('#h-record').textContent = recordTitle(r);
  box.append(el('p', { class: 'meta' }, badge(status), ' ', tx('reporter.entries.written', () => ({ date: when(r.written_at) }))));

  const d = r.details || {};
  box.append(el('section', { class: 'card', 'aria-labelledby': 'h-rec-content' },
    el('h2', { id: 'h-rec-content' }, tx('reporter.record.content')),
    detailList([['reporter.write.what', d.what], ['reporter.write.when', d.when], ['reporter.write.where', d.where],
      ['reporter.record.witnesses', d.witnesses]]),
    r.text ? el('div', { class: 'record-text' }, r.text) : null,
    r.attachments?.length ? el('div', {},
      el('h3', {}, tx('reporter.record.files')),
      el('ul', { class: 'files' }, r.attachments.map((a) => {
        const bytes = b64uDecode(a.data);
        return el('li', {}, downloadLink(tx('reporter.write.file', () => ({ name: a.name, size: size(bytes.length) })), bytes, a.name, a.type));
      }))) : null));

  const esc = el('section', { class: 'card', 'aria-labelledby': 'h-rec-escrow' }, el('h2', { id: 'h-rec-escrow' }, tx('reporter.record.escrow')));
  box.append(esc);
  if (!r.escrow) {
    esc.append(el('p', {}, tx('reporter.record.private')),
      el('div', { class: 'actions' }, el('a', { class: 'button', href: `#/escrow/${r.record_id}` }, tx('reporter.record.put'))));
  } else {
    const e = r.escrow;
    const explain = {
      sending: 'reporter.record.explain.sending',
      escrowed: 'reporter.record.explain.escrowed',
      withdrawn: 'reporter.record.explain.withdrawn',
    }[statusOf(r)];
    esc.append(el('p', {}, explain ? tx(explain, { count: e.quorum }) : ''),
      el('h3', {}, tx('reporter.record.named')),
      el('ul', { class: 'will-match' }, e.identifiers.map((typed, i) => namedItem(typed, e.canonical[i]))),
      detailList([['reporter.record.quorum', tx('reporter.record.people', { count: e.quorum })],
        ['reporter.record.accepted', e.received_at ? live(() => when(e.received_at)) : tx('reporter.record.not_yet')]]));
    const actions = el('div', { class: 'actions' });
    if (e.pending) actions.append(el('button', { type: 'button', onclick: () => resend(r) }, tx('reporter.record.resend')));
    if (statusOf(r) === 'escrowed' && !e.pending) {
      actions.append(el('a', { class: 'button secondary', href: `#/escrow/${r.record_id}` }, tx('reporter.record.change')));
      actions.append(el('button', { type: 'button', class: 'secondary', id: 'withdraw-open', onclick: () => askWithdraw(r) }, tx('reporter.record.withdraw')));
    }
    esc.append(actions, el('div', { id: 'withdraw-confirm' }));
    esc.append(await receiptList(e));
    if (e.status === 'escrowed' || e.status === 'withdrawn') {
      esc.append(readersBox(r));
      esc.append(el('p', {}, el('a', { href: '#/messages' }, tx('reporter.record.messages'))));
    }
    if (statusOf(r) === 'escrowed' && !e.pending) esc.append(disclosureUi.exportBox(r, () => ({ wallet: state.wallet, api: api() })));
  }
  showView('record', { focus });
}

async function receiptList(e) {
  const section = el('div', {}, el('h3', {}, tx('reporter.receipts.title')));
  if (!e.receipts?.length) {
    section.append(el('p', {}, tx('reporter.receipts.none')));
    return section;
  }
  section.append(el('p', { class: 'hint' }, tx('reporter.receipts.hint', { command: 'consilience verify' })));
  // A table on wide screens; on narrow ones each receipt stacks as label: value lines (app.css),
  // so the ARIA roles keep it a table for assistive technology whatever the CSS display is.
  const columns = ['reporter.receipts.event', 'reporter.receipts.index', 'reporter.receipts.checkpoint', 'reporter.receipts.file'];
  const table = el('table', { class: 'receipts', role: 'table' },
    el('thead', { role: 'rowgroup' }, el('tr', { role: 'row' },
      columns.map((c) => el('th', { scope: 'col', role: 'columnheader' }, tx(c))))));
  const cell = (n, ...content) => el('td', { role: 'cell', 'data-label': t(columns[n]), 'data-label-key': columns[n] }, ...content);
  const body = el('tbody', { role: 'rowgroup' });
  for (const path of e.receipts) {
    const name = path.split('/').pop();
    const text = await loadReceipt(name);
    let info = { index: '', size: '' };
    const kind = name.includes('-withdrawal-') ? 'reporter.receipts.withdrawal' : 'reporter.receipts.entry';
    if (text) {
      try {
        const p = parseReceipt(text);
        const logSize = p.checkpoint.split('\n')[1] || '?';
        info = { index: String(p.index), size: tx('reporter.receipts.size', { size: logSize }) };
      } catch { /* shown by name only */ }
    }
    body.append(el('tr', { role: 'row' }, cell(0, tx(kind)), cell(1, info.index || name.split('-').pop().split('.')[0]),
      cell(2, info.size), cell(3, text ? downloadLink(tx('reporter.receipts.download'), text, name, 'text/plain')
        : tx('reporter.receipts.cli'))));
  }
  table.append(body);
  section.append(table);
  return section;
}

function askWithdraw(r) {
  const box = $('#withdraw-confirm');
  box.textContent = '';
  const heading = el('h3', { tabindex: '-1', id: 'h-withdraw' }, tx('reporter.withdraw.title'));
  box.append(el('div', { class: 'notice info', role: 'group', 'aria-labelledby': 'h-withdraw' },
    heading,
    // What withdrawing does (services/escrow, v2: the same before and after a release; body, envelopes and tags
    // erased, a tombstone and a log leaf kept); the wallet keeps the record, marked withdrawn,
    // and neither this page nor the CLI escrows a withdrawn record again.
    el('p', {}, tx('reporter.withdraw.erases')),
    el('p', {}, tx('reporter.record.kept')),
    el('p', {}, tx('reporter.withdraw.final')),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'danger', onclick: (ev) => withdraw(r, ev.currentTarget) }, tx('reporter.withdraw.yes')),
      el('button', { type: 'button', class: 'secondary', onclick: () => { box.textContent = ''; $('#withdraw-open')?.focus(); } }, tx('reporter.withdraw.no')))));
  heading.focus();
}

async function withdraw(r, button) {
  clearNotices();
  button.disabled = true;
  const steps = stepsOf('reporter.withdraw.steps.title', [['send', 'reporter.withdraw.steps.send'],
    ['receipt', 'reporter.withdraw.steps.receipt'], ['save', 'reporter.withdraw.steps.save']]);
  try {
    const d = await deployment();
    const entryId = r.escrow.entry_id;
    const server = api();
    const answer = await steps.run('send', () => server.withdraw(b64uDecode(entryId, 16)));
    await steps.run('receipt', async () => {
      const text = await reporter.lateReceipt(server, answer); // a moment while the log integrates it
      if (!text) return;
      await checkReceipt(text, d, b64uDecode(entryId, 16), 'withdrawal');
      await keepReceipt(r.escrow, text, 'withdrawal');
    });
    r.escrow.status = answer.status;
    await steps.run('save', saveWallet);
    steps.clear();
    await renderRecord(r.record_id);
    noteOf('reporter.withdraw.done');
  } catch (err) {
    fail(err, 'reporter.withdraw.error');
    button.disabled = false;
  }
}

function keepReceipt(escrow, text, kind) {
  return reporter.keepReceipt(escrow, text, kind, saveReceipt);
}

// --- escrow ------------------------------------------------------------------------------------

let regionOptions = null;

/** The countries of the phone menu, named and sorted in the current language. */
function regions() {
  if (regionOptions?.lang === language()) return regionOptions.list;
  let names = null;
  try { names = new Intl.DisplayNames([language()], { type: 'region' }); } catch { /* codes only */ }
  const list = getCountries().map((c) => ({
    code: c, label: t('reporter.escrow.region.option', { country: names?.of(c) || c, code: getCountryCallingCode(c) }),
  })).sort((a, b) => a.label.localeCompare(b.label, language()));
  regionOptions = { lang: language(), list };
  return list;
}

/**
 * The country a number typed without + is read in, before the person chooses; never a fixed country.
 * A country the browser's languages name comes first, since it says where the device is set up: one
 * given with the language chosen in the app (es-MX when Spanish is chosen), else any (en-GB). Else the
 * country the chosen language implies (Intl.Locale's likely subtags: "es" gives ES, "ar" gives EG), else
 * the one the browser's languages imply. None when nothing gives one: the person then chooses. "We will
 * match on" shows the number with its country code either way, so a wrong country is seen before
 * anything is sent.
 */
function guessRegion() {
  const known = new Set(getCountries());
  const tags = (navigator.languages?.length ? [...navigator.languages] : [navigator.language || '']).filter(Boolean);
  const primary = (tag) => String(tag).toLowerCase().split(/[-_]/)[0];
  const regionOf = (tag, likely) => {
    try {
      const locale = new Intl.Locale(tag);
      const region = likely ? locale.maximize().region : locale.region;
      return region && known.has(region) ? region : '';
    } catch {
      return ''; // not a language tag
    }
  };
  const chosen = language();
  const candidates = [
    ...tags.filter((tag) => primary(tag) === chosen).map((tag) => () => regionOf(tag, false)),
    ...tags.map((tag) => () => regionOf(tag, false)),
    () => regionOf(chosen, true),
    ...tags.map((tag) => () => regionOf(tag, true)),
  ];
  for (const candidate of candidates) {
    const region = candidate();
    if (region) return region;
  }
  return '';
}

/** Fill a country menu in the current language, keeping its choice (CHOSEN when it has none yet). */
function fillRegions(select, chosen = select.value) {
  select.replaceChildren(
    el('option', { value: '', selected: !chosen }, tx('reporter.escrow.region.choose')),
    ...regions().map((r) => el('option', { value: r.code, selected: r.code === chosen }, r.label)));
  select.value = chosen || '';
}

let rowCounter = 0;

/** A kind's name in the menu: the catalog's where the words need translating, else the platform's own name. */
function menuLabel(platform) {
  const key = `reporter.escrow.kind.${platform.kind}`;
  return has(key) ? tx(key) : platform.menuLabel;
}

/** What to type for a kind: the catalog's example where it has words, else the platform's (a form like @name). */
function kindHint(kind) {
  const key = `reporter.escrow.hint.${kind}`;
  return has(key) ? t(key) : PLATFORMS_BY_KIND[kind].hint;
}

function identRow(kind = 'email', value = '', region = null) {
  const n = ++rowCounter;
  const kindSelect = el('select', { id: `ident-kind-${n}`, name: 'kind' },
    MENU_PLATFORMS.map((p) => el('option', { value: p.kind, selected: p.kind === kind }, menuLabel(p))));
  const input = el('input', { id: `ident-value-${n}`, name: 'identifier', type: 'text', autocomplete: 'off',
    spellcheck: 'false', 'aria-describedby': `ident-value-${n}-hint ident-value-${n}-error ident-value-${n}-ok` });
  input.value = value;
  const regionSelect = el('select', { id: `ident-region-${n}`, name: 'region' });
  fillRegions(regionSelect, region || guessRegion());
  // a country the person picks is theirs; one guessed follows a change of language (followLanguage)
  if (region) regionSelect.dataset.picked = '';
  regionSelect.addEventListener('change', () => { regionSelect.dataset.picked = ''; });
  const regionField = el('div', { class: 'field' },
    el('label', { for: regionSelect.id }, tx('reporter.escrow.region.label')),
    el('span', { class: 'hint', id: `${regionSelect.id}-hint` }, tx('reporter.escrow.region.hint')),
    regionSelect);
  regionSelect.setAttribute('aria-describedby', `${regionSelect.id}-hint`);
  const hint = el('span', { class: 'hint', id: `ident-value-${n}-hint` });
  const row = el('div', { class: 'ident-row', 'data-row': String(n) },
    el('div', { class: 'field' }, el('label', { for: kindSelect.id }, tx('reporter.escrow.kind')), kindSelect),
    el('div', { class: 'field' },
      el('label', { for: input.id }, tx('reporter.escrow.value')),
      hint, input,
      el('p', { class: 'field-error', id: `ident-value-${n}-error`, hidden: true }),
      el('p', { class: 'field-ok', id: `ident-value-${n}-ok` })),
    el('div', { class: 'wide' }, regionField),
    el('div', { class: 'wide' }, el('button', { type: 'button', class: 'link', onclick: () => removeRow(row) }, tx('reporter.escrow.remove'))));
  const sync = () => {
    const k = kindSelect.value;
    hint.textContent = t('reporter.escrow.example', { example: kindHint(k) });
    regionField.hidden = k !== 'phone';
    input.type = k === 'email' ? 'email' : (k === 'phone' ? 'tel' : 'text');
    return k;
  };
  // Quiet while the person types a first version; once a refusal is shown, or when they change
  // the kind or the country of what they typed, the check says what it finds at once (the
  // refusal, or "We will match on" and the preview), so a fix shows as soon as it is made.
  const recheck = ({ quiet }) => checkRow(row, { quiet: quiet && !input.hasAttribute('aria-invalid') });
  kindSelect.addEventListener('change', () => { sync(); recheck({ quiet: false }); });
  regionSelect.addEventListener('change', () => recheck({ quiet: false }));
  input.addEventListener('input', () => recheck({ quiet: true }));
  input.addEventListener('blur', () => checkRow(row));
  row.parts = { kindSelect, input, regionSelect, sync };
  queueMicrotask(() => { sync(); checkRow(row, { quiet: true }); });
  return row;
}

function removeRow(row) {
  const rows = $$('.ident-row', $('#ident-rows'));
  if (rows.length <= 1) { row.parts.input.value = ''; checkRow(row, { quiet: true }); row.parts.input.focus(); return; }
  const idx = rows.indexOf(row);
  row.remove();
  updateWillMatch();
  const rest = $$('.ident-row', $('#ident-rows'));
  rest[Math.max(0, idx - 1)].parts.input.focus();
}

/** The string handed to normalise (and kept as "typed"): profile kinds carry their prefix. */
function typedFor(kind, value) {
  const v = value.trim();
  if (!v) return '';
  if (kind === 'phone' || kind === 'email') return v;
  const prefix = `${kind}:`;
  return v.toLowerCase().startsWith(prefix) ? v : `${prefix}${v}`;
}

/** Normalise one row; shows the result or the refusal next to the field. */
function checkRow(row, { quiet = false } = {}) {
  const { kindSelect, input, regionSelect } = row.parts;
  const ok = document.getElementById(`${input.id}-ok`);
  row.result = null;
  const typed = typedFor(kindSelect.value, input.value);
  if (!typed) {
    fieldError(input, '');
    ok.textContent = '';
    updateWillMatch();
    return null;
  }
  try {
    if (kindSelect.value === 'phone' && !regionSelect.value && !/^[+\uFF0B]/.test(typed)) {
      throw new Error(t('reporter.escrow.error.country'));
    }
    const opts = kindSelect.value === 'phone' ? { defaultRegion: regionSelect.value || null } : {};
    const ident = normalise(typed, opts);
    if (kindSelect.value === 'email' && ident.kind !== 'email') {
      const other = PLATFORMS_BY_KIND[ident.kind];
      const kindName = other ? menuLabel(other) : ident.kind;
      throw new Error(t('reporter.escrow.error.not_email', { kind: typeof kindName === 'string' ? kindName : kindName.data }));
    }
    if (kindSelect.value === 'phone' && ident.kind !== 'phone') throw new Error(t('reporter.escrow.error.not_phone'));
    fieldError(input, '');
    // The kind is the menu's choice beside it, so the value alone, as its platform writes it (a phone
    // number with its country code, so a wrong country shows); kept left to right in Arabic too.
    const value = ident.kind === kindSelect.value ? shownValue(ident.kind, ident.value) : readable(ident);
    ok.replaceChildren(`${t('reporter.escrow.match.ok')} `, el('bdi', { dir: 'ltr' }, value));
    row.result = ident;
  } catch (err) {
    ok.textContent = '';
    // the SDK's refusal (or this page's) in the person's language: checkRow runs again after a change of it
    const said = describeError(err);
    if (!quiet) fieldError(input, said);
    else fieldError(input, '');
    row.error = said;
  }
  updateWillMatch();
  return row.result;
}

function updateWillMatch() {
  const list = $('#will-match');
  list.textContent = '';
  const seen = new Set();
  for (const row of $$('.ident-row', $('#ident-rows'))) {
    const r = row.result;
    if (r && !seen.has(r.canonical)) {
      seen.add(r.canonical);
      list.append(el('li', {}, `${kindLabel(r.kind)}: `, el('span', { class: 'canonical', dir: 'ltr' }, breakable(shownValue(r.kind, r.value)))));
    }
  }
  $('#match-box').hidden = seen.size === 0;
}

async function prepareEscrow(id) {
  const r = recordById(id);
  if (!r || (r.escrow && r.escrow.status !== 'escrowed' && r.escrow.status !== 'sending')) {
    await go(r ? `#/record/${id}` : '#/entries');
    return;
  }
  const rows = $('#ident-rows');
  rows.textContent = '';
  rowCounter = 0;
  $('#escrow-form').dataset.record = id;
  $('#escrow-cancel').setAttribute('href', `#/record/${id}`);
  const title = $('#h-escrow');
  title.dataset.i18n = r.escrow ? 'reporter.escrow.title.change' : 'reporter.escrow.title';
  title.textContent = t(title.dataset.i18n);
  if (r.escrow) {
    for (const typed of r.escrow.identifiers) {
      const m = /^([a-z]+):(.*)$/i.exec(typed);
      const known = m && Object.hasOwn(PLATFORMS_BY_KIND, m[1].toLowerCase());
      rows.append(identRow(known ? m[1].toLowerCase() : (/^\+?[\d\s().-]+$/.test(typed) ? 'phone' : 'email'), known ? m[2] : typed));
    }
  } else rows.append(identRow());
  const quorum = $('#e-quorum');
  quorum.value = '';
  $('#e-quorum-hint').textContent = '';
  showView('escrow');
  try {
    const d = state.deployment || await deployment();
    const low = d.quorum ?? d.quorumRange?.low;
    const high = d.maxQuorum ?? d.max_quorum ?? d.quorumRange?.high;
    const shownLow = $('#quorum-default');
    delete shownLow.dataset.i18n; // the service's number from now on, in the current language's digits
    shownLow.replaceChildren(live(() => formatNumber(low)));
    quorum.min = String(low);
    quorum.max = String(high);
    quorum.value = String(r.escrow?.quorum ?? low);
    $('#e-quorum-hint').replaceChildren(tx('reporter.escrow.quorum.hint', () => ({ low: formatNumber(low), high: formatNumber(high) })));
  } catch (err) {
    // offline, the names can be typed now and sent later (sendWhenOnline); the quorum is then the service's
    if (navigator.onLine === false) noteOf('reporter.escrow.offline.naming');
    else fail(err, 'reporter.escrow.error.setup');
  }
}

function setupEscrow() {
  $('#ident-add').addEventListener('click', () => {
    const rows = $('#ident-rows');
    if ($$('.ident-row', rows).length >= MAX_IDENTIFIERS) {
      fail(own('reporter.escrow.error.too_many_rows', { count: MAX_IDENTIFIERS }));
      return;
    }
    const row = identRow();
    rows.append(row);
    row.parts.kindSelect.focus();
  });
  const form = $('#escrow-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    const r = recordById(form.dataset.record);
    if (!r) return;
    const named = [];
    const seen = new Set();
    let firstBad = null;
    for (const row of $$('.ident-row', $('#ident-rows'))) {
      if (!row.parts.input.value.trim()) continue;
      const ident = checkRow(row);
      if (!ident) { firstBad = firstBad || row.parts.input; continue; }
      if (!seen.has(ident.canonical)) { seen.add(ident.canonical); named.push(ident); }
    }
    if (firstBad) { firstBad.focus(); return; }
    if (named.length === 0) {
      const first = $('.ident-row', $('#ident-rows')).parts.input;
      fieldProblem(first, 'reporter.escrow.error.none');
      first.focus();
      return;
    }
    if (named.length > MAX_IDENTIFIERS) { fail(own('reporter.escrow.error.too_many', { count: MAX_IDENTIFIERS })); return; }
    const quorumInput = $('#e-quorum');
    let quorum = null;
    if (quorumInput.value) {
      quorum = Number(quorumInput.value);
      const low = Number(quorumInput.min || 2);
      const high = Number(quorumInput.max || 32);
      if (!Number.isInteger(quorum) || quorum < low || quorum > high) {
        fieldProblem(quorumInput, 'reporter.escrow.error.quorum', () => ({ low: formatNumber(low), high: formatNumber(high) }));
        quorumInput.focus();
        return;
      }
    }
    fieldError(quorumInput, '');
    if (navigator.onLine === false) { sendWhenOnline(form, r); return; }
    await busy(form, () => escrow(r, named, quorum));
  });
}

/**
 * No network: nothing can be sent (the key servers must turn the names into matching codes first). The
 * record is already saved in the wallet; the form keeps the names, and is sent by itself once the
 * network is back, if it is still the one shown (else the person is told they can send it).
 */
function sendWhenOnline(form, r) {
  noteOf('reporter.escrow.offline.waiting');
  if (form.dataset.waiting === r.record_id) return;
  form.dataset.waiting = r.record_id;
  window.addEventListener('online', () => {
    delete form.dataset.waiting;
    const still = !$('#view-escrow').hidden && form.dataset.record === r.record_id && state.wallet;
    if (still) form.requestSubmit();
    else if (state.wallet) noteOf('reporter.escrow.online');
  }, { once: true });
}

const SEND_STEPS = [
  ['send', 'reporter.send.steps.send'],
  ['receipt', 'reporter.send.steps.receipt'],
  ['save', 'reporter.send.steps.save'],
];

async function resend(r) {
  clearNotices();
  const steps = stepsOf('reporter.send.again.title', [['deployment', 'reporter.send.steps.deployment'], ...SEND_STEPS]);
  try {
    await reporter.resend(session(), r, { onStep: (key, s) => steps.track(key, s) });
    steps.clear();
    await renderRecord(r.record_id);
    noteOf('reporter.send.again.done');
  } catch (err) {
    fail(err, 'reporter.send.again.error');
  }
}

/** Resend every unacknowledged submission (same bytes, so never counted twice). */
async function finishPending() {
  let steps = null;
  let current = null;
  const sent = await reporter.finishPending(session(), {
    onStep: (key, s, { record }) => {
      if (record !== current) {
        steps?.clear();
        steps = stepsOf('reporter.send.pending.title', SEND_STEPS);
        current = record;
      }
      steps.track(key, s);
    },
  });
  if (!sent.length) return;
  steps.clear();
  noteOf('reporter.send.pending.done');
  rerender();
}

/** The names a record in escrow already has, as Identifiers (typed as the reporter typed them). */
const storedNames = (record) => reporter.storedNames(record);

/**
 * Another record of this wallet already names one of `named` (found here, or refused by the server
 * with 409 already_named): each person is named in one record of an account at a time, so that one
 * account counts once. Offer to add the names given to that record instead, or to open it.
 */
function offerExisting(r, named, hit) {
  const message = () => (hit
    ? t('reporter.escrow.clash.record', { title: recordTitle(hit.record), names: formatList(hit.names.map((c) => readableCanonical(c))) })
    : t('reporter.escrow.clash.unknown'));
  const prefix = r.escrow ? 'reporter.escrow.error.unchanged' : 'reporter.escrow.error.not_escrowed';
  if (!hit) { fail(() => ({ message: message() }), prefix); return; }
  const other = hit.record;
  const merged = storedNames(other);
  for (const n of named) if (!merged.some((m) => m.canonical === n.canonical)) merged.push(n);
  const actions = () => $('#alert').append(el('div', { class: 'actions' },
    el('button', { type: 'button', id: 'add-to-existing', onclick: async (ev) => {
      ev.currentTarget.disabled = true;
      clearNotices();
      await escrow(other, merged, null);
    } }, t('reporter.escrow.clash.add', { title: recordTitle(other) })),
    el('a', { class: 'button secondary', href: `#/record/${other.record_id}` }, t('reporter.escrow.clash.open'))));
  fail(() => ({ message: message() }), prefix, actions);
}

async function escrow(r, named, quorum) {
  const clash = reporter.namedElsewhere(state.wallet, named, { except: r });
  if (clash.length) { // checked here first: no key server is asked for a submission the server would refuse
    offerExisting(r, named, clash[0]);
    return;
  }
  const steps = stepsOf('reporter.escrow.steps.title', [
    ['deployment', 'reporter.send.steps.deployment'],
    ['oprf', 'reporter.escrow.steps.oprf'],
    ['seal', 'reporter.escrow.steps.seal'],
    ['keep', 'reporter.escrow.steps.keep'],
    ...SEND_STEPS,
  ]);
  // Naming other people for a record already in escrow: until the new names are sent, the
  // entry stays as it was.
  const changing = Boolean(r.escrow) && !r.escrow.pending;
  // An earlier submission that was never acknowledged is sent first, with its own list of steps.
  let earlier = null;
  const onStep = (key, s, detail) => {
    if (!detail.earlier) { steps.track(key, s); return; }
    earlier = earlier || stepsOf('reporter.escrow.steps.earlier', SEND_STEPS);
    earlier.track(key, s);
  };
  try {
    await reporter.escrow(session(), r, named, { quorum, onStep });
    steps.clear();
    await go(`#/record/${r.record_id}`);
    noteOf(changing ? 'reporter.escrow.done.changed' : 'reporter.escrow.done');
  } catch (err) {
    if (err instanceof ApiError && err.code === 'already_named') {
      steps.clear();
      offerExisting(r, named, reporter.namedElsewhere(state.wallet, named, { except: r })[0] ?? null);
      return;
    }
    const pending = r.escrow?.pending;
    // Kept to be resent: show the record (status "Not yet confirmed", "Send again now"), not the form.
    if (pending) await go(`#/record/${r.record_id}`);
    let prefix = changing ? 'reporter.escrow.error.unchanged' : 'reporter.escrow.error.not_escrowed';
    if (pending) prefix = 'reporter.escrow.error.pending';
    fail(err?.name === 'KeyServerUnavailable' ? await explainKeyServers(err, { changing }) : err, prefix);
  }
}

// --- key servers the browser cannot reach -------------------------------------------------------

const originOf = (url) => { try { return new URL(url).origin; } catch { return url; } };

/**
 * Whether anything answers at a key server, CORS aside: a no-cors request (no token, no body)
 * resolves with an opaque answer when the server is up, and fails when nothing is listening.
 */
async function answers(url) {
  try {
    const signal = AbortSignal.timeout ? AbortSignal.timeout(5000) : undefined;
    await fetch(`${url.replace(/\/+$/, '')}/healthz`, { mode: 'no-cors', cache: 'no-store', credentials: 'omit', signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Too few key servers answered. The browser reports a server that is down and one that refuses
 * this page's origin (CORS) alike, so look closer: when the ones that failed do answer a no-cors
 * request, they are up and do not allow this page's address, which the person who runs the
 * service can fix (their --web-origin list). Otherwise the error as it was.
 */
async function explainKeyServers(err, { changing = false } = {}) {
  const failed = (err.unreachable || []).filter((s) => s.error === 'TypeError');
  const up = (await Promise.all(failed.map(async (s) => ((await answers(s.url)) ? s : null)))).filter(Boolean);
  if (!up.length) return err;
  const here = window.location.origin;
  const usual = state.deployment?.escrowUrl;
  const other = usual && originOf(usual) !== here ? usual : null;
  const servers = up.map((s) => originOf(s.url)).join(', ');
  return () => ({
    message: [
      t('reporter.keyservers.refused', { servers, here }),
      other ? t('reporter.keyservers.fix.other', { here, other, option: '--web-origin', command: 'consilience keyserver' })
        : t('reporter.keyservers.fix', { here, option: '--web-origin', command: 'consilience keyserver' }),
      t(changing ? 'reporter.keyservers.after.change' : 'reporter.keyservers.after.private'),
    ].join('\n'),
  });
}

// --- messages with the counselors (PROTOCOL.md §13) ---------------------------------------------
// Everything is opened and checked in this browser (sdk/clients/conversations.js): a message shows only
// if it is signed by a counselor the signed deployment document lists, by this wallet, or, in a group, by
// a member of the counselor's newest list. The page asks the server every POLL_MS while it is open and
// adds what is new without touching what is being typed.

const POLL_MS = 5000;  // a reply someone is waiting for shows within seconds; each look is one small request
const poll = { timer: null, running: null, again: false, unread: 0 };
/** What the messages page shows: per conversation its list element and the seqs already in it. */
const shown = { lists: new Map(), intros: new Map(), groups: new Map(), built: false };

function startPolling() {
  stopPolling();
  poll.timer = setInterval(() => { refreshMessages({ announce: true }).catch(() => {}); }, POLL_MS);
  refreshMessages({ announce: false }).catch(() => {});
}

function stopPolling() {
  if (poll.timer) clearInterval(poll.timer);
  poll.timer = null;
  poll.unread = 0;
  resetMessagesView();
  const badge = $('#nav-unread');
  if (badge) badge.textContent = '';
}

function resetMessagesView() {
  shown.lists.clear();
  shown.intros.clear();
  shown.groups.clear();
  shown.built = false;
  const body = $('#messages-body');
  if (body) body.textContent = '';
  const live = $('#messages-live');
  if (live) live.textContent = '';
}

const onMessagesView = () => !$('#view-messages').hidden;

async function showMessages() {
  resetMessagesView(); // built afresh on each visit: the page's download links were let go on leaving
  showView('messages');
  $('#messages-live').replaceChildren(tx('reporter.messages.opening'));
  try {
    await refreshMessages({ announce: false });
  } catch (err) {
    $('#messages-live').textContent = '';
    fail(err, 'reporter.messages.error.open');
  }
}

/**
 * Ask the server for what is new, open it here, and show it: on the messages page each new message is
 * added to its conversation (and said, calmly, in the live region); elsewhere the navigation says how many
 * are unread.
 */
async function refreshMessages({ announce }) {
  if (!state.wallet) return;
  if (!state.wallet.message_seed) { // a wallet from before messaging: talk.ensureMessagingKey gives it one after unlocking
    if (onMessagesView()) { $('#messages-live').textContent = ''; $('#messages-empty').hidden = false; }
    return;
  }
  if (poll.running) { // one at a time; what asked meanwhile runs once more right after, so nothing is missed
    poll.again = poll.again || { announce };
    await poll.running.catch(() => {});
    return;
  }
  poll.running = refreshOnce(announce);
  try {
    await poll.running;
  } finally {
    poll.running = null;
    const again = poll.again;
    poll.again = false;
    if (again) await refreshMessages(again);
  }
}

async function refreshOnce(announce) {
  const wallet = state.wallet;
  const box = await talk.inbox(session());
  if (state.wallet !== wallet) return; // locked meanwhile
  const wasBuilt = shown.built; // the first build of the page is not "new": it is what was asked for
  const unread = [...box.unread.values()].reduce((a, b) => a + b, 0);
  if (onMessagesView()) {
    const added = renderInbox(box);
    await talk.markRead(session(), [...box.direct, ...box.groups.map((g) => g.view)]);
    poll.unread = 0;
    const live = $('#messages-live');
    if (announce && wasBuilt && added > 0) live.replaceChildren(tx('reporter.messages.arrived', { count: added }));
    else if (!announce) live.textContent = '';
  } else {
    // said in the polite status line, without scrolling: the person may be in the middle of writing something
    if (announce && unread > poll.unread && !$('#alert').textContent) {
      showNote(() => t('reporter.messages.unread', { count: unread }), { quiet: true });
    }
    poll.unread = unread;
  }
  const count = poll.unread;
  $('#nav-unread').replaceChildren(count ? tx('reporter.nav.unread', { count }) : '');
}

function conversationTitle(view) {
  const r = view.recordId ? recordById(view.recordId) : null;
  return r ? recordTitle(r) : t('reporter.messages.a_record');
}

/** Build or extend the messages page from an inbox; returns how many messages from others were added. */
function renderInbox(box) {
  const body = $('#messages-body');
  $('#messages-empty').hidden = box.direct.length > 0;
  let added = 0;
  for (const view of box.direct) {
    let entry = shown.lists.get(view.conversationId);
    if (!entry) {
      entry = directSection(view);
      shown.lists.set(view.conversationId, entry);
      body.append(entry.section);
    }
    added += appendMessages(entry, view);
    for (const intro of box.introductions.filter((i) => i.conversationId === view.conversationId)) {
      const had = shown.intros.get(intro.introductionId);
      if (had && had.state === intro.state) continue;
      const section = introductionSection(intro);
      if (had) had.section.replaceWith(section);
      else entry.section.after(section);
      shown.intros.set(intro.introductionId, { state: intro.state, section });
    }
  }
  for (const g of box.groups) {
    let entry = shown.groups.get(g.view.conversationId);
    if (!entry) {
      entry = groupSection(g);
      shown.groups.set(g.view.conversationId, entry);
      const intro = shown.intros.get(g.introduction.introductionId)?.section;
      if (intro) intro.after(entry.section);
      else body.append(entry.section);
    }
    const members = [...g.view.members].sort();
    entry.members.replaceChildren(members.length
      ? tx('reporter.group.members', () => ({ names: formatList(members, MEMBERS) }))
      : tx('reporter.group.unconfirmed'));
    added += appendMessages(entry, g.view);
  }
  shown.built = true;
  return added;
}

/** Add the messages of `view` not yet on the page; returns how many of them are from others. */
function appendMessages(entry, view) {
  let added = 0;
  for (const m of view.messages) {
    if (entry.seqs.has(m.seq)) continue;
    entry.seqs.add(m.seq);
    entry.list.querySelector('.empty')?.remove();
    entry.list.append(messageItem(m));
    if (m.author !== 'you') added += 1;
  }
  const problems = view.refused.length;
  entry.problem.replaceChildren(problems ? tx('reporter.messages.refused', { count: problems }) : '');
  entry.problem.hidden = !problems;
  return added;
}

function messageItem(m) {
  const from = { counselor: 'from-counselor', you: 'from-me', member: 'from-member', reporter: 'from-reporter' }[m.author];
  const who = m.author === 'you' ? tx('reporter.messages.you') : (m.name || tx('reporter.messages.counselor'));
  const li = el('li', { class: `message ${from}` },
    el('p', { class: 'meta' }, el('strong', {}, who), ' · ', live(() => when(m.sentAt))));
  if (m.type === 'reveal') {
    li.append(el('p', { class: 'message-text' },
      tx(m.author === 'you' ? 'reporter.messages.shared.you' : 'reporter.messages.shared.them', { contact: m.contact })));
    if (m.text) li.append(el('p', { class: 'message-text' }, m.text));
  } else if (m.type === 'roster') {
    const members = [...m.members].sort();
    li.append(el('p', { class: 'message-text' }, tx('reporter.messages.roster', () => ({ names: formatList(members, MEMBERS) }))));
  } else {
    if (m.text) li.append(el('p', { class: 'message-text' }, m.text));
    if (m.type === 'introduction') li.append(el('p', { class: 'hint' }, tx('reporter.messages.answer_below')));
  }
  if (m.attachments?.length) {
    li.append(el('ul', { class: 'files' }, m.attachments.map((a) => el('li', {},
      downloadLink(tx('reporter.write.file', () => ({ name: a.name, size: size(a.data.length) })), a.data, a.name, a.type)))));
  }
  return li;
}

let composeCounter = 0;

/** A form to write: a text box, optional files within the limit, a button; `send(text, attachments)` does the rest. */
function composeForm({ label, button, hint, send, files = true }) {
  const n = ++composeCounter;
  const text = el('textarea', { id: `compose-${n}`, name: 'text', rows: '3', 'aria-describedby': `compose-${n}-hint compose-${n}-error` });
  const fileInput = files ? el('input', { id: `compose-${n}-files`, name: 'files', type: 'file', multiple: true,
    'aria-describedby': `compose-${n}-files-hint compose-${n}-files-error` }) : null;
  const form = el('form', { class: 'compose', novalidate: true },
    el('div', { class: 'field' },
      el('label', { for: text.id }, tx(label)),
      el('span', { class: 'hint', id: `compose-${n}-hint` }, tx(hint)),
      text,
      el('p', { class: 'field-error', id: `compose-${n}-error`, hidden: true })),
    files ? el('div', { class: 'field' },
      el('label', { for: fileInput.id }, tx('reporter.compose.files')),
      el('span', { class: 'hint', id: `compose-${n}-files-hint` }, tx('reporter.compose.files.hint', () => ({ size: size(attachmentBudget()) }))),
      fileInput,
      el('p', { class: 'field-error', id: `compose-${n}-files-error`, hidden: true })) : null,
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, tx(button))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    clearFieldErrors(form);
    const picked = fileInput ? [...fileInput.files] : [];
    if (!text.value.trim() && !picked.length) {
      fieldProblem(text, 'reporter.compose.error.empty');
      text.focus();
      return;
    }
    const total = picked.reduce((a, f) => a + f.size, 0);
    if (total > attachmentBudget()) {
      tooLarge(fileInput, total);
      fileInput.focus();
      return;
    }
    await busy(form, async () => {
      try {
        const attachments = [];
        for (const f of picked) attachments.push({ name: f.name, type: f.type || 'application/octet-stream', data: await readFileBytes(f) });
        await send(text.value, attachments);
        form.reset();
        await refreshMessages({ announce: false });
        text.focus();
      } catch (err) {
        fail(err, 'reporter.compose.error.failed');
      }
    });
  });
  return form;
}

function directSection(view) {
  const id = `conv-${view.conversationId}`;
  const list = el('ol', { class: 'messages', id: `${id}-messages`, 'aria-live': 'polite', 'aria-relevant': 'additions' },
    el('li', { class: 'empty' }, tx('reporter.messages.none')));
  const problem = el('p', { class: 'problem', hidden: true });
  const record = view.recordId ? recordById(view.recordId) : null;
  const section = el('section', { class: 'conversation card', 'aria-labelledby': `${id}-h` },
    el('h2', { id: `${id}-h` }, tx('reporter.messages.counselors')),
    el('p', { class: 'meta' }, tx('reporter.messages.about'), ' ',
      record ? el('a', { href: `#/record/${record.record_id}` }, live(() => t('reporter.messages.quoted', { title: conversationTitle(view) })))
        : live(() => conversationTitle(view))),
    list, problem,
    composeForm({
      label: 'reporter.compose.answer', button: 'reporter.compose.send',
      hint: 'reporter.compose.answer.hint',
      send: (text, attachments) => talk.reply(session(), record, text, attachments),
    }),
    revealBox(record));
  return { section, list, problem, seqs: new Set() };
}

/** "Share how to reach me": nothing is sent until the reporter confirms what and that they mean it. */
function revealBox(record) {
  const box = el('div', { class: 'reveal' });
  const open = el('button', { type: 'button', class: 'secondary' }, tx('reporter.reveal.open'));
  box.append(open);
  open.addEventListener('click', () => {
    open.hidden = true;
    const n = ++composeCounter;
    const contact = el('textarea', { id: `reveal-${n}`, rows: '2', 'aria-describedby': `reveal-${n}-hint reveal-${n}-error` });
    contact.value = state.wallet.contact || '';
    const heading = el('h3', { tabindex: '-1', id: `reveal-${n}-h` }, tx('reporter.reveal.title'));
    const form = el('form', { class: 'notice info', novalidate: true, 'aria-labelledby': heading.id },
      heading,
      el('p', {}, tx('reporter.reveal.explain')),
      el('div', { class: 'field' },
        el('label', { for: contact.id }, tx('reporter.reveal.label')),
        el('span', { class: 'hint', id: `reveal-${n}-hint` }, tx('reporter.reveal.hint')),
        contact,
        el('p', { class: 'field-error', id: `reveal-${n}-error`, hidden: true })),
      el('div', { class: 'actions' },
        el('button', { type: 'submit' }, tx('reporter.reveal.yes')),
        el('button', { type: 'button', class: 'secondary', onclick: () => { form.remove(); open.hidden = false; open.focus(); } }, tx('common.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearNotices();
      if (!contact.value.trim()) { fieldProblem(contact, 'reporter.reveal.error.empty'); contact.focus(); return; }
      await busy(form, async () => {
        try {
          await talk.reveal(session(), record, contact.value.trim());
          form.remove();
          open.hidden = false;
          await refreshMessages({ announce: false });
          noteOf('reporter.reveal.done');
        } catch (err) {
          fail(err, 'reporter.reveal.error');
        }
      });
    });
    box.append(form);
    heading.focus();
  });
  return box;
}

function introductionSection(intro) {
  const id = `intro-${intro.introductionId}`;
  const section = el('section', { class: 'introduction card', 'aria-labelledby': `${id}-h` },
    el('h2', { id: `${id}-h`, tabindex: '-1' }, tx('reporter.intro.title')),
    el('p', {}, tx('reporter.intro.offer')),
    el('blockquote', { class: 'message-text' }, intro.text),
    el('p', { class: 'meta' }, intro.counselor || tx('reporter.messages.counselor'), ' · ', live(() => when(intro.sentAt))));
  if (intro.state === 'accepted') {
    section.append(el('p', {}, tx('reporter.intro.accepted')));
    return section;
  }
  section.append(el('p', {}, tx(intro.state === 'declined' ? 'reporter.intro.declined' : 'reporter.intro.explain')));
  const n = ++composeCounter;
  const name = el('input', { id: `intro-name-${n}`, type: 'text', maxlength: '64', autocomplete: 'off',
    'aria-describedby': `intro-name-${n}-hint intro-name-${n}-error` });
  const form = el('form', { novalidate: true },
    el('div', { class: 'field' },
      el('label', { for: name.id }, tx('reporter.intro.name')),
      el('span', { class: 'hint', id: `intro-name-${n}-hint` }, tx('reporter.intro.name.hint', () => ({ max: formatNumber(64) }))),
      name,
      el('p', { class: 'field-error', id: `intro-name-${n}-error`, hidden: true })),
    el('div', { class: 'actions' },
      el('button', { type: 'submit' }, tx('reporter.intro.yes')),
      intro.state === 'open' ? el('button', { type: 'button', class: 'secondary', onclick: () => declineIntroduction(intro, form) },
        tx('reporter.intro.no')) : null));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    const chosen = name.value.trim();
    if (!chosen || Array.from(chosen).length > 64) {
      fieldProblem(name, 'reporter.intro.error.name', () => ({ max: formatNumber(64) }));
      name.focus();
      return;
    }
    await busy(form, async () => {
      try {
        await talk.accept(session(), intro.introductionId, chosen);
        await refreshMessages({ announce: false });
        document.getElementById(`${id}-h`)?.focus();
        noteOf('reporter.intro.done', { name: chosen });
      } catch (err) {
        fail(err, 'reporter.intro.error');
      }
    });
  });
  section.append(form);
  return section;
}

async function declineIntroduction(intro, form) {
  clearNotices();
  await busy(form, async () => {
    try {
      await talk.decline(session(), intro.introductionId);
      await refreshMessages({ announce: false });
      document.getElementById(`intro-${intro.introductionId}-h`)?.focus();
      noteOf('reporter.intro.declined.done');
    } catch (err) {
      fail(err, 'reporter.intro.declined.error');
    }
  });
}

function groupSection(g) {
  const id = `group-${g.view.conversationId}`;
  const list = el('ol', { class: 'messages', id: `${id}-messages`, 'aria-live': 'polite', 'aria-relevant': 'additions' },
    el('li', { class: 'empty' }, tx('reporter.messages.none')));
  const problem = el('p', { class: 'problem', hidden: true });
  const members = el('p', { class: 'members' });
  const section = el('section', { class: 'conversation group card', 'aria-labelledby': `${id}-h` },
    el('h2', { id: `${id}-h` }, tx('reporter.group.title')),
    el('p', {}, tx('reporter.group.explain')),
    members, list, problem,
    composeForm({
      label: 'reporter.group.compose', button: 'reporter.group.send',
      hint: 'reporter.group.compose.hint',
      send: (text, attachments) => talk.sendToGroup(session(), g.introduction.introductionId, text, attachments),
    }));
  return { section, list, problem, members, seqs: new Set() };
}

// --- a notification address (PROTOCOL.md §13.7) ------------------------------------------------

function notifyShown(answer) {
  const current = $('#notify-current');
  if (!answer.email) current.replaceChildren(tx('reporter.notify.none'));
  else {
    current.replaceChildren(tx('reporter.notify.current', { email: answer.email }),
      answer.sends_mail ? '' : ' ', answer.sends_mail ? '' : tx('reporter.notify.no_mail'));
  }
  $('#notify-remove').hidden = !answer.email;
}

function showNotifyAddress() {
  api().notify().then(notifyShown).catch(() => { $('#notify-current').textContent = ''; });
}

function setupNotify() {
  const form = $('#notify-form');
  const input = $('#notify-email');
  const send = (email) => busy(form, async () => {
    clearNotices();
    try {
      await deployment(); // the administrator's server, checked before an address goes to it
      const answer = await api().putNotify(email);
      notifyShown(answer);
      input.value = '';
      noteOf(email ? 'reporter.notify.saved' : 'reporter.notify.removed');
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) fieldProblem(input, 'reporter.notify.error.invalid');
      else fail(err, 'reporter.notify.error.failed');
    }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fieldError(input, '');
    const email = input.value.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      fieldProblem(input, 'reporter.notify.error.empty');
      input.focus();
      return;
    }
    await send(email);
  });
  $('#notify-remove').addEventListener('click', () => send(null));
}

// --- who read a record --------------------------------------------------------------------------

/** The counselors who opened this record, named from the signed document, each receipt checked in the log. */
function readersBox(r) {
  const box = el('div', { class: 'readers' }, el('h3', {}, tx('reporter.readers.title')));
  const list = el('ul', { class: 'readers-list' });
  const status = el('p', { class: 'hint' }, tx('reporter.readers.checking'));
  box.append(status, list);
  talk.readers(session(), r).then((readers) => {
    status.replaceChildren(tx(readers.length ? 'reporter.readers.explain' : 'reporter.readers.none'));
    for (const x of readers) {
      let check = tx('reporter.readers.not_logged');
      if (x.checked) check = tx('reporter.readers.checked');
      else if (x.problem) check = tx('reporter.readers.problem', () => ({ problem: problemText(x.failure, x.problem) }));
      list.append(el('li', { class: x.problem ? 'problem' : '' },
        x.counselor || tx('reporter.readers.unlisted'), ', ', live(() => when(x.openedAt)), ' · ', check));
    }
  }).catch((err) => {
    status.replaceChildren(tx(err instanceof ApiError && err.status === 404 ? 'reporter.readers.gone' : 'reporter.readers.error'));
  });
  return box;
}

// --- start ---------------------------------------------------------------------------------------

/**
 * After a change of language (the picker in the header): say again what this page made, in place,
 * and what it showed last (the notice, field errors, the steps); rebuild what is made from several
 * sources (the country menus, each name's check). What the person typed or chose stays as it was.
 */
function followLanguage() {
  sayAgain();
  for (const row of $$('.ident-row', $('#ident-rows'))) {
    const { regionSelect, input, sync } = row.parts;
    // a guessed country follows the language until the person picks one or types a number read in it
    const keep = regionSelect.hasAttribute('data-picked') || input.value.trim();
    fillRegions(regionSelect, keep ? regionSelect.value : guessRegion());
    sync();
    checkRow(row, { quiet: !input.hasAttribute('aria-invalid') });
  }
  const pass = $('#join-pass');
  if (pass.value) $('#join-pass-strength').textContent = passphraseStrength(pass.value).text;
  for (const cell of $$('td[data-label-key]')) cell.dataset.label = t(cell.dataset.labelKey);
  if (!state.wallet) return;
  const view = $$('[data-view]').find((section) => !section.hidden)?.dataset.view;
  if (view === 'entries') { renderEntries(); recoveryUi.showBackupState(); }
  if (view === 'record') {
    const r = recordById(window.location.hash.split('/')[2]);
    if (r) $('#h-record').textContent = recordTitle(r);
  }
}

function init() {
  applyTranslations(document);
  mountLanguagePicker(document.getElementById('language-slot'));
  onLanguageChange(followLanguage);
  // sw.js keeps this build's files, checked against manifest.json, so the app opens with no network
  navigator.serviceWorker?.register('/sw.js', { scope: '/' }).catch(() => {});
  setupJoin();
  setupUnlock();
  setupImport();
  recoveryUi.setupRecovery({
    state, api, deployment, server, walletBytes,
    onRecovered: async (wallet, vault, d) => {
      state.wallet = wallet;
      state.vault = vault;
      state.deployment = d;
      await go('#/entries');
      talk.ensureMessagingKey(session()).catch(() => {});
      startPolling();
    },
  });
  setupWrite();
  setupEscrow();
  setupNotify();
  $('#export').addEventListener('click', exportWallet);
  installSafety({ forget, lock, isUnlocked: () => Boolean(state.wallet) });
  setupDeleteAccount({ api, forget, after: (note) => lock({ note }) });
  $('#refresh').addEventListener('click', () => refreshStatuses());
  setRouter(route);
  window.addEventListener('hashchange', () => { route().catch((err) => showError(err)); });
  route().catch((err) => showError(err));
}

init();

