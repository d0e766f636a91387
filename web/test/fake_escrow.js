// An in-memory escrow server, its transparency log and its key servers, behind
// one fake `fetch`, for driving the SDK's client workflows in node. Protocol v2: the
// deployment is tests/vectors/entry_v2_interop.json's (signed by its administrator, with
// the quorum keys of a real key generation), the key servers are played from the file's
// test-only secrets (web/test/v2_vectors.js: signed requests checked, VOPRF with proofs,
// quorum answers), registration takes the invite's account key and proof and hands out the
// administrator's certificate, and the log signs checkpoints and hands out RFC 9162
// inclusion proofs, so a receipt from here passes the SDK's checks only if it is right. The
// server refuses a second active entry of one account under a tag (409 already_named) and
// never tells a reporter "released". Faults are queued per route (see failNext).
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { hx } from './helpers.js';
import { V2, deployment as v2Deployment, keyServers } from './v2_vectors.js';
import { b64Encode, b64uDecode, b64uEncode, concatBytes } from '../src/sdk/protocol/encoding.js';
import { issueCertificate, verifyRegistration } from '../src/sdk/protocol/accounts.js';
import { commit, contentHash } from '../src/sdk/protocol/events.js';
import { leafHash, nodeHash } from '../src/sdk/tlog/merkle.js';
import { EM_DASH, SIG_ED25519, keyId as noteKeyId } from '../src/sdk/tlog/signed_note.js';
import { HEADER } from '../src/sdk/tlog/receipt.js';

export const ESCROW_URL = 'http://escrow.test';

const json = (status, doc, headers = {}) => new Response(JSON.stringify(doc), {
  status, headers: { 'Content-Type': 'application/json', ...headers },
});
const refusal = (status, error, detail, extra = {}, headers = {}) => json(status, { error, detail, ...extra }, headers);

/** RFC 9162 MTH over leaf hashes. */
function treeHash(hashes) {
  if (hashes.length === 1) return hashes[0];
  const k = 2 ** Math.floor(Math.log2(hashes.length - 1));
  return nodeHash(treeHash(hashes.slice(0, k)), treeHash(hashes.slice(k)));
}

/** RFC 9162 PATH(m, D[n]). */
function inclusionPath(m, hashes) {
  if (hashes.length === 1) return [];
  const k = 2 ** Math.floor(Math.log2(hashes.length - 1));
  return m < k ? [...inclusionPath(m, hashes.slice(0, k)), treeHash(hashes.slice(k))]
    : [...inclusionPath(m - k, hashes.slice(k)), treeHash(hashes.slice(0, k))];
}

/**
 * An entry event (protocol/events.py entry_event: 0x01 || entry id || content hash || millis) and its
 * log leaf, the commitment SHA-256("consilience-v2 log leaf" || nonce || event): {leaf, opening}.
 */
function entryLeaf(entryId, content, millis) {
  const at = new Uint8Array(8);
  new DataView(at.buffer).setBigUint64(0, BigInt(millis));
  const event = concatBytes(Uint8Array.of(1), entryId, content, at);
  const nonce = randomBytes(32);
  return { leaf: commit(nonce, event), opening: concatBytes(nonce, event) };
}

/** A counselor's opening event (0x04 || match id || counselor key id || millis) and its leaf: {leaf, opening}. */
function openingLeaf(matchId, keyId, millis) {
  const at = new Uint8Array(8);
  new DataView(at.buffer).setBigUint64(0, BigInt(millis));
  const event = concatBytes(Uint8Array.of(4), matchId, keyId, at);
  const nonce = randomBytes(32);
  return { leaf: commit(nonce, event), opening: concatBytes(nonce, event) };
}

/**
 * A fresh fake deployment. Returns {fetch, requests, failNext, published, fingerprint, entries,
 * keyserverDown, ...}. `requests` lists every request as {method, url, body} in order.
 */
export async function fakeEscrow() {
  const published = V2.published;
  const d = await v2Deployment();
  const serial = d.serial;
  const logSeed = hx(V2.log_seed); // the log's key (test-only, in the vectors)
  const logKey = ed25519.getPublicKey(logSeed);
  const LOG = { origin: d.log.origin, seed: logSeed, key: logKey };
  const keyserverDown = new Set();
  const ks = keyServers(d, { down: keyserverDown });
  const accountToken = randomBytes(32);
  const accountId = randomBytes(16);
  const accounts = new Map(); // b64u account key -> {accountId, token}
  const messageKeys = new Map(); // "wallet" or an account -> the b64u messaging key it registered (PROTOCOL.md §13.1)
  const leaves = [];
  /** entry id (b64u) -> {payload text, status, received_at, leafIndex} */
  const entries = new Map();
  /** entry id (b64u) -> [{counselor_key_id, opened_at, leafIndex | null}]: who read it (PROTOCOL.md §13.6) */
  const readings = new Map();
  /** key ids (b64u) whose envelopes the server deleted (a revoked counselor, PROTOCOL.md §13.6) */
  const revokedKeyIds = new Set();
  const requests = [];
  const faults = [];

  /** Queue a fault for the next request matching `route` ("POST /v2/entries", "POST keyserver"):
   *  'lose-answer' (the server acts, the answer never arrives), 'unreachable' (it never gets there),
   *  'wrong-receipt' (the server acts, but its receipt is for a leaf with other content),
   *  'no-receipt' (it acts and answers without a receipt), 'sequenced' (it acts, and answers that the
   *  receipt is not ready yet: receipt null, sequenced true) or a Response to answer instead. */
  function failNext(route, fault) {
    faults.push({ route, fault });
  }

  function takeFault(route) {
    const i = faults.findIndex((f) => f.route === route);
    return i < 0 ? null : faults.splice(i, 1)[0].fault;
  }

  function checkpointNote() {
    const root = treeHash(leaves.map((l) => leafHash(l.leaf)));
    const body = `${LOG.origin}\n${leaves.length}\n${b64Encode(root)}\n`;
    const sig = ed25519.sign(new TextEncoder().encode(body), LOG.seed);
    const id = noteKeyId(LOG.origin, SIG_ED25519, LOG.key);
    return `${body}\n${EM_DASH} ${LOG.origin} ${b64Encode(concatBytes(id, sig))}\n`;
  }

  /** A v2 receipt: the inclusion proof of the commitment, its opening in the extra line. */
  function receiptFor(index) {
    const proof = inclusionPath(index, leaves.map((l) => leafHash(l.leaf)));
    const head = [HEADER, `extra ${b64Encode(leaves[index].opening)}`, `index ${index}`, ...proof.map(b64Encode)];
    return `${head.join('\n')}\n\n${checkpointNote()}`;
  }

  function answerFor(id) {
    const e = entries.get(id);
    return { entry_id: id, status: e.status, received_at: e.received_at, receipt: receiptFor(e.leafIndex) };
  }

  function accept(id, text, payload, owner) {
    const content = contentHash(payload.quorum, payload.tags.map((t) => b64uDecode(t)), b64uDecode(payload.body),
      payload.envelopes.map((e) => [b64uDecode(e.key_id), b64uDecode(e.ciphertext)]));
    const now = Date.now();
    leaves.push(entryLeaf(b64uDecode(id, 16), content, now));
    const receivedAt = entries.get(id)?.received_at ?? new Date(now).toISOString(); // an edit keeps it, as the escrow does
    entries.set(id, { text, status: 'escrowed', received_at: receivedAt, updated_at: new Date(now).toISOString(),
      leafIndex: leaves.length - 1,
      owner, tags: payload.tags, quorum: payload.quorum, envelopes: payload.envelopes.map((e) => e.key_id) });
  }

  function escrowRoute(method, path, init) {
    if (method === 'GET' && path === '/v2/deployment') return json(200, published);
    if (method === 'POST' && path === '/v2/register') {
      const doc = JSON.parse(init.body);
      const key = b64uDecode(doc.account_key, 32);
      const invited = V2.accounts.find((a) => a.account_key === [...key].map((b) => b.toString(16).padStart(2, '0')).join(''));
      if (!invited) return refusal(403, 'invalid_invite', 'this invite is unknown, used or expired');
      try {
        verifyRegistration(key, d.deploymentId, b64uDecode(doc.proof, 64));
      } catch (e) {
        return refusal(403, 'invalid_invite', e.message);
      }
      if (accounts.has(doc.account_key)) return refusal(403, 'invalid_invite', 'this invite is unknown, used or expired');
      const account = { accountId: randomBytes(16), token: randomBytes(32) };
      accounts.set(doc.account_key, account);
      const certificate = issueCertificate(hx(V2.admin.seed), d.deploymentId, key, { now: invited.issued_at });
      return json(201, { account_id: b64uEncode(account.accountId), token: b64uEncode(account.token), certificate: b64uEncode(certificate) });
    }
    const bearer = (init.headers?.Authorization ?? '').replace(/^Bearer /, '');
    const owner = bearer === b64uEncode(accountToken) ? 'wallet' : [...accounts.values()].find((a) => b64uEncode(a.token) === bearer);
    if (!owner) return refusal(401, 'unauthorized', 'missing or unknown account token');
    if (method === 'PUT' && path === '/v2/account/message-key') {
      const key = JSON.parse(init.body).message_key;
      const had = messageKeys.get(owner === 'wallet' ? 'wallet' : owner);
      if (had && had !== key) return refusal(409, 'conflict', 'this account already has another messaging key');
      messageKeys.set(owner === 'wallet' ? 'wallet' : owner, key);
      return new Response(null, { status: 204 });
    }
    const receiptOf = path.match(/^\/v2\/entries\/([A-Za-z0-9_-]{22})\/receipt$/)?.[1];
    if (method === 'GET' && receiptOf) {
      return entries.has(receiptOf) ? json(200, answerFor(receiptOf)) : json(404, { detail: 'no such entry' });
    }
    if (method === 'GET' && path === '/v2/entries') {
      return json(200, [...entries].filter(([, e]) => e.owner === owner).map(([id, e]) => ({ entry_id: id, status: e.status,
        received_at: e.received_at, updated_at: e.updated_at, quorum: e.quorum,
        sealed_for: e.envelopes.filter((k) => !revokedKeyIds.has(k)) })));
    }
    const readersOf = /^\/v2\/entries\/([A-Za-z0-9_-]{22})\/readers$/.exec(path);
    if (method === 'GET' && readersOf) {
      if (entries.get(readersOf[1])?.owner !== owner) return refusal(404, 'not_found', 'no such entry');
      return json(200, { readers: (readings.get(readersOf[1]) ?? []).map((r) => ({ counselor_key_id: r.counselor_key_id,
        opened_at: r.opened_at, receipt: r.leafIndex === null ? null : receiptFor(r.leafIndex) })) });
    }
    const put = /^\/v2\/entries\/([A-Za-z0-9_-]{22})$/.exec(path);
    if ((method === 'POST' && path === '/v2/entries') || (method === 'PUT' && put)) {
      const payload = JSON.parse(init.body);
      const id = payload.entry_id;
      if (put && put[1] !== id) return refusal(422, 'invalid', 'entry_id: must equal the id in the URL');
      const existing = entries.get(id);
      if (existing && existing.text === init.body) return json(200, answerFor(id)); // the same submission again
      if (method === 'POST' && existing) return refusal(409, 'conflict', 'this entry id is already in use with other content');
      if (method === 'PUT' && !existing) return refusal(404, 'not_found', 'no such entry');
      if (payload.deployment_serial !== serial) {
        return refusal(409, 'conflict', `stale deployment document: the current serial is ${serial}`, { current_serial: serial });
      }
      for (const [otherId, other] of entries) {
        if (otherId !== id && other.owner === owner && other.status === 'escrowed' && other.tags.some((t) => payload.tags.includes(t))) {
          return refusal(409, 'already_named', 'this account already has an active entry naming one of these people; add to that record instead');
        }
      }
      accept(id, init.body, payload, owner);
      return json(put ? 200 : 201, answerFor(id));
    }
    return refusal(404, 'not_found', `no route ${method} ${path}`);
  }

  function keyserverRoute(index, path, init) {
    if (path !== '/v2/evaluate') return refusal(404, 'not_found', 'no such route');
    return ks.answer(`${d.keyservers[index - 1].url.replace(/\/+$/, '')}${path}`, init);
  }

  const keyserverOf = (u) => d.keyservers.find((s) => new URL(s.url).origin === u.origin)?.index ?? null;

  async function fetch(url, init = {}) {
    const u = new URL(url);
    const method = init.method ?? 'GET';
    requests.push({ method, url: String(url), body: init.body ?? null });
    const server = keyserverOf(u);
    const route = server ? `${method} keyserver` : `${method} ${u.pathname}`;
    const fault = takeFault(route);
    if (fault === 'unreachable') throw new TypeError('fetch failed');
    if (fault instanceof Response) return fault;
    const answer = server ? await keyserverRoute(server, u.pathname, init) : escrowRoute(method, u.pathname, init);
    if (fault === 'lose-answer') throw new TypeError('fetch failed');
    if (fault === 'wrong-receipt') {
      const doc = await answer.json();
      leaves.push(entryLeaf(b64uDecode(doc.entry_id, 16), randomBytes(32), Date.now()));
      return json(answer.status, { ...doc, receipt: receiptFor(leaves.length - 1) });
    }
    if (fault === 'no-receipt') return json(answer.status, { ...(await answer.json()), receipt: null });
    if (fault === 'sequenced') return json(answer.status, { ...(await answer.json()), receipt: null, sequenced: true });
    return answer;
  }

  return {
    fetch, requests, failNext, published, fingerprint: hx(V2.admin.fingerprint), accountId, accountToken,
    entries, leaves, keyserverDown, serial, deployment: d, keyserverRequests: ks.requests, messageKeys, revokedKeyIds,
    /** Requests to one route ("POST /v2/entries", "POST keyserver"), in order. */
    sent(route) {
      return requests.filter((r) => {
        const u = new URL(r.url);
        return (keyserverOf(u) ? `${r.method} keyserver` : `${r.method} ${u.pathname}`) === route;
      });
    },
    refusal,
    /** A counselor (key id, bytes) opened entry `entryId` (b64u) at `millis`; logged (a receipt) unless `logged` is false.
     *  `eventKeyId`/`eventMillis` put something else in the logged event than the server then says. */
    addReading(entryId, keyId, millis, { logged = true, eventKeyId = keyId, eventMillis = millis } = {}) {
      let leafIndex = null;
      if (logged) {
        leaves.push(openingLeaf(randomBytes(16), eventKeyId, eventMillis));
        leafIndex = leaves.length - 1;
      }
      const list = readings.get(entryId) ?? [];
      list.push({ counselor_key_id: b64uEncode(keyId), opened_at: new Date(millis).toISOString().replace('Z', '+00:00'), leafIndex });
      readings.set(entryId, list);
    },
  };
}
