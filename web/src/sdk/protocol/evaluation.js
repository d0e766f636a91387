// A reporter's request to one key server (protocol/evaluation.py, PROTOCOL.md §5):
// signed by the account key over the key server it is for (its identity key), the
// exact blinded elements and points it carries, a time and a nonce, so that it is
// useless to any other key server and is answered once. Byte for byte the Python
// signed bytes; the key server's checks (verify_request, the replay guard) live in
// Python only, verifyRequest here is for tests.
import { randomBytes } from '@noble/hashes/utils.js';
import { InvalidInput, VerificationError } from '../errors.js';
import { b64uEncode, concatBytes, i2osp } from './encoding.js';
import { signWithSeed, verifyCertificate } from './accounts.js';
import { ed25519Verify } from '../tlog/signed_note.js';

export const LABEL = new TextEncoder().encode('consilience-v2 evaluate');
export const FRESHNESS_SECONDS = 120;
export const NONCE_BYTES = 16;
export const ELEMENT_BYTES = 32;
export const POINT_BYTES = 48;
export const MAX_ELEMENTS = 8;

const isBytes = (v, n) => v instanceof Uint8Array && v.length === n;

/** LABEL ‖ deployment_id ‖ audience ‖ I2OSP(issued_at, 8) ‖ nonce ‖ I2OSP(n, 1) ‖ blinded… ‖ points… */
export function signedBytes(deploymentId, audience, issuedAt, nonce, blinded, points) {
  if (!isBytes(deploymentId, 16) || !isBytes(audience, 32) || !isBytes(nonce, NONCE_BYTES)) {
    throw new InvalidInput('a request names a 16-byte deployment, a 32-byte key server and a 16-byte nonce');
  }
  if (!(blinded.length >= 1 && blinded.length <= MAX_ELEMENTS) || points.length !== blinded.length) {
    throw new InvalidInput(`a request carries 1 to ${MAX_ELEMENTS} identifiers, one element and one point each`);
  }
  if (blinded.some((b) => !isBytes(b, ELEMENT_BYTES)) || points.some((p) => !isBytes(p, POINT_BYTES))) {
    throw new InvalidInput('blinded elements are 32 bytes and points 48');
  }
  if (!Number.isSafeInteger(issuedAt) || issuedAt < 0) throw new InvalidInput('issued_at is a non-negative integer');
  return concatBytes(LABEL, deploymentId, audience, i2osp(issuedAt, 8), nonce, i2osp(blinded.length, 1), ...blinded, ...points);
}

/**
 * Sign a request for the key server whose identity key is `audience`. Returns
 * {certificate, audience, issuedAt, nonce, blinded, points, signature} (bytes); `now` (unix
 * seconds) and `nonce` only for tests.
 */
export function makeRequest(seed, certificate, deploymentId, audience, blinded, points, { now = null, nonce = null } = {}) {
  const issuedAt = Math.floor(now ?? Date.now() / 1000);
  const n = nonce ?? randomBytes(NONCE_BYTES);
  const message = signedBytes(deploymentId, audience, issuedAt, n, blinded, points);
  return Object.freeze({
    certificate, audience, issuedAt, nonce: n, blinded: [...blinded], points: [...points], signature: signWithSeed(seed, message),
  });
}

/** The JSON body of POST /v2/evaluate (messages.py EvaluateRequestV2). */
export function requestJson(request) {
  return {
    certificate: b64uEncode(request.certificate), audience: b64uEncode(request.audience), issued_at: request.issuedAt,
    nonce: b64uEncode(request.nonce), blinded: request.blinded.map(b64uEncode), points: request.points.map(b64uEncode),
    signature: b64uEncode(request.signature),
  };
}

/** evaluation.verify_request (the key server's check; here for tests and fakes). Returns the certificate. */
export function verifyRequest(request, { adminPublic, deploymentId, audience, now = null }) {
  if (!isBytes(request.audience, 32) || !request.audience.every((b, i) => b === audience[i])) {
    throw new VerificationError('this request is meant for another key server');
  }
  const current = now ?? Date.now() / 1000;
  if (Math.abs(current - request.issuedAt) > FRESHNESS_SECONDS) {
    throw new VerificationError("this request is too old or from the future (check the device's clock)");
  }
  const cert = verifyCertificate(adminPublic, deploymentId, request.certificate);
  const message = signedBytes(deploymentId, request.audience, request.issuedAt, request.nonce, request.blinded, request.points);
  try {
    ed25519Verify(cert.accountKey, message, request.signature);
  } catch (exc) {
    if (!(exc instanceof VerificationError)) throw exc;
    throw new VerificationError('the request is not signed by the certified account key');
  }
  return cert;
}
