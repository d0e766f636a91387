// What a reporter does to put a record in escrow (clients/reporter.py escrow,
// retry_pending, _send_pending), as plain functions for the web app: no DOM,
// no storage of its own. The caller hands over a session:
//
//   wallet        the unlocked wallet document (clients/wallet.js, v2: it holds the account's seed
//                 and the administrator's certificate, which sign the key-server requests); its
//                 records change in place
//   api           an EscrowApi for the wallet's server and token
//   deployment    async () => the verified deployment (walletDeployment fetches and checks it)
//   save          async () => keep the wallet, so a change survives a reload
//   storeReceipt  async (fileName, text) => keep a receipt file
//   fetch         optional fetch for the key servers (default globalThis.fetch)
//
// and follows the progress through onStep(step, state, {record, earlier}): step is one of
// ESCROW_STEPS, state 'start', 'done' or 'failed' (a step with nothing to do is only 'done');
// `earlier` marks the steps of an earlier, unconfirmed submission that escrow() sends first.
// Errors are thrown as they come (ApiError, KeyServerUnavailable, VerificationError, InvalidInput).
//
// Reporters see "escrowed" (in escrow) or "withdrawn", never whether anyone else named the same
// person (protocol v2). A 409 `already_named` answer (this account already has an active entry
// under one of the names) is thrown as the ApiError; the page offers to add the names to the
// existing record instead (namedElsewhere finds it).
//
// A submission is kept in the wallet (escrow.pending) before it is sent and only cleared once
// the server's answer is in, so an answer that is lost is resent byte for byte: the server
// takes identical bytes as the same submission, never as a second one.
import { InvalidInput } from '../errors.js';
import { b64uDecode, b64uEncode } from '../protocol/encoding.js';
import { sealEntry, submissionPayload } from '../protocol/entry.js';
import { accountKey, registrationProof, verifyCertificate } from '../protocol/accounts.js';
import { parseInvite } from '../protocol/invites.js';
import { ApiError, EscrowApi, fetchDeployment } from './api.js';
import { newWallet } from './wallet.js';
import { messagingKeyPair, newMessageSeed } from '../protocol/conversations.js';
import { Identifier, normalise } from '../protocol/identifiers.js';
import { evaluate } from './oprf_client.js';
import { checkReceipt, expectedContent, receiptFileName } from './receipts.js';
import { parseEvent, parseOpening } from '../protocol/events.js';
import { parseReceipt } from '../tlog/receipt.js';

export const SEND_STEPS = Object.freeze(['send', 'receipt', 'save']);
export const RESEND_STEPS = Object.freeze(['deployment', ...SEND_STEPS]);
export const ESCROW_STEPS = Object.freeze(['deployment', 'oprf', 'seal', 'keep', ...SEND_STEPS]);

const NO_PROGRESS = () => {};

async function step(onStep, name, detail, fn) {
  onStep(name, 'start', detail);
  try {
    const out = await fn();
    onStep(name, 'done', detail);
    return out;
  } catch (err) {
    onStep(name, 'failed', detail);
    throw err;
  }
}

/**
 * The wallet's deployment, fetched from its server (or `server` if the wallet names none) and
 * verified against its pinned administrator fingerprint and last serial; the wallet's
 * min_serial moves up to it (not saved here).
 */
export async function walletDeployment(wallet, { server = '', fetch = undefined } = {}) {
  const d = await fetchDeployment(wallet.server || server, b64uDecode(wallet.admin_fingerprint, 16),
    wallet.min_serial || 0, { fetch });
  if (d.serial > (wallet.min_serial || 0)) wallet.min_serial = d.serial;
  return d;
}

/** Keep a receipt (storeReceipt) under the CLI's file name and list it in the escrow state; returns the name. */
export async function keepReceipt(escrowState, text, kind, storeReceipt) {
  const name = receiptFileName(text, escrowState.entry_id, kind);
  await storeReceipt(name, text);
  // A wallet made by the command line lists its receipts by file path; the same receipt fetched here is
  // held by this browser under its bare name and takes that path's place, so it is listed once.
  const kept = escrowState.receipts || [];
  const at = kept.findIndex((path) => path.split('/').pop() === name);
  if (at < 0) kept.push(name); else kept[at] = name;
  escrowState.receipts = kept;
  return name;
}

/**
 * Milliseconds between the asks for a receipt that was not ready with the answer (PROTOCOL.md §11,
 * clients/reporter.py RECEIPT_POLL_DELAYS): about three seconds in all.
 */
export const RECEIPT_POLL_DELAYS = Object.freeze([100, 200, 400, 800, 1600]);

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/**
 * The answer's receipt or, while its event is only sequenced (`sequenced: true`, receipt null), the one
 * GET /v2/entries/{id}/receipt gives once the log integrated it; null if that takes longer (the entry
 * stands all the same; refresh fetches the receipt later). Never sends the submission again.
 */
export async function lateReceipt(api, answer, { delays = RECEIPT_POLL_DELAYS, sleep = pause } = {}) {
  if (answer.receipt || !answer.sequenced) return answer.receipt ?? null;
  for (const ms of delays) {
    await sleep(ms);
    const again = await api.receipt(answer.entry_id);
    if (again.receipt || !again.sequenced) return again.receipt ?? null;
  }
  return null;
}

/**
 * Send a record's kept submission (escrow.pending) exactly as kept, check the receipt that
 * comes back against it and the deployment's log key, keep the receipt, record the server's
 * answer and save the wallet. Steps: send, receipt, save. Returns the record.
 */
export async function sendPending(session, record, deployment, { onStep = NO_PROGRESS, earlier = false } = {}) {
  const e = record.escrow;
  if (!e?.pending) throw new InvalidInput('this record has no submission waiting to be sent', { code: 'record.nothingPending' });
  const detail = { record, earlier };
  const answer = await step(onStep, 'send', detail, () => (e.pending_replace
    ? session.api.replace(b64uDecode(e.entry_id, 16), e.pending) : session.api.submit(e.pending)));
  if (answer.receipt || answer.sequenced) {
    await step(onStep, 'receipt', detail, async () => {
      const text = await lateReceipt(session.api, answer);
      if (!text) return; // not integrated within the wait: refresh fetches it later
      await checkReceipt(text, deployment, b64uDecode(e.entry_id, 16), 'entry', expectedContent(e.pending));
      await keepReceipt(e, text, 'entry', session.storeReceipt);
    });
  } else onStep('receipt', 'done', detail);
  e.status = answer.status;
  e.received_at = answer.received_at ?? answer.receivedAt ?? '';
  e.pending = null;
  e.pending_replace = false;
  await step(onStep, 'save', detail, () => session.save());
  return record;
}

/** Send an unconfirmed submission again (same bytes). Steps: RESEND_STEPS. Returns the record. */
export async function resend(session, record, { onStep = NO_PROGRESS } = {}) {
  const d = await step(onStep, 'deployment', { record, earlier: false }, () => session.deployment());
  return sendPending(session, record, d, { onStep });
}

/**
 * Send every unconfirmed submission of the wallet again (same bytes, so never counted twice),
 * one record after another (SEND_STEPS each, detail.record tells which). Returns the records
 * sent, [] when none was waiting (then nothing is fetched).
 */
export async function finishPending(session, { onStep = NO_PROGRESS } = {}) {
  const waiting = session.wallet.records.filter((r) => r.escrow?.pending);
  if (!waiting.length) return [];
  const d = await session.deployment();
  for (const r of waiting) await sendPending(session, r, d, { onStep });
  return waiting;
}

/**
 * Put a private record in escrow naming `identifiers` (normalised, protocol/identifiers.js, in
 * the order given), or re-seal an escrowed one with the names now given (same entry id and
 * body key, replaced on the server). An earlier unconfirmed submission of the record is sent
 * first. Steps: ESCROW_STEPS. `quorum`: null for the record's own (or the deployment's).
 * Returns the record; record.escrow.status is the server's answer ("escrowed").
 * If it throws once the submission is kept, record.escrow.pending holds it for resend(), unless the
 * server refused it for good (a 4xx other than 408/425/429, e.g. 409 already_named): then the record
 * is put back as it was (and saved).
 */
export async function escrow(session, record, identifiers, { quorum = null, onStep = NO_PROGRESS } = {}) {
  const detail = { record, earlier: false };
  const d = await step(onStep, 'deployment', detail, () => session.deployment());
  if (record.escrow?.pending) {
    // An earlier submission was never acknowledged: send it first, byte for byte.
    await sendPending(session, record, d, { onStep, earlier: true });
  }
  const previous = record.escrow;
  if (previous && previous.status !== 'escrowed') {
    throw new InvalidInput(`This record is ${previous.status}; it can no longer be changed.`, { code: 'record.final', params: { status: previous.status } });
  }
  const account = walletAccount(session.wallet);
  const outputs = await step(onStep, 'oprf', detail, () => evaluate(d, identifiers.map((i) => i.oprfInput),
    account, { fetch: session.fetch }));
  const sealed = await step(onStep, 'seal', detail, async () => sealEntry({
    messagingKey: await walletMessagingKey(session),
    deployment: d, identifiers, oprfOutputs: outputs.outputs, quorumShares: outputs.shares, record: record.text, contact: session.wallet.contact, writtenAt: record.written_at,
    details: record.details, attachments: record.attachments,
    quorum: quorum ?? (previous ? previous.quorum : null),
    entryId: previous ? b64uDecode(previous.entry_id, 16) : null,
    bodyKey: previous ? b64uDecode(previous.body_key, 32) : null,
  }));
  const payload = submissionPayload(sealed);
  const replace = Boolean(previous && previous.status === 'escrowed');
  // Keep the exact submission before sending: a lost answer is resent byte for byte.
  await step(onStep, 'keep', detail, async () => {
    record.escrow = {
      entry_id: b64uEncode(sealed.entryId), identifiers: identifiers.map((i) => i.typed),
      canonical: identifiers.map((i) => i.canonical), quorum: sealed.quorum, body_key: b64uEncode(sealed.bodyKey),
      status: 'sending', received_at: '', pending: payload, pending_replace: replace,
      receipts: previous?.receipts || [],
    };
    await session.save();
  });
  try {
    return await sendPending(session, record, d, { onStep });
  } catch (err) {
    if (definitive(err)) { // the server stored nothing of it: the record stands as before
      record.escrow = previous ?? null;
      await session.save();
    }
    throw err;
  }
}

/**
 * The wallet's messaging key (PROTOCOL.md §13.1), which every entry it seals carries so that a counselor can
 * write to the reporter once the entry is released. A wallet made before messaging gets its seed here (saved
 * at once) and its key registered with the server (PUT /v2/account/message-key); a registration that fails
 * is tried again next time, and does not hold up the entry.
 */
export async function walletMessagingKey(session) {
  const w = session.wallet;
  if (!w.message_seed) {
    w.message_seed = b64uEncode(newMessageSeed());
    w.message_key_registered = false;
    await session.save();
  }
  const pair = await messagingKeyPair(b64uDecode(w.message_seed, 32, 'message seed'));
  if (!w.message_key_registered && session.api?.putMessageKey) {
    try {
      await session.api.putMessageKey(pair.key);
      w.message_key_registered = true;
      await session.save();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
    }
  }
  return pair.key;
}

/** The names a record in escrow has, as Identifiers (typed as the reporter typed them), to seal it again. */
export function storedNames(record) {
  return record.escrow.canonical.map((c, i) => {
    const n = normalise(c);
    return new Identifier(n.kind, n.value, record.escrow.identifiers[i] ?? c);
  });
}

/**
 * The escrowed records whose entry has no envelope for some counselor of the document in force, from the
 * entry list's `sealed_for` (clients/reporter.py _lacking_envelopes). An answer without `sealed_for` (a
 * server from before) says nothing, so nothing is sealed again on its account.
 */
export function lackingEnvelopes(wallet, listed, deployment) {
  const wanted = deployment.counselors.map((c) => b64uEncode(c.keyId));
  return wallet.records.filter((r) => {
    const e = r.escrow;
    const entry = e && listed.get(e.entry_id);
    if (!entry || e.status !== 'escrowed' || e.pending || !Array.isArray(entry.sealed_for)) return false;
    return wanted.some((k) => !entry.sealed_for.includes(k));
  });
}

/**
 * Pull each escrowed entry's status into the wallet, and seal again (same record, names, quorum, entry id and
 * body key; a replacement) any entry a counselor of the document in force cannot open: one added after it was
 * escrowed, or all it was sealed to revoked (PROTOCOL.md §13.6, clients/reporter.py refreshed). This depends
 * only on the document and the entry's own envelopes, never on whether anyone else named the same person.
 * Returns {changed (a status moved), resealed: [record], notResealed: Map record id -> why (tried again next time)}.
 */
export async function refresh(session, { onStep = NO_PROGRESS } = {}) {
  const listed = new Map((await session.api.entries()).map((e) => [e.entry_id, e]));
  let changed = false;
  for (const r of session.wallet.records) {
    const s = r.escrow && listed.get(r.escrow.entry_id)?.status;
    if (s && r.escrow.status !== s && !r.escrow.pending) {
      r.escrow.status = s;
      changed = true;
    }
  }
  if (await fetchMissingReceipts(session, listed)) changed = true;
  if (changed) await session.save();
  const resealed = [];
  const notResealed = new Map();
  if (!session.wallet.records.some((r) => r.escrow?.status === 'escrowed')) return { changed, resealed, notResealed };
  const lacking = lackingEnvelopes(session.wallet, listed, await session.deployment());
  for (const record of lacking) {
    try {
      await escrow(session, record, storedNames(record), { quorum: record.escrow.quorum, onStep });
      resealed.push(record);
    } catch (err) {
      notResealed.set(record.record_id, err?.message ?? String(err));
    }
  }
  return { changed, resealed, notResealed };
}

/**
 * Receipts that were not ready when their answer came (lateReceipt): an escrowed record with no receipt
 * of its latest version (none at all, or only the versions before an edit: hasReceiptOf), a withdrawn
 * one with no withdrawal receipt, fetched and checked now if the log has them. Returns whether any was kept.
 */
async function fetchMissingReceipts(session, listed) {
  let kept = false;
  for (const r of session.wallet.records) {
    const e = r.escrow;
    if (!e || e.pending || !listed.has(e.entry_id)) continue;
    const kind = e.status === 'withdrawn' ? 'withdrawal' : 'entry';
    if (await hasReceiptOf(session, e.receipts || [], kind, listed.get(e.entry_id).updated_at)) continue;
    const answer = await session.api.receipt(e.entry_id);
    if (!answer.receipt) continue;
    await checkReceipt(answer.receipt, await session.deployment(), b64uDecode(e.entry_id, 16), kind);
    await keepReceipt(e, answer.receipt, kind, session.storeReceipt);
    kept = true;
  }
  return kept;
}

/**
 * clients/reporter.py _has_receipt_of: whether a kept receipt of `kind` is for the entry's latest change.
 * A withdrawal's, if any; an entry's, if its event's time (milliseconds) is the entry's updated_at, which
 * an edit moves (an edit answered without its receipt left only the earlier version's). Reading kept
 * receipts back needs session.loadReceipt(name); a session without it goes by their names alone.
 */
async function hasReceiptOf(session, names, kind, updatedAt) {
  const named = names.filter((name) => name.includes(`-${kind}-`));
  if (kind !== 'entry' || !session.loadReceipt || !named.length) return named.length > 0;
  const changed = Date.parse(updatedAt);
  for (const name of named) {
    const text = await session.loadReceipt(name);
    if (!text) continue;
    let at;
    try {
      const { extra } = parseReceipt(text);
      at = extra === null ? null : parseEvent(parseOpening(extra).event).atMillis;
    } catch (err) {
      if (err instanceof InvalidInput) continue; // unreadable: fetched again
      throw err;
    }
    if (at !== null && changed - at < 1) return true;
  }
  return false;
}

/** A refusal of these exact bytes that sending them again cannot change (not a lost answer, not a wait). */
export function definitive(err) {
  return err instanceof ApiError && err.status >= 400 && err.status < 500 && ![408, 425, 429].includes(err.status);
}

/** The wallet's account credential {seed, certificate} (bytes); InvalidInput for a wallet without one. */
export function walletAccount(wallet) {
  if (!wallet.account_seed || !wallet.certificate) {
    throw new InvalidInput('this wallet holds no account key; register again with a new invite', { code: 'wallet.noAccountKey' });
  }
  return { seed: b64uDecode(wallet.account_seed, 32, 'account seed'), certificate: b64uDecode(wallet.certificate, 120, 'certificate') };
}

/**
 * Register with a v2 invite (clients/reporter.py register): pin the administrator from the invite,
 * fetch and verify the deployment, prove the invite's account key (POST /v2/register {account_key,
 * proof}), check the administrator's certificate that comes back, and return a new wallet holding
 * the account's seed and certificate and a new messaging seed whose key the server now holds (not saved here)
 * with the verified deployment:
 * {wallet, deployment}. Registration spends the invite.
 */
export async function register(server, inviteText, contact, { fetch = undefined } = {}) {
  const invite = parseInvite(inviteText);
  const d = await fetchDeployment(server, invite.adminFingerprint, 0, { fetch });
  const key = accountKey(invite.seed);
  const api = new EscrowApi(server, null, fetch ? { fetch } : {});
  const messageSeed = newMessageSeed();
  const messaging = await messagingKeyPair(messageSeed);
  const answer = await api.register(key, registrationProof(invite.seed, d.deploymentId), messaging.key);
  const certificate = b64uDecode(answer.certificate, 120, 'certificate');
  const cert = verifyCertificate(d.adminKey, d.deploymentId, certificate);
  if (cert.accountKey.some((b, i) => b !== key[i])) throw new InvalidInput("the server's certificate is for another account key", { code: 'account.otherCertificate' });
  const wallet = newWallet({
    server, adminFingerprint: invite.adminFingerprint, accountId: answer.accountId, token: answer.token, contact,
    accountSeed: invite.seed, certificate, minSerial: d.serial, messageSeed, messageKeyRegistered: true,
  });
  return { wallet, deployment: d };
}

/**
 * The wallet's escrowed records that already name one of `identifiers` (by canonical form), for
 * the answer to a 409 `already_named`: [{record, names: [canonical]}].
 */
export function namedElsewhere(wallet, identifiers, { except = null } = {}) {
  const wanted = new Set(identifiers.map((i) => i.canonical));
  const out = [];
  for (const r of wallet.records) {
    if (r === except || !r.escrow || r.escrow.status === 'withdrawn') continue;
    const names = (r.escrow.canonical || []).filter((c) => wanted.has(c));
    if (names.length) out.push({ record: r, names });
  }
  return out;
}
