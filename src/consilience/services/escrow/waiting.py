"""Telling accounts that something is waiting for them (PROTOCOL.md §13.7).

A notice leaves the server's trust boundary (a mail provider, a shared folder), and a mail to a
reporter may be read by someone close to them. So it says one thing, "there is something waiting",
and never what it is, who sent it, which match, or how many: the app, behind the person's sign-in,
shows the rest.

Counselors are told through the configured notifier (their inbox folder by default, or mail);
reporters only by mail, and only if they gave an address (``PUT /v2/account/notify``): a reporter
who gave none is never contacted outside the app. An account told less than ``QUIET_SECONDS`` ago
is not told again, so a conversation does not become a stream of mails whose timing mirrors it.
When several processes serve one PostgreSQL database, when each account was last told is a row of
``rate_buckets`` (a budget of one notice per ``QUIET_SECONDS``, ``services.escrow.limits``), so the
quiet time holds whichever process a message arrives through; SQLite's one process keeps it in memory.

``something_waiting`` runs after the message it is about was committed and never raises: a mail
server that is down loses a notice, never a message. Its log lines name no address and no content.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from consilience.services.escrow.limits import DatabaseStore
from consilience.services.escrow.notifier import WaitingNotice, WaitingNotifier, recipient_label, sends_mail
from consilience.services.limits import Rate
from consilience.storage.models import Account

if TYPE_CHECKING:
    from consilience.protocol.deployment import Counselor
    from consilience.services.escrow.state import ServerState

log = logging.getLogger(__name__)

#: An account told that something is waiting is not told again for this long.
QUIET_SECONDS = 15 * 60
#: ... kept as a budget where several processes share them: one notice, refilled in QUIET_SECONDS
TOLD_BUDGET = "waiting_notices_per_account"
QUIET_RATE = Rate(3600.0 / QUIET_SECONDS, 1.0)
_told_lock = threading.Lock()


def something_waiting(state: ServerState, account_ids: Sequence[bytes], now: datetime) -> None:
    """Tell each account (not revoked) that something is waiting, in generic words; never raises."""
    try:
        notice = _notice(state, account_ids, now)
        if notice is None:
            return
        notifier = state.notifier
        if not isinstance(notifier, WaitingNotifier):
            log.debug("the configured notifier passes on no 'something is waiting' notices")
            return
        notifier.waiting(notice)
    except Exception as exc:  # the message is stored; only the notice is lost
        log.error("could not say that something is waiting (%s)", type(exc).__name__)


def counselor_addresses(session: Session, counselors: Iterable[Counselor]) -> tuple[tuple[str, str], ...]:
    """(inbox label, address) of each counselor of the document whose account has an address."""
    by_key = {c.key_id: c for c in counselors}
    if not by_key:
        return ()
    rows = session.execute(
        select(Account.counselor_key_id, Account.notify_email)
        .where(Account.role == "counselor", Account.revoked_at.is_(None), Account.notify_email.is_not(None),
               Account.counselor_key_id.in_(list(by_key)))).all()
    found: dict[str, str] = {}
    for key_id, email in rows:
        counselor = by_key.get(key_id) if key_id is not None else None
        if counselor is not None and email:
            found[recipient_label(counselor.name, counselor.key_id)] = email
    return tuple(sorted(found.items()))


def _notice(state: ServerState, account_ids: Sequence[bytes], now: datetime) -> WaitingNotice | None:
    mail = sends_mail(state.notifier)
    wanted = _not_told_lately(state, dict.fromkeys(account_ids), now)
    if not wanted:
        return None
    document = state.deployments.current().deployment
    listed = {c.key_id: c for c in document.counselors}
    with state.db.read() as session:
        rows = session.execute(
            select(Account.role, Account.counselor_key_id, Account.notify_email)
            .where(Account.account_id.in_(wanted), Account.revoked_at.is_(None))).all()
    counselors: dict[str, str | None] = {}
    reporters: list[str] = []
    for role, key_id, email in rows:
        if role == "counselor":
            counselor = listed.get(key_id) if key_id is not None else None
            if counselor is not None:  # a counselor no longer in the document is told nothing
                counselors[recipient_label(counselor.name, counselor.key_id)] = email
        elif email and mail:  # a reporter is told by mail or not at all
            reporters.append(email)
    if not counselors and not reporters:
        return None
    return WaitingNotice(
        occurred_at=now,
        counselors=tuple(counselors),
        counselor_addresses=tuple((label, email) for label, email in counselors.items() if email and mail),
        reporter_addresses=tuple(dict.fromkeys(reporters)),
    )


def _not_told_lately(state: ServerState, account_ids: Iterable[bytes], now: datetime) -> list[bytes]:
    """The accounts not told within QUIET_SECONDS, marked as told now."""
    store = state.limits.store
    if isinstance(store, DatabaseStore):  # one notice per quiet time, each account its own transaction
        return [a for a in account_ids
                if not store.take_at([(TOLD_BUDGET, QUIET_RATE, a, 1.0 - 1e-9)], now.timestamp())[0]]
    quiet = timedelta(seconds=QUIET_SECONDS)
    with _told_lock:
        told = state.waiting_told
        if len(told) > 10_000:  # forget what no longer matters
            for account_id in [a for a, at in told.items() if now - at >= quiet]:
                del told[account_id]
        wanted = [a for a in account_ids if a not in told or now - told[a] >= quiet or now < told[a]]
        for account_id in wanted:
            told[account_id] = now
    return wanted
