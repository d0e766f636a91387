"""The server as a real process on loopback: startup, migrations, limits over a socket, shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .harness import API, build, registration

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_served_over_http(tmp_path: Path) -> None:
    escrow = build(tmp_path / "data")
    escrow.state.db.dispose()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        [sys.executable, "-m", "consilience.services.escrow", "--data-dir", str(escrow.settings.data_dir),
         "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        with httpx.Client(base_url=url, timeout=10) as client:
            registered = client.post(f"{API}/register",
                                     json=registration(escrow.invite(), escrow.deployment.deployment_id))
            assert registered.status_code == 201
            headers = {"Authorization": f"Bearer {registered.json()['token']}"}
            submission = escrow.submission()
            assert client.post(f"{API}/entries", json=submission, headers=headers).status_code == 201
            big = json.dumps({**submission, "pad": "x" * escrow.settings.max_request_bytes}).encode()

            def chunks():
                for i in range(0, len(big), 32 * 1024):
                    yield big[i:i + 32 * 1024]

            refused = client.post(f"{API}/entries", content=chunks(),
                                  headers={**headers, "Content-Type": "application/json"})
            assert refused.status_code == 413
            assert client.get(f"{API}/entries", headers=headers).json()[0]["entry_id"] == submission["entry_id"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=15) in (0, -signal.SIGTERM)  # uvicorn re-raises after a clean stop
        finally:
            if process.poll() is None:
                process.kill()
            log.close()
            escrow.db.dispose()
    server_log = (tmp_path / "server.log").read_text()
    assert submission["body"] not in server_log and registered.json()["token"] not in server_log
    assert os.stat(escrow.settings.database_url.removeprefix("sqlite:///")).st_size > 0
