// The escrow server's HTTP API over fetch (protocol v2: every route under /v2/, the deployment
// document and the log included): every route the Python client
// (clients/escrow_client.py) uses, for reporters, counselors and the
// transparency log. Errors come back as ApiError with the server's own
// status, error code, detail and Retry-After, so the UI can say what went
// wrong. Nothing here decides trust: deployment documents are checked by
// protocol/deployment.js (fetchDeployment below), receipts by clients/receipts.js.
import { ConsilienceError } from '../errors.js';
import { b64uEncode } from '../protocol/encoding.js';
import { verifyDeployment } from '../protocol/deployment.js';
import { signLogin } from '../protocol/sessions.js';

export class ApiError extends ConsilienceError {
  constructor(status, code, detail, { retryAfter = null, currentSerial = null } = {}) {
    const wait = retryAfter !== null ? ` (try again in ${retryAfter} s)` : '';
    super(`server answered ${status} (${code}): ${detail}${wait}`);
    this.status = status;
    this.code = code;
    this.detail = detail;
    /** seconds to wait before retrying (429 and 503 answers), or null */
    this.retryAfter = retryAfter;
    /** on 409 for a stale deployment document: the serial now in force */
    this.currentSerial = currentSerial;
  }
}

const idText = (id) => (typeof id === 'string' ? id : b64uEncode(id));

// The language servers answer in (their error details, the account deletion's list of what stays):
// a tag, or a function giving one at each request, so a page that changes language is followed.
// The SDK knows no page: the app sets it (setRequestLanguage), or passes `language` to one client.
let defaultLanguage = null;

/**
 * Send `Accept-Language: LANGUAGE` on every request of every EscrowApi made without its own
 * `language` option (fetchDeployment's and the SDK workflows' included). LANGUAGE: a tag ('es'),
 * a function returning one (or nothing, to send none), or null to stop.
 */
export function setRequestLanguage(language) {
  defaultLanguage = language ?? null;
}

/**
 * The headers that ask for the language set with setRequestLanguage ({} when none is set): for the
 * SDK's requests that go to the key servers with fetch directly, not through an EscrowApi.
 */
export function languageHeaders() {
  const lang = acceptLanguage(defaultLanguage);
  return lang ? { 'Accept-Language': lang } : {};
}

/** The Accept-Language value for LANGUAGE (tag or function), or null when there is none to send. */
function acceptLanguage(language) {
  const tag = typeof language === 'function' ? language() : language;
  if (typeof tag !== 'string') return null;
  const value = tag.trim();
  // a CORS-safelisted value only (letters, digits, "-", and the q-list's ",;=. *"), so no preflight is needed
  return value && /^[0-9A-Za-z *,\-.;=]+$/.test(value) ? value : null;
}

function retryAfterSeconds(value) {
  if (value === null || value === undefined || value === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

export class EscrowApi {
  /**
   * serverUrl: the escrow server's base URL ('' or '/' for the page's own origin).
   * token: the account's session token (Uint8Array or its b64u), or null for public routes.
   * signIn: async (api) => a new session token (reporterSignIn, counselorSignIn below), or null.
   *   With it, a request made as the account signs in first when there is no session, and again
   *   once when the session has expired (401), then is sent once more: nobody sees an expiry
   *   mid-task (PROTOCOL.md §6.1). onToken(token b64u) is told of each new session.
   * language: the Accept-Language sent with each request, a tag or a function giving one (see
   *   setRequestLanguage, the default for every client; undefined keeps it, null sends none).
   */
  constructor(serverUrl, token = null, { fetch: fetchFn = globalThis.fetch.bind(globalThis), timeoutMs = 30000,
    signIn = null, onToken = null, language = undefined } = {}) {
    this.base = String(serverUrl ?? '').replace(/\/+$/, '');
    this.token = token === null || token === undefined ? null : idText(token);
    this.signIn = signIn;
    this.onToken = onToken;
    // Called as a plain function: window.fetch invoked as a method of another object throws
    // "Illegal invocation" (fetchDeployment passes the unbound globalThis.fetch).
    this.fetch = (...args) => fetchFn(...args);
    this.timeoutMs = timeoutMs;
    this.language = language;
  }

  async renew() {
    this.token = idText(await this.signIn(this));
    if (this.onToken) this.onToken(this.token);
  }

  /** A request made as the account (see the constructor's signIn). */
  async authed(method, path, options = {}) {
    if (!this.token && this.signIn) await this.renew();
    try {
      return await this.call(method, path, options);
    } catch (err) {
      // a revoked or deleted account (PROTOCOL.md §14.2) is not signed in again
      if (!(err instanceof ApiError) || err.status !== 401 || ['account_revoked', 'account_deleted'].includes(err.code)
          || !this.signIn) throw err;
    }
    await this.renew();
    return this.call(method, path, options);
  }

  /** POST /v2/login: a new session for the reporter that signed `login` (protocol/sessions.js signLogin); its token (b64u). */
  async login(login) {
    const doc = await this.call('POST', '/v2/login', { json: { account_key: idText(login.accountKey),
      issued_at: login.issuedAt, nonce: idText(login.nonce), signature: idText(login.signature) } });
    return doc.token;
  }

  /** POST /v2/login/counselor with the counselor's credential as the bearer: a new session's token (b64u). */
  async loginCounselor(credential) {
    const doc = await this.call('POST', '/v2/login/counselor', { bearer: idText(credential) });
    return doc.token;
  }

  async call(method, path, { json = undefined, params = null, ok = [200, 201], text = false, bearer = null } = {}) {
    const query = params ? '?' + new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined)) : '';
    const headers = { Accept: text ? 'text/plain' : 'application/json' };
    if (bearer || this.token) headers.Authorization = `Bearer ${bearer || this.token}`;
    if (json !== undefined) headers['Content-Type'] = 'application/json';
    const lang = acceptLanguage(this.language === undefined ? defaultLanguage : this.language);
    if (lang) headers['Accept-Language'] = lang;
    const controller = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), this.timeoutMs) : null;
    let response;
    try {
      response = await this.fetch(this.base + path + query, {
        method, headers, body: json === undefined ? undefined : JSON.stringify(json),
        signal: controller?.signal, credentials: 'omit', cache: 'no-store', redirect: 'error',
      });
    } catch (exc) {
      throw new ApiError(0, 'unreachable', `cannot reach ${this.base || 'the server'}: ${exc?.message ?? exc}`);
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (!ok.includes(response.status)) {
      const body = await response.text().catch(() => '');
      let code = 'error';
      let detail = body.slice(0, 300) || response.statusText || 'no detail';
      let currentSerial = null;
      try {
        const doc = JSON.parse(body);
        if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
          code = String(doc.error ?? 'error');
          detail = typeof doc.detail === 'string' ? doc.detail : JSON.stringify(doc.detail ?? doc);
          currentSerial = Number.isInteger(doc.current_serial) ? doc.current_serial : null;
        }
      } catch {
        // not JSON: keep the text
      }
      throw new ApiError(response.status, code, detail, { retryAfter: retryAfterSeconds(response.headers.get('Retry-After')),
        currentSerial });
    }
    if (text) return response.text();
    const body = await response.text();
    return body ? JSON.parse(body) : null;
  }

  // -- public ---------------------------------------------------------------

  /** The published deployment document {document, signature, admin_key}; check it with verifyDeployment, or call fetchDeployment. */
  deployment() {
    return this.call('GET', '/v2/deployment');
  }

  /**
   * Use an invite (POST /v2/register): its account key and the registration proof
   * (protocol/accounts.js registrationProof), bytes or b64u, and optionally the wallet's messaging key
   * (protocol/conversations.js messagingKeyPair). Returns {accountId, token,
   * certificate} (b64u): the escrow account and the administrator's certificate of the key.
   */
  async register(accountKey, proof, messageKey = null) {
    const json = { account_key: idText(accountKey), proof: idText(proof) };
    if (messageKey) json.message_key = idText(messageKey); // PROTOCOL.md §13.1: where counselors' messages are sealed to
    const doc = await this.call('POST', '/v2/register', { json });
    return { accountId: doc.account_id, token: doc.token, certificate: doc.certificate };
  }

  // -- reporter ---------------------------------------------------------------

  /**
   * POST /v2/entries with a submission payload (protocol/entry.js submissionPayload); resending
   * identical bytes is idempotent. A 409 with code `already_named` means this account already has
   * an active entry under one of the tags: add the names to that record instead.
   */
  submit(payload) {
    return this.authed('POST', '/v2/entries', { json: payload });
  }

  /** PUT /v2/entries/{id}: replace an escrowed entry's content. */
  replace(entryId, payload) {
    return this.authed('PUT', `/v2/entries/${idText(entryId)}`, { json: payload });
  }

  /** submit or replace, as EscrowClient.send */
  send(payload, { replace = false } = {}) {
    return replace ? this.replace(payload.entry_id, payload) : this.submit(payload);
  }

  entries() {
    return this.authed('GET', '/v2/entries');
  }

  entry(entryId) {
    return this.authed('GET', `/v2/entries/${idText(entryId)}`);
  }

  receipt(entryId) {
    return this.authed('GET', `/v2/entries/${idText(entryId)}/receipt`);
  }

  withdraw(entryId) {
    return this.authed('DELETE', `/v2/entries/${idText(entryId)}`);
  }

  /** DELETE /v2/account (PROTOCOL.md §14.2): every entry withdrawn, the backup and the account gone;
   * {erased_entries, what_stays}. */
  deleteAccount() {
    return this.authed('DELETE', '/v2/account');
  }

  // -- transparency log (public) ---------------------------------------------------

  /** The newest signed checkpoint note (or the one of `size`), with cosignatures. */
  checkpoint(size = null) {
    return this.call('GET', '/v2/log/checkpoint', { params: size ? { size } : null, text: true });
  }

  /** {old, new, proof: [b64u]} */
  consistency(oldSize, newSize) {
    return this.call('GET', '/v2/log/consistency', { params: { old: oldSize, new: newSize } });
  }

  cosign(size, cosignatureLine) {
    return this.call('POST', '/v2/log/cosignatures', { json: { size, cosignature: cosignatureLine } });
  }

  // -- counselor ---------------------------------------------------------------

  matches() {
    return this.authed('GET', '/v2/matches');
  }

  match(matchId) {
    return this.authed('GET', `/v2/matches/${idText(matchId)}`);
  }

  // -- after a match (PROTOCOL.md §13): conversations, introductions, cases, readers ----------
  // Ids as bytes or b64u; sealed items as {content, wraps: [{key_id, wrap}]} (protocol/conversations.js
  // sealedItemJson). Answers are the server's JSON.

  /** PUT /v2/account/message-key (reporter): register the wallet's messaging key (b64u or bytes, 1248). */
  putMessageKey(messagingKey) {
    return this.authed('PUT', '/v2/account/message-key', { json: { message_key: idText(messagingKey) }, ok: [200, 201, 204] });
  }

  /** GET /v2/account/notify: {email (or null), sends_mail}. */
  notify() {
    return this.authed('GET', '/v2/account/notify');
  }

  /** PUT /v2/account/notify: an address told only that something is waiting, or null to stop; {email, sends_mail}. */
  putNotify(email) {
    return this.authed('PUT', '/v2/account/notify', { json: { email: email || null }, ok: [200, 201, 204] });
  }

  /**
   * POST /v2/conversations (counselor): open the direct conversation with the reporter of a released entry.
   * 200 with the existing one for the same id again; a 409 carries the entry's existing conversation_id.
   */
  startConversation(conversationId, matchId, entryId) {
    return this.authed('POST', '/v2/conversations', { json: { conversation_id: idText(conversationId),
      match_id: idText(matchId), entry_id: idText(entryId) } });
  }

  /** GET /v2/conversations[?match_id=]: a reporter's own conversations, or a counselor's (one match's). */
  conversations(matchId = null) {
    return this.authed('GET', '/v2/conversations', { params: matchId ? { match_id: idText(matchId) } : null });
  }

  /** GET /v2/conversations/{cid}/messages?after=&limit=: {messages: [{seq, message_id, from, content, wrap, received_at}], next_after}. */
  messages(conversationId, { after = 0, limit = null } = {}) {
    return this.authed('GET', `/v2/conversations/${idText(conversationId)}/messages`, { params: { after, limit } });
  }

  /** POST /v2/conversations/{cid}/messages {message_id, content, wraps}: {seq, received_at}; the same message again is 200. */
  postMessage(conversationId, messageId, sealedItem) {
    return this.authed('POST', `/v2/conversations/${idText(conversationId)}/messages`, {
      json: { message_id: idText(messageId), content: sealedItem.content, wraps: sealedItem.wraps } });
  }

  /** POST /v2/matches/{mid}/introductions (counselor): the group conversation and the invites of 2..32 direct conversations. */
  introduce(matchId, introductionId, groupConversationId, conversationIds) {
    return this.authed('POST', `/v2/matches/${idText(matchId)}/introductions`, { json: {
      introduction_id: idText(introductionId), group_conversation_id: idText(groupConversationId),
      conversation_ids: conversationIds.map(idText) } });
  }

  /** GET /v2/introductions/{iid}: the counselor's view (invited, accepted with cards) or the invited reporter's own. */
  introduction(introductionId) {
    return this.authed('GET', `/v2/introductions/${idText(introductionId)}`);
  }

  /** POST /v2/introductions/{iid}/accept (reporter) {conversation_id, card: SealedItem}. Declining sends nothing. */
  acceptIntroduction(introductionId, conversationId, card) {
    return this.authed('POST', `/v2/introductions/${idText(introductionId)}/accept`, {
      json: { conversation_id: idText(conversationId), card } });
  }

  /** GET /v2/cases (counselor): every case, what needs attention first. */
  cases() {
    return this.authed('GET', '/v2/cases');
  }

  /** PUT /v2/cases/{id} {owner_key_id?, state?}: the case as it is now. */
  updateCase(caseId, { ownerKeyId = undefined, state = undefined } = {}) {
    const json = {};
    if (ownerKeyId !== undefined) json.owner_key_id = ownerKeyId === null ? null : idText(ownerKeyId);
    if (state !== undefined) json.state = state;
    return this.authed('PUT', `/v2/cases/${idText(caseId)}`, { json });
  }

  /** POST /v2/cases/{id}/links {match_id}: the match's case is merged into this one. */
  linkCase(caseId, matchId) {
    return this.authed('POST', `/v2/cases/${idText(caseId)}/links`, { json: { match_id: idText(matchId) } });
  }

  /** GET /v2/cases/{id}/notes: [{note_id, author_key_id, content, wrap, created_at}]. */
  notes(caseId) {
    return this.authed('GET', `/v2/cases/${idText(caseId)}/notes`);
  }

  /** POST /v2/cases/{id}/notes {note_id, content, wraps}. */
  addNote(caseId, noteId, sealedItem) {
    return this.authed('POST', `/v2/cases/${idText(caseId)}/notes`, {
      json: { note_id: idText(noteId), content: sealedItem.content, wraps: sealedItem.wraps } });
  }

  /** GET /v2/entries/{id}/readers (reporter, own entry): {readers: [{counselor_key_id, opened_at, receipt}]}. */
  readers(entryId) {
    return this.authed('GET', `/v2/entries/${idText(entryId)}/readers`);
  }

  // -- recovery backup (PROTOCOL.md §14.1) ----------------------------------------------------

  /** PUT /v2/account/backup (reporter) with a backup document: {handle, version, stored_at}; 409 stale_backup if not newer. */
  putBackup(backupDocument) {
    return this.authed('PUT', '/v2/account/backup', { json: backupDocument });
  }

  /** GET /v2/backup/{handle} (no account: a new device has none): the backup document; 404 when there is none. */
  backup(handle) {
    return this.call('GET', `/v2/backup/${encodeURIComponent(handle)}`);
  }

  /** DELETE /v2/account/backup (reporter). */
  deleteBackup() {
    return this.authed('DELETE', '/v2/account/backup', { ok: [200, 204] });
  }
}

/** GET <server>/v2/deployment and verify it (protocol/deployment.js verifyDeployment), as EscrowClient.deployment. */
export async function fetchDeployment(serverUrl, adminFingerprintPin, minSerial = 0, { fetch: fetchFn = globalThis.fetch } = {}) {
  const published = await new EscrowApi(serverUrl, null, { fetch: fetchFn }).deployment();
  return verifyDeployment(published, adminFingerprintPin, { minSerial });
}

/** Sign in with the account key (the wallet's seed), as clients/escrow_client.py reporter_login. */
export function reporterSignIn(seed, deploymentId) {
  return (api) => api.login(signLogin(seed, deploymentId));
}

/** Sign in with the credential the administrator gave (cnslc1.'s token), as counselor_login. */
export function counselorSignIn(credential) {
  return (api) => api.loginCounselor(credential);
}
