"""The key server's side of the key generation (protocol/dkg.py), run over the escrow server's board.

On start, a key server that holds no confirmed result for the deployment's epoch (1 the first
time, or the one an operator asked for with ``consilience admin restart-keygen``) runs the rounds
of protocol/dkg.py with the other key servers, the escrow server relaying their signed messages
(``clients/board.py``)::

    1. deal        keep a fresh DealerSeed and the deal on disk (0600), post the deal, wait for
                   every key server's deal (or the deal deadline)
    2. complaints  post a complaint against every deal that fails its checks; wait a round
    3. answers     answer the complaints against our own deal; wait a round
    4. finalize    compute our shares, post our confirmation of the transcript, wait until every
                   qualified key server confirmed the same one (dkg.confirmed)

then it stores the result (``quorum_store``) in its folder, erases the seed and answers
evaluations. A restart mid-run reuses the seed and the deal from disk, so it posts the same
bytes again and can still answer complaints. A run that fails (DkgFailed) is logged with the
reason and recorded; it is run again, with a fresh seed and a new epoch, only when an operator
asks (``admin restart-keygen`` writes ``keygen-request.json``), never silently. Until then
/v2/evaluate answers 503.

The escrow server being unreachable is not a failure: the key server says so once and keeps
trying (it may be started before the escrow server).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from consilience.clients.board import Board, BoardClient, BoardError
from consilience.datadir import KeyServerFolder, share_file
from consilience.datadir.share_file import KeyServerKeys, KeyShare
from consilience.errors import ConsilienceError
from consilience.protocol import deployment as deployment_doc
from consilience.protocol import dkg
from consilience.protocol.deployment import Deployment
from consilience.services.keyserver import quorum_store
from consilience.services.keyserver.quorum_store import Holder, QuorumShares, RunState
from consilience.services.keyserver.settings import MAX_RETRY_SECONDS, RETRY_SECONDS, KeygenSettings

log = logging.getLogger(__name__)



class Stopped(Exception):
    """The key server is shutting down."""


class Superseded(Exception):
    """An operator asked for a later epoch while this run was under way."""

    def __init__(self, epoch: int) -> None:
        super().__init__(epoch)
        self.epoch = epoch


@dataclass
class KeygenRunner:
    """One key server's key generation; ``run`` loops until ``stop`` is set (a daemon thread's body)."""

    folder: KeyServerFolder
    share: KeyShare
    keys: KeyServerKeys
    holder: Holder
    client: BoardClient
    settings: KeygenSettings
    stop: threading.Event
    clock: Callable[[], float] = time.monotonic
    #: the epoch of the run under way, if any: a request for a later one abandons it
    running: int | None = None
    _request_refused: bool = False

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._loop()
        except Stopped:
            pass
        except ConsilienceError as exc:  # a setup the operator must fix: said in words, no traceback
            log.error("key server %d cannot run the key generation: %s", self.share.index, exc)
            self.holder.status = f"cannot run the key generation: {exc}"
        except Exception:  # a bug must not pass silently: the key server keeps answering 503
            log.exception("key server %d: the key generation stopped on an unexpected error", self.share.index)
            self.holder.status = "stopped on an unexpected error (see the key server's log)"

    def _loop(self) -> None:
        held = quorum_store.read(self.folder.quorum_keys)
        if held is not None and held.deployment_id == self.share.deployment_id:
            self.holder.set(held)
            log.info("key server %d holds the quorum keys of epoch %d; answering evaluations", self.share.index,
                     held.epoch)
        deployment: Deployment | None = None
        while True:
            target = self._target_epoch(deployment)
            current = self.holder.get()
            if current is not None and current.epoch >= target:
                self._sleep(self.settings.request_poll_seconds)
                continue
            state = quorum_store.read_run(self.folder.keygen_seed)
            if state is not None and state.failed is not None and state.epoch >= target:
                self.holder.status = (f"the key generation of epoch {state.epoch} failed: {state.failed}; "
                                      "an operator must run it again (consilience admin restart-keygen)")
                self._sleep(self.settings.request_poll_seconds)
                continue
            deployment = self._deployment()
            target = self._target_epoch(deployment)
            if current is not None and current.epoch >= target:
                continue
            self.run_epoch(deployment, target)

    def _target_epoch(self, deployment: Deployment | None) -> int:
        """The epoch to hold: what an operator asked for, what is published, at least 1."""
        requested = self._requested()
        published = deployment.key_epoch if deployment is not None and deployment.quorum_keys is not None else 1
        return max(1, requested or 1, published)

    def _requested(self) -> int | None:
        try:
            requested = share_file.read_request(self.folder.keygen_request)
        except ConsilienceError as exc:
            if not self._request_refused:  # said once, not at every poll
                log.warning("key server %d ignores a request to run the key generation again: %s",
                            self.share.index, exc)
                self._request_refused = True
            return None
        self._request_refused = False
        return requested

    def _deployment(self) -> Deployment:
        """The signed deployment document from the escrow server, checked against the administrator's key."""
        said = False
        fingerprint = deployment_doc.admin_fingerprint(self.share.admin_key)
        while True:
            try:
                d = self.client.deployment(fingerprint)
            except BoardError as exc:
                if not said:
                    log.info("key server %d is waiting for the escrow server to publish the deployment document "
                             "(%s); it will keep trying", self.share.index, exc)
                    self.holder.status = "waiting for the escrow server"
                    said = True
                self._sleep(RETRY_SECONDS)
                continue
            if d.deployment_id != self.share.deployment_id:
                raise ConsilienceError(f"the escrow server at {self.client.base_url} publishes another deployment "
                                       "than the one this key server's share file names")
            return d

    # -- one run ---------------------------------------------------------------------------------

    def run_epoch(self, deployment: Deployment, epoch: int) -> QuorumShares | None:
        """Run the key generation of ``epoch``; the result once confirmed, None if it failed (logged)."""
        index = self.share.index
        params = deployment.dkg_parameters(epoch)
        me = params.participant(index)
        if me.identity_key != self.keys.identity_key or me.hpke_public_key != self.keys.hpke_public_key:
            raise ConsilienceError(f"the deployment document lists other keys for key server {index} than the "
                                   f"ones in {self.folder.root}")
        state = quorum_store.read_run(self.folder.keygen_seed)
        if state is None or state.epoch != epoch or state.seed is None or state.deal is None:
            seed = dkg.DealerSeed.fresh()
            state = RunState(epoch, seed, dkg.deal(params, index, self.keys.identity_private, seed))
            quorum_store.write_run(self.folder.keygen_seed, state)  # before it is posted: a restart re-posts it
            log.info("key server %d starts the key generation of epoch %d with %d key servers (%d needed), "
                     "quorum levels %d to %d", index, epoch, params.n, params.threshold, params.low, params.high)
        else:
            log.info("key server %d resumes the key generation of epoch %d with the deal it kept", index, epoch)
        assert state.seed is not None and state.deal is not None
        board = Board(self.client, epoch)
        self.running = epoch
        try:
            result = self._rounds(params, board, state.seed, state.deal)
        except Superseded as exc:
            log.warning("key server %d abandons the key generation of epoch %d: an operator asked for epoch %d",
                        index, epoch, exc.epoch)
            quorum_store.erase(self.folder.keygen_seed)
            dkg.clear_caches()
            return None
        except dkg.DkgFailed as exc:
            log.error("key server %d: the key generation of epoch %d failed: %s. It is not repeated on its own: "
                      "run 'consilience admin restart-keygen' to start epoch %d on every key server",
                      index, epoch, exc, epoch + 1)
            quorum_store.write_run(self.folder.keygen_seed, RunState(epoch, failed=str(exc)))  # the seed is erased
            self.holder.status = f"the key generation of epoch {epoch} failed: {exc}"
            dkg.clear_caches()
            return None
        finally:
            self.running = None
        held = QuorumShares.from_result(self.share.deployment_id, epoch, result)
        quorum_store.write(self.folder.quorum_keys, held)
        quorum_store.erase(self.folder.keygen_seed)
        dkg.clear_caches()
        self.holder.set(held)
        log.info("key server %d finished the key generation of epoch %d: qualified key servers %s, every one "
                 "confirmed the same transcript; its shares are stored and it answers evaluations", index, epoch,
                 ", ".join(map(str, result.qualified)))
        return held

    def _rounds(self, params: dkg.Parameters, board: Board, seed: dkg.DealerSeed,
                deal: bytes) -> dkg.KeyServerResult:
        index, n, rounds = self.share.index, params.n, self.settings.round_seconds
        self.holder.status = f"epoch {params.epoch}: posting the deal"
        self._post(board, deal)
        self.holder.status = f"epoch {params.epoch}: waiting for the other key servers' deals"
        deadline = self.clock() + self.settings.deal_timeout_seconds
        said = -1
        while True:
            self._refresh(board)
            dealers = _dealers(params, board.messages)
            if len(dealers) >= n:
                break
            if len(dealers) != said:
                missing = [p.index for p in params.participants if p.index not in dealers]
                log.info("key server %d, epoch %d: %d of %d deals on the board; waiting for key server(s) %s",
                         index, params.epoch, len(dealers), n, ", ".join(map(str, missing)))
                said = len(dealers)
            if self.clock() >= deadline:
                log.warning("key server %d, epoch %d: no deal from key server(s) %s by the deadline; going on "
                            "without them", index, params.epoch,
                            ", ".join(str(p.index) for p in params.participants if p.index not in dealers))
                break
            self._sleep(min(rounds, 1.0))
        complaints = dkg.complaints_for(params, index, self.keys.identity_private, self.keys.hpke_private,
                                        board.messages)
        for message in complaints:
            self._post(board, message)
        real = [c for c in complaints if not _no_deal(params, c)]
        log.info("key server %d, epoch %d: every deal checked, %s", index, params.epoch,
                 "no complaint" if not real else f"{len(real)} complaint(s) posted")
        self.holder.status = f"epoch {params.epoch}: waiting for complaints"
        self._sleep(rounds)
        self._refresh(board)
        answers = dkg.answer(params, index, self.keys.identity_private, seed, board.messages)
        for message in answers:
            self._post(board, message)
        if answers:
            log.info("key server %d, epoch %d: answered %d complaint(s) against its deal", index, params.epoch,
                     len(answers))
        self.holder.status = f"epoch {params.epoch}: waiting for answers to complaints"
        self._sleep(rounds)
        self._refresh(board)
        result = dkg.finalize(params, index, self.keys.hpke_private, board.messages)
        self._post(board, dkg.confirm(params, self.keys.identity_private, result))
        log.info("key server %d, epoch %d: finalized with qualified key servers %s; waiting for each of them to "
                 "confirm the same transcript", index, params.epoch, ", ".join(map(str, result.qualified)))
        self.holder.status = f"epoch {params.epoch}: waiting for the other key servers' confirmations"
        deadline = self.clock() + self.settings.confirm_rounds * rounds
        while True:
            self._refresh(board)
            try:
                return dkg.confirmed(params, result, board.messages)
            except dkg.DkgFailed as exc:
                if exc.disagreeing or self.clock() >= deadline:
                    raise
            self._sleep(min(rounds / 4, 1.0))

    # -- helpers ---------------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Stopped
        if self.running is not None:
            requested = self._requested()
            if requested is not None and requested > self.running:
                raise Superseded(requested)

    def _post(self, board: Board, message: bytes) -> None:
        self._retrying(lambda: board.post(message))

    def _refresh(self, board: Board) -> None:
        self._retrying(board.refresh)

    def _retrying(self, call: Callable[[], object]) -> None:
        """CALL until it succeeds: an unreachable or refusing escrow server is waited for, never a failure
        of the run (it may restart, or still serve an older deployment document)."""
        said: set[int] = set()
        wait = RETRY_SECONDS
        while True:
            try:
                call()
                return
            except BoardError as exc:
                if exc.status not in said:
                    log.warning("key server %d: %s; trying again", self.share.index, exc)
                    said.add(exc.status)
                self._sleep(exc.retry_after or wait)
                wait = min(wait * 2, MAX_RETRY_SECONDS)


def _dealers(params: dkg.Parameters, messages: list[bytes]) -> set[int]:
    found = set()
    for data in messages:
        try:
            msg = dkg.parse(params, data)
        except (ConsilienceError, ValueError):
            continue
        if isinstance(msg, dkg.Deal):
            found.add(msg.dealer)
    return found


def _no_deal(params: dkg.Parameters, data: bytes) -> bool:
    msg = dkg.parse(params, data)
    return isinstance(msg, dkg.Complaint) and msg.reason == dkg.NOTHING_BY_DEADLINE


def start(runner: KeygenRunner) -> threading.Thread:
    """Run ``runner`` in a daemon thread (it ends when ``runner.stop`` is set)."""
    thread = threading.Thread(target=runner.run, name=f"keygen-{runner.share.index}", daemon=True)
    thread.start()
    return thread


__all__ = ["KeygenRunner", "start"]
