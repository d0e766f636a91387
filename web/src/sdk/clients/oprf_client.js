// Threshold VOPRF, asking the key servers (clients/oprf_client.py): blind the
// inputs, ask key servers in turn until `threshold` answers carry proofs that
// hold (crypto/threshold_oprf.js checks and combines them), finalize.
import { ConsilienceError, InvalidInput } from '../errors.js';
import { b64uDecode, b64uEncode } from '../protocol/encoding.js';
import * as oprf from '../crypto/oprf.js';
import { combineVerified, verifyPartial } from '../crypto/threshold_oprf.js';

/**
 * Too few key servers answered. `skipped` is {index: reason}; `unreachable` lists the servers
 * whose request failed before any answer came ([{index, url, error}], error the exception's
 * name: a browser reports a CORS refusal and a server that is down alike, as a TypeError), so a
 * page can look closer (e.g. a no-cors probe) to say which it was.
 */
export class KeyServerUnavailable extends ConsilienceError {
  constructor(message, { skipped = {}, unreachable = [] } = {}) {
    super(message);
    this.skipped = skipped;
    this.unreachable = unreachable;
  }
}

/**
 * OPRF outputs of `inputs` (Uint8Array[]) under the deployment's shared key.
 * Asks key servers one after another (POST {url}/v1/evaluate, bearer token)
 * until `deployment.threshold` answers have proofs that hold; a server that is
 * down, refuses or lies is skipped and reported. Returns {outputs, used, skipped}.
 * deployment: {threshold, keyservers: [{index, url, publicShare}]}.
 */
export async function evaluate(deployment, inputs, accessToken, { fetch: fetchFn = globalThis.fetch, timeoutMs = 10000 } = {}) {
  if (!inputs || inputs.length === 0) throw new InvalidInput('nothing to evaluate');
  const blinds = [];
  const blinded = [];
  for (const item of inputs) {
    const b = oprf.blind(item, oprf.MODE_VOPRF);
    blinds.push(b.blind);
    blinded.push(b.blinded);
  }
  const servers = deployment.keyservers;
  const shares = new Map(servers.map((s) => [s.index, s.publicShare]));
  const verified = [];
  const skipped = {};
  const unreachable = [];
  const headers = { Authorization: `Bearer ${b64uEncode(accessToken)}`, 'Content-Type': 'application/json' };
  const body = JSON.stringify({ blinded: blinded.map(b64uEncode) });
  for (const server of servers) {
    if (verified.length === deployment.threshold) break;
    let response;
    try {
      const signal = typeof AbortSignal !== 'undefined' && AbortSignal.timeout ? AbortSignal.timeout(timeoutMs) : undefined;
      response = await fetchFn(`${server.url.replace(/\/+$/, '')}/v1/evaluate`, { method: 'POST', headers, body, signal });
    } catch (e) {
      skipped[server.index] = `unreachable (${e?.name ?? 'Error'})`;
      unreachable.push({ index: server.index, url: server.url, error: e?.name ?? 'Error' });
      continue;
    }
    if (response.status !== 200) {
      skipped[server.index] = `answered ${response.status}: ${await detail(response)}`;
      continue;
    }
    let partial;
    try {
      const doc = await response.json();
      if (!doc || !Array.isArray(doc.evaluated)) throw new InvalidInput('answer does not fit the request');
      partial = {
        index: server.index,
        evaluated: doc.evaluated.map((z) => b64uDecode(z, 32, 'evaluated')),
        proof: b64uDecode(doc.proof, 64, 'proof'),
      };
      if (doc.index !== server.index || partial.evaluated.length !== blinded.length) {
        throw new InvalidInput('answer does not fit the request');
      }
    } catch (e) {
      skipped[server.index] = `invalid answer: ${e?.message ?? e}`;
      continue;
    }
    // Check the proof now, so a lying server costs one more request, not the submission.
    const checked = verifyPartial(blinded, partial, shares);
    if (!checked) {
      skipped[server.index] = 'its proof does not verify against its public share';
      continue;
    }
    verified.push(checked);
  }
  if (verified.length < deployment.threshold) {
    throw new KeyServerUnavailable(
      `only ${verified.length} of the ${deployment.threshold} key servers needed answered correctly: ` +
        Object.entries(skipped).map(([i, why]) => `server ${i}: ${why}`).join('; '),
      { skipped, unreachable },
    );
  }
  const combined = combineVerified(verified, deployment.threshold);
  const outputs = inputs.map((x, j) => oprf.finalize(x, blinds[j], combined[j]));
  return { outputs, used: verified.map((v) => v.partial.index), skipped };
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
