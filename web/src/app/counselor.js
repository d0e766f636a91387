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
  Steps, busy, downloadLink, revokeUrls, formatBytes, problemText, technicalDetail, go, setRouter,
} from './lib/ui.js';
import { COUNSELOR_PURPOSE, Vault } from './lib/vault.js';
import { installSafety } from './lib/safety.js';
import {
  t, tNodes, applyTranslations, mountLanguagePicker, onLanguageChange, formatDateTime, locale,
} from './lib/i18n.js';

/** How often an open case asks the server for new messages, acceptances and notes. */
const POLL_MS = 4000;

const STATES = ['new', 'reaching_out', 'in_contact', 'closed'];
const stateName = (s) => (STATES.includes(s) ? t(`counselor.state.${s}`) : s);

const state = {
  keys: null, deployment: null, api: null, work: null, cases: [], page: null, timer: null, listing: false, heading: null,
};

// --- the page's language ---------------------------------------------------------------------------
//
// Text made here follows a change of language at once: the notices and field errors are remembered
// as how to say them again, the cases list is drawn anew from memory, the open case from the
// records already opened (only its messages and notes are asked for again), and what the counselor
// typed or chose is kept.

/** An error this page words itself; its message is said again in the new language. */
class PageError extends Error {
  constructor(key, params = {}) {
    super(t(key, params));
    this.key = key;
    this.params = params;
  }
}

/** A date and time in the page's language ('' when there is none, as given when it does not parse). */
function when(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : formatDateTime(d);
}

/** Text someone typed (a name, an address) set apart, so it keeps its own direction inside a sentence. */
const bdi = (text, cls) => el('bdi', cls ? { class: cls } : {}, text);

/** Names one after the other ("A, B, C" in English), as the language separates them, each set apart. */
function nameList(names) {
  const frag = document.createDocumentFragment();
  for (const part of new Intl.ListFormat(locale(), { type: 'unit', style: 'short' }).formatToParts(names)) {
    frag.append(part.type === 'element' ? bdi(part.value) : part.value);
  }
  return frag;
}

// Notices, field errors and steps are said again after a change of language by lib/ui.js: each is
// given a function making its text.

/** showError, in the page's language (PREFIX a catalog key). */
function sayError(err, prefix = '') {
  showError(() => {
    if (err instanceof PageError) err.message = t(err.key, err.params);
    return err;
  }, () => (prefix ? t(prefix) : ''));
}

/** showNote, in the page's language. */
function sayNote(key, params = {}) {
  showNote(() => t(key, params));
}

function sayFieldError(input, key, params = {}) {
  fieldError(input, () => t(key, params));
}

/** Steps titled by message key TITLE, with [step, label key] LABELS, said again in a new language. */
function stepsOf(title, labels) {
  return new Steps(() => t(title), labels.map(([step, label]) => [step, () => t(label)]));
}

/** The case page's h1, made again in a new language. */
function setHeading(make) {
  state.heading = make;
  $('#h-case').textContent = make();
}

/**
 * Run DRAW, which replaces what is in BOX, keeping what was typed or chosen there (by element id;
 * a text still equal to its default is left to DRAW, so it comes in the new language), the chosen
 * files, the focus and the scroll position.
 */
function keepingInput(box, draw) {
  const kept = new Map();
  for (const c of box.querySelectorAll('input[id], textarea[id], select[id]')) {
    if (c.type === 'file') { if (c.files.length) kept.set(c.id, { files: c.files }); }
    else if (c.tagName === 'SELECT' || c.value !== c.defaultValue) kept.set(c.id, { value: c.value });
  }
  const active = document.activeElement;
  const focused = active && box.contains(active) ? active.id : '';
  const { scrollX, scrollY } = window;
  draw();
  for (const [id, v] of kept) {
    const c = document.getElementById(id);
    if (!c || !box.contains(c)) continue;
    if (v.files) c.files = v.files;
    else if (c.tagName !== 'SELECT' || [...c.options].some((o) => o.value === v.value)) c.value = v.value;
  }
  window.scrollTo(scrollX, scrollY);
  if (focused) document.getElementById(focused)?.focus({ preventScroll: true });
}

function followLanguage() {
  const view = document.querySelector('[data-view]:not([hidden])')?.dataset.view;
  if (view === 'cases' && state.keys) {
    $('#who').replaceChildren(...tNodes('counselor.cases.who', { name: bdi(state.keys.name) }));
    if (state.listing) $('#progress').textContent = t('counselor.cases.fetching');
    else keepingInput($('#cases-list'), () => drawCases(state.cases));
  } else if (view === 'case') {
    if (state.page?.drawn) keepingInput($('#case-body'), () => renderCase(state.page));
    else if (state.heading) $('#h-case').textContent = state.heading();
  }
}

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
    if (!file.files.length) { sayFieldError(file, 'counselor.unlock.error.nofile'); file.focus(); return; }
    if (file.files[0].size > 1024 * 1024) { sayFieldError(file, 'counselor.unlock.error.toolarge'); file.focus(); return; }
    if (!pass.value) { sayFieldError(pass, 'counselor.unlock.error.nopass'); pass.focus(); return; }
    const text = await file.files[0].text();
    await busy(form, () => unlock(text, pass.value));
    pass.value = '';
  });
  $('#lock').addEventListener('click', lock);
}

async function unlock(text, passphrase) {
  const steps = stepsOf('counselor.unlock.steps.title', [
    ['open', 'counselor.unlock.steps.open'],
    ['deployment', 'counselor.unlock.steps.deployment'],
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
      if (err.name === 'DecryptionError') throw new PageError('counselor.unlock.error.passphrase');
      throw err;
    }
    steps.done('open');
    if (!keys.token || !keys.adminFingerprint) {
      throw new PageError('counselor.unlock.error.notconnected', { command: 'consilience counselor login' });
    }
    const d = await steps.run('deployment', () => fetchDeployment(server(), keys.adminFingerprint, keys.minSerial || 0));
    if (!d.counselors.some((c) => bytesEqual(c.keyId, keys.keyId))) {
      throw new PageError('counselor.unlock.error.notlisted');
    }
    state.keys = keys;
    state.api = null;
    state.work = null;
    state.deployment = d;
    steps.clear();
    $('#unlock-form').reset();
    await go('#/cases');
  } catch (err) {
    sayError(err, 'counselor.unlock.error.failed');
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
  if (note) showNote(note);
  else sayNote('counselor.locked');
}

// --- cases -------------------------------------------------------------------------------------

const caseReleased = (c) => c.matches.reduce((n, m) => n + (m.released || 0), 0);

/** "Match of 3 released records"; "2 linked matches, 5 released records". */
function caseTitle(c) {
  const released = caseReleased(c);
  if (c.matches.length === 1) return t('counselor.cases.match', { released });
  return t('counselor.cases.linked', { matches: c.matches.length, released });
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
    notes.push(['overdue', t('counselor.attention.overdue', { days })]);
  }
  if (c.waiting_reply) notes.push(['waiting', t('counselor.attention.waiting')]);
  if (!c.owner_key_id && c.state !== 'closed') notes.push(['unowned', t('counselor.attention.unowned')]);
  return notes;
}

function ownerText(c) {
  return ownerNodes(c).map((x) => (typeof x === 'string' ? x : x.textContent)).join('');
}

/** Who owns the case, the name set apart (see bdi). */
function ownerNodes(c) {
  if (!c.owner_key_id) return [t('counselor.owner.none')];
  if (c.owner_key_id === b64uEncode(state.keys.keyId)) return [t('counselor.owner.you')];
  const name = c.owner || work().counselorByKeyId(c.owner_key_id)?.name;
  return tNodes('counselor.owner.named', { name: name ? bdi(name) : t('counselor.owner.unlisted') });
}

async function loadCases() {
  const cases = await work().cases();
  cases.sort((a, b) => (a.attention - b.attention) || String(a.created_at).localeCompare(String(b.created_at)));
  state.cases = cases;
  return cases;
}

async function renderCases() {
  showView('cases');
  $('#who').replaceChildren(...tNodes('counselor.cases.who', { name: bdi(state.keys.name) }));
  $('#cases-list').textContent = '';
  $('#cases-empty').hidden = true;
  const progress = $('#progress');
  progress.textContent = t('counselor.cases.fetching');
  state.listing = true;
  let cases;
  try {
    cases = await loadCases();
  } catch (err) {
    sayError(err, 'counselor.cases.error');
    return;
  } finally {
    state.listing = false;
    progress.textContent = '';
  }
  drawCases(cases);
}

function drawCases(cases) {
  const list = $('#cases-list');
  list.textContent = '';
  $('#cases-empty').hidden = cases.length > 0;
  for (const c of cases) {
    const notes = attentionNotes(c);
    list.append(el('li', { 'data-attention': String(c.attention) },
      el('h2', {}, el('a', { href: `#/case/${c.case_id}` }, caseTitle(c))),
      notes.length ? el('ul', { class: 'attention' }, notes.map(([kind, text]) => el('li', { 'data-kind': kind }, text))) : null,
      el('p', { class: 'meta' },
        el('span', { class: `badge state-${c.state}` }, stateName(c.state)), ' ',
        ownerNodes(c), ` · ${t('counselor.cases.since', { date: when(c.created_at) })}`)));
  }
}

// --- one case ------------------------------------------------------------------------------------

function detailList(pairs) {
  const dl = el('dl', { class: 'details' });
  for (const [k, v] of pairs) if (v) dl.append(el('dt', {}, k), el('dd', { class: 'user-text' }, v));
  return dl;
}

/**
 * One name a reporter gave: what they typed (without the "kind:" their page put in front of a
 * profile) → the exact form it matched on, whose "kind:" says the platform.
 */
function namedItem(typed, canonical) {
  const kind = /^([a-z]+):/.exec(canonical)?.[1] || '';
  const shown = kind && typed.toLowerCase().startsWith(`${kind}:`) ? typed.slice(kind.length + 1) : typed;
  return el('li', {}, el('bdi', {}, breakable(shown)), ' ', el('span', { class: 'arrow' }, '→'), ' ',
    el('span', { class: 'canonical' }, breakable(canonical)));
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
  setHeading(() => t('counselor.case.opening'));
  const box = $('#case-body');
  box.textContent = '';
  const steps = stepsOf('counselor.case.steps.title', [
    ['case', 'counselor.case.steps.case'],
    ['fetch', 'counselor.case.steps.fetch'],
    ['open', 'counselor.case.steps.open'],
    ['talk', 'counselor.case.steps.talk'],
  ]);
  try {
    const c = await steps.run('case', async () => (await loadCases()).find((x) => x.case_id === caseId));
    if (!c) throw new PageError('counselor.case.error.missing');
    const details = await steps.run('fetch', () => Promise.all(c.matches.map((m) => api().match(b64uDecode(m.match_id)))));
    const matches = await steps.run('open', () => Promise.all(details.map(async (detail, i) => {
      const entries = detail.entries.map(matchedEntryFromJson);
      const result = await openMatch(b64uDecode(detail.tag), entries, state.keys.seed, state.keys.keyId, state.deployment);
      const records = [];
      for (const o of result.opened || []) {
        let reporter = null;
        let keyError = null;
        try { reporter = await reporterKeyFromBody(o.body); } catch (err) { keyError = err; }
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
    setHeading(() => t('counselor.case.error.title'));
    sayError(err); // focuses the error, which says why
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
  page.drawn = true;
  const opened = page.matches.reduce((n, m) => n + m.records.length, 0);
  setHeading(() => t('counselor.case.opened', { count: opened }));
  box.append(renderCaseHeader(page));
  page.matches.forEach((m, mi) => box.append(renderMatchSection(page, m, mi)));
  box.append(renderLinkSection(page));
  box.append(renderNotesSection(page));
  // the conversations' messages load into the boxes just made
  refreshAll(page).catch((err) => sayError(err));
}

function renderCaseHeader(page) {
  const { c } = page;
  const mine = c.owner_key_id === b64uEncode(state.keys.keyId);
  const section = el('section', { class: 'card', 'aria-labelledby': 'h-casework' },
    el('h2', { id: 'h-casework' }, t('counselor.casework.title')));
  for (const [, text] of attentionNotes(c)) section.append(el('p', { class: 'attention-line' }, text));
  section.append(el('p', { id: 'case-owner' }, ownerNodes(c)));
  if (!mine) {
    const take = el('button', { type: 'button', id: 'take-case' },
      t(c.owner_key_id ? 'counselor.casework.takeover' : 'counselor.casework.take'));
    take.addEventListener('click', () => busy(section, async () => {
      try {
        await work().take(c.case_id);
        sayNote('counselor.casework.taken');
        await openCaseAgainKeepingPlace(page);
      } catch (err) { sayError(err, 'counselor.casework.error.take'); }
    }));
    section.append(el('div', { class: 'actions' }, take));
  }
  section.append(renderHandOver(page));
  const select = el('select', { id: 'case-state', name: 'state' },
    STATES.map((v) => el('option', { value: v, selected: v === c.state }, stateName(v))));
  const form = el('form', { id: 'state-form', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'case-state' }, t('counselor.casework.state.label')),
      el('span', { class: 'hint', id: 'case-state-hint' },
        t('counselor.casework.state.hint', { state: stateName('reaching_out') })), select),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary' }, t('counselor.casework.state.save'))));
  select.setAttribute('aria-describedby', 'case-state-hint');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      try {
        const updated = await work().updateCase(c.case_id, { state: select.value });
        page.c = updated;
        sayNote('counselor.casework.state.saved', { state: stateName(updated.state) });
      } catch (err) { sayError(err, 'counselor.casework.state.error'); }
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
  const options = others.map((x) => [b64uEncode(x.keyId),
    b64uEncode(x.keyId) === mine ? t('counselor.handover.you', { name: x.name }) : x.name]);
  if (c.owner_key_id) options.push(['', t('counselor.handover.nobody')]);
  const form = el('form', { id: 'handover-form', novalidate: true });
  if (!options.length || (options.length === 1 && options[0][0] === mine && !c.owner_key_id)) return form;
  const select = el('select', { id: 'case-handover', name: 'owner' }, options.map(([v, label]) => el('option', { value: v }, label)));
  form.append(el('div', { class: 'field' }, el('label', { for: 'case-handover' }, t('counselor.handover.label')), select),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary' }, t('counselor.handover.submit'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      clearNotices();
      try {
        await work().updateCase(c.case_id, { owner_key_id: select.value || null });
        await openCaseAgainKeepingPlace(page);
        sayNote(select.value ? 'counselor.handover.done' : 'counselor.handover.none');
      } catch (err) { sayError(err, 'counselor.handover.error'); }
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
    el('h2', { id: hid }, t('counselor.match.title', { count: opened.length })));
  const released = m.entries.filter((e) => e.released).length;
  section.append(el('p', {}, t('counselor.match.released', { released, total: m.entries.length })));
  section.append(el('p', { class: 'hint' }, t('counselor.match.pseudonyms')));

  opened.forEach((o, i) => section.append(renderRecord(page, m, o, `${mi}-${i}`, i)));

  if (failed.length || bogus.length) {
    const problems = el('section', { class: 'card', 'aria-labelledby': `h-problems-${mi}` },
      el('h3', { id: `h-problems-${mi}` }, t('counselor.match.problems.title')));
    const list = el('ul');
    for (const [id, reason] of failed) {
      list.append(el('li', {}, tNodes('counselor.match.problems.failed', { id: bdi(shortId(id), 'ltr'), reason: bdi(reason) })));
    }
    for (const id of bogus) list.append(el('li', {}, tNodes('counselor.match.problems.bogus', { id: bdi(shortId(id), 'ltr') })));
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
    el('h3', { id: hid }, t('counselor.record.title', { number: i + 1 })),
    el('p', { class: 'meta' }, tNodes('counselor.record.meta', { date: when(b.writtenAt), id: bdi(shortId(o.entryId), 'ltr') }),
      pseudonym ? ` · ${t('counselor.record.reporter')} ` : '',
      pseudonym ? el('code', { class: 'pseudonym', title: t('counselor.record.pseudonym') }, pseudonym) : ''),
    el('h4', {}, t('counselor.record.contact')),
    el('p', { class: 'record-text' }, b.contact || t('counselor.record.nocontact')),
    el('h4', {}, t('counselor.record.wrote')),
    detailList([[t('counselor.record.what'), d.what], [t('counselor.record.when'), d.when],
      [t('counselor.record.where'), d.where], [t('counselor.record.witnesses'), d.witnesses]]),
    b.record ? el('div', { class: 'record-text' }, b.record) : null,
    el('h4', {}, t('counselor.record.named')),
    el('ul', { class: 'will-match' }, (b.identifiers || []).map((t, j) => namedItem(t, (b.canonical || [])[j] || ''))));
  const attachments = b.attachments || [];
  if (attachments.length) {
    section.append(el('h4', {}, t('counselor.record.attachments')), el('ul', { class: 'files' }, attachments.map((a) => {
      const bytes = a.data instanceof Uint8Array ? a.data : b64uDecode(a.data);
      return el('li', {}, downloadLink(fileLabel(a.name, bytes.length, a.type), bytes, a.name, 'application/octet-stream'));
    })));
  }
  section.append(renderDirect(page, m, o, key));
  return section;
}

/** "photo.png (1 KB, image/png)": a file to download, with its size and type. */
function fileLabel(name, size, type) {
  return t('counselor.file', { name, size: formatBytes(size), type: type || t('counselor.file.untyped') });
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
    el('div', { class: 'field' }, el('label', { for: `${id}-files` }, t('counselor.compose.attach')), files),
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
    sayFieldError(box.text, 'counselor.compose.error.toolarge', { total: formatBytes(total), max: formatBytes(MAX_ATTACHMENT_BYTES) });
    return null;
  }
  if (!text.trim() && !attachments.length) {
    sayFieldError(box.text, 'counselor.compose.error.empty');
    box.text.focus();
    return null;
  }
  return { text, attachments };
}

function renderDirect(page, m, o, key) {
  const id = `conv-${key}`;
  if (!o.reporter) {
    return el('section', { class: 'conversation', 'aria-labelledby': `${id}-h` },
      el('h4', { id: `${id}-h` }, t('counselor.direct.title')),
      el('p', {}, o.keyError ? tNodes('counselor.direct.damaged', { error: bdi(problemText(o.keyError)) }) : t('counselor.direct.nokey')),
      o.keyError ? technicalDetail(o.keyError) : null);
  }
  const conv = m.directs.get(o.entryB64) || null;
  const box = conversationBox(id, t('counselor.direct.title'), {
    label: t(conv ? 'counselor.direct.label' : 'counselor.direct.label.first'),
    button: t(conv ? 'counselor.direct.send' : 'counselor.direct.start'),
    hint: t('counselor.direct.hint'),
  });
  const shown = { conv, after: 0, list: box.list, trust: { reporter: o.reporter }, seen: new Set() };
  page.convs.set(o.entryB64, shown);
  if (!conv) box.list.append(el('li', { class: 'empty' }, t('counselor.messages.empty')));
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
        box.form.querySelector('label').textContent = t('counselor.direct.label');
        box.form.querySelector('button[type=submit]').textContent = t('counselor.direct.send');
        await refreshConversation(shown);
        sayNote('counselor.direct.sent');
      } catch (err) { sayError(err, 'counselor.messages.error.send'); }
    });
  });
  return box.section;
}

/** Members' display names in alphabetical order (a roster lists them by key). */
const namesOf = (members) => nameList(members.map((x) => x.name).sort((a, b) => a.localeCompare(b)));

function messageItem(msg) {
  if (msg.error) {
    return el('li', { class: 'message problem' }, el('p', { class: 'meta' }, when(msg.receivedAt)),
      el('p', {}, tNodes('counselor.message.problem', { error: bdi(problemText(msg.failure, msg.error)) })), technicalDetail(msg.failure));
  }
  const who = msg.from === 'me' ? t('counselor.message.me')
    : msg.from === 'counselor' ? tNodes('counselor.message.counselor', { name: bdi(msg.senderName) })
      : msg.from === 'reporter' ? t('counselor.message.reporter') : bdi(msg.senderName);
  const li = el('li', { class: `message from-${msg.from}`, 'data-type': msg.type },
    el('p', { class: 'meta' }, el('strong', { class: 'sender' }, who), ` · ${when(msg.sentAt || msg.receivedAt)}`));
  if (msg.type === 'reveal') {
    li.append(el('p', {}, t('counselor.message.reveal')), el('p', { class: 'record-text reveal' }, msg.contact));
  } else if (msg.type === 'introduction') {
    li.append(el('p', { class: 'label' }, t('counselor.message.introduction')));
  } else if (msg.type === 'roster') {
    li.append(el('p', {}, tNodes('counselor.message.roster', { names: namesOf(msg.members) })));
    return li;
  }
  if (msg.text) li.append(el('p', { class: 'message-text' }, msg.text));
  if (msg.attachments?.length) {
    li.append(el('ul', { class: 'files' }, msg.attachments.map((a) => el('li', {},
      downloadLink(fileLabel(a.name, a.data.length, a.type), a.data, a.name, 'application/octet-stream')))));
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
    el('h3', { id: hid }, t('counselor.intro.title')));
  m.introBox = section;
  const group = m.groupsList[m.groupsList.length - 1] || null;
  if (!group) {
    const directs = m.records.filter((r) => r.reporter && m.directs.get(r.entryB64));
    section.append(el('p', {}, t('counselor.intro.explain')));
    if (directs.length < 2) {
      section.append(el('p', { class: 'hint' }, t('counselor.intro.needtwo')));
      return section;
    }
    const text = el('textarea', { id: `intro-${mi}-text`, name: 'text' }, t('counselor.intro.default'));
    const form = el('form', { novalidate: true },
      el('div', { class: 'field' }, el('label', { for: `intro-${mi}-text` }, t('counselor.intro.label')),
        el('span', { class: 'hint' }, t('counselor.intro.hint', { count: directs.length })), text),
      el('div', { class: 'actions' }, el('button', { type: 'submit' }, t('counselor.intro.submit'))));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(form, async () => {
        clearNotices();
        if (!text.value.trim()) { sayError(new PageError('counselor.intro.error.empty')); return; }
        try {
          await work().propose(m.matchId, directs.map((r) => ({ conv: m.directs.get(r.entryB64), reporter: r.reporter })), text.value);
          await loadConversations(page);
          section.replaceWith(renderIntroduction(page, m, mi));
          await refreshAll(page, {});
          sayNote('counselor.intro.proposed');
        } catch (err) { sayError(err, 'counselor.intro.error.propose'); }
      });
    });
    section.append(form);
    return section;
  }
  const status = el('div', { class: 'intro-status', 'aria-live': 'polite' });
  section.append(el('p', {}, t('counselor.intro.sent', { date: when(group.created_at) })), status);
  const gid = `group-${mi}`;
  const box = conversationBox(gid, t('counselor.group.title'), {
    label: t('counselor.group.label'), button: t('counselor.group.send'), hint: t('counselor.group.hint'),
  });
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
        sayNote('counselor.group.sent');
      } catch (err) { sayError(err, 'counselor.messages.error.send'); }
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
    ? tNodes('counselor.group.accepted', { count: good.length, names: nameList(good.map((a) => a.name)) })
    : t('counselor.group.nobody')));
  for (const a of intro.accepted.filter((x) => x.error)) {
    s.append(el('p', { class: 'problem' }, tNodes('counselor.group.problem', { error: bdi(problemText(a.failure, a.error)) })));
    const detail = technicalDetail(a.failure);
    if (detail) s.append(detail);
  }
  const total = inRoster.size + waiting.length;
  if (waiting.length && total >= 2) {
    const label = inRoster.size
      ? t('counselor.group.add', { count: waiting.length })
      : t('counselor.group.start', { count: total });
    const button = el('button', { type: 'button' }, label);
    button.addEventListener('click', () => busy(s, async () => {
      clearNotices();
      try {
        const members = [...(shown.roster?.members || []), ...waiting.map((a) => ({ name: a.name, key: a.key }))];
        await work().postRoster(shown.conv, shown.introductionId, members);
        await refreshGroupState(shown);
        sayNote(inRoster.size ? 'counselor.group.added' : 'counselor.group.started');
      } catch (err) { sayError(err, 'counselor.group.error'); }
    }));
    s.append(el('div', { class: 'actions' }, button));
  } else if (!inRoster.size && good.length < 2) {
    s.append(el('p', { class: 'hint' }, t('counselor.group.needtwo')));
  }
  if (shown.roster) {
    shown.box.section.hidden = false;
    s.append(el('p', { class: 'members' }, tNodes('counselor.group.members', { names: namesOf(shown.roster.members) })));
  }
}

// --- linking -------------------------------------------------------------------------------------

function renderLinkSection(page) {
  const { c } = page;
  const section = el('section', { class: 'card', 'aria-labelledby': 'h-link' },
    el('h2', { id: 'h-link' }, t('counselor.link.title')));
  section.append(el('p', {}, t('counselor.link.explain')));
  const others = state.cases.filter((x) => x.case_id !== c.case_id).flatMap((x) => x.matches.map((mm) => ({ x, mm })));
  if (!others.length) {
    section.append(el('p', { class: 'hint' }, t('counselor.link.none')));
    return section;
  }
  const select = el('select', { id: 'link-match', name: 'match' },
    others.map(({ x, mm }) => el('option', { value: mm.match_id },
      t('counselor.link.option', { released: mm.released, date: when(mm.created_at), owner: ownerText(x).toLowerCase() }))));
  const form = el('form', { novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'link-match' }, t('counselor.link.label')), select),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary' }, t('counselor.link.submit'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      clearNotices();
      try {
        await work().link(c.case_id, select.value);
        await openCase(c.case_id);
        sayNote('counselor.link.done');
      } catch (err) { sayError(err, 'counselor.link.error'); }
    });
  });
  section.append(form);
  return section;
}

// --- notes ---------------------------------------------------------------------------------------

function renderNotesSection(page) {
  const section = el('section', { class: 'card notes', 'aria-labelledby': 'h-notes' },
    el('h2', { id: 'h-notes' }, t('counselor.notes.title')));
  section.append(el('p', { class: 'hint' }, t('counselor.notes.hint')));
  const list = el('ul', { class: 'note-list', id: 'notes-list', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  page.notesList = list;
  const text = el('textarea', { id: 'note-text', name: 'text' });
  const form = el('form', { novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'note-text' }, t('counselor.notes.label')), text),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary' }, t('counselor.notes.submit'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      clearNotices();
      try {
        await work().addNote(page.caseId, text.value);
        form.reset();
        await refreshNotes(page);
        sayNote('counselor.notes.saved');
      } catch (err) { sayError(err, 'counselor.notes.error'); }
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
      ? el('li', { class: 'problem' }, tNodes('counselor.notes.problem', { error: bdi(problemText(n.failure, n.error)) }),
        technicalDetail(n.failure))
      : el('li', {}, el('p', { class: 'meta' }, el('strong', {}, n.mine ? t('counselor.message.me') : bdi(n.author)),
        ` · ${when(n.sentAt || n.createdAt)}`),
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
  applyTranslations(document);
  mountLanguagePicker(document.getElementById('language-slot'));
  onLanguageChange(followLanguage);
  setupUnlock();
  $('#refresh').addEventListener('click', () => { clearNotices(); renderCases(); });
  installSafety({ forget, lock, isUnlocked: () => Boolean(state.keys) });
  setRouter(route);
  window.addEventListener('hashchange', () => { route().catch((err) => sayError(err)); });
  route().catch((err) => sayError(err));
}

init();
