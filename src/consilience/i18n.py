"""The languages the Python side speaks: the CLI, the errors people read, the services' details, emails.

A person in distress reads these lines, so they come from gettext catalogs (``locales/<lang>/
LC_MESSAGES/<area>.po``, read with Babel and chained into one catalog per language; an area is
the part of the tree whose messages it holds: ``cli``, ``services``, ``core``, ``clients``) rather than from
the code: English is the source
text (the ``msgid``), Spanish and Arabic are shipped complete, and ``tests/test_i18n.py`` fails
when a catalog misses a message or a placeholder. The web app has its own catalogs
(``web/src/app/locales``, ICU MessageFormat); the two never share a string, because the browser
must not fetch anything at run time and the CLI must not need Node.

Which language is spoken is a ``ContextVar`` holding two things (``Speech``): the catalog's
language (en, es, ar: which .po files) and the locale numbers and dates are written for, the
full tag the person asked for when its language is shipped (``ar-EG``, ``es-MX``; else the plain
language), because CLDR's formats are per region: Egypt writes Arabic-Indic digits where Morocco,
and CLDR's plain ``ar``, write Latin ones, as the browser's ``Intl`` does. The CLI sets it once from
``--language``, ``CONSILIENCE_LANGUAGE`` or the POSIX locale (``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``; a bare ``es`` takes its region from ``LANG=es_MX``); the services set it
for each request from ``Accept-Language`` (and name the tag used in ``Content-Language``), so one
server answers each person in theirs; the notifier sets it from the deployment's
``CONSILIENCE_LANGUAGE`` for the emails it sends. Errors are translated where
they are raised, in the language of whoever will read them, so a message is never translated
twice or looked up by its English text later.

Placeholders are named and use ``str.format`` fields (``_("tile {index} is missing", index=i)``):
translators may reorder them, and a positional ``%s`` cannot be reordered. Without parameters a
message is returned as it is, so a message with literal braces needs no escaping unless it also
takes parameters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import functools
import gettext
import io
import os
import re
import unicodedata
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
#: Each area's .po holds the messages of these parts of the package (tests/test_i18n.py extracts them);
#: a file one area names is not part of another area's folder.
AREAS: dict[str, tuple[str, ...]] = {
    "cli": ("cli", "local"),
    "services": ("services", "operator"),
    "core": ("crypto", "tlog", "protocol"),
    "clients": ("clients", "storage", "datadir", "errors.py", "files.py", "i18n.py"),
    # typer's own words (and its copy of click's), said again from our catalogs: cli/builtin_words.py
    "click": ("cli/builtin_words.py",),
}
LOCALES = Path(__file__).resolve().parent / "locales"
#: The environment variable that chooses the language over the POSIX locale.
LANGUAGE_ENV = "CONSILIENCE_LANGUAGE"



@dataclasses.dataclass(frozen=True)
class Speech:
    """What a person reads in: the catalog (``language``: en, es, ar) and the locale numbers and dates are
    written for (``locale``, a BCP 47 tag: ``ar-EG``, ``es-MX``; the plain language when no region was asked).

    They differ because the catalogs are one per language while CLDR's formats are per region: an
    Egyptian reads the one Arabic catalog but writes Arabic-Indic digits where Moroccan Arabic (and
    CLDR's plain ``ar``) writes Latin ones, and a Mexican writes 12,345.6 where Spain writes 12.345,6.
    """

    language: str
    locale: str


_ENGLISH = Speech(DEFAULT, DEFAULT)
_active: ContextVar[Speech] = ContextVar("consilience_language", default=_ENGLISH)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for extraction, translate later"
    """Marks a module-level constant for the catalogs; translate it with ``_(CONSTANT)`` where it is shown."""
    return message


def _(message: str, /, **params: Any) -> str:
    """``message`` in the active language, its ``{fields}`` filled from ``params`` (any name, ``message`` too)."""
    text = _translations(_active.get().language).gettext(message)
    return text.format_map(params) if params else text


def _n(singular: str, plural: str, n: int, /, **params: Any) -> str:
    """The plural form for ``n`` in the active language (Arabic has six); ``{n}`` is always available."""
    text = _translations(_active.get().language).ngettext(singular, plural, n)
    return text.format_map({"n": format_number(n), **params})


def language() -> str:
    """The active catalog's language: ``en``, ``es`` or ``ar`` (never a region)."""
    return _active.get().language


def locale() -> str:
    """The BCP 47 tag numbers and dates are written for: ``ar-EG``, ``es-MX``, or the plain language."""
    return _active.get().locale


def speech() -> Speech:
    return _active.get()


def direction(lang: str | None = None) -> str:
    return "rtl" if (negotiate([lang]) if lang else _active.get().language) in RIGHT_TO_LEFT else "ltr"


def _primary(tag: str) -> str:
    return re.split(r"[-_.@]", tag.strip(), maxsplit=1)[0].lower()


def choose(preferred: Iterable[str]) -> Speech:
    """The first of ``preferred`` (``es-MX``, ``ar_EG.UTF-8``, ``en``) whose language is shipped, else English.

    The catalog is matched by primary subtag only: every Spanish reads the one Spanish catalog, and
    a region never makes a person fall back to English. The region is kept for the formats, as far
    as CLDR knows it: ``ar-EG`` writes Arabic-Indic digits, ``ar-XX`` is plain ``ar``.
    """
    for tag in preferred:
        primary = _primary(tag)
        if primary in LANGUAGES:
            return Speech(primary, _formatting_tag(tag.strip()))
    return _ENGLISH


def negotiate(preferred: Iterable[str]) -> str:
    """The catalog language of ``choose(preferred)``: one of ``LANGUAGES``."""
    return choose(preferred).language


@functools.lru_cache(maxsize=512)  # keyed by what clients send: bounded, as any header value may come
def _formatting_tag(tag: str) -> str:
    """The BCP 47 tag of the longest start of ``tag`` that CLDR has formats for (its language kept).

    A POSIX locale's codeset and modifier (``.UTF-8``, ``@euro``) and a tag's extensions (``-u-...``,
    ``-x-...``) say nothing Babel reads; a region CLDR does not know is dropped rather than guessed.
    """
    from babel import Locale, UnknownLocaleError

    subtags = [s for s in re.split(r"[-_]", re.split(r"[.@]", tag, maxsplit=1)[0]) if s]
    primary = subtags[0].lower()
    for i, subtag in enumerate(subtags):
        if len(subtag) == 1:  # a singleton starts an extension or a private use part
            subtags = subtags[:i]
            break
    while len(subtags) > 1:
        try:
            found = Locale.parse("_".join(subtags))
        except (ValueError, TypeError, UnknownLocaleError):
            found = None
        # Babel maps what it does not know to a likely locale (es_ZZ is es_ES): keep only what was asked
        wanted = [s.lower() for s in subtags[1:]]
        if found is not None and found.language == primary and all(
                part.lower() in wanted for part in (found.script, found.territory, found.variant) if part):
            return str(found.language) + "".join(f"-{p}" for p in (found.script, found.territory, found.variant)
                                                 if p)
        subtags.pop()
    return primary


def environment_tag(env: Mapping[str, str] | None = None) -> str:
    """The tag the environment asks for: ``CONSILIENCE_LANGUAGE``, else the POSIX locale as gettext reads it.

    ``LANGUAGE`` may name a language without its region (``es:en``) while ``LC_ALL``, ``LC_NUMERIC``,
    ``LC_TIME`` or ``LANG`` say where the person lives (``es_MX.UTF-8``): then the region comes from
    those, as the POSIX locale's formats would. ``C``/``POSIX`` are English.
    """
    env = os.environ if env is None else env
    if env.get(LANGUAGE_ENV):
        return with_region(env[LANGUAGE_ENV], env)
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            tags = [t for t in value.split(":") if t and t not in ("C", "POSIX") and not t.startswith("C.")]
            for tag in tags:
                if _primary(tag) in LANGUAGES:
                    return with_region(tag, env)
            return DEFAULT
    return DEFAULT


def with_region(tag: str, env: Mapping[str, str] | None = None) -> str:
    """``tag``, or the POSIX locale's own variant of it when ``tag`` is a bare language (``es`` and LANG=es_MX).

    The web app does the same with the browser's languages: Spanish chosen in the menu is written the
    way the browser's ``es-MX`` writes numbers and dates.
    """
    env = os.environ if env is None else env
    chosen = choose([tag])
    if "-" in chosen.locale or chosen.language != _primary(tag):
        return tag
    for name in ("LC_ALL", "LC_NUMERIC", "LC_TIME", "LANG"):
        value = env.get(name, "")
        if value and _primary(value) == chosen.language and "-" in choose([value]).locale:
            return value
    return tag


def from_environment(env: Mapping[str, str] | None = None) -> str:
    """The catalog language of ``environment_tag(env)``."""
    return negotiate([environment_tag(env)])


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
    """Makes ``tag`` the active language of this context (its region kept for the formats); returns the
    catalog language chosen."""
    chosen = choose([tag])
    _active.set(chosen)
    return chosen.language


@contextlib.contextmanager
def using(tag: str) -> Iterator[str]:
    """The active language is ``tag`` inside the block (its region kept for the formats), and what it was after."""
    token = _active.set(choose([tag]))
    try:
        yield _active.get().language
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
#
# Babel writes a locale's separators and signs for its default numbering system (CLDR's ``arab``
# for ar-EG: ``٬`` ``٫`` ``٪``) but always with ASCII digits: ``format_decimal(12345.6, locale="ar_EG",
# numbering_system="default")`` is ``12٬345٫6`` where ICU (and so the browser) writes ``١٢٬٣٤٥٫٦``,
# and its dates never change digits. So each formatter writes its ASCII digits through the table
# of the locale's numbering system. The digits come from the Unicode database (``ARABIC-INDIC
# DIGIT ZERO`` ... ``NINE``), not typed here; only which Unicode digits a CLDR numbering system
# means is said here, for the systems the shipped languages' regions use (tests/test_i18n.py
# checks every region of a shipped language is covered, and the output against ICU's).

#: CLDR numbering system -> the Unicode name of its digits before "DIGIT ZERO".."DIGIT NINE".
_DIGIT_NAMES = {"latn": "", "arab": "ARABIC-INDIC", "arabext": "EXTENDED ARABIC-INDIC"}
#: CLDR's ``minimumGroupingDigits`` (common/main/<locale>.xml, numbers), which Babel does not carry,
#: for the shipped languages' locales that set it; a locale inherits it from its parent (es_AR from
#: es_419, es_ES from es). Spain writes 4000 but 40.000; Latin America 4,000.
_MINIMUM_GROUPING_DIGITS = {"es": 2, "es_419": 1}
#: CLDR's units for a size, in the powers of 1000 they mean (what Intl's ``unit`` formats say).
_SIZE_UNITS = (("digital-byte", 1), ("digital-kilobyte", 10**3), ("digital-megabyte", 10**6),
               ("digital-gigabyte", 10**9), ("digital-terabyte", 10**12))


@functools.cache
def digits(numbering_system: str) -> str:
    """The ten digits of a CLDR numbering system, zero first, from the Unicode database."""
    prefix = _DIGIT_NAMES[numbering_system]
    found = "".join(unicodedata.lookup(f"{prefix} {unicodedata.name(str(d))}".strip()) for d in range(10))
    if [unicodedata.digit(c) for c in found] != list(range(10)):
        raise ValueError(f"{numbering_system}: the Unicode digits found are not 0-9 ({found})")
    return found


@dataclasses.dataclass(frozen=True)
class _Formats:
    """What the formatters need of one locale, looked up once."""

    where: Any  # babel.Locale (imported when first used: the CLI starts without Babel's data)
    digits: dict[int, int]  # ASCII digit -> the numbering system's, for str.translate
    minus: str
    percent: str
    minimum_grouping: int


@functools.lru_cache(maxsize=64)
def _formats(tag: str) -> _Formats:
    from babel import Locale
    from babel.core import get_global

    where = Locale.parse(tag, sep="-")
    system = where.default_numbering_system
    symbols = where.number_symbols[system]
    parents, identifier, grouping = get_global("parent_exceptions"), str(where), 1
    while identifier:
        if identifier in _MINIMUM_GROUPING_DIGITS:
            grouping = _MINIMUM_GROUPING_DIGITS[identifier]
            break
        identifier = parents.get(identifier) or identifier.rpartition("_")[0]
    return _Formats(where, str.maketrans("0123456789", digits(system)), symbols.get("minusSign", "-"),
                    symbols.get("percentSign", "%"), grouping)


def _active_formats() -> _Formats:
    return _formats(_active.get().locale)


def _clock(text: object, table: dict[int, int]) -> str:
    """A date or time as Chromium writes it: its ICU puts a plain space before AM/PM where CLDR has U+202F
    (the narrow space broke too much text matching when it came in), and the locale's digits."""
    return str(text).replace("\u202f", " ").translate(table)


def _numeral(value: float, scaled: float, render: Any) -> str:
    """``render(value)`` (a Babel number formatter) made right: grouping only from the locale's minimum
    number of digits, the locale's own minus and percent signs (Babel leaves the pattern's ASCII ones,
    where ar writes them with direction marks), and its digits."""
    f = _active_formats()
    grouped = abs(scaled) >= 10 ** (2 + f.minimum_grouping)
    text = str(render(value, locale=f.where, numbering_system="default", group_separator=grouped))
    if f.minus != "-" and f.minus not in text:
        text = text.replace("-", f.minus)
    if f.percent != "%" and f.percent not in text:
        text = text.replace("%", f.percent)
    return text.translate(f.digits)


def format_number(value: float) -> str:
    """``value`` with the locale's digits and separators (Arabic-Indic digits where CLDR says so)."""
    from babel.numbers import format_decimal

    return _numeral(value, value, format_decimal)


def format_percent(value: float) -> str:
    """A ratio as a percentage (0.25 is 25 %), written as the locale does, in whole percents."""
    from babel.numbers import format_percent as babel_percent

    return _numeral(value, value * 100, babel_percent)


def format_size(size: int) -> str:
    """A number of bytes in the largest of byte, kB, MB, GB, TB it fills (CLDR's units, powers of 1000),
    to one decimal, as ``Intl.NumberFormat``'s ``unit`` style writes it: ``70.2 MB``, ``٧٠٫٢ م.ب``."""
    from babel.units import format_unit

    unit, scale = _SIZE_UNITS[0]
    for name, power in _SIZE_UNITS:
        if size >= power:
            unit, scale = name, power
    f = _active_formats()
    text = format_unit(size / scale, unit, length="short", format="#,##0.#", locale=f.where,
                       numbering_system="default")
    return str(text).translate(f.digits)


def format_date(value: _dt.date | _dt.datetime, width: str = "medium") -> str:
    """A day in the locale: ``width`` is short, medium, long, full, or a CLDR pattern (``d MMMM y``)."""
    from babel.dates import format_date as babel_date

    f = _active_formats()
    return _clock(babel_date(value, format=width, locale=f.where), f.digits)


def format_time(value: _dt.time | _dt.datetime, width: str = "short") -> str:
    """A time of day in the locale (short: hours and minutes; medium: with seconds; or a CLDR pattern), in
    ``value``'s zone; long and full name the zone, which Babel does not name as ICU does (UTC)."""
    from babel.dates import format_time as babel_time

    if width in ("long", "full"):
        raise ValueError(f"format_time: {width} names the zone as ICU does not; use short, medium or a pattern")
    f = _active_formats()
    zone = value.tzinfo if isinstance(value, _dt.datetime) else None
    return _clock(babel_time(value, format=width, tzinfo=zone, locale=f.where), f.digits)


def format_datetime(value: _dt.datetime, width: str = "medium") -> str:
    """A moment in the reader's locale; an aware ``value`` keeps its own zone (UTC in the CLI's output).

    ``width`` is short or medium (ICU's ``dateStyle`` with the same ``timeStyle``), or a CLDR pattern
    (``dd MMMM y, HH:mm:ss``, the disclosure PDF's); long and full glue date and time with words
    ("at", "a las") that Babel's data does not carry, so they are left out rather than written wrong.
    """
    from babel.dates import format_datetime as babel_datetime

    if width in ("long", "full"):
        raise ValueError(f"format_datetime: {width} is not written as ICU writes it; use short, medium or a pattern")
    f = _active_formats()
    return _clock(babel_datetime(value, format=width, tzinfo=value.tzinfo, locale=f.where), f.digits)


def format_list(items: Iterable[str]) -> str:
    """Items joined as the locale joins them ("a, b and c"); the items are written as given (format
    numbers first with ``format_number``)."""
    from babel.lists import format_list as babel_list

    return str(babel_list(list(items), locale=_active_formats().where))
