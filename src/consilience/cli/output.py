"""One way to print results: rich for people, a single JSON object with --json.

Errors go to stderr in both modes with a non-zero exit code, so scripts can
rely on stdout holding exactly one JSON document. A command hands ``emit`` the
typed result of its activity (anything with ``to_json()``, see
``consilience.clients.results``) or, for a flat answer, a plain mapping.

On a terminal, rich fits the output to the window and colours it. Anywhere
else (a pipe, a file, a log) nothing is wrapped, cut or coloured: a path, an id
or a message stays on one line, as typed, without ANSI codes, so it can be
copied, grepped or pasted back into a command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO

import typer
from rich.console import Console
from rich.markup import escape

from consilience.clients.results import Result

#: The width rich lays text out in when the output is not a terminal: wide enough that nothing wraps.
UNWRAPPED_WIDTH = 100_000


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def _console(stderr: bool) -> Console:
    if _is_terminal(sys.stderr if stderr else sys.stdout):
        return Console(stderr=stderr, highlight=False)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=UNWRAPPED_WIDTH, color_system=None,
                   force_terminal=False, emoji=False)


console = _console(stderr=False)
err_console = _console(stderr=True)


def on_terminal() -> bool:
    """Whether stdout is a terminal (rich fits and colours it) rather than a pipe or a file."""
    return console.is_terminal


def heading(text: str) -> None:
    """A section heading: a rule across a terminal; a plain line anywhere else (no 100,000 dashes)."""
    if on_terminal():
        console.rule(escape(text))
    else:
        console.print(f"── {escape(text)} ──")


def when(value: str | datetime | None) -> str:
    """A time as people read it, everywhere in the CLI's text output: local time, to the second, zone named.

    ``2026-03-01 18:04:05 CET``; a time without a zone is taken as UTC. Text that is not a time
    is shown as it is. The --json documents keep the full ISO 8601 value.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone()
    zone = local.strftime("%Z") or local.strftime("UTC%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {zone}"


def say(message: str) -> None:
    """A line for the person at the keyboard (prompts' companions, hints) on stderr, markup taken literally."""
    err_console.print(escape(message))


def emit(data: Result | Mapping[str, object], as_json: bool, render: Callable[[], None] | None = None) -> None:
    if as_json:
        doc = data.to_json() if isinstance(data, Result) else data
        sys.stdout.write(json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n")
    elif render is not None:
        render()
    else:
        console.print(data)


def fail(message: str, as_json: bool, code: int = 1, fields: Mapping[str, object] | None = None) -> None:
    """Say what went wrong and exit. With --json, stdout holds ``{"error": message, **fields}``."""
    if as_json:
        sys.stdout.write(json.dumps({"error": message, **(fields or {})}, ensure_ascii=False) + "\n")
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)
