"""Configuration of the escrow server, and its key file (the log's).

Protocol v2: the escrow server issues nothing to key servers any more (no token issuer key); it
holds only the key that signs its transparency log's checkpoints.

Everything lives under one folder by default (``datadir.EscrowFolder``: the
``escrow/`` folder of a deployment's data folder), so an operator backs up one
folder; each path can be overridden (e.g. a PostgreSQL URL).
"""

from __future__ import annotations

import logging
import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path

from consilience import files, i18n
from consilience.crypto import signing
from consilience.datadir import EscrowFolder, defaults
from consilience.errors import InvalidInput
from consilience.i18n import N_, _
from consilience.protocol.messages import notify_address
from consilience.services.config import ConfigurationError, deployment_language
from consilience.services.escrow.limits import LimitSettings, Quotas, quotas_from_env
from consilience.services.escrow.page_settings import (  # PROTOCOL.md §14.2
    DEFAULT_AUTO_LOCK_SECONDS,
    DEFAULT_EXIT_URL,
    auto_lock_seconds_from_env,
    check_auto_lock_seconds,
    check_exit_url,
    exit_url_from_env,
)
from consilience.services.serving import TLSFiles, tls_files
from consilience.storage.database import sqlite_url

log = logging.getLogger(__name__)

#: PROTOCOL.md §9: every request body is bounded at the HTTP layer.
#: Above a submission with the largest body (MAX_BODY_BYTES in base64url) and envelopes.
MAX_REQUEST_BYTES = 8 * 1024 * 1024
KEY_BYTES = 32
#: The release pass (services/escrow/releases.py): mean seconds between passes, the spread of each
#: delay around it (a fraction: each delay is uniform in interval·[1 − jitter, 1 + jitter]), and the
#: fixed number of leaves each pass appends to the log (events it logs, padded up to that number).
RELEASE_INTERVAL_SECONDS = 300.0
RELEASE_JITTER = 0.5
LOG_BATCH_SIZE = 8
#: The log's integrator (services/escrow/integrator.py, PROTOCOL.md §11): the longest wait in seconds between
#: two integrations of sequenced events, the most events one integration appends (and signs one checkpoint
#: for), and how long a submission's answer waits for an in-process integrator to log it before it goes
#: out with ``receipt: null, sequenced: true`` (the client then fetches the receipt itself).
INTEGRATE_INTERVAL_SECONDS = 1.0
INTEGRATE_BATCH = 1024
RECEIPT_WAIT_SECONDS = 1.0
#: How long a bearer token (a session, PROTOCOL.md §6.1) is good for: a reporter's, a counselor's
#: (who reads released entries: shorter). Clients sign in again on their own when one expires.
REPORTER_SESSION_SECONDS = 12 * 3600.0
COUNSELOR_SESSION_SECONDS = 2 * 3600.0
#: PROTOCOL.md §13.5: a case nobody has reached out to for longer than this many days is flagged.
REACH_OUT_DAYS = 3.0

__all__ = ["ConfigurationError", "Settings", "SmtpSettings", "create_private_key", "load_private_key"]


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    #: The signed published document {document, signature, admin_key}.
    deployment_path: Path
    #: 32 raw bytes, the Ed25519 key that signs the transparency log's checkpoints.
    log_key_path: Path
    inbox_dir: Path
    max_request_bytes: int = MAX_REQUEST_BYTES
    #: Dotted path ("package.module:factory") of an alternative notifier;
    #: the factory is called with these settings. None: the inbox notifier; "smtp": mail (``smtp``).
    notifier: str | None = None
    #: The mail server the "smtp" notifier sends through (CONSILIENCE_SMTP_*); None: none configured.
    smtp: SmtpSettings | None = None
    #: uvicorn access logs name client addresses; off unless asked for.
    access_log: bool = False
    #: request budgets per address and per account
    limits: LimitSettings = field(default_factory=LimitSettings)
    #: what one account may hold at once: bytes and number of its active entries
    quotas: Quotas = field(default_factory=Quotas)
    release_interval: float = RELEASE_INTERVAL_SECONDS
    release_jitter: float = RELEASE_JITTER
    log_batch_size: int = LOG_BATCH_SIZE
    integrate_interval: float = INTEGRATE_INTERVAL_SECONDS
    integrate_batch: int = INTEGRATE_BATCH
    receipt_wait: float = RECEIPT_WAIT_SECONDS
    #: run the integrator in this server (``serve --no-integrator``, CONSILIENCE_INTEGRATOR=off: a separate
    #: ``consilience integrate`` process does it)
    integrator: bool = True
    reporter_session_seconds: float = REPORTER_SESSION_SECONDS
    counselor_session_seconds: float = COUNSELOR_SESSION_SECONDS
    #: The certificate and key it serves HTTPS with (--tls-cert, --tls-key); None: plain HTTP.
    tls: TLSFiles | None = None
    #: days after a match before a case nobody has reached out to is flagged (counselors' list)
    reach_out_days: float = REACH_OUT_DAYS
    #: where the web app's "Leave quickly" goes, and its lock after inactivity (PROTOCOL.md §14.2, page_settings)
    exit_url: str = DEFAULT_EXIT_URL
    auto_lock_seconds: float = DEFAULT_AUTO_LOCK_SECONDS
    #: the language of the notification mails and inbox files ($CONSILIENCE_LANGUAGE, services.config)
    language: str = field(default_factory=deployment_language)

    def __post_init__(self) -> None:
        object.__setattr__(self, "language", i18n.choose([self.language]).locale)
        check_reach_out_days(self.reach_out_days)
        check_exit_url(self.exit_url)
        check_auto_lock_seconds(self.auto_lock_seconds)
        if not (0 < self.reporter_session_seconds <= 90 * 86400 and 0 < self.counselor_session_seconds <= 90 * 86400):
            raise ConfigurationError(_("a session lasts a positive time of at most 90 days"))
        if not self.release_interval > 0 or not 0 <= self.release_jitter < 1:
            raise ConfigurationError(_("the release interval must be positive and its jitter between 0 and 1"))
        if not 1 <= self.log_batch_size <= 1000:
            raise ConfigurationError(_("a log batch holds 1 to 1000 leaves"))
        if not (0 < self.integrate_interval <= 60 and 1 <= self.integrate_batch <= 100_000
                and 0 <= self.receipt_wait <= 30):
            raise ConfigurationError(_("CONSILIENCE_INTEGRATE_INTERVAL is between 0 and 60 seconds, "
                                       "CONSILIENCE_INTEGRATE_BATCH between 1 and 100000 events, "
                                       "CONSILIENCE_RECEIPT_WAIT between 0 and 30 seconds"))

    @classmethod
    def for_data_dir(cls, data_dir: Path | str, *, database_url: str | None = None,
                     deployment_path: Path | None = None, log_key_path: Path | None = None,
                     inbox_dir: Path | None = None, max_request_bytes: int = MAX_REQUEST_BYTES,
                     notifier: str | None = None, smtp: SmtpSettings | None = None, access_log: bool = False,
                     limits: LimitSettings | None = None, release_interval: float | None = None,
                     release_jitter: float = RELEASE_JITTER, log_batch_size: int = LOG_BATCH_SIZE,
                     integrate_interval: float | None = None, integrate_batch: int | None = None,
                     receipt_wait: float | None = None, integrator: bool | None = None, tls: TLSFiles | None = None,
                     reporter_session_seconds: float = REPORTER_SESSION_SECONDS,
                     counselor_session_seconds: float = COUNSELOR_SESSION_SECONDS,
                     quotas: Quotas | None = None, reach_out_days: float | None = None,
                     exit_url: str | None = None, auto_lock_seconds: float | None = None,
                     language: str | None = None) -> Settings:
        """The escrow folder ``data_dir`` (a deployment's ``DATA_DIR/escrow``), any path overridden.

        ``release_interval`` None: $CONSILIENCE_RELEASE_INTERVAL if set, else RELEASE_INTERVAL_SECONDS.
        ``integrate_interval``, ``integrate_batch``, ``receipt_wait`` None: $CONSILIENCE_INTEGRATE_INTERVAL,
        $CONSILIENCE_INTEGRATE_BATCH, $CONSILIENCE_RECEIPT_WAIT if set, else the defaults; ``integrator`` None:
        False if $CONSILIENCE_INTEGRATOR is off, 0, no or false.
        ``quotas`` None: $CONSILIENCE_QUOTA_BYTES and $CONSILIENCE_QUOTA_ENTRIES if set, else the defaults.
        ``reach_out_days`` None: $CONSILIENCE_REACH_OUT_DAYS if set, else REACH_OUT_DAYS.
        ``exit_url``, ``auto_lock_seconds`` None: $CONSILIENCE_EXIT_URL, $CONSILIENCE_AUTO_LOCK_SECONDS, else defaults.
        ``language`` None: $CONSILIENCE_LANGUAGE if set, else English (``config.deployment_language``).
        """
        folder = EscrowFolder(Path(data_dir))
        return cls(
            data_dir=folder.root,
            database_url=database_url or sqlite_url(folder.database),
            deployment_path=deployment_path or folder.published,
            log_key_path=log_key_path or folder.log_key,
            inbox_dir=inbox_dir or folder.inbox,
            max_request_bytes=max_request_bytes,
            notifier=notifier,
            smtp=smtp,
            access_log=access_log,
            limits=limits or LimitSettings(),
            release_interval=release_interval if release_interval is not None else release_interval_from_env(),
            release_jitter=release_jitter,
            log_batch_size=log_batch_size,
            integrate_interval=integrate_interval if integrate_interval is not None
            else number_from_env("CONSILIENCE_INTEGRATE_INTERVAL", INTEGRATE_INTERVAL_SECONDS),
            integrate_batch=integrate_batch if integrate_batch is not None
            else int(number_from_env("CONSILIENCE_INTEGRATE_BATCH", INTEGRATE_BATCH, integer=True)),
            receipt_wait=receipt_wait if receipt_wait is not None
            else number_from_env("CONSILIENCE_RECEIPT_WAIT", RECEIPT_WAIT_SECONDS),
            integrator=integrator if integrator is not None
            else os.environ.get("CONSILIENCE_INTEGRATOR", "").strip().lower() not in ("off", "0", "no", "false"),
            tls=tls,
            reporter_session_seconds=reporter_session_seconds,
            counselor_session_seconds=counselor_session_seconds,
            quotas=quotas or quotas_from_env(),
            reach_out_days=reach_out_days if reach_out_days is not None else reach_out_days_from_env(),
            exit_url=exit_url if exit_url is not None else exit_url_from_env(),
            auto_lock_seconds=auto_lock_seconds if auto_lock_seconds is not None else auto_lock_seconds_from_env(),
            language=language if language is not None else deployment_language(),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: object) -> Settings:
        """CONSILIENCE_DATA_DIR, CONSILIENCE_DATABASE_URL, CONSILIENCE_NOTIFIER, CONSILIENCE_RELEASE_INTERVAL,
        CONSILIENCE_TLS_CERT and CONSILIENCE_TLS_KEY, CONSILIENCE_QUOTA_BYTES and CONSILIENCE_QUOTA_ENTRIES,
        CONSILIENCE_REACH_OUT_DAYS, CONSILIENCE_LANGUAGE."""
        kwargs: dict[str, object] = {
            "database_url": environ.get("CONSILIENCE_DATABASE_URL") or None,
            "notifier": environ.get("CONSILIENCE_NOTIFIER") or None,
        }
        kwargs["release_interval"] = release_interval_from_env(environ)
        kwargs["quotas"] = quotas_from_env(environ)
        kwargs["reach_out_days"] = reach_out_days_from_env(environ)
        kwargs["exit_url"] = exit_url_from_env(environ)
        kwargs["auto_lock_seconds"] = auto_lock_seconds_from_env(environ)
        kwargs["language"] = deployment_language(environ)
        kwargs["tls"] = tls_files(environ.get("CONSILIENCE_TLS_CERT"), environ.get("CONSILIENCE_TLS_KEY"),
                                  cert_option="CONSILIENCE_TLS_CERT", key_option="CONSILIENCE_TLS_KEY")
        kwargs["smtp"] = smtp_from_env(environ)  # CONSILIENCE_SMTP_*: see smtp_from_env
        kwargs.update(overrides)
        data_dir = environ.get("CONSILIENCE_DATA_DIR", str(defaults.DATA_DIR))
        return cls.for_data_dir(data_dir, **kwargs)  # type: ignore[arg-type]


def release_interval_from_env(environ: Mapping[str, str] = os.environ) -> float:
    """$CONSILIENCE_RELEASE_INTERVAL (seconds between release passes, on average), else the default."""
    interval = environ.get("CONSILIENCE_RELEASE_INTERVAL")
    if not interval:
        return RELEASE_INTERVAL_SECONDS
    try:
        return float(interval)
    except ValueError:
        raise ConfigurationError(_("CONSILIENCE_RELEASE_INTERVAL must be a number of seconds, not {interval}",
                                   interval=repr(interval))) \
            from None


def number_from_env(name: str, default: float, *, integer: bool = False,
                    environ: Mapping[str, str] = os.environ) -> float:
    """$``name`` as a number (a whole one if ``integer``), else ``default``; a clear error otherwise."""
    value = environ.get(name)
    if not value:
        return default
    try:
        return int(value) if integer else float(value)
    except ValueError:
        if integer:
            raise ConfigurationError(_("{name} must be a whole number, not {value}", name=name, value=repr(value))) \
                from None
        raise ConfigurationError(_("{name} must be a number, not {value}", name=name, value=repr(value))) from None


REACH_OUT_DAYS_HELP = N_("CONSILIENCE_REACH_OUT_DAYS is how many days after a match a case nobody has reached out to "
                         "is flagged: a positive number such as 3 or 1.5")


def check_reach_out_days(days: float) -> float:
    if not (isinstance(days, int | float) and math.isfinite(days) and 0 < days <= 3650):
        raise ConfigurationError(_("{rule} (at most 3650), not {value}", rule=_(REACH_OUT_DAYS_HELP), value=repr(days)))
    return float(days)


def reach_out_days_from_env(environ: Mapping[str, str] = os.environ) -> float:
    """$CONSILIENCE_REACH_OUT_DAYS (days before a case nobody reached out to is flagged), else the default."""
    value = environ.get("CONSILIENCE_REACH_OUT_DAYS")
    if not value:
        return REACH_OUT_DAYS
    try:
        return check_reach_out_days(float(value))
    except (ValueError, ConfigurationError):
        raise ConfigurationError(_("{rule} (at most 3650), not {value}", rule=_(REACH_OUT_DAYS_HELP),
                                   value=repr(value))) from None


def create_private_key(path: Path) -> bytes:
    """Write a new Ed25519 server key (mode 0600, never overwriting); return it."""
    private = signing.generate()
    files.write_private(path, private, exclusive=True)
    return private


def load_private_key(path: Path, what: str) -> bytes:
    """Read a server key (the log's); refuse a wrong size, warn about loose modes.

    Server keys are plain files readable by the owner only, not passphrase
    sealed: the escrow server must restart unattended after a crash.
    """
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise ConfigurationError(_("{what} key {path} is missing; run `consilience admin init`",
                                   what=what, path=path)) from exc
    if len(data) != KEY_BYTES:
        raise ConfigurationError(_("{what} key {path} must be {key_bytes} raw bytes",
                                   what=what, path=path, key_bytes=KEY_BYTES))
    if stat.S_IMODE(mode) & 0o077:
        log.warning("%s key %s is readable by group or others; chmod 600 it", what, path)
    return data


#: Mail for notifications (PROTOCOL.md §13.7; notifier.SmtpNotifier): how the server protects the
#: connection, and the port each way uses unless CONSILIENCE_SMTP_PORT says otherwise.
SMTP_SECURITY: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
SMTP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how the escrow server sends its "something is waiting" mail.

    "none" (no TLS) is refused unless the mail server is on this machine: notices carry no content,
    but an address and the time it was told something is waiting are for no one on the way to see.
    A password is read from a file (never from the environment, where other processes may see it).
    """

    host: str
    sender: str
    security: str = "starttls"
    port: int | None = None
    user: str | None = None
    password_file: Path | None = None
    #: certificates to trust for the mail server instead of the system's (a private CA)
    ca_file: Path | None = None
    timeout: float = SMTP_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if not self.host or any(ch.isspace() for ch in self.host):
            raise ConfigurationError(_("set CONSILIENCE_SMTP_HOST to the mail server's host name, like "
                                       "smtp.example.org"))
        if self.security not in SMTP_SECURITY:
            raise ConfigurationError(_("CONSILIENCE_SMTP_SECURITY is starttls, ssl or none, not {security}",
                                       security=repr(self.security)))
        if self.security == "none" and not _loopback(self.host):
            raise ConfigurationError(
                _("CONSILIENCE_SMTP_SECURITY=none (mail without TLS) is only allowed to a mail server on this "
                  "machine (localhost, 127.0.0.1, ::1), not {host}; use starttls or ssl",
                  host=repr(self.host)))
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ConfigurationError(_("CONSILIENCE_SMTP_PORT is a port number from 1 to 65535, not {port}",
                                       port=self.port))
        try:
            notify_address(self.sender)
        except InvalidInput as exc:
            raise ConfigurationError(_("set CONSILIENCE_SMTP_FROM to the address mail comes from: {exc}",
                                       exc=exc)) from None
        if (self.user is None) != (self.password_file is None):
            raise ConfigurationError(_("to log in to the mail server, set both CONSILIENCE_SMTP_USER and "
                                       "CONSILIENCE_SMTP_PASSWORD_FILE (a file holding the password); for no "
                                       "login, set neither"))
        if not 0 < self.timeout <= 300:
            raise ConfigurationError(_("the mail server's timeout is a positive number of seconds, at most 300"))

    @property
    def port_number(self) -> int:
        return self.port if self.port is not None else SMTP_SECURITY[self.security]

    def password(self) -> str | None:
        """The password file's first line; read when the server starts, so a missing file stops it then."""
        if self.password_file is None:
            return None
        try:
            lines = self.password_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(_("cannot read CONSILIENCE_SMTP_PASSWORD_FILE {password_file}: {strerror}",
                                       password_file=self.password_file,
                                       strerror=exc.strerror if isinstance(exc, OSError) else exc)) from None
        if not lines or not lines[0]:
            raise ConfigurationError(_("CONSILIENCE_SMTP_PASSWORD_FILE {password_file} is empty; put the mail "
                                       "server's password on its first line",
                                       password_file=self.password_file))
        if stat.S_IMODE(self.password_file.stat().st_mode) & 0o077:
            log.warning("the mail password file %s is readable by group or others; chmod 600 it", self.password_file)
        return lines[0]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def smtp_from_env(environ: Mapping[str, str] = os.environ) -> SmtpSettings | None:
    """CONSILIENCE_SMTP_HOST, _PORT, _FROM, _SECURITY (starttls, ssl or none), _USER, _PASSWORD_FILE and
    _CA_FILE; None when no host is set (then nothing is sent by mail)."""
    host = environ.get("CONSILIENCE_SMTP_HOST")
    if not host:
        return None
    port = environ.get("CONSILIENCE_SMTP_PORT") or None
    try:
        port_number = int(port) if port is not None else None
    except ValueError:
        raise ConfigurationError(_("CONSILIENCE_SMTP_PORT is a port number, not {port}", port=repr(port))) from None
    sender = environ.get("CONSILIENCE_SMTP_FROM")
    if not sender:
        raise ConfigurationError(_("set CONSILIENCE_SMTP_FROM to the address notification mail comes from, like "
                                   "consilience@example.org"))
    password_file = environ.get("CONSILIENCE_SMTP_PASSWORD_FILE") or None
    ca_file = environ.get("CONSILIENCE_SMTP_CA_FILE") or None
    return SmtpSettings(host=host, sender=sender, security=environ.get("CONSILIENCE_SMTP_SECURITY") or "starttls",
                        port=port_number, user=environ.get("CONSILIENCE_SMTP_USER") or None,
                        password_file=Path(password_file) if password_file else None,
                        ca_file=Path(ca_file) if ca_file else None)
