"""The log's C2SP tiles and entry bundles read from the escrow database (``tlog/tiles.py``).

Read-only. ``log_nodes`` already holds every complete node, leaf hashes included, so a tile
is one range query at level ``8L`` and a bundle one range query over ``log_leaves``; nothing
new is stored for tiles, and a tile's bytes never depend on when it is asked for.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consilience.errors import InvalidInput
from consilience.storage.models import LogLeaf, LogNode
from consilience.tlog import tiles


def tile_bytes(session: Session, tile: tiles.Tile) -> bytes:
    """The bytes of hash tile ``tile``; InvalidInput unless all its hashes are stored."""
    level, first, count = tiles.tile_nodes(tile)
    rows = session.execute(select(LogNode.idx, LogNode.hash)
                           .where(LogNode.level == level, LogNode.idx >= first, LogNode.idx < first + count)
                           .order_by(LogNode.idx)).all()
    if [r.idx for r in rows] != list(range(first, first + count)):
        raise InvalidInput(f"the log does not hold every hash of {tile.path}")
    return tiles.encode_tile([r.hash for r in rows])


def bundle_bytes(session: Session, tile: tiles.Tile) -> bytes:
    """The bytes of entry bundle ``tile``: the leaf data (each leaf's entry) of its leaves, in order."""
    if not tile.entries:
        raise InvalidInput("an entry bundle is named tile/entries/…")
    first = tile.first_node
    rows = session.execute(select(LogLeaf.idx, LogLeaf.data)
                           .where(LogLeaf.idx >= first, LogLeaf.idx < first + tile.width)
                           .order_by(LogLeaf.idx)).all()
    if [r.idx for r in rows] != list(range(first, first + tile.width)):
        raise InvalidInput(f"the log does not hold every leaf of {tile.path}")
    return tiles.encode_bundle([r.data for r in rows])
