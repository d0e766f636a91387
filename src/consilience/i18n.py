"""The languages the Python side speaks: the CLI, the errors people read, the services' details, emails.

A person in distress reads these lines, so they come from gettext catalogs (``locales/<lang>/
LC_MESSAGES/<area>.po``, read with Babel and chained into one catalog per language; an area is
the part of the tree whose messages it holds: ``cli``, ``services``, ``core``, ``clients``) rather than from
the code: English is the source
text (the ``msgid``), Spanish and Arabic are shipped complete, and ``tests/test_i18n.py`` fails
when a catalog misses a message or a placeholder. The web app has its own catalogs
(``web/src/app/locales``, ICU MessageFormat); the two never share a string, because the browser
must not fetch anything at run time and the CLI must not need Node.

Which language is spoken is a ``ContextVar``: the CLI sets it once from ``--language``,
``CONSILIENCE_LANGUAGE`` or the POSIX locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``,
``LANG``); the services set it for each request from ``Accept-Language`` (and say which in
``Content-Language``), so one server answers each person in theirs; the notifier sets it from
the deployment's ``CONSILIENCE_LANGUAGE`` for the emails it sends. Errors are translated where
they are raised, in the language of whoever will read them, so a message is never translated
twice or looked up by its English text later.

Placeholders are named and use ``str.format`` fields (``_("tile {index} is missing", index=i)``):
translators may reorder them, and a positional ``%s`` cannot be reordered. Without parameters a
message is returned as it is, so a message with literal braces needs no escaping unless it also
takes parameters.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import gettext
import io
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

#: The shipped languages, the source language first. Each has a catalog except English.
LANGUAGES: tuple[str, ...] = ("en", "es", "ar")
DEFAULT = "en"
#: Languages written right to left (the web app mirrors its layout for them).
RIGHT_TO_LEFT = frozenset({"ar"})
#: The gettext domain: one catalog per language for everything the package says, kept in a .po per area.
DOMAIN = "consilience"
#: Each area's .po holds the messages of these parts of the package (tests/test_i18n.py extracts them).
AREAS: dict[str, tuple[str, ...]] = {
    "cli": ("cli", "local"),
    "services": ("services", "operator"),
    "core": ("crypto", "tlog", "protocol"),
    "clients": ("clients", "storage", "datadir", "errors.py", "files.py", "i18n.py"),
}
LOCALES = Path(__file__).resolve().parent / "locales"
#: The environment variable that chooses the language over the POSIX locale.
LANGUAGE_ENV = "CONSILIENCE_LANGUAGE"

_active: ContextVar[str] = ContextVar("consilience_language", default=DEFAULT)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for extraction, translate later"
    """Marks a module-level constant for the catalogs; translate it with ``_(CONSTANT)`` where it is shown."""
    return message


def _(message: str, **params: Any) -> str:
    """``message`` in the active language, its ``{fields}`` filled from ``params``."""
    text = _translations(_active.get()).gettext(message)
    return text.format_map(params) if params else text


def _n(singular: str, plural: str, n: int, **params: Any) -> str:
    """The plural form for ``n`` in the active language (Arabic has six); ``{n}`` is always available."""
    text = _translations(_active.get()).ngettext(singular, plural, n)
    return text.format_map({"n": format_number(n), **params})


def language() -> str:
    return _active.get()


def direction(lang: str | None = None) -> str:
    return "rtl" if (lang or _active.get()) in RIGHT_TO_LEFT else "ltr"


def negotiate(preferred: Iterable[str]) -> str:
    """The first shipped language among ``preferred`` (``es-MX``, ``ar_EG.UTF-8``, ``en``), else English.

    Matching is by primary subtag only: every Spanish reads the one Spanish catalog, and a region
    never makes a person fall back to English.
    """
    for tag in preferred:
        primary = re.split(r"[-_.@]", tag.strip(), maxsplit=1)[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT


def from_environment(env: Mapping[str, str] | None = None) -> str:
    """``CONSILIENCE_LANGUAGE``, else the POSIX locale the way gettext reads it; ``C``/``POSIX`` are English."""
    env = os.environ if env is None else env
    if env.get(LANGUAGE_ENV):
        return negotiate([env[LANGUAGE_ENV]])
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            tags = [t for t in value.split(":") if t and t not in ("C", "POSIX") and not t.startswith("C.")]
            return negotiate(tags)
    return DEFAULT


def parse_accept_language(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first (RFC 9110 §12.5.4); junk is ignored."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        tag, _sep, rest = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", tag):
            continue
        q = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", rest)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                continue
        if q > 0:
            ranked.append((-q, i, tag))
    return [tag for _q, _i, tag in sorted(ranked)]


def set_language(tag: str) -> str:
    """Makes ``tag`` (negotiated) the active language of this context; returns the one chosen."""
    chosen = negotiate([tag])
    _active.set(chosen)
    return chosen


@contextlib.contextmanager
def using(tag: str) -> Iterator[str]:
    """The active language is ``tag`` (negotiated) inside the block, and what it was after it."""
    token = _active.set(negotiate([tag]))
    try:
        yield _active.get()
    finally:
        _active.reset(token)


@functools.cache
def _translations(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang``: its areas' .po files, read once and chained (compiled in memory: no binary .mo).

    Each area keeps its own catalog, with the Plural-Forms of its header: a catalog merged under Babel's
    own rules for the locale would count Spanish plurals as CLDR does (three forms) while the .po files,
    like every gettext tool, use two, and every plural would fall back to English.
    """
    folder = LOCALES / lang / "LC_MESSAGES"
    files = sorted(folder.glob("*.po")) if lang != DEFAULT else []
    if not files:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    chain: gettext.NullTranslations | None = None
    for po in files:
        with po.open("rb") as f:
            part = read_po(f, locale=lang, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, part, use_fuzzy=False)
        buffer.seek(0)
        translations = gettext.GNUTranslations(buffer)
        if chain is None:
            chain = translations
        else:
            chain.add_fallback(translations)
    assert chain is not None
    return chain


# -- numbers, dates and times in the active locale (CLDR data through Babel) ---------------------


def format_number(value: float) -> str:
    """``value`` with the locale's digits and separators (Arabic's own digits where CLDR says so)."""
    from babel.numbers import format_decimal

    return str(format_decimal(value, locale=_active.get(), numbering_system="default"))


def format_date(value: _dt.date | _dt.datetime, width: str = "medium") -> str:
    from babel.dates import format_date as babel_date

    return str(babel_date(value, format=width, locale=_active.get()))


def format_datetime(value: _dt.datetime, width: str = "medium") -> str:
    """A moment in the reader's locale; an aware ``value`` keeps its own zone (UTC in the CLI's output)."""
    from babel.dates import format_datetime as babel_datetime

    return str(babel_datetime(value, format=width, tzinfo=value.tzinfo, locale=_active.get()))


def format_list(items: Iterable[str]) -> str:
    from babel.lists import format_list as babel_list

    return str(babel_list(list(items), locale=_active.get()))
