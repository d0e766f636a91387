// The reporter app (served at /): join with an invite, write records privately, put them in
// escrow naming identifiers, see entries and receipts, withdraw. Every identifier, record and
// key stays in this browser; only sealed outputs reach the servers (PROTOCOL.md §1, §8).
import {
  EscrowApi, fetchDeployment, checkReceipt, normalise, b64uDecode, b64uEncode,
  parseReceipt, newWallet, walletToBytes, walletFromBytes, addRecord, nowIsoSeconds,
  parseInvite, INVITE_MISTYPED, InvalidInput, VerificationError, MAX_BODY_BYTES, reporter, PLATFORMS, PLATFORMS_BY_KIND,
  accounts, bytesEqual, ApiError, reporterSignIn, talk, conversations as sealedItems,
} from '../sdk/index.js';
import { getCountries, getCountryCallingCode } from 'libphonenumber-js/max';
import * as disclosureUi from './lib/disclosure_ui.js';
import {
  $, $$, el, showView, clearNotices, showError, showNote, fieldError, clearFieldErrors, describeError,
  Steps, busy, downloadLink, revokeUrls, saveFile, readFileBytes, formatBytes, formatDate, passphraseStrength,
  go, setRouter, plural, breakable,
} from './lib/ui.js';
import { kindLabel, namedItem, readable, readableCanonical, shownValue } from './lib/names.js';
import { loadSealedWallet, saveSealedWallet, saveReceipt, loadReceipt } from './lib/store.js';
import { WALLET_PURPOSE, Vault } from './lib/vault.js';
import * as recoveryUi from './lib/recovery_ui.js';
import { installSafety } from './lib/safety.js';
import { recordTitle, setupDeleteAccount } from './lib/account.js';
import { applyTranslations, mountLanguagePicker } from './lib/i18n.js';

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
  private: 'Private',
  sending: 'Not yet confirmed',
  escrowed: 'In escrow',
  withdrawn: 'Withdrawn',
};

/** Said on every edit and withdrawal, whether or not anything was read (saying it only after a match would tell). */
const KEPT_WHAT_THEY_READ = 'If a counselor has already read this record, they keep what they read; the change '
  + 'applies from now on.';

function badge(status) {
  return el('span', { class: `badge ${status}` }, STATUS_TEXT[status] || status);
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
      fieldError(invite, err instanceof InvalidInput ? err.message : INVITE_MISTYPED);
      bad = bad || invite;
    }
    if (pass.value.length < 8) {
      fieldError(pass, 'Please choose a passphrase of at least 8 characters; several words are best.');
      bad = bad || pass;
    } else if (pass.value !== pass2.value) {
      fieldError(pass2, 'The two passphrases are not the same.');
      bad = bad || pass2;
    }
    if (bad) { bad.focus(); return; }
    if (await loadSealedWallet()) {
      showError({ message: 'This browser already keeps a wallet. Unlock it (on the first page) instead of joining again.' });
      return;
    }
    await busy(form, () => join(parsed, contact.value.trim(), pass.value));
  });
}

async function join(invite, contact, passphrase) {
  const steps = new Steps('Creating your wallet', [
    ['deployment', 'Checking the service is the one your invite is for'],
    ['register', 'Creating your account with the invite'],
    ['seal', 'Locking your wallet with your passphrase'],
    ['store', 'Keeping it in this browser'],
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
        throw new VerificationError('the escrow server returned a certificate for another account; nothing was saved');
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
    showNote('Your wallet is ready. Nothing you write is sent anywhere until you choose to put it in escrow.');
    recoveryUi.afterJoin(passphrase); // the account handle is shown once the backup is set up
  } catch (err) {
    if (err.status === 403) {
      showError({ message: 'The invite was not accepted. A character in it may be mistyped: check it against the '
        + 'one you were given. If it is exactly right, it may have been used already or have expired; '
        + 'ask for a new one.' });
    } else if (checkingDeployment && err instanceof VerificationError) {
      // the invite's last part pins the administrator's key: a typo there reads as another service
      showError({ message: 'This invite does not match this service. A character in its last part may be '
        + 'mistyped: check it against the one you were given, or ask whoever gave it to you which address '
        + 'to open.' });
    } else {
      showError(err, 'Your wallet could not be created.');
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
    await busy(form, () => unlock(sealed, pass.value, 'Unlocking your records'));
    pass.value = '';
  });
  $('#lock').addEventListener('click', lock);
}

async function unlock(sealedText, passphrase, title, { store = false } = {}) {
  const steps = new Steps(title, [['open', 'Opening your wallet with your passphrase']]);
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
    showError(err.name === 'DecryptionError' ? { message: 'That passphrase does not open this wallet.' } : err);
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
  $('#h-record').textContent = 'Record';
  $('#delete-open').hidden = false;
  await go('#/start');
  showNote(note || 'Locked. Your records are safe in this browser; unlock them with your passphrase.');
}

function setupImport() {
  const form = $('#import-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    clearFieldErrors(form);
    const file = $('#import-file');
    const pass = $('#import-pass');
    if (!file.files.length) { fieldError(file, 'Choose the wallet file.'); file.focus(); return; }
    if (file.files[0].size > 24 * 1024 * 1024) { fieldError(file, 'That file is too large to be a wallet.'); file.focus(); return; }
    if (!pass.value) { pass.focus(); return; }
    const text = await file.files[0].text();
    await busy(form, () => unlock(text, pass.value, 'Opening the wallet file', { store: true }));
    pass.value = '';
  });
}

async function exportWallet() {
  const text = await loadSealedWallet();
  if (!text) return;
  saveFile(text, 'wallet.sealed', 'application/json');
  showNote('Your wallet file was saved as wallet.sealed. It is locked with your passphrase.');
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
      el('p', { class: 'meta' }, `Written ${formatDate(r.written_at)}`,
        names ? [' · names ', el('span', { class: 'names' }, breakable(names))] : '',
        r.escrow?.receipts?.length ? ` · ${plural(r.escrow.receipts.length, 'receipt')}` : ''),
    ));
  }
}

async function refreshStatuses({ quiet = false } = {}) {
  if (!state.wallet || !state.wallet.records.some((r) => r.escrow)) {
    if (!quiet) showNote('Nothing is in escrow, so there is nothing to check.');
    return;
  }
  try {
    // statuses, and (PROTOCOL.md §13.6) an entry a counselor of the current document cannot open is locked
    // again for them with the same record and names, so it stays readable after a match
    const out = await reporter.refresh(session());
    if (out.resealed.length) {
      showNote(`${out.resealed.length === 1 ? 'One of your records was' : `${out.resealed.length} of your records were`} `
        + 'locked again for the service’s current counselors, with the same words and names, so it stays readable '
        + 'if there is a match.');
    } else if (!quiet) showNote(out.changed ? 'Updated.' : 'No changes.');
    rerender();
  } catch (err) {
    if (!quiet) showError(err, 'Could not check for updates.');
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

function prepareWrite() {
  $('#w-files-hint').textContent = `Photos, screenshots or documents, up to ${formatBytes(attachmentBudget())} in total. `
    + 'They are kept in your wallet and go with the record if you put it in escrow.';
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
      list.append(el('li', {}, `${f.name} (${formatBytes(f.size)})`));
    }
    fieldError(files, total > attachmentBudget()
      ? `These files add up to ${formatBytes(total)}; the limit is ${formatBytes(attachmentBudget())}.` : '');
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
      box.textContent = 'The record is empty. Write something in at least one of the boxes.';
      box.hidden = false;
      $('#w-what').focus();
      return;
    }
    let total = 0;
    for (const f of files.files) total += f.size;
    if (total > attachmentBudget()) {
      fieldError(files, `These files add up to ${formatBytes(total)}; the limit is ${formatBytes(attachmentBudget())}.`);
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
        showNote('Saved privately in your wallet. It has not been sent anywhere.');
      } catch (err) {
        showError(err, 'The record could not be saved.');
      }
    });
  });
}

// --- one record ----------------------------------------------------------------------------------

function detailList(pairs) {
  const dl = el('dl', { class: 'details' });
  for (const [k, v] of pairs) if (v) dl.append(el('dt', {}, k), el('dd', {}, v));
  return dl;
}

async function renderRecord(id, { focus = true } = {}) {
  const r = recordById(id);
  if (!r) { await go('#/entries'); return; }
  const box = $('#record-body');
  box.textContent = '';
  const status = statusOf(r);
  $('#h-record').textContent = recordTitle(r);
  box.append(el('p', { class: 'meta' }, badge(status), ` Written ${formatDate(r.written_at)}`));

  const d = r.details || {};
  box.append(el('section', { class: 'card', 'aria-labelledby': 'h-rec-content' },
    el('h2', { id: 'h-rec-content' }, 'What you wrote'),
    detailList([['What happened', d.what], ['When', d.when], ['Where', d.where], ['Who else saw it', d.witnesses]]),
    r.text ? el('div', { class: 'record-text' }, r.text) : null,
    r.attachments?.length ? el('div', {},
      el('h3', {}, 'Attached files'),
      el('ul', { class: 'files' }, r.attachments.map((a) => {
        const bytes = b64uDecode(a.data);
        return el('li', {}, downloadLink(`${a.name} (${formatBytes(bytes.length)})`, bytes, a.name, a.type));
      }))) : null));

  const esc = el('section', { class: 'card', 'aria-labelledby': 'h-rec-escrow' }, el('h2', { id: 'h-rec-escrow' }, 'Escrow'));
  box.append(esc);
  if (!r.escrow) {
    esc.append(el('p', {}, 'This record is private: it is only in your wallet and has not been sent anywhere.'),
      el('div', { class: 'actions' }, el('a', { class: 'button', href: `#/escrow/${r.record_id}` }, 'Put in escrow…')));
  } else {
    const e = r.escrow;
    const explain = {
      sending: 'Sending was not confirmed by the server. It will be sent again, exactly as before, so it is never counted twice.',
      escrowed: `It is locked on the server. Only when ${e.quorum} different people have named the same person can `
        + 'the counselors read it; a counselor will then reach out to you. Until then nothing of it can be read, '
        + 'and this page will not tell you whether anyone else has named them.',
      withdrawn: 'You withdrew this record. The server erased it and kept only a note that it existed.',
    }[statusOf(r)] || '';
    esc.append(el('p', {}, explain),
      el('h3', {}, 'Named'),
      el('ul', { class: 'will-match' }, e.identifiers.map((t, i) => namedItem(t, e.canonical[i]))),
      detailList([['Readable by counselors at', `${e.quorum} people`], ['Accepted', e.received_at ? formatDate(e.received_at) : 'not yet']]));
    const actions = el('div', { class: 'actions' });
    if (e.pending) actions.append(el('button', { type: 'button', onclick: () => resend(r) }, 'Send again now'));
    if (statusOf(r) === 'escrowed' && !e.pending) {
      actions.append(el('a', { class: 'button secondary', href: `#/escrow/${r.record_id}` }, 'Change who is named'));
      actions.append(el('button', { type: 'button', class: 'secondary', id: 'withdraw-open', onclick: () => askWithdraw(r) }, 'Withdraw…'));
    }
    esc.append(actions, el('div', { id: 'withdraw-confirm' }));
    esc.append(await receiptList(e));
    if (e.status === 'escrowed' || e.status === 'withdrawn') {
      esc.append(readersBox(r));
      esc.append(el('p', {}, el('a', { href: '#/messages' }, 'Messages with the counselors')));
    }
    if (statusOf(r) === 'escrowed' && !e.pending) esc.append(disclosureUi.exportBox(r, () => ({ wallet: state.wallet, api: api() })));
  }
  showView('record', { focus });
}

async function receiptList(e) {
  const section = el('div', {}, el('h3', {}, 'Receipts'));
  if (!e.receipts?.length) {
    section.append(el('p', {}, 'No receipts yet.'));
    return section;
  }
  section.append(el('p', { class: 'hint' }, 'Each receipt proves the server recorded this event in its public log. '
    + 'They hold no content. You can check one later with “consilience verify”.'));
  // A table on wide screens; on narrow ones each receipt stacks as label: value lines (app.css),
  // so the ARIA roles keep it a table for assistive technology whatever the CSS display is.
  const columns = ['Event', 'Log index', 'Checkpoint', 'File'];
  const table = el('table', { class: 'receipts', role: 'table' },
    el('thead', { role: 'rowgroup' }, el('tr', { role: 'row' },
      columns.map((c) => el('th', { scope: 'col', role: 'columnheader' }, c)))));
  const cell = (n, ...content) => el('td', { role: 'cell', 'data-label': columns[n] }, ...content);
  const body = el('tbody', { role: 'rowgroup' });
  for (const path of e.receipts) {
    const name = path.split('/').pop();
    const text = await loadReceipt(name);
    let info = { index: '', size: '' };
    const kind = name.includes('-withdrawal-') ? 'Withdrawal' : 'Entry';
    if (text) {
      try {
        const p = parseReceipt(text);
        info = { index: String(p.index), size: `log size ${p.checkpoint.split('\n')[1] || '?'}` };
      } catch { /* shown by name only */ }
    }
    body.append(el('tr', { role: 'row' }, cell(0, kind), cell(1, info.index || name.split('-').pop().split('.')[0]),
      cell(2, info.size), cell(3, text ? downloadLink('Download', text, name, 'text/plain') : 'kept by the command line')));
  }
  table.append(body);
  section.append(table);
  return section;
}

function askWithdraw(r) {
  const box = $('#withdraw-confirm');
  box.textContent = '';
  const heading = el('h3', { tabindex: '-1', id: 'h-withdraw' }, 'Withdraw this record?');
  box.append(el('div', { class: 'notice info', role: 'group', 'aria-labelledby': 'h-withdraw' },
    heading,
    // What withdrawing does (services/escrow, v2: the same before and after a release; body, envelopes and tags
    // erased, a tombstone and a log leaf kept); the wallet keeps the record, marked withdrawn,
    // and neither this page nor the CLI escrows a withdrawn record again.
    el('p', {}, 'The server will erase the locked record and the codes made from the names, so it no longer counts '
      + 'towards a match. The server keeps only a note that it existed and was withdrawn, and you get a receipt for that.'),
    el('p', {}, KEPT_WHAT_THEY_READ),
    el('p', {}, 'Your own copy stays in your wallet on this device. Withdrawing cannot be undone: this record cannot '
      + 'be put in escrow again.'),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'danger', onclick: (ev) => withdraw(r, ev.target) }, 'Yes, withdraw it'),
      el('button', { type: 'button', class: 'secondary', onclick: () => { box.textContent = ''; $('#withdraw-open')?.focus(); } }, 'No, keep it in escrow'))));
  heading.focus();
}

async function withdraw(r, button) {
  clearNotices();
  button.disabled = true;
  const steps = new Steps('Withdrawing', [['send', 'Asking the server to erase it'], ['receipt', 'Checking the receipt'], ['save', 'Saving in your wallet']]);
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
    showNote(`The record was withdrawn. Your own copy is still in your wallet. ${KEPT_WHAT_THEY_READ}`);
  } catch (err) {
    showError(err, 'The record could not be withdrawn.');
    button.disabled = false;
  }
}

function keepReceipt(escrow, text, kind) {
  return reporter.keepReceipt(escrow, text, kind, saveReceipt);
}

// --- escrow ------------------------------------------------------------------------------------

let regionOptions = null;

function regions() {
  if (regionOptions) return regionOptions;
  let names = null;
  try { names = new Intl.DisplayNames([navigator.language || 'en'], { type: 'region' }); } catch { /* codes only */ }
  regionOptions = getCountries().map((c) => ({ code: c, label: `${names?.of(c) || c} (+${getCountryCallingCode(c)})` }))
    .sort((a, b) => a.label.localeCompare(b.label));
  return regionOptions;
}

/**
 * The country a number typed without + is read in, before the person chooses: the region of the first
 * of the browser's languages that names or implies one (es-MX gives MX; a bare "es" gives ES and "ar"
 * gives EG, through Intl.Locale's likely subtags), never a fixed country. None when no language gives
 * one: the person then chooses. "We will match on" shows the number with its country code either way,
 * so a wrong country is seen before anything is sent.
 */
function guessRegion() {
  const known = new Set(getCountries());
  for (const tag of navigator.languages?.length ? navigator.languages : [navigator.language || '']) {
    let region;
    try { region = new Intl.Locale(tag).maximize().region; } catch { continue; } // not a language tag
    if (region && known.has(region)) return region;
  }
  return '';
}

let rowCounter = 0;

function identRow(kind = 'email', value = '', region = null) {
  const n = ++rowCounter;
  const kindSelect = el('select', { id: `ident-kind-${n}`, name: 'kind' },
    MENU_PLATFORMS.map((p) => el('option', { value: p.kind, selected: p.kind === kind }, p.menuLabel)));
  const input = el('input', { id: `ident-value-${n}`, name: 'identifier', type: 'text', autocomplete: 'off',
    spellcheck: 'false', 'aria-describedby': `ident-value-${n}-hint ident-value-${n}-error ident-value-${n}-ok` });
  input.value = value;
  const chosen = region || guessRegion();
  const regionSelect = el('select', { id: `ident-region-${n}`, name: 'region' },
    el('option', { value: '', selected: !chosen }, 'Choose the country'),
    regions().map((r) => el('option', { value: r.code, selected: r.code === chosen }, r.label)));
  const regionField = el('div', { class: 'field' },
    el('label', { for: regionSelect.id }, 'Country of the number'),
    el('span', { class: 'hint', id: `${regionSelect.id}-hint` }, 'Used when the number does not start with +.'),
    regionSelect);
  regionSelect.setAttribute('aria-describedby', `${regionSelect.id}-hint`);
  const hint = el('span', { class: 'hint', id: `ident-value-${n}-hint` });
  const row = el('div', { class: 'ident-row', 'data-row': String(n) },
    el('div', { class: 'field' }, el('label', { for: kindSelect.id }, 'Kind'), kindSelect),
    el('div', { class: 'field' },
      el('label', { for: input.id }, 'Their address, number or profile'),
      hint, input,
      el('p', { class: 'field-error', id: `ident-value-${n}-error`, hidden: true }),
      el('p', { class: 'field-ok', id: `ident-value-${n}-ok` })),
    el('div', { class: 'wide' }, regionField),
    el('div', { class: 'wide' }, el('button', { type: 'button', class: 'link', onclick: () => removeRow(row) }, 'Remove this one')));
  const sync = () => {
    const k = kindSelect.value;
    hint.textContent = `For example: ${PLATFORMS_BY_KIND[k].hint}`;
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
  row.parts = { kindSelect, input, regionSelect };
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
      throw new Error('Choose the country of the number, or write it with + and its country code.');
    }
    const opts = kindSelect.value === 'phone' ? { defaultRegion: regionSelect.value || null } : {};
    const ident = normalise(typed, opts);
    if (kindSelect.value === 'email' && ident.kind !== 'email') {
      throw new Error(`That is not an email address; choose the kind “${PLATFORMS_BY_KIND[ident.kind]?.menuLabel || ident.kind}”.`);
    }
    if (kindSelect.value === 'phone' && ident.kind !== 'phone') throw new Error('That is not a phone number.');
    fieldError(input, '');
    // The kind is the menu's choice beside it, so the value alone, as its platform writes it.
    ok.textContent = `We will match on: ${ident.kind === kindSelect.value ? shownValue(ident.kind, ident.value) : readable(ident)}`;
    row.result = ident;
  } catch (err) {
    ok.textContent = '';
    if (!quiet) fieldError(input, err.message);
    else fieldError(input, '');
    row.error = err.message;
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
      list.append(el('li', {}, `${kindLabel(r.kind)}: `, el('span', { class: 'canonical' }, breakable(shownValue(r.kind, r.value)))));
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
  $('#h-escrow').textContent = r.escrow ? 'Change who this record names' : 'Put this record in escrow';
  if (r.escrow) {
    for (const t of r.escrow.identifiers) {
      const m = /^([a-z]+):(.*)$/i.exec(t);
      const known = m && Object.hasOwn(PLATFORMS_BY_KIND, m[1].toLowerCase());
      rows.append(identRow(known ? m[1].toLowerCase() : (/^\+?[\d\s().-]+$/.test(t) ? 'phone' : 'email'), known ? m[2] : t));
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
    $('#quorum-default').textContent = String(low);
    quorum.min = String(low);
    quorum.max = String(high);
    quorum.value = String(r.escrow?.quorum ?? low);
    $('#e-quorum-hint').textContent = `At least ${low} (the service’s setting), at most ${high}. A higher number means your record waits for more people.`;
  } catch (err) {
    // offline, the names can be typed now and sent later (sendWhenOnline); the quorum is then the service's
    if (navigator.onLine === false) showNote('You are offline. You can name the person now; nothing is sent until the network is back.');
    else showError(err, 'The service’s setup could not be checked.');
  }
}

function setupEscrow() {
  $('#ident-add').addEventListener('click', () => {
    const rows = $('#ident-rows');
    if ($$('.ident-row', rows).length >= MAX_IDENTIFIERS) {
      showError({ message: `You can name at most ${MAX_IDENTIFIERS} identifiers in one record.` });
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
      fieldError(first, 'Name the person with at least one email address, phone number or profile.');
      first.focus();
      return;
    }
    if (named.length > MAX_IDENTIFIERS) { showError({ message: `Name at most ${MAX_IDENTIFIERS} identifiers.` }); return; }
    const quorumInput = $('#e-quorum');
    let quorum = null;
    if (quorumInput.value) {
      quorum = Number(quorumInput.value);
      const low = Number(quorumInput.min || 2);
      const high = Number(quorumInput.max || 32);
      if (!Number.isInteger(quorum) || quorum < low || quorum > high) {
        fieldError(quorumInput, `Choose a whole number from ${low} to ${high}.`);
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
  showNote('You are offline. Your record is saved on this device. It will be put in escrow as soon as the network '
    + 'is back: keep this page open.');
  if (form.dataset.waiting === r.record_id) return;
  form.dataset.waiting = r.record_id;
  window.addEventListener('online', () => {
    delete form.dataset.waiting;
    const still = !$('#view-escrow').hidden && form.dataset.record === r.record_id && state.wallet;
    if (still) form.requestSubmit();
    else if (state.wallet) showNote('You are back online. You can put your record in escrow now.');
  }, { once: true });
}

const SEND_STEPS = [
  ['send', 'Sending the locked record to the server'],
  ['receipt', 'Checking the server’s receipt'],
  ['save', 'Saving the receipt in your wallet'],
];

async function resend(r) {
  clearNotices();
  const steps = new Steps('Sending again', [['deployment', 'Checking the service’s signed setup'], ...SEND_STEPS]);
  try {
    await reporter.resend(session(), r, { onStep: (key, s) => steps.track(key, s) });
    steps.clear();
    await renderRecord(r.record_id);
    showNote('Sent and confirmed.');
  } catch (err) {
    showError(err, 'It could not be sent. It is kept, exactly as it was, to be sent again.');
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
        steps = new Steps('Finishing an earlier submission', SEND_STEPS);
        current = record;
      }
      steps.track(key, s);
    },
  });
  if (!sent.length) return;
  steps.clear();
  showNote('An earlier submission that was not confirmed has now been sent and confirmed.');
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
  const names = hit ? hit.names.map((c) => readableCanonical(c)).join(', ') : 'one of these people';
  const where = hit ? `Your record “${recordTitle(hit.record)}”` : 'Another of your records';
  showError({ message: `${where} already names ${names}. Each person can be named in one of your records at a time, `
    + 'so that one account counts once. You can add the names given here to that record instead, or withdraw that '
    + 'record first.' },
  r.escrow ? 'The names were not changed; your record stays in escrow as it was.' : 'Your record was not put in escrow.');
  if (!hit) return;
  const other = hit.record;
  const merged = storedNames(other);
  for (const n of named) if (!merged.some((m) => m.canonical === n.canonical)) merged.push(n);
  $('#alert').append(el('div', { class: 'actions' },
    el('button', { type: 'button', id: 'add-to-existing', onclick: async (ev) => {
      ev.target.disabled = true;
      clearNotices();
      await escrow(other, merged, null);
    } }, `Add the names to “${recordTitle(other)}”`),
    el('a', { class: 'button secondary', href: `#/record/${other.record_id}` }, 'Open that record')));
}

async function escrow(r, named, quorum) {
  const clash = reporter.namedElsewhere(state.wallet, named, { except: r });
  if (clash.length) { // checked here first: no key server is asked for a submission the server would refuse
    offerExisting(r, named, clash[0]);
    return;
  }
  const steps = new Steps('Putting your record in escrow', [
    ['deployment', 'Checking the service’s signed setup'],
    ['oprf', 'Turning the names into matching codes with the key servers'],
    ['seal', 'Locking the record so only counselors can open it, after a match'],
    ['keep', 'Keeping an exact copy to resend if needed'],
    ...SEND_STEPS,
  ]);
  // Naming other people for a record already in escrow: until the new names are sent, the
  // entry stays as it was.
  const changing = Boolean(r.escrow) && !r.escrow.pending;
  // An earlier submission that was never acknowledged is sent first, with its own list of steps.
  let earlier = null;
  const onStep = (key, s, detail) => {
    if (!detail.earlier) { steps.track(key, s); return; }
    earlier = earlier || new Steps('Finishing the earlier submission first', SEND_STEPS);
    earlier.track(key, s);
  };
  try {
    await reporter.escrow(session(), r, named, { quorum, onStep });
    steps.clear();
    await go(`#/record/${r.record_id}`);
    showNote('Your record is in escrow. Nobody can read it unless enough people name the same person; then a counselor '
      + 'will reach out to you.' + (changing ? ` ${KEPT_WHAT_THEY_READ}` : ''));
  } catch (err) {
    if (err instanceof ApiError && err.code === 'already_named') {
      steps.clear();
      offerExisting(r, named, reporter.namedElsewhere(state.wallet, named, { except: r })[0] ?? null);
      return;
    }
    const pending = r.escrow?.pending;
    // Kept to be resent: show the record (status "Not yet confirmed", "Send again now"), not the form.
    if (pending) await go(`#/record/${r.record_id}`);
    let prefix = changing ? 'The names were not changed; your record stays in escrow as it was.' : 'Your record was not put in escrow.';
    if (pending) prefix = 'Sending was not confirmed. Your record is kept exactly as it was and will be sent again (it can never count twice).';
    showError(err?.name === 'KeyServerUnavailable' ? await explainKeyServers(err, { changing }) : err, prefix);
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
  return {
    message: [
      `Nothing was sent. The service’s key servers (${up.map((s) => originOf(s.url)).join(', ')}) are running, `
        + `but they do not accept requests from this page’s address, ${here}.`,
      `Please tell the person who runs this service: they need to add ${here} to the key servers’ web origins `
        + `(the \`--web-origin\` option of \`consilience keyserver\`)${other ? `, or have people open the app at ${other}` : ''}.`,
      changing ? 'Once that is fixed, you can change the names from here.'
        : 'Your record stays private in your wallet. Once that is fixed, you can put it in escrow from here.',
    ].join('\n'),
  };
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
  $('#messages-live').textContent = 'Opening your messages on this device…';
  try {
    await refreshMessages({ announce: false });
  } catch (err) {
    $('#messages-live').textContent = '';
    showError(err, 'Your messages could not be opened right now.');
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
    if (announce && wasBuilt && added > 0) live.textContent = added === 1 ? 'A new message arrived.' : `${added} new messages arrived.`;
    else if (!announce) live.textContent = '';
  } else {
    // said in the polite status line, without scrolling: the person may be in the middle of writing something
    if (announce && unread > poll.unread && !$('#alert').textContent) {
      $('#note').textContent = unread === 1 ? 'A new message arrived. Open Messages to read it.'
        : `You have ${unread} new messages. Open Messages to read them.`;
    }
    poll.unread = unread;
  }
  $('#nav-unread').textContent = poll.unread ? ` (${poll.unread} new)` : '';
}

function conversationTitle(view) {
  const r = view.recordId ? recordById(view.recordId) : null;
  return r ? recordTitle(r) : 'a record';
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
    entry.members.textContent = g.view.members.length
      ? `In the group: ${[...g.view.members].sort().join(', ')}.`
      : 'The counselor has not yet confirmed who is in the group. You can write once they have.';
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
  entry.problem.textContent = problems
    ? `${plural(problems, 'message')} could not be shown, because ${problems === 1 ? 'it is' : 'they are'} not signed by `
      + 'anyone who may write here, or did not open. They may have been changed on the server.'
    : '';
  entry.problem.hidden = !problems;
  return added;
}

function messageItem(m) {
  const from = { counselor: 'from-counselor', you: 'from-me', member: 'from-member', reporter: 'from-reporter' }[m.author];
  const who = m.author === 'you' ? 'You' : (m.name || 'A counselor');
  const li = el('li', { class: `message ${from}` },
    el('p', { class: 'meta' }, el('strong', {}, who), ` · ${formatDate(m.sentAt)}`));
  if (m.type === 'reveal') {
    li.append(el('p', { class: 'message-text' }, `${m.author === 'you' ? 'You shared' : 'Shared'} how to reach `
      + `${m.author === 'you' ? 'you' : 'them'}: ${m.contact}`));
    if (m.text) li.append(el('p', { class: 'message-text' }, m.text));
  } else if (m.type === 'roster') {
    li.append(el('p', { class: 'message-text' }, `The counselor confirmed who is in the group: ${[...m.members].sort().join(', ')}.`));
  } else {
    if (m.text) li.append(el('p', { class: 'message-text' }, m.text));
    if (m.type === 'introduction') li.append(el('p', { class: 'hint' }, 'You can answer this offer below.'));
  }
  if (m.attachments?.length) {
    li.append(el('ul', { class: 'files' }, m.attachments.map((a) => el('li', {},
      downloadLink(`${a.name} (${formatBytes(a.data.length)})`, a.data, a.name, a.type)))));
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
      el('label', { for: text.id }, label),
      el('span', { class: 'hint', id: `compose-${n}-hint` }, hint),
      text,
      el('p', { class: 'field-error', id: `compose-${n}-error`, hidden: true })),
    files ? el('div', { class: 'field' },
      el('label', { for: fileInput.id }, 'Attach files to this message (optional)'),
      el('span', { class: 'hint', id: `compose-${n}-files-hint` }, `Up to ${formatBytes(attachmentBudget())} in total.`),
      fileInput,
      el('p', { class: 'field-error', id: `compose-${n}-files-error`, hidden: true })) : null,
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, button)));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    clearFieldErrors(form);
    const picked = fileInput ? [...fileInput.files] : [];
    if (!text.value.trim() && !picked.length) {
      fieldError(text, 'Write something, or attach a file, before sending.');
      text.focus();
      return;
    }
    const total = picked.reduce((a, f) => a + f.size, 0);
    if (total > attachmentBudget()) {
      fieldError(fileInput, `These files add up to ${formatBytes(total)}; the limit is ${formatBytes(attachmentBudget())}.`);
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
        showError(err, 'Your message was not sent.');
      }
    });
  });
  return form;
}

function directSection(view) {
  const id = `conv-${view.conversationId}`;
  const list = el('ol', { class: 'messages', id: `${id}-messages`, 'aria-live': 'polite', 'aria-relevant': 'additions' },
    el('li', { class: 'empty' }, 'No messages yet.'));
  const problem = el('p', { class: 'problem', hidden: true });
  const record = view.recordId ? recordById(view.recordId) : null;
  const section = el('section', { class: 'conversation card', 'aria-labelledby': `${id}-h` },
    el('h2', { id: `${id}-h` }, 'Counselors'),
    el('p', { class: 'meta' }, 'About your record ',
      record ? el('a', { href: `#/record/${record.record_id}` }, `“${conversationTitle(view)}”`) : conversationTitle(view)),
    list, problem,
    composeForm({
      label: 'Your answer', button: 'Send',
      hint: 'Only the counselors of this service can read it. You do not have to say who you are.',
      send: (text, attachments) => talk.reply(session(), record, text, attachments),
    }),
    revealBox(record));
  return { section, list, problem, seqs: new Set() };
}

/** "Share how to reach me": nothing is sent until the reporter confirms what and that they mean it. */
function revealBox(record) {
  const box = el('div', { class: 'reveal' });
  const open = el('button', { type: 'button', class: 'secondary' }, 'Share how to reach me…');
  box.append(open);
  open.addEventListener('click', () => {
    open.hidden = true;
    const n = ++composeCounter;
    const contact = el('textarea', { id: `reveal-${n}`, rows: '2', 'aria-describedby': `reveal-${n}-hint reveal-${n}-error` });
    contact.value = state.wallet.contact || '';
    const heading = el('h3', { tabindex: '-1', id: `reveal-${n}-h` }, 'Share how to reach you?');
    const form = el('form', { class: 'notice info', novalidate: true, 'aria-labelledby': heading.id },
      heading,
      el('p', {}, 'This tells the counselors of this service how to reach you outside this app. They keep it once '
        + 'it is sent. Only share it if you want them to contact you that way.'),
      el('div', { class: 'field' },
        el('label', { for: contact.id }, 'How they can reach you'),
        el('span', { class: 'hint', id: `reveal-${n}-hint` }, 'For example a phone number, a Signal name or an email address.'),
        contact,
        el('p', { class: 'field-error', id: `reveal-${n}-error`, hidden: true })),
      el('div', { class: 'actions' },
        el('button', { type: 'submit' }, 'Yes, share it'),
        el('button', { type: 'button', class: 'secondary', onclick: () => { form.remove(); open.hidden = false; open.focus(); } }, 'Cancel')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearNotices();
      if (!contact.value.trim()) { fieldError(contact, 'Write how they can reach you, or choose Cancel.'); contact.focus(); return; }
      await busy(form, async () => {
        try {
          await talk.reveal(session(), record, contact.value.trim());
          form.remove();
          open.hidden = false;
          await refreshMessages({ announce: false });
          showNote('Shared. The counselors can now see how to reach you.');
        } catch (err) {
          showError(err, 'It was not shared.');
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
    el('h2', { id: `${id}-h`, tabindex: '-1' }, 'An introduction'),
    el('p', {}, 'A counselor offers to connect you with others who named the same person.'),
    el('blockquote', { class: 'message-text' }, intro.text),
    el('p', { class: 'meta' }, `${intro.counselor || 'A counselor'} · ${formatDate(intro.sentAt)}`));
  if (intro.state === 'accepted') {
    section.append(el('p', {}, 'You accepted. The group conversation shows here once the counselor has confirmed '
      + 'who is in it. The others see only the name you chose.'));
    return section;
  }
  if (intro.state === 'declined') {
    section.append(el('p', {}, 'You said no. Nothing was sent: nobody will be told that you declined. '
      + 'If you change your mind, you can still accept.'));
  } else {
    section.append(el('p', {}, 'Only those who all accept see each other, under a name each of them chooses. '
      + 'If you say no, nothing is sent: nobody will be told that you declined.'));
  }
  const n = ++composeCounter;
  const name = el('input', { id: `intro-name-${n}`, type: 'text', maxlength: '64', autocomplete: 'off',
    'aria-describedby': `intro-name-${n}-hint intro-name-${n}-error` });
  const form = el('form', { novalidate: true },
    el('div', { class: 'field' },
      el('label', { for: name.id }, 'The name the others will see'),
      el('span', { class: 'hint', id: `intro-name-${n}-hint` }, 'Any name you like, up to 64 characters. It does not have to be your real name.'),
      name,
      el('p', { class: 'field-error', id: `intro-name-${n}-error`, hidden: true })),
    el('div', { class: 'actions' },
      el('button', { type: 'submit' }, 'Yes, introduce me'),
      intro.state === 'open' ? el('button', { type: 'button', class: 'secondary', onclick: () => declineIntroduction(intro, form) },
        'No, thank you') : null));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    const chosen = name.value.trim();
    if (!chosen || Array.from(chosen).length > 64) {
      fieldError(name, 'Choose a name of 1 to 64 characters for the others to see.');
      name.focus();
      return;
    }
    await busy(form, async () => {
      try {
        await talk.accept(session(), intro.introductionId, chosen);
        await refreshMessages({ announce: false });
        document.getElementById(`${id}-h`)?.focus();
        showNote(`You accepted, as “${chosen}”. The group opens once the counselor has confirmed who is in it.`);
      } catch (err) {
        showError(err, 'Your answer was not sent.');
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
      showNote('You declined. Nothing was sent: nobody will be told that you declined.');
    } catch (err) {
      showError(err, 'That did not work.');
    }
  });
}

function groupSection(g) {
  const id = `group-${g.view.conversationId}`;
  const list = el('ol', { class: 'messages', id: `${id}-messages`, 'aria-live': 'polite', 'aria-relevant': 'additions' },
    el('li', { class: 'empty' }, 'No messages yet.'));
  const problem = el('p', { class: 'problem', hidden: true });
  const members = el('p', { class: 'members' });
  const section = el('section', { class: 'conversation group card', 'aria-labelledby': `${id}-h` },
    el('h2', { id: `${id}-h` }, 'Group conversation'),
    el('p', {}, 'Everyone here accepted the introduction. The others see the name you chose, nothing else about you.'),
    members, list, problem,
    composeForm({
      label: 'Message to the group', button: 'Send to the group',
      hint: 'The counselors and the members of the group can read it.',
      send: (text, attachments) => talk.sendToGroup(session(), g.introduction.introductionId, text, attachments),
    }));
  return { section, list, problem, members, seqs: new Set() };
}

// --- a notification address (PROTOCOL.md §13.7) ------------------------------------------------

function notifyShown(answer) {
  const current = $('#notify-current');
  if (!answer.email) current.textContent = 'No address is given: nobody will mail you.';
  else {
    current.textContent = `Notices go to ${answer.email}.${answer.sends_mail ? ''
      : ' This service does not send mail at the moment, so nothing will arrive there until its operator sets mail up.'}`;
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
      showNote(email ? 'Saved. A mail there will only ever say that something is waiting.' : 'Removed. Nobody will mail you.');
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) fieldError(input, 'That does not look like an email address.');
      else showError(err, 'The address was not changed.');
    }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fieldError(input, '');
    const email = input.value.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      fieldError(input, 'Write the email address to send notices to.');
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
  const box = el('div', { class: 'readers' }, el('h3', {}, 'Who read this record'));
  const list = el('ul', { class: 'readers-list' });
  const status = el('p', { class: 'hint' }, 'Checking…');
  box.append(status, list);
  talk.readers(session(), r).then((readers) => {
    status.textContent = readers.length ? 'Each time a counselor opened this record. A line says “checked in the log” '
      + 'once its receipt was verified against the service’s public log.' : 'No counselor has opened this record.';
    for (const x of readers) {
      const check = x.checked ? 'checked in the log' : (x.problem ? `the log receipt did not check: ${x.problem}` : 'not in the log yet');
      list.append(el('li', { class: x.problem ? 'problem' : '' }, `${x.counselor || 'A counselor no longer listed'}, ${formatDate(x.openedAt)} · ${check}`));
    }
  }).catch((err) => {
    status.textContent = err instanceof ApiError && err.status === 404
      ? 'The server no longer lists who read this record.' : 'This could not be checked right now.';
  });
  return box;
}

// --- start ---------------------------------------------------------------------------------------

function init() {
  applyTranslations(document);
  mountLanguagePicker(document.getElementById('language-slot'));
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

