"""Getting passphrases without putting them on the command line.

A passphrase in argv would show up in the process list and shell history, so
the CLI reads it from an environment variable named by the user (for
scripts) or prompts with echo off.
"""

from __future__ import annotations

import os

import typer

from consilience.errors import InvalidInput

DEFAULT_ENV = "CONSILIENCE_PASSPHRASE"
MIN_LENGTH = 8


def passphrase(prompt: str, *, env: str = DEFAULT_ENV, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value is None:
        value = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    if len(value) < MIN_LENGTH:
        raise InvalidInput(f"a passphrase needs at least {MIN_LENGTH} characters")
    return value
