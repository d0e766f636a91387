"""The Python side's catalogs are complete and the code reads every message people see from them.

Table-driven from ``consilience.i18n.AREAS``: for each area and each shipped language, the area's
``.po`` holds every message Babel extracts from the area's folders, translated (every plural form),
with the same ``{placeholders}``, and nothing the code no longer says; and an AST scan of the area's
modules finds the English that still reaches a person without ``_()``. ``scripts/messages <area>``
brings an area's catalogs up to date and lists what is left to translate.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import re
import string
import unicodedata
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from consilience import i18n

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "consilience"
CATALOG_LANGUAGES = tuple(lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT)
AREA_LANGUAGES = [pytest.param(area, lang, id=f"{area}-{lang}") for area in i18n.AREAS for lang in CATALOG_LANGUAGES]


def _messages_script() -> ModuleType:
    """scripts/messages, whose extraction is the one the catalogs are checked against."""
    loader = SourceFileLoader("consilience_messages_script", str(ROOT / "scripts" / "messages"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


MESSAGES = _messages_script()
#: Each area's messages, extracted once per run (the tests below read them many times).
extracted = functools.cache(MESSAGES.extracted)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _load(lang: str, area: str) -> Catalog:
    path = MESSAGES.po_path(lang, area)
    if not path.exists():
        pytest.fail(f"area {area!r}: {_rel(path)} does not exist; run scripts/messages {area} and translate it")
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=i18n.DOMAIN)


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id[0] if isinstance(message_id, tuple | list) else message_id


def _forms(string_: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if isinstance(string_, tuple | list):
        return tuple(string_)
    return (string_ or "",)


# -- (a) completeness ------------------------------------------------------------------------------


@pytest.mark.parametrize(("area", "lang"), AREA_LANGUAGES)
def test_every_message_is_translated(area: str, lang: str) -> None:
    template = extracted(area)
    catalog = _load(lang, area)
    path = _rel(MESSAGES.po_path(lang, area))
    problems = []
    for message in template:
        if not message.id:
            continue
        where = ", ".join(sorted({loc for loc, _line in message.locations}))
        found = catalog.get(message.id)
        if found is None:
            problems.append(f"missing ({where}): {_key(message.id)!r}")
            continue
        forms = _forms(found.string)
        if found.fuzzy:
            problems.append(f"fuzzy, to check ({where}): {_key(message.id)!r}")
        elif message.pluralizable and (not found.pluralizable or len(forms) != catalog.num_plurals):
            problems.append(f"needs {catalog.num_plurals} plural forms ({where}): {_key(message.id)!r}")
        elif not all(f.strip() for f in forms):
            problems.append(f"untranslated ({where}): {_key(message.id)!r}")
    assert not problems, (f"area {area!r}, {path}: {len(problems)} message(s) the code says are not translated "
                          f"(run scripts/messages {area}, then fill them):\n  " + "\n  ".join(problems))


@pytest.mark.parametrize(("area", "lang"), AREA_LANGUAGES)
def test_no_message_left_over(area: str, lang: str) -> None:
    """A translation whose message left the code is dead weight, and often the sign of a changed text."""
    in_code = {_key(m.id) for m in extracted(area) if m.id}
    catalog = _load(lang, area)
    stale = [_key(m.id) for m in catalog if m.id and _key(m.id) not in in_code]
    stale += [f"{_key(key)} (#~ obsolete)" for key in catalog.obsolete]
    assert not stale, (f"area {area!r}, {_rel(MESSAGES.po_path(lang, area))}: {len(stale)} message(s) no longer in "
                       "the code (scripts/messages --drop-obsolete removes them once their translations were "
                       "reused):\n  " + "\n  ".join(map(repr, stale)))


# -- (b) placeholders ------------------------------------------------------------------------------

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:![rsa])?(?::[^{}]*)?\}")


def fields(text: str) -> set[str]:
    return set(_FIELD.findall(text))


def _formats(text: str) -> bool:
    try:
        list(string.Formatter().parse(text))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(("area", "lang"), AREA_LANGUAGES)
def test_placeholders_match(area: str, lang: str) -> None:
    """A translation fills the same ``{fields}`` as the English; a missing one would drop a detail, an extra
    one crash. A plural form may leave out ``{n}`` (Arabic says "one" and "two" in words)."""
    catalog = _load(lang, area)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if message.pluralizable else (message.id,)
        wanted = set().union(*(fields(i) for i in ids))
        for index, form in enumerate(_forms(message.string)):
            if not form:
                continue
            got = fields(form)
            expected = wanted - {"n"} if message.pluralizable else wanted
            if not (expected <= got <= wanted):
                problems.append(f"{_key(message.id)!r} form {index}: has {sorted(got)}, the English {sorted(wanted)}")
            elif all(_formats(i) for i in ids) and not _formats(form):
                problems.append(f"{_key(message.id)!r} form {index}: unbalanced braces in {form!r}")
    assert not problems, (f"area {area!r}, {_rel(MESSAGES.po_path(lang, area))}: placeholders differ:\n  "
                          + "\n  ".join(problems))


# -- (c) the catalogs parse, with the language's plural rule --------------------------------------

PLURAL_FORMS = {"es": 2, "ar": 6}


def _plural_index(expression: str, n: int) -> int:
    """gettext's C-like plural expression evaluated for ``n`` (the one gettext itself compiles)."""
    import gettext

    return gettext.c2py(expression)(n)


@pytest.mark.parametrize(("area", "lang"), AREA_LANGUAGES)
def test_catalog_header(area: str, lang: str) -> None:
    catalog = _load(lang, area)
    path = _rel(MESSAGES.po_path(lang, area))
    headers = {k.lower(): v for k, v in catalog.mime_headers}
    assert "charset=utf-8" in headers.get("content-type", "").lower(), f"{path}: Content-Type must say charset=UTF-8"
    assert catalog.num_plurals == PLURAL_FORMS[lang], f"{path}: {lang} has {PLURAL_FORMS[lang]} plural forms"
    declared = re.search(r"plural=(.*?);?\s*$", MESSAGES.PLURAL_FORMS[lang]).group(1)  # type: ignore[union-attr]
    for n in range(1200):
        assert _plural_index(catalog.plural_expr, n) == _plural_index(declared, n), \
            f"{path}: Plural-Forms picks another form for n={n} than the {lang} rule {MESSAGES.PLURAL_FORMS[lang]}"
    for message in catalog:
        if message.id and message.pluralizable:
            assert len(_forms(message.string)) == catalog.num_plurals, f"{path}: {_key(message.id)!r}"


def test_plural_rules_are_the_languages() -> None:
    """Arabic's six forms: zero, one, two, few (3-10), many (11-99), other (100-102 ...)."""
    rule = re.search(r"plural=(.*?);?\s*$", MESSAGES.PLURAL_FORMS["ar"]).group(1)  # type: ignore[union-attr]
    assert [_plural_index(rule, n) for n in (0, 1, 2, 3, 10, 11, 99, 100, 102, 103, 111)] == \
        [0, 1, 2, 3, 3, 4, 4, 5, 5, 3, 4]
    spanish = re.search(r"plural=(.*?);?\s*$", MESSAGES.PLURAL_FORMS["es"]).group(1)  # type: ignore[union-attr]
    assert [_plural_index(spanish, n) for n in (0, 1, 2, 5)] == [1, 0, 1, 1]


# -- (d) no English reaches a person without _() --------------------------------------------------
#
# The scan looks at what a person reads: the message of an exception of the package's own tree (a
# ConsilienceError, the services' Refusal) or typer's/click's usage errors, wherever it is built;
# what typer, click, rich and the CLI's own helpers print, prompt or lay out; the help of options,
# arguments, groups and commands (a command's docstring is typer's help when no help= is given, and
# a docstring is never translated). A literal counts when it holds a letter; an f-string, "%" or
# .format() on one counts too, and an f-string inside _() is a message Babel cannot extract.

#: Functions whose positional string arguments are shown (typer, click, rich, and the CLI's own).
SHOWN_POSITIONAL = {
    "echo", "secho", "print", "prompt", "confirm", "ask", "rule", "say", "heading", "untrusted", "Table",
    "add_row", "add_column", "Panel", "passphrase", "_line", "_report",
}
#: Functions that show only their first argument (the rest is a style, a flag, a stream).
SHOWN_FIRST = {"fail", "unlock", "Text", "BadParameter", "UsageError", "Abort", "ClickException", "Exit"}
#: labelled(label, text): the label is the code's, the text someone else's (printed through untrusted).
SHOWN_FIRST_TWO = {"labelled"}
#: Keyword arguments that are shown.
SHOWN_KEYWORDS = {"help", "short_help", "epilog", "title", "caption", "prompt", "message", "detail"}
#: Exceptions of the package whose message reaches a person; found from the class tree below.
ROOT_EXCEPTIONS = {"ConsilienceError", "Refusal", "HTTPException", "BadParameter", "UsageError"}
#: Exceptions whose message never reaches a person: Python's own (an unexpected one is a bug, shown
#: as a traceback by the CLI and as a bare 500 by the services) and the package's internal ones that
#: errors.py lists as never escaping. They are not in ROOT_EXCEPTIONS' tree, so they are not scanned.
INTERNAL_EXCEPTIONS = {"Stopped", "Superseded", "MailRefused", "StaleBackup"}

#: What stays English on purpose, besides what the scan never looks at: JSON keys and values (--json
#: is for programs), log lines for operators (logging.*), metavars and option names, styles, and the
#: exceptions above. A literal is listed by its area-relative file and its text (lines move), with why;
#: code another helper owns may instead say why on the line itself (PRAGMA).
ALLOWED: dict[tuple[str, str], str] = {
    # none today: `consilience --version` prints its name through _() too ("consilience {number}")
}
#: A trailing comment on the line that says why a literal stays English (for code another helper owns).
PRAGMA = re.compile(r"#\s*i18n:\s*english\b\s*\S")


@functools.cache
def _exception_classes() -> set[str]:
    """The package's exception classes whose messages people read: the tree under ROOT_EXCEPTIONS."""
    bases: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(_name(b) for b in node.bases)
    found = set(ROOT_EXCEPTIONS)
    while True:
        more = {name for name, of in bases.items() if of & found} - found - INTERNAL_EXCEPTIONS
        if not more:
            return found
        found |= more


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


def _is_translated(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) in ("_", "_n", "N_")


def _prose(node: ast.AST | None) -> list[ast.AST]:
    """The English literals in ``node``: a string with a letter in it, however it is put together."""
    if node is None or _is_translated(node):
        return []
    if isinstance(node, ast.Constant):
        return [node] if isinstance(node.value, str) and re.search(r"[^\W\d_]", node.value) else []
    if isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        return [node] if re.search(r"[^\W\d_]", text) else []
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mod):
            return _prose(node.left)
        return _prose(node.left) + _prose(node.right)
    if isinstance(node, ast.BoolOp):
        return [found for value in node.values for found in _prose(value)]
    if isinstance(node, ast.IfExp):
        return _prose(node.body) + _prose(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _prose(node.func.value)
    if isinstance(node, ast.Tuple):  # rich's (text, style) pairs: the text is shown
        return _prose(node.elts[0]) if node.elts else []
    return []


def _text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"
                       for v in node.values if isinstance(v, ast.Constant | ast.FormattedValue))
    return ast.unparse(node)


_CODE_NAME = re.compile(r"[\w.\[\]{}-]+")


def _shown_arguments(call: ast.Call, exceptions: set[str]) -> list[ast.AST]:
    name = _name(call.func)
    if isinstance(call.func, ast.Attribute) and name == "write":
        stream = ast.unparse(call.func.value)
        return list(call.args) if stream in ("sys.stdout", "sys.stderr") else []
    if isinstance(call.func, ast.Attribute) and name == "assemble":  # Text.assemble(str | (str, style) ...)
        return list(call.args)
    shown: list[ast.AST] = [k.value for k in call.keywords if k.arg in SHOWN_KEYWORDS]
    if name in exceptions:  # every argument but a field's or a code's name (FieldRefused("entries[1].tags", ...))
        shown += [a for a in call.args if not (isinstance(a, ast.Constant | ast.JoinedStr)
                                               and _CODE_NAME.fullmatch(_text(a)))]
    elif name in SHOWN_POSITIONAL:
        shown += call.args
    elif name in SHOWN_FIRST:
        shown += call.args[:1]
    elif name in SHOWN_FIRST_TWO:
        shown += call.args[:2]
    return shown


def _is_command_decorator(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) in ("command", "callback") \
        and isinstance(node.func, ast.Attribute) and not any(k.arg == "help" for k in node.keywords)


def _docstring_help(tree: ast.Module) -> list[tuple[int, str]]:
    """Commands whose help would be their docstring: decorated, or registered as app.command()(func)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and ast.get_docstring(node):
            if any(_is_command_decorator(d) for d in node.decorator_list):
                found.append((node.lineno, f"the docstring of command {node.name}() is its help: give help=_(...)"))
        elif isinstance(node, ast.Call) and _is_command_decorator(node.func) and node.args:
            found.append((node.lineno, f"{ast.unparse(node)} takes its help from a docstring: give help=_(...)"))
    return found


def untranslated_literals(area: str) -> list[str]:
    """``path:line: text`` for each English literal of ``area`` that reaches a person without _()."""
    return scan(MESSAGES.area_files(area), PACKAGE)


def _english_constants(tree: ast.Module) -> set[str]:
    """Module-level names bound to an English literal that is not marked N_() (so never extracted)."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and _prose(node.value) and not isinstance(node.value, ast.Tuple):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def scan(paths: list[Path], base: Path) -> list[str]:
    exceptions = _exception_classes()
    found = []
    for path in paths:
        source = path.read_text()
        lines = source.splitlines()
        tree = ast.parse(source, str(path))
        rel = str(path.relative_to(base))
        hits: list[tuple[int, str]] = list(_docstring_help(tree))
        constants = _english_constants(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            if _is_translated(node) and node.args and not isinstance(node.args[0], ast.Constant):
                if isinstance(node.args[0], ast.JoinedStr | ast.BinOp):
                    hits.append((node.lineno, f"{_text(node.args[0])!r} inside _() cannot be extracted: "
                                              "use named fields, _(\"... {name}\", name=...)"))
                continue
            for argument in _shown_arguments(node, exceptions):
                for literal in _prose(argument):
                    if (rel, _text(literal)) not in ALLOWED:
                        hits.append((literal.lineno, repr(_text(literal))))
                formatted = isinstance(argument, ast.Call) and isinstance(argument.func, ast.Attribute) \
                    and argument.func.attr == "format"
                shown = argument.func.value if formatted else argument
                if isinstance(shown, ast.Name) and shown.id in constants:
                    hits.append((argument.lineno, f"{shown.id} is English: mark it N_(...) and show _({shown.id})"))
        for line, what in sorted(set(hits)):
            if not PRAGMA.search(lines[line - 1]):
                found.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line}: {what}")
    return found


@pytest.mark.parametrize("area", list(i18n.AREAS))
def test_no_english_outside_the_catalogs(area: str) -> None:
    found = untranslated_literals(area)
    assert not found, (f"area {area!r}: {len(found)} literal(s) reach a person without _() (wrap them, or, for "
                       "what must stay English, say why with a trailing '# i18n: english, <why>' comment):\n  "
                       + "\n  ".join(found))


def test_the_scan_finds_what_it_should(tmp_path: Path) -> None:
    """The grep test itself: each way English reaches a person is found, each allowed way is not."""
    sample = '''
import typer
from consilience.errors import InvalidInput
from consilience.i18n import _
app = typer.Typer(help="Untranslated group.")
def f(x, console):
    raise InvalidInput(f"bad tile {x}")
def g(console):
    console.print("Hello")
    typer.echo(_("fine"))
    console.print(_("fine {x}", x=1), style="bold")
    typer.prompt("Passphrase")
    logging.info("operators read logs in English")
    raise KeyError("internal")
@app.command()
def cmd(opt: str = typer.Option(None, help="An option.")):
    """Help from a docstring."""
    _(f"no {x}")
    console.print(Text.assemble(("error:", "bold red"), " ", "x"))
    print("kept")  # i18n: english, a test of the pragma
    say(WARNING)
    say(MARKED)
WARNING = "Careful."
MARKED = N_("Fine.")
'''
    module = tmp_path / "sample.py"
    module.write_text(sample)
    texts = "\n".join(scan([module], tmp_path))
    for expected in ("'Untranslated group.'", "'bad tile {x}'", "'Hello'", "'Passphrase'", "'An option.'",
                     "command cmd()", "inside _() cannot be extracted", "'error:'", "'x'", "WARNING is English"):
        assert expected in texts, f"{expected} not found in:\n{texts}"
    for allowed in ("fine", "operators read logs", "internal", "kept", "bold red", "MARKED", "Fine."):
        assert allowed not in texts, f"{allowed} should not be found:\n{texts}"


# -- (e) the language is chosen and spoken --------------------------------------------------------


@pytest.mark.parametrize(("header", "tags"), [
    ("es-MX,es;q=0.9,en;q=0.8", ["es-MX", "es", "en"]),
    ("en;q=0.5, ar-EG", ["ar-EG", "en"]),
    ("fr;q=0, es", ["es"]),
    ("*, de;q=0.3", ["de"]),
    ("", []),
    (None, []),
    ("ar;q=bad, es;q=0.2", ["ar", "es"]),
    ("not a tag!, en", ["en"]),
    ("es;q=0.5,ar;q=0.5", ["es", "ar"]),
])
def test_parse_accept_language(header: str | None, tags: list[str]) -> None:
    assert i18n.parse_accept_language(header) == tags


@pytest.mark.parametrize(("preferred", "chosen"), [
    (["es-MX"], "es"), (["ar_EG.UTF-8"], "ar"), (["fr", "de"], "en"), (["fr", "ar"], "ar"), ([], "en"),
    (["ES"], "es"), (["en-GB", "es"], "en"), (["es@euro"], "es"),
])
def test_negotiate(preferred: list[str], chosen: str) -> None:
    assert i18n.negotiate(preferred) == chosen


@pytest.mark.parametrize(("env", "chosen"), [
    ({}, "en"),
    ({"LANG": "ar_EG.UTF-8"}, "ar"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LC_ALL": "es_ES.UTF-8", "LANG": "ar_EG.UTF-8"}, "es"),
    ({"LANGUAGE": "fr:es", "LANG": "en_US.UTF-8"}, "es"),
    ({"CONSILIENCE_LANGUAGE": "ar", "LANG": "es_MX.UTF-8"}, "ar"),
    ({"CONSILIENCE_LANGUAGE": "", "LC_MESSAGES": "es_AR"}, "es"),
    ({"LANG": "POSIX"}, "en"),
])
def test_from_environment(env: dict[str, str], chosen: str) -> None:
    assert i18n.from_environment(env) == chosen


@pytest.mark.parametrize(("tag", "language", "locale"), [
    ("ar_EG.UTF-8", "ar", "ar-EG"), ("ar-eg", "ar", "ar-EG"), ("es-MX", "es", "es-MX"), ("es_419", "es", "es-419"),
    ("ar-XX", "ar", "ar"),  # a region CLDR does not know is dropped, not guessed
    ("es_ZZ", "es", "es"), ("es@euro", "es", "es"), ("en-US-u-nu-arab", "en", "en-US"),
    ("ar-SA-x-private", "ar", "ar-SA"),
    ("fr-FR", "en", "en"), ("AR", "ar", "ar"), ("en_GB.UTF-8@euro", "en", "en-GB"),
])
def test_choose_keeps_the_region_for_the_formats(tag: str, language: str, locale: str) -> None:
    chosen = i18n.choose([tag])
    assert (chosen.language, chosen.locale) == (language, locale)
    assert i18n.negotiate([tag]) == language
    with i18n.using(tag) as active:
        assert active == i18n.language() == language and i18n.locale() == locale
    assert (i18n.language(), i18n.locale()) == ("en", "en")


@pytest.mark.parametrize(("env", "tag"), [
    ({"LANG": "ar_EG.UTF-8"}, "ar_EG.UTF-8"),
    ({"LANGUAGE": "es:en", "LANG": "es_MX.UTF-8"}, "es_MX.UTF-8"),  # gettext's list names no region: LANG does
    ({"LANGUAGE": "es:en", "LC_ALL": "ar_EG.UTF-8", "LC_TIME": "es_AR.UTF-8"}, "es_AR.UTF-8"),
    ({"CONSILIENCE_LANGUAGE": "ar-MA", "LANG": "ar_EG.UTF-8"}, "ar-MA"),
    ({"CONSILIENCE_LANGUAGE": "ar", "LANG": "ar_EG.UTF-8"}, "ar_EG.UTF-8"),
    ({"LANG": "C.UTF-8"}, "en"), ({}, "en"), ({"LANGUAGE": "fr:de", "LANG": "es_MX.UTF-8"}, "en"),
])
def test_environment_tag(env: dict[str, str], tag: str) -> None:
    assert i18n.environment_tag(env) == tag


def test_english_is_the_source() -> None:
    with i18n.using("en"):
        assert i18n._("Nothing was deleted. Your account and your wallet are as they were.") == \
            "Nothing was deleted. Your account and your wallet are as they were."
        assert i18n._n("{n} entry", "{n} entries", 1) == "1 entry"
        assert i18n._n("{n} entry", "{n} entries", 1000) == "1,000 entries"


def _plural_message(lang: str) -> tuple[str, str, tuple[str, ...]]:
    """A plural message of the cli catalog with every form filled (its msgid, plural, forms)."""
    catalog = _load(lang, "cli")
    for message in catalog:
        if message.id and message.pluralizable and all(_forms(message.string)) and "{n}" in message.id[1]:
            return message.id[0], message.id[1], _forms(message.string)
    pytest.fail(f"{_rel(MESSAGES.po_path(lang, 'cli'))} has no translated plural message with {{n}}")


def test_arabic_has_six_forms() -> None:
    singular, plural, forms = _plural_message("ar")
    rule = re.search(r"plural=(.*?);?\s*$", MESSAGES.PLURAL_FORMS["ar"]).group(1)  # type: ignore[union-attr]
    with i18n.using("ar"):
        for n in (0, 1, 2, 3, 10, 11, 99, 100, 101, 102):
            expected = forms[_plural_index(rule, n)].format_map({"n": i18n.format_number(n)})
            assert i18n._n(singular, plural, n) == expected, n
        assert i18n.format_number(1234) != "1234"  # Arabic-Indic digits and separators
    assert len(set(forms)) == 6, "each of Arabic's six plural forms reads differently"


def test_spanish_plural_forms() -> None:
    """Spanish has two forms; the merged catalog must pick them with the .po's rule, not a third 'many'."""
    singular, plural, forms = _plural_message("es")
    with i18n.using("es"):
        assert i18n._n(singular, plural, 1) == forms[0].format_map({"n": "1"})
        for n in (0, 2, 5, 21):
            assert i18n._n(singular, plural, n) == forms[1].format_map({"n": i18n.format_number(n)}), (
                f"n={n}: the merged catalog picks the plural form with Babel's CLDR rule for Spanish (three forms) "
                "instead of the .po's Plural-Forms (two), so Spanish falls back to English; i18n._translations "
                "must give the merged catalog the parts' plural rule")


# -- (d) numbers and dates as ICU (the browser) writes them ---------------------------------------

#: ICU's own strings, as Chromium's Intl writes them (tests/vectors/make_locale_formats.mjs says how
#: they were made: Node's Intl, the same ICU).
ICU_VECTORS = ROOT / "tests" / "vectors" / "locale_formats_icu.json"


def _icu_vectors() -> dict[str, dict[str, list[list[object]]]]:
    data = json.loads(ICU_VECTORS.read_text(encoding="utf-8"))
    assert data["time_zone"] == "UTC" and data["icu"], data.get("source")
    return data["locales"]


ICU_LOCALES = ("en", "es", "es-MX", "ar", "ar-EG", "ar-SA", "ar-MA")


def test_the_icu_vectors_cover_every_locale_checked() -> None:
    assert set(_icu_vectors()) == set(ICU_LOCALES)


@pytest.mark.parametrize("tag", ICU_LOCALES)
def test_formats_agree_with_icu(tag: str) -> None:
    """Every formatter, for each locale, writes what ICU writes: digits, separators, signs, words."""
    import datetime as dt

    vectors = _icu_vectors()[tag]
    problems = []

    def check(kind: str, given: object, got: str, want: object) -> None:
        if got != want:
            problems.append(f"{kind} {given!r}: {got!r}, ICU writes {want!r}")

    with i18n.using(tag):
        assert i18n.locale() == tag
        for kind, formatter in (("number", i18n.format_number), ("percent", i18n.format_percent),
                                ("size", i18n.format_size)):
            for value, want in vectors[kind]:
                check(kind, value, formatter(value), want)  # type: ignore[operator]
        for items, want in vectors["list"]:
            check("list", items, i18n.format_list([i18n.format_number(n) for n in items]), want)  # type: ignore
        for kind, formatter in (("date", i18n.format_date), ("time", i18n.format_time),
                                ("datetime", i18n.format_datetime)):
            for moment, width, want in vectors[kind]:
                check(f"{kind} {width}", moment, formatter(dt.datetime.fromisoformat(str(moment)), width),  # type: ignore
                      want)
    from babel import Locale

    assert Locale.parse(tag, sep="-").default_numbering_system == vectors["numbering_system"], (
        "CLDR in Babel and in ICU disagree on the digits of " + tag)
    assert not problems, f"{tag}:\n  " + "\n  ".join(problems)


def test_babel_alone_writes_latin_digits_in_egypt() -> None:
    """Why i18n writes digits through the numbering system's table: Babel keeps ASCII digits. When this
    fails, Babel transliterates them itself and the table can go."""
    from babel.numbers import format_decimal

    assert format_decimal(12345.6, locale="ar_EG", numbering_system="default") == "12\u066c345\u066b6"


def test_every_region_of_a_shipped_language_has_its_digits() -> None:
    """A region's numbering system (CLDR's) must be one i18n knows the Unicode digits of."""
    from babel import Locale, localedata

    systems = {Locale.parse(name).default_numbering_system for name in localedata.locale_identifiers()
               if name.split("_")[0] in i18n.LANGUAGES}
    for system in systems:
        found = i18n.digits(system)
        assert [unicodedata.digit(c) for c in found] == list(range(10)), system
    assert i18n.digits("arab") == "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
    assert i18n.digits("latn") == "0123456789"


def test_formatters_follow_the_language() -> None:
    import datetime as dt

    moment = dt.datetime(2026, 3, 1, 18, 4, 5, tzinfo=dt.UTC)
    with i18n.using("en"):
        assert i18n.format_number(1234.5) == "1,234.5"
        english = i18n.format_datetime(moment)
    with i18n.using("es"):
        assert i18n.format_number(12345.5) == "12.345,5"
        assert "mar" in i18n.format_date(moment)
    with i18n.using("ar"):
        assert i18n.format_datetime(moment) != english
        assert i18n.direction() == "rtl"


# -- (e) the CLI speaks the language it is asked for ----------------------------------------------

#: A message of the CLI's own that any run can reach without a server: a malformed option, refused
#: before anything is asked or written.
BAD_PORTS = ("admin", "init", "--keyserver-ports", "not-a-port")
BAD_PORTS_MESSAGE = "--keyserver-ports takes comma-separated port numbers"


def _translation(lang: str, message: str) -> str:
    with i18n.using(lang):
        return i18n._(message)


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    from cli_process import cli

    proc = cli(env, *args)
    return proc.returncode, proc.stdout, proc.stderr


def _environment(tmp_path: Path, **language: str) -> dict[str, str]:
    from cli_process import person

    env = {k: v for k, v in person(tmp_path / "home").items()
           if k not in ("CONSILIENCE_LANGUAGE", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    return {**env, **language}


@pytest.mark.parametrize(("flag", "lang"), [("--language=es", "es"), ("--language=es-MX", "es"),
                                            ("--language=ar", "ar")])
def test_cli_error_in_the_language_asked_for(tmp_path: Path, flag: str, lang: str) -> None:
    code, _out, err = _run(_environment(tmp_path), flag, *BAD_PORTS, "--data-dir", str(tmp_path / "d"))
    assert code == 1, err
    expected = _translation(lang, BAD_PORTS_MESSAGE)
    assert expected != BAD_PORTS_MESSAGE
    assert err.strip() == f"{_translation(lang, 'error:')} {expected}", err
    assert not (tmp_path / "d").exists()


def test_cli_follows_lang(tmp_path: Path) -> None:
    """LANG=ar_EG.UTF-8 is Arabic; CONSILIENCE_LANGUAGE wins over it; --language wins over both."""
    arabic = _environment(tmp_path, LANG="ar_EG.UTF-8")
    _code, _out, err = _run(arabic, *BAD_PORTS)
    assert _translation("ar", BAD_PORTS_MESSAGE) in err and "خطأ:" in err, err
    _code, _out, err = _run({**arabic, "CONSILIENCE_LANGUAGE": "es"}, *BAD_PORTS)
    assert _translation("es", BAD_PORTS_MESSAGE) in err, err
    _code, _out, err = _run({**arabic, "CONSILIENCE_LANGUAGE": "es"}, "--language", "en", *BAD_PORTS)
    assert err.strip() == f"error: {BAD_PORTS_MESSAGE}", err


def test_cli_english_unchanged(tmp_path: Path) -> None:
    for env in (_environment(tmp_path), _environment(tmp_path, LANG="C.UTF-8"),
                _environment(tmp_path, LANG="fr_FR.UTF-8")):
        code, _out, err = _run(env, *BAD_PORTS)
        assert code == 1 and err.strip() == f"error: {BAD_PORTS_MESSAGE}", err


def test_cli_help_is_translated(tmp_path: Path) -> None:
    """typer reads help when the tree is built: the language is chosen before that."""
    env = _environment(tmp_path)
    _code, english, _err = _run(env, "reporter", "--help")
    assert "Write records and put them in escrow." in english
    for lang in ("es", "ar"):
        _code, shown, _err = _run(env, "--language", lang, "reporter", "--help")
        for message in ("Write records and put them in escrow.", "Your records and the status of those in escrow."):
            assert " ".join(_translation(lang, message).split())[:30] in " ".join(shown.split()), shown
        assert "Write records and put them in escrow." not in shown


def test_cli_json_is_the_same_in_every_language(tmp_path: Path) -> None:
    """--json is for programs: the same bytes whatever the language; the text beside it is translated."""
    env = _environment(tmp_path, CONSILIENCE_PASSPHRASE="a passphrase for the test")
    data_dir = str(tmp_path / "deployment")
    code, _out, err = _run(env, "admin", "init", "--data-dir", data_dir, "--json")
    assert code == 0, err
    documents = {lang: _run(env, "--language", lang, "admin", "status", "--data-dir", data_dir, "--json")[1]
                 for lang in i18n.LANGUAGES}
    assert json.loads(documents["en"])["deployment_serial"] == 1
    assert documents["es"] == documents["en"] == documents["ar"]
    _code, arabic, _err = _run(env, "--language", "ar", "admin", "status", "--data-dir", data_dir)
    assert _translation("ar", "Counselors: {counselors}").split(":")[0] in arabic, arabic
    assert "Counselors:" not in arabic


@pytest.mark.parametrize(("argv", "env", "language", "locale"), [
    (["--language", "es", "admin"], {}, "es", "es"),
    (["--language=ar-EG", "admin"], {"LANG": "es_ES.UTF-8"}, "ar", "ar-EG"),
    (["admin", "--help"], {"LANG": "es_ES.UTF-8"}, "es", "es-ES"),
    (["admin", "--help"], {"CONSILIENCE_LANGUAGE": "ar", "LANG": "es_ES.UTF-8"}, "ar", "ar"),
    (["reporter", "write", "--", "--language", "es"], {}, "en", "en"),
    (["--language", "fr"], {"LANG": "es_ES.UTF-8"}, "en", "en"),
    (["--language"], {"LANG": "es_ES.UTF-8"}, "es", "es-ES"),
    # a bare language takes the POSIX locale's region for the formats, as the browser's languages do
    (["--language", "es"], {"LANG": "es_MX.UTF-8"}, "es", "es-MX"),
    (["--language", "ar"], {"LANG": "es_MX.UTF-8"}, "ar", "ar"),
    ([], {"CONSILIENCE_LANGUAGE": "ar", "LC_ALL": "ar_SA.UTF-8"}, "ar", "ar-SA"),
])
def test_startup_language(argv: list[str], env: dict[str, str], language: str, locale: str) -> None:
    from consilience.cli.app import startup_language

    chosen = i18n.choose([startup_language(argv, env)])
    assert (chosen.language, chosen.locale) == (language, locale)


def test_times_in_the_locale() -> None:
    """The CLI's text shows times as people read them there; English keeps its ISO-like form."""
    from consilience.cli.output import when

    with i18n.using("en"):
        assert when("2026-03-01T18:04:05+00:00").startswith("2026-03-01 ")
    with i18n.using("es"):
        assert "2026" in when("2026-03-01T18:04:05+00:00") and "mar" in when("2026-03-01T18:04:05+00:00")
    with i18n.using("ar"):
        assert when("not a time") == "not a time"
        plain = when("2026-03-01T18:04:05+00:00")
    with i18n.using("ar-EG"):  # the same Arabic words, Egypt's digits
        egyptian = when("2026-03-01T18:04:05+00:00")
        counted = i18n._n("{n} entry", "{n} entries", 1234)
    assert "2026" in plain and "\u0662\u0660\u0662\u0666" in egyptian and "2026" not in egyptian, (plain, egyptian)
    assert "\u0661\u066c\u0662\u0663\u0664" in counted, counted
