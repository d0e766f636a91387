// Invite strings (protocol/invites.py, PROTOCOL.md §6): cnsl1.<b64u 16-byte code>.<b64u 16-byte
// administrator fingerprint>. The fingerprint lets a new reporter pin the administrator's key
// before the first deployment document is accepted. Refusals speak of a typo, never of base64url,
// with exactly Python's messages (the interop vectors hold them).
import { b64uDecode, b64uEncode } from './encoding.js';
import { InvalidInput } from '../errors.js';

export const INVITE_PREFIX = 'cnsl1';
const CREDENTIAL_PREFIX = 'cnslc1';

export const INVITE_EMPTY = 'No invite was given. Type or paste the one you were given (it looks like cnsl1.…).';
export const INVITE_MISTYPED = 'This invite does not look right — a character may be mistyped or missing. Check it '
  + 'against the one you were given (it looks like cnsl1.…).';
export const INVITE_IS_CREDENTIAL = 'This is a counselor\'s credential (it starts with cnslc1.), not a reporter\'s '
  + 'invite. Counselors sign in with it; a reporter\'s invite starts with cnsl1.';

/** {code, adminFingerprint} (16 bytes each) from an invite as typed or pasted; Python's refusals. */
export function parseInvite(text) {
  if (typeof text !== 'string') throw new InvalidInput(INVITE_MISTYPED);
  const stripped = text.trim();
  if (!stripped) throw new InvalidInput(INVITE_EMPTY);
  if (stripped.toLowerCase().startsWith(`${CREDENTIAL_PREFIX}.`)) throw new InvalidInput(INVITE_IS_CREDENTIAL);
  const parts = stripped.split('.');
  if (parts.length !== 3 || parts[0] !== INVITE_PREFIX) throw new InvalidInput(INVITE_MISTYPED);
  try {
    return {
      code: b64uDecode(parts[1], 16, 'invite code'),
      adminFingerprint: b64uDecode(parts[2], 16, 'invite fingerprint'),
    };
  } catch (e) {
    if (e instanceof InvalidInput) throw new InvalidInput(INVITE_MISTYPED);
    throw e;
  }
}

/** The invite string of a code and an administrator fingerprint. */
export function formatInvite(code, adminFingerprint) {
  return `${INVITE_PREFIX}.${b64uEncode(code)}.${b64uEncode(adminFingerprint)}`;
}
