// Sealed items after a match (protocol/conversations.py, PROTOCOL.md §13):
// messages, introduction cards and case notes, one construction for all,
// parameterised by a kind byte.
//
//   context   = u8 kind ‖ scope(16) ‖ item_id(16)
//   inner     = canonical JSON (sorted keys, "," ":", ensure_ascii=False, UTF-8)
//   signature = Ed25519(sender signing seed, "consilience-v2 item signature" ‖ context ‖ inner)
//   content   = AEAD.seal(k, signature ‖ inner, "consilience-v2 item" ‖ context)   (k: 32 fresh bytes)
//   wrap_i    = HPKE.seal(pk_i, k, "consilience-v2 item key" ‖ context ‖ key_id_i)  (1168 bytes)
//
// The signature sits inside the AEAD, so the server (which holds no key) cannot
// even tell who signed. Opening checks the signature against inner.sender; the
// caller decides whether that sender is acceptable (checkSender): a listed
// counselor's signing key, the reporter key pinned from the opened body, a
// roster member.
//
// Keys: a reporter's messaging key is mpk ‖ vk (1216 + 32 bytes), both from the
// wallet's message_seed (the X-Wing seed itself; the Ed25519 seed by the KDF);
// a counselor's signing seed comes from its HPKE seed by the KDF, so the key
// file holds no new secret.
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { DecryptionError, InvalidInput, VerificationError } from '../errors.js';
import * as aead from '../crypto/aead.js';
import * as hpke from '../crypto/hpke.js';
import { derive } from '../crypto/kdf.js';
import { ed25519Verify } from '../tlog/signed_note.js';
import { b64uDecode, b64uEncode, bytesEqual, concatBytes, utf8Decode } from './encoding.js';
import { dumpsBytes } from './pyjson.js';
import { MAX_BODY_BYTES } from './entry.js';

const te = (s) => new TextEncoder().encode(s);

export const KIND_MESSAGE = 1;
export const KIND_CARD = 2;
export const KIND_NOTE = 3;
export const KINDS = Object.freeze({ [KIND_MESSAGE]: 'message', [KIND_CARD]: 'card', [KIND_NOTE]: 'note' });

export const ITEM_SIGNATURE_LABEL = te('consilience-v2 item signature');
export const ITEM_AAD = te('consilience-v2 item');
export const ITEM_KEY_INFO = te('consilience-v2 item key');
export const MESSAGE_SIGNING_LABEL = 'consilience-v2 message signing key';
export const COUNSELOR_SIGNING_LABEL = 'consilience-v2 counselor signing key';

export const ID_BYTES = 16;
export const CONTEXT_BYTES = 1 + 2 * ID_BYTES;
export const SEED_BYTES = 32;
export const SIGNING_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const MESSAGING_KEY_BYTES = hpke.PUBLIC_KEY_BYTES + SIGNING_KEY_BYTES;
export const ITEM_KEY_BYTES = 32;
export const WRAP_BYTES = ITEM_KEY_BYTES + hpke.CIPHERTEXT_OVERHEAD;
export const MAX_WRAPS = 64;
export const MAX_CONTENT_BYTES = MAX_BODY_BYTES;
export const MAX_NAME_CHARS = 64;
export const MAX_MEMBERS = 32;
export const MAX_ROSTER = MAX_MEMBERS;
export const VERSION = 1;

/** Which inner types each kind of item may carry. */
export const TYPES_BY_KIND = Object.freeze({
  [KIND_MESSAGE]: Object.freeze(['text', 'reveal', 'introduction', 'roster']),
  [KIND_CARD]: Object.freeze(['card']),
  [KIND_NOTE]: Object.freeze(['note']),
});

const isBytes = (v, n) => v instanceof Uint8Array && (n === undefined || v.length === n);

// --- keys -------------------------------------------------------------------

function checkSeed(seed, what) {
  if (!isBytes(seed, SEED_BYTES)) throw new InvalidInput(`${what} must be ${SEED_BYTES} bytes`);
}

/** The Ed25519 public key of a 32-byte signing seed. */
export function signingPublicKey(signingSeed) {
  checkSeed(signingSeed, 'a signing seed');
  return ed25519.getPublicKey(signingSeed);
}

/** The reporter's Ed25519 signing seed, derived from the wallet's message_seed. */
export function messageSigningSeed(messageSeed) {
  checkSeed(messageSeed, 'a message seed');
  return derive(messageSeed, MESSAGE_SIGNING_LABEL, new Uint8Array(0), SEED_BYTES);
}

/**
 * Everything a reporter's message_seed gives: {seed (the HPKE private key), mpk (1216),
 * signingSeed, vk (32), key = mpk ‖ vk (1248, the messaging key), keyId = hpke key id of mpk}.
 */
export async function messagingKeyPair(messageSeed) {
  checkSeed(messageSeed, 'a message seed');
  const mpk = await hpke.publicKeyBytes(messageSeed);
  const signingSeed = messageSigningSeed(messageSeed);
  const vk = ed25519.getPublicKey(signingSeed);
  return { seed: messageSeed, mpk, signingSeed, vk, key: concatBytes(mpk, vk), keyId: await hpke.keyId(mpk) };
}

/** A fresh message seed (32 random bytes), made at registration. */
export function newMessageSeed() {
  return randomBytes(SEED_BYTES);
}

/** Split a messaging key into {mpk, vk}; InvalidInput if it has the wrong length or a bad HPKE part. */
export async function parseMessagingKey(key, field = 'messaging key') {
  if (!isBytes(key, MESSAGING_KEY_BYTES)) throw new InvalidInput(`${field} must be ${MESSAGING_KEY_BYTES} bytes`);
  const mpk = key.slice(0, hpke.PUBLIC_KEY_BYTES);
  await hpke.parsePublicKey(mpk);
  return { mpk, vk: key.slice(hpke.PUBLIC_KEY_BYTES), keyId: await hpke.keyId(mpk) };
}

/** A counselor's Ed25519 signing seed, derived from its HPKE seed (nothing new to keep). */
export function counselorSigningSeed(counselorSeed) {
  checkSeed(counselorSeed, "a counselor's private key seed");
  return derive(counselorSeed, COUNSELOR_SIGNING_LABEL, new Uint8Array(0), SEED_BYTES);
}

/** The signing key (32) a counselor's public file and the deployment document list. */
export function counselorSigningKey(counselorSeed) {
  return ed25519.getPublicKey(counselorSigningSeed(counselorSeed));
}

// --- the item ---------------------------------------------------------------

/** u8 kind ‖ scope ‖ item_id (33 bytes). */
export function itemContext(kind, scope, itemId) {
  if (!Object.hasOwn(KINDS, kind)) throw new InvalidInput(`unknown item kind ${kind}`);
  if (!isBytes(scope, ID_BYTES) || !isBytes(itemId, ID_BYTES)) throw new InvalidInput('an item scope and id are 16 bytes each');
  return concatBytes(Uint8Array.of(kind), scope, itemId);
}

/** The canonical inner bytes (json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)). */
export function innerBytes(doc) {
  return dumpsBytes(doc, { sortKeys: true, ensureAscii: false, separators: [',', ':'] });
}

/** What the sender signs: label ‖ context ‖ inner. */
export function signedBytes(context, inner) {
  return concatBytes(ITEM_SIGNATURE_LABEL, context, inner);
}

export function wrapInfo(context, keyId) {
  return concatBytes(ITEM_KEY_INFO, context, keyId);
}

/** inner "sent_at": RFC 3339, UTC, whole seconds, "Z" (2026-12-01T10:00:00Z), as Python's now_sent_at. */
export function nowSentAt(date = new Date()) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Recipients [{keyId?, publicKey}]: the same key twice is one wrap (as Python's seal_item), 1..64 keys,
 * a given key id must be the hash of its key.
 */
async function checkRecipients(recipients) {
  const seen = new Set();
  const out = [];
  for (const r of recipients ?? []) {
    const keyId = await hpke.keyId(r.publicKey);
    if (r.keyId !== undefined && r.keyId !== null && !bytesEqual(keyId, r.keyId)) {
      throw new InvalidInput('a recipient key id does not match its key');
    }
    const k = b64uEncode(keyId);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ keyId, publicKey: r.publicKey });
  }
  if (out.length < 1 || out.length > MAX_WRAPS) throw new InvalidInput(`an item goes to 1 to ${MAX_WRAPS} keys, not ${out.length}`);
  return out;
}

/**
 * Seal an item: {kind, scope, itemId, doc (the inner JSON document, "sender" included: the *Doc builders
 * below make it), signingSeed, recipients: [{keyId?, publicKey (1216)}]} -> {content, wraps: [{keyId, wrap}]}.
 * The inner document is checked as openItem will check it, so nothing is sealed that its recipients
 * would refuse.
 */
export async function sealItem({ kind, scope, itemId, doc, signingSeed, recipients }) {
  const context = itemContext(kind, scope, itemId);
  checkSeed(signingSeed, 'a signing seed');
  const inner = innerBytes(doc);
  const parsed = parseInner(inner);
  if (KIND_OF_TYPE[parsed.type] !== kind) {
    throw new InvalidInput(`a ${parsed.type} is sent as item kind ${KINDS[KIND_OF_TYPE[parsed.type]]}, not ${KINDS[kind]}`);
  }
  if (!bytesEqual(parsed.sender, ed25519.getPublicKey(signingSeed))) {
    throw new InvalidInput('the item names another sender than the key that signs it');
  }
  const signature = ed25519.sign(signedBytes(context, inner), signingSeed);
  if (signature.length + inner.length + aead.OVERHEAD > MAX_CONTENT_BYTES) {
    throw new InvalidInput(`this message is ${inner.length} bytes; a message holds at most about `
      + `${Math.floor(MAX_CONTENT_BYTES / (1024 * 1024))} MiB (attachments count a third more than their size)`);
  }
  const checked = await checkRecipients(recipients);
  const k = aead.newKey();
  const content = aead.seal(k, concatBytes(signature, inner), concatBytes(ITEM_AAD, context));
  const wraps = [];
  for (const r of checked) wraps.push({ keyId: r.keyId, wrap: await hpke.seal(r.publicKey, k, wrapInfo(context, r.keyId)) });
  return { content, wraps };
}

async function itemKey(context, wrap, seed, keyId) {
  if (!isBytes(wrap, WRAP_BYTES)) throw new InvalidInput(`a wrap is ${WRAP_BYTES} bytes`);
  let k;
  try {
    k = await hpke.open(seed, wrap, wrapInfo(context, keyId));
  } catch (err) {
    if (!(err instanceof DecryptionError)) throw err;
    throw new DecryptionError('this item\'s key is not sealed to your key for this item (or it was changed)');
  }
  if (k.length !== ITEM_KEY_BYTES) throw new DecryptionError("this item's key has the wrong size");
  return k;
}

/**
 * Open an item with one's own wrap: {kind, scope, itemId, content, wrap, seed (the HPKE seed),
 * keyId? (of the seed's public key; computed if absent)} -> the parsed inner (parseInner) plus
 * {kind, scope, itemId, signature}, its signature checked against its sender. DecryptionError if it
 * does not open here, InvalidInput for a malformed inner document or the wrong kind, VerificationError
 * for a bad signature. Whether the sender may speak here is the caller's question (checkSender).
 */
export async function openItem({ kind, scope, itemId, content, wrap, seed, keyId = null }) {
  const context = itemContext(kind, scope, itemId);
  if (!isBytes(content) || content.length > MAX_CONTENT_BYTES) throw new InvalidInput(`an item is at most ${MAX_CONTENT_BYTES} bytes`);
  const id = keyId ?? await hpke.keyId(await hpke.publicKeyBytes(seed));
  const k = await itemKey(context, wrap, seed, id);
  let plaintext;
  try {
    plaintext = aead.open(k, content, concatBytes(ITEM_AAD, context));
  } catch (err) {
    if (!(err instanceof DecryptionError)) throw err;
    throw new DecryptionError('this item does not open: it was changed, or belongs to another conversation, message or kind of item');
  }
  if (plaintext.length <= SIGNATURE_BYTES) throw new InvalidInput('malformed item: too short');
  const signature = plaintext.slice(0, SIGNATURE_BYTES);
  const inner = plaintext.slice(SIGNATURE_BYTES);
  const item = parseInner(inner);
  try {
    ed25519Verify(item.sender, signedBytes(context, inner), signature);
  } catch (err) {
    if (!(err instanceof VerificationError)) throw err;
    throw new VerificationError("this item's signature does not hold: it was not signed by the key it names");
  }
  if (KIND_OF_TYPE[item.type] !== kind) throw new InvalidInput(`a ${item.type} cannot be an item of kind ${KINDS[kind]}`);
  return { ...item, kind, scope: scope.slice(), itemId: itemId.slice(), signature };
}

/**
 * Seal an opened item's key to another key (handover, protocol/conversations.py rewrap): {keyId, wrap}.
 * The item itself is untouched, so its signature keeps naming its author.
 */
export async function rewrap({ kind, scope, itemId, wrap, seed, newPublicKey, keyId = null }) {
  const context = itemContext(kind, scope, itemId);
  const k = await itemKey(context, wrap, seed, keyId ?? await hpke.keyId(await hpke.publicKeyBytes(seed)));
  const newId = await hpke.keyId(newPublicKey);
  return { keyId: newId, wrap: await hpke.seal(newPublicKey, k, wrapInfo(context, newId)) };
}

/**
 * Refuse an item whose sender is not among `allowed` (32-byte signing keys), with `what` as the
 * message (e.g. "this message is not signed by a counselor of this deployment"). Returns the item.
 */
export function checkSender(item, allowed, what = 'this item is not signed by anyone it may come from') {
  if (!allowed.some((vk) => isBytes(vk, SIGNING_KEY_BYTES) && bytesEqual(vk, item.sender))) throw new VerificationError(what);
  return item;
}

// --- inner documents -----------------------------------------------------------

/** The item kind each type travels as; opening refuses any other pairing. */
export const KIND_OF_TYPE = Object.freeze({
  text: KIND_MESSAGE, reveal: KIND_MESSAGE, introduction: KIND_MESSAGE, roster: KIND_MESSAGE, card: KIND_CARD, note: KIND_NOTE,
});
const COMMON = ['v', 'type', 'sender', 'sent_at'];
// type -> [required fields beyond COMMON, optional fields] (protocol/conversations.py _FIELDS)
const FIELDS = Object.freeze({
  text: [['text'], ['attachments', 'entry', 'to']],
  reveal: [['contact'], ['text', 'entry']],
  introduction: [['introduction', 'text', 'entry', 'to'], []],
  roster: [['introduction', 'members'], []],
  card: [['introduction', 'name', 'key'], []],
  note: [['text'], []],
});
const SENT_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function str(value, what) {
  if (typeof value !== 'string') throw new InvalidInput(`malformed message: ${what} is a string`);
  return value;
}

function bytesField(value, length, what) {
  if (typeof value !== 'string') throw new InvalidInput(`malformed message: ${what} is a base64url string`);
  return b64uDecode(value, length, what);
}

/**
 * A messaging key's HPKE half checked as crypto/hpke.py parse_public_key does (length, the ML-KEM-768
 * modulus check, no low-order X25519 point), synchronously (hpke.js parsePublicKey's checks).
 */
function checkHpkePublic(mpk) {
  if (!isBytes(mpk, hpke.PUBLIC_KEY_BYTES)) throw new InvalidInput(`counselor public key must be ${hpke.PUBLIC_KEY_BYTES} bytes`);
  try {
    ml_kem768.encapsulate(mpk.subarray(0, hpke.MLKEM768_PUBLIC_BYTES));
  } catch {
    throw new InvalidInput('counselor public key: invalid ML-KEM-768 part');
  }
  try {
    x25519.getSharedSecret(x25519.utils.randomSecretKey(), mpk.subarray(hpke.MLKEM768_PUBLIC_BYTES));
  } catch {
    throw new InvalidInput('counselor public key: low-order X25519 part');
  }
}

/** MessagingPublicKey.parse: 1248 bytes whose HPKE half is a usable key. */
export function checkMessagingKey(key) {
  if (!isBytes(key, MESSAGING_KEY_BYTES)) throw new InvalidInput(`a messaging key is ${MESSAGING_KEY_BYTES} bytes`);
  try {
    checkHpkePublic(key.subarray(0, hpke.PUBLIC_KEY_BYTES));
  } catch {
    throw new InvalidInput('not a usable messaging key: its encryption half is invalid'); // the ML-KEM check, or a low-order X25519 point
  }
  return key;
}

function keyField(value, what) {
  return checkMessagingKey(bytesField(value, MESSAGING_KEY_BYTES, what));
}

/** A display name: 1..64 characters (code points, as Python's len counts them). */
export function checkDisplayName(name) {
  const n = typeof name === 'string' ? Array.from(name).length : 0;
  if (n < 1 || n > MAX_NAME_CHARS) throw new InvalidInput(`a display name has 1 to ${MAX_NAME_CHARS} characters`);
  return name;
}

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function attachmentsField(list) {
  if (!Array.isArray(list) || list.length === 0) throw new InvalidInput('malformed message: attachments are a non-empty list');
  return list.map((a) => {
    if (!a || typeof a !== 'object' || Array.isArray(a) || Object.keys(a).sort().join() !== 'data,name,type') {
      throw new InvalidInput('malformed entry body: an attachment has exactly name, type and data');
    }
    if (typeof a.name !== 'string' || !a.name || typeof a.type !== 'string' || typeof a.data !== 'string') {
      throw new InvalidInput('malformed entry body: attachment name, type and data are strings');
    }
    return { name: a.name, type: a.type, data: b64uDecode(a.data, undefined, 'attachment data') };
  });
}

/**
 * Parse an item's inner bytes strictly (Inner.from_bytes): canonical JSON, "v": 1, a known type,
 * exactly the type's fields, each of its type and size; every key a usable messaging key. Returns
 * {type, sender (32), sentAt, doc (the JSON as sent), entry? (16), to? (1248), and per type: text,
 * attachments, contact, introduction (16), members [{name, key (1248)}], name, key (1248)}.
 * The kind is checked by openItem (KIND_OF_TYPE).
 */
export function parseInner(inner) {
  let doc;
  try {
    doc = JSON.parse(utf8Decode(inner, 'item'));
  } catch {
    throw new InvalidInput('malformed message: not UTF-8 JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new InvalidInput('malformed message: not a JSON object');
  let canonical;
  try {
    canonical = innerBytes(doc);
  } catch {
    throw new InvalidInput('malformed message: not canonical JSON');
  }
  if (!bytesEqual(canonical, inner)) {
    throw new InvalidInput('malformed message: not canonical JSON (sorted keys, no spaces, each key once)');
  }
  if (doc.v !== VERSION) throw new InvalidInput('malformed message: unknown version (this software reads version 1)');
  const type = doc.type;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) {
    throw new InvalidInput(`malformed message: unknown type ${typeof type === 'string' ? `'${type}'` : JSON.stringify(type ?? null)}`);
  }
  const [required, optional] = FIELDS[type];
  const keys = new Set(Object.keys(doc));
  const missing = [...COMMON, ...required].filter((f) => !keys.has(f)).sort();
  const known = new Set([...COMMON, ...required, ...optional]);
  const extra = [...keys].filter((f) => !known.has(f)).sort();
  if (missing.length) throw new InvalidInput(`malformed message of type ${type}: missing ${missing.join(', ')}`);
  if (extra.length) throw new InvalidInput(`malformed message of type ${type}: unexpected ${extra.join(', ')}`);
  const item = { type, sender: bytesField(doc.sender, SIGNING_KEY_BYTES, 'sender'), doc };
  if (keys.has('entry')) item.entry = bytesField(doc.entry, ID_BYTES, 'entry');
  if (keys.has('to')) item.to = keyField(doc.to, 'to');
  if (type === 'text') {
    item.text = str(doc.text, 'text');
    item.attachments = keys.has('attachments') ? attachmentsField(doc.attachments) : [];
    if (!item.text && item.attachments.length === 0) throw new InvalidInput('a message needs text or an attachment');
  } else if (type === 'reveal') {
    item.contact = str(doc.contact, 'contact');
    item.text = keys.has('text') ? str(doc.text, 'text') : null;
    if (!item.contact) throw new InvalidInput('a reveal names how to reach you (it cannot be empty)');
  } else if (type === 'introduction') {
    item.introduction = bytesField(doc.introduction, ID_BYTES, 'introduction');
    item.text = str(doc.text, 'text');
  } else if (type === 'roster') {
    const members = doc.members;
    if (!Array.isArray(members) || members.length < 1 || members.length > MAX_ROSTER) {
      throw new InvalidInput(`malformed message: a roster lists 1 to ${MAX_ROSTER} members`);
    }
    item.members = members.map((m) => {
      if (!m || typeof m !== 'object' || Array.isArray(m) || Object.keys(m).sort().join() !== 'key,name') {
        throw new InvalidInput('malformed message: a roster member has exactly name and key');
      }
      const name = checkDisplayName(str(m.name, 'name'));
      return { name, key: keyField(m.key, 'member key') };
    });
    for (let i = 1; i < item.members.length; i++) {
      if (compareBytes(item.members[i - 1].key, item.members[i].key) >= 0) {
        throw new InvalidInput('malformed message: roster members are sorted by key, each once');
      }
    }
    item.introduction = bytesField(doc.introduction, ID_BYTES, 'introduction');
  } else if (type === 'card') {
    item.introduction = bytesField(doc.introduction, ID_BYTES, 'introduction');
    item.name = checkDisplayName(str(doc.name, 'name'));
    item.key = keyField(doc.key, 'key');
  } else {
    item.text = str(doc.text, 'text');
    if (!item.text) throw new InvalidInput('a note cannot be empty');
  }
  item.sentAt = checkSentAt(doc.sent_at);
  return item;
}

function checkSentAt(value) {
  if (typeof value !== 'string' || !SENT_AT.test(value)) {
    throw new InvalidInput('sent_at is an RFC 3339 UTC time in whole seconds, like 2026-12-01T10:00:00Z');
  }
  const d = new Date(value);
  if (Number.isNaN(d.getTime()) || d.toISOString().replace(/\.\d{3}Z$/, 'Z') !== value) {
    throw new InvalidInput('sent_at is not a valid time');
  }
  return value;
}

// --- who may send what (the caller's half of opening; protocol/conversations.py check_*) ----------

/** Signing key (b64u) -> counselor, for the counselors of a verified document that have one. */
export function counselorSigners(deployment) {
  const out = new Map();
  for (const c of deployment.counselors) if (c.signingKey) out.set(b64uEncode(c.signingKey), c);
  return out;
}

const vkOfKey = (messagingKey) => messagingKey.subarray(hpke.PUBLIC_KEY_BYTES);

/** The counselor who signed, or VerificationError: reporters trust only keys the signed document lists. */
export function requireCounselor(item, deployment) {
  const c = counselorSigners(deployment).get(b64uEncode(item.sender));
  if (!c) throw new VerificationError('this message is not signed by a counselor of this deployment');
  return c;
}

/**
 * A message of a direct conversation: the counselor who wrote it, or null if the reporter did. The
 * reporter key is the one pinned from the reporter's sealed body (a counselor) or the reporter's own;
 * a counselor's message must be written "to" it, and both sides' messages name the entry.
 */
export function checkDirect(item, deployment, { entryId, reporterKey }) {
  if (item.kind !== undefined && item.kind !== KIND_MESSAGE || !['text', 'reveal', 'introduction'].includes(item.type)) {
    throw new InvalidInput(`a ${item.type} does not belong in a conversation with one reporter`);
  }
  if (!item.entry || !bytesEqual(item.entry, entryId)) {
    throw new VerificationError("this message is about another entry than this conversation's");
  }
  if (bytesEqual(item.sender, vkOfKey(reporterKey))) {
    if (item.type === 'introduction' || item.to) throw new VerificationError('a reporter cannot send an introduction');
    return null;
  }
  const counselor = counselorSigners(deployment).get(b64uEncode(item.sender));
  if (!counselor) throw new VerificationError('this message is not signed by a counselor of this deployment nor by the reporter');
  if (item.type === 'reveal') throw new VerificationError('a counselor cannot send a reveal');
  if (!item.to || !bytesEqual(item.to, reporterKey)) throw new VerificationError("this counselor message was written to another reporter's key");
  return counselor;
}

/**
 * A message of a group conversation: {counselor} or {member: {name, key}}, by a counselor or by a member of
 * the newest counselor-signed roster (an opened roster item, or null).
 */
export function checkGroup(item, deployment, roster) {
  if (item.kind !== undefined && item.kind !== KIND_MESSAGE || !['text', 'reveal', 'roster'].includes(item.type)) {
    throw new InvalidInput(`a ${item.type} does not belong in a group conversation`);
  }
  if (item.entry || item.to) throw new VerificationError('a group message names no entry and no reporter key');
  const counselor = counselorSigners(deployment).get(b64uEncode(item.sender));
  if (counselor) {
    if (item.type === 'reveal') throw new VerificationError('a counselor cannot send a reveal');
    return { counselor };
  }
  if (item.type === 'roster') throw new VerificationError('this group list is not signed by a counselor of this deployment');
  const member = roster?.members.find((m) => bytesEqual(vkOfKey(m.key), item.sender));
  if (!member) throw new VerificationError('this message is not signed by a counselor nor by a member of the group');
  return { member };
}

/**
 * An accepter's card as the counselor checks it before listing the accepter in a roster: signed by the
 * reporter key pinned in that direct conversation and naming that same key. Returns {introduction, name, key}.
 */
export function checkCard(item, { introductionId, conversationId, reporterKey }) {
  if (item.kind !== undefined && item.kind !== KIND_CARD || item.type !== 'card') throw new InvalidInput('this is not an introduction card');
  if ((item.scope && !bytesEqual(item.scope, introductionId)) || (item.itemId && !bytesEqual(item.itemId, conversationId))) {
    throw new VerificationError('this card belongs to another introduction or conversation');
  }
  if (!bytesEqual(item.introduction, introductionId)) throw new VerificationError('this card names another introduction');
  if (!bytesEqual(item.sender, vkOfKey(reporterKey)) || !bytesEqual(item.key, reporterKey)) {
    throw new VerificationError('this card is not signed by the reporter of that conversation, or names another key');
  }
  return { introduction: item.introduction, name: item.name, key: item.key };
}

/** A case note: the counselor who signed it, or VerificationError. */
export function checkNote(item, deployment) {
  if (item.kind !== undefined && item.kind !== KIND_NOTE || item.type !== 'note') throw new InvalidInput('this is not a case note');
  const counselor = counselorSigners(deployment).get(b64uEncode(item.sender));
  if (!counselor) throw new VerificationError('this note is not signed by a counselor of this deployment');
  return counselor;
}

/**
 * For a counselor taking a conversation over: the reporter key of the earliest counselor-signed message
 * (opened items in the conversation's order), or null.
 */
export function pinnedReporterKey(items, deployment, entryId) {
  const signers = counselorSigners(deployment);
  for (const i of items) {
    if ((i.kind === undefined || i.kind === KIND_MESSAGE) && signers.has(b64uEncode(i.sender)) && i.entry
        && bytesEqual(i.entry, entryId) && i.to) return i.to;
  }
  return null;
}

// --- inner document builders ---------------------------------------------------

function base(type, sender, sentAt) {
  if (!isBytes(sender, SIGNING_KEY_BYTES)) throw new InvalidInput('the sender is a 32-byte signing key');
  return { v: VERSION, type, sender: b64uEncode(sender), sent_at: sentAt ?? nowSentAt() };
}

function direct(doc, { entry = null, to = null }) {
  if (entry !== null) doc.entry = b64uEncode(entry);
  if (to !== null) doc.to = b64uEncode(to);
  return doc;
}

/** A text message; attachments [{name, type, data: bytes|b64u}]; entry/to for a direct conversation. */
export function textDoc({ sender, text = '', attachments = [], entry = null, to = null, sentAt = null }) {
  const doc = base('text', sender, sentAt);
  doc.text = text;
  if (attachments && attachments.length) {
    doc.attachments = attachments.map((a) => ({
      name: a.name, type: a.type, data: a.data instanceof Uint8Array ? b64uEncode(a.data) : a.data,
    }));
  }
  return direct(doc, { entry, to });
}

/** A reporter revealing how to reach them. */
export function revealDoc({ sender, contact, text = null, entry = null, sentAt = null }) {
  const doc = base('reveal', sender, sentAt);
  doc.contact = contact;
  if (text !== null && text !== undefined) doc.text = text;
  return direct(doc, { entry });
}

/** A counselor's invitation, in a direct conversation, to an introduction. */
export function introductionDoc({ sender, introduction, text, entry = null, to = null, sentAt = null }) {
  const doc = base('introduction', sender, sentAt);
  doc.introduction = b64uEncode(introduction);
  doc.text = text;
  return direct(doc, { entry, to });
}

/** The roster of a group conversation: members [{name, key (1248)}], sorted by key here. */
export function rosterDoc({ sender, introduction, members, sentAt = null }) {
  const doc = base('roster', sender, sentAt);
  doc.introduction = b64uEncode(introduction);
  doc.members = members.map((m) => (m.key instanceof Uint8Array ? m.key : b64uDecode(m.key, MESSAGING_KEY_BYTES, 'member key')))
    .map((key, i) => ({ name: members[i].name, key }))
    .sort((a, b) => compareBytes(a.key, b.key)) // by the key's bytes, as Python's Roster
    .map((m) => ({ name: m.name, key: b64uEncode(m.key) }));
  return doc;
}

/** An accepting reporter's card: its chosen display name and messaging key. */
export function cardDoc({ sender, introduction, name, key, sentAt = null }) {
  const doc = base('card', sender, sentAt);
  doc.introduction = b64uEncode(introduction);
  doc.name = name;
  doc.key = b64uEncode(key);
  return doc;
}

/** A counselor's case note. */
export function noteDoc({ sender, text, sentAt = null }) {
  const doc = base('note', sender, sentAt);
  doc.text = text;
  return doc;
}

/** The JSON of a sealed item on the wire: {content, wraps: [{key_id, wrap}]}. */
export function sealedItemJson(sealed) {
  return {
    content: b64uEncode(sealed.content),
    wraps: sealed.wraps.map((w) => ({ key_id: b64uEncode(w.keyId), wrap: b64uEncode(w.wrap) })),
  };
}
