// KeyServerUnavailable carries which servers failed before answering (so the reporter page can
// tell a CORS refusal from a server that is down) besides its message, which is Python's
// (clients/oprf_client.py). Protocol v2: the requests go to /v2/evaluate, one signed for each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, KeyServerUnavailable } from '../src/sdk/clients/oprf_client.js';
import { account, deployment } from './v2_vectors.js';

test('a failed request is listed in unreachable with its URL and error name; answers that refuse are not', async () => {
  const d = await deployment();
  const [one, two] = d.keyservers;
  const urls = [];
  const fetch = async (url) => {
    urls.push(url);
    if (url.startsWith(one.url)) throw new TypeError('Failed to fetch');
    if (url.startsWith(two.url)) throw new DOMException('signal timed out', 'TimeoutError');
    return new Response(JSON.stringify({ error: 'unauthorized', detail: 'bad request signature' }), { status: 401 });
  };
  await assert.rejects(evaluate(d, [new Uint8Array([1])], account('A'), { fetch }), (err) => {
    assert.ok(err instanceof KeyServerUnavailable);
    assert.equal(err.message, "Too few of the deployment's key servers answered (0 of the 2 needed), so the names could not "
      + 'be turned into matching codes. Nothing was sent. Try again in a while; if it keeps happening, tell the administrator. '
      + `(key server 1 (${one.url}) could not be reached (TypeError); key server 2 (${two.url}) could not be reached (TimeoutError); `
      + `key server 3 (${d.keyservers[2].url}) did not accept the request (bad request signature))`);
    assert.deepEqual(err.unreachable, [
      { index: 1, url: one.url, error: 'TypeError' },
      { index: 2, url: two.url, error: 'TimeoutError' },
    ]);
    assert.deepEqual(Object.keys(err.skipped), ['1', '2', '3']);
    return true;
  });
  assert.deepEqual(urls.map((u) => new URL(u).pathname), ['/v2/evaluate', '/v2/evaluate', '/v2/evaluate']);
});

test('the key servers are asked for the language the app set, so their refusals come back in it', async () => {
  const { setRequestLanguage } = await import('../src/sdk/clients/api.js');
  const d = await deployment();
  const asked = [];
  const fetch = async (url, init) => {
    asked.push(init.headers['Accept-Language']);
    return new Response(JSON.stringify({ error: 'unauthorized', detail: 'firma no válida' }), { status: 401 });
  };
  setRequestLanguage(() => 'es');
  try {
    await assert.rejects(evaluate(d, [new Uint8Array([1])], account('A'), { fetch }), KeyServerUnavailable);
  } finally {
    setRequestLanguage(null);
  }
  assert.deepEqual(asked, ['es', 'es', 'es']);
  await assert.rejects(evaluate(d, [new Uint8Array([1])], account('A'), { fetch }), KeyServerUnavailable);
  assert.deepEqual(asked.slice(3), [undefined, undefined, undefined]);
});
