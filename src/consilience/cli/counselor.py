"""`consilience counselor …`: receive and open matches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from consilience.cli import secrets
from consilience.cli.common import JSON, PASS_ENV, handled, home
from consilience.cli.output import console, emit
from consilience.errors import ConsilienceError

if TYPE_CHECKING:
    from consilience.clients.counselor import MatchList, OpenedMatch

app = typer.Typer(no_args_is_help=True, help="Receive and open matches.")

KEY = typer.Option(None, "--key", help="Counselor key file (default $CONSILIENCE_HOME/counselor.key).")


def _key_path(path: Path | None) -> Path:
    return path or home() / "counselor.key"


@app.command("keygen")
@handled
def counselor_keygen(name: str = typer.Option(..., help="Your name as reporters' counselors see it."),
                     key: Path = KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Create your key pair (ML-KEM-768+X25519); writes KEY and KEY.pub.json for the administrator."""
    from consilience.clients import counselor

    path = _key_path(key)
    if path.exists():
        raise ConsilienceError(f"{path} exists; refusing to overwrite a key")
    keys = counselor.generate(name)
    counselor.save(path, keys, secrets.passphrase("Choose a key passphrase", env=passphrase_env, confirm=True))
    pub = path.with_name(path.name + ".pub.json")
    pub.write_text(json.dumps(counselor.public_key_file(keys), indent=2))
    emit({"key": str(path), "public_key_file": str(pub), "key_id": counselor.public_key_file(keys)["key_id"]},
         as_json, lambda: console.print(f"Key written to {path}. Send {pub} to the administrator."))


@app.command("login")
@handled
def counselor_login(server: str = typer.Option(..., help="Escrow server URL."),
                    credential: str = typer.Option(..., help="The credential the administrator gave you."),
                    key: Path = KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Connect your key to a deployment."""
    from consilience.clients import counselor

    path = _key_path(key)
    secret = secrets.passphrase(f"Passphrase for {path}", env=passphrase_env)
    keys = counselor.login(counselor.load(path, secret), server, credential)
    counselor.save(path, keys, secret)
    emit({"server": server, "name": keys.name}, as_json, lambda: console.print("Connected."))


def _render_matches(found: MatchList) -> None:
    table = Table("match", "created", "updated", "released entries")
    for x in found.matches:
        table.add_row(x.match_id, str(x.created_at), str(x.updated_at), str(x.released))
    console.print(table if found.matches else "No matches.")


def _render_opened(opened: OpenedMatch, *, saved: bool) -> None:
    for e in opened.entries:
        console.rule(f"entry {e.entry_id} — written {e.written_at}")
        console.print(f"[bold]Named:[/] {', '.join(e.identifiers)}")
        console.print(f"[bold]Contact:[/] {e.contact}")
        for field, label in (("what", "What"), ("when", "When"), ("where", "Where"), ("witnesses", "Witnesses")):
            if e.details and field in e.details:
                console.print(f"[bold]{label}:[/] {escape(e.details[field])}", highlight=False)
        console.print(e.record, markup=False, highlight=False)
        for a in e.attachments:
            where = f" → {a.saved_to}" if a.saved_to is not None else ""
            console.print(f"[bold]Attached:[/] {escape(a.name)} ({escape(a.type)}, {a.size} bytes){escape(where)}")
        if e.attachments and not saved:
            console.print("  (use --save-attachments FOLDER to save the attached files)")
    for k, why in opened.failed.items():
        console.print(f"[yellow]entry {k} could not be opened:[/] {why}")
    if opened.bogus:
        console.print(f"[red]bogus shares from entries:[/] {', '.join(opened.bogus)}")


@app.command("matches")
@handled
def counselor_matches(key: Path = KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Matches waiting for you."""
    from consilience.clients import counselor

    path = _key_path(key)
    keys = counselor.load(path, secrets.passphrase(f"Passphrase for {path}", env=passphrase_env))
    found = counselor.matches(keys)
    emit(found, as_json, lambda: _render_matches(found))


@app.command("open")
@handled
def counselor_open(match_id: str, key: Path = KEY, passphrase_env: str = PASS_ENV,
                   save_attachments: Path = typer.Option(
                       None, "--save-attachments",
                       help="Save the entries' attached files under this folder (one subfolder per entry)."),
                   as_json: bool = JSON) -> None:
    """Decrypt a match's released entries on this device."""
    from consilience.clients import counselor
    from consilience.protocol.encoding import b64u_decode

    path = _key_path(key)
    keys = counselor.load(path, secrets.passphrase(f"Passphrase for {path}", env=passphrase_env))
    opened = counselor.open_match(keys, b64u_decode(match_id, length=16, field="match id"),
                                  attachments_to=save_attachments)
    emit(opened, as_json, lambda: _render_opened(opened, saved=save_attachments is not None))
