"""RFC 9162 Merkle trees: upstream probes, the RFC 6962 reference tree, and properties.

Vectors (see each file's "source"): tests/vectors/merkle/inclusion.json and
consistency.json are every probe of transparency-dev/merkle testdata/, with
negative cases; reference_tree.json is the 8-leaf tree of its
testonly/constants.go (the Certificate Transparency reference tree).
The naive functions below transcribe RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1
literally, as the oracle for the O(log n) generation from perfect nodes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consilience.errors import InvalidInput, VerificationError
from consilience.tlog import merkle

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle"


def _load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def _b64(value: str | None) -> bytes:
    return b"" if value is None else base64.b64decode(value)


# --- the RFC, literally -----------------------------------------------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(data: list[bytes]) -> bytes:
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = _k(len(data))
    return hashlib.sha256(b"\x01" + naive_mth(data[:k]) + naive_mth(data[k:])).digest()


def naive_path(m: int, data: list[bytes]) -> list[bytes]:
    if len(data) == 1:
        return []
    k = _k(len(data))
    if m < k:
        return naive_path(m, data[:k]) + [naive_mth(data[k:])]
    return naive_path(m - k, data[k:]) + [naive_mth(data[:k])]


def naive_subproof(m: int, data: list[bytes], b: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if b else [naive_mth(data)]
    k = _k(n)
    if m <= k:
        return naive_subproof(m, data[:k], b) + [naive_mth(data[k:])]
    return naive_subproof(m - k, data[k:], False) + [naive_mth(data[:k])]


def build(data: list[bytes]) -> merkle.MemoryTree:
    tree = merkle.MemoryTree()
    for d in data:
        tree.append(d)
    return tree


class CountingReader:
    """Wraps a reader to count reads and to check that only perfect nodes are asked for."""

    def __init__(self, inner: merkle.MemoryTree, size: int) -> None:
        self.inner, self.size, self.reads = inner, size, 0

    def subtree_hash(self, start: int, end: int) -> bytes:
        merkle.node_coordinates(start, end)
        assert end <= self.size, "read beyond the tree size the proof is for"
        self.reads += 1
        return self.inner.subtree_hash(start, end)


# --- transparency-dev/merkle probes -----------------------------------------------------------

INCLUSION = _load("inclusion.json")["probes"]
CONSISTENCY = _load("consistency.json")["probes"]

#: Probes where we are deliberately stricter than the Go reference, with the reason.
STRICTER = {
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json":
        "its 'roots' are 12-byte placeholders; we refuse every hash that is not 32 bytes",
}


def test_probe_counts() -> None:
    assert (len(INCLUSION), len(CONSISTENCY)) == (98, 98)


@pytest.mark.parametrize("probe", INCLUSION, ids=[p["file"] for p in INCLUSION])
def test_inclusion_probe(probe: dict[str, Any]) -> None:
    args = (
        _b64(probe["leafHash"]), probe["leafIdx"], probe["treeSize"],
        [_b64(h) for h in probe["proof"] or []], _b64(probe["root"]),
    )
    if probe["wantErr"]:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("probe", CONSISTENCY, ids=[p["file"] for p in CONSISTENCY])
def test_consistency_probe(probe: dict[str, Any]) -> None:
    args = (
        probe["size1"], probe["size2"], [_b64(h) for h in probe["proof"] or []],
        _b64(probe["root1"]), _b64(probe["root2"]),
    )
    if probe["wantErr"] or probe["file"] in STRICTER:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


# --- the RFC 6962 reference tree --------------------------------------------------------------

REF = _load("reference_tree.json")
REF_LEAVES = [bytes.fromhex(x) for x in REF["leaves"]]


def test_reference_roots_for_every_size() -> None:
    tree = merkle.MemoryTree()
    assert tree.root().hex() == REF["roots"][0] == merkle.EMPTY_ROOT.hex()
    for n, data in enumerate(REF_LEAVES, start=1):
        tree.append(data)
        assert tree.root().hex() == REF["roots"][n]
        assert merkle.root_of([merkle.leaf_hash(d) for d in REF_LEAVES[:n]]).hex() == REF["roots"][n]
        assert naive_mth(REF_LEAVES[:n]).hex() == REF["roots"][n]


def test_reference_perfect_nodes() -> None:
    tree = build(REF_LEAVES)
    assert [[h.hex() for h in level] for level in tree.levels] == REF["node_hashes"]


def test_reference_all_proofs_match_rfc_and_verify() -> None:
    tree = build(REF_LEAVES)
    for n in range(1, 9):
        root = bytes.fromhex(REF["roots"][n])
        for m in range(n):
            proof = merkle.inclusion_proof(tree, m, n)
            assert proof == naive_path(m, REF_LEAVES[:n])
            merkle.verify_inclusion(merkle.leaf_hash(REF_LEAVES[m]), m, n, proof, root)
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(tree, m, n)
            assert proof == (naive_subproof(m, REF_LEAVES[:n], True) if m < n else [])
            merkle.verify_consistency(m, n, proof, bytes.fromhex(REF["roots"][m]), root)


def test_upstream_happy_paths_are_what_we_generate() -> None:
    tree = build(REF_LEAVES)
    for p in INCLUSION:
        if p["desc"] == "happy path" and p["treeSize"] <= 8 and p["file"].count("/") == 2:
            assert merkle.inclusion_proof(tree, p["leafIdx"], p["treeSize"]) == [_b64(h) for h in p["proof"] or []]
    for p in CONSISTENCY:
        if p["desc"] == "happy path" and p["size2"] <= 8 and p["size1"] > 0:
            assert merkle.consistency_proof(tree, p["size1"], p["size2"]) == [_b64(h) for h in p["proof"] or []]


# --- properties -------------------------------------------------------------------------------


def _leaves(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


def _flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300), st.data())
def test_inclusion_generated_verifies_and_any_bit_flip_fails(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    tree = build(leaves)
    m = data.draw(st.integers(0, n - 1), label="index")
    proof = merkle.inclusion_proof(tree, m, n)
    leaf, root = merkle.leaf_hash(leaves[m]), tree.root(n)
    merkle.verify_inclusion(leaf, m, n, proof, root)
    assert root == naive_mth(leaves)
    bit = data.draw(st.integers(0, 255), label="bit")
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(_flip(leaf, bit), m, n, proof, root)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(leaf, m, n, proof, _flip(root, bit))
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="proof hash")
        bad = proof[:i] + [_flip(proof[i], bit)] + proof[i + 1 :]
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(leaf, m, n, bad, root)
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(leaf, m, n, proof[:-1], root)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(leaf, m, n, proof + [root], root)
    other = data.draw(st.integers(0, n - 1).filter(lambda x: x != m) if n > 1 else st.just(m), label="other")
    if other != m:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(leaf, other, n, proof, root)


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 300), st.data())
def test_consistency_generated_verifies_and_any_bit_flip_fails(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    tree = build(leaves)
    m = data.draw(st.integers(1, n - 1), label="size1")
    proof = merkle.consistency_proof(tree, m, n)
    root1, root2 = tree.root(m), tree.root(n)
    merkle.verify_consistency(m, n, proof, root1, root2)
    bit = data.draw(st.integers(0, 255), label="bit")
    i = data.draw(st.integers(0, len(proof) - 1), label="proof hash")
    for args in (
        (m, n, proof[:i] + [_flip(proof[i], bit)] + proof[i + 1 :], root1, root2),
        (m, n, proof, _flip(root1, bit), root2),
        (m, n, proof, root1, _flip(root2, bit)),
        (m, n, proof[:-1], root1, root2),
        (m, n, proof + [root2], root1, root2),
        (n, m, proof, root2, root1),
    ):
        with pytest.raises(VerificationError):
            merkle.verify_consistency(*args)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 200), st.data())
def test_generation_from_perfect_nodes_equals_naive_recursion(n: int, data: st.DataObject) -> None:
    leaves = _leaves(data.draw(st.integers(n, n + 40), label="stored"))  # the store may be ahead
    tree = build(leaves)
    m = data.draw(st.integers(0, n - 1), label="index")
    reader = CountingReader(tree, n)
    assert merkle.inclusion_proof(reader, m, n) == naive_path(m, leaves[:n])
    assert reader.reads <= 2 * n.bit_length()
    assert merkle.root_hash(CountingReader(tree, n), n) == naive_mth(leaves[:n])
    size1 = data.draw(st.integers(1, n), label="size1")
    reader = CountingReader(tree, n)
    expected = naive_subproof(size1, leaves[:n], True) if size1 < n else []
    assert merkle.consistency_proof(reader, size1, n) == expected
    assert reader.reads <= 2 * n.bit_length() + 1


def test_reads_stay_logarithmic_in_a_large_tree() -> None:
    n = 100_003
    tree = merkle.MemoryTree()
    for i in range(n):
        tree.append_leaf_hash(hashlib.sha256(i.to_bytes(4, "big")).digest())
    for m in (0, 1, n // 2, n - 2, n - 1):
        reader = CountingReader(tree, n)
        merkle.verify_inclusion(tree.levels[0][m], m, n, merkle.inclusion_proof(reader, m, n), tree.root())
        assert reader.reads <= 2 * n.bit_length()
    for m in (1, 2, 65_536, n - 1):
        reader = CountingReader(tree, n)
        proof = merkle.consistency_proof(reader, m, n)
        merkle.verify_consistency(m, n, proof, tree.root(m), tree.root())
        assert reader.reads <= 2 * n.bit_length() + 1


def test_listed_nodes_are_exactly_what_generation_reads() -> None:
    """``*_nodes`` list what a database must fetch: held alone, they give the same roots and proofs."""
    n = 1_337
    tree = merkle.MemoryTree()
    for i in range(n):
        tree.append(i.to_bytes(4, "big"))

    def held(wanted: list[tuple[int, int]]) -> merkle.HeldNodes:
        assert len(set(wanted)) == len(wanted)
        return merkle.HeldNodes({(level, index): tree.levels[level][index] for level, index in wanted})

    for size in (1, 2, 255, 256, 1000, n):
        assert merkle.root_hash(held(merkle.root_nodes(size)), size) == tree.root(size)
        for index in {0, size // 3, size - 1}:
            assert (merkle.inclusion_proof(held(merkle.inclusion_nodes(index, size)), index, size)
                    == merkle.inclusion_proof(tree, index, size))
        for old in {1, size // 2 or 1, size}:
            assert (merkle.consistency_proof(held(merkle.consistency_nodes(old, size)), old, size)
                    == merkle.consistency_proof(tree, old, size))
    assert merkle.root_nodes(0) == []
    with pytest.raises(InvalidInput, match="not stored"):
        merkle.inclusion_proof(merkle.HeldNodes({}), 3, 10)
    with pytest.raises(InvalidInput):
        merkle.inclusion_nodes(10, 10)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=100))
def test_root_of_matches_naive(data: list[bytes]) -> None:
    assert merkle.root_of([merkle.leaf_hash(d) for d in data]) == naive_mth(data)
    assert build(data).root() == naive_mth(data)


# --- storing perfect nodes (what a database does) ---------------------------------------------


def test_perfect_nodes_to_store_on_append_rebuilds_every_level() -> None:
    store: dict[tuple[int, int], bytes] = {}
    reads: list[tuple[int, int]] = []

    def read(level: int, index: int) -> bytes:
        reads.append((level, index))
        return store[(level, index)]

    leaves = _leaves(77)
    for i, data in enumerate(leaves):
        reads.clear()
        nodes = merkle.perfect_nodes_to_store_on_append(i, merkle.leaf_hash(data), read)
        assert reads == merkle.left_siblings_needed(i)
        assert [(nd.level, nd.index) for nd in nodes] == [(h, i >> h) for h in range(len(nodes))]
        for nd in nodes:
            assert (nd.level, nd.index) not in store
            store[(nd.level, nd.index)] = nd.hash
    tree = build(leaves)
    assert store == {(lvl, i): h for lvl, level in enumerate(tree.levels) for i, h in enumerate(level)}
    # 77 leaves: 77 + 38 + 19 + 9 + 4 + 2 + 1 perfect nodes
    assert len(store) == 150


def test_append_plan_examples() -> None:
    assert merkle.left_siblings_needed(0) == []
    assert merkle.left_siblings_needed(6) == []
    assert merkle.left_siblings_needed(7) == [(0, 6), (1, 2), (2, 0)]
    assert merkle.left_siblings_needed(11) == [(0, 10), (1, 4)]
    assert merkle.node_span(2, 3) == (12, 16)
    assert merkle.node_coordinates(12, 16) == (2, 3)
    for bad in ((1, 3), (2, 6), (0, 0), (3, 2), (-1, 0)):
        with pytest.raises(InvalidInput):
            merkle.node_coordinates(*bad)


def test_memory_tree_refuses_reads_past_its_size_and_misaligned_ranges() -> None:
    tree = build(_leaves(5))
    with pytest.raises(InvalidInput):
        tree.subtree_hash(4, 6)
    with pytest.raises(InvalidInput):
        tree.subtree_hash(1, 3)
    with pytest.raises(InvalidInput):
        merkle.inclusion_proof(tree, 0, 6)


# --- misuse -----------------------------------------------------------------------------------


def test_generation_refuses_bad_arguments() -> None:
    tree = build(_leaves(8))
    for index, size in ((8, 8), (-1, 8), (0, 0)):
        with pytest.raises(InvalidInput):
            merkle.inclusion_proof(tree, index, size)
    for size1, size2 in ((0, 8), (5, 4), (-1, 3)):
        with pytest.raises(InvalidInput):
            merkle.consistency_proof(tree, size1, size2)
    assert merkle.consistency_proof(tree, 8, 8) == []
    with pytest.raises(InvalidInput):
        merkle.root_hash(tree, -1)


def test_verification_refuses_malformed_input() -> None:
    tree = build(_leaves(6))
    leaf, root = merkle.leaf_hash(b"leaf 2"), tree.root()
    proof = merkle.inclusion_proof(tree, 2, 6)
    merkle.verify_inclusion(leaf, 2, 6, proof, root)
    cases: list[tuple[Any, ...]] = [
        (leaf[:31], 2, 6, proof, root),
        (leaf, 2, 6, proof, root + b"\x00"),
        (leaf, 2, 6, [proof[0][:31], *proof[1:]], root),
        (leaf, 6, 6, proof, root),
        (leaf, 7, 6, proof, root),
        (leaf, -1, 6, proof, root),
        (leaf, 2, 0, [], root),
        (leaf, True, 6, proof, root),
        (leaf, 2, 2**64, proof, root),
        (leaf, 2, 6, b"".join(proof), root),
        (leaf, 2, 6, [leaf] * 66, root),
        ("ab" * 16, 2, 6, proof, root),
    ]
    for args in cases:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(*args)
    r3 = tree.root(3)
    cproof = merkle.consistency_proof(tree, 3, 6)
    merkle.verify_consistency(3, 6, cproof, r3, root)
    merkle.verify_consistency(6, 6, [], root, root)
    for cargs in [
        (3, 6, [], r3, root),
        (6, 3, cproof, root, r3),
        (0, 6, cproof, merkle.EMPTY_ROOT, root),
        (6, 6, [root], root, root),
        (6, 6, [], root, r3),
        (3, 6, cproof, r3[:16], root),
    ]:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(*cargs)


def test_single_leaf_tree() -> None:
    tree = build([b"only"])
    assert tree.root() == merkle.leaf_hash(b"only")
    assert merkle.inclusion_proof(tree, 0, 1) == []
    merkle.verify_inclusion(merkle.leaf_hash(b"only"), 0, 1, [], tree.root())
