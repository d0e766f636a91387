// Shared helpers of the SDK tests: the interop vectors and a deployment
// object in the SDK's shape built from a deployment document (unverified;
// protocol/deployment.js verifyDeployment does the checked version for the app).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { b64uDecode, hexDecode } from '../src/sdk/protocol/encoding.js';

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
