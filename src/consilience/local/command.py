"""How the person at this terminal runs ``consilience``: the words every printed hint starts with.

``./scripts/demo`` and ``./scripts/test`` install the command into ``.venv/bin/``, which is not
on anyone's PATH, so a hint that says ``consilience verify …`` would answer "command not found".
``command()`` names the program that is running now, as it can be typed from the current folder:
``consilience`` when that name on PATH is this very program, else its path (``.venv/bin/consilience``
from the repository, an absolute path from elsewhere), else ``python -m consilience`` with this
interpreter.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

NAME = "consilience"


def command(argv0: str | None = None, *, cwd: Path | None = None) -> str:
    """The shell words that run the ``consilience`` program this process is, from ``cwd``."""
    argv0 = sys.argv[0] if argv0 is None and sys.argv else (argv0 or "")
    here = Path.cwd() if cwd is None else cwd
    script = Path(argv0) if argv0 and Path(argv0).name == NAME else None
    if script is None:  # python -m consilience (argv[0] is .../consilience/__main__.py), or embedded
        beside = Path(sys.executable).parent / NAME
        script = beside if beside.is_file() else None
    on_path = shutil.which(NAME)
    if script is not None and on_path and _same(on_path, here / script):
        return NAME
    if script is not None and (here / script).is_file():
        return shlex.quote(typable(here / script, here))
    return f"{shlex.quote(typable(Path(sys.executable), here))} -m {NAME}"


def typable(path: Path, cwd: Path) -> str:
    """``path`` as a person types it to run it: relative to ``cwd`` when inside it, else absolute.

    Never resolves symlinks (a virtual environment's python is one, and must stay the venv's).
    """
    absolute = os.path.abspath(cwd / path)
    inside = os.path.relpath(absolute, os.path.abspath(cwd))
    if inside.startswith(os.pardir):
        return absolute
    return inside if os.sep in inside else os.path.join(os.curdir, inside)


def _same(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
