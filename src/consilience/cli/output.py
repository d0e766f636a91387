"""One way to print results: rich for people, a single JSON object with --json.

Errors go to stderr in both modes with a non-zero exit code, so scripts can
rely on stdout holding exactly one JSON document. A command hands ``emit`` the
typed result of its activity (anything with ``to_json()``, see
``consilience.clients.results``) or, for a flat answer, a plain mapping.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping

import typer
from rich.console import Console

from consilience.clients.results import Result

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


def emit(data: Result | Mapping[str, object], as_json: bool, render: Callable[[], None] | None = None) -> None:
    if as_json:
        doc = data.to_json() if isinstance(data, Result) else data
        sys.stdout.write(json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n")
    elif render is not None:
        render()
    else:
        console.print(data)


def fail(message: str, as_json: bool, code: int = 1) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"error": message}) + "\n")
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
