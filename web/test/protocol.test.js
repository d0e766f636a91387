// The protocol-level SDK modules against the Python SDK, through the shared
// vectors (tests/vectors/interop.json "protocol", made by
// tests/vectors/sections/protocol.py): identifiers, Unicode data, entry
// bodies, the signed deployment document, receipts, and the API client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { VECTORS, checkReceiptCases, hx } from './helpers.js';
import { InvalidInput, VerificationError } from '../src/sdk/errors.js';
import { b64uEncode, hexEncode } from '../src/sdk/protocol/encoding.js';
import * as ids from '../src/sdk/protocol/identifiers.js';
import * as body from '../src/sdk/protocol/body.js';
import { V2 } from './v2_vectors.js';

const P = VECTORS.protocol;

// Display strings are for people only (never protocol input). libphonenumber-js
// writes every separator of an international number as a space where Python's
// phonenumbers keeps the metadata's '-' or '.': compare phone displays modulo that.
const phoneDisplay = (s) => s.replace(/[-.]/g, ' ');

function outcome(run) {
  try {
    return run();
  } catch (exc) {
    if (!(exc instanceof InvalidInput)) throw exc;
    return { error: exc.message };
  }
}

test('identifiers: every corpus input gives Python\'s canonical form, OPRF input or refusal', () => {
  const failures = [];
  for (const c of P.identifiers.cases) {
    const got = outcome(() => {
      const i = ids.normalise(c.input, { kind: c.kind ?? null, defaultRegion: c.region ?? null });
      return { canonical: i.canonical, typed: i.typed, oprf_input: hexEncode(i.oprfInput), display: i.display() };
    });
    const want = c.error !== undefined ? { error: c.error }
      : { canonical: c.canonical, typed: c.typed, oprf_input: c.oprf_input, display: c.display };
    if (want.display && want.canonical.startsWith('phone:')) {
      want.display = phoneDisplay(want.display);
      got.display = got.display && phoneDisplay(got.display);
    }
    try {
      assert.deepEqual(got, want);
    } catch {
      failures.push({ input: c.input, kind: c.kind, region: c.region, want, got });
    }
  }
  assert.ok(P.identifiers.cases.length > 5000);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${P.identifiers.cases.length} differ`);
});

test('identifiers: normaliseMany drops repeats and names the failing position', () => {
  for (const c of P.identifiers.many) {
    const got = outcome(() => ({ canonical: ids.normaliseMany(c.inputs, { defaultRegion: c.region }).map((i) => i.canonical) }));
    assert.deepEqual(got, c.error !== undefined ? { error: c.error } : { canonical: c.canonical });
  }
});

test('identifiers: the platform registry is Python\'s, field for field', () => {
  // The data fields only; the parsers are checked by the corpus above.
  const data = (p) => ({
    kind: p.kind, label: p.label, example: p.example, menu_label: p.menuLabel, hint: p.hint,
    menu_position: p.menuPosition, aliases: [...p.aliases], hosts: [...p.hosts], short_hosts: [...p.shortHosts],
    country_subdomains: p.countrySubdomains, pattern: p.pattern, rule: p.rule,
    reserved: [...p.reserved].sort(), tabs: [...p.tabs].sort(), posts: [...p.posts].sort(),
  });
  assert.deepEqual(ids.PLATFORMS.map(data), P.identifiers.platforms);
  assert.deepEqual(ids.PLATFORMS.map((p) => p.kind), [...ids.KINDS]);
  assert.deepEqual(Object.keys(ids.PLATFORMS_BY_KIND), [...ids.KINDS]);
  for (const p of ids.PLATFORMS) {
    assert.equal(ids.PLATFORMS_BY_KIND[p.kind], p);
    // refusals offer the example as the shape to copy: it is the platform's (if too short a name for some)
    const got = outcome(() => ({ kind: ids.normalise(p.example).kind }));
    assert.ok(got.kind === p.kind || got.error.includes(`not a valid ${p.label} name`), p.example);
  }
  assert.equal(ids.PLATFORMS_BY_KIND.constructor, undefined);
  assert.ok(Object.isFrozen(ids.PLATFORMS) && ids.PLATFORMS.every(Object.isFrozen));
  assert.equal(ids.PHONE_EXAMPLE, ids.PLATFORMS_BY_KIND.phone.example);
});

test('identifiers: constants and regions are Python\'s', () => {
  assert.equal(ids.MAX_LENGTH, P.identifiers.max_length);
  assert.deepEqual([...ids.KINDS], P.identifiers.kinds);
  assert.deepEqual([...ids.supportedRegions()].sort(), P.unicode.regions);
  assert.throws(() => ids.normalise(5), /an identifier must be text/);
  const i = ids.normalise('Dana.Smith@Example.com');
  assert.deepEqual(i.toJSON(), { typed: 'Dana.Smith@Example.com', kind: 'email', canonical: 'email:dana.smith@example.com',
    display: 'email dana.smith@example.com' });
});

function digest(lines) {
  const h = createHash('sha256');
  for (const line of lines) h.update(line + '\n');
  return h.digest('hex');
}
const hex = (cp) => cp.toString(16);
const cpsOf = (s) => Array.from(s, (c) => hex(c.codePointAt(0))).join('.');
function* assignedNotC() {
  for (let cp = 0; cp < 0x110000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (!ids.isCategoryC(String.fromCodePoint(cp))) yield cp;
  }
}

test('unicode: lower-casing, NFKC, letters/numbers, digits, spaces and printability match Python per code point', () => {
  const cps = [...assignedNotC()];
  const ch = (cp) => String.fromCodePoint(cp);
  assert.equal(digest(cps.map((cp) => `${hex(cp)}:${cpsOf(ch(cp).toLowerCase())}`)), P.unicode.lower, 'lower');
  assert.equal(digest(cps.map((cp) => `${hex(cp)}:${cpsOf(ch(cp).normalize('NFKC'))}`)), P.unicode.nfkc, 'NFKC');
  assert.equal(digest(cps.filter((cp) => /^[\p{L}\p{N}]$/u.test(ch(cp))).map(hex)), P.unicode.alnum, 'isalnum');
  assert.equal(digest(cps.filter((cp) => /^\p{Nd}$/u.test(ch(cp))).map((cp) => `${hex(cp)}:${ids._internals.digitValue(ch(cp))}`)),
    P.unicode.decimal, 'decimal digits');
  const all = [];
  for (let cp = 0; cp < 0x110000; cp++) all.push(cp);
  const str = (cp) => (cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : ch(cp));
  assert.equal(digest(all.filter((cp) => ids._internals.isSpace(str(cp))).map(hex)), P.unicode.space, 'isspace');
  assert.equal(digest(all.filter((cp) => ids._internals.isPrintable(str(cp))).map(hex)), P.unicode.printable, 'isprintable');
});

test('unicode: nameprep (IDNA2003, Unicode 3.2) matches Python per code point, refusing only where unsure', () => {
  const lines = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    const s = cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
    let result;
    try {
      result = cpsOf(ids.nameprep(s));
    } catch (exc) {
      if (exc instanceof ids._internals.IdnaGap) continue;
      if (!(exc instanceof ids._internals.IdnaError)) throw exc;
      result = '!';
    }
    lines.push(`${hex(cp)}:${result}`);
  }
  assert.equal(digest(lines), P.unicode.nameprep);
  for (const { text, ascii } of P.unicode.punycode) {
    assert.equal(ids.punycodeEncode(text), ascii);
    assert.equal(ids.punycodeDecode(ascii), text);
  }
});

test('body: exact bytes of Python\'s Body.to_bytes, structured or not', () => {
  for (const v of V2.bodies.valid) {
    const f = v.fields;
    const b = body.makeBody({ record: f.record, identifiers: f.identifiers, canonical: f.canonical, contact: f.contact,
      writtenAt: f.written_at, details: f.details, attachments: f.attachments });
    assert.equal(hexEncode(body.bodyBytes(b)), v.bytes);
    const parsed = body.parseBody(hx(v.bytes));
    assert.equal(parsed.record, f.record);
    assert.deepEqual(parsed.details, f.details);
    assert.deepEqual(parsed.attachments.map((a) => ({ name: a.name, type: a.type, data: body.attachmentJson(a).data })),
      f.attachments);
    assert.equal(hexEncode(body.bodyBytes(parsed)), v.bytes);
  }
  for (const r of V2.bodies.refused) {
    assert.throws(() => body.parseBody(hx(r.bytes)), (e) => e instanceof InvalidInput && e.message === r.message, r.bytes);
  }
});

test('body: only filled details are written; empty records are refused; lone surrogates are refused', () => {
  const base = { record: 'r', identifiers: [], canonical: [], contact: 'c', writtenAt: 'w' };
  assert.equal(body.makeBody({ ...base, details: { what: '', when: undefined } }).details, null);
  assert.deepEqual(body.makeBody({ ...base, details: { what: 'x', where: '' } }).details, { what: 'x' });
  assert.throws(() => body.makeBody({ ...base, details: { who: 'x' } }), InvalidInput);
  assert.throws(() => body.bodyBytes(body.makeBody({ ...base, record: 'a\ud800' })), InvalidInput);
  const big = { name: 'big.jpg', type: 'image/jpeg', data: new Uint8Array(body.MAX_ATTACHMENT_BYTES + 1) };
  assert.throws(() => body.checkBodySize(body.makeBody({ ...base, attachments: [big] })), /at most/);
  const ok = { ...big, data: new Uint8Array(body.MAX_ATTACHMENT_BYTES - 4096) };
  body.checkBodySize(body.makeBody({ ...base, attachments: [ok] }));
});

// --- deployment ---------------------------------------------------------------

import { verifyDeployment, adminFingerprint } from '../src/sdk/protocol/deployment.js';
import { ApiError, EscrowApi, fetchDeployment } from '../src/sdk/clients/api.js';
import { parseLeaf } from '../src/sdk/protocol/events.js';
import { parseReceipt } from '../src/sdk/tlog/receipt.js';
import { expectedContent } from '../src/sdk/clients/receipts.js';
import { leafHash, verifyInclusion } from '../src/sdk/tlog/merkle.js';
import { ed25519Vkey, keyId, parseVkey } from '../src/sdk/tlog/signed_note.js';
import { b64uDecode } from '../src/sdk/protocol/encoding.js';

test('deployment v2: verified like Python, exposing what the UI needs', async () => {
  const e = V2.deployment_expected;
  const d = await verifyDeployment(V2.published, hx(V2.admin.fingerprint));
  assert.equal(d.serial, V2.deployment.serial);
  assert.equal(d.quorum, V2.deployment.quorum);
  assert.deepEqual(d.quorumRange, { low: V2.deployment.quorum, high: V2.deployment.max_quorum });
  assert.equal(d.threshold, V2.deployment.threshold);
  assert.equal(d.escrowUrl, e.escrow_url);
  assert.equal(hexEncode(d.oprfPublicKey), e.oprf_public_key);
  assert.deepEqual(d.keyservers.map((s) => ({ index: s.index, url: s.url, public_share: hexEncode(s.publicShare),
    identity_key: hexEncode(s.identityKey), hpke_public_key: hexEncode(s.hpkePublicKey) })), e.key_servers);
  assert.deepEqual(d.counselors.map((c) => ({ name: c.name, key_id: hexEncode(c.keyId), public_key: hexEncode(c.publicKey) })), e.counselors);
  assert.deepEqual({ origin: d.log.origin, public_key: hexEncode(d.log.publicKey), vkey: d.log.vkey, witnesses: d.log.witnesses }, e.log);
  assert.equal(hexEncode(adminFingerprint(d.adminKey)), V2.admin.fingerprint);
  // the pin may be given as the b64u the wallet stores; the serial may not go back
  assert.equal((await verifyDeployment(V2.published, e.fingerprint_b64u, { minSerial: d.serial })).serial, d.serial);
  await assert.rejects(verifyDeployment(V2.published, e.fingerprint_b64u, { minSerial: d.serial + 1 }),
    { message: `deployment serial ${d.serial} is older than one already seen (${d.serial + 1})` });
  await assert.rejects(verifyDeployment(V2.published, new Uint8Array(16)), { message: 'deployment signed by a different administrator than the one pinned' });
  await assert.rejects(verifyDeployment([], hx(V2.admin.fingerprint)), /a published deployment document is a JSON object/);
});

function fakeFetch(routes) {
  const calls = [];
  const fn = async (url, init) => {
    calls.push({ url, init });
    const route = routes[`${init.method} ${new URL(url, 'http://x').pathname}`];
    if (!route) return new Response(JSON.stringify({ error: 'not_found', detail: 'no route' }), { status: 404 });
    return route(url, init);
  };
  fn.calls = calls;
  return fn;
}

test('deployment: fetched from the escrow server and checked against the pin', async () => {
  const fetch = fakeFetch({ 'GET /v2/deployment': () => Response.json(V2.published) });
  const d = await fetchDeployment('https://escrow.example/', V2.deployment_expected.fingerprint_b64u, 0, { fetch });
  assert.equal(d.serial, V2.deployment.serial);
  assert.equal(fetch.calls[0].url, 'https://escrow.example/v2/deployment');
  await assert.rejects(fetchDeployment('https://escrow.example', V2.deployment_expected.fingerprint_b64u, 9, { fetch }),
    /older than one already seen \(9\)/);
});

// --- receipts -----------------------------------------------------------------

/**
 * The log of interop.json's (v1) deployment document, which its receipt vectors were made
 * under: read without verifying the v1 document (a v2 SDK refuses it; the log's formats
 * are the same in both).
 */
function logOfV1Document() {
  const doc = JSON.parse(new TextDecoder().decode(b64uDecode(P.deployment.published.document)));
  const publicKey = b64uDecode(doc.log.public_key, 32);
  return { log: { origin: doc.log.origin, publicKey, vkey: ed25519Vkey(doc.log.origin, publicKey), witnesses: doc.log.witnesses } };
}

test('receipts v2: the leaf a commitment, its opening in the extra line; checked like clients/receipts.check, with the same refusals', async () => {
  const R = V2.receipts;
  const d = await verifyDeployment(V2.published, hx(V2.admin.fingerprint));
  assert.equal(d.log.vkey, R.log_vkey);
  assert.equal(hexEncode(expectedContent(R.payload)), R.content);
  checkReceiptCases(R.cases, d);
});

test('merkle: every inclusion proof of the test log verifies, and fails when moved', () => {
  const M = P.receipts.merkle;
  const leaves = M.leaves.map(hx);
  for (const p of M.proofs) {
    const proof = p.proof.map(hx);
    verifyInclusion(leafHash(leaves[p.index]), p.index, p.size, proof, hx(p.root));
    if (p.size > 1) {
      assert.throws(() => verifyInclusion(leafHash(leaves[p.index]), (p.index + 1) % p.size, p.size, proof, hx(p.root)), VerificationError);
    }
  }
  assert.throws(() => verifyInclusion(leafHash(leaves[0]), 8, 8, [], hx(M.root)), /not below the tree size/);
  assert.throws(() => verifyInclusion(leafHash(leaves[0]), 0, 8, [], hx(M.root)), /shorter than the path/);
});

test('signed notes: vkeys and key ids as Python makes them', async () => {
  const d = logOfV1Document();
  assert.equal(ed25519Vkey(d.log.origin, d.log.publicKey), P.receipts.notes.vkey);
  assert.equal(hexEncode(keyId(d.log.origin, 1, d.log.publicKey)), P.receipts.notes.key_id);
  const w = parseVkey(P.receipts.notes.witness_vkey);
  assert.equal(w.sigType, 4);
  assert.throws(() => parseVkey(P.receipts.notes.vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')), /key ID does not match/);
  assert.throws(() => parseReceipt('nope'), /no empty line/);
  assert.throws(() => parseLeaf(Uint8Array.of(9)), /unknown log event kind/);
});

// --- API client ------------------------------------------------------------------

test('api: every route and method the Python client uses, with the bearer token', async () => {
  const token = Uint8Array.from({ length: 32 }, (_, i) => i);
  const id = 'AAECAwQFBgcICQoLDA0ODw';
  const answer = (body, status = 200) => () => new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  const fetch = fakeFetch({
    'POST /v2/register': answer({ account_id: id, token: 'dG9r', certificate: 'Y2VydA' }, 201),
    'POST /v2/entries': answer({ entry_id: id, status: 'escrowed', received_at: 'now' }, 201),
    [`PUT /v2/entries/${id}`]: answer({ entry_id: id, status: 'escrowed', received_at: 'now' }),
    'GET /v2/entries': answer([]),
    [`GET /v2/entries/${id}`]: answer({ entry_id: id }),
    [`GET /v2/entries/${id}/receipt`]: answer({ entry_id: id, receipt: 'r' }),
    [`DELETE /v2/entries/${id}`]: answer({ entry_id: id, status: 'withdrawn' }),
    'GET /v2/log/checkpoint': answer('origin\n1\nAAAA\n\n— sig\n'),
    'GET /v2/log/consistency': answer({ old: 1, new: 2, proof: [] }),
    'POST /v2/log/cosignatures': answer('', 201),
    'GET /v2/matches': answer([]),
    [`GET /v2/matches/${id}`]: answer({ match_id: id, tag: 't', entries: [] }),
  });
  const api = new EscrowApi('https://escrow.example/', token, { fetch });
  assert.deepEqual(await api.register(new Uint8Array(32), new Uint8Array(64)), { accountId: id, token: 'dG9r', certificate: 'Y2VydA' });
  assert.deepEqual(JSON.parse(fetch.calls[0].init.body), { account_key: b64uEncode(new Uint8Array(32)), proof: b64uEncode(new Uint8Array(64)) });
  assert.equal('keyserverToken' in api, false);
  const payload = { entry_id: id, quorum: 2 };
  assert.equal((await api.submit(payload)).status, 'escrowed');
  assert.equal((await api.send(payload, { replace: true })).status, 'escrowed');
  assert.deepEqual(await api.entries(), []);
  assert.equal((await api.entry(id)).entry_id, id);
  assert.equal((await api.receipt(b64uDecode(id))).receipt, 'r');
  assert.equal((await api.withdraw(id)).status, 'withdrawn');
  assert.match(await api.checkpoint(5), /^origin/);
  assert.equal((await api.consistency(1, 2)).new, 2);
  assert.equal(await api.cosign(2, '— w x'), null);
  assert.deepEqual(await api.matches(), []);
  assert.equal((await api.match(id)).match_id, id);
  const seen = fetch.calls.map((c) => `${c.init.method} ${c.url}`);
  assert.ok(seen.includes('GET https://escrow.example/v2/log/checkpoint?size=5'));
  assert.ok(seen.includes('GET https://escrow.example/v2/log/consistency?old=1&new=2'));
  assert.ok(seen.includes(`PUT https://escrow.example/v2/entries/${id}`));
  for (const c of fetch.calls) assert.equal(c.init.headers.Authorization, `Bearer ${b64uEncode(token)}`);
  assert.equal(JSON.parse(fetch.calls[1].init.body).quorum, 2);
  assert.equal(new EscrowApi('', null, { fetch }).token, null);
});

test('api: error answers become ApiError with status, detail and Retry-After', async () => {
  const fetch = fakeFetch({
    'POST /v2/entries': () => new Response(JSON.stringify({ error: 'rate_limited', detail: 'too many entry changes' }),
      { status: 429, headers: { 'Retry-After': '17' } }),
    'GET /v2/entries': () => new Response(JSON.stringify({ error: 'stale_deployment', detail: 'fetch it again', current_serial: 4 }),
      { status: 409 }),
    'GET /v2/matches': () => new Response('<html>bad gateway</html>', { status: 502 }),
  });
  const api = new EscrowApi('https://escrow.example', 'dG9r', { fetch });
  await assert.rejects(api.submit({}), (e) => e instanceof ApiError && e.status === 429 && e.retryAfter === 17
    && e.message === 'server answered 429 (rate_limited): too many entry changes (try again in 17 s)');
  await assert.rejects(api.entries(), (e) => e.status === 409 && e.currentSerial === 4 && e.detail === 'fetch it again');
  await assert.rejects(api.matches(), (e) => e.status === 502 && e.code === 'error' && e.detail === '<html>bad gateway</html>');
  await assert.rejects(api.match('AAECAwQFBgcICQoLDA0ODw'), (e) => e.status === 404 && e.code === 'not_found');
  const down = new EscrowApi('https://escrow.example', null, { fetch: async () => { throw new TypeError('fetch failed'); } });
  await assert.rejects(down.deployment(), (e) => e.status === 0 && e.code === 'unreachable' && /fetch failed/.test(e.message));
});
