// Protocol v2 test helpers on tests/vectors/entry_v2_interop.json (written by
// tests/vectors/make_entry_v2.py from tests/v2_world.py's in-process deployment: the real
// key generation among three key servers). The file holds test-only secrets (the
// administrator's seed, each key server's VOPRF share, quorum shares and abscissa key, the
// counselors' seeds), so here the browser SDK can play the key servers: keyServers() answers
// POST /v2/evaluate exactly as services/keyserver does (request checks, abscissa, VOPRF with
// its proof, quorum.answer), optionally lying.
import fs from 'node:fs';
import path from 'node:path';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ROOT, hx } from './helpers.js';
import * as oprf from '../src/sdk/crypto/oprf.js';
import * as bls from '../src/sdk/crypto/bls12381.js';
import * as qm from '../src/sdk/protocol/quorum.js';
import { ABSCISSA_LABEL } from '../src/sdk/protocol/accounts.js';
import { verifyRequest } from '../src/sdk/protocol/evaluation.js';
import { b64uDecode, b64uEncode, concatBytes } from '../src/sdk/protocol/encoding.js';
import { verifyDeployment } from '../src/sdk/protocol/deployment.js';
import { evaluate } from '../src/sdk/clients/oprf_client.js';

export const V2 = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'vectors', 'entry_v2_interop.json'), 'utf8'));

let verified = null;
/** The vectors' deployment, verified by the SDK (cached: the check costs pairings). */
export async function deployment() {
  verified ??= await verifyDeployment(V2.published, hx(V2.admin.fingerprint));
  return verified;
}

/** accounts.abscissa, as the key servers compute it (they alone hold the key). */
export function abscissa(abscissaKey, deploymentId, accountKey) {
  const mac = hmac(sha256, abscissaKey, concatBytes(ABSCISSA_LABEL, deploymentId, accountKey));
  return bls.hashToScalar(mac, ABSCISSA_LABEL);
}

export function serverShares(i) {
  const s = V2.key_servers[i];
  return new Map(Object.entries(s.shares).map(([q, vs]) => [Number(q), vs.map((v) => BigInt('0x' + v))]));
}

const json = (status, doc) => new Response(JSON.stringify(doc), { status, headers: { 'Content-Type': 'application/json' } });

/**
 * Key servers of the vectors' deployment behind one `answer(url, init)`; null when the URL is not
 * a key server's. `lies` maps an index to a function (doc) => doc applied to its honest answer;
 * `down` is a Set of indices that throw like fetch does; `requests` collects the parsed requests.
 */
export function keyServers(d, { lies = new Map(), down = new Set(), now = null, refuse = new Map() } = {}) {
  const adminPublic = hx(V2.admin.public_key);
  const requests = [];
  const seen = new Set();
  async function answer(url, init) {
    const server = d.keyservers.find((s) => url === `${s.url.replace(/\/+$/, '')}/v2/evaluate`);
    if (!server) return null;
    if (down.has(server.index)) throw new TypeError('fetch failed');
    if (refuse.has(server.index)) return refuse.get(server.index)();
    const doc = JSON.parse(init.body);
    const request = {
      certificate: b64uDecode(doc.certificate, 120), audience: b64uDecode(doc.audience, 32), issuedAt: doc.issued_at,
      nonce: b64uDecode(doc.nonce, 16), blinded: doc.blinded.map((b) => b64uDecode(b, 32)),
      points: doc.points.map((p) => b64uDecode(p, 48)), signature: b64uDecode(doc.signature, 64),
    };
    requests.push({ index: server.index, request });
    let cert;
    try {
      cert = verifyRequest(request, { adminPublic, deploymentId: d.deploymentId, audience: server.identityKey, now: now ?? request.issuedAt });
    } catch (e) {
      return json(401, { error: 'unauthorized', detail: e.message });
    }
    const key = `${server.index}:${doc.nonce}:${doc.certificate}`;
    if (seen.has(key)) return json(401, { error: 'unauthorized', detail: 'this request was already answered; a request is used once' });
    seen.add(key);
    const s = V2.key_servers[server.index];
    const x = abscissa(hx(s.abscissa_key), d.deploymentId, cert.accountKey);
    const sk = hx(s.oprf_share);
    const { evaluated, proof } = oprf.voprfBlindEvaluate(sk, server.publicShare, request.blinded);
    const shares = serverShares(server.index);
    const rows = request.points.map((b) => [...qm.answer(shares, x, b).values()].map(b64uEncode));
    let out = { index: server.index, evaluated: evaluated.map(b64uEncode), proof: b64uEncode(proof), abscissa: b64uEncode(bls.scalarToBytes(x)), shares: rows };
    const lie = lies.get(server.index);
    if (lie) out = lie(out, request);
    return json(200, out);
  }
  return { answer, requests };
}

/** A lie: the answer at one level of the first point replaced by another multiple of B. */
export function lieAt(level, d) {
  return (doc, request) => {
    const k = level - d.quorum;
    const wrong = bls.g1ToBytes(bls.mulSecret(bls.g1FromBytes(request.points[0]), 4242n));
    doc.shares[0][k] = b64uEncode(wrong);
    return doc;
  };
}

export function account(label) {
  const a = V2.accounts.find((x) => x.label === label);
  return { seed: hx(a.seed), certificate: hx(a.certificate), key: hx(a.account_key), abscissa: a.abscissa, invite: a.invite };
}

/** A real KeyServerUnavailable from clients/oprf_client.evaluate: the first key server cannot be
 *  reached, the others refuse the request (401, "bad request signature"). */
export async function keyServersDown() {
  const d = await deployment();
  const fetch = async (url) => {
    if (url.startsWith(d.keyservers[0].url)) throw new TypeError('Failed to fetch');
    return new Response(JSON.stringify({ error: 'unauthorized', detail: 'bad request signature' }), { status: 401 });
  };
  try {
    await evaluate(d, [new Uint8Array([1])], account('A'), { fetch });
  } catch (err) {
    return err;
  }
  throw new Error('evaluate did not fail');
}
