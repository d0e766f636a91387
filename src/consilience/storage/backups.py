"""Reporters' sealed wallet backups (PROTOCOL.md §14.1): one per account, found by the account handle.

The escrow server stores each document as uploaded and cannot open it: the wallet in it is sealed
under a key only the passphrase through t key servers gives, and the key servers' shares in it are
HPKE-sealed to them. What it learns is the handle (the same hash of the account key anyone holding
the key computes), the version, the size and when it changed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consilience.storage.models import Backup, InviteRow


class StaleBackup(Exception):
    """The stored backup is as new or newer (another device saved since): the caller says 409 with it."""

    def __init__(self, stored_version: int) -> None:
        super().__init__(f"stored version {stored_version}")
        self.stored_version = stored_version


def account_key(session: Session, account_id: bytes) -> bytes | None:
    """The account key a reporter registered with (its invite's), which the handle is computed from."""
    key = session.scalar(select(InviteRow.account_key).where(InviteRow.account_id == account_id))
    return bytes(key) if key is not None else None


def store(session: Session, account_id: bytes, handle: bytes, version: int, document: bytes, *,
          now: datetime | None = None) -> datetime:
    """Keep ``document`` as the account's backup if ``version`` is newer than the stored one."""
    now = now or datetime.now(UTC)
    row = session.get(Backup, account_id, with_for_update=True)
    if row is None:
        session.add(Backup(account_id=account_id, handle_bytes=handle, version=version, document=document,
                           updated_at=now))
    else:
        if version <= row.version:
            raise StaleBackup(row.version)
        row.version, row.document, row.updated_at, row.handle_bytes = version, document, now, handle
    session.flush()
    return now


def by_handle(session: Session, handle: bytes) -> bytes | None:
    document = session.scalar(select(Backup.document).where(Backup.handle_bytes == handle))
    return bytes(document) if document is not None else None


def delete(session: Session, account_id: bytes) -> bool:
    row = session.get(Backup, account_id)
    if row is None:
        return False
    session.delete(row)
    return True


__all__ = ["StaleBackup", "account_key", "by_handle", "delete", "store"]
