// Sessions that expire (PROTOCOL.md §6.1): the browser signs in again without the person noticing, and
// its sign-in is byte for byte the Python SDK's (protocol/sessions.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EscrowApi, ApiError, counselorSignIn, reporterSignIn } from '../src/sdk/clients/api.js';
import { signLogin } from '../src/sdk/protocol/sessions.js';
import { b64uEncode } from '../src/sdk/protocol/encoding.js';

const hex = (b) => Buffer.from(b).toString('hex');
const range = (a, b) => Uint8Array.from({ length: b - a }, (_, i) => a + i);

test('a sign-in is the Python SDK\'s, byte for byte', () => {
  // python: sessions.sign_login(bytes(range(32)), bytes(range(100, 116)), now=1767323045, nonce=bytes(range(200, 216)))
  const login = signLogin(range(0, 32), range(100, 116), { now: 1767323045, nonce: range(200, 216) });
  assert.equal(hex(login.accountKey), '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8');
  assert.equal(hex(login.signature), '8802b6bdc25ede3a327fd95fc7023c67a5b74fada0a6d6363fcd3cbc7cc986cd'
    + 'e695aee3048a01a5f8fdca2c601ca9575782af1da849c7e132fa7eeb42157b0d');
});

/** An escrow server whose sessions expire whenever the test says so. */
function expiringServer() {
  const s = { live: new Set(), logins: 0, counselorLogins: 0, revoked: false };
  s.expire = () => s.live.clear();
  const answer = (status, doc) => new Response(JSON.stringify(doc), { status, headers: { 'Content-Type': 'application/json' } });
  const issue = () => { const t = b64uEncode(crypto.getRandomValues(new Uint8Array(32))); s.live.add(t); return t; };
  s.fetch = async (url, init) => {
    const path = new URL(url).pathname;
    const bearer = (init.headers?.Authorization ?? '').replace(/^Bearer /, '');
    if (path === '/v2/login') {
      if (s.revoked) return answer(401, { error: 'account_revoked', detail: 'this account was revoked' });
      s.logins += 1;
      return answer(200, { token: issue(), expires_at: '2026-12-01T12:00:00Z' });
    }
    if (path === '/v2/login/counselor') {
      if (bearer !== 'credential') return answer(401, { error: 'unauthorized', detail: 'sign-in refused' });
      s.counselorLogins += 1;
      return answer(200, { token: issue(), expires_at: '2026-12-01T12:00:00Z' });
    }
    if (s.revoked) return answer(401, { error: 'unauthorized', detail: 'unknown token' });
    if (!s.live.has(bearer)) return answer(401, { error: 'session_expired', detail: 'your session has expired; sign in again' });
    return answer(200, []);
  };
  return s;
}

test('an expired session is renewed by signing in again, and the request sent once more', async () => {
  const server = expiringServer();
  const seen = [];
  const api = new EscrowApi('http://escrow.test', null, { fetch: server.fetch, signIn: reporterSignIn(range(0, 32), range(100, 116)),
    onToken: (t) => seen.push(t) });
  assert.deepEqual(await api.entries(), []);
  assert.equal(server.logins, 1);
  server.expire();
  assert.deepEqual(await api.entries(), []); // one call as the person sees it
  assert.equal(server.logins, 2);
  assert.equal(seen.length, 2);
  assert.equal(api.token, seen[1]);
  server.revoked = true;
  await assert.rejects(api.entries(), (err) => err instanceof ApiError && err.code === 'account_revoked');
});

test('a counselor signs in with the credential, which is never the bearer of anything else', async () => {
  const server = expiringServer();
  const api = new EscrowApi('http://escrow.test', null, { fetch: server.fetch, signIn: counselorSignIn('credential') });
  assert.deepEqual(await api.matches(), []);
  server.expire();
  assert.deepEqual(await api.matches(), []);
  assert.equal(server.counselorLogins, 2);
  assert.notEqual(api.token, 'credential');
});
