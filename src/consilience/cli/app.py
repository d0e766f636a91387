"""The ``consilience`` command's entry point (``[project.scripts]``, ``python -m consilience``).

Typer reads every option's and command's help when the command tree is built, and the help is
read by people too; so the language is chosen first, from ``--language`` wherever it is on the
command line, else ``CONSILIENCE_LANGUAGE``, else the POSIX locale (``consilience.i18n``), and only
then is the tree (``cli/tree.py``) imported. ``app`` is the tree itself, built on first use, for
code that invokes it directly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from consilience import i18n

if TYPE_CHECKING:
    import typer

OPTION = "--language"


def startup_language(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """The tag a run speaks: the last ``--language`` before ``--``, else the environment's.

    The tag keeps its region (``ar-EG``, or LANG's ``es_MX`` under ``--language es``), which numbers
    and dates are written for; the words are the language's one catalog (``consilience.i18n``).
    """
    chosen = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == OPTION and i + 1 < len(argv):
            chosen = argv[i + 1]
        elif arg.startswith(OPTION + "="):
            chosen = arg.partition("=")[2]
    return i18n.with_region(chosen, env) if chosen else i18n.environment_tag(env)


def main() -> None:
    i18n.set_language(startup_language(sys.argv[1:], os.environ))
    from consilience.cli.tree import app

    app()


def __getattr__(name: str) -> Any:
    if name == "app":
        from consilience.cli.tree import app

        return app
    raise AttributeError(name)


if TYPE_CHECKING:
    app: typer.Typer
