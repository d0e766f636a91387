"""The built web app (reporter and counselor pages), served by the escrow server.

The files under ``static/`` are build output of ``node web/build.mjs`` (see
``scripts/build-web``); they are not in git but ship inside the package (package data).
Its ``manifest.json`` lists every file with its SHA-256 (what ``consilience web verify`` compares and
the service worker keeps), and under ``languages`` each entry point's catalog file per language
(``i18n/<entry>.<lang>.<hash>.js``): a page loads only the one of the language it shows.
"""

from __future__ import annotations

import json
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


#: The pages' entry points (web/src/app/*.html load them): a page's words are its entry point's catalog.
PAGE_ENTRIES = {"index.html": "reporter.js", "counselor.html": "counselor.js", "safety.html": "safety-page.js",
                "verify.html": "verify.js"}


def catalog_files(folder: Path | None = None) -> dict[str, dict[str, str]]:
    """``{entry point: {language: catalog file}}`` of a finished build, from its manifest.

    Empty for a build without per-language files. Raises ``InvalidInput`` when the manifest is not
    readable or names a file it does not list.
    """
    folder = static_dir() if folder is None else folder
    path = folder / "manifest.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path} is not a readable manifest: {exc}") from exc
    languages = doc.get("languages", {}) if isinstance(doc, dict) else None
    files = doc.get("files", {}) if isinstance(doc, dict) else {}
    if not isinstance(languages, dict):
        raise InvalidInput(f"{path}: languages is not an object")
    out: dict[str, dict[str, str]] = {}
    for entry, by_language in languages.items():
        if not isinstance(by_language, dict) or not all(isinstance(f, str) and f in files
                                                        for f in by_language.values()):
            raise InvalidInput(f"{path}: the catalogs of {entry} are not files it lists")
        out[str(entry)] = {str(lang): str(file) for lang, file in by_language.items()}
    return out


def page_files(page: str, language: str, folder: Path | None = None) -> tuple[str, ...]:
    """The files a page of the build loads before a person can use it, in ``language``: the page, the
    style sheet, its entry point and that entry point's catalog of ``language`` (when the build has one)."""
    entry = PAGE_ENTRIES[page]
    catalog = catalog_files(folder).get(entry, {})
    if catalog and language not in catalog:
        raise InvalidInput(f"the build has no {language} catalog for {entry}")
    return (page, "app.css", entry, *([catalog[language]] if catalog else []))


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
