"""``consilience demo --keep-running``: after the story the servers stay up for the web app, with
fresh invites, the key servers allowing the escrow origin; SIGTERM stops everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def read_json_object(stream, deadline: float) -> dict:  # type: ignore[no-untyped-def]
    text = ""
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        text += line
        if line.rstrip() == "}":
            return json.loads(text)
    raise AssertionError(f"no JSON object from the demo; got {text[-2000:]!r}")


def test_keep_running_serves_the_web_app_until_sigterm(tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>Reporter</title>")
    (static / "counselor.html").write_text("<!doctype html><title>Counselor</title>")
    (static / "manifest.json").write_text("{}")
    proc = subprocess.Popen([sys.executable, "-m", "consilience", "demo", "--json", "--keep-running",
                             "--data-dir", str(tmp_path / "demo")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "CONSILIENCE_WEB_STATIC": str(static)})
    try:
        result = read_json_object(proc.stdout, time.monotonic() + 240)
        assert result["released_after"] == 3
        web = result["web"]
        assert web["reporter_url"] == web["escrow_url"] + "/"
        assert web["counselor_url"] == web["escrow_url"] + "/counselor/"
        assert len(web["invites"]) == 3 and all(c.startswith("cnsl2.") for c in web["invites"])
        assert Path(web["counselor_key"]).is_file()

        page = httpx.get(web["reporter_url"], timeout=10)
        assert page.status_code == 200 and "Reporter" in page.text
        csp = page.headers["content-security-policy"]
        assert f"connect-src 'self' {' '.join(web['keyserver_urls'])};" in csp
        assert "Counselor" in httpx.get(web["counselor_url"], timeout=10).text

        for url in web["keyserver_urls"]:
            preflight = httpx.options(f"{url}/v2/evaluate", timeout=10, headers={
                "Origin": web["escrow_url"], "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type"})
            assert preflight.status_code == 200
            assert preflight.headers["access-control-allow-origin"] == web["escrow_url"]
        assert proc.poll() is None, "the demo should still be running"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, proc.stderr.read()
    for url in [web["escrow_url"], *web["keyserver_urls"]]:
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/healthz", timeout=2)
