"""Start and stop the services as real processes on loopback.

The demo and the end-to-end tests both need a whole deployment on one
machine; each service runs in its own process, as in production, so a test
that kills one exercises the same code paths an operator would.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from consilience.datadir import DataDir, defaults
from consilience.errors import ConsilienceError
from consilience.i18n import _

if TYPE_CHECKING:
    from consilience.services.keyserver.limits import LimitSettings
    from consilience.services.keyserver.settings import KeygenSettings


def free_ports(count: int, host: str = defaults.HOST) -> list[int]:
    """Distinct ports free right now, chosen below the kernel's ephemeral range.

    Ports the OS hands out for ``bind(0)`` come from the range it also uses
    for outgoing connections, so one can be taken by some client between
    choosing it and the service binding it; ports below that range are not
    handed out implicitly, which makes the race far less likely.
    """
    low, high = 20000, _ephemeral_start() - 1
    rng = random.SystemRandom()
    chosen: list[int] = []
    sockets = []
    try:
        for _attempt in range(count * 50):
            if len(chosen) == count:
                break
            port = rng.randint(low, high)
            if port in chosen:
                continue
            s = socket.socket()
            try:
                s.bind((host, port))
            except OSError:
                s.close()
                continue
            sockets.append(s)
            chosen.append(port)
    finally:
        for s in sockets:
            s.close()
    if len(chosen) != count:
        raise ConsilienceError(_("could not find {count} free ports between {low} and {high}",
                                 count=count, low=low, high=high))
    return chosen


def _ephemeral_start() -> int:
    try:
        start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768
    return start if start > 21000 else 32768


@dataclass
class Service:
    name: str
    url: str
    args: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, *, env: dict[str, str] | None = None, timeout: float = 30.0) -> Service:
        self.spawn(env=env)
        self.wait_healthy(timeout)
        return self

    def spawn(self, *, env: dict[str, str] | None = None) -> Service:
        """Start the process without waiting for it (``start_all`` starts several at once)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "consilience", *self.args], stdout=log,
                                        stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                        start_new_session=True)
        log.close()
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ConsilienceError(_("{name} exited with {returncode}; see {log_path}",
                                         name=self.name, returncode=self.process.returncode, log_path=self.log_path))
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise ConsilienceError(_("{name} did not become healthy in {timeout}s; see {log_path}",
                                 name=self.name, timeout=timeout, log_path=self.log_path))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def escrow_service(data_dir: Path, port: int, host: str = defaults.HOST,
                   database_url: str | None = None, extra_args: list[str] | None = None) -> Service:
    """``consilience serve`` on the deployment in ``data_dir``, logging to its ``logs/`` folder."""
    args = ["serve", "--data-dir", str(data_dir), "--host", host, "--port", str(port)]
    if database_url:
        args += ["--database-url", database_url]
    args += extra_args or []
    return Service(_("escrow server"), defaults.url(host, port), args, DataDir(Path(data_dir)).logs / "escrow.log")


def keyserver_service(data_dir: Path, index: int, port: int, host: str = defaults.HOST,
                      rate_limits: LimitSettings | None = None,
                      web_origins: list[str] | None = None, keygen: KeygenSettings | None = None,
                      extra_args: list[str] | None = None) -> Service:
    """``web_origins``: origins allowed to call it from a browser (CORS); default: those in
    keyserver-INDEX/web-origins.json, which ``admin init`` writes with the escrow server's origin.
    ``keygen``: the pace of its key generation (``local_keygen()`` on one machine)."""
    args = ["keyserver", "--index", str(index), "--data-dir", str(data_dir), "--host", host, "--port", str(port)]
    if rate_limits is not None:
        args += rate_limits.as_args()
    if keygen is not None:
        args += keygen.as_args()
    args += extra_args or []
    for origin in web_origins or []:
        args += ["--web-origin", origin]
    return Service(_("key server {index}", index=index), defaults.url(host, port), args,
                   DataDir(Path(data_dir)).logs / f"keyserver-{index}.log")


def folder_keyserver_service(folder: Path, port: int, host: str = defaults.HOST,
                             keygen: KeygenSettings | None = None, extra_args: list[str] | None = None) -> Service:
    """``consilience keyserver --folder`` on a key server's own folder (as its operator runs it on their
    machine), logging beside it in ``logs/``."""
    folder = Path(folder)
    args = ["keyserver", "--folder", str(folder), "--host", host, "--port", str(port)]
    if keygen is not None:
        args += keygen.as_args()
    args += extra_args or []
    return Service(_("key server in {folder}", folder=folder.name), defaults.url(host, port), args,
                   folder.parent / "logs" / f"{folder.name}.log")


def start_all(services: Sequence[Service], *, env: dict[str, str] | None = None, timeout: float = 30.0,
              on_started: Callable[[Service], None] | None = None) -> None:
    """Start every service at once, then wait until each answers, in order.

    Each process spends most of its first second importing; started one after another, a deployment of
    four took four of those seconds, started together it takes about as long as its slowest one. A service
    that fails to start stops the ones already started, so nothing is left running.
    """
    try:
        for service in services:
            service.spawn(env=env)
        for service in services:
            service.wait_healthy(timeout)
            if on_started:
                on_started(service)
    except BaseException:
        for service in services:
            service.stop()
        raise


def wait_for_quorum_keys(keyservers: list[Service], epoch: int, timeout: float = 60.0) -> None:
    """Until every key server says (GET /v2/info) that it holds the quorum keys of ``epoch``.

    The administrator can publish as soon as the board shows every confirmation; each key
    server notices the last one on its next read of the board, a moment later.
    """
    deadline = time.monotonic() + timeout
    for service in keyservers:
        while True:
            try:
                keygen = httpx.get(f"{service.url}/v2/info", timeout=2.0).json().get("keygen", {})
                if keygen.get("done") and keygen.get("epoch") == epoch:
                    break
                status = keygen.get("status", "no status")
            except (httpx.HTTPError, ValueError, AttributeError) as exc:
                status = str(exc)
            if time.monotonic() > deadline:
                raise ConsilienceError(_("{name} does not hold the quorum keys of epoch {epoch} after {timeout:g} s "
                                         "({status}); see {log_path}", name=service.name, epoch=epoch, timeout=timeout,
                                         status=status, log_path=service.log_path))
            time.sleep(0.05)



def local_keygen() -> KeygenSettings:
    """The key generation's pace for a deployment on loopback (every key server a process here)."""
    from consilience.services.keyserver.settings import KeygenSettings

    return KeygenSettings.local()
