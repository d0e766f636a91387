"""`consilience web …`: check the web app a server hands out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from consilience.cli.common import JSON, handled
from consilience.cli.output import console, emit, fail

if TYPE_CHECKING:
    from consilience.clients.webcheck import WebCheck

app = typer.Typer(no_args_is_help=True, help="Check the web app a server hands out.")


def _render_check(result: WebCheck) -> None:
    for path in result.checked:
        if path in result.mismatched:
            console.print(f"[red]differs[/] {escape(path)}: {escape(result.mismatched[path])}")
        else:
            console.print(f"[green]same[/]    {escape(path)}")


@app.command("verify")
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
    if result.checked and all(why.startswith("unreachable") for why in result.mismatched.values()) \
            and len(result.mismatched) == len(result.checked):
        fail(f"Cannot reach the server at {server}. Check the address and your connection; nothing was compared.",
             as_json, fields={"status": 0, "code": "unreachable", "server": server})
    emit(result, as_json, lambda: _render_check(result))
    if not result.ok and as_json:
        raise typer.Exit(1)  # stdout already holds the one JSON document, with the differences
    if not result.ok:
        fail(f"{len(result.mismatched)} of {len(result.checked)} files differ from the build: this server does "
             "not hand out the web app of this release", as_json)
