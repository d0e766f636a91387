"""Invite strings (PROTOCOL.md §6): the code plus the administrator's fingerprint.

Carrying the fingerprint in the invite lets a new reporter pin the
administrator's key before talking to the escrow server, so the first
deployment document they accept cannot come from an impostor.
"""

from __future__ import annotations

from dataclasses import dataclass

from consilience.errors import InvalidInput
from consilience.protocol.encoding import b64u_decode, b64u_encode

PREFIX = "cnsl1"


@dataclass(frozen=True)
class Invite:
    code: bytes
    admin_fingerprint: bytes

    def __str__(self) -> str:
        return f"{PREFIX}.{b64u_encode(self.code)}.{b64u_encode(self.admin_fingerprint)}"


def parse(text: str) -> Invite:
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise InvalidInput("that is not a Consilience invite (it should look like cnsl1.XXXX.YYYY)")
    return Invite(b64u_decode(parts[1], length=16, field="invite code"),
                  b64u_decode(parts[2], length=16, field="invite fingerprint"))
