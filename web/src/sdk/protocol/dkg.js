// The part of protocol/dkg.py a client needs to check a deployment document's quorum keys:
// the key-generation parameters and their digest (with the run's kind and the digest of the result
// a renewal renews), and the parsing and signature check of a round-4 confirmation
// ("consilience-v2 dkg confirm": transcript, QUAL, the digest of the published commitments and the
// abscissa-key check). Deals, complaints and answers are the
// key servers' business (Python only); a validly signed message of another kind found among
// the confirmations is refused as not a confirmation.
import { sha256 } from '@noble/hashes/sha2.js';
import { InvalidInput, VerificationError } from '../errors.js';
import { bytesEqual, concatBytes, i2osp, lp2 } from './encoding.js';
import { PUBLIC_KEY_BYTES as HPKE_PUBLIC_KEY_BYTES } from '../crypto/hpke.js';
import { ed25519Verify } from '../tlog/signed_note.js';

const te = (s) => new TextEncoder().encode(s);
export const DEAL_LABEL = te('consilience-v2 dkg deal');
export const COMPLAINT_LABEL = te('consilience-v2 dkg complaint');
export const ANSWER_LABEL = te('consilience-v2 dkg answer');
export const CONFIRM_LABEL = te('consilience-v2 dkg confirm');
const PARAMS_LABEL = te('consilience-v2 dkg parameters');
const COMMITMENTS_LABEL = te('consilience-v2 dkg public commitments');
const LABELS = [DEAL_LABEL, COMPLAINT_LABEL, ANSWER_LABEL, CONFIRM_LABEL];
export const SIGNATURE_BYTES = 64;
export const DIGEST_BYTES = 32;

/** What a run does (PROTOCOL.md §7.2): generate new secrets, or renew the shares of the published ones. */
export const GENERATE = 0;
export const REFRESH = 1;
export const RESHARE = 2;
export const KINDS = Object.freeze({ [GENERATE]: 'generate', [REFRESH]: 'refresh', [RESHARE]: 'reshare' });
const NO_DIGEST = new Uint8Array(DIGEST_BYTES);

/**
 * dkg.Parameters, checked as its __post_init__: {deploymentId, epoch, threshold, low, high,
 * participants: [{index, identityKey, hpkePublicKey}], kind (GENERATE, REFRESH or RESHARE; GENERATE
 * if left out), previousDigest (the commitments digest of the result a renewal renews; 32 zero bytes
 * when generating)}, plus n and digest. Without the renewed result itself (dkg.Previous, which
 * clients do not need): such parameters read confirmations only.
 */
export function parameters({ deploymentId, epoch, threshold, low, high, participants, kind = GENERATE,
  previousDigest = NO_DIGEST }) {
  if (!(deploymentId instanceof Uint8Array) || deploymentId.length < 1 || deploymentId.length > 255) {
    throw new InvalidInput('deployment id must be 1 to 255 bytes');
  }
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new InvalidInput('epoch must fit in 64 bits');
  const n = participants.length;
  if (!(n >= 1 && n <= 255)) throw new InvalidInput('a DKG needs 1 to 255 key servers');
  if (participants.some((p, k) => p.index !== k + 1)) throw new InvalidInput('key servers must have indices 1..n, in order');
  if (!(threshold >= 1 && threshold <= n)) throw new InvalidInput('threshold must be between 1 and the number of key servers');
  if (!(low >= 1 && low <= high && high <= 64)) throw new InvalidInput('quorum range must satisfy 1 <= low <= high <= 64');
  for (const p of participants) {
    if (p.identityKey.length !== 32) throw new InvalidInput(`key server ${p.index}: identity key must be 32 bytes`);
    if (p.hpkePublicKey.length !== HPKE_PUBLIC_KEY_BYTES) {
      throw new InvalidInput(`key server ${p.index}: HPKE public key must be ${HPKE_PUBLIC_KEY_BYTES} bytes`);
    }
  }
  const keys = new Set(participants.map((p) => p.identityKey.join(',')));
  if (keys.size !== n) throw new InvalidInput('key servers must have distinct identity keys');
  if (!Object.hasOwn(KINDS, kind) || !(previousDigest instanceof Uint8Array) || previousDigest.length !== DIGEST_BYTES) {
    throw new InvalidInput('unknown kind of key-generation run');
  }
  if ((kind === GENERATE) !== bytesEqual(previousDigest, NO_DIGEST)) {
    throw new InvalidInput('a renewal names the result it renews, and only a renewal does');
  }
  const parts = [lp2(PARAMS_LABEL), lp2(deploymentId), i2osp(epoch, 8), i2osp(n, 1), i2osp(threshold, 1), i2osp(low, 1), i2osp(high, 1)];
  for (const p of participants) parts.push(i2osp(p.index, 1), p.identityKey, lp2(p.hpkePublicKey));
  // Only the renewed result's digest, not the previous key servers (dkg.py says why).
  parts.push(i2osp(kind, 1), previousDigest);
  const digest = sha256(concatBytes(...parts));
  return Object.freeze({
    deploymentId, epoch, threshold, low, high, participants: Object.freeze([...participants]), n, kind, previousDigest, digest,
  });
}

function participant(params, index) {
  if (!(index >= 1 && index <= params.n)) throw new InvalidInput(`no key server ${index}`);
  return params.participants[index - 1];
}

class Reader {
  constructor(data) {
    this.data = data;
    this.pos = 0;
  }

  take(size) {
    if (size < 0 || this.pos + size > this.data.length) throw new InvalidInput('DKG message truncated');
    const out = this.data.slice(this.pos, this.pos + size);
    this.pos += size;
    return out;
  }

  int(size) {
    let v = 0;
    for (const b of this.take(size)) v = v * 256 + b;
    return v;
  }

  lp2() {
    return this.take(this.int(2));
  }

  end() {
    if (this.pos !== this.data.length) throw new InvalidInput('trailing bytes after a DKG message');
  }
}

/**
 * dkg.commitments_digest: SHA-256 over the published result, what a confirmation signs besides the
 * transcript: lp2(label) ‖ for q ascending: u8 q ‖ C_{q,0..q−1} ‖ for i ascending: u8 i ‖ for q
 * ascending: Y_{q,0..q−1}(i) ‖ oprf_share_i[32] ‖ oprf_public_key[32] ‖ abscissa_check[32], every
 * G2 point its 96 compressed bytes. levels: Map q → [bytes]; servers: Map i → Map q → [bytes];
 * oprfShares: Map i → 32 bytes (the same holders as servers).
 */
export function commitmentsDigest(levels, servers, oprfPublicKey, oprfShares, abscissaCheck) {
  const byKey = (m) => [...m].sort((a, b) => a[0] - b[0]);
  const holders = (m) => [...m.keys()].sort((a, b) => a - b).join();
  if (holders(servers) !== holders(oprfShares)) throw new InvalidInput('every holder has commitments and a VOPRF public share');
  const parts = [lp2(COMMITMENTS_LABEL)];
  for (const [q, cs] of byKey(levels)) parts.push(i2osp(q, 1), ...cs);
  for (const [i, lv] of byKey(servers)) {
    parts.push(i2osp(i, 1));
    for (const [, cs] of byKey(lv)) parts.push(...cs);
    parts.push(oprfShares.get(i));
  }
  parts.push(oprfPublicKey, abscissaCheck);
  return sha256(concatBytes(...parts));
}

/**
 * A confirmation {author, transcript, qualified, commitments, abscissaCheck, raw} from its bytes, signed by
 * its author's identity key under these parameters (dkg.parse restricted to confirmations); InvalidInput or
 * VerificationError with Python's messages otherwise. qualified: the run's qualified dealers (in a renewal,
 * indices of the previous key servers, so not bounded by this run's n).
 */
export function parseConfirmation(params, data) {
  if (!(data instanceof Uint8Array) || data.length < SIGNATURE_BYTES) throw new InvalidInput('DKG message too short');
  const body = data.slice(0, -SIGNATURE_BYTES);
  const signature = data.slice(-SIGNATURE_BYTES);
  const r = new Reader(body);
  const label = r.lp2();
  if (!LABELS.some((l) => bytesEqual(l, label))) throw new InvalidInput('not a consilience-v2 DKG message (unknown label)');
  if (!bytesEqual(r.lp2(), params.deploymentId) || r.int(8) !== params.epoch || !bytesEqual(r.take(DIGEST_BYTES), params.digest)) {
    throw new InvalidInput('DKG message for another deployment, epoch or set of parameters');
  }
  const author = r.int(1);
  const dealt = bytesEqual(label, DEAL_LABEL) || bytesEqual(label, ANSWER_LABEL);
  if (dealt && params.kind !== GENERATE) {
    // dkg.Parameters.dealers: a renewal's dealers are the previous holders, which only dkg.Previous names
    throw new InvalidInput("this renewal's parameters lack the result it renews (only its confirmations can be read with them)");
  }
  const signer = dealt ? params.participants.find((p) => p.index === author) : participant(params, author);
  if (!signer) throw new InvalidInput(`key server ${author} does not deal in this run`);
  ed25519Verify(signer.identityKey, body, signature);
  if (!bytesEqual(label, CONFIRM_LABEL)) throw new VerificationError('a quorum-key confirmation is not a confirmation');
  const name = new TextDecoder().decode(label);
  try {
    const transcript = r.take(DIGEST_BYTES);
    const qualified = [...r.take(r.int(1))];
    const commitments = r.take(DIGEST_BYTES);
    const abscissaCheck = r.take(DIGEST_BYTES);
    r.end();
    const sorted = [...new Set(qualified)].sort((a, b) => a - b);
    if (!qualified.length || qualified.join() !== sorted.join() || qualified[0] < 1
        || (params.kind === GENERATE && qualified[qualified.length - 1] > params.n)) {
      throw new InvalidInput('qualified set not 1 to n distinct indices in increasing order');
    }
    return Object.freeze({ author, transcript, qualified, raw: data, commitments, abscissaCheck });
  } catch (exc) {
    if (!(exc instanceof InvalidInput)) throw exc;
    throw new InvalidInput(`key server ${author}'s ${name}: ${exc.message}`);
  }
}
