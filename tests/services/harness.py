"""A throwaway escrow server for tests: signed v2 deployment, log key, database, client.

The deployment is real (key-server identity and X-Wing keys, HPKE counselor keys, administrator
signature) so the server's full document verification runs. It is the document before the key
servers' result: no VOPRF key nor quorum keys yet (``quorum_keys=None``), and ``key_change`` asks
the key servers to generate them; the escrow server never reads either.

Reporters register as protocol v2 has them: the administrator certifies a fresh account key
(``accounts.issue_certificate``), the invite row holds that certificate, and the reporter proves
it holds the key (``accounts.registration_proof``). The release pass runs only when a test calls
``Escrow.run_pass`` (the background thread is off), so every test is deterministic.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from consilience.crypto import hpke, signing
from consilience.datadir.share_file import KeyServerKeys
from consilience.protocol import accounts
from consilience.protocol import deployment as deployment_doc
from consilience.protocol.deployment import Counselor, Deployment, KeyChange, KeyServer
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.services.escrow import create_app, releases
from consilience.services.escrow.notifier import Notifier
from consilience.services.escrow.settings import Settings, create_private_key
from consilience.storage import repository
from consilience.storage.database import Database
from v2_world import CounselorKeys, make_counselor

API = "/v2"


def b64(data: bytes) -> str:
    return b64u_encode(data)


@cache
def key_server_keys(index: int) -> KeyServerKeys:
    """X-Wing key generation is the slow part of a setup: one set of keys per key server for every test."""
    del index  # one set per index, cached
    return KeyServerKeys(signing.generate(), hpke.generate_private_key())


@dataclass
class Reporter:
    account_id: bytes
    token: bytes
    seed: bytes = b""
    certificate: bytes = b""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {b64(self.token)}"}


@dataclass
class Escrow:
    settings: Settings
    client: TestClient
    admin_private: bytes
    deployment: Deployment
    counselors: list[CounselorKeys]
    db: Database
    published: list[Deployment] = field(default_factory=list)

    # -- administration, straight on the database as the admin CLI does ----

    def certificate(self, seed: bytes) -> bytes:
        return accounts.issue_certificate(self.admin_private, self.deployment.deployment_id,
                                          accounts.account_key(seed))

    def invite(self, expires_in: timedelta = timedelta(days=14), *, certificate: bytes | None = None) -> bytes:
        """A new invite: its account seed (what ``cnsl2.`` invites carry), the certificate stored."""
        seed = os.urandom(32)
        with self.db.write() as session:
            repository.create_invite(session, certificate or self.certificate(seed), expires_in)
        return seed

    def counselor_credential(self, counselor: CounselorKeys) -> bytes:
        """A counselor account, as ``admin counselor add`` makes it: its credential (it only signs in)."""
        with self.db.write() as session:
            return repository.add_counselor_account(session, counselor.name, counselor.key_id)

    def counselor_headers(self, counselor: CounselorKeys) -> dict[str, str]:
        """A new counselor account, signed in with its credential: the headers of its session."""
        answer = self.client.post(f"{API}/login/counselor",
                                  headers={"Authorization": f"Bearer {b64(self.counselor_credential(counselor))}"})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def counts(self) -> dict[str, int]:
        with self.db.read() as session:
            return repository.row_counts(session)

    def publish(self, deployment: Deployment) -> None:
        write_signed(self.settings.deployment_path, deployment, self.admin_private)
        self.deployment = deployment

    @property
    def state(self) -> Any:
        return self.client.app.state.escrow  # type: ignore[attr-defined]

    def run_pass(self) -> releases.PassResult:
        """One release pass, now (the background thread is off in tests)."""
        return releases.run_pass(self.state)

    # -- reporter side ------------------------------------------------------

    def register(self, seed: bytes) -> Any:
        return self.client.post(f"{API}/register", json=registration(seed, self.deployment.deployment_id))

    def reporter(self) -> Reporter:
        seed = self.invite()
        response = self.register(seed)
        assert response.status_code == 201, response.text
        body = response.json()
        return Reporter(b64u_decode(body["account_id"]), b64u_decode(body["token"]), seed,
                        b64u_decode(body["certificate"]))

    def submission(self, *, tags: list[bytes] | None = None, quorum: int = 2,
                   entry_id: bytes | None = None, body: bytes | None = None,
                   key_ids: list[bytes] | None = None, serial: int | None = None) -> dict[str, Any]:
        """A well-formed submission; bodies and envelopes are random bytes (ciphertext-like)."""
        return {
            "entry_id": b64(entry_id or os.urandom(16)),
            "quorum": quorum,
            "tags": [b64(t) for t in (tags if tags is not None else [os.urandom(32)])],
            "body": b64(body if body is not None else os.urandom(300)),
            "envelopes": [{"key_id": b64(k), "ciphertext": b64(os.urandom(200))}
                          for k in (key_ids if key_ids is not None else [c.key_id for c in self.counselors])],
            "deployment_serial": serial if serial is not None else self.deployment.serial,
        }

    def submit(self, reporter: Reporter, submission: dict[str, Any]) -> Any:
        return self.submit_as(reporter.headers, submission)

    def submit_as(self, headers: dict[str, str], submission: dict[str, Any]) -> Any:
        return self.client.post(f"{API}/entries", json=submission, headers=headers)

    def stored_status(self, entry_id: str) -> str:
        """The server's own status of an entry (never shown to reporters)."""
        with self.db.read() as session:
            entry = repository.get_entry(session, b64u_decode(entry_id))
            assert entry is not None
            return entry.status


def registration(seed: bytes, deployment_id: bytes) -> dict[str, str]:
    return {"account_key": b64(accounts.account_key(seed)),
            "proof": b64(accounts.registration_proof(seed, deployment_id))}


def make_deployment(counselors: list[CounselorKeys], serial: int = 1, log_public: bytes | None = None,
                    deployment_id: bytes | None = None) -> Deployment:
    deployment_id = deployment_id or os.urandom(16)
    servers = tuple(KeyServer(i, f"http://127.0.0.1:{8100 + i}", b"", key_server_keys(i).identity_key,
                              key_server_keys(i).hpke_public_key) for i in range(1, 4))
    return Deployment(
        deployment_id=deployment_id,
        serial=serial,
        issued_at="2026-11-25T10:00:00Z",
        quorum=2,
        max_quorum=5,
        escrow_url="http://127.0.0.1:8100",
        threshold=2,
        oprf_public_key=b"",
        key_servers=servers,
        counselors=tuple(Counselor(c.name, c.key_id, c.public_key) for c in counselors),
        log_origin=f"consilience.log/{deployment_id.hex()}",
        log_public_key=log_public or signing.public_key(signing.generate()),
        key_change=KeyChange(1, "generate", 2, servers),
    )


def newer(deployment: Deployment, **changes: Any) -> Deployment:
    return replace(deployment, serial=deployment.serial + 1, **changes)


def write_signed(path: Path, deployment: Deployment, admin_private: bytes) -> None:
    data = json.dumps(deployment_doc.sign(deployment, admin_private)).encode()
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    stat = path.stat()  # make the change visible even within one mtime tick
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def build(data_dir: Path, *, database_url: str | None = None, notifier: Notifier | None = None,
          release_pass: bool = False, integrate: bool | None = None, **settings_overrides: Any) -> Escrow:
    settings = Settings.for_data_dir(data_dir, database_url=database_url, **settings_overrides)
    log_private = create_private_key(settings.log_key_path)
    admin_private = signing.generate()
    counselors = [make_counselor("Ana Counselor"), make_counselor("bo")]
    deployment = make_deployment(counselors, log_public=signing.public_key(log_private))
    write_signed(settings.deployment_path, deployment, admin_private)
    app = create_app(settings, notifier=notifier, release_pass=release_pass, integrate=integrate)
    client = TestClient(app)
    return Escrow(settings, client, admin_private, deployment, counselors, Database(settings.database_url))
