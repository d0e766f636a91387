// A disclosure of one record (protocol/disclosure.py, PROTOCOL.md §14.3): the text and attachments,
// the body key, the exact ciphertexts that were escrowed, the receipt of the entry's leaf and a
// consistency bundle to a newer, witness-cosigned checkpoint. verify() runs the Python checks in
// the same order, offline and pure (no request, no clock), so the verify page can show a person
// what was checked without trusting the operator; each refusal names the field that failed, so a
// tampered file says where it was changed.
import { VerificationError, InvalidInput } from '../errors.js';
import { b64uDecode, b64uEncode, bytesEqual } from './encoding.js';
import { adminFingerprint, verifyDeployment } from './deployment.js';
import { contentHash } from './events.js';
import { ENTRY_ID_BYTES, openBody } from './entry.js';
import { openReceipt } from '../clients/receipts.js';
import { openConsistency } from '../tlog/consistency.js';

export const FORMAT = 'consilience-disclosure/v1';
export const FILE_EXTENSION = '.disclosure.json';
const FIELDS = ['format', 'made_at', 'admin_fingerprint', 'deployment', 'entry', 'body_key', 'receipt', 'consistency'];
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** A refusal of one disclosure, naming the field (`field`) whose check failed. */
export class DisclosureRefused extends VerificationError {
  constructor(field, reason) {
    super(`${field}: ${reason}`);
    this.field = field;
    this.reason = reason;
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Run `fn`; any SDK refusal inside becomes a DisclosureRefused naming `field`. */
async function check(field, fn) {
  try {
    return await fn();
  } catch (exc) {
    if (exc instanceof DisclosureRefused) throw exc;
    if (exc instanceof VerificationError || exc instanceof InvalidInput) throw new DisclosureRefused(field, exc.message);
    throw exc;
  }
}

function bytesField(value, length, field) {
  if (typeof value !== 'string') throw new DisclosureRefused(field, 'is missing or is not base64url text');
  try {
    return b64uDecode(value, length, field);
  } catch (exc) {
    throw new DisclosureRefused(field, exc.message);
  }
}

/** The entry as the disclosure carries it (what GET /v2/entries/{id} serves), decoded, or a refusal naming the field. */
function parseEntry(entry) {
  if (!isObject(entry)) throw new DisclosureRefused('entry', 'is missing or is not an object');
  const entryId = bytesField(entry.entry_id, ENTRY_ID_BYTES, 'entry.entry_id');
  if (!Number.isInteger(entry.quorum) || entry.quorum < 1 || entry.quorum > 255) {
    throw new DisclosureRefused('entry.quorum', 'is not a whole number from 1 to 255');
  }
  if (!Array.isArray(entry.tags) || entry.tags.length > 255) throw new DisclosureRefused('entry.tags', 'is not a list of tags');
  const tags = entry.tags.map((t, n) => bytesField(t, 32, `entry.tags[${n}]`));
  const body = bytesField(entry.body, undefined, 'entry.body');
  if (!Array.isArray(entry.envelopes) || entry.envelopes.length > 255) {
    throw new DisclosureRefused('entry.envelopes', 'is not a list of envelopes');
  }
  const envelopes = entry.envelopes.map((e, n) => {
    if (!isObject(e)) throw new DisclosureRefused(`entry.envelopes[${n}]`, 'is not an object');
    return [bytesField(e.key_id, 16, `entry.envelopes[${n}].key_id`), bytesField(e.ciphertext, undefined, `entry.envelopes[${n}].ciphertext`)];
  });
  return { entryId, quorum: entry.quorum, tags, body, envelopes };
}

/**
 * Verify a disclosure (the parsed JSON object). Returns {entryId (b64u), record, details, attachments
 * [{name, type, data}], contact, identifiers, writtenAt, loggedAt (Date: "in the log by"), leafIndex,
 * treeSize, newerSize (or null), witnesses [{name, at: Date}] ("seen by"), adminFingerprint, deployment
 * {serial, origin, escrowUrl}, checks: [plain sentences of what was checked]}; or throws DisclosureRefused.
 */
export async function verify(doc, { adminFingerprint: expected = null } = {}) {
  if (!isObject(doc)) throw new DisclosureRefused('format', 'a disclosure is a JSON object');
  if (doc.format !== FORMAT) throw new DisclosureRefused('format', `is not ${FORMAT}`);
  // Exactly the fields of the format, as protocol/disclosure.py: an added one could be read by some tool as checked.
  for (const key of Object.keys(doc)) if (!FIELDS.includes(key)) throw new DisclosureRefused(key, 'is not a field of a disclosure');
  for (const key of FIELDS) if (!Object.hasOwn(doc, key)) throw new DisclosureRefused(key, 'is missing');
  if (typeof doc.made_at !== 'string' || !RFC3339.test(doc.made_at) || Number.isNaN(Date.parse(doc.made_at))) {
    throw new DisclosureRefused('made_at', 'is not a time (RFC 3339)');
  }
  const checks = [];
  const fingerprint = bytesField(doc.admin_fingerprint, 16, 'admin_fingerprint');
  // The fingerprint the person checking was told (the deployment publishes it), when given, must be the file's.
  if (expected !== null && !bytesEqual(fingerprint, typeof expected === 'string' ? b64uDecode(expected, 16, 'admin fingerprint') : expected)) {
    throw new DisclosureRefused('admin_fingerprint', 'is not the administrator fingerprint you gave');
  }
  if (!isObject(doc.deployment)) throw new DisclosureRefused('deployment', 'is missing or is not the signed document');
  // The pin is compared first, so a changed fingerprint is named as such, not as a bad document.
  const adminKey = bytesField(doc.deployment.admin_key, 32, 'deployment.admin_key');
  if (!bytesEqual(adminFingerprint(adminKey), fingerprint)) {
    throw new DisclosureRefused('deployment.admin_key', 'is not the key of the administrator whose fingerprint the file gives');
  }
  const d = await check('deployment', () => verifyDeployment(doc.deployment, fingerprint));
  checks.push(`The deployment's signed setup (serial ${d.serial}) is signed by the administrator whose fingerprint is `
    + `${b64uEncode(fingerprint)}. Compare this fingerprint with the one the deployment publishes.`);

  const entry = parseEntry(doc.entry);
  const bodyKey = bytesField(doc.body_key, 32, 'body_key');
  if (typeof doc.receipt !== 'string') throw new DisclosureRefused('receipt', 'is missing or is not text');
  const opened = await check('receipt', () => openReceipt(doc.receipt, d.log.vkey,
    { origin: d.log.origin, witnessVkeys: d.log.witnesses }));
  const { event } = opened;
  if (event.kind !== 'entry') throw new DisclosureRefused('receipt', `its leaf records a ${event.kind}, not an entry`);
  if (!bytesEqual(event.entryId, entry.entryId)) throw new DisclosureRefused('entry.entry_id', "is not the entry the receipt's leaf records");
  checks.push(`The receipt's checkpoint is signed by the log (${d.log.origin}) named in that setup, and its proof puts `
    + `leaf ${opened.index} in the log of ${opened.treeSize} leaves.`);
  const content = contentHash(entry.quorum, entry.tags, entry.body, entry.envelopes);
  if (!bytesEqual(content, event.contentHash)) {
    throw new DisclosureRefused('entry', 'its ciphertexts are not the ones the log recorded (the content hash differs)');
  }
  checks.push('That leaf records exactly these ciphertexts: their hash is the one in the log.');
  let body;
  try {
    body = openBody(bodyKey, entry.entryId, entry.body);
  } catch (exc) {
    if (exc instanceof InvalidInput) throw new DisclosureRefused('entry.body', `opened, but is not a record: ${exc.message}`);
    if (exc instanceof VerificationError) throw new DisclosureRefused('body_key', 'does not open the escrowed record');
    throw exc;
  }
  checks.push('The body key opens the escrowed ciphertext, and what it holds is the record shown here.');

  let witnesses = opened.cosignatures;
  let newerSize = null;
  if (doc.consistency !== null && doc.consistency !== undefined) {
    if (typeof doc.consistency !== 'string') throw new DisclosureRefused('consistency', 'is not text');
    const newer = await check('consistency', () => openConsistency(doc.consistency, d.log.vkey, opened.treeSize,
      opened.rootHash, { origin: d.log.origin, witnessVkeys: d.log.witnesses }));
    newerSize = newer.checkpoint.size;
    witnesses = newer.cosignatures;
    checks.push(`A newer checkpoint of ${newerSize} leaves, signed by the log, still contains the receipt's log `
      + 'unchanged (consistency proof).');
  }
  for (const w of witnesses) {
    checks.push(`Witness ${w.name}, listed in the signed setup, cosigned that checkpoint at ${new Date(Number(w.timestamp) * 1000).toISOString()}.`);
  }
  return {
    entryId: b64uEncode(entry.entryId), record: body.record, details: body.details, attachments: body.attachments,
    contact: body.contact, identifiers: body.identifiers, writtenAt: body.writtenAt, loggedAt: event.at,
    leafIndex: opened.index, treeSize: opened.treeSize, newerSize,
    witnesses: witnesses.map((w) => ({ name: w.name, at: new Date(Number(w.timestamp) * 1000) })),
    adminFingerprint: b64uEncode(fingerprint),
    deployment: { serial: d.serial, origin: d.log.origin, escrowUrl: d.escrowUrl },
    madeAt: typeof doc.made_at === 'string' ? doc.made_at : null,
    checks,
  };
}

/** RFC 3339 in UTC, seconds (what Python's datetime.isoformat writes for made_at). */
function rfc3339(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/**
 * A disclosure document from its parts: `published` (GET /v2/deployment), `adminFingerprint` (b64u or
 * bytes), `entry` (GET /v2/entries/{id}: entry_id, quorum, tags, body, envelopes), `bodyKey` (b64u or
 * bytes), `receipt` (tlog-proof text) and `consistency` (bundle text or null). Check it with verify()
 * before handing it out.
 */
export function buildDisclosure({ published, adminFingerprint, entry, bodyKey, receipt, consistency = null, madeAt = new Date() }) {
  const text = (v) => (typeof v === 'string' ? v : b64uEncode(v));
  return {
    format: FORMAT,
    made_at: rfc3339(madeAt),
    admin_fingerprint: text(adminFingerprint),
    deployment: published,
    entry: {
      entry_id: entry.entry_id, quorum: entry.quorum, tags: [...entry.tags], body: entry.body,
      envelopes: entry.envelopes.map((e) => ({ key_id: e.key_id, ciphertext: e.ciphertext })),
    },
    body_key: text(bodyKey),
    receipt,
    consistency,
  };
}
