// C2SP tlog-tiles (tlog/tiles.py): tile paths, the tiles a tree has, and proofs built from
// fetched tiles, so the browser can check the log from static files any cache serves.
// A level-L tile holds up to 256 hashes of tree level 8L; nodes between those levels are
// recombined from one tile's hashes. Nothing fetched is trusted: a proof built from wrong
// hashes fails verifyInclusion / verifyConsistency against the signed root.
// Sizes and indices are BigInt inside (Numbers are accepted), as in merkle.js.
import { InvalidInput, VerificationError } from '../errors.js';
import { HASH_SIZE, MAX_TREE_SIZE, leafHash, nodeHash, verifyConsistency, verifyInclusion } from './merkle.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
export const MAX_TILE_LEVEL = 63;
const H = 8n;
const W = 256n;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const GROUP = /^[0-9]{3}$/;
const MAX_GROUPS = 7;

function big(value, what) {
  if (typeof value === 'bigint') return value;
  if (Number.isSafeInteger(value)) return BigInt(value);
  throw new InvalidInput(`${what} must be an integer`);
}

function tileStart(level, index) {
  return index << (H * (BigInt(level) + 1n));
}

/** A tile {level, index (bigint), width, entries}; checks what tlog/tiles.py Tile checks. */
export function tile(level, index, width = TILE_WIDTH, entries = false) {
  const n = big(index, 'a tile index');
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL || (entries && level !== 0)) {
    throw new InvalidInput(`a tile's level is 0 … ${MAX_TILE_LEVEL} (0 for an entry bundle)`);
  }
  if (n < 0n || tileStart(level, n) >= MAX_TREE_SIZE) {
    throw new InvalidInput("a tile's index puts it inside a tree of fewer than 2^64 leaves");
  }
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new InvalidInput(`a tile's width is 1 … ${TILE_WIDTH}`);
  return { level, index: n, width, entries };
}

/** N as three-digit path elements, all but the last prefixed with x (1234067 → x001/x234/067). */
export function encodeIndex(index) {
  let n = big(index, 'a tile index');
  if (n < 0n) throw new InvalidInput('a tile index is non-negative');
  const groups = [String(n % 1000n).padStart(3, '0')];
  while (n >= 1000n) {
    n /= 1000n;
    groups.push(`x${String(n % 1000n).padStart(3, '0')}`);
  }
  return groups.reverse().join('/');
}

/** The path of a tile below the log's prefix, e.g. tile/1/x001/234.p/17 or tile/entries/000. */
export function tilePath(t) {
  const head = t.entries ? 'tile/entries' : `tile/${t.level}`;
  return `${head}/${encodeIndex(t.index)}${t.width === TILE_WIDTH ? '' : `.p/${t.width}`}`;
}

function decimal(text, what) {
  if (!DECIMAL.test(text) || text.length > 20) throw new InvalidInput(`a ${what} is a decimal number without leading zeros`);
  return Number(text);
}

/** The tile a path names; InvalidInput for anything but the canonical form (as tlog/tiles.py parse_path). */
export function parseTilePath(path) {
  if (typeof path !== 'string' || !/^[\x00-\x7f]*$/.test(path)) throw new InvalidInput('a tile path is ASCII');
  const parts = path.split('/');
  if (parts.length < 3 || parts[0] !== 'tile') {
    throw new InvalidInput('a tile path is tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]');
  }
  const entries = parts[1] === 'entries';
  const level = entries ? 0 : decimal(parts[1], 'tile level');
  if (level > MAX_TILE_LEVEL) throw new InvalidInput(`a tile's level is 0 … ${MAX_TILE_LEVEL}`);
  let elements = parts.slice(2);
  let width = TILE_WIDTH;
  if (elements.length >= 2 && elements[elements.length - 2].endsWith('.p')) {
    width = decimal(elements[elements.length - 1], 'tile width');
    if (width < 1 || width >= TILE_WIDTH) throw new InvalidInput(`a partial tile's width is 1 … ${TILE_WIDTH - 1}`);
    elements = [...elements.slice(0, -2), elements[elements.length - 2].slice(0, -2)];
  }
  if (elements.length > MAX_GROUPS) throw new InvalidInput('a tile index below 2^64 has at most 7 groups of 3 digits');
  let index = 0n;
  elements.forEach((element, position) => {
    const last = position === elements.length - 1;
    const digits = last ? element : element.slice(1);
    if ((!last && !element.startsWith('x')) || !GROUP.test(digits)) {
      throw new InvalidInput("a tile index is written as 3-digit groups, all but the last prefixed with 'x'");
    }
    if (position === 0 && !last && digits === '000') throw new InvalidInput('a tile index has no leading x000 group');
    index = index * 1000n + BigInt(digits);
  });
  if (tileStart(level, index) >= MAX_TREE_SIZE) throw new InvalidInput('the tile would begin beyond 2^64 leaves');
  return tile(level, index, width, entries);
}

function checkSize(size) {
  const s = big(size, 'a tree size');
  if (s < 0n || s > MAX_TREE_SIZE) throw new InvalidInput('tree size must be an integer in [0, 2^64)');
  return s;
}

/** Tile (level, index) as the tree of `size` serves it (full or its partial), or null if it has none. */
export function servedTile(size, level, index, entries = false) {
  const count = checkSize(size) >> (H * BigInt(level));
  const first = big(index, 'a tile index') * W;
  if (first >= count) return null;
  const left = count - first;
  return tile(level, first / W, left >= W ? TILE_WIDTH : Number(left), entries);
}

/** Every hash tile of the tree of `size`, level by level, each level's partial tile last. */
export function treeTiles(size) {
  const s = checkSize(size);
  const out = [];
  for (let level = 0; (s >> (H * BigInt(level))) > 0n; level++) {
    const count = s >> (H * BigInt(level));
    for (let n = 0n; n < count / W; n++) out.push(tile(level, n));
    if (count % W) out.push(tile(level, count / W, Number(count % W)));
  }
  return out;
}

/** Every entry bundle of the tree of `size`. */
export function treeBundles(size) {
  return treeTiles(size).filter((t) => t.level === 0).map((t) => tile(0, t.index, t.width, true));
}

/** The hashes of a tile of `width`; VerificationError unless it is exactly that long. */
export function decodeTile(data, width) {
  if (!(data instanceof Uint8Array) || data.length !== width * HASH_SIZE) {
    throw new VerificationError(`a tile of width ${width} is ${width * HASH_SIZE} bytes, got ${data?.length}`);
  }
  const out = [];
  for (let i = 0; i < data.length; i += HASH_SIZE) out.push(data.slice(i, i + HASH_SIZE));
  return out;
}

/** An entry bundle: each entry as a big-endian uint16 length and its bytes. */
export function encodeBundle(entries) {
  if (entries.length < 1 || entries.length > TILE_WIDTH) throw new InvalidInput(`an entry bundle holds 1 … ${TILE_WIDTH} entries`);
  const total = entries.reduce((n, e) => n + 2 + e.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const e of entries) {
    if (e.length > 0xffff) throw new InvalidInput('an entry in a bundle is at most 65535 bytes');
    out[offset] = e.length >> 8;
    out[offset + 1] = e.length & 0xff;
    out.set(e, offset + 2);
    offset += 2 + e.length;
  }
  return out;
}

/** The entries of a bundle; VerificationError if truncated, or not `width` entries when given. */
export function decodeBundle(data, width = null) {
  const entries = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + 2 > data.length) throw new VerificationError("an entry bundle ends inside an entry's length");
    const length = (data[offset] << 8) | data[offset + 1];
    offset += 2;
    if (offset + length > data.length) throw new VerificationError('an entry bundle ends inside an entry');
    entries.push(data.slice(offset, offset + length));
    offset += length;
  }
  if (width !== null && entries.length !== width) throw new VerificationError(`the entry bundle holds ${entries.length} entries, not ${width}`);
  if (entries.length > TILE_WIDTH) throw new VerificationError(`an entry bundle holds at most ${TILE_WIDTH} entries`);
  return entries;
}

/** Node (level, index) from the hashes of the one tile under it (2^r aligned hashes, r < 8). */
export function hashFromTile(t, hashes, level, index) {
  const above = level - TILE_HEIGHT * t.level;
  if (above < 0 || above >= TILE_HEIGHT) throw new InvalidInput(`node level ${level} is not in tile level ${t.level}`);
  const lo = Number((big(index, 'a node index') << BigInt(above)) - t.index * W);
  const hi = lo + 2 ** above;
  if (lo < 0 || hi > Math.min(t.width, hashes.length)) throw new InvalidInput(`node (${level}, ${index}) is not in tile ${tilePath(t)}`);
  let row = hashes.slice(lo, hi);
  while (row.length > 1) {
    const next = [];
    for (let i = 0; i < row.length; i += 2) next.push(nodeHash(row[i], row[i + 1]));
    row = next;
  }
  return row[0];
}

/** The tile, as the tree of `size` serves it, from which node (level, index) is computed. */
export function nodeTile(size, level, index) {
  const above = BigInt(level % TILE_HEIGHT);
  const n = big(index, 'a node index');
  const t = servedTile(size, Math.floor(level / TILE_HEIGHT), (n << above) / W);
  if (t === null || ((n + 1n) << above) > t.index * W + BigInt(t.width)) {
    throw new InvalidInput(`node (${level}, ${n}) is not complete in a tree of ${size} leaves`);
  }
  return t;
}

/** A node reader over the tiles of the tree of `size`, fetched with `await fetch(path)` → Uint8Array. */
export class TileNodes {
  constructor(fetch, size) {
    this.fetch = fetch;
    this.size = checkSize(size);
    this.fetched = [];
    this.tiles = new Map();
  }

  async tileHashes(t) {
    const path = tilePath(t);
    if (!this.tiles.has(path)) {
      const data = await this.fetch(path);
      this.fetched.push(path);
      this.tiles.set(path, decodeTile(data, t.width));
    }
    return this.tiles.get(path);
  }

  /** Hash of the perfect subtree [start, end) (end - start a power of two, start a multiple of it). */
  async subtreeHash(start, end) {
    const s = big(start, 'a start');
    const e = big(end, 'an end');
    const width = e - s;
    if (s < 0n || width <= 0n || (width & (width - 1n)) !== 0n || s % width !== 0n) {
      throw new InvalidInput(`[${s}, ${e}) is not a perfect subtree`);
    }
    if (e > this.size) throw new InvalidInput(`[${s}, ${e}) is beyond the tree size ${this.size}`);
    const level = width.toString(2).length - 1;
    const index = s >> BigInt(level);
    const t = nodeTile(this.size, level, index);
    return hashFromTile(t, await this.tileHashes(t), level, index);
  }
}

// --- proofs over a node reader (tlog/merkle.py's generation, awaiting each read) ------------

function split(n) {
  return 1n << BigInt((n - 1n).toString(2).length - 1);
}

async function rangeHash(reader, start, end) {
  const parts = [];
  let s = start;
  while (s < end) {
    const width = 1n << BigInt((end - s).toString(2).length - 1);
    parts.push(await reader.subtreeHash(s, s + width));
    s += width;
  }
  let node = parts.pop();
  while (parts.length) node = nodeHash(parts.pop(), node);
  return node;
}

/** MTH(D[0:size]) from a node reader. */
export async function rootHash(reader, size) {
  const s = checkSize(size);
  if (s === 0n) throw new InvalidInput('the empty tree has no tiles');
  return rangeHash(reader, 0n, s);
}

/** PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf's sibling first. */
export async function inclusionProof(reader, index, size) {
  const s = checkSize(size);
  const m = big(index, 'a leaf index');
  if (m < 0n || m >= s) throw new InvalidInput(`leaf index ${m} is not below the tree size ${s}`);
  const proof = [];
  let start = 0n;
  let end = s;
  while (end - start > 1n) {
    const k = split(end - start);
    if (m < start + k) {
      proof.push(await rangeHash(reader, start + k, end));
      end = start + k;
    } else {
      proof.push(await rangeHash(reader, start, start + k));
      start += k;
    }
  }
  return proof.reverse();
}

/** PROOF(size1, D[0:size2]) of RFC 9162 §2.1.4.1; empty when the sizes are equal. */
export async function consistencyProof(reader, size1, size2) {
  const s2 = checkSize(size2);
  const s1 = big(size1, 'a tree size');
  if (!(s1 > 0n && s1 <= s2)) throw new InvalidInput(`consistency needs 0 < size1 <= size2, got ${s1} and ${s2}`);
  const proof = [];
  let start = 0n;
  let end = s2;
  let m = s1;
  let complete = true;
  while (m !== end - start) {
    const k = split(end - start);
    if (m <= k) {
      proof.push(await rangeHash(reader, start + k, end));
      end = start + k;
    } else {
      proof.push(await rangeHash(reader, start, start + k));
      start += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) proof.push(await rangeHash(reader, start, end));
  return proof.reverse();
}

/** Leaf `index` (its data) is in the checkpoint's tree {size, rootHash}: the proof from tiles, checked. */
export async function inclusionFromTiles(fetch, leafData, index, checkpoint) {
  const proof = await inclusionProof(new TileNodes(fetch, checkpoint.size), index, checkpoint.size);
  verifyInclusion(leafHash(leafData), index, checkpoint.size, proof, checkpoint.rootHash);
  return proof;
}

/** Checkpoint `newer` extends `older` ({size, rootHash} each): the proof from newer's tiles, checked. */
export async function consistencyFromTiles(fetch, older, newer) {
  const proof = big(older.size, 'a tree size') === big(newer.size, 'a tree size') ? []
    : await consistencyProof(new TileNodes(fetch, newer.size), older.size, newer.size);
  verifyConsistency(older.size, newer.size, proof, older.rootHash, newer.rootHash);
  return proof;
}
