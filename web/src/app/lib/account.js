// The reporter's lists show neutral record titles, and "Delete my account" (PROTOCOL.md §14.2).
//
// A title is what someone glancing at the screen sees: "Record of 3 March 2026" (the day it was written,
// in this browser's language) or a title the person chose, never the first line of what happened.
// Deleting the account asks the escrow server to erase every entry, the backup and the account
// (DELETE /v2/account), then erases the wallet and the receipts kept in this browser.
import { $, el, clearNotices, showError, showNote, fieldError, busy } from './ui.js';
import { forgetWallet } from './store.js';
import { formatDate, onLanguageChange, t } from './i18n.js';

/** The word typed to confirm: the page's language's, or the English DELETE (the CLI's word) in any language. */
function confirmWord() {
  return t('app.account.delete.word');
}

/** The record's title in lists and headings: the person's own, else "Record of <date>". */
export function recordTitle(r) {
  const own = (r.title || '').trim();
  if (own) return own.length > 70 ? `${own.slice(0, 67)}…` : own;
  const d = new Date(r.written_at);
  if (Number.isNaN(d.getTime())) return t('app.account.title.untitled');
  return t('app.account.title.dated', { date: formatDate(d, { day: 'numeric', month: 'long', year: 'numeric' }) });
}

const STAYS = ['log', 'server', 'counselor'].map((k) => `app.account.delete.stays.${k}`);

/** Shown before the server answers; its own list (the same for everyone, in the language asked for) is shown after. */
function whatStays() {
  return STAYS.map((key) => t(key));
}

/** An element whose text is the message KEY, said again by setLanguage when the language changes. */
function said(tag, attrs, key) {
  return el(tag, { ...attrs, 'data-i18n': key }, t(key));
}

/**
 * The "Delete my account" card in the records view. `api()` is the escrow server as this account;
 * `forget()` drops the wallet and its key from memory; `after(note)` shows the first screen and NOTE (a
 * function giving the text, for showNote).
 */
export function setupDeleteAccount({ api, forget, after }) {
  const open = $('#delete-open');
  const box = $('#delete-confirm');
  let relabel = () => {};
  // the texts with the word in them follow a change of language; the others carry data-i18n
  onLanguageChange(() => relabel());
  open.addEventListener('click', () => {
    box.textContent = '';
    open.hidden = true;
    const heading = said('h3', { tabindex: '-1', id: 'h-delete-confirm' }, 'app.account.delete.heading');
    const typed = el('input', { id: 'delete-word', type: 'text', autocomplete: 'off', spellcheck: 'false',
      'aria-describedby': 'delete-word-error' });
    const label = el('label', { for: typed.id });
    const close = () => { box.textContent = ''; open.hidden = false; open.focus(); relabel = () => {}; };
    const form = el('form', { class: 'notice info', novalidate: true, 'aria-labelledby': heading.id },
      heading,
      said('p', {}, 'app.account.delete.whatGoes'), // the same words as `consilience reporter delete-account`
      said('p', {}, 'app.account.delete.whatStays'),
      el('ul', {}, STAYS.map((key) => said('li', {}, key))),
      said('p', {}, 'app.account.delete.export'),
      el('div', { class: 'field' },
        label,
        typed,
        el('p', { class: 'field-error', id: 'delete-word-error', hidden: true })),
      el('div', { class: 'actions' },
        said('button', { type: 'submit', class: 'danger' }, 'app.account.delete.yes'),
        said('button', { type: 'button', class: 'secondary', onclick: close }, 'app.account.delete.no')));
    relabel = () => {
      label.textContent = t('app.account.delete.typeLabel', { word: confirmWord() });
    };
    relabel();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearNotices();
      if (![confirmWord(), 'DELETE'].includes(typed.value.trim())) {
        fieldError(typed, () => t('app.account.delete.mistyped', { word: confirmWord() }));
        typed.focus();
        return;
      }
      await busy(form, async () => {
        let answer;
        try {
          answer = await api().deleteAccount();
        } catch (err) {
          showError(err, () => t('app.account.delete.failed'));
          return;
        }
        forget();
        await forgetWallet();
        const n = answer?.erased_entries ?? 0;
        // the server's list is in the language it was asked in; ours follows a change of language
        await after(() => [t('app.account.delete.done', { count: n }), t('app.account.delete.whatStays'),
          ...(answer?.what_stays || whatStays())].join('\n'));
      });
    });
    box.append(form);
    heading.focus();
  });
}
