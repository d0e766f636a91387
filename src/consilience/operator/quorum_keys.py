"""Publishing the key servers' quorum keys (``consilience admin publish-keys``).

The key servers generate the quorum secrets among themselves (protocol/dkg.py over the escrow
server's board); the administrator never holds one. What the administrator does is read the
same public board, compute the qualified set and the public commitments (``dkg.qualify``, a
deterministic function of the board), check that every qualified key server signed a
confirmation of exactly that transcript, and sign a new deployment document carrying them
(``QuorumKeys``), so that clients take the commitments from a document they already trust.
The document carries the confirmations too, and clients check them: the administrator
publishes the key servers' result but cannot substitute one.

The same for a refresh or a resharing (``operator/key_changes.py`` asks for them): the document
that publishes their result lists the new set of key servers with their VOPRF public shares.

Also ``restart_keygen``: after a failed run, ask every key server for it again at the next epoch,
in a new deployment document (a failed run is never repeated on its own).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from consilience.clients.board import BoardClient, BoardError
from consilience.datadir import DataDir
from consilience.errors import ConsilienceError, InvalidInput, VerificationError
from consilience.i18n import N_, _
from consilience.operator.deployment import load_deployment, next_serial, publish, unseal_admin_key
from consilience.protocol import deployment as dep
from consilience.protocol import dkg

#: How long ``publish-keys`` waits for every qualified key server's confirmation by default.
WAIT_SECONDS = 300.0
#: How often it reads the board while waiting.
POLL_SECONDS = 0.5


class KeysNotReady(ConsilienceError):
    """The board does not (yet) hold a confirmed key generation; ``missing`` names the key servers waited for."""

    def __init__(self, message: str, *, missing: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


@dataclass(frozen=True)
class Progress:
    """What ``publish-keys`` has seen so far, for a progress line."""

    epoch: int
    deals: tuple[int, ...]
    confirmed: tuple[int, ...]
    waiting_for: tuple[int, ...]

    def describe(self) -> str:
        if self.waiting_for and not self.confirmed:
            return _("epoch {epoch}: deals from key server(s) {deals}; waiting for key server(s) {waiting}",
                     epoch=self.epoch, deals=_names(self.deals) or _("none yet"), waiting=_names(self.waiting_for))
        return _("epoch {epoch}: confirmed by key server(s) {confirmed}; waiting for key server(s) {waiting}",
                 epoch=self.epoch, confirmed=_names(self.confirmed) or _("none yet"),
                 waiting=_names(self.waiting_for))


#: A key change's kind as the English message names it (its code), translated into words.
_KIND_WORDS = {"generate": N_("generate"), "refresh": N_("refresh"), "reshare": N_("reshare")}


def _names(indices: Sequence[int]) -> str:
    return ", ".join(map(str, indices))


@dataclass(frozen=True)
class Result:
    """A confirmed run as the next deployment document publishes it."""

    keys: dep.QuorumKeys
    oprf_public_key: bytes
    threshold: int
    #: the key servers of the run, with their VOPRF public shares
    servers: tuple[dep.KeyServer, ...]

    def apply(self, d: dep.Deployment) -> dict[str, object]:
        """The changes to ``d`` (for ``next_serial``)."""
        return {"quorum_keys": self.keys, "oprf_public_key": self.oprf_public_key, "threshold": self.threshold,
                "key_servers": self.servers, "key_change": None}


def quorum_keys_from_board(d: dep.Deployment, epoch: int, messages: Sequence[bytes]) -> Result:
    """The result of EPOCH's board, if every holder confirmed its transcript.

    KeysNotReady (naming whom) while deals or confirmations are missing; DkgFailed when the run failed
    (too few qualified, or a key server confirmed another board: run ``restart-keygen``).
    """
    if d.key_change is None or d.key_change.epoch != epoch:
        if d.key_change is not None:
            raise InvalidInput(_("the deployment document asks the key servers for no run at epoch {epoch} (it asks "
                                 "for epoch {asked})", epoch=epoch, asked=d.key_change.epoch))
        raise InvalidInput(_("the deployment document asks the key servers for no run at epoch {epoch}; nothing "
                             "to publish", epoch=epoch))
    change = d.key_change
    params = d.dkg_parameters(epoch)
    parsed: list[dkg.Message | dkg.Confirmation] = []
    for data in messages:
        try:
            parsed.append(dkg.parse(params, data))
        except (InvalidInput, VerificationError):
            continue  # the relay is untrusted; dkg.qualify ignores what does not verify, and so do we
    dealers = sorted({m.dealer for m in parsed if isinstance(m, dkg.Deal)})
    confirmations: dict[int, list[dkg.Confirmation]] = {}
    for m in parsed:
        if isinstance(m, dkg.Confirmation):
            confirmations.setdefault(m.author, []).append(m)
    if not confirmations:
        waiting = [p.index for p in params.dealers if p.index not in dealers]
        kind = _(_KIND_WORDS.get(change.kind, change.kind))
        names = _names(dealers) or _("none")
        if waiting:
            raise KeysNotReady(_("the key servers have not finished the {kind} of epoch {epoch} (deals from {names} "
                                 "so far; waiting for key server(s) {waiting})",
                                 kind=kind, epoch=epoch, names=names, waiting=_names(waiting)), missing=waiting)
        raise KeysNotReady(_("the key servers have not finished the {kind} of epoch {epoch} (deals from {names} so "
                             "far; waiting for their confirmations)", kind=kind, epoch=epoch, names=names),
                           missing=dealers)
    qual = dkg.qualify(params, messages)
    checks = {m.abscissa_check for ms in confirmations.values() for m in ms}
    ours = {(qual.transcript, qual.qualified, qual.commitments_digest(c)) for c in checks}
    disagreeing = sorted(a for a, ms in confirmations.items()
                         if len({(m.transcript, m.qualified, m.commitments) for m in ms}) != 1
                         or {(m.transcript, m.qualified, m.commitments) for m in ms} - ours)
    if disagreeing or len(checks) != 1:
        raise dkg.DkgFailed(_("key server(s) {names} confirmed another board than the one the escrow server shows "
                              "for epoch {epoch}: the key servers were shown different boards. Run the key "
                              "generation again (consilience admin restart-keygen)",
                              names=_names(disagreeing or sorted(confirmations)), epoch=epoch),
                            disagreeing=disagreeing)
    check = checks.pop()
    missing = [i for i in qual.holders if i not in confirmations]
    if missing:
        raise KeysNotReady(_("no confirmation yet from key server(s) {names} for epoch {epoch}",
                             names=_names(missing), epoch=epoch),
                           missing=missing)
    generation = epoch if change.kind == "generate" else d.key_epoch
    keys = dep.QuorumKeys(
        epoch=epoch, generation=generation, kind=change.kind, renewed_from=params.previous_digest,
        transcript=qual.transcript, qualified=qual.holders, dealers=qual.qualified,
        levels={q: tuple(c.to_bytes() for c in cs) for q, cs in qual.master.items()},
        servers={i: {q: tuple(c.to_bytes() for c in cs) for q, cs in qual.server_commitments(i).items()}
                 for i in qual.holders},
        abscissa_check=check,
        confirmations=tuple(confirmations[i][0].raw for i in qual.holders))
    servers = tuple(replace(s, public_share=qual.oprf_public_share(s.index) if s.index in qual.holders else b"")
                    for s in change.servers)
    return Result(keys, qual.oprf_public_key, change.threshold, servers)


def wait_for_quorum_keys(d: dep.Deployment, client: BoardClient, *, epoch: int | None = None,
                         timeout: float = WAIT_SECONDS, poll: float = POLL_SECONDS,
                         progress: Callable[[Progress], None] | None = None,
                         clock: Callable[[], float] = time.monotonic,
                         sleep: Callable[[float], None] = time.sleep) -> Result:
    """Read the board until every qualified key server confirmed, or TIMEOUT (KeysNotReady naming the missing)."""
    deadline = clock() + timeout
    last: Progress | None = None
    unreachable: BoardError | None = None
    while True:
        try:
            chosen = epoch if epoch is not None else d.board_epoch
            messages, _next = client.read(chosen)
            unreachable = None
            try:
                return quorum_keys_from_board(d, chosen, messages)
            except KeysNotReady as exc:
                now = _progress(d, chosen, messages, exc.missing)
                if progress is not None and now != last:
                    progress(now)
                last = now
                if clock() >= deadline:
                    raise KeysNotReady(_("gave up after {timeout:g} s: {exc} (is every key server running? their "
                                         "logs say what they wait for)",
                                         timeout=timeout, exc=exc), missing=exc.missing) from None
        except BoardError as exc:
            unreachable = exc
            if clock() >= deadline:
                raise KeysNotReady(_("gave up after {timeout:g} s: {unreachable}",
                                     timeout=timeout, unreachable=unreachable)) from exc
        sleep(poll)


def _progress(d: dep.Deployment, epoch: int, messages: Sequence[bytes], missing: Sequence[int]) -> Progress:
    params = d.dkg_parameters(epoch)
    deals: set[int] = set()
    confirmed: set[int] = set()
    for data in messages:
        try:
            m = dkg.parse(params, data)
        except (InvalidInput, VerificationError):
            continue
        if isinstance(m, dkg.Deal):
            deals.add(m.dealer)
        elif isinstance(m, dkg.Confirmation):
            confirmed.add(m.author)
    return Progress(epoch, tuple(sorted(deals)), tuple(sorted(confirmed)), tuple(missing))


def publish_keys(root: Path, admin_secret: str, *, client: BoardClient | None = None, epoch: int | None = None,
                 timeout: float = WAIT_SECONDS, progress: Callable[[Progress], None] | None = None,
                 poll: float = POLL_SECONDS) -> dep.Deployment:
    """Wait for the key servers' confirmed key generation and sign it into the next deployment document."""
    d = load_deployment(root)
    admin_private = unseal_admin_key(root, admin_secret)  # a wrong passphrase fails before any waiting
    if d.key_change is None:
        return d  # nothing asked of the key servers: what is published stays
    own = client is None
    board = client or BoardClient(d.escrow_url)
    try:
        result = wait_for_quorum_keys(d, board, epoch=epoch, timeout=timeout, poll=poll, progress=progress)
    finally:
        if own:
            board.close()
    updated = next_serial(d, **result.apply(d))  # validate(): the confirmations and commitments, as clients check
    publish(DataDir(Path(root)), updated, admin_private)
    return updated


def restart_keygen(root: Path, admin_secret: str) -> dep.Deployment:
    """Ask every key server, in a new deployment document, for the run that failed again at the next epoch.

    Works for every key server wherever it runs: they all follow the published document.
    """
    d = load_deployment(root)
    admin_private = unseal_admin_key(root, admin_secret)
    if d.key_change is None:
        raise InvalidInput(_("the key servers are asked for nothing now, so there is nothing to run again (the "
                             "published quorum keys are in force; 'consilience admin refresh-keys' or 'consilience "
                             "admin key-servers' ask for a new run)"))
    updated = next_serial(d, key_change=replace(d.key_change, epoch=d.key_change.epoch + 1))
    publish(DataDir(Path(root)), updated, admin_private)
    return updated


__all__ = ["KeysNotReady", "Progress", "Result", "publish_keys", "quorum_keys_from_board", "restart_keygen",
           "wait_for_quorum_keys"]
