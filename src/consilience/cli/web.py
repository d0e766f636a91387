"""`consilience web …`: check the web app a server hands out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from consilience.cli.common import JSON, handled
from consilience.cli.output import console, emit, fail
from consilience.i18n import _

if TYPE_CHECKING:
    from consilience.clients.webcheck import WebCheck

app = typer.Typer(no_args_is_help=True, help=_("Check the web app a server hands out."))


def _render_check(result: WebCheck) -> None:
    for path in result.checked:
        if path in result.mismatched:
            console.print(_("[red]differs[/] {path}: {mismatched}",
                            path=escape(path), mismatched=escape(result.mismatched[path])))
        else:
            console.print(_("[green]same[/]    {path}", path=escape(path)))


@app.command("verify", help=_("Compare every file of the server's web app with a local build: exit 0 only if all are "
                              "identical."))
@handled
def web_verify(server: str = typer.Argument(..., help=_("Escrow server URL, e.g. https://escrow.example.org.")),
               build: Path = typer.Option(None, "--build",
                                          help=_("A build folder (node web/build.mjs --out DIR); default: the web "
                                                 "app built into this installation.")),
               as_json: bool = JSON) -> None:
    from consilience import web
    from consilience.clients import webcheck
    from consilience.clients.http import client as http_client

    expected = webcheck.load_manifest(build if build is not None else web.STATIC_DIR)
    with http_client(base_url=server.rstrip("/"), timeout=30.0) as http:
        result = webcheck.verify(http, expected)
    if result.checked and all(why.startswith("unreachable") for why in result.mismatched.values()) \
            and len(result.mismatched) == len(result.checked):
        fail(_("Cannot reach the server at {server}. Check the address and your connection; nothing was compared.",
               server=server),
             as_json, fields={"status": 0, "code": "unreachable", "server": server})
    emit(result, as_json, lambda: _render_check(result))
    if not result.ok and as_json:
        raise typer.Exit(1)  # stdout already holds the one JSON document, with the differences
    if not result.ok:
        fail(_("{count} of {count2} files differ from the build: this server does not hand out the web app of this "
               "release", count=len(result.mismatched), count2=len(result.checked)), as_json)
