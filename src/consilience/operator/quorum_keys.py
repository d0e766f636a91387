"""Publishing the key servers' quorum keys (``consilience admin publish-keys``).

The key servers generate the quorum secrets among themselves (protocol/dkg.py over the escrow
server's board); the administrator never holds one. What the administrator does is read the
same public board, compute the qualified set and the public commitments (``dkg.qualify``, a
deterministic function of the board), check that every qualified key server signed a
confirmation of exactly that transcript, and sign a new deployment document carrying them
(``QuorumKeys``), so that clients take the commitments from a document they already trust.
The document carries the confirmations too, and clients check them: the administrator
publishes the key servers' result but cannot substitute one.

Also ``restart_keygen``: after a failed run, ask every key server whose folder is here to run
the key generation again at the next epoch (a failed run is never repeated on its own).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from consilience.clients.board import BoardClient, BoardError
from consilience.datadir import DataDir, share_file
from consilience.errors import ConsilienceError, InvalidInput, VerificationError
from consilience.operator.deployment import load_deployment, next_serial, publish, unseal_admin_key
from consilience.protocol import deployment as dep
from consilience.protocol import dkg

#: How long ``publish-keys`` waits for every qualified key server's confirmation by default.
WAIT_SECONDS = 300.0
#: How often it reads the board while waiting.
POLL_SECONDS = 0.5
#: Epochs ``publish-keys`` looks through for the latest key generation when none is named.
MAX_EPOCH_SCAN = 1000


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
            return (f"epoch {self.epoch}: deals from key server(s) {_names(self.deals) or 'none yet'}; "
                    f"waiting for key server(s) {_names(self.waiting_for)}")
        return (f"epoch {self.epoch}: confirmed by key server(s) {_names(self.confirmed) or 'none yet'}; "
                f"waiting for key server(s) {_names(self.waiting_for)}")


def _names(indices: Sequence[int]) -> str:
    return ", ".join(map(str, indices))


def quorum_keys_from_board(d: dep.Deployment, epoch: int, messages: Sequence[bytes]) -> dep.QuorumKeys:
    """The QuorumKeys of EPOCH's board, if every qualified key server confirmed its transcript.

    KeysNotReady (naming whom) while deals or confirmations are missing; DkgFailed when the run failed
    (too few qualified, or a key server confirmed another board: run ``restart-keygen``).
    """
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
        waiting = [p.index for p in params.participants if p.index not in dealers]
        waiting_for = f"; waiting for key server(s) {_names(waiting)}" if waiting else \
            "; waiting for their confirmations"
        raise KeysNotReady(f"the key servers have not finished the key generation of epoch {epoch} "
                           f"(deals from {_names(dealers) or 'none'} so far{waiting_for})", missing=waiting or dealers)
    qual = dkg.qualify(params, messages)
    ours = (qual.transcript, qual.qualified)
    disagreeing = sorted(a for a, ms in confirmations.items() if {(m.transcript, m.qualified) for m in ms} != {ours})
    if disagreeing:
        raise dkg.DkgFailed(f"key server(s) {_names(disagreeing)} confirmed another board than the one the escrow "
                            f"server shows for epoch {epoch}: the key servers were shown different boards. Run the "
                            "key generation again (consilience admin restart-keygen)", disagreeing=disagreeing)
    missing = [i for i in qual.qualified if i not in confirmations]
    if missing:
        raise KeysNotReady(f"no confirmation yet from key server(s) {_names(missing)} for epoch {epoch}",
                           missing=missing)
    keys = dep.QuorumKeys(
        epoch=epoch, transcript=qual.transcript, qualified=qual.qualified,
        levels={q: tuple(c.to_bytes() for c in cs) for q, cs in qual.master.items()},
        servers={i: {q: tuple(c.to_bytes() for c in cs) for q, cs in qual.server_commitments(i).items()}
                 for i in qual.qualified},
        confirmations=tuple(confirmations[i][0].raw for i in qual.qualified))
    return keys


def latest_epoch(client: BoardClient) -> int:
    """The highest epoch whose board holds anything (1 when none does yet)."""
    latest = 1
    for epoch in range(1, MAX_EPOCH_SCAN + 1):
        if not client.page(epoch).messages:
            break
        latest = epoch
    return latest


def wait_for_quorum_keys(d: dep.Deployment, client: BoardClient, *, epoch: int | None = None,
                         timeout: float = WAIT_SECONDS, poll: float = POLL_SECONDS,
                         progress: Callable[[Progress], None] | None = None,
                         clock: Callable[[], float] = time.monotonic,
                         sleep: Callable[[float], None] = time.sleep) -> dep.QuorumKeys:
    """Read the board until every qualified key server confirmed, or TIMEOUT (KeysNotReady naming the missing)."""
    deadline = clock() + timeout
    last: Progress | None = None
    unreachable: BoardError | None = None
    while True:
        try:
            chosen = epoch if epoch is not None else latest_epoch(client)
            messages, _ = client.read(chosen)
            unreachable = None
            try:
                return quorum_keys_from_board(d, chosen, messages)
            except KeysNotReady as exc:
                now = _progress(d, chosen, messages, exc.missing)
                if progress is not None and now != last:
                    progress(now)
                last = now
                if clock() >= deadline:
                    raise KeysNotReady(f"gave up after {timeout:g} s: {exc} (is every key server running? "
                                       "their logs say what they wait for)", missing=exc.missing) from None
        except BoardError as exc:
            unreachable = exc
            if clock() >= deadline:
                raise KeysNotReady(f"gave up after {timeout:g} s: {unreachable}") from exc
        sleep(poll)


def _progress(d: dep.Deployment, epoch: int, messages: Sequence[bytes], missing: Sequence[int]) -> Progress:
    params = d.dkg_parameters(epoch)
    deals, confirmed = set(), set()
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
    own = client is None
    board = client or BoardClient(d.escrow_url)
    try:
        keys = wait_for_quorum_keys(d, board, epoch=epoch, timeout=timeout, poll=poll, progress=progress)
    finally:
        if own:
            board.close()
    if d.quorum_keys is not None and d.quorum_keys.epoch == keys.epoch and d.quorum_keys.transcript == keys.transcript:
        return d  # already published: nothing to sign again
    updated = next_serial(d, quorum_keys=keys)  # validate(): the confirmations and commitments, as clients check
    publish(DataDir(Path(root)), updated, admin_private)
    return updated


def restart_keygen(root: Path, epoch: int | None = None) -> tuple[int, list[int]]:
    """Ask every key server whose folder is in ROOT to run the key generation of EPOCH (default: the next).

    Returns the epoch and the key servers asked. Key servers on other machines are asked by their
    operators (the same file in their folder: ``consilience admin restart-keygen --data-dir`` there).
    """
    data = DataDir(Path(root))
    asked = []
    current = 0
    servers = [data.keyserver(i) for i in range(1, 256) if data.keyserver(i).share.is_file()]
    if not servers:
        raise InvalidInput(f"no key-server folder in {root}: run this where the key servers' folders are")
    for folder in servers:
        current = max(current, share_file.read_request(folder.keygen_request) or 1)
    if data.deployment.is_file():
        d = load_deployment(root)
        if d.quorum_keys is not None:
            current = max(current, d.quorum_keys.epoch)
    chosen = epoch if epoch is not None else current + 1
    if chosen < 1:
        raise InvalidInput("an epoch is a positive number")
    for folder in servers:
        share_file.write_request(folder.keygen_request, chosen)
        asked.append(folder.index)
    return chosen, asked


__all__ = ["KeysNotReady", "Progress", "latest_epoch", "publish_keys", "quorum_keys_from_board", "restart_keygen",
           "wait_for_quorum_keys"]
