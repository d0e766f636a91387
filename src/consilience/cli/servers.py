"""`consilience serve`, `consilience integrate` and `consilience keyserver`: run the services.

Each command checks that the data folder holds what it serves (before anything is created in
it), parses its options and hands off to the service's ``server.run``; defaults (ports, where
files are) come from ``datadir``. Logs go to stderr; with --json stdout holds one JSON line,
printed once the server listens.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from consilience.cli.admin import require_deployment
from consilience.cli.common import DATA_DIR, handled
from consilience.cli.output import console as out
from consilience.cli.output import emit
from consilience.datadir import DataDir, defaults
from consilience.datadir.layout import shown
from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.local.command import command

if TYPE_CHECKING:
    from consilience.services.serving import TLSFiles

READY_JSON = typer.Option(False, "--json",
                          help=_("Once the server listens, print one JSON line on stdout (service, url, pid, …) "
                                 "for a script to wait for; errors are one {\"error\": …} line. Logs stay on "
                                 "stderr either way."))


TLS_CERT = typer.Option(None, "--tls-cert", envvar="CONSILIENCE_TLS_CERT", show_envvar=True,
                        help=_("Serve HTTPS with this certificate (PEM: the server's certificate, then any "
                               "intermediates); needs --tls-key. Without both, plain HTTP: off loopback, put a "
                               "reverse proxy that terminates TLS in front."))
TLS_KEY = typer.Option(None, "--tls-key", envvar="CONSILIENCE_TLS_KEY", show_envvar=True,
                       help=_("The private key of --tls-cert (PEM, no passphrase, readable only by this user)."))


def tls_settings(cert: Path | None, key: Path | None) -> TLSFiles | None:
    """--tls-cert and --tls-key, both or neither; the server checks the files before it builds anything."""
    from consilience.services.serving import tls_files

    return tls_files(cert, key)


def ready_line(doc: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


@handled
def serve(data_dir: Path = DATA_DIR, host: str = typer.Option(defaults.HOST, help=_("Address to bind.")),
          port: int = typer.Option(defaults.ESCROW_PORT, help=_("Port to bind.")),
          database_url: str = typer.Option(None, "--database-url", envvar="CONSILIENCE_DATABASE_URL",
                                           help=_("SQLAlchemy URL; default SQLite in DATA_DIR/escrow.")),
          trusted_proxy: list[str] = typer.Option(None, "--trusted-proxy",
                                                  help=_("Address of a reverse proxy in front of this server, "
                                                         "whose X-Forwarded-For is believed (repeatable; by "
                                                         "default the header is ignored).")),
          workers: int = typer.Option(1, "--workers", min=1, envvar="CONSILIENCE_WORKERS",
                                      help=_("Serve from this many processes on one port (PostgreSQL only: they "
                                             "share budgets and the release pass through the database).")),
          notify: str = typer.Option(None, "--notify", envvar="CONSILIENCE_NOTIFIER",
                                     help=_("How people are told of matches and that something is waiting: inbox "
                                            "(a file per counselor in DATA_DIR/escrow/inbox; the default) or smtp "
                                            "(mail, through the server CONSILIENCE_SMTP_HOST and the other "
                                            "CONSILIENCE_SMTP_* settings; see the README).")),
          exit_url: str = typer.Option(None, "--exit-url", envvar="CONSILIENCE_EXIT_URL",
                                       help=_("The page the web app's 'Leave quickly' opens (default "
                                              "https://www.bbc.com/weather). The time before the app locks itself "
                                              "is CONSILIENCE_AUTO_LOCK_SECONDS (default 300).")),
          no_integrator: bool = typer.Option(False, "--no-integrator",
                                             help=_("Leave the log's integration to a separate 'integrate' process "
                                                    "on the same database (workers beside it).")),
          tls_cert: Path = TLS_CERT, tls_key: Path = TLS_KEY, as_json: bool = READY_JSON) -> None:
    from consilience.services.escrow import server
    from consilience.services.escrow.settings import Settings, smtp_from_env

    require_deployment(data_dir)
    tls = tls_settings(tls_cert, tls_key)
    server.run(Settings.for_data_dir(DataDir(data_dir).escrow.root, database_url=database_url, tls=tls,
                                     notifier=notify or None, smtp=smtp_from_env(), exit_url=exit_url or None,
                                     integrator=False if no_integrator else None),
               host=host, port=port, on_ready=(lambda ready: ready_line(ready.to_json())) if as_json else None,
               trusted_proxies=tuple(trusted_proxy or ()), workers=workers)


@handled
def integrate(data_dir: Path = DATA_DIR,
              database_url: str = typer.Option(None, "--database-url",
                                               help=_("SQLAlchemy URL; default SQLite in DATA_DIR/escrow.")),
              interval: float = typer.Option(None, "--interval", envvar="CONSILIENCE_INTEGRATE_INTERVAL",
                                             help=_("Longest wait in seconds between two integrations (default 1).")),
              batch: int = typer.Option(None, "--batch", envvar="CONSILIENCE_INTEGRATE_BATCH",
                                        help=_("Most events appended, under one signed checkpoint, per integration "
                                               "(default 1024)."))) -> None:
    from consilience.services.escrow.integrator import run_alone
    from consilience.services.escrow.settings import Settings

    require_deployment(data_dir)
    run_alone(Settings.for_data_dir(DataDir(data_dir).escrow.root, database_url=database_url,
                                    integrate_interval=interval, integrate_batch=batch))


@handled
def keyserver(index: int = typer.Option(None, help=_("On one machine: which key server of DATA_DIR (1..n).")),
              folder: Path = typer.Option(None, "--folder",
                                          help=_("This key server's own folder (its operator's machine), as "
                                                 "'keyserver-init' made it; instead of --index.")),
              data_dir: Path = DATA_DIR,
              host: str = typer.Option(defaults.HOST, help=_("Address to bind.")),
              port: int = typer.Option(None, help=_("Port to bind; default {escrow_port} + index.",
                                                    escrow_port=defaults.ESCROW_PORT)),
              rate_per_hour: float = typer.Option(None, "--rate-per-hour",
                                                  help=_("Evaluations one account may ask for per hour (default "
                                                         "120).")),
              burst: float = typer.Option(None, "--burst",
                                          help=_("Evaluations one account may ask for at once (default 60).")),
              address_rate_per_hour: float = typer.Option(None, "--address-rate-per-hour",
                                                          help=_("Evaluations one client address may ask for per "
                                                                 "hour (default 2000).")),
              address_burst: float = typer.Option(None, "--address-burst",
                                                  help=_("Evaluations one client address may ask for at once "
                                                         "(default 500).")),
              total_rate_per_hour: float = typer.Option(None, "--total-rate-per-hour",
                                                        help=_("Evaluations this key server answers per hour in "
                                                               "all, whoever asks (default 20000); a warning is "
                                                               "logged at 80 %.")),
              total_burst: float = typer.Option(None, "--total-burst",
                                                help=_("Evaluations this key server answers at once in all "
                                                       "(default 5000).")),
              trusted_proxy: list[str] = typer.Option(None, "--trusted-proxy",
                                                      help=_("Address of a reverse proxy in front of this key "
                                                             "server whose X-Forwarded-For is believed; "
                                                             "repeatable. Default: none, the connection's own "
                                                             "address is the client's.")),
              escrow_url: str = typer.Option(None, "--escrow-url",
                                             help=_("The escrow server, which publishes the deployment document "
                                                    "and relays the key generation; default the one in the key "
                                                    "server's keyserver.json.")),
              keygen_round_seconds: float = typer.Option(None, "--keygen-round-seconds",
                                                         help=_("Seconds of one key-generation round (default 20).")),
              keygen_deal_timeout: float = typer.Option(None, "--keygen-deal-timeout",
                                                        help=_("Seconds to wait for every key server's deal before "
                                                               "going on without the missing ones (default 3600).")),
              web_origin: list[str] = typer.Option(None, "--web-origin",
                                                   help=_("Origin of a web app allowed to call this server from a "
                                                          "browser (CORS), e.g. {escrow_url}; repeatable. Default: "
                                                          "those in DATA_DIR/keyserver-INDEX/web-origins.json "
                                                          "(admin init writes the escrow server's, on loopback as "
                                                          "both 127.0.0.1 and localhost).",
                                                          escrow_url=defaults.ESCROW_URL)),
              tls_cert: Path = TLS_CERT, tls_key: Path = TLS_KEY,
              ca_file: Path = typer.Option(None, "--ca-file", envvar="CONSILIENCE_CA_FILE", show_envvar=True,
                                           help=_("Also trust this CA certificate (PEM) when calling the escrow "
                                                  "server over HTTPS, for a deployment with a private CA; the "
                                                  "system's CAs are trusted either way.")),
              as_json: bool = READY_JSON) -> None:
    from consilience.clients import http
    from consilience.services.keyserver import server
    from consilience.services.keyserver.limits import limits_with
    from consilience.services.keyserver.settings import KeygenSettings, Settings

    if (index is None) == (folder is None):
        raise InvalidInput(_("say which key server to run: --folder for its own folder, or --index N for key "
                             "server N of a data folder on one machine"))
    where = DataDir(data_dir).keyserver(index).root if index is not None else folder
    member = (where / "keyserver.json")
    if not member.is_file():
        if index is not None and not DataDir(data_dir).holds_deployment:
            require_deployment(data_dir)
        raise InvalidInput(_("{where} has not joined a deployment ({name} is missing). On its operator's machine: "
                             "`{command} keyserver-join --folder {where} --escrow-url URL --admin-fingerprint FP`; "
                             "on one machine check --index and --data-dir.",
                             where=shown(where), name=member.name, command=command()))
    tls = tls_settings(tls_cert, tls_key)
    http.use_ca_file(ca_file)
    limits = limits_with(per_account_per_hour=rate_per_hour, per_account_burst=burst,
                         per_address_per_hour=address_rate_per_hour, per_address_burst=address_burst,
                         total_per_hour=total_rate_per_hour, total_burst=total_burst)
    default = KeygenSettings()
    keygen = KeygenSettings(
        round_seconds=default.round_seconds if keygen_round_seconds is None else keygen_round_seconds,
        deal_timeout_seconds=default.deal_timeout_seconds if keygen_deal_timeout is None else keygen_deal_timeout)
    if index is not None:
        settings = Settings.for_data_dir(data_dir, index, web_origins=web_origin, limits=limits,
                                         trusted_proxies=trusted_proxy or (), escrow_url=escrow_url, keygen=keygen,
                                         tls=tls)
    else:
        settings = Settings.for_folder(folder, web_origins=web_origin, limits=limits,
                                       trusted_proxies=tuple(trusted_proxy or ()), escrow_url=escrow_url,
                                       keygen=keygen, tls=tls)
    server.run(settings,
               host=host, port=port, on_ready=(lambda ready: ready_line(ready.to_json())) if as_json else None)


@handled
def keyserver_init(folder: Path = typer.Option(..., "--folder", help=_("The key server's own folder (new).")),
                   url: str = typer.Option(..., "--url", help=_("The https:// address other machines reach it at.")),
                   as_json: bool = typer.Option(False, "--json", help=_("Print the result as JSON."))) -> None:
    from consilience.operator.keyserver import folder_at, init_keyserver

    e = init_keyserver(folder_at(folder), url)
    target = folder_at(folder).enrollment
    if as_json:
        emit({"folder": str(folder), "enrollment": str(target), "url": e.url}, True)
        return
    out.print(_("Keys made in {folder}. Send {target} to the administrator; nothing in it is secret. Once they "
                "have added this key server, run `{command} keyserver-join --folder {folder} --escrow-url URL "
                "--admin-fingerprint FP` with what they tell you.",
                folder=shown(folder), target=shown(target), command=command()),
                    markup=False, highlight=False, soft_wrap=True)


@handled
def keyserver_join(folder: Path = typer.Option(..., "--folder", help=_("The key server's own folder.")),
                   escrow_url: str = typer.Option(..., "--escrow-url", help=_("The escrow server's address.")),
                   admin_fingerprint: str = typer.Option(..., "--admin-fingerprint",
                                                         help=_("The administrator's fingerprint, as they gave it.")),
                   as_json: bool = typer.Option(False, "--json", help=_("Print the result as JSON."))) -> None:
    from consilience.operator.keyserver import folder_at, join

    joined = join(folder_at(folder), escrow_url, admin_fingerprint)
    if as_json:
        emit({"folder": str(folder), "listed": joined.listed_as, "serial": joined.deployment.serial}, True)
        return
    state = (_("it is one of the key servers in force") if joined.listed_as == "in force" else
             _("the administrator has asked for it to join; it receives its shares from the others"))
    out.print(_("Joined: {state}. Start it with `{command} keyserver --folder {folder}`.",
                state=state, command=command(), folder=shown(folder)),
                    markup=False, highlight=False, soft_wrap=True)
