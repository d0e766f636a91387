"""The web build is reproducible, and `consilience web verify` checks a running server against it.

Reproducibility is what makes the check meaningful: anyone can build the
release's sources and compare what a server hands out (PROTOCOL.md §12).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .browser import build_web

pytestmark = pytest.mark.e2e


def manifest_files(folder: Path) -> dict[str, dict[str, object]]:
    return json.loads((folder / "manifest.json").read_text())["files"]


def test_two_builds_of_the_same_sources_are_identical(web_static: Path, tmp_path: Path) -> None:
    if os.environ.get("CONSILIENCE_WEB_STATIC"):
        pytest.skip("CONSILIENCE_WEB_STATIC names a build made elsewhere; nothing to compare it with here")
    again = build_web(tmp_path / "again")
    assert manifest_files(again) == manifest_files(web_static)
    for name in manifest_files(web_static):
        assert (again / name).read_bytes() == (web_static / name).read_bytes(), name


def _verify(server: str, build: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "consilience", "web", "verify", server, "--build", str(build),
                           "--json"], capture_output=True, text=True, timeout=60)


def test_cli_verifies_the_running_server(web_deployment, web_static: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok = _verify(web_deployment.url, web_static)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["identical"] is True and doc["mismatched"] == {}
    assert {"/", "/counselor/", "/reporter.js", "/counselor.js"} <= set(doc["checked"])

    # A build whose reporter code differs from what the server sends: named, exit 1, one JSON document.
    other = tmp_path / "other"
    shutil.copytree(web_static, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["files"]["reporter.js"]["sha256"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    bad = _verify(web_deployment.url, other)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    doc = json.loads(bad.stdout)
    assert doc["identical"] is False and list(doc["mismatched"]) == ["/reporter.js"]


def test_the_icon_is_built_listed_verified_and_served_at_favicon_ico(web_deployment, web_static: Path) -> None:  # type: ignore[no-untyped-def]
    import hashlib
    import struct

    import httpx

    source = (Path(__file__).resolve().parents[2] / "web" / "src" / "app" / "assets" / "favicon.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", source)
    sizes = {struct.unpack_from("<B", source, 6 + 16 * i)[0] for i in range(count)}
    assert (reserved, kind) == (0, 1) and {16, 32} <= sizes, "a real ICO with 16 and 32 px images"

    digest = hashlib.sha256(source).hexdigest()
    assert manifest_files(web_static)["assets/favicon.ico"]["sha256"] == digest
    doc = json.loads(_verify(web_deployment.url, web_static).stdout)
    assert "/assets/favicon.ico" in doc["checked"] and "/assets/favicon.ico" not in doc["mismatched"]

    served = httpx.get(f"{web_deployment.url}/favicon.ico", timeout=10)
    assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == digest
    assert served.headers["content-type"] == "image/x-icon"
    assert served.headers["cache-control"] == httpx.get(f"{web_deployment.url}/reporter.js",
                                                        timeout=10).headers["cache-control"]
