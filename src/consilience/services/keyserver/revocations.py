"""The administrator's revocation list at a key server (PROTOCOL.md §6.2).

Key servers check account certificates themselves, so they must also know which accounts the
administrator revoked. A poller thread fetches ``GET /v2/revocations`` from the escrow server every
``CONSILIENCE_REVOCATION_POLL_SECONDS`` (default 5), checks the administrator's signature with the
key the key server already holds, and keeps the list only if its serial is newer than the one it
holds: an older list, one signed by anyone else or for another deployment is refused and logged,
and changes nothing. ``/v2/evaluate`` refuses a revoked account's requests (401) before any budget
is charged.

What "at once" means here: a key server refuses a revoked account within one poll interval of the
revocation (plus the fetch itself) while the escrow server is reachable; while it is not, the key
server keeps the newest list it has. The escrow server can delay a newer list, not forge one.

The newest list is also kept in the key server's folder (``revocations.json``, as published, checked
again when read), so a restart does not forget a revocation while the escrow server is unreachable.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from consilience import files
from consilience.clients.http import client as http_client
from consilience.errors import ConsilienceError
from consilience.i18n import N_
from consilience.protocol import revocations as rl

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
REVOKED = N_("this account was revoked by the deployment's administrator; its requests are no longer answered. Ask "
             "the administrator if you think this is a mistake")
POLL_ENV = "CONSILIENCE_REVOCATION_POLL_SECONDS"


def poll_seconds(environ: Any = os.environ) -> float:
    """$CONSILIENCE_REVOCATION_POLL_SECONDS, else POLL_SECONDS (at least 0.1)."""
    try:
        return max(0.1, float(environ.get(POLL_ENV) or POLL_SECONDS))
    except ValueError:
        return POLL_SECONDS


@dataclass
class Holder:
    """The newest list this key server has accepted (serial 0, nothing revoked, before the first)."""

    admin_key: bytes
    deployment_id: bytes
    #: where the newest accepted list is kept (None: in memory only)
    store: Path | None = None
    current: rl.RevocationList = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.current = rl.empty(self.deployment_id)
        if self.store is not None and self.store.is_file():
            try:
                self.offer(json.loads(self.store.read_text()), keep=False)
            except (OSError, ValueError, ConsilienceError) as exc:
                log.warning("the kept revocation list %s is refused (%s); waiting for the escrow server's", self.store,
                            exc)

    def offer(self, published: Any, *, keep: bool = True) -> bool:
        """Keep ``published`` if it verifies and is newer; whether it was kept (InvalidInput, VerificationError)."""
        revocations = rl.verify(published, self.admin_key, self.deployment_id)
        with self.lock:
            if revocations.serial <= self.current.serial:
                return False
            self.current = revocations
            if keep and self.store is not None:
                files.write_private(self.store, json.dumps(published, sort_keys=True).encode())
        log.info("revocation list %d: %d account(s) revoked", revocations.serial, len(revocations.accounts))
        return True

    def revoked(self, account_key: bytes) -> bool:
        with self.lock:
            return account_key in self.current.accounts

    @property
    def serial(self) -> int:
        with self.lock:
            return self.current.serial


STORE_FILE = "revocations.json"


def holder(app_state: Any, admin_key: bytes, deployment_id: bytes, store: Path | None = None) -> Holder:
    """The holder kept on the application (``app.state``), made on first use."""
    found = getattr(app_state, "revocations", None)
    if not isinstance(found, Holder):
        found = Holder(admin_key, deployment_id, store)
        app_state.revocations = found
    return found


def poll_once(held: Holder, client: httpx.Client) -> bool:
    """Fetch the escrow server's newest list once; whether a newer one was kept. Failures are logged."""
    try:
        response = client.get("/v2/revocations", headers={"Cache-Control": "no-cache"})
    except httpx.HTTPError as exc:
        log.debug("revocation list not fetched: %s", exc)
        return False
    if response.status_code == 404:
        return False
    if response.status_code != 200:
        log.warning("the escrow server answered %d for the revocation list", response.status_code)
        return False
    try:
        return held.offer(response.json())
    except (ValueError, ConsilienceError) as exc:
        log.warning("refused a revocation list from the escrow server: %s", exc)
        return False


def start(app_state: Any, admin_key: bytes, deployment_id: bytes, escrow_url: str, stop: threading.Event,
          interval: float | None = None, folder: Path | None = None) -> threading.Thread:
    """Poll ``escrow_url`` every ``interval`` seconds until ``stop`` is set, in a daemon thread; the newest
    list is kept in ``folder`` (the key server's)."""
    held = holder(app_state, admin_key, deployment_id, None if folder is None else Path(folder) / STORE_FILE)
    every = poll_seconds() if interval is None else interval

    def run() -> None:
        # through clients.http, so that --ca-file / CONSILIENCE_CA_FILE is trusted here too
        with http_client(base_url=escrow_url.rstrip("/"), timeout=max(2.0, every)) as client:
            while not stop.is_set():
                poll_once(held, client)
                stop.wait(every)

    thread = threading.Thread(target=run, name="revocations", daemon=True)
    thread.start()
    return thread
