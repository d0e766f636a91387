"""The key server's side of the key generation, refresh and resharing (protocol/dkg.py), run over the
escrow server's board.

The key server follows the administrator-signed deployment document (fetched from the escrow
server, checked against the administrator's key in ``keyserver.json``). When the document asks
for a run (``key_change``: generate, refresh or reshare, at a board epoch) in which this key
server deals (it holds shares of the published result) or receives (it is listed in the change),
it runs the rounds of protocol/dkg.py with the others, the escrow server relaying their signed
messages (``clients/board.py``)::

    1. deal        (a dealer) keep a fresh DealerSeed and the deal on disk (0600), post the deal;
                   wait for every dealer's deal (or the deal deadline)
    2. complaints  (a recipient) post a complaint against every deal that fails its checks; wait a round
    3. answers     (a dealer) answer the complaints against our own deal; wait a round
    4. finalize    (a recipient) compute our shares, post our confirmation of the transcript, wait until
                   every holder confirmed the same one (dkg.confirmed)

A generation's result is stored (``quorum_store``) and used at once. A renewal's waits in
``quorum-keys-next.json`` while the key server goes on answering with the shares in force; when
the document publishes it, it replaces them and the old shares are erased. A key server the
document no longer lists erases its shares. A restart mid-run reuses the seed and the deal from
disk, so it posts the very same bytes again and can still answer complaints. A run that fails
(DkgFailed) is logged with the reason and recorded; it is run again only when the administrator
asks for it at a new epoch (``consilience admin restart-keygen``), never silently. Until a key
server holds shares in force, /v2/evaluate answers 503.

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
from consilience.datadir import KeyServerFolder
from consilience.datadir.share_file import KeyServerKeys, Membership
from consilience.errors import ConsilienceError
from consilience.i18n import N_, _
from consilience.protocol import deployment as deployment_doc
from consilience.protocol import dkg
from consilience.protocol.deployment import Deployment
from consilience.services.keyserver import quorum_store
from consilience.services.keyserver.quorum_store import Holder, QuorumShares, RunState, Said
from consilience.services.keyserver.settings import MAX_RETRY_SECONDS, RETRY_SECONDS, KeygenSettings

log = logging.getLogger(__name__)

#: what the logs and the status call each kind of run
_RUN_NAMES = {dkg.GENERATE: N_("key generation"), dkg.REFRESH: N_("refresh"), dkg.RESHARE: N_("resharing")}


class Stopped(Exception):
    """The key server is shutting down."""


class Superseded(Exception):
    """The administrator asked for another run while this one was under way."""

    def __init__(self, epoch: int) -> None:
        super().__init__(epoch)
        self.epoch = epoch


@dataclass(frozen=True)
class Role:
    """What this key server does in one run: deal as ``dealer`` (its index among the dealers), receive as
    ``recipient`` (its index in the new set), or both."""

    dealer: int | None
    recipient: int | None
    held: QuorumShares | None


@dataclass
class KeygenRunner:
    """One key server's key generation; ``run`` loops until ``stop`` is set (a daemon thread's body)."""

    folder: KeyServerFolder
    member: Membership
    keys: KeyServerKeys
    holder: Holder
    client: BoardClient
    settings: KeygenSettings
    stop: threading.Event
    clock: Callable[[], float] = time.monotonic
    #: the epoch of the run under way, if any: a document asking for another abandons it
    running: int | None = None
    _next_look: float = 0.0

    @property
    def name(self) -> str:
        """How its logs name it: its index in the set in force; before it holds shares, the N of the data
        folder's keyserver-N it was started as (``--index N``), if any."""
        held = self.holder.get()
        index = held.index if held is not None else self.folder.index
        return f"key server {index}" if index else "the key server"

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._loop()
        except Stopped:
            pass
        except ConsilienceError as exc:  # a setup the operator must fix: said in words, no traceback
            log.error("%s cannot run the key generation: %s", self.name, exc)
            self.holder.status = Said(N_("cannot run the key generation: {exc}"), exc=exc)
        except Exception:  # a bug must not pass silently: the key server keeps answering 503
            log.exception("%s: the key generation stopped on an unexpected error", self.name)
            self.holder.status = N_("stopped on an unexpected error (see the key server's log)")

    def _loop(self) -> None:
        held = quorum_store.read(self.folder.quorum_keys)
        if held is not None and held.deployment_id == self.member.deployment_id:
            self.holder.set(held)
            log.info("key server %d holds the quorum keys of epoch %d; answering evaluations", held.index,
                     held.epoch)
        while True:
            d = self._deployment()
            self.follow(d)
            change = d.key_change
            if change is not None and not self._finished(change.epoch):
                role = self.role(d, change.epoch)
                if role.dealer is not None or role.recipient is not None:
                    state = quorum_store.read_run(self.folder.keygen_seed)
                    if state is not None and state.epoch == change.epoch and state.failed is not None:
                        self.holder.status = Said(N_("the key generation of epoch {epoch} failed: {reason}; the "
                                                     "administrator must run it again (consilience admin "
                                                     "restart-keygen)"), epoch=state.epoch, reason=state.failed)
                    else:
                        self.run_epoch(d, change.epoch, role)
                        continue
            self._sleep(self.settings.request_poll_seconds)

    def _finished(self, epoch: int) -> bool:
        held, upcoming = self.holder.get(), quorum_store.read(self.folder.next_quorum_keys)
        state = quorum_store.read_run(self.folder.keygen_seed)
        return ((held is not None and held.epoch >= epoch) or (upcoming is not None and upcoming.epoch >= epoch)
                or (state is not None and state.epoch == epoch and state.finished))

    def follow(self, d: Deployment) -> None:
        """Take up what the document published: a renewal's result replaces the shares in force (which are
        erased); shares the document no longer uses are erased."""
        keys = d.quorum_keys
        mine = next((s for s in d.key_servers if s.identity_key == self.keys.identity_key), None)
        retiring = mine is not None and d.retiring(mine)
        if retiring and not self.holder.retiring:
            log.warning("key server %d is left out by the resharing the administrator asked for (epoch %d): it "
                        "answers no evaluation from now on, deals its shares to the new set, and erases them once "
                        "the result is published", mine.index if mine else 0, d.key_change.epoch if d.key_change
                        else 0)
        self.holder.retiring = retiring
        if keys is None:
            return
        listed = mine is not None
        upcoming = quorum_store.read(self.folder.next_quorum_keys)
        held = self.holder.get()
        if upcoming is not None and upcoming.epoch == keys.epoch and listed:
            quorum_store.write(self.folder.quorum_keys, upcoming)  # replaces the old shares on disk
            quorum_store.erase(self.folder.next_quorum_keys)
            self.holder.set(upcoming)
            log.info("key server %d: the administrator published the keys of epoch %d (%s); it answers with "
                     "them, and its shares of epoch %s are erased", upcoming.index, keys.epoch, keys.kind,
                     held.epoch if held is not None else "-")
            return
        if upcoming is not None and upcoming.epoch < keys.epoch:
            quorum_store.erase(self.folder.next_quorum_keys)  # a renewal the administrator did not publish
        if held is None:
            return
        if not listed:
            self._erase(held, Said(N_("the deployment document no longer lists this key server")))
        elif held.epoch != keys.epoch:
            self._erase(held, Said(N_("the deployment uses the keys of epoch {epoch}, and this key server holds "
                                      "none of them (it holds epoch {held}'s); another resharing can give it "
                                      "shares"), epoch=keys.epoch, held=held.epoch))
        elif mine is not None and (held.index != mine.index or held.public_share != mine.public_share):
            # shares of another key server (a file copied between folders) would be served under this one's
            # identity; clients would refuse every proof, so say so instead of answering
            self.holder.clear(Said(N_("{path} holds shares the deployment document does not list for this key "
                                      "server (key server {index}); it answers no evaluation. Restore its own file, "
                                      "or have the administrator rebuild it (admin key-servers --replace)"),
                                   path=self.folder.quorum_keys, index=mine.index))
            log.error("key server %d: %s", mine.index, self.holder.status)

    def _erase(self, held: QuorumShares, why: Said) -> None:
        quorum_store.erase(self.folder.quorum_keys)
        quorum_store.erase(self.folder.next_quorum_keys)
        self.holder.clear(Said(N_("holds no shares: {why}"), why=why))
        log.warning("key server %d erased its shares of epoch %d: %s", held.index, held.epoch, why)

    def role(self, d: Deployment, epoch: int) -> Role:
        params = d.dkg_parameters(epoch)
        me = self.keys.identity_key
        recipient = next((p.index for p in params.participants if p.identity_key == me), None)
        if recipient is not None:
            listed = params.participant(recipient)
            if listed.hpke_public_key != self.keys.hpke_public_key:
                raise ConsilienceError(_("the deployment document lists another HPKE key for this key server than "
                                         "the one in {root}",
                                         root=self.folder.root))
        if params.kind == dkg.GENERATE:
            return Role(recipient, recipient, None)
        held = self.holder.get()
        dealer = next((p.index for p in params.dealers if p.identity_key == me), None)
        if dealer is not None and (held is None or d.quorum_keys is None or held.epoch != d.quorum_keys.epoch
                                   or held.index != dealer):
            log.warning("key server %d is listed as a dealer of epoch %d but holds no shares of the keys in force; "
                        "it only receives", dealer, epoch)
            dealer = None
        return Role(dealer, recipient, held)

    def _deployment(self) -> Deployment:
        """The signed deployment document from the escrow server, checked against the administrator's key."""
        said = False
        fingerprint = deployment_doc.admin_fingerprint(self.member.admin_key)
        while True:
            try:
                d = self.client.deployment(fingerprint)
            except BoardError as exc:
                if not said:
                    log.info("%s is waiting for the escrow server to publish the deployment document (%s); it will "
                             "keep trying", self.name, exc)
                    self.holder.status = N_("waiting for the escrow server")
                    said = True
                self._sleep(RETRY_SECONDS)
                continue
            if d.deployment_id != self.member.deployment_id:
                raise ConsilienceError(_("the escrow server at {base_url} publishes another deployment than the "
                                         "one this key server's keyserver.json names",
                                         base_url=self.client.base_url))
            self.holder.deployment = d
            return d

    # -- one run ---------------------------------------------------------------------------------

    def run_epoch(self, deployment: Deployment, epoch: int, role: Role | None = None) -> QuorumShares | None:
        """Take part in the run of ``epoch``; the result once confirmed (None if it failed, or we only dealt)."""
        role = role or self.role(deployment, epoch)
        params = deployment.dkg_parameters(epoch)
        # in words (English, as the log says it): "the key generation of epoch 1", "the refresh of epoch 2"
        kind = _RUN_NAMES[params.kind]
        who = f"key server {role.recipient if role.recipient is not None else role.dealer}"
        held_shares = role.held.held() if role.held is not None else None
        seed = deal = None
        if role.dealer is not None:
            state = quorum_store.read_run(self.folder.keygen_seed)
            if state is None or state.epoch != epoch or state.seed is None or state.deal is None:
                seed = dkg.DealerSeed.fresh()
                state = RunState(epoch, seed, dkg.deal(params, role.dealer, self.keys.identity_private, seed,
                                                       held_shares))
                quorum_store.write_run(self.folder.keygen_seed, state)  # before it is posted: a restart re-posts it
                log.info("%s starts the %s of epoch %d with %d key servers (%d needed), quorum levels %d to %d",
                         who, kind, epoch, params.n, params.threshold, params.low, params.high)
            else:
                log.info("%s resumes the %s of epoch %d with the deal it kept", who, kind, epoch)
            seed, deal = state.seed, state.deal
        else:
            quorum_store.write_run(self.folder.keygen_seed, RunState(epoch))
            log.info("%s takes part in the %s of epoch %d as a recipient", who, kind, epoch)
        board = Board(self.client, epoch)
        self.running = epoch
        try:
            result = self._rounds(params, board, role, seed, deal, held_shares)
        except Superseded as exc:
            log.warning("%s abandons the %s of epoch %d: the administrator asked for epoch %d", who, kind, epoch,
                        exc.epoch)
            quorum_store.erase(self.folder.keygen_seed)
            dkg.clear_caches()
            return None
        except dkg.DkgFailed as exc:
            log.error("%s: the %s of epoch %d failed: %s. It is not repeated on its own: the administrator runs "
                      "'consilience admin restart-keygen' to ask every key server for it again", who, kind, epoch,
                      exc)
            quorum_store.write_run(self.folder.keygen_seed, RunState(epoch, failed=str(exc)))  # the seed is erased
            self.holder.status = Said(N_("the {kind} of epoch {epoch} failed: {exc}"), kind=Said(kind), epoch=epoch,
                                      exc=exc)
            dkg.clear_caches()
            return None
        finally:
            self.running = None
        dkg.clear_caches()
        if result is None:  # dealt only: this key server receives nothing in the new set
            quorum_store.write_run(self.folder.keygen_seed, RunState(epoch, finished=True))
            log.info("%s dealt its part of the %s of epoch %d; it is not in the new set, so it holds nothing of "
                     "it", who, kind, epoch)
            return None
        held = QuorumShares.from_result(self.member.deployment_id, epoch, result)
        if params.kind == dkg.GENERATE:
            quorum_store.write(self.folder.quorum_keys, held)
            what = "its shares are stored and it answers evaluations"
        else:
            quorum_store.write(self.folder.next_quorum_keys, held)
            what = "the new shares wait for the administrator to publish them (consilience admin publish-keys)"
        # the seed is erased once the result is stored, and before the shares are used: a run that shows as
        # done has left no seed behind (a crash in between would otherwise keep it, as the run is not resumed)
        quorum_store.write_run(self.folder.keygen_seed, RunState(epoch, finished=True))
        if params.kind == dkg.GENERATE:
            self.holder.set(held)
        log.info("%s finished the %s of epoch %d: qualified dealers %s, every holder confirmed the same transcript; "
                 "%s", who, kind, epoch, ", ".join(map(str, result.qualified)), what)
        return held

    def _rounds(self, params: dkg.Parameters, board: Board, role: Role, seed: dkg.DealerSeed | None,
                deal: bytes | None, held: dkg.HeldShares | None) -> dkg.KeyServerResult | None:
        rounds = self.settings.round_seconds
        who = f"key server {role.recipient if role.recipient is not None else role.dealer}"
        expected = [p.index for p in params.dealers]
        if deal is not None:
            self.holder.status = Said(N_("epoch {epoch}: posting the deal"), epoch=params.epoch)
            self._post(board, deal)
        self.holder.status = Said(N_("epoch {epoch}: waiting for the key servers' deals"), epoch=params.epoch)
        deadline = self.clock() + self.settings.deal_timeout_seconds
        said = -1
        while True:
            self._refresh(board)
            dealers = _dealers(params, board.messages)
            if len(dealers) >= len(expected):
                break
            if len(dealers) != said:
                missing = [i for i in expected if i not in dealers]
                log.info("%s, epoch %d: %d of %d deals on the board; waiting for dealer(s) %s", who, params.epoch,
                         len(dealers), len(expected), ", ".join(map(str, missing)))
                said = len(dealers)
            if self.clock() >= deadline:
                log.warning("%s, epoch %d: no deal from dealer(s) %s by the deadline; going on without them", who,
                            params.epoch, ", ".join(str(i) for i in expected if i not in dealers))
                break
            # a quarter round, at most a second: the complaint round starts soon after the last deal lands
            self._sleep(min(rounds / 4, 1.0))
        if role.recipient is not None:
            complaints = dkg.complaints_for(params, role.recipient, self.keys.identity_private,
                                            self.keys.hpke_private, board.messages)
            for message in complaints:
                self._post(board, message)
            real = [c for c in complaints if not _no_deal(params, c)]
            log.info("%s, epoch %d: every deal checked, %s", who, params.epoch,
                     "no complaint" if not real else f"{len(real)} complaint(s) posted")
        self.holder.status = Said(N_("epoch {epoch}: waiting for complaints"), epoch=params.epoch)
        self._sleep(rounds)
        self._refresh(board)
        if role.dealer is not None and seed is not None:
            answers = dkg.answer(params, role.dealer, self.keys.identity_private, seed, board.messages, held)
            for message in answers:
                self._post(board, message)
            if answers:
                log.info("%s, epoch %d: answered %d complaint(s) against its deal", who, params.epoch, len(answers))
        self.holder.status = Said(N_("epoch {epoch}: waiting for answers to complaints"), epoch=params.epoch)
        self._sleep(rounds)
        self._refresh(board)
        if role.recipient is None:
            return None
        refreshed = held if params.kind == dkg.REFRESH else None
        result = dkg.finalize(params, role.recipient, self.keys.hpke_private, board.messages, refreshed)
        self._post(board, dkg.confirm(params, self.keys.identity_private, result))
        log.info("%s, epoch %d: finalized with qualified dealers %s; waiting for every holder to confirm the same "
                 "transcript", who, params.epoch, ", ".join(map(str, result.qualified)))
        self.holder.status = Said(N_("epoch {epoch}: waiting for the other key servers' confirmations"),
                                  epoch=params.epoch)
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
        if self.running is not None and self.clock() >= self._next_look:
            self._next_look = self.clock() + self.settings.request_poll_seconds
            try:
                d = self.client.deployment(deployment_doc.admin_fingerprint(self.member.admin_key))
            except BoardError:
                return  # looked for again at the next poll; the run goes on
            self.holder.deployment = d
            if d.key_change is not None and d.key_change.epoch > self.running:
                raise Superseded(d.key_change.epoch)

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
                    log.warning("%s: %s; trying again", self.name, exc)
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
    thread = threading.Thread(target=runner.run, name="keygen", daemon=True)
    thread.start()
    return thread


__all__ = ["KeygenRunner", "start"]
