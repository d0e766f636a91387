"""The escrow's C2SP tlog-tiles (PROTOCOL.md §11.1), on SQLite and PostgreSQL: what is served, its headers,
a receipt checked from tiles alone, and paths that are refused."""

from __future__ import annotations

import functools
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from consilience.cli.app import app
from consilience.clients import log_tiles
from consilience.crypto import signing
from consilience.errors import VerificationError
from consilience.protocol import deployment as deployment_doc
from consilience.protocol import events
from consilience.protocol.encoding import b64u_encode
from consilience.services.escrow import transparency
from consilience.services.escrow.log_endpoints import IMMUTABLE, SHORT_LIVED
from consilience.storage import log
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle, tiles

from .harness import Escrow

TILES = log_tiles.TILES_PATH


def _grow(escrow: Escrow, leaves: int) -> int:
    """``leaves`` padding leaves straight into the log, then a checkpoint, as a release pass would; the size."""
    now = datetime.now(UTC)
    with escrow.db.write() as session:
        log.append_batch(session, leaves, now)
        log.sign(session, escrow.deployment.log_origin, escrow.state.log_private, now)
        return log.size(session)


def _receipt(escrow: Escrow) -> str:
    """A receipt of a new entry leaf, as the escrow issues one (``transparency.opened_receipt``)."""
    now = datetime.now(UTC)
    opening = events.Opening.fresh(events.entry_event(os.urandom(16), os.urandom(32), now))
    with escrow.db.write() as session:
        index = log.append(session, opening, now)
        note = log.sign(session, escrow.deployment.log_origin, escrow.state.log_private, now)
        return transparency.opened_receipt(session, index, opening.leaf, opening.encoded, note)


def test_a_receipt_is_checked_from_tiles_alone_and_every_tile_is_the_databases(any_escrow: Escrow) -> None:
    escrow = any_escrow
    _grow(escrow, 300)
    receipt = _receipt(escrow)
    size = _grow(escrow, 250)
    with log_tiles.TileSource(http=escrow.client) as source:
        checked = log_tiles.check_receipt(source, receipt, escrow.deployment.log_vkey,
                                          origin=escrow.deployment.log_origin)
        assert source.requests[0] == "checkpoint"
        assert all(not r.startswith("..") for r in source.requests)
    assert checked.checkpoint.checkpoint.size == size and checked.receipt_size == 301
    with escrow.db.read() as session:
        nodes = log.DatabaseNodes(session)
        assert checked.inclusion == log.inclusion_proof(session, checked.index, size)
        assert checked.consistency == log.consistency_proof(session, 301, size)
        expected = {t.path: tiles.read_tile(nodes, t) for t in tiles.tree_tiles(size)}
        leaves = [leaf.data for leaf in log.leaves(session)]
    # only tiles of the newest tree were read, and the bundle with the receipt's leaf
    assert set(checked.fetched) <= set(expected) | {b.path for b in tiles.tree_bundles(size)}
    for path, data in expected.items():
        answer = escrow.client.get(f"{TILES}/{path}")
        assert answer.status_code == 200 and answer.content == data, path
        assert answer.headers["content-type"] == "application/octet-stream"
        assert answer.headers["cache-control"] == (IMMUTABLE if tiles.parse_path(path).full else SHORT_LIVED)
    for bundle in tiles.tree_bundles(size):
        answer = escrow.client.get(f"{TILES}/{bundle.path}")
        assert answer.status_code == 200
        assert tiles.decode_bundle(answer.content, bundle.width) == \
            leaves[bundle.first_node:bundle.first_node + bundle.width]
    answer = escrow.client.get(f"{TILES}/checkpoint")
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "no-cache"
    assert cp.parse_signed_checkpoint(answer.text)[0].size == size
    assert answer.text == escrow.client.get("/v2/log/checkpoint").text


def test_tiles_beyond_the_signed_tree_are_404_and_earlier_partials_are_served(escrow: Escrow) -> None:
    old = _grow(escrow, 20)
    size = _grow(escrow, 280)
    assert (old, size) == (20, 300)
    old_partial = escrow.client.get(f"{TILES}/tile/0/000.p/20")  # an earlier checkpoint's partial tile
    full = escrow.client.get(f"{TILES}/tile/0/000")
    assert old_partial.status_code == 200 and old_partial.content == full.content[:20 * 32]
    assert escrow.client.get(f"{TILES}/tile/entries/001.p/44").status_code == 200
    for path in ("tile/0/001", "tile/0/001.p/45", "tile/0/002.p/1", "tile/1/000", "tile/1/000.p/2",
                 "tile/2/000.p/1", "tile/entries/001", "tile/entries/001.p/45", "tile/7/000.p/1",
                 "tile/0/x072/x057/x594/x037/x927/935"):
        assert escrow.client.get(f"{TILES}/{path}").status_code == 404, path
    # leaves appended and not yet signed are not served: tiles are the signed tree's
    with escrow.db.write() as session:
        log.append_batch(session, 8, datetime.now(UTC))
    assert escrow.client.get(f"{TILES}/tile/0/001.p/52").status_code == 404
    assert escrow.client.get(f"{TILES}/tile/0/001.p/44").status_code == 200


def test_malformed_tile_paths_are_refused_with_400_and_change_nothing(escrow: Escrow) -> None:
    _grow(escrow, 10)
    before = escrow.counts()
    for path in ("tile/00/000", "tile/0/0", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/x000/001", "tile/64/000",
                 "tile/0/000.p/01", "tile/entries/000.p", "tile/0/000/extra", "tile/data/000", "tile/0/x001",
                 "tile/0/%30%30%30%2e", "tile/0/000.p/1/2"):
        answer = escrow.client.get(f"{TILES}/{path}")
        assert answer.status_code == 400, path
        assert answer.json()["detail"].startswith("not a tile path")
    assert escrow.client.get(f"{TILES}/tile/0/000.p/10").status_code == 200
    assert escrow.counts() == before


def test_a_tile_server_that_lies_is_caught(escrow: Escrow) -> None:
    _grow(escrow, 40)
    receipt = _receipt(escrow)
    _grow(escrow, 5)

    class Lying(log_tiles.TileSource):
        def fetch(self, path: str) -> bytes:
            data = bytearray(super().fetch(path))
            if path.startswith("tile/0/"):
                data[3 * merkle.HASH_SIZE] ^= 1
            return bytes(data)
    with Lying(http=escrow.client) as source, pytest.raises(VerificationError):
        log_tiles.check_receipt(source, receipt, escrow.deployment.log_vkey, origin=escrow.deployment.log_origin)


def test_a_partial_tile_the_server_dropped_is_read_from_the_full_one() -> None:
    tree = merkle.MemoryTree()
    for i in range(600):
        tree.append(i.to_bytes(4, "big"))

    def serve(request: httpx.Request) -> httpx.Response:
        tile = tiles.parse_path(request.url.path.removeprefix(f"{TILES}/"))
        if not tile.full:  # as a log may once the full tile exists
            return httpx.Response(404)
        if tile.entries:
            return httpx.Response(200, content=tiles.encode_bundle([b"e%d" % i for i in range(256)]))
        return httpx.Response(200, content=tiles.read_tile(tree, tile))
    with log_tiles.TileSource("http://log.example", http=httpx.Client(transport=httpx.MockTransport(serve))) as source:
        assert source.fetch("tile/0/000.p/5") == tiles.read_tile(tree, tiles.Tile(0, 0, 5))
        assert tiles.decode_bundle(source.fetch("tile/entries/000.p/3")) == [b"e0", b"e1", b"e2"]
        assert source.requests == ["tile/0/000.p/5", "tile/0/000", "tile/entries/000.p/3", "tile/entries/000"]


def test_log_verify_tiles_checks_a_receipt_from_the_servers_tiles(escrow: Escrow, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _grow(escrow, 3)
    path = tmp_path / "r.tlog-proof"
    path.write_text(_receipt(escrow))
    size = _grow(escrow, 260)
    deployment = tmp_path / "deployment.json"
    deployment.write_text(json.dumps(escrow.client.get("/v2/deployment").json()))
    fingerprint = b64u_encode(deployment_doc.admin_fingerprint(signing.public_key(escrow.admin_private)))
    monkeypatch.setattr(log_tiles, "TileSource", functools.partial(log_tiles.TileSource, http=escrow.client))
    args = ["log", "verify-tiles", str(path), "--server", "http://testserver", "--deployment", str(deployment),
            "--admin-fingerprint", fingerprint]
    shown = CliRunner().invoke(app, [*args, "--json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    assert (doc["index"], doc["receipt_size"], doc["size"]) == (3, 4, size)
    assert doc["tiles"] and all(p.startswith("tile/") for p in doc["tiles"])
    witness = cp.cosignature_vkey("witness.example/1", signing.public_key(signing.generate()))
    refused = CliRunner().invoke(app, [*args, "--witness", witness])
    assert refused.exit_code == 1 and "not cosigned by the witness" in refused.output
