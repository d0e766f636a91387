"""What every command group shares: the common options, the home folder and error handling."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from consilience.cli import secrets
from consilience.cli.output import fail
from consilience.datadir import defaults
from consilience.errors import ConsilienceError
from consilience.i18n import _

F = TypeVar("F", bound=Callable[..., Any])
JSON = typer.Option(False, "--json", help=_("Print one JSON object instead of text."))
DATA_DIR = typer.Option(defaults.DATA_DIR, "--data-dir", help=_("The deployment's data folder."))
PASS_ENV = typer.Option(secrets.DEFAULT_ENV, "--passphrase-env",
                        help=_("Environment variable holding the passphrase (prompted if unset)."))


def home() -> Path:
    return Path(os.environ.get("CONSILIENCE_HOME", Path.home() / ".consilience"))


def json_fields(exc: BaseException) -> dict[str, object]:
    """What an error adds to ``{"error": message}`` under --json: e.g. an ApiError's status and code."""
    fields = getattr(exc, "json_fields", None)
    return dict(fields()) if callable(fields) else {}


def handled(func: F) -> F:
    """Turn expected errors into one clear line and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConsilienceError as exc:
            fail(str(exc), bool(kwargs.get("as_json")), fields=json_fields(exc))
        except KeyboardInterrupt:
            fail(_("interrupted"), bool(kwargs.get("as_json")), code=130)

    return wrapper  # type: ignore[return-value]
