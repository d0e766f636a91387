// Invite strings, protocol v2 (protocol/invites.py, PROTOCOL.md §6):
// cnsl2.<b64u 32-byte account seed>.<b64u 16-byte administrator fingerprint>. The seed is the
// account's Ed25519 private key (protocol/accounts.js), so an invite is passed on like a
// password; the fingerprint pins the administrator's key before the first deployment document
// is accepted. A v1 invite (cnsl1.) is refused by name. Refusals speak of a typo, never of
// base64url, with exactly Python's messages (the interop vectors hold them).
import { b64uDecode, b64uEncode } from './encoding.js';
import { InvalidInput } from '../errors.js';

const refusal = (message, code) => new InvalidInput(message, { code: `invite.${code}` });

export const INVITE_PREFIX = 'cnsl2';
export const V1_PREFIX = 'cnsl1';
const CREDENTIAL_PREFIX = 'cnslc1';

export const INVITE_EMPTY = 'No invite was given. Type or paste the one you were given (it looks like cnsl2.…).';
export const INVITE_MISTYPED = 'This invite does not look right — a character may be mistyped or missing. Check it '
  + 'against the one you were given (it looks like cnsl2.…).';
export const INVITE_IS_CREDENTIAL = 'This is a counselor\'s credential (it starts with cnslc1.), not a reporter\'s '
  + 'invite. Counselors sign in with it; a reporter\'s invite starts with cnsl2.';
export const INVITE_OLD_VERSION = 'This invite is for an older version of Consilience (protocol v1, it starts with '
  + 'cnsl1.) and cannot be used with this one. Ask whoever gave it to you for a new invite.';

/** {seed (32 bytes), adminFingerprint (16 bytes)} from an invite as typed or pasted; Python's refusals. */
export function parseInvite(text) {
  if (typeof text !== 'string') throw refusal(INVITE_MISTYPED, 'mistyped');
  const stripped = text.trim();
  if (!stripped) throw refusal(INVITE_EMPTY, 'empty');
  const lower = stripped.toLowerCase();
  if (lower.startsWith(`${CREDENTIAL_PREFIX}.`)) throw refusal(INVITE_IS_CREDENTIAL, 'credential');
  if (lower.startsWith(`${V1_PREFIX}.`)) throw refusal(INVITE_OLD_VERSION, 'oldVersion');
  const parts = stripped.split('.');
  if (parts.length !== 3 || parts[0] !== INVITE_PREFIX) throw refusal(INVITE_MISTYPED, 'mistyped');
  try {
    return {
      seed: b64uDecode(parts[1], 32, 'invite seed'),
      adminFingerprint: b64uDecode(parts[2], 16, 'invite fingerprint'),
    };
  } catch (e) {
    if (e instanceof InvalidInput) throw refusal(INVITE_MISTYPED, 'mistyped');
    throw e;
  }
}

/** The invite string of an account seed and an administrator fingerprint. */
export function formatInvite(seed, adminFingerprint) {
  return `${INVITE_PREFIX}.${b64uEncode(seed)}.${b64uEncode(adminFingerprint)}`;
}
