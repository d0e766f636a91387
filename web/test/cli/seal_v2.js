#!/usr/bin/env node
// JS -> Python interop for protocol v2 entries: seal entries with the browser SDK, print JSON for
// tests/protocol/test_entry_v2_interop.py to open with protocol/release.py.
//   node web/test/cli/seal_v2.js [vectors.json] > out.json
// On the deployment of tests/vectors/entry_v2_interop.json, with the browser SDK playing the
// key servers from the file's test-only secrets (web/test/v2_vectors.js), four accounts name the
// "third" person: A at quorum 2 while key server 1 lies (it is named and key server 3 asked),
// B at quorum 2, D a bogus entry (the third's tag, shares on another person's base), E at quorum 4,
// escrowed, whose σ_4 is bytes that are not a point of G1 (the envelope sealed again around it).
// With Python's entry C (quorum 3, in the vectors) they make one match. It also prints, for A, the
// secret S the JS counselor recovers, GT(e(S, U)) in the 576-byte encoding, and W.
import { V2, account, deployment, keyServers, lieAt } from '../v2_vectors.js';
import { hexDecode as hx, hexEncode as hex, b64uDecode, b64uEncode } from '../../src/sdk/protocol/encoding.js';
import * as bls from '../../src/sdk/crypto/bls12381.js';
import * as hpke from '../../src/sdk/crypto/hpke.js';
import * as qm from '../../src/sdk/protocol/quorum.js';
import { quorumParameters } from '../../src/sdk/protocol/deployment.js';
import { encodeEnvelope, envelopeInfo, parseEnvelope, sealEntry, submissionPayload, wrapContext } from '../../src/sdk/protocol/entry.js';
import { evaluate } from '../../src/sdk/clients/oprf_client.js';

const d = await deployment();
const te = (s) => new TextEncoder().encode(s);
const person = (k) => ({ typed: V2.identifiers[k][0], canonical: V2.identifiers[k][1], oprfInput: te(V2.identifiers[k][1]) });
const third = person('third');
const other = person('other');
const counselor = V2.counselors[0];
const fetchVia = (servers) => async (url, init) => {
  const got = await servers.answer(String(url), init);
  if (got === null) throw new TypeError(`no route ${url}`);
  return got;
};

async function seal(label, q, { lie = false, sharesOf = null } = {}) {
  const a = account(label);
  const servers = keyServers(d, lie ? { lies: new Map([[1, lieAt(3, d)]]) } : {});
  const ev = await evaluate(d, [third.oprfInput], a, { fetch: fetchVia(servers) });
  let shares = ev.shares;
  if (sharesOf) shares = (await evaluate(d, [sharesOf.oprfInput], a, { fetch: fetchVia(keyServers(d)) })).shares;
  const sealed = await sealEntry({ deployment: d, identifiers: [third], oprfOutputs: ev.outputs, quorumShares: shares,
    record: `js record ${label}`, contact: `js contact ${label}`, quorum: q, writtenAt: V2.written_at });
  return { sealed, used: ev.used, skipped: ev.skipped };
}

const out = { tag: null, entries: [], evaluation: {}, opening: null, payload: null };
const plan = [['A', 2, true, { lie: true }], ['B', 2, true, {}], ['D', 2, true, { sharesOf: other }], ['E', 4, false, { corrupt: 4 }]];
for (const [label, q, released, opts] of plan) {
  const { sealed, used, skipped } = await seal(label, q, opts);
  out.tag = b64uEncode(sealed.tags[0]);
  let envelope = sealed.envelopes.find((e) => hex(e.keyId) === counselor.key_id).ciphertext;
  if (opts.corrupt) {
    const info = envelopeInfo(sealed.entryId, hx(counselor.key_id));
    const content = parseEnvelope(await hpke.open(hx(counselor.seed), envelope, info));
    content.sections[0].shares.set(opts.corrupt, new Uint8Array(48).fill(0x9f));
    const c = d.counselors.find((x) => hex(x.keyId) === counselor.key_id);
    envelope = await hpke.seal(c.publicKey, encodeEnvelope(content), info);
  }
  out.entries.push({ label, entry_id: b64uEncode(sealed.entryId), quorum: q, released, envelope: b64uEncode(envelope),
    body: released ? b64uEncode(sealed.body) : null, body_key: hex(sealed.bodyKey) });
  out.evaluation[label] = { used, skipped };
  if (label === 'A') out.payload = submissionPayload(sealed);
}
// Python's C (quorum 3) names the third person too: its section is the first of its envelope.
const c = V2.match.entries.find((e) => e.label === 'C');
out.entries.push({ label: 'C', entry_id: c.entry_id, quorum: c.quorum, released: true, envelope: c.envelope, body: c.body, body_key: c.body_key });

// The JS counselor's view of A: its class at q = 2, S, GT(e(S, U)) and W.
const tag = b64uDecode(out.tag, 32);
const contents = [];
for (const e of out.entries) {
  const id = b64uDecode(e.entry_id, 16);
  const content = parseEnvelope(await hpke.open(hx(counselor.seed), b64uDecode(e.envelope), envelopeInfo(id, hx(counselor.key_id))));
  const index = content.sections.findIndex((s) => hex(s.tag) === hex(tag));
  contents.push({ id, content, index, section: content.sections[index] });
}
const cand = (k) => qm.candidate(contents[k].id, contents[k].section.x, contents[k].section.shares.get(2));
const cls = qm.openClass(cand(0), [1, 2, 3, 4].map(cand), quorumParameters(d).level(2));
const secret = cls.secret();
const a = contents[0];
const context = wrapContext(d.deploymentId, d.keyEpoch, a.id, a.index, tag);
out.opening = {
  entry_id: out.entries[0].entry_id, q: 2, secret: hex(bls.g1ToBytes(secret.point)), u: hex(a.section.u),
  gt: hex(bls.gtToBytes(bls.pairing(secret.point, bls.g2FromBytes(a.section.u)))), wrap_key: hex(qm.unwrap(secret, a.section.u, context)),
  bogus: [...cls.bogus.keys()].map((h) => b64uEncode(hx(h))).sort(),
};

// `node --test web/test/` runs this file too (every .js under test/): then it only checks that it runs.
if (!process.env.NODE_TEST_CONTEXT) process.stdout.write(JSON.stringify(out) + '\n');
