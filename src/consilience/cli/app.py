"""The ``consilience`` command: the root and its groups, one module per group.

Each module parses its options and hands off to the SDK (``consilience.clients``), the operator
tooling or the services; none holds protocol logic.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import typer

from consilience.cli import account_deletion as _account_deletion  # noqa: F401  (adds 'reporter delete-account')
from consilience.cli import admin, counselor, log, reporter, servers, web, witness
from consilience.cli import cases as _cases  # noqa: F401  (adds its commands to counselor)
from consilience.cli import conversations as _conversations  # noqa: F401  (adds its commands to reporter, counselor)
from consilience.cli import corroboration as _corroboration  # adds 'counselor corroborate', 'reporter consent'
from consilience.cli import disclosure as _disclosure  # adds 'reporter disclose'
from consilience.cli import handover as _handover  # noqa: F401  (adds 'reporter readers', 'counselor handover')
from consilience.cli import notify as _notify  # noqa: F401  (adds 'reporter notify')
from consilience.cli import recovery as _recovery  # noqa: F401  (adds 'reporter recover', 'admin recovery-unlock')
from consilience.cli.common import JSON, handled
from consilience.cli.output import emit

# Tracebacks never show local variables: they may hold passphrases, records or identifiers.
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
                  help="Consilience: records stay sealed until k independent reporters name the same person.")


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("consilience")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "unknown (not installed)"
        sys.stdout.write(f"consilience {number}\n")
        raise typer.Exit()


@app.callback()
@handled
def root(show_version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                           help="Print the version and exit."),
         ca_file: Path = typer.Option(None, "--ca-file",
                                      help="Also trust this CA certificate (PEM) when calling servers over "
                                           "HTTPS, for a deployment with a private CA (or set "
                                           "CONSILIENCE_CA_FILE); the system's CAs are trusted either way.")) -> None:
    """Consilience: records stay sealed until k independent reporters name the same person."""
    if ca_file is not None:
        from consilience.clients import http

        http.use_ca_file(ca_file)


app.command()(servers.serve)
app.command()(servers.integrate)
app.command()(servers.keyserver)
app.command("keyserver-init")(servers.keyserver_init)
app.command("keyserver-join")(servers.keyserver_join)
app.add_typer(admin.app, name="admin")
app.add_typer(reporter.app, name="reporter")
app.add_typer(counselor.app, name="counselor")
app.command()(log.verify)
app.command("verify-corroboration")(_corroboration.verify_corroboration)
app.command("verify-disclosure")(_disclosure.verify_disclosure)
app.add_typer(web.app, name="web")
app.add_typer(log.app, name="log")
app.add_typer(witness.app, name="witness")


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

    def ready(result: Mapping[str, object]) -> None:
        emit(result, True)
        sys.stdout.flush()

    result = demo_mod.run(data_dir=data_dir, quorum=quorum, narrate=not as_json, keep_running=keep_running,
                          on_ready=ready if as_json else None)
    if as_json and not keep_running:
        emit(result, True)


def main() -> None:
    app()
