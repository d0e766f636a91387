"""Key servers and the escrow server over TLS, as real processes on loopback (issue 12 item 1).

A private CA and a certificate for 127.0.0.1/localhost are made in the test (tests/tls_certs.py);
``consilience serve`` and ``consilience keyserver`` are started with ``--tls-cert``/``--tls-key``
and ``--json``, their quorum keys from the real key generation run in process beforehand
(tests/keyserver_world.py). Shown:

* their ready lines say https://, and a client with the CA file gets answers (an evaluation);
  without it the same client is refused, naming the certificate, not an OpenSSL error;
* a key server reaches a TLS escrow server (deployment document, board) only with --ca-file,
  and says in its log why not without it;
* a key that is not the certificate's, or one of the two options alone, is refused before the
  port is bound, with one plain ``error`` line (one JSON line with --json).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from consilience.clients import http
from consilience.local import launcher
from keyserver_world import Folder, account, make_deployment, request_body, run_keygen
from tls_certs import PrivateCA, ServerFiles, stray_key

pytestmark = pytest.mark.e2e


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    ready: dict[str, object]
    log: Path

    @property
    def url(self) -> str:
        return str(self.ready["url"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def log_says(self, text: str, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return True
            time.sleep(0.1)
        return False


def consilience(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as err:
        return subprocess.Popen([sys.executable, "-m", "consilience", *args, "--json"], stdout=subprocess.PIPE,
                                stderr=err, env={**os.environ, **(env or {})}, start_new_session=True)


def start(args: list[str], log: Path, timeout: float = 30.0) -> Running:
    """Start a server with --json and wait for its ready line (or its error line)."""
    process = consilience(args, log)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else b""
    if not line:
        process.kill()
        process.wait()
        raise AssertionError(f"no ready line from {args[0]}: {log.read_text(errors='replace')}")
    doc = json.loads(line)
    assert "error" not in doc, doc
    return Running(process, doc, log)


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class World:
    folder: Folder
    ca: PrivateCA
    files: ServerFiles
    escrow: Running
    key_servers: dict[int, Running]
    escrow_port: int
    ports: list[int]

    def tls_args(self) -> list[str]:
        return ["--tls-cert", str(self.files.cert), "--tls-key", str(self.files.key)]

    def keyserver_args(self, index: int, *extra: str) -> list[str]:
        return ["keyserver", "--index", str(index), "--data-dir", str(self.folder.root), "--host", "127.0.0.1",
                "--port", str(self.ports[index - 1]), *extra]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("tls")
    escrow_port, *ports = launcher.free_ports(4)
    folder = make_deployment(root / "data", escrow_port=escrow_port, keyserver_ports=ports)
    run_keygen(folder)
    folder.data.keyserver(3).quorum_keys.unlink()  # key server 3 has its key generation to run: it reads the board
    ca = PrivateCA.make(root / "ca")
    files = ca.issue("loopback")
    logs = folder.data.logs
    running: list[Running] = []
    try:
        w = World(folder, ca, files, None, {}, escrow_port, ports)  # type: ignore[arg-type]
        w.escrow = start(["serve", "--data-dir", str(folder.root), "--host", "127.0.0.1", "--port", str(escrow_port),
                          *w.tls_args()], logs / "escrow.log")
        running.append(w.escrow)
        for index in (1, 2):
            w.key_servers[index] = start(w.keyserver_args(index, *w.tls_args()), logs / f"keyserver-{index}.log")
            running.append(w.key_servers[index])
        yield w
    finally:
        for r in running:
            r.stop()


@pytest.fixture(autouse=True)
def no_ca_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(http.CA_FILE_ENV, raising=False)
    http.use_ca_file(None)
    yield
    http.use_ca_file(None)


def test_the_servers_serve_https_and_a_client_with_the_ca_file_gets_answers(world: World) -> None:
    assert world.escrow.url == f"https://127.0.0.1:{world.escrow_port}"
    assert [world.key_servers[i].url for i in (1, 2)] == [f"https://127.0.0.1:{p}" for p in world.ports[:2]]
    assert "without TLS" not in world.key_servers[1].log.read_text()

    http.use_ca_file(world.ca.cert_path)
    reporter = account(world.folder)
    audience = world.folder.deployment.key_server(1).identity_key
    with http.client(timeout=10) as client:
        answer = client.post(f"{world.key_servers[1].url}/v2/evaluate", json=request_body(world.folder, reporter,
                                                                                            audience))
        assert answer.status_code == 200, answer.text
        assert answer.json()["index"] == 1
        assert client.get(f"{world.escrow.url}/v2/deployment").status_code == 200

    # the same client without the private CA: refused at the handshake, nothing sent, said in words
    http.use_ca_file(None)
    with http.client(timeout=10) as client, pytest.raises(http.UntrustedCertificate) as refused:
        client.post(f"{world.key_servers[2].url}/v2/evaluate",
                    json=request_body(world.folder, reporter, world.folder.deployment.key_server(2).identity_key))
    assert refused.value.describe("the key server") == (
        f"the key server at {world.key_servers[2].url} presented a certificate this machine does not trust "
        f"(unable to get local issuer certificate); {http.CA_FILE_HINT}")
    assert "--ca-file" in http.CA_FILE_HINT
    # and plain HTTP to a TLS port gets no answer either
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{world.ports[0]}/healthz", timeout=5)


def test_a_key_server_reaches_a_tls_escrow_server_only_with_the_ca_file(world: World) -> None:
    args = world.keyserver_args(3, *world.tls_args(), "--escrow-url", world.escrow.url,
                                "--keygen-round-seconds", "1")
    log = world.folder.data.logs / "keyserver-3.log"
    blind = start(args, log)
    try:
        assert blind.log_says(f"the escrow server at {world.escrow.url} presented a certificate this machine does "
                              "not trust (unable to get local issuer certificate); if the deployment uses a "
                              "private CA, pass --ca-file FILE")
        http.use_ca_file(world.ca.cert_path)
        with http.client(timeout=10) as client:
            info = client.get(f"{blind.url}/v2/info").json()
        assert "waiting for the escrow server" in json.dumps(info)
        assert board(world) == [], "nothing reached the board"
    finally:
        blind.stop()

    # with --ca-file it reads the deployment document and posts its deal on the escrow server's board
    trusting = start([*args, "--ca-file", str(world.ca.cert_path)], log)
    try:
        deadline = time.monotonic() + 20
        while not board(world) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(board(world)) == 1, log.read_text()
    finally:
        trusting.stop()


def board(world: World) -> list[object]:
    """The messages on the escrow server's board of epoch 1, read over TLS with the private CA."""
    http.use_ca_file(world.ca.cert_path)
    with http.client(timeout=10) as client:
        page = client.get(f"{world.escrow.url}/v2/board/1")
    assert page.status_code == 200, page.text
    return list(page.json()["messages"])


def test_a_key_that_is_not_the_certificates_is_refused_before_the_port_is_bound(world: World,
                                                                               tmp_path: Path) -> None:
    port = launcher.free_ports(1)[0]
    folder = world.folder.data.keyserver(1).root
    before = sorted(p.name for p in folder.iterdir())
    stray = stray_key(tmp_path / "stray.key")
    process = consilience(["keyserver", "--index", "1", "--data-dir", str(world.folder.root), "--port", str(port),
                           "--tls-cert", str(world.files.cert), "--tls-key", str(stray)], tmp_path / "ks.log")
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert json.loads(out) == {"error": f"the TLS private key {stray} does not belong to the certificate "
                                        f"{world.files.cert}. Pass the key the certificate was issued for; nothing "
                                        "was started."}
    assert "Traceback" not in (tmp_path / "ks.log").read_text()
    assert port_is_free(port) and sorted(p.name for p in folder.iterdir()) == before


def test_one_of_the_two_options_alone_is_refused(world: World, tmp_path: Path) -> None:
    port = launcher.free_ports(1)[0]
    serve = subprocess.run([sys.executable, "-m", "consilience", "serve", "--data-dir", str(world.folder.root),
                            "--port", str(port), "--tls-cert", str(world.files.cert)],
                           capture_output=True, text=True, timeout=60)
    assert serve.returncode == 1 and serve.stdout == ""
    assert serve.stderr.strip() == ("error: --tls-cert was given without --tls-key: serving TLS needs both the "
                                    "certificate (--tls-cert) and its private key (--tls-key). Pass both, or "
                                    "neither to serve plain HTTP behind a reverse proxy that terminates TLS.")
    # the key alone, from the environment, for a key server
    keyserver = subprocess.run([sys.executable, "-m", "consilience", "keyserver", "--index", "2", "--data-dir",
                                str(world.folder.root), "--port", str(port)], capture_output=True, text=True,
                               timeout=60, env={**os.environ, "CONSILIENCE_TLS_KEY": str(world.files.key)})
    assert keyserver.returncode == 1
    assert keyserver.stderr.startswith("error: --tls-key was given without --tls-cert")
    assert port_is_free(port)
