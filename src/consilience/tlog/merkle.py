"""RFC 9162 §2.1 Merkle tree hashing, proof generation and proof verification.

Every escrow event becomes one leaf of an append-only log; a reporter keeps an
inclusion proof against a signed checkpoint and can later check, with a
consistency proof, that a newer checkpoint still contains it. The hashing is
the RFC 6962/9162 one (``0x00`` leaf prefix, ``0x01`` node prefix) so that
standard tooling (C2SP tlog-proof, tlog-witness, Go ``transparency-dev/merkle``)
can check our proofs.

Generation only ever asks a :class:`NodeReader` for *perfect* subtrees: a
range ``[start, end)`` whose length is a power of two and whose start is a
multiple of that length. Such a node never changes once its last leaf is
appended, so a database can store it once (see
:func:`perfect_nodes_to_store_on_append`) and a proof costs O(log n) reads:
on each path at most one sibling lies on the tree's ragged right edge, and
that one is recombined from at most log2(n) perfect nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _

HASH_SIZE = 32
#: MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()
#: Sizes and indices are uint64 in every format that carries them.
MAX_TREE_SIZE = 2**64 - 1
#: An inclusion path has at most 64 hashes below 2^64 leaves; a consistency proof one more.
MAX_PROOF_HASHES = 65


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right); both children must be 32-byte hashes."""
    if len(left) != HASH_SIZE or len(right) != HASH_SIZE:
        raise InvalidInput(_("Merkle child hashes are 32 bytes"))
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, without recursion (stack of perfect nodes)."""
    stack: list[tuple[int, bytes]] = []  # (size, hash), sizes strictly decreasing
    for h in leaf_hashes:
        if len(h) != HASH_SIZE:
            raise InvalidInput(_("leaf hashes are 32 bytes"))
        size, node = 1, bytes(h)
        while stack and stack[-1][0] == size:
            left_size, left = stack.pop()
            size, node = left_size + size, node_hash(left, node)
        stack.append((size, node))
    if not stack:
        return EMPTY_ROOT
    node = stack.pop()[1]
    while stack:
        node = node_hash(stack.pop()[1], node)
    return node


# --- perfect nodes ----------------------------------------------------------------------------


class NodeReader(Protocol):
    """Source of stored perfect-subtree hashes (an in-memory tree or a database).

    ``subtree_hash(start, end)`` is only ever called with ``end - start`` a
    power of two, ``start`` a multiple of it, and ``end`` at most the size of
    the tree the proof is for. For ``end - start == 1`` it is the leaf hash.
    """

    def subtree_hash(self, start: int, end: int) -> bytes: ...


@dataclass(frozen=True)
class PerfectNode:
    """A complete subtree: ``level`` = log2 of its width, ``index`` = start >> level."""

    level: int
    index: int
    hash: bytes


def node_span(level: int, index: int) -> tuple[int, int]:
    """The leaf range ``[start, end)`` covered by perfect node ``(level, index)``."""
    if level < 0 or index < 0:
        raise InvalidInput(_("node coordinates are non-negative"))
    return index << level, (index + 1) << level


def node_coordinates(start: int, end: int) -> tuple[int, int]:
    """``(level, index)`` of the perfect node covering ``[start, end)``; refuses other ranges."""
    width = end - start
    if start < 0 or width <= 0 or width & (width - 1) or start % width:
        raise InvalidInput(_("[{start}, {end}) is not a perfect subtree", start=start, end=end))
    level = width.bit_length() - 1
    return level, start >> level


def left_siblings_needed(index: int) -> list[tuple[int, int]]:
    """Stored nodes a database must read to append leaf ``index``: ``(level, index)`` pairs.

    Appending leaf ``n`` completes node ``(h, n >> h)`` for every ``h`` up to
    the number of trailing one bits of ``n``; each needs its left sibling
    ``(h - 1, (n >> (h - 1)) - 1)``, which was stored earlier.
    """
    _check_index(index)
    return [(h, (index >> h) - 1) for h in range(_trailing_ones(index))]


def perfect_nodes_to_store_on_append(
    index: int, leaf: bytes, read_node: Callable[[int, int], bytes]
) -> list[PerfectNode]:
    """The perfect nodes that become complete when leaf hash ``leaf`` is appended at ``index``.

    ``read_node(level, index)`` returns an already stored node; it is called
    only for the pairs :func:`left_siblings_needed` lists. The result starts
    with the leaf itself at level 0; storing all of it keeps every perfect
    node of the tree available, which is all proof generation needs.
    """
    _check_index(index)
    _check_hash(leaf, N_("leaf hash"), InvalidInput)
    nodes = [PerfectNode(0, index, bytes(leaf))]
    current = bytes(leaf)
    for level, sibling_index in left_siblings_needed(index):
        sibling = read_node(level, sibling_index)
        _check_hash(sibling, N_("stored node ({level}, {sibling_index})"), InvalidInput, level=level,
                    sibling_index=sibling_index)
        current = node_hash(sibling, current)
        nodes.append(PerfectNode(level + 1, index >> (level + 1), current))
    return nodes


class MemoryTree:
    """An append-only tree kept in memory: every perfect node, level by level.

    ``levels[h][i]`` is the hash of leaves ``[i * 2**h, (i + 1) * 2**h)``.
    Appends are amortised O(1) and every :class:`NodeReader` call is O(1),
    which makes it the reference backend for tests and benchmarks.
    """

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    def __len__(self) -> int:
        return len(self.levels[0])

    def append(self, data: bytes) -> int:
        """Append leaf data; returns its index."""
        return self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, leaf: bytes) -> int:
        index = len(self)
        for node in perfect_nodes_to_store_on_append(index, leaf, self._node):
            if node.level == len(self.levels):
                self.levels.append([])
            self.levels[node.level].append(node.hash)
        return index

    def subtree_hash(self, start: int, end: int) -> bytes:
        level, index = node_coordinates(start, end)
        if end > len(self):
            raise InvalidInput(_("[{start}, {end}) is beyond the tree size {len_self}",
                                 start=start, end=end, len_self=len(self)))
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root_hash(self, len(self) if size is None else size)

    def _node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]


# --- generation -------------------------------------------------------------------------------


def root_hash(reader: NodeReader, size: int) -> bytes:
    """MTH(D[0:size]) from at most log2(size) + 1 perfect nodes."""
    _check_size(size)
    return EMPTY_ROOT if size == 0 else _range_hash(reader, 0, size)


def inclusion_proof(reader: NodeReader, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf's sibling first."""
    _check_size(size)
    if not 0 <= index < size:
        raise InvalidInput(_("leaf index {index} is not below the tree size {size}", index=index, size=size))
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(_range_hash(reader, start + k, end))
            end = start + k
        else:
            proof.append(_range_hash(reader, start, start + k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(reader: NodeReader, size1: int, size2: int) -> list[bytes]:
    """PROOF(size1, D[0:size2]) of RFC 9162 §2.1.4.1; empty when the sizes are equal.

    A proof from the empty tree would prove nothing (every tree extends it),
    so ``size1 == 0`` is refused, as the verifier refuses it.
    """
    _check_size(size2)
    if not 0 < size1 <= size2:
        raise InvalidInput(_("consistency needs 0 < size1 <= size2, got {size1} and {size2}",
                             size1=size1, size2=size2))
    proof: list[bytes] = []
    start, end, m, complete = 0, size2, size1, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(_range_hash(reader, start + k, end))
            end = start + k
        else:
            proof.append(_range_hash(reader, start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append(_range_hash(reader, start, end))
    proof.reverse()
    return proof


class _Recorder:
    """A ``NodeReader`` that notes which perfect nodes are asked for and answers zeros.

    Which nodes a root or a proof reads depends on the sizes and the index only, never on the hashes
    read, so running the generation once over this reader lists exactly what a database has to fetch.
    """

    def __init__(self) -> None:
        self.wanted: dict[tuple[int, int], None] = {}

    def subtree_hash(self, start: int, end: int) -> bytes:
        self.wanted[node_coordinates(start, end)] = None
        return bytes(HASH_SIZE)


def root_nodes(size: int) -> list[tuple[int, int]]:
    """The perfect nodes ``(level, index)`` :func:`root_hash` reads for a tree of ``size``."""
    recorder = _Recorder()
    root_hash(recorder, size)
    return list(recorder.wanted)


def inclusion_nodes(index: int, size: int) -> list[tuple[int, int]]:
    """The perfect nodes :func:`inclusion_proof` reads, so a database can fetch them in one statement."""
    recorder = _Recorder()
    inclusion_proof(recorder, index, size)
    return list(recorder.wanted)


def consistency_nodes(size1: int, size2: int) -> list[tuple[int, int]]:
    """The perfect nodes :func:`consistency_proof` reads."""
    recorder = _Recorder()
    consistency_proof(recorder, size1, size2)
    return list(recorder.wanted)


class HeldNodes:
    """``NodeReader`` over nodes already fetched, keyed ``(level, index)``; a missing one is InvalidInput."""

    def __init__(self, known: dict[tuple[int, int], bytes]) -> None:
        self.known = known

    def subtree_hash(self, start: int, end: int) -> bytes:
        coordinates = node_coordinates(start, end)
        try:
            return self.known[coordinates]
        except KeyError:
            raise InvalidInput(_("log node {coordinates} is not stored", coordinates=coordinates)) from None


def _range_hash(reader: NodeReader, start: int, end: int) -> bytes:
    """MTH of leaves [start, end), where start is aligned (a left edge of the RFC split).

    The RFC tree over a range splits at the largest power of two below its
    width, so the range decomposes into perfect nodes of decreasing width,
    combined right to left.
    """
    parts: list[bytes] = []
    while start < end:
        width = 1 << ((end - start).bit_length() - 1)
        parts.append(_read(reader, start, start + width))
        start += width
    node = parts.pop()
    while parts:
        node = node_hash(parts.pop(), node)
    return node


def _read(reader: NodeReader, start: int, end: int) -> bytes:
    h = reader.subtree_hash(start, end)
    _check_hash(h, N_("stored node [{start}, {end})"), InvalidInput, start=start, end=end)
    return bytes(h)


def _split(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- verification -----------------------------------------------------------------------------


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2: raise VerificationError unless ``proof`` puts ``leaf`` at ``index``."""
    _check_hash(leaf, N_("leaf hash"), VerificationError)
    _check_hash(root, N_("root hash"), VerificationError)
    _check_proof(proof)
    _check_int(index, N_("leaf index"))
    _check_int(size, N_("tree size"))
    if index >= size:
        raise VerificationError(_("leaf index {index} is not below the tree size {size}", index=index, size=size))
    fn, sn, r = index, size - 1, bytes(leaf)
    for p in proof:
        if sn == 0:
            raise VerificationError(_("inclusion proof is longer than the path to the root"))
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError(_("inclusion proof is shorter than the path to the root"))
    if r != root:
        raise VerificationError(_("inclusion proof does not lead to the root hash"))


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """RFC 9162 §2.1.4.2: raise VerificationError unless tree ``size2`` extends tree ``size1``.

    Equal sizes need an empty proof and equal roots. ``size1 == 0`` is refused:
    any tree extends the empty one, so such a "proof" would say nothing.
    """
    _check_hash(root1, N_("first root hash"), VerificationError)
    _check_hash(root2, N_("second root hash"), VerificationError)
    _check_proof(proof)
    _check_int(size1, N_("first tree size"))
    _check_int(size2, N_("second tree size"))
    if size1 > size2:
        raise VerificationError(_("first tree size {size1} exceeds the second {size2}", size1=size1, size2=size2))
    if size1 == size2:
        if proof:
            raise VerificationError(_("equal tree sizes need an empty consistency proof"))
        if root1 != root2:
            raise VerificationError(_("equal tree sizes but different root hashes"))
        return
    if size1 == 0:
        raise VerificationError(_("a consistency proof from the empty tree proves nothing"))
    if not proof:
        raise VerificationError(_("consistency proof is empty"))
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError(_("consistency proof is longer than needed"))
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError(_("consistency proof is shorter than needed"))
    if fr != root1:
        raise VerificationError(_("consistency proof does not lead to the first root hash"))
    if sr != root2:
        raise VerificationError(_("consistency proof does not lead to the second root hash"))


# --- checks -----------------------------------------------------------------------------------


def _check_hash(value: object, what: str, error: type[Exception], **what_fields: object) -> None:
    """``what`` is a message id (``N_``), filled from ``what_fields`` only on refusal: proofs are checked in loops."""
    if not isinstance(value, (bytes, bytearray, memoryview)) or len(value) != HASH_SIZE:
        raise error(_("{what} must be {HASH_SIZE} bytes", what=_(what, **what_fields), HASH_SIZE=HASH_SIZE))


def _check_proof(proof: Sequence[bytes]) -> None:
    if isinstance(proof, (bytes, str)) or len(proof) > MAX_PROOF_HASHES:
        raise VerificationError(_("a proof is a list of at most {MAX_PROOF_HASHES} hashes",
                                  MAX_PROOF_HASHES=MAX_PROOF_HASHES))
    for n, h in enumerate(proof):
        _check_hash(h, N_("proof hash {n}"), VerificationError, n=n)


def _check_int(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TREE_SIZE:
        raise VerificationError(_("{what} must be an integer in [0, 2^64)", what=_(what)))


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_TREE_SIZE:
        raise InvalidInput(_("tree size must be an integer in [0, 2^64)"))


def _check_index(index: int) -> None:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < MAX_TREE_SIZE:
        raise InvalidInput(_("leaf index must be an integer in [0, 2^64 - 1)"))


def _trailing_ones(n: int) -> int:
    return ((n ^ (n + 1)).bit_length()) - 1
