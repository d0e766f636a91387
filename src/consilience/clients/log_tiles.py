"""Checking the log from its C2SP tiles alone (PROTOCOL.md §11.1): no proof endpoint, no trust in a cache.

A verifier asks the escrow (or any mirror or cache of ``/v2/log/tiles/``) for the signed
checkpoint and the tiles that tree needs, and builds the inclusion and consistency proofs
itself (``tlog.tiles.TileNodes``). Every hash it uses is checked against the root the log
signed, so tiles may come from anywhere: a wrong one makes the proof fail, never pass.

``check_receipt`` does that for a reporter's receipt: the receipt's leaf is in the newest
checkpoint, the newest tree extends the receipt's, and the entry bundle holds the leaf's
data at its index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

from consilience.clients import receipts
from consilience.clients.escrow_client import ApiError
from consilience.clients.http import client as http_client
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle, tiles

#: Where the escrow serves its tiles (``services/escrow/log_endpoints.py``: ``PREFIX`` + ``TILES``).
TILES_PATH = "/v2/log/tiles"

Fetch = Callable[[str], bytes]


class TileSource:
    """The tiles, bundles and checkpoint under ``base_url`` + ``/v2/log/tiles/`` (or ``prefix``).

    ``http`` (tests: the app's TestClient) replaces the client built here. A partial tile the
    server no longer has is read from the full tile, which the spec allows a log to serve instead.
    """

    def __init__(self, base_url: str = "", *, prefix: str = TILES_PATH, http: httpx.Client | None = None,
                 timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = prefix.rstrip("/")
        self._own = http is None
        self._http = http if http is not None else http_client(timeout=timeout)
        self.requests: list[str] = []

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> TileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, *, missing_ok: bool = False) -> bytes | None:
        url = f"{self.base_url}{self.prefix}/{path}"
        self.requests.append(path)
        try:
            response = self._http.get(url)
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", _("cannot fetch {url}: {kind} {exc}", url=url, kind=type(exc).__name__,
                                               exc=exc).strip(),
                           server=self.base_url or None) from exc
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code != 200:
            raise ApiError(response.status_code, "error", _("GET {url}: {text}", url=url, text=response.text[:200]),
                           server=self.base_url or None)
        return response.content

    def checkpoint(self) -> str:
        """The newest signed checkpoint note, with its cosignature lines, unverified."""
        data = self._get("checkpoint")
        assert data is not None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VerificationError(_("the log's checkpoint is not UTF-8 text")) from exc

    def fetch(self, path: str) -> bytes:
        """A tile or bundle by its path (``tile/0/x001/234.p/17``)."""
        tile = tiles.parse_path(path)
        data = self._get(path, missing_ok=not tile.full)
        if data is not None:
            return data
        full = self._get(tiles.Tile(tile.level, tile.index, entries=tile.entries).path)
        assert full is not None
        if tile.entries:
            return tiles.encode_bundle(tiles.decode_bundle(full)[:tile.width])
        return full[:tile.width * merkle.HASH_SIZE]


def inclusion_from_tiles(fetch: Fetch, leaf_data: bytes, index: int, checkpoint: cp.Checkpoint) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the checkpoint's tree, built from tiles and checked."""
    reader = tiles.TileNodes(fetch, checkpoint.size)
    try:
        proof = merkle.inclusion_proof(reader, index, checkpoint.size)
    except InvalidInput as exc:
        raise VerificationError(_("the tiles do not give an inclusion proof: {exc}", exc=exc)) from exc
    merkle.verify_inclusion(merkle.leaf_hash(leaf_data), index, checkpoint.size, proof, checkpoint.root_hash)
    return proof


def consistency_from_tiles(fetch: Fetch, old: cp.Checkpoint, new: cp.Checkpoint) -> list[bytes]:
    """The consistency proof from ``old`` to ``new``, built from the tiles of ``new``'s tree and checked."""
    if old.origin != new.origin:
        raise VerificationError(_("the checkpoints are of two logs ({origin}, {origin2})",
                                  origin=repr(old.origin), origin2=repr(new.origin)))
    if old.size > new.size:
        raise VerificationError(_("the newer checkpoint ({size}) is smaller than the older ({size2})",
                                  size=new.size, size2=old.size))
    proof: list[bytes] = []
    if old.size < new.size:
        try:
            proof = merkle.consistency_proof(tiles.TileNodes(fetch, new.size), old.size, new.size)
        except InvalidInput as exc:
            raise VerificationError(_("the tiles do not give a consistency proof: {exc}", exc=exc)) from exc
    merkle.verify_consistency(old.size, new.size, proof, old.root_hash, new.root_hash)
    return proof


def entry_from_bundle(fetch: Fetch, index: int, size: int) -> bytes:
    """Leaf ``index``'s entry from the bundle the tree of ``size`` serves (unchecked: compare it)."""
    bundle = tiles.served_tile(size, 0, index // tiles.TILE_WIDTH, entries=True)
    if bundle is None or index >= size:
        raise InvalidInput(_("leaf {index} is not in a tree of {size} leaves", index=index, size=size))
    return tiles.decode_bundle(fetch(bundle.path), bundle.width)[index % tiles.TILE_WIDTH]


@dataclass(frozen=True)
class TileCheck:
    """What checking a receipt from tiles established."""

    index: int
    receipt_size: int
    checkpoint: cp.VerifiedCheckpoint
    inclusion: list[bytes]
    consistency: list[bytes]
    fetched: list[str] = field(default_factory=list)


def check_receipt(source: TileSource, receipt_text: str, log_vkey: str, *, origin: str | None = None,
                  witness_vkeys: Iterable[str] = ()) -> TileCheck:
    """The receipt verifies, and the log's newest checkpoint (from its tiles) still contains its leaf.

    VerificationError if any step fails: the receipt, the newest checkpoint's signatures (the
    log's, and one by each of ``witness_vkeys``), the inclusion of the receipt's leaf in it, its
    consistency with the receipt's checkpoint, or the entry bundle's copy of the leaf.
    """
    opened = receipts.open_receipt(receipt_text, log_vkey, origin=origin)
    result = opened.result
    witnesses = list(witness_vkeys)
    newest = cp.open_checkpoint(source.checkpoint(), log_vkey, origin=origin, witness_vkeys=witnesses)
    cosigned = {c.key_id for c in newest.cosignatures}
    for w in cp.witness_verifiers(witnesses):
        if w.key_id not in cosigned:
            raise VerificationError(_("the log's newest checkpoint is not cosigned by the witness {vkey}", vkey=w.vkey))
    new = newest.checkpoint
    old = cp.Checkpoint(result.origin, result.tree_size, result.root_hash)
    if new.size < old.size:
        raise VerificationError(_("the log's newest checkpoint ({size}) is older than the receipt's ({size2})",
                                  size=new.size, size2=old.size))
    fetched: list[str] = []

    def fetch(path: str) -> bytes:
        fetched.append(path)
        return source.fetch(path)
    inclusion = inclusion_from_tiles(fetch, result.leaf, result.index, new)
    consistency = consistency_from_tiles(fetch, old, new)
    if entry_from_bundle(fetch, result.index, new.size) != result.leaf:
        raise VerificationError(_("the log's entry bundle holds another leaf at index {index}", index=result.index))
    return TileCheck(result.index, old.size, newest, inclusion, consistency, fetched)
