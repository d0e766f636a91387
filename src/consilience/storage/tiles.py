"""The log's C2SP tiles and entry bundles read from the escrow database (``tlog/tiles.py``).

Read-only. ``log_tiles`` holds the tree as tiles of 4 levels already (``storage/log.py`` writes them on
append), so a served hash tile (8 levels) is one range query over 16 consecutive rows of one stored
level, side by side, of which a partial tile at a width below the stored one is the first hashes;
a bundle is one range query over ``log_leaves``, whose entries (the commitments) are recomputed from the
stored openings. A tile's bytes never depend on when it is asked for.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.storage.models import LogLeaf, LogTile
from consilience.tlog import merkle, tiles


def tile_bytes(session: Session, tile: tiles.Tile) -> bytes:
    """The bytes of hash tile ``tile``; InvalidInput unless all its hashes are stored."""
    if tile.entries:
        raise InvalidInput(_("an entry bundle holds entries, not hashes"))
    level, first, count = tiles.stored_rows_of(tile)
    rows = session.execute(select(LogTile.idx, LogTile.hashes)
                           .where(LogTile.level == level, LogTile.idx >= first, LogTile.idx < first + count)
                           .order_by(LogTile.idx)).all()
    stored = b"".join(bytes(r.hashes) for r in rows)
    wanted = tile.width * merkle.HASH_SIZE
    if [r.idx for r in rows] != list(range(first, first + count)) or len(stored) < wanted:
        raise InvalidInput(_("the log does not hold every hash of {path}", path=tile.path))
    return stored[:wanted]


def bundle_bytes(session: Session, tile: tiles.Tile) -> bytes:
    """The bytes of entry bundle ``tile``: the leaf data (each leaf's entry) of its leaves, in order."""
    if not tile.entries:
        raise InvalidInput(_("an entry bundle is named tile/entries/…"))
    first = tile.first_node
    rows = session.scalars(select(LogLeaf).where(LogLeaf.idx >= first, LogLeaf.idx < first + tile.width)
                           .order_by(LogLeaf.idx)).all()
    if [r.idx for r in rows] != list(range(first, first + tile.width)):
        raise InvalidInput(_("the log does not hold every leaf of {path}", path=tile.path))
    return tiles.encode_bundle([r.data for r in rows])
