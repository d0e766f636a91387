"""The signed deployment document the server publishes and checks entries against.

The administrator may publish a new document (new counselor, new serial)
while the server runs; the file is re-read when it changes
(``services.config.ReloadingFile``). A new file that does not verify, lowers
the serial or names another log key is refused with an error in the log, and
the last good document stays in force: a half-written or foreign file must
never make the server accept envelopes for keys the administrator did not
sign. A protocol v1 document is refused by name: this server speaks v2.

The administrator's public key comes with the document; registration checks
each invite's account certificate against it (PROTOCOL.md §6), so whoever
runs the server cannot create accounts by writing invites into the database.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from consilience.errors import ConsilienceError, InvalidInput
from consilience.i18n import _
from consilience.protocol import deployment as deployment_doc
from consilience.protocol.deployment import Deployment
from consilience.protocol.encoding import b64u_decode
from consilience.protocol.messages import SignedDeployment
from consilience.services.config import ConfigurationError, ReloadingFile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    raw: bytes  # the file exactly as the administrator wrote it
    deployment: Deployment
    #: the administrator's Ed25519 public key, which signed the document (and every account certificate)
    admin_key: bytes

    @property
    def counselor_key_ids(self) -> frozenset[bytes]:
        return frozenset(c.key_id for c in self.deployment.counselors)


def load(path: Path, log_public: bytes) -> Published:
    """Read and fully verify one published document (signature, keys, bounds)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(_("cannot read deployment document {path}: {strerror}",
                                   path=path, strerror=exc.strerror)) from exc
    try:
        published = SignedDeployment.model_validate(json.loads(raw)).model_dump()
        _refuse_v1(published["document"])
        admin_key = b64u_decode(published["admin_key"], length=32, field="admin_key")
        # The server trusts the key in its own file; clients pin it via invites.
        deployment = deployment_doc.verify(published, deployment_doc.admin_fingerprint(admin_key))
    except (ValueError, ConsilienceError) as exc:
        raise ConfigurationError(_("deployment document {path} does not verify: {exc}", path=path, exc=exc)) from exc
    if deployment.log_public_key != log_public:
        raise ConfigurationError(_("deployment document {path} names a different log key than {parent}'s",
                                   path=path, parent=path.parent))
    return Published(raw=raw, deployment=deployment, admin_key=admin_key)


def _refuse_v1(document: str) -> None:
    """A v1 document is signed under v1's prefix, so the v2 signature check alone would only say "bad signature"."""
    try:
        fmt = json.loads(b64u_decode(document, field="document")).get("format")
    except (ValueError, AttributeError, ConsilienceError):
        return  # verify() says what is wrong with it
    if fmt == deployment_doc.V1_FORMAT:
        raise InvalidInput(_(deployment_doc.V1_REFUSAL))


class DeploymentStore(ReloadingFile[Published]):
    """The current published document, reloaded when the file changes."""

    kept_on = (ConfigurationError,)

    def __init__(self, path: Path, log_public: bytes) -> None:
        self._log_public = log_public
        super().__init__(path)

    def load(self, path: Path) -> Published:
        return load(path, self._log_public)

    def check(self, current: Published, fresh: Published) -> None:
        old, new = current.deployment, fresh.deployment
        if new.deployment_id != old.deployment_id or new.serial < old.serial:
            raise ConfigurationError(_("new file is another deployment or an older serial"))
        if fresh.admin_key != current.admin_key:
            raise ConfigurationError(_("new file is signed by another administrator"))

    def kept(self, current: Published, reason: Exception) -> None:
        log.error("keeping deployment serial %d: %s", current.deployment.serial, reason)

    def replaced(self, old: Published, new: Published) -> None:
        if new.deployment.serial != old.deployment.serial:
            log.info("deployment serial %d now in force", new.deployment.serial)
