"""`consilience reporter …`: write records and put them in escrow."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from consilience.cli import secrets
from consilience.cli.common import JSON, PASS_ENV, handled, home
from consilience.cli.output import console, emit, say, untrusted, when
from consilience.errors import InvalidInput

if TYPE_CHECKING:
    from consilience.clients.reporter import Escrowed, RecordList, RecordSummary, Session
    from consilience.protocol.entry import Attachment

app = typer.Typer(no_args_is_help=True, help="Write records and put them in escrow.")

WALLET = typer.Option(None, "--wallet", help="Wallet file (default $CONSILIENCE_HOME/wallet.sealed).")

#: What a person at a terminal sees before typing a record.
WRITE_PROMPT = "Type what happened. It stays on this device. Finish with Ctrl-D on a new line."
#: Said when a reporter registers without a contact.
NO_CONTACT = ("No contact given, and that is fine: a counselor who needs to reach you writes to you here "
              "('consilience reporter messages'), and you choose if and when to tell them who you are.")
#: Longest summary shown in `reporter list` (the whole record stays in the wallet and in --json).
SUMMARY_LENGTH = 40


def _wallet_path(path: Path | None) -> Path:
    return path or home() / "wallet.sealed"


def _session(wallet: Path | None, passphrase_env: str) -> Session:
    from consilience.clients import reporter

    path = _wallet_path(wallet)
    return secrets.unlock(f"Passphrase for {path}", lambda secret: reporter.open_session(path, secret),
                          env=passphrase_env)


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


def _read_text_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{path} does not exist. Check the file name; nothing was saved.") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a folder, not a file. Give the file that holds the record.") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not plain text (UTF-8). Save it as plain text and try again; nothing was "
                           "saved.") from None
    except OSError as exc:
        raise InvalidInput(f"{path} could not be read ({exc.strerror}); nothing was saved.") from None


def _read_stdin() -> str:
    """The record from standard input: asked for on a terminal, read quietly from a pipe or a file."""
    if sys.stdin.isatty():
        say(WRITE_PROMPT)
    text = sys.stdin.read()
    if not text.strip():
        raise InvalidInput("Nothing was typed, so nothing was saved.")
    return text


def summary(record: RecordSummary) -> str:
    """One short line that tells records apart: the text's first line, else a detail, else the files."""
    for line in record.text.splitlines():
        if line.strip():
            text = line.strip()
            break
    else:
        text = ""
        for field in ("what", "when", "where", "witnesses"):
            if record.details and record.details.get(field, "").strip():
                text = f"{field}: {record.details[field].strip()}"
                break
    if text:
        return text if len(text) <= SUMMARY_LENGTH else text[:SUMMARY_LENGTH - 1].rstrip() + "…"
    if record.attachments:
        count = len(record.attachments)
        return f"(attachments only: {count} file{'' if count == 1 else 's'})"
    return "(details only)"


def _national_number(typed: str) -> bool:
    """Whether ``typed`` looks like a phone number written without its country code (digits and separators,
    no leading +), the only kind of name the locale's country changes."""
    text = typed.strip().removeprefix("phone:").removeprefix("tel:").strip()
    return (not text.startswith("+") and any(c.isdigit() for c in text)
            and all(c.isdigit() or c in " -()./" for c in text))


def _render_escrowed(done: Escrowed) -> None:
    record = done.record
    e = record.escrow
    assert e is not None
    if not done.sent:
        console.print(f"Nothing changed: record {record.record_id} already names "
                      f"{escape(', '.join(done.already))}. Nothing was sent.")
        return
    console.print("Named (as typed  →  as matched):")
    for typed, canonical in zip(e.identifiers, e.canonical, strict=False):
        console.print(f"  {escape(typed)}  →  {escape(canonical)}")
    if done.added and len(done.added) < len(e.canonical):
        console.print(f"Added: {escape(', '.join(done.added))}.")
    if done.already:
        console.print(f"Already named: {escape(', '.join(done.already))}.")
    if done.removed:
        console.print(f"No longer named: {escape(', '.join(done.removed))}.")
    state = _shown(e.status)
    console.print(f"Record {record.record_id} is [bold]{state}[/] (quorum {e.quorum}); "
                  f"its entry id on the escrow server is {e.entry_id}. If others name the same person, a counselor "
                  "will reach out to you; until then nothing of it can be read.")
    if done.receipt:
        console.print(f"Receipt saved to {escape(done.receipt)}; check it any time with "
                      f"'consilience verify {escape(done.receipt)}'.")


#: Said on every edit and withdrawal, whether or not anything was read: saying it only after a match would tell.
KEPT_WHAT_THEY_READ = ("If a counselor has already read this record, they keep what they read; the change applies "
                       "from now on.")


def _shown(status: str) -> str:
    return {"escrowed": "in escrow", "sending": "sending (run 'consilience reporter retry')"}.get(status, status)


def _render_list(listed: RecordList) -> None:
    if not listed.records:
        console.print("No records yet. Write one with 'consilience reporter write'.")
        return
    table = Table("record", "written", "status", "names", "summary")
    for r in listed.records:
        table.add_row(r.record_id, when(r.written_at), _shown(r.escrow.status) if r.escrow else "private",
                      untrusted(", ".join(r.escrow.canonical)) if r.escrow else "", untrusted(summary(r)))
    console.print(table)
    _render_resealed(listed)


def _render_resealed(listed: RecordList) -> None:
    """What a refresh sealed again (PROTOCOL.md §13.6), calmly: nothing was lost and nothing is needed."""
    for record_id in listed.resealed:
        console.print(f"Your record {record_id} was sealed again for the counselors now in this deployment, so "
                      "they can open it as before. Nothing else changed.", markup=False)
    for record_id, why in listed.not_resealed.items():
        console.print(Text.assemble(f"Your record {record_id} could not be sealed again for the counselors now in "
                                    "this deployment just yet (", untrusted(why), "). It stays in escrow as it was; "
                                    "this is tried again the next time you list your records."))


def _prompting(passphrase_env: str) -> bool:
    import os

    return passphrase_env not in os.environ and secrets.can_ask()


@app.command("register")
@handled
def reporter_register(server: str = typer.Option(..., help="Escrow server URL."),
                      invite: str = typer.Option(..., help="The invite you were given (cnsl1.…)."),
                      contact: str = typer.Option("", help="How a counselor may reach you after a match "
                                                           "(optional: counselors can write to you here without "
                                                           "it, and you choose if and when to tell them)."),
                      wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Join with an invite; creates your wallet, sealed under a passphrase.

    The invite is checked first (its form, and that the server is the deployment it is for);
    only then is a passphrase asked for, and only then is the invite used.
    """
    from consilience.clients import reporter

    path = _wallet_path(wallet)
    checked = reporter.check_registration(server, invite, contact, path)
    if _prompting(passphrase_env):
        say(f"The invite fits the deployment at {checked.server}. Now choose a passphrase for your wallet: it "
            f"locks what you write on this device, and nobody can recover it for you (at least "
            f"{secrets.MIN_LENGTH} characters; several words work well).")
    session = checked.complete(secrets.passphrase("Choose a wallet passphrase", env=passphrase_env, confirm=True))
    from consilience.cli.recovery import WRITE_IT_DOWN
    from consilience.clients.recovery import handle_of

    handle = session.wallet.backup_handle or handle_of(session.wallet)

    def render() -> None:
        console.print(f"[green]Registered.[/] Your wallet is {escape(str(path))}.")
        console.print(WRITE_IT_DOWN.format(handle=handle), markup=False, highlight=False)
        if session.backup_notice:
            console.print(session.backup_notice, markup=False, highlight=False)
        if not checked.contact:
            console.print(NO_CONTACT, markup=False)

    emit({"wallet": str(path), "account_id": session.wallet.account_id, "handle": handle,
          "backup": bool(session.wallet.backup_key)}, as_json, render)


@app.command("write")
@handled
def reporter_write(text: str = typer.Option(None, help="The record as text. Anything typed here is visible in "
                                                        "your shell history and to other programs on this device: "
                                                        "prefer --file, or leave both out to type it when asked "
                                                        "(or pipe it in)."),
                   file: Path = typer.Option(None, help="Read the record from this file (plain text)."),
                   what: str = typer.Option(None, "--what", help="What happened."),
                   when_: str = typer.Option(None, "--when", help="When it happened."),
                   where: str = typer.Option(None, "--where", help="Where it happened."),
                   witnesses: str = typer.Option(None, "--witnesses", help="Who else saw it."),
                   attach: list[Path] = typer.Option([], "--attach", help="Attach a file (repeat for more); "
                                                     "an entry holds about 3 MiB of files."),
                   wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Write a private record. It stays in your wallet until you put it in escrow.

    Without --text or --file, and without --what/--when/--where/--witnesses/--attach, the record is
    read from standard input: typed when asked on a terminal (after the wallet is unlocked, so
    nothing typed is lost to a mistyped passphrase), or piped in, e.g. < notes.txt.
    """
    from consilience.clients import reporter
    from consilience.protocol.entry import make_details

    if text is not None and file is not None:
        raise InvalidInput("give the record with --text or with --file, not both")
    details = make_details(what=what, when=when_, where=where, witnesses=witnesses)
    attachments = _read_attachments(list(attach))
    if file is not None:
        text = _read_text_file(file)
    session = _session(wallet, passphrase_env)
    if text is None:
        text = "" if details or attachments else _read_stdin()
    record = reporter.RecordSummary.of(reporter.write(session, text, details=details, attachments=attachments))
    emit(record, as_json,
         lambda: console.print(f"Saved private record [bold]{record.record_id}[/]. It stays on this device; nothing "
                               f"was sent. To put it in escrow: consilience reporter escrow {record.record_id} "
                               "--name …"))


@app.command("escrow")
@handled
def reporter_escrow(record_id: str = typer.Argument(..., help="The record to put in escrow."),
                    name: list[str] = typer.Option(..., "--name",
                                                   help="An identifier of the person: email, phone, profile URL "
                                                        "or kind:handle. Repeat for more. For a record already "
                                                        "in escrow, these are added to the names it carries."),
                    replace_names: bool = typer.Option(False, "--replace-names",
                                                       help="Name the person by exactly these identifiers, "
                                                            "dropping the others the record carries (they are "
                                                            "listed)."),
                    quorum: int = typer.Option(None, help="Release only when this many people named them "
                                                          "(default: the deployment's quorum)."),
                    region: str = typer.Option(None, help="Country of phone numbers written without + and a "
                                                          "country code, e.g. GB (default: your locale's, "
                                                          "from LC_ALL, LC_TELEPHONE or LANG)."),
                    wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Put a record in escrow, naming the person by one or more identifiers (or add names to one in escrow)."""
    from consilience.clients import locale, reporter
    from consilience.clients.escrow_client import ApiError

    guessed = None if region else locale.phone_region()
    if guessed and not as_json and any(_national_number(n) for n in name):
        console.print(f"Phone numbers without + are read as numbers in {guessed} (from your locale); "
                      "'--region' chooses another country. Check the country codes below.")
    session = _session(wallet, passphrase_env)
    try:
        done = reporter.name_in_escrow(session, record_id, list(name), quorum=quorum,
                                       default_region=region or guessed,
                                       replace=replace_names)
    except ApiError as exc:
        escrow = session.wallet.record(record_id).escrow
        if escrow is None or escrow.pending is None:
            raise
        raise ApiError(exc.status, exc.code, exc.detail, server=exc.server, retry_after=exc.retry_after,
                       current_serial=exc.current_serial,
                       message=f"{exc} The submission is kept on this device: 'consilience reporter retry' sends "
                               "it again (it is never counted twice).") from exc
    emit(done, as_json, lambda: _render_escrowed(done))


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
def reporter_edit(record_id: str, text: str = typer.Option(None, help="The new text (visible in your shell "
                                                                      "history: prefer --file)."),
                  file: Path = typer.Option(None, help="Read the new text from this file (plain text)."),
                  wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Change a record's text (re-sealed on the server if it is in escrow)."""
    from consilience.clients import reporter

    if (text is None) == (file is None):
        raise InvalidInput("give the new text with --text or with --file (one of them)")
    new_text = text if text is not None else _read_text_file(file)
    record = reporter.RecordSummary.of(reporter.edit(_session(wallet, passphrase_env), record_id, new_text))
    emit(record, as_json, lambda: console.print(
        f"Record {record_id} updated." + (" " + KEPT_WHAT_THEY_READ if record.escrow is not None else "")))


@app.command("withdraw")
@handled
def reporter_withdraw(record_id: str, wallet: Path = WALLET, passphrase_env: str = PASS_ENV,
                      as_json: bool = JSON) -> None:
    """Take a record out of escrow. It stays in your wallet."""
    from consilience.clients import reporter

    record = reporter.RecordSummary.of(reporter.withdraw(_session(wallet, passphrase_env), record_id))
    emit(record, as_json, lambda: console.print(f"Record {record_id} withdrawn from escrow. {KEPT_WHAT_THEY_READ}"))


@app.command("retry")
@handled
def reporter_retry(wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Resend submissions whose answer was lost (safe: they are never counted twice)."""
    from consilience.clients import reporter

    done = reporter.retry_pending(_session(wallet, passphrase_env))
    emit({"resent": [r.record_id for r in done]}, as_json, lambda: console.print(f"{len(done)} resent."))

