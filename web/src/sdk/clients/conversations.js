// After a match, in the page (clients/conversations.py, PROTOCOL.md §13): counselors and the
// reporters of released entries write to each other, end to end encrypted. Everything is sealed
// and opened here; the escrow server stores ciphertexts and their order only, and nothing it says
// about who wrote is believed. A reader accepts a message only from a key it has from somewhere the
// server cannot forge:
//
//   - a counselor: a signing_key of the administrator-signed deployment document;
//   - the reporter of an entry: the messaging key in the entry's opened body (sealed by the
//     reporter), or, for a counselor who was not the first to write, the "to" of the earliest
//     message a listed counselor signed in that conversation;
//   - a member of a group: the newest roster a listed counselor signed.
//
// Anything else is refused and said so (view.refused), never shown.
//
// Reporter functions take the reporter session of clients/reporter.js ({wallet, api, deployment,
// save}); counselor functions a counselor context {api, deployment (verified), seed, keyId,
// publicKey} (clients/counselor_key.js openCounselorKey gives the key, protocol/release.js
// openMatch the bodies).
import { randomBytes } from '@noble/hashes/utils.js';
import { ConsilienceError, InvalidInput, VerificationError } from '../errors.js';
import * as pc from '../protocol/conversations.js';
import { b64uDecode, b64uEncode, bytesEqual } from '../protocol/encoding.js';
import { openReceipt } from './receipts.js';
import { ApiError } from './api.js';

export const NOT_A_COUNSELOR = 'this message is not signed by a counselor of this deployment';
export const NOT_THE_REPORTER = 'this message is not signed by the reporter of this entry, nor by a counselor of this deployment';
export const NOT_A_MEMBER = 'this message is not signed by a counselor of this deployment, nor by a member of the group';
export const NOT_OPENED = 'this message did not open: it may have been changed on the server';
export const DEFAULT_INTRODUCTION = 'Others named the same person you did. If you want, you can talk with them in a group: '
  + 'each of you chooses the name the others see, and nobody learns who said no. Answer with '
  + "'accept' or 'decline' in your app, whenever you are ready, or not at all.";
export const NO_SIGNING_KEY = 'The deployment document does not list your signing key, so reporters would refuse your '
  + 'messages. Send your public key file to the administrator to be added again.';

const b64 = b64uEncode;
const id16 = (text, field = 'id') => b64uDecode(text, 16, field);
const newId = () => randomBytes(16);

// --- who is who ---------------------------------------------------------------

/** The deployment's counselors as recipients (every key) and as signers (listed signing keys -> name). */
export function counselorsOf(deployment) {
  const recipients = deployment.counselors.map((c) => ({ keyId: c.keyId, publicKey: c.publicKey }));
  const signers = new Map();
  for (const c of deployment.counselors) if (c.signingKey) signers.set(b64(c.signingKey), c.name);
  const names = new Map(deployment.counselors.map((c) => [b64(c.keyId), c.name]));
  return { recipients, signers, names };
}

/** A reporter's keys from the wallet's message_seed; InvalidInput for a wallet without one. */
export async function reporterMe(wallet) {
  if (!wallet.message_seed) {
    throw new InvalidInput('This wallet has no messaging key yet. It gets one the next time you open your records here.', { code: 'messages.noKey' });
  }
  const kp = await pc.messagingKeyPair(b64uDecode(wallet.message_seed, 32, 'message seed'));
  return { seed: kp.seed, keyId: kp.keyId, signingSeed: kp.signingSeed, vk: kp.vk, messagingKey: kp.key, mpk: kp.mpk };
}

/** A counselor's keys from its opened key file ({seed, keyId, publicKey}). */
export function counselorMe(key) {
  const signingSeed = pc.counselorSigningSeed(key.seed);
  return { seed: key.seed, keyId: key.keyId, publicKey: key.publicKey, signingSeed, vk: pc.signingPublicKey(signingSeed) };
}

/**
 * Make the wallet's messaging seed if it has none and register its key with the server if it is not
 * yet (PUT /v2/account/message-key); saves the wallet when something changed. Returns the messaging key.
 */
export async function ensureMessagingKey(session) {
  const w = session.wallet;
  let changed = false;
  if (!w.message_seed) {
    w.message_seed = b64(pc.newMessageSeed());
    w.message_key_registered = false;
    changed = true;
    await session.save();
  }
  const me = await reporterMe(w);
  if (!w.message_key_registered) {
    await session.api.putMessageKey(me.messagingKey);
    w.message_key_registered = true;
    changed = true;
  }
  if (changed) await session.save();
  return me.messagingKey;
}

const mpkOf = (messagingKey) => messagingKey.slice(0, messagingKey.length - pc.SIGNING_KEY_BYTES);

function recipients(...groups) {
  const seen = new Set();
  const out = [];
  for (const g of groups) {
    for (const r of g) {
      const k = b64(r.keyId);
      if (!seen.has(k)) {
        seen.add(k);
        out.push(r);
      }
    }
  }
  return out;
}

async function memberRecipient(messagingKey) {
  const { mpk, keyId } = await pc.parseMessagingKey(messagingKey);
  return { keyId, publicKey: mpk };
}

// --- reading ------------------------------------------------------------------------

/** Every message of a conversation after `after`, page by page. */
export async function allMessages(api, conversationId, after = 0) {
  const out = [];
  let next = after;
  for (;;) {
    const page = await api.messages(conversationId, { after: next });
    out.push(...page.messages);
    if (!page.messages.length || page.next_after <= next) return out;
    next = page.next_after;
  }
}

async function openAll(stored, conversationId, me) {
  const opened = [];
  const refused = [];
  let missing = 0;
  for (const s of stored) {
    if (!s.wrap) {
      missing += 1;
      continue;
    }
    try {
      const item = await pc.openItem({ kind: pc.KIND_MESSAGE, scope: conversationId, itemId: id16(s.message_id),
        content: b64uDecode(s.content), wrap: b64uDecode(s.wrap), seed: me.seed, keyId: me.keyId });
      opened.push({ stored: s, item });
    } catch (err) {
      if (!(err instanceof ConsilienceError)) throw err;
      refused.push({ seq: s.seq, messageId: s.message_id, reason: `${NOT_OPENED} (${err.message})` });
    }
  }
  return { opened, refused, missing };
}

function shown(o, author, name) {
  const i = o.item;
  const m = {
    seq: o.stored.seq, messageId: o.stored.message_id, type: i.type, author, name, sentAt: i.sentAt,
    receivedAt: o.stored.received_at, text: i.text ?? '', attachments: i.attachments ?? [],
  };
  if (i.type === 'reveal') m.contact = i.contact;
  if (i.introduction) m.introduction = b64(i.introduction);
  if (i.type === 'roster') m.members = i.members.map((x) => x.name);
  return m;
}

function checkDirectAll(read, deployment, entryId, reporterKey, { meReporter }) {
  const messages = [];
  const refused = [];
  let contact = null;
  for (const o of read.opened) {
    if (!reporterKey) {
      refused.push({ seq: o.stored.seq, messageId: o.stored.message_id, reason: "the reporter's key is not known yet" });
      continue;
    }
    let who;
    try {
      who = pc.checkDirect(o.item, deployment, { entryId, reporterKey });
    } catch (err) {
      if (!(err instanceof ConsilienceError)) throw err;
      refused.push({ seq: o.stored.seq, messageId: o.stored.message_id, reason: err.message });
      continue;
    }
    if (who) messages.push(shown(o, 'counselor', who.name));
    else {
      const m = shown(o, meReporter ? 'you' : 'reporter', '');
      if (m.contact) contact = m.contact;
      messages.push(m);
    }
  }
  return { messages, refused, contact };
}

function newestRoster(read, deployment, introductionId) {
  const signers = pc.counselorSigners(deployment);
  let newest = null;
  for (const o of read.opened) {
    const i = o.item;
    if (i.type === 'roster' && signers.has(b64(i.sender)) && bytesEqual(i.introduction, introductionId)
        && !i.entry && !i.to) newest = i;
  }
  return newest;
}

function checkGroupAll(read, deployment, introductionId, me) {
  const roster = newestRoster(read, deployment, introductionId);
  const messages = [];
  const refused = [];
  for (const o of read.opened) {
    const i = o.item;
    let who;
    try {
      who = pc.checkGroup(i, deployment, roster);
      if (i.type === 'roster' && !bytesEqual(i.introduction, introductionId)) {
        throw new VerificationError('this group list is of another introduction');
      }
    } catch (err) {
      if (!(err instanceof ConsilienceError)) throw err;
      refused.push({ seq: o.stored.seq, messageId: o.stored.message_id, reason: err.message });
      continue;
    }
    if (who.counselor) messages.push(shown(o, 'counselor', who.counselor.name));
    else messages.push(shown(o, me.vk && bytesEqual(i.sender, me.vk) ? 'you' : 'member', who.member.name));
  }
  return { messages, refused, roster };
}

const bySeq = (a, b) => a.seq - b.seq;

function view(conversation, kind, fields) {
  return {
    conversationId: conversation.conversation_id, kind, entryId: conversation.entry_id ?? null,
    introductionId: conversation.introduction_id ?? null, recordId: null, messages: [], refused: [], notForYou: 0,
    members: [], contact: null, lastSeq: conversation.last_seq ?? 0, ...fields,
  };
}

async function post(api, conversationId, doc, me, to) {
  const messageId = newId();
  const sealed = await pc.sealItem({ kind: pc.KIND_MESSAGE, scope: conversationId, itemId: messageId, doc,
    signingSeed: me.signingSeed, recipients: to });
  const answer = await api.postMessage(conversationId, messageId, pc.sealedItemJson(sealed));
  return { conversationId: b64(conversationId), messageId: b64(messageId), seq: answer.seq, receivedAt: answer.received_at,
    type: doc.type };
}

function textDoc(me, text, attachments, extra = {}) {
  if (!String(text ?? '').trim() && !(attachments && attachments.length)) {
    throw new InvalidInput('The message is empty: write something or attach a file.', { code: 'messages.empty' });
  }
  return pc.textDoc({ sender: me.vk, text: text ?? '', attachments, ...extra });
}

// --- reporter -----------------------------------------------------------------------

async function asReporter(session) {
  const deployment = await session.deployment();
  return { session, api: session.api, deployment, counselors: counselorsOf(deployment), me: await reporterMe(session.wallet) };
}

function recordOf(wallet, entryId) {
  if (!entryId) return null;
  return wallet.records.find((r) => r.escrow && r.escrow.entry_id === entryId)?.record_id ?? null;
}

async function readDirectAs(r, conversation) {
  const cid = id16(conversation.conversation_id);
  const read = await openAll(await allMessages(r.api, cid), cid, r.me);
  const checked = checkDirectAll(read, r.deployment, id16(conversation.entry_id), r.me.messagingKey, { meReporter: true });
  return view(conversation, 'direct', {
    recordId: recordOf(r.session.wallet, conversation.entry_id), messages: checked.messages,
    refused: [...read.refused, ...checked.refused].sort(bySeq), notForYou: read.missing, contact: checked.contact,
  });
}

async function readGroupAs(r, conversation, introductionId) {
  const cid = id16(conversation.conversation_id);
  const read = await openAll(await allMessages(r.api, cid), cid, r.me);
  const checked = checkGroupAll(read, r.deployment, introductionId, r.me);
  return {
    view: view(conversation, 'group', {
      introductionId: b64(introductionId), messages: checked.messages,
      refused: [...read.refused, ...checked.refused].sort(bySeq), notForYou: read.missing,
      members: checked.roster ? checked.roster.members.map((x) => x.name) : [],
    }),
    roster: checked.roster,
  };
}

function markSeen(wallet, conversationId, v) {
  const seqs = [...v.messages, ...v.refused].map((x) => x.seq);
  if (seqs.length) wallet.seen[conversationId] = Math.max(wallet.seen[conversationId] ?? 0, ...seqs);
}

/**
 * The reporter's conversations: [{conversation (the server's), recordId, kind, new (messages from others
 * since last read here)}]. Each conversation with something unread is opened to count.
 */
export async function listConversations(session) {
  const r = await asReporter(session);
  const out = [];
  for (const c of await r.api.conversations()) {
    const seen = session.wallet.seen[c.conversation_id] ?? 0;
    let fresh = 0;
    if (c.last_seq > seen) {
      const cid = id16(c.conversation_id);
      const read = await openAll(await allMessages(r.api, cid, seen), cid, r.me);
      fresh = read.opened.filter((o) => !bytesEqual(o.item.sender, r.me.vk)).length;
    }
    out.push({ conversation: c, conversationId: c.conversation_id, kind: c.kind, recordId: recordOf(session.wallet, c.entry_id),
      introductionId: c.introduction_id ?? null, messages: c.messages, new: fresh });
  }
  return out;
}

async function directOf(r, record) {
  if (!record.escrow) throw new InvalidInput('This record is private: nobody can write to you about it.', { code: 'messages.private' });
  const c = (await r.api.conversations()).find((x) => x.kind === 'direct' && x.entry_id === record.escrow.entry_id);
  return c ?? null;
}

/**
 * Read every message about one record (the wallet's record object), each checked, and remember how far
 * it was read. null when no counselor has written about it.
 */
export async function readRecord(session, record) {
  const r = await asReporter(session);
  const c = await directOf(r, record);
  if (!c) return null;
  const v = await readDirectAs(r, c);
  markSeen(session.wallet, v.conversationId, v);
  await session.save();
  return v;
}

async function reporterSend(session, record, make) {
  const r = await asReporter(session);
  const c = await directOf(r, record);
  if (!c) throw new InvalidInput('No counselor has written to you about this record yet; you can answer once one has.', { code: 'messages.noCounselor' });
  const doc = make(r.me);
  doc.entry = c.entry_id;
  return post(r.api, id16(c.conversation_id), doc, r.me, recipients(r.counselors.recipients, [{ keyId: r.me.keyId, publicKey: r.me.mpk }]));
}

/** Answer the counselors about a record: sealed to them and to this wallet, signed by it. */
export function reply(session, record, text, attachments = []) {
  return reporterSend(session, record, (me) => textDoc(me, text, attachments));
}

/** Tell the counselors how to reach you (a reveal): `contact`, or the one the wallet holds. */
export function reveal(session, record, contact = null, text = '') {
  const given = String(contact ?? session.wallet.contact ?? '').trim();
  if (!given) throw new InvalidInput('Write how the counselor can reach you first.', { code: 'messages.contactMissing' });
  return reporterSend(session, record, (me) => pc.revealDoc({ sender: me.vk, contact: given, text: text && text.trim() ? text : null }));
}

/**
 * The introductions counselors proposed to this reporter: [{introductionId, recordId, conversationId,
 * counselor, text, sentAt, state: 'accepted' | 'declined' (this device only) | 'open', groupConversationId}].
 */
export async function introductions(session) {
  return introductionsAs(await asReporter(session));
}

async function introductionsAs(r, views = null) {
  const found = new Map();
  const direct = views ?? await Promise.all((await r.api.conversations()).filter((c) => c.kind === 'direct')
    .map((c) => readDirectAs(r, c)));
  for (const v of direct) {
    for (const m of v.messages) {
      if (m.type !== 'introduction' || !m.introduction || found.has(m.introduction)) continue;
      let detail;
      try {
        detail = await r.api.introduction(m.introduction);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) continue; // not (any more) for this account
        throw err;
      }
      const state = detail.accepted ? 'accepted' : r.session.wallet.declined.includes(m.introduction) ? 'declined' : 'open';
      found.set(m.introduction, { introductionId: m.introduction, recordId: v.recordId, conversationId: v.conversationId,
        counselor: m.name, text: m.text, sentAt: m.sentAt, state, groupConversationId: detail.group_conversation_id });
    }
  }
  return [...found.values()];
}

/**
 * Everything the reporter's messages page shows, in one pass (one deployment check): {direct: [view] (one per
 * record a counselor wrote about), introductions (as introductions() returns them), groups: [{introduction,
 * view, roster}] (the accepted ones whose group is open to this reporter), unread: Map conversation id ->
 * messages from others after what this device last read}. Nothing is marked read here (markRead does).
 */
export async function inbox(session) {
  const r = await asReporter(session);
  const listed = await r.api.conversations();
  const direct = [];
  for (const c of listed.filter((x) => x.kind === 'direct')) direct.push(await readDirectAs(r, c));
  const intros = await introductionsAs(r, direct);
  const groups = [];
  for (const i of intros) {
    if (i.state !== 'accepted' || !i.groupConversationId) continue;
    const c = listed.find((x) => x.conversation_id === i.groupConversationId);
    if (!c) continue;
    const g = await readGroupAs(r, c, id16(i.introductionId));
    groups.push({ introduction: i, view: g.view, roster: g.roster });
  }
  const unread = new Map();
  for (const v of [...direct, ...groups.map((g) => g.view)]) {
    const seen = session.wallet.seen[v.conversationId] ?? 0;
    unread.set(v.conversationId, v.messages.filter((m) => m.seq > seen && m.author !== 'you').length);
  }
  return { direct, introductions: intros, groups, unread };
}

/** Remember on this device that these views were read (wallet.seen), and save the wallet if that changed it. */
export async function markRead(session, views) {
  const before = JSON.stringify(session.wallet.seen);
  for (const v of views) markSeen(session.wallet, v.conversationId, v);
  if (JSON.stringify(session.wallet.seen) !== before) await session.save();
}

/** Write to an accepted introduction's group (sealed to the counselors, the roster's members and this wallet). */
export async function sendToGroup(session, introductionId, text, attachments = []) {
  return group(session, introductionId, { send: text, attachments });
}

function pick(listed, introductionId) {
  const found = listed.find((i) => i.introductionId === introductionId);
  if (!found) throw new InvalidInput('This introduction was not proposed to you (any more).', { code: 'introduction.notProposed' });
  return found;
}

/** Join an introduction's group under `name`: a card sealed to the counselors and to this wallet. */
export async function accept(session, introductionId, name) {
  const chosen = String(name ?? '').trim();
  pc.checkDisplayName(chosen);
  const r = await asReporter(session);
  const intro = pick(await introductionsAs(r), introductionId);
  const iid = id16(intro.introductionId);
  const cid = id16(intro.conversationId);
  const doc = pc.cardDoc({ sender: r.me.vk, introduction: iid, name: chosen, key: r.me.messagingKey });
  const card = await pc.sealItem({ kind: pc.KIND_CARD, scope: iid, itemId: cid, doc, signingSeed: r.me.signingSeed,
    recipients: recipients(r.counselors.recipients, [{ keyId: r.me.keyId, publicKey: r.me.mpk }]) });
  await r.api.acceptIntroduction(iid, cid, pc.sealedItemJson(card));
  session.wallet.declined = session.wallet.declined.filter((x) => x !== intro.introductionId);
  await session.save();
  return { ...intro, state: 'accepted' };
}

/** Remember on this device that you said no. Nothing is sent, so nobody can tell it from no answer yet. */
export async function decline(session, introductionId) {
  const intro = pick(await introductions(session), introductionId);
  if (intro.state === 'accepted') {
    throw new InvalidInput('You already accepted this introduction, and the others may have seen the name you chose. '
      + 'Nothing was changed; you can simply stop writing in the group.', { code: 'introduction.alreadyAccepted' });
  }
  if (!session.wallet.declined.includes(intro.introductionId)) session.wallet.declined.push(intro.introductionId);
  await session.save();
  return { ...intro, state: 'declined' };
}

/**
 * Read an accepted introduction's group, and with `send` write to it first (sealed to the counselors,
 * the members of the newest counselor-signed roster and this wallet). Returns the view, or null while
 * the group is not open to this reporter yet.
 */
export async function group(session, introductionId, { send = null, attachments = [] } = {}) {
  const r = await asReporter(session);
  const intro = pick(await introductionsAs(r), introductionId);
  if (intro.state !== 'accepted' || !intro.groupConversationId) {
    throw new InvalidInput('You have not joined this group. Accept the introduction first, under the name you choose.', { code: 'introduction.notJoined' });
  }
  const iid = id16(intro.introductionId);
  const c = (await r.api.conversations()).find((x) => x.conversation_id === intro.groupConversationId);
  if (!c) return null;
  if (send !== null) {
    const { roster } = await readGroupAs(r, c, iid);
    if (!roster) {
      throw new InvalidInput('The counselor has not yet confirmed who is in the group, so there is nobody to write to yet. '
        + 'Nothing was sent; try again later.', { code: 'introduction.notConfirmed' });
    }
    const members = await Promise.all(roster.members.map((x) => memberRecipient(x.key)));
    await post(r.api, id16(c.conversation_id), textDoc(r.me, send, attachments), r.me,
      recipients(r.counselors.recipients, members, [{ keyId: r.me.keyId, publicKey: r.me.mpk }]));
  }
  const { view: v } = await readGroupAs(r, c, iid);
  markSeen(session.wallet, v.conversationId, v);
  await session.save();
  return v;
}

/**
 * Who opened this record (GET /v2/entries/{id}/readers): [{keyId, counselor (name from the signed
 * document, or null), openedAt, checked (the receipt is an opening by that key at that time, in the
 * log the document names), problem (why a receipt did not check, or null)}].
 */
export async function readers(session, record) {
  if (!record.escrow) return [];
  const deployment = await session.deployment();
  const names = counselorsOf(deployment).names;
  const answer = await session.api.readers(record.escrow.entry_id);
  return answer.readers.map((x) => {
    const out = { keyId: x.counselor_key_id, counselor: names.get(x.counselor_key_id) ?? null, openedAt: x.opened_at,
      checked: false, problem: null };
    if (x.receipt) {
      try {
        checkOpeningReceipt(x.receipt, deployment, id16(x.counselor_key_id, 'counselor key id'), x.opened_at);
        out.checked = true;
      } catch (err) {
        if (!(err instanceof ConsilienceError)) throw err;
        out.problem = err.message;
        out.failure = err; // its code says it in the reader's language (errors.js)
      }
    }
    return out;
  });
}

/** An opening receipt (clients/receipts.py check_reading): verifies against the document's log, and its event is an opening by keyId at openedAt. */
export function checkOpeningReceipt(text, deployment, keyId, openedAt) {
  const opened = openReceipt(text, deployment.log.vkey, { origin: deployment.log.origin });
  const e = opened.event;
  if (e.kind !== 'opening') throw new VerificationError(`the receipt is for another event (${e.kind}), not a counselor's opening`);
  if (!bytesEqual(e.counselorId, keyId)) throw new VerificationError('the receipt is for an opening by another counselor than the server says');
  const when = Date.parse(openedAt); // the event keeps milliseconds, as clients/receipts.py check_reading
  if (Number.isNaN(when) || Math.abs(when - e.atMillis) >= 1) {
    throw new VerificationError('the receipt is for an opening at another time than the server says');
  }
  return opened;
}

// --- counselor ----------------------------------------------------------------------

function asCounselor(ctx) {
  const me = counselorMe(ctx);
  return { ...ctx, me, counselors: counselorsOf(ctx.deployment) };
}

function canSign(c) {
  if (!c.counselors.signers.has(b64(c.me.vk))) throw new InvalidInput(NO_SIGNING_KEY, { code: 'counselor.noSigningKey' });
}

/**
 * Read a direct conversation as a counselor: {view, pinned (the reporter's messaging key: from the earliest
 * counselor-signed message, else `bodyKey`, the one in the entry's opened body, else null)}.
 */
export async function readDirectCounselor(ctx, conversation, bodyKey = null) {
  const c = asCounselor(ctx);
  const cid = id16(conversation.conversation_id);
  const entryId = id16(conversation.entry_id);
  const read = await openAll(await allMessages(c.api, cid), cid, c.me);
  const pinned = pc.pinnedReporterKey(read.opened.map((o) => o.item), c.deployment, entryId) ?? bodyKey ?? null;
  const checked = checkDirectAll(read, c.deployment, entryId, pinned, { meReporter: false });
  return {
    view: view(conversation, 'direct', { messages: checked.messages, refused: [...read.refused, ...checked.refused].sort(bySeq),
      notForYou: read.missing, contact: checked.contact }),
    pinned,
  };
}

/** A match's direct conversations: Map entry id (b64u) -> the server's Conversation. */
export async function directConversations(ctx, matchId) {
  const listed = await ctx.api.conversations(matchId);
  return new Map(listed.filter((x) => x.kind === 'direct' && x.entry_id).map((x) => [x.entry_id, x]));
}

async function create(api, matchId, entryId) {
  try {
    return await api.startConversation(newId(), matchId, entryId);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 409) throw err;
  }
  const found = (await api.conversations(matchId)).find((x) => x.kind === 'direct' && x.entry_id === b64(entryId));
  if (!found) throw new InvalidInput('This entry has a conversation you cannot see; try again later.', { code: 'messages.hidden' });
  return found;
}

/**
 * Write to the reporter of a released entry (the first message starts the conversation). `bodyKey`: the
 * messaging key of the entry's opened body (openMatch's opened[].body.messagingKey), used when no counselor
 * has written yet; the key pinned in the conversation wins otherwise.
 */
export async function message(ctx, matchId, entryId, bodyKey, text, attachments = []) {
  const c = asCounselor(ctx);
  canSign(c);
  const eid = typeof entryId === 'string' ? id16(entryId) : entryId;
  const mid = typeof matchId === 'string' ? id16(matchId) : matchId;
  let conversation = (await directConversations(c, mid)).get(b64(eid)) ?? null;
  let pinned = null;
  if (conversation) pinned = (await readDirectCounselor(ctx, conversation)).pinned;
  pinned = pinned ?? bodyKey ?? null;
  if (!pinned) {
    throw new InvalidInput('This entry carries no messaging key: it was sealed by an older version of Consilience. '
      + 'Reach the reporter through the contact in their record, if they gave one.', { code: 'messages.oldEntry' });
  }
  await pc.parseMessagingKey(pinned);
  if (!conversation) conversation = await create(c.api, mid, eid);
  const doc = textDoc(c.me, text, attachments, { entry: eid, to: pinned });
  return post(c.api, id16(conversation.conversation_id), doc, c.me, recipients(c.counselors.recipients, [await memberRecipient(pinned)]));
}

/**
 * Propose to the reporters of a match (each in their own conversation, whose reporter key is pinned) to
 * meet in a group: {introductionId, groupConversationId, invited: [entry ids], skipped: [entry ids]}.
 */
export async function introduce(ctx, matchId, text = null) {
  const c = asCounselor(ctx);
  canSign(c);
  const mid = typeof matchId === 'string' ? id16(matchId) : matchId;
  const invited = [];
  const skipped = [];
  for (const x of (await directConversations(c, mid)).values()) {
    const { pinned } = await readDirectCounselor(ctx, x);
    if (pinned) invited.push([x, pinned]);
    else skipped.push(x.entry_id);
  }
  if (invited.length < 2) {
    throw new InvalidInput('An introduction needs at least two reporters of this match you have written to. Write to each first.', { code: 'introduction.tooFew' });
  }
  if (invited.length > pc.MAX_MEMBERS) throw new InvalidInput(`An introduction is for at most ${pc.MAX_MEMBERS} reporters.`, { code: 'introduction.tooMany', params: { max: pc.MAX_MEMBERS } });
  const iid = newId();
  const gid = newId();
  await c.api.introduce(mid, iid, gid, invited.map(([x]) => id16(x.conversation_id)));
  const words = text && text.trim() ? text.trim() : DEFAULT_INTRODUCTION;
  for (const [x, pinned] of invited) {
    const doc = pc.introductionDoc({ sender: c.me.vk, introduction: iid, text: words, entry: id16(x.entry_id), to: pinned });
    await post(c.api, id16(x.conversation_id), doc, c.me, recipients(c.counselors.recipients, [await memberRecipient(pinned)]));
  }
  return { introductionId: b64(iid), groupConversationId: b64(gid), invited: invited.map(([x]) => x.entry_id), skipped };
}

/** An acceptance's card: opens, names this introduction, signed by and naming the reporter key pinned in its conversation. */
async function checkCard(ctx, c, iid, accepted, direct) {
  const conversation = direct.get(accepted.conversation_id);
  if (!conversation) throw new VerificationError('the card comes from a conversation that was not invited');
  const { pinned } = await readDirectCounselor(ctx, conversation);
  if (!pinned) throw new VerificationError("no counselor has written in the card's conversation, so its reporter is not known");
  if (!accepted.card.wrap) throw new VerificationError('the card is not sealed to your key');
  let item;
  try {
    item = await pc.openItem({ kind: pc.KIND_CARD, scope: iid, itemId: id16(accepted.conversation_id),
      content: b64uDecode(accepted.card.content), wrap: b64uDecode(accepted.card.wrap), seed: c.me.seed, keyId: c.me.keyId });
  } catch (err) {
    if (!(err instanceof ConsilienceError)) throw err;
    throw new VerificationError('the card did not open: it may have been changed on the server');
  }
  const card = pc.checkCard(item, { introductionId: iid, conversationId: id16(accepted.conversation_id), reporterKey: pinned });
  return { name: card.name, key: pinned };
}

/**
 * An introduction's group as a counselor: checks new acceptances' cards, posts a roster when the checked
 * accepters differ from the newest one, then (with `send`) writes to the group and reads it. Returns
 * {introductionId, invited (count), accepted: [names], refusedCards: ["cid: why"], rosterPosted, group: view}.
 */
export async function groupCounselor(ctx, introductionId, { send = null, attachments = [] } = {}) {
  const c = asCounselor(ctx);
  const iid = typeof introductionId === 'string' ? id16(introductionId) : introductionId;
  const detail = await c.api.introduction(iid);
  const listed = await c.api.conversations(detail.match_id);
  const direct = new Map(listed.filter((x) => x.kind === 'direct' && detail.invited.includes(x.conversation_id))
    .map((x) => [x.conversation_id, x]));
  const groupConv = listed.find((x) => x.conversation_id === detail.group_conversation_id);
  if (!groupConv) throw new InvalidInput('The group conversation of this introduction is not listed; try again later.', { code: 'introduction.groupMissing' });
  const members = [];
  const bad = [];
  for (const a of detail.accepted) {
    try {
      members.push(await checkCard(ctx, c, iid, a, direct));
    } catch (err) {
      if (!(err instanceof VerificationError)) throw err;
      bad.push(`${a.conversation_id}: ${err.message}`);
    }
  }
  const gid = id16(groupConv.conversation_id);
  const readGroup = async () => {
    const read = await openAll(await allMessages(c.api, gid), gid, c.me);
    return { read, checked: checkGroupAll(read, c.deployment, iid, c.me) };
  };
  let { checked } = await readGroup();
  const have = new Set((checked.roster?.members ?? []).map((x) => b64(x.key)));
  const want = new Set(members.map((x) => b64(x.key)));
  let rosterPosted = false;
  if (members.length && (want.size !== have.size || [...want].some((k) => !have.has(k)))) {
    canSign(c);
    const doc = pc.rosterDoc({ sender: c.me.vk, introduction: iid, members });
    await post(c.api, gid, doc, c.me, recipients(c.counselors.recipients, await Promise.all(members.map((x) => memberRecipient(x.key)))));
    rosterPosted = true;
    ({ checked } = await readGroup());
  }
  if (send !== null) {
    canSign(c);
    if (!checked.roster) throw new InvalidInput('Nobody has accepted this introduction yet, so there is nobody to write to. Nothing was sent.', { code: 'introduction.nobody' });
    await post(c.api, gid, textDoc(c.me, send, attachments), c.me,
      recipients(c.counselors.recipients, await Promise.all(checked.roster.members.map((x) => memberRecipient(x.key)))));
    ({ checked } = await readGroup());
  }
  const { read } = await readGroup();
  const final = checkGroupAll(read, c.deployment, iid, c.me);
  return {
    introductionId: b64(iid), invited: detail.invited.length, accepted: members.map((x) => x.name), refusedCards: bad, rosterPosted,
    group: view(groupConv, 'group', { introductionId: b64(iid), messages: final.messages,
      refused: [...read.refused, ...final.refused].sort(bySeq), notForYou: read.missing,
      members: final.roster ? final.roster.members.map((x) => x.name) : [] }),
  };
}

/** A case note, sealed to every counselor of the document in force (kind 3, scope the case id). */
export async function addNote(ctx, caseId, text) {
  const c = asCounselor(ctx);
  canSign(c);
  if (!String(text ?? '').trim()) throw new InvalidInput('The note is empty.', { code: 'notes.empty' });
  const cid = typeof caseId === 'string' ? id16(caseId) : caseId;
  const noteId = newId();
  const sealed = await pc.sealItem({ kind: pc.KIND_NOTE, scope: cid, itemId: noteId, doc: pc.noteDoc({ sender: c.me.vk, text }),
    signingSeed: c.me.signingSeed, recipients: c.counselors.recipients });
  await c.api.addNote(cid, noteId, pc.sealedItemJson(sealed));
  return { noteId: b64(noteId) };
}

/** A case's notes, each opened and checked to be signed by a listed counselor: [{noteId, author, text, sentAt, createdAt} | {noteId, problem}]. */
export async function readNotes(ctx, caseId) {
  const c = asCounselor(ctx);
  const cid = typeof caseId === 'string' ? id16(caseId) : caseId;
  const out = [];
  for (const n of await c.api.notes(cid)) {
    if (!n.wrap) {
      out.push({ noteId: n.note_id, problem: 'this note was written before your key could read it', createdAt: n.created_at });
      continue;
    }
    try {
      const item = await pc.openItem({ kind: pc.KIND_NOTE, scope: cid, itemId: id16(n.note_id), content: b64uDecode(n.content),
        wrap: b64uDecode(n.wrap), seed: c.me.seed, keyId: c.me.keyId });
      const author = pc.checkNote(item, c.deployment).name;
      out.push({ noteId: n.note_id, author, text: item.text, sentAt: item.sentAt, createdAt: n.created_at });
    } catch (err) {
      if (!(err instanceof ConsilienceError)) throw err;
      out.push({ noteId: n.note_id, problem: err.message, failure: err, createdAt: n.created_at });
    }
  }
  return out;
}
