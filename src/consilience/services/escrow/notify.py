"""An account's notification address (PROTOCOL.md §13.7): ``GET`` and ``PUT /v2/account/notify``.

Any signed-in account, reporter or counselor, may give one mail address to be told "something is
waiting", or remove it (``null``). Giving it links the address to the account on this server: the
client says so before it sends one. The server uses it for nothing else, and an address that
could carry a second recipient or a header (``messages.notify_address``) is refused with nothing
stored.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends

from consilience.i18n import N_, _
from consilience.protocol.messages import NotifyAddress, NotifyAddressRequest
from consilience.services.escrow.auth import current_account
from consilience.services.escrow.errors import documented
from consilience.services.escrow.notifier import sends_mail
from consilience.services.escrow.state import State
from consilience.storage.models import Account
from consilience.storage.repository import AccountInfo, NotFound

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v2", responses=documented(400, 401, 422, 429, 503))

Caller = Annotated[AccountInfo, Depends(current_account)]


@router.get("/account/notify", response_model=NotifyAddress)
def get_notify_address(account: Caller, state: State) -> NotifyAddress:
    with state.db.read() as session:
        row = session.get(Account, account.account_id)
        if row is None:
            raise NotFound(_("no such account"))
        return NotifyAddress(email=row.notify_email, sends_mail=sends_mail(state.notifier))


@router.put("/account/notify", response_model=NotifyAddress)
def set_notify_address(request: NotifyAddressRequest, account: Caller, state: State) -> NotifyAddress:
    """Store or remove the address; the answer says whether this server sends mail at all."""
    state.limits.charge("entry_writes_per_account", account.account_id, N_("changes for this account"))
    with state.db.write() as session:
        row = session.get(Account, account.account_id)
        if row is None:
            raise NotFound(_("no such account"))
        row.notify_email = request.email
    log.info("a %s account %s its notification address", account.role,
             "gave" if request.email is not None else "removed")
    return NotifyAddress(email=request.email, sends_mail=sends_mail(state.notifier))
