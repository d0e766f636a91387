// Disclosures in the browser (protocol/disclosure.js, PROTOCOL.md §14.3): a disclosure made here from
// a real signed deployment (entry_v2_interop.json's, re-signed by its administrator with a witness
// listed), a log of several leaves, a receipt, a consistency bundle to a newer checkpoint and a
// witness's cosignature/v1, is accepted with what it proves; every field tampered is refused naming
// that field. Python's disclosures (tests/vectors/disclosure_interop.json, made by
// protocol/disclosure.py) are accepted and their tampered copies refused the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { ROOT, hx } from './helpers.js';
import { V2 } from './v2_vectors.js';
import * as aead from '../src/sdk/crypto/aead.js';
import { b64Encode, b64uDecode, b64uEncode, concatBytes, utf8Decode } from '../src/sdk/protocol/encoding.js';
import { BODY_AAD, encodeBody } from '../src/sdk/protocol/entry.js';
import { SIGNING_PREFIX, canonicalJson } from '../src/sdk/protocol/deployment.js';
import { commit, contentHash } from '../src/sdk/protocol/events.js';
import { leafHash, nodeHash, verifyConsistency } from '../src/sdk/tlog/merkle.js';
import { EM_DASH, SIG_COSIGNATURE_V1, SIG_ED25519, keyId } from '../src/sdk/tlog/signed_note.js';
import { HEADER } from '../src/sdk/tlog/receipt.js';
import { encodeConsistency, openConsistency, parseConsistency } from '../src/sdk/tlog/consistency.js';
import { DisclosureRefused, buildDisclosure, verify } from '../src/sdk/protocol/disclosure.js';

const te = (s) => new TextEncoder().encode(s);

function treeHash(hashes) {
  if (hashes.length === 1) return hashes[0];
  const k = 2 ** Math.floor(Math.log2(hashes.length - 1));
  return nodeHash(treeHash(hashes.slice(0, k)), treeHash(hashes.slice(k)));
}

function inclusionPath(m, hashes) {
  if (hashes.length === 1) return [];
  const k = 2 ** Math.floor(Math.log2(hashes.length - 1));
  return m < k ? [...inclusionPath(m, hashes.slice(0, k)), treeHash(hashes.slice(k))]
    : [...inclusionPath(m - k, hashes.slice(k)), treeHash(hashes.slice(0, k))];
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b). */
function subproof(m, hashes, whole) {
  if (m === hashes.length) return whole ? [] : [treeHash(hashes)];
  const k = 2 ** Math.floor(Math.log2(hashes.length - 1));
  return m <= k ? [...subproof(m, hashes.slice(0, k), whole), treeHash(hashes.slice(k))]
    : [...subproof(m - k, hashes.slice(k), false), treeHash(hashes.slice(0, k))];
}

const witnessSeed = hx('11'.repeat(32));
const witnessPub = ed25519.getPublicKey(witnessSeed);
const WITNESS = 'witness.example/w1';
const witnessVkey = `${WITNESS}+${Buffer.from(keyId(WITNESS, SIG_COSIGNATURE_V1, witnessPub)).toString('hex')}+`
  + b64Encode(concatBytes(Uint8Array.of(SIG_COSIGNATURE_V1), witnessPub));

/** The vectors' deployment with a witness listed, signed again by its administrator. */
function publishedWithWitness() {
  const doc = JSON.parse(utf8Decode(b64uDecode(V2.published.document)));
  doc.log.witnesses = [witnessVkey];
  doc.serial += 1;
  const bytes = canonicalJson(doc);
  const signature = ed25519.sign(concatBytes(SIGNING_PREFIX, bytes), hx(V2.admin.seed));
  return { published: { admin_key: V2.published.admin_key, document: b64uEncode(bytes), signature: b64uEncode(signature) }, doc };
}

function signedCheckpoint(origin, logSeed, hashes, cosignAt = null) {
  const body = `${origin}\n${hashes.length}\n${b64Encode(treeHash(hashes))}\n`;
  const logId = keyId(origin, SIG_ED25519, ed25519.getPublicKey(logSeed));
  let note = `${body}\n${EM_DASH} ${origin} ${b64Encode(concatBytes(logId, ed25519.sign(te(body), logSeed)))}\n`;
  if (cosignAt !== null) {
    const t = new Uint8Array(8);
    new DataView(t.buffer).setBigUint64(0, BigInt(cosignAt));
    const sig = ed25519.sign(concatBytes(te(`cosignature/v1\ntime ${cosignAt}\n`), te(body)), witnessSeed);
    note += `${EM_DASH} ${WITNESS} ${b64Encode(concatBytes(keyId(WITNESS, SIG_COSIGNATURE_V1, witnessPub), t, sig))}\n`;
  }
  return note;
}

/** A whole disclosure made the way the reporter app makes one: {doc, loggedAt, cosignedAt}. */
function makeCase() {
  const { published, doc: dep } = publishedWithWitness();
  const logSeed = hx(V2.log_seed);
  const entryId = randomBytes(16);
  const bodyKey = randomBytes(32);
  const plaintext = encodeBody({ record: 'He followed me home on 3 March. Ünïcode — kept.', identifiers: ['@him'], canonical: ['x:him'],
    contact: 'me@example.org', writtenAt: '2026-03-03T20:00:00+00:00', details: { where: 'the station' },
    attachments: [{ name: 'photo.txt', type: 'text/plain', data: te('a file') }] });
  const body = aead.seal(bodyKey, plaintext, concatBytes(BODY_AAD, entryId));
  const tags = [randomBytes(32), randomBytes(32)];
  const envelopes = [[randomBytes(16), randomBytes(300)]];
  const content = contentHash(2, tags, body, envelopes);
  const loggedAt = Date.UTC(2026, 2, 3, 20, 1, 2, 345);
  const time = new Uint8Array(8);
  new DataView(time.buffer).setBigUint64(0, BigInt(loggedAt));
  const event = concatBytes(Uint8Array.of(1), entryId, content, time);
  const nonce = randomBytes(32);
  const leaves = [...Array(5)].map(() => randomBytes(32));
  leaves.push(commit(nonce, event));
  const hashes = [...leaves.map(leafHash)];
  const index = hashes.length - 1;
  const receipt = [HEADER, `extra ${b64Encode(concatBytes(nonce, event))}`, `index ${index}`,
    ...inclusionPath(index, hashes).map(b64Encode)].join('\n') + '\n\n' + signedCheckpoint(dep.log.origin, logSeed, hashes);
  const older = hashes.length;
  for (let i = 0; i < 7; i++) hashes.push(leafHash(randomBytes(32)));
  const cosignedAt = Math.floor(loggedAt / 1000) + 3600;
  const consistency = encodeConsistency(older, subproof(older, hashes, true),
    signedCheckpoint(dep.log.origin, logSeed, hashes, cosignedAt));
  const entry = {
    entry_id: b64uEncode(entryId), quorum: 2, tags: tags.map(b64uEncode), body: b64uEncode(body),
    envelopes: envelopes.map(([k, c]) => ({ key_id: b64uEncode(k), ciphertext: b64uEncode(c) })),
  };
  const doc = buildDisclosure({ published, adminFingerprint: V2.admin.fingerprint.length === 32 ? hx(V2.admin.fingerprint)
    : V2.admin.fingerprint, entry, bodyKey, receipt, consistency });
  return { doc, loggedAt, cosignedAt, newer: hashes.length };
}

const copy = (doc) => JSON.parse(JSON.stringify(doc));
const flip = (b64u) => {
  const raw = b64uDecode(b64u);
  raw[raw.length - 1] ^= 1;
  return b64uEncode(raw);
};
/** Replace one base64 line of a text (a receipt's or bundle's) with the same bytes, one bit flipped. */
const flipLine = (text, pick) => text.split('\n').map((line, n, all) => {
  if (!pick(line, n, all)) return line;
  const [prefix, value] = line.includes(' ') ? [line.slice(0, line.lastIndexOf(' ') + 1), line.slice(line.lastIndexOf(' ') + 1)] : ['', line];
  const raw = Uint8Array.from(Buffer.from(value, 'base64'));
  raw[raw.length - 1] ^= 1;
  return prefix + Buffer.from(raw).toString('base64');
}).join('\n');

test('a disclosure made here is accepted, with the record, the log time and the witness time', async () => {
  const { doc, loggedAt, cosignedAt, newer } = makeCase();
  const r = await verify(doc);
  assert.equal(r.record, 'He followed me home on 3 March. Ünïcode — kept.');
  assert.equal(r.contact, 'me@example.org');
  assert.deepEqual(r.details, { where: 'the station' });
  assert.equal(r.attachments[0].name, 'photo.txt');
  assert.deepEqual([...r.attachments[0].data], [...te('a file')]);
  assert.equal(r.loggedAt.getTime(), loggedAt);
  assert.equal(r.newerSize, BigInt(newer));
  assert.deepEqual(r.witnesses.map((w) => [w.name, w.at.getTime()]), [[WITNESS, cosignedAt * 1000]]);
  assert.ok(r.checks.length >= 6);
});

test('without a consistency bundle it is accepted and seen by no witness', async () => {
  const { doc } = makeCase();
  doc.consistency = null;
  const r = await verify(doc);
  assert.equal(r.newerSize, null);
  assert.deepEqual(r.witnesses, []);
});

const TAMPER = {
  format: (d) => { d.format = 'consilience-disclosure/v2'; },
  'deployment.admin_key': (d) => { d.admin_fingerprint = flip(d.admin_fingerprint); },
  made_at: (d) => { d.made_at = 'yesterday'; },
  signature: (d) => { d.signature = 'added'; },
  deployment: (d) => { d.deployment.signature = flip(d.deployment.signature); },
  'entry.entry_id': (d) => { d.entry.entry_id = flip(d.entry.entry_id); },
  entry: (d) => { d.entry.quorum = 3; },
  'entry.tags[0]': (d) => { d.entry.tags[0] = 'short'; },
  body_key: (d) => { d.body_key = flip(d.body_key); },
  receipt: (d) => { d.receipt = flipLine(d.receipt, (line, n) => n === 3); },
  consistency: (d) => { d.consistency = flipLine(d.consistency, (line, n) => n === 2); },
};

for (const [field, tamper] of Object.entries(TAMPER)) {
  test(`a disclosure with ${field} tampered is refused, naming ${field}`, async () => {
    const { doc } = makeCase();
    const bad = copy(doc);
    tamper(bad);
    await assert.rejects(verify(bad), (err) => err instanceof DisclosureRefused && err.field === field
      && err.message.startsWith(`${field}: `));
  });
}

test('changed ciphertexts are refused as the entry, a changed body as the entry too (the content hash)', async () => {
  const { doc } = makeCase();
  for (const change of [(d) => { d.entry.body = flip(d.entry.body); }, (d) => { d.entry.envelopes[0].ciphertext = flip(d.entry.envelopes[0].ciphertext); }]) {
    const bad = copy(doc);
    change(bad);
    await assert.rejects(verify(bad), (err) => err.field === 'entry' && /content hash/.test(err.message));
  }
});

test("a witness's cosignature tampered, or its time changed, is refused as the consistency bundle", async () => {
  const { doc } = makeCase();
  const bad = copy(doc);
  bad.consistency = flipLine(doc.consistency, (line) => line.startsWith(`${EM_DASH} ${WITNESS}`));
  await assert.rejects(verify(bad), (err) => err.field === 'consistency' && /witness\.example\/w1/.test(err.message));
});

test('a bundle from another size than the receipt is refused', async () => {
  const { doc } = makeCase();
  const bad = copy(doc);
  bad.consistency = doc.consistency.replace(/^old \d+$/m, 'old 5');
  await assert.rejects(verify(bad), (err) => err.field === 'consistency' && /not at the receipt's size/.test(err.message));
});

test('consistency bundles parse strictly and check against the old root', () => {
  const hashes = [...Array(13)].map(() => leafHash(randomBytes(32)));
  const logSeed = hx(V2.log_seed);
  const origin = 'log.example/x';
  for (const m of [1, 2, 3, 4, 7, 8, 12, 13]) {
    const proof = subproof(m, hashes, true);
    verifyConsistency(m, 13, proof, treeHash(hashes.slice(0, m)), treeHash(hashes));
    const text = encodeConsistency(m, proof, signedCheckpoint(origin, logSeed, hashes));
    assert.equal(parseConsistency(text).oldSize, BigInt(m));
    const vkey = `${origin}+${Buffer.from(keyId(origin, SIG_ED25519, ed25519.getPublicKey(logSeed))).toString('hex')}+`
      + b64Encode(concatBytes(Uint8Array.of(SIG_ED25519), ed25519.getPublicKey(logSeed)));
    assert.equal(openConsistency(text, vkey, m, treeHash(hashes.slice(0, m))).checkpoint.size, 13n);
    if (m < 13) assert.throws(() => openConsistency(text, vkey, m, treeHash(hashes.slice(0, m + 1))), /root hash/);
  }
  assert.throws(() => parseConsistency('consilience-v1/consistency\nold 01\n\nx'), /leading zeros/);
  assert.throws(() => parseConsistency('other\nold 1\n\nx'), /not a consistency bundle/);
  assert.throws(() => parseConsistency('consilience-v1/consistency\nold 1\nAAAA\n\nx'), /32-byte hash/);
});

// Python's disclosures (H4's protocol/disclosure.py): the valid one accepted, every tampered one refused.
const VECTOR = path.join(ROOT, 'tests', 'vectors', 'disclosure_interop.json');
test('Python-made disclosures: the valid one is accepted, each tampered copy refused naming its field', { skip: !fs.existsSync(VECTOR) && 'tests/vectors/disclosure_interop.json is not written yet' }, async () => {
  const v = JSON.parse(fs.readFileSync(VECTOR, 'utf8'));
  const valid = v.valid ?? v.disclosure;
  const r = await verify(valid);
  assert.equal(r.record, v.expect.record);
  assert.equal(r.loggedAt.getTime(), v.expect.logged_at_ms);
  assert.equal(r.leafIndex, BigInt(v.expect.leaf_index));
  assert.deepEqual(r.witnesses.map((w) => ({ name: w.name, time: w.at.getTime() / 1000 })), v.expect.witnesses);
  const tampered = v.tampered ?? v.refusals ?? [];
  assert.ok(tampered.length > 0);
  for (const t of tampered) {
    const options = t.admin_fingerprint ? { adminFingerprint: t.admin_fingerprint } : {};
    await assert.rejects(verify(t.document, options), (err) => {
      assert.ok(err instanceof DisclosureRefused, `${t.name}: ${err}`);
      assert.equal(err.field.split(/[.[]/)[0], t.category, `${t.name}: ${err.message}`);
      return true;
    });
  }
});
