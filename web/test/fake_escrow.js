// An in-memory escrow server, its transparency log and its key servers, behind
// one fake `fetch`, for driving the SDK's client workflows in node. It is built
// from the SDK's own formats and real keys: a deployment document signed by an
// administrator key, key servers holding shares of the interop vectors' OPRF key
// (evaluating with proofs), and a log that signs checkpoints and hands out
// RFC 9162 inclusion proofs, so a receipt from here passes the SDK's checks only
// if it is right. Faults are queued per route (see failNext).
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { VECTORS, hx } from './helpers.js';
import * as oprf from '../src/sdk/crypto/oprf.js';
import * as shamir from '../src/sdk/crypto/shamir.js';
import { Point, scalarFromInt, scalarToInt } from '../src/sdk/crypto/ristretto.js';
import { b64Encode, b64uDecode, b64uEncode, concatBytes } from '../src/sdk/protocol/encoding.js';
import { SIGNING_PREFIX, adminFingerprint, canonicalJson } from '../src/sdk/protocol/deployment.js';
import { contentHash } from '../src/sdk/protocol/events.js';
import { leafHash, nodeHash } from '../src/sdk/tlog/merkle.js';
import { EM_DASH, SIG_ED25519, keyId as noteKeyId } from '../src/sdk/tlog/signed_note.js';
import { HEADER } from '../src/sdk/tlog/receipt.js';

export const ESCROW_URL = 'http://escrow.test';
export const LOG_ORIGIN = 'escrow.test/log';
const keyserverUrl = (i) => `http://keyserver-${i}.test`;

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

/** The log's entry leaf (protocol/events.py entry_leaf): 0x01 || entry id || content hash || millis. */
function entryLeaf(entryId, content, millis) {
  const at = new Uint8Array(8);
  new DataView(at.buffer).setBigUint64(0, BigInt(millis));
  return concatBytes(Uint8Array.of(1), entryId, content, at);
}

/**
 * A fresh fake deployment. Returns {fetch, requests, failNext, published, fingerprint, entries,
 * keyserverDown, ...}. `requests` lists every request as {method, url, body} in order.
 */
export function fakeEscrow({ serial = 3, quorum = 3, maxQuorum = 5 } = {}) {
  const T = VECTORS.crypto.threshold_oprf;
  const base = VECTORS.crypto.deployment;
  // Deal the vectors' OPRF key 2-of-3 with a fixed coefficient (dealer view, tests only).
  const dealt = shamir.split(scalarToInt(hx(T.secret_key)), 2, 3, [98765432109876543210n]);
  const shares = new Map([...dealt].map(([i, y]) => [i, scalarFromInt(y)]));
  const publicShares = new Map([...dealt].map(([i, y]) => [i, Point.BASE.multiply(y).toBytes()]));
  const adminSeed = randomBytes(32);
  const adminKey = ed25519.getPublicKey(adminSeed);
  const logSeed = randomBytes(32);
  const logKey = ed25519.getPublicKey(logSeed);
  const doc = {
    format: 'consilience-deployment/v1', deployment_id: base.deployment_id, serial, issued_at: base.issued_at,
    quorum, max_quorum: maxQuorum, escrow_url: ESCROW_URL, token_issuer_key: base.token_issuer_key,
    oprf: {
      suite: 'ristretto255-SHA512', mode: 1, threshold: 2, public_key: b64uEncode(hx(T.group_public_key)),
      servers: [1, 2, 3].map((i) => ({ index: i, url: keyserverUrl(i), public_share: b64uEncode(publicShares.get(i)) })),
    },
    counselors: base.counselors,
    log: { origin: LOG_ORIGIN, public_key: b64uEncode(logKey), witnesses: [] },
  };
  const document = canonicalJson(doc);
  const published = {
    document: b64uEncode(document),
    signature: b64uEncode(ed25519.sign(concatBytes(SIGNING_PREFIX, document), adminSeed)),
    admin_key: b64uEncode(adminKey),
  };

  const accountToken = randomBytes(32);
  const accountId = randomBytes(16);
  const keyserverTokens = new Set();
  const leaves = [];
  /** entry id (b64u) -> {payload text, status, received_at, leafIndex} */
  const entries = new Map();
  const requests = [];
  const faults = [];
  const keyserverDown = new Set();
  let releaseAt = null;

  /** Queue a fault for the next request matching `route` ("POST /v1/entries", "POST keyserver"):
   *  'lose-answer' (the server acts, the answer never arrives), 'unreachable' (it never gets there),
   *  'wrong-receipt' (the server acts, but its receipt is for a leaf with other content),
   *  'no-receipt' (it acts and answers without a receipt) or a Response to answer instead. */
  function failNext(route, fault) {
    faults.push({ route, fault });
  }

  function takeFault(route) {
    const i = faults.findIndex((f) => f.route === route);
    return i < 0 ? null : faults.splice(i, 1)[0].fault;
  }

  function checkpointNote() {
    const root = treeHash(leaves.map(leafHash));
    const body = `${LOG_ORIGIN}\n${leaves.length}\n${b64Encode(root)}\n`;
    const sig = ed25519.sign(new TextEncoder().encode(body), logSeed);
    const id = noteKeyId(LOG_ORIGIN, SIG_ED25519, logKey);
    return `${body}\n${EM_DASH} ${LOG_ORIGIN} ${b64Encode(concatBytes(id, sig))}\n`;
  }

  function receiptFor(index) {
    const proof = inclusionPath(index, leaves.map(leafHash));
    const head = [HEADER, `extra ${b64Encode(leaves[index])}`, `index ${index}`, ...proof.map(b64Encode)];
    return `${head.join('\n')}\n\n${checkpointNote()}`;
  }

  function answerFor(id) {
    const e = entries.get(id);
    return { entry_id: id, status: e.status, received_at: e.received_at, receipt: receiptFor(e.leafIndex) };
  }

  function accept(id, text, payload) {
    const content = contentHash(payload.quorum, payload.tags.map((t) => b64uDecode(t)), b64uDecode(payload.body),
      payload.envelopes.map((e) => [b64uDecode(e.key_id), b64uDecode(e.ciphertext)]));
    const now = Date.now();
    leaves.push(entryLeaf(b64uDecode(id, 16), content, now));
    const status = releaseAt !== null && entries.size + 1 >= releaseAt ? 'released' : 'escrowed';
    entries.set(id, { text, status, received_at: new Date(now).toISOString(), leafIndex: leaves.length - 1 });
  }

  function escrowRoute(method, path, init) {
    if (method === 'GET' && path === '/v1/deployment') return json(200, published);
    if (init.headers?.Authorization !== `Bearer ${b64uEncode(accountToken)}`) {
      return refusal(401, 'unauthorized', 'missing or unknown account token');
    }
    if (method === 'POST' && path === '/v1/keyserver-token') {
      const token = randomBytes(32);
      keyserverTokens.add(b64uEncode(token));
      return json(200, { token: b64uEncode(token), expires_at: new Date(Date.now() + 600000).toISOString() });
    }
    const put = /^\/v1\/entries\/([A-Za-z0-9_-]{22})$/.exec(path);
    if ((method === 'POST' && path === '/v1/entries') || (method === 'PUT' && put)) {
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
      accept(id, init.body, payload);
      return json(put ? 200 : 201, answerFor(id));
    }
    return refusal(404, 'not_found', `no route ${method} ${path}`);
  }

  function keyserverRoute(index, path, init) {
    if (path !== '/v1/evaluate') return refusal(404, 'not_found', 'no such route');
    if (!keyserverTokens.has((init.headers?.Authorization ?? '').replace(/^Bearer /, ''))) {
      return refusal(401, 'unauthorized', 'unknown access token');
    }
    const blinded = JSON.parse(init.body).blinded.map((b) => b64uDecode(b, 32));
    const { evaluated, proof } = oprf.voprfBlindEvaluate(shares.get(index), publicShares.get(index), blinded);
    return json(200, { index, evaluated: evaluated.map(b64uEncode), proof: b64uEncode(proof) });
  }

  async function fetch(url, init = {}) {
    const u = new URL(url);
    const method = init.method ?? 'GET';
    requests.push({ method, url: String(url), body: init.body ?? null });
    const ks = /^keyserver-(\d)\.test$/.exec(u.hostname);
    if (ks && keyserverDown.has(Number(ks[1]))) throw new TypeError('fetch failed');
    const route = ks ? `${method} keyserver` : `${method} ${u.pathname}`;
    const fault = takeFault(route);
    if (fault === 'unreachable') throw new TypeError('fetch failed');
    if (fault instanceof Response) return fault;
    const answer = ks ? keyserverRoute(Number(ks[1]), u.pathname, init) : escrowRoute(method, u.pathname, init);
    if (fault === 'lose-answer') throw new TypeError('fetch failed');
    if (fault === 'wrong-receipt') {
      const doc = await answer.json();
      leaves.push(entryLeaf(b64uDecode(doc.entry_id, 16), randomBytes(32), Date.now()));
      return json(answer.status, { ...doc, receipt: receiptFor(leaves.length - 1) });
    }
    if (fault === 'no-receipt') return json(answer.status, { ...(await answer.json()), receipt: null });
    return answer;
  }

  return {
    fetch, requests, failNext, published, fingerprint: adminFingerprint(adminKey), accountId, accountToken,
    entries, leaves, keyserverDown, serial,
    /** From now on, the entry that makes `count` entries releases (status "released"). */
    releaseWhen(count) { releaseAt = count; },
    /** Requests to one route ("POST /v1/entries", "POST keyserver"), in order. */
    sent(route) {
      return requests.filter((r) => {
        const u = new URL(r.url);
        return (u.hostname.startsWith('keyserver-') ? `${r.method} keyserver` : `${r.method} ${u.pathname}`) === route;
      });
    },
    refusal,
  };
}
