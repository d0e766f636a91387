// What the transparency log records, protocol v2 (protocol/events.py): every leaf is a
// commitment SHA-256("consilience-v2 log leaf" ‖ nonce ‖ event) to one event, so the public
// cannot tell an entry from a withdrawal, a release, an opening or padding; whoever holds the
// opening (nonce ‖ event, a receipt's extra line) recomputes the leaf and reads the event. The
// content hash an entry's event commits to is computed from the submission exactly as sent.
import { sha256 } from '@noble/hashes/sha2.js';
import { InvalidInput } from '../errors.js';
import { concatBytes, i2osp } from './encoding.js';

const te = (s) => new TextEncoder().encode(s);

export const CONTENT_LABEL = concatBytes(te('consilience-v2 entry content'), Uint8Array.of(1));
export const LEAF_LABEL = te('consilience-v2 log leaf');
export const NONCE_BYTES = 32;
export const KIND_NAMES = { 1: 'entry', 2: 'withdrawal', 3: 'release', 4: 'opening', 5: 'padding', 6: 'revocation' };
const SIZES = { 1: 16 + 32 + 8, 2: 16 + 8, 3: 16 + 4 + 8, 4: 16 + 16 + 8, 5: 8, 6: 1 + 32 + 8 + 8 };
const REVOKED_NAMES = { 1: 'account', 2: 'counselor', 3: 'witness', 4: 'key server' };
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

/** events.commit: the leaf the log stores for an event and its nonce. */
export function commit(nonce, event) {
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) throw new InvalidInput(`expected ${NONCE_BYTES} bytes`);
  return sha256(concatBytes(LEAF_LABEL, nonce, event));
}

/** events.parse_event: {kind, at: Date, atMillis, entryId?, contentHash?, matchId?, released?, counselorId?,
 *  revoked?, subject?, serial?} */
export function parseEvent(data) {
  if (!data.length || !(data[0] in KIND_NAMES)) throw new InvalidInput('unknown log event kind');
  const kind = data[0];
  const rest = data.slice(1);
  if (rest.length !== SIZES[kind]) throw new InvalidInput('log event has the wrong length');
  const millis = new DataView(rest.buffer, rest.byteOffset + rest.length - 8, 8).getBigUint64(0);
  if (millis > BigInt(MAX_MILLIS)) throw new InvalidInput('log event time is out of range');
  const at = new Date(Number(millis));
  const event = { kind: KIND_NAMES[kind], at, atMillis: Number(millis) };
  if (kind === 1) return { ...event, entryId: rest.slice(0, 16), contentHash: rest.slice(16, 48) };
  if (kind === 2) return { ...event, entryId: rest.slice(0, 16) };
  if (kind === 3) return { ...event, matchId: rest.slice(0, 16), released: new DataView(rest.buffer, rest.byteOffset + 16, 4).getUint32(0) };
  if (kind === 4) return { ...event, matchId: rest.slice(0, 16), counselorId: rest.slice(16, 32) };
  if (kind === 6) {
    if (!(rest[0] in REVOKED_NAMES)) throw new InvalidInput('unknown kind of revocation');
    const serial = Number(new DataView(rest.buffer, rest.byteOffset + 33, 8).getBigUint64(0));
    return { ...event, revoked: REVOKED_NAMES[rest[0]], subject: rest.slice(1, 33), serial };
  }
  return event;
}

/** events.parse_opening: {nonce, event, leaf} from nonce ‖ event (strict: the event must parse). */
export function parseOpening(data) {
  if (!(data instanceof Uint8Array) || data.length <= NONCE_BYTES) {
    throw new InvalidInput('a leaf opening is a 32-byte nonce followed by an event');
  }
  const nonce = data.slice(0, NONCE_BYTES);
  const event = data.slice(NONCE_BYTES);
  parseEvent(event);
  return { nonce, event, leaf: commit(nonce, event) };
}

/** Protocol v1's name for parseEvent (a v2 leaf is a commitment: parse the opening's event instead). */
export const parseLeaf = parseEvent;
