"""C2SP tlog-tiles (tlog/tiles.py): paths, which tiles a tree has, tile and bundle bytes, proofs from tiles.

Vectors: tests/vectors/tiles/tlog_tiles.json, written by tests/vectors/tiles/generate.go with Go's
golang.org/x/mod/sumdb/tlog (the origin of tlog-tiles), never with this code: tile paths,
each tree's tiles and their bytes (SHA-256 of each, the bytes themselves for partial tiles),
roots, inclusion and consistency proofs Go built through its own tile reader, and nodes at
levels between tile levels.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.errors import InvalidInput, VerificationError
from consilience.tlog import merkle, tiles

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "tiles" / "tlog_tiles.json"


@cache
def _vectors() -> Any:
    return json.loads(VECTORS.read_text())


def _leaf_data(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "big")).digest()


@cache
def _tree(size: int) -> merkle.MemoryTree:
    tree = merkle.MemoryTree()
    for i in range(size):
        tree.append(_leaf_data(i))
    return tree


def _biggest() -> merkle.MemoryTree:
    return _tree(max(t["size"] for t in _vectors()["trees"]))


def _served(size: int) -> Callable[[str], bytes]:
    """fetch(path) for the tiles of the tree of ``size`` as the vectors' tree has them."""
    tree = _biggest()

    def fetch(path: str) -> bytes:
        tile = tiles.parse_path(path)
        assert tile == tiles.served_tile(size, tile.level, tile.index)
        return tiles.read_tile(tree, tile)
    return fetch


# --- paths ---------------------------------------------------------------------------------------


def test_paths_match_go() -> None:
    for v in _vectors()["paths"]:
        if v["index"] << (8 * (v["level"] + 1)) >= 2**64:  # well formed, but no tree below 2^64 leaves has it
            assert v["path"].split("/", 2)[2].startswith(tiles.encode_index(v["index"]))
            with pytest.raises(InvalidInput, match="beyond 2\\^64"):
                tiles.parse_path(v["path"])
            continue
        tile = tiles.Tile(v["level"], v["index"], v["width"])
        assert tile.path == v["path"]
        assert tiles.parse_path(v["path"]) == tile


def test_entry_bundle_paths() -> None:
    tile = tiles.parse_path("tile/entries/x001/x234/067.p/5")
    assert tile == tiles.Tile(0, 1234067, 5, entries=True)
    assert tile.path == "tile/entries/x001/x234/067.p/5"
    assert tiles.parse_path("tile/entries/000").full


@pytest.mark.parametrize("path", [
    "", "tile", "tile/0", "tile/0/", "tiles/0/000", "/tile/0/000", "tile/0/000/", "tile/00/000", "tile/01/000",
    "tile/64/000", "tile/-1/000", "tile/+1/000", "tile/a/000", "tile/0/00", "tile/0/0000", "tile/0/1", "tile/0/x1/000",
    "tile/0/001/000", "tile/0/x000/001", "tile/0/x001", "tile/0/x001/", "tile/0/y001/000", "tile/0/000.p",
    "tile/0/000.p/", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/01", "tile/0/000.p/1/2", "tile/0/000.q/1",
    "tile/0/000.p/1.p/1", "tile/0/x000.p/1", "tile/entries", "tile/entries/", "tile/entries/00", "tile/entry/000",
    "tile/0/０００", "tile/0/x018/x446/x744/x073/x709/x551/616", "tile/7/x072/057/594/037/927/936",
    "tile/7/x001/000", "tile/0/x001/x002/x003/x004/x005/x006/x007/000", "tile/0/000.p/ 1", "tile/0/000\n",
])
def test_malformed_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput):
        tiles.parse_path(path)


@given(st.integers(0, 7), st.integers(0, 2**40), st.integers(1, 256), st.booleans())
def test_paths_round_trip(level: int, index: int, width: int, entries: bool) -> None:
    if entries:
        level = 0
    tile = tiles.Tile(level, index >> (8 * level), width, entries)
    assert tiles.parse_path(tile.path) == tile


def test_a_tile_beyond_two_to_the_64_leaves_is_refused() -> None:
    with pytest.raises(InvalidInput):
        tiles.Tile(7, 1)  # starts at 2^64
    assert tiles.Tile(7, 0).start == 0
    with pytest.raises(InvalidInput):
        tiles.Tile(0, 0, 257)


# --- which tiles, and their bytes ----------------------------------------------------------------


def test_each_tree_has_the_tiles_go_lists_with_the_same_bytes() -> None:
    tree = _biggest()
    for t in _vectors()["trees"]:
        size = t["size"]
        assert [x.path for x in tiles.tree_tiles(size)] == [x["path"] for x in t["tiles"]]
        for x, tile in zip(t["tiles"], tiles.tree_tiles(size), strict=True):
            data = tiles.read_tile(tree, tile)
            assert hashlib.sha256(data).hexdigest() == x["sha256"], x["path"]
            if "hex" in x:
                assert data.hex() == x["hex"]
        assert merkle.root_hash(tree, size).hex() == t["root"]


def test_each_tree_has_the_bundles_of_the_spec() -> None:
    for t in _vectors()["trees"]:
        bundles = tiles.tree_bundles(t["size"])
        assert [b.path for b in bundles] == [x["path"] for x in t["entries"]]
        for x, bundle in zip(t["entries"], bundles, strict=True):
            entries = [_leaf_data(i) for i in range(bundle.first_node, bundle.first_node + bundle.width)]
            data = tiles.encode_bundle(entries)
            assert hashlib.sha256(data).hexdigest() == x["sha256"]
            if "hex" in x:
                assert data.hex() == x["hex"]
            assert tiles.decode_bundle(data, bundle.width) == entries


def test_the_spec_example_of_70000_leaves() -> None:
    partial = [t.path for t in tiles.tree_tiles(70000) if not t.full]
    assert partial == ["tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"]
    assert sum(t.full for t in tiles.tree_tiles(70000)) == 274
    assert [t.path for t in tiles.tree_tiles(256)] == ["tile/0/000", "tile/1/000.p/1"]
    assert tiles.tree_tiles(0) == []


def test_bundles_refuse_truncation_and_a_wrong_count() -> None:
    data = tiles.encode_bundle([b"a", b"", b"ccc"])
    assert tiles.decode_bundle(data) == [b"a", b"", b"ccc"]
    for bad in (data[:-1], data + b"\x00", data[:1]):
        with pytest.raises(VerificationError):
            tiles.decode_bundle(bad)
    with pytest.raises(VerificationError):
        tiles.decode_bundle(data, 2)
    with pytest.raises(InvalidInput):
        tiles.encode_bundle([b"x" * 65536])
    with pytest.raises(InvalidInput):
        tiles.encode_bundle([])


def test_nodes_between_tile_levels_match_go() -> None:
    for v in _vectors()["nodes"]:
        reader = tiles.TileNodes(_served(v["size"]), v["size"])
        start, end = merkle.node_span(v["level"], v["index"])
        assert reader.subtree_hash(start, end).hex() == v["hash"]
        assert len(reader.fetched) == 1


# --- proofs from tiles ---------------------------------------------------------------------------


def test_proofs_from_tiles_match_go() -> None:
    v = _vectors()
    roots = {t["size"]: bytes.fromhex(t["root"]) for t in v["trees"]}
    for p in v["inclusion"]:
        reader = tiles.TileNodes(_served(p["size"]), p["size"])
        proof = merkle.inclusion_proof(reader, p["index"], p["size"])
        assert [h.hex() for h in proof] == p["proof"]
        assert merkle.root_hash(reader, p["size"]) == roots[p["size"]]
        merkle.verify_inclusion(merkle.leaf_hash(_leaf_data(p["index"])), p["index"], p["size"], proof,
                                roots[p["size"]])
    for p in v["consistency"]:
        reader = tiles.TileNodes(_served(p["new"]), p["new"])
        proof = merkle.consistency_proof(reader, p["old"], p["new"])
        assert [h.hex() for h in proof] == p["proof"]
        merkle.verify_consistency(p["old"], p["new"], proof, roots[p["old"]], roots[p["new"]])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_proofs_from_tiles_equal_proofs_from_every_node(data: st.DataObject) -> None:
    tree = _tree(2000)
    size = data.draw(st.integers(1, 2000), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    old = data.draw(st.integers(1, size), label="old")
    reader = tiles.TileNodes(lambda path: tiles.read_tile(tree, tiles.parse_path(path)), size)
    assert merkle.inclusion_proof(reader, index, size) == merkle.inclusion_proof(tree, index, size)
    assert merkle.consistency_proof(reader, old, size) == merkle.consistency_proof(tree, old, size)
    assert merkle.root_hash(reader, size) == tree.root(size)
    assert len(reader.fetched) <= 2 * 3  # a level-0 and a level-1 tile or two per level at most


def test_a_tile_of_the_wrong_length_is_refused_and_a_wrong_hash_fails_the_proof() -> None:
    tree = _tree(300)
    short = tiles.TileNodes(lambda path: tiles.read_tile(tree, tiles.parse_path(path))[:-1], 300)
    with pytest.raises(VerificationError):
        merkle.inclusion_proof(short, 5, 300)

    def lying(path: str) -> bytes:
        data = bytearray(tiles.read_tile(tree, tiles.parse_path(path)))
        data[7 * 32] ^= 1  # leaf 7's hash in tile 0/000
        return bytes(data)
    reader = tiles.TileNodes(lying, 300)
    proof = merkle.inclusion_proof(reader, 6, 300)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(tree.subtree_hash(6, 7), 6, 300, proof, tree.root(300))


def test_a_node_beyond_the_tree_is_refused() -> None:
    reader = tiles.TileNodes(lambda path: b"", 10)
    with pytest.raises(InvalidInput):
        reader.subtree_hash(8, 16)
    with pytest.raises(InvalidInput):
        tiles.node_tile(10, 4, 0)
    assert reader.fetched == []
