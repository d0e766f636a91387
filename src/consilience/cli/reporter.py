"""`consilience reporter …`: write records and put them in escrow."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from consilience.cli import secrets
from consilience.cli.common import JSON, PASS_ENV, handled, home
from consilience.cli.output import console, emit

if TYPE_CHECKING:
    from consilience.clients.reporter import RecordList, RecordSummary, Session
    from consilience.protocol.entry import Attachment

app = typer.Typer(no_args_is_help=True, help="Write records and put them in escrow.")

WALLET = typer.Option(None, "--wallet", help="Wallet file (default $CONSILIENCE_HOME/wallet.sealed).")


def _wallet_path(path: Path | None) -> Path:
    return path or home() / "wallet.sealed"


def _session(wallet: Path | None, passphrase_env: str) -> Session:
    from consilience.clients import reporter

    path = _wallet_path(wallet)
    return reporter.open_session(path, secrets.passphrase(f"Passphrase for {path}", env=passphrase_env))


def _read_attachments(paths: list[Path]) -> list[Attachment]:
    import mimetypes

    from consilience.protocol.entry import Attachment

    out = []
    for p in paths:
        if not p.is_file():
            raise typer.BadParameter(f"{p} is not a file", param_hint="--attach")
        media_type = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
        out.append(Attachment(name=p.name, type=media_type, data=p.read_bytes()))
    return out


def _render_escrowed(record: RecordSummary) -> None:
    e = record.escrow
    assert e is not None
    for typed, canonical in zip(e.identifiers, e.canonical, strict=False):
        console.print(f"  {typed}  →  {canonical}")
    console.print(f"Record {record.record_id} is [bold]{e.status}[/] (quorum {e.quorum}).")


def _render_list(listed: RecordList) -> None:
    table = Table("record", "written", "status", "names", "text")
    for r in listed.records:
        table.add_row(r.record_id, r.written_at, r.escrow.status if r.escrow else "private",
                      ", ".join(r.escrow.canonical) if r.escrow else "", r.text[:40])
    console.print(table)


@app.command("register")
@handled
def reporter_register(server: str = typer.Option(..., help="Escrow server URL."),
                      invite: str = typer.Option(..., help="The invite you were given (cnsl1.…)."),
                      contact: str = typer.Option(..., help="How a counselor may reach you after a match."),
                      wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Join with an invite; creates your wallet, sealed under a passphrase."""
    from consilience.clients import reporter

    path = _wallet_path(wallet)
    session = reporter.register(server, invite, contact, path,
                                secrets.passphrase("Choose a wallet passphrase", env=passphrase_env,
                                                   confirm=True))
    emit({"wallet": str(path), "account_id": session.wallet.account_id}, as_json,
         lambda: console.print(f"[green]Registered.[/] Your wallet is {path}. Keep the passphrase safe: "
                               "nobody can recover it."))


@app.command("write")
@handled
def reporter_write(text: str = typer.Option(None, help="The record (free text); read from --file or stdin if "
                                                        "omitted and no --what/--when/--where/--witnesses/--attach."),
                   file: Path = typer.Option(None, help="Read the record from this file."),
                   what: str = typer.Option(None, "--what", help="What happened."),
                   when: str = typer.Option(None, "--when", help="When it happened."),
                   where: str = typer.Option(None, "--where", help="Where it happened."),
                   witnesses: str = typer.Option(None, "--witnesses", help="Who else saw it."),
                   attach: list[Path] = typer.Option([], "--attach", help="Attach a file (repeat for more); "
                                                     "an entry holds about 3 MiB of files."),
                   wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Write a private record. It stays in your wallet until you put it in escrow."""
    from consilience.clients import reporter
    from consilience.protocol.entry import make_details

    details = make_details(what=what, when=when, where=where, witnesses=witnesses)
    attachments = _read_attachments(list(attach))
    if text is None:
        text = file.read_text() if file else ("" if details or attachments else sys.stdin.read())
    session = _session(wallet, passphrase_env)
    record = reporter.RecordSummary.of(reporter.write(session, text, details=details, attachments=attachments))
    emit(record, as_json,
         lambda: console.print(f"Saved private record [bold]{record.record_id}[/]. Nothing was sent."))


@app.command("escrow")
@handled
def reporter_escrow(record_id: str = typer.Argument(..., help="The record to put in escrow."),
                    name: list[str] = typer.Option(..., "--name",
                                                   help="An identifier of the person: email, phone, profile URL "
                                                        "or kind:handle. Repeat for more."),
                    quorum: int = typer.Option(None, help="Release only when this many people named them "
                                                          "(default: the deployment's quorum)."),
                    region: str = typer.Option(None, help="Region for phone numbers without +country, e.g. GB."),
                    wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Put a record in escrow, naming the person by one or more identifiers."""
    from consilience.clients import reporter

    session = _session(wallet, passphrase_env)
    record = reporter.RecordSummary.of(
        reporter.escrow(session, record_id, list(name), quorum=quorum, default_region=region))
    emit(record, as_json, lambda: _render_escrowed(record))


@app.command("list")
@handled
def reporter_list(wallet: Path = WALLET, passphrase_env: str = PASS_ENV,
                  offline: bool = typer.Option(False, help="Do not ask the server for statuses."),
                  as_json: bool = JSON) -> None:
    """Your records and the status of those in escrow."""
    from consilience.clients import reporter

    listed = reporter.list_records(_session(wallet, passphrase_env), offline=offline)
    emit(listed, as_json, lambda: _render_list(listed))


@app.command("edit")
@handled
def reporter_edit(record_id: str, text: str = typer.Option(..., help="The new text."),
                  wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Change a record's text (re-sealed on the server if it is in escrow and not released)."""
    from consilience.clients import reporter

    record = reporter.RecordSummary.of(reporter.edit(_session(wallet, passphrase_env), record_id, text))
    emit(record, as_json, lambda: console.print(f"Record {record_id} updated."))


@app.command("withdraw")
@handled
def reporter_withdraw(record_id: str, wallet: Path = WALLET, passphrase_env: str = PASS_ENV,
                      as_json: bool = JSON) -> None:
    """Take a record out of escrow (only before it is released). It stays in your wallet."""
    from consilience.clients import reporter

    record = reporter.RecordSummary.of(reporter.withdraw(_session(wallet, passphrase_env), record_id))
    emit(record, as_json, lambda: console.print(f"Record {record_id} withdrawn from escrow."))


@app.command("retry")
@handled
def reporter_retry(wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Resend submissions whose answer was lost (safe: they are never counted twice)."""
    from consilience.clients import reporter

    done = reporter.retry_pending(_session(wallet, passphrase_env))
    emit({"resent": [r.record_id for r in done]}, as_json, lambda: console.print(f"{len(done)} resent."))
