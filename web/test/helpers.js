// Shared helpers of the SDK tests: the interop vectors and a deployment
// object in the SDK's shape built from a deployment document (unverified;
// protocol/deployment.js verifyDeployment does the checked version for the app).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkReceipt } from '../src/sdk/clients/receipts.js';
import { b64uDecode, hexDecode, hexEncode } from '../src/sdk/protocol/encoding.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..', '..');
export const VECTORS = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'vectors', 'interop.json'), 'utf8'));
export const hx = hexDecode;

/** SDK-shaped deployment from a consilience-deployment/v1 document (unverified: tests only). */
export function deploymentFromDoc(doc) {
  return {
    serial: doc.serial,
    quorum: doc.quorum,
    quorumRange: { low: doc.quorum, high: doc.max_quorum },
    threshold: doc.oprf.threshold,
    oprfPublicKey: b64uDecode(doc.oprf.public_key, 32),
    keyservers: doc.oprf.servers.map((s) => ({ index: s.index, url: s.url, publicShare: b64uDecode(s.public_share, 32) })),
    counselors: doc.counselors.map((c) => ({ name: c.name, keyId: b64uDecode(c.key_id, 16), publicKey: b64uDecode(c.public_key) })),
  };
}

/** Every receipt case of a vectors file (clients/receipts.check's results and refusals) against checkReceipt. */
export function checkReceiptCases(cases, d) {
  for (const c of cases) {
    const run = () => checkReceipt(c.text, d, hexDecode(c.entry_id), c.kind, c.content === null ? null : hexDecode(c.content));
    if (c.error !== undefined) {
      assert.throws(run, (err) => err.constructor.name === c.type && err.message === c.error, c.label);
      continue;
    }
    const r = run();
    assert.equal(r.index, BigInt(c.index), c.label);
    assert.equal(r.treeSize, BigInt(c.tree_size));
    assert.equal(hexEncode(r.rootHash), c.root_hash);
    assert.equal(hexEncode(r.leaf), c.leaf);
    assert.equal(r.event.kind, c.event);
    assert.equal(r.event.atMillis, c.at_millis);
    assert.equal(r.event.at.getTime(), c.at_millis);
  }
}
