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
