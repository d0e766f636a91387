// From an OPRF output to a matching tag (protocol/matching.py, PROTOCOL.md §7). Protocol v1
// also derived the quorum shares and secrets from the OPRF output here; protocol v2's shares
// come from the key servers (protocol/quorum.js), so only the tag is left.
import { derive } from '../crypto/kdf.js';

export const TAG_BYTES = 32;
const EMPTY = new Uint8Array(0);

/** The value the escrow server counts by; pseudorandom without the OPRF key. */
export function matchTag(oprfOutput) {
  return derive(oprfOutput, 'match tag', EMPTY, TAG_BYTES);
}
