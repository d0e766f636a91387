// The counselor app (served at /counselor/): unlock the counselor key file in the browser
// (nothing of it is sent), list the cases (what needs attention first), open one: its matches'
// released records decrypted here (PROTOCOL.md §8, "Opening"), a conversation with each reporter,
// an introduction between the reporters who want it, and private notes (§13). Every message, card
// and note is sealed and opened on this device.
import {
  EscrowApi, counselorSignIn, fetchDeployment, openMatch, matchedEntryFromJson, counselorKeyFromBytes, hpke, abscissaLabel,
  b64uDecode, b64uEncode, bytesEqual, attachmentFromFile, MAX_ATTACHMENT_BYTES,
} from '../sdk/index.js';
import { Casework, reporterKeyFromBody } from '../sdk/clients/casework.js';
import {
  $, el, breakable, showView, clearNotices, showError, showNote, fieldError, clearFieldErrors,
  Steps, busy, downloadLink, revokeUrls, formatBytes, formatDate, describeError, plural,
  go, setRouter,
} from './lib/ui.js';
import { COUNSELOR_PURPOSE, Vault } from './lib/vault.js';
import { installSafety } from './lib/safety.js';

/** How often an open case asks the server for new messages, acceptances and notes. */
const POLL_MS = 4000;

const STATES = [['new', 'New'], ['reaching_out', 'Reaching out'], ['in_contact', 'In contact'], ['closed', 'Closed']];
const STATE_NAMES = Object.fromEntries(STATES);

const DEFAULT_INTRODUCTION = 'Other people have told us about the same person. If you would like, you can talk with '
  + 'them here, in a group with me, under a name you choose. Only the people who accept will see each other’s '
  + 'names. If you say no, nobody is told, and nothing changes for you.';

const state = { keys: null, deployment: null, api: null, work: null, cases: [], page: null, timer: null };

const server = () => window.location.origin;

/** The escrow server as this counselor: the key file holds the credential, which signs in for a session
 * (kept while the key is unlocked) and again when that expires (PROTOCOL.md §6.1). */
function api() {
  if (!state.api) state.api = new EscrowApi(server(), null, { signIn: counselorSignIn(state.keys.token) });
  return state.api;
}

function work() {
  if (!state.work) state.work = new Casework(api(), state.keys, state.deployment);
  return state.work;
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
    state.work = null;
    state.deployment = d;
    steps.clear();
    $('#unlock-form').reset();
    await go('#/cases');
  } catch (err) {
    showError(err, 'The key could not be unlocked.');
  }
}

/** Drop the key and everything opened with it from memory at once (PROTOCOL.md §14.2). */
function forget() {
  stopPolling();
  state.keys = null;
  state.api = null;
  state.work = null;
  state.deployment = null;
  state.cases = [];
  state.page = null;
}

async function lock({ note } = {}) {
  forget();
  revokeUrls();
  $('#case-body').textContent = '';
  $('#cases-list').textContent = '';
  $('#progress').textContent = '';
  await go('#/unlock');
  showNote(note || 'Locked. Nothing of your key is kept in this browser.');
}

// --- cases -------------------------------------------------------------------------------------

const caseReleased = (c) => c.matches.reduce((n, m) => n + (m.released || 0), 0);

/** "Match of 3 released records"; "2 linked matches, 5 released records". */
function caseTitle(c) {
  const released = caseReleased(c);
  if (c.matches.length === 1) return `Match of ${plural(released, 'released record')}`;
  return `${c.matches.length} linked matches, ${plural(released, 'released record')}`;
}

function daysSince(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : Math.max(0, Math.floor((Date.now() - t) / 86400000));
}

/** What needs attention, in words, most urgent first (the server's order: PROTOCOL.md §13.5). */
function attentionNotes(c) {
  const notes = [];
  if (c.overdue) {
    const days = daysSince(c.created_at);
    notes.push(['overdue', `No one has reached out for ${plural(days, 'day')}`]);
  }
  if (c.waiting_reply) notes.push(['waiting', 'A reporter is waiting for a reply']);
  if (!c.owner_key_id && c.state !== 'closed') notes.push(['unowned', 'Nobody has taken this case']);
  return notes;
}

function ownerText(c) {
  if (!c.owner_key_id) return 'No owner yet';
  if (c.owner_key_id === b64uEncode(state.keys.keyId)) return 'Owner: you';
  return `Owner: ${c.owner || work().counselorByKeyId(c.owner_key_id)?.name || 'a counselor no longer listed'}`;
}

async function loadCases() {
  const cases = await work().cases();
  cases.sort((a, b) => (a.attention - b.attention) || String(a.created_at).localeCompare(String(b.created_at)));
  state.cases = cases;
  return cases;
}

async function renderCases() {
  showView('cases');
  $('#who').textContent = `Signed in as ${state.keys.name}.`;
  const list = $('#cases-list');
  list.textContent = '';
  $('#cases-empty').hidden = true;
  const progress = $('#progress');
  progress.textContent = 'Fetching the cases…';
  let cases;
  try {
    cases = await loadCases();
  } catch (err) {
    showError(err, 'The cases could not be listed.');
    return;
  } finally {
    progress.textContent = '';
  }
  $('#cases-empty').hidden = cases.length > 0;
  for (const c of cases) {
    const notes = attentionNotes(c);
    list.append(el('li', { 'data-attention': String(c.attention) },
      el('h2', {}, el('a', { href: `#/case/${c.case_id}` }, caseTitle(c))),
      notes.length ? el('ul', { class: 'attention' }, notes.map(([kind, text]) => el('li', { 'data-kind': kind }, text))) : null,
      el('p', { class: 'meta' },
        el('span', { class: `badge state-${c.state}` }, STATE_NAMES[c.state] || c.state), ' ',
        ownerText(c), ` · since ${formatDate(c.created_at)}`)));
  }
}

// --- one case ------------------------------------------------------------------------------------

function detailList(pairs) {
  const dl = el('dl', { class: 'details' });
  for (const [k, v] of pairs) if (v) dl.append(el('dt', {}, k), el('dd', {}, v));
  return dl;
}

/**
 * One name a reporter gave: what they typed (without the "kind:" their page put in front of a
 * profile) → the exact form it matched on, whose "kind:" says the platform.
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

function stopPolling() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

/**
 * The page of one case. `page` holds what is open: per match its opened records, per conversation
 * the messages shown so far (so a poll appends only what is new and never disturbs what is typed).
 */
async function openCase(caseId) {
  stopPolling();
  showView('case');
  $('#h-case').textContent = 'Opening the case…';
  const box = $('#case-body');
  box.textContent = '';
  const steps = new Steps('Opening the case', [
    ['case', 'Fetching the case'],
    ['fetch', 'Fetching its matches’ locked records'],
    ['open', 'Decrypting them on this device'],
    ['talk', 'Opening the messages on this device'],
  ]);
  try {
    const c = await steps.run('case', async () => (await loadCases()).find((x) => x.case_id === caseId));
    if (!c) throw new Error('There is no such case (it may have been linked into another one). Go back to the cases.');
    const details = await steps.run('fetch', () => Promise.all(c.matches.map((m) => api().match(b64uDecode(m.match_id)))));
    const matches = await steps.run('open', () => Promise.all(details.map(async (detail, i) => {
      const entries = detail.entries.map(matchedEntryFromJson);
      const result = await openMatch(b64uDecode(detail.tag), entries, state.keys.seed, state.keys.keyId, state.deployment);
      const records = [];
      for (const o of result.opened || []) {
        let reporter = null;
        let keyError = null;
        try { reporter = await reporterKeyFromBody(o.body); } catch (err) { keyError = describeError(err); }
        records.push({ ...o, entryB64: b64uEncode(o.entryId), reporter, keyError });
      }
      return { matchId: c.matches[i].match_id, detail, entries, result, records };
    })));
    const page = { caseId, c, matches, convs: new Map(), groups: new Map(), notesShown: new Set(), polling: false };
    state.page = page;
    await steps.run('talk', () => loadConversations(page));
    steps.clear();
    renderCase(page);
    $('#h-case').focus();
    state.timer = setInterval(() => { poll(page).catch(() => {}); }, POLL_MS);
  } catch (err) {
    steps.clear();
    $('#h-case').textContent = 'This case could not be opened';
    showError(err); // focuses the error, which says why
  }
}

/** Fetch the conversations of every match of the case; group them by entry (direct) and introduction (group). */
async function loadConversations(page) {
  for (const m of page.matches) {
    const list = await work().conversations(m.matchId);
    m.directs = new Map();
    m.groupsList = [];
    for (const conv of list) {
      if (conv.kind === 'direct' && conv.entry_id) m.directs.set(conv.entry_id, conv);
      else if (conv.kind === 'group') m.groupsList.push(conv);
    }
    m.groupsList.sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  }
}

function renderCase(page) {
  const box = $('#case-body');
  box.textContent = '';
  revokeUrls();
  page.convs = new Map();
  page.groups = new Map();
  page.notesShown = new Set();
  const opened = page.matches.reduce((n, m) => n + m.records.length, 0);
  $('#h-case').textContent = `Case: ${plural(opened, 'record')} opened`;
  box.append(renderCaseHeader(page));
  page.matches.forEach((m, mi) => box.append(renderMatchSection(page, m, mi)));
  box.append(renderLinkSection(page));
  box.append(renderNotesSection(page));
  // the conversations' messages load into the boxes just made
  refreshAll(page).catch((err) => showError(err));
}

function renderCaseHeader(page) {
  const { c } = page;
  const mine = c.owner_key_id === b64uEncode(state.keys.keyId);
  const section = el('section', { class: 'card', 'aria-labelledby': 'h-casework' },
    el('h2', { id: 'h-casework' }, 'Who works on it'));
  for (const [, text] of attentionNotes(c)) section.append(el('p', { class: 'attention-line' }, text));
  section.append(el('p', { id: 'case-owner' }, ownerText(c)));
  if (!mine) {
    const take = el('button', { type: 'button', id: 'take-case' }, c.owner_key_id ? 'Take over this case' : 'Take this case');
    take.addEventListener('click', () => busy(section, async () => {
      try {
        await work().take(c.case_id);
        showNote('This case is yours now.');
        await openCaseAgainKeepingPlace(page);
      } catch (err) { showError(err, 'The case could not be taken.'); }
    }));
    section.append(el('div', { class: 'actions' }, take));
  }
  section.append(renderHandOver(page));
  const select = el('select', { id: 'case-state', name: 'state' },
    STATES.map(([v, label]) => el('option', { value: v, selected: v === c.state }, label)));
  const form = el('form', { id: 'state-form', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'case-state' }, 'State'),
      el('span', { class: 'hint', id: 'case-state-hint' }, 'Where this case stands. It moves to “Reaching out” '
        + 'by itself when you send a reporter the first message.'), select),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary' }, 'Save the state')));
  select.setAttribute('aria-describedby', 'case-state-hint');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      try {
        const updated = await work().updateCase(c.case_id, { state: select.value });
        page.c = updated;
        showNote(`The case is now “${STATE_NAMES[updated.state] || updated.state}”.`);
      } catch (err) { showError(err, 'The state could not be saved.'); }
    });
  });
  section.append(form);
  return section;
}

/**
 * Hand the case to another counselor of the deployment, or leave it to nobody (it then shows as
 * unowned, near the top of everyone's list). What it holds stays readable by every counselor.
 */
function renderHandOver(page) {
  const { c } = page;
  const mine = b64uEncode(state.keys.keyId);
  const others = state.deployment.counselors.filter((x) => b64uEncode(x.keyId) !== c.owner_key_id);
  const options = others.map((x) => [b64uEncode(x.keyId), b64uEncode(x.keyId) === mine ? `${x.name} (you)` : x.name]);
  if (c.owner_key_id) options.push(['', 'Nobody: leave it for any counselor to take']);
  const form = el('form', { id: 'handover-form', novalidate: true });
  if (!options.length || (options.length === 1 && options[0][0] === mine && !c.owner_key_id)) return form;
  const select = el('select', { id: 'case-handover', name: 'owner' }, options.map(([v, label]) => el('option', { value: v }, label)));
  form.append(el('div', { class: 'field' }, el('label', { for: 'case-handover' }, 'Hand this case to'), select),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary' }, 'Hand over')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      clearNotices();
      try {
        await work().updateCase(c.case_id, { owner_key_id: select.value || null });
        await openCaseAgainKeepingPlace(page);
        showNote(select.value ? 'Handed over. They see it in their list of cases.' : 'The case has no owner now.');
      } catch (err) { showError(err, 'The case could not be handed over.'); }
    });
  });
  return form;
}

/** The case's state as the server has it now, in the select (a first message moves a new case on). */
async function refreshCaseState(page) {
  const c = (await loadCases()).find((x) => x.case_id === page.caseId);
  if (!c) return;
  page.c = c;
  const select = $('#case-state');
  if (select) select.value = c.state;
}

/** Re-render the case page after a change to the case itself (owner, links), without reopening the records. */
async function openCaseAgainKeepingPlace(page) {
  const c = (await loadCases()).find((x) => x.case_id === page.caseId);
  if (c) page.c = c;
  renderCase(page);
}

function renderMatchSection(page, m, mi) {
  m.index = mi;
  const opened = m.records;
  const failed = Object.entries(m.result.failed || {});
  const bogus = m.result.bogus || [];
  const hid = `h-match-${mi}`;
  const section = el('section', { class: 'match', 'aria-labelledby': hid },
    el('h2', { id: hid }, `Match: ${plural(opened.length, 'record')} opened`));
  const released = m.entries.filter((e) => e.released).length;
  section.append(el('p', {}, `${released} of ${m.entries.length} entries naming this person have been released. `
    + 'Entries that are not released stay locked; their reporters are not shown here and cannot be written to.'));
  section.append(el('p', { class: 'hint' }, 'Each reporter is shown by a pseudonym (a short code from their account’s '
    + 'abscissa), not by any account id: records with the same pseudonym come from the same account, here and in '
    + 'other matches you open.'));

  opened.forEach((o, i) => section.append(renderRecord(page, m, o, `${mi}-${i}`, i)));

  if (failed.length || bogus.length) {
    const problems = el('section', { class: 'card', 'aria-labelledby': `h-problems-${mi}` },
      el('h3', { id: `h-problems-${mi}` }, 'Entries that could not be used'));
    const list = el('ul');
    for (const [id, reason] of failed) list.append(el('li', {}, `Entry ${shortId(id)} could not be opened: ${reason}.`));
    for (const id of bogus) {
      list.append(el('li', {}, `Entry ${shortId(id)} carries a bogus share or envelope (it does not fit the others); it was ignored.`));
    }
    problems.append(list);
    section.append(problems);
  }
  section.append(renderIntroduction(page, m, mi));
  return section;
}

function renderRecord(page, m, o, key, i) {
  const b = o.body || {};
  const d = b.details || {};
  const pseudonym = o.abscissa ? abscissaLabel(o.abscissa) : '';
  const hid = `h-entry-${key}`;
  const section = el('section', { class: 'card record', 'aria-labelledby': hid, 'data-entry': o.entryB64 },
    el('h3', { id: hid }, `Record ${i + 1}`),
    el('p', { class: 'meta' }, `Written ${formatDate(b.writtenAt)} · entry ${shortId(o.entryId)}`,
      pseudonym ? ' · reporter ' : '', pseudonym ? el('code', { class: 'pseudonym', title: 'reporter pseudonym (abscissa)' }, pseudonym) : ''),
    el('h4', {}, 'How to reach this reporter'),
    el('p', { class: 'record-text' }, b.contact || '(none given: write to them below)'),
    el('h4', {}, 'What they wrote'),
    detailList([['What happened', d.what], ['When', d.when], ['Where', d.where], ['Who else saw it', d.witnesses]]),
    b.record ? el('div', { class: 'record-text' }, b.record) : null,
    el('h4', {}, 'Who they named'),
    el('ul', { class: 'will-match' }, (b.identifiers || []).map((t, j) => namedItem(t, (b.canonical || [])[j] || ''))));
  const attachments = b.attachments || [];
  if (attachments.length) {
    section.append(el('h4', {}, 'Attached files'), el('ul', { class: 'files' }, attachments.map((a) => {
      const bytes = a.data instanceof Uint8Array ? a.data : b64uDecode(a.data);
      return el('li', {}, downloadLink(`${a.name} (${formatBytes(bytes.length)}, ${a.type || 'file'})`, bytes, a.name,
        'application/octet-stream'));
    })));
  }
  section.append(renderDirect(page, m, o, key));
  return section;
}

// --- conversations -------------------------------------------------------------------------------

/** The box of one conversation: its messages (a polite live region) and a form to write. */
function conversationBox(id, heading, { label, button, hint }) {
  const list = el('ol', { class: 'messages', id: `${id}-messages`, 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const text = el('textarea', { id: `${id}-text`, name: 'text', 'aria-describedby': `${id}-text-error` });
  const files = el('input', { id: `${id}-files`, name: 'files', type: 'file', multiple: true });
  const form = el('form', { class: 'compose', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: `${id}-text` }, label),
      hint ? el('span', { class: 'hint' }, hint) : null, text,
      el('p', { class: 'field-error', id: `${id}-text-error`, hidden: true })),
    el('div', { class: 'field' }, el('label', { for: `${id}-files` }, 'Attach files (optional)'), files),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, button)));
  const section = el('section', { class: 'conversation', 'aria-labelledby': `${id}-h` },
    el('h4', { id: `${id}-h` }, heading), list, form);
  return { section, list, form, text, files };
}

async function composed(box) {
  clearFieldErrors(box.form);
  const text = box.text.value;
  const attachments = [];
  let total = 0;
  for (const f of box.files.files) {
    total += f.size;
    attachments.push(await attachmentFromFile(f));
  }
  if (total > MAX_ATTACHMENT_BYTES) {
    fieldError(box.text, `The attached files come to ${formatBytes(total)}; a message holds at most ${formatBytes(MAX_ATTACHMENT_BYTES)}.`);
    return null;
  }
  if (!text.trim() && !attachments.length) {
    fieldError(box.text, 'Write a message or attach a file first.');
    box.text.focus();
    return null;
  }
  return { text, attachments };
}

function renderDirect(page, m, o, key) {
  const id = `conv-${key}`;
  if (!o.reporter) {
    return el('section', { class: 'conversation', 'aria-labelledby': `${id}-h` },
      el('h4', { id: `${id}-h` }, 'Messages with this reporter'),
      el('p', {}, o.keyError
        ? `This record’s messaging key is damaged (${o.keyError}), so messages cannot be sent to it. Use the contact they gave.`
        : 'This reporter’s app cannot receive messages (their record was written before messaging existed). '
          + 'Use the contact they gave, if any.'));
  }
  const conv = m.directs.get(o.entryB64) || null;
  const box = conversationBox(id, 'Messages with this reporter', {
    label: conv ? 'Message to this reporter' : 'First message to this reporter',
    button: conv ? 'Send' : 'Start the conversation',
    hint: 'Only this reporter and the counselors of this service can read it. The reporter can answer without '
      + 'giving their name or contact.',
  });
  const shown = { conv, after: 0, list: box.list, trust: { reporter: o.reporter }, seen: new Set() };
  page.convs.set(o.entryB64, shown);
  if (!conv) box.list.append(el('li', { class: 'empty' }, 'No messages yet.'));
  box.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(box.form, async () => {
      clearNotices();
      const what = await composed(box);
      if (!what) return;
      try {
        if (!shown.conv) {
          shown.conv = await work().startConversation(m.matchId, o.entryB64);
          m.directs.set(o.entryB64, shown.conv);
          // with a second conversation an introduction can be proposed
          if (!m.groupsList.length) { const old = m.introBox; old.replaceWith(renderIntroduction(page, m, m.index)); }
        }
        await work().sendDirect(shown.conv, o.reporter, what);
        if (page.c.state === 'new') await refreshCaseState(page); // the first message moves it to "Reaching out"
        box.form.reset();
        box.form.querySelector('label').textContent = 'Message to this reporter';
        box.form.querySelector('button[type=submit]').textContent = 'Send';
        await refreshConversation(shown);
        showNote('Sent. Only this reporter and the counselors can read it.');
      } catch (err) { showError(err, 'The message was not sent.'); }
    });
  });
  return box.section;
}

/** Members' display names in alphabetical order (a roster lists them by key). */
const namesOf = (members) => members.map((x) => x.name).sort((a, b) => a.localeCompare(b)).join(', ');

function messageItem(msg) {
  if (msg.error) {
    return el('li', { class: 'message problem' }, el('p', { class: 'meta' }, formatDate(msg.receivedAt)),
      el('p', {}, `A message that cannot be shown: ${msg.error}.`));
  }
  const who = msg.from === 'me' ? 'You' : msg.from === 'counselor' ? `Counselor ${msg.senderName}`
    : msg.from === 'reporter' ? 'The reporter' : msg.senderName;
  const li = el('li', { class: `message from-${msg.from}`, 'data-type': msg.type },
    el('p', { class: 'meta' }, el('strong', { class: 'sender' }, who), ` · ${formatDate(msg.sentAt || msg.receivedAt)}`));
  if (msg.type === 'reveal') {
    li.append(el('p', {}, 'They shared how to reach them:'), el('p', { class: 'record-text reveal' }, msg.contact));
  } else if (msg.type === 'introduction') {
    li.append(el('p', { class: 'label' }, 'Proposed an introduction'));
  } else if (msg.type === 'roster') {
    li.append(el('p', {}, `The group: ${namesOf(msg.members)}.`));
    return li;
  }
  if (msg.text) li.append(el('p', { class: 'message-text' }, msg.text));
  if (msg.attachments?.length) {
    li.append(el('ul', { class: 'files' }, msg.attachments.map((a) => el('li', {},
      downloadLink(`${a.name} (${formatBytes(a.data.length)}, ${a.type || 'file'})`, a.data, a.name, 'application/octet-stream')))));
  }
  return li;
}

/** Fetch and show what is new in one conversation; returns the new messages. */
async function refreshConversation(shown) {
  if (!shown.conv) return [];
  const { items, nextAfter } = await work().messages(shown.conv, shown.after, shown.trust);
  shown.after = Math.max(shown.after, nextAfter);
  // a group's members are those of the newest roster a counselor signed (Casework.messages keeps it in trust)
  if (shown.conv.kind === 'group' && shown.trust.members.length) shown.roster = { members: shown.trust.members };
  const fresh = items.filter((x) => !shown.seen.has(x.messageId));
  if (fresh.length) shown.list.querySelector('li.empty')?.remove();
  for (const msg of fresh) {
    shown.seen.add(msg.messageId);
    shown.list.append(messageItem(msg));
  }
  return fresh;
}

// --- introductions -------------------------------------------------------------------------------

function reporterOfConversation(m) {
  return (cid) => {
    for (const [entry, conv] of m.directs) {
      if (conv.conversation_id === cid) return m.records.find((r) => r.entryB64 === entry)?.reporter || null;
    }
    return null;
  };
}

function renderIntroduction(page, m, mi) {
  const hid = `h-intro-${mi}`;
  const section = el('section', { class: 'card introduction', 'aria-labelledby': hid, id: `intro-${mi}` },
    el('h3', { id: hid }, 'Introduction'));
  m.introBox = section;
  const group = m.groupsList[m.groupsList.length - 1] || null;
  if (!group) {
    const directs = m.records.filter((r) => r.reporter && m.directs.get(r.entryB64));
    section.append(el('p', {}, 'You can offer the reporters of this match to talk with each other. Each one accepts or '
      + 'declines privately; only those who accept see each other’s chosen names, and nobody learns who declined.'));
    if (directs.length < 2) {
      section.append(el('p', { class: 'hint' }, 'Start a conversation with at least two of its reporters first.'));
      return section;
    }
    const text = el('textarea', { id: `intro-${mi}-text`, name: 'text' }, DEFAULT_INTRODUCTION);
    const form = el('form', { novalidate: true },
      el('div', { class: 'field' }, el('label', { for: `intro-${mi}-text` }, 'What to tell them'),
        el('span', { class: 'hint' }, `It goes to the ${plural(directs.length, 'reporter')} you are writing to, each in `
          + 'their own conversation.'), text),
      el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Propose an introduction')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(form, async () => {
        clearNotices();
        if (!text.value.trim()) { showError('Write what to tell them first.'); return; }
        try {
          await work().propose(m.matchId, directs.map((r) => ({ conv: m.directs.get(r.entryB64), reporter: r.reporter })), text.value);
          await loadConversations(page);
          section.replaceWith(renderIntroduction(page, m, mi));
          await refreshAll(page, {});
          showNote('The introduction was proposed. Each reporter answers privately.');
        } catch (err) { showError(err, 'The introduction could not be proposed.'); }
      });
    });
    section.append(form);
    return section;
  }
  const status = el('div', { class: 'intro-status', 'aria-live': 'polite' });
  section.append(el('p', {}, `You proposed an introduction on ${formatDate(group.created_at)}. Each reporter answers `
    + 'privately; you see only who has accepted.'), status);
  const gid = `group-${mi}`;
  const box = conversationBox(gid, 'Group conversation', { label: 'Message to the group', button: 'Send to the group',
    hint: 'Everyone in the group and the counselors of this service can read it.' });
  box.section.hidden = true;
  section.append(box.section);
  const shown = { conv: group, after: 0, list: box.list, trust: { members: [] }, seen: new Set(), roster: null,
    status, box, introductionId: group.introduction_id, m };
  page.groups.set(group.conversation_id, shown);
  box.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(box.form, async () => {
      clearNotices();
      const what = await composed(box);
      if (!what) return;
      try {
        await work().sendGroup(group, shown.roster.members, what);
        box.form.reset();
        await refreshConversation(shown);
        showNote('Sent to the group.');
      } catch (err) { showError(err, 'The message was not sent.'); }
    });
  });
  return section;
}

const keyText = (k) => b64uEncode(k);

function renderAcceptances(shown, intro) {
  const good = intro.accepted.filter((a) => !a.error);
  const inRoster = new Set((shown.roster?.members || []).map((x) => keyText(x.key)));
  const waiting = good.filter((a) => !inRoster.has(keyText(a.key)));
  const key = JSON.stringify([good.map((a) => a.conversationId), [...inRoster].length, intro.accepted.length]);
  if (shown.statusKey === key) return;
  shown.statusKey = key;
  const s = shown.status;
  s.textContent = '';
  s.append(el('p', { class: 'accepted-count' }, good.length
    ? `${plural(good.length, 'person has', 'people have')} accepted so far: ${good.map((a) => a.name).join(', ')}.`
    : 'Nobody has accepted yet.'));
  for (const a of intro.accepted.filter((x) => x.error)) s.append(el('p', { class: 'problem' }, `An acceptance that cannot be used: ${a.error}.`));
  const total = inRoster.size + waiting.length;
  if (waiting.length && total >= 2) {
    const label = inRoster.size
      ? `Add the ${plural(waiting.length, 'person', 'people')} who accepted since to the group`
      : `Start the group with the ${total} people who accepted`;
    const button = el('button', { type: 'button' }, label);
    button.addEventListener('click', () => busy(s, async () => {
      clearNotices();
      try {
        const members = [...(shown.roster?.members || []), ...waiting.map((a) => ({ name: a.name, key: a.key }))];
        await work().postRoster(shown.conv, shown.introductionId, members);
        await refreshGroupState(shown);
        showNote(inRoster.size ? 'They were added to the group.' : 'The group has started. Its members now see each other’s names.');
      } catch (err) { showError(err, 'The group could not be started.'); }
    }));
    s.append(el('div', { class: 'actions' }, button));
  } else if (!inRoster.size && good.length < 2) {
    s.append(el('p', { class: 'hint' }, 'A group can start once two people have accepted.'));
  }
  if (shown.roster) {
    shown.box.section.hidden = false;
    s.append(el('p', { class: 'members' }, `In the group: ${namesOf(shown.roster.members)}.`));
  }
}

// --- linking -------------------------------------------------------------------------------------

function renderLinkSection(page) {
  const { c } = page;
  const section = el('section', { class: 'card', 'aria-labelledby': 'h-link' }, el('h2', { id: 'h-link' }, 'Link another match'));
  section.append(el('p', {}, 'If another match names the same person by another address, number or profile, link it '
    + 'here: the two are then one case. The server keeps only the link.'));
  const others = state.cases.filter((x) => x.case_id !== c.case_id).flatMap((x) => x.matches.map((mm) => ({ x, mm })));
  if (!others.length) {
    section.append(el('p', { class: 'hint' }, 'There is no other match to link.'));
    return section;
  }
  const select = el('select', { id: 'link-match', name: 'match' },
    others.map(({ x, mm }) => el('option', { value: mm.match_id },
      `Match of ${plural(mm.released, 'released record')}, since ${formatDate(mm.created_at)} (${ownerText(x).toLowerCase()})`)));
  const form = el('form', { novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'link-match' }, 'Match naming the same person'), select),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary' }, 'Link to this case')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      clearNotices();
      try {
        await work().link(c.case_id, select.value);
        await openCase(c.case_id);
        showNote('Linked: the matches are one case now.');
      } catch (err) { showError(err, 'The match could not be linked.'); }
    });
  });
  section.append(form);
  return section;
}

// --- notes ---------------------------------------------------------------------------------------

function renderNotesSection(page) {
  const section = el('section', { class: 'card notes', 'aria-labelledby': 'h-notes' }, el('h2', { id: 'h-notes' }, 'Private notes'));
  section.append(el('p', { class: 'hint' }, 'Notes are locked to the counselors of this service. Reporters never see them; '
    + 'the server cannot read them.'));
  const list = el('ul', { class: 'note-list', id: 'notes-list', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  page.notesList = list;
  const text = el('textarea', { id: 'note-text', name: 'text' });
  const form = el('form', { novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'note-text' }, 'New note'), text),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary' }, 'Save the note')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      clearNotices();
      try {
        await work().addNote(page.caseId, text.value);
        form.reset();
        await refreshNotes(page);
        showNote('The note was saved, locked to the counselors.');
      } catch (err) { showError(err, 'The note was not saved.'); }
    });
  });
  section.append(list, form);
  return section;
}

async function refreshNotes(page) {
  const notes = await work().notes(page.caseId);
  for (const n of notes) {
    if (page.notesShown.has(n.noteId)) continue;
    page.notesShown.add(n.noteId);
    page.notesList.append(n.error
      ? el('li', { class: 'problem' }, `A note that cannot be shown: ${n.error}.`)
      : el('li', {}, el('p', { class: 'meta' }, el('strong', {}, n.mine ? 'You' : n.author), ` · ${formatDate(n.sentAt || n.createdAt)}`),
        el('p', { class: 'message-text' }, n.text)));
  }
}

// --- polling -------------------------------------------------------------------------------------

/** Everything on the open case that can change from elsewhere: messages, acceptances, the roster, notes. */
async function refreshAll(page) {
  if (page.polling || state.page !== page) return;
  page.polling = true;
  try {
    for (const shown of page.convs.values()) await refreshConversation(shown);
    for (const shown of page.groups.values()) await refreshGroupState(shown);
    await refreshNotes(page);
  } finally {
    page.polling = false;
  }
}

/** A group: new messages (the newest roster signed by a counselor names its members), then acceptances. */
async function refreshGroupState(shown) {
  await refreshConversation(shown);
  const intro = await work().introduction(shown.introductionId, reporterOfConversation(shown.m));
  renderAcceptances(shown, intro);
}

async function poll(page) {
  if (state.page !== page) return;
  try {
    await refreshAll(page);
  } catch {
    // a missed poll is tried again in a few seconds; what the person does shows its own errors
  }
}

// --- routing -------------------------------------------------------------------------------------

async function route() {
  clearNotices();
  revokeUrls();
  stopPolling();
  state.page = null;
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [view, arg] = hash.split('/');
  $('#nav').hidden = !state.keys;
  if (!state.keys) {
    if (view && view !== 'unlock') { await go('#/unlock'); return; }
    showView('unlock');
    return;
  }
  if (view === 'case' && arg) await openCase(arg);
  else if (view === 'cases') await renderCases();
  else await go('#/cases');
}

function init() {
  setupUnlock();
  $('#refresh').addEventListener('click', () => { clearNotices(); renderCases(); });
  installSafety({ forget, lock, isUnlocked: () => Boolean(state.keys) });
  setRouter(route);
  window.addEventListener('hashchange', () => { route().catch((err) => showError(err)); });
  route().catch((err) => showError(err));
}

init();
