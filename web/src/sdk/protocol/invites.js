// Invite strings (protocol/invites.py, PROTOCOL.md §6): cnsl1.<b64u 16-byte code>.<b64u 16-byte
// administrator fingerprint>. The fingerprint lets a new reporter pin the administrator's key
// before the first deployment document is accepted.
import { b64uDecode, b64uEncode } from './encoding.js';
import { InvalidInput } from '../errors.js';

export const INVITE_PREFIX = 'cnsl1';

/** {code, adminFingerprint} (16 bytes each) from an invite as typed or pasted; Python's refusals. */
export function parseInvite(text) {
  const parts = String(text).trim().split('.');
  if (parts.length !== 3 || parts[0] !== INVITE_PREFIX) {
    throw new InvalidInput('that is not a Consilience invite (it should look like cnsl1.XXXX.YYYY)');
  }
  return {
    code: b64uDecode(parts[1], 16, 'invite code'),
    adminFingerprint: b64uDecode(parts[2], 16, 'invite fingerprint'),
  };
}

/** The invite string of a code and an administrator fingerprint. */
export function formatInvite(code, adminFingerprint) {
  return `${INVITE_PREFIX}.${b64uEncode(code)}.${b64uEncode(adminFingerprint)}`;
}
