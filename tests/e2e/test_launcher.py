"""``launcher.start_all``: every process started at once, and none left running when one of them fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from consilience.errors import ConsilienceError
from consilience.local import launcher
from consilience.operator.deployment import init_deployment

pytestmark = pytest.mark.e2e


def test_a_service_that_fails_to_start_stops_the_ones_started_with_it(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    escrow_port, *ports = launcher.free_ports(4)
    init_deployment(tmp_path / "data", "admin passphrase", quorum=2, max_quorum=3, key_servers=3, threshold=2,
                    escrow_port=escrow_port, keyserver_ports=ports)
    monkeypatch.setenv("CONSILIENCE_PASSPHRASE", "admin passphrase")
    # it never answers /healthz: publish-keys waits (five minutes by default) for an escrow server not running
    waiting = launcher.Service("publish-keys", f"http://127.0.0.1:{escrow_port}",
                               ["admin", "publish-keys", "--data-dir", str(tmp_path / "data")],
                               tmp_path / "waiting.log")
    failing = launcher.Service("no such command", f"http://127.0.0.1:{ports[0]}", ["no-such-command"],
                               tmp_path / "failing.log")
    with pytest.raises(ConsilienceError, match="no such command exited with"):
        launcher.start_all([failing, waiting], timeout=60)
    assert waiting.process is not None and waiting.process.poll() is not None, "left running"
    assert failing.process is not None and failing.process.returncode not in (None, 0)
