// The browser SDK's cryptography against tests/vectors/interop.json (the
// same file tests/test_interop_vectors.py checks against the Python SDK), and
// the protocol v2 values of tests/vectors/entry_v2_interop.json where v2 changed
// them (limits, body version, wallet format, matching). The v1 matching, envelope,
// entry and key-server tests went with v1: entry_v2.test.js has their v2 versions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argon2id } from '@noble/hashes/argon2.js';
import { VECTORS, deploymentFromDoc, hx } from './helpers.js';
import {
  ConsilienceError, DecryptionError, InvalidInput, VerificationError,
  b64uDecode, b64uEncode, hexEncode, i2osp, utf8Decode,
} from '../src/sdk/index.js';
import * as oprf from '../src/sdk/crypto/oprf.js';
import * as threshold from '../src/sdk/crypto/threshold_oprf.js';
import * as kdf from '../src/sdk/crypto/kdf.js';
import * as aead from '../src/sdk/crypto/aead.js';
import * as shamir from '../src/sdk/crypto/shamir.js';
import * as matching from '../src/sdk/protocol/matching.js';
import * as hpke from '../src/sdk/crypto/hpke.js';
import * as entry from '../src/sdk/protocol/entry.js';
import * as evaluation from '../src/sdk/protocol/evaluation.js';
import * as accounts from '../src/sdk/protocol/accounts.js';
import { V2 } from './v2_vectors.js';
import * as sealed from '../src/sdk/crypto/sealed.js';
import * as wallet from '../src/sdk/clients/wallet.js';
import * as counselorKey from '../src/sdk/clients/counselor_key.js';
import { dumps } from '../src/sdk/protocol/pyjson.js';
import { ORDER } from '../src/sdk/crypto/ristretto.js';

const C = VECTORS.crypto;
const hex = hexEncode;
const big = (s) => BigInt(s);
const te = (s) => new TextEncoder().encode(s);

// --- constants and encodings ------------------------------------------------

test('constants match the Python SDK', () => {
  const k = C.constants;
  const L = V2.limits;
  assert.equal(L.MAX_BODY_BYTES, entry.MAX_BODY_BYTES);
  assert.equal(L.MAX_IDENTIFIERS, entry.MAX_IDENTIFIERS);
  assert.equal(L.MAX_QUORUM_LIMIT, entry.MAX_QUORUM_LIMIT);
  assert.equal(L.ENTRY_ID_BYTES, entry.ENTRY_ID_BYTES);
  assert.equal(L.WRAPPED_BYTES, entry.WRAPPED_BYTES);
  assert.equal(L.MAX_ELEMENTS, evaluation.MAX_ELEMENTS);
  assert.equal(L.FRESHNESS_SECONDS, evaluation.FRESHNESS_SECONDS);
  assert.equal(L.CERTIFICATE_BYTES, accounts.CERTIFICATE_BYTES);
  assert.equal(k.HPKE_PUBLIC_KEY_BYTES, hpke.PUBLIC_KEY_BYTES);
  assert.equal(k.HPKE_ENC_BYTES, hpke.ENC_BYTES);
  assert.equal(k.HPKE_SUITE_ID, hex(hpke.SUITE_ID));
  assert.equal(k.SEALED_FORMAT, sealed.FORMAT);
  const d = sealed.DEFAULT_PARAMS;
  assert.deepEqual(k.SEALED_DEFAULTS, [d.memoryCostKib, d.iterations, d.lanes]);
  assert.deepEqual(k.SEALED_BOUNDS, [sealed.MIN_MEMORY_COST_KIB, sealed.MAX_MEMORY_COST_KIB, sealed.MIN_ITERATIONS,
    sealed.MAX_ITERATIONS, sealed.MIN_LANES, sealed.MAX_LANES]);
  assert.equal(k.SEALED_MAX_DATA_BYTES, sealed.MAX_DATA_BYTES);
  assert.equal(V2.wallet_file.format, wallet.WALLET_FORMAT);
  assert.equal(k.WALLET_PURPOSE, wallet.WALLET_PURPOSE);
  assert.equal(k.COUNSELOR_KEY_FORMAT, counselorKey.COUNSELOR_KEY_FORMAT);
  assert.equal(k.COUNSELOR_KEY_PURPOSE, counselorKey.COUNSELOR_KEY_PURPOSE);
  assert.equal(k.KDF_SALT, hex(kdf.SALT));
  assert.equal(big(k.ORDER), ORDER);
});

test('i2osp and base64url as protocol/encoding.py', () => {
  for (const c of C.encoding.i2osp) assert.equal(hex(i2osp(c.value, c.length)), c.hex);
  for (const c of C.encoding.i2osp_rejected) assert.throws(() => i2osp(c.value, c.length), InvalidInput);
  for (const c of C.encoding.b64u) {
    assert.equal(b64uEncode(hx(c.hex)), c.text);
    assert.equal(hex(b64uDecode(c.text)), c.hex);
  }
  for (const t of C.encoding.b64u_rejected) assert.throws(() => b64uDecode(t), InvalidInput, JSON.stringify(t));
  assert.throws(() => b64uDecode('AAAA', 2), InvalidInput);
});

test('error classes form the Python hierarchy', () => {
  assert.ok(new DecryptionError('x') instanceof VerificationError);
  assert.ok(new VerificationError('x') instanceof ConsilienceError);
  assert.ok(new InvalidInput('x') instanceof ConsilienceError);
  assert.equal(new InvalidInput('x').name, 'InvalidInput');
});

// --- OPRF ----------------------------------------------------------------------

function rfcSuite(mode) {
  return C.oprf_rfc9497.suites.find((s) => s.mode === mode && s.identifier === 'ristretto255-SHA512');
}

for (const mode of [0, 1]) {
  test(`RFC 9497 ristretto255-SHA512 mode ${mode} vectors`, () => {
    const s = rfcSuite(mode);
    assert.ok(s && s.vectors.length >= 2);
    const { secretKey, publicKey } = oprf.deriveKeyPair(hx(s.seed), hx(s.keyInfo), mode);
    assert.equal(hex(secretKey), s.skSm);
    if (mode === 1) assert.equal(hex(publicKey), s.pkSm);
    for (const v of s.vectors) {
      const split = (f) => v[f].split(',').map(hx);
      const inputs = split('Input');
      const blinds = split('Blind');
      const blinded = inputs.map((x, i) => oprf.blindWith(x, mode, blinds[i]).blinded);
      assert.deepEqual(blinded.map(hex), v.BlindedElement.split(','));
      const evaluated = split('EvaluationElement');
      if (mode === 0) {
        assert.deepEqual(blinded.map((b) => hex(oprf.blindEvaluate(secretKey, b))), v.EvaluationElement.split(','));
        const out = inputs.map((x, i) => oprf.finalize(x, blinds[i], evaluated[i]));
        assert.deepEqual(out.map(hex), v.Output.split(','));
      } else {
        const proof = hx(v.Proof.proof);
        const out = oprf.voprfFinalize(inputs, blinds, evaluated, blinded, publicKey, proof);
        assert.deepEqual(out.map(hex), v.Output.split(','));
        const bad = proof.slice();
        bad[5] ^= 1;
        assert.throws(() => oprf.voprfFinalize(inputs, blinds, evaluated, blinded, publicKey, bad), VerificationError);
      }
      inputs.forEach((x, i) => assert.equal(hex(oprf.evaluate(secretKey, x, mode)), v.Output.split(',')[i]));
    }
  });
}

test('identity and non-canonical elements are refused', () => {
  const s = rfcSuite(1);
  const v = s.vectors[0];
  assert.throws(() => oprf.finalize(hx(v.Input), hx(v.Blind), new Uint8Array(32)), InvalidInput);
  assert.throws(() => oprf.finalize(hx(v.Input), new Uint8Array(32), hx(v.EvaluationElement)), InvalidInput);
  assert.throws(() => oprf.finalize(hx(v.Input), hx(v.Blind), new Uint8Array(32).fill(0xff)), InvalidInput);
});

function partialOf(p) {
  return { index: p.index, evaluated: p.evaluated.map(hx), proof: hx(p.proof) };
}

test('2-of-3 threshold combine matches the Python combine and the group key', () => {
  const T = C.threshold_oprf;
  const shares = new Map(Object.entries(T.public_shares).map(([i, pk]) => [Number(i), hx(pk)]));
  threshold.checkPublicShares(hx(T.group_public_key), shares, T.threshold);
  const blinded = T.blinded.map(hx);
  const inputs = T.inputs.map(hx);
  inputs.forEach((x, j) => assert.equal(hex(oprf.blindWith(x, oprf.MODE_VOPRF, hx(T.blinds[j])).blinded), T.blinded[j]));
  for (const [subset, combinedHex] of Object.entries(T.combined)) {
    const chosen = T.partials.filter((p) => subset.split(',').map(Number).includes(p.index)).map(partialOf);
    const { combined, rejected } = threshold.combine(blinded, chosen, shares, T.threshold);
    assert.deepEqual(rejected, []);
    assert.deepEqual(combined.map(hex), combinedHex);
    const outputs = inputs.map((x, j) => oprf.finalize(x, hx(T.blinds[j]), combined[j]));
    assert.deepEqual(outputs.map(hex), T.outputs);
  }
  // A liar (valid proof, but under another server's share) is skipped, not combined.
  const partials = [partialOf(T.partials[0]), partialOf(T.liar), partialOf(T.partials[2])];
  const { combined, rejected } = threshold.combine(blinded, partials, shares, T.threshold);
  assert.deepEqual(rejected, [2]);
  assert.deepEqual(combined.map(hex), T.combined_skipping_liar);
  // Group evaluation with the dealt key equals the threshold output.
  inputs.forEach((x, j) => assert.equal(hex(oprf.evaluate(hx(T.secret_key), x, oprf.MODE_VOPRF)), T.outputs[j]));
  // Too few valid answers.
  assert.throws(() => threshold.combine(blinded, [partialOf(T.partials[0]), partialOf(T.liar)], shares, 2), VerificationError);
  // Inconsistent public shares are caught.
  const wrong = new Map(shares);
  wrong.set(3, shares.get(1));
  assert.throws(() => threshold.checkPublicShares(hx(T.group_public_key), wrong, T.threshold), VerificationError);
});

// --- KDF, AEAD, Shamir, matching ----------------------------------------------

test('labelled HKDF-SHA512 as crypto/kdf.py', () => {
  for (const c of C.kdf) assert.equal(hex(kdf.derive(hx(c.ikm), c.label, hx(c.context), c.length)), c.okm);
  assert.throws(() => kdf.derive(new Uint8Array(), 'x', new Uint8Array(), 32), InvalidInput);
  assert.throws(() => kdf.derive(new Uint8Array(1), 'é', new Uint8Array(), 32), InvalidInput);
  assert.throws(() => kdf.derive(new Uint8Array(1), 'x', new Uint8Array(), 255 * 64 + 1), InvalidInput);
});

test('AEAD opens Python-sealed messages; JS-sealed round trip; tampering fails', () => {
  for (const c of C.aead_sealed) {
    assert.equal(hex(aead.open(hx(c.key), hx(c.sealed), hx(c.aad))), c.plaintext);
    const bad = hx(c.sealed);
    bad[bad.length - 1] ^= 1;
    assert.throws(() => aead.open(hx(c.key), bad, hx(c.aad)), DecryptionError);
    const again = aead.seal(hx(c.key), hx(c.plaintext), hx(c.aad));
    assert.equal(again.length, hx(c.plaintext).length + aead.OVERHEAD);
    assert.equal(hex(aead.open(hx(c.key), again, hx(c.aad))), c.plaintext);
  }
  assert.throws(() => aead.open(new Uint8Array(32), new Uint8Array(27), new Uint8Array()), DecryptionError);
});

test('Shamir over the scalar field as crypto/shamir.py', () => {
  const S = C.shamir;
  const coeffs = S.coefficients.map(big);
  for (const [x, y] of S.evaluations) assert.equal(shamir.evaluatePolynomial(coeffs, big(x)), big(y));
  const sub = new Map(S.evaluations.slice(0, 4).map(([x, y]) => [big(x), big(y)]));
  const lambdas = shamir.lagrangeAtZero(sub.keys());
  assert.deepEqual([...lambdas].map(([x, l]) => [x.toString(), l.toString()]), S.lagrange_at_zero);
  assert.equal(shamir.interpolateAtZero(sub).toString(), S.interpolate_at_zero);
  assert.deepEqual(shamir.interpolatePolynomial(sub).map(String), S.interpolate_polynomial);
  const split = shamir.split(coeffs[0], 3, 5, coeffs.slice(1, 3));
  assert.deepEqual(Object.fromEntries([...split].map(([i, y]) => [String(i), String(y)])), S.split);
  assert.throws(() => shamir.lagrangeAtZero([1n, 1n]), InvalidInput);
  assert.throws(() => shamir.lagrangeAtZero([0n, 1n]), InvalidInput);
});

test('matching tags as protocol/matching.py (v2: only the tag is derived from the OPRF output)', () => {
  for (const [canonical, y] of Object.entries(V2.oprf_outputs)) assert.equal(hex(matching.matchTag(hx(y))), V2.tags[canonical]);
  assert.deepEqual(Object.keys(matching).sort(), ['TAG_BYTES', 'matchTag']);
});

// --- HPKE ---------------------------------------------------------------------

test('X-Wing HPKE: draft-ietf-hpke-pq vectors (keys, deterministic seal, open)', async () => {
  const vs = C.hpke.xwing_vectors.vectors;
  assert.ok(vs.length >= 1);
  for (const v of vs) {
    assert.equal(v.kem_id, hpke.KEM_ID);
    assert.equal(v.suite_id, hex(hpke.SUITE_ID));
    assert.equal(hex(await hpke.publicKeyBytes(hx(v.skRm))), v.pkRm);
    const e = v.encryptions[0];
    const ct = await hpke.seal(hx(v.pkRm), hx(e.pt), hx(v.info), { ekm: hx(v.ikmE), aad: hx(e.aad) });
    assert.equal(hex(ct), v.enc + e.ct);
    assert.equal(hex(await hpke.open(hx(v.skRm), hx(v.enc + e.ct), hx(v.info), { aad: hx(e.aad) })), e.pt);
  }
});

test('HPKE keys, key ids; Python-sealed ciphertexts open; JS-sealed round trip', async () => {
  for (const k of C.hpke.keys) {
    assert.equal(hex(await hpke.publicKeyBytes(hx(k.seed))), k.public_key);
    assert.equal(hex(await hpke.keyId(hx(k.public_key))), k.key_id);
  }
  for (const bad of C.hpke.rejected_public_keys) await assert.rejects(hpke.seal(hx(bad), te('x'), te('i')), InvalidInput);
  for (const c of C.hpke_sealed) {
    assert.equal(hex(await hpke.open(hx(c.seed), hx(c.ciphertext), hx(c.info))), c.plaintext);
    await assert.rejects(hpke.open(hx(c.seed), hx(c.ciphertext), te('other info')), DecryptionError);
    const pk = await hpke.publicKeyBytes(hx(c.seed));
    const ct = await hpke.seal(pk, hx(c.plaintext), hx(c.info));
    assert.equal(ct.length, hx(c.plaintext).length + hpke.CIPHERTEXT_OVERHEAD);
    assert.equal(hex(await hpke.open(hx(c.seed), ct, hx(c.info))), c.plaintext);
  }
  await assert.rejects(hpke.open(new Uint8Array(32), new Uint8Array(100), te('')), DecryptionError);
});

// --- entry format ----------------------------------------------------------------

test('body bytes equal Python Body.to_bytes (v 2; U+2028/2029, controls, astral) and lone surrogates are refused', () => {
  for (const c of V2.bodies.cases) {
    const bytes = entry.encodeBody({ record: c.record, identifiers: c.identifiers, canonical: c.canonical, contact: c.contact, writtenAt: c.written_at });
    assert.equal(hex(bytes), c.hex, JSON.stringify(c.record));
    const back = entry.decodeBody(bytes);
    assert.equal(back.record, c.record);
    assert.deepEqual(back.identifiers, c.identifiers);
  }
  for (const r of C.bodies.rejected_records) {
    assert.throws(() => entry.encodeBody({ record: r, identifiers: [], canonical: [], contact: '', writtenAt: '' }), InvalidInput);
  }
  assert.throws(() => entry.decodeBody(te('{"v":1}')), { message: 'unknown body version' });
  assert.throws(() => entry.decodeBody(new Uint8Array([0xff])), InvalidInput);
});

test('Python-style JSON: separators, ensure_ascii, key order by code point', () => {
  assert.equal(dumps({ b: 1, a: [true, null, 'é\u2028😀'] }), '{"b": 1, "a": [true, null, "\\u00e9\\u2028\\ud83d\\ude00"]}');
  assert.equal(dumps({ '\uff01': 1, '😀': 2, a: {} }, { sortKeys: true, ensureAscii: false, separators: [',', ':'] }),
    '{"a":{},"\uff01":1,"😀":2}');
  assert.equal(dumps({ a: [1, 2], b: [] }, { indent: 2 }), '{\n  "a": [\n    1,\n    2\n  ],\n  "b": []\n}');
  assert.throws(() => dumps({ a: 1.5 }), InvalidInput);
});

test('Argon2id RFC 9106 vector (@noble/hashes)', () => {
  const v = C.sealed.rfc9106;
  const tag = argon2id(hx(v.password), hx(v.salt), { t: v.iterations, m: v.memory_kib, p: v.lanes, dkLen: v.tag_length, key: hx(v.secret), personalization: hx(v.ad) });
  assert.equal(hex(tag), v.tag);
});

test('sealed container: AAD, NFC passphrase, Python-sealed files open, bounds checked first', async () => {
  for (const [purpose, ad] of Object.entries(C.sealed.aad)) assert.equal(hex(sealed.aad(purpose)), ad);
  assert.equal(hex(sealed.passphraseBytes(C.sealed.nfc.typed)), C.sealed.nfc.nfc_utf8);
  for (const f of C.sealed_files) {
    let progress = 0;
    const pt = await sealed.open(f.blob, f.passphrase, f.purpose, (p) => { progress = p; });
    assert.equal(hex(pt), f.plaintext);
    assert.ok(progress > 0);
    await assert.rejects(sealed.open(f.blob, f.passphrase + 'x', f.purpose), DecryptionError);
    await assert.rejects(sealed.open(f.blob, f.passphrase, f.purpose + 'x'), DecryptionError);
  }
  const doc = JSON.parse(C.sealed_files[0].blob);
  doc.kdf.memory_cost_kib = 1024 * 1024 * 1024;
  await assert.rejects(sealed.open(JSON.stringify(doc), 'p', 'counselor-key'), InvalidInput);
  await assert.rejects(sealed.open('{"format":"other"}', 'p', 'x'), InvalidInput);
  // JS-sealed: same layout as Python's json.dumps(indent=2) + "\n".
  const blob = await sealed.seal(te('data'), 'pw', 'counselor-key', sealed.FAST_PARAMS);
  const text = new TextDecoder().decode(blob);
  assert.match(text, /^\{\n  "format": "consilience-sealed\/v1",\n  "kdf": \{\n    "name": "argon2id",\n    "memory_cost_kib": 1024,\n    "iterations": 1,\n    "lanes": 1,\n    "salt": "[A-Za-z0-9+/]{22}=="\n  \},\n  "aead": "chacha20-poly1305",\n  "nonce": "[A-Za-z0-9+/]{16}",\n  "ciphertext": "[A-Za-z0-9+/=]+"\n\}\n$/);
  assert.equal(utf8Decode(await sealed.open(blob, 'pw', 'counselor-key')), 'data');
  await assert.rejects(sealed.seal(te('d'), 'pw', 'x', { memoryCostKib: 8, iterations: 1, lanes: 1 }), InvalidInput);
});

test('Python wallet file (v2: account seed and certificate) opens in JS and re-serialises to the same bytes; v1 refused by name', async () => {
  const W = V2.wallet_file;
  const w = await wallet.openWallet(W.blob, W.passphrase);
  assert.equal(hex(wallet.walletToBytes(w)), W.wallet_bytes);
  assert.equal(w.records[0].escrow.quorum, 3);
  assert.equal(w.account_seed, V2.accounts[0].seed ? b64uEncode(hx(V2.accounts[0].seed)) : null);
  assert.equal(w.certificate, b64uEncode(hx(V2.accounts[0].certificate)));
  const rec = wallet.addRecord(w, 'third', '2026-11-27T10:00:00+00:00', { details: { what: 'x', when: '' } });
  assert.match(rec.record_id, /^[0-9a-f]{8}$/);
  assert.deepEqual(rec.details, { what: 'x' });
  assert.throws(() => wallet.addRecord(w, '  ', 'now'), InvalidInput);
  const again = await wallet.openWallet(await wallet.sealWallet(w, 'pw2', sealed.FAST_PARAMS), 'pw2');
  assert.deepEqual(again, w);
  assert.throws(() => wallet.walletFromBytes(hx(W.v1_bytes)), { message: W.v1_refusal });
  assert.throws(() => wallet.walletFromBytes(te('{"format":"consilience-wallet/v2","server":"s","bogus":1}')), InvalidInput);
});

test('Python counselor key file opens in JS with the right key and key id', async () => {
  const K = C.counselor_key_file;
  const keys = await counselorKey.openCounselorKey(K.blob, K.passphrase);
  assert.equal(hex(keys.seed), K.seed);
  assert.equal(hex(keys.publicKey), K.public_key);
  assert.equal(hex(keys.keyId), K.key_id);
  assert.equal(hex(counselorKey.counselorKeyToBytes(keys)), K.key_bytes);
  await assert.rejects(counselorKey.openCounselorKey(K.blob, K.passphrase, undefined).then(() =>
    sealed.open(K.blob, K.passphrase, wallet.WALLET_PURPOSE)), DecryptionError);
  const cred = counselorKey.parseCredential(`cnslc1.${b64uEncode(new Uint8Array(32))}.${b64uEncode(new Uint8Array(16))}`);
  assert.equal(cred.token.length, 32);
  assert.throws(() => counselorKey.parseCredential('nope'), InvalidInput);
});
