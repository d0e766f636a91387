#!/usr/bin/env node
// JS -> Python interop: seal with the browser SDK, print JSON for
// tests/test_interop_js_to_python.py to open with the Python SDK.
//   node web/test/cli/seal.js  > out.json
// Uses the counselor keys of tests/vectors/interop.json, and for the entries (protocol v2)
// the deployment of tests/vectors/entry_v2_interop.json with the browser SDK playing its key
// servers (web/test/v2_vectors.js).
import { VECTORS, hx } from '../helpers.js';
import { V2, account, deployment as v2Deployment, keyServers } from '../v2_vectors.js';
import { evaluate } from '../../src/sdk/clients/oprf_client.js';
import { b64uEncode, hexEncode as hex } from '../../src/sdk/protocol/encoding.js';
import * as aead from '../../src/sdk/crypto/aead.js';
import * as hpke from '../../src/sdk/crypto/hpke.js';
import * as entry from '../../src/sdk/protocol/entry.js';
import * as matching from '../../src/sdk/protocol/matching.js';
import * as sealed from '../../src/sdk/crypto/sealed.js';
import * as wallet from '../../src/sdk/clients/wallet.js';
import * as counselorKey from '../../src/sdk/clients/counselor_key.js';
import * as bls from '../../src/sdk/crypto/bls12381.js';

const C = VECTORS.crypto;
const te = (s) => new TextEncoder().encode(s);
const td = (b) => new TextDecoder().decode(b);
const out = {};

out.aead = [[te(''), te('')], [te('hello from js'), te('aad')], [new Uint8Array(1000).map((_, i) => i % 251), entry.BODY_AAD]].map(([pt, ad], i) => {
  const key = new Uint8Array(32).fill(i + 1);
  return { key: hex(key), aad: hex(ad), plaintext: hex(pt), sealed: hex(aead.seal(key, pt, ad)) };
});

out.hpke = [];
for (const [i, k] of C.hpke.keys.entries()) {
  const pt = te(`js to counselor ${i + 1} \u2028 😀`);
  const info = entry.envelopeInfo(new Uint8Array(16).fill(i), hx(k.key_id));
  out.hpke.push({ seed: k.seed, info: hex(info), plaintext: hex(pt), ciphertext: hex(await hpke.seal(hx(k.public_key), pt, info)) });
}

out.sealed_files = [];
for (const [pw, purpose, data] of [['js passphrase', 'counselor-key', te('js secret')], ['cafe\u0301 😀', 'purpose é', new Uint8Array(300).fill(7)]]) {
  out.sealed_files.push({ passphrase: pw, purpose, plaintext: hex(data), blob: td(await sealed.seal(data, pw, purpose, sealed.FAST_PARAMS)) });
}

// A wallet made in the browser (with a record in escrow and a structured record).
const w = wallet.newWallet({
  server: 'http://127.0.0.1:8100', adminFingerprint: new Uint8Array(16).fill(3), accountId: new Uint8Array(16).fill(4),
  token: new Uint8Array(32).fill(5), contact: 'js reporter \u2028 café', minSerial: 7,
  accountSeed: hx(V2.accounts[0].seed), certificate: hx(V2.accounts[0].certificate),
});
const r1 = wallet.addRecord(w, 'what happened, from the browser 😀', '2026-11-25T10:00:00+00:00');
r1.escrow = {
  entry_id: b64uEncode(new Uint8Array(16).fill(6)), identifiers: ['Target@Example.org'], canonical: ['email:target@example.org'],
  quorum: 3, body_key: b64uEncode(new Uint8Array(32).fill(8)), status: 'sending', received_at: '2026-11-25T10:00:01+00:00',
  pending: { entry_id: 'x', quorum: 3, tags: [] }, pending_replace: false, receipts: [],
};
wallet.addRecord(w, '', '2026-11-26T10:00:00+00:00', { details: { what: 'a thing', where: 'a place' }, attachments: [{ name: 'n.txt', type: 'text/plain', data: te('hi') }] });
const walletPw = 'js wallet passphrase';
out.wallet = { passphrase: walletPw, wallet_bytes: hex(wallet.walletToBytes(w)), blob: td(await wallet.sealWallet(w, walletPw, sealed.FAST_PARAMS)) };

const K = C.counselor_key_file;
const keys = { name: 'JS Counselor Ünal', seed: hx(K.seed), server: 'http://127.0.0.1:8100', token: new Uint8Array(32).fill(9), adminFingerprint: new Uint8Array(16).fill(3), minSerial: 7 };
const keyPw = 'js counselor passphrase';
out.counselor_key = { passphrase: keyPw, key_bytes: hex(counselorKey.counselorKeyToBytes(keys)), blob: td(await counselorKey.sealCounselorKey(keys, keyPw, sealed.FAST_PARAMS)) };

// Three reporters name the same person with quorum 3 (reporter 2 names two people), protocol v2:
// shares from the key servers (played from the v2 vectors' test-only secrets), one request each.
const d = await v2Deployment();
const target = { typed: 'Target@Example.org', canonical: 'email:target@example.org' };
const other = { typed: '(555) 123-4567', canonical: 'phone:+15551234567' };
const servers = keyServers(d);
const viaServers = async (url, init) => servers.answer(String(url), init);
const entries = [];
for (const [i, label] of [[1, 'A'], [2, 'B'], [3, 'C']]) {
  const idents = i === 2 ? [target, other] : [target];
  const ev = await evaluate(d, idents.map((x) => te(x.canonical)), account(label), { fetch: viaServers });
  const s = await entry.sealEntry({
    deployment: d, identifiers: idents, oprfOutputs: ev.outputs, quorumShares: ev.shares,
    record: `js record ${i} \u2028\u2029 "quoted" \\ 😀 \u0000`, contact: `js${i}@example.net`, quorum: 3,
    ...(i === 3 ? { details: { what: 'what', when: 'when', where: 'where', witnesses: 'w' }, attachments: [{ name: 'p.png', type: 'image/png', data: new Uint8Array([137, 80, 78, 71]) }] } : {}),
  });
  entries.push({ abscissa: hex(bls.scalarToBytes(ev.x)), body_key: hex(s.bodyKey), submission: entry.submissionPayload(s) });
}
out.quorum = { tag: hex(matching.matchTag(hx(V2.oprf_outputs[target.canonical]))), entries,
  counselor_seeds: V2.counselors.map((c) => c.seed) };

// Bodies encoded in JS for Python to re-encode.
out.bodies = C.bodies.cases.map((c) => hex(entry.encodeBody({ record: c.record + ' js', identifiers: c.identifiers, canonical: c.canonical, contact: c.contact, writtenAt: c.written_at })));

// `node --test web/test/` also runs this file (Node runs every .js under test/): then it only
// checks that sealing works, without printing.
if (!process.env.NODE_TEST_CONTEXT) process.stdout.write(JSON.stringify(out) + '\n');
