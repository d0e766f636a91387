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


@contextmanager
def cluster() -> Iterator[str]:
    """Yield an admin URL (database 'postgres') of a fresh cluster."""
    external = os.environ.get(ENV)
    if external:
        yield external
        return
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise Unavailable("psycopg is not installed") from exc
    initdb, postgres = _server_binary("initdb"), _server_binary("postgres")
    if not initdb or not postgres:
        raise Unavailable("PostgreSQL server binaries not found")
    root = Path(tempfile.mkdtemp(prefix="consilience-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
        shutil.chown(sockets, "nobody")
    process = None
    try:
        subprocess.run(_as_user([initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]),
                       check=True, capture_output=True)
        port = _free_port()
        process = subprocess.Popen(
            _as_user([postgres, "-D", str(data), "-k", str(sockets), "-p", str(port),
                      "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=50"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        _wait(url, process)
        yield url
    except (subprocess.CalledProcessError, OSError) as exc:
        raise Unavailable(f"cannot start PostgreSQL: {exc}") from exc
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(root, ignore_errors=True)


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
