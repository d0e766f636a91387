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
from consilience.i18n import N_, _, _n

if TYPE_CHECKING:
    from consilience.clients.reporter import Escrowed, RecordList, RecordSummary, Session
    from consilience.protocol.entry import Attachment

app = typer.Typer(no_args_is_help=True, help=_("Write records and put them in escrow."))

WALLET = typer.Option(None, "--wallet", help=_("Wallet file (default $CONSILIENCE_HOME/wallet.sealed)."))

#: What a person at a terminal sees before typing a record.
WRITE_PROMPT = N_("Type what happened. It stays on this device. Finish with Ctrl-D on a new line.")
#: Said when a reporter registers without a contact.
NO_CONTACT = N_("No contact given, and that is fine: a counselor who needs to reach you writes to you here "
                "('consilience reporter messages'), and you choose if and when to tell them who you are.")
#: Longest summary shown in `reporter list` (the whole record stays in the wallet and in --json).
SUMMARY_LENGTH = 40


def _wallet_path(path: Path | None) -> Path:
    return path or home() / "wallet.sealed"


def _session(wallet: Path | None, passphrase_env: str) -> Session:
    from consilience.clients import reporter

    path = _wallet_path(wallet)
    return secrets.unlock(_("Passphrase for {path}", path=path), lambda secret: reporter.open_session(path, secret),
                          env=passphrase_env)


def _read_attachments(paths: list[Path]) -> list[Attachment]:
    import mimetypes

    from consilience.protocol.entry import Attachment

    out = []
    for p in paths:
        if not p.is_file():
            raise typer.BadParameter(_("{p} is not a file", p=p), param_hint="--attach")
        media_type = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
        out.append(Attachment(name=p.name, type=media_type, data=p.read_bytes()))
    return out


def _read_text_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(_("{path} does not exist. Check the file name; nothing was saved.", path=path)) from None
    except IsADirectoryError:
        raise InvalidInput(_("{path} is a folder, not a file. Give the file that holds the record.",
                             path=path)) from None
    except UnicodeDecodeError:
        raise InvalidInput(_("{path} is not plain text (UTF-8). Save it as plain text and try again; nothing was "
                             "saved.", path=path)) from None
    except OSError as exc:
        raise InvalidInput(_("{path} could not be read ({strerror}); nothing was saved.",
                             path=path, strerror=exc.strerror)) from None


def _read_stdin() -> str:
    """The record from standard input: asked for on a terminal, read quietly from a pipe or a file."""
    if sys.stdin.isatty():
        say(_(WRITE_PROMPT))
    text = sys.stdin.read()
    if not text.strip():
        raise InvalidInput(_("Nothing was typed, so nothing was saved."))
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
        return _n("(attachments only: {n} file)", "(attachments only: {n} files)", count)
    return _("(details only)")


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
        console.print(_("Nothing changed: record {record_id} already names {already}. Nothing was sent.",
                        record_id=record.record_id, already=escape(', '.join(done.already))))
        return
    console.print(_("Named (as typed  →  as matched):"))
    for typed, canonical in zip(e.identifiers, e.canonical, strict=False):
        console.print(f"  {escape(typed)}  →  {escape(canonical)}")
    if done.added and len(done.added) < len(e.canonical):
        console.print(_("Added: {added}.", added=escape(', '.join(done.added))))
    if done.already:
        console.print(_("Already named: {already}.", already=escape(', '.join(done.already))))
    if done.removed:
        console.print(_("No longer named: {removed}.", removed=escape(', '.join(done.removed))))
    state = _shown(e.status)
    console.print(_("Record {record_id} is [bold]{state}[/] (quorum {quorum}); its entry id on the escrow server "
                    "is {entry_id}. If others name the same person, a counselor will reach out to you; until then "
                    "nothing of it can be read.",
                    record_id=record.record_id, state=state, quorum=e.quorum, entry_id=e.entry_id))
    if done.receipt:
        console.print(_("Receipt saved to {receipt}; check it any time with 'consilience verify {receipt}'.",
                        receipt=escape(done.receipt)))


#: Said on every edit and withdrawal, whether or not anything was read: saying it only after a match would tell.
KEPT_WHAT_THEY_READ = N_("If a counselor has already read this record, they keep what they read; the change applies "
                       "from now on.")


def _shown(status: str) -> str:
    shown = {"escrowed": N_("in escrow"), "sending": N_("sending (run 'consilience reporter retry')")}.get(status)
    if shown:
        return _(shown)
    from consilience.clients.reporter import status_word

    return status_word(status)


def _render_list(listed: RecordList) -> None:
    if not listed.records:
        console.print(_("No records yet. Write one with 'consilience reporter write'."))
        return
    table = Table(_("record"), _("written"), _("status"), _("names"), _("summary"))
    for r in listed.records:
        table.add_row(r.record_id, when(r.written_at), _shown(r.escrow.status) if r.escrow else _("private"),
                      untrusted(", ".join(r.escrow.canonical)) if r.escrow else "", untrusted(summary(r)))
    console.print(table)
    _render_resealed(listed)


def _render_resealed(listed: RecordList) -> None:
    """What a refresh sealed again (PROTOCOL.md §13.6), calmly: nothing was lost and nothing is needed."""
    for record_id in listed.resealed:
        console.print(_("Your record {record_id} was sealed again for the counselors now in this deployment, so "
                        "they can open it as before. Nothing else changed.", record_id=record_id), markup=False)
    for record_id, why in listed.not_resealed.items():
        console.print(Text.assemble(_("Your record {record_id} could not be sealed again for the counselors now in "
                                      "this deployment just yet (", record_id=record_id), untrusted(why), _("). It "
                                                                                                            "stays "
                                                                                                            "in "
                                                                                                            "escrow "
                                                                                                            "as it "
                                                                                                            "was; "
                                                                                                            "this "
                                                                                                            "is "
                                                                                                            "tried "
                                                                                                            "again "
                                                                                                            "the "
                                                                                                            "next "
                                                                                                            "time "
                                                                                                            "you "
                                                                                                            "list "
                                                                                                            "your "
                                                                                                            "records.")))


def _prompting(passphrase_env: str) -> bool:
    import os

    return passphrase_env not in os.environ and secrets.can_ask()


@app.command("register",
             help=_("Join with an invite; creates your wallet, sealed under a passphrase.\n\nThe invite is checked "
                    "first (its form, and that the server is the deployment it is for); only then is a passphrase "
                    "asked for, and only then is the invite used."))
@handled
def reporter_register(server: str = typer.Option(..., help=_("Escrow server URL.")),
                      invite: str = typer.Option(..., help=_("The invite you were given (cnsl1.…).")),
                      contact: str = typer.Option("", help=_("How a counselor may reach you after a match "
                                                             "(optional: counselors can write to you here without "
                                                             "it, and you choose if and when to tell them).")),
                      wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import reporter

    path = _wallet_path(wallet)
    checked = reporter.check_registration(server, invite, contact, path)
    if _prompting(passphrase_env):
        say(_("The invite fits the deployment at {server}. Now choose a passphrase for your wallet: it locks what "
              "you write on this device, and nobody can recover it for you (at least {min_length} characters; "
              "several words work well).", server=checked.server, min_length=secrets.MIN_LENGTH))
    session = checked.complete(secrets.passphrase(_("Choose a wallet passphrase"), env=passphrase_env, confirm=True))
    from consilience.cli.recovery import WRITE_IT_DOWN
    from consilience.clients.recovery import handle_of

    handle = session.wallet.backup_handle or handle_of(session.wallet)

    def render() -> None:
        console.print(_("[green]Registered.[/] Your wallet is {path}.", path=escape(str(path))))
        console.print(_(WRITE_IT_DOWN, handle=handle), markup=False, highlight=False)
        if session.backup_notice:
            console.print(session.backup_notice, markup=False, highlight=False)
        if not checked.contact:
            console.print(_(NO_CONTACT), markup=False)

    emit({"wallet": str(path), "account_id": session.wallet.account_id, "handle": handle,
          "backup": bool(session.wallet.backup_key)}, as_json, render)


@app.command("write", help=_("Write a private record. It stays in your wallet until you put it in escrow.\n\nWithout "
                             "--text or --file, and without --what/--when/--where/--witnesses/--attach, the record is "
                             "read from standard input: typed when asked on a terminal (after the wallet is unlocked, "
                             "so nothing typed is lost to a mistyped passphrase), or piped in, e.g. < notes.txt."))
@handled
def reporter_write(text: str = typer.Option(None, help=_("The record as text. Anything typed here is visible in "
                                                         "your shell history and to other programs on this device: "
                                                         "prefer --file, or leave both out to type it when asked "
                                                         "(or pipe it in).")),
                   file: Path = typer.Option(None, help=_("Read the record from this file (plain text).")),
                   what: str = typer.Option(None, "--what", help=_("What happened.")),
                   when_: str = typer.Option(None, "--when", help=_("When it happened.")),
                   where: str = typer.Option(None, "--where", help=_("Where it happened.")),
                   witnesses: str = typer.Option(None, "--witnesses", help=_("Who else saw it.")),
                   attach: list[Path] = typer.Option([], "--attach", help=_("Attach a file (repeat for more); an "
                                                                            "entry holds about 3 MiB of files.")),
                   wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import reporter
    from consilience.protocol.entry import make_details

    if text is not None and file is not None:
        raise InvalidInput(_("give the record with --text or with --file, not both"))
    details = make_details(what=what, when=when_, where=where, witnesses=witnesses)
    attachments = _read_attachments(list(attach))
    if file is not None:
        text = _read_text_file(file)
    session = _session(wallet, passphrase_env)
    if text is None:
        text = "" if details or attachments else _read_stdin()
    record = reporter.RecordSummary.of(reporter.write(session, text, details=details, attachments=attachments))
    emit(record, as_json,
         lambda: console.print(_("Saved private record [bold]{record_id}[/]. It stays on this device; nothing was "
                                 "sent. To put it in escrow: consilience reporter escrow {record_id} --name …",
                                 record_id=record.record_id)))


@app.command("escrow", help=_("Put a record in escrow, naming the person by one or more identifiers (or add names to "
                              "one in escrow)."))
@handled
def reporter_escrow(record_id: str = typer.Argument(..., help=_("The record to put in escrow.")),
                    name: list[str] = typer.Option(..., "--name",
                                                   help=_("An identifier of the person: email, phone, profile URL "
                                                          "or kind:handle. Repeat for more. For a record already "
                                                          "in escrow, these are added to the names it carries.")),
                    replace_names: bool = typer.Option(False, "--replace-names",
                                                       help=_("Name the person by exactly these identifiers, "
                                                              "dropping the others the record carries (they are "
                                                              "listed).")),
                    quorum: int = typer.Option(None, help=_("Release only when this many people named them "
                                                            "(default: the deployment's quorum).")),
                    region: str = typer.Option(None, help=_("Country of phone numbers written without + and a "
                                                            "country code, e.g. GB (default: your locale's, from "
                                                            "LC_ALL, LC_TELEPHONE or LANG).")),
                    wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import locale, reporter
    from consilience.clients.escrow_client import ApiError

    guessed = None if region else locale.phone_region()
    if guessed and not as_json and any(_national_number(n) for n in name):
        console.print(_("Phone numbers without + are read as numbers in {guessed} (from your locale); '--region' "
                        "chooses another country. Check the country codes below.", guessed=guessed))
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
                       message=_("{exc} The submission is kept on this device: 'consilience reporter retry' sends "
                                 "it again (it is never counted twice).", exc=exc)) from exc
    emit(done, as_json, lambda: _render_escrowed(done))


@app.command("list", help=_("Your records and the status of those in escrow."))
@handled
def reporter_list(wallet: Path = WALLET, passphrase_env: str = PASS_ENV,
                  offline: bool = typer.Option(False, help=_("Do not ask the server for statuses.")),
                  as_json: bool = JSON) -> None:
    from consilience.clients import reporter

    listed = reporter.list_records(_session(wallet, passphrase_env), offline=offline)
    emit(listed, as_json, lambda: _render_list(listed))


@app.command("edit", help=_("Change a record's text (re-sealed on the server if it is in escrow)."))
@handled
def reporter_edit(record_id: str, text: str = typer.Option(None, help=_("The new text (visible in your shell "
                                                                        "history: prefer --file).")),
                  file: Path = typer.Option(None, help=_("Read the new text from this file (plain text).")),
                  wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import reporter

    if (text is None) == (file is None):
        raise InvalidInput(_("give the new text with --text or with --file (one of them)"))
    new_text = text if text is not None else _read_text_file(file)
    record = reporter.RecordSummary.of(reporter.edit(_session(wallet, passphrase_env), record_id, new_text))
    emit(record, as_json, lambda: console.print(
        _("Record {record_id} updated.", record_id=record_id)
        + (" " + _(KEPT_WHAT_THEY_READ) if record.escrow is not None else "")))


@app.command("withdraw", help=_("Take a record out of escrow. It stays in your wallet."))
@handled
def reporter_withdraw(record_id: str, wallet: Path = WALLET, passphrase_env: str = PASS_ENV,
                      as_json: bool = JSON) -> None:
    from consilience.clients import reporter

    record = reporter.RecordSummary.of(reporter.withdraw(_session(wallet, passphrase_env), record_id))
    emit(record, as_json, lambda: console.print(_("Record {record_id} withdrawn from escrow. {kept_what_they_read}",
                                                  record_id=record_id, kept_what_they_read=_(KEPT_WHAT_THEY_READ))))


@app.command("retry", help=_("Resend submissions whose answer was lost (safe: they are never counted twice)."))
@handled
def reporter_retry(wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import reporter

    done = reporter.retry_pending(_session(wallet, passphrase_env))
    emit({"resent": [r.record_id for r in done]}, as_json, lambda: console.print(_("{count} resent.", count=len(done))))

