"""``consilience admin publish-keys`` and ``restart-keygen`` as an operator runs them, against real processes.

The key servers run with short key-generation rounds (``--keygen-round-seconds``); everything else is as
``admin init`` printed it. A key server that is not running is named when publish-keys gives up.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from consilience.local import launcher
from consilience.services.keyserver.settings import KeygenSettings

pytestmark = pytest.mark.e2e

#: Short rounds, but a minute for every confirmation: a busy machine may hold a key server back for seconds.
FAST = KeygenSettings(round_seconds=1.0, deal_timeout_seconds=120.0, confirm_rounds=60)
ENV = {"CONSILIENCE_PASSPHRASE": "operator passphrase"}


def consilience(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "consilience", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **ENV}, stdin=subprocess.DEVNULL)


@pytest.fixture()
def deployment(tmp_path: Path) -> Iterator[tuple[Path, list[launcher.Service], launcher.Service]]:
    escrow_port, *ports = launcher.free_ports(4)
    data = tmp_path / "deploy"
    init = consilience("admin", "init", "--data-dir", str(data), "--port", str(escrow_port), "--keyserver-ports",
                       ",".join(map(str, ports)), "--quorum", "2", "--max-quorum", "4")
    assert init.returncode == 0, init.stderr
    keyservers = [launcher.keyserver_service(data, i, p, keygen=FAST) for i, p in enumerate(ports, start=1)]
    escrow = launcher.escrow_service(data, escrow_port)
    try:
        yield data, keyservers, escrow
    finally:
        for s in (*keyservers, escrow):
            s.stop()


def test_publish_keys_waits_for_the_key_servers_and_publishes_their_result(deployment) -> None:  # type: ignore[no-untyped-def]
    import os

    data, keyservers, escrow = deployment
    launcher.start_all([keyservers[0], keyservers[1], escrow])
    # publish-keys started while key server 3 is not yet running: it waits, and says for what
    waiting = subprocess.Popen([sys.executable, "-m", "consilience", "admin", "publish-keys", "--data-dir", str(data)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **ENV},
                               stdin=subprocess.DEVNULL)
    said: list[str] = []
    heard = threading.Event()

    def listen() -> None:
        assert waiting.stderr is not None
        for line in waiting.stderr:
            said.append(line)
            if "Waiting for the key servers" in line:
                heard.set()
        heard.set()  # it ended without saying so: the assertions below tell

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    try:
        # key server 3 starts once publish-keys is seen waiting for it, however slowly this machine starts it
        assert heard.wait(120), "publish-keys said nothing while key server 3 was not running"
        keyservers[2].start()
        stdout = waiting.stdout.read() if waiting.stdout else ""
        waiting.wait(timeout=120)
        listener.join(10)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    stderr = "".join(said)
    assert waiting.returncode == 0, stderr
    out = " ".join(stdout.split())
    assert "Quorum keys of epoch 1 published (deployment serial 2): key servers 1, 2, 3 generated them" in out
    assert "Waiting for the key servers: epoch 1" in stderr
    status = json.loads(consilience("admin", "status", "--data-dir", str(data), "--json").stdout)
    assert status["quorum_keys"] == {"epoch": 1, "kind": "generate", "qualified": [1, 2, 3]}
    assert status["deployment_serial"] == 2 and status["key_change"] is None, "nothing more asked of them"
    again = json.loads(consilience("admin", "publish-keys", "--data-dir", str(data), "--json").stdout)
    assert again == {"deployment_serial": 2, "epoch": 1, "kind": "generate", "qualified": [1, 2, 3],
                     "quorum_range": [2, 4]}


def test_publish_keys_names_the_key_server_it_still_waits_for(deployment) -> None:  # type: ignore[no-untyped-def]
    data, keyservers, escrow = deployment
    launcher.start_all([keyservers[0], keyservers[1], escrow])
    proc = consilience("admin", "publish-keys", "--data-dir", str(data), "--timeout", "3", "--json")
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["error"]
    assert "waiting for key server(s) 3" in error and "gave up after 3 s" in error
    assert "Traceback" not in proc.stderr
    restarted = json.loads(consilience("admin", "restart-keygen", "--data-dir", str(data), "--json").stdout)
    assert restarted == {"deployment_serial": 2, "epoch": 2, "kind": "generate", "key_servers": 3, "threshold": 2}
    keyservers[2].start()
    proc = consilience("admin", "publish-keys", "--data-dir", str(data), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["epoch"] == 2
