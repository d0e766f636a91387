"""HTTP client construction shared by the SDK: every httpx client is built by :func:`client`.

httpx builds a new SSL context (and loads the CA bundle) for every Client,
which costs tens of milliseconds, even for http:// URLs; the benchmarks
showed it dominating a submission's OPRF round. One verified default
context per process is built once and reused by every client.

Servers are verified against the system's CA store (and $SSL_CERT_FILE / $SSL_CERT_DIR, as
OpenSSL reads them); a deployment whose servers hold certificates of a private CA adds that
CA's certificate with ``--ca-file FILE`` or ``$CONSILIENCE_CA_FILE`` (:func:`use_ca_file`). A
certificate this machine does not trust is refused with :class:`UntrustedCertificate`, whose
message says so in words and what to do, instead of an OpenSSL error.
"""

from __future__ import annotations

import functools
import os
import ssl
from pathlib import Path
from typing import Any

import httpx

from consilience.errors import InvalidInput
from consilience.i18n import N_, _, locale

#: The environment variable naming an extra CA certificate file (PEM) to trust.
CA_FILE_ENV = "CONSILIENCE_CA_FILE"
#: What a refused certificate's message tells the user to do.
CA_FILE_HINT = N_("if the deployment uses a private CA, pass --ca-file FILE (or set CONSILIENCE_CA_FILE) with that "
                  "CA's certificate; otherwise check the address, and tell the server's operator")

_ca_file: Path | None = None


class UntrustedCertificate(httpx.ConnectError):
    """The server's TLS certificate did not verify: unknown CA, expired, or for another name."""

    def __init__(self, url: str, reason: str, *, request: httpx.Request | None = None) -> None:
        self.url = url
        self.reason = reason
        super().__init__(self.describe(_("the server")), request=request)

    def describe(self, what: str) -> str:
        """The refusal in words, the server named as ``what`` (e.g. "key server 2", already translated)."""
        return _("{what} at {url} presented a certificate this machine does not trust ({reason}); {hint}",
                 what=what, url=self.url, reason=self.reason, hint=_(CA_FILE_HINT))


def ca_file() -> Path | None:
    """The extra CA file in force: the one :func:`use_ca_file` set, else $CONSILIENCE_CA_FILE, else none."""
    if _ca_file is not None:
        return _ca_file
    named = os.environ.get(CA_FILE_ENV, "").strip()
    return Path(named) if named else None


def use_ca_file(path: Path | str | None) -> None:
    """Trust the CA certificates in ``path`` (PEM) besides the system's, in every client built from now on.

    None: back to $CONSILIENCE_CA_FILE, or the system's store alone. A file that cannot be read or
    holds no certificate is refused (InvalidInput) and changes nothing.
    """
    global _ca_file
    chosen = Path(path) if path else None
    if chosen is not None:
        _context(chosen)
    _ca_file = chosen
    ssl_context.cache_clear()


def _context(extra: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if extra is None:
        return context
    try:
        context.load_verify_locations(cafile=str(extra))
    except ssl.SSLError:  # before OSError, of which it is one
        raise InvalidInput(_("the CA file {extra} holds no PEM certificate (-----BEGIN CERTIFICATE-----). Pass "
                             "the certificate of the CA that issued the servers' certificates.", extra=extra)) from None
    except OSError as exc:
        raise InvalidInput(_("cannot read the CA file {extra} ({value}). Check the path given to "
                             "--ca-file or {CA_FILE_ENV}.",
                             extra=extra, value=exc.strerror or exc, CA_FILE_ENV=CA_FILE_ENV)) from None
    return context


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """The verifying context every client uses: the system's CAs, and the extra CA file if one is set."""
    return _context(ca_file())


def _verify_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class _Transport(httpx.HTTPTransport):
    """httpx's transport, a refused certificate turned into :class:`UntrustedCertificate`."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except httpx.ConnectError as exc:
            failure = _verify_failure(exc)
            if failure is None:
                raise
            url = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
            reason = failure.verify_message or failure.reason or str(failure)
            raise UntrustedCertificate(url, str(reason), request=request) from exc


def reason(exc: httpx.HTTPError) -> str:
    """Why a request failed, to follow a server's name: "presented a certificate …", "could not be reached (…)"."""
    if isinstance(exc, UntrustedCertificate):
        return _("presented a certificate this machine does not trust ({reason}); {hint}",
                 reason=exc.reason, hint=_(CA_FILE_HINT))
    return _("could not be reached ({kind})", kind=type(exc).__name__)


def _say_language(request: httpx.Request) -> None:
    """Asks for answers (a refusal's detail, a server's own words) in the language the person reads; read as each
    request leaves, so a client kept open follows a change of language."""
    request.headers.setdefault("Accept-Language", locale())


def client(**kwargs: Any) -> httpx.Client:
    """An httpx client verifying servers with :func:`ssl_context` and sending ``Accept-Language`` (the active
    language, :mod:`consilience.i18n`) with every request; ``transport`` (tests) is used as given."""
    hooks = dict(kwargs.pop("event_hooks", None) or {})
    hooks["request"] = [_say_language, *hooks.get("request", [])]
    kwargs["event_hooks"] = hooks
    kwargs.setdefault("verify", ssl_context())
    if kwargs.get("transport") is None:
        kwargs["transport"] = _Transport(verify=kwargs["verify"], trust_env=kwargs.get("trust_env", True))
    return httpx.Client(**kwargs)
