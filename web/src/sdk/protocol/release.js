// The counselor's side of a match (protocol/release.py): recover quorum
// secrets from reporters' shares, open entries, name bogus shares. A
// candidate secret is accepted only when it reproduces the target entry's
// key-check value; every other share is then tested against the recovered
// polynomial.
import { ConsilienceError } from '../errors.js';
import { b64uDecode, b64uEncode, bytesEqual, concatBytes } from './encoding.js';
import * as aead from '../crypto/aead.js';
import * as hpke from '../crypto/hpke.js';
import { WRAP_AAD, envelopeInfo, envelopeSection, openBody, parseEnvelope } from './entry.js';
import { abscissa, keyCheck, wrapKey } from './matching.js';
import { evaluatePolynomial, interpolateAtZero, interpolatePolynomial } from '../crypto/shamir.js';

export const MAX_SUBSETS = 10_000;

/** A MatchDetail entry from GET /v1/matches/{id} (b64u fields) as bytes. */
export function matchedEntryFromJson(e) {
  return {
    entryId: b64uDecode(e.entry_id, 16, 'entry_id'),
    accountId: b64uDecode(e.account_id, 16, 'account_id'),
    quorum: e.quorum,
    released: e.released,
    envelope: b64uDecode(e.envelope, undefined, 'envelope'),
    body: e.body ? b64uDecode(e.body, undefined, 'body') : null,
  };
}

/**
 * entries: [{entryId, accountId, quorum, released, envelope, body|null}] (bytes).
 * Returns {opened: [{entryId, accountId, quorum, body}], failed: {entryIdB64u: reason},
 * bogus: [entryIdB64u]} (bogus in first-seen order).
 */
export async function openMatch(tag, entries, counselorSeed, keyId) {
  const opened = [];
  const failed = {};
  const bogus = new Set();
  const contents = new Map();
  const points = [];
  for (const e of entries) {
    const id = b64uEncode(e.entryId);
    let content;
    try {
      content = parseEnvelope(await hpke.open(counselorSeed, e.envelope, envelopeInfo(e.entryId, keyId)));
    } catch (err) {
      if (!(err instanceof ConsilienceError)) throw err;
      bogus.add(id);
      continue;
    }
    const section = envelopeSection(content, tag);
    if (!bytesEqual(content.entryId, e.entryId) || content.quorum !== e.quorum || section === null) {
      bogus.add(id);
      continue;
    }
    if (section.x !== abscissa(e.accountId, tag)) {
      bogus.add(id);
      continue;
    }
    contents.set(id, content);
    points.push({ id, x: section.x, shares: section.shares });
  }

  const secrets = new Map(); // quorum -> polynomial coefficients found so far
  for (const e of entries) {
    if (!e.released) continue;
    const id = b64uEncode(e.entryId);
    const content = contents.get(id);
    if (!content || !e.body) {
      failed[id] = 'its envelope is missing or malformed';
      continue;
    }
    const section = envelopeSection(content, tag);
    const q = e.quorum;
    let poly = secrets.get(q);
    if (!poly || !bytesEqual(keyCheck(poly[0], tag, q), section.kcv)) {
      poly = recover(points, q, tag, section.kcv);
      if (!poly) {
        failed[id] = `no ${q} consistent shares reproduce its key check (bogus shares, or the cap of ` +
          `${MAX_SUBSETS} candidate sets was reached)`;
        continue;
      }
      secrets.set(q, poly);
      for (const p of points) {
        if (p.shares.has(q) && evaluatePolynomial(poly, p.x) !== p.shares.get(q)) bogus.add(p.id);
      }
    }
    try {
      const bodyKey = aead.open(wrapKey(poly[0], tag, q), section.wrapped, concatBytes(WRAP_AAD, e.entryId, tag));
      const body = openBody(bodyKey, e.entryId, e.body);
      opened.push({ entryId: e.entryId, accountId: e.accountId, quorum: q, body });
    } catch (err) {
      if (!(err instanceof ConsilienceError)) throw err;
      failed[id] = 'the quorum secret is right but the body does not decrypt';
      bogus.add(id);
    }
  }
  return { opened, failed, bogus: [...bogus] };
}

/** Python's itertools.combinations(items, r), lexicographic by position. */
function* combinations(items, r) {
  const n = items.length;
  if (r > n) return;
  const idx = Array.from({ length: r }, (_, i) => i);
  yield idx.map((i) => items[i]);
  for (;;) {
    let i = r - 1;
    while (i >= 0 && idx[i] === i + n - r) i--;
    if (i < 0) return;
    idx[i]++;
    for (let j = i + 1; j < r; j++) idx[j] = idx[j - 1] + 1;
    yield idx.map((k) => items[k]);
  }
}

/** Search q-subsets of distinct abscissae for one matching the key check. */
function recover(points, q, tag, kcv) {
  const candidates = points.filter((p) => p.shares.has(q));
  let tried = 0;
  for (const subset of combinations(candidates, q)) {
    if (tried >= MAX_SUBSETS) return null;
    tried++;
    if (new Set(subset.map((p) => p.x.toString())).size !== q) continue;
    const chosen = new Map(subset.map((p) => [p.x, p.shares.get(q)]));
    if (bytesEqual(keyCheck(interpolateAtZero(chosen), tag, q), kcv)) return interpolatePolynomial(chosen);
  }
  return null;
}
