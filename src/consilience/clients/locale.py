"""The person's locale, as their system states it (the POSIX environment), for what depends on where they are.

Phone numbers typed without ``+`` are read in a country. The country comes from the locale the person's
system is set to, never from a fixed default: a person in Mexico with ``LANG=es_MX.UTF-8`` types
``55 1234 5678`` as they would say it. The result is always shown with its country code (``+52 55 1234 5678``
in the command line's "as matched" list), so a wrong guess is seen, and ``--region`` overrides it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import phonenumbers

#: POSIX: LC_ALL overrides every category, then the category's own variable (telephone formats are
#: LC_TELEPHONE, a glibc category), then LANG. LANGUAGE lists languages only, so it never names a country.
_PHONE_REGION_VARIABLES = ("LC_ALL", "LC_TELEPHONE", "LANG")

# language[_TERRITORY][.codeset][@modifier], e.g. es_MX.UTF-8, ar_EG, sr_RS@latin; C and POSIX name none
_TERRITORY = re.compile(r"^[A-Za-z]{2,3}_([A-Za-z]{2})(?:[.@]|$)")


def phone_region(environ: Mapping[str, str] | None = None) -> str | None:
    """The two-letter country of the first locale variable that is set and names one phone numbers are known
    in; ``None`` if the first that is set names none (``C.UTF-8``, ``es``): numbers then need ``+``."""
    env = os.environ if environ is None else environ
    for name in _PHONE_REGION_VARIABLES:
        value = env.get(name, "")
        if not value:
            continue
        match = _TERRITORY.match(value)
        region = match.group(1).upper() if match else None
        return region if region in phonenumbers.SUPPORTED_REGIONS else None
    return None
