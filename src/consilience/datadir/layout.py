"""Where each party's files live under one data folder.

One deployment on one machine keeps everything in one folder, so an operator backs up one
folder and every tool finds the files without being told::

    DATA_DIR/
      admin/admin.key                  the administrator's signing key, sealed under a passphrase
      admin/deployment.json            the deployment document, unsigned (what the admin edits)
      escrow/                          the escrow server's folder (``consilience serve``)
        deployment.signed.json         the signed document it publishes
        token-issuer.key               signs key-server access tokens
        log.key                        signs the transparency log's checkpoints
        escrow.sqlite                  the default database
        inbox/                         match notifications, one folder per counselor
      keyserver-N/                     key server N's folder (``consilience keyserver --index N``); on
                                       separate machines each operator's own folder (``--folder``)
        keyserver.json                 which deployment it serves: escrow server, administrator's public key,
                                       deployment id (nothing secret)
        enrollment.json                its public keys and address, for the administrator (nothing secret)
        identity.key                   its Ed25519 identity key (signs its key-generation messages)
        hpke.key                       its X-Wing key (the other key servers seal their dealt shares to it)
        keygen-seed.json               while a key generation runs: its dealer seed and deal (then erased)
        quorum-keys.json               the result in force: its one share of the VOPRF key and of every
                                       coefficient of every level, the abscissa key
        quorum-keys-next.json          a renewal's result, until the administrator publishes it (then it
                                       replaces quorum-keys.json, and the old shares are erased)
        web-origins.json               the origins browsers may call it from (CORS)
      logs/                            the launcher's service logs (demo, tests)
      counselor/counselor.key          on one machine (demo, browser tests), the parties' own
      reporter-N/wallet.sealed           devices are folders here too

The escrow server is also run on a folder of its own (``python -m consilience.services.escrow``,
tests): ``EscrowFolder`` is that folder's map, whether or not it sits inside a ``DataDir``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MEMBERSHIP_FILE = "keyserver.json"
ENROLLMENT_FILE = "enrollment.json"
WEB_ORIGINS_FILE = "web-origins.json"
IDENTITY_KEY_FILE = "identity.key"
HPKE_KEY_FILE = "hpke.key"
KEYGEN_SEED_FILE = "keygen-seed.json"
QUORUM_KEYS_FILE = "quorum-keys.json"
NEXT_QUORUM_KEYS_FILE = "quorum-keys-next.json"
RECOVERY_ATTEMPTS_FILE = "recovery.sqlite3"


@dataclass(frozen=True)
class EscrowFolder:
    """The escrow server's files; everything it reads or writes unless told otherwise."""

    root: Path

    @property
    def published(self) -> Path:
        """The signed deployment document {document, signature, admin_key}."""
        return self.root / "deployment.signed.json"

    @property
    def log_key(self) -> Path:
        return self.root / "log.key"

    @property
    def database(self) -> Path:
        """The SQLite file used when no database URL is given."""
        return self.root / "escrow.sqlite"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"


@dataclass(frozen=True)
class KeyServerFolder:
    """Key server ``index``'s files: its keys, its shares and whom it lets browsers call it from.

    Every file here but ``web-origins.json``, ``keyserver.json`` and ``enrollment.json`` is a secret,
    written 0600 (``files.write_private``). No file holds more than this one key server's shares.
    """

    root: Path
    index: int

    @property
    def membership(self) -> Path:
        """Which deployment it serves (``datadir.share_file.Membership``)."""
        return self.root / MEMBERSHIP_FILE

    @property
    def enrollment(self) -> Path:
        """Its public keys and address as the administrator adds it (``consilience keyserver init``)."""
        return self.root / ENROLLMENT_FILE

    @property
    def identity_key(self) -> Path:
        """Its Ed25519 identity key (32 bytes): the deployment document lists the public half."""
        return self.root / IDENTITY_KEY_FILE

    @property
    def hpke_key(self) -> Path:
        """Its X-Wing HPKE private seed (32 bytes): the deployment document lists the public key."""
        return self.root / HPKE_KEY_FILE

    @property
    def keygen_seed(self) -> Path:
        """Its dealer seed and deal while a key generation runs, so a restart answers complaints."""
        return self.root / KEYGEN_SEED_FILE

    @property
    def recovery_attempts(self) -> Path:
        """Its count of recovery tries per account handle and the unlock codes used (PROTOCOL.md §14.1)."""
        return self.root / RECOVERY_ATTEMPTS_FILE

    @property
    def quorum_keys(self) -> Path:
        """The confirmed result of its key generation: shares of every level, abscissa key, epoch."""
        return self.root / QUORUM_KEYS_FILE

    @property
    def next_quorum_keys(self) -> Path:
        """A refresh's or resharing's confirmed result, until the deployment document publishes it."""
        return self.root / NEXT_QUORUM_KEYS_FILE

    @property
    def web_origins(self) -> Path:
        """Origins whose web pages may call this key server (CORS): by default the escrow server's."""
        return self.root / WEB_ORIGINS_FILE


@dataclass(frozen=True)
class DataDir:
    """A deployment's data folder, with every party on one machine (the layout above)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def admin_key(self) -> Path:
        return self.root / "admin" / "admin.key"

    @property
    def deployment(self) -> Path:
        return self.root / "admin" / "deployment.json"

    @property
    def escrow(self) -> EscrowFolder:
        return EscrowFolder(self.root / "escrow")

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def holds_deployment(self) -> bool:
        """Whether ``admin init`` wrote a deployment here (the administrator's document or the
        escrow server's signed one); commands check it first, so a wrong folder is named as such."""
        return self.deployment.is_file() or self.escrow.published.is_file()

    def keyserver(self, index: int) -> KeyServerFolder:
        return KeyServerFolder(self.root / f"keyserver-{index}", index)

    # A real counselor's key and a reporter's wallet live on their own devices (CONSILIENCE_HOME);
    # a deployment on one machine keeps stand-ins for those devices in the data folder.

    @property
    def counselor_key(self) -> Path:
        return self.root / "counselor" / "counselor.key"

    def reporter_wallet(self, n: int) -> Path:
        return self.root / f"reporter-{n}" / "wallet.sealed"


def shown(folder: Path | str) -> str:
    """A folder as the person named it, ``./``-prefixed when relative (``./consilience-data``), for messages."""
    text = str(folder)
    if text in (os.curdir, os.pardir) or Path(text).is_absolute() or text.startswith((os.curdir + os.sep,
                                                                                        os.pardir + os.sep)):
        return text
    return os.curdir + os.sep + text
