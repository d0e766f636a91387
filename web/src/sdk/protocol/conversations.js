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
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { InvalidInput, VerificationError } from '../errors.js';
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

/** datetime.now(timezone.utc).isoformat(timespec="seconds"): 2026-01-01T10:00:00+00:00 */
export function nowSentAt(date = new Date()) {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/**
 * Recipients [{keyId, publicKey}] as checked keys: distinct key ids, 1..64 of them, each
 * key id the hash of its key.
 */
async function checkRecipients(recipients) {
  if (!Array.isArray(recipients) || recipients.length < 1 || recipients.length > MAX_WRAPS) {
    throw new InvalidInput(`an item is wrapped to 1 to ${MAX_WRAPS} keys`);
  }
  const seen = new Set();
  const out = [];
  for (const r of recipients) {
    const keyId = await hpke.keyId(r.publicKey);
    if (r.keyId !== undefined && r.keyId !== null && !bytesEqual(keyId, r.keyId)) {
      throw new InvalidInput('a recipient key id does not match its key');
    }
    const k = b64uEncode(keyId);
    if (seen.has(k)) throw new InvalidInput('a recipient key appears twice');
    seen.add(k);
    out.push({ keyId, publicKey: r.publicKey });
  }
  return out;
}

/**
 * Seal an item: {kind, scope, itemId, doc (the inner JSON document, "sender" included),
 * signingSeed, recipients: [{keyId?, publicKey (1216)}]} -> {content, wraps: [{keyId, wrap}]}.
 * The inner document is checked as openItem will check it, so nothing is sealed that its
 * recipients would refuse.
 */
export async function sealItem({ kind, scope, itemId, doc, signingSeed, recipients }) {
  const context = itemContext(kind, scope, itemId);
  checkSeed(signingSeed, 'a signing seed');
  const inner = innerBytes(doc);
  const parsed = parseInner(kind, inner);
  if (!bytesEqual(parsed.sender, ed25519.getPublicKey(signingSeed))) {
    throw new InvalidInput('the item names another sender than the key that signs it');
  }
  const signature = ed25519.sign(signedBytes(context, inner), signingSeed);
  const plaintext = concatBytes(signature, inner);
  if (plaintext.length + aead.OVERHEAD > MAX_CONTENT_BYTES) {
    throw new InvalidInput(`this message is ${plaintext.length} bytes with its attachments; a message holds at most `
      + `${MAX_CONTENT_BYTES - aead.OVERHEAD - SIGNATURE_BYTES} (attachments count a third more than their size)`);
  }
  const checked = await checkRecipients(recipients);
  const k = aead.newKey();
  const content = aead.seal(k, plaintext, concatBytes(ITEM_AAD, context));
  const wraps = [];
  for (const r of checked) wraps.push({ keyId: r.keyId, wrap: await hpke.seal(r.publicKey, k, wrapInfo(context, r.keyId)) });
  return { content, wraps };
}

/**
 * Open an item with one's own wrap: {kind, scope, itemId, content, wrap, seed (the HPKE seed),
 * keyId? (of the seed's public key; computed if absent)} -> the parsed inner (parseInner) with
 * the signature checked against its sender. DecryptionError if it does not open, VerificationError
 * for a bad signature, InvalidInput for a malformed inner document.
 */
export async function openItem({ kind, scope, itemId, content, wrap, seed, keyId = null }) {
  const context = itemContext(kind, scope, itemId);
  if (!isBytes(content) || content.length > MAX_CONTENT_BYTES) throw new InvalidInput('an item is at most 4 MiB');
  if (!isBytes(wrap, WRAP_BYTES)) throw new InvalidInput(`an item key wrap is ${WRAP_BYTES} bytes`);
  const id = keyId ?? await hpke.keyId(await hpke.publicKeyBytes(seed));
  const k = await hpke.open(seed, wrap, wrapInfo(context, id));
  if (k.length !== ITEM_KEY_BYTES) throw new InvalidInput('an item key is 32 bytes');
  const plaintext = aead.open(k, content, concatBytes(ITEM_AAD, context));
  if (plaintext.length <= SIGNATURE_BYTES) throw new InvalidInput('malformed item: no content after the signature');
  const signature = plaintext.slice(0, SIGNATURE_BYTES);
  const inner = plaintext.slice(SIGNATURE_BYTES);
  const item = parseInner(kind, inner);
  ed25519Verify(item.sender, signedBytes(context, inner), signature);
  return item;
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

const COMMON = ['v', 'type', 'sender', 'sent_at'];
const DIRECT = ['entry', 'to'];
// type -> [required fields beyond COMMON, optional fields]
const FIELDS = Object.freeze({
  text: [['text'], ['attachments', ...DIRECT]],
  reveal: [['contact'], ['text', ...DIRECT]],
  introduction: [['introduction', 'text'], [...DIRECT]],
  roster: [['introduction', 'members'], []],
  card: [['introduction', 'name', 'key'], []],
  note: [['text'], []],
});
const SENT_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/;

const malformed = (why) => new InvalidInput(`malformed item: ${why}`);

function str(doc, field) {
  if (typeof doc[field] !== 'string') throw malformed(`${field} is a string`);
  return doc[field];
}

function bytesField(doc, field, length) {
  if (typeof doc[field] !== 'string') throw malformed(`${field} is base64url`);
  return b64uDecode(doc[field], length, field);
}

/** A display name: 1..64 characters (code points, as Python counts them). */
export function checkDisplayName(name) {
  if (typeof name !== 'string') throw new InvalidInput('a display name is text');
  const n = Array.from(name).length;
  if (n < 1 || n > MAX_NAME_CHARS || !name.trim()) throw new InvalidInput(`a display name is 1 to ${MAX_NAME_CHARS} characters`);
  return name;
}

function attachmentsField(list) {
  if (!Array.isArray(list) || list.length === 0) throw malformed('attachments are a non-empty list');
  return list.map((a) => {
    if (!a || typeof a !== 'object' || Array.isArray(a) || Object.keys(a).sort().join() !== 'data,name,type') {
      throw malformed('an attachment has exactly name, type and data');
    }
    if (typeof a.name !== 'string' || !a.name || typeof a.type !== 'string' || typeof a.data !== 'string') {
      throw malformed('attachment name, type and data are strings');
    }
    return { name: a.name, type: a.type, data: b64uDecode(a.data, undefined, 'attachment data') };
  });
}

/**
 * Parse an item's inner bytes strictly for its kind: canonical JSON, "v": 1, a known type the
 * kind allows, exactly the type's fields with the right types. Returns {type, sender (32), sentAt,
 * doc (the JSON as sent), and per type: text, attachments, contact, introduction (16), members
 * [{name, key (1248)}], name, key (1248), entry (16), to (1248)}.
 */
export function parseInner(kind, inner) {
  if (!Object.hasOwn(KINDS, kind)) throw new InvalidInput(`unknown item kind ${kind}`);
  let doc;
  try {
    doc = JSON.parse(utf8Decode(inner, 'item'));
  } catch {
    throw malformed('not JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw malformed('not a JSON object');
  if (!bytesEqual(innerBytes(doc), inner)) throw malformed('not in canonical form');
  if (doc.v !== VERSION) throw new InvalidInput('unknown item version');
  const type = doc.type;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) throw malformed(`unknown type ${JSON.stringify(type)}`);
  if (!TYPES_BY_KIND[kind].includes(type)) throw malformed(`a ${KINDS[kind]} cannot be of type ${type}`);
  const [required, optional] = FIELDS[type];
  for (const f of [...COMMON, ...required]) if (!Object.hasOwn(doc, f)) throw malformed(`${type} has no ${f}`);
  const known = new Set([...COMMON, ...required, ...optional]);
  for (const f of Object.keys(doc)) if (!known.has(f)) throw malformed(`${type} has no field ${f}`);
  const sentAt = str(doc, 'sent_at');
  if (!SENT_AT.test(sentAt) || Number.isNaN(Date.parse(sentAt))) throw malformed('sent_at is a UTC time to the second');
  const item = { type, sender: bytesField(doc, 'sender', SIGNING_KEY_BYTES), sentAt, doc };
  if (Object.hasOwn(doc, 'entry')) item.entry = bytesField(doc, 'entry', ID_BYTES);
  if (Object.hasOwn(doc, 'to')) item.to = bytesField(doc, 'to', MESSAGING_KEY_BYTES);
  if (type === 'text') {
    item.text = str(doc, 'text');
    item.attachments = Object.hasOwn(doc, 'attachments') ? attachmentsField(doc.attachments) : [];
    if (!item.text && item.attachments.length === 0) throw malformed('a message has text or attachments');
  } else if (type === 'reveal') {
    item.contact = str(doc, 'contact');
    if (!item.contact.trim()) throw malformed('a reveal names how to reach the reporter');
    item.text = Object.hasOwn(doc, 'text') ? str(doc, 'text') : '';
  } else if (type === 'introduction') {
    item.introduction = bytesField(doc, 'introduction', ID_BYTES);
    item.text = str(doc, 'text');
  } else if (type === 'roster') {
    item.introduction = bytesField(doc, 'introduction', ID_BYTES);
    if (!Array.isArray(doc.members) || doc.members.length < 1 || doc.members.length > MAX_MEMBERS) {
      throw malformed(`a roster lists 1 to ${MAX_MEMBERS} members`);
    }
    item.members = doc.members.map((m) => {
      if (!m || typeof m !== 'object' || Array.isArray(m) || Object.keys(m).sort().join() !== 'key,name') {
        throw malformed('a roster member has exactly name and key');
      }
      if (typeof m.name !== 'string') throw malformed('name is a string');
      checkDisplayName(m.name);
      return { name: m.name, key: bytesField(m, 'key', MESSAGING_KEY_BYTES) };
    });
    const keys = doc.members.map((m) => m.key);
    for (let i = 1; i < keys.length; i++) {
      if (!(keys[i - 1] < keys[i])) throw malformed('roster members are sorted by key, each once');
    }
  } else if (type === 'card') {
    item.introduction = bytesField(doc, 'introduction', ID_BYTES);
    item.name = checkDisplayName(str(doc, 'name'));
    item.key = bytesField(doc, 'key', MESSAGING_KEY_BYTES);
  } else if (type === 'note') {
    item.text = str(doc, 'text');
  }
  return item;
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
export function revealDoc({ sender, contact, text = '', entry = null, sentAt = null }) {
  const doc = base('reveal', sender, sentAt);
  doc.contact = contact;
  if (text) doc.text = text;
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
  doc.members = members.map((m) => ({ name: m.name, key: m.key instanceof Uint8Array ? b64uEncode(m.key) : m.key }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
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
