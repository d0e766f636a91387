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

Several workers (``serve_workers``, ``consilience serve --workers N``): the parent binds the socket,
forks N processes that each build their own application (their own engine, threads, pool) and
accept on that one socket, and says it is ready once every worker is. It forwards SIGTERM and
SIGINT to them as SIGTERM, waits for them, and stops them all if one stops unasked: an escrow
whose worker died is restarted by whatever supervises the command (systemd, a container), not
half-served. Nothing is shared between workers but the socket and the database.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import select
import signal
import socket
import ssl
import stat
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm

from consilience.datadir import defaults
from consilience.i18n import _
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
            raise ConfigurationError(_("the TLS certificate {cert} is not a PEM certificate (a file starting with "
                                       "-----BEGIN CERTIFICATE-----). Pass the certificate file, leaf first, then "
                                       "any intermediate certificates.",
                                       cert=self.cert)) from None
        try:
            serialization.load_pem_private_key(key, password=None)
        except TypeError:
            raise ConfigurationError(_("the TLS private key {key} is sealed with a passphrase; the server must "
                                       "restart unattended, so give it an unencrypted key readable only by its own "
                                       "user (e.g. openssl pkey -in KEY -out NEW_KEY).",
                                       key=self.key)) from None
        except (ValueError, UnsupportedAlgorithm):
            raise ConfigurationError(_("the TLS private key {key} is not a PEM private key (a file starting with "
                                       "-----BEGIN PRIVATE KEY----- or similar). Pass the key of the certificate, "
                                       "not the certificate itself.",
                                       key=self.key)) from None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:  # an empty passphrase: never a prompt (a sealed key was refused above)
            context.load_cert_chain(self.cert, self.key, password=b"")
        except ssl.SSLError as exc:
            if exc.reason == "KEY_VALUES_MISMATCH":
                raise ConfigurationError(_("the TLS private key {key} does not belong to the certificate {cert}. "
                                           "Pass the key the certificate was issued for; nothing was started.",
                                           key=self.key, cert=self.cert)) from None
            raise ConfigurationError(_("the TLS certificate {cert} and key {key} cannot be used ({reason}). Check "
                                       "both files; nothing was started.",
                                       cert=self.cert, key=self.key, reason=exc.reason or exc)) from None
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
        raise ConfigurationError(_("cannot read the {what} {path}: {strerror}. Check the path and that the "
                                   "server's user may read it; nothing was started.",
                                   what=what, path=path, strerror=exc.strerror or exc)) from None


def tls_files(cert: Path | str | None, key: Path | str | None, *, cert_option: str = "--tls-cert",
              key_option: str = "--tls-key") -> TLSFiles | None:
    """Both files, or neither (plain HTTP); one without the other is refused. Not read here: :meth:`TLSFiles.check`."""
    if not cert and not key:
        return None
    if not cert or not key:
        given, missing = (cert_option, key_option) if cert else (key_option, cert_option)
        raise ConfigurationError(_("{given} was given without {missing}: serving TLS needs both the certificate "
                                   "({cert_option}) and its private key ({key_option}). Pass both, or neither to "
                                   "serve plain HTTP behind a reverse proxy that terminates TLS.",
                                   given=given, missing=missing, cert_option=cert_option, key_option=key_option))
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


#: uvicorn's HTTP parser and event loop: llhttp (httptools) and libuv (uvloop), both C, where the defaults
#: (h11, asyncio's own loop) are pure Python and cost the escrow about a quarter of its CPU per submission.
#: Both are dependencies; uvloop has no Windows build, where asyncio's loop serves instead.
SPEED_OPTIONS: dict[str, Any] = {"http": "httptools", "loop": "auto" if sys.platform == "win32" else "uvloop"}

#: How long a stopping server waits for requests under way (uvicorn's ``timeout_graceful_shutdown``).
GRACEFUL_SHUTDOWN_SECONDS = 5


def serve(app: Any, *, host: str, port: int, on_ready: Callable[[Listening], None] | None = None,
          trusted_proxies: Sequence[str] = (), tls: TLSFiles | None = None,
          sockets: list[socket.socket] | None = None, **options: Any) -> None:
    """Serve ``app`` on ``host:port`` (or on ``sockets`` already bound) until interrupted; ``options`` go to
    ``uvicorn.Config``.

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
    options = {"timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS, **SPEED_OPTIONS,
               **proxy_options(trusted_proxies), **(tls.uvicorn_options() if tls else {}), **options}
    scheme_url = Listening(host, port, 0, tls is not None).url

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and on_ready is not None:
                bound = self.servers[0].sockets[0].getsockname()[1] if self.servers else port
                on_ready(Listening(host, int(bound), os.getpid(), tls is not None))

    server = Server(uvicorn.Config(app, host=host, port=port, log_config=None, **options))
    try:
        server.run(sockets=sockets)
    except SystemExit as exc:  # uvicorn exits when it cannot bind or the application fails to start
        raise ConfigurationError(_("the server did not start on {scheme_url} (the reason is in the log line above)",
                                   scheme_url=scheme_url)) from exc
    if not server.started:
        raise ConfigurationError(_("the server did not start on {scheme_url} (the reason is in the log line above)",
                                   scheme_url=scheme_url))


#: How long ``serve_workers`` waits for its workers to build their applications and listen.
WORKER_START_SECONDS = 120.0


def bind(host: str, port: int) -> socket.socket:
    """The listening socket the workers share; ConfigurationError when the address cannot be bound."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise ConfigurationError(_("cannot listen on {url}: {strerror}",
                                   url=defaults.url(host, port), strerror=exc.strerror or exc)) from exc
    sock.set_inheritable(True)
    return sock


def serve_workers(make_app: Callable[[int], Any], workers: int, *, host: str, port: int,
                  on_ready: Callable[[Listening], None] | None = None, tls: TLSFiles | None = None,
                  **options: Any) -> None:
    """Serve ``make_app(i)`` for i in 0..workers-1, each in a process of its own, on one socket.

    Call it before this process starts any thread or opens any connection: the workers are forked.
    ``on_ready`` gets the parent's pid once every worker listens; ``options`` go to ``serve``.
    """
    if workers < 1:
        raise ConfigurationError(_("--workers must be at least 1, not {workers}", workers=workers))
    check_tls(tls)
    sock = bind(host, port)
    bound = int(sock.getsockname()[1])
    ready_read, ready_write = os.pipe()
    children: dict[int, int] = {}
    parent = os.getpid()
    for index in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - a worker, measured by the tests that run it
            os.close(ready_read)
            _stop_with(parent)
            _worker(make_app, index, sock, ready_write, host=host, port=bound, tls=tls, **options)
        children[pid] = index
    os.close(ready_write)
    sock.close()
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            _signal(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        ready = _wait_ready(ready_read, children, workers)
        if ready < workers and not stopping:
            stop(signal.SIGTERM, None)
            _reap(children)
            raise ConfigurationError(_("the server did not start on {url}: {failed} of {workers} workers did not "
                                       "(the reason is in the log)",
                                       url=Listening(host, bound, 0, tls is not None).url, failed=workers - ready,
                                       workers=workers))
        if not stopping:
            log.info("%d workers serve %s", workers, Listening(host, bound, 0, tls is not None).url)
            if on_ready is not None:
                on_ready(Listening(host, bound, os.getpid(), tls is not None))
        while children:
            pid, status = os.wait()
            if pid in children and not stopping:
                index = children.pop(pid)
                log.error("worker %d stopped (%s); stopping the others", index, _how(status))
                stop(signal.SIGTERM, None)
                _reap(children)
                raise ConfigurationError(_("worker {index} of the server stopped unasked ({how})",
                                           index=index, how=_how(status)))
            children.pop(pid, 0)
    finally:
        os.close(ready_read)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _worker(make_app: Callable[[int], Any], index: int, sock: socket.socket, ready: int, *, host: str, port: int,
            tls: TLSFiles | None, **options: Any) -> None:  # pragma: no cover - runs in a forked worker
    """A worker's whole life: build, serve on the shared socket, exit (never returns)."""
    code = 1
    try:
        # uvicorn re-raises the signal that stopped it once it has; here that ends the worker normally
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _s, _f: None)

        def listening(_listening: Listening) -> None:
            os.write(ready, b".")

        serve(make_app(index), host=host, port=port, on_ready=listening, tls=tls, sockets=[sock], **options)
        code = 0
    except BaseException as exc:
        log.error("worker %d: %s", index, exc)
    finally:
        logging.shutdown()
        os._exit(code)


def _stop_with(parent: int) -> None:
    """A worker whose parent is gone (killed with SIGKILL, say) stops too, instead of serving on unsupervised.

    Linux: the kernel sends SIGTERM when the parent dies (``PR_SET_PDEATHSIG``); elsewhere nothing is
    done here and the workers stop with their process group.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the call above
        os._exit(1)


def _wait_ready(ready: int, children: dict[int, int], workers: int) -> int:
    """How many workers said they listen, waiting until all did, one stopped, or the start timed out."""
    count = 0
    deadline = time.monotonic() + WORKER_START_SECONDS
    while count < workers and time.monotonic() < deadline:
        readable, _w, _x = select.select([ready], [], [], 0.2)
        if readable:
            got = os.read(ready, workers)
            if not got:
                break  # every worker closed its end: none is left to say it listens
            count += len(got)
        for pid in list(children):
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.pop(pid)
                return count
    return count


def _reap(children: dict[int, int], timeout: float = GRACEFUL_SHUTDOWN_SECONDS + 30.0) -> None:
    deadline = time.monotonic() + timeout
    while children and time.monotonic() < deadline:
        for pid in list(children):
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.pop(pid)
        time.sleep(0.05)
    for pid in children:
        _signal(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    children.clear()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return _("signal {number}", number=os.WTERMSIG(status))
    return _("exit status {code}", code=os.waitstatus_to_exitcode(status))
