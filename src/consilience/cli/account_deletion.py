"""`consilience reporter delete-account`: erase the account at the server, then the wallet here (PROTOCOL.md §14.2)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from consilience.cli.common import JSON, PASS_ENV, handled
from consilience.cli.output import console, emit, say
from consilience.cli.reporter import WALLET, _session, app
from consilience.errors import InvalidInput
from consilience.i18n import N_, _, _n

#: What is erased, said before anything is: the same words as the web app's confirmation.
WHAT_GOES = N_("This deletes your account. Every record you put in escrow is erased from the server, whether or not "
             "anyone else named the same person, and so is the backup of your wallet. Then the wallet and its "
             "receipts are removed from this device. Nobody can undo this.")
CONFIRM_WORD = "DELETE"


@app.command("delete-account", help=_("Delete my account: erase every entry, the backup and the account, then the "
                                      "wallet on this device."))
@handled
def reporter_delete_account(yes: bool = typer.Option(False, "--yes", help=_("Delete without asking to type DELETE.")),
                            wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import account_deletion

    session = _session(wallet, passphrase_env)
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput(_("Deleting your account needs a confirmation: run this on a terminal to be asked, "
                                 "or add --yes. Nothing was deleted."))
        say(_(WHAT_GOES))
        typed = typer.prompt(_("Type {confirm_word} to delete your account", confirm_word=CONFIRM_WORD), default="",
                             show_default=False)
        if typed.strip() != CONFIRM_WORD:
            raise InvalidInput(_("Nothing was deleted. Your account and your wallet are as they were."))
    done = account_deletion.delete_account(session)

    def render() -> None:
        console.print(_n("Your account is deleted. {n} entry was erased from the server, and the wallet and its "
                         "receipts were removed from this device.",
                         "Your account is deleted. {n} entries were erased from the server, and the wallet and its "
                         "receipts were removed from this device.", done.erased_entries))
        console.print(_("What stays:"))
        for line in done.what_stays:
            console.print(f"  • {line}")

    emit(done, as_json, render)
