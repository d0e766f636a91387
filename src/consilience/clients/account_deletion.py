"""A reporter deletes their account (PROTOCOL.md §14.2): at the escrow server, then on this device.

The server withdraws every entry of the account (released or not, the same), deletes the backup and
the account, and says what stays. Then the wallet file and the receipts beside it are removed here:
nothing of the account is left on this device for someone who picks it up later. The local files go
only after the server confirmed, so a failure on the way leaves the wallet to try again with.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from consilience.clients.reporter import Session
from consilience.clients.results import JsonObject


@dataclass(frozen=True)
class Deletion:
    """What was erased (a count, the local files) and what stays, in the server's words."""

    erased_entries: int
    what_stays: tuple[str, ...]
    removed: tuple[str, ...]

    def to_json(self) -> JsonObject:
        return {"erased_entries": self.erased_entries, "what_stays": list(self.what_stays),
                "removed": list(self.removed)}


def delete_account(session: Session) -> Deletion:
    """Delete the account at its escrow server, then the wallet and its receipts on this device."""
    with session.client() as client:
        session.deployment(client)  # the administrator's server, checked before it is asked to erase anything
        answer = client.delete_account()
    return Deletion(answer.erased_entries, tuple(answer.what_stays), erase_local(session))


def erase_local(session: Session) -> tuple[str, ...]:
    """Remove the wallet file and the receipts folder (ids, hashes and the deployment document); returns what went."""
    removed = []
    receipts_dir = session.receipts_dir
    if receipts_dir.is_dir():
        shutil.rmtree(receipts_dir)
        removed.append(str(receipts_dir))
    wallet = Path(session.path)
    if wallet.exists():
        wallet.unlink()
        removed.append(str(wallet))
    return tuple(removed)
