// Leave quickly, leave no trace in the page (PROTOCOL.md §14.2), for every page of the web app.
//
// - "Leave quickly" (the first control of every page) and Esc pressed three times within 2 seconds:
//   the page forgets every key it holds, blanks itself and calls location.replace(exitUrl), which puts
//   the neutral site in place of this page's history entry, so Back does not come back here.
// - The apps never add history entries: in-page links (#/…) and ui.js's go() replace the current one,
//   so the tab keeps a single entry of the app, whatever was opened in it.
// - Auto-lock: after the chosen time without activity (the operator's default, 5 minutes unless set;
//   the person may choose 1, 2, 5, 10 or 15 minutes, kept in this browser's localStorage), the app's
//   lock() forgets the key and the wallet and shows the unlock screen with why.
// The operator's values come from /app-config.json; until it answers (or if it cannot), the defaults hold,
// so the exit works from the first moment. Its words (the lock menu, the lock note) come from the
// safety catalog; the menu is drawn again when the language changes.
import { onLanguageChange, t } from './i18n.js';

export const DEFAULT_EXIT_URL = 'https://www.bbc.com/weather';
export const DEFAULT_LOCK_SECONDS = 300;
export const LOCK_CHOICES = [1, 2, 5, 10, 15];
const LOCK_KEY = 'consilience.autolock.minutes';
const ESC_WINDOW_MS = 2000;
const ACTIVITY = ['pointerdown', 'keydown', 'input', 'wheel', 'touchstart', 'scroll'];

const config = { exitUrl: DEFAULT_EXIT_URL, lockSeconds: DEFAULT_LOCK_SECONDS };
let hooks = { forget: () => {}, lock: async () => {}, isUnlocked: () => false };
let lastActivity = Date.now();
let escPresses = [];
let leaving = false;

/** Forget what the page holds, blank it and replace this history entry with the exit site. */
export function leave() {
  if (leaving) return;
  leaving = true;
  try { hooks.forget(); } catch { /* leaving matters more than a clean forget */ }
  document.body.hidden = true;
  document.title = '';
  window.location.replace(config.exitUrl);
}

/** The lock time in force: the person's choice in this browser, else the operator's. */
export function lockSeconds() {
  const chosen = Number(window.localStorage.getItem(LOCK_KEY));
  return LOCK_CHOICES.includes(chosen) ? chosen * 60 : config.lockSeconds;
}

/** Why the page locked, for the unlock screen: "Locked after 5 minutes without activity." */
export function lockNote(seconds = lockSeconds()) {
  const minutes = Math.round(seconds / 60);
  return minutes >= 1 ? t('safety.lock.note.minutes', { minutes })
    : t('safety.lock.note.seconds', { seconds: Math.round(seconds) });
}

async function checkIdle() {
  if (leaving || !hooks.isUnlocked()) { lastActivity = Date.now(); return; }
  const seconds = lockSeconds();
  if (Date.now() - lastActivity >= seconds * 1000) {
    lastActivity = Date.now();
    await hooks.lock({ note: () => lockNote(seconds) }); // said again if the language changes while it is shown
  }
}

function onKey(ev) {
  if (ev.key !== 'Escape') return;
  const now = Date.now();
  escPresses = escPresses.filter((t) => now - t < ESC_WINDOW_MS);
  escPresses.push(now);
  if (escPresses.length >= 3) leave();
}

/** Links within the app replace the current history entry instead of adding one (another page of this site,
 * like the safety page, too: else Back from the exit site's place would lead to it); #id links move the focus. */
function onClick(ev) {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest?.('a[href^="#"], a[href^="/"]');
  if (!a || a.hasAttribute('download') || a.target) return;
  const href = a.getAttribute('href');
  ev.preventDefault();
  if (href.startsWith('/')) {
    window.location.replace(href);
    return;
  }
  if (href.startsWith('#/')) {
    if (window.location.hash !== href) window.location.replace(href); // fires hashchange: the router renders
    return;
  }
  const target = document.getElementById(href.slice(1));
  if (target) { if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1'); target.focus(); }
}

async function loadConfig() {
  try {
    const answer = await fetch('/app-config.json', { cache: 'no-store', credentials: 'omit' });
    if (!answer.ok) return;
    const doc = await answer.json();
    if (typeof doc.exit_url === 'string' && /^https?:\/\//.test(doc.exit_url)) config.exitUrl = doc.exit_url;
    if (Number.isFinite(doc.auto_lock_seconds) && doc.auto_lock_seconds > 0) config.lockSeconds = doc.auto_lock_seconds;
  } catch { /* the defaults stay */ }
  renderLockChoice();
}

/** The "Lock after" menu, in every element marked data-autolock. */
function renderLockChoice() {
  for (const box of document.querySelectorAll('[data-autolock]')) {
    box.textContent = '';
    const id = `autolock-${box.dataset.autolock || 'choice'}`;
    const select = document.createElement('select');
    select.id = id;
    select.setAttribute('aria-describedby', `${id}-hint`);
    const current = Math.round(lockSeconds() / 60);
    const minutes = LOCK_CHOICES.includes(current) ? LOCK_CHOICES : [...LOCK_CHOICES, current].sort((a, b) => a - b);
    for (const m of minutes) {
      const option = document.createElement('option');
      option.value = String(m);
      option.textContent = t('safety.lock.minutes', { minutes: m });
      option.selected = m === current;
      select.append(option);
    }
    select.addEventListener('change', () => {
      window.localStorage.setItem(LOCK_KEY, select.value);
      lastActivity = Date.now();
    });
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = t('safety.lock.label');
    const hint = document.createElement('span');
    hint.className = 'hint';
    hint.id = `${id}-hint`;
    hint.textContent = t('safety.lock.hint');
    const field = document.createElement('div');
    field.className = 'field';
    field.append(label, hint, select);
    box.append(field);
  }
}

/**
 * Wire the page up. `forget()` drops every key and secret in memory at once (it must not wait);
 * `lock({note})` locks the app and shows its unlock screen with the note; `isUnlocked()` says whether
 * anything is unlocked now. The safety page passes none of them.
 */
export function installSafety(appHooks = {}) {
  hooks = { ...hooks, ...appHooks };
  document.getElementById('leave')?.addEventListener('click', leave);
  document.addEventListener('keydown', onKey, true);
  document.addEventListener('click', onClick);
  for (const type of ACTIVITY) document.addEventListener(type, () => { lastActivity = Date.now(); }, { capture: true, passive: true });
  // a sleeping laptop or a hidden tab: check as soon as it is seen again, and every second meanwhile
  document.addEventListener('visibilitychange', () => { if (!document.hidden) checkIdle(); });
  window.setInterval(checkIdle, 1000);
  renderLockChoice();
  onLanguageChange(() => renderLockChoice());
  loadConfig();
}
