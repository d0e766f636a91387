// The counselor page's case work (web/src/sdk/clients/casework.js, PROTOCOL.md §13): what it seals opens
// for the reporter it is for, and what it shows is only what the right key signed. The server here is an
// in-memory one that, like the real one, keeps ciphertexts and order and hands each reader its own wrap;
// the attacks are what a server (or anyone who can write to it) could slip into a conversation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64uDecode, b64uEncode, bytesEqual, hpke } from '../src/sdk/index.js';
import * as pc from '../src/sdk/protocol/conversations.js';
import { Casework, reporterKeyFromBody } from '../src/sdk/clients/casework.js';

const seedOf = (n) => new Uint8Array(32).fill(n);
const b64 = b64uEncode;

async function counselorKeys(n, name) {
  const seed = seedOf(n);
  const publicKey = await hpke.publicKeyBytes(seed);
  return { name, seed, publicKey, keyId: await hpke.keyId(publicKey), signingKey: pc.counselorSigningKey(seed) };
}

/** GET/POST of the §13 routes Casework uses, in memory; `as(keyId)` picks whose wraps are handed out. */
function fakeServer() {
  const conversations = new Map();
  const messages = new Map(); // cid -> [{seq, message_id, from, content, wraps: Map keyId -> wrap, received_at}]
  const introductions = new Map();
  const notes = [];
  let seq = 0;
  const now = () => '2026-12-01T10:00:00Z';
  const wrapsOf = (list) => new Map(list.map((w) => [w.key_id, w.wrap]));
  const api = (keyId, from = 'counselor') => ({
    async authed(method, path, { json = undefined, params = null } = {}) {
      const parts = path.split('/').filter(Boolean).slice(1);
      if (method === 'POST' && path === '/v2/conversations') {
        const c = { conversation_id: json.conversation_id, kind: 'direct', match_id: json.match_id, entry_id: json.entry_id,
          introduction_id: null, created_at: now(), updated_at: now(), last_seq: 0, messages: 0 };
        conversations.set(c.conversation_id, c);
        messages.set(c.conversation_id, []);
        return c;
      }
      if (method === 'GET' && path === '/v2/conversations') {
        return [...conversations.values()].filter((c) => !params?.match_id || c.match_id === params.match_id);
      }
      if (parts[0] === 'conversations' && parts[2] === 'messages') {
        const list = messages.get(parts[1]);
        if (method === 'POST') {
          seq += 1;
          list.push({ seq, message_id: json.message_id, from, content: json.content, wraps: wrapsOf(json.wraps), received_at: now() });
          return { seq, received_at: now() };
        }
        const after = params?.after ?? 0;
        const page = list.filter((m) => m.seq > after).map((m) => ({ seq: m.seq, message_id: m.message_id, from: m.from,
          content: m.content, wrap: m.wraps.get(b64(keyId)) ?? null, received_at: m.received_at }));
        return { messages: page, next_after: page.length ? page[page.length - 1].seq : after };
      }
      if (method === 'POST' && parts[0] === 'matches' && parts[2] === 'introductions') {
        introductions.set(json.introduction_id, { ...json, match_id: parts[1], accepted: [] });
        conversations.set(json.group_conversation_id, { conversation_id: json.group_conversation_id, kind: 'group',
          match_id: parts[1], entry_id: null, introduction_id: json.introduction_id, created_at: now(), updated_at: now(),
          last_seq: 0, messages: 0 });
        messages.set(json.group_conversation_id, []);
        return {};
      }
      if (method === 'GET' && parts[0] === 'introductions') {
        const i = introductions.get(parts[1]);
        return { introduction_id: i.introduction_id, match_id: i.match_id, group_conversation_id: i.group_conversation_id,
          invited: i.conversation_ids, accepted: i.accepted.map((a) => ({ conversation_id: a.conversation_id,
            card: { content: a.card.content, wrap: wrapsOf(a.card.wraps).get(b64(keyId)) ?? null }, accepted_at: now() })) };
      }
      if (parts[0] === 'cases' && parts[2] === 'notes') {
        if (method === 'POST') { notes.push({ ...json, scope: parts[1] }); return {}; }
        return notes.map((n) => ({ note_id: n.note_id, scope: n.scope, author_key_id: null, content: n.content,
          wrap: wrapsOf(n.wraps).get(b64(keyId)) ?? null, created_at: now() }));
      }
      throw new Error(`no route ${method} ${path}`);
    },
  });
  return { api, conversations, messages, introductions, notes };
}

/** What a reporter's client does: open a message with its messaging key. */
async function reporterOpens(reporter, cid, stored) {
  return pc.openItem({ kind: pc.KIND_MESSAGE, scope: b64uDecode(cid), itemId: b64uDecode(stored.message_id),
    content: b64uDecode(stored.content), wrap: b64uDecode(stored.wraps.get(b64(reporter.keyId))), seed: reporter.seed });
}

/** A reporter (or whoever holds `signer`) writes into a conversation, wrapped to the counselors and itself. */
async function writeAs(server, cid, signer, doc, recipients) {
  const messageId = crypto.getRandomValues(new Uint8Array(16));
  const sealed = await pc.sealItem({ kind: pc.KIND_MESSAGE, scope: b64uDecode(cid), itemId: messageId, doc,
    signingSeed: signer.signingSeed, recipients });
  await server.api(null, 'reporter').authed('POST', `/v2/conversations/${cid}/messages`,
    { json: { message_id: b64(messageId), ...pc.sealedItemJson(sealed) } });
}

async function world() {
  const anna = await counselorKeys(7, 'Anna');
  const ben = await counselorKeys(8, 'Ben');
  const deployment = { counselors: [anna, ben].map((c) => ({ name: c.name, keyId: c.keyId, publicKey: c.publicKey,
    signingKey: c.signingKey })) };
  const server = fakeServer();
  const work = new Casework(server.api(anna.keyId), anna, deployment);
  const reporters = [await pc.messagingKeyPair(seedOf(1)), await pc.messagingKeyPair(seedOf(2)), await pc.messagingKeyPair(seedOf(3))];
  const pinned = await Promise.all(reporters.map((r) => reporterKeyFromBody({ messagingKey: r.key })));
  const matchId = b64(new Uint8Array(16).fill(9));
  const convs = [];
  for (let i = 0; i < 3; i += 1) {
    const conv = await work.startConversation(matchId, b64(new Uint8Array(16).fill(20 + i)));
    await work.sendDirect(conv, pinned[i], { text: `hello ${i}` });
    convs.push(conv);
  }
  const recipients = (i) => [anna, ben].map((c) => ({ publicKey: c.publicKey })).concat([{ publicKey: reporters[i].mpk }]);
  return { anna, ben, deployment, server, work, reporters, pinned, matchId, convs, recipients };
}

test('a counselor message opens for its reporter and every counselor, written to the pinned key, about the entry', async () => {
  const w = await world();
  const [stored] = w.server.messages.get(w.convs[0].conversation_id);
  assert.equal(stored.wraps.size, 3); // both counselors and the reporter
  const item = await reporterOpens(w.reporters[0], w.convs[0].conversation_id, stored);
  assert.equal(item.text, 'hello 0');
  assert.ok(bytesEqual(item.sender, w.anna.signingKey));
  assert.ok(bytesEqual(item.to, w.reporters[0].key));
  assert.ok(bytesEqual(item.entry, b64uDecode(w.convs[0].entry_id)));
  await assert.rejects(reporterOpens(w.reporters[1], w.convs[0].conversation_id, { ...stored,
    wraps: new Map([[b64(w.reporters[1].keyId), stored.wraps.get(b64(w.reporters[0].keyId))]]) }));
  const asBen = new Casework(w.server.api(w.ben.keyId), w.ben, w.deployment);
  const { items } = await asBen.messages(w.convs[0], 0, { reporter: w.pinned[0] });
  assert.deepEqual(items.map((m) => [m.from, m.senderName, m.text]), [['counselor', 'Anna', 'hello 0']]);
});

test('only the pinned reporter key, or a listed counselor, can write in a direct conversation', async () => {
  const w = await world();
  const cid = w.convs[0].conversation_id;
  const entry = b64uDecode(w.convs[0].entry_id);
  await writeAs(w.server, cid, w.reporters[0], pc.textDoc({ sender: w.reporters[0].vk, text: 'my answer', entry }), w.recipients(0));
  // another reporter's key (what a server could swap in), a reporter-signed introduction, a message about another entry
  await writeAs(w.server, cid, w.reporters[1], pc.textDoc({ sender: w.reporters[1].vk, text: 'not them', entry }), w.recipients(0));
  await writeAs(w.server, cid, w.reporters[0], pc.introductionDoc({ sender: w.reporters[0].vk, introduction: new Uint8Array(16),
    text: 'fake offer', entry, to: w.reporters[0].key }), w.recipients(0));
  await writeAs(w.server, cid, w.reporters[0], pc.textDoc({ sender: w.reporters[0].vk, text: 'elsewhere',
    entry: b64uDecode(w.convs[1].entry_id) }), w.recipients(0));
  const { items } = await w.work.messages(w.convs[0], 0, { reporter: w.pinned[0] });
  assert.deepEqual(items.map((m) => m.error ? `refused: ${m.error}` : `${m.from}: ${m.text}`), [
    'me: hello 0',
    'reporter: my answer',
    'refused: this message is signed neither by this reporter nor by a counselor of this deployment',
    'refused: a reporter cannot send this kind of message',
    'refused: this message is about another record',
  ]);
});

test('an introduction: cards count only when signed by and naming the pinned key; the group is its roster', async () => {
  const w = await world();
  const directs = w.convs.map((conv, i) => ({ conv, reporter: w.pinned[i] }));
  const iid = await w.work.propose(w.matchId, directs, 'Would you like to meet?');
  const intro = w.server.introductions.get(iid);
  assert.deepEqual(intro.conversation_ids, w.convs.map((c) => c.conversation_id));
  for (const [i, conv] of w.convs.entries()) {
    const last = w.server.messages.get(conv.conversation_id).at(-1);
    const item = await reporterOpens(w.reporters[i], conv.conversation_id, last);
    assert.equal(item.type, 'introduction');
    assert.ok(bytesEqual(item.introduction, b64uDecode(iid)));
  }
  const card = async (i, signer, key, name) => {
    const sealed = await pc.sealItem({ kind: pc.KIND_CARD, scope: b64uDecode(iid), itemId: b64uDecode(w.convs[i].conversation_id),
      doc: pc.cardDoc({ sender: signer.vk, introduction: b64uDecode(iid), name, key }), signingSeed: signer.signingSeed,
      recipients: w.recipients(i) });
    intro.accepted.push({ conversation_id: w.convs[i].conversation_id, card: pc.sealedItemJson(sealed) });
  };
  await card(0, w.reporters[0], w.reporters[0].key, 'Willow');
  await card(1, w.reporters[1], w.reporters[1].key, 'Heron');
  await card(2, w.reporters[1], w.reporters[1].key, 'Not the third'); // signed by another reporter for the third's conversation
  await card(2, w.reporters[2], w.reporters[1].key, 'Wrong key'); // names another key than the one pinned
  const reporterOf = (cid) => w.pinned[w.convs.findIndex((c) => c.conversation_id === cid)] ?? null;
  const checked = await w.work.introduction(iid, reporterOf);
  assert.deepEqual(checked.accepted.map((a) => a.error ?? a.name), ['Willow', 'Heron',
    'this acceptance is not signed by the reporter of that conversation',
    'this acceptance is not signed by the reporter of that conversation']);

  const group = w.server.conversations.get(intro.group_conversation_id);
  const members = checked.accepted.filter((a) => !a.error).map((a) => ({ name: a.name, key: a.key }));
  await w.work.postRoster(group, iid, members);
  const [roster] = w.server.messages.get(group.conversation_id);
  assert.equal(roster.wraps.size, 4); // two counselors, two members; nothing for the third
  assert.ok(!roster.wraps.has(b64(w.reporters[2].keyId)));
  const gid = group.conversation_id;
  const groupRecipients = [w.anna, w.ben].map((c) => ({ publicKey: c.publicKey })).concat(w.reporters.slice(0, 2).map((r) => ({ publicKey: r.mpk })));
  await writeAs(w.server, gid, w.reporters[1], pc.textDoc({ sender: w.reporters[1].vk, text: 'hello group' }), groupRecipients);
  await writeAs(w.server, gid, w.reporters[2], pc.textDoc({ sender: w.reporters[2].vk, text: 'let me in' }), groupRecipients);
  await writeAs(w.server, gid, w.reporters[0], pc.rosterDoc({ sender: w.reporters[0].vk, introduction: b64uDecode(iid),
    members: [...members, { name: 'Intruder', key: w.reporters[2].key }] }), groupRecipients);
  const trust = { members: [] };
  const { items } = await w.work.messages(group, 0, trust);
  assert.deepEqual(items.map((m) => m.error ? `refused: ${m.error}` : `${m.senderName}: ${m.type}`), [
    'Anna: roster',
    'Heron: text',
    'refused: this message is not signed by a member of this group or a counselor',
    'refused: a member cannot send this kind of message', // a member's own list of who is in the group
  ]);
  assert.deepEqual(trust.members.map((x) => x.name).sort(), ['Heron', 'Willow']);
});

test('notes are sealed to every counselor, open under the case they were written in, and only from counselors', async () => {
  const w = await world();
  const caseId = b64(new Uint8Array(16).fill(40));
  await w.work.addNote(caseId, 'call back on Monday');
  const asBen = new Casework(w.server.api(w.ben.keyId), w.ben, w.deployment);
  assert.deepEqual((await asBen.notes(caseId)).map((n) => [n.author, n.text]), [['Anna', 'call back on Monday']]);
  // a case merged into another: the note keeps its scope and still opens there
  assert.deepEqual((await asBen.notes(b64(new Uint8Array(16).fill(41)))).map((n) => n.text), ['call back on Monday']);
  // a note signed by a reporter key is refused
  const noteId = crypto.getRandomValues(new Uint8Array(16));
  const forged = await pc.sealItem({ kind: pc.KIND_NOTE, scope: b64uDecode(caseId), itemId: noteId,
    doc: pc.noteDoc({ sender: w.reporters[0].vk, text: 'forged' }), signingSeed: w.reporters[0].signingSeed,
    recipients: [{ publicKey: w.anna.publicKey }, { publicKey: w.ben.publicKey }] });
  w.server.notes.push({ note_id: b64(noteId), scope: caseId, ...pc.sealedItemJson(forged) });
  assert.deepEqual((await w.work.notes(caseId)).map((n) => n.error ?? n.text),
    ['call back on Monday', 'this note is not signed by a counselor of this deployment']);
  await assert.rejects(w.work.addNote(caseId, '   '), /Write the note first/);
});

test('a counselor whose signing key the document does not list is stopped before anything is sent', async () => {
  const w = await world();
  const unlisted = { counselors: w.deployment.counselors.map((c) => ({ ...c, signingKey: null })) };
  const work = new Casework(w.server.api(w.anna.keyId), w.anna, unlisted);
  const before = w.server.messages.get(w.convs[0].conversation_id).length;
  await assert.rejects(work.sendDirect(w.convs[0], w.pinned[0], { text: 'hi' }), /without a signing key/);
  assert.equal(w.server.messages.get(w.convs[0].conversation_id).length, before);
  assert.equal(await reporterKeyFromBody({ record: 'old body' }), null);
});
