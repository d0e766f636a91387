"""Telling counselors that a match was created or grew (PROTOCOL.md §8), and anyone that something is
waiting for them (PROTOCOL.md §13.7).

Notifications leave the server's trust boundary (mail, chat, a shared
folder), so they carry only what a counselor needs to go and look: the match
id, how many entries are released, and when. Never a tag, body or account.

The default ``InboxNotifier`` writes one small JSON file per counselor per
event into ``inbox/<counselor>/``; operators plug in another transport by
naming a factory in ``Settings.notifier`` ("package.module:factory", called
with the settings; e.g. "consilience.services.escrow.notifier:NullNotifier").
Notifying happens after the commit, and its failure never undoes or fails a
submission.

A "something is waiting" notice (``WaitingNotice``, sent by ``waiting.something_waiting`` after a
message is stored) says even less: not what, not who, not which match; a notifier that can pass it
on implements ``WaitingNotifier`` as well.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

from consilience.protocol.encoding import b64u_encode
from consilience.services.escrow.settings import ConfigurationError, Settings


@dataclass(frozen=True)
class MatchEvent:
    match_id: bytes
    released: int
    created: bool
    occurred_at: datetime
    #: Counselors to tell, as directory-safe labels (see ``recipient_label``).
    recipients: tuple[str, ...]


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
WAITING_TEXT = "There is something waiting for you in Consilience. Open the app to see it."


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
    """One JSON file per counselor per event, written atomically."""

    def __init__(self, inbox_dir: Path) -> None:
        self.inbox_dir = inbox_dir

    @classmethod
    def from_settings(cls, settings: Settings) -> InboxNotifier:
        return cls(settings.inbox_dir)

    def notify(self, event: MatchEvent) -> None:
        content = json.dumps({
            "match_id": b64u_encode(event.match_id),
            "released": event.released,
            "time": event.occurred_at.isoformat().replace("+00:00", "Z"),
        }, sort_keys=True).encode()
        self._write(event.recipients, event.occurred_at, content)

    def waiting(self, notice: WaitingNotice) -> None:
        """A file for each counselor saying only that something is waiting (reporters have no inbox)."""
        content = json.dumps({
            "waiting": WAITING_TEXT,
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


def load_notifier(settings: Settings) -> Notifier:
    """The notifier named in the settings, or the inbox notifier."""
    if not settings.notifier:
        return InboxNotifier.from_settings(settings)
    try:
        factory = _resolve(settings.notifier)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"cannot load notifier {settings.notifier!r}: {exc}") from exc
    try:
        notifier = cast(Callable[[Settings], object], factory)(settings)
    except Exception as exc:
        raise ConfigurationError(f"notifier factory {settings.notifier!r} failed: {exc}") from exc
    if not isinstance(notifier, Notifier):
        raise ConfigurationError(f"{settings.notifier!r} did not give an object with notify(event)")
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
