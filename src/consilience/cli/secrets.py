"""Getting passphrases without putting them on the command line.

A passphrase in argv would show up in the process list and shell history, so
the CLI reads it from an environment variable named by the user (for
scripts) or asks on the terminal with echo off.

On a terminal a person gets a few tries: a new passphrase that is too short,
or whose confirmation differs, is asked for again with the reason; so is a
passphrase that does not open the file. From the environment there is one
try and one clear error, since nobody is there to answer.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from consilience.cli.output import say
from consilience.errors import DecryptionError, InvalidInput
from consilience.i18n import _, _n

T = TypeVar("T")

DEFAULT_ENV = "CONSILIENCE_PASSPHRASE"
MIN_LENGTH = 8
#: How many times a person at a terminal is asked before the command gives up.
ATTEMPTS = 3


def can_ask() -> bool:
    """Whether there is a terminal to ask on (getpass uses /dev/tty, even when stdin is a file or a pipe)."""
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return sys.stdin.isatty()


def _no_terminal(env: str) -> InvalidInput:
    return InvalidInput(_("There is no terminal to ask for the passphrase on. Put it in the environment variable "
                          "{env} (or name another one with --passphrase-env) and run the command again.", env=env))


def _ask(prompt: str) -> str:
    try:
        return getpass.getpass(f"{prompt}: ")
    except EOFError:
        raise InvalidInput(_("No passphrase was typed, so nothing was changed.")) from None


def _from_env(env: str) -> str | None:
    value = os.environ.get(env)
    if value == "":
        raise InvalidInput(_("The environment variable {env} is set but empty. Put the passphrase in it, or unset "
                             "it to be asked on the terminal.", env=env))
    return value


def passphrase(prompt: str, *, env: str = DEFAULT_ENV, confirm: bool = False) -> str:
    """A passphrase from ``$env`` or the terminal; ``confirm``: a new one (long enough, typed twice)."""
    value = _from_env(env)
    if value is not None:
        if confirm and len(value) < MIN_LENGTH:
            raise InvalidInput(_("The passphrase in {env} has {count} characters; a passphrase needs at least "
                                 "{min_length}. Put a longer one in {env} and run the command again.",
                                 env=env, count=len(value), min_length=MIN_LENGTH))
        return value
    if not can_ask():
        raise _no_terminal(env)
    if not confirm:
        return _ask(prompt)
    for _attempt in range(ATTEMPTS):
        value = _ask(prompt)
        if len(value) < MIN_LENGTH:
            say(_("That passphrase is too short: it needs at least {min_length} characters. Several words you can "
                  "remember work well.", min_length=MIN_LENGTH))
            continue
        if _ask("Type it again to check") != value:
            say(_("The two passphrases were not the same. Please choose it again."))
            continue
        return value
    raise InvalidInput(_("No passphrase was chosen after {attempts} tries, so nothing was saved. Run the command "
                         "again when you are ready.", attempts=ATTEMPTS))


def unlock(prompt: str, open_with: Callable[[str], T], *, env: str = DEFAULT_ENV) -> T:
    """``open_with(passphrase)``; on a terminal, a passphrase that does not open the file is asked for again."""
    value = _from_env(env)
    if value is not None:
        return open_with(value)
    if not can_ask():
        raise _no_terminal(env)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return open_with(_ask(prompt))
        except DecryptionError as exc:
            if attempt == ATTEMPTS:
                raise
            say(_n("{error} ({n} try left)", "{error} ({n} tries left)", ATTEMPTS - attempt, error=exc))
    raise AssertionError("unreachable")
