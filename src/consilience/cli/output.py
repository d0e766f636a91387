"""One way to print results: rich for people, a single JSON object with --json.

Errors go to stderr in both modes with a non-zero exit code, so scripts can
rely on stdout holding exactly one JSON document.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


def emit(data: Any, as_json: bool, render: Callable[[], None] | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    elif render is not None:
        render()
    else:
        console.print(data)


def fail(message: str, as_json: bool, code: int = 1) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"error": message}) + "\n")
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
