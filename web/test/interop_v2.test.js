// The browser SDK against the protocol v2 sections of tests/vectors/interop.json (written by
// tests/vectors/make_interop.py; tests/test_interop_vectors.py checks the Python SDK against the
// same file): cnsl2 invites, the v2 deployment document (one recorded key generation) and its
// refusals, account certificates and registration proofs, signed /v2/evaluate requests with the
// key servers' answers combined (a lying key server named), the DKG parameters and commitments
// digests, log events with openings and commitment leaves, v2 receipts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { VECTORS, checkReceiptCases, hx } from './helpers.js';
import { InvalidInput } from '../src/sdk/errors.js';
import { b64uDecode, b64uEncode, hexEncode as hex } from '../src/sdk/protocol/encoding.js';
import { parseInvite, formatInvite, INVITE_EMPTY, INVITE_MISTYPED, INVITE_IS_CREDENTIAL, INVITE_OLD_VERSION } from '../src/sdk/protocol/invites.js';
import { verifyDeployment, quorumParameters, dkgParametersOf, publicShares } from '../src/sdk/protocol/deployment.js';
import { RESHARE, commitmentsDigest, parseConfirmation } from '../src/sdk/protocol/dkg.js';
import * as accounts from '../src/sdk/protocol/accounts.js';
import * as evaluation from '../src/sdk/protocol/evaluation.js';
import * as qm from '../src/sdk/protocol/quorum.js';
import * as bls from '../src/sdk/crypto/bls12381.js';
import * as oprf from '../src/sdk/crypto/oprf.js';
import { combineVerified, verifyPartial } from '../src/sdk/crypto/threshold_oprf.js';
import { matchTag } from '../src/sdk/protocol/matching.js';
import { CONTENT_LABEL, LEAF_LABEL, commit, parseEvent, parseOpening } from '../src/sdk/protocol/events.js';
import { expectedContent } from '../src/sdk/clients/receipts.js';

const P = VECTORS.protocol;
const sha = (b) => createHash('sha256').update(b).digest('hex');
const fromJson = (j) => ({
  certificate: b64uDecode(j.certificate, 120), audience: b64uDecode(j.audience, 32), issuedAt: j.issued_at,
  nonce: b64uDecode(j.nonce, 16), blinded: j.blinded.map((b) => b64uDecode(b, 32)), points: j.points.map((p) => b64uDecode(p, 48)),
  signature: b64uDecode(j.signature, 64),
});
let cached = null;
const deployment = async () => (cached ??= await verifyDeployment(P.deployment.published, hx(P.deployment.fingerprint)));

test('invites v2: parsed as protocol/invites.py parses them, with the account key; refusals with Python\'s messages', () => {
  const M = P.invites.messages;
  assert.deepEqual([M.empty, M.mistyped, M.credential], [INVITE_EMPTY, INVITE_MISTYPED, INVITE_IS_CREDENTIAL]);
  if (M.old_version !== undefined) assert.equal(M.old_version, INVITE_OLD_VERSION);
  for (const v of P.invites.valid) {
    const inv = parseInvite(v.text);
    assert.equal(hex(inv.seed), v.seed);
    assert.equal(hex(inv.adminFingerprint), v.admin_fingerprint);
    assert.equal(hex(accounts.accountKey(inv.seed)), v.account_key);
    assert.equal(formatInvite(inv.seed, inv.adminFingerprint), v.text.trim());
  }
  for (const r of P.invites.refused) {
    assert.throws(() => parseInvite(r.text), (e) => e instanceof InvalidInput && e.message === r.error, JSON.stringify(r.text));
  }
});

test('deployment v2: the recorded key generation\'s document verified as Python verifies it; every refusal with its message', async () => {
  const d = await deployment();
  const e = P.deployment.expected;
  assert.equal(d.serial, e.serial);
  assert.deepEqual(d.quorumRange, { low: e.quorum, high: e.max_quorum });
  assert.equal(d.threshold, e.threshold);
  assert.equal(d.escrowUrl, e.escrow_url);
  assert.equal(d.issuedAt, e.issued_at);
  assert.equal(hex(d.deploymentId), e.deployment_id);
  assert.equal(hex(d.oprfPublicKey), e.oprf_public_key);
  assert.equal(d.keyEpoch, e.key_epoch);
  assert.deepEqual(d.keyservers.map((s) => ({ index: s.index, url: s.url, public_share: hex(s.publicShare), identity_key: hex(s.identityKey),
    hpke_public_key_sha256: sha(s.hpkePublicKey) })), e.key_servers);
  assert.deepEqual(d.counselors.map((c) => ({ name: c.name, key_id: hex(c.keyId), public_key_sha256: sha(c.publicKey) })), e.counselors);
  assert.deepEqual({ origin: d.log.origin, public_key: hex(d.log.publicKey), vkey: d.log.vkey, witnesses: d.log.witnesses }, e.log);
  assert.equal(d.quorumKeys.epoch, e.quorum_keys.epoch);
  assert.equal(hex(d.quorumKeys.transcript), e.quorum_keys.transcript);
  assert.deepEqual(d.quorumKeys.qualified, e.quorum_keys.qualified);
  assert.deepEqual([d.quorumKeys.generation, d.quorumKeys.kind, d.quorumKeys.dealers, hex(d.quorumKeys.abscissaCheck)],
    [e.quorum_keys.generation, e.quorum_keys.kind, e.quorum_keys.dealers, e.quorum_keys.abscissa_check]);
  assert.equal(d.quorumKeys.confirmations.length, e.quorum_keys.confirmations);
  assert.equal(d.keyChange, null);
  quorumParameters(d);
  const pending = await verifyDeployment(P.deployment.pending.published, hx(P.deployment.fingerprint));
  assert.equal(pending.serial, P.deployment.pending.serial);
  assert.equal(pending.ready, P.deployment.pending.ready);
  assert.deepEqual({ epoch: pending.keyChange.epoch, kind: pending.keyChange.kind }, P.deployment.pending.key_change);
  assert.equal(pending.oprfPublicKey.length, 0);
  assert.ok(pending.keyservers.every((s) => s.publicShare.length === 0));
  assert.equal(publicShares(pending).size, 0);
  assert.throws(() => quorumParameters(pending), { message: P.deployment.pending.error });
  for (const c of P.deployment.refusals) {
    await assert.rejects(verifyDeployment(c.published, hx(c.fingerprint), { minSerial: c.min_serial ?? 0 }),
      (err) => err.constructor.name === c.type && err.message === c.error, c.label);
  }
});

test('dkg: the parameters digest and the commitments digest the confirmations sign; each confirmation parses', async () => {
  const d = await deployment();
  const D = P.dkg;
  const params = dkgParametersOf(d, D.parameters.epoch);
  assert.equal(hex(params.digest), D.parameters_digest);
  const keys = d.quorumKeys;
  assert.equal(hex(commitmentsDigest(keys.levels, keys.servers, d.oprfPublicKey, publicShares(d), keys.abscissaCheck)),
    D.commitments_digest);
  for (const c of keys.confirmations) {
    const m = parseConfirmation(params, c);
    assert.equal(hex(m.transcript), D.transcript);
    assert.deepEqual(m.qualified, D.qualified);
    assert.equal(hex(m.commitments), D.commitments_digest);
    assert.equal(hex(m.abscissaCheck), D.abscissa_check);
  }
  for (const r of D.refused) {
    // what a client sees of a board message is only whether it is a confirmation it can use
    assert.throws(() => parseConfirmation(params, hx(r.hex)), (e) => e instanceof InvalidInput || e.constructor.name === 'VerificationError', r.what);
  }
});

test('deployment v2, a resharing: the document asking for it and the one publishing its result verified as Python does; refusals', async () => {
  const R = P.deployment.renewed;
  const fp = hx(P.deployment.fingerprint);
  const before = await deployment();
  const asking = await verifyDeployment(R.asking.published, fp);
  assert.equal(asking.serial, R.asking.serial);
  assert.deepEqual({ epoch: asking.keyChange.epoch, kind: asking.keyChange.kind, threshold: asking.keyChange.threshold,
    servers: asking.keyChange.servers.map((s) => s.index) }, R.asking.key_change);
  const params = dkgParametersOf(asking, R.asking.key_change.epoch);
  assert.equal(params.kind, RESHARE);
  assert.equal(hex(params.previousDigest), R.asking.previous_digest);
  assert.equal(hex(params.digest), R.asking.parameters_digest);
  assert.equal(asking.keyEpoch, before.keyEpoch, 'asking for a renewal changes nothing entries bind');
  const d = await verifyDeployment(R.published, fp);
  const e = R.expected;
  assert.deepEqual([d.serial, d.keyEpoch, d.threshold, hex(d.oprfPublicKey)], [e.serial, e.key_epoch, e.threshold, e.oprf_public_key]);
  assert.equal(d.keyEpoch, before.keyEpoch, 'entries sealed before the resharing still bind the same generation');
  assert.equal(hex(d.oprfPublicKey), hex(before.oprfPublicKey));
  assert.deepEqual(d.keyservers.map((s) => ({ index: s.index, public_share: hex(s.publicShare) })), e.key_servers);
  const k = d.quorumKeys;
  assert.deepEqual({ epoch: k.epoch, generation: k.generation, kind: k.kind, renewed_from: hex(k.renewedFrom), qualified: k.qualified,
    dealers: k.dealers, abscissa_check: hex(k.abscissaCheck), transcript: hex(k.transcript) }, e.quorum_keys);
  assert.equal(hex(commitmentsDigest(k.levels, k.servers, d.oprfPublicKey, publicShares(d), k.abscissaCheck)), e.commitments_digest);
  const published = dkgParametersOf(d, k.epoch);
  assert.equal(hex(published.digest), R.parameters_digest, 'the published result reads its confirmations under the run\'s parameters');
  assert.deepEqual(k.confirmations.map((c) => {
    const m = parseConfirmation(published, c);
    return { author: m.author, qualified: m.qualified, commitments: hex(m.commitments), abscissa_check: hex(m.abscissaCheck) };
  }), e.confirmations);
  assert.ok(e.confirmations.every((c) => c.qualified.length > d.keyservers.length), 'dealers beyond the new n');
  // the board's deals are for the key servers, not for clients: refused with Python's message
  const deal = R.board.find((m) => m.kind === 'deal');
  assert.throws(() => parseConfirmation(published, hx(deal.hex)), { message: "this renewal's parameters lack the result it renews (only its confirmations can be read with them)" });
  for (const c of R.refusals) {
    await assert.rejects(verifyDeployment(c.published, hx(c.fingerprint)),
      (err) => err.constructor.name === c.type && err.message === c.error, c.label);
  }
});

test('accounts v2: certificates, registration proofs and register requests as Python makes them; refusals', () => {
  const A = P.accounts;
  assert.equal(A.certificate_bytes, accounts.CERTIFICATE_BYTES);
  assert.equal(new TextDecoder().decode(accounts.CERTIFICATE_LABEL), A.labels.certificate);
  assert.equal(new TextDecoder().decode(accounts.REGISTER_LABEL), A.labels.register);
  assert.equal(new TextDecoder().decode(accounts.ABSCISSA_LABEL), A.labels.abscissa);
  const did = hx(A.deployment_id);
  for (const v of A.valid) {
    const seed = hx(v.seed);
    assert.equal(hex(accounts.accountKey(seed)), v.account_key);
    const cert = accounts.verifyCertificate(hx(A.admin_key), did, hx(v.certificate));
    assert.equal(cert.issuedAt, v.issued_at);
    assert.equal(hex(accounts.registrationProof(seed, did)), v.registration_proof);
    assert.deepEqual(v.register_request, { account_key: b64uEncode(accounts.accountKey(seed)), proof: b64uEncode(accounts.registrationProof(seed, did)) });
    assert.equal(hex(parseInvite(v.invite).seed), v.seed);
  }
  for (const c of A.certificate_refusals) {
    assert.throws(() => accounts.verifyCertificate(hx(A.admin_key), hx(c.deployment_id), hx(c.certificate)),
      (e) => e.constructor.name === c.type && e.message === c.error, c.what);
  }
  for (const c of A.registration_refusals) {
    assert.throws(() => accounts.verifyRegistration(hx(c.account_key), hx(c.deployment_id), hx(c.proof)),
      (e) => e.constructor.name === c.type && e.message === c.error, c.what);
  }
});

test('evaluation v2: each key server\'s signed request byte for byte; answers combined into Python\'s shares, the liar named', async () => {
  const d = await deployment();
  const E = P.evaluation;
  assert.equal(new TextDecoder().decode(evaluation.LABEL), E.label);
  assert.equal(evaluation.FRESHNESS_SECONDS, E.freshness_seconds);
  assert.equal(evaluation.MAX_ELEMENTS, E.max_elements);
  const seed = hx(E.account.seed);
  const certificate = hx(E.account.certificate);
  for (const r of E.requests) {
    const req = fromJson(r.json);
    assert.equal(hex(evaluation.signedBytes(d.deploymentId, req.audience, req.issuedAt, req.nonce, req.blinded, req.points)), r.signed_bytes);
    const again = evaluation.makeRequest(seed, certificate, d.deploymentId, d.keyservers[r.index - 1].identityKey, req.blinded, req.points,
      { now: req.issuedAt, nonce: req.nonce });
    assert.equal(hex(again.signature), r.signature);
    assert.deepEqual(evaluation.requestJson(again), r.json);
  }
  for (const r of E.refused) {
    assert.throws(() => evaluation.verifyRequest(fromJson(r.json), { adminPublic: d.adminKey, deploymentId: d.deploymentId, audience: hx(r.audience), now: r.now }),
      (e) => e.constructor.name === r.type && e.message === r.error, r.what);
  }
  // the VOPRF: the answers' proofs hold against the public shares; combined, the outputs and tags are Python's
  const shares = publicShares(d);
  const blinded = E.voprf.blinded.map(hx);
  const verified = E.responses.map((a) => verifyPartial(blinded, { index: a.index, evaluated: a.evaluated.map((z) => b64uDecode(z, 32)), proof: b64uDecode(a.proof, 64) }, shares));
  assert.ok(verified.every(Boolean));
  const combined = combineVerified(verified, d.threshold);
  const params = quorumParameters(d);
  E.combined.forEach((c, k) => {
    const input = new TextEncoder().encode(c.identifier);
    const y = oprf.finalize(input, hx(E.voprf.blinds[k]), combined[k]);
    assert.equal(hex(y), c.oprf_output);
    assert.equal(hex(matchTag(y)), c.tag);
    const request = qm.blind(input, BigInt('0x' + c.r));
    assert.equal(hex(request.blinded), c.blinded);
    const x = qm.abscissaFromBytes(hx(E.abscissa));
    const answers = new Map(E.responses.map((a) => [a.index, new Map(a.shares[k].map((z, j) => [d.quorum + j, b64uDecode(z, 48)]))]));
    const got = qm.combine(params, request, y, x, answers);
    assert.deepEqual(Object.fromEntries([...got.shares.keys()].map((q) => [String(q), hex(got.shareBytes(q))])), c.shares);
    assert.equal(hex(bls.g1ToBytes(got.base)), c.base);
    const L = c.lying_key_server;
    answers.get(L.index).set(L.level, hx(L.answer));
    const despite = qm.combine(params, request, y, x, answers);
    assert.deepEqual(Object.fromEntries(despite.dishonest), L.dishonest);
    assert.deepEqual(Object.fromEntries([...despite.shares.keys()].map((q) => [String(q), hex(despite.shareBytes(q))])), c.shares);
  });
});

test('log events v2: events, openings and commitment leaves as protocol/events.py; refusals', () => {
  const V = P.events;
  assert.equal(new TextDecoder().decode(LEAF_LABEL), V.labels.leaf);
  assert.equal(hex(CONTENT_LABEL), V.labels.content);
  for (const c of V.cases) {
    const e = parseEvent(hx(c.event));
    assert.equal(e.kind, c.kind, c.label);
    assert.equal(e.atMillis, c.at_millis);
    if (c.entry_id) assert.equal(hex(e.entryId), c.entry_id);
    if (c.content_hash) assert.equal(hex(e.contentHash), c.content_hash);
    if (c.subject) assert.deepEqual([e.revoked, hex(e.subject), e.serial], [c.revoked, c.subject, c.serial]);
    assert.equal(hex(commit(hx(c.nonce), hx(c.event))), c.leaf);
    const o = parseOpening(hx(c.opening));
    assert.equal(hex(o.leaf), c.leaf);
  }
  for (const r of V.event_refusals) assert.throws(() => parseEvent(hx(r.event)), (e) => e.message === r.error, r.what);
  for (const r of V.opening_refusals) assert.throws(() => parseOpening(hx(r.opening)), (e) => e.message === r.error, r.what);
});

test('receipts v2: checked like clients/receipts.check, with the same refusals', async () => {
  const R = P.receipts;
  assert.equal(hex(expectedContent(R.payload)), R.content);
  checkReceiptCases(R.cases, { log: { origin: R.origin, vkey: R.log_vkey } });
});
