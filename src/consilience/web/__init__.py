"""The built web app (reporter and counselor pages), served by the escrow server.

The files under ``static/`` are build output of ``node web/build.mjs`` (see
``scripts/build-web``); they are not in git but ship inside the package (package data).
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"

BUILD_HINT = (
    "The web app has not been built. Build it with ./scripts/build-web "
    "(needs Node.js 20 and npm; Debian: apt-get install nodejs npm), "
    "or run ./scripts/bootstrap.sh, which builds it when Node.js is present."
)


def static_dir() -> Path:
    """Folder of the built web app (it may not exist)."""
    return STATIC_DIR


def is_built(folder: Path | None = None) -> bool:
    """True when the folder holds a finished build (build.mjs writes manifest.json last)."""
    folder = STATIC_DIR if folder is None else folder
    return (folder / "manifest.json").is_file() and (folder / "index.html").is_file()
