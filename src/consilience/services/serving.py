"""Serving an application with uvicorn, and saying so once the port is bound.

Both servers start the same way: build the application (a bad setup fails before anything
listens), bind, then say once where they listen. ``serve`` calls ``on_ready`` only after the
socket is bound, so a script that waits for the ready line (``consilience serve --json``) can
connect at once; a server that cannot bind or start raises ``ConfigurationError`` instead of
exiting, so the CLI answers with its usual ``error:`` line (and ``{"error": …}`` with --json).

With a certificate and its key (``--tls-cert``/``--tls-key``, :class:`TLSFiles`) a server speaks
HTTPS itself; both files are checked before anything is built or bound (readable, a PEM
certificate, an unencrypted PEM key that belongs to it). Without them a server listening off
loopback says once that it must be reached over TLS: a reverse proxy may terminate it
(``--trusted-proxy``), so it is a warning, not a refusal.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import ssl
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm

from consilience.datadir import defaults
from consilience.services.config import ConfigurationError

log = logging.getLogger(__name__)

#: One format for both servers' logs (stderr).
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: TLS 1.2's suites with forward secrecy and authenticated encryption (TLS 1.3's are always on);
#: uvicorn's own default ("TLSv1") would also offer CBC suites without forward secrecy.
TLS_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


@dataclass(frozen=True)
class TLSFiles:
    """A server's TLS certificate (PEM, leaf first, then any intermediates) and its private key (PEM)."""

    cert: Path
    key: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "cert", Path(self.cert))
        object.__setattr__(self, "key", Path(self.key))

    def check(self) -> None:
        """Refuse, in words, files that cannot serve TLS; warn about a key others may read.

        Raises ConfigurationError for an unreadable file, a certificate that is not PEM, a key
        that is not PEM or is sealed with a passphrase (the server must restart unattended), and
        a key that does not belong to the certificate.
        """
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        cert = _read(self.cert, "TLS certificate (--tls-cert)")
        key = _read(self.key, "TLS private key (--tls-key)")
        try:
            leaf = x509.load_pem_x509_certificates(cert)[0]
        except ValueError:
            raise ConfigurationError(f"the TLS certificate {self.cert} is not a PEM certificate (a file starting "
                                     "with -----BEGIN CERTIFICATE-----). Pass the certificate file, leaf "
                                     "first, then any intermediate certificates.") from None
        try:
            serialization.load_pem_private_key(key, password=None)
        except TypeError:
            raise ConfigurationError(f"the TLS private key {self.key} is sealed with a passphrase; the server "
                                     "must restart unattended, so give it an unencrypted key readable only "
                                     "by its own user (e.g. openssl pkey -in KEY -out NEW_KEY).") from None
        except (ValueError, UnsupportedAlgorithm):
            raise ConfigurationError(f"the TLS private key {self.key} is not a PEM private key (a file starting "
                                     "with -----BEGIN PRIVATE KEY----- or similar). Pass the key of the "
                                     "certificate, not the certificate itself.") from None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:  # an empty passphrase: never a prompt (a sealed key was refused above)
            context.load_cert_chain(self.cert, self.key, password=b"")
        except ssl.SSLError as exc:
            if exc.reason == "KEY_VALUES_MISMATCH":
                raise ConfigurationError(f"the TLS private key {self.key} does not belong to the certificate "
                                         f"{self.cert}. Pass the key the certificate was issued for; nothing "
                                         "was started.") from None
            raise ConfigurationError(f"the TLS certificate {self.cert} and key {self.key} cannot be used "
                                     f"({exc.reason or exc}). Check both files; nothing was started.") from None
        now = datetime.now(UTC)
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            log.warning("the TLS certificate %s is valid only from %s to %s: clients will refuse it until it "
                        "is renewed", self.cert, leaf.not_valid_before_utc.isoformat(),
                        leaf.not_valid_after_utc.isoformat())
        if stat.S_IMODE(self.key.stat().st_mode) & 0o077:
            log.warning("the TLS private key %s is readable by group or others; chmod 600 it", self.key)

    def uvicorn_options(self) -> dict[str, Any]:
        return {"ssl_certfile": str(self.cert), "ssl_keyfile": str(self.key), "ssl_ciphers": TLS_CIPHERS}


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the {what} {path}: {exc.strerror or exc}. Check the path and "
                                 "that the server's user may read it; nothing was started.") from None


def tls_files(cert: Path | str | None, key: Path | str | None, *, cert_option: str = "--tls-cert",
              key_option: str = "--tls-key") -> TLSFiles | None:
    """Both files, or neither (plain HTTP); one without the other is refused. Not read here: :meth:`TLSFiles.check`."""
    if not cert and not key:
        return None
    if not cert or not key:
        given, missing = (cert_option, key_option) if cert else (key_option, cert_option)
        raise ConfigurationError(f"{given} was given without {missing}: serving TLS needs both the certificate "
                                 f"({cert_option}) and its private key ({key_option}). Pass both, or neither to "
                                 "serve plain HTTP behind a reverse proxy that terminates TLS.")
    return TLSFiles(Path(cert), Path(key))


def check_tls(tls: TLSFiles | None) -> None:
    """:meth:`TLSFiles.check`, if there are TLS files: call it before building anything."""
    if tls is not None:
        tls.check()


def is_loopback(host: str) -> bool:
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plain_http_warning(host: str, tls: TLSFiles | None) -> str | None:
    """What a server listening on ``host`` without TLS should say, if anything."""
    if tls is not None or is_loopback(host):
        return None
    return (f"listening on {host} without TLS: key servers and the escrow server must be reached over TLS "
            "(https://). Pass --tls-cert and --tls-key, or put a reverse proxy that terminates TLS in front "
            "(and name it with --trusted-proxy).")


@dataclass(frozen=True)
class Listening:
    """Where a server listens, once it does."""

    host: str
    port: int
    pid: int
    tls: bool = False

    @property
    def url(self) -> str:
        url = defaults.url(self.host, self.port)
        return "https://" + url.removeprefix("http://") if self.tls else url


def configure_logging() -> None:
    """INFO and above to stderr, unless the embedding program configured logging itself."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a key server reads the board every second


def proxy_options(trusted_proxies: Sequence[str] = ()) -> dict[str, Any]:
    """uvicorn's proxy-header settings: X-Forwarded-For believed only from ``trusted_proxies``.

    uvicorn's own default believes it from 127.0.0.1 (or $FORWARDED_ALLOW_IPS), so any process on
    the machine could name itself a fresh client address and a fresh per-address budget. Here no
    proxy is trusted unless the operator names one.
    """
    proxies = [p.strip() for p in trusted_proxies if p.strip()]
    if not proxies:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": proxies}


#: How long a stopping server waits for requests under way (uvicorn's ``timeout_graceful_shutdown``).
GRACEFUL_SHUTDOWN_SECONDS = 5


def serve(app: Any, *, host: str, port: int, on_ready: Callable[[Listening], None] | None = None,
          trusted_proxies: Sequence[str] = (), tls: TLSFiles | None = None, **options: Any) -> None:
    """Serve ``app`` on ``host:port`` until interrupted; ``options`` go to ``uvicorn.Config``.

    X-Forwarded-For is believed only from ``trusted_proxies`` (:func:`proxy_options`). With
    ``tls`` the server speaks HTTPS (the files are checked first); without it, off loopback, it
    warns that it must be reached over TLS.
    """
    import uvicorn

    check_tls(tls)
    warning = plain_http_warning(host, tls)
    if warning:
        log.warning("%s", warning)
    # On SIGTERM, requests under way get this long to finish before their connections are closed: a
    # client's connection that never goes quiet (a key server's poll, a slow reader) must not keep the
    # server from stopping. Nothing is lost by it: an entry is acknowledged only after its commit.
    options = {"timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS, **proxy_options(trusted_proxies),
               **(tls.uvicorn_options() if tls else {}), **options}
    scheme_url = Listening(host, port, 0, tls is not None).url

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and on_ready is not None:
                bound = self.servers[0].sockets[0].getsockname()[1] if self.servers else port
                on_ready(Listening(host, int(bound), os.getpid(), tls is not None))

    server = Server(uvicorn.Config(app, host=host, port=port, log_config=None, **options))
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits when it cannot bind or the application fails to start
        raise ConfigurationError(f"the server did not start on {scheme_url} "
                                 "(the reason is in the log line above)") from exc
    if not server.started:
        raise ConfigurationError(f"the server did not start on {scheme_url} "
                                 "(the reason is in the log line above)")
