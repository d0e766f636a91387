// Asking the key servers, protocol v2 (PROTOCOL.md §5; clients/oprf_client.py): for every
// identifier the RFC 9497 VOPRF (its matching tag) and the key servers' quorum shares
// (protocol/quorum.js), in one request per key server. Each request is signed by the account
// key for that key server alone (its identity key is the audience, protocol/evaluation.js),
// carries the blinded VOPRF elements and the blinded identifier points B = r·P, and is sent in
// parallel to t key servers, then to as many more as needed when one is down, refuses or lies.
// A key server whose VOPRF proof fails, whose abscissa differs from the others', or whose
// quorum answers do not match its published commitments is named in `skipped` and another
// is asked; nothing is accepted that the checks did not pass.
import { ConsilienceError, InvalidInput, phrase } from '../errors.js';
import { b64uDecode } from '../protocol/encoding.js';
import * as oprf from '../crypto/oprf.js';
import { combineVerified, verifyPartial } from '../crypto/threshold_oprf.js';
import * as quorum from '../protocol/quorum.js';
import { publicShares as publicSharesOf, quorumParameters } from '../protocol/deployment.js';
import { MAX_ELEMENTS, makeRequest, requestJson } from '../protocol/evaluation.js';
import { languageHeaders } from './api.js';

/**
 * Too few key servers gave answers that check. `skipped` is {index: reason}; `unreachable` lists
 * the servers whose request failed before any answer came ([{index, url, error}], error the
 * exception's name: a browser reports a CORS refusal and a server that is down alike, as a
 * TypeError), so a page can look closer (e.g. a no-cors probe) to say which it was.
 */
export class KeyServerUnavailable extends ConsilienceError {
  constructor(message, { skipped = {}, unreachable = [], answered = 0, needed = 0, code = undefined, params = {} } = {}) {
    super(message, { code, params });
    this.skipped = skipped;
    this.unreachable = unreachable;
    this.answered = answered;
    this.needed = needed;
  }
}

async function detail(response) {
  try {
    const text = await response.text();
    try {
      const doc = JSON.parse(text);
      return String(doc?.detail ?? '').slice(0, 200);
    } catch {
      return text.slice(0, 200);
    }
  } catch {
    return '';
  }
}

/** What a key server's refusal was, as a phrase (errors.js): `${reason}` is the SDK's English. */
export function refused(status, why, retryAfter) {
  if (status === 429 && retryAfter) {
    return phrase('keyServer.limitingFor', `is limiting requests for now (retry after ${retryAfter} s)`, { wait: String(retryAfter) });
  }
  if (status === 429) return phrase('keyServer.limiting', 'is limiting requests for now');
  if (status === 503) return phrase('keyServer.unavailable', 'is unavailable for the moment');
  if (status === 401) return phrase('keyServer.refused', `did not accept the request (${why})`, { detail: why });
  return phrase('keyServer.http', `answered HTTP ${status}: ${why}`, { status: String(status), detail: why });
}

const badShares = (detail) => phrase('keyServer.shares', `gave quorum shares that do not check (${detail})`, { detail: String(detail) });

/** A key server that could not be asked: `kind` the exception's name (TypeError for a refused or failed fetch). */
export const unreachableReason = (kind) => phrase('keyServer.unreachable', `could not be reached (${kind})`, { kind });

/** "key server 2 (https://…) is unavailable for the moment", as a phrase. */
export const namedReason = (index, url, why) => phrase('keyServer.named', `key server ${index} (${url}) ${why}`,
  { index: String(index), url, why });

/**
 * Evaluate `inputs` (the identifiers' canonical bytes) for the account (`seed`, 32 bytes, and
 * the administrator's `certificate`, 120 bytes). Returns {outputs: [VOPRF output], shares:
 * [quorum.combine result {x, base, shares, shareBytes}], x (bigint), used: [index], skipped:
 * {index: reason}}; throws KeyServerUnavailable naming every skipped server when fewer than t
 * answered well. deployment: a verified deployment with its quorum keys published.
 * `now` (unix seconds) only for tests.
 */
export async function evaluate(deployment, inputs, { seed, certificate }, { fetch: fetchFn = globalThis.fetch, timeoutMs = 10000, now = null } = {}) {
  if (!inputs || inputs.length === 0) throw new InvalidInput('nothing to evaluate', { code: 'evaluate.nothing' });
  if (inputs.length > MAX_ELEMENTS) throw new InvalidInput(`at most ${MAX_ELEMENTS} names at a time`, { code: 'evaluate.tooMany', params: { max: MAX_ELEMENTS } });
  const params = quorumParameters(deployment);
  const t = deployment.threshold;
  const { low, high } = deployment.quorumRange;
  const width = high - low + 1;
  const voprf = inputs.map((item) => oprf.blind(item, oprf.MODE_VOPRF));
  const blinded = voprf.map((b) => b.blinded);
  const requests = inputs.map((item) => quorum.blind(item));
  const points = requests.map((r) => r.blinded);
  const publicShares = publicSharesOf(deployment); // the key servers holding a VOPRF share
  const skipped = {};
  const why = {}; // index → the phrase of skipped[index]
  const skip = (index, reason) => { why[index] = reason; skipped[index] = String(reason); };
  const unreachable = [];
  const vouched = new Map(); // index → its VOPRF answer, proof checked
  const good = new Map(); // index → {x (bigint), z: [Map q → bytes] per input}, not found lying (yet)

  async function ask(server) {
    const request = makeRequest(seed, certificate, deployment.deploymentId, server.identityKey, blinded, points, { now });
    let response;
    try {
      const signal = typeof AbortSignal !== 'undefined' && AbortSignal.timeout ? AbortSignal.timeout(timeoutMs) : undefined;
      response = await fetchFn(`${server.url.replace(/\/+$/, '')}/v2/evaluate`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...languageHeaders() },
        body: JSON.stringify(requestJson(request)), signal, credentials: 'omit', cache: 'no-store',
      });
    } catch (e) {
      skip(server.index, unreachableReason(e?.name ?? 'Error'));
      unreachable.push({ index: server.index, url: server.url, error: e?.name ?? 'Error' });
      return;
    }
    if (response.status !== 200) {
      skip(server.index, refused(response.status, await detail(response), response.headers?.get?.('Retry-After')));
      return;
    }
    let answer;
    try {
      const doc = await response.json();
      if (!doc || typeof doc !== 'object' || !Array.isArray(doc.evaluated) || !Array.isArray(doc.shares)) {
        throw new InvalidInput('answer does not fit the request', { code: 'keyServer.answerMismatch' });
      }
      const partial = {
        index: server.index,
        evaluated: doc.evaluated.map((z) => b64uDecode(z, 32, 'evaluated')),
        proof: b64uDecode(doc.proof, 64, 'proof'),
      };
      if (doc.index !== server.index || partial.evaluated.length !== blinded.length || doc.shares.length !== points.length
          || doc.shares.some((row) => !Array.isArray(row) || row.length !== width)) {
        throw new InvalidInput('answer does not fit the request', { code: 'keyServer.answerMismatch' });
      }
      const x = quorum.abscissaFromBytes(b64uDecode(doc.abscissa, 32, 'abscissa'));
      const z = doc.shares.map((row) => new Map(row.map((s, k) => [low + k, b64uDecode(s, 48, 'share')])));
      answer = { partial, x, z };
    } catch (e) {
      if (!(e instanceof ConsilienceError) && !(e instanceof SyntaxError)) throw e;
      const why = e.code ? phrase(e.code, e.message, e.params) : e.message;
      skip(server.index, phrase('keyServer.invalid', `gave an answer that is not valid: ${e.message}`, { detail: why }));
      return;
    }
    // Check the VOPRF proof now, so a lying server costs one more request, not the submission.
    const verified = verifyPartial(blinded, answer.partial, publicShares);
    if (!verified) {
      skip(server.index, phrase('keyServer.proof', 'answered with a proof that does not verify against its public share '
        + "(it may be misconfigured, or not the deployment's)"));
      return;
    }
    vouched.set(server.index, verified);
    good.set(server.index, { x: answer.x, z: answer.z });
  }

  const queue = [...deployment.keyservers].sort((a, b) => a.index - b.index);
  let outputs = null;
  let result = null;
  for (;;) {
    // group the servers still trusted by the abscissa they gave, the largest group first (ties: lowest index)
    const groups = new Map();
    for (const [i, a] of [...good].sort((p, q) => p[0] - q[0])) {
      if (!groups.has(a.x)) groups.set(a.x, []);
      groups.get(a.x).push(i);
    }
    const order = [...groups].sort((p, q) => q[1].length - p[1].length);
    const [x, servers] = order[0] ?? [null, []];
    if (servers.length >= t) {
      if (!outputs) {
        const combined = combineVerified([...vouched.values()], t);
        outputs = inputs.map((item, k) => oprf.finalize(item, voprf[k].blind, combined[k]));
      }
      try {
        const shares = requests.map((request, k) => quorum.combine(params, request, outputs[k], x,
          new Map(servers.map((i) => [i, good.get(i).z[k]]))));
        const liars = new Set(shares.flatMap((sh) => [...sh.dishonest.keys()]));
        for (const sh of shares) for (const [i, bad] of sh.dishonest) if (!(i in skipped)) skip(i, badShares(bad));
        for (const i of good.keys()) {
          if (!servers.includes(i)) {
            skip(i, phrase('keyServer.abscissa', 'gave this account another abscissa than the key servers whose shares check'));
          }
        }
        result = { x, shares, used: servers.filter((i) => !liars.has(i)) };
        break;
      } catch (e) {
        if (!(e instanceof quorum.DishonestKeyServers)) throw e;
        for (const [i, bad] of e.dishonest) {
          skip(i, badShares(bad));
          good.delete(i);
        }
        continue;
      }
    }
    if (queue.length === 0) break;
    await Promise.all(queue.splice(0, t - servers.length).map(ask));
  }
  if (!result) {
    const answered = Math.min(good.size, t - 1);
    const reasons = Object.keys(skipped)
      .map((i) => namedReason(i, deployment.keyservers.find((s) => s.index === Number(i))?.url ?? '?', why[i]));
    throw new KeyServerUnavailable(
      `Too few of the deployment's key servers answered (${answered} of the ${t} needed), so the names could not `
        + 'be turned into matching codes. Nothing was sent. Try again in a while; if it keeps happening, tell the administrator. ('
        + reasons.join('; ')
        + ')',
      { skipped, unreachable, answered, needed: t, code: 'keyServers.tooFew', params: { answered, needed: t, reasons } },
    );
  }
  return { outputs, shares: result.shares, x: result.x, used: result.used, skipped };
}
