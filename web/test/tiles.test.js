// sdk/tlog/tiles.js against tests/vectors/tiles/tlog_tiles.json, the vectors Go's
// golang.org/x/mod/sumdb/tlog wrote (tests/vectors/tiles/generate.go), as
// tests/tlog/test_tiles.py checks tlog/tiles.py against the same file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { sha256 } from '@noble/hashes/sha2.js';
import { ROOT } from './helpers.js';
import { InvalidInput, VerificationError } from '../src/sdk/errors.js';
import { hexDecode, hexEncode } from '../src/sdk/protocol/encoding.js';
import { leafHash, nodeHash } from '../src/sdk/tlog/merkle.js';
import {
  consistencyFromTiles, consistencyProof, decodeBundle, encodeBundle, inclusionFromTiles, inclusionProof, parseTilePath,
  rootHash, tile, tilePath, TileNodes, treeBundles, treeTiles,
} from '../src/sdk/tlog/tiles.js';

const V = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'vectors', 'tiles', 'tlog_tiles.json'), 'utf8'));
const MAX = Math.max(...V.trees.map((t) => t.size));

function leafData(i) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(i));
  return sha256(b);
}

// every complete node of the vectors' tree: levels[h][i]
const levels = [[]];
for (let i = 0; i < MAX; i++) levels[0].push(leafHash(leafData(i)));
for (let h = 0; levels[h].length > 1; h++) {
  levels.push([]);
  for (let i = 0; i + 1 < levels[h].length; i += 2) levels[h + 1].push(nodeHash(levels[h][i], levels[h][i + 1]));
}

function tileBytes(t) {
  const hashes = levels[8 * t.level].slice(Number(t.index) * 256, Number(t.index) * 256 + t.width);
  assert.equal(hashes.length, t.width);
  const out = new Uint8Array(32 * t.width);
  hashes.forEach((h, i) => out.set(h, 32 * i));
  return out;
}

function served(size) {
  return async (p) => {
    const t = parseTilePath(p);
    assert.ok(treeTiles(size).some((x) => tilePath(x) === p), `${p} is not a tile of the tree of ${size}`);
    return tileBytes(t);
  };
}

const hexes = (proof) => proof.map(hexEncode);

test('tile paths are the ones Go writes', () => {
  for (const v of V.paths) {
    if (BigInt(v.index) << BigInt(8 * (v.level + 1)) >= 1n << 64n) {
      assert.throws(() => parseTilePath(v.path), InvalidInput);
      continue;
    }
    const t = tile(v.level, v.index, v.width);
    assert.equal(tilePath(t), v.path);
    assert.deepEqual(parseTilePath(v.path), t);
  }
  assert.equal(tilePath(parseTilePath('tile/entries/x001/x234/067.p/5')), 'tile/entries/x001/x234/067.p/5');
});

test('malformed paths are refused', () => {
  for (const p of ['', 'tile/0', 'tile/00/000', 'tile/64/000', 'tile/0/00', 'tile/0/x000/001', 'tile/0/001/000',
    'tile/0/000.p/0', 'tile/0/000.p/256', 'tile/0/000.p/01', 'tile/0/000.p/1/2', 'tile/0/x001', 'tile/entries/00',
    'tile/0/000/', 'tile/7/x001/000', 'tile/0/x001/x002/x003/x004/x005/x006/x007/000', 'tile/0/０００']) {
    assert.throws(() => parseTilePath(p), InvalidInput, p);
  }
});

test("each tree's tiles, bytes, bundles and root are Go's", async () => {
  for (const t of V.trees) {
    const tiles = treeTiles(t.size);
    assert.deepEqual(tiles.map(tilePath), t.tiles.map((x) => x.path));
    tiles.forEach((x, i) => {
      const data = tileBytes(x);
      assert.equal(hexEncode(sha256(data)), t.tiles[i].sha256, t.tiles[i].path);
      if (t.tiles[i].hex) assert.equal(hexEncode(data), t.tiles[i].hex);
    });
    const bundles = treeBundles(t.size);
    assert.deepEqual(bundles.map(tilePath), t.entries.map((x) => x.path));
    bundles.forEach((b, i) => {
      const entries = [];
      for (let j = 0; j < b.width; j++) entries.push(leafData(Number(b.index) * 256 + j));
      const data = encodeBundle(entries);
      assert.equal(hexEncode(sha256(data)), t.entries[i].sha256);
      if (t.entries[i].hex) assert.equal(hexEncode(data), t.entries[i].hex);
      assert.deepEqual(decodeBundle(data, b.width), entries);
    });
    assert.equal(hexEncode(await rootHash(new TileNodes(served(t.size), t.size), t.size)), t.root);
  }
});

test('nodes between tile levels are those Go recombines', async () => {
  for (const v of V.nodes) {
    const reader = new TileNodes(served(v.size), v.size);
    const start = BigInt(v.index) << BigInt(v.level);
    assert.equal(hexEncode(await reader.subtreeHash(start, start + (1n << BigInt(v.level)))), v.hash);
    assert.equal(reader.fetched.length, 1);
  }
});

test("proofs built from tiles are Go's and verify", async () => {
  const roots = Object.fromEntries(V.trees.map((t) => [t.size, hexDecode(t.root)]));
  for (const p of V.inclusion) {
    const proof = await inclusionFromTiles(served(p.size), leafData(p.index), p.index, { size: BigInt(p.size), rootHash: roots[p.size] });
    assert.deepEqual(hexes(proof), p.proof);
  }
  for (const p of V.consistency) {
    const proof = await consistencyFromTiles(served(p.new), { size: BigInt(p.old), rootHash: roots[p.old] },
      { size: BigInt(p.new), rootHash: roots[p.new] });
    assert.deepEqual(hexes(proof), p.proof);
  }
});

test('a wrong tile fails the proof; a short one is refused', async () => {
  const size = 300;
  const root = await rootHash(new TileNodes(served(size), size), size);
  const lying = async (p) => {
    const data = tileBytes(parseTilePath(p));
    if (p.startsWith('tile/0/')) data[3 * 32] ^= 1;
    return data;
  };
  await assert.rejects(inclusionFromTiles(lying, leafData(40), 40, { size: 300n, rootHash: root }), VerificationError);
  const short = async (p) => tileBytes(parseTilePath(p)).slice(1);
  await assert.rejects(inclusionProof(new TileNodes(short, size), 5, size), VerificationError);
  await assert.rejects(consistencyProof(new TileNodes(served(size), size), 0, size), InvalidInput);
  assert.throws(() => decodeBundle(encodeBundle([new Uint8Array(3)]).slice(0, 4)), VerificationError);
});
