#!/usr/bin/env node
// JS -> Python interop for protocol v2's quorum layer: make shares and wraps with
// web/src/sdk/protocol/quorum.js, print JSON for tests/protocol/test_quorum_v2_interop.py
// to open with protocol/quorum.py.
//   node web/test/cli/quorum_v2.js [vectors.json] > out.json
// Uses the commitments and the test-only key-server shares of the vectors file
// (default tests/vectors/quorum_v2_interop.json): for every account abscissa the
// reporter blinds with a fresh r, the three "key servers" answer (server 2 lies at
// one level for the first account), and combine checks; then one wrap per level
// with a fresh ρ, and one share on another identifier's base for the counselor to
// name as bogus.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, hx } from '../helpers.js';
import { hexEncode as hex } from '../../src/sdk/protocol/encoding.js';
import * as bls from '../../src/sdk/crypto/bls12381.js';
import * as qm from '../../src/sdk/protocol/quorum.js';

const file = process.argv[2] ?? path.join(ROOT, 'tests', 'vectors', 'quorum_v2_interop.json');
const V = JSON.parse(fs.readFileSync(file, 'utf8'));
const big = (h) => BigInt('0x' + h);
const g2s = (cs) => cs.map((c) => bls.g2FromBytes(hx(c)));
const levels = Object.fromEntries(Object.entries(V.levels).map(([q, cs]) => [q, g2s(cs)]));
const servers = Object.fromEntries(Object.entries(V.servers).map(([i, lv]) => [i, Object.fromEntries(Object.entries(lv).map(([q, cs]) => [q, g2s(cs)]))]));
const params = qm.checkCommitments(V.threshold, levels, servers);
const shares = (i) => new Map(Object.entries(V.server_shares[i]).map(([q, es]) => [Number(q), es.map(big)]));

function report(identifier, y, x, lie) {
  const request = qm.blind(identifier);
  const answers = new Map(Object.keys(V.server_shares).map((i) => [Number(i), qm.answer(shares(i), x, request.blinded)]));
  // a lying key server: its answer at one level is another multiple of B
  if (lie) answers.get(lie.server).set(lie.level, bls.g1ToBytes(bls.mulSecret(bls.g1FromBytes(request.blinded), 12345n)));
  return qm.combine(params, request, y, x, answers);
}

const id = hx(V.reporter.identifier);
const y = hx(V.reporter.oprf_output);
const out = { accounts: [], wraps: [], bogus: null };
for (const [k, xh] of V.accounts.entries()) {
  const x = big(xh);
  const got = report(id, y, x, k === 0 ? { server: 2, level: 4 } : null);
  out.accounts.push({
    x: xh, dishonest: Object.fromEntries(got.dishonest),
    shares: Object.fromEntries([...params.levels.keys()].map((q) => [q, hex(got.shareBytes(q))])),
  });
  if (k === 0) {
    for (const q of params.levels.keys()) {
      const context = { deploymentId: new Uint8Array(16).fill(0xd0), keyEpoch: 70000 + q, entryId: new Uint8Array(16).fill(q),
        section: q, tag: new Uint8Array(32).fill(0x70 + q) };
      const w = qm.wrap(params.level(q), got.base, context);
      out.wraps.push({ q, context: { deployment_id: hex(context.deploymentId), key_epoch: context.keyEpoch, entry_id: hex(context.entryId),
        section: context.section, tag: hex(context.tag) }, u: hex(w.u), w: hex(w.key) });
    }
  }
}
const other = new TextEncoder().encode('phone:+15551234567');
const x = big(V.accounts[1]);
const wrong = report(other, y, x, null);
out.bogus = { x: V.accounts[1], shares: Object.fromEntries([...params.levels.keys()].map((q) => [q, hex(wrong.shareBytes(q))])) };

// `node --test web/test/` runs this file too (every .js under test/): then it only checks that it runs.
if (!process.env.NODE_TEST_CONTEXT) process.stdout.write(JSON.stringify(out) + '\n');
