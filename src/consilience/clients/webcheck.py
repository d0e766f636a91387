"""Check that a server hands out exactly the web app this release builds.

The browser does all the cryptography, but it runs code the escrow server
sends. A server that changed that code could read what people type
(PROTOCOL.md §12). The build is reproducible (pinned npm lockfile, esbuild,
no timestamps), so anyone can build the release, then compare the server's
files to the build's manifest with ``consilience web verify``. This proves
what the server sent *to this check*; a server that targets one person's
browser is not caught by someone else's check, which is why the protocol
document says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from consilience.clients.http import UntrustedCertificate
from consilience.clients.results import JsonObject
from consilience.errors import InvalidInput, VerificationError
from consilience.i18n import _

MANIFEST_FORMAT = "consilience-web-manifest/v1"
#: Where each page of the app is served (the build's file name -> URL path).
PAGE_PATHS = {"index.html": "/", "counselor.html": "/counselor/"}


@dataclass(frozen=True)
class WebCheck:
    """Which files of the web app a server handed out, and those that differ from the build."""

    server: str
    #: URL paths, in the order fetched
    checked: tuple[str, ...] = ()
    #: path -> what differs ("sha256 …, expected …", "HTTP 404", ...)
    mismatched: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checked) and not self.mismatched

    def to_json(self) -> JsonObject:
        return {"server": self.server, "identical": self.ok, "checked": [*self.checked],
                "mismatched": {**self.mismatched}}


def load_manifest(folder: Path) -> dict[str, str]:
    """file name -> expected SHA-256 (hex), from a build's manifest.json."""
    path = folder / "manifest.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(_("{path} does not exist: build the web app first (./scripts/build-web)",
                             path=path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(_("{path} is not a readable manifest: {exc}", path=path, exc=exc)) from exc
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT or not isinstance(doc.get("files"), dict):
        raise InvalidInput(_("{path} is not a {MANIFEST_FORMAT} manifest", path=path, MANIFEST_FORMAT=MANIFEST_FORMAT))
    files: dict[str, str] = {}
    for name, entry in doc["files"].items():
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(digest, str) or len(digest) != 64:
            raise InvalidInput(_("{path}: no SHA-256 for {name}", path=path, name=repr(name)))
        files[str(name)] = digest.lower()
    if "index.html" not in files:
        raise InvalidInput(_("{path} lists no index.html", path=path))
    return files


def verify(http: httpx.Client, expected: dict[str, str]) -> WebCheck:
    """Fetch every file of the build from the server ``http`` points at and compare digests."""
    checked: list[str] = []
    mismatched: dict[str, str] = {}
    for name, digest in sorted(expected.items()):
        path = PAGE_PATHS.get(name, "/" + name)
        checked.append(path)
        try:
            response = http.get(path)
        except UntrustedCertificate as exc:  # not one file's problem: nothing from this server can be compared
            raise VerificationError(_("{describe}. Nothing was compared.",
                                      describe=exc.describe(_("The server")))) from exc
        except httpx.HTTPError as exc:
            mismatched[path] = _("unreachable: {exc}", exc=exc)
            continue
        if response.status_code != 200:
            mismatched[path] = f"HTTP {response.status_code}"
            continue
        got = hashlib.sha256(response.content).hexdigest()
        if got != digest:
            mismatched[path] = _("sha256 {got}, expected {digest}", got=got, digest=digest)
    return WebCheck(str(http.base_url), tuple(checked), mismatched)
