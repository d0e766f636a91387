"""typer's own words come out in the person's language, and an upgrade of typer that changes them is noticed.

The CLI runs as a person runs it (a process, output to a pipe): in Spanish and Arabic an unknown
command, a missing argument, a bad option value and ``--help`` leave no English but the names of
commands, options and types; ``--json`` is the same bytes in every language. Then typer's installed
sources are scanned for the sentences it can show, and each must be one ``cli/builtin_words.py``
hooks (or one it says is never shown): a new or renamed sentence fails here, not silently in English.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest
import typer

from consilience import i18n
from consilience.cli import builtin_words

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cli_process import cli, person  # noqa: E402

LANGUAGES = ("es", "ar")


def _env(tmp_path: Path, lang: str) -> dict[str, str]:
    return {**person(tmp_path / "home"), "CONSILIENCE_LANGUAGE": lang, "COLUMNS": "200"}


def _english_words(lang: str) -> set[str]:
    """The words of typer's English sentences that the language's catalog does not use itself (Spanish
    writes "Error" too), of four letters or more (so "a" or "no", words in both, are not counted)."""
    words: set[str] = set()
    for group in [*builtin_words.SENTENCES.values(), builtin_words.PYDANTIC]:
        for message in group:
            words |= set(re.findall(r"[A-Za-z]{4,}", re.sub(r"\{[^}]*\}|\[/?\w*\]", "", message)))
    with i18n.using(lang):
        said = re.sub(r"\{[^}]*\}", "", " ".join(i18n._(m) for group in [*builtin_words.SENTENCES.values(),
                                                                           builtin_words.PYDANTIC] for m in group))
    return {w for w in words if not re.search(rf"\b{w}\b", said, re.IGNORECASE)}


#: What stays as it is in every language: the program, command and option names, metavars and types,
#: quoted names, and the panels' box drawing.
_CODE = re.compile(r"python -m consilience[\w .-]*|--?[\w-]+|\[OPTIONS\]|COMMAND|\[ARGS\]\.\.\.|<[^>]+>|'[^']*'"
                   r"|\{[^}]*\}|\b[A-Z_]{2,}\b|[\w./-]+\.(json|md|proof)\b|/[\w/.-]+")


def _left_in_english(text: str, lang: str) -> list[str]:
    prose = _CODE.sub(" ", text)
    return sorted({w for w in _english_words(lang) if re.search(rf"\b{w}\b", prose, re.IGNORECASE)})


def _said(lang: str, text: str, **fields: str) -> str:
    with i18n.using(lang):
        return i18n._(text, **fields)


CASES = {
    "unknown command": (("nosuch",), "No such command {name!r}.", {"name": "nosuch"}),
    "missing argument": (("counselor", "note"), "Missing argument {param_hint}.", {"param_hint": "'CASE'"}),
    "bad option value": (("demo", "--quorum", "many"), "Invalid value for {param_hint}: {message}",
                         {"param_hint": "'--quorum'"}),
    "unknown option": (("reporter", "write", "--nope"), "No such option: {option_name}",
                       {"option_name": "--nope"}),
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("case", list(CASES))
def test_a_mistake_is_explained_in_the_language(tmp_path: Path, lang: str, case: str) -> None:
    args, message, fields = CASES[case]
    english = cli(_env(tmp_path, "en"), *args)
    proc = cli(_env(tmp_path, lang), *args)
    assert proc.returncode == english.returncode == 2, proc.stderr
    assert proc.stdout == english.stdout == ""
    shown = " ".join(proc.stderr.replace("│", " ").split())
    if "{message}" in message:
        head = _said(lang, message, message="\0", **fields).split("\0")[0]
        assert " ".join(head.split()) in shown, proc.stderr
    else:
        assert " ".join(_said(lang, message, **fields).split()) in shown, proc.stderr
    assert _said(lang, "Usage: ").strip() in shown and _said(lang, "Error") in shown, proc.stderr
    assert "Usage:" in english.stderr and "Usage:" not in proc.stderr
    assert not _left_in_english(proc.stderr, lang), (_left_in_english(proc.stderr, lang), proc.stderr)
    assert _left_in_english(english.stderr, lang), "the check finds typer's English where it is"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_suggestion_is_said_in_the_language(tmp_path: Path, lang: str) -> None:
    proc = cli(_env(tmp_path, lang), "log", "verify")
    assert proc.returncode == 2
    assert "'verify-tiles'" in proc.stderr and not _left_in_english(proc.stderr, lang), proc.stderr


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("args", [("--help",), ("log", "verify-tiles", "--help"), ("demo", "--help")])
def test_help_is_in_the_language(tmp_path: Path, lang: str, args: tuple[str, ...]) -> None:
    proc = cli(_env(tmp_path, lang), *args)
    assert proc.returncode == 0, proc.stderr
    for message in ("Usage: ", "Options", "Show this message and exit."):
        assert " ".join(_said(lang, message).split()) in " ".join(proc.stdout.split()), (message, proc.stdout)
    assert not _left_in_english(proc.stdout, lang), (_left_in_english(proc.stdout, lang), proc.stdout)
    english = cli(_env(tmp_path, "en"), *args).stdout
    assert "Show this message and exit." in english and "Usage:" in english
    assert _left_in_english(english, lang), "the check finds typer's English where it is"


def test_json_is_the_same_in_every_language(tmp_path: Path) -> None:
    env = {**_env(tmp_path, "en"), "CONSILIENCE_PASSPHRASE": "a passphrase for the test"}
    data_dir = str(tmp_path / "deployment")
    made = cli(env, "admin", "init", "--data-dir", data_dir, "--json")
    assert made.returncode == 0, made.stderr
    documents = {lang: cli({**env, "CONSILIENCE_LANGUAGE": lang}, "admin", "status", "--data-dir", data_dir,
                           "--json").stdout for lang in i18n.LANGUAGES}
    assert json.loads(documents["en"])["deployment_serial"] == 1
    assert documents["es"] == documents["en"] == documents["ar"]


# -- in the process: the hooks themselves -------------------------------------------------------------

@pytest.mark.parametrize(("english", "lang", "expected"), [
    ("No existe el comando 'x'. Did you mean 'y'?", "es", "No existe el comando 'x'. ¿Quisiste decir 'y'?"),
    ("Invalid value for '--quorum': Input should be a valid integer, unable to parse string as an integer", "es",
     "Valor no válido para '--quorum': Debe ser un número entero; esto no se puede leer como número entero"),
    ("Missing option '--kind'. Choose from:\n\ta,\n\tb", "es", "Falta la opción '--kind'. Elige entre:\n\ta,\n\tb"),
    ("Option '--x' requires 2 arguments.", "ar-EG", "الخيار '--x' يحتاج إلى قيم عددها ٢."),
    ("Invalid value for 'N': Value error, 'c' is not one of 'a', 'b'.", "es",
     "Valor no válido para 'N': 'c' no es ninguno de estos: 'a', 'b'."),
    ("a sentence of ours, already translated", "es", "a sentence of ours, already translated"),
])
def test_translated(english: str, lang: str, expected: str) -> None:
    with i18n.using(lang):
        assert builtin_words.translated(english) == expected
    with i18n.using("en"):
        assert builtin_words.translated(english) == english


def test_every_message_of_the_hooks_is_in_the_click_area() -> None:
    """What builtin_words hooks is what the click area's catalogs hold (scripts/messages extracts it)."""
    assert i18n.AREAS["click"] == ("cli/builtin_words.py",)
    messages = {m for group in builtin_words.SENTENCES.values() for m in group} | set(builtin_words.PYDANTIC)
    for lang in LANGUAGES:
        with i18n.using(lang):
            untranslated = sorted(m for m in messages if i18n._(m) == m and m not in ("Error", "Error: {message}"))
        assert not untranslated, (lang, untranslated)


# -- typer's sources: an upgrade that changes a sentence is noticed ----------------------------------

TYPER = Path(typer.__file__).resolve().parent
#: The modules a person's run goes through (typer's copy of click included).
MODULES = ("core.py", "rich_utils.py", "_param_types.py", "_coercion.py", "_adapters.py", "_click/core.py",
           "_click/exceptions.py", "_click/parser.py", "_click/formatting.py", "_click/termui.py",
           "_click/decorators.py")
#: Calls whose text reaches a person (echoed, raised as a usage error, shown as help).
SHOWN_CALLS = {"echo", "fail", "_", "append", "BadParameter", "UsageError", "BadOptionUsage", "BadArgumentUsage",
               "NoSuchOption", "ValueError", "MissingParameter", "FileError", "ClickException"}
#: What the scan finds that is not a sentence for a person: programmers' errors raised while the command
#: tree is built, names, modes and escape codes.
FOR_PROGRAMMERS = {
    "Boolean option {} cannot use the same flag for true/false.", "Expected one list item type, got: {}",
    "Invalid start character for option ({})", "unknown action '{}'", "TYPER_RICH_MARKUP_MODE", "append", "count",
    "store", "{}_const", "r", "rb", "w", "wb", "ctx", "param", "\x1b[0m", "\x1b[{}m",
}


def _form(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)  # type: ignore
    return None


def _name(func: ast.AST) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def typer_sentences() -> dict[str, str]:
    """Each text typer's modules pass to a person (an f-string's fields as ``{}``) -> where it is."""
    found: dict[str, str] = {}
    for module in MODULES:
        path = TYPER / module
        candidates: list[ast.AST] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                if _name(node.func) in SHOWN_CALLS:
                    candidates += node.args
                candidates += [k.value for k in node.keywords if k.arg in ("message", "help")]
            elif isinstance(node, ast.Assign | ast.AugAssign) and module != "rich_utils.py":
                candidates.append(node.value)
                if isinstance(node.value, ast.IfExp):
                    candidates += [node.value.body, node.value.orelse]
            elif isinstance(node, ast.Return) and node.value is not None:
                candidates.append(node.value)
        for candidate in candidates:
            text = _form(candidate)
            if text and any(c.isalpha() for c in text):
                found.setdefault(text, f"typer/{module}:{getattr(candidate, 'lineno', '?')}")
    return found


def test_typer_says_nothing_the_hooks_do_not_know() -> None:
    """A sentence typer added or reworded since the hooks were written would be shown in English."""
    known = set(builtin_words.SENTENCES) | set(builtin_words.UNSHOWN) | set(builtin_words.PARTS) | FOR_PROGRAMMERS
    new = {text: where for text, where in typer_sentences().items() if text not in known}
    assert not new, ("typer shows sentences cli/builtin_words.py does not hook (add each to SENTENCES with its "
                     "messages, run scripts/messages click and translate):\n  "
                     + "\n  ".join(f"{where}: {text!r}" for text, where in sorted(new.items(), key=lambda i: i[1])))


def test_every_sentence_hooked_is_still_in_typer() -> None:
    """A hooked sentence typer no longer says (renamed) leaves its new wording unhooked: noticed here."""
    said = set(typer_sentences())
    gone = sorted(set(builtin_words.SENTENCES) - said) + sorted(set(builtin_words.PARTS) - said)
    assert not gone, f"cli/builtin_words.py hooks sentences typer no longer has: {gone}"
    for part, sentence in builtin_words.PARTS.items():
        assert sentence in builtin_words.SENTENCES, part


def test_the_hooked_attributes_are_still_there() -> None:
    """Each module attribute, constant and method builtin_words sets or wraps still exists as expected."""
    import typer.core
    import typer.rich_utils
    from typer._click import core, exceptions, formatting, termui

    builtin_words.install()
    for module in builtin_words.GETTEXT_MODULES:
        assert sys.modules[module]._ is i18n._, module  # type: ignore[attr-defined]
    source = (TYPER / "rich_utils.py").read_text(encoding="utf-8")
    for name, message in builtin_words.RICH_CONSTANTS.items():
        assert re.search(rf"^{name} = _\({re.escape(json.dumps(message))}\)$", source, re.MULTILINE), (
            f"typer.rich_utils.{name} is no longer _({message!r})")
    assert "(?P<usage>Usage: )" in source
    assert re.search(r"^highlighter = OptionHighlighter\(\)$", source, re.MULTILINE)
    for name in builtin_words.RICH_SCREENS:
        assert re.search(rf"rich_utils\.{name}\(", (TYPER / "core.py").read_text(encoding="utf-8")), name
    for owner, name in ((exceptions, "echo"), (termui, "echo"), (formatting.HelpFormatter, "write_usage"),
                        (core.Command, "get_help_option"), (exceptions.BadParameter, "format_message"),
                        (exceptions.MissingParameter, "format_message"), (exceptions.NoSuchOption, "format_message"),
                        (typer.exceptions.TyperException, "format_message"),
                        *((typer.rich_utils, name) for name in builtin_words.RICH_SCREENS)):
        assert getattr(getattr(owner, name), "__consilience_hook__", False), (owner, name)


def test_pydantic_still_says_what_the_catalog_translates() -> None:
    """typer reads option values with pydantic and shows its message: each one hooked must still be pydantic's."""
    from typing import Annotated

    from pydantic import AfterValidator, Field, TypeAdapter, ValidationError

    def message(annotation: object, value: object) -> str:
        try:
            TypeAdapter(annotation).validate_python(value)
        except ValidationError as exc:
            return str(exc.errors()[0]["msg"])
        raise AssertionError(f"{value!r} was accepted")

    def refuse(value: str) -> str:
        raise ValueError("no")

    said = {
        message(int, "many"), message(int, 1.5), message(float, "many"), message(bool, "maybe"),
        message(Annotated[int, Field(gt=1)], 0), message(Annotated[int, Field(ge=1)], 0),
        message(Annotated[int, Field(lt=1)], 2), message(Annotated[int, Field(le=1)], 2),
        message(Annotated[str, AfterValidator(refuse)], "x"),
    }
    patterns = {m: re.compile(re.escape(m).replace(re.escape("{bound}"), r"\d+").replace(re.escape("{message}"),
                                                                                          ".+"))
                for m in builtin_words.PYDANTIC}
    for text in said:
        assert any(p.fullmatch(text) for p in patterns.values()), f"pydantic now says {text!r}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_without_rich_too(tmp_path: Path, lang: str) -> None:
    """TYPER_USE_RICH=0 prints the usage, the hint and the error itself (click's own ``show``)."""
    proc = cli({**_env(tmp_path, lang), "TYPER_USE_RICH": "0"}, "nosuch")
    assert proc.returncode == 2
    assert _said(lang, "Try '{command} {option}' for help.", command="python -m consilience", option="--help") \
        in proc.stderr, proc.stderr
    assert _said(lang, "Error: {message}", message=_said(lang, "No such command {name!r}.", name="nosuch")) \
        in proc.stderr, proc.stderr
    assert not _left_in_english(proc.stderr, lang), proc.stderr


def test_the_screens_follow_a_change_of_language_in_the_process() -> None:
    """The panels' titles are constants of rich_utils: set again as each screen is drawn."""
    from typer.testing import CliRunner

    from consilience.cli.tree import app

    for lang in ("es", "ar", "en"):
        with i18n.using(lang):
            shown = CliRunner().invoke(app, ["witness", "--help"]).output
            wrong = CliRunner().invoke(app, ["nosuch"]).output
        assert _said(lang, "Options") in shown and _said(lang, "Commands") in shown, shown
        assert _said(lang, "Error") in wrong and _said(lang, "Usage: ").strip() in wrong, wrong


def test_a_question_refuses_an_answer_in_the_language() -> None:
    """typer.confirm's refusal of an answer it cannot read (its [y/N] letters are the answers it takes)."""
    from typer.testing import CliRunner

    question = typer.Typer()

    @question.command()
    def ask() -> None:
        typer.echo("yes" if typer.confirm("?", default=False) else "no")

    builtin_words.install()
    with i18n.using("es"):
        result = CliRunner().invoke(question, [], input="tal vez\ny\n")
    assert result.exit_code == 0, result.output
    assert _said("es", "Error: invalid input") in result.output and "Error: invalid input" not in result.output
