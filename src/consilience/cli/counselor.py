"""`consilience counselor …`: receive and open matches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from consilience.cli import secrets
from consilience.cli.common import JSON, PASS_ENV, attachment_summary, handled, home
from consilience.cli.output import console, emit
from consilience.errors import ConsilienceError

app = typer.Typer(no_args_is_help=True, help="Receive and open matches.")


def _save_attachments(folder: Path, entry_id: str, attachments: Any) -> list[str]:
    """Write an opened entry's files under FOLDER/ENTRY_ID/, owner-only, names made safe."""
    from consilience import files

    saved = []
    for n, a in enumerate(attachments, start=1):
        name = "".join(c if c.isprintable() and c not in '/\\:' else "_" for c in a.name).strip(" .")
        target = folder / entry_id / f"{n}-{name or 'attachment'}"
        files.write_private(target, a.data)
        saved.append(str(target))
    return saved


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


@app.command("matches")
@handled
def counselor_matches(key: Path = KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Matches waiting for you."""
    from consilience.clients import counselor

    path = _key_path(key)
    keys = counselor.load(path, secrets.passphrase(f"Passphrase for {path}", env=passphrase_env))
    found = counselor.list_matches(keys)

    def render() -> None:
        table = Table("match", "created", "updated", "released entries")
        for x in found:
            table.add_row(x.match_id, str(x.created_at), str(x.updated_at), str(x.released))
        console.print(table if found else "No matches.")

    emit({"matches": [x.model_dump(mode="json") for x in found]}, as_json, render)


@app.command("open")
@handled
def counselor_open(match_id: str, key: Path = KEY, passphrase_env: str = PASS_ENV,
                   save_attachments: Path = typer.Option(
                       None, "--save-attachments",
                       help="Save the entries' attached files under this folder (one subfolder per entry)."),
                   as_json: bool = JSON) -> None:
    """Decrypt a match's released entries on this device."""
    from consilience.clients import counselor
    from consilience.protocol.encoding import b64u_decode, b64u_encode

    path = _key_path(key)
    keys = counselor.load(path, secrets.passphrase(f"Passphrase for {path}", env=passphrase_env))
    detail, result = counselor.open_match_by_id(keys, b64u_decode(match_id, length=16, field="match id"))
    data = {
        "match_id": detail.match_id,
        "entries": [{"entry_id": b64u_encode(o.entry_id), "reporter": b64u_encode(o.account_id),
                     "contact": o.body.contact, "record": o.body.record, "identifiers": o.body.identifiers,
                     "written_at": o.body.written_at, "details": o.body.details,
                     "attachments": attachment_summary(o.body.attachments)} for o in result.opened],
        "failed": {b64u_encode(k): v for k, v in result.failed.items()},
        "bogus": sorted(b64u_encode(b) for b in result.bogus),
    }
    if save_attachments is not None:
        for o, e in zip(result.opened, data["entries"], strict=False):
            for summary, saved in zip(e["attachments"], _save_attachments(save_attachments, e["entry_id"],
                                                                          o.body.attachments), strict=False):
                summary["saved_to"] = saved

    def render() -> None:
        for e in data["entries"]:
            console.rule(f"entry {e['entry_id']} — written {e['written_at']}")
            console.print(f"[bold]Named:[/] {', '.join(e['identifiers'])}")
            console.print(f"[bold]Contact:[/] {e['contact']}")
            for field, label in (("what", "What"), ("when", "When"), ("where", "Where"),
                                 ("witnesses", "Witnesses")):
                if e["details"] and field in e["details"]:
                    console.print(f"[bold]{label}:[/] {escape(e['details'][field])}", highlight=False)
            console.print(e["record"], markup=False, highlight=False)
            for a in e["attachments"]:
                where = f" → {a['saved_to']}" if "saved_to" in a else ""
                console.print(f"[bold]Attached:[/] {escape(a['name'])} ({escape(a['type'])}, {a['size']} bytes)"
                              f"{escape(where)}")
            if e["attachments"] and save_attachments is None:
                console.print("  (use --save-attachments FOLDER to save the attached files)")
        for k, why in data["failed"].items():
            console.print(f"[yellow]entry {k} could not be opened:[/] {why}")
        if data["bogus"]:
            console.print(f"[red]bogus shares from entries:[/] {', '.join(data['bogus'])}")

    emit(data, as_json, render)
