// Recovery on a new device (PROTOCOL.md §14.1): the handle, the backup document and its key in the
// browser SDK. The set-up is played through clients/recovery.js setUpBackup against key servers
// whose HPKE keys the test holds, so each step a key server takes (open its sealed share, evaluate
// with a proof) is done here as services/keyserver/recovery.py does it, and the device's locally
// computed rwd must equal the one combined from t key servers' answers. Tampered backups are refused.
// Every value of tests/vectors/recovery_interop.json (written from Python) is reproduced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, hx } from './helpers.js';
import * as rec from '../src/sdk/protocol/recovery.js';
import * as hpke from '../src/sdk/crypto/hpke.js';
import * as oprf from '../src/sdk/crypto/oprf.js';
import { FAST_PARAMS, deriveKey } from '../src/sdk/crypto/sealed.js';
import { scalarToInt } from '../src/sdk/crypto/ristretto.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { b64uDecode, b64uEncode, concatBytes } from '../src/sdk/protocol/encoding.js';
import { accountKey } from '../src/sdk/protocol/accounts.js';
import { setUpBackup, updateBackup, needsNewDealing, servingKeyServers } from '../src/sdk/clients/recovery.js';
import { ApiError } from '../src/sdk/clients/api.js';
import { newWallet, walletFromBytes, walletToBytes } from '../src/sdk/clients/wallet.js';
import { V2, account, deployment } from './v2_vectors.js';

const KDF = { memory_kib: 1024, iterations: 1, lanes: 1 };
const VECTOR_PATH = path.join(ROOT, 'tests', 'vectors', 'recovery_interop.json');

test('the handle: 16 Crockford characters in four groups; typed forms parse, anything else is refused calmly', () => {
  const hb = hx('00443214c74254b635cf');
  const text = rec.formatHandle(hb);
  assert.match(text, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
  assert.deepEqual(rec.parseHandle(text), hb);
  assert.deepEqual(rec.parseHandle(` ${text.toLowerCase().replace(/-/g, ' ')} `), hb);
  assert.deepEqual(rec.parseHandle('0000-0000-0000-0001'), new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
  assert.deepEqual(rec.parseHandle('oooo-OOOO-oooo-oooi'), rec.parseHandle('0000-0000-0000-0001'));
  assert.deepEqual(rec.parseHandle('0000-0000-0000-000l'), rec.parseHandle('0000-0000-0000-0001'));
  assert.equal(rec.formatHandle(new Uint8Array(10).fill(255)), 'ZZZZ-ZZZZ-ZZZZ-ZZZZ');
  for (const bad of ['', '7KQ2-M9XD-4RTA-HW3', '7KQ2-M9XD-4RTA-HW3E5', '7KQ2-M9XD-4RTA-HW3U', '7KQ2_M9XD_4RTA_HW3E', null]) {
    assert.throws(() => rec.parseHandle(bad), { message: rec.HANDLE_REFUSAL });
  }
});

/** A deployment in the SDK's shape with key servers whose HPKE seeds the test keeps. */
async function testDeployment(threshold = 2, indices = [1, 2, 3]) {
  const d = await deployment();
  const seeds = new Map();
  const keyservers = await Promise.all(indices.map(async (index) => {
    const seed = hpke.generatePrivateKey();
    seeds.set(index, seed);
    const base = d.keyservers.find((s) => s.index === index) ?? d.keyservers[0];
    return { ...base, index, hpkePublicKey: await hpke.publicKeyBytes(seed), identityKey: new Uint8Array(32).fill(index),
      url: `http://127.0.0.1:${9100 + index}` };
  }));
  return { deployment: { ...d, threshold, keyservers, keyChange: null }, seeds };
}

function fakeApi() {
  const stored = [];
  return {
    stored,
    failNext: null,
    async putBackup(doc) {
      if (this.failNext) { const e = this.failNext; this.failNext = null; throw e; }
      const last = stored.at(-1);
      if (last && doc.version <= last.version) throw new ApiError(409, 'stale_backup', `stored version ${last.version}`);
      stored.push(structuredClone(doc));
      return { handle: doc.handle, version: doc.version, stored_at: '2026-12-01T00:00:00Z' };
    },
    async backup() { return structuredClone(stored.at(-1)); },
  };
}

function walletOf(label, d) {
  const a = account(label);
  return newWallet({ server: 'http://127.0.0.1:8100', adminFingerprint: new Uint8Array(16), accountId: new Uint8Array(16).fill(7),
    token: new Uint8Array(32), contact: 'a@example.org', accountSeed: a.seed, certificate: a.certificate, minSerial: d.serial });
}

/** What a key server does with one recovery request (services/keyserver/recovery.py), from its HPKE seed and the request. */
async function keyServerAnswer(hpkeSeed, server, deploymentId, hb, blinded) {
  const share = await rec.openShare(hpkeSeed, server, deploymentId, hb);
  const { evaluated, proof } = oprf.voprfBlindEvaluate(share, server.publicShare, [blinded]);
  return { evaluated: evaluated[0], proof };
}

test('set-up deals k to the serving key servers; t of them give back the rwd the device computed; the wallet opens', async () => {
  const { deployment: d, seeds } = await testDeployment();
  const wallet = walletOf('A', d);
  const api = fakeApi();
  const handle = await setUpBackup(wallet, 'correct horse battery staple', d, api, { kdf: KDF });
  assert.equal(handle, rec.formatHandle(rec.handleBytes(d.deploymentId, account('A').key)));
  assert.equal(wallet.backup_handle, handle);
  assert.equal(wallet.backup_version, 1);
  assert.equal(wallet.backup_pending, false);
  assert.equal(api.stored.length, 1);
  const backup = rec.parseBackup(JSON.stringify(api.stored[0]), { deploymentId: d.deploymentId, handle: rec.parseHandle(handle) });
  assert.deepEqual(backup.servers.map((s) => s.index), [1, 2, 3]);
  assert.equal(backup.threshold, 2);
  assert.deepEqual(api.stored[0].kdf, KDF);
  assert.deepEqual(Object.keys(api.stored[0]), ['format', 'deployment_id', 'handle', 'version', 'threshold', 'group_key', 'kdf', 'servers', 'wallet']);
  assert.equal(needsNewDealing(wallet, d), false);

  // a new device: Argon2id, blind, ask two key servers, check their proofs, combine, open
  const hb = backup.handleBytes;
  const hardened = await deriveKey('correct horse battery staple', rec.recoverySalt(d.deploymentId, hb), backup.params);
  for (const pair of [[1, 2], [1, 3], [2, 3]]) {
    const { blind, blinded } = rec.blindHardened(hardened);
    const checked = [];
    for (const i of pair) {
      const server = backup.servers.find((s) => s.index === i);
      const { evaluated, proof } = await keyServerAnswer(seeds.get(i), server, d.deploymentId, hb, blinded);
      checked.push(rec.checkAnswer(server, blinded, evaluated, proof));
    }
    const rwd = rec.combineRwd(hardened, blind, checked, 2);
    const key = rec.backupKey(rwd, d.deploymentId, hb);
    assert.equal(b64uEncode(key), wallet.backup_key);
    const opened = walletFromBytes(rec.openBackupWallet(key, backup.wallet, d.deploymentId, hb, 1));
    assert.equal(opened.backup_key, '', 'the backup key is never sealed under itself');
    assert.equal(opened.account_seed, wallet.account_seed);
    assert.equal(opened.backup_handle, handle);
  }

  // a wrong passphrase gives another rwd: the wallet does not open
  const wrong = await deriveKey('correct horse battery stapler', rec.recoverySalt(d.deploymentId, hb), backup.params);
  const { blind, blinded } = rec.blindHardened(wrong);
  const checked = [];
  for (const i of [1, 2]) {
    const server = backup.servers.find((s) => s.index === i);
    const { evaluated, proof } = await keyServerAnswer(seeds.get(i), server, d.deploymentId, hb, blinded);
    checked.push(rec.checkAnswer(server, blinded, evaluated, proof));
  }
  const key = rec.backupKey(rec.combineRwd(wrong, blind, checked, 2), d.deploymentId, hb);
  assert.throws(() => rec.openBackupWallet(key, backup.wallet, d.deploymentId, hb, 1), { name: 'DecryptionError' });
  // the version is bound: the same ciphertext under another version does not open
  assert.throws(() => rec.openBackupWallet(b64uDecode(wallet.backup_key), backup.wallet, d.deploymentId, hb, 2), { name: 'DecryptionError' });
});

test('a key server answering with another share, or the share sealed to one server opened at another, is caught', async () => {
  const { deployment: d, seeds } = await testDeployment();
  const wallet = walletOf('B', d);
  const api = fakeApi();
  await setUpBackup(wallet, 'passphrase of B', d, api, { kdf: KDF });
  const backup = rec.parseBackup(api.stored[0]);
  const hb = backup.handleBytes;
  const [one, two] = backup.servers;
  const { blinded } = rec.blindHardened(new Uint8Array(32).fill(9));
  // key server 2 evaluates with its share but claims to be key server 1: the proof is against 1's public share
  const lie = await keyServerAnswer(seeds.get(2), two, d.deploymentId, hb, blinded);
  assert.throws(() => rec.checkAnswer(one, blinded, lie.evaluated, lie.proof), { name: 'VerificationError' });
  // server 1's sealed share does not open with server 2's key, nor under another handle
  await assert.rejects(rec.openShare(seeds.get(2), one, d.deploymentId, hb), { name: 'DecryptionError' });
  await assert.rejects(rec.openShare(seeds.get(1), one, d.deploymentId, new Uint8Array(10)), { name: 'DecryptionError' });
  // a share swapped with another's (index and public share moved along) no longer fits the group key
  const swapped = structuredClone(api.stored[0]);
  swapped.servers[0].public_share = api.stored[0].servers[1].public_share;
  assert.throws(() => rec.parseBackup(swapped), /public shares do not fit its group key/);
});

test('every save uploads version + 1; a failure leaves backup_pending and the next save catches up; 409 goes past the stored version', async () => {
  const { deployment: d } = await testDeployment();
  const wallet = walletOf('A', d);
  const api = fakeApi();
  await setUpBackup(wallet, 'p', d, api, { kdf: KDF });
  assert.equal(await updateBackup(wallet, api), 'updated');
  assert.equal(wallet.backup_version, 2);
  api.failNext = new ApiError(0, 'unreachable', 'cannot reach the server');
  assert.equal(await updateBackup(wallet, api), 'pending');
  assert.equal(wallet.backup_pending, true);
  assert.equal(wallet.backup_version, 2);
  // another device stored version 5 meanwhile
  api.stored.push({ ...api.stored.at(-1), version: 5 });
  assert.equal(await updateBackup(wallet, api), 'updated');
  assert.equal(wallet.backup_version, 6);
  assert.equal(wallet.backup_pending, false);
  assert.equal(await updateBackup({ ...walletOf('B', d) }, api), 'none');
  // the wallet's backup fields survive its own bytes, with Python's names
  const again = walletFromBytes(walletToBytes(wallet));
  assert.deepEqual(again.backup_keys, wallet.backup_keys);
  assert.equal(again.backup_version, 6);
  // a resharing under way that leaves key server 3 out: set up again at the next unlock
  const reshare = { ...d, keyChange: { kind: 'reshare', servers: d.keyservers.slice(0, 2), threshold: 2, epoch: 2 } };
  assert.deepEqual(servingKeyServers(reshare).map((s) => s.index), [1, 2]);
  assert.equal(needsNewDealing(wallet, reshare), true);
  assert.equal(needsNewDealing(wallet, { ...d, threshold: 3 }), true);
});

test('tampered backups are refused, each with its reason, before any key server is asked', async () => {
  const { deployment: d } = await testDeployment();
  const api = fakeApi();
  await setUpBackup(walletOf('A', d), 'p', d, api, { kdf: KDF });
  const good = api.stored[0];
  rec.parseBackup(good);
  const cases = [
    [(b) => { b.format = 'consilience-backup/v2'; }, /format is not consilience-backup\/v1/],
    [(b) => { b.extra = 1; }, /unknown backup field extra/],
    [(b) => { delete b.group_key; }, /backup has no group_key/],
    [(b) => { b.version = 0; }, /version must be an integer/],
    [(b) => { b.version = '1'; }, /version must be an integer/],
    [(b) => { b.threshold = 4; }, /threshold must be an integer in \[1, 3\]/],
    [(b) => { b.threshold = 1; }, /public shares do not fit its group key/],
    [(b) => { b.handle = b.handle.toLowerCase(); }, /handle is not in its written form/],
    [(b) => { b.handle = 'nope'; }, /handle is not a handle/],
    [(b) => { b.deployment_id = b64uEncode(new Uint8Array(15)); }, /deployment_id is not 16 bytes/],
    [(b) => { b.group_key = b64uEncode(new Uint8Array(32).fill(255)); }, /public shares do not fit its group key/],
    [(b) => { b.kdf.memory_kib = 8; }, /argon2id memory_cost_kib must be an integer/],
    [(b) => { b.kdf.lanes = 100; }, /argon2id lanes/],
    [(b) => { b.kdf.salt = 'x'; }, /unknown kdf field salt/],
    [(b) => { b.servers = []; }, /servers is not a list of 1 to 255/],
    [(b) => { b.servers[1].index = b.servers[0].index; }, /two servers have the same index/],
    [(b) => { b.servers[0].index = 0; }, /servers\[0\].index must be an integer/],
    [(b) => { b.servers[1].identity_key = b.servers[0].identity_key; }, /two servers have the same identity key/],
    [(b) => { b.servers[0].sealed_share = b.servers[0].sealed_share.slice(0, -4); }, /sealed_share is not 1168 bytes/],
    [(b) => { b.servers[2].public_share = b.group_key; }, /public share 3 is inconsistent|do not fit/],
    [(b) => { b.servers[0].identity_key = 'AA'; }, /identity_key is not 32 bytes/],
    [(b) => { b.wallet = 'AAAA'; }, /wallet is too short/],
    [(b) => { b.wallet = 12; }, /wallet is not base64url text/],
  ];
  for (const [tamper, reason] of cases) {
    const bad = structuredClone(good);
    tamper(bad);
    assert.throws(() => rec.parseBackup(bad), (e) => e.name === 'InvalidInput' && reason.test(e.message), String(tamper));
  }
  assert.throws(() => rec.parseBackup(good, { deploymentId: new Uint8Array(16) }), /made for another deployment/);
  assert.throws(() => rec.parseBackup(good, { handle: new Uint8Array(10) }), /backup of another handle/);
  assert.throws(() => rec.parseBackup('x'.repeat(rec.MAX_BACKUP_BYTES + 1)), /larger than/);
  // a wallet ciphertext flipped by one bit does not open under the right key
  const w = walletOf('A', d);
  const api2 = fakeApi();
  await setUpBackup(w, 'p', d, api2, { kdf: KDF });
  const b = rec.parseBackup(api2.stored[0]);
  b.wallet[b.wallet.length - 1] ^= 1;
  assert.throws(() => rec.openBackupWallet(b64uDecode(w.backup_key), b.wallet, d.deploymentId, b.handleBytes, 1), { name: 'DecryptionError' });
});

test('the reset request is signed by the account key over the key server it is for', async () => {
  const d = await deployment();
  const a = account('A');
  const audience = new Uint8Array(32).fill(3);
  const nonce = new Uint8Array(16).fill(4);
  const body = rec.resetRequestJson(a.seed, a.certificate, d.deploymentId, audience, { now: 1700000000, nonce });
  assert.deepEqual(Object.keys(body), ['certificate', 'audience', 'issued_at', 'nonce', 'signature']);
  const { ed25519 } = await import('@noble/curves/ed25519.js');
  const message = rec.resetSignedBytes(d.deploymentId, audience, 1700000000, nonce);
  assert.ok(ed25519.verify(b64uDecode(body.signature, 64), message, accountKey(a.seed)));
  assert.equal(message.length, 'consilience-v2 recovery reset'.length + 16 + 32 + 8 + 16);
});

test('the Python vector (tests/vectors/recovery_interop.json) is reproduced value for value', async () => {
  const v = JSON.parse(fs.readFileSync(VECTOR_PATH, 'utf8'));
  const { inputs: i, outputs: o } = v;
  const b = (x) => b64uDecode(x);
  const int = (x) => scalarToInt(b(x));
  const deploymentId = b(i.deployment_id);
  assert.deepEqual(accountKey(b(i.account_seed)), b(i.account_key));
  const hb = rec.handleBytes(deploymentId, b(i.account_key));
  assert.deepEqual(hb, b(o.handle_bytes));
  assert.equal(rec.formatHandle(hb), o.handle);
  for (const c of v.handle_parsing) {
    if (c.error) assert.throws(() => rec.parseHandle(c.text), { message: c.error });
    else assert.deepEqual(rec.parseHandle(c.text), b(c.handle_bytes), c.text);
  }
  const salt = rec.recoverySalt(deploymentId, hb);
  assert.deepEqual(salt, b(o.salt));
  const hardened = await deriveKey(i.passphrase, salt, rec.argon2Params(i.kdf));
  assert.deepEqual(hardened, b(o.hardened));
  // the dealing: k and the coefficients give the group key and every public share
  const indices = i.servers.map((s) => s.index);
  const dealt = rec.dealKey(i.threshold, indices, { coefficients: [int(i.k), ...i.coefficients.map(int)] });
  assert.deepEqual(dealt.groupKey, b(o.group_key));
  for (const e of o.evaluations) assert.deepEqual(dealt.shares.get(e.index).publicShare, b(e.public_share));
  for (const s of i.servers) {
    assert.deepEqual(await hpke.publicKeyBytes(b(s.hpke_seed)), b(s.hpke_public_key));
    const pub = dealt.shares.get(s.index).publicShare;
    assert.deepEqual(rec.shareInfo(deploymentId, hb, s.index, pub), b(o.share_info[String(s.index)]));
  }
  // the backup document: parsed strictly, and every sealed share opens at its key server to its share
  const backup = rec.parseBackup(JSON.stringify(o.backup), { deploymentId, handle: hb });
  assert.equal(backup.version, i.version);
  assert.deepEqual(rec.backupKeysJson(backup), Object.fromEntries(Object.entries(o.backup).filter(([k]) => k !== 'version' && k !== 'wallet')));
  assert.deepEqual(rec.backupDocument(rec.backupKeysJson(backup), o.backup.version, backup.wallet), o.backup);
  for (const s of backup.servers) {
    const seed = b(i.servers.find((x) => x.index === s.index).hpke_seed);
    assert.equal(scalarToInt(await rec.openShare(seed, s, deploymentId, hb)), dealt.shares.get(s.index).share);
    assert.deepEqual(s.identityKey, b(i.servers.find((x) => x.index === s.index).identity_key));
  }
  // the client's half: blind, check each key server's proof, combine the ones Python combined
  const { blind, blinded } = rec.blindHardened(hardened, b(i.blind));
  assert.deepEqual(blinded, b(o.blinded));
  const checked = o.evaluations.map((e) => rec.checkAnswer(backup.servers.find((s) => s.index === e.index), blinded, b(e.evaluated), b(e.proof)));
  const used = checked.filter((c) => o.combined_from.includes(c.partial.index));
  const rwd = rec.combineRwd(hardened, blind, used, i.threshold);
  assert.deepEqual(rwd, b(o.rwd));
  assert.deepEqual(rec.localRwd(int(i.k), hardened), rwd, 'the device that dealt k computes the same rwd');
  assert.deepEqual(rec.combineRwd(hardened, blind, checked.slice(1), i.threshold), rwd, 'any t answers give it');
  const key = rec.backupKey(rwd, deploymentId, hb);
  assert.deepEqual(key, b(o.backup_key));
  // the wallet ciphertext, with Python's nonce, byte for byte; and it opens to the wallet
  const aad = rec.walletAad(deploymentId, hb, i.version);
  assert.deepEqual(aad, b(o.wallet_aad));
  const nonce = b(i.wallet_nonce);
  assert.deepEqual(concatBytes(nonce, chacha20poly1305(key, nonce, aad).encrypt(b(i.wallet))), b(o.wallet_ct));
  const opened = rec.openBackupWallet(key, backup.wallet, deploymentId, hb, backup.version);
  assert.deepEqual(opened, b(i.wallet));
  assert.equal(JSON.parse(new TextDecoder().decode(opened)).backup_key, '', 'the backup key is never sealed under itself');
  // the reset request, signed as Python signs it
  assert.deepEqual(rec.resetRequestJson(b(i.account_seed), b(o.reset.certificate), deploymentId, b(o.reset.audience),
    { now: i.now, nonce: b(i.reset_nonce) }), o.reset);
  // the unlock code's layout: handle (10) ‖ u64 issued_at ‖ nonce (16) ‖ the administrator's signature (64)
  const code = b(o.unlock_code.slice('cnslu1.'.length));
  assert.equal(code.length, 10 + 8 + 16 + 64);
  assert.deepEqual(code.subarray(0, 10), hb);
  const { ed25519 } = await import('@noble/curves/ed25519.js');
  const signed = concatBytes(new TextEncoder().encode('consilience-v2 recovery unlock'), deploymentId, code.subarray(0, 34));
  assert.ok(ed25519.verify(code.subarray(34), signed, b(i.admin_key)));
});

test('FAST_PARAMS stay within the backup kdf limits tests use', () => {
  assert.deepEqual(rec.argon2Params(KDF), FAST_PARAMS);
});

/**
 * The servers a new device talks to, in memory: the escrow server (the vectors' signed document, the
 * stored backup, sign-in) and key servers doing what services/keyserver/recovery.py does (open the
 * sealed share with its HPKE key, count the attempt per handle, then evaluate with a proof; 423 once
 * `limit` attempts are used; reset by a signed request; unlock by code).
 */
function newDeviceWorld(d, seeds, stored, { limit = 10, lie = null, down = new Set() } = {}) {
  const attempts = new Map();
  const calls = [];
  const json = (status, doc) => new Response(doc === null ? null : JSON.stringify(doc), { status, headers: { 'Content-Type': 'application/json' } });
  const fetch = async (url, init = {}) => {
    const u = new URL(url);
    calls.push(`${init.method ?? 'GET'} ${u.port} ${u.pathname}`);
    if (u.pathname === '/v2/deployment') return json(200, V2.published);
    if (u.pathname.startsWith('/v2/backup/')) {
      return stored.length ? json(200, stored.at(-1)) : json(404, { error: 'not_found', detail: 'There is no backup for this handle.' });
    }
    if (u.pathname === '/v2/login') return json(200, { token: b64uEncode(new Uint8Array(32).fill(5)) });
    const server = d.keyservers.find((s) => url.startsWith(s.url.replace(/\/+$/, '')));
    if (!server) return json(404, { error: 'not_found', detail: url });
    if (down.has(server.index)) throw new TypeError('Failed to fetch');
    const body = JSON.parse(init.body);
    const key = `${server.index}:${body.handle ?? ''}`;
    if (u.pathname === '/v2/recovery/reset') { for (const k of attempts.keys()) if (k.startsWith(`${server.index}:`)) attempts.set(k, 0); return json(204, null); }
    if (u.pathname === '/v2/recovery/unlock') { for (const k of attempts.keys()) if (k.startsWith(`${server.index}:`)) attempts.set(k, 0); return json(200, { attempts_left: limit }); }
    const used = attempts.get(key) ?? 0;
    if (used >= limit) return json(423, { error: 'recovery_locked', detail: 'Recovery for this account is paused after 10 tries that did not end in a recovery, so that nobody can keep guessing the passphrase. Ask your deployment\'s administrator for an unlock code, then try again.' });
    const hb = rec.parseHandle(body.handle);
    const entry = { index: server.index, publicShare: b64uDecode(body.public_share, 32), sealedShare: b64uDecode(body.sealed_share) };
    const share = await rec.openShare(seeds.get(server.index), entry, d.deploymentId, hb);
    attempts.set(key, used + 1);
    const { evaluated, proof } = oprf.voprfBlindEvaluate(share, entry.publicShare, [b64uDecode(body.blinded, 32)]);
    let out = { index: server.index, evaluated: b64uEncode(evaluated[0]), proof: b64uEncode(proof), attempts_left: limit - used - 1 };
    if (lie && lie.index === server.index) out = lie.change(out);
    return json(200, out);
  };
  return { fetch, calls, attempts };
}

test('a new device recovers through the key servers: wrong passphrase → the tries left, paused → the reason, a lying or absent key server is named', async () => {
  const base = await deployment();
  const seeds = new Map();
  // the vectors' document, with key servers whose HPKE keys the test holds (identity keys as signed)
  const keyservers = await Promise.all(base.keyservers.map(async (s) => {
    const seed = hpke.generatePrivateKey();
    seeds.set(s.index, seed);
    return { ...s, hpkePublicKey: await hpke.publicKeyBytes(seed) };
  }));
  const d = { ...base, keyservers };
  const a = account('A');
  const wallet = newWallet({ server: 'http://127.0.0.1:8100', adminFingerprint: hx(V2.admin.fingerprint), accountId: new Uint8Array(16).fill(7),
    token: new Uint8Array(32), contact: 'Signal: a', accountSeed: a.seed, certificate: a.certificate, minSerial: base.serial });
  wallet.records.push({ record_id: '0a0b0c0d', text: 'what happened', written_at: '2026-11-30T10:00:00+00:00', escrow: null, details: null, attachments: [], title: '' });
  const api = fakeApi();
  const handle = await setUpBackup(wallet, 'the right passphrase', d, api, { kdf: KDF });
  const { recover, WrongPassphrase, RecoveryLocked, RecoveryUnavailable } = await import('../src/sdk/clients/recovery.js');

  const world = newDeviceWorld(d, seeds, api.stored, { limit: 3 });
  await assert.rejects(recover('http://127.0.0.1:8100', handle, 'a wrong passphrase', { fetch: world.fetch }), (e) => {
    assert.ok(e instanceof WrongPassphrase);
    assert.equal(e.message, 'That passphrase did not open the backup. You have 2 tries left at this deployment before recovery pauses.');
    return true;
  });
  const steps = [];
  const result = await recover('http://127.0.0.1:8100', handle.toLowerCase(), 'the right passphrase', { fetch: world.fetch, onStep: (s, st) => steps.push(`${s}:${st}`) });
  assert.equal(result.records, 1);
  assert.equal(result.wallet.records[0].text, 'what happened');
  assert.equal(result.wallet.backup_key, wallet.backup_key);
  assert.equal(result.wallet.backup_version, 1);
  assert.equal(result.wallet.token, b64uEncode(new Uint8Array(32).fill(5)));
  assert.ok(steps.includes('open:done') && steps.includes('signin:done'));
  assert.ok([...world.attempts.values()].every((n) => n === 0), 'a recovery sets the counts back to zero');
  assert.ok(world.calls.filter((c) => c.endsWith('/v2/recovery/reset')).length >= 2);

  // three wrong passphrases: paused, with the reason; the unlock code opens it again
  for (let i = 0; i < 3; i++) await assert.rejects(recover('http://127.0.0.1:8100', handle, `wrong ${i}`, { fetch: world.fetch }), WrongPassphrase);
  await assert.rejects(recover('http://127.0.0.1:8100', handle, 'the right passphrase', { fetch: world.fetch }), (e) => {
    assert.ok(e instanceof RecoveryLocked);
    assert.match(e.message, /^Recovery for this account is paused after 10 tries/);
    return true;
  });
  await recover('http://127.0.0.1:8100', handle, 'the right passphrase', { fetch: world.fetch, unlockCode: 'cnslu1.AAAA' });

  // a key server whose proof does not hold is not used; with one of three down too, fewer than t remain
  const liar = newDeviceWorld(d, seeds, api.stored, { lie: { index: 1, change: (o) => ({ ...o, evaluated: o.proof.slice(0, 43) }) } });
  await recover('http://127.0.0.1:8100', handle, 'the right passphrase', { fetch: liar.fetch });
  const worse = newDeviceWorld(d, seeds, api.stored, { lie: { index: 1, change: (o) => ({ ...o, proof: b64uEncode(new Uint8Array(64).fill(1)) }) }, down: new Set([2]) });
  await assert.rejects(recover('http://127.0.0.1:8100', handle, 'the right passphrase', { fetch: worse.fetch }), (e) => {
    assert.ok(e instanceof RecoveryUnavailable);
    assert.match(e.message, /\(1 of the 2 needed\)/);
    assert.match(e.message, /key server 1 \(http[^)]*\) gave an answer that does not check/);
    assert.match(e.message, /key server 2 \(http[^)]*\) could not be reached \(TypeError\)/);
    return true;
  });
  // a handle with no backup, and one mistyped
  await assert.rejects(recover('http://127.0.0.1:8100', '0000-0000-0000-0000', 'x', { fetch: newDeviceWorld(d, seeds, []).fetch }), { status: 404 });
  await assert.rejects(recover('http://127.0.0.1:8100', '0000-0000-0000', 'x', { fetch: world.fetch }), { message: rec.HANDLE_REFUSAL });
});
