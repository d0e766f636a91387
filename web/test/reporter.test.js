// The reporter's escrow workflow (web/src/sdk/clients/reporter.js) against an
// in-memory escrow server, log and key servers (fake_escrow.js): the steps it
// reports, the receipt it checks and keeps, and what survives a lost answer,
// key servers that are down and refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VECTORS, hx } from './helpers.js';
import { ESCROW_URL, fakeEscrow } from './fake_escrow.js';
import {
  ApiError, EscrowApi, InvalidInput, KeyServerUnavailable, VerificationError, addRecord, b64uDecode, b64uEncode,
  checkReceipt, expectedContent, matching, newWallet, normalise, oprf, walletFromBytes, walletToBytes,
} from '../src/sdk/index.js';
import * as reporter from '../src/sdk/clients/reporter.js';

const ESCROW_ORDER = ['deployment', 'token', 'oprf', 'seal', 'keep', 'send', 'receipt', 'save'];
const both = (names) => names.flatMap((n) => [`${n}:start`, `${n}:done`]);

function setup(options = {}) {
  const server = fakeEscrow(options);
  const wallet = newWallet({
    server: ESCROW_URL, adminFingerprint: server.fingerprint, accountId: server.accountId, token: server.accountToken,
    contact: 'Sam, on Signal at +44 20 7946 0000',
  });
  const record = addRecord(wallet, 'He followed me home from the station.', '2026-11-30T18:04:00+00:00', {
    details: { what: 'Followed home', when: 'Friday evening', where: 'Station Road' },
    attachments: [{ name: 'note.txt', type: 'text/plain', data: new TextEncoder().encode('plate AB12 CDE') }],
  });
  const saved = [];
  const receipts = new Map();
  const steps = [];
  const session = {
    wallet,
    api: new EscrowApi(ESCROW_URL, b64uDecode(wallet.token), { fetch: server.fetch }),
    deployment: () => reporter.walletDeployment(wallet, { fetch: server.fetch }),
    save: async () => { saved.push(walletToBytes(wallet)); },
    storeReceipt: async (name, text) => { receipts.set(name, text); },
    fetch: server.fetch,
  };
  const onStep = (step, state, detail) => {
    assert.equal(detail.record.record_id, record.record_id);
    steps.push(`${detail.earlier ? 'earlier ' : ''}${step}:${state}`);
  };
  const named = [normalise('Alex@Example.com'), normalise('+44 20 7946 0958')];
  return { server, wallet, record, saved, receipts, steps, session, onStep, named };
}

/** The tags an entry naming `identifiers` must carry: matching tags of the OPRF under the whole key. */
function expectedTags(identifiers) {
  const sk = hx(VECTORS.crypto.threshold_oprf.secret_key);
  return identifiers.map((i) => b64uEncode(matching.matchTag(oprf.evaluate(sk, i.oprfInput, oprf.MODE_VOPRF)))).sort();
}

test('escrow: a record end to end, steps in order, receipt checked and kept', async () => {
  const { server, wallet, record, saved, receipts, steps, session, onStep, named } = setup();
  const out = await reporter.escrow(session, record, named, { onStep });
  assert.equal(out, record);
  assert.deepEqual(steps, both(ESCROW_ORDER));
  assert.deepEqual(reporter.ESCROW_STEPS, ESCROW_ORDER);

  // One submission, with the tags of the whole OPRF key, from the first two key servers.
  const posts = server.sent('POST /v1/entries');
  assert.equal(posts.length, 1);
  const payload = JSON.parse(posts[0].body);
  assert.deepEqual([...payload.tags].sort(), expectedTags(named));
  assert.deepEqual(server.sent('POST keyserver').map((r) => new URL(r.url).hostname), ['keyserver-1.test', 'keyserver-2.test']);
  assert.equal(payload.quorum, 3);
  assert.equal(payload.deployment_serial, server.serial);

  // The wallet: escrowed, nothing pending, the names as typed and as matched.
  const e = record.escrow;
  assert.equal(e.entry_id, payload.entry_id);
  assert.equal(e.status, 'escrowed');
  assert.equal(e.pending, null);
  assert.equal(e.pending_replace, false);
  assert.deepEqual(e.identifiers, ['Alex@Example.com', '+44 20 7946 0958']);
  assert.deepEqual(e.canonical, ['email:alex@example.com', 'phone:+442079460958']);
  assert.equal(e.quorum, 3);
  assert.equal(e.received_at, server.entries.get(e.entry_id).received_at);
  assert.equal(wallet.min_serial, server.serial);

  // The exact submission was saved before it was sent, then the confirmed state.
  assert.equal(saved.length, 2);
  const kept = walletFromBytes(saved[0]).records[0].escrow;
  assert.equal(kept.status, 'sending');
  assert.deepEqual(kept.pending, payload);
  assert.equal(JSON.stringify(kept.pending), posts[0].body);
  assert.equal(walletFromBytes(saved[1]).records[0].escrow.pending, null);

  // The receipt is kept under the CLI's name, listed in the wallet, and checks against what was sent.
  const name = `${e.entry_id}-entry-0.tlog-proof`;
  assert.deepEqual([...receipts.keys()], [name]);
  assert.deepEqual(e.receipts, [name]);
  const d = await session.deployment();
  const checked = checkReceipt(receipts.get(name), d, b64uDecode(e.entry_id, 16), 'entry', expectedContent(payload));
  assert.equal(checked.event.kind, 'entry');
  assert.equal(checked.index, 0n);
  assert.equal(checked.treeSize, 1n);
});

test('escrow: the server says released, and a quorum of our own choosing is used', async () => {
  const { server, record, session, named } = setup();
  server.releaseWhen(1);
  await reporter.escrow(session, record, named.slice(0, 1), { quorum: 4 });
  assert.equal(record.escrow.status, 'released');
  assert.equal(record.escrow.quorum, 4);
  assert.equal(JSON.parse(server.sent('POST /v1/entries')[0].body).quorum, 4);
});

test('a lost answer: the submission is kept, then resent with identical bytes and counted once', async () => {
  const { server, record, receipts, steps, session, onStep, named } = setup();
  server.failNext('POST /v1/entries', 'lose-answer');
  await assert.rejects(reporter.escrow(session, record, named, { onStep }),
    (err) => err instanceof ApiError && err.status === 0 && /cannot reach http:\/\/escrow\.test/.test(err.message));
  assert.deepEqual(steps, [...both(['deployment', 'token', 'oprf', 'seal', 'keep']), 'send:start', 'send:failed']);
  assert.equal(server.entries.size, 1); // the server did take it
  assert.equal(record.escrow.status, 'sending');
  const first = server.sent('POST /v1/entries')[0].body;
  assert.deepEqual(record.escrow.pending, JSON.parse(first));
  assert.equal(receipts.size, 0);

  steps.length = 0;
  await reporter.resend(session, record, { onStep });
  assert.deepEqual(steps, both(reporter.RESEND_STEPS));
  const posts = server.sent('POST /v1/entries');
  assert.equal(posts.length, 2);
  assert.equal(posts[1].body, first);
  assert.equal(server.entries.size, 1);
  assert.equal(server.leaves.length, 1);
  assert.equal(record.escrow.status, 'escrowed');
  assert.equal(record.escrow.pending, null);
  assert.deepEqual(record.escrow.receipts, [`${record.escrow.entry_id}-entry-0.tlog-proof`]);
});

test('finishPending resends every unconfirmed submission, and does nothing when none waits', async () => {
  const { server, record, steps, session, onStep, named } = setup();
  server.failNext('POST /v1/entries', 'lose-answer');
  await assert.rejects(reporter.escrow(session, record, named), ApiError);
  const first = server.sent('POST /v1/entries')[0].body;
  steps.length = 0;
  const sent = await reporter.finishPending(session, { onStep });
  assert.deepEqual(sent, [record]);
  assert.deepEqual(steps, both(reporter.SEND_STEPS));
  assert.equal(server.sent('POST /v1/entries')[1].body, first);
  assert.equal(record.escrow.status, 'escrowed');

  const before = server.requests.length;
  assert.deepEqual(await reporter.finishPending(session, { onStep }), []);
  assert.equal(server.requests.length, before); // not even the deployment is fetched
});

test('escrow again after a lost answer: the earlier submission goes first, byte for byte, then the change replaces it', async () => {
  const { server, record, steps, session, onStep, named } = setup();
  server.failNext('POST /v1/entries', 'lose-answer');
  await assert.rejects(reporter.escrow(session, record, named.slice(0, 1)), ApiError);
  const first = server.sent('POST /v1/entries')[0].body;
  const entryId = record.escrow.entry_id;
  await reporter.escrow(session, record, named, { onStep });
  assert.deepEqual(steps, [
    ...both(['deployment']), ...both(reporter.SEND_STEPS).map((s) => `earlier ${s}`),
    ...both(['token', 'oprf', 'seal', 'keep', 'send', 'receipt', 'save']),
  ]);
  const posts = server.sent('POST /v1/entries');
  assert.equal(posts.length, 2);
  assert.equal(posts[1].body, first);
  const puts = server.sent('PUT /v1/entries/' + entryId);
  assert.equal(puts.length, 1);
  assert.equal(JSON.parse(puts[0].body).entry_id, entryId);
  assert.deepEqual([...JSON.parse(puts[0].body).tags].sort(), expectedTags(named));
  assert.equal(record.escrow.entry_id, entryId);
  assert.deepEqual(record.escrow.canonical, ['email:alex@example.com', 'phone:+442079460958']);
  assert.equal(record.escrow.receipts.length, 2); // the first entry leaf and the replacement's
});

test('key servers down: a clear error, nothing sent, nothing kept', async () => {
  const { server, record, saved, steps, session, onStep, named } = setup();
  server.keyserverDown.add(1);
  server.keyserverDown.add(3);
  await assert.rejects(reporter.escrow(session, record, named, { onStep }), (err) => {
    assert.ok(err instanceof KeyServerUnavailable);
    assert.equal(err.name, 'KeyServerUnavailable');
    assert.match(err.message, /^only 1 of the 2 key servers needed answered correctly: server 1: unreachable \(TypeError\); server 3: unreachable \(TypeError\)$/);
    return true;
  });
  assert.deepEqual(steps, [...both(['deployment', 'token']), 'oprf:start', 'oprf:failed']);
  assert.equal(server.sent('POST /v1/entries').length, 0);
  assert.equal(server.sent('POST keyserver').length, 3);
  assert.equal(record.escrow, null);
  assert.equal(saved.length, 0);
});

test('429 and 409 answers: ApiError with the server\'s reasons, the submission kept and resent unchanged', async () => {
  const { server, record, steps, session, onStep, named } = setup();
  server.failNext('POST /v1/entries', server.refusal(429, 'rate_limited', 'too many entry changes for this account', {},
    { 'Retry-After': '30' }));
  await assert.rejects(reporter.escrow(session, record, named, { onStep }), (err) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 429);
    assert.equal(err.code, 'rate_limited');
    assert.equal(err.retryAfter, 30);
    assert.equal(err.message, 'server answered 429 (rate_limited): too many entry changes for this account (try again in 30 s)');
    return true;
  });
  assert.deepEqual(steps.slice(-2), ['send:start', 'send:failed']);
  assert.equal(server.entries.size, 0);
  assert.equal(record.escrow.status, 'sending');
  const first = server.sent('POST /v1/entries')[0].body;
  assert.equal(JSON.stringify(record.escrow.pending), first);

  server.failNext('POST /v1/entries', server.refusal(409, 'conflict', 'stale deployment document: the current serial is 4',
    { current_serial: 4 }));
  await assert.rejects(reporter.resend(session, record), (err) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 409);
    assert.equal(err.code, 'conflict');
    assert.equal(err.currentSerial, 4);
    assert.equal(err.retryAfter, null);
    return true;
  });
  assert.equal(record.escrow.status, 'sending');
  assert.equal(JSON.stringify(record.escrow.pending), first);

  await reporter.resend(session, record);
  assert.deepEqual(server.sent('POST /v1/entries').map((r) => r.body), [first, first, first]);
  assert.equal(server.entries.size, 1);
  assert.equal(record.escrow.status, 'escrowed');
});

test('a receipt for other content is refused: not kept, the submission stays pending', async () => {
  const { server, record, receipts, steps, session, onStep, named } = setup();
  server.failNext('POST /v1/entries', 'wrong-receipt');
  await assert.rejects(reporter.escrow(session, record, named, { onStep }), (err) => err instanceof VerificationError
    && err.message === 'the receipt commits to different content than was submitted');
  assert.deepEqual(steps.slice(-4), ['send:start', 'send:done', 'receipt:start', 'receipt:failed']);
  assert.equal(receipts.size, 0);
  assert.equal(record.escrow.status, 'sending');
  assert.notEqual(record.escrow.pending, null);
  // Sent again, the server answers with the receipt of the entry it holds, which checks.
  await reporter.resend(session, record);
  assert.equal(record.escrow.status, 'escrowed');
  assert.deepEqual([...receipts.keys()], [`${record.escrow.entry_id}-entry-0.tlog-proof`]);
});

test('an answer without a receipt: the receipt step is marked done, nothing is kept, the entry is confirmed', async () => {
  const { server, record, receipts, steps, session, onStep, named } = setup();
  server.failNext('POST /v1/entries', 'no-receipt');
  await reporter.escrow(session, record, named, { onStep });
  assert.deepEqual(steps.slice(-5), ['send:start', 'send:done', 'receipt:done', 'save:start', 'save:done']);
  assert.equal(receipts.size, 0);
  assert.deepEqual(record.escrow.receipts, []);
  assert.equal(record.escrow.status, 'escrowed');
  assert.equal(record.escrow.pending, null);
});

test('a withdrawn record cannot be put in escrow again under the same entry', async () => {
  const { server, record, session, named } = setup();
  await reporter.escrow(session, record, named);
  record.escrow.status = 'withdrawn';
  const before = server.requests.length;
  await assert.rejects(reporter.escrow(session, record, named), (err) => err instanceof InvalidInput
    && err.message === 'This record is withdrawn; it can no longer be changed.');
  assert.deepEqual(server.requests.slice(before).map((r) => `${r.method} ${new URL(r.url).pathname}`), ['GET /v1/deployment']);
});

test('walletDeployment verifies against the pinned administrator and keeps the serial from going back', async () => {
  const { server, wallet } = setup();
  const d = await reporter.walletDeployment(wallet, { fetch: server.fetch });
  assert.equal(d.serial, server.serial);
  assert.equal(wallet.min_serial, server.serial);
  wallet.min_serial = server.serial + 1;
  await assert.rejects(reporter.walletDeployment(wallet, { fetch: server.fetch }), VerificationError);
  wallet.min_serial = 0;
  wallet.admin_fingerprint = b64uEncode(new Uint8Array(16));
  await assert.rejects(reporter.walletDeployment(wallet, { fetch: server.fetch }),
    /deployment signed by a different administrator than the one pinned/);
});
