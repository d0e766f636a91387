// A witness's key in either vkey form, in the browser SDK as in Python (tests/tlog/test_witness_keys.py):
// type 0x04 (cosignature/v1) or the ordinary Ed25519 type 0x01, both read as a cosignature/v1 key whose
// key ID is over 0x04 (C2SP tlog-cosignature). Vectors: the DEV:witness-little-garden key in both forms
// (0x01 from transparency-dev/tesseract cmd/tesseract/README.md, 0x04 from transparency-dev/witness-network)
// and the real cosigned checkpoint in tests/vectors/signed_notes.json that carries its cosignature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ROOT, hx } from './helpers.js';
import { V2 } from './v2_vectors.js';
import { InvalidInput, VerificationError } from '../src/sdk/errors.js';
import { b64Encode, concatBytes, hexEncode } from '../src/sdk/protocol/encoding.js';
import { validateDeployment, verifyDeployment } from '../src/sdk/protocol/deployment.js';
import {
  EM_DASH, SIG_COSIGNATURE_V1, SIG_ED25519, ed25519Vkey, keyId, openCheckpoint, parseVkey, witnessKey,
} from '../src/sdk/tlog/signed_note.js';

const NOTES = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'vectors', 'signed_notes.json'), 'utf8'));
const REAL = NOTES.cosigned_checkpoint;
const GARDEN = 'transparency.dev/DEV:witness-little-garden';
const GARDEN_01 = `${GARDEN}+4b7fca75+AStusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM`;
const GARDEN_04 = `${GARDEN}+d8042a87+BCtusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM`;

const te = (s) => new TextEncoder().encode(s);
const vkeyOf = (name, type, pub) => `${name}+${hexEncode(keyId(name, type, pub))}+${b64Encode(concatBytes(Uint8Array.of(type), pub))}`;
const line = (name, id, sig) => `${EM_DASH} ${name} ${b64Encode(concatBytes(id, sig))}\n`;

function cosignatureLine(body, name, seed, time) {
  const t = new Uint8Array(8);
  new DataView(t.buffer).setBigUint64(0, BigInt(time));
  const sig = ed25519.sign(concatBytes(te(`cosignature/v1\ntime ${time}\n`), te(body)), seed);
  return line(name, keyId(name, SIG_COSIGNATURE_V1, ed25519.getPublicKey(seed)), concatBytes(t, sig));
}

const LOG_SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const ORIGIN = 'consilience.example/log';
const LOG_VKEY = ed25519Vkey(ORIGIN, ed25519.getPublicKey(LOG_SEED));
const BODY = `${ORIGIN}\n42\n${b64Encode(new Uint8Array(32))}\n`;
const SIGNED = `${BODY}\n${line(ORIGIN, keyId(ORIGIN, SIG_ED25519, ed25519.getPublicKey(LOG_SEED)), ed25519.sign(te(BODY), LOG_SEED))}`;

test('a real cosignature verifies under both forms of the witness key, under the 0x04 key id', () => {
  assert.equal(parseVkey(GARDEN_01).sigType, SIG_ED25519);
  for (const vkey of [GARDEN_01, GARDEN_04]) {
    assert.equal(hexEncode(witnessKey(vkey).keyId), 'd8042a87');
    const opened = openCheckpoint(REAL.note, REAL.log_vkey, { witnessVkeys: [vkey] });
    assert.deepEqual(opened.cosignatures.map((c) => [c.name, hexEncode(c.keyId)]), [[GARDEN, 'd8042a87']]);
  }
});

test('our own witness key: both forms verify its cosignature; a plain signature or a forgery does not pass', () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
  const pub = ed25519.getPublicKey(seed);
  const note = SIGNED + cosignatureLine(BODY, 'w.example', seed, 77);
  for (const vkey of [vkeyOf('w.example', SIG_COSIGNATURE_V1, pub), vkeyOf('w.example', SIG_ED25519, pub)]) {
    const opened = openCheckpoint(note, LOG_VKEY, { witnessVkeys: [vkey] });
    assert.deepEqual(opened.cosignatures.map((c) => [c.name, Number(c.timestamp)]), [['w.example', 77]]);
    const forged = line('w.example', keyId('w.example', SIG_COSIGNATURE_V1, pub), concatBytes(new Uint8Array(8), ed25519.sign(te(BODY), seed)));
    assert.throws(() => openCheckpoint(SIGNED + forged, LOG_VKEY, { witnessVkeys: [vkey] }), VerificationError);
  }
  assert.throws(() => openCheckpoint(note, LOG_VKEY, { witnessVkeys: [vkeyOf('w.example', SIG_COSIGNATURE_V1, pub), vkeyOf('w.example', SIG_ED25519, pub)] }),
    /listed twice/);
  assert.throws(() => openCheckpoint(note, LOG_VKEY, { witnessVkeys: [LOG_VKEY] }), /the log's own key is listed as a witness/);
});

test('a vkey of another type is refused with a clear message', () => {
  const pub = ed25519.getPublicKey(LOG_SEED);
  for (const type of [0x02, 0x05, 0x06]) {
    assert.throws(() => witnessKey(vkeyOf('w.example', type, pub)),
      (e) => e instanceof InvalidInput && new RegExp(`unsupported verifier key type 0x0${type}.*0x01.*0x04`).test(e.message));
  }
});

test('the deployment check takes witness keys in either form, each once', async () => {
  const d = await verifyDeployment(V2.published, hx(V2.admin.fingerprint));
  const pub = ed25519.getPublicKey(Uint8Array.from({ length: 32 }, (_, i) => i * 3));
  const plain = vkeyOf('w1.example', SIG_ED25519, pub);
  await validateDeployment({ ...d, log: { ...d.log, witnesses: [plain, GARDEN_04] } });
  await assert.rejects(validateDeployment({ ...d, log: { ...d.log, witnesses: [plain, vkeyOf('w1.example', SIG_COSIGNATURE_V1, pub)] } }),
    /a witness appears twice/);
  await assert.rejects(validateDeployment({ ...d, log: { ...d.log, witnesses: [vkeyOf('w1.example', 0x02, pub)] } }),
    /unsupported verifier key type 0x02/);
});
