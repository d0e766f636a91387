// EscrowApi asks the escrow server for the person's language (Accept-Language) on every request, so
// its refusals and lists come back in it: the language of each client or the default the app sets,
// read at each request; none when none is given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EscrowApi, fetchDeployment, setRequestLanguage } from '../src/sdk/clients/api.js';

function recorder() {
  const seen = [];
  const fetch = async (url, init) => {
    seen.push(init.headers['Accept-Language']);
    return new Response('[]', { status: 200, headers: { 'Content-Type': 'application/json' } });
  };
  return { seen, fetch };
}

test('no language given: no Accept-Language header', async () => {
  const { seen, fetch } = recorder();
  await new EscrowApi('http://escrow.test', 'token', { fetch }).entries();
  assert.deepEqual(seen, [undefined]);
});

test('a client\'s language, a tag or a function asked at each request', async () => {
  const { seen, fetch } = recorder();
  await new EscrowApi('http://escrow.test', 'token', { fetch, language: 'es' }).entries();
  let now = 'ar';
  const api = new EscrowApi('http://escrow.test', 'token', { fetch, language: () => now });
  await api.entries();
  now = 'en';
  await api.matches();
  now = null;
  await api.matches();
  assert.deepEqual(seen, ['es', 'ar', 'en', undefined]);
});

test('the default set for every client, which a client\'s own language (or null) overrides', async () => {
  const { seen, fetch } = recorder();
  let now = 'es';
  setRequestLanguage(() => now);
  try {
    await new EscrowApi('http://escrow.test', null, { fetch }).backup('AAAA-BBBB-CCCC-DDDD');
    now = 'ar';
    await new EscrowApi('http://escrow.test', 'token', { fetch }).entries();
    await new EscrowApi('http://escrow.test', 'token', { fetch, language: 'en' }).entries();
    await new EscrowApi('http://escrow.test', 'token', { fetch, language: null }).entries();
    await fetchDeployment('http://escrow.test', new Uint8Array(16), 0, { fetch }).catch(() => {});
  } finally {
    setRequestLanguage(null);
  }
  await new EscrowApi('http://escrow.test', 'token', { fetch }).entries();
  assert.deepEqual(seen, ['es', 'ar', 'en', undefined, 'ar', undefined]);
});

test('a value a browser would not send without a CORS preflight is not sent', async () => {
  const { seen, fetch } = recorder();
  await new EscrowApi('http://escrow.test', 'token', { fetch, language: 'es\r\nX-Evil: 1' }).entries();
  await new EscrowApi('http://escrow.test', 'token', { fetch, language: 'es-MX,es;q=0.9' }).entries();
  assert.deepEqual(seen, [undefined, 'es-MX,es;q=0.9']);
});
