"""`consilience reporter notify`: the mail address a reporter is told at that something is waiting."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from consilience.cli.common import JSON, PASS_ENV, handled
from consilience.cli.output import console, emit, say, untrusted
from consilience.cli.reporter import WALLET, _session, app
from consilience.errors import ConsilienceError
from consilience.i18n import _


@app.command("notify",
             help=_("Give or remove a mail address for \"something is waiting\" notices; with neither option, show "
                    "it."))
@handled
def reporter_notify(email: str = typer.Option(None, "--email", help=_("A mail address to be told at that something "
                                                                      "is waiting for you (never what, never who).")),
                    none: bool = typer.Option(False, "--none", help=_("Remove the address: nothing is sent to you "
                                                                      "outside the app.")),
                    yes: bool = typer.Option(False, "--yes", help=_("Give the address without asking first.")),
                    wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import notify

    if email is not None and none:
        raise ConsilienceError(_("give either --email ADDRESS or --none, not both"))
    if email is not None:
        address = notify.check_address(email)  # a typo is pointed out before the passphrase is asked
        say(_(notify.BEFORE_GIVING))
        if (not yes and not as_json and sys.stdin.isatty()
                and not typer.confirm(_("Give {address}?", address=address), default=True)):
            say(_("Nothing was sent."))
            raise typer.Exit(1)
        result = notify.set_address(_session(wallet, passphrase_env), address)
    elif none:
        result = notify.set_address(_session(wallet, passphrase_env), None)
    else:
        result = notify.show_address(_session(wallet, passphrase_env))

    def show() -> None:
        if result.email is None:
            console.print(_("No notification address: nothing is sent to you outside the app."))
        else:
            console.print(untrusted(_("Notices that something is waiting go to {email}.", email=result.email)))
            if not result.sends_mail:
                console.print(_(notify.NO_MAIL_HERE))

    emit(result, as_json, show)
