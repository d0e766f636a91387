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

if TYPE_CHECKING:
    from consilience.operator.revocations import Revocation

app = typer.Typer(no_args_is_help=True,
                  help="Revoke a reporter account, a counselor, a witness or a key server, at once.")


def _require(data_dir: Path) -> None:
    from consilience.cli.admin import require_deployment

    require_deployment(data_dir)


def _report(done: Revocation, as_json: bool, text: str) -> None:
    from dataclasses import asdict

    emit(asdict(done), as_json, lambda: console.print(text, markup=False, highlight=False,
                                                      soft_wrap=True))


@app.command("account")
@handled
def revoke_account(subject: str = typer.Argument(..., help="The account key (base64url) or the invite (cnsl2.…) "
                                                           "the account was registered with."),
                   data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Revoke a reporter account: the escrow server refuses it at once, the key servers within seconds."""
    from consilience.operator import revocations

    _require(data_dir)
    revocations.account_key_of(subject)  # a mistyped key asks for no passphrase
    done = revocations.revoke_account(data_dir, subject, secrets.passphrase("Admin passphrase", env=passphrase_env))
    _report(done, as_json, f"Account {done.subject} revoked (revocation list {done.serial}): its sessions ended "
                           f"({done.sessions_ended}); the key servers refuse it once they fetch the new list, "
                           "within seconds. It is recorded in the log at the next release pass.")


@app.command("counselor")
@handled
def revoke_counselor(who: str = typer.Argument(..., help="The counselor's name or key id (admin status lists them)."),
                     data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Revoke a counselor: their sessions end at once and the deployment no longer lists their key."""
    from consilience.operator import revocations
    from consilience.operator.deployment import load_deployment

    _require(data_dir)
    revocations.counselor_of(load_deployment(data_dir), who)
    done = revocations.revoke_counselor(data_dir, who, secrets.passphrase("Admin passphrase", env=passphrase_env))
    _report(done, as_json, f"Counselor {done.subject} revoked (revocation list {done.serial}, deployment serial "
                           f"{done.deployment_serial}): their sessions ended ({done.sessions_ended}) and new "
                           "entries are no longer sealed to them. What was sealed to their key on the server is "
                           f"deleted: {done.envelopes_deleted} entry envelope(s) and {done.wraps_deleted} message "
                           "or note key(s); reporters' apps seal their records again for the counselors now listed. "
                           "What they already read stays read.")


@app.command("witness")
@handled
def revoke_witness(vkey: str = typer.Argument(..., help="The witness's verifier key."),
                   data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Revoke a witness: the deployment no longer lists it, so its cosignatures are refused."""
    from consilience.operator import revocations

    _require(data_dir)
    revocations.witness_vkey_of(vkey)
    done = revocations.revoke_witness(data_dir, vkey, secrets.passphrase("Admin passphrase", env=passphrase_env))
    _report(done, as_json, f"Witness revoked (revocation list {done.serial}, deployment serial "
                           f"{done.deployment_serial}): its cosignatures are no longer accepted.")


@app.command("key-server")
@handled
def revoke_key_server(index: int = typer.Argument(..., help="Which key server (admin status lists them)."),
                      threshold: int = typer.Option(None, "--threshold",
                                                    help="How many of the remaining key servers must answer; "
                                                         "default the current threshold, if that many remain."),
                      data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Revoke a key server: clients stop asking it at once, the others reshare without it, and its
    shares stop mattering once the resharing is published (admin publish-keys)."""
    from consilience.local.command import command
    from consilience.operator import revocations

    _require(data_dir)
    done = revocations.revoke_key_server(data_dir, index, secrets.passphrase("Admin passphrase", env=passphrase_env),
                                         threshold=threshold)
    _report(done, as_json, f"Key server {index} revoked (deployment serial {done.deployment_serial}): clients stop "
                           "asking it now, and it answers no evaluation from its next look at the document (within "
                           "seconds). The others reshare the keys without it; once their logs say so, run "
                           f"'{command()} admin publish-keys'. It is recorded in the log at the next release pass.")
