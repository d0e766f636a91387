// Receipts on the reporter's side (clients/receipts.py): the content hash of a
// submission exactly as sent, the check of a fresh receipt against the event we
// caused, and the file name the CLI keeps a receipt under.
import { VerificationError } from '../errors.js';
import { b64uDecode, bytesEqual } from '../protocol/encoding.js';
import { contentHash, parseLeaf } from '../protocol/events.js';
import { FILE_EXTENSION, parseReceipt, verifyReceipt } from '../tlog/receipt.js';

/** clients/receipts.expected_content: the content hash of a submission payload exactly as sent. */
export function expectedContent(payload) {
  return contentHash(payload.quorum, payload.tags.map((t) => b64uDecode(t)), b64uDecode(payload.body),
    payload.envelopes.map((e) => [b64uDecode(e.key_id), b64uDecode(e.ciphertext)]));
}

/**
 * clients/receipts.check: verify a fresh receipt against the deployment's log key and
 * origin, and that its leaf is the event we caused (`kind` "entry" or "withdrawal", our
 * entry id, and for entries the content hash of what we sent, see expectedContent).
 * Returns the verification plus {event} (kind, at: Date, ...).
 */
export function checkReceipt(text, deployment, entryId, kind, content = null) {
  const result = verifyReceipt(text, deployment.log.vkey, { origin: deployment.log.origin });
  const event = parseLeaf(result.leaf);
  if (event.kind !== kind || !event.entryId || !bytesEqual(event.entryId, entryId)) {
    throw new VerificationError(`the receipt is for another event (${event.kind})`);
  }
  if (content !== null && content !== undefined && !bytesEqual(event.contentHash, content)) {
    throw new VerificationError('the receipt commits to different content than was submitted');
  }
  return { ...result, event };
}

/** The file name the CLI gives a receipt: <entry id b64u>-<kind>-<index>.tlog-proof */
export function receiptFileName(text, entryIdB64u, kind) {
  return `${entryIdB64u}-${kind}-${parseReceipt(text).index}${FILE_EXTENSION}`;
}
