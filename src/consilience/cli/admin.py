"""`consilience admin …`: operate a deployment, on the operator's machine (``consilience.operator``)."""

from __future__ import annotations

import json
import shlex
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import typer

from consilience.cli import secrets
from consilience.cli.common import DATA_DIR, JSON, PASS_ENV, handled
from consilience.cli.output import console, emit, say, untrusted
from consilience.datadir import DataDir, defaults
from consilience.errors import ConsilienceError, InvalidInput
from consilience.i18n import N_, _
from consilience.local.command import command

if TYPE_CHECKING:
    from consilience.protocol.deployment import Deployment

app = typer.Typer(no_args_is_help=True, help=_("Operate a deployment (on the operator's machine)."))
counselor_admin = typer.Typer(no_args_is_help=True, help=_("Manage counselors."))
witness_admin = typer.Typer(no_args_is_help=True, help=_("Manage the log's witnesses."))
app.add_typer(counselor_admin, name="counselor")
app.add_typer(witness_admin, name="witness")
app.add_typer(__import__("consilience.cli.revoke", fromlist=["app"]).app, name="revoke")  # cli/revoke.py


def require_deployment(data_dir: Path) -> None:
    """Refuse a folder ``admin init`` never wrote to, before any prompt and before anything is created."""
    if not DataDir(data_dir).holds_deployment:
        from consilience.operator.deployment import no_deployment

        raise no_deployment(data_dir, command())


def next_steps(data_dir: Path, d: Deployment, host: str, port: int) -> str:
    """What to run after ``admin init``, as the person can type it from here: their --data-dir,
    and --host and --port where the deployment's differ from what ``serve`` and ``keyserver`` bind."""
    run = command()
    folder = "" if data_dir == defaults.DATA_DIR else f" --data-dir {shlex.quote(str(data_dir))}"
    bind = "" if host == defaults.HOST else f" --host {shlex.quote(host)}"
    escrow_port = "" if port == defaults.ESCROW_PORT else f" --port {port}"
    lines = [f"  {run} serve{folder}{bind}{escrow_port}    # "
             + _("the escrow server and the web app, {url}/", url=d.escrow_url)]
    for server in d.key_servers:
        ks_port = urlsplit(server.url).port
        chosen = "" if ks_port == defaults.keyserver_port(server.index) else f" --port {ks_port}"
        lines.append(f"  {run} keyserver --index {server.index}{folder}{bind}{chosen}")
    return (_("Next, start each server in a terminal of its own (or add & to run it in the background):") + "\n"
            + "\n".join(lines) + "\n"
            + _("The key servers then generate the quorum keys among themselves over the escrow server; publish "
                "them with {run} admin publish-keys{folder} (it waits until they have finished). Then add a "
                "counselor ({run} admin counselor add KEY.pub.json{folder}) and issue invites ({run} admin "
                "invite{folder}).", run=run, folder=folder))


@app.command("init", help=_("Create a deployment: admin key, signed deployment document, database. No key server's "
                            "secret is made here: the key servers generate their keys and shares themselves."))
@handled
def admin_init(data_dir: Path = DATA_DIR,
               quorum: int = typer.Option(2, help=_("Reporters needed before entries are released.")),
               max_quorum: int = typer.Option(10, help=_("Highest quorum a reporter may ask for.")),
               keyservers: int = typer.Option(3, help=_("Number of key servers (n).")),
               threshold: int = typer.Option(2, help=_("Key servers needed to evaluate (t).")),
               host: str = typer.Option(defaults.HOST, help=_("Host the services are reached at.")),
               port: int = typer.Option(defaults.ESCROW_PORT,
                                        help=_("Escrow server port; key servers use the next ones.")),
               keyserver_ports: str = typer.Option(None, "--keyserver-ports",
                                                   help=_("Comma-separated key-server ports, instead of the next "
                                                          "ones.")),
               web_origin: list[str] = typer.Option(None, "--web-origin",
                                                    help=_("Origin the web app is served from, allowed to call the "
                                                           "key servers from a browser (CORS); repeatable. "
                                                           "Default: the escrow server's, http://HOST:PORT, and on "
                                                           "loopback the same as http://localhost:PORT (a browser "
                                                           "tells the two apart).")),
               key_server: list[Path] = typer.Option(None, "--key-server",
                                                     help=_("A key server's enrollment file, made by its operator "
                                                            "with 'keyserver-init' on their machine; repeatable, "
                                                            "in the order they get indices 1..n. Default: every "
                                                            "key server on this machine, in DATA_DIR/keyserver-N.")),
               escrow_url: str = typer.Option(None, "--escrow-url",
                                              help=_("The escrow server's public address (https://…) when it is "
                                                     "reached by another name than http://HOST:PORT.")),
               passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.datadir.share_file import read_enrollment
    from consilience.operator.deployment import init_deployment

    try:
        ports = [int(p) for p in keyserver_ports.split(",")] if keyserver_ports else None
    except ValueError as exc:
        raise ConsilienceError(_("--keyserver-ports takes comma-separated port numbers")) from exc
    enrollments = [read_enrollment(p) for p in key_server] if key_server else None
    secret = secrets.passphrase(_("Admin passphrase"), env=passphrase_env, confirm=True)
    d = init_deployment(data_dir, secret, quorum=quorum, max_quorum=max_quorum, key_servers=keyservers,
                        threshold=threshold, host=host, escrow_port=port, keyserver_ports=ports,
                        web_app_origins=web_origin or None, enrollments=enrollments, escrow_url=escrow_url)
    data = {"data_dir": str(data_dir.resolve()), "quorum": d.quorum, "max_quorum": d.max_quorum,
            "key_servers": [s.url for s in d.key_servers], "threshold": d.threshold,
            "escrow_url": d.escrow_url}
    emit(data, as_json, lambda: console.print(
        _("[green]Deployment created[/] in {data_dir}: quorum {quorum}, {threshold}-of-{count} key servers.",
          data_dir=data["data_dir"], quorum=d.quorum, threshold=d.threshold, count=len(d.key_servers)) + "\n"
        + next_steps(data_dir, d, host, port), soft_wrap=True))


@app.command("invite", help=_("Issue single-use invites for reporters, each with an account key the administrator "
                              "certifies."))
@handled
def admin_invite(data_dir: Path = DATA_DIR, count: int = typer.Option(1, help=_("How many invites.")),
                 days: int = typer.Option(14, help=_("Days until the invites expire.")),
                 passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.operator.invites import issue_invites

    require_deployment(data_dir)

    secret = secrets.passphrase(_("Admin passphrase"), env=passphrase_env)
    codes = issue_invites(data_dir, secret, count, expires_in=timedelta(days=days))

    def show() -> None:
        for code in codes:
            console.print(code)

    emit({"invites": codes, "expires_in_days": days}, as_json, show)


@counselor_admin.command("add", help=_("List a counselor's key in the deployment and create their account."))
@handled
def admin_counselor_add(public_key: Path = typer.Argument(..., help=_("The counselor's public-key file.")),
                        data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV,
                        as_json: bool = JSON) -> None:
    from consilience.clients import counselor
    from consilience.operator.counselors import add_counselor
    from consilience.operator.deployment import admin_fingerprint

    require_deployment(data_dir)

    secret = secrets.passphrase(_("Admin passphrase"), env=passphrase_env)
    try:
        public = json.loads(public_key.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConsilienceError(_("cannot read {public_key}: {exc}", public_key=public_key, exc=exc)) from exc
    d, token = add_counselor(data_dir, public, secret)
    cred = counselor.credential(token, admin_fingerprint(data_dir))
    can_message = d.counselors[-1].signing_key is not None
    note = ("" if can_message else "\n" + _("This public-key file has no signing key (an older version made it): "
                                             "this counselor can open matches but cannot send messages, since "
                                             "reporters trust only messages signed by a key the deployment document "
                                             "lists."))
    emit({"name": public.get("name"), "credential": cred, "deployment_serial": d.serial,
          "can_send_messages": can_message}, as_json,
         lambda: console.print(_("Counselor added. Give them this credential, privately:\n{cred}{note}",
                                 cred=cred, note=note)))


@counselor_admin.command("notify", help=_("Set or remove the mail address a counselor is told at that something is "
                                          "waiting (never what)."))
@handled
def admin_counselor_notify(name: str = typer.Argument(..., help=_("The counselor's name, as the deployment lists it.")),
                           email: str = typer.Option(None, "--email", help=_("Where to mail them that a match or "
                                                                             "something else is waiting (with serve "
                                                                             "--notify smtp).")),
                           none: bool = typer.Option(False, "--none", help=_("Remove their address: the inbox file "
                                                                             "tells them instead.")),
                           data_dir: Path = DATA_DIR, as_json: bool = JSON) -> None:
    from consilience.operator.notify import set_counselor_address

    require_deployment(data_dir)
    if (email is None) == (not none):
        raise ConsilienceError(_("give either --email ADDRESS or --none"))
    address = None if none else email.strip()
    set_counselor_address(data_dir, name, address)
    emit({"name": name, "email": address}, as_json, lambda: console.print(untrusted(
        _("Counselor {name} will be told by mail at {address} (when the server runs with --notify smtp).",
          name=name, address=address)
        if address else _("Counselor {name} has no notification address now; their inbox file tells them.",
                          name=name))))


@app.command("refresh-keys",
             help=_("Ask the key servers for new shares of the same secrets (same tags, same matches); they run it "
                    "among themselves, and 'admin publish-keys' publishes the result."))
@handled
def admin_refresh_keys(data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.operator.key_changes import refresh_keys

    require_deployment(data_dir)
    d = refresh_keys(data_dir, secrets.passphrase(_("Admin passphrase"), env=passphrase_env))
    _asked(d, as_json)


#: A run of the key servers, as the sentences that ask for one name it.
_KIND_WORDS = {"generate": N_("a key generation"), "refresh": N_("a refresh"), "reshare": N_("a resharing")}


def _asked(d: Deployment, as_json: bool) -> None:
    change = d.key_change
    assert change is not None
    emit({"deployment_serial": d.serial, "epoch": change.epoch, "kind": change.kind,
          "key_servers": len(change.servers), "threshold": change.threshold}, as_json,
         lambda: console.print(_("Asked the key servers for {kind_words} at epoch {epoch} (deployment serial "
                                 "{serial}): {count} key servers, {threshold} needed. They run it by themselves; "
                                 "then run '{command} admin publish-keys'. Until it is published the keys in force "
                                 "stay in use.",
                                 kind_words=_(_KIND_WORDS[change.kind]), epoch=change.epoch, serial=d.serial,
                                 count=len(change.servers), threshold=change.threshold, command=command()),
                               markup=False, highlight=False,
                               soft_wrap=True))


@app.command("key-servers", help=_("Reshare the key servers' secrets to another set: add, remove or replace key "
                                   "servers, change the threshold. The key servers holding shares now deal them to the "
                                   "new set; nothing escrowed changes."))
@handled
def admin_key_servers(data_dir: Path = DATA_DIR,
                      add: list[Path] = typer.Option(None, "--add", help=_("An enrollment file of a key server to "
                                                                           "add (repeatable).")),
                      remove: list[int] = typer.Option(None, "--remove", help=_("A key server to remove "
                                                                                "(repeatable).")),
                      replace: list[str] = typer.Option(None, "--replace",
                                                        help=_("N=ENROLLMENT: put a new key server in place of key "
                                                               "server N, e.g. one rebuilt after it was lost.")),
                      threshold: int = typer.Option(None, "--threshold", help=_("How many key servers must answer.")),
                      passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.datadir.share_file import read_enrollment
    from consilience.operator.key_changes import change_key_servers

    require_deployment(data_dir)
    replacing = {}
    for item in replace or []:
        index, sep, path = item.partition("=")
        if not sep or not index.strip().isdigit():
            raise InvalidInput(_("--replace takes N=ENROLLMENT_FILE, e.g. 2=keys-2/enrollment.json (got {item})",
                                 item=repr(item)))
        replacing[int(index)] = read_enrollment(Path(path))
    added = [read_enrollment(p) for p in add or []]
    d = change_key_servers(data_dir, secrets.passphrase(_("Admin passphrase"), env=passphrase_env), add=added,
                           remove=remove or [], replace_with=replacing, threshold=threshold)
    _asked(d, as_json)


@app.command("publish-keys", help=_("Publish the key servers' quorum keys: read their key generation from the escrow "
                                    "server's board, check every qualified key server confirmed it, and sign it into "
                                    "the deployment document."))
@handled
def admin_publish_keys(data_dir: Path = DATA_DIR,
                       epoch: int = typer.Option(None, help=_("The run's epoch; default the one the deployment "
                                                              "document asks for.")),
                       timeout: float = typer.Option(None, help=_("Seconds to wait for every key server's "
                                                                  "confirmation (default 300).")),
                       passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.operator.quorum_keys import WAIT_SECONDS, Progress, publish_keys

    require_deployment(data_dir)
    secret = secrets.passphrase(_("Admin passphrase"), env=passphrase_env)

    def progress(seen: Progress) -> None:
        if not as_json:
            say(_("Waiting for the key servers: {describe}", describe=seen.describe()))

    d = publish_keys(data_dir, secret, epoch=epoch, timeout=WAIT_SECONDS if timeout is None else timeout,
                     progress=progress)
    keys = d.quorum_keys
    if keys is None:
        raise InvalidInput(_("the key servers have not finished their first key generation yet"))
    verb = {"generate": N_("generated"), "refresh": N_("refreshed"), "reshare": N_("reshared")}[keys.kind]
    emit({"deployment_serial": d.serial, "epoch": keys.epoch, "kind": keys.kind, "qualified": list(keys.qualified),
          "quorum_range": [d.quorum, d.max_quorum]}, as_json,
         lambda: console.print(_("Quorum keys of epoch {epoch} published (deployment serial {serial}): key servers "
                                 "{qualified} {verb} them and each confirmed the same result. The deployment "
                                 "accepts entries.", epoch=keys.epoch, serial=d.serial,
                                 qualified=', '.join(map(str, keys.qualified)), verb=_(verb)),
                               markup=False, highlight=False, soft_wrap=True))


@app.command("restart-keygen", help=_("Ask every key server, in a new deployment document, for the run that failed "
                                      "again at the next epoch (a failed run is never repeated on its own). Key "
                                      "servers anywhere start within seconds."))
@handled
def admin_restart_keygen(data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.operator.quorum_keys import restart_keygen

    require_deployment(data_dir)
    d = restart_keygen(data_dir, secrets.passphrase(_("Admin passphrase"), env=passphrase_env))
    _asked(d, as_json)


@app.command("status", help=_("Counts of accounts, entries and matches (no content)."))
@handled
def admin_status(data_dir: Path = DATA_DIR, as_json: bool = JSON) -> None:
    from consilience.operator.deployment import admin_fingerprint, status
    from consilience.protocol.encoding import b64u_encode

    require_deployment(data_dir)

    data = status(data_dir)
    fingerprint = b64u_encode(admin_fingerprint(data_dir))
    data["admin_fingerprint"] = fingerprint

    def show() -> None:
        entries = data["entries"]
        counselors = ", ".join(data["counselors"]) or _("none yet (add one with 'admin counselor add')")
        for line in (
            _("Deployment serial {serial}: quorum {quorum} (a reporter may ask for up to {max_quorum}), {threshold} "
              "of {key_servers} key servers needed", serial=data["deployment_serial"], quorum=data["quorum"],
              max_quorum=data["max_quorum"], threshold=data["threshold"], key_servers=data["key_servers"]),
            _("Counselors: {counselors}", counselors=counselors),
            _("Accounts: {reporters} reporters, {counselors} counselors; {invites} invites not used yet",
              reporters=data["reporter_accounts"], counselors=data["counselor_accounts"],
              invites=data["open_invites"]),
            _("Entries: {escrowed} in escrow, {released} released, {withdrawn} withdrawn; matches: {matches}",
              escrowed=entries["escrowed"], released=entries["released"], withdrawn=entries["withdrawn"],
              matches=data["matches"]),
            _("Administrator's fingerprint: {fingerprint} (witnesses and key-server operators check the deployment "
              "document against it)", fingerprint=fingerprint),
            quorum_keys_line(data["quorum_keys"]),
            *key_change_line(data["key_change"]),
        ):
            console.print(line, markup=False, highlight=False)

    emit(data, as_json, show)


def quorum_keys_line(keys: object) -> str:
    if isinstance(keys, dict):
        verb = {"generate": N_("generated"), "refresh": N_("last refreshed"),
                "reshare": N_("last reshared")}[str(keys["kind"])]
        return _("Quorum keys: epoch {epoch}, {verb} by key servers {servers}; the deployment accepts entries",
                 epoch=keys["epoch"], verb=_(verb), servers=", ".join(map(str, keys["qualified"])))
    return _("Quorum keys: not published yet; entries cannot be put in escrow until the key servers finish their key "
             "generation and '{command} admin publish-keys' publishes it", command=command())


def key_change_line(change: object) -> list[str]:
    if not isinstance(change, dict):
        return []
    what = _KIND_WORDS[str(change["kind"])]
    return [_("Asked of the key servers: {what} at epoch {epoch} ({threshold} of {key_servers}); once their logs "
              "say it is done, run '{command} admin publish-keys'", what=_(what), epoch=change["epoch"],
              threshold=change["threshold"], key_servers=change["key_servers"], command=command())]


@witness_admin.command("add", help=_("List a witness in the deployment so its cosignatures are accepted."))
@handled
def admin_witness_add(vkey: str = typer.Argument(..., help=_("The witness's verifier key.")),
                      data_dir: Path = DATA_DIR, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.operator.witnesses import add_witness

    require_deployment(data_dir)

    d = add_witness(data_dir, vkey, secrets.passphrase(_("Admin passphrase"), env=passphrase_env))
    emit({"witnesses": list(d.witnesses), "deployment_serial": d.serial}, as_json,
         lambda: console.print(_("Witness added (deployment serial {serial}).", serial=d.serial)))
