// The reporter app's recovery screens (PROTOCOL.md §14.1): the account handle shown after
// joining, the backup kept up to date after every save, and "Recover on this device" on the first
// page. The work is the SDK's (sdk/clients/recovery.js); Argon2id runs in the Web Worker
// (lib/vault.js), never on the page's thread. reporter.js calls the hooks below and hands over
// what they need once, at setupRecovery.
import { recovery, ApiError, InvalidInput } from '../../sdk/index.js';
import {
  $, showView, clearNotices, showError, showNote, fieldError, clearFieldErrors, Steps, busy, noticeMark, describeError, sdkText,
} from './ui.js';
import { saveSealedWallet, saveReceipt, loadSealedWallet } from './store.js';
import { Vault, deriveKey } from './vault.js';
import { has, onLanguageChange, t } from './i18n.js';

let ctx = null; // {state, api, deployment, server, walletBytes, onRecovered}
let queue = Promise.resolve(); // uploads one after another, so versions go up in order
let running = 0; // backups queued or under way: the backup card is aria-busy while there are any

/** A recovery refusal (an SDK error with its code, see sdk/errors.js) in the person's language. */
export function recoveryMessage(err) {
  return describeError(err);
}

/** A note of recovery's result (a phrase of sdk/clients/recovery.js recover) in the person's language. */
export function recoveryNote(note) {
  return sdkText(note) ?? String(note);
}

/** The steps of recovering, in the person's language (the SDK's key, its English label if the catalog has none). */
function stepLabels() {
  return recovery.RECOVERY_STEPS.map(([k, label]) => [k, () => (has(`app.recovery.step.${k}`) ? t(`app.recovery.step.${k}`) : label)]);
}

/** Seal and keep the wallet in this browser (without uploading again: the upload is what changed it). */
async function storeLocally(wallet) {
  if (ctx.state.wallet !== wallet || !ctx.state.vault) return;
  await saveSealedWallet(await ctx.state.vault.seal(ctx.walletBytes(wallet)));
}

/** The backup card of the records page: the handle, and whether the last change is backed up. */
export function showBackupState() {
  const w = ctx?.state.wallet;
  const box = $('#recovery-box');
  if (!box || !w) return;
  const handle = $('#recovery-handle');
  const status = $('#recovery-status');
  if (!w.backup_handle) {
    handle.textContent = '';
    $('#recovery-handle-row').hidden = true;
    status.textContent = w.account_seed ? t('app.recovery.settingUp') : t('app.recovery.tooOld');
    return;
  }
  $('#recovery-handle-row').hidden = false;
  handle.textContent = w.backup_handle;
  status.textContent = w.backup_pending ? t('app.recovery.pending') : t('app.recovery.upToDate');
}

function setBusy() {
  const box = $('#recovery-box');
  if (!box) return;
  if (running > 0) box.setAttribute('aria-busy', 'true');
  else box.removeAttribute('aria-busy');
}

function backupInBackground(work) {
  running += 1;
  setBusy();
  queue = queue.then(work).catch(() => {}).finally(() => {
    running -= 1;
    setBusy();
    showBackupState();
  });
  return queue;
}

/** After each save of the wallet: upload the backup again (version + 1); a failure is said calmly and retried next time. */
export function afterSave() {
  const wallet = ctx?.state.wallet;
  if (!wallet) return Promise.resolve();
  // queued behind a set-up under way, and checked when its turn comes: a save made while the backup
  // is being set up is uploaded once the backup exists
  return backupInBackground(async () => {
    if (ctx.state.wallet !== wallet || !wallet.backup_keys) return;
    await recovery.updateBackup(wallet, ctx.api());
    await storeLocally(wallet);
  });
}

/**
 * With the passphrase at hand (just joined, or unlocked): set the backup up when the wallet has none
 * or the deployment's key servers changed, else send a pending upload. The passphrase is not kept.
 */
export function withPassphrase(passphrase) {
  const wallet = ctx?.state.wallet;
  if (!wallet) return Promise.resolve();
  return backupInBackground(async () => {
    if (ctx.state.wallet !== wallet || !wallet.account_seed) return;
    const d = await ctx.deployment();
    if (recovery.needsNewDealing(wallet, d)) {
      await recovery.setUpBackup(wallet, passphrase, d, ctx.api(), { stretch: deriveKey });
    } else if (wallet.backup_pending) {
      await recovery.updateBackup(wallet, ctx.api());
    } else {
      return;
    }
    await storeLocally(wallet);
  });
}

/** After joining: show the handle once it is made, with the line to write it down. */
export async function afterJoin(passphrase) {
  showBackupState();
  const mark = noticeMark();
  await withPassphrase(passphrase);
  const w = ctx.state.wallet;
  // only if nothing was said since joining: the handle must not replace what the person did meanwhile
  // (an escrow's outcome, say); it is on the records page's backup card in any case
  if (w?.backup_handle && noticeMark() === mark) {
    showNote(() => `${t('app.recovery.ready', { handle: w.backup_handle })} ${t('app.recovery.writeItDown')}`);
  }
}

// --- recover on this device ------------------------------------------------------------------------

function recoverError(err, form) {
  if (err instanceof recovery.WrongPassphrase) {
    fieldError($('#recover-pass'), () => recoveryMessage(err));
    $('#recover-pass').focus();
    return;
  }
  if (err instanceof recovery.RecoveryLocked) {
    showError({ message: err.message });
    $('#recover-unlock').focus();
    return;
  }
  if (err instanceof InvalidInput && err.code?.startsWith('recovery.unlock.')) {
    fieldError($('#recover-unlock'), () => recoveryMessage(err));
    $('#recover-unlock').focus();
    return;
  }
  if (err instanceof InvalidInput && err.code === 'recovery.handle') {
    fieldError($('#recover-handle'), () => recoveryMessage(err));
    $('#recover-handle').focus();
    return;
  }
  if (err instanceof ApiError && err.status === 404) {
    // the escrow server's own words when it says there is no backup; a bare 404 (an older server) gets ours
    fieldError($('#recover-handle'), /backup/i.test(err.detail || '') ? err.detail
      : () => t('app.recovery.noBackup'));
    $('#recover-handle').focus();
    return;
  }
  showError(err, () => t('app.recovery.failed'));
  form.querySelector('button[type=submit]')?.focus();
}

async function recoverHere(form) {
  const handle = $('#recover-handle');
  const pass = $('#recover-pass');
  const unlock = $('#recover-unlock');
  const steps = new Steps(() => t('app.recovery.steps.title'), [...stepLabels(), ['seal', () => t('app.recovery.step.seal')]]);
  try {
    const result = await recovery.recover(ctx.server(), handle.value, pass.value, {
      unlockCode: unlock.value.trim() || null, stretch: deriveKey, onStep: (s, st) => steps.track(s, st),
      onProgress: steps.bar('passphrase'), storeReceipt: saveReceipt,
    });
    steps.start('seal');
    const vault = await Vault.create(pass.value, steps.bar('seal'));
    await saveSealedWallet(await vault.seal(ctx.walletBytes(result.wallet)));
    steps.done('seal');
    form.reset();
    steps.clear();
    await ctx.onRecovered(result.wallet, vault, result.deployment);
    const n = result.records;
    showNote(() => [t('app.recovery.done', { count: n, escrowed: result.escrowed }), ...result.notes.map(recoveryNote)].join(' '));
  } catch (err) {
    recoverError(err, form);
  }
}

export function setupRecovery(context) {
  ctx = context;
  onLanguageChange(() => showBackupState()); // the backup card's line, in the new language
  const form = $('#recover-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearNotices();
    clearFieldErrors(form);
    const handle = $('#recover-handle');
    const pass = $('#recover-pass');
    try {
      handle.value = recovery.normaliseHandle(handle.value);
    } catch (err) {
      fieldError(handle, () => recoveryMessage(err));
      handle.focus();
      return;
    }
    if (!pass.value) {
      fieldError(pass, () => t('app.recovery.passphraseMissing'));
      pass.focus();
      return;
    }
    if (await loadSealedWallet()) {
      showError(() => ({ message: t('app.recovery.walletHere') }));
      return;
    }
    await busy(form, () => recoverHere(form));
  });
}

/** The recover view (a locked view: the device has no wallet yet). */
export function showRecover() {
  showView('recover');
}

