// "Export a proof of this record" on an escrowed record (PROTOCOL.md §14.3): after a calm warning that
// the file shows everything in the record, the page builds the disclosure (sdk/clients/disclosure.js:
// the server's ciphertexts, a fresh receipt, a consistency bundle to the newest cosigned checkpoint),
// checks it with the same verify() the offline page runs, and only then saves it.
import { el, saveFile, showError, showNote } from './ui.js';
import { makeDisclosure } from '../../sdk/clients/disclosure.js';
import { FILE_EXTENSION } from '../../sdk/protocol/disclosure.js';

/** The export box for record `r`; `session()` gives {wallet, api} when the button is used. */
export function exportBox(r, session) {
  const box = el('div', { id: 'disclosure-box' });
  const open = el('button', { type: 'button', class: 'secondary', id: 'disclosure-open' }, 'Export a proof of this record…');
  const confirm = el('div', { id: 'disclosure-confirm' });
  open.addEventListener('click', () => {
    confirm.textContent = '';
    const heading = el('h3', { tabindex: '-1', id: 'h-disclosure' }, 'Export a proof of this record?');
    confirm.append(el('div', { class: 'notice info', role: 'group', 'aria-labelledby': 'h-disclosure' },
      heading,
      el('p', {}, 'The file shows that this exact record was in the service’s public log by a certain time and has not '
        + 'changed since. Anyone you give it to can check it, with the service’s “Check a proof” page or the command line.'),
      el('p', {}, 'It shows everything in the record: what you wrote, the attached files, the names you gave and your '
        + 'contact. Give it only to people you choose, and keep it somewhere safe.'),
      el('div', { class: 'actions' },
        el('button', { type: 'button', id: 'disclosure-yes', onclick: (ev) => run(r, session, ev.target, confirm) }, 'Yes, export the proof'),
        el('button', { type: 'button', class: 'secondary', onclick: () => { confirm.textContent = ''; open.focus(); } }, 'No, not now'))));
    heading.focus();
  });
  box.append(el('div', { class: 'actions' }, open), confirm);
  return box;
}

async function run(r, session, button, confirm) {
  button.disabled = true;
  try {
    const { wallet, api } = session();
    const { doc, check } = await makeDisclosure(api, wallet, r);
    const day = (r.written_at || '').slice(0, 10) || 'record';
    saveFile(`${JSON.stringify(doc, null, 1)}\n`, `record-${day}${FILE_EXTENSION}`, 'application/json');
    confirm.textContent = '';
    const seen = check.witnesses.length ? ` and seen by ${check.witnesses.length === 1 ? 'a witness' : `${check.witnesses.length} witnesses`}`
      : '; no witness has confirmed it yet, so for now only the service vouches for the time';
    showNote(`The proof was saved and checked: the record was in the log by ${check.loggedAt.toLocaleString()}${seen}.`);
  } catch (err) {
    showError(err, 'The proof could not be made. Nothing was saved.');
    button.disabled = false;
  }
}
