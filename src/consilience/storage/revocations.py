"""Sessions and revocations in the escrow database (PROTOCOL.md §6.1, §6.2).

A bearer token is a session (``sessions``): SHA-256 of the token, its account, when it expires.
An account the administrator revoked (``accounts.revoked_at``) has no session left and makes no new
one, so its next request is refused. The administrator's signed revocation lists are kept by
serial (``revocation_lists``); the escrow server serves the newest to the key servers.

Like ``repository``, every function takes a ``Session`` inside a transaction the caller owns.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from consilience.errors import ConsilienceError, InvalidInput
from consilience.i18n import _
from consilience.storage.models import Account, AccountSession, InviteRow, RevocationListRow

TOKEN_BYTES = 32


class SessionExpired(ConsilienceError):
    """The token was a session that has expired: the client signs in again."""


class AccountRevoked(ConsilienceError):
    """The account was revoked by the administrator: it signs in no more."""


class AccountDeleted(ConsilienceError):
    """The account's holder deleted it (``storage/deletion.py``, PROTOCOL.md §14.2): it signs in no more."""


def _refuse_closed(account: Account) -> None:
    _refuse_closed_at(account.deleted_at, account.revoked_at)


def _refuse_closed_at(deleted_at: datetime | None, revoked_at: datetime | None) -> None:
    if deleted_at is not None:
        raise AccountDeleted(_("this account was deleted by its holder"))
    if revoked_at is not None:
        raise AccountRevoked(_("this account was revoked by the administrator"))


class NoSuchAccount(ConsilienceError):
    """No account for that account key or credential (one case, whichever it was)."""


def _hash(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# -- sessions -----------------------------------------------------------------


def create_session(session: Session, account_id: bytes, lifetime: timedelta, *,
                   now: datetime | None = None) -> tuple[bytes, datetime]:
    """A new bearer token for ``account_id``, good for ``lifetime``; returns (token, expires_at)."""
    if lifetime <= timedelta(0):
        raise InvalidInput(_("a session must last a positive time"))
    now = _now(now)
    token = os.urandom(TOKEN_BYTES)
    session.add(AccountSession(token_hash=_hash(token), account_id=account_id, created_at=now,
                               expires_at=now + lifetime))
    # expired sessions of this account are forgotten whenever it signs in
    session.execute(delete(AccountSession).where(AccountSession.account_id == account_id,
                                                 AccountSession.expires_at <= now)
                    .execution_options(synchronize_session=False))
    session.flush()
    return token, now + lifetime


def session_account(session: Session | Connection, token: bytes, *,
                    now: datetime | None = None) -> tuple[bytes, str, str | None, bytes | None] | None:
    """The account of the live session ``token`` as (account id, role, name, counselor key id); None if there
    is none; AccountDeleted, AccountRevoked, SessionExpired, in that order.

    Every authenticated request asks this, so it is one indexed SELECT (the session's primary key joined to
    its account's) in Core, with nothing cached: a revocation or a deletion refuses the next request.
    """
    row = session.execute(_SESSION_ACCOUNT, {"token_hash": _hash(token)}).first()
    if row is None:
        return None
    expires_at, account_id, role, name, key_id, revoked_at, deleted_at = row
    _refuse_closed_at(deleted_at, revoked_at)
    if expires_at <= _now(now):
        raise SessionExpired(_("this session has expired; sign in again"))
    return account_id, role, name, key_id


_SESSION_ACCOUNT = (
    select(AccountSession.expires_at, Account.account_id, Account.role, Account.name, Account.counselor_key_id,
           Account.revoked_at, Account.deleted_at)
    .join(Account, Account.account_id == AccountSession.account_id)
    .where(AccountSession.token_hash == bindparam("token_hash"))
)


def reporter_by_key(session: Session, account_key: bytes) -> tuple[Account, bytes]:
    """The registered reporter of ``account_key`` and the certificate it registered with."""
    invite = session.get(InviteRow, account_key)
    account = None if invite is None or invite.account_id is None else session.get(Account, invite.account_id)
    if account is None or invite is None:
        raise NoSuchAccount(_("no account for this key"))
    _refuse_closed(account)
    return account, invite.certificate


def counselor_by_credential(session: Session, credential: bytes) -> Account:
    """The counselor whose credential (``cnslc1.``'s token) this is."""
    account = session.scalar(select(Account).where(Account.token_hash == _hash(credential),
                                                   Account.role == "counselor"))
    if account is None:
        raise NoSuchAccount(_("no counselor with this credential"))
    _refuse_closed(account)
    return account


# -- revocation ---------------------------------------------------------------


@dataclass(frozen=True)
class Revoked:
    """Accounts a revocation stopped: their ids and how many sessions died with them."""

    account_ids: tuple[bytes, ...]
    sessions_ended: int


def revoke_accounts(session: Session, account_ids: list[bytes], *, now: datetime | None = None) -> Revoked:
    """Mark the accounts revoked and end every session of theirs, in the caller's transaction."""
    now = _now(now)
    ids = sorted(set(account_ids))
    if not ids:
        return Revoked((), 0)
    session.execute(update(Account).where(Account.account_id.in_(ids), Account.revoked_at.is_(None))
                    .values(revoked_at=now).execution_options(synchronize_session=False))
    ended = session.execute(delete(AccountSession).where(AccountSession.account_id.in_(ids))
                            .execution_options(synchronize_session=False))
    session.flush()
    return Revoked(tuple(ids), int(ended.rowcount or 0))  # type: ignore[attr-defined]


def reporter_account_id(session: Session, account_key: bytes) -> bytes | None:
    """The account registered with ``account_key``'s invite, if it was used."""
    invite = session.get(InviteRow, account_key)
    return None if invite is None else invite.account_id


def counselor_account_ids(session: Session, key_id: bytes) -> list[bytes]:
    return list(session.scalars(select(Account.account_id).where(Account.role == "counselor",
                                                                Account.counselor_key_id == key_id)))


def refuse_unused_invite(session: Session, account_key: bytes, *, now: datetime | None = None) -> bool:
    """An invite of ``account_key`` not used yet expires now, so it registers nobody; whether there was one."""
    now = _now(now)
    done = session.execute(update(InviteRow).where(InviteRow.account_key == account_key, InviteRow.used_at.is_(None),
                                                   InviteRow.expires_at > now)
                           .values(expires_at=now).execution_options(synchronize_session=False))
    return bool(done.rowcount)  # type: ignore[attr-defined]


def store_list(session: Session, serial: int, published: dict[str, Any], *, now: datetime | None = None) -> None:
    """Keep a signed revocation list; its serial must be the next one."""
    newest = newest_serial(session)
    if serial != newest + 1:
        raise InvalidInput(_("the next revocation list has serial {newest}, not {serial}",
                             newest=newest + 1, serial=serial))
    session.add(RevocationListRow(serial=serial, published=json.dumps(published, sort_keys=True),
                                  created_at=_now(now)))
    session.flush()


def newest_serial(session: Session) -> int:
    return int(session.scalar(select(func.max(RevocationListRow.serial))) or 0)


def newest_list(session: Session) -> dict[str, Any] | None:
    """The published form of the newest signed revocation list, or None before the first."""
    row = session.scalar(select(RevocationListRow).order_by(RevocationListRow.serial.desc()).limit(1))
    if row is None:
        return None
    doc: dict[str, Any] = json.loads(row.published)
    return doc
