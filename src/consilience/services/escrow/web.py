"""The web app, served by the escrow server: the reporter app at ``/``, the counselor app at ``/counselor/``.

The files are the build output of ``node web/build.mjs`` (``consilience.web.static_dir()``);
the browser does all the cryptography, so this module only hands out static files, each with
a strict Content-Security-Policy: scripts, styles and workers from this origin only, no inline
code, no eval, and network access limited to this origin and the key servers named in the
current deployment document (the browser asks them for OPRF evaluations directly).

Page URLs and files:
- ``/``                  index.html      (reporter app)
- ``/counselor/``        counselor.html  (counselor app; ``/counselor`` redirects here)
- ``/favicon.ico``       assets/favicon.ico (what browsers ask for on every page, unasked)
- ``/safety.html``       safety.html     (staying safe with this app, PROTOCOL.md §14.2; as any other file)
- ``/app-config.json``   not a file: the operator's exit URL and auto-lock time (``page_settings``), which
  the pages fetch at start (they run no inline script, so the values come as data); never cached.
- ``/<file>``            any other built file (``/reporter.js``, ``/app.css``, ``/assets/...``);
  the same files answer under ``/counselor/<file>`` too, so relative references work on both pages.
Nothing under ``/v1/``, ``/v2/`` or ``/healthz`` is ever taken for a file: the API keeps its own answers.
Every one answers HEAD as it answers GET (``services.http_head``, installed by the app factory).
Pages, scripts and styles go gzip-compressed to a browser that accepts it (``COMPRESSED``): on a slow
phone network the first page's bytes are most of its wait. These are the build's static files, never an
answer carrying a secret, so compressing them opens nothing to BREACH-style guessing; the API's answers
are never compressed.

When the app was not built, every page answers 503 with how to build it, and the server logs
a warning once; the API works all the same.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from starlette.convertors import Convertor, register_url_convertor

from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.services.escrow import page_settings
from consilience.services.http_language import language_headers
from consilience.web import BUILD_HINT, is_built, static_dir
from consilience.web import origin_of as origin

log = logging.getLogger(__name__)

PAGES = {"": "index.html", "counselor/": "counselor.html"}
#: URL names served from another file of the build: the same bytes, type and caching as under
#: their own name (``consilience web verify`` checks that file where the manifest lists it).
ALIASES = {"favicon.ico": "assets/favicon.ico"}

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
}

#: What is worth compressing (text; images and fonts are compressed already), from this many bytes on.
COMPRESSED = frozenset({".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt", ".webmanifest"})
GZIP_MIN_BYTES = 1024
#: Compressed bodies by the SHA-256 of the file, each made once (a new build has new hashes; the cache is
#: emptied when it holds this many, a few builds' worth).
_GZIPPED: dict[str, bytes] = {}
_GZIPPED_MAX = 64


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header (RFC 9110 §12.5.3) allows gzip: named (or, if not named, ``*``)
    with a q-value above 0."""
    weights: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        name, *params = (part.strip() for part in item.split(";"))
        q = next((p[2:].strip() for p in params if p.startswith("q=")), "1")
        try:
            weights[name] = float(q)
        except ValueError:
            weights[name] = 0.0
    for name in ("gzip", "x-gzip", "*"):
        if name in weights:
            return weights[name] > 0
    return False


def gzipped(digest: str, data: bytes) -> bytes:
    """``data`` compressed, made once per file content (``mtime=0``: the same bytes every time)."""
    body = _GZIPPED.get(digest)
    if body is None:
        if len(_GZIPPED) >= _GZIPPED_MAX:
            _GZIPPED.clear()
        body = _GZIPPED[digest] = gzip.compress(data, compresslevel=9, mtime=0)
    return body


#: Features the app never uses; denied to the page and to anything it could embed.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "autoplay", "bluetooth", "camera", "display-capture", "encrypted-media",
    "geolocation", "gyroscope", "hid", "idle-detection", "magnetometer", "microphone", "midi",
    "payment", "publickey-credentials-get", "screen-wake-lock", "serial", "usb",
    "xr-spatial-tracking"))


class _WebFile(Convertor[str]):
    """A relative file path that is not the API's: no ``v1/`` or ``v2/`` prefix, no ``healthz``, no dot segments."""

    regex = r"(?!v[12]/)(?!v[12]$)(?!healthz$)(?!\.)(?!.*/\.)[A-Za-z0-9._\-/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("consilience_webfile", _WebFile())

_SAFE = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9._\-]*")


def content_security_policy(connect: list[str]) -> str:
    sources = " ".join(["'self'", *dict.fromkeys(connect)])
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        f"connect-src {sources}",
        "worker-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ])


def security_headers(connect: list[str], *, html: bool) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(connect),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        # Pages always come fresh (a new build, a new deployment's CSP); other files revalidate.
        "Cache-Control": "no-store" if html else "no-cache",
    }


def install(app: FastAPI, key_server_urls: Callable[[], list[str]], static: Path | None = None, *,
            page_config: dict[str, object] | None = None) -> None:
    """Add the web app's routes to ``app`` (after the API's, which keep precedence).

    ``key_server_urls`` returns the current deployment's key-server URLs (the CSP's connect-src);
    ``page_config`` is what ``/app-config.json`` answers (``page_settings.page_config``).
    """
    root = (static or static_dir()).resolve()
    warned = False

    def connect_sources() -> list[str]:
        sources = []
        for url in key_server_urls():
            try:
                sources.append(origin(url))
            except InvalidInput:
                log.warning("key server URL %r is not an http(s) URL; left out of the CSP", url)
        return sources

    def warn_unbuilt() -> None:
        nonlocal warned
        if not warned:
            warned = True
            log.warning("web app not built in %s: pages answer 503. %s", root, BUILD_HINT)

    def text(status: int, body: str, *, extra: dict[str, str] | None = None) -> Response:
        headers = security_headers(connect_sources(), html=True)
        headers.update(extra or {})
        return Response(body + "\n", status_code=status, media_type="text/plain; charset=utf-8", headers=headers)

    def serve(relative: str, request: Request) -> Response:
        if not is_built(root):
            warn_unbuilt()
            return text(503, BUILD_HINT, extra={"Retry-After": "60"})
        parts = ALIASES.get(relative, relative).split("/")
        if not all(_SAFE.fullmatch(p) for p in parts):
            return text(404, _("not found"), extra=language_headers())
        path = root.joinpath(*parts)
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return text(404, _("not found"), extra=language_headers())
        if not resolved.is_file() or not resolved.is_relative_to(root):
            return text(404, _("not found"), extra=language_headers())
        suffix = resolved.suffix.lower()
        content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
        html = suffix == ".html"
        headers = security_headers(connect_sources(), html=html)
        data = resolved.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        compress = suffix in COMPRESSED and len(data) >= GZIP_MIN_BYTES
        if compress:
            headers["Vary"] = "Accept-Encoding"
        compress = compress and accepts_gzip(request.headers.get("accept-encoding", ""))
        if not html:
            # "no-cache" means revalidate: with a validator a returning browser gets a 304 instead of
            # the whole bundle again (hundreds of KB, on what may be a survivor's slow phone). The
            # compressed body is another representation, so it has its own tag.
            headers["ETag"] = f'"{digest[:32]}{"-gzip" if compress else ""}"'
            if headers["ETag"] in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
                return Response(status_code=304, headers=headers)
        if compress:
            headers["Content-Encoding"] = "gzip"
            data = gzipped(digest, data)
        return Response(data, media_type=content_type, headers=headers)

    if not is_built(root):
        warn_unbuilt()

    @app.get("/app-config.json", include_in_schema=False)
    def app_config() -> Response:
        config = page_config if page_config is not None else page_settings.page_config(
            page_settings.DEFAULT_EXIT_URL, page_settings.DEFAULT_AUTO_LOCK_SECONDS)
        return Response(json.dumps(config), media_type="application/json",
                        headers=security_headers(connect_sources(), html=True))

    @app.get("/", include_in_schema=False)
    def reporter_page(request: Request) -> Response:
        return serve(PAGES[""], request)

    @app.get("/counselor", include_in_schema=False)
    def counselor_redirect() -> Response:
        return RedirectResponse("/counselor/", status_code=308)

    @app.get("/counselor/", include_in_schema=False)
    def counselor_page(request: Request) -> Response:
        return serve(PAGES["counselor/"], request)

    @app.get("/counselor/{name:consilience_webfile}", include_in_schema=False)
    def counselor_file(name: str, request: Request) -> Response:
        return serve(name, request)

    @app.get("/{name:consilience_webfile}", include_in_schema=False)
    def web_file(name: str, request: Request) -> Response:
        return serve(name, request)
