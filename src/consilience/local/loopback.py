"""A whole deployment on loopback: admin init, key servers and the escrow server as processes.

Shared by ``consilience demo`` and the browser tests (tests/web): one data folder in the
one-machine layout of ``datadir.DataDir``, every service a real process on 127.0.0.1
(``local.launcher``). ``start`` starts the key servers and the escrow server, waits for the key
servers' key generation over the escrow server's board and publishes its result as the
administrator does (``consilience admin publish-keys``), so a started deployment accepts
entries. The key servers allow the escrow server's origin (CORS) so the
web app it serves can call them: the web origins ``admin init`` writes, which on loopback are
both ``http://127.0.0.1:PORT`` and ``http://localhost:PORT``, so the app works opened at either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from consilience.clients import counselor
from consilience.datadir import DataDir
from consilience.local import launcher
from consilience.operator import quorum_keys
from consilience.operator.counselors import add_counselor
from consilience.operator.deployment import admin_fingerprint, init_deployment
from consilience.operator.invites import issue_invites
from consilience.operator.quorum_keys import Progress, publish_keys
from consilience.protocol.encoding import b64u_encode


@dataclass
class LoopbackDeployment:
    root: Path
    admin_passphrase: str
    quorum: int
    keyservers: list[launcher.Service]
    escrow: launcher.Service
    kdf_params: dict[str, int] | None = None
    started: bool = field(default=False, repr=False)

    @property
    def layout(self) -> DataDir:
        return DataDir(self.root)

    @property
    def url(self) -> str:
        """The escrow server, which also serves the web app: reporter at /, counselor at /counselor/."""
        return self.escrow.url

    @property
    def reporter_url(self) -> str:
        return f"{self.url}/"

    @property
    def counselor_url(self) -> str:
        return f"{self.url}/counselor/"

    @property
    def keyserver_urls(self) -> list[str]:
        return [s.url for s in self.keyservers]

    @property
    def services(self) -> list[launcher.Service]:
        return [*self.keyservers, self.escrow]

    @property
    def admin_fingerprint(self) -> bytes:
        return admin_fingerprint(self.root)

    @property
    def admin_fingerprint_b64u(self) -> str:
        return b64u_encode(self.admin_fingerprint)

    def start(self, on_started: Callable[[launcher.Service], None] | None = None,
              env: dict[str, str] | None = None, *, keygen_timeout: float = quorum_keys.WAIT_SECONDS,
              on_progress: Callable[[Progress], None] | None = None) -> LoopbackDeployment:
        """Start every service (all at once), then wait for their key generation and publish its
        result; ``env`` is added to the services' environment. Ready to accept entries when it returns."""
        try:
            launcher.start_all(self.services, env=env, on_started=on_started)
            published = publish_keys(self.root, self.admin_passphrase, timeout=keygen_timeout,
                                     progress=on_progress, poll=0.2)
            assert published.quorum_keys is not None
            launcher.wait_for_quorum_keys(self.keyservers, published.quorum_keys.epoch, timeout=keygen_timeout)
        except BaseException:
            self.stop()
            raise
        self.started = True
        return self

    def stop(self) -> None:
        for service in self.services:
            service.stop()
        self.started = False

    def __enter__(self) -> LoopbackDeployment:
        return self if self.started else self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def invites(self, count: int = 1) -> list[str]:
        """Single-use reporter invites (``consilience admin invite``)."""
        return issue_invites(self.root, self.admin_passphrase, count)

    def add_counselor(self, name: str, key_path: Path, passphrase: str) -> counselor.CounselorKeys:
        """What a counselor and the administrator do: keygen, admin counselor add, counselor login.

        The key file at ``key_path`` is sealed under ``passphrase`` with this deployment's KDF
        parameters, connected to the escrow server, as ``consilience counselor login`` leaves it.
        Needs the escrow server running (login checks the token against it).
        """
        keys = counselor.generate(name)
        kdf = self.kdf_params or {}
        counselor.save(key_path, keys, passphrase, **kdf)
        _deployment, token = add_counselor(self.root, counselor.public_key_file(keys), self.admin_passphrase)
        keys = counselor.login(keys, self.url, counselor.credential(token, self.admin_fingerprint))
        counselor.save(key_path, keys, passphrase, **kdf)
        return keys


def create(root: Path, admin_passphrase: str, *, quorum: int = 3, max_quorum: int = 10, key_servers: int = 3,
           threshold: int = 2, kdf_params: dict[str, int] | None = None) -> LoopbackDeployment:
    """``admin init`` in ``root`` on free loopback ports; the services are not started yet."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    escrow_port, *ks_ports = launcher.free_ports(1 + key_servers)
    init_deployment(root, admin_passphrase, quorum=quorum, max_quorum=max_quorum, key_servers=key_servers,
                    threshold=threshold, escrow_port=escrow_port, keyserver_ports=ks_ports, kdf_params=kdf_params)
    escrow = launcher.escrow_service(root, escrow_port)
    keyservers = [launcher.keyserver_service(root, i + 1, port, keygen=launcher.local_keygen())
                  for i, port in enumerate(ks_ports)]
    return LoopbackDeployment(root, admin_passphrase, quorum, keyservers, escrow, kdf_params)
