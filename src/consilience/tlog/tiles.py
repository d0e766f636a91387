"""C2SP tlog-tiles: the log's Merkle tree and entries as static, cacheable resources.

A verifier that fetches tiles instead of asking for proofs needs nothing from the log but
files any cache or mirror can serve: the checkpoint, the tiles of the tree it signs, and
the entry bundles. From those it builds every inclusion and consistency proof itself
(:class:`TileNodes` is a ``merkle.NodeReader``), and checks them against the signed root,
which is what makes untrusted tiles safe to use.

The format (https://c2sp.org/tlog-tiles, which comes from Go's ``sumdb/tlog``):

* a tile at level ``L`` holds up to 256 consecutive hashes of tree level ``8L``; the
  ``N``-th holds the nodes ``(8L, 256N + i)``; a full tile has 256 of them (8192 bytes),
  the rightmost tile of a level may be partial (1 to 255 hashes) and is then named
  with its width: ``tile/<L>/<N>.p/<W>``;
* ``N`` is written in three-digit groups, all but the last prefixed with ``x``
  (1234067 is ``x001/x234/067``); ``L`` and ``W`` are decimal without leading zeros;
* an entry bundle ``tile/entries/<N>[.p/<W>]`` holds the entries of the leaves of
  level-0 tile ``N``, each a big-endian ``uint16`` length followed by the entry.

Nodes at levels between multiples of 8 are not stored in any tile; they are the Merkle
hash of an aligned run of one tile's hashes (:func:`hash_from_tile`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import N_, _, _n
from consilience.tlog import merkle

#: Tree levels per tile: a tile is a subtree of height 8 over 256 hashes.
TILE_HEIGHT = 8
#: Hashes in a full tile (and entries in a full bundle).
TILE_WIDTH = 1 << TILE_HEIGHT
#: Tile levels are 0 … 63 (the spec's bound; a tree below 2^64 leaves uses 0 … 7).
MAX_TILE_LEVEL = 63
#: An entry in a bundle is at most this long (its length is a uint16).
MAX_ENTRY_BYTES = 0xFFFF
#: The path element that names entry bundles instead of a level.
ENTRIES = "entries"

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_GROUP = re.compile(r"[0-9]{3}")
#: 2^64 has 20 decimal digits: 7 groups of 3.
_MAX_GROUPS = 7


@dataclass(frozen=True)
class Tile:
    """A tile (``entries`` False) or an entry bundle (``entries`` True, ``level`` 0).

    ``width`` is 256 for a full tile, else that of the partial tile.
    """

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    def __post_init__(self) -> None:
        for value in (self.level, self.index, self.width):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInput(_("tile coordinates are integers"))
        if not 0 <= self.level <= MAX_TILE_LEVEL or (self.entries and self.level != 0):
            raise InvalidInput(_("a tile's level is 0 … {MAX_TILE_LEVEL} (0 for an entry bundle)",
                                 MAX_TILE_LEVEL=MAX_TILE_LEVEL))
        if self.index < 0 or self.start >= merkle.MAX_TREE_SIZE:
            raise InvalidInput(_("a tile's index puts it inside a tree of fewer than 2^64 leaves"))
        if not 1 <= self.width <= TILE_WIDTH:
            raise InvalidInput(_("a tile's width is 1 … {TILE_WIDTH}", TILE_WIDTH=TILE_WIDTH))

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def start(self) -> int:
        """The first leaf the tile spans (its *start index*)."""
        return self.index << (TILE_HEIGHT * (self.level + 1))

    @property
    def first_node(self) -> int:
        """Index, at tree level ``8 * level``, of the tile's first hash."""
        return self.index * TILE_WIDTH

    @property
    def path(self) -> str:
        """The resource's path below the log's prefix, e.g. ``tile/1/x001/234.p/17``."""
        head = f"tile/{ENTRIES}" if self.entries else f"tile/{self.level}"
        tail = "" if self.full else f".p/{self.width}"
        return f"{head}/{encode_index(self.index)}{tail}"


def encode_index(n: int) -> str:
    """``N`` in three-digit path elements, all but the last prefixed with ``x``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidInput(_("a tile index is a non-negative integer"))
    groups = [f"{n % 1000:03d}"]
    while n >= 1000:
        n //= 1000
        groups.append(f"x{n % 1000:03d}")
    return "/".join(reversed(groups))


def parse_path(path: str) -> Tile:
    """The tile or entry bundle a path names; InvalidInput for anything but the canonical form.

    Refused: a level or width with leading zeros or out of range, an index element that is
    not three digits (``x``-prefixed except the last), a leading ``x000`` (a second name for
    the same tile), ``.p/256`` (a full tile has no width), and anything after the width.
    """
    if not isinstance(path, str) or not path.isascii():
        raise InvalidInput(_("a tile path is ASCII"))
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise InvalidInput(_("a tile path is tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]"))
    entries = parts[1] == ENTRIES
    if entries:
        level = 0
    else:
        level = _decimal(parts[1], N_("tile level"))
        if level > MAX_TILE_LEVEL:
            raise InvalidInput(_("a tile's level is 0 … {MAX_TILE_LEVEL}", MAX_TILE_LEVEL=MAX_TILE_LEVEL))
    elements = parts[2:]
    width = TILE_WIDTH
    if len(elements) >= 2 and elements[-2].endswith(".p"):
        width = _decimal(elements[-1], N_("tile width"))
        if not 1 <= width < TILE_WIDTH:
            raise InvalidInput(_("a partial tile's width is 1 … {most}", most=TILE_WIDTH - 1))
        elements = elements[:-2] + [elements[-2][:-2]]
    if len(elements) > _MAX_GROUPS:
        raise InvalidInput(_("a tile index below 2^64 has at most 7 groups of 3 digits"))
    index = 0
    for position, element in enumerate(elements):
        last = position == len(elements) - 1
        digits = element if last else element[1:]
        if (not last and not element.startswith("x")) or not _GROUP.fullmatch(digits):
            raise InvalidInput(_("a tile index is written as 3-digit groups, all but the last prefixed with 'x'"))
        if position == 0 and not last and digits == "000":
            raise InvalidInput(_("a tile index has no leading x000 group"))
        index = index * 1000 + int(digits)
    if index << (TILE_HEIGHT * (level + 1)) >= merkle.MAX_TREE_SIZE:
        raise InvalidInput(_("the tile would begin beyond 2^64 leaves"))
    return Tile(level, index, width, entries)


def _decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text) or len(text) > 20:
        raise InvalidInput(_("a {what} is a decimal number without leading zeros", what=_(what)))
    return int(text)


# --- which tiles a tree has --------------------------------------------------------------------


def level_width(size: int, level: int) -> int:
    """How many hashes of tree level ``8 * level`` a tree of ``size`` leaves has (its complete nodes)."""
    _check_size(size)
    return size >> (TILE_HEIGHT * level)


def served_tile(size: int, level: int, index: int, *, entries: bool = False) -> Tile | None:
    """Tile ``(level, index)`` as the tree of ``size`` serves it (full or its partial), None if it has none.

    This is the one a client fetches for that tree: the spec serves partial tiles only at the
    widths some checkpoint's tree has, so a client asks for the width its checkpoint implies.
    """
    count = level_width(size, level)
    first = index * TILE_WIDTH
    if first >= count:
        return None
    return Tile(level, index, min(TILE_WIDTH, count - first), entries)


def tree_tiles(size: int) -> list[Tile]:
    """Every hash tile of the tree of ``size``, level by level, each level's partial tile last.

    A tree of 70000 leaves has 273 full level-0 tiles and one of width 112, one full
    level-1 tile and one of width 17, and a level-2 tile of width 1 (the spec's example).
    """
    tiles: list[Tile] = []
    level = 0
    while level_width(size, level) > 0:
        count = level_width(size, level)
        tiles += [Tile(level, n) for n in range(count // TILE_WIDTH)]
        if count % TILE_WIDTH:
            tiles.append(Tile(level, count // TILE_WIDTH, count % TILE_WIDTH))
        level += 1
    return tiles


def tree_bundles(size: int) -> list[Tile]:
    """Every entry bundle of the tree of ``size`` (the level-0 tiles' leaves)."""
    return [Tile(0, t.index, t.width, entries=True) for t in tree_tiles(size) if t.level == 0]


def tile_nodes(tile: Tile) -> tuple[int, int, int]:
    """``(tree level, first index, count)`` of the nodes whose hashes make up ``tile``."""
    if tile.entries:
        raise InvalidInput(_("an entry bundle holds entries, not hashes"))
    return TILE_HEIGHT * tile.level, tile.first_node, tile.width


# --- tile contents -----------------------------------------------------------------------------


def encode_tile(hashes: Sequence[bytes]) -> bytes:
    """A tile's bytes: its 1 … 256 hashes, concatenated."""
    if not 1 <= len(hashes) <= TILE_WIDTH:
        raise InvalidInput(_("a tile holds 1 … {TILE_WIDTH} hashes", TILE_WIDTH=TILE_WIDTH))
    for h in hashes:
        if not isinstance(h, (bytes, bytearray)) or len(h) != merkle.HASH_SIZE:
            raise InvalidInput(_("tile hashes are {HASH_SIZE} bytes", HASH_SIZE=merkle.HASH_SIZE))
    return b"".join(bytes(h) for h in hashes)


def decode_tile(data: bytes, width: int) -> list[bytes]:
    """The hashes of a tile of ``width``; VerificationError unless it is exactly that long."""
    if len(data) != width * merkle.HASH_SIZE:
        raise VerificationError(_("a tile of width {width} is {expected} bytes, got {len_data}",
                                  width=width, expected=width * merkle.HASH_SIZE, len_data=len(data)))
    return [bytes(data[i:i + merkle.HASH_SIZE]) for i in range(0, len(data), merkle.HASH_SIZE)]


def read_tile(reader: merkle.NodeReader, tile: Tile) -> bytes:
    """A tile's bytes from any node source: one ``subtree_hash`` per hash (the SQL driver reads a range)."""
    level, first, count = tile_nodes(tile)
    return encode_tile([reader.subtree_hash((first + i) << level, (first + i + 1) << level) for i in range(count)])


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise InvalidInput(_("an entry bundle holds 1 … {TILE_WIDTH} entries", TILE_WIDTH=TILE_WIDTH))
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise InvalidInput(_("an entry in a bundle is at most {MAX_ENTRY_BYTES} bytes",
                                 MAX_ENTRY_BYTES=MAX_ENTRY_BYTES))
        out += len(entry).to_bytes(2, "big") + bytes(entry)
    return bytes(out)


def decode_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """The entries of a bundle; VerificationError if truncated, or not ``width`` entries when given."""
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise VerificationError(_("an entry bundle ends inside an entry's length"))
        length = int.from_bytes(data[offset:offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            raise VerificationError(_("an entry bundle ends inside an entry"))
        entries.append(bytes(data[offset:offset + length]))
        offset += length
    if width is not None and len(entries) != width:
        raise VerificationError(_n("the entry bundle holds {n} entries, not {width}",
                                   "the entry bundle holds {n} entries, not {width}", len(entries), width=width))
    if len(entries) > TILE_WIDTH:
        raise VerificationError(_("an entry bundle holds at most {TILE_WIDTH} entries", TILE_WIDTH=TILE_WIDTH))
    return entries


def hash_from_tile(tile: Tile, hashes: Sequence[bytes], level: int, index: int) -> bytes:
    """The hash of node ``(level, index)`` from the hashes of the one tile under it.

    A node ``r`` levels above the tile's level is the perfect Merkle hash of ``2^r`` aligned
    consecutive hashes of the tile (``r`` < 8); at ``r`` = 0 it is one of them.
    """
    base, first, count = tile_nodes(tile)
    above = level - base
    if not 0 <= above < TILE_HEIGHT:
        raise InvalidInput(_("node level {level} is not in tile level {tile_level}",
                             level=level, tile_level=tile.level))
    lo = (index << above) - first
    hi = lo + (1 << above)
    if lo < 0 or hi > min(count, len(hashes)):
        raise InvalidInput(_("node ({level}, {index}) is not in tile {path}",
                             level=level, index=index, path=tile.path))
    return _perfect_hash(list(hashes[lo:hi]))


def _perfect_hash(row: list[bytes]) -> bytes:
    """The perfect Merkle hash of ``2^k`` aligned hashes, folded pairwise (RFC 9162's interior nodes)."""
    while len(row) > 1:
        row = [merkle.node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
    return row[0]


def node_tile(size: int, level: int, index: int) -> Tile:
    """The tile, as the tree of ``size`` serves it, from which node ``(level, index)`` is computed."""
    above = level % TILE_HEIGHT
    tile_level = level // TILE_HEIGHT
    tile = served_tile(size, tile_level, (index << above) // TILE_WIDTH)
    if tile is None or ((index + 1) << above) > tile.first_node + tile.width:
        raise InvalidInput(_("node ({level}, {index}) is not complete in a tree of {size} leaves",
                             level=level, index=index, size=size))
    return tile


class TileNodes:
    """``merkle.NodeReader`` over the tiles of the tree of ``size``, fetched with ``fetch(path)``.

    ``merkle.root_hash``, ``inclusion_proof`` and ``consistency_proof`` over it build proofs
    from tiles alone. Nothing here trusts the tiles: a proof built from wrong hashes fails
    its check against the signed root (``merkle.verify_*``), and a tile of the wrong length
    is refused when read. Each tile is fetched once; ``fetched`` lists their paths in order.
    """

    def __init__(self, fetch: Callable[[str], bytes], size: int) -> None:
        _check_size(size)
        self.fetch = fetch
        self.size = size
        self.fetched: list[str] = []
        self._tiles: dict[Tile, list[bytes]] = {}

    def tile(self, tile: Tile) -> list[bytes]:
        """The hashes of ``tile``, fetched on first use."""
        if tile not in self._tiles:
            data = self.fetch(tile.path)
            self.fetched.append(tile.path)
            self._tiles[tile] = decode_tile(bytes(data), tile.width)
        return self._tiles[tile]

    def subtree_hash(self, start: int, end: int) -> bytes:
        level, index = merkle.node_coordinates(start, end)
        if end > self.size:
            raise InvalidInput(_("[{start}, {end}) is beyond the tree size {size}",
                                 start=start, end=end, size=self.size))
        tile = node_tile(self.size, level, index)
        return hash_from_tile(tile, self.tile(tile), level, index)


# --- a store that keeps the tree as tiles -----------------------------------------------------

#: Tree levels per *stored* tile. A node between two stored levels is computed from the hashes of one
#: stored tile: up to 2^(h-1) of them, so an inclusion proof hashes about 2^h per stored level. At the
#: served height (8) that is ~250 SHA-256 per tile level, most of a proof's time; at 4 it is ~11, for
#: 1/16 more hashes stored (a served tile is 16 stored ones side by side).
STORED_HEIGHT = 4
STORED_WIDTH = 1 << STORED_HEIGHT


def node_in_tile(level: int, index: int, height: int = STORED_HEIGHT) -> tuple[int, int, int, int]:
    """Where perfect node ``(level, index)`` lives in a store of tiles of ``height``: ``(tile level, tile
    index, first, count)``, the node being the Merkle hash of hashes ``first … first + count - 1`` of it."""
    if level < 0 or index < 0:
        raise InvalidInput(_("node coordinates are non-negative"))
    above = level % height
    first = index << above
    return level // height, first >> height, first % (1 << height), 1 << above


def tiles_holding(nodes: Sequence[tuple[int, int]], height: int = STORED_HEIGHT) -> list[tuple[int, int]]:
    """The stored tiles ``(tile level, tile index)`` that hold ``nodes``, each once, in order of first need."""
    return list(dict.fromkeys(node_in_tile(level, index, height)[:2] for level, index in nodes))


def right_edge_tiles(size: int, height: int = STORED_HEIGHT) -> list[tuple[int, int]]:
    """The partial stored tile of every tile level of the tree of ``size`` (the only ones an append changes).

    Every node of the tree's frontier (the perfect nodes left of its right edge) is in one of them.
    """
    _check_size(size)
    found = []
    level = 0
    while size >> (height * level):
        count = size >> (height * level)
        if count % (1 << height):
            found.append((level, count >> height))
        level += 1
    return found


def stored_rows_of(tile: Tile, height: int = STORED_HEIGHT) -> tuple[int, int, int]:
    """``(stored level, first stored index, count)``: the stored tiles whose hashes, side by side, begin
    served tile ``tile`` (a served tile is ``2^(8 - height)`` stored ones of tree level ``8 * level``)."""
    if tile.entries or TILE_HEIGHT % height:
        raise InvalidInput(_("a hash tile is made of stored tiles of a height dividing 8"))
    per = 1 << (TILE_HEIGHT - height)
    return tile.level * (TILE_HEIGHT // height), tile.index * per, -(-tile.width // (1 << height))


def subtree_of_hashes(data: bytes | memoryview) -> bytes:
    """The perfect Merkle hash over ``2^k`` concatenated hashes (the nodes above them inside one tile)."""
    hashes = [bytes(data[i:i + merkle.HASH_SIZE]) for i in range(0, len(data), merkle.HASH_SIZE)]
    if not hashes or len(hashes) & (len(hashes) - 1) or len(data) != len(hashes) * merkle.HASH_SIZE:
        raise InvalidInput(_("a subtree inside a tile spans a power of two of whole hashes"))
    return _perfect_hash(hashes)


class StoredTiles:
    """``merkle.NodeReader`` over tiles as a store keeps them: ``{(tile level, tile index): hashes}``, each value
    the concatenated hashes the tile holds so far (a full tile, or the partial one on the tree's right edge),
    tiles of ``height`` tree levels (``STORED_HEIGHT``).

    A node at a tree level that is a multiple of the height is one hash of a tile; one between is computed
    from the hashes of one tile, so a store needs no other rows.
    """

    def __init__(self, stored: dict[tuple[int, int], bytes], height: int = STORED_HEIGHT) -> None:
        self.stored = stored
        self.height = height

    def node(self, level: int, index: int) -> bytes:
        tile_level, tile_index, first, count = node_in_tile(level, index, self.height)
        data = self.stored.get((tile_level, tile_index))
        if data is None or len(data) < (first + count) * merkle.HASH_SIZE:
            raise InvalidInput(_("log node ({level}, {index}) is not stored", level=level, index=index))
        chunk = data[first * merkle.HASH_SIZE:(first + count) * merkle.HASH_SIZE]
        return bytes(chunk) if count == 1 else subtree_of_hashes(chunk)

    def subtree_hash(self, start: int, end: int) -> bytes:
        return self.node(*merkle.node_coordinates(start, end))


def stored_tiles_of(tree: merkle.MemoryTree, height: int = STORED_HEIGHT) -> dict[tuple[int, int], bytes]:
    """Every stored tile of an in-memory tree, as a store of ``height`` holds them (the reference layout)."""
    out = {}
    width, level = 1 << height, 0
    while len(tree) >> (height * level):
        hashes = tree.levels[height * level]
        for index in range(-(-len(hashes) // width)):
            out[(level, index)] = b"".join(hashes[index * width:(index + 1) * width])
        level += 1
    return out


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= merkle.MAX_TREE_SIZE:
        raise InvalidInput(_("tree size must be an integer in [0, 2^64)"))
