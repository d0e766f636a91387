"""The built web app (reporter and counselor pages), served by the escrow server.

The files under ``static/`` are build output of ``node web/build.mjs`` (see
``scripts/build-web``); they are not in git but ship inside the package (package data).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from consilience.errors import InvalidInput

STATIC_DIR = Path(__file__).resolve().parent / "static"

BUILD_HINT = (
    "The web app has not been built. Build it with ./scripts/build-web "
    "(needs Node.js 20 and npm; Debian: apt-get install nodejs npm), "
    "or run ./scripts/bootstrap.sh, which builds it when Node.js is present."
)


def static_dir() -> Path:
    """Folder of the built web app (it may not exist): $CONSILIENCE_WEB_STATIC, else the package's.

    The variable lets tests serve a build of their own (``node web/build.mjs --out DIR``).
    """
    override = os.environ.get("CONSILIENCE_WEB_STATIC")
    return Path(override).resolve() if override else STATIC_DIR


def is_built(folder: Path | None = None) -> bool:
    """True when the folder holds a finished build (build.mjs writes manifest.json last)."""
    folder = static_dir() if folder is None else folder
    return (folder / "manifest.json").is_file() and (folder / "index.html").is_file()


def origin_of(url: str) -> str:
    """scheme://host[:port] of an http(s) URL, lower-cased, as CSP sources and CORS origins are written."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}".lower()


def parse_origin(text: str) -> str:
    """A web origin an operator typed (``https://escrow.example.org``); nothing after the host[:port]."""
    parts = urlsplit(text.strip())
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise InvalidInput(f"a web origin is scheme://host[:port] with nothing after it, not {text!r}")
    try:
        if parts.port == 0:
            raise ValueError
    except ValueError as exc:
        raise InvalidInput(f"bad port in web origin {text!r}") from exc
    return origin_of(text.strip())
