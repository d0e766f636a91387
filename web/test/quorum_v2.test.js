// web/src/sdk/protocol/quorum.js against tests/vectors/quorum_v2_interop.json, the values
// protocol/quorum.py wrote (tests/vectors/make_quorum_v2.py): commitments, E_q(x), the
// identifier point and base, the blind, combine with a lying key server, the wrap context,
// U, GT(K) and W, recover_secret, open_class with two bogus shares. The other direction
// (JS makes, Python opens) is web/test/cli/quorum_v2.js with tests/protocol/test_quorum_v2_interop.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, hx } from './helpers.js';
import { InvalidInput, VerificationError } from '../src/sdk/errors.js';
import { hexEncode as hex } from '../src/sdk/protocol/encoding.js';
import * as bls from '../src/sdk/crypto/bls12381.js';
import * as qm from '../src/sdk/protocol/quorum.js';

const V = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'vectors', 'quorum_v2_interop.json'), 'utf8'));
const big = (h) => BigInt('0x' + h);
const R = V.reporter;
const W = V.wrap;
const O = V.open_class;

function params() {
  const levels = Object.fromEntries(Object.entries(V.levels).map(([q, cs]) => [q, cs.map((c) => bls.g2FromBytes(hx(c)))]));
  const servers = Object.fromEntries(Object.entries(V.servers).map(([i, lv]) => [i,
    Object.fromEntries(Object.entries(lv).map(([q, cs]) => [q, cs.map((c) => bls.g2FromBytes(hx(c)))]))]));
  return qm.checkCommitments(V.threshold, levels, servers);
}
const P = params();
const answersOf = (doc) => new Map(Object.entries(doc).map(([i, lv]) => [Number(i), new Map(Object.entries(lv).map(([q, z]) => [Number(q), hx(z)]))]));
const context = () => ({ deploymentId: hx(W.context.deployment_id), keyEpoch: W.context.key_epoch, entryId: hx(W.context.entry_id),
  section: W.context.section, tag: hx(W.context.tag) });
const cand = (c) => qm.candidate(hx(c.entry_id), big(c.x), hx(c.share));
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

test('constants are the Python bytes', () => {
  assert.equal(hex(qm.IDENTIFIER_DST), V.constants.identifier_dst);
  assert.equal(hex(qm.QUORUM_BASE_DST), V.constants.quorum_base_dst);
  assert.equal(qm.WRAP_KEY_LABEL, V.constants.wrap_key_label);
  assert.equal(qm.WRAP_CONTEXT_BYTES, V.constants.wrap_context_bytes);
});

test('commitments check; E_q(x) and the secret commitments agree', () => {
  assert.deepEqual([...P.levels.keys()], [2, 3, 4]);
  assert.deepEqual(P.serverIndices, [1, 2, 3]);
  for (const [q, c] of Object.entries(V.secret_commitments)) assert.equal(hex(bls.g2ToBytes(P.level(Number(q)).secretCommitment)), c);
  for (const [x, byLevel] of Object.entries(V.evaluations)) {
    const ev = P.evaluations(big(x));
    for (const [q, e] of Object.entries(byLevel)) assert.equal(hex(bls.g2ToBytes(ev.get(Number(q)))), e);
  }
});

test('checkCommitments refuses tampered commitments', () => {
  const levels = Object.fromEntries(Object.entries(V.levels).map(([q, cs]) => [q, cs.map((c) => bls.g2FromBytes(hx(c)))]));
  const servers = () => Object.fromEntries(Object.entries(V.servers).map(([i, lv]) => [i,
    Object.fromEntries(Object.entries(lv).map(([q, cs]) => [q, cs.map((c) => bls.g2FromBytes(hx(c)))]))]));
  const moved = servers();
  moved[3][4][1] = moved[3][4][1].add(bls.G2Point.BASE);
  assert.throws(() => qm.checkCommitments(V.threshold, levels, moved), /level 4, coefficient 1: key server 3's commitment/);
  const short = servers();
  short[1][2] = short[1][2].slice(1);
  assert.throws(() => qm.checkCommitments(V.threshold, levels, short), VerificationError);
  assert.throws(() => qm.checkCommitments(V.threshold, { ...levels, 2: levels[3].slice(0, 2) }, servers()), /repeats a coefficient/);
  assert.throws(() => qm.checkCommitments(4, levels, servers()), InvalidInput);
});

test('identifier point, blind, key-server answers and quorum base are the Python bytes', () => {
  const id = hx(R.identifier);
  assert.equal(hex(bls.g1ToBytes(qm.identifierPoint(id))), R.identifier_point);
  const request = qm.blind(id, big(R.r));
  assert.equal(hex(request.blinded), R.blinded);
  assert.equal(hex(bls.g1ToBytes(qm.quorumBase(id, hx(R.oprf_output)))), R.base);
  const shares = (i) => new Map(Object.entries(V.server_shares[i]).map(([q, es]) => [Number(q), es.map(big)]));
  for (const i of ['1', '3']) {
    const z = qm.answer(shares(i), big(R.x), request.blinded);
    for (const [q, b] of z) assert.equal(hex(b), R.answers[i][q]);
  }
  assert.equal(hex(qm.answer(shares(String(R.liar)), big(R.x), request.blinded).get(R.lied_level)), R.honest_answer);
});

test('combine: the liar is named, the shares are the Python bytes', () => {
  const request = qm.blind(hx(R.identifier), big(R.r));
  const t0 = process.hrtime.bigint();
  const out = qm.combine(P, request, hx(R.oprf_output), big(R.x), answersOf(R.answers));
  const tLiar = ms(t0);
  assert.deepEqual([...out.dishonest.entries()], Object.entries(R.dishonest).map(([i, why]) => [Number(i), why]));
  assert.equal(hex(bls.g1ToBytes(out.base)), R.base);
  for (const [q, s] of Object.entries(R.shares)) assert.equal(hex(out.shareBytes(Number(q))), s);
  // without the liar, with a fresh random blind: the same shares (σ_q does not depend on r)
  const fresh = qm.blind(hx(R.identifier));
  const shares = (i) => new Map(Object.entries(V.server_shares[i]).map(([q, es]) => [Number(q), es.map(big)]));
  const honest = new Map([1, 2, 3].map((i) => [i, qm.answer(shares(String(i)), big(R.x), fresh.blinded)]));
  const t1 = process.hrtime.bigint();
  const clean = qm.combine(P, fresh, hx(R.oprf_output), big(R.x), honest);
  const tClean = ms(t1);
  assert.equal(clean.dishonest.size, 0);
  for (const [q, s] of Object.entries(R.shares)) assert.equal(hex(clean.shareBytes(Number(q))), s);
  console.log(`combine (3 levels, t=2 of 3): ${tClean.toFixed(0)} ms honest, ${tLiar.toFixed(0)} ms with one liar`);
});

test('combine: DishonestKeyServers below t, undecodable and misfiled answers named', () => {
  const request = qm.blind(hx(R.identifier), big(R.r));
  const answers = answersOf(R.answers);
  answers.delete(3);
  assert.throws(() => qm.combine(P, request, hx(R.oprf_output), big(R.x), answers), (e) => {
    assert.ok(e instanceof qm.DishonestKeyServers);
    assert.deepEqual([...e.dishonest.keys()], [2]);
    return true;
  });
  const junk = answersOf(R.answers);
  junk.get(1).set(2, new Uint8Array(48));
  junk.get(3).delete(4);
  junk.set(9, junk.get(2));
  assert.throws(() => qm.combine(P, request, hx(R.oprf_output), big(R.x), junk), (e) => {
    assert.deepEqual([...e.dishonest.keys()].sort(), [1, 3, 9]);
    assert.match(e.dishonest.get(9), /not a key server/);
    return true;
  });
});

test('wrap context, U, GT(K) and W are the Python bytes; unwrap opens', () => {
  const level = P.level(W.q);
  const base = bls.g1FromBytes(hx(R.base));
  const w = qm.wrap(level, base, context(), big(W.rho));
  assert.equal(hex(w.u), W.u);
  assert.equal(hex(qm.encodeWrapContext(context(), W.q, w.u)), W.context_bytes);
  assert.equal(qm.encodeWrapContext(context(), W.q, w.u).length, 166);
  const k = bls.pairing(bls.mulSecret(base, big(W.rho)), level.secretCommitment);
  assert.equal(hex(bls.gtToBytes(k)), W.k_gt);
  assert.equal(hex(w.key), W.w);
  const secret = { q: W.q, point: bls.g1FromBytes(hx(W.secret)) };
  assert.equal(hex(bls.gtToBytes(bls.pairing(secret.point, bls.g2FromBytes(hx(W.u))))), W.k_gt);
  assert.equal(hex(qm.unwrap(secret, hx(W.u), context())), W.w);
  // a fresh ρ: another U, and unwrap still agrees; another section gives another W
  const fresh = qm.wrap(level, base, context());
  assert.notEqual(hex(fresh.u), W.u);
  assert.equal(hex(qm.unwrap(secret, fresh.u, context())), hex(fresh.key));
  assert.notEqual(hex(qm.unwrap(secret, fresh.u, { ...context(), section: 2 })), hex(fresh.key));
  assert.notEqual(hex(qm.unwrap({ q: 2, point: secret.point }, fresh.u, context())), hex(fresh.key));
});

test('open_class: the class and the two bogus are the Python split; the secret opens W', () => {
  const level = P.level(O.q);
  const anchor = cand(O.anchor);
  const candidates = O.candidates.map(cand);
  const t0 = process.hrtime.bigint();
  const opened = qm.openClass(anchor, candidates, level);
  const tOpen = ms(t0);
  assert.deepEqual(opened.members.map(hex), O.members);
  assert.deepEqual([...opened.bogus.keys()].sort(), O.bogus);
  assert.equal(opened.abscissas, O.abscissas);
  assert.equal(opened.opens, O.opens);
  const secret = opened.secret();
  assert.equal(hex(bls.g1ToBytes(secret.point)), O.secret);
  assert.equal(hex(qm.unwrap(secret, hx(W.u), context())), W.w);
  // below quorum: the anchor and one honest candidate
  const small = qm.openClass(anchor, [candidates[0], candidates[2]], level);
  assert.equal(small.opens, false);
  assert.throws(() => small.secret(), qm.BelowQuorum);
  // an undecodable share is named; an undecodable anchor is refused
  const junk = qm.openClass(anchor, [...candidates, qm.candidate(new Uint8Array(16).fill(9), 5n, new Uint8Array(48))], level);
  assert.match(junk.bogus.get('09'.repeat(16)), /not a point of G1/);
  assert.throws(() => qm.openClass(qm.candidate(anchor.entryId, anchor.x, new Uint8Array(48)), candidates, level), VerificationError);
  console.log(`open_class (level ${O.q}, ${candidates.length} candidates, 2 bogus): ${tOpen.toFixed(0)} ms, ${opened.checks} checks`);
});

test('open_class at scale: 40 candidates, 3 of them bogus', () => {
  // shares made in JS from the vectors' secret: σ = F_q(x)·P* via Lagrange from the honest class
  const level = P.level(O.q);
  const honest = [O.anchor, ...O.candidates].map(cand).filter((c) => !O.bogus.includes(hex(c.entryId)));
  const xs = [];
  const pts = [];
  for (const c of honest) if (!xs.includes(c.x)) { xs.push(c.x); pts.push(bls.g1FromBytes(c.share)); }
  const at = (x) => bls.interpolateG1(xs.slice(0, O.q), pts.slice(0, O.q), x);
  const many = [];
  for (let k = 0; k < 40; k++) {
    const x = 1000n + BigInt(k);
    const s = k % 13 === 5 ? at(x).add(bls.G1Point.BASE) : at(x);
    many.push(qm.candidate(new Uint8Array(16).fill(k + 20), x, bls.g1ToBytes(s)));
  }
  const t0 = process.hrtime.bigint();
  const opened = qm.openClass(honest[0], many, level);
  const t = ms(t0);
  assert.equal(opened.bogus.size, 3);
  assert.equal(opened.members.length, 38);
  assert.equal(hex(bls.g1ToBytes(opened.secret().point)), O.secret);
  console.log(`open_class (level ${O.q}, 40 candidates, 3 bogus): ${t.toFixed(0)} ms, ${opened.checks} checks`);
});

test('abscissas are refused at 0 and at r', () => {
  assert.throws(() => qm.abscissaFromInt(0n), InvalidInput);
  assert.throws(() => qm.abscissaFromInt(bls.ORDER), InvalidInput);
  assert.throws(() => qm.abscissaFromBytes(new Uint8Array(32)), InvalidInput);
  assert.equal(qm.abscissaFromBytes(hx(R.x)), big(R.x));
});
