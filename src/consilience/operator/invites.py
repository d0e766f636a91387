"""Reporter invites (``admin invite``): accounts exist only by invitation, which bounds Sybil
accounts pushing a name past quorum (PROTOCOL.md §6)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from consilience.errors import InvalidInput
from consilience.operator.deployment import admin_fingerprint, escrow_database
from consilience.protocol.invites import Invite
from consilience.storage import repository


def issue_invites(root: Path, count: int = 1, *, expires_in: timedelta = timedelta(days=14)) -> list[str]:
    """Single-use invites, each carrying the administrator's fingerprint so the reporter pins the deployment."""
    if not 1 <= count <= 1000:
        raise InvalidInput("issue between 1 and 1000 invites at a time")
    fingerprint = admin_fingerprint(root)
    with escrow_database(root) as db, db.write() as session:
        codes = [repository.create_invite(session, expires_in) for _ in range(count)]
    return [str(Invite(code, fingerprint)) for code in codes]
