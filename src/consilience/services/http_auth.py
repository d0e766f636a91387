"""Bearer credentials (RFC 6750), parsed the same way by both servers.

The scheme is matched case-insensitively, as RFC 7235 §2.1 requires, and surrounding spaces
are ignored; what the credentials must be (an account token, a key-server access token) and
how a refusal reads are each server's own, so a client sees the same 401s it always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from consilience.i18n import _
from consilience.services.http_errors import Refusal


@dataclass(frozen=True)
class Bearer:
    """How one server refuses a request without usable bearer credentials (always 401)."""

    #: detail when there is no Authorization header (marked with ``N_``, translated when refused)
    missing: str
    #: detail when the header is not ``Bearer <credentials>`` (marked with ``N_``)
    malformed: str
    #: headers of every 401, e.g. a WWW-Authenticate challenge
    challenge: Mapping[str, str] = field(default_factory=dict)

    def refusal(self, detail: str) -> Refusal:
        return Refusal(401, detail, headers=dict(self.challenge) or None)

    def credentials(self, header: str | None) -> str:
        """The credentials in an Authorization header's value, or the refusal to answer with."""
        if not header:
            raise self.refusal(_(self.missing))
        scheme, _sep, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise self.refusal(_(self.malformed))
        return value.strip()
