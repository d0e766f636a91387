// Protocol v2's quorum layer (protocol/quorum.py), the pure algebra over
// BLS12-381 (crypto/bls12381.js). Not wired in yet, and not exported by
// index.js: no page uses it. The Python module's docstring is the
// specification; this file follows it function by function, with the same
// DSTs, KDF label and 166-byte wrap context, so that either side opens what
// the other made (tests/vectors/quorum_v2_interop.json).
//
// Shapes (camelCase of the Python):
//   scalars and abscissas are bigints in (0, r); points are noble points,
//   decoded only through bls.g1FromBytes / g2FromBytes (subgroup-checked,
//   identity refused); bytes are Uint8Array.
//   checkCommitments(threshold, levels, servers): levels q → [C_{q,j}],
//   servers i → q → [D_{i,q,j}], as Maps or plain objects with integer keys.
//   answers for combine: i → q → Z bytes, likewise.
//
// Glue, and why:
// - Python's dataclasses become plain classes/objects; Maps keyed by numbers
//   stand for Python's int-keyed dicts, sorted like Python's (sorted(...))
//   so that "the first t" servers and "the first q" abscissas are the same.
// - open_class groups by (x, share bytes) and names entries by bytes; JS
//   Maps compare Uint8Arrays by identity, so keys here are hex strings.
// - batch coefficients: 16 random bytes, redrawn if zero, so uniform on
//   [1, 2^128) like Python's secrets.randbelow(2^128 − 1) + 1.
// - BigInt arithmetic is not constant time: blind/unblind and answer use
//   bls.mulSecret (noble's constant-time ladder) for the point side only.
import { randomBytes } from '@noble/hashes/utils.js';
import * as bls from '../crypto/bls12381.js';
import * as kdf from '../crypto/kdf.js';
import { ConsilienceError, InvalidInput, VerificationError } from '../errors.js';
import { concatBytes, hexEncode, i2osp } from './encoding.js';

const { ORDER } = bls;
const te = (s) => new TextEncoder().encode(s);

/** RFC 9380 DST of the identifier point P (suite BLS12381G1_XMD:SHA-256_SSWU_RO_). */
export const IDENTIFIER_DST = te('consilience-v2 identifier point BLS12381G1_XMD:SHA-256_SSWU_RO_');
/** hash_to_field tag for z = HashToScalar(y, "quorum base"), y the VOPRF output. */
export const QUORUM_BASE_DST = te('consilience-v2 quorum base');
/** crypto/kdf label of the wrap key W. */
export const WRAP_KEY_LABEL = 'v2 quorum wrap key';
export const WRAP_KEY_BYTES = 32;
export const MIN_LEVEL = 2;
export const MAX_LEVEL = 255;
export const MAX_KEY_SERVERS = 255;
export const BATCH_BITS = 128;
export const DEPLOYMENT_ID_BYTES = 16;
export const ENTRY_ID_BYTES = 16;
export const TAG_BYTES = 32;
export const WRAP_CONTEXT_BYTES = 16 + 4 + 16 + 1 + 32 + 1 + 96;

/** Fewer than t key servers gave answers that check; .dishonest (Map index → why) says which did not. */
export class DishonestKeyServers extends VerificationError {
  constructor(message, dishonest) {
    super(message);
    this.dishonest = new Map(dishonest);
  }
}

/** A class of shares with fewer distinct abscissas than its level: nothing opens. */
export class BelowQuorum extends ConsilienceError {}

const mod = (a) => {
  const r = a % ORDER;
  return r < 0n ? r + ORDER : r;
};

function modInverse(a) {
  // Fermat: a^(r-2) mod r (r prime); bls12381.js keeps its own inverse private
  let result = 1n;
  let base = mod(a);
  let e = ORDER - 2n;
  while (e > 0n) {
    if (e & 1n) result = (result * base) % ORDER;
    base = (base * base) % ORDER;
    e >>= 1n;
  }
  return result;
}

function batchCoefficient() {
  for (;;) {
    let k = 0n;
    for (const b of randomBytes(BATCH_BITS / 8)) k = (k << 8n) | BigInt(b);
    if (k !== 0n) return k;
  }
}

// Python's sorted(dict.items()) over int keys, from a Map or a plain object.
function sortedEntries(m) {
  const entries = m instanceof Map ? [...m.entries()] : Object.entries(m);
  return entries.map(([k, v]) => [Number(k), v]).sort((a, b) => a[0] - b[0]);
}

function isIndex(k, max) {
  return Number.isInteger(k) && k >= 1 && k <= max;
}

// -- abscissas ----------------------------------------------------------------

/** An account's abscissa: 0 < value < r, refused otherwise (never reduced). */
export function abscissaFromInt(value) {
  if (typeof value !== 'bigint') throw new InvalidInput('an abscissa is a bigint');
  if (!(value > 0n && value < ORDER)) throw new InvalidInput('an abscissa must be a nonzero field element (0 < x < r)');
  return value;
}

/** 32 bytes big-endian, 0 < x < r. */
export function abscissaFromBytes(bytes) {
  return bls.scalarFromBytes(bytes); // refuses >= r and 0
}

function abscissa(x) {
  if (typeof x !== 'bigint') throw new TypeError('an abscissa is a bigint (abscissaFromInt/FromBytes)');
  if (x === 0n) throw new InvalidInput('an abscissa must be nonzero: at 0 the polynomial is the secret');
  if (x < 0n || x >= ORDER) throw new InvalidInput('an abscissa must be below r');
  return x;
}

function powers(x, count) {
  const out = [1n];
  for (let j = 1; j < count; j++) out.push(mod(out[j - 1] * x));
  return out;
}

function isG2(p) {
  return p instanceof bls.G2Point;
}

// -- public parameters --------------------------------------------------------

/** C_{q,0..q−1}: G2 commitments to F_q's coefficients; exactly q, none the identity. */
export class LevelCommitments {
  constructor(q, coefficients) {
    if (!Number.isInteger(q) || q < MIN_LEVEL || q > MAX_LEVEL) throw new InvalidInput(`a quorum level is ${MIN_LEVEL}..${MAX_LEVEL}`);
    const cs = [...coefficients];
    if (cs.length !== q) {
      throw new VerificationError(`level ${q} must have exactly ${q} coefficient commitments, not ${cs.length} (F_q of degree exactly q−1)`);
    }
    cs.forEach((c, j) => {
      if (!isG2(c)) throw new TypeError('coefficient commitments are G2 points');
      if (c.is0()) throw new VerificationError(`level ${q}: the commitment to coefficient ${j} is the identity`);
    });
    this.q = q;
    this.coefficients = Object.freeze(cs);
    Object.freeze(this);
  }

  /** C_{q,0} = F_q(0)·G2, the KEM's public key for this level. */
  get secretCommitment() {
    return this.coefficients[0];
  }

  /** E_q(x) = Σ_j x^j·C_{q,j} = F_q(x)·G2. */
  at(x) {
    return bls.msmPublic(this.coefficients, powers(abscissa(x), this.q));
  }

  /** Σ_a w_a·E_q(x_a) as one sum over the q commitments: Σ_j γ_j·C_{q,j}, γ_j = Σ_a w_a·x_a^j. */
  combination(weights, xs) {
    if (weights.length !== xs.length) throw new InvalidInput('one weight per abscissa');
    const gammas = new Array(this.q).fill(0n);
    weights.forEach((w, a) => {
      const xv = abscissa(xs[a]);
      let acc = w;
      for (let j = 0; j < this.q; j++) {
        gammas[j] = mod(gammas[j] + acc);
        acc = mod(acc * xv);
      }
    });
    return bls.msmPublic(this.coefficients, gammas);
  }
}

const EVALUATIONS_CACHED = 64;

/** The checked public parameters of every level; made by checkCommitments. */
export class QuorumParameters {
  constructor(threshold, levels, servers) {
    this.threshold = threshold;
    this.levels = new Map(sortedEntries(levels));
    this.servers = new Map(sortedEntries(servers).map(([i, lv]) => [i, new Map(sortedEntries(lv).map(([q, ps]) => [q, Object.freeze([...ps])]))]));
    // x → Map q → E_q(x); public values only, so a cache is harmless (Python: QuorumParameters._evaluations)
    this._evaluations = new Map();
    checkParameters(this);
  }

  get serverIndices() {
    return [...this.servers.keys()];
  }

  level(q) {
    const found = this.levels.get(q);
    if (!found) throw new InvalidInput(`quorum level ${q} is not in this deployment's range`);
    return found;
  }

  /** E_q(x) for every level, cached per abscissa. */
  evaluations(x) {
    abscissa(x);
    let found = this._evaluations.get(x);
    if (!found) {
      found = new Map([...this.levels].map(([q, level]) => [q, level.at(x)]));
      if (this._evaluations.size >= EVALUATIONS_CACHED) this._evaluations.delete(this._evaluations.keys().next().value);
      this._evaluations.set(x, found);
    }
    return found;
  }

  /** E_{i,q}(x) = e_{i,q}(x)·G2. */
  serverAt(i, q, x) {
    const points = this.servers.get(i).get(q);
    return bls.msmPublic(points, powers(abscissa(x), points.length));
  }
}

/** Check the published commitments (protocol/quorum.py check_commitments) and return QuorumParameters. */
export function checkCommitments(threshold, levels, servers) {
  const lv = new Map(sortedEntries(levels).map(([q, cs]) => [q, new LevelCommitments(q, cs)]));
  return new QuorumParameters(threshold, lv, servers);
}

function checkParameters(params) {
  const t = params.threshold;
  const n = params.servers.size;
  if (!Number.isInteger(t) || t < 1 || t > n) throw new InvalidInput(`need 1 <= threshold <= number of key servers (${n})`);
  if (params.levels.size === 0) throw new InvalidInput('no quorum levels');
  for (const [q, level] of params.levels) {
    if (!(level instanceof LevelCommitments) || level.q !== q) throw new InvalidInput(`level ${q} is filed under the wrong quorum`);
  }
  const seen = new Set();
  for (const level of params.levels.values()) {
    for (const c of level.coefficients) {
      const encoded = hexEncode(bls.g2ToBytes(c));
      if (seen.has(encoded)) throw new VerificationError(`level ${level.q} repeats a coefficient commitment: levels must be independent polynomials`);
      seen.add(encoded);
    }
  }
  const levelKeys = [...params.levels.keys()];
  for (const [i, serverLevels] of params.servers) {
    if (!isIndex(i, MAX_KEY_SERVERS)) throw new InvalidInput(`key server index ${i} is not 1..${MAX_KEY_SERVERS}`);
    const have = [...serverLevels.keys()];
    if (have.length !== levelKeys.length || have.some((q) => !params.levels.has(q))) {
      throw new VerificationError(`key server ${i} has commitments for levels [${have.join(', ')}], the deployment for [${levelKeys.join(', ')}]`);
    }
    for (const [q, points] of serverLevels) {
      if (points.length !== q) throw new VerificationError(`key server ${i}, level ${q}: ${points.length} commitments, ${q} expected`);
      if (points.some((p) => !isG2(p))) throw new TypeError('share commitments are G2 points');
      if (points.some((p) => p.is0())) throw new VerificationError(`key server ${i}, level ${q}: a share commitment is the identity`);
    }
  }
  const indices = [...params.servers.keys()];
  const base = indices.slice(0, t);
  const others = indices.slice(t);
  const baseXs = base.map(BigInt);
  // Each relation is linear in the commitments, so one random combination over every (q, j) checks all.
  const keys = [];
  for (const q of levelKeys) for (let j = 0; j < q; j++) keys.push([q, j]);
  const weights = keys.map(batchCoefficient);
  const combined = (get) => bls.msmPublic(keys.map(([q, j]) => get(q)[j]), weights);
  const master = combined((q) => params.levels.get(q).coefficients);
  const perServer = new Map(indices.map((i) => [i, combined((q) => params.servers.get(i).get(q))]));
  const relationHolds = (target, at, points) => {
    const lambdas = bls.lagrangeCoefficients(baseXs, at);
    return bls.msmPublic(base.map((k) => points.get(k)), lambdas).equals(target);
  };
  const ok = relationHolds(master, 0n, perServer) && others.every((i) => relationHolds(perServer.get(i), BigInt(i), perServer));
  if (ok) return;
  for (const [q, j] of keys) { // locate it, for a message that says what is wrong
    const column = new Map(indices.map((i) => [i, params.servers.get(i).get(q)[j]]));
    if (!relationHolds(params.levels.get(q).coefficients[j], 0n, column)) {
      throw new VerificationError(`level ${q}, coefficient ${j}: key servers [${base.join(', ')}]'s commitments do not interpolate to the master commitment`);
    }
    for (const i of others) {
      if (!relationHolds(column.get(i), BigInt(i), column)) {
        throw new VerificationError(`level ${q}, coefficient ${j}: key server ${i}'s commitment is not on the polynomial through key servers [${base.join(', ')}]'s`);
      }
    }
  }
  throw new VerificationError("the key servers' commitments do not interpolate to the master commitments");
}

// -- reporter and key server --------------------------------------------------

/** P = hash_to_g1(identifier, IDENTIFIER_DST); identifier is the canonical identifier's bytes. */
export function identifierPoint(identifier) {
  if (!(identifier instanceof Uint8Array) || identifier.length === 0) {
    throw new InvalidInput('the identifier must be non-empty bytes (its canonical form)');
  }
  return bls.hashToG1(identifier, IDENTIFIER_DST);
}

function zOf(oprfOutput) {
  if (!(oprfOutput instanceof Uint8Array) || oprfOutput.length === 0) throw new InvalidInput('the VOPRF output must be non-empty bytes');
  const z = bls.hashToScalar(oprfOutput, QUORUM_BASE_DST);
  if (z === 0n) throw new InvalidInput('degenerate quorum base'); // probability 1/r
  return z;
}

/** P* = z·P with z = hash_to_scalar(y, QUORUM_BASE_DST): the base every share sits on. */
export function quorumBase(identifier, oprfOutput) {
  return bls.mulSecret(identifierPoint(identifier), zOf(oprfOutput));
}

/**
 * P for the identifier and B = r·P with a fresh nonzero r. Returns {point, r, blinded}: blinded (48
 * bytes) goes to the key servers, r never leaves the device. `r` may be given only by tests (vectors).
 */
export function blind(identifier, r = bls.randomScalar()) {
  const point = identifierPoint(identifier);
  if (typeof r !== 'bigint' || r <= 0n || r >= ORDER) throw new InvalidInput('the blind is a nonzero scalar');
  return Object.freeze({ point, r, blinded: bls.g1ToBytes(bls.mulSecret(point, r)) });
}

/** The key server's side: Z_q = e_q(x)·B for every level (Map q → 48 bytes). In the browser only for tests. */
export function answer(shares, x, blinded) {
  abscissa(x);
  const b = bls.g1FromBytes(blinded);
  const out = new Map();
  for (const [q, coefficients] of sortedEntries(shares)) {
    if (q < MIN_LEVEL || q > MAX_LEVEL || coefficients.length !== q) throw new InvalidInput(`level ${q} needs exactly ${q} coefficient shares`);
    let value = 0n;
    for (const c of [...coefficients].reverse()) {
      if (typeof c !== 'bigint') throw new TypeError('coefficient shares are bigints');
      value = mod(value * x + c);
    }
    out.set(q, bls.g1ToBytes(bls.mulSecret(b, value)));
  }
  return out;
}

/** Σ_q c_q·Σ_j x^j·commitments[q][j], one multi-scalar sum over every level's commitments. */
function levelsAt(x, cs, commitments) {
  const points = [];
  const scalars = [];
  [...commitments.values()].forEach((level, a) => {
    powers(x, level.length).forEach((power, j) => {
      points.push(level[j]);
      scalars.push(mod(cs[a] * power));
    });
  });
  return bls.msmPublic(points, scalars);
}

/**
 * Combine key servers' answers (index → q → Z bytes) into checked shares on P* (quorum.py combine).
 * Returns {x, base, shares: Map q → G1 point, dishonest: Map index → why}; shareBytes(q) gives 48 bytes.
 * Throws DishonestKeyServers when fewer than t servers remain.
 */
export function combine(params, request, oprfOutput, x, answers) {
  if (!(params instanceof QuorumParameters)) throw new TypeError('combine needs checked QuorumParameters');
  abscissa(x);
  const z = zOf(oprfOutput);
  const b = bls.g1FromBytes(request.blinded);
  const levelKeys = [...params.levels.keys()];
  const dishonest = new Map();
  const decoded = new Map();
  for (const [i, levels] of sortedEntries(answers)) {
    if (!params.servers.has(i)) {
      dishonest.set(i, 'not a key server of this deployment');
      continue;
    }
    const given = sortedEntries(levels);
    if (given.length !== levelKeys.length || given.some(([q]) => !params.levels.has(q))) {
      dishonest.set(i, `answered levels [${given.map(([q]) => q).join(', ')}], not [${levelKeys.join(', ')}]`);
      continue;
    }
    const byLevel = new Map(given);
    try {
      decoded.set(i, new Map(levelKeys.map((q) => [q, bls.g1FromBytes(byLevel.get(q))])));
    } catch (exc) {
      if (!(exc instanceof InvalidInput)) throw exc;
      dishonest.set(i, `an answer is not a point of G1: ${exc.message}`);
    }
  }
  const fail = () => {
    const named = [...dishonest].sort((a, c) => a[0] - c[0]).map(([i, why]) => `key server ${i}: ${why}`).join('; ') || 'none answered';
    return new DishonestKeyServers(`fewer than ${params.threshold} key servers gave answers that check (${decoded.size} did; ${named})`, dishonest);
  };
  if (decoded.size < params.threshold) throw fail();
  const unblind = mod(z * modInverse(request.r));
  const base = bls.mulSecret(request.point, z);
  const g2 = bls.G2Point.BASE;

  const combined = (servers) => {
    const xs = servers.map(BigInt);
    return new Map(levelKeys.map((q) => [q, bls.mulSecret(bls.interpolateG1(xs, servers.map((i) => decoded.get(i).get(q))), unblind)]));
  };
  const holds = (shares) => {
    const cs = levelKeys.map(batchCoefficient);
    const left = bls.msmPublic(levelKeys.map((q) => shares.get(q)), cs);
    const right = bls.msmPublic([...params.evaluations(x).values()], cs);
    return !left.is0() && bls.pairingsEqual(left, g2, base, right);
  };

  let shares = combined([...decoded.keys()].slice(0, params.threshold));
  if (!holds(shares)) {
    for (const i of [...decoded.keys()]) {
      const cs = levelKeys.map(batchCoefficient);
      const left = bls.msmPublic(levelKeys.map((q) => decoded.get(i).get(q)), cs);
      const right = levelsAt(x, cs, params.servers.get(i));
      if (!bls.pairingsEqual(left, g2, b, right)) {
        dishonest.set(i, 'its answers do not match its published commitments');
        decoded.delete(i);
      }
    }
    if (decoded.size < params.threshold) throw fail();
    shares = combined([...decoded.keys()].slice(0, params.threshold));
    if (!holds(shares)) throw new VerificationError("combined shares do not check although each key server's did");
  }
  if ([...shares.values()].some((s) => s.is0())) throw new VerificationError('degenerate share'); // F_q(x) = 0: 1/r
  return Object.freeze({
    x, base, shares, dishonest, // insertion order, as Python's dict
    shareBytes: (q) => bls.g1ToBytes(shares.get(q)),
  });
}

// -- KEM ----------------------------------------------------------------------

function checkWrapContext(context) {
  const { deploymentId, keyEpoch, entryId, section, tag } = context;
  for (const [name, value, size] of [['deploymentId', deploymentId, DEPLOYMENT_ID_BYTES], ['entryId', entryId, ENTRY_ID_BYTES], ['tag', tag, TAG_BYTES]]) {
    if (!(value instanceof Uint8Array) || value.length !== size) throw new InvalidInput(`${name} must be ${size} bytes`);
  }
  for (const [name, value] of [['keyEpoch', keyEpoch], ['section', section]]) {
    if (!Number.isInteger(value)) throw new InvalidInput(`${name} must be an integer`);
  }
}

/**
 * The 166-byte KDF context (quorum.py WrapContext.encode):
 * deployment_id (16) ‖ I2OSP(key_epoch, 4) ‖ entry_id (16) ‖ I2OSP(section, 1) ‖ tag (32) ‖ I2OSP(q, 1) ‖ U (96).
 * context is {deploymentId, keyEpoch, entryId, section, tag}.
 */
export function encodeWrapContext(context, q, u) {
  checkWrapContext(context);
  if (!(u instanceof Uint8Array) || u.length !== 96) throw new InvalidInput('U must be 96 bytes');
  const out = concatBytes(context.deploymentId, i2osp(context.keyEpoch, 4), context.entryId, i2osp(context.section, 1),
    context.tag, i2osp(q, 1), u);
  if (out.length !== WRAP_CONTEXT_BYTES) throw new Error('wrap context has the wrong length');
  return out;
}

function wrapKey(kBytes, q, u, context) {
  return kdf.derive(kBytes, WRAP_KEY_LABEL, encodeWrapContext(context, q, u), WRAP_KEY_BYTES);
}

/**
 * Encapsulation to F_q(0)·P* by a reporter holding P* (combine's .base): fresh ρ every call,
 * U = ρ·G2, K = e(ρ·P*, C_{q,0}), W = KDF(GT(K), WRAP_KEY_LABEL, context ‖ q ‖ U). Returns {u, key}.
 * `rho` may be given only by tests (vectors).
 */
export function wrap(level, base, context, rho = bls.randomScalar()) {
  if (!(level instanceof LevelCommitments)) throw new TypeError("wrap needs the level's checked commitments");
  if (!(base instanceof bls.G1Point) || base.is0()) throw new InvalidInput('the base P* must be a point of G1 other than the identity');
  checkWrapContext(context);
  if (typeof rho !== 'bigint' || rho <= 0n || rho >= ORDER) throw new InvalidInput('ρ is a nonzero scalar');
  const u = bls.g2ToBytes(bls.mulSecret(bls.G2Point.BASE, rho));
  const k = bls.pairing(bls.mulSecret(base, rho), level.secretCommitment);
  return Object.freeze({ u, key: wrapKey(bls.gtToBytes(k), level.q, u, context) });
}

/**
 * S = F_q(0)·P* from q shares [[x, G1 point], …] of distinct abscissas on one base; the first share of
 * each abscissa and the first q abscissas are used. Returns {q, point}; BelowQuorum with fewer.
 */
export function recoverSecret(level, shares) {
  const distinct = new Map();
  for (const [x, s] of shares) if (!distinct.has(abscissa(x))) distinct.set(x, s);
  if (distinct.size < level.q) throw new BelowQuorum(`level ${level.q} opens with ${level.q} distinct abscissas; ${distinct.size} given`);
  const xs = [...distinct.keys()].slice(0, level.q);
  const point = bls.interpolateG1(xs, xs.map((x) => distinct.get(x)));
  if (point.is0()) throw new VerificationError('the shares interpolate to the identity');
  return Object.freeze({ q: level.q, point });
}

/** The counselor's side: U decoded with the subgroup check, K = e(S, U), then W as in wrap. */
export function unwrap(secret, u, context) {
  const uPoint = bls.g2FromBytes(u);
  return wrapKey(bls.gtToBytes(bls.pairing(secret.point, uPoint)), secret.q, bls.g2ToBytes(uPoint), context);
}

// -- opening without a search -------------------------------------------------

/** One entry's share at one level: {entryId, x, share} (bytes, abscissa, 48 bytes). */
export function candidate(entryId, x, share) {
  abscissa(x);
  if (!(entryId instanceof Uint8Array)) throw new InvalidInput('entryId must be bytes');
  if (!(share instanceof Uint8Array)) throw new InvalidInput('share must be bytes');
  return Object.freeze({ entryId, x, share });
}

/**
 * Keep the candidates whose shares are on the anchor's base; name the rest (quorum.py open_class):
 * one anchored batched check e(Σ c_a·σ_a, E_q(x_e)) = e(σ_e, Σ_j γ_j·C_{q,j}), halving a set that fails.
 * Returns {level, members: [entryId bytes], bogus: Map hex(entryId) → why, abscissas, checks, opens, secret()}.
 */
export function openClass(anchor, candidates, level) {
  if (!(level instanceof LevelCommitments)) throw new TypeError("openClass needs the level's checked commitments");
  abscissa(anchor.x);
  let anchorShare;
  try {
    anchorShare = bls.g1FromBytes(anchor.share);
  } catch (exc) {
    if (!(exc instanceof InvalidInput)) throw exc;
    throw new VerificationError(`the anchor's share is not a point of G1: ${exc.message}`);
  }
  const eAnchor = level.at(anchor.x);
  const bogus = new Map();
  const ids = new Map(); // hex(entryId) → bytes, to hand back bytes
  const keyOf = (x, share) => `${x.toString(16)}:${hexEncode(share)}`;
  const anchorKey = keyOf(anchor.x, anchor.share);
  // identical (x, share) pairs need one check between them
  const groups = new Map([[anchorKey, []]]);
  const points = new Map([[anchorKey, { x: anchor.x, point: anchorShare }]]);
  for (const c of candidates) {
    abscissa(c.x);
    const id = hexEncode(c.entryId);
    ids.set(id, c.entryId);
    const key = keyOf(c.x, c.share);
    if (!points.has(key)) {
      try {
        points.set(key, { x: c.x, point: bls.g1FromBytes(c.share) });
      } catch (exc) {
        if (!(exc instanceof InvalidInput)) throw exc;
        bogus.set(id, `share is not a point of G1: ${exc.message}`);
        continue;
      }
      groups.set(key, []);
    }
    groups.get(key).push(id);
  }
  const toCheck = [...groups.keys()].filter((k) => k !== anchorKey);
  let checks = 0;
  const holds = (keys) => {
    checks += 1;
    const cs = keys.map(batchCoefficient);
    const left = bls.msmPublic(keys.map((k) => points.get(k).point), cs);
    const right = level.combination(cs, keys.map((k) => points.get(k).x));
    return bls.pairingsEqual(left, eAnchor, anchorShare, right);
  };
  const bad = new Set();
  // quorum.py's sift: halving finds b bad among N in about 2·b·log₂ N checks; once both halves of a
  // failing set fail (most bad: anchoring on an attacker's share), the rest of it is checked one share
  // at a time, so the worst case stays near N checks. `failed`: the set is already known to fail.
  const sift = (keys, failed = false) => {
    if (keys.length === 0 || (!failed && holds(keys))) return;
    if (keys.length === 1) {
      bad.add(keys[0]);
      return;
    }
    const half = Math.floor(keys.length / 2);
    const failing = [keys.slice(0, half), keys.slice(half)].filter((part) => !holds(part));
    if (failing.length === 2 && keys.length > 4) {
      for (const part of failing) {
        for (const key of part) if (part.length === 1 || !holds([key])) bad.add(key);
      }
      return;
    }
    for (const part of failing) sift(part, true);
  };
  sift(toCheck);
  const anchorId = hexEncode(anchor.entryId);
  ids.set(anchorId, anchor.entryId);
  const members = [anchorId];
  const shares = new Map([[anchor.x, anchorShare]]);
  for (const key of toCheck) {
    if (bad.has(key)) {
      for (const id of groups.get(key)) if (!bogus.has(id)) bogus.set(id, "share is not on the anchor's base (not equivalent to its share)");
      continue;
    }
    for (const id of groups.get(key)) if (!members.includes(id)) members.push(id);
    const { x, point } = points.get(key);
    if (!shares.has(x)) shares.set(x, point);
  }
  for (const id of groups.get(anchorKey)) if (!members.includes(id)) members.push(id);
  for (const id of members) bogus.delete(id); // an entry listed twice, once well: it is in the class
  const shareList = [...shares.entries()];
  return Object.freeze({
    level,
    members: members.map((id) => ids.get(id)),
    bogus,
    abscissas: shares.size,
    checks,
    opens: shares.size >= level.q,
    secret: () => recoverSecret(level, shareList),
  });
}
