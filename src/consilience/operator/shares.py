"""Proactive refresh of the key servers' OPRF key shares (``admin refresh-shares``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from consilience.crypto import threshold_oprf
from consilience.datadir import DataDir, share_file
from consilience.errors import InvalidInput
from consilience.operator.deployment import load_deployment, next_serial, publish, unseal_admin_key
from consilience.protocol import deployment as dep


def refresh_key_shares(root: Path, admin_secret: str) -> dep.Deployment:
    """Proactive refresh: add shares of zero to every key server's share.

    The OPRF key, hence every tag and match, stays the same; shares stolen
    before the refresh stop combining with those after it. This runs where
    all share files are (the one-machine layout); running key servers pick
    up their new share file without a restart. Clients holding the previous
    deployment document see proofs fail until they fetch the new one, which
    they do on every submission.
    """
    data = DataDir(Path(root))
    d = load_deployment(root)
    admin_private = unseal_admin_key(root, admin_secret)
    current = {}
    for server in d.key_servers:
        path = data.keyserver(server.index).share
        if not path.exists():
            raise InvalidInput(f"refreshing needs every key server's share file; {path} is missing")
        share = share_file.read(path)
        if share.public_share != server.public_share:
            raise InvalidInput(f"key server {server.index}'s share does not match the deployment document")
        current[server.index] = share
    deltas = threshold_oprf.refresh_deltas(d.threshold, sorted(current))
    fresh = {i: replace(s, share=threshold_oprf.apply_delta(s.share, deltas[i])) for i, s in current.items()}
    del deltas
    # the new public shares must still interpolate to the same group key, which next_serial checks
    updated = next_serial(d, key_servers=tuple(replace(k, public_share=fresh[k.index].public_share)
                                               for k in d.key_servers))
    for index, share in fresh.items():
        share_file.write(data.keyserver(index).share, share)
    publish(data, updated, admin_private)
    return updated
