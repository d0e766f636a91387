"""Configuration of the escrow server, and its token-issuer key file.

Everything lives under one data directory by default, so an operator backs
up one directory; each path can be overridden (e.g. a PostgreSQL URL).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from consilience.crypto import signing
from consilience.errors import ConsilienceError
from consilience.storage.database import default_url

log = logging.getLogger(__name__)

#: PROTOCOL.md §9: every request body is bounded at the HTTP layer.
MAX_REQUEST_BYTES = 1024 * 1024
ISSUER_KEY_BYTES = 32


class ConfigurationError(ConsilienceError):
    """The server cannot start or serve with the files it was given."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    #: The signed published document {document, signature, admin_key}.
    deployment_path: Path
    #: 32 raw bytes, the Ed25519 key that signs key-server access tokens.
    issuer_key_path: Path
    inbox_dir: Path
    max_request_bytes: int = MAX_REQUEST_BYTES
    #: Dotted path ("package.module:factory") of an alternative notifier;
    #: the factory is called with these settings. None: the inbox notifier.
    notifier: str | None = None
    #: uvicorn access logs name client addresses; off unless asked for.
    access_log: bool = False

    @classmethod
    def for_data_dir(cls, data_dir: Path | str, *, database_url: str | None = None,
                     deployment_path: Path | None = None, issuer_key_path: Path | None = None,
                     inbox_dir: Path | None = None, max_request_bytes: int = MAX_REQUEST_BYTES,
                     notifier: str | None = None, access_log: bool = False) -> Settings:
        data = Path(data_dir)
        return cls(
            data_dir=data,
            database_url=database_url or default_url(data),
            deployment_path=deployment_path or data / "deployment.signed.json",
            issuer_key_path=issuer_key_path or data / "token-issuer.key",
            inbox_dir=inbox_dir or data / "inbox",
            max_request_bytes=max_request_bytes,
            notifier=notifier,
            access_log=access_log,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: object) -> Settings:
        """CONSILIENCE_DATA_DIR, CONSILIENCE_DATABASE_URL, CONSILIENCE_NOTIFIER."""
        kwargs: dict[str, object] = {
            "database_url": environ.get("CONSILIENCE_DATABASE_URL") or None,
            "notifier": environ.get("CONSILIENCE_NOTIFIER") or None,
        }
        kwargs.update(overrides)
        data_dir = environ.get("CONSILIENCE_DATA_DIR", "consilience-data")
        return cls.for_data_dir(data_dir, **kwargs)  # type: ignore[arg-type]


def create_issuer_key(path: Path) -> bytes:
    """Write a new token-issuer key (mode 0600, never overwriting); return it."""
    private = signing.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
        handle.flush()
        os.fsync(handle.fileno())
    return private


def load_issuer_key(path: Path) -> bytes:
    """Read the token-issuer key; refuse a wrong size, warn about loose modes."""
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise ConfigurationError(f"token issuer key {path} is missing; run `consilience admin init`") from exc
    if len(data) != ISSUER_KEY_BYTES:
        raise ConfigurationError(f"token issuer key {path} must be {ISSUER_KEY_BYTES} raw bytes")
    if stat.S_IMODE(mode) & 0o077:
        log.warning("token issuer key %s is readable by group or others; chmod 600 it", path)
    return data
