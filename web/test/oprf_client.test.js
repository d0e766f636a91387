// KeyServerUnavailable carries which servers failed before answering (so the reporter page can
// tell a CORS refusal from a server that is down) besides its unchanged message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ristretto } from '../src/sdk/index.js';
import { evaluate, KeyServerUnavailable } from '../src/sdk/clients/oprf_client.js';

test('a failed request is listed in unreachable with its URL and error name; answers that refuse are not', async () => {
  const share = ristretto.Point.BASE.toBytes();
  const deployment = {
    threshold: 2,
    keyservers: [1, 2, 3].map((i) => ({ index: i, url: `http://127.0.0.1:${8100 + i}/`, publicShare: share })),
  };
  const fetch = async (url) => {
    if (url.startsWith('http://127.0.0.1:8101')) throw new TypeError('Failed to fetch');
    if (url.startsWith('http://127.0.0.1:8102')) throw new DOMException('signal timed out', 'TimeoutError');
    return new Response(JSON.stringify({ error: 'unauthorized', detail: 'bad token' }), { status: 401 });
  };
  await assert.rejects(evaluate(deployment, [new Uint8Array([1])], new Uint8Array(32), { fetch }), (err) => {
    assert.ok(err instanceof KeyServerUnavailable);
    assert.equal(err.message, 'only 0 of the 2 key servers needed answered correctly: server 1: unreachable (TypeError); '
      + 'server 2: unreachable (TimeoutError); server 3: answered 401: bad token');
    assert.deepEqual(err.unreachable, [
      { index: 1, url: 'http://127.0.0.1:8101/', error: 'TypeError' },
      { index: 2, url: 'http://127.0.0.1:8102/', error: 'TimeoutError' },
    ]);
    assert.deepEqual(Object.keys(err.skipped), ['1', '2', '3']);
    return true;
  });
});
