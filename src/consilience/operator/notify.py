"""A counselor's notification address (``admin counselor notify``, PROTOCOL.md §13.7).

With mail notifications on (``serve --notify smtp``), a counselor whose account has an address is
mailed "a match is waiting" and "something is waiting"; one without still gets the inbox file. The
address is the counselor's own, given to the operator: it goes straight into the escrow database
(``accounts.notify_email``), with no signature, since nothing any reporter checks depends on it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.operator.deployment import escrow_database, load_deployment
from consilience.protocol.messages import notify_address
from consilience.storage.models import Account


def set_counselor_address(root: Path, name: str, email: str | None) -> int:
    """Store ``email`` (None: remove it) on the accounts of the counselor named ``name``; how many."""
    if email is not None:
        notify_address(email)
    listed = [c for c in load_deployment(root).counselors if c.name == name]
    if not listed:
        raise InvalidInput(_("no counselor of this deployment is named {name}; 'consilience admin status' lists "
                             "them by name",
                             name=repr(name)))
    if len(listed) > 1:
        raise InvalidInput(_("{listed_count} counselors are named {name}; an address cannot be told apart",
                             listed_count=len(listed), name=repr(name)))
    with escrow_database(root) as db, db.write() as session:
        accounts = session.scalars(select(Account).where(
            Account.role == "counselor", Account.counselor_key_id == listed[0].key_id,
            Account.revoked_at.is_(None))).all()
        if not accounts:
            raise InvalidInput(_("counselor {name} has no account that is not revoked; add them again with "
                                 "'consilience admin counselor add'",
                                 name=repr(name)))
        for account in accounts:
            account.notify_email = email
        return len(accounts)
