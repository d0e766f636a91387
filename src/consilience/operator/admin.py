"""Operator tooling: create a deployment, issue invites, add counselors.

Runs on the operator's machine against the deployment's data folder. The
OPRF key exists only inside ``init_deployment``: it is dealt into shares,
one per key-server folder, and then dropped (PROTOCOL.md §5).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from consilience import files
from consilience.crypto import hpke, passphrase, signing, threshold_oprf
from consilience.datadir import share_file, web_origins
from consilience.errors import InvalidInput
from consilience.protocol import deployment as dep
from consilience.protocol.encoding import b64u_decode
from consilience.protocol.invites import Invite
from consilience.storage import database, repository

ADMIN_PURPOSE = "consilience admin signing key"


@dataclass(frozen=True)
class Layout:
    """Where each party's files live under one data folder (one machine, loopback)."""

    root: Path

    @property
    def admin_key(self) -> Path:
        return self.root / "admin" / "admin.key"

    @property
    def deployment(self) -> Path:
        return self.root / "admin" / "deployment.json"

    @property
    def escrow(self) -> Path:
        return self.root / "escrow"

    @property
    def published(self) -> Path:
        return self.escrow / "deployment.signed.json"

    @property
    def token_issuer(self) -> Path:
        return self.escrow / "token-issuer.key"

    @property
    def log_key(self) -> Path:
        return self.escrow / "log.key"

    def keyserver(self, index: int) -> Path:
        return self.root / f"keyserver-{index}"

    def share(self, index: int) -> Path:
        return self.keyserver(index) / "share.json"

    def web_origins_file(self, index: int) -> Path:
        """Origins whose web pages may call key server ``index`` (CORS): the escrow server's."""
        return self.keyserver(index) / web_origins.FILE_NAME

    def database_url(self) -> str:
        return database.default_url(self.escrow)


def _publish(layout: Layout, d: dep.Deployment, admin_private: bytes) -> None:
    files.write_private(layout.deployment, json.dumps(d.to_json(), indent=2).encode())
    published = dep.sign(d, admin_private)
    layout.published.parent.mkdir(parents=True, exist_ok=True)
    tmp = layout.published.with_suffix(".tmp")
    tmp.write_text(json.dumps(published))
    os.replace(tmp, layout.published)


def init_deployment(root: Path, admin_secret: str, *, quorum: int = 2, max_quorum: int = 10,
                    key_servers: int = 3, threshold: int = 2, host: str = "127.0.0.1",
                    escrow_port: int = 8100, keyserver_base_port: int = 8101,
                    keyserver_ports: list[int] | None = None,
                    kdf_params: dict[str, int] | None = None,
                    web_app_origins: list[str] | None = None) -> dep.Deployment:
    """``web_app_origins``: where browsers may call the key servers from; default the escrow server's."""
    layout = Layout(Path(root))
    if layout.admin_key.exists() or layout.published.exists():
        raise InvalidInput(f"{root} already holds a deployment; choose an empty --data-dir")
    if not 1 <= threshold <= key_servers <= 32:
        raise InvalidInput("need 1 <= threshold <= key servers <= 32")
    admin_private = signing.generate()
    issuer_private = signing.generate()
    log_private = signing.generate()
    deployment_id = os.urandom(16)
    ports = keyserver_ports or [keyserver_base_port + i for i in range(key_servers)]
    if len(ports) != key_servers:
        raise InvalidInput("one port per key server")
    group_key, shares = threshold_oprf.deal_key(threshold, key_servers)
    servers = []
    for index, share in shares.items():
        share_file.write(layout.share(index),
                         share_file.KeyShare(index, share, signing.public_key(issuer_private)))
        web_origins.write(layout.web_origins_file(index),
                          web_app_origins if web_app_origins is not None else [f"http://{host}:{escrow_port}"])
        servers.append(dep.KeyServer(index, f"http://{host}:{ports[index - 1]}",
                                     threshold_oprf.public_share(share)))
    del shares  # the dealt key exists nowhere else from here on
    d = dep.Deployment(
        deployment_id=deployment_id, serial=1,
        issued_at=datetime.now(UTC).isoformat(timespec="seconds"),
        quorum=quorum, max_quorum=max_quorum, escrow_url=f"http://{host}:{escrow_port}",
        token_issuer_key=signing.public_key(issuer_private), threshold=threshold,
        oprf_public_key=group_key, key_servers=tuple(servers),
        log_origin=f"consilience.log/{deployment_id.hex()}", log_public_key=signing.public_key(log_private),
    )
    dep.validate(d)
    files.write_private(layout.token_issuer, issuer_private)
    files.write_private(layout.log_key, log_private)
    passphrase.write_sealed_file(layout.admin_key, admin_private, admin_secret, ADMIN_PURPOSE,
                                 **(kdf_params or {}))
    _publish(layout, d, admin_private)
    database.upgrade(layout.database_url())
    return d


def load_deployment(root: Path) -> dep.Deployment:
    layout = Layout(Path(root))
    if not layout.deployment.exists():
        raise InvalidInput(f"no deployment in {root}; run 'consilience admin init' first")
    return dep.parse(json.loads(layout.deployment.read_text()))


def admin_fingerprint(root: Path) -> bytes:
    published = json.loads(Layout(Path(root)).published.read_text())
    return dep.admin_fingerprint(b64u_decode(published["admin_key"], length=32))


def issue_invites(root: Path, count: int = 1, *, expires_in: timedelta = timedelta(days=14)) -> list[str]:
    if not 1 <= count <= 1000:
        raise InvalidInput("issue between 1 and 1000 invites at a time")
    layout = Layout(Path(root))
    fingerprint = admin_fingerprint(root)
    db = database.Database(layout.database_url())
    try:
        with db.write() as session:
            codes = [repository.create_invite(session, expires_in) for _ in range(count)]
    finally:
        db.dispose()
    return [str(Invite(code, fingerprint)) for code in codes]


def add_counselor(root: Path, public_file: dict[str, Any], admin_secret: str) -> tuple[dep.Deployment, bytes]:
    """List the counselor's key in a newly signed deployment and create their account."""
    layout = Layout(Path(root))
    if not isinstance(public_file, dict):
        raise InvalidInput("a counselor public-key file is a JSON object (from 'consilience counselor keygen')")
    try:
        name = str(public_file["name"])
        public_key = b64u_decode(public_file["public_key"], field="public_key")
    except KeyError as exc:
        raise InvalidInput(f"counselor public-key file lacks {exc.args[0]!r}") from exc
    hpke.key_id(public_key)  # validates the key's encoding
    key_id = hpke.key_id(public_key)
    d = load_deployment(root)
    if key_id in {c.key_id for c in d.counselors}:
        raise InvalidInput(f"counselor key of {name!r} is already in the deployment")
    admin_private = passphrase.read_sealed_file(layout.admin_key, admin_secret, ADMIN_PURPOSE)
    updated = replace(d, serial=d.serial + 1, counselors=(*d.counselors, dep.Counselor(name, key_id, public_key)),
                      issued_at=datetime.now(UTC).isoformat(timespec="seconds"))
    dep.validate(updated)
    db = database.Database(layout.database_url())
    try:
        with db.write() as session:
            token = repository.add_counselor_account(session, name, key_id)
    finally:
        db.dispose()
    _publish(layout, updated, admin_private)
    return updated, token


def add_witness(root: Path, vkey: str, admin_secret: str) -> dep.Deployment:
    """List a witness's cosignature key in a newly signed deployment document."""
    from consilience.tlog import checkpoint

    checkpoint.CosignatureV1Verifier.from_vkey(vkey)  # a well-formed type 0x04 key, or InvalidInput
    layout = Layout(Path(root))
    d = load_deployment(root)
    if vkey in d.witnesses:
        raise InvalidInput("that witness is already in the deployment")
    admin_private = passphrase.read_sealed_file(layout.admin_key, admin_secret, ADMIN_PURPOSE)
    updated = replace(d, serial=d.serial + 1, witnesses=(*d.witnesses, vkey),
                      issued_at=datetime.now(UTC).isoformat(timespec="seconds"))
    dep.validate(updated)
    _publish(layout, updated, admin_private)
    return updated


def refresh_key_shares(root: Path, admin_secret: str) -> dep.Deployment:
    """Proactive refresh: add shares of zero to every key server's share.

    The OPRF key, hence every tag and match, stays the same; shares stolen
    before the refresh stop combining with those after it. This runs where
    all share files are (the one-machine layout); running key servers pick
    up their new share file without a restart. Clients holding the previous
    deployment document see proofs fail until they fetch the new one, which
    they do on every submission.
    """
    layout = Layout(Path(root))
    d = load_deployment(root)
    admin_private = passphrase.read_sealed_file(layout.admin_key, admin_secret, ADMIN_PURPOSE)
    current = {}
    for server in d.key_servers:
        path = layout.share(server.index)
        if not path.exists():
            raise InvalidInput(f"refreshing needs every key server's share file; {path} is missing")
        share = share_file.read(path)
        if share.public_share != server.public_share:
            raise InvalidInput(f"key server {server.index}'s share does not match the deployment document")
        current[server.index] = share
    deltas = threshold_oprf.refresh_deltas(d.threshold, sorted(current))
    fresh = {i: replace(s, share=threshold_oprf.apply_delta(s.share, deltas[i])) for i, s in current.items()}
    del deltas
    updated = replace(
        d, serial=d.serial + 1, issued_at=datetime.now(UTC).isoformat(timespec="seconds"),
        key_servers=tuple(replace(k, public_share=fresh[k.index].public_share) for k in d.key_servers))
    dep.validate(updated)  # the new public shares still interpolate to the same group key
    for index, share in fresh.items():
        share_file.write(layout.share(index), share)
    _publish(layout, updated, admin_private)
    return updated


def status(root: Path) -> dict[str, Any]:
    layout = Layout(Path(root))
    d = load_deployment(root)
    db = database.Database(layout.database_url())
    try:
        with db.read() as session:
            stats = repository.stats(session)
    finally:
        db.dispose()
    return {"deployment_serial": d.serial, "quorum": d.quorum, "max_quorum": d.max_quorum,
            "key_servers": len(d.key_servers), "threshold": d.threshold,
            "counselors": [c.name for c in d.counselors], **stats}
