"""What the web app's pages are told by the server (PROTOCOL.md §14.2): where "Leave quickly" goes, and
after how long without activity the apps lock themselves.

Both are the operator's (``Settings.exit_url``, ``Settings.auto_lock_seconds``; $CONSILIENCE_EXIT_URL,
$CONSILIENCE_AUTO_LOCK_SECONDS, ``consilience serve --exit-url``) and reach the page as
``GET /app-config.json`` (``web.install``): the pages allow no inline script, so the values come as data
from this origin. A person may choose a shorter or longer lock in the app; that choice stays in their browser.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from consilience.i18n import N_, _
from consilience.services.config import ConfigurationError

#: An ordinary, busy site that says nothing about why someone was here.
DEFAULT_EXIT_URL = "https://www.bbc.com/weather"
DEFAULT_AUTO_LOCK_SECONDS = 300.0

EXIT_URL_HELP = N_("the exit URL (CONSILIENCE_EXIT_URL, --exit-url) is the page 'Leave quickly' opens: a full "
                   "http:// or https:// address such as https://www.bbc.com/weather")
AUTO_LOCK_HELP = N_("CONSILIENCE_AUTO_LOCK_SECONDS is how long the apps wait without activity before they lock: "
                    "a number of seconds from 10 to 86400, such as 300")


def check_exit_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise ConfigurationError(_("{rule}, not {url}", rule=_(EXIT_URL_HELP), url=repr(url)))
    return url


def check_auto_lock_seconds(seconds: float) -> float:
    if not (isinstance(seconds, int | float) and math.isfinite(seconds) and 10 <= seconds <= 86400):
        raise ConfigurationError(_("{rule}, not {value}", rule=_(AUTO_LOCK_HELP), value=repr(seconds)))
    return float(seconds)


def exit_url_from_env(environ: Mapping[str, str] = os.environ) -> str:
    return check_exit_url(environ.get("CONSILIENCE_EXIT_URL") or DEFAULT_EXIT_URL)


def auto_lock_seconds_from_env(environ: Mapping[str, str] = os.environ) -> float:
    value = environ.get("CONSILIENCE_AUTO_LOCK_SECONDS")
    if not value:
        return DEFAULT_AUTO_LOCK_SECONDS
    try:
        return check_auto_lock_seconds(float(value))
    except ValueError:
        raise ConfigurationError(_("{rule}, not {value}", rule=_(AUTO_LOCK_HELP), value=repr(value))) from None


def page_config(exit_url: str, auto_lock_seconds: float) -> dict[str, object]:
    """The JSON the pages fetch at start."""
    return {"exit_url": exit_url, "auto_lock_seconds": auto_lock_seconds}
