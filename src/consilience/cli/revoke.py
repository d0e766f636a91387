"""`consilience admin revoke …`: revoke a reporter account, a counselor or a witness (PROTOCOL.md §6.2).

Each takes effect at once at the escrow server (the revoked account's sessions end before the
command returns) and, for a reporter account, at every running key server within its poll of the
administrator's signed revocation list (5 seconds by default); each is recorded in the log. The
subject is checked before the passphrase is asked for, so a mistyped key asks nothing and changes
nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from consilience.cli import secrets
from consilience.cli.common import DATA_DIR, JSON, PASS_ENV, handled
from consilience.cli.output import console, emit
from consilience.i18n import _

if TYPE_CHECKING:
    from consilience.operator.revocations import Revocation

app = typer.Typer(no_args_is_help=True,
                  help=_("Revoke a reporter account, a counselor, a witness or a key server, at once."))


def _require(data_dir: Path) -> None:
    from consilience.cli.admin import require_deployment

    require_deployment(data_dir)


def _report(done: Revocation, as_json: bool, text: str) -> None:
    from dataclasses import asdict

    emit(asdict(done), as_json, lambda: console.print(text, markup=False, highlight=False,
                                                      soft_wrap=True))


@app.command("account",
             help=_("Revoke a reporter account: the escrow server refuses it at once, the key servers within seconds."))
@handled
def revoke_account(subject: str = typer.Argument(..., help=_("The account key (base64url) or the invite (cnsl2.…) "
                                                             "the account was registered with.")),
                   data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.operator import revocations

    _require(data_dir)
    revocations.account_key_of(subject)  # a mistyped key asks for no passphrase
    done = revocations.revoke_account(data_dir, subject, secrets.passphrase(_("Admin passphrase"), env=passphrase_env))
    _report(done, as_json, _("Account {subject} revoked (revocation list {serial}): its sessions ended "
                             "({sessions_ended}); the key servers refuse it once they fetch the new list, within "
                             "seconds. It is recorded in the log at the next release pass.",
                             subject=done.subject, serial=done.serial, sessions_ended=done.sessions_ended))


@app.command("counselor", help=_("Revoke a counselor: their sessions end at once and the deployment no longer lists "
                                 "their key."))
@handled
def revoke_counselor(who: str = typer.Argument(..., help=_("The counselor's name or key id (admin status lists "
                                                           "them).")),
                     data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.operator import revocations
    from consilience.operator.deployment import load_deployment

    _require(data_dir)
    revocations.counselor_of(load_deployment(data_dir), who)
    done = revocations.revoke_counselor(data_dir, who, secrets.passphrase(_("Admin passphrase"), env=passphrase_env))
    _report(done, as_json, _("Counselor {subject} revoked (revocation list {serial}, deployment serial "
                             "{deployment_serial}): their sessions ended ({sessions_ended}) and new entries are no "
                             "longer sealed to them. What was sealed to their key on the server is deleted: "
                             "{envelopes_deleted} entry envelope(s) and {wraps_deleted} message or note key(s); "
                             "reporters' apps seal their records again for the counselors now listed. What they "
                             "already read stays read.", subject=done.subject, serial=done.serial,
                             deployment_serial=done.deployment_serial, sessions_ended=done.sessions_ended,
                             envelopes_deleted=done.envelopes_deleted, wraps_deleted=done.wraps_deleted))


@app.command("witness",
             help=_("Revoke a witness: the deployment no longer lists it, so its cosignatures are refused."))
@handled
def revoke_witness(vkey: str = typer.Argument(..., help=_("The witness's verifier key.")),
                   data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.operator import revocations

    _require(data_dir)
    revocations.witness_vkey_of(vkey)
    done = revocations.revoke_witness(data_dir, vkey, secrets.passphrase(_("Admin passphrase"), env=passphrase_env))
    _report(done, as_json, _("Witness revoked (revocation list {serial}, deployment serial {deployment_serial}): "
                             "its cosignatures are no longer accepted.",
                             serial=done.serial, deployment_serial=done.deployment_serial))


@app.command("key-server",
             help=_("Revoke a key server: clients stop asking it at once, the others reshare without it, and its "
                    "shares stop mattering once the resharing is published (admin publish-keys)."))
@handled
def revoke_key_server(index: int = typer.Argument(..., help=_("Which key server (admin status lists them).")),
                      threshold: int = typer.Option(None, "--threshold",
                                                    help=_("How many of the remaining key servers must answer; "
                                                           "default the current threshold, if that many remain.")),
                      data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.local.command import command
    from consilience.operator import revocations

    _require(data_dir)
    done = revocations.revoke_key_server(data_dir, index, secrets.passphrase(_("Admin passphrase"), env=passphrase_env),
                                         threshold=threshold)
    _report(done, as_json, _("Key server {index} revoked (deployment serial {deployment_serial}): clients stop "
                             "asking it now, and it answers no evaluation from its next look at the document "
                             "(within seconds). The others reshare the keys without it; once their logs say so, "
                             "run '{command} admin publish-keys'. It is recorded in the log at the next release "
                             "pass.", index=index, deployment_serial=done.deployment_serial, command=command()))
