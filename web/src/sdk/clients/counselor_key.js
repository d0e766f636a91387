// The counselor key file (clients/counselor.py): the HPKE seed and login
// state, sealed with purpose "consilience counselor key". Opening it happens
// only in the browser; nothing of it is sent anywhere.
// counselorKeyToBytes writes Python's json.dumps(doc) exactly (ASCII, ", "/": ").
import { InvalidInput } from '../errors.js';
import { b64uDecode, b64uEncode, utf8Decode } from '../protocol/encoding.js';
import { dumpsBytes } from '../protocol/pyjson.js';
import * as hpke from '../crypto/hpke.js';
import * as sealed from '../crypto/sealed.js';

export const COUNSELOR_KEY_FORMAT = 'consilience-counselor-key/v1';
export const COUNSELOR_KEY_PURPOSE = 'consilience counselor key';
export const CREDENTIAL_PREFIX = 'cnslc1';

/** keys = {name, seed, server, token, adminFingerprint, minSerial} (bytes or null). */
export function counselorKeyToBytes(keys) {
  const doc = {
    format: COUNSELOR_KEY_FORMAT,
    name: keys.name,
    seed: b64uEncode(keys.seed),
    server: keys.server ?? null,
    token: keys.token ? b64uEncode(keys.token) : null,
    admin_fingerprint: keys.adminFingerprint ? b64uEncode(keys.adminFingerprint) : null,
    min_serial: keys.minSerial ?? 0,
  };
  return dumpsBytes(doc);
}

export function counselorKeyFromBytes(bytes) {
  let doc;
  try {
    doc = JSON.parse(utf8Decode(bytes, 'counselor key'));
  } catch {
    throw new InvalidInput('not a Consilience counselor key file', { code: 'counselorKey.notFile' });
  }
  if (!doc || typeof doc !== 'object' || doc.format !== COUNSELOR_KEY_FORMAT) throw new InvalidInput('not a Consilience counselor key file', { code: 'counselorKey.notFile' });
  for (const f of ['name', 'seed', 'server', 'token', 'admin_fingerprint']) {
    if (!(f in doc)) throw new InvalidInput(`not a Consilience counselor key file: no ${f}`, { code: 'counselorKey.missing', params: { field: f } });
  }
  return {
    name: doc.name,
    seed: b64uDecode(doc.seed, 32, 'seed'),
    server: doc.server,
    token: doc.token ? b64uDecode(doc.token, undefined, 'token') : null,
    adminFingerprint: doc.admin_fingerprint ? b64uDecode(doc.admin_fingerprint, 16, 'admin_fingerprint') : null,
    minSerial: Number.parseInt(doc.min_serial ?? 0, 10),
  };
}

/** Open the sealed key file and add the public key and key id. */
export async function openCounselorKey(blob, passphrase, onProgress = undefined) {
  const keys = counselorKeyFromBytes(await sealed.open(blob, passphrase, COUNSELOR_KEY_PURPOSE, onProgress));
  keys.publicKey = await hpke.publicKeyBytes(keys.seed);
  keys.keyId = await hpke.keyId(keys.publicKey);
  return keys;
}

export async function sealCounselorKey(keys, passphrase, params = sealed.DEFAULT_PARAMS, onProgress = undefined) {
  return sealed.seal(counselorKeyToBytes(keys), passphrase, COUNSELOR_KEY_PURPOSE, params, onProgress);
}

/** "cnslc1.<token>.<fingerprint>" -> {token, adminFingerprint} (counselor.py parse_credential). */
export function parseCredential(text) {
  const parts = String(text).trim().split('.');
  if (parts.length !== 3 || parts[0] !== CREDENTIAL_PREFIX) {
    throw new InvalidInput('that is not a counselor credential (it should look like cnslc1.XXXX.YYYY)', { code: 'counselor.credential' });
  }
  return { token: b64uDecode(parts[1], 32, 'token'), adminFingerprint: b64uDecode(parts[2], 16, 'fingerprint') };
}
