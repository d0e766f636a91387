"""What one account holds in escrow, for the escrow server's per-account quotas (PROTOCOL.md §9).

An account's active entries are those not withdrawn (escrowed or released: a released entry is
still stored). What each stores is its sealed body (attachments are inside it) and its
counselors' envelopes; tags (32 bytes each, at most 8) are left out of the count. A withdrawal
erases body and envelopes, so it frees its entry's share at once.

``lock_account`` serialises one account's writes, so two concurrent submissions cannot each
see room for one more and both be stored: on PostgreSQL it locks the account's row (FOR NO KEY
UPDATE, which leaves foreign-key checks against the row free); SQLite writes are serialised
already (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Select, bindparam, func, select
from sqlalchemy.orm import Session

from consilience.storage.models import Account, Entry, EntryEnvelope


@dataclass(frozen=True)
class Usage:
    """An account's active entries: how many, and the bytes they store."""

    entries: int
    bytes: int


def lock_account(session: Session | Connection, account_id: bytes) -> None:
    """Hold the account's row until the transaction ends: its writes check and store one at a time."""
    session.execute(_LOCK_ACCOUNT, {"account_id": account_id})


def usage(session: Session | Connection, account_id: bytes, *, excluding: bytes | None = None) -> Usage:
    """The account's active entries, without ``excluding`` (the entry an edit replaces)."""
    count, body_bytes, envelope_bytes = session.execute(
        _USAGE[excluding is not None], {"account_id": account_id, "excluding": excluding}).one()
    return Usage(entries=int(count), bytes=int(body_bytes) + int(envelope_bytes or 0))


def _usage_statement(excluding: bool) -> Select[int, int, int]:
    """Built once each (every submission runs one, and building costs more than running); the envelopes'
    bytes are a scalar subquery of the same SELECT, so the count is one round trip."""
    active = [Entry.account_id == bindparam("account_id"), Entry.status != "withdrawn"]
    if excluding:
        active.append(Entry.entry_id != bindparam("excluding"))
    envelopes = (select(func.coalesce(func.sum(func.length(EntryEnvelope.ciphertext)), 0))
                 .join(Entry, Entry.entry_id == EntryEnvelope.entry_id).where(*active).correlate(None)
                 .scalar_subquery())
    return select(func.count(), func.coalesce(func.sum(func.length(Entry.body)), 0), envelopes).where(*active)


_LOCK_ACCOUNT = (select(Account.account_id).where(Account.account_id == bindparam("account_id"))
                 .with_for_update(key_share=True))
_USAGE = {False: _usage_statement(False), True: _usage_statement(True)}


def stored_bytes(body: bytes | None, envelopes: tuple[tuple[bytes, bytes], ...]) -> int:
    """What one entry stores, counted as ``usage`` counts it."""
    return len(body or b"") + sum(len(ciphertext) for _key, ciphertext in envelopes)
