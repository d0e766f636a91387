"""Sealed wallet backups (PROTOCOL.md §14.1): ``PUT``/``DELETE /v2/account/backup``, ``GET /v2/backup/{handle}``.

A reporter's device uploads its backup after every change; a new device, which has nothing but the
handle the person wrote down, fetches it without signing in (it cannot sign in: the account seed is in
the backup). The GET is budgeted per client address as failed sign-ins are (an unknown handle is a
failure), though the 80-bit handle is not guessable and the document opens only through the key
servers, which count every try. The PUT checks everything the server can: the format, this
deployment, the handle of the caller's own account key, a newer version than the stored one, the
size and shape; it is durable before the answer.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from consilience.errors import InvalidInput
from consilience.i18n import N_, _
from consilience.protocol import recovery
from consilience.protocol.messages import Strict
from consilience.services.escrow.auth import charge_auth_failure, reporter, require_auth_budget
from consilience.services.escrow.errors import documented
from consilience.services.escrow.state import ServerState, State
from consilience.services.http_errors import Refusal
from consilience.storage import backups
from consilience.storage.repository import AccountInfo

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v2", responses=documented(400, 401, 403, 404, 409, 413, 422, 429, 503))

Reporter = Annotated[AccountInfo, Depends(reporter)]

NO_BACKUP = N_("There is no backup for this handle. Check the handle against what you wrote down; if it is right, "
               "this account's backup was never made or was deleted.")


class BackupStored(Strict):
    handle: str
    version: int
    stored_at: datetime


@router.put("/account/backup", response_model=BackupStored)
async def put_backup(http: Request, account: Reporter, state: State) -> BackupStored:
    data = await http.body()
    return await run_in_threadpool(_store, data, account, state)


def _store(data: bytes, account: AccountInfo, state: ServerState) -> BackupStored:
    state.limits.charge("entry_writes_per_account", account.account_id, N_("changes for this account"))
    if len(data) > recovery.MAX_BACKUP_BYTES:
        raise Refusal(413, _("a backup is at most 6 MiB; remove large attachments from the wallet"))
    try:
        backup = recovery.parse(data)
    except InvalidInput as exc:
        raise Refusal(422, str(exc)) from exc
    deployment_id = state.deployments.current().deployment.deployment_id
    if backup.keys.deployment_id != deployment_id:
        raise Refusal(422, _("this backup is for another deployment"))
    with state.db.write() as session:
        key = backups.account_key(session, account.account_id)
        if key is None or recovery.handle_bytes(deployment_id, key) != backup.keys.handle:
            raise Refusal(422, _("this backup's handle is not the handle of your account"))
        try:
            stored_at = backups.store(session, account.account_id, backup.keys.handle, backup.version, data)
        except backups.StaleBackup as exc:
            raise Refusal(409, _("a newer backup is stored (version {stored_version}); upload a later version",
                                 stored_version=exc.stored_version),
                          error="stale_backup", stored_version=exc.stored_version) from None
    log.info("a reporter account stored backup version %d (%d bytes)", backup.version, len(data))
    return BackupStored(handle=recovery.format_handle(backup.keys.handle), version=backup.version,
                        stored_at=stored_at)


@router.delete("/account/backup", status_code=204, response_class=Response)
def delete_backup(account: Reporter, state: State) -> Response:
    with state.db.write() as session:
        backups.delete(session, account.account_id)
    return Response(status_code=204)


@router.get("/backup/{handle}")
def get_backup(handle: str, http: Request, state: State) -> Response:
    require_auth_budget(http, state)
    try:
        handle_bytes = recovery.parse_handle(handle)
    except InvalidInput as exc:
        charge_auth_failure(http, state)
        raise Refusal(422, str(exc)) from exc
    with state.db.read() as session:
        document = backups.by_handle(session, handle_bytes)
    if document is None:
        charge_auth_failure(http, state)
        raise Refusal(404, _(NO_BACKUP))
    return Response(content=document, media_type="application/json", headers={"Cache-Control": "no-store"})
