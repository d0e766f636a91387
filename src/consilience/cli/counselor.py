"""`consilience counselor …`: receive and open matches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from consilience.cli import secrets
from consilience.cli.common import JSON, PASS_ENV, handled, home
from consilience.cli.output import console, emit, heading, labelled, untrusted, visible, when
from consilience.errors import ConsilienceError, InvalidInput
from consilience.i18n import N_, _, _n

if TYPE_CHECKING:
    from consilience.clients.counselor import CounselorKeys, MatchList, OpenedMatch

app = typer.Typer(no_args_is_help=True, help=_("Receive and open matches."))

KEY = typer.Option(None, "--key", help=_("Counselor key file (default $CONSILIENCE_HOME/counselor.key)."))


def _key_path(path: Path | None) -> Path:
    return path or home() / "counselor.key"


def _keys(path: Path, passphrase_env: str) -> CounselorKeys:
    from consilience.clients import counselor

    return secrets.unlock(_("Passphrase for {path}", path=path), lambda secret: counselor.load(path, secret),
                          env=passphrase_env)


@app.command("keygen", help=_("Create your key pair (ML-KEM-768+X25519); writes KEY and KEY.pub.json for the "
                              "administrator."))
@handled
def counselor_keygen(name: str = typer.Option(..., help=_("Your name as reporters' counselors see it.")),
                     key: Path = KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import counselor

    path = _key_path(key)
    if path.exists():
        raise ConsilienceError(_("{path} exists; refusing to overwrite a key", path=path))
    keys = counselor.generate(name)
    counselor.save(path, keys, secrets.passphrase(_("Choose a key passphrase"), env=passphrase_env, confirm=True))
    pub = path.with_name(path.name + ".pub.json")
    pub.write_text(json.dumps(counselor.public_key_file(keys), indent=2))
    emit({"key": str(path), "public_key_file": str(pub), "key_id": counselor.public_key_file(keys)["key_id"]},
         as_json, lambda: console.print(_("Key written to {path}. Send {pub} to the administrator.",
                                          path=escape(str(path)), pub=escape(str(pub)))))


@app.command("login", help=_("Connect your key to a deployment."))
@handled
def counselor_login(server: str = typer.Option(..., help=_("Escrow server URL.")),
                    credential: str = typer.Option(..., help=_("The credential the administrator gave you.")),
                    key: Path = KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import counselor

    path = _key_path(key)
    counselor.parse_credential(credential)  # a mistyped credential is refused before the passphrase is asked
    keys, secret = secrets.unlock(_("Passphrase for {path}", path=path), lambda s: (counselor.load(path, s), s),
                                  env=passphrase_env)
    keys = counselor.login(keys, server, credential)
    counselor.save(path, keys, secret)
    emit({"server": server, "name": keys.name}, as_json, lambda: console.print(_("Connected.")))


def _render_matches(found: MatchList) -> None:
    from consilience.clients.counselor import match_hex

    if not found.matches:
        console.print(_("No matches."))
        return
    table = Table(_("match"), _("created"), _("updated"), _("released entries"))
    for x in found.matches:
        table.add_row(match_hex(x.match_id), when(x.created_at), when(x.updated_at), str(x.released))
    console.print(table)
    console.print(_("Open one with 'consilience counselor open MATCH' (its first 6 characters are enough)."))


def _render_opened(opened: OpenedMatch, *, saved: bool) -> None:
    """Everything decrypted from an entry was written by a reporter: it goes out through ``untrusted``."""
    from consilience.clients.counselor import match_hex

    console.print(_n("Match {match}: {n} entry opened.", "Match {match}: {n} entries opened.", len(opened.entries),
                     match=match_hex(opened.match_id)), markup=False)
    for e in opened.entries:
        heading(untrusted(_("entry {entry_id} — reporter {reporter} — written {written_at}",
                            entry_id=e.entry_id, reporter=e.reporter, written_at=when(e.written_at))))
        console.print(labelled(_("Named"), ", ".join(e.identifiers)))
        console.print(labelled(_("Contact"), e.contact))
        for field, label in (("what", N_("What")), ("when", N_("When")), ("where", N_("Where")),
                             ("witnesses", N_("Witnesses"))):
            if e.details and field in e.details:
                console.print(labelled(_(label), e.details[field], multiline=True))
        console.print(untrusted(e.record, multiline=True))
        for a in e.attachments:
            where = f" → {a.saved_to}" if a.saved_to is not None else ""
            console.print(labelled(_("Attached"), _("{name} ({type}, {size} bytes){where}",
                                                 name=a.name, type=a.type, size=a.size, where=where)))
        if e.attachments and not saved:
            console.print(_("  (use --save-attachments FOLDER to save the attached files)"))
    for k, why in opened.failed.items():
        console.print(Text.assemble((_("entry {entry} could not be opened:", entry=visible(k)), "yellow"), " ",
                                    untrusted(why)))
    if opened.bogus:
        console.print(Text.assemble((_("bogus shares from entries:"), "red"), " ", untrusted(", ".join(opened.bogus))))
    if opened.entries:
        console.print(_("'reporter' is a pseudonym of the reporter's account: the same in every match you open, "
                        "and nobody but the key servers can tell whose it is."))


@app.command("matches", help=_("Matches waiting for you."))
@handled
def counselor_matches(key: Path = KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import counselor

    found = counselor.matches(_keys(_key_path(key), passphrase_env))
    emit(found, as_json, lambda: _render_matches(found))


# Unknown options are taken as arguments so that a base64url id starting with '-' needs no '--'; what
# follows the id is looked at by hand (see below).
@app.command("open", context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
             help=_("Decrypt a match's released entries on this device."))
@handled
def counselor_open(ctx: typer.Context, match_id: str = typer.Argument(
                       ..., metavar="MATCH_ID", show_default=False,
                       help=_("The match to open, as 'counselor matches' shows it: its 32 characters (0-9, a-f), "
                              "or the first 6 or more when no other match starts the same way; the base64url id of "
                              "--json works too.")),
                   key: Path = KEY, passphrase_env: str = PASS_ENV,
                   save_attachments: Path = typer.Option(
                       None, "--save-attachments",
                       help=_("Save the entries' attached files under this folder (one subfolder per entry).")),
                   as_json: bool = JSON) -> None:
    # '--json' after '--' (counselor open -- ID --json) arrives here as an argument: take it as meant
    args = [match_id, *ctx.args]
    given = [a for a in args if a != "--json"]
    _open(given, key=key, passphrase_env=passphrase_env, save_attachments=save_attachments,
          as_json=as_json or len(given) < len(args))


@handled
def _open(given: list[str], *, key: Path | None, passphrase_env: str, save_attachments: Path | None,
          as_json: bool) -> None:
    from consilience.clients import counselor
    from consilience.clients.escrow_client import ApiError

    if len(given) != 1:
        unknown = [a for a in given if a.startswith("--")]
        raise InvalidInput(_("{unknown}: no such option of 'counselor open'; see --help", unknown=", ".join(unknown))
                           if unknown else _("give one match id (options go before '--', if you use it)"))
    keys = _keys(_key_path(key), passphrase_env)
    wanted = counselor.resolve_match_id(keys, given[0])
    try:
        opened = counselor.open_match(keys, wanted, attachments_to=save_attachments)
    except ApiError as exc:
        if exc.status != 404:
            raise
        raise ApiError(exc.status, exc.code, exc.detail, server=exc.server, message=(
            _("There is no match {hex} waiting for you. 'consilience counselor matches' lists those that are; copy "
              "the id from there.", hex=wanted.hex()))) from exc
    emit(opened, as_json, lambda: _render_opened(opened, saved=save_attachments is not None))
