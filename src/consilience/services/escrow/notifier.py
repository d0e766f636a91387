"""Telling counselors that a match was created or grew (PROTOCOL.md §8), and anyone that something is
waiting for them (PROTOCOL.md §13.7).

Notifications leave the server's trust boundary (mail, chat, a shared
folder), so they carry only what a counselor needs to go and look: the match
id, how many entries are released, and when. Never a tag, body or account.

The default ``InboxNotifier`` writes one small JSON file per counselor per
event into ``inbox/<counselor>/``. ``Settings.notifier`` "smtp" chooses the
``SmtpNotifier`` (mail through ``Settings.smtp``, one message per recipient,
subject and text generic; a counselor with no address still gets the file).
Operators plug in another transport by naming a factory in
``Settings.notifier`` ("package.module:factory", called with the settings;
e.g. "consilience.services.escrow.notifier:NullNotifier").
Notifying happens after the commit, and its failure never undoes or fails a
submission.

A "something is waiting" notice (``WaitingNotice``, sent by ``waiting.something_waiting`` after a
message is stored) says even less: not what, not who, not which match; a notifier that can pass it
on implements ``WaitingNotifier`` as well.

What a notice says is written in the deployment's language (``Settings.language``,
$CONSILIENCE_LANGUAGE), from the catalogs: no request is there to say whose language it is, and
the people a deployment serves read the language it was set up in. A mail names its language
(``Content-Language``) and is UTF-8.
"""

from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import queue
import re
import secrets
import smtplib
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

from consilience import i18n
from consilience.errors import InvalidInput
from consilience.i18n import N_, _
from consilience.protocol.encoding import b64u_encode
from consilience.protocol.messages import notify_address
from consilience.services.config import deployment_language
from consilience.services.escrow.settings import ConfigurationError, Settings, SmtpSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchEvent:
    match_id: bytes
    released: int
    created: bool
    occurred_at: datetime
    #: Counselors to tell, as directory-safe labels (see ``recipient_label``).
    recipients: tuple[str, ...]
    #: The mail address (``accounts.notify_email``) of each recipient label that has one; filled in
    #: only for a notifier that ``sends_mail``, so no other transport is handed counselors' addresses.
    addresses: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WaitingNotice:
    """That something is waiting, for whom: nothing about what it is or who sent it."""

    occurred_at: datetime
    #: Counselors to tell, as directory-safe labels (see ``recipient_label``).
    counselors: tuple[str, ...]
    #: The mail address (``accounts.notify_email``) of each counselor label that has one.
    counselor_addresses: tuple[tuple[str, str], ...] = ()
    #: Mail addresses reporters chose to give; a reporter without one is never told anything.
    reporter_addresses: tuple[str, ...] = ()


@runtime_checkable
class Notifier(Protocol):
    def notify(self, event: MatchEvent) -> None: ...


@runtime_checkable
class WaitingNotifier(Protocol):
    def waiting(self, notice: WaitingNotice) -> None: ...


#: The whole of what a "something is waiting" notice says (an inbox file says it too).
WAITING_TEXT = N_("There is something waiting for you in Consilience. Open the app to see it.")
WAITING_SUBJECT = N_("Something is waiting for you")
#: What a match notification says by mail: no id, no count (the app shows them).
MATCH_TEXT = N_("A match is waiting for you in Consilience. Open the app to see it.")
MATCH_SUBJECT = N_("A match is waiting for you")
#: At most this many batches of mail wait to be sent; more are dropped (and logged).
MAIL_QUEUE_SIZE = 1000
#: How long a stopping server waits for mail still being sent.
EXIT_GRACE_SECONDS = 5.0


class NullNotifier:
    """Tells no one; for deployments that poll ``GET /v2/matches`` instead."""

    def __init__(self, settings: Settings | None = None) -> None:
        del settings

    def notify(self, event: MatchEvent) -> None:
        return None

    def waiting(self, notice: WaitingNotice) -> None:
        return None


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def recipient_label(name: str, key_id: bytes) -> str:
    """A file-system-safe directory name for a counselor: name, else key id."""
    label = _UNSAFE.sub("-", name).strip(".-")[:64]
    return label or b64u_encode(key_id)


class InboxNotifier:
    """One JSON file per counselor per event, written atomically; its sentence in ``language``."""

    def __init__(self, inbox_dir: Path, *, language: str | None = None) -> None:
        self.inbox_dir = inbox_dir
        self.language = i18n.choose([language or deployment_language()]).locale

    @classmethod
    def from_settings(cls, settings: Settings) -> InboxNotifier:
        return cls(settings.inbox_dir, language=settings.language)

    def notify(self, event: MatchEvent) -> None:
        content = json.dumps({
            "match_id": b64u_encode(event.match_id),
            "released": event.released,
            "time": event.occurred_at.isoformat().replace("+00:00", "Z"),
        }, sort_keys=True).encode()
        self._write(event.recipients, event.occurred_at, content)

    def waiting(self, notice: WaitingNotice) -> None:
        """A file for each counselor saying only that something is waiting (reporters have no inbox)."""
        with i18n.using(self.language):
            text = _(WAITING_TEXT)
        content = json.dumps({
            "waiting": text,
            "time": notice.occurred_at.isoformat().replace("+00:00", "Z"),
        }, sort_keys=True).encode()
        self._write(notice.counselors, notice.occurred_at, content)

    def _write(self, recipients: Iterable[str], at: datetime, content: bytes) -> None:
        stamp = at.strftime("%Y%m%dT%H%M%S%fZ")
        for recipient in recipients:
            folder = self.inbox_dir / recipient
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            name = f"{stamp}-{secrets.token_hex(4)}.json"
            _write_atomically(folder / name, content)


def _write_atomically(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def sends_mail(notifier: object) -> bool:
    """Whether this notifier mails, so is to be given the addresses accounts chose to give."""
    return getattr(notifier, "sends_mail", False) is True


class SmtpNotifier:
    """Mail through one SMTP server: one message per recipient (nobody sees another's address).

    Mail goes out from a thread of its own, so a slow or absent mail server never holds up the request
    that caused a notice; a notice that cannot be sent is logged (its error's kind, never an address)
    and dropped. Counselors without an address get the inbox file, so no counselor is told nothing.
    """

    sends_mail = True

    def __init__(self, smtp: SmtpSettings, inbox: InboxNotifier, *, queue_size: int = MAIL_QUEUE_SIZE,
                 language: str | None = None) -> None:
        self.smtp = smtp
        self.inbox = inbox
        #: what the mails are written in (the inbox files are in the inbox notifier's own)
        self.language = i18n.choose([language or deployment_language()]).locale
        self._password = smtp.password()
        self._context: ssl.SSLContext | None = None
        if smtp.security != "none":
            try:
                self._context = ssl.create_default_context(
                    cafile=str(smtp.ca_file) if smtp.ca_file is not None else None)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(_("cannot read CONSILIENCE_SMTP_CA_FILE {ca_file}: {exc}",
                                           ca_file=smtp.ca_file, exc=exc)) from None
        self._queue: queue.Queue[list[tuple[str, str, str]]] = queue.Queue(maxsize=queue_size)
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpNotifier:
        if settings.smtp is None:
            raise ConfigurationError(
                _("CONSILIENCE_NOTIFIER=smtp (or serve --notify smtp) sends mail, so it needs a mail server: set "
                  "CONSILIENCE_SMTP_HOST and CONSILIENCE_SMTP_FROM (and CONSILIENCE_SMTP_SECURITY, _PORT, _USER, "
                  "_PASSWORD_FILE as your mail server needs)"))
        return cls(settings.smtp, InboxNotifier.from_settings(settings), language=settings.language)

    def notify(self, event: MatchEvent) -> None:
        mailed = {label: address for label, address in event.addresses if label in event.recipients}
        unmailed = tuple(r for r in event.recipients if r not in mailed)
        if unmailed:
            self.inbox.notify(replace(event, recipients=unmailed, addresses=()))
        subject, text = self._said(MATCH_SUBJECT, MATCH_TEXT)
        self._send([(address, subject, text) for address in dict.fromkeys(mailed.values())])

    def waiting(self, notice: WaitingNotice) -> None:
        mailed = {label: address for label, address in notice.counselor_addresses if label in notice.counselors}
        unmailed = tuple(c for c in notice.counselors if c not in mailed)
        if unmailed:
            self.inbox.waiting(WaitingNotice(notice.occurred_at, unmailed))
        addresses = dict.fromkeys([*mailed.values(), *notice.reporter_addresses])
        subject, text = self._said(WAITING_SUBJECT, WAITING_TEXT)
        self._send([(address, subject, text) for address in addresses])

    def _said(self, subject: str, text: str) -> tuple[str, str]:
        """A mail's subject and text in the deployment's language (this runs in a request, whatever its own)."""
        with i18n.using(self.language):
            return _(subject), _(text)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued notice was sent or given up on; False if that took longer than timeout."""
        with self._queue.all_tasks_done:
            return self._queue.all_tasks_done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout)

    def _send(self, mails: list[tuple[str, str, str]]) -> None:
        checked = []
        for mail in mails:
            try:
                notify_address(mail[0])
            except InvalidInput:
                log.error("a stored notification address is not a valid address; that notice is not sent")
                continue
            checked.append(mail)
        if not checked:
            return
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                if self._worker is None:  # a server that stops gives mail under way a few seconds to leave
                    atexit.register(self.flush, EXIT_GRACE_SECONDS)
                self._worker = threading.Thread(target=self._run, name="consilience-mail", daemon=True)
                self._worker.start()
        try:
            self._queue.put_nowait(checked)
        except queue.Full:
            log.error("too many notification mails are waiting to be sent; %d notices were dropped", len(checked))

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                self._deliver(batch)
            except Exception as exc:  # never an address or a text in the log: only what kind of failure
                log.error("could not send %d notification mail(s) through %s:%d (%s)", len(batch),
                          self.smtp.host, self.smtp.port_number, _reason(exc))
            finally:
                self._queue.task_done()

    def _deliver(self, batch: list[tuple[str, str, str]]) -> None:
        with self._connect() as client:
            failed = 0
            for address, subject, text in batch:
                try:
                    client.send_message(self._message(address, subject, text), from_addr=self.smtp.sender,
                                        to_addrs=[address])
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPNotSupportedError,
                        smtplib.SMTPSenderRefused):
                    failed += 1
            if failed:
                log.error("the mail server refused %d of %d notification mail(s)", failed, len(batch))

    def _connect(self) -> smtplib.SMTP:
        smtp = self.smtp
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port_number, timeout=smtp.timeout, context=self._context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port_number, timeout=smtp.timeout)
        try:
            client.ehlo()
            if smtp.security == "starttls":
                if not client.has_extn("starttls"):
                    raise MailRefused("the mail server does not offer STARTTLS, and nothing is sent without it")
                client.starttls(context=self._context)
                client.ehlo()
            if smtp.user is not None and self._password is not None:
                client.login(smtp.user, self._password)
        except BaseException:
            client.close()
            raise
        return client

    def _message(self, address: str, subject: str, text: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.smtp.sender
        message["To"] = address
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.smtp.sender.rsplit("@", 1)[1])
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office answers
        message.set_content(text + "\n", charset="utf-8")
        message["Content-Language"] = self.language  # RFC 3282; after set_content, which clears Content-*
        return message


class MailRefused(Exception):
    """The mail server cannot be used as configured (it is logged by this sentence alone)."""


def _reason(exc: BaseException) -> str:
    """What went wrong, without the server's own words (they may repeat an address)."""
    if isinstance(exc, MailRefused):
        return str(exc)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "the mail server refused CONSILIENCE_SMTP_USER and the password"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "the mail server's certificate is not trusted (CONSILIENCE_SMTP_CA_FILE names a private CA)"
    return type(exc).__name__


def load_notifier(settings: Settings) -> Notifier:
    """The notifier named in the settings ("inbox", "smtp" or a factory), or the inbox notifier."""
    if settings.notifier == "smtp":
        return SmtpNotifier.from_settings(settings)
    if settings.smtp is not None:
        log.warning("CONSILIENCE_SMTP_HOST is set, but no mail is sent unless CONSILIENCE_NOTIFIER=smtp "
                    "(or serve --notify smtp)")
    if not settings.notifier or settings.notifier == "inbox":
        return InboxNotifier.from_settings(settings)
    try:
        factory = _resolve(settings.notifier)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(_("cannot load notifier {notifier}: {exc}",
                                   notifier=repr(settings.notifier), exc=exc)) from exc
    try:
        notifier = cast(Callable[[Settings], object], factory)(settings)
    except Exception as exc:
        raise ConfigurationError(_("notifier factory {notifier} failed: {exc}",
                                   notifier=repr(settings.notifier), exc=exc)) from exc
    if not isinstance(notifier, Notifier):
        raise ConfigurationError(_("{notifier} did not give an object with notify(event)",
                                   notifier=repr(settings.notifier)))
    return notifier


def _resolve(spec: str) -> object:
    """``module:attr.attr`` or ``module.attr.attr`` (longest importable module wins)."""
    if ":" in spec:
        module_part, attribute_part = spec.split(":", 1)
        candidates = [(module_part, attribute_part.split("."))]
    else:
        parts = spec.split(".")
        candidates = [(".".join(parts[:i]), parts[i:]) for i in range(len(parts) - 1, 0, -1)]
    error: Exception = ValueError(f"{spec!r} names no module attribute")
    for module_name, attributes in candidates:
        try:
            target: object = importlib.import_module(module_name)
        except ImportError as exc:
            error = exc
            continue
        for attribute in attributes:
            target = getattr(target, attribute)
        return target
    raise error
