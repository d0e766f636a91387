"""The servers' configuration files: what a bad one raises, and files re-read while serving.

Both servers pick up a file the administrator rewrites without a restart: the escrow server
its published deployment document (a new counselor, a new serial), a key server its share
(after a proactive refresh). ``ReloadingFile`` is that mechanism, once: the file is re-read
when its modification time, size or inode change, under a lock so concurrent requests read it
once, and a new file that fails to load or to pass the server's checks is ignored with the
last good value kept in force; a half-written or foreign file must never take a server down
or change what it trusts.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from consilience import i18n
from consilience.errors import ConsilienceError

log = logging.getLogger(__name__)

T = TypeVar("T")

_Stamp = tuple[int, int, int]


class ConfigurationError(ConsilienceError):
    """The server cannot start or serve with the files it was given."""


#: The language a deployment writes to people in when no request says which: the notification mails
#: and inbox files (a request's answer is in the language its ``Accept-Language`` asks for).
DEFAULT_LANGUAGE = i18n.DEFAULT


def deployment_language(environ: Mapping[str, str] = os.environ) -> str:
    """$CONSILIENCE_LANGUAGE as a shipped language, region kept for the formats (``es-MX``), else English.

    A language that is not shipped is logged and English is used: the CLI reads the same variable and
    falls back the same way, and a notice in English is better than a server that does not start.
    """
    value = (environ.get(i18n.LANGUAGE_ENV) or "").strip()
    if not value:
        return DEFAULT_LANGUAGE
    chosen = i18n.choose([value])
    if chosen.language == i18n.DEFAULT and not value.lower().startswith(i18n.DEFAULT):
        log.warning("%s=%s is not a language Consilience ships (%s); notifications are written in English",
                    i18n.LANGUAGE_ENV, value, ", ".join(i18n.LANGUAGES))
    return chosen.locale


class ReloadingFile(Generic[T]):
    """The value in force from a file, reloaded when the file changes.

    Subclasses say how to ``load`` the file, may ``check`` a fresh value against the one in
    force (raising one of ``kept_on`` to refuse it), and hear of a refused file (``kept``) or a
    replaced value (``replaced``). The first load's errors propagate: a server must not start
    on a file it cannot read.
    """

    #: Errors of ``load`` or ``check`` on a changed file that keep the previous value in force.
    kept_on: ClassVar[tuple[type[Exception], ...]] = (ConsilienceError,)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        stamp = self._stamp()  # before reading, so a change during the first read is seen next time
        self._current = self.load(self.path)
        self._seen: _Stamp | None = stamp

    def load(self, path: Path) -> T:
        raise NotImplementedError

    def check(self, current: T, fresh: T) -> None:
        """Raise one of ``kept_on`` when ``fresh`` must not replace ``current``."""

    def kept(self, current: T, reason: Exception) -> None:
        """A changed file was refused; ``current`` stays in force."""

    def replaced(self, old: T, new: T) -> None:
        """``new`` is now in force."""

    def current(self) -> T:
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:  # a file gone missing keeps the last good value
            return self._current
        with self._lock:
            if stamp != self._seen:
                # seen only once reloaded: a reader that finds the new stamp meanwhile waits here for the new
                # value, where marking it seen first let it return the old one while this thread still read
                self._reload()
                self._seen = stamp
            return self._current

    def _reload(self) -> None:
        try:
            fresh = self.load(self.path)
            self.check(self._current, fresh)
        except self.kept_on as exc:
            self.kept(self._current, exc)
            return
        old, self._current = self._current, fresh
        self.replaced(old, fresh)

    def _stamp(self) -> _Stamp | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)
