"""typer's own words (its usage line, errors, help panels, prompts) in the person's language.

A person who mistypes a command in distress meets typer's sentences before any of ours: "No such
command", "Missing argument", "Invalid value for '--quorum'", "Usage:", the "Options" panel. Our
catalogs say them too (``locales/<lang>/LC_MESSAGES/click.po``, the ``click`` area), hooked here:

- typer 0.29 carries its own copy of click (``typer._click``) with every sentence written as a plain
  string or f-string, not through gettext (the separate ``click`` package, which does use gettext, is
  never imported by the CLI). A literal cannot be hooked where it is written, so each one is caught
  where it reaches the person: the ``format_message`` of typer's exceptions (what the error panel
  shows), the usage line's prefix, the help option's help, and the ``echo`` of the prompts. There the
  English is matched against ``SENTENCES``' templates (their fields are what the f-string filled in)
  and said again from the catalog with the same fields; a field that is itself one of typer's
  sentences (``{message}``) is translated too. Text that matches no template (a message of ours,
  already translated where it was raised) is left as it is.
- ``typer.core`` and ``typer.rich_utils`` do use gettext (``from gettext import gettext as _``): their
  module's ``_`` is pointed at ``consilience.i18n._``, which looks the message up in the active
  language and returns it unformatted, as gettext does. ``rich_utils`` also evaluates some of them
  into constants when it is imported (``OPTIONS_PANEL_TITLE = _("Options")``), so ``speak()`` sets
  those again whenever the language is set.

This is a hook into another library's internals, so ``tests/cli/test_cli_language.py`` scans typer's
installed sources and fails when a sentence hooked here is gone, changed, or joined by a new one, and
when a module attribute hooked here disappears: an upgrade of typer is noticed, not silently English.
What stays English is code: command and option names, metavars (``[OPTIONS]``, ``COMMAND``, ``<int>``,
``<Path>``: typer names the Python type) and the ``[y/N]`` of a question, whose letters are the
answers typer accepts.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import Any

from consilience import i18n
from consilience.i18n import N_, _

#: typer's sentences as its source writes them (an f-string's fields as ``{}``), each with the messages
#: that say it in our catalogs: the same text, the fields named. A sentence typer builds from parts
#: ("Missing " + "argument" + hint) has one message per way it can come out, so that a translator sees
#: whole sentences (in Spanish "el argumento" but "la opción").
SENTENCES: dict[str, tuple[str, ...]] = {
    # typer/_click/exceptions.py
    "Error: {}": (N_("Error: {message}"),),
    "Try '{} {}' for help.\n": (N_("Try '{command} {option}' for help."),),
    "Invalid value: {}": (N_("Invalid value: {message}"),),
    "Invalid value for {}: {}": (N_("Invalid value for {param_hint}: {message}"),),
    "Missing {}{}. {}": (N_("Missing argument {param_hint}. {message}"), N_("Missing option {param_hint}. {message}"),
                         N_("Missing parameter {param_hint}. {message}")),
    "Missing {}{}.": (N_("Missing argument {param_hint}."), N_("Missing option {param_hint}."),
                      N_("Missing parameter {param_hint}."), N_("Missing parameter.")),
    "Missing parameter: {}": (N_("Missing parameter: {param_name}"),),
    "No such option: {}": (N_("No such option: {option_name}"),),
    "(Possible options: {})": (N_("{message} (Possible options: {possibilities})"),),
    "Could not open file {}: {}": (N_("Could not open file {filename}: {message}"),),
    "unknown error": (N_("unknown error"),),
    # typer/_click/core.py
    "Got unexpected extra argument(s) ({})": (N_("Got unexpected extra argument(s) ({arguments})"),),
    # typer/_click/parser.py
    "Option {} does not take a value.": (N_("Option {option_name} does not take a value."),),
    "Option {} requires {}": (N_("Option {option_name} requires an argument."),
                              N_("Option {option_name} requires {nargs} arguments.")),
    "Argument {} takes {} values.": (N_("Argument {name} takes {nargs} values."),),
    # typer/_click/formatting.py, typer/_click/decorators.py
    "Usage: ": (N_("Usage: "),),
    "Show this message and exit.": (N_("Show this message and exit."),),
    # typer/_click/termui.py
    "Repeat for confirmation": (N_("Repeat for confirmation"),),
    "Error: The value you entered was invalid.": (N_("Error: The value you entered was invalid."),),
    "Error: The two entered values do not match.": (N_("Error: The two entered values do not match."),),
    "Error: invalid input": (N_("Error: invalid input"),),
    # typer/core.py (through gettext, or plain)
    "(dynamic)": (N_("(dynamic)"),),
    "Aborted!": (N_("Aborted!"),),
    "default: {default}": (N_("default: {default}"),),
    "required": (N_("required"),),
    "env var: {var}": (N_("env var: {var}"),),
    " (env var: '{}')": (N_("{hint} (env var: '{envvar}')"),),
    "Arguments": (N_("Arguments"),),
    "Options": (N_("Options"),),
    "Commands": (N_("Commands"),),
    "Missing command.": (N_("Missing command."),),
    "No such command {name!r}.": (N_("No such command {name!r}."),),
    "{}. Did you mean {}?": (N_("{message}. Did you mean {suggestions}?"),),
    "Choose from:\n\t{}": (N_("Choose from:\n\t{choices}"),),
    # typer/_param_types.py (a choice's refusal comes through pydantic: "Value error, ...")
    "{} is not one of {}.": (N_("{value} is not one of {choices}."),),
    "{} {} does not exist.": (N_("file {filename} does not exist."), N_("dir {filename} does not exist."),
                              N_("path {filename} does not exist.")),
    "{} {} is a file.": (N_("dir {filename} is a file."), N_("path {filename} is a file.")),
    "{} {} is a directory.": (N_("file {filename} is a directory."), N_("path {filename} is a directory.")),
    "{} {} is not readable.": (N_("file {filename} is not readable."), N_("dir {filename} is not readable."),
                               N_("path {filename} is not readable.")),
    "{} {} is not writable.": (N_("file {filename} is not writable."), N_("dir {filename} is not writable."),
                               N_("path {filename} is not writable.")),
    # typer/_coercion.py, typer/_adapters.py
    "Value must be an iterable.": (N_("Value must be an iterable."),),
    "Value {} is not a valid {}.": (N_("Value {value} is not a valid {type}."),),
    "value is not a valid tuple": (N_("value is not a valid tuple"),),
    "{} values are required, but {} given.": (N_("{nargs} values are required, but {given} given."),),
    "{} does not match the formats {}.": (N_("{value} does not match the formats {formats}."),),
    "None is not a valid string": (N_("None is not a valid string"),),
    # typer/rich_utils.py (constants, set by speak())
    "(deprecated) ": (N_("(deprecated) "),),
    "[default: {}]": (N_("[default: {}]"),),
    "[env var: {}]": (N_("[env var: {}]"),),
    "[required]": (N_("[required]"),),
    "Error": (N_("Error"),),
    "Aborted.": (N_("Aborted."),),
    "Try [blue]'{command_path} {help_option}'[/] for help.": (
        N_("Try [blue]'{command_path} {help_option}'[/] for help."),),
}

#: pydantic's own sentences, which typer shows when it cannot read a value as the option's type (they
#: are not in typer's source: the test asks pydantic for each of them).
PYDANTIC: tuple[str, ...] = (
    N_("Value error, {message}"),
    N_("Input should be a valid integer, unable to parse string as an integer"),
    N_("Input should be a valid integer, got a number with a fractional part"),
    N_("Input should be a valid number, unable to parse string as a number"),
    N_("Input should be a valid boolean, unable to interpret input"),
    N_("Input should be greater than {bound}"),
    N_("Input should be greater than or equal to {bound}"),
    N_("Input should be less than {bound}"),
    N_("Input should be less than or equal to {bound}"),
)

#: typer.rich_utils' constants, evaluated when it is imported: name -> the message it holds.
RICH_CONSTANTS = {
    "ARGUMENTS_PANEL_TITLE": "Arguments", "OPTIONS_PANEL_TITLE": "Options", "COMMANDS_PANEL_TITLE": "Commands",
    "ERRORS_PANEL_TITLE": "Error", "ABORTED_TEXT": "Aborted.",
    "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.", "DEFAULT_STRING": "[default: {}]",
    "ENVVAR_STRING": "[env var: {}]", "REQUIRED_LONG_STRING": "[required]", "DEPRECATED_STRING": "(deprecated) ",
}
#: Sentences of typer's source a person does not meet with the CLI as it is built (rich on, no command
#: deprecated), or that are for programmers; the test accepts them and no others.
UNSHOWN: dict[str, str] = {
    "env var: {}": "an argument's environment variable in the help without rich (TYPER_USE_RICH=0); none is set",
    "(DEPRECATED: {})": "no command is deprecated",
    "DeprecationWarning: The command {} is deprecated.{}": "no command is deprecated",
    "(DEPRECATED)": "no command is deprecated",
    "COMMAND [ARGS]...": "a metavar, like [OPTIONS]",
    "datetime": "a metavar: the type of an option (<datetime>)",
    "list[{}]": "a metavar: the type of an option (<list[str]>)",
    "{} range": "a metavar: the type of an option (<int range>)",
}
#: Words typer puts into one of SENTENCES (the sentence's messages say each way it comes out).
PARTS: dict[str, str] = {
    "argument": "Missing {}{}.", "option": "Missing {}{}.", "parameter": "Missing {}{}.",
    "file": "{} {} does not exist.", "dir": "{} {} does not exist.", "path": "{} {} does not exist.",
    "an argument.": "Option {} requires {}", "{} arguments.": "Option {} requires {}",
}
#: The rich_utils functions that draw a screen with those constants (typer.core calls them through the module).
RICH_SCREENS = ("rich_format_help", "rich_format_error", "rich_abort_error")
#: The modules whose ``_`` (gettext's) is pointed at ours.
GETTEXT_MODULES = ("typer.core", "typer.rich_utils")
#: Fields whose text is itself one of these sentences, said again in the language too.
NESTED = frozenset({"message", "param_hint"})
#: Fields that hold a count, written with the locale's digits.
COUNTS = frozenset({"nargs", "given"})
_FIELD = re.compile(r"\{([a-z_]+)(![rsa])?\}")


@functools.cache
def _templates() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each message as a pattern of its English (fields: any text). Those that begin with words are tried
    first ("Value error, {message}" before "{value} is not one of {choices}.", which would take "Value
    error, 'c'" for its value), then those with the most words ("Missing option {param_hint}. {message}"
    before "Missing option {param_hint}.")."""
    messages = {m for group in SENTENCES.values() for m in group} | set(PYDANTIC)
    compiled = []
    for message in messages:
        if not _FIELD.search(message):
            continue  # a plain sentence is found by its exact text
        parts, end = [], 0
        for match in _FIELD.finditer(message):
            parts.append(re.escape(message[end:match.start()]))
            parts.append(f"(?P<{match.group(1)}>.+?)")
            end = match.end()
        parts.append(re.escape(message[end:]))
        compiled.append((re.compile("".join(parts), re.DOTALL), message))
    compiled.sort(key=lambda item: (item[1].startswith("{"), -len(_FIELD.sub("", item[1]))))
    return tuple(compiled)


@functools.cache
def _plain() -> frozenset[str]:
    return frozenset(m for group in SENTENCES.values() for m in group if not _FIELD.search(m)) | frozenset(
        m for m in PYDANTIC if not _FIELD.search(m))


def translated(text: str) -> str:
    """``text`` (one of typer's sentences in English, filled in) in the active language; other text as is."""
    if i18n.language() == i18n.DEFAULT or not text:
        return text
    if text in _plain():
        return _(text)
    for pattern, message in _templates():
        match = pattern.fullmatch(text)
        if match is None:
            continue
        values = match.groupdict()
        for name, value in values.items():
            if name in NESTED:
                values[name] = translated(value)
            elif name in COUNTS and value.isdigit():
                values[name] = i18n.format_number(int(value))
        said = _(message)
        # the catalog's {name!r} was filled by typer before we saw it: fill it with the text as it came
        return _FIELD.sub(functools.partial(_field, values), said)
    if "\n" in text:  # the usage line and the hint, echoed together when rich is off
        return "\n".join(translated(line) for line in text.split("\n"))
    return text


def _field(values: dict[str, str], match: re.Match[str]) -> str:
    return values[match.group(1)]


def _translating(method: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(method)
    def said(self: Any, *args: Any, **kwargs: Any) -> str:
        return translated(method(self, *args, **kwargs))

    said.__consilience_hook__ = True  # type: ignore[attr-defined]
    return said


def _echoing(echo: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(echo)
    def said(message: Any = None, *args: Any, **kwargs: Any) -> Any:
        return echo(translated(message) if isinstance(message, str) else message, *args, **kwargs)

    said.__consilience_hook__ = True  # type: ignore[attr-defined]
    return said


def _usage_prefix(write_usage: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(write_usage)
    def written(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, _("Usage: ") if prefix is None else prefix)

    written.__consilience_hook__ = True  # type: ignore[attr-defined]
    return written


def _help_option(get_help_option: Callable[..., Any]) -> Callable[..., Any]:
    """The help option is made once per command and kept: its help is said again in each language."""
    english = "Show this message and exit."

    @functools.wraps(get_help_option)
    def option(self: Any, ctx: Any) -> Any:
        found = get_help_option(self, ctx)
        if found is not None:
            if not hasattr(found, "consilience_english_help"):
                found.consilience_english_help = found.help
            if found.consilience_english_help == english:
                found.help = _(english)
        return found

    option.__consilience_hook__ = True  # type: ignore[attr-defined]
    return option


def _hooked(owner: Any, name: str, wrap: Callable[[Any], Any]) -> None:
    current = getattr(owner, name)
    if not getattr(current, "__consilience_hook__", False):
        setattr(owner, name, wrap(current))


@functools.cache
def install() -> None:
    """Hooks typer once per process (``speak`` then follows each change of language)."""
    import typer.core  # noqa: F401  (the modules of GETTEXT_MODULES, looked up in sys.modules)
    import typer.rich_utils
    from typer import exceptions as typer_exceptions
    from typer._click import core, exceptions, formatting, termui

    for module_name in GETTEXT_MODULES:
        sys.modules[module_name]._ = _  # type: ignore[attr-defined]
    for cls in [*vars(typer_exceptions).values(), *vars(exceptions).values()]:
        if isinstance(cls, type) and issubclass(cls, typer_exceptions.TyperException) \
                and "format_message" in vars(cls):
            _hooked(cls, "format_message", _translating)
    _hooked(exceptions, "echo", _echoing)
    _hooked(termui, "echo", _echoing)
    _hooked(formatting.HelpFormatter, "write_usage", _usage_prefix)
    _hooked(core.Command, "get_help_option", _help_option)
    for name in RICH_SCREENS:
        _hooked(typer.rich_utils, name, _speaking)


def _constants_set() -> None:
    """rich_utils' constants (and the usage line's highlight) in the active language."""
    from typer import rich_utils

    for name, message in RICH_CONSTANTS.items():
        setattr(rich_utils, name, _(message))
    usage = f"(?P<usage>{re.escape(_('Usage: '))})"
    if usage not in rich_utils.OptionHighlighter.highlights:
        rich_utils.OptionHighlighter.highlights = [
            *[h for h in rich_utils.OptionHighlighter.highlights if "?P<usage>" not in h], usage]


def _speaking(draw: Callable[..., Any]) -> Callable[..., Any]:
    """A rich_utils screen drawn with its constants in the language active when it is drawn (a test's
    ``i18n.using`` too, not only the language the run started with)."""
    @functools.wraps(draw)
    def drawn(*args: Any, **kwargs: Any) -> Any:
        _constants_set()
        return draw(*args, **kwargs)

    drawn.__consilience_hook__ = True  # type: ignore[attr-defined]
    return drawn


def speak() -> None:
    """Says typer's words in the active language: hooks typer (once) and sets rich_utils' constants again."""
    install()
    _constants_set()
