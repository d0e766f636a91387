// A newer checkpoint bundled with the consistency proof from an older size (tlog/consistency.py):
//
//   consilience-v1/consistency
//   old <decimal size>
//   <base64 hash>            (zero or more, RFC 9162 consistency proof)
//                            (empty line)
//   <signed checkpoint, verbatim, with its cosignature lines>
//
// A receipt proves a leaf is in the tree the log signed at its size; this bundle proves, offline,
// that a newer checkpoint (one a witness cosigned) still contains that tree, so the witness's
// cosignature time bounds when the leaf was there.
import { InvalidInput, VerificationError } from '../errors.js';
import { b64Encode } from '../protocol/encoding.js';
import { verifyConsistency } from './merkle.js';
import { b64decode, openCheckpoint, parseDecimal, parseSignedCheckpoint } from './signed_note.js';

export const HEADER = 'consilience-v1/consistency';

/** Strict parse, as consistency.parse: {oldSize: BigInt, proof: [32-byte hashes], checkpoint: note text}. */
export function parseConsistency(text) {
  if (typeof text !== 'string' || !text.startsWith(`${HEADER}\n`)) {
    throw new InvalidInput(`not a consistency bundle (it should start with '${HEADER}')`);
  }
  const cut = text.indexOf('\n\n');
  const note = cut < 0 ? '' : text.slice(cut + 2);
  if (!note) throw new InvalidInput('consistency bundle lacks its checkpoint');
  const lines = text.slice(0, cut).split('\n').slice(1);
  if (!lines.length || !lines[0].startsWith('old ')) throw new InvalidInput("consistency bundle lacks its 'old' line");
  const oldSize = parseDecimal(lines[0].slice(4), 'old size');
  const proof = lines.slice(1).map((line) => {
    let value;
    try {
      value = b64decode(line, 'proof line');
    } catch {
      throw new InvalidInput('consistency bundle: a proof line is not base64');
    }
    if (value.length !== 32) throw new InvalidInput('consistency bundle: a proof line is not a 32-byte hash');
    return value;
  });
  parseSignedCheckpoint(note);
  return { oldSize, proof, checkpoint: note };
}

/** The bundle's text (ConsistencyBundle.encode). */
export function encodeConsistency(oldSize, proof, checkpoint) {
  return [HEADER, `old ${oldSize}`, ...proof.map(b64Encode)].join('\n') + '\n\n' + checkpoint;
}

/**
 * Check a bundle against a verified older tree (`oldSize`, `oldRoot`): its old size is that size, its
 * checkpoint is signed by `logVkey` (with `origin`), and the proof leads from the old root to the new one.
 * Returns openCheckpoint's result ({checkpoint, note, cosignatures of the listed witnesses}) plus {proof}.
 */
export function openConsistency(text, logVkey, oldSize, oldRoot, { origin = null, witnessVkeys = [] } = {}) {
  let bundle;
  try {
    bundle = parseConsistency(text);
  } catch (exc) {
    if (exc instanceof InvalidInput) throw new VerificationError(`malformed consistency bundle: ${exc.message}`);
    throw exc;
  }
  if (bundle.oldSize !== BigInt(oldSize)) {
    throw new VerificationError(`the bundle starts at size ${bundle.oldSize}, not at the receipt's size ${oldSize}`);
  }
  const newer = openCheckpoint(bundle.checkpoint, logVkey, { origin, witnessVkeys });
  verifyConsistency(bundle.oldSize, newer.checkpoint.size, bundle.proof, oldRoot, newer.checkpoint.rootHash);
  return { ...newer, proof: bundle.proof };
}
