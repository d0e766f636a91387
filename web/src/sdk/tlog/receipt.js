// Receipts: C2SP tlog-proof files (tlog/receipt.py), an inclusion proof of one
// leaf with the log's signed checkpoint, checked against the log key from the
// administrator-signed deployment document. Which event a leaf records is the
// escrow's own format (protocol/events.js); checking a fresh receipt against
// what was submitted is clients/receipts.js.
import { InvalidInput, VerificationError } from '../errors.js';
import { bytesEqual } from '../protocol/encoding.js';
import { HASH_SIZE, MAX_PROOF_HASHES, leafHash, verifyInclusion } from './merkle.js';
import { b64decode, openCheckpoint, parseDecimal, parseSignedCheckpoint } from './signed_note.js';

export const HEADER = 'c2sp.org/tlog-proof@v1';
export const FILE_EXTENSION = '.tlog-proof';

/** Strict parse (receipt.parse_receipt): {index: BigInt, proof, checkpoint, extra}. */
export function parseReceipt(text) {
  if (text instanceof Uint8Array) {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(text);
    } catch {
      throw new InvalidInput('receipt is not valid UTF-8');
    }
  }
  if (typeof text !== 'string') throw new InvalidInput('a receipt is text');
  const end = text.indexOf('\n\n');
  if (end < 0) throw new InvalidInput('receipt has no empty line before its checkpoint');
  const head = text.slice(0, end).split('\n');
  const checkpoint = text.slice(end + 2);
  if (head[0] !== HEADER) throw new InvalidInput(`receipt must start with ${HEADER}`);
  let pos = 1;
  let extra = null;
  if (pos < head.length && head[pos].startsWith('extra ')) {
    extra = b64decode(head[pos].slice('extra '.length), 'extra data');
    if (!extra.length) throw new InvalidInput('empty extra data must be written by omitting the extra line');
    pos += 1;
  }
  if (pos >= head.length || !head[pos].startsWith('index ')) throw new InvalidInput('receipt has no index line');
  const index = parseDecimal(head[pos].slice('index '.length), 'leaf index');
  const proofLines = head.slice(pos + 1);
  if (proofLines.length > MAX_PROOF_HASHES) throw new InvalidInput('receipt inclusion proof is too long');
  const proof = proofLines.map((line, n) => {
    const h = b64decode(line, `proof hash ${n}`);
    if (h.length !== HASH_SIZE) throw new InvalidInput(`proof hash ${n} must be 32 bytes`);
    return h;
  });
  parseSignedCheckpoint(checkpoint);
  return { index, proof, checkpoint, extra };
}

/**
 * receipt.verify_receipt without a witness policy or consistency anchor: the
 * checkpoint's signature by `logVkey`, its origin, and the leaf's inclusion.
 * Returns {origin, index, treeSize, rootHash, leaf, leafHash, cosignatures}.
 */
export function verifyReceipt(text, logVkey, { leaf = null, origin = null, witnessVkeys = [] } = {}) {
  let receipt;
  try {
    receipt = parseReceipt(text);
  } catch (exc) {
    if (exc instanceof InvalidInput) throw new VerificationError(`malformed receipt: ${exc.message}`);
    throw exc;
  }
  const signed = openCheckpoint(receipt.checkpoint, logVkey, { origin, witnessVkeys });
  const head = signed.checkpoint;
  if (leaf !== null && receipt.extra !== null && !bytesEqual(leaf, receipt.extra)) {
    throw new VerificationError("the receipt's leaf data is not the expected leaf");
  }
  const data = leaf ?? receipt.extra;
  if (data === null) throw new VerificationError('receipt carries no leaf data and none was given');
  const hash = leafHash(data);
  verifyInclusion(hash, receipt.index, head.size, receipt.proof, head.rootHash);
  return {
    origin: head.origin, index: receipt.index, treeSize: head.size, rootHash: head.rootHash, leaf: data,
    leafHash: hash, cosignatures: signed.cosignatures,
  };
}
