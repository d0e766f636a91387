"""Adding a witness (``admin witness add``): the escrow server accepts cosignatures only from the
witnesses the signed document lists (PROTOCOL.md §11)."""

from __future__ import annotations

from pathlib import Path

from consilience.datadir import DataDir
from consilience.errors import InvalidInput
from consilience.operator.deployment import load_deployment, next_serial, publish, unseal_admin_key
from consilience.protocol import deployment as dep
from consilience.tlog import checkpoint


def add_witness(root: Path, vkey: str, admin_secret: str) -> dep.Deployment:
    """List a witness's cosignature key in a newly signed deployment document."""
    checkpoint.CosignatureV1Verifier.from_vkey(vkey)  # a well-formed type 0x04 key, or InvalidInput
    d = load_deployment(root)
    if vkey in d.witnesses:
        raise InvalidInput("that witness is already in the deployment")
    admin_private = unseal_admin_key(root, admin_secret)
    updated = next_serial(d, witnesses=(*d.witnesses, vkey))
    publish(DataDir(Path(root)), updated, admin_private)
    return updated
