"""The ``consilience`` command: services, admin, reporter, counselor, demo."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from consilience.cli import secrets
from consilience.cli.output import console, emit, fail
from consilience.errors import ConsilienceError

F = TypeVar("F", bound=Callable[..., Any])

# Tracebacks never show local variables: they may hold passphrases, records or identifiers.
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
                  help="Consilience: records stay sealed until k independent reporters name the same person.")
admin_app = typer.Typer(no_args_is_help=True, help="Operate a deployment (on the operator's machine).")
counselor_admin = typer.Typer(no_args_is_help=True, help="Manage counselors.")
reporter_app = typer.Typer(no_args_is_help=True, help="Write records and put them in escrow.")
counselor_app = typer.Typer(no_args_is_help=True, help="Receive and open matches.")
witness_admin = typer.Typer(no_args_is_help=True, help="Manage the log's witnesses.")
witness_app = typer.Typer(no_args_is_help=True, help="Cosign the transparency log's checkpoints.")
log_app = typer.Typer(no_args_is_help=True, help="Read the transparency log.")
web_app = typer.Typer(no_args_is_help=True, help="Check the web app a server hands out.")
app.add_typer(admin_app, name="admin")
admin_app.add_typer(counselor_admin, name="counselor")
app.add_typer(reporter_app, name="reporter")
app.add_typer(counselor_app, name="counselor")
admin_app.add_typer(witness_admin, name="witness")
app.add_typer(witness_app, name="witness")
app.add_typer(log_app, name="log")
app.add_typer(web_app, name="web")

JSON = typer.Option(False, "--json", help="Print one JSON object instead of text.")
DATA_DIR = typer.Option(Path("consilience-data"), "--data-dir", help="The deployment's data folder.")
PASS_ENV = typer.Option(secrets.DEFAULT_ENV, "--passphrase-env",
                        help="Environment variable holding the passphrase (prompted if unset).")


def home() -> Path:
    return Path(os.environ.get("CONSILIENCE_HOME", Path.home() / ".consilience"))


def handled(func: F) -> F:
    """Turn expected errors into one clear line and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConsilienceError as exc:
            fail(str(exc), bool(kwargs.get("as_json")))
        except KeyboardInterrupt:
            fail("interrupted", bool(kwargs.get("as_json")), code=130)

    return wrapper  # type: ignore[return-value]


# -- services -------------------------------------------------------------------


@app.command()
@handled
def serve(data_dir: Path = DATA_DIR, host: str = typer.Option("127.0.0.1", help="Address to bind."),
          port: int = typer.Option(8100, help="Port to bind."),
          database_url: str = typer.Option(None, "--database-url",
                                           help="SQLAlchemy URL; default SQLite in DATA_DIR/escrow."),
          as_json: bool = JSON) -> None:
    """Run the escrow server."""
    from consilience.services.escrow import server

    server.run(data_dir / "escrow", host=host, port=port, database_url=database_url)


@app.command()
@handled
def keyserver(index: int = typer.Option(..., help="Which key server (1..n)."), data_dir: Path = DATA_DIR,
              host: str = typer.Option("127.0.0.1", help="Address to bind."),
              port: int = typer.Option(None, help="Port to bind; default 8100 + index."),
              rate_per_hour: float = typer.Option(None, "--rate-per-hour",
                                                  help="Evaluations one account may ask for per hour "
                                                       "(default 120)."),
              burst: float = typer.Option(None, "--burst",
                                          help="Evaluations one account may ask for at once (default 60)."),
              address_rate_per_hour: float = typer.Option(None, "--address-rate-per-hour",
                                                          help="Evaluations one client address may ask for "
                                                               "per hour (default 2000)."),
              address_burst: float = typer.Option(None, "--address-burst",
                                                  help="Evaluations one client address may ask for at once "
                                                       "(default 500)."),
              web_origin: list[str] = typer.Option(None, "--web-origin",
                                                   help="Origin of a web app allowed to call this server from "
                                                        "a browser (CORS), e.g. http://127.0.0.1:8100; "
                                                        "repeatable. Default: those in "
                                                        "DATA_DIR/keyserver-INDEX/web-origins.json (admin init "
                                                        "writes the escrow server's)."),
              as_json: bool = JSON) -> None:
    """Run key server INDEX with its share from DATA_DIR/keyserver-INDEX."""
    import uvicorn

    from consilience.services.keyserver import web_origins
    from consilience.services.keyserver.app import create_app, settings_with
    from consilience.services.keyserver.share_file import ShareStore

    settings = settings_with(per_account_per_hour=rate_per_hour, per_account_burst=burst,
                             per_address_per_hour=address_rate_per_hour, per_address_burst=address_burst)
    store = ShareStore(data_dir / f"keyserver-{index}" / "share.json")
    if store.current().index != index:
        raise ConsilienceError(f"the share in keyserver-{index} is for index {store.current().index}")
    origins = web_origin or web_origins.read(data_dir / f"keyserver-{index}" / web_origins.FILE_NAME)
    uvicorn.run(create_app(store, settings, origins), host=host, port=port or 8100 + index, log_level="warning")


# -- admin ------------------------------------------------------------------------


@admin_app.command("init")
@handled
def admin_init(data_dir: Path = DATA_DIR,
               quorum: int = typer.Option(2, help="Reporters needed before entries are released."),
               max_quorum: int = typer.Option(10, help="Highest quorum a reporter may ask for."),
               keyservers: int = typer.Option(3, help="Number of key servers (n)."),
               threshold: int = typer.Option(2, help="Key servers needed to evaluate (t)."),
               host: str = typer.Option("127.0.0.1", help="Host the services are reached at."),
               port: int = typer.Option(8100, help="Escrow server port; key servers use the next ones."),
               keyserver_ports: str = typer.Option(None, "--keyserver-ports",
                                                   help="Comma-separated key-server ports, instead of the next ones."),
               web_origin: list[str] = typer.Option(None, "--web-origin",
                                                    help="Origin the web app is served from, allowed to call the "
                                                         "key servers from a browser (CORS); repeatable. Default: "
                                                         "the escrow server's, http://HOST:PORT."),
               passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Create a deployment: admin key, OPRF key shares, signed deployment document, database."""
    from consilience.clients import admin

    try:
        ports = [int(p) for p in keyserver_ports.split(",")] if keyserver_ports else None
    except ValueError as exc:
        raise ConsilienceError("--keyserver-ports takes comma-separated port numbers") from exc
    secret = secrets.passphrase("Admin passphrase", env=passphrase_env, confirm=True)
    d = admin.init_deployment(data_dir, secret, quorum=quorum, max_quorum=max_quorum,
                              key_servers=keyservers, threshold=threshold, host=host,
                              escrow_port=port, keyserver_base_port=port + 1, keyserver_ports=ports,
                              web_app_origins=web_origin or None)
    data = {"data_dir": str(data_dir.resolve()), "quorum": d.quorum, "max_quorum": d.max_quorum,
            "key_servers": [s.url for s in d.key_servers], "threshold": d.threshold,
            "escrow_url": d.escrow_url}
    emit(data, as_json, lambda: console.print(
        f"[green]Deployment created[/] in {data['data_dir']}: quorum {d.quorum}, "
        f"{d.threshold}-of-{len(d.key_servers)} key servers.\n"
        f"Next: start 'consilience serve' and 'consilience keyserver --index N', add a counselor, issue invites."))


@admin_app.command("invite")
@handled
def admin_invite(data_dir: Path = DATA_DIR, count: int = typer.Option(1, help="How many invites."),
                 days: int = typer.Option(14, help="Days until the invites expire."),
                 as_json: bool = JSON) -> None:
    """Issue single-use invites for reporters."""
    from consilience.clients import admin

    codes = admin.issue_invites(data_dir, count, expires_in=timedelta(days=days))
    emit({"invites": codes, "expires_in_days": days}, as_json,
         lambda: [console.print(c) for c in codes])


@counselor_admin.command("add")
@handled
def admin_counselor_add(public_key: Path = typer.Argument(..., help="The counselor's public-key file."),
                        data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV,
                        as_json: bool = JSON) -> None:
    """List a counselor's key in the deployment and create their account."""
    from consilience.clients import admin, counselor

    secret = secrets.passphrase("Admin passphrase", env=passphrase_env)
    try:
        public = json.loads(public_key.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConsilienceError(f"cannot read {public_key}: {exc}") from exc
    d, token = admin.add_counselor(data_dir, public, secret)
    cred = counselor.credential(token, admin.admin_fingerprint(data_dir))
    emit({"name": public.get("name"), "credential": cred, "deployment_serial": d.serial}, as_json,
         lambda: console.print(f"Counselor added. Give them this credential, privately:\n{cred}"))


@admin_app.command("refresh-shares")
@handled
def admin_refresh_shares(data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Proactively refresh the key servers' OPRF key shares (same key, same matches)."""
    from consilience.clients import admin

    d = admin.refresh_key_shares(data_dir, secrets.passphrase("Admin passphrase", env=passphrase_env))
    emit({"deployment_serial": d.serial, "key_servers": len(d.key_servers)}, as_json,
         lambda: console.print(f"Key shares refreshed (deployment serial {d.serial}); the OPRF key is unchanged."))


@admin_app.command("status")
@handled
def admin_status(data_dir: Path = DATA_DIR, as_json: bool = JSON) -> None:
    """Counts of accounts, entries and matches (no content)."""
    from consilience.clients import admin

    data = admin.status(data_dir)
    emit(data, as_json, lambda: [console.print(f"{k}: {v}") for k, v in data.items()])


# -- reporter -------------------------------------------------------------------


WALLET = typer.Option(None, "--wallet", help="Wallet file (default $CONSILIENCE_HOME/wallet.sealed).")


def _wallet_path(path: Path | None) -> Path:
    return path or home() / "wallet.sealed"


def _session(wallet: Path | None, passphrase_env: str):  # type: ignore[no-untyped-def]
    from consilience.clients import reporter

    path = _wallet_path(wallet)
    return reporter.open_session(path, secrets.passphrase(f"Passphrase for {path}", env=passphrase_env))


def _attachment_summary(attachments: Any) -> list[dict[str, Any]]:
    """Names, media types and sizes of attachments (never their bytes)."""
    return [{"name": a.name, "type": a.type, "size": len(a.data)} for a in attachments]


def _read_attachments(paths: list[Path]) -> list[Any]:
    import mimetypes

    from consilience.protocol.entry import Attachment

    out = []
    for p in paths:
        if not p.is_file():
            raise typer.BadParameter(f"{p} is not a file", param_hint="--attach")
        media_type = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
        out.append(Attachment(name=p.name, type=media_type, data=p.read_bytes()))
    return out


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


def _record_json(r: Any) -> dict[str, Any]:
    from consilience.protocol.entry import Attachment

    e = r.escrow
    return {"record_id": r.record_id, "written_at": r.written_at, "text": r.text,
            "details": r.details,
            "attachments": _attachment_summary([Attachment.from_json(a) for a in r.attachments]),
            "escrow": None if e is None else {"entry_id": e.entry_id, "status": e.status,
                                              "quorum": e.quorum, "identifiers": e.identifiers,
                                              "canonical": e.canonical, "received_at": e.received_at}}


@reporter_app.command("register")
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


@reporter_app.command("write")
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
    record = reporter.write(session, text, details=details, attachments=attachments)
    emit(_record_json(record), as_json,
         lambda: console.print(f"Saved private record [bold]{record.record_id}[/]. Nothing was sent."))


@reporter_app.command("escrow")
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
    record = reporter.escrow(session, record_id, list(name), quorum=quorum, default_region=region)
    e = record.escrow
    assert e is not None

    def render() -> None:
        for typed, canonical in zip(e.identifiers, e.canonical):
            console.print(f"  {typed}  →  {canonical}")
        console.print(f"Record {record.record_id} is [bold]{e.status}[/] (quorum {e.quorum}).")

    emit(_record_json(record), as_json, render)


@reporter_app.command("list")
@handled
def reporter_list(wallet: Path = WALLET, passphrase_env: str = PASS_ENV,
                  offline: bool = typer.Option(False, help="Do not ask the server for statuses."),
                  as_json: bool = JSON) -> None:
    """Your records and the status of those in escrow."""
    from consilience.clients import reporter

    session = _session(wallet, passphrase_env)
    records = session.wallet.records if offline else reporter.refresh(session)

    def render() -> None:
        table = Table("record", "written", "status", "names", "text")
        for r in records:
            table.add_row(r.record_id, r.written_at, r.escrow.status if r.escrow else "private",
                          ", ".join(r.escrow.canonical) if r.escrow else "", r.text[:40])
        console.print(table)

    emit({"records": [_record_json(r) for r in records]}, as_json, render)


@reporter_app.command("edit")
@handled
def reporter_edit(record_id: str, text: str = typer.Option(..., help="The new text."),
                  wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Change a record's text (re-sealed on the server if it is in escrow and not released)."""
    from consilience.clients import reporter

    record = reporter.edit(_session(wallet, passphrase_env), record_id, text)
    emit(_record_json(record), as_json, lambda: console.print(f"Record {record_id} updated."))


@reporter_app.command("withdraw")
@handled
def reporter_withdraw(record_id: str, wallet: Path = WALLET, passphrase_env: str = PASS_ENV,
                      as_json: bool = JSON) -> None:
    """Take a record out of escrow (only before it is released). It stays in your wallet."""
    from consilience.clients import reporter

    record = reporter.withdraw(_session(wallet, passphrase_env), record_id)
    emit(_record_json(record), as_json, lambda: console.print(f"Record {record_id} withdrawn from escrow."))


@reporter_app.command("retry")
@handled
def reporter_retry(wallet: Path = WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Resend submissions whose answer was lost (safe: they are never counted twice)."""
    from consilience.clients import reporter

    done = reporter.retry_pending(_session(wallet, passphrase_env))
    emit({"resent": [r.record_id for r in done]}, as_json, lambda: console.print(f"{len(done)} resent."))


# -- counselor ----------------------------------------------------------------------


KEY = typer.Option(None, "--key", help="Counselor key file (default $CONSILIENCE_HOME/counselor.key).")


def _key_path(path: Path | None) -> Path:
    return path or home() / "counselor.key"


@counselor_app.command("keygen")
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


@counselor_app.command("login")
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


@counselor_app.command("matches")
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


@counselor_app.command("open")
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
                     "attachments": _attachment_summary(o.body.attachments)} for o in result.opened],
        "failed": {b64u_encode(k): v for k, v in result.failed.items()},
        "bogus": sorted(b64u_encode(b) for b in result.bogus),
    }
    if save_attachments is not None:
        for o, e in zip(result.opened, data["entries"]):
            for summary, saved in zip(e["attachments"], _save_attachments(save_attachments, e["entry_id"],
                                                                          o.body.attachments)):
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


# -- receipts, the log and witnesses ------------------------------------------------


@app.command()
@handled
def verify(receipt: Path = typer.Argument(..., help="A receipt file (.tlog-proof)."),
           against: Path = typer.Option(None, "--against",
                                        help="A newer checkpoint, or a bundle from 'consilience log fetch'."),
           log_key: str = typer.Option(None, "--log-key",
                                       help="The log's verifier key; default: log.vkey beside the receipt."),
           witness: list[str] = typer.Option([], "--witness", help="A witness vkey whose cosignature is required."),
           as_json: bool = JSON) -> None:
    """Check a receipt offline: exit 0 if valid, non-zero with the reason otherwise."""
    from consilience.clients import receipts

    if not receipt.is_file():
        raise ConsilienceError(f"cannot read {receipt}: no such file")
    checked = receipts.verify_file(receipt, log_vkey=log_key, against=against, witness_vkeys=tuple(witness))
    r, e = checked.result, checked.event
    data = {"valid": True, "event": e.kind, "logged_at": e.at.isoformat(), "index": r.index,
            "tree_size": r.tree_size, "origin": r.origin, "log_key_from": checked.key_source,
            "entry_id": None if e.entry_id is None else b64u(e.entry_id),
            "consistent_with_size": r.against_size,
            "witnesses": [{"name": c.name, "time": c.timestamp} for c in r.cosignatures]}
    emit(data, as_json, lambda: console.print(
        f"[green]valid:[/] {e.kind} {data['entry_id'] or ''} logged at {data['logged_at']} as leaf {r.index} "
        f"of {r.origin} (tree size {r.tree_size})"
        + (f"; consistent with the newer checkpoint of size {r.against_size}" if r.against_size else "")
        + (f"; cosigned by {', '.join(c.name for c in r.cosignatures)}" if r.cosignatures else "")))


@web_app.command("verify")
@handled
def web_verify(server: str = typer.Argument(..., help="Escrow server URL, e.g. https://escrow.example.org."),
               build: Path = typer.Option(None, "--build",
                                          help="A build folder (node web/build.mjs --out DIR); default: the "
                                               "web app built into this installation."),
               as_json: bool = JSON) -> None:
    """Compare every file of the server's web app with a local build: exit 0 only if all are identical."""
    from consilience import web
    from consilience.clients import webcheck
    from consilience.clients.http import client as http_client

    expected = webcheck.load_manifest(build if build is not None else web.STATIC_DIR)
    with http_client(base_url=server.rstrip("/"), timeout=30.0) as http:
        result = webcheck.verify(http, expected)
    data = {"server": result.server, "identical": result.ok, "checked": result.checked,
            "mismatched": result.mismatched}

    def render() -> None:
        for path in result.checked:
            if path in result.mismatched:
                console.print(f"[red]differs[/] {escape(path)}: {escape(result.mismatched[path])}")
            else:
                console.print(f"[green]same[/]    {escape(path)}")

    emit(data, as_json, render)
    if not result.ok and as_json:
        raise typer.Exit(1)  # stdout already holds the one JSON document, with the differences
    if not result.ok:
        fail(f"{len(result.mismatched)} of {len(result.checked)} files differ from the build: this server does "
             "not hand out the web app of this release", as_json)


@log_app.command("fetch")
@handled
def log_fetch(server: str = typer.Option(..., help="Escrow server URL."),
              since: int = typer.Option(None, help="Prove consistency from this tree size."),
              receipt: Path = typer.Option(None, help="Take the size from this receipt."),
              out: Path = typer.Option(..., "--out", "-o", help="Where to write the bundle."),
              as_json: bool = JSON) -> None:
    """Save the newest checkpoint with a consistency proof, for 'verify --against'."""
    from consilience.clients import receipts
    from consilience.clients.escrow_client import EscrowClient
    from consilience.protocol import checkpoint as cp
    from consilience.protocol.receipt import parse_receipt

    if (since is None) == (receipt is None):
        raise ConsilienceError("give exactly one of --since or --receipt")
    if receipt is not None:
        since = cp.parse_signed_checkpoint(parse_receipt(receipt.read_text()).checkpoint)[0].size
    with EscrowClient(server) as client:
        bundle = receipts.fetch_bundle(client, since)
    out.write_text(bundle)
    emit({"out": str(out), "since": since}, as_json, lambda: console.print(f"Wrote {out}."))


@witness_admin.command("add")
@handled
def admin_witness_add(vkey: str = typer.Argument(..., help="The witness's verifier key."),
                      data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """List a witness in the deployment so its cosignatures are accepted."""
    from consilience.clients import admin

    d = admin.add_witness(data_dir, vkey, secrets.passphrase("Admin passphrase", env=passphrase_env))
    emit({"witnesses": list(d.witnesses), "deployment_serial": d.serial}, as_json,
         lambda: console.print(f"Witness added (deployment serial {d.serial})."))


WITNESS_KEY = typer.Option(None, "--key", help="Witness key file (default $CONSILIENCE_HOME/witness.key).")


@witness_app.command("keygen")
@handled
def witness_keygen(name: str = typer.Option(..., help="Key name, e.g. witness.example.org/1."),
                   key: Path = WITNESS_KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Create a witness key; prints the verifier key to give the administrator."""
    from consilience.clients import witness

    path = key or home() / "witness.key"
    if path.exists():
        raise ConsilienceError(f"{path} exists; refusing to overwrite a key")
    w = witness.generate(name)
    witness.save(path, w, secrets.passphrase("Choose a key passphrase", env=passphrase_env, confirm=True))
    emit({"key": str(path), "vkey": w.vkey}, as_json, lambda: console.print(w.vkey))


@witness_app.command("cosign")
@handled
def witness_cosign(server: str = typer.Option(..., help="Escrow server URL."),
                   log_key: str = typer.Option(..., "--log-key", help="The log's verifier key."),
                   key: Path = WITNESS_KEY,
                   state: Path = typer.Option(None, help="Last cosigned checkpoint (default beside the key)."),
                   passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Cosign the newest checkpoint if it is consistent with the last one cosigned."""
    from consilience.clients import witness

    path = key or home() / "witness.key"
    w = witness.load(path, secrets.passphrase(f"Passphrase for {path}", env=passphrase_env))
    result = witness.cosign_latest(w, server, log_key, state or path.with_name(path.name + ".state.json"))
    emit({"size": result.size, "previous": result.previous}, as_json, lambda: console.print(
        f"Cosigned size {result.size}" + (f" (consistent with {result.previous})" if result.previous else "")))


def b64u(data: bytes) -> str:
    from consilience.protocol.encoding import b64u_encode

    return b64u_encode(data)


@app.command()
@handled
def demo(as_json: bool = JSON,
         data_dir: Path = typer.Option(None, "--data-dir", help="Where to keep everything (default: a new "
                                                                "temporary folder, left in place)."),
         quorum: int = typer.Option(3, help="Quorum for the demo."),
         keep_running: bool = typer.Option(False, "--keep-running",
                                           help="Leave the servers running after the story and print the web "
                                                "app's URLs, fresh invites and the counselor's key file; stop "
                                                "with Ctrl-C (or SIGTERM).")) -> None:
    """Run a whole deployment on loopback and show the quorum at work."""
    from consilience.cli import demo as demo_mod

    def ready(result: dict[str, Any]) -> None:
        emit(result, True)
        sys.stdout.flush()

    result = demo_mod.run(data_dir=data_dir, quorum=quorum, narrate=not as_json, keep_running=keep_running,
                          on_ready=ready if as_json else None)
    if as_json and not keep_running:
        emit(result, True)


def main() -> None:
    app()
