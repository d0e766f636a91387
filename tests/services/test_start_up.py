"""What the servers say and check when they start: nothing created without a deployment, the web
origins the key servers allow, the ready lines, and how the logs name a match."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest

from consilience.datadir import DataDir, web_origins
from consilience.operator.deployment import init_deployment
from consilience.protocol.encoding import b64u_decode
from consilience.services.config import ConfigurationError
from consilience.services.escrow import create_app
from consilience.services.escrow.server import Ready as EscrowReady
from consilience.services.escrow.server import origin_warnings
from consilience.services.escrow.settings import Settings
from consilience.services.keyserver.server import Ready as KeyServerReady

from .harness import Escrow

KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_an_escrow_folder_without_a_deployment_is_refused_with_nothing_created(tmp_path: Path) -> None:
    (tmp_path / "escrow").mkdir()
    with pytest.raises(ConfigurationError, match="admin init"):
        create_app(Settings.for_data_dir(tmp_path / "escrow"))
    assert files_in(tmp_path) == ["escrow"]  # no database, no inbox
    with pytest.raises(ConfigurationError):
        create_app(Settings.for_data_dir(tmp_path / "elsewhere"))
    assert files_in(tmp_path) == ["escrow"]


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", ["http://127.0.0.1:8100", "http://localhost:8100"]),
    ("::1", ["http://[::1]:8100", "http://localhost:8100"]),
    ("localhost", ["http://localhost:8100", "http://127.0.0.1:8100", "http://[::1]:8100"]),
    ("escrow.example.org", ["http://escrow.example.org:8100"]),
])
def test_default_web_origins_name_each_address_a_browser_opens_the_app_at(host: str, expected: list[str]) -> None:
    assert web_origins.default_origins(host, 8100) == expected


def test_init_writes_the_loopback_origins_and_web_origin_still_overrides(tmp_path: Path) -> None:
    init_deployment(tmp_path / "a", "admin passphrase", escrow_port=8300, kdf_params=KDF)
    for i in (1, 2, 3):
        assert web_origins.read(DataDir(tmp_path / "a").keyserver(i).web_origins) == [
            "http://127.0.0.1:8300", "http://localhost:8300"]
    init_deployment(tmp_path / "b", "admin passphrase", kdf_params=KDF, web_app_origins=["https://escrow.example.org"])
    assert web_origins.read(DataDir(tmp_path / "b").keyserver(1).web_origins) == ["https://escrow.example.org"]


def test_serve_warns_when_a_key_server_beside_it_does_not_allow_its_address(tmp_path: Path) -> None:
    good = init_deployment(tmp_path / "good", "admin passphrase", escrow_port=8400, kdf_params=KDF)
    assert origin_warnings(DataDir(tmp_path / "good").escrow.root, good) == []

    bad = init_deployment(tmp_path / "bad", "admin passphrase", escrow_port=8400, kdf_params=KDF,
                          web_app_origins=["https://escrow.example.org"])
    warnings = origin_warnings(DataDir(tmp_path / "bad").escrow.root, bad)
    assert len(warnings) == 3
    assert warnings[0].startswith("key server 1 lets browsers call it only from https://escrow.example.org (")
    assert "not from http://127.0.0.1:8400: the web app opened at http://127.0.0.1:8400/ cannot escrow" in warnings[0]
    assert "--web-origin http://127.0.0.1:8400" in warnings[0]
    # key servers whose folders are elsewhere are not guessed at
    assert origin_warnings(tmp_path / "lonely-escrow", bad) == []


def test_the_key_servers_ready_line_says_which_where_and_for_whom_without_secrets() -> None:
    ready = KeyServerReady(1, 3, 2, "http://127.0.0.1:8101", 4242, ("http://127.0.0.1:8100", "http://localhost:8100"))
    assert ready.describe() == ("key server 1 of 3 (2 needed) ready at http://127.0.0.1:8101; browsers may call "
                                "it from pages at http://127.0.0.1:8100, http://localhost:8100")
    assert ready.to_json() == {"service": "keyserver", "index": 1, "key_servers": 3, "threshold": 2,
                               "url": "http://127.0.0.1:8101", "pid": 4242,
                               "web_origins": ["http://127.0.0.1:8100", "http://localhost:8100"]}
    older = KeyServerReady(2, None, None, "http://127.0.0.1:8102", 1, ())
    assert older.describe().startswith("key server 2 ready at http://127.0.0.1:8102; no web page may call it")
    assert EscrowReady("http://127.0.0.1:8100", 7, 1).to_json() == {
        "service": "escrow", "url": "http://127.0.0.1:8100", "pid": 7, "deployment_serial": 1,
        "reporter_url": "http://127.0.0.1:8100/", "counselor_url": "http://127.0.0.1:8100/counselor/"}


def test_every_log_line_naming_a_match_uses_its_32_digit_lowercase_hex(escrow: Escrow,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    class Failing:
        def notify(self, event: object) -> None:
            raise RuntimeError("mail server down")

    escrow.state.notifier = Failing()
    a, b = escrow.reporter(), escrow.reporter()
    tag = os.urandom(32)
    with caplog.at_level(logging.INFO, logger="consilience.services.escrow"):
        assert escrow.submit(a, escrow.submission(tags=[tag], quorum=2)).status_code == 201
        assert escrow.submit(b, escrow.submission(tags=[tag], quorum=2)).status_code == 201
        assert len(escrow.run_pass().changes) == 1
    [match] = escrow.client.get("/v2/matches", headers=escrow.counselor_headers(escrow.counselors[0])).json()
    expected = b64u_decode(match["match_id"]).hex()
    lines = [r.getMessage() for r in caplog.records if "match" in r.getMessage()]
    assert len(lines) == 2, lines  # the match created, the notifier that failed
    for line in lines:
        named = re.findall(r"match ([0-9a-zA-Z_-]+)", line)
        assert named == [expected], line
        assert re.fullmatch(r"[0-9a-f]{32}", named[0])
