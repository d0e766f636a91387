// The reporter's wallet (clients/wallet.py): everything private, sealed under
// the passphrase in the "consilience-sealed/v1" container with purpose
// "consilience reporter wallet", so a wallet moves between the browser
// (IndexedDB) and the CLI unchanged.
//
// A wallet is kept as the Python document itself (snake_case fields, b64u
// strings), and walletToBytes writes exactly Python's
// json.dumps({"format": ..., **asdict(wallet)}, ensure_ascii=False): fields in
// dataclass order, ", " / ": " separators. Unknown fields are refused, as
// Python's dataclass constructors refuse them.
import { randomBytes } from '@noble/hashes/utils.js';
import { InvalidInput } from '../errors.js';
import { b64uEncode, hexEncode, utf8Decode } from '../protocol/encoding.js';
import { dumpsBytes } from '../protocol/pyjson.js';
import * as sealed from '../crypto/sealed.js';

export const WALLET_FORMAT = 'consilience-wallet/v2';
export const WALLET_V1_FORMAT = 'consilience-wallet/v1';
export const WALLET_V1_REFUSAL = 'this wallet is from an older version of Consilience (protocol v1) and cannot be used '
  + 'with this one; your records in it are still readable with that version';
export const WALLET_PURPOSE = 'consilience reporter wallet';

// [field, required?, default] in Python dataclass order.
// account_seed: the invite's Ed25519 seed (b64u), which signs every key-server request;
// certificate: the administrator's certificate of its account key (b64u, protocol/accounts.js).
const WALLET_FIELDS = [['server', true], ['admin_fingerprint', true], ['account_id', true], ['token', true], ['contact', true],
  ['account_seed', false, ''], ['certificate', false, ''], ['min_serial', false, 0], ['records', false, []],
  // PROTOCOL.md §13: the messaging seed (b64u, 32 bytes; "" in wallets made before messaging), whether the
  // server holds its key, the introductions declined (never sent anywhere) and the last message read per
  // conversation (conversation id b64u -> seq).
  ['message_seed', false, ''], ['message_key_registered', false, false], ['declined', false, []], ['seen', false, {}],
  // PROTOCOL.md §14.1, the backup at the escrow server: the handle as written down, the backup key (b64u; ""
  // inside the backup itself), the version last stored, the backup document minus version and wallet (re-uploaded
  // with each change), and whether an upload failed and is to be retried.
  ['backup_handle', false, ''], ['backup_key', false, ''], ['backup_version', false, 0], ['backup_keys', false, null],
  ['backup_pending', false, false]];
const RECORD_FIELDS = [['record_id', true], ['text', true], ['written_at', true], ['escrow', false, null],
  ['details', false, null], ['attachments', false, []],
  // PROTOCOL.md §14.2: a title the person chose for their list ("" shows "Record of <date>", never the text)
  ['title', false, '']];
const ESCROW_FIELDS = [['entry_id', true], ['identifiers', true], ['canonical', true], ['quorum', true], ['body_key', true],
  ['status', true], ['received_at', true], ['pending', false, null], ['pending_replace', false, false], ['receipts', false, []]];

/** A file that is not a wallet; DETAIL (which field) is for whoever helps, in English. */
const notWallet = (detail) => new InvalidInput(`not a Consilience wallet: ${detail}`, { code: 'wallet.invalid', params: { detail } });

function ordered(doc, fields, what) {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw notWallet(`${what} is not an object`);
  const known = new Set(fields.map(([f]) => f));
  const unknown = Object.keys(doc).filter((k) => !known.has(k));
  if (unknown.length) throw notWallet(`unknown ${what} field ${unknown[0]}`);
  const out = {};
  for (const [f, required, dflt] of fields) {
    if (doc[f] === undefined) {
      if (required) throw notWallet(`${what} has no ${f}`);
      out[f] = structuredClone(dflt);
    } else {
      out[f] = doc[f];
    }
  }
  return out;
}

function normaliseRecord(r) {
  const rec = ordered(r, RECORD_FIELDS, 'record');
  rec.escrow = rec.escrow ? ordered(rec.escrow, ESCROW_FIELDS, 'escrow') : null;
  return rec;
}

/** A wallet document in canonical field order (validates the shape). */
export function normaliseWallet(doc) {
  const w = ordered(doc, WALLET_FIELDS, 'wallet');
  if (!Array.isArray(w.records)) throw notWallet('records is not a list');
  if (typeof w.message_seed !== 'string' || typeof w.message_key_registered !== 'boolean' || !Array.isArray(w.declined)
      || !w.declined.every((x) => typeof x === 'string') || !w.seen || typeof w.seen !== 'object' || Array.isArray(w.seen)) {
    throw notWallet('malformed messaging fields');
  }
  if (typeof w.backup_handle !== 'string' || typeof w.backup_key !== 'string' || !Number.isSafeInteger(w.backup_version)
      || w.backup_version < 0 || typeof w.backup_pending !== 'boolean'
      || (w.backup_keys !== null && (typeof w.backup_keys !== 'object' || Array.isArray(w.backup_keys)))) {
    throw notWallet('malformed backup fields');
  }
  w.records = w.records.map(normaliseRecord);
  return w;
}

/** A new wallet; bytes are stored as b64u like the CLI does. */
export function newWallet({ server, adminFingerprint, accountId, token, contact, accountSeed = '', certificate = '', minSerial = 0,
  messageSeed = '', messageKeyRegistered = false }) {
  const s = (v) => (v instanceof Uint8Array ? b64uEncode(v) : v);
  return normaliseWallet({
    server, admin_fingerprint: s(adminFingerprint), account_id: s(accountId), token: s(token), contact,
    account_seed: s(accountSeed), certificate: s(certificate), min_serial: minSerial, records: [],
    message_seed: s(messageSeed), message_key_registered: messageKeyRegistered, declined: [], seen: {},
  });
}

export function walletToBytes(wallet) {
  const w = normaliseWallet(wallet);
  return dumpsBytes({ format: WALLET_FORMAT, ...w }, { ensureAscii: false });
}

export function walletFromBytes(bytes) {
  let doc;
  try {
    doc = JSON.parse(utf8Decode(bytes, 'wallet'));
  } catch {
    throw new InvalidInput('not a Consilience wallet', { code: 'wallet.notWallet' });
  }
  if (doc && typeof doc === 'object' && doc.format === WALLET_V1_FORMAT) throw new InvalidInput(WALLET_V1_REFUSAL, { code: 'wallet.v1' });
  if (!doc || typeof doc !== 'object' || doc.format !== WALLET_FORMAT) throw new InvalidInput('not a Consilience wallet', { code: 'wallet.notWallet' });
  delete doc.format;
  return normaliseWallet(doc);
}

export function findRecord(wallet, recordId) {
  const r = wallet.records.find((x) => x.record_id === recordId);
  if (!r) throw new InvalidInput(`no record ${JSON.stringify(recordId)} in this wallet`, { code: 'wallet.noRecord', params: { id: JSON.stringify(recordId) } });
  return r;
}

/**
 * Add a record (Wallet.add_record): record_id is 4 random bytes in hex;
 * details = {what, when, where, witnesses} filled fields only (or null);
 * attachments = [{name, type, data (b64u)}].
 */
export function addRecord(wallet, text, writtenAt, { details = null, attachments = [] } = {}) {
  const filled = details ? Object.fromEntries(Object.entries(details).filter(([, v]) => v)) : null;
  const d = filled && Object.keys(filled).length ? filled : null;
  if (!text.trim() && !d && attachments.length === 0) throw new InvalidInput('the record is empty', { code: 'record.empty' });
  const record = normaliseRecord({
    record_id: hexEncode(randomBytes(4)), text, written_at: writtenAt, escrow: null, details: d,
    attachments: attachments.map((a) => ({ name: a.name, type: a.type, data: a.data instanceof Uint8Array ? b64uEncode(a.data) : a.data })),
  });
  wallet.records.push(record);
  return record;
}

/** The sealed wallet file (bytes), as clients/wallet.py save writes it. */
export async function sealWallet(wallet, passphrase, params = sealed.DEFAULT_PARAMS, onProgress = undefined) {
  return sealed.seal(walletToBytes(wallet), passphrase, WALLET_PURPOSE, params, onProgress);
}

/** Open a sealed wallet file (bytes or string). */
export async function openWallet(blob, passphrase, onProgress = undefined) {
  return walletFromBytes(await sealed.open(blob, passphrase, WALLET_PURPOSE, onProgress));
}
