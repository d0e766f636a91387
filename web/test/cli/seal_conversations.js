#!/usr/bin/env node
// JS -> Python interop for sealed items after a match (PROTOCOL.md §13.2): the browser SDK seals one
// item of every type with the fixed test keys of tests/vectors/conversations_interop.json (reporters
// R1..R3, counselors C1..C3), re-wraps one to a new counselor, and writes an entry body with a messaging
// key; it prints JSON for tests/test_interop_conversations_js.py to open with protocol/conversations.py.
//   node web/test/cli/seal_conversations.js > out.json
// All bytes are lowercase hex.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hpke from '../../src/sdk/crypto/hpke.js';
import * as pc from '../../src/sdk/protocol/conversations.js';
import { encodeBody } from '../../src/sdk/protocol/entry.js';
import { hexDecode as h, hexEncode as hex } from '../../src/sdk/protocol/encoding.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const V = JSON.parse(fs.readFileSync(path.join(here, '..', '..', '..', 'tests', 'vectors', 'conversations_interop.json'), 'utf8'));
const SENT_AT = '2026-12-01T11:00:00Z';

const people = {};
for (const r of V.reporters) {
  const kp = await pc.messagingKeyPair(h(r.message_seed));
  people[r.label] = { seed: kp.seed, signingSeed: kp.signingSeed, vk: kp.vk, publicKey: kp.mpk, key: kp.key };
}
for (const c of V.counselors) {
  const seed = h(c.hpke_seed);
  people[c.label] = { seed, signingSeed: pc.counselorSigningSeed(seed), vk: pc.counselorSigningKey(seed),
    publicKey: await hpke.publicKeyBytes(seed) };
}
const idOf = (byte) => new Uint8Array(16).fill(byte);
const ENTRY = idOf(0xe1);
const DIRECT = idOf(0xd1);
const GROUP = idOf(0x9a);
const INTRO = idOf(0x17);
const CASE = idOf(0xca);

async function seal(label, kind, scope, itemId, signer, doc, recipients) {
  const sealed = await pc.sealItem({ kind, scope, itemId, doc, signingSeed: people[signer].signingSeed,
    recipients: recipients.map((r) => ({ publicKey: people[r].publicKey })) });
  const context = pc.itemContext(kind, scope, itemId);
  return {
    label, kind, scope: hex(scope), item_id: hex(itemId), signer, type: doc.type, inner_bytes: hex(pc.innerBytes(doc)),
    context: hex(context), content: hex(sealed.content),
    wraps: sealed.wraps.map((w, i) => ({ recipient: recipients[i], key_id: hex(w.keyId), wrap: hex(w.wrap) })),
  };
}

const direct = ['C1', 'C2', 'R1'];
const items = [
  await seal('counselor text', pc.KIND_MESSAGE, DIRECT, idOf(0x31), 'C1',
    pc.textDoc({ sender: people.C1.vk, text: 'Hello from the browser. You can answer here.', entry: ENTRY, to: people.R1.key, sentAt: SENT_AT }), direct),
  await seal('reporter text with an attachment', pc.KIND_MESSAGE, DIRECT, idOf(0x32), 'R1',
    pc.textDoc({ sender: people.R1.vk, text: 'é \u2028 😀 "quoted" \\ back', entry: ENTRY, sentAt: SENT_AT,
      attachments: [{ name: 'note.txt', type: 'text/plain', data: new TextEncoder().encode('plate AB12') }] }), direct),
  await seal('reporter reveal', pc.KIND_MESSAGE, DIRECT, idOf(0x33), 'R1',
    pc.revealDoc({ sender: people.R1.vk, contact: 'ana@example.org', text: 'Write to me there.', entry: ENTRY, sentAt: SENT_AT }), direct),
  await seal('introduction', pc.KIND_MESSAGE, DIRECT, idOf(0x34), 'C2',
    pc.introductionDoc({ sender: people.C2.vk, introduction: INTRO, text: 'Others named the same person.', entry: ENTRY, to: people.R1.key,
      sentAt: SENT_AT }), direct),
  await seal('card', pc.KIND_CARD, INTRO, DIRECT, 'R1',
    pc.cardDoc({ sender: people.R1.vk, introduction: INTRO, name: 'Ana 🌱', key: people.R1.key, sentAt: SENT_AT }), direct),
  await seal('roster', pc.KIND_MESSAGE, GROUP, idOf(0x35), 'C1',
    pc.rosterDoc({ sender: people.C1.vk, introduction: INTRO, members: [{ name: 'Ana 🌱', key: people.R1.key }, { name: 'Bo', key: people.R2.key }],
      sentAt: SENT_AT }), ['C1', 'C2', 'R1', 'R2']),
  await seal('group text by a member', pc.KIND_MESSAGE, GROUP, idOf(0x36), 'R2',
    pc.textDoc({ sender: people.R2.vk, text: 'Hi, Ana.', sentAt: SENT_AT }), ['C1', 'C2', 'R1', 'R2']),
  await seal('note', pc.KIND_NOTE, CASE, idOf(0x37), 'C2', pc.noteDoc({ sender: people.C2.vk, text: 'Called back; wants time.', sentAt: SENT_AT }),
    ['C1', 'C2']),
];
const first = items[0];
const rewrapped = await pc.rewrap({ kind: first.kind, scope: h(first.scope), itemId: h(first.item_id), wrap: h(first.wraps[0].wrap),
  seed: people.C1.seed, newPublicKey: people.C3.publicKey });
const body = encodeBody({ record: 'r', identifiers: ['a@b.org'], canonical: ['email:a@b.org'], contact: '',
  writtenAt: '2026-12-01T10:00:00+00:00', messagingKey: people.R1.key });

process.stdout.write(JSON.stringify({
  entry: hex(ENTRY), direct: hex(DIRECT), group: hex(GROUP), introduction: hex(INTRO), case: hex(CASE), items,
  rewrapped: { item: first.label, from: 'C1', to: 'C3', key_id: hex(rewrapped.keyId), wrap: hex(rewrapped.wrap) },
  body: hex(body), body_messaging_key: hex(people.R1.key),
}));
