"""Key-server test helpers: a deployment folder from ``admin init``, the key servers' run the document asks
for executed in process (the real protocol/dkg.py rounds, results written where the key server reads them)
and published as ``admin publish-keys`` publishes it, an in-process bulletin board served over real HTTP in
the plan's format, and signed v2 evaluation requests."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Query, Response
from fastapi.responses import JSONResponse

from consilience.crypto import oprf
from consilience.datadir import DataDir, share_file
from consilience.datadir.share_file import KeyServerKeys
from consilience.errors import ConsilienceError
from consilience.operator.deployment import init_deployment, load_deployment, next_serial, publish
from consilience.operator.quorum_keys import quorum_keys_from_board
from consilience.protocol import accounts, dkg, evaluation, quorum
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import BoardPost
from consilience.services.keyserver import quorum_store
from consilience.services.keyserver.quorum_store import QuorumShares
from v2_world import Account

KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}
PASSPHRASE = "admin passphrase"


@dataclass
class Folder:
    """A deployment made by ``admin init`` in a test's folder."""

    data: DataDir
    deployment: Deployment

    @property
    def root(self) -> Path:
        return self.data.root

    def keys(self, index: int) -> KeyServerKeys:
        folder = self.data.keyserver(index)
        return share_file.read_keys(folder.identity_key, folder.hpke_key)

    def admin_private(self) -> bytes:
        from consilience.operator.deployment import unseal_admin_key

        return unseal_admin_key(self.root, PASSPHRASE)


def make_deployment(root: Path, *, key_servers: int = 3, threshold: int = 2, quorum: int = 2,
                    max_quorum: int = 3, escrow_port: int = 8100, keyserver_ports: list[int] | None = None) -> Folder:
    d = init_deployment(root, PASSPHRASE, quorum=quorum, max_quorum=max_quorum, key_servers=key_servers,
                        threshold=threshold, escrow_port=escrow_port, keyserver_ports=keyserver_ports,
                        kdf_params=KDF)
    return Folder(DataDir(root), d)


def run_keygen(folder: Folder, epoch: int | None = None, *,
               write: bool = True) -> tuple[list[bytes], dict[int, QuorumShares]]:
    """The run the document asks for (its ``key_change``, at ``epoch``), every key server's rounds in process over
    one honest board; each result written into its folder as the key server writes it: a generation's into
    quorum-keys.json, a renewal's into quorum-keys-next.json until it is published (:func:`publish_result`).

    Generations and refreshes (the same key servers, each in its folder ``keyserver-N``)."""
    d = load_deployment(folder.root)
    assert d.key_change is not None, "the deployment document asks the key servers for no run"
    epoch = d.key_change.epoch if epoch is None else epoch
    params = d.dkg_parameters(epoch)
    keys = {p.index: folder.keys(p.index) for p in params.participants}
    before: dict[int, dkg.HeldShares] = {}
    if params.kind != dkg.GENERATE:
        for p in params.dealers:
            shares = quorum_store.read(folder.data.keyserver(p.index).quorum_keys)
            assert shares is not None, f"key server {p.index} holds no shares to renew"
            before[p.index] = shares.held()
    dealers = {p.index: folder.keys(p.index) for p in params.dealers}
    seeds = {i: dkg.DealerSeed.fresh() for i in dealers}
    board = [dkg.deal(params, i, dealers[i].identity_private, seeds[i], before.get(i)) for i in dealers]
    for i in keys:
        board += dkg.complaints_for(params, i, keys[i].identity_private, keys[i].hpke_private, board)
    for i in dealers:
        board += dkg.answer(params, i, dealers[i].identity_private, seeds[i], board, before.get(i))
    refreshed = params.kind == dkg.REFRESH
    results = {i: dkg.finalize(params, i, keys[i].hpke_private, board, before.get(i) if refreshed else None)
               for i in keys}
    board += [dkg.confirm(params, keys[i].identity_private, results[i]) for i in keys]
    held = {}
    for i in keys:
        held[i] = QuorumShares.from_result(d.deployment_id, epoch, dkg.confirmed(params, results[i], board))
        if write:
            ks = folder.data.keyserver(i)
            quorum_store.write(ks.quorum_keys if params.kind == dkg.GENERATE else ks.next_quorum_keys, held[i])
    return board, held


def publish_result(folder: Folder, board: list[bytes]) -> Deployment:
    """The key servers' confirmed result signed into the next document, as ``admin publish-keys`` does it."""
    d = load_deployment(folder.root)
    assert d.key_change is not None
    updated = next_serial(d, **quorum_keys_from_board(d, d.key_change.epoch, board).apply(d))
    publish(folder.data, updated, folder.admin_private())
    folder.deployment = updated
    return updated


def keygen_and_publish(folder: Folder) -> tuple[list[bytes], dict[int, QuorumShares]]:
    """:func:`run_keygen`, then :func:`publish_result`: the deployment ready for evaluations."""
    board, held = run_keygen(folder)
    publish_result(folder, board)
    return board, held


# -- signed requests ------------------------------------------------------------------------------


def account(folder: Folder, *, deployment_id: bytes | None = None, admin_private: bytes | None = None) -> Account:
    seed = os.urandom(32)
    cert = accounts.issue_certificate(admin_private or folder.admin_private(),
                                      deployment_id or folder.deployment.deployment_id, accounts.account_key(seed))
    return Account(seed, cert)


def identifiers(n: int) -> tuple[list[bytes], list[quorum.BlindedIdentifier]]:
    names = [f"email:person{i}-{os.urandom(4).hex()}@example.com".encode() for i in range(n)]
    blinded = [oprf.blind(name, oprf.MODE_VOPRF)[1] for name in names]
    return blinded, [quorum.blind(name) for name in names]


def request_body(folder: Folder, who: Account, audience: bytes, n: int = 1, *, now: float | None = None,
                 blinded: list[bytes] | None = None, points: list[bytes] | None = None,
                 nonce: bytes | None = None) -> dict[str, object]:
    if blinded is None or points is None:
        b, p = identifiers(n)
        blinded = b if blinded is None else blinded
        points = [x.blinded for x in p] if points is None else points
    req = evaluation.make_request(who.seed, who.certificate, folder.deployment.deployment_id, audience, blinded,
                                  points, now=now, nonce=nonce)
    return body_of(req)


def body_of(req: evaluation.EvaluationRequest) -> dict[str, object]:
    return {"certificate": b64u_encode(req.certificate), "audience": b64u_encode(req.audience),
            "issued_at": req.issued_at, "nonce": b64u_encode(req.nonce),
            "blinded": [b64u_encode(b) for b in req.blinded], "points": [b64u_encode(p) for p in req.points],
            "signature": b64u_encode(req.signature)}


# -- an in-process bulletin board over HTTP -------------------------------------------------------------


def board_app(root: Path) -> FastAPI:
    """The board's two endpoints as the plan specifies them, and the signed document beside them.

    Like the escrow server's: a message is accepted only if dkg.parse accepts it under the
    deployment's parameters for the epoch (422 otherwise), the same bytes twice answer 200.
    """
    app = FastAPI()
    boards: dict[int, list[tuple[bytes, float]]] = {}
    lock = threading.Lock()
    published = DataDir(root).escrow.published
    app.state.boards = boards

    def deployment() -> Deployment:
        return load_deployment(root)

    @app.get("/v2/deployment")
    def get_deployment() -> JSONResponse:
        return JSONResponse(json.loads(published.read_text()))

    @app.post("/v2/board", status_code=201)
    def post(body: BoardPost, response: Response) -> dict[str, int]:
        data = b64u_decode(body.message)
        try:
            dkg.parse(deployment().dkg_parameters(body.epoch), data)
        except ConsilienceError as exc:
            return JSONResponse({"error": "invalid", "detail": str(exc)}, status_code=422)  # type: ignore[return-value]
        with lock:
            board = boards.setdefault(body.epoch, [])
            for seq, (m, _) in enumerate(board, start=1):
                if m == data:
                    response.status_code = 200
                    return {"seq": seq}
            board.append((data, time.time()))
            return {"seq": len(board)}

    @app.get("/v2/board/{epoch}")
    def read(epoch: int, after: int = Query(default=0, ge=0)) -> dict[str, object]:
        with lock:
            board = list(boards.get(epoch, []))
        page = [(seq, m, t) for seq, (m, t) in enumerate(board, start=1) if seq > after][:500]
        from datetime import UTC, datetime

        return {"messages": [{"seq": s, "message": b64u_encode(m), "received_at": datetime.fromtimestamp(t, UTC)
                              .isoformat()} for s, m, t in page],
                "next_after": page[-1][0] if page else after}

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """APP on loopback in a thread; yields its URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
