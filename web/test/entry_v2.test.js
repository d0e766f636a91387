// Protocol v2 in the browser SDK against tests/vectors/entry_v2_interop.json, the values the
// Python SDK wrote (tests/vectors/make_entry_v2.py): accounts and certificates, signed
// key-server requests, v2 invites, the v2 deployment document with its key-generation
// confirmations and every refusal, the key-server round trip with a lying and a missing key
// server, sealing, and opening Python's entries (bogus shares named, the GT encoding and the
// wrap key of one opening). The other direction (JS seals, Python opens) is web/test/cli/seal_v2.js
// with tests/protocol/test_entry_v2_interop.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hx } from './helpers.js';
import { V2, account, deployment, keyServers, lieAt, abscissa } from './v2_vectors.js';
import { ConsilienceError, InvalidInput, VerificationError } from '../src/sdk/errors.js';
import { b64uDecode, b64uEncode, hexEncode as hex } from '../src/sdk/protocol/encoding.js';
import * as accounts from '../src/sdk/protocol/accounts.js';
import * as evaluation from '../src/sdk/protocol/evaluation.js';
import * as bls from '../src/sdk/crypto/bls12381.js';
import * as qm from '../src/sdk/protocol/quorum.js';
import { parseInvite, formatInvite, INVITE_OLD_VERSION } from '../src/sdk/protocol/invites.js';
import { FORMAT, SIGNING_PREFIX, V1_REFUSAL, quorumParameters, verifyDeployment, NOT_READY, dkgParametersOf } from '../src/sdk/protocol/deployment.js';
import { commitmentsDigest, parseConfirmation } from '../src/sdk/protocol/dkg.js';
import { BODY_AAD, ENVELOPE_INFO, WRAP_AAD, encodeEnvelope, envelopeInfo, parseEnvelope, sealEntry, wrapContext } from '../src/sdk/protocol/entry.js';
import { matchedEntryFromJson, openMatch, abscissaLabel } from '../src/sdk/protocol/release.js';
import { matchTag } from '../src/sdk/protocol/matching.js';
import * as hpke from '../src/sdk/crypto/hpke.js';
import { evaluate, KeyServerUnavailable } from '../src/sdk/clients/oprf_client.js';

const te = (s) => new TextEncoder().encode(s);
const M = V2.match;
const counselor = V2.counselors[M.counselor];

test('constants are the Python labels', () => {
  const C = V2.constants;
  assert.equal(new TextDecoder().decode(accounts.CERTIFICATE_LABEL), C.certificate_label);
  assert.equal(new TextDecoder().decode(accounts.REGISTER_LABEL), C.register_label);
  assert.equal(new TextDecoder().decode(evaluation.LABEL), C.evaluate_label);
  assert.equal(new TextDecoder().decode(BODY_AAD), C.body_aad);
  assert.equal(new TextDecoder().decode(WRAP_AAD), C.wrap_aad);
  assert.equal(new TextDecoder().decode(ENVELOPE_INFO), C.envelope_info);
  assert.equal(FORMAT, C.deployment_format);
  assert.equal(new TextDecoder().decode(SIGNING_PREFIX), C.signing_prefix);
  assert.equal(V1_REFUSAL, C.v1_refusal);
  assert.equal(INVITE_OLD_VERSION, C.invite_old_version);
});

test('accounts: account key, certificate, registration proof and abscissa as Python makes them', () => {
  const d = hx(V2.deployment.deployment_id);
  const admin = hx(V2.admin.seed);
  for (const a of V2.accounts) {
    const seed = hx(a.seed);
    assert.equal(hex(accounts.accountKey(seed)), a.account_key);
    assert.equal(hex(accounts.issueCertificate(admin, d, hx(a.account_key), { now: a.issued_at })), a.certificate);
    const cert = accounts.verifyCertificate(hx(V2.admin.public_key), d, hx(a.certificate));
    assert.equal(hex(cert.accountKey), a.account_key);
    assert.equal(cert.issuedAt, a.issued_at);
    assert.equal(hex(accounts.registrationProof(seed, d)), a.proof);
    accounts.verifyRegistration(hx(a.account_key), d, hx(a.proof));
    assert.throws(() => accounts.verifyRegistration(hx(a.account_key), new Uint8Array(16), hx(a.proof)),
      { message: "the registration is not signed by the invite's account key" });
    assert.equal(formatInvite(seed, hx(V2.admin.fingerprint)), a.invite);
    for (const s of Object.values(V2.key_servers)) assert.equal(hex(bls.scalarToBytes(abscissa(hx(s.abscissa_key), d, hx(a.account_key)))), a.abscissa);
  }
  for (const c of V2.certificate_refusals) {
    assert.throws(() => accounts.verifyCertificate(hx(V2.admin.public_key), hx(c.deployment_id), hx(c.certificate)),
      (e) => e.constructor.name === c.error && e.message === c.message, c.what);
  }
});

test('evaluation: the signed bytes and the signature of a request are Python\'s', () => {
  const R = V2.request;
  const blinded = R.blinded.map(hx);
  const points = R.points.map(hx);
  assert.equal(hex(evaluation.signedBytes(hx(R.deployment_id), hx(R.audience), R.issued_at, hx(R.nonce), blinded, points)), R.signed_bytes);
  const req = evaluation.makeRequest(hx(R.seed), hx(R.certificate), hx(R.deployment_id), hx(R.audience), blinded, points,
    { now: R.issued_at, nonce: hx(R.nonce) });
  assert.equal(hex(req.signature), R.signature);
  const json = evaluation.requestJson(req);
  assert.deepEqual(Object.keys(json), ['certificate', 'audience', 'issued_at', 'nonce', 'blinded', 'points', 'signature']);
  const check = { adminPublic: hx(V2.admin.public_key), deploymentId: hx(R.deployment_id), audience: hx(R.audience), now: R.issued_at };
  assert.equal(hex(evaluation.verifyRequest(req, check).accountKey), V2.accounts[0].account_key);
  assert.throws(() => evaluation.verifyRequest(req, { ...check, audience: new Uint8Array(32) }), { message: 'this request is meant for another key server' });
  assert.throws(() => evaluation.verifyRequest(req, { ...check, now: R.issued_at + 121 }), /too old or from the future/);
  assert.throws(() => evaluation.verifyRequest({ ...req, points: [points[1], points[0]] }, check),
    { message: 'the request is not signed by the certified account key' });
  assert.throws(() => evaluation.signedBytes(hx(R.deployment_id), hx(R.audience), 1, hx(R.nonce), [], []), InvalidInput);
});

test('invites: cnsl2 parsed as Python parses it; cnsl1 refused by name, with Python\'s messages', () => {
  for (const c of V2.invites) {
    if (c.error === null) {
      const got = parseInvite(c.text);
      assert.equal(hex(got.seed), c.seed);
      assert.equal(hex(got.adminFingerprint), c.admin_fingerprint);
    } else {
      assert.throws(() => parseInvite(c.text), (e) => e instanceof InvalidInput && e.message === c.error, JSON.stringify(c.text));
    }
  }
});

test('deployment v2: verified with its quorum keys; the key servers\' identity and HPKE keys exposed', async () => {
  const d = await deployment();
  assert.equal(hex(d.deploymentId), V2.deployment.deployment_id);
  assert.equal(d.serial, V2.deployment.serial);
  assert.equal(d.keyEpoch, V2.deployment.key_epoch);
  assert.equal(d.ready, true);
  assert.equal(d.threshold, V2.deployment.threshold);
  assert.deepEqual(d.quorumRange, { low: V2.deployment.quorum, high: V2.deployment.max_quorum });
  for (const s of d.keyservers) {
    assert.equal(s.identityKey.length, 32);
    assert.equal(s.hpkePublicKey.length, hpke.PUBLIC_KEY_BYTES);
  }
  const params = quorumParameters(d);
  assert.equal(params, quorumParameters(d), 'checked once per document');
  assert.deepEqual([...params.levels.keys()], [2, 3, 4]);
  assert.equal('tokenIssuerKey' in d, false);
});

test('deployment v2: every refusal of Python, with its message; before the key generation, accepted but not ready', async () => {
  for (const c of V2.deployment_refusals) {
    if (c.error === null) {
      const d = await verifyDeployment(c.published, hx(V2.admin.fingerprint));
      assert.equal(d.quorumKeys, null);
      assert.equal(d.ready, false);
      assert.throws(() => quorumParameters(d), { message: NOT_READY });
      continue;
    }
    await assert.rejects(verifyDeployment(c.published, hx(V2.admin.fingerprint)),
      (e) => e.constructor.name === c.error && e.message === c.message, c.what);
  }
});

test('opening Python\'s entries: opened, failed and bogus as release.py found them; abscissas, not account ids', async () => {
  const d = await deployment();
  const tag = b64uDecode(M.tag, 32);
  const entries = M.entries.map(matchedEntryFromJson);
  assert.equal('accountId' in entries[0], false);
  for (let round = 0; round < 3; round++) { // anchors are shuffled: the result must not depend on the order
    const got = await openMatch(tag, entries, hx(counselor.seed), hx(counselor.key_id), d);
    assert.deepEqual(got.opened.map((o) => ({
      entry_id: b64uEncode(o.entryId), abscissa: hex(o.abscissa), quorum: o.quorum, record: o.body.record,
      contact: o.body.contact, canonical: o.body.canonical,
    })), M.expected.opened);
    assert.deepEqual(got.failed, M.expected.failed);
    assert.deepEqual([...got.bogus].sort(), M.expected.bogus);
  }
  const label = abscissaLabel(hx(M.expected.opened[0].abscissa));
  assert.equal(label, M.expected.opened[0].abscissa.slice(0, 16));
});

test('one opening step by step: S = F_q(0)·P*, the 576-byte GT(e(S, U)), the 166-byte context and W', async () => {
  const d = await deployment();
  const O = M.opening;
  const tag = b64uDecode(M.tag, 32);
  const secret = { q: O.q, point: bls.g1FromBytes(hx(O.secret)) };
  const gt = bls.gtToBytes(bls.pairing(secret.point, bls.g2FromBytes(hx(O.u))));
  assert.equal(gt.length, bls.GT_BYTES);
  assert.equal(hex(gt), O.gt);
  const context = wrapContext(d.deploymentId, d.keyEpoch, b64uDecode(O.entry_id, 16), 0, tag);
  assert.equal(hex(qm.encodeWrapContext(context, O.q, hx(O.u))), O.context);
  assert.equal(hex(qm.unwrap(secret, hx(O.u), context)), O.wrap_key);
  // and the class JS finds on entry A's share recovers the same S
  const entries = M.entries.map(matchedEntryFromJson);
  const contents = [];
  for (const e of entries) {
    contents.push(parseEnvelope(await hpke.open(hx(counselor.seed), e.envelope, envelopeInfo(e.entryId, hx(counselor.key_id)))));
  }
  const sec = (c) => c.sections.find((s) => hex(s.tag) === hex(tag));
  const anchorIndex = M.entries.findIndex((e) => e.entry_id === O.entry_id);
  const cand = (k) => qm.candidate(entries[k].entryId, sec(contents[k]).x, sec(contents[k]).shares.get(O.q));
  const cls = qm.openClass(cand(anchorIndex), contents.map((_, k) => k).filter((k) => k !== anchorIndex).map(cand),
    quorumParameters(d).level(O.q));
  assert.equal(hex(bls.g1ToBytes(cls.secret().point)), O.secret);
  // the envelope layout round-trips byte for byte
  const plain = await hpke.open(hx(counselor.seed), entries[0].envelope, envelopeInfo(entries[0].entryId, hx(counselor.key_id)));
  assert.equal(hex(encodeEnvelope(parseEnvelope(plain))), hex(plain));
  assert.throws(() => parseEnvelope(Uint8Array.of(1, ...plain.slice(1))), { message: 'envelope: a protocol v1 envelope; this software opens protocol v2 envelopes only' });
});

const ids = () => ['target', 'other'].map((k) => ({ typed: V2.identifiers[k][0], canonical: V2.identifiers[k][1],
  oprfInput: te(V2.identifiers[k][1]) }));

function fetchVia(servers) {
  return async (url, init) => {
    const got = await servers.answer(String(url), init);
    if (got === null) throw new TypeError(`no route ${url}`);
    return got;
  };
}

test('key servers: one signed request each, to its own identity key, in parallel; VOPRF outputs and checked shares', async () => {
  const d = await deployment();
  const a = account('B');
  const servers = keyServers(d);
  const got = await evaluate(d, ids().map((i) => i.oprfInput), a, { fetch: fetchVia(servers) });
  assert.deepEqual(got.used, [1, 2]);
  assert.deepEqual(got.skipped, {});
  assert.equal(hex(bls.scalarToBytes(got.x)), a.abscissa);
  ids().forEach((i, k) => assert.equal(hex(got.outputs[k]), V2.oprf_outputs[i.canonical]));
  assert.deepEqual(servers.requests.map((r) => r.index), [1, 2]);
  for (const r of servers.requests) assert.equal(hex(r.request.audience), hex(d.keyservers[r.index - 1].identityKey));
  assert.notEqual(hex(servers.requests[0].request.nonce), hex(servers.requests[1].request.nonce));
  // a request replayed to another key server is refused there
  const replay = servers.requests[0].request;
  const other = await servers.answer(`${d.keyservers[2].url}/v2/evaluate`, { body: JSON.stringify(evaluation.requestJson(replay)) });
  assert.equal(other.status, 401);
  assert.match((await other.json()).detail, /meant for another key server/);
});

test('key servers: a lying one is named and another asked; one down is skipped; too few is KeyServerUnavailable', async () => {
  const d = await deployment();
  const a = account('C');
  let servers = keyServers(d, { lies: new Map([[1, lieAt(3, d)]]) });
  let got = await evaluate(d, ids().map((i) => i.oprfInput), a, { fetch: fetchVia(servers) });
  assert.deepEqual(got.used, [2, 3]);
  assert.match(got.skipped[1], /^gave quorum shares that do not check \(its answers do not match its published commitments\)$/);
  assert.deepEqual(servers.requests.map((r) => r.index), [1, 2, 3]);
  // another abscissa from server 2: servers 1 and 3 agree and win
  servers = keyServers(d, { lies: new Map([[2, (doc) => ({ ...doc, abscissa: b64uEncode(bls.scalarToBytes(5n)) })]]) });
  got = await evaluate(d, ids().map((i) => i.oprfInput), a, { fetch: fetchVia(servers) });
  assert.deepEqual(got.used, [1, 3]);
  assert.equal(got.skipped[2], 'gave this account another abscissa than the key servers whose shares check');
  // a bad VOPRF proof
  servers = keyServers(d, { lies: new Map([[1, (doc) => ({ ...doc, proof: b64uEncode(new Uint8Array(64)) })]]) });
  got = await evaluate(d, ids().map((i) => i.oprfInput), a, { fetch: fetchVia(servers) });
  assert.deepEqual(got.used, [2, 3]);
  assert.match(got.skipped[1], /proof that does not verify/);
  // one down
  servers = keyServers(d, { down: new Set([2]) });
  got = await evaluate(d, ids().map((i) => i.oprfInput), a, { fetch: fetchVia(servers) });
  assert.deepEqual(got.used, [1, 3]);
  assert.equal(got.skipped[2], 'could not be reached (TypeError)');
  // two bad: nothing
  servers = keyServers(d, { down: new Set([2]), lies: new Map([[1, lieAt(2, d)]]) });
  await assert.rejects(evaluate(d, ids().map((i) => i.oprfInput), a, { fetch: fetchVia(servers) }), (e) => {
    assert.ok(e instanceof KeyServerUnavailable);
    assert.deepEqual(Object.keys(e.skipped).sort(), ['1', '2']);
    assert.equal(e.unreachable[0].index, 2);
    assert.match(e.message, /^Too few of the deployment's key servers answered \(1 of the 2 needed\)/);
    return true;
  });
});

test('sealing in JS: Python\'s layout, every level\'s share, a fresh U each time; JS opens what it sealed with Python\'s entries', async () => {
  const d = await deployment();
  const named = ids();
  const sealedBy = [];
  for (const label of ['D', 'G']) { // two more accounts name the target and the other person at quorum 3
    const a = account(label);
    const ev = await evaluate(d, named.map((i) => i.oprfInput), a, { fetch: fetchVia(keyServers(d)) });
    const sealed = await sealEntry({ deployment: d, identifiers: named, oprfOutputs: ev.outputs, quorumShares: ev.shares,
      record: `js record ${label}`, contact: 'js contact', quorum: 3, writtenAt: V2.written_at });
    sealedBy.push(sealed);
    assert.deepEqual(sealed.tags.map(hex), ev.outputs.map((y) => hex(matchTag(y))));
    const env = sealed.envelopes.find((e) => hex(e.keyId) === counselor.key_id);
    const content = parseEnvelope(await hpke.open(hx(counselor.seed), env.ciphertext, envelopeInfo(sealed.entryId, env.keyId)));
    assert.equal(content.keyEpoch, d.keyEpoch);
    assert.deepEqual([...content.sections[0].shares.keys()], [2, 3, 4]);
    assert.equal(hex(bls.scalarToBytes(content.sections[0].x)), a.abscissa);
    assert.notEqual(hex(content.sections[0].u), hex(content.sections[1].u));
  }
  // The "other" person: Python's B named it (quorum 2); with D and G (JS, quorum 3) there are three accounts.
  const otherTag = sealedBy[0].tags[1];
  const fromPython = M.entries.filter((e) => e.canonical.includes(V2.identifiers.other[1])).map(matchedEntryFromJson);
  const fromJs = sealedBy.map((s) => ({
    entryId: s.entryId, quorum: 3, released: true, body: s.body,
    envelope: s.envelopes.find((e) => hex(e.keyId) === counselor.key_id).ciphertext,
  }));
  const got = await openMatch(otherTag, [...fromPython.map((e) => ({ ...e, released: false })), ...fromJs], hx(counselor.seed), hx(counselor.key_id), d);
  assert.deepEqual(got.opened.map((o) => o.body.record), ['js record D', 'js record G']);
  assert.deepEqual(got.bogus, []);
  // below quorum: only the two JS entries
  const below = await openMatch(otherTag, fromJs, hx(counselor.seed), hx(counselor.key_id), d);
  assert.deepEqual(below.opened, []);
  assert.match(Object.values(below.failed)[0], /only 2 distinct accounts' shares agree with its own; quorum 3 needs 3/);
  await assert.rejects(sealEntry({ deployment: d, identifiers: named, oprfOutputs: [new Uint8Array(64)], quorumShares: [], record: 'x', contact: 'y' }),
    { message: 'one OPRF output and one set of quorum shares per identifier are required' });
});

test('dkg confirmations: parsed as dkg.parse reads them, with the commitments digest they sign; refusals with Python\'s messages', async () => {
  const d = await deployment();
  const C = V2.confirmations;
  const params = dkgParametersOf(d, C.epoch);
  assert.equal(hex(params.digest), C.parameters_digest);
  const keys = d.quorumKeys;
  const shares = new Map(keys.qualified.map((i) => [i, d.keyservers.find((s) => s.index === i).publicShare]));
  assert.equal(hex(commitmentsDigest(keys.levels, keys.servers, d.oprfPublicKey, shares, keys.abscissaCheck)), C.commitments_digest);
  assert.deepEqual(keys.confirmations.map((c) => {
    const m = parseConfirmation(params, c);
    return { author: m.author, transcript: hex(m.transcript), qualified: m.qualified, commitments: hex(m.commitments),
      abscissa_check: hex(m.abscissaCheck) };
  }), C.parsed);
  assert.ok(C.parsed.every((m) => m.commitments === C.commitments_digest && m.abscissa_check === hex(keys.abscissaCheck)));
  for (const r of C.refused) {
    assert.throws(() => parseConfirmation(params, hx(r.hex)), (e) => e.constructor.name === r.error && e.message === r.message, r.what);
  }
});
