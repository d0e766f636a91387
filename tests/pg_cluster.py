"""A throwaway PostgreSQL server for the storage and service tests.

Set CONSILIENCE_TEST_POSTGRES_URL (a ``postgresql+psycopg://`` URL on a
server where the tests may create databases) to use an existing server.
Otherwise, if ``initdb``/``postgres`` and psycopg are installed, a private
cluster is started on a loopback port for the test session (as ``nobody``
when running as root, which PostgreSQL refuses). If neither works, the
PostgreSQL variants are skipped, never silently passed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = "CONSILIENCE_TEST_POSTGRES_URL"
#: Set by .ci/run: there the PostgreSQL variants must run, not be skipped.
REQUIRE_ENV = "CONSILIENCE_REQUIRE_POSTGRES"


class Unavailable(Exception):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_binary(name: str) -> str | None:
    """On PATH, or where Debian's postgresql package puts it (not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


def _as_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        raise Unavailable("running as root without runuser")
    return [runuser, "-u", "nobody", "--", *argv]


class LocalCluster:
    """A private cluster on a loopback port that can be stopped and started again.

    The fault tests take the database away under a running escrow server;
    ``stop`` is PostgreSQL's fast shutdown (sessions are cut, new connections
    refused) and ``start`` brings the same data directory back on the same port.
    """

    def __init__(self) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise Unavailable("psycopg is not installed") from exc
        initdb, postgres = _server_binary("initdb"), _server_binary("postgres")
        if not initdb or not postgres:
            raise Unavailable("PostgreSQL server binaries not found")
        self.postgres = postgres
        self.root = Path(tempfile.mkdtemp(prefix="consilience-pg-"))
        self.data, self.sockets = self.root / "data", self.root / "sock"
        self.process: subprocess.Popen[bytes] | None = None
        try:
            self.sockets.mkdir()
            if os.geteuid() == 0:
                shutil.chown(self.root, "nobody")
                shutil.chown(self.sockets, "nobody")
            subprocess.run(_as_user([initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"]),
                           check=True, capture_output=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            shutil.rmtree(self.root, ignore_errors=True)
            raise Unavailable(f"cannot initialise PostgreSQL: {exc}") from exc
        self.port = _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        try:
            self.process = subprocess.Popen(
                _as_user([self.postgres, "-D", str(self.data), "-k", str(self.sockets), "-p", str(self.port),
                          "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=50"]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise Unavailable(f"cannot start PostgreSQL: {exc}") from exc
        _wait(self.url, self.process)

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def freeze(self) -> None:
        """SIGSTOP the postmaster: connections are accepted by the kernel, never answered."""
        os.kill(self.postmaster_pid(), signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.postmaster_pid(), signal.SIGCONT)
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)  # runuser stops itself when its child stops

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown, signalled to the postmaster itself (runuser would escalate to SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.kill(self.postmaster_pid(), signal.SIGINT)
            self.process.wait(timeout=timeout)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=timeout)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def cluster() -> Iterator[str]:
    """Yield an admin URL (database 'postgres') of a fresh cluster."""
    external = os.environ.get(ENV)
    if external:
        yield external
        return
    local = LocalCluster()
    try:
        local.start()
        yield local.url
    finally:
        local.close()


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Unavailable("postgres exited at startup")
        try:
            psycopg.connect(conninfo, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise Unavailable("postgres did not start in time")


def fresh_database(admin_url: str) -> str:
    """CREATE DATABASE with a unique name; return its SQLAlchemy URL."""
    import psycopg

    name = f"consilience_{uuid.uuid4().hex[:12]}"
    conninfo = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def admin_url_fixture() -> Iterator[str]:
    """Body of the session fixtures in the test packages' conftest files."""
    import pytest

    try:
        with cluster() as url:
            yield url
    except Unavailable as exc:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"PostgreSQL unavailable but {REQUIRE_ENV} is set: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
