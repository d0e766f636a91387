// Receipts: C2SP tlog-proof files (protocol/receipt.py) checked in the browser
// the moment they arrive, against the log key from the administrator-signed
// deployment document and the leaf the reporter computes from its own
// submission (clients/receipts.py check, protocol/events.py).
import { sha256 } from '@noble/hashes/sha2.js';
import { InvalidInput, VerificationError } from '../errors.js';
import { b64uDecode, bytesEqual, concatBytes, i2osp } from '../protocol/encoding.js';
import { HASH_SIZE, MAX_PROOF_HASHES, leafHash, verifyInclusion } from './merkle.js';
import { b64decode, openCheckpoint, parseDecimal, parseSignedCheckpoint } from './signed_note.js';

export const HEADER = 'c2sp.org/tlog-proof@v1';
export const FILE_EXTENSION = '.tlog-proof';
const te = (s) => new TextEncoder().encode(s);

// --- events (protocol/events.py) ----------------------------------------------------

export const CONTENT_LABEL = concatBytes(te('consilience-v1 entry content'), Uint8Array.of(1));
export const KIND_NAMES = { 1: 'entry', 2: 'withdrawal', 3: 'release', 4: 'opening' };
const LEAF_SIZES = { 1: 16 + 32 + 8, 2: 16 + 8, 3: 16 + 4 + 8, 4: 16 + 16 + 8 };
const MAX_MILLIS = 253402300799999; // the end of year 9999, as Python's datetime

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** events.content_hash: SHA-256 over an unambiguous encoding; tag and envelope order ignored. */
export function contentHash(quorum, tags, body, envelopes) {
  const sortedTags = [...tags].sort(compareBytes);
  const sortedEnv = [...envelopes].sort((x, y) => compareBytes(x[0], y[0]) || compareBytes(x[1], y[1]));
  const parts = [CONTENT_LABEL, i2osp(quorum, 1), i2osp(sortedTags.length, 1), ...sortedTags,
    i2osp(body.length, 4), body, i2osp(sortedEnv.length, 1)];
  for (const [keyId, ciphertext] of sortedEnv) parts.push(keyId, i2osp(ciphertext.length, 4), ciphertext);
  return sha256(concatBytes(...parts));
}

/** clients/receipts.expected_content: the content hash of a submission payload exactly as sent. */
export function expectedContent(payload) {
  return contentHash(payload.quorum, payload.tags.map((t) => b64uDecode(t)), b64uDecode(payload.body),
    payload.envelopes.map((e) => [b64uDecode(e.key_id), b64uDecode(e.ciphertext)]));
}

/** events.parse_leaf: {kind, at: Date, atMillis, entryId?, contentHash?, matchId?, released?, counselorId?} */
export function parseLeaf(data) {
  if (!data.length || !(data[0] in KIND_NAMES)) throw new InvalidInput('unknown log leaf kind');
  const kind = data[0];
  const rest = data.slice(1);
  if (rest.length !== LEAF_SIZES[kind]) throw new InvalidInput('log leaf has the wrong length');
  const millis = new DataView(rest.buffer, rest.byteOffset + rest.length - 8, 8).getBigUint64(0);
  if (millis > BigInt(MAX_MILLIS)) throw new InvalidInput('log leaf time is out of range');
  const at = new Date(Number(millis));
  const event = { kind: KIND_NAMES[kind], at, atMillis: Number(millis) };
  if (kind === 1) return { ...event, entryId: rest.slice(0, 16), contentHash: rest.slice(16, 48) };
  if (kind === 2) return { ...event, entryId: rest.slice(0, 16) };
  if (kind === 3) return { ...event, matchId: rest.slice(0, 16), released: new DataView(rest.buffer, rest.byteOffset + 16, 4).getUint32(0) };
  return { ...event, matchId: rest.slice(0, 16), counselorId: rest.slice(16, 32) };
}

// --- tlog-proof ---------------------------------------------------------------------

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

