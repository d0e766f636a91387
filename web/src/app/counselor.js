// The counselor app (served at /counselor/): unlock the counselor key file in the browser
// (nothing of it is sent), list matches, open one and decrypt the released entries here
// (PROTOCOL.md §8, "Opening").
import {
  EscrowApi, counselorSignIn, fetchDeployment, openMatch, matchedEntryFromJson, counselorKeyFromBytes, hpke, abscissaLabel,
  b64uDecode, b64uEncode, bytesEqual,
} from '../sdk/index.js';
import {
  $, el, breakable, showView, clearNotices, showError, showNote, fieldError, clearFieldErrors,
  Steps, busy, downloadLink, revokeUrls, formatBytes, formatDate,
  go, setRouter,
} from './lib/ui.js';
import { COUNSELOR_PURPOSE, Vault } from './lib/vault.js';

const state = { keys: null, deployment: null, api: null };

const server = () => window.location.origin;

/** The escrow server as this counselor: the key file holds the credential, which signs in for a session
 * (kept while the key is unlocked) and again when that expires (PROTOCOL.md §6.1). */
function api() {
  if (!state.api) state.api = new EscrowApi(server(), null, { signIn: counselorSignIn(state.keys.token) });
  return state.api;
}

// --- unlock ------------------------------------------------------------------------------------

function setupUnlock() {
  const form = $('#unlock-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    clearFieldErrors(form);
    const file = $('#key-file');
    const pass = $('#key-pass');
    if (!file.files.length) { fieldError(file, 'Choose your counselor key file.'); file.focus(); return; }
    if (file.files[0].size > 1024 * 1024) { fieldError(file, 'That file is too large to be a counselor key.'); file.focus(); return; }
    if (!pass.value) { fieldError(pass, 'Type the key’s passphrase.'); pass.focus(); return; }
    const text = await file.files[0].text();
    await busy(form, () => unlock(text, pass.value));
    pass.value = '';
  });
  $('#lock').addEventListener('click', lock);
}

async function unlock(text, passphrase) {
  const steps = new Steps('Unlocking your key', [
    ['open', 'Opening the key file with your passphrase (on this device)'],
    ['deployment', 'Checking the service’s signed setup lists your key'],
  ]);
  try {
    steps.start('open');
    let keys;
    try {
      const { vault, data } = await Vault.open(text, passphrase, steps.bar('open'), COUNSELOR_PURPOSE);
      vault.forget();
      keys = counselorKeyFromBytes(data);
      keys.publicKey = await hpke.publicKeyBytes(keys.seed);
      keys.keyId = await hpke.keyId(keys.publicKey);
    } catch (err) {
      steps.fail('open');
      if (err.name === 'DecryptionError') throw new Error('That passphrase does not open this key file.');
      throw err;
    }
    steps.done('open');
    if (!keys.token || !keys.adminFingerprint) {
      throw new Error('This key is not connected to a server yet. Run “consilience counselor login” first.');
    }
    const d = await steps.run('deployment', () => fetchDeployment(server(), keys.adminFingerprint, keys.minSerial || 0));
    if (!d.counselors.some((c) => bytesEqual(c.keyId, keys.keyId))) {
      throw new Error('This service’s setup does not list your key. Ask the administrator to add it.');
    }
    state.keys = keys;
    state.api = null;
    state.deployment = d;
    steps.clear();
    $('#unlock-form').reset();
    await go('#/matches');
  } catch (err) {
    showError(err, 'The key could not be unlocked.');
  }
}

async function lock() {
  state.keys = null;
  state.api = null;
  state.deployment = null;
  revokeUrls();
  $('#match-body').textContent = '';
  $('#matches-list').textContent = '';
  $('#progress').textContent = '';
  await go('#/unlock');
  showNote('Locked. Nothing of your key is kept in this browser.');
}

// --- matches -----------------------------------------------------------------------------------

async function renderMatches() {
  showView('matches');
  $('#who').textContent = `Signed in as ${state.keys.name}.`;
  const list = $('#matches-list');
  list.textContent = '';
  let matches;
  try {
    matches = await api().matches();
  } catch (err) {
    showError(err, 'The matches could not be listed.');
    return;
  }
  $('#matches-empty').hidden = matches.length > 0;
  for (const m of matches) {
    const id = m.match_id ?? m.matchId;
    list.append(el('li', {},
      el('h2', {}, el('a', { href: `#/match/${id}` }, `Match of ${m.released} released record${m.released === 1 ? '' : 's'}`)),
      el('p', { class: 'meta' }, `First released ${formatDate(m.created_at ?? m.createdAt)}`,
        ` · last change ${formatDate(m.updated_at ?? m.updatedAt)}`)));
  }
}

function detailList(pairs) {
  const dl = el('dl', { class: 'details' });
  for (const [k, v] of pairs) if (v) dl.append(el('dt', {}, k), el('dd', {}, v));
  return dl;
}

/**
 * One name a reporter gave: what they typed (without the "kind:" their page put in front of a
 * profile) → the exact form it matched on, whose "kind:" says the platform. (The platforms'
 * labels live in the SDK's identifier registry, which would more than double this page.)
 */
function namedItem(typed, canonical) {
  const kind = /^([a-z]+):/.exec(canonical)?.[1] || '';
  const shown = kind && typed.toLowerCase().startsWith(`${kind}:`) ? typed.slice(kind.length + 1) : typed;
  return el('li', {}, breakable(shown), ' → ', el('span', { class: 'canonical' }, breakable(canonical)));
}

function shortId(bytesOrText) {
  const t = typeof bytesOrText === 'string' ? bytesOrText : b64uEncode(bytesOrText);
  return t.slice(0, 8);
}

async function openOne(matchId) {
  showView('match');
  $('#h-match').textContent = 'Opening the match…';
  const box = $('#match-body');
  box.textContent = '';
  const steps = new Steps('Opening the match', [
    ['fetch', 'Fetching the match’s locked records'],
    ['open', 'Decrypting them on this device'],
  ]);
  try {
    const detail = await steps.run('fetch', () => api().match(b64uDecode(matchId)));
    const entries = detail.entries.map(matchedEntryFromJson);
    // Protocol v2: shares are checked against the deployment's quorum commitments (fetched and verified at unlock).
    const d = state.deployment ?? await fetchDeployment(server(), state.keys.adminFingerprint, state.keys.minSerial || 0);
    state.deployment = d;
    const result = await steps.run('open', async () => openMatch(b64uDecode(detail.tag), entries, state.keys.seed,
      state.keys.keyId, d));
    steps.clear();
    renderMatch(detail, entries, result);
    $('#h-match').focus();
  } catch (err) {
    steps.clear();
    $('#h-match').textContent = 'This match could not be opened';
    showError(err); // focuses the error, which says why
  }
}

function renderMatch(detail, entries, result) {
  const box = $('#match-body');
  const opened = result.opened || [];
  const failed = Object.entries(result.failed || {});
  const bogus = result.bogus || [];
  $('#h-match').textContent = `Match: ${opened.length} record${opened.length === 1 ? '' : 's'} opened`;
  const released = entries.filter((e) => e.released).length;
  box.append(el('p', {}, `${released} of ${entries.length} entries naming this person have been released. `
    + 'Entries that are not released stay locked; their reporters are not shown here.'));
  box.append(el('p', { class: 'hint' }, 'Each reporter is shown by a pseudonym (a short code from their account’s '
    + 'abscissa), not by any account id: records with the same pseudonym come from the same account, here and in '
    + 'other matches you open.'));

  opened.forEach((o, i) => {
    const b = o.body || {};
    const d = b.details || {};
    const idText = shortId(o.entryId);
    const pseudonym = o.abscissa ? abscissaLabel(o.abscissa) : '';
    const section = el('section', { class: 'card', 'aria-labelledby': `h-entry-${i}` },
      el('h2', { id: `h-entry-${i}` }, `Record ${i + 1}`),
      el('p', { class: 'meta' }, `Written ${formatDate(b.writtenAt)} · entry ${idText}`,
        pseudonym ? ' · reporter ' : '', pseudonym ? el('code', { class: 'pseudonym', title: 'reporter pseudonym (abscissa)' }, pseudonym) : ''),
      el('h3', {}, 'How to reach this reporter'),
      el('p', { class: 'record-text' }, b.contact || '(none given)'),
      el('h3', {}, 'What they wrote'),
      detailList([['What happened', d.what], ['When', d.when], ['Where', d.where], ['Who else saw it', d.witnesses]]),
      b.record ? el('div', { class: 'record-text' }, b.record) : null,
      el('h3', {}, 'Who they named'),
      el('ul', { class: 'will-match' }, (b.identifiers || []).map((t, j) => namedItem(t, (b.canonical || [])[j] || ''))));
    const attachments = b.attachments || [];
    if (attachments.length) {
      section.append(el('h3', {}, 'Attached files'), el('ul', { class: 'files' }, attachments.map((a) => {
        const bytes = a.data instanceof Uint8Array ? a.data : b64uDecode(a.data);
        return el('li', {}, downloadLink(`${a.name} (${formatBytes(bytes.length)}, ${a.type || 'file'})`, bytes, a.name,
          'application/octet-stream'));
      })));
    }
    box.append(section);
  });

  if (failed.length || bogus.length) {
    const section = el('section', { class: 'card', 'aria-labelledby': 'h-problems' }, el('h2', { id: 'h-problems' }, 'Entries that could not be used'));
    const list = el('ul');
    for (const [id, reason] of failed) {
      list.append(el('li', {}, `Entry ${shortId(id)} could not be opened: ${reason}.`));
    }
    for (const id of bogus) {
      list.append(el('li', {}, `Entry ${shortId(id)} carries a bogus share or envelope (it does not fit the others); it was ignored.`));
    }
    section.append(list);
    box.append(section);
  }
}

// --- routing -------------------------------------------------------------------------------------

async function route() {
  clearNotices();
  revokeUrls();
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [view, arg] = hash.split('/');
  $('#nav').hidden = !state.keys;
  if (!state.keys) {
    if (view && view !== 'unlock') { await go('#/unlock'); return; }
    showView('unlock');
    return;
  }
  if (view === 'match' && arg) await openOne(arg);
  else if (view === 'matches') await renderMatches();
  else await go('#/matches');
}

function init() {
  setupUnlock();
  $('#refresh').addEventListener('click', () => { clearNotices(); renderMatches(); });
  setRouter(route);
  window.addEventListener('hashchange', () => { route().catch((err) => showError(err)); });
  route().catch((err) => showError(err));
}

init();
