// Recovery on a new device, the client (PROTOCOL.md §14.1; clients/recovery.py): set up the
// backup after joining, upload it again after every change of the wallet, and recover a wallet
// from the handle and the passphrase on a device that has nothing.
//
// The key servers are asked directly, cross-origin, as oprf_client.js asks them (the page's CSP
// already allows them): the escrow server never sees the blinded passphrase, and each key server
// counts guesses per handle, so the escrow server cannot guess on its own either.
//
// Argon2id is passed in as `stretch(passphrase, salt, params, onProgress)`; the reporter app
// gives the Web Worker's (app/lib/vault.js), tests and node the SDK's own (crypto/sealed.js).
import { ConsilienceError, DecryptionError, InvalidInput, VerificationError, phrase } from '../errors.js';
import { deriveKey } from '../crypto/sealed.js';
import { accountKey, parseCertificate } from '../protocol/accounts.js';
import { verifyDeployment, adminFingerprint } from '../protocol/deployment.js';
import { b64uDecode, b64uEncode, bytesEqual } from '../protocol/encoding.js';
import * as rec from '../protocol/recovery.js';
import { ApiError, EscrowApi, languageHeaders, reporterSignIn } from './api.js';
import { checkReceipt } from './receipts.js';
import { namedReason, unreachableReason } from './oprf_client.js';
import { keepReceipt, lateReceipt } from './reporter.js';
import { walletFromBytes, walletToBytes } from './wallet.js';

export { HANDLE_REFUSAL, formatHandle, normaliseHandle, parseHandle } from '../protocol/recovery.js';

/** Said when an upload of the backup failed; the next save or unlock tries again. */
export const BACKUP_PENDING_NOTE = 'Your backup will be updated next time you are online.';
export const WRONG_PASSPHRASE = (left) => `That passphrase did not open the backup. You have ${left} ${left === 1 ? 'try' : 'tries'} `
  + 'left at this deployment before recovery pauses.';

/** The passphrase did not open the backup; `attemptsLeft` is the fewest any key server that answered has left. */
export class WrongPassphrase extends ConsilienceError {
  constructor(attemptsLeft) {
    super(WRONG_PASSPHRASE(attemptsLeft), { code: 'recovery.wrongPassphrase', params: { count: attemptsLeft } });
    this.attemptsLeft = attemptsLeft;
  }
}

/** Key servers paused recovery for this handle (423): the reason, in their words; an unlock code opens it again. */
export class RecoveryLocked extends ConsilienceError {
  constructor(detail, servers) {
    super(detail);
    this.servers = servers;
  }
}

/** Fewer than t key servers gave an answer that checks: `failures` is [{index, url, reason}]. */
export class RecoveryUnavailable extends ConsilienceError {
  constructor(message, failures, needed, { code = undefined, params = {} } = {}) {
    super(message, { code, params });
    this.failures = failures;
    this.needed = needed;
  }
}

const NO_PROGRESS = () => {};

/** The key servers clients ask (Deployment.serving_key_servers): holding a share, and not left out by a resharing under way. */
export function servingKeyServers(deployment) {
  const change = deployment.keyChange;
  return deployment.keyservers.filter((s) => s.publicShare.length
    && !(change && change.kind === 'reshare' && change.servers.every((c) => !bytesEqual(c.identityKey, s.identityKey))));
}

function walletIds(wallet) {
  if (!wallet.account_seed || !wallet.certificate) {
    throw new InvalidInput('This wallet was made before accounts had their own key, so it cannot be backed up.', { code: 'recovery.walletTooOld' });
  }
  const seed = b64uDecode(wallet.account_seed, 32, 'account_seed');
  const certificate = b64uDecode(wallet.certificate, 120, 'certificate');
  return { seed, certificate, deploymentId: parseCertificate(certificate).deploymentId };
}

/** Whether the backup's key servers or threshold are no longer the document's (then set up again at the next unlock). */
export function needsNewDealing(wallet, deployment) {
  const keys = wallet.backup_keys;
  if (!keys || !wallet.backup_key) return true;
  const serving = servingKeyServers(deployment);
  if (keys.threshold !== deployment.threshold || keys.servers.length !== serving.length) return true;
  return !serving.every((s) => keys.servers.some((k) => k.index === s.index && k.identity_key === b64uEncode(s.identityKey)));
}

/** The wallet bytes sealed into a backup: a copy without the backup key (never encrypted under itself). */
function backupWalletBytes(wallet, version) {
  return walletToBytes({ ...wallet, backup_key: '', backup_version: version, backup_pending: false });
}

/**
 * Upload the wallet's backup as version backup_version + 1 (PUT /v2/account/backup). A 409
 * stale_backup (another device stored a newer version) is answered once by reading the stored
 * version and going past it. Changes backup_version on success; throws ApiError otherwise.
 */
async function upload(wallet, api) {
  const { deploymentId } = walletIds(wallet);
  const keys = rec.parseBackupKeys(wallet.backup_keys, { deploymentId });
  const key = b64uDecode(wallet.backup_key, 32, 'backup_key');
  let version = wallet.backup_version + 1;
  for (let attempt = 0; ; attempt++) {
    const ct = rec.sealBackupWallet(key, backupWalletBytes(wallet, version), deploymentId, keys.handleBytes, version);
    try {
      await api.putBackup(rec.backupDocument(wallet.backup_keys, version, ct));
      wallet.backup_version = version;
      wallet.backup_pending = false;
      return version;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 409 || attempt > 0) throw err;
      const stored = await api.backup(keys.handle);
      version = Math.max(version, (Number.isSafeInteger(stored?.version) ? stored.version : 0) + 1);
    }
  }
}

/**
 * Set up the backup of a wallet (after joining, or for a wallet that has none, or when the key
 * servers changed): deal a fresh VOPRF key to the serving key servers, seal each share to its
 * HPKE key, derive the backup key from the passphrase locally (the device knows k here, then
 * forgets it) and upload. The wallet gets backup_handle, backup_key, backup_keys; returns the
 * handle. A failed upload leaves backup_pending set (the caller saves the wallet either way).
 * kdf: {memory_kib, iterations, lanes} (RFC 9106's by default; tests pass lower).
 */
export async function setUpBackup(wallet, passphrase, deployment, api, {
  stretch = deriveKey, kdf = rec.DEFAULT_KDF, onProgress = undefined,
} = {}) {
  const { seed, deploymentId } = walletIds(wallet);
  if (!bytesEqual(deploymentId, deployment.deploymentId)) throw new InvalidInput('this wallet is for another deployment', { code: 'recovery.walletOtherDeployment' });
  const hb = rec.handleBytes(deploymentId, accountKey(seed));
  const servers = servingKeyServers(deployment);
  const t = deployment.threshold;
  if (servers.length < t) throw new InvalidInput('the deployment does not list enough key servers for a backup yet', { code: 'recovery.tooFewServers' });
  const hardened = await stretch(passphrase, rec.recoverySalt(deploymentId, hb), rec.argon2Params(kdf), onProgress);
  const dealt = rec.dealKey(t, servers.map((s) => s.index));
  const sealedServers = await Promise.all(servers.map(async (s) => {
    const { share, publicShare } = dealt.shares.get(s.index);
    return { index: s.index, identityKey: s.identityKey, publicShare,
      sealedShare: await rec.sealShare(s.hpkePublicKey, share, deploymentId, hb, s.index, publicShare) };
  }));
  const rwd = rec.localRwd(dealt.k, hardened);
  const key = rec.backupKey(rwd, deploymentId, hb);
  hardened.fill(0);
  wallet.backup_handle = rec.formatHandle(hb);
  wallet.backup_key = b64uEncode(key);
  wallet.backup_keys = rec.backupKeysJson({ deploymentId, handleBytes: hb, threshold: t, groupKey: dealt.groupKey, kdf, servers: sealedServers });
  await updateBackup(wallet, api);
  return wallet.backup_handle;
}

/**
 * After every save: upload the wallet's backup again (version + 1). Returns 'updated', 'pending'
 * (the server could not be reached or refused; backup_pending is set and BACKUP_PENDING_NOTE is
 * what to say) or 'none' (the wallet has no backup yet). The caller saves the wallet afterwards.
 */
export async function updateBackup(wallet, api) {
  if (!wallet.backup_keys || !wallet.backup_key) return 'none';
  try {
    await upload(wallet, api);
    return 'updated';
  } catch (err) {
    if (!(err instanceof ConsilienceError)) throw err;
    wallet.backup_pending = true;
    return 'pending';
  }
}

async function postJson(fetchFn, url, json, timeoutMs) {
  const signal = typeof AbortSignal !== 'undefined' && AbortSignal.timeout ? AbortSignal.timeout(timeoutMs) : undefined;
  return fetchFn(url, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...languageHeaders() },
    body: JSON.stringify(json), signal, credentials: 'omit', cache: 'no-store',
  });
}

async function readDetail(response) {
  try {
    const text = await response.text();
    try { return String(JSON.parse(text)?.detail ?? '').slice(0, 400); } catch { return text.slice(0, 400); }
  } catch {
    return '';
  }
}

export const RECOVERY_STEPS = Object.freeze([
  ['backup', 'Fetching your backup'],
  ['passphrase', 'Strengthening your passphrase (this takes a few seconds)'],
  ['keyservers', 'Asking the key servers'],
  ['open', 'Opening your wallet'],
  ['signin', 'Signing in'],
  ['receipts', 'Checking the receipts of your records in escrow'],
]);

/**
 * Recover a wallet on a device that has nothing: `serverBase` the escrow server ('' for the page's
 * own), `handle` as written down, the passphrase, and optionally an administrator's unlock code
 * (cnslu1.…) when recovery was paused. Returns {wallet, deployment, records, escrowed, notes}: each note a
 * phrase (errors.js; `${note}` its English).
 * Throws WrongPassphrase (with the tries left), RecoveryLocked (the key servers' reason),
 * RecoveryUnavailable (naming each key server that failed), InvalidInput (a mistyped handle, a
 * backup that is not one) or ApiError (404: no backup for this handle).
 * onStep(step, state) with the steps of RECOVERY_STEPS; onProgress(fraction) while Argon2id runs.
 */
export async function recover(serverBase, handle, passphrase, {
  unlockCode = null, stretch = deriveKey, fetch: fetchFn = globalThis.fetch, onStep = NO_PROGRESS, onProgress = undefined,
  storeReceipt = null, timeoutMs = 15000, now = null,
} = {}) {
  const hb = rec.parseHandle(handle);
  const written = rec.formatHandle(hb);
  if (typeof passphrase !== 'string' || !passphrase) throw new InvalidInput('Please type your passphrase.', { code: 'recovery.passphraseMissing' });
  const call = (...args) => fetchFn(...args);
  const api = new EscrowApi(serverBase, null, { fetch: call });
  const step = async (name, fn) => {
    onStep(name, 'start');
    try {
      const out = await fn();
      onStep(name, 'done');
      return out;
    } catch (err) {
      onStep(name, 'failed');
      throw err;
    }
  };

  const { published, deployment, backup } = await step('backup', async () => {
    const doc = await api.deployment();
    // Checked against its own administrator key first; the wallet's pinned fingerprint is compared once it opens.
    const d = await verifyDeployment(doc, adminFingerprint(b64uDecode(doc?.admin_key ?? '', 32, 'admin_key')));
    const b = rec.parseBackup(await api.backup(written), { deploymentId: d.deploymentId, handle: hb });
    return { published: doc, deployment: d, backup: b };
  });
  const { deploymentId } = deployment;

  // The key servers of the backup that the document still lists under the same identity key.
  const listed = new Map(deployment.keyservers.map((s) => [s.index, s]));
  const servers = backup.servers.filter((s) => bytesEqual(listed.get(s.index)?.identityKey ?? new Uint8Array(0), s.identityKey))
    .map((s) => ({ ...s, url: listed.get(s.index).url.replace(/\/+$/, '') }));

  if (unlockCode) {
    const code = unlockCode.trim();
    if (!code.startsWith('cnslu1.')) {
      throw new InvalidInput('An unlock code starts with cnslu1. Check it against the one you were given.', { code: 'recovery.unlock.prefix' });
    }
    // The code is the administrator's, the same for every key server; each sets its count for this handle back to zero.
    const answers = await Promise.all(servers.map(async (s) => {
      try {
        const r = await postJson(call, `${s.url}/v2/recovery/unlock`, { code }, timeoutMs);
        return { ok: r.status === 200, status: r.status, detail: r.status === 200 ? '' : await readDetail(r) };
      } catch {
        return { ok: false, status: 0, detail: '' };
      }
    }));
    const refusal = answers.find((a) => a.status >= 400 && a.status < 500 && a.status !== 429);
    if (!answers.some((a) => a.ok) && refusal) {
      throw new InvalidInput(`The unlock code was not accepted${refusal.detail ? `: ${refusal.detail}` : ''}. Check it against `
        + 'the one you were given, or ask the administrator for a new one.',
      refusal.detail ? { code: 'recovery.unlock.refusedDetail', params: { detail: refusal.detail } } : { code: 'recovery.unlock.refused' });
    }
  }

  const hardened = await step('passphrase', () => stretch(passphrase, rec.recoverySalt(deploymentId, hb), backup.params, onProgress));

  const { checked, attemptsLeft } = await step('keyservers', async () => {
    const { blind, blinded } = rec.blindHardened(hardened);
    const failures = [];
    const locked = [];
    const good = [];
    const left = [];
    const failed = (s, why) => failures.push({ index: s.index, url: s.url, reason: String(why), why });
    await Promise.all(servers.map(async (s) => {
      let response;
      try {
        response = await postJson(call, `${s.url}/v2/recovery/evaluate`, rec.evaluateRequestJson(written, s, blinded), timeoutMs);
      } catch (e) {
        failed(s, unreachableReason(e?.name ?? 'Error'));
        return;
      }
      if (response.status === 423) {
        locked.push({ index: s.index, url: s.url, detail: await readDetail(response) });
        return;
      }
      if (response.status !== 200) {
        const why = await readDetail(response);
        failed(s, response.status === 429 ? phrase('keyServer.limiting', 'is limiting requests for now')
          : why ? phrase('keyServer.http', `answered HTTP ${response.status}: ${why}`, { status: String(response.status), detail: why })
            : phrase('keyServer.httpStatus', `answered HTTP ${response.status}`, { status: String(response.status) }));
        return;
      }
      try {
        const doc = await response.json();
        if (doc?.index !== s.index) throw new VerificationError('it answered for another index');
        const partial = rec.checkAnswer(s, blinded, b64uDecode(doc.evaluated, 32, 'evaluated'), b64uDecode(doc.proof, 64, 'proof'));
        good.push(partial);
        if (Number.isSafeInteger(doc.attempts_left)) left.push(doc.attempts_left);
      } catch (e) {
        if (!(e instanceof ConsilienceError) && !(e instanceof SyntaxError)) throw e;
        failed(s, phrase('keyServer.unchecked', `gave an answer that does not check (${e.message})`, { detail: e.message }));
      }
    }));
    if (good.length < backup.threshold) {
      if (locked.length) throw new RecoveryLocked(locked[0].detail, locked);
      const reasons = failures.map((f) => namedReason(f.index, f.url, f.why));
      const named = reasons.join('; ');
      throw new RecoveryUnavailable(`Too few of the deployment's key servers answered (${good.length} of the ${backup.threshold} `
        + `needed), so your backup could not be opened. Nothing was changed. Try again in a while; if it keeps happening, tell `
        + `the administrator.${named ? ` (${named})` : ''}`, failures, backup.threshold, {
        code: named ? 'recovery.tooFewNamed' : 'recovery.tooFew',
        params: { answered: good.length, needed: backup.threshold, ...(named ? { reasons } : {}) },
      });
    }
    good.sort((a, b) => a.partial.index - b.partial.index);
    return { checked: { blind, good }, attemptsLeft: left.length ? Math.min(...left) : 0 };
  });

  const { wallet, key } = await step('open', async () => {
    const rwd = rec.combineRwd(hardened, checked.blind, checked.good, backup.threshold);
    hardened.fill(0);
    const k = rec.backupKey(rwd, deploymentId, hb);
    let bytes;
    try {
      bytes = rec.openBackupWallet(k, backup.wallet, deploymentId, hb, backup.version);
    } catch (e) {
      if (e instanceof DecryptionError) throw new WrongPassphrase(attemptsLeft);
      throw e;
    }
    const w = walletFromBytes(bytes);
    // The backup came from the escrow server: the wallet inside must pin the administrator that signed
    // the document in force, and be the account of this handle, or it is not taken.
    await verifyDeployment(published, b64uDecode(w.admin_fingerprint, 16, 'admin_fingerprint'), { minSerial: w.min_serial || 0 });
    const ids = walletIds(w);
    if (!bytesEqual(rec.handleBytes(deploymentId, accountKey(ids.seed)), hb) || !bytesEqual(ids.deploymentId, deploymentId)) {
      throw new VerificationError('the wallet in this backup is not the account of this handle; nothing was kept');
    }
    return { wallet: w, key: k };
  });
  wallet.backup_handle = written;
  wallet.backup_key = b64uEncode(key);
  wallet.backup_version = backup.version;
  wallet.backup_keys = rec.backupKeysJson(backup);
  wallet.backup_pending = false;
  wallet.server = serverBase || wallet.server;
  if (deployment.serial > (wallet.min_serial || 0)) wallet.min_serial = deployment.serial;

  const { seed, certificate } = walletIds(wallet);
  // The guesses counted so far were this person's own: set them back to zero at every key server.
  const notes = [];
  const resets = await Promise.all(servers.map((s) => postJson(call, `${s.url}/v2/recovery/reset`,
    rec.resetRequestJson(seed, certificate, deploymentId, s.identityKey, { now }), timeoutMs)
    .then((r) => r.status === 204 || r.status === 200).catch(() => false)));
  if (resets.some((ok) => !ok)) notes.push(phrase('recovery.note.resets', 'Some key servers could not be told that this recovery succeeded; that changes nothing for you.'));

  await step('signin', async () => {
    const signed = new EscrowApi(serverBase, null, { fetch: call });
    wallet.token = await reporterSignIn(seed, deploymentId)(signed);
  });
  const session = new EscrowApi(serverBase, wallet.token, { fetch: call, signIn: reporterSignIn(seed, deploymentId),
    onToken: (t) => { wallet.token = t; } });

  const escrowed = wallet.records.filter((r) => r.escrow);
  await step('receipts', async () => {
    for (const r of escrowed) {
      const e = r.escrow;
      try {
        const answer = await session.receipt(e.entry_id);
        e.status = answer.status;
        const text = await lateReceipt(session, answer); // the latest event may wait for the log's integrator
        if (text) {
          await checkReceipt(text, deployment, b64uDecode(e.entry_id, 16), answer.status === 'withdrawn' ? 'withdrawal' : 'entry');
          if (storeReceipt) await keepReceipt(e, text, answer.status === 'withdrawn' ? 'withdrawal' : 'entry', storeReceipt);
        }
      } catch (err) {
        if (!(err instanceof ConsilienceError)) throw err;
        notes.push(phrase('recovery.note.receipt', `The receipt of one record in escrow could not be checked now (${err.message}); it is in your wallet all the same.`,
          { reason: err.code && err.params ? phrase(err.code, err.message, err.params) : String(err.message) }));
      }
    }
  });
  return { wallet, deployment, records: wallet.records.length, escrowed: escrowed.length, notes };
}
