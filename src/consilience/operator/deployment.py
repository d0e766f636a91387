"""The deployment document and the data folder it lives in: ``admin init``, ``admin status``, and
the signing every later change goes through.

Runs on the operator's machine against the deployment's data folder (``datadir.DataDir``). The
OPRF key exists only inside ``init_deployment``: it is dealt into shares, one per key-server
folder, and then dropped (PROTOCOL.md §5). Each key server's identity and HPKE keys are
generated into its own folder; the quorum secrets are not made here at all: the key servers
generate them among themselves once they run, and ``operator.quorum_keys`` publishes the
result. Every later change (a counselor, a witness,
refreshed shares) is a new serial of the document, signed with the administrator's key, which
is unsealed under its passphrase for that one change (``unseal_admin_key``, ``next_serial``,
``publish``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consilience import files
from consilience.crypto import passphrase, signing, threshold_oprf
from consilience.datadir import DataDir, defaults, share_file, web_origins
from consilience.datadir.layout import shown
from consilience.errors import InvalidInput
from consilience.protocol import deployment as dep
from consilience.protocol.encoding import b64u_decode
from consilience.storage import database, repository

ADMIN_PURPOSE = "consilience admin signing key"


def init_deployment(root: Path, admin_secret: str, *, quorum: int = 2, max_quorum: int = 10,
                    key_servers: int = 3, threshold: int = 2, host: str = defaults.HOST,
                    escrow_port: int = defaults.ESCROW_PORT, keyserver_base_port: int | None = None,
                    keyserver_ports: list[int] | None = None,
                    kdf_params: dict[str, int] | None = None,
                    web_app_origins: list[str] | None = None) -> dep.Deployment:
    """Create every file of a new deployment in ``root``, which must not hold one yet.

    Key server N is reached at ``keyserver_ports[N-1]``, else ``keyserver_base_port + N - 1``, else
    just above the escrow server (``escrow_port + N``). ``web_app_origins``: where browsers may call
    the key servers from; default the escrow server's, which serves the web app, under each name a
    browser reaches it by on loopback (``web_origins.default_origins``).
    """
    data = DataDir(Path(root))
    if data.admin_key.exists() or data.escrow.published.exists():
        raise InvalidInput(f"{root} already holds a deployment; choose an empty --data-dir")
    if not 1 <= threshold <= key_servers <= 32:
        raise InvalidInput("need 1 <= threshold <= key servers <= 32")
    admin_private = signing.generate()
    log_private = signing.generate()
    deployment_id = os.urandom(16)
    base = keyserver_base_port if keyserver_base_port is not None else defaults.keyserver_port(1, escrow_port)
    ports = keyserver_ports or [base + i for i in range(key_servers)]
    if len(ports) != key_servers:
        raise InvalidInput("one port per key server")
    escrow_url = defaults.url(host, escrow_port)
    origins = web_app_origins if web_app_origins is not None else web_origins.default_origins(host, escrow_port)
    for index in range(1, key_servers + 1):
        folder = data.keyserver(index)
        if folder.identity_key.exists() or folder.hpke_key.exists():
            raise InvalidInput(f"{folder.root} already holds a key server's keys; choose an empty --data-dir")
    group_key, shares = threshold_oprf.deal_key(threshold, key_servers)
    servers = []
    for index, share in shares.items():
        folder = data.keyserver(index)
        # each key server's own keys, generated into its folder; only the public halves leave it
        keys = share_file.generate_keys(folder.identity_key, folder.hpke_key)
        share_file.write(folder.share, share_file.KeyShare(
            index, share, signing.public_key(admin_private), deployment_id, escrow_url,
            key_servers=key_servers, threshold=threshold))
        web_origins.write(folder.web_origins, origins)
        servers.append(dep.KeyServer(index, defaults.url(host, ports[index - 1]),
                                     threshold_oprf.public_share(share), identity_key=keys.identity_key,
                                     hpke_public_key=keys.hpke_public_key))
        del keys
    del shares  # the dealt key exists nowhere else from here on
    # No quorum keys yet: the key servers generate them among themselves (services/keyserver/dkg_runner.py)
    # and the administrator publishes the result (operator/quorum_keys.py); nobody ever holds an F_q.
    d = dep.Deployment(
        deployment_id=deployment_id, serial=1,
        issued_at=_now(),
        quorum=quorum, max_quorum=max_quorum, escrow_url=escrow_url,
        threshold=threshold, oprf_public_key=group_key, key_servers=tuple(servers),
        log_origin=f"consilience.log/{deployment_id.hex()}", log_public_key=signing.public_key(log_private),
    )
    dep.validate(d)
    files.write_private(data.escrow.log_key, log_private)
    passphrase.write_sealed_file(data.admin_key, admin_private, admin_secret, ADMIN_PURPOSE,
                                 **(kdf_params or {}))
    publish(data, d, admin_private)
    database.upgrade(database_url(data))
    return d


def no_deployment(root: Path, command: str = "consilience") -> InvalidInput:
    """The refusal for a folder ``admin init`` never wrote to, saying how to go on (``command``:
    how the person runs consilience)."""
    return InvalidInput(f"No deployment in {shown(root)}. Create one with `{command} admin init`, "
                        "or pass --data-dir to the folder you used.")


def load_deployment(root: Path) -> dep.Deployment:
    """The current document as the administrator last wrote it (unsigned)."""
    data = DataDir(Path(root))
    if not data.holds_deployment:
        raise no_deployment(root)
    if not data.deployment.is_file():
        raise InvalidInput(f"{data.deployment} is missing: this folder holds the escrow server's files, "
                           "not the administrator's; run admin commands where admin init ran")
    return dep.parse(json.loads(data.deployment.read_text()))


def admin_fingerprint(root: Path) -> bytes:
    """What invites and counselor credentials pin, so clients trust only this administrator's documents."""
    data = DataDir(Path(root))
    if not data.holds_deployment:
        raise no_deployment(root)
    try:
        published = json.loads(data.escrow.published.read_text())
    except FileNotFoundError:
        raise InvalidInput(f"{data.escrow.published} is missing: the deployment was never published "
                           "(admin init writes it)") from None
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read {data.escrow.published}: {exc}") from exc
    return dep.admin_fingerprint(b64u_decode(published["admin_key"], length=32))


def unseal_admin_key(root: Path, admin_secret: str) -> bytes:
    """The administrator's signing key; a wrong passphrase fails here, before anything is changed."""
    return passphrase.read_sealed_file(DataDir(Path(root)).admin_key, admin_secret, ADMIN_PURPOSE)


def next_serial(d: dep.Deployment, **changes: Any) -> dep.Deployment:
    """``d`` with ``changes`` as the next serial, checked as clients will check it."""
    updated = replace(d, serial=d.serial + 1, issued_at=_now(), **changes)
    dep.validate(updated)
    return updated


def publish(data: DataDir, d: dep.Deployment, admin_private: bytes) -> None:
    """Write the document and its signed form; the escrow server picks the new serial up from the file."""
    files.write_private(data.deployment, json.dumps(d.to_json(), indent=2).encode())
    published = dep.sign(d, admin_private)
    target = data.escrow.published
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(published))
    os.replace(tmp, target)


def database_url(data: DataDir) -> str:
    """The escrow database the operator's tools write to directly: the default SQLite file."""
    return database.sqlite_url(data.escrow.database)


@contextmanager
def escrow_database(root: Path) -> Iterator[database.Database]:
    """The escrow database of ``root``, disposed of afterwards (the tools run once and exit).

    Only an existing one: opening a missing SQLite file would create an empty database.
    """
    data = DataDir(Path(root))
    if not data.escrow.database.is_file():
        if not data.holds_deployment:
            raise no_deployment(root)
        raise InvalidInput(f"{data.escrow.database} is missing: admin init creates the escrow database, "
                           "and the admin commands write to it directly")
    db = database.Database(database_url(data))
    try:
        yield db
    finally:
        db.dispose()


def status(root: Path) -> dict[str, Any]:
    """Counts only: the operator's tools never read entries or contacts."""
    d = load_deployment(root)
    with escrow_database(root) as db, db.read() as session:
        stats = repository.stats(session)
    keys = None if d.quorum_keys is None else {"epoch": d.quorum_keys.epoch,
                                                "qualified": list(d.quorum_keys.qualified)}
    return {"deployment_serial": d.serial, "quorum": d.quorum, "max_quorum": d.max_quorum,
            "key_servers": len(d.key_servers), "threshold": d.threshold,
            "counselors": [c.name for c in d.counselors], "quorum_keys": keys, **stats}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
