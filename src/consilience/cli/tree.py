"""The ``consilience`` command's tree: the root and its groups, one module per group.

Each module parses its options and hands off to the SDK (``consilience.clients``), the operator
tooling or the services; none holds protocol logic. The help of every option and command is
translated when its module is imported, so ``cli/app.py`` chooses the language before it imports
this module; ``--language`` is declared here too, so that typer accepts it and so that a run that
never went through ``main`` (a test's CliRunner) still speaks the language it asks for.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import typer

from consilience.cli import account_deletion as _account_deletion  # noqa: F401  (adds 'reporter delete-account')
from consilience.cli import admin, builtin_words, counselor, log, reporter, servers, web, witness
from consilience.cli import cases as _cases  # noqa: F401  (adds its commands to counselor)
from consilience.cli import conversations as _conversations  # noqa: F401  (adds its commands to reporter, counselor)
from consilience.cli import corroboration as _corroboration  # adds 'counselor corroborate', 'reporter consent'
from consilience.cli import disclosure as _disclosure  # adds 'reporter disclose'
from consilience.cli import handover as _handover  # noqa: F401  (adds 'reporter readers', 'counselor handover')
from consilience.cli import notify as _notify  # noqa: F401  (adds 'reporter notify')
from consilience.cli import recovery as _recovery  # noqa: F401  (adds 'reporter recover', 'admin recovery-unlock')
from consilience.cli.common import JSON, handled
from consilience.cli.output import emit
from consilience.i18n import _, set_language, with_region

# typer's own words (usage, errors, the help's panels) in the language chosen (cli/builtin_words.py)
builtin_words.speak()

# Tracebacks never show local variables: they may hold passphrases, records or identifiers.
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
                  help=_("Consilience: records stay sealed until k independent reporters name the same person."))


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("consilience")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = _("unknown (not installed)")
        sys.stdout.write(_("consilience {number}\n", number=number))
        raise typer.Exit()


def _language(tag: str | None) -> None:
    if tag:
        set_language(with_region(tag))
        builtin_words.speak()


@app.callback(help=_("Consilience: records stay sealed until k independent reporters name the same person."))
@handled
def root(language: str = typer.Option(None, "--language", metavar="LANG", callback=_language, is_eager=True,
                                      expose_value=False,
                                      help=_("The language to speak: en, es or ar (es-MX and the like work too). "
                                             "Default: CONSILIENCE_LANGUAGE, else your locale (LANGUAGE, LC_ALL, "
                                             "LC_MESSAGES, LANG).")),
         show_version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                           help=_("Print the version and exit.")),
         ca_file: Path = typer.Option(None, "--ca-file",
                                      help=_("Also trust this CA certificate (PEM) when calling servers over HTTPS, "
                                             "for a deployment with a private CA (or set CONSILIENCE_CA_FILE); the "
                                             "system's CAs are trusted either way."))) -> None:
    if ca_file is not None:
        from consilience.clients import http

        http.use_ca_file(ca_file)


app.command(help=_("Run the escrow server, which also serves the web app (reporter at /, counselor at /counselor/).\n\n"
                   "With --json, stdout gets one line once the port is bound: {\"service\": \"escrow\", \"url\": …, "
                   "\"pid\": …, \"deployment_serial\": …, \"reporter_url\": …, \"counselor_url\": …}."))(servers.serve)
app.command(help=_("Run the transparency log's integrator alone, for escrow servers started with --no-integrator.\n"
                   "\nIt appends the events the servers sequenced to the log, in batches, and signs one checkpoint "
                   "per batch (PROTOCOL.md §11). Stop it with SIGTERM or Ctrl-C: the batch in progress is finished "
                   "first."))(servers.integrate)
app.command(help=_("Run a key server from its own folder (--folder), or key server INDEX of DATA_DIR on one "
                   "machine.\n\nOnce the port is bound it logs one line: which key server, where, the web origins "
                   "it allows. It follows the administrator-signed deployment document: it runs the key generation, "
                   "and every refresh and resharing the administrator asks for, with the other key servers over the "
                   "escrow server's board, saying what it does in its log. Until it holds shares it answers "
                   "evaluations with 503.\n\nWith --json, stdout also gets one line then: {\"service\": "
                   "\"keyserver\", \"index\": …, \"key_servers\": …, \"threshold\": …, \"url\": …, \"pid\": …, "
                   "\"web_origins\": […]}."))(servers.keyserver)
app.command("keyserver-init", help=_("Make a key server's keys in its own folder, and the enrollment file for the "
                                     "administrator.\n\nRun this on the key server's own machine. Its private keys "
                                     "never leave FOLDER; send FOLDER/enrollment.json to the administrator (nothing in "
                                     "it is secret)."))(servers.keyserver_init)
app.command("keyserver-join", help=_("Join a deployment: check its signed document against the administrator's "
                                     "fingerprint, remember it."))(servers.keyserver_join)
app.add_typer(admin.app, name="admin")
app.add_typer(reporter.app, name="reporter")
app.add_typer(counselor.app, name="counselor")
app.command(help=_("Check a receipt: exit 0 if valid, non-zero with the reason otherwise.\n\nThe log key comes from "
                   "the administrator-signed deployment document, checked against the administrator's fingerprint; "
                   "a log.vkey beside the receipt must be the same key. With the deployment.json kept beside the "
                   "receipt, no network is needed."))(log.verify)
app.command("verify-corroboration", help=_("Check a corroboration statement offline: exit 0 only if every check "
                                           "passes."))(_corroboration.verify_corroboration)
app.command("verify-disclosure", help=_("Check a disclosure offline: exit 0 only if every check "
                                        "passes."))(_disclosure.verify_disclosure)
app.add_typer(web.app, name="web")
app.add_typer(log.app, name="log")
app.add_typer(witness.app, name="witness")


@app.command(help=_("Run a whole deployment on loopback and show the quorum at work."))
@handled
def demo(as_json: bool = JSON,
         data_dir: Path = typer.Option(None, "--data-dir", help=_("Where to keep everything (default: a new "
                                                                  "temporary folder, left in place).")),
         quorum: int = typer.Option(3, help=_("Quorum for the demo.")),
         keep_running: bool = typer.Option(False, "--keep-running",
                                           help=_("Leave the servers running after the story and print the web "
                                                  "app's URLs, fresh invites and the counselor's key file; stop "
                                                  "with Ctrl-C (or SIGTERM)."))) -> None:
    from consilience.cli import demo as demo_mod

    def ready(result: Mapping[str, object]) -> None:
        emit(result, True)
        sys.stdout.flush()

    result = demo_mod.run(data_dir=data_dir, quorum=quorum, narrate=not as_json, keep_running=keep_running,
                          on_ready=ready if as_json else None)
    if as_json and not keep_running:
        emit(result, True)
