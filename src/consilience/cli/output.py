"""One way to print results: rich for people, a single JSON object with --json.

Errors go to stderr in both modes with a non-zero exit code, so scripts can
rely on stdout holding exactly one JSON document. A command hands ``emit`` the
typed result of its activity (anything with ``to_json()``, see
``consilience.clients.results``) or, for a flat answer, a plain mapping.

On a terminal, rich fits the output to the window and colours it. Anywhere
else (a pipe, a file, a log) nothing is wrapped, cut or coloured: a path, an id
or a message stays on one line, as typed, without ANSI codes, so it can be
copied, grepped or pasted back into a command.

Text someone else wrote (a reporter's record, contact, names, attachment names, anything decrypted
from an entry) is printed through :func:`untrusted`: never read as markup, and with every character a
terminal would act on (C0 and C1 controls, ESC, DEL, the bidirectional overrides) shown as an escape
such as ``\\x1b`` or ``\\u202e``. The --json document keeps such text exactly, with those characters
written as JSON escapes so that it, too, can be shown on a terminal.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO

import typer
from rich.console import Console
from rich.text import Text

from consilience import i18n
from consilience.clients.results import Result
from consilience.i18n import _

#: The width rich lays text out in when the output is not a terminal: wide enough that nothing wraps.
UNWRAPPED_WIDTH = 100_000


#: Characters a terminal acts on rather than shows: C0, DEL, C1, and the
#: bidirectional embeddings, overrides and isolates (U+202A-202E, U+2066-2069), which reorder what follows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: The same characters apart from C0, which json.dumps already escapes (--json keeps the text exact).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, multiline: bool = False) -> str:
    """``text`` with every character a terminal would act on shown as an escape (``\\x1b``, ``\\u202e``).

    Newlines and tabs are escaped too unless ``multiline``: a record's text keeps its lines and tabs;
    a contact, a name or a file name is shown on one line, as it is.
    """
    return (_CONTROL_BUT_LINES if multiline else _CONTROL).sub(_escaped, text)


def untrusted(text: str, *, multiline: bool = False, style: str = "") -> Text:
    """Text someone else wrote, ready for ``console.print`` or a table cell: :func:`visible`, markup off."""
    return Text(visible(text, multiline=multiline), style=style)


def labelled(label: str, text: str, *, multiline: bool = False) -> Text:
    """``label: text``, the label in bold, the text :func:`untrusted`."""
    return Text.assemble((f"{label}: ", "bold"), untrusted(text, multiline=multiline))


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


def heading(text: str | Text) -> None:
    """A section heading: a rule across a terminal; a plain line anywhere else (no 100,000 dashes).

    A ``str`` is taken literally; a :class:`Text` (e.g. from :func:`untrusted`) as it is.
    """
    title = text if isinstance(text, Text) else Text(text)
    if on_terminal():
        console.rule(title)
    else:
        console.print(Text.assemble("── ", title, " ──"))


def when(value: str | datetime | None) -> str:
    """A time as people read it, everywhere in the CLI's text output: local time, to the second, zone named.

    ``2026-03-01 18:04:05 CET`` in English; in another language the locale's own medium form (its
    month names, digits and order, through ``consilience.i18n``), the zone named the same way. A
    time without a zone is taken as UTC. Text that is not a time is shown as it is. The --json
    documents keep the full ISO 8601 value.
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
    if i18n.language() == i18n.DEFAULT:
        return f"{local:%Y-%m-%d %H:%M:%S} {zone}"
    return f"{i18n.format_datetime(local)} {zone}"


def say(message: str) -> None:
    """A line for the person at the keyboard (prompts' companions, hints) on stderr, markup taken literally."""
    err_console.print(untrusted(message, multiline=True))


def emit(data: Result | Mapping[str, object], as_json: bool, render: Callable[[], None] | None = None) -> None:
    if as_json:
        doc = data.to_json() if isinstance(data, Result) else data
        sys.stdout.write(_json(doc, indent=2) + "\n")
    elif render is not None:
        render()
    else:
        console.print(data)


def _json(doc: object, indent: int | None = None) -> str:
    """JSON as people can read it (not ASCII-only), but with nothing a terminal acts on left raw."""
    text = json.dumps(doc, indent=indent, default=str, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def fail(message: str, as_json: bool, code: int = 1, fields: Mapping[str, object] | None = None) -> None:
    """Say what went wrong and exit. With --json, stdout holds ``{"error": message, **fields}``."""
    if as_json:
        sys.stdout.write(_json({"error": message, **(fields or {})}) + "\n")
    err_console.print(Text.assemble((_("error:"), "bold red"), " ", untrusted(message, multiline=True)))
    raise typer.Exit(code)
