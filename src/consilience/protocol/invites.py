"""Invite strings (PROTOCOL.md §6): the account's seed plus the administrator's fingerprint.

In protocol v2 the invite carries the new account's 32-byte seed (its
Ed25519 private key, protocol/accounts.py), whose public key the
administrator certified when issuing it. Whoever holds the invite holds the
account, before and after registration, so it is passed on like a password.

Carrying the fingerprint in the invite lets a new reporter pin the
administrator's key before talking to the escrow server, so the first
deployment document they accept cannot come from an impostor.

Invites are typed or pasted by people, often copied from a message by hand, so
a refusal speaks of a typo and of what to compare, never of base64url. The web
SDK (web/src/sdk/protocol/invites.js) refuses with exactly these messages; the
interop vectors hold them.
"""

from __future__ import annotations

from dataclasses import dataclass

from consilience.errors import InvalidInput
from consilience.i18n import N_, _
from consilience.protocol.encoding import b64u_decode, b64u_encode

PREFIX = "cnsl2"
V1_PREFIX = "cnsl1"
#: The prefix of a counselor's credential, the invite's look-alike (clients/counselor.py).
CREDENTIAL_PREFIX = "cnslc1"

EMPTY = N_("No invite was given. Type or paste the one you were given (it looks like cnsl2.…).")
MISTYPED = N_("This invite does not look right — a character may be mistyped or missing. Check it against the one "
            "you were given (it looks like cnsl2.…).")
CREDENTIAL = N_("This is a counselor's credential (it starts with cnslc1.), not a reporter's invite. Counselors "
              "sign in with it; a reporter's invite starts with cnsl2.")
OLD_VERSION = N_("This invite is for an older version of Consilience (protocol v1, it starts with cnsl1.) and cannot "
               "be used with this one. Ask whoever gave it to you for a new invite.")


@dataclass(frozen=True)
class Invite:
    seed: bytes  # the account's Ed25519 private key (protocol/accounts.py)
    admin_fingerprint: bytes

    def __repr__(self) -> str:
        return "Invite(<seed hidden>)"

    def __str__(self) -> str:
        return f"{PREFIX}.{b64u_encode(self.seed)}.{b64u_encode(self.admin_fingerprint)}"


def parse(text: str) -> Invite:
    """The invite in ``text`` (spaces and newlines around it are ignored), or InvalidInput saying what to check."""
    if not isinstance(text, str):
        raise InvalidInput(_(MISTYPED))
    stripped = text.strip()
    if not stripped:
        raise InvalidInput(_(EMPTY))
    if stripped.lower().startswith(CREDENTIAL_PREFIX + "."):
        raise InvalidInput(_(CREDENTIAL))
    if stripped.lower().startswith(V1_PREFIX + "."):
        raise InvalidInput(_(OLD_VERSION))
    parts = stripped.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise InvalidInput(_(MISTYPED))
    try:
        return Invite(b64u_decode(parts[1], length=32, field=_("invite seed")),
                      b64u_decode(parts[2], length=16, field=_("invite fingerprint")))
    except InvalidInput:
        raise InvalidInput(_(MISTYPED)) from None
