"""``DELETE /v2/account``: a reporter deletes their account (PROTOCOL.md §14.2).

One transaction: ``storage/deletion.py`` withdraws every entry (as a withdrawal: ciphertexts and tags
erased, a tombstone kept), drops the backup, the messaging key, the notification address and the
sessions, and marks the account deleted; each withdrawal gets its leaf in the log here, as a single
withdrawal does (``transparency.record_withdrawal``), and one checkpoint is signed at the new size.
The answer is the same for an account whose entries were released and one whose were not: the
count of entries erased (which the reporter knows already) and the fixed list of what stays.

Afterwards the account never signs in again: ``POST /v2/login`` answers 401 ``account_deleted``
(clients do not retry), and its old session tokens are unknown.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter

from consilience.i18n import _
from consilience.protocol import events
from consilience.protocol.messages import AccountDeletion
from consilience.services.escrow.auth import ACCOUNT_DELETED, BEARER, ReporterCaller
from consilience.services.escrow.errors import Refusal, documented
from consilience.services.escrow.state import State
from consilience.storage import deletion, log, revocations
from consilience.storage.repository import utcnow

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v2", responses=documented(401, 403, 429, 503))


@router.delete("/account", response_model=AccountDeletion)
def delete_account(account: ReporterCaller, state: State) -> AccountDeletion:
    """Erase every entry of the caller's account, its backup and the account itself; say what stays."""
    now = utcnow()
    with state.db.write() as session:
        try:
            done = deletion.delete_account(session, account.account_id, now)
        except revocations.AccountDeleted:  # a second request that waited for the first one's lock
            raise Refusal(401, _(ACCOUNT_DELETED), headers=dict(BEARER.challenge), error="account_deleted") from None
        for entry_id in done.withdrawn:
            log.append(session, events.Opening.fresh(events.withdrawal_event(entry_id, now)), now, entry_id=entry_id)
        if done.withdrawn:
            log.sign(session, state.deployments.current().deployment.log_origin, state.log_private, now)
    logger.info("a reporter deleted their account (%d entries withdrawn)", len(done.withdrawn))
    return AccountDeletion(erased_entries=len(done.withdrawn), what_stays=deletion.what_stays())
