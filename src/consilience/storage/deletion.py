"""A reporter deletes their own account (PROTOCOL.md §14.2), in the caller's transaction.

What goes: every entry of the account is withdrawn exactly as ``DELETE /v2/entries/{id}`` withdraws
one (body, envelopes and tags erased, a tombstone kept), whether or not it was released — so the
deletion, like a withdrawal, says nothing about matches (property (e)); the wallet backup
(``backups``, PROTOCOL.md §14.1); the requests for corroboration statements it was asked and the
consents it signed (§14.4); the messaging key, the notification address and every session.
The account row stays as a mark, ``deleted_at`` set, so the account key can never sign in again and
its invite can never register again; it holds no name, address or key of the person.

What stays, and why it cannot go: the tombstones (id, times) and the log's leaves, which are
commitments with no content (the log is append-only and others' receipts depend on it); what a
counselor already opened and read; messages already sent in a conversation (the counselors hold
them). ``WHAT_STAYS`` says so in the words the clients show.

The log leaves of the withdrawals are the escrow service's to write (``services/escrow/deletion.py``),
in the same transaction, so an acknowledged deletion always has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from consilience.i18n import N_, _
from consilience.storage import repository
from consilience.storage.database import erase_after_commit
from consilience.storage.models import Account, AccountSession, Backup, CorroborationConsent, Entry
from consilience.storage.revocations import AccountDeleted

#: Said to the person in every answer, the same for everyone (a list that depended on their entries'
#: fate would tell them whether one was released).
WHAT_STAYS = (
    N_("The public log keeps one line for each thing that happened (an entry, its withdrawal). These lines hold "
       "no words, names or contact details: only codes and times."),
    N_("The server keeps a note that each entry existed and was withdrawn (its id and times), and that the "
       "account existed and was deleted."),
    N_("If a counselor already read one of your records, or a message you sent, they keep what they read."),
)


def what_stays() -> list[str]:
    """``WHAT_STAYS`` in the active language: what the answer to a deleted account tells its reporter."""
    return [_(line) for line in WHAT_STAYS]


@dataclass(frozen=True)
class Deleted:
    """What a deletion did: the entries it withdrew now (not those withdrawn before), in id order."""

    withdrawn: tuple[bytes, ...]


def delete_account(session: Session, account_id: bytes, now: datetime) -> Deleted:
    """Withdraw every entry of ``account_id``, drop its backup, key, address and sessions, mark it deleted.

    Entries are withdrawn one at a time through ``repository.withdraw_entry`` (its tag locks, orphan-tag
    cleanup and erasure), in entry-id order so two deletions never lock in opposite orders.
    """
    account = session.scalars(select(Account).where(Account.account_id == account_id).with_for_update()).one()
    if account.deleted_at is not None:
        raise AccountDeleted(_("this account was deleted by its holder"))  # two deletions at once: one won
    active = session.scalars(
        select(Entry.entry_id).where(Entry.account_id == account_id, Entry.status != "withdrawn")
        .order_by(Entry.entry_id)
    ).all()
    for entry_id in active:
        repository.withdraw_entry(session, account_id, entry_id, now)
    session.execute(delete(Backup).where(Backup.account_id == account_id).execution_options(synchronize_session=False))
    # requests for a corroboration statement and the consents given (§14.4): a consent is the person's
    # signature, and an entry withdrawn here is never handed out for a statement anyway
    session.execute(delete(CorroborationConsent).where(CorroborationConsent.account_id == account_id)
                    .execution_options(synchronize_session=False))
    account.message_key = None
    account.notify_email = None
    account.deleted_at = now
    session.execute(delete(AccountSession).where(AccountSession.account_id == account_id)
                    .execution_options(synchronize_session=False))
    session.flush()
    erase_after_commit(session)  # the key, the address and the backup, from the -wal too
    return Deleted(tuple(active))
