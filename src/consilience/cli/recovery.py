"""`consilience reporter recover`, `reporter backup` and `admin recovery-unlock` (PROTOCOL.md §14.1)."""

from __future__ import annotations

from pathlib import Path

import typer

from consilience.cli import admin, secrets
from consilience.cli.common import DATA_DIR, JSON, PASS_ENV, handled
from consilience.cli.output import console, emit
from consilience.cli.reporter import WALLET, _session, _wallet_path
from consilience.cli.reporter import app as reporter_app
from consilience.i18n import N_, _

#: what registration, set-up and recovery say about the handle
WRITE_IT_DOWN = N_("Your account handle is {handle}. Write it down and keep it somewhere safe: with your passphrase "
                   "it brings everything back on a new device.")


def _line(message: str) -> None:
    """A line of the command's own output (stdout), taken literally."""
    console.print(message, markup=False, highlight=False)


@reporter_app.command("recover", help=_("Bring your wallet back on a new device, with your account handle and your "
                                        "passphrase."))
@handled
def reporter_recover(handle: str = typer.Argument(..., help=_("Your account handle, like 7KQ2-M9XD-4RTA-HW3E.")),
                     server: str = typer.Option(None, help=_("The escrow server's address (default: this "
                                                             "machine's, http://127.0.0.1:8100).")),
                     unlock: str = typer.Option(None, "--unlock", help=_("An unlock code (cnslu1.…) from the "
                                                                         "administrator, if recovery was paused.")),
                     wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import recovery
    from consilience.protocol import recovery as recovery_protocol

    recovery_protocol.parse_handle(handle)  # a mistyped handle is pointed out before the passphrase is asked
    path = _wallet_path(wallet)
    secret = secrets.passphrase(_("Your wallet passphrase"), env=passphrase_env)
    done = recovery.recover(server or "http://127.0.0.1:8100", handle, secret, path, unlock_code=unlock)

    def render() -> None:
        console.print(_("[green]Everything is back:[/] {records} records, {escrowed} in escrow.",
                        records=done.records, escrowed=done.escrowed),
                      highlight=False)
        _line(_("Your wallet is {path}, locked with the same passphrase.", path=path))
        if done.reset_failed:
            _line(_("Some key servers could not be told that recovery worked; that only matters if you recover "
                    "again soon."))

    emit(done.to_json(), as_json, render)


@reporter_app.command("backup",
                      help=_("Show your account handle and whether your backup is up to date; set it up if it is not "
                             "yet."))
@handled
def reporter_backup(wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import recovery

    session = _session(wallet, passphrase_env)
    if not session.wallet.backup_key:
        recovery.set_up(session)  # a failure says why; the wallet is as it was
    elif session.wallet.backup_pending:
        recovery.after_save(session)
    state = recovery.status(session)

    def render() -> None:
        _line(_(WRITE_IT_DOWN, handle=state.handle))
        if state.set_up and not state.pending:
            _line(_("Your backup is up to date (version {version}).", version=state.version))
        else:
            _line(_(recovery.PENDING))

    emit(state.to_json(), as_json, render)


@admin.app.command("recovery-unlock",
                   help=_("Make an unlock code for a paused recovery (good for 7 days, once). Check first that it is "
                          "really them."))
@handled
def admin_recovery_unlock(handle: str = typer.Argument(..., help=_("The account handle the person gave you.")),
                          data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.operator.recovery import unlock_code
    from consilience.protocol import recovery as recovery_protocol

    admin.require_deployment(data_dir)
    recovery_protocol.parse_handle(handle)
    code = unlock_code(data_dir, secrets.passphrase(_("Admin passphrase"), env=passphrase_env), handle)

    def render() -> None:
        console.print(code, markup=False, highlight=False)
        _line(_("Give this code to the person (it works for 7 days, once). They run: consilience reporter recover "
                "{handle} --unlock CODE", handle=handle))

    emit({"code": code, "handle": handle}, as_json, render)
