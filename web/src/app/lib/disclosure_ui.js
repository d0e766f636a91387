// "Export a proof of this record" on an escrowed record (PROTOCOL.md §14.3): after a calm warning that
// the file shows everything in the record, the page builds the disclosure (sdk/clients/disclosure.js:
// the server's ciphertexts, a fresh receipt, a consistency bundle to the newest cosigned checkpoint),
// checks it with the same verify() the offline page runs, and only then saves it.
import { el, saveFile, showError, showNote } from './ui.js';
import { makeDisclosure } from '../../sdk/clients/disclosure.js';
import { FILE_EXTENSION } from '../../sdk/protocol/disclosure.js';
import { formatDateTime, t } from './i18n.js';

/** An element whose text is the message KEY, said again by setLanguage when the language changes. */
function said(tag, attrs, key) {
  return el(tag, { ...attrs, 'data-i18n': key }, t(key));
}

/** The export box for record `r`; `session()` gives {wallet, api} when the button is used. */
export function exportBox(r, session) {
  const box = el('div', { id: 'disclosure-box' });
  const open = said('button', { type: 'button', class: 'secondary', id: 'disclosure-open' }, 'app.disclosure.open');
  const confirm = el('div', { id: 'disclosure-confirm' });
  open.addEventListener('click', () => {
    confirm.textContent = '';
    const heading = said('h3', { tabindex: '-1', id: 'h-disclosure' }, 'app.disclosure.heading');
    confirm.append(el('div', { class: 'notice info', role: 'group', 'aria-labelledby': 'h-disclosure' },
      heading,
      said('p', {}, 'app.disclosure.what'),
      said('p', {}, 'app.disclosure.everything'),
      el('div', { class: 'actions' },
        said('button', { type: 'button', id: 'disclosure-yes', onclick: (ev) => run(r, session, ev.target, confirm) },
          'app.disclosure.yes'),
        said('button', { type: 'button', class: 'secondary', onclick: () => { confirm.textContent = ''; open.focus(); } },
          'app.disclosure.no'))));
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
    // the date and time in figures, to the second (what toLocaleString gives), in the page's language
    const time = () => formatDateTime(check.loggedAt, { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric',
      minute: 'numeric', second: 'numeric' });
    const count = check.witnesses.length;
    showNote(() => (count ? t('app.disclosure.saved', { time: time(), count }) : t('app.disclosure.saved.unwitnessed', { time: time() })));
  } catch (err) {
    showError(err, () => t('app.disclosure.failed'));
    button.disabled = false;
  }
}
