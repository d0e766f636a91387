// Sealed items after a match (web/src/sdk/protocol/conversations.js, PROTOCOL.md §13): round trips,
// refusals (wrong signer, wrong context, tampering, malformed inner documents), the interop vectors
// Python wrote (tests/vectors/conversations_interop.json: Python-sealed items open here, the
// deterministic parts are reproduced byte for byte), and the reporter's and counselor's activities
// (clients/conversations.js) against a small in-memory conversations server that, like the real one,
// stores ciphertexts and order only and hands each reader its own wrap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers.js';
import {
  DecryptionError, InvalidInput, VerificationError, b64uDecode, b64uEncode, bytesEqual, hexDecode, hexEncode,
  hpke, kdf, utf8Encode,
} from '../src/sdk/index.js';
import * as pc from '../src/sdk/protocol/conversations.js';
import * as talk from '../src/sdk/clients/conversations.js';
import { encodeBody, decodeBody } from '../src/sdk/protocol/entry.js';

const te = (s) => new TextEncoder().encode(s);
const seedOf = (n) => new Uint8Array(32).fill(n);
const id = (n) => new Uint8Array(16).fill(n);

async function counselorKeys(n) {
  const seed = seedOf(n);
  const publicKey = await hpke.publicKeyBytes(seed);
  return { seed, publicKey, keyId: await hpke.keyId(publicKey), signingSeed: pc.counselorSigningSeed(seed),
    vk: pc.counselorSigningKey(seed) };
}

test('keys: the messaging key is the X-Wing key of the seed and the Ed25519 key of the KDF-derived seed', async () => {
  const kp = await pc.messagingKeyPair(seedOf(3));
  assert.equal(kp.key.length, pc.MESSAGING_KEY_BYTES);
  assert.deepEqual(kp.mpk, await hpke.publicKeyBytes(seedOf(3)));
  assert.deepEqual(kp.signingSeed, kdf.derive(seedOf(3), 'consilience-v2 message signing key', new Uint8Array(0), 32));
  assert.deepEqual(kp.key.slice(1216), kp.vk);
  assert.deepEqual(kp.keyId, await hpke.keyId(kp.mpk));
  const parsed = await pc.parseMessagingKey(kp.key);
  assert.deepEqual(parsed.vk, kp.vk);
  assert.deepEqual(pc.counselorSigningSeed(seedOf(4)), kdf.derive(seedOf(4), 'consilience-v2 counselor signing key', new Uint8Array(0), 32));
  await assert.rejects(pc.parseMessagingKey(kp.key.slice(1)), InvalidInput);
  assert.throws(() => pc.checkMessagingKey(new Uint8Array(1248).fill(0xff)), /not a usable messaging key: its encryption half is invalid/);
});

test('an item: context, canonical inner, signature inside the AEAD, one 1168-byte wrap per distinct key', async () => {
  const reporter = await pc.messagingKeyPair(seedOf(3));
  const c = await counselorKeys(9);
  const doc = pc.textDoc({ sender: reporter.vk, text: 'hé \u2028 😀', entry: id(5), sentAt: '2026-12-01T10:00:00Z' });
  assert.equal(new TextDecoder().decode(pc.innerBytes(doc)),
    `{"entry":"${b64uEncode(id(5))}","sender":"${b64uEncode(reporter.vk)}","sent_at":"2026-12-01T10:00:00Z","text":"hé \u2028 😀","type":"text","v":1}`);
  const ctx = pc.itemContext(pc.KIND_MESSAGE, id(1), id(2));
  assert.deepEqual(ctx, Uint8Array.of(1, ...id(1), ...id(2)));
  const sealed = await pc.sealItem({ kind: pc.KIND_MESSAGE, scope: id(1), itemId: id(2), doc, signingSeed: reporter.signingSeed,
    recipients: [{ publicKey: reporter.mpk }, { publicKey: c.publicKey }, { publicKey: c.publicKey }] });
  assert.equal(sealed.wraps.length, 2); // the same key twice is one wrap
  for (const w of sealed.wraps) assert.equal(w.wrap.length, pc.WRAP_BYTES);
  assert.equal(sealed.content.length, 12 + 64 + pc.innerBytes(doc).length + 16);
  for (const [seed, wrap] of [[c.seed, sealed.wraps[1].wrap], [reporter.seed, sealed.wraps[0].wrap]]) {
    const item = await pc.openItem({ kind: pc.KIND_MESSAGE, scope: id(1), itemId: id(2), content: sealed.content, wrap, seed });
    assert.equal(item.text, 'hé \u2028 😀');
    assert.deepEqual(item.sender, reporter.vk);
    assert.deepEqual(item.entry, id(5));
    assert.equal(item.sentAt, '2026-12-01T10:00:00Z');
    pc.checkSender(item, [reporter.vk]);
    assert.throws(() => pc.checkSender(item, [c.vk], 'this message is not signed by a counselor of this deployment'),
      { name: 'VerificationError', message: 'this message is not signed by a counselor of this deployment' });
  }
  // another context: another conversation, another message id, another kind: nothing opens
  const open = (over) => pc.openItem({ kind: pc.KIND_MESSAGE, scope: id(1), itemId: id(2), content: sealed.content,
    wrap: sealed.wraps[1].wrap, seed: c.seed, ...over });
  await assert.rejects(open({ scope: id(7) }), DecryptionError);
  await assert.rejects(open({ itemId: id(7) }), DecryptionError);
  await assert.rejects(open({ kind: pc.KIND_NOTE }), DecryptionError);
  await assert.rejects(open({ wrap: sealed.wraps[0].wrap }), DecryptionError); // someone else's wrap
  const tampered = sealed.content.slice();
  tampered[40] ^= 1;
  await assert.rejects(open({ content: tampered }), DecryptionError);
  await assert.rejects(open({ wrap: sealed.wraps[1].wrap.slice(1) }), InvalidInput);
});

/** An item whose AEAD layer is sound but whose signature or inner bytes are what an attacker chose. */
async function forge(kind, scope, itemId, inner, signature, recipient) {
  const ctx = pc.itemContext(kind, scope, itemId);
  const { aead } = await import('../src/sdk/index.js');
  const k = aead.newKey();
  const content = aead.seal(k, new Uint8Array([...signature, ...inner]), new Uint8Array([...te('consilience-v2 item'), ...ctx]));
  const wrap = await hpke.seal(recipient.publicKey, k, pc.wrapInfo(ctx, recipient.keyId));
  return { content, wrap };
}

test('refusals: a signature by another key than the sender named, a non-canonical or malformed inner, the wrong kind', async () => {
  const reporter = await pc.messagingKeyPair(seedOf(3));
  const other = await pc.messagingKeyPair(seedOf(6));
  const c = await counselorKeys(9);
  const ctx = pc.itemContext(pc.KIND_MESSAGE, id(1), id(2));
  const openForged = async (inner, signer = reporter.signingSeed, kind = pc.KIND_MESSAGE) => {
    const { ed25519 } = await import('@noble/curves/ed25519.js');
    const sig = ed25519.sign(pc.signedBytes(pc.itemContext(kind, id(1), id(2)), inner), signer);
    const f = await forge(kind, id(1), id(2), inner, sig, c);
    return pc.openItem({ kind, scope: id(1), itemId: id(2), content: f.content, wrap: f.wrap, seed: c.seed });
  };
  const good = pc.innerBytes(pc.textDoc({ sender: reporter.vk, text: 'x', entry: id(5), sentAt: '2026-12-01T10:00:00Z' }));
  assert.equal((await openForged(good)).text, 'x');
  // signed by another key than the one it names: refused
  await assert.rejects(openForged(good, other.signingSeed), { name: 'VerificationError', message: /not signed by the key it names/ });
  // a signature over another context: refused
  const { ed25519 } = await import('@noble/curves/ed25519.js');
  const wrongCtx = ed25519.sign(pc.signedBytes(pc.itemContext(pc.KIND_MESSAGE, id(1), id(3)), good), reporter.signingSeed);
  const f = await forge(pc.KIND_MESSAGE, id(1), id(2), good, wrongCtx, c);
  await assert.rejects(pc.openItem({ kind: pc.KIND_MESSAGE, scope: id(1), itemId: id(2), content: f.content, wrap: f.wrap, seed: c.seed }),
    VerificationError);
  assert.ok(ctx.length === 33);
  const sender = b64uEncode(reporter.vk);
  const cases = [
    [`{"sender":"${sender}", "sent_at":"2026-12-01T10:00:00Z","text":"x","type":"text","v":1}`, /not canonical/],
    [`{"type":"text","v":1,"sender":"${sender}","sent_at":"2026-12-01T10:00:00Z","text":"x"}`, /not canonical/],
    [`{"sender":"${sender}","sent_at":"2026-12-01T10:00:00Z","text":"x","type":"text","v":2}`, /unknown version/],
    [`{"sender":"${sender}","sent_at":"2026-12-01T10:00:00Z","text":"x","type":"poke","v":1}`, /unknown type 'poke'/],
    [`{"sender":"${sender}","sent_at":"2026-12-01T10:00:00Z","type":"text","v":1}`, /missing text/],
    [`{"color":"red","sender":"${sender}","sent_at":"2026-12-01T10:00:00Z","text":"x","type":"text","v":1}`, /unexpected color/],
    [`{"sender":"${sender}","sent_at":"2026-12-01T10:00:00+00:00","text":"x","type":"text","v":1}`, /sent_at/],
    [`{"sender":"${sender}","sent_at":"2026-02-30T10:00:00Z","text":"x","type":"text","v":1}`, /sent_at/],
    [`{"sender":"${sender}","sent_at":"2026-12-01T10:00:00Z","text":"","type":"text","v":1}`, /needs text or an attachment/],
    [`{"sender":"${sender}","sent_at":"2026-12-01T10:00:00Z","text":5,"type":"text","v":1}`, /text is a string/],
    [`{"contact":"","sender":"${sender}","sent_at":"2026-12-01T10:00:00Z","type":"reveal","v":1}`, /cannot be empty/],
    [`{"introduction":"${b64uEncode(id(4))}","sender":"${sender}","sent_at":"2026-12-01T10:00:00Z","text":"hi","type":"introduction","v":1}`, /missing entry, to/],
    [`{"sender":"${sender}","sent_at":"2026-12-01T10:00:00Z","text":"x","to":"AAAA","type":"text","v":1}`, /to/],
  ];
  for (const [inner, why] of cases) await assert.rejects(openForged(te(inner)), { name: 'InvalidInput', message: why }, inner);
  // a note is not a message: the kind each type travels as is checked
  const note = pc.innerBytes(pc.noteDoc({ sender: reporter.vk, text: 'n', sentAt: '2026-12-01T10:00:00Z' }));
  await assert.rejects(openForged(note), { name: 'InvalidInput', message: /cannot be an item of kind message/ });
  await assert.rejects(pc.sealItem({ kind: pc.KIND_MESSAGE, scope: id(1), itemId: id(2), doc: pc.noteDoc({ sender: c.vk, text: 'n' }),
    signingSeed: c.signingSeed, recipients: [c] }), /sent as item kind note/);
  // sealing in someone else's name is refused before anything is made
  await assert.rejects(pc.sealItem({ kind: pc.KIND_MESSAGE, scope: id(1), itemId: id(2),
    doc: pc.textDoc({ sender: other.vk, text: 'x' }), signingSeed: reporter.signingSeed, recipients: [c] }), InvalidInput);
  await assert.rejects(pc.sealItem({ kind: pc.KIND_MESSAGE, scope: id(1), itemId: id(2),
    doc: pc.textDoc({ sender: reporter.vk, text: 'x' }), signingSeed: reporter.signingSeed, recipients: [] }), /1 to 64 keys/);
});

test('rosters and cards: members sorted by the bytes of their key, names of 1 to 64 characters', async () => {
  const a = await pc.messagingKeyPair(seedOf(3));
  const b = await pc.messagingKeyPair(seedOf(6));
  const c = await counselorKeys(9);
  const doc = pc.rosterDoc({ sender: c.vk, introduction: id(4), members: [{ name: 'Bo', key: b.key }, { name: 'Al', key: a.key }],
    sentAt: '2026-12-01T10:00:00Z' });
  const order = [a, b].sort((x, y) => (hexEncode(x.key) < hexEncode(y.key) ? -1 : 1));
  assert.deepEqual(doc.members.map((m) => m.key), order.map((x) => b64uEncode(x.key)));
  const sealed = await pc.sealItem({ kind: pc.KIND_MESSAGE, scope: id(1), itemId: id(2), doc, signingSeed: c.signingSeed, recipients: [c] });
  const item = await pc.openItem({ kind: pc.KIND_MESSAGE, scope: id(1), itemId: id(2), content: sealed.content, wrap: sealed.wraps[0].wrap, seed: c.seed });
  assert.deepEqual(item.members.map((m) => m.key), order.map((x) => x.key));
  const unsorted = { ...doc, members: [...doc.members].reverse() };
  assert.throws(() => pc.parseInner(pc.innerBytes(unsorted)), /sorted by key/);
  assert.equal(pc.checkDisplayName('x'.repeat(64)), 'x'.repeat(64));
  assert.equal(pc.checkDisplayName('😀'.repeat(64)), '😀'.repeat(64)); // characters, not UTF-16 units
  assert.throws(() => pc.checkDisplayName('x'.repeat(65)), /1 to 64 characters/);
  assert.throws(() => pc.checkDisplayName(''), /1 to 64 characters/);
  const card = pc.cardDoc({ sender: a.vk, introduction: id(4), name: 'Al', key: a.key, sentAt: '2026-12-01T10:00:00Z' });
  const sealedCard = await pc.sealItem({ kind: pc.KIND_CARD, scope: id(4), itemId: id(8), doc: card, signingSeed: a.signingSeed,
    recipients: [c, { publicKey: a.mpk }] });
  const opened = await pc.openItem({ kind: pc.KIND_CARD, scope: id(4), itemId: id(8), content: sealedCard.content,
    wrap: sealedCard.wraps[0].wrap, seed: c.seed });
  assert.equal(opened.name, 'Al');
  assert.deepEqual(opened.key, a.key);
});

test('entry bodies carry the messaging key only when there is one (earlier bodies keep their bytes)', async () => {
  const kp = await pc.messagingKeyPair(seedOf(3));
  const body = { record: 'r', identifiers: ['a@b.c'], canonical: ['email:a@b.c'], contact: '', writtenAt: '2026-12-01T10:00:00+00:00' };
  const without = encodeBody(body);
  assert.equal(new TextDecoder().decode(without).includes('messaging_key'), false);
  assert.equal(decodeBody(without).messagingKey, null);
  const withKey = encodeBody({ ...body, messagingKey: kp.key });
  assert.match(new TextDecoder().decode(withKey), new RegExp(`"messaging_key":"${b64uEncode(kp.key)}"`));
  assert.deepEqual(decodeBody(withKey).messagingKey, kp.key);
  assert.throws(() => encodeBody({ ...body, messagingKey: kp.key.slice(1) }), InvalidInput);
});

// --- interop with Python -------------------------------------------------------------------

const VECTOR_FILE = path.join(ROOT, 'tests', 'vectors', 'conversations_interop.json');

test('interop: Python-sealed items open here, the fixed parts are byte for byte the same, refusals and checks say what Python says', async () => {
  const V = JSON.parse(fs.readFileSync(VECTOR_FILE, 'utf8'));
  await checkVectors(V);
});

async function checkVectors(V) {
  const h = hexDecode;
  const C = V.constants;
  assert.deepEqual([pc.ITEM_SIGNATURE_LABEL, pc.ITEM_AAD, pc.ITEM_KEY_INFO].map((x) => new TextDecoder().decode(x)),
    [C.signature_label, C.content_aad, C.wrap_info]);
  assert.deepEqual([pc.MESSAGE_SIGNING_LABEL, pc.COUNSELOR_SIGNING_LABEL, pc.CONTEXT_BYTES, pc.MESSAGING_KEY_BYTES, pc.WRAP_BYTES,
    pc.MAX_WRAPS, pc.MAX_ROSTER, pc.MAX_NAME_CHARS], [C.message_signing_label, C.counselor_signing_label, C.context_bytes,
    C.message_key_bytes, C.wrap_bytes, C.max_wraps, C.max_roster, C.max_name_chars]);
  assert.deepEqual([pc.KIND_MESSAGE, pc.KIND_CARD, pc.KIND_NOTE], [C.kinds.message, C.kinds.card, C.kinds.note]);
  // keys, from their seeds
  const seeds = {};
  const keys = {};
  for (const r of V.reporters) {
    const kp = await pc.messagingKeyPair(h(r.message_seed));
    assert.equal(hexEncode(kp.mpk), r.hpke_public);
    assert.equal(hexEncode(kp.signingSeed), r.signing_seed);
    assert.equal(hexEncode(kp.vk), r.verify_key);
    assert.equal(hexEncode(kp.key), r.messaging_key);
    assert.equal(hexEncode(kp.keyId), r.key_id);
    seeds[r.label] = { seed: kp.seed, signingSeed: kp.signingSeed };
    keys[r.label] = kp.key;
  }
  const counselors = {};
  for (const c of V.counselors) {
    assert.equal(hexEncode(await hpke.publicKeyBytes(h(c.hpke_seed))), c.public_key);
    assert.equal(hexEncode(await hpke.keyId(h(c.public_key))), c.key_id);
    assert.equal(hexEncode(pc.counselorSigningSeed(h(c.hpke_seed))), c.signing_seed);
    assert.equal(hexEncode(pc.counselorSigningKey(h(c.hpke_seed))), c.signing_key);
    seeds[c.label] = { seed: h(c.hpke_seed), signingSeed: h(c.signing_seed) };
    counselors[c.label] = { name: c.name, keyId: h(c.key_id), publicKey: h(c.public_key), signingKey: h(c.signing_key) };
  }
  const deployment = { counselors: V.document_counselors.map((l) => counselors[l]) };
  const { ed25519 } = await import('@noble/curves/ed25519.js');
  // every item: the fixed parts recomputed byte for byte, then opened by each of its recipients
  const opened = {};
  for (const item of V.items) {
    const ctx = pc.itemContext(item.kind, h(item.scope), h(item.item_id));
    assert.equal(hexEncode(ctx), item.context, item.label);
    assert.equal(hexEncode(pc.innerBytes(item.inner)), item.inner_bytes, item.label);
    assert.equal(hexEncode(pc.signedBytes(ctx, h(item.inner_bytes))), item.signed_bytes, item.label);
    assert.equal(hexEncode(ed25519.sign(h(item.signed_bytes), seeds[item.signer].signingSeed)), item.signature, item.label);
    assert.deepEqual(item.wraps.map((w) => w.recipient), item.recipients);
    for (const w of item.wraps) {
      assert.equal(hexEncode(pc.wrapInfo(ctx, h(w.key_id))), w.info);
      const got = await pc.openItem({ kind: item.kind, scope: h(item.scope), itemId: h(item.item_id), content: h(item.content),
        wrap: h(w.wrap), seed: seeds[w.recipient].seed, keyId: h(w.key_id) });
      assert.equal(got.type, item.type, item.label);
      assert.equal(hexEncode(got.signature), item.signature);
      assert.equal(got.entry ? hexEncode(got.entry) : null, item.entry, item.label);
      assert.equal(got.to ? hexEncode(got.to) : null, item.to, item.label);
      assertPayload(got, item.payload, item.label);
      opened[item.label] = got;
    }
    // and the same inner, sealed here, opens with the same result (a JS-sealed item of the same bytes)
    const again = await pc.sealItem({ kind: item.kind, scope: h(item.scope), itemId: h(item.item_id), doc: item.inner,
      signingSeed: seeds[item.signer].signingSeed, recipients: item.wraps.map((w) => ({ publicKey: w.recipient in counselors
        ? counselors[w.recipient].publicKey : keys[w.recipient].slice(0, 1216) })) });
    const back = await pc.openItem({ kind: item.kind, scope: h(item.scope), itemId: h(item.item_id), content: again.content,
      wrap: again.wraps[0].wrap, seed: seeds[item.wraps[0].recipient].seed });
    assert.equal(hexEncode(back.signature), item.signature, item.label);
  }
  for (const r of V.rewrapped) {
    const item = V.items.find((x) => x.label === r.item);
    const got = await pc.openItem({ kind: item.kind, scope: h(item.scope), itemId: h(item.item_id), content: h(item.content),
      wrap: h(r.wrap), seed: seeds[r.to].seed });
    assert.equal(got.type, item.type);
    assert.equal(hexEncode(counselors[r.to].keyId), r.key_id);
    // and a re-wrap made here opens too
    const from = item.wraps.find((w) => w.recipient === r.from);
    const mine = await pc.rewrap({ kind: item.kind, scope: h(item.scope), itemId: h(item.item_id), wrap: h(from.wrap),
      seed: seeds[r.from].seed, newPublicKey: counselors[r.to].publicKey });
    assert.equal(hexEncode(mine.keyId), r.key_id);
    await pc.openItem({ kind: item.kind, scope: h(item.scope), itemId: h(item.item_id), content: h(item.content), wrap: mine.wrap,
      seed: seeds[r.to].seed });
  }
  for (const bad of V.refused) {
    await assert.rejects(pc.openItem({ kind: bad.kind, scope: h(bad.scope), itemId: h(bad.item_id), content: h(bad.content),
      wrap: h(bad.wrap), seed: seeds[bad.opener].seed }), (err) => {
      assert.equal(err.name, bad.error, bad.what);
      assert.equal(err.message, bad.message, bad.what);
      return true;
    }, bad.what);
  }
  for (const c of V.checks) {
    const item = opened[c.item];
    const run = () => {
      if (c.check === 'direct') {
        const who = pc.checkDirect(item, deployment, { entryId: h(c.entry), reporterKey: keys[c.reporter] });
        return who ? `counselor:${labelOf(counselors, who)}` : 'reporter';
      }
      if (c.check === 'group') {
        const who = pc.checkGroup(item, deployment, c.roster ? opened[c.roster] : null);
        return who.counselor ? `counselor:${labelOf(counselors, who.counselor)}`
          : `member:${Object.keys(keys).find((l) => bytesEqual(keys[l], who.member.key))}`;
      }
      if (c.check === 'card') {
        pc.checkCard(item, { introductionId: h(c.introduction), conversationId: h(c.conversation), reporterKey: keys[c.reporter] });
        return 'card';
      }
      return `counselor:${labelOf(counselors, pc.checkNote(item, deployment))}`;
    };
    if (c.error) assert.throws(run, (err) => err.name === c.error && err.message === c.message, c.what);
    else assert.equal(run(), c.result, c.what);
  }
  for (const r of V.messaging_key_refusals) assert.throws(() => pc.checkMessagingKey(h(r.hex)), { message: r.message }, r.what);
}

function labelOf(counselors, c) {
  return Object.keys(counselors).find((l) => bytesEqual(counselors[l].signingKey, c.signingKey));
}

/** open_item's payload fields (hex for bytes) against what the JS opener returned. */
function assertPayload(got, payload, label) {
  for (const [k, v] of Object.entries(payload)) {
    const mine = got[k];
    if (k === 'attachments') {
      assert.deepEqual(mine.map((a) => ({ name: a.name, type: a.type, data: hexEncode(a.data) })), v, label);
    } else if (k === 'members') {
      assert.deepEqual(mine.map((m) => ({ name: m.name, key: hexEncode(m.key) })), v.map((m) => ({ name: m.name, key: m.key })), label);
    } else if (mine instanceof Uint8Array) {
      assert.equal(hexEncode(mine), v, `${label}: ${k}`);
    } else {
      assert.equal(mine, v, `${label}: ${k}`);
    }
  }
}

// --- the activities, against an in-memory server ------------------------------------------------

/**
 * What the escrow server does for §13.3/§13.4, in memory: conversations with members, ordered messages
 * keeping each wrap by key id and handing each reader only its own, introductions with invites and cards.
 * It never opens anything (it has no key).
 */
function memoryServer({ counselorKeyIds, accounts }) {
  const conversations = new Map();
  const introductions = new Map();
  let seq = 0;
  const now = () => new Date().toISOString();
  const api = (who) => ({
    async putMessageKey() {},
    async conversations(matchId = null) {
      return [...conversations.values()].filter((c) => (who.counselor ? (!matchId || c.match_id === b64(matchId)) : c.members.has(who.account)))
        .map((c) => ({ conversation_id: c.conversation_id, kind: c.kind, match_id: who.counselor ? c.match_id : null,
          entry_id: c.entry_id, introduction_id: c.introduction_id, last_seq: c.messages.at(-1)?.seq ?? 0, messages: c.messages.length }));
    },
    async startConversation(cid, matchId, entryId) {
      const existing = [...conversations.values()].find((c) => c.entry_id === b64(entryId));
      if (existing) throw Object.assign(new (await import('../src/sdk/index.js')).ApiError(409, 'conflict', 'exists'), {});
      const c = { conversation_id: b64(cid), kind: 'direct', match_id: b64(matchId), entry_id: b64(entryId), introduction_id: null,
        members: new Set([accounts.get(b64(entryId))]), messages: [] };
      conversations.set(c.conversation_id, c);
      return c;
    },
    async messages(cid, { after = 0 } = {}) {
      const c = conversations.get(b64(cid));
      if (!c || (!who.counselor && !c.members.has(who.account))) throw new (await import('../src/sdk/index.js')).ApiError(404, 'not_found', 'no');
      const page = c.messages.filter((m) => m.seq > after).slice(0, 100);
      return { messages: page.map((m) => ({ seq: m.seq, message_id: m.message_id, from: m.from, content: m.content,
        wrap: m.wraps.get(who.keyId()) ?? null, received_at: m.received_at })), next_after: page.at(-1)?.seq ?? after };
    },
    async postMessage(cid, messageId, sealed) {
      const c = conversations.get(b64(cid));
      if (!c || (!who.counselor && !c.members.has(who.account))) throw new (await import('../src/sdk/index.js')).ApiError(404, 'not_found', 'no');
      seq += 1;
      c.messages.push({ seq, message_id: b64(messageId), from: who.counselor ? 'counselor' : 'reporter', content: sealed.content,
        wraps: new Map(sealed.wraps.map((w) => [w.key_id, w.wrap])), received_at: now() });
      return { seq, received_at: now() };
    },
    async introduce(matchId, iid, gid, cids) {
      conversations.set(b64(gid), { conversation_id: b64(gid), kind: 'group', match_id: b64(matchId), entry_id: null,
        introduction_id: b64(iid), members: new Set(), messages: [] });
      introductions.set(b64(iid), { match_id: b64(matchId), group: b64(gid), invited: cids.map(b64), accepted: [] });
    },
    async introduction(iid) {
      const i = introductions.get(b64(iid));
      if (who.counselor) {
        return { introduction_id: b64(iid), match_id: i.match_id, group_conversation_id: i.group, invited: i.invited,
          accepted: i.accepted.map((a) => ({ conversation_id: a.conversation_id, accepted_at: a.at,
            card: { content: a.card.content, wrap: a.card.wraps.find((w) => w.key_id === who.keyId())?.wrap ?? null } })) };
      }
      const mine = i?.invited.find((x) => conversations.get(x).members.has(who.account));
      if (!mine) throw new (await import('../src/sdk/index.js')).ApiError(404, 'not_found', 'no');
      return { introduction_id: b64(iid), group_conversation_id: i.group, accepted: i.accepted.some((a) => a.conversation_id === mine) };
    },
    async acceptIntroduction(iid, cid, card) {
      const i = introductions.get(b64(iid));
      i.accepted.push({ conversation_id: b64(cid), card, at: now() });
      conversations.get(i.group).members.add(who.account);
    },
  });
  return { api, conversations, introductions };
}

const b64 = (x) => (typeof x === 'string' ? x : b64uEncode(x));

test('a counselor and three reporters: messages both ways, a reveal, an introduction two accept and one declines', async () => {
  const c = await counselorKeys(9);
  const deployment = { counselors: [{ name: 'Robin', keyId: c.keyId, publicKey: c.publicKey, signingKey: c.vk }] };
  const entries = [id(11), id(12), id(13)];
  const accounts = new Map(entries.map((e, i) => [b64(e), `acct${i}`]));
  const server = memoryServer({ counselorKeyIds: [b64(c.keyId)], accounts });
  const reporters = [];
  for (let i = 0; i < 3; i++) {
    const kp = await pc.messagingKeyPair(seedOf(20 + i));
    const wallet = { message_seed: b64uEncode(kp.seed), message_key_registered: true, declined: [], seen: {}, contact: `r${i}@example.org`,
      records: [{ record_id: `rec${i}`, escrow: { entry_id: b64(entries[i]) } }] };
    const session = { wallet, api: server.api({ account: `acct${i}`, keyId: () => b64(kp.keyId) }), deployment: async () => deployment,
      save: async () => {} };
    reporters.push({ kp, wallet, session, record: wallet.records[0] });
  }
  const ctx = { api: server.api({ counselor: true, keyId: () => b64(c.keyId) }), deployment, seed: c.seed, keyId: c.keyId, publicKey: c.publicKey };
  const match = id(30);
  for (let i = 0; i < 3; i++) await talk.message(ctx, match, entries[i], reporters[i].kp.key, `Hello ${i}, I am Robin.`);
  // each reporter reads the counselor's message, named from the signed document
  for (let i = 0; i < 3; i++) {
    const [listed] = await talk.listConversations(reporters[i].session);
    assert.equal(listed.new, 1);
    assert.equal(listed.recordId, `rec${i}`);
    const v = await talk.readRecord(reporters[i].session, reporters[i].record);
    assert.deepEqual(v.messages.map((m) => [m.author, m.name, m.text]), [['counselor', 'Robin', `Hello ${i}, I am Robin.`]]);
    assert.equal((await talk.listConversations(reporters[i].session))[0].new, 0); // read on this device
  }
  await talk.reply(reporters[0].session, reporters[0].record, 'Thank you.', [{ name: 'a.txt', type: 'text/plain', data: te('file') }]);
  await talk.reveal(reporters[0].session, reporters[0].record, 'Call me on 0123');
  const direct = await talk.directConversations(ctx, match);
  const { view, pinned } = await talk.readDirectCounselor(ctx, direct.get(b64(entries[0])));
  assert.deepEqual(pinned, reporters[0].kp.key);
  assert.deepEqual(view.messages.map((m) => [m.author, m.type]), [['counselor', 'text'], ['reporter', 'text'], ['reporter', 'reveal']]);
  assert.equal(view.contact, 'Call me on 0123');
  assert.deepEqual(view.messages[1].attachments.map((a) => [a.name, new TextDecoder().decode(a.data)]), [['a.txt', 'file']]);

  // a message signed by someone the document does not list is refused, not shown, on both sides
  const intruder = await counselorKeys(44);
  const cid = b64uDecode(direct.get(b64(entries[1])).conversation_id, 16);
  const forged = await pc.sealItem({ kind: pc.KIND_MESSAGE, scope: cid, itemId: id(99),
    doc: pc.textDoc({ sender: intruder.vk, text: 'I am a counselor too', entry: entries[1], to: reporters[1].kp.key }),
    signingSeed: intruder.signingSeed, recipients: [{ publicKey: reporters[1].kp.mpk }, c] });
  await ctx.api.postMessage(cid, id(99), pc.sealedItemJson(forged));
  const seen1 = await talk.readRecord(reporters[1].session, reporters[1].record);
  assert.deepEqual(seen1.messages.map((m) => m.text), ['Hello 1, I am Robin.']);
  assert.deepEqual(seen1.refused.map((r) => r.reason), ['this message is not signed by a counselor of this deployment nor by the reporter']);
  // and a counselor message written to another reporter's key is refused too (moved between conversations)
  const moved = await pc.sealItem({ kind: pc.KIND_MESSAGE, scope: cid, itemId: id(98),
    doc: pc.textDoc({ sender: c.vk, text: 'moved', entry: entries[1], to: reporters[2].kp.key }),
    signingSeed: c.signingSeed, recipients: [{ publicKey: reporters[1].kp.mpk }, c] });
  await ctx.api.postMessage(cid, id(98), pc.sealedItemJson(moved));
  assert.match((await talk.readRecord(reporters[1].session, reporters[1].record)).refused[1].reason, /another reporter's key/);

  // the introduction
  const proposed = await talk.introduce(ctx, match);
  assert.equal(proposed.invited.length, 3);
  const offers = await Promise.all(reporters.map((r) => talk.introductions(r.session)));
  for (const o of offers) assert.deepEqual(o.map((x) => [x.state, x.counselor]), [['open', 'Robin']]);
  await talk.accept(reporters[0].session, proposed.introductionId, 'Ash');
  await talk.accept(reporters[1].session, proposed.introductionId, 'Birch');
  const before = server.introductions.get(proposed.introductionId).accepted.length;
  const requests = [];
  const spy = reporters[2].session.api;
  reporters[2].session.api = new Proxy(spy, { get: (t, k) => (...a) => { requests.push(k); return t[k](...a); } });
  const declined = await talk.decline(reporters[2].session, proposed.introductionId);
  assert.equal(declined.state, 'declined');
  assert.deepEqual(requests.filter((k) => !['conversations', 'messages', 'introduction'].includes(k)), []); // nothing written anywhere
  assert.equal(server.introductions.get(proposed.introductionId).accepted.length, before);
  assert.deepEqual(reporters[2].wallet.declined, [proposed.introductionId]);
  assert.deepEqual((await talk.introductions(reporters[2].session)).map((x) => x.state), ['declined']);

  const g = await talk.groupCounselor(ctx, proposed.introductionId, { send: 'Welcome, both of you.' });
  assert.deepEqual(g.accepted.sort(), ['Ash', 'Birch']);
  assert.equal(g.rosterPosted, true);
  assert.deepEqual(g.refusedCards, []);
  // what the counselor sees and what a non-member could: the declined reporter is no member, gets nothing
  await assert.rejects(talk.group(reporters[2].session, proposed.introductionId), /not joined/);
  await talk.group(reporters[0].session, proposed.introductionId, { send: 'Hi Birch' });
  const birch = await talk.group(reporters[1].session, proposed.introductionId, { send: 'Hi Ash' });
  assert.deepEqual(birch.members.sort(), ['Ash', 'Birch']);
  assert.deepEqual(birch.messages.map((m) => [m.author, m.name, m.type === 'roster' ? 'roster' : m.text]), [
    ['counselor', 'Robin', 'roster'], ['counselor', 'Robin', 'Welcome, both of you.'], ['member', 'Ash', 'Hi Birch'], ['you', 'Birch', 'Hi Ash']]);
  const groupConv = server.conversations.get(proposed.groupConversationId);
  for (const m of groupConv.messages) assert.equal(m.wraps.has(b64(reporters[2].kp.keyId)), false); // never wrapped to the one who declined
  // the counselor's roster does not move when nothing changed
  assert.equal((await talk.groupCounselor(ctx, proposed.introductionId)).rosterPosted, false);
});

test('the deployment document: a counselor signing key is read and written back only when listed; a repeated or short one is refused', async () => {
  const { V2 } = await import('./v2_vectors.js');
  const { verifyDeployment, forgetCheckedDeployments, SIGNING_PREFIX, canonicalJson } = await import('../src/sdk/protocol/deployment.js');
  const { ed25519 } = await import('@noble/curves/ed25519.js');
  const doc = JSON.parse(new TextDecoder().decode(b64uDecode(V2.published.document)));
  const publish = (d) => {
    const bytes = canonicalJson(d);
    return { document: b64uEncode(bytes), admin_key: V2.published.admin_key,
      signature: b64uEncode(ed25519.sign(new Uint8Array([...SIGNING_PREFIX, ...bytes]), hexDecode(V2.admin.seed))) };
  };
  const fingerprint = hexDecode(V2.admin.fingerprint);
  const before = await verifyDeployment(V2.published, fingerprint);
  assert.deepEqual(before.counselors.map((c) => c.signingKey), doc.counselors.map(() => null)); // documents made before keep verifying
  const keys = doc.counselors.map((_, i) => pc.counselorSigningKey(seedOf(60 + i)));
  const withKeys = { ...doc, counselors: doc.counselors.map((c, i) => (i === 0 ? { ...c, signing_key: b64uEncode(keys[0]) } : c)) };
  forgetCheckedDeployments();
  const after = await verifyDeployment(publish(withKeys), fingerprint);
  assert.deepEqual(after.counselors[0].signingKey, keys[0]);
  assert.equal(after.counselors[1].signingKey, null);
  assert.equal(pc.counselorSigners(after).get(b64uEncode(keys[0])).name, doc.counselors[0].name);
  const twice = { ...doc, counselors: doc.counselors.map((c) => ({ ...c, signing_key: b64uEncode(keys[0]) })) };
  await assert.rejects(verifyDeployment(publish(twice), fingerprint), { message: 'a counselor signing key appears twice' });
  const short = { ...doc, counselors: doc.counselors.map((c, i) => (i === 0 ? { ...c, signing_key: b64uEncode(keys[0].slice(1)) } : c)) };
  await assert.rejects(verifyDeployment(publish(short), fingerprint), /signing_key/);
});
