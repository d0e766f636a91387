// The counselor's side of a match, protocol v2 (protocol/release.py): check shares without a
// search, recover quorum secrets, open entries. The entry being opened anchors the check: the
// shares on its own base (quorum.js openClass) are found with batched pairing checks, without
// a majority and without a cap, and the entry opens when that class has q distinct abscissas;
// others in the class open with the same secret, shares outside every class that opened are
// named bogus. Released entries are anchored in a random order; the results (opened, failed
// and bogus, in the entries' order) do not depend on it. Counselors see no account ids: an entry's abscissa, a
// per-account pseudonym, is all that tells two entries of one account apart.
import { ConsilienceError, DecryptionError } from '../errors.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { b64uDecode, b64uEncode, bytesEqual, concatBytes, hexEncode } from './encoding.js';
import * as aead from '../crypto/aead.js';
import * as hpke from '../crypto/hpke.js';
import { scalarToBytes } from '../crypto/bls12381.js';
import * as quorum from './quorum.js';
import { quorumParameters } from './deployment.js';
import { WRAP_AAD, envelopeInfo, envelopeSection, envelopeSectionIndex, openBody, parseEnvelope, wrapContext } from './entry.js';

/** A MatchDetail entry from GET /v2/matches/{id} (b64u fields) as bytes; no account id (v2 has none). */
export function matchedEntryFromJson(e) {
  return {
    entryId: b64uDecode(e.entry_id, 16, 'entry_id'),
    quorum: e.quorum,
    released: e.released,
    envelope: b64uDecode(e.envelope, undefined, 'envelope'),
    body: e.body ? b64uDecode(e.body, undefined, 'body') : null,
  };
}

/** The short pseudonym a page shows for an abscissa (32 bytes): its first 8 bytes in hex. */
export function abscissaLabel(abscissa) {
  return [...abscissa.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Open every released entry of the match under `tag` whose class reaches its quorum
 * (release.py open_match). entries: [{entryId, quorum, released, envelope, body|null}] (bytes);
 * deployment: the verified deployment. Returns {opened: [{entryId, abscissa (32 bytes), quorum,
 * body}], failed: {entryIdB64u: reason}, bogus: [entryIdB64u] (first-seen order), checks}.
 */
export async function openMatch(tag, entries, counselorSeed, keyId, deployment) {
  const params = quorumParameters(deployment);
  const { low, high } = deployment.quorumRange;
  const opened = [];
  const failed = {};
  const bogus = new Set();
  let checks = 0;
  const contents = new Map(); // b64u id → content, in entries' order
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
    if (!bytesEqual(content.entryId, e.entryId) || content.quorum !== e.quorum || envelopeSection(content, tag) === null
        || content.quorumRange.low !== low || content.quorumRange.high !== high || content.keyEpoch !== deployment.keyEpoch) {
      bogus.add(id);
      continue;
    }
    contents.set(id, content);
  }

  // Per level, the classes found so far: {members (Set of b64u ids), secret or null, why}. Classes are
  // disjoint (one base each), so a later anchor is checked only against shares in no known class, and
  // an entry already in a known class needs no check of its own.
  const classes = new Map();
  const named = new Set();
  // Anchors in a random order the submitters cannot predict (release.py: an attacker's entry anchored
  // first costs a check against every share; one anchored after the honest class only the rest).
  const anchors = shuffled(entries.filter((e) => e.released));
  for (const e of anchors) {
    const id = b64uEncode(e.entryId);
    const content = contents.get(id);
    if (!content || !e.body) {
      failed[id] = 'its envelope is missing or malformed';
      continue;
    }
    const section = envelopeSection(content, tag);
    const q = e.quorum;
    if (!classes.has(q)) classes.set(q, []);
    const known = classes.get(q);
    const hit = known.find((c) => c.members.has(id));
    if (hit) {
      if (hit.secret === null) failed[id] = hit.why;
      else await openOne(e, content, tag, hit.secret, deployment, opened, failed, bogus);
      continue;
    }
    const placed = new Set(known.flatMap((c) => [...c.members]));
    const anchor = quorum.candidate(e.entryId, section.x, section.shares.get(q));
    const candidates = [];
    for (const [otherId, other] of contents) {
      if (otherId === id || placed.has(otherId)) continue;
      const s = envelopeSection(other, tag);
      candidates.push(quorum.candidate(other.entryId, s.x, s.shares.get(q)));
    }
    let shareClass;
    try {
      shareClass = quorum.openClass(anchor, candidates, params.level(q));
    } catch (err) {
      if (!(err instanceof ConsilienceError)) throw err;
      failed[id] = `its own share is not valid (${err.message})`;
      bogus.add(id);
      continue;
    }
    checks += shareClass.checks;
    const members = new Set(shareClass.members.map(b64uEncode));
    if (!shareClass.opens) {
      const why = `only ${shareClass.abscissas} distinct accounts' shares agree with its own; quorum ${q} needs ${q}`;
      known.push({ members, secret: null, why });
      failed[id] = why;
      continue;
    }
    const secret = shareClass.secret();
    // q distinct abscissas on one base give that base's secret: if the anchor's own wrap or body does not
    // open with it, only the anchor is at fault (a genuine share with a broken wrap), not its class.
    known.push({ members, secret, why: '' });
    for (const hexId of shareClass.bogus.keys()) {
      const b = b64uEncode(hexToBytes(hexId));
      if (!placed.has(b)) named.add(b);
    }
    await openOne(e, content, tag, secret, deployment, opened, failed, bogus);
  }
  // Named only when outside every class that opened (two classes can both open: q colluding accounts on
  // a base of their own, and then neither's members are bogus); classes are disjoint, so a member of a
  // class that did not open is off the base of one that did.
  const openedMembers = new Set();
  for (const levels of classes.values()) {
    if (levels.some((c) => c.secret !== null)) {
      for (const c of levels) for (const m of c.members) (c.secret !== null ? openedMembers : named).add(m);
    }
  }
  for (const m of named) if (!openedMembers.has(m)) bogus.add(m);
  const order = new Map(entries.map((e, n) => [b64uEncode(e.entryId), n]));
  opened.sort((a, b) => order.get(b64uEncode(a.entryId)) - order.get(b64uEncode(b.entryId)));
  const failedSorted = Object.fromEntries(Object.entries(failed).sort((a, b) => order.get(a[0]) - order.get(b[0])));
  return { opened, failed: failedSorted, bogus: [...bogus], checks };
}

/** A uniformly shuffled copy (Fisher–Yates over crypto.getRandomValues). */
function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Number(BigInt('0x' + hexEncode(randomBytes(8))) % BigInt(i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function hexToBytes(h) {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

async function openOne(e, content, tag, secret, deployment, opened, failed, bogus) {
  const id = b64uEncode(e.entryId);
  const section = envelopeSection(content, tag);
  const context = wrapContext(deployment.deploymentId, content.keyEpoch, e.entryId, envelopeSectionIndex(content, tag), tag);
  let body;
  try {
    const wrapKey = quorum.unwrap(secret, section.u, context);
    const bodyKey = aead.open(wrapKey, section.wrapped, concatBytes(WRAP_AAD, e.entryId, tag));
    body = openBody(bodyKey, e.entryId, e.body);
  } catch (err) {
    if (!(err instanceof ConsilienceError) && !(err instanceof DecryptionError)) throw err;
    failed[id] = 'its shares agree but its body does not decrypt with the quorum secret';
    bogus.add(id);
    return false;
  }
  opened.push({ entryId: e.entryId, abscissa: scalarToBytes(section.x), quorum: e.quorum, body });
  return true;
}
