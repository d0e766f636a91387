// A counselor's case work in the browser (PROTOCOL.md §13): cases, conversations with the reporters
// of released entries, introductions and private notes. Everything sealed is sealed and opened here,
// with the counselor's key (protocol/conversations.js); the server gets ciphertexts and ordering only.
//
// Which keys are trusted, and from where:
// - counselors: the administrator-signed deployment document (their HPKE keys to wrap to, their
//   signing keys to accept messages, notes and rosters from);
// - a reporter: the messaging key in the entry body the reporter sealed (the opened record), never
//   the server's word; a card or a reply counts only if signed by that key.
import { InvalidInput, VerificationError } from '../errors.js';
import { b64uDecode, b64uEncode, bytesEqual } from '../protocol/encoding.js';
import {
  KIND_CARD, KIND_MESSAGE, KIND_NOTE, MESSAGING_KEY_BYTES, checkDisplayName, counselorSigningSeed,
  introductionDoc, noteDoc, openItem, parseMessagingKey, rosterDoc, sealItem, sealedItemJson, signingPublicKey, textDoc,
} from '../protocol/conversations.js';

const ID = 16;
const idText = (id) => (typeof id === 'string' ? id : b64uEncode(id));
const idBytes = (id, what) => (id instanceof Uint8Array ? id : b64uDecode(id, ID, what));
export const newId = () => crypto.getRandomValues(new Uint8Array(ID));

/** The reporter's messaging key from an opened entry body ({mpk, vk, keyId, key}), or null if it has none. */
export async function reporterKeyFromBody(body) {
  const raw = body?.messagingKey ?? body?.messaging_key ?? null;
  if (!raw) return null;
  const key = raw instanceof Uint8Array ? raw : b64uDecode(raw, MESSAGING_KEY_BYTES, 'messaging_key');
  return { key, ...(await parseMessagingKey(key, 'the reporter’s messaging key')) };
}

export class Casework {
  /**
   * api: an EscrowApi signed in as this counselor; keys: the opened key file with publicKey and keyId;
   * deployment: the verified deployment document in force.
   */
  constructor(api, keys, deployment) {
    this.api = api;
    this.keys = keys;
    this.deployment = deployment;
    this.signingSeed = counselorSigningSeed(keys.seed);
    this.vk = signingPublicKey(this.signingSeed);
  }

  /** The deployment's counselor entry for this key (name, keyId, publicKey, signingKey?). */
  me() {
    return this.deployment.counselors.find((c) => bytesEqual(c.keyId, this.keys.keyId)) || null;
  }

  /** Refuse to send when the signed setup does not list this key's signing key: reporters would refuse it. */
  checkCanSend() {
    const me = this.me();
    const listed = me?.signingKey ?? me?.signing_key ?? null;
    if (!listed) {
      throw new InvalidInput('This service’s setup lists your key without a signing key, so reporters could not trust '
        + 'your messages. Ask the administrator to add your key again from your public key file.', { code: 'counselor.signingKeyMissing' });
    }
    if (!bytesEqual(listed instanceof Uint8Array ? listed : b64uDecode(listed, 32, 'signing_key'), this.vk)) {
      throw new InvalidInput('The signing key this service’s setup lists for you is not your key’s. Ask the administrator to check it.', { code: 'counselor.signingKeyOther' });
    }
  }

  /** Signing keys of every counselor the document lists (those without one are left out). */
  counselorSigningKeys() {
    return this.deployment.counselors.map((c) => c.signingKey ?? c.signing_key ?? null).filter(Boolean)
      .map((k) => (k instanceof Uint8Array ? k : b64uDecode(k, 32, 'signing_key')));
  }

  /** The counselor (document entry) whose signing key is `vk`, or null. */
  counselorBySigningKey(vk) {
    return this.deployment.counselors.find((c) => {
      const k = c.signingKey ?? c.signing_key;
      return k && bytesEqual(k instanceof Uint8Array ? k : b64uDecode(k, 32, 'signing_key'), vk);
    }) || null;
  }

  counselorByKeyId(keyId) {
    const id = idBytes(keyId, 'key id');
    return this.deployment.counselors.find((c) => bytesEqual(c.keyId, id)) || null;
  }

  counselorRecipients() {
    return this.deployment.counselors.map((c) => ({ keyId: c.keyId, publicKey: c.publicKey }));
  }

  // --- cases ----------------------------------------------------------------

  cases() {
    return this.api.authed('GET', '/v2/cases');
  }

  /** changes: {owner_key_id?: b64u | null, state?: 'new' | 'reaching_out' | 'in_contact' | 'closed'} */
  updateCase(caseId, changes) {
    return this.api.authed('PUT', `/v2/cases/${idText(caseId)}`, { json: changes });
  }

  take(caseId) {
    return this.updateCase(caseId, { owner_key_id: b64uEncode(this.keys.keyId) });
  }

  link(caseId, matchId) {
    return this.api.authed('POST', `/v2/cases/${idText(caseId)}/links`, { json: { match_id: idText(matchId) } });
  }

  /** The case's notes, opened: [{noteId, createdAt, author (name), text} | {noteId, createdAt, error}]. */
  async notes(caseId) {
    const rows = await this.api.authed('GET', `/v2/cases/${idText(caseId)}/notes`);
    const out = [];
    for (const row of rows) {
      const base = { noteId: row.note_id, createdAt: row.created_at };
      try {
        if (!row.wrap) throw new InvalidInput('this note was not locked to your key (it was written before you were added)', { code: 'casework.noteNotLocked' });
        // sealed under the case it was written in: a case merged into this one keeps its notes' scope
        const scope = idBytes(row.scope ?? caseId, 'case id');
        const item = await openItem({ kind: KIND_NOTE, scope, itemId: b64uDecode(row.note_id, ID, 'note_id'),
          content: b64uDecode(row.content, undefined, 'content'), wrap: b64uDecode(row.wrap, undefined, 'wrap'),
          seed: this.keys.seed, keyId: this.keys.keyId });
        const author = this.counselorBySigningKey(item.sender);
        if (!author) throw new VerificationError('this note is not signed by a counselor of this deployment');
        out.push({ ...base, author: author.name, mine: bytesEqual(item.sender, this.vk), text: item.text, sentAt: item.sentAt });
      } catch (err) {
        out.push({ ...base, error: err.message, failure: err });
      }
    }
    return out;
  }

  async addNote(caseId, text) {
    this.checkCanSend();
    if (!text.trim()) throw new InvalidInput('Write the note first.', { code: 'notes.writeFirst' });
    const noteId = newId();
    const sealed = await sealItem({ kind: KIND_NOTE, scope: idBytes(caseId, 'case id'), itemId: noteId,
      doc: noteDoc({ sender: this.vk, text }), signingSeed: this.signingSeed, recipients: this.counselorRecipients() });
    await this.api.authed('POST', `/v2/cases/${idText(caseId)}/notes`, { json: { note_id: b64uEncode(noteId), ...sealedItemJson(sealed) } });
  }

  // --- conversations --------------------------------------------------------

  conversations(matchId = null) {
    return this.api.authed('GET', '/v2/conversations', { params: matchId ? { match_id: idText(matchId) } : null });
  }

  /**
   * The direct conversation with the reporter of `entryId` in this match: the one the server has,
   * or a new one (POST /v2/conversations). A 409 names the id the entry already has.
   */
  async startConversation(matchId, entryId) {
    const conversationId = b64uEncode(newId());
    const json = { conversation_id: conversationId, match_id: idText(matchId), entry_id: idText(entryId) };
    try {
      return await this.api.authed('POST', '/v2/conversations', { json });
    } catch (err) {
      if (err.status === 409) {
        const existing = (await this.conversations(matchId)).find((c) => c.entry_id === idText(entryId));
        if (existing) return existing;
      }
      throw err;
    }
  }

  /**
   * Messages after `after` in conversation `conv`, opened and checked: [{seq, messageId, receivedAt,
   * from: 'me' | 'counselor' | 'reporter' | 'member', senderName, type, text, attachments, contact,
   * introduction, members, error}], nextAfter. `trust` says who may write here:
   * {reporter: {vk} (direct), members: [{name, key}] (group, from the newest roster)}.
   */
  async messages(conv, after = 0, trust = {}) {
    const cid = conv.conversation_id;
    const scope = b64uDecode(cid, ID, 'conversation_id');
    const out = [];
    let next = after;
    for (;;) {
      const page = await this.api.authed('GET', `/v2/conversations/${cid}/messages`, { params: { after: next, limit: 100 } });
      for (const m of page.messages) {
        const msg = await this.openMessage(scope, m, conv, trust);
        // a group's members are those of the newest roster signed by a counselor: later messages are checked against it
        if (conv.kind === 'group' && !msg.error && msg.type === 'roster' && (msg.from === 'me' || msg.from === 'counselor')) {
          trust.members = msg.members;
        }
        out.push(msg);
      }
      const advanced = page.next_after > next;
      next = Math.max(next, page.next_after ?? next);
      if (!advanced || page.messages.length < 100) break;
    }
    return { items: out, nextAfter: next };
  }

  async openMessage(scope, m, conv, trust) {
    const base = { seq: m.seq, messageId: m.message_id, receivedAt: m.received_at, fromRole: m.from };
    try {
      if (!m.wrap) throw new InvalidInput('this message was not locked to your key (it was sent before you were added)', { code: 'casework.messageNotLocked' });
      const item = await openItem({ kind: KIND_MESSAGE, scope, itemId: b64uDecode(m.message_id, ID, 'message_id'),
        content: b64uDecode(m.content, undefined, 'content'), wrap: b64uDecode(m.wrap, undefined, 'wrap'),
        seed: this.keys.seed, keyId: this.keys.keyId });
      const counselor = this.counselorBySigningKey(item.sender);
      let from;
      let senderName;
      if (counselor) {
        from = bytesEqual(item.sender, this.vk) ? 'me' : 'counselor';
        senderName = counselor.name;
      } else if (conv.kind === 'direct' && trust.reporter && bytesEqual(item.sender, trust.reporter.vk)) {
        if (!['text', 'reveal'].includes(item.type)) throw new VerificationError('a reporter cannot send this kind of message');
        from = 'reporter';
        senderName = 'Reporter';
      } else if (conv.kind === 'group') {
        const member = (trust.members || []).find((x) => bytesEqual(x.key.subarray(x.key.length - 32), item.sender));
        if (!member) throw new VerificationError('this message is not signed by a member of this group or a counselor');
        if (item.type !== 'text') throw new VerificationError('a member cannot send this kind of message');
        from = 'member';
        senderName = member.name;
      } else {
        throw new VerificationError(conv.kind === 'direct'
          ? 'this message is signed neither by this reporter nor by a counselor of this deployment'
          : 'this message is not signed by a counselor of this deployment');
      }
      if (conv.kind === 'direct' && conv.entry_id && item.entry && !bytesEqual(item.entry, b64uDecode(conv.entry_id, ID))) {
        throw new VerificationError('this message is about another record');
      }
      if (conv.kind === 'group' && from !== 'member' && item.type === 'roster' && conv.introduction_id
        && !bytesEqual(item.introduction, b64uDecode(conv.introduction_id, ID))) {
        throw new VerificationError('this list of members is for another introduction');
      }
      return { ...base, from, senderName, type: item.type, text: item.text ?? '', attachments: item.attachments ?? [],
        contact: item.contact ?? null, introduction: item.introduction ?? null, members: item.members ?? null,
        to: item.to ?? null, sentAt: item.sentAt };
    } catch (err) {
      return { ...base, error: err.message, failure: err };
    }
  }

  async postMessage(conv, messageId, sealed) {
    return this.api.authed('POST', `/v2/conversations/${conv.conversation_id}/messages`,
      { json: { message_id: b64uEncode(messageId), ...sealedItemJson(sealed) } });
  }

  /** A text message to the reporter of a direct conversation (reporter: {key, mpk, keyId} from the opened body). */
  async sendDirect(conv, reporter, { text = '', attachments = [] }) {
    this.checkCanSend();
    const messageId = newId();
    const doc = textDoc({ sender: this.vk, text, attachments, entry: b64uDecode(conv.entry_id, ID), to: reporter.key });
    const sealed = await sealItem({ kind: KIND_MESSAGE, scope: b64uDecode(conv.conversation_id, ID), itemId: messageId, doc,
      signingSeed: this.signingSeed, recipients: this.directRecipients(reporter) });
    return this.postMessage(conv, messageId, sealed);
  }

  directRecipients(reporter) {
    const list = this.counselorRecipients();
    if (!list.some((r) => bytesEqual(r.keyId, reporter.keyId))) list.push({ keyId: reporter.keyId, publicKey: reporter.mpk });
    return list;
  }

  // --- introductions --------------------------------------------------------

  /**
   * Propose to connect the reporters of `directs` ([{conv, reporter}], 2..32 direct conversations
   * of this match): the server makes the group conversation and the invitations, then each
   * reporter gets an "introduction" message in their conversation with `text`.
   */
  async propose(matchId, directs, text) {
    this.checkCanSend();
    if (directs.length < 2) throw new InvalidInput('An introduction needs conversations with at least two reporters.', { code: 'introduction.twoReporters' });
    const introductionId = newId();
    const groupId = newId();
    await this.api.authed('POST', `/v2/matches/${idText(matchId)}/introductions`, { json: {
      introduction_id: b64uEncode(introductionId), group_conversation_id: b64uEncode(groupId),
      conversation_ids: directs.map((d) => d.conv.conversation_id),
    } });
    for (const { conv, reporter } of directs) {
      const messageId = newId();
      const doc = introductionDoc({ sender: this.vk, introduction: introductionId, text,
        entry: b64uDecode(conv.entry_id, ID), to: reporter.key });
      const sealed = await sealItem({ kind: KIND_MESSAGE, scope: b64uDecode(conv.conversation_id, ID), itemId: messageId, doc,
        signingSeed: this.signingSeed, recipients: this.directRecipients(reporter) });
      await this.postMessage(conv, messageId, sealed);
    }
    return b64uEncode(introductionId);
  }

  /**
   * An introduction with its acceptances checked: {introductionId, groupConversationId, invited,
   * accepted: [{conversationId, acceptedAt, name, key (1248), mpk, keyId} | {conversationId, error}]}.
   * reporterOf(cid) gives the reporter key pinned for a direct conversation (or null): a card counts
   * only if that key signed it and it names that same key.
   */
  async introduction(introductionId, reporterOf) {
    const doc = await this.api.authed('GET', `/v2/introductions/${idText(introductionId)}`);
    const scope = b64uDecode(doc.introduction_id, ID, 'introduction_id');
    const accepted = [];
    for (const a of doc.accepted || []) {
      const base = { conversationId: a.conversation_id, acceptedAt: a.accepted_at };
      try {
        const reporter = reporterOf(a.conversation_id);
        if (!reporter) throw new VerificationError('this acceptance is from a conversation that is not open on this page');
        if (!a.card?.wrap) throw new InvalidInput('this card was not locked to your key', { code: 'casework.cardNotLocked' });
        const item = await openItem({ kind: KIND_CARD, scope, itemId: b64uDecode(a.conversation_id, ID, 'conversation_id'),
          content: b64uDecode(a.card.content, undefined, 'content'), wrap: b64uDecode(a.card.wrap, undefined, 'wrap'),
          seed: this.keys.seed, keyId: this.keys.keyId });
        if (!bytesEqual(item.sender, reporter.vk) || !bytesEqual(item.key, reporter.key)) {
          throw new VerificationError('this acceptance is not signed by the reporter of that conversation');
        }
        if (!bytesEqual(item.introduction, scope)) throw new VerificationError('this acceptance is for another introduction');
        checkDisplayName(item.name);
        accepted.push({ ...base, name: item.name, key: item.key, mpk: reporter.mpk, keyId: reporter.keyId });
      } catch (err) {
        accepted.push({ ...base, error: err.message, failure: err });
      }
    }
    return { introductionId: doc.introduction_id, groupConversationId: doc.group_conversation_id,
      invited: doc.invited || [], accepted };
  }

  /** Post the roster of the group: every checked accepter ([{name, key}]), signed by this counselor. */
  async postRoster(groupConv, introductionId, members) {
    this.checkCanSend();
    const messageId = newId();
    const doc = rosterDoc({ sender: this.vk, introduction: b64uDecode(introductionId, ID), members });
    const sealed = await sealItem({ kind: KIND_MESSAGE, scope: b64uDecode(groupConv.conversation_id, ID), itemId: messageId,
      doc, signingSeed: this.signingSeed, recipients: await this.groupRecipients(members) });
    return this.postMessage(groupConv, messageId, sealed);
  }

  async groupRecipients(members) {
    const list = this.counselorRecipients();
    for (const m of members) {
      const { mpk, keyId } = await parseMessagingKey(m.key);
      if (!list.some((r) => bytesEqual(r.keyId, keyId))) list.push({ keyId, publicKey: mpk });
    }
    return list;
  }

  /** A text message in a group: to the counselors and the members of the newest roster. */
  async sendGroup(groupConv, members, { text = '', attachments = [] }) {
    this.checkCanSend();
    const messageId = newId();
    const doc = textDoc({ sender: this.vk, text, attachments });
    const sealed = await sealItem({ kind: KIND_MESSAGE, scope: b64uDecode(groupConv.conversation_id, ID), itemId: messageId,
      doc, signingSeed: this.signingSeed, recipients: await this.groupRecipients(members) });
    return this.postMessage(groupConv, messageId, sealed);
  }
}
