// Receipts on the reporter's side (clients/receipts.py), protocol v2: the content hash of a
// submission exactly as sent, the check of a fresh receipt against the event we caused, and the
// file name the CLI keeps a receipt under. The log's leaves are commitments that hide their kind
// (protocol/events.js); a receipt's extra line carries the leaf's opening (nonce ‖ event), from
// which the leaf is recomputed and the inclusion proof checked for it.
import { InvalidInput, VerificationError } from '../errors.js';
import { b64uDecode, bytesEqual } from '../protocol/encoding.js';
import { contentHash, parseEvent, parseOpening } from '../protocol/events.js';
import { FILE_EXTENSION, parseReceipt, verifyReceipt } from '../tlog/receipt.js';

/** clients/receipts.expected_content: the content hash of a submission payload exactly as sent. */
export function expectedContent(payload) {
  return contentHash(payload.quorum, payload.tags.map((t) => b64uDecode(t)), b64uDecode(payload.body),
    payload.envelopes.map((e) => [b64uDecode(e.key_id), b64uDecode(e.ciphertext)]));
}

/** The receipt without its extra line (what the inclusion proof is checked on, with the recomputed leaf). */
function bare(text) {
  const cut = text.indexOf('\n\n');
  const head = cut < 0 ? text : text.slice(0, cut);
  return head.split('\n').filter((line) => !line.startsWith('extra ')).join('\n') + (cut < 0 ? '' : text.slice(cut));
}

/**
 * clients/receipts.open_receipt: verify a v2 receipt, whose extra line must open the leaf its
 * inclusion proof is for. Returns verifyReceipt's result plus {event, opening}.
 */
export function openReceipt(text, logVkey, { origin = null, witnessVkeys = [] } = {}) {
  let parsed;
  try {
    parsed = parseReceipt(text);
  } catch (exc) {
    if (!(exc instanceof InvalidInput)) throw exc;
    throw new VerificationError(`malformed receipt: ${exc.message}`);
  }
  if (parsed.extra === null) {
    throw new VerificationError('the receipt carries no opening of its leaf (is it from a protocol v1 server?)');
  }
  let opening;
  try {
    opening = parseOpening(parsed.extra);
  } catch (exc) {
    if (!(exc instanceof InvalidInput)) throw exc;
    throw new VerificationError(`the receipt's leaf opening is malformed: ${exc.message}`);
  }
  const result = verifyReceipt(bare(text), logVkey, { leaf: opening.leaf, origin, witnessVkeys });
  return { ...result, event: parseEvent(opening.event), opening };
}

/**
 * clients/receipts.check: verify a fresh receipt against the deployment's log key and
 * origin, and that its leaf is the event we caused (`kind` "entry" or "withdrawal", our
 * entry id, and for entries the content hash of what we sent, see expectedContent).
 * Returns the verification plus {event} (kind, at: Date, ...) and {opening}.
 */
export function checkReceipt(text, deployment, entryId, kind, content = null) {
  const opened = openReceipt(text, deployment.log.vkey, { origin: deployment.log.origin });
  const { event } = opened;
  if (event.kind !== kind || !event.entryId || !bytesEqual(event.entryId, entryId)) {
    throw new VerificationError(`the receipt is for another event (${event.kind})`);
  }
  if (content !== null && content !== undefined && !bytesEqual(event.contentHash, content)) {
    throw new VerificationError('the receipt commits to different content than was submitted');
  }
  return opened;
}

/** The file name the CLI gives a receipt: <entry id b64u>-<kind>-<index>.tlog-proof */
export function receiptFileName(text, entryIdB64u, kind) {
  return `${entryIdB64u}-${kind}-${parseReceipt(text).index}${FILE_EXTENSION}`;
}
