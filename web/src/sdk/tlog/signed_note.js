// C2SP signed notes and tlog checkpoints with Ed25519 (tlog/notes.py,
// tlog/checkpoint.py): enough to verify the log's signed checkpoints and
// witnesses' cosignatures in the browser, with the same strict parsing and
// the same refusals as the Python SDK.
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { InvalidInput, VerificationError } from '../errors.js';
import { b64Encode, bytesEqual, concatBytes, hexEncode, utf8Encode } from '../protocol/encoding.js';

export const EM_DASH = '\u2014';
export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;
export const MAX_SIGNATURES = 100;
export const MAX_NOTE_BYTES = 1 << 20;
export const HASH_SIZE = 32;
export const MAX_TREE_SIZE = (1n << 64n) - 1n;
const KNOWN_TYPES = { [SIG_ED25519]: 32, [SIG_COSIGNATURE_V1]: 32 };
const te = (s) => new TextEncoder().encode(s);

// Python's str.isspace()
const SPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029,
  0x202f, 0x205f, 0x3000]);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Python's repr() of a str, for messages (ASCII-printable names are the norm). */
const repr = (s) => (s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`);

/** Ed25519 verification, strict RFC 8032 as OpenSSL (Python's cryptography) does it. */
export function ed25519Verify(publicKey, message, signature) {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32 || !(signature instanceof Uint8Array) || signature.length !== 64) {
    throw new VerificationError('malformed Ed25519 key or signature');
  }
  let ok = false;
  try {
    ok = ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    ok = false;
  }
  if (!ok) throw new VerificationError('Ed25519 signature does not verify');
}

/** Canonical standard base64 (padded), or InvalidInput naming the field (notes.b64decode). */
export function b64decode(text, field) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new InvalidInput(`${field}: not base64`);
  }
  let raw;
  try {
    raw = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new InvalidInput(`${field}: not base64`);
  }
  if (b64Encode(raw) !== text) throw new InvalidInput(`${field}: non-canonical base64`);
  return raw;
}

export function validKeyName(name) {
  if (typeof name !== 'string' || !name || name.includes('+')) return false;
  for (const c of name) {
    const cp = c.codePointAt(0);
    if (SPACE.has(cp) || cp < 0x20) return false;
  }
  return !LONE_SURROGATE.test(name);
}

/** SHA-256(name || 0x0A || type || public key)[:4] */
export function keyId(name, sigType, publicKey) {
  if (!validKeyName(name)) throw new InvalidInput(`invalid signed-note key name ${repr(name)}`);
  return sha256(concatBytes(utf8Encode(name), Uint8Array.of(0x0a, sigType), publicKey)).slice(0, 4);
}

/** A parsed vkey <name>+<hex key ID>+<base64(type || public key)>. */
export function parseVkey(vkey) {
  if (typeof vkey !== 'string') throw new InvalidInput('a verifier key is a string');
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw new InvalidInput('a verifier key is <name>+<key ID>+<key>');
  const [name, hexId, material64] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  if (!validKeyName(name)) throw new InvalidInput(`invalid key name ${repr(name)}`);
  if (!/^[0-9a-f]{8}$/.test(hexId)) throw new InvalidInput('the key ID is 8 lowercase hex digits');
  const material = b64decode(material64, 'verifier key material');
  if (!material.length) throw new InvalidInput('the verifier key has no key material');
  if (!(material[0] in KNOWN_TYPES)) {
    throw new InvalidInput(`${name}: unsupported verifier key type 0x${material[0].toString(16).padStart(2, '0')}; this program reads ` +
      "Ed25519 vkeys only (type 0x01, and 0x04 for a witness's cosignature/v1 key)");
  }
  const [sigType, publicKey] = [material[0], material.slice(1)];
  if (publicKey.length !== KNOWN_TYPES[sigType]) throw new InvalidInput('wrong public key length for its type');
  if (hexEncode(keyId(name, sigType, publicKey)) !== hexId) throw new InvalidInput('the key ID does not match the name and key');
  return { name, keyId: keyId(name, sigType, publicKey), sigType, publicKey };
}

/**
 * checkpoint.CosignatureV1Verifier.from_vkey: a witness's key from a vkey of type 0x04 (cosignature/v1)
 * or 0x01 (ordinary Ed25519), or from either parsed. The result is always the cosignature key: type 0x04
 * and the key ID over 0x04, the one its cosignature lines carry (C2SP tlog-cosignature).
 */
export function witnessKey(vkey) {
  const k = typeof vkey === 'string' ? parseVkey(vkey) : vkey;
  if (k.sigType !== SIG_COSIGNATURE_V1 && k.sigType !== SIG_ED25519) {
    throw new InvalidInput(`${k.name}: a witness key is an Ed25519 vkey of type 0x04 (cosignature/v1) or 0x01 (ordinary Ed25519), not type 0x${k.sigType.toString(16).padStart(2, '0')}`);
  }
  return { name: k.name, keyId: keyId(k.name, SIG_COSIGNATURE_V1, k.publicKey), sigType: SIG_COSIGNATURE_V1, publicKey: k.publicKey };
}

/** checkpoint.witness_verifiers: every witness's key; a key listed twice (either form, any name) is refused. */
export function witnessKeys(vkeys) {
  const keys = [];
  for (const vkey of vkeys) {
    const k = witnessKey(vkey);
    if (keys.some((other) => bytesEqual(other.publicKey, k.publicKey))) {
      throw new InvalidInput(`witness ${k.name}: its key is listed twice (as two names, or in both vkey forms)`);
    }
    keys.push(k);
  }
  return keys;
}

export function ed25519Vkey(name, publicKey) {
  return `${name}+${hexEncode(keyId(name, SIG_ED25519, publicKey))}+${b64Encode(concatBytes(Uint8Array.of(SIG_ED25519), publicKey))}`;
}

function parseSignatureLine(line) {
  const prefix = EM_DASH + ' ';
  if (!line.startsWith(prefix)) throw new InvalidInput('signature line must start with an em dash and a space');
  const fields = line.slice(prefix.length).split(' ');
  if (fields.length !== 2 || !validKeyName(fields[0])) throw new InvalidInput("signature line must be '— <name> <base64>'");
  const raw = b64decode(fields[1], 'signature');
  if (raw.length < 5) throw new InvalidInput('signature is shorter than a key ID and one byte');
  return { name: fields[0], keyId: raw.slice(0, 4), signature: raw.slice(4) };
}

/** Split a signed note without verifying it: {text, signatures}. */
export function parseNote(note) {
  if (note instanceof Uint8Array) {
    try {
      note = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
    } catch {
      throw new InvalidInput('signed note is not valid UTF-8');
    }
  }
  if (typeof note !== 'string') throw new InvalidInput('a signed note is text');
  if (LONE_SURROGATE.test(note)) throw new InvalidInput('signed note is not valid UTF-8');
  if (te(note).length > MAX_NOTE_BYTES) throw new InvalidInput('signed note is too large');
  if (/[\x00-\x09\x0b-\x1f]/.test(note)) throw new InvalidInput('signed note contains a control character');
  if (!note.endsWith('\n')) throw new InvalidInput('signed note must end with a newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new InvalidInput('signed note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  const lines = block ? block.slice(0, -1).split('\n') : [];
  if (!lines.length) throw new InvalidInput('signed note has no signature lines');
  if (lines.length > MAX_SIGNATURES) throw new InvalidInput(`signed note has more than ${MAX_SIGNATURES} signatures`);
  return { text, signatures: lines.map(parseSignatureLine) };
}

/** Checkpoint body: {origin, size (BigInt), rootHash, extensions}. */
export function parseCheckpoint(body) {
  if (typeof body !== 'string' || !body.endsWith('\n')) throw new InvalidInput('checkpoint body must end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3 || !lines.every(Boolean)) throw new InvalidInput('checkpoint body is at least three non-empty lines');
  const [origin, sizeText, rootText, ...extensions] = lines;
  const size = parseDecimal(sizeText, 'tree size');
  const rootHash = b64decode(rootText, 'root hash');
  if (rootHash.length !== HASH_SIZE) throw new InvalidInput('root hash must be 32 bytes');
  if (!origin || /[\x00-\x1f]/.test(origin)) throw new InvalidInput('checkpoint origin must be a non-empty line');
  return { origin, size, rootHash, extensions };
}

/** ASCII decimal, no sign, no leading zero (except 0), below 2^64, as a BigInt. */
export function parseDecimal(text, field) {
  if (!text || !/^[0-9]+$/.test(text) || (text.length > 1 && text[0] === '0')) {
    throw new InvalidInput(`${field} must be a decimal number without leading zeros`);
  }
  const value = BigInt(text);
  if (value > MAX_TREE_SIZE) throw new InvalidInput(`${field} must be below 2^64`);
  return value;
}

export function parseSignedCheckpoint(note) {
  const parsed = parseNote(note);
  return [parseCheckpoint(parsed.text), parsed];
}

function cosignatureMessage(body, timestamp) {
  return concatBytes(te(`cosignature/v1\ntime ${timestamp}\n`), utf8Encode(body));
}

function verifierFor(key) {
  if (key.sigType === SIG_ED25519) {
    return { ...key, verify: (text, sig) => ed25519Verify(key.publicKey, text, sig) };
  }
  return {
    ...key,
    verify: (text, sig) => {
      if (sig.length !== 8 + 64) throw new VerificationError('a cosignature is an 8-byte time and a 64-byte signature');
      const timestamp = new DataView(sig.buffer, sig.byteOffset, 8).getBigUint64(0);
      if (timestamp > (1n << 63n) - 1n) throw new VerificationError('cosignature time must be in [0, 2^63)');
      ed25519Verify(key.publicKey, cosignatureMessage(new TextDecoder().decode(text), timestamp), sig.slice(8));
    },
  };
}

/** notes.open_note: verify against trusted keys; VerificationError unless one verifies. */
export function openNote(note, verifiers) {
  const byKey = new Map();
  for (const v of verifiers) {
    const id = `${v.name}+${hexEncode(v.keyId)}`;
    if (byKey.has(id)) throw new InvalidInput(`ambiguous trusted key ${id}`);
    byKey.set(id, v);
  }
  let parsed;
  try {
    parsed = parseNote(note);
  } catch (exc) {
    if (exc instanceof InvalidInput) throw new VerificationError(`malformed signed note: ${exc.message}`);
    throw exc;
  }
  const message = utf8Encode(parsed.text);
  const verified = [];
  const unverified = [];
  for (const sig of parsed.signatures) {
    const id = `${sig.name}+${hexEncode(sig.keyId)}`;
    const verifier = byKey.get(id);
    if (!verifier) {
      unverified.push(sig);
      continue;
    }
    if (verified.some((s) => s.name === sig.name && bytesEqual(s.keyId, sig.keyId))) {
      throw new VerificationError(`trusted key ${id} signed twice`);
    }
    try {
      verifier.verify(message, sig.signature);
    } catch (exc) {
      if (exc instanceof VerificationError) throw new VerificationError(`invalid signature from trusted key ${id}`);
      throw exc;
    }
    verified.push(sig);
  }
  if (!verified.length) throw new VerificationError('no signature from a trusted key');
  return { text: parsed.text, verified, unverified };
}

/**
 * checkpoint.open_checkpoint: the log's signature (vkey string) and every known witness's
 * cosignature; returns {checkpoint, note, cosignatures: [{name, keyId, timestamp}]}.
 */
export function openCheckpoint(note, logVkey, { origin = null, witnessVkeys = [], now = null } = {}) {
  const logKey = typeof logVkey === 'string' ? parseVkey(logVkey) : logVkey;
  if (logKey.sigType !== SIG_ED25519) throw new InvalidInput(`${logKey.name}: not an Ed25519 note key (type 0x01)`);
  const witnesses = witnessKeys(witnessVkeys);
  if (witnesses.some((w) => bytesEqual(w.publicKey, logKey.publicKey))) {
    throw new InvalidInput("the log's own key is listed as a witness; a witness must hold a key of its own");
  }
  const opened = openNote(note, [logKey, ...witnesses].map(verifierFor));
  if (!opened.verified.some((s) => s.name === logKey.name && bytesEqual(s.keyId, logKey.keyId))) {
    throw new VerificationError('checkpoint is not signed by the log key');
  }
  let checkpoint;
  try {
    checkpoint = parseCheckpoint(opened.text);
  } catch (exc) {
    if (exc instanceof InvalidInput) throw new VerificationError(`malformed checkpoint: ${exc.message}`);
    throw exc;
  }
  const expected = origin ?? logKey.name;
  if (checkpoint.origin !== expected) {
    throw new VerificationError(`checkpoint origin ${repr(checkpoint.origin)} is not ${repr(expected)}`);
  }
  const cosignatures = [];
  for (const sig of opened.verified) {
    if (sig.name === logKey.name && bytesEqual(sig.keyId, logKey.keyId)) continue;
    const timestamp = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8).getBigUint64(0);
    if (now !== null && timestamp > BigInt(now)) throw new VerificationError(`cosignature from ${sig.name} is dated in the future`);
    cosignatures.push({ name: sig.name, keyId: sig.keyId, timestamp });
  }
  return { checkpoint, note, cosignatures };
}
