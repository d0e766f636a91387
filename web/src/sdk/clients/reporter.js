// What a reporter does to put a record in escrow (clients/reporter.py escrow,
// retry_pending, _send_pending), as plain functions for the web app: no DOM,
// no storage of its own. The caller hands over a session:
//
//   wallet        the unlocked wallet document (clients/wallet.js); its records change in place
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
// A submission is kept in the wallet (escrow.pending) before it is sent and only cleared once
// the server's answer is in, so an answer that is lost is resent byte for byte: the server
// takes identical bytes as the same submission, never as a second one.
import { InvalidInput } from '../errors.js';
import { b64uDecode, b64uEncode } from '../protocol/encoding.js';
import { sealEntry, submissionPayload } from '../protocol/entry.js';
import { fetchDeployment } from './api.js';
import { evaluate } from './oprf_client.js';
import { checkReceipt, expectedContent, receiptFileName } from './receipts.js';

export const SEND_STEPS = Object.freeze(['send', 'receipt', 'save']);
export const RESEND_STEPS = Object.freeze(['deployment', ...SEND_STEPS]);
export const ESCROW_STEPS = Object.freeze(['deployment', 'token', 'oprf', 'seal', 'keep', ...SEND_STEPS]);

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
  escrowState.receipts = escrowState.receipts || [];
  if (!escrowState.receipts.includes(name)) escrowState.receipts.push(name);
  return name;
}

/**
 * Send a record's kept submission (escrow.pending) exactly as kept, check the receipt that
 * comes back against it and the deployment's log key, keep the receipt, record the server's
 * answer and save the wallet. Steps: send, receipt, save. Returns the record.
 */
export async function sendPending(session, record, deployment, { onStep = NO_PROGRESS, earlier = false } = {}) {
  const e = record.escrow;
  if (!e?.pending) throw new InvalidInput('this record has no submission waiting to be sent');
  const detail = { record, earlier };
  const answer = await step(onStep, 'send', detail, () => (e.pending_replace
    ? session.api.replace(b64uDecode(e.entry_id, 16), e.pending) : session.api.submit(e.pending)));
  if (answer.receipt) {
    await step(onStep, 'receipt', detail, async () => {
      await checkReceipt(answer.receipt, deployment, b64uDecode(e.entry_id, 16), 'entry', expectedContent(e.pending));
      await keepReceipt(e, answer.receipt, 'entry', session.storeReceipt);
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
 * Returns the record; record.escrow.status is the server's answer ("escrowed" or "released").
 * If it throws once the submission is kept, record.escrow.pending holds it for resend().
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
    throw new InvalidInput(`This record is ${previous.status}; it can no longer be changed.`);
  }
  const access = await step(onStep, 'token', detail, () => session.api.keyserverToken());
  const outputs = await step(onStep, 'oprf', detail, () => evaluate(d, identifiers.map((i) => i.oprfInput),
    b64uDecode(access.token), { fetch: session.fetch }));
  const sealed = await step(onStep, 'seal', detail, async () => sealEntry({
    deployment: d, accountId: b64uDecode(session.wallet.account_id, 16), identifiers,
    oprfOutputs: outputs.outputs, record: record.text, contact: session.wallet.contact, writtenAt: record.written_at,
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
  return sendPending(session, record, d, { onStep });
}
