// The reporter's lists show neutral record titles, and "Delete my account" (PROTOCOL.md §14.2).
//
// A title is what someone glancing at the screen sees: "Record of 3 March 2026" (the day it was written,
// in this browser's language) or a title the person chose, never the first line of what happened.
// Deleting the account asks the escrow server to erase every entry, the backup and the account
// (DELETE /v2/account), then erases the wallet and the receipts kept in this browser.
import { $, el, clearNotices, showError, showNote, fieldError, busy } from './ui.js';
import { forgetWallet } from './store.js';

const CONFIRM_WORD = 'DELETE';

/** The record's title in lists and headings: the person's own, else "Record of <date>". */
export function recordTitle(r) {
  const own = (r.title || '').trim();
  if (own) return own.length > 70 ? `${own.slice(0, 67)}…` : own;
  const d = new Date(r.written_at);
  if (Number.isNaN(d.getTime())) return 'Record';
  return `Record of ${d.toLocaleDateString(undefined, { day: 'numeric', month: 'long', year: 'numeric' })}`;
}

/** What is erased, said before anything is (the same words as `consilience reporter delete-account`). */
export const WHAT_GOES = 'This deletes your account. Every record you put in escrow is erased from the server, whether '
  + 'or not anyone else named the same person, and so is the backup of your wallet. Then the wallet and its receipts '
  + 'are removed from this browser. Nobody can undo this.';
/** Shown before the server answers; its own list (the same for everyone) is shown after. */
const WHAT_STAYS = [
  'The public log keeps one line for each thing that happened. These lines hold no words, names or contact details.',
  'The server keeps a note that each entry existed and was withdrawn, and that the account existed and was deleted.',
  'If a counselor already read one of your records, or a message you sent, they keep what they read.',
];

/**
 * The "Delete my account" card in the records view. `api()` is the escrow server as this account;
 * `forget()` drops the wallet and its key from memory; `after(note)` shows the first screen.
 */
export function setupDeleteAccount({ api, forget, after }) {
  const open = $('#delete-open');
  const box = $('#delete-confirm');
  open.addEventListener('click', () => {
    box.textContent = '';
    open.hidden = true;
    const heading = el('h3', { tabindex: '-1', id: 'h-delete-confirm' }, 'Delete your account?');
    const typed = el('input', { id: 'delete-word', type: 'text', autocomplete: 'off', spellcheck: 'false',
      'aria-describedby': 'delete-word-error' });
    const close = () => { box.textContent = ''; open.hidden = false; open.focus(); };
    const form = el('form', { class: 'notice info', novalidate: true, 'aria-labelledby': heading.id },
      heading,
      el('p', {}, WHAT_GOES),
      el('p', {}, 'What stays:'),
      el('ul', {}, WHAT_STAYS.map((line) => el('li', {}, line))),
      el('p', {}, 'If you want to keep your own copy of what you wrote, export the wallet file first.'),
      el('div', { class: 'field' },
        el('label', { for: typed.id }, `Type ${CONFIRM_WORD} to delete your account`),
        typed,
        el('p', { class: 'field-error', id: 'delete-word-error', hidden: true })),
      el('div', { class: 'actions' },
        el('button', { type: 'submit', class: 'danger' }, 'Yes, delete my account'),
        el('button', { type: 'button', class: 'secondary', onclick: close }, 'No, keep my account')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearNotices();
      if (typed.value.trim() !== CONFIRM_WORD) {
        fieldError(typed, `Type ${CONFIRM_WORD} in capitals, or choose “No, keep my account”. Nothing was deleted.`);
        typed.focus();
        return;
      }
      await busy(form, async () => {
        let answer;
        try {
          answer = await api().deleteAccount();
        } catch (err) {
          showError(err, 'Your account was not deleted.');
          return;
        }
        forget();
        await forgetWallet();
        const stays = (answer?.what_stays || WHAT_STAYS).join('\n');
        const n = answer?.erased_entries ?? 0;
        await after(`Your account is deleted. ${n === 1 ? 'One record was' : `${n} records were`} erased from the `
          + `server, and the wallet was removed from this browser.\nWhat stays:\n${stays}`);
      });
    });
    box.append(form);
    heading.focus();
  });
}
