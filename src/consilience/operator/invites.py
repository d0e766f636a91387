"""Reporter invites (``admin invite``): accounts exist only by the administrator's signature (PROTOCOL.md §6).

Each invite is a fresh account seed; the administrator certifies its public
key for this deployment, and the escrow server stores the certificate until
the invite is used. Key servers check the certificate themselves on every
request, so whoever runs the escrow server cannot make accounts: the
administrator's key is the one root of accounts, which bounds Sybil
accounts pushing a name past quorum, and every account is one abscissa.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from consilience.errors import InvalidInput
from consilience.i18n import _
from consilience.operator.deployment import admin_fingerprint, escrow_database, load_deployment, unseal_admin_key
from consilience.protocol import accounts
from consilience.protocol.invites import Invite
from consilience.storage import repository


def issue_invites(root: Path, admin_secret: str, count: int = 1, *,
                  expires_in: timedelta = timedelta(days=14)) -> list[str]:
    """Single-use invites, each carrying the administrator's fingerprint so the reporter pins the deployment."""
    if not 1 <= count <= 1000:
        raise InvalidInput(_("issue between 1 and 1000 invites at a time"))
    admin_private = unseal_admin_key(root, admin_secret)
    deployment = load_deployment(root)
    fingerprint = admin_fingerprint(root)
    seeds = [os.urandom(accounts.SEED_BYTES) for _i in range(count)]
    certificates = [accounts.issue_certificate(admin_private, deployment.deployment_id, accounts.account_key(seed))
                    for seed in seeds]
    with escrow_database(root) as db, db.write() as session:
        for certificate in certificates:
            repository.create_invite(session, certificate, expires_in)
    return [str(Invite(seed, fingerprint)) for seed in seeds]
