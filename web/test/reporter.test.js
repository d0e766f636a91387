// The reporter's escrow workflow (web/src/sdk/clients/reporter.js) against an
// in-memory escrow server, log and key servers (fake_escrow.js, protocol v2): the
// steps it reports, the receipt it checks and keeps, and what survives a lost
// answer, key servers that are down and refusals; registration with a v2 invite;
// the 409 already_named answer; no "released" ever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hx } from './helpers.js';
import { ESCROW_URL, fakeEscrow } from './fake_escrow.js';
import { V2, account } from './v2_vectors.js';
import {
  ApiError, EscrowApi, InvalidInput, KeyServerUnavailable, VerificationError, addRecord, b64uDecode, b64uEncode,
  checkReceipt, expectedContent, matching, newWallet, normalise, openBody, oprf, walletFromBytes, walletToBytes,
} from '../src/sdk/index.js';
import { messagingKeyPair } from '../src/sdk/protocol/conversations.js';
import * as talk from '../src/sdk/clients/conversations.js';
import * as reporter from '../src/sdk/clients/reporter.js';

const ESCROW_ORDER = ['deployment', 'oprf', 'seal', 'keep', 'send', 'receipt', 'save'];
const both = (names) => names.flatMap((n) => [`${n}:start`, `${n}:done`]);

async function setup() {
  const server = await fakeEscrow();
  const a = account('A');
  const wallet = newWallet({
    server: ESCROW_URL, adminFingerprint: server.fingerprint, accountId: server.accountId, token: server.accountToken,
    contact: 'Sam, on Signal at +44 20 7946 0000', accountSeed: a.seed, certificate: a.certificate,
    messageSeed: new Uint8Array(32).fill(5), messageKeyRegistered: true,
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
  const sk = hx(V2.oprf_secret_key);
  return identifiers.map((i) => b64uEncode(matching.matchTag(oprf.evaluate(sk, i.oprfInput, oprf.MODE_VOPRF)))).sort();
}

test('escrow: a record end to end, steps in order, receipt checked and kept', async () => {
  const { server, wallet, record, saved, receipts, steps, session, onStep, named } = await setup();
  const out = await reporter.escrow(session, record, named, { onStep });
  assert.equal(out, record);
  assert.deepEqual(steps, both(ESCROW_ORDER));
  assert.deepEqual(reporter.ESCROW_STEPS, ESCROW_ORDER);

  // One submission, with the tags of the whole OPRF key, from the first two key servers.
  const posts = server.sent('POST /v2/entries');
  assert.equal(posts.length, 1);
  const payload = JSON.parse(posts[0].body);
  assert.deepEqual([...payload.tags].sort(), expectedTags(named));
  assert.deepEqual(server.sent('POST keyserver').map((r) => new URL(r.url).origin).sort(),
    server.deployment.keyservers.slice(0, 2).map((k) => new URL(k.url).origin));
  // each request signed for its key server alone, by the wallet's account key
  assert.deepEqual(server.keyserverRequests.map((r) => b64uEncode(r.request.audience)).sort(),
    server.deployment.keyservers.slice(0, 2).map((k) => b64uEncode(k.identityKey)).sort());
  assert.equal(payload.quorum, 2);
  assert.equal(payload.deployment_serial, server.serial);

  // The wallet: escrowed, nothing pending, the names as typed and as matched.
  const e = record.escrow;
  assert.equal(e.entry_id, payload.entry_id);
  assert.equal(e.status, 'escrowed');
  assert.equal(e.pending, null);
  assert.equal(e.pending_replace, false);
  assert.deepEqual(e.identifiers, ['Alex@Example.com', '+44 20 7946 0958']);
  assert.deepEqual(e.canonical, ['email:alex@example.com', 'phone:+442079460958']);
  assert.equal(e.quorum, 2);
  assert.equal(e.received_at, server.entries.get(e.entry_id).received_at);
  assert.equal(wallet.min_serial, server.serial);

  // The body carries the wallet's messaging key, so a counselor can write to the reporter after release.
  const body = openBody(b64uDecode(e.body_key, 32), b64uDecode(e.entry_id, 16), b64uDecode(payload.body));
  assert.deepEqual(body.messagingKey, (await messagingKeyPair(b64uDecode(wallet.message_seed, 32))).key);
  assert.equal(server.sent('PUT /v2/account/message-key').length, 0); // already registered

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

test('escrow: a quorum of our own choosing is used; the status is "escrowed", whatever others did', async () => {
  const { server, record, session, named } = await setup();
  await reporter.escrow(session, record, named.slice(0, 1), { quorum: 4 });
  assert.equal(record.escrow.status, 'escrowed');
  assert.equal(record.escrow.quorum, 4);
  assert.equal(JSON.parse(server.sent('POST /v2/entries')[0].body).quorum, 4);
});

test('a lost answer: the submission is kept, then resent with identical bytes and counted once', async () => {
  const { server, record, receipts, steps, session, onStep, named } = await setup();
  server.failNext('POST /v2/entries', 'lose-answer');
  await assert.rejects(reporter.escrow(session, record, named, { onStep }),
    (err) => err instanceof ApiError && err.status === 0 && /cannot reach http:\/\/escrow\.test/.test(err.message));
  assert.deepEqual(steps, [...both(['deployment', 'oprf', 'seal', 'keep']), 'send:start', 'send:failed']);
  assert.equal(server.entries.size, 1); // the server did take it
  assert.equal(record.escrow.status, 'sending');
  const first = server.sent('POST /v2/entries')[0].body;
  assert.deepEqual(record.escrow.pending, JSON.parse(first));
  assert.equal(receipts.size, 0);

  steps.length = 0;
  await reporter.resend(session, record, { onStep });
  assert.deepEqual(steps, both(reporter.RESEND_STEPS));
  const posts = server.sent('POST /v2/entries');
  assert.equal(posts.length, 2);
  assert.equal(posts[1].body, first);
  assert.equal(server.entries.size, 1);
  assert.equal(server.leaves.length, 1);
  assert.equal(record.escrow.status, 'escrowed');
  assert.equal(record.escrow.pending, null);
  assert.deepEqual(record.escrow.receipts, [`${record.escrow.entry_id}-entry-0.tlog-proof`]);
});

test('finishPending resends every unconfirmed submission, and does nothing when none waits', async () => {
  const { server, record, steps, session, onStep, named } = await setup();
  server.failNext('POST /v2/entries', 'lose-answer');
  await assert.rejects(reporter.escrow(session, record, named), ApiError);
  const first = server.sent('POST /v2/entries')[0].body;
  steps.length = 0;
  const sent = await reporter.finishPending(session, { onStep });
  assert.deepEqual(sent, [record]);
  assert.deepEqual(steps, both(reporter.SEND_STEPS));
  assert.equal(server.sent('POST /v2/entries')[1].body, first);
  assert.equal(record.escrow.status, 'escrowed');

  const before = server.requests.length;
  assert.deepEqual(await reporter.finishPending(session, { onStep }), []);
  assert.equal(server.requests.length, before); // not even the deployment is fetched
});

test('escrow again after a lost answer: the earlier submission goes first, byte for byte, then the change replaces it', async () => {
  const { server, record, steps, session, onStep, named } = await setup();
  server.failNext('POST /v2/entries', 'lose-answer');
  await assert.rejects(reporter.escrow(session, record, named.slice(0, 1)), ApiError);
  const first = server.sent('POST /v2/entries')[0].body;
  const entryId = record.escrow.entry_id;
  await reporter.escrow(session, record, named, { onStep });
  assert.deepEqual(steps, [
    ...both(['deployment']), ...both(reporter.SEND_STEPS).map((s) => `earlier ${s}`),
    ...both(['oprf', 'seal', 'keep', 'send', 'receipt', 'save']),
  ]);
  const posts = server.sent('POST /v2/entries');
  assert.equal(posts.length, 2);
  assert.equal(posts[1].body, first);
  const puts = server.sent('PUT /v2/entries/' + entryId);
  assert.equal(puts.length, 1);
  assert.equal(JSON.parse(puts[0].body).entry_id, entryId);
  assert.deepEqual([...JSON.parse(puts[0].body).tags].sort(), expectedTags(named));
  assert.equal(record.escrow.entry_id, entryId);
  assert.deepEqual(record.escrow.canonical, ['email:alex@example.com', 'phone:+442079460958']);
  assert.equal(record.escrow.receipts.length, 2); // the first entry leaf and the replacement's
});

test('key servers down: a clear error, nothing sent, nothing kept', async () => {
  const { server, record, saved, steps, session, onStep, named } = await setup();
  server.keyserverDown.add(1);
  server.keyserverDown.add(3);
  await assert.rejects(reporter.escrow(session, record, named, { onStep }), (err) => {
    assert.ok(err instanceof KeyServerUnavailable);
    assert.equal(err.name, 'KeyServerUnavailable');
    assert.match(err.message, /^Too few of the deployment's key servers answered \(1 of the 2 needed\), so the names could not be turned into matching codes\. Nothing was sent\./);
    assert.match(err.message, /key server 1 \(http:\/\/127\.0\.0\.1:8101\) could not be reached \(TypeError\); key server 3 \(http:\/\/127\.0\.0\.1:8103\) could not be reached \(TypeError\)\)$/);
    return true;
  });
  assert.deepEqual(steps, [...both(['deployment']), 'oprf:start', 'oprf:failed']);
  assert.equal(server.sent('POST /v2/entries').length, 0);
  assert.equal(server.sent('POST keyserver').length, 3);
  assert.equal(record.escrow, null);
  assert.equal(saved.length, 0);
});

test('429 and 409 answers: ApiError with the server\'s reasons; a 429 keeps the submission to resend unchanged, a 409 puts the record back', async () => {
  const { server, record, saved, steps, session, onStep, named } = await setup();
  server.failNext('POST /v2/entries', server.refusal(429, 'rate_limited', 'too many entry changes for this account', {},
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
  const first = server.sent('POST /v2/entries')[0].body;
  assert.equal(JSON.stringify(record.escrow.pending), first);

  await reporter.resend(session, record);
  assert.deepEqual(server.sent('POST /v2/entries').map((r) => r.body), [first, first]);
  assert.equal(server.entries.size, 1);
  assert.equal(record.escrow.status, 'escrowed');

  // A definitive refusal (409: stale deployment document) puts the record back as it was, saved.
  const other = addRecord(session.wallet, 'later', '2026-12-01T12:00:00+00:00');
  server.failNext('POST /v2/entries', server.refusal(409, 'conflict', 'stale deployment document: the current serial is 4',
    { current_serial: 4 }));
  await assert.rejects(reporter.escrow(session, other, [normalise('robin@example.org')]), (err) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 409);
    assert.equal(err.code, 'conflict');
    assert.equal(err.currentSerial, 4);
    assert.equal(err.retryAfter, null);
    return true;
  });
  assert.equal(other.escrow, null);
  assert.equal(walletFromBytes(saved.at(-1)).records.find((r) => r.record_id === other.record_id).escrow, null);
});

test('a receipt for other content is refused: not kept, the submission stays pending', async () => {
  const { server, record, receipts, steps, session, onStep, named } = await setup();
  server.failNext('POST /v2/entries', 'wrong-receipt');
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
  const { server, record, receipts, steps, session, onStep, named } = await setup();
  server.failNext('POST /v2/entries', 'no-receipt');
  await reporter.escrow(session, record, named, { onStep });
  assert.deepEqual(steps.slice(-5), ['send:start', 'send:done', 'receipt:done', 'save:start', 'save:done']);
  assert.equal(receipts.size, 0);
  assert.deepEqual(record.escrow.receipts, []);
  assert.equal(record.escrow.status, 'escrowed');
  assert.equal(record.escrow.pending, null);
});

test('an answer whose event is only sequenced: the receipt is asked for until the log has it, never sent again', async () => {
  const { server, record, receipts, steps, session, onStep, named } = await setup();
  server.failNext('POST /v2/entries', 'sequenced');
  await reporter.escrow(session, record, named, { onStep });
  const id = record.escrow.entry_id;
  // one ask of GET /v2/entries/{id}/receipt, which the log has by then; the submission went once
  assert.equal(server.sent('POST /v2/entries').length, 1);
  assert.deepEqual(steps.slice(-6), ['send:start', 'send:done', 'receipt:start', 'receipt:done', 'save:start', 'save:done']);
  assert.deepEqual([...receipts.keys()], [`${id}-entry-0.tlog-proof`]);
  assert.deepEqual(record.escrow.receipts, [`${id}-entry-0.tlog-proof`]);
  assert.equal(server.sent(`GET /v2/entries/${id}/receipt`).length, 1);
  assert.equal(record.escrow.pending, null);
});

test('lateReceipt: a receipt still missing after the last ask is null, and a refresh fetches it later', async () => {
  const { server, record, receipts, session, named } = await setup();
  server.failNext('POST /v2/entries', 'no-receipt');
  await reporter.escrow(session, record, named);
  const id = record.escrow.entry_id;
  const stillSequenced = { entry_id: id, status: 'escrowed', receipt: null, sequenced: true };
  const slept = [];
  const api = { receipt: async () => stillSequenced };
  assert.equal(await reporter.lateReceipt(api, stillSequenced, { sleep: async (ms) => { slept.push(ms); } }), null);
  assert.deepEqual(slept, [...reporter.RECEIPT_POLL_DELAYS]);
  assert.equal(receipts.size, 0);
  await reporter.refresh(session);
  assert.deepEqual(record.escrow.receipts, [`${id}-entry-0.tlog-proof`]);
  assert.equal(server.sent('POST /v2/entries').length, 1);
});

test('a refresh fetches the receipt of an edit answered without one, and asks for nothing it holds', async () => {
  const { server, record, receipts, session, named } = await setup();
  session.loadReceipt = async (name) => receipts.get(name) ?? null;
  await reporter.escrow(session, record, named);
  const id = record.escrow.entry_id;
  const asks = () => server.sent(`GET /v2/entries/${id}/receipt`).length;
  await reporter.refresh(session);
  assert.equal(asks(), 0); // it holds the receipt of the entry as it stands
  await new Promise((resolve) => { setTimeout(resolve, 5); }); // the edit, a moment later
  record.text = 'He followed me home again on Saturday.';
  server.failNext(`PUT /v2/entries/${id}`, 'no-receipt');
  await reporter.escrow(session, record, named);
  assert.equal(record.escrow.receipts.length, 1); // only the first version's
  const [put] = server.sent(`PUT /v2/entries/${id}`);
  await reporter.refresh(session);
  assert.equal(asks(), 1);
  assert.equal(record.escrow.receipts.length, 2);
  const latest = receipts.get(record.escrow.receipts[1]);
  checkReceipt(latest, await session.deployment(), b64uDecode(id, 16), 'entry', expectedContent(JSON.parse(put.body)));
  await reporter.refresh(session);
  assert.equal(asks(), 1); // nothing more to fetch
});

test('a withdrawn record cannot be put in escrow again under the same entry', async () => {
  const { server, record, session, named } = await setup();
  await reporter.escrow(session, record, named);
  record.escrow.status = 'withdrawn';
  const before = server.requests.length;
  await assert.rejects(reporter.escrow(session, record, named), (err) => err instanceof InvalidInput
    && err.message === 'This record is withdrawn; it can no longer be changed.');
  assert.deepEqual(server.requests.slice(before).map((r) => `${r.method} ${new URL(r.url).pathname}`), ['GET /v2/deployment']);
});

test('walletDeployment verifies against the pinned administrator and keeps the serial from going back', async () => {
  const { server, wallet } = await setup();
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

test('register with a v2 invite: the account key proven, the certificate checked and kept, no key-server token', async () => {
  const server = await fakeEscrow();
  const a = account('B');
  const { wallet, deployment } = await reporter.register(ESCROW_URL, `  ${a.invite}\n`, 'Sam', { fetch: server.fetch });
  assert.equal(wallet.account_seed, b64uEncode(a.seed));
  assert.equal(wallet.certificate, b64uEncode(a.certificate));
  assert.equal(wallet.admin_fingerprint, b64uEncode(hx(V2.admin.fingerprint)));
  assert.equal(wallet.min_serial, deployment.serial);
  const sent = server.sent('POST /v2/register');
  assert.equal(sent.length, 1);
  const registered = JSON.parse(sent[0].body);
  assert.deepEqual(Object.keys(registered), ['account_key', 'proof', 'message_key']);
  // the messaging key sent is the one of the wallet's new seed (PROTOCOL.md §13.1), and the server holds it
  assert.equal(registered.message_key, b64uEncode((await messagingKeyPair(b64uDecode(wallet.message_seed, 32))).key));
  assert.equal(wallet.message_key_registered, true);
  assert.equal(server.requests.some((r) => r.url.includes('keyserver-token')), false);
  // the invite is used up
  await assert.rejects(reporter.register(ESCROW_URL, a.invite, 'Sam', { fetch: server.fetch }), (e) => e instanceof ApiError && e.status === 403);
  // a v1 invite is refused by name before anything is sent
  const before = server.requests.length;
  await assert.rejects(reporter.register(ESCROW_URL, 'cnsl1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', 'Sam', { fetch: server.fetch }),
    /protocol v1, it starts with cnsl1\./);
  assert.equal(server.requests.length, before);
  // the new wallet escrows a record
  const record = addRecord(wallet, 'text', '2026-12-01T10:00:00+00:00');
  const session = {
    wallet, api: new EscrowApi(ESCROW_URL, b64uDecode(wallet.token), { fetch: server.fetch }),
    deployment: () => reporter.walletDeployment(wallet, { fetch: server.fetch }), save: async () => {}, storeReceipt: async () => {},
    fetch: server.fetch,
  };
  await reporter.escrow(session, record, [normalise('alex@example.com')]);
  assert.equal(record.escrow.status, 'escrowed');
});

test('a second record naming the same person: 409 already_named, and namedElsewhere finds the record to add to', async () => {
  const { server, wallet, record, session, named } = await setup();
  await reporter.escrow(session, record, named);
  const second = addRecord(wallet, 'another time', '2026-12-01T11:00:00+00:00');
  await assert.rejects(reporter.escrow(session, second, named.slice(1)), (e) => e instanceof ApiError && e.status === 409 && e.code === 'already_named');
  assert.equal(second.escrow, null); // put back as it was: nothing pending for ever
  assert.deepEqual(reporter.namedElsewhere(wallet, named.slice(1), { except: second }).map((h) => [h.record.record_id, h.names]),
    [[record.record_id, ['phone:+442079460958']]]);
  assert.equal(server.entries.size, 1);
});

test('a wallet without an account key is refused before any key server is asked', async () => {
  const { server, wallet, record, session, named } = await setup();
  wallet.account_seed = '';
  await assert.rejects(reporter.escrow(session, record, named), { message: 'this wallet holds no account key; register again with a new invite' });
  assert.equal(server.sent('POST keyserver').length, 0);
});

test('a wallet made before messaging gets its seed when it seals, registers the key once, and a failed registration does not hold up the entry', async () => {
  const { server, wallet, record, session, named } = await setup();
  wallet.message_seed = '';
  wallet.message_key_registered = false;
  server.failNext('PUT /v2/account/message-key', new Response('{"error":"unavailable","detail":"try later"}', { status: 503 }));
  await reporter.escrow(session, record, named);
  assert.match(wallet.message_seed, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(wallet.message_key_registered, false); // tried, refused: tried again next time
  const pair = await messagingKeyPair(b64uDecode(wallet.message_seed, 32));
  const payload = JSON.parse(server.sent('POST /v2/entries')[0].body);
  assert.deepEqual(openBody(b64uDecode(record.escrow.body_key, 32), b64uDecode(record.escrow.entry_id, 16),
    b64uDecode(payload.body)).messagingKey, pair.key);
  await reporter.escrow(session, record, [named[0]]);
  assert.equal(wallet.message_key_registered, true);
  const puts = server.sent('PUT /v2/account/message-key');
  assert.equal(puts.length, 2);
  assert.deepEqual(JSON.parse(puts[1].body), { message_key: b64uEncode(pair.key) });
  assert.equal(server.messageKeys.get('wallet'), b64uEncode(pair.key));
});

test('who read a record: each opening named from the signed document, its receipt checked in the log, a wrong one said so', async () => {
  const { server, record, session, named } = await setup();
  await reporter.escrow(session, record, named);
  const [counselor] = server.deployment.counselors;
  const t = Date.parse('2026-12-01T10:00:00.250Z');
  server.addReading(record.escrow.entry_id, counselor.keyId, t);
  server.addReading(record.escrow.entry_id, counselor.keyId, t + 60_000, { logged: false });
  server.addReading(record.escrow.entry_id, counselor.keyId, t + 120_000, { eventMillis: t + 120_001 });
  server.addReading(record.escrow.entry_id, counselor.keyId, t + 180_000, { eventKeyId: new Uint8Array(16).fill(7) });
  const readers = await talk.readers(session, record);
  assert.deepEqual(readers.map((r) => [r.counselor, r.checked, r.problem]), [
    [counselor.name, true, null],
    [counselor.name, false, null], // not logged yet: no receipt until the next release pass
    [counselor.name, false, 'the receipt is for an opening at another time than the server says'],
    [counselor.name, false, 'the receipt is for an opening by another counselor than the server says'],
  ]);
  assert.equal(readers[0].openedAt, '2026-12-01T10:00:00.250+00:00');
  assert.deepEqual(await talk.readers(session, { escrow: null }), []); // a private record: nobody asked
});

test('refresh seals again, with the same record and names, an entry a counselor of the document cannot open; then nothing more', async () => {
  const { server, record, session, named } = await setup();
  await reporter.escrow(session, record, named);
  const entryId = record.escrow.entry_id;
  const bodyKey = record.escrow.body_key;
  assert.deepEqual((await reporter.refresh(session)).resealed, []); // sealed for every counselor: nothing to do
  assert.equal(server.sent('PUT /v2/entries/' + entryId).length, 0);
  // the server deleted the envelopes of one counselor key (revoked, then listed again, or a new one)
  server.revokedKeyIds.add(b64uEncode(server.deployment.counselors[1].keyId));
  const done = await reporter.refresh(session);
  assert.deepEqual(done.resealed.map((r) => r.record_id), [record.record_id]);
  const [put] = server.sent(`PUT /v2/entries/${entryId}`);
  const payload = JSON.parse(put.body);
  assert.deepEqual(payload.envelopes.map((e) => e.key_id).sort(), server.deployment.counselors.map((c) => b64uEncode(c.keyId)).sort());
  assert.equal(record.escrow.entry_id, entryId);
  assert.equal(record.escrow.body_key, bodyKey); // the same entry, the same body key: a replacement
  assert.deepEqual(record.escrow.canonical, named.map((n) => n.canonical));
  server.revokedKeyIds.clear();
  assert.deepEqual((await reporter.refresh(session)).resealed, []);
  // an answer without sealed_for (a server from before) seals nothing again
  assert.deepEqual(reporter.lackingEnvelopes(session.wallet, new Map([[entryId, { entry_id: entryId, status: 'escrowed' }]]),
    server.deployment), []);
});
